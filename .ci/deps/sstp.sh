# sstp interop peers:
# - sstpc 1.0.18 (Debian sstp-client, OpenSSL): examples/tests/interop_sstp.rs runs it with
#   --nolaunchpppd against our server on 127.0.0.1, with our ppp client on its stdin (HDLC).
# - the full client in the lab VM (sstpc + pppd + sstp-pppd-plugin.so from the same package),
#   copied into the guest image by examples/interop/lab-vm/build.sh when installed here.
apt_install sstp-client ppp
