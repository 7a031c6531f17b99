//! The RADIUS packet codec (RFC 2865 s3 and s5, RFC 2866, RFC 5176 codes).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Code      |  Identifier   |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Authenticator (16)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Type  |  Length  |  Value ...   (attributes, to Length)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-
//! ```
//!
//! Length counts the whole packet, 20 ..= 4096 octets (RFC 2865 s3); octets received beyond
//! Length are padding and ignored. An attribute's Length counts its two header octets, so a
//! value holds 0 ..= 253 octets. Vendor-Specific (26) carries a 4-octet vendor id and, for
//! the vendors that follow the RFC 2865 s5.26 suggestion (Microsoft, 311, does), sub-attributes
//! with the same type/length shape.
//!
//! [`Packet::parse`] never panics and never reads past its input; [`Packet::emit`] writes the
//! parsed packet back byte for byte (`emit(parse(b)) == b` for every packet without padding).
//! Unknown attributes and vendor attributes are kept raw in order.

use std::net::Ipv4Addr;
use std::time::Duration;

/// Header length: code, identifier, length, authenticator.
pub const HEADER_LEN: usize = 20;
/// Largest packet (RFC 2865 s3).
pub const MAX_PACKET_LEN: usize = 4096;
/// Largest attribute value (255 minus the type and length octets).
pub const MAX_ATTR_VALUE: usize = 253;

/// Attribute types used by this crate (RFC 2865 s5, RFC 2866 s5, RFC 2869, RFC 3579,
/// RFC 5176).
pub mod attr {
    #![allow(missing_docs)]
    pub const USER_NAME: u8 = 1;
    pub const USER_PASSWORD: u8 = 2;
    pub const CHAP_PASSWORD: u8 = 3;
    pub const NAS_IP_ADDRESS: u8 = 4;
    pub const NAS_PORT: u8 = 5;
    pub const SERVICE_TYPE: u8 = 6;
    pub const FRAMED_PROTOCOL: u8 = 7;
    pub const FRAMED_IP_ADDRESS: u8 = 8;
    pub const FRAMED_IP_NETMASK: u8 = 9;
    pub const FRAMED_MTU: u8 = 12;
    pub const REPLY_MESSAGE: u8 = 18;
    pub const STATE: u8 = 24;
    pub const CLASS: u8 = 25;
    pub const VENDOR_SPECIFIC: u8 = 26;
    pub const SESSION_TIMEOUT: u8 = 27;
    pub const IDLE_TIMEOUT: u8 = 28;
    pub const CALLED_STATION_ID: u8 = 30;
    pub const CALLING_STATION_ID: u8 = 31;
    pub const NAS_IDENTIFIER: u8 = 32;
    pub const PROXY_STATE: u8 = 33;
    pub const ACCT_STATUS_TYPE: u8 = 40;
    pub const ACCT_DELAY_TIME: u8 = 41;
    pub const ACCT_INPUT_OCTETS: u8 = 42;
    pub const ACCT_OUTPUT_OCTETS: u8 = 43;
    pub const ACCT_SESSION_ID: u8 = 44;
    pub const ACCT_AUTHENTIC: u8 = 45;
    pub const ACCT_SESSION_TIME: u8 = 46;
    pub const ACCT_INPUT_PACKETS: u8 = 47;
    pub const ACCT_OUTPUT_PACKETS: u8 = 48;
    pub const ACCT_TERMINATE_CAUSE: u8 = 49;
    pub const ACCT_INPUT_GIGAWORDS: u8 = 52;
    pub const ACCT_OUTPUT_GIGAWORDS: u8 = 53;
    pub const EVENT_TIMESTAMP: u8 = 55;
    pub const CHAP_CHALLENGE: u8 = 60;
    /// RFC 2868 s3.1 (tagged integer).
    pub const TUNNEL_TYPE: u8 = 64;
    /// RFC 2868 s3.2 (tagged integer).
    pub const TUNNEL_MEDIUM_TYPE: u8 = 65;
    /// RFC 2868 s3.3 (optionally tagged string).
    pub const TUNNEL_CLIENT_ENDPOINT: u8 = 66;
    /// RFC 2868 s3.4 (optionally tagged string).
    pub const TUNNEL_SERVER_ENDPOINT: u8 = 67;
    /// RFC 2868 s3.5 (tag, salt, encrypted string).
    pub const TUNNEL_PASSWORD: u8 = 69;
    /// RFC 2868 s3.7 (optionally tagged string).
    pub const TUNNEL_ASSIGNMENT_ID: u8 = 82;
    /// RFC 2868 s3.8 (tagged 24-bit integer).
    pub const TUNNEL_PREFERENCE: u8 = 83;
    /// RFC 2868 s3.9 (optionally tagged string).
    pub const TUNNEL_CLIENT_AUTH_ID: u8 = 90;
    /// RFC 2868 s3.10 (optionally tagged string).
    pub const TUNNEL_SERVER_AUTH_ID: u8 = 91;
    pub const NAS_PORT_TYPE: u8 = 61;
    pub const EAP_MESSAGE: u8 = 79;
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
    pub const ACCT_INTERIM_INTERVAL: u8 = 85;
    pub const NAS_PORT_ID: u8 = 87;
    pub const FRAMED_POOL: u8 = 88;
    pub const ERROR_CAUSE: u8 = 101;
}

