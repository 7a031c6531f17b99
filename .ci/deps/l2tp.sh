# l2tp interop peers: xl2tpd 1.3.18 (both roles, control plane; its pppd fails without /dev/ppp,
# which the tests expect). pppd comes with the `ppp` package that xl2tpd depends on.
apt_install xl2tpd ppp
