//! One deadline heap for every session of a host: a min-heap with lazy invalidation.
//!
//! Each slot records the deadline it armed; a heap entry is live only while it equals the
//! slot's armed deadline and generation. Re-arming pushes a new entry (O(log n)); stale entries
//! are discarded when they reach the top. Nothing ever scans the sessions.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// A slot index and its generation (a slot reused by a new session gets a new generation).
pub(crate) type SlotRef = (u32, u32);

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, SlotRef)>>,
}

impl Timers {
    /// Arm `slot` at `at` (the caller stores `at` as the slot's armed deadline).
    pub fn push(&mut self, at: Instant, slot: SlotRef) {
        self.heap.push(Reverse((at, slot)));
    }

    /// Earliest live deadline; `live(slot, at)` says whether an entry is still armed.
    pub fn peek(&mut self, live: impl Fn(SlotRef, Instant) -> bool) -> Option<Instant> {
        while let Some(&Reverse((at, slot))) = self.heap.peek() {
            if live(slot, at) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Remove and return the next live entry due at `now`.
    pub fn pop_due(
        &mut self,
        now: Instant,
        live: impl Fn(SlotRef, Instant) -> bool,
    ) -> Option<SlotRef> {
        while let Some(&Reverse((at, slot))) = self.heap.peek() {
            if at > now {
                return None;
            }
            self.heap.pop();
            if live(slot, at) {
                return Some(slot);
            }
        }
        None
    }

    /// The top entry's deadline (live after a `peek` with the same `live` rule).
    pub fn top(&self) -> Option<Instant> {
        self.heap.peek().map(|r| r.0 .0)
    }
}
