//! MikroTik EoIP (Ethernet over IP, IPv4 protocol 47) and EoIPv6 (IPv6 next header 97).
//!
//! EoIP is proprietary; this layout comes from third-party reimplementations (Nat-Lab/eoip,
//! bbonev/eoip) and Wireshark's `GRE_MIKROTIK_EOIP` (0x6400) dissector. It is the enhanced-GRE
//! header of RFC 2637 with a different protocol type and a little-endian tunnel id:
//!
//! ```text
//!  byte:  0     1     2     3     4     5     6     7     8 ...
//!       +-----+-----+-----+-----+-----+-----+-----+-----+-------------------------+
//!       | 0x20| 0x01| 0x64| 0x00| frame len | tunnel id | Ethernet frame (no FCS) |
//!       +-----+-----+-----+-----+-----+-----+-----+-----+-------------------------+
//!        K bit  ver 1  protocol    big-end.   LITTLE-end.
//! ```
//!
//! A keepalive is the bare 8-byte header with frame length 0.
//!
//! EoIPv6 uses the 2-byte EtherIP header of RFC 3378 with MikroTik's twist: the 12-bit tunnel
//! id sits in the header and the two nibbles of the first byte are swapped, so the version
//! nibble 3 ends up low:
//!
//! ```text
//!   byte 0 = (tunnel_id >> 8 & 0xF) << 4 | 0x3        byte 1 = tunnel_id & 0xFF
//! ```
//!
//! A keepalive is the bare 2-byte header. Tunnel ids above 4095 cannot be represented.

use core::ops::Range;

use super::{be16, need, truncated, ETHERTYPE_EOIP};
use crate::error::{Error, WireError};

const WHAT: &str = "EoIP";
const WHAT6: &str = "EoIPv6";

/// The 4 fixed bytes every EoIP header starts with.
pub const EOIP_MAGIC: [u8; 4] = [0x20, 0x01, 0x64, 0x00];
/// EoIP header length.
pub const EOIP_HEADER_LEN: usize = 8;
/// EoIPv6 header length.
pub const EOIPV6_HEADER_LEN: usize = 2;
/// Largest EoIPv6 tunnel id (12 bits).
pub const EOIPV6_MAX_TUNNEL_ID: u16 = 0x0fff;

/// An EoIP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct EoipRepr {
    /// Length of the Ethernet frame that follows (0 = keepalive).
    pub frame_len: u16,
    /// Tunnel id (RouterOS `tunnel-id`), little-endian on the wire.
    pub tunnel_id: u16,
}

impl EoipRepr {
    /// Whether this is a keepalive (frame length 0).
    pub const fn is_keepalive(&self) -> bool {
        self.frame_len == 0
    }

    /// Parse a packet; returns the header and the byte range of the frame.
    pub fn parse(packet: &[u8]) -> Result<(EoipRepr, Range<usize>), WireError> {
        truncated(WHAT, packet, EOIP_HEADER_LEN)?;
        let b0 = packet.first().copied().unwrap_or(0);
        let b1 = packet.get(1).copied().unwrap_or(0);
        if b1 & 0x07 != 1 {
            return Err(WireError::BadVersion {
                what: WHAT,
                expected: 1,
                found: b1 & 0x07,
            });
        }
        if b0 != EOIP_MAGIC[0] {
            return Err(WireError::BadFlags {
                what: WHAT,
                offset: 0,
                found: b0,
                mask: 0xff,
                expected: EOIP_MAGIC[0],
            });
        }
        if b1 != EOIP_MAGIC[1] {
            return Err(WireError::BadFlags {
                what: WHAT,
                offset: 1,
                found: b1,
                mask: 0xff,
                expected: EOIP_MAGIC[1],
            });
        }
        let proto = be16(packet, 2);
        if proto != ETHERTYPE_EOIP {
            return Err(WireError::BadProtocol {
                what: WHAT,
                expected: ETHERTYPE_EOIP,
                found: proto,
            });
        }
        let repr = EoipRepr {
            frame_len: be16(packet, 4),
            tunnel_id: u16::from_le_bytes([
                packet.get(6).copied().unwrap_or(0),
                packet.get(7).copied().unwrap_or(0),
            ]),
        };
        let end = EOIP_HEADER_LEN + usize::from(repr.frame_len);
        if end > packet.len() {
            return Err(WireError::BadLength {
                what: WHAT,
                field: "frame length",
                value: usize::from(repr.frame_len),
                available: packet.len() - EOIP_HEADER_LEN,
            });
        }
        Ok((repr, EOIP_HEADER_LEN..end))
    }

    /// Write the 8-byte header into `buf[..8]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        need(buf, EOIP_HEADER_LEN)?;
        let l = self.frame_len.to_be_bytes();
        let t = self.tunnel_id.to_le_bytes();
        let h = [
            EOIP_MAGIC[0],
            EOIP_MAGIC[1],
            EOIP_MAGIC[2],
            EOIP_MAGIC[3],
            l[0],
            l[1],
            t[0],
            t[1],
        ];
        if let Some(d) = buf.get_mut(..EOIP_HEADER_LEN) {
            d.copy_from_slice(&h);
        }
        Ok(EOIP_HEADER_LEN)
    }
}

