//! Sans-IO L2TP (RFC 2661 L2TPv2, RFC 3931 L2TPv3) for the RouterOS feature set.
#![forbid(unsafe_code)]

pub mod config;
pub mod control;
pub mod error;
pub mod ether;
pub mod event;
pub mod ppp_link;
pub mod server;
pub mod tunnel;
pub mod wire;

pub use config::{ControlConfig, TunnelConfig};
pub use error::{Error, Result};
pub use event::{CallDirection, CallInfo, Event, ProxyInfo, SessionDownReason, TunnelDownReason};
pub use tunnel::{Input, Role, Session, SessionState, Tunnel, TunnelState};
