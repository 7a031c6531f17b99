//! The 34-byte common header [1588-2008 13.3; linuxptp `msg.h` `struct ptp_header`].
//!
//! ```text
//!  0      transportSpecific(4) | messageType(4)
//!  1      minorVersionPTP(4, 1588-2019; reserved in 2008) | versionPTP(4) = 2
//!  2..4   messageLength
//!  4      domainNumber
//!  5      minorSdoId (1588-2019; reserved in 2008)
//!  6..8   flagField
//!  8..16  correctionField (TimeInterval, ns * 2^16)
//! 16..20  messageTypeSpecific (reserved in 2008)
//! 20..30  sourcePortIdentity
//! 30..32  sequenceId
//! 32      controlField
//! 33      logMessageInterval
//! ```

use super::types::{PortIdentity, TimeInterval};
use super::WireError;

/// `messageType` values [1588-2008 table 19].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 0x0, event.
    Sync,
    /// 0x1, event.
    DelayReq,
    /// 0x2, event.
    PdelayReq,
    /// 0x3, event.
    PdelayResp,
    /// 0x8, general.
    FollowUp,
    /// 0x9, general.
    DelayResp,
    /// 0xA, general.
    PdelayRespFollowUp,
    /// 0xB, general.
    Announce,
    /// 0xC, general.
    Signaling,
    /// 0xD, general.
    Management,
}

impl MessageType {
    /// Decode the low nibble.
    pub fn from_nibble(n: u8) -> Option<Self> {
        Some(match n & 0x0F {
            0x0 => Self::Sync,
            0x1 => Self::DelayReq,
            0x2 => Self::PdelayReq,
            0x3 => Self::PdelayResp,
            0x8 => Self::FollowUp,
            0x9 => Self::DelayResp,
            0xA => Self::PdelayRespFollowUp,
            0xB => Self::Announce,
            0xC => Self::Signaling,
            0xD => Self::Management,
            _ => return None,
        })
    }

    /// Nibble value.
    pub fn nibble(self) -> u8 {
        match self {
            Self::Sync => 0x0,
            Self::DelayReq => 0x1,
            Self::PdelayReq => 0x2,
            Self::PdelayResp => 0x3,
            Self::FollowUp => 0x8,
            Self::DelayResp => 0x9,
            Self::PdelayRespFollowUp => 0xA,
            Self::Announce => 0xB,
            Self::Signaling => 0xC,
            Self::Management => 0xD,
        }
    }

    /// Event messages are timestamped and go to UDP port 319.
    pub fn is_event(self) -> bool {
        self.nibble() < 8
    }

    /// Fixed length of header + body (without TLVs).
    pub fn base_len(self) -> usize {
        match self {
            Self::Sync | Self::DelayReq | Self::FollowUp => 44,
            Self::PdelayReq | Self::PdelayResp | Self::DelayResp | Self::PdelayRespFollowUp => 54,
            Self::Announce => 64,
            Self::Signaling => 44,
            Self::Management => 48,
        }
    }

    /// `controlField` value a 1588-2008 sender uses [table 23].
    pub fn control_field(self) -> u8 {
        match self {
            Self::Sync => 0,
            Self::DelayReq => 1,
            Self::FollowUp => 2,
            Self::DelayResp => 3,
            Self::Management => 4,
            _ => 5,
        }
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sync => "Sync",
            Self::DelayReq => "Delay_Req",
            Self::PdelayReq => "Pdelay_Req",
            Self::PdelayResp => "Pdelay_Resp",
            Self::FollowUp => "Follow_Up",
            Self::DelayResp => "Delay_Resp",
            Self::PdelayRespFollowUp => "Pdelay_Resp_Follow_Up",
            Self::Announce => "Announce",
            Self::Signaling => "Signaling",
            Self::Management => "Management",
        }
    }
}

/// flagField bits (octet 0 in the high byte) [1588-2008 table 20; linuxptp msg.h].
pub mod flags {
    /// alternateMasterFlag.
    pub const ALTERNATE_MASTER: u16 = 0x0100;
    /// twoStepFlag.
    pub const TWO_STEP: u16 = 0x0200;
    /// unicastFlag.
    pub const UNICAST: u16 = 0x0400;
    /// leap61.
    pub const LEAP_61: u16 = 0x0001;
    /// leap59.
    pub const LEAP_59: u16 = 0x0002;
    /// currentUtcOffsetValid.
    pub const UTC_OFFSET_VALID: u16 = 0x0004;
    /// ptpTimescale.
    pub const PTP_TIMESCALE: u16 = 0x0008;
    /// timeTraceable.
    pub const TIME_TRACEABLE: u16 = 0x0010;
    /// frequencyTraceable.
    pub const FREQ_TRACEABLE: u16 = 0x0020;
}

