//! Enhanced GRE, version 1 (RFC 2637 section 4.1): the data channel of PPTP.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type (0x880B)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Key (HW) Payload Length    |       Key (LW) Call ID            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Sequence Number (Optional)                     |   S = 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               Acknowledgment Number (Optional)                  |   A = 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! C, R, s and Recur must be 0, K must be 1, Flags must be 0, Ver must be 1. The payload is a
//! PPP frame (address/control usually compressed) of `payload_len` bytes. A packet with S = 0
//! and A = 1 is an acknowledgment without payload.
//!
//! ```
//! use gre_family::wire::egre::EnhancedGreRepr;
//! let r = EnhancedGreRepr { payload_len: 3, call_id: 0x1234, sequence: Some(1), ack: None };
//! let mut pkt = [0u8; 15];
//! pkt[12..].copy_from_slice(&[0xff, 0x03, 0xc0]);
//! let hl = r.emit(&mut pkt).unwrap();
//! assert_eq!(&pkt[..hl], &[0x30, 0x01, 0x88, 0x0b, 0, 3, 0x12, 0x34, 0, 0, 0, 1]);
//! let (back, payload) = EnhancedGreRepr::parse(&pkt).unwrap();
//! assert_eq!((back, payload), (r, 12..15));
//! ```

use core::ops::Range;

use super::{be16, be32, gre::flags, need, truncated, ETHERTYPE_PPP};
use crate::error::{Error, WireError};

const WHAT: &str = "enhanced GRE";

/// An enhanced GRE (version 1) header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct EnhancedGreRepr {
    /// Key high word: length of the payload in bytes (not counting the GRE header).
    pub payload_len: u16,
    /// Key low word: the peer's call ID (from its Outgoing-Call-Request/Reply).
    pub call_id: u16,
    /// S bit and sequence number of this payload.
    pub sequence: Option<u32>,
    /// A bit and the highest sequence number received from the peer.
    pub ack: Option<u32>,
}

impl EnhancedGreRepr {
    /// Header length: 8, plus 4 for the sequence and 4 for the acknowledgment.
    pub const fn header_len(&self) -> usize {
        8 + if self.sequence.is_some() { 4 } else { 0 } + if self.ack.is_some() { 4 } else { 0 }
    }

    /// Parse a packet; returns the header and the byte range of the payload
    /// (`payload_len` bytes after the header; trailing bytes beyond it are ignored).
    pub fn parse(packet: &[u8]) -> Result<(EnhancedGreRepr, Range<usize>), WireError> {
        truncated(WHAT, packet, 8)?;
        let b0 = packet.first().copied().unwrap_or(0);
        let b1 = packet.get(1).copied().unwrap_or(0);
        let ver = b1 & flags::VER;
        if ver != 1 {
            return Err(WireError::BadVersion {
                what: WHAT,
                expected: 1,
                found: ver,
            });
        }
        // everything but S must be exactly K
        if b0 & !flags::S != flags::K {
            return Err(WireError::BadFlags {
                what: WHAT,
                offset: 0,
                found: b0,
                mask: !flags::S,
                expected: flags::K,
            });
        }
        if b1 & 0x78 != 0 {
            return Err(WireError::BadFlags {
                what: WHAT,
                offset: 1,
                found: b1,
                mask: 0x78,
                expected: 0,
            });
        }
        let proto = be16(packet, 2);
        if proto != ETHERTYPE_PPP {
            return Err(WireError::BadProtocol {
                what: WHAT,
                expected: ETHERTYPE_PPP,
                found: proto,
            });
        }
        let mut repr = EnhancedGreRepr {
            payload_len: be16(packet, 4),
            call_id: be16(packet, 6),
            sequence: None,
            ack: None,
        };
        let mut off = 8;
        if b0 & flags::S != 0 {
            truncated(WHAT, packet, off + 4)?;
            repr.sequence = Some(be32(packet, off));
            off += 4;
        }
        if b1 & flags::A != 0 {
            truncated(WHAT, packet, off + 4)?;
            repr.ack = Some(be32(packet, off));
            off += 4;
        }
        let end = off + usize::from(repr.payload_len);
        if end > packet.len() {
            return Err(WireError::BadLength {
                what: WHAT,
                field: "payload length",
                value: usize::from(repr.payload_len),
                available: packet.len() - off,
            });
        }
        Ok((repr, off..end))
    }

