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
