//! Real-peer captures (Linux kernel GRE, GRETAP key 42, IPIP in the kvm lab): every packet
//! decodes and re-encodes byte-exact, and the tunnel state machine configured like the
//! capturing side decapsulates the kernel's packets and produces the same outer packets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use gre_family::wire::gre::GreRepr;
use gre_family::wire::ip::Ipv4Repr;
use gre_family::wire::{ETHERTYPE_IPV4, ETHERTYPE_TEB, IPPROTO_GRE, IPPROTO_IPIP};
use gre_family::{Decapsulated, DontFragment, Payload, Tunnel, TunnelConfig, TunnelKind};

/// `../shared/captures/gre/` (see the README there for how they were made).
fn frames(name: &str) -> Vec<Vec<u8>> {
    let dir = netsim::shared_captures("gre").unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (linktype, frames) = netsim::pcap::parse(&bytes).expect("pcap parses");
    assert_eq!(
        linktype,
        netsim::pcap::LINKTYPE_ETHERNET,
        "{name}: Ethernet captures"
    );
    let out: Vec<Vec<u8>> = frames
        .into_iter()
        .map(|(_, f)| {
            assert_eq!(&f[12..14], &[0x08, 0x00], "{name}: IPv4 over Ethernet");
            f[14..].to_vec()
        })
        .collect();
    assert!(!out.is_empty());
    out
}

/// Decode an inner IPv4 packet and re-emit it (header from the Repr, payload copied).
fn reencode_ipv4(inner: &[u8]) -> Vec<u8> {
    let (ip, r) = Ipv4Repr::parse(inner).expect("inner IPv4 parses");
    assert_eq!(
        r.end,
        inner.len(),
        "no trailing bytes after the inner packet"
    );
    let mut out = vec![0u8; inner.len()];
    ip.emit(&mut out).unwrap();
    out[r.clone()].copy_from_slice(&inner[r]);
    out
}

/// Decode one outer packet completely and re-encode it from the decoded values.
fn reencode(outer: &[u8]) -> Vec<u8> {
    let (ip, r) = Ipv4Repr::parse(outer).expect("outer IPv4 parses");
    assert_eq!(r.end, outer.len());
    let body = &outer[r.clone()];
    let new_body = match ip.protocol {
        IPPROTO_GRE => {
            let (gre, hl) = GreRepr::parse(body).expect("GRE parses");
            let inner = &body[hl..];
            let new_inner = match gre.protocol {
                ETHERTYPE_IPV4 => reencode_ipv4(inner),
                ETHERTYPE_TEB => {
                    let mut f = inner[..14].to_vec();
                    if inner[12..14] == [0x08, 0x00] {
                        f.extend(reencode_ipv4(&inner[14..]));
                    } else {
                        assert_eq!(&inner[12..14], &[0x08, 0x06], "ARP");
                        f.extend_from_slice(&inner[14..]);
                    }
                    f
                }
                p => panic!("unexpected GRE protocol {p:#06x}"),
            };
            let mut b = vec![0u8; hl + new_inner.len()];
            b[hl..].copy_from_slice(&new_inner);
            assert_eq!(gre.emit(&mut b).unwrap(), hl);
            b
        }
        IPPROTO_IPIP => reencode_ipv4(body),
        p => panic!("unexpected protocol {p}"),
    };
    let mut out = vec![0u8; 20 + new_body.len()];
    ip.emit(&mut out).unwrap();
    out[20..].copy_from_slice(&new_body);
    out
}

#[test]
fn every_captured_packet_reencodes_byte_exact() {
    let mut n = 0;
    for f in [
        "kvm-gre-ipv4-icmp.pcap",
        "kvm-gretap-key42-arp-icmp.pcap",
        "kvm-ipip-icmp.pcap",
    ] {
        for (i, p) in frames(f).iter().enumerate() {
            assert_eq!(&reencode(p), p, "{f} frame {}", i + 1);
            n += 1;
        }
    }
    assert_eq!(n, 20);
}

