# RouterOS's PPPoE server quick example (../shared/seeds/000_febf6792326bdf2c.txt L676-684: a
# pool, a profile using it, a secret, then the server entry on ether3). Run with
# `--interface` to serve on another port than ether3.
/ip pool
add name=pppoe-pool ranges=10.0.0.2-10.0.0.5
/ppp profile
add local-address=10.0.0.1 name=for-pppoe remote-address=pppoe-pool
/ppp secret
add name=MT-User password=StrongPass profile=for-pppoe service=pppoe
/interface pppoe-server server
add default-profile=for-pppoe disabled=no interface=ether3 service-name=pppoeservice
