# examples/benches/e2e.sh (issue 22): iperf3 measures through the tunnels, jq reads its JSON, wg
# (wireguard-tools) makes keys and configures boringtun/wireguard-go, openssl makes the OpenVPN
# PKI. iperf3's "start a daemon?" question is answered "no".
echo "iperf3 iperf3/start_daemon boolean false" | debconf-set-selections 2>/dev/null || true
apt_install iperf3 jq wireguard-tools openssl iproute2 iputils-ping
