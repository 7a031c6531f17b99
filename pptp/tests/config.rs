#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Every config field with its RouterOS default, and each observed in behaviour.

mod common;
use common::*;
use std::time::{Duration, Instant};

use netsim::LinkConfig;
use ppp::aaa::UseEncryption;
use ppp::{AuthMethod, AuthSet};
use pptp::control::Control;
use pptp::wire::Message;
use pptp::{ClientConfig, ClientEvent, ControlConfig, ControlEvent, ServerConfig};

#[test]
fn routeros_defaults() {
    // /interface pptp-client (S0 L848-861, L890-892)
    let c = ClientConfig::new(SERVER_IP, "u", "p");
    assert_eq!(c.ppp.max_mtu, 1450);
    assert_eq!(c.ppp.max_mru, 1450);
    assert_eq!(c.ppp.mrru, None);
    assert_eq!(c.ppp.profile, "default-encryption");
    assert_eq!(c.ppp.use_encryption, UseEncryption::Yes);
    assert_eq!(c.ppp.keepalive_timeout, Duration::from_secs(60));
    assert_eq!(
        c.ppp.allow,
        AuthSet::of(&[
            AuthMethod::Pap,
            AuthMethod::Chap,
            AuthMethod::MsChap1,
            AuthMethod::MsChap2
        ])
    );
    assert!(!c.ppp.add_default_route);
    assert_eq!(c.ppp.default_route_distance, Some(1));
    assert!(!c.ppp.dial_on_demand);
    assert!(!c.disabled);
    // /interface pptp-server server (S0 L873-879)
    let s = ServerConfig::default();
    assert!(!s.enabled);
    assert_eq!(
        s.ppp.authentication,
        AuthSet::of(&[AuthMethod::MsChap1, AuthMethod::MsChap2])
    );
    assert_eq!(s.ppp.default_profile, "default-encryption");
    assert_eq!(s.ppp.keepalive_timeout, Duration::from_secs(30));
    assert_eq!((s.ppp.max_mtu, s.ppp.max_mru), (1450, 1450));
    assert_eq!(s.ppp.mrru, None);
    assert_eq!(s.ppp.max_sessions, None);
    // protocol knobs (RFC 2637 s3.1.4, MS-PTPT s3.1.2)
    let k = ControlConfig::default();
    assert_eq!(k.echo_interval, Duration::from_secs(60));
    assert_eq!(k.echo_timeout, Duration::from_secs(60));
    assert_eq!(k.establish_timeout, Duration::from_secs(30));
    assert_eq!(k.ack_delay, Duration::from_millis(100));
    assert_eq!(k.recv_window, 64);
    assert_eq!(k.host_name, "MikroTik");
    // validation names the property
    let mut bad = ClientConfig::new(SERVER_IP, "u", "p");
    bad.connect_to = None;
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("connect-to"));
    let bad = ControlConfig {
        host_name: "x".repeat(65),
        ..Default::default()
    };
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("host-name"));
}

#[test]
fn server_enabled_no_refuses_connections() {
    let t = Instant::now();
    let mut s = pptp::Server::new(ServerConfig::default(), t, rand_chacha_rng(1)).unwrap();
    assert_eq!(s.accept(t, CLIENT_IP), Err(pptp::Error::Disabled));
}

fn rand_chacha_rng(seed: u64) -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::seed_from_u64(seed)
}

#[test]
fn client_disabled_does_not_connect_until_enabled() {
    let mut c = Sim::client_config();
    c.disabled = true;
    let mut s = Sim::new(c, ServerConfig::enabled(), LinkConfig::perfect(), 9);
    s.run_for(Duration::from_secs(30));
    assert!(s.up_trace.msgs.is_empty());
    let now = s.now;
    s.client.enable(now);
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()));
    // once enabled it redials after a drop like any client
    let key = s.server.call_keys().next().unwrap();
    let now = s.now;
    s.server.close_call(now, &key, "admin").unwrap();
    assert!(s.run_until(Duration::from_secs(5), |s| !s.client_up()));
    assert!(s.run_until(Duration::from_secs(30), |s| s.client_up()));
}

