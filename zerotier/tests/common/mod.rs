//! Test support: a netsim mesh adapter for [`Node`], deterministic identities and a planet.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netsim::mesh::{Mesh, MeshEndpoint};
use netsim::LinkConfig;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zerotier::wire::InetAddr;
use zerotier::{
    Event, Identity, Input, LocalSocket, Node, NodeConfig, Root, SigningKeyPair, World, WorldType,
};

pub const ROOT_ADDR: &str = "10.97.1.1:9993";
pub const A_ADDR: &str = "10.97.1.2:9993";
pub const B_ADDR: &str = "10.97.2.2:9993";

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Three deterministic identities (root, a, b); generated once per process.
pub fn identities() -> &'static [Identity; 3] {
    static IDS: std::sync::OnceLock<[Identity; 3]> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        let mut r = rng(0x2e7);
        [
            Identity::generate(&mut r),
            Identity::generate(&mut r),
            Identity::generate(&mut r),
        ]
    })
}

pub fn planet(root: &Identity, endpoints: &[&str], ts: u64, key: &SigningKeyPair) -> World {
    World::make(
        WorldType::Planet,
        0xa6197,
        ts,
        key.public,
        vec![Root {
            identity: root.public_only(),
            endpoints: endpoints
                .iter()
                .map(|e| InetAddr::Ip(e.parse().unwrap()))
                .collect(),
        }],
        key,
    )
}

pub fn signing_key() -> SigningKeyPair {
    SigningKeyPair::generate(&mut rng(0x5157))
}

/// A node in the mesh: its address, the node, and what it logged.
pub struct End {
    pub addr: SocketAddr,
    pub node: Node,
    pub events: Vec<(Duration, Event)>,
    pub inputs: Vec<(Duration, Input)>,
    pub start: Instant,
}

impl End {
    pub fn new(id: &Identity, planet: &World, addr: &str, start: Instant, seed: u64) -> End {
        Self::with_config(
            NodeConfig::new(id.clone(), planet.clone()),
            addr,
            start,
            seed,
        )
    }
    pub fn with_config(cfg: NodeConfig, addr: &str, start: Instant, seed: u64) -> End {
        let node = Node::new(cfg, start, Box::new(rng(seed))).unwrap();
        End {
            addr: addr.parse().unwrap(),
            node,
            events: Vec::new(),
            inputs: Vec::new(),
            start,
        }
    }
    fn collect(&mut self, now: Instant) {
        while let Some(e) = self.node.poll_event() {
            self.events.push((now - self.start, e));
        }
    }
    pub fn has(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(|(_, e)| f(e))
    }
    pub fn when(&self, f: impl Fn(&Event) -> bool) -> Option<Duration> {
        self.events.iter().find(|(_, e)| f(e)).map(|(t, _)| *t)
    }
}

impl MeshEndpoint for End {
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, _to: SocketAddr, data: &[u8]) {
        let r = self
            .node
            .handle_datagram(now, LocalSocket::Primary, from, data);
        self.inputs.push((now - self.start, r));
        self.collect(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
        self.collect(now);
        self.node
            .poll_transmit(now)
            .map(|t| (self.addr, t.dest, t.payload))
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.node.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.node.handle_timeout(now);
        self.collect(now);
    }
}

/// Root (index 0), a (1), b (2) over links with `link`.
pub fn three(link: LinkConfig, seed: u64) -> Mesh<End> {
    let ids = identities();
    let key = signing_key();
    let pl = planet(&ids[0], &[ROOT_ADDR], 1_700_000_000_000, &key);
    let start = Instant::now();
    let r = End::new(&ids[0], &pl, ROOT_ADDR, start, seed ^ 1);
    let a = End::new(&ids[1], &pl, A_ADDR, start, seed ^ 2);
    let b = End::new(&ids[2], &pl, B_ADDR, start, seed ^ 3);
    Mesh::new(
        vec![(vec![r.addr], r), (vec![a.addr], a), (vec![b.addr], b)],
        link,
        seed,
        start,
    )
}

/// An unarmored packet: ID, destination, source, flags 0, zero MAC, verb, payload.
pub fn packet(
    id: u64,
    dest: zerotier::Address,
    src: zerotier::Address,
    verb: zerotier::wire::Verb,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&dest.to_bytes());
    p.extend_from_slice(&src.to_bytes());
    p.push(0);
    p.extend_from_slice(&[0; 8]);
    p.push(verb.to_u8());
    p.extend_from_slice(payload);
    p
}
