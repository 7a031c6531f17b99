//! CCP + MPPE between a client and a server session over netsim's simulated link.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::*;
use netsim::{Dir, Fate, LinkConfig, Pair};
use ppp::aaa::UseEncryption;
use ppp::fsm::State;
use ppp::{AuthMethod, AuthSet, Event, Input, Role, TerminateReason};
use std::time::{Duration, Instant};

const CCP: [u8; 2] = [0x80, 0xfd];

fn pair_cfg(
    method: AuthMethod,
    client_enc: UseEncryption,
    server_enc: UseEncryption,
    stateless: bool,
) -> Pair<Node, Node> {
    let start = Instant::now();
    let mut cc = client_cfg("alice", "secret");
    cc.use_encryption = client_enc;
    cc.mppe.stateless = stateless;
    cc.allow.insert(AuthMethod::Eap);
    let mut sc = server_cfg();
    sc.authentication = AuthSet::of(&[method]);
    if method == AuthMethod::Eap {
        // EAP-MSCHAPv2 inside EAP (the server picks it when mschap2 is in its set).
        sc.authentication = AuthSet::of(&[AuthMethod::Eap, AuthMethod::MsChap2]);
        sc.auth_preference = vec![AuthMethod::Eap];
    }
    sc.use_encryption = server_enc;
    sc.mppe.stateless = stateless;
    let mut c = Node::new(cc, Role::Client, start, 21);
    let mut s = Node::new(sc, Role::Server, start, 22);
    s.users.push(("alice".into(), "secret".into()));
    s.echo = true;
    c.s.open(start);
    s.s.open(start);
    Pair::with_start(c, s, LinkConfig::perfect(), LinkConfig::perfect(), 5, start)
}

fn encryption_up(n: &Node) -> Option<(String, u16)> {
    n.events.iter().find_map(|(_, e)| match e {
        Event::EncryptionUp { encoding, mtu } => Some((encoding.clone(), *mtu)),
        _ => None,
    })
}

/// Frame protocol after an optional FF 03 (protocol-field compression is off here).
fn proto_of(f: &[u8]) -> u16 {
    let f = f.strip_prefix(&[0xff, 0x03]).unwrap_or(f);
    if f.first().is_some_and(|b| b & 1 == 1) {
        u16::from(f[0])
    } else {
        u16::from_be_bytes([f[0], f[1]])
    }
}

fn ip_packet(i: u32) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 60];
    p.extend_from_slice(&i.to_be_bytes());
    p.resize(60, (i % 251) as u8);
    p
}

#[test]
fn mschap2_mppe128_stateless_default_profile_encoding_and_mtu() {
    for m in [AuthMethod::MsChap1, AuthMethod::MsChap2, AuthMethod::Eap] {
        let mut p = pair_cfg(m, UseEncryption::Yes, UseEncryption::Yes, true);
        p.run_until(Duration::from_secs(10), |a, b| {
            encryption_up(a).is_some() && encryption_up(b).is_some() && a.network_up()
        })
        .unwrap_or_else(|| panic!("{m:?}: {:?}", p.a.events));
        let (enc, mtu) = encryption_up(&p.a).unwrap();
        assert_eq!(enc, "MPPE128 stateless", "{m:?}");
        // max-mtu 1450 less the 4 octets of MPPE overhead.
        assert_eq!(mtu, 1446);
        assert_eq!(p.a.s.mtu(), 1446);
        assert_eq!(p.b.s.encoding().as_deref(), Some("MPPE128 stateless"));
        // A datagram goes through encrypted and comes back (the server echoes).
        let now = p.now();
        let pkt = ip_packet(7);
        p.a.s.send_datagram(now, 0x0021, &pkt).unwrap();
        p.run_for(Duration::from_millis(100));
        assert_eq!(p.b.datagrams.last().unwrap().2, pkt, "{m:?}");
        assert_eq!(p.a.datagrams.last().unwrap().2, pkt, "{m:?}");
        // On the wire: only protocol 0x00FD, never a cleartext 0x0021.
        let data: Vec<_> = p
            .trace
            .iter()
            .filter(|t| matches!(proto_of(&t.data), 0x0021 | 0x00fd))
            .collect();
        assert_eq!(data.len(), 2);
        assert!(data.iter().all(|t| proto_of(&t.data) == 0x00fd));
        assert!(data
            .iter()
            .all(|t| !t.data.windows(8).any(|w| w == &pkt[..8])));
        // 1446 fits, 1447 does not.
        assert!(p.a.s.send_datagram(now, 0x0021, &[0x45; 1446]).is_ok());
        assert!(matches!(
            p.a.s.send_datagram(now, 0x0021, &[0x45; 1447]),
            Err(ppp::Error::TooBig { mtu: 1446, .. })
        ));
    }
}

