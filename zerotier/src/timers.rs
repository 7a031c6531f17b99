//! A deadline heap with lazy invalidation: each key has at most one live deadline; re-arming
//! bumps the key's generation so older heap entries are skipped when they surface. Asking for
//! the earliest deadline is O(1) amortised, arming O(log n); no scan over peers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::Instant;

/// The heap.
#[derive(Debug)]
pub struct DeadlineHeap<K: Copy + Eq + Hash + Ord> {
    heap: BinaryHeap<Reverse<(Instant, u64, K)>>,
    live: HashMap<K, (Instant, u64)>,
    gen: u64,
}

impl<K: Copy + Eq + Hash + Ord> Default for DeadlineHeap<K> {
    fn default() -> Self {
        DeadlineHeap {
            heap: BinaryHeap::new(),
            live: HashMap::new(),
            gen: 0,
        }
    }
}

impl<K: Copy + Eq + Hash + Ord> DeadlineHeap<K> {
    /// Arm (or re-arm) `key` at `at`. No-op when already armed at exactly `at`.
    pub fn set(&mut self, key: K, at: Instant) {
        if self.live.get(&key).is_some_and(|(t, _)| *t == at) {
            return;
        }
        self.gen += 1;
        self.live.insert(key, (at, self.gen));
        self.heap.push(Reverse((at, self.gen, key)));
        // Keep stale entries from piling up: rebuild when they dominate.
        if self.heap.len() > 64 && self.heap.len() > 4 * self.live.len() {
            self.heap = self
                .live
                .iter()
                .map(|(k, (t, g))| Reverse((*t, *g, *k)))
                .collect();
        }
        self.clean_top();
    }
    /// Disarm `key`.
    pub fn cancel(&mut self, key: K) {
        self.live.remove(&key);
        self.clean_top();
    }
    /// The deadline of `key`.
    pub fn get(&self, key: K) -> Option<Instant> {
        self.live.get(&key).map(|(t, _)| *t)
    }
    fn clean_top(&mut self) {
        while let Some(Reverse((t, g, k))) = self.heap.peek() {
            if self.live.get(k).is_some_and(|(lt, lg)| lt == t && lg == g) {
                return;
            }
            self.heap.pop();
        }
    }
    /// Earliest deadline (the top is kept clean by every mutation, so this is a peek).
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }
    /// Pop one key due at or before `now` (disarming it).
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        self.clean_top();
        match self.heap.peek() {
            Some(Reverse((t, _, k))) if *t <= now => {
                let k = *k;
                self.heap.pop();
                self.live.remove(&k);
                self.clean_top();
                Some(k)
            }
            _ => None,
        }
    }
    /// Number of armed keys.
    pub fn len(&self) -> usize {
        self.live.len()
    }
    /// Nothing armed.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rearm_and_cancel() {
        let t0 = Instant::now();
        let mut h = DeadlineHeap::default();
        h.set(1u32, t0 + Duration::from_secs(5));
        h.set(2u32, t0 + Duration::from_secs(3));
        h.set(1u32, t0 + Duration::from_secs(1));
        assert_eq!(h.next(), Some(t0 + Duration::from_secs(1)));
        h.cancel(1);
        assert_eq!(h.next(), Some(t0 + Duration::from_secs(3)));
        assert_eq!(h.pop_due(t0 + Duration::from_secs(2)), None);
        assert_eq!(h.pop_due(t0 + Duration::from_secs(3)), Some(2));
        assert!(h.is_empty());
        for i in 0..1000u32 {
            h.set(7, t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(h.heap.len() <= 64 + 4);
        assert_eq!(h.len(), 1);
    }
}
