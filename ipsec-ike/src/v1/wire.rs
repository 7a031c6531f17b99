//! The ISAKMP codec (RFC 2408 section 3, the IPsec DOI of RFC 2407 section 4.6, NAT-T payloads
//! of RFC 3947, the mode-config / XAuth Attribute payload of draft-dukes-ike-mode-cfg).
//!
//! Every structure parses from untrusted bytes without panicking and returns a typed
//! [`WireError`] naming the field and its offset; counts are bounded ([`MAX_PAYLOADS`],
//! [`MAX_ITEMS`]). What parses re-encodes byte for byte: the length and count fields are
//! derived from the content on output, and reserved fields, which RFC 2408 requires to be zero,
//! are refused when they are not (so there is nothing to remember about them).
//!
//! Output assumes every value fits its length field (a payload or a variable attribute of at
//! most 65535 bytes, an SPI of at most 255 bytes, at most 255 transforms per proposal); the
//! structures this crate builds always do, and whatever [`Message::parse`] returns does.
//!
//! Encrypted messages (flag E) keep their body as ciphertext in [`Body::Encrypted`]; decrypt it
//! with [`crate::v1::crypto`] and parse the plaintext with [`parse_chain`], which reports the
//! bytes after the last payload (the CBC padding) separately.

use crate::error::WireError;

/// Length of the ISAKMP header.
pub const HEADER_LEN: usize = 28;
/// Length of the generic payload header.
pub const PAYLOAD_HEADER_LEN: usize = 4;
/// Most payloads a message (or a decrypted body) may carry.
pub const MAX_PAYLOADS: usize = crate::wire::MAX_PAYLOADS;
/// Most proposals per SA, transforms per proposal, attributes per list or SPIs per Delete.
pub const MAX_ITEMS: usize = 256;
/// The version byte of ISAKMP 1.0 (major 1, minor 0).
pub const VERSION_1_0: u8 = 0x10;
/// Header flag E: the payloads after the header are encrypted.
pub const FLAG_ENCRYPTION: u8 = 0x01;
/// Header flag C: commit (RFC 2408 3.1, RFC 2409 5.5 CONNECTED notify).
pub const FLAG_COMMIT: u8 = 0x02;
/// Header flag A: authentication only.
pub const FLAG_AUTH_ONLY: u8 = 0x04;
/// The DOI of IPsec (RFC 2407).
pub const DOI_IPSEC: u32 = 1;
/// Situation SIT_IDENTITY_ONLY (RFC 2407 4.2).
pub const SIT_IDENTITY_ONLY: u32 = 1;

