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

/// The workspace's seeded test generator (never for real keys).
pub fn rng(seed: u64) -> Box<netsim::TestRng> {
    Box::new(netsim::TestRng::new(seed))
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

/// A [`Device`] as a `netsim::Endpoint` (netsim's shared adapter, also used by the tour).
pub type Node = netsim::wireguard::WgNode;

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
        Node::new(a, self::b()),
        Node::new(b, self::a()),
        netsim::LinkConfig::perfect(),
        netsim::LinkConfig::perfect(),
        seed,
        start,
    )
}
