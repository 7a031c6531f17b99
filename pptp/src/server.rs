//! The RouterOS `pptp-server` (`/interface pptp-server server`): a PAC taking any number of
//! control connections, each with any number of calls, every call a PPP session of one
//! [`ppp::host::Server`] keyed by [`CallKey`].
//!
//! ```text
//!   app                        Server (this)                          ppp host Server<CallKey>
//!   accept TCP ──► accept(peer) ─► Control (PAC) per ConnId
//!   bytes ───────► handle_stream ─► SCCRQ→SCCRP, OCRQ→OCRP ─────────►  open(key, caller-id)
//!   GRE ─────────► handle_datagram: demux by our call id (+ peer) ──►  handle_frame_mut (MPPE)
//!                  Call-Clear-Request → CDN ────────────────────────►  lower_down(key)
//!                  Ended{key} ◄─── (LCP down, auth failed, idle) ───  CDN to the PNS
//! ```
//!
//! # Contract
//! * **Inputs**: [`Server::accept`] for every accepted TCP connection (refused with
//!   `enabled=no`), [`Server::handle_stream`] / [`Server::handle_stream_closed`] per
//!   connection, [`Server::handle_datagram`] for every GRE packet (IP protocol 47 payload)
//!   with its source address, [`Server::send_datagram`] / [`Server::encapsulate`] for IP
//!   towards a call, [`Server::handle_timeout`].
//! * **Outputs**: drain [`Server::poll_transmit`] and [`Server::poll_event`] after every
//!   input, then arm a timer for [`Server::poll_timeout`]. On [`ServerEvent::Disconnect`]
//!   close that TCP connection, after writing its pending transmits (the
//!   Stop-Control-Connection-Reply is queued when the disconnect is reported).
//! * Call IDs are unique across the server, so GRE demultiplexes by call ID, then checks the
//!   source address is the call's peer (RFC 2637 s4.1; NAT is out of scope, S4 L62).
//! * Deadlines live in a heap (no scan over connections per wake-up).
//!
//! # What a stranger can make it hold (issue #24)
//!
//! TCP needs a real address, but SCCRQ, OCRQ and the start of PPP cost nothing, so a control
//! connection is *half-open* until one of its calls authenticates. It holds its control state
//! (a few hundred bytes plus one message of at most 64 KiB being reassembled... in practice
//! the largest PPTP message is 220 bytes and longer lengths close the stream) and, after
//! OCRQ, its calls' PPP sessions (about 2 KiB each). Bounds:
//! * [`ServerConfig::max_half_open`] (256) half-open connections and
//!   [`ServerConfig::max_half_open_per_source`] (8) per address: a source at its limit is
//!   refused ([`Error::SourceLimit`]); when the table is full the newcomer displaces the
//!   oldest half-open connection of the source holding the most, else the oldest one at least
//!   [`ServerConfig::half_open_min_age`] (1 s) old ([`CloseReason::Evicted`], no message),
//!   and only otherwise is refused ([`Error::HalfOpenLimit`]);
//! * a connection not established within 30 s closes ([MS-PTPT] s3.1.2), PPP authentication
//!   is bounded by the PPP host's timers;
//! * [`ServerConfig::max_connections`] (4096) in any state, and `max-sessions` calls.
//! * GRE from anyone is checked against a call's ID and peer address and dropped (counted)
//!   otherwise: it creates nothing.
//! * Randomness: a `CryptoRng` given to [`Server::new`], used by the PPP host.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

use gre_family::wire::egre::EnhancedGreRepr;
use rand_core::{CryptoRng, RngCore};

use crate::config::ServerConfig;
use crate::control::Control;
use crate::data::{GreChannel, RxVerdict};
use crate::error::Error;
use crate::event::{CloseReason, ControlEvent, DropReason};
use crate::transport::{encapsulate_into, gre_packet, map_ppp, Channel, ConnId, Input, Transmit};
use crate::wire::codes;

/// The PPP host's key for a call: its control connection and our call ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey {
    /// The control connection.
    pub conn: ConnId,
    /// Our call ID (the GRE Key of packets from the PNS).
    pub call_id: u16,
}

/// Something the application must act on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A control connection's event.
    Control {
        /// The connection.
        conn: ConnId,
        /// The event.
        event: ControlEvent,
    },
    /// Close this TCP connection (the control connection is over).
    Disconnect {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
    /// From the PPP host (session events, AAA requests, accounting, ended sessions).
    Ppp(ppp::host::ServerEvent<CallKey>),
}

