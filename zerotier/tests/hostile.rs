//! Bad input against a node: every case is a typed, counted drop and leaves bounded state
//! (issue #24's rule, written down in the crate docs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use zerotier::crypto::{armor, CipherSuite, PeerKey};
use zerotier::wire::verbs::{Message, OkBody, OkHello, OkMsg};
use zerotier::wire::{Verb, MAX_PACKET_LEN};
use zerotier::{DropReason, Event, Input, LocalSocket, Node, NodeConfig};

struct Setup {
    node: Node,
    now: Instant,
    key_from_root: PeerKey,
}

/// Leaf a with the root known (from the planet), the clock at t0.
fn leaf() -> Setup {
    let ids = identities();
    let key = signing_key();
    let pl = planet(&ids[0], &[ROOT_ADDR], 1_700_000_000_000, &key);
    let now = Instant::now();
    let node = Node::new(NodeConfig::new(ids[1].clone(), pl), now, Box::new(rng(7))).unwrap();
    let key_from_root = PeerKey::new(ids[0].agree(&ids[1]).unwrap());
    Setup {
        node,
        now,
        key_from_root,
    }
}

fn from_root() -> std::net::SocketAddr {
    ROOT_ADDR.parse().unwrap()
}

#[test]
fn bad_mac_truncated_oversized_replay_unexpected() {
    let mut s = leaf();
    let ids = identities();
    let (root, a) = (ids[0].address(), ids[1].address());
    let now = s.now;
    let l = LocalSocket::Primary;
    assert_eq!(
        s.node.handle_datagram(now, l, from_root(), &[0; 10]),
        Input::Dropped(DropReason::Truncated)
    );
    assert_eq!(
        s.node.handle_datagram(now, l, from_root(), &[0; 20]),
        Input::Dropped(DropReason::Truncated)
    );
    assert_eq!(
        s.node
            .handle_datagram(now, l, from_root(), &vec![0; MAX_PACKET_LEN + 1]),
        Input::Dropped(DropReason::Oversized)
    );
    // An ECHO from the root with a wrong key.
    let mut p = packet(77, a, root, Verb::Echo, b"x");
    armor(&mut p, &PeerKey::new([1; 48]), CipherSuite::AesGmacSiv);
    assert_eq!(
        s.node.handle_datagram(now, l, from_root(), &p),
        Input::Dropped(DropReason::BadMac)
    );
    // The right key: answered; the same datagram again: replay.
    let mut p = packet(78, a, root, Verb::Echo, b"x");
    armor(&mut p, &s.key_from_root, CipherSuite::Salsa2012Poly1305);
    assert_eq!(
        s.node.handle_datagram(now, l, from_root(), &p),
        Input::Delivered
    );
    assert_eq!(
        s.node.handle_datagram(now, l, from_root(), &p),
        Input::Dropped(DropReason::Replay)
    );
    // A trusted-path packet (cipher 2) is not accepted.
    let mut p = packet(79, a, root, Verb::Echo, b"x");
    p[18] = 2 << 3;
    assert_eq!(
        s.node.handle_datagram(now, l, from_root(), &p),
        Input::Dropped(DropReason::UnsupportedCipher)
    );
    // An OK answering nothing we sent.
    let mut ok = Vec::new();
    Message::Ok(OkMsg {
        in_re_verb: Verb::Echo,
        in_re_verb_byte: 8,
        in_re_packet_id: 12345,
        body: OkBody::Echo(vec![]),
    })
    .emit(&mut ok);
    let mut p = packet(80, a, root, Verb::Ok, &ok);
    armor(&mut p, &s.key_from_root, CipherSuite::Salsa2012Poly1305);
    assert_eq!(
        s.node.handle_datagram(now, l, from_root(), &p),
        Input::Dropped(DropReason::UnexpectedReply)
    );
    // Our own address as source.
    let p = packet(81, a, a, Verb::Echo, b"x");
    assert_eq!(
        s.node.handle_datagram(now, l, from_root(), &p),
        Input::Dropped(DropReason::FromSelf)
    );
    let st = s.node.stats();
    for r in [
        DropReason::Truncated,
        DropReason::Oversized,
        DropReason::BadMac,
        DropReason::Replay,
        DropReason::UnsupportedCipher,
        DropReason::UnexpectedReply,
        DropReason::FromSelf,
    ] {
        assert!(st.dropped(r) >= 1, "{r:?}");
    }
}

