//! L2TPv2 header (RFC 2661 section 3.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |T|L|x|x|S|x|O|P|x|x|x|x|  Ver  |          Length (opt)         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Tunnel ID           |           Session ID          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Ns (opt)          |             Nr (opt)          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Offset Size (opt)        |    Offset pad... (opt)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::error::{be16, need, Error, Result};

/// T bit: control message.
pub const FLAG_T: u16 = 0x8000;
/// L bit: Length field present.
pub const FLAG_L: u16 = 0x4000;
/// S bit: Ns and Nr present.
pub const FLAG_S: u16 = 0x0800;
/// O bit: Offset Size present.
pub const FLAG_O: u16 = 0x0200;
/// P bit: priority (data messages only).
pub const FLAG_P: u16 = 0x0100;
/// Mask of the Ver field.
pub const VERSION_MASK: u16 = 0x000f;

/// Read the Ver field of any L2TP packet over UDP (2 for L2TPv2, 3 for L2TPv3).
pub fn peek_version(buf: &[u8]) -> Result<u8> {
    let w = be16(buf, 0, "flags")?;
    Ok((w & VERSION_MASK) as u8)
}

/// A parsed L2TPv2 header.
///
/// `parse` followed by `emit` reproduces the header byte for byte, except that offset padding is
/// emitted as zeros (RFC 2661 leaves its content undefined) and reserved bits as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// T bit: control (true) or data (false) message.
    pub is_control: bool,
    /// L bit: whether the Length field is present (always true for control messages).
    pub has_length: bool,
    /// Tunnel ID (the receiver's identifier of the tunnel).
    pub tunnel_id: u16,
    /// Session ID (the receiver's identifier of the session; 0 for tunnel-level messages).
    pub session_id: u16,
    /// Ns and Nr, present when the S bit is set (always for control messages).
    pub sequence: Option<(u16, u16)>,
    /// Offset Size, present when the O bit is set (data messages only).
    pub offset_size: Option<u16>,
    /// P bit (data messages only).
    pub priority: bool,
}

impl Header {
    /// A control message header (T, L, S set).
    pub fn control(tunnel_id: u16, session_id: u16, ns: u16, nr: u16) -> Self {
        Header {
            is_control: true,
            has_length: true,
            tunnel_id,
            session_id,
            sequence: Some((ns, nr)),
            offset_size: None,
            priority: false,
        }
    }

    /// A data message header with no optional fields.
    pub fn data(tunnel_id: u16, session_id: u16) -> Self {
        Header {
            is_control: false,
            has_length: false,
            tunnel_id,
            session_id,
            sequence: None,
            offset_size: None,
            priority: false,
        }
    }

    /// Ns, if present.
    pub fn ns(&self) -> Option<u16> {
        self.sequence.map(|s| s.0)
    }

    /// Nr, if present.
    pub fn nr(&self) -> Option<u16> {
        self.sequence.map(|s| s.1)
    }

    /// Length of the header including offset padding.
    pub fn header_len(&self) -> usize {
        let mut n = 6;
        if self.has_length {
            n += 2;
        }
        if self.sequence.is_some() {
            n += 4;
        }
        if let Some(off) = self.offset_size {
            n += 2 + off as usize;
        }
        n
    }

    /// Parse the header of `buf`. Returns the header and the range of the payload (bounded by the
    /// Length field when present; trailing bytes after it are ignored, as RFC 2661 allows).
    pub fn parse(buf: &[u8]) -> Result<(Header, core::ops::Range<usize>)> {
        let flags = be16(buf, 0, "flags")?;
        let ver = (flags & VERSION_MASK) as u8;
        if ver != 2 {
            return Err(Error::Version {
                found: ver,
                expected: 2,
            });
        }
        let is_control = flags & FLAG_T != 0;
        let has_length = flags & FLAG_L != 0;
        let has_seq = flags & FLAG_S != 0;
        let has_off = flags & FLAG_O != 0;
        let priority = flags & FLAG_P != 0;
        if is_control {
            if !has_length || !has_seq {
                return Err(Error::Flags {
                    flags,
                    reason: "control message without L and S bits",
                });
            }
            if has_off || priority {
                return Err(Error::Flags {
                    flags,
                    reason: "control message with O or P bit",
                });
            }
        }
        let mut pos = 2;
        let mut end = buf.len();
        if has_length {
            let len = be16(buf, pos, "length")? as usize;
            if len > buf.len() {
                return Err(Error::Length {
                    field: "length",
                    offset: pos,
                    value: len,
                });
            }
            end = len;
            pos += 2;
        }
        let tunnel_id = be16(buf, pos, "tunnel id")?;
        let session_id = be16(buf, pos + 2, "session id")?;
        pos += 4;
        let sequence = if has_seq {
            let ns = be16(buf, pos, "ns")?;
            let nr = be16(buf, pos + 2, "nr")?;
            pos += 4;
            Some((ns, nr))
        } else {
            None
        };
        let offset_size = if has_off {
            let off = be16(buf, pos, "offset size")?;
            pos += 2;
            need(buf, pos, off as usize, "offset pad")?;
            pos += off as usize;
            Some(off)
        } else {
            None
        };
        if pos > end {
            return Err(Error::Length {
                field: "length",
                offset: 2,
                value: end,
            });
        }
        Ok((
            Header {
                is_control,
                has_length,
                tunnel_id,
                session_id,
                sequence,
                offset_size,
                priority,
            },
            pos..end,
        ))
    }

