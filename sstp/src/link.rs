//! One SSTP connection on the decrypted byte stream, either role: the HTTP exchange, packet
//! delineation, the call state machines of MS-SSTP 3.1.1.1 (abort, disconnect), 3.2.1.1.1
//! (client) and 3.3.1.1.1 (server), the negotiation and hello timers, and crypto binding.
//! It knows neither TLS nor PPP: [`crate::Client`] and [`crate::Server`] put it between the
//! two.
//!
//! ```text
//!            client                                            server
//!  Http          --- SSTP_DUPLEX_POST ... --->                 Http (60 s for the request)
//!  (60 s)        <-- HTTP/1.1 200 ---------------
//!  ConnectRequest -- Call Connect Request (PPP) -->            ConnectRequest (60 s)
//!  (60 s)        <-- Call Connect Ack (bitmask, nonce) --      ConnectedPending (60 s)
//!  ConnectedPending   PPP LCP + authentication as data packets (server: control frames only)
//!  (60 s)        --- Call Connected (binding) -->  verify nonce, cert hash, Compound MAC
//!  Connected     <== PPP NCPs and data ==>                     Connected
//!                    idle keepalive-timeout -> Echo Request; no answer in as long -> abort
//!
//!  abort (3.1.5.1): invalid message -> send Call Abort, AbortPending (timer 1: 3 s); the peer
//!     answers Call Abort -> AbortTimeoutPending (timer 2: 1 s) -> closed
//!  peer abort: answer Call Abort -> AbortTimeoutPending (1 s) -> closed
//!  disconnect: Call Disconnect -> DisconnectAckPending (5 s) -> Disconnect Ack -> closed
//!  peer disconnect: Disconnect Ack -> DisconnectTimeoutPending (1 s) -> closed
//!  undelineable stream (bad version, bad length): closed at once, no message (3.1.5.1)
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::binding::{self, BindingKey, Hlak};
use crate::error::{AbortCause, CloseReason, DropReason};
use crate::http::{self, SstpRequest};
use crate::wire::{
    self, Attribute, AttributeId, ControlMessage, HashProtocol, MessageType, Packet, Status,
    StatusInfo,
};

/// TIMER_VAL_ABORT_STATE_TIMER_1 (MS-SSTP 3.1.2.1).
pub const ABORT_TIMER_1: Duration = Duration::from_secs(3);
/// TIMER_VAL_ABORT_STATE_TIMER_2.
pub const ABORT_TIMER_2: Duration = Duration::from_secs(1);
/// TIMER_VAL_DISCONNECT_STATE_TIMER_1.
pub const DISCONNECT_TIMER_1: Duration = Duration::from_secs(5);
/// TIMER_VAL_DISCONNECT_STATE_TIMER_2.
pub const DISCONNECT_TIMER_2: Duration = Duration::from_secs(1);
/// Call Connect Requests a server refuses (Nak) before it aborts with
/// ATTRIB_STATUS_RETRY_COUNT_EXCEEDED.
pub const MAX_NAKS: u32 = 3;

/// Where a connection's call is (MS-SSTP CurrentState, both roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    /// Client: request sent, waiting for 200. Server: waiting for the request.
    Http,
    /// Client_Connect_Request_Sent / Server_Connect_Request_Pending.
    ConnectRequest,
    /// Client_Connect_Ack_Received / Server_Call_Connected_Pending (PPP authenticating).
    ConnectedPending,
    /// Client_Call_Connected / Server_Call_Connected.
    Connected,
    /// Call_Abort_Pending: we sent Call Abort (timer 1).
    AbortPending,
    /// Call_Abort_Timeout_Pending (timer 2).
    AbortTimeoutPending,
    /// Call_Disconnect_Ack_Pending: we sent Call Disconnect (timer 1).
    DisconnectAckPending,
    /// Call_Disconnect_Timeout_Pending: we sent Disconnect Ack (timer 2).
    DisconnectTimeoutPending,
    /// Call_Disconnected: the transport can be closed.
    Closed,
}

