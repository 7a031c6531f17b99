//! SSTP codecs (MS-SSTP section 2.2): the 4-byte packet header, attributes and control
//! messages.
//!
//! Two levels, as in smoltcp: [`Header`] is a checked view of the fixed header (after
//! [`Header::parse`] succeeds no accessor can fail), and [`ControlMessage`] / [`Attribute`]
//! are owned representations with `parse` and `emit` (`emit` into a buffer of
//! `buffer_len()` bytes never fails). Data packets are never copied: [`split_packet`] hands out
//! the PPP frame as a slice of the input, and [`emit_data`] writes header and frame into a
//! caller buffer.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Version 0x10 |  Reserved   |C|  R    |   Length (12 bits)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  data: one PPP frame  /  control: Message Type | Num Attributes |
//! |                              attributes ...                   |
//! ```
//!
//! Length counts the whole packet, header included, so a packet is at most 4095 bytes.
//! Parsing never panics and rejects malformed input with a [`WireError`] naming what was
//! wrong; every canonical message re-emits byte for byte (reserved bits are kept).

pub mod attribute;
pub mod message;

pub use attribute::{
    Attribute, AttributeId, CryptoBinding, CryptoBindingRequest, HashProtocol, Status, StatusInfo,
};
pub use message::{ControlMessage, MessageType};

/// Version 1.0 (major 1, minor 0), MS-SSTP 2.2.1.
pub const VERSION: u8 = 0x10;
/// Bytes of the packet header.
pub const HEADER_LEN: usize = 4;
/// Largest packet the 12-bit Length field can describe (header included).
pub const MAX_PACKET_LEN: usize = 0x0fff;
/// Largest PPP frame a data packet carries.
pub const MAX_DATA_LEN: usize = MAX_PACKET_LEN - HEADER_LEN;
/// Encapsulated Protocol ID of PPP (MS-SSTP 2.2.5).
pub const PROTOCOL_PPP: u16 = 0x0001;

/// What was wrong with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the structure needs.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// The structure.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// Version is not 0x10.
    #[error("unsupported SSTP version {0:#04x} (expected 0x10)")]
    Version(u8),
    /// The header's Length is below the header size.
    #[error("packet length {0} is shorter than the 4-byte header")]
    PacketLength(u16),
    /// A control packet too short for Message Type and Num Attributes.
    #[error("control packet of {0} bytes has no message header")]
    ControlTooShort(usize),
    /// An attribute's Length is below 4 or runs past the packet.
    #[error("attribute at offset {offset}: length {len} invalid ({left} bytes left)")]
    AttributeLength {
        /// Offset of the attribute in the packet.
        offset: usize,
        /// Its Length field.
        len: u16,
        /// Bytes left in the packet from the attribute on.
        left: usize,
    },
    /// A known attribute with the wrong value size (MS-SSTP fixes each).
    #[error("attribute {id:?}: value of {len} bytes, expected {expected}")]
    AttributeValue {
        /// The attribute.
        id: AttributeId,
        /// Value bytes present.
        len: usize,
        /// What the attribute needs.
        expected: &'static str,
    },
    /// Num Attributes disagrees with the attributes present.
    #[error("Num Attributes says {declared}, packet holds {found}")]
    AttributeCount {
        /// Declared.
        declared: u16,
        /// Found.
        found: usize,
    },
    /// Bytes left over after the declared attributes.
    #[error("{0} trailing bytes after the attributes")]
    Trailing(usize),
    /// The output buffer is too small; nothing was written.
    #[error("buffer of {have} bytes too small, need {need}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes offered.
        have: usize,
    },
    /// A frame longer than a data packet can carry.
    #[error("PPP frame of {0} bytes exceeds the SSTP maximum of 4091")]
    TooLong(usize),
}

/// The fixed packet header (MS-SSTP 2.2.1-2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Second octet: 7 reserved bits and the C bit (kept for byte-exact re-emission).
    flags: u8,
    /// Third and fourth octets: 4 reserved bits and the 12-bit length.
    length_field: u16,
}

impl Header {
    /// A header for a packet of `len` bytes (header included).
    pub fn new(control: bool, len: usize) -> Self {
        Header {
            flags: u8::from(control),
            length_field: (len.min(MAX_PACKET_LEN)) as u16,
        }
    }

    /// Check and read the first 4 bytes of `b`.
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        let h = b.get(..HEADER_LEN).ok_or(WireError::Truncated {
            what: "packet header",
            need: HEADER_LEN,
            have: b.len(),
        })?;
        if h[0] != VERSION {
            return Err(WireError::Version(h[0]));
        }
        let hdr = Header {
            flags: h[1],
            length_field: u16::from_be_bytes([h[2], h[3]]),
        };
        if usize::from(hdr.len()) < HEADER_LEN {
            return Err(WireError::PacketLength(hdr.len()));
        }
        Ok(hdr)
    }

    /// The C bit: a control packet.
    pub fn is_control(&self) -> bool {
        self.flags & 1 == 1
    }

    /// Packet length, header included (12 bits).
    pub fn len(&self) -> u16 {
        self.length_field & 0x0fff
    }

    /// Always false for a parsed header (a packet holds at least its header).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Write the 4 header bytes.
    pub fn emit(&self, out: &mut [u8; HEADER_LEN]) {
        out[0] = VERSION;
        out[1] = self.flags;
        out[2..4].copy_from_slice(&self.length_field.to_be_bytes());
    }
}

