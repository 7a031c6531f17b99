# The "RouterOS Home" side of seed 000 (L1517-1548): a self-hosted controller network
# (L1526), our own interface joining it (L1533, the network ID is the controller's address
# 879c0b5265 and the network number a99e4b) and one member authorized ahead of time (L1546,
# written with the member's address instead of the print's index).
/zerotier
set zt1 port=9993
/zerotier controller
add name=ZT-private instance=zt1 ip-range=172.27.27.10-172.27.27.20 private=yes routes=172.27.27.0/24 network=879c0b5265a99e4b
/zerotier controller member
add network=ZT-private zt-address=879a0b5265 authorized=yes
/zerotier interface
add network=879c0b5265a99e4b name=myZeroTier instance=zt1
