//! gre6 and ipipv6 (RFC 2473) on single tunnels: outer IPv6 headers, both inner families, the
//! Tunnel Encapsulation Limit option Linux puts in front of the payload, demultiplexing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use gre_family::wire::demux::DemuxKey;
use gre_family::wire::ip::{Ipv4Repr, Ipv6Repr};
use gre_family::{Decapsulated, DropReason, Dscp, Payload, Tunnel, TunnelConfig, TunnelKind};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tunnel(kind: TunnelKind, local: &str, remote: &str) -> Tunnel {
    let mut c = TunnelConfig::new(kind, ip(local), Some(ip(remote)));
    c.keepalive = None;
    c.ttl = 64;
    Tunnel::new(c, Instant::now()).unwrap()
}

fn inner4(tos: u8) -> Vec<u8> {
    let mut r = Ipv4Repr::new(
        Ipv4Addr::new(10, 1, 1, 1),
        Ipv4Addr::new(10, 2, 2, 2),
        17,
        12,
    );
    r.dscp = tos >> 2;
    let mut p = vec![0u8; 32];
    r.emit(&mut p).unwrap();
    p
}

fn inner6() -> Vec<u8> {
    let mut p = vec![0u8; 52];
    Ipv6Repr {
        traffic_class: 0xb8,
        flow_label: 0,
        payload_len: 12,
        next_header: 17,
        hop_limit: 64,
        src: "fd01::1".parse().unwrap(),
        dst: "fd02::2".parse().unwrap(),
    }
    .emit(&mut p)
    .unwrap();
    p
}

/// What Linux ip6gre / ip6tnl send: IPv6 with a Destination Options header carrying the Tunnel
/// Encapsulation Limit option (RFC 2473 section 4.1.1; Linux's default `encaplimit 4`) in
/// front of the tunnel protocol.
fn linux_style(src: &str, dst: &str, nh: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 48 + body.len()];
    Ipv6Repr {
        traffic_class: 0,
        flow_label: 0x12345,
        payload_len: 8 + body.len(),
        next_header: 60,
        hop_limit: 64,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
    }
    .emit(&mut p)
    .unwrap();
    // next header, length 0 (8 bytes), TEL option (type 4, len 1, limit 4), PadN (type 1, len 1)
    p[40..48].copy_from_slice(&[nh, 0, 4, 1, 4, 1, 1, 0]);
    p[48..].copy_from_slice(body);
    p
}

