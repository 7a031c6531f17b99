# ovpn interop peers: OpenVPN 2.6 (Debian 12: 2.6.14) and the openssl CLI (test PKI);
# iproute2 for namespaces/veths, iputils-ping for the pings through the TUN/TAP tunnels
# (examples/tests/interop_ovpn.rs), and the same three for the flood tests
# (examples/tests/flood_ovpn.rs: ovpn-server under ovpn-flood, ~15 s for both; the long
# version, OVPN_FLOOD_LONG=1, is not run in CI). The tests need /dev/net/tun (root).
apt_install openvpn openssl iproute2 iputils-ping
