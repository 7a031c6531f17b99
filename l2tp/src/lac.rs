//! LAC forwarding (VPDN, RFC 2661 s4.4.5; spec item 11): PPP sessions that a local PPP server
//! ([`ppp::host::Server`] with `forward_realms`, e.g. behind PPPoE) started and handed over
//! with [`ppp::host::ServerEvent::Forward`] are carried to an LNS chosen by realm, as incoming
//! calls whose ICCN holds the proxy LCP and proxy authentication AVPs. The LNS
//! ([`crate::ppp_link::PppLns`]) continues from there without renegotiating.
//!
//! ```text
//!  PPP client --(PPPoE: K)--> ppp::host::Server --Forward{K, realm, proxy}--> Lac
//!                                                                              |
//!        frames of K  <-------------- Lac relays both ways ----------------->  tunnel per
//!                                                                              realm, one
//!                                                                              call per K --> LNS
//! ```
//!
//! One tunnel per realm (opened on the first forwarded user), one call per transport session
//! `K`. Frames towards the LNS carry `FF 03`; towards the client they follow
//! [`LacConfig::client_address_control`] (PPPoE: none, RFC 2516 s7). Client frames that arrive
//! before the call is up are dropped and counted (the client's retransmission timers repeat
//! them).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::config::TunnelConfig;
use crate::error::{Error, Result};
use crate::event::{CallInfo, Event};
use crate::ppp_link::proxy_info;
use crate::tunnel::{Input, Tunnel, TunnelState};

/// Configuration of a [`Lac`].
#[derive(Debug, Clone, PartialEq)]
pub struct LacConfig {
    /// The tunnel towards each LNS (host name, tunnel secret, control channel); one tunnel
    /// per realm is built from it.
    pub tunnel: TunnelConfig,
    /// Realms served, each an LNS the application reaches (`LacTransmit::Lns::realm` names
    /// it).
    pub realms: Vec<String>,
    /// Frames towards the client carry `FF 03` (false for PPPoE).
    pub client_address_control: bool,
}

/// A datagram or frame to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LacTransmit<K> {
    /// An L2TP datagram for the LNS of `realm`.
    Lns {
        /// The realm (which LNS).
        realm: String,
        /// The L2TP datagram.
        datagram: Vec<u8>,
    },
    /// A PPP frame for the client on transport session `key`.
    Client {
        /// The transport session.
        key: K,
        /// The PPP frame.
        frame: Vec<u8>,
    },
}

/// Something the transport or application must know.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LacEvent<K> {
    /// The LNS answered the call of `key` (ICCN sent): frames are relayed now.
    CallUp {
        /// The transport session.
        key: K,
        /// The realm.
        realm: String,
    },
    /// The call of `key` ended (CDN from the LNS, tunnel down): tear the transport session
    /// down (PPPoE PADT).
    CallDown {
        /// The transport session.
        key: K,
    },
    /// An event of the tunnel of `realm`.
    L2tp {
        /// The realm.
        realm: String,
        /// The event.
        event: Box<Event>,
    },
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LacStats {
    /// Sessions forwarded.
    pub forwarded: u64,
    /// Client frames dropped because their call was not up yet.
    pub early_frames: u64,
    /// Frames relayed client -> LNS.
    pub to_lns: u64,
    /// Frames relayed LNS -> client.
    pub to_client: u64,
}

struct Call<K> {
    key: K,
    realm: String,
    sid: Option<u16>,
    up: bool,
    info: CallInfo,
}

/// The LAC: forwarded PPP sessions carried to LNSes by realm. Same driving contract as every
/// machine here (`handle_*` in; `poll_transmit(now)`, `poll_event`, `poll_timeout` out).
pub struct Lac<K: Clone + Eq + Hash> {
    cfg: LacConfig,
    rng: ChaCha20Rng,
    tunnels: HashMap<String, Tunnel>,
    calls: HashMap<K, Call<K>>,
    by_sid: HashMap<(String, u16), K>,
    out: VecDeque<LacTransmit<K>>,
    events: VecDeque<LacEvent<K>>,
    scratch: Vec<u8>,
    stats: LacStats,
}