#[test]
fn key_lengths_follow_the_settings() {
    for (method, allow128, allow56, want) in [
        (AuthMethod::MsChap2, false, true, "MPPE56 stateful"),
        (AuthMethod::MsChap2, false, false, "MPPE40 stateful"),
        (AuthMethod::MsChap1, false, true, "MPPE56 stateful"),
        (AuthMethod::MsChap1, false, false, "MPPE40 stateful"),
    ] {
        let mut p = pair_cfg(method, UseEncryption::Yes, UseEncryption::Yes, false);
        // Only the server restricts; the client follows its Nak.
        let mut sc = p.b.s.config().clone();
        sc.mppe.allow_128 = allow128;
        sc.mppe.allow_56 = allow56;
        let start = p.start();
        let mut s = Node::new(sc, Role::Server, start, 22);
        s.users.push(("alice".into(), "secret".into()));
        s.s.open(start);
        p.b = s;
        p.run_until(Duration::from_secs(10), |a, b| {
            encryption_up(a).is_some() && encryption_up(b).is_some()
        })
        .unwrap_or_else(|| panic!("{want}: {:?}", p.a.events));
        assert_eq!(encryption_up(&p.a).unwrap().0, want);
        assert_eq!(encryption_up(&p.b).unwrap().0, want);
        // Data flows both ways with the reduced keys (the server echoes).
        p.b.echo = true;
        p.run_until(Duration::from_secs(10), |a, b| {
            a.network_up() && b.network_up()
        })
        .expect("ipcp");
        let now = p.now();
        p.a.s.send_datagram(now, 0x0021, &ip_packet(5)).unwrap();
        p.run_for(Duration::from_millis(200));
        assert_eq!(
            p.a.datagrams.last().map(|d| &d.2),
            Some(&ip_packet(5)),
            "{want} {method:?}"
        );
    }
}

/// The pair test: MS-CHAPv2 + MPPE128 stateful, seeded loss on the data path, every
/// delivered datagram intact, resynchronisation through CCP Reset-Request / Reset-Ack.
#[test]
fn mppe128_stateful_resync_under_10pct_loss() {
    let mut p = pair_cfg(
        AuthMethod::MsChap2,
        UseEncryption::Required,
        UseEncryption::Required,
        false,
    );
    p.run_until(Duration::from_secs(10), |a, b| {
        encryption_up(a).is_some() && encryption_up(b).is_some() && a.network_up()
    })
    .expect("up");
    assert_eq!(encryption_up(&p.a).unwrap().0, "MPPE128 stateful");
    // Now 10% loss in both directions (with duplication and reordering).
    p.ab.config = LinkConfig::lossy(0.10);
    p.ba.config = LinkConfig::lossy(0.10);
    let sent: Vec<Vec<u8>> = (0..600).map(ip_packet).collect();
    for pkt in &sent {
        let now = p.now();
        p.a.s.send_datagram(now, 0x0021, pkt).unwrap();
        p.run_for(Duration::from_millis(20));
    }
    p.run_for(Duration::from_secs(2));
    // Every datagram the server got is one we sent, intact (no garbage from a desynchronised
    // key stream), and most got through.
    let got: Vec<&Vec<u8>> = p.b.datagrams.iter().map(|(_, _, d)| d).collect();
    assert!(got.iter().all(|d| sent.contains(d)));
    assert!(got.len() > 300, "only {} of 600 arrived", got.len());
    // Loss made the server's receiver send Reset-Requests and resynchronise.
    let sc = p.b.s.mppe_counters();
    let cc = p.a.s.mppe_counters();
    assert!(sc.reset_requests_sent > 5, "{sc:?}");
    assert!(sc.resyncs > 5, "{sc:?}");
    assert!(cc.reset_requests_received > 0, "{cc:?}");
    // Each Reset-Request that arrived was answered with a Reset-Ack (some are lost too).
    assert!(sc.reset_acks_received > 0, "{sc:?}");
    assert!(sc.reset_acks_received <= cc.reset_requests_received);
    // Reset-Requests on the wire from B to A (CCP code 14), counted.
    let resets = p
        .trace
        .iter()
        .filter(|t| t.dir == Dir::BtoA)
        .filter(|t| {
            let f = t.data.strip_prefix(&[0xff, 0x03]).unwrap_or(&t.data);
            f.starts_with(&CCP) && f.get(2) == Some(&14)
        })
        .count() as u64;
    assert_eq!(resets, sc.reset_requests_sent);
    // Every data frame on the wire was MPPE.
    assert!(p
        .trace
        .iter()
        .all(|t| proto_of(&t.data) != 0x0021 || t.fate == Fate::TooBig));
    assert!(!p.a.terminated() && !p.b.terminated());
}

#[test]
fn required_with_pap_ends_with_a_clear_reason_and_no_cleartext() {
    let mut p = pair_cfg(
        AuthMethod::Pap,
        UseEncryption::Yes,
        UseEncryption::Required,
        true,
    );
    p.run_until(Duration::from_secs(20), |_, b| b.terminated())
        .expect("server ends");
    assert!(p.b.has(|e| matches!(
        e,
        Event::Terminated { reason: TerminateReason::EncryptionRequired(m), .. } if m.contains("MS-CHAP")
    )), "{:?}", p.b.events);
    assert!(p.trace.iter().all(|t| proto_of(&t.data) != 0x0021));
}

