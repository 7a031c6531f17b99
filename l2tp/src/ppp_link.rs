//! L2TP sessions carrying PPP, as thin adapters over the [`ppp::host`]: the RouterOS L2TP
//! client (LAC and PPP client in one box, `/interface l2tp-client`) on a [`ppp::host::Client`],
//! and the LNS whose sessions run on a [`ppp::host::Server`] keyed by (tunnel id, session id),
//! continuing from a LAC's proxy LCP and proxy authentication (VPDN, seed 000 lines 166-281).
//!
//! ```text
//!   transport (this module)               host (ppp::host)              session (ppp)
//!   Tunnel / Lns: control, data msgs  ->  Client / Server<(tid, sid)> -> ppp::Session
//!   SessionUp   -> lower_up / open(_proxy)     dial, redial, AAA, heap,
//!   SessionDown -> lower_down                  accounting, Ended
//!   Ended / HangUp -> CDN (+ StopCCN)
//! ```
//!
//! Layering is by value: the L2TP session delivers PPP frames (with `ff 03`) to the host and
//! wraps the frames the host emits into L2TP data messages. Nothing in `ppp` knows it runs over
//! L2TP.
//!
//! ## MPPE
//!
//! With MS-CHAP and a profile `use-encryption` of `yes` or `required` (the client's
//! [`ppp::ClientSettings::use_encryption`]; on the LNS the user's `/ppp profile`,
//! [`ppp::aaa::Profile::use_encryption`]) the PPP sessions run CCP and MPPE (RouterOS
//! `encoding` "MPPE128 stateless"). `send_datagram` then wraps PPP protocol 0x00FD frames into
//! the L2TP data messages, and `handle_input` returns the decrypted datagram as an ordinary
//! `Datagram` (borrowing the session's receive buffer instead of the input); frames released
//! by a reorder buffer are decrypted in place and come out of `poll_datagram`. Stateful mode
//! (not a RouterOS property) is [`ppp::LinkOptions::mppe`] in the PPP settings. Tested between
//! this module's client and LNS (`tests/mppe_pair.rs`: stateless, and stateful under seeded
//! loss), not yet against a third-party MPPE peer.

use std::collections::VecDeque;
use std::hash::Hash;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::config::{ClientConfig, ProtoVersion, ServerConfig, TunnelConfig};
use crate::error::{Error, Result};
use crate::event::{CallInfo, Event, ProxyInfo};
use crate::server::{Lns, LnsEvent, LnsInput, Peer, SecretHook};
use crate::tunnel::{Input, Tunnel, TunnelState};
use crate::wire::avp::ResultCode;
use crate::wire::message::result;

/// Largest PPP frame handled (MRU 1500 plus protocol and address/control, with margin).
const SCRATCH: usize = 2048;

fn ppp_err(e: ppp::Error) -> Error {
    Error::Ppp(e.to_string())
}

fn cdn() -> ResultCode {
    ResultCode {
        result: result::CDN_ADMIN,
        error: None,
        message: Vec::new(),
    }
}

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

/// Event of an [`L2tpClient`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// From the L2TP tunnel/session.
    L2tp(Event),
    /// From the PPP client (status, up with routes and DNS, PPP events, dial/hang-up).
    Ppp(ppp::host::ClientEvent),
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
        /// The datagram: borrowed from the input, or from the PPP session's receive buffer
        /// when it arrived MPPE-encrypted.
        payload: &'a [u8],
    },
}

/// What PPP made of a data frame, before the reorder buffers and events are pumped.
enum Got<'a> {
    Clear(u16, &'a [u8]),
    Decrypted(u16),
    /// Multilink: an MP fragment completed a packet (in the session's reassembly buffer).
    Reassembled(u16),
    Control,
}

/// The RouterOS L2TP client (`/interface l2tp-client`): one tunnel, one incoming call, one PPP
/// client ([`ppp::host::Client`]: dial, redial after a disconnect, dial-on-demand, status).
///
/// Drive it like every machine here: `handle_input` / `handle_timeout` in; `poll_transmit`
/// (datagrams to the server, control and data), `poll_event`, `poll_timeout` out. Send IP
/// datagrams with [`L2tpClient::send_datagram`] once [`ppp::host::ClientEvent::Up`] was
/// reported. Each (re)dial builds a new tunnel; a hang-up sends CDN and StopCCN.
pub struct L2tpClient {
    config: ClientConfig,
    tunnel: Option<Tunnel>,
    ppp: ppp::host::Client,
    rng: ChaCha20Rng,
    sid: Option<u16>,
    events: VecDeque<ClientEvent>,
    /// Datagrams from frames released by the reorder buffer.
    released: VecDeque<(u16, Vec<u8>)>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for L2tpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2tpClient")
            .field("tunnel", &self.tunnel.as_ref().map(Tunnel::state))
            .field("session", &self.sid)
            .field("ppp", &self.ppp.status())
            .finish()
    }
}

