//! Per-source handshake rate limiter (the Linux kernel's `ratelimiter.c` and wireguard-go's
//! `ratelimiter` package): a token bucket per source address, consulted for handshake messages
//! while the device is under load, after the mac2/cookie check has proven that the source
//! address is real.
//!
//! * 20 handshake messages per second per source, bursts of 5 (a bucket holds
//!   5 x 50 ms worth of tokens; a message costs 50 ms).
//! * A new source starts with a full bucket minus the cost of its first message.
//! * IPv4 sources are keyed by address, IPv6 sources by their /64 (as the kernel does, so one
//!   host cannot escape the limit by rotating addresses inside its prefix; wireguard-go keys
//!   the full address).
//! * Entries idle for more than 1 s are collected, lazily, at most once per second of `now`.
//! * The table holds at most [`RateLimiter::capacity`] sources: when it is full even after
//!   collection, new sources are refused (the kernel refuses as well) while known ones keep
//!   their buckets.
//!
//! Time is the caller's `now`; nothing here reads a clock.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::fasthash::FastMap;

/// Messages per second allowed per source.
pub const PACKETS_PER_SECOND: u64 = 20;
/// Burst size per source.
pub const PACKETS_BURSTABLE: u64 = 5;
/// Idle time after which a source's entry is forgotten.
pub const GARBAGE_COLLECT_TIME: Duration = Duration::from_secs(1);
/// Default bound of the table.
pub const DEFAULT_CAPACITY: usize = 8192;

const PACKET_COST: u64 = 1_000_000_000 / PACKETS_PER_SECOND;
const MAX_TOKENS: u64 = PACKET_COST * PACKETS_BURSTABLE;

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Tokens in nanoseconds of allowance.
    tokens: u64,
    last: Instant,
}

/// The limiter. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct RateLimiter {
    table: FastMap<u128, Entry>,
    capacity: usize,
    last_gc: Option<Instant>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

/// Table key: IPv4 address, or IPv6 /64 (tagged so the two families never collide).
fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)) | (1 << 127),
        IpAddr::V6(a) => u128::from(a) & !((1u128 << 64) - 1) & !(1 << 127) | (1 << 126),
    }
}

impl RateLimiter {
    /// A limiter holding at most `capacity` sources.
    pub fn new(capacity: usize) -> Self {
        RateLimiter {
            table: FastMap::default(),
            capacity,
            last_gc: None,
        }
    }

    /// The bound of the table.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sources currently tracked.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// May a handshake message from `ip` be processed at `now`? Takes one token when it may.
    pub fn allow(&mut self, now: Instant, ip: IpAddr) -> bool {
        if self
            .last_gc
            .is_none_or(|t| now.saturating_duration_since(t) >= GARBAGE_COLLECT_TIME)
        {
            self.collect(now);
        }
        let k = key(ip);
        if let Some(e) = self.table.get_mut(&k) {
            let elapsed = now.saturating_duration_since(e.last).as_nanos();
            e.last = now;
            e.tokens = u64::try_from(u128::from(e.tokens) + elapsed)
                .unwrap_or(MAX_TOKENS)
                .min(MAX_TOKENS);
            if e.tokens > PACKET_COST {
                e.tokens -= PACKET_COST;
                return true;
            }
            return false;
        }
        if self.table.len() >= self.capacity {
            self.collect(now);
            if self.table.len() >= self.capacity {
                return false;
            }
        }
        self.table.insert(
            k,
            Entry {
                tokens: MAX_TOKENS - PACKET_COST,
                last: now,
            },
        );
        true
    }

    /// Forget sources idle for more than [`GARBAGE_COLLECT_TIME`].
    pub fn collect(&mut self, now: Instant) {
        self.table
            .retain(|_, e| now.saturating_duration_since(e.last) <= GARBAGE_COLLECT_TIME);
        self.last_gc = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sequence of wireguard-go's `TestRatelimiter` (which advances its fake clock by the
    /// wait plus 1 ns before each step), for IPv4 and IPv6 sources side by side.
    #[test]
    fn burst_refill_sequence_as_wireguard_go() {
        let cost = Duration::from_nanos(PACKET_COST);
        let steps: Vec<(bool, Duration)> = [(true, Duration::ZERO); 5]
            .into_iter()
            .chain([
                (false, Duration::ZERO),
                (true, cost),
                (false, Duration::ZERO),
                (true, 2 * cost),
                (true, Duration::ZERO),
                (false, Duration::ZERO),
            ])
            .collect();
        let ips: Vec<IpAddr> = [
            "127.0.0.1",
            "192.168.1.1",
            "172.167.2.3",
            "2001:db8:a0b:12f0::1",
            "a47b:786e:1671:a22b:d6f9:4ab0:abc7:c918",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let mut r = RateLimiter::default();
        let mut now = Instant::now();
        for (i, (allowed, wait)) in steps.iter().enumerate() {
            now += *wait + Duration::from_nanos(1);
            for ip in &ips {
                assert_eq!(r.allow(now, *ip), *allowed, "step {i} {ip}");
            }
        }
    }

    #[test]
    fn sustained_rate_is_20_per_second() {
        let mut r = RateLimiter::default();
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let t0 = Instant::now();
        // 1000 attempts per second for 10 s: 5 (burst) + 20/s afterwards.
        let mut ok = 0;
        for ms in 0..10_000u64 {
            ok += usize::from(r.allow(t0 + Duration::from_millis(ms), ip));
        }
        assert!((200..=206).contains(&ok), "{ok}");
    }

    #[test]
    fn ipv6_grouped_by_64_and_families_separate() {
        let mut r = RateLimiter::default();
        let t0 = Instant::now();
        // (1 ns apart, as in wireguard-go's test: at one exact instant the fifth message would
        // find exactly one message's worth of tokens, and the comparison is strict.)
        for i in 0..5u16 {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            assert!(r.allow(t0 + Duration::from_nanos(u64::from(i)), ip), "{ip}");
        }
        let now = t0 + Duration::from_nanos(5);
        // A sixth address in the same /64 shares the bucket; another /64 does not.
        assert!(!r.allow(now, "2001:db8:1:2::ffff".parse().unwrap()));
        assert!(r.allow(now, "2001:db8:1:3::1".parse().unwrap()));
        // ::ffff:a.b.c.d style overlaps cannot alias an IPv4 source.
        assert!(r.allow(now, "0.0.0.1".parse().unwrap()));
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn idle_entries_collected_and_capacity_bounded() {
        let mut r = RateLimiter::new(3);
        let t0 = Instant::now();
        for i in 1..=3u8 {
            assert!(r.allow(t0, IpAddr::from([10, 0, 0, i])));
        }
        // Full: a new source is refused, known ones still have their buckets.
        assert!(!r.allow(t0, IpAddr::from([10, 0, 0, 4])));
        assert!(r.allow(t0, IpAddr::from([10, 0, 0, 1])));
        assert_eq!(r.len(), 3);
        // 1 s later the entries are not yet idle for more than 1 s...
        let t1 = t0 + GARBAGE_COLLECT_TIME;
        assert!(!r.allow(t1, IpAddr::from([10, 0, 0, 5])));
        // ...a moment later they are, and collection makes room.
        let t2 = t1 + Duration::from_millis(1);
        assert!(r.allow(t2, IpAddr::from([10, 0, 0, 5])));
        assert_eq!(r.len(), 1);
    }
}
