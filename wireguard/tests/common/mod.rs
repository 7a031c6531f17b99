//! Shared helpers of the integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    dead_code
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use rand_chacha::rand_core::SeedableRng;
use wireguard::{Device, InterfaceConfig, Key, PeerConfig};

/// A minimal IPv4 packet (20-byte header + payload), protocol 253 (experimental).
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 253;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    let ck = netsim::pcap::inet_checksum(&p[..20]);
    p[10..12].copy_from_slice(&ck.to_be_bytes());
    p[20..].copy_from_slice(payload);
    p
}

pub fn rng(seed: u64) -> Box<rand_chacha::ChaCha20Rng> {
    Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(seed))
}

pub fn key(seed: u8) -> Key {
    let mut k = [seed; 32];
    k[0] = seed.wrapping_mul(7).wrapping_add(1);
    Key(k)
}

pub const ADDR_A: &str = "10.0.0.1:51820";
pub const ADDR_B: &str = "10.0.0.2:13231";
pub const WALL: Duration = Duration::from_secs(1_780_000_000);

/// A's UDP address ([`ADDR_A`]).
pub fn a() -> SocketAddr {
    ADDR_A.parse().unwrap()
}

/// B's UDP address ([`ADDR_B`]).
pub fn b() -> SocketAddr {
    ADDR_B.parse().unwrap()
}

/// Run a handshake A -> B by direct calls; returns (initiation, response) bytes. A's confirming
/// keepalive is left in A's transmit queue.
pub fn handshake(da: &mut Device, db: &mut Device, now: Instant) -> (Vec<u8>, Vec<u8>) {
    da.initiate(now, wireguard::PeerId(0)).unwrap();
    let init = da.poll_transmit(now).unwrap().payload;
    let mut out = [0u8; 2048];
    assert_eq!(
        db.handle_datagram(now, a(), &init, &mut out).unwrap(),
        wireguard::Output::Done
    );
    let resp = db.poll_transmit(now).unwrap().payload;
    assert_eq!(
        da.handle_datagram(now, b(), &resp, &mut out).unwrap(),
        wireguard::Output::Done
    );
    (init, resp)
}

/// Two devices A (10.97.21.1) and B (10.97.21.2) that know each other; A has B's endpoint,
/// B learns A's by roaming.
pub fn two_devices(
    now: Instant,
    seed: u64,
    tweak_a: impl FnOnce(&mut PeerConfig),
    tweak_b: impl FnOnce(&mut PeerConfig),
) -> (Device, Device) {
    let (ka, kb) = (key(1 + seed as u8), key(101 + seed as u8));
    let mut a = Device::new(
        &InterfaceConfig {
            private_key: Some(ka),
            ..Default::default()
        },
        rng(seed),
        now,
        WALL,
    )
    .unwrap();
    let mut b = Device::new(
        &InterfaceConfig {
            private_key: Some(kb),
            ..Default::default()
        },
        rng(seed + 1000),
        now,
        WALL,
    )
    .unwrap();
    let mut pa = PeerConfig::new(kb.public_key());
    let ep: SocketAddr = ADDR_B.parse().unwrap();
    pa.endpoint_address = Some(ep.ip().to_string());
    pa.endpoint_port = Some(ep.port());
    pa.allowed_address = vec!["10.97.21.2/32".parse().unwrap()];
    tweak_a(&mut pa);
    a.add_peer(now, &pa).unwrap();
    let mut pb = PeerConfig::new(ka.public_key());
    pb.allowed_address = vec!["10.97.21.1/32".parse().unwrap()];
    tweak_b(&mut pb);
    b.add_peer(now, &pb).unwrap();
    (a, b)
}

