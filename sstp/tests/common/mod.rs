//! Test support: a client and a server over an in-memory TCP stream in virtual time.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use netsim::TestRng;
use sstp::test_pki;
use sstp::tls::{RustlsOptions, RustlsTls};
use sstp::{Client, ClientConfig, ClientEvent, ConnId, Server, ServerConfig, ServerEvent};

pub fn server_config() -> ServerConfig {
    let mut s = ServerConfig::enabled();
    s.tls.certificate_pem = Some(test_pki::SERVER_CERT_PEM.into());
    s.tls.key_pem = Some(test_pki::SERVER_KEY_PEM.into());
    s.unix_time = test_pki::VALID_AT;
    s
}

pub fn client_config(user: &str, pw: &str) -> ClientConfig {
    let mut c = ClientConfig::new("10.9.9.9", user, pw);
    c.unix_time = test_pki::VALID_AT;
    c
}

pub fn store() -> ppp::aaa::Aaa {
    let mut aaa = ppp::aaa::Aaa::new();
    let mut s = ppp::aaa::Secret::new("alice", "pw");
    s.local_address = Some([10, 0, 0, 1].into());
    s.remote_address = Some([10, 0, 0, 2].into());
    aaa.secrets.push(s);
    let mut s = ppp::aaa::Secret::new("bob", "pap-pw");
    s.local_address = Some([10, 0, 0, 1].into());
    s.remote_address = Some([10, 0, 0, 3].into());
    aaa.secrets.push(s);
    aaa
}

/// A TCP-like stream in each direction: bytes arrive `delay` after being written, in order.
pub struct Pair {
    pub client: Client<RustlsTls>,
    pub server: Server<RustlsTls>,
    pub conn: Option<ConnId>,
    pub now: Instant,
    pub t0: Instant,
    pub delay: Duration,
    c2s: VecDeque<(Instant, Vec<u8>)>,
    s2c: VecDeque<(Instant, Vec<u8>)>,
    pub client_events: Vec<(Duration, ClientEvent)>,
    pub server_events: Vec<(Duration, ServerEvent)>,
    pub scfg: ServerConfig,
    /// Connect the TCP automatically on ClientEvent::Connect.
    pub auto_connect: bool,
    /// Transport cut: bytes in flight and new bytes vanish (a dead path, TCP still "open").
    pub cut: bool,
    pub c2s_bytes: usize,
    pub s2c_bytes: usize,
}

impl Pair {
    pub fn new(ccfg: ClientConfig, scfg: ServerConfig, seed: u64) -> Pair {
        let t0 = Instant::now();
        let mut rng = TestRng::new(seed);
        let mut server = Server::<RustlsTls>::new(scfg.clone(), t0, &mut rng).unwrap();
        server.host_mut().set_store(Box::new(store()));
        let client = Client::<RustlsTls>::new(ccfg, t0, &mut rng).unwrap();
        Pair {
            client,
            server,
            conn: None,
            now: t0,
            t0,
            delay: Duration::from_millis(10),
            c2s: VecDeque::new(),
            s2c: VecDeque::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            scfg,
            auto_connect: true,
            cut: false,
            c2s_bytes: 0,
            s2c_bytes: 0,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    pub fn connect(&mut self) {
        let tls = RustlsTls::client(self.client.config(), &RustlsOptions::default()).unwrap();
        self.client.connected(self.now, tls).unwrap();
        let stls = RustlsTls::server(&self.scfg, &RustlsOptions::default()).unwrap();
        self.conn = Some(
            self.server
                .accept(self.now, "192.0.2.7:50000".parse().unwrap(), stls)
                .unwrap(),
        );
    }

    fn drain(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            while let Some(b) = self.client.poll_transmit(self.now) {
                moved = true;
                if !self.cut {
                    self.c2s_bytes += b.len();
                    self.c2s.push_back((self.now + self.delay, b));
                }
            }
            while let Some(t) = self.server.poll_transmit(self.now) {
                moved = true;
                if !self.cut && Some(t.conn) == self.conn {
                    self.s2c_bytes += t.bytes.len();
                    self.s2c.push_back((self.now + self.delay, t.bytes));
                }
            }
            while let Some(e) = self.client.poll_event() {
                moved = true;
                let connect = matches!(e, ClientEvent::Connect { .. });
                let closed = matches!(e, ClientEvent::Closed { .. });
                self.client_events.push((self.elapsed(), e));
                if closed {
                    self.c2s.clear();
                    self.s2c.clear();
                    if let Some(c) = self.conn {
                        self.server.handle_close(self.now, c);
                    }
                }
                if connect && self.auto_connect {
                    self.connect();
                }
            }
            while let Some(e) = self.server.poll_event() {
                moved = true;
                let closed = matches!(e, ServerEvent::Closed { conn, .. } if Some(conn) == self.conn);
                self.server_events.push((self.elapsed(), e));
                if closed {
                    self.conn = None;
                    self.c2s.clear();
                    self.s2c.clear();
                    self.client.handle_close(self.now);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence");
    }

    fn deliver_due(&mut self) {
        while self.c2s.front().is_some_and(|(t, _)| *t <= self.now) {
            let (_, b) = self.c2s.pop_front().unwrap();
            if let Some(c) = self.conn {
                let mut off = 0;
                while off < b.len() {
                    match self.server.handle_stream(self.now, c, &b[off..]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => off += n,
                    }
                    self.drain();
                }
            }
        }
        while self.s2c.front().is_some_and(|(t, _)| *t <= self.now) {
            let (_, b) = self.s2c.pop_front().unwrap();
            let mut off = 0;
            while off < b.len() {
                match self.client.handle_stream(self.now, &b[off..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => off += n,
                }
                self.drain();
            }
        }
    }

    /// Advance to the next thing that happens, before `limit`. False when nothing is left.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.drain();
        let next = [
            self.client.poll_timeout(),
            self.server.poll_timeout(),
            self.c2s.front().map(|x| x.0),
            self.s2c.front().map(|x| x.0),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(t) = next.filter(|t| *t <= limit) else {
            self.now = self.now.max(limit);
            return false;
        };
        self.now = self.now.max(t);
        self.deliver_due();
        if self.client.poll_timeout().is_some_and(|d| d <= self.now) {
            self.client.handle_timeout(self.now);
        }
        if self.server.poll_timeout().is_some_and(|d| d <= self.now) {
            self.server.handle_timeout(self.now);
        }
        self.drain();
        true
    }

    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        while self.step(limit) {}
    }

    pub fn run_until(&mut self, d: Duration, mut f: impl FnMut(&Pair) -> bool) -> bool {
        let limit = self.now + d;
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

    pub fn server_closed(&self) -> Option<&sstp::CloseReason> {
        self.server_events.iter().rev().find_map(|(_, e)| match e {
            ServerEvent::Closed { reason, .. } => Some(reason),
            _ => None,
        })
    }

    pub fn client_closed(&self) -> Option<&sstp::CloseReason> {
        self.client_events.iter().rev().find_map(|(_, e)| match e {
            ClientEvent::Closed { reason } => Some(reason),
            _ => None,
        })
    }

    pub fn dump(&self) -> String {
        let mut s = String::new();
        for (t, e) in &self.client_events {
            s.push_str(&format!("C {t:?} {e:?}\n"));
        }
        for (t, e) in &self.server_events {
            s.push_str(&format!("S {t:?} {e:?}\n"));
        }
        s
    }
}
