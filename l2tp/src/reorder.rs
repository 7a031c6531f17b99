//! Bounded reorder buffer for sequenced data (L2TPv2 data Ns, RFC 2661 s5.4; L2TPv3 default
//! L2-Specific Sublayer sequence number, RFC 3931 s4.6).
//!
//! Sequenced data is unreliable: nothing is retransmitted, so a gap is either filled by a late
//! packet or given up. The buffer delivers in-order packets at once, holds packets that arrive
//! ahead of a gap (up to [`ReorderConfig::capacity`] packets, copied into recycled slots), and
//! skips a gap when
//! * the oldest held packet has waited [`ReorderConfig::timeout`] (timer via
//!   [`ReorderBuffer::poll_timeout`] / [`ReorderBuffer::handle_timeout`]), or
//! * the buffer is full, or a packet arrives more than `capacity` ahead of the next expected.
//!
//! Packets behind the next expected number are dropped: a **duplicate** when that number was
//! already delivered (a 64-entry history bitmap), **too old** when its gap was skipped.
//!
//! ```text
//!   arrival: 1 2 4 5 3 7        (capacity 8, timeout 100 ms)
//!   deliver: 1 2 . . 3 4 5 .    4 and 5 held until 3 fills the gap
//!   t+100ms:             7      6 never came: the gap is skipped, 7 released (1 lost)
//! ```
//!
//! The sequence space is a parameter: 16 bits for L2TPv2, 24 bits for the v3 sublayer.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Parameters of a [`ReorderBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReorderConfig {
    /// Packets held at most (bounds memory; also the largest gap waited for).
    pub capacity: usize,
    /// How long a held packet waits for the gap before it to fill.
    pub timeout: Duration,
}

impl Default for ReorderConfig {
    fn default() -> Self {
        ReorderConfig {
            capacity: 16,
            timeout: Duration::from_millis(100),
        }
    }
}

/// Counters of a [`ReorderBuffer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReorderStats {
    /// Delivered at once, in order.
    pub in_order: u64,
    /// Held, then delivered in order.
    pub reordered: u64,
    /// Sequence numbers given up (gap skipped on timeout or overflow).
    pub lost: u64,
    /// Dropped: already delivered (history bitmap) or already held.
    pub duplicates: u64,
    /// Dropped: behind a gap that was already skipped.
    pub too_old: u64,
}

/// What [`ReorderBuffer::push`] decided about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// In order: deliver this packet now (then drain [`ReorderBuffer::pop`], which may hold
    /// packets released by it).
    Deliver,
    /// Copied into the buffer; it comes out of [`ReorderBuffer::pop`] later.
    Held,
    /// Dropped as a duplicate.
    Duplicate,
    /// Dropped as too old.
    TooOld,
}

#[derive(Debug, Clone)]
struct Slot {
    seq: u32,
    at: Instant,
    data: Vec<u8>,
}

/// A bounded reorder buffer over a `bits`-bit sequence space.
#[derive(Debug, Clone)]
pub struct ReorderBuffer {
    cfg: ReorderConfig,
    modulus: u32,
    /// Next sequence number expected; `None` before the first packet.
    expected: Option<u32>,
    /// Bit i set: `expected - 1 - i` was delivered.
    history: u64,
    /// Held packets sorted by distance from `expected`.
    held: Vec<Slot>,
    /// Released packets waiting for `pop`, in order.
    ready: VecDeque<Vec<u8>>,
    /// Recycled buffers.
    spare: Vec<Vec<u8>>,
    stats: ReorderStats,
}

impl ReorderBuffer {
    /// A buffer over a sequence space of `bits` bits (16 for L2TPv2, 24 for the v3 sublayer).
    /// `capacity` is clamped to `1..=2^(bits-2)`.
    pub fn new(cfg: ReorderConfig, bits: u32) -> Self {
        let bits = bits.clamp(4, 31);
        let modulus = 1u32 << bits;
        let cap = cfg.capacity.clamp(1, (modulus / 4) as usize);
        ReorderBuffer {
            cfg: ReorderConfig {
                capacity: cap,
                ..cfg
            },
            modulus,
            expected: None,
            history: 0,
            held: Vec::with_capacity(cap),
            ready: VecDeque::new(),
            spare: Vec::new(),
            stats: ReorderStats::default(),
        }
    }

    /// Expect `seq` next (before any packet arrived: the sender's first number, so that
    /// packets overtaking it are held instead of taken as the start).
    pub fn expect(&mut self, seq: u32) {
        if self.expected.is_none() {
            self.expected = Some(seq & (self.modulus - 1));
        }
    }

