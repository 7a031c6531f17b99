//! # rosproto-pptp: PPTP (RFC 2637) PNS and PAC, sans-IO
#![forbid(unsafe_code)]

pub mod config;
pub mod control;
pub mod data;
pub mod error;
pub mod event;
pub mod wire;

pub use config::{default_aaa, ClientConfig, ControlConfig, ServerConfig};
pub use control::{Control, ControlState, Role};
pub use data::{GreChannel, GreStats, RxVerdict};
pub use error::Error;
pub use event::{CallEndReason, CloseReason, ControlEvent, DropReason};

pub mod client;
pub mod server;
pub mod transport;

pub use client::{Client, ClientEvent};
pub use server::{CallKey, Server, ServerEvent, ServerStats};
pub use transport::{Channel, ConnId, Input, Transmit};
