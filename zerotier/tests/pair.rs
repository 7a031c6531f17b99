//! Two leaves and a root in memory over netsim: HELLO, WHOIS, relay through the root,
//! RENDEZVOUS, then a direct path; exact keepalive timers; loss, duplication and reordering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use netsim::{Fate, LinkConfig};
use zerotier::crypto::dearmor;
use zerotier::wire::{Header, Verb, IDX_VERB};
use zerotier::{DropReason, Event, Input, PeerSource};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Verb of a datagram between two of the three test identities (decrypting with their key).
fn verb_of(data: &[u8]) -> Option<(String, String, Verb, u8)> {
    let h = Header::parse(data).ok()?;
    let ids = identities();
    let find = |a| ids.iter().find(|i| i.address() == a);
    let (s, d) = (find(h.source)?, find(h.dest)?);
    let key = zerotier::PeerKey::new(s.agree(d)?);
    let mut b = data.to_vec();
    dearmor(&mut b, &key).ok()?;
    Some((
        h.source.to_string(),
        h.dest.to_string(),
        Verb::from_u8(b[IDX_VERB]),
        h.hops(),
    ))
}

#[test]
fn leaf_and_root_hello_then_exact_keepalive_timers() {
    let mut m = three(LinkConfig::perfect(), 1);
    m.set_cut(0, 2, true); // b stays away
    m.run_for(Duration::from_secs(80));
    let a = &m.nodes[1].1;
    let root = identities()[0].address();
    assert!(a.has(|e| *e == Event::Online));
    assert_eq!(a.when(|e| *e == Event::Online), Some(ms(20)));
    // a's datagrams to the root: times and verbs.
    let sent: Vec<(Duration, Verb)> = m
        .trace
        .iter()
        .filter(|t| t.from_node == 1)
        .map(|t| (t.at, verb_of(&t.data).unwrap().2))
        .collect();
    let expect = vec![
        (ms(0), Verb::Hello),     // root contact at start
        (ms(20), Verb::Ok),       // OK to the root's path-confirmation HELLO
        (ms(14_020), Verb::Echo), // heartbeat: path not sent on for 14 s
        (ms(28_020), Verb::Echo),
        (ms(42_020), Verb::Echo),
        (ms(56_020), Verb::Echo),
        (ms(60_000), Verb::Hello), // full HELLO every 60 s
        (ms(74_000), Verb::Echo),
    ];
    assert_eq!(sent, expect);
    // The root confirmed a's path when a's OK came back.
    let r = &m.nodes[0].1;
    assert!(r.has(
        |e| matches!(e, Event::PathConfirmed { peer, .. } if *peer == identities()[1].address())
    ));
    assert!(r.has(|e| matches!(
        e,
        Event::PeerAdded {
            source: PeerSource::Hello,
            ..
        }
    )));
    let info = a.node.peer(root, m.now()).unwrap();
    assert_eq!(info.protocol_version, 12);
    assert_eq!(info.cipher, zerotier::CipherSuite::AesGmacSiv);
    assert_eq!(info.latency, Some(ms(20)));
}

#[test]
fn root_unreachable_hello_retries_every_5s() {
    let mut m = three(LinkConfig::perfect(), 2);
    m.set_cut(0, 1, true);
    m.set_cut(0, 2, true);
    m.run_for(Duration::from_millis(21_000));
    let times: Vec<Duration> = m
        .trace
        .iter()
        .filter(|t| t.from_node == 1)
        .map(|t| t.at)
        .collect();
    assert_eq!(
        times,
        vec![ms(0), ms(5000), ms(10_000), ms(15_000), ms(20_000)]
    );
    assert!(!m.nodes[1].1.node.is_online());
    assert!(m.trace.iter().all(|t| t.fate == Fate::Lost));
}

