//! PPPoE codecs (RFC 2516 s4, Appendix A; RFC 4638 s4): the Ethernet II header with an
//! optional 802.1Q / 802.1ad tag stack, the 6-byte PPPoE header, and the discovery tag list.
//!
//! Two levels, as in the rest of the workspace:
//! * [`Frame::parse`] is a zero-copy view of one received Ethernet frame: addresses, VLAN
//!   stack, EtherType, the PPPoE header fields and the payload slice (`LENGTH` bytes; the
//!   Ethernet padding after it is ignored). It never panics and never reads past the input.
//! * [`Discovery`] is the owned, typed form of a discovery packet's tag list, parsed from a
//!   [`Frame`] payload and emitted byte for byte ([`Discovery::emit`]).
//!
//! The session-stage data path never allocates: [`emit_header`] writes the Ethernet and
//! PPPoE headers into a caller buffer in front of a PPP frame written by the PPP host.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  VER  | TYPE  |      CODE     |          SESSION_ID           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            LENGTH             |           payload             ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! discovery payload = TAG_TYPE (16) | TAG_LENGTH (16) | TAG_VALUE ... repeated
//! ```

use thiserror::Error;

/// An Ethernet MAC address.
pub type Mac = [u8; 6];

/// The broadcast address a PADI goes to (RFC 2516 s5.1).
pub const BROADCAST: Mac = [0xff; 6];
/// EtherType of the Discovery stage (RFC 2516 s4).
pub const ETHERTYPE_DISCOVERY: u16 = 0x8863;
/// EtherType of the Session stage (RFC 2516 s4).
pub const ETHERTYPE_SESSION: u16 = 0x8864;
/// TPID of an 802.1Q (customer) VLAN tag.
pub const TPID_8021Q: u16 = 0x8100;
/// TPID of an 802.1ad (service, QinQ outer) VLAN tag.
pub const TPID_8021AD: u16 = 0x88a8;
/// VER and TYPE of every PPPoE packet: both 1 (RFC 2516 s4), one byte `0x11`.
pub const VER_TYPE: u8 = 0x11;
/// Length of the PPPoE header.
pub const PPPOE_HEADER_LEN: usize = 6;
/// The largest PPP payload (MRU) of a session on a 1500-byte Ethernet without RFC 4638:
/// 1500 - 6 (PPPoE header) - 2 (PPP protocol field) (RFC 2516 s7).
pub const MAX_MRU_WITHOUT_RFC4638: u16 = 1492;
/// At most this many VLAN tags are parsed (802.1ad outer + 802.1Q inner).
pub const MAX_VLAN_TAGS: usize = 2;

/// A PPPoE `CODE` (RFC 2516 s5.1-5.5; session data uses 0x00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(pub u8);

impl Code {
    /// Session data (RFC 2516 s6).
    pub const SESSION: Code = Code(0x00);
    /// PPPoE Active Discovery Offer.
    pub const PADO: Code = Code(0x07);
    /// PPPoE Active Discovery Initiation.
    pub const PADI: Code = Code(0x09);
    /// PPPoE Active Discovery Request.
    pub const PADR: Code = Code(0x19);
    /// PPPoE Active Discovery Session-confirmation.
    pub const PADS: Code = Code(0x65);
    /// PPPoE Active Discovery Terminate.
    pub const PADT: Code = Code(0xa7);

    /// The packet's name (`PADI`, ..., `session`), or `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Code::SESSION => "session",
            Code::PADO => "PADO",
            Code::PADI => "PADI",
            Code::PADR => "PADR",
            Code::PADS => "PADS",
            Code::PADT => "PADT",
            _ => "unknown",
        }
    }
}

