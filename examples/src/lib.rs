//! Shared code of the example programs: the `tour` scenarios and helpers for the real-socket
//! examples and interop harnesses.
//!
//! Sockets, TUN/TAP devices, raw sockets and clocks live here and only here: the protocol crates
//! are sans-IO (see ARCHITECTURE.md).

pub mod interop;
pub mod l2tp_ipsec;
pub mod l2tp_transport;
pub mod lab_vm;
pub mod logging;
pub mod openssl_backend;
pub mod ovpn_cli;
pub mod ovpn_util;
pub mod ppp_cli;
pub mod pppoe_util;
pub mod pptp_util;
pub mod radius_udp;
pub mod rsc;
pub mod rsc_config;
pub mod sstp_util;
pub mod sys;
pub mod tour;
pub mod tun_offload;
pub mod udp_batch;
pub mod udp_pcap;
