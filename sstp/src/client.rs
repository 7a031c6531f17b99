//! [`Client`]: the RouterOS SSTP client (`/interface sstp-client`): proxy `CONNECT`, TLS
//! through the adapter, the SSTP call, and a [`ppp::host::Client`] with dial and redial.

use std::collections::VecDeque;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::binding::{BindingKey, Hlak};
use crate::config::ClientConfig;
use crate::error::{CloseReason, Error};
use crate::event::ClientEvent;
use crate::http::{self, Guid, ProxyReply};
use crate::link::{CallState, Link, LinkCounters, LinkEvent, Next};
use crate::tls::Tls;
use crate::wire;

enum Phase {
    /// Cleartext `CONNECT` sent to the proxy; its answer accumulates here.
    Proxy(Vec<u8>),
    /// TLS handshaking.
    Handshake,
    /// The SSTP call.
    Call(Box<Link>),
}

struct Conn<T> {
    tls: T,
    phase: Phase,
    /// Deadline of the proxy and TLS phases (the HTTP timer covers them).
    deadline: Instant,
}

/// The SSTP client.
///
/// # Contract
/// * **Getters**: [`Client::state`], [`Client::ppp`], [`Client::counters`].
/// * **Inputs**: [`Client::connected`] after a [`ClientEvent::Connect`] (TCP is up; hand in
///   a fresh TLS session), [`Client::handle_stream`] with every chunk read from the socket
///   (returns how much was taken), [`Client::handle_close`] when the socket closed,
///   [`Client::handle_timeout`], [`Client::dial`] / [`Client::hang_up`].
/// * **Data path**: [`Client::send_datagram`] encapsulates an IP packet as PPP, SSTP and TLS
///   into a caller buffer; [`Client::poll_datagram`] yields received packets.
/// * **Outputs**: after every input drain [`Client::poll_transmit`] (bytes for the socket),
///   then [`Client::poll_event`], then arm a timer for [`Client::poll_timeout`]. Time must
///   not go backwards.
/// * Randomness: the RNG given to [`Client::new`] seeds a ChaCha20 generator kept inside
///   (correlation ids) and the PPP client's.
pub struct Client<T: Tls> {
    config: ClientConfig,
    ppp: ppp::host::Client,
    rng: ChaCha20Rng,
    conn: Option<Conn<T>>,
    ppp_running: bool,
    events: VecDeque<ClientEvent>,
    cipher_out: Vec<u8>,
    plain: Vec<u8>,
    scratch: Vec<u8>,
    delivered: Vec<u8>,
    delivered_q: VecDeque<(u16, usize, usize)>,
    start: Instant,
    counters: LinkCounters,
}

impl<T: Tls> std::fmt::Debug for Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state())
            .field("ppp", &self.ppp.status())
            .finish_non_exhaustive()
    }
}

impl<T: Tls> Client<T> {
    /// A client. Unless `dial-on-demand` is set it asks to connect at once
    /// ([`ClientEvent::Connect`]).
    pub fn new(
        config: ClientConfig,
        now: Instant,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self, Error> {
        config.validate()?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        rng.fill_bytes(&mut seed);
        let ppp = ppp::host::Client::new(config.ppp.clone(), now, ChaCha20Rng::from_seed(seed))
            .map_err(|e| crate::ConfigError::new(e.field, &e.reason))?;
        let mut c = Client {
            config,
            ppp,
            rng,
            conn: None,
            ppp_running: false,
            events: VecDeque::new(),
            cipher_out: Vec::new(),
            plain: Vec::new(),
            scratch: vec![0u8; wire::MAX_PACKET_LEN + 16],
            delivered: Vec::new(),
            delivered_q: VecDeque::new(),
            start: now,
            counters: LinkCounters::default(),
        };
        c.pump(now);
        Ok(c)
    }

    // ----- getters -----

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }
    /// The call state (`None` while no connection, or during proxy/TLS setup).
    pub fn state(&self) -> Option<CallState> {
        match &self.conn.as_ref()?.phase {
            Phase::Call(l) => Some(l.state()),
            _ => None,
        }
    }
    /// The PPP client (status, session, dials).
    pub fn ppp(&self) -> &ppp::host::Client {
        &self.ppp
    }
    /// Packet counters of the current (or last) connection.
    pub fn counters(&self) -> LinkCounters {
        match self.conn.as_ref().map(|c| &c.phase) {
            Some(Phase::Call(l)) => l.counters,
            _ => self.counters,
        }
    }
    /// The TLS session of the current connection.
    pub fn tls(&self) -> Option<&T> {
        self.conn.as_ref().map(|c| &c.tls)
    }