/// Tag types (RFC 2516 Appendix A; RFC 4638 s4).
pub mod tag {
    /// End-Of-List: no further tags (length 0; optional, kept for compatibility).
    pub const END_OF_LIST: u16 = 0x0000;
    /// Service-Name: the service asked for or offered (empty = any).
    pub const SERVICE_NAME: u16 = 0x0101;
    /// AC-Name: the access concentrator's name (RouterOS: its identity).
    pub const AC_NAME: u16 = 0x0102;
    /// Host-Uniq: opaque client data the AC echoes, to match replies to requests.
    pub const HOST_UNIQ: u16 = 0x0103;
    /// AC-Cookie: opaque AC data in the PADO, echoed in the PADR (flood protection).
    pub const AC_COOKIE: u16 = 0x0104;
    /// Vendor-Specific: 4-byte vendor id (0, then the 3-byte IANA enterprise) and data.
    pub const VENDOR_SPECIFIC: u16 = 0x0105;
    /// Relay-Session-Id: added by a relay, echoed by the AC and the host.
    pub const RELAY_SESSION_ID: u16 = 0x0110;
    /// PPP-Max-Payload (RFC 4638): the largest PPP payload, for MRU above 1492.
    pub const PPP_MAX_PAYLOAD: u16 = 0x0120;
    /// Service-Name-Error: the requested service cannot be honoured.
    pub const SERVICE_NAME_ERROR: u16 = 0x0201;
    /// AC-System-Error: the AC had an error (e.g. no resources for a session).
    pub const AC_SYSTEM_ERROR: u16 = 0x0202;
    /// Generic-Error: any other error (also in a PADT).
    pub const GENERIC_ERROR: u16 = 0x0203;
}

/// Why bytes were not a PPPoE frame or packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than a fixed part needs.
    #[error("truncated {what}: need {need} bytes at offset {offset}, have {have}")]
    Truncated {
        /// Which part.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// Not a PPPoE EtherType (0x8863/0x8864) after the VLAN tags.
    #[error("EtherType {0:#06x} is not PPPoE")]
    EtherType(u16),
    /// More VLAN tags than [`MAX_VLAN_TAGS`].
    #[error("more than {MAX_VLAN_TAGS} VLAN tags")]
    TooManyVlanTags,
    /// VER/TYPE not 1/1 (RFC 2516 s4).
    #[error("VER/TYPE byte {0:#04x}, expected 0x11")]
    VerType(u8),
    /// LENGTH runs past the frame.
    #[error("PPPoE LENGTH {length} exceeds the {have} bytes after the header")]
    Length {
        /// The LENGTH field.
        length: usize,
        /// Bytes after the PPPoE header.
        have: usize,
    },
    /// A tag's length runs past the payload.
    #[error(
        "tag {tag_type:#06x} at offset {offset}: length {length} exceeds the {have} bytes left"
    )]
    TagOverrun {
        /// The tag type.
        tag_type: u16,
        /// Offset of the tag header in the payload.
        offset: usize,
        /// Its TAG_LENGTH.
        length: usize,
        /// Bytes left after the tag header.
        have: usize,
    },
    /// A tag whose value does not fit its type (e.g. PPP-Max-Payload not 2 bytes).
    #[error("tag {tag_type:#06x}: bad value length {length}")]
    TagValue {
        /// The tag type.
        tag_type: u16,
        /// The value length.
        length: usize,
    },
    /// A discovery packet with a session CODE or a session packet with a discovery CODE.
    #[error("CODE {code:#04x} on EtherType {ethertype:#06x}")]
    CodeMismatch {
        /// The CODE.
        code: u8,
        /// The EtherType.
        ethertype: u16,
    },
    /// The output buffer is too small; nothing was written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes given.
        have: usize,
    },
    /// A tag value longer than 65535 bytes, or a packet payload longer than 65535 bytes.
    #[error("{0} longer than 65535 bytes")]
    TooLong(&'static str),
}

/// One VLAN tag (TPID and TCI: PCP, DEI and the 12-bit VLAN id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VlanTag {
    /// 0x8100 (802.1Q) or 0x88a8 (802.1ad).
    pub tpid: u16,
    /// Tag control information.
    pub tci: u16,
}

