//! Property tests: no decoder or tunnel input path panics on arbitrary bytes; generated
//! headers round-trip byte-exact; encapsulate -> decapsulate returns the inner packet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use gre_family::wire::egre::EnhancedGreRepr;
use gre_family::wire::eoip::{EoipRepr, Eoipv6Repr};
use gre_family::wire::gre::GreRepr;
use gre_family::wire::ip::{Ipv4Repr, Ipv6Repr};
use gre_family::wire::tcp::clamp_mss;
use gre_family::{Decapsulated, Tunnel, TunnelConfig, TunnelKind};
use proptest::prelude::*;

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

fn tunnel(kind: TunnelKind, reverse: bool) -> Tunnel {
    let (mut a, mut b): (IpAddr, IpAddr) = if kind.outer_is_ipv6() {
        ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap())
    } else {
        ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
    };
    if reverse {
        std::mem::swap(&mut a, &mut b);
    }
    let mut c = TunnelConfig::new(kind, a, Some(b));
    if kind == TunnelKind::GreTap {
        c.keepalive = None;
    }
    Tunnel::new(c, Instant::now()).unwrap()
}

proptest! {
    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = GreRepr::parse(&data);
        let _ = EnhancedGreRepr::parse(&data);
        let _ = EoipRepr::parse(&data);
        let _ = Eoipv6Repr::parse(&data);
        let _ = Ipv4Repr::parse(&data);
        let _ = Ipv6Repr::parse(&data);
        let _ = gre_family::wire::demux::DemuxKey::of_packet(&data);
        let mut d = data.clone();
        let _ = clamp_mss(&mut d, 1400);
    }

    #[test]
    fn tunnel_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), k in 0usize..8, mutate_ip in any::<bool>()) {
        let mut t = tunnel(KINDS[k], true);
        let now = Instant::now();
        let mut d = data.clone();
        if mutate_ip && d.len() >= 20 && !KINDS[k].outer_is_ipv6() {
            // give random bytes a valid outer header so the tunnel parsers are reached
            let plen = d.len() - 20;
            let r = Ipv4Repr::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), KINDS[k].ip_protocol(), plen);
            r.emit(&mut d).unwrap();
        } else if mutate_ip && d.len() >= 40 {
            let r = Ipv6Repr {
                traffic_class: 0,
                flow_label: 0,
                payload_len: d.len() - 40,
                // sometimes a Destination Options header in front of the tunnel protocol
                next_header: if d[0] & 1 == 0 { KINDS[k].ip_protocol() } else { 60 },
                hop_limit: 64,
                src: "fd00::1".parse().unwrap(),
                dst: "fd00::2".parse().unwrap(),
            };
            r.emit(&mut d).unwrap();
        }
        let _ = t.decapsulate(now, &mut d);
        let _ = t.encapsulate(now, &data, &mut [0u8; 300]);
        let _ = t.handle_icmp(now, &d, &mut [0u8; 1400]);
        let _ = t.handle_icmp(now, &data, &mut [0u8; 64]);
        let _ = t.too_big_reply(&data, &mut [0u8; 1400]);
    }

    #[test]
    fn gre_round_trip(protocol in any::<u16>(), checksum in any::<bool>(), key in any::<Option<u32>>(),
                      sequence in any::<Option<u32>>(), reserved0 in 0u8..32, reserved1 in any::<u16>(),
                      payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let r = GreRepr { protocol, checksum, key, sequence, reserved0, reserved1: if checksum { reserved1 } else { 0 } };
        let hl = r.header_len();
        let mut p = vec![0u8; hl + payload.len()];
        p[hl..].copy_from_slice(&payload);
        prop_assert_eq!(r.emit(&mut p).unwrap(), hl);
        prop_assert_eq!(GreRepr::parse(&p).unwrap(), (r, hl));
        let mut again = p.clone();
        r.emit(&mut again).unwrap();
        prop_assert_eq!(again, p);
    }

    #[test]
    fn enhanced_gre_round_trip(call_id in any::<u16>(), sequence in any::<Option<u32>>(), ack in any::<Option<u32>>(),
                               payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let r = EnhancedGreRepr { payload_len: payload.len() as u16, call_id, sequence, ack };
        let hl = r.header_len();
        let mut p = vec![0u8; hl + payload.len()];
        p[hl..].copy_from_slice(&payload);
        r.emit(&mut p).unwrap();
        let (back, range) = EnhancedGreRepr::parse(&p).unwrap();
        prop_assert_eq!(back, r);
        prop_assert_eq!(&p[range], &payload[..]);
    }

    #[test]
    fn eoip_round_trip(tunnel_id in any::<u16>(), frame_len in 0u16..100, tid6 in 0u16..4096) {
        let r = EoipRepr { frame_len, tunnel_id };
        let mut p = vec![0u8; 8 + usize::from(frame_len)];
        r.emit(&mut p).unwrap();
        prop_assert_eq!(EoipRepr::parse(&p).unwrap(), (r, 8..p.len()));
        let r6 = Eoipv6Repr { tunnel_id: tid6 };
        let mut b = [0u8; 2];
        r6.emit(&mut b).unwrap();
        prop_assert_eq!(Eoipv6Repr::parse(&b).unwrap(), (r6, 2..2));
    }

    #[test]
    fn ip_headers_round_trip(dscp in 0u8..64, ecn in 0u8..4, ident in any::<u16>(), df in any::<bool>(),
                             ttl in any::<u8>(), proto in any::<u8>(), src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
                             len in 0usize..100, tc in any::<u8>(), flow in 0u32..0x100000,
                             s6 in any::<[u8; 16]>(), d6 in any::<[u8; 16]>()) {
        let r = Ipv4Repr { dscp, ecn, ident, dont_fragment: df, ttl, ..Ipv4Repr::new(Ipv4Addr::from(src), Ipv4Addr::from(dst), proto, len) };
        let mut p = vec![0u8; 20 + len];
        r.emit(&mut p).unwrap();
        prop_assert_eq!(Ipv4Repr::parse(&p).unwrap(), (r, 20..20 + len));
        let r6 = Ipv6Repr { traffic_class: tc, flow_label: flow, payload_len: len, next_header: proto, hop_limit: ttl, src: Ipv6Addr::from(s6), dst: Ipv6Addr::from(d6) };
        let mut p6 = vec![0u8; 40 + len];
        r6.emit(&mut p6).unwrap();
        prop_assert_eq!(Ipv6Repr::parse(&p6).unwrap(), (r6, 40..40 + len));
    }

    #[test]
    fn encapsulate_then_decapsulate_returns_the_inner_packet(k in 0usize..8, body in proptest::collection::vec(any::<u8>(), 40..600)) {
        let kind = KINDS[k];
        let mut a = tunnel(kind, false);
        let mut b = tunnel(kind, true);
        let now = Instant::now();
        let mut inner = body.clone();
        if kind.is_ethernet() {
            inner[12] = 0x88; // not IP: no MSS clamping, no DSCP peeking
            inner[13] = 0xb5;
        } else if kind == TunnelKind::SixToFour || (kind == TunnelKind::Ipipv6 && body[0] & 1 == 1) {
            inner[0] = 0x60 | (inner[0] & 0x0f);
            inner[6] = 17;
            inner[8] = 0x20; inner[9] = 0x01; // source outside 2002::/16
        } else {
            inner[0] = 0x45;
            inner[9] = 17;
            inner[12] = 192; // source not our local address: not a keepalive to reflect
        }
        let mut out = vec![0u8; 700];
        let tr = a.encapsulate(now, &inner, &mut out).unwrap();
        let mut wire = out[..tr.len].to_vec();
        match b.decapsulate(now, &mut wire) {
            Decapsulated::Packet { range, .. } => prop_assert_eq!(&wire[range], &inner[..]),
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