/// A [`Device`] wrapped as a `netsim::Endpoint` with one fixed remote address, a schedule of
/// application packets to send, and logs of what happened (with virtual times).
pub struct Node {
    pub dev: Device,
    pub remote: SocketAddr,
    pub out: std::collections::VecDeque<Vec<u8>>,
    pub schedule: Vec<(Instant, Vec<u8>)>,
    pub delivered: Vec<(Instant, Vec<u8>)>,
    pub events: Vec<(Instant, wireguard::Event)>,
    pub drops: Vec<(Instant, wireguard::DropReason)>,
    pub sent: Vec<(Instant, Vec<u8>)>,
    pub received: Vec<(Instant, Vec<u8>)>,
}

impl Node {
    pub fn new(dev: Device, remote: &str) -> Self {
        Node {
            dev,
            remote: remote.parse().unwrap(),
            out: Default::default(),
            schedule: Vec::new(),
            delivered: Vec::new(),
            events: Vec::new(),
            drops: Vec::new(),
            sent: Vec::new(),
            received: Vec::new(),
        }
    }
    /// Send an IP packet at `at`.
    pub fn send_at(&mut self, at: Instant, pkt: Vec<u8>) {
        self.schedule.push((at, pkt));
        self.schedule.sort_by_key(|(t, _)| *t);
    }
    fn collect(&mut self, now: Instant) {
        while let Some(t) = self.dev.poll_transmit(now) {
            self.out.push_back(t.payload);
        }
        while let Some(e) = self.dev.poll_event() {
            self.events.push((now, e));
        }
    }
    pub fn send_now(&mut self, now: Instant, pkt: &[u8]) -> wireguard::Output {
        let mut buf = vec![0u8; 2048];
        let o = self.dev.encapsulate(now, pkt, &mut buf).unwrap();
        match o {
            wireguard::Output::Transmit { len, .. } => self.out.push_back(buf[..len].to_vec()),
            wireguard::Output::Dropped(r) => self.drops.push((now, r)),
            _ => {}
        }
        self.collect(now);
        o
    }
    /// Times at which datagrams of message type `ty` were sent (with payload length filter).
    pub fn sent_times(&self, ty: u8, len: Option<usize>) -> Vec<Instant> {
        self.sent
            .iter()
            .filter(|(_, d)| d[0] == ty && len.is_none_or(|l| d.len() == l))
            .map(|(t, _)| *t)
            .collect()
    }
}

impl netsim::Endpoint for Node {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.received.push((now, data.to_vec()));
        let mut buf = vec![0u8; 2048];
        match self
            .dev
            .handle_datagram(now, self.remote, data, &mut buf)
            .unwrap()
        {
            wireguard::Output::Deliver { len, .. } => {
                self.delivered.push((now, buf[..len].to_vec()))
            }
            wireguard::Output::Dropped(r) => self.drops.push((now, r)),
            _ => {}
        }
        self.collect(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.collect(now);
        let d = self.out.pop_front()?;
        self.sent.push((now, d.clone()));
        Some(d)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.dev.poll_timeout(),
            self.schedule.first().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }
    fn handle_timeout(&mut self, now: Instant) {
        while self.schedule.first().is_some_and(|(t, _)| *t <= now) {
            let (_, pkt) = self.schedule.remove(0);
            self.send_now(now, &pkt);
        }
        if self.dev.poll_timeout().is_some_and(|t| t <= now) {
            self.dev.handle_timeout(now);
        }
        self.collect(now);
    }
}

pub const TUN_A: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 1);
pub const TUN_B: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 2);

/// A pair of nodes over perfect 10 ms links, starting at `start`.
pub fn pair(
    start: Instant,
    seed: u64,
    tweak_a: impl FnOnce(&mut PeerConfig),
    tweak_b: impl FnOnce(&mut PeerConfig),
) -> netsim::Pair<Node, Node> {
    let (a, b) = two_devices(start, seed, tweak_a, tweak_b);
    netsim::Pair::with_start(
        Node::new(a, ADDR_B),
        Node::new(b, ADDR_A),
        netsim::LinkConfig::perfect(),
        netsim::LinkConfig::perfect(),
        seed,
        start,
    )
}