#[test]
fn fragment_flood_is_bounded_and_times_out() {
    let mut s = leaf();
    let a = identities()[1].address();
    let now = s.now;
    // 10,000 fragments of distinct packets, each claiming 7 pieces: the table holds 32.
    for i in 0..10_000u64 {
        let mut f = Vec::new();
        zerotier::wire::Fragment {
            packet_id: i + 1,
            dest: a,
            total: 7,
            number: 1 + (i % 6) as u8,
            hops: 0,
            payload: &[0xab; 1400],
        }
        .emit(&mut f);
        let r =
            s.node
                .handle_datagram(now, LocalSocket::Primary, "10.9.9.9:9".parse().unwrap(), &f);
        assert_eq!(r, Input::Buffered);
        assert!(s.node.reassembly_pending() <= 32);
    }
    assert_eq!(s.node.reassembly_pending(), 32);
    // Bad numbering.
    let mut f = Vec::new();
    zerotier::wire::Fragment {
        packet_id: 1,
        dest: a,
        total: 9,
        number: 1,
        hops: 0,
        payload: &[1; 10],
    }
    .emit(&mut f);
    assert_eq!(
        s.node
            .handle_datagram(now, LocalSocket::Primary, from_root(), &f),
        Input::Dropped(DropReason::BadFragment)
    );
    // Everything expires 5 s later.
    s.node.handle_timeout(now + Duration::from_secs(5));
    assert_eq!(s.node.reassembly_pending(), 0);
    assert_eq!(s.node.stats().dropped(DropReason::ReassemblyTimeout), 32);
}

#[test]
fn forged_world_in_ok_hello_is_refused_and_a_signed_one_accepted() {
    let mut s = leaf();
    let ids = identities();
    let (root, a) = (ids[0].address(), ids[1].address());
    let l = LocalSocket::Primary;
    // The node's first timeout sends HELLO to the root; take its packet ID.
    let t = s.node.poll_timeout().unwrap();
    s.node.handle_timeout(t);
    let hello = s.node.poll_transmit(t).unwrap();
    let hello_id = u64::from_be_bytes(hello.payload[..8].try_into().unwrap());
    let key = signing_key();
    use rand_chacha::rand_core::SeedableRng;
    let evil = zerotier::SigningKeyPair::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(66));
    let forged = planet(&ids[0], &["10.66.6.6:9993"], 1_800_000_000_000, &evil);
    let good = planet(
        &ids[0],
        &[ROOT_ADDR, "10.97.4.4:9993"],
        1_800_000_000_000,
        &key,
    );
    let ok_with = |w: &zerotier::World, id: u64| {
        let mut b = Vec::new();
        Message::Ok(OkMsg {
            in_re_verb: Verb::Hello,
            in_re_verb_byte: 1,
            in_re_packet_id: hello_id,
            body: OkBody::Hello(OkHello {
                timestamp_echo: 0,
                protocol_version: 12,
                major: 1,
                minor: 14,
                revision: 1,
                dest_addr: Some(zerotier::wire::InetAddr::Nil),
                world_updates: Some(w.to_bytes()),
            }),
        })
        .emit(&mut b);
        let mut p = packet(id, a, root, Verb::Ok, &b);
        armor(&mut p, &s.key_from_root, CipherSuite::Salsa2012Poly1305);
        p
    };
    let p = ok_with(&forged, 1001);
    assert_eq!(
        s.node.handle_datagram(t, l, from_root(), &p),
        Input::Delivered
    );
    assert_eq!(s.node.stats().dropped(DropReason::BadWorldSignature), 1);
    assert_eq!(s.node.planet().timestamp, 1_700_000_000_000);
    let p = ok_with(&good, 1002);
    assert_eq!(
        s.node.handle_datagram(t, l, from_root(), &p),
        Input::Delivered
    );
    assert_eq!(s.node.planet().timestamp, 1_800_000_000_000);
    let mut evs = Vec::new();
    while let Some(e) = s.node.poll_event() {
        evs.push(e);
    }
    assert!(evs.contains(&Event::PlanetUpdated {
        timestamp: 1_800_000_000_000
    }));
}

