#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! L2TP + PPP with MPPE end to end over the simulated link: the RouterOS L2TP client (its
//! profile's `use-encryption`) against the LNS whose `/ppp profile` says
//! `use-encryption=required`. MS-CHAPv2, CCP, "MPPE128 stateless", then IP datagrams both
//! ways; every L2TP data payload on the wire after CCP is PPP protocol 0x00FD.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use l2tp::config::ServerConfig;
use l2tp::ppp_link::{ClientEvent, L2tpClient, PppLns, PppLnsEvent};
use l2tp::TunnelConfig;
use netsim::{Dir, LinkConfig, Pair};
use ppp::aaa::UseEncryption;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

mod common;
use common::*;

const IPV4: u16 = 0x0021;
const MPPE: u16 = 0x00fd;

fn encoding_of_client(c: &Client) -> Option<String> {
    c.events.iter().find_map(|e| match e {
        ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::EncryptionUp {
            encoding,
            ..
        })) => Some(encoding.clone()),
        _ => None,
    })
}

fn encoding_of_server(s: &Server) -> Option<String> {
    s.events.iter().find_map(|e| match e {
        PppLnsEvent::Ppp {
            event: ppp::Event::EncryptionUp { encoding, .. },
            ..
        } => Some(encoding.clone()),
        _ => None,
    })
}

/// The LNS's user tables: `default-encryption` (the L2TP server's `default-profile`) with
/// `use-encryption=required`.
fn aaa(server_enc: UseEncryption) -> ppp::aaa::Aaa {
    let mut a = ppp::aaa::Aaa::new();
    let mut s = ppp::aaa::Secret::new("good_worker@mt.lv", "pass123");
    s.local_address = Some(Ipv4Addr::new(10, 98, 41, 1));
    s.remote_address = Some(Ipv4Addr::new(10, 98, 41, 10));
    // The user's profile (the secret's `profile=`) carries `use-encryption`.
    s.profile = "default-encryption".into();
    a.secrets.push(s);
    a.profiles
        .iter_mut()
        .find(|p| p.name == "default-encryption")
        .unwrap()
        .use_encryption = server_enc;
    a
}

