#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! L2TP + PPP end to end over the simulated link: the RouterOS L2TP client against the LNS
//! with PPP servers, and the VPDN proxy hand-off.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use l2tp::config::{ClientConfig, ServerConfig};
use l2tp::ppp_link::{ClientEvent, ClientInput, L2tpClient, PppLns, PppLnsEvent, PppLnsInput};
use l2tp::server::Peer;
use l2tp::{CallInfo, Event, ProxyInfo, Tunnel, TunnelConfig};
use md5::{Digest, Md5};
use netsim::{Endpoint, LinkConfig, Pair};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const IPV4: u16 = 0x0021;

struct Client {
    c: L2tpClient,
    events: Vec<ClientEvent>,
    got: Vec<Vec<u8>>,
}

impl Endpoint for Client {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if let Ok(ClientInput::Datagram { payload, .. }) = self.c.handle_input(now, data) {
            self.got.push(payload.to_vec());
        }
        while let Some((_, d)) = self.c.poll_datagram() {
            self.got.push(d);
        }
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.c.poll_transmit(now)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.c.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.c.handle_timeout(now);
        while let Some((_, d)) = self.c.poll_datagram() {
            self.got.push(d);
        }
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
    }
}

struct Server {
    s: PppLns<u8>,
    events: Vec<PppLnsEvent<u8>>,
    echo: bool,
    out: Vec<Vec<u8>>,
}

fn peer() -> Peer<u8> {
    Peer {
        key: 1,
        addr: IpAddr::V4(Ipv4Addr::new(10, 155, 101, 216)),
        via_ipsec: false,
    }
}

impl Server {
    fn echo_back(&mut self, now: Instant, tid: u16, sid: u16, proto: u16, p: &[u8]) {
        if self.echo {
            let mut buf = vec![0u8; 2000];
            let (_, n) = self
                .s
                .send_datagram(now, tid, sid, proto, p, &mut buf)
                .unwrap();
            buf.truncate(n);
            // `out` is popped from the back: keep FIFO order.
            self.out.insert(0, buf);
        }
    }
}

impl Endpoint for Server {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if let Ok(PppLnsInput::Datagram {
            tunnel_id,
            session_id,
            protocol,
            payload,
        }) = self.s.handle_input(now, &peer(), data)
        {
            let p = payload.to_vec();
            self.echo_back(now, tunnel_id, session_id, protocol, &p);
        }
        while let Some((t, s, proto, p)) = self.s.poll_datagram() {
            self.echo_back(now, t, s, proto, &p);
        }
        while let Some(e) = self.s.poll_event() {
            self.events.push(e);
        }
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some((_, d)) = self.s.poll_transmit(now) {
            return Some(d);
        }
        self.out.pop()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.s.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
        while let Some(e) = self.s.poll_event() {
            self.events.push(e);
        }
    }
}

fn aaa() -> ppp::aaa::Aaa {
    let mut a = ppp::aaa::Aaa::new();
    let mut s = ppp::aaa::Secret::new("good_worker@mt.lv", "pass123");
    s.local_address = Some(Ipv4Addr::new(10, 98, 41, 1));
    s.remote_address = Some(Ipv4Addr::new(10, 98, 41, 10));
    a.secrets.push(s);
    a
}

fn server(seed: u64) -> PppLns<u8> {
    server_with(seed, |_| {})
}

fn server_with(seed: u64, tweak: impl FnOnce(&mut TunnelConfig)) -> PppLns<u8> {
    server_cfg(seed, tweak, |_| {})
}

fn server_cfg(
    seed: u64,
    tweak: impl FnOnce(&mut TunnelConfig),
    tweak_server: impl FnOnce(&mut ServerConfig),
) -> PppLns<u8> {
    let mut tcfg = TunnelConfig {
        host_name: b"lns".to_vec(),
        ..Default::default()
    };
    tweak(&mut tcfg);
    let mut cfg = ServerConfig::default();
    cfg.ppp.authentication = ppp::AuthSet::ALL;
    tweak_server(&mut cfg);
    let mut s = PppLns::new(
        cfg,
        tcfg,
        Box::new(|_, _| Some(b"tunnelpass".to_vec())),
        Instant::now(),
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    s.set_store(Box::new(aaa()));
    s
}

fn client(seed: u64, start: Instant) -> L2tpClient {
    client_with(seed, start, |_| {})
}

fn client_with(seed: u64, start: Instant, tweak: impl FnOnce(&mut TunnelConfig)) -> L2tpClient {
    client_cfg(seed, start, |c| tweak(&mut c.tunnel))
}

fn client_cfg(seed: u64, start: Instant, tweak: impl FnOnce(&mut ClientConfig)) -> L2tpClient {
    let mut cfg = ClientConfig::default();
    cfg.tunnel = TunnelConfig {
        host_name: b"client".to_vec(),
        secret: Some(b"tunnelpass".to_vec()),
        ..Default::default()
    };
    cfg.ppp.user = "good_worker@mt.lv".into();
    cfg.ppp.password = "pass123".into();
    tweak(&mut cfg);
    L2tpClient::new(cfg, start, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap()
}

fn net_up(c: &Client) -> Option<ppp::Ipv4Info> {
    c.events.iter().find_map(|e| match e {
        ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::NetworkUp(i))) => Some(i.clone()),
        _ => None,
    })
}

