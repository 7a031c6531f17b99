//! Whitepaper / RouterOS behaviours driven by direct calls: replays, stale timestamps, flood
//! limiting, bad MACs, roaming only on authenticated packets, cryptokey routing checks, buffer
//! errors, config rules. Every bad input is a typed, counted drop and changes no state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{a, b, handshake, ipv4, key, rng, two_devices, TUN_A, TUN_B, WALL};
use wireguard::cookie::CookieGenerator;
use wireguard::noise::{create_initiation, tai64n, PeerStatic};
use wireguard::wire::INITIATION_MAC1;
use wireguard::{
    ConfigError, Device, DropReason, Error, Event, InterfaceConfig, Output, PeerConfig, PeerId,
};
use x25519_dalek::StaticSecret;

fn flush(d: &mut Device, now: Instant) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| d.poll_transmit(now).map(|t| t.payload)).collect()
}

#[test]
fn replayed_transport_is_dropped_and_counted() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 1, |_| {}, |_| {});
    handshake(&mut da, &mut db, now);
    let ka = flush(&mut da, now); // A's keepalive confirming B's keypair
    let mut out = [0u8; 2048];
    assert_eq!(
        db.handle_datagram(now, a(), &ka[0], &mut out).unwrap(),
        Output::Done
    );
    let pkt = ipv4(TUN_A, TUN_B, b"once");
    let mut wire = [0u8; 2048];
    let Output::Transmit { len, .. } = da.encapsulate(now, &pkt, &mut wire).unwrap() else {
        panic!()
    };
    let d = wire[..len].to_vec();
    assert!(matches!(
        db.handle_datagram(now, a(), &d, &mut out).unwrap(),
        Output::Deliver { .. }
    ));
    let before = db.peer_stats(PeerId(0)).unwrap();
    assert_eq!(
        db.handle_datagram(now, a(), &d, &mut out).unwrap(),
        Output::Dropped(DropReason::Replay)
    );
    assert_eq!(db.stats().dropped(DropReason::Replay), 1);
    assert_eq!(db.peer_stats(PeerId(0)).unwrap(), before, "no state change");
    // Tampered ciphertext: authentication failure, counter not consumed.
    let mut bad = d.clone();
    bad[20] ^= 1;
    bad[8] = 9; // fresh counter
    assert_eq!(
        db.handle_datagram(now, a(), &bad, &mut out).unwrap(),
        Output::Dropped(DropReason::BadTransportAuth)
    );
    // Unknown receiver index.
    let mut unk = d.clone();
    unk[4..8].copy_from_slice(&0xdead_beefu32.to_le_bytes());
    assert_eq!(
        db.handle_datagram(now, a(), &unk, &mut out).unwrap(),
        Output::Dropped(DropReason::UnknownIndex)
    );
}

#[test]
fn initiation_replay_stale_timestamp_and_flood() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 2, |_| {}, |_| {});
    let (init, _) = handshake(&mut da, &mut db, now);
    let mut out = [0u8; 2048];
    // Exact replay of the initiation (even much later): stale timestamp.
    let later = now + Duration::from_secs(30);
    assert_eq!(
        db.handle_datagram(later, a(), &init, &mut out).unwrap(),
        Output::Dropped(DropReason::StaleTimestamp)
    );
    assert!(db.poll_transmit(now).is_none());

    // Hand-built initiations with newer timestamps: the second within 20 ms is a flood.
    let ka = key(3); // two_devices(seed 2): A's key = key(1 + 2)
    let kb_pub = db.public_key();
    let secret = StaticSecret::from(ka.0);
    let st = PeerStatic::new(&secret, kb_pub.0, None);
    let mut cg = CookieGenerator::new(&kb_pub.0);
    let mut r = rng(99);
    let mut mk = |wall: Duration, t: Instant| {
        let (m, _) = create_initiation(&mut *r, &ka.public_key().0, &st, 77, tai64n(wall)).unwrap();
        let mut bytes = m.to_bytes();
        cg.add_macs(t, &mut bytes, INITIATION_MAC1);
        bytes.to_vec()
    };
    let t1 = now + Duration::from_secs(40);
    let i1 = mk(WALL + Duration::from_secs(40), t1);
    assert_eq!(
        db.handle_datagram(t1, a(), &i1, &mut out).unwrap(),
        Output::Done
    );
    assert_eq!(flush(&mut db, now).len(), 1);
    let t2 = t1 + Duration::from_millis(10);
    let i2 = mk(WALL + Duration::from_secs(41), t2);
    assert_eq!(
        db.handle_datagram(t2, a(), &i2, &mut out).unwrap(),
        Output::Dropped(DropReason::InitiationFlood)
    );
    // 20 ms after the last consumed one it is accepted.
    let t3 = t1 + Duration::from_millis(20);
    assert_eq!(
        db.handle_datagram(t3, a(), &i2, &mut out).unwrap(),
        Output::Done
    );
    // Wrong mac1: silent drop before any DH.
    let mut bad = mk(WALL + Duration::from_secs(50), t3);
    bad[120] ^= 1;
    assert_eq!(
        db.handle_datagram(t3 + Duration::from_secs(1), a(), &bad, &mut out)
            .unwrap(),
        Output::Dropped(DropReason::BadMac1)
    );
}

