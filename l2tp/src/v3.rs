//! L2TPv3 managed control connection (RFC 3931 section 3.3) carrying one pseudowire session.
//!
//! ```text
//! initiator (LCCE A)                               responder (LCCE B)
//!   SCCRQ  Router ID, Assigned CCID, PW Caps, Nonce ->
//!                     <- SCCRP  Router ID, Assigned CCID, PW Caps, Nonce
//!   SCCCN                                          ->            (control connection up)
//!   ICRQ   Local Session ID, Remote Session ID 0, PW Type, Cookie ->
//!                     <- ICRP   Local/Remote Session ID, PW Type, Cookie
//!   ICCN   Local/Remote Session ID                 ->            (session up, data flows)
//! ```
//!
//! Every message carries a Message Digest AVP right after the Message Type (section 5.4.1)
//! unless the digest is `none`: `HMAC_Hash(shared_key, sender_nonce + receiver_nonce +
//! message)` with `shared_key = HMAC_Hash(secret, 2)`; the SCCRQ, sent before the responder's
//! nonce is known, is hashed without nonces. Authenticated ZLB acknowledgements carry only the
//! Message Digest AVP. A message whose digest does not verify is dropped and counted
//! ([`V3Stats::digest_failures`]) before it touches the reliable channel.
//!
//! Reliability reuses [`crate::control::Channel`] (Ns/Nr, window, backoff, slow start).
//!
//! Not implemented here: more than one session per control connection, outgoing calls,
//! HELLO transmission, AVP hiding in v3, tie breaking between simultaneous SCCRQs, L2TPv3 over
//! IP inside [`crate::server::Lns`] (the LNS serves v3 over UDP; this object alone does both).

use std::collections::VecDeque;
use std::time::Instant;

use rand_core::RngCore;

use crate::config::ControlConfig;
use crate::control::{Channel, Outgoing};
use crate::error::{Error, Result};
use crate::wire::avp::{attr, Avp, AvpValue, ResultCode};
use crate::wire::v3::{
    digest_key, sign_with, verify_with, ControlMessageV3, Cookie, DataPathV3, DataV3, DigestHash,
    Encap,
};

/// Pseudowire Type: Ethernet (RFC 4719).
pub const PW_ETHERNET: u16 = 0x0005;
/// Pseudowire Type: PPP (RFC 3931 / IANA).
pub const PW_PPP: u16 = 0x0007;

const SCCRQ: u16 = 1;
const SCCRP: u16 = 2;
const SCCCN: u16 = 3;
const STOPCCN: u16 = 4;
const HELLO: u16 = 6;
const ICRQ: u16 = 10;
const ICRP: u16 = 11;
const ICCN: u16 = 12;
const CDN: u16 = 14;

/// Configuration of one managed L2TPv3 control connection.
#[derive(Debug, Clone)]
pub struct V3Config {
    /// Encapsulation (`l2tp-proto-version=l2tpv3-ip` / `l2tpv3-udp`).
    pub encap: Encap,
    /// Host Name AVP.
    pub host_name: Vec<u8>,
    /// Router ID AVP (RFC 3931 s5.4.3), usually an IPv4 address.
    pub router_id: u32,
    /// Shared secret (`/ppp l2tp-secret`); `None` or digest `None` disables authentication.
    pub secret: Option<Vec<u8>>,
    /// Message digest algorithm (`l2tpv3-digest-hash`, default md5).
    pub digest: DigestHash,
    /// Pseudowire type we offer/accept ([`PW_ETHERNET`] or [`PW_PPP`]).
    pub pw_type: u16,
    /// Length of the cookie we assign (`l2tpv3-cookie-length`: 0, 4 or 8).
    pub cookie_len: u8,
    /// Use the default L2-Specific Sublayer on the data path.
    pub l2_sublayer: bool,
    /// Reliable delivery parameters.
    pub control: ControlConfig,
}

impl Default for V3Config {
    fn default() -> Self {
        V3Config {
            encap: Encap::Udp,
            host_name: b"rust-l2tp".to_vec(),
            router_id: 0,
            secret: None,
            digest: DigestHash::Md5,
            pw_type: PW_ETHERNET,
            cookie_len: 0,
            l2_sublayer: false,
            control: ControlConfig::default(),
        }
    }
}

/// State of a [`ControlConnectionV3`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V3State {
    /// Initiator before `connect`, responder before the SCCRQ.
    Idle,
    /// Initiator: SCCRQ sent.
    WaitCtlReply,
    /// Responder: SCCRP sent.
    WaitCtlConn,
    /// Control connection established.
    Established,
    /// Torn down.
    Closed,
}

