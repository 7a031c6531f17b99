# pptp interop peers (examples/tests/interop_pptp.rs), no kernel PPP needed:
# - pptp-linux 1.10 (`pptp --nolaunchpppd`): PPTP client with our ppp (HDLC) on its stdin/stdout,
#   against our pptp-server example;
# - pptpd 1.4.0 (Poptop) started by the test with `-e ppp-stdio`: our pptp-client example against
#   its control connection and GRE, our PPP server where pppd would run.
# iproute2 for the namespaces and `ss`.
apt_install pptpd pptp-linux iproute2
