//! Test harness: netsim endpoints around the PPPoE client and AC, a credential store, configs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use netsim::{Endpoint, TestRng};
use pppoe::{Client, ClientConfig, ClientEvent, Input, Server, ServerConfig, ServerEvent};
use std::time::{Duration, Instant};

pub const HOST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
pub const HOST2_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x03];
pub const AC_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

pub fn store() -> ppp::aaa::Aaa {
    let mut aaa = ppp::aaa::Aaa::new();
    for (u, p, r) in [("alice", "pw", 2u8), ("bob", "pap-pw", 3)] {
        let mut s = ppp::aaa::Secret::new(u, p);
        s.local_address = Some([10, 0, 0, 1].into());
        s.remote_address = Some([10, 0, 0, r].into());
        aaa.secrets.push(s);
    }
    aaa
}

pub fn client_config(user: &str, pw: &str) -> ClientConfig {
    let mut c = ClientConfig::new(HOST_MAC);
    c.ppp.user = user.into();
    c.ppp.password = pw.into();
    c
}

pub fn server_config() -> ServerConfig {
    ServerConfig::new(AC_MAC)
}

pub fn new_server(cfg: ServerConfig, now: Instant, seed: u64) -> Server {
    let mut s = Server::new(cfg, now, TestRng::new(seed)).unwrap();
    s.host_mut().set_store(Box::new(store()));
    s
}

pub struct ClientNode {
    pub c: Client,
    pub start: Instant,
    pub events: Vec<(Duration, ClientEvent)>,
    pub datagrams: Vec<(u16, Vec<u8>)>,
    pub drops: Vec<pppoe::DropReason>,
}

impl ClientNode {
    pub fn new(cfg: ClientConfig, now: Instant, seed: u64) -> Self {
        ClientNode {
            c: Client::new(cfg, now, TestRng::new(seed)).unwrap(),
            start: now,
            events: Vec::new(),
            datagrams: Vec::new(),
            drops: Vec::new(),
        }
    }
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.c.poll_event() {
            self.events.push((now - self.start, e));
        }
    }
    pub fn up(&self) -> Option<&ppp::host::ClientUp> {
        self.events.iter().rev().find_map(|(_, e)| match e {
            ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) => Some(u),
            _ => None,
        })
    }
    pub fn is_up(&self) -> bool {
        self.c.ppp().is_up()
    }
    pub fn count(&self, f: impl Fn(&ClientEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }
}

impl Endpoint for ClientNode {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut buf = data.to_vec();
        match self.c.handle_frame(now, &mut buf) {
            Input::Datagram {
                protocol, payload, ..
            } => self.datagrams.push((protocol, payload.to_vec())),
            Input::Dropped(r) => self.drops.push(r),
            _ => {}
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let t = self.c.poll_transmit(now).map(|t| t.frame);
        self.drain(now);
        t
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.c.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.c.handle_timeout(now);
        self.drain(now);
    }
}

pub struct ServerNode {
    pub s: Server,
    pub start: Instant,
    pub events: Vec<(Duration, ServerEvent)>,
    pub datagrams: Vec<(pppoe::SessionKey, u16, Vec<u8>)>,
    pub drops: Vec<pppoe::DropReason>,
}

impl ServerNode {
    pub fn new(cfg: ServerConfig, now: Instant, seed: u64) -> Self {
        ServerNode {
            s: new_server(cfg, now, seed),
            start: now,
            events: Vec::new(),
            datagrams: Vec::new(),
            drops: Vec::new(),
        }
    }
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.s.poll_event() {
            self.events.push((now - self.start, e));
        }
    }
    pub fn ended(&self) -> Vec<(Duration, pppoe::SessionKey, pppoe::EndReason)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                ServerEvent::SessionEnded { session, reason } => {
                    Some((*t, *session, reason.clone()))
                }
                _ => None,
            })
            .collect()
    }
}

impl Endpoint for ServerNode {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut buf = data.to_vec();
        match self.s.handle_frame(now, &mut buf) {
            Input::Datagram {
                session,
                protocol,
                payload,
            } => self.datagrams.push((session, protocol, payload.to_vec())),
            Input::Dropped(r) => self.drops.push(r),
            _ => {}
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let t = self.s.poll_transmit(now).map(|t| t.frame);
        self.drain(now);
        t
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.s.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
        self.drain(now);
    }
}

pub type Pair = netsim::Pair<ClientNode, ServerNode>;

pub fn pair(c: ClientConfig, s: ServerConfig, link: netsim::LinkConfig, seed: u64) -> Pair {
    let now = Instant::now();
    netsim::Pair::with_start(
        ClientNode::new(c, now, seed),
        ServerNode::new(s, now, seed + 1000),
        link.clone(),
        link,
        seed,
        now,
    )
}

/// The PPPoE CODE of a traced frame (0 for session frames).
pub fn code_of(frame: &[u8]) -> u8 {
    pppoe::wire::Frame::parse(frame)
        .map(|f| f.code.0)
        .unwrap_or(0xff)
}
