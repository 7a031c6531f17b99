//! IPv4 (RFC 791) and IPv6 (RFC 8200) headers: the outer headers a tunnel builds and parses,
//! and the peeks at inner headers that DSCP/DF inheritance needs.

use core::ops::Range;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{be16, checksum_fold, checksum_sum, need, truncated};
use crate::error::{Error, WireError};

const WHAT4: &str = "IPv4";
const WHAT6: &str = "IPv6";

/// IPv4 header length without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// IPv6 fixed header length.
pub const IPV6_HEADER_LEN: usize = 40;

/// An IPv4 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Differentiated services code point (6 bits).
    pub dscp: u8,
    /// ECN field (2 bits).
    pub ecn: u8,
    /// Identification.
    pub ident: u16,
    /// DF flag.
    pub dont_fragment: bool,
    /// MF flag.
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units.
    pub frag_offset: u16,
    /// Time to live.
    pub ttl: u8,
    /// Protocol of the payload.
    pub protocol: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Payload length (total length minus header length).
    pub payload_len: usize,
    /// Length of the options in bytes (0..=40, a multiple of 4).
    pub options_len: u8,
    /// The options (first `options_len` bytes), kept verbatim.
    pub options: [u8; 40],
}

impl Ipv4Repr {
    /// A header without options.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload_len: usize) -> Self {
        Ipv4Repr {
            dscp: 0,
            ecn: 0,
            ident: 0,
            dont_fragment: false,
            more_fragments: false,
            frag_offset: 0,
            ttl: 64,
            protocol,
            src,
            dst,
            payload_len,
            options_len: 0,
            options: [0; 40],
        }
    }

    /// Header length (20 + options).
    pub fn header_len(&self) -> usize {
        IPV4_HEADER_LEN + usize::from(self.options_len.min(40) & !3)
    }

    /// Parse a packet: version 4, IHL >= 5, total length within the bytes given (bytes after
    /// the total length, e.g. Ethernet padding, are ignored), header checksum valid, reserved
    /// flag clear. Returns the header and the payload range.
    ///
    /// Round trip: `emit` reproduces the header byte for byte, except that a checksum field of
    /// 0xffff (the one's-complement "negative zero", valid when the other words sum to 0xffff)
    /// is written back as the canonical 0x0000.
    pub fn parse(packet: &[u8]) -> Result<(Ipv4Repr, Range<usize>), WireError> {
        truncated(WHAT4, packet, IPV4_HEADER_LEN)?;
        let b0 = packet.first().copied().unwrap_or(0);
        if b0 >> 4 != 4 {
            return Err(WireError::BadVersion {
                what: WHAT4,
                expected: 4,
                found: b0 >> 4,
            });
        }
        let hl = usize::from(b0 & 0x0f) * 4;
        if hl < IPV4_HEADER_LEN {
            return Err(WireError::BadLength {
                what: WHAT4,
                field: "header length",
                value: hl,
                available: packet.len(),
            });
        }
        truncated(WHAT4, packet, hl)?;
        let total = usize::from(be16(packet, 2));
        if total < hl || total > packet.len() {
            return Err(WireError::BadLength {
                what: WHAT4,
                field: "total length",
                value: total,
                available: packet.len(),
            });
        }
        let header = packet.get(..hl).unwrap_or(&[]);
        let computed = checksum_fold(checksum_sum(header));
        if computed != 0 {
            let found = be16(packet, 10);
            let without = checksum_sum(packet.get(..10).unwrap_or(&[]))
                + checksum_sum(packet.get(12..hl).unwrap_or(&[]));
            return Err(WireError::Checksum {
                what: WHAT4,
                found,
                computed: checksum_fold(without),
            });
        }
        let tos = packet.get(1).copied().unwrap_or(0);
        let ff = be16(packet, 6);
        if ff & 0x8000 != 0 {
            return Err(WireError::BadFlags {
                what: WHAT4,
                offset: 6,
                found: (ff >> 8) as u8,
                mask: 0x80,
                expected: 0,
            });
        }
        let mut options = [0u8; 40];
        if let (Some(d), Some(s)) = (options.get_mut(..hl - 20), packet.get(20..hl)) {
            d.copy_from_slice(s);
        }
        let a = |o: usize| packet.get(o).copied().unwrap_or(0);
        Ok((
            Ipv4Repr {
                dscp: tos >> 2,
                ecn: tos & 3,
                ident: be16(packet, 4),
                dont_fragment: ff & 0x4000 != 0,
                more_fragments: ff & 0x2000 != 0,
                frag_offset: ff & 0x1fff,
                ttl: a(8),
                protocol: a(9),
                src: Ipv4Addr::new(a(12), a(13), a(14), a(15)),
                dst: Ipv4Addr::new(a(16), a(17), a(18), a(19)),
                payload_len: total - hl,
                options_len: (hl - 20) as u8,
                options,
            },
            hl..total,
        ))
    }

    /// Write the header (with its checksum) into `buf[..header_len()]`. Returns the header
    /// length. The total length must fit 16 bits.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let hl = self.header_len();
        need(buf, hl)?;
        let total = hl + self.payload_len;
        let total16 = u16::try_from(total).map_err(|_| WireError::OutOfRange {
            what: WHAT4,
            field: "total length",
            value: u32::try_from(total).unwrap_or(u32::MAX),
            max: 65535,
        })?;
        let mut h = [0u8; 60];
        h[0] = 0x40 | (hl / 4) as u8;
        h[1] = (self.dscp << 2) | (self.ecn & 3);
        h[2..4].copy_from_slice(&total16.to_be_bytes());
        h[4..6].copy_from_slice(&self.ident.to_be_bytes());
        let ff = (u16::from(self.dont_fragment) << 14)
            | (u16::from(self.more_fragments) << 13)
            | (self.frag_offset & 0x1fff);
        h[6..8].copy_from_slice(&ff.to_be_bytes());
        h[8] = self.ttl;
        h[9] = self.protocol;
        h[12..16].copy_from_slice(&self.src.octets());
        h[16..20].copy_from_slice(&self.dst.octets());
        if let (Some(d), Some(s)) = (h.get_mut(20..hl), self.options.get(..hl - 20)) {
            d.copy_from_slice(s);
        }
        let c = checksum_fold(checksum_sum(h.get(..hl).unwrap_or(&[])));
        h[10..12].copy_from_slice(&c.to_be_bytes());
        if let (Some(d), Some(s)) = (buf.get_mut(..hl), h.get(..hl)) {
            d.copy_from_slice(s);
        }
        Ok(hl)
    }
}

