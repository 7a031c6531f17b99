//! RFC 1662 asynchronous HDLC-like framing: flag `0x7E`, control escape `0x7D` (the next octet
//! is XORed with `0x20`), the Async-Control-Character-Map (which of the octets `0x00..0x20` are
//! escaped on transmission) and the 16-bit frame check sequence (RFC 1662 s3.1, s4.2, App. C).
//!
//! Used for PPP over serial lines and ptys and for the helper programs that speak PPP over a
//! pipe (`pptp --nolaunchpppd`, `sstpc --nolaunchpppd`, rp-pppoe `pppoe`).
//!
//! ```
//! use ppp::wire::hdlc::{encode, Deframer, DEFAULT_ACCM};
//! let frame = [0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x04];
//! let mut line = Vec::new();
//! encode(&frame, DEFAULT_ACCM, &mut line);
//! let mut d = Deframer::new(1600);
//! d.push(&line);
//! assert_eq!(d.next_frame().unwrap().unwrap(), frame);
//! ```

use crate::error::WireError;
use std::collections::VecDeque;

/// The flag sequence that opens and closes every frame.
pub const FLAG: u8 = 0x7e;
/// The control-escape octet.
pub const ESCAPE: u8 = 0x7d;
/// The ACCM in force before LCP negotiates one: every control character is escaped.
pub const DEFAULT_ACCM: u32 = 0xffff_ffff;
/// Initial FCS-16 value (RFC 1662 App. C.2).
pub const FCS_INIT: u16 = 0xffff;
/// The FCS-16 residue of a frame with a correct FCS appended.
pub const FCS_GOOD: u16 = 0xf0b8;

const fn make_table() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        let mut v = b as u16;
        let mut i = 0;
        while i < 8 {
            v = if v & 1 != 0 {
                (v >> 1) ^ 0x8408
            } else {
                v >> 1
            };
            i += 1;
        }
        t[b] = v;
        b += 1;
    }
    t
}

static FCS_TABLE: [u16; 256] = make_table();

/// Update an FCS-16 with `data` (reflected CRC-CCITT, polynomial x^16+x^12+x^5+1).
pub fn fcs16(mut fcs: u16, data: &[u8]) -> u16 {
    for &b in data {
        fcs = (fcs >> 8) ^ FCS_TABLE[usize::from((fcs ^ u16::from(b)) as u8)];
    }
    fcs
}

fn needs_escape(b: u8, accm: u32) -> bool {
    b == FLAG || b == ESCAPE || (b < 0x20 && accm & (1 << b) != 0)
}

fn push_escaped(b: u8, accm: u32, out: &mut Vec<u8>) {
    if needs_escape(b, accm) {
        out.push(ESCAPE);
        out.push(b ^ 0x20);
    } else {
        out.push(b);
    }
}

/// Append `frame` (address/control, protocol, information: no FCS) to `out` as one async-HDLC
/// frame: opening flag, escaped octets and FCS, closing flag.
///
/// `accm` is the peer's receive ACCM (what the peer asked for in LCP; [`DEFAULT_ACCM`] before).
pub fn encode(frame: &[u8], accm: u32, out: &mut Vec<u8>) {
    out.reserve(frame.len() + frame.len() / 4 + 6);
    out.push(FLAG);
    for &b in frame {
        push_escaped(b, accm, out);
    }
    let fcs = !fcs16(FCS_INIT, frame);
    for b in fcs.to_le_bytes() {
        push_escaped(b, accm, out);
    }
    out.push(FLAG);
}

/// Streaming async-HDLC receiver: push line bytes in any chunking, pop complete frames.
///
/// Frames come out without flags and FCS. A bad FCS, an over-long or aborted frame comes out as
/// an `Err` (and counts in [`Deframer::errors`]); the deframer resynchronises on the next flag.
/// Empty frames (back-to-back flags `7E 7E`) are skipped. Received octets that the ACCM lets
/// pass unescaped are kept as they are (RFC 1662 s7.1 lets a receiver discard them; pppd and
/// this crate do not).
#[derive(Debug, Clone)]
pub struct Deframer {
    max: usize,
    cur: Vec<u8>,
    escaped: bool,
    overflow: bool,
    in_frame: bool,
    ready: VecDeque<Result<Vec<u8>, WireError>>,
    /// Frames whose FCS did not check, that were too long or aborted.
    pub errors: u64,
    /// Good frames delivered.
    pub frames: u64,
}

