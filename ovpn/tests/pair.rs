#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Our client against our server over the simulated link (virtual time): handshake, data
//! exchange, every control-channel protection mode, UDP at 30% loss and TCP, then rekey.

mod common;

use std::time::{Duration, Instant};

use common::*;
use netsim::{LinkConfig, Pair};
use ovpn::crypto::{Digest, KeyDirection};
use ovpn::data::Cipher;
use ovpn::event::{DownReason, Event};
use ovpn::session::{AuthHook, Role, SessionConfig, TlsFactory, WrapConfig};

struct Setup {
    prot: Prot,
    tcp: bool,
    loss: f64,
    seed: u64,
    client: SessionConfig,
    server: SessionConfig,
}

fn setup(prot: Prot, tcp: bool, loss: f64, seed: u64) -> Setup {
    let (cw, sw) = wraps(prot);
    let mut client = config(Role::Client);
    client.wrap = cw;
    client.credentials = Some(("alice".into(), "secret".into()));
    let mut server = config(Role::Server);
    server.wrap = sw;
    server.peer_id = Some(7);
    server.push_options = vec![
        "ifconfig 192.168.77.2 255.255.255.0".into(),
        "route 10.10.0.0 255.255.0.0".into(),
    ];
    Setup {
        prot,
        tcp,
        loss,
        seed,
        client,
        server,
    }
}