/// The common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// `transportSpecific` / majorSdoId (0; 1 for 802.1AS).
    pub transport_specific: u8,
    /// `messageType`.
    pub message_type: MessageType,
    /// `minorVersionPTP` (0 for 1588-2008, 1 for 1588-2019).
    pub minor_version: u8,
    /// `versionPTP` (always 2 after parsing).
    pub version: u8,
    /// `messageLength` (header + body + TLVs).
    pub message_length: u16,
    /// `domainNumber`.
    pub domain: u8,
    /// `minorSdoId` (reserved in 1588-2008; kept for byte-exact re-encoding).
    pub minor_sdo_id: u8,
    /// `flagField`, see [`flags`].
    pub flags: u16,
    /// `correctionField`.
    pub correction: TimeInterval,
    /// `messageTypeSpecific` (reserved in 1588-2008; kept verbatim).
    pub type_specific: [u8; 4],
    /// `sourcePortIdentity`.
    pub source_port_identity: PortIdentity,
    /// `sequenceId`.
    pub sequence_id: u16,
    /// `controlField` (obsolete, but kept verbatim).
    pub control_field: u8,
    /// `logMessageInterval`.
    pub log_message_interval: i8,
}

impl Header {
    /// Header length.
    pub const LEN: usize = 34;

    /// A fresh header for `message_type` with the 1588-2008 control field and zero fields.
    pub fn new(
        message_type: MessageType,
        domain: u8,
        source: PortIdentity,
        sequence_id: u16,
    ) -> Self {
        Header {
            transport_specific: 0,
            message_type,
            minor_version: 0,
            version: 2,
            message_length: message_type.base_len() as u16,
            domain,
            minor_sdo_id: 0,
            flags: 0,
            correction: TimeInterval(0),
            type_specific: [0; 4],
            source_port_identity: source,
            sequence_id,
            control_field: message_type.control_field(),
            log_message_interval: 0x7F,
        }
    }

    /// True if the twoStepFlag is set.
    pub fn two_step(&self) -> bool {
        self.flags & flags::TWO_STEP != 0
    }

    /// Parse the header from the start of `buf` (which must hold at least 34 bytes). Checks
    /// versionPTP == 2, a known messageType and that messageLength covers the fixed body and
    /// fits inside `buf`.
    pub fn parse(buf: &[u8]) -> Result<Self, WireError> {
        let h = buf.get(..Self::LEN).ok_or(WireError::Truncated {
            what: "header",
            need: Self::LEN,
            have: buf.len(),
        })?;
        let version = h[1] & 0x0F;
        if version != 2 {
            return Err(WireError::BadVersion { found: version });
        }
        let message_type = MessageType::from_nibble(h[0])
            .ok_or(WireError::UnknownMessageType { found: h[0] & 0x0F })?;
        let message_length = u16::from_be_bytes([h[2], h[3]]);
        let base = message_type.base_len();
        if usize::from(message_length) < base {
            return Err(WireError::BadLength {
                field: "messageLength",
                offset: 2,
                found: usize::from(message_length),
                min: base,
            });
        }
        if usize::from(message_length) > buf.len() {
            return Err(WireError::Truncated {
                what: "message (messageLength)",
                need: usize::from(message_length),
                have: buf.len(),
            });
        }
        let mut corr = [0u8; 8];
        corr.copy_from_slice(&h[8..16]);
        let mut ts = [0u8; 4];
        ts.copy_from_slice(&h[16..20]);
        let mut spi = [0u8; 10];
        spi.copy_from_slice(&h[20..30]);
        Ok(Header {
            transport_specific: h[0] >> 4,
            message_type,
            minor_version: h[1] >> 4,
            version,
            message_length,
            domain: h[4],
            minor_sdo_id: h[5],
            flags: u16::from_be_bytes([h[6], h[7]]),
            correction: TimeInterval(i64::from_be_bytes(corr)),
            type_specific: ts,
            source_port_identity: PortIdentity::from_bytes(&spi),
            sequence_id: u16::from_be_bytes([h[30], h[31]]),
            control_field: h[32],
            log_message_interval: h[33] as i8,
        })
    }

    /// Write the 34 header bytes into `out[..34]` (caller checked the length).
    pub(crate) fn write(&self, out: &mut [u8]) {
        if out.len() < Self::LEN {
            return;
        }
        out[0] = (self.transport_specific << 4) | self.message_type.nibble();
        out[1] = (self.minor_version << 4) | (self.version & 0x0F);
        out[2..4].copy_from_slice(&self.message_length.to_be_bytes());
        out[4] = self.domain;
        out[5] = self.minor_sdo_id;
        out[6..8].copy_from_slice(&self.flags.to_be_bytes());
        out[8..16].copy_from_slice(&self.correction.0.to_be_bytes());
        out[16..20].copy_from_slice(&self.type_specific);
        out[20..30].copy_from_slice(&self.source_port_identity.to_bytes());
        out[30..32].copy_from_slice(&self.sequence_id.to_be_bytes());
        out[32] = self.control_field;
        out[33] = self.log_message_interval as u8;
    }
}
