//! A simulated network of N addressed endpoints (for protocols with more than two parties, such
//! as ZeroTier's leaves and roots): every endpoint owns one or more socket addresses; a
//! datagram travels on the one-way [`Link`] from its sender to the endpoint owning the
//! destination address, with the same seeded impairments as [`Pair`](crate::Pair). Links are
//! created on first use (seeded from the mesh seed and the endpoint indices) and can be cut.
//! Virtual time advances to the next event exactly as in `Pair`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::{Fate, Link, LinkConfig, SimRng};

/// One endpoint of a [`Mesh`].
pub trait MeshEndpoint {
    /// A datagram from `from` arrived at our address `to`.
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]);
    /// Next datagram to send: (our source address, destination, bytes).
    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, SocketAddr, Vec<u8>)>;
    /// Earliest deadline.
    fn poll_timeout(&mut self) -> Option<Instant>;
    /// The deadline passed.
    fn handle_timeout(&mut self, now: Instant);
}

/// One datagram as the mesh saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshTrace {
    /// Send time relative to the start.
    pub at: Duration,
    /// Sender index.
    pub from_node: usize,
    /// Receiver index (`None`: no endpoint owns the address).
    pub to_node: Option<usize>,
    /// Source address.
    pub src: SocketAddr,
    /// Destination address.
    pub dst: SocketAddr,
    /// Bytes.
    pub data: Vec<u8>,
    /// What the link did.
    pub fate: Fate,
}

/// N endpoints, lazily created links, one virtual clock.
pub struct Mesh<E> {
    /// The endpoints with the addresses they own.
    pub nodes: Vec<(Vec<SocketAddr>, E)>,
    links: HashMap<(usize, usize), Link>,
    config: LinkConfig,
    overrides: HashMap<(usize, usize), LinkConfig>,
    cut: HashMap<(usize, usize), bool>,
    seed: u64,
    start: Instant,
    now: Instant,
    /// Every datagram sent.
    pub trace: Vec<MeshTrace>,
}

impl<E: MeshEndpoint> Mesh<E> {
    /// A mesh whose links all use `config`.
    pub fn new(
        nodes: Vec<(Vec<SocketAddr>, E)>,
        config: LinkConfig,
        seed: u64,
        start: Instant,
    ) -> Self {
        Mesh {
            nodes,
            links: HashMap::new(),
            config,
            overrides: HashMap::new(),
            cut: HashMap::new(),
            seed,
            start,
            now: start,
            trace: Vec::new(),
        }
    }

    /// Use `config` on the link from `a` to `b` (before it is first used).
    pub fn set_link_config(&mut self, a: usize, b: usize, config: LinkConfig) {
        self.overrides.insert((a, b), config);
    }

    /// Cut (or restore) both directions between `a` and `b`.
    pub fn set_cut(&mut self, a: usize, b: usize, cut: bool) {
        self.cut.insert((a, b), cut);
        self.cut.insert((b, a), cut);
        for k in [(a, b), (b, a)] {
            if let Some(l) = self.links.get_mut(&k) {
                l.set_cut(cut);
            }
        }
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }
    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn owner(&self, addr: SocketAddr) -> Option<usize> {
        self.nodes
            .iter()
            .position(|(addrs, _)| addrs.contains(&addr))
    }

    fn flush(&mut self) {
        let now = self.now;
        for i in 0..self.nodes.len() {
            while let Some((src, dst, data)) = self.nodes[i].1.poll_transmit(now) {
                let to = self.owner(dst);
                let fate = match to {
                    Some(j) => {
                        let cfg = self
                            .overrides
                            .get(&(i, j))
                            .cloned()
                            .unwrap_or_else(|| self.config.clone());
                        let seed =
                            SimRng::new(self.seed ^ ((i as u64) << 32) ^ j as u64).next_u64();
                        let cut = self.cut.get(&(i, j)).copied().unwrap_or(false);
                        let link = self.links.entry((i, j)).or_insert_with(|| {
                            let mut l = Link::new(cfg, seed);
                            l.set_cut(cut);
                            l
                        });
                        let mut framed = encode_addr(src).to_vec();
                        framed.extend_from_slice(&encode_addr(dst));
                        framed.extend_from_slice(&data);
                        link.send(now, framed)
                    }
                    None => Fate::Lost,
                };
                self.trace.push(MeshTrace {
                    at: now - self.start,
                    from_node: i,
                    to_node: to,
                    src,
                    dst,
                    data,
                    fate,
                });
            }
        }
    }

