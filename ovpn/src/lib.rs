//! Sans-IO OpenVPN.
#![forbid(unsafe_code)]

pub mod crypto;
pub mod error;
pub mod protect;
pub mod wire;
