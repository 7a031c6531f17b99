#!/usr/bin/env bash
# status.sh - is the lab VM running? If so: guest interfaces, daemons, wg0.
. "$(dirname "$0")/common.sh"
if ! rplab_running; then echo "lab-vm: not running"; exit 1; fi
echo "lab-vm: running, qemu pid $(rplab_qemu_pid), ready in $(cat "$RPLAB_RUN/ready" 2>/dev/null) s"
"$RPLAB_DIR/exec.sh" 'uname -r; ip -br addr; ps | grep -E "[x]l2tpd|[p]ppd"; wg show wg0'
