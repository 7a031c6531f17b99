//! Peer removal and reconfiguration at run time (RouterOS `/interface wireguard peers remove` /
//! `set`): index and routing tables are cleaned, changed settings take effect, invalid changes
//! leave everything as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{a, b, handshake, ipv4, key, pair, two_devices, TUN_A, TUN_B};
use wireguard::{Device, DropReason, Error, Event, IpPrefix, Key, Output, PeerConfig, PeerId};

/// Handshake A -> B plus A's confirming keepalive; both have a session afterwards.
fn connect(da: &mut Device, db: &mut Device, now: Instant) {
    let mut out = [0u8; 2048];
    handshake(da, db, now);
    let ka = da.poll_transmit(now).unwrap().payload;
    db.handle_datagram(now, a(), &ka, &mut out).unwrap();
    assert!(da.peer_has_session(PeerId(0), now) && db.peer_has_session(PeerId(0), now));
}

fn seal(d: &mut Device, now: Instant, pkt: &[u8]) -> Vec<u8> {
    let mut wire = [0u8; 2048];
    match d.encapsulate(now, pkt, &mut wire).unwrap() {
        Output::Transmit { len, .. } => wire[..len].to_vec(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn remove_peer_cleans_index_routing_keys_and_timers() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 40, |_| {}, |_| {});
    connect(&mut da, &mut db, now);
    let to_a = seal(&mut db, now, &ipv4(TUN_B, TUN_A, b"before"));
    // B: one keypair (index of its confirmed session); A: one keypair.
    assert_eq!(db.index_table_len(), 1);
    assert!(db.poll_timeout().is_some());
    let kb_peer = db.peer_public_key(PeerId(0)).unwrap();

    db.remove_peer(PeerId(0)).unwrap();
    assert_eq!(db.peer_count(), 0);
    assert_eq!(db.peer_ids().count(), 0);
    assert_eq!(db.index_table_len(), 0, "receiver indices freed");
    assert_eq!(db.poll_timeout(), None, "no timers of the removed peer");
    assert_eq!(db.peer_by_key(&kb_peer), None);
    assert_eq!(db.peer_stats(PeerId(0)), None);
    assert!(matches!(
        db.remove_peer(PeerId(0)),
        Err(Error::UnknownPeer(0))
    ));
    assert!(matches!(
        db.initiate(now, PeerId(0)),
        Err(Error::UnknownPeer(0))
    ));
    let mut out = [0u8; 2048];
    // Outbound: no route. Inbound data on the old session: unknown index.
    assert_eq!(
        db.encapsulate(now, &ipv4(TUN_B, TUN_A, b"x"), &mut out)
            .unwrap(),
        Output::Dropped(DropReason::NoRoute)
    );
    let from_a = seal(&mut da, now, &ipv4(TUN_A, TUN_B, b"after"));
    assert_eq!(
        db.handle_datagram(now, a(), &from_a, &mut out).unwrap(),
        Output::Dropped(DropReason::UnknownIndex)
    );
    // A new initiation from A's key: the key is unknown now.
    let later = now + Duration::from_secs(6);
    da.initiate(later, PeerId(0)).unwrap();
    let init = da.poll_transmit(now).unwrap().payload;
    assert_eq!(
        db.handle_datagram(later, a(), &init, &mut out).unwrap(),
        Output::Dropped(DropReason::UnknownPeerKey)
    );
    // A still decrypts what B sealed before the removal (A's side is untouched).
    assert!(matches!(
        da.handle_datagram(now, b(), &to_a, &mut out).unwrap(),
        Output::Deliver { .. }
    ));

    // Adding the key again gives a new id and a working peer.
    let mut pb = PeerConfig::new(kb_peer);
    pb.allowed_address = vec!["10.97.21.1/32".parse().unwrap()];
    let id = db.add_peer(later, &pb).unwrap();
    assert_eq!(id, PeerId(1));
    assert_eq!(db.peer_ids().collect::<Vec<_>>(), [PeerId(1)]);
    let later = later + Duration::from_secs(6);
    da.initiate(later, PeerId(0)).unwrap();
    let init = da.poll_transmit(now).unwrap().payload;
    assert_eq!(
        db.handle_datagram(later, a(), &init, &mut out).unwrap(),
        Output::Done
    );
    let resp = db.poll_transmit(now).unwrap().payload;
    da.handle_datagram(later, b(), &resp, &mut out).unwrap();
    let pkt = ipv4(TUN_A, TUN_B, b"again");
    let w = seal(&mut da, later, &pkt);
    // (A's keepalive is still queued; the data packet confirms B's keypair just as well.)
    match db.handle_datagram(later, a(), &w, &mut out).unwrap() {
        Output::Deliver { peer, len } => {
            assert_eq!(peer, PeerId(1));
            assert_eq!(&out[..len], &pkt[..]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn remove_peer_while_handshake_in_flight_frees_its_index() {
    let now = Instant::now();
    let (mut da, _db) = two_devices(now, 41, |_| {}, |_| {});
    da.initiate(now, PeerId(0)).unwrap();
    assert_eq!(da.index_table_len(), 1, "the initiation's sender index");
    assert!(da.poll_timeout().is_some(), "retransmit armed");
    da.remove_peer(PeerId(0)).unwrap();
    assert_eq!(da.index_table_len(), 0);
    assert_eq!(da.poll_timeout(), None);
    // Nothing fires later either.
    da.handle_timeout(now + Duration::from_secs(600));
    assert!(
        da.poll_transmit(now).is_some(),
        "the initiation sent before removal stays queued"
    );
    assert!(da.poll_transmit(now).is_none());
}

#[test]
fn change_allowed_address_reroutes_and_rechecks_sources() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 42, |_| {}, |_| {});
    connect(&mut da, &mut db, now);
    let mut out = [0u8; 2048];
    let new_net: IpPrefix = "10.97.22.0/24".parse().unwrap();
    // On B, A's peer now owns 10.97.22.0/24 instead of 10.97.21.1/32.
    db.set_peer_allowed_address(PeerId(0), &[new_net]).unwrap();
    assert_eq!(db.peer_allowed_address(PeerId(0)).unwrap(), &[new_net]);
    assert_eq!(
        db.encapsulate(now, &ipv4(TUN_B, TUN_A, b"old"), &mut out)
            .unwrap(),
        Output::Dropped(DropReason::NoRoute)
    );
    let new_a = "10.97.22.7".parse().unwrap();
    assert!(matches!(
        db.encapsulate(now, &ipv4(TUN_B, new_a, b"new"), &mut out)
            .unwrap(),
        Output::Transmit { .. }
    ));
    // Inbound: A's old source address is no longer allowed, the new one is.
    let w = seal(&mut da, now, &ipv4(TUN_A, TUN_B, b"old src"));
    assert_eq!(
        db.handle_datagram(now, a(), &w, &mut out).unwrap(),
        Output::Dropped(DropReason::SourceNotAllowed)
    );
    // (A routes by destination only: its packet from 10.97.22.7 goes to B as usual.)
    let w = seal(&mut da, now, &ipv4(new_a, TUN_B, b"new src"));
    assert!(matches!(
        db.handle_datagram(now, a(), &w, &mut out).unwrap(),
        Output::Deliver { .. }
    ));
}

#[test]
fn overlapping_allowed_address_change_is_rejected_and_changes_nothing() {
    let now = Instant::now();
    let (_da, mut db) = two_devices(now, 43, |_| {}, |_| {});
    let mut other = PeerConfig::new(key(77).public_key());
    other.allowed_address = vec!["10.97.23.0/24".parse().unwrap()];
    let o = db.add_peer(now, &other).unwrap();
    let err = db
        .set_peer_allowed_address(PeerId(0), &["10.97.23.128/25".parse().unwrap()])
        .unwrap_err();
    assert!(err.to_string().contains("allowed-address"), "{err}");
    assert_eq!(
        db.peer_allowed_address(PeerId(0)).unwrap(),
        &["10.97.21.1/32".parse::<IpPrefix>().unwrap()]
    );
    // The other peer may take over a prefix once its owner let it go.
    db.set_peer_allowed_address(PeerId(0), &[]).unwrap();
    db.set_peer_allowed_address(o, &["10.97.21.0/24".parse().unwrap()])
        .unwrap();
    let mut out = [0u8; 2048];
    assert_eq!(
        db.encapsulate(now, &ipv4(TUN_B, TUN_A, b"x"), &mut out)
            .unwrap(),
        Output::Dropped(DropReason::NoEndpoint),
        "routed to the other peer now (which has no endpoint)"
    );
    // update_peer validates before changing anything as well.
    let mut pc = PeerConfig::new(key(77).public_key());
    pc.allowed_address = vec!["10.97.21.0/24".parse().unwrap()];
    pc.persistent_keepalive = 25;
    assert_eq!(db.update_peer(now, &pc).unwrap(), o);
    let mut clash = PeerConfig::new(db.peer_public_key(PeerId(0)).unwrap());
    clash.allowed_address = vec!["10.97.21.5/32".parse().unwrap()];
    clash.persistent_keepalive = 10;
    assert!(db.update_peer(now, &clash).is_err());
    assert!(db.peer_allowed_address(PeerId(0)).unwrap().is_empty());
}

#[test]
fn endpoint_change_redirects_traffic() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 44, |_| {}, |_| {});
    connect(&mut da, &mut db, now);
    let moved: SocketAddr = "192.0.2.77:4444".parse().unwrap();
    da.set_peer_endpoint(PeerId(0), moved).unwrap();
    assert_eq!(da.peer_endpoint(PeerId(0)), Some(moved));
    let mut out = [0u8; 2048];
    match da
        .encapsulate(now, &ipv4(TUN_A, TUN_B, b"x"), &mut out)
        .unwrap()
    {
        Output::Transmit { dst, .. } => assert_eq!(dst, moved),
        other => panic!("{other:?}"),
    }
    // update_peer with an endpoint in the config sets it too.
    let mut pc = PeerConfig::new(db.public_key());
    pc.allowed_address = vec!["10.97.21.2/32".parse().unwrap()];
    pc.endpoint_address = Some("192.0.2.78".into());
    pc.endpoint_port = Some(5555);
    da.update_peer(now, &pc).unwrap();
    assert_eq!(
        da.peer_endpoint(PeerId(0)),
        Some("192.0.2.78:5555".parse().unwrap())
    );
}

#[test]
fn preshared_key_change_applies_to_the_next_handshake() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 45, |_| {}, |_| {});
    connect(&mut da, &mut db, now);
    let psk = Key([9; 32]);
    // Only A changes: the current session keeps working...
    da.set_peer_preshared_key(PeerId(0), Some(psk)).unwrap();
    let mut out = [0u8; 2048];
    let w = seal(&mut da, now, &ipv4(TUN_A, TUN_B, b"still"));
    assert!(matches!(
        db.handle_datagram(now, a(), &w, &mut out).unwrap(),
        Output::Deliver { .. }
    ));
    // ...but a new handshake fails at A (B's response is keyed without the PSK).
    let t = now + Duration::from_secs(6);
    da.initiate(t, PeerId(0)).unwrap();
    let init = da.poll_transmit(now).unwrap().payload;
    db.handle_datagram(t, a(), &init, &mut out).unwrap();
    let resp = db.poll_transmit(now).unwrap().payload;
    assert_eq!(
        da.handle_datagram(t, b(), &resp, &mut out).unwrap(),
        Output::Dropped(DropReason::BadHandshakeAuth)
    );
    // B sets the same key: the next handshake completes.
    db.set_peer_preshared_key(PeerId(0), Some(psk)).unwrap();
    let t = t + Duration::from_secs(6);
    da.initiate(t, PeerId(0)).unwrap();
    let init = da.poll_transmit(now).unwrap().payload;
    db.handle_datagram(t, a(), &init, &mut out).unwrap();
    let resp = db.poll_transmit(now).unwrap().payload;
    assert_eq!(
        da.handle_datagram(t, b(), &resp, &mut out).unwrap(),
        Output::Done
    );
    assert_eq!(da.peer_stats(PeerId(0)).unwrap().handshakes, 2);
}

