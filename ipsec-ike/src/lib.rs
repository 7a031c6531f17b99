//! Sans-IO IKEv2 and IPsec (docs being written).
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod crypto;
pub mod error;
pub mod esp;
pub mod replay;
pub mod sk;
pub mod spd;
pub mod wire;

pub use error::{ConfigError, CryptoError, Error, WireError};
