//! GRE version 0: RFC 2784 with the RFC 2890 key and sequence number extensions.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |C|R|K|S|s|Recur|  Reserved0  | Ver |         Protocol Type         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Checksum (optional)      |       Reserved1 (optional)        |   C = 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Key (optional)                          |   K = 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Sequence Number (optional)                     |   S = 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! - C (RFC 2784 section 2.5): the checksum is the Internet checksum of the GRE header and
//!   payload, computed with the checksum field zero.
//! - K, S (RFC 2890 section 2): 32-bit key and sequence number.
//! - R, s, Recur (RFC 1701 section 2.1: routing present, strict source route, recursion
//!   control): RFC 2784 section 2.3 says a receiver that does not implement RFC 1701 must
//!   discard such packets. [`GreRepr::parse`] returns [`WireError::Rfc1701`] for them.
//! - Reserved0 bits 8..12 must be sent as zero and ignored on receipt; they are kept in
//!   [`GreRepr::reserved0`] so that a parsed header re-emits byte-exact.
//! - Ver must be 0 here; version 1 is the enhanced GRE of PPTP ([`super::egre`]) and EoIP
//!   ([`super::eoip`]).

use super::{be16, be32, checksum_fold, checksum_sum, need, truncated};
use crate::error::{Error, WireError};

const WHAT: &str = "GRE";

/// Flag bits of the first header byte.
pub mod flags {
    /// Checksum present.
    pub const C: u8 = 0x80;
    /// Routing present (RFC 1701).
    pub const R: u8 = 0x40;
    /// Key present.
    pub const K: u8 = 0x20;
    /// Sequence number present.
    pub const S: u8 = 0x10;
    /// Strict source route (RFC 1701).
    pub const SSR: u8 = 0x08;
    /// Recursion control mask (RFC 1701).
    pub const RECUR: u8 = 0x07;
    /// Acknowledgment present (second byte, enhanced GRE version 1 only).
    pub const A: u8 = 0x80;
    /// Version mask (second byte).
    pub const VER: u8 = 0x07;
}

/// The GRE version of a packet (the low 3 bits of its second byte), if there are 2 bytes.
pub fn version(data: &[u8]) -> Option<u8> {
    data.get(1).map(|b| b & flags::VER)
}

/// A GRE version 0 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct GreRepr {
    /// Protocol Type: the EtherType of the payload (0x0800 IPv4, 0x86DD IPv6, 0x6558 Ethernet,
    /// 0x0000 keepalive reply).
    pub protocol: u16,
    /// C bit: a checksum is present (computed by `emit`, verified by `parse`).
    pub checksum: bool,
    /// K bit and the key (RFC 2890 section 2.1).
    pub key: Option<u32>,
    /// S bit and the sequence number (RFC 2890 section 2.2).
    pub sequence: Option<u32>,
    /// Reserved0 bits 8..12 (5 bits, value 0..=31): sent as zero, ignored on receipt, kept for
    /// a byte-exact round trip.
    pub reserved0: u8,
    /// Reserved1 (the 16 bits after the checksum; only on the wire when `checksum`).
    pub reserved1: u16,
}

impl GreRepr {
    /// A plain 4-byte header carrying `protocol`.
    pub const fn new(protocol: u16) -> Self {
        GreRepr {
            protocol,
            checksum: false,
            key: None,
            sequence: None,
            reserved0: 0,
            reserved1: 0,
        }
    }

    /// Header length in bytes: 4, plus 4 for each of checksum, key, sequence.
    pub const fn header_len(&self) -> usize {
        4 + if self.checksum { 4 } else { 0 }
            + if self.key.is_some() { 4 } else { 0 }
            + if self.sequence.is_some() { 4 } else { 0 }
    }

    /// Parse a GRE version 0 packet (header and payload); returns the header and the payload
    /// offset. Verifies the checksum when C is set.
    pub fn parse(packet: &[u8]) -> Result<(GreRepr, usize), WireError> {
        let (repr, hl) = Self::parse_header(packet)?;
        if repr.checksum {
            let found = be16(packet, 4);
            let sum = checksum_sum(packet);
            let computed = checksum_fold(sum);
            if computed != 0 {
                // recompute what the field should have held, for the error message
                let without = checksum_sum(packet.get(..4).unwrap_or(&[]))
                    + checksum_sum(packet.get(6..).unwrap_or(&[]));
                return Err(WireError::Checksum {
                    what: WHAT,
                    found,
                    computed: checksum_fold(without),
                });
            }
        }
        Ok((repr, hl))
    }

    /// Parse the header only (the checksum, if present, is not verified).
    pub fn parse_header(packet: &[u8]) -> Result<(GreRepr, usize), WireError> {
        truncated(WHAT, packet, 4)?;
        let b0 = packet.first().copied().unwrap_or(0);
        let b1 = packet.get(1).copied().unwrap_or(0);
        let ver = b1 & flags::VER;
        if ver != 0 {
            return Err(WireError::BadVersion {
                what: WHAT,
                expected: 0,
                found: ver,
            });
        }
        if b0 & (flags::R | flags::SSR | flags::RECUR) != 0 {
            return Err(WireError::Rfc1701 {
                routing: b0 & flags::R != 0,
                strict_source_route: b0 & flags::SSR != 0,
                recursion: b0 & flags::RECUR,
            });
        }
        let mut repr = GreRepr {
            protocol: be16(packet, 2),
            checksum: b0 & flags::C != 0,
            key: None,
            sequence: None,
            reserved0: b1 >> 3,
            reserved1: 0,
        };
        let hl = 4
            + if repr.checksum { 4 } else { 0 }
            + if b0 & flags::K != 0 { 4 } else { 0 }
            + if b0 & flags::S != 0 { 4 } else { 0 };
        truncated(WHAT, packet, hl)?;
        let mut off = 4;
        if repr.checksum {
            repr.reserved1 = be16(packet, 6);
            off += 4;
        }
        if b0 & flags::K != 0 {
            repr.key = Some(be32(packet, off));
            off += 4;
        }
        if b0 & flags::S != 0 {
            repr.sequence = Some(be32(packet, off));
        }
        Ok((repr, hl))
    }

