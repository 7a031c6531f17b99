//! L2TP sessions carrying [`ppp`] sessions: the RouterOS L2TP client (LAC and PPP client in one
//! box, `/interface l2tp-client`) and the LNS that hands sessions to a PPP server, continuing
//! from the LAC's proxy LCP and proxy authentication (VPDN, seed 000 lines 166-281).
//!
//! Layering is by value: the L2TP session delivers PPP frames (with `ff 03`) to a
//! [`ppp::Session`] and wraps the frames the PPP session emits into L2TP data messages. Nothing
//! in `ppp` knows it runs over L2TP.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::hash::Hash;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::config::{ServerConfig, TunnelConfig};
use crate::error::{Error, Result};
use crate::event::{CallInfo, Event, ProxyInfo};
use crate::server::{Lns, LnsEvent, LnsInput, Peer, SecretHook};
use crate::tunnel::{Input, Tunnel, TunnelState};
use crate::wire::avp::ResultCode;
use crate::wire::message::result;

/// Largest PPP frame handled (MRU 1500 plus protocol and address/control, with margin).
const SCRATCH: usize = 2048;

/// Convert the proxy AVPs of an ICCN into the [`ppp::ProxyLcp`] an LNS-side PPP server starts
/// from. `None` when the LAC sent no proxy LCP (the LNS then negotiates LCP itself).
pub fn proxy_lcp(p: &ProxyInfo) -> Option<ppp::ProxyLcp> {
    let last_sent = p.last_sent_lcp_confreq.clone()?;
    let last_received = p.last_received_lcp_confreq.clone()?;
    let auth = p.authen_type.and_then(|t| {
        let kind = match t {
            1 => ppp::ProxyAuthType::Text,
            2 => ppp::ProxyAuthType::Chap,
            3 => ppp::ProxyAuthType::Pap,
            4 => ppp::ProxyAuthType::NoAuth,
            5 => ppp::ProxyAuthType::MsChap1,
            _ => return None,
        };
        Some(ppp::ProxyAuth {
            kind,
            name: String::from_utf8_lossy(p.authen_name.as_deref().unwrap_or_default())
                .into_owned(),
            challenge: p.authen_challenge.clone().unwrap_or_default(),
            id: p.authen_id.unwrap_or(0) as u8,
            response: p.authen_response.clone().unwrap_or_default(),
        })
    });
    Some(ppp::ProxyLcp {
        initial_received: p.initial_received_lcp_confreq.clone(),
        last_sent,
        last_received,
        auth,
    })
}

/// LAC role: the proxy AVPs to send in the ICCN for a PPP session the LAC already ran
/// (e.g. the PPPoE side, forwarded to an LNS by realm).
pub fn proxy_info(p: &ppp::ProxyLcp) -> ProxyInfo {
    let mut out = ProxyInfo {
        initial_received_lcp_confreq: p.initial_received.clone(),
        last_sent_lcp_confreq: Some(p.last_sent.clone()),
        last_received_lcp_confreq: Some(p.last_received.clone()),
        ..Default::default()
    };
    if let Some(a) = &p.auth {
        out.authen_type = Some(match a.kind {
            ppp::ProxyAuthType::Text => 1,
            ppp::ProxyAuthType::Chap => 2,
            ppp::ProxyAuthType::Pap => 3,
            ppp::ProxyAuthType::NoAuth => 4,
            ppp::ProxyAuthType::MsChap1 => 5,
        });
        out.authen_name = Some(a.name.as_bytes().to_vec());
        out.authen_challenge = (!a.challenge.is_empty()).then(|| a.challenge.clone());
        out.authen_id = Some(u16::from(a.id));
        out.authen_response = Some(a.response.clone());
    }
    out
}

/// LAC route hook: forward this PPP user to an LNS? (RouterOS forwards by realm, `user@mt.lv`).
/// Returns the realm when `user` ends in `@realm` and the realm is in `realms`.
pub fn route_by_realm<'a>(user: &'a str, realms: &[&str]) -> Option<&'a str> {
    let (_, realm) = user.rsplit_once('@')?;
    realms.contains(&realm).then_some(realm)
}

/// Event of an [`L2tpClient`].
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// From the L2TP tunnel/session.
    L2tp(Event),
    /// From the PPP session.
    Ppp(ppp::Event),
}

