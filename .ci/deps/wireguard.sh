# wireguard interop peers: wireguard-go + wg (Debian) and boringtun-cli (crates.io).
apt_install wireguard-go wireguard-tools iputils-ping iproute2
if [ ! -x /opt/rp-boringtun/bin/boringtun-cli ]; then
  cargo install boringtun-cli --locked --root /opt/rp-boringtun --target-dir /tmp/rp-boringtun-target
fi
