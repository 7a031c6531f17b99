//! Codecs: the packet header, fragments, physical addresses, LZ4 payload compression, and the
//! verb payloads ([`verbs`]).
//!
//! ```text
//!  packet (>= 28 bytes)                         fragment (>= 16 bytes; not authenticated)
//!   0..8   packet ID (IV; for AES-GMAC-SIV       0..8   packet ID of the whole packet
//!          the first half of the tag)            8..13  destination address
//!   8..13  destination address                   13     0xff (fragment indicator)
//!  13..18  source address                        14     total fragments << 4 | fragment number
//!  18      flags: 0x40 fragmented (more          15     hops (low 3 bits)
//!          fragments follow), 0x38 cipher        16..   next slice of the packet
//!          suite, 0x07 hops
//!  19..27  MAC (first 8 bytes of the Poly1305 tag, or the second half of the SIV tag)
//!  27      verb byte: 0x80 LZ4-compressed payload, 0x1f verb
//!  28..    payload
//! ```
//!
//! Guarantees (smoltcp's two levels): [`Header::parse`] and [`Fragment::parse`] check lengths
//! once; the verb codecs return a typed [`WireError`] naming the structure, field and offset;
//! nothing here panics on any input, and `emit(parse(b)) == b` for every canonical encoding.

pub mod verbs;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::address::{Address, ADDRESS_LEN};
use crate::crypto::CipherSuite;
use crate::error::WireError;

/// Offset of the packet ID.
pub const IDX_IV: usize = 0;
/// Offset of the destination address.
pub const IDX_DEST: usize = 8;
/// Offset of the source address.
pub const IDX_SOURCE: usize = 13;
/// Offset of the flags byte.
pub const IDX_FLAGS: usize = 18;
/// Offset of the 8-byte MAC.
pub const IDX_MAC: usize = 19;
/// Offset of the verb byte.
pub const IDX_VERB: usize = 27;
/// Offset of the payload.
pub const IDX_PAYLOAD: usize = 28;
/// Smallest packet (`ZT_PROTO_MIN_PACKET_LENGTH`).
pub const MIN_PACKET_LEN: usize = 28;
/// Smallest fragment (`ZT_PROTO_MIN_FRAGMENT_LENGTH`).
pub const MIN_FRAGMENT_LEN: usize = 16;
/// Fragment header length.
pub const FRAGMENT_HEADER_LEN: usize = 16;
/// Most fragments per packet this implementation (and ZeroTierOne) accepts, head included
/// (`ZT_MAX_PACKET_FRAGMENTS`).
pub const MAX_FRAGMENTS: usize = 7;
/// Default physical MTU for ZeroTier UDP payloads (`ZT_DEFAULT_PHYSMTU`).
pub const DEFAULT_PHYSMTU: usize = 1432;
/// Largest packet (`ZT_PROTO_MAX_PACKET_LENGTH` = 7 x 1432).
pub const MAX_PACKET_LEN: usize = MAX_FRAGMENTS * DEFAULT_PHYSMTU;
/// Flags: more fragments follow this head.
pub const FLAG_FRAGMENTED: u8 = 0x40;
/// Flags: legacy "encrypted" bit (cipher suite 1 in protocol < 4); never set by us.
pub const FLAG_ENCRYPTED: u8 = 0x80;
/// Verb byte: payload is LZ4-compressed.
pub const VERB_FLAG_COMPRESSED: u8 = 0x80;
/// Fragment indicator byte (`ZT_PACKET_FRAGMENT_INDICATOR`).
pub const FRAGMENT_INDICATOR: u8 = 0xff;
/// Protocol version we announce (`ZT_PROTO_VERSION`).
pub const PROTO_VERSION: u8 = 12;
/// Oldest protocol version accepted (`ZT_PROTO_VERSION_MIN`).
pub const PROTO_VERSION_MIN: u8 = 4;
/// Protocol limit of the hop counter (3 bits).
pub const PROTO_MAX_HOPS: u8 = 7;
/// Relays forward a packet only while its hop count is below this (`ZT_RELAY_MAX_HOPS`).
pub const RELAY_MAX_HOPS: u8 = 3;