/// What a datagram from the server was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInput<'a> {
    /// L2TP or PPP control traffic, consumed.
    Control,
    /// A network-layer datagram (IPv4 0x0021, IPv6 0x0057).
    Datagram {
        /// PPP protocol number.
        protocol: u16,
        /// The datagram.
        payload: &'a [u8],
    },
}

/// The RouterOS L2TP client: one tunnel, one incoming call, one PPP client session.
///
/// Drive it like every machine here: `handle_input` / `handle_timeout` in; `poll_transmit`
/// (datagrams to the server, control and data), `poll_event`, `poll_timeout` out. Send IP
/// datagrams with [`L2tpClient::send_datagram`] once [`ppp::Event::NetworkUp`] was reported.
pub struct L2tpClient {
    tunnel: Tunnel,
    ppp_cfg: ppp::Config,
    ppp: Option<ppp::Session>,
    rng: ChaCha20Rng,
    call: CallInfo,
    sid: Option<u16>,
    events: VecDeque<ClientEvent>,
    /// Datagrams from frames released by the reorder buffer.
    released: VecDeque<(u16, Vec<u8>)>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for L2tpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2tpClient")
            .field("tunnel", &self.tunnel.state())
            .field("session", &self.sid)
            .finish()
    }
}

impl L2tpClient {
    /// Start: sends the SCCRQ; places the call when the tunnel is up; starts PPP when the
    /// session is up.
    pub fn new(
        tunnel_cfg: TunnelConfig,
        ppp_cfg: ppp::Config,
        call: CallInfo,
        now: Instant,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        ppp_cfg.validate().map_err(|e| Error::Config {
            field: "ppp",
            reason: e.to_string(),
        })?;
        let tunnel = Tunnel::connect(tunnel_cfg, now, rng)?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Ok(L2tpClient {
            tunnel,
            ppp_cfg,
            ppp: None,
            rng: ChaCha20Rng::from_seed(seed),
            call,
            sid: None,
            events: VecDeque::new(),
            released: VecDeque::new(),
            scratch: vec![0u8; SCRATCH],
        })
    }

    /// The tunnel.
    pub fn tunnel(&self) -> &Tunnel {
        &self.tunnel
    }

    /// The PPP session, once the L2TP session is up.
    pub fn ppp(&self) -> Option<&ppp::Session> {
        self.ppp.as_ref()
    }

    /// Our L2TP session id.
    pub fn session_id(&self) -> Option<u16> {
        self.sid
    }

