//! One PPTP control connection (RFC 2637 s3.1) and its calls (s3.2), in either role.
//!
//! ```text
//!   PNS (originator, RouterOS pptp-client)          PAC (receiver, RouterOS pptp-server)
//!   Idle ──SCCRQ──────────────────────────────────► Idle
//!   WaitCtlReply ◄─────────────────────SCCRP(ok)─── Established
//!   Established ──OCRQ(call id a, window)─────────► CallRequested event → accept_call(b)
//!   call a: WaitReply ◄───────OCRP(id b, peer a)─── call b: Established
//!   call a: Established     ... GRE both ways ...
//!   ──Call-Clear-Request(a)───────────────────────► call b down (CallDown ClearRequested)
//!   call a down ◄──────────CDN(b, result 4)──────── (PAC sends CDN)
//!   ──StopCCRQ────────────────────────────────────►
//!   Closed ◄──────────────────────StopCCRP(ok)───── Closed
//!   idle 60 s ──Echo-Request(id)──► ◄──Echo-Reply(id)── (either side, RFC 2637 s3.1.4)
//! ```
//!
//! # Contract
//! * **Inputs**: [`Control::handle_stream`] with every byte read from the TCP connection
//!   (any split), [`Control::handle_timeout`], and the commands [`Control::open_call`] (PNS),
//!   [`Control::accept_call`] / [`Control::reject_call`] (PAC, after
//!   [`ControlEvent::CallRequested`]), [`Control::clear_call`], [`Control::close`].
//! * **Outputs**: after every input drain [`Control::poll_transmit`] (bytes for the TCP
//!   connection) and [`Control::poll_event`]; then arm a timer for [`Control::poll_timeout`].
//!   After [`ControlEvent::Closed`] close the TCP connection; the machine is inert.
//! * Time (`now`) must not go backwards.
//!
//! Call IDs are the owner's: the PNS passes its call ID to `open_call`, the PAC to
//! `accept_call` (a server allocates them unique across its connections, so GRE demultiplexes
//! by call ID alone, RFC 2637 s4.1).
//!
//! Incoming calls (RFC 2637 s3.2.2) run the other way: the PAC sends Incoming-Call-Request
//! ([`Control::open_incoming_call`]), the PNS answers after
//! [`ControlEvent::IncomingCallRequested`] with [`Control::accept_incoming_call`] (ICRP
//! "connect") or [`Control::reject_incoming_call`], and the PAC confirms with
//! Incoming-Call-Connected; both ends then report [`ControlEvent::CallUp`].
//!
//! Not implemented: the simultaneous-SCCRQ collision rule (s3.1.3: a PNS receiving an SCCRQ
//! while waiting for its reply answers "channel exists" here).

use std::collections::VecDeque;
use std::time::Instant;

use crate::config::ControlConfig;
use crate::event::{CallEndReason, CloseReason, ControlEvent, DropReason};
use crate::wire::codes::{self, PROTOCOL_VERSION};
use crate::wire::control::{
    CallDisconnectNotify, FixedStr, IncomingCallConnected, IncomingCallReply, IncomingCallRequest,
    OutgoingCallReply, OutgoingCallRequest, StartControl,
};
use crate::wire::{Deframer, Message, WireError};

/// Which end of the control connection this is (RFC 2637 s1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// PPTP Network Server: sends SCCRQ and Outgoing-Call-Request (the VPN client,
    /// RouterOS `pptp-client`).
    Pns,
    /// PPTP Access Concentrator: answers them (the VPN server, RouterOS `pptp-server`).
    Pac,
}

/// State of the control connection (RFC 2637 s3.1.1, s3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlState {
    /// PAC: waiting for SCCRQ.
    Idle,
    /// PNS: SCCRQ sent, waiting for SCCRP.
    WaitCtlReply,
    /// Up.
    Established,
    /// StopCCRQ sent, waiting for StopCCRP.
    WaitStopReply,
    /// Closed.
    Closed,
}

/// State of a call (RFC 2637 s3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// PNS: Outgoing-Call-Request sent, waiting for the reply.
    WaitReply,
    /// Up: GRE flows.
    Established,
    /// PNS: Call-Clear-Request sent, waiting for Call-Disconnect-Notify.
    WaitDisconnect,
    /// PNS: Incoming-Call-Reply sent, waiting for Incoming-Call-Connected.
    WaitConnect,
}

/// One call of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Our call ID.
    pub call_id: u16,
    /// The peer's call ID (once known).
    pub peer_call_id: Option<u16>,
    /// The peer's Packet Receive Window Size.
    pub peer_window: u16,
    /// Call Serial Number.
    pub serial: u16,
    /// State.
    pub state: CallState,
    /// Last Set-Link-Info (send ACCM, receive ACCM).
    pub link_info: Option<(u32, u32)>,
}

