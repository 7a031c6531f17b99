//! The tunnel input path: `Tunnel::decapsulate` of every tunnel type on arbitrary bytes
//! (the first byte picks the type; with the second byte's low bit a valid outer IPv4 header
//! is put in front so the tunnel parsers are reached), then timers and outputs.
#![no_main]
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use gre_family::wire::ip::Ipv4Repr;
use gre_family::{Tunnel, TunnelConfig, TunnelKind};

const KINDS: [TunnelKind; 6] = [
    TunnelKind::Gre,
    TunnelKind::GreTap,
    TunnelKind::Eoip,
    TunnelKind::Eoipv6,
    TunnelKind::Ipip,
    TunnelKind::SixToFour,
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (Some(&sel), Some(&mode)) = (data.first(), data.get(1)) else {
        return;
    };
    let kind = KINDS[usize::from(sel) % KINDS.len()];
    let (l, r): (IpAddr, IpAddr) = if kind == TunnelKind::Eoipv6 {
        ("fd00::2".parse().unwrap(), "fd00::1".parse().unwrap())
    } else {
        ("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap())
    };
    let mut cfg = TunnelConfig::new(kind, l, Some(r));
    if kind == TunnelKind::GreTap {
        cfg.keepalive = None;
    }
    cfg.key = if matches!(kind, TunnelKind::Gre | TunnelKind::GreTap) && mode & 2 != 0 {
        Some(42)
    } else {
        None
    };
    cfg.check_sequence = mode & 4 != 0;
    let now = Instant::now();
    let Ok(mut t) = Tunnel::new(cfg, now) else {
        return;
    };
    let body = &data[2..];
    let mut pkt = if mode & 1 != 0 && kind != TunnelKind::Eoipv6 {
        let mut p = vec![0u8; 20 + body.len()];
        let ip = Ipv4Repr::new(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            kind.ip_protocol(),
            body.len(),
        );
        if ip.emit(&mut p).is_err() {
            return;
        }
        p[20..].copy_from_slice(body);
        p
    } else {
        body.to_vec()
    };
    let _ = t.decapsulate(now, &mut pkt);
    let later = now + Duration::from_secs(200);
    t.handle_timeout(later);
    let mut buf = [0u8; 256];
    while let Ok(Some(_)) = t.poll_transmit(later, &mut buf) {}
    while t.poll_event().is_some() {}
    let _ = t.encapsulate(later, body, &mut [0u8; 2048]);
});
