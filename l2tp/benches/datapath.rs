#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Data path: L2TPv2 encapsulation/decapsulation of a PPP frame, L2TPv3 L2TP Ether frames,
//! the reorder buffer (in-order fast path and swapped pairs), a managed L2TPv3 session
//! (encapsulate + receive with cookie check and reordering).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use l2tp::config::{EtherConfig, ProtoVersion};
use l2tp::ether::StaticEther;
use l2tp::reorder::{ReorderBuffer, ReorderConfig};
use l2tp::{CallInfo, Event, Tunnel, TunnelConfig};

fn pair() -> (Tunnel, Tunnel, u16, u16) {
    let now = Instant::now();
    let mut a = Tunnel::connect_with_seed(TunnelConfig::default(), now, [1; 32]).unwrap();
    let mut b = Tunnel::accept_with_seed(TunnelConfig::default(), now, [2; 32], 9).unwrap();
    let mut t = now;
    let mut placed = false;
    for _ in 0..20 {
        while let Some(d) = a.poll_transmit(t) {
            b.handle_input(t, &d).unwrap();
        }
        while let Some(d) = b.poll_transmit(t) {
            a.handle_input(t, &d).unwrap();
        }
        while let Some(e) = a.poll_event() {
            if matches!(e, Event::TunnelUp { .. }) && !placed {
                a.incoming_call(t, CallInfo::default()).unwrap();
                placed = true;
            }
        }
        t += Duration::from_millis(1);
    }
    let sa = a.sessions().next().unwrap().local_id;
    let sb = b.sessions().next().unwrap().local_id;
    (a, b, sa, sb)
}

fn bench(c: &mut Criterion) {
    let (mut a, mut b, sa, _sb) = pair();
    let mut g = c.benchmark_group("l2tpv2");
    for size in [64usize, 1400] {
        let frame = vec![0xffu8; size];
        let mut out = vec![0u8; size + 64];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("encapsulate", size), &size, |bn, _| {
            bn.iter(|| a.encapsulate(sa, &frame, &mut out).unwrap())
        });
        let n = a.encapsulate(sa, &frame, &mut out).unwrap();
        let now = Instant::now();
        g.bench_with_input(BenchmarkId::new("decapsulate", size), &size, |bn, _| {
            bn.iter(|| {
                let r = b.handle_input(now, &out[..n]).unwrap();
                matches!(r, l2tp::Input::Data { .. })
            })
        });
    }
    g.finish();
    let cfg = EtherConfig {
        unmanaged_mode: true,
        local_session_id: Some(1),
        remote_session_id: Some(1),
        send_cookie: Some("0102030405060708".into()),
        peer_cookie: Some("0102030405060708".into()),
        l2tp_proto_version: ProtoVersion::L2tpv3Ip,
        use_l2_specific_sublayer: true,
        ..Default::default()
    };
    let mut e = StaticEther::from_config(&cfg, "e").unwrap();
    let frame = vec![0x11u8; 1400];
    let mut out = vec![0u8; 1500];
    let mut g = c.benchmark_group("l2tpv3_ether");
    g.throughput(Throughput::Bytes(1400));
    g.bench_function("encapsulate_1400", |bn| {
        bn.iter(|| e.encapsulate(&frame, &mut out).unwrap())
    });
    let n = e.encapsulate(&frame, &mut out).unwrap();
    g.bench_function("decapsulate_1400", |bn| {
        bn.iter(|| e.decapsulate(&out[..n]).unwrap().len())
    });
    g.finish();
    // Reorder buffer: the in-order fast path, and every second frame swapped with the next
    // (each pair costs one copy into a recycled slot and one release).
    let mut g = c.benchmark_group("reorder");
    g.throughput(Throughput::Bytes(1400));
    let t = Instant::now();
    let mut rb = ReorderBuffer::new(ReorderConfig::default(), 24);
    let mut seq = 0u32;
    g.bench_function("in_order_1400", |bn| {
        bn.iter(|| {
            seq = seq.wrapping_add(1);
            rb.push(t, seq, &frame)
        })
    });
    let mut rb = ReorderBuffer::new(ReorderConfig::default(), 24);
    let mut base = 0u32;
    g.throughput(Throughput::Bytes(2 * 1400));
    g.bench_function("swapped_pair_1400", |bn| {
        bn.iter(|| {
            base = base.wrapping_add(2);
            let a = rb.push(t, base + 1, &frame);
            let b = rb.push(t, base, &frame);
            if let Some(v) = rb.pop() {
                rb.recycle(v);
            }
            (a, b)
        })
    });
    g.finish();
}

/// Two managed L2TPv3 connections (no digest) with one Ethernet session up, sublayer on,
/// the receiver reordering.
fn v3_pair() -> (l2tp::v3::ControlConnectionV3, l2tp::v3::ControlConnectionV3) {
    use l2tp::v3::{ControlConnectionV3, V3Config};
    let cfg = V3Config {
        secret: None,
        cookie_len: 8,
        l2_sublayer: true,
        reorder: Some(ReorderConfig::default()),
        ..V3Config::default()
    };
    let mut a = ControlConnectionV3::with_seed(cfg.clone(), true, [1; 32]).unwrap();
    let mut b = ControlConnectionV3::with_seed(cfg, false, [2; 32]).unwrap();
    let mut t = Instant::now();
    a.connect(t).unwrap();
    for _ in 0..20 {
        while let Some(d) = a.poll_transmit(t) {
            b.handle_input(t, &d).unwrap();
        }
        while let Some(d) = b.poll_transmit(t) {
            a.handle_input(t, &d).unwrap();
        }
        t += Duration::from_millis(1);
    }
    assert!(a.session_ready());
    (a, b)
}

fn bench_v3_managed(c: &mut Criterion) {
    let (mut a, mut b) = v3_pair();
    let frame = vec![0x22u8; 1400];
    let mut out = vec![0u8; 1500];
    let now = Instant::now();
    let mut g = c.benchmark_group("l2tpv3_managed");
    g.throughput(Throughput::Bytes(1400));
    // encapsulate (cookie 8, sublayer) + demultiplex, cookie check and in-order reorder pass
    g.bench_function("roundtrip_1400", |bn| {
        bn.iter(|| {
            let n = a.encapsulate(&frame, &mut out).unwrap();
            matches!(
                b.handle_input(now, &out[..n]).unwrap(),
                l2tp::v3::V3Input::Data(_)
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench, bench_v3_managed);
criterion_main!(benches);