/// Microsoft's vendor id and vendor attribute types (RFC 2548).
pub mod ms {
    #![allow(missing_docs)]
    pub const VENDOR_ID: u32 = 311;
    pub const CHAP_RESPONSE: u8 = 1;
    pub const CHAP_ERROR: u8 = 2;
    pub const MPPE_ENCRYPTION_POLICY: u8 = 7;
    pub const MPPE_ENCRYPTION_TYPES: u8 = 8;
    pub const CHAP_DOMAIN: u8 = 10;
    pub const CHAP_CHALLENGE: u8 = 11;
    pub const MPPE_SEND_KEY: u8 = 16;
    pub const MPPE_RECV_KEY: u8 = 17;
    pub const CHAP2_RESPONSE: u8 = 25;
    pub const CHAP2_SUCCESS: u8 = 26;
}

/// The packet's Code (RFC 2865 s3, RFC 2866 s3, RFC 5176 s2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 1
    AccessRequest,
    /// 2
    AccessAccept,
    /// 3
    AccessReject,
    /// 4
    AccountingRequest,
    /// 5
    AccountingResponse,
    /// 11
    AccessChallenge,
    /// 12
    StatusServer,
    /// 40
    DisconnectRequest,
    /// 41
    DisconnectAck,
    /// 42
    DisconnectNak,
    /// 43
    CoaRequest,
    /// 44
    CoaAck,
    /// 45
    CoaNak,
    /// Any other code, kept as is.
    Other(u8),
}

impl Code {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Code::AccessRequest => 1,
            Code::AccessAccept => 2,
            Code::AccessReject => 3,
            Code::AccountingRequest => 4,
            Code::AccountingResponse => 5,
            Code::AccessChallenge => 11,
            Code::StatusServer => 12,
            Code::DisconnectRequest => 40,
            Code::DisconnectAck => 41,
            Code::DisconnectNak => 42,
            Code::CoaRequest => 43,
            Code::CoaAck => 44,
            Code::CoaNak => 45,
            Code::Other(c) => c,
        }
    }

    /// From the wire value (every value maps; unknown ones to [`Code::Other`]).
    pub fn from_u8(v: u8) -> Code {
        match v {
            1 => Code::AccessRequest,
            2 => Code::AccessAccept,
            3 => Code::AccessReject,
            4 => Code::AccountingRequest,
            5 => Code::AccountingResponse,
            11 => Code::AccessChallenge,
            12 => Code::StatusServer,
            40 => Code::DisconnectRequest,
            41 => Code::DisconnectAck,
            42 => Code::DisconnectNak,
            43 => Code::CoaRequest,
            44 => Code::CoaAck,
            45 => Code::CoaNak,
            c => Code::Other(c),
        }
    }

    /// A request whose authenticator is an MD5 over the packet (Accounting-Request,
    /// Disconnect-Request, CoA-Request: RFC 2866 s3, RFC 5176 s2.3) rather than random.
    pub fn has_computed_request_authenticator(self) -> bool {
        matches!(
            self,
            Code::AccountingRequest | Code::DisconnectRequest | Code::CoaRequest
        )
    }
}

