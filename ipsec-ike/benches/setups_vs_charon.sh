#!/bin/bash
# IKE_SA setups per second, responder side: strongSwan 5.9.8's charon against our `ike` example,
# measured back to back on this machine with the same load generator.
#   ipsec-ike/benches/setups_vs_charon.sh [COUNT]      (root; Debian charon-systemd, swanctl,
#                                                        libcharon-extra-plugins installed)
# Method: netsim-free, real sockets. Two network namespaces joined by a veth pair; the
# responder (charon with kernel-libipsec, or `ike --responder`) in one, `ike-load` (our engine
# as initiator) in the other, opening COUNT IKE SAs with 4 in flight: each is IKE_SA_INIT +
# IKE_AUTH with PSK, Curve25519, AES-128-CBC/HMAC-SHA2-256, and one tunnel-mode Child SA
# (AES-128-GCM) installed in the responder's userspace ESP. The rate is completed setups over
# wall time as seen by the load generator; both responders log at their default level and
# answer the same generator, so the generator's own cost is in both figures.
set -euo pipefail
COUNT=${1:-300}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
R=ike-bench-r; I=ike-bench-i
cleanup() {
    for ns in $R $I; do
        for p in $(ip netns pids $ns 2>/dev/null); do kill $p 2>/dev/null || true; done
    done
    sleep 0.3
    ip netns del $R 2>/dev/null || true; ip netns del $I 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
(cd "$root" && cargo build --release -q -p examples --bin ike --bin ike-load)
bin=${CARGO_TARGET_DIR:-$root/target}/release
setup() {
    cleanup 2>/dev/null || true; mkdir -p "$tmp"
    ip netns add $R; ip netns add $I
    ip -n $R link set lo up; ip -n $I link set lo up
    ip link add ikebr0 netns $R type veth peer name ikebi0 netns $I
    ip -n $R addr add 10.99.3.1/24 dev ikebr0; ip -n $I addr add 10.99.3.2/24 dev ikebi0
    ip -n $R link set ikebr0 up; ip -n $I link set ikebi0 up
}
load() { ip netns exec $I "$bin/ike-load" --local 10.99.3.2 --remote 10.99.3.1 --psk bench-psk --count "$COUNT" --timeout 120 | tail -1; }

# 1. charon
setup
d=$tmp/sw; mkdir -p $d/swanctl/{x509,x509ca,private}
ip -n $R addr add 10.99.31.1/32 dev lo
cat >$d/strongswan.conf <<EOC
charon {
  load_modular = yes
  install_virtual_ip = no
  plugins {
    include /etc/strongswan.d/charon/*.conf
    vici { socket = unix://$d/charon.vici }
    kernel-libipsec { load = yes }
    curl { load = no }
    ldap { load = no }
    resolve { load = no }
    eap-radius { load = no }
    ha { load = no }
  }
  filelog { l { path = $d/charon.log
                default = 1 } }
}
charon-systemd { journal { default = -1 } }
EOC
cat >$d/swanctl/swanctl.conf <<EOC
connections { bench { version = 2
  local_addrs = 10.99.3.1
  remote_addrs = 10.99.3.2
  proposals = aes128-sha256-x25519
  unique = never
  local { auth = psk
          id = 10.99.3.1 }
  remote { auth = psk
           id = 10.99.3.2 }
  children { net { mode = tunnel
                   local_ts = 10.99.31.1/32
                   remote_ts = 10.99.32.1/32
                   esp_proposals = aes128gcm16 } } } }
secrets { ike { id-1 = 10.99.3.1
                id-2 = 10.99.3.2
                secret = "bench-psk" } }
EOC
STRONGSWAN_CONF=$d/strongswan.conf ip netns exec $R /usr/sbin/charon-systemd >$d/out 2>&1 &
for i in $(seq 40); do [ -S $d/charon.vici ] && break; sleep 0.25; done
SWANCTL_DIR=$d/swanctl ip netns exec $R swanctl --load-all --uri unix://$d/charon.vici >/dev/null 2>&1
c=$(load); echo "charon 5.9.8 responder: $c"

# 2. ours
setup
ip netns exec $R "$bin/ike" --responder --local 10.99.3.1 --remote 10.99.3.2 --psk bench-psk \
    --local-ts 10.99.31.1/32 --remote-ts 10.99.32.1/32 --tun ikeb0 >$tmp/ours.log 2>&1 &
sleep 0.5
o=$(load); echo "ipsec-ike responder:     $o"
rc=$(echo "$c" | sed 's/.*rate=\([0-9.]*\).*/\1/'); ro=$(echo "$o" | sed 's/.*rate=\([0-9.]*\).*/\1/')
awk -v c="$rc" -v o="$ro" 'BEGIN { printf "ratio ipsec-ike / charon: %.2fx\n", o / c }'
