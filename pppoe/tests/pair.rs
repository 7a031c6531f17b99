#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Client and AC over the simulated link in virtual time.

mod common;
use common::*;
use netsim::LinkConfig;
use pppoe::wire::Code;
use pppoe::{ClientEvent, DownReason, EndReason, Input, ServerEvent};
use std::net::Ipv4Addr;
use std::time::Duration;

fn echo(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    netsim::pcap::icmp4_echo(src, dst, false, 7, 1, &[0x5a; 200])
}

#[test]
fn comes_up_with_mschapv2_carries_ip_and_padt_tears_down() {
    let mut p = pair(
        client_config("alice", "pw"),
        server_config(),
        LinkConfig::perfect(),
        1,
    );
    let t = p.run_until(Duration::from_secs(30), |c, _| c.is_up());
    assert!(t.is_some(), "{:?}", p.a.events);
    // The discovery went PADI, PADO, PADR, PADS once each (perfect link).
    let codes: Vec<u8> = p
        .trace
        .iter()
        .map(|e| code_of(&e.data))
        .filter(|c| *c != 0)
        .collect();
    assert_eq!(codes, [0x09, 0x07, 0x19, 0x65]);
    let up = p.a.up().unwrap().clone();
    assert_eq!(up.local, Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(up.remote, Ipv4Addr::new(10, 0, 0, 1));
    // Client max-mtu 1460 (RouterOS table default) below the server's MRU 1480.
    assert_eq!(up.mtu, 1460);
    assert_eq!(up.default_route, None);
    assert!(up.dns.is_empty());
    assert_eq!(p.a.c.status(), ppp::Status::Connected);
    let key = p.a.c.session().unwrap();
    assert_eq!(key.0, AC_MAC);
    assert!(p.b.s.session(&(HOST_MAC, key.1)).is_some());
    // An IP datagram each way through the data path (caller buffers).
    let now = p.now();
    let pkt = echo([10, 0, 0, 2], [10, 0, 0, 1]);
    let mut buf = [0u8; 1600];
    let n = p.a.c.send_datagram(now, 0x0021, &pkt, &mut buf).unwrap();
    assert_eq!(n, 14 + 6 + 2 + pkt.len());
    match p.b.s.handle_frame(now, &mut buf[..n]) {
        Input::Datagram {
            session,
            protocol,
            payload,
        } => {
            assert_eq!(
                (session, protocol, payload),
                ((HOST_MAC, key.1), 0x0021, &pkt[..])
            );
        }
        other => panic!("{other:?}"),
    }
    let back = echo([10, 0, 0, 1], [10, 0, 0, 2]);
    let n =
        p.b.s
            .send_datagram(now, &(HOST_MAC, key.1), 0x0021, &back, &mut buf)
            .unwrap();
    match p.a.c.handle_frame(now, &mut buf[..n]) {
        Input::Datagram {
            protocol, payload, ..
        } => {
            assert_eq!((protocol, payload), (0x0021, &back[..]));
        }
        other => panic!("{other:?}"),
    }
    // Hang up: LCP Terminate, then the client's PADT ends the AC's session.
    p.a.c.hang_up(now);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.b.s.len(), 0);
    let ended = p.b.ended();
    assert_eq!(ended.len(), 1);
    assert!(
        matches!(ended[0].2, EndReason::Ppp(_) | EndReason::PeerPadt),
        "{ended:?}"
    );
    assert_eq!(p.a.c.stats().padt_sent, 1);
    assert!(p.a.c.session().is_none());
    assert_eq!(p.a.c.status(), ppp::Status::Disconnected);
    // Disabled: no redial.
    p.run_for(Duration::from_secs(60));
    assert_eq!(p.a.c.stats().padi_sent, 1);
}

#[test]
fn pap_and_chap_come_up_too() {
    for (i, m) in [ppp::AuthMethod::Pap, ppp::AuthMethod::Chap]
        .into_iter()
        .enumerate()
    {
        let mut c = client_config("bob", "pap-pw");
        c.ppp.allow = ppp::AuthSet::of(&[m]);
        let mut p = pair(c, server_config(), LinkConfig::perfect(), 10 + i as u64);
        assert!(
            p.run_until(Duration::from_secs(30), |c, _| c.is_up())
                .is_some(),
            "{m:?}"
        );
        assert_eq!(p.a.up().unwrap().local, Ipv4Addr::new(10, 0, 0, 3));
    }
}