/// An IPv6 fixed header (extension headers are payload here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Traffic class (DSCP in the upper 6 bits, ECN in the lower 2).
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Payload length.
    pub payload_len: usize,
    /// Next header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
}

impl Ipv6Repr {
    /// Parse a packet; returns the header and the payload range (bytes beyond the payload
    /// length are ignored).
    pub fn parse(packet: &[u8]) -> Result<(Ipv6Repr, Range<usize>), WireError> {
        truncated(WHAT6, packet, IPV6_HEADER_LEN)?;
        let b0 = packet.first().copied().unwrap_or(0);
        if b0 >> 4 != 6 {
            return Err(WireError::BadVersion {
                what: WHAT6,
                expected: 6,
                found: b0 >> 4,
            });
        }
        let w = super::be32(packet, 0);
        let plen = usize::from(be16(packet, 4));
        if IPV6_HEADER_LEN + plen > packet.len() {
            return Err(WireError::BadLength {
                what: WHAT6,
                field: "payload length",
                value: plen,
                available: packet.len() - IPV6_HEADER_LEN,
            });
        }
        let addr = |o: usize| {
            let mut a = [0u8; 16];
            if let Some(s) = packet.get(o..o + 16) {
                a.copy_from_slice(s);
            }
            Ipv6Addr::from(a)
        };
        Ok((
            Ipv6Repr {
                traffic_class: ((w >> 20) & 0xff) as u8,
                flow_label: w & 0x000f_ffff,
                payload_len: plen,
                next_header: packet.get(6).copied().unwrap_or(0),
                hop_limit: packet.get(7).copied().unwrap_or(0),
                src: addr(8),
                dst: addr(24),
            },
            IPV6_HEADER_LEN..IPV6_HEADER_LEN + plen,
        ))
    }