/// Events of a [`ControlConnectionV3`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V3Event {
    /// Control connection established (peer's Assigned Control Connection ID and Router ID).
    ControlUp {
        /// Peer's control connection id.
        peer_ccid: u32,
        /// Peer's Router ID.
        peer_router_id: u32,
    },
    /// The pseudowire session is up; data may flow.
    SessionUp {
        /// Our session id.
        local_session_id: u32,
        /// The peer's session id.
        remote_session_id: u32,
    },
    /// The connection is closed.
    Closed {
        /// Why.
        reason: &'static str,
    },
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct V3Stats {
    /// Control messages dropped because their Message Digest did not verify or was missing.
    pub digest_failures: u64,
    /// Control messages dropped because the peer's nonce is not known yet (they arrived
    /// before the SCCRQ/SCCRP that carries it).
    pub unverifiable: u64,
    /// Control messages dropped for a wrong Control Connection ID or a bad header.
    pub malformed: u64,
    /// Data packets dropped (wrong session id, wrong cookie, no session yet).
    pub data_dropped: u64,
}

/// What a received datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V3Input<'a> {
    /// A control message (processed).
    Control,
    /// A data packet of our session: its payload (an Ethernet frame or PPP frame).
    Data(DataV3<'a>),
}

/// One managed L2TPv3 control connection with one pseudowire session.
#[derive(Debug)]
pub struct ControlConnectionV3 {
    cfg: V3Config,
    initiator: bool,
    state: V3State,
    local_ccid: u32,
    peer_ccid: u32,
    local_nonce: Vec<u8>,
    peer_nonce: Option<Vec<u8>>,
    key: Vec<u8>,
    channel: Channel<Vec<Avp>>,
    local_session_id: u32,
    send_cookie: Cookie,
    data: Option<DataPathV3>,
    session_requested: bool,
    events: VecDeque<V3Event>,
    stats: V3Stats,
}

impl ControlConnectionV3 {
    /// A new connection; `initiator` sends the SCCRQ on [`Self::connect`]. Ids, the nonce
    /// and our cookie are drawn from `rng`.
    pub fn new(cfg: V3Config, initiator: bool, rng: &mut dyn RngCore) -> Result<Self> {
        if !matches!(cfg.cookie_len, 0 | 4 | 8) {
            return Err(Error::Config {
                field: "l2tpv3-cookie-length",
                reason: "must be 0, 4 or 8".into(),
            });
        }
        let nonzero = |rng: &mut dyn RngCore| loop {
            let v = rng.next_u32();
            if v != 0 {
                break v;
            }
        };
        let local_ccid = nonzero(rng);
        let local_session_id = nonzero(rng);
        let mut nonce = vec![0u8; 16];
        rng.fill_bytes(&mut nonce);
        let mut ck = [0u8; 8];
        rng.fill_bytes(&mut ck);
        let send_cookie = Cookie::new(ck.get(..usize::from(cfg.cookie_len)).unwrap_or_default())?;
        let key = match &cfg.secret {
            Some(s) => digest_key(cfg.digest, s),
            None => Vec::new(),
        };
        let channel = Channel::new(cfg.control.clone());
        Ok(ControlConnectionV3 {
            cfg,
            initiator,
            state: V3State::Idle,
            local_ccid,
            peer_ccid: 0,
            local_nonce: nonce,
            peer_nonce: None,
            key,
            channel,
            local_session_id,
            send_cookie,
            data: None,
            session_requested: false,
            events: VecDeque::new(),
            stats: V3Stats::default(),
        })
    }

    /// Like [`Self::new`] with ids and nonce drawn from a ChaCha20 generator seeded with
    /// `seed` (fuzzers, replays).
    pub fn with_seed(cfg: V3Config, initiator: bool, seed: [u8; 32]) -> Result<Self> {
        use rand_core::SeedableRng;
        Self::new(
            cfg,
            initiator,
            &mut rand_chacha::ChaCha20Rng::from_seed(seed),
        )
    }

    fn hash(&self) -> DigestHash {
        if self.cfg.secret.is_some() {
            self.cfg.digest
        } else {
            DigestHash::None
        }
    }

