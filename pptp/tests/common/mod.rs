//! Test support: a PPTP client (PNS) and server (PAC) over simulated links in virtual time.
//! The control channel is an in-order link (TCP); the GRE path may lose, duplicate and
//! reorder (seeded).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use netsim::{Link, LinkConfig};
use pptp::wire::{Deframer, Message};
use pptp::{
    Channel, Client, ClientConfig, ClientEvent, ConnId, Input, Server, ServerConfig, ServerEvent,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub const SERVER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
pub const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

/// `/ppp secret` alice/pw with addresses, on the RouterOS PPTP tables.
pub fn store() -> ppp::aaa::Aaa {
    let mut aaa = pptp::default_aaa();
    let mut s = ppp::aaa::Secret::new("alice", "pw");
    s.local_address = Some([10, 0, 0, 1].into());
    s.remote_address = Some([10, 0, 0, 2].into());
    aaa.secrets.push(s);
    aaa
}

/// A FIN on a control link.
const FIN: &[u8] = &[];

/// One direction of the control stream, deframed for assertions.
#[derive(Default)]
pub struct Trace {
    d: Deframer,
    pub msgs: Vec<(Duration, Message)>,
}

impl Trace {
    fn feed(&mut self, at: Duration, b: &[u8]) {
        self.d.push(b);
        while let Ok(Some(m)) = self.d.next_message() {
            self.msgs.push((at, m));
        }
    }
    pub fn names(&self) -> Vec<&'static str> {
        self.msgs
            .iter()
            .map(|(_, m)| m.message_type().name())
            .collect()
    }
}

pub struct Sim {
    pub start: Instant,
    pub now: Instant,
    pub client: Client,
    pub server: Server,
    pub conn: Option<ConnId>,
    pub ctl_up: Link,
    pub ctl_down: Link,
    pub gre_up: Link,
    pub gre_down: Link,
    pub client_events: Vec<(Duration, ClientEvent)>,
    pub server_events: Vec<(Duration, ServerEvent)>,
    /// Datagrams the client / server application received (protocol, bytes).
    pub client_rx: Vec<(u16, Vec<u8>)>,
    pub server_rx: Vec<(u16, Vec<u8>)>,
    /// GRE packets each side sent (time, bytes).
    pub client_gre: Vec<(Duration, Vec<u8>)>,
    pub server_gre: Vec<(Duration, Vec<u8>)>,
    pub up_trace: Trace,
    pub down_trace: Trace,
    /// TCP connection open (client connected, not yet closed).
    pub tcp_open: bool,
}

impl Sim {
    pub fn new(ccfg: ClientConfig, scfg: ServerConfig, gre: LinkConfig, seed: u64) -> Sim {
        let start = Instant::now();
        let client = Client::new(ccfg, start, ChaCha20Rng::seed_from_u64(seed)).unwrap();
        let mut server =
            Server::new(scfg, start, ChaCha20Rng::seed_from_u64(seed ^ 0x5555)).unwrap();
        server.host_mut().set_store(Box::new(store()));
        let ctl = LinkConfig::perfect();
        Sim {
            start,
            now: start,
            client,
            server,
            conn: None,
            ctl_up: Link::new(ctl.clone(), seed + 1),
            ctl_down: Link::new(ctl, seed + 2),
            gre_up: Link::new(gre.clone(), seed + 3),
            gre_down: Link::new(gre, seed + 4),
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_rx: Vec::new(),
            server_rx: Vec::new(),
            client_gre: Vec::new(),
            server_gre: Vec::new(),
            up_trace: Trace::default(),
            down_trace: Trace::default(),
            tcp_open: false,
        }
    }

