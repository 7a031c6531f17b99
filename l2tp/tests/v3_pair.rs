#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! L2TPv3 managed control connection pair tests over the simulated link (virtual time).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use l2tp::v3::{ControlConnectionV3, V3Config, V3Event, V3Input, V3State, PW_ETHERNET, PW_PPP};
use l2tp::wire::v3::{ControlMessageV3, DigestHash, Encap};
use netsim::{Endpoint, LinkConfig, Pair};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Ep {
    c: ControlConnectionV3,
    events: Vec<V3Event>,
    rx_frames: Vec<Vec<u8>>,
    /// (our session id, frame) of everything received, in delivery order.
    rx_by_sid: Vec<(u32, Vec<u8>)>,
    to_send: VecDeque<Vec<u8>>,
    /// Frames to send on a given session (our id).
    to_send_sid: VecDeque<(u32, Vec<u8>)>,
    rejected: usize,
}

impl Ep {
    fn new(c: ControlConnectionV3) -> Self {
        Ep {
            c,
            events: Vec::new(),
            rx_frames: Vec::new(),
            rx_by_sid: Vec::new(),
            to_send: VecDeque::new(),
            to_send_sid: VecDeque::new(),
            rejected: 0,
        }
    }
    fn drain(&mut self) {
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
        while let Some((sid, f)) = self.c.poll_data() {
            self.rx_frames.push(f.clone());
            self.rx_by_sid.push((sid, f));
        }
    }
    fn sessions_up(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, V3Event::SessionUp { .. }))
            .count()
    }
    fn session_up(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, V3Event::SessionUp { .. }))
    }
}

impl Endpoint for Ep {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        match self.c.handle_input(now, data) {
            Ok(V3Input::Data(d)) => {
                self.rx_frames.push(d.payload.to_vec());
                self.rx_by_sid.push((d.session_id, d.payload.to_vec()));
            }
            Ok(V3Input::Control) | Ok(V3Input::Queued { .. }) => {}
            Err(_) => self.rejected += 1,
        }
        self.drain();
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(p) = self.c.poll_transmit(now) {
            return Some(p);
        }
        if let Some((sid, f)) = self.to_send_sid.pop_front() {
            let mut out = vec![0u8; 1600];
            let n = self.c.encapsulate_session(sid, &f, &mut out).unwrap();
            out.truncate(n);
            return Some(out);
        }
        if self.c.session_ready() {
            let f = self.to_send.pop_front()?;
            let mut out = vec![0u8; 1600];
            let n = self.c.encapsulate(&f, &mut out).unwrap();
            out.truncate(n);
            return Some(out);
        }
        None
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.c.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.c.handle_timeout(now);
        self.drain();
    }
}

fn cfg(encap: Encap, secret: &[u8], cookie_len: u8, pw: u16) -> V3Config {
    V3Config {
        encap,
        router_id: 0x0a00_0001,
        secret: Some(secret.to_vec()),
        digest: DigestHash::Md5,
        pw_type: pw,
        cookie_len,
        l2_sublayer: true,
        ..V3Config::default()
    }
}

fn eth_frame(i: u8) -> Vec<u8> {
    let mut f = vec![0xffu8; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, i]);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend(std::iter::repeat_n(i, 60));
    f
}

fn pair(a: V3Config, b: V3Config, link: LinkConfig, seed: u64) -> (Pair<Ep, Ep>, Instant) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let start = Instant::now();
    let mut ca = ControlConnectionV3::new(a, true, &mut rng).unwrap();
    let cb = ControlConnectionV3::new(b, false, &mut rng).unwrap();
    ca.connect(start).unwrap();
    let p = Pair::with_start(Ep::new(ca), Ep::new(cb), link.clone(), link, seed, start);
    (p, start)
}

