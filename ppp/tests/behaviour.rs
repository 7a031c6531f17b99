//! Checkable behaviours of the spec (section 3) and the interop quirks, end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::*;
use netsim::{LinkConfig, Pair};
use ppp::aaa::{Aaa, AddressSpec, IpPool, Profile, Secret};
use ppp::wire::cp::{CpPacket, LcpOption};
use ppp::{AuthMethod, AuthSet, Event, Role, Service, Status, TerminateReason, UsePeerDns};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A client and a server, both opened, over a perfect link (nothing run yet). `setup` may
/// change the nodes before they open.
fn open_pair(
    c: ppp::Config,
    s: ppp::Config,
    seeds: (u64, u64),
    setup: impl FnOnce(&mut Node, &mut Node),
) -> Pair<Node, Node> {
    let start = Instant::now();
    let mut a = Node::new(c, Role::Client, start, seeds.0);
    let mut b = Node::new(s, Role::Server, start, seeds.1);
    setup(&mut a, &mut b);
    a.s.open(start);
    b.s.open(start);
    Pair::with_start(a, b, LinkConfig::perfect(), LinkConfig::perfect(), 5, start)
}

/// [`open_pair`] with alice/secret known to the server, run until both are up or both ended.
fn run(
    c: ppp::Config,
    s: ppp::Config,
    setup: impl FnOnce(&mut Node, &mut Node),
) -> Pair<Node, Node> {
    let mut p = open_pair(c, s, (11, 12), |a, b| {
        b.users.push(("alice".into(), "secret".into()));
        setup(a, b)
    });
    p.run_until(Duration::from_secs(60), |a, b| {
        (a.network_up() && b.network_up()) || (a.terminated() && b.terminated())
    });
    p
}

fn auth_of(n: &Node) -> Option<AuthMethod> {
    n.events.iter().find_map(|(_, e)| match e {
        Event::LinkUp { auth, .. } => *auth,
        _ => None,
    })
}

#[test]
fn client_naks_towards_its_allow_set() {
    let mut c = client_cfg("alice", "secret");
    c.allow = AuthSet::of(&[AuthMethod::Pap]);
    let mut s = server_cfg();
    s.authentication = AuthSet::ALL; // proposes mschap2 first
    let p = run(c, s, |_, _| {});
    assert!(p.a.network_up());
    assert_eq!(auth_of(&p.a), Some(AuthMethod::Pap));
    assert_eq!(auth_of(&p.b), Some(AuthMethod::Pap));
}

#[test]
fn empty_intersection_fails_lcp() {
    // L2TP server default mschap1,mschap2 vs a PAP-only client (S0 L83).
    let mut c = client_cfg("alice", "secret");
    c.allow = AuthSet::of(&[AuthMethod::Pap]);
    let p = run(c, server_cfg(), |_, _| {});
    assert!(!p.a.network_up());
    assert!(p.b.has(|e| matches!(
        e,
        Event::Terminated {
            reason: TerminateReason::NoCommonAuth,
            ..
        }
    )));
    let mut c = client_cfg("alice", "secret");
    c.allow = AuthSet::of(&[AuthMethod::Chap]);
    let p = run(c, server_cfg(), |_, _| {});
    assert!(!p.a.network_up() && !p.b.network_up());
}

#[test]
fn pppoe_server_default_accepts_every_method() {
    for m in [
        AuthMethod::Pap,
        AuthMethod::Chap,
        AuthMethod::MsChap1,
        AuthMethod::MsChap2,
    ] {
        let mut c = client_cfg("alice", "secret");
        c.allow = AuthSet::of(&[m]);
        c.address_control = false;
        let mut s = ppp::Config::pppoe_server();
        s.remote_address = Some("10.0.0.9".parse().unwrap());
        s.local_address = Some("10.0.0.1".parse().unwrap());
        let p = run(c, s, |_, _| {});
        assert!(p.a.network_up(), "{m:?}");
        assert_eq!(auth_of(&p.a), Some(m));
        // PPPoE framing: no FF 03 on the wire.
        assert!(p.trace.iter().all(|e| e.data[..2] != [0xff, 0x03]));
    }
}

