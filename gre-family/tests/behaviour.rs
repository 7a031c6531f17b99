//! Checkable behaviours of the spec (section 3) on single tunnels: outer header fields,
//! clamp-tcp-mss, 6to4 mapping, typed drops on bad input, caller-buffer rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use gre_family::wire::gre::GreRepr;
use gre_family::wire::ip::{Ipv4Repr, Ipv6Repr};
use gre_family::wire::{checksum_fold, checksum_sum};
use gre_family::{
    Decapsulated, DontFragment, DropReason, Dscp, Error, Payload, Tunnel, TunnelConfig, TunnelKind,
    WireError,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn gre(local: &str, remote: &str) -> TunnelConfig {
    let mut c = TunnelConfig::new(TunnelKind::Gre, ip(local), Some(ip(remote)));
    c.keepalive = None;
    c
}

fn ipv4(tos: u8, df: bool, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = Ipv4Repr::new(
        Ipv4Addr::new(10, 1, 101, 5),
        Ipv4Addr::new(10, 1, 202, 7),
        proto,
        payload.len(),
    );
    r.dscp = tos >> 2;
    r.dont_fragment = df;
    let mut p = vec![0u8; 20 + payload.len()];
    r.emit(&mut p).unwrap();
    p[20..].copy_from_slice(payload);
    p
}

fn syn_with_mss(mss: u16) -> Vec<u8> {
    let mut tcp = vec![0u8; 24];
    tcp[0..2].copy_from_slice(&1234u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
    tcp[12] = 6 << 4;
    tcp[13] = 0x02;
    tcp[20..24].copy_from_slice(&[2, 4, (mss >> 8) as u8, mss as u8]);
    let mut p = ipv4(0, true, 6, &tcp);
    let c = tcp_checksum(&p);
    p[36..38].copy_from_slice(&c.to_be_bytes());
    assert_eq!(tcp_checksum(&p), 0);
    p
}

/// Checksum over pseudo-header + segment (0 when the stored checksum is right, after filling).
fn tcp_checksum(p: &[u8]) -> u16 {
    let mut ph = p[12..20].to_vec();
    ph.extend_from_slice(&[0, 6]);
    ph.extend_from_slice(&((p.len() - 20) as u16).to_be_bytes());
    checksum_fold(checksum_sum(&ph) + checksum_sum(&p[20..]))
}

#[test]
fn outer_header_fields_dscp_df_ttl() {
    let now = Instant::now();
    let inner = ipv4(46 << 2, true, 17, &[0; 8]);
    let mut out = [0u8; 100];
    // defaults: dscp inherit, dont-fragment no, ttl 255
    let mut t = Tunnel::new(gre("192.168.80.1", "192.168.90.1"), now).unwrap();
    let tr = t.encapsulate(now, &inner, &mut out).unwrap();
    assert_eq!(tr.len, 24 + inner.len());
    assert_eq!(tr.dst, ip("192.168.90.1"));
    let (o, r) = Ipv4Repr::parse(&out[..tr.len]).unwrap();
    assert_eq!(
        (o.dscp, o.dont_fragment, o.ttl, o.protocol),
        (46, false, 255, 47)
    );
    assert_eq!(r, 20..tr.len);
    assert_eq!(&out[20..24], &[0, 0, 0x08, 0x00]);
    assert_eq!(&out[24..tr.len], &inner[..]);
    // dscp fixed, dont-fragment inherit, ttl 64
    let mut c = gre("192.168.80.1", "192.168.90.1");
    c.dscp = Dscp::Fixed(10);
    c.dont_fragment = DontFragment::Inherit;
    c.ttl = 64;
    let mut t = Tunnel::new(c, now).unwrap();
    let tr = t.encapsulate(now, &inner, &mut out).unwrap();
    let (o, _) = Ipv4Repr::parse(&out[..tr.len]).unwrap();
    assert_eq!((o.dscp, o.dont_fragment, o.ttl), (10, true, 64));
    let no_df = ipv4(0, false, 17, &[0; 8]);
    let tr = t.encapsulate(now, &no_df, &mut out).unwrap();
    assert!(!Ipv4Repr::parse(&out[..tr.len]).unwrap().0.dont_fragment);
}

#[test]
fn eoipv6_outer_header_and_ethernet_dscp_inheritance() {
    let now = Instant::now();
    let mut c = TunnelConfig::new(TunnelKind::Eoipv6, ip("fd00::1"), Some(ip("fd00::2")));
    c.keepalive = None;
    c.tunnel_id = 0xabc;
    let mut t = Tunnel::new(c, now).unwrap();
    assert_eq!(t.mtu(), 1500 - 40 - 2 - 14);
    let mut frame = vec![0u8; 14];
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    frame.extend(ipv4(34 << 2, true, 17, &[1; 10]));
    let mut out = [0u8; 200];
    let tr = t.encapsulate(now, &frame, &mut out).unwrap();
    let (o, r) = Ipv6Repr::parse(&out[..tr.len]).unwrap();
    assert_eq!(
        (o.next_header, o.traffic_class >> 2, o.hop_limit),
        (97, 34, 255)
    );
    assert_eq!(&out[r.start..r.start + 2], &[0xa3, 0xbc]);
    assert_eq!(&out[r.start + 2..tr.len], &frame[..]);
}

#[test]
fn clamp_tcp_mss_applies_after_decapsulation_only() {
    // seed L539: the encapsulated packet keeps the original MSS; only the decapsulated copy
    // is clamped (spec vector: MSS 1460 through a 1476-MTU GRE tunnel -> 1436)
    let now = Instant::now();
    let mut a = Tunnel::new(gre("10.0.0.1", "10.0.0.2"), now).unwrap();
    let mut b = Tunnel::new(gre("10.0.0.2", "10.0.0.1"), now).unwrap();
    let syn = syn_with_mss(1460);
    let mut out = [0u8; 200];
    let tr = a.encapsulate(now, &syn, &mut out).unwrap();
    assert_eq!(
        &out[24 + 40..24 + 44],
        &[2, 4, 0x05, 0xb4],
        "wire copy keeps 1460"
    );
    let mut wire = out[..tr.len].to_vec();
    let Decapsulated::Packet {
        range,
        payload,
        mss_clamped,
    } = b.decapsulate(now, &mut wire)
    else {
        panic!()
    };
    assert_eq!(payload, Payload::Ipv4);
    assert_eq!(mss_clamped, Some((1460, 1436)));
    let inner = &wire[range];
    assert_eq!(&inner[40..44], &[2, 4, 0x05, 0x9c]);
    assert_eq!(tcp_checksum(inner), 0, "TCP checksum still valid");
    assert_eq!(b.stats().mss_clamped, 1);
    // clamp-tcp-mss=no leaves it alone
    let mut c = gre("10.0.0.2", "10.0.0.1");
    c.clamp_tcp_mss = false;
    let mut b2 = Tunnel::new(c, now).unwrap();
    let mut wire = out[..tr.len].to_vec();
    assert!(matches!(
        b2.decapsulate(now, &mut wire),
        Decapsulated::Packet {
            mss_clamped: None,
            ..
        }
    ));
}

#[test]
fn automatic_6to4_maps_2002_destinations() {
    let now = Instant::now();
    let mut c = TunnelConfig::new(TunnelKind::SixToFour, ip("10.0.1.1"), None);
    c.keepalive = None;
    let mut r1 = Tunnel::new(c, now).unwrap();
    // seed L567/L581: R1 2002:a00:101:: pings R2 2002:a00:201::
    let mut p = vec![0u8; 48];
    let r = Ipv6Repr {
        traffic_class: 0,
        flow_label: 0,
        payload_len: 8,
        next_header: 58,
        hop_limit: 64,
        src: "2002:a00:101::".parse().unwrap(),
        dst: "2002:a00:201::".parse().unwrap(),
    };
    r.emit(&mut p).unwrap();
    let mut out = [0u8; 100];
    let tr = r1.encapsulate(now, &p, &mut out).unwrap();
    assert_eq!(tr.dst, ip("10.0.2.1"));
    let (o, _) = Ipv4Repr::parse(&out[..tr.len]).unwrap();
    assert_eq!((o.protocol, o.dst), (41, Ipv4Addr::new(10, 0, 2, 1)));
    // outside 2002::/16 there is no route
    let mut q = p.clone();
    let r2 = Ipv6Repr {
        dst: "2001:db8::1".parse().unwrap(),
        ..r
    };
    r2.emit(&mut q).unwrap();
    assert_eq!(
        r1.encapsulate(now, &q, &mut out),
        Err(Error::No6to4Route("2001:db8::1".parse().unwrap()))
    );
    // R2 receives it; a spoofed 2002:: source (embedding another IPv4) is dropped
    let mut c2 = TunnelConfig::new(TunnelKind::SixToFour, ip("10.0.2.1"), None);
    c2.keepalive = None;
    let mut r2t = Tunnel::new(c2, now).unwrap();
    let mut wire = out[..tr.len].to_vec();
    assert!(matches!(
        r2t.decapsulate(now, &mut wire),
        Decapsulated::Packet {
            payload: Payload::Ipv6,
            ..
        }
    ));
    let spoof = Ipv6Repr {
        src: "2002:a00:909::".parse().unwrap(),
        ..r
    };
    spoof.emit(&mut p).unwrap();
    let tr = r1.encapsulate(now, &p, &mut out).unwrap();
    let mut wire = out[..tr.len].to_vec();
    assert_eq!(
        r2t.decapsulate(now, &mut wire),
        Decapsulated::Dropped(DropReason::SpoofedSource)
    );
}

#[test]
fn configured_6to4_sends_everything_to_remote() {
    // seed L607: Hurricane Electric example, mtu 1280
    let now = Instant::now();
    let mut c = TunnelConfig::new(
        TunnelKind::SixToFour,
        ip("194.105.56.170"),
        Some(ip("216.66.80.90")),
    );
    c.keepalive = None;
    c.mtu = gre_family::Mtu::Fixed(1280);
    let mut t = Tunnel::new(c, now).unwrap();
    let mut p = vec![0u8; 60];
    Ipv6Repr {
        traffic_class: 0,
        flow_label: 0,
        payload_len: 20,
        next_header: 58,
        hop_limit: 64,
        src: "2001:470:27:37e::2".parse().unwrap(),
        dst: "2001:4860:4860::8888".parse().unwrap(),
    }
    .emit(&mut p)
    .unwrap();
    let mut out = [0u8; 2000];
    assert_eq!(
        t.encapsulate(now, &p, &mut out).unwrap().dst,
        ip("216.66.80.90")
    );
    let big = vec![0x60u8; 1281];
    assert_eq!(
        t.encapsulate(now, &big, &mut out),
        Err(Error::TooBig {
            len: 1281,
            mtu: 1280
        })
    );
}

#[test]
fn bad_input_gives_typed_drops() {
    let now = Instant::now();
    let mut c = gre("10.0.0.2", "10.0.0.1");
    c.key = Some(5);
    let mut b = Tunnel::new(c.clone(), now).unwrap();
    let mut a_cfg = gre("10.0.0.1", "10.0.0.2");
    a_cfg.key = Some(5);
    a_cfg.checksum = true;
    let mut a = Tunnel::new(a_cfg, now).unwrap();
    let inner = ipv4(0, false, 17, &[9; 30]);
    let mut out = [0u8; 200];
    let n = a.encapsulate(now, &inner, &mut out).unwrap().len;
    let good = out[..n].to_vec();
    assert!(matches!(
        b.decapsulate(now, &mut good.clone()),
        Decapsulated::Packet { .. }
    ));

    type Check = fn(&DropReason) -> bool;
    let mut cases: Vec<(Vec<u8>, Check)> = vec![];
    // truncated outer header
    cases.push((good[..10].to_vec(), |r| {
        matches!(r, DropReason::Malformed(WireError::Truncated { .. }))
    }));
    // GRE payload bit flipped: GRE checksum fails
    let mut x = good.clone();
    x[n - 1] ^= 0xff;
    cases.push((x, |r| {
        matches!(
            r,
            DropReason::Malformed(WireError::Checksum { what: "GRE", .. })
        )
    }));
    // outer header checksum broken
    let mut x = good.clone();
    x[8] = 1;
    cases.push((x, |r| {
        matches!(
            r,
            DropReason::Malformed(WireError::Checksum { what: "IPv4", .. })
        )
    }));
    // wrong version / RFC 1701 routing bit / wrong protocol / wrong source
    let with_gre = |f: &dyn Fn(&mut [u8])| {
        let mut x = good.clone();
        f(&mut x[20..]);
        x
    };
    cases.push((with_gre(&|g| g[1] = 1), |r| {
        matches!(
            r,
            DropReason::Malformed(WireError::BadVersion { found: 1, .. })
        )
    }));
    cases.push((with_gre(&|g| g[0] |= 0x40), |r| {
        matches!(
            r,
            DropReason::Malformed(WireError::Rfc1701 { routing: true, .. })
        )
    }));
    let reip = |f: &dyn Fn(&mut Ipv4Repr)| {
        let (mut o, _) = Ipv4Repr::parse(&good).unwrap();
        f(&mut o);
        let mut x = good.clone();
        o.emit(&mut x).unwrap();
        x
    };
    cases.push((reip(&|o| o.protocol = 4), |r| {
        matches!(
            r,
            DropReason::WrongProtocol {
                expected: 47,
                found: 4
            }
        )
    }));
    cases.push((reip(&|o| o.src = Ipv4Addr::new(10, 0, 0, 9)), |r| {
        matches!(r, DropReason::NotForThisTunnel { .. })
    }));
    cases.push((reip(&|o| o.more_fragments = true), |r| {
        matches!(r, DropReason::Fragment)
    }));
    for (i, (mut pkt, check)) in cases.into_iter().enumerate() {
        match b.decapsulate(now, &mut pkt) {
            Decapsulated::Dropped(r) => assert!(check(&r), "case {i}: {r:?}"),
            other => panic!("case {i}: not dropped: {other:?}"),
        }
    }
    // wrong key and unsupported payload type
    let mut c2 = c.clone();
    c2.key = Some(6);
    let mut b2 = Tunnel::new(c2, now).unwrap();
    assert_eq!(
        b2.decapsulate(now, &mut good.clone()),
        Decapsulated::Dropped(DropReason::KeyMismatch {
            expected: Some(6),
            found: Some(5)
        })
    );
    let mut x = vec![0u8; 20 + 8 + 10];
    GreRepr {
        key: Some(5),
        ..GreRepr::new(0x6558)
    }
    .emit(&mut x[20..])
    .unwrap();
    let mut o = Ipv4Repr::new(
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        47,
        18,
    );
    o.ttl = 64;
    o.emit(&mut x).unwrap();
    assert_eq!(
        b.decapsulate(now, &mut x),
        Decapsulated::Dropped(DropReason::UnsupportedPayload { protocol: 0x6558 })
    );
    assert_eq!(b.stats().drops(), 9); // 8 cases + the unsupported payload (the key case hit b2)
    assert!(b.is_running(), "bad input never changes the running flag");
}

#[test]
fn caller_buffer_rules() {
    let now = Instant::now();
    let mut t = Tunnel::new(gre("10.0.0.1", "10.0.0.2"), now).unwrap();
    let inner = ipv4(0, false, 17, &[1; 100]);
    let mut small = [0xeeu8; 143];
    assert_eq!(
        t.encapsulate(now, &inner, &mut small),
        Err(Error::BufferTooSmall {
            need: 144,
            have: 143
        })
    );
    assert!(small.iter().all(|&b| b == 0xee), "buffer untouched");
    // in place: headers go into the headroom
    let mut buf = vec![0u8; t.overhead() + inner.len()];
    buf[t.overhead()..].copy_from_slice(&inner);
    let tr = t.encapsulate_in_place(now, &mut buf, inner.len()).unwrap();
    assert_eq!(tr.len, buf.len());
    assert_eq!(&buf[20..24], &[0, 0, 8, 0]);
    // not IP, too big, unresolved local address
    assert!(matches!(
        t.encapsulate(now, &[0x11; 40], &mut [0; 100]),
        Err(Error::Unsupported { tunnel: "gre", .. })
    ));
    assert!(matches!(
        t.encapsulate(now, &vec![0x45; 1477], &mut [0; 2000]),
        Err(Error::TooBig {
            len: 1477,
            mtu: 1476
        })
    ));
    let mut u = Tunnel::new(gre("0.0.0.0", "10.0.0.2"), now).unwrap();
    assert_eq!(
        u.encapsulate(now, &inner, &mut [0; 200]),
        Err(Error::LocalAddressUnset)
    );
    u.set_local_address(ip("10.0.0.1")).unwrap();
    assert!(u.encapsulate(now, &inner, &mut [0; 200]).is_ok());
    // a keepalive that does not fit stays queued
    let mut k = gre("10.0.0.1", "10.0.0.2");
    k.keepalive = Some(gre_family::Keepalive::DEFAULT);
    let mut kt = Tunnel::new(k, now).unwrap();
    kt.handle_timeout(now);
    assert_eq!(
        kt.poll_transmit(now, &mut [0; 10]),
        Err(Error::BufferTooSmall { need: 48, have: 10 })
    );
    let mut kb = [0u8; 64];
    let tr = kt.poll_transmit(now, &mut kb).unwrap().unwrap();
    // Cisco keepalive: outer IPv4 10.0.0.1 -> 10.0.0.2 / GRE 0x0800 / IPv4 10.0.0.2 -> 10.0.0.1 / GRE 0x0000
    assert_eq!(tr.len, 48);
    assert_eq!(&kb[20..24], &[0, 0, 8, 0]);
    assert_eq!(&kb[24 + 12..24 + 20], &[10, 0, 0, 2, 10, 0, 0, 1]);
    assert_eq!(kb[24 + 9], 47);
    assert_eq!(&kb[44..48], &[0, 0, 0, 0]);
    assert_eq!(kt.poll_transmit(now, &mut kb), Ok(None));
    // a fixed mtu near 65535 still never yields an outer packet longer than 16 bits allow
    let mut big = gre("10.0.0.1", "10.0.0.2");
    big.mtu = gre_family::Mtu::Fixed(65535);
    let mut bt = Tunnel::new(big, now).unwrap();
    let mut jumbo = vec![0u8; 65535 - 23];
    jumbo[0] = 0x45;
    assert_eq!(
        bt.encapsulate(now, &jumbo, &mut vec![0; 70000]),
        Err(Error::TooBig {
            len: 65512,
            mtu: 65511
        })
    );
    jumbo.pop();
    assert_eq!(
        bt.encapsulate(now, &jumbo, &mut vec![0; 70000])
            .unwrap()
            .len,
        65535
    );
}

#[test]
fn demux_keys_of_packets_match_their_tunnels() {
    use gre_family::wire::demux::DemuxKey;
    let now = Instant::now();
    let mut cfgs = vec![];
    let mut k = gre("10.0.0.1", "10.0.0.2");
    k.key = Some(42);
    k.checksum = true;
    cfgs.push(k);
    cfgs.push(gre("10.0.0.1", "10.0.0.2"));
    for (kind, l, r) in [
        (TunnelKind::Eoip, "10.0.0.1", "10.0.0.2"),
        (TunnelKind::Eoipv6, "fd00::1", "fd00::2"),
        (TunnelKind::Ipip, "10.0.0.1", "10.0.0.2"),
    ] {
        let mut c = TunnelConfig::new(kind, ip(l), Some(ip(r)));
        c.keepalive = None;
        c.tunnel_id = 3000;
        cfgs.push(c);
    }
    let tunnels: Vec<Tunnel> = cfgs
        .into_iter()
        .map(|c| Tunnel::new(c, now).unwrap())
        .collect();
    let mut map = std::collections::HashMap::new();
    for (i, t) in tunnels.iter().enumerate() {
        assert!(map.insert(t.demux_key(), i).is_none(), "keys are distinct");
    }
    for (i, t) in tunnels.iter().enumerate() {
        // the peer's packet, as the peer tunnel (addresses swapped) would send it
        let mut c = t.config().clone();
        let (l, r) = (c.local, c.remote.unwrap());
        c.local = r;
        c.remote = Some(l);
        let mut peer = Tunnel::new(c, now).unwrap();
        let inner = if t.config().kind.is_ethernet() {
            let mut f = vec![0u8; 60];
            f[12] = 0x88;
            f
        } else {
            ipv4(0, false, 17, &[0; 10])
        };
        let mut out = [0u8; 200];
        let tx = peer.encapsulate(now, &inner, &mut out).unwrap();
        let key = DemuxKey::of_packet(&out[..tx.len]).unwrap();
        assert_eq!(map.get(&key), Some(&i), "{key:?}");
    }
    // automatic 6to4 registers a wildcard remote
    let mut c = TunnelConfig::new(TunnelKind::SixToFour, ip("10.0.1.1"), None);
    c.keepalive = None;
    let t = Tunnel::new(c, now).unwrap();
    assert_eq!(t.demux_key().remote, ip("0.0.0.0"));
    assert!(DemuxKey::of_packet(&[0x45, 0]).is_err());
}
