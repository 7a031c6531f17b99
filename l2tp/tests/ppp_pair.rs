#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! L2TP + PPP end to end over the simulated link: the RouterOS L2TP client against the LNS
//! with PPP servers, and the VPDN proxy hand-off.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use l2tp::config::{ClientConfig, ServerConfig};
use l2tp::ppp_link::{ClientEvent, L2tpClient, PppLns, PppLnsEvent};
use l2tp::{CallInfo, Event, ProxyInfo, Tunnel, TunnelConfig};
use md5::{Digest, Md5};
use netsim::{Endpoint, LinkConfig, Pair};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

mod common;
use common::*;

const IPV4: u16 = 0x0021;

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
    let mut cfg = client_config();
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
                    times: vec![],
                    got: vec![],
                },
                Server {
                    s: server(seed + 50),
                    events: vec![],
                    times: vec![],
                    got: vec![],
                    echo: true,
                    icmp_reply: false,
                    peer: common::peer(),
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
            times: vec![],
            got: vec![],
        },
        Server {
            s: server_with(53, |t| {
                t.reorder = ro;
                t.require_sequencing = true;
            }),
            events: vec![],
            times: vec![],
            got: vec![],
            echo: true,
            icmp_reply: false,
            peer: common::peer(),
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

// ----- LAC forwarding: a PPP client, then a LAC, then an LNS -----

/// The PPP client of a PPPoE-like access link (no `FF 03`), on the ppp host's `Client`.
struct AccessClient {
    c: ppp::host::Client,
    up: Option<ppp::host::ClientUp>,
}

impl Endpoint for AccessClient {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let _ = self.c.handle_frame(now, data);
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let f = self.c.poll_transmit(now);
        self.drain(now);
        f
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.c.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.c.handle_timeout(now);
        self.drain(now);
    }
}

impl AccessClient {
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.c.poll_event() {
            match e {
                ppp::host::ClientEvent::Dial => self.c.lower_up(now).unwrap(),
                ppp::host::ClientEvent::Up(u) => self.up = Some(u),
                _ => {}
            }
        }
    }
}

/// The access concentrator (a PPP server host that forwards realm `mt.lv`, and the L2TP LAC)
/// plus the LNS, joined by their own lossy link pair inside this endpoint.
struct LacAndLns {
    host: ppp::host::Server<u8>,
    lac: l2tp::lac::Lac<u8>,
    lns: PppLns<u8>,
    to_lns: netsim::Link,
    to_lac: netsim::Link,
    to_client: std::collections::VecDeque<Vec<u8>>,
    /// Frames the LNS sent to the client (relayed by the LAC).
    from_lns: Vec<Vec<u8>>,
    forwarded: u32,
    lns_events: Vec<PppLnsEvent<u8>>,
}

const KEY: u8 = 1;

impl LacAndLns {
    fn process(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(e) = self.host.poll_event() {
                if let ppp::host::ServerEvent::Forward { key, realm, proxy } = e {
                    self.forwarded += 1;
                    self.lac
                        .forward(now, key, &realm, &proxy, b"02:00:00:00:00:01")
                        .unwrap();
                }
            }
            while let Some(t) = self.host.poll_transmit(now) {
                moved = true;
                self.to_client.push_back(t.frame);
            }
            while let Some(t) = self.lac.poll_transmit(now) {
                moved = true;
                match t {
                    l2tp::lac::LacTransmit::Lns { datagram, .. } => {
                        self.to_lns.send(now, datagram);
                    }
                    l2tp::lac::LacTransmit::Client { frame, .. } => {
                        self.from_lns.push(frame.clone());
                        self.to_client.push_back(frame);
                    }
                }
            }
            while let Some((_, d)) = self.lns.poll_transmit(now) {
                moved = true;
                self.to_lac.send(now, d);
            }
            while let Some(d) = self.to_lns.pop_due(now) {
                moved = true;
                let _ = self.lns.handle_input(now, &peer(), &d);
            }
            while let Some(d) = self.to_lac.pop_due(now) {
                moved = true;
                let _ = self.lac.handle_datagram(now, "mt.lv", &d);
            }
            while let Some(e) = self.lns.poll_event() {
                self.lns_events.push(e);
            }
            while self.lac.poll_event().is_some() {}
            if !moved {
                break;
            }
        }
    }
}