#[test]
fn default_authentication_refuses_pap_and_chap_clients() {
    let mut c = Sim::client_config();
    c.ppp.allow = AuthSet::of(&[AuthMethod::Pap, AuthMethod::Chap]);
    let mut s = Sim::new(c, ServerConfig::enabled(), LinkConfig::perfect(), 10);
    s.run_for(Duration::from_secs(20));
    assert!(!s.client_up());
    assert!(s.server_events.iter().any(|(_, e)| matches!(
        e,
        pptp::ServerEvent::Ppp(ppp::host::ServerEvent::Ended { .. })
    )));
    // an mschap1-only client is fine
    let mut c = Sim::client_config();
    c.ppp.allow = AuthSet::of(&[AuthMethod::MsChap1]);
    let mut s = Sim::new(c, ServerConfig::enabled(), LinkConfig::perfect(), 10);
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()));
}

#[test]
fn use_encryption_required_on_the_server_profile() {
    let mut c = Sim::client_config();
    c.ppp.use_encryption = UseEncryption::Yes;
    let mut s = Sim::new(c, ServerConfig::enabled(), LinkConfig::perfect(), 12);
    let mut aaa = store();
    for p in aaa.profiles.iter_mut() {
        p.use_encryption = UseEncryption::Required;
    }
    s.server.host_mut().set_store(Box::new(aaa));
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()
        && s.server_session().is_some_and(|x| x.mppe_up())));
    // a client that refuses encryption does not get through
    let mut c = Sim::client_config();
    c.ppp.use_encryption = UseEncryption::No;
    let mut s = Sim::new(c, ServerConfig::enabled(), LinkConfig::perfect(), 12);
    let mut aaa = store();
    for p in aaa.profiles.iter_mut() {
        p.use_encryption = UseEncryption::Required;
    }
    s.server.host_mut().set_store(Box::new(aaa));
    s.run_for(Duration::from_secs(20));
    assert!(
        s.server_events.iter().any(|(_, e)| matches!(
            e,
            pptp::ServerEvent::Ppp(ppp::host::ServerEvent::Ended {
                reason: ppp::TerminateReason::EncryptionRequired(_),
                ..
            })
        )),
        "the server ends a session whose peer refuses MPPE"
    );
}

#[test]
fn max_sessions_refuses_the_second_call() {
    let mut sc = ServerConfig::enabled();
    sc.ppp.max_sessions = Some(1);
    let t = Instant::now();
    let mut srv = pptp::Server::new(sc, t, rand_chacha_rng(2)).unwrap();
    let mut pns = [
        Control::new_pns(ControlConfig::default(), t),
        Control::new_pns(ControlConfig::default(), t),
    ];
    let mut replies = Vec::new();
    for (i, p) in pns.iter_mut().enumerate() {
        let conn = srv.accept(t, CLIENT_IP).unwrap();
        let b = p.poll_transmit(t).unwrap();
        srv.handle_stream(t, conn, &b).unwrap();
        while let Some(x) = srv.poll_transmit(t) {
            p.handle_stream(t, &x.payload);
        }
        p.open_call(t, 100 + i as u16).unwrap();
        let b = p.poll_transmit(t).unwrap();
        srv.handle_stream(t, conn, &b).unwrap();
        while let Some(x) = srv.poll_transmit(t) {
            if x.channel == pptp::Channel::Control {
                replies.push(Message::parse(&x.payload).unwrap());
            }
        }
    }
    let Message::OutgoingCallReply(r) = replies[0] else {
        panic!()
    };
    assert_eq!(r.result_code, 1);
    let Message::OutgoingCallReply(r) = replies[1] else {
        panic!()
    };
    assert_eq!(r.result_code, pptp::wire::codes::ocrp::GENERAL_ERROR);
    assert_eq!(r.error_code, pptp::wire::codes::error::NO_RESOURCE);
    assert_eq!(srv.stats().calls_refused, 1);
}

