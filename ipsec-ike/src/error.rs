//! Errors of the crate.

use thiserror::Error;

/// Bytes that are not a well-formed IKEv2 message, payload or ESP packet. Each variant names
/// what was wrong and where, so conformance testers get the reason.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than a fixed part needs.
    #[error("{what}: truncated at offset {offset}: need {need} bytes, got {got}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Offset of the structure in the input.
        offset: usize,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// A length field disagrees with the bytes or the structure.
    #[error("{what}: bad length {length} at offset {offset}")]
    BadLength {
        /// The structure.
        what: &'static str,
        /// Offset.
        offset: usize,
        /// The length value found.
        length: usize,
    },
    /// IKE major version other than 2 (RFC 7296 3.1: answer INVALID_MAJOR_VERSION).
    #[error("IKE version {0:#04x}, expected major version 2")]
    BadVersion(u8),
    /// SK / SKF is not the last payload of a message (RFC 7296 3.14).
    #[error("payload {0} follows an encrypted payload")]
    PayloadAfterEncrypted(u8),
    /// A field has a value the format does not allow.
    #[error("{what}: invalid value {value} at offset {offset}")]
    BadValue {
        /// The field.
        what: &'static str,
        /// Offset.
        offset: usize,
        /// The value.
        value: u64,
    },
    /// Output buffer too small; nothing was written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes offered.
        have: usize,
    },
    /// More payloads than the decoder's bound ([`MAX_PAYLOADS`](crate::wire::MAX_PAYLOADS)).
    #[error("more than {0} payloads")]
    TooManyPayloads(usize),
}

impl WireError {
    pub(crate) fn trunc(what: &'static str, offset: usize, need: usize, got: usize) -> Self {
        WireError::Truncated {
            what,
            offset,
            need,
            got,
        }
    }
}

/// Cryptographic failures (never a panic; remote input that fails here becomes a counted drop).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The integrity check value / AEAD tag did not verify.
    #[error("integrity check failed")]
    IntegrityCheckFailed,
    /// Ciphertext length is not a multiple of the block size, or too short for IV and ICV.
    #[error("bad ciphertext length {0}")]
    BadLength(usize),
    /// Padding is inconsistent (pad length larger than the plaintext, or bytes not 1, 2, 3...).
    #[error("bad padding")]
    BadPadding,
    /// The peer's Diffie-Hellman public value is invalid (wrong length, not on the curve, 0, 1
    /// or p-1).
    #[error("invalid Diffie-Hellman public value for group {0}")]
    BadPublicValue(u16),
    /// An algorithm or key length this crate does not implement.
    #[error("unsupported algorithm {what} {id}")]
    Unsupported {
        /// Which transform.
        what: &'static str,
        /// Its ID (or key length).
        id: u16,
    },
    /// A key of the wrong length.
    #[error("bad key length {0}")]
    BadKeyLength(usize),
    /// A signature did not verify, or a key/certificate could not be used.
    #[error("signature: {0}")]
    Signature(String),
}

/// Configuration validation / parsing error naming the field.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field has an invalid value.
    #[error("{field}: {reason}")]
    Invalid {
        /// RouterOS property name.
        field: &'static str,
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

/// Errors returned to the caller of the API (never caused by remote input: remote misbehaviour
/// becomes a counted [`DropReason`](crate::DropReason) or an [`Event`](crate::Event)).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Configuration rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Wire encoding problem on the caller's side (e.g. a buffer too small).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// Crypto failure on the caller's side (unsupported algorithm in a config).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// No such SA / peer / connection.
    #[error("unknown {0}")]
    Unknown(&'static str),
    /// The operation needs a state the SA is not in.
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
}
