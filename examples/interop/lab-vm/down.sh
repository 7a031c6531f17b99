#!/usr/bin/env bash
# down.sh [--quiet] - stop the lab VM (QEMU by its PID) and delete netns rp-lab (any process left
# in it is killed by PID first). Artefacts in /var/lib/rp-lab stay.
. "$(dirname "$0")/common.sh"
rplab_check_not_owned
p=$(rplab_qemu_pid)
if [ -n "$p" ] && rplab_running; then rplab_kill_pid "$p"; fi
rm -f "$RPLAB_RUN/qemu.pid" "$RPLAB_RUN/ctl.sock" "$RPLAB_RUN/ppp-serial.sock" "$RPLAB_RUN/ready"
if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$RPLAB_NS"; then
  for p in $(ip netns pids "$RPLAB_NS" 2>/dev/null); do rplab_kill_pid "$p"; done
  ip netns del "$RPLAB_NS" 2>/dev/null
fi
[ "${1:-}" = --quiet ] || rplab_log "down"
exit 0
