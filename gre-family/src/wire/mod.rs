//! Codecs: every header this crate reads or writes.
//!
//! Each module has a `Repr` (a plain struct of the header's fields) with `parse` and `emit`
//! and a `buffer_len`/`header_len`. Guarantees, in the style of smoltcp:
//!
//! - `parse` never panics and never reads past its input; malformed input is a [`WireError`]
//!   naming the header, the field or offset, and what was expected versus found;
//! - `emit` never panics: a buffer shorter than `header_len()` is reported as
//!   [`Error::BufferTooSmall`] with the size needed, and nothing
//!   is written;
//! - `emit(parse(bytes)) == bytes` for every header this crate accepts (byte-exact round trip;
//!   reserved bits that receivers must ignore are kept in the `Repr` for that reason).
//!
//! | module | header | spec |
//! |---|---|---|
//! | [`gre`] | GRE version 0: C, K, S bits, checksum, key, sequence; RFC 1701 bits rejected | RFC 2784, RFC 2890, RFC 1701 |
//! | [`egre`] | enhanced GRE version 1 (PPTP): payload length + call id, sequence, ack | RFC 2637 section 4.1 |
//! | [`eoip`] | MikroTik EoIP (GRE version 1, protocol 0x6400) and EoIPv6 (IPv6 next header 97) | third-party descriptions, see the module |
//! | [`ip`] | IPv4 and IPv6 headers (outer headers; inner headers for DSCP/DF inheritance), IPv6 extension headers before the tunnel protocol | RFC 791, RFC 8200, RFC 2473 section 5.1 |
//! | [`icmp`] | ICMP / ICMPv6 error messages (path MTU, relay to the inner sender) | RFC 792, RFC 4443, RFC 1191, RFC 2003 section 4, RFC 2473 section 8 |
//! | [`sixtofour`] | the 2002::/16 address mapping | RFC 3056 section 2 |
//! | [`demux`] | the (local, remote, protocol, key / tunnel-id) a packet is demultiplexed by | RFC 2890 section 2.1, seed L683 |
//! | [`tcp`] | TCP MSS clamping with incremental checksum update | RFC 793, RFC 1624 |

use crate::error::{Error, WireError};

pub mod demux;
pub mod egre;
pub mod eoip;
pub mod gre;
pub mod icmp;
pub mod ip;
pub mod sixtofour;
pub mod tcp;

/// IP protocol number of IPv4-in-IPv4 (RFC 2003).
pub const IPPROTO_IPIP: u8 = 4;
/// IP protocol number of IPv6-in-IPv4 (RFC 4213, 6to4/SIT).
pub const IPPROTO_IPV6: u8 = 41;
/// IP protocol number of GRE (GRE, enhanced GRE/PPTP, EoIP).
pub const IPPROTO_GRE: u8 = 47;
/// IP protocol / IPv6 next header of EtherIP (RFC 3378), used by EoIPv6.
pub const IPPROTO_ETHERIP: u8 = 97;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;

/// EtherType / GRE protocol type: IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType / GRE protocol type: IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
/// GRE protocol type: transparent Ethernet bridging (Linux gretap).
pub const ETHERTYPE_TEB: u16 = 0x6558;
/// GRE protocol type: MikroTik EoIP.
pub const ETHERTYPE_EOIP: u16 = 0x6400;
/// GRE protocol type: PPP (enhanced GRE of PPTP).
pub const ETHERTYPE_PPP: u16 = 0x880B;
/// GRE protocol type 0: the Cisco-style keepalive reply (reserved value, RFC 2784 leaves it
/// unassigned; Cisco uses it for the inner keepalive header).
pub const ETHERTYPE_KEEPALIVE: u16 = 0x0000;

/// One's-complement sum of `data` (16-bit big-endian words, odd byte padded), not folded
/// beyond 32 bits; combine with [`checksum_fold`].
pub fn checksum_sum(data: &[u8]) -> u32 {
    let mut sum: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        sum += (v >> 48) + ((v >> 32) & 0xffff) + ((v >> 16) & 0xffff) + (v & 0xffff);
    }
    let mut rest = chunks.remainder().chunks_exact(2);
    for c in &mut rest {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = rest.remainder() {
        sum += u64::from(*b) << 8;
    }
    while sum > 0xffff_ffff {
        sum = (sum & 0xffff_ffff) + (sum >> 32);
    }
    sum as u32
}

/// Fold a 32-bit one's-complement sum to 16 bits and complement it.
pub fn checksum_fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    checksum_fold(checksum_sum(data))
}

/// `Err(BufferTooSmall)` unless `buf` holds at least `need` bytes.
pub(crate) fn need(buf: &[u8], need: usize) -> Result<(), Error> {
    if buf.len() < need {
        Err(Error::BufferTooSmall {
            need,
            have: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// `Err(Truncated)` unless `data` holds at least `need` bytes.
pub(crate) fn truncated(what: &'static str, data: &[u8], need: usize) -> Result<(), WireError> {
    if data.len() < need {
        Err(WireError::Truncated {
            what,
            need,
            got: data.len(),
        })
    } else {
        Ok(())
    }
}

pub(crate) fn be16(data: &[u8], off: usize) -> u16 {
    match data.get(off..off + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

pub(crate) fn be32(data: &[u8], off: usize) -> u32 {
    match data.get(off..off + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 -> sum ddf2, checksum 220d.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&d), 0x220d);
        // odd length and the long-chunk path agree with a naive sum
        let v: Vec<u8> = (0..1001u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut naive: u32 = 0;
        for c in v.chunks(2) {
            naive += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
        assert_eq!(internet_checksum(&v), checksum_fold(naive));
    }
}