/// An EoIPv6 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Eoipv6Repr {
    /// Tunnel id, 0..=4095.
    pub tunnel_id: u16,
}

impl Eoipv6Repr {
    /// Parse a packet; returns the header and the frame range (empty for a keepalive).
    pub fn parse(packet: &[u8]) -> Result<(Eoipv6Repr, Range<usize>), WireError> {
        truncated(WHAT6, packet, EOIPV6_HEADER_LEN)?;
        let b0 = packet.first().copied().unwrap_or(0);
        let b1 = packet.get(1).copied().unwrap_or(0);
        if b0 & 0x0f != 3 {
            return Err(WireError::BadVersion {
                what: WHAT6,
                expected: 3,
                found: b0 & 0x0f,
            });
        }
        let tunnel_id = (u16::from(b0 >> 4) << 8) | u16::from(b1);
        Ok((Eoipv6Repr { tunnel_id }, EOIPV6_HEADER_LEN..packet.len()))
    }

    /// Write the 2-byte header into `buf[..2]`; a tunnel id above 4095 is an error.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.tunnel_id > EOIPV6_MAX_TUNNEL_ID {
            return Err(WireError::OutOfRange {
                what: WHAT6,
                field: "tunnel-id",
                value: u32::from(self.tunnel_id),
                max: u32::from(EOIPV6_MAX_TUNNEL_ID),
            }
            .into());
        }
        need(buf, EOIPV6_HEADER_LEN)?;
        if let Some(d) = buf.get_mut(..2) {
            d[0] = (((self.tunnel_id >> 8) & 0x0f) as u8) << 4 | 0x03;
            d[1] = (self.tunnel_id & 0xff) as u8;
        }
        Ok(EOIPV6_HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vector_tunnel_100_frame_60() {
        // spec section 5: 20 01 64 00 | 00 3c | 64 00
        let r = EoipRepr {
            frame_len: 60,
            tunnel_id: 100,
        };
        let mut p = [0u8; 68];
        assert_eq!(r.emit(&mut p), Ok(8));
        assert_eq!(&p[..8], &[0x20, 0x01, 0x64, 0x00, 0x00, 0x3c, 0x64, 0x00]);
        assert_eq!(EoipRepr::parse(&p), Ok((r, 8..68)));
        // tunnel id 0x1234 is little-endian: 34 12
        let r2 = EoipRepr {
            frame_len: 0,
            tunnel_id: 0x1234,
        };
        r2.emit(&mut p).unwrap();
        assert_eq!(&p[..8], &[0x20, 0x01, 0x64, 0x00, 0, 0, 0x34, 0x12]);
        assert!(EoipRepr::parse(&p[..8]).unwrap().0.is_keepalive());
    }

    #[test]
    fn eoip_bad_inputs() {
        assert!(matches!(
            EoipRepr::parse(&[0x20, 0x01, 0x64, 0x00, 0, 10, 0, 0, 1]),
            Err(WireError::BadLength {
                value: 10,
                available: 1,
                ..
            })
        ));
        assert!(matches!(
            EoipRepr::parse(&[0x20, 0x01, 0x88, 0x0b, 0, 0, 0, 0]),
            Err(WireError::BadProtocol { found: 0x880b, .. })
        ));
        assert!(matches!(
            EoipRepr::parse(&[0x30, 0x01, 0x64, 0x00, 0, 0, 0, 0]),
            Err(WireError::BadFlags { offset: 0, .. })
        ));
        assert!(matches!(
            EoipRepr::parse(&[0x20, 0x00, 0x64, 0x00, 0, 0, 0, 0]),
            Err(WireError::BadVersion { found: 0, .. })
        ));
        assert!(matches!(
            EoipRepr::parse(&[0x20, 0x01, 0x64]),
            Err(WireError::Truncated {
                need: 8,
                got: 3,
                ..
            })
        ));
    }

    #[test]
    fn eoipv6_vectors() {
        let mut b = [0u8; 2];
        Eoipv6Repr { tunnel_id: 0 }.emit(&mut b).unwrap();
        assert_eq!(b, [0x03, 0x00]);
        Eoipv6Repr { tunnel_id: 0xabc }.emit(&mut b).unwrap();
        assert_eq!(b, [0xa3, 0xbc]);
        assert_eq!(
            Eoipv6Repr::parse(&[0xa3, 0xbc, 0xee]),
            Ok((Eoipv6Repr { tunnel_id: 0xabc }, 2..3))
        );
        assert!(matches!(
            Eoipv6Repr { tunnel_id: 4096 }.emit(&mut b),
            Err(Error::Wire(WireError::OutOfRange { .. }))
        ));
        // RFC 3378 byte order (version in the high nibble) is not MikroTik's
        assert!(matches!(
            Eoipv6Repr::parse(&[0x30, 0x00]),
            Err(WireError::BadVersion { found: 0, .. })
        ));
    }
}
