//! Message bodies [1588-2008 13.5-13.13] and the whole-message `parse` / `emit`.

use super::header::{Header, MessageType};
use super::tlv::TlvIter;
use super::types::{ClockIdentity, ClockQuality, PortIdentity, Timestamp};
use super::WireError;

/// Announce body [1588-2008 13.5] (30 bytes after the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Announce {
    /// `originTimestamp`.
    pub origin_timestamp: Timestamp,
    /// `currentUtcOffset`.
    pub current_utc_offset: i16,
    /// reserved octet (kept verbatim).
    pub reserved: u8,
    /// `grandmasterPriority1`.
    pub grandmaster_priority1: u8,
    /// `grandmasterClockQuality`.
    pub grandmaster_clock_quality: ClockQuality,
    /// `grandmasterPriority2`.
    pub grandmaster_priority2: u8,
    /// `grandmasterIdentity`.
    pub grandmaster_identity: ClockIdentity,
    /// `stepsRemoved`.
    pub steps_removed: u16,
    /// `timeSource` (0xA0 internal oscillator).
    pub time_source: u8,
}

/// Management body [1588-2008 15.4.1] (14 bytes after the header; the TLV follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManagementBody {
    /// `targetPortIdentity`.
    pub target_port_identity: PortIdentity,
    /// `startingBoundaryHops`.
    pub starting_boundary_hops: u8,
    /// `boundaryHops`.
    pub boundary_hops: u8,
    /// reserved(4) | actionField(4) octet, kept whole for byte-exactness.
    pub action_octet: u8,
    /// reserved octet.
    pub reserved: u8,
}

impl ManagementBody {
    /// actionField (GET 0, SET 1, RESPONSE 2, COMMAND 3, ACKNOWLEDGE 4).
    pub fn action(&self) -> u8 {
        self.action_octet & 0x0F
    }
}

/// Management action values [1588-2008 table 38].
pub mod action {
    /// GET.
    pub const GET: u8 = 0;
    /// SET.
    pub const SET: u8 = 1;
    /// RESPONSE.
    pub const RESPONSE: u8 = 2;
    /// COMMAND.
    pub const COMMAND: u8 = 3;
    /// ACKNOWLEDGE.
    pub const ACKNOWLEDGE: u8 = 4;
}

/// A message body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// Sync: `originTimestamp` (0 / approximate in two-step, exact in one-step).
    Sync {
        /// `originTimestamp`.
        origin_timestamp: Timestamp,
    },
    /// Delay_Req: `originTimestamp`.
    DelayReq {
        /// `originTimestamp`.
        origin_timestamp: Timestamp,
    },
    /// Pdelay_Req: `originTimestamp` + 10 reserved bytes.
    PdelayReq {
        /// `originTimestamp`.
        origin_timestamp: Timestamp,
        /// reserved (kept verbatim).
        reserved: [u8; 10],
    },
    /// Pdelay_Resp: `requestReceiptTimestamp` (t2) + `requestingPortIdentity`.
    PdelayResp {
        /// `requestReceiptTimestamp`.
        request_receipt_timestamp: Timestamp,
        /// `requestingPortIdentity`.
        requesting_port_identity: PortIdentity,
    },
    /// Follow_Up: `preciseOriginTimestamp` (t1).
    FollowUp {
        /// `preciseOriginTimestamp`.
        precise_origin_timestamp: Timestamp,
    },
    /// Delay_Resp: `receiveTimestamp` (t4) + `requestingPortIdentity`.
    DelayResp {
        /// `receiveTimestamp`.
        receive_timestamp: Timestamp,
        /// `requestingPortIdentity`.
        requesting_port_identity: PortIdentity,
    },
    /// Pdelay_Resp_Follow_Up: `responseOriginTimestamp` (t3) + `requestingPortIdentity`.
    PdelayRespFollowUp {
        /// `responseOriginTimestamp`.
        response_origin_timestamp: Timestamp,
        /// `requestingPortIdentity`.
        requesting_port_identity: PortIdentity,
    },
    /// Announce.
    Announce(Announce),
    /// Signaling: `targetPortIdentity` (TLVs follow).
    Signaling {
        /// `targetPortIdentity`.
        target_port_identity: PortIdentity,
    },
    /// Management (the management TLV follows).
    Management(ManagementBody),
}

