//! # rosproto-pppoe: PPPoE (RFC 2516) client and access concentrator, sans-IO
#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod error;
pub mod event;
mod rng;
pub mod scanner;
pub mod server;
pub mod wire;

pub use client::{Client, ClientStats};
pub use config::{split_ac_service, ClientConfig, ServerConfig, VlanRange};
pub use error::{DropReason, Error};
pub use event::{
    ClientEvent, DownReason, EndReason, Input, Offer, ServerEvent, SessionKey, Transmit,
};
pub use scanner::Scanner;
pub use server::{Server, ServerStats};