    /// The 16-bit flags/version word.
    pub fn flags_word(&self) -> u16 {
        let mut f = 2u16;
        if self.is_control {
            f |= FLAG_T;
        }
        if self.has_length {
            f |= FLAG_L;
        }
        if self.sequence.is_some() {
            f |= FLAG_S;
        }
        if self.offset_size.is_some() {
            f |= FLAG_O;
        }
        if self.priority {
            f |= FLAG_P;
        }
        f
    }

    /// Write the header for a payload of `payload_len` bytes into the start of `out`.
    /// Returns the header length. On `BufferTooSmall` nothing is written.
    pub fn emit(&self, payload_len: usize, out: &mut [u8]) -> Result<usize> {
        let hl = self.header_len();
        let total = hl + payload_len;
        if out.len() < hl {
            return Err(Error::BufferTooSmall {
                need: hl,
                have: out.len(),
            });
        }
        if self.has_length && total > u16::MAX as usize {
            return Err(Error::Length {
                field: "length",
                offset: 2,
                value: total,
            });
        }
        let mut w = Writer::new(out);
        w.u16(self.flags_word());
        if self.has_length {
            w.u16(total as u16);
        }
        w.u16(self.tunnel_id);
        w.u16(self.session_id);
        if let Some((ns, nr)) = self.sequence {
            w.u16(ns);
            w.u16(nr);
        }
        if let Some(off) = self.offset_size {
            w.u16(off);
            for _ in 0..off {
                w.u8(0);
            }
        }
        Ok(hl)
    }
}

/// Bounds-checked cursor writer used by the emitters after they have checked the total size.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }
    pub(crate) fn u8(&mut self, v: u8) {
        if let Some(b) = self.buf.get_mut(self.pos) {
            *b = v;
        }
        self.pos += 1;
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + v.len()) {
            dst.copy_from_slice(v);
        }
        self.pos += v.len();
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_roundtrip() {
        let h = Header::control(7, 9, 1, 2);
        let mut b = [0u8; 12];
        assert_eq!(h.emit(0, &mut b).unwrap(), 12);
        assert_eq!(b, [0xc8, 0x02, 0, 12, 0, 7, 0, 9, 0, 1, 0, 2]);
        let (p, r) = Header::parse(&b).unwrap();
        assert_eq!(p, h);
        assert_eq!(r, 12..12);
    }

    #[test]
    fn data_with_offset() {
        let mut h = Header::data(1, 2);
        h.offset_size = Some(3);
        h.has_length = true;
        let mut b = [0u8; 16];
        let hl = h.emit(3, &mut b).unwrap();
        assert_eq!(hl, 13);
        b[13..16].copy_from_slice(&[0xff, 0x03, 0xc0]);
        let (p, r) = Header::parse(&b).unwrap();
        assert_eq!(p, h);
        assert_eq!(&b[r], &[0xff, 0x03, 0xc0]);
    }

    #[test]
    fn rejects() {
        assert!(matches!(
            Header::parse(&[0x80, 0x02, 0, 0, 0, 0]),
            Err(Error::Flags { .. })
        ));
        assert!(matches!(
            Header::parse(&[0x00, 0x03, 0, 0, 0, 0]),
            Err(Error::Version { found: 3, .. })
        ));
        assert!(matches!(
            Header::parse(&[0xc8, 0x02, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::Length { .. })
        ));
        assert!(matches!(
            Header::parse(&[0x02, 0x02, 0, 1, 0, 1, 0, 9]),
            Err(Error::Truncated { .. })
        ));
        let mut small = [0u8; 4];
        assert_eq!(
            Header::control(1, 1, 0, 0).emit(0, &mut small),
            Err(Error::BufferTooSmall { need: 12, have: 4 })
        );
        assert_eq!(small, [0; 4]);
    }
}