impl L2tpClient {
    /// A client from its RouterOS configuration. Unless `dial-on-demand` is set it dials at
    /// once (SCCRQ queued); the call follows when the tunnel is up, PPP when the session is.
    /// `proto_version` must be `l2tpv2` (L2TPv3 PPP pseudowires: [`ClientConfig::managed_v3`]).
    pub fn new(
        config: ClientConfig,
        now: Instant,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        config.validate()?;
        if config.proto_version != ProtoVersion::L2tpv2 {
            return Err(Error::Config {
                field: "l2tp-proto-version",
                reason: "the L2TP client with PPP speaks l2tpv2; use managed_v3 for l2tpv3".into(),
            });
        }
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        rng.fill_bytes(&mut seed);
        let ppp = ppp::host::Client::new(config.ppp.clone(), now, ChaCha20Rng::from_seed(seed))
            .map_err(|e| Error::Config {
                field: e.field,
                reason: e.reason,
            })?;
        let mut c = L2tpClient {
            config,
            tunnel: None,
            ppp,
            rng,
            sid: None,
            events: VecDeque::new(),
            released: VecDeque::new(),
            scratch: vec![0u8; SCRATCH],
        };
        c.pump(now);
        Ok(c)
    }

    /// The tunnel of the current dial (`None` while idle).
    pub fn tunnel(&self) -> Option<&Tunnel> {
        self.tunnel.as_ref()
    }

    /// The PPP client.
    pub fn ppp_client(&self) -> &ppp::host::Client {
        &self.ppp
    }

    /// The PPP session, once the L2TP session is up.
    pub fn ppp(&self) -> Option<&ppp::Session> {
        self.ppp.session()
    }

    /// Our L2TP session id.
    pub fn session_id(&self) -> Option<u16> {
        self.sid
    }

    /// Dial-on-demand: outbound traffic waits (dials when idle).
    pub fn demand(&mut self, now: Instant) {
        self.ppp.demand(now);
        self.pump(now);
    }

    /// Handle one datagram from the server.
    ///
    /// An IP datagram comes back as [`ClientInput::Datagram`] whether the server sent it in
    /// clear or MPPE-encrypted (CCP negotiated after MS-CHAP, see
    /// [`ppp::ClientSettings::use_encryption`]): a clear one borrows `buf`, a decrypted one
    /// the PPP session's receive buffer ([`ppp::Session::decrypted`]), hence the result
    /// borrows `self` too.
    pub fn handle_input<'a>(&'a mut self, now: Instant, buf: &'a [u8]) -> Result<ClientInput<'a>> {
        // Packets a previous MP fragment completed besides the one returned then.
        self.drain_reassembled(now);
        let Some(tunnel) = self.tunnel.as_mut() else {
            return Err(Error::State("not dialled"));
        };
        let out = match tunnel.handle_input(now, buf) {
            Ok(Input::Data { payload, .. }) => match self.ppp.handle_frame(now, payload) {
                Ok(ppp::Input::Datagram { protocol, payload }) => Ok(Got::Clear(protocol, payload)),
                Ok(ppp::Input::Decrypted { protocol }) => Ok(Got::Decrypted(protocol)),
                Ok(ppp::Input::Reassembled { protocol }) => Ok(Got::Reassembled(protocol)),
                Ok(_) => Ok(Got::Control),
                Err(e) => Err(ppp_err(e)),
            },
            Ok(Input::Control) | Ok(Input::Queued { .. }) => Ok(Got::Control),
            Err(e) => Err(e),
        };
        // Neither touches the session's receive buffer: reordered frames are decrypted in
        // place in their own buffers.
        self.drain_reordered(now);
        self.pump(now);
        Ok(match out? {
            Got::Clear(protocol, payload) => ClientInput::Datagram { protocol, payload },
            Got::Decrypted(protocol) => match self.ppp.session().map(ppp::Session::decrypted) {
                Some(payload) if !payload.is_empty() => ClientInput::Datagram { protocol, payload },
                _ => ClientInput::Control,
            },
            Got::Reassembled(protocol) => match self.ppp.session().map(ppp::Session::reassembled) {
                Some(payload) => ClientInput::Datagram { protocol, payload },
                None => ClientInput::Control,
            },
            Got::Control => ClientInput::Control,
        })
    }

