#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Data-channel throughput, one operation per iteration (so the figures compare directly with
//! `openssl speed -evp <cipher> -bytes N`, which also times one seal per block):
//!
//! * `data_channel/<cipher>/{encrypt,decrypt}/<N>`: `DataKey::encrypt` / `DataKey::decrypt`
//!   of an N-byte tunnel packet as P_DATA_V2 (header, packet id, nonce, AAD, tag, replay
//!   window: everything the data path does per packet).
//! * `aead_backend/<backend>-<cipher>/<N>`: the bare AEAD seal in place with the same key,
//!   nonce and AAD sizes, for the two backends available (ring and RustCrypto), to tell the
//!   cost of the OpenVPN framing from the cost of the primitive.
//!
//! `ovpn/benches/compare_openssl.sh` runs this and `openssl speed` back to back and prints
//! the ratios.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ovpn::crypto::{Digest, StaticKey};
use ovpn::data::{Cipher, DataKey};

struct Ctr(u64);
impl ovpn::rand_core::RngCore for Ctr {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for b in d {
            *b = self.next_u64() as u8;
        }
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), ovpn::rand_core::Error> {
        self.fill_bytes(d);
        Ok(())
    }
}
impl ovpn::rand_core::CryptoRng for Ctr {}

const SIZES: [usize; 3] = [1024, 1400, 8192];
const HDR: [u8; 4] = [0x48, 0, 0, 7];

fn data_channel(c: &mut Criterion) {
    let material = StaticKey::from_bytes(&(0..=255u8).collect::<Vec<_>>()).unwrap();
    let mut g = c.benchmark_group("data_channel");
    for (cipher, auth) in [
        (Cipher::Aes256Gcm, Digest::None),
        (Cipher::ChaCha20Poly1305, Digest::None),
        (Cipher::Aes128Cbc, Digest::Sha1),
    ] {
        for size in SIZES {
            let payload = vec![0x45u8; size];
            g.throughput(Throughput::Bytes(size as u64));
            let mut tx = DataKey::new(cipher, auth, &material, false, 64).unwrap();
            let mut rng = Ctr(1);
            let mut pkt = vec![0u8; tx.sealed_len(4, size)];
            g.bench_with_input(
                BenchmarkId::new(format!("{}/encrypt", cipher.openvpn_name()), size),
                &size,
                |b, _| b.iter(|| tx.encrypt(&HDR, &payload, &mut rng, &mut pkt).unwrap()),
            );
            // Decrypt needs a fresh packet id each time (replay window): packets are sealed
            // in the untimed setup.
            let mut rx = DataKey::new(cipher, auth, &material, true, 64).unwrap();
            let mut out = vec![0u8; pkt.len()];
            g.bench_with_input(
                BenchmarkId::new(format!("{}/decrypt", cipher.openvpn_name()), size),
                &size,
                |b, _| {
                    b.iter_batched_ref(
                        || {
                            let mut p = vec![0u8; tx.sealed_len(4, size)];
                            let n = tx.encrypt(&HDR, &payload, &mut rng, &mut p).unwrap();
                            p.truncate(n);
                            p
                        },
                        |p| assert_eq!(rx.decrypt(p, 4, &mut out).unwrap(), size),
                        BatchSize::SmallInput,
                    )
                },
            );
        }
    }
    g.finish();
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
