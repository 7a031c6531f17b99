//! Set-up shared by the benches: two of our devices and two boringtun `Tunn`s with established
//! sessions, test packets, and a factory of fresh handshake initiations.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use boringtun::noise::{Tunn, TunnResult};
use boringtun::x25519::{PublicKey, StaticSecret};
use wireguard::cookie::CookieGenerator;
use wireguard::noise::{create_initiation, tai64n, PeerStatic};
use wireguard::wire::INITIATION_MAC1;
use wireguard::{Device, InterfaceConfig, Key, PeerConfig, PeerId};

/// A's tunnel address.
pub const A: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 1);
/// B's tunnel address.
pub const B: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 2);

/// An IPv4/UDP-numbered packet of `total` bytes from `src` to `dst` (payload 0x5a).
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, total: usize) -> Vec<u8> {
    let mut p = vec![0x5au8; total];
    p[0] = 0x45;
    p[1] = 0;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[9] = 17;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    p
}

/// A fixed private key.
pub fn key(n: u8) -> Key {
    Key([n; 32])
}

/// A seeded RNG for a device.
pub fn rng(seed: u64) -> Box<netsim::TestRng> {
    Box::new(netsim::TestRng::new(seed))
}

/// Wall-clock time since the Unix epoch (benches may read clocks; the crate never does).
pub fn wall() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// One of our devices with key `k` and one peer `peer` allowed `allowed`; with `endpoint` the
/// peer's endpoint is 192.0.2.2:13231.
pub fn device(k: Key, peer: Key, allowed: &str, endpoint: bool) -> Device {
    let now = Instant::now();
    let mut d = Device::new(
        &InterfaceConfig {
            private_key: Some(k),
            ..Default::default()
        },
        rng(u64::from(k.0[0])),
        now,
        wall(),
    )
    .unwrap();
    let mut pc = PeerConfig::new(peer.public_key());
    pc.allowed_address = vec![allowed.parse().unwrap()];
    if endpoint {
        pc.endpoint_address = Some("192.0.2.2".into());
        pc.endpoint_port = Some(13231);
    }
    d.add_peer(now, &pc).unwrap();
    d
}

/// Our A (10.97.21.1) and B (10.97.21.2) after a handshake and A's confirming keepalive.
pub fn our_pair() -> (Device, Device) {
    let now = Instant::now();
    let mut a = device(key(1), key(2), "10.97.21.2/32", true);
    let mut b = device(key(2), key(1), "10.97.21.1/32", false);
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let sb: SocketAddr = "192.0.2.2:13231".parse().unwrap();
    let mut out = vec![0u8; 2048];
    a.initiate(now, PeerId(0)).unwrap();
    let init = a.poll_transmit(now).unwrap().payload;
    b.handle_datagram(now, sa, &init, &mut out).unwrap();
    let resp = b.poll_transmit(now).unwrap().payload;
    a.handle_datagram(now, sb, &resp, &mut out).unwrap();
    let ka = a.poll_transmit(now).unwrap().payload;
    b.handle_datagram(now, sa, &ka, &mut out).unwrap();
    (a, b)
}

/// A boringtun `Tunn` with its handshake rate limiter lifted (boringtun's default allows 10
/// handshakes/s before demanding cookies; ours runs with `LoadPolicy::Never` in the handshake
/// benches), so both measure the cryptographic work.
pub fn bt_tunn(local: Key, remote: Key, index: u32) -> Tunn {
    let limiter = std::sync::Arc::new(boringtun::noise::rate_limiter::RateLimiter::new(
        &PublicKey::from(local.public_key().0),
        u64::MAX,
    ));
    Tunn::new(
        StaticSecret::from(local.0),
        PublicKey::from(remote.public_key().0),
        None,
        None,
        index,
        Some(limiter),
    )
}

/// boringtun's A (index 1) and B (index 2) after a handshake and A's confirming keepalive.
pub fn bt_pair() -> (Tunn, Tunn) {
    let mut a = bt_tunn(key(1), key(2), 1);
    let mut b = bt_tunn(key(2), key(1), 2);
    let mut buf = vec![0u8; 2048];
    let mut buf2 = vec![0u8; 2048];
    let init = match a.format_handshake_initiation(&mut buf, false) {
        TunnResult::WriteToNetwork(d) => d.to_vec(),
        other => panic!("{other:?}"),
    };
    let resp = match b.decapsulate(None, &init, &mut buf2) {
        TunnResult::WriteToNetwork(d) => d.to_vec(),
        other => panic!("{other:?}"),
    };
    let ka = match a.decapsulate(None, &resp, &mut buf) {
        TunnResult::WriteToNetwork(d) => d.to_vec(),
        other => panic!("{other:?}"),
    };
    let _ = b.decapsulate(None, &ka, &mut buf2);
    (a, b)
}

/// Initiations from key(1) to key(2) with strictly increasing timestamps (50 ms apart).
pub struct InitFactory {
    st: PeerStatic,
    cg: CookieGenerator,
    rng: netsim::TestRng,
    n: u64,
    wall: Duration,
}

impl InitFactory {
    /// A factory whose ephemeral keys come from `seed`.
    pub fn new(seed: u64) -> Self {
        let secret = x25519_dalek::StaticSecret::from(key(1).0);
        let remote = key(2).public_key().0;
        InitFactory {
            st: PeerStatic::new(&secret, remote, None),
            cg: CookieGenerator::new(&remote),
            rng: netsim::TestRng::new(seed),
            n: 0,
            wall: wall(),
        }
    }

    /// The next initiation, with mac1 for `now`.
    pub fn next(&mut self, now: Instant) -> Vec<u8> {
        self.n += 1;
        let ts = tai64n(self.wall + Duration::from_millis(50 * self.n));
        let (m, _) = create_initiation(
            &mut self.rng,
            &key(1).public_key().0,
            &self.st,
            self.n as u32,
            ts,
        )
        .unwrap();
        let mut b = m.to_bytes();
        self.cg.add_macs(now, &mut b, INITIATION_MAC1);
        b.to_vec()
    }

    /// `n` initiations.
    pub fn batch(&mut self, now: Instant, n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|_| self.next(now)).collect()
    }
}
