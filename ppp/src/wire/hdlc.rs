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

/// Octets folded per step of [`fcs16`].
const SLICE: usize = 16;

const fn make_tables() -> [[u16; 256]; SLICE] {
    let mut t = [[0u16; 256]; SLICE];
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
        t[0][b] = v;
        b += 1;
    }
    // Slice-by-N: t[k][b] is the CRC contribution of octet `b` followed by `k` zero octets.
    let mut k = 1;
    while k < SLICE {
        let mut b = 0;
        while b < 256 {
            let prev = t[k - 1][b];
            t[k][b] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            b += 1;
        }
        k += 1;
    }
    t
}

static FCS_TABLES: [[u16; 256]; SLICE] = make_tables();

/// Update an FCS-16 with `data` (reflected CRC-CCITT, polynomial x^16+x^12+x^5+1).
///
/// Table-driven, sixteen octets per step ("slice-by-16" over the RFC 1662 App. C table): only
/// the first two octets of a step depend on the running FCS, the other fourteen table look-ups
/// run in parallel with them.
pub fn fcs16(mut fcs: u16, data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(SLICE);
    for c in &mut chunks {
        fcs = fold(fcs, c);
    }
    fcs16_bytewise(fcs, chunks.remainder())
}

/// One slice-by-16 step; `c` is `SLICE` octets long.
#[inline(always)]
fn fold(fcs: u16, c: &[u8]) -> u16 {
    let t = &FCS_TABLES;
    let lo = u16::from_le_bytes([c[0], c[1]]) ^ fcs;
    let mut acc = t[SLICE - 1][usize::from(lo as u8)] ^ t[SLICE - 2][usize::from(lo >> 8)];
    for k in 2..SLICE {
        acc ^= t[SLICE - 1 - k][usize::from(c[k])];
    }
    acc
}

fn fcs16_bytewise(mut fcs: u16, data: &[u8]) -> u16 {
    for &b in data {
        fcs = (fcs >> 8) ^ FCS_TABLES[0][usize::from((fcs ^ u16::from(b)) as u8)];
    }
    fcs
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit set in (at least) the lowest octet of `w` that is zero; exact for
/// the lowest one, which is all the callers use.
#[inline]
fn zero_octets(w: u64) -> u64 {
    w.wrapping_sub(LO) & !w & HI
}

/// Octets of `w` (little-endian) that are the flag or the control escape; the lowest set bit
/// is exact.
#[inline]
fn special_octets(w: u64) -> u64 {
    zero_octets(w ^ (LO * u64::from(FLAG))) | zero_octets(w ^ (LO * u64::from(ESCAPE)))
}

/// Non-zero when some octet of `w` is below `0x20` (a control character the ACCM may map).
#[inline]
fn control_octets(w: u64) -> u64 {
    w.wrapping_sub(LO * 0x20) & !w & HI
}

/// Which octets `encode` escapes for a given ACCM: `0x7D`, `0x7E` always, `0x00..0x20` by ACCM
/// bit. One octet per entry (0 or 1) so the encoder can add it to its write index.
fn escape_table(accm: u32) -> [u8; 256] {
    let mut t = [0u8; 256];
    t[usize::from(FLAG)] = 1;
    t[usize::from(ESCAPE)] = 1;
    for (b, e) in t.iter_mut().take(32).enumerate() {
        *e = u8::from(accm & (1 << b) != 0);
    }
    t
}

/// Write `run` into `buf` from index `j` with each octet escaped as `esc` says; returns the
/// next write index. No branch on the data: every octet stores two (the second one is
/// overwritten next), so `buf` needs one spare octet past the worst case.
#[inline(always)]
fn put_escaped(run: &[u8], esc: &[u8; 256], buf: &mut [u8], mut j: usize) -> usize {
    for &b in run {
        let e = esc[usize::from(b)];
        buf[j] = if e != 0 { ESCAPE } else { b };
        buf[j + 1] = b ^ (e << 5);
        j += 1 + usize::from(e);
    }
    j
}

#[inline(always)]
fn word(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(c);
    u64::from_le_bytes(w)
}

/// Append `frame` (address/control, protocol, information: no FCS) to `out` as one async-HDLC
/// frame: opening flag, escaped octets and FCS, closing flag.
///
/// `accm` is the peer's receive ACCM (what the peer asked for in LCP; [`DEFAULT_ACCM`] before).
///
/// Sixteen octets at a time, folding the FCS in the same pass: a block with no flag, escape or
/// (when the ACCM maps any) control character is copied whole; other blocks go through a
/// 256-entry escape table built from the ACCM. Nothing is allocated when `out` already has
/// room for the worst case, twice the frame plus 6 (reuse it: `out.clear()`).
pub fn encode(frame: &[u8], accm: u32, out: &mut Vec<u8>) {
    let esc = escape_table(accm);
    let start = out.len();
    // Worst case: every octet and both FCS octets escaped, two flags; one spare for
    // `put_escaped`.
    out.resize(start + 2 * frame.len() + 7, 0);
    let buf = &mut out[start..];
    buf[0] = FLAG;
    let mut j = 1;
    let mut fcs = FCS_INIT;
    let mut chunks = frame.chunks_exact(SLICE);
    for c in &mut chunks {
        fcs = fold(fcs, c);
        let (w0, w1) = (word(&c[..8]), word(&c[8..]));
        let (mut h0, mut h1) = (special_octets(w0), special_octets(w1));
        if accm != 0 {
            h0 |= control_octets(w0);
            h1 |= control_octets(w1);
        }
        if h0 | h1 == 0 {
            buf[j..j + SLICE].copy_from_slice(c);
            j += SLICE;
        } else {
            for (half, h) in [(&c[..8], h0), (&c[8..], h1)] {
                if h == 0 {
                    buf[j..j + 8].copy_from_slice(half);
                    j += 8;
                } else {
                    j = put_escaped(half, &esc, buf, j);
                }
            }
        }
    }
    let rest = chunks.remainder();
    j = put_escaped(rest, &esc, buf, j);
    let fcs = !fcs16_bytewise(fcs, rest);
    j = put_escaped(&fcs.to_le_bytes(), &esc, buf, j);
    buf[j] = FLAG;
    out.truncate(start + j + 1);
}

/// Index of the first flag or control escape in `s`, or `s.len()`.
fn find_special(s: &[u8]) -> usize {
    let mut chunks = s.chunks_exact(8);
    let mut i = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = special_octets(u64::from_le_bytes(w));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == FLAG || b == ESCAPE)
        .map_or(s.len(), |p| i + p)
}

