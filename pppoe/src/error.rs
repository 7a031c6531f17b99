//! The crate's error (caller mistakes) and the reasons input is dropped (peer misbehaviour).

use crate::wire::WireError;
use thiserror::Error;

/// An error returned to the caller. Remote misbehaviour is never an `Err`: it is a
/// [`DropReason`] in [`Input::Dropped`](crate::Input::Dropped).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid configuration (names the RouterOS property).
    #[error(transparent)]
    Config(#[from] ppp::ConfigError),
    /// From the PPP host (e.g. a protocol not open yet, a buffer too small).
    #[error(transparent)]
    Ppp(#[from] ppp::Error),
    /// A codec error while writing (a buffer too small).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// No such session.
    #[error("no such PPPoE session")]
    NoSession,
}

/// Why an input frame was dropped (counted; the machine stays usable).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// Not a well-formed PPPoE frame or tag list.
    Malformed(WireError),
    /// Addressed to another MAC (or a PADI not broadcast, or from a multicast source).
    NotForUs,
    /// A CODE that makes no sense here or now (a PADI at a client, a PADS while not waiting).
    UnexpectedCode(u8),
    /// The Host-Uniq does not match ours (a reply to another host on the segment).
    HostUniqMismatch,
    /// A PADO from an AC other than `ac-name`.
    AcNameMismatch,
    /// A PADO that does not offer `service-name`, or a PADI for a service not served.
    ServiceNotOffered,
    /// A PADI or PADR without a Service-Name tag (RFC 2516 s5.1, s5.3).
    MissingServiceName,
    /// A PADO/PADS carrying an error tag (reported as an event too).
    ErrorTag(u16),
    /// A session frame or PADT for a session we do not have (or from the wrong MAC/VLAN).
    UnknownSession,
    /// A PADR whose AC-Cookie is missing, forged, for another MAC/VLAN, or expired.
    BadCookie,
    /// The VLAN (or its absence) is not served (`pppoe-over-vlan-range`, `accept-untagged`).
    VlanNotServed,
    /// `max-sessions` reached: no PADO.
    Full,
    /// Too many PADOs waiting out `pado-delay` (bound [`ServerConfig::max_delayed_pados`](crate::ServerConfig::max_delayed_pados)).
    DelayedPadoLimit,
    /// A PADR from a host that already has
    /// [`ServerConfig::max_starting_per_host`](crate::ServerConfig::max_starting_per_host)
    /// sessions that have not started (sent no session frame yet).
    HostStarting,
    /// The PPP layer refused the frame.
    Ppp,
}
