//! Client and server over TLS in memory, in virtual time: negotiation, crypto binding (right,
//! wrong, zero HLAK), a duplicate Call Connect Request, refused protocols, timers, hang-up,
//! the server's half-open bounds, and IP traffic both ways.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::ptr_arg,
    missing_docs
)]

mod common;
use common::*;
use std::time::Duration;

use sstp::binding::{self, BindingError, Hlak};
use sstp::wire::{Attribute, ControlMessage, HashProtocol, Status};
use sstp::{AbortCause, BindingKey, CloseReason, ServerEvent, ABORT_TIMER_1, ABORT_TIMER_2};

const CALL_CONNECTED: [u8; 6] = [0x10, 0x01, 0x00, 0x70, 0x00, 0x04];

fn server_binding(p: &Pair) -> Option<(HashProtocol, BindingKey)> {
    p.server_events.iter().find_map(|(_, e)| match e {
        ServerEvent::CallConnected { hash, key, .. } => Some((*hash, *key)),
        _ => None,
    })
}

#[test]
fn comes_up_with_mschapv2_and_sha256_binding_and_carries_ip() {
    let mut p = Pair::new(client_config("alice", "pw"), server_config(), 1);
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.client_up()),
        "{}",
        p.dump()
    );
    assert_eq!(
        server_binding(&p),
        Some((HashProtocol::Sha256, BindingKey::Hlak))
    );
    assert_eq!(p.server.half_open(), 0);
    // IP both ways through send_datagram / poll_datagram.
    let pkt = netsim::pcap::icmp4_echo([10, 0, 0, 2], [10, 0, 0, 1], false, 1, 1, &[0xab; 1400]);
    p.exchange_ip(&pkt);
}

#[test]
fn pap_binds_with_the_zero_hlak() {
    let mut c = client_config("bob", "pap-pw");
    c.ppp.allow = ppp::AuthSet::of(&[ppp::AuthMethod::Pap]);
    let mut p = Pair::new(c, server_config(), 2);
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.client_up()),
        "{}",
        p.dump()
    );
    assert_eq!(
        server_binding(&p),
        Some((HashProtocol::Sha256, BindingKey::Zero))
    );
}

#[test]
fn sha1_only_server_gets_a_sha1_binding() {
    let mut s = server_config();
    s.hash_bitmask = 0x01;
    let mut p = Pair::new(client_config("alice", "pw"), s, 3);
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.client_up()),
        "{}",
        p.dump()
    );
    assert_eq!(
        server_binding(&p),
        Some((HashProtocol::Sha1, BindingKey::Hlak))
    );
}

fn flip_compound_mac(d: &mut Vec<u8>) {
    if d.starts_with(&CALL_CONNECTED) {
        d[100] ^= 0x01;
    }
}

fn flip_cert_hash(d: &mut Vec<u8>) {
    if d.starts_with(&CALL_CONNECTED) {
        d[50] ^= 0x80;
    }
}

/// A client that cannot export PPP keys: it binds with the zero HLAK (sstpc without its
/// plugin does this).
fn rebind_with_zero_hlak(d: &mut Vec<u8>) {
    if d.starts_with(&CALL_CONNECTED) && d.len() >= 112 {
        let hash = HashProtocol::from_u8(d[15]).unwrap();
        let mut nonce = [0u8; 32];
        nonce.copy_from_slice(&d[16..48]);
        d[80..112].fill(0);
        let k = binding::cmk(&Hlak::zero(), hash);
        let mac = binding::compound_mac(&k, hash, &d[..112]);
        d[80..112].copy_from_slice(&mac);
    }
}

