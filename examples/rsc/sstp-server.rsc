# RouterOS's SSTP server quick example (../shared/seeds/000_febf6792326bdf2c.txt L1034-1035:
# a PPP secret with fixed addresses, then the server enabled with default-encryption).
/ppp secret
add local-address=10.0.0.1 name=MT-User password=StrongPass remote-address=10.0.0.5 service=sstp
/interface sstp-server server
set default-profile=default-encryption enabled=yes
