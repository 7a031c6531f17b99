//! Control-protocol packets (RFC 1661 s5) and the options of LCP (RFC 1661 s6, RFC 1662 s7.1,
//! RFC 1990 s5.1), IPCP (RFC 1332 s3, RFC 1877) and IPv6CP (RFC 5072 s4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Code      |  Identifier   |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Data (options: Type, Length, Value...) ...
//! ```

use crate::error::WireError;
use std::net::Ipv4Addr;

/// Control packet codes (RFC 1661 s5, RFC 1570 for 12 and 13, RFC 1962 for 14 and 15).
pub mod code {
    /// Configure-Request.
    pub const CONFIGURE_REQUEST: u8 = 1;
    /// Configure-Ack.
    pub const CONFIGURE_ACK: u8 = 2;
    /// Configure-Nak.
    pub const CONFIGURE_NAK: u8 = 3;
    /// Configure-Reject.
    pub const CONFIGURE_REJECT: u8 = 4;
    /// Terminate-Request.
    pub const TERMINATE_REQUEST: u8 = 5;
    /// Terminate-Ack.
    pub const TERMINATE_ACK: u8 = 6;
    /// Code-Reject.
    pub const CODE_REJECT: u8 = 7;
    /// Protocol-Reject (LCP only).
    pub const PROTOCOL_REJECT: u8 = 8;
    /// Echo-Request (LCP only).
    pub const ECHO_REQUEST: u8 = 9;
    /// Echo-Reply (LCP only).
    pub const ECHO_REPLY: u8 = 10;
    /// Discard-Request (LCP only).
    pub const DISCARD_REQUEST: u8 = 11;
    /// Identification (LCP only, RFC 1570).
    pub const IDENTIFICATION: u8 = 12;
    /// Time-Remaining (LCP only, RFC 1570).
    pub const TIME_REMAINING: u8 = 13;
    /// Reset-Request (CCP, RFC 1962).
    pub const RESET_REQUEST: u8 = 14;
    /// Reset-Ack (CCP, RFC 1962).
    pub const RESET_ACK: u8 = 15;

    /// Name for logs.
    pub fn name(code: u8) -> &'static str {
        match code {
            1 => "ConfReq",
            2 => "ConfAck",
            3 => "ConfNak",
            4 => "ConfRej",
            5 => "TermReq",
            6 => "TermAck",
            7 => "CodeRej",
            8 => "ProtRej",
            9 => "EchoReq",
            10 => "EchoRep",
            11 => "DiscReq",
            12 => "Ident",
            13 => "TimeRem",
            14 => "ResetReq",
            15 => "ResetAck",
            _ => "Code?",
        }
    }
}

/// A control packet: code, identifier and data. Octets beyond the Length field are padding and
/// are ignored (RFC 1661 s5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpPacket<'a> {
    /// The code.
    pub code: u8,
    /// The identifier matching requests and replies.
    pub identifier: u8,
    /// Everything after the 4-octet header, up to Length.
    pub data: &'a [u8],
}

impl<'a> CpPacket<'a> {
    /// Parse a packet (the information field of an LCP/NCP frame).
    pub fn parse(buf: &'a [u8]) -> Result<Self, WireError> {
        if buf.len() < 4 {
            return Err(WireError::Truncated {
                what: "control packet header",
                offset: 0,
                needed: 4,
                have: buf.len(),
            });
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if len < 4 || len > buf.len() {
            return Err(WireError::BadLength {
                what: "control packet",
                length: len,
                min: 4,
                max: buf.len(),
            });
        }
        Ok(CpPacket {
            code: buf[0],
            identifier: buf[1],
            data: &buf[4..len],
        })
    }

    /// Octets [`CpPacket::emit`] appends.
    pub fn buffer_len(&self) -> usize {
        4 + self.data.len()
    }

    /// Append the packet to `out`. Data longer than 65531 octets is truncated to fit Length.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let data = self.data.get(..65531).unwrap_or(self.data);
        out.push(self.code);
        out.push(self.identifier);
        out.extend_from_slice(&((data.len() + 4) as u16).to_be_bytes());
        out.extend_from_slice(data);
    }

