//! A deterministic virtual-time network of PTP clocks, for tests, the tour and for users who
//! want to try a topology before deploying it. Pure computation: no sockets, no real clock.
//!
//! Each [`SimNode`] owns a [`Clock`] and a [`ClockModel`] (an oscillator with a fixed frequency
//! error in ppm plus whatever the servo steers). Ports attach to [`Segment`]s (a multicast
//! LAN: everything sent is delivered to every other port on the segment) with per-port
//! uplink/downlink delays, so path asymmetry is `up(a) + down(b) != up(b) + down(a)`.
//! Timestamps get uniform jitter. The clock's `StepClock` / `AdjustFrequency` events are applied
//! to the model, exactly as a daemon would apply them to a PHC.

use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::event::Event;
use crate::wire::Time;
use crate::Clock;

/// An oscillator: local PTP time as a function of true (simulation) time.
#[derive(Debug, Clone)]
pub struct ClockModel {
    epoch: Time,
    ref_true_ns: f64,
    ref_local_ns: f64,
    base_ppm: f64,
    adj_ppb: f64,
}

impl ClockModel {
    /// A clock showing `epoch + initial_offset_ns` at true time 0 and running `freq_ppm` fast.
    pub fn new(epoch: Time, initial_offset_ns: f64, freq_ppm: f64) -> Self {
        ClockModel {
            epoch,
            ref_true_ns: 0.0,
            ref_local_ns: initial_offset_ns,
            base_ppm: freq_ppm,
            adj_ppb: 0.0,
        }
    }

    fn rate(&self) -> f64 {
        1.0 + self.base_ppm * 1e-6 + self.adj_ppb * 1e-9
    }

    fn rel(&self, true_ns: f64) -> f64 {
        self.ref_local_ns + (true_ns - self.ref_true_ns) * self.rate()
    }

    /// Local time at true time `true_ns` (nanoseconds since the start of the simulation).
    pub fn local(&self, true_ns: f64) -> Time {
        self.epoch + Time::from_scaled((self.rel(true_ns) * 65536.0).round() as i128)
    }

    /// Local minus true time in ns (the clock's error against an ideal clock).
    pub fn error_ns(&self, true_ns: f64) -> f64 {
        self.rel(true_ns) - true_ns
    }

    /// Step the clock by `by`.
    pub fn step(&mut self, true_ns: f64, by: Time) {
        self.ref_local_ns = self.rel(true_ns) + by.as_nanos_f64();
        self.ref_true_ns = true_ns;
    }

    /// Set the frequency adjustment (ppb, positive = faster).
    pub fn set_adjustment(&mut self, true_ns: f64, ppb: f64) {
        self.ref_local_ns = self.rel(true_ns);
        self.ref_true_ns = true_ns;
        self.adj_ppb = ppb;
    }

    /// Frequency adjustment in effect.
    pub fn adjustment_ppb(&self) -> f64 {
        self.adj_ppb
    }

    /// The oscillator's own frequency error, ppm.
    pub fn base_ppm(&self) -> f64 {
        self.base_ppm
    }
}

/// One simulated clock.
#[derive(Debug)]
pub struct SimNode {
    /// Name used in traces.
    pub name: String,
    /// The state machine.
    pub clock: Clock,
    /// Its oscillator.
    pub model: ClockModel,
    /// When false the node is cut off (power failure): it neither sends nor receives.
    pub up: bool,
    /// Events with the true time (ns) they were polled at.
    pub events: Vec<(u64, Event)>,
    /// When true, transmit timestamps are reported missing instead of delivered.
    pub lose_tx_timestamps: bool,
}

/// A multicast LAN segment.
#[derive(Debug, Clone, Default)]
pub struct Segment {
    /// Attached (node, port index, uplink delay ns, downlink delay ns).
    pub ports: Vec<(usize, usize, u64, u64)>,
}

