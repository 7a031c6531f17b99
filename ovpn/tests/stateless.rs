#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The server's stateless handshake (OpenVPN 2.6 HMAC cookies): resets create no state,
//! only a packet echoing a valid cookie from the same address within the time window
//! creates a session; forged, foreign and expired cookies are dropped and counted; our
//! client connects through it at 30% loss with every control-channel protection.

mod common;

use std::time::{Duration, Instant};

use common::*;
use netsim::{Endpoint, LinkConfig, Pair};
use ovpn::protect::{ControlCrypto, ControlWrap, TlsAuth};
use ovpn::server::{Server, ServerInput, StatelessConfig};
use ovpn::session::{Role, Session, WrapConfig};
use ovpn::wire::{AckList, ControlPacket, Opcode};

const HAND_WINDOW: Duration = Duration::from_secs(60);

fn stateless_server(prot: Prot, start: Instant) -> Server<u32> {
    let (_, sw) = wraps(prot);
    let mut srv = Server::new(
        server_factory(
            sw.clone(),
            &["ifconfig 192.168.77.{ip} 255.255.255.0"],
            100,
            false,
        ),
        16,
    );
    let cfg = StatelessConfig {
        wrap: sw,
        hand_window: HAND_WINDOW,
        unix_time: wall_now(),
        rate_limit: None,
        tls_crypt_v2_verify: None,
    };
    srv.enable_stateless(start, cfg, &mut *rng(99)).unwrap();
    srv
}

fn client(prot: Prot, now: Instant, seed: u64) -> Session {
    let (cw, _) = wraps(prot);
    let mut c = config(Role::Client);
    c.wrap = cw;
    let mut s = Session::new(c, now, rng(seed), client_tls(None, false), None).unwrap();
    s.connect(now).unwrap();
    s
}

/// `p` tls-auth-wrapped as the client of `wraps(Prot::TlsAuth)` would send it.
fn seal_as_client(p: &ControlPacket<'_>) -> Vec<u8> {
    let (
        WrapConfig::TlsAuth {
            key,
            direction,
            digest,
        },
        _,
    ) = wraps(Prot::TlsAuth)
    else {
        unreachable!()
    };
    let mut cc = ControlCrypto::new(
        ControlWrap::Auth(TlsAuth::new(&key, direction, digest).unwrap()),
        5,
    );
    let mut plain = vec![0u8; p.buffer_len()];
    p.emit(&mut plain).unwrap();
    let mut out = vec![0u8; plain.len() + cc.overhead(false)];
    let n = cc.seal(&plain, 1_795_305_600, &mut out).unwrap();
    out.truncate(n);
    out
}

/// A HARD_RESET_CLIENT_V2 with session id `sid`, tls-auth-wrapped like a client's.
fn forged_reset(sid: [u8; 8]) -> Vec<u8> {
    seal_as_client(&ControlPacket {
        opcode: Opcode::ControlHardResetClientV2,
        key_id: 0,
        session_id: sid,
        acks: AckList::new(),
        remote_session_id: None,
        message_id: Some(0),
        payload: &[],
    })
}

/// 1000 valid (HMAC-correct) resets from 1000 addresses: every one answered with a
/// HARD_RESET_SERVER_V2 to its source, not one session created.
#[test]
fn reset_flood_creates_no_sessions() {
    let t0 = Instant::now();
    let mut srv = stateless_server(Prot::TlsAuth, t0);
    let mut out = vec![0u8; 2048];
    for a in 0..1000u32 {
        let mut sid = [0u8; 8];
        sid[..4].copy_from_slice(&a.to_be_bytes());
        sid[7] = 1;
        let r = srv.handle_input(t0, 10_000 + a, &forged_reset(sid), &mut out);
        assert_eq!(r, ServerInput::Handled);
        let (to, reply) = srv.poll_transmit(t0).expect("a stateless reply");
        assert_eq!(to, 10_000 + a);
        assert_eq!(reply[0] >> 3, 8, "HARD_RESET_SERVER_V2");
    }
    assert_eq!(srv.len(), 0);
    let st = srv.stateless_stats();
    assert_eq!((st.resets_answered, st.sessions_created), (1000, 0));
    assert_eq!(srv.poll_timeout(), None, "no timers: no state");
}