#[test]
fn persistent_keepalive_turned_on_and_off_at_run_time() {
    let t0 = Instant::now();
    let mut p = pair(t0, 46, |_| {}, |_| {});
    // Session at 1 s (the staged ping).
    p.a.send_at(t0 + Duration::from_secs(1), ipv4(TUN_A, TUN_B, b"ping"));
    p.run_for(Duration::from_secs(5));
    assert!(p.a.dev.peer_has_session(PeerId(0), p.now()));
    // At 5 s A turns on persistent-keepalive 7: one keepalive at once, then every 7 s.
    let on = p.now();
    p.a.dev
        .set_peer_persistent_keepalive(on, PeerId(0), 7)
        .unwrap();
    let n0 = p.a.sent_times(4, Some(32)).len();
    // (The node collects its device's transmits on the next step.)
    p.run_for(Duration::from_secs(30));
    let ka: Vec<Duration> =
        p.a.sent_times(4, Some(32))
            .into_iter()
            .skip(n0)
            .filter(|t| *t >= on)
            .map(|t| t - on)
            .collect();
    // One at once (5 s); B's passive keepalive (it received the ping at 1.03 s, so at 11.03 s)
    // reaches A at 11.04 s and, like every authenticated packet, re-arms A's timer: 18.04 s,
    // then every 7 s while nothing else moves.
    let ms = |v: &[u64]| {
        v.iter()
            .map(|s| Duration::from_millis(*s))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ka,
        ms(&[0, 13_040, 20_040, 27_040]),
        "keepalives after enabling"
    );
    // Off: no more keepalives from A (B's passive keepalive answers nothing since A sends
    // nothing), and no initiations either.
    let off = p.now();
    p.a.dev
        .set_peer_persistent_keepalive(off, PeerId(0), 0)
        .unwrap();
    p.run_for(Duration::from_secs(100));
    assert!(p
        .a
        .sent_times(4, Some(32))
        .iter()
        .all(|t| *t <= off + Duration::from_millis(1)));
}