fn icmp_like(n: u8) -> Vec<u8> {
    let mut v = vec![
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 98, 41, 10, 10, 98, 41, 1,
    ];
    v.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, n]);
    v
}

#[test]
fn client_to_network_up_and_ping_perfect_and_30_percent_loss() {
    for (i, link) in [LinkConfig::perfect(), LinkConfig::lossy(0.3)]
        .into_iter()
        .enumerate()
    {
        for seed in 0..if i == 0 { 1 } else { 8 } {
            let start = Instant::now();
            let mut p = Pair::with_start(
                Client {
                    c: client(seed, start),
                    events: vec![],
                    got: vec![],
                },
                Server {
                    s: server(seed + 50),
                    events: vec![],
                    echo: true,
                    out: vec![],
                },
                link.clone(),
                link.clone(),
                seed,
                start,
            );
            let t = p
                .run_until(Duration::from_secs(120), |a, b| both_ipcp_open(a, b))
                .unwrap_or_else(|| panic!("seed {seed} link {i}: not up: {:?}", a_events(&p.a)));
            let info = net_up(&p.a).unwrap();
            assert_eq!(info.local, Ipv4Addr::new(10, 98, 41, 10));
            assert_eq!(info.remote, Ipv4Addr::new(10, 98, 41, 1));
            if i == 0 {
                // Lossless: tunnel, session, LCP, CHAP/MS-CHAP and IPCP in well under a second.
                assert!(t < Duration::from_millis(400), "{t:?}");
            }
            let proofs = p.b.events.iter().any(|e| {
                matches!(
                    e,
                    PppLnsEvent::Ppp {
                        event: ppp::Event::AuthSucceeded { .. },
                        ..
                    }
                )
            });
            assert!(proofs);
            // Pings through the tunnel (echoed by the server); on the lossy link some may be lost.
            for n in 0..20u8 {
                let mut buf = [0u8; 200];
                let now = p.now();
                // On the lossy link a late duplicate IPCP Configure-Request legitimately
                // reopens IPCP (RFC 1661 Opened + RCR), so sending may fail for a moment.
                match p.a.c.send_datagram(now, IPV4, &icmp_like(n), &mut buf) {
                    Ok(len) => {
                        let d = buf[..len].to_vec();
                        p.ab.send(now, d);
                    }
                    Err(e) => assert!(i == 1, "{e}"),
                }
                p.run_for(Duration::from_millis(100));
            }
            if i == 0 {
                assert_eq!(p.a.got.len(), 20);
                assert_eq!(p.a.got[3], icmp_like(3));
            } else {
                assert!(p.a.got.len() >= 2, "seed {seed}: {}", p.a.got.len());
            }
            // Orderly close: PPP terminate, CDN, StopCCN.
            let now = p.now();
            p.a.c.close(now);
            p.run_for(Duration::from_secs(60));
            assert!(p
                .a
                .events
                .iter()
                .any(|e| matches!(e, ClientEvent::L2tp(Event::TunnelDown { .. }))));
            assert_eq!(p.b.s.lns().tunnel_count(), 0, "seed {seed}");
        }
    }
}

fn both_ipcp_open(a: &Client, b: &Server) -> bool {
    let open =
        |p: Option<&ppp::Session>| p.is_some_and(|p| p.ipcp_state() == ppp::fsm::State::Opened);
    let sid = a.c.session_id();
    let Some(t) = a.c.tunnel() else { return false };
    let tid = t.peer_tunnel_id();
    open(a.c.ppp())
        && sid
            .and_then(|_| t.sessions().next().map(|s| s.peer_id))
            .is_some_and(|psid| open(b.s.ppp(tid, psid)))
}

fn a_events(c: &Client) -> Vec<String> {
    c.events.iter().map(|e| format!("{e:?}")).collect()
}

