//! The project's full-kernel lab VM (a Debian kernel in QEMU with pppd, xl2tpd, kernel GRE,
//! GRETAP, IPIP, WireGuard), used as a real peer by interop tests. Work in progress.
