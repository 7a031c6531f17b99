//! [`Server`]: the RouterOS PPPoE access concentrator (`/interface pppoe-server server`):
//! stateless discovery with an AC-Cookie, a session table keyed by (client MAC, SESSION_ID),
//! and PPP on a [`ppp::host::Server`] with the same key.
//!
//! # What a stranger can make it hold
//! A PADI creates no state: the PADO's AC-Cookie is an HMAC-SHA256 over the client MAC and
//! VLAN tags under a secret from the injected RNG, so a PADR is checked without a table
//! (forged, replayed-from-another-MAC or expired cookies are dropped as
//! [`DropReason::BadCookie`]). Only with `pado-delay` do PADOs wait, at most
//! [`ServerConfig::max_delayed_pados`]. A PADR with a valid cookie opens a session (bounded by
//! `max-sessions`; one host MAC holds at most [`ServerConfig::max_starting_per_host`] sessions
//! that have not sent a session frame yet, and at most 65534 in all); a repeated PADR from the
//! same host with the same Host-Uniq gets the same PADS again instead of a second session.

use crate::client::lossy;
use crate::config::ServerConfig;
use crate::error::{DropReason, Error};
use crate::event::{EndReason, Input, ServerEvent, SessionKey, Transmit};
use crate::wire::{
    self, mac_to_string, tag, Code, Discovery, Frame, Mac, VlanStack, BROADCAST, ETHERTYPE_SESSION,
};
use hmac::{Hmac, Mac as _};
use ppp::host::SharedRng;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// Length of the AC-Cookie: 4 bytes of secret generation and 16 bytes of HMAC-SHA256.
pub const COOKIE_LEN: usize = 20;

#[derive(Debug, Clone)]
struct Sess {
    vlans: VlanStack,
    /// The PADS, kept until the first session frame so a repeated PADR gets it again.
    pads: Option<Vec<u8>>,
    host_uniq: Vec<u8>,
    /// Why we are ending it (set before the PPP host reports `Ended`).
    ending: Option<EndReason>,
    /// LAC role: the PPP host let go of it ([`ppp::host::ServerEvent::Forward`]); its frames
    /// are relayed by the application.
    forwarded: bool,
}

/// Server counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// PADIs answered with a PADO.
    pub pado_sent: u64,
    /// PADS sent with a session.
    pub sessions_started: u64,
    /// PADS with an error tag (service not served, no resources).
    pub pads_refused: u64,
    /// Repeated PADRs answered with the same PADS.
    pub pads_repeated: u64,
    /// PADRs with a bad cookie.
    pub bad_cookies: u64,
    /// PADTs sent.
    pub padt_sent: u64,
    /// PADTs received for a live session.
    pub padt_received: u64,
    /// Frames dropped (any reason).
    pub dropped: u64,
}

