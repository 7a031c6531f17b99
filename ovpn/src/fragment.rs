//! OpenVPN's own fragmentation of data-channel packets (`fragment N`), for paths that drop
//! IP fragments.
//!
//! With `fragment` on, every data-channel payload (after the compression framing, before
//! encryption) starts with a 4-byte header, a big-endian u32:
//!
//! ```text
//!  bits 0-1   type: 0 whole packet, 1 fragment (not last), 2 last fragment, 3 test
//!  bits 2-9   sequence id of the fragmented packet (8 bits, wraps)
//!  bits 10-14 fragment id within the packet (0..=31)
//!  bits 15-28 last fragment: the size of the other fragments / 4 (all non-last fragments
//!             of a packet have that size, a multiple of 4)
//! ```
//!
//! Reassembly keeps a few packets in progress (bounded), keyed by sequence id; a piece that
//! does not fit what is known of its packet is dropped.

use crate::error::WireError;

/// Header length.
pub const FRAG_HEADER_LEN: usize = 4;
/// Fragments per packet at most (5-bit fragment id).
pub const MAX_FRAGS: usize = 32;
/// Packets reassembled at the same time at most.
const SLOTS: usize = 8;

/// Fragment type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragKind {
    /// A whole packet (type 0).
    Whole,
    /// A fragment that is not the last (type 1).
    NotLast,
    /// The last fragment (type 2).
    Last,
    /// MTU test packet (type 3; not used by OpenVPN either).
    Test,
}

/// A fragment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragHeader {
    /// Type.
    pub kind: FragKind,
    /// Sequence id of the packet.
    pub seq_id: u8,
    /// Fragment id (0..=31).
    pub frag_id: u8,
    /// `Last`: size of the non-last fragments in bytes (multiple of 4); else 0.
    pub frag_size: usize,
}

impl FragHeader {
    /// Parse the header at the start of `b`; returns it and the rest.
    pub fn parse(b: &[u8]) -> Result<(Self, &[u8]), WireError> {
        let (h, rest) = b
            .split_first_chunk::<FRAG_HEADER_LEN>()
            .ok_or(WireError::Truncated {
                field: "fragment header",
                offset: 0,
                need: FRAG_HEADER_LEN,
                have: b.len(),
            })?;
        let v = u32::from_be_bytes(*h);
        let kind = match v & 3 {
            0 => FragKind::Whole,
            1 => FragKind::NotLast,
            2 => FragKind::Last,
            _ => FragKind::Test,
        };
        Ok((
            FragHeader {
                kind,
                seq_id: ((v >> 2) & 0xff) as u8,
                frag_id: ((v >> 10) & 0x1f) as u8,
                frag_size: if kind == FragKind::Last {
                    (((v >> 15) & 0x3fff) as usize) << 2
                } else {
                    0
                },
            },
            rest,
        ))
    }

    /// The 4 header bytes.
    pub fn to_bytes(&self) -> [u8; FRAG_HEADER_LEN] {
        let kind = match self.kind {
            FragKind::Whole => 0,
            FragKind::NotLast => 1,
            FragKind::Last => 2,
            FragKind::Test => 3,
        };
        let mut v = kind | u32::from(self.seq_id) << 2 | (u32::from(self.frag_id) & 0x1f) << 10;
        if self.kind == FragKind::Last {
            v |= ((self.frag_size >> 2) as u32 & 0x3fff) << 15;
        }
        v.to_be_bytes()
    }
}

/// Split a payload of `len` bytes into pieces of at most `max` bytes: the piece size (a
/// multiple of 4) and the count. `None` if it would need more than 32 pieces.
pub fn plan(len: usize, max: usize) -> Option<(usize, usize)> {
    let size = max & !3;
    if size == 0 {
        return None;
    }
    let n = len.div_ceil(size).max(1);
    (n <= MAX_FRAGS).then_some((size, n))
}

struct Slot {
    seq_id: u8,
    buf: Vec<u8>,
    received: u32,
    frag_size: usize,
    total: Option<(u8, usize)>,
    age: u64,
}

/// Reassembles fragmented packets (bounded: a few packets in progress, each at most
/// `max_packet` bytes).
pub struct Reassembler {
    slots: Vec<Slot>,
    max_packet: usize,
    clock: u64,
}

impl core::fmt::Debug for Reassembler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reassembler")
            .field("in_progress", &self.slots.len())
            .finish()
    }
}

impl Reassembler {
    /// New reassembler for packets up to `max_packet` bytes.
    pub fn new(max_packet: usize) -> Self {
        Reassembler {
            slots: Vec::new(),
            max_packet,
            clock: 0,
        }
    }

