//! Sans-IO ZeroTier 1.x, VL1 (crate docs written at the end).
#![forbid(unsafe_code)]

pub mod address;
pub mod config;
pub mod crypto;
pub mod error;
pub mod event;
pub mod fragment;
pub mod identity;
pub mod node;
pub mod timers;
pub mod wire;
pub mod world;

pub use address::{Address, NetworkId};
pub use config::NodeConfig;
pub use crypto::{CipherSuite, PeerKey};
pub use error::{ConfigError, Error, ParseError, WireError};
pub use event::{DropReason, Event, Input, PeerSource};
pub use identity::{Identity, SigningKeyPair};
pub use node::{LocalSocket, Node, PeerInfo, Role, Stats, Transmit};
pub use world::{Root, World, WorldType, WorldUpdate};
pub use rand_core;