/// The client's third packet must come from the address the cookie was issued to, within
/// 60-90 s, and carry the cookie; anything else is dropped and counted, and only the
/// genuine packet creates the session, which then completes the handshake.
#[test]
fn forged_foreign_and_expired_cookies_are_dropped() {
    let t0 = Instant::now();
    let mut srv = stateless_server(Prot::TlsAuth, t0);
    let mut c = client(Prot::TlsAuth, t0, 1);
    let mut out = vec![0u8; 4096];
    let reset = c.poll_transmit(t0).unwrap();
    assert_eq!(
        srv.handle_input(t0, 7, &reset, &mut out),
        ServerInput::Handled
    );
    let (_, reply) = srv.poll_transmit(t0).unwrap();
    assert_eq!(srv.len(), 0);
    c.handle_input(t0, &reply, &mut out);
    let third = c.poll_transmit(t0).unwrap();
    assert_eq!(
        third[0] >> 3,
        4,
        "P_CONTROL_V1 (ClientHello) acking the reset"
    );
    // Same packet from another address: the cookie does not match.
    assert!(matches!(
        srv.handle_input(t0, 8, &third, &mut out),
        ServerInput::Dropped(_)
    ));
    // Replayed 90 s later: the cookie's time slots are over.
    assert!(matches!(
        srv.handle_input(t0 + Duration::from_secs(90), 7, &third, &mut out),
        ServerInput::Dropped(_)
    ));
    // A forged cookie (a correctly wrapped ACK with a made-up server session id).
    let forged = seal_as_client(&ControlPacket {
        opcode: Opcode::AckV1,
        key_id: 0,
        session_id: c.local_session_id(),
        acks: [0u32].iter().collect::<AckList>(),
        remote_session_id: Some([0x42; 8]),
        message_id: None,
        payload: &[],
    });
    assert!(matches!(
        srv.handle_input(t0, 7, &forged, &mut out),
        ServerInput::Dropped(_)
    ));
    let st = srv.stateless_stats();
    assert_eq!((st.cookies_rejected, st.sessions_created), (3, 0));
    assert_eq!(srv.len(), 0);
    // The genuine packet, 59 s later (still valid), creates the session.
    let t1 = t0 + Duration::from_secs(59);
    assert_eq!(
        srv.handle_input(t1, 7, &third, &mut out),
        ServerInput::Handled
    );
    assert_eq!((srv.len(), srv.stateless_stats().sessions_created), (1, 1));
    let s = srv.session(0).unwrap();
    assert_eq!(s.remote_session_id(), Some(c.local_session_id()));
    // The handshake continues on the created session.
    for _ in 0..50 {
        let mut moved = false;
        while let Some(p) = c.poll_transmit(t1) {
            moved = true;
            srv.handle_input(t1, 7, &p, &mut out);
        }
        while let Some((_, p)) = srv.poll_transmit(t1) {
            moved = true;
            c.handle_input(t1, &p, &mut out);
        }
        if !moved {
            break;
        }
    }
    assert!(c.is_up() && srv.session(0).unwrap().is_up());
}

/// tls-crypt-v2 clients that do not announce early negotiation cannot resend their WKc:
/// the server keeps state from their first packet, as OpenVPN 2.6 does.
#[test]
fn tls_crypt_v2_without_early_negotiation_is_stateful() {
    let t0 = Instant::now();
    let mut srv = stateless_server(Prot::TlsCryptV2, t0);
    let (cw, _) = wraps(Prot::TlsCryptV2);
    let mut cfg = config(Role::Client);
    cfg.wrap = cw;
    cfg.early_negotiation = false;
    let mut c = Session::new(cfg, t0, rng(5), client_tls(None, false), None).unwrap();
    c.connect(t0).unwrap();
    let reset = c.poll_transmit(t0).unwrap();
    let mut out = vec![0u8; 4096];
    assert_eq!(
        srv.handle_input(t0, 3, &reset, &mut out),
        ServerInput::Handled
    );
    assert_eq!(srv.len(), 1);
    assert_eq!(srv.stateless_stats().resets_answered, 0);
}

