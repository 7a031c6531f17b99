# ppp crate: the interop test (examples/tests/interop_ppp.rs) talks to pppd 2.4.9 inside the
# project's lab VM (serial line), whose packages (qemu, ppp, ...) lab-vm.sh installs. The host
# itself needs nothing more for ppp.
:
