#!/bin/sh
# Data-channel throughput against OpenSSL, measured back to back on the same machine, for
# AES-256-GCM and CHACHA20-POLY1305 at 1024 and 8192 bytes, one operation at a time:
#   ovpn/benches/compare_openssl.sh            (from the workspace root; needs openssl, cc, libssl-dev)
# Two OpenSSL yardsticks:
#   speed  = `openssl speed -evp <cipher> -bytes N`: EVP_EncryptUpdate alone on a running stream
#            (no nonce, AAD, final or tag per block), the figure the issue names;
#   packet = ovpn/benches/evp_packet.c: OpenSSL doing one whole AEAD packet per operation the way
#            OpenVPN drives EVP (nonce, AAD, payload, final, tag); seal for encrypt, open for decrypt.
# Our lines: DataKey::encrypt / decrypt of a P_DATA_V2 packet with the built-in backend (ring) and
# with the OpenSSL provider (examples/openssl-aead), plus ring's bare seal for reference.
# MB = 10^6 bytes (openssl reports 1000s of bytes/s).
set -eu
secs=${SECS:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 "$root/ovpn/benches/evp_packet.c" -lcrypto -o "$tmp/evp_packet"
crit() { # cargo bench args -> "name MB/s" lines
    cargo bench "$@" -- --warm-up-time 1 --measurement-time "$secs" \
        '(data_channel|openssl_provider)/(AES-256-GCM|CHACHA20-POLY1305)/(en|de)crypt/(1024|8192)|aead_backend/ring' \
        2>/dev/null | awk '
        /^(data_channel|aead_backend|openssl_provider)\// { name = $1 }
        /thrpt:/ && name != "" {
            v = $(NF-1); u = $NF; sub(/\]/, "", u)
            mbs = (u == "GiB/s") ? v * 1073.741824 : (u == "MiB/s") ? v * 1.048576 : v
            printf "%s %.0f\n", name, mbs; name = ""
        }'
}
(cd "$root" && crit -p rosproto-ovpn --bench data_channel && crit -p openssl-aead --features openssl --bench openssl_provider) > "$tmp/bench"
get() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/bench"; }
printf '%-18s %5s %-7s | %-23s | %-33s | %-33s | %s\n' cipher bytes op "openssl speed / packet" \
    "ours, ring (x speed, x packet)" "ours, openssl provider (x, x)" "bare ring seal"
for c in aes-256-gcm chacha20-poly1305; do
    C=$(echo $c | tr a-z A-Z)
    for n in 1024 8192; do
        o=$(openssl speed -seconds "$secs" -bytes $n -evp $c 2>/dev/null | tail -1 | awk '{ sub(/k$/, "", $NF); printf "%.0f", $NF / 1000 }')
        for op in encrypt decrypt; do
            mode=seal; [ $op = decrypt ] && mode=open
            p=$("$tmp/evp_packet" $c $n "$secs" $mode)
            r=$(get "data_channel/$C/$op/$n")
            s=$(get "openssl_provider/$C/$op/$n")
            b=$(get "aead_backend/ring-$C/$n")
            awk -v c="$C" -v n=$n -v op=$op -v o="$o" -v p="$p" -v r="$r" -v s="$s" -v b="$b" 'BEGIN {
                printf "%-18s %5d %-7s | %6d / %6d MB/s    | %6d MB/s (%.2fx, %.2fx)       | %6d MB/s (%.2fx, %.2fx)       | %6d MB/s\n",
                    c, n, op, o, p, r, r / o, r / p, s, s / o, s / p, b }'
        done
    done
done