/// The server as a netsim endpoint; the client is address 1.
struct Srv {
    s: Server<u32>,
}

impl Endpoint for Srv {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut out = vec![0u8; data.len().max(2048)];
        self.s.handle_input(now, 1, data, &mut out);
        while self.s.poll_event().is_some() {}
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let p = self.s.poll_transmit(now).map(|(_, p)| p);
        while self.s.poll_event().is_some() {}
        p
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.s.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
    }
}

/// Our client through the stateless server at 30% loss (+ duplication, reordering), every
/// protection mode and three seeds: always up, with exactly one session.
#[test]
fn client_connects_through_stateless_server_at_30_percent_loss() {
    for prot in [Prot::None, Prot::TlsAuth, Prot::TlsCrypt, Prot::TlsCryptV2] {
        for seed in [1u64, 2, 3] {
            let t0 = Instant::now();
            let srv = stateless_server(prot, t0);
            let c = client(prot, t0, seed);
            let mut pair = Pair::with_start(
                Peer::new(c, false),
                Srv { s: srv },
                LinkConfig::lossy(0.3),
                LinkConfig::lossy(0.3),
                seed,
                t0,
            );
            pair.run_until(Duration::from_secs(120), |a, b| {
                a.s.is_up() && b.s.session(0).is_some_and(|s| s.is_up())
            });
            assert!(
                pair.a.s.is_up(),
                "{prot:?} seed {seed}: client not up: {:?}",
                pair.a.events
            );
            let st = pair.b.s.stateless_stats();
            assert_eq!(pair.b.s.len(), 1, "{prot:?} seed {seed}");
            assert_eq!(st.sessions_created, 1, "{prot:?} seed {seed}");
            assert!(st.resets_answered >= 1);
            // Data flows both ways.
            let now = pair.now();
            pair.a.send(now, b"through the cookie").unwrap();
            pair.run_for(Duration::from_secs(1));
            let mut out = vec![0u8; 256];
            let (to, n) = pair.b.s.send_data(now, 0, b"back", &mut out).unwrap();
            assert_eq!(to, 1);
            let mut plain = vec![0u8; n];
            let _ = pair.a.s.handle_input(now, &out[..n], &mut plain);
            assert_eq!(&plain[..4], b"back");
        }
    }
}

