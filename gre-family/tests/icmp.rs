//! ICMP errors from the underlay (RFC 2003 section 4, RFC 2473 section 8, RFC 1191 / RFC 8201
//! path MTU): the tunnel learns a lower path MTU only from errors about its own packets,
//! relays errors to the inner sender, answers oversize inner packets itself, and forgets the
//! path MTU after 10 minutes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use gre_family::wire::icmp::{self, IcmpErrorRepr, Quoted};
use gre_family::wire::ip::{Ipv4Repr, Ipv6Repr};
use gre_family::PMTU_EXPIRES;
use gre_family::{
    DropReason, Error, Event, IcmpHandled, Payload, Tunnel, TunnelConfig, TunnelKind,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn gre(key: Option<u32>, now: Instant) -> Tunnel {
    let mut c = TunnelConfig::new(TunnelKind::Gre, ip("10.0.0.1"), Some(ip("10.0.0.2")));
    c.keepalive = None;
    c.key = key;
    c.interface_v4 = Some(Ipv4Addr::new(10, 1, 1, 254));
    Tunnel::new(c, now).unwrap()
}

/// An inner IPv4 UDP packet of `len` bytes from 10.1.1.1 to 10.2.2.2.
fn inner4(len: usize, df: bool) -> Vec<u8> {
    let mut r = Ipv4Repr::new(
        Ipv4Addr::new(10, 1, 1, 1),
        Ipv4Addr::new(10, 2, 2, 2),
        17,
        len - 20,
    );
    r.dont_fragment = df;
    let mut p = vec![0x5a; len];
    r.emit(&mut p).unwrap();
    p
}

/// The error a router on the path (`from`) sends about `outer`, quoting 548 bytes of it.
fn router_error(from: &str, outer: &[u8], ty: u8, code: u8, rest: u32) -> Vec<u8> {
    let o = Quoted::parse(outer).unwrap();
    let e = IcmpErrorRepr {
        src: ip(from),
        dst: o.src,
        v6: false,
        icmp_type: ty,
        code,
        rest,
    };
    let q = &outer[..outer.len().min(548)];
    let mut b = vec![0u8; 28 + q.len()];
    let n = e.emit(q, &mut b).unwrap();
    b.truncate(n);
    b
}

fn events(t: &mut Tunnel) -> Vec<Event> {
    std::iter::from_fn(|| t.poll_event()).collect()
}

#[test]
fn frag_needed_lowers_the_mtu_and_is_relayed_to_the_inner_sender() {
    let t0 = Instant::now();
    let mut t = gre(None, t0);
    assert_eq!(t.mtu(), 1476);
    let mut out = vec![0u8; 2000];
    let pkt = inner4(1400, true);
    let tx = t.encapsulate(t0, &pkt, &mut out).unwrap();
    let outer = out[..tx.len].to_vec();
    // a router with a 1400-byte link on the path
    let err = router_error("10.0.0.254", &outer, 3, 4, 1400);
    let mut relay = vec![0u8; 1500];
    let h = t.handle_icmp(t0, &err, &mut relay);
    let IcmpHandled::Relay { len, payload } = h else {
        panic!("{h:?}")
    };
    assert_eq!(payload, Payload::Ipv4);
    assert_eq!((t.path_mtu(), t.mtu()), (Some(1400), 1376));
    assert_eq!(events(&mut t), [Event::MtuChanged { mtu: 1376 }]);
    // the relayed error: from the reporting router to the inner sender, "fragmentation
    // needed" with the tunnel MTU, quoting the inner packet
    let (e, qr) = IcmpErrorRepr::parse(&relay[..len]).unwrap();
    assert_eq!(e.src, ip("10.0.0.254"));
    assert_eq!(e.dst, ip("10.1.1.1"));
    assert_eq!((e.icmp_type, e.code, e.mtu()), (3, 4, Some(1376)));
    let q = Quoted::parse(&relay[qr.clone()]).unwrap();
    assert_eq!(
        (q.src, q.dst, q.stated_len),
        (ip("10.1.1.1"), ip("10.2.2.2"), 1400)
    );
    assert_eq!(
        &relay[qr],
        &pkt[..548 - 24],
        "quotes what the router quoted"
    );
    // the next oversize packet is refused, and the tunnel answers the sender itself
    assert_eq!(
        t.encapsulate(t0, &pkt, &mut out),
        Err(Error::TooBig {
            len: 1400,
            mtu: 1376
        })
    );
    let (n, p) = t.too_big_reply(&pkt, &mut relay).unwrap();
    assert_eq!(p, Payload::Ipv4);
    let (e, _) = IcmpErrorRepr::parse(&relay[..n]).unwrap();
    assert_eq!((e.dst, e.mtu()), (ip("10.1.1.1"), Some(1376)));
    assert_eq!(
        e.src,
        ip("10.1.1.254"),
        "the tunnel's own error: interface_v4"
    );
    // without DF the sender may fragment: no error; a packet that fits: none either
    assert_eq!(t.too_big_reply(&inner4(1400, false), &mut relay), None);
    assert_eq!(t.too_big_reply(&inner4(1376, true), &mut relay), None);
    assert!(t.encapsulate(t0, &inner4(1376, true), &mut out).is_ok());
    assert_eq!(t.stats().icmp_relayed, 1);
    assert_eq!(t.stats().icmp_too_big_sent, 1);
    assert_eq!(t.stats().pmtu_updates, 1);
    // the learnt path MTU expires after 10 minutes (RFC 1191 section 6.3)
    assert_eq!(t.poll_timeout(), Some(t0 + PMTU_EXPIRES));
    t.handle_timeout(t0 + PMTU_EXPIRES - Duration::from_nanos(1));
    assert_eq!(t.mtu(), 1376);
    t.handle_timeout(t0 + PMTU_EXPIRES);
    assert_eq!((t.path_mtu(), t.mtu()), (None, 1476));
    assert_eq!(events(&mut t), [Event::MtuChanged { mtu: 1476 }]);
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn only_errors_about_our_own_packets_count() {
    let t0 = Instant::now();
    let mut t = gre(Some(42), t0);
    let mut out = vec![0u8; 2000];
    let tx = t.encapsulate(t0, &inner4(1400, true), &mut out).unwrap();
    let outer = out[..tx.len].to_vec();
    let mut relay = vec![0u8; 1500];
    // another key: another tunnel's packet
    let mut other = outer.clone();
    other[20 + 4..20 + 8].copy_from_slice(&7u32.to_be_bytes());
    let err = router_error("10.0.0.254", &other, 3, 4, 600);
    assert_eq!(
        t.handle_icmp(t0, &err, &mut relay),
        IcmpHandled::Dropped(DropReason::KeyMismatch {
            expected: Some(42),
            found: Some(7)
        })
    );
    // a quote of a packet between other addresses
    let mut stranger = outer.clone();
    stranger[16..20].copy_from_slice(&[10, 0, 0, 3]);
    let err = router_error("10.0.0.254", &stranger, 3, 4, 600);
    assert!(matches!(
        t.handle_icmp(t0, &err, &mut relay),
        IcmpHandled::Dropped(DropReason::NotForThisTunnel { .. })
    ));
    // ICMPv6 on an IPv4 tunnel, and a corrupted checksum
    let mut bad = router_error("10.0.0.254", &outer, 3, 4, 600);
    bad[22] ^= 0xff;
    assert!(matches!(
        t.handle_icmp(t0, &bad, &mut relay),
        IcmpHandled::Dropped(DropReason::Malformed(_))
    ));
    assert_eq!((t.mtu(), t.path_mtu()), (1472, None), "nothing learnt");
    // a genuine one with an absurd MTU is floored at 552 (Linux min_pmtu)
    let err = router_error("10.0.0.254", &outer, 3, 4, 100);
    assert!(matches!(
        t.handle_icmp(t0, &err, &mut relay),
        IcmpHandled::Relay { .. }
    ));
    assert_eq!((t.path_mtu(), t.mtu()), (Some(552), 552 - 28));
    // a higher value later does not raise it (only the expiry does)
    let err = router_error("10.0.0.254", &outer, 3, 4, 1300);
    t.handle_icmp(t0, &err, &mut relay);
    assert_eq!(t.path_mtu(), Some(552));
    // "next-hop MTU 0" (pre-RFC 1191 router): the plateau below the offending size
    let mut t = gre(Some(42), t0);
    let err = router_error("10.0.0.254", &outer, 3, 4, 0);
    t.handle_icmp(t0, &err, &mut relay);
    assert_eq!(t.path_mtu(), Some(1006), "plateau below 1432");
}

#[test]
fn unreachable_and_time_exceeded_are_relayed_as_host_unreachable() {
    let t0 = Instant::now();
    let mut t = gre(None, t0);
    let mut out = vec![0u8; 2000];
    let tx = t.encapsulate(t0, &inner4(100, false), &mut out).unwrap();
    let outer = out[..tx.len].to_vec();
    let mut relay = vec![0u8; 1500];
    for (ty, code) in [(3, 0), (3, 1), (3, 3), (11, 0)] {
        let err = router_error("10.0.0.254", &outer, ty, code, 0);
        let IcmpHandled::Relay { len, .. } = t.handle_icmp(t0, &err, &mut relay) else {
            panic!("{ty}/{code} not relayed")
        };
        let (e, qr) = IcmpErrorRepr::parse(&relay[..len]).unwrap();
        assert_eq!((e.icmp_type, e.code), (3, 1), "{ty}/{code}");
        assert_eq!(&relay[qr], &inner4(100, false)[..]);
    }
    // parameter problem and source quench are not relayed (RFC 2003 section 4.1)
    for ty in [12, 4] {
        let err = router_error("10.0.0.254", &outer, ty, 0, 0);
        assert_eq!(t.handle_icmp(t0, &err, &mut relay), IcmpHandled::Absorbed);
    }
    // a quote cut before the inner header: nothing to relay
    let err = router_error("10.0.0.254", &outer[..20 + 4 + 8], 3, 1, 0);
    assert_eq!(t.handle_icmp(t0, &err, &mut relay), IcmpHandled::Absorbed);
    assert_eq!(t.stats().icmp_errors, 7);
    assert_eq!(t.stats().icmp_relayed, 4);
}

#[test]
fn gre6_packet_too_big_is_relayed_as_icmpv6() {
    let t0 = Instant::now();
    let mut c = TunnelConfig::new(TunnelKind::Gre6, ip("fd00::1"), Some(ip("fd00::2")));
    c.keepalive = None;
    let mut t = Tunnel::new(c, t0).unwrap();
    let mut inner = vec![0u8; 1456];
    Ipv6Repr {
        traffic_class: 0,
        flow_label: 0,
        payload_len: 1416,
        next_header: 58,
        hop_limit: 64,
        src: "fd01::1".parse().unwrap(),
        dst: "fd02::2".parse().unwrap(),
    }
    .emit(&mut inner)
    .unwrap();
    let mut out = vec![0u8; 2000];
    let tx = t.encapsulate(t0, &inner, &mut out).unwrap();
    let outer = &out[..tx.len];
    let e = IcmpErrorRepr {
        src: ip("fd00::fe"),
        dst: ip("fd00::1"),
        v6: true,
        icmp_type: icmp::ICMPV6_PACKET_TOO_BIG,
        code: 0,
        rest: 1400,
    };
    let mut err = vec![0u8; 1280];
    let n = e.emit(&outer[..1232], &mut err).unwrap();
    let mut relay = vec![0u8; 1500];
    let IcmpHandled::Relay { len, payload } = t.handle_icmp(t0, &err[..n], &mut relay) else {
        panic!()
    };
    assert_eq!(payload, Payload::Ipv6);
    assert_eq!(t.mtu(), 1400 - 44);
    let (r, _) = IcmpErrorRepr::parse(&relay[..len]).unwrap();
    assert_eq!(
        (r.icmp_type, r.mtu(), r.dst),
        (2, Some(1356), ip("fd01::1"))
    );
    assert_eq!(r.src, ip("fd00::fe"), "relayed from the reporting router");
    // the tunnel's own "packet too big" for the next one: no interface address set, so it
    // comes from the inner destination
    let (n, _) = t.too_big_reply(&inner, &mut relay).unwrap();
    let (r, _) = IcmpErrorRepr::parse(&relay[..n]).unwrap();
    assert_eq!((r.src, r.mtu()), (ip("fd02::2"), Some(1356)));
    assert!(len <= 1280, "an ICMPv6 error fits the minimum MTU");
    // the same error as ICMPv4 would be for another tunnel family
    let mut v4 = gre(None, t0);
    assert!(matches!(
        v4.handle_icmp(t0, &err[..n], &mut relay),
        IcmpHandled::Dropped(DropReason::WrongProtocol { .. })
    ));
}

#[test]
fn ethernet_tunnels_learn_the_path_mtu_without_relaying() {
    let t0 = Instant::now();
    let mut c = TunnelConfig::new(TunnelKind::Eoip, ip("10.0.0.1"), Some(ip("10.0.0.2")));
    c.keepalive = None;
    c.tunnel_id = 9;
    let mut t = Tunnel::new(c, t0).unwrap();
    let mut frame = vec![0u8; 14];
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&inner4(1400, true));
    let mut out = vec![0u8; 2000];
    let tx = t.encapsulate(t0, &frame, &mut out).unwrap();
    let err = router_error("10.0.0.254", &out[..tx.len], 3, 4, 1400);
    let mut relay = vec![0u8; 1500];
    assert_eq!(t.handle_icmp(t0, &err, &mut relay), IcmpHandled::Absorbed);
    assert_eq!(t.mtu(), 1400 - 42);
}
