//! [`Server`]: many PPP server sessions keyed by a transport-chosen `K`, with AAA, admission and
//! accounting, behind one deadline heap.

use super::timers::{SlotRef, Timers};
use super::SharedRng;
use crate::aaa::{Aaa, CredentialStore, Lookup, Verdict};
use crate::auth::verify_with_password;
use crate::config::{Config, Role, Service};
use crate::error::{ConfigError, Error};
use crate::event::{AuthRequest, Event, TerminateReason};
use crate::session::{Counters, Input, ProxyAuth, ProxyLcp, Session};
use crate::settings::ServerSettings;
use rand_core::{CryptoRng, RngCore};
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `/ppp aaa`: where credentials come from and whether accounting runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AaaSettings {
    /// `use-radius` (no): a user not in the local store is asked of the application through
    /// [`ServerEvent::AuthRequest`] (a RADIUS client answers with [`Server::auth_verdict`]).
    /// With `no`, such a user is rejected. A store answering [`Lookup::Defer`] always asks.
    pub use_radius: bool,
    /// `accounting` (yes): emit [`ServerEvent::Accounting`] start/interim/stop records.
    pub accounting: bool,
    /// `interim-update` (0s = none): interval of interim records, unless the verdict's
    /// [`UserAttributes::interim_interval`](crate::UserAttributes::interim_interval) (RADIUS
    /// Acct-Interim-Interval) says otherwise.
    pub interim_update: Duration,
}

impl Default for AaaSettings {
    fn default() -> Self {
        AaaSettings {
            use_radius: false,
            accounting: true,
            interim_update: Duration::ZERO,
        }
    }
}

/// Configuration of a [`Server`].
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The PPP part of the transport's RouterOS server menu.
    pub settings: ServerSettings,
    /// `/ppp aaa`.
    pub aaa: AaaSettings,
    /// LAC role: users whose name ends in `@realm` for one of these realms are not
    /// authenticated here but handed over with [`ServerEvent::Forward`] (RouterOS VPDN, S0
    /// L187-191). Empty (default): no forwarding.
    pub forward_realms: Vec<String>,
}

impl ServerConfig {
    /// A configuration from a settings block with `/ppp aaa` defaults and no forwarding.
    pub fn new(settings: ServerSettings) -> Self {
        ServerConfig {
            settings,
            aaa: AaaSettings::default(),
            forward_realms: Vec::new(),
        }
    }
}

/// A frame to send on the transport session `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<K> {
    /// The transport session (the key given to [`Server::open`]).
    pub key: K,
    /// The PPP frame (protocol field onward, `FF 03` per the service's framing).
    pub frame: Vec<u8>,
}

/// Which accounting record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountingKind {
    /// Accounting-Start: the session reached the network phase (an NCP opened).
    Start,
    /// Interim-Update, every interim interval while the session lasts.
    Interim,
    /// Accounting-Stop: the session ended.
    Stop,
}

/// One accounting record (the fields a RADIUS Accounting-Request carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountingRecord {
    /// Acct-Session-Id: unique per host, increasing.
    pub session_id: u64,
    /// User-Name.
    pub user: String,
    /// Calling-Station-Id (the transport's caller-id).
    pub caller_id: String,
    /// The service (NAS-Port-Type).
    pub service: Service,
    /// Framed-IP-Address.
    pub framed_address: Option<Ipv4Addr>,
    /// Acct-Session-Time (time in the network phase).
    pub uptime: Duration,
    /// Octet and packet counters (Acct-Input/Output-Octets/Packets).
    pub counters: Counters,
    /// Acct-Terminate-Cause, on Stop.
    pub reason: Option<TerminateReason>,
}