    /// Counters.
    pub fn stats(&self) -> ReorderStats {
        self.stats
    }

    /// Number of packets held (waiting for a gap).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Number of released packets waiting for [`Self::pop`].
    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// Next sequence number expected.
    pub fn expected(&self) -> Option<u32> {
        self.expected
    }

    fn dist(&self, from: u32, to: u32) -> u32 {
        to.wrapping_sub(from) & (self.modulus - 1)
    }

    fn next(&self, s: u32) -> u32 {
        (s + 1) & (self.modulus - 1)
    }

    /// Mark `n` consecutive numbers as passed (delivered when `delivered`).
    fn advance(&mut self, n: u32, delivered: bool) {
        let Some(e) = self.expected else { return };
        for _ in 0..n {
            self.history = (self.history << 1) | u64::from(delivered);
        }
        self.expected = Some((e + n) & (self.modulus - 1));
    }

    /// Offer a received packet with sequence number `seq`. See [`Verdict`].
    pub fn push(&mut self, now: Instant, seq: u32, payload: &[u8]) -> Verdict {
        let seq = seq & (self.modulus - 1);
        let Some(exp) = self.expected else {
            self.expected = Some(self.next(seq));
            self.history = 1;
            self.stats.in_order += 1;
            return Verdict::Deliver;
        };
        let d = self.dist(exp, seq);
        if d >= self.modulus / 2 {
            // Behind the next expected number.
            let back = self.dist(seq, exp); // 1 = the last number passed
            let bit = back - 1;
            if bit < 64 && self.history & (1u64 << bit) != 0 {
                self.stats.duplicates += 1;
                return Verdict::Duplicate;
            }
            self.stats.too_old += 1;
            return Verdict::TooOld;
        }
        if d == 0 {
            return self.in_order(payload);
        }
        if self.held.iter().any(|s| s.seq == seq) {
            self.stats.duplicates += 1;
            return Verdict::Duplicate;
        }
        // Too far ahead or no room: give up gaps until it fits.
        while !self.held.is_empty()
            && (self.held.len() >= self.cfg.capacity
                || self.dist(self.expected.unwrap_or(exp), seq) as usize > self.cfg.capacity)
        {
            self.skip_to_first_held();
        }
        let exp = self.expected.unwrap_or(exp);
        let d = self.dist(exp, seq);
        if d as usize > self.cfg.capacity {
            // Nothing held and still too far ahead: resynchronise on this packet.
            self.stats.lost += u64::from(d);
            self.advance(d, false);
            return self.in_order(payload);
        }
        if d == 0 {
            return self.in_order(payload);
        }
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(payload);
        let pos = self
            .held
            .iter()
            .position(|s| self.dist(exp, s.seq) > d)
            .unwrap_or(self.held.len());
        self.held.insert(pos, Slot { seq, at: now, data });
        Verdict::Held
    }

    /// The packet is the next expected one: deliver it, unless released packets are still
    /// queued ahead of it (then it is queued behind them to keep the order).
    fn in_order(&mut self, payload: &[u8]) -> Verdict {
        self.advance(1, true);
        self.stats.in_order += 1;
        let verdict = if self.ready.is_empty() {
            Verdict::Deliver
        } else {
            let mut data = self.spare.pop().unwrap_or_default();
            data.clear();
            data.extend_from_slice(payload);
            self.ready.push_back(data);
            Verdict::Held
        };
        self.release_consecutive();
        verdict
    }

    /// Skip the gap before the first held packet and release it and its successors.
    fn skip_to_first_held(&mut self) {
        let (Some(first), Some(exp)) = (self.held.first().map(|s| s.seq), self.expected) else {
            return;
        };
        let gap = self.dist(exp, first);
        self.stats.lost += u64::from(gap);
        self.advance(gap, false);
        self.release_consecutive();
    }

    fn release_consecutive(&mut self) {
        while let (Some(first), Some(exp)) = (self.held.first().map(|s| s.seq), self.expected) {
            if first != exp {
                break;
            }
            let s = self.held.remove(0);
            self.advance(1, true);
            self.stats.reordered += 1;
            self.ready.push_back(s.data);
        }
    }

