//! Codecs: the L2TPv2 header ([`header`]), AVPs ([`avp`]), control messages ([`message`]) and
//! L2TPv3 headers, cookies, sublayer and Message Digest ([`v3`]).
//!
//! Guarantees: parsers never panic and never read past their input; they return
//! [`crate::Error`] naming the field and offset. `emit(parse(bytes)) == bytes` for every
//! canonical message (checked against the real-peer captures in the tests).

pub mod avp;
pub mod header;
pub mod message;
pub mod v3;

pub use avp::{attr, Avp, AvpValue, ResultCode};
pub use header::Header;
pub use message::{ControlMessage, MessageType};
