//! SSTP attributes (MS-SSTP 2.2.4-2.2.8).
//!
//! ```text
//! +---------------+---------------+-------+-----------------------+
//! |  Reserved     | Attribute ID  |   R   | Length (12 bits)      |   Length counts the
//! +---------------+---------------+-------+-----------------------+   4-byte header too
//! |  Value ...                                                    |
//! ```
//!
//! | id | attribute | value bytes |
//! |---|---|---|
//! | 1 | Encapsulated Protocol ID | 2 (0x0001 = PPP) |
//! | 2 | Status Info | 8 + up to 64 (3 reserved, AttribID, Status, the offending value) |
//! | 3 | Crypto Binding | 100 (3 reserved, Hash Protocol, Nonce 32, Cert Hash 32, Compound MAC 32) |
//! | 4 | Crypto Binding Request | 36 (3 reserved, Hash Protocol Bitmask, Nonce 32) |

use super::WireError;

/// Attribute IDs (MS-SSTP 2.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeId {
    /// 0: SSTP_ATTRIB_NO_ERROR (only as the AttribID of a Status Info).
    NoError,
    /// 1: SSTP_ATTRIB_ENCAPSULATED_PROTOCOL_ID.
    EncapsulatedProtocolId,
    /// 2: SSTP_ATTRIB_STATUS_INFO.
    StatusInfo,
    /// 3: SSTP_ATTRIB_CRYPTO_BINDING.
    CryptoBinding,
    /// 4: SSTP_ATTRIB_CRYPTO_BINDING_REQ.
    CryptoBindingRequest,
    /// Any other value.
    Other(u8),
}

impl AttributeId {
    /// From the wire value.
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::NoError,
            1 => Self::EncapsulatedProtocolId,
            2 => Self::StatusInfo,
            3 => Self::CryptoBinding,
            4 => Self::CryptoBindingRequest,
            o => Self::Other(o),
        }
    }
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::NoError => 0,
            Self::EncapsulatedProtocolId => 1,
            Self::StatusInfo => 2,
            Self::CryptoBinding => 3,
            Self::CryptoBindingRequest => 4,
            Self::Other(o) => o,
        }
    }
}

/// Status values of a Status Info attribute (MS-SSTP 2.2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 0x00 ATTRIB_STATUS_NO_ERROR.
    NoError,
    /// 0x01 ATTRIB_STATUS_DUPLICATE_ATTRIBUTE.
    DuplicateAttribute,
    /// 0x02 ATTRIB_STATUS_UNRECOGNIZED_ATTRIBUTE.
    UnrecognizedAttribute,
    /// 0x03 ATTRIB_STATUS_INVALID_ATTRIB_VALUE_LENGTH.
    InvalidAttribValueLength,
    /// 0x04 ATTRIB_STATUS_VALUE_NOT_SUPPORTED.
    ValueNotSupported,
    /// 0x05 ATTRIB_STATUS_UNACCEPTED_FRAME_RECEIVED.
    UnacceptedFrameReceived,
    /// 0x06 ATTRIB_STATUS_RETRY_COUNT_EXCEEDED.
    RetryCountExceeded,
    /// 0x07 ATTRIB_STATUS_INVALID_FRAME_RECEIVED.
    InvalidFrameReceived,
    /// 0x08 ATTRIB_STATUS_NEGOTIATION_TIMEOUT.
    NegotiationTimeout,
    /// 0x09 ATTRIB_STATUS_ATTRIB_NOT_SUPPORTED_IN_MSG.
    AttribNotSupportedInMsg,
    /// 0x0A ATTRIB_STATUS_REQUIRED_ATTRIBUTE_MISSING.
    RequiredAttributeMissing,
    /// 0x0B ATTRIB_STATUS_STATUS_INFO_NOT_SUPPORTED_IN_MSG.
    StatusInfoNotSupportedInMsg,
    /// Any other value.
    Other(u32),
}

