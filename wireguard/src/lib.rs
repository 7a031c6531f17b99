//! Sans-IO WireGuard: codecs, the Noise_IKpsk2 handshake, cookies, transport data, the timer state
//! machine and a multi-peer device with cryptokey routing, driven entirely by the caller's clock.
//!
//! (Full protocol guide below; see [`Device`] for the calling contract.)
#![forbid(unsafe_code)]

pub mod allowed_ips;
pub mod config;
pub mod cookie;
pub mod crypto;
pub mod device;
pub mod error;
pub mod event;
mod fasthash;
pub mod noise;
pub mod replay;
pub mod wire;

pub use allowed_ips::{AllowedIps, IpPrefix};
pub use config::{InterfaceConfig, Key, PeerConfig, WgQuick};
pub use device::{Device, LoadPolicy, Output, PeerStats, Stats, Transmit};
pub use error::{ConfigError, Error, WireError};
pub use event::{DropReason, Event};
/// The RNG traits the device takes (re-exported so callers need no direct dependency).
pub use rand_core;

/// Index of a peer inside its [`Device`] (in order of [`Device::add_peer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub usize);
