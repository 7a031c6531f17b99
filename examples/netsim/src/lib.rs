//! A deterministic simulated link and a virtual-time driver for sans-IO pair tests.
//!
//! Every protocol crate of the workspace is a state machine that takes `now` as input and
//! reports its next deadline through `poll_timeout`. This crate connects two such machines
//! (`A` and `B`) through two one-way [`Link`]s that lose, duplicate, reorder, delay and
//! MTU-filter datagrams from a seeded pseudo-random generator, and a [`Pair`] driver that jumps
//! virtual time straight to the next thing that can happen: the earliest `poll_timeout` of
//! either side or the earliest datagram arrival. Nothing sleeps; a run with the same seed is the
//! same run, byte for byte and nanosecond for nanosecond.
//!
//! ```text
//!            +--------- Link a->b (loss, dup, reorder, delay, mtu) ---------+
//!   A  ------+                                                               +----->  B
//!   A  <-----+                                                               +------  B
//!            +--------- Link b->a ----------------------------------------- -+
//! ```
//!
//! The driver loop ([`Pair::step`]):
//! 1. drain `poll_transmit` of both sides into their outgoing links;
//! 2. find the earliest of: A's deadline, B's deadline, the next datagram arrival;
//! 3. move `now` there (never backwards), deliver due datagrams, fire due timeouts.
//!
//! Time is `std::time::Instant`: the pair takes one base instant at construction (this crate is
//! test support, not a protocol crate, so it may read the clock once) and from then on only adds
//! durations to it. Traces report times relative to that base, so they are reproducible.
//!
//! [`pcap`] writes the trace (or any list of frames) as a classic libpcap file for Wireshark.
#![forbid(unsafe_code)]

#[cfg(feature = "gre-family")]
pub mod gre;
#[cfg(feature = "l2tp")]
pub mod l2tp;
pub mod mesh;
#[cfg(feature = "ovpn")]
pub mod ovpn;
pub mod pcap;
#[cfg(feature = "ppp")]
pub mod ppp;
#[cfg(feature = "wireguard")]
pub mod wireguard;

use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// The folder of one protocol's real-peer captures, `../shared/captures/<protocol>` next to the
/// repository (tests read the shared captures directly, never a copy). `Err` names the path
/// when it is missing, so a test can fail loudly.
pub fn shared_captures(protocol: &str) -> Result<std::path::PathBuf, String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/captures")
        .join(protocol);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!(
            "captures folder {} is missing: the tests read ../shared/captures (next to the \
             repository) directly",
            dir.display()
        ))
    }
}

/// One side of a simulated exchange: the shape every sans-IO machine in the workspace has.
///
/// Implement it on a thin adapter around the protocol object in a test.
pub trait Endpoint {
    /// A datagram (or a chunk of a byte stream) arrived from the peer at `now`.
    fn handle_input(&mut self, now: Instant, data: &[u8]);
    /// Next datagram to send, if any. Called until it returns `None`.
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>>;
    /// Earliest absolute deadline at which `handle_timeout` must be called.
    fn poll_timeout(&mut self) -> Option<Instant>;
    /// The deadline returned by `poll_timeout` has passed.
    fn handle_timeout(&mut self, now: Instant);
}

/// Impairments of one direction of a [`Link`].
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// Probability (0.0..=1.0) that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice (the copy a little later).
    pub duplicate: f64,
    /// Probability that a datagram is held back by an extra `reorder_delay`, so later ones pass it.
    pub reorder: f64,
    /// One-way base delay.
    pub delay: Duration,
    /// Uniform random extra delay in `0..=jitter` (may itself reorder when large).
    pub jitter: Duration,
    /// Extra hold-back of reordered datagrams.
    pub reorder_delay: Duration,
    /// Datagrams longer than this are dropped (counted as `mtu_drops`). `None`: no limit.
    pub mtu: Option<usize>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self::perfect()
    }
}

impl LinkConfig {
    /// A lossless, in-order link with 10 ms delay.
    pub fn perfect() -> Self {
        LinkConfig {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            reorder_delay: Duration::from_millis(15),
            mtu: None,
        }
    }

    /// A hostile link: `loss` probability of loss, 10% duplication, 10% reordering,
    /// 10 ms delay with 5 ms jitter.
    pub fn lossy(loss: f64) -> Self {
        LinkConfig {
            loss,
            duplicate: 0.1,
            reorder: 0.1,
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(5),
            reorder_delay: Duration::from_millis(15),
            mtu: None,
        }
    }

