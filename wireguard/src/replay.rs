//! Anti-replay sliding window in the style of RFC 6479: a ring of 128 64-bit blocks; the window
//! covers the last `(128 - 1) * 64 = 8128` counters (as wireguard-go `replay/replay.go`).
//!
//! Marking is done only after the packet authenticated ([`ReplayWindow::check`] first, then
//! [`ReplayWindow::accept`]), so forged packets cannot move the window.

/// Number of 64-bit blocks in the ring.
const BLOCKS: usize = 128;
const BLOCK_BITS: u64 = 64;
/// Counters older than `last - WINDOW_SIZE` are rejected.
pub const WINDOW_SIZE: u64 = (BLOCKS as u64 - 1) * BLOCK_BITS;
/// Counters at or above this are rejected (RejectAfterMessages = 2^64 - 2^13 - 1).
pub const REJECT_AFTER_MESSAGES: u64 = u64::MAX - (1 << 13);

/// The window.
#[derive(Clone, Debug)]
pub struct ReplayWindow {
    last: u64,
    /// Whether any counter was accepted yet (`last` meaningful).
    started: bool,
    ring: [u64; BLOCKS],
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayWindow {
    /// Empty window.
    pub fn new() -> Self {
        ReplayWindow {
            last: 0,
            started: false,
            ring: [0; BLOCKS],
        }
    }

    /// Would `counter` be accepted? (No state change.)
    pub fn check(&self, counter: u64) -> bool {
        if counter >= REJECT_AFTER_MESSAGES {
            return false;
        }
        if !self.started || counter > self.last {
            return true;
        }
        if self.last - counter > WINDOW_SIZE {
            return false;
        }
        let block = (counter / BLOCK_BITS) as usize % BLOCKS;
        let bit = counter % BLOCK_BITS;
        self.ring[block] & (1 << bit) == 0
    }

    /// Check and mark `counter`; `false` if it is a replay / too old.
    pub fn accept(&mut self, counter: u64) -> bool {
        if !self.check(counter) {
            return false;
        }
        let block_index = counter / BLOCK_BITS;
        if !self.started || counter > self.last {
            let current = if self.started {
                self.last / BLOCK_BITS
            } else {
                // Nothing marked yet: clear everything the new block would wrap onto.
                block_index.wrapping_sub(BLOCKS as u64)
            };
            let diff = block_index.wrapping_sub(current).min(BLOCKS as u64);
            let mut i = current;
            for _ in 0..diff {
                i = i.wrapping_add(1);
                self.ring[(i % BLOCKS as u64) as usize] = 0;
            }
            self.last = counter;
            self.started = true;
        }
        let block = (block_index % BLOCKS as u64) as usize;
        self.ring[block] |= 1 << (counter % BLOCK_BITS);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_and_duplicates() {
        let mut w = ReplayWindow::new();
        for c in 0..10_000 {
            assert!(w.accept(c), "{c}");
            assert!(!w.accept(c), "dup {c}");
        }
    }

    #[test]
    fn window_edges() {
        let mut w = ReplayWindow::new();
        assert!(w.accept(20_000));
        // Exactly WINDOW_SIZE behind is still inside, one more is too old.
        assert!(w.check(20_000 - WINDOW_SIZE));
        assert!(!w.check(20_000 - WINDOW_SIZE - 1));
        assert!(w.accept(20_000 - WINDOW_SIZE));
        assert!(!w.accept(20_000 - WINDOW_SIZE));
        assert!(!w.accept(0));
        // Out of order inside the window.
        assert!(w.accept(19_999));
        assert!(w.accept(15_000));
        assert!(!w.accept(15_000));
        // A big jump clears the ring: old bits cannot alias.
        assert!(w.accept(20_000 + 64 * 200));
        assert!(w.accept(20_000 + 64 * 200 - 64 * 3));
        assert!(!w.check(20_000));
    }

    #[test]
    fn out_of_order_matches_reference_set() {
        // Against a HashSet model with a pseudo-random permutation-ish order.
        let mut w = ReplayWindow::new();
        let mut seen = std::collections::HashSet::new();
        let mut max: Option<u64> = None;
        let mut rng = netsim::TestRng::new(12345);
        for _ in 0..50_000 {
            let x = rand_core::RngCore::next_u64(&mut rng);
            let base = max.unwrap_or(0);
            let c = (base + (x >> 33) % 300).saturating_sub((x >> 20) % 9000);
            let expect = !seen.contains(&c) && max.is_none_or(|m| c > m || m - c <= WINDOW_SIZE);
            assert_eq!(w.accept(c), expect, "counter {c} max {max:?}");
            if expect {
                seen.insert(c);
                max = Some(max.map_or(c, |m| m.max(c)));
            }
        }
    }

    #[test]
    fn reject_after_messages() {
        let mut w = ReplayWindow::new();
        assert!(!w.accept(REJECT_AFTER_MESSAGES));
        assert!(w.accept(REJECT_AFTER_MESSAGES - 1));
    }
}