impl CallState {
    /// Abort or disconnect in progress, or closed.
    pub fn is_closing(self) -> bool {
        matches!(
            self,
            Self::AbortPending
                | Self::AbortTimeoutPending
                | Self::DisconnectAckPending
                | Self::DisconnectTimeoutPending
                | Self::Closed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Client,
    Server,
}

/// Packet counters of one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounters {
    /// Data packets received.
    pub data_rx: u64,
    /// Data packets sent.
    pub data_tx: u64,
    /// Control packets received.
    pub control_rx: u64,
    /// Control packets sent.
    pub control_tx: u64,
    /// Echo Requests sent by the hello timer.
    pub echo_requests: u64,
    /// Packets dropped (see [`DropReason`]).
    pub dropped: u64,
    /// The last drop's reason.
    pub last_drop: Option<DropReason>,
}

#[derive(Debug)]
pub(crate) enum LinkEvent {
    /// Server: the HTTP request was valid.
    Request(SstpRequest),
    /// Client: Call Connect Ack arrived; start PPP.
    Acked,
    /// Server: Call Connect Request accepted; start PPP.
    Accepted,
    /// Call connected with this hash and key (server: verified; client: sent).
    Connected(Option<(HashProtocol, BindingKey)>),
    /// The call left the active states (abort/disconnect started or closed): stop PPP.
    Down,
    /// Closed: close the transport.
    Closed(CloseReason),
}

/// What [`Link::next_frame`] found.
pub(crate) enum Next<'a> {
    /// A PPP frame for the PPP layer.
    Frame(&'a [u8]),
    /// Events are queued: handle them, then call again.
    Events,
    /// Nothing more until more input arrives.
    Idle,
}

pub(crate) struct Link {
    role: Role,
    state: CallState,
    rx: Vec<u8>,
    rx_start: usize,
    /// Plaintext for the TLS layer.
    pub(crate) out: Vec<u8>,
    deadline: Option<Instant>,
    hello: Option<Duration>,
    last_rx: Instant,
    echo_deadline: Option<Instant>,
    negotiation: Duration,
    bitmask: u8,
    nonce: [u8; 32],
    naks: u32,
    hlak: Option<Hlak>,
    cert: Option<Vec<u8>>,
    accept_zero: bool,
    http_server_name: String,
    reason: Option<CloseReason>,
    down: bool,
    events: VecDeque<LinkEvent>,
    pub(crate) counters: LinkCounters,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("role", &self.role)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

fn ppp_protocol(frame: &[u8]) -> Option<u16> {
    let f = frame.strip_prefix(&[0xff, 0x03]).unwrap_or(frame);
    let first = *f.first()?;
    if first & 1 == 1 {
        Some(u16::from(first))
    } else {
        Some(u16::from_be_bytes([first, *f.get(1)?]))
    }
}

impl Link {
    fn new(role: Role, now: Instant, negotiation: Duration, hello: Option<Duration>) -> Self {
        Link {
            role,
            state: CallState::Http,
            rx: Vec::new(),
            rx_start: 0,
            out: Vec::new(),
            deadline: Some(now + negotiation),
            hello,
            last_rx: now,
            echo_deadline: None,
            negotiation,
            bitmask: 0,
            nonce: [0; 32],
            naks: 0,
            hlak: None,
            cert: None,
            accept_zero: false,
            http_server_name: String::new(),
            reason: None,
            down: false,
            events: VecDeque::new(),
            counters: LinkCounters::default(),
        }
    }

    /// A client whose TLS handshake just finished: sends the HTTP request.
    pub(crate) fn client(
        now: Instant,
        host: &str,
        correlation: &http::Guid,
        http_timeout: Duration,
        negotiation: Duration,
        hello: Option<Duration>,
    ) -> Self {
        let mut l = Link::new(Role::Client, now, negotiation, hello);
        l.deadline = Some(now + http_timeout);
        l.out = http::client_request(host, correlation);
        l
    }

    /// A server connection: waits for the HTTP request. `nonce` for the Crypto Binding
    /// Request, `cert` the server certificate (DER) it hashes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn server(
        now: Instant,
        negotiation: Duration,
        hello: Option<Duration>,
        bitmask: u8,
        nonce: [u8; 32],
        accept_zero: bool,
        http_server_name: &str,
    ) -> Self {
        let mut l = Link::new(Role::Server, now, negotiation, hello);
        l.bitmask = bitmask;
        l.nonce = nonce;
        l.accept_zero = accept_zero;
        l.http_server_name = http_server_name.to_string();
        l
    }

    pub(crate) fn state(&self) -> CallState {
        self.state
    }

    pub(crate) fn poll_event(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }

    /// Server: the certificate crypto binding hashes (from the TLS adapter).
    pub(crate) fn set_certificate(&mut self, cert: Option<Vec<u8>>) {
        self.cert = cert;
    }