    // ----- inputs -----

    /// The TCP connection asked for by [`ClientEvent::Connect`] is up: start with this TLS
    /// session (and the proxy `CONNECT` first when `http-proxy` is set).
    pub fn connected(&mut self, now: Instant, tls: T) -> Result<(), Error> {
        tls.capabilities().check_client(&self.config)?;
        let deadline = now + self.config.http_timeout;
        let phase = match &self.config.http_proxy {
            Some(_) => {
                let creds = self
                    .config
                    .proxy_credentials
                    .as_ref()
                    .map(|(u, p)| (u.as_str(), p.as_str()));
                self.cipher_out.extend_from_slice(&http::connect_request(
                    &self.config.server_authority(),
                    creds,
                ));
                Phase::Proxy(Vec::new())
            }
            None => Phase::Handshake,
        };
        self.conn = Some(Conn {
            tls,
            phase,
            deadline,
        });
        self.flush(now);
        Ok(())
    }

    /// Bytes read from the socket. Returns how many were taken; offer the rest again after
    /// draining the outputs.
    pub fn handle_stream(&mut self, now: Instant, bytes: &[u8]) -> Result<usize, Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(Error::NoConnection);
        };
        let mut used = 0;
        if let Phase::Proxy(buf) = &mut conn.phase {
            let room = http::MAX_HEAD + 4 - buf.len();
            let take = bytes.len().min(room);
            let before = buf.len();
            buf.extend_from_slice(&bytes[..take]);
            match http::parse_connect_response(buf) {
                Ok(None) => {
                    if take < bytes.len() {
                        self.close(now, CloseReason::Http(http::HttpError::TooLarge));
                    }
                    return Ok(take);
                }
                Ok(Some((ProxyReply::Established, n))) => {
                    // TLS may have started in the same read: hand the rest to TLS below.
                    used = n - before;
                    conn.phase = Phase::Handshake;
                    self.flush(now);
                }
                Ok(Some((ProxyReply::AuthRequired(_), _))) => {
                    self.close(now, CloseReason::Proxy(407));
                    return Ok(take);
                }
                Ok(Some((ProxyReply::Refused(s), _))) => {
                    self.close(now, CloseReason::Proxy(s));
                    return Ok(take);
                }
                Err(e) => {
                    self.close(now, CloseReason::Http(e));
                    return Ok(take);
                }
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return Ok(used);
        };
        conn.tls
            .set_unix_time(self.config.unix_time + now.duration_since(self.start).as_secs());
        let n = match conn.tls.read_tls(&bytes[used..]) {
            Ok(n) => n,
            Err(e) => {
                self.close(now, CloseReason::Tls(e));
                return Ok(bytes.len());
            }
        };
        self.after_read(now);
        Ok(used + n)
    }

    /// The socket closed (FIN or error).
    pub fn handle_close(&mut self, now: Instant) {
        if self.conn.is_some() {
            self.close(now, CloseReason::TransportClosed);
        }
    }

    /// Timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ppp.poll_timeout().is_some_and(|d| d <= now) {
            self.ppp.handle_timeout(now);
        }
        let mut expired = false;
        if let Some(c) = self.conn.as_mut() {
            match &mut c.phase {
                Phase::Call(l) => l.handle_timeout(now),
                _ => expired = c.deadline <= now,
            }
        }
        if expired {
            self.close(now, CloseReason::HttpTimeout);
        }
        self.pump(now);
    }

    /// Enable: dial now (RouterOS `disabled=no`).
    pub fn dial(&mut self, now: Instant) {
        self.ppp.dial(now);
        self.pump(now);
    }

    /// Disable: end PPP (LCP Terminate), then Call Disconnect; no redial.
    pub fn hang_up(&mut self, now: Instant) {
        self.ppp.hang_up(now);
        if !self.ppp_running && self.conn.is_some() {
            self.close(now, CloseReason::Local);
        }
        self.pump(now);
    }

    /// Data path: send an IP packet (PPP protocol 0x0021 IPv4, 0x0057 IPv6) through the
    /// tunnel. The TLS records, preceded by any pending output, are appended to `out` for
    /// the socket. No per-packet allocation once `out` and the TLS buffers are warm.
    pub fn send_datagram(
        &mut self,
        now: Instant,
        protocol: u16,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        let Some(Conn {
            tls,
            phase: Phase::Call(link),
            ..
        }) = self.conn.as_mut()
        else {
            return Err(Error::NotConnected);
        };
        if link.state() != CallState::Connected {
            return Err(Error::NotConnected);
        }
        let n = self.ppp.encapsulate(
            now,
            protocol,
            payload,
            &mut self.scratch[wire::HEADER_LEN..],
        )?;
        let total = n + wire::HEADER_LEN;
        if total > wire::MAX_PACKET_LEN {
            return Err(Error::Wire(wire::WireError::TooLong(n)));
        }
        let mut h = [0u8; wire::HEADER_LEN];
        wire::Header::new(false, total).emit(&mut h);
        self.scratch[..wire::HEADER_LEN].copy_from_slice(&h);
        link.counters.data_tx += 1;
        out.append(&mut self.cipher_out);
        tls.send_plaintext(&self.scratch[..total])?;
        let before = out.len();
        tls.write_tls(out)?;
        Ok(out.len() - before)
    }

    // ----- outputs -----

    /// Bytes for the socket.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let _ = now;
        if self.cipher_out.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut self.cipher_out))
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        let e = self.poll_event_untraced();
        trace_event!("sstp::client", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// The next received datagram (PPP protocol, payload).
    pub fn poll_datagram(&mut self) -> Option<(u16, &[u8])> {
        let (p, a, b) = self.delivered_q.pop_front()?;
        Some((p, self.delivered.get(a..b).unwrap_or_default()))
    }

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let a = self.ppp.poll_timeout();
        let b = self.conn.as_ref().and_then(|c| match &c.phase {
            Phase::Call(l) => l.poll_timeout(),
            _ => Some(c.deadline),
        });
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----- internals -----

    fn after_read(&mut self, now: Instant) {
        if self.delivered_q.is_empty() {
            self.delivered.clear();
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if matches!(conn.phase, Phase::Handshake) && !conn.tls.is_handshaking() {
            let guid = self
                .config
                .correlation_id
                .unwrap_or_else(|| Guid::random(&mut self.rng));
            let hello = (self.config.sstp_echo && !self.config.ppp.keepalive_timeout.is_zero())
                .then_some(self.config.ppp.keepalive_timeout);
            conn.phase = Phase::Call(Box::new(Link::client(
                now,
                &self.config.connect_to,
                &guid,
                self.config.http_timeout,
                self.config.negotiation_timeout,
                hello,
            )));
        }
        self.plain.clear();
        if let Err(e) = conn.tls.recv_plaintext(&mut self.plain) {
            self.close(now, CloseReason::Tls(e));
            return;
        }
        let peer_closed = conn.tls.peer_closed();
        if let Phase::Call(link) = &mut conn.phase {
            link.push(&self.plain);
            while let Some(Conn {
                phase: Phase::Call(link),
                ..
            }) = self.conn.as_mut()
            {
                let frame = match link.next_frame(now) {
                    Next::Frame(f) => f,
                    Next::Events => {
                        self.pump(now);
                        continue;
                    }
                    Next::Idle => break,
                };
                if self.ppp_running {
                    // A clear datagram borrows the frame; an MPPE one was decrypted into the
                    // session's receive buffer. Both are copied to the delivery buffer.
                    let got = match self.ppp.handle_frame(now, frame) {
                        Ok(ppp::Input::Datagram { protocol, payload }) => Some((protocol, payload)),
                        Ok(ppp::Input::Decrypted { protocol }) => {
                            self.ppp.session().map(|s| (protocol, s.decrypted()))
                        }
                        _ => None,
                    };
                    if let Some((protocol, payload)) = got {
                        let a = self.delivered.len();
                        self.delivered.extend_from_slice(payload);
                        self.delivered_q
                            .push_back((protocol, a, self.delivered.len()));
                    }
                }
                self.pump(now);
            }
        }
        if peer_closed {
            self.close(now, CloseReason::TransportClosed);
        }
        self.pump(now);
    }

    /// Move everything between the layers until nothing moves.
    fn pump(&mut self, now: Instant) {
        for _ in 0..64 {
            let mut moved = false;
            // PPP events first: Call Connected goes out before the NCP frames queued with
            // the authentication result (MS-SSTP: Call Connected, then NCPs).
            while let Some(ev) = self.ppp.poll_event() {
                moved = true;
                self.on_ppp_event(now, ev);
            }
            // PPP frames out.
            while let Some(f) = self.ppp.poll_transmit(now) {
                moved = true;
                if let Some(Conn {
                    phase: Phase::Call(l),
                    ..
                }) = self.conn.as_mut()
                {
                    let _ = l.send_frame(&f);
                }
            }
            // Link events.
            while let Some(ev) = self.link_event() {
                moved = true;
                self.on_link_event(now, ev);
            }
            self.flush(now);
            if !moved {
                break;
            }
        }
    }

    fn link_event(&mut self) -> Option<LinkEvent> {
        match &mut self.conn.as_mut()?.phase {
            Phase::Call(l) => l.poll_event(),
            _ => None,
        }
    }

    fn on_ppp_event(&mut self, now: Instant, ev: ppp::host::ClientEvent) {
        use ppp::host::ClientEvent as P;
        match ev {
            P::Dial => {
                if self.conn.is_none() {
                    let (h, p) = self.config.tcp_destination();
                    self.events.push_back(ClientEvent::Connect {
                        host: h.to_string(),
                        port: p,
                    });
                }
            }
            P::HangUp => {
                self.ppp_running = false;
                match self.conn.as_mut().map(|c| &mut c.phase) {
                    Some(Phase::Call(l)) => l.disconnect(now),
                    Some(_) => self.close(now, CloseReason::Local),
                    None => {}
                }
            }
            P::Ppp(e) => {
                let hlak = match &e {
                    ppp::Event::AuthSucceeded { keys, .. } => Some(
                        keys.as_deref()
                            .map(|k| Hlak::from_mschap(k, false))
                            .unwrap_or_else(Hlak::zero),
                    ),
                    ppp::Event::LinkUp { auth: None, .. } => Some(Hlak::zero()),
                    _ => None,
                };
                if let (Some(hlak), Some(conn)) = (hlak, self.conn.as_mut()) {
                    if let Phase::Call(l) = &mut conn.phase {
                        let cert = conn.tls.server_certificate().unwrap_or_default().to_vec();
                        l.send_call_connected(now, &hlak, &cert);
                    }
                }
                self.events.push_back(ClientEvent::Ppp(P::Ppp(e)));
            }
            other => self.events.push_back(ClientEvent::Ppp(other)),
        }
    }

    fn on_link_event(&mut self, now: Instant, ev: LinkEvent) {
        match ev {
            LinkEvent::Acked => {
                if self.ppp.lower_up(now).is_ok() {
                    self.ppp_running = true;
                }
            }
            LinkEvent::Connected(v) => {
                let (hash, key) = v.unwrap_or((wire::HashProtocol::Sha256, BindingKey::Hlak));
                self.events.push_back(ClientEvent::CallConnected {
                    hash,
                    zero_hlak: key == BindingKey::Zero,
                });
            }
            LinkEvent::Down => {
                if self.ppp_running {
                    self.ppp_running = false;
                    self.ppp.lower_down(now);
                }
            }
            LinkEvent::Closed(reason) => self.finish(now, reason),
            LinkEvent::Request(_) | LinkEvent::Accepted => {}
        }
    }

    /// Plaintext into TLS, TLS records out.
    fn flush(&mut self, now: Instant) {
        let _ = now;
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Phase::Call(l) = &mut conn.phase {
            if !l.out.is_empty() {
                if let Err(e) = conn.tls.send_plaintext(&l.out) {
                    l.out.clear();
                    l.close(CloseReason::Tls(e));
                }
                l.out.clear();
            }
        }
        if matches!(conn.phase, Phase::Proxy(_)) {
            return;
        }
        if let Err(e) = conn.tls.write_tls(&mut self.cipher_out) {
            if let Phase::Call(l) = &mut conn.phase {
                l.close(CloseReason::Tls(e));
            } else {
                self.conn = None;
                self.events.push_back(ClientEvent::Closed {
                    reason: CloseReason::Tls(e),
                });
                if self.ppp_running {
                    self.ppp_running = false;
                    self.ppp.lower_down(now);
                }
            }
        }
    }

    /// Close now: a call gets its close reason through the link; before the call, at once.
    fn close(&mut self, now: Instant, reason: CloseReason) {
        match self.conn.as_mut().map(|c| &mut c.phase) {
            Some(Phase::Call(l)) => {
                l.close(reason);
                self.pump(now);
            }
            Some(_) => self.finish(now, reason),
            None => {}
        }
    }

    fn finish(&mut self, now: Instant, reason: CloseReason) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if let Phase::Call(l) = &conn.phase {
            self.counters = l.counters;
        }
        if !matches!(conn.phase, Phase::Proxy(_)) {
            conn.tls.send_close_notify();
            let _ = conn.tls.write_tls(&mut self.cipher_out);
        }
        self.events.push_back(ClientEvent::Closed { reason });
        if self.ppp_running {
            self.ppp_running = false;
            self.ppp.lower_down(now);
        } else {
            // The dial failed before PPP started: the PPP client plans the redial.
            self.ppp.lower_down(now);
        }
        self.pump(now);
    }
}
