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
    let a_up =
        p.a.events
            .iter()
            .find(|(_, e)| matches!(e, Event::IkeSaUp { .. }))
            .unwrap()
            .0;
    let b_up =
        p.b.events
            .iter()
            .find(|(_, e)| matches!(e, Event::IkeSaUp { .. }))
            .unwrap()
            .0;
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
    assert!(p
        .a
        .send_packet(now, &ip4([10, 9, 0, 5], [10, 2, 0, 7], 40))
        .is_none());
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
    assert!(p.b.events.iter().any(|(_, e)| matches!(
        e,
        Event::Failed {
            reason: DownReason::AuthFailed(_),
            ..
        }
    )));
    assert!(p.a.events.iter().any(|(_, e)| matches!(
        e,
        Event::Failed {
            reason: DownReason::PeerError(ipsec_ike::wire::NotifyType::AUTHENTICATION_FAILED),
            ..
        }
    )));
    assert_eq!(p.a.up_count() + p.b.up_count(), 0);
    assert_eq!(p.a.ike.ike_sa_count() + p.b.ike.ike_sa_count(), 0);
}

#[test]
fn cookie_round_trip_under_load_then_up() {
    let mut cb = site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret");
    cb.settings.cookie_threshold = 0;
    let mut p = pair_with(
        site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"),
        cb,
        netsim::LinkConfig::perfect(),
        3,
    );
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    // One extra round trip for the cookie.
    let a_up =
        p.a.events
            .iter()
            .find(|(_, e)| matches!(e, Event::IkeSaUp { .. }))
            .unwrap()
            .0;
    assert_eq!(a_up, ms(60));
    assert_eq!(p.b.ike.stats().cookies_sent, 1);
    assert_eq!(
        p.b.ike.stats().drops.get(&DropReason::CookieRequired),
        Some(&1)
    );
}

#[test]
fn invalid_ke_payload_makes_the_initiator_switch_groups() {
    let mut cb = site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret");
    cb.profiles[0].dh_group = vec![Group::Modp(2048)];
    let mut p = pair_with(
        site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"),
        cb,
        netsim::LinkConfig::perfect(),
        4,
    );
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
    let mut p = pair_with(
        site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"),
        cb,
        netsim::LinkConfig::perfect(),
        5,
    );
    // 2000 spoofed IKE_SA_INIT requests from 200 sources, built by a throw-away initiator.
    let now = p.now();
    let mut spoof = support::Side::new(
        site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "x"),
        Default::default(),
        "198.51.100.1",
        "192.0.2.2",
        now,
        99,
    );
    let mut held_max = 0;
    for i in 0..2000u32 {
        spoof.ike.connect(now, "b", None).unwrap();
        let t = spoof.ike.poll_transmit(now).unwrap();
        let src = std::net::SocketAddr::new(
            std::net::IpAddr::from([198, 51, (i % 200 / 250) as u8 + 100, (i % 200) as u8]),
            500,
        );
        let local = std::net::SocketAddr::new(p.b.addr, 500);
        p.b.ike.handle_datagram(now, local, src, &t.payload);
        held_max = held_max.max(p.b.ike.half_open_count());
    }
    while p.b.ike.poll_transmit(now).is_some() {}
    assert!(held_max <= 20, "half-open bounded: {held_max}");
    assert_eq!(
        p.b.ike.half_open_count(),
        5,
        "cookies stop growth at the threshold"
    );
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
        Event::IkeSaDown {
            reason: DownReason::Timeout,
            ..
        } => Some(*t),
        _ => None,
    });
    assert_eq!(down, Some(ms(70_040)));
    // B last heard A at 30 ms (the IKE_AUTH request): 8.03 + 62.
    let down_b = p.b.events.iter().find_map(|(t, e)| match e {
        Event::IkeSaDown {
            reason: DownReason::Timeout,
            ..
        } => Some(*t),
        _ => None,
    });
    assert_eq!(down_b, Some(ms(70_030)));
    assert!(p.a.events.iter().any(|(_, e)| matches!(
        e,
        Event::ChildSaDown {
            reason: ChildDownReason::IkeSaDown,
            ..
        }
    )));
    assert_eq!(p.a.ike.inbound_spis(), Vec::<u32>::new());
    assert_eq!(p.a.ike.stats().retransmits, 4);
}

