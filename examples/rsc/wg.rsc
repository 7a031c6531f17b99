# Office1 of RouterOS's "Site to Site WireGuard tunnel" example
# (../shared/seeds/000_febf6792326bdf2c.txt L1205-1206 interface, L1214-1215 its private key
# from `print`, L1228-1230 peer, L1241-1242 address, L1243-1244 route).
/interface/wireguard
add listen-port=13231 name=wireguard1 private-key="yKt9NJ4e5qlaSgh48WnPCDCEkDmq+VsBTt/DDEBWfEo="
/interface/wireguard/peers
add allowed-address=10.1.101.0/24,10.255.255.1/32 endpoint-address=192.168.80.1 endpoint-port=13231 interface=wireguard1 \
public-key="v/oIzPyFm1FPHrqhytZgsKjU7mUToQHLrW+Tb5e601M="
/ip/address
add address=10.255.255.1/30 interface=wireguard1
/ip/route
add dst-address=10.1.101.0/24 gateway=wireguard1
