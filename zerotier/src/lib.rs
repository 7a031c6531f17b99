//! Sans-IO ZeroTier 1.x, VL1 (crate docs written at the end).
#![forbid(unsafe_code)]

pub mod address;
pub mod crypto;
pub mod error;
pub mod identity;
pub mod wire;
pub mod world;

pub use address::{Address, NetworkId};
pub use crypto::{CipherSuite, PeerKey};
pub use error::{ConfigError, Error, ParseError, WireError};
pub use identity::{Identity, SigningKeyPair};
pub use world::{Root, World, WorldType, WorldUpdate};
pub use rand_core;