#[test]
fn required_but_peer_refuses_ccp() {
    // The client says use-encryption=no: it Protocol-Rejects the server's CCP.
    let mut p = pair_cfg(
        AuthMethod::MsChap2,
        UseEncryption::No,
        UseEncryption::Required,
        true,
    );
    p.run_until(Duration::from_secs(20), |_, b| b.terminated())
        .expect("server ends");
    assert!(p.b.has(|e| matches!(
        e,
        Event::Terminated {
            reason: TerminateReason::EncryptionRequired(_),
            ..
        }
    )));
    // The server never sent a cleartext datagram, and refuses to.
    assert!(p
        .trace
        .iter()
        .filter(|t| t.dir == Dir::BtoA)
        .all(|t| proto_of(&t.data) != 0x0021));
    // The client rejected CCP as a protocol (LCP Protocol-Reject, code 8, of 0x80FD).
    assert!(p.trace.iter().any(|t| {
        let f = t.data.strip_prefix(&[0xff, 0x03]).unwrap_or(&t.data);
        t.dir == Dir::AtoB && f.starts_with(&[0xc0, 0x21, 8]) && f.get(6..8) == Some(&CCP)
    }));
}

#[test]
fn use_encryption_no_rejects_ccp_and_stays_up_in_clear() {
    let mut p = pair_cfg(
        AuthMethod::MsChap2,
        UseEncryption::Yes,
        UseEncryption::No,
        true,
    );
    p.run_until(Duration::from_secs(20), |a, b| {
        a.network_up() && b.network_up() && a.s.ccp_state() == State::Stopped
    })
    .unwrap_or_else(|| panic!("{:?}", p.a.events));
    assert!(p
        .a
        .has(|e| matches!(e, Event::ProtocolRejected { protocol: 0x80fd })));
    assert!(encryption_up(&p.a).is_none());
    assert_eq!(p.a.s.mtu(), 1450);
    let now = p.now();
    p.a.s.send_datagram(now, 0x0021, &ip_packet(1)).unwrap();
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.b.datagrams.len(), 1);
    assert!(!p.a.terminated() && !p.b.terminated());
}

#[test]
fn default_is_passive_and_encrypts_when_the_peer_asks() {
    // Server `default`: it starts no CCP but accepts the client's.
    let mut p = pair_cfg(
        AuthMethod::MsChap2,
        UseEncryption::Yes,
        UseEncryption::Default,
        true,
    );
    p.run_until(Duration::from_secs(10), |a, b| {
        encryption_up(a).is_some() && encryption_up(b).is_some()
    })
    .expect("mppe up");
    // Both `default`: no CCP at all, cleartext as before MPPE existed.
    let mut p = pair_cfg(
        AuthMethod::MsChap2,
        UseEncryption::Default,
        UseEncryption::Default,
        true,
    );
    p.run_until(Duration::from_secs(10), |a, b| {
        a.network_up() && b.network_up()
    })
    .expect("up");
    p.run_for(Duration::from_secs(1));
    assert!(p.trace.iter().all(|t| proto_of(&t.data) != 0x80fd));
    assert_eq!(p.a.s.ccp_state(), State::Initial);
}

#[test]
fn corrupt_mppe_header_is_a_typed_drop() {
    let mut p = pair_cfg(
        AuthMethod::MsChap2,
        UseEncryption::Yes,
        UseEncryption::Yes,
        true,
    );
    p.run_until(Duration::from_secs(10), |a, b| {
        encryption_up(a).is_some() && encryption_up(b).is_some()
    })
    .expect("up");
    p.run_until(Duration::from_secs(10), |a, b| {
        a.network_up() && b.network_up()
    })
    .expect("ipcp up");
    p.run_for(Duration::from_millis(100));
    let now = p.now();
    // D bit clear.
    let mut f = vec![0xff, 0x03, 0x00, 0xfd, 0x00, 0x05, 1, 2, 3];
    assert_eq!(
        p.b.s.handle_frame_mut(now, &mut f).unwrap(),
        Input::MppeDropped(ppp::mppe::DropReason::BadHeader)
    );
    // The shared-slice path reports the same.
    let f = [0xff, 0x03, 0x00, 0xfd, 0x90];
    assert_eq!(
        p.b.s.handle_frame(now, &f).unwrap(),
        Input::MppeDropped(ppp::mppe::DropReason::Truncated)
    );
    // A cleartext datagram while MPPE is up is dropped.
    let mut f = vec![0xff, 0x03, 0x00, 0x21];
    f.extend_from_slice(&ip_packet(3));
    assert_eq!(p.b.s.handle_frame(now, &f).unwrap(), Input::Dropped);
    assert_eq!(p.b.s.mppe_counters().cleartext_dropped, 1);
    // handle_frame decrypts into the session buffer: Input::Decrypted + decrypted().
    let mut out = vec![0u8; 200];
    let pkt = ip_packet(9);
    let n = p.a.s.encapsulate(now, 0x0021, &pkt, &mut out).unwrap();
    assert_eq!(
        p.b.s.handle_frame(now, &out[..n]).unwrap(),
        Input::Decrypted { protocol: 0x0021 }
    );
    assert_eq!(p.b.s.decrypted(), &pkt[..]);
}
