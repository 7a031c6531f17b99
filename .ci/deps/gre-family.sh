# .ci/deps/gre-family.sh - interop peers of the gre-family crate.
# Sourced by .ci/run (as root). Idempotent; starts nothing.
#
# The peer is the Linux kernel's GRE / GRETAP / IPIP in the project's lab VM, whose packages
# (qemu, kernel image, busybox, ...) are installed by .ci/deps/lab-vm.sh. The test
# (examples/tests/interop_gre_family.rs) additionally runs `ip` and `ping` on the host side.
apt_install iproute2 iputils-ping