impl Endpoint for LacAndLns {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.lac.is_forwarded(&KEY) {
            let _ = self.lac.handle_frame(now, &KEY, data);
        } else {
            if self.host.session(&KEY).is_none() {
                self.host.open(now, KEY, "02:00:00:00:00:01").unwrap();
            }
            let _ = self.host.handle_frame(now, &KEY, data);
        }
        self.process(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.process(now);
        self.to_client.pop_front()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.host.poll_timeout(),
            self.lac.poll_timeout(),
            self.lns.poll_timeout(),
            self.to_lns.next_arrival(),
            self.to_lac.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.host.poll_timeout().is_some_and(|d| d <= now) {
            self.host.handle_timeout(now);
        }
        self.lac.handle_timeout(now);
        if self.lns.poll_timeout().is_some_and(|d| d <= now) {
            self.lns.handle_timeout(now);
        }
        self.process(now);
    }
}

fn lac_pair(seed: u64, link: LinkConfig) -> Pair<AccessClient, LacAndLns> {
    let start = Instant::now();
    let mut client = ppp::ClientSettings::pppoe();
    client.user = "good_worker@mt.lv".into();
    client.password = "pass123".into();
    let c = ppp::host::Client::new(client, start, netsim::TestRng::new(seed)).unwrap();
    // The access side: PPPoE server settings, CHAP, MRU 1450 (what the LNS accepts).
    let mut hs = ppp::ServerSettings::pppoe();
    hs.authentication = ppp::AuthSet::of(&[ppp::AuthMethod::Chap]);
    hs.max_mru = 1450;
    hs.max_mtu = 1450;
    let mut hcfg = ppp::host::ServerConfig::new(hs);
    hcfg.forward_realms = vec!["mt.lv".into()];
    let host = ppp::host::Server::new(hcfg, start, netsim::TestRng::new(seed + 1)).unwrap();
    let lac = l2tp::lac::Lac::new(
        l2tp::lac::LacConfig {
            tunnel: TunnelConfig {
                host_name: b"lac".to_vec(),
                secret: Some(b"tunnelpass".to_vec()),
                ..Default::default()
            },
            realms: vec!["mt.lv".into()],
            client_address_control: false,
        },
        start,
        &mut netsim::TestRng::new(seed + 2),
    )
    .unwrap();
    let mut a = AccessClient { c, up: None };
    a.drain(start);
    Pair::with_start(
        a,
        LacAndLns {
            host,
            lac,
            lns: server(seed + 3),
            to_lns: netsim::Link::new(link.clone(), seed + 4),
            to_lac: netsim::Link::new(link.clone(), seed + 5),
            to_client: Default::default(),
            from_lns: Vec::new(),
            forwarded: 0,
            lns_events: Vec::new(),
        },
        link.clone(),
        link,
        seed,
        start,
    )
}

#[test]
fn lac_forwards_by_realm_and_the_lns_continues_without_renegotiating_at_30_percent_loss() {
    for (i, link) in [LinkConfig::perfect(), LinkConfig::lossy(0.3)]
        .into_iter()
        .enumerate()
    {
        for seed in 0..if i == 0 { 1 } else { 12 } {
            let mut p = lac_pair(seed, link.clone());
            p.run_until(Duration::from_secs(180), |a, _| a.up.is_some())
                .unwrap_or_else(|| {
                    panic!(
                        "seed {seed} link {i}: not up; forwarded {} lac {:?}",
                        p.b.forwarded,
                        p.b.lac.stats()
                    )
                });
            // network-up with the LNS's addresses (its /ppp secret), through the LAC
            let up = p.a.up.clone().unwrap();
            assert_eq!(up.local, Ipv4Addr::new(10, 98, 41, 10));
            assert_eq!(up.remote, Ipv4Addr::new(10, 98, 41, 1));
            // 30% loss on each of the two hops is 51% end to end per direction: a Configure
            // exchange then fails 10 times in a row (Max-Configure) now and then, the client
            // hangs up and redials, and the LAC forwards the new session again (seed 4 does).
            // Every forwarded session, the first or a later one, is checked below.
            assert!(p.b.forwarded >= 1, "seed {seed} link {i}");
            if i == 0 {
                assert_eq!(p.b.forwarded, 1);
            }
            assert!(p.b.host.is_empty(), "the access host let go of the session");
            // the LNS verified the proxied CHAP response ...
            assert!(p.b.lns_events.iter().any(|e| matches!(
                e,
                PppLnsEvent::Ppp {
                    event: ppp::Event::AuthSucceeded { method: ppp::AuthMethod::Chap, user, .. },
                    ..
                } if user == "good_worker@mt.lv"
            )));
            // ... and sent neither an LCP Configure-Request nor a CHAP Challenge (no FF 03 on
            // the access side: the protocol field comes first)
            assert!(!p.b.from_lns.is_empty());
            assert!(
                !p.b.from_lns
                    .iter()
                    .any(|f| f[..2] == [0xc0, 0x21] && f[2] == 1),
                "seed {seed}"
            );
            assert!(!p
                .b
                .from_lns
                .iter()
                .any(|f| f[..2] == [0xc2, 0x23] && f[2] == 1));
            // the LNS holds the one live session
            assert_eq!(p.b.lns.host().len(), 1);
            assert_eq!(
                p.b.lns.host().stats().opened,
                u64::from(p.b.forwarded),
                "every forwarded session reached the LNS's host"
            );
        }
    }
}

