//! PPTP codecs: the TCP control channel ([`control`]) and the result/error/reason code tables
//! ([`codes`]). The data channel's enhanced GRE header is `gre_family::wire::egre`, re-exported
//! here as [`EnhancedGreRepr`].
//!
//! Guarantees: every `parse` takes untrusted bytes and never panics (errors name the field and
//! what was wrong); every `emit` writes exactly the bytes `parse` read for the messages RFC 2637
//! defines (fixed-size messages, reserved fields written as zero as the RFC requires).

pub mod codes;
pub mod control;

pub use control::{
    Deframer, FixedStr, Header, Message, MessageType, WireError, HEADER_LEN, MAGIC_COOKIE,
    MAX_MESSAGE_LEN,
};
pub use gre_family::wire::egre::EnhancedGreRepr;
