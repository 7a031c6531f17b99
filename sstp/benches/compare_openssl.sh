#!/bin/sh
# SSTP data path (one 1400-byte IP packet: PPP + SSTP framing + a TLS 1.3 AES-256-GCM record,
# rustls/ring, in memory) against `openssl speed -evp aes-256-gcm` in the same run:
#   SECS=2 sstp/benches/compare_openssl.sh      (from the workspace root; needs openssl)
# `openssl speed` at 1024 and 8192 bytes is the raw cipher on a running stream (no record
# framing, nonce, tag or AAD per block): the ceiling any TLS record layer can reach. Ours is the
# whole per-packet path (PPP framing, SSTP header, rustls record: nonce, AAD, tag, copies).
# MB = 10^6 bytes.
set -eu
secs=${SECS:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && cargo bench -p rosproto-sstp --bench datapath -- --warm-up-time 1 --measurement-time "$secs" 2>/dev/null) |
    awk '/^sstp_datapath\// { name = $1 }
         /thrpt:/ && name != "" {
            v = $(NF-1); u = $NF; sub(/\]/, "", u)
            mbs = (u == "GiB/s") ? v * 1073.741824 : (u == "MiB/s") ? v * 1.048576 : v
            printf "%s %.0f\n", name, mbs; name = "" }' > "$tmp/bench"
get() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/bench"; }
o1=$(openssl speed -seconds "$secs" -bytes 1024 -evp aes-256-gcm 2>/dev/null | tail -1 | awk '{ sub(/k$/, "", $NF); printf "%.0f", $NF / 1000 }')
o8=$(openssl speed -seconds "$secs" -bytes 8192 -evp aes-256-gcm 2>/dev/null | tail -1 | awk '{ sub(/k$/, "", $NF); printf "%.0f", $NF / 1000 }')
e=$(get sstp_datapath/encap/1400); d=$(get sstp_datapath/decap/1400); f=$(get sstp_datapath/framing_only/1400)
echo "openssl speed -evp aes-256-gcm: $o1 MB/s at 1024 B, $o8 MB/s at 8192 B"
awk -v e="$e" -v d="$d" -v f="$f" -v o1="$o1" -v o8="$o8" 'BEGIN {
    printf "sstp encap 1400 B (PPP+SSTP+TLS record): %d MB/s = %.2fx speed@1024, %.2fx speed@8192\n", e, e / o1, e / o8
    printf "sstp decap 1400 B (TLS open+SSTP+PPP):   %d MB/s = %.2fx speed@1024, %.2fx speed@8192\n", d, d / o1, d / o8
    printf "SSTP header alone (emit_data 1400 B):    %d MB/s\n", f }'
