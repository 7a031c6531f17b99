//! TCP framing: every OpenVPN packet is prefixed with its length as a 16-bit big-endian
//! integer (in plaintext, outside any protection).

use crate::error::WireError;

/// Write `packet` with its 2-byte length prefix into `out`; returns bytes written.
pub fn frame(packet: &[u8], out: &mut [u8]) -> Result<usize, WireError> {
    let len = u16::try_from(packet.len()).map_err(|_| WireError::TooLong {
        field: "tcp_length",
        len: packet.len(),
        max: usize::from(u16::MAX),
    })?;
    let n = packet.len() + 2;
    let have = out.len();
    let dst = out
        .get_mut(..n)
        .ok_or(WireError::BufferTooSmall { need: n, have })?;
    dst[..2].copy_from_slice(&len.to_be_bytes());
    dst[2..].copy_from_slice(packet);
    Ok(n)
}

/// Reassembles length-prefixed packets from a TCP byte stream with a bounded buffer.
#[derive(Debug)]
pub struct Deframer {
    buf: Vec<u8>,
    max_packet: usize,
}

impl Deframer {
    /// New deframer accepting packets up to `max_packet` bytes (the buffer never grows past
    /// `max_packet + 2` plus one input chunk).
    pub fn new(max_packet: usize) -> Self {
        Deframer {
            buf: Vec::new(),
            max_packet,
        }
    }

    /// Append stream bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Take the next complete packet, if any. A length of 0 or above the maximum is a
    /// framing error (the stream cannot be resynchronised: the caller must close it).
    pub fn next_packet(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let Some(h) = self.buf.get(..2) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([h[0], h[1]]));
        if len == 0 || len > self.max_packet {
            return Err(WireError::TooLong {
                field: "tcp_length",
                len,
                max: self.max_packet,
            });
        }
        if self.buf.len() < len + 2 {
            return Ok(None);
        }
        let pkt = self.buf.get(2..len + 2).map(<[u8]>::to_vec);
        self.buf.drain(..len + 2);
        Ok(pkt)
    }
}