/// Something the transport or the application must know or act on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent<K> {
    /// An event of the PPP session `key` (link up, authentication result, network up, ...).
    /// `AuthRequested` never appears here: the host answers it or asks through
    /// [`ServerEvent::AuthRequest`].
    Ppp {
        /// The transport session.
        key: K,
        /// The session's event.
        event: Event,
    },
    /// External verdict needed (`use-radius`, or a store that deferred): answer with
    /// [`Server::auth_verdict`], now or later.
    AuthRequest {
        /// The transport session.
        key: K,
        /// Calling-Station-Id.
        caller_id: String,
        /// What the peer presented.
        request: AuthRequest,
    },
    /// LAC role: the user belongs to a forwarded realm. The host has let go of the session
    /// (nothing more is sent or timed for it); relay the transport session's frames to an
    /// LNS chosen by `realm`, starting it with `proxy` (RFC 2661 s4.4.5 proxy LCP and
    /// authentication).
    Forward {
        /// The transport session.
        key: K,
        /// The realm (`user@realm`).
        realm: String,
        /// LCP state and credentials for the LNS.
        proxy: ProxyLcp,
    },
    /// An accounting record (`/ppp aaa accounting=yes`).
    Accounting {
        /// The transport session.
        key: K,
        /// Start, interim or stop.
        kind: AccountingKind,
        /// The record.
        record: AccountingRecord,
    },
    /// The PPP session is over and its last frame has been handed to
    /// [`Server::poll_transmit`]: tear the transport session down now (L2TP CDN, PPPoE PADT,
    /// PPTP Call-Clear, SSTP Call-Disconnect). The host has forgotten `key`.
    Ended {
        /// The transport session.
        key: K,
        /// Why.
        reason: TerminateReason,
    },
}

/// Host counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Sessions opened.
    pub opened: u64,
    /// Sessions refused by `max-sessions`.
    pub refused_max_sessions: u64,
    /// Sessions closed by `one-session-per-host`.
    pub replaced_same_host: u64,
    /// Logins accepted.
    pub auth_accepted: u64,
    /// Logins refused (bad proof, unknown user, admission).
    pub auth_rejected: u64,
    /// Sessions handed over ([`ServerEvent::Forward`]).
    pub forwarded: u64,
    /// Sessions ended.
    pub ended: u64,
}

struct Acct {
    id: u64,
    interval: Option<Duration>,
    next: Option<Instant>,
}

struct Slot<K> {
    key: K,
    gen: u32,
    session: Session,
    caller_id: Box<str>,
    armed: Option<Instant>,
    queued: bool,
    ended: Option<Box<TerminateReason>>,
    /// The store admitted the login (released at the end with the session's user and
    /// attributes).
    admitted: bool,
    pending: Option<Box<AuthRequest>>,
    acct: Option<Box<Acct>>,
}

/// Many PPP server sessions for one transport (an L2TP LNS, a PPPoE or PPTP or SSTP server),
/// keyed by a caller-chosen `K` (L2TP `(tunnel id, session id)`, PPPoE `(MAC, session id)`,
/// PPTP call id, SSTP connection id).
///
/// # Contract
/// * **Inputs**: [`Server::open`] / [`Server::open_proxy`] when the transport has a new
///   session, [`Server::handle_frame`] for every PPP frame received on it,
///   [`Server::lower_down`] when it is gone, [`Server::close`] to hang up,
///   [`Server::auth_verdict`] to answer [`ServerEvent::AuthRequest`],
///   [`Server::handle_timeout`] when [`Server::poll_timeout`] passed.
/// * **Outputs**: after every input, drain [`Server::poll_transmit`] (frames, each naming its
///   key) and [`Server::poll_event`] until both return `None`, then arm a timer for
///   [`Server::poll_timeout`]. [`ServerEvent::Ended`] comes after the session's last frame.
/// * **Data path**: [`Server::encapsulate`] writes a datagram as a PPP frame into a caller
///   buffer (no allocation); received datagrams come back from `handle_frame` as
///   [`Input::Datagram`] borrowing the input.
/// * Time never goes backwards. Every call costs O(log n) in the number of sessions (hash
///   lookups and one deadline heap); nothing scans the table.
/// * Randomness: the `rng` given to [`Server::new`] is shared by all sessions (magic numbers,
///   challenges); pass a CSPRNG seeded from the OS in production.
pub struct Server<K: Clone + Eq + Hash> {
    config: Arc<Config>,
    settings: ServerSettings,
    aaa: AaaSettings,
    forward_realms: Vec<String>,
    store: Box<dyn CredentialStore + Send>,
    rng: SharedRng,
    slots: Vec<Option<Box<Slot<K>>>>,
    free: Vec<u32>,
    next_gen: u32,
    index: HashMap<K, u32>,
    by_caller: HashMap<String, K>,
    live: usize,
    ending_count: usize,
    timers: Timers,
    dirty: VecDeque<SlotRef>,
    events: VecDeque<ServerEvent<K>>,
    scratch: Vec<Event>,
    next_acct: u64,
    stats: ServerStats,
}

