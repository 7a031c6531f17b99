//! The crate's errors (for the caller's mistakes) and the typed reasons of drops and closes
//! (for the peer's).

use crate::binding::BindingError;
use crate::http::HttpError;
use crate::tls::TlsError;
use crate::wire::{MessageType, StatusInfo, WireError};

/// A configuration field that does not validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// The RouterOS property (or field) name.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl ConfigError {
    /// An error for `field`.
    pub fn new(field: &'static str, reason: &str) -> Self {
        ConfigError {
            field,
            reason: reason.into(),
        }
    }
}

/// Errors a call can return (the caller's mistake or a state that does not allow the call).
/// A misbehaving peer never produces one: that becomes a drop or a close reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid configuration.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// No such connection.
    #[error("no such connection")]
    NoConnection,
    /// The call needs a state the machine is not in (e.g. sending data before PPP is up).
    #[error("not connected")]
    NotConnected,
    /// From the PPP layer.
    #[error("ppp: {0}")]
    Ppp(String),
    /// A frame or datagram too large for SSTP.
    #[error("wire: {0}")]
    Wire(#[from] WireError),
    /// From the TLS adapter on the data path.
    #[error("tls: {0}")]
    Tls(#[from] TlsError),
}

impl From<ppp::Error> for Error {
    fn from(e: ppp::Error) -> Self {
        Error::Ppp(e.to_string())
    }
}

/// Why [`Server::accept`](crate::Server::accept) refused a connection (close the socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// `enabled=no`.
    #[error("the SSTP server is disabled")]
    Disabled,
    /// `max-half-open` connections are still negotiating.
    #[error("too many connections still negotiating")]
    HalfOpenLimit,
    /// `max-half-open-per-source` from this address.
    #[error("too many negotiating connections from this source")]
    SourceLimit,
    /// `max-connections` held.
    #[error("connection limit reached")]
    ConnectionLimit,
}

/// Why a packet or frame was dropped without closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// A PPP data frame before Call Connected (MS-SSTP 3.3.1.1.1: only PPP control frames pass
    /// in Server_Call_Connected_Pending).
    DataBeforeConnected,
    /// A data packet before the PPP layer was started (client before Call Connect Ack).
    DataBeforeAck,
    /// Any packet while closing (abort or disconnect in progress).
    Closing,
    /// The PPP layer discarded the frame.
    Ppp,
}

/// Why a connection was closed or aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortCause {
    /// A message not acceptable in the state (a duplicate Call Connect Request, Call Connected
    /// before authentication, ...).
    Unexpected(MessageType),
    /// A control message whose attributes are wrong for its type (missing, extra, unknown).
    BadAttributes(MessageType),
    /// A control packet that does not parse.
    Malformed(WireError),
    /// Call Connected failed crypto binding verification.
    Binding(BindingError),
    /// The server refused our Call Connect Request (Call Connect Nak).
    Refused(Vec<StatusInfo>),
    /// Call Connect Requests refused too often (server side).
    RetryCountExceeded,
    /// The PPP host refused a session (max-sessions, a key in use).
    SessionRefused,
    /// The negotiation timer expired.
    NegotiationTimeout,
    /// The hello timer: no answer to an Echo Request.
    HelloTimeout,
}

/// How a connection ended ([`ClientEvent::Closed`](crate::ClientEvent::Closed),
/// [`ServerEvent::Closed`](crate::ServerEvent::Closed)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Call Disconnect / Disconnect Ack (graceful).
    Disconnected {
        /// The peer sent Call Disconnect.
        by_peer: bool,
    },
    /// We aborted (sent Call Abort) because of `cause`.
    AbortedLocally(AbortCause),
    /// The peer aborted (sent Call Abort), with its status when it gave one.
    AbortedByPeer(Option<StatusInfo>),
    /// The HTTP exchange failed (server: refused request, answered with an error status;
    /// client: a non-200 response).
    Http(HttpError),
    /// No HTTP request (server) or response (client) within the timer.
    HttpTimeout,
    /// SSTP packets could not be delineated in the stream: closed without a message
    /// (MS-SSTP 3.1.5.1).
    Framing(WireError),
    /// The TLS layer failed (handshake, certificate, record).
    Tls(TlsError),
    /// The proxy refused `CONNECT` (its status).
    Proxy(u16),
    /// The TCP connection closed under us.
    TransportClosed,
    /// The application closed it ([`Server::close`](crate::Server::close) /
    /// [`Client::hang_up`](crate::Client::hang_up) while not connected).
    Local,
    /// The server's half-open table was full and a newer connection displaced this one
    /// before its Call Connected ([`ServerConfig::half_open_min_age`](crate::ServerConfig)).
    Evicted,
}
