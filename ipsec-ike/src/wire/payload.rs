//! Typed payload bodies (RFC 7296 3.3-3.16, RFC 7383 2.5).

use std::net::IpAddr;

use super::consts::*;
use crate::error::WireError;

/// Bound on proposals / transforms / selectors / attributes in one payload.
pub const MAX_ITEMS: usize = 64;

/// The body of a payload (everything after the generic payload header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// SA (33): proposals.
    Sa(Vec<Proposal>),
    /// KE (34).
    Ke(Ke),
    /// IDi / IDr (35/36).
    Id(Id),
    /// CERT / CERTREQ (37/38): encoding and data.
    Cert(Cert),
    /// AUTH (39).
    Auth(Auth),
    /// Nonce (40).
    Nonce(Vec<u8>),
    /// Notify (41).
    Notify(Notify),
    /// Delete (42).
    Delete(Delete),
    /// Vendor ID (43).
    VendorId(Vec<u8>),
    /// TSi / TSr (44/45).
    Ts(Ts),
    /// SK (46): encrypted chain. `next` names the first inner payload; `data` is
    /// IV | ciphertext | ICV.
    Sk {
        /// First inner payload type.
        next: PayloadType,
        /// IV, encrypted payloads and padding, ICV.
        data: Vec<u8>,
    },
    /// CP (47).
    Cp(Cp),
    /// EAP (48): the EAP message (RFC 3748) as bytes.
    Eap(Vec<u8>),
    /// SKF (53, RFC 7383): one fragment of an encrypted chain.
    Skf {
        /// First inner payload type (non-zero only in fragment 1).
        next: PayloadType,
        /// Fragment number, 1-based.
        number: u16,
        /// Total fragments.
        total: u16,
        /// IV | ciphertext | ICV.
        data: Vec<u8>,
    },
    /// Any other payload type, kept verbatim.
    Unknown(Vec<u8>),
}