    /// Handle one datagram from the server.
    pub fn handle_input<'a>(&mut self, now: Instant, buf: &'a [u8]) -> Result<ClientInput<'a>> {
        let r = self.tunnel.handle_input(now, buf);
        let out = match r {
            Ok(Input::Data { payload, .. }) => match self.ppp.as_mut() {
                Some(p) => match p.handle_frame(now, payload) {
                    Ok(ppp::Input::Datagram { protocol, payload }) => {
                        Ok(ClientInput::Datagram { protocol, payload })
                    }
                    Ok(_) => Ok(ClientInput::Control),
                    Err(e) => Err(Error::Ppp(e.to_string())),
                },
                None => Ok(ClientInput::Control),
            },
            Ok(Input::Control) | Ok(Input::Queued { .. }) => Ok(ClientInput::Control),
            Err(e) => Err(e),
        };
        self.drain_reordered(now);
        self.pump(now);
        out
    }

    /// Frames released by the reorder buffer go through PPP; their datagrams wait in
    /// [`Self::poll_datagram`].
    fn drain_reordered(&mut self, now: Instant) {
        while let Some((_, f)) = self.tunnel.poll_data() {
            if let Some(p) = self.ppp.as_mut() {
                if let Ok(ppp::Input::Datagram { protocol, payload }) = p.handle_frame(now, &f) {
                    self.released.push_back((protocol, payload.to_vec()));
                }
            }
        }
    }

    /// Next IP datagram `(PPP protocol, packet)` from a frame the reorder buffer held
    /// ([`TunnelConfig::reorder`]); in-order ones come straight out of `handle_input`.
    pub fn poll_datagram(&mut self) -> Option<(u16, Vec<u8>)> {
        self.released.pop_front()
    }

    fn pump(&mut self, now: Instant) {
        while let Some(e) = self.tunnel.poll_event() {
            match &e {
                Event::TunnelUp { .. } if self.sid.is_none() => {
                    if let Ok(s) = self.tunnel.incoming_call(now, self.call.clone()) {
                        self.sid = Some(s);
                    }
                }
                Event::SessionUp { session_id, .. } if Some(*session_id) == self.sid => {
                    let mut seed = [0u8; 32];
                    self.rng.fill_bytes(&mut seed);
                    if let Ok(mut p) = ppp::Session::new(
                        self.ppp_cfg.clone(),
                        ppp::Role::Client,
                        now,
                        ChaCha20Rng::from_seed(seed),
                    ) {
                        p.open(now);
                        self.ppp = Some(p);
                    }
                }
                Event::SessionDown { session_id, .. } if Some(*session_id) == self.sid => {
                    if let Some(p) = self.ppp.as_mut() {
                        p.lower_down(now);
                    }
                }
                Event::TunnelDown { .. } => {
                    if let Some(p) = self.ppp.as_mut() {
                        p.lower_down(now);
                    }
                }
                _ => {}
            }
            self.events.push_back(ClientEvent::L2tp(e));
        }
        let mut terminated = false;
        if let Some(p) = self.ppp.as_mut() {
            while let Some(e) = p.poll_event() {
                if matches!(e, ppp::Event::Terminated { .. }) {
                    terminated = true;
                }
                self.events.push_back(ClientEvent::Ppp(e));
            }
        }
        if terminated {
            self.hang_up(now);
        }
    }

    fn hang_up(&mut self, now: Instant) {
        if let Some(sid) = self.sid {
            if self.tunnel.session(sid).is_some() {
                let _ = self.tunnel.disconnect_call(
                    now,
                    sid,
                    ResultCode {
                        result: result::CDN_ADMIN,
                        error: None,
                        message: Vec::new(),
                    },
                );
            }
        }
        if self.tunnel.state() == TunnelState::Established {
            self.tunnel.close(
                now,
                ResultCode {
                    result: result::STOPCCN_GENERAL,
                    error: None,
                    message: Vec::new(),
                },
            );
        }
        self.pump_tunnel_only();
    }

    fn pump_tunnel_only(&mut self) {
        while let Some(e) = self.tunnel.poll_event() {
            self.events.push_back(ClientEvent::L2tp(e));
        }
    }

    /// Disconnect: PPP terminates (LCP TermReq), then CDN and StopCCN follow.
    pub fn close(&mut self, now: Instant) {
        match self.ppp.as_mut() {
            Some(p) if !p.is_ended() => p.close(now, "admin"),
            _ => self.hang_up(now),
        }
        self.pump(now);
    }

    /// Next datagram for the server.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(d) = self.tunnel.poll_transmit(now) {
            return Some(d);
        }
        let sid = self.sid?;
        let frame = self.ppp.as_mut()?.poll_transmit(now)?;
        let n = self
            .tunnel
            .encapsulate(sid, &frame, &mut self.scratch)
            .ok()?;
        self.scratch.get(..n).map(|s| s.to_vec())
    }

    /// Encapsulate an IP datagram (PPP protocol `proto`) into an L2TP data message in `out`.
    pub fn send_datagram(
        &mut self,
        now: Instant,
        proto: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let sid = self.sid.ok_or(Error::State("no session"))?;
        let p = self.ppp.as_mut().ok_or(Error::State("no PPP session"))?;
        let n = p
            .encapsulate(now, proto, payload, &mut self.scratch)
            .map_err(|e| Error::Ppp(e.to_string()))?;
        let frame = self.scratch.get(..n).ok_or(Error::State("ppp frame"))?;
        self.tunnel.encapsulate(sid, frame, out)
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let a = self.tunnel.poll_timeout();
        // An ended PPP session has no timers that matter any more.
        let b = self
            .ppp
            .as_ref()
            .filter(|p| !p.is_ended())
            .and_then(|p| p.poll_timeout());
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Timer expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.tunnel.poll_timeout().is_some_and(|t| t <= now) {
            self.tunnel.handle_timeout(now);
            self.drain_reordered(now);
        }
        if let Some(p) = self.ppp.as_mut().filter(|p| !p.is_ended()) {
            if p.poll_timeout().is_some_and(|t| t <= now) {
                p.handle_timeout(now);
            }
        }
        self.pump(now);
    }
}