#[test]
fn dpd_keeps_a_live_sa_up() {
    let mut p = default_pair(7);
    connect(&mut p);
    p.run_for(Duration::from_secs(60));
    assert_eq!(p.a.ike.ike_sa_count(), 1);
    assert!(p
        .a
        .events
        .iter()
        .all(|(_, e)| !matches!(e, Event::IkeSaDown { .. })));
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
        short_lifetime(
            site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"),
            100,
        ),
        short_lifetime(
            site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret"),
            100,
        ),
        netsim::LinkConfig::perfect(),
        8,
    );
    connect(&mut p);
    p.run_for(Duration::from_secs(95));
    // A installed the child at 40 ms; soft lifetime 90 s: the rekey starts at 90.04 s.
    let ca = p.a.children_up();
    assert_eq!(ca.len(), 2, "{:?}", ca);
    assert_eq!(
        ca[1].0,
        ms(90_060),
        "CREATE_CHILD_SA answered one round trip later"
    );
    let old_down = p.a.events.iter().find_map(|(t, e)| match e {
        Event::ChildSaDown {
            reason: ChildDownReason::Rekeyed,
            spi_in,
            ..
        } => Some((*t, *spi_in)),
        _ => None,
    });
    assert_eq!(
        old_down,
        Some((ms(90_080), ca[0].2)),
        "old SA deleted after the INFORMATIONAL"
    );
    assert_eq!(p.a.ike.inbound_spis(), vec![ca[1].2]);
    assert_eq!(p.b.ike.inbound_spis(), vec![ca[1].3]);
    let now = p.now();
    let wire =
        p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 64))
            .unwrap();
    assert_eq!(
        u32::from_be_bytes(wire[4..8].try_into().unwrap()),
        ca[1].3,
        "the new outbound SPI"
    );
}

#[test]
fn child_hard_lifetime_without_rekey_deletes_at_the_exact_time() {
    let mut p = pair_with(
        short_lifetime(
            site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"),
            100,
        ),
        short_lifetime(
            site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret"),
            100,
        ),
        netsim::LinkConfig::perfect(),
        9,
    );
    connect(&mut p);
    p.run_for(Duration::from_secs(80));
    // From now on B ignores everything, so A's rekey can never complete.
    p.set_cut(true);
    p.run_for(Duration::from_secs(30));
    let expired = p.a.events.iter().find_map(|(t, e)| match e {
        Event::ChildSaDown {
            reason: ChildDownReason::Expired,
            ..
        } => Some(*t),
        _ => None,
    });
    assert_eq!(
        expired,
        Some(ms(100_040)),
        "hard lifetime 100 s after install at 40 ms"
    );
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
        let redundant =
            p.a.events
                .iter()
                .chain(p.b.events.iter())
                .filter(|(_, e)| {
                    matches!(
                        e,
                        Event::ChildSaDown {
                            reason: ChildDownReason::Rekeyed | ChildDownReason::Redundant,
                            ..
                        }
                    )
                })
                .count();
        assert!(
            redundant >= 3,
            "old SA and the redundant new SA went on both sides ({redundant})"
        );
        // Traffic flows on the survivor.
        let now = p.now();
        let wire =
            p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 64))
                .unwrap();
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
    assert!(p
        .a
        .events
        .iter()
        .any(|(_, e)| matches!(e, Event::IkeSaRekeyed { .. })));
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
    assert!(p.a.events.iter().all(|(_, e)| !matches!(
        e,
        Event::IkeSaDown {
            reason: DownReason::Timeout,
            ..
        }
    )));
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
    let b = Side::new(
        cb,
        Default::default(),
        "192.0.2.2",
        "203.0.113.5",
        start,
        31,
    );
    let mut p = netsim::Pair::with_start(
        a,
        b,
        netsim::LinkConfig::perfect(),
        netsim::LinkConfig::perfect(),
        30,
        start,
    );
    p.a.ike.connect(start, "b", None).unwrap();
    p.run_for(Duration::from_secs(65));
    assert!(p.a.events.iter().any(|(t, e)| *t == ms(20)
        && matches!(
            e,
            Event::NatDetected {
                local_behind_nat: true,
                ..
            }
        )));
    assert!(p.b.events.iter().any(|(_, e)| matches!(
        e,
        Event::NatDetected {
            remote_behind_nat: true,
            ..
        }
    )));
    // IKE_AUTH went to port 4500 (non-ESP marker).
    let auth = p
        .trace
        .iter()
        .find(|t| t.dir == netsim::Dir::AtoB && t.data[2..4] == 4500u16.to_be_bytes())
        .unwrap();
    assert_eq!(&auth.data[4..8], &[0, 0, 0, 0]);
    // Keepalives (one 0xff byte) from A 20 s after its last send (the IKE_AUTH at 20 ms).
    let ka: Vec<Duration> = p
        .trace
        .iter()
        .filter(|t| t.dir == netsim::Dir::AtoB && t.data[4..] == [0xff])
        .map(|t| t.at)
        .collect();
    assert_eq!(ka, vec![ms(20_020), ms(40_020), ms(60_020)]);
    assert!(p.b.ike.stats().drops.get(&DropReason::Keepalive) == Some(&3));
    assert_eq!(
        p.b.ike.stats().keepalives_sent,
        0,
        "the side not behind a NAT sends none"
    );
    // ESP is UDP-encapsulated.
    let now = p.now();
    let wire =
        p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 64))
            .unwrap();
    assert_eq!(&wire[2..4], &4500u16.to_be_bytes());
}

