//! Client and server sessions over netsim's simulated link.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::*;
use netsim::{LinkConfig, Pair};
use ppp::{AuthMethod, AuthSet, Event, Role, Status, TerminateReason, UsePeerDns};
use std::time::{Duration, Instant};

fn pair(method: AuthMethod, loss: f64, seed: u64) -> Pair<Node, Node> {
    let start = Instant::now();
    let mut cc = client_cfg("alice", "secret");
    cc.use_peer_dns = UsePeerDns::Yes;
    cc.allow.insert(AuthMethod::Eap);
    let mut sc = server_cfg();
    sc.authentication = AuthSet::of(&[method]);
    let mut c = Node::new(cc, Role::Client, start, seed);
    let mut s = Node::new(sc, Role::Server, start, seed + 1000);
    s.users.push(("alice".into(), "secret".into()));
    c.s.open(start);
    s.s.open(start);
    c.drain(start);
    s.drain(start);
    let link = if loss > 0.0 {
        LinkConfig::lossy(loss)
    } else {
        LinkConfig::perfect()
    };
    Pair::with_start(c, s, link.clone(), link, seed, start)
}

#[test]
fn every_method_perfect_link() {
    for m in [
        AuthMethod::Pap,
        AuthMethod::Chap,
        AuthMethod::MsChap1,
        AuthMethod::MsChap2,
        AuthMethod::Eap,
    ] {
        let mut p = pair(m, 0.0, 1);
        p.run_until(Duration::from_secs(10), |a, b| {
            a.network_up() && b.network_up()
        });
        assert!(p.a.network_up(), "{m:?}: client not up: {:?}", p.a.events);
        assert!(p.b.network_up(), "{m:?}: server not up");
        let Some((_, Event::NetworkUp(info))) = p.a.first(|e| matches!(e, Event::NetworkUp(_)))
        else {
            panic!()
        };
        assert_eq!(info.local.to_string(), "10.0.0.2");
        assert_eq!(info.remote.to_string(), "10.0.0.1");
        assert_eq!(
            info.dns,
            vec!["10.0.0.53".parse::<std::net::Ipv4Addr>().unwrap()]
        );
        assert_eq!(p.a.s.status(), Status::Connected);
        assert!(p
            .a
            .has(|e| matches!(e, Event::AuthSucceeded { method, .. } if *method == m)));
        if matches!(m, AuthMethod::MsChap1 | AuthMethod::MsChap2) {
            assert!(p.a.s.mschap_keys().is_some());
            assert!(p.b.s.mschap_keys().is_some());
            if m == AuthMethod::MsChap2 {
                let (ck, sk) = (p.a.s.mschap_keys().unwrap(), p.b.s.mschap_keys().unwrap());
                assert_eq!(ck.send_key, sk.recv_key);
                assert_eq!(ck.recv_key, sk.send_key);
            }
        }
    }
}

#[test]
fn wrong_password_fails_and_terminates() {
    for m in [AuthMethod::Pap, AuthMethod::Chap, AuthMethod::MsChap2] {
        let mut p = pair(m, 0.0, 2);
        p.b.users = vec![("alice".into(), "other".into())];
        p.run_until(Duration::from_secs(30), |a, b| {
            a.terminated() && b.terminated()
        });
        assert!(p.a.has(|e| matches!(e, Event::AuthFailed { .. })), "{m:?}");
        assert!(
            p.b.has(|e| matches!(
                e,
                Event::Terminated {
                    reason: TerminateReason::AuthFailed(_),
                    ..
                }
            )),
            "{m:?} {:?}",
            p.b.events
        );
        assert!(!p.a.network_up());
    }
}
