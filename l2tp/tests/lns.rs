#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! LNS server object: demultiplexing and RouterOS admission policy.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use l2tp::config::{AcceptProtoVersion, CallerIdType, ServerConfig, UseIpsec};
use l2tp::server::{Lns, LnsInput, Peer};
use l2tp::wire::{ControlMessage, MessageType};
use l2tp::{
    CallInfo, Event, SessionDownReason, Tunnel, TunnelConfig, TunnelDownReason, TunnelState,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

type Key = (IpAddr, u16);

struct Lac {
    key: Key,
    via_ipsec: bool,
    t: Tunnel,
    events: Vec<Event>,
    sent: Vec<Vec<u8>>,
    got: Vec<Vec<u8>>,
}

fn lac(key: Key, seed: u64, secret: Option<&[u8]>, now: Instant) -> Lac {
    let cfg = TunnelConfig {
        host_name: b"lac".to_vec(),
        secret: secret.map(|s| s.to_vec()),
        ..Default::default()
    };
    Lac {
        key,
        via_ipsec: false,
        t: Tunnel::connect(cfg, now, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap(),
        events: Vec::new(),
        sent: Vec::new(),
        got: Vec::new(),
    }
}

fn lns(cfg: ServerConfig) -> Lns<Key> {
    Lns::new(
        cfg,
        TunnelConfig {
            host_name: b"lns".to_vec(),
            ..Default::default()
        },
        Box::new(|addr, _k| {
            (addr == IpAddr::V4(Ipv4Addr::new(10, 155, 101, 216))).then(|| b"tunnelpass".to_vec())
        }),
        &mut ChaCha20Rng::seed_from_u64(99),
    )
    .unwrap()
}

/// Shuttle datagrams instantly until nothing moves.
fn pump(s: &mut Lns<Key>, lacs: &mut [Lac], now: Instant) -> Vec<l2tp::server::LnsEvent<Key>> {
    let mut evs = Vec::new();
    loop {
        let mut moved = false;
        for l in lacs.iter_mut() {
            while let Some(d) = l.t.poll_transmit(now) {
                moved = true;
                l.sent.push(d.clone());
                let peer = Peer {
                    key: l.key,
                    addr: l.key.0,
                    via_ipsec: l.via_ipsec,
                };
                let _ = s.handle_input(now, &peer, &d);
            }
        }
        while let Some((k, d)) = s.poll_transmit(now) {
            moved = true;
            if let Some(l) = lacs.iter_mut().find(|l| l.key == k) {
                l.got.push(d.clone());
                let _ = l.t.handle_input(now, &d);
                while let Some(e) = l.t.poll_event() {
                    l.events.push(e);
                }
            }
        }
        while let Some(e) = s.poll_event() {
            evs.push(e);
        }
        if !moved {
            return evs;
        }
    }
}

fn up(l: &Lac) -> bool {
    l.t.state() == TunnelState::Established
}

#[test]
fn many_clients_behind_one_nat_each_own_key() {
    let now = Instant::now();
    let nat = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
    let mut s = lns(ServerConfig::default());
    // Same public address and even the same source port 1701, told apart by the caller's key
    // (here the port stands in for an IPsec SA id).
    let mut lacs: Vec<Lac> = (0..5)
        .map(|i| lac((nat, 4500 + i), i as u64, None, now))
        .collect();
    pump(&mut s, &mut lacs, now);
    assert!(lacs.iter().all(up));
    assert_eq!(s.tunnel_count(), 5);
    for l in lacs.iter_mut() {
        l.t.incoming_call(now, CallInfo::default()).unwrap();
    }
    let evs = pump(&mut s, &mut lacs, now);
    assert_eq!(s.session_count(), 5);
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e.event, Event::SessionUp { .. }))
            .count(),
        5
    );
    // Data from client 3 reaches its own session and is not accepted under another key.
    let sid = lacs[3].t.sessions().next().unwrap().local_id;
    let mut buf = [0u8; 64];
    let n = lacs[3]
        .t
        .encapsulate(sid, &[0xff, 0x03, 0x00, 0x21, 1], &mut buf)
        .unwrap();
    let peer = Peer {
        key: lacs[3].key,
        addr: nat,
        via_ipsec: false,
    };
    match s.handle_input(now, &peer, &buf[..n]).unwrap() {
        LnsInput::Data {
            tunnel_id, payload, ..
        } => {
            assert_eq!(tunnel_id, lacs[3].t.peer_tunnel_id());
            assert_eq!(payload, &[0xff, 0x03, 0x00, 0x21, 1]);
        }
        other => panic!("{other:?}"),
    }
    let wrong = Peer {
        key: lacs[2].key,
        addr: nat,
        via_ipsec: false,
    };
    assert!(s.handle_input(now, &wrong, &buf[..n]).is_err());
    assert_eq!(s.stats().unknown_tunnel, 1);
}

