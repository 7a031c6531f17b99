//! Events a session reports to its caller.

use crate::data::Cipher;
use crate::push::PushReply;

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// Closed locally.
    Closed,
}

/// Something the caller should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
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
