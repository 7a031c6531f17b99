# tshark: .ci/run checks that every pcap the tour writes decodes in Wireshark's dissectors
# without a malformed-packet mark. The setuid question is answered "no" (no capture here, only
# reading files).
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt_install tshark
