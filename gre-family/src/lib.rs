//! placeholder
#![forbid(unsafe_code)]
pub mod config;
pub mod error;
pub mod event;
pub mod tunnel;
pub mod wire;
pub use config::*;
pub use error::{Error, WireError};
pub use event::{DownReason, DropReason, Event, Stats};
pub use tunnel::{Decapsulated, Payload, Transmit, Tunnel};