/// The whole story on a perfect link, checked step by step.
#[test]
fn whois_relay_rendezvous_then_direct() {
    let mut m = three(LinkConfig::perfect(), 3);
    let ids = identities();
    let (root, a, b) = (ids[0].address(), ids[1].address(), ids[2].address());
    m.run_for(Duration::from_secs(1));
    let t0 = m.now();
    m.nodes[1].1.node.send_echo(t0, b, b"ping 1").unwrap();
    m.run_for(Duration::from_secs(2));
    let ea = &m.nodes[1].1;
    let eb = &m.nodes[2].1;
    // a asked the root who b is, and b asked about a when a's relayed ECHO arrived.
    assert!(ea.has(|e| *e == Event::WhoisResolved { peer: b }));
    assert!(eb.has(|e| *e == Event::WhoisResolved { peer: a }));
    assert!(
        ea.has(|e| matches!(e, Event::PeerAdded { peer, source: PeerSource::Whois } if *peer == b))
    );
    // The first ECHO went through the root (hops 1 on arrival) ...
    let relayed: Vec<_> = m
        .trace
        .iter()
        .filter(|t| t.from_node == 0)
        .filter_map(|t| verb_of(&t.data))
        .filter(|(s, d, _, hops)| *hops == 1 && s == &a.to_string() && d == &b.to_string())
        .collect();
    assert!(relayed.iter().any(|x| x.2 == Verb::Echo), "{relayed:?}");
    // ... the root introduced them ...
    assert!(m.nodes[0]
        .1
        .has(|e| *e == Event::Introduced { a, b } || *e == Event::Introduced { a: b, b: a }));
    assert!(ea.has(|e| matches!(e, Event::Rendezvous { peer, .. } if *peer == b)));
    assert!(eb.has(|e| matches!(e, Event::Rendezvous { peer, .. } if *peer == a)));
    // ... they confirmed a direct path ...
    assert!(ea.has(|e| matches!(e, Event::PathConfirmed { peer, remote, .. } if *peer == b && remote.to_string() == B_ADDR)));
    assert!(eb.has(|e| matches!(e, Event::PathConfirmed { peer, remote, .. } if *peer == a && remote.to_string() == A_ADDR)));
    // ... and the reply came back. t = 1.000 WHOIS(b); 1.020 OK(WHOIS): ECHO leaves (the RTT
    // counts from here) through the root; 1.030 the root relays it and sends RENDEZVOUS to both;
    // 1.040 b queues the ECHO (a unknown) and asks WHOIS(a), a sends HELLO straight to b; 1.050
    // b learns a from that HELLO, processes the queued ECHO and answers on the path it came
    // (the root); 1.070 the OK(ECHO) reaches a: 50 ms after the ECHO left.
    let (t, rtt) = ea
        .events
        .iter()
        .find_map(|(t, e)| match e {
            Event::EchoReply {
                peer, payload, rtt, ..
            } if *peer == b && payload == b"ping 1" => Some((*t, *rtt)),
            _ => None,
        })
        .unwrap();
    assert_eq!(rtt, ms(50), "at {t:?}");
    assert_eq!(t, ms(1070));
    // Second ECHO: direct, 20 ms.
    let t1 = m.now();
    let before = m.trace.len();
    m.nodes[1].1.node.send_echo(t1, b, b"ping 2").unwrap();
    m.run_for(Duration::from_millis(100));
    let rtt2 = m.nodes[1].1.events.iter().find_map(|(_, e)| match e {
        Event::EchoReply { payload, rtt, .. } if payload == b"ping 2" => Some(*rtt),
        _ => None,
    });
    assert_eq!(rtt2, Some(ms(20)));
    assert!(
        m.trace[before..].iter().all(|t| t.from_node != 0),
        "nothing through the root any more"
    );
    assert!(m.trace[before..]
        .iter()
        .any(|t| t.from_node == 1 && t.to_node == Some(2)));
    let _ = root;
}

/// The same under 10 % loss with duplication and reordering: the end state is reached and the
/// duplicates are dropped as replays.
#[test]
fn relay_and_direct_under_loss() {
    for seed in [11u64, 12, 13] {
        let mut m = three(LinkConfig::lossy(0.1), seed);
        let ids = identities();
        let b = ids[2].address();
        m.run_for(Duration::from_secs(2));
        for i in 0..20u8 {
            let now = m.now();
            m.nodes[1].1.node.send_echo(now, b, &[i]).unwrap();
            m.run_for(Duration::from_secs(3));
        }
        m.run_for(Duration::from_secs(10));
        let ea = &m.nodes[1].1;
        let replies = ea
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Event::EchoReply { .. }))
            .count();
        // Each ECHO needs two datagrams through 10 % loss once the direct path is up (81 %), and
        // the early ones wait for WHOIS, the relay and the root's path confirmation (which a
        // lost HELLO delays until the next heartbeat, 14 s, as in ZeroTierOne).
        assert!(replies >= 6, "seed {seed}: {replies} replies");
        assert!(
            ea.has(|e| matches!(e, Event::PathConfirmed { peer, .. } if *peer == b)),
            "seed {seed}: direct path confirmed"
        );
        let dups = m
            .nodes
            .iter()
            .map(|(_, e)| e.node.stats().dropped(DropReason::Replay))
            .sum::<u64>();
        assert!(
            dups > 0,
            "seed {seed}: duplicated datagrams were dropped as replays"
        );
        for (_, e) in &m.nodes {
            assert_eq!(e.node.stats().dropped(DropReason::BadMac), 0);
        }
    }
}

#[test]
fn leaf_does_not_relay_and_unknown_sources_are_bounded() {
    let mut m = three(LinkConfig::perfect(), 4);
    m.run_for(Duration::from_secs(1));
    let now = m.now();
    let ids = identities();
    // A packet for b arriving at a: dropped, a is a leaf.
    let mut pkt = vec![0u8; 40];
    pkt[8..13].copy_from_slice(&ids[2].address().to_bytes());
    pkt[13..18].copy_from_slice(&ids[0].address().to_bytes());
    let a = &mut m.nodes[1].1.node;
    assert_eq!(
        a.handle_datagram(
            now,
            zerotier::LocalSocket::Primary,
            ROOT_ADDR.parse().unwrap(),
            &pkt
        ),
        Input::Dropped(DropReason::NotForUs)
    );
    // Packets from 200 unknown sources: at most max_whois_pending WHOIS, each queue bounded.
    let mut queued = 0;
    for i in 0..200u64 {
        let mut p = vec![0u8; 60];
        p[0..8].copy_from_slice(&(i + 1).to_be_bytes());
        p[8..13].copy_from_slice(&ids[1].address().to_bytes());
        p[13..18].copy_from_slice(&zerotier::Address::new(0x1100000000 + i).to_bytes());
        p[18] = 3 << 3;
        if a.handle_datagram(
            now,
            zerotier::LocalSocket::Primary,
            "10.9.9.9:1".parse().unwrap(),
            &p,
        ) == Input::Queued
        {
            queued += 1;
        }
    }
    assert_eq!(queued, 64);
    assert_eq!(a.whois_pending(), 64);
    assert_eq!(a.stats().dropped(DropReason::WhoisQueueFull), 136);
    // After 5 s the WHOIS give up and the queue is empty.
    m.run_for(Duration::from_secs(6));
    assert_eq!(m.nodes[1].1.node.whois_pending(), 0);
    assert_eq!(
        m.nodes[1].1.node.stats().dropped(DropReason::WhoisTimeout),
        64
    );
}