fn need(b: &[u8], n: usize, what: &'static str, off: usize) -> Result<(), WireError> {
    if b.len() < n {
        Err(WireError::trunc(what, off, n, b.len()))
    } else {
        Ok(())
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

impl Body {
    /// Parse the body of a payload of type `t`; `next` is the generic header's next-payload
    /// field (kept for SK/SKF, where it names the inner chain).
    pub fn parse(
        t: PayloadType,
        next: PayloadType,
        b: &[u8],
        off: usize,
    ) -> Result<Body, WireError> {
        Ok(match t {
            PayloadType::SA => Body::Sa(Proposal::parse_list(b, off)?),
            PayloadType::KE => {
                need(b, 4, "KE payload", off)?;
                Body::Ke(Ke {
                    group: DhId(be16(b)),
                    reserved: be16(&b[2..]),
                    data: b[4..].to_vec(),
                })
            }
            PayloadType::IDI | PayloadType::IDR => {
                need(b, 4, "ID payload", off)?;
                Body::Id(Id {
                    id_type: IdType(b[0]),
                    reserved: [b[1], b[2], b[3]],
                    data: b[4..].to_vec(),
                })
            }
            PayloadType::CERT | PayloadType::CERTREQ => {
                need(b, 1, "CERT payload", off)?;
                Body::Cert(Cert {
                    encoding: CertEncoding(b[0]),
                    data: b[1..].to_vec(),
                })
            }
            PayloadType::AUTH => {
                need(b, 4, "AUTH payload", off)?;
                Body::Auth(Auth {
                    method: AuthMethod(b[0]),
                    reserved: [b[1], b[2], b[3]],
                    data: b[4..].to_vec(),
                })
            }
            PayloadType::NONCE => Body::Nonce(b.to_vec()),
            PayloadType::NOTIFY => Body::Notify(Notify::parse(b, off)?),
            PayloadType::DELETE => Body::Delete(Delete::parse(b, off)?),
            PayloadType::VENDOR_ID => Body::VendorId(b.to_vec()),
            PayloadType::TSI | PayloadType::TSR => Body::Ts(Ts::parse(b, off)?),
            PayloadType::SK => Body::Sk {
                next,
                data: b.to_vec(),
            },
            PayloadType::CP => Body::Cp(Cp::parse(b, off)?),
            PayloadType::EAP => Body::Eap(b.to_vec()),
            PayloadType::SKF => {
                need(b, 4, "SKF payload", off)?;
                let number = be16(b);
                let total = be16(&b[2..]);
                if number == 0 || number > total {
                    return Err(WireError::BadValue {
                        what: "SKF fragment number",
                        offset: off,
                        value: u64::from(number),
                    });
                }
                Body::Skf {
                    next,
                    number,
                    total,
                    data: b[4..].to_vec(),
                }
            }
            _ => Body::Unknown(b.to_vec()),
        })
    }

    /// Bytes of the body on the wire.
    pub fn buffer_len(&self) -> usize {
        match self {
            Body::Sa(p) => p.iter().map(Proposal::buffer_len).sum(),
            Body::Ke(k) => 4 + k.data.len(),
            Body::Id(i) => 4 + i.data.len(),
            Body::Cert(c) => 1 + c.data.len(),
            Body::Auth(a) => 4 + a.data.len(),
            Body::Nonce(v) | Body::VendorId(v) | Body::Eap(v) | Body::Unknown(v) => v.len(),
            Body::Notify(n) => 4 + n.spi.len() + n.data.len(),
            Body::Delete(d) => 4 + d.spis.iter().map(Vec::len).sum::<usize>(),
            Body::Ts(t) => {
                4 + t
                    .selectors
                    .iter()
                    .map(TrafficSelector::buffer_len)
                    .sum::<usize>()
            }
            Body::Sk { data, .. } => data.len(),
            Body::Cp(c) => 4 + c.attrs.iter().map(|a| 4 + a.value.len()).sum::<usize>(),
            Body::Skf { data, .. } => 4 + data.len(),
        }
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            Body::Sa(ps) => {
                for (i, p) in ps.iter().enumerate() {
                    p.emit(out, i + 1 == ps.len());
                }
            }
            Body::Ke(k) => {
                out.extend_from_slice(&k.group.0.to_be_bytes());
                out.extend_from_slice(&k.reserved.to_be_bytes());
                out.extend_from_slice(&k.data);
            }
            Body::Id(i) => {
                out.push(i.id_type.0);
                out.extend_from_slice(&i.reserved);
                out.extend_from_slice(&i.data);
            }
            Body::Cert(c) => {
                out.push(c.encoding.0);
                out.extend_from_slice(&c.data);
            }
            Body::Auth(a) => {
                out.push(a.method.0);
                out.extend_from_slice(&a.reserved);
                out.extend_from_slice(&a.data);
            }
            Body::Nonce(v) | Body::VendorId(v) | Body::Eap(v) | Body::Unknown(v) => {
                out.extend_from_slice(v)
            }
            Body::Notify(n) => {
                out.push(n.protocol.0);
                out.push(n.spi.len() as u8);
                out.extend_from_slice(&n.ntype.0.to_be_bytes());
                out.extend_from_slice(&n.spi);
                out.extend_from_slice(&n.data);
            }
            Body::Delete(d) => {
                out.push(d.protocol.0);
                out.push(d.spi_size);
                out.extend_from_slice(&(d.spis.len() as u16).to_be_bytes());
                for s in &d.spis {
                    out.extend_from_slice(s);
                }
            }
            Body::Ts(t) => {
                out.push(t.selectors.len() as u8);
                out.extend_from_slice(&t.reserved);
                for s in &t.selectors {
                    s.emit(out);
                }
            }
            Body::Sk { data, .. } => out.extend_from_slice(data),
            Body::Cp(c) => {
                out.push(c.cfg_type.0);
                out.extend_from_slice(&c.reserved);
                for a in &c.attrs {
                    out.extend_from_slice(
                        &(a.attr_type.0 | (u16::from(a.reserved_bit) << 15)).to_be_bytes(),
                    );
                    out.extend_from_slice(&(a.value.len() as u16).to_be_bytes());
                    out.extend_from_slice(&a.value);
                }
            }
            Body::Skf {
                number,
                total,
                data,
                ..
            } => {
                out.extend_from_slice(&number.to_be_bytes());
                out.extend_from_slice(&total.to_be_bytes());
                out.extend_from_slice(data);
            }
        }
    }
}

/// A proposal substructure (RFC 7296 3.3.1).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Proposal {
    /// Proposal number (1 for the first, then consecutive).
    pub number: u8,
    /// Protocol: IKE, AH or ESP.
    pub protocol: ProtocolId,
    /// SPI (empty in IKE_SA_INIT, 8 bytes for an IKE rekey, 4 for ESP/AH).
    pub spi: Vec<u8>,
    /// Transforms.
    pub transforms: Vec<Transform>,
    /// Reserved byte after "last substruc" (kept as received).
    pub reserved: u8,
}