    /// Current state.
    pub fn state(&self) -> V3State {
        self.state
    }
    /// Counters.
    pub fn stats(&self) -> V3Stats {
        self.stats
    }
    /// Our Control Connection ID.
    pub fn local_ccid(&self) -> u32 {
        self.local_ccid
    }
    /// The peer's Control Connection ID (0 until its SCCRQ/SCCRP).
    pub fn peer_ccid(&self) -> u32 {
        self.peer_ccid
    }
    /// Our session id.
    pub fn local_session_id(&self) -> u32 {
        self.local_session_id
    }
    /// Our session's data path once the session is up (cookies, ids).
    pub fn data_path(&self) -> Option<&DataPathV3> {
        self.data.as_ref()
    }
    /// Next event.
    pub fn poll_event(&mut self) -> Option<V3Event> {
        self.events.pop_front()
    }

    fn common_sccr(&self, ty: u16) -> Vec<Avp> {
        vec![
            Avp::m(&AvpValue::MessageType(ty)),
            Avp::m(&AvpValue::HostName(self.cfg.host_name.clone())),
            Avp::m(&AvpValue::RouterId(self.cfg.router_id)),
            Avp::m(&AvpValue::AssignedControlConnectionId(self.local_ccid)),
            Avp::m(&AvpValue::PseudowireCapabilities(vec![self.cfg.pw_type])),
            Avp::m(&AvpValue::ReceiveWindowSize(
                self.cfg.control.receive_window,
            )),
            Avp::m(&AvpValue::Nonce(self.local_nonce.clone())),
        ]
    }

    fn session_avps(&self, ty: u16, remote: u32) -> Vec<Avp> {
        let mut v = vec![
            Avp::m(&AvpValue::MessageType(ty)),
            Avp::m(&AvpValue::LocalSessionId(self.local_session_id)),
            Avp::m(&AvpValue::RemoteSessionId(remote)),
        ];
        if ty != ICCN {
            v.push(Avp::m(&AvpValue::PseudowireType(self.cfg.pw_type)));
            if !self.send_cookie.is_empty() {
                v.push(Avp::m(&AvpValue::AssignedCookie(
                    self.send_cookie.as_bytes().to_vec(),
                )));
            }
            v.push(Avp::m(&AvpValue::L2SpecificSublayer(u16::from(
                self.cfg.l2_sublayer,
            ))));
        }
        v
    }

    /// Initiator: send the SCCRQ. The session's ICRQ follows once the connection is up.
    pub fn connect(&mut self, _now: Instant) -> Result<()> {
        if !self.initiator || self.state != V3State::Idle {
            return Err(Error::Config {
                field: "state",
                reason: "connect() only once, on the initiator".into(),
            });
        }
        self.channel.send(self.common_sccr(SCCRQ));
        self.state = V3State::WaitCtlReply;
        Ok(())
    }

    /// Tear down: StopCCN with Result Code 1 (general request to clear).
    pub fn close(&mut self) {
        if matches!(self.state, V3State::Closed | V3State::Idle) {
            self.state = V3State::Closed;
            return;
        }
        self.channel.send(vec![
            Avp::m(&AvpValue::MessageType(STOPCCN)),
            Avp::m(&AvpValue::ResultCode(ResultCode {
                result: 1,
                error: None,
                message: Vec::new(),
            })),
            Avp::m(&AvpValue::AssignedControlConnectionId(self.local_ccid)),
        ]);
        self.finish("closed locally");
    }

    fn finish(&mut self, reason: &'static str) {
        if self.state != V3State::Closed {
            self.state = V3State::Closed;
            self.data = None;
            self.events.push_back(V3Event::Closed { reason });
        }
    }

    fn nonce_prefix_rx(&self, peer_nonce: Option<&[u8]>) -> Vec<Vec<u8>> {
        match peer_nonce {
            Some(p) => vec![p.to_vec(), self.local_nonce.clone()],
            None => Vec::new(),
        }
    }

