#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The PAC with several control connections, several calls per connection, and hostile
//! control streams.

mod common;
use common::*;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use pptp::control::Control;
use pptp::wire::Message;
use pptp::{Channel, ConnId, ControlConfig, Server, ServerConfig, ServerEvent};
use rand_core::SeedableRng;

fn server(t: Instant) -> Server {
    let mut s = Server::new(
        ServerConfig::enabled(),
        t,
        rand_chacha::ChaCha20Rng::seed_from_u64(3),
    )
    .unwrap();
    s.host_mut().set_store(Box::new(store()));
    s
}

/// Move control bytes between a PNS and the server until quiet; returns the server's
/// control messages to this connection.
fn exchange(t: Instant, s: &mut Server, conn: ConnId, pns: &mut Control) -> Vec<Message> {
    let mut got = Vec::new();
    loop {
        let mut moved = false;
        if let Some(b) = pns.poll_transmit(t) {
            s.handle_stream(t, conn, &b).unwrap();
            moved = true;
        }
        while let Some(x) = s.poll_transmit(t) {
            if x.conn == conn && x.channel == Channel::Control {
                let mut d = pptp::wire::Deframer::new();
                d.push(&x.payload);
                while let Ok(Some(m)) = d.next_message() {
                    got.push(m);
                }
                pns.handle_stream(t, &x.payload);
                moved = true;
            }
        }
        if !moved {
            return got;
        }
    }
}

#[test]
fn many_connections_many_calls_unique_call_ids() {
    let t = Instant::now();
    let mut s = server(t);
    let mut ids = Vec::new();
    for c in 0..3u8 {
        let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + c));
        let conn = s.accept(t, peer).unwrap();
        let mut pns = Control::new_pns(ControlConfig::default(), t);
        exchange(t, &mut s, conn, &mut pns);
        for k in 0..2u16 {
            pns.open_call(t, 100 + k).unwrap();
        }
        for m in exchange(t, &mut s, conn, &mut pns) {
            let Message::OutgoingCallReply(r) = m else {
                panic!("{m:?}")
            };
            assert_eq!(r.result_code, 1);
            ids.push(r.call_id);
        }
    }
    assert_eq!(s.connections(), 3);
    assert_eq!(s.host().len(), 6);
    let mut u = ids.clone();
    u.sort();
    u.dedup();
    assert_eq!(u.len(), 6, "call ids unique across the server: {ids:?}");
}

#[test]
fn call_clear_and_transport_close_end_the_sessions() {
    let t = Instant::now();
    let mut s = server(t);
    let conn = s.accept(t, CLIENT_IP).unwrap();
    let mut pns = Control::new_pns(ControlConfig::default(), t);
    exchange(t, &mut s, conn, &mut pns);
    pns.open_call(t, 1).unwrap();
    pns.open_call(t, 2).unwrap();
    exchange(t, &mut s, conn, &mut pns);
    assert_eq!(s.host().len(), 2);
    pns.clear_call(t, 1).unwrap();
    let got = exchange(t, &mut s, conn, &mut pns);
    assert!(matches!(got.as_slice(), [Message::CallDisconnectNotify(n)] if n.result_code == 4));
    assert_eq!(s.host().len(), 1);
    // the TCP connection drops: the other call goes too
    s.handle_stream_closed(t, conn);
    while s.poll_transmit(t).is_some() {}
    let ev: Vec<ServerEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(ev.iter().any(|e| matches!(
        e,
        ServerEvent::Disconnect {
            reason: pptp::CloseReason::TransportClosed,
            ..
        }
    )));
    assert_eq!(s.host().len(), 0);
    assert_eq!(s.connections(), 0);
}