#[test]
fn disable_peer_drops_sessions_and_enable_lets_traffic_handshake_again() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 47, |_| {}, |_| {});
    connect(&mut da, &mut db, now);
    da.set_peer_disabled(now, PeerId(0), true).unwrap();
    assert!(!da.peer_has_session(PeerId(0), now));
    assert_eq!(da.index_table_len(), 0);
    assert_eq!(da.poll_timeout(), None);
    let mut out = [0u8; 2048];
    assert_eq!(
        da.encapsulate(now, &ipv4(TUN_A, TUN_B, b"x"), &mut out)
            .unwrap(),
        Output::Dropped(DropReason::Disabled)
    );
    // (Initiations stay rate-limited to one per RekeyTimeout across the disable.)
    let later = now + Duration::from_secs(5);
    da.set_peer_disabled(later, PeerId(0), false).unwrap();
    assert_eq!(
        da.encapsulate(later, &ipv4(TUN_A, TUN_B, b"x"), &mut out)
            .unwrap(),
        Output::Done,
        "staged, handshake started"
    );
    let init = da.poll_transmit(now).unwrap().payload;
    assert_eq!(init[0], 1);
    let mut saw = false;
    while let Some(e) = da.poll_event() {
        saw |= matches!(e, Event::HandshakeInitiated { .. });
    }
    assert!(saw);
}