#[test]
fn use_ipsec_require() {
    let now = Instant::now();
    let mut s = lns(ServerConfig {
        use_ipsec: UseIpsec::Require,
        ..Default::default()
    });
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let mut plain = vec![lac((ip, 1701), 1, None, now)];
    pump(&mut s, &mut plain, now);
    assert!(!up(&plain[0]));
    assert_eq!(s.stats().dropped_not_ipsec, 1);
    assert_eq!(s.tunnel_count(), 0);
    let mut sec = vec![lac((ip, 1702), 2, None, now)];
    sec[0].via_ipsec = true;
    pump(&mut s, &mut sec, now);
    assert!(up(&sec[0]));
}

#[test]
fn accept_proto_version_l2tpv3_rejects_v2_with_stopccn() {
    let now = Instant::now();
    let mut s = lns(ServerConfig {
        accept_proto_version: AcceptProtoVersion::L2tpv3,
        ..Default::default()
    });
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let mut l = vec![lac((ip, 1701), 1, None, now)];
    pump(&mut s, &mut l, now);
    let stop = ControlMessage::parse(&l[0].got[0]).unwrap();
    assert_eq!(stop.message_type(), Some(MessageType::StopCcn));
    assert_eq!(stop.result_code().unwrap().result, 5);
    assert!(l[0].events.iter().any(|e| matches!(
        e,
        Event::TunnelDown { reason: TunnelDownReason::PeerStopCcn(r) } if r.result == 5
    )));
    assert_eq!(s.stats().rejected_version, 1);
}

#[test]
fn max_sessions_and_one_session_per_host_and_caller_id() {
    let now = Instant::now();
    let mut s = lns(ServerConfig {
        ppp: ppp::ServerSettings {
            max_sessions: Some(2),
            one_session_per_host: true,
            ..ppp::ServerSettings::l2tp()
        },
        caller_id_type: CallerIdType::Number,
        ..Default::default()
    });
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let mut l = vec![lac((ip, 1701), 1, None, now)];
    pump(&mut s, &mut l, now);
    let call = |n: &str| CallInfo {
        calling_number: Some(n.as_bytes().to_vec()),
        ..Default::default()
    };
    let a = l[0].t.incoming_call(now, call("alice")).unwrap();
    let b = l[0].t.incoming_call(now, call("bob")).unwrap();
    pump(&mut s, &mut l, now);
    assert_eq!(s.session_count(), 2);
    let tid = l[0].t.peer_tunnel_id();
    let lns_sid = l[0].t.session(a).unwrap().peer_id;
    assert_eq!(s.caller_id(tid, lns_sid), Some(&b"alice"[..]));
    // Third distinct caller: refused by max-sessions with a CDN result 4.
    let c = l[0].t.incoming_call(now, call("carol")).unwrap();
    pump(&mut s, &mut l, now);
    assert!(l[0].events.iter().any(|e| matches!(
        e,
        Event::SessionDown { session_id, reason: SessionDownReason::PeerCdn(r) } if *session_id == c && r.result == 4
    )));
    assert_eq!(s.stats().rejected_max_sessions, 1);
    // Bob again: the old bob session is closed (CDN result 3) and the new one admitted.
    let b2 = l[0].t.incoming_call(now, call("bob")).unwrap();
    pump(&mut s, &mut l, now);
    assert!(l[0].events.iter().any(|e| matches!(
        e,
        Event::SessionDown { session_id, reason: SessionDownReason::PeerCdn(r) } if *session_id == b && r.result == 3
    )));
    assert!(l[0].t.session(b2).is_some());
    assert_eq!(s.session_count(), 2);
    assert_eq!(s.stats().replaced_same_host, 1);
}