macro_rules! codes {
    ($(#[$m:meta])* $name:ident($t:ty) { $($(#[$cm:meta])* $c:ident = $v:expr,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $t);
        impl $name {
            $($(#[$cm])* pub const $c: $name = $name($v);)*
            /// The registered name, if any.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($v => Some(stringify!($c)),)* _ => None }
            }
        }
    };
}

codes! {
    /// ISAKMP payload type (RFC 2408 3.1, RFC 3947, mode-config draft).
    PayloadType(u8) {
        /// No next payload.
        NONE = 0,
        /// Security Association.
        SA = 1,
        /// Proposal (only inside SA).
        PROPOSAL = 2,
        /// Transform (only inside Proposal).
        TRANSFORM = 3,
        /// Key Exchange.
        KE = 4,
        /// Identification.
        ID = 5,
        /// Certificate.
        CERT = 6,
        /// Certificate Request.
        CR = 7,
        /// Hash.
        HASH = 8,
        /// Signature.
        SIG = 9,
        /// Nonce.
        NONCE = 10,
        /// Notification.
        N = 11,
        /// Delete.
        D = 12,
        /// Vendor ID.
        VID = 13,
        /// Attribute (mode config / XAuth).
        ATTR = 14,
        /// NAT Discovery (RFC 3947).
        NAT_D = 20,
        /// NAT Original Address (RFC 3947).
        NAT_OA = 21,
    }
}

codes! {
    /// ISAKMP exchange type (RFC 2408 4.1, RFC 2409, mode-config draft).
    ExchangeType(u8) {
        /// Base.
        BASE = 1,
        /// Identity protection: main mode.
        MAIN = 2,
        /// Authentication only.
        AUTH_ONLY = 3,
        /// Aggressive mode.
        AGGRESSIVE = 4,
        /// Informational.
        INFORMATIONAL = 5,
        /// Transaction (mode config / XAuth).
        TRANSACTION = 6,
        /// Quick mode (phase 2).
        QUICK = 32,
        /// New group mode.
        NEW_GROUP = 33,
    }
}

codes! {
    /// Identification type (RFC 2407 4.6.2.1).
    IdType(u8) {
        /// IPv4 address.
        IPV4_ADDR = 1,
        /// Fully qualified domain name.
        FQDN = 2,
        /// user@domain.
        USER_FQDN = 3,
        /// IPv4 address and mask.
        IPV4_ADDR_SUBNET = 4,
        /// IPv6 address.
        IPV6_ADDR = 5,
        /// IPv6 address and mask.
        IPV6_ADDR_SUBNET = 6,
        /// First and last IPv4 address.
        IPV4_ADDR_RANGE = 7,
        /// First and last IPv6 address.
        IPV6_ADDR_RANGE = 8,
        /// DER distinguished name.
        DER_ASN1_DN = 9,
        /// DER general name.
        DER_ASN1_GN = 10,
        /// Opaque key identifier.
        KEY_ID = 11,
    }
}

codes! {
    /// Phase-1 SA attribute types (RFC 2409 appendix A).
    AttrType(u16) {
        /// Encryption algorithm.
        ENCRYPTION_ALGORITHM = 1,
        /// Hash algorithm.
        HASH_ALGORITHM = 2,
        /// Authentication method.
        AUTHENTICATION_METHOD = 3,
        /// Group description.
        GROUP_DESCRIPTION = 4,
        /// Group type.
        GROUP_TYPE = 5,
        /// Life type.
        LIFE_TYPE = 11,
        /// Life duration.
        LIFE_DURATION = 12,
        /// PRF.
        PRF = 13,
        /// Key length (bits).
        KEY_LENGTH = 14,
    }
}

codes! {
    /// Notify message types (RFC 2408 3.14.1, RFC 3706 DPD, RFC 2407 4.6.3).
    NotifyType(u16) {
        /// INVALID-PAYLOAD-TYPE.
        INVALID_PAYLOAD_TYPE = 1,
        /// INVALID-COOKIE.
        INVALID_COOKIE = 4,
        /// INVALID-EXCHANGE-TYPE.
        INVALID_EXCHANGE_TYPE = 7,
        /// INVALID-MESSAGE-ID.
        INVALID_MESSAGE_ID = 9,
        /// NO-PROPOSAL-CHOSEN.
        NO_PROPOSAL_CHOSEN = 14,
        /// PAYLOAD-MALFORMED.
        PAYLOAD_MALFORMED = 16,
        /// INVALID-KEY-INFORMATION.
        INVALID_KEY_INFORMATION = 17,
        /// INVALID-ID-INFORMATION.
        INVALID_ID_INFORMATION = 18,
        /// AUTHENTICATION-FAILED.
        AUTHENTICATION_FAILED = 24,
        /// INVALID-HASH-INFORMATION.
        INVALID_HASH_INFORMATION = 23,
        /// CONNECTED (commit bit answer).
        CONNECTED = 16384,
        /// RESPONDER-LIFETIME (RFC 2407).
        RESPONDER_LIFETIME = 24576,
        /// REPLAY-STATUS (RFC 2407).
        REPLAY_STATUS = 24577,
        /// INITIAL-CONTACT (RFC 2407).
        INITIAL_CONTACT = 24578,
        /// R-U-THERE (RFC 3706).
        R_U_THERE = 36136,
        /// R-U-THERE-ACK (RFC 3706).
        R_U_THERE_ACK = 36137,
    }
}

codes! {
    /// Phase-2 SA attribute types of the IPsec DOI (RFC 2407 4.5).
    IpsecAttr(u16) {
        /// SA life type (1 seconds, 2 kilobytes).
        SA_LIFE_TYPE = 1,
        /// SA life duration.
        SA_LIFE_DURATION = 2,
        /// PFS group.
        GROUP_DESCRIPTION = 3,
        /// Encapsulation mode (1 tunnel, 2 transport; 3/4 UDP-encapsulated, RFC 3947).
        ENCAPSULATION_MODE = 4,
        /// Authentication algorithm (1 HMAC-MD5, 2 HMAC-SHA1, 5 HMAC-SHA2-256, ...).
        AUTH_ALGORITHM = 5,
        /// Key length (bits).
        KEY_LENGTH = 6,
        /// Key rounds.
        KEY_ROUNDS = 7,
        /// Compress dictionary size.
        COMPRESS_DICTIONARY_SIZE = 8,
        /// Compress private algorithm.
        COMPRESS_PRIVATE_ALGORITHM = 9,
    }
}

codes! {
    /// Protocol IDs of proposals, notifications and deletes (RFC 2407 4.4.1).
    ProtocolId(u8) {
        /// The ISAKMP SA itself.
        ISAKMP = 1,
        /// AH.
        AH = 2,
        /// ESP.
        ESP = 3,
        /// IPComp.
        IPCOMP = 4,
    }
}

codes! {
    /// ESP transform IDs (RFC 2407 4.4.4, RFC 3602, RFC 4106).
    EspTransform(u8) {
        /// DES.
        DES = 2,
        /// 3DES.
        TRIPLE_DES = 3,
        /// NULL.
        NULL = 11,
        /// AES-CBC.
        AES = 12,
        /// AES-CTR.
        AES_CTR = 13,
        /// AES-GCM with an 8-byte ICV.
        AES_GCM_8 = 18,
        /// AES-GCM with a 12-byte ICV.
        AES_GCM_12 = 19,
        /// AES-GCM with a 16-byte ICV.
        AES_GCM_16 = 20,
    }
}

codes! {
    /// The message type of an Attribute payload (mode-config draft 3.2).
    CfgType(u8) {
        /// ISAKMP_CFG_REQUEST.
        REQUEST = 1,
        /// ISAKMP_CFG_REPLY.
        REPLY = 2,
        /// ISAKMP_CFG_SET.
        SET = 3,
        /// ISAKMP_CFG_ACK.
        ACK = 4,
    }
}

codes! {
    /// Mode config and XAuth attribute types (mode-config draft 3.3, XAuth draft 6.2, the
    /// Cisco Unity range).
    CfgAttr(u16) {
        /// INTERNAL_IP4_ADDRESS.
        INTERNAL_IP4_ADDRESS = 1,
        /// INTERNAL_IP4_NETMASK.
        INTERNAL_IP4_NETMASK = 2,
        /// INTERNAL_IP4_DNS.
        INTERNAL_IP4_DNS = 3,
        /// INTERNAL_IP4_NBNS.
        INTERNAL_IP4_NBNS = 4,
        /// INTERNAL_ADDRESS_EXPIRY.
        INTERNAL_ADDRESS_EXPIRY = 5,
        /// INTERNAL_IP4_DHCP.
        INTERNAL_IP4_DHCP = 6,
        /// APPLICATION_VERSION.
        APPLICATION_VERSION = 7,
        /// INTERNAL_IP6_ADDRESS.
        INTERNAL_IP6_ADDRESS = 8,
        /// INTERNAL_IP6_NETMASK.
        INTERNAL_IP6_NETMASK = 9,
        /// INTERNAL_IP6_DNS.
        INTERNAL_IP6_DNS = 10,
        /// SUPPORTED_ATTRIBUTES.
        SUPPORTED_ATTRIBUTES = 14,
        /// INTERNAL_IP4_SUBNET.
        INTERNAL_IP4_SUBNET = 13,
        /// XAUTH_TYPE.
        XAUTH_TYPE = 16520,
        /// XAUTH_USER_NAME.
        XAUTH_USER_NAME = 16521,
        /// XAUTH_USER_PASSWORD.
        XAUTH_USER_PASSWORD = 16522,
        /// XAUTH_PASSCODE.
        XAUTH_PASSCODE = 16523,
        /// XAUTH_MESSAGE.
        XAUTH_MESSAGE = 16524,
        /// XAUTH_CHALLENGE.
        XAUTH_CHALLENGE = 16525,
        /// XAUTH_DOMAIN.
        XAUTH_DOMAIN = 16526,
        /// XAUTH_STATUS (1 OK, 0 FAIL).
        XAUTH_STATUS = 16527,
        /// XAUTH_NEXT_PIN.
        XAUTH_NEXT_PIN = 16528,
        /// XAUTH_ANSWER.
        XAUTH_ANSWER = 16529,
        /// Unity banner.
        UNITY_BANNER = 28672,
        /// Unity save password.
        UNITY_SAVE_PASSWD = 28673,
        /// Unity default domain.
        UNITY_DEF_DOMAIN = 28674,
        /// Unity split DNS names.
        UNITY_SPLITDNS_NAME = 28675,
        /// Unity split include (networks tunneled: address, mask, protocol, ports, 14 bytes each).
        UNITY_SPLIT_INCLUDE = 28676,
        /// Unity NAT-T port.
        UNITY_NATT_PORT = 28677,
        /// Unity local LAN.
        UNITY_LOCAL_LAN = 28678,
        /// Unity PFS.
        UNITY_PFS = 28679,
        /// Unity firewall type.
        UNITY_FW_TYPE = 28680,
        /// Unity backup servers.
        UNITY_BACKUP_SERVERS = 28681,
        /// Unity DDNS hostname.
        UNITY_DDNS_HOSTNAME = 28682,
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}
fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
fn need(what: &'static str, b: &[u8], n: usize, offset: usize) -> Result<(), WireError> {
    if b.len() < n {
        return Err(WireError::trunc(what, offset, n, b.len()));
    }
    Ok(())
}
fn zero(what: &'static str, v: &[u8], offset: usize) -> Result<(), WireError> {
    match v.iter().position(|&x| x != 0) {
        None => Ok(()),
        Some(i) => Err(WireError::BadValue {
            what,
            offset: offset + i,
            value: u64::from(v[i]),
        }),
    }
}
fn push16(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u16).to_be_bytes());
}

/// The ISAKMP header (RFC 2408 3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Initiator cookie.
    pub spi_i: [u8; 8],
    /// Responder cookie (zero in the first message).
    pub spi_r: [u8; 8],
    /// Type of the first payload (of the plaintext, when encrypted).
    pub next_payload: PayloadType,
    /// Major (high nibble, 1) and minor version (low nibble, 0).
    pub version: u8,
    /// Exchange type.
    pub exchange: ExchangeType,
    /// Flags E, C, A ([`FLAG_ENCRYPTION`], [`FLAG_COMMIT`], [`FLAG_AUTH_ONLY`]).
    pub flags: u8,
    /// Message ID (zero in phase 1).
    pub message_id: u32,
    /// Length of the whole message, header included.
    pub length: u32,
}

