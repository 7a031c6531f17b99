#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! L2TPv3 managed control connection pair tests over the simulated link (virtual time).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use l2tp::v3::{ControlConnectionV3, V3Config, V3Event, V3Input, V3State, PW_ETHERNET, PW_PPP};
use l2tp::wire::v3::{ControlMessageV3, DigestHash, Encap};
use netsim::{Endpoint, LinkConfig, Pair};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The shared L2TPv3 netsim node (also the tour's).
type Ep = netsim::l2tp::V3Node;

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

/// The LNS as a netsim endpoint: v3 over UDP (`handle_input`, echo through `encapsulate_v3`)
/// or over IP (`handle_input_ip`, echo through `encapsulate_v3_session`). Every data frame it
/// receives is recorded as (connection id, session id, frame) and, with `echo`, sent back.
struct LnsEp {
    s: Lns<u8>,
    peer: Peer<u8>,
    over_ip: bool,
    rx: Vec<(u32, u32, Vec<u8>)>,
    events: Vec<V3Event>,
    echo: bool,
    out: VecDeque<Vec<u8>>,
}

impl LnsEp {
    fn new(s: Lns<u8>, peer_key: u8, peer_addr: &str, over_ip: bool) -> Self {
        LnsEp {
            s,
            peer: Peer {
                key: peer_key,
                addr: peer_addr.parse().unwrap(),
                via_ipsec: false,
            },
            over_ip,
            rx: Vec::new(),
            events: Vec::new(),
            echo: true,
            out: VecDeque::new(),
        }
    }

    fn rx_frames(&self) -> Vec<Vec<u8>> {
        self.rx.iter().map(|(_, _, f)| f.clone()).collect()
    }

    fn deliver(&mut self, ccid: u32, session_id: u32, p: Vec<u8>) {
        self.rx.push((ccid, session_id, p.clone()));
        if self.echo {
            let mut out = vec![0u8; 1600];
            let (_, n) = if self.over_ip {
                self.s
                    .encapsulate_v3_session(ccid, session_id, &p, &mut out)
            } else {
                self.s.encapsulate_v3(ccid, &p, &mut out)
            }
            .unwrap();
            out.truncate(n);
            self.out.push_back(out);
        }
    }

    /// Frames released by the reorder buffers, then events.
    fn drain(&mut self) {
        while let Some((ccid, sid, f)) = self.s.poll_v3_data() {
            self.deliver(ccid, sid, f);
        }
        while let Some((_, _, e)) = self.s.poll_v3_event() {
            self.events.push(e);
        }
    }
}

impl Endpoint for LnsEp {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let input = if self.over_ip {
            self.s.handle_input_ip(now, &self.peer, data)
        } else {
            self.s.handle_input(now, &self.peer, data)
        };
        if let Ok(LnsInput::V3Data {
            ccid,
            session_id,
            payload,
        }) = input
        {
            self.deliver(ccid, session_id, payload.to_vec());
        }
        self.drain();
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
        self.drain();
    }
}

fn lns_pair(
    server: ServerConfig,
    client: V3Config,
    link: LinkConfig,
    seed: u64,
) -> Pair<Ep, LnsEp> {
    lns_pair_with(server, l2tp::TunnelConfig::default(), client, link, seed)
}