impl Body {
    /// The message type this body belongs to.
    pub fn message_type(&self) -> MessageType {
        match self {
            Body::Sync { .. } => MessageType::Sync,
            Body::DelayReq { .. } => MessageType::DelayReq,
            Body::PdelayReq { .. } => MessageType::PdelayReq,
            Body::PdelayResp { .. } => MessageType::PdelayResp,
            Body::FollowUp { .. } => MessageType::FollowUp,
            Body::DelayResp { .. } => MessageType::DelayResp,
            Body::PdelayRespFollowUp { .. } => MessageType::PdelayRespFollowUp,
            Body::Announce(_) => MessageType::Announce,
            Body::Signaling { .. } => MessageType::Signaling,
            Body::Management(_) => MessageType::Management,
        }
    }
}

/// A parsed message: header, body, and the raw TLV suffix (iterate with [`Message::tlvs`]).
///
/// The suffix borrows from the input, so parsing allocates nothing and unknown TLVs survive
/// re-encoding untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Common header.
    pub header: Header,
    /// Body.
    pub body: Body,
    /// Bytes between the fixed body and `messageLength` (zero or more TLVs).
    pub suffix: &'a [u8],
}

fn ts_at(b: &[u8], off: usize) -> Result<Timestamp, WireError> {
    let s: &[u8; 10] =
        b.get(off..off + 10)
            .and_then(|s| s.try_into().ok())
            .ok_or(WireError::Truncated {
                what: "timestamp",
                need: off + 10,
                have: b.len(),
            })?;
    Timestamp::from_bytes(s).ok_or(WireError::InvalidNanoseconds { offset: off + 6 })
}

fn pid_at(b: &[u8], off: usize) -> Result<PortIdentity, WireError> {
    let s: &[u8; 10] =
        b.get(off..off + 10)
            .and_then(|s| s.try_into().ok())
            .ok_or(WireError::Truncated {
                what: "portIdentity",
                need: off + 10,
                have: b.len(),
            })?;
    Ok(PortIdentity::from_bytes(s))
}

fn byte_at(b: &[u8], off: usize) -> Result<u8, WireError> {
    b.get(off).copied().ok_or(WireError::Truncated {
        what: "field",
        need: off + 1,
        have: b.len(),
    })
}

impl<'a> Message<'a> {
    /// Parse one message. Bytes beyond `messageLength` (Ethernet padding) are ignored; the TLV
    /// suffix is validated to be a well-formed TLV sequence.
    pub fn parse(buf: &'a [u8]) -> Result<Self, WireError> {
        let header = Header::parse(buf)?;
        let len = usize::from(header.message_length);
        let b = buf.get(..len).ok_or(WireError::Truncated {
            what: "message",
            need: len,
            have: buf.len(),
        })?;
        let base = header.message_type.base_len();
        let body = match header.message_type {
            MessageType::Sync => Body::Sync {
                origin_timestamp: ts_at(b, 34)?,
            },
            MessageType::DelayReq => Body::DelayReq {
                origin_timestamp: ts_at(b, 34)?,
            },
            MessageType::FollowUp => Body::FollowUp {
                precise_origin_timestamp: ts_at(b, 34)?,
            },
            MessageType::PdelayReq => {
                let mut reserved = [0u8; 10];
                reserved.copy_from_slice(b.get(44..54).ok_or(WireError::Truncated {
                    what: "Pdelay_Req",
                    need: 54,
                    have: b.len(),
                })?);
                Body::PdelayReq {
                    origin_timestamp: ts_at(b, 34)?,
                    reserved,
                }
            }
            MessageType::PdelayResp => Body::PdelayResp {
                request_receipt_timestamp: ts_at(b, 34)?,
                requesting_port_identity: pid_at(b, 44)?,
            },
            MessageType::DelayResp => Body::DelayResp {
                receive_timestamp: ts_at(b, 34)?,
                requesting_port_identity: pid_at(b, 44)?,
            },
            MessageType::PdelayRespFollowUp => Body::PdelayRespFollowUp {
                response_origin_timestamp: ts_at(b, 34)?,
                requesting_port_identity: pid_at(b, 44)?,
            },
            MessageType::Announce => {
                let q: [u8; 4] = [
                    byte_at(b, 48)?,
                    byte_at(b, 49)?,
                    byte_at(b, 50)?,
                    byte_at(b, 51)?,
                ];
                let mut gm = [0u8; 8];
                gm.copy_from_slice(b.get(53..61).ok_or(WireError::Truncated {
                    what: "Announce",
                    need: 61,
                    have: b.len(),
                })?);
                Body::Announce(Announce {
                    origin_timestamp: ts_at(b, 34)?,
                    current_utc_offset: i16::from_be_bytes([byte_at(b, 44)?, byte_at(b, 45)?]),
                    reserved: byte_at(b, 46)?,
                    grandmaster_priority1: byte_at(b, 47)?,
                    grandmaster_clock_quality: ClockQuality::from_bytes(&q),
                    grandmaster_priority2: byte_at(b, 52)?,
                    grandmaster_identity: ClockIdentity(gm),
                    steps_removed: u16::from_be_bytes([byte_at(b, 61)?, byte_at(b, 62)?]),
                    time_source: byte_at(b, 63)?,
                })
            }
            MessageType::Signaling => Body::Signaling {
                target_port_identity: pid_at(b, 34)?,
            },
            MessageType::Management => Body::Management(ManagementBody {
                target_port_identity: pid_at(b, 34)?,
                starting_boundary_hops: byte_at(b, 44)?,
                boundary_hops: byte_at(b, 45)?,
                action_octet: byte_at(b, 46)?,
                reserved: byte_at(b, 47)?,
            }),
        };
        let suffix = b.get(base..).unwrap_or(&[]);
        // Validate TLV framing (types are not interpreted here).
        let mut it = TlvIter::new(suffix, base);
        for t in &mut it {
            t?;
        }
        Ok(Message {
            header,
            body,
            suffix,
        })
    }