    /// Builder: set the MTU.
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Builder: set the base delay.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// SplitMix64: a tiny, fast, seedable generator for impairment decisions (not cryptographic).
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }
    /// Uniform duration in `0..=max`.
    pub fn duration_up_to(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let n = max.as_nanos() as u64;
        Duration::from_nanos(self.next_u64() % (n + 1))
    }
    /// Fill a buffer with pseudo-random bytes (deterministic test randomness).
    pub fn fill_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// The workspace's one seeded generator for tests, benches, the tour and fuzz harnesses that
/// must inject an RNG into a protocol machine (`rand_core::RngCore + CryptoRng`): SplitMix64,
/// like [`SimRng`]. It implements `CryptoRng` only to satisfy APIs that demand it: never use it
/// for real keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRng(pub u64);

impl TestRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        TestRng(seed)
    }

    /// A boxed generator, for constructors that take `Box<dyn RngCore + CryptoRng>`.
    pub fn boxed(seed: u64) -> Box<Self> {
        Box::new(TestRng(seed))
    }
}

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        let mut s = SimRng(self.0);
        let v = s.next_u64();
        self.0 = s.0;
        v
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let mut s = SimRng(self.0);
        s.fill_bytes(dest);
        self.0 = s.0;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for TestRng {}

#[derive(Debug, PartialEq, Eq)]
struct InFlight {
    at: Instant,
    seq: u64,
    data: Vec<u8>,
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Min-heap on (at, seq).
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams handed to the link.
    pub sent: u64,
    /// Datagrams delivered (duplicates count twice).
    pub delivered: u64,
    /// Datagrams lost by the loss probability.
    pub lost: u64,
    /// Extra copies created.
    pub duplicated: u64,
    /// Datagrams held back to reorder.
    pub reordered: u64,
    /// Datagrams dropped for exceeding the MTU.
    pub mtu_drops: u64,
    /// Bytes handed to the link.
    pub bytes_sent: u64,
}

/// One direction of a simulated link.
#[derive(Debug)]
pub struct Link {
    /// Impairments.
    pub config: LinkConfig,
    rng: SimRng,
    queue: BinaryHeap<InFlight>,
    seq: u64,
    /// Counters.
    pub stats: LinkStats,
    blocked: bool,
}

/// What happened to a datagram handed to [`Link::send`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Will be delivered (once, or twice if duplicated).
    Delivered,
    /// Lost by the loss probability or because the link is cut.
    Lost,
    /// Longer than the MTU.
    TooBig,
}

impl Link {
    /// A link with its own seeded generator.
    pub fn new(config: LinkConfig, seed: u64) -> Self {
        Link {
            config,
            rng: SimRng::new(seed),
            queue: BinaryHeap::new(),
            seq: 0,
            stats: LinkStats::default(),
            blocked: false,
        }
    }

    /// Cut (`true`) or restore (`false`) the link: while cut, everything sent is lost.
    pub fn set_cut(&mut self, cut: bool) {
        self.blocked = cut;
    }

    /// Whether the link is cut.
    pub fn is_cut(&self) -> bool {
        self.blocked
    }

    /// Hand a datagram to the link at `now`.
    pub fn send(&mut self, now: Instant, data: Vec<u8>) -> Fate {
        self.stats.sent += 1;
        self.stats.bytes_sent += data.len() as u64;
        if let Some(mtu) = self.config.mtu {
            if data.len() > mtu {
                self.stats.mtu_drops += 1;
                return Fate::TooBig;
            }
        }
        if self.blocked || self.rng.chance(self.config.loss) {
            self.stats.lost += 1;
            return Fate::Lost;
        }
        let mut at = now + self.config.delay + self.rng.duration_up_to(self.config.jitter);
        if self.rng.chance(self.config.reorder) {
            self.stats.reordered += 1;
            at += self.config.reorder_delay;
        }
        if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            let dup_at = at + self.rng.duration_up_to(self.config.delay) + Duration::from_micros(1);
            self.push(dup_at, data.clone());
        }
        self.push(at, data);
        Fate::Delivered
    }

    fn push(&mut self, at: Instant, data: Vec<u8>) {
        self.seq += 1;
        self.queue.push(InFlight {
            at,
            seq: self.seq,
            data,
        });
    }

    /// Arrival time of the next datagram.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.queue.peek().map(|f| f.at)
    }

    /// Pop one datagram due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.queue.peek().is_some_and(|f| f.at <= now) {
            self.stats.delivered += 1;
            self.queue.pop().map(|f| f.data)
        } else {
            None
        }
    }

    /// Datagrams in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }
}

/// Direction of a traced datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From A to B.
    AtoB,
    /// From B to A.
    BtoA,
}

impl Dir {
    /// The ladder arrow for this direction, `A -> B` or `A <- B`.
    pub fn arrow(self) -> &'static str {
        match self {
            Dir::AtoB => "----->",
            Dir::BtoA => "<-----",
        }
    }
}

