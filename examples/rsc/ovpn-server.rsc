# The server of RouterOS's OVPN example (../shared/seeds/000_febf6792326bdf2c.txt L458 pool,
# L460 profile, L461-463 users, L466 server, L480 pushed route). `certificate=server` names
# the router's certificate store: give the PEM files with --cert/--key.
# Run: ovpn-server --config examples/rsc/ovpn-server.rsc --cert server.crt --key server.key
/ip pool add name=ovpn-pool range=192.168.77.2-192.168.77.254
/ppp profile add name=ovpn local-address=192.168.77.1 remote-address=ovpn-pool
/ppp secret
add name=client1 password=123 profile=ovpn
add name=client2 password=234 profile=ovpn
/interface ovpn-server server add disabled=no certificate=server name=myServer
/interface ovpn-server server set myServer push-routes="192.168.102.0 255.255.255.0 192.168.109.1 9"