    /// Next released packet, in sequence order. Give the buffer back with [`Self::recycle`]
    /// to avoid allocations.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.ready.pop_front()
    }

    /// Return a buffer obtained from [`Self::pop`] for reuse (bounded by the capacity).
    pub fn recycle(&mut self, v: Vec<u8>) {
        if self.spare.len() < self.cfg.capacity {
            self.spare.push(v);
        }
    }

    /// When the oldest held packet stops waiting.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.held.iter().map(|s| s.at + self.cfg.timeout).min()
    }

    /// Give up gaps whose held packets waited long enough; released packets come out of
    /// [`Self::pop`].
    pub fn handle_timeout(&mut self, now: Instant) {
        while self.poll_timeout().is_some_and(|t| t <= now) {
            self.skip_to_first_held();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(b: &mut ReorderBuffer) -> Vec<u8> {
        let mut v = Vec::new();
        while let Some(p) = b.pop() {
            v.push(p[0]);
            b.recycle(p);
        }
        v
    }

    #[test]
    fn holds_until_gap_fills_then_times_out() {
        let t0 = Instant::now();
        let mut b = ReorderBuffer::new(ReorderConfig::default(), 24);
        assert_eq!(b.push(t0, 1, &[1]), Verdict::Deliver);
        assert_eq!(b.push(t0, 2, &[2]), Verdict::Deliver);
        assert_eq!(b.push(t0, 4, &[4]), Verdict::Held);
        let t5 = t0 + Duration::from_millis(5);
        assert_eq!(b.push(t5, 5, &[5]), Verdict::Held);
        assert_eq!(b.poll_timeout(), Some(t0 + Duration::from_millis(100)));
        assert_eq!(b.push(t5, 3, &[3]), Verdict::Deliver);
        assert_eq!(drain(&mut b), vec![4, 5]);
        assert_eq!(b.poll_timeout(), None);
        assert_eq!(b.push(t5, 7, &[7]), Verdict::Held);
        assert_eq!(b.push(t5, 5, &[5]), Verdict::Duplicate);
        b.handle_timeout(t5 + Duration::from_millis(99));
        assert_eq!(drain(&mut b), Vec::<u8>::new());
        b.handle_timeout(t5 + Duration::from_millis(100));
        assert_eq!(drain(&mut b), vec![7]);
        assert_eq!(b.push(t5, 6, &[6]), Verdict::TooOld);
        let s = b.stats();
        assert_eq!(
            (s.in_order, s.reordered, s.lost, s.duplicates, s.too_old),
            (3, 3, 1, 1, 1)
        );
    }

    #[test]
    fn wraps_and_overflows() {
        let t = Instant::now();
        let mut b = ReorderBuffer::new(
            ReorderConfig {
                capacity: 2,
                timeout: Duration::from_secs(1),
            },
            16,
        );
        assert_eq!(b.push(t, 0xfffe, &[0]), Verdict::Deliver);
        assert_eq!(b.push(t, 0, &[2]), Verdict::Held);
        assert_eq!(b.push(t, 0xffff, &[1]), Verdict::Deliver);
        assert_eq!(drain(&mut b), vec![2]);
        // 1 missing; 2 and 3 held; 4 overflows: the gap at 1 is skipped.
        assert_eq!(b.push(t, 2, &[2]), Verdict::Held);
        assert_eq!(b.push(t, 3, &[3]), Verdict::Held);
        assert_eq!(b.push(t, 5, &[5]), Verdict::Held);
        assert_eq!(drain(&mut b), vec![2, 3]);
        assert_eq!(b.expected(), Some(4));
        // far ahead: 5 is released first (gap 4 skipped), then resynchronise on 1000,
        // queued behind 5 to keep the order.
        assert_eq!(b.push(t, 1000, &[9]), Verdict::Held);
        assert_eq!(drain(&mut b), vec![5, 9]);
        assert_eq!(b.held(), 0);
        assert_eq!(b.stats().lost, 1 + 1 + 994);
        assert_eq!(b.expected(), Some(1001));
        assert_eq!(b.push(t, 1001, &[1]), Verdict::Deliver);
    }

    #[test]
    fn old_duplicates_from_history() {
        let t = Instant::now();
        let mut b = ReorderBuffer::new(ReorderConfig::default(), 24);
        for i in 10..80u32 {
            assert_eq!(b.push(t, i, &[0]), Verdict::Deliver);
        }
        assert_eq!(b.push(t, 79, &[0]), Verdict::Duplicate);
        assert_eq!(b.push(t, 16, &[0]), Verdict::Duplicate);
        // beyond the 64-entry history: reported as too old
        assert_eq!(b.push(t, 15, &[0]), Verdict::TooOld);
        // half the space behind counts as behind
        assert_eq!(b.push(t, 80 + (1 << 23), &[0]), Verdict::TooOld);
    }
}
