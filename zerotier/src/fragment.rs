//! Bounded reassembly of fragmented packets.
//!
//! A packet larger than the physical MTU travels as a head (the first `mtu` bytes, flag 0x40)
//! and up to six fragments. Any piece may arrive first. An entry is keyed by packet ID and holds
//! at most 7 pieces; the table holds at most `max_entries` entries (the oldest is evicted) and
//! each entry lives at most [`REASSEMBLY_TIMEOUT`]. Fragments carry no MAC: a stranger can fill
//! the table (bounded) but cannot complete a packet that then authenticates.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::event::DropReason;
use crate::wire::{Fragment, MAX_FRAGMENTS, MAX_PACKET_LEN};

/// Lifetime of a partial packet (`ZT_RECEIVE_QUEUE_TIMEOUT` 5 s).
pub const REASSEMBLY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Entry {
    created: Instant,
    head: Option<Vec<u8>>,
    frags: [Option<Vec<u8>>; MAX_FRAGMENTS],
    total: u8,
    have: u8,
    bytes: usize,
}

/// Result of offering a piece.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Stored; more pieces needed.
    Stored,
    /// The packet is complete: the head (its fragmented flag stays set: it is covered by the MAC),
    /// then the fragments' data.
    Complete(Vec<u8>),
    /// Dropped.
    Dropped(DropReason),
}

/// The reassembly table.
#[derive(Debug)]
pub struct Reassembler {
    entries: HashMap<u64, Entry>,
    max_entries: usize,
    /// Entries evicted or timed out so far.
    pub evicted: u64,
}

impl Reassembler {
    /// A table of at most `max_entries` partial packets.
    pub fn new(max_entries: usize) -> Self {
        Reassembler {
            entries: HashMap::new(),
            max_entries: max_entries.max(1),
            evicted: 0,
        }
    }

    /// Partial packets held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// None held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Bytes held in all partial packets.
    pub fn bytes(&self) -> usize {
        self.entries.values().map(|e| e.bytes).sum()
    }

    /// When the oldest partial packet expires.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.entries
            .values()
            .map(|e| e.created + REASSEMBLY_TIMEOUT)
            .min()
    }

    /// Drop partial packets older than the timeout; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|_, e| now < e.created + REASSEMBLY_TIMEOUT);
        let n = before - self.entries.len();
        self.evicted += n as u64;
        n
    }

    fn entry(&mut self, id: u64, now: Instant) -> Result<&mut Entry, DropReason> {
        if !self.entries.contains_key(&id) && self.entries.len() >= self.max_entries {
            // Evict the oldest (O(max_entries), max_entries is small).
            if let Some(old) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.created)
                .map(|(k, _)| *k)
            {
                self.entries.remove(&old);
                self.evicted += 1;
            }
        }
        Ok(self.entries.entry(id).or_insert_with(|| Entry {
            created: now,
            head: None,
            frags: Default::default(),
            total: 0,
            have: 0,
            bytes: 0,
        }))
    }

    /// Offer a packet head (a packet with the fragmented flag).
    pub fn offer_head(&mut self, now: Instant, packet_id: u64, head: &[u8]) -> Offer {
        let e = match self.entry(packet_id, now) {
            Ok(e) => e,
            Err(r) => return Offer::Dropped(r),
        };
        if e.head.is_some() {
            return Offer::Dropped(DropReason::DuplicateFragment);
        }
        e.head = Some(head.to_vec());
        e.bytes += head.len();
        e.have |= 1;
        self.try_complete(packet_id)
    }

    /// Offer a fragment.
    pub fn offer_fragment(&mut self, now: Instant, f: &Fragment<'_>) -> Offer {
        let (total, number) = (f.total, f.number);
        if usize::from(total) > MAX_FRAGMENTS || total < 2 || number == 0 || number >= total {
            return Offer::Dropped(DropReason::BadFragment);
        }
        let e = match self.entry(f.packet_id, now) {
            Ok(e) => e,
            Err(r) => return Offer::Dropped(r),
        };
        if e.total != 0 && e.total != total {
            return Offer::Dropped(DropReason::BadFragment);
        }
        let slot = usize::from(number);
        if e.have & (1 << slot) != 0 {
            return Offer::Dropped(DropReason::DuplicateFragment);
        }
        if e.bytes + f.payload.len() > MAX_PACKET_LEN {
            return Offer::Dropped(DropReason::ReassemblyTooLong);
        }
        e.total = total;
        e.frags[slot] = Some(f.payload.to_vec());
        e.bytes += f.payload.len();
        e.have |= 1 << slot;
        self.try_complete(f.packet_id)
    }

    fn try_complete(&mut self, id: u64) -> Offer {
        let Some(e) = self.entries.get(&id) else {
            return Offer::Stored;
        };
        if e.total == 0 || e.have.count_ones() != u32::from(e.total) {
            return Offer::Stored;
        }
        let Some(e) = self.entries.remove(&id) else {
            return Offer::Stored;
        };
        if e.bytes > MAX_PACKET_LEN {
            return Offer::Dropped(DropReason::ReassemblyTooLong);
        }
        let mut out = Vec::with_capacity(e.bytes);
        if let Some(h) = e.head {
            out.extend_from_slice(&h);
        }
        for f in e.frags.iter().take(usize::from(e.total)).skip(1).flatten() {
            out.extend_from_slice(f);
        }
        Offer::Complete(out)
    }
}
