//! Sans-IO IKEv2 and IPsec (docs being written).
#![forbid(unsafe_code)]

pub mod crypto;
pub mod error;
pub mod esp;
pub mod replay;
pub mod sk;
pub mod wire;

pub use error::{ConfigError, CryptoError, Error, WireError};
