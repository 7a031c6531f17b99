#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The ovpn data channel with the OpenSSL AEAD provider, one operation per iteration, named
//! like `ovpn/benches/data_channel.rs` so `ovpn/benches/compare_openssl.sh` reports both:
//!
//! * `openssl_provider/<cipher>/{encrypt,decrypt}/<N>`: `DataKey::encrypt` / `decrypt` of an
//!   N-byte tunnel packet as P_DATA_V2 with AEAD keys from [`ovpn_openssl::OpensslAead`].
//!
//! `cargo bench -p ovpn-openssl --bench openssl_provider`

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ovpn::crypto::{Digest, StaticKey};
use ovpn::data::{Cipher, DataKey};
use ovpn_openssl::OpensslAead;

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
        d.iter_mut().for_each(|b| *b = self.next_u64() as u8);
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), ovpn::rand_core::Error> {
        self.fill_bytes(d);
        Ok(())
    }
}
impl ovpn::rand_core::CryptoRng for Ctr {}

const HDR: [u8; 4] = [0x48, 0, 0, 7];

fn openssl_provider(c: &mut Criterion) {
    let material = StaticKey::from_bytes(&(0..=255u8).collect::<Vec<_>>()).unwrap();
    let mut g = c.benchmark_group("openssl_provider");
    for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
        for size in [1024usize, 1400, 8192] {
            let payload = vec![0x45u8; size];
            g.throughput(Throughput::Bytes(size as u64));
            let key = |server| {
                DataKey::with_provider(
                    cipher,
                    Digest::None,
                    &material,
                    server,
                    64,
                    Some(&OpensslAead),
                )
                .unwrap()
            };
            let mut tx = key(false);
            let mut rng = Ctr(1);
            let mut pkt = vec![0u8; tx.sealed_len(4, size)];
            g.bench_with_input(
                BenchmarkId::new(format!("{}/encrypt", cipher.openvpn_name()), size),
                &size,
                |b, _| b.iter(|| tx.encrypt(&HDR, &payload, &mut rng, &mut pkt).unwrap()),
            );
            let mut rx = key(true);
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

criterion_group!(benches, openssl_provider);
criterion_main!(benches);