/// ZeroTier verbs (low 5 bits of the verb byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// 0x00
    Nop,
    /// 0x01
    Hello,
    /// 0x02
    Error,
    /// 0x03
    Ok,
    /// 0x04
    Whois,
    /// 0x05
    Rendezvous,
    /// 0x06
    Frame,
    /// 0x07
    ExtFrame,
    /// 0x08
    Echo,
    /// 0x09
    MulticastLike,
    /// 0x0a
    NetworkCredentials,
    /// 0x0b
    NetworkConfigRequest,
    /// 0x0c
    NetworkConfig,
    /// 0x0d
    MulticastGather,
    /// 0x0e
    MulticastFrame,
    /// 0x10
    PushDirectPaths,
    /// 0x12
    Ack,
    /// 0x13
    QosMeasurement,
    /// 0x14
    UserMessage,
    /// 0x15
    RemoteTrace,
    /// 0x16
    PathNegotiationRequest,
    /// Any other 5-bit value (kept so headers round-trip).
    Unknown(u8),
}

impl Verb {
    /// From the low 5 bits.
    pub fn from_u8(v: u8) -> Verb {
        match v & 0x1f {
            0x00 => Verb::Nop,
            0x01 => Verb::Hello,
            0x02 => Verb::Error,
            0x03 => Verb::Ok,
            0x04 => Verb::Whois,
            0x05 => Verb::Rendezvous,
            0x06 => Verb::Frame,
            0x07 => Verb::ExtFrame,
            0x08 => Verb::Echo,
            0x09 => Verb::MulticastLike,
            0x0a => Verb::NetworkCredentials,
            0x0b => Verb::NetworkConfigRequest,
            0x0c => Verb::NetworkConfig,
            0x0d => Verb::MulticastGather,
            0x0e => Verb::MulticastFrame,
            0x10 => Verb::PushDirectPaths,
            0x12 => Verb::Ack,
            0x13 => Verb::QosMeasurement,
            0x14 => Verb::UserMessage,
            0x15 => Verb::RemoteTrace,
            0x16 => Verb::PathNegotiationRequest,
            other => Verb::Unknown(other),
        }
    }
    /// The 5-bit value.
    pub fn to_u8(self) -> u8 {
        match self {
            Verb::Nop => 0x00,
            Verb::Hello => 0x01,
            Verb::Error => 0x02,
            Verb::Ok => 0x03,
            Verb::Whois => 0x04,
            Verb::Rendezvous => 0x05,
            Verb::Frame => 0x06,
            Verb::ExtFrame => 0x07,
            Verb::Echo => 0x08,
            Verb::MulticastLike => 0x09,
            Verb::NetworkCredentials => 0x0a,
            Verb::NetworkConfigRequest => 0x0b,
            Verb::NetworkConfig => 0x0c,
            Verb::MulticastGather => 0x0d,
            Verb::MulticastFrame => 0x0e,
            Verb::PushDirectPaths => 0x10,
            Verb::Ack => 0x12,
            Verb::QosMeasurement => 0x13,
            Verb::UserMessage => 0x14,
            Verb::RemoteTrace => 0x15,
            Verb::PathNegotiationRequest => 0x16,
            Verb::Unknown(v) => v & 0x1f,
        }
    }
    /// Upper-case name as ZeroTierOne prints it (`HELLO`, `OK`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Verb::Nop => "NOP",
            Verb::Hello => "HELLO",
            Verb::Error => "ERROR",
            Verb::Ok => "OK",
            Verb::Whois => "WHOIS",
            Verb::Rendezvous => "RENDEZVOUS",
            Verb::Frame => "FRAME",
            Verb::ExtFrame => "EXT_FRAME",
            Verb::Echo => "ECHO",
            Verb::MulticastLike => "MULTICAST_LIKE",
            Verb::NetworkCredentials => "NETWORK_CREDENTIALS",
            Verb::NetworkConfigRequest => "NETWORK_CONFIG_REQUEST",
            Verb::NetworkConfig => "NETWORK_CONFIG",
            Verb::MulticastGather => "MULTICAST_GATHER",
            Verb::MulticastFrame => "MULTICAST_FRAME",
            Verb::PushDirectPaths => "PUSH_DIRECT_PATHS",
            Verb::Ack => "ACK",
            Verb::QosMeasurement => "QOS_MEASUREMENT",
            Verb::UserMessage => "USER_MESSAGE",
            Verb::RemoteTrace => "REMOTE_TRACE",
            Verb::PathNegotiationRequest => "PATH_NEGOTIATION_REQUEST",
            Verb::Unknown(_) => "UNKNOWN",
        }
    }
}

