//! Multilink (RFC 1990) data path: a 1500-octet packet (plus its protocol field) cut into two
//! fragments for a 1450-octet link and reassembled, per packet; and the same through a
//! two-member [`Bundle`] (one fragment per member). Reported per packet.
//!
//! On the shared 2-core development machine (loaded):
//! `fragment_reassemble_1500B_2frags` ~134 ns per packet, `bundle_2members_1500B` ~160 ns.
//! Run: `cargo bench -p rosproto-ppp --bench mp`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ppp::mp::{Bundle, BundleKey, Fragmenter, Limits, MemberId, Reassembler, SeqFormat};
use std::time::Instant;

fn packet() -> Vec<u8> {
    let mut p = vec![0x00, 0x21];
    p.extend((0..1500).map(|i| i as u8));
    p
}

fn bench(c: &mut Criterion) {
    let now = Instant::now();
    let pkt = packet();
    let mut g = c.benchmark_group("mp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("fragment_reassemble_1500B_2frags", |b| {
        let mut tx = Fragmenter::new(SeqFormat::Long, 0);
        let mut rx = Reassembler::new(SeqFormat::Long, Limits::new(1602), 1);
        let mut buf = Vec::with_capacity(1500);
        b.iter(|| {
            let n = tx.fragment(&pkt, 1450, |h, data| {
                buf.clear();
                buf.resize(4, 0);
                h.emit(SeqFormat::Long, &mut buf).unwrap();
                buf.extend_from_slice(data);
                rx.push(now, 0, &buf).unwrap();
            });
            assert_eq!(n, 2);
            assert_eq!(rx.poll().unwrap().len(), pkt.len());
        })
    });
    g.bench_function("bundle_2members_1500B", |b| {
        let key = BundleKey {
            user: "u".into(),
            endpoint: None,
        };
        let mk = || {
            Bundle::new(
                key.clone(),
                SeqFormat::Long,
                SeqFormat::Long,
                1600,
                Limits::new(1602),
                2,
            )
        };
        let (mut tx, mut rx) = (mk(), mk());
        let t: Vec<MemberId> = (0..2).map(|_| tx.join(&key, 1450).unwrap()).collect();
        let r: Vec<MemberId> = (0..2).map(|_| rx.join(&key, 1450).unwrap()).collect();
        b.iter(|| {
            tx.send(&pkt, |m, info| {
                let i = usize::from(m != t[0]);
                rx.receive(now, r[i], info).unwrap();
            })
            .unwrap();
            assert_eq!(rx.poll().unwrap().len(), pkt.len());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