impl Status {
    /// From the wire value.
    pub fn from_u32(v: u32) -> Self {
        match v {
            0 => Self::NoError,
            1 => Self::DuplicateAttribute,
            2 => Self::UnrecognizedAttribute,
            3 => Self::InvalidAttribValueLength,
            4 => Self::ValueNotSupported,
            5 => Self::UnacceptedFrameReceived,
            6 => Self::RetryCountExceeded,
            7 => Self::InvalidFrameReceived,
            8 => Self::NegotiationTimeout,
            9 => Self::AttribNotSupportedInMsg,
            10 => Self::RequiredAttributeMissing,
            11 => Self::StatusInfoNotSupportedInMsg,
            o => Self::Other(o),
        }
    }
    /// The wire value.
    pub fn to_u32(self) -> u32 {
        match self {
            Self::NoError => 0,
            Self::DuplicateAttribute => 1,
            Self::UnrecognizedAttribute => 2,
            Self::InvalidAttribValueLength => 3,
            Self::ValueNotSupported => 4,
            Self::UnacceptedFrameReceived => 5,
            Self::RetryCountExceeded => 6,
            Self::InvalidFrameReceived => 7,
            Self::NegotiationTimeout => 8,
            Self::AttribNotSupportedInMsg => 9,
            Self::RequiredAttributeMissing => 10,
            Self::StatusInfoNotSupportedInMsg => 11,
            Self::Other(o) => o,
        }
    }
}

/// Hash protocol of crypto binding (MS-SSTP 2.2.6/2.2.7): one value in Crypto Binding, a
/// bitmask of them in Crypto Binding Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashProtocol {
    /// 0x01 CERT_HASH_PROTOCOL_SHA1: SHA-1 certificate hash and HMAC-SHA1 Compound MAC.
    Sha1,
    /// 0x02 CERT_HASH_PROTOCOL_SHA256: SHA-256 certificate hash and HMAC-SHA256.
    Sha256,
}

impl HashProtocol {
    /// Bit in the bitmask / value in the attribute.
    pub fn bit(self) -> u8 {
        match self {
            Self::Sha1 => 0x01,
            Self::Sha256 => 0x02,
        }
    }
    /// From the single value of a Crypto Binding attribute.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0x01 => Some(Self::Sha1),
            0x02 => Some(Self::Sha256),
            _ => None,
        }
    }
    /// Digest length (20 or 32).
    pub fn len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
    /// Never empty.
    pub fn is_empty(self) -> bool {
        false
    }
}

/// Status Info (MS-SSTP 2.2.8): which attribute a NAK/abort/disconnect is about and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusInfo {
    /// Reserved octets (zero when sent; kept on receipt).
    pub reserved: [u8; 3],
    /// The attribute the status is about (`NoError` for none).
    pub attrib_id: AttributeId,
    /// The status.
    pub status: Status,
    /// The offending attribute's value (at most 64 bytes).
    pub value: Vec<u8>,
}

impl StatusInfo {
    /// A status about `attrib_id` with no value.
    pub fn new(attrib_id: AttributeId, status: Status) -> Self {
        StatusInfo {
            reserved: [0; 3],
            attrib_id,
            status,
            value: Vec::new(),
        }
    }
}

/// Crypto Binding Request (MS-SSTP 2.2.6), sent by the server in Call Connect Ack.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CryptoBindingRequest {
    /// Reserved octets.
    pub reserved: [u8; 3],
    /// Hash Protocol Bitmask: 0x01 SHA-1, 0x02 SHA-256.
    pub bitmask: u8,
    /// The server's nonce.
    pub nonce: [u8; 32],
}

/// Crypto Binding (MS-SSTP 2.2.7), sent by the client in Call Connected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CryptoBinding {
    /// Reserved octets.
    pub reserved: [u8; 3],
    /// Hash Protocol (raw; see [`HashProtocol::from_u8`]).
    pub hash_protocol: u8,
    /// The server's nonce, echoed.
    pub nonce: [u8; 32],
    /// Hash of the server certificate (SHA-1: 20 bytes, zero padded).
    pub cert_hash: [u8; 32],
    /// HMAC over the Call Connected message with this field zeroed (SHA-1: zero padded).
    pub compound_mac: [u8; 32],
}

