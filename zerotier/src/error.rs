//! Errors of the crate. Remote input never produces an [`Error`](enum@Error): it becomes a counted
//! [`DropReason`](crate::DropReason).

use thiserror::Error;

/// Bytes that are not a well-formed ZeroTier structure (packet, fragment, verb payload,
/// identity, world, address).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// Input ended early.
    #[error("{what}: truncated at offset {offset}: need {need} bytes, got {got}")]
    Truncated {
        /// Structure being read.
        what: &'static str,
        /// Offset of the field that did not fit.
        offset: usize,
        /// Bytes that field needs.
        need: usize,
        /// Bytes left.
        got: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("{what}: bad {field} value {value}")]
    BadValue {
        /// Structure being read.
        what: &'static str,
        /// Field name.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// Longer than the format allows.
    #[error("{what}: {got} bytes exceed the limit of {max}")]
    TooLong {
        /// Structure being read or written.
        what: &'static str,
        /// Limit.
        max: usize,
        /// Length found.
        got: usize,
    },
    /// LZ4 payload did not decompress within the packet size limit.
    #[error("LZ4 payload does not decompress within {max} bytes")]
    Decompress {
        /// Output limit.
        max: usize,
    },
    /// Output buffer too small; nothing was written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes offered.
        have: usize,
    },
}

impl WireError {
    pub(crate) fn truncated(what: &'static str, offset: usize, need: usize, got: usize) -> Self {
        WireError::Truncated {
            what,
            offset,
            need,
            got,
        }
    }
}

/// A string form (identity, address, network ID, secret file) that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{field}: {reason}")]
pub struct ParseError {
    /// Field or form name.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl ParseError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        ParseError {
            field,
            reason: reason.into(),
        }
    }
}

/// Configuration rejected at construction, naming the field (RouterOS property where one exists).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// Field name.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        ConfigError {
            field,
            reason: reason.into(),
        }
    }
}

/// Errors returned to the caller of the node API (caller mistakes, never remote input).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Configuration rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The node's identity has no secret key.
    #[error("identity {0} has no secret key")]
    NoSecret(crate::Address),
    /// A payload too large for one ZeroTier packet (even fragmented).
    #[error("payload of {got} bytes exceeds the {max}-byte packet limit")]
    TooLarge {
        /// Limit.
        max: usize,
        /// Size asked for.
        got: usize,
    },
    /// Sending to ourselves or to a reserved address.
    #[error("cannot send to {0}")]
    BadDestination(crate::Address),
    /// A frame for a network not joined or not (yet) OK.
    #[error("network {0} is not joined or not configured")]
    NotJoined(crate::NetworkId),
    /// A broadcast frame on a network whose config disables broadcast.
    #[error("broadcast is disabled on network {0}")]
    BroadcastDisabled(crate::NetworkId),
    /// A unicast destination MAC that is no member's derived MAC on the network.
    #[error("no member has MAC {0:02x?}")]
    UnknownMac([u8; 6]),
}