/// The fixed 28-byte header of a packet (or of a fragmented packet's head).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Packet ID (the IV; rewritten by AES-GMAC-SIV armoring).
    pub packet_id: u64,
    /// Destination node.
    pub dest: Address,
    /// Source node.
    pub source: Address,
    /// Flags byte as on the wire (fragmented bit, cipher, hops).
    pub flags: u8,
    /// MAC field.
    pub mac: [u8; 8],
    /// Verb byte as on the wire (compression flag and verb).
    pub verb_byte: u8,
}

impl Header {
    /// Parse the first 28 bytes of `b`.
    pub fn parse(b: &[u8]) -> Result<Header, WireError> {
        if b.len() < MIN_PACKET_LEN {
            return Err(WireError::truncated("packet", 0, MIN_PACKET_LEN, b.len()));
        }
        Ok(Header {
            packet_id: u64::from_be_bytes(crate::crypto::first_n(b)),
            dest: Address::from_slice(&b[IDX_DEST..]).unwrap_or_default(),
            source: Address::from_slice(&b[IDX_SOURCE..]).unwrap_or_default(),
            flags: b[IDX_FLAGS],
            mac: crate::crypto::first_n(&b[IDX_MAC..]),
            verb_byte: b[IDX_VERB],
        })
    }
    /// Write the 28 bytes into `out[..28]`.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        if out.len() < MIN_PACKET_LEN {
            return Err(WireError::BufferTooSmall {
                need: MIN_PACKET_LEN,
                have: out.len(),
            });
        }
        out[..8].copy_from_slice(&self.packet_id.to_be_bytes());
        out[IDX_DEST..IDX_DEST + 5].copy_from_slice(&self.dest.to_bytes());
        out[IDX_SOURCE..IDX_SOURCE + 5].copy_from_slice(&self.source.to_bytes());
        out[IDX_FLAGS] = self.flags;
        out[IDX_MAC..IDX_MAC + 8].copy_from_slice(&self.mac);
        out[IDX_VERB] = self.verb_byte;
        Ok(())
    }
    /// Hop count (0..=7).
    pub fn hops(&self) -> u8 {
        self.flags & 7
    }
    /// Cipher suite field, if assigned.
    pub fn cipher(&self) -> Option<CipherSuite> {
        CipherSuite::from_bits((self.flags >> 3) & 7)
    }
    /// More fragments follow.
    pub fn fragmented(&self) -> bool {
        self.flags & FLAG_FRAGMENTED != 0
    }
    /// The verb.
    pub fn verb(&self) -> Verb {
        Verb::from_u8(self.verb_byte)
    }
    /// LZ4-compressed payload.
    pub fn compressed(&self) -> bool {
        self.verb_byte & VERB_FLAG_COMPRESSED != 0
    }
}

/// `true` when a datagram is a fragment (not a packet head): byte 13 is 0xff and it is longer
/// than the 16-byte fragment header.
pub fn is_fragment(b: &[u8]) -> bool {
    b.len() > MIN_FRAGMENT_LEN && b[13] == FRAGMENT_INDICATOR
}

/// Increment the hop count of a packet or fragment in place (the only field relays change).
/// Returns the new count, or `None` when the datagram is too short.
pub fn increment_hops(b: &mut [u8]) -> Option<u8> {
    let idx = if is_fragment(b) { 15 } else { IDX_FLAGS };
    if b.len() < MIN_FRAGMENT_LEN || (idx == IDX_FLAGS && b.len() < MIN_PACKET_LEN) {
        return None;
    }
    let h = ((b[idx] & 7) + 1).min(PROTO_MAX_HOPS);
    b[idx] = (b[idx] & 0xf8) | h;
    Some(h)
}

/// Hop count of a packet or fragment.
pub fn hops_of(b: &[u8]) -> u8 {
    if is_fragment(b) {
        b[15] & 7
    } else {
        b.get(IDX_FLAGS).map_or(0, |f| f & 7)
    }
}