impl Header {
    /// Parse the header; the major version must be 1 and no flag beyond E, C, A may be set.
    pub fn parse(b: &[u8]) -> Result<Header, WireError> {
        need("ISAKMP header", b, HEADER_LEN, 0)?;
        if b[17] >> 4 != 1 {
            return Err(WireError::BadValue {
                what: "ISAKMP major version",
                offset: 17,
                value: u64::from(b[17]),
            });
        }
        if b[19] & !(FLAG_ENCRYPTION | FLAG_COMMIT | FLAG_AUTH_ONLY) != 0 {
            return Err(WireError::BadValue {
                what: "ISAKMP flags",
                offset: 19,
                value: u64::from(b[19]),
            });
        }
        let mut spi_i = [0; 8];
        let mut spi_r = [0; 8];
        spi_i.copy_from_slice(&b[0..8]);
        spi_r.copy_from_slice(&b[8..16]);
        Ok(Header {
            spi_i,
            spi_r,
            next_payload: PayloadType(b[16]),
            version: b[17],
            exchange: ExchangeType(b[18]),
            flags: b[19],
            message_id: be32(&b[20..24]),
            length: be32(&b[24..28]),
        })
    }

    /// The 28 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut o = [0u8; HEADER_LEN];
        o[0..8].copy_from_slice(&self.spi_i);
        o[8..16].copy_from_slice(&self.spi_r);
        o[16] = self.next_payload.0;
        o[17] = self.version;
        o[18] = self.exchange.0;
        o[19] = self.flags;
        o[20..24].copy_from_slice(&self.message_id.to_be_bytes());
        o[24..28].copy_from_slice(&self.length.to_be_bytes());
        o
    }

    /// Flag E.
    pub fn is_encrypted(&self) -> bool {
        self.flags & FLAG_ENCRYPTION != 0
    }
}

/// A data attribute value: basic (TV, 16 bits, AF bit set) or variable (TLV).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttrValue {
    /// Type/value form.
    Basic(u16),
    /// Type/length/value form (at most 65535 bytes).
    Variable(Vec<u8>),
}

/// A data attribute (RFC 2408 3.3): SA attributes and mode-config/XAuth attributes alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute type, 15 bits (without the AF bit).
    pub ty: u16,
    /// The value.
    pub value: AttrValue,
}