#[test]
fn ethernet_pseudowire_up_with_cookies_and_frames_pass() {
    for encap in [Encap::Udp, Encap::Ip] {
        for (sha, clen) in [(false, 4u8), (true, 8u8)] {
            let mut a = cfg(encap, b"s3cret", clen, PW_ETHERNET);
            let mut b = cfg(encap, b"s3cret", clen, PW_ETHERNET);
            if sha {
                a.digest = DigestHash::Sha1;
                b.digest = DigestHash::Sha1;
            }
            let (mut p, _) = pair(a, b, LinkConfig::perfect(), 1);
            let t = p
                .run_until(Duration::from_secs(5), |a, b| {
                    a.session_up() && b.session_up()
                })
                .expect("session up");
            // SCCRQ, SCCRP, SCCCN+ICRQ, ICRP, ICCN: no loss, no timer needed
            assert!(t < Duration::from_millis(100), "{t:?}");
            assert_eq!(p.a.c.state(), V3State::Established);
            let (da, db) = (
                p.a.c.data_path().unwrap().clone(),
                p.b.c.data_path().unwrap().clone(),
            );
            assert_eq!(da.send_cookie.len(), usize::from(clen));
            assert_eq!(da.send_cookie, db.peer_cookie);
            assert_eq!(db.send_cookie, da.peer_cookie);
            assert_eq!(da.remote_session_id, db.local_session_id);
            assert_eq!(db.remote_session_id, da.local_session_id);
            for i in 0..5 {
                p.a.to_send.push_back(eth_frame(i));
                p.b.to_send.push_back(eth_frame(100 + i));
            }
            p.run_for(Duration::from_secs(1));
            assert_eq!(p.b.rx_frames, (0..5).map(eth_frame).collect::<Vec<_>>());
            assert_eq!(p.a.rx_frames, (100..105).map(eth_frame).collect::<Vec<_>>());
            assert_eq!(p.a.c.stats().digest_failures, 0);
        }
    }
}

#[test]
fn control_messages_carry_digest_and_nonce_on_the_wire() {
    let (mut p, _) = pair(
        cfg(Encap::Udp, b"k", 4, PW_ETHERNET),
        cfg(Encap::Udp, b"k", 4, PW_ETHERNET),
        LinkConfig::perfect(),
        2,
    );
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    let mut seen = 0;
    for rec in &p.trace {
        let Ok(m) = ControlMessageV3::parse(Encap::Udp, &rec.data) else {
            continue;
        };
        // Message Digest AVP (59) right after the Message Type, or alone in a ZLB
        let pos = usize::from(m.message_type_raw().is_some());
        assert_eq!(m.avps[pos].attr_type, 59, "{m:?}");
        seen += 1;
    }
    assert!(seen >= 5);
}

#[test]
fn wrong_secret_is_rejected() {
    let (mut p, _) = pair(
        cfg(Encap::Udp, b"right", 4, PW_ETHERNET),
        cfg(Encap::Udp, b"wrong", 4, PW_ETHERNET),
        LinkConfig::perfect(),
        3,
    );
    let dead = p
        .run_until(Duration::from_secs(40), |a, _| {
            a.c.state() == V3State::Closed
        })
        .unwrap();
    assert_eq!(dead, Duration::from_secs(31));
    assert!(!p.a.session_up() && !p.b.session_up());
    // every SCCRQ retransmission is dropped at the responder's digest check
    assert_eq!(p.b.c.stats().digest_failures, 6);
    assert_eq!(p.b.c.state(), V3State::Idle);
    // the initiator gives up after the retry limit (sent at 0,1,3,7,15,23; dead at 31 s)
    assert_eq!(p.a.c.state(), V3State::Closed);
    assert!(p.a.events.contains(&V3Event::Closed {
        reason: "retransmission limit"
    }));
}

#[test]
fn pseudowire_type_mismatch_fails() {
    let (mut p, _) = pair(
        cfg(Encap::Udp, b"k", 0, PW_ETHERNET),
        cfg(Encap::Udp, b"k", 0, PW_PPP),
        LinkConfig::perfect(),
        4,
    );
    p.run_for(Duration::from_secs(2));
    assert!(!p.a.session_up());
    assert_eq!(p.b.c.state(), V3State::Closed);
}

#[test]
fn ppp_pseudowire_without_digest() {
    let mut a = cfg(Encap::Udp, b"", 0, PW_PPP);
    let mut b = cfg(Encap::Udp, b"", 0, PW_PPP);
    a.secret = None;
    b.secret = None;
    a.l2_sublayer = false;
    b.l2_sublayer = false;
    let (mut p, _) = pair(a, b, LinkConfig::perfect(), 5);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    p.a.to_send
        .push_back(vec![0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]);
    p.run_for(Duration::from_secs(1));
    assert_eq!(
        p.b.rx_frames,
        vec![vec![0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]]
    );
}

#[test]
fn session_up_under_loss_and_frames_pass() {
    let mut came_up = 0;
    for seed in 0..20u64 {
        let (mut p, _) = pair(
            cfg(Encap::Udp, b"s", 8, PW_ETHERNET),
            cfg(Encap::Udp, b"s", 8, PW_ETHERNET),
            LinkConfig::lossy(0.3),
            seed,
        );
        let up = p.run_until(Duration::from_secs(120), |a, b| {
            a.session_up() && b.session_up()
        });
        if p.a.c.state() == V3State::Closed {
            // 30% loss can (rarely) exhaust the retry limit; that must be reported cleanly
            assert!(up.is_none());
            continue;
        }
        up.unwrap_or_else(|| panic!("seed {seed}: not up"));
        came_up += 1;
        assert_eq!(p.a.c.stats().digest_failures, 0, "seed {seed}");
        assert_eq!(p.b.c.stats().digest_failures, 0, "seed {seed}");
        for i in 0..50 {
            p.a.to_send.push_back(eth_frame(i));
        }
        p.run_for(Duration::from_secs(2));
        // lossy link: data is unreliable, but whatever arrives is intact and in our set
        assert!(!p.b.rx_frames.is_empty(), "seed {seed}");
        for f in &p.b.rx_frames {
            assert!((0..50).map(eth_frame).any(|g| &g == f));
        }
    }
    assert!(came_up >= 18, "{came_up}");
}