fn lns_pair_with(
    server: ServerConfig,
    tunnel: l2tp::TunnelConfig,
    client: V3Config,
    link: LinkConfig,
    seed: u64,
) -> Pair<Ep, LnsEp> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let start = Instant::now();
    let s = Lns::new(
        server,
        tunnel,
        Box::new(|_addr, _k| Some(b"lns-secret".to_vec())),
        &mut rng,
    )
    .unwrap();
    let mut c = ControlConnectionV3::new(client, true, &mut rng).unwrap();
    c.connect(start).unwrap();
    let l = LnsEp::new(s, 1, "10.0.0.1", false);
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
        assert!(!p.b.rx.is_empty(), "seed {seed}");
        // echoed back by the LNS through encapsulate_v3
        assert!(!p.a.rx_frames.is_empty(), "seed {seed}");
        for f in p.a.rx_frames.iter().chain(&p.b.rx_frames()) {
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
    // The LNS's connection (named by the Control Connection ID it assigned, which is the
    // client's peer ccid) runs the Ethernet pseudowire type.
    let lns_ccid = p.a.c.peer_ccid();
    assert_eq!(p.b.s.v3_pw_type(lns_ccid), Some(PW_ETHERNET));
    assert_eq!(p.b.s.v3_count(), 1);
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

// ---- several sessions per control connection, HELLO, tie breaker, hiding, reordering ----

use l2tp::reorder::ReorderConfig;
use l2tp::v3::V3SessionState;
use l2tp::wire::avp::attr;

fn up_ids(ep: &Ep) -> Vec<u32> {
    let mut v: Vec<u32> = ep
        .events
        .iter()
        .filter_map(|e| match e {
            V3Event::SessionUp {
                local_session_id, ..
            } => Some(*local_session_id),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

/// A pair over a 30%-loss link with three sessions: the automatic one, one `open`ed by `a`
/// before the connection is up (queued until then) and one `open`ed by `b` once it is. Runs
/// until all three are up on both ends and returns the pair with a's and b's extra session
/// ids, or `None` when the loss closed the connection first (asserted to be closed).
fn three_sessions_under_loss(
    a: V3Config,
    b: V3Config,
    seed: u64,
    open: fn(&mut ControlConnectionV3, Instant) -> l2tp::Result<u32>,
) -> Option<(Pair<Ep, Ep>, u32, u32)> {
    let (mut p, start) = pair(a, b, LinkConfig::lossy(0.3), seed);
    let a_sid = open(&mut p.a.c, start).unwrap();
    let established = p.run_until(Duration::from_secs(120), |a, _| {
        a.c.state() == V3State::Established
    });
    if established.is_none() {
        assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
        return None;
    }
    let now = p.now();
    let b_sid = open(&mut p.b.c, now).unwrap();
    let all_up = p.run_until(Duration::from_secs(120), |a, b| {
        a.sessions_up() == 3 && b.sessions_up() == 3
    });
    if all_up.is_none() {
        assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
        return None;
    }
    Some((p, a_sid, b_sid))
}

#[test]
fn three_sessions_on_one_connection_under_loss_and_cdn_per_session() {
    let mut all_up = 0;
    for seed in 0..12u64 {
        let Some((mut p, a2, b3)) = three_sessions_under_loss(
            cfg(Encap::Udp, b"s", 4, PW_ETHERNET),
            cfg(Encap::Udp, b"s", 8, PW_ETHERNET),
            100 + seed,
            ControlConnectionV3::open_session,
        ) else {
            continue;
        };
        all_up += 1;
        assert_eq!(p.a.c.session_count(), 3);
        assert_eq!(p.b.c.session_count(), 3);
        assert!(up_ids(&p.a).contains(&a2));
        assert!(up_ids(&p.b).contains(&b3));
        // every session's ids and cookies pair up across the two ends
        for s in p.a.c.sessions() {
            let dp = s.data_path().unwrap();
            let peer = p.b.c.session(s.remote_session_id()).unwrap();
            let pdp = peer.data_path().unwrap();
            assert_eq!(peer.remote_session_id(), s.local_session_id());
            assert_eq!(dp.send_cookie, pdp.peer_cookie);
            assert_eq!(pdp.send_cookie, dp.peer_cookie);
            assert_eq!(dp.send_cookie.len(), 4);
            assert_eq!(dp.peer_cookie.len(), 8);
            assert_eq!(s.state(), V3SessionState::Established);
        }
        // frames on each of a's sessions arrive on the matching session at b
        let a_sids: Vec<u32> = p.a.c.sessions().map(|s| s.local_session_id()).collect();
        for (k, sid) in a_sids.iter().enumerate() {
            for i in 0..10u8 {
                p.a.to_send_sid
                    .push_back((*sid, eth_frame(k as u8 * 50 + i)));
            }
        }
        p.run_for(Duration::from_secs(1));
        assert!(!p.b.rx_by_sid.is_empty(), "seed {seed}");
        for (bsid, f) in &p.b.rx_by_sid {
            let k = a_sids
                .iter()
                .position(|s| p.a.c.session(*s).unwrap().remote_session_id() == *bsid)
                .unwrap();
            let i = f[14];
            assert_eq!(i / 50, k as u8, "seed {seed}: frame on the wrong session");
        }
        // CDN for one session only
        let now = p.now();
        p.a.c.close_session(now, a2).unwrap();
        let peer_of_a2 =
            p.b.c
                .sessions()
                .find(|s| s.remote_session_id() == a2)
                .map(|s| s.local_session_id())
                .unwrap();
        let Some(_) = p.run_until(Duration::from_secs(60), |_, b| {
            b.events.contains(&V3Event::SessionDown {
                local_session_id: peer_of_a2,
                reason: "CDN from peer",
            })
        }) else {
            assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
            continue;
        };
        assert_eq!(p.a.c.session_count(), 2);
        assert_eq!(p.b.c.session_count(), 2);
        assert_eq!(p.a.c.state(), V3State::Established);
    }
    assert!(all_up >= 10, "{all_up}");
}

#[test]
fn session_refused_by_pw_type_and_max_sessions_gets_cdn() {
    let mut a = cfg(Encap::Ip, b"s", 0, PW_ETHERNET);
    let mut b = cfg(Encap::Ip, b"s", 0, PW_ETHERNET);
    b.max_sessions = 1;
    a.auto_session = true;
    let (mut p, start) = pair(a, b.clone(), LinkConfig::perfect(), 7);
    let second = p.a.c.open_session(start).unwrap();
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.a.sessions_up(), 1);
    assert!(p.a.events.contains(&V3Event::SessionDown {
        local_session_id: second,
        reason: "CDN from peer"
    }));
    assert_eq!(p.b.c.stats().sessions_refused, 1);
    assert_eq!(p.a.c.session_count(), 1);
    assert!(p.a.c.session_ready());
}

#[test]
fn hello_after_idle_interval_and_dead_peer_detected_at_exact_times() {
    let mut a = cfg(Encap::Udp, b"s", 4, PW_ETHERNET);
    let mut b = a.clone();
    a.control.hello_interval = Some(Duration::from_secs(60));
    b.control.hello_interval = None;
    let (mut p, _) = pair(a, b, LinkConfig::perfect(), 8);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    p.run_to_idle(Duration::from_secs(2));
    // last control message a received: the ZLB acknowledging its ICCN
    let last_rx_a = p
        .trace
        .iter()
        .filter(|t| t.dir == netsim::Dir::BtoA)
        .map(|t| t.at + Duration::from_millis(10))
        .max()
        .unwrap();
    p.run_for(Duration::from_secs(70));
    assert_eq!(p.a.c.stats().hellos_sent, 1);
    let hello = p
        .trace
        .iter()
        .find(|t| {
            t.dir == netsim::Dir::AtoB
                && ControlMessageV3::parse(Encap::Udp, &t.data)
                    .is_ok_and(|m| m.message_type_raw() == Some(6))
        })
        .expect("HELLO sent");
    assert_eq!(hello.at, last_rx_a + Duration::from_secs(60));
    // answered by a ZLB 10 ms later; the connection stays up
    assert_eq!(p.a.c.state(), V3State::Established);
    // now the peer goes silent: the next HELLO is retransmitted and the connection dies
    // 60 s + 31 s after the ZLB that answered the first HELLO
    p.ba.set_cut(true);
    let zlb_at = hello.at + Duration::from_millis(20);
    let dead = p
        .run_until(Duration::from_secs(200), |a, _| {
            a.c.state() == V3State::Closed
        })
        .unwrap();
    assert_eq!(dead, zlb_at + Duration::from_secs(60 + 31));
    assert_eq!(p.a.c.stats().hellos_sent, 2);
    assert!(p.a.events.contains(&V3Event::Closed {
        reason: "retransmission limit"
    }));
}

#[test]
fn simultaneous_sccrqs_resolved_by_tie_breaker() {
    for seed in 0..8u64 {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let start = Instant::now();
        let mut ca =
            ControlConnectionV3::new(cfg(Encap::Udp, b"s", 4, PW_ETHERNET), true, &mut rng)
                .unwrap();
        let mut cb =
            ControlConnectionV3::new(cfg(Encap::Udp, b"s", 4, PW_ETHERNET), true, &mut rng)
                .unwrap();
        ca.connect(start).unwrap();
        cb.connect(start).unwrap();
        let link = LinkConfig::perfect();
        let mut p = Pair::with_start(Ep::new(ca), Ep::new(cb), link.clone(), link, seed, start);
        p.run_until(Duration::from_secs(10), |a, b| {
            a.session_up() && b.session_up()
        })
        .unwrap_or_else(|| panic!("seed {seed}"));
        let lost_a = p.a.events.contains(&V3Event::TieBreakerLost);
        let lost_b = p.b.events.contains(&V3Event::TieBreakerLost);
        assert!(lost_a ^ lost_b, "seed {seed}: exactly one side loses");
        let (winner, loser) = if lost_a { (&p.b, &p.a) } else { (&p.a, &p.b) };
        assert!(winner.c.is_initiator() && !loser.c.is_initiator());
        assert_eq!(winner.c.stats().sccrq_ignored, 1);
        // one control connection, one session (the winner's), run p a while: still one
        p.run_for(Duration::from_secs(5));
        assert_eq!(p.a.c.session_count(), 1);
        assert_eq!(p.b.c.session_count(), 1);
        assert_eq!(p.a.c.peer_ccid(), p.b.c.local_ccid());
        assert_eq!(p.b.c.peer_ccid(), p.a.c.local_ccid());
        p.a.to_send.push_back(eth_frame(1));
        p.run_for(Duration::from_secs(1));
        assert_eq!(p.b.rx_frames, vec![eth_frame(1)]);
    }
}

#[test]
fn assigned_cookie_hidden_on_the_wire() {
    let mut a = cfg(Encap::Udp, b"hide-me", 8, PW_ETHERNET);
    let mut b = a.clone();
    a.hide_avps = true;
    b.hide_avps = false; // revealing needs only the secret
    let (mut p, _) = pair(a, b, LinkConfig::perfect(), 11);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    let cookie = p.a.c.data_path().unwrap().send_cookie;
    let icrq = p
        .trace
        .iter()
        .filter(|t| t.dir == netsim::Dir::AtoB)
        .filter_map(|t| ControlMessageV3::parse(Encap::Udp, &t.data).ok())
        .find(|m| m.message_type_raw() == Some(10))
        .unwrap();
    let rv = icrq
        .avps
        .iter()
        .position(|a| a.is(attr::RANDOM_VECTOR))
        .unwrap();
    let ck = icrq
        .avps
        .iter()
        .position(|a| a.is(attr::ASSIGNED_COOKIE))
        .unwrap();
    assert!(rv < ck && icrq.avps[ck].hidden);
    assert_ne!(icrq.avps[ck].value.get(2..10), Some(cookie.as_bytes()));
    // b revealed it: its peer cookie is a's send cookie
    assert_eq!(p.b.c.data_path().unwrap().peer_cookie, cookie);
    // the ICRP from b is in the clear
    let icrp = p
        .trace
        .iter()
        .filter_map(|t| ControlMessageV3::parse(Encap::Udp, &t.data).ok())
        .find(|m| m.message_type_raw() == Some(11))
        .unwrap();
    assert!(icrp.avps.iter().all(|a| !a.hidden));
    p.a.to_send.push_back(eth_frame(3));
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.b.rx_frames, vec![eth_frame(3)]);
    // a peer without the secret cannot reveal it: the ICRQ is ignored (counted)
    let mut c = cfg(Encap::Udp, b"hide-me", 8, PW_ETHERNET);
    c.hide_avps = true;
    let mut d = c.clone();
    d.secret = None;
    c.secret = Some(b"hide-me".to_vec());
    c.digest = DigestHash::None;
    d.digest = DigestHash::None;
    let (mut p, _) = pair(c, d, LinkConfig::perfect(), 12);
    p.run_for(Duration::from_secs(3));
    assert!(!p.b.session_up());
    assert!(p.b.c.stats().malformed >= 1);
}

#[test]
fn reorder_buffer_holds_gap_until_timeout_exact() {
    let mut a = cfg(Encap::Ip, b"s", 4, PW_ETHERNET);
    let mut b = a.clone();
    a.reorder = None;
    b.reorder = Some(ReorderConfig {
        capacity: 8,
        timeout: Duration::from_millis(50),
    });
    let (mut p, _) = pair(a, b, LinkConfig::perfect(), 13);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    p.run_to_idle(Duration::from_secs(1));
    // encapsulate six frames at a and hand them to b by hand in the order 0 2 1 4 5 (3 lost)
    let mut pkts = Vec::new();
    for i in 0..6u8 {
        let mut out = vec![0u8; 200];
        let n = p.a.c.encapsulate(&eth_frame(i), &mut out).unwrap();
        out.truncate(n);
        pkts.push(out);
    }
    let t0 = p.now();
    let b = &mut p.b.c;
    let sid = b.local_session_id();
    let got = |r: Result<V3Input<'_>, l2tp::Error>| match r.unwrap() {
        V3Input::Data(d) => Some(d.payload[14]),
        V3Input::Queued { session_id } => {
            assert_eq!(session_id, sid);
            None
        }
        V3Input::Control => panic!("control"),
    };
    assert_eq!(got(b.handle_input(t0, &pkts[0])), Some(0));
    assert_eq!(got(b.handle_input(t0, &pkts[2])), None);
    assert_eq!(b.poll_data(), None);
    assert_eq!(got(b.handle_input(t0, &pkts[1])), Some(1));
    assert_eq!(b.poll_data().map(|(s, f)| (s, f[14])), Some((sid, 2)));
    let t1 = t0 + Duration::from_millis(7);
    assert_eq!(got(b.handle_input(t1, &pkts[4])), None);
    assert_eq!(got(b.handle_input(t1, &pkts[5])), None);
    assert!(b.handle_input(t1, &pkts[2]).is_err()); // duplicate
    let deadline = b.poll_timeout().unwrap();
    assert_eq!(deadline, t1 + Duration::from_millis(50));
    b.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(b.poll_data(), None);
    b.handle_timeout(deadline);
    let rel: Vec<u8> = std::iter::from_fn(|| b.poll_data())
        .map(|(_, f)| f[14])
        .collect();
    assert_eq!(rel, vec![4, 5]);
    // 3 arrives too late
    assert!(b.handle_input(deadline, &pkts[3]).is_err());
    let st = b.session(sid).unwrap().reorder_stats().unwrap();
    assert_eq!(
        (
            st.in_order,
            st.reordered,
            st.lost,
            st.duplicates,
            st.too_old
        ),
        (2, 3, 1, 1, 1)
    );
}

#[test]
fn reorder_buffer_restores_order_over_a_reordering_link() {
    let mut a = cfg(Encap::Udp, b"s", 0, PW_ETHERNET);
    let mut b = a.clone();
    a.reorder = None;
    b.reorder = Some(ReorderConfig {
        capacity: 32,
        timeout: Duration::from_millis(100),
    });
    let link = LinkConfig {
        reorder: 0.3,
        duplicate: 0.1,
        jitter: Duration::from_millis(5),
        ..LinkConfig::perfect()
    };
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let start = Instant::now();
    let mut ca = ControlConnectionV3::new(a, true, &mut rng).unwrap();
    let cb = ControlConnectionV3::new(b, false, &mut rng).unwrap();
    ca.connect(start).unwrap();
    let mut p = Pair::with_start(Ep::new(ca), Ep::new(cb), link.clone(), link, 21, start);
    p.run_until(Duration::from_secs(10), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    // one frame per millisecond; the link holds 30% of them back by 15 ms and jitters 5 ms
    for i in 0..200u8 {
        p.a.to_send.push_back(eth_frame(i));
        p.run_for(Duration::from_millis(1));
    }
    p.run_for(Duration::from_secs(1));
    // no loss on this link: everything arrives, exactly once, in order
    let got: Vec<u8> = p.b.rx_frames.iter().map(|f| f[14]).collect();
    assert_eq!(
        got,
        (0..200).collect::<Vec<u8>>(),
        "{:?} {:?}",
        p.b.c.stats(),
        p.b.c
            .session(p.b.c.local_session_id())
            .unwrap()
            .reorder_stats()
    );
    let st =
        p.b.c
            .session(p.b.c.local_session_id())
            .unwrap()
            .reorder_stats()
            .unwrap();
    assert!(st.reordered > 0, "{st:?}");
    assert!(st.duplicates > 0, "{st:?}");
    assert_eq!(st.lost, 0);
}

// ---- the LNS: L2TPv3 over IP, several sessions per connection, max-sessions budget ----

#[test]
fn lns_serves_l2tpv3_over_ip_with_several_sessions_and_session_budget() {
    let mut served = 0;
    for seed in 0..6u64 {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let start = Instant::now();
        let s = Lns::new(
            ServerConfig {
                ppp: ppp::ServerSettings {
                    max_sessions: Some(2),
                    ..ppp::ServerSettings::l2tp()
                },
                ..server_cfg()
            },
            l2tp::TunnelConfig::default(),
            Box::new(|_addr, _k| Some(b"lns-secret".to_vec())),
            &mut rng,
        )
        .unwrap();
        let mut c = ControlConnectionV3::new(
            cfg(Encap::Ip, b"lns-secret", 4, PW_ETHERNET),
            true,
            &mut rng,
        )
        .unwrap();
        c.connect(start).unwrap();
        let s2 = c.open_session(start).unwrap();
        let s3 = c.open_session(start).unwrap();
        let l = LnsEp::new(s, 9, "10.0.0.9", true);
        let link = LinkConfig::lossy(0.2);
        let mut p = Pair::with_start(Ep::new(c), l, link.clone(), link, seed, start);
        let Some(_) = p.run_until(Duration::from_secs(120), |a, _| {
            a.sessions_up() == 2
                && a.events
                    .iter()
                    .any(|e| matches!(e, V3Event::SessionDown { .. }))
        }) else {
            assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
            continue;
        };
        served += 1;
        // max-sessions=2: the third ICRQ got a CDN (result 4)
        assert_eq!(p.b.s.v3_session_count(), 2);
        assert_eq!(p.a.c.session_count(), 2);
        let refused: Vec<u32> =
            p.a.events
                .iter()
                .filter_map(|e| match e {
                    V3Event::SessionDown {
                        local_session_id, ..
                    } => Some(*local_session_id),
                    _ => None,
                })
                .collect();
        assert_eq!(refused.len(), 1);
        assert!([p.a.c.local_session_id(), s2, s3].contains(&refused[0]));
        let ccid = p.a.c.peer_ccid();
        assert_eq!(p.b.s.v3_encap(ccid), Some(Encap::Ip));
        // data on both sessions, demultiplexed by session id and echoed on the same one
        let live: Vec<u32> = p.a.c.sessions().map(|s| s.local_session_id()).collect();
        for (k, sid) in live.iter().enumerate() {
            for i in 0..10u8 {
                p.a.to_send_sid
                    .push_back((*sid, eth_frame(k as u8 * 50 + i)));
            }
        }
        p.run_for(Duration::from_secs(2));
        assert!(!p.b.rx.is_empty());
        for (cc, lsid, f) in &p.b.rx {
            assert_eq!(*cc, ccid);
            let k = live
                .iter()
                .position(|s| p.a.c.session(*s).unwrap().remote_session_id() == *lsid)
                .unwrap();
            assert_eq!(f[14] / 50, k as u8);
        }
        for (sid, f) in &p.a.rx_by_sid {
            let k = live.iter().position(|s| s == sid).unwrap();
            assert_eq!(f[14] / 50, k as u8);
        }
        // closing one session at the LNS frees budget and the demux entry
        let lsid = p.b.rx[0].1;
        let now = p.now();
        p.b.s.v3_close_session(now, ccid, lsid).unwrap();
        assert_eq!(p.b.s.v3_session_count(), 1);
    }
    assert!(served >= 5, "{served}");
}

#[test]
fn simultaneous_sccrqs_converge_under_loss() {
    let mut ok = 0;
    for seed in 0..16u64 {
        let mut rng = ChaCha20Rng::seed_from_u64(500 + seed);
        let start = Instant::now();
        let mut ca =
            ControlConnectionV3::new(cfg(Encap::Ip, b"s", 8, PW_ETHERNET), true, &mut rng).unwrap();
        let mut cb =
            ControlConnectionV3::new(cfg(Encap::Ip, b"s", 8, PW_ETHERNET), true, &mut rng).unwrap();
        ca.connect(start).unwrap();
        cb.connect(start).unwrap();
        let link = LinkConfig::lossy(0.3);
        let mut p = Pair::with_start(Ep::new(ca), Ep::new(cb), link.clone(), link, seed, start);
        let Some(_) = p.run_until(Duration::from_secs(120), |a, b| {
            a.session_up() && b.session_up()
        }) else {
            // the retry limit may be exhausted at 30% loss; that must be a clean close
            assert!(
                p.a.c.state() == V3State::Closed || p.b.c.state() == V3State::Closed,
                "seed {seed}: stuck"
            );
            continue;
        };
        ok += 1;
        p.run_for(Duration::from_secs(10));
        // one connection: each side's peer ccid is the other's, one initiator, one session
        assert_eq!(p.a.c.peer_ccid(), p.b.c.local_ccid(), "seed {seed}");
        assert_eq!(p.b.c.peer_ccid(), p.a.c.local_ccid(), "seed {seed}");
        assert!(p.a.c.is_initiator() ^ p.b.c.is_initiator(), "seed {seed}");
        assert_eq!(p.a.c.session_count(), 1, "seed {seed}");
        assert_eq!(p.b.c.session_count(), 1, "seed {seed}");
        assert_eq!(p.a.c.state(), V3State::Established);
        assert_eq!(p.b.c.state(), V3State::Established);
    }
    assert!(ok >= 13, "{ok}");
}

#[test]
fn lns_many_v3_connections_timer_heap_matches_a_scan() {
    // 300 L2TPv3 clients over IP, one session each; the LNS keeps v3 timers in a heap: its
    // poll_timeout must equal the minimum over all its connections at every idle step.
    let n = 300usize;
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let start = Instant::now();
    // All 300 come from one address at once: lift the SCCRQ rate limits and the per-source
    // half-open limit (both tested in flood.rs).
    let lifted = l2tp::RateLimit {
        per_second: 1000,
        burst: 1000,
    };
    let mut s: Lns<u32> = Lns::new(
        ServerConfig {
            sccrq_rate_per_source: lifted,
            sccrq_rate_global: lifted,
            max_half_open_per_source: n,
            ..server_cfg()
        },
        l2tp::TunnelConfig::default(),
        Box::new(|_addr, _k| Some(b"lns-secret".to_vec())),
        &mut rng,
    )
    .unwrap();
    let mut cs: Vec<ControlConnectionV3> = (0..n)
        .map(|_| {
            let mut c = ControlConnectionV3::new(
                cfg(Encap::Ip, b"lns-secret", 4, PW_ETHERNET),
                true,
                &mut rng,
            )
            .unwrap();
            c.connect(start).unwrap();
            c
        })
        .collect();
    let mut now = start;
    let mut checks = 0;
    for _ in 0..2000 {
        let mut moved = false;
        for (i, c) in cs.iter_mut().enumerate() {
            let peer = Peer {
                key: i as u32,
                addr: "10.0.0.1".parse().unwrap(),
                via_ipsec: false,
            };
            while let Some(d) = c.poll_transmit(now) {
                moved = true;
                let _ = s.handle_input_ip(now, &peer, &d);
            }
            while c.poll_event().is_some() {}
        }
        while let Some((k, d)) = s.poll_transmit(now) {
            moved = true;
            let _ = cs[k as usize].handle_input(now, &d);
        }
        while s.poll_v3_event().is_some() {}
        if !moved {
            let scan = cs
                .iter()
                .filter_map(|c| s.v3_connection(c.peer_ccid()))
                .filter_map(|c| c.poll_timeout())
                .min();
            assert_eq!(s.poll_timeout(), scan);
            checks += 1;
            if cs.iter().all(|c| c.session_ready()) && s.v3_session_count() == n {
                break;
            }
            now += Duration::from_millis(100);
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
            for c in cs.iter_mut() {
                if c.poll_timeout().is_some_and(|t| t <= now) {
                    c.handle_timeout(now);
                }
            }
        }
    }
    assert!(cs.iter().all(|c| c.session_ready()));
    assert_eq!(s.v3_count(), n);
    assert_eq!(s.v3_session_count(), n);
    assert!(checks >= 1);
    // an hour of silence: every connection's HELLO keeps it alive; the heap drives them
    for _ in 0..60 {
        now += Duration::from_secs(60);
        s.handle_timeout(now);
        for c in cs.iter_mut() {
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.handle_timeout(now);
            }
        }
        for _ in 0..4 {
            while let Some((k, d)) = s.poll_transmit(now) {
                let _ = cs[k as usize].handle_input(now, &d);
            }
            for (i, c) in cs.iter_mut().enumerate() {
                let peer = Peer {
                    key: i as u32,
                    addr: "10.0.0.1".parse().unwrap(),
                    via_ipsec: false,
                };
                while let Some(d) = c.poll_transmit(now) {
                    let _ = s.handle_input_ip(now, &peer, &d);
                }
            }
        }
    }
    assert_eq!(s.v3_count(), n);
    assert!(cs.iter().all(|c| c.state() == V3State::Established));
    let hellos: u64 = cs.iter().map(|c| c.stats().hellos_sent).sum();
    assert!(hellos >= n as u64 * 50, "{hellos}");
}

// ---- outgoing calls (OCRQ/OCRP/OCCN), Circuit Status / SLI, WEN ----

const MS: Duration = Duration::from_millis(1);

/// Message types of the control datagrams in `p.trace[from..]`, with direction.
fn control_types<A, B>(p: &Pair<A, B>, from: usize, encap: Encap) -> Vec<(netsim::Dir, u16)> {
    p.trace[from..]
        .iter()
        .filter(|t| t.fate == netsim::Fate::Delivered)
        .filter_map(|t| {
            let m = ControlMessageV3::parse(encap, &t.data).ok()?;
            Some((t.dir, m.message_type_raw()?))
        })
        .collect()
}

/// The first control message of type `ty` sent in direction `dir` in `p.trace[from..]`.
fn find_msg<A, B>(
    p: &Pair<A, B>,
    from: usize,
    encap: Encap,
    dir: netsim::Dir,
    ty: u16,
) -> ControlMessageV3 {
    p.trace[from..]
        .iter()
        .filter(|t| t.dir == dir)
        .filter_map(|t| ControlMessageV3::parse(encap, &t.data).ok())
        .find(|m| m.message_type_raw() == Some(ty))
        .unwrap_or_else(|| panic!("no message type {ty}"))
}

fn avp_value(m: &ControlMessageV3, attr: u16) -> Vec<u8> {
    m.avps
        .iter()
        .find(|a| a.attr_type == attr && a.vendor_id == 0)
        .map(|a| a.value.clone())
        .unwrap_or_else(|| panic!("no AVP {attr}"))
}

fn up_pair(mut a: V3Config, b: V3Config, seed: u64) -> Pair<Ep, Ep> {
    a.auto_session = false;
    let (mut p, _) = pair(a, b, LinkConfig::perfect(), seed);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.c.state() == V3State::Established && b.c.state() == V3State::Established
    })
    .unwrap();
    p.run_for(Duration::from_secs(1));
    p
}

