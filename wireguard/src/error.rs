//! Errors of the crate.

use thiserror::Error;

/// A datagram that is not a well-formed WireGuard message.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than the 4-byte type field.
    #[error("truncated: need {need} bytes, got {got}")]
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// Bytes 1..4 (reserved) are not zero.
    #[error("reserved bytes 1..4 of the type field are not zero")]
    ReservedNotZero,
    /// Type byte is not 1-4.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// Length does not match the type.
    #[error("message type {msg_type}: length {got}, expected {expected}")]
    BadLength {
        /// Type byte.
        msg_type: u8,
        /// Exact (types 1-3) or minimum (type 4) length.
        expected: usize,
        /// Length received.
        got: usize,
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

/// Errors returned to the caller of the device API (never caused by remote input: remote
/// misbehaviour becomes a counted [`DropReason`](crate::DropReason)).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's output buffer is too small; nothing was written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes offered.
        have: usize,
    },
    /// No peer with that id.
    #[error("unknown peer id {0}")]
    UnknownPeer(usize),
    /// Configuration rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Configuration validation / parsing error naming the field.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field has an invalid value.
    #[error("{field}: {reason}")]
    Invalid {
        /// RouterOS property (or wg-quick key) name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A line of an imported file could not be parsed.
    #[error("line {line}: {reason}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}
