# ipsec-ike interop peer: strongSwan 5.9.8 (Debian 12) with its userspace ESP (kernel-libipsec
# in libcharon-extra-plugins), swanctl/vici; scapy (python3-scapy) as the second ESP
# implementation that decrypts and re-encrypts our ESP byte-exact; tshark is installed by
# tour.sh. The tests start (and stop, by PID) their own charon in namespaces they create
# (examples/tests/interop_ipsec_ike.rs).
apt_install charon-systemd strongswan-swanctl libstrongswan-standard-plugins \
  libcharon-extra-plugins libcharon-extauth-plugins openssl iproute2 iputils-ping python3-scapy python3-cryptography