    /// Multilink: further packets completed by the last MP fragment go to
    /// [`Self::poll_datagram`].
    fn drain_reassembled(&mut self, now: Instant) {
        while let Some(p) = self.ppp.poll_reassembled(now) {
            if let Some(s) = self.ppp.session() {
                self.released.push_back((p, s.reassembled().to_vec()));
            }
        }
    }

    /// Frames released by the reorder buffer go through PPP (MPPE packets decrypted in
    /// place); their datagrams wait in [`Self::poll_datagram`].
    fn drain_reordered(&mut self, now: Instant) {
        while let Some((_, mut f)) = self.tunnel.as_mut().and_then(Tunnel::poll_data) {
            match self.ppp.handle_frame_mut(now, &mut f) {
                Ok(ppp::Input::Datagram { protocol, payload }) => {
                    self.released.push_back((protocol, payload.to_vec()));
                }
                Ok(ppp::Input::Reassembled { protocol }) => {
                    if let Some(s) = self.ppp.session() {
                        self.released
                            .push_back((protocol, s.reassembled().to_vec()));
                    }
                    self.drain_reassembled(now);
                }
                _ => {}
            }
        }
    }

    /// Next IP datagram `(PPP protocol, packet)` from a frame the reorder buffer held
    /// ([`TunnelConfig::reorder`]); in-order ones come straight out of `handle_input`.
    pub fn poll_datagram(&mut self) -> Option<(u16, Vec<u8>)> {
        self.released.pop_front()
    }

    /// Multilink (`mrru` set on both ends): like [`Self::send_datagram`] for a datagram of up
    /// to the session's MTU (the peer's MRRU): one L2TP data message, or one per MP fragment
    /// when the datagram exceeds the link MTU. `emit` gets each message.
    pub fn send_datagram_fragments(
        &mut self,
        now: Instant,
        proto: u16,
        payload: &[u8],
        mut emit: impl FnMut(&[u8]),
    ) -> Result<usize> {
        let sid = self.sid.ok_or(Error::State("no session"))?;
        let tunnel = self.tunnel.as_mut().ok_or(Error::State("no tunnel"))?;
        let out = &mut self.scratch;
        let mut err = None;
        let n = self
            .ppp
            .encapsulate_fragments(now, proto, payload, |frame| {
                match tunnel.encapsulate(sid, frame, out) {
                    Ok(n) => emit(&out[..n]),
                    Err(e) => err = Some(e),
                }
            })
            .map_err(ppp_err)?;
        match err {
            Some(e) => Err(e),
            None => Ok(n),
        }
    }

