# pppoe interop peers:
# - rp-pppoe 3.15 (Debian `pppoe`): examples/tests/interop_pppoe.rs runs its user-space
#   `pppoe` client (PPP as async HDLC on stdin/stdout, our ppp client on the other end) against
#   our pppoe-server example, and `pppoe-server -q <our ppp-stdio-pppoe>` (our ppp server
#   instead of pppd) against our pppoe-client example, each on a veth between two netns.
apt_install pppoe
