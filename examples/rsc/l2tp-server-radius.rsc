# An L2TP LNS whose users live on a RADIUS server (issue 23): local `/ppp secret`s are tried
# first, every other user is asked of the `/radius` entries whose service includes ppp
# (`/ppp aaa use-radius=yes`), with accounting and 5-minute interim updates; the RADIUS server
# may end a session with a Disconnect-Request on port 3799 (`/radius incoming`).
# The `service=ipsec` entry is seed 003 L2159-2160's; it is not for PPP and is set aside.
/interface l2tp-server server
set enabled=yes
/ip pool
add name=pool0 ranges=192.168.99.2-192.168.99.99
/ppp profile
set default local-address=192.168.99.1 remote-address=pool0
/ppp aaa
set use-radius=yes accounting=yes interim-update=5m
/radius
add address=127.0.0.1 secret=test service=ipsec
add address=192.0.2.10 secret=xyzzy5461 service=ppp timeout=1s
/radius incoming
set accept=yes port=3799
