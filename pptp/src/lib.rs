//! # rosproto-pptp: PPTP (RFC 2637) PNS and PAC, sans-IO
//!
//! Work in progress (issue 15): nothing is implemented yet.
#![forbid(unsafe_code)]
