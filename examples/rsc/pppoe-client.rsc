# RouterOS's PPPoE client quick example (../shared/seeds/000_febf6792326bdf2c.txt L662): an
# enabled client on ether2 asking for the service pppoeservice with user MT-User (the pair of
# pppoe-server.rsc). Run with `--interface` to dial on another port than ether2.
/interface pppoe-client
add interface=ether2 password=StrongPass service-name=pppoeservice name=PPPoE-Out disabled=no user=MT-User