/// One delivered (or sent) message, for traces and pcaps.
#[derive(Debug, Clone)]
pub struct TraceEntry {
    /// True time of transmission, ns.
    pub at_ns: u64,
    /// Sending node.
    pub from: usize,
    /// Sending port index.
    pub port: usize,
    /// Segment.
    pub segment: usize,
    /// Event message (UDP 319) or general (320).
    pub event: bool,
    /// Peer-delay destination.
    pub peer_delay: bool,
    /// The PTP message.
    pub bytes: Vec<u8>,
}

/// (segment, uplink delay, receivers (node, port, downlink delay)).
type Fanout = (usize, u64, Vec<(usize, usize, u64)>);

#[derive(Debug, PartialEq, Eq)]
struct Delivery {
    at: u64,
    seq: u64,
    node: usize,
    port: usize,
    bytes: Vec<u8>,
}

impl Ord for Delivery {
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}
impl PartialOrd for Delivery {
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// The network.
#[derive(Debug)]
pub struct Network {
    start: Instant,
    now: u64,
    /// Nodes.
    pub nodes: Vec<SimNode>,
    /// Segments.
    pub segments: Vec<Segment>,
    queue: BinaryHeap<Delivery>,
    seq: u64,
    rng: u64,
    /// Timestamp jitter, ± ns (uniform).
    pub timestamp_jitter_ns: f64,
    /// Extra per-packet delay jitter, 0..ns (uniform).
    pub delay_jitter_ns: u64,
    /// Loss probability per delivery.
    pub loss: f64,
    /// Record every transmission in `trace`.
    pub record: bool,
    /// Transmissions (when `record`).
    pub trace: Vec<TraceEntry>,
}

impl Network {
    /// Empty network starting at `start` with a seeded PRNG.
    pub fn new(start: Instant, seed: u64) -> Self {
        Network {
            start,
            now: 0,
            nodes: Vec::new(),
            segments: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
            timestamp_jitter_ns: 0.0,
            delay_jitter_ns: 0,
            loss: 0.0,
            record: false,
            trace: Vec::new(),
        }
    }

    /// Add a node; returns its index.
    pub fn add_node(&mut self, name: &str, clock: Clock, model: ClockModel) -> usize {
        self.nodes.push(SimNode {
            name: name.to_string(),
            clock,
            model,
            up: true,
            events: Vec::new(),
            lose_tx_timestamps: false,
        });
        self.nodes.len() - 1
    }

    /// Add an empty segment; returns its index.
    pub fn add_segment(&mut self) -> usize {
        self.segments.push(Segment::default());
        self.segments.len() - 1
    }

    /// Attach `node`'s port `port` to `segment` with uplink/downlink delays in ns.
    pub fn attach(&mut self, segment: usize, node: usize, port: usize, up_ns: u64, down_ns: u64) {
        if let Some(s) = self.segments.get_mut(segment) {
            s.ports.push((node, port, up_ns, down_ns));
        }
    }

    /// True time since start, ns.
    pub fn now_ns(&self) -> u64 {
        self.now
    }

    /// Monotonic instant for a true time.
    pub fn instant(&self, ns: u64) -> Instant {
        self.start + Duration::from_nanos(ns)
    }

    /// Local-minus-reference clock offset of node `a` against node `b` now, ns.
    pub fn offset_ns(&self, a: usize, b: usize) -> Option<f64> {
        let t = self.now as f64;
        Some(self.nodes.get(a)?.model.error_ns(t) - self.nodes.get(b)?.model.error_ns(t))
    }