#[test]
fn routeros_ppp_settings_of_both_l2tp_menus_reach_the_sessions() {
    // server: authentication=pap, max-mru 1400; client: allow pap,chap, max-mtu 1300,
    // use-peer-dns exclusively, add-default-route with distance 3
    let start = Instant::now();
    let mut p = Pair::with_start(
        Client {
            c: client_cfg(9, start, |c| {
                c.ppp.allow = ppp::AuthSet::of(&[ppp::AuthMethod::Pap, ppp::AuthMethod::Chap]);
                c.ppp.max_mtu = 1300;
                c.ppp.use_peer_dns = ppp::UsePeerDns::Exclusively;
                c.ppp.add_default_route = true;
                c.ppp.default_route_distance = Some(3);
            }),
            events: vec![],
            times: vec![],
            got: vec![],
        },
        Server {
            s: server_cfg(
                59,
                |_| {},
                |s| {
                    s.ppp.authentication = ppp::AuthSet::of(&[ppp::AuthMethod::Pap]);
                    s.ppp.max_mru = 1400;
                },
            ),
            events: vec![],
            times: vec![],
            got: vec![],
            echo: false,
            icmp_reply: false,
            peer: common::peer(),
            out: vec![],
        },
        LinkConfig::perfect(),
        LinkConfig::perfect(),
        9,
        start,
    );
    p.run_until(Duration::from_secs(30), |a, b| both_ipcp_open(a, b))
        .expect("up");
    let c = p.a.c.ppp().unwrap();
    assert_eq!(c.lcp_negotiated().auth_self, Some(ppp::AuthMethod::Pap));
    assert_eq!(c.mtu(), 1300); // min(server MRU 1400, client max-mtu 1300)
    let up =
        p.a.events
            .iter()
            .find_map(|e| match e {
                ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) => Some(u.clone()),
                _ => None,
            })
            .unwrap();
    assert_eq!(up.default_route, Some(Some(3)));
    assert!(up.dns_exclusive);
    assert_eq!(up.mtu, 1300);
    let tid = p.b.s.lns().tunnel_ids().next().unwrap();
    let sid =
        p.b.s
            .lns()
            .tunnel(tid)
            .unwrap()
            .sessions()
            .next()
            .unwrap()
            .local_id;
    assert_eq!(p.b.s.ppp(tid, sid).unwrap().mru(), 1400);
    // dial-on-demand: nothing is sent until traffic waits
    let mut d = client_cfg(10, start, |c| c.ppp.dial_on_demand = true);
    assert!(d.poll_transmit(start).is_none());
    assert!(d.tunnel().is_none());
    d.demand(start);
    assert!(d.poll_transmit(start).is_some()); // SCCRQ
                                               // l2tp-proto-version other than l2tpv2 is refused by the PPP client, naming the field
    let e = L2tpClient::new(
        ClientConfig {
            proto_version: l2tp::config::ProtoVersion::L2tpv3Udp,
            ..ClientConfig::default()
        },
        start,
        &mut ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        l2tp::Error::Config {
            field: "l2tp-proto-version",
            ..
        }
    ));
    // an mrru outside 512..65535 is refused, naming the field
    let e = L2tpClient::new(
        ClientConfig {
            ppp: ppp::ClientSettings {
                mrru: Some(100),
                ..ppp::ClientSettings::l2tp()
            },
            ..ClientConfig::default()
        },
        start,
        &mut ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap_err();
    assert!(matches!(e, l2tp::Error::Config { field: "mrru", .. }));
}

