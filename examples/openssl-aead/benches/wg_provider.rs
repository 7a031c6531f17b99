#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! WireGuard transport data with OpenSSL doing ChaCha20-Poly1305 (issue 22), side by side in one
//! run, all on one 1420-byte IPv4 packet:
//!
//! * `wg transport 1420/ours-ring`: `Device::encapsulate` on one side and `handle_datagram` on
//!   the other, ring's code built in (the default);
//! * `wg transport 1420/ours-openssl-provider`: the same with [`openssl_aead::OpensslAead`]
//!   set through `Device::set_aead_provider`;
//! * `wg transport 1420/boringtun`: boringtun 0.7's `Tunn::encapsulate` + `decapsulate`;
//! * `wg transport 1420/openssl-seal+open`: OpenSSL alone, one EVP seal and one open of the
//!   1436-byte padded payload per iteration with a fresh nonce (what the provider costs at the
//!   least: no WireGuard framing, counters or replay window).
//!
//! The ratios to quote: ours-openssl-provider against openssl-seal+open (how much of the
//! OpenSSL speed survives the framing) and against boringtun.
//!
//! `cargo bench -p openssl-aead --features openssl --bench wg_provider`

#[path = "../../../wireguard/benches/common/mod.rs"]
mod common;
use common::*;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use boringtun::noise::TunnResult;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use wireguard::{Device, Output};

/// Two devices with `provider` set before their handshake, session established.
fn pair_with(provider: Option<Arc<dyn wireguard::aead::AeadProvider>>) -> (Device, Device) {
    let now = Instant::now();
    let mut a = device(key(1), key(2), "10.97.21.2/32", true);
    let mut b = device(key(2), key(1), "10.97.21.1/32", false);
    a.set_aead_provider(provider.clone());
    b.set_aead_provider(provider);
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

fn transport(c: &mut Criterion) {
    let pkt = ipv4(A, B, 1420);
    let mut g = c.benchmark_group("wg transport 1420");
    g.throughput(Throughput::Bytes(pkt.len() as u64));
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let openssl = openssl_aead::OpensslAead::default();
    for (name, provider) in [
        ("ours-ring", None),
        (
            "ours-openssl-provider",
            Some(Arc::new(openssl.clone()) as Arc<dyn wireguard::aead::AeadProvider>),
        ),
    ] {
        let (mut a, mut b) = pair_with(provider);
        let mut wire = vec![0u8; 2048];
        let mut out = vec![0u8; 2048];
        let now = Instant::now();
        g.bench_function(name, |bench| {
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
    // The provider really ran: two calls per iteration.
    assert!(openssl.calls() > 0, "the OpenSSL provider was not used");
    {
        let (mut a, mut b) = bt_pair();
        let mut wire = vec![0u8; 2048];
        let mut out = vec![0u8; 2048];
        g.bench_function("boringtun", |bench| {
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
    {
        // WireGuard pads 1420 to a multiple of 16: 1424 bytes sealed.
        let key = [7u8; 32];
        let mut seal = CipherCtx::new().unwrap();
        seal.encrypt_init(Some(Cipher::chacha20_poly1305()), Some(&key), None)
            .unwrap();
        let mut open = CipherCtx::new().unwrap();
        open.decrypt_init(Some(Cipher::chacha20_poly1305()), Some(&key), None)
            .unwrap();
        let mut buf = vec![0x5au8; 1424];
        let mut tag = [0u8; 16];
        let mut counter = 0u64;
        g.bench_function("openssl-seal+open", |bench| {
            bench.iter(|| {
                counter += 1;
                let mut nonce = [0u8; 12];
                nonce[4..].copy_from_slice(&counter.to_le_bytes());
                seal.encrypt_init(None, None, Some(&nonce)).unwrap();
                let n = buf.len();
                seal.cipher_update_inplace(&mut buf, n).unwrap();
                seal.cipher_final(&mut []).unwrap();
                seal.tag(&mut tag).unwrap();
                open.decrypt_init(None, None, Some(&nonce)).unwrap();
                open.cipher_update_inplace(&mut buf, n).unwrap();
                open.set_tag(&tag).unwrap();
                open.cipher_final(&mut []).unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, transport);
criterion_main!(benches);