/// A transform substructure (RFC 7296 3.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transform {
    /// Transform type.
    pub ttype: TransformType,
    /// Transform ID.
    pub id: u16,
    /// Attributes (only Key Length is defined for IKEv2).
    pub attrs: Vec<Attribute>,
}

impl Transform {
    /// A transform without attributes.
    pub fn new(ttype: TransformType, id: u16) -> Transform {
        Transform {
            ttype,
            id,
            attrs: Vec::new(),
        }
    }
    /// A transform with a key length attribute (bits).
    pub fn with_key_len(ttype: TransformType, id: u16, bits: u16) -> Transform {
        Transform {
            ttype,
            id,
            attrs: vec![Attribute::Tv {
                attr_type: ATTR_KEY_LENGTH,
                value: bits,
            }],
        }
    }
    /// The key length attribute, if present.
    pub fn key_len(&self) -> Option<u16> {
        self.attrs.iter().find_map(|a| match a {
            Attribute::Tv { attr_type, value } if *attr_type == ATTR_KEY_LENGTH => Some(*value),
            _ => None,
        })
    }
    fn buffer_len(&self) -> usize {
        8 + self.attrs.iter().map(Attribute::buffer_len).sum::<usize>()
    }
}

/// A transform attribute (RFC 7296 3.3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// Type/Value (AF bit set): a 2-byte value.
    Tv {
        /// Attribute type (15 bits).
        attr_type: u16,
        /// Value.
        value: u16,
    },
    /// Type/Length/Value.
    Tlv {
        /// Attribute type (15 bits).
        attr_type: u16,
        /// Value.
        value: Vec<u8>,
    },
}

impl Attribute {
    fn buffer_len(&self) -> usize {
        match self {
            Attribute::Tv { .. } => 4,
            Attribute::Tlv { value, .. } => 4 + value.len(),
        }
    }
}