#[test]
fn client_redials_after_the_server_hangs_up() {
    let start = Instant::now();
    let mut p = Pair::with_start(
        Client {
            c: client(21, start),
            events: vec![],
            times: vec![],
            got: vec![],
        },
        Server {
            s: server(71),
            events: vec![],
            times: vec![],
            got: vec![],
            echo: false,
            icmp_reply: false,
            peer: common::peer(),
            out: vec![],
        },
        LinkConfig::perfect(),
        LinkConfig::perfect(),
        21,
        start,
    );
    p.run_until(Duration::from_secs(30), |a, b| both_ipcp_open(a, b))
        .expect("up");
    let first_tunnel = p.a.c.tunnel().unwrap().local_tunnel_id();
    let tid = p.b.s.lns().tunnel_ids().next().unwrap();
    let sid =
        p.b.s
            .lns()
            .tunnel(tid)
            .unwrap()
            .sessions()
            .next()
            .unwrap()
            .local_id;
    let now = p.now();
    p.b.s.close_session(now, tid, sid, "admin").unwrap();
    // the server ends PPP, sends the CDN; the client hangs up (CDN, StopCCN) and redials
    // 10 s later (redial-delay) with a new tunnel, up again
    p.run_until(Duration::from_secs(60), |a, _| {
        a.events
            .iter()
            .filter(|e| matches!(e, ClientEvent::Ppp(ppp::host::ClientEvent::Up(_))))
            .count()
            == 2
    })
    .expect("redialled");
    let dials =
        p.a.events
            .iter()
            .filter(|e| matches!(e, ClientEvent::Ppp(ppp::host::ClientEvent::Dial)))
            .count();
    assert_eq!(dials, 2);
    assert_eq!(p.a.c.ppp_client().dials(), 2);
    assert_ne!(p.a.c.tunnel().unwrap().local_tunnel_id(), first_tunnel);
    assert!(p
        .b
        .events
        .iter()
        .any(|e| matches!(e, PppLnsEvent::Host(ppp::host::ServerEvent::Ended { .. }))));
}

/// The `mrru` setting on both L2TP menus: single-link Multilink, so a 1500-octet datagram
/// crosses a path whose MTU only lets 1450-octet PPP frames through (as MP fragments), both
/// ways, with no MSS clamping.
#[test]
fn mrru_carries_1500_octet_datagrams_over_a_smaller_mtu() {
    let start = Instant::now();
    let c = client_cfg(5, start, |c| c.ppp.mrru = Some(1600));
    let mut p = Pair::with_start(
        Client {
            c,
            events: vec![],
            times: vec![],
            got: vec![],
        },
        Server {
            s: server_cfg(55, |_| {}, |c| c.ppp.mrru = Some(1600)),
            events: vec![],
            times: vec![],
            got: vec![],
            echo: true,
            icmp_reply: false,
            peer: common::peer(),
            out: vec![],
        },
        LinkConfig::perfect(),
        LinkConfig::perfect(),
        5,
        start,
    );
    p.run_until(Duration::from_secs(30), |a, b| both_ipcp_open(a, b))
        .unwrap_or_else(|| panic!("not up: {:?}", a_events(&p.a)));
    let sess = p.a.c.ppp().unwrap();
    assert!(sess.multilink());
    assert_eq!((sess.mtu(), sess.link_mtu()), (1600, 1450));
    // The link carries L2TP messages (UDP/IP is not simulated): its MTU admits a 1450-octet
    // PPP frame with the L2TP header, not a 1500-octet one.
    let limit = 1450 + 4 + 16;
    p.ab.config = LinkConfig::perfect().with_mtu(limit);
    p.ba.config = LinkConfig::perfect().with_mtu(limit);
    let pkt: Vec<u8> = (0..1500u32).map(|i| (i * 7) as u8).collect();
    for _ in 0..5 {
        let now = p.now();
        let mut msgs = Vec::new();
        let n =
            p.a.c
                .send_datagram_fragments(now, IPV4, &pkt, |m| msgs.push(m.to_vec()))
                .unwrap();
        assert_eq!(n, 2);
        for m in msgs {
            assert!(m.len() <= limit);
            p.ab.send(now, m);
        }
        p.run_for(Duration::from_millis(100));
    }
    assert_eq!(p.b.got.len(), 5);
    assert!(p.b.got.iter().all(|g| *g == pkt));
    // The LNS echoed each one, fragmented again: the client got them whole.
    assert_eq!(p.a.got.len(), 5);
    assert!(p.a.got.iter().all(|g| *g == pkt));
}
