//! Events and drop reasons.

use std::net::SocketAddr;

use crate::PeerId;

/// Why an input was dropped. Every drop is counted in [`Stats`](crate::Stats); none changes state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Not a well-formed message (bad type, bad length).
    Malformed,
    /// mac1 did not verify.
    BadMac1,
    /// Under load and mac2 missing/invalid: a cookie reply was sent instead.
    CookieRequired,
    /// A handshake AEAD failed (wrong key, tampering).
    BadHandshakeAuth,
    /// Handshake from a static key that is not a configured peer.
    UnknownPeerKey,
    /// Initiation timestamp not newer than the last accepted one (replay).
    StaleTimestamp,
    /// Second initiation from one peer within 20 ms.
    InitiationFlood,
    /// Diffie-Hellman result was all zeros (low-order public key).
    ZeroDh,
    /// Receiver index unknown (or of the wrong kind for the message).
    UnknownIndex,
    /// Transport data failed authentication.
    BadTransportAuth,
    /// Counter outside the anti-replay window, already seen, or past RejectAfterMessages.
    Replay,
    /// The keypair is older than RejectAfterTime.
    ExpiredKeypair,
    /// Decrypted packet is not IPv4/IPv6 or its length field is inconsistent.
    BadInnerPacket,
    /// Inner source address not in the sending peer's allowed addresses.
    SourceNotAllowed,
    /// Outbound: no peer's allowed addresses contain the destination.
    NoRoute,
    /// Outbound: the peer has no endpoint to send to.
    NoEndpoint,
    /// Cookie reply did not decrypt or answered nothing we sent.
    BadCookieReply,
    /// The peer or interface is disabled.
    Disabled,
    /// Staged-packet queue full while waiting for a handshake.
    QueueFull,
    /// Handshake message over its source's rate (20/s, burst 5) while under load.
    RateLimited,
}

/// Something the caller may want to know about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A handshake completed and a new keypair is in use.
    HandshakeComplete {
        /// Peer.
        peer: PeerId,
        /// Whether we were the initiator.
        initiator: bool,
    },
    /// The peer's endpoint changed (roaming on an authenticated packet).
    EndpointChanged {
        /// Peer.
        peer: PeerId,
        /// New endpoint.
        endpoint: SocketAddr,
    },
    /// A handshake initiation was sent.
    HandshakeInitiated {
        /// Peer.
        peer: PeerId,
        /// 0 for the first, then 1, 2, ... for retries.
        attempt: u32,
    },
    /// Gave up after `attempts` initiations without a response (RekeyAttemptTime).
    HandshakeGaveUp {
        /// Peer.
        peer: PeerId,
        /// Number of initiations sent.
        attempts: u32,
    },
    /// All key material of the peer was erased (3 x RejectAfterTime without a new handshake).
    KeysWiped {
        /// Peer.
        peer: PeerId,
    },
    /// A cookie reply was received and stored; the next handshake carries mac2.
    CookieReceived {
        /// Peer.
        peer: PeerId,
    },
}
