#!/usr/bin/env bash
# e2e.sh - end-to-end tunnel throughput: our example binaries against the real daemons, through
# TUN devices at both ends, measured from outside with iperf3 (issue 22).
#
#   sudo bash examples/benches/e2e.sh                  # every pair, 3 interleaved rounds of 10 s
#   sudo bash examples/benches/e2e.sh --smoke          # CI: 2 s, our WireGuard pair only
#   sudo bash examples/benches/e2e.sh --only wg-ours,wg-go --duration 5 --rounds 1
#
# Topology: netns e2e-a (iperf3 client) and e2e-b (iperf3 server), one veth 10.96.0.1/24 -
# 10.96.0.2/24 (MTU 1500, no default route: nothing leaves the two namespaces). Each pair runs
# one tunnel endpoint per namespace on a TUN device, the tunnel's far address is 10.96.1.1 (in
# e2e-b). Per pair and round, three iperf3 runs of --duration seconds each:
#   tcp1  TCP, one stream        (receiver's goodput, Mbit/s)
#   tcp4  TCP, four streams      (receiver's goodput, Mbit/s)
#   udp   UDP at --rate offered  (received Mbit/s, loss %, and how long the run took: a run that
#                                 drains a queue after the sender stops takes longer than -t)
# CPU: utime+stime of both tunnel processes (every thread) over the iperf3 run, in CPU seconds per
# GB received (both ends together). The kernel's share of TUN/UDP work done in the processes'
# system calls is counted there; softirq work is not (the same for every pair).
# Rounds interleave the pairs (round 1: every pair, round 2: every pair, ...); the table shows the
# median of the rounds per cell.
#
# Pairs (--only takes a comma list of these names; default: all available):
#   plain            the veth alone, no tunnel (the ceiling)
#   wg-ours          examples `wg` at both ends (ring ChaCha20-Poly1305; TUN offload on by default)
#   wg-ours-nooffload  examples `wg --tun-offload off` (one IP packet per TUN read/write)
#   wg-ours-openssl  examples `wg --crypto openssl` at both ends
#   wg-ours-mmsg     examples `wg --udp mmsg` (sendmmsg/recvmmsg, no UDP GSO/GRO)
#   wg-ours-nobatch  examples `wg --udp off` (one system call per datagram, as before batching)
#   wg-boringtun     boringtun-cli at both ends (/opt/rp-boringtun/bin or PATH)
#   wg-go            wireguard-go at both ends
#   ovpn-ours        examples `ovpn-server`/`ovpn-client`, UDP, AES-256-GCM
#   ovpn-ours-chacha the same, CHACHA20-POLY1305
#   ovpn-openvpn     OpenVPN (the installed one) both ends, UDP, AES-256-GCM
#   ovpn-openvpn-chacha  the same, CHACHA20-POLY1305
#   l2tp-ours        examples `l2tp-server`/`l2tp-client` (L2TPv2, PPP, CHAP; no other L2TP
#                    daemon runs a userspace data path, so there is nothing like for like)
# A pair whose programs are missing is skipped with a loud line (and fails the run with CI=true
# only if it is the --smoke pair).
#
# Needs: root, ip, iperf3, jq, openssl (for the OpenVPN PKI), wg (wireguard-tools: keys and the
# UAPI of boringtun/wireguard-go). Binaries: $E2E_BIN_DIR (default: builds them with
# `cargo build --release -p examples --features openssl`... into target/release).
# Output: a Markdown table on stdout, raw per-run JSON and logs in $E2E_OUT (default target/e2e).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

DURATION=10
ROUNDS=3
RATE=1000M
ONLY=""
SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --smoke) SMOKE=1; DURATION=2; ROUNDS=1; ONLY=${ONLY:-wg-ours}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//' | sed '$d'; exit 0 ;;
    *) echo "e2e.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

skip_or_fail() {  # reason
  echo "*** SKIPPED e2e benchmark: $1" >&2
  if [ "${CI:-}" = true ]; then exit 1; fi
  exit 0
}
[ "$(id -u)" = 0 ] || skip_or_fail "not running as root (network namespaces and TUN devices)"
for t in ip iperf3 jq openssl wg; do
  command -v "$t" >/dev/null || skip_or_fail "$t is not installed"