/// Event of a [`PppLns`].
#[derive(Debug, Clone, PartialEq)]
pub enum PppLnsEvent<K> {
    /// From the L2TP server.
    L2tp(LnsEvent<K>),
    /// From the PPP session of (tunnel, session).
    Ppp {
        /// Our tunnel id.
        tunnel_id: u16,
        /// Our session id.
        session_id: u16,
        /// The PPP event.
        event: ppp::Event,
    },
}

/// What a datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PppLnsInput<'a> {
    /// Control traffic (L2TP or PPP), consumed.
    Control,
    /// An IP datagram from a client.
    Datagram {
        /// Our tunnel id.
        tunnel_id: u16,
        /// Our session id.
        session_id: u16,
        /// PPP protocol number.
        protocol: u16,
        /// The datagram.
        payload: &'a [u8],
    },
}

/// Factory of credential stores for new PPP server sessions (e.g. a shared `/ppp secret` table).
pub type StoreFactory = Box<dyn FnMut() -> Box<dyn ppp::CredentialStore + Send> + Send>;

/// An LNS whose sessions run PPP servers: [`Lns`] plus one [`ppp::Session`] per L2TP session.
/// Sessions whose ICCN carries proxy LCP start from it ([`ppp::Session::start_proxy`]): no new
/// LCP negotiation and no new CHAP challenge when the proxied credentials verify.
pub struct PppLns<K: Clone + Eq + Hash> {
    lns: Lns<K>,
    ppp_cfg: ppp::Config,
    store: Option<StoreFactory>,
    sessions: BTreeMap<(u16, u16), ppp::Session>,
    rng: ChaCha20Rng,
    dirty: VecDeque<(u16, u16)>,
    /// Sessions touched since the last `pump` (events to drain, timers to re-arm).
    touched: Vec<(u16, u16)>,
    /// PPP session timers: a min-heap with lazy invalidation. An entry is live when it equals
    /// the session's entry in `armed`; every change of a session's deadline pushes a new entry.
    timers: BinaryHeap<Reverse<(Instant, (u16, u16))>>,
    armed: HashMap<(u16, u16), Instant>,
    /// Datagrams from frames released by reorder buffers.
    released: VecDeque<(u16, u16, u16, Vec<u8>)>,
    events: VecDeque<PppLnsEvent<K>>,
    raw: VecDeque<(K, Vec<u8>)>,
    scratch: Vec<u8>,
}

impl<K: Clone + Eq + Hash> std::fmt::Debug for PppLns<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PppLns")
            .field("lns", &self.lns)
            .field("ppp_sessions", &self.sessions.len())
            .finish()
    }
}

impl<K: Clone + Eq + Hash> PppLns<K> {
    /// A server. `store` supplies the credential store of each new PPP session (`None`: the
    /// application answers [`ppp::Event::AuthRequested`] through [`PppLns::auth_verdict`]).
    pub fn new(
        cfg: ServerConfig,
        tunnel_cfg: TunnelConfig,
        secrets: SecretHook<K>,
        ppp_cfg: ppp::Config,
        store: Option<StoreFactory>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        ppp_cfg.validate().map_err(|e| Error::Config {
            field: "ppp",
            reason: e.to_string(),
        })?;
        let lns = Lns::new(cfg, tunnel_cfg, secrets, rng)?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Ok(PppLns {
            lns,
            ppp_cfg,
            store,
            sessions: BTreeMap::new(),
            rng: ChaCha20Rng::from_seed(seed),
            dirty: VecDeque::new(),
            touched: Vec::new(),
            timers: BinaryHeap::new(),
            armed: HashMap::new(),
            released: VecDeque::new(),
            events: VecDeque::new(),
            raw: VecDeque::new(),
            scratch: vec![0u8; SCRATCH],
        })
    }

    /// The L2TP server.
    pub fn lns(&self) -> &Lns<K> {
        &self.lns
    }

    /// The PPP session of (tunnel, session).
    pub fn ppp(&self, tid: u16, sid: u16) -> Option<&ppp::Session> {
        self.sessions.get(&(tid, sid))
    }

    /// Answer an [`ppp::Event::AuthRequested`].
    pub fn auth_verdict(
        &mut self,
        now: Instant,
        tid: u16,
        sid: u16,
        request: u64,
        verdict: ppp::Verdict,
    ) -> Result<()> {
        let p = self
            .sessions
            .get_mut(&(tid, sid))
            .ok_or(Error::NoSession(sid))?;
        p.auth_verdict(now, request, verdict)
            .map_err(|e| Error::Ppp(e.to_string()))?;
        self.dirty.push_back((tid, sid));
        self.touched.push((tid, sid));
        self.pump(now);
        Ok(())
    }