/// Streaming async-HDLC receiver: push line bytes in any chunking, pop complete frames.
///
/// Frames come out without flags and FCS. A bad FCS, an over-long or aborted frame comes out as
/// an `Err` (and counts in [`Deframer::errors`]); the deframer resynchronises on the next flag.
/// Empty frames (back-to-back flags `7E 7E`) are skipped. Received octets that the ACCM lets
/// pass unescaped are kept as they are (RFC 1662 s7.1 lets a receiver discard them; pppd and
/// this crate do not).
///
/// [`Deframer::push`] copies runs of octets between escapes and flags whole (found eight octets
/// at a time). [`Deframer::next_frame_into`] hands frames out by swapping buffers with the
/// caller, so a receive loop that reuses its buffer allocates nothing per frame;
/// [`Deframer::next_frame`] gives each frame its own `Vec`.
#[derive(Debug, Clone)]
pub struct Deframer {
    max: usize,
    cur: Vec<u8>,
    escaped: bool,
    overflow: bool,
    in_frame: bool,
    ready: VecDeque<Result<Vec<u8>, WireError>>,
    spare: Vec<Vec<u8>>,
    /// Frames whose FCS did not check, that were too long or aborted.
    pub errors: u64,
    /// Good frames delivered.
    pub frames: u64,
}

