# RouterOS's PPTP server example (../shared/seeds/000_febf6792326bdf2c.txt L896-897: the server
# enabled, then a PPP secret with fixed addresses and the default-encryption profile).
/interface pptp-server server
set enabled=yes
/ppp secret
add local-address=10.0.0.1 name=MT-User password=StrongPass profile=default-encryption remote-address=10.0.0.5 service=pptp