/// One datagram as seen by the driver when it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// Send time relative to the pair's start.
    pub at: Duration,
    /// Direction.
    pub dir: Dir,
    /// The bytes.
    pub data: Vec<u8>,
    /// What the link did with it.
    pub fate: Fate,
}

/// Two endpoints, two links, one virtual clock.
pub struct Pair<A, B> {
    /// Side A.
    pub a: A,
    /// Side B.
    pub b: B,
    /// Link from A to B.
    pub ab: Link,
    /// Link from B to A.
    pub ba: Link,
    start: Instant,
    now: Instant,
    /// Every datagram sent, in send order (recording can be switched off with `record`).
    pub trace: Vec<TraceEntry>,
    /// Whether to record the trace.
    pub record: bool,
    steps: u64,
}

impl<A: Endpoint, B: Endpoint> Pair<A, B> {
    /// A pair over a link with the same impairments both ways; the two directions get
    /// independent generators derived from `seed`.
    pub fn new(a: A, b: B, config: LinkConfig, seed: u64) -> Self {
        Self::with_start(a, b, config.clone(), config, seed, Instant::now())
    }

    /// Full control: per-direction impairments and the base instant (the `now` the endpoints
    /// were created with, so their deadlines line up with the pair's clock).
    pub fn with_start(
        a: A,
        b: B,
        ab: LinkConfig,
        ba: LinkConfig,
        seed: u64,
        start: Instant,
    ) -> Self {
        let mut seeder = SimRng::new(seed);
        Pair {
            a,
            b,
            ab: Link::new(ab, seeder.next_u64()),
            ba: Link::new(ba, seeder.next_u64()),
            start,
            now: start,
            trace: Vec::new(),
            record: true,
            steps: 0,
        }
    }

    /// The base instant (virtual time zero).
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Current virtual time relative to the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Drain both sides' `poll_transmit` into the links (recording the trace).
    pub fn flush(&mut self) {
        let now = self.now;
        while let Some(d) = self.a.poll_transmit(now) {
            let fate = self.ab.send(now, d.clone());
            if self.record {
                self.trace.push(TraceEntry {
                    at: now - self.start,
                    dir: Dir::AtoB,
                    data: d,
                    fate,
                });
            }
        }
        while let Some(d) = self.b.poll_transmit(now) {
            let fate = self.ba.send(now, d.clone());
            if self.record {
                self.trace.push(TraceEntry {
                    at: now - self.start,
                    dir: Dir::BtoA,
                    data: d,
                    fate,
                });
            }
        }
    }