/// Why bytes are not a RADIUS packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer than 20 octets.
    #[error("packet of {len} octets is shorter than the 20-octet header")]
    Short {
        /// Octets available.
        len: usize,
    },
    /// The Length field is below 20 or above 4096.
    #[error("length field {length} outside 20..=4096")]
    BadLength {
        /// The Length field.
        length: usize,
    },
    /// More than 4096 octets arrived (RFC 2865 s3 maximum).
    #[error("datagram of {len} octets exceeds the 4096-octet maximum")]
    Oversized {
        /// Octets available.
        len: usize,
    },
    /// The Length field claims more octets than arrived.
    #[error("length field {length} exceeds the {available} octets received")]
    Truncated {
        /// The Length field.
        length: usize,
        /// Octets received.
        available: usize,
    },
    /// An attribute's header or value runs past the packet's Length.
    #[error("attribute at offset {offset} is truncated")]
    AttributeTruncated {
        /// Offset of the attribute in the packet.
        offset: usize,
    },
    /// An attribute's Length field is below 2.
    #[error("attribute at offset {offset} has length {length} (< 2)")]
    AttributeLength {
        /// Offset of the attribute in the packet.
        offset: usize,
        /// Its Length field.
        length: u8,
    },
}

/// Building a packet failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An attribute value longer than 253 octets.
    #[error("attribute {typ} value of {len} octets exceeds 253")]
    AttributeTooLong {
        /// Attribute type.
        typ: u8,
        /// Value length.
        len: usize,
    },
    /// The packet would exceed 4096 octets.
    #[error("packet of {len} octets exceeds 4096")]
    PacketTooLong {
        /// Length it would have.
        len: usize,
    },
    /// A User-Password longer than 128 octets (RFC 2865 s5.2).
    #[error("password of {len} octets exceeds 128")]
    PasswordTooLong {
        /// Its length.
        len: usize,
    },
    /// The buffer given to `emit` is too small.
    #[error("buffer of {have} octets, {need} needed")]
    BufferTooSmall {
        /// Octets needed.
        need: usize,
        /// Octets given.
        have: usize,
    },
}

/// One attribute, value raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// Type.
    pub typ: u8,
    /// Value (0 ..= 253 octets).
    pub value: Vec<u8>,
}

impl Attribute {
    /// An attribute (the length is checked when the packet is emitted).
    pub fn new(typ: u8, value: impl Into<Vec<u8>>) -> Self {
        Attribute {
            typ,
            value: value.into(),
        }
    }

    /// A 32-bit integer attribute (RFC 2865 s5 "integer").
    pub fn u32(typ: u8, v: u32) -> Self {
        Attribute::new(typ, v.to_be_bytes())
    }

    /// An IPv4 address attribute.
    pub fn ipv4(typ: u8, a: Ipv4Addr) -> Self {
        Attribute::new(typ, a.octets())
    }

    /// A Vendor-Specific attribute carrying one vendor sub-attribute (RFC 2865 s5.26 layout).
    pub fn vendor(vendor_id: u32, vendor_type: u8, data: &[u8]) -> Self {
        let mut v = Vec::with_capacity(6 + data.len());
        v.extend_from_slice(&vendor_id.to_be_bytes());
        v.push(vendor_type);
        v.push((data.len() + 2).min(255) as u8);
        v.extend_from_slice(data);
        Attribute::new(attr::VENDOR_SPECIFIC, v)
    }

    /// The value as a 32-bit integer, if it is 4 octets.
    pub fn as_u32(&self) -> Option<u32> {
        <[u8; 4]>::try_from(self.value.as_slice())
            .ok()
            .map(u32::from_be_bytes)
    }

    /// The value as an IPv4 address, if it is 4 octets.
    pub fn as_ipv4(&self) -> Option<Ipv4Addr> {
        <[u8; 4]>::try_from(self.value.as_slice())
            .ok()
            .map(Ipv4Addr::from)
    }

    /// A Vendor-Specific attribute's vendor id and the rest of its value.
    pub fn as_vendor(&self) -> Option<(u32, &[u8])> {
        if self.typ != attr::VENDOR_SPECIFIC || self.value.len() < 4 {
            return None;
        }
        let id = u32::from_be_bytes([self.value[0], self.value[1], self.value[2], self.value[3]]);
        Some((id, &self.value[4..]))
    }
}