/// The server refuses the binding with Call Abort; exact abort timers on both ends.
fn refused(hook: fn(&mut Vec<u8>), expect: BindingError) {
    let mut p = Pair::new(client_config("alice", "pw"), server_config(), 4);
    p.hook = Some(hook);
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.server_closed().is_some()),
        "{}",
        p.dump()
    );
    match p.server_closed() {
        Some(CloseReason::AbortedLocally(AbortCause::Binding(e))) => assert_eq!(*e, expect),
        other => panic!("{other:?}\n{}", p.dump()),
    }
    assert_eq!(p.server.stats().binding_failures, 1);
    assert!(!p.client_up());
    match p.client_closed() {
        Some(CloseReason::AbortedByPeer(Some(st))) => {
            assert_eq!(st.status, Status::InvalidFrameReceived)
        }
        other => panic!("{other:?}\n{}", p.dump()),
    }
    // The server's abort left at t_a; the client answered 10 ms later and closed after timer 2
    // (1 s); the server got the answer at t_a + 20 ms and closed after its timer 2 too (within
    // 3 s + 1 s of aborting, MS-SSTP 3.1.2.1).
    let t_closed_s = p
        .server_events
        .iter()
        .rev()
        .find(|(_, e)| matches!(e, ServerEvent::Closed { .. }))
        .unwrap()
        .0;
    let t_closed_c = p
        .client_events
        .iter()
        .rev()
        .find(|(_, e)| matches!(e, sstp::ClientEvent::Closed { .. }))
        .unwrap()
        .0;
    let t_abort = t_closed_c - ABORT_TIMER_2 - Duration::from_millis(10);
    assert_eq!(
        t_closed_s,
        t_abort + Duration::from_millis(20) + ABORT_TIMER_2
    );
    assert!(t_closed_s - t_abort <= ABORT_TIMER_1 + ABORT_TIMER_2);
}

#[test]
fn wrong_compound_mac_is_refused() {
    refused(flip_compound_mac, BindingError::CompoundMac);
}

#[test]
fn wrong_certificate_hash_is_refused() {
    refused(flip_cert_hash, BindingError::CertHash);
}

#[test]
fn zero_hlak_after_mschapv2_is_refused_by_default() {
    refused(rebind_with_zero_hlak, BindingError::CompoundMac);
}

#[test]
fn zero_hlak_mode_accepts_a_client_without_keys() {
    let mut s = server_config();
    s.accept_zero_hlak = true;
    let mut p = Pair::new(client_config("alice", "pw"), s, 5);
    p.hook = Some(rebind_with_zero_hlak);
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.client_up()),
        "{}",
        p.dump()
    );
    assert_eq!(
        server_binding(&p),
        Some((HashProtocol::Sha256, BindingKey::Zero))
    );
}

fn duplicate_connect_request(d: &mut Vec<u8>) {
    let req = ControlMessage::connect_request().to_vec().unwrap();
    if d.as_slice() == req.as_slice() {
        d.extend_from_slice(&req);
    }
}

#[test]
fn duplicate_call_connect_request_is_aborted() {
    let mut p = Pair::new(client_config("alice", "pw"), server_config(), 6);
    p.hook = Some(duplicate_connect_request);
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.server_closed().is_some()),
        "{}",
        p.dump()
    );
    assert_eq!(
        p.server_closed(),
        Some(&CloseReason::AbortedLocally(AbortCause::Unexpected(
            sstp::wire::MessageType::CallConnectRequest
        )))
    );
    assert!(!p.client_up());
}

fn non_ppp_protocol(d: &mut Vec<u8>) {
    let req = ControlMessage::connect_request().to_vec().unwrap();
    if d.as_slice() == req.as_slice() {
        let mut m = ControlMessage::connect_request();
        m.attributes = vec![Attribute::EncapsulatedProtocolId {
            reserved: 0,
            protocol: 7,
        }];
        *d = m.to_vec().unwrap();
    }
}

#[test]
fn non_ppp_protocol_gets_a_nak_and_the_client_aborts() {
    let mut p = Pair::new(client_config("alice", "pw"), server_config(), 7);
    p.hook = Some(non_ppp_protocol);
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.client_closed().is_some()),
        "{}",
        p.dump()
    );
    match p.client_closed() {
        Some(CloseReason::AbortedLocally(AbortCause::Refused(st))) => {
            assert_eq!(st[0].status, Status::ValueNotSupported);
            assert_eq!(st[0].value, vec![0, 7]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_answer_to_the_http_request_gives_up_after_60_s() {
    let mut p = Pair::new(client_config("alice", "pw"), server_config(), 8);
    p.cut = true; // a path that swallows everything
    assert!(p.run_until(Duration::from_secs(120), |p| p.client_closed().is_some()));
    assert_eq!(p.client_closed(), Some(&CloseReason::HttpTimeout));
    let t = p
        .client_events
        .iter()
        .find(|(_, e)| matches!(e, sstp::ClientEvent::Closed { .. }))
        .unwrap()
        .0;
    assert_eq!(t, Duration::from_secs(60));
    assert_eq!(p.server_closed(), Some(&CloseReason::HttpTimeout));
    let t = p
        .server_events
        .iter()
        .find(|(_, e)| matches!(e, ServerEvent::Closed { .. }))
        .unwrap()
        .0;
    assert_eq!(t, Duration::from_secs(60));
}

#[test]
fn hang_up_disconnects_gracefully_and_redial_comes_back() {
    let mut p = Pair::new(client_config("alice", "pw"), server_config(), 9);
    assert!(p.run_until(Duration::from_secs(30), |p| p.client_up()));
    // The server ends the session: LCP terminate, Call Disconnect, Disconnect Ack.
    let conn = p.conn.unwrap();
    p.server.close(p.now, conn).unwrap();
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.client_closed().is_some()),
        "{}",
        p.dump()
    );
    assert!(
        matches!(p.client_closed(), Some(CloseReason::Disconnected { .. })),
        "{}",
        p.dump()
    );
    // The PPP client redials after its redial delay (10 s) and comes up again.
    let dials = p.client.ppp().dials();
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.client.ppp().dials() > dials
            && p.client_up()),
        "{}",
        p.dump()
    );
    // hang_up: no redial.
    p.client.hang_up(p.now);
    p.run_for(Duration::from_secs(60));
    assert!(!p.client_up());
    assert_eq!(p.server.len(), 0, "{}", p.dump());
}