fn peer_sid(p: &Pair<Ep, Ep>, a_sid: u32) -> u32 {
    p.a.c.session(a_sid).unwrap().remote_session_id()
}

#[test]
fn outgoing_call_ladder_exact() {
    use netsim::Dir::{AtoB, BtoA};
    let mut p = up_pair(
        cfg(Encap::Udp, b"s", 4, PW_ETHERNET),
        cfg(Encap::Udp, b"s", 8, PW_ETHERNET),
        3,
    );
    let t = p.now();
    let from = p.trace.len();
    let sid = p.a.c.open_outgoing_session(t).unwrap();
    assert_eq!(
        p.a.c.session(sid).unwrap().state(),
        l2tp::v3::V3SessionState::WaitReply
    );
    p.run_for(Duration::from_millis(200));
    // 10 ms links: OCRQ at t, OCRP + OCCN at t+10, the ack at t+20
    assert_eq!(
        control_types(&p, from, Encap::Udp),
        vec![(AtoB, 7), (BtoA, 8), (BtoA, 9)]
    );
    let bsid = peer_sid(&p, sid);
    assert_eq!(
        p.b.timed
            .iter()
            .filter(|(at, _)| *at >= t)
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            (
                t + 10 * MS,
                V3Event::PeerCircuitStatus {
                    local_session_id: bsid,
                    active: true
                }
            ),
            (
                t + 10 * MS,
                V3Event::SessionUp {
                    local_session_id: bsid,
                    remote_session_id: sid
                }
            ),
        ]
    );
    assert_eq!(
        p.a.timed
            .iter()
            .filter(|(at, _)| *at >= t)
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            (
                t + 20 * MS,
                V3Event::PeerCircuitStatus {
                    local_session_id: sid,
                    active: true
                }
            ),
            (
                t + 20 * MS,
                V3Event::SessionUp {
                    local_session_id: sid,
                    remote_session_id: bsid
                }
            ),
        ]
    );
    // RFC 3931 s6.9 mandatory AVPs of the OCRQ
    use l2tp::wire::avp::attr;
    let ocrq = find_msg(&p, from, Encap::Udp, AtoB, 7);
    assert_eq!(avp_value(&ocrq, attr::LOCAL_SESSION_ID), sid.to_be_bytes());
    assert_eq!(avp_value(&ocrq, attr::REMOTE_SESSION_ID), [0; 4]);
    assert_eq!(avp_value(&ocrq, attr::CALL_SERIAL_NUMBER), [0, 0, 0, 1]);
    assert_eq!(
        avp_value(&ocrq, attr::PSEUDOWIRE_TYPE),
        PW_ETHERNET.to_be_bytes()
    );
    assert_eq!(avp_value(&ocrq, attr::REMOTE_END_ID), b"");
    assert_eq!(avp_value(&ocrq, attr::CIRCUIT_STATUS), [0, 3]);
    assert_eq!(avp_value(&ocrq, attr::ASSIGNED_COOKIE).len(), 4);
    let ocrp = find_msg(&p, from, Encap::Udp, BtoA, 8);
    assert_eq!(avp_value(&ocrp, attr::LOCAL_SESSION_ID), bsid.to_be_bytes());
    assert_eq!(avp_value(&ocrp, attr::REMOTE_SESSION_ID), sid.to_be_bytes());
    assert_eq!(avp_value(&ocrp, attr::CIRCUIT_STATUS), [0, 3]);
    assert_eq!(avp_value(&ocrp, attr::ASSIGNED_COOKIE).len(), 8);
    let occn = find_msg(&p, from, Encap::Udp, BtoA, 9);
    assert_eq!(occn.avps.len(), 4); // Message Type, Message Digest, the two session ids
                                    // both ends agree on the call
    let (sa, sb) = (p.a.c.session(sid).unwrap(), p.b.c.session(bsid).unwrap());
    assert!(sa.is_outgoing() && sb.is_outgoing());
    assert_eq!(sa.serial_number(), 1);
    assert_eq!(sb.serial_number(), 1);
    assert_eq!(
        sa.data_path().unwrap().send_cookie,
        sb.data_path().unwrap().peer_cookie
    );
    assert_eq!(
        sb.data_path().unwrap().send_cookie,
        sa.data_path().unwrap().peer_cookie
    );
    // frames both ways on the outgoing session
    for i in 0..5 {
        p.a.to_send_sid.push_back((sid, eth_frame(i)));
        p.b.to_send_sid.push_back((bsid, eth_frame(100 + i)));
    }
    p.run_for(Duration::from_millis(100));
    assert_eq!(
        p.b.rx_by_sid,
        (0..5).map(|i| (bsid, eth_frame(i))).collect::<Vec<_>>()
    );
    assert_eq!(
        p.a.rx_by_sid,
        (0..5)
            .map(|i| (sid, eth_frame(100 + i)))
            .collect::<Vec<_>>()
    );
}

