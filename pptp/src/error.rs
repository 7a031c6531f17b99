//! The crate's error.

/// Errors of the PPTP machines (bad input is a [`crate::DropReason`], not an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is invalid; names the RouterOS property.
    #[error("invalid {property}: {reason}")]
    Config {
        /// The property.
        property: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The operation needs an established control connection.
    #[error("the control connection is not established")]
    NotEstablished,
    /// No such call.
    #[error("no call with id {0}")]
    UnknownCall(u16),
    /// No such control connection.
    #[error("no control connection {0}")]
    UnknownConnection(u64),
    /// The server is disabled (`enabled=no`).
    #[error("the pptp-server is disabled (enabled=no)")]
    Disabled,
    /// `max_connections` control connections are open: refused at accept.
    #[error("too many control connections")]
    ConnectionLimit,
    /// `max_half_open` connections are still unauthenticated and none could be displaced.
    #[error("too many control connections still unauthenticated")]
    HalfOpenLimit,
    /// `max_half_open_per_source` unauthenticated connections from this address.
    #[error("too many unauthenticated control connections from this source")]
    SourceLimit,
    /// The output buffer is too small; nothing was written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available (the workspace's one `BufferTooSmall` shape: `{ need, have }`).
        have: usize,
    },
    /// The peer's receive window is full: the datagram was not sent (counted).
    #[error("the peer's receive window is full")]
    WindowFull,
    /// From the PPP layer.
    #[error("ppp: {0}")]
    Ppp(String),
}

impl From<ppp::Error> for Error {
    fn from(e: ppp::Error) -> Self {
        Error::Ppp(e.to_string())
    }
}

impl From<ppp::ConfigError> for Error {
    fn from(e: ppp::ConfigError) -> Self {
        Error::Ppp(e.to_string())
    }
}