#[test]
fn unknown_peer_key_is_dropped() {
    let now = Instant::now();
    let (_, mut db) = two_devices(now, 3, |_| {}, |_| {});
    let stranger = key(200);
    let kb_pub = db.public_key();
    let secret = StaticSecret::from(stranger.0);
    let st = PeerStatic::new(&secret, kb_pub.0, None);
    let (m, _) =
        create_initiation(&mut *rng(1), &stranger.public_key().0, &st, 5, tai64n(WALL)).unwrap();
    let mut bytes = m.to_bytes();
    CookieGenerator::new(&kb_pub.0).add_macs(now, &mut bytes, INITIATION_MAC1);
    let mut out = [0u8; 256];
    assert_eq!(
        db.handle_datagram(now, a(), &bytes, &mut out).unwrap(),
        Output::Dropped(DropReason::UnknownPeerKey)
    );
}

#[test]
fn zero_dh_peer_cannot_handshake() {
    // A low-order public key makes DH(static, static) all zeros: refused, nothing sent.
    let now = Instant::now();
    let mut d = Device::new(
        &InterfaceConfig {
            private_key: Some(key(9)),
            ..Default::default()
        },
        rng(1),
        now,
        WALL,
    )
    .unwrap();
    let mut pc = PeerConfig::new(wireguard::Key([0u8; 32]));
    pc.endpoint_address = Some("192.0.2.1".into());
    pc.endpoint_port = Some(1);
    d.add_peer(now, &pc).unwrap();
    d.initiate(now, PeerId(0)).unwrap();
    assert!(d.poll_transmit(now).is_none());
}

#[test]
fn roaming_only_on_authenticated_packets() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 4, |_| {}, |_| {});
    handshake(&mut da, &mut db, now);
    let mut out = [0u8; 2048];
    for d in flush(&mut da, now) {
        db.handle_datagram(now, a(), &d, &mut out).unwrap();
    }
    assert_eq!(db.peer_endpoint(PeerId(0)), Some(a()));
    let moved: SocketAddr = "198.51.100.7:40000".parse().unwrap();
    // A forged/garbage transport packet from a new address: no roaming.
    let mut forged = vec![0u8; 64];
    forged[0] = 4;
    assert!(matches!(
        db.handle_datagram(now, moved, &forged, &mut out).unwrap(),
        Output::Dropped(_)
    ));
    assert_eq!(db.peer_endpoint(PeerId(0)), Some(a()));
    // An authenticated packet from the new address: endpoint follows it.
    let mut wire = [0u8; 2048];
    let Output::Transmit { len, .. } = da
        .encapsulate(now, &ipv4(TUN_A, TUN_B, b"roamed"), &mut wire)
        .unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        db.handle_datagram(now, moved, &wire[..len], &mut out)
            .unwrap(),
        Output::Deliver { .. }
    ));
    assert_eq!(db.peer_endpoint(PeerId(0)), Some(moved));
    assert!(std::iter::from_fn(|| db.poll_event()).any(|e| e
        == Event::EndpointChanged {
            peer: PeerId(0),
            endpoint: moved
        }));
    // B's replies now go to the new endpoint.
    let Output::Transmit { dst, .. } = db
        .encapsulate(now, &ipv4(TUN_B, TUN_A, b"back"), &mut wire)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(dst, moved);
}

