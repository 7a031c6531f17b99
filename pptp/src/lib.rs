//! # rosproto-pptp: PPTP (RFC 2637) PNS and PAC, sans-IO
#![forbid(unsafe_code)]

pub mod wire;