#[test]
fn status_walk_and_mtu_reporting() {
    let mut c = client_cfg("alice", "secret");
    c.max_mru = 1400;
    let mut s = server_cfg();
    s.max_mtu = 1300;
    let mut p = run(c, s, |_, _| {});
    let statuses: Vec<&str> =
        p.a.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Status(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
    assert_eq!(statuses, ["dialing", "verifying password...", "connected"]);
    assert_eq!(p.a.s.mru(), 1400);
    assert_eq!(p.a.s.mtu(), 1450); // server MRU 1450, client max-mtu 1450
    assert_eq!(p.b.s.mtu(), 1300); // client MRU 1400 capped by server max-mtu 1300
    assert!(p.a.has(|e| matches!(
        e,
        Event::LinkUp {
            mru: 1400,
            mtu: 1450,
            ..
        }
    )));
    let now = p.now();
    p.a.s.close(now, "bye");
    p.a.drain(now);
    p.run_until(Duration::from_secs(10), |a, b| {
        a.terminated() && b.terminated()
    })
    .unwrap();
    assert_eq!(p.a.s.status(), Status::Terminated);
    assert!(p
        .b
        .has(|e| matches!(e, Event::Terminated { by_peer: true, .. })));
    assert!(p.a.has(|e| matches!(
        e,
        Event::Terminated {
            reason: TerminateReason::AdminClose(_),
            by_peer: false,
            ..
        }
    )));
}

#[test]
fn use_peer_dns_requests_options_129_131() {
    for (dns, want) in [(UsePeerDns::Yes, true), (UsePeerDns::No, false)] {
        let mut c = client_cfg("alice", "secret");
        c.use_peer_dns = dns;
        let p = run(c, server_cfg(), |_, _| {});
        let asked = p.trace.iter().any(|e| {
            e.dir == netsim::Dir::AtoB
                && e.data[2..4] == [0x80, 0x21]
                && e.data[4] == 1
                && e.data.windows(2).any(|w| w == [129, 6])
        });
        assert_eq!(asked, want);
        let info = p.a.s.ipv4().unwrap();
        assert_eq!(info.dns.is_empty(), !want);
    }
}

#[test]
fn ipv6cp_comes_up_with_event() {
    let mut c = client_cfg("alice", "secret");
    c.ipv6 = true;
    let mut s = server_cfg();
    s.ipv6 = true;
    let mut p = run(c, s, |_, _| {});
    p.run_until(Duration::from_secs(10), |a, b| {
        a.has(|e| matches!(e, Event::Ipv6Up { .. })) && b.has(|e| matches!(e, Event::Ipv6Up { .. }))
    })
    .unwrap();
    let (
        _,
        Event::Ipv6Up {
            local_interface_id: l,
            remote_interface_id: r,
        },
    ) = p.a.first(|e| matches!(e, Event::Ipv6Up { .. })).unwrap()
    else {
        panic!()
    };
    assert_ne!(l, r);
    assert_ne!(l, [0; 8]);
}

#[test]
fn ipv6cp_protocol_rejected_when_disabled() {
    let mut s = server_cfg();
    s.ipv6 = true; // the client has IPv6 off: it Protocol-Rejects IPv6CP, IPv4 still comes up
    let p = run(client_cfg("alice", "secret"), s, |_, _| {});
    assert!(p.a.network_up() && p.b.network_up());
    assert!(p
        .b
        .has(|e| matches!(e, Event::ProtocolRejected { protocol: 0x8057 })));
    assert_eq!(p.a.s.counters().protocol_rejects_sent, 1);
}

#[test]
fn mschapv2_client_drops_on_wrong_authenticator_response() {
    let mut s = server_cfg();
    s.authentication = AuthSet::of(&[AuthMethod::MsChap2]);
    let mut p = open_pair(client_cfg("alice", "secret"), s, (1, 2), |_, b| {
        b.manual_auth = true
    });
    // The "server" accepts but sends a bogus authenticator response (a RADIUS-style Accept).
    p.run_until(Duration::from_secs(10), |_, b| {
        b.has(|e| matches!(e, Event::AuthRequested(_)))
    })
    .unwrap();
    let req = p.b.auth_requests().remove(0);
    let now = p.now();
    p.b.s
        .auth_verdict(
            now,
            req.id,
            ppp::Verdict::Accept {
                attributes: Default::default(),
                authenticator_response: Some([7; 20]),
                keys: None,
            },
        )
        .unwrap();
    p.b.drain(now);
    p.run_until(Duration::from_secs(20), |a, _| a.terminated())
        .unwrap();
    assert!(p.a.has(|e| matches!(
        e,
        Event::Terminated {
            reason: TerminateReason::BadAuthenticatorResponse,
            ..
        }
    )));
    assert!(!p.a.network_up());
}

#[test]
fn mschapv2_retry_with_r1() {
    let mut s = server_cfg();
    s.authentication = AuthSet::of(&[AuthMethod::MsChap2]);
    s.auth_attempts = 2;
    let mut c = client_cfg("alice", "secret");
    c.timers.max_configure = 3;
    // First verdict rejects, second accepts: the client answers the C= challenge with id+1.
    let mut p = open_pair(c, s, (1, 2), |_, b| b.manual_auth = true);
    p.run_until(Duration::from_secs(10), |_, b| {
        b.has(|e| matches!(e, Event::AuthRequested(_)))
    })
    .unwrap();
    let first = p.b.auth_requests().remove(0);
    let now = p.now();
    p.b.s
        .auth_verdict(
            now,
            first.id,
            ppp::Verdict::Reject {
                message: "try again".into(),
            },
        )
        .unwrap();
    p.b.drain(now);
    p.b.users.push(("alice".into(), "secret".into()));
    p.b.manual_auth = false;
    p.run_until(Duration::from_secs(20), |a, b| {
        a.network_up() && b.network_up()
    })
    .unwrap();
    assert!(p
        .a
        .has(|e| matches!(e, Event::AuthFailed { retrying: true, .. })));
    assert!(p
        .b
        .has(|e| matches!(e, Event::AuthFailed { retrying: true, .. })));
    assert_eq!(p.b.auth_requests().len(), 2);
}

#[test]
fn mschapv2_r0_ends_session() {
    let mut s = server_cfg();
    s.authentication = AuthSet::of(&[AuthMethod::MsChap2]);
    let p = run(client_cfg("alice", "wrong"), s, |_, _| {});
    assert!(p.a.has(|e| matches!(
        e,
        Event::AuthFailed {
            retrying: false,
            ..
        }
    )));
    assert!(p.a.terminated() && p.b.terminated());
}

#[test]
fn credential_store_with_pool_and_exhaustion() {
    let mut aaa = Aaa::new();
    aaa.pools
        .push(IpPool::new("vpn", "10.0.0.2-10.0.0.2").unwrap());
    let mut prof = Profile::named("vpn");
    prof.local_address = Some(AddressSpec::Address("10.0.0.1".parse().unwrap()));
    prof.remote_address = Some(AddressSpec::Pool("vpn".into()));
    prof.dns = vec!["9.9.9.9".parse().unwrap()];
    aaa.profiles.push(prof);
    let mut sec = Secret::new("alice", "secret");
    sec.profile = "vpn".into();
    sec.service = Service::L2tp;
    aaa.secrets.push(sec);
    let mut s2 = Secret::new("bob", "secret");
    s2.profile = "vpn".into();
    aaa.secrets.push(s2);
    let store = Arc::new(Mutex::new(aaa));
    let mut s = ppp::Config::l2tp_server();
    s.authentication = AuthSet::ALL;
    let mut c = client_cfg("alice", "secret");
    c.use_peer_dns = UsePeerDns::Yes;
    let st = store.clone();
    let mut p = run(c, s.clone(), move |_, b| {
        b.s.set_credential_store(Box::new(st))
    });
    assert!(p.a.network_up());
    let info = p.a.s.ipv4().unwrap();
    assert_eq!(info.local.to_string(), "10.0.0.2");
    assert_eq!(info.remote.to_string(), "10.0.0.1");
    assert_eq!(
        info.dns,
        vec!["9.9.9.9".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    assert!(
        !p.b.has(|e| matches!(e, Event::AuthRequested(_))),
        "answered by the store"
    );
    // A second user finds the pool exhausted: a clean authentication failure.
    let st = store.clone();
    let q = run(client_cfg("bob", "secret"), s.clone(), move |_, b| {
        b.s.set_credential_store(Box::new(st))
    });
    assert!(!q.a.network_up());
    assert!(q
        .b
        .has(|e| matches!(e, Event::AuthFailed { message, .. } if message.contains("exhausted"))));
    // Ending alice's session releases the address.
    let now = p.now();
    p.a.s.close(now, "done");
    p.a.drain(now);
    p.run_until(Duration::from_secs(10), |a, b| {
        a.terminated() && b.terminated()
    })
    .unwrap();
    assert_eq!(store.lock().unwrap().pools[0].used(), 0);
    let st = store.clone();
    let r = run(client_cfg("bob", "secret"), s, move |_, b| {
        b.s.set_credential_store(Box::new(st))
    });
    assert!(r.a.network_up());
}

#[test]
fn server_restarts_lcp_on_auth_failure_when_configured() {
    let mut s = server_cfg();
    s.authentication = AuthSet::of(&[AuthMethod::Pap]);
    s.restart_lcp_on_failure = true;
    let mut c = client_cfg("alice", "bad");
    c.allow = AuthSet::of(&[AuthMethod::Pap]);
    let mut p = open_pair(c, s, (1, 2), |_, b| {
        b.users.push(("alice".into(), "secret".into()))
    });
    p.run_until(Duration::from_secs(10), |_, b| {
        b.has(|e| matches!(e, Event::AuthFailed { .. }))
    })
    .unwrap();
    p.run_for(Duration::from_millis(100));
    // The server did not end: it went back to Establish (a Phase(Establish) event *after* the
    // AuthFailed, not the one of the first negotiation) and sent a new LCP Configure-Request.
    assert!(!p.b.terminated());
    let failed_at =
        p.b.events
            .iter()
            .position(|(_, e)| matches!(e, Event::AuthFailed { .. }))
            .unwrap();
    assert!(
        p.b.events[failed_at..]
            .iter()
            .any(|(_, e)| matches!(e, Event::Phase(ppp::Phase::Establish))),
        "{:?}",
        &p.b.events[failed_at..]
    );
    assert!(p.b.s.cp_counters()[0].requests_sent >= 2);
    let lcp_reqs = p
        .trace
        .iter()
        .filter(|e| e.dir == netsim::Dir::BtoA && e.data[2..5] == [0xc0, 0x21, 1])
        .count();
    assert!(lcp_reqs >= 2);
}

/// Drive a lone session by hand with crafted frames.
fn lone(role: Role, cfg: ppp::Config) -> (ppp::Session, Instant) {
    use rand_chacha::rand_core::SeedableRng;
    let now = Instant::now();
    let mut s =
        ppp::Session::new(cfg, role, now, rand_chacha::ChaCha8Rng::seed_from_u64(9)).unwrap();
    s.open(now);
    (s, now)
}

fn lcp(code: u8, id: u8, opts: &[LcpOption]) -> Vec<u8> {
    let mut d = Vec::new();
    for o in opts {
        o.emit(&mut d);
    }
    let mut f = vec![0xff, 0x03, 0xc0, 0x21];
    f.extend(
        CpPacket {
            code,
            identifier: id,
            data: &d,
        }
        .to_vec(),
    );
    f
}

fn sent(s: &mut ppp::Session, now: Instant) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| s.poll_transmit(now)).collect()
}

#[test]
fn windows_first_lcp_request_5_7_8_13() {
    let (mut s, now) = lone(Role::Server, server_cfg());
    sent(&mut s, now);
    let req = lcp(
        1,
        0,
        &[
            LcpOption::MagicNumber(0x1234_5678),
            LcpOption::Pfc,
            LcpOption::Acfc,
            LcpOption::Unknown {
                kind: 13,
                value: vec![6],
            },
        ],
    );
    s.handle_frame(now, &req).unwrap();
    let out = sent(&mut s, now);
    // Callback (13) is rejected, nothing else.
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0][4..], &[4, 0, 0, 7, 13, 3, 6]);
    // The peer drops 13 and we ack.
    let req2 = lcp(
        1,
        1,
        &[
            LcpOption::MagicNumber(0x1234_5678),
            LcpOption::Pfc,
            LcpOption::Acfc,
        ],
    );
    s.handle_frame(now, &req2).unwrap();
    let out = sent(&mut s, now);
    assert_eq!(out[0][4], 2);
    assert_eq!(&out[0][8..], &req2[8..]);
}

