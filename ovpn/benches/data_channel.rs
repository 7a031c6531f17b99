#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Data-channel throughput, one operation (one tunnel packet) per iteration:
//!
//! * `data_channel/<cipher>/{encrypt,decrypt}/<N>`: `DataKey::encrypt` / `DataKey::decrypt`
//!   of an N-byte tunnel packet as P_DATA_V2 (header, packet id, nonce, AAD, tag, replay
//!   window: everything the data path does per packet).
//! * `aead_backend/<backend>-<cipher>/<N>`: the bare AEAD seal in place with the same key,
//!   nonce and AAD sizes, for the two backends available (ring and RustCrypto), to tell the
//!   cost of the OpenVPN framing from the cost of the primitive.
//!
//! `ovpn/benches/compare_openssl.sh` runs this, the OpenSSL-provider bench, `openssl speed`
//! and a per-packet OpenSSL EVP reference (`evp_packet.c`) back to back and prints the ratios.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ovpn::crypto::Digest;
use ovpn::data::Cipher;

mod common;

fn data_channel(c: &mut Criterion) {
    common::per_packet(
        c,
        "data_channel",
        &[
            (Cipher::Aes256Gcm, Digest::None),
            (Cipher::ChaCha20Poly1305, Digest::None),
            (Cipher::Aes128Cbc, Digest::Sha1),
        ],
        &[1024, 1400, 8192],
        None,
    );
}

fn aead_backend(c: &mut Criterion) {
    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    let key = [7u8; 32];
    let nonce = [1u8; 12];
    let aad = [0x48u8, 0, 0, 7, 0, 0, 0, 1];
    let mut g = c.benchmark_group("aead_backend");
    for size in [1024usize, 8192] {
        g.throughput(Throughput::Bytes(size as u64));
        let mut buf = vec![0u8; size];
        for (name, alg) in [
            ("ring-CHACHA20-POLY1305", &ring::aead::CHACHA20_POLY1305),
            ("ring-AES-256-GCM", &ring::aead::AES_256_GCM),
        ] {
            let k = ring::aead::LessSafeKey::new(ring::aead::UnboundKey::new(alg, &key).unwrap());
            g.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
                b.iter(|| {
                    k.seal_in_place_separate_tag(
                        ring::aead::Nonce::assume_unique_for_key(nonce),
                        ring::aead::Aad::from(&aad),
                        &mut buf,
                    )
                    .unwrap()
                })
            });
        }
        let cc = chacha20poly1305::ChaCha20Poly1305::new_from_slice(&key).unwrap();
        g.bench_with_input(
            BenchmarkId::new("rustcrypto-CHACHA20-POLY1305", size),
            &size,
            |b, _| {
                b.iter(|| {
                    cc.encrypt_in_place_detached((&nonce).into(), &aad, &mut buf)
                        .unwrap()
                })
            },
        );
        let ag = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
        g.bench_with_input(
            BenchmarkId::new("rustcrypto-AES-256-GCM", size),
            &size,
            |b, _| {
                b.iter(|| {
                    ag.encrypt_in_place_detached((&nonce).into(), &aad, &mut buf)
                        .unwrap()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, data_channel, aead_backend);
criterion_main!(benches);
