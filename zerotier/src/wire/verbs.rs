//! Verb payload codecs (the bytes after the verb byte, decrypted and decompressed).
//!
//! Layouts follow ZeroTierOne 1.14 `node/Packet.hpp`; every integer is big-endian.
//! [`Message::parse`] dispatches on the verb (and, for OK and ERROR, on the in-re verb).
//! Structures of VL2 that VL1 only carries (network config dictionaries, capabilities, tags,
//! revocations, certificates of ownership) are kept as raw bytes, so every message re-encodes
//! byte-exact; the certificate of membership is decoded because its length is not prefixed.

use crate::address::{Address, NetworkId};
use crate::error::WireError;
use crate::identity::Identity;
use crate::wire::{InetAddr, Reader, Verb};

/// ERROR codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0x00 no error
    None,
    /// 0x01 invalid request
    InvalidRequest,
    /// 0x02 bad/unsupported protocol version
    BadProtocolVersion,
    /// 0x03 unknown object
    ObjNotFound,
    /// 0x04 HELLO pushed an identity whose address is already claimed
    IdentityCollision,
    /// 0x05 verb or use case not supported/enabled
    UnsupportedOperation,
    /// 0x06 network membership certificate update needed
    NeedMembershipCertificate,
    /// 0x07 tried to join network, but you're not authorized
    NetworkAccessDenied,
    /// 0x08 multicasts to this group are not wanted
    UnwantedMulticast,
    /// 0x09 network requires external or 2FA authentication
    NetworkAuthenticationRequired,
    /// Any other value.
    Other(u8),
}

impl ErrorCode {
    /// From the byte.
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => ErrorCode::None,
            1 => ErrorCode::InvalidRequest,
            2 => ErrorCode::BadProtocolVersion,
            3 => ErrorCode::ObjNotFound,
            4 => ErrorCode::IdentityCollision,
            5 => ErrorCode::UnsupportedOperation,
            6 => ErrorCode::NeedMembershipCertificate,
            7 => ErrorCode::NetworkAccessDenied,
            8 => ErrorCode::UnwantedMulticast,
            9 => ErrorCode::NetworkAuthenticationRequired,
            o => ErrorCode::Other(o),
        }
    }
    /// The byte.
    pub fn to_u8(self) -> u8 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::InvalidRequest => 1,
            ErrorCode::BadProtocolVersion => 2,
            ErrorCode::ObjNotFound => 3,
            ErrorCode::IdentityCollision => 4,
            ErrorCode::UnsupportedOperation => 5,
            ErrorCode::NeedMembershipCertificate => 6,
            ErrorCode::NetworkAccessDenied => 7,
            ErrorCode::UnwantedMulticast => 8,
            ErrorCode::NetworkAuthenticationRequired => 9,
            ErrorCode::Other(o) => o,
        }
    }
}

/// HELLO: a node's vitals and identity. Sent with cipher suite 0 (MAC only); the part after the
/// planet fields (`encrypted_tail`) is encrypted with [`crypto_field`](crate::crypto::crypt_field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Protocol version (12 for 1.14).
    pub protocol_version: u8,
    /// Software major version.
    pub major: u8,
    /// Software minor version.
    pub minor: u8,
    /// Software revision.
    pub revision: u16,
    /// Sender's timestamp (ms), echoed in OK(HELLO) for latency.
    pub timestamp: u64,
    /// Sender's identity (public).
    pub identity: Identity,
    /// The physical address the packet was sent to (`None` in very old versions).
    pub dest_addr: Option<InetAddr>,
    /// Planet world ID and timestamp, if present.
    pub planet: Option<(u64, u64)>,
    /// The encrypted moon list, as on the wire (see [`Moons`]).
    pub encrypted_tail: Vec<u8>,
}

impl Hello {
    /// Offset of the encrypted tail within the payload (after the verb byte) of this HELLO.
    pub fn tail_offset(&self) -> usize {
        let mut n = 1 + 1 + 1 + 2 + 8 + self.identity.buffer_len(false);
        if let Some(a) = &self.dest_addr {
            let mut v = Vec::new();
            a.emit(&mut v);
            n += v.len();
        }
        if self.planet.is_some() {
            n += 16;
        }
        n
    }
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "HELLO");
        let protocol_version = r.u8()?;
        let major = r.u8()?;
        let minor = r.u8()?;
        let revision = r.u16()?;
        let timestamp = r.u64()?;
        let (identity, n) = Identity::parse(r.rest()).map_err(|e| retag(e, "HELLO", 13))?;
        r.pos = 13 + n;
        if identity.has_secret() {
            return Err(WireError::BadValue {
                what: "HELLO",
                field: "identity secret length",
                value: 64,
            });
        }
        let dest_addr = if r.remaining() > 0 {
            Some(r.inet()?)
        } else {
            None
        };
        let planet = if r.remaining() >= 16 {
            Some((r.u64()?, r.u64()?))
        } else {
            None
        };
        let encrypted_tail = r.rest().to_vec();
        Ok(Hello {
            protocol_version,
            major,
            minor,
            revision,
            timestamp,
            identity,
            dest_addr,
            planet,
            encrypted_tail,
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.protocol_version);
        out.push(self.major);
        out.push(self.minor);
        out.extend_from_slice(&self.revision.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        self.identity.emit(out, false);
        if let Some(a) = &self.dest_addr {
            a.emit(out);
        }
        if let Some((id, ts)) = self.planet {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&ts.to_be_bytes());
        }
        out.extend_from_slice(&self.encrypted_tail);
    }
}