/// Server counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Control connections accepted.
    pub connections: u64,
    /// Calls accepted.
    pub calls: u64,
    /// Calls refused (no call ID left, PPP host full).
    pub calls_refused: u64,
    /// GRE packets dropped before reaching a call (malformed, unknown call, wrong peer).
    pub gre_dropped: u64,
    /// Connections refused at accept (limits).
    pub refused: u64,
    /// Half-open connections displaced by newcomers.
    pub evicted: u64,
}

#[derive(Debug)]
struct Conn {
    peer: IpAddr,
    control: Control,
    armed: Option<Instant>,
    /// No call of it has authenticated yet.
    half_open: bool,
    accepted: Instant,
}

#[derive(Debug)]
struct CallData {
    conn: ConnId,
    peer: IpAddr,
    gre: GreChannel,
    armed: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Conn(ConnId),
    Call(u16),
    Host,
}

/// The RouterOS `pptp-server` (see the module docs).
pub struct Server {
    config: ServerConfig,
    host: ppp::host::Server<CallKey>,
    conns: HashMap<ConnId, Conn>,
    calls: HashMap<u16, CallData>,
    next_conn: u64,
    next_call_id: u16,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    host_armed: Option<Instant>,
    events: VecDeque<ServerEvent>,
    out: VecDeque<Transmit>,
    stats: ServerStats,
    half_open: usize,
    per_source: HashMap<IpAddr, usize>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("conns", &self.conns.len())
            .field("calls", &self.calls.len())
            .finish()
    }
}

impl Server {
    /// A server. Its `/ppp secret`s and profiles: [`Server::host_mut`]`.set_store(..)`
    /// (default: [`crate::default_aaa`], no users).
    pub fn new<R>(config: ServerConfig, now: Instant, rng: R) -> Result<Self, Error>
    where
        R: RngCore + CryptoRng + Send + 'static,
    {
        config.validate()?;
        let mut host =
            ppp::host::Server::new(ppp::host::ServerConfig::new(config.ppp.clone()), now, rng)?;
        host.set_store(Box::new(crate::config::default_aaa()));
        Ok(Server {
            config,
            host,
            conns: HashMap::new(),
            calls: HashMap::new(),
            next_conn: 1,
            next_call_id: 1,
            timers: BinaryHeap::new(),
            host_armed: None,
            events: VecDeque::new(),
            out: VecDeque::new(),
            stats: ServerStats::default(),
            half_open: 0,
            per_source: HashMap::new(),
        })
    }

    // ----- getters -----

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The PPP host (sessions, stats).
    pub fn host(&self) -> &ppp::host::Server<CallKey> {
        &self.host
    }

    /// The PPP host, to set the credential store, AAA settings or answer auth requests.
    pub fn host_mut(&mut self) -> &mut ppp::host::Server<CallKey> {
        &mut self.host
    }

    /// A control connection.
    pub fn control(&self, conn: ConnId) -> Option<&Control> {
        self.conns.get(&conn).map(|c| &c.control)
    }

    /// The GRE channel of a call.
    pub fn gre(&self, call_id: u16) -> Option<&GreChannel> {
        self.calls.get(&call_id).map(|c| &c.gre)
    }