/// Counters of a control connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ControlStats {
    /// Messages received.
    pub rx_messages: u64,
    /// Messages sent.
    pub tx_messages: u64,
    /// Messages dropped (unknown type, unexpected).
    pub dropped: u64,
    /// Echo-Requests sent.
    pub echo_requests_sent: u64,
    /// Echo-Replies received.
    pub echo_replies_received: u64,
}

/// Calls per control connection at most (bounds state against a flood of OCRQs).
pub const MAX_CALLS_PER_CONNECTION: usize = 256;

/// A control connection (see the module docs for the contract).
#[derive(Debug)]
pub struct Control {
    role: Role,
    config: ControlConfig,
    state: ControlState,
    deframer: Deframer,
    out: Vec<u8>,
    events: VecDeque<ControlEvent>,
    calls: Vec<Call>,
    /// When the last control message arrived (the echo timer runs from here).
    last_rx: Instant,
    /// Outstanding Echo-Request: identifier and when it was sent.
    echo_pending: Option<(u32, Instant)>,
    echo_id: u32,
    started: Instant,
    stop_sent: Option<Instant>,
    serial: u16,
    stats: ControlStats,
}

impl Control {
    /// A PNS whose TCP connection just connected: sends SCCRQ at once.
    pub fn new_pns(config: ControlConfig, now: Instant) -> Self {
        let mut c = Self::new(Role::Pns, config, now);
        let m = Message::StartControlConnectionRequest(c.start_control(0, 0));
        c.send(&m);
        c.state = ControlState::WaitCtlReply;
        c
    }

    /// A PAC whose TCP connection was just accepted: waits for SCCRQ.
    pub fn new_pac(config: ControlConfig, now: Instant) -> Self {
        Self::new(Role::Pac, config, now)
    }

    fn new(role: Role, config: ControlConfig, now: Instant) -> Self {
        Control {
            role,
            config,
            state: ControlState::Idle,
            deframer: Deframer::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            calls: Vec::new(),
            last_rx: now,
            echo_pending: None,
            echo_id: 0,
            started: now,
            stop_sent: None,
            serial: 0,
            stats: ControlStats::default(),
        }
    }

    fn start_control(&self, result_code: u8, error_code: u8) -> StartControl {
        StartControl {
            protocol_version: PROTOCOL_VERSION,
            result_code,
            error_code,
            framing_capabilities: codes::framing::ASYNC | codes::framing::SYNC,
            bearer_capabilities: codes::bearer::ANALOG | codes::bearer::DIGITAL,
            maximum_channels: match self.role {
                Role::Pns => 0,
                Role::Pac => 65535,
            },
            firmware_revision: self.config.firmware_revision,
            host_name: FixedStr::new(&self.config.host_name),
            vendor: FixedStr::new(&self.config.vendor),
        }
    }

    // ----- getters -----

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The state.
    pub fn state(&self) -> ControlState {
        self.state
    }

    /// True once established (and not closing).
    pub fn is_established(&self) -> bool {
        self.state == ControlState::Established
    }

    /// The calls.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// One call by our ID.
    pub fn call(&self, call_id: u16) -> Option<&Call> {
        self.calls.iter().find(|c| c.call_id == call_id)
    }

    /// Counters.
    pub fn stats(&self) -> ControlStats {
        self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &ControlConfig {
        &self.config
    }

    // ----- outputs -----

    /// Bytes for the TCP connection (all pending messages), if any.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.out))
        }
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ControlEvent> {
        let e = self.poll_event_untraced();
        trace_event!("pptp::control", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ControlEvent> {
        self.events.pop_front()
    }

    /// Earliest deadline: establishment, echo, echo reply, or stop reply.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            ControlState::Closed => None,
            ControlState::Idle | ControlState::WaitCtlReply => {
                Some(self.started + self.config.establish_timeout)
            }
            ControlState::WaitStopReply => self.stop_sent.map(|t| t + self.config.stop_timeout),
            ControlState::Established => match self.echo_pending {
                Some((_, sent)) => Some(sent + self.config.echo_timeout),
                None if self.config.echo_interval.is_zero() => None,
                None => Some(self.last_rx + self.config.echo_interval),
            },
        }
    }

    // ----- inputs -----

    /// Bytes read from the TCP connection. Returns how many were consumed (all of them).
    pub fn handle_stream(&mut self, now: Instant, bytes: &[u8]) -> usize {
        if self.state == ControlState::Closed {
            return bytes.len();
        }
        self.deframer.push(bytes);
        loop {
            match self.deframer.next_message() {
                Ok(Some(m)) => {
                    self.stats.rx_messages += 1;
                    self.last_rx = now;
                    self.handle_message(now, m);
                    if self.state == ControlState::Closed {
                        break;
                    }
                }
                Ok(None) => break,
                Err(WireError::UnknownType(t)) => self.drop(DropReason::UnknownMessageType(t)),
                Err(e) => {
                    self.closed(CloseReason::BadFraming(e));
                    break;
                }
            }
        }
        bytes.len()
    }