    /// Parse a packet and walk its extension headers to the upper layer (the tunnel protocol):
    /// Hop-by-Hop Options (0) and Destination Options (60) are skipped, such as the Tunnel
    /// Encapsulation Limit option Linux `ip6gre`/`ip6tnl` put in front of their payload by
    /// default (RFC 2473 section 5.1); a Fragment header (44) is reported as `fragment`.
    pub fn parse_upper(packet: &[u8]) -> Result<(Ipv6Repr, UpperLayer), WireError> {
        let (ip, r) = Ipv6Repr::parse(packet)?;
        let payload = packet.get(..r.end).unwrap_or(&[]);
        let (protocol, off) = skip_ipv6_options(payload, ip.next_header, r.start);
        if protocol == IPV6_OPTIONS_TRUNCATED {
            return Err(WireError::Truncated {
                what: "IPv6 extension header",
                need: off,
                got: payload.len(),
            });
        }
        Ok((
            ip,
            UpperLayer {
                protocol,
                range: off..r.end,
                fragment: protocol == IPV6_FRAGMENT,
            },
        ))
    }

    /// Write the 40-byte header into `buf[..40]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        need(buf, IPV6_HEADER_LEN)?;
        let plen = u16::try_from(self.payload_len).map_err(|_| WireError::OutOfRange {
            what: WHAT6,
            field: "payload length",
            value: u32::try_from(self.payload_len).unwrap_or(u32::MAX),
            max: 65535,
        })?;
        let w = (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0xfffff);
        let mut h = [0u8; IPV6_HEADER_LEN];
        h[0..4].copy_from_slice(&w.to_be_bytes());
        h[4..6].copy_from_slice(&plen.to_be_bytes());
        h[6] = self.next_header;
        h[7] = self.hop_limit;
        h[8..24].copy_from_slice(&self.src.octets());
        h[24..40].copy_from_slice(&self.dst.octets());
        if let Some(d) = buf.get_mut(..IPV6_HEADER_LEN) {
            d.copy_from_slice(&h);
        }
        Ok(IPV6_HEADER_LEN)
    }
}

/// The upper layer of an IPv6 packet after its extension headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpperLayer {
    /// Protocol after the skipped extension headers (the tunnel protocol, or 44 for a
    /// fragment).
    pub protocol: u8,
    /// Where the upper-layer data is in the packet.
    pub range: Range<usize>,
    /// The packet is a fragment (next header 44 reached).
    pub fragment: bool,
}

/// IPv6 next header: Hop-by-Hop Options.
pub const IPV6_HOP_BY_HOP: u8 = 0;
/// IPv6 next header: Destination Options.
pub const IPV6_DEST_OPTS: u8 = 60;
/// IPv6 next header: Fragment.
pub const IPV6_FRAGMENT: u8 = 44;
/// Marker [`skip_ipv6_options`] returns when an options header runs past the data.
const IPV6_OPTIONS_TRUNCATED: u8 = 255;

/// Skip Hop-by-Hop and Destination Options headers starting with next header `nh` at `off`;
/// returns the next protocol and its offset (at most 8 headers are walked). An options header
/// that runs past `data` gives protocol 255 (reserved) and the offset it needed.
pub(crate) fn skip_ipv6_options(data: &[u8], mut nh: u8, mut off: usize) -> (u8, usize) {
    for _ in 0..8 {
        if nh != IPV6_HOP_BY_HOP && nh != IPV6_DEST_OPTS {
            break;
        }
        let (Some(&next), Some(&len8)) = (data.get(off), data.get(off + 1)) else {
            return (IPV6_OPTIONS_TRUNCATED, off + 2);
        };
        let hl = (usize::from(len8) + 1) * 8;
        if off + hl > data.len() {
            return (IPV6_OPTIONS_TRUNCATED, off + hl);
        }
        nh = next;
        off += hl;
    }
    (nh, off)
}

/// What DSCP/DF inheritance needs from an inner IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InnerQos {
    /// The inner DSCP (IPv4 TOS >> 2, IPv6 traffic class >> 2).
    pub dscp: u8,
    /// The inner DF flag (IPv4); IPv6 packets are never fragmented on the path, so `true`.
    pub dont_fragment: bool,
}