    /// Calls up.
    pub fn call_keys(&self) -> impl Iterator<Item = CallKey> + '_ {
        self.calls.iter().map(|(id, c)| CallKey {
            conn: c.conn,
            call_id: *id,
        })
    }

    /// Control connections open.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Counters.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    // ----- outputs -----

    /// Next bytes to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.flush_host(now);
        self.out.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        let e = self.poll_event_untraced();
        trace_event!("pptp::server", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Earliest deadline (may be early: waking then is harmless).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    // ----- inputs -----

    /// A TCP connection from `peer` was accepted on port 1723.
    pub fn accept(&mut self, now: Instant, peer: IpAddr) -> Result<ConnId, Error> {
        if !self.config.enabled {
            return Err(Error::Disabled);
        }
        if self.conns.len() >= self.config.max_connections {
            self.stats.refused += 1;
            return Err(Error::ConnectionLimit);
        }
        if self.per_source.get(&peer).copied().unwrap_or(0) >= self.config.max_half_open_per_source
        {
            self.stats.refused += 1;
            return Err(Error::SourceLimit);
        }
        if self.half_open >= self.config.max_half_open {
            match self.eviction_victim(now) {
                Some(victim) => self.evict(now, victim),
                None => {
                    self.stats.refused += 1;
                    return Err(Error::HalfOpenLimit);
                }
            }
        }
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.stats.connections += 1;
        self.conns.insert(
            id,
            Conn {
                peer,
                control: Control::new_pac(self.config.control.clone(), now),
                armed: None,
                half_open: true,
                accepted: now,
            },
        );
        self.half_open += 1;
        *self.per_source.entry(peer).or_insert(0) += 1;
        self.after_conn(now, id);
        Ok(id)
    }

    /// Connections none of whose calls has authenticated yet.
    pub fn half_open(&self) -> usize {
        self.half_open
    }

    /// The half-open connection a newcomer displaces when the table is full: the oldest of
    /// the source holding the most (when it holds more than one), else the oldest overall if
    /// it has had `half_open_min_age`.
    fn eviction_victim(&self, now: Instant) -> Option<ConnId> {
        let (&top, &count) = self.per_source.iter().max_by_key(|(ip, n)| (**n, **ip))?;
        let oldest = |only: Option<IpAddr>| {
            self.conns
                .iter()
                .filter(|(_, c)| c.half_open)
                .filter(|(_, c)| only.is_none_or(|ip| c.peer == ip))
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
        self.release_half_open(id);
        if let Some(c) = self.conns.get_mut(&id) {
            self.stats.evicted += 1;
            c.control.close_now(CloseReason::Evicted);
        }
        self.after_conn(now, id);
    }

    fn release_half_open(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if std::mem::take(&mut c.half_open) {
            self.half_open = self.half_open.saturating_sub(1);
            if let Some(n) = self.per_source.get_mut(&c.peer) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_source.remove(&c.peer);
                }
            }
        }
    }

    /// Bytes from a TCP connection; returns how many were consumed (all).
    pub fn handle_stream(
        &mut self,
        now: Instant,
        conn: ConnId,
        bytes: &[u8],
    ) -> Result<usize, Error> {
        let c = self
            .conns
            .get_mut(&conn)
            .ok_or(Error::UnknownConnection(conn.0))?;
        let n = c.control.handle_stream(now, bytes);
        self.after_conn(now, conn);
        Ok(n)
    }

    /// The TCP connection closed or reset.
    pub fn handle_stream_closed(&mut self, now: Instant, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.control.handle_transport_closed(now);
            self.after_conn(now, conn);
        }
    }

    /// A GRE packet (IP protocol 47 payload) from `from`. MPPE packets are decrypted in
    /// place, so the returned datagram borrows `packet`; [`Input::Datagram`] belongs to the
    /// call in the packet's Key (`EnhancedGreRepr::parse(packet)?.0.call_id`), which
    /// [`Server::handle_datagram_key`] also returns.
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        from: IpAddr,
        packet: &'a mut [u8],
    ) -> Input<'a> {
        self.handle_datagram_key(now, from, packet).1
    }

    /// [`Server::handle_datagram`], also naming the call.
    pub fn handle_datagram_key<'a>(
        &mut self,
        now: Instant,
        from: IpAddr,
        packet: &'a mut [u8],
    ) -> (Option<CallKey>, Input<'a>) {
        let (key, r) = self.datagram(now, from, packet);
        if let Input::Dropped(_) = r {
            if key.is_none() {
                self.stats.gre_dropped += 1;
            }
        }
        if let Some(k) = key {
            self.after_call(now, k.call_id);
        }
        self.after_host(now);
        (key, r)
    }

    fn datagram<'a>(
        &mut self,
        now: Instant,
        from: IpAddr,
        packet: &'a mut [u8],
    ) -> (Option<CallKey>, Input<'a>) {
        let Ok((h, range)) = EnhancedGreRepr::parse(packet) else {
            return (None, Input::Dropped(DropReason::MalformedGre));
        };
        let Some(call) = self.calls.get_mut(&h.call_id) else {
            return (None, Input::Dropped(DropReason::UnknownCall));
        };
        if call.peer != from {
            return (None, Input::Dropped(DropReason::WrongPeer));
        }
        let key = CallKey {
            conn: call.conn,
            call_id: h.call_id,
        };
        let r = match call.gre.handle_header(now, &h) {
            RxVerdict::Drop(r) => Input::Dropped(r),
            RxVerdict::AckOnly => Input::Control,
            RxVerdict::Accept if range.is_empty() => Input::Control,
            RxVerdict::Accept => match packet.get_mut(range) {
                Some(frame) => map_ppp(self.host.handle_frame_mut(now, &key, frame)),
                None => Input::Dropped(DropReason::MalformedGre),
            },
        };
        (Some(key), r)
    }

    /// Write an IP datagram for call `key` as a GRE packet into `out` (no allocation); send
    /// it to the call's peer on the GRE socket.
    pub fn encapsulate(
        &mut self,
        now: Instant,
        key: &CallKey,
        protocol: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let host = &mut self.host;
        let call = self
            .calls
            .get_mut(&key.call_id)
            .ok_or(Error::UnknownCall(key.call_id))?;
        encapsulate_into(now, &mut call.gre, out, |room| {
            host.encapsulate(now, key, protocol, payload, room)
                .map_err(Error::from)
        })
    }

    /// Like [`Server::encapsulate`], queued as a [`Transmit`].
    pub fn send_datagram(
        &mut self,
        now: Instant,
        key: &CallKey,
        protocol: u16,
        payload: &[u8],
    ) -> Result<(), Error> {
        let mut buf = vec![0u8; payload.len() + 64];
        let n = self.encapsulate(now, key, protocol, payload, &mut buf)?;
        buf.truncate(n);
        let peer = self
            .calls
            .get(&key.call_id)
            .map(|c| c.peer)
            .ok_or(Error::UnknownCall(key.call_id))?;
        self.out.push_back(Transmit {
            conn: key.conn,
            peer,
            channel: Channel::Gre,
            payload: buf,
        });
        Ok(())
    }

    /// Disconnect a call (LCP Terminate, then Call-Disconnect-Notify).
    pub fn close_call(&mut self, now: Instant, key: &CallKey, reason: &str) -> Result<(), Error> {
        self.host.close(now, key, reason)?;
        self.after_host(now);
        Ok(())
    }

    /// Close a control connection (Stop-Control-Connection-Request; its calls end).
    pub fn close(&mut self, now: Instant, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.control.close(now);
            self.after_conn(now, conn);
        }
    }

    /// Timers: the due control connections, GRE acknowledgments and the PPP host.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((t, timer))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::Conn(id) => {
                    if let Some(c) = self.conns.get_mut(&id) {
                        if c.armed == Some(t) {
                            c.armed = None;
                        }
                        c.control.handle_timeout(now);
                        self.after_conn(now, id);
                    }
                }
                Timer::Call(id) => {
                    if let Some(c) = self.calls.get_mut(&id) {
                        if c.armed == Some(t) {
                            c.armed = None;
                        }
                        self.after_call(now, id);
                    }
                }
                Timer::Host => {
                    if self.host_armed == Some(t) {
                        self.host_armed = None;
                    }
                    self.host.handle_timeout(now);
                    self.after_host(now);
                }
            }
        }
    }

    // ----- internals -----

    fn alloc_call_id(&mut self) -> Option<u16> {
        for _ in 0..=u16::MAX {
            let id = self.next_call_id;
            self.next_call_id = self.next_call_id.wrapping_add(1).max(1);
            if !self.calls.contains_key(&id) {
                return Some(id);
            }
        }
        None
    }

    fn arm(&mut self, timer: Timer, at: Option<Instant>) {
        let armed = match timer {
            Timer::Conn(id) => self.conns.get_mut(&id).map(|c| &mut c.armed),
            Timer::Call(id) => self.calls.get_mut(&id).map(|c| &mut c.armed),
            Timer::Host => Some(&mut self.host_armed),
        };
        if let (Some(slot), Some(at)) = (armed, at) {
            if slot.is_none_or(|a| at < a) {
                *slot = Some(at);
                self.timers.push(Reverse((at, timer)));
            }
        }
    }

    /// After a call's GRE state may have changed: emit a due ack, re-arm.
    fn after_call(&mut self, now: Instant, id: u16) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if let Some(h) = c.gre.poll_ack(now) {
            self.out.push_back(Transmit {
                conn: c.conn,
                peer: c.peer,
                channel: Channel::Gre,
                payload: gre_packet(&h, &[]),
            });
        }
        let at = c.gre.poll_timeout();
        self.arm(Timer::Call(id), at);
    }

    /// After the PPP host may have done something: frames out, events handled, re-arm.
    fn after_host(&mut self, now: Instant) {
        self.flush_host(now);
        while let Some(e) = self.host.poll_event() {
            if let ppp::host::ServerEvent::Ppp {
                key,
                event: ppp::Event::AuthSucceeded { .. },
            } = &e
            {
                // A call of this connection authenticated: it is no stranger's any more.
                self.release_half_open(key.conn);
            }
            if let ppp::host::ServerEvent::Ended { key, .. } = &e {
                // PPP is over: Call-Disconnect-Notify (PAC, RFC 2637 s2.13)
                let key = *key;
                self.flush_host(now);
                self.calls.remove(&key.call_id);
                if let Some(c) = self.conns.get_mut(&key.conn) {
                    let _ = c.control.clear_call(now, key.call_id);
                }
                self.events.push_back(ServerEvent::Ppp(e));
                self.after_conn(now, key.conn);
                continue;
            }
            self.events.push_back(ServerEvent::Ppp(e));
        }
        self.flush_host(now);
        let at = self.host.poll_timeout();
        self.arm(Timer::Host, at);
    }

    fn flush_host(&mut self, now: Instant) {
        while let Some(t) = self.host.poll_transmit(now) {
            let Some(c) = self.calls.get_mut(&t.key.call_id) else {
                continue;
            };
            let Ok(len) = u16::try_from(t.frame.len()) else {
                continue;
            };
            if let Some(h) = c.gre.next_header(now, len) {
                self.out.push_back(Transmit {
                    conn: c.conn,
                    peer: c.peer,
                    channel: Channel::Gre,
                    payload: gre_packet(&h, &t.frame),
                });
            }
        }
    }

    /// After a control connection may have changed: bytes out, events handled, re-arm.
    fn after_conn(&mut self, now: Instant, id: ConnId) {
        for _ in 0..8 {
            let Some(c) = self.conns.get_mut(&id) else {
                return;
            };
            let peer = c.peer;
            let mut evs = Vec::new();
            while let Some(e) = c.control.poll_event() {
                evs.push(e);
            }
            if evs.is_empty() {
                break;
            }
            for e in evs {
                self.on_control(now, id, peer, &e);
                self.events.push_back(ServerEvent::Control {
                    conn: id,
                    event: e.clone(),
                });
                if let ControlEvent::Closed(reason) = e {
                    self.flush_conn(now, id);
                    self.release_half_open(id);
                    self.conns.remove(&id);
                    self.events
                        .push_back(ServerEvent::Disconnect { conn: id, reason });
                    self.after_host(now);
                    return;
                }
            }
        }
        self.flush_conn(now, id);
        let at = self.conns.get(&id).and_then(|c| c.control.poll_timeout());
        self.arm(Timer::Conn(id), at);
        self.after_host(now);
    }

    fn flush_conn(&mut self, now: Instant, id: ConnId) {
        if let Some(c) = self.conns.get_mut(&id) {
            if let Some(b) = c.control.poll_transmit(now) {
                self.out.push_back(Transmit {
                    conn: id,
                    peer: c.peer,
                    channel: Channel::Control,
                    payload: b,
                });
            }
        }
    }

    fn on_control(&mut self, now: Instant, conn: ConnId, peer: IpAddr, e: &ControlEvent) {
        match *e {
            ControlEvent::CallRequested {
                peer_call_id,
                peer_window,
                serial,
            } => {
                let full = self
                    .config
                    .ppp
                    .max_sessions
                    .is_some_and(|m| self.host.len() >= m);
                let id = if full { None } else { self.alloc_call_id() };
                let Some(call_id) = id else {
                    self.stats.calls_refused += 1;
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.control.reject_call(
                            peer_call_id,
                            codes::ocrp::GENERAL_ERROR,
                            codes::error::NO_RESOURCE,
                        );
                    }
                    return;
                };
                let key = CallKey { conn, call_id };
                let cc = &self.config.control;
                self.calls.insert(
                    call_id,
                    CallData {
                        conn,
                        peer,
                        gre: GreChannel::new(
                            now,
                            peer_call_id,
                            peer_window,
                            cc.ack_delay,
                            cc.window_timeout,
                        ),
                        armed: None,
                    },
                );
                if let Some(c) = self.conns.get_mut(&conn) {
                    let _ = c
                        .control
                        .accept_call(now, peer_call_id, peer_window, serial, call_id);
                }
                self.stats.calls += 1;
                if self.host.open(now, key, &peer.to_string()).is_err() {
                    self.calls.remove(&call_id);
                    if let Some(c) = self.conns.get_mut(&conn) {
                        let _ = c.control.clear_call(now, call_id);
                    }
                }
            }
            ControlEvent::CallDown { call_id, .. } if self.calls.remove(&call_id).is_some() => {
                let key = CallKey { conn, call_id };
                let _ = self.host.lower_down(now, &key);
            }
            _ => {}
        }
    }
}