done

OUT=${E2E_OUT:-$ROOT/target/e2e}
rm -rf "$OUT"
mkdir -p "$OUT"
if [ -z "${E2E_BIN_DIR:-}" ]; then
  echo "building the example binaries (release)..." >&2
  cargo build --release --locked -p examples --features openssl --bin wg --bin ovpn-server --bin ovpn-client \
    --bin l2tp-server --bin l2tp-client >&2
  E2E_BIN_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/release
fi
BIN=$E2E_BIN_DIR

NSA=e2e-a
NSB=e2e-b
A_IP=10.96.0.1
B_IP=10.96.0.2
FAR=10.96.1.1
PIDS=()

# Processes that must be stopped are started with `ip netns exec ... &` directly (it execs the
# program, so $! is the program itself), never through these functions (a subshell's PID).
in_a() { ip netns exec "$NSA" "$@"; }
in_b() { ip netns exec "$NSB" "$@"; }

stop_pids() {
  local p
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  PIDS=()
}

teardown() {
  stop_pids
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
}
trap teardown EXIT

setup_netns() {
  teardown
  ip netns add "$NSA"
  ip netns add "$NSB"
  ip link add e2ea netns "$NSA" type veth peer name e2eb netns "$NSB"
  in_a ip addr add "$A_IP/24" dev e2ea
  in_b ip addr add "$B_IP/24" dev e2eb
  in_a ip link set lo up
  in_b ip link set lo up
  in_a ip link set e2ea up
  in_b ip link set e2eb up
}

wait_for() {  # tries cmd...: every 0.1 s
  local n=$1
  shift
  local i
  for ((i = 0; i < n; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# ---- key material (once per run) ----------------------------------------------------------------
KEYS=$OUT/keys
mkdir -p "$KEYS"
(umask 077; wg genkey > "$KEYS/a.key"; wg genkey > "$KEYS/b.key")
wg pubkey < "$KEYS/a.key" > "$KEYS/a.pub"
wg pubkey < "$KEYS/b.key" > "$KEYS/b.pub"
(
  cd "$KEYS"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=e2e-ca -keyout ca.key -out ca.crt 2>/dev/null
  for n in server client; do
    eku=$([ $n = server ] && echo serverAuth || echo clientAuth)
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=e2e-$n" \
      -keyout $n.key -out $n.csr 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' \
      $eku > $n.ext
    openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
      -extfile $n.ext -out $n.crt 2>/dev/null
  done
)

BORINGTUN=$(command -v boringtun-cli || echo /opt/rp-boringtun/bin/boringtun-cli)

available() {  # pair -> 0 when its programs exist
  case "$1" in
    plain) return 0 ;;
    wg-ours|wg-ours-nooffload|wg-ours-openssl|wg-ours-mmsg|wg-ours-nobatch) [ -x "$BIN/wg" ] ;;
    wg-boringtun) [ -x "$BORINGTUN" ] ;;
    wg-go) command -v wireguard-go >/dev/null ;;
    ovpn-ours|ovpn-ours-chacha) [ -x "$BIN/ovpn-server" ] && [ -x "$BIN/ovpn-client" ] ;;
    ovpn-openvpn|ovpn-openvpn-chacha) command -v openvpn >/dev/null ;;
    l2tp-ours) [ -x "$BIN/l2tp-server" ] && [ -x "$BIN/l2tp-client" ] ;;
    *) echo "e2e.sh: unknown pair $1" >&2; exit 2 ;;
  esac
}

# ---- the pairs: start_<pair> starts both ends and sets PIDS; the tunnel is up on return ---------
wg_quick_conf() {  # side -> file
  local me=$1 other port addr ep
  if [ "$me" = a ]; then other=b; addr=10.96.1.2; port=51820; ep="$B_IP:51821"
  else other=a; addr=10.96.1.1; port=51821; ep="$A_IP:51820"; fi
  cat > "$OUT/wg-$me.conf" <<EOF
[Interface]
PrivateKey = $(cat "$KEYS/$me.key")
ListenPort = $port
Address = $addr/24

[Peer]
PublicKey = $(cat "$KEYS/$other.pub")
Endpoint = $ep
AllowedIPs = 10.96.1.0/24
EOF
  echo "$OUT/wg-$me.conf"
}

