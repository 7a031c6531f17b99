//! Two IKE engines over the simulated link in virtual time: establishment, traffic, cookies,
//! INVALID_KE, DPD, lifetimes, rekeys and their collisions, NAT-T keepalives, fragmentation
//! under loss. Times are exact (10 ms one-way delay unless stated).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "common/pair.rs"]
mod support;

use std::time::Duration;

use ipsec_ike::config::*;
use ipsec_ike::crypto::Group;
use ipsec_ike::{ChildDownReason, DownReason, DropReason, Event};
use support::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn psk_site_to_site_comes_up_in_two_round_trips_and_carries_traffic() {
    let mut p = default_pair(1);
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    // IKE_SA_INIT at 0 -> 10 ms, answer at 20 ms; IKE_AUTH at 20 -> 30 ms (B up), 40 ms (A up).
    let a_up = p.a.events.iter().find(|(_, e)| matches!(e, Event::IkeSaUp { .. })).unwrap().0;
    let b_up = p.b.events.iter().find(|(_, e)| matches!(e, Event::IkeSaUp { .. })).unwrap().0;
    assert_eq!((a_up, b_up), (ms(40), ms(30)));
    let ca = p.a.children_up();
    let cb = p.b.children_up();
    assert_eq!(ca.len(), 1);
    assert_eq!(cb.len(), 1);
    assert_eq!(ca[0].2, cb[0].3, "A's inbound SPI is B's outbound");
    assert_eq!(ca[0].3, cb[0].2);
    // Traffic both ways through the SPD and ESP.
    let now = p.now();
    let pkt = ip4([10, 1, 0, 5], [10, 2, 0, 7], 84);
    let wire = p.a.send_packet(now, &pkt).unwrap();
    p.ab.send(now, wire);
    let back = ip4([10, 2, 0, 7], [10, 1, 0, 5], 84);
    let wire = p.b.send_packet(now, &back).unwrap();
    p.ba.send(now, wire);
    p.run_for(ms(50));
    assert_eq!(p.b.delivered.len(), 1);
    assert_eq!(p.b.delivered[0].1, pkt);
    assert_eq!(p.a.delivered[0].1, back);
    // Outside the selectors: not protected (no policy -> bypass).
    assert!(p.a.send_packet(now, &ip4([10, 9, 0, 5], [10, 2, 0, 7], 40)).is_none());
}

#[test]
fn wrong_psk_fails_on_both_sides() {
    let mut p = pair_with(
        site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "one"),
        site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "two"),
        netsim::LinkConfig::perfect(),
        2,
    );
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    assert!(p.b.events.iter().any(|(_, e)| matches!(e, Event::Failed { reason: DownReason::AuthFailed(_), .. })));
    assert!(p.a.events.iter().any(|(_, e)| matches!(e, Event::Failed { reason: DownReason::PeerError(ipsec_ike::wire::NotifyType::AUTHENTICATION_FAILED), .. })));
    assert_eq!(p.a.up_count() + p.b.up_count(), 0);
    assert_eq!(p.a.ike.ike_sa_count() + p.b.ike.ike_sa_count(), 0);
}

