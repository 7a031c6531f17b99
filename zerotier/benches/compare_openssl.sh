#!/bin/sh
# AES-GMAC-SIV armor + dearmor of a 1400-byte FRAME: the crate (RustCrypto aes/ctr/ghash, with
# their AES-NI/CLMUL backends) against the same construction from OpenSSL EVP primitives,
# measured back to back in one run:
#   zerotier/benches/compare_openssl.sh            (from the workspace root; needs cc, libssl-dev)
# First checks that both produce the same armored bytes for the test packet, then prints
# MB/s (10^6 payload bytes/s, 1400 per armor+dearmor) and the ratio ours / OpenSSL.
set -eu
secs=${SECS:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 "$root/zerotier/benches/gmac_siv_openssl.c" -lcrypto -o "$tmp/ossl"
cd "$root"
ours_vec=$(ZT_ARMOR_VECTOR=1 cargo bench -q -p rosproto-zerotier --bench armor 2>/dev/null | tail -1)
ossl_vec=$("$tmp/ossl" vector)
if [ "$ours_vec" != "$ossl_vec" ]; then
    echo "MISMATCH: the two constructions differ" >&2
    exit 1
fi
echo "same armored bytes for the test packet: yes"
ours=$(cargo bench -q -p rosproto-zerotier --bench armor -- --warm-up-time 1 --measurement-time "$secs" 'armor_dearmor/' 2>/dev/null | awk '
    /^armor_dearmor\// { name = $1 }
    /thrpt:/ && name != "" {
        v = $(NF-3); u = $(NF-2)
        mbs = (u == "GiB/s") ? v * 1073.741824 : (u == "MiB/s") ? v * 1.048576 : v
        printf "%s %.0f\n", name, mbs; name = ""
    }')
ossl=$("$tmp/ossl" bench "$secs")
siv=$(echo "$ours" | awk '$1 == "armor_dearmor/AES-GMAC-SIV/frame1400" { print $2 }')
salsa=$(echo "$ours" | awk '$1 == "armor_dearmor/Salsa2012-Poly1305/frame1400" { print $2 }')
echo "AES-GMAC-SIV armor+dearmor, 1400-byte FRAME:"
echo "  rosproto-zerotier (RustCrypto): $siv MB/s"
echo "  OpenSSL EVP, same construction: $ossl MB/s"
awk -v a="$siv" -v b="$ossl" 'BEGIN { printf "  ratio ours / OpenSSL: %.2fx\n", a / b }'
echo "Salsa20/12-Poly1305 armor+dearmor (reference, no OpenSSL Salsa20/12): $salsa MB/s"