/// The PPPoE access concentrator.
///
/// # Contract
/// * **Getters**: [`Server::len`], [`Server::session`], [`Server::host`], [`Server::stats`].
/// * **Inputs**: [`Server::handle_frame`] for every frame of EtherType 0x8863/0x8864 that
///   reaches the port, [`Server::handle_timeout`], [`Server::close`], and the PPP host's
///   inputs through [`Server::host_mut`] (`set_store`, `auth_verdict`).
/// * **Data path**: [`Server::send_datagram`] writes an IP packet as a complete session
///   frame into a caller buffer (no allocation); datagrams from clients come back from
///   `handle_frame` as [`Input::Datagram`].
/// * **Outputs**: after every input drain [`Server::poll_transmit`] and
///   [`Server::poll_event`] until `None`, then arm a timer for [`Server::poll_timeout`].
///   Time must not go backwards.
/// * Deadlines: the PPP host's heap plus the `pado-delay` queue (FIFO: one delay for all).
/// * Randomness: the RNG given to [`Server::new`] draws cookie secrets and session ids and is
///   shared with the PPP host.
pub struct Server {
    config: ServerConfig,
    host: ppp::host::Server<SessionKey>,
    rng: SharedRng,
    sessions: HashMap<SessionKey, Sess>,
    per_mac: HashMap<Mac, Vec<u16>>,
    /// Sessions per SESSION_ID value (ids are AC-unique while fewer than 65534 exist).
    ids: HashMap<u16, u32>,
    /// Cookie secrets: current generation and the one before.
    secret: [u8; 64],
    prev_secret: [u8; 64],
    generation: u32,
    rotate_at: Instant,
    delayed: VecDeque<(Instant, Transmit)>,
    out: VecDeque<Transmit>,
    events: VecDeque<ServerEvent>,
    stats: ServerStats,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("sessions", &self.sessions.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// An AC (its PPP host starts with an empty credential store: see [`Server::host_mut`]).
    pub fn new<R>(config: ServerConfig, now: Instant, rng: R) -> Result<Self, Error>
    where
        R: RngCore + CryptoRng + Send + 'static,
    {
        config.validate()?;
        let mut rng = SharedRng::new(rng);
        let mut hc = ppp::host::ServerConfig::new(config.ppp.clone());
        hc.aaa = config.aaa.clone();
        hc.forward_realms = config.forward_realms.clone();
        let host = ppp::host::Server::new(hc, now, rng.clone())?;
        let mut secret = [0u8; 64];
        let mut prev_secret = [0u8; 64];
        rng.fill_bytes(&mut secret);
        rng.fill_bytes(&mut prev_secret);
        Ok(Server {
            rotate_at: now + config.cookie_rotation,
            config,
            host,
            rng,
            sessions: HashMap::new(),
            per_mac: HashMap::new(),
            ids: HashMap::new(),
            secret,
            prev_secret,
            generation: 1,
            delayed: VecDeque::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: ServerStats::default(),
        })
    }

    // ----- getters -----

    /// Live sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }
    /// True with no session.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
    /// A session's VLAN tags, if it exists.
    pub fn session(&self, key: &SessionKey) -> Option<VlanStack> {
        self.sessions.get(key).map(|s| s.vlans)
    }
    /// The PPP host.
    pub fn host(&self) -> &ppp::host::Server<SessionKey> {
        &self.host
    }
    /// The PPP host, for `set_store`, `auth_verdict` and the like.
    pub fn host_mut(&mut self) -> &mut ppp::host::Server<SessionKey> {
        &mut self.host
    }
    /// Counters.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }
    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    // ----- outputs -----

    /// Next frame to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        loop {
            if let Some(t) = self.out.pop_front() {
                return Some(t);
            }
            if let Some(t) = self.host.poll_transmit(now) {
                if let Some(t) = self.session_frame(t.key, &t.frame) {
                    return Some(t);
                }
                continue;
            }
            self.pump();
            if self.out.is_empty() {
                return None;
            }
        }
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        let e = self.poll_event_untraced();
        trace_event!("pppoe::server", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ServerEvent> {
        if self.events.is_empty() {
            self.pump();
        }
        self.events.pop_front()
    }

    /// Earliest deadline (PPP timers, delayed PADOs).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let d = self.delayed.front().map(|(at, _)| *at);
        [d, self.host.poll_timeout()].into_iter().flatten().min()
    }

    // ----- inputs -----