impl<K: Clone + Eq + Hash> std::fmt::Debug for Server<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("sessions", &self.live)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<K: Clone + Eq + Hash> Server<K> {
    /// A host with an empty local [`Aaa`] store (see [`Server::set_store`]). `now` is the
    /// construction time (unused today; every input carries its own `now`).
    pub fn new<R>(config: ServerConfig, now: Instant, rng: R) -> Result<Self, ConfigError>
    where
        R: RngCore + CryptoRng + Send + 'static,
    {
        let _ = now;
        let ppp = config.settings.to_config()?;
        Ok(Server {
            config: Arc::new(ppp),
            settings: config.settings,
            aaa: config.aaa,
            forward_realms: config.forward_realms,
            store: Box::new(Aaa::new()),
            rng: SharedRng::new(rng),
            slots: Vec::new(),
            free: Vec::new(),
            next_gen: 0,
            index: HashMap::new(),
            by_caller: HashMap::new(),
            live: 0,
            ending_count: 0,
            timers: Timers::default(),
            dirty: VecDeque::new(),
            events: VecDeque::new(),
            scratch: Vec::new(),
            next_acct: 1,
            stats: ServerStats::default(),
        })
    }

    /// Replace the credential store (default: an empty [`Aaa`]). Share one store between
    /// hosts (and keep a handle to edit it) with `Arc<Mutex<Aaa>>`.
    pub fn set_store(&mut self, store: Box<dyn CredentialStore + Send>) {
        self.store = store;
    }

    /// Replace the `/ppp aaa` settings (they apply to logins from now on).
    pub fn set_aaa(&mut self, aaa: AaaSettings) {
        self.aaa = aaa;
    }

    /// LAC role: replace the forwarded realms ([`ServerConfig::forward_realms`]).
    pub fn set_forward_realms(&mut self, realms: Vec<String>) {
        self.forward_realms = realms;
    }

    // ----- getters -----

