//! Error types.

use thiserror::Error;

/// Codec errors: what was wrong, and where.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Input ended inside a field.
    #[error("truncated {field} at offset {offset}: need {need} bytes, have {have}")]
    Truncated {
        /// Field name.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
        /// Bytes the field needs.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// Opcode unknown or key-method-1 (1, 2).
    #[error("unknown or unsupported opcode {opcode}")]
    UnknownOpcode {
        /// The opcode value.
        opcode: u8,
    },
    /// Opcode valid but not expected here.
    #[error("opcode {opcode} where {expected} was expected")]
    UnexpectedOpcode {
        /// The opcode value.
        opcode: u8,
        /// What was expected.
        expected: &'static str,
    },
    /// Ack array longer than OpenVPN allows.
    #[error("ack count {count} exceeds {max}")]
    TooManyAcks {
        /// Count on the wire.
        count: u8,
        /// Maximum.
        max: u8,
    },
    /// Bytes after a message that must end.
    #[error("{count} trailing bytes at offset {offset}")]
    TrailingBytes {
        /// Offset.
        offset: usize,
        /// Number of bytes.
        count: usize,
    },
    /// A field that must be present for emit is missing.
    #[error("missing field {field}")]
    MissingField {
        /// Field name.
        field: &'static str,
    },
    /// A length exceeds a limit.
    #[error("{field} length {len} exceeds {max}")]
    TooLong {
        /// Field name.
        field: &'static str,
        /// Length found.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// Output buffer too small; nothing useful was written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// Text field is not valid (UTF-8 or NUL terminator).
    #[error("invalid string in {field}")]
    InvalidString {
        /// Field name.
        field: &'static str,
    },
    /// A value is not allowed.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
}

/// Cryptographic / protection errors.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// Packet malformed for its protection mode.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// HMAC or AEAD tag mismatch.
    #[error("authentication failed ({what})")]
    BadAuth {
        /// Which check failed.
        what: &'static str,
    },
    /// Packet id already seen or too old.
    #[error("replayed or too old packet id {packet_id}")]
    Replay {
        /// The packet id.
        packet_id: u32,
    },
    /// The AEAD backend failed to seal (encrypt) a packet: a backend or provider error,
    /// never the peer's doing (distinct from [`CryptoError::BadAuth`], a bad tag on open).
    #[error("AEAD seal failed in the {backend} backend")]
    AeadSeal {
        /// Which backend: "ring", "RustCrypto" or "provider".
        backend: &'static str,
    },
    /// An [`crate::data::AeadProvider`] was configured but declined this cipher, and the
    /// silent fall-back to the built-in code was not allowed
    /// (`SessionConfig::aead_fallback`).
    #[error("the AEAD provider declined {cipher}")]
    ProviderDeclined {
        /// The cipher's OpenVPN name.
        cipher: &'static str,
    },
    /// Sending packet id would wrap: rekey needed.
    #[error("packet id space exhausted, renegotiate")]
    PacketIdExhausted,
    /// Key material malformed.
    #[error("bad key: {reason}")]
    BadKey {
        /// Why.
        reason: &'static str,
    },
    /// CBC padding invalid.
    #[error("bad padding")]
    BadPadding,
    /// Output buffer too small; untouched.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The compression framing byte of a decrypted payload is wrong or says compressed.
    #[error("compression framing byte {byte:#04x}: {reason}")]
    BadCompression {
        /// The first payload byte.
        byte: u8,
        /// Why the packet was refused.
        reason: &'static str,
    },
}

/// Configuration errors, naming the field (RouterOS property or .ovpn directive).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Field value invalid.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Field (RouterOS property name).
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// .ovpn file errors with the 1-based line number.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct OvpnFileError {
    /// 1-based line.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// Top-level crate error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Codec error.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// Crypto error.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Config error.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// TLS engine error.
    #[error("tls: {0}")]
    Tls(String),
    /// A tunnel packet larger than the tunnel MTU (RouterOS `max-mtu`, `tun-mtu`).
    #[error("packet of {len} bytes exceeds the tunnel MTU {mtu}")]
    PacketTooBig {
        /// The payload length.
        len: usize,
        /// The largest payload allowed (MTU, plus 14 for the Ethernet header in tap mode).
        mtu: usize,
    },
    /// Operation invalid in the current state.
    #[error("invalid state: {0}")]
    State(&'static str),
}
