//! Data-path benchmark: encapsulate + decapsulate per tunnel type, 64 B and 1400 B inner
//! packets, in caller buffers (encapsulation in place into headroom, decapsulation in place).
//! One iteration = 2 header operations (one encapsulation, one decapsulation).
//!
//! `cargo bench -p rosproto-gre-family --bench datapath`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gre_family::{Decapsulated, Tunnel, TunnelConfig, TunnelKind};

fn pair(kind: TunnelKind) -> (Tunnel, Tunnel) {
    let (a, b): (IpAddr, IpAddr) = if kind == TunnelKind::Eoipv6 {
        ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap())
    } else {
        ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
    };
    let now = Instant::now();
    let mk = |l, r| {
        let mut c = TunnelConfig::new(kind, l, Some(r));
        c.keepalive = None;
        Tunnel::new(c, now).unwrap()
    };
    (mk(a, b), mk(b, a))
}

fn inner(kind: TunnelKind, len: usize) -> Vec<u8> {
    let mut p = vec![0xabu8; len];
    if kind.is_ethernet() {
        p[12] = 0x08;
        p[13] = 0x00;
        p[14] = 0x45;
        p[23] = 17;
    } else if kind == TunnelKind::SixToFour {
        p[0] = 0x60;
        p[6] = 17;
    } else {
        p[0] = 0x45;
        p[9] = 17;
    }
    p
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("encap+decap");
    for kind in [
        TunnelKind::Gre,
        TunnelKind::GreTap,
        TunnelKind::Eoip,
        TunnelKind::Eoipv6,
        TunnelKind::Ipip,
        TunnelKind::SixToFour,
    ] {
        for len in [64usize, 1400] {
            let (mut a, mut b) = pair(kind);
            let body = inner(kind, len);
            let oh = a.overhead();
            let mut buf = vec![0u8; oh + len];
            buf[oh..].copy_from_slice(&body);
            let now = Instant::now();
            g.throughput(Throughput::Elements(2));
            g.bench_function(format!("{}/{len}B", kind.name()), |bn| {
                bn.iter(|| {
                    let t = a.encapsulate_in_place(now, &mut buf, len).unwrap();
                    let d = b.decapsulate(now, &mut buf[..t.len]);
                    debug_assert!(matches!(d, Decapsulated::Packet { .. }));
                    black_box(d);
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