    /// Feed one received datagram (control or data, in [`V3Config::encap`]).
    pub fn handle_input<'a>(&mut self, now: Instant, buf: &'a [u8]) -> Result<V3Input<'a>> {
        let is_control = match self.cfg.encap {
            Encap::Ip => buf.get(..4) == Some(&[0, 0, 0, 0][..]),
            Encap::Udp => buf.first().is_some_and(|b| b & 0x80 != 0),
        };
        if !is_control {
            let Some(dp) = &self.data else {
                self.stats.data_dropped += 1;
                return Err(Error::Flags {
                    flags: 0,
                    reason: "data before the session is up",
                });
            };
            return match dp.decapsulate(buf) {
                Ok(d) => Ok(V3Input::Data(d)),
                Err(e) => {
                    self.stats.data_dropped += 1;
                    Err(e)
                }
            };
        }
        let msg = match ControlMessageV3::parse(self.cfg.encap, buf) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        let ty = msg.message_type_raw();
        let first_sccrq = ty == Some(SCCRQ) && msg.ccid == 0;
        if !first_sccrq && msg.ccid != self.local_ccid {
            self.stats.malformed += 1;
            return Err(Error::Flags {
                flags: 0,
                reason: "wrong control connection id",
            });
        }
        // The nonce the sender used: carried in SCCRQ/SCCRP, remembered afterwards.
        let carried_nonce = msg.avps.iter().find_map(|a| match a.typed() {
            Ok(Some(AvpValue::Nonce(n))) if a.is(attr::CONTROL_MESSAGE_AUTHENTICATION_NONCE) => {
                Some(n)
            }
            _ => None,
        });
        let hash = self.hash();
        if hash != DigestHash::None {
            let prefix = if ty == Some(SCCRQ) {
                Vec::new()
            } else {
                let pn = carried_nonce.as_deref().or(self.peer_nonce.as_deref());
                if pn.is_none() {
                    // e.g. a ZLB overtaking a lost SCCRP: not verifiable yet. Dropped
                    // (the peer retransmits), not counted as a digest failure.
                    self.stats.unverifiable += 1;
                    return Err(Error::Digest);
                }
                self.nonce_prefix_rx(pn)
            };
            let parts: Vec<&[u8]> = prefix.iter().map(Vec::as_slice).collect();
            if verify_with(buf, self.cfg.encap, hash, &self.key, &parts).is_err() {
                self.stats.digest_failures += 1;
                return Err(Error::Digest);
            }
        }
        // A ZLB: no Message Type (an authenticated one carries only the Message Digest).
        let body = if ty.is_none() {
            None
        } else {
            Some(msg.avps.clone())
        };
        for m in self.channel.on_receive(now, msg.ns, msg.nr, body) {
            self.process(now, &m);
        }
        if self.channel.failed() {
            self.finish("retransmission limit");
        }
        Ok(V3Input::Control)
    }

    fn process(&mut self, _now: Instant, avps: &[Avp]) {
        let mut ty = None;
        let (mut ccid, mut rid, mut nonce, mut pw_caps, mut pw, mut cookie) =
            (None, 0, None, Vec::new(), None, Vec::new());
        let (mut lsid, mut rsid, mut window) = (None, None, None);
        for a in avps {
            match a.typed() {
                Ok(Some(AvpValue::MessageType(t))) => ty = Some(t),
                Ok(Some(AvpValue::AssignedControlConnectionId(c))) => ccid = Some(c),
                Ok(Some(AvpValue::RouterId(r))) => rid = r,
                Ok(Some(AvpValue::Nonce(n))) => nonce = Some(n),
                Ok(Some(AvpValue::PseudowireCapabilities(c))) => pw_caps = c,
                Ok(Some(AvpValue::PseudowireType(t))) => pw = Some(t),
                Ok(Some(AvpValue::AssignedCookie(c))) => cookie = c,
                Ok(Some(AvpValue::LocalSessionId(s))) => lsid = Some(s),
                Ok(Some(AvpValue::RemoteSessionId(s))) => rsid = Some(s),
                Ok(Some(AvpValue::ReceiveWindowSize(w))) => window = Some(w),
                _ => {}
            }
        }
        match (ty, self.initiator, self.state) {
            (Some(SCCRQ), false, V3State::Idle) => {
                let Some(c) = ccid.filter(|c| *c != 0) else {
                    return self.finish("SCCRQ without Assigned Control Connection ID");
                };
                if !pw_caps.contains(&self.cfg.pw_type) {
                    return self.finish("peer does not offer our pseudowire type");
                }
                self.peer_ccid = c;
                self.peer_nonce = nonce;
                if let Some(w) = window {
                    self.channel.set_peer_window(w);
                }
                self.channel.send(self.common_sccr(SCCRP));
                self.state = V3State::WaitCtlConn;
                let _ = rid;
            }
            (Some(SCCRP), true, V3State::WaitCtlReply) => {
                let Some(c) = ccid.filter(|c| *c != 0) else {
                    return self.finish("SCCRP without Assigned Control Connection ID");
                };
                if !pw_caps.contains(&self.cfg.pw_type) {
                    return self.finish("peer does not offer our pseudowire type");
                }
                self.peer_ccid = c;
                self.peer_nonce = nonce;
                if let Some(w) = window {
                    self.channel.set_peer_window(w);
                }
                self.channel
                    .send(vec![Avp::m(&AvpValue::MessageType(SCCCN))]);
                self.state = V3State::Established;
                self.events.push_back(V3Event::ControlUp {
                    peer_ccid: c,
                    peer_router_id: rid,
                });
                if !self.session_requested {
                    self.session_requested = true;
                    self.channel.send(self.session_avps(ICRQ, 0));
                }
            }
            (Some(SCCCN), false, V3State::WaitCtlConn) => {
                self.state = V3State::Established;
                self.events.push_back(V3Event::ControlUp {
                    peer_ccid: self.peer_ccid,
                    peer_router_id: 0,
                });
            }
            (Some(ICRQ), false, V3State::Established) => {
                let (Some(peer_sid), Some(t)) = (lsid, pw) else {
                    return;
                };
                if t != self.cfg.pw_type || self.data.is_some() || self.session_requested {
                    return;
                }
                self.session_requested = true;
                let Ok(peer_cookie) = Cookie::new(&cookie) else {
                    return;
                };
                self.channel.send(self.session_avps(ICRP, peer_sid));
                self.pending_data(peer_sid, peer_cookie);
            }
            (Some(ICRP), true, V3State::Established) => {
                let (Some(peer_sid), Some(mine)) = (lsid, rsid) else {
                    return;
                };
                if mine != self.local_session_id || self.data.is_some() {
                    return;
                }
                let Ok(peer_cookie) = Cookie::new(&cookie) else {
                    return;
                };
                self.channel.send(self.session_avps(ICCN, peer_sid));
                self.pending_data(peer_sid, peer_cookie);
                self.session_up();
            }
            (Some(ICCN), false, V3State::Established) if rsid == Some(self.local_session_id) => {
                self.session_up();
            }
            (Some(STOPCCN), _, _) => self.finish("StopCCN from peer"),
            (Some(CDN), _, _) => {
                self.data = None;
                self.events.push_back(V3Event::Closed {
                    reason: "CDN from peer",
                });
            }
            (Some(HELLO), _, _) => {}
            _ => {}
        }
    }

    fn pending_data(&mut self, remote_session_id: u32, peer_cookie: Cookie) {
        self.data = Some(DataPathV3 {
            encap: self.cfg.encap,
            remote_session_id,
            local_session_id: self.local_session_id,
            send_cookie: self.send_cookie,
            peer_cookie,
            l2_sublayer: self.cfg.l2_sublayer,
            tx_seq: 0,
        });
    }

    fn session_up(&mut self) {
        if let Some(d) = &self.data {
            self.events.push_back(V3Event::SessionUp {
                local_session_id: d.local_session_id,
                remote_session_id: d.remote_session_id,
            });
        }
    }

    /// True once the session is up and data may be sent.
    pub fn session_ready(&self) -> bool {
        self.data.is_some() && self.state == V3State::Established
    }

    /// Encapsulate a frame of our session into `out` (no allocation).
    pub fn encapsulate(&mut self, frame: &[u8], out: &mut [u8]) -> Result<usize> {
        match &mut self.data {
            Some(d) => d.encapsulate(frame, out),
            None => Err(Error::Flags {
                flags: 0,
                reason: "no session",
            }),
        }
    }

    /// Next control datagram to send (signed), if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let out = self.channel.poll_transmit(now)?;
        let (ns, nr, avps) = match out {
            Outgoing::Message { ns, nr, msg, .. } => (ns, nr, msg),
            Outgoing::Zlb { ns, nr } => (ns, nr, Vec::new()),
        };
        let is_sccrq = avps.first().and_then(|a| match a.typed() {
            Ok(Some(AvpValue::MessageType(t))) => Some(t),
            _ => None,
        }) == Some(SCCRQ);
        let mut m = ControlMessageV3 {
            ccid: self.peer_ccid,
            ns,
            nr,
            avps,
        };
        let prefix: Vec<&[u8]> = match (&self.peer_nonce, is_sccrq) {
            (Some(p), false) => vec![self.local_nonce.as_slice(), p.as_slice()],
            _ => Vec::new(),
        };
        sign_with(&mut m, self.cfg.encap, self.hash(), &self.key, &prefix).ok()
    }

    /// Earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.channel.poll_timeout()
    }

    /// Timers: retransmission and ack delay.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.channel.handle_timeout(now);
        if self.channel.failed() {
            self.finish("retransmission limit");
        }
    }
}