impl VlanTag {
    /// An 802.1Q tag with VLAN id `vid` (priority 0).
    pub fn dot1q(vid: u16) -> Self {
        VlanTag {
            tpid: TPID_8021Q,
            tci: vid & 0x0fff,
        }
    }
    /// An 802.1ad service tag with VLAN id `vid` (priority 0).
    pub fn dot1ad(vid: u16) -> Self {
        VlanTag {
            tpid: TPID_8021AD,
            tci: vid & 0x0fff,
        }
    }
    /// The VLAN id (low 12 bits of the TCI).
    pub fn vid(self) -> u16 {
        self.tci & 0x0fff
    }
}

/// The VLAN tags of a frame, outermost first (at most [`MAX_VLAN_TAGS`]); `Copy`, no heap.
/// The server keeps it per session and replies with the same stack (S0 L642-644).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VlanStack {
    tags: [VlanTag; MAX_VLAN_TAGS],
    len: u8,
}

impl VlanStack {
    /// No tags (untagged).
    pub const NONE: VlanStack = VlanStack {
        tags: [VlanTag { tpid: 0, tci: 0 }; MAX_VLAN_TAGS],
        len: 0,
    };
    /// One 802.1Q tag.
    pub fn dot1q(vid: u16) -> Self {
        let mut s = Self::NONE;
        s.tags[0] = VlanTag::dot1q(vid);
        s.len = 1;
        s
    }
    /// QinQ: an 802.1ad service tag `outer` around an 802.1Q tag `inner`.
    pub fn qinq(outer: u16, inner: u16) -> Self {
        VlanStack {
            tags: [VlanTag::dot1ad(outer), VlanTag::dot1q(inner)],
            len: 2,
        }
    }
    /// From tags, outermost first; `None` with more than [`MAX_VLAN_TAGS`].
    pub fn from_tags(tags: &[VlanTag]) -> Option<Self> {
        if tags.len() > MAX_VLAN_TAGS {
            return None;
        }
        let mut s = Self::NONE;
        s.tags[..tags.len()].copy_from_slice(tags);
        s.len = tags.len() as u8;
        Some(s)
    }
    /// The tags, outermost first.
    pub fn tags(&self) -> &[VlanTag] {
        &self.tags[..usize::from(self.len).min(MAX_VLAN_TAGS)]
    }
    /// True when untagged.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The innermost VLAN id (the customer VLAN the PPPoE server runs over), if tagged.
    pub fn inner_vid(&self) -> Option<u16> {
        self.tags().last().map(|t| t.vid())
    }
    /// Bytes the tags take on the wire.
    pub fn wire_len(&self) -> usize {
        4 * self.tags().len()
    }
}

/// A parsed Ethernet frame carrying PPPoE: a view over the input (no copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Destination MAC.
    pub dst: Mac,
    /// Source MAC.
    pub src: Mac,
    /// VLAN tags, outermost first.
    pub vlans: VlanStack,
    /// 0x8863 or 0x8864.
    pub ethertype: u16,
    /// CODE.
    pub code: Code,
    /// SESSION_ID.
    pub session_id: u16,
    /// The payload: exactly `LENGTH` bytes (Ethernet padding is not part of it).
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(x) => u16::from_be_bytes([x[0], x[1]]),
        None => 0,
    }
}

fn need(what: &'static str, b: &[u8], offset: usize, n: usize) -> Result<(), WireError> {
    if b.len() < offset + n {
        return Err(WireError::Truncated {
            what,
            offset,
            need: n,
            have: b.len().saturating_sub(offset),
        });
    }
    Ok(())
}