    /// The settings block in force.
    pub fn settings(&self) -> &ServerSettings {
        &self.settings
    }
    /// The per-session configuration derived from the settings.
    pub fn session_config(&self) -> &Config {
        &self.config
    }
    /// Sessions held (running or flushing their last frames).
    pub fn len(&self) -> usize {
        self.live
    }
    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
    /// The PPP session of `key`.
    pub fn session(&self, key: &K) -> Option<&Session> {
        self.slot_of(key).map(|s| &s.session)
    }
    /// The caller-id `key` was opened with.
    pub fn caller_id(&self, key: &K) -> Option<&str> {
        self.slot_of(key).map(|s| &*s.caller_id)
    }
    /// The Acct-Session-Id of `key`'s accounting records, once accounting started (for a
    /// RADIUS Disconnect-Request or CoA naming the session).
    pub fn accounting_id(&self, key: &K) -> Option<u64> {
        self.slot_of(key)?.acct.as_ref().map(|a| a.id)
    }
    /// Counters.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }
    /// Keys of every session held (any order).
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.index.keys()
    }

    fn slot_mut(&mut self, key: &K) -> Result<(u32, &mut Slot<K>), Error> {
        let i = *self.index.get(key).ok_or(Error::NoSession)?;
        let slot = self
            .slots
            .get_mut(i as usize)
            .and_then(Option::as_deref_mut)
            .ok_or(Error::NoSession)?;
        Ok((i, slot))
    }

    fn slot_of(&self, key: &K) -> Option<&Slot<K>> {
        let i = *self.index.get(key)?;
        self.slots.get(i as usize)?.as_deref()
    }

    // ----- outputs -----

    /// Next frame to send, naming its transport session.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit<K>> {
        while let Some(&(i, gen)) = self.dirty.front() {
            let Some(slot) = self.slots.get_mut(i as usize).and_then(Option::as_mut) else {
                self.dirty.pop_front();
                continue;
            };
            if slot.gen != gen {
                self.dirty.pop_front();
                continue;
            }
            if let Some(frame) = slot.session.poll_transmit(now) {
                return Some(Transmit {
                    key: slot.key.clone(),
                    frame,
                });
            }
            slot.queued = false;
            slot.session.shrink_buffers();
            self.dirty.pop_front();
            if let Some(reason) = slot.ended.take() {
                self.release_slot(i, *reason);
                self.settle();
            }
        }
        None
    }

    /// Next frame of one session only (e.g. to flush a session before its transport goes).
    pub fn poll_transmit_for(&mut self, now: Instant, key: &K) -> Option<Vec<u8>> {
        let i = *self.index.get(key)?;
        self.slots
            .get_mut(i as usize)?
            .as_mut()?
            .session
            .poll_transmit(now)
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent<K>> {
        let e = self.poll_event_untraced();
        trace_event!("ppp::host::server", &e, keyed);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ServerEvent<K>> {
        self.events.pop_front()
    }

    /// Earliest deadline of any session (one heap; O(1)).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.top()
    }

    // ----- inputs -----

    /// The transport has a new session `key` from `caller_id` (peer address, MAC, Calling
    /// Number): start LCP. Refused with [`Error::MaxSessions`] at `max-sessions` (the
    /// transport refuses the call) and [`Error::SessionExists`] for a key in use. With
    /// `one-session-per-host`, an older session from the same `caller_id` is closed.
    pub fn open(&mut self, now: Instant, key: K, caller_id: &str) -> Result<(), Error> {
        let i = self.admit(now, key, caller_id)?;
        if let Some(s) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
            s.session.open(now);
        }
        self.after(now, i);
        self.settle();
        Ok(())
    }

    /// L2TP LNS: like [`Server::open`], but continue from the LCP state and credentials a LAC
    /// negotiated (RFC 2661 s4.4.5): no new LCP negotiation, and no new challenge when the
    /// proxied credentials verify. Unacceptable proxied options renegotiate LCP.
    pub fn open_proxy(
        &mut self,
        now: Instant,
        key: K,
        caller_id: &str,
        proxy: ProxyLcp,
    ) -> Result<(), Error> {
        let i = self.admit(now, key, caller_id)?;
        if let Some(s) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
            s.session.start_proxy(now, proxy);
        }
        self.after(now, i);
        self.settle();
        Ok(())
    }

    /// One PPP frame received on transport session `key`.
    pub fn handle_frame<'a>(
        &mut self,
        now: Instant,
        key: &K,
        frame: &'a [u8],
    ) -> Result<Input<'a>, Error> {
        let (i, slot) = self.slot_mut(key)?;
        if slot.ended.is_some() {
            return Ok(Input::Dropped);
        }
        let r = slot.session.handle_frame(now, frame);
        self.after(now, i);
        self.settle();
        r
    }

    /// Like [`Server::handle_frame`], decrypting an MPPE packet in place
    /// ([`Session::handle_frame_mut`](crate::Session::handle_frame_mut)): no copy, no
    /// allocation.
    pub fn handle_frame_mut<'a>(
        &mut self,
        now: Instant,
        key: &K,
        frame: &'a mut [u8],
    ) -> Result<Input<'a>, Error> {
        let (i, slot) = self.slot_mut(key)?;
        if slot.ended.is_some() {
            return Ok(Input::Dropped);
        }
        let r = slot.session.handle_frame_mut(now, frame);
        self.after(now, i);
        self.settle();
        r
    }

    /// Write `payload` (PPP protocol `protocol`: IPv4 0x0021, IPv6 0x0057) for session `key`
    /// into `out` as a PPP frame; returns its length. No allocation.
    pub fn encapsulate(
        &mut self,
        now: Instant,
        key: &K,
        protocol: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let (_, slot) = self.slot_mut(key)?;
        slot.session.encapsulate(now, protocol, payload, out)
    }

    /// Multilink: write `payload` for session `key` as one plain frame or, above the link
    /// MTU, as MP fragments; `emit` gets each frame
    /// ([`Session::encapsulate_fragments`](crate::Session::encapsulate_fragments)). Returns
    /// the number of frames.
    pub fn encapsulate_fragments(
        &mut self,
        now: Instant,
        key: &K,
        protocol: u16,
        payload: &[u8],
        emit: impl FnMut(&[u8]),
    ) -> Result<usize, Error> {
        let (_, slot) = self.slot_mut(key)?;
        slot.session
            .encapsulate_fragments(now, protocol, payload, emit)
    }

    /// Multilink: the next further packet the last MP fragment of `key` completed
    /// ([`Session::poll_reassembled`](crate::Session::poll_reassembled)); the datagram is in
    /// [`Session::reassembled`](crate::Session::reassembled) of [`Server::session`].
    pub fn poll_reassembled(&mut self, now: Instant, key: &K) -> Option<u16> {
        let (_, slot) = self.slot_mut(key).ok()?;
        slot.session.poll_reassembled(now)
    }

    /// Answer a [`ServerEvent::AuthRequest`]. A [`Verdict::Password`] is checked here (and
    /// yields the MS-CHAPv2 authenticator response and keys); an accepted login then passes
    /// admission (profile, pool, only-one).
    pub fn auth_verdict(
        &mut self,
        now: Instant,
        key: &K,
        request_id: u64,
        verdict: Verdict,
    ) -> Result<(), Error> {
        let (i, slot) = self.slot_mut(key)?;
        let req = match slot.pending.take() {
            Some(r) if r.id == request_id => r,
            other => {
                slot.pending = other;
                return Err(Error::NoSuchRequest(request_id));
            }
        };
        self.decide(now, i, &req, verdict);
        self.after(now, i);
        self.settle();
        Ok(())
    }

    /// Hang up session `key` (LCP Terminate-Request; [`ServerEvent::Ended`] follows).
    pub fn close(&mut self, now: Instant, key: &K, reason: &str) -> Result<(), Error> {
        let i = *self.index.get(key).ok_or(Error::NoSession)?;
        if let Some(s) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
            s.session.close(now, reason);
        }
        self.after(now, i);
        self.settle();
        Ok(())
    }

    /// The transport session `key` is gone: end the PPP session at once (no frames follow;
    /// accounting stop and [`ServerEvent::Ended`] are reported).
    pub fn lower_down(&mut self, now: Instant, key: &K) -> Result<(), Error> {
        let i = *self.index.get(key).ok_or(Error::NoSession)?;
        if let Some(s) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
            s.session.lower_down(now);
        }
        self.after(now, i);
        if let Some(s) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
            while s.session.poll_transmit(now).is_some() {}
            if let Some(reason) = s.ended.take() {
                self.release_slot(i, *reason);
            }
        }
        self.settle();
        Ok(())
    }

    /// Timers: call when [`Server::poll_timeout`] has passed. Only due sessions are visited.
    pub fn handle_timeout(&mut self, now: Instant) {
        loop {
            let slots = &self.slots;
            let due = self.timers.pop_due(now, |(i, g), at| live(slots, i, g, at));
            let Some((i, _)) = due else { break };
            let mut interim = None;
            if let Some(s) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
                s.armed = None;
                if s.ended.is_none() {
                    let a = s.session.poll_timeout();
                    let b = s.acct.as_ref().and_then(|a| a.next);
                    let due = match (a, b) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    if let Some(d) = due.filter(|d| *d > now) {
                        // The deadline moved later since this entry was pushed: re-arm.
                        s.armed = Some(d);
                        self.timers.push(d, (i, s.gen));
                        continue;
                    }
                }
                if s.session.poll_timeout().is_some_and(|d| d <= now) {
                    s.session.handle_timeout(now);
                }
                if let Some(a) = s.acct.as_mut() {
                    if a.next.is_some_and(|d| d <= now) {
                        a.next = a.interval.map(|iv| now + iv);
                        interim = Some(a.id);
                    }
                }
                if let Some(id) = interim.filter(|_| self.aaa.accounting) {
                    let record = record(s, id, now, &self.settings, None);
                    self.events.push_back(ServerEvent::Accounting {
                        key: s.key.clone(),
                        kind: AccountingKind::Interim,
                        record,
                    });
                }
            }
            self.after(now, i);
        }
        self.settle();
    }

    // ----- internals -----

    fn admit(&mut self, now: Instant, key: K, caller_id: &str) -> Result<u32, Error> {
        if self.index.contains_key(&key) {
            return Err(Error::SessionExists);
        }
        if self.settings.one_session_per_host {
            if let Some(old) = self.by_caller.remove(caller_id) {
                if let Some(&oi) = self.index.get(&old) {
                    self.stats.replaced_same_host += 1;
                    if let Some(s) = self.slots.get_mut(oi as usize).and_then(Option::as_mut) {
                        s.session
                            .close(now, "one-session-per-host: replaced by a new session");
                    }
                    self.after(now, oi);
                }
            }
        }
        if let Some(max) = self.settings.max_sessions {
            let running = self.live - self.ending();
            if running >= max {
                self.stats.refused_max_sessions += 1;
                return Err(Error::MaxSessions(max));
            }
        }
        let session =
            Session::with_shared_config(self.config.clone(), Role::Server, now, self.rng.clone())?;
        self.next_gen = self.next_gen.wrapping_add(1);
        let slot = Slot {
            key: key.clone(),
            gen: self.next_gen,
            session,
            caller_id: caller_id.into(),
            armed: None,
            queued: false,
            ended: None,
            admitted: false,
            pending: None,
            acct: None,
        };
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = Some(Box::new(slot));
                }
                i
            }
            None => {
                self.slots.push(Some(Box::new(slot)));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key.clone(), i);
        if self.settings.one_session_per_host {
            self.by_caller.insert(caller_id.to_string(), key);
        }
        self.live += 1;
        self.stats.opened += 1;
        Ok(i)
    }

    /// Sessions that ended and only flush their last frames (not counted by max-sessions).
    fn ending(&self) -> usize {
        self.ending_count
    }

    /// Drop stale entries from the top of the deadline heap, so `poll_timeout` can peek.
    fn settle(&mut self) {
        let slots = &self.slots;
        self.timers.peek(|(i, g), at| live(slots, i, g, at));
    }

    /// Forget slot `i` and report [`ServerEvent::Ended`].
    fn release_slot(&mut self, i: u32, reason: TerminateReason) {
        let Some(slot) = self.slots.get_mut(i as usize).and_then(Option::take) else {
            return;
        };
        self.index.remove(&slot.key);
        self.free.push(i);
        self.live -= 1;
        self.ending_count = self.ending_count.saturating_sub(1);
        self.stats.ended += 1;
        self.events.push_back(ServerEvent::Ended {
            key: slot.key,
            reason,
        });
    }

    /// After any input to slot `i`: take its events (answering authentication requests,
    /// accounting, ending), re-arm its deadline and queue it for transmission.
    fn after(&mut self, now: Instant, i: u32) {
        loop {
            let Some(slot) = self.slots.get_mut(i as usize).and_then(Option::as_mut) else {
                return;
            };
            self.scratch.clear();
            while let Some(e) = slot.session.poll_event() {
                self.scratch.push(e);
            }
            if self.scratch.is_empty() {
                break;
            }
            slot.session.shrink_buffers();
            let evs = std::mem::take(&mut self.scratch);
            for ev in evs.iter().cloned() {
                self.on_event(now, i, ev);
                if self.slots.get(i as usize).is_none_or(Option::is_none) {
                    // forwarded: the slot is gone
                    self.scratch = evs;
                    return;
                }
            }
            self.scratch = evs;
        }
        let Some(slot) = self.slots.get_mut(i as usize).and_then(Option::as_mut) else {
            return;
        };
        let due = if slot.ended.is_some() {
            None
        } else {
            let a = slot.session.poll_timeout();
            let b = slot.acct.as_ref().and_then(|a| a.next);
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        // One heap entry per session at a time: a later deadline keeps the earlier entry,
        // which re-arms when it comes due (see `handle_timeout`); an earlier one replaces it.
        if let Some(at) = due {
            if slot.armed.is_none_or(|a| at < a) {
                slot.armed = Some(at);
                self.timers.push(at, (i, slot.gen));
            }
        }
        if !slot.queued {
            slot.queued = true;
            self.dirty.push_back((i, slot.gen));
        }
    }

    fn on_event(&mut self, now: Instant, i: u32, ev: Event) {
        let Some(slot) = self.slots.get_mut(i as usize).and_then(Option::as_mut) else {
            return;
        };
        let key = slot.key.clone();
        match ev {
            Event::AuthRequested(req) => {
                self.authenticate(now, i, req);
                return;
            }
            Event::NetworkUp(_) | Event::Ipv6Up { .. } if slot.acct.is_none() && slot.admitted => {
                let id = self.next_acct;
                self.next_acct += 1;
                let aaa = &self.aaa;
                let interval = slot
                    .session
                    .attributes()
                    .interim_interval
                    .or((!aaa.interim_update.is_zero()).then_some(aaa.interim_update))
                    .filter(|_| aaa.accounting);
                slot.acct = Some(Box::new(Acct {
                    id,
                    interval,
                    next: interval.map(|iv| now + iv),
                }));
                if self.aaa.accounting {
                    let r = record(slot, id, now, &self.settings, None);
                    self.events.push_back(ServerEvent::Ppp {
                        key: key.clone(),
                        event: ev,
                    });
                    self.events.push_back(ServerEvent::Accounting {
                        key,
                        kind: AccountingKind::Start,
                        record: r,
                    });
                    return;
                }
            }
            Event::Terminated {
                ref reason, uptime, ..
            } if slot.ended.is_none() => {
                slot.ended = Some(Box::new(reason.clone()));
                self.ending_count += 1;
                let stop = slot.acct.as_ref().map(|a| a.id);
                let r = stop.map(|id| AccountingRecord {
                    uptime,
                    ..record(slot, id, now, &self.settings, Some(reason.clone()))
                });
                if std::mem::take(&mut slot.admitted) {
                    self.store
                        .session_ended(slot.session.user(), slot.session.attributes());
                }
                if self.settings.one_session_per_host
                    && self.by_caller.get(&*slot.caller_id) == Some(&key)
                {
                    self.by_caller.remove(&*slot.caller_id);
                }
                self.events.push_back(ServerEvent::Ppp {
                    key: key.clone(),
                    event: ev,
                });
                if let (Some(r), true) = (r, self.aaa.accounting) {
                    self.events.push_back(ServerEvent::Accounting {
                        key,
                        kind: AccountingKind::Stop,
                        record: r,
                    });
                }
                return;
            }
            _ => {}
        }
        self.events.push_back(ServerEvent::Ppp { key, event: ev });
    }

    /// The session needs a verdict for `req`: forward, look it up, or ask the application.
    fn authenticate(&mut self, now: Instant, i: u32, req: AuthRequest) {
        if let Some(realm) = super::realm(&req.user)
            .filter(|r| self.forward_realms.iter().any(|f| f == r))
            .map(str::to_string)
        {
            let Some(slot) = self.slots.get_mut(i as usize).and_then(Option::take) else {
                return;
            };
            if let Some(mut proxy) = slot.session.proxy_lcp() {
                proxy.auth = ProxyAuth::from_request(&req);
                self.index.remove(&slot.key);
                if self.by_caller.get(&*slot.caller_id) == Some(&slot.key) {
                    self.by_caller.remove(&*slot.caller_id);
                }
                self.free.push(i);
                self.live -= 1;
                self.stats.forwarded += 1;
                self.events.push_back(ServerEvent::Forward {
                    key: slot.key,
                    realm,
                    proxy,
                });
                return;
            }
            // LCP not open (cannot happen during authentication): authenticate locally.
            if let Some(s) = self.slots.get_mut(i as usize) {
                *s = Some(slot);
            }
        }
        let lookup = self.store.lookup(&req.user, self.settings.service);
        let lookup = match lookup {
            Lookup::NotFound if self.aaa.use_radius => Lookup::Defer,
            l => l,
        };
        match lookup {
            Lookup::Found {
                password,
                attributes,
            } => self.decide(
                now,
                i,
                &req,
                Verdict::Password {
                    password,
                    attributes,
                },
            ),
            Lookup::NotFound => self.decide(
                now,
                i,
                &req,
                Verdict::Reject {
                    message: "Authentication failed".into(),
                },
            ),
            Lookup::Defer => {
                let Some(slot) = self.slots.get_mut(i as usize).and_then(Option::as_mut) else {
                    return;
                };
                slot.pending = Some(Box::new(req.clone()));
                self.events.push_back(ServerEvent::AuthRequest {
                    key: slot.key.clone(),
                    caller_id: slot.caller_id.to_string(),
                    request: req,
                });
            }
        }
    }

    /// Verify (for a password), admit (profile, pool, only-one) and hand the session its
    /// verdict.
    fn decide(&mut self, now: Instant, i: u32, req: &AuthRequest, verdict: Verdict) {
        let verdict = match verdict {
            Verdict::Password {
                password,
                attributes,
            } => match verify_with_password(&req.user, &req.proof, &password) {
                Some((ar, keys)) => Verdict::Accept {
                    attributes,
                    authenticator_response: ar,
                    keys: keys.map(Box::new),
                },
                None => Verdict::Reject {
                    message: "Authentication failed".into(),
                },
            },
            v => v,
        };
        let verdict = match verdict {
            Verdict::Accept {
                mut attributes,
                authenticator_response,
                keys,
            } => {
                if attributes.profile.is_none() {
                    attributes.profile = Some(self.settings.default_profile.clone());
                }
                match self.store.session_started(&req.user, &mut attributes) {
                    Ok(()) => {
                        if let Some(s) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
                            s.admitted = true;
                        }
                        Verdict::Accept {
                            attributes,
                            authenticator_response,
                            keys,
                        }
                    }
                    Err(message) => Verdict::Reject { message },
                }
            }
            v => v,
        };
        if matches!(verdict, Verdict::Accept { .. }) {
            self.stats.auth_accepted += 1;
        } else {
            self.stats.auth_rejected += 1;
        }
        if let Some(s) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
            // The request is the session's pending one by construction.
            let _ = s.session.auth_verdict(now, req.id, verdict);
        }
    }
}

fn record<K>(
    slot: &Slot<K>,
    id: u64,
    now: Instant,
    settings: &ServerSettings,
    reason: Option<TerminateReason>,
) -> AccountingRecord {
    AccountingRecord {
        session_id: id,
        user: slot.session.user().to_string(),
        caller_id: slot.caller_id.to_string(),
        service: settings.service,
        framed_address: slot
            .session
            .attributes()
            .remote_address
            .or_else(|| slot.session.ipv4().map(|i| i.remote)),
        uptime: slot.session.uptime(now),
        counters: *slot.session.counters(),
        reason,
    }
}

fn live<K>(slots: &[Option<Box<Slot<K>>>], i: u32, gen: u32, at: Instant) -> bool {
    slots
        .get(i as usize)
        .and_then(Option::as_ref)
        .is_some_and(|s| s.gen == gen && s.armed == Some(at))
}