/// One attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// Encapsulated Protocol ID (2.2.5).
    EncapsulatedProtocolId {
        /// Reserved octet before the ID.
        reserved: u8,
        /// The protocol (1 = PPP).
        protocol: u16,
    },
    /// Status Info (2.2.8).
    StatusInfo(StatusInfo),
    /// Crypto Binding (2.2.7).
    CryptoBinding(Box<CryptoBinding>),
    /// Crypto Binding Request (2.2.6).
    CryptoBindingRequest(Box<CryptoBindingRequest>),
    /// An attribute this implementation does not know (kept as is).
    Unknown {
        /// Reserved octet before the ID.
        reserved: u8,
        /// The ID.
        id: u8,
        /// The value.
        value: Vec<u8>,
    },
}

/// Value length of Crypto Binding.
pub const CRYPTO_BINDING_VALUE_LEN: usize = 100;
/// Value length of Crypto Binding Request.
pub const CRYPTO_BINDING_REQUEST_VALUE_LEN: usize = 36;
/// Largest AttribValue in a Status Info.
pub const MAX_STATUS_VALUE: usize = 64;

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let n = b.len().min(N);
    a[..n].copy_from_slice(&b[..n]);
    a
}

impl Attribute {
    /// The attribute's ID.
    pub fn id(&self) -> AttributeId {
        match self {
            Self::EncapsulatedProtocolId { .. } => AttributeId::EncapsulatedProtocolId,
            Self::StatusInfo(_) => AttributeId::StatusInfo,
            Self::CryptoBinding(_) => AttributeId::CryptoBinding,
            Self::CryptoBindingRequest(_) => AttributeId::CryptoBindingRequest,
            Self::Unknown { id, .. } => AttributeId::from_u8(*id),
        }
    }

    /// Encapsulated Protocol ID = PPP.
    pub fn ppp() -> Self {
        Self::EncapsulatedProtocolId {
            reserved: 0,
            protocol: super::PROTOCOL_PPP,
        }
    }

    fn value_len(&self) -> usize {
        match self {
            Self::EncapsulatedProtocolId { .. } => 2,
            Self::StatusInfo(s) => 8 + s.value.len(),
            Self::CryptoBinding(_) => CRYPTO_BINDING_VALUE_LEN,
            Self::CryptoBindingRequest(_) => CRYPTO_BINDING_REQUEST_VALUE_LEN,
            Self::Unknown { value, .. } => value.len(),
        }
    }

    /// Bytes on the wire, header included.
    pub fn buffer_len(&self) -> usize {
        4 + self.value_len()
    }

    /// Parse one attribute at the front of `b` (`offset`: its position in the packet, for
    /// errors). Returns the attribute and its length.
    pub fn parse(b: &[u8], offset: usize) -> Result<(Self, usize), WireError> {
        let h = b.get(..4).ok_or(WireError::Truncated {
            what: "attribute header",
            need: 4,
            have: b.len(),
        })?;
        let reserved = h[0];
        let id = h[1];
        let len = u16::from_be_bytes([h[2], h[3]]) & 0x0fff;
        let n = usize::from(len);
        if n < 4 || n > b.len() {
            return Err(WireError::AttributeLength {
                offset,
                len,
                left: b.len(),
            });
        }
        // MS-SSTP 2.2.4: the Reserved octet and the reserved nibble of the length word are
        // zero when sent and ignored on receipt. They are kept for Encapsulated Protocol ID and
        // unknown attributes; elsewhere they re-emit as zero (such input is not canonical).
        let v = &b[4..n];
        let aid = AttributeId::from_u8(id);
        let bad = |expected| WireError::AttributeValue {
            id: aid,
            len: v.len(),
            expected,
        };
        let a = match aid {
            AttributeId::EncapsulatedProtocolId => {
                if v.len() != 2 {
                    return Err(bad("2"));
                }
                Self::EncapsulatedProtocolId {
                    reserved,
                    protocol: u16::from_be_bytes([v[0], v[1]]),
                }
            }
            AttributeId::StatusInfo => {
                if v.len() < 8 || v.len() > 8 + MAX_STATUS_VALUE {
                    return Err(bad("8 to 72"));
                }
                Self::StatusInfo(StatusInfo {
                    reserved: arr(&v[..3]),
                    attrib_id: AttributeId::from_u8(v[3]),
                    status: Status::from_u32(u32::from_be_bytes([v[4], v[5], v[6], v[7]])),
                    value: v[8..].to_vec(),
                })
            }
            AttributeId::CryptoBinding => {
                if v.len() != CRYPTO_BINDING_VALUE_LEN {
                    return Err(bad("100"));
                }
                Self::CryptoBinding(Box::new(CryptoBinding {
                    reserved: arr(&v[..3]),
                    hash_protocol: v[3],
                    nonce: arr(&v[4..36]),
                    cert_hash: arr(&v[36..68]),
                    compound_mac: arr(&v[68..100]),
                }))
            }
            AttributeId::CryptoBindingRequest => {
                if v.len() != CRYPTO_BINDING_REQUEST_VALUE_LEN {
                    return Err(bad("36"));
                }
                Self::CryptoBindingRequest(Box::new(CryptoBindingRequest {
                    reserved: arr(&v[..3]),
                    bitmask: v[3],
                    nonce: arr(&v[4..36]),
                }))
            }
            _ => Self::Unknown {
                reserved,
                id,
                value: v.to_vec(),
            },
        };
        Ok((a, n))
    }