fn retag(e: WireError, what: &'static str, base: usize) -> WireError {
    match e {
        WireError::Truncated {
            offset, need, got, ..
        } => WireError::Truncated {
            what,
            offset: base + offset,
            need,
            got,
        },
        other => other,
    }
}

/// The decrypted HELLO tail: moons the sender has or wants (type, world ID, timestamp).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Moons {
    /// (type, id, timestamp) per moon.
    pub moons: Vec<(u8, u64, u64)>,
}

impl Moons {
    /// Parse a decrypted tail (empty input = no moon list).
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        if p.is_empty() {
            return Ok(Moons::default());
        }
        let mut r = Reader::new(p, "HELLO moons");
        let n = r.u16()?;
        let mut moons = Vec::new();
        for _ in 0..n {
            moons.push((r.u8()?, r.u64()?, r.u64()?));
        }
        Ok(Moons { moons })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.moons.len() as u16).to_be_bytes());
        for (t, id, ts) in &self.moons {
            out.push(*t);
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&ts.to_be_bytes());
        }
    }
}

/// OK(HELLO).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OkHello {
    /// Echo of the HELLO timestamp.
    pub timestamp_echo: u64,
    /// Responder's protocol version.
    pub protocol_version: u8,
    /// Responder's software major version.
    pub major: u8,
    /// Responder's software minor version.
    pub minor: u8,
    /// Responder's software revision.
    pub revision: u16,
    /// The physical address the HELLO came from, as the responder saw it (our external address).
    pub dest_addr: Option<InetAddr>,
    /// World updates (serialized planets/moons), if the field is present.
    pub world_updates: Option<Vec<u8>>,
}

impl OkHello {
    /// Parse (payload after in-re verb and packet ID).
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "OK(HELLO)");
        let timestamp_echo = r.u64()?;
        let protocol_version = r.u8()?;
        let major = r.u8()?;
        let minor = r.u8()?;
        let revision = r.u16()?;
        let dest_addr = if r.remaining() > 0 {
            Some(r.inet()?)
        } else {
            None
        };
        let world_updates = if r.remaining() >= 2 {
            let n = usize::from(r.u16()?);
            Some(r.bytes(n)?.to_vec())
        } else {
            None
        };
        if r.remaining() != 0 {
            return Err(WireError::TooLong {
                what: "OK(HELLO)",
                max: r.pos,
                got: p.len(),
            });
        }
        Ok(OkHello {
            timestamp_echo,
            protocol_version,
            major,
            minor,
            revision,
            dest_addr,
            world_updates,
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp_echo.to_be_bytes());
        out.push(self.protocol_version);
        out.push(self.major);
        out.push(self.minor);
        out.extend_from_slice(&self.revision.to_be_bytes());
        if let Some(a) = &self.dest_addr {
            a.emit(out);
        }
        if let Some(w) = &self.world_updates {
            out.extend_from_slice(&(w.len() as u16).to_be_bytes());
            out.extend_from_slice(w);
        }
    }
}

/// A certificate of membership (decoded for its length; checked in VL2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Com {
    /// (id, value, max delta) qualifiers.
    pub qualifiers: Vec<(u64, u64, u64)>,
    /// Signer (the controller); zero when unsigned.
    pub signed_by: Address,
    /// 96-byte signature when signed.
    pub signature: Option<Vec<u8>>,
}

impl Com {
    fn read(r: &mut Reader<'_>) -> Result<Com, WireError> {
        let v = r.u8()?;
        if v != 1 {
            return Err(WireError::BadValue {
                what: r.what,
                field: "COM version",
                value: u64::from(v),
            });
        }
        let n = r.u16()?;
        let mut qualifiers = Vec::new();
        for _ in 0..n {
            qualifiers.push((r.u64()?, r.u64()?, r.u64()?));
        }
        let signed_by = r.address()?;
        let signature = if signed_by.to_u64() != 0 {
            Some(r.bytes(96)?.to_vec())
        } else {
            None
        };
        Ok(Com {
            qualifiers,
            signed_by,
            signature,
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(1);
        out.extend_from_slice(&(self.qualifiers.len() as u16).to_be_bytes());
        for (a, b, c) in &self.qualifiers {
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&b.to_be_bytes());
            out.extend_from_slice(&c.to_be_bytes());
        }
        out.extend_from_slice(&self.signed_by.to_bytes());
        if let Some(s) = &self.signature {
            out.extend_from_slice(s);
        }
    }
}

/// RENDEZVOUS: "peer `address` may be found at `ip`:`port`".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendezvous {
    /// Flags (0).
    pub flags: u8,
    /// The other peer.
    pub address: Address,
    /// Its UDP port.
    pub port: u16,
    /// Its IP (4 or 16 bytes).
    pub ip: std::net::IpAddr,
    /// Bytes after the address (none today; kept for byte-exact re-encoding).
    pub trailing: Vec<u8>,
}

