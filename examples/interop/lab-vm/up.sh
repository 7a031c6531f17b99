#!/usr/bin/env bash
# up.sh - boot the lab VM (building the artefacts first if needed) and wait until it is ready.
#
# Host side: netns rp-lab with tap rplabtap0 = 10.97.40.1/24, wired to the guest's eth0 10.97.40.2/24.
# QEMU (TCG) runs daemonized inside rp-lab; its PID is in /run/rp-lab/qemu.pid.
# Before calling, a caller may drop these files into /run/rp-lab (read at boot, put on the guest
# kernel command line; see guest/init):
#   wg-host.pub    WireGuard public key of the host-side peer (allowed-ips 10.97.44.1/32 in the guest)
#   wg-guest.key   override of the guest's wg0 private key (default /var/lib/rp-lab/wg-guest.key)
#   wg-endpoint    endpoint (ip:port) of the host-side peer, if the guest should initiate
# Environment: RPLAB_MEM (MB, default 384), RPLAB_SMP (default 2), RPLAB_BOOT_TIMEOUT (s, 180).
# Prints "ready in N s" on stderr. Exit 0 when ready (or already running), 1 otherwise.
. "$(dirname "$0")/common.sh"
rplab_check_not_owned
[ "$(id -u)" = 0 ] || rplab_die "needs root"
"$RPLAB_DIR/build.sh" || rplab_die "build failed"
mkdir -p "$RPLAB_RUN"
if rplab_running; then
  rplab_log "already running (pid $(rplab_qemu_pid))"; exit 0
fi
command -v qemu-system-x86_64 >/dev/null || rplab_die "qemu-system-x86_64 missing (.ci/deps/lab-vm.sh)"

# fresh namespace (nothing else lives in it)
RPLAB_LOCK_HELD=1 "$RPLAB_DIR/down.sh" --quiet
ip netns add "$RPLAB_NS" || rplab_die "ip netns add $RPLAB_NS"
ip -n "$RPLAB_NS" link set lo up
rm -f "$RPLAB_RUN/ctl.sock" "$RPLAB_RUN/ppp-serial.sock" "$RPLAB_RUN/console.log" "$RPLAB_RUN/ready"

append="console=ttyS0 panic=-1 quiet loglevel=4 8250.nr_uarts=4 random.trust_cpu=on mitigations=off"
k() { tr -d ' \n\r\t' < "$1"; }
[ -s "$RPLAB_RUN/wg-host.pub" ] && append="$append rplab_wgpeer=$(k "$RPLAB_RUN/wg-host.pub")"
[ -s "$RPLAB_RUN/wg-guest.key" ] && append="$append rplab_wgkey=$(k "$RPLAB_RUN/wg-guest.key")"
[ -s "$RPLAB_RUN/wg-endpoint" ] && append="$append rplab_wgep=$(k "$RPLAB_RUN/wg-endpoint")"
if [ -s "$RPLAB_RUN/wg-guest.key" ]; then
  wg pubkey < "$RPLAB_RUN/wg-guest.key" > "$RPLAB_RUN/wg-guest.pub"
else
  cp "$RPLAB_ART/wg-guest.pub" "$RPLAB_RUN/wg-guest.pub"
fi

KERNEL=$RPLAB_ART/vmlinuz
[ -s "$RPLAB_ART/vmlinux" ] && KERNEL=$RPLAB_ART/vmlinux   # PVH entry, see build.sh
T0=$(date +%s.%N)
# ttyS0: console log file; ttyS1: unused; ttyS2: raw PPP line (unix socket, async HDLC);
# hvc0 (virtio console): control channel (unix socket, see guest/rplab-agent)
ip netns exec "$RPLAB_NS" qemu-system-x86_64 \
  -nodefaults -no-user-config -accel tcg,thread=multi -cpu max \
  -m "${RPLAB_MEM:-384}" -smp "${RPLAB_SMP:-2}" \
  -kernel "$KERNEL" -initrd "$RPLAB_ART/initrd.img" -append "$append" \
  -display none -vga none -monitor none -no-reboot \
  -serial "file:$RPLAB_RUN/console.log" \
  -serial null \
  -serial "unix:$RPLAB_RUN/ppp-serial.sock,server=on,wait=off" \
  -netdev "tap,id=n0,ifname=$RPLAB_TAP,script=no,downscript=no" \
  -device "virtio-net-pci,netdev=n0,mac=$RPLAB_GUEST_MAC" \
  -device virtio-serial-pci \
  -chardev "socket,id=ctl,path=$RPLAB_RUN/ctl.sock,server=on,wait=off" \
  -device virtconsole,chardev=ctl \
  -pidfile "$RPLAB_RUN/qemu.pid" -daemonize || rplab_die "qemu failed to start"
ip -n "$RPLAB_NS" addr replace "$RPLAB_HOST_CIDR" dev "$RPLAB_TAP"
ip -n "$RPLAB_NS" link set "$RPLAB_TAP" up

deadline=$(( $(date +%s) + ${RPLAB_BOOT_TIMEOUT:-180} ))
until grep -qa RPLAB-READY "$RPLAB_RUN/console.log" 2>/dev/null; do
  rplab_running || { tail -n 40 "$RPLAB_RUN/console.log" >&2; rplab_die "QEMU exited during boot"; }
  [ "$(date +%s)" -lt "$deadline" ] || { tail -n 40 "$RPLAB_RUN/console.log" >&2; rplab_die "boot timed out"; }
  sleep 0.1
done
# the control channel must answer too
out=$(RPLAB_EXEC_TIMEOUT=30 "$RPLAB_DIR/exec.sh" 'echo agent-ok' 2>&1)
case "$out" in *agent-ok*) ;; *) rplab_die "control channel does not answer: $out" ;; esac
T1=$(date +%s.%N)
secs=$(awk "BEGIN{printf \"%.1f\", $T1-$T0}")
echo "$secs" > "$RPLAB_RUN/ready"
rplab_log "ready in $secs s: $(grep -a -m1 RPLAB-READY "$RPLAB_RUN/console.log" | tr -d '\r')"
ip -n "$RPLAB_NS" route show default | grep -q . && rplab_log "WARNING: default route in $RPLAB_NS"
exit 0
