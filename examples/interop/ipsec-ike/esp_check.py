"""ESP cross-check with scapy's SecurityAssociation: every ESP packet of a pcap decrypts with
the keys of a Wireshark esp_sa file, and re-encrypts byte-exact with the same sequence number
and IV. Prints one line per direction and exits non-zero on any mismatch."""
import sys
from scapy.all import rdpcap, IP, UDP, raw
from scapy.layers.ipsec import SecurityAssociation, ESP

pcap, esp_sa = sys.argv[1], sys.argv[2]
sas = {}
for line in open(esp_sa):
    f = [x.strip('"') for x in line.strip().split('","')]
    if len(f) < 6:
        continue
    src, dst, spi, alg, key = f[1], f[2], int(f[3], 16), f[4], bytes.fromhex(f[5][2:])
    assert alg.startswith("AES-GCM with 16 octet ICV"), alg
    sas[spi] = (src, dst, key)
count = {}
bad = 0
for p in rdpcap(pcap):
    if IP not in p or UDP not in p or p[UDP].dport != 4500:
        continue
    payload = raw(p[UDP].payload)
    if len(payload) < 8 or payload[:4] == b"\0\0\0\0":
        continue
    spi = int.from_bytes(payload[:4], "big")
    src, dst, key = sas[spi]
    sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key, auth_algo="NULL",
                             tunnel_header=IP(src=src, dst=dst))
    seq = int.from_bytes(payload[4:8], "big")
    iv = payload[8:16]
    esp = IP(src=src, dst=dst, proto=50) / ESP(payload)
    inner = sa.decrypt(esp)
    again = sa.encrypt(inner, seq_num=seq, iv=iv)
    ok = raw(again[ESP]) == payload
    if not ok:
        bad += 1
    key_ = (src, dst)
    count[key_] = count.get(key_, 0) + 1
    print(f"esp {src}->{dst} spi={spi:08x} seq={seq} inner={inner[IP].src}->{inner[IP].dst} proto={inner[IP].proto} reencrypt={'ok' if ok else 'MISMATCH'}")
for (s, d), n in count.items():
    print(f"direction {s}->{d}: {n} packets")
print(f"scapy: {sum(count.values())} ESP packets, {bad} mismatches")
sys.exit(1 if bad or len(count) < 2 else 0)