#[test]
fn peer_rejecting_magic_number() {
    let (mut s, now) = lone(Role::Client, client_cfg("alice", "secret"));
    let first = sent(&mut s, now).remove(0);
    let p = CpPacket::parse(&first[4..]).unwrap();
    // Reject the Magic-Number option (type 5).
    let rej = lcp(
        4,
        p.identifier,
        &[LcpOption::MagicNumber(u32::from_be_bytes(
            first[first.len() - 4..].try_into().unwrap(),
        ))],
    );
    s.handle_frame(now, &rej).unwrap();
    let again = sent(&mut s, now).remove(0);
    assert!(
        !again[8..].windows(2).any(|w| w == [5, 6]),
        "magic no longer requested"
    );
    let p2 = CpPacket::parse(&again[4..]).unwrap();
    s.handle_frame(now, &lcp(2, p2.identifier, &[LcpOption::Mru(1450)]))
        .unwrap();
    s.handle_frame(now, &lcp(1, 1, &[])).unwrap();
    assert_eq!(s.lcp_state(), ppp::fsm::State::Opened);
    assert_eq!(s.lcp_negotiated().magic, 0);
    // Echo-Request from the peer is answered with magic 0.
    let mut echo = vec![0xff, 0x03, 0xc0, 0x21];
    echo.extend(
        CpPacket {
            code: 9,
            identifier: 5,
            data: &[0, 0, 0, 0, 1, 2],
        }
        .to_vec(),
    );
    s.handle_frame(now, &echo).unwrap();
    let rep: Vec<Vec<u8>> = sent(&mut s, now)
        .into_iter()
        .filter(|f| f[4] == 10)
        .collect();
    assert_eq!(&rep[0][4..], &[10, 5, 0, 10, 0, 0, 0, 0, 1, 2]);
}

