//! A ZeroTier node that joined a private network and holds a config, fed authenticated
//! packets from its controller (also its root) and from another member: any verb with any
//! payload (config chunks, ERRORs, FRAME / EXT_FRAME / MULTICAST_FRAME, NETWORK_CREDENTIALS,
//! MULTICAST_LIKE / GATHER). Never panics; state stays bounded.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand_core::{CryptoRng, RngCore};
use zerotier::crypto::armor;
use zerotier::vl2::{Controller, NetworkSettings};
use zerotier::wire::Verb;
use zerotier::{
    CipherSuite, Identity, LocalSocket, NetworkId, Node, NodeConfig, PeerKey, Root, SigningKeyPair,
    World, WorldType,
};

/// A deterministic counter RNG (fuzzing only).
struct Counter(u64);
impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 ^ (self.0 >> 29)
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for c in d.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(d);
        Ok(())
    }
}
impl CryptoRng for Counter {}

struct Setup {
    root: Identity,
    me: Identity,
    other: Identity,
    planet: World,
    nwid: NetworkId,
    chunks: Vec<Vec<u8>>,
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let mut r = Counter(7);
        let root = Identity::generate(&mut r);
        let me = Identity::generate(&mut r);
        let other = Identity::generate(&mut r);
        let key = SigningKeyPair::generate(&mut r);
        let planet = World::make(
            WorldType::Planet,
            1,
            1,
            key.public,
            vec![Root {
                identity: root.public_only(),
                endpoints: vec![zerotier::wire::InetAddr::Ip(
                    "10.0.0.1:9993".parse().unwrap(),
                )],
            }],
            &key,
        );
        let mut ctl = Controller::new(root.clone());
        ctl.max_chunk = 200;
        let nwid = ctl.set_network(1, NetworkSettings::default());
        ctl.authorize(nwid, me.address(), true);
        let chunks = match ctl.handle_config_request(1_800_000_000_000, 9, &me.public_only(), nwid)
        {
            zerotier::vl2::ConfigAnswer::Config { chunks, .. } => chunks
                .iter()
                .map(|c| {
                    let mut out = Vec::new();
                    c.emit(&mut out);
                    out
                })
                .collect(),
            _ => Vec::new(),
        };
        Setup {
            root,
            me,
            other,
            planet,
            nwid,
            chunks,
        }
    })
}

fn packet(id: u64, from: &Identity, to: &Identity, verb: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&to.address().to_bytes());
    p.extend_from_slice(&from.address().to_bytes());
    p.push(0);
    p.extend_from_slice(&[0; 8]);
    p.push(verb);
    p.extend_from_slice(payload);
    let key = PeerKey::new(from.agree(to).unwrap());
    armor(&mut p, &key, CipherSuite::Salsa2012Poly1305);
    p
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let s = setup();
    let t0 = Instant::now();
    let from: std::net::SocketAddr = "10.0.0.1:9993".parse().unwrap();
    let mut node = Node::new(
        NodeConfig::new(s.me.clone(), s.planet.clone()),
        t0,
        Box::new(Counter(1)),
    )
    .unwrap();
    node.join(t0, s.nwid).unwrap();
    let mut id = 1u64;
    // The real config first (unless the input's first byte says otherwise).
    if data.first().is_some_and(|b| b & 1 == 0) {
        for c in &s.chunks {
            let p = packet(id, &s.root, &s.me, Verb::NetworkConfig.to_u8(), c);
            id += 1;
            let _ = node.handle_datagram(t0, LocalSocket::Primary, from, &p);
        }
    }
    // Then records: [sender bit + verb][len u16][payload].
    let mut rest = data.get(1..).unwrap_or_default();
    let mut now = t0;
    while rest.len() >= 3 {
        let (v, len) = (rest[0], usize::from(u16::from_be_bytes([rest[1], rest[2]])));
        let body = &rest[3..(3 + len).min(rest.len())];
        rest = &rest[(3 + len).min(rest.len())..];
        let sender = if v & 0x80 != 0 { &s.other } else { &s.root };
        let p = packet(id, sender, &s.me, v & 0x1f, body);
        id += 1;
        let _ = node.handle_datagram(now, LocalSocket::Primary, from, &p);
        now += Duration::from_millis(700);
        node.handle_timeout(now);
        while node.poll_transmit(now).is_some() {}
        while node.poll_event().is_some() {}
    }
    assert!(node.networks().len() == 1);
});
