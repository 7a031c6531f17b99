//! Management TLV payloads [1588-2008 15.5] for the data sets `pmc` reads.

use super::types::{ClockIdentity, ClockQuality, PortIdentity, TimeInterval};

/// managementId values [1588-2008 table 40].
pub mod id {
    /// NULL_MANAGEMENT.
    pub const NULL_MANAGEMENT: u16 = 0x0000;
    /// CLOCK_DESCRIPTION.
    pub const CLOCK_DESCRIPTION: u16 = 0x0001;
    /// DEFAULT_DATA_SET.
    pub const DEFAULT_DATA_SET: u16 = 0x2000;
    /// CURRENT_DATA_SET.
    pub const CURRENT_DATA_SET: u16 = 0x2001;
    /// PARENT_DATA_SET.
    pub const PARENT_DATA_SET: u16 = 0x2002;
    /// TIME_PROPERTIES_DATA_SET.
    pub const TIME_PROPERTIES_DATA_SET: u16 = 0x2003;
    /// PORT_DATA_SET.
    pub const PORT_DATA_SET: u16 = 0x2004;
    /// PRIORITY1.
    pub const PRIORITY1: u16 = 0x2005;
    /// PRIORITY2.
    pub const PRIORITY2: u16 = 0x2006;
    /// DOMAIN.
    pub const DOMAIN: u16 = 0x2007;
    /// SLAVE_ONLY.
    pub const SLAVE_ONLY: u16 = 0x2008;
}

/// managementErrorId NOT_SUPPORTED.
pub const ERROR_NOT_SUPPORTED: u16 = 0x0006;
/// managementErrorId NO_SUCH_ID.
pub const ERROR_NO_SUCH_ID: u16 = 0x0002;
/// managementErrorId WRONG_LENGTH.
pub const ERROR_WRONG_LENGTH: u16 = 0x0003;
/// managementErrorId WRONG_VALUE.
pub const ERROR_WRONG_VALUE: u16 = 0x0004;
/// managementErrorId NOT_SETABLE.
pub const ERROR_NOT_SETABLE: u16 = 0x0005;

/// defaultDS as carried in DEFAULT_DATA_SET (20 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultDsTlv {
    /// twoStepFlag.
    pub two_step: bool,
    /// slaveOnly.
    pub slave_only: bool,
    /// numberPorts.
    pub number_ports: u16,
    /// priority1.
    pub priority1: u8,
    /// clockQuality.
    pub clock_quality: ClockQuality,
    /// priority2.
    pub priority2: u8,
    /// clockIdentity.
    pub clock_identity: ClockIdentity,
    /// domainNumber.
    pub domain: u8,
}

impl DefaultDsTlv {
    /// Encode.
    pub fn to_bytes(&self) -> [u8; 20] {
        let mut b = [0u8; 20];
        b[0] = u8::from(self.two_step) | (u8::from(self.slave_only) << 1);
        b[2..4].copy_from_slice(&self.number_ports.to_be_bytes());
        b[4] = self.priority1;
        b[5..9].copy_from_slice(&self.clock_quality.to_bytes());
        b[9] = self.priority2;
        b[10..18].copy_from_slice(&self.clock_identity.0);
        b[18] = self.domain;
        b
    }

    /// Decode.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; 20] = b.get(..20)?.try_into().ok()?;
        let mut id = [0u8; 8];
        id.copy_from_slice(&b[10..18]);
        Some(DefaultDsTlv {
            two_step: b[0] & 1 != 0,
            slave_only: b[0] & 2 != 0,
            number_ports: u16::from_be_bytes([b[2], b[3]]),
            priority1: b[4],
            clock_quality: ClockQuality::from_bytes(&[b[5], b[6], b[7], b[8]]),
            priority2: b[9],
            clock_identity: ClockIdentity(id),
            domain: b[18],
        })
    }
}