impl Attribute {
    /// A basic (TV) attribute.
    pub fn basic(ty: u16, v: u16) -> Attribute {
        Attribute {
            ty: ty & 0x7fff,
            value: AttrValue::Basic(v),
        }
    }
    /// The value as an integer (basic, or a variable value of at most 8 bytes).
    pub fn as_u64(&self) -> Option<u64> {
        match &self.value {
            AttrValue::Basic(v) => Some(u64::from(*v)),
            AttrValue::Variable(b) if b.len() <= 8 => {
                Some(b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
            }
            AttrValue::Variable(_) => None,
        }
    }
    fn emit(&self, out: &mut Vec<u8>) {
        match &self.value {
            AttrValue::Basic(v) => {
                push16(out, usize::from(self.ty | 0x8000));
                push16(out, usize::from(*v));
            }
            AttrValue::Variable(b) => {
                push16(out, usize::from(self.ty & 0x7fff));
                push16(out, b.len());
                out.extend_from_slice(b);
            }
        }
    }
}

/// Parse a list of data attributes filling `b` exactly.
pub fn parse_attributes(b: &[u8], base: usize) -> Result<Vec<Attribute>, WireError> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < b.len() {
        if out.len() >= MAX_ITEMS {
            return Err(WireError::TooManyPayloads(MAX_ITEMS));
        }
        let r = &b[off..];
        need("data attribute", r, 4, base + off)?;
        let t = be16(r);
        let v = be16(&r[2..]);
        if t & 0x8000 != 0 {
            out.push(Attribute::basic(t, v));
            off += 4;
        } else {
            let l = usize::from(v);
            need("data attribute value", &r[4..], l, base + off + 4)?;
            out.push(Attribute {
                ty: t,
                value: AttrValue::Variable(r[4..4 + l].to_vec()),
            });
            off += 4 + l;
        }
    }
    Ok(out)
}

/// Emit a list of data attributes (the inverse of [`parse_attributes`]).
pub fn emit_attributes(a: &[Attribute], out: &mut Vec<u8>) {
    for x in a {
        x.emit(out);
    }
}

/// A Transform payload (RFC 2408 3.6): its number, ID and SA attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transform {
    /// Transform number.
    pub number: u8,
    /// Transform ID (KEY_IKE = 1 in phase 1; ESP_AES = 12 etc. in phase 2).
    pub id: u8,
    /// SA attributes.
    pub attributes: Vec<Attribute>,
}

impl Transform {
    /// The first attribute of type `ty`.
    pub fn attr(&self, ty: AttrType) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.ty == ty.0)
    }
}

/// A Proposal payload (RFC 2408 3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Proposal number (proposals with equal numbers are ANDed).
    pub number: u8,
    /// Protocol ID (1 ISAKMP, 2 AH, 3 ESP, 4 IPCOMP).
    pub protocol: u8,
    /// SPI (empty or the 16-byte cookie pair in phase 1, 4 bytes for ESP/AH).
    pub spi: Vec<u8>,
    /// Transforms, in preference order.
    pub transforms: Vec<Transform>,
}

/// A Security Association payload (RFC 2408 3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sa {
    /// Domain of interpretation ([`DOI_IPSEC`]).
    pub doi: u32,
    /// Situation bitmap ([`SIT_IDENTITY_ONLY`]).
    pub situation: u32,
    /// Proposals.
    pub proposals: Vec<Proposal>,
}

/// Walk a chain of nested payloads of type `kind` (proposals or transforms) filling `b`.
fn nested<'a>(
    what: &'static str,
    kind: PayloadType,
    b: &'a [u8],
    base: usize,
) -> Result<Vec<(usize, &'a [u8])>, WireError> {
    let mut out = Vec::new();
    let mut off = 0;
    loop {
        if out.len() >= MAX_ITEMS {
            return Err(WireError::TooManyPayloads(MAX_ITEMS));
        }
        let r = &b[off..];
        need(what, r, PAYLOAD_HEADER_LEN, base + off)?;
        zero(what, &r[1..2], base + off + 1)?;
        let len = usize::from(be16(&r[2..]));
        if len < PAYLOAD_HEADER_LEN || len > r.len() {
            return Err(WireError::BadLength {
                what,
                offset: base + off + 2,
                length: len,
            });
        }
        out.push((base + off + 4, &r[4..len]));
        off += len;
        match PayloadType(r[0]) {
            PayloadType::NONE => break,
            k if k == kind => continue,
            k => {
                return Err(WireError::BadValue {
                    what,
                    offset: base + off - len,
                    value: u64::from(k.0),
                })
            }
        }
    }
    if off != b.len() {
        return Err(WireError::BadLength {
            what,
            offset: base + off,
            length: b.len() - off,
        });
    }
    Ok(out)
}