impl Proposal {
    fn parse_list(b: &[u8], off: usize) -> Result<Vec<Proposal>, WireError> {
        let mut out = Vec::new();
        let mut o = 0;
        loop {
            if out.len() >= MAX_ITEMS {
                return Err(WireError::TooManyPayloads(MAX_ITEMS));
            }
            let r = &b[o..];
            need(r, 8, "proposal", off + o)?;
            let last = r[0];
            let plen = usize::from(be16(&r[2..]));
            if plen < 8 || plen > r.len() {
                return Err(WireError::BadLength {
                    what: "proposal length",
                    offset: off + o + 2,
                    length: plen,
                });
            }
            let spi_size = usize::from(r[6]);
            let ntrans = usize::from(r[7]);
            need(&r[..plen], 8 + spi_size, "proposal SPI", off + o)?;
            let mut p = Proposal {
                number: r[4],
                protocol: ProtocolId(r[5]),
                spi: r[8..8 + spi_size].to_vec(),
                transforms: Vec::with_capacity(ntrans.min(MAX_ITEMS)),
                reserved: r[1],
            };
            let mut t = 8 + spi_size;
            for i in 0..ntrans {
                let tr = &r[t..plen];
                need(tr, 8, "transform", off + o + t)?;
                let tlast = tr[0];
                let tlen = usize::from(be16(&tr[2..]));
                if tlen < 8 || tlen > tr.len() {
                    return Err(WireError::BadLength {
                        what: "transform length",
                        offset: off + o + t + 2,
                        length: tlen,
                    });
                }
                let expect_last = if i + 1 == ntrans { 0 } else { 3 };
                if tlast != expect_last || tr[1] != 0 || tr[5] != 0 {
                    return Err(WireError::BadValue {
                        what: "transform last/reserved",
                        offset: off + o + t,
                        value: u64::from(tlast),
                    });
                }
                let mut attrs = Vec::new();
                let mut a = 8;
                while a < tlen {
                    if attrs.len() >= MAX_ITEMS {
                        return Err(WireError::TooManyPayloads(MAX_ITEMS));
                    }
                    let ar = &tr[a..tlen];
                    need(ar, 4, "transform attribute", off + o + t + a)?;
                    let ty = be16(ar);
                    if ty & 0x8000 != 0 {
                        attrs.push(Attribute::Tv {
                            attr_type: ty & 0x7fff,
                            value: be16(&ar[2..]),
                        });
                        a += 4;
                    } else {
                        let l = usize::from(be16(&ar[2..]));
                        need(ar, 4 + l, "transform attribute value", off + o + t + a)?;
                        attrs.push(Attribute::Tlv {
                            attr_type: ty,
                            value: ar[4..4 + l].to_vec(),
                        });
                        a += 4 + l;
                    }
                }
                p.transforms.push(Transform {
                    ttype: TransformType(tr[4]),
                    id: be16(&tr[6..]),
                    attrs,
                });
                t += tlen;
            }
            if t != plen {
                return Err(WireError::BadLength {
                    what: "proposal length vs transforms",
                    offset: off + o + 2,
                    length: plen,
                });
            }
            out.push(p);
            o += plen;
            match last {
                0 => break,
                2 => {}
                v => {
                    return Err(WireError::BadValue {
                        what: "proposal last substruc",
                        offset: off + o,
                        value: u64::from(v),
                    })
                }
            }
        }
        if o != b.len() {
            return Err(WireError::BadLength {
                what: "SA payload vs proposals",
                offset: off,
                length: b.len(),
            });
        }
        Ok(out)
    }

    fn buffer_len(&self) -> usize {
        8 + self.spi.len()
            + self
                .transforms
                .iter()
                .map(Transform::buffer_len)
                .sum::<usize>()
    }

    fn emit(&self, out: &mut Vec<u8>, last: bool) {
        out.push(if last { 0 } else { 2 });
        out.push(self.reserved);
        out.extend_from_slice(&(self.buffer_len() as u16).to_be_bytes());
        out.push(self.number);
        out.push(self.protocol.0);
        out.push(self.spi.len() as u8);
        out.push(self.transforms.len() as u8);
        out.extend_from_slice(&self.spi);
        for (i, t) in self.transforms.iter().enumerate() {
            out.push(if i + 1 == self.transforms.len() { 0 } else { 3 });
            out.push(0);
            out.extend_from_slice(&(t.buffer_len() as u16).to_be_bytes());
            out.push(t.ttype.0);
            out.push(0);
            out.extend_from_slice(&t.id.to_be_bytes());
            for a in &t.attrs {
                match a {
                    Attribute::Tv { attr_type, value } => {
                        out.extend_from_slice(&(attr_type | 0x8000).to_be_bytes());
                        out.extend_from_slice(&value.to_be_bytes());
                    }
                    Attribute::Tlv { attr_type, value } => {
                        out.extend_from_slice(&(attr_type & 0x7fff).to_be_bytes());
                        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
                        out.extend_from_slice(value);
                    }
                }
            }
        }
    }

