# common.sh - names, addresses and small helpers shared by the lab-vm scripts (source it).
# These values are a contract: examples/src/lab_vm.rs and other crates' interop tests use them.
set -u
RPLAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RPLAB_NS=rp-lab                      # host-side network namespace
RPLAB_TAP=rplabtap0                  # tap in $RPLAB_NS, wired to the guest's eth0
RPLAB_HOST_CIDR=10.97.40.1/24        # host end of the tap
RPLAB_GUEST_IP=10.97.40.2            # guest eth0 (10.97.40.2/24)
RPLAB_GUEST_MAC=52:54:00:97:40:02
RPLAB_ART=${RPLAB_ART:-/var/lib/rp-lab}   # cached build artefacts (kernel, initramfs, keys)
RPLAB_RUN=${RPLAB_RUN:-/run/rp-lab}       # runtime state (pidfile, sockets, console log)
RPLAB_PY=/usr/bin/python3            # Debian's python (the PATH one may be a pyenv shim)
RPLAB_LOCK=/run/rp-lab.lock          # flock held by a live examples::lab_vm::LabVm (a test)

rplab_log() { echo "[lab-vm] $*" >&2; }
rplab_die() { echo "[lab-vm] ERROR: $*" >&2; exit 1; }

rplab_qemu_pid() { cat "$RPLAB_RUN/qemu.pid" 2>/dev/null; }
rplab_running() {
  local p; p=$(rplab_qemu_pid)
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && grep -q qemu "/proc/$p/cmdline" 2>/dev/null
}

# Kill one PID (TERM, then KILL after ~3 s).
rplab_kill_pid() {
  local p=$1 i
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill "$p" 2>/dev/null
  for i in $(seq 30); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$p" 2>/dev/null
  return 0
}

# Refuse to start/stop the VM by hand while a test (LabVm) owns it. LabVm sets RPLAB_LOCK_HELD=1
# for the scripts it runs itself.
rplab_check_not_owned() {
  [ "${RPLAB_LOCK_HELD:-0}" = 1 ] && return 0
  [ -e "$RPLAB_LOCK" ] || return 0
  flock -n "$RPLAB_LOCK" true 2>/dev/null ||
    rplab_die "the lab VM is in use by a running test (flock on $RPLAB_LOCK); try again later"
}
