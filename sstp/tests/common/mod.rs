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

/// RustlsTls with a hook that may rewrite the plaintext the client sends (a misbehaving or
/// limited client, for the server's tests).
pub struct HookTls {
    pub inner: RustlsTls,
    pub hook: Option<fn(&mut Vec<u8>)>,
}

impl sstp::tls::Tls for HookTls {
    fn read_tls(&mut self, data: &[u8]) -> Result<usize, sstp::tls::TlsError> {
        self.inner.read_tls(data)
    }
    fn write_tls(&mut self, out: &mut Vec<u8>) -> Result<(), sstp::tls::TlsError> {
        self.inner.write_tls(out)
    }
    fn is_handshaking(&self) -> bool {
        self.inner.is_handshaking()
    }
    fn send_plaintext(&mut self, data: &[u8]) -> Result<(), sstp::tls::TlsError> {
        let Some(h) = self.hook.filter(|_| !data.starts_with(b"SSTP_DUPLEX_POST")) else {
            return self.inner.send_plaintext(data);
        };
        // The hook sees one SSTP packet at a time.
        let mut rest = data;
        let mut out = Vec::new();
        while let Ok(Some((_, n))) = sstp::wire::split_packet(rest) {
            let mut pkt = rest[..n].to_vec();
            h(&mut pkt);
            out.extend_from_slice(&pkt);
            rest = &rest[n..];
        }
        out.extend_from_slice(rest);
        self.inner.send_plaintext(&out)
    }
    fn recv_plaintext(&mut self, out: &mut Vec<u8>) -> Result<usize, sstp::tls::TlsError> {
        self.inner.recv_plaintext(out)
    }
    fn peer_closed(&self) -> bool {
        self.inner.peer_closed()
    }
    fn send_close_notify(&mut self) {
        self.inner.send_close_notify()
    }
    fn server_certificate(&self) -> Option<&[u8]> {
        self.inner.server_certificate()
    }
    fn protocol_version(&self) -> Option<&'static str> {
        self.inner.protocol_version()
    }
    fn cipher_suite(&self) -> Option<String> {
        self.inner.cipher_suite()
    }
    fn set_unix_time(&mut self, s: u64) {
        self.inner.set_unix_time(s)
    }
    fn capabilities(&self) -> sstp::tls::Capabilities {
        self.inner.capabilities()
    }
}

/// A TCP-like stream in each direction: bytes arrive `delay` after being written, in order.
pub struct Pair {
    pub client: Client<HookTls>,
    pub hook: Option<fn(&mut Vec<u8>)>,
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
    fin_to_server: Option<Instant>,
    fin_to_client: Option<Instant>,
}

impl Pair {
    pub fn new(ccfg: ClientConfig, scfg: ServerConfig, seed: u64) -> Pair {
        let t0 = Instant::now();
        let mut rng = TestRng::new(seed);
        let mut server = Server::<RustlsTls>::new(scfg.clone(), t0, &mut rng).unwrap();
        server.host_mut().set_store(Box::new(store()));
        let client = Client::<HookTls>::new(ccfg, t0, &mut rng).unwrap();
        Pair {
            client,
            hook: None,
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
            fin_to_server: None,
            fin_to_client: None,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    pub fn connect(&mut self) {
        let tls = HookTls {
            inner: RustlsTls::client(self.client.config(), &RustlsOptions::default()).unwrap(),
            hook: self.hook,
        };
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
                    // The client closes its socket: the server sees the FIN one delay later.
                    self.fin_to_server = Some(self.now + self.delay);
                }
                if connect && self.auto_connect {
                    self.connect();
                }
            }
            while let Some(e) = self.server.poll_event() {
                moved = true;
                let closed =
                    matches!(e, ServerEvent::Closed { conn, .. } if Some(conn) == self.conn);
                self.server_events.push((self.elapsed(), e));
                if closed {
                    self.conn = None;
                    self.fin_to_client = Some(self.now + self.delay);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence");
    }

    fn deliver_due(&mut self) {
        if self.fin_to_server.is_some_and(|t| t <= self.now) {
            self.fin_to_server = None;
            self.c2s.clear();
            if let Some(c) = self.conn {
                self.server.handle_close(self.now, c);
            }
        }
        if self.fin_to_client.is_some_and(|t| t <= self.now) {
            self.fin_to_client = None;
            self.s2c.clear();
            self.client.handle_close(self.now);
        }
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
            self.fin_to_server,
            self.fin_to_client,
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

    /// One IPv4 datagram each way through `send_datagram` / `handle_stream` /
    /// `poll_datagram` on the established call: client to server, then server to client; each
    /// end must deliver it intact.
    pub fn exchange_ip(&mut self, pkt: &[u8]) {
        let conn = self.conn.expect("no call");
        let mut rec = Vec::new();
        self.client
            .send_datagram(self.now, 0x0021, pkt, &mut rec)
            .unwrap();
        let mut off = 0;
        while off < rec.len() {
            off += self
                .server
                .handle_stream(self.now, conn, &rec[off..])
                .unwrap();
        }
        let (c, proto, d) = self.server.poll_datagram().unwrap();
        assert_eq!((c, proto, d), (conn, 0x0021, pkt));
        let mut rec = Vec::new();
        self.server
            .send_datagram(self.now, conn, 0x0021, pkt, &mut rec)
            .unwrap();
        let mut off = 0;
        while off < rec.len() {
            off += self.client.handle_stream(self.now, &rec[off..]).unwrap();
        }
        assert_eq!(self.client.poll_datagram(), Some((0x0021, pkt)));
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
