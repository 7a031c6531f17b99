//! [`Server`]: the RouterOS SSTP server (`/interface sstp-server server`): many TLS
//! connections, each an SSTP call whose PPP session lives in one [`ppp::host::Server`] keyed
//! by [`ConnId`].
//!
//! # What a stranger can make it hold (issue #24)
//!
//! Every accepted TCP connection is *half-open* until its Call Connected verifies: it holds
//! the TLS session (rustls: its state and record buffers, some tens of KiB), the SSTP input
//! buffer (at most the HTTP head limit of 8 KiB, then one SSTP packet of at most 4095 bytes
//! plus the chunk being processed), and, once its Call Connect Request is accepted, one PPP
//! session in the host (about 2 KiB). Bounds:
//! * at most [`ServerConfig::max_half_open`] half-open connections (default 256), and
//!   [`ServerConfig::max_half_open_per_source`] per source address (default 8): a source at
//!   its limit is refused at [`Server::accept`]; when the whole table is full, the newcomer
//!   displaces the oldest half-open connection of the source holding the most, else the
//!   oldest one at least [`ServerConfig::half_open_min_age`] (1 s) old (closed with
//!   [`CloseReason::Evicted`]), and only otherwise is refused. Strangers holding all 256
//!   slots from many addresses therefore cannot keep a new client out: they can only make
//!   it finish within 1 s, or open more than 256 connections per second;
//! * each phase is timed by the negotiation timer ([`ServerConfig::negotiation_timeout`],
//!   60 s): TLS handshake plus HTTP request, then Call Connect Request, then Call Connected
//!   (PPP authentication runs inside the last one, also bounded by PPP's auth timeout); a
//!   silent stranger is dropped after 60 s, a slow one after at most 180 s;
//! * [`ServerConfig::max_connections`] in any state (default 4096), and the PPP host's
//!   `max-sessions`;
//! * a refused HTTP request gets one short error response; the server never answers a
//!   stranger with more bytes than it received plus the fixed 200 response, Call Connect Ack
//!   (48 bytes) and Call Abort (20 bytes): no amplification beyond TLS's own handshake.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::binding::Hlak;
use crate::config::ServerConfig;
use crate::error::{AbortCause, AcceptError, CloseReason, Error};
use crate::event::{ConnId, ServerEvent, Transmit};
use crate::link::{CallState, Link, LinkCounters, LinkEvent, Next};
use crate::tls::Tls;
use crate::wire;

struct Conn<T> {
    tls: T,
    link: Link,
    peer: SocketAddr,
    out: Vec<u8>,
    half_open: bool,
    accepted: Instant,
    ppp_open: bool,
    armed: Option<Instant>,
    queued: bool,
    closed: Option<CloseReason>,
}

/// Server counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections refused at accept (disabled, limits).
    pub refused: u64,
    /// Calls that reached Call Connected.
    pub connected: u64,
    /// Crypto bindings refused.
    pub binding_failures: u64,
    /// Connections closed.
    pub closed: u64,
    /// Half-open connections displaced by newcomers when the half-open table was full.
    pub evicted: u64,
}

/// The SSTP server.
///
/// # Contract
/// * **Getters**: [`Server::state`], [`Server::host`], [`Server::len`], [`Server::stats`],
///   [`Server::counters`], [`Server::half_open`].
/// * **Inputs**: [`Server::accept`] for every new TCP connection (with its TLS session),
///   [`Server::handle_stream`] with every chunk read from a connection (returns how much was
///   taken), [`Server::handle_close`] when a socket closed, [`Server::handle_timeout`],
///   [`Server::close`], and the PPP host's inputs through [`Server::host_mut`]
///   (`auth_verdict`, `set_store`).
/// * **Data path**: [`Server::send_datagram`] writes an IP packet for a connection as TLS
///   records into a caller buffer; [`Server::poll_datagram`] yields received packets.
/// * **Outputs**: after every input drain [`Server::poll_transmit`] until `None` (bytes per
///   connection), then [`Server::poll_event`] (a connection's `Closed` comes after its last
///   bytes), then arm a timer for [`Server::poll_timeout`]. Time must not go backwards.
/// * Deadlines: one heap over the connections plus the PPP host's heap; no scans.
/// * Randomness: the RNG given to [`Server::new`] seeds a ChaCha20 generator (nonces) and the
///   host's.
pub struct Server<T: Tls> {
    config: ServerConfig,
    host: ppp::host::Server<ConnId>,
    conns: HashMap<ConnId, Conn<T>>,
    next_id: u64,
    rng: ChaCha20Rng,
    timers: BinaryHeap<Reverse<(Instant, ConnId)>>,
    dirty: VecDeque<ConnId>,
    half_open: usize,
    per_source: HashMap<IpAddr, usize>,
    events: VecDeque<ServerEvent>,
    plain: Vec<u8>,
    scratch: Vec<u8>,
    delivered: Vec<u8>,
    delivered_q: VecDeque<(ConnId, u16, usize, usize)>,
    start: Instant,
    stats: ServerStats,
}