/// Frames queued before further ones are dropped (counted, never buffered without bound).
const READY_MAX: usize = 64;

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
            spare: Vec::new(),
            errors: 0,
            frames: 0,
        }
    }

    /// Append de-escaped octets to the current frame, up to the bound (FCS included).
    fn append(&mut self, run: &[u8]) {
        let room = (self.max + 2).saturating_sub(self.cur.len());
        if run.len() > room {
            self.overflow = true;
            self.cur.extend_from_slice(&run[..room]);
        } else {
            self.cur.extend_from_slice(run);
        }
    }

    /// Feed bytes read from the line.
    pub fn push(&mut self, data: &[u8]) {
        let mut i = 0;
        while i < data.len() {
            if self.escaped {
                let b = data[i];
                i += 1;
                if b == FLAG {
                    self.end_frame();
                } else {
                    self.escaped = false;
                    self.append(&[b ^ 0x20]);
                }
                continue;
            }
            let rest = &data[i..];
            let n = find_special(rest);
            if n > 0 {
                self.in_frame = true;
                self.append(&rest[..n]);
                i += n;
            }
            if let Some(&b) = data.get(i) {
                i += 1;
                if b == FLAG {
                    self.end_frame();
                } else {
                    self.in_frame = true;
                    self.escaped = true;
                }
            }
        }
    }

    fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < 4 {
            buf.clear();
            self.spare.push(buf);
        }
    }

    fn end_frame(&mut self) {
        let was_escaped = std::mem::take(&mut self.escaped);
        let overflow = std::mem::take(&mut self.overflow);
        let in_frame = std::mem::take(&mut self.in_frame);
        if !in_frame {
            self.cur.clear();
            return;
        }
        let next = self.spare.pop().unwrap_or_default();
        let mut data = std::mem::replace(&mut self.cur, next);
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
                data.truncate(data.len() - 2);
                Ok(std::mem::take(&mut data))
            } else {
                Err(WireError::BadFcs { residue })
            }
        };
        self.recycle(data);
        match &r {
            Ok(_) => self.frames += 1,
            Err(_) => self.errors += 1,
        }
        if self.ready.len() < READY_MAX {
            self.ready.push_back(r);
        } else if let Ok(d) = r {
            self.recycle(d);
        }
    }

    /// The next complete frame (without FCS), or an error for a damaged one.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, WireError>> {
        self.ready.pop_front()
    }

    /// The next complete frame (without FCS) into `out`, replacing its contents, or an error for
    /// a damaged one (`out` is then left as it was).
    ///
    /// The frame's buffer and `out` trade places: the deframer keeps `out`'s allocation for a
    /// later frame, so calling this in a loop with the same `out` allocates nothing per frame.
    ///
    /// ```
    /// use ppp::wire::hdlc::{encode, Deframer, DEFAULT_ACCM};
    /// let mut line = Vec::new();
    /// let mut d = Deframer::new(1600);
    /// let mut frame = Vec::with_capacity(1600);
    /// for n in 0..3u8 {
    ///     line.clear();
    ///     encode(&[0xff, 0x03, 0x00, 0x21, n], DEFAULT_ACCM, &mut line);
    ///     d.push(&line);
    ///     d.next_frame_into(&mut frame).unwrap().unwrap();
    ///     assert_eq!(frame, [0xff, 0x03, 0x00, 0x21, n]);
    /// }
    /// ```
    pub fn next_frame_into(&mut self, out: &mut Vec<u8>) -> Option<Result<(), WireError>> {
        match self.ready.pop_front()? {
            Ok(mut f) => {
                std::mem::swap(out, &mut f);
                self.recycle(f);
                Some(Ok(()))
            }
            Err(e) => Some(Err(e)),
        }
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

/// Property tests against a plain byte-at-a-time reference (the oracle: bitwise FCS straight
/// from the polynomial, one octet at a time escaping and deframing).
#[cfg(test)]
mod oracle {
    use super::*;
    use proptest::prelude::*;

    fn ref_fcs(mut fcs: u16, data: &[u8]) -> u16 {
        for &b in data {
            fcs ^= u16::from(b);
            for _ in 0..8 {
                fcs = if fcs & 1 != 0 {
                    (fcs >> 1) ^ 0x8408
                } else {
                    fcs >> 1
                };
            }
        }
        fcs
    }

    fn ref_escape(b: u8, accm: u32, out: &mut Vec<u8>) {
        if b == FLAG || b == ESCAPE || (b < 0x20 && accm & (1 << b) != 0) {
            out.push(ESCAPE);
            out.push(b ^ 0x20);
        } else {
            out.push(b);
        }
    }

    fn ref_encode(frame: &[u8], accm: u32) -> Vec<u8> {
        let mut out = vec![FLAG];
        for &b in frame {
            ref_escape(b, accm, &mut out);
        }
        for b in (!ref_fcs(FCS_INIT, frame)).to_le_bytes() {
            ref_escape(b, accm, &mut out);
        }
        out.push(FLAG);
        out
    }

    /// The deframer's contract, one octet at a time, rendered as text for comparison.
    fn ref_deframe(line: &[u8], max: usize) -> Vec<String> {
        let mut res = Vec::new();
        let (mut cur, mut esc, mut over, mut inf) = (Vec::new(), false, false, false);
        for &b in line {
            if b == FLAG {
                if inf {
                    let r: Result<Vec<u8>, WireError> = if esc {
                        Err(WireError::Aborted)
                    } else if over {
                        Err(WireError::FrameTooLong { max })
                    } else if cur.len() < 3 {
                        Err(WireError::Truncated {
                            what: "HDLC frame",
                            offset: 0,
                            needed: 4,
                            have: cur.len(),
                        })
                    } else if ref_fcs(FCS_INIT, &cur) == FCS_GOOD {
                        Ok(cur[..cur.len() - 2].to_vec())
                    } else {
                        Err(WireError::BadFcs {
                            residue: ref_fcs(FCS_INIT, &cur),
                        })
                    };
                    if res.len() < READY_MAX {
                        res.push(format!("{r:?}"));
                    }
                }
                (esc, over, inf) = (false, false, false);
                cur.clear();
                continue;
            }
            inf = true;
            let v = if esc {
                esc = false;
                b ^ 0x20
            } else if b == ESCAPE {
                esc = true;
                continue;
            } else {
                b
            };
            if cur.len() >= max + 2 {
                over = true;
            } else {
                cur.push(v);
            }
        }
        res
    }

    fn drain(d: &mut Deframer, into: bool) -> Vec<String> {
        let mut got = Vec::new();
        let mut buf = Vec::new();
        loop {
            let r = if into {
                d.next_frame_into(&mut buf).map(|r| r.map(|()| buf.clone()))
            } else {
                d.next_frame()
            };
            match r {
                Some(r) => got.push(format!("{r:?}")),
                None => return got,
            }
        }
    }

    /// Frames rich in the octets that matter: flags, escapes, control characters.
    fn octet() -> impl Strategy<Value = u8> {
        prop_oneof![any::<u8>(), Just(FLAG), Just(ESCAPE), 0u8..0x20]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn fcs_matches_bitwise(data in prop::collection::vec(any::<u8>(), 0..100), init: u16) {
            prop_assert_eq!(fcs16(init, &data), ref_fcs(init, &data));
        }

        #[test]
        fn encode_matches_reference(frame in prop::collection::vec(octet(), 0..300), accm: u32, prefix in prop::collection::vec(any::<u8>(), 0..3)) {
            let mut out = prefix.clone();
            encode(&frame, accm, &mut out);
            let mut want = prefix;
            want.extend(ref_encode(&frame, accm));
            prop_assert_eq!(out, want);
        }

        #[test]
        fn encode_then_deframe_is_identity(frames in prop::collection::vec(prop::collection::vec(octet(), 1..300), 1..6), accm: u32, chunk in 1usize..64, into: bool) {
            let mut line = Vec::new();
            for f in &frames {
                encode(f, accm, &mut line);
            }
            let mut d = Deframer::new(300);
            for c in line.chunks(chunk) {
                d.push(c);
            }
            let mut buf = Vec::new();
            for f in &frames {
                if into {
                    d.next_frame_into(&mut buf).unwrap().unwrap();
                    prop_assert_eq!(&buf, f);
                } else {
                    prop_assert_eq!(&d.next_frame().unwrap().unwrap(), f);
                }
            }
            prop_assert!(d.next_frame().is_none());
            prop_assert_eq!(d.frames, frames.len() as u64);
        }

        #[test]
        fn deframe_matches_reference(line in prop::collection::vec(octet(), 0..400), max in 0usize..64, chunk in 1usize..40, into: bool) {
            let mut d = Deframer::new(max);
            for c in line.chunks(chunk) {
                d.push(c);
            }
            prop_assert_eq!(drain(&mut d, into), ref_deframe(&line, max));
        }
    }
}