    /// The packet as a new `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.buffer_len());
        self.emit(&mut v);
        v
    }
}

/// One raw option (Type, Length, Value) of a Configure-* packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawOption<'a> {
    /// The option type.
    pub kind: u8,
    /// The value (Length - 2 octets).
    pub value: &'a [u8],
}

impl RawOption<'_> {
    /// Append the option (type, length, value) to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let v = self.value.get(..253).unwrap_or(self.value);
        out.push(self.kind);
        out.push((v.len() + 2) as u8);
        out.extend_from_slice(v);
    }
}

/// Iterate the options of a Configure-Request/Ack/Nak/Reject. Yields an error (once, then
/// stops) for an option whose length is below 2 or runs past the data.
pub fn options(data: &[u8]) -> OptionIter<'_> {
    OptionIter { data, pos: 0 }
}

/// Parse every option, failing on the first malformed one.
pub fn parse_options(data: &[u8]) -> Result<Vec<RawOption<'_>>, WireError> {
    options(data).collect()
}

/// Iterator returned by [`options`].
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<RawOption<'a>, WireError>;
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let offset = self.pos;
        self.pos = self.data.len();
        if rest.len() < 2 {
            return Some(Err(WireError::Truncated {
                what: "option header",
                offset,
                needed: 2,
                have: rest.len(),
            }));
        }
        let len = usize::from(rest[1]);
        if len < 2 || len > rest.len() {
            return Some(Err(WireError::BadLength {
                what: "option",
                length: len,
                min: 2,
                max: rest.len(),
            }));
        }
        self.pos = offset + len;
        Some(Ok(RawOption {
            kind: rest[0],
            value: &rest[2..len],
        }))
    }
}

fn exact<const N: usize>(field: &'static str, v: &[u8]) -> Result<[u8; N], WireError> {
    v.try_into().map_err(|_| WireError::BadLength {
        what: field,
        length: v.len() + 2,
        min: N + 2,
        max: N + 2,
    })
}

/// LCP option types (RFC 1661 s6, RFC 1662 s7.1, RFC 1990 s5.1, RFC 1570).
pub mod lcp_type {
    /// Maximum-Receive-Unit.
    pub const MRU: u8 = 1;
    /// Async-Control-Character-Map.
    pub const ACCM: u8 = 2;
    /// Authentication-Protocol.
    pub const AUTH_PROTOCOL: u8 = 3;
    /// Quality-Protocol.
    pub const QUALITY_PROTOCOL: u8 = 4;
    /// Magic-Number.
    pub const MAGIC_NUMBER: u8 = 5;
    /// Protocol-Field-Compression.
    pub const PFC: u8 = 7;
    /// Address-and-Control-Field-Compression.
    pub const ACFC: u8 = 8;
    /// Callback (RFC 1570, Windows sends it).
    pub const CALLBACK: u8 = 13;
    /// Multilink Maximum-Received-Reconstructed-Unit.
    pub const MRRU: u8 = 17;
    /// Multilink Short-Sequence-Number-Header-Format.
    pub const SSNHF: u8 = 18;
    /// Multilink Endpoint-Discriminator.
    pub const ENDPOINT_DISCRIMINATOR: u8 = 19;
}

