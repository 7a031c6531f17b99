//! Events, the input outcome, the transmit record and the session key.

use crate::error::DropReason;
use crate::wire::{Code, Mac};

/// A PPPoE session: the peer's MAC and the SESSION_ID, which together name it uniquely
/// (RFC 2516 s5; S0 L533). On the server it is the PPP host's key `K`.
pub type SessionKey = (Mac, u16);

/// An Ethernet frame to send (complete: addresses, VLAN tags, EtherType, PPPoE header;
/// no padding, no FCS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The destination MAC (also in `frame[0..6]`): broadcast only for a PADI.
    pub dst: Mac,
    /// The frame.
    pub frame: Vec<u8>,
}

/// What became of one input frame.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input<'a> {
    /// A discovery packet, consumed (poll for transmits and events).
    Discovery,
    /// A PPP control packet, consumed by the session.
    Control,
    /// A network-layer datagram of `session` (IPv4 0x0021, IPv6 0x0057), borrowed from the
    /// input frame (decrypted in place with MPPE).
    Datagram {
        /// The session.
        session: SessionKey,
        /// PPP protocol number.
        protocol: u16,
        /// The datagram.
        payload: &'a [u8],
    },
    /// LAC role: a PPP frame of a session handed over to an LNS (see
    /// [`Server::is_forwarded`](crate::Server::is_forwarded)): relay it (e.g.
    /// `l2tp::lac::Lac::handle_frame`).
    Forward {
        /// The session.
        session: SessionKey,
        /// The PPP frame (protocol field first).
        frame: &'a [u8],
    },
    /// Dropped and counted.
    Dropped(DropReason),
}

/// One AC seen by the client or the scanner (RouterOS `scan`: service, mac-address,
/// ac-name; S0 L609-615).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The AC's MAC.
    pub ac_mac: Mac,
    /// Its AC-Name (lossy UTF-8).
    pub ac_name: String,
    /// The services it listed, in order.
    pub services: Vec<String>,
}

/// Why a client session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// The AC sent a PADT (its Generic-Error text, if any).
    PeerPadt(String),
    /// The PPP session ended (LCP terminate, keepalive, authentication failure...); we sent a
    /// PADT.
    PppEnded,
}

/// Something the client's caller may log or must act on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A PADI went out (`attempt` 1 is the first of a dial); the next one follows after
    /// `timeout` without a usable PADO.
    PadiSent {
        /// 1-based attempt of this discovery round.
        attempt: u32,
        /// Wait before the next PADI.
        timeout: std::time::Duration,
    },
    /// A PADO arrived (whether or not it was taken: `taken`).
    Offer {
        /// The offer.
        offer: Offer,
        /// True if this PADO was chosen (a PADR follows).
        taken: bool,
    },
    /// A PADR went out.
    PadrSent {
        /// 1-based attempt.
        attempt: u32,
        /// Wait before the next PADR.
        timeout: std::time::Duration,
    },
    /// A PADO or PADS carried an error tag (Service-Name-Error, AC-System-Error,
    /// Generic-Error); a PADS with one ends this discovery round.
    DiscoveryError {
        /// PADO or PADS.
        code: Code,
        /// The error tag's type.
        tag_type: u16,
        /// Its text (lossy UTF-8).
        text: String,
    },
    /// PADS received: the session is up at the PPPoE level and PPP (LCP) starts.
    SessionUp {
        /// The AC's MAC and the SESSION_ID.
        session: SessionKey,
        /// The AC-Name of the chosen PADO.
        ac_name: String,
        /// The service in the PADR.
        service: String,
        /// RFC 4638 PPP-Max-Payload the AC granted, if any.
        ppp_max_payload: Option<u16>,
    },
    /// The session ended; a PADT was sent unless the AC sent one. The PPP host redials
    /// (after `redial_delay`, or on demand with `dial-on-demand`).
    SessionDown {
        /// The session.
        session: SessionKey,
        /// Why.
        reason: DownReason,
    },
    /// From the PPP client: status, PPP events, `Up` (address, default route, peer DNS).
    Ppp(ppp::host::ClientEvent),
}

/// Why a server session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// The client sent a PADT.
    PeerPadt,
    /// The PPP session ended (we sent a PADT).
    Ppp(ppp::TerminateReason),
    /// `one-session-per-host`: the same MAC opened a new session (we sent a PADT).
    Replaced,
    /// [`Server::terminate`](crate::Server::terminate) (we sent a PADT).
    Admin,
}

/// Something the server's caller may log or must act on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A PADS went out: the session exists and PPP (LCP) starts.
    SessionStarted {
        /// Client MAC and SESSION_ID.
        session: SessionKey,
        /// The service.
        service: String,
        /// The client's VLAN tags (replies use them).
        vlans: crate::wire::VlanStack,
    },
    /// The session is gone (PADT sent or received). Its key may be reused later.
    SessionEnded {
        /// The session.
        session: SessionKey,
        /// Why.
        reason: EndReason,
    },
    /// From the PPP host: authentication requests (RADIUS), PPP events, accounting.
    /// (`Ended` is reported as [`ServerEvent::SessionEnded`].)
    Host(ppp::host::ServerEvent<SessionKey>),
}