    fn pump(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(e) = self.tunnel.as_mut().and_then(Tunnel::poll_event) {
                progressed = true;
                match &e {
                    Event::TunnelUp { .. } if self.sid.is_none() => {
                        let call = CallInfo::default();
                        if let Some(t) = self.tunnel.as_mut() {
                            if let Ok(s) = t.incoming_call(now, call) {
                                self.sid = Some(s);
                            }
                        }
                    }
                    Event::SessionUp { session_id, .. } if Some(*session_id) == self.sid => {
                        let _ = self.ppp.lower_up(now);
                    }
                    Event::SessionDown { session_id, .. } if Some(*session_id) == self.sid => {
                        self.sid = None;
                        self.ppp.lower_down(now);
                    }
                    Event::TunnelDown { .. } => {
                        self.sid = None;
                        self.ppp.lower_down(now);
                    }
                    _ => {}
                }
                self.events.push_back(ClientEvent::L2tp(e));
            }
            while let Some(e) = self.ppp.poll_event() {
                progressed = true;
                match &e {
                    ppp::host::ClientEvent::Dial => self.dial(now),
                    ppp::host::ClientEvent::HangUp => self.hang_up(now),
                    _ => {}
                }
                self.events.push_back(ClientEvent::Ppp(e));
            }
            if !progressed {
                break;
            }
        }
    }

    /// A (re)dial: a fresh tunnel (SCCRQ).
    fn dial(&mut self, now: Instant) {
        if self
            .tunnel
            .as_ref()
            .is_some_and(|t| !matches!(t.state(), TunnelState::Closed | TunnelState::Closing))
        {
            return;
        }
        self.sid = None;
        match Tunnel::connect(self.config.tunnel.clone(), now, &mut self.rng) {
            Ok(t) => self.tunnel = Some(t),
            Err(_) => self.ppp.lower_down(now),
        }
    }

    /// PPP is over: CDN and StopCCN.
    fn hang_up(&mut self, now: Instant) {
        let Some(t) = self.tunnel.as_mut() else {
            return;
        };
        if let Some(sid) = self.sid.take() {
            if t.session(sid).is_some() {
                let _ = t.disconnect_call(now, sid, cdn());
            }
        }
        if t.state() == TunnelState::Established {
            t.close(
                now,
                ResultCode {
                    result: result::STOPCCN_GENERAL,
                    error: None,
                    message: Vec::new(),
                },
            );
        }
    }

    /// Disconnect (RouterOS `disable`): PPP terminates (LCP TermReq), then CDN and StopCCN
    /// follow; no redial.
    pub fn close(&mut self, now: Instant) {
        self.ppp.hang_up(now);
        if self.ppp.session().is_none() {
            self.hang_up(now);
        }
        self.pump(now);
    }

    /// Next datagram for the server.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        loop {
            let t = self.tunnel.as_mut()?;
            if let Some(d) = t.poll_transmit(now) {
                return Some(d);
            }
            let Some(frame) = self.ppp.poll_transmit(now) else {
                // The PPP client may have finished a hang-up (its last frame is out).
                let before = self.events.len();
                self.pump(now);
                if self.events.len() == before {
                    return None;
                }
                continue;
            };
            let Some(sid) = self.sid else { continue };
            let t = self.tunnel.as_mut()?;
            if let Ok(n) = t.encapsulate(sid, &frame, &mut self.scratch) {
                return self.scratch.get(..n).map(<[u8]>::to_vec);
            }
        }
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
        let n = self
            .ppp
            .encapsulate(now, proto, payload, &mut self.scratch)
            .map_err(ppp_err)?;
        let frame = self.scratch.get(..n).ok_or(Error::State("ppp frame"))?;
        self.tunnel
            .as_mut()
            .ok_or(Error::State("no tunnel"))?
            .encapsulate(sid, frame, out)
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        let e = self.poll_event_untraced();
        trace_event!("l2tp::ppp_link", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let a = self.tunnel.as_ref().and_then(Tunnel::poll_timeout);
        let b = self.ppp.poll_timeout();
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Timer expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(t) = self.tunnel.as_mut() {
            if t.poll_timeout().is_some_and(|d| d <= now) {
                t.handle_timeout(now);
            }
        }
        self.drain_reordered(now);
        if self.ppp.poll_timeout().is_some_and(|d| d <= now) {
            self.ppp.handle_timeout(now);
        }
        self.pump(now);
    }
}

/// The PPP host key of an L2TP session: (our tunnel id, our session id).
pub type SessionKey = (u16, u16);

/// Event of a [`PppLns`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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
    /// From the PPP host: an external verdict needed ([`PppLns::auth_verdict`]), accounting,
    /// a session ended (the adapter has sent its CDN).
    Host(ppp::host::ServerEvent<SessionKey>),
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
        /// The datagram: borrowed from the input, or from the PPP session's receive buffer
        /// when it arrived MPPE-encrypted.
        payload: &'a [u8],
    },
}

/// An LNS whose sessions run PPP servers: [`Lns`] plus a [`ppp::host::Server`] keyed by
/// (tunnel id, session id), configured by the `ppp` settings of the [`ServerConfig`].
/// Sessions whose ICCN carries proxy LCP start from it ([`ppp::host::Server::open_proxy`]): no
/// new LCP negotiation and no new CHAP challenge when the proxied credentials verify.
pub struct PppLns<K: Clone + Eq + Hash> {
    lns: Lns<K>,
    host: ppp::host::Server<SessionKey>,
    /// Datagrams from frames released by reorder buffers.
    released: VecDeque<(u16, u16, u16, Vec<u8>)>,
    /// Multilink: the session whose last MP fragment may have completed further packets.
    mp_pending: Option<SessionKey>,
    events: VecDeque<PppLnsEvent<K>>,
    scratch: Vec<u8>,
}