    /// Transforms of one type, in order.
    pub fn of_type(&self, t: TransformType) -> impl Iterator<Item = &Transform> {
        self.transforms.iter().filter(move |x| x.ttype == t)
    }
}

/// KE payload (RFC 7296 3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ke {
    /// Diffie-Hellman group number.
    pub group: DhId,
    /// Reserved (kept as received).
    pub reserved: u16,
    /// Public value.
    pub data: Vec<u8>,
}

/// ID payload (RFC 7296 3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Id {
    /// ID type.
    pub id_type: IdType,
    /// Reserved (part of the AUTH octets, so kept).
    pub reserved: [u8; 3],
    /// Identification data.
    pub data: Vec<u8>,
}

impl Id {
    /// A new ID with zero reserved bytes.
    pub fn new(id_type: IdType, data: Vec<u8>) -> Id {
        Id {
            id_type,
            reserved: [0; 3],
            data,
        }
    }
    /// The body bytes as signed in AUTH (RFC 7296 2.15: the ID payload without its generic
    /// header).
    pub fn body_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + self.data.len());
        v.push(self.id_type.0);
        v.extend_from_slice(&self.reserved);
        v.extend_from_slice(&self.data);
        v
    }
    /// Human-readable form: address, FQDN, e-mail, hex key id, or hex DER.
    pub fn display(&self) -> String {
        match self.id_type {
            IdType::IPV4_ADDR if self.data.len() == 4 => {
                std::net::Ipv4Addr::new(self.data[0], self.data[1], self.data[2], self.data[3])
                    .to_string()
            }
            IdType::IPV6_ADDR if self.data.len() == 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&self.data);
                std::net::Ipv6Addr::from(a).to_string()
            }
            IdType::FQDN | IdType::RFC822_ADDR => String::from_utf8_lossy(&self.data).into_owned(),
            IdType::DER_ASN1_DN => {
                use x509_cert::der::Decode;
                match x509_cert::name::Name::from_der(&self.data) {
                    Ok(n) => n.to_string(),
                    Err(_) => self.data.iter().map(|b| format!("{b:02x}")).collect(),
                }
            }
            _ => self.data.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// CERT / CERTREQ payload (RFC 7296 3.6, 3.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cert {
    /// Encoding.
    pub encoding: CertEncoding,
    /// Certificate data (DER), or for CERTREQ the concatenated SHA-1 hashes of CA public keys.
    pub data: Vec<u8>,
}

/// AUTH payload (RFC 7296 3.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    /// Method.
    pub method: AuthMethod,
    /// Reserved.
    pub reserved: [u8; 3],
    /// Authentication data.
    pub data: Vec<u8>,
}

/// Notify payload (RFC 7296 3.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    /// Protocol ID (0 when the SPI field is empty).
    pub protocol: ProtocolId,
    /// SPI (size taken from its length).
    pub spi: Vec<u8>,
    /// Notify message type.
    pub ntype: NotifyType,
    /// Notification data.
    pub data: Vec<u8>,
}

impl Notify {
    /// A notify without SPI.
    pub fn new(ntype: NotifyType, data: Vec<u8>) -> Notify {
        Notify {
            protocol: ProtocolId(0),
            spi: Vec::new(),
            ntype,
            data,
        }
    }
    fn parse(b: &[u8], off: usize) -> Result<Notify, WireError> {
        need(b, 4, "Notify payload", off)?;
        let spi_size = usize::from(b[1]);
        need(b, 4 + spi_size, "Notify SPI", off)?;
        Ok(Notify {
            protocol: ProtocolId(b[0]),
            spi: b[4..4 + spi_size].to_vec(),
            ntype: NotifyType(be16(&b[2..])),
            data: b[4 + spi_size..].to_vec(),
        })
    }
}

