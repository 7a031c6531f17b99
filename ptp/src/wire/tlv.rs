//! TLV framework [1588-2008 14.1]: `tlvType`(16) `lengthField`(16) `valueField`(lengthField).
//!
//! Messages carry zero or more TLVs after the fixed body. Parsing yields [`Tlv`] views over the
//! input; unknown types are returned as-is and survive re-encoding because [`super::Message`]
//! keeps the raw suffix.

use super::WireError;

/// Known TLV types [1588-2008 table 34; 802.1AS].
pub mod tlv_type {
    /// MANAGEMENT.
    pub const MANAGEMENT: u16 = 0x0001;
    /// MANAGEMENT_ERROR_STATUS.
    pub const MANAGEMENT_ERROR_STATUS: u16 = 0x0002;
    /// ORGANIZATION_EXTENSION (802.1AS follow_up_info uses it).
    pub const ORGANIZATION_EXTENSION: u16 = 0x0003;
    /// REQUEST_UNICAST_TRANSMISSION.
    pub const REQUEST_UNICAST_TRANSMISSION: u16 = 0x0004;
    /// PATH_TRACE.
    pub const PATH_TRACE: u16 = 0x0008;
}

/// One TLV, borrowing its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// `tlvType`.
    pub tlv_type: u16,
    /// `valueField` (its length is `lengthField`).
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Encoded length (4 + value).
    pub fn buffer_len(&self) -> usize {
        4 + self.value.len()
    }

    /// Write into `out`; returns bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        let vlen = u16::try_from(self.value.len()).map_err(|_| WireError::BadLength {
            field: "lengthField",
            offset: 2,
            found: self.value.len(),
            min: 0,
        })?;
        let have = out.len();
        let o = out
            .get_mut(..len)
            .ok_or(WireError::BufferTooSmall { need: len, have })?;
        o[0..2].copy_from_slice(&self.tlv_type.to_be_bytes());
        o[2..4].copy_from_slice(&vlen.to_be_bytes());
        o[4..].copy_from_slice(self.value);
        Ok(len)
    }
}

/// Iterator over a TLV sequence. Yields an error (once) on bad framing.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Iterate `buf`, whose first byte is at message offset `offset` (used in errors).
    pub fn new(buf: &'a [u8], offset: usize) -> Self {
        TlvIter {
            rest: buf,
            offset,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let (Some(t), Some(l)) = (self.rest.get(0..2), self.rest.get(2..4)) else {
            self.failed = true;
            return Some(Err(WireError::Truncated {
                what: "TLV header",
                need: self.offset + 4,
                have: self.offset + self.rest.len(),
            }));
        };
        let tlv_type = u16::from_be_bytes([t[0], t[1]]);
        let vlen = usize::from(u16::from_be_bytes([l[0], l[1]]));
        let Some(value) = self.rest.get(4..4 + vlen) else {
            self.failed = true;
            return Some(Err(WireError::BadLength {
                field: "TLV lengthField",
                offset: self.offset + 2,
                found: vlen,
                min: 0,
            }));
        };
        self.rest = self.rest.get(4 + vlen..).unwrap_or(&[]);
        self.offset += 4 + vlen;
        Some(Ok(Tlv { tlv_type, value }))
    }
}

/// 802.1AS-2011 11.4.4.3 Follow_Up information TLV: an ORGANIZATION_EXTENSION with
/// organizationId 00-80-C2 and organizationSubType 1, carried by every gPTP Follow_Up
/// (linuxptp `follow_up_info 1` in gPTP.cfg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowUpInfo {
    /// cumulativeScaledRateOffset: (rateRatio - 1) * 2^41.
    pub cumulative_scaled_rate_offset: i32,
    /// gmTimeBaseIndicator.
    pub gm_time_base_indicator: u16,
    /// lastGmPhaseChange, ScaledNs (96-bit signed, 2^-16 ns); kept in an i128.
    pub last_gm_phase_change: i128,
    /// scaledLastGmFreqChange: fractional frequency change * 2^41.
    pub scaled_last_gm_freq_change: i32,
}

impl FollowUpInfo {
    /// organizationId (IEEE 802.1).
    pub const ORGANIZATION_ID: [u8; 3] = [0x00, 0x80, 0xC2];
    /// organizationSubType.
    pub const SUBTYPE: [u8; 3] = [0x00, 0x00, 0x01];
    /// lengthField value.
    pub const VALUE_LEN: usize = 28;

    /// The whole TLV (type, length, value): 32 bytes.
    pub fn to_tlv_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..2].copy_from_slice(&tlv_type::ORGANIZATION_EXTENSION.to_be_bytes());
        b[2..4].copy_from_slice(&(Self::VALUE_LEN as u16).to_be_bytes());
        b[4..7].copy_from_slice(&Self::ORGANIZATION_ID);
        b[7..10].copy_from_slice(&Self::SUBTYPE);
        b[10..14].copy_from_slice(&self.cumulative_scaled_rate_offset.to_be_bytes());
        b[14..16].copy_from_slice(&self.gm_time_base_indicator.to_be_bytes());
        // 96-bit two's complement: the low 12 bytes of the big-endian i128.
        b[16..28].copy_from_slice(&self.last_gm_phase_change.to_be_bytes()[4..16]);
        b[28..32].copy_from_slice(&self.scaled_last_gm_freq_change.to_be_bytes());
        b
    }

    /// Decode from a TLV: `None` unless it is an ORGANIZATION_EXTENSION with the 802.1
    /// organizationId, subtype 1 and at least 28 value bytes.
    pub fn from_tlv(t: &Tlv<'_>) -> Option<Self> {
        if t.tlv_type != tlv_type::ORGANIZATION_EXTENSION {
            return None;
        }
        let v: &[u8; 28] = t.value.get(..Self::VALUE_LEN)?.try_into().ok()?;
        if v[0..3] != Self::ORGANIZATION_ID || v[3..6] != Self::SUBTYPE {
            return None;
        }
        let mut wide = if v[12] & 0x80 != 0 {
            [0xFF; 16]
        } else {
            [0; 16]
        };
        wide[4..16].copy_from_slice(&v[12..24]);
        Some(FollowUpInfo {
            cumulative_scaled_rate_offset: i32::from_be_bytes([v[6], v[7], v[8], v[9]]),
            gm_time_base_indicator: u16::from_be_bytes([v[10], v[11]]),
            last_gm_phase_change: i128::from_be_bytes(wide),
            scaled_last_gm_freq_change: i32::from_be_bytes([v[24], v[25], v[26], v[27]]),
        })
    }
}