#[test]
fn outgoing_calls_from_either_side_under_loss() {
    let mut all_up = 0;
    for seed in 0..12u64 {
        let Some((mut p, a_out, b_out)) = three_sessions_under_loss(
            cfg(Encap::Ip, b"s", 4, PW_PPP),
            cfg(Encap::Ip, b"s", 0, PW_PPP),
            300 + seed,
            ControlConnectionV3::open_outgoing_session,
        ) else {
            continue;
        };
        all_up += 1;
        for s in p.a.c.sessions() {
            let peer = p.b.c.session(s.remote_session_id()).unwrap();
            assert_eq!(peer.remote_session_id(), s.local_session_id());
            assert_eq!(peer.is_outgoing(), s.is_outgoing(), "seed {seed}");
            assert_eq!(peer.serial_number(), s.serial_number(), "seed {seed}");
            assert_eq!(
                s.data_path().unwrap().send_cookie,
                peer.data_path().unwrap().peer_cookie
            );
        }
        assert!(p.a.c.session(a_out).unwrap().is_outgoing());
        assert!(p.b.c.session(b_out).unwrap().is_outgoing());
        assert_eq!(p.a.c.sessions().filter(|s| s.is_outgoing()).count(), 2);
        // calls each side placed are numbered 1, 2, ... by that side
        assert_eq!(p.a.c.session(a_out).unwrap().serial_number(), 2);
        assert_eq!(p.b.c.session(b_out).unwrap().serial_number(), 1);
        // PPP frames cross on b's outgoing call
        let a_side = p.b.c.session(b_out).unwrap().remote_session_id();
        for i in 0..10u8 {
            p.b.to_send_sid
                .push_back((b_out, vec![0xff, 0x03, 0xc0, 0x21, i]));
        }
        p.run_for(Duration::from_secs(1));
        assert!(!p.a.rx_by_sid.is_empty(), "seed {seed}");
        assert!(p
            .a
            .rx_by_sid
            .iter()
            .all(|(s, f)| *s == a_side && f[..4] == [0xff, 0x03, 0xc0, 0x21]));
    }
    assert!(all_up >= 10, "{all_up}");
}