impl<'a> Frame<'a> {
    /// Parse an Ethernet II frame (no FCS) with up to two VLAN tags and a PPPoE header.
    /// Checks VER/TYPE, that LENGTH fits, and that the CODE suits the EtherType
    /// (session frames carry CODE 0x00; discovery frames any other).
    pub fn parse(b: &'a [u8]) -> Result<Frame<'a>, WireError> {
        need("Ethernet header", b, 0, 14)?;
        let mut dst = [0u8; 6];
        let mut src = [0u8; 6];
        dst.copy_from_slice(&b[0..6]);
        src.copy_from_slice(&b[6..12]);
        let mut at = 12;
        let mut tags = [VlanTag::default(); MAX_VLAN_TAGS];
        let mut n = 0usize;
        let mut ethertype = be16(b, at);
        while ethertype == TPID_8021Q || ethertype == TPID_8021AD {
            if n == MAX_VLAN_TAGS {
                return Err(WireError::TooManyVlanTags);
            }
            need("VLAN tag", b, at, 6)?;
            tags[n] = VlanTag {
                tpid: ethertype,
                tci: be16(b, at + 2),
            };
            n += 1;
            at += 4;
            ethertype = be16(b, at);
        }
        if ethertype != ETHERTYPE_DISCOVERY && ethertype != ETHERTYPE_SESSION {
            return Err(WireError::EtherType(ethertype));
        }
        at += 2;
        need("PPPoE header", b, at, PPPOE_HEADER_LEN)?;
        let h = &b[at..at + PPPOE_HEADER_LEN];
        if h[0] != VER_TYPE {
            return Err(WireError::VerType(h[0]));
        }
        let code = Code(h[1]);
        if (ethertype == ETHERTYPE_SESSION) != (code == Code::SESSION) {
            return Err(WireError::CodeMismatch {
                code: code.0,
                ethertype,
            });
        }
        let session_id = u16::from_be_bytes([h[2], h[3]]);
        let length = usize::from(u16::from_be_bytes([h[4], h[5]]));
        let rest = &b[at + PPPOE_HEADER_LEN..];
        if length > rest.len() {
            return Err(WireError::Length {
                length,
                have: rest.len(),
            });
        }
        Ok(Frame {
            dst,
            src,
            vlans: VlanStack { tags, len: n as u8 },
            ethertype,
            code,
            session_id,
            payload: &rest[..length],
        })
    }

    /// Length of the headers in front of the payload (Ethernet, VLAN tags, PPPoE).
    pub fn header_len(&self) -> usize {
        header_len(&self.vlans)
    }

    /// Bytes of the frame up to the end of the payload (without Ethernet padding).
    pub fn wire_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }
}

/// Length of the Ethernet (with `vlans`) and PPPoE headers.
pub fn header_len(vlans: &VlanStack) -> usize {
    14 + vlans.wire_len() + PPPOE_HEADER_LEN
}

/// Write the Ethernet header (with `vlans`), the EtherType and the PPPoE header for a payload
/// of `payload_len` bytes into the front of `out`; returns the header length. The payload
/// goes at `out[header_len..]`. Nothing is written when `out` is too small.
#[allow(clippy::too_many_arguments)]
pub fn emit_header(
    out: &mut [u8],
    dst: Mac,
    src: Mac,
    vlans: &VlanStack,
    ethertype: u16,
    code: Code,
    session_id: u16,
    payload_len: usize,
) -> Result<usize, WireError> {
    let hl = header_len(vlans);
    if out.len() < hl {
        return Err(WireError::BufferTooSmall {
            need: hl,
            have: out.len(),
        });
    }
    let len = u16::try_from(payload_len).map_err(|_| WireError::TooLong("PPPoE payload"))?;
    out[0..6].copy_from_slice(&dst);
    out[6..12].copy_from_slice(&src);
    let mut at = 12;
    for t in vlans.tags() {
        out[at..at + 2].copy_from_slice(&t.tpid.to_be_bytes());
        out[at + 2..at + 4].copy_from_slice(&t.tci.to_be_bytes());
        at += 4;
    }
    out[at..at + 2].copy_from_slice(&ethertype.to_be_bytes());
    at += 2;
    out[at] = VER_TYPE;
    out[at + 1] = code.0;
    out[at + 2..at + 4].copy_from_slice(&session_id.to_be_bytes());
    out[at + 4..at + 6].copy_from_slice(&len.to_be_bytes());
    Ok(hl)
}

