//! Codecs: data types, the common header, message bodies, TLVs and management payloads.
//!
//! Guarantees: parsing never panics and never reads past the input; every error names what was
//! wrong and where; `emit(parse(bytes)) == bytes[..messageLength]` for every message (reserved
//! fields and unknown TLVs are kept verbatim); `emit` leaves the buffer untouched when it is
//! too small and reports the size needed.

pub mod header;
pub mod management;
pub mod message;
pub mod tlv;
pub mod types;

pub use header::{flags, Header, MessageType};
pub use message::{action, Announce, Body, ManagementBody, Message};
pub use tlv::{tlv_type, FollowUpInfo, Tlv, TlvIter};
pub use types::{
    log_interval, ClockIdentity, ClockQuality, PortIdentity, Time, TimeInterval, Timestamp,
};

/// Decoding / encoding errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than a field needs.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// versionPTP (offset 1, low nibble) is not 2.
    #[error("versionPTP {found} at offset 1 (expected 2)")]
    BadVersion {
        /// Found value.
        found: u8,
    },
    /// messageType (offset 0, low nibble) is reserved.
    #[error("unknown messageType {found:#x} at offset 0")]
    UnknownMessageType {
        /// Found nibble.
        found: u8,
    },
    /// A length field is inconsistent.
    #[error("bad {field} {found} at offset {offset} (minimum {min})")]
    BadLength {
        /// Field name.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
        /// Value found.
        found: usize,
        /// Minimum acceptable.
        min: usize,
    },
    /// A timestamp's nanosecondsField is 10^9 or more.
    #[error("nanosecondsField >= 10^9 at offset {offset}")]
    InvalidNanoseconds {
        /// Offset of the nanoseconds field.
        offset: usize,
    },
    /// Output buffer too small; nothing written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes available.
        have: usize,
    },
}