#[test]
fn wrong_password_restarts_without_padt_in_auth() {
    let mut p = pair(
        client_config("alice", "wrong"),
        server_config(),
        LinkConfig::perfect(),
        3,
    );
    p.run_until(Duration::from_secs(10), |c, _| c.c.stats().padt_sent == 1)
        .unwrap();
    p.run_for(Duration::from_millis(100));
    assert!(!p.a.is_up());
    // The AC restarted LCP instead of ending the session (S0 L554): it sent no PADT, and
    // the session ended only on the client's PADT.
    assert_eq!(p.b.s.stats().padt_sent, 0);
    let ended = p.b.ended();
    assert_eq!(ended.len(), 1, "{:?}", p.b.events);
    assert_eq!(ended[0].2, EndReason::PeerPadt);
}

#[test]
fn comes_up_over_a_hostile_link() {
    let mut ok = 0;
    for seed in 0..6u64 {
        let mut p = pair(
            client_config("alice", "pw"),
            server_config(),
            LinkConfig::lossy(0.3),
            100 + seed,
        );
        if p.run_until(Duration::from_secs(300), |c, s| c.is_up() && s.s.len() == 1)
            .is_some()
        {
            ok += 1;
            // One session at the AC despite duplicated/retransmitted PADRs.
            assert_eq!(p.b.s.len(), 1, "seed {seed}");
        }
    }
    assert_eq!(ok, 6);
}

#[test]
fn padi_timer_doubles_to_the_cap() {
    let mut c = client_config("alice", "pw");
    c.max_discovery_timeout = Duration::from_secs(32);
    let mut p = pair(c, server_config(), LinkConfig::perfect(), 4);
    p.set_cut(true);
    p.run_for(Duration::from_secs(130));
    let at: Vec<u64> = p
        .trace
        .iter()
        .filter(|e| code_of(&e.data) == Code::PADI.0)
        .map(|e| e.at.as_secs())
        .collect();
    // RFC 2516 s5/s8: resend, doubling the wait: 1, 2, 4, 8, 16, 32, then 32 (cap).
    assert_eq!(at, [0, 1, 3, 7, 15, 31, 63, 95, 127]);
    let timeouts: Vec<u64> =
        p.a.events
            .iter()
            .filter_map(|(_, e)| match e {
                ClientEvent::PadiSent { timeout, .. } => Some(timeout.as_secs()),
                _ => None,
            })
            .collect();
    assert_eq!(timeouts, [1, 2, 4, 8, 16, 32, 32, 32, 32]);
}

#[test]
fn padr_retransmits_then_discovery_starts_over() {
    let mut p = pair(
        client_config("alice", "pw"),
        server_config(),
        LinkConfig::perfect().with_delay(Duration::ZERO),
        5,
    );
    // Let PADI/PADO through, then cut the link so the PADR gets no PADS.
    p.run_until(Duration::from_secs(5), |c, _| c.c.stats().padr_sent == 1)
        .unwrap();
    p.set_cut(true);
    p.run_for(Duration::from_secs(12));
    let seq: Vec<(u64, u8)> = p
        .trace
        .iter()
        .filter(|e| e.dir == netsim::Dir::AtoB)
        .map(|e| (e.at.as_secs(), code_of(&e.data)))
        .collect();
    // PADR at 0, 1 (timeout 1 s), 3 (2 s); after the third one's 4 s a new PADI at 7 (then 8, 10: 1 s, 2 s).
    assert_eq!(
        seq,
        [
            (0, 0x09),
            (0, 0x19),
            (1, 0x19),
            (3, 0x19),
            (7, 0x09),
            (8, 0x09),
            (10, 0x09)
        ]
    );
}

#[test]
fn server_close_sends_padt_and_client_redials() {
    let mut p = pair(
        client_config("alice", "pw"),
        server_config(),
        LinkConfig::perfect(),
        6,
    );
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    let key = p.b.s.host().keys().next().copied().unwrap();
    let now = p.now();
    p.b.s.close(now, &key, "admin").unwrap();
    let t0 = p.elapsed();
    p.run_until(Duration::from_secs(5), |_, s| s.s.is_empty())
        .unwrap();
    assert_eq!(p.b.s.stats().padt_sent, 1);
    p.run_for(Duration::from_millis(100));
    // The client saw the LCP terminate (PPP ended) and/or the PADT.
    assert!(p.a.count(|e| matches!(e, ClientEvent::SessionDown { .. })) == 1);
    // It redials after redial_delay (10 s) and comes up again.
    p.run_until(Duration::from_secs(30), |c, _| {
        c.c.stats().sessions == 2 && c.is_up()
    })
    .unwrap();
    let second_padi =
        p.a.events
            .iter()
            .filter(|(_, e)| matches!(e, ClientEvent::PadiSent { attempt: 1, .. }))
            .nth(1)
            .unwrap()
            .0;
    assert!(
        second_padi >= t0 + Duration::from_secs(10),
        "{second_padi:?}"
    );
    assert!(
        second_padi <= t0 + Duration::from_secs(11),
        "{second_padi:?}"
    );
}