/// One vendor sub-attribute (RFC 2865 s5.26 suggested format).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VendorAttribute {
    /// Vendor id (SMI network management private enterprise code).
    pub vendor_id: u32,
    /// Vendor-Type.
    pub vendor_type: u8,
    /// Value.
    pub value: Vec<u8>,
}

/// Split a vendor attribute's data (after the vendor id) into sub-attributes; `None` when it
/// does not follow the suggested format.
pub fn vendor_sub_attributes(vendor_id: u32, mut data: &[u8]) -> Option<Vec<VendorAttribute>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 2 {
            return None;
        }
        let len = data[1] as usize;
        if len < 2 || len > data.len() {
            return None;
        }
        out.push(VendorAttribute {
            vendor_id,
            vendor_type: data[0],
            value: data[2..len].to_vec(),
        });
        data = &data[len..];
    }
    Some(out)
}

/// A RADIUS packet: header and attributes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Code.
    pub code: Code,
    /// Identifier (matches a reply to its request).
    pub id: u8,
    /// Request or Response Authenticator.
    pub authenticator: [u8; 16],
    /// Attributes in wire order.
    pub attributes: Vec<Attribute>,
}

impl Packet {
    /// A packet with no attributes.
    pub fn new(code: Code, id: u8, authenticator: [u8; 16]) -> Self {
        Packet {
            code,
            id,
            authenticator,
            attributes: Vec::new(),
        }
    }