/// Delete payload (RFC 7296 3.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delete {
    /// Protocol (IKE: no SPIs, the IKE SA of the message; ESP/AH: 4-byte SPIs).
    pub protocol: ProtocolId,
    /// SPI size byte.
    pub spi_size: u8,
    /// SPIs.
    pub spis: Vec<Vec<u8>>,
}

impl Delete {
    fn parse(b: &[u8], off: usize) -> Result<Delete, WireError> {
        need(b, 4, "Delete payload", off)?;
        let size = usize::from(b[1]);
        let n = usize::from(be16(&b[2..]));
        if size * n != b.len() - 4 {
            return Err(WireError::BadLength {
                what: "Delete SPIs",
                offset: off + 2,
                length: n,
            });
        }
        let spis = if size == 0 {
            Vec::new()
        } else {
            b[4..].chunks(size).map(<[u8]>::to_vec).collect()
        };
        if size == 0 && n != 0 {
            return Err(WireError::BadValue {
                what: "Delete SPI count with zero SPI size",
                offset: off + 2,
                value: n as u64,
            });
        }
        Ok(Delete {
            protocol: ProtocolId(b[0]),
            spi_size: size as u8,
            spis,
        })
    }
}

/// TSi / TSr payload (RFC 7296 3.13).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Ts {
    /// Reserved bytes (kept as received).
    pub reserved: [u8; 3],
    /// Selectors.
    pub selectors: Vec<TrafficSelector>,
}

impl Ts {
    /// A TS payload with these selectors.
    pub fn new(selectors: Vec<TrafficSelector>) -> Ts {
        Ts {
            reserved: [0; 3],
            selectors,
        }
    }
    fn parse(b: &[u8], off: usize) -> Result<Ts, WireError> {
        need(b, 4, "TS payload", off)?;
        let n = usize::from(b[0]);
        let mut sel = Vec::new();
        let mut o = 4;
        for _ in 0..n {
            let r = &b[o..];
            need(r, 4, "traffic selector", off + o)?;
            let len = usize::from(be16(&r[2..]));
            if len < 8 || len > r.len() {
                return Err(WireError::BadLength {
                    what: "traffic selector length",
                    offset: off + o + 2,
                    length: len,
                });
            }
            sel.push(TrafficSelector::parse(&r[..len], off + o)?);
            o += len;
        }
        if o != b.len() {
            return Err(WireError::BadLength {
                what: "TS payload vs selectors",
                offset: off,
                length: b.len(),
            });
        }
        Ok(Ts {
            reserved: [b[1], b[2], b[3]],
            selectors: sel,
        })
    }
}

/// One traffic selector: an address range, a protocol and a port range (RFC 7296 3.13.1).
/// Selectors of unknown type keep their bytes in `raw`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrafficSelector {
    /// TS type (7 IPv4, 8 IPv6).
    pub ts_type: TsType,
    /// IP protocol (0 = any).
    pub ip_proto: u8,
    /// First port.
    pub start_port: u16,
    /// Last port.
    pub end_port: u16,
    /// First address.
    pub start: IpAddr,
    /// Last address.
    pub end: IpAddr,
    /// Bytes after the header for an unknown type.
    pub raw: Vec<u8>,
}