    fn next_event(&mut self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        for (_, e) in self.nodes.iter_mut() {
            if let Some(x) = e.poll_timeout() {
                t = Some(t.map_or(x, |y| y.min(x)));
            }
        }
        for l in self.links.values() {
            if let Some(x) = l.next_arrival() {
                t = Some(t.map_or(x, |y| y.min(x)));
            }
        }
        t
    }

    /// One step; `false` when nothing is pending before `limit`.
    pub fn step_until(&mut self, limit: Instant) -> bool {
        self.flush();
        let Some(next) = self.next_event() else {
            self.now = self.now.max(limit);
            return false;
        };
        if next > limit {
            self.now = self.now.max(limit);
            return false;
        }
        self.now = self.now.max(next);
        let now = self.now;
        let mut keys: Vec<(usize, usize)> = self.links.keys().copied().collect();
        keys.sort_unstable();
        for (i, j) in keys {
            while let Some(d) = self.links.get_mut(&(i, j)).and_then(|l| l.pop_due(now)) {
                if d.len() < 2 * ADDR_LEN {
                    continue;
                }
                let (src, dst) = (
                    decode_addr(&d[..ADDR_LEN]),
                    decode_addr(&d[ADDR_LEN..2 * ADDR_LEN]),
                );
                self.nodes[j]
                    .1
                    .handle_datagram(now, src, dst, &d[2 * ADDR_LEN..]);
            }
        }
        for (_, e) in self.nodes.iter_mut() {
            if e.poll_timeout().is_some_and(|t| t <= now) {
                e.handle_timeout(now);
            }
        }
        self.flush();
        true
    }

    /// Run for `dur` of virtual time.
    pub fn run_for(&mut self, dur: Duration) {
        let end = self.now + dur;
        while self.step_until(end) {}
        self.now = self.now.max(end);
    }

    /// Run until `pred` holds (checked after every step) or `max` passes; the time it held.
    pub fn run_until(
        &mut self,
        max: Duration,
        mut pred: impl FnMut(&mut [(Vec<SocketAddr>, E)]) -> bool,
    ) -> Option<Duration> {
        let end = self.now + max;
        loop {
            if pred(&mut self.nodes) {
                return Some(self.elapsed());
            }
            if !self.step_until(end) {
                return pred(&mut self.nodes).then(|| self.elapsed());
            }
        }
    }
}

const ADDR_LEN: usize = 19;

fn encode_addr(a: SocketAddr) -> [u8; ADDR_LEN] {
    let mut b = [0u8; ADDR_LEN];
    match a.ip() {
        std::net::IpAddr::V4(ip) => {
            b[0] = 4;
            b[1..5].copy_from_slice(&ip.octets());
        }
        std::net::IpAddr::V6(ip) => {
            b[0] = 6;
            b[1..17].copy_from_slice(&ip.octets());
        }
    }
    b[17..19].copy_from_slice(&a.port().to_be_bytes());
    b
}

fn decode_addr(b: &[u8]) -> SocketAddr {
    let port = u16::from_be_bytes([b[17], b[18]]);
    if b[0] == 4 {
        SocketAddr::from(([b[1], b[2], b[3], b[4]], port))
    } else {
        let mut ip = [0u8; 16];
        ip.copy_from_slice(&b[1..17]);
        SocketAddr::from((ip, port))
    }
}
