//! Events a session reports to its caller.

use crate::data::Cipher;
use crate::push::PushReply;

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// No authenticated packet from the peer within `ping-restart` (RouterOS
    /// `keepalive-timeout`).
    PingRestart,
    /// The TLS handshake / key exchange did not finish within the handshake window.
    HandshakeTimeout,
    /// The TLS engine failed (certificate rejected, protocol error, ...).
    Tls(String),
    /// The server refused the credentials (`AUTH_FAILED`), or this server refused them.
    AuthFailed(Option<String>),
    /// The server asked the client to reconnect (`RESTART`).
    Restart(Option<String>),
    /// The peer said goodbye (`EXIT`).
    Exit,
    /// Cipher negotiation failed (no common cipher / cipher not allowed).
    NoCommonCipher(String),
    /// The data keys could not be set up (the AEAD provider declined the cipher without
    /// `aead_fallback`, or a key was refused).
    Crypto(crate::error::CryptoError),
    /// Closed locally.
    Closed,
}

/// Something the caller should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The TLS handshake of a key id finished.
    TlsEstablished {
        /// Key id.
        key_id: u8,
        /// Protocol version ("TLSv1.3").
        version: String,
        /// Cipher suite.
        suite: String,
    },
    /// The peer's key-method-2 message arrived (server side: includes the username).
    PeerHello {
        /// Key id.
        key_id: u8,
        /// Peer's options string.
        options: String,
        /// Username sent by the peer, if any.
        username: Option<String>,
        /// Peer info (`IV_*` lines), if any.
        peer_info: Option<String>,
    },
    /// Client: the server's PUSH_REPLY (after `route-nopull` filtering).
    Pushed(PushReply),
    /// Data channel ready for the first time.
    Up {
        /// Data cipher.
        cipher: Cipher,
        /// Whether keys came from TLS-EKM (else the OpenVPN PRF).
        tls_ekm: bool,
        /// Peer id used in P_DATA_V2 (None = P_DATA_V1).
        peer_id: Option<u32>,
    },
    /// A renegotiation finished; the new key id now sends.
    Rekeyed {
        /// The new key id.
        key_id: u8,
    },
    /// A renegotiation did not finish within the handshake window; its key was dropped,
    /// the current key keeps working and the next attempt comes one `reneg-sec` later.
    RenegotiationFailed {
        /// The abandoned key id.
        key_id: u8,
    },
    /// An old key was retired after the transition window.
    KeyRetired {
        /// The retired key id.
        key_id: u8,
    },
    /// The peer's options string (key method 2) differs from ours in ways OpenVPN warns
    /// about ([`crate::occ::options_warnings`]); informational, the session goes on.
    OptionsWarning {
        /// One line per inconsistent option.
        warnings: Vec<String>,
    },
    /// An OCC_REPLY arrived (the answer to an OCC_REQUEST sent with
    /// [`crate::session::Session::send_occ_request`]).
    OccReply {
        /// The peer's options string.
        options: String,
        /// Differences from ours.
        warnings: Vec<String>,
    },
    /// Client: the server's hard reset carried early-negotiation TLVs (OpenVPN 2.6 stateless
    /// HMAC-cookie handshake); flag 1 = resend the tls-crypt-v2 WKc (`P_CONTROL_WKC_V1`).
    EarlyNegotiation {
        /// `EARLY_NEG_FLAGS` value.
        flags: u16,
    },
    /// Server with `defer_push`: the client asked for its configuration; answer with
    /// [`crate::session::Session::push_reply`] (the [`crate::server::Server`] does so itself
    /// when it has an address pool).
    PushRequested {
        /// The authenticated username, if the client sent one.
        username: Option<String>,
        /// The server's PPP profile (RouterOS `default-profile`): where the address pool,
        /// DNS and routes for this user come from.
        profile: String,
    },
    /// The configured AEAD provider declined the negotiated cipher and, as
    /// `SessionConfig::aead_fallback` allows, the built-in code runs this key instead.
    AeadFallback {
        /// The key id.
        key_id: u8,
        /// The cipher the provider declined.
        cipher: Cipher,
    },
    /// Server: a session that was up has ended (reported by [`crate::server::Server`] when
    /// it removes the session): the accounting stop record.
    Accounting {
        /// Username, if any.
        username: Option<String>,
        /// Address assigned from the pool, if any.
        address: Option<std::net::Ipv4Addr>,
        /// Counters at the end (packets, tunnel bytes both ways, rekeys, ...).
        stats: crate::session::Stats,
        /// From the data channel coming up until the session went down.
        connected_for: std::time::Duration,
        /// Why it ended.
        reason: Option<DownReason>,
    },
    /// The server asked this client to reconnect (`RESTART`, sent by OpenVPN servers that
    /// shut down with `explicit-exit-notify`); `Down(Restart)` follows. The caller should
    /// reconnect at once, to the next `remote` when `next_remote` (`RESTART,[N]`).
    Restart {
        /// `[N]`: advance to the next server in the list.
        next_remote: bool,
        /// Text after `RESTART,`, if any.
        message: Option<String>,
    },
    /// The session is over.
    Down(DownReason),
}