    /// Write the header into `buf[..header_len()]`. `payload_len` is written as given (set it
    /// to the payload's length). Returns the header length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let hl = self.header_len();
        need(buf, hl)?;
        let mut h = [0u8; 16];
        h[0] = flags::K | if self.sequence.is_some() { flags::S } else { 0 };
        h[1] = 1 | if self.ack.is_some() { flags::A } else { 0 };
        h[2..4].copy_from_slice(&ETHERTYPE_PPP.to_be_bytes());
        h[4..6].copy_from_slice(&self.payload_len.to_be_bytes());
        h[6..8].copy_from_slice(&self.call_id.to_be_bytes());
        let mut off = 8;
        if let Some(s) = self.sequence {
            h[off..off + 4].copy_from_slice(&s.to_be_bytes());
            off += 4;
        }
        if let Some(a) = self.ack {
            h[off..off + 4].copy_from_slice(&a.to_be_bytes());
        }
        if let (Some(dst), Some(src)) = (buf.get_mut(..hl), h.get(..hl)) {
            dst.copy_from_slice(src);
        }
        Ok(hl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_only_vector() {
        let r = EnhancedGreRepr {
            payload_len: 0,
            call_id: 0x0102,
            sequence: None,
            ack: Some(0x0a0b0c0d),
        };
        let mut b = [0u8; 12];
        assert_eq!(r.emit(&mut b), Ok(12));
        assert_eq!(
            b,
            [0x20, 0x81, 0x88, 0x0b, 0, 0, 1, 2, 0x0a, 0x0b, 0x0c, 0x0d]
        );
        assert_eq!(EnhancedGreRepr::parse(&b), Ok((r, 12..12)));
    }

    #[test]
    fn seq_and_ack_vector() {
        let r = EnhancedGreRepr {
            payload_len: 2,
            call_id: 7,
            sequence: Some(5),
            ack: Some(4),
        };
        let mut b = [0u8; 18];
        b[16..].copy_from_slice(&[0x80, 0x21]);
        assert_eq!(r.emit(&mut b), Ok(16));
        assert_eq!(
            &b[..16],
            &[0x30, 0x81, 0x88, 0x0b, 0, 2, 0, 7, 0, 0, 0, 5, 0, 0, 0, 4]
        );
        assert_eq!(EnhancedGreRepr::parse(&b), Ok((r, 16..18)));
    }

    #[test]
    fn bad_inputs() {
        // version 0
        assert!(matches!(
            EnhancedGreRepr::parse(&[0x20, 0x00, 0x88, 0x0b, 0, 0, 0, 0]),
            Err(WireError::BadVersion { found: 0, .. })
        ));
        // K missing
        assert!(matches!(
            EnhancedGreRepr::parse(&[0x00, 0x01, 0x88, 0x0b, 0, 0, 0, 0]),
            Err(WireError::BadFlags { offset: 0, .. })
        ));
        // checksum bit set
        assert!(matches!(
            EnhancedGreRepr::parse(&[0xa0, 0x01, 0x88, 0x0b, 0, 0, 0, 0]),
            Err(WireError::BadFlags { offset: 0, .. })
        ));
        // EoIP protocol is not PPP
        assert!(matches!(
            EnhancedGreRepr::parse(&[0x20, 0x01, 0x64, 0x00, 0, 0, 0, 0]),
            Err(WireError::BadProtocol { found: 0x6400, .. })
        ));
        // payload length beyond the packet
        assert!(matches!(
            EnhancedGreRepr::parse(&[0x20, 0x01, 0x88, 0x0b, 0, 5, 0, 0, 1, 2]),
            Err(WireError::BadLength {
                value: 5,
                available: 2,
                ..
            })
        ));
        // S set but sequence missing
        assert!(matches!(
            EnhancedGreRepr::parse(&[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0, 1]),
            Err(WireError::Truncated { need: 12, .. })
        ));
    }
}
