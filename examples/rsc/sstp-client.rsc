# RouterOS's SSTP client quick example (../shared/seeds/000_febf6792326bdf2c.txt L1023): an
# enabled client of the server at 192.168.62.2 with user MT-User and the default-encryption
# profile, without a certificate (the pair of sstp-server.rsc).
/interface sstp-client
add connect-to=192.168.62.2 disabled=no name=sstp-out1 password=StrongPass profile=default-encryption user=MT-User
