//! Sans-IO L2TP (RFC 2661 L2TPv2, RFC 3931 L2TPv3) for the RouterOS feature set.
#![forbid(unsafe_code)]

pub mod error;
pub mod wire;

pub use error::{Error, Result};