fn tunnel(kind: TunnelKind, key: Option<u32>) -> Tunnel {
    let mut c = TunnelConfig::new(
        kind,
        IpAddr::V4(Ipv4Addr::new(10, 98, 40, 1)),
        Some(IpAddr::V4(Ipv4Addr::new(10, 98, 40, 2))),
    );
    c.keepalive = None;
    c.key = key;
    c.ttl = 64;
    c.dont_fragment = DontFragment::Inherit;
    c.clamp_tcp_mss = false;
    Tunnel::new(c, Instant::now()).unwrap()
}

/// Our side (10.98.40.1) of each capture: decapsulate what the kernel sent, and encapsulate
/// what our side sent and compare with the capture (identification and checksum differ: the
/// sender's IP ID counter is not ours).
fn check_tunnel_against(file: &str, kind: TunnelKind, key: Option<u32>, payload: Payload) {
    let mut t = tunnel(kind, key);
    let now = Instant::now();
    let (mut rx, mut tx) = (0, 0);
    for p in frames(file) {
        let from_peer = p[12..16] == [10, 98, 40, 2];
        let mut buf = p.clone();
        let d = t.decapsulate(now, &mut buf);
        if from_peer {
            let Decapsulated::Packet {
                range,
                payload: got,
                ..
            } = d
            else {
                panic!("{file}: kernel packet not delivered: {d:?}");
            };
            assert_eq!(got, payload);
            let hl = 20 + t.config().tunnel_header_len();
            assert_eq!(range, hl..p.len());
            rx += 1;
        } else {
            // our own packets are not for us (destination is the peer)
            assert!(matches!(d, Decapsulated::Dropped(_)));
            let hl = t.overhead();
            let mut out = vec![0u8; p.len()];
            let tr = t.encapsulate(now, &p[hl..], &mut out).unwrap();
            assert_eq!(tr.len, p.len());
            assert_eq!(tr.dst, IpAddr::V4(Ipv4Addr::new(10, 98, 40, 2)));
            // Linux sets DF on every outer packet (pmtudisc); RouterOS `inherit` copies the
            // inner DF, so a frame without an IP packet inside (ARP) goes out without DF.
            let is_arp = kind == TunnelKind::GreTap && p[hl + 12..hl + 14] == [0x08, 0x06];
            let mask = |v: &[u8]| {
                let mut v = v.to_vec();
                v[4..6].fill(0);
                if is_arp {
                    v[6] &= !0x40;
                }
                v[10..12].fill(0);
                v
            };
            assert_eq!(mask(&out), mask(&p), "{file}: our encapsulation");
            Ipv4Repr::parse(&out).expect("our outer header checksum verifies");
            tx += 1;
        }
    }
    assert!(rx >= 3 && tx >= 3, "{file}: rx {rx} tx {tx}");
    assert_eq!(t.stats().rx_packets, rx);
}

#[test]
fn tunnel_matches_kernel_gre() {
    check_tunnel_against(
        "kvm-gre-ipv4-icmp.pcap",
        TunnelKind::Gre,
        None,
        Payload::Ipv4,
    );
}

#[test]
fn tunnel_matches_kernel_gretap_key42() {
    check_tunnel_against(
        "kvm-gretap-key42-arp-icmp.pcap",
        TunnelKind::GreTap,
        Some(42),
        Payload::Ethernet,
    );
}

#[test]
fn tunnel_matches_kernel_ipip() {
    check_tunnel_against("kvm-ipip-icmp.pcap", TunnelKind::Ipip, None, Payload::Ipv4);
}

#[test]
fn wrong_key_on_real_gretap_traffic_is_dropped() {
    let mut t = tunnel(TunnelKind::GreTap, Some(43));
    let mut p = frames("kvm-gretap-key42-arp-icmp.pcap")[1].clone();
    assert_eq!(
        t.decapsulate(Instant::now(), &mut p),
        Decapsulated::Dropped(gre_family::DropReason::KeyMismatch {
            expected: Some(43),
            found: Some(42)
        })
    );
}