#[test]
fn hello_with_invalid_identity_or_collision_is_dropped() {
    let mut s = leaf();
    let ids = identities();
    let a = ids[1].address();
    let now = s.now;
    // KNOWN_BAD style: b's keys under another address.
    let forged = zerotier::Identity::from_parts(
        zerotier::Address::new(0x1122334455),
        *ids[2].public_key(),
        None,
    );
    let hello = zerotier::wire::verbs::Hello {
        protocol_version: 12,
        major: 1,
        minor: 14,
        revision: 1,
        timestamp: 0,
        identity: forged.clone(),
        dest_addr: None,
        planet: None,
        encrypted_tail: vec![],
    };
    let mut b = Vec::new();
    hello.emit(&mut b);
    let mut p = packet(5, a, forged.address(), Verb::Hello, &b);
    let key = PeerKey::new(ids[1].agree(&forged).unwrap());
    armor(&mut p, &key, CipherSuite::Poly1305None);
    assert_eq!(
        s.node
            .handle_datagram(now, LocalSocket::Primary, "10.9.9.9:9".parse().unwrap(), &p),
        Input::Dropped(DropReason::InvalidIdentity)
    );
    assert_eq!(s.node.peer_count(), 1);
    // The root's address with b's key: collision with the planet's root identity.
    let claim = zerotier::Identity::from_parts(ids[0].address(), *ids[2].public_key(), None);
    let hello = zerotier::wire::verbs::Hello {
        identity: claim.clone(),
        ..hello
    };
    let mut b = Vec::new();
    hello.emit(&mut b);
    let mut p = packet(6, a, claim.address(), Verb::Hello, &b);
    armor(
        &mut p,
        &PeerKey::new(ids[1].agree(&claim).unwrap()),
        CipherSuite::Poly1305None,
    );
    assert_eq!(
        s.node
            .handle_datagram(now, LocalSocket::Primary, "10.9.9.9:9".parse().unwrap(), &p),
        Input::Dropped(DropReason::IdentityCollision)
    );
}

#[test]
fn large_payload_is_fragmented_and_reassembled_between_nodes() {
    // The mesh frames each datagram with its two addresses (38 bytes): the link MTU allows
    // exactly 1432-byte ZeroTier datagrams.
    let mut m = three(netsim::LinkConfig::perfect().with_mtu(1432 + 38), 21);
    m.run_for(Duration::from_secs(2));
    let b = identities()[2].address();
    // Incompressible, so it must travel as a head and four fragments (each way).
    let mut big = vec![0u8; 6000];
    rand_chacha::rand_core::RngCore::fill_bytes(&mut rng(99), &mut big);
    let now = m.now();
    m.nodes[1].1.node.send_echo(now, b, &big).unwrap();
    m.run_for(Duration::from_secs(2));
    let got = m.nodes[1].1.events.iter().find_map(|(_, e)| match e {
        Event::EchoReply { payload, .. } => Some(payload.clone()),
        _ => None,
    });
    let got = got.expect("echo reply");
    assert!(got == big, "reply payload differs ({} bytes)", got.len());
    assert_eq!(
        m.trace
            .iter()
            .filter(|t| t.fate == netsim::Fate::TooBig)
            .count(),
        0
    );
    // Nothing exceeded the MTU, and fragments were relayed by the root.
    assert!(m.trace.iter().all(|t| t.data.len() <= 1432));
    assert!(m
        .trace
        .iter()
        .any(|t| t.data.len() > 16 && t.data[13] == 0xff && t.from_node == 0));
}