start_wg_ours() {  # extra args...
  local log=$OUT/$PAIR.r$ROUND
  ip netns exec "$NSB" "$BIN/wg" --config "$(wg_quick_conf b)" --tun e2ewgb "$@" > "$log.b.log" 2>&1 &
  PIDS+=($!)
  ip netns exec "$NSA" "$BIN/wg" --config "$(wg_quick_conf a)" --tun e2ewga "$@" > "$log.a.log" 2>&1 &
  PIDS+=($!)
  wait_for 100 in_a ip -br addr show dev e2ewga
  wait_for 100 in_b ip -br addr show dev e2ewgb
}

start_wg_uapi() {  # daemon argv... (the interface name is appended)
  local log=$OUT/$PAIR.r$ROUND s ns ifn port ep other
  for s in b a; do
    if [ $s = a ]; then ns=$NSA; ifn=e2ewga; port=51820; ep="$B_IP:51821"; other=b
    else ns=$NSB; ifn=e2ewgb; port=51821; ep="$A_IP:51820"; other=a; fi
    rm -f "/var/run/wireguard/$ifn.sock"
    ip netns exec "$ns" "$@" "$ifn" > "$log.$s.log" 2>&1 &
    PIDS+=($!)
    wait_for 100 test -S "/var/run/wireguard/$ifn.sock" ||
      { cat "$log.$s.log" >&2; echo "e2e.sh: $PAIR made no UAPI socket" >&2; return 1; }
    ip netns exec "$ns" wg set "$ifn" private-key "$KEYS/$s.key" listen-port $port \
      peer "$(cat "$KEYS/$other.pub")" endpoint "$ep" allowed-ips 10.96.1.0/24
    ip netns exec "$ns" ip addr add "10.96.1.$([ $s = a ] && echo 2 || echo 1)/24" dev "$ifn"
    ip netns exec "$ns" ip link set "$ifn" mtu 1420 up
  done
}

start_ovpn_ours() {  # cipher
  local log=$OUT/$PAIR.r$ROUND
  # --duration: both ends run until stopped by PID (their default is 10 s).
  local common=(--proto udp --ca "$KEYS/ca.crt" --data-ciphers "$1" --ping 2 --ping-restart 30 --dev tun
    --duration 86400)
  ip netns exec "$NSB" "$BIN/ovpn-server" --listen "$B_IP:1194" "${common[@]}" --cert "$KEYS/server.crt" \
    --key "$KEYS/server.key" --require-client-cert --ifconfig 10.96.1.1/24 --pool-base 10.96.1. \
    > "$log.b.log" 2>&1 &
  PIDS+=($!)
  sleep 0.3
  ip netns exec "$NSA" "$BIN/ovpn-client" --remote "$B_IP:1194" "${common[@]}" --cert "$KEYS/client.crt" \
    --key "$KEYS/client.key" --verify-name e2e-server > "$log.a.log" 2>&1 &
  PIDS+=($!)
  wait_for 150 grep -q "DEV ovpn0 up" "$log.a.log"
}

start_ovpn_openvpn() {  # cipher
  local log=$OUT/$PAIR.r$ROUND
  cat > "$OUT/openvpn-server.conf" <<EOF
dev tun
proto udp
local $B_IP
port 1194
ca $KEYS/ca.crt
cert $KEYS/server.crt
key $KEYS/server.key
dh none
server 10.96.1.0 255.255.255.0
topology subnet
keepalive 2 30
data-ciphers $1
verb 3
EOF
  cat > "$OUT/openvpn-client.conf" <<EOF
client
dev tun
proto udp
remote $B_IP 1194
nobind
ca $KEYS/ca.crt
cert $KEYS/client.crt
key $KEYS/client.key
remote-cert-tls server
data-ciphers $1
verb 3
EOF
  ip netns exec "$NSB" openvpn --config "$OUT/openvpn-server.conf" > "$log.b.log" 2>&1 &
  PIDS+=($!)
  sleep 0.3
  ip netns exec "$NSA" openvpn --config "$OUT/openvpn-client.conf" > "$log.a.log" 2>&1 &
  PIDS+=($!)
  wait_for 150 grep -q "Initialization Sequence Completed" "$log.a.log"
}

