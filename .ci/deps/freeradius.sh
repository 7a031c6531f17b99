# RADIUS interop peer: FreeRADIUS 3.2.1 (Debian 12) as the AAA backend of ppp::radius, and
# radclient (freeradius-utils) to send Disconnect-Request to our client's DAE listener.
# The tests generate a minimal raddb in a temp dir, start `freeradius -X -f -d DIR` on
# 127.0.0.1 high ports (also as non-root) and stop it by PID
# (examples/tests/interop_radius.rs). The package's own daemon is never started here:
# apt_install keeps policy-rc.d in place during the install.
apt_install freeradius freeradius-utils
