//! Sans-IO IKEv2 and IPsec (docs being written).
#![forbid(unsafe_code)]

pub mod ah;
pub mod auth;
pub mod config;
pub mod cookie;
pub mod crypto;
pub mod eap;
pub mod error;
pub mod esp;
pub mod event;
pub mod ike;
pub mod replay;
pub mod sk;
pub mod spd;
pub mod wire;

pub use error::{ConfigError, CryptoError, Error, WireError};

pub use event::{ChildDownReason, ChildId, DownReason, DropReason, Event, IkeSaId};
pub use ike::{Ike, Inbound, Input, Outbound, Stats, Transmit};
/// The RNG traits the engine takes (re-exported so callers need no direct dependency).
pub use rand_core;