start_l2tp_ours() {
  local log=$OUT/$PAIR.r$ROUND
  ip netns exec "$NSB" "$BIN/l2tp-server" "$B_IP" --user e2e:e2epw --pool 10.96.1.30-10.96.1.31 --local 10.96.1.1 --tun e2el2s \
    > "$log.b.log" 2>&1 &
  PIDS+=($!)
  wait_for 100 grep -q LISTENING "$log.b.log"
  ip netns exec "$NSA" "$BIN/l2tp-client" "$B_IP" --user e2e --password e2epw --tun e2el2c \
    --duration 86400 > "$log.a.log" 2>&1 &
  PIDS+=($!)
  wait_for 150 grep -q "TUN e2el2c UP" "$log.a.log"
}

start_pair() {
  case "$PAIR" in
    plain) FAR_NOW=$B_IP ;;
    wg-ours) start_wg_ours ;;
    wg-ours-nooffload) start_wg_ours --tun-offload off ;;
    wg-ours-openssl) start_wg_ours --crypto openssl ;;
    wg-ours-mmsg) start_wg_ours --udp mmsg ;;
    wg-ours-nobatch) start_wg_ours --udp off ;;
    wg-boringtun) start_wg_uapi "$BORINGTUN" -f --disable-drop-privileges ;;
    wg-go) start_wg_uapi wireguard-go -f ;;
    ovpn-ours) start_ovpn_ours AES-256-GCM ;;
    ovpn-ours-chacha) start_ovpn_ours CHACHA20-POLY1305 ;;
    ovpn-openvpn) start_ovpn_openvpn AES-256-GCM ;;
    ovpn-openvpn-chacha) start_ovpn_openvpn CHACHA20-POLY1305 ;;
    l2tp-ours) start_l2tp_ours ;;
  esac
}

cpu_ticks() {  # utime+stime of every pid in PIDS, in clock ticks
  local p total=0 f
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && [ -r "/proc/$p/stat" ] || continue
    # Fields after the ")" of the command name: state is 3, utime 14, stime 15.
    f=$(sed 's/^.*) //' "/proc/$p/stat")
    set -- $f
    total=$((total + ${12} + ${13}))
  done
  echo $total
}

