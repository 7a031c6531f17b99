# RouterOS's PPTP client quick example (../shared/seeds/000_febf6792326bdf2c.txt L887): an
# enabled client of the server at 192.168.62.2 with user MT-User (the pair of
# pptp-server.rsc; the default profile default-encryption asks for MPPE).
/interface pptp-client
add connect-to=192.168.62.2 disabled=no name=pptp-out1 password=StrongPass user=MT-User