#[test]
fn secret_hook_per_peer_address() {
    let now = Instant::now();
    let mut s = lns(ServerConfig::default());
    let good_ip = IpAddr::V4(Ipv4Addr::new(10, 155, 101, 216));
    let mut l = vec![
        lac((good_ip, 1701), 1, Some(b"tunnelpass"), now),
        lac((good_ip, 1702), 2, Some(b"wrong"), now),
    ];
    pump(&mut s, &mut l, now);
    assert!(up(&l[0]));
    assert!(!up(&l[1]));
    // The LNS challenged the wrong LAC; it answered with the wrong secret, LNS sent StopCCN 4
    // (or the LAC refused the LNS's response first, also result 4).
    let stop_from = |msgs: &Vec<Vec<u8>>| {
        msgs.iter()
            .filter_map(|d| ControlMessage::parse(d).ok())
            .find(|m| m.message_type() == Some(MessageType::StopCcn))
            .map(|m| m.result_code().unwrap().result)
    };
    assert_eq!(stop_from(&l[1].sent).or(stop_from(&l[1].got)), Some(4));
}

#[test]
fn sccrq_flood_is_bounded_and_retransmitted_sccrq_is_deduplicated() {
    let now = Instant::now();
    // One source: lift the per-source flood limits so that max_tunnels is what bounds it.
    let mut s = lns(ServerConfig {
        max_tunnels: 10,
        max_half_open_per_source: 1000,
        sccrq_rate_per_source: l2tp::RateLimit {
            per_second: 1000,
            burst: 1000,
        },
        ..Default::default()
    });
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
    let mut flood: Vec<Lac> = (0..50)
        .map(|i| lac((ip, 2000 + i), i as u64, None, now))
        .collect();
    // Only SCCRQs, never answered by the flooders.
    for l in flood.iter_mut() {
        let d = l.t.poll_transmit(now).unwrap();
        let peer = Peer {
            key: l.key,
            addr: ip,
            via_ipsec: false,
        };
        let _ = s.handle_input(now, &peer, &d);
        // Retransmission of the same SCCRQ goes to the same tunnel.
        let _ = s.handle_input(now, &peer, &d);
    }
    assert_eq!(s.tunnel_count(), 10);
    assert_eq!(s.stats().tunnels_created, 10);
    assert_eq!(s.stats().tunnel_table_full, 80);
    // Half-open tunnels time out (SCCRP unanswered, `half_open_timeout` 8 s): the table drains.
    let mut t = now;
    for _ in 0..200 {
        while s.poll_transmit(t).is_some() {}
        match s.poll_timeout() {
            Some(d) => {
                t = d;
                s.handle_timeout(t);
            }
            None => break,
        }
    }
    assert_eq!(s.tunnel_count(), 0);
    assert_eq!(s.half_open_count(), 0);
    assert_eq!(s.stats().half_open_expired, 10);
    assert_eq!(t - now, Duration::from_secs(8));
}

#[test]
fn ipv6_outer_transport_and_ip_caller_id() {
    let now = Instant::now();
    let mut s = lns(ServerConfig::default());
    let v6: IpAddr = "2001:db8::2".parse().unwrap();
    let mut l = vec![lac((v6, 1701), 3, None, now)];
    pump(&mut s, &mut l, now);
    assert!(up(&l[0]));
    let sid = l[0].t.incoming_call(now, CallInfo::default()).unwrap();
    pump(&mut s, &mut l, now);
    let tid = l[0].t.peer_tunnel_id();
    let lns_sid = l[0].t.session(sid).unwrap().peer_id;
    assert_eq!(s.caller_id(tid, lns_sid), Some(&b"2001:db8::2"[..]));
}