/// A decoded LCP option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LcpOption {
    /// Maximum-Receive-Unit (1).
    Mru(u16),
    /// Async-Control-Character-Map (2).
    Accm(u32),
    /// Authentication-Protocol (3): protocol and data (the CHAP algorithm octet: 05 MD5,
    /// 0x80 MS-CHAPv1, 0x81 MS-CHAPv2).
    AuthProtocol {
        /// Protocol number (0xc023 PAP, 0xc223 CHAP, 0xc227 EAP).
        protocol: u16,
        /// Remaining data.
        data: Vec<u8>,
    },
    /// Quality-Protocol (4).
    QualityProtocol {
        /// Protocol number.
        protocol: u16,
        /// Remaining data.
        data: Vec<u8>,
    },
    /// Magic-Number (5).
    MagicNumber(u32),
    /// Protocol-Field-Compression (7).
    Pfc,
    /// Address-and-Control-Field-Compression (8).
    Acfc,
    /// MRRU (17, RFC 1990).
    Mrru(u16),
    /// Short-Sequence-Number-Header-Format (18, RFC 1990).
    Ssnhf,
    /// Endpoint-Discriminator (19, RFC 1990): class and address.
    EndpointDiscriminator {
        /// Class (0 null .. 5 public switched network directory number).
        class: u8,
        /// Address.
        address: Vec<u8>,
    },
    /// Any other option, kept verbatim.
    Unknown {
        /// Type.
        kind: u8,
        /// Value.
        value: Vec<u8>,
    },
}

impl LcpOption {
    /// Decode a raw option.
    pub fn parse(o: &RawOption<'_>) -> Result<Self, WireError> {
        use lcp_type::*;
        let v = o.value;
        Ok(match o.kind {
            MRU => LcpOption::Mru(u16::from_be_bytes(exact("MRU option", v)?)),
            ACCM => LcpOption::Accm(u32::from_be_bytes(exact("ACCM option", v)?)),
            AUTH_PROTOCOL | QUALITY_PROTOCOL => {
                if v.len() < 2 {
                    return Err(WireError::BadLength {
                        what: "protocol option",
                        length: v.len() + 2,
                        min: 4,
                        max: 255,
                    });
                }
                let protocol = u16::from_be_bytes([v[0], v[1]]);
                let data = v[2..].to_vec();
                if o.kind == AUTH_PROTOCOL {
                    LcpOption::AuthProtocol { protocol, data }
                } else {
                    LcpOption::QualityProtocol { protocol, data }
                }
            }
            MAGIC_NUMBER => {
                LcpOption::MagicNumber(u32::from_be_bytes(exact("Magic-Number option", v)?))
            }
            PFC => {
                exact::<0>("PFC option", v)?;
                LcpOption::Pfc
            }
            ACFC => {
                exact::<0>("ACFC option", v)?;
                LcpOption::Acfc
            }
            MRRU => LcpOption::Mrru(u16::from_be_bytes(exact("MRRU option", v)?)),
            SSNHF => {
                exact::<0>("SSNHF option", v)?;
                LcpOption::Ssnhf
            }
            ENDPOINT_DISCRIMINATOR => {
                let (&class, address) = v.split_first().ok_or(WireError::BadLength {
                    what: "Endpoint-Discriminator option",
                    length: 2,
                    min: 3,
                    max: 255,
                })?;
                LcpOption::EndpointDiscriminator {
                    class,
                    address: address.to_vec(),
                }
            }
            kind => LcpOption::Unknown {
                kind,
                value: v.to_vec(),
            },
        })
    }

    /// The option type.
    pub fn kind(&self) -> u8 {
        use lcp_type::*;
        match self {
            LcpOption::Mru(_) => MRU,
            LcpOption::Accm(_) => ACCM,
            LcpOption::AuthProtocol { .. } => AUTH_PROTOCOL,
            LcpOption::QualityProtocol { .. } => QUALITY_PROTOCOL,
            LcpOption::MagicNumber(_) => MAGIC_NUMBER,
            LcpOption::Pfc => PFC,
            LcpOption::Acfc => ACFC,
            LcpOption::Mrru(_) => MRRU,
            LcpOption::Ssnhf => SSNHF,
            LcpOption::EndpointDiscriminator { .. } => ENDPOINT_DISCRIMINATOR,
            LcpOption::Unknown { kind, .. } => *kind,
        }
    }

