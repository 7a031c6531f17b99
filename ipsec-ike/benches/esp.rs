//! ESP data path: encapsulate (in place, into the caller's buffer) and decapsulate (in place,
//! replay window and ICV check) of tunnel-mode packets. `compare_openssl.sh` puts these next
//! to OpenSSL measured in the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ipsec_ike::crypto::{Encr, Integ};
use ipsec_ike::esp::{EspParams, EspSa};
use rand_chacha::rand_core::SeedableRng;

fn sa(encr: Encr, integ: Option<Integ>, window: u32) -> EspSa {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    EspSa::new(
        &EspParams {
            spi: 0x1000,
            encr,
            enc_key: vec![7; encr.key_len()],
            integ,
            integ_key: vec![9; integ.map_or(0, Integ::key_len)],
            esn: false,
            replay_window: window,
        },
        &mut rng,
    )
    .unwrap()
}

fn esp(c: &mut Criterion) {
    let mut g = c.benchmark_group("esp");
    for (name, encr, integ) in [
        ("AES-256-GCM", Encr::AesGcm(32, 16), None),
        ("AES-128-GCM", Encr::AesGcm(16, 16), None),
        (
            "AES-128-CBC-SHA1",
            Encr::AesCbc(16),
            Some(Integ::HmacSha1_96),
        ),
    ] {
        for n in [64usize, 1400] {
            g.throughput(Throughput::Bytes(n as u64));
            let mut tx = sa(encr, integ, 128);
            let h = tx.header_len();
            let mut buf = vec![0u8; tx.encapsulated_len(n)];
            g.bench_with_input(BenchmarkId::new(format!("{name}/encap"), n), &n, |b, &n| {
                b.iter(|| tx.encapsulate_in_place(4, &mut buf, n).unwrap());
            });
            // Decapsulation needs fresh sequence numbers: pre-seal a ring of packets and
            // give the receiver a window as large as the ring (replay check still runs).
            let mut tx = sa(encr, integ, 128);
            let ring: Vec<Vec<u8>> = (0..4096)
                .map(|_| {
                    let mut p = vec![0u8; tx.encapsulated_len(n)];
                    // An IPv4 packet of n bytes (the receiver checks the inner length).
                    p[h] = 0x45;
                    p[h + 2..h + 4].copy_from_slice(&(n as u16).to_be_bytes());
                    tx.encapsulate_in_place(4, &mut p, n).unwrap();
                    p
                })
                .collect();
            g.bench_with_input(BenchmarkId::new(format!("{name}/decap"), n), &n, |b, _| {
                let mut i = ring.len() - 1;
                let mut rx = sa(encr, integ, 4096);
                // The copy of the sealed packet into the work buffer is setup, not timed.
                b.iter_batched_ref(
                    || {
                        i = (i + 1) % ring.len();
                        ring[i].clone()
                    },
                    |work| {
                        if work[4..8] == [0, 0, 0, 1] {
                            // The ring starts over: a new receiver (once per 4096 packets).
                            rx = sa(encr, integ, 4096);
                        }
                        rx.decapsulate_in_place(work).unwrap()
                    },
                    criterion::BatchSize::SmallInput,
                );
            });
        }
    }
    g.finish();
}

criterion_group!(benches, esp);
criterion_main!(benches);