    fn rand(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.rand() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn jitter_ts(&mut self, t: Time) -> Time {
        if self.timestamp_jitter_ns <= 0.0 {
            return t;
        }
        let j = (self.unit() * 2.0 - 1.0) * self.timestamp_jitter_ns;
        t + Time::from_scaled((j * 65536.0) as i128)
    }

    fn flush(&mut self, i: usize) {
        let now_i = self.instant(self.now);
        let mut buf = [0u8; 1500];
        loop {
            let Some(node) = self.nodes.get_mut(i) else {
                return;
            };
            let tx = match node.clock.poll_transmit(now_i, &mut buf) {
                Ok(Some(tx)) => tx,
                _ => break,
            };
            let Some(bytes) = buf.get(..tx.len) else {
                break;
            };
            let bytes = bytes.to_vec();
            if let Some(token) = tx.token {
                let lose = self.nodes.get(i).is_some_and(|n| n.lose_tx_timestamps);
                let local = self
                    .nodes
                    .get(i)
                    .map(|n| n.model.local(self.now as f64))
                    .unwrap_or_default();
                let ts = self.jitter_ts(local);
                if let Some(node) = self.nodes.get_mut(i) {
                    if lose {
                        node.clock.handle_tx_timestamp_missing(now_i, token);
                    } else {
                        node.clock.handle_tx_timestamp(now_i, token, ts);
                    }
                }
            }
            if !self.nodes.get(i).is_some_and(|n| n.up) {
                continue;
            }
            let segs: Vec<Fanout> = self
                .segments
                .iter()
                .enumerate()
                .filter_map(|(si, s)| {
                    let me = s.ports.iter().find(|p| p.0 == i && p.1 == tx.port)?;
                    let others = s
                        .ports
                        .iter()
                        .filter(|p| !(p.0 == i && p.1 == tx.port))
                        .map(|p| (p.0, p.1, p.3))
                        .collect();
                    Some((si, me.2, others))
                })
                .collect();
            for (si, up, others) in segs {
                if self.record {
                    self.trace.push(TraceEntry {
                        at_ns: self.now,
                        from: i,
                        port: tx.port,
                        segment: si,
                        event: tx.event,
                        peer_delay: tx.dest == crate::Destination::PeerDelay,
                        bytes: bytes.clone(),
                    });
                }
                for (n, p, down) in others {
                    if self.loss > 0.0 && self.unit() < self.loss {
                        continue;
                    }
                    let extra = if self.delay_jitter_ns > 0 {
                        self.rand() % (self.delay_jitter_ns + 1)
                    } else {
                        0
                    };
                    self.seq += 1;
                    self.queue.push(Delivery {
                        at: self.now + up + down + extra,
                        seq: self.seq,
                        node: n,
                        port: p,
                        bytes: bytes.clone(),
                    });
                }
            }
        }
        let t = self.now;
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        while let Some(ev) = node.clock.poll_event() {
            match &ev {
                Event::StepClock { by } => node.model.step(t as f64, *by),
                Event::AdjustFrequency { ppb } => node.model.set_adjustment(t as f64, *ppb),
                _ => {}
            }
            node.events.push((t, ev));
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.flush(i);
        }
    }

    /// Advance virtual time to `until_ns` (true ns since start), processing every delivery and
    /// timer on the way.
    pub fn run_until(&mut self, until_ns: u64) {
        self.flush_all();
        loop {
            let next_delivery = self.queue.peek().map(|d| d.at);
            let next_timer = self
                .nodes
                .iter()
                .filter_map(|n| n.clock.poll_timeout())
                .min()
                .map(|t| t.saturating_duration_since(self.start).as_nanos() as u64);
            let next = match (next_delivery, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if next > until_ns {
                break;
            }
            self.now = self.now.max(next);
            let now_i = self.instant(self.now);
            while self.queue.peek().is_some_and(|d| d.at <= self.now) {
                let Some(d) = self.queue.pop() else { break };
                let up = self.nodes.get(d.node).is_some_and(|n| n.up);
                if !up {
                    continue;
                }
                let local = self
                    .nodes
                    .get(d.node)
                    .map(|n| n.model.local(self.now as f64))
                    .unwrap_or_default();
                let rx = self.jitter_ts(local);
                if let Some(n) = self.nodes.get_mut(d.node) {
                    let _ = n.clock.handle_input(now_i, d.port, &d.bytes, Some(rx));
                }
                self.flush(d.node);
            }
            for i in 0..self.nodes.len() {
                let due = self
                    .nodes
                    .get(i)
                    .and_then(|n| n.clock.poll_timeout())
                    .is_some_and(|t| t <= now_i);
                if due {
                    if let Some(n) = self.nodes.get_mut(i) {
                        n.clock.handle_timeout(now_i);
                    }
                    self.flush(i);
                }
            }
        }
        self.now = self.now.max(until_ns);
    }
}