#[test]
fn disabled_server_and_half_open_limits() {
    let t0 = std::time::Instant::now();
    let mut rng = netsim::TestRng::new(1);
    let cfg = sstp::ServerConfig {
        max_half_open_per_source: 2,
        max_half_open: 3,
        ..server_config()
    };
    let tls = || sstp::tls::RustlsTls::server(&cfg, &Default::default()).unwrap();
    let mut s = sstp::Server::new(cfg.clone(), t0, &mut rng).unwrap();
    let a: std::net::SocketAddr = "192.0.2.1:1".parse().unwrap();
    let b: std::net::SocketAddr = "192.0.2.2:1".parse().unwrap();
    s.accept(t0, a, tls()).unwrap();
    s.accept(t0, a, tls()).unwrap();
    assert_eq!(s.accept(t0, a, tls()), Err(sstp::AcceptError::SourceLimit));
    let b1 = s.accept(t0, b, tls()).unwrap();
    // The table is full (3): a newcomer displaces the oldest connection of the source
    // holding the most (a, 2), whatever its age.
    let c: std::net::SocketAddr = "192.0.2.3:1".parse().unwrap();
    let d: std::net::SocketAddr = "192.0.2.4:1".parse().unwrap();
    s.accept(t0, c, tls()).unwrap();
    while s.poll_transmit(t0).is_some() {}
    let evicted: Vec<_> = std::iter::from_fn(|| s.poll_event())
        .filter_map(|e| match e {
            ServerEvent::Closed { conn, reason } => Some((conn, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(evicted.len(), 1);
    assert_eq!(evicted[0].1, CloseReason::Evicted);
    assert_eq!((s.half_open(), s.stats().evicted), (3, 1));
    // Now every source holds one: nobody is displaced before half-open-min-age (1 s) ...
    let young = t0 + Duration::from_millis(999);
    assert_eq!(
        s.accept(young, d, tls()),
        Err(sstp::AcceptError::HalfOpenLimit)
    );
    // ... and at 1 s the oldest goes (a's second connection, then b1: accepted at t0 too).
    let old = t0 + Duration::from_secs(1);
    s.accept(old, d, tls()).unwrap();
    while s.poll_transmit(old).is_some() {}
    let gone: Vec<_> = std::iter::from_fn(|| s.poll_event())
        .filter_map(|e| match e {
            ServerEvent::Closed { conn, reason } => Some((conn, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(gone.len(), 1);
    assert_ne!(gone[0].0, b1);
    assert_eq!(s.stats().evicted, 2);
    // Silent strangers are dropped by the negotiation timer: 60 s (d came at 1 s).
    s.handle_timeout(t0 + Duration::from_secs(60));
    while s.poll_transmit(t0).is_some() {}
    assert_eq!(s.len(), 1);
    s.handle_timeout(t0 + Duration::from_secs(61));
    while s.poll_transmit(t0).is_some() {}
    assert_eq!(s.len(), 0);
    assert_eq!(s.half_open(), 0);
    assert!(s.accept(t0, a, tls()).is_ok());
    let off = sstp::ServerConfig {
        enabled: false,
        ..cfg
    };
    let mut s = sstp::Server::new(off.clone(), t0, &mut rng).unwrap();
    assert_eq!(
        s.accept(
            t0,
            a,
            sstp::tls::RustlsTls::server(&off, &Default::default()).unwrap()
        ),
        Err(sstp::AcceptError::Disabled)
    );
}