    /// Append the encoded option to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut v = Vec::new();
        match self {
            LcpOption::Mru(m) | LcpOption::Mrru(m) => v.extend_from_slice(&m.to_be_bytes()),
            LcpOption::Accm(a) | LcpOption::MagicNumber(a) => v.extend_from_slice(&a.to_be_bytes()),
            LcpOption::AuthProtocol { protocol, data }
            | LcpOption::QualityProtocol { protocol, data } => {
                v.extend_from_slice(&protocol.to_be_bytes());
                v.extend_from_slice(data);
            }
            LcpOption::Pfc | LcpOption::Acfc | LcpOption::Ssnhf => {}
            LcpOption::EndpointDiscriminator { class, address } => {
                v.push(*class);
                v.extend_from_slice(address);
            }
            LcpOption::Unknown { value, .. } => v.extend_from_slice(value),
        }
        RawOption {
            kind: self.kind(),
            value: &v,
        }
        .emit(out);
    }
}

/// IPCP option types (RFC 1332 s3, RFC 1877).
pub mod ipcp_type {
    /// IP-Addresses (deprecated).
    pub const IP_ADDRESSES: u8 = 1;
    /// IP-Compression-Protocol (Van Jacobson).
    pub const IP_COMPRESSION: u8 = 2;
    /// IP-Address.
    pub const IP_ADDRESS: u8 = 3;
    /// Primary DNS server address.
    pub const PRIMARY_DNS: u8 = 129;
    /// Primary NBNS server address.
    pub const PRIMARY_NBNS: u8 = 130;
    /// Secondary DNS server address.
    pub const SECONDARY_DNS: u8 = 131;
    /// Secondary NBNS server address.
    pub const SECONDARY_NBNS: u8 = 132;
}

/// A decoded IPCP option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpcpOption {
    /// IP-Address (3).
    IpAddress(Ipv4Addr),
    /// IP-Compression-Protocol (2), protocol and data.
    IpCompression {
        /// 0x002d for Van Jacobson.
        protocol: u16,
        /// Max-Slot-Id, Comp-Slot-Id.
        data: Vec<u8>,
    },
    /// Primary DNS (129).
    PrimaryDns(Ipv4Addr),
    /// Primary NBNS (130).
    PrimaryNbns(Ipv4Addr),
    /// Secondary DNS (131).
    SecondaryDns(Ipv4Addr),
    /// Secondary NBNS (132).
    SecondaryNbns(Ipv4Addr),
    /// Other options (including the deprecated IP-Addresses) verbatim.
    Unknown {
        /// Type.
        kind: u8,
        /// Value.
        value: Vec<u8>,
    },
}

impl IpcpOption {
    /// Decode a raw option.
    pub fn parse(o: &RawOption<'_>) -> Result<Self, WireError> {
        use ipcp_type::*;
        let addr = |what| exact::<4>(what, o.value).map(Ipv4Addr::from);
        Ok(match o.kind {
            IP_ADDRESS => IpcpOption::IpAddress(addr("IP-Address option")?),
            IP_COMPRESSION => {
                if o.value.len() < 2 {
                    return Err(WireError::BadLength {
                        what: "IP-Compression-Protocol option",
                        length: o.value.len() + 2,
                        min: 4,
                        max: 255,
                    });
                }
                IpcpOption::IpCompression {
                    protocol: u16::from_be_bytes([o.value[0], o.value[1]]),
                    data: o.value[2..].to_vec(),
                }
            }
            PRIMARY_DNS => IpcpOption::PrimaryDns(addr("Primary-DNS option")?),
            PRIMARY_NBNS => IpcpOption::PrimaryNbns(addr("Primary-NBNS option")?),
            SECONDARY_DNS => IpcpOption::SecondaryDns(addr("Secondary-DNS option")?),
            SECONDARY_NBNS => IpcpOption::SecondaryNbns(addr("Secondary-NBNS option")?),
            kind => IpcpOption::Unknown {
                kind,
                value: o.value.to_vec(),
            },
        })
    }

