//! Codec and input-path benchmarks: parse + emit of a Sync / Announce, and a slave clock
//! processing a Sync + Follow_Up pair (E2E sample through the servo).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ptp::wire::{
    flags, Announce, Body, ClockIdentity, Header, Message, MessageType, PortIdentity, Time,
    Timestamp,
};
use ptp::{Clock, Config};

const PEER: PortIdentity = PortIdentity {
    clock_identity: ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAE, 0xC3]),
    port_number: 1,
};

fn encode(h: Header, b: Body) -> Vec<u8> {
    let m = Message {
        header: h,
        body: b,
        suffix: &[],
    };
    let mut v = vec![0u8; m.buffer_len()];
    m.emit(&mut v).unwrap();
    v
}

fn announce(seq: u16) -> Vec<u8> {
    let mut h = Header::new(MessageType::Announce, 0, PEER, seq);
    h.log_message_interval = 1;
    encode(
        h,
        Body::Announce(Announce {
            origin_timestamp: Timestamp::default(),
            current_utc_offset: 37,
            reserved: 0,
            grandmaster_priority1: 10,
            grandmaster_clock_quality: Default::default(),
            grandmaster_priority2: 128,
            grandmaster_identity: PEER.clock_identity,
            steps_removed: 0,
            time_source: 0xA0,
        }),
    )
}

fn bench(c: &mut Criterion) {
    let mut sh = Header::new(MessageType::Sync, 0, PEER, 1);
    sh.flags = flags::TWO_STEP;
    let sync = encode(
        sh,
        Body::Sync {
            origin_timestamp: Timestamp::default(),
        },
    );
    let ann = announce(1);
    c.bench_function("parse+emit Sync (44 B)", |b| {
        let mut out = [0u8; 64];
        b.iter(|| {
            let m = Message::parse(black_box(&sync)).unwrap();
            m.emit(&mut out).unwrap()
        })
    });
    c.bench_function("parse+emit Announce (64 B)", |b| {
        let mut out = [0u8; 64];
        b.iter(|| {
            let m = Message::parse(black_box(&ann)).unwrap();
            m.emit(&mut out).unwrap()
        })
    });

    // A slave that has a parent and a path delay: each iteration is one Sync + Follow_Up.
    let start = Instant::now();
    let mut clock = Clock::new(
        &Config {
            slave_only: true,
            ..Config::default()
        },
        Box::new(netsim::TestRng::new(1)),
        start,
    )
    .unwrap();
    clock.handle_input(start, 0, &announce(0), None).unwrap();
    clock
        .handle_input(start + Duration::from_secs(2), 0, &announce(1), None)
        .unwrap();
    let base = Time::from_nanos(1_700_000_000_000_000_000);
    let mut t = start + Duration::from_secs(2);
    // One Sync/Follow_Up and one Delay_Req/Delay_Resp so that a path delay exists.
    let mut h = sh;
    h.sequence_id = 5;
    clock
        .handle_input(
            t,
            0,
            &encode(
                h,
                Body::Sync {
                    origin_timestamp: Timestamp::default(),
                },
            ),
            Some(base + Time::from_nanos(500)),
        )
        .unwrap();
    let fh = Header::new(MessageType::FollowUp, 0, PEER, 5);
    clock
        .handle_input(
            t,
            0,
            &encode(
                fh,
                Body::FollowUp {
                    precise_origin_timestamp: base.to_timestamp().unwrap(),
                },
            ),
            None,
        )
        .unwrap();
    t = clock.poll_timeout().unwrap();
    clock.handle_timeout(t);
    let mut buf = [0u8; 128];
    let mut dreq = None;
    while let Ok(Some(tx)) = clock.poll_transmit(t, &mut buf) {
        if tx.message_type == MessageType::DelayReq {
            dreq = Some((
                tx.token.unwrap(),
                Message::parse(&buf[..tx.len]).unwrap().header.sequence_id,
            ));
        }
    }
    let (tok, dseq) = dreq.unwrap();
    clock.handle_tx_timestamp(t, tok, base + Time::from_nanos(1000));
    let me = PortIdentity {
        clock_identity: clock.default_ds().clock_identity,
        port_number: 1,
    };
    let dh = Header::new(MessageType::DelayResp, 0, PEER, dseq);
    let resp = encode(
        dh,
        Body::DelayResp {
            receive_timestamp: (base + Time::from_nanos(1500)).to_timestamp().unwrap(),
            requesting_port_identity: me,
        },
    );
    clock.handle_input(t, 0, &resp, None).unwrap();
    assert!(clock.monitor().slave_port_delay_ns.is_some());
    let mut seq = 10u16;
    c.bench_function("slave: Sync + Follow_Up through the servo", |b| {
        let mut buf = [0u8; 128];
        b.iter(|| {
            seq = seq.wrapping_add(1);
            t += Duration::from_millis(10);
            let t1 = base + Time::from_nanos(i128::from(seq) * 10_000_000);
            let mut h = sh;
            h.sequence_id = seq;
            let s = encode(
                h,
                Body::Sync {
                    origin_timestamp: Timestamp::default(),
                },
            );
            clock
                .handle_input(t, 0, &s, Some(t1 + Time::from_nanos(500)))
                .unwrap();
            let mut fh = Header::new(MessageType::FollowUp, 0, PEER, seq);
            fh.log_message_interval = 0;
            let f = encode(
                fh,
                Body::FollowUp {
                    precise_origin_timestamp: t1.to_timestamp().unwrap(),
                },
            );
            clock.handle_input(t, 0, &f, None).unwrap();
            while clock.poll_event().is_some() {}
            while let Ok(Some(_)) = clock.poll_transmit(t, &mut buf) {}
        })
    });
    assert!(clock.monitor().offset_ns.is_some(), "the servo ran");

    // The robust line fit every Sync goes through (outlier test + fit, window 16).
    let mut trend = ptp::servo::SyncTrend::new(16);
    let mut k: i128 = 0;
    c.bench_function("SyncTrend: outlier test + push + fit (16 samples)", |b| {
        b.iter(|| {
            k += 1;
            let x = k * 1_000_000_000 * 65536;
            let y = (2500 + (k % 7) * 100) * 65536;
            let out = trend.is_outlier(x, y, 8.0, 1000.0);
            trend.push(x, y);
            (out, trend.fit())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
