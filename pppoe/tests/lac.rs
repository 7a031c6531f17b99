#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! LAC forwarding: a PPPoE client, then our AC acting as L2TP LAC (`forward_realms`), then an
//! L2TP LNS (`l2tp::PppLns`), reaching network-up with the LNS's addresses; IP through all
//! three; the client's PADT tears the L2TP call down (RouterOS VPDN, S0 L166-281).

mod common;
use common::*;
use l2tp::{
    Lac, LacConfig, LacEvent, LacTransmit, Peer, PppLns, PppLnsEvent, PppLnsInput, TunnelConfig,
};
use netsim::{Endpoint, LinkConfig, TestRng};
use pppoe::{Input, Server, ServerEvent, SessionKey};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

struct AcLacLns {
    ac: Server,
    lac: Lac<SessionKey>,
    lns: PppLns<u8>,
    to_lns: netsim::Link,
    to_lac: netsim::Link,
    to_client: VecDeque<Vec<u8>>,
    forwarded: u32,
    lns_events: Vec<PppLnsEvent<u8>>,
    lns_datagrams: Vec<Vec<u8>>,
    ended: Vec<pppoe::EndReason>,
}

fn peer() -> Peer<u8> {
    Peer {
        key: 1,
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        via_ipsec: false,
    }
}

impl AcLacLns {
    fn process(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(e) = self.ac.poll_event() {
                match e {
                    ServerEvent::Host(ppp::host::ServerEvent::Forward { key, realm, proxy }) => {
                        self.forwarded += 1;
                        let caller = pppoe::wire::mac_to_string(&key.0);
                        self.lac
                            .forward(now, key, &realm, &proxy, caller.as_bytes())
                            .unwrap();
                    }
                    ServerEvent::SessionEnded { session, reason } => {
                        self.ended.push(reason);
                        if self.lac.is_forwarded(&session) {
                            self.lac.lower_down(now, &session);
                        }
                    }
                    _ => {}
                }
            }
            while let Some(t) = self.ac.poll_transmit(now) {
                moved = true;
                self.to_client.push_back(t.frame);
            }
            while let Some(t) = self.lac.poll_transmit(now) {
                moved = true;
                match t {
                    LacTransmit::Lns { datagram, .. } => {
                        self.to_lns.send(now, datagram);
                    }
                    LacTransmit::Client { key, frame } => {
                        let _ = self.ac.send_ppp_frame(&key, &frame);
                    }
                }
            }
            while let Some(e) = self.lac.poll_event() {
                if let LacEvent::CallDown { key, .. } = e {
                    let _ = self.ac.terminate(now, &key);
                }
            }
            while let Some((_, d)) = self.lns.poll_transmit(now) {
                moved = true;
                self.to_lac.send(now, d);
            }
            while let Some(d) = self.to_lns.pop_due(now) {
                moved = true;
                if let Ok(PppLnsInput::Datagram { payload, .. }) =
                    self.lns.handle_input(now, &peer(), &d)
                {
                    self.lns_datagrams.push(payload.to_vec());
                }
            }
            while let Some(d) = self.to_lac.pop_due(now) {
                moved = true;
                let _ = self.lac.handle_datagram(now, "mt.lv", &d);
            }
            while let Some(e) = self.lns.poll_event() {
                self.lns_events.push(e);
            }
            if !moved {
                break;
            }
        }
    }
}

impl Endpoint for AcLacLns {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut buf = data.to_vec();
        if let Input::Forward { session, frame } = self.ac.handle_frame(now, &mut buf) {
            let _ = self.lac.handle_frame(now, &session, frame);
        }
        self.process(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.process(now);
        self.to_client.pop_front()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.ac.poll_timeout(),
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
        if self.ac.poll_timeout().is_some_and(|d| d <= now) {
            self.ac.handle_timeout(now);
        }
        if self.lac.poll_timeout().is_some_and(|d| d <= now) {
            self.lac.handle_timeout(now);
        }
        if self.lns.poll_timeout().is_some_and(|d| d <= now) {
            self.lns.handle_timeout(now);
        }
        self.process(now);
    }
}

