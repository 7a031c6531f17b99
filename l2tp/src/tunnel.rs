//! L2TPv2 tunnel (control connection) and its sessions: one LAC-LNS pair (RFC 2661 sections 5-7).
//!
//! # Driving contract
//! * Inputs: [`Tunnel::handle_input`] for every datagram from the peer (control and data),
//!   [`Tunnel::handle_timeout`] when [`Tunnel::poll_timeout`] has passed.
//! * Commands: [`Tunnel::incoming_call`] (LAC), [`Tunnel::outgoing_call`] (LNS),
//!   [`Tunnel::accept_call`] / [`Tunnel::reject_call`], [`Tunnel::disconnect_call`],
//!   [`Tunnel::wan_error`], [`Tunnel::set_link_info`], [`Tunnel::close`],
//!   and [`Tunnel::encapsulate`] for data.
//! * Outputs: after any input or command, call [`Tunnel::poll_transmit`] until `None`, then
//!   [`Tunnel::poll_event`] until `None`, then re-arm the timer from [`Tunnel::poll_timeout`].
//! * Time must not go backwards between calls.
//!
//! # States
//! ```text
//!  initiator:  Idle --SCCRQ--> WaitCtlReply --SCCRP / SCCCN--> Established
//!  responder:  Idle <--SCCRQ-- ; --SCCRP--> WaitCtlConn <--SCCCN-- Established
//!  any --StopCCN (sent or received)--> Closing (linger, re-ack) --> Closed
//!  any --retry limit--> Closed
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use md5::{Digest, Md5};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::config::TunnelConfig;
use crate::control::{Channel, ChannelStats, Outgoing};
use crate::error::{Error, Result};
use crate::event::{
    CallDirection, CallInfo, Event, ProxyInfo, SessionDownReason, TunnelDownReason,
};
use crate::reorder::{ReorderBuffer, ReorderStats, Verdict};
use crate::wire::avp::{attr, unhide_all, Avp, AvpValue, ResultCode};
use crate::wire::header::Header;
use crate::wire::message::{error_code, result, ControlMessage, MessageType};

/// Which side opened the control connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sent the SCCRQ.
    Initiator,
    /// Answered the SCCRQ.
    Responder,
}

/// Control connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelState {
    /// Responder waiting for an SCCRQ.
    Idle,
    /// Initiator: SCCRQ sent.
    WaitCtlReply,
    /// Responder: SCCRP sent.
    WaitCtlConn,
    /// Up.
    Established,
    /// StopCCN sent or received; state kept to acknowledge retransmissions.
    Closing,
    /// Gone; the owner may drop the object.
    Closed,
}

/// Session state (RFC 2661 section 7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// We sent ICRQ/OCRQ and wait for ICRP/OCRP.
    WaitReply,
    /// We sent ICRP (or got OCRP) and wait for ICCN/OCCN.
    WaitConnect,
    /// The application must accept or reject the peer's request.
    WaitAccept,
    /// Data may flow.
    Established,
}

/// One session (call) of a tunnel.
#[derive(Debug, Clone)]
pub struct Session {
    /// Our session id.
    pub local_id: u16,
    /// Peer's session id (0 until known).
    pub peer_id: u16,
    /// State.
    pub state: SessionState,
    /// Call parameters.
    pub call: CallInfo,
    /// We are the LAC of this call.
    pub lac: bool,
    /// Send data messages with Ns/Nr.
    pub sequencing: bool,
    data_ns: u16,
    data_nr: u16,
    /// Reorder buffer for sequenced data ([`TunnelConfig::reorder`]); boxed so that idle
    /// sessions without one stay small.
    reorder: Option<Box<ReorderBuffer>>,
}

impl Session {
    /// Reorder buffer counters (when [`TunnelConfig::reorder`] is set).
    pub fn reorder_stats(&self) -> Option<ReorderStats> {
        self.reorder.as_ref().map(|r| r.stats())
    }
}

/// What a datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input<'a> {
    /// A control message (or ZLB); look at `poll_transmit` / `poll_event`.
    Control,
    /// A sequenced data message held by the session's reorder buffer (or queued behind frames
    /// it released); it comes out of [`Tunnel::poll_data`] in order.
    Queued {
        /// Our session id.
        session_id: u16,
    },
    /// A data message for our session `session_id`; `payload` is the PPP frame (with `ff 03`).
    Data {
        /// Our session id.
        session_id: u16,
        /// The PPP frame.
        payload: &'a [u8],
    },
}

/// Counters of drops and protocol errors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunnelStats {
    /// Datagrams that failed to parse.
    pub malformed: u64,
    /// Datagrams for another tunnel id.
    pub wrong_tunnel: u64,
    /// Data or session messages for an unknown session.
    pub unknown_session: u64,
    /// Sequenced data messages older than the last one received (dropped).
    pub stale_data: u64,
    /// Messages not valid in the current state (ignored).
    pub unexpected: u64,
}

/// An L2TPv2 tunnel endpoint with its sessions. See the module docs for the driving contract.
#[derive(Debug)]
pub struct Tunnel {
    cfg: TunnelConfig,
    role: Role,
    state: TunnelState,
    local_tid: u16,
    peer_tid: u16,
    chan: Channel<ControlMessage>,
    rng: ChaCha20Rng,
    tie_breaker: [u8; 8],
    our_challenge: Option<Vec<u8>>,
    peer_host_name: Vec<u8>,
    sessions: BTreeMap<u16, Session>,
    events: VecDeque<Event>,
    last_rx: Instant,
    linger_until: Option<Instant>,
    next_serial: u32,
    /// Sessions whose reorder buffers released frames.
    ready: VecDeque<u16>,
    /// The peer has not yet proven its address (responder before SCCCN) and our timer
    /// retransmissions are limited ([`Tunnel::set_unproven_retransmits`]).
    unproven: bool,
    stats: TunnelStats,
}