impl Sa {
    /// Parse the body of an SA payload.
    pub fn parse(b: &[u8], base: usize) -> Result<Sa, WireError> {
        need("SA", b, 8, base)?;
        let doi = be32(b);
        let situation = be32(&b[4..]);
        let mut proposals = Vec::new();
        if b.len() > 8 {
            for (pb, p) in nested("proposal", PayloadType::PROPOSAL, &b[8..], base + 8)? {
                need("proposal", p, 4, pb)?;
                let spi_len = usize::from(p[2]);
                let count = usize::from(p[3]);
                need("proposal SPI", &p[4..], spi_len, pb + 4)?;
                let spi = p[4..4 + spi_len].to_vec();
                let tb = &p[4 + spi_len..];
                let mut transforms = Vec::new();
                if !tb.is_empty() {
                    for (xb, t) in
                        nested("transform", PayloadType::TRANSFORM, tb, pb + 4 + spi_len)?
                    {
                        need("transform", t, 4, xb)?;
                        zero("transform reserved", &t[2..4], xb + 2)?;
                        transforms.push(Transform {
                            number: t[0],
                            id: t[1],
                            attributes: parse_attributes(&t[4..], xb + 4)?,
                        });
                    }
                }
                if transforms.len() != count {
                    return Err(WireError::BadValue {
                        what: "number of transforms",
                        offset: pb + 3,
                        value: count as u64,
                    });
                }
                proposals.push(Proposal {
                    number: p[0],
                    protocol: p[1],
                    spi,
                    transforms,
                });
            }
        }
        Ok(Sa {
            doi,
            situation,
            proposals,
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.doi.to_be_bytes());
        out.extend_from_slice(&self.situation.to_be_bytes());
        for (i, p) in self.proposals.iter().enumerate() {
            let start = out.len();
            out.push(if i + 1 < self.proposals.len() { 2 } else { 0 });
            out.extend_from_slice(&[0, 0, 0]);
            out.extend_from_slice(&[
                p.number,
                p.protocol,
                p.spi.len() as u8,
                p.transforms.len() as u8,
            ]);
            out.extend_from_slice(&p.spi);
            for (j, t) in p.transforms.iter().enumerate() {
                let ts = out.len();
                out.push(if j + 1 < p.transforms.len() { 3 } else { 0 });
                out.extend_from_slice(&[0, 0, 0, t.number, t.id, 0, 0]);
                emit_attributes(&t.attributes, out);
                let l = (out.len() - ts) as u16;
                out[ts + 2..ts + 4].copy_from_slice(&l.to_be_bytes());
            }
            let l = (out.len() - start) as u16;
            out[start + 2..start + 4].copy_from_slice(&l.to_be_bytes());
        }
    }
}

/// A typed identity (RFC 2407 4.6.2.1): phase 1 identities and phase 2 client IDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A single IPv4 or IPv6 address.
    Addr(std::net::IpAddr),
    /// Address and mask (same family).
    Subnet(std::net::IpAddr, std::net::IpAddr),
    /// First and last address (same family).
    Range(std::net::IpAddr, std::net::IpAddr),
    /// A domain name.
    Fqdn(String),
    /// user@domain.
    UserFqdn(String),
    /// DER distinguished name (raw).
    DerAsn1Dn(Vec<u8>),
    /// Opaque key ID.
    KeyId(Vec<u8>),
}

/// An Identification payload (RFC 2407 4.6.2): type, protocol, port and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Id {
    /// Identification type.
    pub id_type: IdType,
    /// IP protocol (0 = any; UDP 17 with port 500 is common in phase 1).
    pub protocol: u8,
    /// Port (0 = any).
    pub port: u16,
    /// Identification data.
    pub data: Vec<u8>,
}

impl Id {
    /// Build from a typed identity.
    pub fn new(identity: &Identity, protocol: u8, port: u16) -> Id {
        use std::net::IpAddr;
        let ip = |a: &IpAddr| match a {
            IpAddr::V4(v) => v.octets().to_vec(),
            IpAddr::V6(v) => v.octets().to_vec(),
        };
        let (id_type, data) = match identity {
            Identity::Addr(a) => (
                if a.is_ipv4() {
                    IdType::IPV4_ADDR
                } else {
                    IdType::IPV6_ADDR
                },
                ip(a),
            ),
            Identity::Subnet(a, m) => (
                if a.is_ipv4() {
                    IdType::IPV4_ADDR_SUBNET
                } else {
                    IdType::IPV6_ADDR_SUBNET
                },
                [ip(a), ip(m)].concat(),
            ),
            Identity::Range(a, m) => (
                if a.is_ipv4() {
                    IdType::IPV4_ADDR_RANGE
                } else {
                    IdType::IPV6_ADDR_RANGE
                },
                [ip(a), ip(m)].concat(),
            ),
            Identity::Fqdn(s) => (IdType::FQDN, s.as_bytes().to_vec()),
            Identity::UserFqdn(s) => (IdType::USER_FQDN, s.as_bytes().to_vec()),
            Identity::DerAsn1Dn(d) => (IdType::DER_ASN1_DN, d.clone()),
            Identity::KeyId(d) => (IdType::KEY_ID, d.clone()),
        };
        Id {
            id_type,
            protocol,
            port,
            data,
        }
    }

    /// The typed identity; `None` for a type this crate does not model or data of the wrong
    /// size for its type.
    pub fn identity(&self) -> Option<Identity> {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        let d = &self.data;
        let v4 = |b: &[u8]| IpAddr::from(Ipv4Addr::new(b[0], b[1], b[2], b[3]));
        let v6 = |b: &[u8]| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[..16]);
            IpAddr::from(Ipv6Addr::from(a))
        };
        Some(match (self.id_type, d.len()) {
            (IdType::IPV4_ADDR, 4) => Identity::Addr(v4(d)),
            (IdType::IPV6_ADDR, 16) => Identity::Addr(v6(d)),
            (IdType::IPV4_ADDR_SUBNET, 8) => Identity::Subnet(v4(d), v4(&d[4..])),
            (IdType::IPV6_ADDR_SUBNET, 32) => Identity::Subnet(v6(d), v6(&d[16..])),
            (IdType::IPV4_ADDR_RANGE, 8) => Identity::Range(v4(d), v4(&d[4..])),
            (IdType::IPV6_ADDR_RANGE, 32) => Identity::Range(v6(d), v6(&d[16..])),
            (IdType::FQDN, _) => Identity::Fqdn(String::from_utf8(d.clone()).ok()?),
            (IdType::USER_FQDN, _) => Identity::UserFqdn(String::from_utf8(d.clone()).ok()?),
            (IdType::DER_ASN1_DN, _) => Identity::DerAsn1Dn(d.clone()),
            (IdType::KEY_ID, _) => Identity::KeyId(d.clone()),
            _ => return None,
        })
    }
}

/// A Notification payload (RFC 2408 3.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    /// DOI.
    pub doi: u32,
    /// Protocol ID.
    pub protocol: u8,
    /// Notify message type.
    pub notify_type: NotifyType,
    /// SPI (16-byte cookie pair for ISAKMP, 4 bytes for ESP/AH, or empty).
    pub spi: Vec<u8>,
    /// Notification data (e.g. the DPD sequence number).
    pub data: Vec<u8>,
}