fn pki(name: &str) -> String {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for c in [
        d.join("../../shared/captures/ike/pki"),
        d.join("../shared/captures/ike/pki"),
        "/work/shared/captures/ike/pki".into(),
    ] {
        if c.is_dir() {
            return std::fs::read_to_string(c.join(name)).unwrap();
        }
    }
    panic!("pki not found")
}

fn cert_side(me: &str) -> ipsec_ike::auth::CertStore {
    use ipsec_ike::auth::*;
    let mut s = CertStore::default();
    s.cas.push(CertInfo::from_pem(&pki("ca.crt")).unwrap());
    s.credentials.push(Credential {
        name: "me".into(),
        cert: CertInfo::from_pem(&pki(&format!("{me}.crt"))).unwrap(),
        key: PrivateKey::from_pem(&pki(&format!("{me}.key"))).unwrap(),
    });
    s
}

fn cert_config(mut c: IpsecConfig) -> IpsecConfig {
    c.identities[0].auth_method = IdentityAuth::DigitalSignature;
    c.identities[0].certificate = "me".into();
    c.settings.fragment_size = 576;
    c
}

#[test]
fn certificates_fragmented_ike_auth_at_30_percent_loss() {
    let mut ups = 0;
    let mut frags = 0;
    for seed in 40..46 {
        let start = std::time::Instant::now();
        // The captures' PKI: SAN IP 10.99.3.2 (initiator) and 10.99.3.1 (responder).
        let ca = cert_config(site("b", "10.99.3.1", "10.1.0.0/24", "10.2.0.0/24", ""));
        let cb = cert_config(site("a", "10.99.3.2", "10.2.0.0/24", "10.1.0.0/24", ""));
        let a = Side::new(
            ca,
            cert_side("initiator"),
            "10.99.3.2",
            "10.99.3.1",
            start,
            seed,
        );
        let b = Side::new(
            cb,
            cert_side("responder"),
            "10.99.3.1",
            "10.99.3.2",
            start,
            seed + 7,
        );
        let link = netsim::LinkConfig::lossy(0.3);
        let mut p = netsim::Pair::with_start(a, b, link.clone(), link, seed, start);
        p.a.ike.connect(start, "b", None).unwrap();
        p.run_until(Duration::from_secs(120), |a, b| {
            a.up_count() == 1 && b.up_count() == 1 && !a.children_up().is_empty()
        });
        if p.a.up_count() == 1 && p.b.up_count() == 1 {
            ups += 1;
            let a_up = p.a.events.iter().find_map(|(_, e)| match e {
                Event::IkeSaUp { remote_id, .. } => Some(remote_id.clone()),
                _ => None,
            });
            assert_eq!(a_up.as_deref(), Some("CN=interop-responder"));
        }
        frags += p.a.ike.stats().fragments_sent + p.b.ike.stats().fragments_sent;
        // Every SKF fragment on the wire fits the configured size.
        for t in &p.trace {
            assert!(t.data.len() - 4 <= 576 + 4, "{} bytes", t.data.len());
        }
    }
    assert!(
        frags >= 6 * 4,
        "IKE_AUTH was fragmented both ways ({frags} fragments)"
    );
    assert!(
        ups >= 5,
        "{ups} of 6 seeds came up within 120 s at 30% loss"
    );
}

