# The LNS of RouterOS's L2TP LAC/LNS example (../shared/seeds/000_febf6792326bdf2c.txt
# L230-231 server, L236-241 pool, profile and user; its `/ppp l2tp-secret` is left out).
/interface l2tp-server server
set enabled=yes
/ip pool
add name=pool0 ranges=192.168.99.2-192.168.99.99
/ppp profile
set default local-address=192.168.99.1 remote-address=pool0
/ppp secret
add name=good_worker@mt.lv password=strongpass