fn lac_pair(seed: u64, link: LinkConfig) -> netsim::Pair<ClientNode, AcLacLns> {
    let start = Instant::now();
    let mut cc = client_config("good_worker@mt.lv", "pass123");
    cc.ppp.max_mru = 1450;
    cc.ppp.max_mtu = 1450;
    let mut sc = server_config();
    sc.forward_realms = vec!["mt.lv".into()];
    sc.ppp.authentication = ppp::AuthSet::of(&[ppp::AuthMethod::Chap]);
    sc.ppp.max_mru = 1450;
    sc.ppp.max_mtu = 1450;
    let ac = Server::new(sc, start, TestRng::new(seed + 1)).unwrap();
    let lac = Lac::new(
        LacConfig {
            tunnel: TunnelConfig {
                host_name: b"lac".to_vec(),
                secret: Some(b"tunnelpass".to_vec()),
                ..Default::default()
            },
            realms: vec!["mt.lv".into()],
            client_address_control: false,
        },
        start,
        &mut TestRng::new(seed + 2),
    )
    .unwrap();
    let mut lcfg = l2tp::ServerConfig::default();
    lcfg.ppp.authentication = ppp::AuthSet::ALL;
    let mut lns = PppLns::new(
        lcfg,
        TunnelConfig {
            host_name: b"lns".to_vec(),
            ..Default::default()
        },
        Box::new(|_, _| Some(b"tunnelpass".to_vec())),
        start,
        &mut TestRng::new(seed + 3),
    )
    .unwrap();
    let mut aaa = ppp::aaa::Aaa::new();
    let mut s = ppp::aaa::Secret::new("good_worker@mt.lv", "pass123");
    s.local_address = Some(Ipv4Addr::new(192, 168, 99, 1));
    s.remote_address = Some(Ipv4Addr::new(192, 168, 99, 2));
    aaa.secrets.push(s);
    lns.set_store(Box::new(aaa));
    netsim::Pair::with_start(
        ClientNode::new(cc, start, seed),
        AcLacLns {
            ac,
            lac,
            lns,
            to_lns: netsim::Link::new(link.clone(), seed + 4),
            to_lac: netsim::Link::new(link.clone(), seed + 5),
            to_client: VecDeque::new(),
            forwarded: 0,
            lns_events: Vec::new(),
            lns_datagrams: Vec::new(),
            ended: Vec::new(),
        },
        link.clone(),
        link,
        seed,
        start,
    )
}

#[test]
fn pppoe_client_reaches_the_lns_through_our_lac() {
    let mut p = lac_pair(1, LinkConfig::perfect());
    p.run_until(Duration::from_secs(60), |c, _| c.is_up())
        .unwrap_or_else(|| panic!("not up: {:?}", p.a.events));
    // The LNS's /ppp secret gave the addresses (S0 L237-253: 192.168.99.2 from the LNS).
    let up = p.a.up().unwrap().clone();
    assert_eq!(up.local, Ipv4Addr::new(192, 168, 99, 2));
    assert_eq!(up.remote, Ipv4Addr::new(192, 168, 99, 1));
    assert_eq!(p.b.forwarded, 1);
    let key = p.a.c.session().map(|(_, id)| (HOST_MAC, id)).unwrap();
    assert!(p.b.ac.is_forwarded(&key));
    assert!(p.b.ac.host().is_empty(), "the AC's PPP host let go");
    assert_eq!(p.b.lns.host().len(), 1);
    // The LNS checked the proxied CHAP response.
    assert!(p.b.lns_events.iter().any(|e| matches!(
        e,
        PppLnsEvent::Ppp { event: ppp::Event::AuthSucceeded { user, .. }, .. } if user == "good_worker@mt.lv"
    )));
    // IP from the client reaches the LNS.
    let pkt = netsim::pcap::icmp4_echo([192, 168, 99, 2], [192, 168, 99, 1], false, 1, 1, &[7; 64]);
    let mut buf = [0u8; 1600];
    let now = p.now();
    let n = p.a.c.send_datagram(now, 0x0021, &pkt, &mut buf).unwrap();
    p.b.handle_input(now, &buf[..n]);
    p.run_for(Duration::from_millis(200));
    assert_eq!(p.b.lns_datagrams, [pkt]);
    // The client hangs up: LCP terminate through the LNS, then its PADT ends the call.
    let now = p.now();
    p.a.c.hang_up(now);
    p.run_for(Duration::from_secs(10));
    assert!(p.b.ac.is_empty());
    assert_eq!(p.b.ended, [pppoe::EndReason::PeerPadt]);
    assert_eq!(p.b.lns.host().len(), 0, "the L2TP call is gone too");
}

#[test]
fn lns_hang_up_reaches_the_client_as_a_padt() {
    let mut p = lac_pair(2, LinkConfig::perfect());
    p.run_until(Duration::from_secs(60), |c, _| c.is_up())
        .unwrap();
    let now = p.now();
    let (tid, sid) = *p.b.lns.host().keys().next().unwrap();
    p.b.lns.close_session(now, tid, sid, "admin").unwrap();
    p.run_until(Duration::from_secs(30), |c, _| c.c.session().is_none())
        .unwrap();
    assert!(p.b.ac.is_empty());
}

#[test]
fn reaches_the_lns_at_30_percent_loss() {
    for seed in 10..16 {
        let mut p = lac_pair(seed, LinkConfig::lossy(0.3));
        p.run_until(Duration::from_secs(300), |c, _| c.is_up())
            .unwrap_or_else(|| panic!("seed {seed}: not up"));
        assert_eq!(p.a.up().unwrap().local, Ipv4Addr::new(192, 168, 99, 2));
        assert!(p.b.forwarded >= 1);
    }
}