    /// Append the attribute to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let (reserved, id) = match self {
            Self::EncapsulatedProtocolId { reserved, .. } => (*reserved, 1),
            Self::Unknown { reserved, id, .. } => (*reserved, *id),
            other => (0, other.id().to_u8()),
        };
        let len = self.buffer_len() as u16 & 0x0fff;
        out.push(reserved);
        out.push(id);
        out.extend_from_slice(&len.to_be_bytes());
        match self {
            Self::EncapsulatedProtocolId { protocol, .. } => {
                out.extend_from_slice(&protocol.to_be_bytes())
            }
            Self::StatusInfo(s) => {
                out.extend_from_slice(&s.reserved);
                out.push(s.attrib_id.to_u8());
                out.extend_from_slice(&s.status.to_u32().to_be_bytes());
                out.extend_from_slice(&s.value);
            }
            Self::CryptoBinding(c) => {
                out.extend_from_slice(&c.reserved);
                out.push(c.hash_protocol);
                out.extend_from_slice(&c.nonce);
                out.extend_from_slice(&c.cert_hash);
                out.extend_from_slice(&c.compound_mac);
            }
            Self::CryptoBindingRequest(c) => {
                out.extend_from_slice(&c.reserved);
                out.push(c.bitmask);
                out.extend_from_slice(&c.nonce);
            }
            Self::Unknown { value, .. } => out.extend_from_slice(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encapsulated_protocol() {
        let b = [0x00, 0x01, 0x00, 0x06, 0x00, 0x01];
        let (a, n) = Attribute::parse(&b, 8).unwrap();
        assert_eq!(n, 6);
        assert_eq!(a, Attribute::ppp());
        let mut o = Vec::new();
        a.emit(&mut o);
        assert_eq!(o, b);
        assert!(matches!(
            Attribute::parse(&[0x00, 0x01, 0x00, 0x07, 0x00, 0x01, 0x00], 8),
            Err(WireError::AttributeValue {
                id: AttributeId::EncapsulatedProtocolId,
                len: 3,
                ..
            })
        ));
        assert!(matches!(
            Attribute::parse(&[0x00, 0x01, 0x00, 0x03], 8),
            Err(WireError::AttributeLength {
                offset: 8,
                len: 3,
                ..
            })
        ));
    }

    #[test]
    fn status_info_round_trip() {
        let mut s = StatusInfo::new(AttributeId::CryptoBinding, Status::InvalidFrameReceived);
        s.value = vec![1, 2, 3];
        let a = Attribute::StatusInfo(s);
        let mut o = Vec::new();
        a.emit(&mut o);
        assert_eq!(o, [0, 2, 0, 15, 0, 0, 0, 3, 0, 0, 0, 7, 1, 2, 3].to_vec());
        assert_eq!(Attribute::parse(&o, 0).unwrap(), (a, 15));
    }
}