    /// Parse one datagram. Octets beyond the Length field are ignored (RFC 2865 s3).
    pub fn parse(bytes: &[u8]) -> Result<Packet, ParseError> {
        if bytes.len() > MAX_PACKET_LEN {
            return Err(ParseError::Oversized { len: bytes.len() });
        }
        if bytes.len() < HEADER_LEN {
            return Err(ParseError::Short { len: bytes.len() });
        }
        let length = u16::from_be_bytes([bytes[2], bytes[3]]) as usize;
        if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&length) {
            return Err(ParseError::BadLength { length });
        }
        if length > bytes.len() {
            return Err(ParseError::Truncated {
                length,
                available: bytes.len(),
            });
        }
        let mut authenticator = [0u8; 16];
        authenticator.copy_from_slice(&bytes[4..20]);
        let mut attributes = Vec::new();
        let mut off = HEADER_LEN;
        while off < length {
            if off + 2 > length {
                return Err(ParseError::AttributeTruncated { offset: off });
            }
            let alen = bytes[off + 1];
            if alen < 2 {
                return Err(ParseError::AttributeLength {
                    offset: off,
                    length: alen,
                });
            }
            let end = off + alen as usize;
            if end > length {
                return Err(ParseError::AttributeTruncated { offset: off });
            }
            attributes.push(Attribute::new(bytes[off], &bytes[off + 2..end]));
            off = end;
        }
        Ok(Packet {
            code: Code::from_u8(bytes[0]),
            id: bytes[1],
            authenticator,
            attributes,
        })
    }

    /// Octets [`Packet::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + self
                .attributes
                .iter()
                .map(|a| 2 + a.value.len())
                .sum::<usize>()
    }

    /// Write the packet into `buf` (at least [`Packet::buffer_len`] octets); returns the
    /// length written. `buf` is untouched on error.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BuildError> {
        for a in &self.attributes {
            if a.value.len() > MAX_ATTR_VALUE {
                return Err(BuildError::AttributeTooLong {
                    typ: a.typ,
                    len: a.value.len(),
                });
            }
        }
        let len = self.buffer_len();
        if len > MAX_PACKET_LEN {
            return Err(BuildError::PacketTooLong { len });
        }
        if buf.len() < len {
            return Err(BuildError::BufferTooSmall {
                need: len,
                have: buf.len(),
            });
        }
        buf[0] = self.code.to_u8();
        buf[1] = self.id;
        buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        buf[4..20].copy_from_slice(&self.authenticator);
        let mut off = HEADER_LEN;
        for a in &self.attributes {
            buf[off] = a.typ;
            buf[off + 1] = (a.value.len() + 2) as u8;
            buf[off + 2..off + 2 + a.value.len()].copy_from_slice(&a.value);
            off += 2 + a.value.len();
        }
        Ok(len)
    }

    /// The packet as a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BuildError> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }

    /// Append an attribute.
    pub fn push(&mut self, a: Attribute) {
        self.attributes.push(a);
    }

    /// The first attribute of a type.
    pub fn get(&self, typ: u8) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.typ == typ)
    }

    /// Every attribute of a type, in order.
    pub fn all(&self, typ: u8) -> impl Iterator<Item = &Attribute> + '_ {
        self.attributes.iter().filter(move |a| a.typ == typ)
    }

    /// The first attribute of a type as an integer.
    pub fn get_u32(&self, typ: u8) -> Option<u32> {
        self.get(typ).and_then(Attribute::as_u32)
    }

    /// The first attribute of a type as an IPv4 address.
    pub fn get_ipv4(&self, typ: u8) -> Option<Ipv4Addr> {
        self.get(typ).and_then(Attribute::as_ipv4)
    }

    /// The first attribute of a type as text (lossy UTF-8).
    pub fn get_text(&self, typ: u8) -> Option<String> {
        self.get(typ)
            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
    }

    /// The first attribute of a type as seconds.
    pub fn get_seconds(&self, typ: u8) -> Option<Duration> {
        self.get_u32(typ).map(|s| Duration::from_secs(s.into()))
    }

    /// User-Name (1).
    pub fn user_name(&self) -> Option<String> {
        self.get_text(attr::USER_NAME)
    }

    /// Framed-IP-Address (8).
    pub fn framed_ip_address(&self) -> Option<Ipv4Addr> {
        self.get_ipv4(attr::FRAMED_IP_ADDRESS)
    }

    /// Reply-Message (18): every instance concatenated (RFC 2865 s5.18 allows several).
    pub fn reply_message(&self) -> Option<String> {
        let parts: Vec<u8> = self
            .all(attr::REPLY_MESSAGE)
            .flat_map(|a| a.value.iter().copied())
            .collect();
        (self.get(attr::REPLY_MESSAGE).is_some())
            .then(|| String::from_utf8_lossy(&parts).into_owned())
    }

    /// EAP-Message (79): every instance concatenated into one EAP packet (RFC 3579 s3.1).
    pub fn eap_message(&self) -> Option<Vec<u8>> {
        self.get(attr::EAP_MESSAGE)?;
        Some(
            self.all(attr::EAP_MESSAGE)
                .flat_map(|a| a.value.iter().copied())
                .collect(),
        )
    }

    /// Every vendor sub-attribute of every Vendor-Specific attribute in the suggested
    /// format, in order (VSAs of other formats are only in [`Packet::attributes`]).
    pub fn vendor_attributes(&self) -> Vec<VendorAttribute> {
        self.all(attr::VENDOR_SPECIFIC)
            .filter_map(Attribute::as_vendor)
            .filter_map(|(id, data)| vendor_sub_attributes(id, data))
            .flatten()
            .collect()
    }

    /// The first vendor sub-attribute of (vendor, type).
    pub fn vendor(&self, vendor_id: u32, vendor_type: u8) -> Option<VendorAttribute> {
        self.vendor_attributes()
            .into_iter()
            .find(|v| v.vendor_id == vendor_id && v.vendor_type == vendor_type)
    }

    /// Append an EAP packet as EAP-Message attributes of at most 253 octets each.
    pub fn push_eap_message(&mut self, eap: &[u8]) {
        for chunk in eap.chunks(MAX_ATTR_VALUE) {
            self.push(Attribute::new(attr::EAP_MESSAGE, chunk));
        }
        if eap.is_empty() {
            self.push(Attribute::new(attr::EAP_MESSAGE, Vec::new()));
        }
    }
}

/// Offset of the first Message-Authenticator attribute's value in an encoded packet (the
/// packet must have parsed).
pub(crate) fn message_authenticator_offset(bytes: &[u8]) -> Option<usize> {
    let length = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize;
    let end = length.min(bytes.len());
    let mut off = HEADER_LEN;
    while off + 2 <= end {
        let alen = bytes[off + 1] as usize;
        if alen < 2 || off + alen > end {
            return None;
        }
        if bytes[off] == attr::MESSAGE_AUTHENTICATOR && alen == 18 {
            return Some(off + 2);
        }
        off += alen;
    }
    None
}