    /// The TCP connection closed or reset under us.
    pub fn handle_transport_closed(&mut self, _now: Instant) {
        if self.state != ControlState::Closed {
            self.closed(CloseReason::TransportClosed);
        }
    }

    /// Drop the control connection now, without a message (the server displacing a half-open
    /// connection): every call ends and [`ControlEvent::Closed`] reports `reason`.
    pub fn close_now(&mut self, reason: CloseReason) {
        if self.state != ControlState::Closed {
            self.closed(reason);
        }
    }

    /// Timers (RFC 2637 s3.1.4 keep-alive; [MS-PTPT] s3.1.2 idle timer).
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(d) = self.poll_timeout() else {
            return;
        };
        if d > now {
            return;
        }
        match self.state {
            ControlState::Idle | ControlState::WaitCtlReply => {
                self.closed(CloseReason::EstablishTimeout)
            }
            ControlState::WaitStopReply => self.closed(CloseReason::LocalStop),
            ControlState::Established => {
                if self.echo_pending.is_some() {
                    self.closed(CloseReason::EchoTimeout);
                } else {
                    self.echo_id = self.echo_id.wrapping_add(1);
                    let id = self.echo_id;
                    self.echo_pending = Some((id, now));
                    self.stats.echo_requests_sent += 1;
                    self.send(&Message::EchoRequest { identifier: id });
                }
            }
            ControlState::Closed => {}
        }
    }

    /// PNS: place an outgoing call with our `call_id` (RFC 2637 s2.7).
    pub fn open_call(&mut self, _now: Instant, call_id: u16) -> Result<(), crate::Error> {
        if self.state != ControlState::Established || self.role != Role::Pns {
            return Err(crate::Error::NotEstablished);
        }
        self.serial = self.serial.wrapping_add(1);
        let serial = self.serial;
        self.calls.push(Call {
            call_id,
            peer_call_id: None,
            peer_window: 0,
            serial,
            state: CallState::WaitReply,
            link_info: None,
        });
        self.send(&Message::OutgoingCallRequest(OutgoingCallRequest {
            call_id,
            call_serial: serial,
            minimum_bps: 300,
            maximum_bps: 100_000_000,
            bearer_type: codes::bearer::ANALOG | codes::bearer::DIGITAL,
            framing_type: codes::framing::ASYNC | codes::framing::SYNC,
            recv_window: self.config.recv_window,
            processing_delay: self.config.processing_delay,
            ..Default::default()
        }));
        Ok(())
    }

    /// PAC: accept a requested call with our `call_id` (sends OCRP "connected").
    pub fn accept_call(
        &mut self,
        _now: Instant,
        peer_call_id: u16,
        peer_window: u16,
        serial: u16,
        call_id: u16,
    ) -> Result<(), crate::Error> {
        if self.state != ControlState::Established {
            return Err(crate::Error::NotEstablished);
        }
        self.calls.push(Call {
            call_id,
            peer_call_id: Some(peer_call_id),
            peer_window,
            serial,
            state: CallState::Established,
            link_info: None,
        });
        self.send(&Message::OutgoingCallReply(OutgoingCallReply {
            call_id,
            peer_call_id,
            result_code: codes::ocrp::CONNECTED,
            error_code: 0,
            cause_code: 0,
            connect_speed: 100_000_000,
            recv_window: self.config.recv_window,
            processing_delay: self.config.processing_delay,
            physical_channel_id: 0,
        }));
        self.events.push_back(ControlEvent::CallUp {
            call_id,
            peer_call_id,
            peer_window,
        });
        Ok(())
    }

    /// PAC: refuse a requested call (OCRP with `result_code`, e.g.
    /// [`codes::ocrp::GENERAL_ERROR`] + [`codes::error::NO_RESOURCE`]).
    pub fn reject_call(&mut self, peer_call_id: u16, result_code: u8, error_code: u8) {
        self.send(&Message::OutgoingCallReply(OutgoingCallReply {
            call_id: 0,
            peer_call_id,
            result_code,
            error_code,
            recv_window: self.config.recv_window,
            ..Default::default()
        }));
    }

    /// PAC: offer an incoming call with our `call_id` (Incoming-Call-Request, RFC 2637 s2.9).
    pub fn open_incoming_call(&mut self, _now: Instant, call_id: u16) -> Result<(), crate::Error> {
        if self.state != ControlState::Established || self.role != Role::Pac {
            return Err(crate::Error::NotEstablished);
        }
        self.serial = self.serial.wrapping_add(1);
        let serial = self.serial;
        self.calls.push(Call {
            call_id,
            peer_call_id: None,
            peer_window: 0,
            serial,
            state: CallState::WaitReply,
            link_info: None,
        });
        self.send(&Message::IncomingCallRequest(IncomingCallRequest {
            call_id,
            call_serial: serial,
            bearer_type: codes::bearer::DIGITAL,
            ..Default::default()
        }));
        Ok(())
    }

    /// PNS: answer an Incoming-Call-Request with our `call_id` (ICRP "connect", s2.10); the
    /// call is up when the PAC's Incoming-Call-Connected arrives.
    pub fn accept_incoming_call(
        &mut self,
        _now: Instant,
        peer_call_id: u16,
        call_id: u16,
    ) -> Result<(), crate::Error> {
        if self.state != ControlState::Established || self.role != Role::Pns {
            return Err(crate::Error::NotEstablished);
        }
        self.calls.push(Call {
            call_id,
            peer_call_id: Some(peer_call_id),
            peer_window: 0,
            serial: 0,
            state: CallState::WaitConnect,
            link_info: None,
        });
        self.send(&Message::IncomingCallReply(IncomingCallReply {
            call_id,
            peer_call_id,
            result_code: codes::icrp::CONNECT,
            error_code: 0,
            recv_window: self.config.recv_window,
            transmit_delay: self.config.processing_delay,
        }));
        Ok(())
    }

    /// PNS: refuse an Incoming-Call-Request (ICRP "do not accept").
    pub fn reject_incoming_call(&mut self, peer_call_id: u16) {
        self.send(&Message::IncomingCallReply(IncomingCallReply {
            call_id: 0,
            peer_call_id,
            result_code: codes::icrp::DO_NOT_ACCEPT,
            error_code: 0,
            recv_window: self.config.recv_window,
            transmit_delay: 0,
        }));
    }

    /// End a call: a PNS sends Call-Clear-Request and waits for the CDN; a PAC sends
    /// Call-Disconnect-Notify (admin shutdown) and forgets the call at once.
    pub fn clear_call(&mut self, _now: Instant, call_id: u16) -> Result<(), crate::Error> {
        let i = self
            .calls
            .iter()
            .position(|c| c.call_id == call_id)
            .ok_or(crate::Error::UnknownCall(call_id))?;
        match self.role {
            Role::Pns => {
                if self.calls[i].state == CallState::WaitDisconnect {
                    return Ok(());
                }
                self.calls[i].state = CallState::WaitDisconnect;
                self.send(&Message::CallClearRequest { call_id });
            }
            Role::Pac => {
                self.calls.remove(i);
                self.send_cdn(call_id, codes::cdn::ADMIN_SHUTDOWN);
                self.events.push_back(ControlEvent::CallDown {
                    call_id,
                    reason: CallEndReason::Local,
                });
            }
        }
        Ok(())
    }

    /// Close the control connection: Stop-Control-Connection-Request (reason "general
    /// request"), which clears every call (RFC 2637 s2.3). [`ControlEvent::Closed`] follows
    /// the reply, or `stop_timeout`.
    pub fn close(&mut self, now: Instant) {
        match self.state {
            ControlState::Established => {
                self.send(&Message::StopControlConnectionRequest {
                    reason: codes::stop_reason::NONE,
                });
                self.stop_sent = Some(now);
                self.state = ControlState::WaitStopReply;
                self.end_all_calls();
            }
            ControlState::Idle | ControlState::WaitCtlReply => self.closed(CloseReason::LocalStop),
            ControlState::WaitStopReply | ControlState::Closed => {}
        }
    }

    // ----- internals -----

    fn send(&mut self, m: &Message) {
        self.stats.tx_messages += 1;
        m.emit(&mut self.out);
    }

    fn drop(&mut self, r: DropReason) {
        self.stats.dropped += 1;
        self.events.push_back(ControlEvent::Dropped(r));
    }

    fn end_all_calls(&mut self) {
        for c in std::mem::take(&mut self.calls) {
            self.events.push_back(ControlEvent::CallDown {
                call_id: c.call_id,
                reason: CallEndReason::ControlClosed,
            });
        }
    }

    fn closed(&mut self, reason: CloseReason) {
        self.end_all_calls();
        self.state = ControlState::Closed;
        self.events.push_back(ControlEvent::Closed(reason));
    }

    fn send_cdn(&mut self, call_id: u16, result_code: u8) {
        self.send(&Message::CallDisconnectNotify(CallDisconnectNotify {
            call_id,
            result_code,
            error_code: 0,
            cause_code: 0,
            call_statistics: FixedStr::default(),
        }));
    }

    fn handle_message(&mut self, now: Instant, m: Message) {
        let t = m.message_type();
        match (self.state, m) {
            // --- both states: echo and stop ---
            (
                ControlState::Established | ControlState::WaitStopReply,
                Message::EchoRequest { identifier },
            ) => {
                self.send(&Message::EchoReply {
                    identifier,
                    result_code: codes::echo::OK,
                    error_code: 0,
                });
            }
            (_, Message::EchoReply { identifier, .. }) => {
                if self.echo_pending.is_some_and(|(id, _)| id == identifier) {
                    self.echo_pending = None;
                    self.stats.echo_replies_received += 1;
                } else {
                    self.drop(DropReason::Unexpected(t));
                }
            }
            (_, Message::StopControlConnectionRequest { reason }) => {
                self.send(&Message::StopControlConnectionReply {
                    result_code: codes::stopccrp::OK,
                    error_code: 0,
                });
                self.closed(CloseReason::PeerStopped { reason });
            }
            (ControlState::WaitStopReply, Message::StopControlConnectionReply { .. }) => {
                self.closed(CloseReason::LocalStop);
            }
            // --- establishment ---
            (ControlState::Idle, Message::StartControlConnectionRequest(s))
                if self.role == Role::Pac =>
            {
                if s.protocol_version != PROTOCOL_VERSION {
                    let mut r = self.start_control(codes::sccrp::BAD_VERSION, 0);
                    r.protocol_version = PROTOCOL_VERSION;
                    self.send(&Message::StartControlConnectionReply(r));
                    self.closed(CloseReason::BadVersion(s.protocol_version));
                    return;
                }
                let r = self.start_control(codes::sccrp::OK, 0);
                self.send(&Message::StartControlConnectionReply(r));
                self.state = ControlState::Established;
                self.last_rx = now;
                self.events.push_back(ControlEvent::Established { peer: s });
            }
            (ControlState::WaitCtlReply, Message::StartControlConnectionReply(s)) => {
                if s.result_code != codes::sccrp::OK {
                    self.closed(CloseReason::Refused {
                        result_code: s.result_code,
                        error_code: s.error_code,
                    });
                } else if s.protocol_version != PROTOCOL_VERSION {
                    self.send(&Message::StopControlConnectionRequest {
                        reason: codes::stop_reason::STOP_PROTOCOL,
                    });
                    self.closed(CloseReason::BadVersion(s.protocol_version));
                } else {
                    self.state = ControlState::Established;
                    self.events.push_back(ControlEvent::Established { peer: s });
                }
            }
            (
                ControlState::WaitCtlReply | ControlState::Established,
                Message::StartControlConnectionRequest(_),
            ) => {
                // s3.1.3 collision (not implemented) or a second SCCRQ: "channel exists".
                let r = self.start_control(codes::sccrp::CHANNEL_EXISTS, 0);
                self.send(&Message::StartControlConnectionReply(r));
                self.drop(DropReason::Unexpected(t));
            }
            // --- calls, PAC side ---
            (ControlState::Established, Message::OutgoingCallRequest(rq))
                if self.role == Role::Pac =>
            {
                if self.calls.len() >= MAX_CALLS_PER_CONNECTION {
                    self.reject_call(
                        rq.call_id,
                        codes::ocrp::GENERAL_ERROR,
                        codes::error::NO_RESOURCE,
                    );
                    return;
                }
                self.events.push_back(ControlEvent::CallRequested {
                    peer_call_id: rq.call_id,
                    peer_window: rq.recv_window,
                    serial: rq.call_serial,
                });
            }
            (ControlState::Established, Message::CallClearRequest { call_id: peer_id })
                if self.role == Role::Pac =>
            {
                match self
                    .calls
                    .iter()
                    .position(|c| c.peer_call_id == Some(peer_id))
                {
                    Some(i) => {
                        let c = self.calls.remove(i);
                        self.send_cdn(c.call_id, codes::cdn::REQUEST);
                        self.events.push_back(ControlEvent::CallDown {
                            call_id: c.call_id,
                            reason: CallEndReason::ClearRequested,
                        });
                    }
                    None => self.drop(DropReason::Unexpected(t)),
                }
            }
            (ControlState::Established, Message::SetLinkInfo(s)) if self.role == Role::Pac => {
                match self.calls.iter_mut().find(|c| c.call_id == s.peer_call_id) {
                    Some(c) => {
                        c.link_info = Some((s.send_accm, s.recv_accm));
                        let call_id = c.call_id;
                        self.events.push_back(ControlEvent::LinkInfo {
                            call_id,
                            send_accm: s.send_accm,
                            recv_accm: s.recv_accm,
                        });
                    }
                    None => self.drop(DropReason::Unexpected(t)),
                }
            }
            // --- calls, PNS side ---
            (ControlState::Established, Message::OutgoingCallReply(rp))
                if self.role == Role::Pns =>
            {
                let Some(i) = self
                    .calls
                    .iter()
                    .position(|c| c.call_id == rp.peer_call_id && c.state == CallState::WaitReply)
                else {
                    self.drop(DropReason::Unexpected(t));
                    return;
                };
                if rp.result_code == codes::ocrp::CONNECTED {
                    let c = &mut self.calls[i];
                    c.peer_call_id = Some(rp.call_id);
                    c.peer_window = rp.recv_window;
                    c.state = CallState::Established;
                    self.events.push_back(ControlEvent::CallUp {
                        call_id: rp.peer_call_id,
                        peer_call_id: rp.call_id,
                        peer_window: rp.recv_window,
                    });
                } else {
                    self.calls.remove(i);
                    self.events.push_back(ControlEvent::CallDown {
                        call_id: rp.peer_call_id,
                        reason: CallEndReason::Refused {
                            result_code: rp.result_code,
                            error_code: rp.error_code,
                        },
                    });
                }
            }
            (ControlState::Established, Message::CallDisconnectNotify(n))
                if self.role == Role::Pns =>
            {
                match self
                    .calls
                    .iter()
                    .position(|c| c.peer_call_id == Some(n.call_id))
                {
                    Some(i) => {
                        let c = self.calls.remove(i);
                        let reason = if c.state == CallState::WaitDisconnect {
                            CallEndReason::Local
                        } else {
                            CallEndReason::Disconnected {
                                result_code: n.result_code,
                                error_code: n.error_code,
                                cause_code: n.cause_code,
                            }
                        };
                        self.events.push_back(ControlEvent::CallDown {
                            call_id: c.call_id,
                            reason,
                        });
                    }
                    None => self.drop(DropReason::Unexpected(t)),
                }
            }
            (ControlState::Established, Message::WanErrorNotify(w)) if self.role == Role::Pns => {
                if self.call(w.peer_call_id).is_some() {
                    self.events.push_back(ControlEvent::WanError {
                        call_id: w.peer_call_id,
                        counters: w,
                    });
                } else {
                    self.drop(DropReason::Unexpected(t));
                }
            }
            (ControlState::Established, Message::IncomingCallRequest(rq))
                if self.role == Role::Pns =>
            {
                if self.calls.len() >= MAX_CALLS_PER_CONNECTION {
                    self.reject_incoming_call(rq.call_id);
                    return;
                }
                self.events.push_back(ControlEvent::IncomingCallRequested {
                    peer_call_id: rq.call_id,
                    serial: rq.call_serial,
                });
            }
            (ControlState::Established, Message::IncomingCallConnected(c))
                if self.role == Role::Pns =>
            {
                match self
                    .calls
                    .iter_mut()
                    .find(|x| x.call_id == c.peer_call_id && x.state == CallState::WaitConnect)
                {
                    Some(x) => {
                        x.state = CallState::Established;
                        x.peer_window = c.recv_window;
                        let (call_id, peer_call_id) = (x.call_id, x.peer_call_id.unwrap_or(0));
                        self.events.push_back(ControlEvent::CallUp {
                            call_id,
                            peer_call_id,
                            peer_window: c.recv_window,
                        });
                    }
                    None => self.drop(DropReason::Unexpected(t)),
                }
            }
            (ControlState::Established, Message::IncomingCallReply(rp))
                if self.role == Role::Pac =>
            {
                let Some(i) = self
                    .calls
                    .iter()
                    .position(|c| c.call_id == rp.peer_call_id && c.state == CallState::WaitReply)
                else {
                    self.drop(DropReason::Unexpected(t));
                    return;
                };
                if rp.result_code == codes::icrp::CONNECT {
                    let c = &mut self.calls[i];
                    c.peer_call_id = Some(rp.call_id);
                    c.peer_window = rp.recv_window;
                    c.state = CallState::Established;
                    self.send(&Message::IncomingCallConnected(IncomingCallConnected {
                        peer_call_id: rp.call_id,
                        connect_speed: 100_000_000,
                        recv_window: self.config.recv_window,
                        transmit_delay: self.config.processing_delay,
                        framing_type: codes::framing::ASYNC | codes::framing::SYNC,
                    }));
                    self.events.push_back(ControlEvent::CallUp {
                        call_id: rp.peer_call_id,
                        peer_call_id: rp.call_id,
                        peer_window: rp.recv_window,
                    });
                } else {
                    self.calls.remove(i);
                    self.events.push_back(ControlEvent::CallDown {
                        call_id: rp.peer_call_id,
                        reason: CallEndReason::Refused {
                            result_code: rp.result_code,
                            error_code: rp.error_code,
                        },
                    });
                }
            }
            // anything else: valid, but not here
            (_, _) => self.drop(DropReason::Unexpected(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Move all bytes both ways until quiet.
    fn pump(now: Instant, a: &mut Control, b: &mut Control) {
        loop {
            let mut moved = false;
            if let Some(x) = a.poll_transmit(now) {
                b.handle_stream(now, &x);
                moved = true;
            }
            if let Some(x) = b.poll_transmit(now) {
                a.handle_stream(now, &x);
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    fn events(c: &mut Control) -> Vec<ControlEvent> {
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    fn established(t: Instant) -> (Control, Control) {
        let mut pns = Control::new_pns(ControlConfig::default(), t);
        let mut pac = Control::new_pac(ControlConfig::default(), t);
        pump(t, &mut pns, &mut pac);
        assert!(pns.is_established() && pac.is_established());
        events(&mut pns);
        events(&mut pac);
        (pns, pac)
    }

    #[test]
    fn call_setup_and_teardown_ladder() {
        let t = Instant::now();
        let (mut pns, mut pac) = established(t);
        pns.open_call(t, 0x1111).unwrap();
        pump(t, &mut pns, &mut pac);
        let ev = events(&mut pac);
        assert_eq!(
            ev,
            [ControlEvent::CallRequested {
                peer_call_id: 0x1111,
                peer_window: 64,
                serial: 1
            }]
        );
        pac.accept_call(t, 0x1111, 64, 1, 0x2222).unwrap();
        pump(t, &mut pns, &mut pac);
        assert_eq!(
            events(&mut pns),
            [ControlEvent::CallUp {
                call_id: 0x1111,
                peer_call_id: 0x2222,
                peer_window: 64
            }]
        );
        pns.clear_call(t, 0x1111).unwrap();
        pump(t, &mut pns, &mut pac);
        assert_eq!(
            events(&mut pac),
            [
                ControlEvent::CallUp {
                    call_id: 0x2222,
                    peer_call_id: 0x1111,
                    peer_window: 64
                },
                ControlEvent::CallDown {
                    call_id: 0x2222,
                    reason: CallEndReason::ClearRequested
                }
            ]
        );
        assert_eq!(
            events(&mut pns),
            [ControlEvent::CallDown {
                call_id: 0x1111,
                reason: CallEndReason::Local
            }]
        );
        pns.close(t);
        pump(t, &mut pns, &mut pac);
        assert_eq!(
            events(&mut pns),
            [ControlEvent::Closed(CloseReason::LocalStop)]
        );
        assert_eq!(
            events(&mut pac),
            [ControlEvent::Closed(CloseReason::PeerStopped { reason: 1 })]
        );
    }

    #[test]
    fn incoming_call_ladder_icrq_icrp_iccn() {
        let t = Instant::now();
        let (mut pns, mut pac) = established(t);
        pac.open_incoming_call(t, 0x0a0a).unwrap();
        pump(t, &mut pns, &mut pac);
        assert_eq!(
            events(&mut pns),
            [ControlEvent::IncomingCallRequested {
                peer_call_id: 0x0a0a,
                serial: 1
            }]
        );
        pns.accept_incoming_call(t, 0x0a0a, 0x0b0b).unwrap();
        assert_eq!(pns.call(0x0b0b).unwrap().state, CallState::WaitConnect);
        pump(t, &mut pns, &mut pac);
        let up = |call_id, peer_call_id| ControlEvent::CallUp {
            call_id,
            peer_call_id,
            peer_window: 64,
        };
        assert_eq!(events(&mut pac), [up(0x0a0a, 0x0b0b)]);
        assert_eq!(events(&mut pns), [up(0x0b0b, 0x0a0a)]);
        assert_eq!(pns.call(0x0b0b).unwrap().state, CallState::Established);
        // a refused incoming call
        pac.open_incoming_call(t, 0x0c0c).unwrap();
        pump(t, &mut pns, &mut pac);
        events(&mut pns);
        pns.reject_incoming_call(0x0c0c);
        pump(t, &mut pns, &mut pac);
        assert_eq!(
            events(&mut pac),
            [ControlEvent::CallDown {
                call_id: 0x0c0c,
                reason: CallEndReason::Refused {
                    result_code: codes::icrp::DO_NOT_ACCEPT,
                    error_code: 0
                }
            }]
        );
        // an unsolicited ICCN is dropped
        pns.handle_stream(
            t,
            &Message::IncomingCallConnected(IncomingCallConnected {
                peer_call_id: 0x7777,
                ..Default::default()
            })
            .to_vec(),
        );
        assert_eq!(
            events(&mut pns),
            [ControlEvent::Dropped(DropReason::Unexpected(
                crate::wire::MessageType::IncomingCallConnected
            ))]
        );
    }

    #[test]
    fn echo_after_60s_idle_and_close_60s_later_without_reply() {
        let t = Instant::now();
        let (mut pns, _pac) = established(t);
        assert_eq!(pns.poll_timeout(), Some(t + Duration::from_secs(60)));
        pns.handle_timeout(t + Duration::from_secs(59));
        assert_eq!(pns.poll_transmit(t), None);
        pns.handle_timeout(t + Duration::from_secs(60));
        let b = pns.poll_transmit(t).unwrap();
        assert_eq!(
            Message::parse(&b).unwrap(),
            Message::EchoRequest { identifier: 1 }
        );
        assert_eq!(pns.poll_timeout(), Some(t + Duration::from_secs(120)));
        pns.handle_timeout(t + Duration::from_secs(120));
        assert_eq!(
            events(&mut pns),
            [ControlEvent::Closed(CloseReason::EchoTimeout)]
        );
    }

    #[test]
    fn echo_is_answered_with_the_same_identifier() {
        let t = Instant::now();
        let (mut pns, mut pac) = established(t);
        pac.handle_timeout(t + Duration::from_secs(60));
        let rq = pac.poll_transmit(t).unwrap();
        pns.handle_stream(t + Duration::from_secs(60), &rq);
        let rp = pns.poll_transmit(t).unwrap();
        assert_eq!(
            Message::parse(&rp).unwrap(),
            Message::EchoReply {
                identifier: 1,
                result_code: 1,
                error_code: 0
            }
        );
        pac.handle_stream(t + Duration::from_secs(61), &rp);
        assert_eq!(pac.stats().echo_replies_received, 1);
        // the reply counts as traffic: next echo 60 s after it
        assert_eq!(pac.poll_timeout(), Some(t + Duration::from_secs(121)));
    }

    #[test]
    fn bad_cookie_closes_and_establish_timer_is_30s() {
        let t = Instant::now();
        let mut pac = Control::new_pac(ControlConfig::default(), t);
        assert_eq!(pac.poll_timeout(), Some(t + Duration::from_secs(30)));
        let mut m = Message::EchoRequest { identifier: 1 }.to_vec();
        m[7] = 0;
        pac.handle_stream(t, &m);
        assert!(matches!(
            events(&mut pac).as_slice(),
            [ControlEvent::Closed(CloseReason::BadFraming(
                WireError::BadMagicCookie(0x1a2b_3c00)
            ))]
        ));
        let mut pac = Control::new_pac(ControlConfig::default(), t);
        pac.handle_timeout(t + Duration::from_secs(30));
        assert_eq!(
            events(&mut pac),
            [ControlEvent::Closed(CloseReason::EstablishTimeout)]
        );
    }

    #[test]
    fn wrong_version_is_refused() {
        let t = Instant::now();
        let mut pac = Control::new_pac(ControlConfig::default(), t);
        let mut s = StartControl {
            protocol_version: 0x0200,
            ..Default::default()
        };
        s.host_name = FixedStr::new("x");
        pac.handle_stream(t, &Message::StartControlConnectionRequest(s).to_vec());
        let r = Message::parse(&pac.poll_transmit(t).unwrap()).unwrap();
        let Message::StartControlConnectionReply(r) = r else {
            panic!("{r:?}")
        };
        assert_eq!(r.result_code, codes::sccrp::BAD_VERSION);
        assert_eq!(
            events(&mut pac),
            [ControlEvent::Closed(CloseReason::BadVersion(0x0200))]
        );
    }

    #[test]
    fn set_link_info_and_wan_error() {
        let t = Instant::now();
        let (mut pns, mut pac) = established(t);
        pns.open_call(t, 5).unwrap();
        pump(t, &mut pns, &mut pac);
        pac.accept_call(t, 5, 64, 1, 6).unwrap();
        pump(t, &mut pns, &mut pac);
        events(&mut pac);
        events(&mut pns);
        let sli = crate::wire::control::SetLinkInfo {
            peer_call_id: 6,
            send_accm: 0xffff_ffff,
            recv_accm: 0,
        };
        pac.handle_stream(t, &Message::SetLinkInfo(sli).to_vec());
        assert_eq!(pac.call(6).unwrap().link_info, Some((0xffff_ffff, 0)));
        let w = crate::wire::control::WanErrorNotify {
            peer_call_id: 5,
            crc_errors: 3,
            ..Default::default()
        };
        pns.handle_stream(t, &Message::WanErrorNotify(w).to_vec());
        assert_eq!(
            events(&mut pns),
            [ControlEvent::WanError {
                call_id: 5,
                counters: w
            }]
        );
        // unknown type: dropped, connection stays
        let mut u = Message::EchoRequest { identifier: 9 }.to_vec();
        u[9] = 77;
        pns.handle_stream(t, &u);
        assert_eq!(
            events(&mut pns),
            [ControlEvent::Dropped(DropReason::UnknownMessageType(77))]
        );
        assert!(pns.is_established());
    }
}
