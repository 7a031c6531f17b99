//! Every NodeConfig setting has an observable effect (and validation names the field).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use netsim::mesh::Mesh;
use netsim::LinkConfig;
use zerotier::{CipherSuite, DropReason, Event, Input, LocalSocket, NodeConfig};

fn cfg(i: usize) -> NodeConfig {
    let ids = identities();
    NodeConfig::new(
        ids[i].clone(),
        planet(&ids[0], &[ROOT_ADDR], 1_700_000_000_000, &signing_key()),
    )
}

fn mesh_with(a_cfg: NodeConfig, b_cfg: NodeConfig, link: LinkConfig) -> Mesh<End> {
    let start = Instant::now();
    let r = End::with_config(cfg(0), ROOT_ADDR, start, 31);
    let a = End::with_config(a_cfg, A_ADDR, start, 32);
    let b = End::with_config(b_cfg, B_ADDR, start, 33);
    Mesh::new(
        vec![(vec![r.addr], r), (vec![a.addr], a), (vec![b.addr], b)],
        link,
        3,
        start,
    )
}

#[test]
fn validation_names_the_field() {
    let mut c = cfg(1);
    c.port = 0;
    assert_eq!(c.validate().unwrap_err().field, "port");
    let mut c = cfg(1);
    c.secondary_port = Some(9993);
    assert_eq!(c.validate().unwrap_err().field, "secondary-port");
    let mut c = cfg(1);
    c.protocol_version = 13;
    assert_eq!(c.validate().unwrap_err().field, "protocol-version");
    let mut c = cfg(1);
    c.physical_mtu = 100;
    assert_eq!(c.validate().unwrap_err().field, "physical-mtu");
    let mut c = cfg(1);
    c.identity = c.identity.public_only();
    assert_eq!(c.validate().unwrap_err().field, "identity");
    let mut c = cfg(1);
    c.max_reassembly = 0;
    assert_eq!(c.validate().unwrap_err().field, "max-reassembly");
    assert_eq!(cfg(1).port, 9993, "RouterOS default port");
}

#[test]
fn physical_mtu_limits_datagrams_and_protocol_11_selects_salsa() {
    let mut a = cfg(1);
    a.physical_mtu = 600;
    a.protocol_version = 11;
    let mut m = mesh_with(a, cfg(2), LinkConfig::perfect());
    m.run_for(Duration::from_secs(1));
    let b = identities()[2].address();
    let now = m.now();
    let mut big = vec![0u8; 3000];
    rand_chacha::rand_core::RngCore::fill_bytes(&mut rng(5), &mut big);
    m.nodes[1].1.node.send_echo(now, b, &big).unwrap();
    m.run_for(Duration::from_secs(2));
    assert!(m.nodes[1]
        .1
        .has(|e| matches!(e, Event::EchoReply { payload, .. } if payload.len() == 3000)));
    assert!(m
        .trace
        .iter()
        .filter(|t| t.from_node == 1)
        .all(|t| t.data.len() <= 600));
    assert!(
        m.trace
            .iter()
            .filter(|t| t.from_node == 2)
            .any(|t| t.data.len() > 600),
        "b uses the default 1432"
    );
    // a announced protocol 11: b and the root answer it with Salsa20/12 (ZeroTierOne's rule).
    let now = m.now();
    let a_addr = identities()[1].address();
    assert_eq!(
        m.nodes[2].1.node.peer(a_addr, now).unwrap().cipher,
        CipherSuite::Salsa2012Poly1305
    );
    assert_eq!(
        m.nodes[0].1.node.peer(a_addr, now).unwrap().cipher,
        CipherSuite::Salsa2012Poly1305
    );
    assert_eq!(
        m.nodes[1].1.node.peer(b, now).unwrap().cipher,
        CipherSuite::AesGmacSiv
    );
}