impl Rendezvous {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "RENDEZVOUS");
        let flags = r.u8()?;
        let address = r.address()?;
        let port = r.u16()?;
        let l = r.u8()?;
        let ip = match l {
            4 => std::net::IpAddr::from(crate::crypto::first_n::<4>(r.bytes(4)?)),
            16 => std::net::IpAddr::from(crate::crypto::first_n::<16>(r.bytes(16)?)),
            o => {
                return Err(WireError::BadValue {
                    what: "RENDEZVOUS",
                    field: "address length",
                    value: u64::from(o),
                })
            }
        };
        Ok(Rendezvous {
            flags,
            address,
            port,
            ip,
            trailing: r.rest().to_vec(),
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.flags);
        out.extend_from_slice(&self.address.to_bytes());
        out.extend_from_slice(&self.port.to_be_bytes());
        match self.ip {
            std::net::IpAddr::V4(a) => {
                out.push(4);
                out.extend_from_slice(&a.octets());
            }
            std::net::IpAddr::V6(a) => {
                out.push(16);
                out.extend_from_slice(&a.octets());
            }
        }
        out.extend_from_slice(&self.trailing);
    }
}

/// One PUSH_DIRECT_PATHS record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRecord {
    /// Flags (0x01 forget, 0x02 cluster redirect).
    pub flags: u8,
    /// Extended characteristics (normally empty).
    pub ext: Vec<u8>,
    /// Address type (4 or 6; others kept).
    pub addr_type: u8,
    /// Address bytes (IP then port for types 4 and 6).
    pub addr: Vec<u8>,
}

impl PathRecord {
    /// The socket address of a type 4 (6 bytes) or type 6 (18 bytes) record.
    pub fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        match (self.addr_type, self.addr.len()) {
            (4, 6) => Some(std::net::SocketAddr::new(
                std::net::IpAddr::from(crate::crypto::first_n::<4>(&self.addr)),
                u16::from_be_bytes([self.addr[4], self.addr[5]]),
            )),
            (6, 18) => Some(std::net::SocketAddr::new(
                std::net::IpAddr::from(crate::crypto::first_n::<16>(&self.addr)),
                u16::from_be_bytes([self.addr[16], self.addr[17]]),
            )),
            _ => None,
        }
    }
    /// A record for an IP socket address.
    pub fn from_socket_addr(a: std::net::SocketAddr) -> Self {
        let (t, mut v) = match a.ip() {
            std::net::IpAddr::V4(ip) => (4, ip.octets().to_vec()),
            std::net::IpAddr::V6(ip) => (6, ip.octets().to_vec()),
        };
        v.extend_from_slice(&a.port().to_be_bytes());
        PathRecord {
            flags: 0,
            ext: Vec::new(),
            addr_type: t,
            addr: v,
        }
    }
}

/// PUSH_DIRECT_PATHS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushDirectPaths {
    /// Records.
    pub paths: Vec<PathRecord>,
    /// Bytes after the records (kept for byte-exact re-encoding).
    pub trailing: Vec<u8>,
}

impl PushDirectPaths {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "PUSH_DIRECT_PATHS");
        let n = r.u16()?;
        let mut paths = Vec::new();
        for _ in 0..n {
            let flags = r.u8()?;
            let el = usize::from(r.u16()?);
            let ext = r.bytes(el)?.to_vec();
            let addr_type = r.u8()?;
            let al = usize::from(r.u8()?);
            let addr = r.bytes(al)?.to_vec();
            paths.push(PathRecord {
                flags,
                ext,
                addr_type,
                addr,
            });
        }
        Ok(PushDirectPaths {
            paths,
            trailing: r.rest().to_vec(),
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.paths.len() as u16).to_be_bytes());
        for p in &self.paths {
            out.push(p.flags);
            out.extend_from_slice(&(p.ext.len() as u16).to_be_bytes());
            out.extend_from_slice(&p.ext);
            out.push(p.addr_type);
            out.push(p.addr.len() as u8);
            out.extend_from_slice(&p.addr);
        }
        out.extend_from_slice(&self.trailing);
    }
}