    /// Take one fragment (`h` and its data). When it completes its packet, the packet is
    /// copied to `out` and its length returned. Pieces that contradict what is known of
    /// their packet are an error (the packet in progress is discarded).
    pub fn push(
        &mut self,
        h: &FragHeader,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<Option<usize>, &'static str> {
        self.clock += 1;
        let clock = self.clock;
        let idx = match self.slots.iter().position(|s| s.seq_id == h.seq_id) {
            Some(i) => i,
            None => {
                if self.slots.len() >= SLOTS {
                    // Evict the oldest packet in progress.
                    if let Some((i, _)) = self.slots.iter().enumerate().min_by_key(|(_, s)| s.age) {
                        self.slots.swap_remove(i);
                    }
                }
                self.slots.push(Slot {
                    seq_id: h.seq_id,
                    buf: Vec::new(),
                    received: 0,
                    frag_size: 0,
                    total: None,
                    age: clock,
                });
                self.slots.len() - 1
            }
        };
        let r = Self::place(&mut self.slots[idx], h, data, self.max_packet, out);
        match r {
            Ok(Some(_)) | Err(_) => {
                self.slots.swap_remove(idx);
            }
            Ok(None) => {
                if let Some(s) = self.slots.get_mut(idx) {
                    s.age = clock;
                }
            }
        }
        r
    }

    fn place(
        s: &mut Slot,
        h: &FragHeader,
        data: &[u8],
        max_packet: usize,
        out: &mut [u8],
    ) -> Result<Option<usize>, &'static str> {
        let size = match h.kind {
            FragKind::NotLast => data.len(),
            FragKind::Last => h.frag_size,
            _ => return Err("not a fragment"),
        };
        if size == 0 || size % 4 != 0 {
            return Err("fragment size not a positive multiple of 4");
        }
        if s.frag_size != 0 && s.frag_size != size {
            return Err("fragment size changed within a packet");
        }
        s.frag_size = size;
        let id = usize::from(h.frag_id);
        let off = id * size;
        let end = off + data.len();
        if end > max_packet {
            return Err("reassembled packet too large");
        }
        if h.kind == FragKind::Last {
            if data.len() > size {
                return Err("last fragment larger than the others");
            }
            s.total = Some((h.frag_id, end));
        }
        if s.buf.len() < end {
            s.buf.resize(end, 0);
        }
        s.buf[off..end].copy_from_slice(data);
        s.received |= 1 << id;
        let Some((last, total)) = s.total else {
            return Ok(None);
        };
        let want = if last >= 31 {
            u32::MAX
        } else {
            (1u32 << (last + 1)) - 1
        };
        if s.received & !want != 0 {
            return Err("fragment beyond the last one");
        }
        if s.received != want {
            return Ok(None);
        }
        let o = out.get_mut(..total).ok_or("output buffer too small")?;
        o.copy_from_slice(&s.buf[..total]);
        Ok(Some(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bit_layout() {
        let h = FragHeader {
            kind: FragKind::Last,
            seq_id: 0xAB,
            frag_id: 3,
            frag_size: 1200,
        };
        let b = h.to_bytes();
        assert_eq!(u32::from_be_bytes(b), 2 | 0xAB << 2 | 3 << 10 | 300 << 15);
        assert_eq!(FragHeader::parse(&b).unwrap().0, h);
        let w = FragHeader {
            kind: FragKind::Whole,
            seq_id: 0,
            frag_id: 0,
            frag_size: 0,
        };
        assert_eq!(w.to_bytes(), [0; 4]);
        assert!(FragHeader::parse(&[0, 0, 0]).is_err());
    }

    #[test]
    fn reassembles_out_of_order_and_rejects_inconsistent_pieces() {
        let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let (size, n) = plan(payload.len(), 301).unwrap();
        assert_eq!((size, n), (300, 4));
        let mut r = Reassembler::new(4096);
        let mut out = vec![0u8; 4096];
        let pieces: Vec<_> = payload.chunks(size).enumerate().collect();
        let mut done = None;
        for &(i, c) in pieces.iter().rev() {
            let h = FragHeader {
                kind: if i + 1 == n {
                    FragKind::Last
                } else {
                    FragKind::NotLast
                },
                seq_id: 7,
                frag_id: i as u8,
                frag_size: if i + 1 == n { size } else { 0 },
            };
            done = r.push(&h, c, &mut out).unwrap();
        }
        assert_eq!(done, Some(1000));
        assert_eq!(&out[..1000], &payload[..]);
        // A non-last piece of another size than its siblings is refused.
        let h = |seq_id, id, kind| FragHeader {
            kind,
            seq_id,
            frag_id: id,
            frag_size: 0,
        };
        r.push(&h(9, 0, FragKind::NotLast), &[0; 8], &mut out)
            .unwrap();
        assert!(r
            .push(&h(9, 1, FragKind::NotLast), &[0; 12], &mut out)
            .is_err());
        // Bounded: a flood of unfinished packets keeps at most SLOTS in progress.
        for seq in 0..=255u8 {
            r.push(&h(seq, 0, FragKind::NotLast), &[0; 8], &mut out)
                .unwrap();
        }
        assert_eq!(r.slots.len(), SLOTS);
    }
}