#[test]
fn broken_framing_closes_only_that_connection() {
    let t = Instant::now();
    let mut s = server(t);
    let good = s.accept(t, CLIENT_IP).unwrap();
    let mut pns = Control::new_pns(ControlConfig::default(), t);
    exchange(t, &mut s, good, &mut pns);
    let bad = s
        .accept(t, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99)))
        .unwrap();
    s.handle_stream(t, bad, b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let ev: Vec<ServerEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(ev.iter().any(|e| matches!(
        e,
        ServerEvent::Disconnect {
            conn,
            reason: pptp::CloseReason::BadFraming(_),
        } if *conn == bad
    )));
    assert_eq!(s.connections(), 1);
    assert!(s.control(good).unwrap().is_established());
    // a connection that never says SCCRQ is closed after 30 s ([MS-PTPT] s3.1.2)
    let idle = s
        .accept(t, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 98)))
        .unwrap();
    let at = s.poll_timeout().unwrap();
    assert_eq!(at, t + Duration::from_secs(30));
    s.handle_timeout(at);
    let ev: Vec<ServerEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(ev.iter().any(|e| matches!(
        e,
        ServerEvent::Disconnect {
            conn,
            reason: pptp::CloseReason::EstablishTimeout,
        } if *conn == idle
    )));
    assert_eq!(s.connections(), 1);
}

fn closed_with(s: &mut Server) -> Vec<(ConnId, pptp::CloseReason)> {
    std::iter::from_fn(|| s.poll_event())
        .filter_map(|e| match e {
            ServerEvent::Disconnect { conn, reason } => Some((conn, reason)),
            _ => None,
        })
        .collect()
}

/// Issue #24: strangers' unauthenticated control connections are bounded in all and per
/// source; a full table displaces the biggest source's oldest, else one at least
/// `half_open_min_age` old, and refuses only when neither exists.
#[test]
fn half_open_table_bounds_and_displacement() {
    let t = Instant::now();
    let cfg = ServerConfig {
        max_half_open: 3,
        max_half_open_per_source: 2,
        ..ServerConfig::enabled()
    };
    assert_eq!(cfg.half_open_min_age, Duration::from_secs(1));
    let mut s = Server::new(cfg, t, rand_chacha::ChaCha20Rng::seed_from_u64(4)).unwrap();
    let ip = |n: u8| IpAddr::V4(Ipv4Addr::new(192, 0, 2, n));
    let a1 = s.accept(t, ip(1)).unwrap();
    let _a2 = s.accept(t, ip(1)).unwrap();
    assert_eq!(s.accept(t, ip(1)), Err(pptp::Error::SourceLimit));
    let b1 = s.accept(t, ip(2)).unwrap();
    assert_eq!(s.half_open(), 3);
    // Full: the newcomer displaces source 1's oldest, whatever its age.
    s.accept(t, ip(3)).unwrap();
    assert_eq!(closed_with(&mut s), vec![(a1, pptp::CloseReason::Evicted)]);
    assert_eq!((s.half_open(), s.connections()), (3, 3));
    // One each now: nobody is younger-than-1-s-proof ... until 1 s.
    let young = t + Duration::from_millis(999);
    assert_eq!(s.accept(young, ip(4)), Err(pptp::Error::HalfOpenLimit));
    let old = t + Duration::from_secs(1);
    s.accept(old, ip(4)).unwrap();
    let gone = closed_with(&mut s);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].1, pptp::CloseReason::Evicted);
    assert_ne!(
        gone[0].0, b1,
        "the oldest (source 1's second, accepted first) goes first"
    );
    let st = s.stats();
    assert_eq!((st.evicted, st.refused), (2, 2));
}

#[test]
fn max_connections_refuses_at_accept() {
    let t = Instant::now();
    let cfg = ServerConfig {
        max_connections: 2,
        ..ServerConfig::enabled()
    };
    let mut s = Server::new(cfg, t, rand_chacha::ChaCha20Rng::seed_from_u64(5)).unwrap();
    s.accept(t, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        .unwrap();
    s.accept(t, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)))
        .unwrap();
    assert_eq!(
        s.accept(t, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3))),
        Err(pptp::Error::ConnectionLimit)
    );
    assert_eq!(s.stats().refused, 1);
    let bad = ServerConfig {
        max_half_open: 0,
        ..ServerConfig::enabled()
    };
    assert!(Server::new(bad, t, rand_chacha::ChaCha20Rng::seed_from_u64(5)).is_err());
}