/// FRAME: an Ethernet payload on a network; MACs implied by the ZeroTier addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Network.
    pub network_id: NetworkId,
    /// Ethertype.
    pub ethertype: u16,
    /// Ethernet payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "FRAME");
        Ok(Frame {
            network_id: NetworkId(r.u64()?),
            ethertype: r.u16()?,
            payload: r.rest().to_vec(),
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.network_id.0.to_be_bytes());
        out.extend_from_slice(&self.ethertype.to_be_bytes());
        out.extend_from_slice(&self.payload);
    }
}

/// EXT_FRAME: full MAC addressing and flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtFrame {
    /// Network.
    pub network_id: NetworkId,
    /// Flags (0x01 COM attached, 0x0e subtype, 0x10 ACK requested).
    pub flags: u8,
    /// Attached COM (deprecated, flag 0x01).
    pub com: Option<Com>,
    /// Destination MAC.
    pub to: [u8; 6],
    /// Source MAC.
    pub from: [u8; 6],
    /// Ethertype.
    pub ethertype: u16,
    /// Payload.
    pub payload: Vec<u8>,
}

impl ExtFrame {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "EXT_FRAME");
        let network_id = NetworkId(r.u64()?);
        let flags = r.u8()?;
        let com = if flags & 0x01 != 0 {
            Some(Com::read(&mut r)?)
        } else {
            None
        };
        Ok(ExtFrame {
            network_id,
            flags,
            com,
            to: r.mac()?,
            from: r.mac()?,
            ethertype: r.u16()?,
            payload: r.rest().to_vec(),
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.network_id.0.to_be_bytes());
        out.push(self.flags);
        if let Some(c) = &self.com {
            c.emit(out);
        }
        out.extend_from_slice(&self.to);
        out.extend_from_slice(&self.from);
        out.extend_from_slice(&self.ethertype.to_be_bytes());
        out.extend_from_slice(&self.payload);
    }
}

/// A multicast group on a network: (network, MAC, ADI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MulticastGroupRef {
    /// Network.
    pub network_id: NetworkId,
    /// Multicast MAC.
    pub mac: [u8; 6],
    /// Additional distinguishing information (e.g. the IPv4 address for ARP).
    pub adi: u32,
}

impl MulticastGroupRef {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(MulticastGroupRef {
            network_id: NetworkId(r.u64()?),
            mac: r.mac()?,
            adi: r.u32()?,
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.network_id.0.to_be_bytes());
        out.extend_from_slice(&self.mac);
        out.extend_from_slice(&self.adi.to_be_bytes());
    }
}

/// MULTICAST_LIKE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MulticastLike {
    /// Groups.
    pub groups: Vec<MulticastGroupRef>,
}

impl MulticastLike {
    /// Parse (a whole number of 18-byte tuples).
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        if !p.len().is_multiple_of(18) {
            return Err(WireError::truncated(
                "MULTICAST_LIKE",
                p.len() - p.len() % 18,
                18,
                p.len() % 18,
            ));
        }
        let mut r = Reader::new(p, "MULTICAST_LIKE");
        let mut groups = Vec::new();
        while r.remaining() > 0 {
            groups.push(MulticastGroupRef::read(&mut r)?);
        }
        Ok(MulticastLike { groups })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        for g in &self.groups {
            g.emit(out);
        }
    }
}

/// NETWORK_CREDENTIALS: certificates of membership (decoded), then capabilities, tags,
/// revocations and certificates of ownership (VL2, kept raw).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkCredentials {
    /// COMs before the terminating zero byte.
    pub coms: Vec<Com>,
    /// Everything after the zero byte (counted lists of capabilities, tags, revocations,
    /// certificates of ownership).
    pub rest: Vec<u8>,
}

impl NetworkCredentials {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "NETWORK_CREDENTIALS");
        let mut coms = Vec::new();
        loop {
            let peek =
                *r.b.get(r.pos)
                    .ok_or(WireError::truncated("NETWORK_CREDENTIALS", r.pos, 1, 0))?;
            if peek == 0 {
                r.pos += 1;
                break;
            }
            coms.push(Com::read(&mut r)?);
        }
        Ok(NetworkCredentials {
            coms,
            rest: r.rest().to_vec(),
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        for c in &self.coms {
            c.emit(out);
        }
        out.push(0);
        out.extend_from_slice(&self.rest);
    }
}

/// NETWORK_CONFIG_REQUEST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfigRequest {
    /// Network.
    pub network_id: NetworkId,
    /// Request metadata dictionary (VL2).
    pub metadata: Vec<u8>,
    /// Revision and timestamp of the config we have, if present.
    pub have: Option<(u64, u64)>,
    /// Any further bytes.
    pub trailing: Vec<u8>,
}

impl NetworkConfigRequest {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "NETWORK_CONFIG_REQUEST");
        let network_id = NetworkId(r.u64()?);
        let n = usize::from(r.u16()?);
        let metadata = r.bytes(n)?.to_vec();
        let have = if r.remaining() >= 16 {
            Some((r.u64()?, r.u64()?))
        } else {
            None
        };
        Ok(NetworkConfigRequest {
            network_id,
            metadata,
            have,
            trailing: r.rest().to_vec(),
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.network_id.0.to_be_bytes());
        out.extend_from_slice(&(self.metadata.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.metadata);
        if let Some((a, b)) = self.have {
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&b.to_be_bytes());
        }
        out.extend_from_slice(&self.trailing);
    }
}