#[test]
fn malformed_input_is_counted_and_session_continues() {
    let (mut s, now) = lone(Role::Client, client_cfg("alice", "secret"));
    sent(&mut s, now);
    let bad: [&[u8]; 7] = [
        &[],
        &[0xff],
        &[0xff, 0x03, 0xc0],
        &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 200],
        &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 6, 1, 9],
        &[0x02, 0x02, 0, 0],
        &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 3],
    ];
    for b in bad {
        let _ = s.handle_frame(now, b);
    }
    assert!(s.counters().malformed >= 3);
    let c = s.cp_counters()[0];
    assert!(c.malformed >= 3, "{c:?}");
    // Still negotiating normally.
    assert_eq!(s.lcp_state(), ppp::fsm::State::ReqSent);
    s.handle_timeout(now + Duration::from_secs(3));
    assert_eq!(sent(&mut s, now).len(), 1);
}

#[test]
fn unknown_code_is_code_rejected_and_unknown_protocol_protocol_rejected() {
    let (mut s, now) = lone(Role::Client, client_cfg("alice", "secret"));
    let first = sent(&mut s, now).remove(0);
    let id = CpPacket::parse(&first[4..]).unwrap().identifier;
    s.handle_frame(now, &lcp(2, id, &[])).ok();
    // Our ack must echo our exact request to count.
    let mut ack = first.clone();
    ack[4] = 2;
    s.handle_frame(now, &ack).unwrap();
    s.handle_frame(now, &lcp(1, 1, &[])).unwrap();
    assert_eq!(s.lcp_state(), ppp::fsm::State::Opened);
    sent(&mut s, now);
    let mut f = vec![0xff, 0x03, 0xc0, 0x21];
    f.extend(
        CpPacket {
            code: 99,
            identifier: 3,
            data: &[1, 2, 3],
        }
        .to_vec(),
    );
    s.handle_frame(now, &f).unwrap();
    let out = sent(&mut s, now);
    assert_eq!(out[0][4], 7);
    assert_eq!(&out[0][8..], &f[4..]);
    // CCP (not enabled yet) gets a Protocol-Reject carrying the rejected packet.
    let ccp = [0xff, 0x03, 0x80, 0xfd, 1, 1, 0, 4];
    s.handle_frame(now, &ccp).unwrap();
    let out = sent(&mut s, now);
    assert_eq!(&out[0][4..5], &[8]);
    assert_eq!(&out[0][8..], &[0x80, 0xfd, 1, 1, 0, 4]);
}