#[test]
fn outgoing_call_refused_by_session_limit_and_pw_type() {
    use l2tp::wire::avp::{attr, Avp, AvpValue};
    use netsim::Dir::BtoA;
    // session limit: CDN result 4
    let a = cfg(Encap::Udp, b"s", 0, PW_ETHERNET);
    let mut b = cfg(Encap::Udp, b"s", 0, PW_ETHERNET);
    b.max_sessions = 1;
    let (mut p, _) = pair(a, b, LinkConfig::perfect(), 9);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    let from = p.trace.len();
    let now = p.now();
    let second = p.a.c.open_outgoing_session(now).unwrap();
    p.run_for(Duration::from_millis(100));
    assert!(p.a.events.contains(&V3Event::SessionDown {
        local_session_id: second,
        reason: "CDN from peer"
    }));
    let cdn = find_msg(&p, from, Encap::Udp, BtoA, 14);
    assert_eq!(avp_value(&cdn, attr::RESULT_CODE)[..2], [0, 4]);
    assert_eq!(
        avp_value(&cdn, attr::REMOTE_SESSION_ID),
        second.to_be_bytes()
    );
    assert_eq!(p.b.c.stats().sessions_refused, 1);
    assert_eq!(p.b.c.session_count(), 1);

    // pseudowire type: an OCRQ asking for PPP on an Ethernet connection gets CDN result 14
    let mut a = cfg(Encap::Udp, b"", 0, PW_ETHERNET);
    a.secret = None;
    let mut b = a.clone();
    b.max_sessions = 8;
    let mut p = up_pair(a, b, 10);
    let now = p.now();
    let sid = p.a.c.open_outgoing_session(now).unwrap();
    let raw = p.a.c.poll_transmit(now).unwrap();
    let mut m = ControlMessageV3::parse(Encap::Udp, &raw).unwrap();
    for av in m.avps.iter_mut() {
        if av.attr_type == attr::PSEUDOWIRE_TYPE {
            *av = Avp::m(&AvpValue::PseudowireType(PW_PPP));
        }
    }
    let forged = l2tp::wire::v3::sign_with(&mut m, Encap::Udp, DigestHash::None, &[], &[]).unwrap();
    p.b.c.handle_input(now, &forged).unwrap();
    let cdn = std::iter::from_fn(|| p.b.c.poll_transmit(now))
        .filter_map(|d| ControlMessageV3::parse(Encap::Udp, &d).ok())
        .find(|m| m.message_type_raw() == Some(14))
        .unwrap();
    assert_eq!(avp_value(&cdn, attr::RESULT_CODE)[..2], [0, 14]);
    assert_eq!(avp_value(&cdn, attr::LOCAL_SESSION_ID), [0; 4]);
    assert_eq!(avp_value(&cdn, attr::REMOTE_SESSION_ID), sid.to_be_bytes());
    assert_eq!(p.b.c.stats().sessions_refused, 1);
    assert_eq!(p.b.c.session_count(), 0);
    // the CDN reaches a and ends its call
    let mut cdn_wire = cdn.clone();
    let cdn_bytes =
        l2tp::wire::v3::sign_with(&mut cdn_wire, Encap::Udp, DigestHash::None, &[], &[]).unwrap();
    p.a.c.handle_input(now, &cdn_bytes).unwrap();
    assert_eq!(
        std::iter::from_fn(|| p.a.c.poll_event()).collect::<Vec<_>>(),
        vec![V3Event::SessionDown {
            local_session_id: sid,
            reason: "CDN from peer"
        }]
    );
}

#[test]
fn circuit_status_in_setup_and_set_link_info_exact() {
    use l2tp::wire::avp::attr;
    use netsim::Dir::AtoB;
    let mut a = cfg(Encap::Ip, b"s", 4, PW_ETHERNET);
    a.circuit_active = false;
    let b = cfg(Encap::Ip, b"s", 4, PW_ETHERNET);
    let (mut p, _) = pair(a, b, LinkConfig::perfect(), 11);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    p.run_for(Duration::from_secs(1));
    let sid = p.a.c.local_session_id();
    let bsid = peer_sid(&p, sid);
    // initial status rides in the ICRQ (a: down) and the ICRP (b: up)
    assert_eq!(
        p.b.c.session(bsid).unwrap().peer_circuit_active(),
        Some(false)
    );
    assert_eq!(
        p.a.c.session(sid).unwrap().peer_circuit_active(),
        Some(true)
    );
    assert!(!p.a.c.session(sid).unwrap().local_circuit_active());
    assert!(p.b.events.contains(&V3Event::PeerCircuitStatus {
        local_session_id: bsid,
        active: false
    }));
    assert_eq!(p.a.c.stats().sli_sent, 0);

    // a's circuit comes up: one SLI, seen by b one link delay later
    let t = p.now();
    let from = p.trace.len();
    p.a.c.set_circuit_status(t, sid, true).unwrap();
    p.a.c.set_circuit_status(t, sid, true).unwrap(); // no change: nothing more
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.a.c.stats().sli_sent, 1);
    assert_eq!(
        p.b.timed
            .iter()
            .filter(|(at, _)| *at >= t)
            .cloned()
            .collect::<Vec<_>>(),
        vec![(
            t + 10 * MS,
            V3Event::PeerCircuitStatus {
                local_session_id: bsid,
                active: true
            }
        )]
    );
    let sli = find_msg(&p, from, Encap::Ip, AtoB, 16);
    assert_eq!(avp_value(&sli, attr::LOCAL_SESSION_ID), sid.to_be_bytes());
    assert_eq!(avp_value(&sli, attr::REMOTE_SESSION_ID), bsid.to_be_bytes());
    assert_eq!(avp_value(&sli, attr::CIRCUIT_STATUS), [0, 1]); // existing circuit, active

    // b's circuit goes down
    let t2 = p.now();
    p.b.c.set_circuit_status(t2, bsid, false).unwrap();
    p.run_for(Duration::from_millis(100));
    assert_eq!(
        p.a.timed
            .iter()
            .filter(|(at, _)| *at >= t2)
            .cloned()
            .collect::<Vec<_>>(),
        vec![(
            t2 + 10 * MS,
            V3Event::PeerCircuitStatus {
                local_session_id: sid,
                active: false
            }
        )]
    );

    // a change while a session is being set up follows as an SLI once it is up
    let t3 = p.now();
    let s2 = p.a.c.open_session(t3).unwrap(); // ICRQ goes out now, circuit down (config)
    p.a.c.set_circuit_status(t3, s2, true).unwrap();
    assert_eq!(p.a.c.stats().sli_sent, 1);
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.a.c.stats().sli_sent, 2);
    let b2 = peer_sid(&p, s2);
    assert_eq!(
        p.b.timed
            .iter()
            .filter(|(at, e)| *at >= t3 && matches!(e, V3Event::PeerCircuitStatus { .. }))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            (
                t3 + 10 * MS,
                V3Event::PeerCircuitStatus {
                    local_session_id: b2,
                    active: false
                }
            ),
            (
                t3 + 30 * MS,
                V3Event::PeerCircuitStatus {
                    local_session_id: b2,
                    active: true
                }
            ),
        ]
    );
    // unknown session
    assert!(p.a.c.set_circuit_status(t3, 0xdead_beef, true).is_err());
}