/// One tag as on the wire: type and raw value (unknown types are kept, RFC 2516 App. A).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    /// TAG_TYPE.
    pub tag_type: u16,
    /// TAG_VALUE.
    pub value: Vec<u8>,
}

impl Tag {
    /// A tag.
    pub fn new(tag_type: u16, value: impl Into<Vec<u8>>) -> Self {
        Tag {
            tag_type,
            value: value.into(),
        }
    }
    /// The typed meaning of this tag.
    pub fn typed(&self) -> Result<TypedTag<'_>, WireError> {
        TypedTag::parse(self.tag_type, &self.value)
    }
}

/// A tag by meaning (RFC 2516 Appendix A, RFC 4638 s4). Names and error texts are bytes:
/// RFC 2516 asks for UTF-8 but a peer may send anything, and re-encoding must be exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypedTag<'a> {
    /// End-Of-List.
    EndOfList,
    /// Service-Name (empty = any service).
    ServiceName(&'a [u8]),
    /// AC-Name.
    AcName(&'a [u8]),
    /// Host-Uniq (opaque).
    HostUniq(&'a [u8]),
    /// AC-Cookie (opaque).
    AcCookie(&'a [u8]),
    /// Vendor-Specific: vendor id (first byte 0, then the IANA enterprise number) and data.
    VendorSpecific {
        /// The 4-byte vendor id.
        vendor_id: u32,
        /// The rest.
        data: &'a [u8],
    },
    /// Relay-Session-Id (opaque, at most 12 bytes by RFC 2516; any length kept).
    RelaySessionId(&'a [u8]),
    /// PPP-Max-Payload (RFC 4638): the largest PPP payload.
    PppMaxPayload(u16),
    /// Service-Name-Error (optional UTF-8 text).
    ServiceNameError(&'a [u8]),
    /// AC-System-Error.
    AcSystemError(&'a [u8]),
    /// Generic-Error.
    GenericError(&'a [u8]),
    /// A type this crate does not know (kept).
    Unknown {
        /// TAG_TYPE.
        tag_type: u16,
        /// TAG_VALUE.
        value: &'a [u8],
    },
}

impl<'a> TypedTag<'a> {
    /// Interpret a value of type `tag_type`.
    pub fn parse(tag_type: u16, v: &'a [u8]) -> Result<Self, WireError> {
        let bad = || WireError::TagValue {
            tag_type,
            length: v.len(),
        };
        Ok(match tag_type {
            tag::END_OF_LIST if v.is_empty() => TypedTag::EndOfList,
            tag::END_OF_LIST => return Err(bad()),
            tag::SERVICE_NAME => TypedTag::ServiceName(v),
            tag::AC_NAME => TypedTag::AcName(v),
            tag::HOST_UNIQ => TypedTag::HostUniq(v),
            tag::AC_COOKIE => TypedTag::AcCookie(v),
            tag::VENDOR_SPECIFIC => {
                if v.len() < 4 {
                    return Err(bad());
                }
                TypedTag::VendorSpecific {
                    vendor_id: u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
                    data: &v[4..],
                }
            }
            tag::RELAY_SESSION_ID => TypedTag::RelaySessionId(v),
            tag::PPP_MAX_PAYLOAD => match v {
                [a, b] => TypedTag::PppMaxPayload(u16::from_be_bytes([*a, *b])),
                _ => return Err(bad()),
            },
            tag::SERVICE_NAME_ERROR => TypedTag::ServiceNameError(v),
            tag::AC_SYSTEM_ERROR => TypedTag::AcSystemError(v),
            tag::GENERIC_ERROR => TypedTag::GenericError(v),
            t => TypedTag::Unknown {
                tag_type: t,
                value: v,
            },
        })
    }

    /// The tag type.
    pub fn tag_type(&self) -> u16 {
        match self {
            TypedTag::EndOfList => tag::END_OF_LIST,
            TypedTag::ServiceName(_) => tag::SERVICE_NAME,
            TypedTag::AcName(_) => tag::AC_NAME,
            TypedTag::HostUniq(_) => tag::HOST_UNIQ,
            TypedTag::AcCookie(_) => tag::AC_COOKIE,
            TypedTag::VendorSpecific { .. } => tag::VENDOR_SPECIFIC,
            TypedTag::RelaySessionId(_) => tag::RELAY_SESSION_ID,
            TypedTag::PppMaxPayload(_) => tag::PPP_MAX_PAYLOAD,
            TypedTag::ServiceNameError(_) => tag::SERVICE_NAME_ERROR,
            TypedTag::AcSystemError(_) => tag::AC_SYSTEM_ERROR,
            TypedTag::GenericError(_) => tag::GENERIC_ERROR,
            TypedTag::Unknown { tag_type, .. } => *tag_type,
        }
    }

    /// The owned wire tag.
    pub fn to_tag(&self) -> Tag {
        let value = match self {
            TypedTag::EndOfList => Vec::new(),
            TypedTag::ServiceName(v)
            | TypedTag::AcName(v)
            | TypedTag::HostUniq(v)
            | TypedTag::AcCookie(v)
            | TypedTag::RelaySessionId(v)
            | TypedTag::ServiceNameError(v)
            | TypedTag::AcSystemError(v)
            | TypedTag::GenericError(v)
            | TypedTag::Unknown { value: v, .. } => v.to_vec(),
            TypedTag::VendorSpecific { vendor_id, data } => {
                let mut x = vendor_id.to_be_bytes().to_vec();
                x.extend_from_slice(data);
                x
            }
            TypedTag::PppMaxPayload(n) => n.to_be_bytes().to_vec(),
        };
        Tag::new(self.tag_type(), value)
    }
}

/// A discovery packet (PADI, PADO, PADR, PADS, PADT): CODE, SESSION_ID and the tag list.
///
/// Every tag is kept in order, unknown ones included; bytes after an End-Of-List tag are
/// kept in [`Discovery::trailer`], so [`Discovery::emit`] reproduces the payload exactly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Discovery {
    /// CODE.
    pub code: u8,
    /// SESSION_ID (0 except in PADS and PADT).
    pub session_id: u16,
    /// Tags in wire order.
    pub tags: Vec<Tag>,
    /// Bytes after an End-Of-List tag (normally empty).
    pub trailer: Vec<u8>,
}

impl Discovery {
    /// A packet with no tags.
    pub fn new(code: Code, session_id: u16) -> Self {
        Discovery {
            code: code.0,
            session_id,
            tags: Vec::new(),
            trailer: Vec::new(),
        }
    }

    /// Builder: append a tag.
    pub fn with(mut self, tag_type: u16, value: impl Into<Vec<u8>>) -> Self {
        self.tags.push(Tag::new(tag_type, value));
        self
    }

    /// The CODE.
    pub fn code(&self) -> Code {
        Code(self.code)
    }

    /// Parse the tag list of a discovery [`Frame`] payload.
    pub fn parse(code: Code, session_id: u16, payload: &[u8]) -> Result<Self, WireError> {
        let mut tags = Vec::new();
        let mut at = 0usize;
        let mut trailer = Vec::new();
        while at < payload.len() {
            need("tag header", payload, at, 4)?;
            let tag_type = be16(payload, at);
            let length = usize::from(be16(payload, at + 2));
            let have = payload.len() - at - 4;
            if length > have {
                return Err(WireError::TagOverrun {
                    tag_type,
                    offset: at,
                    length,
                    have,
                });
            }
            tags.push(Tag::new(tag_type, &payload[at + 4..at + 4 + length]));
            at += 4 + length;
            if tag_type == tag::END_OF_LIST {
                trailer = payload[at..].to_vec();
                break;
            }
        }
        Ok(Discovery {
            code: code.0,
            session_id,
            tags,
            trailer,
        })
    }

    /// Parse a discovery frame's payload.
    pub fn from_frame(f: &Frame<'_>) -> Result<Self, WireError> {
        if f.ethertype != ETHERTYPE_DISCOVERY {
            return Err(WireError::CodeMismatch {
                code: f.code.0,
                ethertype: f.ethertype,
            });
        }
        Self::parse(f.code, f.session_id, f.payload)
    }

    /// Length of the tag list on the wire.
    pub fn payload_len(&self) -> usize {
        self.tags.iter().map(|t| 4 + t.value.len()).sum::<usize>() + self.trailer.len()
    }

    /// Append the tag list to `out`.
    pub fn emit_payload(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        for t in &self.tags {
            let l = u16::try_from(t.value.len()).map_err(|_| WireError::TooLong("tag value"))?;
            out.extend_from_slice(&t.tag_type.to_be_bytes());
            out.extend_from_slice(&l.to_be_bytes());
            out.extend_from_slice(&t.value);
        }
        out.extend_from_slice(&self.trailer);
        Ok(())
    }

    /// The whole Ethernet frame (no padding, no FCS).
    pub fn emit(&self, dst: Mac, src: Mac, vlans: &VlanStack) -> Result<Vec<u8>, WireError> {
        let pl = self.payload_len();
        let hl = header_len(vlans);
        let mut out = vec![0u8; hl];
        emit_header(
            &mut out,
            dst,
            src,
            vlans,
            ETHERTYPE_DISCOVERY,
            self.code(),
            self.session_id,
            pl,
        )?;
        out.reserve(pl);
        self.emit_payload(&mut out)?;
        Ok(out)
    }

    /// Value of the first tag of `tag_type`.
    pub fn first(&self, tag_type: u16) -> Option<&[u8]> {
        self.tags
            .iter()
            .find(|t| t.tag_type == tag_type)
            .map(|t| t.value.as_slice())
    }

    /// Every Service-Name, in order.
    pub fn service_names(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.tags
            .iter()
            .filter(|t| t.tag_type == tag::SERVICE_NAME)
            .map(|t| t.value.as_slice())
    }

    /// The AC-Name.
    pub fn ac_name(&self) -> Option<&[u8]> {
        self.first(tag::AC_NAME)
    }
    /// The Host-Uniq.
    pub fn host_uniq(&self) -> Option<&[u8]> {
        self.first(tag::HOST_UNIQ)
    }
    /// The AC-Cookie.
    pub fn ac_cookie(&self) -> Option<&[u8]> {
        self.first(tag::AC_COOKIE)
    }
    /// The Relay-Session-Id.
    pub fn relay_session_id(&self) -> Option<&[u8]> {
        self.first(tag::RELAY_SESSION_ID)
    }
    /// The PPP-Max-Payload (RFC 4638) if present and well-formed.
    pub fn ppp_max_payload(&self) -> Option<u16> {
        match self.first(tag::PPP_MAX_PAYLOAD) {
            Some([a, b]) => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }
    /// The first error tag (Service-Name-Error, AC-System-Error, Generic-Error), if any.
    pub fn error(&self) -> Option<(u16, &[u8])> {
        self.tags
            .iter()
            .find(|t| {
                matches!(
                    t.tag_type,
                    tag::SERVICE_NAME_ERROR | tag::AC_SYSTEM_ERROR | tag::GENERIC_ERROR
                )
            })
            .map(|t| (t.tag_type, t.value.as_slice()))
    }
}

/// `AA:BB:CC:DD:EE:FF`, the RouterOS form (also the PPP host's caller id).
pub fn mac_to_string(m: &Mac) -> String {
    format!(
        "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}
