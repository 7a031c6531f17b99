//! # rosproto-pppoe: PPPoE (RFC 2516) client and access concentrator, sans-IO
//!
//! Work in progress (issue 14): nothing is implemented yet.
#![forbid(unsafe_code)]