fn md5_response(msg_type: MessageType, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([msg_type as u8]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

fn rc(result: u16, error: Option<u16>, msg: &str) -> ResultCode {
    ResultCode {
        result,
        error,
        message: if error.is_some() {
            msg.as_bytes().to_vec()
        } else {
            Vec::new()
        },
    }
}

impl Tunnel {
    fn new(
        cfg: TunnelConfig,
        role: Role,
        now: Instant,
        rng: &mut (impl RngCore + CryptoRng),
        local_tid: Option<u16>,
    ) -> Result<Self> {
        cfg.validate()?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let local_tid = match local_tid {
            Some(0) => return Err(Error::State("tunnel id 0 is reserved")),
            Some(t) => t,
            None => loop {
                let t = (rng.next_u32() & 0xffff) as u16;
                if t != 0 {
                    break t;
                }
            },
        };
        let mut tie_breaker = [0u8; 8];
        rng.fill_bytes(&mut tie_breaker);
        let mut chan = Channel::new(cfg.control.clone());
        chan.set_peer_window(4);
        Ok(Tunnel {
            cfg,
            role,
            state: TunnelState::Idle,
            local_tid,
            peer_tid: 0,
            chan,
            rng,
            tie_breaker,
            our_challenge: None,
            peer_host_name: Vec::new(),
            sessions: BTreeMap::new(),
            events: VecDeque::new(),
            last_rx: now,
            linger_until: None,
            next_serial: 1,
            ready: VecDeque::new(),
            unproven: false,
            stats: TunnelStats::default(),
        })
    }

    /// Open a control connection (we send the SCCRQ). `rng` seeds the tunnel's own CSPRNG
    /// (tunnel and session ids, challenges, tie breaker, random vectors).
    pub fn connect(
        cfg: TunnelConfig,
        now: Instant,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let mut t = Tunnel::new(cfg, Role::Initiator, now, rng, None)?;
        let mut avps = t.sccrx_avps();
        // Sent with M=0: xl2tpd 1.3.18 has no Tie Breaker handler and answers a mandatory one with
        // StopCCN (found by the interop test); an optional one is ignored by such peers.
        avps.push(Avp::new(false, &AvpValue::TieBreaker(t.tie_breaker)));
        if t.cfg.secret.is_some() {
            let mut ch = vec![0u8; 16];
            t.rng.fill_bytes(&mut ch);
            avps.push(Avp::m(&AvpValue::Challenge(ch.clone())));
            t.our_challenge = Some(ch);
        }
        t.queue(ControlMessage::new(MessageType::Sccrq, 0, 0, avps));
        t.state = TunnelState::WaitCtlReply;
        Ok(t)
    }

    /// A responder waiting for the peer's SCCRQ, with our tunnel id `local_tid` (nonzero; a
    /// server picks one unique among its tunnels). Feed the SCCRQ to `handle_input`.
    pub fn accept(
        cfg: TunnelConfig,
        now: Instant,
        rng: &mut (impl RngCore + CryptoRng),
        local_tid: u16,
    ) -> Result<Self> {
        Tunnel::new(cfg, Role::Responder, now, rng, Some(local_tid))
    }

    /// Like [`Tunnel::accept`] with the tunnel's CSPRNG seeded directly (fuzzers, replays).
    pub fn accept_with_seed(
        cfg: TunnelConfig,
        now: Instant,
        seed: [u8; 32],
        local_tid: u16,
    ) -> Result<Self> {
        Tunnel::accept(cfg, now, &mut ChaCha20Rng::from_seed(seed), local_tid)
    }

    /// Like [`Tunnel::connect`] with the tunnel's CSPRNG seeded directly.
    pub fn connect_with_seed(cfg: TunnelConfig, now: Instant, seed: [u8; 32]) -> Result<Self> {
        Tunnel::connect(cfg, now, &mut ChaCha20Rng::from_seed(seed))
    }

    /// Anti-reflection for a responder: until the peer proves it receives what we send (its
    /// SCCCN arrives), retransmit by timer at most `n` times (`Some(n)`); past that the
    /// control channel stalls instead of failing, and a retransmitted SCCRQ from the peer is
    /// answered with one copy of our SCCRP. So a forged SCCRQ makes us send `1 + n` packets,
    /// not the `1 + max_retransmits` of RFC 2661 s5.8. The normal schedule resumes when the
    /// tunnel comes up. `None` (default) keeps RFC 2661 behaviour. The owner must bound the
    /// lifetime of a stalled tunnel (the [`crate::Lns`] does with `half_open_timeout`).
    pub fn set_unproven_retransmits(&mut self, now: Instant, n: Option<u32>) {
        self.unproven = n.is_some() && self.state != TunnelState::Established;
        self.chan
            .set_quiet_after(now, if self.unproven { n } else { None });
    }

    /// Our tunnel id.
    pub fn local_tunnel_id(&self) -> u16 {
        self.local_tid
    }

    /// Peer's tunnel id (0 until known).
    pub fn peer_tunnel_id(&self) -> u16 {
        self.peer_tid
    }

    /// State.
    pub fn state(&self) -> TunnelState {
        self.state
    }

    /// Role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Peer's Host Name.
    pub fn peer_host_name(&self) -> &[u8] {
        &self.peer_host_name
    }

    /// A session by our id.
    pub fn session(&self, id: u16) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// Number of sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Iterate sessions.
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    /// Control channel counters.
    pub fn channel_stats(&self) -> ChannelStats {
        self.chan.stats()
    }

    /// Drop counters.
    pub fn stats(&self) -> TunnelStats {
        self.stats
    }

    /// Current congestion window of the control channel.
    pub fn cwnd(&self) -> u16 {
        self.chan.cwnd()
    }

    fn sccrx_avps(&self) -> Vec<Avp> {
        let mut v = vec![
            Avp::m(&AvpValue::ProtocolVersion(1, 0)),
            Avp::m(&AvpValue::FramingCapabilities(
                self.cfg.framing_capabilities,
            )),
        ];
        if let Some(b) = self.cfg.bearer_capabilities {
            v.push(Avp::m(&AvpValue::BearerCapabilities(b)));
        }
        if let Some(f) = self.cfg.firmware_revision {
            v.push(Avp::new(false, &AvpValue::FirmwareRevision(f)));
        }
        v.push(Avp::m(&AvpValue::HostName(self.cfg.host_name.clone())));
        if !self.cfg.vendor_name.is_empty() {
            v.push(Avp::new(
                false,
                &AvpValue::VendorName(self.cfg.vendor_name.clone()),
            ));
        }
        v.push(Avp::m(&AvpValue::AssignedTunnelId(self.local_tid)));
        v.push(Avp::m(&AvpValue::ReceiveWindowSize(
            self.cfg.control.receive_window,
        )));
        v
    }

    /// Hide sensitive AVPs when configured, then queue.
    fn queue(&mut self, mut msg: ControlMessage) {
        if self.cfg.hide_avps {
            if let Some(secret) = self.cfg.secret.clone() {
                const HIDE: &[u16] = &[
                    attr::ASSIGNED_SESSION_ID,
                    attr::PROXY_AUTHEN_NAME,
                    attr::PROXY_AUTHEN_CHALLENGE,
                    attr::PROXY_AUTHEN_RESPONSE,
                    attr::CALLING_NUMBER,
                    attr::CALLED_NUMBER,
                ];
                if msg
                    .avps
                    .iter()
                    .any(|a| a.vendor_id == 0 && HIDE.contains(&a.attr_type))
                {
                    let mut rv = vec![0u8; 16];
                    self.rng.fill_bytes(&mut rv);
                    let mut ok = true;
                    for a in msg.avps.iter_mut() {
                        if a.vendor_id == 0 && HIDE.contains(&a.attr_type) {
                            ok &= a.hide(&secret, &rv, &[]).is_ok();
                        }
                    }
                    if ok {
                        msg.avps.insert(1, Avp::m(&AvpValue::RandomVector(rv)));
                    }
                }
            }
        }
        self.chan.send(msg);
    }

    fn tunnel_msg(&self, t: MessageType, avps: Vec<Avp>) -> ControlMessage {
        ControlMessage::new(t, self.peer_tid, 0, avps)
    }

    fn alloc_session_id(&mut self) -> Result<u16> {
        if self.sessions.len() >= self.cfg.max_sessions {
            return Err(Error::Full("session"));
        }
        for _ in 0..1000 {
            let s = (self.rng.next_u32() & 0xffff) as u16;
            if s != 0 && !self.sessions.contains_key(&s) {
                return Ok(s);
            }
        }
        (1..=u16::MAX)
            .find(|s| !self.sessions.contains_key(s))
            .ok_or(Error::Full("session"))
    }

    // ---- commands ----

    /// LAC: report an incoming call to the LNS (ICRQ). Returns our session id.
    pub fn incoming_call(&mut self, _now: Instant, call: CallInfo) -> Result<u16> {
        let (sid, call) = self.begin_call(CallDirection::Incoming, call)?;
        let mut avps = vec![
            Avp::m(&AvpValue::AssignedSessionId(sid)),
            Avp::m(&AvpValue::CallSerialNumber(call.serial)),
        ];
        if let Some(b) = call.bearer_type {
            avps.push(Avp::m(&AvpValue::BearerType(b)));
        }
        if let Some(p) = call.physical_channel_id {
            avps.push(Avp::new(false, &AvpValue::PhysicalChannelId(p)));
        }
        if let Some(n) = &call.calling_number {
            avps.push(Avp::m(&AvpValue::CallingNumber(n.clone())));
        }
        if let Some(n) = &call.called_number {
            avps.push(Avp::m(&AvpValue::CalledNumber(n.clone())));
        }
        if let Some(n) = &call.sub_address {
            avps.push(Avp::m(&AvpValue::SubAddress(n.clone())));
        }
        self.place_call(sid, MessageType::Icrq, avps, call, true);
        Ok(sid)
    }

    /// LNS: ask the LAC to place an outgoing call (OCRQ). Returns our session id.
    pub fn outgoing_call(&mut self, _now: Instant, call: CallInfo) -> Result<u16> {
        let (sid, call) = self.begin_call(CallDirection::Outgoing, call)?;
        let avps = vec![
            Avp::m(&AvpValue::AssignedSessionId(sid)),
            Avp::m(&AvpValue::CallSerialNumber(call.serial)),
            Avp::m(&AvpValue::MinimumBps(call.min_bps)),
            Avp::m(&AvpValue::MaximumBps(call.max_bps)),
            Avp::m(&AvpValue::BearerType(call.bearer_type.unwrap_or(3))),
            Avp::m(&AvpValue::FramingType(call.framing_type)),
            Avp::m(&AvpValue::CalledNumber(
                call.called_number.clone().unwrap_or_default(),
            )),
        ];
        self.place_call(sid, MessageType::Ocrq, avps, call, false);
        Ok(sid)
    }

    /// Common start of ICRQ/OCRQ: tunnel up, a session id, the direction and a serial number.
    fn begin_call(&mut self, dir: CallDirection, mut call: CallInfo) -> Result<(u16, CallInfo)> {
        if self.state != TunnelState::Established {
            return Err(Error::State("call placed before the tunnel is up"));
        }
        let sid = self.alloc_session_id()?;
        call.direction = dir;
        if call.serial == 0 {
            call.serial = self.next_serial;
            self.next_serial = self.next_serial.wrapping_add(1);
        }
        Ok((sid, call))
    }

    /// Common end of ICRQ/OCRQ: send the request, hold the session waiting for the reply.
    fn place_call(&mut self, sid: u16, ty: MessageType, avps: Vec<Avp>, call: CallInfo, lac: bool) {
        self.queue(self.tunnel_msg(ty, avps));
        self.sessions.insert(
            sid,
            Session {
                local_id: sid,
                peer_id: 0,
                state: SessionState::WaitReply,
                call,
                lac,
                sequencing: false,
                data_ns: 0,
                data_nr: 0,
                reorder: self
                    .cfg
                    .reorder
                    .map(|c| Box::new(ReorderBuffer::new(c, 16))),
            },
        );
    }

    /// Accept a call announced by [`Event::IncomingCall`].
    pub fn accept_call(&mut self, _now: Instant, sid: u16) -> Result<()> {
        let s = self.sessions.get(&sid).ok_or(Error::NoSession(sid))?;
        if s.state != SessionState::WaitAccept {
            return Err(Error::State(
                "accept_call on a session not waiting for accept",
            ));
        }
        let (peer, dir) = (s.peer_id, s.call.direction);
        self.send_accept(sid, peer, dir);
        Ok(())
    }

    fn send_accept(&mut self, sid: u16, peer: u16, dir: CallDirection) {
        match dir {
            CallDirection::Incoming => {
                let m = ControlMessage::new(
                    MessageType::Icrp,
                    self.peer_tid,
                    peer,
                    vec![Avp::m(&AvpValue::AssignedSessionId(sid))],
                );
                self.queue(m);
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.state = SessionState::WaitConnect;
                }
            }
            CallDirection::Outgoing => {
                // We are the LAC: reply and report the call connected right away (the physical
                // call is the application's business).
                let m = ControlMessage::new(
                    MessageType::Ocrp,
                    self.peer_tid,
                    peer,
                    vec![Avp::m(&AvpValue::AssignedSessionId(sid))],
                );
                self.queue(m);
                let (speed, framing, seq) = self
                    .sessions
                    .get(&sid)
                    .map(|s| {
                        (
                            s.call.tx_connect_speed,
                            s.call.framing_type,
                            self.cfg.require_sequencing,
                        )
                    })
                    .unwrap_or((0, 1, false));
                let mut avps = vec![
                    Avp::m(&AvpValue::TxConnectSpeed(speed)),
                    Avp::m(&AvpValue::FramingType(framing)),
                ];
                if seq {
                    avps.push(Avp::m(&AvpValue::SequencingRequired));
                }
                let m = ControlMessage::new(MessageType::Occn, self.peer_tid, peer, avps);
                self.queue(m);
                self.session_up(sid);
            }
        }
    }

    /// Reject a call announced by [`Event::IncomingCall`] with a CDN carrying `result`.
    pub fn reject_call(&mut self, now: Instant, sid: u16, result: ResultCode) -> Result<()> {
        self.disconnect_call(now, sid, result)
    }

    /// Tear down a session with a CDN.
    pub fn disconnect_call(&mut self, _now: Instant, sid: u16, result: ResultCode) -> Result<()> {
        let s = self.sessions.remove(&sid).ok_or(Error::NoSession(sid))?;
        let m = ControlMessage::new(
            MessageType::Cdn,
            self.peer_tid,
            s.peer_id,
            vec![
                Avp::m(&AvpValue::ResultCode(result.clone())),
                Avp::m(&AvpValue::AssignedSessionId(sid)),
            ],
        );
        self.queue(m);
        self.events.push_back(Event::SessionDown {
            session_id: sid,
            reason: SessionDownReason::LocalCdn(result),
        });
        Ok(())
    }

    /// LAC: send WAN-Error-Notify for a session.
    pub fn wan_error(&mut self, sid: u16, errors: [u32; 6]) -> Result<()> {
        let s = self.sessions.get(&sid).ok_or(Error::NoSession(sid))?;
        let m = ControlMessage::new(
            MessageType::Wen,
            self.peer_tid,
            s.peer_id,
            vec![Avp::m(&AvpValue::CallErrors(errors))],
        );
        self.queue(m);
        Ok(())
    }

    /// LNS: send Set-Link-Info (ACCM) for a session.
    pub fn set_link_info(&mut self, sid: u16, send_accm: u32, recv_accm: u32) -> Result<()> {
        let s = self.sessions.get(&sid).ok_or(Error::NoSession(sid))?;
        let m = ControlMessage::new(
            MessageType::Sli,
            self.peer_tid,
            s.peer_id,
            vec![Avp::m(&AvpValue::Accm(send_accm, recv_accm))],
        );
        self.queue(m);
        Ok(())
    }

    /// Close the tunnel with StopCCN (sessions go down implicitly, RFC 2661 section 5.7).
    pub fn close(&mut self, now: Instant, result: ResultCode) {
        if matches!(self.state, TunnelState::Closing | TunnelState::Closed) {
            return;
        }
        self.sessions_down();
        let m = self.tunnel_msg(
            MessageType::StopCcn,
            vec![
                Avp::m(&AvpValue::AssignedTunnelId(self.local_tid)),
                Avp::m(&AvpValue::ResultCode(result.clone())),
            ],
        );
        self.queue(m);
        self.state = TunnelState::Closing;
        self.linger_until = Some(now + self.chan.give_up_after());
        self.events.push_back(Event::TunnelDown {
            reason: TunnelDownReason::LocalStopCcn(result),
        });
    }

    fn fail(
        &mut self,
        now: Instant,
        result: u16,
        error: Option<u16>,
        msg: &str,
        reason: Option<TunnelDownReason>,
    ) {
        if matches!(self.state, TunnelState::Closing | TunnelState::Closed) {
            return;
        }
        self.close(now, rc(result, error, msg));
        if let (Some(reason), Some(Event::TunnelDown { reason: last })) =
            (reason, self.events.back_mut())
        {
            *last = reason;
        }
    }

    fn sessions_down(&mut self) {
        let ids: Vec<u16> = self.sessions.keys().copied().collect();
        for id in ids {
            self.events.push_back(Event::SessionDown {
                session_id: id,
                reason: SessionDownReason::TunnelDown,
            });
        }
        self.sessions.clear();
    }

    // ---- data ----

    /// Encapsulate a PPP frame (starting with `ff 03`) for session `sid` into `out`.
    /// Returns the datagram length. No allocation; `BufferTooSmall` leaves `out` untouched.
    pub fn encapsulate(&mut self, sid: u16, frame: &[u8], out: &mut [u8]) -> Result<usize> {
        let peer_tid = self.peer_tid;
        let s = self.sessions.get_mut(&sid).ok_or(Error::NoSession(sid))?;
        if s.state != SessionState::Established {
            return Err(Error::State("session not established"));
        }
        let mut h = Header::data(peer_tid, s.peer_id);
        h.has_length = true;
        if s.sequencing {
            h.sequence = Some((s.data_ns, 0));
        }
        let need = h.header_len() + frame.len();
        if out.len() < need {
            return Err(Error::BufferTooSmall {
                need,
                have: out.len(),
            });
        }
        let hl = h.emit(frame.len(), out)?;
        if let Some(dst) = out.get_mut(hl..hl + frame.len()) {
            dst.copy_from_slice(frame);
        }
        if s.sequencing {
            s.data_ns = s.data_ns.wrapping_add(1);
        }
        Ok(need)
    }

    // ---- input ----

    /// Handle one datagram from the peer.
    pub fn handle_input<'a>(&mut self, now: Instant, buf: &'a [u8]) -> Result<Input<'a>> {
        let (h, range) = match Header::parse(buf) {
            Ok(x) => x,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        if !h.is_control {
            return self.handle_data(now, h, buf.get(range).unwrap_or_default());
        }
        if self.state == TunnelState::Closed {
            return Ok(Input::Control);
        }
        let msg = match ControlMessage::parse(buf) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        let is_sccrq = msg.message_type() == Some(MessageType::Sccrq);
        if h.tunnel_id != self.local_tid {
            // An SCCRQ (tunnel id 0) is accepted in any state: a retransmission is then
            // re-acknowledged by the channel as a duplicate.
            let ok = h.tunnel_id == 0 && is_sccrq;
            if !ok {
                self.stats.wrong_tunnel += 1;
                return Err(Error::State("tunnel id mismatch"));
            }
            if self.state == TunnelState::WaitCtlReply {
                return self.tie_break(now, msg);
            }
        }
        self.last_rx = now;
        let (ns, nr) = h.sequence.unwrap_or((0, 0));
        let body = if msg.is_zlb() { None } else { Some(msg) };
        let delivered = self.chan.on_receive(now, ns, nr, body);
        if is_sccrq && self.unproven && self.state == TunnelState::WaitCtlConn {
            // The peer did not get our SCCRP and asks again: answer once per request
            // instead of by timer (see `set_unproven_retransmits`).
            self.chan.retransmit_now();
        }
        for m in delivered {
            self.process(now, m);
            if self.state == TunnelState::Closed {
                break;
            }
        }
        Ok(Input::Control)
    }

    fn tie_break(&mut self, now: Instant, msg: ControlMessage) -> Result<Input<'static>> {
        let theirs = match msg.get(attr::TIE_BREAKER) {
            Some(AvpValue::TieBreaker(t)) => t,
            // No tie breaker: the peer does not contest; treat as a second tunnel (ignored here).
            _ => {
                self.stats.unexpected += 1;
                return Ok(Input::Control);
            }
        };
        if theirs < self.tie_breaker {
            // Lower value wins: the peer's tunnel survives, ours is discarded; become responder.
            self.chan.reset();
            self.role = Role::Responder;
            self.state = TunnelState::Idle;
            self.our_challenge = None;
            self.events.push_back(Event::TunnelDown {
                reason: TunnelDownReason::TieBreakerLost,
            });
            self.last_rx = now;
            let (ns, nr) = msg.header.sequence.unwrap_or((0, 0));
            for m in self.chan.on_receive(now, ns, nr, Some(msg)) {
                self.process(now, m);
            }
        }
        // Otherwise we win: ignore their SCCRQ; they discard their tunnel.
        Ok(Input::Control)
    }

    fn handle_data<'a>(&mut self, now: Instant, h: Header, payload: &'a [u8]) -> Result<Input<'a>> {
        if h.tunnel_id != self.local_tid {
            self.stats.wrong_tunnel += 1;
            return Err(Error::State("tunnel id mismatch"));
        }
        let Some(s) = self.sessions.get_mut(&h.session_id) else {
            self.stats.unknown_session += 1;
            return Err(Error::NoSession(h.session_id));
        };
        if s.state != SessionState::Established {
            self.stats.unexpected += 1;
            return Err(Error::State("data before session is established"));
        }
        if let (Some((ns, _)), Some(rb)) = (h.sequence, s.reorder.as_mut()) {
            if s.lac {
                s.sequencing = true;
            }
            let sid = s.local_id;
            let v = rb.push(now, u32::from(ns), payload);
            if rb.ready_len() > 0 && !self.ready.contains(&sid) {
                self.ready.push_back(sid);
            }
            return match v {
                Verdict::Deliver => Ok(Input::Data {
                    session_id: sid,
                    payload,
                }),
                Verdict::Held => Ok(Input::Queued { session_id: sid }),
                Verdict::Duplicate | Verdict::TooOld => {
                    self.stats.stale_data += 1;
                    Err(Error::State("duplicate or late sequenced data"))
                }
            };
        }
        if let Some((ns, _)) = h.sequence {
            if crate::control::seq_lt(ns, s.data_nr) {
                self.stats.stale_data += 1;
                return Err(Error::State("stale sequenced data"));
            }
            s.data_nr = ns.wrapping_add(1);
            // RFC 2661 s5.4: the LNS controls sequencing; a LAC that sees sequenced data
            // sequences its own data from then on.
            if s.lac {
                s.sequencing = true;
            }
        }
        Ok(Input::Data {
            session_id: s.local_id,
            payload,
        })
    }

    fn process(&mut self, now: Instant, mut msg: ControlMessage) {
        if let Some(secret) = self.cfg.secret.clone() {
            if unhide_all(&mut msg.avps, &secret).is_err() {
                self.fail(
                    now,
                    result::STOPCCN_ERROR,
                    Some(error_code::BAD_VALUE),
                    "cannot unhide AVP",
                    None,
                );
                return;
            }
        }
        let raw_type = msg.message_type_raw();
        let Some(t) = msg.message_type() else {
            // Unknown message type: M bit on the Message Type AVP decides (RFC 2661 s4.2/s3.2).
            if msg.avps.first().map(|a| a.mandatory).unwrap_or(false) {
                self.fail(
                    now,
                    result::STOPCCN_ERROR,
                    Some(error_code::UNKNOWN_MANDATORY_AVP),
                    "unknown mandatory message type",
                    None,
                );
            } else {
                let _ = raw_type;
                self.stats.unexpected += 1;
            }
            return;
        };
        if let Some(bad) = msg.unknown_mandatory() {
            let text = format!("unknown mandatory AVP {}", bad.attr_type);
            if t.is_session_message() {
                if let Some(sid) = self
                    .sessions
                    .contains_key(&msg.header.session_id)
                    .then_some(msg.header.session_id)
                {
                    let _ = self.disconnect_call(
                        now,
                        sid,
                        rc(
                            result::CDN_ERROR,
                            Some(error_code::UNKNOWN_MANDATORY_AVP),
                            &text,
                        ),
                    );
                }
            } else if t == MessageType::Icrq || t == MessageType::Ocrq {
                let peer = msg.get_u16(attr::ASSIGNED_SESSION_ID).unwrap_or(0);
                self.send_cdn_unknown(
                    peer,
                    rc(
                        result::CDN_ERROR,
                        Some(error_code::UNKNOWN_MANDATORY_AVP),
                        &text,
                    ),
                );
            } else {
                self.fail(
                    now,
                    result::STOPCCN_ERROR,
                    Some(error_code::UNKNOWN_MANDATORY_AVP),
                    &text,
                    None,
                );
            }
            return;
        }
        if let Err(e) = msg.check_required_v2() {
            let text = e.to_string();
            if t.is_session_message() || matches!(t, MessageType::Icrq | MessageType::Ocrq) {
                let sid = msg.header.session_id;
                if self.sessions.contains_key(&sid) {
                    let _ = self.disconnect_call(
                        now,
                        sid,
                        rc(result::CDN_ERROR, Some(error_code::BAD_LENGTH), &text),
                    );
                } else {
                    self.stats.unexpected += 1;
                }
            } else {
                self.fail(
                    now,
                    result::STOPCCN_ERROR,
                    Some(error_code::BAD_LENGTH),
                    &text,
                    None,
                );
            }
            return;
        }
        match t {
            MessageType::Sccrq => self.on_sccrq(now, &msg),
            MessageType::Sccrp => self.on_sccrp(now, &msg),
            MessageType::Scccn => self.on_scccn(now, &msg),
            MessageType::StopCcn => self.on_stopccn(now, &msg),
            MessageType::Hello => {}
            MessageType::Icrq | MessageType::Ocrq => self.on_call_request(now, t, &msg),
            MessageType::Icrp | MessageType::Ocrp => self.on_call_reply(now, t, &msg),
            MessageType::Iccn | MessageType::Occn => self.on_call_connected(now, t, &msg),
            MessageType::Cdn => self.on_cdn(&msg),
            MessageType::Wen => {
                let sid = msg.header.session_id;
                if let (true, Some(AvpValue::CallErrors(e))) =
                    (self.sessions.contains_key(&sid), msg.get(attr::CALL_ERRORS))
                {
                    self.events.push_back(Event::WanError {
                        session_id: sid,
                        errors: e,
                    });
                } else {
                    self.stats.unknown_session += 1;
                }
            }
            MessageType::Sli => {
                let sid = msg.header.session_id;
                if let (true, Some(AvpValue::Accm(s, r))) =
                    (self.sessions.contains_key(&sid), msg.get(attr::ACCM))
                {
                    self.events.push_back(Event::SetLinkInfo {
                        session_id: sid,
                        send_accm: s,
                        recv_accm: r,
                    });
                } else {
                    self.stats.unknown_session += 1;
                }
            }
            MessageType::Ack => self.stats.unexpected += 1,
        }
    }

    fn send_cdn_unknown(&mut self, peer_sid: u16, r: ResultCode) {
        let m = ControlMessage::new(
            MessageType::Cdn,
            self.peer_tid,
            peer_sid,
            vec![
                Avp::m(&AvpValue::ResultCode(r)),
                Avp::m(&AvpValue::AssignedSessionId(0)),
            ],
        );
        self.queue(m);
    }

    fn peer_params(&mut self, msg: &ControlMessage) {
        if let Some(AvpValue::HostName(h)) = msg.get(attr::HOST_NAME) {
            self.peer_host_name = h;
        }
        if let Some(t) = msg.get_u16(attr::ASSIGNED_TUNNEL_ID) {
            self.peer_tid = t;
        }
        self.chan
            .set_peer_window(msg.get_u16(attr::RECEIVE_WINDOW_SIZE).unwrap_or(4));
    }

    fn on_sccrq(&mut self, now: Instant, msg: &ControlMessage) {
        if self.state != TunnelState::Idle {
            self.stats.unexpected += 1;
            return;
        }
        self.peer_params(msg);
        if self.peer_tid == 0 {
            self.fail(
                now,
                result::STOPCCN_ERROR,
                Some(error_code::BAD_VALUE),
                "Assigned Tunnel ID 0",
                None,
            );
            return;
        }
        if let Some(AvpValue::ProtocolVersion(v, _)) = msg.get(attr::PROTOCOL_VERSION) {
            if v != 1 {
                self.fail(now, result::STOPCCN_BAD_VERSION, None, "", None);
                return;
            }
        }
        let mut avps = self.sccrx_avps();
        if !self.answer_challenge(now, msg, MessageType::Sccrp, &mut avps) {
            return;
        }
        if self.cfg.secret.is_some() {
            let mut ch = vec![0u8; 16];
            self.rng.fill_bytes(&mut ch);
            avps.push(Avp::m(&AvpValue::Challenge(ch.clone())));
            self.our_challenge = Some(ch);
        }
        let m = self.tunnel_msg(MessageType::Sccrp, avps);
        self.queue(m);
        self.state = TunnelState::WaitCtlConn;
    }

    /// Answer the peer's Challenge (if any) in our `reply` with a Challenge Response AVP.
    /// `false`: challenged without a secret; the tunnel is failed (StopCCN, auth failed).
    fn answer_challenge(
        &mut self,
        now: Instant,
        msg: &ControlMessage,
        reply: MessageType,
        avps: &mut Vec<Avp>,
    ) -> bool {
        let Some(AvpValue::Challenge(ch)) = msg.get(attr::CHALLENGE) else {
            return true;
        };
        let Some(secret) = self.cfg.secret.clone() else {
            self.fail(
                now,
                result::STOPCCN_NOT_AUTHORIZED,
                None,
                "",
                Some(TunnelDownReason::AuthFailed),
            );
            return false;
        };
        avps.push(Avp::m(&AvpValue::ChallengeResponse(md5_response(
            reply, &secret, &ch,
        ))));
        true
    }

    fn check_response(&self, msg: &ControlMessage, t: MessageType) -> bool {
        let (Some(ch), Some(secret)) = (&self.our_challenge, &self.cfg.secret) else {
            return true;
        };
        match msg.get(attr::CHALLENGE_RESPONSE) {
            Some(AvpValue::ChallengeResponse(r)) => {
                let want = md5_response(t, secret, ch);
                subtle::ConstantTimeEq::ct_eq(&want[..], &r[..]).into()
            }
            _ => false,
        }
    }

    fn on_sccrp(&mut self, now: Instant, msg: &ControlMessage) {
        if self.state != TunnelState::WaitCtlReply {
            self.stats.unexpected += 1;
            return;
        }
        self.peer_params(msg);
        if !self.check_response(msg, MessageType::Sccrp) {
            self.fail(
                now,
                result::STOPCCN_NOT_AUTHORIZED,
                None,
                "",
                Some(TunnelDownReason::AuthFailed),
            );
            return;
        }
        let mut avps = Vec::new();
        if !self.answer_challenge(now, msg, MessageType::Scccn, &mut avps) {
            return;
        }
        let m = self.tunnel_msg(MessageType::Scccn, avps);
        self.queue(m);
        self.up(now);
    }

    fn on_scccn(&mut self, now: Instant, msg: &ControlMessage) {
        if self.state != TunnelState::WaitCtlConn {
            self.stats.unexpected += 1;
            return;
        }
        if !self.check_response(msg, MessageType::Scccn) {
            self.fail(
                now,
                result::STOPCCN_NOT_AUTHORIZED,
                None,
                "",
                Some(TunnelDownReason::AuthFailed),
            );
            return;
        }
        self.up(now);
    }

    fn up(&mut self, now: Instant) {
        if self.unproven {
            self.unproven = false;
            self.chan.set_quiet_after(now, None);
        }
        self.state = TunnelState::Established;
        self.events.push_back(Event::TunnelUp {
            peer_tunnel_id: self.peer_tid,
            peer_host_name: self.peer_host_name.clone(),
        });
    }

    fn on_stopccn(&mut self, now: Instant, msg: &ControlMessage) {
        // A StopCCN in answer to our SCCRQ is the first time we hear the peer's tunnel id;
        // learn it so that our ZLB acknowledgement reaches the peer's tunnel.
        if self.peer_tid == 0 {
            self.peer_tid = msg.get_u16(attr::ASSIGNED_TUNNEL_ID).unwrap_or(0);
        }
        self.sessions_down();
        if self.state != TunnelState::Closing {
            self.events.push_back(Event::TunnelDown {
                reason: TunnelDownReason::PeerStopCcn(msg.result_code().unwrap_or(rc(0, None, ""))),
            });
        }
        self.state = TunnelState::Closing;
        self.linger_until = Some(now + self.cfg.control.stop_linger);
    }

    fn call_info(msg: &ControlMessage, dir: CallDirection) -> CallInfo {
        let bytes = |t| match msg.find(t) {
            Some(a) if !a.hidden => Some(a.value.clone()),
            _ => None,
        };
        let u32v = |t| match msg.find(t) {
            Some(a) if !a.hidden => <[u8; 4]>::try_from(a.value.as_slice())
                .ok()
                .map(u32::from_be_bytes),
            _ => None,
        };
        CallInfo {
            direction: dir,
            serial: u32v(attr::CALL_SERIAL_NUMBER).unwrap_or(0),
            calling_number: bytes(attr::CALLING_NUMBER),
            called_number: bytes(attr::CALLED_NUMBER),
            sub_address: bytes(attr::SUB_ADDRESS),
            bearer_type: u32v(attr::BEARER_TYPE),
            framing_type: u32v(attr::FRAMING_TYPE).unwrap_or(1),
            tx_connect_speed: u32v(attr::TX_CONNECT_SPEED).unwrap_or(0),
            rx_connect_speed: u32v(attr::RX_CONNECT_SPEED),
            min_bps: u32v(attr::MINIMUM_BPS).unwrap_or(0),
            max_bps: u32v(attr::MAXIMUM_BPS).unwrap_or(0),
            physical_channel_id: u32v(attr::PHYSICAL_CHANNEL_ID),
            private_group_id: bytes(attr::PRIVATE_GROUP_ID),
            sequencing_required: msg.find(attr::SEQUENCING_REQUIRED).is_some(),
            proxy: ProxyInfo {
                initial_received_lcp_confreq: bytes(attr::INITIAL_RECEIVED_LCP_CONFREQ),
                last_sent_lcp_confreq: bytes(attr::LAST_SENT_LCP_CONFREQ),
                last_received_lcp_confreq: bytes(attr::LAST_RECEIVED_LCP_CONFREQ),
                authen_type: msg.get_u16(attr::PROXY_AUTHEN_TYPE),
                authen_name: bytes(attr::PROXY_AUTHEN_NAME),
                authen_challenge: bytes(attr::PROXY_AUTHEN_CHALLENGE),
                authen_id: msg.get_u16(attr::PROXY_AUTHEN_ID),
                authen_response: bytes(attr::PROXY_AUTHEN_RESPONSE),
            },
        }
    }

    fn on_call_request(&mut self, _now: Instant, t: MessageType, msg: &ControlMessage) {
        let peer = msg.get_u16(attr::ASSIGNED_SESSION_ID).unwrap_or(0);
        if self.state != TunnelState::Established || peer == 0 {
            self.stats.unexpected += 1;
            if peer != 0 {
                self.send_cdn_unknown(
                    peer,
                    rc(
                        result::CDN_ERROR,
                        Some(error_code::NO_CONTROL_CONNECTION),
                        "tunnel not established",
                    ),
                );
            }
            return;
        }
        let dir = if t == MessageType::Icrq {
            CallDirection::Incoming
        } else {
            CallDirection::Outgoing
        };
        let sid = match self.alloc_session_id() {
            Ok(s) => s,
            Err(_) => {
                self.send_cdn_unknown(peer, rc(result::CDN_NO_FACILITIES_TEMP, None, ""));
                return;
            }
        };
        let call = Self::call_info(msg, dir);
        self.sessions.insert(
            sid,
            Session {
                local_id: sid,
                peer_id: peer,
                state: SessionState::WaitAccept,
                call: call.clone(),
                lac: dir == CallDirection::Outgoing,
                sequencing: false,
                data_ns: 0,
                data_nr: 0,
                reorder: self
                    .cfg
                    .reorder
                    .map(|c| Box::new(ReorderBuffer::new(c, 16))),
            },
        );
        if self.cfg.auto_accept_calls {
            self.send_accept(sid, peer, dir);
        } else {
            self.events.push_back(Event::IncomingCall {
                session_id: sid,
                call,
            });
        }
    }

    fn on_call_reply(&mut self, now: Instant, t: MessageType, msg: &ControlMessage) {
        let sid = msg.header.session_id;
        let want_lac = t == MessageType::Icrp;
        let Some(s) = self.sessions.get_mut(&sid) else {
            self.stats.unknown_session += 1;
            return;
        };
        if s.state != SessionState::WaitReply || s.lac != want_lac {
            self.stats.unexpected += 1;
            return;
        }
        s.peer_id = msg.get_u16(attr::ASSIGNED_SESSION_ID).unwrap_or(0);
        if s.peer_id == 0 {
            let _ = self.disconnect_call(
                now,
                sid,
                rc(
                    result::CDN_ERROR,
                    Some(error_code::BAD_VALUE),
                    "Assigned Session ID 0",
                ),
            );
            return;
        }
        if t == MessageType::Ocrp {
            s.state = SessionState::WaitConnect;
            return;
        }
        // ICRP: send ICCN with connect speed, framing, proxy AVPs.
        let call = s.call.clone();
        let peer = s.peer_id;
        let mut avps = vec![
            Avp::m(&AvpValue::TxConnectSpeed(call.tx_connect_speed)),
            Avp::m(&AvpValue::FramingType(call.framing_type)),
        ];
        let p = &call.proxy;
        let push_bytes = |avps: &mut Vec<Avp>, v: &Option<Vec<u8>>, f: fn(Vec<u8>) -> AvpValue| {
            if let Some(b) = v {
                avps.push(Avp::m(&f(b.clone())));
            }
        };
        push_bytes(
            &mut avps,
            &p.initial_received_lcp_confreq,
            AvpValue::InitialReceivedLcpConfReq,
        );
        push_bytes(
            &mut avps,
            &p.last_sent_lcp_confreq,
            AvpValue::LastSentLcpConfReq,
        );
        push_bytes(
            &mut avps,
            &p.last_received_lcp_confreq,
            AvpValue::LastReceivedLcpConfReq,
        );
        if let Some(x) = p.authen_type {
            avps.push(Avp::m(&AvpValue::ProxyAuthenType(x)));
        }
        push_bytes(&mut avps, &p.authen_name, AvpValue::ProxyAuthenName);
        push_bytes(
            &mut avps,
            &p.authen_challenge,
            AvpValue::ProxyAuthenChallenge,
        );
        if let Some(x) = p.authen_id {
            avps.push(Avp::m(&AvpValue::ProxyAuthenId(x)));
        }
        push_bytes(&mut avps, &p.authen_response, AvpValue::ProxyAuthenResponse);
        if let Some(r) = call.rx_connect_speed {
            avps.push(Avp::new(false, &AvpValue::RxConnectSpeed(r)));
        }
        if self.cfg.require_sequencing {
            avps.push(Avp::m(&AvpValue::SequencingRequired));
        }
        let m = ControlMessage::new(MessageType::Iccn, self.peer_tid, peer, avps);
        self.queue(m);
        if msg.find(attr::SEQUENCING_REQUIRED).is_some() {
            if let Some(s) = self.sessions.get_mut(&sid) {
                s.sequencing = true;
            }
        }
        self.session_up(sid);
    }

    fn on_call_connected(&mut self, _now: Instant, t: MessageType, msg: &ControlMessage) {
        let sid = msg.header.session_id;
        let Some(s) = self.sessions.get_mut(&sid) else {
            self.stats.unknown_session += 1;
            return;
        };
        let dir_ok = match t {
            MessageType::Iccn => s.call.direction == CallDirection::Incoming && !s.lac,
            _ => s.call.direction == CallDirection::Outgoing && !s.lac,
        };
        if s.state != SessionState::WaitConnect || !dir_ok {
            self.stats.unexpected += 1;
            return;
        }
        let info = Self::call_info(msg, s.call.direction);
        s.call.tx_connect_speed = info.tx_connect_speed;
        s.call.framing_type = info.framing_type;
        s.call.rx_connect_speed = info.rx_connect_speed;
        s.call.sequencing_required = info.sequencing_required;
        s.call.proxy = info.proxy;
        s.sequencing = info.sequencing_required || self.cfg.require_sequencing;
        self.session_up(sid);
    }

    fn session_up(&mut self, sid: u16) {
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.state = SessionState::Established;
            self.events.push_back(Event::SessionUp {
                session_id: sid,
                peer_session_id: s.peer_id,
                call: s.call.clone(),
            });
        }
    }

    fn on_cdn(&mut self, msg: &ControlMessage) {
        let sid = msg.header.session_id;
        // A CDN may arrive with session id 0 when the peer never learned ours; match by the
        // peer's Assigned Session ID then.
        let key = if self.sessions.contains_key(&sid) {
            Some(sid)
        } else {
            let peer = msg.get_u16(attr::ASSIGNED_SESSION_ID).unwrap_or(0);
            self.sessions
                .values()
                .find(|s| s.peer_id == peer && peer != 0)
                .map(|s| s.local_id)
        };
        let Some(k) = key else {
            self.stats.unknown_session += 1;
            return;
        };
        self.sessions.remove(&k);
        self.events.push_back(Event::SessionDown {
            session_id: k,
            reason: SessionDownReason::PeerCdn(msg.result_code().unwrap_or(rc(0, None, ""))),
        });
    }

    // ---- outputs ----

    /// Next control datagram to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.state == TunnelState::Closed {
            return None;
        }
        let out = self.chan.poll_transmit(now)?;
        let msg = match out {
            Outgoing::Message {
                ns, nr, mut msg, ..
            } => {
                msg.header.sequence = Some((ns, nr));
                // The peer's tunnel id may have been learned after the message was queued.
                if msg.header.tunnel_id == 0 && msg.message_type() != Some(MessageType::Sccrq) {
                    msg.header.tunnel_id = self.peer_tid;
                }
                msg
            }
            Outgoing::Zlb { ns, nr } => ControlMessage::zlb(self.peer_tid, ns, nr),
        };
        msg.to_vec().ok()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.poll_event_untraced();
        trace_event!("l2tp::tunnel", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == TunnelState::Closed {
            return None;
        }
        let mut t = self.chan.poll_timeout();
        let mut min = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |y| y.min(x)));
            }
        };
        min(self.linger_until);
        if self.state == TunnelState::Established && self.chan.is_idle() {
            min(self.cfg.control.hello_interval.map(|h| self.last_rx + h));
        }
        if self.cfg.reorder.is_some() {
            for s in self.sessions.values() {
                min(s.reorder.as_ref().and_then(|r| r.poll_timeout()));
            }
        }
        t
    }

    /// True when [`Self::poll_data`] has frames.
    pub fn has_data(&self) -> bool {
        self.ready.iter().any(|sid| {
            self.sessions
                .get(sid)
                .and_then(|s| s.reorder.as_ref())
                .is_some_and(|r| r.ready_len() > 0)
        })
    }

    /// Next frame released by a session's reorder buffer: `(our session id, PPP frame)`, in
    /// sequence order per session. Poll after every `handle_input` / `handle_timeout`.
    pub fn poll_data(&mut self) -> Option<(u16, Vec<u8>)> {
        while let Some(&sid) = self.ready.front() {
            if let Some(f) = self
                .sessions
                .get_mut(&sid)
                .and_then(|s| s.reorder.as_mut())
                .and_then(|r| r.pop())
            {
                return Some((sid, f));
            }
            self.ready.pop_front();
        }
        None
    }

    /// Timer expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == TunnelState::Closed {
            return;
        }
        self.chan.handle_timeout(now);
        if self.chan.failed() {
            if self.state != TunnelState::Closing {
                self.sessions_down();
                self.events.push_back(Event::TunnelDown {
                    reason: TunnelDownReason::Timeout,
                });
            }
            self.state = TunnelState::Closed;
            return;
        }
        if let Some(l) = self.linger_until {
            if now >= l {
                self.state = TunnelState::Closed;
                return;
            }
        }
        if self.cfg.reorder.is_some() {
            for (sid, s) in self.sessions.iter_mut() {
                if let Some(r) = s.reorder.as_mut() {
                    if r.poll_timeout().is_some_and(|d| d <= now) {
                        r.handle_timeout(now);
                        if r.ready_len() > 0 && !self.ready.contains(sid) {
                            self.ready.push_back(*sid);
                        }
                    }
                }
            }
        }
        if self.state == TunnelState::Established && self.chan.is_idle() {
            if let Some(h) = self.cfg.control.hello_interval {
                if now >= self.last_rx + h {
                    self.last_rx = now;
                    let m = self.tunnel_msg(MessageType::Hello, Vec::new());
                    self.queue(m);
                }
            }
        }
    }
}