    /// The option type.
    pub fn kind(&self) -> u8 {
        use ipcp_type::*;
        match self {
            IpcpOption::IpAddress(_) => IP_ADDRESS,
            IpcpOption::IpCompression { .. } => IP_COMPRESSION,
            IpcpOption::PrimaryDns(_) => PRIMARY_DNS,
            IpcpOption::PrimaryNbns(_) => PRIMARY_NBNS,
            IpcpOption::SecondaryDns(_) => SECONDARY_DNS,
            IpcpOption::SecondaryNbns(_) => SECONDARY_NBNS,
            IpcpOption::Unknown { kind, .. } => *kind,
        }
    }

    /// Append the encoded option to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut v = Vec::new();
        match self {
            IpcpOption::IpAddress(a)
            | IpcpOption::PrimaryDns(a)
            | IpcpOption::PrimaryNbns(a)
            | IpcpOption::SecondaryDns(a)
            | IpcpOption::SecondaryNbns(a) => v.extend_from_slice(&a.octets()),
            IpcpOption::IpCompression { protocol, data } => {
                v.extend_from_slice(&protocol.to_be_bytes());
                v.extend_from_slice(data);
            }
            IpcpOption::Unknown { value, .. } => v.extend_from_slice(value),
        }
        RawOption {
            kind: self.kind(),
            value: &v,
        }
        .emit(out);
    }
}

/// A decoded IPv6CP option (RFC 5072 s4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv6cpOption {
    /// Interface-Identifier (1).
    InterfaceId([u8; 8]),
    /// Any other option verbatim (IPv6-Compression-Protocol 2 is rejected by this crate).
    Unknown {
        /// Type.
        kind: u8,
        /// Value.
        value: Vec<u8>,
    },
}

impl Ipv6cpOption {
    /// Decode a raw option.
    pub fn parse(o: &RawOption<'_>) -> Result<Self, WireError> {
        Ok(match o.kind {
            1 => Ipv6cpOption::InterfaceId(exact("Interface-Identifier option", o.value)?),
            kind => Ipv6cpOption::Unknown {
                kind,
                value: o.value.to_vec(),
            },
        })
    }

    /// Append the encoded option to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            Ipv6cpOption::InterfaceId(id) => RawOption { kind: 1, value: id }.emit(out),
            Ipv6cpOption::Unknown { kind, value } => RawOption { kind: *kind, value }.emit(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcp_request_roundtrip() {
        // pppd's LCP ConfReq from the MS-CHAPv2 capture.
        let pkt = hex::decode("010100190206000000000305c223810506a9ce747307020802").unwrap();
        let p = CpPacket::parse(&pkt).unwrap();
        assert_eq!((p.code, p.identifier), (1, 1));
        let opts: Vec<LcpOption> = options(p.data)
            .map(|o| LcpOption::parse(&o.unwrap()).unwrap())
            .collect();
        assert_eq!(opts[0], LcpOption::Accm(0));
        assert_eq!(
            opts[1],
            LcpOption::AuthProtocol {
                protocol: 0xc223,
                data: vec![0x81]
            }
        );
        assert_eq!(opts[2], LcpOption::MagicNumber(0xa9ce7473));
        assert_eq!(&opts[3..], &[LcpOption::Pfc, LcpOption::Acfc]);
        let mut data = Vec::new();
        for o in &opts {
            o.emit(&mut data);
        }
        assert_eq!(CpPacket { data: &data, ..p }.to_vec(), pkt);
    }

    #[test]
    fn bad_lengths() {
        assert!(CpPacket::parse(&[1, 1, 0, 3]).is_err());
        assert!(CpPacket::parse(&[1, 1, 0, 9, 0]).is_err());
        let p = CpPacket::parse(&[1, 1, 0, 4, 0xee]).unwrap();
        assert!(p.data.is_empty());
        assert!(parse_options(&[1, 1]).is_err());
        assert!(parse_options(&[1, 5, 0]).is_err());
        assert!(LcpOption::parse(&RawOption {
            kind: 1,
            value: &[1]
        })
        .is_err());
    }
}
