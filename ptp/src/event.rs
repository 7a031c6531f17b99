//! Events: everything observable comes out of [`crate::Clock::poll_event`].

use crate::error::DropReason;
use crate::servo::ServoState;
use crate::wire::{ClockIdentity, MessageType, PortIdentity, Time};
use crate::PortState;

/// An observable happening.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A port changed state.
    PortStateChanged {
        /// Port index (0-based; portNumber is index + 1).
        port: usize,
        /// Old state.
        from: PortState,
        /// New state.
        to: PortState,
    },
    /// The selected grandmaster / parent changed.
    ParentChanged {
        /// New grandmaster.
        grandmaster: ClockIdentity,
        /// New parent port (own identity, port 0, when we are grandmaster).
        parent: PortIdentity,
    },
    /// Step the local PTP clock: add `by` (= -offset) to it. Never emitted in free-running mode.
    StepClock {
        /// Amount to add.
        by: Time,
    },
    /// Set the local clock's frequency adjustment (positive = faster), ppb. Never emitted in
    /// free-running mode.
    AdjustFrequency {
        /// Parts per billion.
        ppb: f64,
    },
    /// A new offset sample went through the servo.
    Offset {
        /// Slave port index.
        port: usize,
        /// offsetFromMaster (slave - master): what the servo used (the single sample, equal
        /// to `raw_offset`), or in free-running mode with `fitted_offset` the robust line
        /// estimate (see [`crate::servo::SyncTrend`]).
        offset: Time,
        /// This single Sync's offset, t2 - t1 - corrections - path delay (linuxptp's
        /// free-running `master offset`).
        raw_offset: Time,
        /// Path delay used.
        path_delay: Time,
        /// Estimated frequency error of the local clock against the master, ppb.
        freq_drift_ppb: f64,
        /// Servo state after the sample.
        servo: ServoState,
    },
    /// A new path delay (E2E meanPathDelay or P2P meanLinkDelay), filtered.
    PathDelay {
        /// Port index.
        port: usize,
        /// Filtered delay.
        delay: Time,
    },
    /// A management SET changed a data set member (1588-2008 15.3); the caller may want to
    /// persist it (RouterOS would write it back to `/system ptp`). The BMCA already ran with
    /// the new value.
    ManagementSet {
        /// managementId ([`crate::wire::management::id`]).
        management_id: u16,
        /// New value (priority1, priority2, domain, or slaveOnly as 0/1).
        value: u8,
    },
    /// 802.1AS: a port's asCapable changed (peer delay working and meanLinkDelay within
    /// neighborPropDelayThresh, or more than three Pdelay_Req in a row unanswered).
    AsCapableChanged {
        /// Port index.
        port: usize,
        /// New value.
        as_capable: bool,
    },
    /// Input was dropped.
    Dropped {
        /// Port index.
        port: usize,
        /// Why.
        reason: DropReason,
    },
    /// The caller reported that a transmit timestamp will never come (or the token table
    /// overflowed); the dependent message (Follow_Up, delay computation) was abandoned.
    TxTimestampMissing {
        /// Port index.
        port: usize,
        /// Message that lacked its timestamp.
        message: MessageType,
    },
}
