//! Data path and handshake benchmarks, this crate against `boringtun` 0.7 in the same run.
//!
//! `cargo bench -p rosproto-wireguard --bench wireguard`
//!
//! * `transport/encap+decap 1420/{ours,boringtun}`: one 1420-byte IPv4 packet encrypted by one
//!   side and decrypted by the other, both with an established session.
//! * `transport/encap+decap 1420/ours-ring-provider`: the same as `ours` with ring plugged in
//!   through [`wireguard::aead::AeadProvider`] (the cost of the trait object).
//! * `timers/poll_timeout 10000 peers`: the deadline heap's answer with 10 000 armed peers.
//! * `handshake/responder/{ours,boringtun}`: consume one prebuilt initiation (fresh timestamp)
//!   and produce the response: two DH + one DH on the response side, as the responder pays.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::*;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use boringtun::noise::TunnResult;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use wireguard::{Device, InterfaceConfig, Key, Output, PeerConfig};

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
        // The same through the pluggable-provider path (`aead::RingProvider`: ring behind the
        // trait object), to show what the dynamic dispatch costs against the built-in default.
        let (mut a, mut b) = provider_pair();
        let mut wire = vec![0u8; 2048];
        let mut out = vec![0u8; 2048];
        let now = Instant::now();
        g.bench_function("encap+decap 1420/ours-ring-provider", |bench| {
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

/// As `our_pair`, both devices with [`wireguard::aead::RingProvider`] set before the handshake.
fn provider_pair() -> (Device, Device) {
    let now = Instant::now();
    let p: std::sync::Arc<dyn wireguard::aead::AeadProvider> =
        std::sync::Arc::new(wireguard::aead::RingProvider);
    let mut a = device(key(1), key(2), "10.97.21.2/32", true);
    let mut b = device(key(2), key(1), "10.97.21.1/32", false);
    a.set_aead_provider(Some(p.clone()));
    b.set_aead_provider(Some(p));
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let sb: SocketAddr = "192.0.2.2:13231".parse().unwrap();
    let mut out = vec![0u8; 2048];
    a.initiate(now, wireguard::PeerId(0)).unwrap();
    let init = a.poll_transmit(now).unwrap().payload;
    b.handle_datagram(now, sa, &init, &mut out).unwrap();
    let resp = b.poll_transmit(now).unwrap().payload;
    a.handle_datagram(now, sb, &resp, &mut out).unwrap();
    let ka = a.poll_transmit(now).unwrap().payload;
    b.handle_datagram(now, sa, &ka, &mut out).unwrap();
    (a, b)
}

fn handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake");
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    {
        let mut b = device(key(2), key(1), "10.97.21.1/32", false);
        b.set_load_policy(wireguard::LoadPolicy::Never);
        let mut f = InitFactory::new(5);
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
                    b.poll_transmit(now).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
    }
    {
        let mut b = bt_tunn(key(2), key(1), 2);
        let mut f = InitFactory::new(5);
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
        while d.poll_transmit(now).is_some() {}
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
