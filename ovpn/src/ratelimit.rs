//! Token buckets for the server's answers to strangers: one per source prefix (IPv4 /32,
//! IPv6 /64) plus a global ceiling, so that one flooding source cannot use up the replies
//! every other client needs (the single shared window this replaces let a sender doing
//! 10 resets/s lock every new client out).
//!
//! * Each source prefix may get `per_source_burst` replies at once and `per_source_rate`
//!   per second after that (defaults: 5, 2/s: a real client retries its reset every 2 s).
//! * All sources together may get `global_burst` at once and `global_rate` per second
//!   (defaults: 2000, 10 000/s). This ceiling bounds the server's work and outgoing
//!   bytes, not fairness: a flood of spoofed resets above it, from addresses the
//!   per-source buckets cannot tell apart, takes every token, and a real client's
//!   retries then rarely find one (OpenVPN 2.6's `connect-freq-initial`, 100 per 10 s,
//!   is such a ceiling, and any sender doing 10 resets/s locks new clients out behind it).
//!   A stateless reply holds no state, costs one HMAC and is at most about 1.3 times the
//!   reset on the wire (no amplification), so the ceiling can be high: 10 000 replies/s
//!   are about 5 Mbit/s.
//! * The per-source table is bounded (`max_sources`, 4096); entries idle for longer than a
//!   full refill are collected lazily, at most once per second of `now`. When it is full
//!   even after collection, a new source is not tracked and only the global bucket
//!   decides (refusing it, as the wireguard crate's limiter does for its handshakes, would
//!   let a flood of more than 4096 spoofed addresses lock every new client out; a
//!   reflection at one address through the untracked path is bounded by the global rate
//!   and gains the attacker nothing over sending directly). A per-crate copy of the
//!   wireguard limiter's idea, see style.md s10.
//!
//! Time is the caller's `now`; nothing here reads a clock.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Limits of a [`RateLimiter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Replies per second per source prefix.
    pub per_source_rate: u32,
    /// Burst per source prefix.
    pub per_source_burst: u32,
    /// Replies per second for everybody together.
    pub global_rate: u32,
    /// Global burst.
    pub global_burst: u32,
    /// Most source prefixes tracked at once.
    pub max_sources: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_source_rate: 2,
            per_source_burst: 5,
            global_rate: 10_000,
            global_burst: 2000,
            max_sources: 4096,
        }
    }
}

/// The key a source is limited under: its IPv4 address or IPv6 /64. Implemented for the
/// address types a server is driven with; other types (a connection id, a test's `u8`) are
/// each their own source.
pub trait SourceKey {
    /// The bucket key (IPv4 /32, IPv6 /64; tagged so the families never collide).
    fn source_key(&self) -> u128;
}

impl SourceKey for IpAddr {
    fn source_key(&self) -> u128 {
        match self {
            IpAddr::V4(a) => u128::from(u32::from(*a)) | (1 << 127),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => u128::from(u32::from(v4)) | (1 << 127),
                None => (u128::from(*a) & !((1u128 << 64) - 1) & !(3 << 126)) | (1 << 126),
            },
        }
    }
}

impl SourceKey for SocketAddr {
    fn source_key(&self) -> u128 {
        self.ip().source_key()
    }
}

macro_rules! int_source {
    ($($t:ty),*) => {$(
        impl SourceKey for $t {
            fn source_key(&self) -> u128 {
                u128::from(*self as u64)
            }
        }
    )*};
}
int_source!(u8, u16, u32, u64, usize);

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Tokens, in nanoseconds of refill time.
    tokens: u64,
    last: Instant,
}

impl Bucket {
    /// Refill at `now` (capped at `cap`), then take `cost` if there is that much.
    fn take(&mut self, now: Instant, cost: u64, cap: u64) -> bool {
        let dt =
            u64::try_from(now.saturating_duration_since(self.last).as_nanos()).unwrap_or(u64::MAX);
        self.last = now;
        self.tokens = self.tokens.saturating_add(dt).min(cap);
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

fn cost(rate: u32) -> u64 {
    1_000_000_000 / u64::from(rate.max(1))
}

/// Per-source and global token buckets. See the [module docs](self).
#[derive(Debug)]
pub struct RateLimiter {
    cfg: RateLimit,
    table: HashMap<u128, Bucket>,
    global: Bucket,
    last_gc: Option<Instant>,
}

impl RateLimiter {
    /// A limiter, full at `now`.
    pub fn new(cfg: RateLimit, now: Instant) -> Self {
        RateLimiter {
            cfg,
            table: HashMap::new(),
            global: Bucket {
                tokens: cost(cfg.global_rate) * u64::from(cfg.global_burst.max(1)),
                last: now,
            },
            last_gc: None,
        }
    }

    /// The limits.
    pub fn limits(&self) -> RateLimit {
        self.cfg
    }

    /// Source prefixes tracked.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// May `src` be answered at `now`? Takes a token from its bucket and the global one.
    pub fn allow(&mut self, now: Instant, src: &impl SourceKey) -> bool {
        let c = &self.cfg;
        let (sc, scap) = (
            cost(c.per_source_rate),
            cost(c.per_source_rate) * u64::from(c.per_source_burst.max(1)),
        );
        let (gc, gcap) = (
            cost(c.global_rate),
            cost(c.global_rate) * u64::from(c.global_burst.max(1)),
        );
        if self
            .last_gc
            .is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1))
        {
            self.collect(now);
        }
        let k = src.source_key();
        if !self.table.contains_key(&k) {
            if self.table.len() >= self.cfg.max_sources {
                self.collect(now);
                if self.table.len() >= self.cfg.max_sources {
                    // Untracked: only the global ceiling applies.
                    return self.global.take(now, gc, gcap);
                }
            }
            self.table.insert(
                k,
                Bucket {
                    tokens: scap,
                    last: now,
                },
            );
        }
        let Some(b) = self.table.get_mut(&k) else {
            return false;
        };
        // Check the source first, so a source over its limit does not drain the global
        // bucket; put its token back if the global one is empty.
        if !b.take(now, sc, scap) {
            return false;
        }
        if !self.global.take(now, gc, gcap) {
            b.tokens = b.tokens.saturating_add(sc).min(scap);
            return false;
        }
        true
    }