    pub fn client_config() -> ClientConfig {
        ClientConfig::new(SERVER_IP, "alice", "pw")
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Drain outputs and events of both sides at `now`.
    fn drain(&mut self) {
        let now = self.now;
        let at = self.elapsed();
        for _ in 0..100 {
            let mut any = false;
            while let Some(t) = self.client.poll_transmit(now) {
                any = true;
                assert_eq!(t.peer, SERVER_IP);
                match t.channel {
                    Channel::Control => {
                        if self.tcp_open {
                            self.up_trace.feed(at, &t.payload);
                            self.ctl_up.send(now, t.payload);
                        }
                    }
                    Channel::Gre => {
                        self.client_gre.push((at, t.payload.clone()));
                        self.gre_up.send(now, t.payload);
                    }
                }
            }
            while let Some(t) = self.server.poll_transmit(now) {
                any = true;
                assert_eq!(t.peer, CLIENT_IP);
                match t.channel {
                    Channel::Control => {
                        if self.tcp_open {
                            self.down_trace.feed(at, &t.payload);
                            self.ctl_down.send(now, t.payload);
                        }
                    }
                    Channel::Gre => {
                        self.server_gre.push((at, t.payload.clone()));
                        self.gre_down.send(now, t.payload);
                    }
                }
            }
            while let Some(e) = self.client.poll_event() {
                any = true;
                match &e {
                    ClientEvent::Connect { to } => {
                        assert_eq!(*to, SERVER_IP);
                        let c = self.server.accept(now, CLIENT_IP).unwrap();
                        self.conn = Some(c);
                        self.tcp_open = true;
                        self.client.handle_connected(now);
                    }
                    ClientEvent::Disconnect(_) if self.tcp_open => {
                        self.tcp_open = false;
                        self.ctl_up.send(now, FIN.to_vec());
                    }
                    _ => {}
                }
                self.client_events.push((at, e));
            }
            while let Some(e) = self.server.poll_event() {
                any = true;
                if let ServerEvent::Disconnect { .. } = &e {
                    if self.tcp_open {
                        self.tcp_open = false;
                        self.ctl_down.send(now, FIN.to_vec());
                    }
                }
                self.server_events.push((at, e));
            }
            if !any {
                return;
            }
        }
        panic!("no quiescence");
    }

    /// Deliver what is due at `now`.
    fn deliver(&mut self) {
        let now = self.now;
        while let Some(b) = self.ctl_up.pop_due(now) {
            if let Some(c) = self.conn {
                if b.is_empty() {
                    self.server.handle_stream_closed(now, c);
                } else {
                    let _ = self.server.handle_stream(now, c, &b);
                }
            }
            self.drain();
        }
        while let Some(b) = self.ctl_down.pop_due(now) {
            if b.is_empty() {
                self.client.handle_stream_closed(now);
            } else {
                self.client.handle_stream(now, &b);
            }
            self.drain();
        }
        while let Some(mut b) = self.gre_up.pop_due(now) {
            if let Input::Datagram { protocol, payload } =
                self.server.handle_datagram(now, CLIENT_IP, &mut b)
            {
                self.server_rx.push((protocol, payload.to_vec()));
            }
            self.drain();
        }
        while let Some(mut b) = self.gre_down.pop_due(now) {
            if let Input::Datagram { protocol, payload } =
                self.client.handle_datagram(now, SERVER_IP, &mut b)
            {
                self.client_rx.push((protocol, payload.to_vec()));
            }
            self.drain();
        }
    }

    /// One step: advance to the next event (no further than `limit`), run it.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.drain();
        let next = [
            self.client.poll_timeout(),
            self.server.poll_timeout(),
            self.ctl_up.next_arrival(),
            self.ctl_down.next_arrival(),
            self.gre_up.next_arrival(),
            self.gre_down.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else {
            self.now = limit;
            return false;
        };
        if next > limit {
            self.now = limit;
            return false;
        }
        self.now = next.max(self.now);
        self.deliver();
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.drain();
        true
    }

    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        while self.step(limit) {}
    }

    pub fn run_until(&mut self, max: Duration, mut f: impl FnMut(&Sim) -> bool) -> bool {
        let limit = self.now + max;
        loop {
            if f(self) {
                return true;
            }
            if !self.step(limit) {
                return f(self);
            }
        }
    }

    pub fn client_up(&self) -> bool {
        self.client.ppp().is_up()
    }

    pub fn server_session(&self) -> Option<&ppp::Session> {
        let k = self.server.call_keys().next()?;
        self.server.host().session(&k)
    }
}
