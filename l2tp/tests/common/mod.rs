//! Simulated-link endpoints shared by the L2TP + PPP pair tests (`ppp_pair.rs`, `mppe_pair.rs`):
//! the RouterOS L2TP client and the LNS with PPP servers, each wrapped as a `netsim::Endpoint`
//! that records its events and the datagrams it delivers.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use l2tp::config::ClientConfig;
use l2tp::ppp_link::{ClientEvent, ClientInput, L2tpClient, PppLns, PppLnsEvent, PppLnsInput};
use l2tp::server::Peer;
use l2tp::TunnelConfig;
use netsim::Endpoint;

/// The L2TP client end: events and delivered datagrams.
pub struct Client {
    pub c: L2tpClient,
    pub events: Vec<ClientEvent>,
    pub got: Vec<Vec<u8>>,
}

impl Client {
    pub fn new(c: L2tpClient) -> Client {
        Client {
            c,
            events: vec![],
            got: vec![],
        }
    }

    fn drain(&mut self) {
        while let Some((_, d)) = self.c.poll_datagram() {
            self.got.push(d);
        }
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
    }
}

impl Endpoint for Client {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if let Ok(ClientInput::Datagram { payload, .. }) = self.c.handle_input(now, data) {
            self.got.push(payload.to_vec());
        }
        self.drain();
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.c.poll_transmit(now)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.c.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.c.handle_timeout(now);
        self.drain();
    }
}

/// The LNS end: records every datagram it delivers and, with `echo`, sends it back to its
/// sender through the session (encrypted again when MPPE is up).
pub struct Server {
    pub s: PppLns<u8>,
    pub events: Vec<PppLnsEvent<u8>>,
    pub got: Vec<Vec<u8>>,
    pub echo: bool,
    pub out: Vec<Vec<u8>>,
}

/// The one peer every test's LNS talks to.
pub fn peer() -> Peer<u8> {
    Peer {
        key: 1,
        addr: IpAddr::V4(Ipv4Addr::new(10, 155, 101, 216)),
        via_ipsec: false,
    }
}

impl Server {
    pub fn new(s: PppLns<u8>, echo: bool) -> Server {
        Server {
            s,
            events: vec![],
            got: vec![],
            echo,
            out: vec![],
        }
    }

    fn echo_back(&mut self, now: Instant, tid: u16, sid: u16, proto: u16, p: &[u8]) {
        self.got.push(p.to_vec());
        if self.echo {
            // One message, or one per MP fragment when Multilink is up; `out` is popped from
            // the back: keep FIFO order.
            let out = &mut self.out;
            self.s
                .send_datagram_fragments(now, tid, sid, proto, p, |_, m| out.insert(0, m.to_vec()))
                .unwrap();
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some((t, s, proto, p)) = self.s.poll_datagram() {
            self.echo_back(now, t, s, proto, &p);
        }
        while let Some(e) = self.s.poll_event() {
            self.events.push(e);
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
        self.drain(now);
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
        self.drain(now);
    }
}

/// The client configuration every pair test starts from: tunnel secret `tunnelpass`, user
/// `good_worker@mt.lv` (the seed's example user) with password `pass123`.
pub fn client_config() -> ClientConfig {
    let mut cfg = ClientConfig {
        tunnel: TunnelConfig {
            host_name: b"client".to_vec(),
            secret: Some(b"tunnelpass".to_vec()),
            ..Default::default()
        },
        ..ClientConfig::default()
    };
    cfg.ppp.user = "good_worker@mt.lv".into();
    cfg.ppp.password = "pass123".into();
    cfg
}