#[test]
fn lns_accepts_proxy_lcp_and_chap_without_new_challenge() {
    // A LAC (plain Tunnel) forwards a PPPoE user it already ran LCP and CHAP with.
    let start = Instant::now();
    let challenge = [0x11u8; 16];
    let id = 7u8;
    let mut h = Md5::new();
    h.update([id]);
    h.update(b"pass123");
    h.update(challenge);
    let response = h.finalize().to_vec();
    let call = CallInfo {
        calling_number: Some(b"00:11:22:33:44:55".to_vec()),
        proxy: ProxyInfo {
            initial_received_lcp_confreq: Some(vec![1, 4, 5, 0xaa, 5, 6, 1, 2, 3, 4]),
            // LAC -> client: MRU 1450, auth CHAP-MD5, magic.
            last_sent_lcp_confreq: Some(vec![1, 4, 5, 0xaa, 3, 5, 0xc2, 0x23, 5, 5, 6, 9, 9, 9, 9]),
            // client -> LAC: MRU 1450, magic.
            last_received_lcp_confreq: Some(vec![1, 4, 5, 0xaa, 5, 6, 1, 2, 3, 4]),
            authen_type: Some(2),
            authen_name: Some(b"good_worker@mt.lv".to_vec()),
            authen_challenge: Some(challenge.to_vec()),
            authen_id: Some(u16::from(id)),
            authen_response: Some(response),
        },
        ..Default::default()
    };
    let mut lac = Tunnel::connect(
        TunnelConfig {
            host_name: b"cisco-lac".to_vec(),
            secret: Some(b"tunnelpass".to_vec()),
            ..Default::default()
        },
        start,
        &mut ChaCha20Rng::seed_from_u64(5),
    )
    .unwrap();
    let mut s = server(6);
    let mut frames_to_lac = Vec::new();
    let mut placed = false;
    let now = start;
    for _ in 0..20 {
        while let Some(d) = lac.poll_transmit(now) {
            let _ = s.handle_input(now, &peer(), &d);
        }
        while let Some((_, d)) = s.poll_transmit(now) {
            if let Ok(l2tp::Input::Data { payload, .. }) = lac.handle_input(now, &d) {
                frames_to_lac.push(payload.to_vec());
            }
        }
        while let Some(e) = lac.poll_event() {
            if matches!(e, Event::TunnelUp { .. }) && !placed {
                lac.incoming_call(now, call.clone()).unwrap();
                placed = true;
            }
        }
    }
    let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(evs.iter().any(|e| matches!(
        e,
        PppLnsEvent::Ppp {
            event: ppp::Event::AuthSucceeded { user, method: ppp::AuthMethod::Chap, .. },
            ..
        } if user == "good_worker@mt.lv"
    )));
    // The LNS never sent an LCP ConfReq nor a CHAP Challenge: its first frame is IPCP.
    assert!(!frames_to_lac.is_empty());
    assert!(frames_to_lac
        .iter()
        .all(|f| f[2..4] != [0xc0, 0x21] || f[4] != 1));
    assert!(!frames_to_lac
        .iter()
        .any(|f| f[2..4] == [0xc2, 0x23] && f[4] == 1));
    assert!(frames_to_lac.iter().any(|f| f[2..4] == [0x80, 0x21]));
}

#[test]
fn sequenced_data_reordered_on_both_ends_keeps_ping_order() {
    use l2tp::reorder::ReorderConfig;
    let ro = Some(ReorderConfig {
        capacity: 32,
        timeout: Duration::from_millis(100),
    });
    let link = LinkConfig {
        reorder: 0.3,
        jitter: Duration::from_millis(5),
        ..LinkConfig::perfect()
    };
    let start = Instant::now();
    let mut p = Pair::with_start(
        Client {
            c: client_with(3, start, |t| t.reorder = ro),
            events: vec![],
            got: vec![],
        },
        Server {
            s: server_with(53, |t| {
                t.reorder = ro;
                t.require_sequencing = true;
            }),
            events: vec![],
            echo: true,
            out: vec![],
        },
        link.clone(),
        link,
        3,
        start,
    );
    p.run_until(Duration::from_secs(120), |a, b| both_ipcp_open(a, b))
        .expect("up");
    p.run_for(Duration::from_millis(200));
    // one ping every 2 ms; the link holds 30% back by 15 ms, so they overtake each other
    for n in 0..40u8 {
        let mut buf = [0u8; 200];
        let now = p.now();
        let len =
            p.a.c
                .send_datagram(now, IPV4, &icmp_like(n), &mut buf)
                .unwrap();
        p.ab.send(now, buf[..len].to_vec());
        p.run_for(Duration::from_millis(2));
    }
    p.run_for(Duration::from_secs(1));
    // no loss: every reply, in the order sent, although the link reordered both directions
    assert_eq!(p.a.got, (0..40).map(icmp_like).collect::<Vec<_>>());
    // both reorder buffers did work (without them the order above breaks)
    let client_st =
        p.a.c
            .tunnel()
            .unwrap()
            .sessions()
            .next()
            .unwrap()
            .reorder_stats()
            .unwrap();
    assert!(client_st.reordered > 0, "{client_st:?}");
    assert_eq!(client_st.lost, 0);
    let tid = p.b.s.lns().tunnel_ids().next().unwrap();
    let t = p.b.s.lns().tunnel(tid).unwrap();
    let server_st = t.sessions().next().unwrap().reorder_stats().unwrap();
    assert!(server_st.reordered > 0, "{server_st:?}");
}