#[test]
fn circuit_status_changes_arrive_in_order_under_loss() {
    let mut ok = 0;
    for seed in 0..10u64 {
        let (mut p, _) = pair(
            cfg(Encap::Udp, b"s", 4, PW_ETHERNET),
            cfg(Encap::Udp, b"s", 4, PW_ETHERNET),
            LinkConfig::lossy(0.3),
            500 + seed,
        );
        let Some(_) = p.run_until(Duration::from_secs(120), |a, b| {
            a.session_up() && b.session_up()
        }) else {
            assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
            continue;
        };
        let sid = p.a.c.local_session_id();
        let bsid = peer_sid(&p, sid);
        for k in 0..6 {
            let now = p.now();
            p.a.c.set_circuit_status(now, sid, k % 2 == 1).unwrap();
            p.run_for(Duration::from_millis(300));
        }
        let Some(_) = p.run_until(Duration::from_secs(120), |_, b| {
            b.c.session(bsid).unwrap().peer_circuit_active() == Some(true)
                && b.events
                    .iter()
                    .filter(|e| matches!(e, V3Event::PeerCircuitStatus { .. }))
                    .count()
                    == 7
        }) else {
            assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
            continue;
        };
        ok += 1;
        let seen: Vec<bool> =
            p.b.events
                .iter()
                .filter_map(|e| match e {
                    V3Event::PeerCircuitStatus { active, .. } => Some(*active),
                    _ => None,
                })
                .collect();
        assert_eq!(
            seen,
            vec![true, false, true, false, true, false, true],
            "seed {seed}"
        );
        assert_eq!(p.a.c.stats().sli_sent, 6);
    }
    assert!(ok >= 8, "{ok}");
}

#[test]
fn wan_error_notify_carries_circuit_errors() {
    use l2tp::wire::avp::attr;
    use netsim::Dir::AtoB;
    let (mut p, _) = pair(
        cfg(Encap::Udp, b"s", 0, PW_PPP),
        cfg(Encap::Udp, b"s", 0, PW_PPP),
        LinkConfig::perfect(),
        12,
    );
    let sid = p.a.c.local_session_id();
    // not up yet
    assert!(p.a.c.report_circuit_errors(p.now(), sid, [0; 6]).is_err());
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    p.run_for(Duration::from_secs(1));
    let bsid = peer_sid(&p, sid);
    let t = p.now();
    let from = p.trace.len();
    p.a.c
        .report_circuit_errors(t, sid, [1, 2, 3, 4, 5, 0xffff_ffff])
        .unwrap();
    p.run_for(Duration::from_millis(100));
    assert_eq!(
        p.b.timed
            .iter()
            .filter(|(at, _)| *at >= t)
            .cloned()
            .collect::<Vec<_>>(),
        vec![(
            t + 10 * MS,
            V3Event::WanError {
                local_session_id: bsid,
                errors: [1, 2, 3, 4, 5, 0xffff_ffff]
            }
        )]
    );
    let wen = find_msg(&p, from, Encap::Udp, AtoB, 15);
    let v = avp_value(&wen, attr::CALL_ERRORS);
    assert_eq!(v.len(), 26); // 2 reserved octets, six 32-bit counters
    assert_eq!(&v[..6], &[0, 0, 0, 0, 0, 1]);
    assert!(p.a.c.report_circuit_errors(t, 0xdead_beef, [0; 6]).is_err());
    // at most one WEN per session every 60 s
    let t1 = t + Duration::from_secs(60) - MS;
    assert!(p.a.c.report_circuit_errors(t1, sid, [9; 6]).is_err());
    p.run_for(Duration::from_secs(60));
    let t2 = p.now();
    assert!(t2 >= t + Duration::from_secs(60));
    p.a.c.report_circuit_errors(t2, sid, [9; 6]).unwrap();
    p.run_for(Duration::from_millis(100));
    assert_eq!(
        p.b.events
            .iter()
            .filter(|e| matches!(e, V3Event::WanError { .. }))
            .count(),
        2
    );
}

#[test]
fn lns_places_outgoing_call_and_exchanges_circuit_status() {
    let mut up = 0;
    for seed in 0..8u64 {
        let mut p = lns_pair(
            server_cfg(),
            cfg(Encap::Udp, b"lns-secret", 4, PW_ETHERNET),
            LinkConfig::lossy(0.3),
            700 + seed,
        );
        p.b.echo = false;
        let Some(_) = p.run_until(Duration::from_secs(120), |a, _| a.session_up()) else {
            assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
            continue;
        };
        let ccid = p.a.c.peer_ccid();
        let now = p.now();
        let ssid = p.b.s.v3_open_outgoing_session(now, ccid).unwrap();
        let Some(_) = p.run_until(Duration::from_secs(120), |a, b| {
            a.sessions_up() == 2
                && b.events.contains(&V3Event::SessionUp {
                    local_session_id: ssid,
                    remote_session_id: a
                        .c
                        .sessions()
                        .find(|s| s.remote_session_id() == ssid)
                        .map_or(0, |s| s.local_session_id()),
                })
        }) else {
            assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
            continue;
        };
        let csid =
            p.a.c
                .sessions()
                .find(|s| s.remote_session_id() == ssid)
                .unwrap()
                .local_session_id();
        assert!(p.a.c.session(csid).unwrap().is_outgoing());
        assert_eq!(p.b.s.v3_session_count(), 2);
        // client circuit down -> LNS event; LNS circuit down -> client event; WEN to the client
        let now = p.now();
        p.a.c.set_circuit_status(now, csid, false).unwrap();
        p.b.s.v3_set_circuit_status(now, ccid, ssid, false).unwrap();
        p.b.s
            .v3_report_circuit_errors(now, ccid, ssid, [0, 7, 0, 0, 0, 0])
            .unwrap();
        // data on the outgoing call reaches the LNS on that session
        for i in 0..10u8 {
            p.a.to_send_sid.push_back((csid, eth_frame(i)));
        }
        let Some(_) = p.run_until(Duration::from_secs(120), |a, b| {
            b.events.contains(&V3Event::PeerCircuitStatus {
                local_session_id: ssid,
                active: false,
            }) && a.events.contains(&V3Event::PeerCircuitStatus {
                local_session_id: csid,
                active: false,
            }) && a.events.contains(&V3Event::WanError {
                local_session_id: csid,
                errors: [0, 7, 0, 0, 0, 0],
            })
        }) else {
            assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
            continue;
        };
        up += 1;
        assert!(!p.b.rx.is_empty(), "seed {seed}");
        assert!(p.b.rx.iter().all(|(c, s, _)| *c == ccid && *s == ssid));
    }
    assert!(up >= 6, "{up}");
}

fn reorder_tunnel_cfg(timeout: Duration) -> l2tp::TunnelConfig {
    l2tp::TunnelConfig {
        reorder: Some(ReorderConfig {
            capacity: 32,
            timeout,
        }),
        ..l2tp::TunnelConfig::default()
    }
}