    /// Server: PPP authentication finished; the binding must use this key.
    pub(crate) fn set_hlak(&mut self, hlak: Hlak) {
        self.hlak = Some(hlak);
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let hello = match (self.state, self.hello) {
            (CallState::Connected, Some(iv)) => {
                Some(self.echo_deadline.unwrap_or(self.last_rx + iv))
            }
            _ => None,
        };
        match (self.deadline, hello) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| d <= now) {
            self.deadline = None;
            match self.state {
                CallState::Http => self.close(CloseReason::HttpTimeout),
                CallState::ConnectRequest | CallState::ConnectedPending => {
                    self.abort(now, AbortCause::NegotiationTimeout)
                }
                CallState::AbortPending
                | CallState::AbortTimeoutPending
                | CallState::DisconnectAckPending
                | CallState::DisconnectTimeoutPending => {
                    let r = self.reason.take().unwrap_or(CloseReason::Local);
                    self.close(r)
                }
                CallState::Connected | CallState::Closed => {}
            }
        }
        if self.state != CallState::Connected {
            return;
        }
        let Some(iv) = self.hello else { return };
        match self.echo_deadline {
            Some(d) if d <= now => self.abort(now, AbortCause::HelloTimeout),
            None if self.last_rx + iv <= now => {
                self.send_control(&ControlMessage::bare(MessageType::EchoRequest));
                self.counters.echo_requests += 1;
                self.echo_deadline = Some(now + iv);
            }
            _ => {}
        }
    }

    fn send_control(&mut self, m: &ControlMessage) {
        if m.emit(&mut self.out).is_ok() {
            self.counters.control_tx += 1;
        }
    }

    /// A PPP frame to the peer (dropped unless the call is past Connect Ack).
    pub(crate) fn send_frame(&mut self, frame: &[u8]) -> Result<(), crate::Error> {
        if !matches!(
            self.state,
            CallState::ConnectedPending | CallState::Connected
        ) {
            return Err(crate::Error::NotConnected);
        }
        wire::push_data(frame, &mut self.out)?;
        self.counters.data_tx += 1;
        Ok(())
    }

    /// True when PPP frames can be sent.
    pub(crate) fn carries_ppp(&self) -> bool {
        matches!(
            self.state,
            CallState::ConnectedPending | CallState::Connected
        )
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if self.rx_start > 0 && self.rx_start == self.rx.len() {
            self.rx.clear();
            self.rx_start = 0;
        } else if self.rx_start > 0 {
            self.rx.drain(..self.rx_start);
            self.rx_start = 0;
        }
        if self.state != CallState::Closed {
            self.rx.extend_from_slice(bytes);
        }
    }