#[test]
fn cookie_round_trip_under_load_then_up() {
    let mut cb = site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret");
    cb.settings.cookie_threshold = 0;
    let mut p = pair_with(site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"), cb, netsim::LinkConfig::perfect(), 3);
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    // One extra round trip for the cookie.
    let a_up = p.a.events.iter().find(|(_, e)| matches!(e, Event::IkeSaUp { .. })).unwrap().0;
    assert_eq!(a_up, ms(60));
    assert_eq!(p.b.ike.stats().cookies_sent, 1);
    assert_eq!(p.b.ike.stats().drops.get(&DropReason::CookieRequired), Some(&1));
}

#[test]
fn invalid_ke_payload_makes_the_initiator_switch_groups() {
    let mut cb = site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret");
    cb.profiles[0].dh_group = vec![Group::Modp(2048)];
    let mut p = pair_with(site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"), cb, netsim::LinkConfig::perfect(), 4);
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    let up = p.a.events.iter().find_map(|(t, e)| match e {
        Event::IkeSaUp { suite, .. } => Some((*t, suite.dh)),
        _ => None,
    });
    assert_eq!(up, Some((ms(60), Group::Modp(2048))));
}

#[test]
fn half_open_limit_and_cookies_bound_a_flood_and_the_legitimate_peer_gets_through() {
    let mut cb = site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret");
    cb.peers[0].address = "0.0.0.0/0".parse().unwrap();
    cb.settings.cookie_threshold = 5;
    cb.settings.half_open_limit = 20;
    cb.settings.half_open_per_source = 3;
    let mut p = pair_with(site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"), cb, netsim::LinkConfig::perfect(), 5);
    // 2000 spoofed IKE_SA_INIT requests from 200 sources, built by a throw-away initiator.
    let now = p.now();
    let mut spoof = support::Side::new(site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "x"), Default::default(), "198.51.100.1", "192.0.2.2", now, 99);
    let mut held_max = 0;
    for i in 0..2000u32 {
        spoof.ike.connect(now, "b", None).unwrap();
        let t = spoof.ike.poll_transmit(now).unwrap();
        let src = std::net::SocketAddr::new(std::net::IpAddr::from([198, 51, (i % 200 / 250) as u8 + 100, (i % 200) as u8]), 500);
        let local = std::net::SocketAddr::new(p.b.addr, 500);
        p.b.ike.handle_datagram(now, local, src, &t.payload);
        held_max = held_max.max(p.b.ike.half_open_count());
    }
    while p.b.ike.poll_transmit(now).is_some() {}
    assert!(held_max <= 20, "half-open bounded: {held_max}");
    assert_eq!(p.b.ike.half_open_count(), 5, "cookies stop growth at the threshold");
    assert!(p.b.ike.stats().cookies_sent >= 1900);
    // The legitimate initiator answers the cookie and gets through during the flood.
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.a.up_count(), 1);
    // Half-open SAs time out after 30 s.
    p.run_for(Duration::from_secs(31));
    assert_eq!(p.b.ike.half_open_count(), 0);
}

#[test]
fn dpd_detects_a_dead_peer_at_the_exact_time() {
    let mut p = default_pair(6);
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.a.up_count(), 1);
    // Last message A received: the IKE_AUTH response at 40 ms. Cut the link.
    p.set_cut(true);
    p.run_for(Duration::from_secs(120));
    // DPD request at 40 ms + 8 s; retransmits after 2, 4, 8, 16 s; given up 32 s after the
    // last: 8.04 + 62 = 70.04 s.
    let down = p.a.events.iter().find_map(|(t, e)| match e {
        Event::IkeSaDown { reason: DownReason::Timeout, .. } => Some(*t),
        _ => None,
    });
    assert_eq!(down, Some(ms(70_040)));
    // B last heard A at 30 ms (the IKE_AUTH request): 8.03 + 62.
    let down_b = p.b.events.iter().find_map(|(t, e)| match e {
        Event::IkeSaDown { reason: DownReason::Timeout, .. } => Some(*t),
        _ => None,
    });
    assert_eq!(down_b, Some(ms(70_030)));
    assert!(p.a.events.iter().any(|(_, e)| matches!(e, Event::ChildSaDown { reason: ChildDownReason::IkeSaDown, .. })));
    assert_eq!(p.a.ike.inbound_spis(), Vec::<u32>::new());
    assert_eq!(p.a.ike.stats().retransmits, 4);
}

#[test]
fn dpd_keeps_a_live_sa_up() {
    let mut p = default_pair(7);
    connect(&mut p);
    p.run_for(Duration::from_secs(60));
    assert_eq!(p.a.ike.ike_sa_count(), 1);
    assert!(p.a.events.iter().all(|(_, e)| !matches!(e, Event::IkeSaDown { .. })));
    // Empty INFORMATIONAL exchanges every 8 s of silence.
    assert!(p.trace.len() >= 4 + 2 * 6);
}

fn short_lifetime(mut c: IpsecConfig, secs: u64) -> IpsecConfig {
    c.proposals[0].lifetime = Duration::from_secs(secs);
    c
}