impl<K: Clone + Eq + Hash> std::fmt::Debug for PppLns<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PppLns")
            .field("lns", &self.lns)
            .field("host", &self.host)
            .finish()
    }
}

impl<K: Clone + Eq + Hash> PppLns<K> {
    /// A server. Its PPP host starts with an empty local [`ppp::aaa::Aaa`] store: give it
    /// `/ppp secret`s with [`PppLns::set_store`], or answer [`ppp::host::ServerEvent::AuthRequest`]
    /// (with `use-radius`, [`PppLns::set_aaa`]) through [`PppLns::auth_verdict`].
    pub fn new(
        cfg: ServerConfig,
        tunnel_cfg: TunnelConfig,
        secrets: SecretHook<K>,
        now: Instant,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let hcfg = ppp::host::ServerConfig::new(cfg.ppp.clone());
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let host =
            ppp::host::Server::new(hcfg, now, ChaCha20Rng::from_seed(seed)).map_err(|e| {
                Error::Config {
                    field: e.field,
                    reason: e.reason,
                }
            })?;
        let lns = Lns::new(cfg, tunnel_cfg, secrets, rng)?;
        Ok(PppLns {
            lns,
            host,
            released: VecDeque::new(),
            mp_pending: None,
            events: VecDeque::new(),
            scratch: vec![0u8; SCRATCH],
        })
    }

    /// Replace the PPP host's credential store (`/ppp secret`, profiles, pools).
    pub fn set_store(&mut self, store: Box<dyn ppp::CredentialStore + Send>) {
        self.host.set_store(store);
    }

    /// `/ppp aaa` settings of the PPP host (use-radius, accounting, interim-update).
    pub fn set_aaa(&mut self, aaa: ppp::host::AaaSettings) {
        self.host.set_aaa(aaa);
    }

    /// The L2TP server.
    pub fn lns(&self) -> &Lns<K> {
        &self.lns
    }

    /// The PPP host.
    pub fn host(&self) -> &ppp::host::Server<SessionKey> {
        &self.host
    }

    /// The PPP session of (tunnel, session).
    pub fn ppp(&self, tid: u16, sid: u16) -> Option<&ppp::Session> {
        self.host.session(&(tid, sid))
    }

    /// Answer a [`ppp::host::ServerEvent::AuthRequest`].
    pub fn auth_verdict(
        &mut self,
        now: Instant,
        tid: u16,
        sid: u16,
        request: u64,
        verdict: ppp::Verdict,
    ) -> Result<()> {
        self.host
            .auth_verdict(now, &(tid, sid), request, verdict)
            .map_err(ppp_err)?;
        self.pump(now);
        Ok(())
    }

    /// Hang up the PPP session of (tunnel, session): LCP Terminate-Request, then the CDN once
    /// it ended.
    pub fn close_session(&mut self, now: Instant, tid: u16, sid: u16, reason: &str) -> Result<()> {
        self.host.close(now, &(tid, sid), reason).map_err(ppp_err)?;
        self.pump(now);
        Ok(())
    }

