# ovpn interop peers: OpenVPN 2.6 (Debian 12: 2.6.14) and the openssl CLI (test PKI).
apt_install openvpn openssl iproute2
