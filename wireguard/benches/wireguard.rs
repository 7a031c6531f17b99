//! Data path and handshake benchmarks, this crate against `boringtun` 0.7 in the same run.
//!
//! `cargo bench -p wireguard --bench wireguard`
//!
//! * `transport/encap+decap 1420/{ours,boringtun}`: one 1420-byte IPv4 packet encrypted by one
//!   side and decrypted by the other, both with an established session.
//! * `timers/poll_timeout 10000 peers`: the deadline heap's answer with 10 000 armed peers.
//! * `handshake/responder/{ours,boringtun}`: consume one prebuilt initiation (fresh timestamp)
//!   and produce the response: two DH + one DH on the response side, as the responder pays.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use boringtun::noise::{Tunn, TunnResult};
use boringtun::x25519::{PublicKey, StaticSecret};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand_chacha::rand_core::SeedableRng;
use wireguard::cookie::CookieGenerator;
use wireguard::noise::{create_initiation, tai64n, PeerStatic};
use wireguard::wire::INITIATION_MAC1;
use wireguard::{Device, InterfaceConfig, Key, Output, PeerConfig, PeerId};

const A: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 2);

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, total: usize) -> Vec<u8> {
    let mut p = vec![0x5au8; total];
    p[0] = 0x45;
    p[1] = 0;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[9] = 17;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    p
}

fn key(n: u8) -> Key {
    Key([n; 32])
}

fn rng(seed: u64) -> Box<rand_chacha::ChaCha20Rng> {
    Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(seed))
}

fn wall() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

