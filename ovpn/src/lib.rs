//! Sans-IO OpenVPN.
#![forbid(unsafe_code)]

pub mod config;
pub mod crypto;
pub mod data;
pub mod error;
pub mod event;
pub mod keymethod;
pub mod ovpnfile;
pub mod protect;
pub mod push;
pub mod reliable;
pub mod server;
pub mod session;
pub mod tls;
pub mod wire;

/// Re-exported so callers can implement the injected RNG without a direct dependency.
pub use rand_core;