/// One packet split off the front of a byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// A data packet: one PPP frame (borrowed).
    Data(&'a [u8]),
    /// A control packet: the whole packet, header included (parse it with
    /// [`ControlMessage::parse`]).
    Control(&'a [u8]),
}

/// Delineate the next packet of a stream (MS-SSTP 3.1.5.1: a failure here means the stream
/// cannot be trusted and the connection is closed without a message).
///
/// `Ok(None)`: not enough bytes yet. `Ok(Some((packet, n)))`: a packet of `n` bytes.
pub fn split_packet(b: &[u8]) -> Result<Option<(Packet<'_>, usize)>, WireError> {
    if b.len() < HEADER_LEN {
        // Reject a wrong version as early as possible.
        if let Some(&v) = b.first() {
            if v != VERSION {
                return Err(WireError::Version(v));
            }
        }
        return Ok(None);
    }
    let h = Header::parse(b)?;
    let n = usize::from(h.len());
    let Some(pkt) = b.get(..n) else {
        return Ok(None);
    };
    Ok(Some(if h.is_control() {
        (Packet::Control(pkt), n)
    } else {
        (Packet::Data(&pkt[HEADER_LEN..]), n)
    }))
}

/// Write a data packet carrying `frame` into `out`; returns its length. No allocation; on
/// error nothing is written.
pub fn emit_data(frame: &[u8], out: &mut [u8]) -> Result<usize, WireError> {
    let n = frame.len() + HEADER_LEN;
    if frame.len() > MAX_DATA_LEN {
        return Err(WireError::TooLong(frame.len()));
    }
    let Some(dst) = out.get_mut(..n) else {
        return Err(WireError::BufferTooSmall {
            need: n,
            have: out.len(),
        });
    };
    let mut h = [0u8; HEADER_LEN];
    Header::new(false, n).emit(&mut h);
    dst[..HEADER_LEN].copy_from_slice(&h);
    dst[HEADER_LEN..].copy_from_slice(frame);
    Ok(n)
}

/// Append a data packet carrying `frame` to `out` (reuses its capacity).
pub fn push_data(frame: &[u8], out: &mut Vec<u8>) -> Result<usize, WireError> {
    if frame.len() > MAX_DATA_LEN {
        return Err(WireError::TooLong(frame.len()));
    }
    let n = frame.len() + HEADER_LEN;
    let mut h = [0u8; HEADER_LEN];
    Header::new(false, n).emit(&mut h);
    out.extend_from_slice(&h);
    out.extend_from_slice(frame);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_round_trip() {
        let b = [0x10, 0x01, 0x00, 0x0e];
        let h = Header::parse(&b).unwrap();
        assert!(h.is_control());
        assert_eq!(h.len(), 14);
        let mut o = [0u8; 4];
        h.emit(&mut o);
        assert_eq!(o, b);
        // reserved bits survive
        let b = [0x10, 0xf0, 0xf0, 0x10];
        let h = Header::parse(&b).unwrap();
        assert!(!h.is_control());
        assert_eq!(h.len(), 16);
        h.emit(&mut o);
        assert_eq!(o, b);
        assert_eq!(
            Header::parse(&[0x11, 0, 0, 4]),
            Err(WireError::Version(0x11))
        );
        assert_eq!(
            Header::parse(&[0x10, 0, 0, 3]),
            Err(WireError::PacketLength(3))
        );
    }

    #[test]
    fn split_and_emit_data() {
        let mut buf = [0u8; 16];
        let n = emit_data(&[0xff, 0x03, 0xc0, 0x21], &mut buf).unwrap();
        assert_eq!(&buf[..n], &[0x10, 0x00, 0x00, 0x08, 0xff, 0x03, 0xc0, 0x21]);
        let (p, used) = split_packet(&buf[..n]).unwrap().unwrap();
        assert_eq!(used, 8);
        assert_eq!(p, Packet::Data(&[0xff, 0x03, 0xc0, 0x21]));
        assert_eq!(split_packet(&buf[..7]).unwrap(), None);
        assert_eq!(split_packet(&[0x47]), Err(WireError::Version(0x47)));
        assert!(matches!(
            emit_data(&[0u8; 20], &mut buf),
            Err(WireError::BufferTooSmall { need: 24, have: 16 })
        ));
        assert_eq!(buf[..8], [0x10, 0x00, 0x00, 0x08, 0xff, 0x03, 0xc0, 0x21]);
        assert!(matches!(
            emit_data(&[0u8; 4092], &mut [0u8; 5000]),
            Err(WireError::TooLong(4092))
        ));
    }
}