impl TrafficSelector {
    /// Selector for the addresses `start..=end`, any protocol and port.
    pub fn range(start: IpAddr, end: IpAddr) -> TrafficSelector {
        TrafficSelector {
            ts_type: if start.is_ipv4() {
                TsType::IPV4_ADDR_RANGE
            } else {
                TsType::IPV6_ADDR_RANGE
            },
            ip_proto: 0,
            start_port: 0,
            end_port: 0xffff,
            start,
            end,
            raw: Vec::new(),
        }
    }
    fn parse(b: &[u8], off: usize) -> Result<TrafficSelector, WireError> {
        let ts_type = TsType(b[0]);
        let alen = match ts_type {
            TsType::IPV4_ADDR_RANGE => 4,
            TsType::IPV6_ADDR_RANGE => 16,
            _ => {
                return Ok(TrafficSelector {
                    ts_type,
                    ip_proto: b[1],
                    start_port: 0,
                    end_port: 0,
                    start: IpAddr::from([0u8; 4]),
                    end: IpAddr::from([0u8; 4]),
                    raw: b[4..].to_vec(),
                })
            }
        };
        if b.len() != 8 + 2 * alen {
            return Err(WireError::BadLength {
                what: "traffic selector length",
                offset: off + 2,
                length: b.len(),
            });
        }
        let addr = |s: &[u8]| -> IpAddr {
            if alen == 4 {
                IpAddr::from([s[0], s[1], s[2], s[3]])
            } else {
                let mut a = [0u8; 16];
                a.copy_from_slice(&s[..16]);
                IpAddr::from(a)
            }
        };
        Ok(TrafficSelector {
            ts_type,
            ip_proto: b[1],
            start_port: be16(&b[4..]),
            end_port: be16(&b[6..]),
            start: addr(&b[8..]),
            end: addr(&b[8 + alen..]),
            raw: Vec::new(),
        })
    }
    fn buffer_len(&self) -> usize {
        match self.ts_type {
            TsType::IPV4_ADDR_RANGE => 16,
            TsType::IPV6_ADDR_RANGE => 40,
            _ => 4 + self.raw.len(),
        }
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.ts_type.0);
        out.push(self.ip_proto);
        out.extend_from_slice(&(self.buffer_len() as u16).to_be_bytes());
        match self.ts_type {
            TsType::IPV4_ADDR_RANGE | TsType::IPV6_ADDR_RANGE => {
                out.extend_from_slice(&self.start_port.to_be_bytes());
                out.extend_from_slice(&self.end_port.to_be_bytes());
                for a in [self.start, self.end] {
                    match a {
                        IpAddr::V4(v) => out.extend_from_slice(&v.octets()),
                        IpAddr::V6(v) => out.extend_from_slice(&v.octets()),
                    }
                }
            }
            _ => out.extend_from_slice(&self.raw),
        }
    }
}

/// CP payload (RFC 7296 3.15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cp {
    /// CFG type.
    pub cfg_type: CfgType,
    /// Reserved.
    pub reserved: [u8; 3],
    /// Attributes.
    pub attrs: Vec<CfgAttr>,
}

/// One configuration attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfgAttr {
    /// The reserved high bit of the type field (kept as received).
    pub reserved_bit: bool,
    /// Attribute type.
    pub attr_type: CfgAttrType,
    /// Value (empty in a request for "any").
    pub value: Vec<u8>,
}

impl CfgAttr {
    /// An attribute.
    pub fn new(attr_type: CfgAttrType, value: Vec<u8>) -> CfgAttr {
        CfgAttr {
            reserved_bit: false,
            attr_type,
            value,
        }
    }
}

impl Cp {
    fn parse(b: &[u8], off: usize) -> Result<Cp, WireError> {
        need(b, 4, "CP payload", off)?;
        let mut attrs = Vec::new();
        let mut o = 4;
        while o < b.len() {
            if attrs.len() >= MAX_ITEMS {
                return Err(WireError::TooManyPayloads(MAX_ITEMS));
            }
            let r = &b[o..];
            need(r, 4, "CP attribute", off + o)?;
            let ty = be16(r);
            let l = usize::from(be16(&r[2..]));
            need(r, 4 + l, "CP attribute value", off + o)?;
            attrs.push(CfgAttr {
                reserved_bit: ty & 0x8000 != 0,
                attr_type: CfgAttrType(ty & 0x7fff),
                value: r[4..4 + l].to_vec(),
            });
            o += 4 + l;
        }
        Ok(Cp {
            cfg_type: CfgType(b[0]),
            reserved: [b[1], b[2], b[3]],
            attrs,
        })
    }
}
