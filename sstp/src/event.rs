//! Events of the [`Client`](crate::Client) and the [`Server`](crate::Server), and the server's
//! connection key and transmit record.

use crate::binding::BindingKey;
use crate::error::CloseReason;
use crate::wire::HashProtocol;

/// A server connection (one TCP connection), chosen by the server at
/// [`Server::accept`](crate::Server::accept); also the key of its PPP session in the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sstp-{}", self.0)
    }
}

/// Bytes for one connection's socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The connection.
    pub conn: ConnId,
    /// Ciphertext (TLS records), or cleartext HTTP to a proxy.
    pub bytes: Vec<u8>,
}

/// Something the client's caller must act on or may log.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Open a TCP connection to `host:port` (the proxy with `http-proxy`, else the server),
    /// then call [`Client::connected`](crate::Client::connected) with a fresh TLS session.
    Connect {
        /// Address or name.
        host: String,
        /// Port.
        port: u16,
    },
    /// Call Connected sent: the tunnel is bound (the hash protocol used).
    CallConnected {
        /// SHA-1 or SHA-256.
        hash: HashProtocol,
        /// The binding used the zero HLAK (PAP/CHAP).
        zero_hlak: bool,
    },
    /// From the PPP client: status, authentication, `Up` (addresses, routes, DNS), PPP events.
    Ppp(ppp::host::ClientEvent),
    /// The connection is over: close the TCP socket once the pending transmits are written.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Something the server's caller must act on or may log.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A valid SSTP HTTP request arrived (200 sent).
    Request {
        /// The connection.
        conn: ConnId,
        /// Its `Host` field.
        host: Option<String>,
        /// Its `SSTPCORRELATIONID`.
        correlation_id: Option<String>,
    },
    /// Call Connected verified: the call is up (half-open no more).
    CallConnected {
        /// The connection.
        conn: ConnId,
        /// Hash protocol the client chose.
        hash: HashProtocol,
        /// Whether the binding used the PPP keys or the zero HLAK.
        key: BindingKey,
    },
    /// From the PPP host (authentication requests, PPP events, accounting, `Ended`).
    Host(ppp::host::ServerEvent<ConnId>),
    /// The connection is over: close its socket (its last bytes were handed to
    /// [`Server::poll_transmit`](crate::Server::poll_transmit)).
    Closed {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
}
