//! Sans-IO PTP (IEEE 1588-2008).
#![forbid(unsafe_code)]
pub mod bmca;
pub mod clock;
pub mod config;
pub mod datasets;
pub mod error;
pub mod event;
pub mod monitor;
pub mod servo;
pub mod sim;
pub mod wire;

pub use clock::{Clock, Disposition, PortCounters, PortState, Transmit, TxToken};
pub use config::{Config, DelayMechanism, Destination, PortConfig, Profile, Transport};
pub use error::{DropReason, Error};
pub use event::Event;
pub use monitor::{Monitor, PortStatus};
/// Re-export of the RNG trait crate the clock takes (`rand_core` 0.6).
pub use rand_core;