#[test]
fn client_sees_peer_padt_at_once() {
    let mut p = pair(
        client_config("alice", "pw"),
        server_config(),
        LinkConfig::perfect(),
        7,
    );
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    let (ac, id) = p.a.c.session().unwrap();
    let padt = pppoe::wire::Discovery::new(Code::PADT, id)
        .with(pppoe::wire::tag::GENERIC_ERROR, b"bye".to_vec())
        .emit(HOST_MAC, ac, &pppoe::wire::VlanStack::NONE)
        .unwrap();
    let now = p.now();
    let mut f = padt.clone();
    assert_eq!(p.a.c.handle_frame(now, &mut f), Input::Discovery);
    assert!(p.a.c.session().is_none());
    let down = p.a.c.poll_event();
    let mut evs = vec![];
    if let Some(e) = down {
        evs.push(e);
    }
    while let Some(e) = p.a.c.poll_event() {
        evs.push(e);
    }
    assert!(evs.iter().any(|e| matches!(e, ClientEvent::SessionDown { reason: DownReason::PeerPadt(t), .. } if t == "bye")), "{evs:?}");
    // No PADT back for a PADT received.
    assert_eq!(p.a.c.stats().padt_sent, 0);
    // A PADT for another session is dropped.
    let mut f = padt;
    assert!(matches!(p.a.c.handle_frame(now, &mut f), Input::Dropped(_)));
}

#[test]
fn server_keepalive_ends_a_silent_client_after_twice_the_timeout() {
    let mut p = pair(
        client_config("alice", "pw"),
        server_config(),
        LinkConfig::perfect(),
        8,
    );
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    let t0 = p.elapsed();
    p.set_cut(true);
    p.run_until(Duration::from_secs(60), |_, s| s.s.is_empty())
        .unwrap();
    let ended = p.b.ended();
    assert_eq!(ended.len(), 1);
    let gone = ended[0].0 - t0;
    // keepalive-timeout 10 s, 2 x timeout (S0 L632).
    assert!(
        gone >= Duration::from_secs(19) && gone <= Duration::from_secs(21),
        "{gone:?}"
    );
    assert!(
        matches!(
            ended[0].2,
            EndReason::Ppp(ppp::TerminateReason::KeepaliveTimeout)
        ),
        "{ended:?}"
    );
}

#[test]
fn keepalive_zero_never_drops_a_silent_client() {
    let mut s = server_config();
    s.ppp.keepalive_timeout = Duration::ZERO;
    let mut c = client_config("alice", "pw");
    c.ppp.keepalive_timeout = Duration::ZERO;
    let mut p = pair(c, s, LinkConfig::perfect(), 9);
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    p.set_cut(true);
    p.run_for(Duration::from_secs(600));
    assert_eq!(p.b.s.len(), 1);
}

#[test]
fn client_settings_reach_the_up_event() {
    let mut c = client_config("alice", "pw");
    c.ppp.add_default_route = true;
    c.ppp.use_peer_dns = ppp::UsePeerDns::Yes;
    let with_dns = || {
        let mut aaa = store();
        aaa.profiles[0].dns = vec![Ipv4Addr::new(1, 1, 1, 1)];
        Box::new(aaa)
    };
    let mut p = pair(c.clone(), server_config(), LinkConfig::perfect(), 11);
    p.b.s.host_mut().set_store(with_dns());
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    let up = p.a.up().unwrap();
    assert_eq!(up.default_route, Some(Some(1)));
    assert_eq!(up.dns, [Ipv4Addr::new(1, 1, 1, 1)]);
    assert_eq!(up.profile, "default");
    // use-peer-dns=no (default): the offered server is not applied.
    c.ppp.use_peer_dns = ppp::UsePeerDns::No;
    c.ppp.add_default_route = false;
    let mut p = pair(c, server_config(), LinkConfig::perfect(), 11);
    p.b.s.host_mut().set_store(with_dns());
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    let up = p.a.up().unwrap();
    assert!(up.dns.is_empty());
    assert_eq!(up.default_route, None);
}

#[test]
fn dial_on_demand_waits_for_traffic() {
    let mut c = client_config("alice", "pw");
    c.ppp.dial_on_demand = true;
    let mut p = pair(c, server_config(), LinkConfig::perfect(), 12);
    p.run_for(Duration::from_secs(30));
    assert_eq!(p.a.c.stats().padi_sent, 0);
    let now = p.now();
    p.a.c.demand(now);
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
}

#[test]
fn status_walks_dialing_verifying_connected() {
    let mut p = pair(
        client_config("alice", "pw"),
        server_config(),
        LinkConfig::perfect(),
        13,
    );
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    let st: Vec<ppp::Status> =
        p.a.events
            .iter()
            .filter_map(|(_, e)| match e {
                ClientEvent::Ppp(ppp::host::ClientEvent::Status(s)) => Some(*s),
                _ => None,
            })
            .collect();
    assert_eq!(st.first(), Some(&ppp::Status::Dialing));
    assert_eq!(st.last(), Some(&ppp::Status::Connected));
    assert!(p
        .b
        .events
        .iter()
        .any(|(_, e)| matches!(e, ServerEvent::SessionStarted { .. })));
}