/// The chunking and signature fields of a config chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigChunkInfo {
    /// Flags (0x01 fast propagation).
    pub flags: u8,
    /// Config update ID.
    pub update_id: u64,
    /// Total length of the assembled dictionary.
    pub total_len: u32,
    /// Index (byte offset) of this chunk.
    pub chunk_index: u32,
    /// Signature type (1 = Ed25519/C25519).
    pub signature_type: u8,
    /// Signature bytes.
    pub signature: Vec<u8>,
}

/// NETWORK_CONFIG, and the payload of OK(NETWORK_CONFIG_REQUEST): a (possibly partial)
/// network config dictionary chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfigChunk {
    /// Network.
    pub network_id: NetworkId,
    /// Dictionary chunk (VL2).
    pub chunk: Vec<u8>,
    /// Chunking/signature fields (absent in the legacy single-chunk OK form).
    pub info: Option<ConfigChunkInfo>,
}

impl NetworkConfigChunk {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "NETWORK_CONFIG");
        let network_id = NetworkId(r.u64()?);
        let n = usize::from(r.u16()?);
        let chunk = r.bytes(n)?.to_vec();
        let info = if r.remaining() > 0 {
            let flags = r.u8()?;
            let update_id = r.u64()?;
            let total_len = r.u32()?;
            let chunk_index = r.u32()?;
            let signature_type = r.u8()?;
            let sl = usize::from(r.u16()?);
            let signature = r.bytes(sl)?.to_vec();
            Some(ConfigChunkInfo {
                flags,
                update_id,
                total_len,
                chunk_index,
                signature_type,
                signature,
            })
        } else {
            None
        };
        if r.remaining() != 0 {
            return Err(WireError::TooLong {
                what: "NETWORK_CONFIG",
                max: r.pos,
                got: p.len(),
            });
        }
        Ok(NetworkConfigChunk {
            network_id,
            chunk,
            info,
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.network_id.0.to_be_bytes());
        out.extend_from_slice(&(self.chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.chunk);
        if let Some(i) = &self.info {
            out.push(i.flags);
            out.extend_from_slice(&i.update_id.to_be_bytes());
            out.extend_from_slice(&i.total_len.to_be_bytes());
            out.extend_from_slice(&i.chunk_index.to_be_bytes());
            out.push(i.signature_type);
            out.extend_from_slice(&(i.signature.len() as u16).to_be_bytes());
            out.extend_from_slice(&i.signature);
        }
    }
}

/// MULTICAST_GATHER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MulticastGather {
    /// Group.
    pub group: MulticastGroupRef,
    /// Flags (0x01 COM attached).
    pub flags: u8,
    /// Requested maximum number of members.
    pub limit: u32,
    /// Attached COM.
    pub com: Option<Com>,
    /// Bytes after the COM (kept for byte-exact re-encoding).
    pub trailing: Vec<u8>,
}

impl MulticastGather {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "MULTICAST_GATHER");
        let network_id = NetworkId(r.u64()?);
        let flags = r.u8()?;
        let mac = r.mac()?;
        let adi = r.u32()?;
        let limit = r.u32()?;
        let com = if flags & 0x01 != 0 {
            Some(Com::read(&mut r)?)
        } else {
            None
        };
        Ok(MulticastGather {
            group: MulticastGroupRef {
                network_id,
                mac,
                adi,
            },
            flags,
            limit,
            com,
            trailing: r.rest().to_vec(),
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.group.network_id.0.to_be_bytes());
        out.push(self.flags);
        out.extend_from_slice(&self.group.mac);
        out.extend_from_slice(&self.group.adi.to_be_bytes());
        out.extend_from_slice(&self.limit.to_be_bytes());
        if let Some(c) = &self.com {
            c.emit(out);
        }
        out.extend_from_slice(&self.trailing);
    }
}

/// Gather results: total known members and the addresses enumerated here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatherResults {
    /// Total known members of the group.
    pub total: u32,
    /// Members in this packet.
    pub members: Vec<Address>,
}

impl GatherResults {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let total = r.u32()?;
        let n = r.u16()?;
        let mut members = Vec::new();
        for _ in 0..n {
            members.push(r.address()?);
        }
        Ok(GatherResults { total, members })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.total.to_be_bytes());
        out.extend_from_slice(&(self.members.len() as u16).to_be_bytes());
        for m in &self.members {
            out.extend_from_slice(&m.to_bytes());
        }
    }
}

/// OK(MULTICAST_GATHER).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OkMulticastGather {
    /// Group.
    pub group: MulticastGroupRef,
    /// Results.
    pub results: GatherResults,
}

