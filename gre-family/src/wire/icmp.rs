//! ICMP and ICMPv6 error messages (RFC 792, RFC 4443): what a tunnel reads when the underlay
//! reports a problem with one of its outer packets, and what it writes to relay the problem to
//! the inner sender (RFC 2003 section 4, RFC 2473 section 8, RFC 4459 for the path MTU).
//!
//! ```text
//!  ICMPv4 error (RFC 792)                    ICMPv6 error (RFC 4443)
//!  +------+------+-----------+               +------+------+-----------+
//!  | type | code | checksum  |               | type | code | checksum  |
//!  +------+------+-----------+               +------+------+-----------+
//!  | unused / next-hop MTU   |  (3/4: MTU    | unused / MTU / pointer  |  (2: MTU)
//!  +-------------------------+   in 6..8)    +-------------------------+
//!  | the offending packet, as much as fits (at least IP header + 8 bytes; Linux quotes up to
//!  | 576 - 28 bytes for IPv4, 1280 - 48 for IPv6)
//! ```

use core::ops::Range;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ip::{Ipv4Repr, Ipv6Repr};
use super::{be16, be32, checksum_fold, checksum_sum, need, truncated};
use crate::error::{Error, WireError};

/// IP protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// IPv6 next header of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;
/// ICMP Destination Unreachable.
pub const ICMP_DEST_UNREACH: u8 = 3;
/// ICMP Destination Unreachable code 1: host unreachable.
pub const ICMP_HOST_UNREACH: u8 = 1;
/// ICMP Destination Unreachable code 4: fragmentation needed and DF set (RFC 1191).
pub const ICMP_FRAG_NEEDED: u8 = 4;
/// ICMP Time Exceeded.
pub const ICMP_TIME_EXCEEDED: u8 = 11;
/// ICMPv6 Destination Unreachable.
pub const ICMPV6_DEST_UNREACH: u8 = 1;
/// ICMPv6 Destination Unreachable code 3: address unreachable.
pub const ICMPV6_ADDR_UNREACH: u8 = 3;
/// ICMPv6 Packet Too Big (RFC 8201).
pub const ICMPV6_PACKET_TOO_BIG: u8 = 2;
/// ICMPv6 Time Exceeded.
pub const ICMPV6_TIME_EXCEEDED: u8 = 3;
/// ICMPv6 Parameter Problem.
pub const ICMPV6_PARAM_PROBLEM: u8 = 4;

/// Most bytes of the offending packet an ICMPv4 error carries here (576 - 20 - 8).
pub const ICMP4_QUOTE_MAX: usize = 548;
/// Most bytes of the offending packet an ICMPv6 error carries (1280 - 40 - 8).
pub const ICMP6_QUOTE_MAX: usize = 1232;

/// An ICMP or ICMPv6 error message and the packet carrying it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpErrorRepr {
    /// Source of the error (the router or host that reports it).
    pub src: IpAddr,
    /// Destination of the error (the sender of the offending packet).
    pub dst: IpAddr,
    /// ICMPv6 (`true`) or ICMPv4.
    pub v6: bool,
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Bytes 4..8: unused, the next-hop MTU (v4 3/4, low 16 bits), the MTU (v6 2) or a pointer.
    pub rest: u32,
}

impl IcmpErrorRepr {
    /// Whether this is an error message (not an echo or informational message).
    pub fn is_error(&self) -> bool {
        if self.v6 {
            self.icmp_type < 128
        } else {
            matches!(self.icmp_type, 3 | 4 | 5 | 11 | 12)
        }
    }

    /// The MTU a "fragmentation needed" (v4, 0 when the router did not say) or "packet too
    /// big" (v6) reports; `None` for other messages.
    pub fn mtu(&self) -> Option<u32> {
        match (self.v6, self.icmp_type, self.code) {
            (false, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED) => Some(self.rest & 0xffff),
            (true, ICMPV6_PACKET_TOO_BIG, _) => Some(self.rest),
            _ => None,
        }
    }

