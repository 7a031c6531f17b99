#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Data-channel encrypt + decrypt of a 1400-byte tunnel packet (P_DATA_V2), per cipher.
//! Compare with `openssl speed -evp aes-256-gcm` / `-evp chacha20-poly1305` (1024/8192 B).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
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

fn bench(c: &mut Criterion) {
    let material = StaticKey::from_bytes(&(0..=255u8).collect::<Vec<_>>()).unwrap();
    let payload = vec![0x45u8; 1400];
    let mut g = c.benchmark_group("data_channel_1400B");
    g.throughput(Throughput::Bytes(1400));
    for (cipher, auth) in [
        (Cipher::Aes256Gcm, Digest::None),
        (Cipher::ChaCha20Poly1305, Digest::None),
        (Cipher::Aes128Cbc, Digest::Sha1),
    ] {
        let mut tx = DataKey::new(cipher, auth, &material, false, 64).unwrap();
        let mut rx = DataKey::new(cipher, auth, &material, true, 64).unwrap();
        let mut rng = Ctr(1);
        let mut pkt = vec![0u8; tx.sealed_len(4, payload.len())];
        let mut out = vec![0u8; pkt.len()];
        g.bench_function(format!("{}_encrypt_decrypt", cipher.openvpn_name()), |b| {
            b.iter(|| {
                let n = tx
                    .encrypt(&[0x48, 0, 0, 7], &payload, &mut rng, &mut pkt)
                    .unwrap();
                let m = rx.decrypt(&pkt[..n], 4, &mut out).unwrap();
                assert_eq!(m, 1400);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