/// MULTICAST_FRAME.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MulticastFrame {
    /// Network.
    pub network_id: NetworkId,
    /// Flags: 0x01 COM, 0x02 gather limit present, 0x04 source MAC present, 0x08 replicate.
    pub flags: u8,
    /// Attached COM (deprecated).
    pub com: Option<Com>,
    /// Implicit gather limit.
    pub gather_limit: Option<u32>,
    /// Source MAC.
    pub source_mac: Option<[u8; 6]>,
    /// Group (destination MAC and ADI).
    pub dest_mac: [u8; 6],
    /// ADI.
    pub adi: u32,
    /// Ethertype.
    pub ethertype: u16,
    /// Payload.
    pub payload: Vec<u8>,
}

impl MulticastFrame {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "MULTICAST_FRAME");
        let network_id = NetworkId(r.u64()?);
        let flags = r.u8()?;
        let com = if flags & 0x01 != 0 {
            Some(Com::read(&mut r)?)
        } else {
            None
        };
        let gather_limit = if flags & 0x02 != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        let source_mac = if flags & 0x04 != 0 {
            Some(r.mac()?)
        } else {
            None
        };
        Ok(MulticastFrame {
            network_id,
            flags,
            com,
            gather_limit,
            source_mac,
            dest_mac: r.mac()?,
            adi: r.u32()?,
            ethertype: r.u16()?,
            payload: r.rest().to_vec(),
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.network_id.0.to_be_bytes());
        out.push(self.flags);
        if let Some(c) = &self.com {
            c.emit(out);
        }
        if let Some(g) = self.gather_limit {
            out.extend_from_slice(&g.to_be_bytes());
        }
        if let Some(m) = self.source_mac {
            out.extend_from_slice(&m);
        }
        out.extend_from_slice(&self.dest_mac);
        out.extend_from_slice(&self.adi.to_be_bytes());
        out.extend_from_slice(&self.ethertype.to_be_bytes());
        out.extend_from_slice(&self.payload);
    }
}

/// The request-specific part of an OK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OkBody {
    /// OK(HELLO).
    Hello(OkHello),
    /// OK(WHOIS): one or more identities.
    Whois(Vec<Identity>),
    /// OK(ECHO): the echoed payload.
    Echo(Vec<u8>),
    /// OK(NETWORK_CONFIG_REQUEST): a config chunk.
    NetworkConfigRequest(NetworkConfigChunk),
    /// OK(NETWORK_CONFIG): network and update ID.
    NetworkConfig(NetworkId, u64),
    /// OK(MULTICAST_GATHER).
    MulticastGather(OkMulticastGather),
    /// Any other in-re verb (kept raw; includes OK(MULTICAST_FRAME) and OK(EXT_FRAME)).
    Raw(Vec<u8>),
}

/// OK: reply to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OkMsg {
    /// Verb replied to.
    pub in_re_verb: Verb,
    /// Raw in-re verb byte (for byte-exact re-encoding).
    pub in_re_verb_byte: u8,
    /// Packet ID replied to.
    pub in_re_packet_id: u64,
    /// Body.
    pub body: OkBody,
}

impl OkMsg {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "OK");
        let in_re_verb_byte = r.u8()?;
        let in_re_verb = Verb::from_u8(in_re_verb_byte);
        let in_re_packet_id = r.u64()?;
        let rest = r.rest();
        let body = match in_re_verb {
            Verb::Hello => {
                OkBody::Hello(OkHello::parse(rest).map_err(|e| retag(e, "OK(HELLO)", 9))?)
            }
            Verb::Whois => {
                let mut ids = Vec::new();
                let mut off = 0;
                while off < rest.len() {
                    let (id, n) = Identity::parse(&rest[off..])
                        .map_err(|e| retag(e, "OK(WHOIS)", 9 + off))?;
                    // A WHOIS answer carries public identities only (as HELLO does); a private
                    // key on the wire is refused rather than kept or silently dropped.
                    if id.has_secret() {
                        return Err(WireError::BadValue {
                            what: "OK(WHOIS)",
                            field: "identity secret length",
                            value: 64,
                        });
                    }
                    ids.push(id);
                    off += n;
                }
                OkBody::Whois(ids)
            }
            Verb::Echo => OkBody::Echo(rest.to_vec()),
            Verb::NetworkConfigRequest => {
                OkBody::NetworkConfigRequest(NetworkConfigChunk::parse(rest)?)
            }
            Verb::NetworkConfig => {
                let mut r2 = Reader::new(rest, "OK(NETWORK_CONFIG)");
                let n = NetworkId(r2.u64()?);
                let u = r2.u64()?;
                if r2.remaining() != 0 {
                    OkBody::Raw(rest.to_vec())
                } else {
                    OkBody::NetworkConfig(n, u)
                }
            }
            Verb::MulticastGather => {
                let mut r2 = Reader::new(rest, "OK(MULTICAST_GATHER)");
                let group = MulticastGroupRef::read(&mut r2)?;
                let results = GatherResults::read(&mut r2)?;
                if r2.remaining() != 0 {
                    OkBody::Raw(rest.to_vec())
                } else {
                    OkBody::MulticastGather(OkMulticastGather { group, results })
                }
            }
            _ => OkBody::Raw(rest.to_vec()),
        };
        Ok(OkMsg {
            in_re_verb,
            in_re_verb_byte,
            in_re_packet_id,
            body,
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.in_re_verb_byte);
        out.extend_from_slice(&self.in_re_packet_id.to_be_bytes());
        match &self.body {
            OkBody::Hello(h) => h.emit(out),
            OkBody::Whois(ids) => {
                for i in ids {
                    i.emit(out, false);
                }
            }
            OkBody::Echo(p) | OkBody::Raw(p) => out.extend_from_slice(p),
            OkBody::NetworkConfigRequest(c) => c.emit(out),
            OkBody::NetworkConfig(n, u) => {
                out.extend_from_slice(&n.0.to_be_bytes());
                out.extend_from_slice(&u.to_be_bytes());
            }
            OkBody::MulticastGather(g) => {
                g.group.emit(out);
                g.results.emit(out);
            }
        }
    }
}