#[test]
fn lns_reorders_v3_data_over_a_reordering_link() {
    let link = LinkConfig {
        reorder: 0.3,
        duplicate: 0.1,
        jitter: Duration::from_millis(5),
        ..LinkConfig::perfect()
    };
    let mut p = lns_pair_with(
        server_cfg(),
        reorder_tunnel_cfg(Duration::from_millis(100)),
        cfg(Encap::Udp, b"lns-secret", 4, PW_ETHERNET),
        link,
        31,
    );
    p.b.echo = false;
    p.run_until(Duration::from_secs(10), |a, b| {
        a.session_up()
            && b.events
                .iter()
                .any(|e| matches!(e, V3Event::SessionUp { .. }))
    })
    .unwrap();
    for i in 0..200u8 {
        p.a.to_send.push_back(eth_frame(i));
        p.run_for(Duration::from_millis(1));
    }
    p.run_for(Duration::from_secs(1));
    let got: Vec<u8> = p.b.rx.iter().map(|(_, _, f)| f[14]).collect();
    assert_eq!(got, (0..200).collect::<Vec<u8>>());
    let ccid = p.a.c.peer_ccid();
    let st =
        p.b.s
            .v3_connection(ccid)
            .unwrap()
            .sessions()
            .next()
            .unwrap()
            .reorder_stats()
            .unwrap();
    assert!(st.reordered > 0, "{st:?}");
    assert!(st.duplicates > 0, "{st:?}");
    assert_eq!(st.lost, 0);
}

#[test]
fn lns_v3_reorder_gap_released_at_exact_timeout() {
    let mut p = lns_pair_with(
        server_cfg(),
        reorder_tunnel_cfg(Duration::from_millis(40)),
        cfg(Encap::Udp, b"lns-secret", 0, PW_ETHERNET),
        LinkConfig::perfect(),
        32,
    );
    p.b.echo = false;
    p.run_until(Duration::from_secs(10), |a, _| a.session_up())
        .unwrap();
    p.run_for(Duration::from_secs(1));
    let pkts: Vec<Vec<u8>> = (0..4u8)
        .map(|i| {
            let mut out = vec![0u8; 200];
            let n = p.a.c.encapsulate(&eth_frame(i), &mut out).unwrap();
            out.truncate(n);
            out
        })
        .collect();
    let t0 = p.now();
    let peer = p.b.peer.clone();
    let s = &mut p.b.s;
    let ccid = p.a.c.peer_ccid();
    let lns_sid = p.a.c.data_path().unwrap().remote_session_id;
    match s.handle_input(t0, &peer, &pkts[0]).unwrap() {
        LnsInput::V3Data { payload, .. } => assert_eq!(payload[14], 0),
        other => panic!("{other:?}"),
    }
    for k in [2, 3] {
        assert_eq!(
            s.handle_input(t0, &peer, &pkts[k]).unwrap(),
            LnsInput::V3Queued {
                ccid,
                session_id: lns_sid
            }
        );
    }
    assert_eq!(s.poll_v3_data(), None);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Duration::from_millis(40));
    s.handle_timeout(deadline - MS);
    assert_eq!(s.poll_v3_data(), None);
    s.handle_timeout(deadline);
    let rel: Vec<(u32, u32, u8)> = std::iter::from_fn(|| s.poll_v3_data())
        .map(|(c, sid, f)| (c, sid, f[14]))
        .collect();
    assert_eq!(rel, vec![(ccid, lns_sid, 2), (ccid, lns_sid, 3)]);
    // frame 1 is now too old
    assert!(s.handle_input(deadline, &peer, &pkts[1]).is_err());
}

#[test]
fn explicit_ack_message_acknowledges_without_consuming_a_sequence_number() {
    use l2tp::wire::avp::{Avp, AvpValue};
    let mut a = cfg(Encap::Udp, b"", 0, PW_ETHERNET);
    a.secret = None;
    let b = a.clone();
    let mut p = up_pair(a, b, 40);
    let now = p.now();
    let sid = p.a.c.open_session(now).unwrap();
    let icrq_raw = p.a.c.poll_transmit(now).unwrap();
    let icrq = ControlMessageV3::parse(Encap::Udp, &icrq_raw).unwrap();
    assert_eq!(p.a.c.poll_timeout(), Some(now + Duration::from_secs(1))); // retransmission
                                                                          // b acknowledges the ICRQ with an explicit ACK (type 20) carrying the Ns of its next message
    let mut ack = ControlMessageV3 {
        ccid: p.a.c.local_ccid(),
        ns: icrq.nr,
        nr: icrq.ns.wrapping_add(1),
        avps: vec![Avp::m(&AvpValue::MessageType(20))],
    };
    let ack_raw =
        l2tp::wire::v3::sign_with(&mut ack, Encap::Udp, DigestHash::None, &[], &[]).unwrap();
    p.a.c.handle_input(now, &ack_raw).unwrap();
    // acknowledged: no retransmission pending, only the HELLO timer
    assert!(p.a.c.poll_timeout().unwrap() > now + Duration::from_secs(30));
    assert_eq!(p.a.c.poll_transmit(now), None); // an ACK is not itself acknowledged
                                                // b's next real message uses that same Ns and is accepted (not taken for a duplicate)
    p.b.c.handle_input(now, &icrq_raw).unwrap();
    let icrp_raw = p.b.c.poll_transmit(now).unwrap();
    assert_eq!(
        ControlMessageV3::parse(Encap::Udp, &icrp_raw).unwrap().ns,
        icrq.nr
    );
    p.a.c.handle_input(now, &icrp_raw).unwrap();
    assert_eq!(
        p.a.c.session(sid).unwrap().state(),
        l2tp::v3::V3SessionState::Established
    );
}

/// Re-sign (digest none) a control datagram after `f` changed its AVPs.
fn forge(raw: &[u8], encap: Encap, f: impl FnOnce(&mut Vec<l2tp::wire::avp::Avp>)) -> Vec<u8> {
    let mut m = ControlMessageV3::parse(encap, raw).unwrap();
    f(&mut m.avps);
    l2tp::wire::v3::sign_with(&mut m, encap, DigestHash::None, &[], &[]).unwrap()
}

fn set_avp(avps: &mut Vec<l2tp::wire::avp::Avp>, v: l2tp::wire::avp::AvpValue) {
    let a = l2tp::wire::avp::Avp::m(&v);
    match avps.iter_mut().find(|x| x.attr_type == a.attr_type) {
        Some(x) => *x = a,
        None => avps.push(a),
    }
}

#[test]
fn sublayer_follows_each_sides_requirement() {
    // a requires the sublayer, b does not; each call follows its placer's requirement
    let mut a = cfg(Encap::Udp, b"s", 4, PW_ETHERNET);
    a.l2_sublayer = true;
    let mut b = cfg(Encap::Udp, b"s", 4, PW_ETHERNET);
    b.l2_sublayer = false;
    let (mut p, _) = pair(a, b, LinkConfig::perfect(), 50);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up() && b.session_up()
    })
    .unwrap();
    let now = p.now();
    let b_call = p.b.c.open_session(now).unwrap();
    p.run_until(Duration::from_secs(5), |a, b| {
        a.sessions_up() == 2 && b.sessions_up() == 2
    })
    .unwrap();
    let a_call = p.a.c.local_session_id();
    let b_peer = peer_sid(&p, a_call);
    let a_peer = p.b.c.session(b_call).unwrap().remote_session_id();
    for (sid, want) in [(a_call, true), (a_peer, false)] {
        let d = p.a.c.session(sid).unwrap().data_path().unwrap();
        assert_eq!((d.l2_sublayer, d.rx_l2_sublayer), (want, want));
        assert_eq!(d.overhead(), 8 + 4 + if want { 4 } else { 0 });
    }
    for (sid, want) in [(b_peer, true), (b_call, false)] {
        let d = p.b.c.session(sid).unwrap().data_path().unwrap();
        assert_eq!((d.l2_sublayer, d.rx_l2_sublayer), (want, want));
    }
    for i in 0..4 {
        p.a.to_send_sid.push_back((a_call, eth_frame(i)));
        p.a.to_send_sid.push_back((a_peer, eth_frame(10 + i)));
        p.b.to_send_sid.push_back((b_call, eth_frame(20 + i)));
    }
    p.run_for(Duration::from_millis(100));
    let mut got_b: Vec<(u32, u8)> = p.b.rx_by_sid.iter().map(|(s, f)| (*s, f[14])).collect();
    got_b.sort();
    let mut want_b: Vec<(u32, u8)> = (0..4)
        .map(|i| (b_peer, i))
        .chain((10..14).map(|i| (b_call, i)))
        .collect();
    want_b.sort();
    assert_eq!(got_b, want_b);
    assert_eq!(
        p.a.rx_by_sid
            .iter()
            .map(|(s, f)| (*s, f[14]))
            .collect::<Vec<_>>(),
        (20..24).map(|i| (a_peer, i)).collect::<Vec<_>>()
    );
}

