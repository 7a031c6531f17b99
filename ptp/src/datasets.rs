//! Data sets of IEEE 1588-2008 section 8.2.

use crate::config::DelayMechanism;
use crate::wire::{ClockIdentity, ClockQuality, PortIdentity, Time};

/// defaultDS [8.2.1].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultDs {
    /// twoStepFlag (always true: RouterOS is two-step only, seed L22).
    pub two_step: bool,
    /// clockIdentity.
    pub clock_identity: ClockIdentity,
    /// numberPorts.
    pub number_ports: u16,
    /// clockQuality.
    pub clock_quality: ClockQuality,
    /// priority1.
    pub priority1: u8,
    /// priority2.
    pub priority2: u8,
    /// domainNumber.
    pub domain: u8,
    /// slaveOnly.
    pub slave_only: bool,
}

/// currentDS [8.2.2].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CurrentDs {
    /// stepsRemoved.
    pub steps_removed: u16,
    /// offsetFromMaster (last sample).
    pub offset_from_master: Time,
    /// meanPathDelay (filtered).
    pub mean_path_delay: Time,
}

/// parentDS [8.2.3].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentDs {
    /// parentPortIdentity (own identity, port 0, when we are the grandmaster).
    pub parent_port_identity: PortIdentity,
    /// grandmasterIdentity.
    pub grandmaster_identity: ClockIdentity,
    /// grandmasterClockQuality.
    pub grandmaster_clock_quality: ClockQuality,
    /// grandmasterPriority1.
    pub grandmaster_priority1: u8,
    /// grandmasterPriority2.
    pub grandmaster_priority2: u8,
}

/// timePropertiesDS [8.2.4].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimePropertiesDs {
    /// currentUtcOffset.
    pub current_utc_offset: i16,
    /// Flags in the header's second octet layout (leap61 0x01 ... frequencyTraceable 0x20).
    pub flags: u8,
    /// timeSource.
    pub time_source: u8,
}

/// portDS [8.2.5] snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortDs {
    /// portIdentity.
    pub port_identity: PortIdentity,
    /// portState.
    pub port_state: crate::PortState,
    /// logMinDelayReqInterval.
    pub log_min_delay_req_interval: i8,
    /// peerMeanPathDelay (P2P; zero otherwise).
    pub peer_mean_path_delay: Time,
    /// logAnnounceInterval.
    pub log_announce_interval: i8,
    /// announceReceiptTimeout.
    pub announce_receipt_timeout: u8,
    /// logSyncInterval.
    pub log_sync_interval: i8,
    /// delayMechanism.
    pub delay_mechanism: DelayMechanism,
    /// logMinPdelayReqInterval.
    pub log_min_pdelay_req_interval: i8,
    /// versionNumber (2).
    pub version_number: u8,
}