#[test]
fn lossy_link_establishes_and_rekeys_at_30_percent_loss() {
    // At 30% loss each way an exchange fails with p = 0.51 per attempt; 9 sends make a
    // spurious DPD teardown over 250 s unlikely (the default of 5 sends is for real links).
    let lossy = |mut c: IpsecConfig| {
        c.settings.retransmit_tries = 8;
        short_lifetime(c, 100)
    };
    for seed in 50..54 {
        let mut p = pair_with(
            lossy(site(
                "b",
                "192.0.2.2",
                "10.1.0.0/24",
                "10.2.0.0/24",
                "s3cret",
            )),
            lossy(site(
                "a",
                "192.0.2.1",
                "10.2.0.0/24",
                "10.1.0.0/24",
                "s3cret",
            )),
            netsim::LinkConfig::lossy(0.3),
            seed,
        );
        connect(&mut p);
        p.run_for(Duration::from_secs(250));
        let a_in = p.a.ike.inbound_spis();
        let b_in = p.b.ike.inbound_spis();
        assert_eq!(a_in.len(), 1, "seed {seed}: {:?}", p.a.events);
        assert_eq!(b_in.len(), 1, "seed {seed}");
        let sa = p.a.ike.ike_sas().next().unwrap();
        assert_eq!(
            sa.children[0].spi_out, b_in[0],
            "seed {seed}: both sides agree on the SA pair"
        );
        assert!(
            p.a.children_up().len() >= 3,
            "seed {seed}: rekeyed at least twice in 250 s"
        );
    }
}