#[test]
fn loopback_is_detected() {
    let (mut s, now) = lone(Role::Client, client_cfg("alice", "secret"));
    // Feed our own requests back to us (a looped-back line).
    let mut t = now;
    for _ in 0..20 {
        for f in sent(&mut s, t) {
            if f[4] == 1 {
                s.handle_frame(t, &f).unwrap();
            }
        }
        t += Duration::from_secs(3);
        s.handle_timeout(t);
    }
    let evs: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(
        evs.iter().any(|e| matches!(
            e,
            Event::Terminated {
                reason: TerminateReason::LoopbackDetected,
                ..
            }
        )),
        "{evs:?}"
    );
}

#[test]
fn proxy_lcp_and_proxy_chap_for_lns() {
    use ppp::{ProxyAuth, ProxyAuthType, ProxyLcp};
    let mut cfg = server_cfg();
    cfg.authentication = AuthSet::of(&[AuthMethod::Chap]);
    let now = Instant::now();
    use rand_chacha::rand_core::SeedableRng;
    let mut s = ppp::Session::new(
        cfg,
        Role::Server,
        now,
        rand_chacha::ChaCha8Rng::seed_from_u64(3),
    )
    .unwrap();
    let mut sent_opts = Vec::new();
    for o in [
        LcpOption::AuthProtocol {
            protocol: 0xc223,
            data: vec![5],
        },
        LcpOption::MagicNumber(0x11111111),
    ] {
        o.emit(&mut sent_opts);
    }
    let mut recv_opts = Vec::new();
    for o in [LcpOption::Mru(1400), LcpOption::MagicNumber(0x22222222)] {
        o.emit(&mut recv_opts);
    }
    let challenge = vec![9u8; 16];
    let response = ppp::mschap::chap_md5_response(7, b"secret", &challenge).to_vec();
    s.start_proxy(
        now,
        ProxyLcp {
            initial_received: None,
            last_sent: sent_opts,
            last_received: recv_opts,
            auth: Some(ProxyAuth {
                kind: ProxyAuthType::Chap,
                name: "alice".into(),
                challenge,
                id: 7,
                response,
            }),
        },
    );
    assert_eq!(s.lcp_state(), ppp::fsm::State::Opened);
    assert_eq!(s.mtu(), 1400);
    let req = std::iter::from_fn(|| s.poll_event())
        .find_map(|e| {
            if let Event::AuthRequested(r) = e {
                Some(r)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(req.user, "alice");
    s.auth_verdict(
        now,
        req.id,
        ppp::Verdict::Password {
            password: "secret".into(),
            attributes: Default::default(),
        },
    )
    .unwrap();
    let out = sent(&mut s, now);
    // CHAP Success with the proxied identifier, then our IPCP Configure-Request.
    assert_eq!(&out[0][2..6], &[0xc2, 0x23, 3, 7]);
    assert_eq!(&out[1][2..5], &[0x80, 0x21, 1]);
    assert!(std::iter::from_fn(|| s.poll_event()).any(|e| matches!(e, Event::AuthSucceeded { .. })));
    // Unacceptable proxied options (MRRU: multilink not supported) renegotiate LCP instead.
    let mut s2 = ppp::Session::new(
        server_cfg(),
        Role::Server,
        now,
        rand_chacha::ChaCha8Rng::seed_from_u64(4),
    )
    .unwrap();
    let mut bad = Vec::new();
    LcpOption::Mrru(1614).emit(&mut bad);
    s2.start_proxy(
        now,
        ProxyLcp {
            last_sent: vec![],
            last_received: bad,
            ..Default::default()
        },
    );
    assert_eq!(s2.lcp_state(), ppp::fsm::State::ReqSent);
}

#[test]
fn close_does_not_wait_for_ncp_terminate_ack() {
    // accel-ppp issue 359: a peer that never Terminate-Acks an NCP (it is busy with CCP). We
    // end the session through LCP alone: two Terminate-Requests 3 s apart, done at +6 s even if
    // the peer stays silent.
    let mut p = run(client_cfg("alice", "secret"), server_cfg(), |_, _| {});
    assert!(p.a.network_up());
    p.run_for(Duration::from_secs(1));
    p.set_cut(true);
    let t0 = p.now();
    p.a.s.close(t0, "bye");
    p.a.drain(t0);
    p.run_until(Duration::from_secs(30), |a, _| a.terminated())
        .unwrap();
    let (t, _) =
        p.a.first(|e| matches!(e, Event::Terminated { .. }))
            .unwrap();
    assert_eq!(t - t0, Duration::from_secs(6));
    let treqs: Vec<Duration> = p
        .trace
        .iter()
        .filter(|e| e.dir == netsim::Dir::AtoB && e.data[2..5] == [0xc0, 0x21, 5])
        .map(|e| p.start() + e.at - t0)
        .collect();
    assert_eq!(treqs, vec![Duration::ZERO, Duration::from_secs(3)]);
    // No IPCP Terminate-Request was ever needed.
    assert!(!p.trace.iter().any(|e| e.data[2..5] == [0x80, 0x21, 5]));
}

#[test]
fn session_timeout_from_attributes() {
    let mut s = server_cfg();
    s.keepalive_timeout = Duration::ZERO;
    let mut c = client_cfg("alice", "secret");
    c.keepalive_timeout = Duration::ZERO;
    let mut p = run(c, s, |_, b| {
        b.attrs.session_timeout = Some(Duration::from_secs(60));
    });
    let (up, _) = p.b.first(|e| matches!(e, Event::NetworkUp(_))).unwrap();
    p.run_until(Duration::from_secs(120), |_, b| b.terminated())
        .unwrap();
    let (t, ev) =
        p.b.first(|e| matches!(e, Event::Terminated { .. }))
            .unwrap();
    // Terminate-Request at exactly up + 60 s; the session ends when the client acks it.
    let treq = p
        .trace
        .iter()
        .find(|e| e.dir == netsim::Dir::BtoA && e.data[2..5] == [0xc0, 0x21, 5])
        .map(|e| p.start() + e.at)
        .unwrap();
    assert_eq!(treq - up, Duration::from_secs(60));
    assert!(
        matches!(ev, Event::Terminated { reason: TerminateReason::SessionTimeout, uptime, .. } if uptime >= Duration::from_secs(60))
    );
    assert!(t >= treq);
}

#[test]
fn identification_and_time_remaining_are_accepted() {
    let (mut s, now) = lone(Role::Client, client_cfg("alice", "secret"));
    let first = sent(&mut s, now).remove(0);
    let mut ack = first.clone();
    ack[4] = 2;
    s.handle_frame(now, &ack).unwrap();
    s.handle_frame(now, &lcp(1, 1, &[])).unwrap();
    sent(&mut s, now);
    for code in [12u8, 13] {
        let mut f = vec![0xff, 0x03, 0xc0, 0x21];
        f.extend(
            CpPacket {
                code,
                identifier: 9,
                data: &[0, 0, 0, 0, b'M', b'S'],
            }
            .to_vec(),
        );
        s.handle_frame(now, &f).unwrap();
    }
    assert!(sent(&mut s, now).is_empty(), "no Code-Reject");
    assert_eq!(s.lcp_state(), ppp::fsm::State::Opened);
}

#[test]
fn a_session_can_be_reopened_after_the_peer_ended_it() {
    let mut p = run(client_cfg("alice", "secret"), server_cfg(), |_, _| {});
    assert!(p.a.network_up());
    let now = p.now();
    p.b.s.close(now, "admin kick");
    p.b.drain(now);
    p.run_until(Duration::from_secs(20), |a, b| {
        a.terminated() && b.terminated()
    })
    .unwrap();
    assert_eq!(p.a.s.lcp_state(), ppp::fsm::State::Stopped);
    p.a.events.clear();
    p.b.events.clear();
    let now = p.now();
    p.a.s.open(now);
    p.b.s.open(now);
    p.a.drain(now);
    p.b.drain(now);
    p.run_until(Duration::from_secs(20), |a, b| {
        a.network_up() && b.network_up()
    })
    .unwrap();
    assert_eq!(p.a.s.status(), Status::Connected);
}

/// IPCP packets of one direction in the trace: (code, options).
fn ipcp_packets(p: &Pair<Node, Node>, dir: netsim::Dir) -> Vec<(u8, Vec<u8>)> {
    p.trace
        .iter()
        .filter(|e| e.dir == dir && e.data.get(2..4) == Some(&[0x80, 0x21][..]))
        .map(|e| (e.data[4], e.data[8..].to_vec()))
        .collect()
}

fn ip(s: &str) -> std::net::Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn nbns_options_130_132_encoding() {
    use ppp::wire::cp::{options, IpcpOption};
    let mut v = Vec::new();
    IpcpOption::PrimaryNbns(ip("10.1.2.3")).emit(&mut v);
    IpcpOption::SecondaryNbns(ip("10.1.2.4")).emit(&mut v);
    assert_eq!(v, [130, 6, 10, 1, 2, 3, 132, 6, 10, 1, 2, 4]);
    let back: Vec<_> = options(&v)
        .map(|r| IpcpOption::parse(&r.unwrap()).unwrap())
        .collect();
    assert_eq!(
        back,
        [
            IpcpOption::PrimaryNbns(ip("10.1.2.3")),
            IpcpOption::SecondaryNbns(ip("10.1.2.4"))
        ]
    );
    // A client with request_nbns asks with 0.0.0.0, after the address option.
    let mut c = client_cfg("alice", "secret");
    c.request_nbns = true;
    let p = run(c, server_cfg(), |_, _| {});
    let first_req = ipcp_packets(&p, netsim::Dir::AtoB)
        .into_iter()
        .find(|(code, _)| *code == 1)
        .unwrap();
    assert_eq!(
        first_req.1,
        [3, 6, 0, 0, 0, 0, 130, 6, 0, 0, 0, 0, 132, 6, 0, 0, 0, 0]
    );
    // Without request_nbns (the default) the options are not sent.
    let p = run(client_cfg("alice", "secret"), server_cfg(), |_, _| {});
    assert!(ipcp_packets(&p, netsim::Dir::AtoB)
        .iter()
        .all(|(_, o)| !o.windows(2).any(|w| w == [130, 6] || w == [132, 6])));
}

#[test]
fn server_naks_nbns_from_wins_server_and_client_reports_it() {
    // From the profile's `wins-server` through the credential store.
    let mut aaa = Aaa::new();
    let mut prof = Profile::named("vpn");
    prof.local_address = Some(AddressSpec::Address(ip("10.0.0.1")));
    prof.remote_address = Some(AddressSpec::Address(ip("10.0.0.2")));
    prof.wins = vec![ip("10.0.0.137"), ip("10.0.0.138")];
    aaa.profiles.push(prof);
    let mut sec = Secret::new("alice", "secret");
    sec.profile = "vpn".into();
    aaa.secrets.push(sec);
    let store = Arc::new(Mutex::new(aaa));
    let mut c = client_cfg("alice", "secret");
    c.request_nbns = true;
    let p = run(c, ppp::Config::l2tp_server(), move |_, b| {
        b.s.set_credential_store(Box::new(store))
    });
    assert!(p.a.network_up() && p.b.network_up());
    let wins = vec![ip("10.0.0.137"), ip("10.0.0.138")];
    let up =
        p.a.events
            .iter()
            .find_map(|(_, e)| match e {
                Event::NetworkUp(i) => Some(i.clone()),
                _ => None,
            })
            .unwrap();
    assert_eq!(up.nbns, wins);
    assert!(up.dns.is_empty(), "use-peer-dns=no: no DNS asked");
    assert_eq!(p.b.s.ipv4().unwrap().nbns, wins, "server reports its offer");
    // The server's Nak carries exactly the configured addresses.
    let nak = ipcp_packets(&p, netsim::Dir::BtoA)
        .into_iter()
        .find(|(code, _)| *code == 3)
        .unwrap();
    assert_eq!(
        nak.1,
        [3, 6, 10, 0, 0, 2, 130, 6, 10, 0, 0, 137, 132, 6, 10, 0, 0, 138]
    );

    // From the server `Config` (no store), one address: the secondary is rejected, then dropped.
    let mut s = server_cfg();
    s.nbns_servers = vec![ip("192.0.2.9")];
    let mut c = client_cfg("alice", "secret");
    c.request_nbns = true;
    c.use_peer_dns = UsePeerDns::Yes;
    let p = run(c, s, |_, _| {});
    let info = p.a.s.ipv4().unwrap();
    assert_eq!(info.nbns, vec![ip("192.0.2.9")]);
    assert_eq!(info.dns, vec![ip("10.0.0.53")]);
    let rej = ipcp_packets(&p, netsim::Dir::BtoA)
        .into_iter()
        .find(|(code, _)| *code == 4)
        .unwrap();
    // server_cfg() has one DNS server too: both secondaries are rejected.
    assert_eq!(rej.1, [131, 6, 0, 0, 0, 0, 132, 6, 0, 0, 0, 0]);
}

#[test]
fn server_without_wins_server_rejects_nbns_and_client_still_comes_up() {
    let mut c = client_cfg("alice", "secret");
    c.request_nbns = true;
    c.use_peer_dns = UsePeerDns::Yes;
    let p = run(c, server_cfg(), |_, _| {});
    assert!(p.a.network_up() && p.b.network_up());
    let info = p.a.s.ipv4().unwrap();
    assert!(info.nbns.is_empty());
    assert_eq!(info.dns, vec![ip("10.0.0.53")]);
    let rej = ipcp_packets(&p, netsim::Dir::BtoA)
        .into_iter()
        .find(|(code, _)| *code == 4)
        .unwrap();
    assert_eq!(
        rej.1,
        [131, 6, 0, 0, 0, 0, 130, 6, 0, 0, 0, 0, 132, 6, 0, 0, 0, 0]
    );
    // The client's last request no longer carries them.
    let last_req = ipcp_packets(&p, netsim::Dir::AtoB)
        .into_iter()
        .rfind(|(code, _)| *code == 1)
        .unwrap();
    assert!(!last_req
        .1
        .windows(2)
        .any(|w| w == [130, 6] || w == [132, 6]));
}
