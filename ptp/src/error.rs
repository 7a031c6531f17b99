//! The crate's error type (caller mistakes), and the typed reasons for dropping input.

use crate::wire::{MessageType, WireError};
use crate::PortState;

/// Errors returned to the caller for its own mistakes (remote misbehaviour is a [`DropReason`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid configuration.
    #[error("invalid config field `{field}`: {reason}")]
    Config {
        /// RouterOS property (or crate field) name.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Output buffer too small; the message stays queued and the buffer is untouched.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes offered.
        have: usize,
    },
    /// Port index out of range.
    #[error("no port with index {0}")]
    NoSuchPort(usize),
    /// Codec error.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Why an input was dropped. Every drop is counted per port and reported as an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DropReason {
    /// The bytes did not decode.
    #[error("malformed: {0}")]
    Malformed(WireError),
    /// domainNumber differs from the instance's domain (domain isolation).
    #[error("domain {found} is not ours")]
    WrongDomain {
        /// Domain in the message.
        found: u8,
    },
    /// transportSpecific differs from the profile's.
    #[error("transportSpecific {found} does not match the profile")]
    WrongTransportSpecific {
        /// Value in the message.
        found: u8,
    },
    /// Sent by this clock (multicast loopback or a loop between our own ports).
    #[error("message from our own clock")]
    FromSelf,
    /// Port is not operational (INITIALIZING, FAULTY, DISABLED).
    #[error("port not operational")]
    PortNotOperational,
    /// 802.1AS: Announce / Sync / Follow_Up on a port that is not asCapable (no working peer
    /// delay measurement, or meanLinkDelay above neighborPropDelayThresh).
    #[error("port is not asCapable (802.1AS)")]
    NotAsCapable,
    /// Event message without a receive timestamp.
    #[error("event message without a receive timestamp")]
    MissingRxTimestamp,
    /// Message type not expected in this port state.
    #[error("{message:?} not expected in state {state:?}")]
    UnexpectedInState {
        /// Message type.
        message: MessageType,
        /// Port state.
        state: PortState,
    },
    /// Sync/Follow_Up/Delay_Resp not from the selected parent.
    #[error("not from our parent port")]
    NotFromParent,
    /// Response addressed to another port (requestingPortIdentity) or a stale sequenceId.
    #[error("response does not match an outstanding request")]
    NoMatchingRequest,
    /// Announce with stepsRemoved >= 255 [9.3.2.5].
    #[error("stepsRemoved too large")]
    StepsRemovedTooLarge,
    /// Foreign master table full, and the Announce's sender is not better than any entry it
    /// could displace (see [`crate::Clock::handle_input`]).
    #[error("foreign master table full")]
    ForeignTableFull,
    /// correctionField saturated or beyond one second.
    #[error("absurd correctionField")]
    AbsurdCorrection,
    /// Computed path delay negative beyond tolerance or above one second.
    #[error("path delay out of range")]
    DelayOutOfRange,
    /// Offset sample far outside the locked servo's range (single bad sample).
    #[error("offset outlier ignored")]
    OffsetOutlier,
    /// Message type we do not act on (Signaling) or management request we do not support.
    #[error("unsupported {0:?}")]
    Unsupported(MessageType),
}