/// Peek at the DSCP and DF of an IPv4 or IPv6 packet (by its version nibble); `None` if the
/// bytes are too short or not IP.
pub fn inner_qos(packet: &[u8]) -> Option<InnerQos> {
    let b0 = *packet.first()?;
    match b0 >> 4 {
        4 => {
            let tos = *packet.get(1)?;
            let ff = *packet.get(6)?;
            Some(InnerQos {
                dscp: tos >> 2,
                dont_fragment: ff & 0x40 != 0,
            })
        }
        6 => {
            let b1 = *packet.get(1)?;
            let tc = (b0 << 4) | (b1 >> 4);
            Some(InnerQos {
                dscp: tc >> 2,
                dont_fragment: true,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_vector_with_known_checksum() {
        // Classic example header: 45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7
        let bytes: [u8; 20] = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let mut pkt = vec![0u8; 0x73];
        pkt[..20].copy_from_slice(&bytes);
        let (r, range) = Ipv4Repr::parse(&pkt).unwrap();
        assert_eq!(range, 20..0x73);
        assert!(r.dont_fragment);
        assert_eq!(r.protocol, 17);
        assert_eq!(r.src, Ipv4Addr::new(192, 168, 0, 1));
        let mut out = [0u8; 20];
        r.emit(&mut out).unwrap();
        assert_eq!(out, bytes);
        pkt[11] ^= 1;
        assert!(matches!(
            Ipv4Repr::parse(&pkt),
            Err(WireError::Checksum {
                computed: 0xb861,
                ..
            })
        ));
    }

    #[test]
    fn ipv4_bad_lengths() {
        let mut h = [0u8; 20];
        Ipv4Repr::new(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 4, 10)
            .emit(&mut h)
            .unwrap();
        assert!(matches!(
            Ipv4Repr::parse(&h),
            Err(WireError::BadLength {
                field: "total length",
                value: 30,
                ..
            })
        ));
        assert!(matches!(
            Ipv4Repr::parse(&h[..19]),
            Err(WireError::Truncated { .. })
        ));
    }

    #[test]
    fn ipv6_extension_headers_are_walked() {
        // IPv6, next header 60: a Destination Options header with the Tunnel Encapsulation
        // Limit option (type 4, length 1, limit 4) and PadN, as Linux ip6tnl sends, then 41.
        let mut p = vec![0u8; 40 + 8 + 4];
        Ipv6Repr {
            traffic_class: 0,
            flow_label: 0,
            payload_len: 12,
            next_header: IPV6_DEST_OPTS,
            hop_limit: 64,
            src: "fd00::1".parse().unwrap(),
            dst: "fd00::2".parse().unwrap(),
        }
        .emit(&mut p)
        .unwrap();
        p[40..48].copy_from_slice(&[41, 0, 4, 1, 4, 1, 1, 0]);
        let (ip, up) = Ipv6Repr::parse_upper(&p).unwrap();
        assert_eq!(ip.next_header, IPV6_DEST_OPTS);
        assert_eq!(
            up,
            UpperLayer {
                protocol: 41,
                range: 48..52,
                fragment: false
            }
        );
        // an options header longer than the packet
        p[41] = 3;
        assert!(matches!(
            Ipv6Repr::parse_upper(&p),
            Err(WireError::Truncated { .. })
        ));
        // a fragment header
        p[41] = 0;
        p[40] = IPV6_FRAGMENT;
        assert!(Ipv6Repr::parse_upper(&p).unwrap().1.fragment);
    }

    #[test]
    fn ipv6_round_trip_and_qos() {
        let r = Ipv6Repr {
            traffic_class: 0xb8,
            flow_label: 0x12345,
            payload_len: 2,
            next_header: 97,
            hop_limit: 255,
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::2".parse().unwrap(),
        };
        let mut b = [0u8; 42];
        r.emit(&mut b).unwrap();
        assert_eq!(&b[..4], &[0x6b, 0x81, 0x23, 0x45]);
        assert_eq!(Ipv6Repr::parse(&b), Ok((r, 40..42)));
        assert_eq!(
            inner_qos(&b),
            Some(InnerQos {
                dscp: 46,
                dont_fragment: true
            })
        );
    }
}
