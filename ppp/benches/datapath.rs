//! Data-path benchmarks: async-HDLC encode/deframe, encapsulation into a caller buffer, and
//! receive dispatch of an IPv4 datagram through an open session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ppp::wire::hdlc::{encode, Deframer};
use ppp::{Config, Input, Role, Session};
use rand_chacha::rand_core::SeedableRng;
use std::time::Instant;

/// Two sessions brought up back to back in memory (no link), returned with IPCP open.
fn open_pair() -> (Session, Session, Instant) {
    let now = Instant::now();
    let mut cc = Config::l2tp_client();
    cc.user = "u".into();
    cc.password = "p".into();
    let mut sc = Config::l2tp_server();
    sc.authentication = ppp::AuthSet::NONE;
    sc.local_address = Some([10, 0, 0, 1].into());
    sc.remote_address = Some([10, 0, 0, 2].into());
    let mut a = Session::new(
        cc,
        Role::Client,
        now,
        rand_chacha::ChaCha8Rng::seed_from_u64(1),
    )
    .unwrap();
    let mut b = Session::new(
        sc,
        Role::Server,
        now,
        rand_chacha::ChaCha8Rng::seed_from_u64(2),
    )
    .unwrap();
    a.open(now);
    b.open(now);
    for _ in 0..50 {
        while let Some(f) = a.poll_transmit(now) {
            let _ = b.handle_frame(now, &f);
        }
        while let Some(f) = b.poll_transmit(now) {
            let _ = a.handle_frame(now, &f);
        }
    }
    assert!(a.ipv4().is_some() && b.ipv4().is_some());
    (a, b, now)
}

fn benches(c: &mut Criterion) {
    let payload = vec![0x45u8; 1400];
    let mut frame = vec![0xff, 0x03, 0x00, 0x21];
    frame.extend_from_slice(&payload);

    let mut g = c.benchmark_group("hdlc");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    let mut line = Vec::with_capacity(4096);
    g.bench_function("encode_1400_accm0", |bch| {
        bch.iter(|| {
            line.clear();
            encode(&frame, 0, &mut line);
            line.len()
        })
    });
    let mut enc = Vec::new();
    encode(&frame, 0, &mut enc);
    let mut d = Deframer::new(2000);
    g.bench_function("deframe_1400", |bch| {
        bch.iter(|| {
            d.push(&enc);
            d.next_frame().unwrap().unwrap().len()
        })
    });
    g.finish();

    let (mut a, mut b, now) = open_pair();
    let mut g = c.benchmark_group("session");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    let mut buf = vec![0u8; 2000];
    g.bench_function("encapsulate_1400", |bch| {
        bch.iter(|| a.encapsulate(now, 0x0021, &payload, &mut buf).unwrap())
    });
    let n = a.encapsulate(now, 0x0021, &payload, &mut buf).unwrap();
    let wire = buf[..n].to_vec();
    g.bench_function("handle_frame_datagram_1400", |bch| {
        bch.iter(|| match b.handle_frame(now, &wire).unwrap() {
            Input::Datagram { payload, .. } => payload.len(),
            _ => 0,
        })
    });
    g.finish();
}

criterion_group!(ppp_benches, benches);
criterion_main!(ppp_benches);
