#!/bin/sh
# Data-channel throughput against `openssl speed`, measured back to back on the same machine:
# per-operation figures at 1024 and 8192 bytes for AES-256-GCM and CHACHA20-POLY1305.
#   ovpn/benches/compare_openssl.sh            (from the workspace root; needs openssl)
# Prints one line per (cipher, size): openssl MB/s, ours encrypt/decrypt MB/s and ratios,
# and the bare ring AEAD for reference. MB = 10^6 bytes (openssl reports 1000s of bytes/s).
set -eu
secs=${SECS:-2}
cargo bench -p ovpn --bench data_channel -- --warm-up-time 1 --measurement-time "$secs" \
    'data_channel/(AES-256-GCM|CHACHA20-POLY1305)/(en|de)crypt/(1024|8192)|aead_backend/ring' \
    2>/dev/null | awk '
    /^(data_channel|aead_backend)\// { name = $1 }
    /thrpt:/ && name != "" {
        v = $(NF-1); u = $NF; sub(/\]/, "", u)
        mbs = (u == "GiB/s") ? v * 1073.741824 : (u == "MiB/s") ? v * 1.048576 : v
        printf "%s %.0f\n", name, mbs; name = ""
    }' > /tmp/ovpn-bench.$$
for c in aes-256-gcm chacha20-poly1305; do
    C=$(echo $c | tr a-z A-Z)
    for n in 1024 8192; do
        o=$(openssl speed -seconds "$secs" -bytes $n -evp $c 2>/dev/null | tail -1 | awk '{ sub(/k$/, "", $NF); printf "%.0f", $NF / 1000 }')
        e=$(awk -v k="data_channel/$C/encrypt/$n" '$1 == k { print $2 }' /tmp/ovpn-bench.$$)
        d=$(awk -v k="data_channel/$C/decrypt/$n" '$1 == k { print $2 }' /tmp/ovpn-bench.$$)
        r=$(awk -v k="aead_backend/ring-$C/$n" '$1 == k { print $2 }' /tmp/ovpn-bench.$$)
        awk -v c="$C" -v n=$n -v o="$o" -v e="$e" -v d="$d" -v r="$r" 'BEGIN {
            printf "%-18s %5d B  openssl %6d MB/s  ours encrypt %6d MB/s (%.2fx)  decrypt %6d MB/s (%.2fx)  bare ring seal %6d MB/s (%.2fx)\n",
                c, n, o, e, e / o, d, d / o, r, r / o }'
    done
done
rm -f /tmp/ovpn-bench.$$
