//! Pair tests over the simulated link (netsim): both ends of every tunnel type, virtual time,
//! keepalive timeouts asserted to the nanosecond.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use gre_family::{DownReason, DropReason, Event, Keepalive, TunnelConfig, TunnelKind};
use netsim::gre::GreNode;
use netsim::{LinkConfig, Pair};

type Side = GreNode;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cfgs(kind: TunnelKind, ka: Option<Keepalive>) -> (TunnelConfig, TunnelConfig) {
    let (a, b) = if kind.outer_is_ipv6() {
        (ip("fd00:97:50::1"), ip("fd00:97:50::2"))
    } else {
        (ip("10.97.50.1"), ip("10.97.50.2"))
    };
    let mut ca = TunnelConfig::new(kind, a, Some(b));
    let mut cb = TunnelConfig::new(kind, b, Some(a));
    ca.keepalive = ka;
    cb.keepalive = ka;
    ca.tunnel_id = 100;
    cb.tunnel_id = 100;
    (ca, cb)
}

fn pair(kind: TunnelKind, ka: Option<Keepalive>, link: LinkConfig, seed: u64) -> Pair<Side, Side> {
    let start = Instant::now();
    let (ca, cb) = cfgs(kind, ka);
    Pair::with_start(
        Side::new(ca, start).unwrap(),
        Side::new(cb, start).unwrap(),
        link.clone(),
        link,
        seed,
        start,
    )
}

