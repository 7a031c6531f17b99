//! # rosproto-pppoe: PPPoE (RFC 2516) client and access concentrator, sans-IO
#![forbid(unsafe_code)]

pub mod wire;
