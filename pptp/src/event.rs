//! Events, close reasons and drop reasons.

use crate::wire::control::{StartControl, WanErrorNotify};

/// Why a packet or message was dropped (counted; the connection goes on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// A GRE packet that is not enhanced GRE version 1 carrying PPP (bad flags, version,
    /// protocol, truncated).
    MalformedGre,
    /// A GRE packet whose Call ID names no call of ours (RFC 2637 s4.1).
    UnknownCall,
    /// A GRE packet for one of our calls from another address than the call's peer.
    WrongPeer,
    /// A GRE packet whose sequence number was already received.
    Duplicate,
    /// A GRE packet older than the highest sequence number received (RFC 2637 s4.3).
    OutOfOrder,
    /// A GRE packet acknowledging a sequence number never sent.
    AbsurdAck,
    /// A GRE packet with neither sequence number nor acknowledgment.
    NoSequence,
    /// A control message with an unknown Control Message Type (skipped).
    UnknownMessageType(u16),
    /// A control message that is valid but not expected in the current state (e.g. an
    /// Outgoing-Call-Request to a PNS, a reply nobody asked for, a call ID we do not know).
    Unexpected(crate::wire::MessageType),
    /// A GRE packet arriving before the call is up, or after it ended.
    CallNotUp,
    /// The PPP layer refused the frame.
    Ppp,
}

/// Why a control connection closed. The owner closes the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The stream lost framing: wrong length, magic cookie or message type (RFC 2637 s2).
    BadFraming(crate::wire::WireError),
    /// No Echo-Reply within the echo timeout (RFC 2637 s3.1.4).
    EchoTimeout,
    /// Not established within the idle timer ([MS-PTPT] s3.1.2: 30 s).
    EstablishTimeout,
    /// The peer refused the control connection (SCCRP result code, RFC 2637 s2.2).
    Refused {
        /// Result Code.
        result_code: u8,
        /// Error Code.
        error_code: u8,
    },
    /// The peer's protocol version is not 1.0: we refused it (SCCRP result 5).
    BadVersion(u16),
    /// The peer sent Stop-Control-Connection-Request (we replied).
    PeerStopped {
        /// Its Reason.
        reason: u8,
    },
    /// We stopped: Stop-Control-Connection-Reply received (or its wait timed out).
    LocalStop,
    /// The TCP connection was closed or reset under us.
    TransportClosed,
    /// The server's half-open table was full and a newer connection displaced this one
    /// before any of its calls authenticated ([`ServerConfig::half_open_min_age`]).
    ///
    /// [`ServerConfig::half_open_min_age`]: crate::ServerConfig::half_open_min_age
    Evicted,
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallEndReason {
    /// The PAC refused the Outgoing-Call-Request (OCRP result code, RFC 2637 s2.8).
    Refused {
        /// Result Code.
        result_code: u8,
        /// Error Code.
        error_code: u8,
    },
    /// The peer cleared the call: Call-Clear-Request received (PAC side, RFC 2637 s2.12).
    ClearRequested,
    /// The PAC disconnected the call: Call-Disconnect-Notify (PNS side, RFC 2637 s2.13).
    Disconnected {
        /// Result Code ([`crate::wire::codes::cdn`]).
        result_code: u8,
        /// Error Code.
        error_code: u8,
        /// Cause Code.
        cause_code: u16,
    },
    /// We cleared it (our Call-Clear-Request was answered, or we sent the CDN).
    Local,
    /// The control connection closed.
    ControlClosed,
}

/// Something a control connection reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlEvent {
    /// SCCRQ/SCCRP exchanged: the control connection is up. `peer` is what the peer sent.
    Established {
        /// The peer's Start-Control-Connection-Request or -Reply.
        peer: StartControl,
    },
    /// PAC role: an Outgoing-Call-Request arrived; answer it with
    /// [`crate::control::Control::accept_call`] or [`crate::control::Control::reject_call`].
    CallRequested {
        /// The PNS's call ID.
        peer_call_id: u16,
        /// The PNS's Packet Receive Window Size.
        peer_window: u16,
        /// Call Serial Number.
        serial: u16,
    },
    /// PNS role: an Incoming-Call-Request arrived; answer with
    /// [`crate::control::Control::accept_incoming_call`] or
    /// [`crate::control::Control::reject_incoming_call`].
    IncomingCallRequested {
        /// The PAC's call ID.
        peer_call_id: u16,
        /// Call Serial Number.
        serial: u16,
    },
    /// A call is up (PNS: OCRP with result "connected"; PAC: we sent it).
    CallUp {
        /// Our call ID (the Key of GRE packets we receive).
        call_id: u16,
        /// The peer's call ID (the Key of GRE packets we send).
        peer_call_id: u16,
        /// The peer's Packet Receive Window Size.
        peer_window: u16,
    },
    /// A call is over.
    CallDown {
        /// Our call ID.
        call_id: u16,
        /// Why.
        reason: CallEndReason,
    },
    /// Set-Link-Info received and stored (GRE carries no HDLC framing, so nothing changes on
    /// the data path, RFC 2637 s2.15).
    LinkInfo {
        /// Our call ID.
        call_id: u16,
        /// Send ACCM.
        send_accm: u32,
        /// Receive ACCM.
        recv_accm: u32,
    },
    /// WAN-Error-Notify received (RFC 2637 s2.14).
    WanError {
        /// Our call ID.
        call_id: u16,
        /// The counters.
        counters: WanErrorNotify,
    },
    /// A message was dropped.
    Dropped(DropReason),
    /// The control connection is closed: close the TCP connection.
    Closed(CloseReason),
}