/// A fragment (number 1..total-1) of a packet too large for one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Packet ID of the whole packet.
    pub packet_id: u64,
    /// Destination address.
    pub dest: Address,
    /// Total number of fragments, head included (1..=15).
    pub total: u8,
    /// This fragment's number (1..total).
    pub number: u8,
    /// Hops byte (low 3 bits: hop count).
    pub hops: u8,
    /// The slice of the packet this fragment carries.
    pub payload: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// Parse (checks the indicator and the minimum length only; numbering is checked by the
    /// reassembler).
    pub fn parse(b: &'a [u8]) -> Result<Self, WireError> {
        if b.len() < MIN_FRAGMENT_LEN {
            return Err(WireError::truncated(
                "fragment",
                0,
                MIN_FRAGMENT_LEN,
                b.len(),
            ));
        }
        if b[13] != FRAGMENT_INDICATOR {
            return Err(WireError::BadValue {
                what: "fragment",
                field: "indicator",
                value: u64::from(b[13]),
            });
        }
        Ok(Fragment {
            packet_id: u64::from_be_bytes(crate::crypto::first_n(b)),
            dest: Address::from_slice(&b[8..]).unwrap_or_default(),
            total: b[14] >> 4,
            number: b[14] & 0x0f,
            hops: b[15],
            payload: &b[16..],
        })
    }
    /// Length of the encoding.
    pub fn buffer_len(&self) -> usize {
        FRAGMENT_HEADER_LEN + self.payload.len()
    }
    /// Append the encoding to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.packet_id.to_be_bytes());
        out.extend_from_slice(&self.dest.to_bytes());
        out.push(FRAGMENT_INDICATOR);
        out.push((self.total << 4) | (self.number & 0x0f));
        out.push(self.hops);
        out.extend_from_slice(self.payload);
    }
}

/// Split an armored packet into datagrams of at most `mtu` bytes: the head and fragments 1.. .
/// The sender sets [`FLAG_FRAGMENTED`] *before* armoring (the flag is authenticated) whenever
/// `packet.len() > mtu`. Returns `None` when more than [`MAX_FRAGMENTS`] pieces would be
/// needed or `mtu` is too small to make progress.
pub fn fragment_packet(packet: &[u8], mtu: usize) -> Option<Vec<Vec<u8>>> {
    if packet.len() <= mtu {
        return Some(vec![packet.to_vec()]);
    }
    if mtu <= FRAGMENT_HEADER_LEN || mtu < MIN_PACKET_LEN {
        return None;
    }
    let chunk = mtu - FRAGMENT_HEADER_LEN;
    let rest = packet.len() - mtu;
    let total = 1 + rest.div_ceil(chunk);
    if total > MAX_FRAGMENTS {
        return None;
    }
    let mut out = vec![packet[..mtu].to_vec()];
    let packet_id = u64::from_be_bytes(crate::crypto::first_n(packet));
    let dest = Address::from_slice(&packet[IDX_DEST..]).unwrap_or_default();
    for (i, c) in packet[mtu..].chunks(chunk).enumerate() {
        let f = Fragment {
            packet_id,
            dest,
            total: total as u8,
            number: (i + 1) as u8,
            hops: 0,
            payload: c,
        };
        let mut v = Vec::with_capacity(f.buffer_len());
        f.emit(&mut v);
        out.push(v);
    }
    Some(out)
}

/// A physical address as ZeroTier serializes it (`InetAddress::serialize`): `0x00` nil,
/// `0x04` IPv4 (4 bytes + port), `0x06` IPv6 (16 bytes + port); types 1, 2 (6 bytes) and 3
/// (16-bit length + data) are accepted and kept for forward compatibility.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InetAddr {
    /// No address.
    Nil,
    /// IPv4 or IPv6 socket address.
    Ip(SocketAddr),
    /// Any other type, kept verbatim (type byte, then its data).
    Other(u8, Vec<u8>),
}