#[test]
fn public_key_change_is_remove_plus_add() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 48, |_| {}, |_| {});
    connect(&mut da, &mut db, now);
    // A's peer entry for B gets a new key: update_peer with that key adds a peer, which
    // clashes with the old entry's allowed address until the old one is removed.
    let new_key = key(99).public_key();
    let mut pc = PeerConfig::new(new_key);
    pc.allowed_address = vec!["10.97.21.2/32".parse().unwrap()];
    assert!(da.update_peer(now, &pc).is_err());
    da.remove_peer(PeerId(0)).unwrap();
    let id = da.update_peer(now, &pc).unwrap();
    assert_eq!(id, PeerId(1));
    assert_eq!(da.peer_by_key(&new_key), Some(id));
    assert_eq!(da.peer_by_key(&db.public_key()), None);
}

#[test]
fn overlap_rule_for_host_and_network_prefixes() {
    let now = Instant::now();
    let (_da, mut db) = two_devices(now, 49, |_| {}, |_| {});
    // B's peer 0 (A) owns 10.97.21.1/32. Another peer with a /24 around it, the same /32, or
    // a /32 inside a third peer's /16 are all refused; disjoint ones are fine.
    let mut add = |k: u8, p: &str| {
        let mut pc = PeerConfig::new(key(k).public_key());
        pc.allowed_address = vec![p.parse().unwrap()];
        db.add_peer(now, &pc)
    };
    let e = add(80, "10.97.21.0/24").unwrap_err().to_string();
    assert!(e.contains("10.97.21.1/32"), "{e}");
    let e = add(81, "10.97.21.1/32").unwrap_err().to_string();
    assert!(e.contains("overlaps 10.97.21.1/32"), "{e}");
    add(82, "10.50.0.0/16").unwrap();
    let e = add(83, "10.50.7.7/32").unwrap_err().to_string();
    assert!(e.contains("overlaps 10.50.0.0/16"), "{e}");
    add(84, "10.50.7.7/32".replace("10.50", "10.51").as_str()).unwrap();
    add(85, "fd00::1/128").unwrap();
    let e = add(86, "fd00::/64").unwrap_err().to_string();
    assert!(e.contains("fd00::1/128"), "{e}");
    let e = add(87, "fd00::1/128").unwrap_err().to_string();
    assert!(e.contains("fd00::1/128"), "{e}");
    // A peer may keep its own host prefix when its list is replaced.
    db.set_peer_allowed_address(PeerId(0), &["10.97.21.1/32".parse().unwrap()])
        .unwrap();
}