/// ERROR: a request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorMsg {
    /// Verb replied to.
    pub in_re_verb: Verb,
    /// Raw in-re verb byte.
    pub in_re_verb_byte: u8,
    /// Packet ID replied to.
    pub in_re_packet_id: u64,
    /// Error code.
    pub code: ErrorCode,
    /// Error-dependent payload (e.g. the network ID for NETWORK_CONFIG_REQUEST errors).
    pub payload: Vec<u8>,
}

impl ErrorMsg {
    /// Parse.
    pub fn parse(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p, "ERROR");
        let in_re_verb_byte = r.u8()?;
        Ok(ErrorMsg {
            in_re_verb: Verb::from_u8(in_re_verb_byte),
            in_re_verb_byte,
            in_re_packet_id: r.u64()?,
            code: ErrorCode::from_u8(r.u8()?),
            payload: r.rest().to_vec(),
        })
    }
    /// Append.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.in_re_verb_byte);
        out.extend_from_slice(&self.in_re_packet_id.to_be_bytes());
        out.push(self.code.to_u8());
        out.extend_from_slice(&self.payload);
    }
    /// The network ID at the start of the payload (NETWORK_CONFIG_REQUEST / FRAME errors).
    pub fn network_id(&self) -> Option<NetworkId> {
        self.payload
            .get(..8)
            .map(|b| NetworkId(u64::from_be_bytes(crate::crypto::first_n(b))))
    }
}

/// A decoded verb payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// NOP (payload ignored, kept).
    Nop(Vec<u8>),
    /// HELLO.
    Hello(Hello),
    /// ERROR.
    Error(ErrorMsg),
    /// OK.
    Ok(OkMsg),
    /// WHOIS: addresses to look up.
    Whois(Vec<Address>),
    /// RENDEZVOUS.
    Rendezvous(Rendezvous),
    /// FRAME.
    Frame(Frame),
    /// EXT_FRAME.
    ExtFrame(ExtFrame),
    /// ECHO.
    Echo(Vec<u8>),
    /// MULTICAST_LIKE.
    MulticastLike(MulticastLike),
    /// NETWORK_CREDENTIALS.
    NetworkCredentials(NetworkCredentials),
    /// NETWORK_CONFIG_REQUEST.
    NetworkConfigRequest(NetworkConfigRequest),
    /// NETWORK_CONFIG.
    NetworkConfig(NetworkConfigChunk),
    /// MULTICAST_GATHER.
    MulticastGather(MulticastGather),
    /// MULTICAST_FRAME.
    MulticastFrame(MulticastFrame),
    /// PUSH_DIRECT_PATHS.
    PushDirectPaths(PushDirectPaths),
    /// Any other verb, raw.
    Other(Verb, Vec<u8>),
}

