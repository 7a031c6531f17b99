# ovpn interop peers: OpenVPN 2.6 (Debian 12: 2.6.14) and the openssl CLI (test PKI);
# iproute2 for namespaces/veths, iputils-ping for the pings through the TUN/TAP tunnels
# (examples/tests/interop_ovpn.rs). The tests need /dev/net/tun (root).
apt_install openvpn openssl iproute2 iputils-ping