#[test]
fn child_soft_lifetime_rekeys_with_pfs_and_traffic_moves_to_the_new_sa() {
    let mut p = pair_with(
        short_lifetime(site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"), 100),
        short_lifetime(site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret"), 100),
        netsim::LinkConfig::perfect(),
        8,
    );
    connect(&mut p);
    p.run_for(Duration::from_secs(95));
    // A installed the child at 40 ms; soft lifetime 90 s: the rekey starts at 90.04 s.
    let ca = p.a.children_up();
    assert_eq!(ca.len(), 2, "{:?}", ca);
    assert_eq!(ca[1].0, ms(90_060), "CREATE_CHILD_SA answered one round trip later");
    let old_down = p.a.events.iter().find_map(|(t, e)| match e {
        Event::ChildSaDown { reason: ChildDownReason::Rekeyed, spi_in, .. } => Some((*t, *spi_in)),
        _ => None,
    });
    assert_eq!(old_down, Some((ms(90_080), ca[0].2)), "old SA deleted after the INFORMATIONAL");
    assert_eq!(p.a.ike.inbound_spis(), vec![ca[1].2]);
    assert_eq!(p.b.ike.inbound_spis(), vec![ca[1].3]);
    let now = p.now();
    let wire = p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 64)).unwrap();
    assert_eq!(u32::from_be_bytes(wire[4..8].try_into().unwrap()), ca[1].3, "the new outbound SPI");
}

#[test]
fn child_hard_lifetime_without_rekey_deletes_at_the_exact_time() {
    let mut p = pair_with(
        short_lifetime(site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"), 100),
        short_lifetime(site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret"), 100),
        netsim::LinkConfig::perfect(),
        9,
    );
    connect(&mut p);
    p.run_for(Duration::from_secs(80));
    // From now on B ignores everything, so A's rekey can never complete.
    p.set_cut(true);
    p.run_for(Duration::from_secs(30));
    let expired = p.a.events.iter().find_map(|(t, e)| match e {
        Event::ChildSaDown { reason: ChildDownReason::Expired, .. } => Some(*t),
        _ => None,
    });
    assert_eq!(expired, Some(ms(100_040)), "hard lifetime 100 s after install at 40 ms");
}

#[test]
fn simultaneous_child_rekey_leaves_exactly_one_pair() {
    for seed in 10..16 {
        let mut p = default_pair(seed);
        connect(&mut p);
        p.run_for(Duration::from_secs(1));
        let ca = p.a.children_up()[0].1;
        let cb = p.b.children_up()[0].1;
        let now = p.now();
        p.a.ike.rekey_child(now, ca).unwrap();
        p.b.ike.rekey_child(now, cb).unwrap();
        p.run_for(Duration::from_secs(2));
        let a_in = p.a.ike.inbound_spis();
        let b_in = p.b.ike.inbound_spis();
        assert_eq!(a_in.len(), 1, "seed {seed}: A holds {a_in:?}");
        assert_eq!(b_in.len(), 1, "seed {seed}: B holds {b_in:?}");
        let a_sa = p.a.ike.ike_sas().next().unwrap();
        let b_sa = p.b.ike.ike_sas().next().unwrap();
        assert_eq!(a_sa.children[0].spi_out, b_in[0]);
        assert_eq!(b_sa.children[0].spi_out, a_in[0]);
        let redundant = p.a.events.iter().chain(p.b.events.iter()).filter(|(_, e)| matches!(e, Event::ChildSaDown { reason: ChildDownReason::Rekeyed | ChildDownReason::Redundant, .. })).count();
        assert!(redundant >= 3, "old SA and the redundant new SA went on both sides ({redundant})");
        // Traffic flows on the survivor.
        let now = p.now();
        let wire = p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 64)).unwrap();
        p.ab.send(now, wire);
        p.run_for(ms(20));
        assert_eq!(p.b.delivered.len(), 1, "seed {seed}");
    }
}