/// currentDS (18 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentDsTlv {
    /// stepsRemoved.
    pub steps_removed: u16,
    /// offsetFromMaster.
    pub offset_from_master: TimeInterval,
    /// meanPathDelay.
    pub mean_path_delay: TimeInterval,
}

impl CurrentDsTlv {
    /// Encode.
    pub fn to_bytes(&self) -> [u8; 18] {
        let mut b = [0u8; 18];
        b[0..2].copy_from_slice(&self.steps_removed.to_be_bytes());
        b[2..10].copy_from_slice(&self.offset_from_master.0.to_be_bytes());
        b[10..18].copy_from_slice(&self.mean_path_delay.0.to_be_bytes());
        b
    }
}

/// parentDS (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentDsTlv {
    /// parentPortIdentity.
    pub parent_port_identity: PortIdentity,
    /// grandmasterPriority1.
    pub gm_priority1: u8,
    /// grandmasterClockQuality.
    pub gm_clock_quality: ClockQuality,
    /// grandmasterPriority2.
    pub gm_priority2: u8,
    /// grandmasterIdentity.
    pub gm_identity: ClockIdentity,
}

impl ParentDsTlv {
    /// Encode (parentStats 0, observed variance 0xFFFF, observed phase change rate 0x7FFFFFFF,
    /// as linuxptp reports when it does not compute them).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..10].copy_from_slice(&self.parent_port_identity.to_bytes());
        b[12..14].copy_from_slice(&0xFFFFu16.to_be_bytes());
        b[14..18].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
        b[18] = self.gm_priority1;
        b[19..23].copy_from_slice(&self.gm_clock_quality.to_bytes());
        b[23] = self.gm_priority2;
        b[24..32].copy_from_slice(&self.gm_identity.0);
        b
    }
}

/// timePropertiesDS (4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimePropertiesTlv {
    /// currentUtcOffset.
    pub current_utc_offset: i16,
    /// flags octet (leap61 0x01, leap59 0x02, utcOffsetValid 0x04, ptpTimescale 0x08,
    /// timeTraceable 0x10, frequencyTraceable 0x20).
    pub flags: u8,
    /// timeSource.
    pub time_source: u8,
}

impl TimePropertiesTlv {
    /// Encode.
    pub fn to_bytes(&self) -> [u8; 4] {
        let o = self.current_utc_offset.to_be_bytes();
        [o[0], o[1], self.flags, self.time_source]
    }
}

/// portDS (26 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortDsTlv {
    /// portIdentity.
    pub port_identity: PortIdentity,
    /// portState (1588 enumeration).
    pub port_state: u8,
    /// logMinDelayReqInterval.
    pub log_min_delay_req_interval: i8,
    /// peerMeanPathDelay.
    pub peer_mean_path_delay: TimeInterval,
    /// logAnnounceInterval.
    pub log_announce_interval: i8,
    /// announceReceiptTimeout.
    pub announce_receipt_timeout: u8,
    /// logSyncInterval.
    pub log_sync_interval: i8,
    /// delayMechanism (1 E2E, 2 P2P).
    pub delay_mechanism: u8,
    /// logMinPdelayReqInterval.
    pub log_min_pdelay_req_interval: i8,
    /// versionNumber.
    pub version_number: u8,
}

impl PortDsTlv {
    /// Encode.
    pub fn to_bytes(&self) -> [u8; 26] {
        let mut b = [0u8; 26];
        b[0..10].copy_from_slice(&self.port_identity.to_bytes());
        b[10] = self.port_state;
        b[11] = self.log_min_delay_req_interval as u8;
        b[12..20].copy_from_slice(&self.peer_mean_path_delay.0.to_be_bytes());
        b[20] = self.log_announce_interval as u8;
        b[21] = self.announce_receipt_timeout;
        b[22] = self.log_sync_interval as u8;
        b[23] = self.delay_mechanism;
        b[24] = self.log_min_pdelay_req_interval as u8;
        b[25] = self.version_number & 0x0F;
        b
    }
}