    /// Parse an IPv4 packet carrying ICMP or an IPv6 packet carrying ICMPv6 (as a raw socket
    /// or packet socket delivers it); checks the checksums. Returns the message and the range
    /// of the quoted offending packet in `packet`.
    pub fn parse(packet: &[u8]) -> Result<(IcmpErrorRepr, Range<usize>), WireError> {
        let (src, dst, proto, body) = match packet.first().map(|b| b >> 4) {
            Some(4) => {
                let (ip, r) = Ipv4Repr::parse(packet)?;
                (IpAddr::V4(ip.src), IpAddr::V4(ip.dst), ip.protocol, r)
            }
            Some(6) => {
                let (ip, up) = Ipv6Repr::parse_upper(packet)?;
                (
                    IpAddr::V6(ip.src),
                    IpAddr::V6(ip.dst),
                    up.protocol,
                    up.range,
                )
            }
            v => {
                return Err(WireError::BadVersion {
                    what: "IP",
                    expected: 4,
                    found: v.unwrap_or(0),
                })
            }
        };
        let v6 = src.is_ipv6();
        let what = if v6 { "ICMPv6" } else { "ICMP" };
        let want = if v6 { IPPROTO_ICMPV6 } else { IPPROTO_ICMP };
        if proto != want {
            return Err(WireError::BadProtocol {
                what,
                expected: u16::from(want),
                found: u16::from(proto),
            });
        }
        let msg = packet.get(body.clone()).unwrap_or(&[]);
        truncated(what, msg, 8)?;
        let sum = checksum_sum(msg)
            + match (src, dst) {
                (IpAddr::V6(s), IpAddr::V6(d)) => pseudo6(s, d, msg.len()),
                _ => 0,
            };
        if checksum_fold(sum) != 0 {
            return Err(WireError::Checksum {
                what,
                found: be16(msg, 2),
                computed: 0,
            });
        }
        let repr = IcmpErrorRepr {
            src,
            dst,
            v6,
            icmp_type: msg.first().copied().unwrap_or(0),
            code: msg.get(1).copied().unwrap_or(0),
            rest: be32(msg, 4),
        };
        Ok((repr, body.start + 8..body.end))
    }

    /// Write the packet carrying this error (IPv4 + ICMP, or IPv6 + ICMPv6, hop limit 64)
    /// with `quote` as the offending packet into `buf`; returns its length. `src`/`dst`
    /// must be of the family `v6` says.
    pub fn emit(&self, quote: &[u8], buf: &mut [u8]) -> Result<usize, Error> {
        let iphl = if self.v6 { 40 } else { 20 };
        let icmp_len = 8 + quote.len();
        let total = iphl + icmp_len;
        need(buf, total)?;
        let (head, msg) = buf.split_at_mut(iphl);
        let msg = msg.get_mut(..icmp_len).unwrap_or(&mut []);
        msg[0] = self.icmp_type;
        msg[1] = self.code;
        msg[2..4].fill(0);
        msg[4..8].copy_from_slice(&self.rest.to_be_bytes());
        msg[8..].copy_from_slice(quote);
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) if !self.v6 => {
                let c = checksum_fold(checksum_sum(msg));
                msg[2..4].copy_from_slice(&c.to_be_bytes());
                let ip = Ipv4Repr {
                    ttl: 64,
                    ..Ipv4Repr::new(s, d, IPPROTO_ICMP, icmp_len)
                };
                ip.emit(head)?;
            }
            (IpAddr::V6(s), IpAddr::V6(d)) if self.v6 => {
                let c = checksum_fold(checksum_sum(msg) + pseudo6(s, d, icmp_len));
                msg[2..4].copy_from_slice(&c.to_be_bytes());
                Ipv6Repr {
                    traffic_class: 0,
                    flow_label: 0,
                    payload_len: icmp_len,
                    next_header: IPPROTO_ICMPV6,
                    hop_limit: 64,
                    src: s,
                    dst: d,
                }
                .emit(head)?;
            }
            _ => {
                return Err(Error::Wire(WireError::BadVersion {
                    what: "ICMP",
                    expected: if self.v6 { 6 } else { 4 },
                    found: if self.v6 { 4 } else { 6 },
                }))
            }
        }
        Ok(total)
    }
}

/// The IPv6 pseudo-header sum (RFC 8200 section 8.1) for an ICMPv6 message of `len` bytes.
fn pseudo6(src: Ipv6Addr, dst: Ipv6Addr, len: usize) -> u32 {
    let mut ph = [0u8; 40];
    ph[..16].copy_from_slice(&src.octets());
    ph[16..32].copy_from_slice(&dst.octets());
    ph[32..36].copy_from_slice(&(len as u32).to_be_bytes());
    ph[39] = IPPROTO_ICMPV6;
    checksum_sum(&ph)
}

/// The fields of a (possibly truncated) quoted IP header that tell whose packet it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper-layer protocol (after IPv6 extension headers that were quoted).
    pub protocol: u8,
    /// Offset of the upper-layer data in the quote.
    pub payload_offset: usize,
    /// The packet's length as its header states it (IPv4 total length; IPv6 40 + payload
    /// length): what was too big.
    pub stated_len: usize,
    /// IPv4 DF flag (`true` for IPv6, which routers never fragment).
    pub dont_fragment: bool,
}