/// A Delete payload (RFC 2408 3.15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delete {
    /// DOI.
    pub doi: u32,
    /// Protocol ID.
    pub protocol: u8,
    /// Size of each SPI.
    pub spi_size: u8,
    /// SPIs (each `spi_size` bytes).
    pub spis: Vec<Vec<u8>>,
}

/// A mode-config / XAuth Attribute payload (draft-dukes-ike-mode-cfg 3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigPayload {
    /// ISAKMP_CFG_REQUEST 1, REPLY 2, SET 3, ACK 4.
    pub cfg_type: u8,
    /// Identifier matching a reply to its request.
    pub identifier: u16,
    /// Attributes (INTERNAL_IP4_ADDRESS 1, XAUTH_USER_NAME 16521, ...).
    pub attributes: Vec<Attribute>,
}

/// A payload: its typed body (the type code follows from the variant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Security Association.
    Sa(Sa),
    /// Key Exchange data (g^x).
    Ke(Vec<u8>),
    /// Identification.
    Id(Id),
    /// Certificate: encoding and data.
    Cert {
        /// Certificate encoding (4 = X.509 signature).
        encoding: u8,
        /// The certificate.
        data: Vec<u8>,
    },
    /// Certificate request: type and certificate authority.
    CertReq {
        /// Certificate type.
        cert_type: u8,
        /// Acceptable authority (DER DN, may be empty).
        authority: Vec<u8>,
    },
    /// Hash data.
    Hash(Vec<u8>),
    /// Signature data.
    Sig(Vec<u8>),
    /// Nonce data.
    Nonce(Vec<u8>),
    /// Notification.
    Notify(Notify),
    /// Delete.
    Delete(Delete),
    /// Vendor ID.
    VendorId(Vec<u8>),
    /// Mode config / XAuth attributes.
    Config(ConfigPayload),
    /// NAT-D hash (RFC 3947 3.2).
    NatD(Vec<u8>),
    /// NAT-OA (RFC 3947 5.2): ID type (IPV4_ADDR / IPV6_ADDR) and address.
    NatOa {
        /// ID type.
        id_type: IdType,
        /// The address bytes.
        address: Vec<u8>,
    },
    /// A payload this codec does not model (kept verbatim).
    Unknown {
        /// The payload type.
        ptype: PayloadType,
        /// The body.
        data: Vec<u8>,
    },
}

impl Payload {
    /// The payload type code.
    pub fn ptype(&self) -> PayloadType {
        match self {
            Payload::Sa(_) => PayloadType::SA,
            Payload::Ke(_) => PayloadType::KE,
            Payload::Id(_) => PayloadType::ID,
            Payload::Cert { .. } => PayloadType::CERT,
            Payload::CertReq { .. } => PayloadType::CR,
            Payload::Hash(_) => PayloadType::HASH,
            Payload::Sig(_) => PayloadType::SIG,
            Payload::Nonce(_) => PayloadType::NONCE,
            Payload::Notify(_) => PayloadType::N,
            Payload::Delete(_) => PayloadType::D,
            Payload::VendorId(_) => PayloadType::VID,
            Payload::Config(_) => PayloadType::ATTR,
            Payload::NatD(_) => PayloadType::NAT_D,
            Payload::NatOa { .. } => PayloadType::NAT_OA,
            Payload::Unknown { ptype, .. } => *ptype,
        }
    }

    /// Parse the body of a payload of type `t` (the bytes after the generic header).
    pub fn parse(t: PayloadType, b: &[u8], base: usize) -> Result<Payload, WireError> {
        Ok(match t {
            PayloadType::SA => Payload::Sa(Sa::parse(b, base)?),
            PayloadType::KE => Payload::Ke(b.to_vec()),
            PayloadType::ID => {
                need("ID", b, 4, base)?;
                Payload::Id(Id {
                    id_type: IdType(b[0]),
                    protocol: b[1],
                    port: be16(&b[2..]),
                    data: b[4..].to_vec(),
                })
            }
            PayloadType::CERT => {
                need("CERT", b, 1, base)?;
                Payload::Cert {
                    encoding: b[0],
                    data: b[1..].to_vec(),
                }
            }
            PayloadType::CR => {
                need("CR", b, 1, base)?;
                Payload::CertReq {
                    cert_type: b[0],
                    authority: b[1..].to_vec(),
                }
            }
            PayloadType::HASH => Payload::Hash(b.to_vec()),
            PayloadType::SIG => Payload::Sig(b.to_vec()),
            PayloadType::NONCE => Payload::Nonce(b.to_vec()),
            PayloadType::N => {
                need("N", b, 8, base)?;
                let spi_len = usize::from(b[5]);
                need("N SPI", &b[8..], spi_len, base + 8)?;
                Payload::Notify(Notify {
                    doi: be32(b),
                    protocol: b[4],
                    notify_type: NotifyType(be16(&b[6..])),
                    spi: b[8..8 + spi_len].to_vec(),
                    data: b[8 + spi_len..].to_vec(),
                })
            }
            PayloadType::D => {
                need("D", b, 8, base)?;
                let size = usize::from(b[5]);
                let n = usize::from(be16(&b[6..]));
                if n > MAX_ITEMS || size * n != b.len() - 8 {
                    return Err(WireError::BadLength {
                        what: "D SPIs",
                        offset: base + 6,
                        length: n,
                    });
                }
                let spis = if size == 0 {
                    vec![Vec::new(); n]
                } else {
                    b[8..].chunks(size).map(<[u8]>::to_vec).collect()
                };
                Payload::Delete(Delete {
                    doi: be32(b),
                    protocol: b[4],
                    spi_size: b[5],
                    spis,
                })
            }
            PayloadType::VID => Payload::VendorId(b.to_vec()),
            PayloadType::ATTR => {
                need("ATTR", b, 4, base)?;
                zero("ATTR reserved", &b[1..2], base + 1)?;
                Payload::Config(ConfigPayload {
                    cfg_type: b[0],
                    identifier: be16(&b[2..]),
                    attributes: parse_attributes(&b[4..], base + 4)?,
                })
            }
            PayloadType::NAT_D => Payload::NatD(b.to_vec()),
            PayloadType::NAT_OA => {
                need("NAT-OA", b, 4, base)?;
                zero("NAT-OA reserved", &b[1..4], base + 1)?;
                Payload::NatOa {
                    id_type: IdType(b[0]),
                    address: b[4..].to_vec(),
                }
            }
            PayloadType::NONE | PayloadType::PROPOSAL | PayloadType::TRANSFORM => {
                return Err(WireError::BadValue {
                    what: "payload type",
                    offset: base,
                    value: u64::from(t.0),
                })
            }
            _ => Payload::Unknown {
                ptype: t,
                data: b.to_vec(),
            },
        })
    }