#[test]
fn retransmitted_sccrq_is_reacked_not_reprocessed() {
    // first SCCRP lost: the initiator retransmits the SCCRQ at t = 1 s and still comes up
    let (mut p, _) = pair(
        cfg(Encap::Udp, b"s", 4, PW_ETHERNET),
        cfg(Encap::Udp, b"s", 4, PW_ETHERNET),
        LinkConfig::perfect(),
        6,
    );
    p.ba.set_cut(true);
    p.run_for(Duration::from_millis(1500));
    p.ba.set_cut(false);
    let t = p
        .run_until(Duration::from_secs(30), |a, b| {
            a.session_up() && b.session_up()
        })
        .unwrap();
    assert!(t >= Duration::from_secs(2), "{t:?}");
    assert_eq!(p.b.c.stats().digest_failures, 0);
    assert_eq!(
        p.b.events
            .iter()
            .filter(|e| matches!(e, V3Event::ControlUp { .. }))
            .count(),
        1
    );
}

// ---- the LNS serving L2TPv3 (admission, digest, Ethernet pseudowire) ----

use l2tp::config::{AcceptProtoVersion, AcceptPseudowireType, ServerConfig};
use l2tp::server::{Lns, LnsInput, Peer};

struct LnsEp {
    s: Lns<u8>,
    rx_frames: Vec<Vec<u8>>,
    events: Vec<V3Event>,
    echo: bool,
    out: VecDeque<Vec<u8>>,
}

impl Endpoint for LnsEp {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let peer = Peer {
            key: 1u8,
            addr: "10.0.0.1".parse().unwrap(),
            via_ipsec: false,
        };
        if let Ok(LnsInput::V3Data { ccid, payload, .. }) = self.s.handle_input(now, &peer, data) {
            self.rx_frames.push(payload.to_vec());
            if self.echo {
                let mut out = vec![0u8; 1600];
                let p = payload.to_vec();
                let (_, n) = self.s.encapsulate_v3(ccid, &p, &mut out).unwrap();
                out.truncate(n);
                self.out.push_back(out);
            }
        }
        while let Some((_, _, e)) = self.s.poll_v3_event() {
            self.events.push(e);
        }
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(x) = self.out.pop_front() {
            return Some(x);
        }
        self.s.poll_transmit(now).map(|(_, d)| d)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.s.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
        while let Some((_, _, e)) = self.s.poll_v3_event() {
            self.events.push(e);
        }
    }
}

fn lns_pair(
    server: ServerConfig,
    client: V3Config,
    link: LinkConfig,
    seed: u64,
) -> Pair<Ep, LnsEp> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let start = Instant::now();
    let s = Lns::new(
        server,
        l2tp::TunnelConfig::default(),
        Box::new(|_addr, _k| Some(b"lns-secret".to_vec())),
        &mut rng,
    )
    .unwrap();
    let mut c = ControlConnectionV3::new(client, true, &mut rng).unwrap();
    c.connect(start).unwrap();
    let l = LnsEp {
        s,
        rx_frames: Vec::new(),
        events: Vec::new(),
        echo: true,
        out: VecDeque::new(),
    };
    Pair::with_start(Ep::new(c), l, link.clone(), link, seed, start)
}

fn server_cfg() -> ServerConfig {
    ServerConfig {
        enabled: true,
        l2tpv3_cookie_length: 8,
        ..ServerConfig::default()
    }
}

