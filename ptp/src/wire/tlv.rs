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
