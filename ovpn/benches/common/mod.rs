//! Shared by `ovpn/benches/data_channel.rs` and `examples/openssl-aead/benches` (included there
//! by path): the deterministic IV source (netsim::TestRng) and the per-packet encrypt/decrypt benchmark.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use ovpn::crypto::{Digest, StaticKey};
use ovpn::data::{AeadProvider, Cipher, DataKey};

/// Deterministic stand-in for the CBC IV randomness (not timed as part of any AEAD): the
/// workspace's seeded test generator.
pub use netsim::TestRng;

/// P_DATA_V2 header (opcode 9, key id 0, peer id 7).
pub const HDR: [u8; 4] = [0x48, 0, 0, 7];

/// `<group>/<cipher>/{encrypt,decrypt}/<N>`: `DataKey::encrypt` / `DataKey::decrypt` of an
/// N-byte tunnel packet as P_DATA_V2 (header, packet id, nonce, AAD, tag or HMAC, replay
/// window: everything the data path does per packet), AEAD keys from `provider` if given.
pub fn per_packet(
    c: &mut Criterion,
    group: &str,
    ciphers: &[(Cipher, Digest)],
    sizes: &[usize],
    provider: Option<&dyn AeadProvider>,
) {
    let material = StaticKey::from_bytes(&(0..=255u8).collect::<Vec<_>>()).unwrap();
    let mut g = c.benchmark_group(group);
    for &(cipher, auth) in ciphers {
        for &size in sizes {
            let payload = vec![0x45u8; size];
            g.throughput(Throughput::Bytes(size as u64));
            let key = |server| {
                DataKey::with_provider(cipher, auth, &material, server, 64, provider).unwrap()
            };
            let mut tx = key(false);
            let mut rng = TestRng::new(1);
            let mut pkt = vec![0u8; tx.sealed_len(4, size)];
            g.bench_with_input(
                BenchmarkId::new(format!("{}/encrypt", cipher.openvpn_name()), size),
                &size,
                |b, _| b.iter(|| tx.encrypt(&HDR, &payload, &mut rng, &mut pkt).unwrap()),
            );
            // Decrypt needs a fresh packet id each time (replay window): packets are sealed
            // in the untimed setup.
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