fn server(seed: u64, server_enc: UseEncryption, stateless: bool) -> PppLns<u8> {
    let tcfg = TunnelConfig {
        host_name: b"lns".to_vec(),
        ..Default::default()
    };
    let mut cfg = ServerConfig::default();
    // Not a RouterOS property: RouterOS offers stateless only.
    cfg.ppp.link.mppe.stateless = stateless;
    assert_eq!(cfg.ppp.default_profile, "default-encryption");
    let mut s = PppLns::new(
        cfg,
        tcfg,
        Box::new(|_, _| Some(b"tunnelpass".to_vec())),
        Instant::now(),
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    s.set_store(Box::new(aaa(server_enc)));
    s
}

fn client(seed: u64, start: Instant, client_enc: UseEncryption, stateless: bool) -> L2tpClient {
    let mut cfg = client_config();
    cfg.ppp.allow = ppp::AuthSet::of(&[ppp::AuthMethod::MsChap2]);
    // `/interface l2tp-client profile=default-encryption` whose `use-encryption` is `yes`.
    cfg.ppp.use_encryption = client_enc;
    cfg.ppp.link.mppe.stateless = stateless;
    L2tpClient::new(cfg, start, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap()
}

fn pair(seed: u64, client_enc: UseEncryption, server_enc: UseEncryption) -> Pair<Client, Server> {
    pair_mode(seed, client_enc, server_enc, true)
}

fn pair_mode(
    seed: u64,
    client_enc: UseEncryption,
    server_enc: UseEncryption,
    stateless: bool,
) -> Pair<Client, Server> {
    let start = Instant::now();
    let mut p = Pair::with_start(
        Client::new(client(seed, start, client_enc, stateless)),
        Server::new(server(seed + 50, server_enc, stateless), true),
        LinkConfig::perfect(),
        LinkConfig::perfect(),
        seed,
        start,
    );
    p.record = true;
    p
}

fn ip_packet(n: u16) -> Vec<u8> {
    let mut v = vec![
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 98, 41, 10, 10, 98, 41, 1,
    ];
    v.extend_from_slice(&[8, 0, 0, 0, 0, 1]);
    v.extend_from_slice(&n.to_be_bytes());
    v
}

/// The PPP protocol of an L2TPv2 data message (RFC 2661 s3.1), `None` for control messages.
fn l2tp_data_ppp_protocol(d: &[u8]) -> Option<u16> {
    let flags = u16::from_be_bytes([*d.first()?, *d.get(1)?]);
    if flags & 0x8000 != 0 {
        return None;
    }
    let mut i = 2;
    if flags & 0x4000 != 0 {
        i += 2; // Length
    }
    i += 4; // Tunnel ID, Session ID
    if flags & 0x0800 != 0 {
        i += 4; // Ns, Nr
    }
    if flags & 0x0200 != 0 {
        let off = u16::from_be_bytes([*d.get(i)?, *d.get(i + 1)?]);
        i += 2 + usize::from(off);
    }
    let f = d.get(i..)?;
    let f = f.strip_prefix(&[0xff, 0x03]).unwrap_or(f);
    let b0 = *f.first()?;
    Some(if b0 & 1 == 1 {
        u16::from(b0)
    } else {
        u16::from_be_bytes([b0, *f.get(1)?])
    })
}

/// The LNS's PPP session of the client's call.
fn server_session(p: &Pair<Client, Server>) -> &ppp::Session {
    let t = p.a.c.tunnel().unwrap();
    let psid = t.sessions().next().unwrap().peer_id;
    p.b.s.ppp(t.peer_tunnel_id(), psid).unwrap()
}

fn up(p: &mut Pair<Client, Server>) {
    p.run_until(Duration::from_secs(30), |a, b| {
        encoding_of_client(a).is_some()
            && encoding_of_server(b).is_some()
            && a.c
                .ppp()
                .is_some_and(|s| s.mppe_up() && s.ipcp_state() == ppp::fsm::State::Opened)
    })
    .unwrap_or_else(|| panic!("not up: {:?} / {:?}", p.a.events, p.b.events));
}

#[test]
fn mppe128_stateless_client_yes_lns_required_datagrams_both_ways() {
    for seed in 0..3 {
        let mut p = pair(seed, UseEncryption::Yes, UseEncryption::Required);
        up(&mut p);
        assert_eq!(
            encoding_of_client(&p.a).as_deref(),
            Some("MPPE128 stateless")
        );
        assert_eq!(
            encoding_of_server(&p.b).as_deref(),
            Some("MPPE128 stateless")
        );
        let mark = p.trace.len();
        let sent: Vec<Vec<u8>> = (0..40).map(ip_packet).collect();
        for pkt in &sent {
            let mut buf = [0u8; 300];
            let now = p.now();
            let n = p.a.c.send_datagram(now, IPV4, pkt, &mut buf).unwrap();
            // What the client puts on the wire (sent straight onto the link, not traced).
            assert_eq!(l2tp_data_ppp_protocol(&buf[..n]), Some(MPPE));
            p.ab.send(now, buf[..n].to_vec());
            p.run_for(Duration::from_millis(20));
        }
        p.run_for(Duration::from_millis(200));
        // The LNS got every datagram (decrypted, in order) and its encrypted echoes came back.
        assert_eq!(p.b.got, sent, "seed {seed}");
        assert_eq!(p.a.got, sent, "seed {seed}");
        // On the wire: every L2TP data payload after CCP is MPPE, none cleartext IPv4.
        let protos: Vec<(Dir, u16)> = p.trace[mark..]
            .iter()
            .filter_map(|t| l2tp_data_ppp_protocol(&t.data).map(|pr| (t.dir, pr)))
            .collect();
        let n = protos
            .iter()
            .filter(|(d, pr)| *d == Dir::BtoA && *pr == MPPE)
            .count();
        assert_eq!(n, sent.len(), "{protos:?}");
        assert!(protos.iter().all(|(_, pr)| *pr != IPV4), "{protos:?}");
        let (cc, sc) = (
            p.a.c.ppp().unwrap().mppe_counters(),
            server_session(&p).mppe_counters(),
        );
        assert_eq!(cc.tx_packets, 40);
        assert_eq!(cc.rx_packets, 40);
        assert_eq!(sc.rx_packets, 40);
        assert_eq!(sc.tx_packets, 40);
    }
}

#[test]
fn lns_required_without_client_encryption_still_negotiates_mppe() {
    // The client's profile `default` (passive): the LNS requires MPPE and the client follows.
    let mut p = pair(7, UseEncryption::Default, UseEncryption::Required);
    up(&mut p);
    assert_eq!(
        encoding_of_client(&p.a).as_deref(),
        Some("MPPE128 stateless")
    );
    let mut buf = [0u8; 300];
    let now = p.now();
    let n =
        p.a.c
            .send_datagram(now, IPV4, &ip_packet(1), &mut buf)
            .unwrap();
    assert_eq!(l2tp_data_ppp_protocol(&buf[..n]), Some(MPPE));
    p.ab.send(now, buf[..n].to_vec());
    p.run_for(Duration::from_millis(200));
    assert_eq!(p.a.got, vec![ip_packet(1)]);
}

#[test]
fn use_encryption_no_on_both_sides_keeps_cleartext() {
    let mut p = pair(8, UseEncryption::No, UseEncryption::No);
    p.run_until(Duration::from_secs(30), |a, _| {
        a.c.ppp()
            .is_some_and(|s| s.ipcp_state() == ppp::fsm::State::Opened)
    })
    .unwrap();
    assert!(encoding_of_client(&p.a).is_none());
    let mut buf = [0u8; 300];
    let now = p.now();
    let n =
        p.a.c
            .send_datagram(now, IPV4, &ip_packet(2), &mut buf)
            .unwrap();
    assert_eq!(l2tp_data_ppp_protocol(&buf[..n]), Some(IPV4));
    p.ab.send(now, buf[..n].to_vec());
    p.run_for(Duration::from_millis(200));
    assert_eq!(p.a.got, vec![ip_packet(2)]);
}

#[test]
fn mppe128_stateful_under_seeded_loss_resynchronises_and_delivers_intact_datagrams() {
    for seed in [11, 12] {
        let mut p = pair_mode(seed, UseEncryption::Yes, UseEncryption::Required, false);
        up(&mut p);
        assert_eq!(
            encoding_of_client(&p.a).as_deref(),
            Some("MPPE128 stateful")
        );
        assert_eq!(
            encoding_of_server(&p.b).as_deref(),
            Some("MPPE128 stateful")
        );
        // 10% loss (with duplication and reordering) both ways from here on.
        p.ab.config = LinkConfig::lossy(0.10);
        p.ba.config = LinkConfig::lossy(0.10);
        let mark = p.trace.len();
        let sent: Vec<Vec<u8>> = (0..300).map(ip_packet).collect();
        for pkt in &sent {
            let mut buf = [0u8; 300];
            let now = p.now();
            // A lost IPCP/CCP packet may renegotiate for a moment: skip that datagram.
            if let Ok(n) = p.a.c.send_datagram(now, IPV4, pkt, &mut buf) {
                assert_eq!(l2tp_data_ppp_protocol(&buf[..n]), Some(MPPE));
                p.ab.send(now, buf[..n].to_vec());
            }
            p.run_for(Duration::from_millis(20));
        }
        p.run_for(Duration::from_secs(2));
        // Everything delivered is a datagram we sent, intact (no garbage from a desynchronised
        // key stream), and most got through each way.
        assert!(p.b.got.iter().all(|d| sent.contains(d)), "seed {seed}");
        assert!(p.a.got.iter().all(|d| sent.contains(d)), "seed {seed}");
        assert!(
            p.b.got.len() > 150,
            "seed {seed}: LNS got {}",
            p.b.got.len()
        );
        assert!(
            p.a.got.len() > 75,
            "seed {seed}: client got {}",
            p.a.got.len()
        );
        // Loss made both receivers resynchronise through CCP Reset-Request / Reset-Ack.
        let (cc, sc) = (
            p.a.c.ppp().unwrap().mppe_counters(),
            server_session(&p).mppe_counters(),
        );
        assert!(sc.reset_requests_sent > 0 && sc.resyncs > 0, "{sc:?}");
        assert!(cc.reset_requests_sent > 0 && cc.resyncs > 0, "{cc:?}");
        // LNS to client on the wire: MPPE only.
        let protos: Vec<u16> = p.trace[mark..]
            .iter()
            .filter(|t| t.dir == Dir::BtoA)
            .filter_map(|t| l2tp_data_ppp_protocol(&t.data))
            .collect();
        assert!(protos.iter().filter(|pr| **pr == MPPE).count() > 150);
        assert!(!protos.contains(&IPV4), "{protos:?}");
    }
}