    /// Handle one datagram.
    ///
    /// An IP datagram comes back as [`PppLnsInput::Datagram`] whether the client sent it in
    /// clear or MPPE-encrypted (the user's `/ppp profile` `use-encryption`, see
    /// [`ppp::aaa::Profile::use_encryption`]): a clear one borrows `buf`, a decrypted one
    /// the PPP session's receive buffer ([`ppp::Session::decrypted`]), hence the result
    /// borrows `self` too.
    pub fn handle_input<'a>(
        &'a mut self,
        now: Instant,
        peer: &Peer<K>,
        buf: &'a [u8],
    ) -> Result<PppLnsInput<'a>> {
        self.drain_reassembled(now);
        let r = self.lns.handle_input(now, peer, buf);
        let mut key = (0, 0);
        let out = match r {
            Ok(LnsInput::Data {
                tunnel_id,
                session_id,
                payload,
            }) => {
                key = (tunnel_id, session_id);
                match self.host.handle_frame(now, &key, payload) {
                    Ok(ppp::Input::Datagram { protocol, payload }) => {
                        Ok(Got::Clear(protocol, payload))
                    }
                    Ok(ppp::Input::Decrypted { protocol }) => Ok(Got::Decrypted(protocol)),
                    Ok(ppp::Input::Reassembled { protocol }) => Ok(Got::Reassembled(protocol)),
                    Ok(_) | Err(ppp::Error::NoSession) => Ok(Got::Control),
                    Err(e) => Err(ppp_err(e)),
                }
            }
            // L2TPv3 pseudowire frames are not PPP sessions of this object; a caller
            // serving L2TPv3 drives the plain `Lns` directly.
            Ok(LnsInput::Control)
            | Ok(LnsInput::V3Data { .. })
            | Ok(LnsInput::V3Queued { .. })
            | Ok(LnsInput::Queued { .. }) => Ok(Got::Control),
            Err(e) => Err(e),
        };
        // Neither touches the sessions' receive buffers: reordered frames are decrypted in
        // place in their own buffers.
        self.drain_reordered(now);
        self.pump(now);
        let (tunnel_id, session_id) = key;
        Ok(match out? {
            Got::Clear(protocol, payload) => PppLnsInput::Datagram {
                tunnel_id,
                session_id,
                protocol,
                payload,
            },
            Got::Decrypted(protocol) => {
                match self.host.session(&key).map(ppp::Session::decrypted) {
                    Some(payload) if !payload.is_empty() => PppLnsInput::Datagram {
                        tunnel_id,
                        session_id,
                        protocol,
                        payload,
                    },
                    _ => PppLnsInput::Control,
                }
            }
            Got::Reassembled(protocol) => {
                self.mp_pending = Some(key);
                match self.host.session(&key).map(ppp::Session::reassembled) {
                    Some(payload) => PppLnsInput::Datagram {
                        tunnel_id,
                        session_id,
                        protocol,
                        payload,
                    },
                    None => PppLnsInput::Control,
                }
            }
            Got::Control => PppLnsInput::Control,
        })
    }

    /// Multilink: further packets completed by the last MP fragment go to
    /// [`Self::poll_datagram`].
    fn drain_reassembled(&mut self, now: Instant) {
        let Some(key) = self.mp_pending.take() else {
            return;
        };
        while let Some(p) = self.host.poll_reassembled(now, &key) {
            if let Some(s) = self.host.session(&key) {
                self.released
                    .push_back((key.0, key.1, p, s.reassembled().to_vec()));
            }
        }
    }

    /// Frames released by L2TP reorder buffers go through their PPP sessions (MPPE packets
    /// decrypted in place); datagrams wait in [`Self::poll_datagram`].
    fn drain_reordered(&mut self, now: Instant) {
        while let Some((tid, sid, mut f)) = self.lns.poll_data() {
            let r = self.host.handle_frame_mut(now, &(tid, sid), &mut f);
            if let Ok(ppp::Input::Reassembled { protocol }) = r {
                if let Some(s) = self.host.session(&(tid, sid)) {
                    self.released
                        .push_back((tid, sid, protocol, s.reassembled().to_vec()));
                }
                self.mp_pending = Some((tid, sid));
                self.drain_reassembled(now);
            } else if let Ok(ppp::Input::Datagram { protocol, payload }) = r {
                self.released
                    .push_back((tid, sid, protocol, payload.to_vec()));
            }
        }
    }

    /// Next IP datagram `(tunnel id, session id, PPP protocol, packet)` from a frame a reorder
    /// buffer held ([`TunnelConfig::reorder`]); in-order ones come out of `handle_input`.
    pub fn poll_datagram(&mut self) -> Option<(u16, u16, u16, Vec<u8>)> {
        self.released.pop_front()
    }

    /// L2TP events start and stop PPP sessions; host events end L2TP sessions.
    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.lns.poll_event() {
            let tid = ev.tunnel_id;
            match &ev.event {
                Event::SessionUp {
                    session_id, call, ..
                } => {
                    let key = (tid, *session_id);
                    let caller = self
                        .lns
                        .caller_id(tid, *session_id)
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .unwrap_or_default();
                    let r = match proxy_lcp(&call.proxy) {
                        Some(px) => self.host.open_proxy(now, key, &caller, px),
                        None => self.host.open(now, key, &caller),
                    };
                    if r.is_err() {
                        if let Some(t) = self.lns.tunnel_mut(tid) {
                            let _ = t.disconnect_call(now, *session_id, cdn());
                        }
                    }
                }
                Event::SessionDown { session_id, .. } => {
                    let _ = self.host.lower_down(now, &(tid, *session_id));
                }
                Event::TunnelDown { .. } => {
                    let gone: Vec<SessionKey> =
                        self.host.keys().filter(|k| k.0 == tid).copied().collect();
                    for k in gone {
                        let _ = self.host.lower_down(now, &k);
                    }
                }
                _ => {}
            }
            self.events.push_back(PppLnsEvent::L2tp(ev));
        }
        self.pump_host(now);
    }

    /// Host events; an ended PPP session gets its CDN. True when a CDN was queued.
    fn pump_host(&mut self, now: Instant) -> bool {
        let mut cdns = false;
        while let Some(e) = self.host.poll_event() {
            match e {
                ppp::host::ServerEvent::Ppp { key, event } => {
                    self.events.push_back(PppLnsEvent::Ppp {
                        tunnel_id: key.0,
                        session_id: key.1,
                        event,
                    })
                }
                other => {
                    if let ppp::host::ServerEvent::Ended {
                        key: (tid, sid), ..
                    } = &other
                    {
                        if let Some(t) = self.lns.tunnel_mut(*tid) {
                            if t.session(*sid).is_some() {
                                let _ = t.disconnect_call(now, *sid, cdn());
                                cdns = true;
                            }
                        }
                    }
                    self.events.push_back(PppLnsEvent::Host(other));
                }
            }
        }
        if cdns {
            // Events produced by the CDNs above.
            while let Some(ev) = self.lns.poll_event() {
                self.events.push_back(PppLnsEvent::L2tp(ev));
            }
        }
        cdns
    }

    /// Next datagram and the key to send it to.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(K, Vec<u8>)> {
        loop {
            if let Some(x) = self.lns.poll_transmit(now) {
                return Some(x);
            }
            if let Some(t) = self.host.poll_transmit(now) {
                let (tid, sid) = t.key;
                if let Ok((key, n)) = self.lns.encapsulate(tid, sid, &t.frame, &mut self.scratch) {
                    if let Some(b) = self.scratch.get(..n) {
                        return Some((key, b.to_vec()));
                    }
                }
                continue;
            }
            // The host may have reported sessions whose last frame just left: CDN them.
            if !self.pump_host(now) {
                return None;
            }
        }
    }

    /// Multilink (`mrru` set on both ends): like [`Self::send_datagram`] for a datagram of up
    /// to the session's MTU (the peer's MRRU): one L2TP data message, or one per MP fragment
    /// when it exceeds the link MTU. `emit` gets the peer key and each message.
    pub fn send_datagram_fragments(
        &mut self,
        now: Instant,
        tid: u16,
        sid: u16,
        proto: u16,
        payload: &[u8],
        mut emit: impl FnMut(&K, &[u8]),
    ) -> Result<usize> {
        let lns = &mut self.lns;
        let out = &mut self.scratch;
        let mut err = None;
        let n = self
            .host
            .encapsulate_fragments(now, &(tid, sid), proto, payload, |frame| {
                match lns.encapsulate(tid, sid, frame, out) {
                    Ok((key, n)) => emit(&key, &out[..n]),
                    Err(e) => err = Some(e),
                }
            })
            .map_err(ppp_err)?;
        match err {
            Some(e) => Err(e),
            None => Ok(n),
        }
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
        let n = self
            .host
            .encapsulate(now, &(tid, sid), proto, payload, &mut self.scratch)
            .map_err(ppp_err)?;
        let frame = self.scratch.get(..n).ok_or(Error::State("ppp frame"))?;
        self.lns.encapsulate(tid, sid, frame, out)
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<PppLnsEvent<K>> {
        let e = self.poll_event_untraced();
        trace_event!("l2tp::ppp_link::PppLns", &e, keyed);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<PppLnsEvent<K>> {
        self.events.pop_front()
    }

    /// Earliest deadline: the L2TP timer heaps and the PPP host's heap, O(log n) amortised.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let a = self.lns.poll_timeout();
        let b = self.host.poll_timeout();
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Timer expiry: only the due tunnels and sessions are visited.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.lns.handle_timeout(now);
        self.drain_reordered(now);
        self.host.handle_timeout(now);
        self.pump(now);
    }
}