impl Message {
    /// Decode the plaintext, decompressed payload of `verb`.
    pub fn parse(verb: Verb, p: &[u8]) -> Result<Message, WireError> {
        Ok(match verb {
            Verb::Nop => Message::Nop(p.to_vec()),
            Verb::Hello => Message::Hello(Hello::parse(p)?),
            Verb::Error => Message::Error(ErrorMsg::parse(p)?),
            Verb::Ok => Message::Ok(OkMsg::parse(p)?),
            Verb::Whois => {
                if p.is_empty() || !p.len().is_multiple_of(5) {
                    return Err(WireError::truncated(
                        "WHOIS",
                        p.len() - p.len() % 5,
                        5,
                        p.len() % 5,
                    ));
                }
                Message::Whois(p.chunks(5).filter_map(Address::from_slice).collect())
            }
            Verb::Rendezvous => Message::Rendezvous(Rendezvous::parse(p)?),
            Verb::Frame => Message::Frame(Frame::parse(p)?),
            Verb::ExtFrame => Message::ExtFrame(ExtFrame::parse(p)?),
            Verb::Echo => Message::Echo(p.to_vec()),
            Verb::MulticastLike => Message::MulticastLike(MulticastLike::parse(p)?),
            Verb::NetworkCredentials => Message::NetworkCredentials(NetworkCredentials::parse(p)?),
            Verb::NetworkConfigRequest => {
                Message::NetworkConfigRequest(NetworkConfigRequest::parse(p)?)
            }
            Verb::NetworkConfig => Message::NetworkConfig(NetworkConfigChunk::parse(p)?),
            Verb::MulticastGather => Message::MulticastGather(MulticastGather::parse(p)?),
            Verb::MulticastFrame => Message::MulticastFrame(MulticastFrame::parse(p)?),
            Verb::PushDirectPaths => Message::PushDirectPaths(PushDirectPaths::parse(p)?),
            other => Message::Other(other, p.to_vec()),
        })
    }
    /// The verb.
    pub fn verb(&self) -> Verb {
        match self {
            Message::Nop(_) => Verb::Nop,
            Message::Hello(_) => Verb::Hello,
            Message::Error(_) => Verb::Error,
            Message::Ok(_) => Verb::Ok,
            Message::Whois(_) => Verb::Whois,
            Message::Rendezvous(_) => Verb::Rendezvous,
            Message::Frame(_) => Verb::Frame,
            Message::ExtFrame(_) => Verb::ExtFrame,
            Message::Echo(_) => Verb::Echo,
            Message::MulticastLike(_) => Verb::MulticastLike,
            Message::NetworkCredentials(_) => Verb::NetworkCredentials,
            Message::NetworkConfigRequest(_) => Verb::NetworkConfigRequest,
            Message::NetworkConfig(_) => Verb::NetworkConfig,
            Message::MulticastGather(_) => Verb::MulticastGather,
            Message::MulticastFrame(_) => Verb::MulticastFrame,
            Message::PushDirectPaths(_) => Verb::PushDirectPaths,
            Message::Other(v, _) => *v,
        }
    }
    /// Append the payload encoding.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            Message::Nop(p) | Message::Echo(p) | Message::Other(_, p) => out.extend_from_slice(p),
            Message::Hello(h) => h.emit(out),
            Message::Error(e) => e.emit(out),
            Message::Ok(o) => o.emit(out),
            Message::Whois(a) => {
                for x in a {
                    out.extend_from_slice(&x.to_bytes());
                }
            }
            Message::Rendezvous(r) => r.emit(out),
            Message::Frame(f) => f.emit(out),
            Message::ExtFrame(f) => f.emit(out),
            Message::MulticastLike(m) => m.emit(out),
            Message::NetworkCredentials(n) => n.emit(out),
            Message::NetworkConfigRequest(n) => n.emit(out),
            Message::NetworkConfig(n) => n.emit(out),
            Message::MulticastGather(m) => m.emit(out),
            Message::MulticastFrame(m) => m.emit(out),
            Message::PushDirectPaths(p) => p.emit(out),
        }
    }
    /// One-line summary for ladders and logs.
    pub fn summary(&self) -> String {
        match self {
            Message::Hello(h) => format!(
                "HELLO proto {} v{}.{}.{} from {}",
                h.protocol_version,
                h.major,
                h.minor,
                h.revision,
                h.identity.address()
            ),
            Message::Ok(o) => match &o.body {
                OkBody::Hello(h) => format!(
                    "OK(HELLO) proto {} v{}.{}.{}",
                    h.protocol_version, h.major, h.minor, h.revision
                ),
                OkBody::Whois(ids) => format!(
                    "OK(WHOIS) {}",
                    ids.iter()
                        .map(|i| i.address().to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                OkBody::Echo(p) => format!("OK(ECHO) {} bytes", p.len()),
                _ => format!("OK({})", o.in_re_verb.name()),
            },
            Message::Error(e) => format!("ERROR({}) {:?}", e.in_re_verb.name(), e.code),
            Message::Whois(a) => format!(
                "WHOIS {}",
                a.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Message::Rendezvous(r) => format!(
                "RENDEZVOUS {} at {}",
                r.address,
                std::net::SocketAddr::new(r.ip, r.port)
            ),
            Message::Echo(p) => format!("ECHO {} bytes", p.len()),
            Message::Frame(f) => format!(
                "FRAME nwid {} type {:04x} {} bytes",
                f.network_id,
                f.ethertype,
                f.payload.len()
            ),
            Message::PushDirectPaths(p) => format!(
                "PUSH_DIRECT_PATHS {}",
                p.paths
                    .iter()
                    .filter_map(|r| r.socket_addr())
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            other => other.verb().name().to_string(),
        }
    }
}