#[test]
fn control_knobs_reach_the_wire() {
    let t = Instant::now();
    let cfg = ControlConfig {
        host_name: "gw1".into(),
        vendor: "acme".into(),
        firmware_revision: 0x0607,
        recv_window: 16,
        processing_delay: 3,
        echo_interval: Duration::ZERO,
        stop_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let mut pns = Control::new_pns(cfg.clone(), t);
    let Message::StartControlConnectionRequest(s) =
        Message::parse(&pns.poll_transmit(t).unwrap()).unwrap()
    else {
        panic!()
    };
    assert_eq!(s.host_name.as_bytes(), b"gw1");
    assert_eq!(s.vendor.as_bytes(), b"acme");
    assert_eq!(s.firmware_revision, 0x0607);
    let mut pac = Control::new_pac(ControlConfig::default(), t);
    pac.handle_stream(t, &Message::StartControlConnectionRequest(s).to_vec());
    pns.handle_stream(t, &pac.poll_transmit(t).unwrap());
    assert!(pns.is_established());
    pns.open_call(t, 1).unwrap();
    let Message::OutgoingCallRequest(o) = Message::parse(&pns.poll_transmit(t).unwrap()).unwrap()
    else {
        panic!()
    };
    assert_eq!((o.recv_window, o.processing_delay), (16, 3));
    // echo-interval 0: no keepalive deadline
    while pns.poll_event().is_some() {}
    assert_eq!(pns.poll_timeout(), None);
    // stop-timeout: StopCCRQ without a reply closes after 2 s
    pns.close(t);
    assert_eq!(pns.poll_timeout(), Some(t + Duration::from_secs(2)));
    pns.handle_timeout(t + Duration::from_secs(2));
    let ev: Vec<_> = std::iter::from_fn(|| pns.poll_event()).collect();
    assert!(ev.contains(&ControlEvent::Closed(pptp::CloseReason::LocalStop)));
}

#[test]
fn gre_from_a_wrong_peer_or_unknown_call_is_dropped_and_counted() {
    let mut s = Sim::new(
        Sim::client_config(),
        ServerConfig::enabled(),
        LinkConfig::perfect(),
        13,
    );
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()));
    let key = s.server.call_keys().next().unwrap();
    let now = s.now;
    let mut p = vec![0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 9];
    p[6..8].copy_from_slice(&key.call_id.wrapping_add(1).to_be_bytes());
    assert_eq!(
        s.server.handle_datagram(now, CLIENT_IP, &mut p.clone()),
        pptp::Input::Dropped(pptp::DropReason::UnknownCall)
    );
    p[6..8].copy_from_slice(&key.call_id.to_be_bytes());
    let other = std::net::IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 9));
    assert_eq!(
        s.server.handle_datagram(now, other, &mut p.clone()),
        pptp::Input::Dropped(pptp::DropReason::WrongPeer)
    );
    assert_eq!(
        s.server.handle_datagram(now, CLIENT_IP, &mut [0u8; 3]),
        pptp::Input::Dropped(pptp::DropReason::MalformedGre)
    );
    assert_eq!(s.server.stats().gre_dropped, 3);
    // an absurd ack on the client's call
    let cid = s.client.call_id().unwrap();
    let mut a = vec![0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 0, 0x7f, 0, 0, 0];
    a[6..8].copy_from_slice(&cid.to_be_bytes());
    let now = s.now;
    assert_eq!(
        s.client.handle_datagram(now, SERVER_IP, &mut a),
        pptp::Input::Dropped(pptp::DropReason::AbsurdAck)
    );
    assert!(s
        .client_events
        .iter()
        .any(|(_, e)| matches!(e, ClientEvent::Connect { .. })));
}

/// `mrru`: multilink runs over l2tp only so far; PPTP refuses it at validation rather than
/// negotiating MP and dropping the fragments.
#[test]
fn mrru_is_refused_until_pptp_carries_multilink() {
    let mut s = ServerConfig::enabled();
    s.ppp.mrru = Some(1600);
    assert!(matches!(
        s.validate(),
        Err(pptp::Error::Config {
            property: "mrru",
            ..
        })
    ));
    let mut c = ClientConfig::new([192, 0, 2, 1].into(), "u", "p");
    c.ppp.mrru = Some(1600);
    assert!(matches!(
        c.validate(),
        Err(pptp::Error::Config {
            property: "mrru",
            ..
        })
    ));
}