#[test]
fn mode_config_road_warrior_with_generated_policy() {
    let start = std::time::Instant::now();
    // The road warrior asks for 0.0.0.0/0 with mode config; the server hands out
    // 192.168.77.10 and split networks, and generates a policy from its template.
    let mut ca = site("b", "192.0.2.2", "0.0.0.0/0", "0.0.0.0/0", "s3cret");
    ca.policies.pop();
    ca.identities[0].mode_config = Some("request-only".into());
    let mut cb = IpsecConfig::default();
    cb.peers.push(Peer {
        name: "rw".into(),
        address: "0.0.0.0/0".parse().unwrap(),
        exchange_mode: ExchangeMode::Ike2,
        passive: true,
        ..Peer::default()
    });
    cb.profiles[0] = ca.profiles[0].clone();
    cb.proposals[0] = ca.proposals[0].clone();
    cb.mode_configs.push(ModeConfig {
        name: "rw-conf".into(),
        address: Some("192.168.77.10".parse().unwrap()),
        responder: true,
        split_include: vec!["10.5.0.0/16".parse().unwrap()],
        split_dns: vec!["corp.example".into()],
        static_dns: vec!["10.5.0.53".parse().unwrap()],
        ..ModeConfig::default()
    });
    let mut id = Identity::psk("rw", "s3cret");
    id.mode_config = Some("rw-conf".into());
    id.generate_policy = GeneratePolicy::PortStrict;
    cb.identities.push(id);
    cb.policies[0].dst_address = "192.168.77.0/24".parse().unwrap();
    cb.policies[0].src_address = "10.5.0.0/16".parse().unwrap();
    let a = Side::new(ca, Default::default(), "192.0.2.1", "192.0.2.2", start, 60);
    let b = Side::new(cb, Default::default(), "192.0.2.2", "192.0.2.1", start, 61);
    let mut p = netsim::Pair::with_start(
        a,
        b,
        netsim::LinkConfig::perfect(),
        netsim::LinkConfig::perfect(),
        60,
        start,
    );
    p.a.ike.connect(start, "b", None).unwrap();
    p.run_for(Duration::from_secs(1));
    let mc = p.a.events.iter().find_map(|(_, e)| match e {
        Event::ModeConfig {
            address,
            dns,
            split_include,
            domains,
            ..
        } => Some((
            *address,
            dns.clone(),
            split_include.clone(),
            domains.clone(),
        )),
        _ => None,
    });
    let (addr, dns, split, domains) = mc.expect("mode config received");
    assert_eq!(addr, Some("192.168.77.10".parse().unwrap()));
    assert_eq!(dns, vec!["10.5.0.53".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(split, vec!["10.5.0.0/16".parse().unwrap()]);
    assert_eq!(domains, vec!["corp.example".to_string()]);
    // Selectors narrowed to the template and the handed-out address.
    let (lts, rts) =
        p.a.events
            .iter()
            .find_map(|(_, e)| match e {
                Event::ChildSaUp {
                    local_ts,
                    remote_ts,
                    ..
                } => Some((local_ts.clone(), remote_ts.clone())),
                _ => None,
            })
            .unwrap();
    assert_eq!(ipsec_ike::ike::ts::display(&lts[0]), "192.168.77.10/32");
    assert_eq!(ipsec_ike::ike::ts::display(&rts[0]), "10.5.0.0/16");
    // The server holds a generated (dynamic) policy for it, in front of the static ones.
    let spd = p.b.ike.spd().policies();
    assert!(spd[0].dynamic && spd[0].policy.dst_address == "192.168.77.10/32".parse().unwrap());
    // A template that does not cover the request refuses it (TS_UNACCEPTABLE).
    assert!(p
        .b
        .events
        .iter()
        .all(|(_, e)| !matches!(e, Event::Failed { .. })));
}

fn eap_pair(client_pw: &str, seed: u64) -> P {
    let start = std::time::Instant::now();
    let mut ca = site("b", "10.99.3.1", "10.1.0.0/24", "10.2.0.0/24", "");
    ca.identities[0].auth_method = IdentityAuth::Eap;
    ca.identities[0].eap_methods = vec!["eap-mschapv2".into()];
    ca.identities[0].username = "alice".into();
    ca.identities[0].password = client_pw.into();
    let mut cb = site("a", "10.99.3.2", "10.2.0.0/24", "10.1.0.0/24", "");
    cb.identities[0].auth_method = IdentityAuth::EapRadius;
    cb.identities[0].certificate = "me".into();
    cb.identities[0].username = "alice".into();
    cb.identities[0].password = "correct horse".into();
    let mut client_store = ipsec_ike::auth::CertStore::default();
    client_store
        .cas
        .push(ipsec_ike::auth::CertInfo::from_pem(&pki("ca.crt")).unwrap());
    let a = Side::new(ca, client_store, "10.99.3.2", "10.99.3.1", start, seed);
    let b = Side::new(
        cb,
        cert_side("responder"),
        "10.99.3.1",
        "10.99.3.2",
        start,
        seed + 1,
    );
    let mut p = netsim::Pair::with_start(
        a,
        b,
        netsim::LinkConfig::perfect(),
        netsim::LinkConfig::perfect(),
        seed,
        start,
    );
    p.a.ike.connect(start, "b", None).unwrap();
    p.run_for(Duration::from_secs(2));
    p
}

#[test]
fn eap_mschapv2_client_and_built_in_server() {
    let mut p = eap_pair("correct horse", 70);
    // IKE_SA_INIT, then five IKE_AUTH round trips: EAP identity, MS-CHAPv2 challenge,
    // success request, EAP-Success, the MSK AUTH: up after 6 round trips (120 ms).
    let up = p.a.events.iter().find_map(|(t, e)| match e {
        Event::IkeSaUp { remote_id, .. } => Some((*t, remote_id.clone())),
        _ => None,
    });
    assert_eq!(up, Some((ms(120), "10.99.3.1".to_string())));
    assert_eq!(p.b.up_count(), 1);
    assert_eq!(p.a.children_up().len(), 1);
    let now = p.now();
    let wire =
        p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 64))
            .unwrap();
    p.ab.send(now, wire);
    p.run_for(ms(20));
    assert_eq!(p.b.delivered.len(), 1);
    // A wrong password fails on both sides.
    let p = eap_pair("wrong", 71);
    assert!(p.b.events.iter().any(|(_, e)| matches!(
        e,
        Event::Failed {
            reason: DownReason::AuthFailed(_),
            ..
        }
    )));
    assert!(p
        .a
        .events
        .iter()
        .any(|(_, e)| matches!(e, Event::Failed { .. })));
    assert_eq!(p.a.up_count() + p.b.up_count(), 0);
}