# iperf3 through the tunnel: kind -> appends "pair kind mbit cpu_s_per_gb loss_pct wall_s" to
# $OUT/results; returns 1 when the run moved nothing.
measure() {
  local kind=$1 args=() json t0 t1 c0 c1 bytes secs mbit loss hz cpu
  case $kind in
    tcp1) args=() ;;
    tcp4) args=(-P 4) ;;
    udp) args=(-u -b "$RATE") ;;
  esac
  json=$OUT/$PAIR.r$ROUND.$kind.json
  ip netns exec "$NSB" iperf3 -s -1 -B "$FAR_NOW" > "$OUT/$PAIR.r$ROUND.$kind.server.log" 2>&1 &
  local srv=$!
  wait_for 50 sh -c "ip netns exec $NSB ss -Hltn 'sport = :5201' | grep -q 5201" || true
  c0=$(cpu_ticks)
  t0=$(date +%s.%N)
  # A run that does not end within three times its duration is cut (and shows in "UDP run s").
  in_a timeout $((DURATION * 3 + 10)) iperf3 -c "$FAR_NOW" -t "$DURATION" -J "${args[@]}" \
    > "$json" 2> "$json.stderr" || true
  t1=$(date +%s.%N)
  c1=$(cpu_ticks)
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  if [ $kind = udp ]; then
    loss=$(jq -r '.end.sum.lost_percent // 100' "$json" 2>/dev/null || echo 100)
    loss=$(awk -v l="$loss" 'BEGIN { printf "%.1f", l }')
    # Received: offered minus lost.
    mbit=$(jq -r '(.end.sum.bits_per_second // 0) * (1 - (.end.sum.lost_percent // 100) / 100) / 1e6' "$json" 2>/dev/null || echo 0)
    bytes=$(jq -r '(.end.sum.bytes // 0) * (1 - (.end.sum.lost_percent // 100) / 100)' "$json" 2>/dev/null || echo 0)
  else
    bytes=$(jq -r '.end.sum_received.bytes // 0' "$json" 2>/dev/null || echo 0)
    mbit=$(jq -r '(.end.sum_received.bits_per_second // 0) / 1e6' "$json" 2>/dev/null || echo 0)
    loss=-
  fi
  hz=$(getconf CLK_TCK)
  cpu=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v b="$bytes" \
    'BEGIN { if (b > 0) printf "%.1f", (c / hz) / (b / 1e9); else print "-" }')
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  mbit=$(awk -v m="$mbit" 'BEGIN { printf "%.0f", m }')
  [ "$PAIR" = plain ] && cpu=-
  echo "$PAIR $kind $mbit $cpu $loss $secs" >> "$OUT/results"
  echo "  round $ROUND $PAIR $kind: $mbit Mbit/s, $cpu CPU s/GB, loss $loss, ${secs} s" >&2
  awk -v m="$mbit" 'BEGIN { exit !(m > 0) }'
}

ALL="plain wg-ours wg-ours-nooffload wg-ours-openssl wg-ours-mmsg wg-ours-nobatch wg-boringtun wg-go ovpn-ours ovpn-openvpn ovpn-ours-chacha ovpn-openvpn-chacha l2tp-ours"
PAIRS=()
for p in ${ONLY//,/ }; do PAIRS+=("$p"); done
[ ${#PAIRS[@]} -gt 0 ] || for p in $ALL; do PAIRS+=("$p"); done
RUN=()
for p in "${PAIRS[@]}"; do
  if available "$p"; then RUN+=("$p"); else
    echo "*** SKIPPED pair $p: its programs are not installed" >&2
    [ $SMOKE = 1 ] && skip_or_fail "the smoke pair $p is not available"
  fi
done
: > "$OUT/results"
failed=0
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  for PAIR in "${RUN[@]}"; do
    setup_netns
    FAR_NOW=$FAR
    if ! start_pair; then
      echo "e2e.sh: $PAIR did not come up (logs in $OUT/$PAIR.r$ROUND.*)" >&2
      failed=1
      stop_pids
      continue
    fi
    if ! wait_for 100 in_a ping -c 1 -W 1 "$FAR_NOW"; then
      echo "e2e.sh: no ping through $PAIR (logs in $OUT/$PAIR.r$ROUND.*)" >&2
      failed=1
      stop_pids
      continue
    fi
    for kind in tcp1 tcp4 udp; do
      measure $kind || failed=1
    done
    stop_pids
  done
done

# ---- the table: medians over the rounds ----------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cell() {  # pair kind column
  awk -v p="$1" -v k="$2" -v c="$3" '$1 == p && $2 == k && $c != "-" { print $c }' "$OUT/results" | median
}
echo
echo "e2e: $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), iperf3 -t $DURATION, median of $ROUNDS round(s), UDP offered $RATE"
echo
echo "| pair | TCP 1 stream Mbit/s | CPU s/GB | TCP 4 streams Mbit/s | UDP received Mbit/s | UDP loss % | UDP run s |"
echo "|---|---|---|---|---|---|---|"
for p in "${RUN[@]}"; do
  echo "| $p | $(cell "$p" tcp1 3) | $(cell "$p" tcp1 4) | $(cell "$p" tcp4 3) | $(cell "$p" udp 3) | $(cell "$p" udp 5) | $(cell "$p" udp 6) |"
done
if [ $failed = 1 ]; then
  echo "e2e.sh: at least one pair or run failed (see above)" >&2
  exit 1
fi