#[test]
fn ike_rekey_moves_children_and_simultaneous_ike_rekey_converges() {
    let mut p = default_pair(20);
    let id = connect(&mut p);
    p.run_for(Duration::from_secs(1));
    let now = p.now();
    p.a.ike.rekey_ike(now, id).unwrap();
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.a.ike.ike_sa_count(), 1);
    assert_eq!(p.b.ike.ike_sa_count(), 1);
    assert!(p.a.events.iter().any(|(_, e)| matches!(e, Event::IkeSaRekeyed { .. })));
    let new_a = p.a.ike.ike_sas().next().unwrap();
    assert_eq!(new_a.children.len(), 1, "the child moved");
    assert_ne!(new_a.id, id);
    // Collision: both rekey the IKE SA at once.
    let a = p.a.ike.ike_sas().next().unwrap().id;
    let b = p.b.ike.ike_sas().next().unwrap().id;
    let now = p.now();
    p.a.ike.rekey_ike(now, a).unwrap();
    p.b.ike.rekey_ike(now, b).unwrap();
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.a.ike.ike_sa_count(), 1, "{:?}", p.a.events);
    assert_eq!(p.b.ike.ike_sa_count(), 1);
    let sa_a = p.a.ike.ike_sas().next().unwrap();
    let sa_b = p.b.ike.ike_sas().next().unwrap();
    assert_eq!((sa_a.spi_i, sa_a.spi_r), (sa_b.spi_i, sa_b.spi_r));
    assert_eq!(sa_a.children.len() + sa_b.children.len(), 2);
    // Still alive 30 s later (DPD runs over the surviving SA).
    p.run_for(Duration::from_secs(30));
    assert!(p.a.events.iter().all(|(_, e)| !matches!(e, Event::IkeSaDown { reason: DownReason::Timeout, .. })));
}

#[test]
fn nat_detected_and_keepalives_every_20_seconds() {
    // A sits at 10.0.0.1 behind a NAT; B sees its packets from 203.0.113.5.
    let start = std::time::Instant::now();
    let mut ca = site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret");
    ca.profiles[0].dpd_interval = None;
    let mut cb = site("a", "203.0.113.5", "10.2.0.0/24", "10.1.0.0/24", "s3cret");
    cb.profiles[0].dpd_interval = None;
    cb.peers[0].address = "0.0.0.0/0".parse().unwrap();
    let a = Side::new(ca, Default::default(), "10.0.0.1", "192.0.2.2", start, 30);
    let b = Side::new(cb, Default::default(), "192.0.2.2", "203.0.113.5", start, 31);
    let mut p = netsim::Pair::with_start(a, b, netsim::LinkConfig::perfect(), netsim::LinkConfig::perfect(), 30, start);
    p.a.ike.connect(start, "b", None).unwrap();
    p.run_for(Duration::from_secs(65));
    assert!(p.a.events.iter().any(|(t, e)| *t == ms(20) && matches!(e, Event::NatDetected { local_behind_nat: true, .. })));
    assert!(p.b.events.iter().any(|(_, e)| matches!(e, Event::NatDetected { remote_behind_nat: true, .. })));
    // IKE_AUTH went to port 4500 (non-ESP marker).
    let auth = p.trace.iter().find(|t| t.dir == netsim::Dir::AtoB && t.data[2..4] == 4500u16.to_be_bytes()).unwrap();
    assert_eq!(&auth.data[4..8], &[0, 0, 0, 0]);
    // Keepalives (one 0xff byte) from A 20 s after its last send (the IKE_AUTH at 20 ms).
    let ka: Vec<Duration> = p.trace.iter().filter(|t| t.dir == netsim::Dir::AtoB && t.data[4..] == [0xff]).map(|t| t.at).collect();
    assert_eq!(ka, vec![ms(20_020), ms(40_020), ms(60_020)]);
    assert!(p.b.ike.stats().drops.get(&DropReason::Keepalive) == Some(&3));
    assert_eq!(p.b.ike.stats().keepalives_sent, 0, "the side not behind a NAT sends none");
    // ESP is UDP-encapsulated.
    let now = p.now();
    let wire = p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 64)).unwrap();
    assert_eq!(&wire[2..4], &4500u16.to_be_bytes());
}