impl Deframer {
    /// A deframer that accepts frames of up to `max_frame` octets (before the FCS). Bounds memory.
    pub fn new(max_frame: usize) -> Self {
        Deframer {
            max: max_frame,
            cur: Vec::new(),
            escaped: false,
            overflow: false,
            in_frame: false,
            ready: VecDeque::new(),
            errors: 0,
            frames: 0,
        }
    }

    /// Feed bytes read from the line.
    pub fn push(&mut self, data: &[u8]) {
        for &b in data {
            if b == FLAG {
                self.end_frame();
                continue;
            }
            self.in_frame = true;
            let v = if self.escaped {
                self.escaped = false;
                b ^ 0x20
            } else if b == ESCAPE {
                self.escaped = true;
                continue;
            } else {
                b
            };
            if self.cur.len() >= self.max + 2 {
                self.overflow = true;
            } else {
                self.cur.push(v);
            }
        }
    }

    fn end_frame(&mut self) {
        let was_escaped = std::mem::take(&mut self.escaped);
        let overflow = std::mem::take(&mut self.overflow);
        let in_frame = std::mem::take(&mut self.in_frame);
        let data = std::mem::take(&mut self.cur);
        if !in_frame {
            return;
        }
        let r = if was_escaped {
            Err(WireError::Aborted)
        } else if overflow {
            Err(WireError::FrameTooLong { max: self.max })
        } else if data.len() < 3 {
            // Shorter than FCS plus one octet: line noise between flags (RFC 1662 s3 says
            // frames of fewer than 4 octets are silently discarded; count it as an error).
            Err(WireError::Truncated {
                what: "HDLC frame",
                offset: 0,
                needed: 4,
                have: data.len(),
            })
        } else {
            let residue = fcs16(FCS_INIT, &data);
            if residue == FCS_GOOD {
                let mut d = data;
                d.truncate(d.len() - 2);
                Ok(d)
            } else {
                Err(WireError::BadFcs { residue })
            }
        };
        match &r {
            Ok(_) => self.frames += 1,
            Err(_) => self.errors += 1,
        }
        if self.ready.len() < 64 {
            self.ready.push_back(r);
        }
    }

    /// The next complete frame (without FCS), or an error for a damaged one.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, WireError>> {
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcs_known_answer() {
        // RFC 1662 App. C: the FCS of "123456789" (the CRC-16/X-25 check value is 0x906e).
        assert_eq!(!fcs16(FCS_INIT, b"123456789"), 0x906e);
    }

    #[test]
    fn escapes_and_accm() {
        let mut out = Vec::new();
        encode(&[0x7e, 0x7d, 0x01, 0x41], 0, &mut out);
        assert_eq!(&out[..6], &[0x7e, 0x7d, 0x5e, 0x7d, 0x5d, 0x01]);
        let mut out2 = Vec::new();
        encode(&[0x01], DEFAULT_ACCM, &mut out2);
        assert_eq!(&out2[..3], &[0x7e, 0x7d, 0x21]);
    }

    #[test]
    fn errors_resync() {
        let mut d = Deframer::new(10);
        let mut line = Vec::new();
        encode(&[1, 2, 3, 4], DEFAULT_ACCM, &mut line);
        let mut bad = line.clone();
        bad[3] ^= 0x01;
        d.push(&bad);
        d.push(&[0x7e, 1, 2, 0x7d, 0x7e]);
        d.push(&[0x7e; 3]);
        d.push(&line);
        assert!(matches!(
            d.next_frame(),
            Some(Err(WireError::BadFcs { .. }))
        ));
        assert!(matches!(d.next_frame(), Some(Err(WireError::Aborted))));
        assert_eq!(d.next_frame().unwrap().unwrap(), vec![1, 2, 3, 4]);
        assert!(d.next_frame().is_none());
        let mut long = Vec::new();
        encode(&[0x55; 40], 0, &mut long);
        d.push(&long);
        assert!(matches!(
            d.next_frame(),
            Some(Err(WireError::FrameTooLong { max: 10 }))
        ));
    }
}