    /// Append the body (without the generic header) to `out`.
    pub fn emit_body(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Sa(sa) => sa.emit(out),
            Payload::Ke(d)
            | Payload::Hash(d)
            | Payload::Sig(d)
            | Payload::Nonce(d)
            | Payload::VendorId(d)
            | Payload::NatD(d)
            | Payload::Unknown { data: d, .. } => out.extend_from_slice(d),
            Payload::Id(id) => {
                out.extend_from_slice(&[id.id_type.0, id.protocol]);
                out.extend_from_slice(&id.port.to_be_bytes());
                out.extend_from_slice(&id.data);
            }
            Payload::Cert { encoding, data } => {
                out.push(*encoding);
                out.extend_from_slice(data);
            }
            Payload::CertReq {
                cert_type,
                authority,
            } => {
                out.push(*cert_type);
                out.extend_from_slice(authority);
            }
            Payload::Notify(n) => {
                out.extend_from_slice(&n.doi.to_be_bytes());
                out.extend_from_slice(&[n.protocol, n.spi.len() as u8]);
                out.extend_from_slice(&n.notify_type.0.to_be_bytes());
                out.extend_from_slice(&n.spi);
                out.extend_from_slice(&n.data);
            }
            Payload::Delete(d) => {
                out.extend_from_slice(&d.doi.to_be_bytes());
                out.extend_from_slice(&[d.protocol, d.spi_size]);
                push16(out, d.spis.len());
                for s in &d.spis {
                    out.extend_from_slice(s);
                }
            }
            Payload::Config(c) => {
                out.extend_from_slice(&[c.cfg_type, 0]);
                out.extend_from_slice(&c.identifier.to_be_bytes());
                emit_attributes(&c.attributes, out);
            }
            Payload::NatOa { id_type, address } => {
                out.extend_from_slice(&[id_type.0, 0, 0, 0]);
                out.extend_from_slice(address);
            }
        }
    }

    /// The body bytes (what RFC 2409 calls `SAi_b`, `IDii_b`, `Ni_b`: the payload without its
    /// generic header).
    pub fn body_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit_body(&mut v);
        v
    }
}

/// Parse a payload chain starting with type `first`. Stops at the payload whose next-payload
/// field is NONE and returns the payloads and the number of bytes they used; what follows (the
/// padding of a decrypted body) is the caller's.
pub fn parse_chain(
    first: PayloadType,
    b: &[u8],
    base: usize,
) -> Result<(Vec<Payload>, usize), WireError> {
    let mut out = Vec::new();
    let mut next = first;
    let mut off = 0usize;
    while next != PayloadType::NONE {
        if out.len() >= MAX_PAYLOADS {
            return Err(WireError::TooManyPayloads(MAX_PAYLOADS));
        }
        let r = &b[off..];
        need("payload header", r, PAYLOAD_HEADER_LEN, base + off)?;
        zero("payload reserved", &r[1..2], base + off + 1)?;
        let len = usize::from(be16(&r[2..]));
        if len < PAYLOAD_HEADER_LEN || len > r.len() {
            return Err(WireError::BadLength {
                what: "payload length",
                offset: base + off + 2,
                length: len,
            });
        }
        out.push(Payload::parse(next, &r[4..len], base + off + 4)?);
        next = PayloadType(r[0]);
        off += len;
    }
    Ok((out, off))
}

/// Append a payload chain (generic headers with next-payload and length fields derived) to
/// `out`; returns the type of the first payload (NONE for an empty chain).
pub fn emit_chain(payloads: &[Payload], out: &mut Vec<u8>) -> PayloadType {
    for (i, p) in payloads.iter().enumerate() {
        let start = out.len();
        let next = payloads
            .get(i + 1)
            .map_or(PayloadType::NONE, Payload::ptype);
        out.extend_from_slice(&[next.0, 0, 0, 0]);
        p.emit_body(out);
        let l = (out.len() - start) as u16;
        out[start + 2..start + 4].copy_from_slice(&l.to_be_bytes());
    }
    payloads.first().map_or(PayloadType::NONE, Payload::ptype)
}

/// A chain as bytes.
pub fn chain_to_bytes(payloads: &[Payload]) -> Vec<u8> {
    let mut v = Vec::new();
    emit_chain(payloads, &mut v);
    v
}

/// The body of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Cleartext payloads (flag E clear).
    Clear(Vec<Payload>),
    /// The ciphertext after the header (flag E set); the header's `next_payload` names the first
    /// payload of the plaintext.
    Encrypted(Vec<u8>),
}

/// An ISAKMP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The header (its `length` is recomputed by [`Message::to_bytes`]).
    pub header: Header,
    /// The payloads or the ciphertext.
    pub body: Body,
}

