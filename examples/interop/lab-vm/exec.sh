#!/usr/bin/env bash
# exec.sh 'CMD ...' - run a shell snippet in the guest, print its stdout+stderr, exit with its code
# (124-137 = timeout/killed, 255 = control channel failure). Timeout: RPLAB_EXEC_TIMEOUT (s, 60).
# Start long-running programs detached:  exec.sh '(setsid pppd ... >/tmp/x.log 2>&1 &)'
. "$(dirname "$0")/common.sh"
[ $# -ge 1 ] || rplab_die "usage: exec.sh 'command'"
exec "$RPLAB_PY" "$RPLAB_DIR/ctl.py" "$RPLAB_RUN/ctl.sock" "$*"