    /// Forget sources whose bucket is full again (idle for a whole refill), and give the
    /// table's memory back when it has shrunk a lot.
    pub fn collect(&mut self, now: Instant) {
        let full = Duration::from_nanos(
            cost(self.cfg.per_source_rate) * u64::from(self.cfg.per_source_burst.max(1)),
        );
        self.table
            .retain(|_, b| now.saturating_duration_since(b.last) < full);
        if self.table.capacity() > 64 && self.table.capacity() > 4 * self.table.len() {
            self.table.shrink_to(self.table.len() * 2);
        }
        self.last_gc = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_source_burst_then_rate() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(RateLimit::default(), t0);
        let a = ip("192.0.2.1");
        // 5 at once, then 2 per second.
        assert_eq!((0..20).filter(|_| r.allow(t0, &a)).count(), 5);
        let t1 = t0 + Duration::from_millis(500);
        assert!(r.allow(t1, &a));
        assert!(!r.allow(t1, &a));
        // 10 s of 100 attempts per second: 20 more.
        let n = (1..=1000u64)
            .filter(|i| r.allow(t1 + Duration::from_millis(10 * i), &a))
            .count();
        assert!((19..=21).contains(&n), "{n}");
    }

    #[test]
    fn one_flooder_does_not_starve_others() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(RateLimit::default(), t0);
        let (flood, good) = (ip("198.51.100.9"), ip("203.0.113.5"));
        let mut good_ok = 0;
        for ms in 0..10_000u64 {
            let now = t0 + Duration::from_millis(ms);
            // 1000 resets per second from one source...
            r.allow(now, &flood);
            // ...and a legitimate client retrying every 2 s.
            if ms % 2000 == 0 && r.allow(now, &good) {
                good_ok += 1;
            }
        }
        assert_eq!(good_ok, 5);
    }

    fn small_global() -> RateLimit {
        RateLimit {
            global_rate: 100,
            global_burst: 200,
            ..RateLimit::default()
        }
    }

    #[test]
    fn global_ceiling_holds_for_spread_floods_and_v6_groups_by_64() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(small_global(), t0);
        // 10 000 distinct sources at one instant: only the global burst gets through.
        let n = (0..10_000u32)
            .filter(|i| r.allow(t0, &IpAddr::from((0x0a00_0000 + i).to_be_bytes())))
            .count();
        assert_eq!(n, 200);
        // The table is bounded.
        assert_eq!(r.len(), 4096);
        // IPv6 addresses in one /64 share a bucket.
        let t1 = t0 + Duration::from_secs(10);
        let shared = (0..20u16)
            .filter(|i| r.allow(t1, &ip(&format!("2001:db8:1:2::{i:x}"))))
            .count();
        assert_eq!(shared, 5);
        assert!(r.allow(t1, &ip("2001:db8:1:3::1")));
    }

    /// A spoofed flood over ever new addresses (1000 resets/s, each address used once, so
    /// the per-source buckets never bite and the table stays full) and a real client
    /// retrying every 2 s: with the default ceiling the client is answered every time;
    /// with OpenVPN-like ceiling (100/s) it is starved. A full table does not refuse
    /// new sources; only the global bucket decides for them.
    #[test]
    fn spoofed_spread_flood_does_not_starve_a_new_client() {
        for (cfg, want) in [(RateLimit::default(), 5), (small_global(), 0)] {
            let t0 = Instant::now();
            let mut r = RateLimiter::new(cfg, t0);
            let good = ip("203.0.113.5");
            let mut good_ok = 0;
            for ms in 0..10_000u32 {
                let now = t0 + Duration::from_millis(u64::from(ms));
                r.allow(now, &IpAddr::from((0x0a00_0000 + ms).to_be_bytes()));
                if ms % 2000 == 1000 && r.allow(now, &good) {
                    good_ok += 1;
                }
            }
            assert!(r.len() <= cfg.max_sources);
            assert_eq!(good_ok, want, "{cfg:?}");
        }
        // Table full of sources still within their refill time: a new one goes by the
        // global bucket.
        let t0 = Instant::now();
        let mut r = RateLimiter::new(RateLimit::default(), t0);
        for i in 0..4096u32 {
            r.allow(t0, &IpAddr::from((0x0a00_0000 + i).to_be_bytes()));
        }
        assert_eq!(r.len(), 4096);
        assert!(r.allow(t0 + Duration::from_millis(100), &good_addr()));
        assert_eq!(r.len(), 4096);
    }

    fn good_addr() -> IpAddr {
        ip("203.0.113.7")
    }

    #[test]
    fn idle_sources_are_forgotten() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(RateLimit::default(), t0);
        for i in 0..100u8 {
            r.allow(t0, &IpAddr::from([10, 0, 0, i]));
        }
        assert_eq!(r.len(), 100);
        r.collect(t0 + Duration::from_secs(3));
        assert_eq!(r.len(), 0);
    }
}