    /// Timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        while self.delayed.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, t)) = self.delayed.pop_front() {
                self.out.push_back(t);
            }
        }
        if self.host.poll_timeout().is_some_and(|d| d <= now) {
            self.host.handle_timeout(now);
        }
        self.pump();
    }

    /// Hang up a session: LCP Terminate-Request, then (when PPP is done) a PADT and
    /// [`ServerEvent::SessionEnded`].
    pub fn close(&mut self, now: Instant, key: &SessionKey, reason: &str) -> Result<(), Error> {
        if !self.sessions.contains_key(key) {
            return Err(Error::NoSession);
        }
        self.host.close(now, key, reason)?;
        self.pump();
        Ok(())
    }

    /// End a session at once with a PADT, without an LCP exchange (an administrative kill,
    /// or the LAC's call to the LNS went down: `l2tp::lac::LacEvent::CallDown`).
    /// [`ServerEvent::SessionEnded`] follows with [`EndReason::Admin`].
    pub fn terminate(&mut self, now: Instant, key: &SessionKey) -> Result<(), Error> {
        if !self.sessions.contains_key(key) {
            return Err(Error::NoSession);
        }
        self.end_now(now, *key, EndReason::Admin);
        self.pump();
        Ok(())
    }

    /// True when `key` was handed over to an LNS ([`ppp::host::ServerEvent::Forward`], with
    /// [`ServerConfig::forward_realms`]): its frames come out of [`Server::handle_frame`] as
    /// [`Input::Forward`], and the LNS's frames go back with [`Server::send_ppp_frame`].
    pub fn is_forwarded(&self, key: &SessionKey) -> bool {
        self.sessions.get(key).is_some_and(|s| s.forwarded)
    }

    /// LAC role: send a PPP frame (protocol field first, no `FF 03`) from the LNS to the
    /// client of forwarded session `key`.
    pub fn send_ppp_frame(&mut self, key: &SessionKey, frame: &[u8]) -> Result<(), Error> {
        if !self.is_forwarded(key) {
            return Err(Error::NoSession);
        }
        let t = self.session_frame(*key, frame).ok_or(Error::NoSession)?;
        self.out.push_back(t);
        Ok(())
    }

    /// Write an IP datagram for session `key` as a complete session frame into `out`;
    /// returns its length. No allocation.
    pub fn send_datagram(
        &mut self,
        now: Instant,
        key: &SessionKey,
        protocol: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let vlans = self.sessions.get(key).ok_or(Error::NoSession)?.vlans;
        let hl = wire::header_len(&vlans);
        let body = out
            .get_mut(hl..)
            .ok_or(wire::WireError::BufferTooSmall { need: hl, have: 0 })?;
        let n = self.host.encapsulate(now, key, protocol, payload, body)?;
        wire::emit_header(
            out,
            key.0,
            self.config.mac,
            &vlans,
            ETHERTYPE_SESSION,
            Code::SESSION,
            key.1,
            n,
        )?;
        Ok(hl + n)
    }

    /// One received Ethernet frame. Takes it mutably so that MPPE decrypts in place.
    pub fn handle_frame<'a>(&mut self, now: Instant, frame: &'a mut [u8]) -> Input<'a> {
        let f = match Frame::parse(frame) {
            Ok(f) => f,
            Err(e) => return self.drop(DropReason::Malformed(e)),
        };
        if f.src[0] & 1 == 1 {
            return self.drop(DropReason::NotForUs);
        }
        if f.ethertype == ETHERTYPE_SESSION {
            let key = (f.src, f.session_id);
            let ok = f.dst == self.config.mac
                && self.sessions.get(&key).is_some_and(|s| s.vlans == f.vlans);
            if !ok {
                return self.drop(DropReason::UnknownSession);
            }
            let mut forwarded = false;
            if let Some(s) = self.sessions.get_mut(&key) {
                s.pads = None;
                forwarded = s.forwarded;
            }
            let start = f.header_len();
            let end = start + f.payload.len();
            if forwarded {
                return match frame.get(start..end) {
                    Some(frame) => Input::Forward {
                        session: key,
                        frame,
                    },
                    None => self.drop(DropReason::UnknownSession),
                };
            }
            let r = match frame.get_mut(start..end) {
                Some(p) => self.host.handle_frame_mut(now, &key, p),
                None => return self.drop(DropReason::UnknownSession),
            };
            let out = match r {
                Ok(ppp::Input::Datagram { protocol, payload }) => Input::Datagram {
                    session: key,
                    protocol,
                    payload,
                },
                Ok(ppp::Input::Dropped) | Ok(ppp::Input::MppeDropped(_)) | Err(_) => {
                    self.stats.dropped += 1;
                    Input::Dropped(DropReason::Ppp)
                }
                Ok(_) => Input::Control,
            };
            self.pump();
            return out;
        }
        if !self.config.serves_vlan(&f.vlans) {
            return self.drop(DropReason::VlanNotServed);
        }
        let d = match Discovery::from_frame(&f) {
            Ok(d) => d,
            Err(e) => return self.drop(DropReason::Malformed(e)),
        };
        let r = match d.code() {
            Code::PADI => self.on_padi(now, &f, &d),
            Code::PADR => self.on_padr(now, &f, &d),
            Code::PADT => self.on_padt(now, &f, &d),
            c => Err(DropReason::UnexpectedCode(c.0)),
        };
        self.pump();
        match r {
            Ok(()) => Input::Discovery,
            Err(e) => self.drop(e),
        }
    }

    // ----- internals -----

    fn drop<'a>(&mut self, r: DropReason) -> Input<'a> {
        self.stats.dropped += 1;
        if r == DropReason::BadCookie {
            self.stats.bad_cookies += 1;
        }
        Input::Dropped(r)
    }

    fn full(&self) -> bool {
        self.config
            .ppp
            .max_sessions
            .is_some_and(|m| self.sessions.len() >= m)
    }

    /// A host holds every id already (65534 sessions from one MAC).
    fn mac_full(&self, mac: &Mac) -> bool {
        self.per_mac
            .get(mac)
            .is_some_and(|v| v.len() >= usize::from(u16::MAX - 1))
    }

    /// The service a request names, if served: `Ok(None)` for a blank request.
    fn match_service(&self, d: &Discovery) -> Result<Option<String>, DropReason> {
        let want = d
            .service_names()
            .next()
            .ok_or(DropReason::MissingServiceName)?;
        if want.is_empty() {
            return Ok(None);
        }
        let w = lossy(want);
        if self
            .config
            .service_names
            .iter()
            .any(|s| s.is_empty() || *s == w)
        {
            Ok(Some(w))
        } else {
            Err(DropReason::ServiceNotOffered)
        }
    }

    fn rotate(&mut self, now: Instant) {
        if now < self.rotate_at {
            return;
        }
        let period = self.config.cookie_rotation;
        // Whole periods elapsed since the deadline, plus the one that ends at it.
        let behind = (now - self.rotate_at).as_nanos() / period.as_nanos().max(1) + 1;
        if behind == 1 {
            self.prev_secret = self.secret;
        } else {
            // Idle for two periods or more: the old secrets are both gone.
            self.rng.fill_bytes(&mut self.prev_secret);
        }
        self.rng.fill_bytes(&mut self.secret);
        let steps = u32::try_from(behind).unwrap_or(u32::MAX);
        self.generation = self.generation.wrapping_add(steps);
        self.rotate_at += period.saturating_mul(steps);
    }

    fn cookie_mac(key: &[u8; 64], generation: u32, mac: &Mac, vlans: &VlanStack) -> Hmac<Sha256> {
        // A key of exactly SHA-256's block size: the infallible constructor.
        let mut m = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&(*key).into());
        m.update(&generation.to_be_bytes());
        m.update(mac);
        for t in vlans.tags() {
            m.update(&t.tpid.to_be_bytes());
            m.update(&(t.tci & 0x0fff).to_be_bytes());
        }
        m
    }

    fn make_cookie(&mut self, now: Instant, mac: &Mac, vlans: &VlanStack) -> [u8; COOKIE_LEN] {
        self.rotate(now);
        let tag = Self::cookie_mac(&self.secret, self.generation, mac, vlans).finalize();
        let mut c = [0u8; COOKIE_LEN];
        c[..4].copy_from_slice(&self.generation.to_be_bytes());
        c[4..].copy_from_slice(&tag.into_bytes()[..COOKIE_LEN - 4]);
        c
    }

    fn check_cookie(&mut self, now: Instant, c: &[u8], mac: &Mac, vlans: &VlanStack) -> bool {
        self.rotate(now);
        if c.len() != COOKIE_LEN {
            return false;
        }
        let g = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        let key = if g == self.generation {
            self.secret
        } else if g == self.generation.wrapping_sub(1) {
            self.prev_secret
        } else {
            return false;
        };
        Self::cookie_mac(&key, g, mac, vlans)
            .verify_truncated_left(&c[4..])
            .is_ok()
    }

    fn discovery_frame(&self, dst: Mac, vlans: &VlanStack, d: &Discovery) -> Option<Transmit> {
        d.emit(dst, self.config.mac, vlans)
            .ok()
            .map(|frame| Transmit { dst, frame })
    }

    fn on_padi(&mut self, now: Instant, f: &Frame<'_>, d: &Discovery) -> Result<(), DropReason> {
        if f.dst != BROADCAST && f.dst != self.config.mac {
            return Err(DropReason::NotForUs);
        }
        let want = self.match_service(d)?;
        if self.full() {
            return Err(DropReason::Full);
        }
        if !self.config.pado_delay.is_zero() && self.delayed.len() >= self.config.max_delayed_pados
        {
            return Err(DropReason::DelayedPadoLimit);
        }
        let mut pado =
            Discovery::new(Code::PADO, 0).with(tag::AC_NAME, self.config.ac_name.as_bytes());
        match &want {
            Some(w) => pado = pado.with(tag::SERVICE_NAME, w.as_bytes()),
            None => {
                for s in &self.config.service_names {
                    pado = pado.with(tag::SERVICE_NAME, s.as_bytes());
                }
            }
        }
        pado = pado.with(tag::AC_COOKIE, self.make_cookie(now, &f.src, &f.vlans));
        pado = self.echo(pado, d);
        let Some(t) = self.discovery_frame(f.src, &f.vlans, &pado) else {
            return Err(DropReason::Malformed(wire::WireError::TooLong("PADO")));
        };
        self.stats.pado_sent += 1;
        if self.config.pado_delay.is_zero() {
            self.out.push_back(t);
        } else {
            self.delayed.push_back((now + self.config.pado_delay, t));
        }
        Ok(())
    }

    /// Echo Host-Uniq and Relay-Session-Id, and grant PPP-Max-Payload (RFC 4638).
    fn echo(&self, mut p: Discovery, req: &Discovery) -> Discovery {
        if let Some(u) = req.host_uniq() {
            p = p.with(tag::HOST_UNIQ, u);
        }
        if let Some(r) = req.relay_session_id() {
            p = p.with(tag::RELAY_SESSION_ID, r);
        }
        if let (Some(ours), Some(theirs)) = (self.config.ppp_max_payload, req.ppp_max_payload()) {
            p = p.with(tag::PPP_MAX_PAYLOAD, ours.min(theirs).to_be_bytes());
        }
        p
    }

    fn refuse(&mut self, f: &Frame<'_>, d: &Discovery, service: &[u8], t: u16, text: &str) {
        let pads = Discovery::new(Code::PADS, 0)
            .with(tag::SERVICE_NAME, service)
            .with(t, text.as_bytes());
        let pads = self.echo(pads, d);
        if let Some(x) = self.discovery_frame(f.src, &f.vlans, &pads) {
            self.out.push_back(x);
            self.stats.pads_refused += 1;
        }
    }

    fn on_padr(&mut self, now: Instant, f: &Frame<'_>, d: &Discovery) -> Result<(), DropReason> {
        if f.dst != self.config.mac {
            return Err(DropReason::NotForUs);
        }
        let cookie = d.ac_cookie().ok_or(DropReason::BadCookie)?;
        if !self.check_cookie(now, cookie, &f.src, &f.vlans) {
            return Err(DropReason::BadCookie);
        }
        let requested = d.service_names().next().unwrap_or_default().to_vec();
        let service = match self.match_service(d) {
            Ok(Some(s)) => s,
            Ok(None) => self
                .config
                .service_names
                .first()
                .cloned()
                .unwrap_or_default(),
            Err(DropReason::ServiceNotOffered) => {
                self.refuse(
                    f,
                    d,
                    &requested,
                    tag::SERVICE_NAME_ERROR,
                    "service not offered",
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let uniq = d.host_uniq().unwrap_or_default();
        // A repeated PADR (our PADS was lost): the same PADS again.
        if let Some(ids) = self.per_mac.get(&f.src) {
            for id in ids {
                if let Some(s) = self.sessions.get(&(f.src, *id)) {
                    if s.host_uniq == uniq && s.vlans == f.vlans {
                        if let Some(p) = &s.pads {
                            self.out.push_back(Transmit {
                                dst: f.src,
                                frame: p.clone(),
                            });
                            self.stats.pads_repeated += 1;
                            return Ok(());
                        }
                    }
                }
            }
        }
        // A flood of new sessions from one host that never start.
        let starting = self.per_mac.get(&f.src).map_or(0, |ids| {
            ids.iter()
                .filter(|id| {
                    self.sessions
                        .get(&(f.src, **id))
                        .is_some_and(|s| s.pads.is_some())
                })
                .count()
        });
        if !self.config.ppp.one_session_per_host && starting >= self.config.max_starting_per_host {
            return Err(DropReason::HostStarting);
        }
        // one-session-per-host: the old session goes at once, with a PADT.
        if self.config.ppp.one_session_per_host {
            let old: Vec<u16> = self.per_mac.get(&f.src).cloned().unwrap_or_default();
            for id in old {
                self.end_now(now, (f.src, id), EndReason::Replaced);
            }
        }
        if self.full() || self.mac_full(&f.src) {
            self.refuse(
                f,
                d,
                service.as_bytes(),
                tag::AC_SYSTEM_ERROR,
                "max-sessions reached",
            );
            return Ok(());
        }
        let id = self.allocate_id(&f.src);
        let key = (f.src, id);
        let pads = self.echo(
            Discovery::new(Code::PADS, id).with(tag::SERVICE_NAME, service.as_bytes()),
            d,
        );
        let Some(t) = self.discovery_frame(f.src, &f.vlans, &pads) else {
            return Err(DropReason::Malformed(wire::WireError::TooLong("PADS")));
        };
        if self.host.open(now, key, &mac_to_string(&f.src)).is_err() {
            self.refuse(
                f,
                d,
                service.as_bytes(),
                tag::AC_SYSTEM_ERROR,
                "no resources",
            );
            return Ok(());
        }
        self.sessions.insert(
            key,
            Sess {
                vlans: f.vlans,
                pads: Some(t.frame.clone()),
                host_uniq: uniq.to_vec(),
                ending: None,
                forwarded: false,
            },
        );
        self.per_mac.entry(f.src).or_default().push(id);
        *self.ids.entry(id).or_default() += 1;
        // The PADS goes before the PPP host's first LCP frame.
        self.out.push_back(t);
        self.stats.sessions_started += 1;
        self.events.push_back(ServerEvent::SessionStarted {
            session: key,
            service,
            vlans: f.vlans,
        });
        Ok(())
    }

    fn allocate_id(&mut self, mac: &Mac) -> u16 {
        // Random ids (not guessable from outside). RFC 2516 s4 needs them unique per host
        // MAC only; while fewer than 65534 sessions exist they are unique across the AC too
        // (easier to read in captures and logs), beyond that per MAC (the AC holds more
        // than 65534 sessions). The caller checked `mac_full`.
        let free_for_mac =
            |s: &Self, id: u16| id != 0 && id != 0xffff && !s.sessions.contains_key(&(*mac, id));
        if self.ids.len() < usize::from(u16::MAX - 1) {
            for _ in 0..32 {
                let id = (self.rng.next_u32() & 0xffff) as u16;
                if free_for_mac(self, id) && !self.ids.contains_key(&id) {
                    return id;
                }
            }
            if let Some(id) = (1..0xffff).find(|id| !self.ids.contains_key(id)) {
                return id;
            }
        }
        for _ in 0..32 {
            let id = (self.rng.next_u32() & 0xffff) as u16;
            if free_for_mac(self, id) {
                return id;
            }
        }
        (1..0xffff).find(|id| free_for_mac(self, *id)).unwrap_or(1)
    }

    fn on_padt(&mut self, now: Instant, f: &Frame<'_>, d: &Discovery) -> Result<(), DropReason> {
        let key = (f.src, d.session_id);
        let ok =
            f.dst == self.config.mac && self.sessions.get(&key).is_some_and(|s| s.vlans == f.vlans);
        if !ok {
            return Err(DropReason::UnknownSession);
        }
        self.stats.padt_received += 1;
        if self.sessions.get(&key).is_some_and(|s| s.forwarded) {
            self.forget(key, EndReason::PeerPadt);
            return Ok(());
        }
        if let Some(s) = self.sessions.get_mut(&key) {
            s.ending = Some(EndReason::PeerPadt);
        }
        let _ = self.host.lower_down(now, &key);
        Ok(())
    }

    /// End a session now: PPP dropped without frames, PADT sent, event.
    fn end_now(&mut self, now: Instant, key: SessionKey, reason: EndReason) {
        if self.sessions.get(&key).is_some_and(|s| s.forwarded) {
            self.forget(key, reason);
            return;
        }
        if let Some(s) = self.sessions.get_mut(&key) {
            s.ending = Some(reason);
            let _ = self.host.lower_down(now, &key);
            self.pump();
        }
    }

    /// Remove a session: PADT (unless the client sent one) and [`ServerEvent::SessionEnded`].
    fn forget(&mut self, key: SessionKey, why: EndReason) {
        let Some(s) = self.sessions.remove(&key) else {
            return;
        };
        if let Some(ids) = self.per_mac.get_mut(&key.0) {
            ids.retain(|i| *i != key.1);
            if ids.is_empty() {
                self.per_mac.remove(&key.0);
            }
        }
        if let Some(n) = self.ids.get_mut(&key.1) {
            *n -= 1;
            if *n == 0 {
                self.ids.remove(&key.1);
            }
        }
        if why != EndReason::PeerPadt {
            self.queue_padt(key, &s.vlans);
        }
        self.events.push_back(ServerEvent::SessionEnded {
            session: key,
            reason: why,
        });
    }

    fn queue_padt(&mut self, key: SessionKey, vlans: &VlanStack) {
        let d = Discovery::new(Code::PADT, key.1);
        if let Some(t) = self.discovery_frame(key.0, vlans, &d) {
            self.out.push_back(t);
            self.stats.padt_sent += 1;
        }
    }

    fn session_frame(&self, key: SessionKey, ppp: &[u8]) -> Option<Transmit> {
        let s = self.sessions.get(&key)?;
        let hl = wire::header_len(&s.vlans);
        let mut frame = vec![0u8; hl + ppp.len()];
        wire::emit_header(
            &mut frame,
            key.0,
            self.config.mac,
            &s.vlans,
            ETHERTYPE_SESSION,
            Code::SESSION,
            key.1,
            ppp.len(),
        )
        .ok()?;
        frame[hl..].copy_from_slice(ppp);
        Some(Transmit { dst: key.0, frame })
    }

    /// The PPP host's events: `Ended` becomes a PADT (unless the client sent one) and
    /// [`ServerEvent::SessionEnded`]; the rest goes to the application.
    fn pump(&mut self) {
        while let Some(e) = self.host.poll_event() {
            match e {
                ppp::host::ServerEvent::Ended { key, reason } => {
                    let why = match self.sessions.get(&key) {
                        Some(s) => s.ending.clone().unwrap_or(EndReason::Ppp(reason)),
                        None => continue,
                    };
                    self.forget(key, why);
                }
                ppp::host::ServerEvent::Forward { key, realm, proxy } => {
                    if let Some(s) = self.sessions.get_mut(&key) {
                        s.forwarded = true;
                    }
                    self.events
                        .push_back(ServerEvent::Host(ppp::host::ServerEvent::Forward {
                            key,
                            realm,
                            proxy,
                        }));
                }
                other => self.events.push_back(ServerEvent::Host(other)),
            }
        }
    }
}