    /// Process buffered input up to the next PPP frame for the PPP layer (borrowed) or the
    /// next control packet that raised events (the caller handles them, then calls again).
    pub(crate) fn next_frame(&mut self, now: Instant) -> Next<'_> {
        loop {
            if !self.events.is_empty() {
                return Next::Events;
            }
            if self.state == CallState::Closed {
                return Next::Idle;
            }
            if self.state == CallState::Http {
                if !self.http(now) {
                    return Next::Idle;
                }
                continue;
            }
            let start = self.rx_start;
            let (is_data, n) = match wire::split_packet(&self.rx[start..]) {
                Err(e) => {
                    self.close(CloseReason::Framing(e));
                    return Next::Events;
                }
                Ok(None) => return Next::Idle,
                Ok(Some((Packet::Data(_), n))) => (true, n),
                Ok(Some((Packet::Control(_), n))) => (false, n),
            };
            self.rx_start += n;
            self.last_rx = now;
            self.echo_deadline = None;
            if !is_data {
                self.counters.control_rx += 1;
                let pkt = self.rx[start..start + n].to_vec();
                self.on_control(now, &pkt);
                continue;
            }
            self.counters.data_rx += 1;
            let frame = &self.rx[start + wire::HEADER_LEN..start + n];
            let drop = match (self.role, self.state) {
                (_, s) if s.is_closing() => Some(DropReason::Closing),
                (_, CallState::Connected) => None,
                (Role::Client, CallState::ConnectedPending) => None,
                (Role::Server, CallState::ConnectedPending) => match ppp_protocol(frame) {
                    Some(p) if p >= 0x8000 => None,
                    _ => Some(DropReason::DataBeforeConnected),
                },
                _ => Some(DropReason::DataBeforeAck),
            };
            if let Some(r) = drop {
                self.counters.dropped += 1;
                self.counters.last_drop = Some(r);
                continue;
            }
            return Next::Frame(&self.rx[start + wire::HEADER_LEN..start + n]);
        }
    }

    /// The HTTP phase; true when it finished (SSTP packets may follow).
    fn http(&mut self, now: Instant) -> bool {
        let buf = &self.rx[self.rx_start..];
        match self.role {
            Role::Client => match http::parse_response(buf) {
                Ok(None) => false,
                Ok(Some(n)) => {
                    self.rx_start += n;
                    self.send_control(&ControlMessage::connect_request());
                    self.state = CallState::ConnectRequest;
                    self.deadline = Some(now + self.negotiation);
                    true
                }
                Err(e) => {
                    self.close(CloseReason::Http(e));
                    false
                }
            },
            Role::Server => match http::parse_request(buf) {
                Ok(None) => false,
                Ok(Some((req, n))) => {
                    self.rx_start += n;
                    self.out
                        .extend_from_slice(&http::ok_response(&self.http_server_name));
                    self.state = CallState::ConnectRequest;
                    self.deadline = Some(now + self.negotiation);
                    self.events.push_back(LinkEvent::Request(req));
                    true
                }
                Err(e) => {
                    self.out
                        .extend_from_slice(&http::error_response(e.status()));
                    self.close(CloseReason::Http(e));
                    false
                }
            },
        }
    }

    fn on_control(&mut self, now: Instant, pkt: &[u8]) {
        let m = match ControlMessage::parse(pkt) {
            Ok(m) => m,
            Err(e) => {
                if !self.state.is_closing() {
                    self.abort(now, AbortCause::Malformed(e));
                }
                return;
            }
        };
        let t = m.msg_type;
        let bare = m.attributes.is_empty();
        match t {
            MessageType::CallAbort => return self.peer_abort(now, m.status_info().cloned()),
            MessageType::CallDisconnect => return self.peer_disconnect(now),
            MessageType::CallDisconnectAck => {
                match self.state {
                    CallState::DisconnectAckPending => {
                        self.reason = None;
                        self.close(CloseReason::Disconnected { by_peer: false })
                    }
                    s if s.is_closing() => {}
                    _ => self.abort(now, AbortCause::Unexpected(t)),
                }
                return;
            }
            _ if self.state.is_closing() => return,
            MessageType::EchoRequest if bare => {
                return self.send_control(&ControlMessage::bare(MessageType::EchoResponse))
            }
            MessageType::EchoResponse if bare => return,
            MessageType::EchoRequest | MessageType::EchoResponse => {
                return self.abort(now, AbortCause::BadAttributes(t))
            }
            _ => {}
        }
        match (self.role, self.state, t) {
            (Role::Client, CallState::ConnectRequest, MessageType::CallConnectAck) => {
                let [Attribute::CryptoBindingRequest(r)] = m.attributes.as_slice() else {
                    return self.abort(now, AbortCause::BadAttributes(t));
                };
                if binding::choose(r.bitmask).is_none() {
                    return self.abort(now, AbortCause::BadAttributes(t));
                }
                self.bitmask = r.bitmask;
                self.nonce = r.nonce;
                self.state = CallState::ConnectedPending;
                self.deadline = Some(now + self.negotiation);
                self.events.push_back(LinkEvent::Acked);
            }
            (Role::Client, CallState::ConnectRequest, MessageType::CallConnectNak) => {
                let st = m
                    .attributes
                    .iter()
                    .filter_map(|a| match a {
                        Attribute::StatusInfo(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
                self.abort(now, AbortCause::Refused(st));
            }
            (Role::Server, CallState::ConnectRequest, MessageType::CallConnectRequest) => {
                self.connect_request(now, &m)
            }
            (Role::Server, CallState::ConnectedPending, MessageType::CallConnected) => {
                self.call_connected(now, &m, pkt)
            }
            _ => self.abort(now, AbortCause::Unexpected(t)),
        }
    }

    fn connect_request(&mut self, now: Instant, m: &ControlMessage) {
        let mut refused = Vec::new();
        let mut protocol = None;
        for a in &m.attributes {
            match a {
                Attribute::EncapsulatedProtocolId { protocol: p, .. } if protocol.is_none() => {
                    protocol = Some(*p);
                    if *p != wire::PROTOCOL_PPP {
                        let mut s = StatusInfo::new(
                            AttributeId::EncapsulatedProtocolId,
                            Status::ValueNotSupported,
                        );
                        s.value = p.to_be_bytes().to_vec();
                        refused.push(s);
                    }
                }
                Attribute::EncapsulatedProtocolId { .. } => refused.push(StatusInfo::new(
                    AttributeId::EncapsulatedProtocolId,
                    Status::DuplicateAttribute,
                )),
                Attribute::StatusInfo(s) if s.status == Status::NoError => {}
                Attribute::StatusInfo(s) => {
                    let mut r = StatusInfo::new(AttributeId::StatusInfo, Status::ValueNotSupported);
                    r.value = s.status.to_u32().to_be_bytes().to_vec();
                    refused.push(r)
                }
                other => refused.push(StatusInfo::new(other.id(), Status::AttribNotSupportedInMsg)),
            }
        }
        if protocol.is_none() {
            refused.push(StatusInfo::new(
                AttributeId::EncapsulatedProtocolId,
                Status::RequiredAttributeMissing,
            ));
        }
        if refused.is_empty() {
            self.send_control(&ControlMessage::connect_ack(self.bitmask, self.nonce));
            self.state = CallState::ConnectedPending;
            self.deadline = Some(now + self.negotiation);
            self.events.push_back(LinkEvent::Accepted);
            return;
        }
        self.naks += 1;
        if self.naks > MAX_NAKS {
            return self.abort(now, AbortCause::RetryCountExceeded);
        }
        self.send_control(&ControlMessage::connect_nak(refused));
        self.deadline = Some(now + self.negotiation);
    }

    fn call_connected(&mut self, now: Instant, m: &ControlMessage, pkt: &[u8]) {
        let t = MessageType::CallConnected;
        if !matches!(m.attributes.as_slice(), [Attribute::CryptoBinding(_)]) {
            return self.abort(now, AbortCause::BadAttributes(t));
        }
        let Some(hlak) = &self.hlak else {
            // Call Connected before PPP authentication finished here.
            return self.abort(now, AbortCause::Unexpected(t));
        };
        let cert = self.cert.as_deref().unwrap_or_default();
        match binding::verify(pkt, self.bitmask, &self.nonce, cert, hlak, self.accept_zero) {
            Ok(v) => {
                self.state = CallState::Connected;
                self.deadline = None;
                self.last_rx = now;
                self.events.push_back(LinkEvent::Connected(Some(v)));
            }
            Err(e) => self.abort(now, AbortCause::Binding(e)),
        }
    }

    /// Client: PPP authentication finished: send Call Connected with the binding.
    pub(crate) fn send_call_connected(&mut self, now: Instant, hlak: &Hlak, server_cert: &[u8]) {
        if self.role != Role::Client || self.state != CallState::ConnectedPending {
            return;
        }
        let Some(hash) = binding::choose(self.bitmask) else {
            return;
        };
        let p = binding::call_connected(hash, self.nonce, server_cert, hlak);
        self.out.extend_from_slice(&p);
        self.counters.control_tx += 1;
        self.state = CallState::Connected;
        self.deadline = None;
        self.last_rx = now;
        let key = if hlak.is_zero() {
            BindingKey::Zero
        } else {
            BindingKey::Hlak
        };
        self.events
            .push_back(LinkEvent::Connected(Some((hash, key))));
    }

    fn go_down(&mut self) {
        if !self.down {
            self.down = true;
            self.events.push_back(LinkEvent::Down);
        }
    }

    /// Abort (MS-SSTP 3.1.5.1): Call Abort, then timer 1.
    pub(crate) fn abort(&mut self, now: Instant, cause: AbortCause) {
        if self.state.is_closing() {
            return;
        }
        let status = match &cause {
            AbortCause::Unexpected(_) => Status::UnacceptedFrameReceived,
            AbortCause::RetryCountExceeded => Status::RetryCountExceeded,
            AbortCause::NegotiationTimeout | AbortCause::HelloTimeout => Status::NegotiationTimeout,
            AbortCause::Refused(_) | AbortCause::SessionRefused => Status::ValueNotSupported,
            AbortCause::BadAttributes(_) | AbortCause::Malformed(_) | AbortCause::Binding(_) => {
                Status::InvalidFrameReceived
            }
        };
        self.send_control(&ControlMessage::abort(Some(StatusInfo::new(
            AttributeId::NoError,
            status,
        ))));
        self.state = CallState::AbortPending;
        self.deadline = Some(now + ABORT_TIMER_1);
        self.reason = Some(CloseReason::AbortedLocally(cause));
        self.go_down();
    }

    fn peer_abort(&mut self, now: Instant, status: Option<StatusInfo>) {
        match self.state {
            CallState::AbortPending => {
                self.state = CallState::AbortTimeoutPending;
                self.deadline = Some(now + ABORT_TIMER_2);
            }
            CallState::AbortTimeoutPending | CallState::Closed => {}
            _ => {
                self.send_control(&ControlMessage::abort(None));
                self.state = CallState::AbortTimeoutPending;
                self.deadline = Some(now + ABORT_TIMER_2);
                self.reason = Some(CloseReason::AbortedByPeer(status));
                self.go_down();
            }
        }
    }

    fn peer_disconnect(&mut self, now: Instant) {
        match self.state {
            CallState::AbortPending
            | CallState::AbortTimeoutPending
            | CallState::DisconnectTimeoutPending
            | CallState::Closed => {}
            CallState::DisconnectAckPending => {
                self.send_control(&ControlMessage::bare(MessageType::CallDisconnectAck));
                self.state = CallState::DisconnectTimeoutPending;
                self.deadline = Some(now + DISCONNECT_TIMER_2);
            }
            _ => {
                self.send_control(&ControlMessage::bare(MessageType::CallDisconnectAck));
                self.state = CallState::DisconnectTimeoutPending;
                self.deadline = Some(now + DISCONNECT_TIMER_2);
                self.reason = Some(CloseReason::Disconnected { by_peer: true });
                self.go_down();
            }
        }
    }

    /// Graceful disconnect (the PPP session ended, or the application asked).
    pub(crate) fn disconnect(&mut self, now: Instant) {
        match self.state {
            s if s.is_closing() => {}
            CallState::Http => self.close(CloseReason::Local),
            _ => {
                self.send_control(&ControlMessage::disconnect(Some(StatusInfo::new(
                    AttributeId::NoError,
                    Status::NoError,
                ))));
                self.state = CallState::DisconnectAckPending;
                self.deadline = Some(now + DISCONNECT_TIMER_1);
                self.reason = Some(CloseReason::Disconnected { by_peer: false });
                self.go_down();
            }
        }
    }

    /// Closed now (transport gone, TLS failure, framing failure, timers done).
    pub(crate) fn close(&mut self, reason: CloseReason) {
        if self.state == CallState::Closed {
            return;
        }
        // The transport going away during an abort or disconnect does not change why.
        let reason = match self.reason.take() {
            Some(r) if self.state.is_closing() => r,
            _ => reason,
        };
        self.state = CallState::Closed;
        self.deadline = None;
        self.echo_deadline = None;
        self.rx = Vec::new();
        self.rx_start = 0;
        self.go_down();
        self.events.push_back(LinkEvent::Closed(reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppp_protocol_field() {
        assert_eq!(ppp_protocol(&[0xff, 0x03, 0xc0, 0x21, 1]), Some(0xc021));
        assert_eq!(ppp_protocol(&[0x21, 0x45]), Some(0x21));
        assert_eq!(ppp_protocol(&[0x00, 0x21, 0x45]), Some(0x21));
        assert_eq!(ppp_protocol(&[0xff, 0x03]), None);
    }
}

#[cfg(test)]
mod machine_tests {
    //! The call state machines of two links wired back to back (plaintext, no TLS, no PPP):
    //! exact timer behaviour.
    use super::*;
    use crate::http::Guid;

    const T60: Duration = Duration::from_secs(60);

    fn pair(now: Instant, hello: Option<Duration>) -> (Link, Link) {
        let c = Link::client(now, "vpn", &Guid([1; 16]), T60, T60, hello);
        let s = Link::server(now, T60, hello, 3, [7; 32], false, "t");
        (c, s)
    }

    /// Move bytes both ways until quiet; returns (client events, server events).
    fn shuttle(now: Instant, c: &mut Link, s: &mut Link) -> (Vec<LinkEvent>, Vec<LinkEvent>) {
        let (mut ce, mut se) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            let a = std::mem::take(&mut c.out);
            let b = std::mem::take(&mut s.out);
            if a.is_empty() && b.is_empty() {
                break;
            }
            s.push(&a);
            while !matches!(s.next_frame(now), Next::Idle) {
                while let Some(e) = s.poll_event() {
                    se.push(e);
                }
            }
            c.push(&b);
            while !matches!(c.next_frame(now), Next::Idle) {
                while let Some(e) = c.poll_event() {
                    ce.push(e);
                }
            }
        }
        while let Some(e) = s.poll_event() {
            se.push(e);
        }
        while let Some(e) = c.poll_event() {
            ce.push(e);
        }
        (ce, se)
    }

    fn connected(now: Instant, hello: Option<Duration>) -> (Link, Link) {
        let (mut c, mut s) = pair(now, hello);
        shuttle(now, &mut c, &mut s);
        assert_eq!(
            (c.state(), s.state()),
            (CallState::ConnectedPending, CallState::ConnectedPending)
        );
        s.set_certificate(Some(b"cert".to_vec()));
        s.set_hlak(Hlak::zero());
        c.send_call_connected(now, &Hlak::zero(), b"cert");
        let (_, se) = shuttle(now, &mut c, &mut s);
        assert!(matches!(
            se.as_slice(),
            [LinkEvent::Connected(Some((
                HashProtocol::Sha256,
                BindingKey::Zero
            )))]
        ));
        (c, s)
    }

    #[test]
    fn hello_timer_echo_then_abort() {
        let t0 = Instant::now();
        let (mut c, mut s) = connected(t0, Some(T60));
        assert_eq!(c.poll_timeout(), Some(t0 + T60));
        // The server hears nothing for 60 s: Echo Request; the client answers.
        s.handle_timeout(t0 + T60);
        assert_eq!(s.counters.echo_requests, 1);
        assert_eq!(s.poll_timeout(), Some(t0 + 2 * T60));
        c.handle_timeout(t0 + T60);
        shuttle(t0 + T60, &mut c, &mut s);
        assert_eq!(s.poll_timeout(), Some(t0 + 2 * T60)); // answered: last_rx = 60 s
                                                          // connect request, connected, its own echo request at 60 s, the echo response
        assert_eq!(c.counters.control_tx, 4);
        // Now the client goes silent: echo at 120 s, abort at 180 s.
        s.handle_timeout(t0 + 2 * T60);
        assert_eq!(s.counters.echo_requests, 2);
        s.handle_timeout(t0 + 3 * T60 - Duration::from_millis(1));
        assert_eq!(s.state(), CallState::Connected);
        s.handle_timeout(t0 + 3 * T60);
        assert_eq!(s.state(), CallState::AbortPending);
        assert_eq!(s.poll_timeout(), Some(t0 + 3 * T60 + ABORT_TIMER_1));
        s.handle_timeout(t0 + 3 * T60 + ABORT_TIMER_1);
        assert_eq!(s.state(), CallState::Closed);
        let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert!(matches!(
            evs.as_slice(),
            [
                LinkEvent::Down,
                LinkEvent::Closed(CloseReason::AbortedLocally(AbortCause::HelloTimeout))
            ]
        ));
    }

    #[test]
    fn abort_exchange_timers() {
        let t0 = Instant::now();
        let (mut c, mut s) = connected(t0, None);
        s.abort(t0, AbortCause::Unexpected(MessageType::EchoResponse));
        assert_eq!(s.poll_timeout(), Some(t0 + ABORT_TIMER_1));
        let (ce, _) = shuttle(t0, &mut c, &mut s);
        // The client answered the abort and waits timer 2; the server got the answer: timer 2.
        assert!(matches!(ce.as_slice(), [LinkEvent::Down]));
        assert_eq!(c.state(), CallState::AbortTimeoutPending);
        assert_eq!(c.poll_timeout(), Some(t0 + ABORT_TIMER_2));
        assert_eq!(s.state(), CallState::AbortTimeoutPending);
        assert_eq!(s.poll_timeout(), Some(t0 + ABORT_TIMER_2));
        c.handle_timeout(t0 + ABORT_TIMER_2);
        s.handle_timeout(t0 + ABORT_TIMER_2);
        assert_eq!(
            (c.state(), s.state()),
            (CallState::Closed, CallState::Closed)
        );
        let ce: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        match ce.as_slice() {
            [LinkEvent::Closed(CloseReason::AbortedByPeer(Some(st)))] => {
                assert_eq!(st.status, Status::UnacceptedFrameReceived)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn abort_collision_both_clean_up_after_timer_2() {
        let t0 = Instant::now();
        let (mut c, mut s) = connected(t0, None);
        c.abort(t0, AbortCause::NegotiationTimeout);
        s.abort(t0, AbortCause::NegotiationTimeout);
        shuttle(t0, &mut c, &mut s);
        for l in [&c, &s] {
            assert_eq!(l.state(), CallState::AbortTimeoutPending);
            assert_eq!(l.poll_timeout(), Some(t0 + ABORT_TIMER_2));
        }
        c.handle_timeout(t0 + ABORT_TIMER_2);
        s.handle_timeout(t0 + ABORT_TIMER_2);
        assert_eq!(
            (c.state(), s.state()),
            (CallState::Closed, CallState::Closed)
        );
    }

    #[test]
    fn unanswered_abort_closes_after_timer_1() {
        let t0 = Instant::now();
        let (mut c, _s) = connected(t0, None);
        c.abort(t0, AbortCause::NegotiationTimeout);
        c.handle_timeout(t0 + ABORT_TIMER_1 - Duration::from_millis(1));
        assert_eq!(c.state(), CallState::AbortPending);
        c.handle_timeout(t0 + ABORT_TIMER_1);
        assert_eq!(c.state(), CallState::Closed);
    }

    #[test]
    fn disconnect_exchange_and_timers() {
        let t0 = Instant::now();
        let (mut c, mut s) = connected(t0, None);
        c.disconnect(t0);
        assert_eq!(c.poll_timeout(), Some(t0 + DISCONNECT_TIMER_1));
        shuttle(t0, &mut c, &mut s);
        // Disconnect Ack received: the client is done at once; the server waits timer 2.
        assert_eq!(c.state(), CallState::Closed);
        assert_eq!(s.state(), CallState::DisconnectTimeoutPending);
        assert_eq!(s.poll_timeout(), Some(t0 + DISCONNECT_TIMER_2));
        s.handle_timeout(t0 + DISCONNECT_TIMER_2);
        assert_eq!(s.state(), CallState::Closed);
        let se: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert!(matches!(
            se.last(),
            Some(LinkEvent::Closed(CloseReason::Disconnected {
                by_peer: true
            }))
        ));
        // Unanswered disconnect: closed after timer 1.
        let (mut c, _s) = connected(t0, None);
        c.disconnect(t0);
        c.handle_timeout(t0 + DISCONNECT_TIMER_1);
        assert_eq!(c.state(), CallState::Closed);
    }

    #[test]
    fn undelineable_stream_closes_without_a_message() {
        let t0 = Instant::now();
        let (mut c, mut s) = connected(t0, None);
        s.push(&[0x20, 0x01, 0x00, 0x08, 0, 8, 0, 0]);
        assert!(matches!(s.next_frame(t0), Next::Events));
        assert_eq!(s.state(), CallState::Closed);
        assert!(s.out.is_empty(), "no SSTP message on a framing failure");
        // A length under the header size is as bad.
        c.push(&[0x10, 0x00, 0x00, 0x02]);
        let _ = c.next_frame(t0);
        assert_eq!(c.state(), CallState::Closed);
        assert!(c.out.is_empty());
    }

    #[test]
    fn http_and_negotiation_timers() {
        let t0 = Instant::now();
        let (mut c, mut s) = pair(t0, None);
        // Nothing arrives: both give up after 60 s.
        assert_eq!(c.poll_timeout(), Some(t0 + T60));
        c.handle_timeout(t0 + T60);
        s.handle_timeout(t0 + T60);
        assert_eq!(
            (c.state(), s.state()),
            (CallState::Closed, CallState::Closed)
        );
        // HTTP done, Call Connect Request lost: the server aborts 60 s after its 200.
        let (mut c, mut s) = pair(t0, None);
        s.push(&std::mem::take(&mut c.out));
        let _ = s.next_frame(t0);
        assert_eq!(s.state(), CallState::ConnectRequest);
        assert_eq!(s.poll_timeout(), Some(t0 + T60));
        s.handle_timeout(t0 + T60);
        assert_eq!(s.state(), CallState::AbortPending);
    }

    #[test]
    fn server_naks_non_ppp_then_gives_up() {
        let t0 = Instant::now();
        let (mut c, mut s) = pair(t0, None);
        s.push(&std::mem::take(&mut c.out));
        let _ = s.next_frame(t0);
        let mut bad = ControlMessage::connect_request();
        bad.attributes = vec![Attribute::EncapsulatedProtocolId {
            reserved: 0,
            protocol: 2,
        }];
        for i in 0..=MAX_NAKS {
            s.out.clear();
            s.push(&bad.to_vec().unwrap_or_default());
            while !matches!(s.next_frame(t0), Next::Idle) {
                while s.poll_event().is_some() {}
            }
            let reply = ControlMessage::parse(&s.out)
                .unwrap_or_else(|e| panic!("{i} {e:?} {:02x?}", s.out));
            if i < MAX_NAKS {
                assert_eq!(reply.msg_type, MessageType::CallConnectNak);
                let st = reply.status_info().unwrap();
                assert_eq!(
                    (st.attrib_id, st.status),
                    (
                        AttributeId::EncapsulatedProtocolId,
                        Status::ValueNotSupported
                    )
                );
                assert_eq!(st.value, vec![0, 2]);
            } else {
                assert_eq!(reply.msg_type, MessageType::CallAbort);
                assert_eq!(
                    reply.status_info().unwrap().status,
                    Status::RetryCountExceeded
                );
            }
        }
    }
}