/// Why a packet was dropped ([`crate::session::Input::Dropped`],
/// [`crate::server::ServerInput::Dropped`]). Remote misbehaviour is never an error for the
/// caller: it is counted and named here, and the session stays usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DropReason {
    /// The packet does not parse (header, ack array, opcode, TLVs, ...).
    #[error("malformed: {0}")]
    Malformed(#[from] crate::error::WireError),
    /// Protection refused it: bad tls-auth HMAC / tls-crypt tag / data HMAC / AEAD tag,
    /// replayed packet id, bad CBC padding, compression framing, or a buffer too small.
    #[error("{0}")]
    Crypto(#[from] crate::error::CryptoError),
    /// The session is down.
    #[error("session is down")]
    SessionDown,
    /// A `P_DATA_V2` peer id that is not this session's.
    #[error("unknown peer id {0}")]
    UnknownPeerId(u32),
    /// No data key for this key id (not yet negotiated, or retired).
    #[error("no data key for key id {key_id}")]
    NoDataKey {
        /// The packet's key id.
        key_id: u8,
    },
    /// A control packet with another session id than the peer's.
    #[error("foreign session id ({opcode:?} key id {key_id})")]
    ForeignSessionId {
        /// Its opcode.
        opcode: crate::wire::Opcode,
        /// Its key id.
        key_id: u8,
    },
    /// Acknowledgements for a session id that is not ours.
    #[error("acks for another session")]
    ForeignAcks,
    /// A control packet other than the expected hard reset before the session exists.
    #[error("{0:?} before the hard reset")]
    BeforeHardReset(crate::wire::Opcode),
    /// A control packet for a key id this session has no state for.
    #[error("unknown key id {key_id}")]
    UnknownKeyId {
        /// The key id.
        key_id: u8,
    },
    /// tls-crypt-v2 server: a packet without the client's wrapped key (WKc) first.
    #[error("tls-crypt-v2: no client key (WKc)")]
    TlsCryptV2KeyMissing,
    /// tls-crypt-v2 server: the verify hook refused the client key's metadata.
    #[error("tls-crypt-v2 client key refused by the verify hook")]
    TlsCryptV2Rejected,
    /// `fragment`: a piece that contradicts its packet, or an MTU test packet.
    #[error("fragment: {0}")]
    Fragment(&'static str),
    /// Server: a packet from an address with no session that cannot start one.
    #[error("packet from unknown client ({0:?})")]
    UnknownClient(crate::wire::Opcode),
    /// Server: shutting down, new clients are refused.
    #[error("server is shutting down")]
    ShuttingDown,
    /// Server: a rate limit on answering strangers (stateless replies, or sessions created
    /// without a cookie), per source prefix or the global ceiling.
    #[error("rate limit on new clients")]
    RateLimited,
    /// Server: stateless replies are queued faster than `poll_transmit` drains them.
    #[error("stateless reply queue full")]
    ReplyQueueFull,
    /// Server: `max_clients` sessions exist.
    #[error("client table full")]
    ClientTableFull,
    /// Server: `max_half_open` sessions are still in their handshake.
    #[error("too many unfinished handshakes")]
    HalfOpenLimit,
    /// Server: this source prefix already has `max_half_open_per_source` handshakes going.
    #[error("too many unfinished handshakes from this source")]
    HalfOpenPerSource,
    /// Server: the session factory failed (TLS configuration, RNG).
    #[error("session factory failed")]
    FactoryFailed,
    /// Server: a handshake packet whose session cookie is missing, forged, foreign or
    /// expired.
    #[error("missing, invalid or expired session cookie")]
    BadCookie,
    /// Server: a control packet for a session from another address (only authenticated
    /// data packets may float).
    #[error("control packet from another address")]
    ControlFromOtherAddress,
}

impl DropReason {
    /// A short stable label for counting drops by kind (log summaries, metrics).
    pub fn kind(&self) -> &'static str {
        use crate::error::CryptoError as C;
        match self {
            DropReason::Malformed(_) => "malformed",
            DropReason::Crypto(C::Replay { .. }) => "replay",
            DropReason::Crypto(C::BadAuth { .. }) => "bad-auth",
            DropReason::Crypto(C::Wire(_)) => "malformed",
            DropReason::Crypto(_) => "crypto",
            DropReason::SessionDown => "session-down",
            DropReason::UnknownPeerId(_) => "unknown-peer-id",
            DropReason::NoDataKey { .. } => "no-data-key",
            DropReason::ForeignSessionId { .. } | DropReason::ForeignAcks => "foreign-session",
            DropReason::BeforeHardReset(_) => "before-reset",
            DropReason::UnknownKeyId { .. } => "unknown-key-id",
            DropReason::TlsCryptV2KeyMissing => "tls-crypt-v2-no-key",
            DropReason::TlsCryptV2Rejected => "tls-crypt-v2-rejected",
            DropReason::Fragment(_) => "fragment",
            DropReason::UnknownClient(_) => "unknown-client",
            DropReason::ShuttingDown => "shutting-down",
            DropReason::RateLimited => "rate-limited",
            DropReason::ReplyQueueFull => "reply-queue-full",
            DropReason::ClientTableFull => "table-full",
            DropReason::HalfOpenLimit => "half-open-limit",
            DropReason::HalfOpenPerSource => "half-open-per-source",
            DropReason::FactoryFailed => "factory-failed",
            DropReason::BadCookie => "bad-cookie",
            DropReason::ControlFromOtherAddress => "control-from-other-address",
        }
    }
}