impl<K: Clone + Eq + Hash> std::fmt::Debug for Lac<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lac")
            .field("tunnels", &self.tunnels.len())
            .field("calls", &self.calls.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl<K: Clone + Eq + Hash> Lac<K> {
    /// A LAC.
    pub fn new(
        config: LacConfig,
        now: Instant,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let _ = now;
        config.tunnel.validate()?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Ok(Lac {
            cfg: config,
            rng: ChaCha20Rng::from_seed(seed),
            tunnels: HashMap::new(),
            calls: HashMap::new(),
            by_sid: HashMap::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            scratch: vec![0u8; 2048],
            stats: LacStats::default(),
        })
    }

    /// Counters.
    pub fn stats(&self) -> LacStats {
        self.stats
    }

    /// True when `key` is a forwarded session (relay its frames with [`Lac::handle_frame`]).
    pub fn is_forwarded(&self, key: &K) -> bool {
        self.calls.contains_key(key)
    }

    /// The tunnel towards `realm`.
    pub fn tunnel(&self, realm: &str) -> Option<&Tunnel> {
        self.tunnels.get(realm)
    }

    /// Carry the session `key` (handed over by the PPP host) to the LNS of `realm`, with the
    /// proxy LCP and authentication; `calling_number` is the client's identity (e.g. its MAC).
    pub fn forward(
        &mut self,
        now: Instant,
        key: K,
        realm: &str,
        proxy: &ppp::ProxyLcp,
        calling_number: &[u8],
    ) -> Result<()> {
        if !self.cfg.realms.iter().any(|r| r == realm) {
            return Err(Error::Rejected("realm not served by this LAC"));
        }
        if self.calls.contains_key(&key) {
            return Err(Error::State("session already forwarded"));
        }
        let info = CallInfo {
            calling_number: Some(calling_number.to_vec()),
            proxy: proxy_info(proxy),
            ..CallInfo::default()
        };
        let usable = self
            .tunnels
            .get(realm)
            .is_some_and(|t| !matches!(t.state(), TunnelState::Closed | TunnelState::Closing));
        if !usable {
            let t = Tunnel::connect(self.cfg.tunnel.clone(), now, &mut self.rng)?;
            self.tunnels.insert(realm.to_string(), t);
        }
        self.calls.insert(
            key.clone(),
            Call {
                key,
                realm: realm.to_string(),
                sid: None,
                up: false,
                info,
            },
        );
        self.stats.forwarded += 1;
        self.place_calls(now, realm);
        self.pump(now, realm);
        Ok(())
    }

    fn place_calls(&mut self, now: Instant, realm: &str) {
        let Some(t) = self.tunnels.get_mut(realm) else {
            return;
        };
        if t.state() != TunnelState::Established {
            return;
        }
        for c in self.calls.values_mut() {
            if c.realm == realm && c.sid.is_none() {
                if let Ok(sid) = t.incoming_call(now, c.info.clone()) {
                    c.sid = Some(sid);
                    self.by_sid.insert((realm.to_string(), sid), c.key.clone());
                }
            }
        }
    }

    /// A PPP frame from the client of forwarded session `key`: relay it to its LNS.
    pub fn handle_frame(&mut self, now: Instant, key: &K, frame: &[u8]) -> Result<()> {
        let _ = now;
        let c = self.calls.get(key).ok_or(Error::State("not forwarded"))?;
        let (Some(sid), true) = (c.sid, c.up) else {
            self.stats.early_frames += 1;
            return Ok(());
        };
        let t = self
            .tunnels
            .get_mut(&c.realm)
            .ok_or(Error::State("no tunnel"))?;
        // L2TP carries the frame with address and control (FF 03).
        let mut f = [0u8; 2048];
        let body = frame.strip_prefix(&[0xff, 0x03]).unwrap_or(frame);
        let n = body.len() + 2;
        let fr = f.get_mut(..n).ok_or(Error::BufferTooSmall {
            need: n,
            have: 2048,
        })?;
        fr[0] = 0xff;
        fr[1] = 0x03;
        fr[2..].copy_from_slice(body);
        let m = t.encapsulate(sid, fr, &mut self.scratch)?;
        let datagram = self
            .scratch
            .get(..m)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        self.stats.to_lns += 1;
        self.out.push_back(LacTransmit::Lns {
            realm: c.realm.clone(),
            datagram,
        });
        Ok(())
    }

    /// An L2TP datagram from the LNS of `realm`.
    pub fn handle_datagram(&mut self, now: Instant, realm: &str, datagram: &[u8]) -> Result<()> {
        let t = self
            .tunnels
            .get_mut(realm)
            .ok_or(Error::State("no tunnel for this realm"))?;
        let r = t.handle_input(now, datagram);
        let mut frames = Vec::new();
        if let Ok(Input::Data {
            session_id,
            payload,
        }) = &r
        {
            frames.push((*session_id, payload.to_vec()));
        }
        while let Some((sid, f)) = t.poll_data() {
            frames.push((sid, f));
        }
        for (sid, f) in frames {
            self.relay_to_client(realm, sid, &f);
        }
        self.pump(now, realm);
        r.map(|_| ())
    }

    fn relay_to_client(&mut self, realm: &str, sid: u16, frame: &[u8]) {
        let Some(key) = self.by_sid.get(&(realm.to_string(), sid)) else {
            return;
        };
        let body = frame.strip_prefix(&[0xff, 0x03]).unwrap_or(frame);
        let mut f = Vec::with_capacity(body.len() + 2);
        if self.cfg.client_address_control {
            f.extend_from_slice(&[0xff, 0x03]);
        }
        f.extend_from_slice(body);
        self.stats.to_client += 1;
        self.out.push_back(LacTransmit::Client {
            key: key.clone(),
            frame: f,
        });
    }

    /// The client's transport session `key` ended: clear its call (CDN).
    pub fn lower_down(&mut self, now: Instant, key: &K) {
        let Some(c) = self.calls.remove(key) else {
            return;
        };
        if let (Some(sid), Some(t)) = (c.sid, self.tunnels.get_mut(&c.realm)) {
            self.by_sid.remove(&(c.realm.clone(), sid));
            let _ = t.disconnect_call(
                now,
                sid,
                crate::wire::avp::ResultCode {
                    result: crate::wire::message::result::CDN_ADMIN,
                    error: None,
                    message: Vec::new(),
                },
            );
        }
        self.pump(now, &c.realm);
    }

    fn pump(&mut self, now: Instant, realm: &str) {
        loop {
            let Some(t) = self.tunnels.get_mut(realm) else {
                return;
            };
            let Some(ev) = t.poll_event() else { break };
            match &ev {
                Event::TunnelUp { .. } => self.place_calls(now, realm),
                Event::SessionUp { session_id, .. } => {
                    if let Some(k) = self.by_sid.get(&(realm.to_string(), *session_id)) {
                        if let Some(c) = self.calls.get_mut(k) {
                            c.up = true;
                            self.events.push_back(LacEvent::CallUp {
                                key: c.key.clone(),
                                realm: realm.to_string(),
                            });
                        }
                    }
                }
                Event::SessionDown { session_id, .. } => {
                    if let Some(k) = self.by_sid.remove(&(realm.to_string(), *session_id)) {
                        self.calls.remove(&k);
                        self.events.push_back(LacEvent::CallDown { key: k });
                    }
                }
                Event::TunnelDown { .. } => {
                    let gone: Vec<K> = self
                        .calls
                        .values()
                        .filter(|c| c.realm == realm)
                        .map(|c| c.key.clone())
                        .collect();
                    for k in gone {
                        if let Some(c) = self.calls.remove(&k) {
                            if let Some(sid) = c.sid {
                                self.by_sid.remove(&(realm.to_string(), sid));
                            }
                        }
                        self.events.push_back(LacEvent::CallDown { key: k });
                    }
                }
                _ => {}
            }
            self.events.push_back(LacEvent::L2tp {
                realm: realm.to_string(),
                event: Box::new(ev),
            });
        }
    }

    /// Next datagram (to an LNS) or frame (to a client).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<LacTransmit<K>> {
        if let Some(x) = self.out.pop_front() {
            return Some(x);
        }
        for (realm, t) in self.tunnels.iter_mut() {
            if let Some(d) = t.poll_transmit(now) {
                return Some(LacTransmit::Lns {
                    realm: realm.clone(),
                    datagram: d,
                });
            }
        }
        None
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<LacEvent<K>> {
        let e = self.poll_event_untraced();
        trace_event!("l2tp::lac", &e, keyed);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<LacEvent<K>> {
        self.events.pop_front()
    }

    /// Earliest deadline (one tunnel per realm: a short scan over the realms).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.tunnels.values().filter_map(Tunnel::poll_timeout).min()
    }

    /// Timer expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        let realms: Vec<String> = self.tunnels.keys().cloned().collect();
        for r in realms {
            let mut frames = Vec::new();
            if let Some(t) = self.tunnels.get_mut(&r) {
                if t.poll_timeout().is_some_and(|d| d <= now) {
                    t.handle_timeout(now);
                }
                while let Some(f) = t.poll_data() {
                    frames.push(f);
                }
            }
            for (sid, f) in frames {
                self.relay_to_client(&r, sid, &f);
            }
            self.pump(now, &r);
        }
        self.tunnels
            .retain(|_, t| t.state() != TunnelState::Closed || t.poll_timeout().is_some());
    }
}
