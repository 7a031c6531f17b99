# RouterOS's PTP configuration example (../shared/seeds/003_4cdeb930f9fee41a.txt L84 the
# 802.1as instance, every other property auto; L97-99 its ports: sfp28-12 towards the
# grandmaster, sfp28-1 and sfp28-2 towards ordinary clocks).
# Run: ptp --config examples/rsc/ptp.rsc  (or with --iface eth0 for this host's port)
/system ptp add name=ptp1 profile=802.1as
/system ptp port add interface=sfp28-1 ptp=ptp1
/system ptp port add interface=sfp28-2 ptp=ptp1
/system ptp port add interface=sfp28-12 ptp=ptp1