/// An external EAP server plugged in through the passthrough hook (what a RADIUS client
/// would do): here it runs the crate's own MS-CHAPv2 server and records what it saw.
struct Backend {
    inner: Option<ipsec_ike::eap::MschapV2Server>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(u64, usize)>>>,
}

impl ipsec_ike::eap::EapBackend for Backend {
    fn start(&mut self, session: u64, identity: &[u8]) -> ipsec_ike::eap::EapStep {
        self.seen.lock().unwrap().push((session, identity.len()));
        let mut s = ipsec_ike::eap::MschapV2Server::new("alice", "correct horse", [9; 16]);
        let m = s.start();
        self.inner = Some(s);
        ipsec_ike::eap::EapStep::Continue(m)
    }
    fn step(&mut self, session: u64, message: &[u8]) -> ipsec_ike::eap::EapStep {
        self.seen.lock().unwrap().push((session, message.len()));
        self.inner.as_mut().unwrap().step(message)
    }
}

#[test]
fn eap_passthrough_backend_drives_the_conversation() {
    let start = std::time::Instant::now();
    let mut p = eap_pair("correct horse", 72);
    // Rebuild B with a backend and the identity's own user/password emptied: only the
    // backend knows the password now.
    let mut cb = site("a", "10.99.3.2", "10.2.0.0/24", "10.1.0.0/24", "");
    cb.identities[0].auth_method = IdentityAuth::EapRadius;
    cb.identities[0].certificate = "me".into();
    let mut b = Side::new(
        cb,
        cert_side("responder"),
        "10.99.3.1",
        "10.99.3.2",
        start,
        73,
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    b.ike.set_eap_backend(Box::new(Backend {
        inner: None,
        seen: seen.clone(),
    }));
    p.b = b;
    p.a.events.clear();
    let now = p.now();
    p.a.ike.connect(now, "b", None).unwrap();
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.b.up_count(), 1, "{:?}", p.b.events);
    assert!(p.a.up_count() >= 1);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.len(),
        4,
        "start + identity, response, success-ack through the backend: {seen:?}"
    );
    assert!(seen.iter().all(|(s, _)| *s == seen[0].0), "one session id");
}