const KA: Keepalive = Keepalive {
    interval: Duration::from_secs(10),
    retries: 3,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The keepalive scenario for one tunnel type. `rtt_up` is when a side first sees the peer's
/// keepalive: one link delay (10 ms) for EoIP-style one-way keepalives, two for the
/// reflected GRE/IPIP/6to4 form.
fn keepalive_down_and_up(kind: TunnelKind, up_after: Duration) {
    let mut p = pair(kind, Some(KA), LinkConfig::perfect(), 1);
    assert!(!p.a.t.is_running() && !p.b.t.is_running());
    p.run_for(Duration::from_secs(35));
    assert_eq!(p.a.events, vec![(up_after, Event::Up)], "{kind:?}");
    assert_eq!(p.b.events, vec![(up_after, Event::Up)], "{kind:?}");
    assert!(p.a.t.is_running() && p.b.t.is_running());
    // the peer disappears at t = 35 s; the last keepalive seen arrived at 30 s + up_after
    p.set_cut(true);
    p.run_for(Duration::from_secs(60));
    let down_at = Duration::from_secs(30) + up_after + KA.timeout();
    let down = Event::Down {
        reason: DownReason::KeepaliveTimeout {
            silent_for: Duration::from_secs(30),
        },
    };
    assert_eq!(p.a.events[1..], [(down_at, down)], "{kind:?}");
    assert_eq!(p.b.events[1..], [(down_at, down)], "{kind:?}");
    assert!(!p.a.t.is_running());
    // keepalives keep being sent while down; the peer returns at 95 s and the 100 s keepalive
    // brings both sides up again
    let sent_before = p.a.t.stats().tx_keepalives;
    p.set_cut(false);
    p.run_for(Duration::from_secs(10));
    assert_eq!(p.a.t.stats().tx_keepalives, sent_before + 1);
    let up_again = Duration::from_secs(100) + up_after;
    assert_eq!(p.a.events[2..], [(up_again, Event::Up)], "{kind:?}");
    assert_eq!(p.b.events[2..], [(up_again, Event::Up)], "{kind:?}");
    assert!(p.a.drops.is_empty() && p.b.drops.is_empty());
}

#[test]
fn gre_keepalive_timeout_and_recovery_exact_times() {
    keepalive_down_and_up(TunnelKind::Gre, ms(20));
}

#[test]
fn eoip_keepalive_timeout_and_recovery_exact_times() {
    keepalive_down_and_up(TunnelKind::Eoip, ms(10));
}

#[test]
fn eoipv6_keepalive_timeout_and_recovery_exact_times() {
    keepalive_down_and_up(TunnelKind::Eoipv6, ms(10));
}

#[test]
fn ipip_keepalive_timeout_and_recovery_exact_times() {
    keepalive_down_and_up(TunnelKind::Ipip, ms(20));
}

#[test]
fn sixtofour_keepalive_timeout_and_recovery_exact_times() {
    keepalive_down_and_up(TunnelKind::SixToFour, ms(20));
}

#[test]
fn gre6_keepalive_timeout_and_recovery_exact_times() {
    keepalive_down_and_up(TunnelKind::Gre6, ms(20));
}

#[test]
fn ipipv6_keepalive_timeout_and_recovery_exact_times() {
    keepalive_down_and_up(TunnelKind::Ipipv6, ms(20));
}

/// A with keepalive, B without: B (like a Cisco router, or Linux with forwarding on) only
/// routes the inner keepalive packet back. After 25 s (keepalives at 0, 10, 20 s).
fn one_sided(kind: TunnelKind, seed: u64) -> Pair<Side, Side> {
    let start = Instant::now();
    let (ca, mut cb) = cfgs(kind, Some(KA));
    cb.keepalive = None;
    let mut p = Pair::with_start(
        Side::new(ca, start).unwrap(),
        Side::new(cb, start).unwrap(),
        LinkConfig::perfect(),
        LinkConfig::perfect(),
        seed,
        start,
    );
    p.run_for(Duration::from_secs(25));
    assert_eq!(p.a.events, vec![(ms(20), Event::Up)], "{kind:?}");
    assert_eq!(p.b.t.stats().reflected, 3, "{kind:?}");
    assert_eq!(p.b.t.stats().tx_keepalives, 0, "{kind:?}");
    assert!(p.b.t.is_running());
    p
}

#[test]
fn one_sided_gre6_keepalive_is_reflected_over_ipv6() {
    let p = one_sided(TunnelKind::Gre6, 4);
    // the reflected packet is an IPv6 GRE packet from B to A carrying GRE type 0
    let reflected = p.trace.iter().find(|t| t.dir == netsim::Dir::BtoA).unwrap();
    assert_eq!(reflected.data[0] >> 4, 6);
    assert_eq!(reflected.data[6], 47);
    assert_eq!(&reflected.data[42..44], &[0, 0], "GRE protocol type 0");
}

#[test]
fn one_sided_gre_keepalive_works_with_a_peer_without_keepalive() {
    // Cisco-style: B has no keepalive configured, it only routes the inner packet back.
    one_sided(TunnelKind::Gre, 3);
}

#[test]
fn without_keepalive_the_tunnel_stays_running_when_the_peer_is_gone() {
    // seed L765/L802: stateless tunnels keep the running flag
    let mut p = pair(TunnelKind::Gre, None, LinkConfig::perfect(), 1);
    assert!(p.a.t.is_running());
    p.set_cut(true);
    p.run_for(Duration::from_secs(1000));
    assert!(p.a.t.is_running() && p.a.events.is_empty());
    assert_eq!(p.a.t.poll_timeout(), None);
}

#[test]
fn retries_zero_sends_but_never_goes_down() {
    let ka = Keepalive {
        interval: Duration::from_secs(5),
        retries: 0,
    };
    let mut p = pair(TunnelKind::Eoip, Some(ka), LinkConfig::perfect(), 1);
    p.set_cut(true);
    p.run_for(Duration::from_secs(100));
    assert!(p.a.t.is_running());
    assert_eq!(p.a.t.stats().tx_keepalives, 21); // t = 0, 5, ..., 100
}

#[test]
fn mismatched_eoip_tunnel_id_never_comes_up() {
    let start = Instant::now();
    let (ca, mut cb) = cfgs(TunnelKind::Eoip, Some(KA));
    cb.tunnel_id = 101;
    let mut p = Pair::with_start(
        Side::new(ca, start).unwrap(),
        Side::new(cb, start).unwrap(),
        LinkConfig::perfect(),
        LinkConfig::perfect(),
        1,
        start,
    );
    p.a.app_out.push_back(eth_frame(60, 1));
    p.run_for(Duration::from_secs(30));
    assert!(!p.a.t.is_running() && !p.b.t.is_running());
    assert!(p.b.delivered.is_empty());
    assert_eq!(
        p.b.drops[0],
        DropReason::TunnelIdMismatch {
            expected: 101,
            found: 100
        }
    );
    // keepalives sent at 0, 10, 20 s arrive; the one sent at 30 s is still in flight
    assert_eq!(p.b.t.stats().drop_id_mismatch, 4); // 3 keepalives + 1 frame
}

fn eth_frame(len: usize, tag: u8) -> Vec<u8> {
    let mut f = vec![tag; len];
    f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x88, 0xb5]); // local experimental ethertype
    f
}