    /// Handle one datagram.
    pub fn handle_input<'a>(
        &mut self,
        now: Instant,
        peer: &Peer<K>,
        buf: &'a [u8],
    ) -> Result<PppLnsInput<'a>> {
        let r = self.lns.handle_input(now, peer, buf);
        let out = match r {
            Ok(LnsInput::Data {
                tunnel_id,
                session_id,
                payload,
            }) => match self.sessions.get_mut(&(tunnel_id, session_id)) {
                Some(p) => {
                    self.dirty.push_back((tunnel_id, session_id));
                    self.touched.push((tunnel_id, session_id));
                    match p.handle_frame(now, payload) {
                        Ok(ppp::Input::Datagram { protocol, payload }) => {
                            Ok(PppLnsInput::Datagram {
                                tunnel_id,
                                session_id,
                                protocol,
                                payload,
                            })
                        }
                        Ok(_) => Ok(PppLnsInput::Control),
                        Err(e) => Err(Error::Ppp(e.to_string())),
                    }
                }
                None => Ok(PppLnsInput::Control),
            },
            // L2TPv3 pseudowire frames are not PPP sessions of this object; a caller
            // serving L2TPv3 drives the plain `Lns` directly.
            Ok(LnsInput::Control)
            | Ok(LnsInput::V3Data { .. })
            | Ok(LnsInput::V3Queued { .. })
            | Ok(LnsInput::Queued { .. }) => Ok(PppLnsInput::Control),
            Err(e) => Err(e),
        };
        self.drain_reordered(now);
        self.pump(now);
        out
    }

    /// Frames released by L2TP reorder buffers go through their PPP sessions; datagrams wait
    /// in [`Self::poll_datagram`].
    fn drain_reordered(&mut self, now: Instant) {
        while let Some((tid, sid, f)) = self.lns.poll_data() {
            if let Some(p) = self.sessions.get_mut(&(tid, sid)) {
                self.dirty.push_back((tid, sid));
                self.touched.push((tid, sid));
                if let Ok(ppp::Input::Datagram { protocol, payload }) = p.handle_frame(now, &f) {
                    self.released
                        .push_back((tid, sid, protocol, payload.to_vec()));
                }
            }
        }
    }

    /// Next IP datagram `(tunnel id, session id, PPP protocol, packet)` from a frame a reorder
    /// buffer held ([`TunnelConfig::reorder`]); in-order ones come out of `handle_input`.
    pub fn poll_datagram(&mut self) -> Option<(u16, u16, u16, Vec<u8>)> {
        self.released.pop_front()
    }

    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.lns.poll_event() {
            let tid = ev.tunnel_id;
            match &ev.event {
                Event::SessionUp {
                    session_id, call, ..
                } => {
                    let mut seed = [0u8; 32];
                    self.rng.fill_bytes(&mut seed);
                    if let Ok(mut p) = ppp::Session::new(
                        self.ppp_cfg.clone(),
                        ppp::Role::Server,
                        now,
                        ChaCha20Rng::from_seed(seed),
                    ) {
                        if let Some(f) = self.store.as_mut() {
                            p.set_credential_store(f());
                        }
                        match proxy_lcp(&call.proxy) {
                            Some(px) => p.start_proxy(now, px),
                            None => p.open(now),
                        }
                        self.sessions.insert((tid, *session_id), p);
                        self.dirty.push_back((tid, *session_id));
                        self.touched.push((tid, *session_id));
                    }
                }
                Event::SessionDown { session_id, .. } => {
                    if let Some(mut p) = self.sessions.remove(&(tid, *session_id)) {
                        p.lower_down(now);
                    }
                    self.armed.remove(&(tid, *session_id));
                }
                Event::TunnelDown { .. } => {
                    self.sessions.retain(|(t, _), _| *t != tid);
                    self.armed.retain(|(t, _), _| *t != tid);
                }
                _ => {}
            }
            self.events.push_back(PppLnsEvent::L2tp(ev));
        }
        // Only the sessions touched since the last pump (not the whole transmit queue).
        let dirty: Vec<(u16, u16)> = std::mem::take(&mut self.touched);
        let mut ended = Vec::new();
        for k in dirty {
            self.rearm(k);
            if let Some(p) = self.sessions.get_mut(&k) {
                while let Some(e) = p.poll_event() {
                    if matches!(e, ppp::Event::Terminated { .. }) {
                        ended.push(k);
                    }
                    self.events.push_back(PppLnsEvent::Ppp {
                        tunnel_id: k.0,
                        session_id: k.1,
                        event: e,
                    });
                }
            }
        }
        for (tid, sid) in ended {
            // Flush the PPP session's last frames (TermAck) before the CDN.
            while let Some(frame) = self
                .sessions
                .get_mut(&(tid, sid))
                .and_then(|p| p.poll_transmit(now))
            {
                if let Ok((key, n)) = self.lns.encapsulate(tid, sid, &frame, &mut self.scratch) {
                    if let Some(b) = self.scratch.get(..n) {
                        self.raw.push_back((key, b.to_vec()));
                    }
                }
            }
            self.sessions.remove(&(tid, sid));
            self.armed.remove(&(tid, sid));
            if let Some(t) = self.lns.tunnel_mut(tid) {
                let _ = t.disconnect_call(
                    now,
                    sid,
                    ResultCode {
                        result: result::CDN_ADMIN,
                        error: None,
                        message: Vec::new(),
                    },
                );
            }
        }
        // Events produced by the CDNs above.
        while let Some(ev) = self.lns.poll_event() {
            self.events.push_back(PppLnsEvent::L2tp(ev));
        }
    }

    /// Next datagram and the key to send it to.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(K, Vec<u8>)> {
        if let Some(x) = self.raw.pop_front() {
            return Some(x);
        }
        if let Some(x) = self.lns.poll_transmit(now) {
            return Some(x);
        }
        while let Some(&(tid, sid)) = self.dirty.front() {
            if let Some(frame) = self
                .sessions
                .get_mut(&(tid, sid))
                .and_then(|p| p.poll_transmit(now))
            {
                if let Ok((key, n)) = self.lns.encapsulate(tid, sid, &frame, &mut self.scratch) {
                    if let Some(b) = self.scratch.get(..n) {
                        return Some((key, b.to_vec()));
                    }
                }
                continue;
            }
            self.dirty.pop_front();
        }
        None
    }

    /// Encapsulate an IP datagram for a client session into `out`; returns the key and length.
    pub fn send_datagram(
        &mut self,
        now: Instant,
        tid: u16,
        sid: u16,
        proto: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(K, usize)> {
        let p = self
            .sessions
            .get_mut(&(tid, sid))
            .ok_or(Error::NoSession(sid))?;
        let n = p
            .encapsulate(now, proto, payload, &mut self.scratch)
            .map_err(|e| Error::Ppp(e.to_string()))?;
        let frame = self.scratch.get(..n).ok_or(Error::State("ppp frame"))?;
        self.lns.encapsulate(tid, sid, frame, out)
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<PppLnsEvent<K>> {
        self.events.pop_front()
    }

    /// Record session `k`'s current deadline in the timer heap (if it changed).
    fn rearm(&mut self, k: (u16, u16)) {
        match self.sessions.get(&k).and_then(|p| p.poll_timeout()) {
            Some(t) => {
                if self.armed.insert(k, t) != Some(t) {
                    self.timers.push(Reverse((t, k)));
                }
            }
            None => {
                self.armed.remove(&k);
            }
        }
    }

    /// Earliest deadline: the L2TP timer heap and the PPP timer heap, O(log n) amortised
    /// (stale heap entries are discarded here).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let a = self.lns.poll_timeout();
        while let Some(&Reverse((t, k))) = self.timers.peek() {
            if self.armed.get(&k) == Some(&t) {
                break;
            }
            self.timers.pop();
        }
        let b = self.timers.peek().map(|r| r.0 .0);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Timer expiry: only the due sessions are visited.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.lns.handle_timeout(now);
        self.drain_reordered(now);
        while let Some(&Reverse((t, k))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            if self.armed.get(&k) != Some(&t) {
                continue; // stale
            }
            self.armed.remove(&k);
            if let Some(p) = self.sessions.get_mut(&k) {
                p.handle_timeout(now);
                self.dirty.push_back(k);
                self.touched.push(k);
            }
        }
        self.pump(now);
    }
}
