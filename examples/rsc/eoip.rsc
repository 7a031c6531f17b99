# The access point of RouterOS's EoIP example (../shared/seeds/003_4cdeb930f9fee41a.txt
# L701 tunnel, L723 bridge port). Its local-address is left at 0.0.0.0 ("the outgoing
# interface's address"), which this program cannot look up: give it with --local.
# Run: gre-tunnel --config examples/rsc/eoip.rsc --local 10.0.0.1
/interface eoip add name="eoip-remote" tunnel-id=0 remote-address=10.0.0.2 disabled=no
/interface bridge port add bridge=bridge1 interface=eoip-remote