    /// Iterate the TLVs of the suffix.
    pub fn tlvs(&self) -> TlvIter<'a> {
        TlvIter::new(self.suffix, self.header.message_type.base_len())
    }

    /// Length `emit` writes: fixed part + suffix (messageLength is recomputed from this).
    pub fn buffer_len(&self) -> usize {
        self.body.message_type().base_len() + self.suffix.len()
    }

    /// The message as a new vector of [`buffer_len`](Self::buffer_len) bytes (tests, tools;
    /// the data path emits into the caller's buffer with [`emit`](Self::emit)).
    pub fn to_vec(&self) -> Result<Vec<u8>, WireError> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }

    /// Write the message into `out`, setting `messageType` and `messageLength` from the body
    /// and suffix. Returns the length written. `out` is untouched on error.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        if out.len() < len {
            return Err(WireError::BufferTooSmall {
                need: len,
                have: out.len(),
            });
        }
        let msg_len = u16::try_from(len).map_err(|_| WireError::BadLength {
            field: "messageLength",
            offset: 2,
            found: len,
            min: 0,
        })?;
        let out = &mut out[..len];
        let mut h = self.header;
        h.message_type = self.body.message_type();
        h.message_length = msg_len;
        h.write(out);
        match &self.body {
            Body::Sync {
                origin_timestamp: t,
            }
            | Body::DelayReq {
                origin_timestamp: t,
            }
            | Body::FollowUp {
                precise_origin_timestamp: t,
            } => out[34..44].copy_from_slice(&t.to_bytes()),
            Body::PdelayReq {
                origin_timestamp,
                reserved,
            } => {
                out[34..44].copy_from_slice(&origin_timestamp.to_bytes());
                out[44..54].copy_from_slice(reserved);
            }
            Body::PdelayResp {
                request_receipt_timestamp: t,
                requesting_port_identity: p,
            }
            | Body::DelayResp {
                receive_timestamp: t,
                requesting_port_identity: p,
            }
            | Body::PdelayRespFollowUp {
                response_origin_timestamp: t,
                requesting_port_identity: p,
            } => {
                out[34..44].copy_from_slice(&t.to_bytes());
                out[44..54].copy_from_slice(&p.to_bytes());
            }
            Body::Announce(a) => {
                out[34..44].copy_from_slice(&a.origin_timestamp.to_bytes());
                out[44..46].copy_from_slice(&a.current_utc_offset.to_be_bytes());
                out[46] = a.reserved;
                out[47] = a.grandmaster_priority1;
                out[48..52].copy_from_slice(&a.grandmaster_clock_quality.to_bytes());
                out[52] = a.grandmaster_priority2;
                out[53..61].copy_from_slice(&a.grandmaster_identity.0);
                out[61..63].copy_from_slice(&a.steps_removed.to_be_bytes());
                out[63] = a.time_source;
            }
            Body::Signaling {
                target_port_identity,
            } => out[34..44].copy_from_slice(&target_port_identity.to_bytes()),
            Body::Management(m) => {
                out[34..44].copy_from_slice(&m.target_port_identity.to_bytes());
                out[44] = m.starting_boundary_hops;
                out[45] = m.boundary_hops;
                out[46] = m.action_octet;
                out[47] = m.reserved;
            }
        }
        let base = self.body.message_type().base_len();
        out[base..].copy_from_slice(self.suffix);
        Ok(len)
    }
}