fn ipv4_packet(len: usize, tag: u8) -> Vec<u8> {
    let mut p = vec![tag; len];
    p[..20].copy_from_slice(&[
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 1, 1, 1, 10, 2, 2, 2,
    ]);
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p
}

fn ipv6_packet(len: usize, tag: u8, src: &str, dst: &str) -> Vec<u8> {
    let mut p = vec![tag; len];
    p[..8].copy_from_slice(&[0x60, 0, 0, 0, 0, 0, 17, 64]);
    p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
    p[8..24].copy_from_slice(&src.parse::<std::net::Ipv6Addr>().unwrap().octets());
    p[24..40].copy_from_slice(&dst.parse::<std::net::Ipv6Addr>().unwrap().octets());
    p
}

/// Data through every tunnel type over a hostile link: whatever arrives is exactly what was
/// sent (duplicates and reordering are the link's; the tunnels are stateless).
#[test]
fn data_over_lossy_link_arrives_intact_for_every_type() {
    for (kind, mk) in [
        (TunnelKind::Gre, 0u8),
        (TunnelKind::GreTap, 1),
        (TunnelKind::Eoip, 1),
        (TunnelKind::Eoipv6, 1),
        (TunnelKind::Ipip, 0),
        (TunnelKind::SixToFour, 2),
    ] {
        let ka = if kind == TunnelKind::GreTap {
            None
        } else {
            Some(KA)
        };
        let mut p = pair(kind, ka, LinkConfig::lossy(0.3), 42);
        let mut sent = vec![];
        for i in 0..50u8 {
            let len = 64 + usize::from(i) * 28;
            let pkt = match mk {
                0 => ipv4_packet(len, i),
                1 => eth_frame(len, i),
                _ => ipv6_packet(len, i, "2001:db8::1", "2001:db8::2"),
            };
            sent.push(pkt.clone());
            p.a.app_out.push_back(pkt);
        }
        p.run_for(Duration::from_secs(5));
        let got = &p.b.delivered;
        assert!(got.len() > 25, "{kind:?}: {} delivered", got.len());
        for (_, _, g) in got {
            assert!(sent.contains(g), "{kind:?}: corrupted delivery");
        }
        assert!(p.b.drops.is_empty(), "{kind:?}: {:?}", p.b.drops);
    }
}

#[test]
fn gre_sequence_checking_drops_reordered_packets() {
    let start = Instant::now();
    let (mut ca, mut cb) = cfgs(TunnelKind::Gre, None);
    ca.sequence = true;
    ca.checksum = true;
    ca.key = Some(7);
    cb.key = Some(7);
    cb.check_sequence = true;
    let mut link = LinkConfig::perfect();
    link.reorder = 0.3;
    let mut p = Pair::with_start(
        Side::new(ca, start).unwrap(),
        Side::new(cb, start).unwrap(),
        link.clone(),
        link,
        9,
        start,
    );
    for i in 0..100u8 {
        p.a.app_out.push_back(ipv4_packet(100, i));
        p.run_for(ms(1));
    }
    p.run_for(Duration::from_secs(1));
    let reordered = p.ab.stats.reordered;
    assert!(reordered > 0);
    let oos =
        p.b.drops
            .iter()
            .filter(|d| matches!(d, DropReason::OutOfSequence { .. }))
            .count();
    assert!(oos > 0 && oos as u64 <= reordered, "{oos} vs {reordered}");
    assert_eq!(p.b.delivered.len() + oos, 100);
    // what was delivered is strictly increasing in the payload tag (= send order)
    let tags: Vec<u8> = p.b.delivered.iter().map(|d| d.2[30]).collect();
    assert!(tags.windows(2).all(|w| w[0] < w[1]));
}