impl Quoted {
    /// Read the header of a quoted packet; unlike [`Ipv4Repr::parse`] the packet may be cut
    /// short after its header (ICMP quotes a prefix), and the IPv4 checksum is not checked.
    pub fn parse(quote: &[u8]) -> Result<Quoted, WireError> {
        match quote.first().map(|b| b >> 4) {
            Some(4) => {
                truncated("quoted IPv4", quote, 20)?;
                let hl = usize::from(quote[0] & 0x0f) * 4;
                truncated("quoted IPv4", quote, hl.max(20))?;
                let a = |o: usize| quote.get(o).copied().unwrap_or(0);
                Ok(Quoted {
                    src: IpAddr::V4(Ipv4Addr::new(a(12), a(13), a(14), a(15))),
                    dst: IpAddr::V4(Ipv4Addr::new(a(16), a(17), a(18), a(19))),
                    protocol: a(9),
                    payload_offset: hl.max(20),
                    stated_len: usize::from(be16(quote, 2)),
                    dont_fragment: a(6) & 0x40 != 0,
                })
            }
            Some(6) => {
                truncated("quoted IPv6", quote, 40)?;
                let addr = |o: usize| {
                    let mut x = [0u8; 16];
                    if let Some(s) = quote.get(o..o + 16) {
                        x.copy_from_slice(s);
                    }
                    IpAddr::V6(Ipv6Addr::from(x))
                };
                let (protocol, off) = super::ip::skip_ipv6_options(quote, quote[6], 40);
                Ok(Quoted {
                    src: addr(8),
                    dst: addr(24),
                    protocol,
                    payload_offset: off,
                    stated_len: 40 + usize::from(be16(quote, 4)),
                    dont_fragment: true,
                })
            }
            v => Err(WireError::BadVersion {
                what: "quoted IP",
                expected: 4,
                found: v.unwrap_or(0),
            }),
        }
    }
}

/// RFC 1191 section 7 plateau table: the MTU to assume when a router's "fragmentation
/// needed" does not say (next-hop MTU 0): the largest plateau below the offending size.
pub fn plateau_below(len: usize) -> usize {
    const PLATEAUS: [usize; 10] = [32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];
    PLATEAUS.into_iter().find(|&p| p < len).unwrap_or(68)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_error_round_trip_and_checksum() {
        let quote = [
            0x45u8, 0, 0, 100, 0, 0, 0x40, 0, 64, 47, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let e = IcmpErrorRepr {
            src: "10.0.0.9".parse().unwrap(),
            dst: "10.0.0.1".parse().unwrap(),
            v6: false,
            icmp_type: ICMP_DEST_UNREACH,
            code: ICMP_FRAG_NEEDED,
            rest: 1400,
        };
        let mut b = [0u8; 64];
        let n = e.emit(&quote, &mut b).unwrap();
        assert_eq!(n, 20 + 8 + 20);
        let (p, r) = IcmpErrorRepr::parse(&b[..n]).unwrap();
        assert_eq!(p, e);
        assert_eq!(p.mtu(), Some(1400));
        assert_eq!(&b[r], &quote);
        let q = Quoted::parse(&quote).unwrap();
        assert_eq!(q.protocol, 47);
        assert_eq!(q.stated_len, 100);
        assert!(q.dont_fragment);
        b[30] ^= 1;
        assert!(matches!(
            IcmpErrorRepr::parse(&b[..n]),
            Err(WireError::Checksum { .. })
        ));
    }

    #[test]
    fn v6_packet_too_big_round_trip() {
        let e = IcmpErrorRepr {
            src: "fd00::9".parse().unwrap(),
            dst: "fd00::1".parse().unwrap(),
            v6: true,
            icmp_type: ICMPV6_PACKET_TOO_BIG,
            code: 0,
            rest: 1300,
        };
        let quote = [0x60u8; 48];
        let mut b = [0u8; 128];
        let n = e.emit(&quote, &mut b).unwrap();
        let (p, r) = IcmpErrorRepr::parse(&b[..n]).unwrap();
        assert_eq!((p, r.len()), (e, 48));
        assert_eq!(p.mtu(), Some(1300));
        assert!(e.emit(&quote, &mut b[..50]).is_err());
    }

    #[test]
    fn plateaus() {
        assert_eq!(plateau_below(1500), 1492);
        assert_eq!(plateau_below(1492), 1006);
        assert_eq!(plateau_below(40), 68);
    }
}