#[test]
fn cryptokey_routing_checks() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 5, |_| {}, |_| {});
    handshake(&mut da, &mut db, now);
    let mut out = [0u8; 2048];
    for d in flush(&mut da, now) {
        db.handle_datagram(now, a(), &d, &mut out).unwrap();
    }
    let mut wire = [0u8; 2048];
    // Outbound to an address no peer owns.
    assert_eq!(
        da.encapsulate(
            now,
            &ipv4(TUN_A, "192.0.2.9".parse().unwrap(), b"x"),
            &mut wire
        )
        .unwrap(),
        Output::Dropped(DropReason::NoRoute)
    );
    // Inner source outside A's allowed-address on B: dropped after decryption.
    let spoof = ipv4("10.97.21.99".parse().unwrap(), TUN_B, b"spoofed");
    let Output::Transmit { len, .. } = da.encapsulate(now, &spoof, &mut wire).unwrap() else {
        panic!()
    };
    assert_eq!(
        db.handle_datagram(now, a(), &wire[..len], &mut out)
            .unwrap(),
        Output::Dropped(DropReason::SourceNotAllowed)
    );
    // Not an IP packet.
    assert_eq!(
        da.encapsulate(now, &[0x10, 0, 0], &mut wire).unwrap(),
        Output::Dropped(DropReason::BadInnerPacket)
    );
}

#[test]
fn buffer_too_small_names_size_and_leaves_buffer() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 6, |_| {}, |_| {});
    handshake(&mut da, &mut db, now);
    let pkt = ipv4(TUN_A, TUN_B, &[1u8; 80]); // 100 bytes -> padded 112 -> 144 on the wire
    let mut small = [0xeeu8; 143];
    assert_eq!(
        da.encapsulate(now, &pkt, &mut small),
        Err(Error::BufferTooSmall {
            need: 144,
            have: 143
        })
    );
    assert!(small.iter().all(|&x| x == 0xee));
    let mut wire = [0u8; 144];
    let Output::Transmit { len, .. } = da.encapsulate(now, &pkt, &mut wire).unwrap() else {
        panic!()
    };
    assert_eq!(len, 144);
    // Receiving needs datagram length - 16.
    let mut out = [0x11u8; 127];
    for d in flush(&mut da, now) {
        db.handle_datagram(now, a(), &d, &mut [0u8; 64]).unwrap();
    }
    assert_eq!(
        db.handle_datagram(now, a(), &wire, &mut out),
        Err(Error::BufferTooSmall {
            need: 128,
            have: 127
        })
    );
    assert!(out.iter().all(|&x| x == 0x11));
    let mut out = [0u8; 128];
    assert_eq!(
        db.handle_datagram(now, a(), &wire, &mut out).unwrap(),
        Output::Deliver {
            peer: PeerId(0),
            len: 100
        }
    );
    assert_eq!(&out[..100], &pkt[..]);
}

#[test]
fn malformed_inputs_are_typed_drops() {
    let now = Instant::now();
    let (_, mut db) = two_devices(now, 7, |_| {}, |_| {});
    let mut out = [0u8; 256];
    for d in [
        &[][..],
        &[1, 0, 0][..],
        &[9, 0, 0, 0][..],
        &[1u8; 148][..],
        &[2, 0, 0, 0, 1][..],
    ] {
        assert_eq!(
            db.handle_datagram(now, a(), d, &mut out).unwrap(),
            Output::Dropped(DropReason::Malformed)
        );
    }
    let mut bad_mac = vec![0u8; 148];
    bad_mac[0] = 1;
    assert_eq!(
        db.handle_datagram(now, a(), &bad_mac, &mut out).unwrap(),
        Output::Dropped(DropReason::BadMac1)
    );
    let mut cookie = vec![0u8; 64];
    cookie[0] = 3;
    assert_eq!(
        db.handle_datagram(now, a(), &cookie, &mut out).unwrap(),
        Output::Dropped(DropReason::UnknownIndex)
    );
    assert_eq!(db.stats().dropped(DropReason::Malformed), 5);
    assert!(db.poll_transmit(now).is_none());
}

