//! Admission rate limits for messages that strangers may send (the LNS's SCCRQ): a token
//! bucket per source prefix plus one global bucket.
//!
//! * A source is an IPv4 address (/32) or an IPv6 /64, so one host cannot escape its bucket
//!   by rotating addresses inside its own prefix ([`SourcePrefix`]).
//! * A bucket holds at most `burst` tokens and gains `per_second` tokens per second of the
//!   caller's `now`; a message costs one token. A new source starts with a full bucket.
//! * The per-source bucket is consulted first, then the global one, so a single flooder
//!   spends its own tokens and cannot drain the global bucket beyond its own rate: others keep
//!   getting through. Spoofed floods from many sources are bounded by the global bucket only.
//! * The table of sources is bounded ([`SOURCE_TABLE_CAPACITY`]): entries whose bucket has
//!   refilled completely carry no information and are collected, lazily, at most once per
//!   second of `now`. When the table is still full, a new source is charged to the global
//!   bucket only (it is not refused outright, so a flood of fresh sources cannot lock out a
//!   legitimate new one beyond what the global bucket does).
//!
//! Time is the caller's `now`; nothing here reads a clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::RateLimit;

/// Most sources tracked by a [`SourceLimiter`] (about 40 bytes each).
pub const SOURCE_TABLE_CAPACITY: usize = 16384;

/// The key of a source: IPv4 /32 or IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourcePrefix {
    /// IPv4 address.
    V4(u32),
    /// Upper 64 bits of an IPv6 address.
    V6(u64),
}

impl SourcePrefix {
    /// The prefix of `ip` (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => SourcePrefix::V4(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => SourcePrefix::V4(u32::from(v4)),
                None => SourcePrefix::V6((u128::from(a) >> 64) as u64),
            },
        }
    }
}

/// A token bucket in nanoseconds of allowance: `per_second` messages per second, `burst`
/// at once.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    /// Allowance in nanoseconds-of-rate (one message costs `cost`).
    tokens: u64,
    last: Instant,
}

fn cost(rate: RateLimit) -> u64 {
    // validate() keeps per_second >= 1
    1_000_000_000 / u64::from(rate.per_second.max(1))
}

fn cap(rate: RateLimit) -> u64 {
    cost(rate).saturating_mul(u64::from(rate.burst.max(1)))
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(rate: RateLimit, now: Instant) -> Self {
        TokenBucket {
            tokens: cap(rate),
            last: now,
        }
    }

    fn refill(&mut self, rate: RateLimit, now: Instant) {
        let el = now.saturating_duration_since(self.last).as_nanos();
        self.last = self.last.max(now);
        let t = u128::from(self.tokens).saturating_add(el);
        self.tokens = u64::try_from(t).unwrap_or(u64::MAX).min(cap(rate));
    }

    /// Whether one message may pass at `now` (without taking the token).
    pub fn check(&mut self, rate: RateLimit, now: Instant) -> bool {
        self.refill(rate, now);
        self.tokens >= cost(rate)
    }

    /// Take one token (after a successful [`TokenBucket::check`] at the same `now`).
    pub fn take(&mut self, rate: RateLimit) {
        self.tokens = self.tokens.saturating_sub(cost(rate));
    }

    /// Whether the bucket is full at `now` (such an entry equals a fresh one).
    pub fn is_full(&self, rate: RateLimit, now: Instant) -> bool {
        let el = now.saturating_duration_since(self.last).as_nanos();
        u128::from(self.tokens).saturating_add(el) >= u128::from(cap(rate))
    }
}

/// Why a [`SourceLimiter`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source's own bucket is empty.
    Source,
    /// The global bucket is empty.
    Global,
}

/// Per-source token buckets plus a global one. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct SourceLimiter {
    per_source: RateLimit,
    global_rate: RateLimit,
    global: TokenBucket,
    table: HashMap<SourcePrefix, TokenBucket>,
    last_gc: Instant,
}

impl SourceLimiter {
    /// A limiter with full buckets at `now`.
    pub fn new(per_source: RateLimit, global: RateLimit, now: Instant) -> Self {
        SourceLimiter {
            per_source,
            global_rate: global,
            global: TokenBucket::full(global, now),
            table: HashMap::new(),
            last_gc: now,
        }
    }