fn device(k: Key, peer: Key, allowed: &str, endpoint: bool) -> Device {
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

fn our_pair() -> (Device, Device) {
    let now = Instant::now();
    let mut a = device(key(1), key(2), "10.97.21.2/32", true);
    let mut b = device(key(2), key(1), "10.97.21.1/32", false);
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let sb: SocketAddr = "192.0.2.2:13231".parse().unwrap();
    let mut out = vec![0u8; 2048];
    a.initiate(now, PeerId(0)).unwrap();
    let init = a.poll_transmit().unwrap().payload;
    b.handle_datagram(now, sa, &init, &mut out).unwrap();
    let resp = b.poll_transmit().unwrap().payload;
    a.handle_datagram(now, sb, &resp, &mut out).unwrap();
    let ka = a.poll_transmit().unwrap().payload;
    b.handle_datagram(now, sa, &ka, &mut out).unwrap();
    (a, b)
}

fn bt_pair() -> (Tunn, Tunn) {
    let (ka, kb) = (key(1), key(2));
    let mut a = Tunn::new(
        StaticSecret::from(ka.0),
        PublicKey::from(kb.public_key().0),
        None,
        None,
        1,
        None,
    );
    let mut b = Tunn::new(
        StaticSecret::from(kb.0),
        PublicKey::from(ka.public_key().0),
        None,
        None,
        2,
        None,
    );
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
    let ka_ = match a.decapsulate(None, &resp, &mut buf) {
        TunnResult::WriteToNetwork(d) => d.to_vec(),
        other => panic!("{other:?}"),
    };
    let _ = b.decapsulate(None, &ka_, &mut buf2);
    (a, b)
}

fn transport(c: &mut Criterion) {
    let pkt = ipv4(A, B, 1420);
    let mut g = c.benchmark_group("transport");
    g.throughput(Throughput::Bytes(pkt.len() as u64));
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    {
        let (mut a, mut b) = our_pair();
        let mut wire = vec![0u8; 2048];
        let mut out = vec![0u8; 2048];
        let now = Instant::now();
        g.bench_function("encap+decap 1420/ours", |bench| {
            bench.iter(|| {
                let Output::Transmit { len, .. } = a.encapsulate(now, &pkt, &mut wire).unwrap()
                else {
                    panic!()
                };
                let r = b.handle_datagram(now, sa, &wire[..len], &mut out).unwrap();
                assert!(matches!(r, Output::Deliver { len: 1420, .. }));
            })
        });
    }
    {
        let (mut a, mut b) = bt_pair();
        let mut wire = vec![0u8; 2048];
        let mut out = vec![0u8; 2048];
        g.bench_function("encap+decap 1420/boringtun", |bench| {
            bench.iter(|| {
                let n = match a.encapsulate(&pkt, &mut wire) {
                    TunnResult::WriteToNetwork(d) => d.len(),
                    other => panic!("{other:?}"),
                };
                match b.decapsulate(None, &wire[..n], &mut out) {
                    TunnResult::WriteToTunnelV4(d, _) => assert_eq!(d.len(), 1420),
                    other => panic!("{other:?}"),
                }
            })
        });
    }
    g.finish();
}

/// Initiations from key(1) to key(2), with strictly increasing timestamps.
struct InitFactory {
    secret: StaticSecret,
    st: PeerStatic,
    cg: CookieGenerator,
    rng: rand_chacha::ChaCha20Rng,
    n: u64,
    wall: Duration,
}

impl InitFactory {
    fn new() -> Self {
        let secret = StaticSecret::from(key(1).0);
        let remote = key(2).public_key().0;
        InitFactory {
            st: PeerStatic::new(&secret, remote, None),
            secret,
            cg: CookieGenerator::new(&remote),
            rng: rand_chacha::ChaCha20Rng::seed_from_u64(5),
            n: 0,
            wall: wall(),
        }
    }
    fn next(&mut self, now: Instant) -> Vec<u8> {
        let _ = &self.secret;
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
}

fn handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake");
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    {
        let mut b = device(key(2), key(1), "10.97.21.1/32", false);
        b.set_load_policy(wireguard::LoadPolicy::Never);
        let mut f = InitFactory::new();
        let start = Instant::now();
        let mut k = 0u32;
        let mut out = vec![0u8; 256];
        g.bench_function("responder/ours", |bench| {
            bench.iter_batched(
                || {
                    k += 1;
                    // Virtual time: 50 ms apart, beyond the 20 ms initiation flood limit.
                    let now = start + Duration::from_millis(50 * u64::from(k));
                    (now, f.next(now))
                },
                |(now, init)| {
                    let r = b.handle_datagram(now, sa, &init, &mut out).unwrap();
                    assert_eq!(r, Output::Done);
                    b.poll_transmit().unwrap()
                },
                BatchSize::SmallInput,
            )
        });
    }
    {
        let kb = key(2);
        // boringtun's default limiter allows 10 handshakes/s before demanding cookies; lift it
        // (ours runs with LoadPolicy::Never) so both measure the cryptographic work.
        let limiter = std::sync::Arc::new(boringtun::noise::rate_limiter::RateLimiter::new(
            &PublicKey::from(kb.public_key().0),
            u64::MAX,
        ));
        let mut b = Tunn::new(
            StaticSecret::from(kb.0),
            PublicKey::from(key(1).public_key().0),
            None,
            None,
            2,
            Some(limiter),
        );
        let mut f = InitFactory::new();
        let now = Instant::now();
        let mut out = vec![0u8; 256];
        g.bench_function("responder/boringtun", |bench| {
            bench.iter_batched(
                || f.next(now),
                |init| match b.decapsulate(None, &init, &mut out) {
                    TunnResult::WriteToNetwork(d) => d.len(),
                    other => panic!("{other:?}"),
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// The AEAD backend choice: ring vs RustCrypto ChaCha20-Poly1305 sealing 1424 bytes in place.
fn aead_backends(c: &mut Criterion) {
    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    let mut g = c.benchmark_group("aead seal 1424");
    g.throughput(Throughput::Bytes(1424));
    let k = [7u8; 32];
    let mut buf = vec![0u8; 1424];
    let ring_key = wireguard::crypto::TransportKey::new(&k);
    let mut n = 0u64;
    g.bench_function("ring", |b| {
        b.iter(|| {
            n += 1;
            ring_key.seal(n, &mut buf)
        })
    });
    let rc = chacha20poly1305::ChaCha20Poly1305::new((&k).into());
    g.bench_function("rustcrypto", |b| {
        b.iter(|| {
            n += 1;
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&n.to_le_bytes());
            rc.encrypt_in_place_detached((&nonce).into(), &[], &mut buf)
                .unwrap()
        })
    });
    g.finish();
}

/// `poll_timeout` on a device with 10 000 peers whose timers are all armed (each sent an
/// initiation: retransmit and persistent-keepalive deadlines pending): a heap peek, where a
/// scan over all peers' five timers would cost tens of microseconds.
fn timers(c: &mut Criterion) {
    let build = || {
        let now = Instant::now();
        let mut d = Device::new(
            &InterfaceConfig {
                private_key: Some(key(3)),
                ..Default::default()
            },
            rng(3),
            now,
            wall(),
        )
        .unwrap();
        d.set_max_precomputed_peers(0);
        for i in 0..10_000u32 {
            let mut k = [7u8; 32];
            k[4..8].copy_from_slice(&i.to_le_bytes());
            let mut pc = PeerConfig::new(Key(k));
            pc.endpoint_address = Some("192.0.2.9".into());
            pc.endpoint_port = Some(13231);
            pc.persistent_keepalive = 25;
            d.add_peer(now, &pc).unwrap();
        }
        d.handle_timeout(now);
        while d.poll_transmit().is_some() {}
        assert!(d.poll_timeout().unwrap() > now);
        d
    };
    // Built on first use only, so filtering other benchmarks skips the setup.
    let mut dev: Option<Device> = None;
    let mut g = c.benchmark_group("timers");
    g.bench_function("poll_timeout 10000 peers", |b| {
        let d = dev.get_or_insert_with(build);
        b.iter(|| std::hint::black_box(d.poll_timeout()))
    });
    g.finish();
}

criterion_group!(benches, transport, handshake, aead_backends, timers);
criterion_main!(benches);