#[test]
fn lns_serves_l2tpv3_ethernet_under_loss() {
    let mut up = 0;
    for seed in 0..10u64 {
        let mut p = lns_pair(
            server_cfg(),
            cfg(Encap::Udp, b"lns-secret", 4, PW_ETHERNET),
            LinkConfig::lossy(0.3),
            seed,
        );
        let Some(_) = p.run_until(Duration::from_secs(120), |a, b| {
            a.session_up()
                && b.events
                    .iter()
                    .any(|e| matches!(e, V3Event::SessionUp { .. }))
        }) else {
            assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
            continue;
        };
        up += 1;
        assert_eq!(p.b.s.v3_count(), 1);
        // server assigned an 8-byte cookie, client a 4-byte one
        let dp = p.a.c.data_path().unwrap();
        assert_eq!(dp.peer_cookie.len(), 8);
        assert_eq!(dp.send_cookie.len(), 4);
        for i in 0..20 {
            p.a.to_send.push_back(eth_frame(i));
        }
        p.run_for(Duration::from_secs(2));
        assert!(!p.b.rx_frames.is_empty(), "seed {seed}");
        // echoed back by the LNS through encapsulate_v3
        assert!(!p.a.rx_frames.is_empty(), "seed {seed}");
        for f in p.a.rx_frames.iter().chain(&p.b.rx_frames) {
            assert!((0..20).map(eth_frame).any(|g| &g == f));
        }
    }
    assert!(up >= 8, "{up}");
}

#[test]
fn lns_rejects_wrong_secret_and_policy() {
    // wrong secret: every SCCRQ fails the digest, no connection is kept
    let mut p = lns_pair(
        server_cfg(),
        cfg(Encap::Udp, b"not-the-secret", 0, PW_ETHERNET),
        LinkConfig::perfect(),
        1,
    );
    p.run_for(Duration::from_secs(40));
    assert!(!p.a.session_up());
    assert_eq!(p.a.c.state(), V3State::Closed);
    // nothing kept for SCCRQs that fail the digest (6 sends: 0,1,3,7,15,23 s)
    assert_eq!(p.b.s.stats().v3_connections_created, 6);
    assert_eq!(p.b.s.v3_count(), 0);
    assert_eq!(p.b.s.stats().unsupported_v3, 6);

    // accept-proto-version=l2tpv2
    let mut p = lns_pair(
        ServerConfig {
            accept_proto_version: AcceptProtoVersion::L2tpv2,
            ..server_cfg()
        },
        cfg(Encap::Udp, b"lns-secret", 0, PW_ETHERNET),
        LinkConfig::perfect(),
        2,
    );
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.b.s.v3_count(), 0);
    assert!(p.b.s.stats().rejected_version >= 1);

    // accept-pseudowire-type=ppp vs an Ethernet-only peer
    let mut p = lns_pair(
        ServerConfig {
            accept_pseudowire_type: AcceptPseudowireType::Ppp,
            ..server_cfg()
        },
        cfg(Encap::Udp, b"lns-secret", 0, PW_ETHERNET),
        LinkConfig::perfect(),
        3,
    );
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.b.s.v3_count(), 0);
    assert!(p.b.s.stats().rejected_pseudowire >= 1);

    // accept-pseudowire-type=ether and accept-proto-version=l2tpv3 serve it
    let mut p = lns_pair(
        ServerConfig {
            accept_pseudowire_type: AcceptPseudowireType::Ether,
            accept_proto_version: AcceptProtoVersion::L2tpv3,
            ..server_cfg()
        },
        cfg(Encap::Udp, b"lns-secret", 0, PW_ETHERNET),
        LinkConfig::perfect(),
        4,
    );
    p.run_until(Duration::from_secs(5), |a, _| a.session_up())
        .expect("served");
    assert_eq!(
        p.b.s
            .v3_pw_type(p.a.c.data_path().unwrap().remote_session_id),
        None
    );
}

#[test]
fn mutated_control_messages_never_panic() {
    // Take a real exchange, flip bytes and truncate; feed to fresh connections of both roles.
    let (mut p, _) = pair(
        cfg(Encap::Udp, b"k", 4, PW_ETHERNET),
        cfg(Encap::Udp, b"k", 4, PW_ETHERNET),
        LinkConfig::perfect(),
        9,
    );
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    let msgs: Vec<Vec<u8>> = p.trace.iter().map(|t| t.data.clone()).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let now = Instant::now();
    for round in 0..2000u32 {
        let mut m = msgs[round as usize % msgs.len()].clone();
        let flips = 1 + (rand_core::RngCore::next_u32(&mut rng) % 4);
        for _ in 0..flips {
            let i = rand_core::RngCore::next_u32(&mut rng) as usize % m.len();
            m[i] ^= 1 << (rand_core::RngCore::next_u32(&mut rng) % 8);
        }
        if round % 5 == 0 {
            m.truncate(rand_core::RngCore::next_u32(&mut rng) as usize % (m.len() + 1));
        }
        for initiator in [false, true] {
            // no digest check, so mutated SCCRQs reach the state machine
            let mut c = ControlConnectionV3::with_seed(
                V3Config {
                    secret: None,
                    ..cfg(Encap::Udp, b"k", 4, PW_ETHERNET)
                },
                initiator,
                [round as u8; 32],
            )
            .unwrap();
            let _ = c.handle_input(now, &m);
            while c.poll_transmit(now).is_some() {}
        }
    }
}
