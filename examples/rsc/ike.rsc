# RouterOS's site-to-site IPsec example (../shared/seeds/003_4cdeb930f9fee41a.txt L1657-1674,
# site 2) with exchange-mode=ike2 (the seed's IKEv2 advice, L1670) and the local address of
# the peer set: ike --config examples/rsc/ike.rsc runs it (the policy gives the traffic
# selectors, the peer the addresses).
/ip ipsec profile
add dh-group=modp2048 enc-algorithm=aes-128 name=ike1-site2
/ip ipsec proposal
add enc-algorithms=aes-128-cbc name=ike1-site2 pfs-group=modp2048
/ip ipsec peer
add address=192.168.80.1/32 exchange-mode=ike2 local-address=192.168.90.1 name=ike1-site2 profile=ike1-site2
/ip ipsec identity
add peer=ike1-site2 secret=thisisnotasecurepsk
/ip ipsec policy
add src-address=10.1.202.0/24 src-port=any dst-address=10.1.101.0/24 dst-port=any tunnel=yes action=encrypt proposal=ike1-site2 peer=ike1-site2