    /// Write the header into `packet[..header_len()]`, where `packet` is the whole GRE packet
    /// (the payload already in `packet[header_len()..]`), and fill the checksum when C is set.
    /// Returns the header length.
    pub fn emit(&self, packet: &mut [u8]) -> Result<usize, Error> {
        let hl = self.emit_header(packet)?;
        if self.checksum {
            let c = checksum_fold(checksum_sum(packet));
            if let Some(f) = packet.get_mut(4..6) {
                f.copy_from_slice(&c.to_be_bytes());
            }
        }
        Ok(hl)
    }

    /// Write the header into `buf[..header_len()]` with the checksum field zero.
    pub fn emit_header(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let hl = self.header_len();
        need(buf, hl)?;
        let mut b0 = 0u8;
        if self.checksum {
            b0 |= flags::C;
        }
        if self.key.is_some() {
            b0 |= flags::K;
        }
        if self.sequence.is_some() {
            b0 |= flags::S;
        }
        let mut h = [0u8; 16];
        h[0] = b0;
        h[1] = (self.reserved0 & 0x1f) << 3;
        h[2..4].copy_from_slice(&self.protocol.to_be_bytes());
        let mut off = 4;
        if self.checksum {
            h[6..8].copy_from_slice(&self.reserved1.to_be_bytes());
            off += 4;
        }
        if let Some(k) = self.key {
            h[off..off + 4].copy_from_slice(&k.to_be_bytes());
            off += 4;
        }
        if let Some(s) = self.sequence {
            h[off..off + 4].copy_from_slice(&s.to_be_bytes());
        }
        if let (Some(dst), Some(src)) = (buf.get_mut(..hl), h.get(..hl)) {
            dst.copy_from_slice(src);
        }
        Ok(hl)
    }
}

/// RFC 2890 section 2.2 serial-number comparison: is `new` after `last` (modulo 2^32)?
pub fn sequence_after(new: u32, last: u32) -> bool {
    let d = new.wrapping_sub(last);
    d != 0 && d < 0x8000_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_header_vector() {
        let r = GreRepr::new(0x0800);
        let mut p = [0u8; 6];
        p[4..].copy_from_slice(&[0xaa, 0xbb]);
        assert_eq!(r.emit(&mut p), Ok(4));
        assert_eq!(p, [0x00, 0x00, 0x08, 0x00, 0xaa, 0xbb]);
        assert_eq!(GreRepr::parse(&p), Ok((r, 4)));
    }

    #[test]
    fn key_sequence_checksum_vector() {
        // C|K|S = 0xb0, proto 0x86dd, checksum, reserved1 0, key 42, seq 7, payload 01 02 03.
        let r = GreRepr {
            protocol: 0x86dd,
            checksum: true,
            key: Some(42),
            sequence: Some(7),
            reserved0: 0,
            reserved1: 0,
        };
        let mut p = [0u8; 19];
        p[16..].copy_from_slice(&[1, 2, 3]);
        assert_eq!(r.emit(&mut p), Ok(16));
        // sum of words: b000 + 86dd + 002a + 0007 + 0102 + 0300 = 0x1_3b10 -> 0x3b11 -> !0x3b11 = 0xc4ee
        assert_eq!(
            p,
            [0xb0, 0x00, 0x86, 0xdd, 0xc4, 0xee, 0x00, 0x00, 0, 0, 0, 42, 0, 0, 0, 7, 1, 2, 3]
        );
        assert_eq!(GreRepr::parse(&p), Ok((r, 16)));
        p[18] ^= 1;
        assert!(matches!(
            GreRepr::parse(&p),
            Err(WireError::Checksum { found: 0xc4ee, .. })
        ));
    }

    #[test]
    fn rfc1701_bits_are_rejected() {
        for b0 in [0x40u8, 0x08, 0x01, 0x07, 0x4f] {
            let p = [b0, 0, 0x08, 0, 0, 0, 0, 0];
            assert!(matches!(GreRepr::parse(&p), Err(WireError::Rfc1701 { .. })));
        }
    }

    #[test]
    fn version_and_truncation() {
        assert!(matches!(
            GreRepr::parse(&[0x20, 0x01, 0x64, 0x00, 0, 0, 0, 0]),
            Err(WireError::BadVersion { found: 1, .. })
        ));
        assert!(matches!(
            GreRepr::parse(&[0x20, 0x00, 0x08, 0x00, 0, 0]),
            Err(WireError::Truncated {
                need: 8,
                got: 6,
                ..
            })
        ));
        let mut small = [0u8; 7];
        assert_eq!(
            GreRepr {
                key: Some(1),
                ..GreRepr::new(0x0800)
            }
            .emit(&mut small),
            Err(Error::BufferTooSmall { need: 8, have: 7 })
        );
        assert_eq!(small, [0; 7]);
    }

    #[test]
    fn serial_comparison() {
        assert!(sequence_after(1, 0));
        assert!(sequence_after(0, u32::MAX));
        assert!(!sequence_after(5, 5));
        assert!(!sequence_after(4, 5));
        assert!(!sequence_after(0x8000_0000, 0));
    }
}
