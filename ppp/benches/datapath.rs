//! Data-path benchmarks: async-HDLC encode/deframe, encapsulation into a caller buffer,
//! receive dispatch of an IPv4 datagram through an open session, and MPPE encrypt+decrypt of
//! 1400 B (128-bit, stateful and stateless: the stateless figure includes two key changes,
//! SHA-1 plus an RC4 key schedule on each side, per packet). Compare with
//! `openssl speed -provider legacy -provider default -evp rc4 -bytes 1400`.
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

    use ppp::mppe::{Decryptor, Encryptor, KeyStrength, MppeParams};
    let mut g = c.benchmark_group("mppe");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    for stateless in [false, true] {
        let p = MppeParams {
            strength: KeyStrength::Bits128,
            stateless,
        };
        let mut e = Encryptor::new(p, &[7u8; 16]).unwrap();
        let mut d = Decryptor::new(p, &[7u8; 16]).unwrap();
        let mut buf = vec![0u8; 1500];
        let name = if stateless {
            "encrypt_decrypt_1400_stateless"
        } else {
            "encrypt_decrypt_1400_stateful"
        };
        g.bench_function(name, |bch| {
            bch.iter(|| {
                let n = e.encrypt(0x0021, &payload, &mut buf).unwrap();
                d.decrypt(&mut buf[..n]).unwrap().offset
            })
        });
        let mut e = Encryptor::new(p, &[7u8; 16]).unwrap();
        let name = if stateless {
            "encrypt_1400_stateless"
        } else {
            "encrypt_1400_stateful"
        };
        g.bench_function(name, |bch| {
            bch.iter(|| e.encrypt(0x0021, &payload, &mut buf).unwrap())
        });
    }
    g.finish();
}

criterion_group!(ppp_benches, benches);
criterion_main!(ppp_benches);