#[test]
fn gre6_carries_ipv4_and_ipv6_with_an_ipv6_outer_header() {
    let mut t = tunnel(TunnelKind::Gre6, "fd00:97:40::1", "fd00:97:40::2");
    assert_eq!((t.mtu(), t.overhead()), (1456, 44));
    let now = Instant::now();
    let mut out = [0u8; 200];
    for (inner, proto, dscp) in [
        (inner4(0x28), [0x08, 0x00], 10),
        (inner6(), [0x86, 0xdd], 46),
    ] {
        let tx = t.encapsulate(now, &inner, &mut out).unwrap();
        assert_eq!(tx.dst, ip("fd00:97:40::2"));
        let (o, r) = Ipv6Repr::parse(&out[..tx.len]).unwrap();
        assert_eq!((o.next_header, o.hop_limit), (47, 64));
        assert_eq!(o.traffic_class >> 2, dscp, "dscp inherited");
        assert_eq!(o.src, "fd00:97:40::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(&out[r.start..r.start + 4], &[0, 0, proto[0], proto[1]]);
        assert_eq!(&out[r.start + 4..tx.len], &inner[..]);
    }
    // the far end, as Linux sends it (with the encapsulation limit option)
    let mut b = tunnel(TunnelKind::Gre6, "fd00:97:40::2", "fd00:97:40::1");
    let mut gre = vec![0, 0, 0x86, 0xdd];
    gre.extend_from_slice(&inner6());
    let mut pkt = linux_style("fd00:97:40::1", "fd00:97:40::2", 47, &gre);
    match b.decapsulate(now, &mut pkt) {
        Decapsulated::Packet { range, payload, .. } => {
            assert_eq!(payload, Payload::Ipv6);
            assert_eq!(&pkt[range], &inner6()[..]);
        }
        other => panic!("{other:?}"),
    }
    // a fixed DSCP
    let mut c = TunnelConfig::new(TunnelKind::Gre6, ip("fd00::1"), Some(ip("fd00::2")));
    c.dscp = Dscp::Fixed(7);
    let mut t = Tunnel::new(c, now).unwrap();
    let tx = t.encapsulate(now, &inner4(0), &mut out).unwrap();
    assert_eq!(
        Ipv6Repr::parse(&out[..tx.len]).unwrap().0.traffic_class,
        7 << 2
    );
}

#[test]
fn ipipv6_next_header_follows_the_inner_version() {
    let mut a = tunnel(TunnelKind::Ipipv6, "fd00::1", "fd00::2");
    let mut b = tunnel(TunnelKind::Ipipv6, "fd00::2", "fd00::1");
    assert_eq!((a.mtu(), a.overhead()), (1460, 40));
    let now = Instant::now();
    let mut out = [0u8; 200];
    for (inner, nh, payload) in [(inner4(0), 4, Payload::Ipv4), (inner6(), 41, Payload::Ipv6)] {
        let tx = a.encapsulate(now, &inner, &mut out).unwrap();
        assert_eq!(tx.len, 40 + inner.len());
        assert_eq!(out[6], nh, "RFC 2473: next header 4 for IPv4, 41 for IPv6");
        let mut wire = out[..tx.len].to_vec();
        // the demux key is the same for both (one ipipv6 tunnel)
        assert_eq!(DemuxKey::of_packet(&wire).unwrap(), b.demux_key());
        match b.decapsulate(now, &mut wire) {
            Decapsulated::Packet {
                range, payload: p, ..
            } => {
                assert_eq!(p, payload);
                assert_eq!(&wire[range], &inner[..]);
            }
            other => panic!("{other:?}"),
        }
        // Linux ip6tnl's form with the encapsulation limit option
        let mut linux = linux_style("fd00::1", "fd00::2", nh, &inner);
        assert_eq!(DemuxKey::of_packet(&linux).unwrap(), b.demux_key());
        assert!(matches!(
            b.decapsulate(now, &mut linux),
            Decapsulated::Packet { .. }
        ));
    }
    // an IPv4 packet announced as IPv6 (next header 41) is refused
    let mut bad = linux_style("fd00::1", "fd00::2", 41, &inner4(0));
    assert_eq!(
        b.decapsulate(now, &mut bad),
        Decapsulated::Dropped(DropReason::InnerVersion { found: 4 })
    );
    // GRE over IPv6 is not ipipv6
    let mut gre = linux_style("fd00::1", "fd00::2", 47, &[0, 0, 8, 0]);
    assert!(matches!(
        b.decapsulate(now, &mut gre),
        Decapsulated::Dropped(DropReason::WrongProtocol { found: 47, .. })
    ));
    // an outer fragment is the host's to reassemble
    let mut frag = linux_style("fd00::1", "fd00::2", 44, &[41, 0, 0, 1, 0, 0, 0, 7]);
    assert_eq!(
        b.decapsulate(now, &mut frag),
        Decapsulated::Dropped(DropReason::Fragment)
    );
    assert_eq!(b.stats().rx_packets, 4);
}

#[test]
fn ipv6_outer_types_refuse_ipv4_addresses() {
    for kind in [TunnelKind::Gre6, TunnelKind::Ipipv6] {
        let c = TunnelConfig::new(kind, ip("10.0.0.1"), Some(ip("10.0.0.2")));
        assert!(Tunnel::new(c, Instant::now()).is_err(), "{kind:?}");
        let mut t = tunnel(kind, "fd00::1", "fd00::2");
        assert!(t.set_local_address(ip("10.0.0.1")).is_err());
        assert!(t.set_local_address(ip("fd00::5")).is_ok());
    }
}
