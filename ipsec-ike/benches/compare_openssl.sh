#!/bin/sh
# ESP AES-256-GCM at 1400 bytes against OpenSSL, measured back to back on the same machine:
#   ipsec-ike/benches/compare_openssl.sh          (from the workspace root; needs openssl, cc, libssl-dev)
# Two OpenSSL yardsticks (the method of ovpn/benches/compare_openssl.sh, whose evp_packet.c
# this reuses):
#   speed  = `openssl speed -evp aes-256-gcm -bytes 1400`: EVP_EncryptUpdate alone on a running
#            stream (no nonce, AAD, final or tag per block), the figure the issue names;
#   packet = ovpn/benches/evp_packet.c: OpenSSL sealing/opening one whole AEAD packet per
#            operation (12-byte nonce, 8 bytes of AAD, payload, tag), what an ESP SA does
#            around the cipher, minus the ESP framing.
# Ours: EspSa::encapsulate_in_place / decapsulate_in_place of a tunnel-mode packet (SPI,
# sequence number, IV derivation, padding and trailer, AAD, tag; replay window on decap),
# AES-256-GCM on ring. Not like for like in our disfavour: we do the ESP framing as well.
# MB = 10^6 bytes (openssl reports 1000s of bytes/s).
set -eu
secs=${SECS:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 "$root/ovpn/benches/evp_packet.c" -lcrypto -o "$tmp/evp_packet"
(cd "$root" && cargo bench -p rosproto-ipsec-ike --bench esp -- --warm-up-time 1 --measurement-time "$secs" 'esp/AES-256-GCM' 2>/dev/null) | awk '
    /^esp\// { name = $1 }
    /thrpt:/ && name != "" {
        v = $(NF-1); u = $NF; sub(/\]/, "", u)
        mbs = (u == "GiB/s") ? v * 1073.741824 : (u == "MiB/s") ? v * 1.048576 : v
        printf "%s %.0f\n", name, mbs; name = ""
    }' > "$tmp/bench"
get() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/bench"; }
o=$(openssl speed -seconds "$secs" -bytes 1400 -evp aes-256-gcm 2>/dev/null | tail -1 | awk '{ sub(/k$/, "", $NF); printf "%.0f", $NF / 1000 }')
printf '%-12s %5s %-6s | %-24s | %s\n' cipher bytes op "openssl speed / packet" "ours (x speed, x packet)"
for op in encap decap; do
    mode=seal; [ $op = decap ] && mode=open
    p=$("$tmp/evp_packet" aes-256-gcm 1400 "$secs" $mode)
    r=$(get "esp/AES-256-GCM/$op/1400")
    awk -v op=$op -v o="$o" -v p="$p" -v r="$r" 'BEGIN {
        printf "%-12s %5d %-6s | %6d / %6d MB/s     | %6d MB/s (%.2fx, %.2fx)\n", "AES-256-GCM", 1400, op, o, p, r, r / o, r / p }'
done
