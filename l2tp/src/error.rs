//! The crate's error type.

use thiserror::Error;

/// Every error the `l2tp` crate returns.
///
/// Wire errors name the field and the byte offset so that conformance testers can tell why a
/// packet was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a field could be read.
    #[error("truncated {field}: need {need} bytes at offset {offset}, have {have}")]
    Truncated {
        /// Name of the field being read.
        field: &'static str,
        /// Offset where the field starts.
        offset: usize,
        /// Bytes needed from `offset`.
        need: usize,
        /// Bytes available from `offset`.
        have: usize,
    },
    /// The header's Ver field is not the expected one.
    #[error("unsupported L2TP version {found} (expected {expected})")]
    Version {
        /// Version found in the header.
        found: u8,
        /// Version the parser handles.
        expected: u8,
    },
    /// A header flag combination the RFC forbids (e.g. a control message without L or S).
    #[error("invalid header flags {flags:#06x}: {reason}")]
    Flags {
        /// The raw 16-bit flags/version word.
        flags: u16,
        /// What is wrong.
        reason: &'static str,
    },
    /// A length field disagrees with the data.
    #[error("bad {field} {value} at offset {offset}")]
    Length {
        /// Field name.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
        /// The value found.
        value: usize,
    },
    /// An AVP header is malformed.
    #[error("malformed AVP at offset {offset}: {reason}")]
    Avp {
        /// Offset of the AVP within the AVP list.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An AVP value has the wrong size or content for its attribute type.
    #[error("bad value of AVP {attr} ({name}): {reason}")]
    AvpValue {
        /// Attribute type.
        attr: u16,
        /// Attribute name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A control message lacks the AVP it must carry.
    #[error("{message} lacks mandatory AVP {attr} ({name})")]
    MissingAvp {
        /// The message type name.
        message: &'static str,
        /// Missing attribute type.
        attr: u16,
        /// Missing attribute name.
        name: &'static str,
    },
    /// A hidden AVP cannot be revealed (no secret, no Random Vector or bad padding).
    #[error("cannot unhide AVP {attr}: {reason}")]
    Hidden {
        /// Attribute type.
        attr: u16,
        /// Why.
        reason: &'static str,
    },
    /// The Message Digest AVP of an L2TPv3 control message does not verify.
    #[error("message digest mismatch")]
    Digest,
    /// A data packet's cookie does not match the expected one.
    #[error("cookie mismatch")]
    Cookie,
    /// The caller's output buffer is too small. Nothing was written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes provided.
        have: usize,
    },
    /// A configuration value is invalid.
    #[error("invalid config field `{field}`: {reason}")]
    Config {
        /// RouterOS property name of the field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The referenced session does not exist.
    #[error("no such session {0}")]
    NoSession(u16),
    /// The operation is not possible in the current state.
    #[error("invalid state for {0}")]
    State(&'static str),
    /// The server's admission policy refused the datagram or request.
    #[error("rejected by policy: {0}")]
    Rejected(&'static str),
    /// The carried PPP session reported an error.
    #[error("ppp: {0}")]
    Ppp(String),
    /// A table bounded by configuration is full.
    #[error("{0} table full")]
    Full(&'static str),
    /// A request from a stranger was dropped by flood protection (counted, nothing sent).
    #[error("dropped: {0:?}")]
    Dropped(crate::event::DropReason),
}

/// Shorthand for `Result<T, l2tp::Error>`.
pub type Result<T> = core::result::Result<T, Error>;

/// Check that `buf[offset..offset+need]` exists.
pub(crate) fn need(buf: &[u8], offset: usize, need: usize, field: &'static str) -> Result<()> {
    let have = buf.len().saturating_sub(offset);
    if have < need {
        return Err(Error::Truncated {
            field,
            offset,
            need,
            have,
        });
    }
    Ok(())
}

/// Read a big-endian u16 at `offset`.
pub(crate) fn be16(buf: &[u8], offset: usize, field: &'static str) -> Result<u16> {
    need(buf, offset, 2, field)?;
    match (buf.get(offset), buf.get(offset + 1)) {
        (Some(a), Some(b)) => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(Error::Truncated {
            field,
            offset,
            need: 2,
            have: 0,
        }),
    }
}

/// Read a big-endian u32 at `offset`.
pub(crate) fn be32(buf: &[u8], offset: usize, field: &'static str) -> Result<u32> {
    need(buf, offset, 4, field)?;
    let s = buf.get(offset..offset + 4).ok_or(Error::Truncated {
        field,
        offset,
        need: 4,
        have: 0,
    })?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