#[test]
fn queue_validation_and_peer_limits() {
    let ids = identities();
    let mut c = cfg(1);
    c.max_queued_per_whois = 2;
    c.identity_validations_per_second = 1;
    c.max_peers = 2;
    c.peer_expiration = Duration::from_secs(30);
    c.peer_activity_timeout = Duration::from_secs(20);
    let mut m = mesh_with(c, cfg(2), LinkConfig::perfect());
    m.run_for(Duration::from_secs(1));
    let now = m.now();
    // Three packets from one unknown source: 2 queued, 1 dropped.
    let a = &mut m.nodes[1].1.node;
    let src = zerotier::Address::new(0x1200000001);
    let mut res = Vec::new();
    for i in 0..3u64 {
        let mut p = vec![0u8; 40];
        p[..8].copy_from_slice(&(i + 1).to_be_bytes());
        p[8..13].copy_from_slice(&ids[1].address().to_bytes());
        p[13..18].copy_from_slice(&src.to_bytes());
        p[18] = 3 << 3;
        res.push(a.handle_datagram(now, LocalSocket::Primary, "10.9.9.9:9".parse().unwrap(), &p));
    }
    assert_eq!(
        res,
        vec![
            Input::Queued,
            Input::Queued,
            Input::Dropped(DropReason::WhoisQueueFull)
        ]
    );
    // b (valid identity) is learned; with max_peers 2 (root + b) a third would replace b.
    let b = ids[2].address();
    m.nodes[1].1.node.send_echo(now, b, b"x").unwrap();
    // (b's validation used this second's token; the next one is back after 1 s.)
    m.run_for(Duration::from_secs(2));
    assert_eq!(m.nodes[1].1.node.peer_count(), 2);
    // One validation per second: a second new identity within the same second is refused.
    let fresh = zerotier::Identity::generate(&mut rng(77));
    let hello = zerotier::wire::verbs::Hello {
        protocol_version: 12,
        major: 1,
        minor: 14,
        revision: 1,
        timestamp: 0,
        identity: fresh.public_only(),
        dest_addr: None,
        planet: None,
        encrypted_tail: vec![],
    };
    let mut body = Vec::new();
    hello.emit(&mut body);
    let mk = |id: u64| {
        let mut p = packet(
            id,
            ids[1].address(),
            fresh.address(),
            zerotier::wire::Verb::Hello,
            &body,
        );
        zerotier::crypto::armor(
            &mut p,
            &zerotier::PeerKey::new(fresh.agree(&ids[1]).unwrap()),
            CipherSuite::Poly1305None,
        );
        p
    };
    let now = m.now();
    let a = &mut m.nodes[1].1.node;
    let r1 = a.handle_datagram(
        now,
        LocalSocket::Primary,
        "10.9.9.8:9".parse().unwrap(),
        &mk(901),
    );
    assert_eq!(
        r1,
        Input::Delivered,
        "first new identity this second is validated"
    );
    // It replaced b (max_peers 2, b heard from least recently).
    assert!(a.peer(b, now).is_none());
    assert_eq!(a.peer_count(), 2);
    let other = zerotier::Identity::generate(&mut rng(78));
    let hello2 = zerotier::wire::verbs::Hello {
        identity: other.public_only(),
        ..hello
    };
    let mut body2 = Vec::new();
    hello2.emit(&mut body2);
    let mut p = packet(
        902,
        ids[1].address(),
        other.address(),
        zerotier::wire::Verb::Hello,
        &body2,
    );
    zerotier::crypto::armor(
        &mut p,
        &zerotier::PeerKey::new(other.agree(&ids[1]).unwrap()),
        CipherSuite::Poly1305None,
    );
    assert_eq!(
        a.handle_datagram(now, LocalSocket::Primary, "10.9.9.7:9".parse().unwrap(), &p),
        Input::Dropped(DropReason::ValidationRateLimited)
    );
    // peer_expiration: the fresh peer, never heard again, is forgotten 30 s later.
    let fresh_addr = fresh.address();
    m.run_for(Duration::from_secs(31));
    assert!(m.nodes[1].1.node.peer(fresh_addr, m.now()).is_none());
    assert!(m.nodes[1]
        .1
        .has(|e| *e == Event::PeerRemoved { peer: fresh_addr }));
}

#[test]
fn activity_timeout_stops_keepalives_to_a_leaf() {
    let mut c = cfg(1);
    c.peer_activity_timeout = Duration::from_secs(20);
    let mut m = mesh_with(c, cfg(2), LinkConfig::perfect());
    m.run_for(Duration::from_secs(1));
    let b = identities()[2].address();
    let now = m.now();
    m.nodes[1].1.node.send_echo(now, b, b"x").unwrap();
    m.run_for(Duration::from_secs(120));
    // a -> b traffic stops once a's user traffic is 20 s old (b answers only).
    let last_a_to_b = m
        .trace
        .iter()
        .filter(|t| t.from_node == 1 && t.to_node == Some(2))
        .map(|t| t.at)
        .max()
        .unwrap();
    assert!(last_a_to_b <= Duration::from_secs(22), "{last_a_to_b:?}");
    // while a keeps its root alive all along
    assert!(m
        .trace
        .iter()
        .any(|t| t.from_node == 1 && t.to_node == Some(0) && t.at > Duration::from_secs(100)));
}