impl InetAddr {
    /// Parse at the start of `b`; returns the value and bytes used.
    pub fn parse(b: &[u8]) -> Result<(InetAddr, usize), WireError> {
        let t = *b.first().ok_or(WireError::truncated("address", 0, 1, 0))?;
        let need = |n: usize| -> Result<(), WireError> {
            if b.len() < n {
                Err(WireError::truncated("address", 1, n - 1, b.len() - 1))
            } else {
                Ok(())
            }
        };
        match t {
            0 => Ok((InetAddr::Nil, 1)),
            1 | 2 => {
                need(7)?;
                Ok((InetAddr::Other(t, b[1..7].to_vec()), 7))
            }
            3 => {
                need(3)?;
                let l = usize::from(u16::from_be_bytes([b[1], b[2]]));
                need(3 + l)?;
                Ok((InetAddr::Other(t, b[1..3 + l].to_vec()), 3 + l))
            }
            4 => {
                need(7)?;
                let ip = Ipv4Addr::new(b[1], b[2], b[3], b[4]);
                let port = u16::from_be_bytes([b[5], b[6]]);
                Ok((InetAddr::Ip(SocketAddr::new(IpAddr::V4(ip), port)), 7))
            }
            6 => {
                need(19)?;
                let ip = Ipv6Addr::from(crate::crypto::first_n::<16>(&b[1..]));
                let port = u16::from_be_bytes([b[17], b[18]]);
                Ok((InetAddr::Ip(SocketAddr::new(IpAddr::V6(ip), port)), 19))
            }
            other => Err(WireError::BadValue {
                what: "address",
                field: "type",
                value: u64::from(other),
            }),
        }
    }
    /// Append the encoding.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            InetAddr::Nil => out.push(0),
            InetAddr::Ip(SocketAddr::V4(a)) => {
                out.push(4);
                out.extend_from_slice(&a.ip().octets());
                out.extend_from_slice(&a.port().to_be_bytes());
            }
            InetAddr::Ip(SocketAddr::V6(a)) => {
                out.push(6);
                out.extend_from_slice(&a.ip().octets());
                out.extend_from_slice(&a.port().to_be_bytes());
            }
            InetAddr::Other(t, d) => {
                out.push(*t);
                out.extend_from_slice(d);
            }
        }
    }
    /// The socket address, if IP.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self {
            InetAddr::Ip(a) => Some(*a),
            _ => None,
        }
    }
}

/// Decompress an LZ4 block (the payload after the verb byte) into `out`, at most
/// `MAX_PACKET_LEN` bytes; returns the length.
pub fn lz4_decompress(input: &[u8], out: &mut Vec<u8>) -> Result<usize, WireError> {
    out.clear();
    out.resize(MAX_PACKET_LEN, 0);
    match lz4_flex::block::decompress_into(input, out) {
        Ok(n) => {
            out.truncate(n);
            Ok(n)
        }
        Err(_) => {
            out.clear();
            Err(WireError::Decompress {
                max: MAX_PACKET_LEN,
            })
        }
    }
}

/// Compress a payload as ZeroTierOne does: only payloads longer than 64 bytes, and only when the
/// result is shorter. Returns `None` when it is not worth it.
pub fn lz4_compress(input: &[u8]) -> Option<Vec<u8>> {
    if input.len() <= 64 {
        return None;
    }
    let c = lz4_flex::block::compress(input);
    (c.len() < input.len()).then_some(c)
}

/// A cursor over a verb payload that returns typed truncation errors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    pub b: &'a [u8],
    pub pos: usize,
    pub what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8], what: &'static str) -> Self {
        Reader { b, pos: 0, what }
    }
    pub fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::truncated(
                self.what,
                self.pos,
                n,
                self.remaining(),
            ));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.b[self.pos.min(self.b.len())..];
        self.pos = self.b.len();
        s
    }
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.bytes(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(crate::crypto::first_n(self.bytes(4)?)))
    }
    pub fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(crate::crypto::first_n(self.bytes(8)?)))
    }
    pub fn address(&mut self) -> Result<Address, WireError> {
        let b = self.bytes(ADDRESS_LEN)?;
        Ok(Address::from_slice(b).unwrap_or_default())
    }
    pub fn mac(&mut self) -> Result<[u8; 6], WireError> {
        Ok(crate::crypto::first_n(self.bytes(6)?))
    }
    pub fn inet(&mut self) -> Result<InetAddr, WireError> {
        let (a, n) =
            InetAddr::parse(&self.b[self.pos.min(self.b.len())..]).map_err(|e| match e {
                WireError::Truncated { need, got, .. } => {
                    WireError::truncated(self.what, self.pos, need, got)
                }
                other => other,
            })?;
        self.pos += n;
        Ok(a)
    }
}