/// Stateless replies go through token buckets per source prefix (5 at once, 2/s) and a
/// global one (here 200 at once, 100/s): one source flooding 1000 resets per second gets 7
/// answers in its first second while another source is still answered at once; a flood
/// spread over 300 addresses gets the global 200; everything else is dropped and counted.
#[test]
fn stateless_replies_are_rate_limited_per_source_and_globally() {
    let t0 = Instant::now();
    let mut srv = stateless_server(Prot::TlsAuth, t0);
    let (_, sw) = wraps(Prot::TlsAuth);
    let cfg = StatelessConfig {
        wrap: sw,
        hand_window: HAND_WINDOW,
        unix_time: wall_now(),
        rate_limit: Some(ovpn::RateLimit {
            global_rate: 100,
            global_burst: 200,
            ..ovpn::RateLimit::default()
        }),
        tls_crypt_v2_verify: None,
    };
    srv.enable_stateless(t0, cfg, &mut *rng(98)).unwrap();
    let mut out = vec![0u8; 2048];
    let mut reset = |srv: &mut Server<u32>, now: Instant, from: u32, n: u32| {
        let mut sid = [1u8; 8];
        sid[4..].copy_from_slice(&n.to_be_bytes());
        let r = srv.handle_input(now, from, &forged_reset(sid), &mut out);
        let sent = std::iter::from_fn(|| srv.poll_transmit(now)).count();
        (r, sent)
    };
    let mut flooder = 0;
    for ms in 0..=1000u32 {
        let now = t0 + Duration::from_millis(u64::from(ms));
        flooder += reset(&mut srv, now, 7, ms).1;
    }
    assert_eq!(flooder, 7);
    let t1 = t0 + Duration::from_millis(1000);
    assert_eq!(reset(&mut srv, t1, 8, 1).1, 1, "another source is answered");
    assert_eq!(
        reset(&mut srv, t1, 7, 5000).0,
        ServerInput::Dropped(ovpn::DropReason::RateLimited)
    );
    let t2 = t0 + Duration::from_secs(3);
    let spread: usize = (1000..1300u32).map(|a| reset(&mut srv, t2, a, a).1).sum();
    assert_eq!(spread, 200);
    let st = srv.stateless_stats();
    assert_eq!(st.resets_answered, 7 + 1 + 200);
    assert_eq!(st.rate_limited, 1001 - 7 + 1 + 100);
    assert_eq!(srv.len(), 0);
}

/// A factory that reads nothing but what it captured: its config's `unix_time` was taken
/// when the server started (as a caller naturally writes it). The server's own wall clock
/// is what its sessions must use, or:
/// * over UDP, the session's first control packet carries a net time behind the stateless
///   reply's (here 30 s behind), and the client drops it as a replay (OpenVPN 2.6 does;
///   every OpenVPN client failed against our server that way);
/// * without a wall clock in the factory at all (0), certificates cannot be checked.
///
/// The server gives each session it creates its clock ([`Server::set_unix_time`], also set
/// by [`StatelessConfig::unix_time`]).
#[test]
fn sessions_take_the_server_wall_clock() {
    let captured = wall_now();
    for (stateless, factory_clock) in [(true, captured), (false, 0)] {
        let t0 = Instant::now();
        let (cw, sw) = wraps(Prot::TlsAuth);
        let wrap = sw.clone();
        let mut srv: Server<u32> = Server::new(
            Box::new(move |peer_id, now| {
                let mut c = config(Role::Server);
                c.unix_time = factory_clock;
                c.wrap = wrap.clone();
                c.peer_id = Some(peer_id);
                Session::new(c, now, rng(40), server_tls(false), None)
            }),
            4,
        );
        if stateless {
            let cfg = StatelessConfig {
                wrap: sw,
                hand_window: HAND_WINDOW,
                unix_time: captured,
                rate_limit: None,
                tls_crypt_v2_verify: None,
            };
            srv.enable_stateless(t0, cfg, &mut *rng(41)).unwrap();
        } else {
            srv.set_unix_time(t0, captured);
        }
        // The first client comes 30 s after the server started.
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(srv.unix_time(t1), Some(captured + 30));
        let mut cc = config(Role::Client);
        cc.wrap = cw;
        cc.unix_time = captured + 30;
        let mut c = Session::new(cc, t1, rng(42), client_tls(None, false), None).unwrap();
        c.connect(t1).unwrap();
        let mut pair = Pair::with_start(
            Peer::new(c, false),
            Srv { s: srv },
            LinkConfig::default(),
            LinkConfig::default(),
            7,
            t1,
        );
        pair.run_until(Duration::from_secs(10), |a, b| {
            a.s.is_up() && b.s.session(0).is_some_and(|s| s.is_up())
        });
        assert!(
            pair.a.s.is_up() && pair.b.s.session(0).is_some_and(|s| s.is_up()),
            "stateless={stateless}: {:?}",
            pair.a.events
        );
        assert_eq!(
            pair.b.s.stateless_stats().sessions_created,
            u64::from(stateless)
        );
    }
}