impl Message {
    /// Parse a message; the header length must equal `b.len()`, and a cleartext chain must end
    /// exactly at the end of the message.
    pub fn parse(b: &[u8]) -> Result<Message, WireError> {
        let header = Header::parse(b)?;
        if header.length as usize != b.len() {
            return Err(WireError::BadLength {
                what: "ISAKMP length",
                offset: 24,
                length: header.length as usize,
            });
        }
        let rest = &b[HEADER_LEN..];
        let body = if header.is_encrypted() {
            Body::Encrypted(rest.to_vec())
        } else {
            let (p, used) = parse_chain(header.next_payload, rest, HEADER_LEN)?;
            if used != rest.len() {
                return Err(WireError::BadLength {
                    what: "bytes after the last payload",
                    offset: HEADER_LEN + used,
                    length: rest.len() - used,
                });
            }
            Body::Clear(p)
        };
        Ok(Message { header, body })
    }

    /// Serialise; the length field is computed, and for a cleartext body the next-payload
    /// field too.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&[0u8; HEADER_LEN]);
        let mut h = self.header;
        match &self.body {
            Body::Clear(p) => h.next_payload = emit_chain(p, &mut out),
            Body::Encrypted(c) => out.extend_from_slice(c),
        }
        h.length = out.len() as u32;
        out[..HEADER_LEN].copy_from_slice(&h.to_bytes());
        out
    }

    /// The cleartext payloads (empty for an encrypted body).
    pub fn payloads(&self) -> &[Payload] {
        match &self.body {
            Body::Clear(p) => p,
            Body::Encrypted(_) => &[],
        }
    }
}

/// The first payload of type `t` in a chain.
pub fn find(payloads: &[Payload], t: PayloadType) -> Option<&Payload> {
    payloads.iter().find(|p| p.ptype() == t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips() {
        let ids = [
            Identity::Addr("10.0.0.1".parse().unwrap()),
            Identity::Addr("2001:db8::1".parse().unwrap()),
            Identity::Subnet(
                "10.0.0.0".parse().unwrap(),
                "255.255.255.0".parse().unwrap(),
            ),
            Identity::Range("10.0.0.1".parse().unwrap(), "10.0.0.9".parse().unwrap()),
            Identity::Subnet("2001:db8::".parse().unwrap(), "ffff::".parse().unwrap()),
            Identity::Range(
                "2001:db8::1".parse().unwrap(),
                "2001:db8::9".parse().unwrap(),
            ),
            Identity::Fqdn("vpn.example.com".into()),
            Identity::UserFqdn("a@example.com".into()),
            Identity::KeyId(vec![1, 2, 3]),
        ];
        for i in ids {
            let id = Id::new(&i, 17, 500);
            let p = Payload::Id(id.clone());
            let b = p.body_bytes();
            assert_eq!(Payload::parse(PayloadType::ID, &b, 0).unwrap(), p);
            assert_eq!(id.identity(), Some(i));
        }
    }

    #[test]
    fn xauth_and_mode_config_attributes_round_trip() {
        // XAuth: the server asks for name and password; the client answers; mode config reply
        // with an address, a DNS server and one Unity split-include network.
        let request = Payload::Config(ConfigPayload {
            cfg_type: CfgType::REQUEST.0,
            identifier: 0x1234,
            attributes: vec![
                Attribute::basic(CfgAttr::XAUTH_TYPE.0, 0),
                Attribute {
                    ty: CfgAttr::XAUTH_USER_NAME.0,
                    value: AttrValue::Variable(Vec::new()),
                },
                Attribute {
                    ty: CfgAttr::XAUTH_USER_PASSWORD.0,
                    value: AttrValue::Variable(Vec::new()),
                },
            ],
        });
        let split = [10, 1, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0];
        let reply = Payload::Config(ConfigPayload {
            cfg_type: CfgType::REPLY.0,
            identifier: 7,
            attributes: vec![
                Attribute {
                    ty: CfgAttr::INTERNAL_IP4_ADDRESS.0,
                    value: AttrValue::Variable(vec![10, 9, 0, 2]),
                },
                Attribute {
                    ty: CfgAttr::INTERNAL_IP4_DNS.0,
                    value: AttrValue::Variable(vec![10, 9, 0, 1]),
                },
                Attribute {
                    ty: CfgAttr::UNITY_SPLIT_INCLUDE.0,
                    value: AttrValue::Variable(split.to_vec()),
                },
                Attribute::basic(CfgAttr::XAUTH_STATUS.0, 1),
            ],
        });
        let chain = vec![Payload::Hash(vec![0; 32]), request, reply];
        let b = chain_to_bytes(&chain);
        // TV attribute: AF bit set; TLV: length then value.
        let i = b.windows(4).position(|w| w == [0xc0, 0x88, 0, 0]).unwrap();
        assert!(i > 0, "XAUTH_TYPE as TV with the AF bit");
        let (back, used) = parse_chain(PayloadType::HASH, &b, 0).unwrap();
        assert_eq!((back, used), (chain, b.len()));
        assert_eq!(CfgAttr(16521).name(), Some("XAUTH_USER_NAME"));
        assert_eq!(ExchangeType(6).name(), Some("TRANSACTION"));
    }

    #[test]
    fn refuses_bad_version_and_nonzero_reserved() {
        let mut m = Message {
            header: Header {
                spi_i: [1; 8],
                spi_r: [0; 8],
                next_payload: PayloadType::NONE,
                version: VERSION_1_0,
                exchange: ExchangeType::MAIN,
                flags: 0,
                message_id: 0,
                length: 0,
            },
            body: Body::Clear(vec![Payload::Nonce(vec![7; 16])]),
        }
        .to_bytes();
        assert!(Message::parse(&m).is_ok());
        m[29] = 1;
        assert!(matches!(
            Message::parse(&m),
            Err(WireError::BadValue { offset: 29, .. })
        ));
        m[29] = 0;
        m[17] = 0x20;
        assert!(Message::parse(&m).is_err());
    }
}