#[test]
fn sublayer_reply_asymmetric_and_refusals() {
    use l2tp::wire::avp::{attr, AvpValue};
    let mut a = cfg(Encap::Udp, b"", 0, PW_ETHERNET);
    a.secret = None;
    a.l2_sublayer = true;
    let b = a.clone();
    let mut p = up_pair(a, b, 51);
    let now = p.now();
    // a reply asking for no sublayer: we send none and still expect ours
    let s1 = p.a.c.open_session(now).unwrap();
    let icrq = p.a.c.poll_transmit(now).unwrap();
    p.b.c.handle_input(now, &icrq).unwrap();
    let icrp = p.b.c.poll_transmit(now).unwrap();
    let icrp0 = forge(&icrp, Encap::Udp, |v| {
        set_avp(v, AvpValue::L2SpecificSublayer(0))
    });
    p.a.c.handle_input(now, &icrp0).unwrap();
    let d = p.a.c.session(s1).unwrap().data_path().unwrap();
    assert_eq!((d.l2_sublayer, d.rx_l2_sublayer), (false, true));
    let mut out = [0u8; 128];
    assert_eq!(
        p.a.c.encapsulate_session(s1, &[1; 20], &mut out).unwrap(),
        8 + 20
    );

    // a reply asking for an unknown sublayer type: CDN result 2 error 3, session gone
    let s2 = p.a.c.open_session(now).unwrap();
    let from_b = exchange(&mut p.a.c, &mut p.b.c, now, |_| {});
    let icrp = from_b.iter().find(|d| msg_type(d) == Some(11)).unwrap();
    let icrp2 = forge(icrp, Encap::Udp, |v| {
        set_avp(v, AvpValue::L2SpecificSublayer(2))
    });
    p.a.c.handle_input(now, &icrp2).unwrap();
    assert!(p.a.c.session(s2).is_none());
    assert!(std::iter::from_fn(|| p.a.c.poll_event()).any(|e| e
        == V3Event::SessionDown {
            local_session_id: s2,
            reason: "peer's L2-Specific Sublayer or sequencing unsupported"
        }));
    let mut cdn = None;
    let _ = exchange(&mut p.a.c, &mut p.b.c, now, |d| {
        if msg_type(d) == Some(14) {
            cdn = Some(ControlMessageV3::parse(Encap::Udp, d).unwrap());
        }
    });
    assert_eq!(avp_value(&cdn.unwrap(), attr::RESULT_CODE), [0, 2, 0, 3]);

    // a request needing sequencing without a sublayer: CDN result 15
    let n_before = p.b.c.session_count();
    let _s3 = p.a.c.open_outgoing_session(now).unwrap();
    let from_b = exchange(&mut p.a.c, &mut p.b.c, now, |d| {
        if msg_type(d) == Some(7) {
            *d = forge(d, Encap::Udp, |v| {
                set_avp(v, AvpValue::L2SpecificSublayer(0));
                set_avp(v, AvpValue::DataSequencing(2));
            });
        }
    });
    let cdn = from_b
        .iter()
        .filter_map(|d| ControlMessageV3::parse(Encap::Udp, d).ok())
        .find(|m| m.message_type_raw() == Some(14))
        .unwrap();
    assert_eq!(avp_value(&cdn, attr::RESULT_CODE), [0, 15]);
    assert_eq!(p.b.c.session_count(), n_before);
}

fn msg_type(d: &[u8]) -> Option<u16> {
    ControlMessageV3::parse(Encap::Udp, d)
        .ok()?
        .message_type_raw()
}

/// Deliver everything `a` has to send to `b` (after `edit`), return what `b` sends back.
fn exchange(
    a: &mut ControlConnectionV3,
    b: &mut ControlConnectionV3,
    now: Instant,
    mut edit: impl FnMut(&mut Vec<u8>),
) -> Vec<Vec<u8>> {
    while let Some(mut d) = a.poll_transmit(now) {
        edit(&mut d);
        let _ = b.handle_input(now, &d);
    }
    std::iter::from_fn(|| b.poll_transmit(now)).collect()
}

#[test]
fn lns_follows_a_client_without_sublayer() {
    let mut client = cfg(Encap::Ip, b"lns-secret", 4, PW_ETHERNET);
    client.l2_sublayer = false;
    let mut server = server_cfg();
    server.l2tpv3_cookie_length = 4;
    let mut p = lns_pair(server, client, LinkConfig::perfect(), 52);
    p.b.over_ip = true;
    p.run_until(Duration::from_secs(5), |a, b| {
        a.session_up()
            && b.events
                .iter()
                .any(|e| matches!(e, V3Event::SessionUp { .. }))
    })
    .unwrap();
    for i in 0..5 {
        p.a.to_send.push_back(eth_frame(i));
    }
    p.run_for(Duration::from_millis(200));
    assert_eq!(p.b.rx_frames(), (0..5).map(eth_frame).collect::<Vec<_>>());
    // echoed back without a sublayer too
    assert_eq!(p.a.rx_frames, (0..5).map(eth_frame).collect::<Vec<_>>());
}

#[test]
fn crossed_requests_for_one_circuit_resolved_by_session_tie_breaker() {
    use l2tp::wire::avp::attr;
    use netsim::Dir::{AtoB, BtoA};
    for (a_out, b_out) in [(false, false), (true, false), (true, true)] {
        let mut p = up_pair(
            cfg(Encap::Udp, b"s", 4, PW_ETHERNET),
            cfg(Encap::Udp, b"s", 4, PW_ETHERNET),
            60,
        );
        let t = p.now();
        let from = p.trace.len();
        let sa = p.a.c.open_call(t, a_out, b"pw-1").unwrap();
        let sb = p.b.c.open_call(t, b_out, b"pw-1").unwrap();
        // a call for another circuit crosses too and is not affected
        let other = p.b.c.open_call(t, false, b"pw-2").unwrap();
        p.run_for(Duration::from_millis(300));
        let req = |dir| {
            p.trace[from..]
                .iter()
                .filter(|e| e.dir == dir)
                .filter_map(|e| ControlMessageV3::parse(Encap::Udp, &e.data).ok())
                .find(|m| matches!(m.message_type_raw(), Some(7 | 10)))
                .unwrap()
        };
        let (ta, tb) = (
            avp_value(&req(AtoB), attr::TIE_BREAKER),
            avp_value(&req(BtoA), attr::TIE_BREAKER),
        );
        let (winner_is_a, loser_sid) = if ta < tb { (true, sb) } else { (false, sa) };
        let (w, l) = if winner_is_a {
            (&p.a, &p.b)
        } else {
            (&p.b, &p.a)
        };
        assert!(l.events.contains(&V3Event::SessionDown {
            local_session_id: loser_sid,
            reason: "lost the session tie breaker"
        }));
        let cdn = find_msg(
            &p,
            from,
            Encap::Udp,
            if winner_is_a { AtoB } else { BtoA },
            14,
        );
        assert_eq!(avp_value(&cdn, attr::RESULT_CODE)[..2], [0, 13]);
        assert_eq!(w.c.stats().session_ties, 1);
        assert_eq!(l.c.stats().session_ties, 1);
        // the winner's call for pw-1 and b's call for pw-2 are up, paired, on both ends
        let win_sid = if winner_is_a { sa } else { sb };
        assert_eq!(w.c.session_count(), 2);
        assert_eq!(l.c.session_count(), 2);
        let ws = w.c.session(win_sid).unwrap();
        assert_eq!(ws.state(), l2tp::v3::V3SessionState::Established);
        let ls = l.c.session(ws.remote_session_id()).unwrap();
        assert_eq!(ls.remote_session_id(), win_sid);
        assert_eq!(ls.peer_remote_end_id(), b"pw-1");
        assert_eq!(ls.is_outgoing(), if winner_is_a { a_out } else { b_out });
        assert_eq!(
            p.b.c.session(other).unwrap().state(),
            l2tp::v3::V3SessionState::Established
        );
    }
}

#[test]
fn session_tie_breaker_converges_under_loss() {
    let mut ok = 0;
    for seed in 0..12u64 {
        let mut a = cfg(Encap::Ip, b"s", 0, PW_ETHERNET);
        a.auto_session = false;
        let b = a.clone();
        let (mut p, _) = pair(a, b, LinkConfig::lossy(0.3), 900 + seed);
        let Some(_) = p.run_until(Duration::from_secs(120), |a, b| {
            a.c.state() == V3State::Established && b.c.state() == V3State::Established
        }) else {
            continue;
        };
        let t = p.now();
        p.a.c.open_call(t, false, b"circuit-7").unwrap();
        p.b.c.open_call(t, false, b"circuit-7").unwrap();
        let Some(_) = p.run_until(Duration::from_secs(120), |a, b| {
            a.sessions_up() == 1 && b.sessions_up() == 1
        }) else {
            assert_eq!(p.a.c.state(), V3State::Closed, "seed {seed}");
            continue;
        };
        p.run_for(Duration::from_secs(5));
        ok += 1;
        // exactly one pseudowire for the circuit, the same on both ends
        assert_eq!(p.a.c.session_count(), 1, "seed {seed}");
        assert_eq!(p.b.c.session_count(), 1, "seed {seed}");
        let s = p.a.c.sessions().next().unwrap();
        let peer = p.b.c.session(s.remote_session_id()).unwrap();
        assert_eq!(peer.remote_session_id(), s.local_session_id());
        assert_eq!(p.a.sessions_up() + p.b.sessions_up(), 2);
        assert!(p.a.c.stats().session_ties + p.b.c.stats().session_ties >= 1);
    }
    assert!(ok >= 10, "{ok}");
}
