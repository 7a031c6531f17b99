# Site 1 of RouterOS's GRE "Setup example" (../shared/seeds/003_4cdeb930f9fee41a.txt
# L795 tunnel, L803 its address, L804 the route to site 2; keepalive left at the RouterOS
# default 10s,10). Run: gre-tunnel --config examples/rsc/gre.rsc --tun myGre
/interface gre add name=myGre remote-address=192.168.90.1 local-address=192.168.80.1
/ip address add address=172.16.1.1/30 interface=myGre
/ip route add dst-address=10.1.202.0/24 gateway=172.16.1.2
