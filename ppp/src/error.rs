//! The crate's error types.

use thiserror::Error;

/// A malformed or truncated PPP structure, naming what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// The input ended before a field could be read.
    #[error("truncated {what}: need {needed} octets at offset {offset}, have {have}")]
    Truncated {
        /// The structure or field being read.
        what: &'static str,
        /// Offset at which the field starts.
        offset: usize,
        /// Octets the field needs.
        needed: usize,
        /// Octets available.
        have: usize,
    },
    /// A length field is smaller than its header or larger than the data.
    #[error("bad length in {what}: length {length} (valid {min}..={max})")]
    BadLength {
        /// The structure whose length field is wrong.
        what: &'static str,
        /// The value found.
        length: usize,
        /// Smallest valid value.
        min: usize,
        /// Largest valid value (bounded by the data present).
        max: usize,
    },
    /// The protocol field is not a valid PPP protocol number (its low octet must be odd and the
    /// high octet even, RFC 1661 s2).
    #[error("invalid protocol field 0x{0:04x}")]
    BadProtocol(u16),
    /// A field has a value the structure does not allow.
    #[error("invalid {field}: {reason}")]
    BadValue {
        /// Field name.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Async-HDLC frame check sequence mismatch (RFC 1662 s3.1).
    #[error("FCS-16 mismatch: computed residue 0x{residue:04x}, expected 0xf0b8")]
    BadFcs {
        /// The residue found.
        residue: u16,
    },
    /// Async-HDLC frame longer than the configured maximum.
    #[error("HDLC frame exceeds {max} octets")]
    FrameTooLong {
        /// The configured maximum.
        max: usize,
    },
    /// Async-HDLC escape octet followed by the flag (an aborted frame, RFC 1662 s4.2).
    #[error("HDLC frame aborted by 0x7d 0x7e")]
    Aborted,
}

/// A caller-provided output buffer is too small. The buffer has not been written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("buffer too small: need {need} octets, have {have}")]
pub struct BufferTooSmall {
    /// Octets required.
    pub need: usize,
    /// Octets available.
    pub have: usize,
}

/// Invalid configuration, naming the field (with its RouterOS property name where one exists).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid config field `{field}`: {reason}")]
pub struct ConfigError {
    /// The field (RouterOS property name where one exists).
    pub field: &'static str,
    /// Why it is invalid.
    pub reason: String,
}

/// Errors returned by [`crate::Session`] methods.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The input frame is malformed (it was counted as a drop; the session keeps running).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A caller buffer is too small.
    #[error(transparent)]
    BufferTooSmall(#[from] BufferTooSmall),
    /// A data packet was offered while the network protocol for it is not open.
    #[error("network protocol 0x{0:04x} is not open")]
    NotOpen(u16),
    /// An authentication verdict names a request that is not pending.
    #[error("no pending authentication request {0}")]
    NoSuchRequest(u64),
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A host has no session under this key.
    #[error("no such session")]
    NoSession,
    /// A host already holds a session under this key.
    #[error("a session with this key exists")]
    SessionExists,
    /// A host refused a new session: `max-sessions` reached.
    #[error("max-sessions reached ({0})")]
    MaxSessions(usize),
    /// The payload exceeds the negotiated MTU.
    #[error("payload of {len} octets exceeds the link MTU {mtu}")]
    TooBig {
        /// Payload length.
        len: usize,
        /// Link MTU (peer's MRU, bounded by max-mtu).
        mtu: usize,
    },
}