    /// Sources currently tracked (bounded by [`SOURCE_TABLE_CAPACITY`]).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Entries the table has room for without growing.
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// May a message from `ip` pass at `now`? Takes a token from the source's bucket and the
    /// global bucket when it may; takes nothing when it may not.
    pub fn allow(&mut self, now: Instant, ip: IpAddr) -> Result<(), Refusal> {
        if now.saturating_duration_since(self.last_gc) >= Duration::from_secs(1) {
            self.collect(now);
        }
        let k = SourcePrefix::of(ip);
        if self.table.len() >= SOURCE_TABLE_CAPACITY && !self.table.contains_key(&k) {
            self.collect(now);
        }
        let (ps, gr) = (self.per_source, self.global_rate);
        let tracked = self.table.len() < SOURCE_TABLE_CAPACITY || self.table.contains_key(&k);
        if tracked {
            let b = self
                .table
                .entry(k)
                .or_insert_with(|| TokenBucket::full(ps, now));
            if !b.check(ps, now) {
                return Err(Refusal::Source);
            }
        }
        if !self.global.check(gr, now) {
            return Err(Refusal::Global);
        }
        self.global.take(gr);
        if let Some(b) = self.table.get_mut(&k) {
            b.take(ps);
        }
        Ok(())
    }

    /// When the next collection is due (`None` when no source is tracked).
    pub fn next_collect(&self) -> Option<Instant> {
        (!self.table.is_empty()).then(|| self.last_gc + Duration::from_secs(1))
    }

    /// Collect if a collection is due at `now`; gives the table's memory back when it shrank.
    pub fn collect_if_due(&mut self, now: Instant) {
        if self.next_collect().is_some_and(|d| now >= d) {
            self.collect(now);
            if self.table.capacity() > 64 && self.table.len() * 4 < self.table.capacity() {
                self.table.shrink_to(self.table.len() * 2);
            }
        }
    }

    /// Forget sources whose bucket is full again.
    pub fn collect(&mut self, now: Instant) {
        let ps = self.per_source;
        self.table.retain(|_, b| !b.is_full(ps, now));
        self.last_gc = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rl(per_second: u32, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }

    #[test]
    fn burst_then_refill_per_source_and_prefixes() {
        let t0 = Instant::now();
        let mut l = SourceLimiter::new(rl(2, 3), rl(1000, 1000), t0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.allow(t0, a), Ok(()));
        }
        assert_eq!(l.allow(t0, a), Err(Refusal::Source));
        // another source is not affected
        assert_eq!(l.allow(t0, "192.0.2.2".parse().unwrap()), Ok(()));
        // half a second later one token is back
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.allow(t1, a), Ok(()));
        assert_eq!(l.allow(t1, a), Err(Refusal::Source));
        // IPv6 /64 shares one bucket
        let v6a: IpAddr = "2001:db8::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        let v6c: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.allow(t1, v6a), Ok(()));
        }
        assert_eq!(l.allow(t1, v6b), Err(Refusal::Source));
        assert_eq!(l.allow(t1, v6c), Ok(()));
        assert_eq!(
            SourcePrefix::of("::ffff:192.0.2.1".parse().unwrap()),
            SourcePrefix::of(a)
        );
    }

    #[test]
    fn global_ceiling_and_collection() {
        let t0 = Instant::now();
        let mut l = SourceLimiter::new(rl(1, 1), rl(10, 5), t0);
        let mut ok = 0;
        for i in 0..100u32 {
            if l.allow(t0, IpAddr::from((0x0a00_0000 + i).to_be_bytes()))
                .is_ok()
            {
                ok += 1;
            }
        }
        assert_eq!(ok, 5);
        assert_eq!(l.len(), 100);
        // a second later every bucket is full again: the table is collected
        let t1 = t0 + Duration::from_secs(2);
        assert!(l.allow(t1, "198.51.100.1".parse().unwrap()).is_ok());
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn full_table_charges_new_sources_to_global_only() {
        let t0 = Instant::now();
        let mut l = SourceLimiter::new(rl(1, 1), rl(1_000_000, 1_000_000), t0);
        for i in 0..SOURCE_TABLE_CAPACITY as u32 {
            assert!(l.allow(t0, IpAddr::from(i.to_be_bytes())).is_ok());
        }
        assert_eq!(l.len(), SOURCE_TABLE_CAPACITY);
        let fresh: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(l.allow(t0, fresh).is_ok());
        assert!(l.allow(t0, fresh).is_ok());
        assert_eq!(l.len(), SOURCE_TABLE_CAPACITY);
    }
}
