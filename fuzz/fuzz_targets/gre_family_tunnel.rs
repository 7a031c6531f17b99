//! The tunnel input paths: `Tunnel::decapsulate` and `Tunnel::handle_icmp` of every tunnel type
//! on arbitrary bytes (the first byte picks the type; with the second byte's low bit a valid
//! outer IPv4 / IPv6 header is put in front so the tunnel parsers are reached; bit 3 puts a
//! Destination Options header before an IPv6 payload), then timers and outputs.
#![no_main]
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use gre_family::wire::ip::{Ipv4Repr, Ipv6Repr};
use gre_family::{Tunnel, TunnelConfig, TunnelKind};

const KINDS: [TunnelKind; 8] = [
    TunnelKind::Gre,
    TunnelKind::GreTap,
    TunnelKind::Eoip,
    TunnelKind::Eoipv6,
    TunnelKind::Ipip,
    TunnelKind::SixToFour,
    TunnelKind::Gre6,
    TunnelKind::Ipipv6,
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (Some(&sel), Some(&mode)) = (data.first(), data.get(1)) else {
        return;
    };
    let kind = KINDS[usize::from(sel) % KINDS.len()];
    let (l, r): (IpAddr, IpAddr) = if kind.outer_is_ipv6() {
        ("fd00::2".parse().unwrap(), "fd00::1".parse().unwrap())
    } else {
        ("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap())
    };
    let mut cfg = TunnelConfig::new(kind, l, Some(r));
    if kind == TunnelKind::GreTap {
        cfg.keepalive = None;
    }
    cfg.key = if kind.is_gre() && mode & 2 != 0 {
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
    let mut pkt = if mode & 1 != 0 && kind.outer_is_ipv6() {
        let mut p = vec![0u8; 40 + body.len()];
        let ip = Ipv6Repr {
            traffic_class: 0,
            flow_label: 0,
            payload_len: body.len(),
            next_header: if mode & 8 != 0 {
                60
            } else {
                kind.ip_protocol()
            },
            hop_limit: 64,
            src: "fd00::1".parse().unwrap(),
            dst: "fd00::2".parse().unwrap(),
        };
        if ip.emit(&mut p).is_err() {
            return;
        }
        p[40..].copy_from_slice(body);
        p
    } else if mode & 1 != 0 {
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
    let icmp_input = pkt.clone();
    let _ = t.decapsulate(now, &mut pkt);
    let _ = t.handle_icmp(now, &icmp_input, &mut [0u8; 1500]);
    let _ = t.too_big_reply(body, &mut [0u8; 1500]);
    let later = now + Duration::from_secs(200);
    t.handle_timeout(later);
    let mut buf = [0u8; 256];
    while let Ok(Some(_)) = t.poll_transmit(later, &mut buf) {}
    while t.poll_event().is_some() {}
    let _ = t.encapsulate(later, body, &mut [0u8; 2048]);
});