impl<T: Tls> std::fmt::Debug for Server<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("connections", &self.conns.len())
            .field("half_open", &self.half_open)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<T: Tls> Server<T> {
    /// A server (its PPP host gets an empty credential store: see [`Server::host_mut`]).
    pub fn new(
        config: ServerConfig,
        now: Instant,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self, Error> {
        config.validate()?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        rng.fill_bytes(&mut seed);
        let host = ppp::host::Server::new(
            ppp::host::ServerConfig::new(config.ppp.clone()),
            now,
            ChaCha20Rng::from_seed(seed),
        )
        .map_err(|e| crate::ConfigError::new(e.field, &e.reason))?;
        Ok(Server {
            config,
            host,
            conns: HashMap::new(),
            next_id: 1,
            rng,
            timers: BinaryHeap::new(),
            dirty: VecDeque::new(),
            half_open: 0,
            per_source: HashMap::new(),
            events: VecDeque::new(),
            plain: Vec::new(),
            scratch: vec![0u8; wire::MAX_PACKET_LEN + 16],
            delivered: Vec::new(),
            delivered_q: VecDeque::new(),
            start: now,
            stats: ServerStats::default(),
        })
    }

    // ----- getters -----

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }
    /// The PPP host (sessions keyed by [`ConnId`]).
    pub fn host(&self) -> &ppp::host::Server<ConnId> {
        &self.host
    }
    /// The PPP host, to set its credential store, answer `AuthRequest`s, ...
    pub fn host_mut(&mut self) -> &mut ppp::host::Server<ConnId> {
        &mut self.host
    }
    /// Connections held.
    pub fn len(&self) -> usize {
        self.conns.len()
    }
    /// No connection held.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }
    /// Connections not yet in Call Connected.
    pub fn half_open(&self) -> usize {
        self.half_open
    }
    /// Counters.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }
    /// A connection's call state.
    pub fn state(&self, conn: ConnId) -> Option<CallState> {
        self.conns.get(&conn).map(|c| c.link.state())
    }
    /// A connection's packet counters.
    pub fn counters(&self, conn: ConnId) -> Option<LinkCounters> {
        self.conns.get(&conn).map(|c| c.link.counters)
    }
    /// A connection's peer address.
    pub fn peer(&self, conn: ConnId) -> Option<SocketAddr> {
        self.conns.get(&conn).map(|c| c.peer)
    }
    /// A connection's TLS session.
    pub fn tls(&self, conn: ConnId) -> Option<&T> {
        self.conns.get(&conn).map(|c| &c.tls)
    }

    // ----- inputs -----

    /// A TCP connection from `peer` was accepted; `tls` is its server-side TLS session.
    /// Refused (close the socket) when disabled or at a limit.
    pub fn accept(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        tls: T,
    ) -> Result<ConnId, AcceptError> {
        let refuse = |s: &mut Self, e| {
            s.stats.refused += 1;
            Err(e)
        };
        if !self.config.enabled {
            return refuse(self, AcceptError::Disabled);
        }
        if self.conns.len() >= self.config.max_connections {
            return refuse(self, AcceptError::ConnectionLimit);
        }
        let src = self.per_source.get(&peer.ip()).copied().unwrap_or(0);
        if src >= self.config.max_half_open_per_source {
            return refuse(self, AcceptError::SourceLimit);
        }
        if self.half_open >= self.config.max_half_open {
            match self.eviction_victim(now) {
                Some(victim) => self.evict(now, victim),
                None => return refuse(self, AcceptError::HalfOpenLimit),
            }
        }
        let mut nonce = [0u8; 32];
        self.rng.fill_bytes(&mut nonce);
        let hello = (self.config.sstp_echo && !self.config.ppp.keepalive_timeout.is_zero())
            .then_some(self.config.ppp.keepalive_timeout);
        let mut link = Link::server(
            now,
            self.config.negotiation_timeout,
            hello,
            self.config.hash_bitmask,
            nonce,
            self.config.accept_zero_hlak,
            &self.config.http_server_name,
        );
        link.set_certificate(tls.server_certificate().map(<[u8]>::to_vec));
        let id = ConnId(self.next_id);
        self.next_id += 1;
        self.conns.insert(
            id,
            Conn {
                tls,
                link,
                peer,
                out: Vec::new(),
                half_open: true,
                accepted: now,
                ppp_open: false,
                armed: None,
                queued: false,
                closed: None,
            },
        );
        self.half_open += 1;
        *self.per_source.entry(peer.ip()).or_insert(0) += 1;
        self.stats.accepted += 1;
        self.arm(id);
        Ok(id)
    }

    /// Bytes read from connection `conn`. Returns how many were taken; offer the rest again
    /// after draining the outputs.
    pub fn handle_stream(
        &mut self,
        now: Instant,
        conn: ConnId,
        bytes: &[u8],
    ) -> Result<usize, Error> {
        let unix = self.config.unix_time + now.duration_since(self.start).as_secs();
        let c = self.conns.get_mut(&conn).ok_or(Error::NoConnection)?;
        if c.closed.is_some() || c.link.state() == CallState::Closed {
            return Ok(bytes.len());
        }
        c.tls.set_unix_time(unix);
        let n = match c.tls.read_tls(bytes) {
            Ok(n) => n,
            Err(e) => {
                c.link.close(CloseReason::Tls(e));
                self.after(now, conn);
                return Ok(bytes.len());
            }
        };
        if self.delivered_q.is_empty() {
            self.delivered.clear();
        }
        self.plain.clear();
        if let Err(e) = c.tls.recv_plaintext(&mut self.plain) {
            c.link.close(CloseReason::Tls(e));
        }
        let peer_closed = c.tls.peer_closed();
        c.link.push(&self.plain);
        while let Some(c) = self.conns.get_mut(&conn) {
            let ppp_open = c.ppp_open;
            let frame = match c.link.next_frame(now) {
                Next::Frame(f) => f,
                Next::Events => {
                    self.after(now, conn);
                    continue;
                }
                Next::Idle => break,
            };
            if ppp_open {
                // A clear datagram borrows the frame; an MPPE one was decrypted into the
                // session's receive buffer. Both are copied to the delivery buffer.
                let got = match self.host.handle_frame(now, &conn, frame) {
                    Ok(ppp::Input::Datagram { protocol, payload }) => Some((protocol, payload)),
                    Ok(ppp::Input::Decrypted { protocol }) => {
                        self.host.session(&conn).map(|s| (protocol, s.decrypted()))
                    }
                    _ => None,
                };
                if let Some((protocol, payload)) = got {
                    let a = self.delivered.len();
                    self.delivered.extend_from_slice(payload);
                    self.delivered_q
                        .push_back((conn, protocol, a, self.delivered.len()));
                }
            }
            self.after(now, conn);
        }
        if peer_closed {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.link.close(CloseReason::TransportClosed);
            }
        }
        self.after(now, conn);
        Ok(n)
    }

    /// The socket of `conn` closed (FIN or error).
    pub fn handle_close(&mut self, now: Instant, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.out.clear();
            c.link.close(CloseReason::TransportClosed);
            self.after(now, conn);
        }
    }

    /// Hang up `conn`: PPP terminates (LCP), then Call Disconnect.
    pub fn close(&mut self, now: Instant, conn: ConnId) -> Result<(), Error> {
        let c = self.conns.get_mut(&conn).ok_or(Error::NoConnection)?;
        if c.ppp_open {
            let _ = self.host.close(now, &conn, "administratively closed");
        } else {
            c.link.disconnect(now);
        }
        self.after(now, conn);
        Ok(())
    }

    /// Timers: call when [`Server::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.host.poll_timeout().is_some_and(|d| d <= now) {
            self.host.handle_timeout(now);
            self.pump_host(now);
        }
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            if c.armed != Some(at) {
                continue;
            }
            c.armed = None;
            c.link.handle_timeout(now);
            self.after(now, id);
        }
        self.settle();
    }

    /// Data path: an IP packet (PPP protocol 0x0021 / 0x0057) for `conn`; the TLS records
    /// (after any pending output of the connection) are appended to `out` for its socket.
    /// No per-packet allocation once the buffers are warm.
    pub fn send_datagram(
        &mut self,
        now: Instant,
        conn: ConnId,
        protocol: u16,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        let c = self.conns.get_mut(&conn).ok_or(Error::NoConnection)?;
        if c.link.state() != CallState::Connected || !c.ppp_open {
            return Err(Error::NotConnected);
        }
        let n = self.host.encapsulate(
            now,
            &conn,
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
        c.link.counters.data_tx += 1;
        out.append(&mut c.out);
        c.tls.send_plaintext(&self.scratch[..total])?;
        let before = out.len();
        c.tls.write_tls(out)?;
        Ok(out.len() - before)
    }

    // ----- outputs -----

    /// Bytes for one connection's socket.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        let _ = now;
        while let Some(id) = self.dirty.pop_front() {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            c.queued = false;
            if !c.out.is_empty() {
                let bytes = std::mem::take(&mut c.out);
                if c.closed.is_some() {
                    // Come back for the Closed event.
                    c.queued = true;
                    self.dirty.push_back(id);
                }
                return Some(Transmit { conn: id, bytes });
            }
            if c.closed.is_some() {
                self.remove(id);
            }
        }
        None
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        let e = self.poll_event_untraced();
        trace_event!("sstp::server", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// The next received datagram: connection, PPP protocol, payload.
    pub fn poll_datagram(&mut self) -> Option<(ConnId, u16, &[u8])> {
        let (c, p, a, b) = self.delivered_q.pop_front()?;
        Some((c, p, self.delivered.get(a..b).unwrap_or_default()))
    }

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let a = self.host.poll_timeout();
        let b = self.timers.peek().map(|Reverse((t, _))| *t);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----- internals -----

    /// After input to `id`: link events, PPP traffic, TLS output, timer.
    fn after(&mut self, now: Instant, id: ConnId) {
        for _ in 0..64 {
            let mut moved = false;
            while let Some(ev) = self.conns.get_mut(&id).and_then(|c| c.link.poll_event()) {
                moved = true;
                self.on_link_event(now, id, ev);
            }
            moved |= self.pump_host(now);
            if !moved {
                break;
            }
        }
        self.flush(id);
        self.arm(id);
        self.settle();
    }

    fn on_link_event(&mut self, now: Instant, id: ConnId, ev: LinkEvent) {
        match ev {
            LinkEvent::Request(r) => self.events.push_back(ServerEvent::Request {
                conn: id,
                host: r.host,
                correlation_id: r.correlation_id,
            }),
            LinkEvent::Accepted => {
                let caller = self
                    .conns
                    .get(&id)
                    .map(|c| c.peer.ip().to_string())
                    .unwrap_or_default();
                match self.host.open(now, id, &caller) {
                    Ok(()) => {
                        if let Some(c) = self.conns.get_mut(&id) {
                            c.ppp_open = true;
                        }
                    }
                    Err(_) => {
                        if let Some(c) = self.conns.get_mut(&id) {
                            c.link.abort(now, AbortCause::SessionRefused);
                        }
                    }
                }
            }
            LinkEvent::Connected(v) => {
                self.stats.connected += 1;
                self.release_half_open(id);
                if let Some((hash, key)) = v {
                    self.events.push_back(ServerEvent::CallConnected {
                        conn: id,
                        hash,
                        key,
                    });
                }
            }
            LinkEvent::Down => {
                let open = self
                    .conns
                    .get_mut(&id)
                    .map(|c| std::mem::take(&mut c.ppp_open));
                if open == Some(true) {
                    let _ = self.host.lower_down(now, &id);
                }
            }
            LinkEvent::Closed(reason) => {
                if matches!(reason, CloseReason::AbortedLocally(AbortCause::Binding(_))) {
                    self.stats.binding_failures += 1;
                }
                if let Some(c) = self.conns.get_mut(&id) {
                    c.tls.send_close_notify();
                    c.closed = Some(reason.clone());
                }
                self.release_half_open(id);
            }
            LinkEvent::Acked => {}
        }
    }

    /// Drain the PPP host: frames to their connections, events (HLAK for the binding,
    /// `Ended` -> Call Disconnect). True when anything moved.
    fn pump_host(&mut self, now: Instant) -> bool {
        let mut moved = false;
        while let Some(t) = self.host.poll_transmit(now) {
            moved = true;
            if let Some(c) = self.conns.get_mut(&t.key) {
                if c.link.carries_ppp() {
                    let _ = c.link.send_frame(&t.frame);
                    self.flush(t.key);
                }
            }
        }
        while let Some(ev) = self.host.poll_event() {
            moved = true;
            use ppp::host::ServerEvent as H;
            match &ev {
                H::Ppp {
                    key,
                    event: ppp::Event::AuthSucceeded { keys, .. },
                } => {
                    if let Some(c) = self.conns.get_mut(key) {
                        c.link.set_hlak(
                            keys.as_deref()
                                .map(|k| Hlak::from_mschap(k, true))
                                .unwrap_or_else(Hlak::zero),
                        );
                    }
                }
                H::Ended { key, .. } => {
                    let key = *key;
                    if let Some(c) = self.conns.get_mut(&key) {
                        c.ppp_open = false;
                        c.link.disconnect(now);
                    }
                    self.events.push_back(ServerEvent::Host(ev));
                    while let Some(e) = self.conns.get_mut(&key).and_then(|c| c.link.poll_event()) {
                        self.on_link_event(now, key, e);
                    }
                    self.flush(key);
                    self.arm(key);
                    continue;
                }
                _ => {}
            }
            self.events.push_back(ServerEvent::Host(ev));
        }
        moved
    }

    /// The half-open connection a newcomer displaces when the table is full: the oldest of
    /// the source holding the most (when it holds more than one), else the oldest overall if
    /// it has had `half_open_min_age`.
    fn eviction_victim(&self, now: Instant) -> Option<ConnId> {
        let (&top, &count) = self.per_source.iter().max_by_key(|(ip, n)| (**n, **ip))?;
        let oldest = |only: Option<IpAddr>| {
            self.conns
                .iter()
                .filter(|(_, c)| c.half_open && c.closed.is_none())
                .filter(|(_, c)| only.is_none_or(|ip| c.peer.ip() == ip))
                .min_by_key(|(id, c)| (c.accepted, **id))
                .map(|(id, c)| (*id, c.accepted))
        };
        if count > 1 {
            if let Some((id, _)) = oldest(Some(top)) {
                return Some(id);
            }
        }
        oldest(None)
            .filter(|(_, at)| now.saturating_duration_since(*at) >= self.config.half_open_min_age)
            .map(|(id, _)| id)
    }

    fn evict(&mut self, now: Instant, id: ConnId) {
        if let Some(c) = self.conns.get_mut(&id) {
            self.stats.evicted += 1;
            c.out.clear();
            c.link.close(CloseReason::Evicted);
        }
        self.release_half_open(id);
        self.after(now, id);
    }

    fn release_half_open(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if std::mem::take(&mut c.half_open) {
            self.half_open = self.half_open.saturating_sub(1);
            let ip = c.peer.ip();
            if let Some(n) = self.per_source.get_mut(&ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_source.remove(&ip);
                }
            }
        }
    }

    /// Plaintext into TLS, records into the connection's output.
    fn flush(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if !c.link.out.is_empty() {
            if let Err(e) = c.tls.send_plaintext(&c.link.out) {
                c.link.close(CloseReason::Tls(e));
            }
            c.link.out.clear();
        }
        let _ = c.tls.write_tls(&mut c.out);
        if (!c.out.is_empty() || c.closed.is_some()) && !c.queued {
            c.queued = true;
            self.dirty.push_back(id);
        }
    }

    fn arm(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let due = c.link.poll_timeout();
        if let Some(at) = due {
            if c.armed.is_none_or(|a| at < a) {
                c.armed = Some(at);
                self.timers.push(Reverse((at, id)));
            }
        }
    }

    /// Drop stale heap entries from the top so `poll_timeout` is exact.
    fn settle(&mut self) {
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            match self.conns.get_mut(&id) {
                Some(c) if c.armed == Some(at) => {
                    // An entry whose deadline moved later: re-arm at the new time.
                    let due = c.link.poll_timeout();
                    if due.is_some_and(|d| d > at) || due.is_none() {
                        self.timers.pop();
                        c.armed = None;
                        if let Some(d) = due {
                            c.armed = Some(d);
                            self.timers.push(Reverse((d, id)));
                        }
                        continue;
                    }
                    break;
                }
                _ => {
                    self.timers.pop();
                }
            }
        }
    }

    fn remove(&mut self, id: ConnId) {
        self.release_half_open(id);
        if let Some(c) = self.conns.remove(&id) {
            self.stats.closed += 1;
            self.events.push_back(ServerEvent::Closed {
                conn: id,
                reason: c.closed.unwrap_or(CloseReason::Local),
            });
        }
    }
}