#[test]
fn ike_sa_lifetime_rekeys_at_90_percent_for_the_initiator() {
    let mut ca = site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret");
    ca.profiles[0].lifetime = Duration::from_secs(1000);
    let mut cb = site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret");
    cb.profiles[0].lifetime = Duration::from_secs(1000);
    let mut p = pair_with(ca, cb, netsim::LinkConfig::perfect(), 80);
    connect(&mut p);
    p.run_for(Duration::from_secs(950));
    // Up at 40 ms; profile lifetime 1000 s: the initiator rekeys at 900.04 s (the responder
    // would at 950.03 s), the CREATE_CHILD_SA answer arrives 20 ms later.
    let rekeyed: Vec<Duration> =
        p.a.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::IkeSaRekeyed { .. }))
            .map(|(t, _)| *t)
            .collect();
    assert_eq!(rekeyed, vec![ms(900_060)]);
    assert_eq!(p.a.ike.ike_sa_count(), 1);
    assert_eq!(p.b.ike.ike_sa_count(), 1);
    assert!(p.a.events.iter().all(|(_, e)| !matches!(
        e,
        Event::IkeSaDown {
            reason: DownReason::Timeout | DownReason::Expired,
            ..
        }
    )));
}

#[test]
fn passive_peers_do_not_initiate_port_is_used_and_initial_contact_replaces_old_sas() {
    let mut c = site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret");
    c.peers[0].passive = true;
    let mut p = pair_with(
        c,
        site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret"),
        netsim::LinkConfig::perfect(),
        81,
    );
    assert!(
        p.a.ike.connect(p.now(), "b", None).is_err(),
        "passive=yes never initiates (L1292)"
    );
    // `port` names the remote port of the initiator's first message (L1293).
    let mut c = site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret");
    c.peers[0].port = 4600;
    let mut p2 = pair_with(
        c,
        site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret"),
        netsim::LinkConfig::perfect(),
        82,
    );
    let now = p2.now();
    p2.a.ike.connect(now, "b", None).unwrap();
    let t = p2.a.ike.poll_transmit(now).unwrap();
    assert_eq!(t.remote.port(), 4600);
    // INITIAL_CONTACT (send-initial-contact=yes): a second IKE SA from the same identity
    // makes the responder drop the first one (RFC 7296 2.4).
    let mut p = default_pair(83);
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    assert_eq!(
        p.b.ike.ike_sa_count(),
        1,
        "the responder kept only the newest IKE SA"
    );
    assert!(p.b.events.iter().any(|(_, e)| matches!(
        e,
        Event::IkeSaDown {
            reason: DownReason::DeletedByPeer,
            ..
        }
    )));
    // With send-initial-contact=no both stay.
    let mut ca = site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret");
    ca.peers[0].send_initial_contact = false;
    let mut p = pair_with(
        ca,
        site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret"),
        netsim::LinkConfig::perfect(),
        84,
    );
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.b.ike.ike_sa_count(), 2);
}

#[test]
fn proposal_lifebytes_soft_and_hard_on_the_esp_sas() {
    let mut ca = site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret");
    ca.proposals[0].lifebytes = 1000;
    ca.proposals[0].pfs_group = None;
    let mut cb = site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret");
    cb.proposals[0].pfs_group = None;
    let mut p = pair_with(ca, cb, netsim::LinkConfig::perfect(), 85);
    connect(&mut p);
    p.run_for(Duration::from_secs(1));
    let child = p.a.children_up()[0].1;
    let now = p.now();
    for _ in 0..9 {
        p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 100))
            .unwrap();
    }
    let sa = p.a.ike.esp_out(child).unwrap();
    assert!(
        sa.soft_expired() && !sa.hard_expired(),
        "900 of 1000 bytes: soft (90 %)"
    );
    // The soft byte limit starts a rekey at once: answered one round trip later.
    p.run_for(ms(100));
    let ups = p.a.children_up();
    assert_eq!(ups.len(), 2);
    assert_eq!(ups[1].0, ms(1020));
    // The new SA carries 1000 bytes, then refuses and goes (hard limit).
    let now = p.now();
    for _ in 0..10 {
        p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 100))
            .unwrap();
    }
    assert!(
        p.a.send_packet(now, &ip4([10, 1, 0, 5], [10, 2, 0, 7], 100))
            .is_none(),
        "hard: no more packets"
    );
    p.run_for(ms(1));
    assert!(p.a.events.iter().any(|(_, e)| matches!(e, Event::ChildSaDown { reason: ChildDownReason::Expired, child, .. } if *child == ups[1].1)));
}