fn run(s: Setup) -> (Pair<Peer, Peer>, Instant) {
    run_with_hook(
        s,
        Box::new(|r: &ovpn::AuthRequest<'_>| r.username == "alice" && r.password == "secret"),
    )
}

/// Connect client and server from `s` (server credential check `hook`) until both are up.
fn run_with_hook(s: Setup, hook: AuthHook) -> (Pair<Peer, Peer>, Instant) {
    let start = Instant::now();
    let mut c = common::session(s.client, start, s.seed, client_tls(None, true), None);
    c.connect(start).unwrap();
    let sv = common::session(s.server, start, s.seed + 1, server_tls(true), Some(hook));
    let link = if s.tcp || s.loss == 0.0 {
        LinkConfig::perfect()
    } else {
        LinkConfig::lossy(s.loss)
    };
    let mut pair = Pair::with_start(
        Peer::new(c, s.tcp),
        Peer::new(sv, s.tcp),
        link.clone(),
        link,
        s.seed,
        start,
    );
    pair.run_until(Duration::from_secs(120), |a, b| a.s.is_up() && b.s.is_up());
    assert!(
        pair.a.s.is_up() && pair.b.s.is_up(),
        "{:?} tcp={} not up: client {:?} / server {:?}",
        s.prot,
        s.tcp,
        pair.a.events,
        pair.b.events
    );
    (pair, start)
}

/// Client (seed 1, connecting) and server (seed 2) sessions from `s` on a perfect UDP link.
fn perfect_pair(
    s: Setup,
    ctls: TlsFactory,
    stls: TlsFactory,
    hook: Option<AuthHook>,
) -> Pair<Peer, Peer> {
    let start = Instant::now();
    let mut c = common::session(s.client, start, 1, ctls, None);
    c.connect(start).unwrap();
    let sv = common::session(s.server, start, 2, stls, hook);
    Pair::with_start(
        Peer::new(c, false),
        Peer::new(sv, false),
        LinkConfig::perfect(),
        LinkConfig::perfect(),
        1,
        start,
    )
}

fn exchange(pair: &mut Pair<Peer, Peer>, n: usize) {
    let now = pair.now();
    for i in 0..n {
        let pkt = vec![i as u8; 100 + i];
        pair.a.send(now, &pkt).unwrap();
        pair.b.send(now, &pkt).unwrap();
    }
    pair.run_for(Duration::from_secs(2));
}

fn check_profile(prot: Prot, tcp: bool, loss: f64) {
    for seed in [1u64, 2, 3] {
        let (mut pair, _) = run(setup(prot, tcp, loss, seed));
        // Pushed options reached the client, and the peer-id is used.
        assert!(pair.a.has_event(
            |e| matches!(e, Event::Pushed(r) if r.ifconfig.is_some() && r.peer_id == Some(7))
        ));
        assert_eq!(pair.a.s.peer_id(), Some(7));
        assert_eq!(pair.a.s.cipher(), Some(Cipher::Aes256Gcm));
        exchange(&mut pair, 50);
        let (ra, rb) = (pair.a.received.len(), pair.b.received.len());
        if tcp || loss == 0.0 {
            assert_eq!((ra, rb), (50, 50));
        } else {
            // Data packets are not retransmitted: some are lost, none is corrupted.
            assert!(ra > 20 && rb > 20, "{ra} {rb}");
        }
        for p in pair.a.received.iter().chain(&pair.b.received) {
            assert!(p.iter().all(|b| *b == p[0]) && p.len() == 100 + usize::from(p[0]));
        }
    }
}

#[test]
fn udp_lossy_no_wrap() {
    check_profile(Prot::None, false, 0.3);
}

#[test]
fn udp_lossy_tls_auth() {
    check_profile(Prot::TlsAuth, false, 0.3);
}

#[test]
fn udp_lossy_tls_crypt() {
    check_profile(Prot::TlsCrypt, false, 0.3);
}

#[test]
fn udp_lossy_tls_crypt_v2() {
    check_profile(Prot::TlsCryptV2, false, 0.3);
}

#[test]
fn tcp_all_wraps() {
    for p in [Prot::None, Prot::TlsAuth, Prot::TlsCrypt, Prot::TlsCryptV2] {
        check_profile(p, true, 0.0);
    }
}

#[test]
fn perfect_link_timing_and_ekm() {
    let (pair, start) = run(setup(Prot::TlsAuth, false, 0.0, 9));
    // 10 ms one-way delay: reset, TLS 1.3 (2 RTT), key method 2 and PUSH_REQUEST/REPLY
    // take exactly four round trips.
    assert_eq!(pair.a.up_at(), Some(start + Duration::from_millis(80)));
    let kinds: Vec<u8> = pair.trace.iter().map(|t| t.data[0] >> 3).collect();
    assert_eq!(
        kinds,
        [7, 8, 4, 4, 4, 4, 4, 4, 5],
        "reset, reset, 6 x P_CONTROL_V1, P_ACK_V1"
    );
    assert!(pair
        .a
        .has_event(|e| matches!(e, Event::Up { tls_ekm: true, .. })));
    assert!(pair
        .a
        .has_event(|e| matches!(e, Event::TlsEstablished { version, .. } if version == "TLSv1.3")));
    assert_eq!(pair.a.s.stats().retransmits, 0);
}

#[test]
fn rekey_after_reneg_sec_keeps_traffic_flowing() {
    for (tcp, loss) in [(false, 0.0), (false, 0.3), (true, 0.0)] {
        let mut s = setup(Prot::TlsCrypt, tcp, loss, 5);
        s.client.reneg = Some(Duration::from_secs(60));
        s.client.ping = Some(Duration::from_secs(10));
        s.server.ping = Some(Duration::from_secs(10));
        let (mut pair, _) = run(s);
        let up = pair.a.up_at().unwrap();
        exchange(&mut pair, 5);
        assert_eq!(pair.a.s.primary_key_id(), Some(0));
        pair.run_until(Duration::from_secs(120), |a, b| {
            a.s.primary_key_id() == Some(1) && b.s.primary_key_id() == Some(1)
        });
        assert_eq!(
            pair.a.s.primary_key_id(),
            Some(1),
            "client rekeyed, loss {loss}"
        );
        assert_eq!(
            pair.b.s.primary_key_id(),
            Some(1),
            "server rekeyed, loss {loss}"
        );
        let rekeyed_at = pair
            .a
            .events
            .iter()
            .find(|(_, e)| matches!(e, Event::Rekeyed { key_id: 1 }))
            .unwrap()
            .0;
        assert!(rekeyed_at >= up + Duration::from_secs(60));
        if loss == 0.0 && !tcp {
            // The client's SOFT_RESET leaves exactly reneg-sec after its key went up; the
            // new key is ready three round trips later (reset, TLS 1.3 2-RTT... + km2).
            let soft = pair.trace.iter().find(|t| t.data[0] >> 3 == 3).unwrap();
            assert_eq!(pair.start() + soft.at, up + Duration::from_secs(60));
            assert_eq!(soft.data[0] & 7, 1, "key id 1");
            assert_eq!(
                rekeyed_at,
                up + Duration::from_secs(60) + Duration::from_millis(60)
            );
        }
        let before = pair.a.received.len();
        exchange(&mut pair, 5);
        assert!(pair.a.received.len() > before);
        // The old key is retired after the transition window (60 s).
        pair.run_for(Duration::from_secs(70));
        assert!(pair
            .a
            .has_event(|e| matches!(e, Event::KeyRetired { key_id: 0 })));
        assert!(!pair.a.s.is_down() && !pair.b.s.is_down());
    }
}

#[test]
fn keepalive_pings_and_ping_restart() {
    let mut s = setup(Prot::TlsAuth, false, 0.0, 11);
    s.client.ping = Some(Duration::from_secs(10));
    s.server.ping = Some(Duration::from_secs(10));
    s.server.ping_restart = Some(Duration::from_secs(60));
    let (mut pair, _) = run(s);
    let up = pair.b.up_at().unwrap();
    pair.run_for(Duration::from_secs(35));
    assert_eq!(pair.b.pings, 3, "a ping every 10 s");
    assert_eq!(pair.a.received.len(), 0, "pings are not tunnel data");
    // Cut the link: the server gives up exactly 60 s after the last packet it received.
    pair.set_cut(true);
    let cut_at = pair.now();
    pair.run_for(Duration::from_secs(90));
    let (t, _) = pair
        .b
        .events
        .iter()
        .find(|(_, e)| matches!(e, Event::Down(DownReason::PingRestart)))
        .expect("ping-restart");
    // Last datagram the server received: sent by the client before the cut, +10 ms delay.
    let last = pair
        .trace
        .iter()
        .rfind(|t| t.dir == netsim::Dir::AtoB && pair.start() + t.at < cut_at)
        .unwrap();
    let last_rx = pair.start() + last.at + Duration::from_millis(10);
    assert_eq!(*t, last_rx + Duration::from_secs(60));
    let _ = up;
}

#[test]
fn wrong_password_gets_auth_failed() {
    let mut s = setup(Prot::None, false, 0.0, 12);
    s.client.credentials = Some(("alice".into(), "wrong".into()));
    let mut pair = perfect_pair(
        s,
        client_tls(None, true),
        server_tls(true),
        Some(Box::new(|r: &ovpn::AuthRequest<'_>| r.password == "secret")),
    );
    pair.run_for(Duration::from_secs(5));
    assert!(
        pair.a
            .has_event(|e| matches!(e, Event::Down(DownReason::AuthFailed(_)))),
        "{:?}",
        pair.a.events
    );
    assert!(!pair.a.s.is_up());
}

#[test]
fn tls_auth_same_direction_never_connects() {
    let mut s = setup(Prot::TlsAuth, false, 0.0, 13);
    s.server.wrap = WrapConfig::TlsAuth {
        key: static_key(1),
        direction: KeyDirection::Inverse,
        digest: Digest::Sha256,
    };
    let mut pair = perfect_pair(s, client_tls(None, true), server_tls(true), None);
    pair.run_for(Duration::from_secs(30));
    assert!(!pair.b.s.is_up());
    assert!(
        pair.b.drops.iter().all(|d| d.to_string().contains("HMAC")) && !pair.b.drops.is_empty()
    );
}

#[test]
fn verify_server_certificate_name() {
    for (name, ok) in [("vpn.example.net", true), ("other.example.net", false)] {
        let s = setup(Prot::None, false, 0.0, 14);
        let mut pair = perfect_pair(s, client_tls(Some(name), true), server_tls(true), None);
        pair.run_for(Duration::from_secs(5));
        assert_eq!(pair.a.s.is_up(), ok, "{name}");
        if !ok {
            assert!(pair.a.has_event(|e| matches!(e, Event::Down(DownReason::Tls(m)) if m.contains("NotValidForName"))), "{:?}", pair.a.events);
        }
    }
}

#[test]
fn routeros_fixed_cipher_mode() {
    // No NCP: client fixed BF-CBC/SHA1 (RouterOS client default), server accepts
    // aes128-cbc,blowfish128 (RouterOS server default set).
    for (client_cipher, ok) in [
        (Cipher::BfCbc, true),
        (Cipher::Aes128Cbc, true),
        (Cipher::Aes256Gcm, false),
    ] {
        let mut s = setup(Prot::None, true, 0.0, 15);
        s.client.data_ciphers.clear();
        s.client.cipher = client_cipher;
        s.client.allow_ekm = false;
        s.server.data_ciphers.clear();
        s.server.cipher = Cipher::Aes128Cbc;
        s.server.accepted_ciphers = vec![Cipher::Aes128Cbc, Cipher::BfCbc];
        let start = Instant::now();
        let mut c = common::session(s.client, start, 1, client_tls(None, true), None);
        c.connect(start).unwrap();
        let sv = common::session(s.server, start, 2, server_tls(true), None);
        let mut pair = Pair::with_start(
            Peer::new(c, true),
            Peer::new(sv, true),
            LinkConfig::perfect(),
            LinkConfig::perfect(),
            1,
            start,
        );
        pair.run_for(Duration::from_secs(5));
        assert_eq!(pair.a.s.is_up(), ok, "{client_cipher:?}");
        if ok {
            assert_eq!(pair.b.s.cipher(), Some(client_cipher));
            exchange(&mut pair, 3);
            assert_eq!(pair.b.received.len(), 3);
        }
    }
}

#[test]
fn p2p_mode_negotiates_like_openvpn_2_6() {
    let mut s = setup(Prot::TlsAuth, false, 0.0, 16);
    s.client.pull = false;
    s.server.pull = false;
    s.client.data_ciphers = vec![Cipher::ChaCha20Poly1305, Cipher::Aes256Gcm];
    s.server.data_ciphers = vec![Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305];
    let (mut pair, _) = run(s);
    // Server preference wins; peer id from the TLS exporter, same on both sides.
    assert_eq!(pair.a.s.cipher(), Some(Cipher::Aes256Gcm));
    assert_eq!(pair.a.s.peer_id(), pair.b.s.peer_id());
    assert!(pair.a.s.peer_id().is_some());
    exchange(&mut pair, 4);
    assert_eq!(pair.b.received.len(), 4);
}

#[test]
fn server_initiated_and_simultaneous_rekey() {
    for (client_reneg, server_reneg) in [(None, Some(60)), (Some(60), Some(60))] {
        let mut s = setup(Prot::TlsAuth, false, 0.0, 21);
        s.client.reneg = client_reneg.map(Duration::from_secs);
        s.server.reneg = server_reneg.map(Duration::from_secs);
        let (mut pair, _) = run(s);
        pair.run_until(Duration::from_secs(120), |a, b| {
            a.s.primary_key_id() == Some(1) && b.s.primary_key_id() == Some(1)
        });
        assert_eq!(
            pair.a.s.primary_key_id(),
            Some(1),
            "{client_reneg:?}/{server_reneg:?}"
        );
        assert_eq!(pair.b.s.primary_key_id(), Some(1));
        exchange(&mut pair, 3);
        assert_eq!(pair.a.received.len(), 3);
        assert_eq!(pair.b.received.len(), 3);
        // A second round moves to key id 2.
        pair.run_until(Duration::from_secs(120), |a, b| {
            a.s.primary_key_id() == Some(2) && b.s.primary_key_id() == Some(2)
        });
        assert_eq!(pair.a.s.primary_key_id(), Some(2));
        assert!(!pair.a.s.is_down() && !pair.b.s.is_down());
    }
}

/// Certificate validity is checked against the wall clock given in `SessionConfig::unix_time`
/// (advanced by the virtual time), not the system clock: the test PKI is valid from today for
/// 3650 days, so a clock 20 years ahead sees expired certificates, one 2 days back sees
/// not-yet-valid ones, and no clock at all refuses to verify.
#[test]
fn certificate_validity_uses_the_injected_wall_clock() {
    let _ = pki(); // made first: valid from the second it is made
    let now = wall_now();
    let day = 86_400;
    let later = now + 20 * 365 * day;
    let before = now - 2 * day;
    // (client clock, server clock, which side fails and with what)
    type Case = (u64, u64, Option<(bool, &'static str)>);
    let cases: [Case; 6] = [
        (now, now, None),
        (later, now, Some((true, "expired"))),
        (before, now, Some((true, "not valid yet"))),
        (now, later, Some((false, "expired"))),
        (now, before, Some((false, "not valid yet"))),
        (0, now, Some((true, "current time"))),
    ];
    for (ct, st, fail) in cases {
        let mut s = setup(Prot::TlsCrypt, false, 0.0, 15);
        s.client.unix_time = ct;
        s.server.unix_time = st;
        let mut pair = perfect_pair(
            s,
            client_tls(None, true),
            server_tls(true),
            Some(Box::new(|_: &ovpn::AuthRequest<'_>| true)),
        );
        pair.run_for(Duration::from_secs(5));
        match fail {
            None => assert!(
                pair.a.s.is_up() && pair.b.s.is_up(),
                "{:?} {:?}",
                pair.a.events,
                pair.b.events
            ),
            Some((client_side, needle)) => {
                let side = if client_side { &pair.a } else { &pair.b };
                assert!(!pair.a.s.is_up() && !pair.b.s.is_up());
                assert!(
                    side.has_event(|e| matches!(e, Event::Down(DownReason::Tls(m))
                        if m.to_lowercase().contains(needle))),
                    "client clock {ct}, server clock {st}: {:?}",
                    side.events
                );
            }
        }
    }
}

/// `comp-lzo no` / `compress stub` / `compress stub-v2` configured on the server is pushed;
/// the client adopts the framing, and payloads (including one starting with the v2 escape
/// byte 0x50) and keepalive pings cross intact both ways.
#[test]
fn compression_framing_is_pushed_and_carries_data_and_pings() {
    use ovpn::data::Compression;
    for comp in [Compression::LzoNo, Compression::Stub, Compression::StubV2] {
        let mut s = setup(Prot::TlsCrypt, false, 0.0, 31);
        s.server.compression = comp;
        s.client.ping = Some(Duration::from_secs(10));
        s.server.ping = Some(Duration::from_secs(10));
        let (mut pair, _) = run(s);
        assert!(
            pair.a
                .has_event(|e| matches!(e, Event::Pushed(r) if r.compression == Some(comp))),
            "{comp:?}"
        );
        let now = pair.now();
        for p in [&b"\x50\x00escape"[..], b"\x45plain ip", b"\xfa", b"\xfb"] {
            pair.a.send(now, p).unwrap();
            pair.b.send(now, p).unwrap();
        }
        pair.run_for(Duration::from_secs(25));
        let want: Vec<Vec<u8>> = [&b"\x50\x00escape"[..], b"\x45plain ip", b"\xfa", b"\xfb"]
            .iter()
            .map(|p| p.to_vec())
            .collect();
        assert_eq!(pair.a.received, want, "{comp:?}");
        assert_eq!(pair.b.received, want, "{comp:?}");
        assert_eq!((pair.a.pings, pair.b.pings), (2, 2), "{comp:?}");
        assert!(pair.a.drops.is_empty() && pair.b.drops.is_empty());
    }
}

/// A client that does not use the framing its server does drops the server's packets
/// (the framing byte is checked), which is why the server pushes it.
#[test]
fn compression_framing_mismatch_is_dropped_not_delivered() {
    use ovpn::data::Compression;
    let mut s = setup(Prot::None, false, 0.0, 32);
    s.client.compression = Compression::LzoNo;
    let (mut pair, _) = run(s);
    let now = pair.now();
    pair.b.send(now, b"\x45abc").unwrap();
    pair.run_for(Duration::from_secs(1));
    assert!(pair.a.received.is_empty());
    assert!(
        pair.a.drops.iter().any(|d| d.to_string().contains("0xFA")),
        "{:?}",
        pair.a.drops
    );
}

/// explicit-exit-notify 3 towards a peer without cc-exit: OCC EXIT on the data channel at
/// close, +1 s and +2 s; the server drops the session when the first arrives (10 ms later),
/// the client is down after its last. With cc-exit (OpenVPN 2.6 default) the control
/// channel's EXIT is used and the client is down at once.
#[test]
fn explicit_exit_notify_occ_and_control_channel() {
    for cc_exit in [false, true] {
        let mut s = setup(Prot::TlsAuth, false, 0.0, 33);
        s.client.cc_exit = cc_exit;
        s.server.cc_exit = cc_exit;
        s.client.explicit_exit_notify = 3;
        let (mut pair, _) = run(s);
        pair.run_for(Duration::from_secs(1));
        let t0 = pair.now();
        pair.a.s.close(t0);
        let sent_before = pair.trace.len();
        pair.run_for(Duration::from_secs(5));
        let (t_srv, _) = pair
            .b
            .events
            .iter()
            .find(|(_, e)| matches!(e, Event::Down(DownReason::Exit)))
            .expect("server saw the exit");
        assert_eq!(*t_srv, t0 + Duration::from_millis(10), "cc_exit={cc_exit}");
        let (t_cli, _) = pair
            .a
            .events
            .iter()
            .find(|(_, e)| matches!(e, Event::Down(DownReason::Closed)))
            .expect("client down");
        let from_client: Vec<_> = pair.trace[sent_before..]
            .iter()
            .filter(|t| t.dir == netsim::Dir::AtoB)
            .collect();
        if cc_exit {
            // Down when the server's ack of the EXIT arrives (one round trip).
            assert_eq!(*t_cli, t0 + Duration::from_millis(20));
            // One control packet (P_CONTROL_V1 carrying "EXIT").
            assert_eq!(from_client.len(), 1);
            assert_eq!(from_client[0].data[0] >> 3, 4);
        } else {
            assert_eq!(*t_cli, t0 + Duration::from_secs(2));
            let at: Vec<_> = from_client.iter().map(|t| pair.start() + t.at).collect();
            assert_eq!(
                at,
                vec![t0, t0 + Duration::from_secs(1), t0 + Duration::from_secs(2)]
            );
            // Data packets (P_DATA_V2) of 4 + 4 + 16 + 17 bytes: the OCC EXIT message.
            assert!(from_client
                .iter()
                .all(|t| t.data[0] >> 3 == 9 && t.data.len() == 41));
        }
    }
}

/// OCC_REQUEST on the data channel is answered with the options string (OCC_REPLY); the
/// two sides' strings differ only in the role, so there is nothing to warn about.
#[test]
fn occ_request_gets_the_options_string() {
    let (mut pair, _) = run(setup(Prot::TlsCrypt, false, 0.0, 34));
    let now = pair.now();
    pair.a.s.send_occ_request(now).unwrap();
    pair.run_for(Duration::from_millis(100));
    let reply = pair
        .a
        .events
        .iter()
        .find_map(|(t, e)| match e {
            Event::OccReply { options, warnings } => Some((*t, options.clone(), warnings.clone())),
            _ => None,
        })
        .expect("OCC_REPLY");
    assert_eq!(reply.0, now + Duration::from_millis(20), "one round trip");
    assert!(reply.1.starts_with("V4,dev-type tun,") && reply.1.contains("tls-server"));
    assert!(reply.2.is_empty(), "{:?}", reply.2);
    assert!(pair.a.received.is_empty() && pair.b.received.is_empty());
    assert!(!pair
        .a
        .has_event(|e| matches!(e, Event::OptionsWarning { .. })));
}

/// auth-gen-token: the server checks the password once, pushes a token, and on every
/// renegotiation the client sends the token instead of the password and the server takes
/// it without asking the credential hook. Without a token the hook is asked again at each
/// renegotiation, and a wrong password then ends the session with AUTH_FAILED.
#[test]
fn auth_token_replaces_the_password_on_renegotiation() {
    use std::sync::{Arc, Mutex};
    for gen_token in [true, false] {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        let mut s = setup(Prot::TlsAuth, false, 0.0, 35);
        s.server.auth_gen_token = gen_token;
        s.client.reneg = Some(Duration::from_secs(60));
        let (mut pair, _) = run_with_hook(
            s,
            Box::new(move |r: &ovpn::AuthRequest<'_>| {
                log.lock().unwrap().push(r.password.to_string());
                r.username == "alice" && r.password == "secret"
            }),
        );
        let token = pair.a.events.iter().find_map(|(_, e)| match e {
            Event::Pushed(r) => r.auth_token.clone(),
            _ => None,
        });
        assert_eq!(token.is_some(), gen_token);
        for kid in [1, 2] {
            pair.run_until(Duration::from_secs(120), |a, b| {
                a.s.primary_key_id() == Some(kid) && b.s.primary_key_id() == Some(kid)
            });
            assert_eq!(
                pair.b.s.primary_key_id(),
                Some(kid),
                "gen_token={gen_token}"
            );
        }
        let calls = seen.lock().unwrap().clone();
        if gen_token {
            assert_eq!(calls, vec!["secret".to_string()]);
            assert_eq!(token.unwrap().len(), 64, "base64 of 2 times + HMAC-SHA256");
        } else {
            assert_eq!(calls, vec!["secret".to_string(); 3]);
        }
    }
    // The hook refuses at the renegotiation (e.g. the account was disabled meanwhile).
    let mut s = setup(Prot::TlsAuth, false, 0.0, 36);
    s.client.reneg = Some(Duration::from_secs(60));
    let mut n = 0;
    let (mut pair, _) = run_with_hook(
        s,
        Box::new(move |_: &ovpn::AuthRequest<'_>| {
            n += 1;
            n == 1
        }),
    );
    pair.run_for(Duration::from_secs(70));
    assert!(pair
        .b
        .has_event(|e| matches!(e, Event::Down(DownReason::AuthFailed(_)))));
    assert!(pair
        .a
        .has_event(|e| matches!(e, Event::Down(DownReason::AuthFailed(_)))));
}

/// Client side of OpenVPN 2.6 early negotiation with tls-crypt-v2: the client announces it
/// (first control replay id 0x0f000000); when the server's reset carries EARLY_NEG_FLAGS =
/// RESEND_WKC, the first TLS message (message id 1) leaves as P_CONTROL_WKC_V1 with the
/// WKc appended, and everything after as plain P_CONTROL_V1. (Interop: OpenVPN 2.6.14
/// servers ask for this over UDP; `interop_ovpn_openvpn26_server_mode_tun_ping`.)
#[test]
fn tls_crypt_v2_client_resends_wkc_when_the_server_asks() {
    use ovpn::protect::{ControlCrypto, ControlWrap, TlsCrypt};
    use ovpn::wire::{AckList, ControlPacket, Opcode};
    let (cw, _) = wraps(Prot::TlsCryptV2);
    let WrapConfig::TlsCryptV2Client { key } = cw.clone() else {
        unreachable!()
    };
    let mut cfg = config(Role::Client);
    cfg.wrap = cw;
    let t0 = Instant::now();
    let mut c = common::session(cfg, t0, 1, client_tls(None, true), None);
    c.connect(t0).unwrap();
    let reset = c.poll_transmit(t0).unwrap();
    assert_eq!(reset[0] >> 3, 10, "HARD_RESET_CLIENT_V3");
    assert_eq!(
        &reset[9..13],
        &[0x0f, 0, 0, 0],
        "early-negotiation replay id"
    );
    assert!(reset.ends_with(&key.wkc));
    // The server's stateless reply: HARD_RESET_SERVER_V2 acking 0, TLV flags = 1.
    let mut server = ControlCrypto::new(ControlWrap::Crypt(TlsCrypt::new(&key.key, true)), 1);
    let tlv = [0u8, 1, 0, 2, 0, 1];
    let pkt = ControlPacket {
        opcode: Opcode::ControlHardResetServerV2,
        key_id: 0,
        session_id: [9; 8],
        acks: [0u32].iter().collect::<AckList>(),
        remote_session_id: Some(c.local_session_id()),
        message_id: Some(0),
        payload: &tlv,
    };
    let mut plain = vec![0u8; pkt.buffer_len()];
    let n = pkt.emit(&mut plain).unwrap();
    let mut wire = vec![0u8; n + server.overhead(false)];
    let m = server.seal(&plain[..n], 1_795_305_600, &mut wire).unwrap();
    let mut out = vec![0u8; 2048];
    c.handle_input(t0, &wire[..m], &mut out);
    let mut ev = Vec::new();
    while let Some(e) = c.poll_event() {
        ev.push(e);
    }
    assert!(ev.contains(&Event::EarlyNegotiation { flags: 1 }), "{ev:?}");
    let first = c.poll_transmit(t0).unwrap();
    assert_eq!(first[0] >> 3, 11, "P_CONTROL_WKC_V1");
    assert!(first.ends_with(&key.wkc));
    // The ClientHello carries message id 1 and acks the server's reset: decrypt to check.
    let body = &first[..first.len() - key.wkc.len()];
    let mut sopen = ControlCrypto::new(ControlWrap::Crypt(TlsCrypt::new(&key.key, true)), 1);
    let mut dec = vec![0u8; body.len()];
    let k = sopen.open(body, &mut dec).unwrap();
    let p = ControlPacket::parse(&dec[..k]).unwrap();
    assert_eq!(p.opcode, Opcode::ControlWkcV1);
    assert_eq!((p.message_id, p.acks.as_slice()), (Some(1), &[0u32][..]));
    assert_eq!(p.remote_session_id, Some([9; 8]));
    // Later messages (retransmissions aside) are ordinary P_CONTROL_V1 without the WKc.
    while let Some(next) = c.poll_transmit(t0) {
        assert_ne!(next[0] >> 3, 11);
    }
}

/// dyn-tls-crypt: on by default on both ends, so after the first key the renegotiations'
/// control packets (key id > 0) are tls-crypt-wrapped with the exported key, whatever the
/// configured wrap (none, tls-auth, tls-crypt); turned off on one end it is not used and
/// renegotiation still works.
#[test]
fn dyn_tls_crypt_protects_renegotiations() {
    for (prot, dyn_server) in [
        (Prot::None, true),
        (Prot::TlsAuth, true),
        (Prot::TlsCrypt, true),
        (Prot::None, false),
    ] {
        let mut s = setup(prot, false, 0.0, 37);
        s.client.reneg = Some(Duration::from_secs(60));
        s.server.dyn_tls_crypt = dyn_server;
        let (mut pair, _) = run(s);
        assert_eq!(pair.a.s.dynamic_tls_crypt(), dyn_server, "{prot:?}");
        assert_eq!(pair.b.s.dynamic_tls_crypt(), dyn_server, "{prot:?}");
        pair.run_until(Duration::from_secs(120), |a, b| {
            a.s.primary_key_id() == Some(1) && b.s.primary_key_id() == Some(1)
        });
        assert_eq!(pair.b.s.primary_key_id(), Some(1), "{prot:?} {dyn_server}");
        // The soft reset (key id 1) is 9 + 8 + 32 bytes of tls-crypt header plus the body
        // under dyn-tls-crypt; without it, its size is the configured wrap's.
        let soft = pair
            .trace
            .iter()
            .find(|t| t.data[0] == (3 << 3 | 1))
            .unwrap();
        let plain_soft = 1 + 8 + 1 + 4; // opcode/kid, sid, ack count 0, message id
        let expect = match (dyn_server, prot) {
            (true, _) => plain_soft + 8 + 32,
            (false, Prot::None) => plain_soft,
            _ => unreachable!(),
        };
        assert_eq!(soft.data.len(), expect, "{prot:?} {dyn_server}");
        exchange(&mut pair, 3);
        assert_eq!(pair.a.received.len(), 3);
    }
}

/// `fragment 300` on both ends over a lossy link: payloads of every size up to 2000 bytes
/// arrive whole (reassembled from pieces of at most 300-byte datagrams) or not at all, never
/// corrupted; on a perfect link every one arrives. No datagram exceeds 300 bytes.
#[test]
fn fragment_splits_and_reassembles() {
    for loss in [0.0, 0.3] {
        let mut s = setup(Prot::TlsCrypt, false, loss, 38);
        s.client.fragment = Some(300);
        s.server.fragment = Some(300);
        // Packets up to 2000 bytes: a tunnel MTU that large.
        s.client.tun_mtu = 2000;
        s.server.tun_mtu = 2000;
        s.client.ping = Some(Duration::from_secs(10));
        s.server.ping = Some(Duration::from_secs(10));
        let (mut pair, _) = run(s);
        let start_trace = pair.trace.len();
        let now = pair.now();
        let sizes = [1usize, 100, 268, 269, 300, 1000, 1500, 2000];
        for (i, n) in sizes.iter().enumerate() {
            let p = vec![i as u8; *n];
            pair.a.send(now, &p).unwrap();
            pair.b.send(now, &p).unwrap();
        }
        pair.run_for(Duration::from_secs(25));
        for r in pair.a.received.iter().chain(&pair.b.received) {
            let i = usize::from(r[0]);
            assert_eq!(r.len(), sizes[i], "loss {loss}");
            assert!(r.iter().all(|b| *b == r[0]));
        }
        if loss == 0.0 {
            let got: Vec<usize> = pair.a.received.iter().map(Vec::len).collect();
            assert_eq!(
                pair.a.received.len(),
                sizes.len(),
                "{got:?} {:?}",
                pair.a.drops
            );
            assert_eq!(pair.b.received.len(), sizes.len());
            assert_eq!(
                (pair.a.pings, pair.b.pings),
                (2, 2),
                "pings carry the header too"
            );
        }
        let data: Vec<_> = pair.trace[start_trace..]
            .iter()
            .filter(|t| t.data[0] >> 3 == 9)
            .collect();
        assert!(data.iter().all(|t| t.data.len() <= 300));
        assert!(data.len() > 2 * sizes.len(), "big payloads went in pieces");
    }
}

/// Token of the first PUSH_REPLY the client got.
fn pushed_token(p: &Peer) -> Option<String> {
    p.events.iter().find_map(|(_, e)| match e {
        Event::Pushed(r) => r.auth_token.clone(),
        _ => None,
    })
}

/// `auth-gen-token 150`: every renegotiation (client reneg-sec 60) pushes a renewed token
/// that the client sends next time; at the renegotiation after the 150 s lifetime (~180 s)
/// the token is refused with AUTH_FAILED, and the password hook was asked only once.
#[test]
fn auth_token_renewed_on_renegotiation_and_refused_after_lifetime() {
    use std::sync::{Arc, Mutex};
    let calls: Arc<Mutex<u32>> = Arc::default();
    let c2 = calls.clone();
    let mut s = setup(Prot::TlsCrypt, false, 0.0, 41);
    s.server.auth_gen_token = true;
    s.server.auth_token_lifetime = Some(Duration::from_secs(150));
    s.client.reneg = Some(Duration::from_secs(60));
    let (mut pair, start) = run_with_hook(
        s,
        Box::new(move |r: &ovpn::AuthRequest<'_>| {
            *c2.lock().unwrap() += 1;
            r.username == "alice" && r.password == "secret"
        }),
    );
    let t0 = pushed_token(&pair.a).expect("token pushed");
    assert_eq!(pair.a.s.auth_token(), Some(t0.as_str()));
    let mut seen = vec![t0];
    for kid in [1u8, 2] {
        pair.run_until(Duration::from_secs(120), |a, b| {
            a.s.primary_key_id() == Some(kid) && b.s.primary_key_id() == Some(kid)
        });
        // The renewal rides on the new key right after its key method 2.
        pair.run_for(Duration::from_secs(1));
        let t = pair.a.s.auth_token().unwrap().to_string();
        assert!(!seen.contains(&t), "renewed at key id {kid}");
        assert_eq!(Some(t.as_str()), pair.b.s.auth_token());
        seen.push(t);
    }
    let since = pair
        .run_until(Duration::from_secs(120), |a, _| a.s.is_down())
        .expect("refused");
    assert!(pair
        .a
        .has_event(|e| matches!(e, Event::Down(DownReason::AuthFailed(_)))));
    let _ = start;
    assert!(
        since >= Duration::from_secs(180) && since < Duration::from_secs(181),
        "refused at the third renegotiation, {since:?}"
    );
    assert_eq!(
        *calls.lock().unwrap(),
        1,
        "only the first login asked the hook"
    );
}

/// Tokens signed with a server-wide key work across sessions (a reconnecting client sends
/// its token as the password; the hook is not asked), are bound to the username, and are
/// refused once not renewed for 2 x renewal-time.
#[test]
fn auth_token_across_sessions_and_unrenewed_expiry() {
    use ovpn::session::AuthTokenKey;
    let key = AuthTokenKey([7; 32]);
    let hook = |ok_pass: &'static str| -> AuthHook {
        Box::new(move |r: &ovpn::AuthRequest<'_>| r.username == "alice" && r.password == ok_pass)
    };
    let mk = |user: &str, pass: &str, server_clock_ahead: u64| {
        let mut s = setup(Prot::TlsAuth, false, 0.0, 42);
        s.client.credentials = Some((user.into(), pass.into()));
        s.server.auth_gen_token = true;
        s.server.auth_token_key = Some(key.clone());
        s.server.auth_token_renewal = Some(Duration::from_secs(30));
        s.server.unix_time += server_clock_ahead;
        s
    };
    let (pair, _) = run_with_hook(mk("alice", "secret", 0), hook("secret"));
    let token = pushed_token(&pair.a).unwrap();
    // Reconnect with the token: accepted without the hook (which would refuse it).
    let (pair, _) = run_with_hook(mk("alice", &token, 59), hook("secret"));
    assert!(pair.a.s.is_up());
    // Another user presenting alice's token: just a wrong password.
    for (user, ahead) in [("bob", 0), ("alice", 60)] {
        let s = mk(user, &token, ahead);
        let mut pair = perfect_pair(
            s,
            client_tls(None, true),
            server_tls(true),
            Some(hook("secret")),
        );
        pair.run_until(Duration::from_secs(30), |a, _| a.s.is_down());
        assert!(
            pair.a
                .has_event(|e| matches!(e, Event::Down(DownReason::AuthFailed(_)))),
            "{user} +{ahead}s: {:?}",
            pair.a.events
        );
    }
}

/// `auth-gen-token 0 20`: besides renegotiations, the server pushes a fresh token every
/// 20 s (virtual time: exactly 20 s after the first one was issued, plus the 10 ms link
/// delay).
#[test]
fn auth_token_periodic_renewal() {
    let mut s = setup(Prot::None, false, 0.0, 43);
    s.server.auth_gen_token = true;
    s.server.auth_token_renewal = Some(Duration::from_secs(20));
    let (mut pair, start) = run(s);
    let first = pair.a.s.auth_token().unwrap().to_string();
    // Issued when the server checked the credentials (the client's key method 2).
    let issued = pair
        .b
        .events
        .iter()
        .find(|(_, e)| matches!(e, Event::PeerHello { .. }))
        .map(|(t, _)| *t)
        .unwrap();
    let at = pair.run_until(Duration::from_secs(60), |a, _| {
        a.s.auth_token() != Some(first.as_str())
    });
    assert_eq!(
        at,
        Some(issued - start + Duration::from_secs(20) + Duration::from_millis(10))
    );
    assert!(pair.a.s.is_up() && pair.b.s.is_up());
}

/// A renegotiation that cannot finish within hand-window (the link is cut while it runs) is
/// abandoned at exactly start + hand-window: the session stays up on key id 0 (traffic
/// flows again once the link is back) and the next attempt, one reneg-sec later, succeeds.
#[test]
fn failed_renegotiation_keeps_the_old_key_and_retries() {
    let mut s = setup(Prot::TlsCrypt, false, 0.0, 44);
    s.client.reneg = Some(Duration::from_secs(30));
    s.client.hand_window = Duration::from_secs(10);
    s.server.hand_window = Duration::from_secs(10);
    for c in [&mut s.client, &mut s.server] {
        c.ping_restart = None;
    }
    let (mut pair, start) = run(s);
    let up = pair.a.up_at().unwrap();
    // Cut both ways just before the client starts renegotiating (at up + 30 s).
    pair.run_for(up + Duration::from_secs(29) - pair.now());
    pair.ab.set_cut(true);
    pair.ba.set_cut(true);
    pair.run_for(Duration::from_secs(15));
    let failed = pair
        .a
        .events
        .iter()
        .find(|(_, e)| matches!(e, Event::RenegotiationFailed { key_id: 1 }))
        .map(|(t, _)| *t)
        .expect("renegotiation abandoned");
    assert_eq!(failed, up + Duration::from_secs(40));
    assert!(pair.a.s.is_up() && pair.b.s.is_up());
    assert_eq!(pair.a.s.primary_key_id(), Some(0));
    pair.ab.set_cut(false);
    pair.ba.set_cut(false);
    let before = pair.b.received.len();
    let now = pair.now();
    pair.a.send(now, b"still on key 0").unwrap();
    pair.run_for(Duration::from_secs(1));
    assert_eq!(pair.b.received.len(), before + 1);
    // Retry at failure + reneg-sec.
    let at = pair
        .run_until(Duration::from_secs(60), |a, b| {
            a.s.primary_key_id() == Some(1) && b.s.primary_key_id() == Some(1)
        })
        .expect("second attempt succeeds");
    assert!(start + at >= failed + Duration::from_secs(30));
    assert!(start + at < failed + Duration::from_secs(31));
}