    /// The next instant at which anything can happen.
    pub fn next_event(&mut self) -> Option<Instant> {
        [
            self.a.poll_timeout(),
            self.b.poll_timeout(),
            self.ab.next_arrival(),
            self.ba.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// One step: flush, advance to the next event (never backwards), deliver and fire what is
    /// due. Returns `false` when nothing is pending anywhere (both sides idle, links empty).
    pub fn step(&mut self) -> bool {
        self.step_until(None)
    }

    /// Like [`step`](Self::step) but never moves past `limit`; returns `false` if the next event
    /// lies beyond it (time is then set to `limit`).
    pub fn step_until(&mut self, limit: Option<Instant>) -> bool {
        self.flush();
        let Some(next) = self.next_event() else {
            if let Some(l) = limit {
                self.now = self.now.max(l);
            }
            return false;
        };
        if let Some(l) = limit {
            if next > l {
                self.now = self.now.max(l);
                return false;
            }
        }
        self.now = self.now.max(next);
        self.steps += 1;
        let now = self.now;
        while let Some(d) = self.ab.pop_due(now) {
            self.b.handle_input(now, &d);
        }
        while let Some(d) = self.ba.pop_due(now) {
            self.a.handle_input(now, &d);
        }
        if self.a.poll_timeout().is_some_and(|t| t <= now) {
            self.a.handle_timeout(now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= now) {
            self.b.handle_timeout(now);
        }
        self.flush();
        true
    }

    /// Run for `dur` of virtual time (or until idle), then set the clock to exactly
    /// `start_of_call + dur`.
    pub fn run_for(&mut self, dur: Duration) {
        let end = self.now + dur;
        while self.step_until(Some(end)) {}
        self.now = self.now.max(end);
    }

    /// Run until `pred` holds (checked after every step), at most `max` of virtual time.
    /// Returns the virtual time (relative to start) at which it held, or `None` on time-out.
    pub fn run_until(
        &mut self,
        max: Duration,
        mut pred: impl FnMut(&mut A, &mut B) -> bool,
    ) -> Option<Duration> {
        let end = self.now + max;
        loop {
            if pred(&mut self.a, &mut self.b) {
                return Some(self.elapsed());
            }
            if !self.step_until(Some(end)) {
                return if pred(&mut self.a, &mut self.b) {
                    Some(self.elapsed())
                } else {
                    None
                };
            }
        }
    }

    /// Run until neither side has anything pending (or `max` passes). Returns whether it
    /// became idle.
    pub fn run_to_idle(&mut self, max: Duration) -> bool {
        let end = self.now + max;
        loop {
            if !self.step_until(Some(end)) {
                return self.next_event().is_none();
            }
        }
    }

    /// Cut both directions (`true`) or restore them.
    pub fn set_cut(&mut self, cut: bool) {
        self.ab.set_cut(cut);
        self.ba.set_cut(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ping-pong endpoint: A sends `n` pings 1 s apart; B echoes everything.
    struct Pinger {
        next: Option<Instant>,
        left: u32,
        out: Vec<Vec<u8>>,
        got: Vec<(Duration, Vec<u8>)>,
        start: Instant,
    }
    impl Endpoint for Pinger {
        fn handle_input(&mut self, now: Instant, data: &[u8]) {
            self.got.push((now - self.start, data.to_vec()));
        }
        fn poll_transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
            self.out.pop()
        }
        fn poll_timeout(&mut self) -> Option<Instant> {
            self.next
        }
        fn handle_timeout(&mut self, now: Instant) {
            if self.left > 0 {
                self.left -= 1;
                self.out.push(vec![self.left as u8]);
                self.next = Some(now + Duration::from_secs(1));
            } else {
                self.next = None;
            }
        }
    }
    struct Echo {
        out: Vec<Vec<u8>>,
    }
    impl Endpoint for Echo {
        fn handle_input(&mut self, _now: Instant, data: &[u8]) {
            self.out.push(data.to_vec());
        }
        fn poll_transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
            self.out.pop()
        }
        fn poll_timeout(&mut self) -> Option<Instant> {
            None
        }
        fn handle_timeout(&mut self, _now: Instant) {}
    }

    fn pair(cfg: LinkConfig, seed: u64) -> Pair<Pinger, Echo> {
        let start = Instant::now();
        let a = Pinger {
            next: Some(start),
            left: 100,
            out: vec![],
            got: vec![],
            start,
        };
        Pair::with_start(a, Echo { out: vec![] }, cfg.clone(), cfg, seed, start)
    }

    #[test]
    fn perfect_link_round_trip_times_are_exact() {
        let mut p = pair(LinkConfig::perfect(), 1);
        assert!(p.run_to_idle(Duration::from_secs(1000)));
        assert_eq!(p.a.got.len(), 100);
        // First ping sent at t=0, echoed back after 2 x 10 ms.
        assert_eq!(p.a.got[0].0, Duration::from_millis(20));
        assert_eq!(p.a.got[99].0, Duration::from_millis(99_020));
        assert_eq!(p.trace.len(), 200);
    }

    #[test]
    fn same_seed_same_run_and_loss_is_roughly_right() {
        let run = |seed| {
            let mut p = pair(LinkConfig::lossy(0.3), seed);
            p.run_to_idle(Duration::from_secs(1000));
            (
                p.a.got.clone(),
                p.ab.stats,
                p.ba.stats,
                p.trace.iter().map(|t| t.at).collect::<Vec<_>>(),
            )
        };
        let r1 = run(7);
        assert_eq!(r1, run(7));
        assert_ne!(r1.0, run(8).0);
        let (_, ab, _, _) = r1;
        assert_eq!(ab.sent, 100);
        assert!(ab.lost > 15 && ab.lost < 45, "lost {}", ab.lost);
        assert!(ab.duplicated > 0 && ab.reordered > 0);
    }

    #[test]
    fn mtu_and_cut() {
        let mut l = Link::new(LinkConfig::perfect().with_mtu(4), 1);
        let now = Instant::now();
        assert_eq!(l.send(now, vec![0; 5]), Fate::TooBig);
        assert_eq!(l.send(now, vec![0; 4]), Fate::Delivered);
        l.set_cut(true);
        assert_eq!(l.send(now, vec![0; 1]), Fate::Lost);
        assert_eq!(l.pop_due(now), None);
        assert_eq!(l.pop_due(now + Duration::from_millis(10)), Some(vec![0; 4]));
        assert_eq!(l.stats.mtu_drops, 1);
    }

    #[test]
    fn run_for_lands_exactly() {
        let mut p = pair(LinkConfig::perfect(), 1);
        p.run_for(Duration::from_millis(2500));
        assert_eq!(p.elapsed(), Duration::from_millis(2500));
        assert_eq!(p.a.got.len(), 3);
    }
}