#[test]
fn vlan_tagged_client_comes_up_on_its_vlan() {
    let mut c = client_config("alice", "pw");
    c.vlans = pppoe::wire::VlanStack::dot1q(120);
    let mut s = server_config();
    s.vlan_range = pppoe::VlanRange::parse("100-115,120,122,128-130").unwrap();
    s.accept_untagged = false;
    let mut p = pair(c, s, LinkConfig::perfect(), 20);
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    // Every frame both ways carried the tag.
    for e in &p.trace {
        let f = pppoe::wire::Frame::parse(&e.data).unwrap();
        assert_eq!(f.vlans, pppoe::wire::VlanStack::dot1q(120));
    }
    let key = p.b.s.host().keys().next().copied().unwrap();
    assert_eq!(
        p.b.s.session(&key),
        Some(pppoe::wire::VlanStack::dot1q(120))
    );
}

#[test]
fn without_host_uniq_and_with_rfc4638_and_pap_only_server() {
    let mut c = client_config("bob", "pap-pw");
    c.host_uniq = false;
    c.ppp_max_payload = Some(1500);
    let mut s = server_config();
    s.ppp_max_payload = Some(1500);
    s.ppp.authentication = ppp::AuthSet::of(&[ppp::AuthMethod::Pap]);
    let mut p = pair(c, s, LinkConfig::perfect(), 21);
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    let padi =
        pppoe::wire::Discovery::from_frame(&pppoe::wire::Frame::parse(&p.trace[0].data).unwrap())
            .unwrap();
    assert_eq!(padi.host_uniq(), None);
    assert_eq!(padi.ppp_max_payload(), Some(1500));
    assert!(p.a.events.iter().any(|(_, e)| matches!(
        e,
        ClientEvent::SessionUp {
            ppp_max_payload: Some(1500),
            ..
        }
    )));
    // PAP was the method (the server offered nothing else).
    assert!(
        p.a.events.iter().any(|(_, e)| matches!(
            e,
            ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::AuthSucceeded {
                method: ppp::AuthMethod::Pap,
                ..
            }))
        )),
        "{:?}",
        p.a.events
    );
}

#[test]
fn server_max_mru_bounds_the_client_mtu_and_accounting_runs() {
    let mut c = client_config("alice", "pw");
    c.ppp.max_mtu = 1492;
    c.ppp.max_mru = 1492;
    let mut p = pair(c, server_config(), LinkConfig::perfect(), 22);
    p.run_until(Duration::from_secs(30), |c, _| c.is_up())
        .unwrap();
    // The AC's max-mru 1480 (S0 L633) caps the client's MTU.
    assert_eq!(p.a.up().unwrap().mtu, 1480);
    // /ppp aaa accounting=yes (default): a start record.
    p.run_for(Duration::from_millis(100));
    assert!(
        p.b.events.iter().any(|(_, e)| matches!(
            e,
            ServerEvent::Host(ppp::host::ServerEvent::Accounting {
                kind: ppp::host::AccountingKind::Start,
                ..
            })
        )),
        "{:?}",
        p.b.events
    );
}

#[test]
fn ipv6cp_up_carries_the_interface_ids_for_dhcpv6_pd() {
    let mut c = client_config("alice", "pw");
    c.ppp.link.ipv6 = true;
    let mut s = server_config();
    s.ppp.link.ipv6 = true;
    let mut p = pair(c, s, LinkConfig::perfect(), 23);
    p.run_until(Duration::from_secs(30), |c, _| {
        c.events.iter().any(|(_, e)| {
            matches!(
                e,
                ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::Ipv6Up { .. }))
            )
        })
    })
    .unwrap();
    p.run_for(Duration::from_millis(100));
    // The AC side reports it per session (MAC, session id): what a DHCPv6-PD server needs.
    let key = (HOST_MAC, p.a.c.session().unwrap().1);
    let ids = p.b.events.iter().find_map(|(_, e)| match e {
        ServerEvent::Host(ppp::host::ServerEvent::Ppp {
            key: k,
            event:
                ppp::Event::Ipv6Up {
                    local_interface_id,
                    remote_interface_id,
                },
        }) if *k == key => Some((*local_interface_id, *remote_interface_id)),
        _ => None,
    });
    let (l, r) = ids.expect("server Ipv6Up");
    assert_ne!(l, r);
    assert_eq!(p.b.s.host().caller_id(&key), Some("02:00:00:00:00:01"));
}
