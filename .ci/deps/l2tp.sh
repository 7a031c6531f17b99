# l2tp interop peers: xl2tpd 1.3.18 (both roles, control plane; its pppd fails without /dev/ppp,
# which the tests expect). pppd comes with the `ppp` package that xl2tpd depends on.
# The full L2TP + PPP test (our_client_ppp_ping_through_kernel_lns_vm) runs against the shared
# lab VM, whose packages (qemu, and xl2tpd/pppd for the guest) come from lab-vm.sh; it also
# uses the host's `ping` (iputils-ping) inside netns rp-lab.
# l2tp_ether_static_against_kernel_vm uses the same VM (guest modules l2tp_eth/l2tp_ip and
# `ip l2tp`, all in the lab initramfs) and the host's `ip` (iproute2) for its TAP devices.
apt_install xl2tpd ppp iputils-ping iproute2
