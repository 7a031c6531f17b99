//! Events and drop reasons of the IKE engine.

use std::net::{IpAddr, SocketAddr};

use crate::crypto::{Encr, IkeSuite, Integ};
use crate::wire::{NotifyType, TrafficSelector};

/// Local handle of an IKE SA (our own SPI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IkeSaId(pub u64);

/// Local handle of a Child SA (sequential, never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildId(pub u64);

/// Why an IKE SA went away.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// The peer deleted it.
    DeletedByPeer,
    /// Closed locally ([`crate::Ike::close`]).
    Closed,
    /// A request was retransmitted until the retry limit without an answer (this is how DPD
    /// detects a dead peer).
    Timeout,
    /// A half-open responder SA never got its IKE_AUTH.
    HalfOpenTimeout,
    /// The IKE SA was replaced by a rekeyed one.
    Rekeyed,
    /// Authentication failed (ours or theirs).
    AuthFailed(String),
    /// The peer answered with an error notify (NO_PROPOSAL_CHOSEN, ...).
    PeerError(NotifyType),
    /// No acceptable proposal / selectors on our side.
    Negotiation(String),
    /// The hard lifetime passed without a rekey.
    Expired,
}

/// Why a Child SA went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildDownReason {
    /// The peer deleted it.
    DeletedByPeer,
    /// Replaced by a rekeyed Child SA.
    Rekeyed,
    /// The redundant SA of a simultaneous rekey (RFC 7296 2.8.1).
    Redundant,
    /// Hard lifetime (time or bytes).
    Expired,
    /// Its IKE SA went down.
    IkeSaDown,
    /// Closed locally.
    Closed,
}

/// Something the caller may want to know; the event stream is the log.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// An IKE SA is established (after IKE_AUTH, or a rekey).
    IkeSaUp {
        /// Handle.
        sa: IkeSaId,
        /// Peer name.
        peer: String,
        /// Remote endpoint.
        remote: SocketAddr,
        /// We were the original initiator.
        initiator: bool,
        /// Our identity (text).
        local_id: String,
        /// The peer's identity (text).
        remote_id: String,
        /// Algorithms.
        suite: IkeSuite,
    },
    /// An IKE SA is gone.
    IkeSaDown {
        /// Handle.
        sa: IkeSaId,
        /// Why.
        reason: DownReason,
    },
    /// An IKE SA was rekeyed: children moved from `old` to `new`.
    IkeSaRekeyed {
        /// Old handle.
        old: IkeSaId,
        /// New handle.
        new: IkeSaId,
    },
    /// A Child SA pair was installed in the SAD.
    ChildSaUp {
        /// Its IKE SA.
        sa: IkeSaId,
        /// Handle.
        child: ChildId,
        /// Inbound SPI (ours).
        spi_in: u32,
        /// Outbound SPI (the peer's).
        spi_out: u32,
        /// Our traffic selectors.
        local_ts: Vec<TrafficSelector>,
        /// The peer's traffic selectors.
        remote_ts: Vec<TrafficSelector>,
        /// Tunnel (true) or transport mode.
        tunnel: bool,
        /// Encryption.
        encr: Encr,
        /// Integrity.
        integ: Option<Integ>,
        /// The Child SA this one rekeys.
        rekey_of: Option<ChildId>,
    },
    /// A Child SA was removed.
    ChildSaDown {
        /// Its IKE SA.
        sa: IkeSaId,
        /// Handle.
        child: ChildId,
        /// Inbound SPI.
        spi_in: u32,
        /// Why.
        reason: ChildDownReason,
    },
    /// NAT detection result (RFC 7296 2.23).
    NatDetected {
        /// IKE SA.
        sa: IkeSaId,
        /// We are behind a NAT (our NAT_DETECTION_SOURCE_IP hash did not match).
        local_behind_nat: bool,
        /// The peer is behind a NAT.
        remote_behind_nat: bool,
    },
    /// Mode config received (initiator) or assigned (responder).
    ModeConfig {
        /// IKE SA.
        sa: IkeSaId,
        /// Internal address.
        address: Option<IpAddr>,
        /// DNS servers.
        dns: Vec<IpAddr>,
        /// Split-include networks.
        split_include: Vec<crate::config::IpPrefix>,
        /// Split DNS domains.
        domains: Vec<String>,
    },
    /// An IKE SA negotiation failed before it was established.
    Failed {
        /// The remote endpoint.
        remote: SocketAddr,
        /// Why.
        reason: DownReason,
    },
}

/// Why an input was dropped. Every drop is counted in [`crate::Stats`]; none changes state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Not a well-formed IKE message.
    Malformed,
    /// No IKE SA with that SPI.
    UnknownSpi,
    /// The SK payload failed its integrity check.
    BadIntegrity,
    /// Message ID outside the window (old retransmission or too new).
    BadMessageId,
    /// A response to no outstanding request.
    UnexpectedResponse,
    /// An exchange not valid in this state.
    UnexpectedExchange,
    /// IKE_SA_INIT without a valid cookie while over the cookie threshold (a cookie was sent).
    CookieRequired,
    /// The half-open limit (total or per source) was reached.
    HalfOpenLimit,
    /// The IKE SA table is full.
    TooManySas,
    /// A fragment was refused (bounds, numbering).
    BadFragment,
    /// An ESP packet for no known SPI.
    EspNoState,
    /// An ESP packet failed processing (see the SA's counters).
    EspFailed,
    /// A NAT-keepalive (counted, nothing to do).
    Keepalive,
}