#[test]
fn overlapping_allowed_addresses_rejected() {
    let now = Instant::now();
    let mut d = Device::new(&InterfaceConfig::default(), rng(3), now, WALL).unwrap();
    let mut p1 = PeerConfig::new(key(1).public_key());
    p1.allowed_address = vec!["10.0.0.0/16".parse().unwrap()];
    d.add_peer(now, &p1).unwrap();
    let mut p2 = PeerConfig::new(key(2).public_key());
    p2.allowed_address = vec!["10.0.5.0/24".parse().unwrap()];
    assert!(matches!(
        d.add_peer(now, &p2),
        Err(Error::Config(ConfigError::Invalid {
            field: "allowed-address",
            ..
        }))
    ));
    // Generated private key when none is configured (RouterOS on creation).
    assert_ne!(d.public_key().0, [0u8; 32]);
    assert!(d.is_running());
    d.set_disabled(true);
    assert!(!d.is_running());
}

#[test]
fn preshared_key_mismatch_fails_handshake() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(
        now,
        8,
        |c| c.preshared_key = Some(wireguard::Key([1; 32])),
        |c| c.preshared_key = Some(wireguard::Key([2; 32])),
    );
    da.initiate(now, PeerId(0)).unwrap();
    let init = da.poll_transmit(now).unwrap().payload;
    let mut out = [0u8; 256];
    // The PSK enters only after the initiation: B accepts and answers...
    assert_eq!(
        db.handle_datagram(now, a(), &init, &mut out).unwrap(),
        Output::Done
    );
    let resp = db.poll_transmit(now).unwrap().payload;
    // ...but A cannot authenticate the response.
    assert_eq!(
        da.handle_datagram(now, b(), &resp, &mut out).unwrap(),
        Output::Dropped(DropReason::BadHandshakeAuth)
    );
    assert!(!da.peer_has_session(PeerId(0), now));
}

fn ipv6(src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 40 + payload.len()];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    p[6] = 59; // no next header
    p[7] = 64;
    p[8..24].copy_from_slice(&src.parse::<std::net::Ipv6Addr>().unwrap().octets());
    p[24..40].copy_from_slice(&dst.parse::<std::net::Ipv6Addr>().unwrap().octets());
    p[40..].copy_from_slice(payload);
    p
}

#[test]
fn ipv6_inner_packets_routed_and_source_checked() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(
        now,
        9,
        |c| c.allowed_address.push("fd97:21::/64".parse().unwrap()),
        |c| c.allowed_address.push("fd97:21::1/128".parse().unwrap()),
    );
    handshake(&mut da, &mut db, now);
    let mut out = [0u8; 2048];
    for d in flush(&mut da, now) {
        db.handle_datagram(now, a(), &d, &mut out).unwrap();
    }
    let mut wire = [0u8; 2048];
    let pkt = ipv6("fd97:21::1", "fd97:21::2", b"six");
    let Output::Transmit { len, .. } = da.encapsulate(now, &pkt, &mut wire).unwrap() else {
        panic!()
    };
    assert_eq!(len, 32 + 48); // 43 bytes padded to 48
    assert_eq!(
        db.handle_datagram(now, a(), &wire[..len], &mut out)
            .unwrap(),
        Output::Deliver {
            peer: PeerId(0),
            len: pkt.len()
        }
    );
    assert_eq!(&out[..pkt.len()], &pkt[..]);
    // Source fd97:21::5 is in A's /64 towards B, but B only allows fd97:21::1/128 from A.
    let spoof = ipv6("fd97:21::5", "fd97:21::2", b"x");
    let Output::Transmit { len, .. } = da.encapsulate(now, &spoof, &mut wire).unwrap() else {
        panic!()
    };
    assert_eq!(
        db.handle_datagram(now, a(), &wire[..len], &mut out)
            .unwrap(),
        Output::Dropped(DropReason::SourceNotAllowed)
    );
    assert_eq!(
        da.encapsulate(now, &ipv6("fd97:21::1", "2001:db8::1", b"x"), &mut wire)
            .unwrap(),
        Output::Dropped(DropReason::NoRoute)
    );
}
