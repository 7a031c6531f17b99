//! Control messages (RFC 2661 sections 3.2 and 6, RFC 3931 sections 3.1 and 6).

use super::avp::{attr, attr_name, emit_avps, parse_avps, Avp, AvpValue, ResultCode};
use super::header::Header;
use crate::error::{Error, Result};

/// Control message types (RFC 2661 section 3.2; ACK from RFC 3931 section 6.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum MessageType {
    /// Start-Control-Connection-Request.
    Sccrq = 1,
    /// Start-Control-Connection-Reply.
    Sccrp = 2,
    /// Start-Control-Connection-Connected.
    Scccn = 3,
    /// Stop-Control-Connection-Notification.
    StopCcn = 4,
    /// Hello (keepalive).
    Hello = 6,
    /// Outgoing-Call-Request.
    Ocrq = 7,
    /// Outgoing-Call-Reply.
    Ocrp = 8,
    /// Outgoing-Call-Connected.
    Occn = 9,
    /// Incoming-Call-Request.
    Icrq = 10,
    /// Incoming-Call-Reply.
    Icrp = 11,
    /// Incoming-Call-Connected.
    Iccn = 12,
    /// Call-Disconnect-Notify.
    Cdn = 14,
    /// WAN-Error-Notify.
    Wen = 15,
    /// Set-Link-Info.
    Sli = 16,
    /// Explicit Acknowledgement (L2TPv3 only).
    Ack = 20,
}

impl MessageType {
    /// From the Message Type AVP value.
    pub fn from_u16(v: u16) -> Option<Self> {
        use MessageType::*;
        Some(match v {
            1 => Sccrq,
            2 => Sccrp,
            3 => Scccn,
            4 => StopCcn,
            6 => Hello,
            7 => Ocrq,
            8 => Ocrp,
            9 => Occn,
            10 => Icrq,
            11 => Icrp,
            12 => Iccn,
            14 => Cdn,
            15 => Wen,
            16 => Sli,
            20 => Ack,
            _ => return None,
        })
    }

    /// Short name as in the RFC.
    pub fn name(self) -> &'static str {
        use MessageType::*;
        match self {
            Sccrq => "SCCRQ",
            Sccrp => "SCCRP",
            Scccn => "SCCCN",
            StopCcn => "StopCCN",
            Hello => "HELLO",
            Ocrq => "OCRQ",
            Ocrp => "OCRP",
            Occn => "OCCN",
            Icrq => "ICRQ",
            Icrp => "ICRP",
            Iccn => "ICCN",
            Cdn => "CDN",
            Wen => "WEN",
            Sli => "SLI",
            Ack => "ACK",
        }
    }

    /// Whether the message belongs to a session (carries a nonzero Session ID in L2TPv2).
    pub fn is_session_message(self) -> bool {
        use MessageType::*;
        matches!(self, Ocrp | Occn | Icrp | Iccn | Cdn | Wen | Sli)
    }

    /// AVPs that RFC 2661 section 6 requires in this message (L2TPv2).
    pub fn required_avps_v2(self) -> &'static [u16] {
        use attr::*;
        use MessageType::*;
        match self {
            Sccrq | Sccrp => &[
                PROTOCOL_VERSION,
                HOST_NAME,
                FRAMING_CAPABILITIES,
                ASSIGNED_TUNNEL_ID,
            ],
            StopCcn => &[ASSIGNED_TUNNEL_ID, RESULT_CODE],
            Ocrq => &[
                ASSIGNED_SESSION_ID,
                CALL_SERIAL_NUMBER,
                MINIMUM_BPS,
                MAXIMUM_BPS,
                BEARER_TYPE,
                FRAMING_TYPE,
                CALLED_NUMBER,
            ],
            Ocrp => &[ASSIGNED_SESSION_ID],
            Occn => &[TX_CONNECT_SPEED, FRAMING_TYPE],
            Icrq => &[ASSIGNED_SESSION_ID, CALL_SERIAL_NUMBER],
            Icrp => &[ASSIGNED_SESSION_ID],
            Iccn => &[TX_CONNECT_SPEED, FRAMING_TYPE],
            Cdn => &[RESULT_CODE, ASSIGNED_SESSION_ID],
            Wen => &[CALL_ERRORS],
            Sli => &[ACCM],
            Scccn | Hello | Ack => &[],
        }
    }
}

/// StopCCN and CDN result codes (RFC 2661 section 4.4.2).
pub mod result {
    /// StopCCN: General request to clear control connection.
    pub const STOPCCN_GENERAL: u16 = 1;
    /// StopCCN: General error, Error Code indicates the problem.
    pub const STOPCCN_ERROR: u16 = 2;
    /// StopCCN: Control channel already exists.
    pub const STOPCCN_ALREADY_EXISTS: u16 = 3;
    /// StopCCN: Requester is not authorized to establish a control channel.
    pub const STOPCCN_NOT_AUTHORIZED: u16 = 4;
    /// StopCCN: The protocol version of the requester is not supported.
    pub const STOPCCN_BAD_VERSION: u16 = 5;
    /// StopCCN: Requester is being shut down.
    pub const STOPCCN_SHUTDOWN: u16 = 6;
    /// StopCCN: Finite State Machine error.
    pub const STOPCCN_FSM_ERROR: u16 = 7;
    /// CDN: Call disconnected due to loss of carrier.
    pub const CDN_LOST_CARRIER: u16 = 1;
    /// CDN: Call disconnected for the reason indicated in error code.
    pub const CDN_ERROR: u16 = 2;
    /// CDN: Call disconnected for administrative reasons.
    pub const CDN_ADMIN: u16 = 3;
    /// CDN: Call failed due to lack of appropriate facilities being available (temporary).
    pub const CDN_NO_FACILITIES_TEMP: u16 = 4;
    /// CDN: Call failed due to lack of appropriate facilities being available (permanent).
    pub const CDN_NO_FACILITIES_PERM: u16 = 5;
    /// CDN: Invalid destination.
    pub const CDN_INVALID_DEST: u16 = 6;
    /// CDN: Call failed due to no carrier detected.
    pub const CDN_NO_CARRIER: u16 = 7;
    /// CDN: Call failed due to detection of a busy signal.
    pub const CDN_BUSY: u16 = 8;
    /// CDN: Call failed due to lack of a dial tone.
    pub const CDN_NO_DIAL_TONE: u16 = 9;
    /// CDN: Call was not established within time allotted by LAC.
    pub const CDN_TIMEOUT: u16 = 10;
    /// CDN: Call was connected but no appropriate framing was detected.
    pub const CDN_NO_FRAMING: u16 = 11;

    /// Text of a StopCCN result code.
    pub fn stopccn_text(code: u16) -> &'static str {
        match code {
            0 => "Reserved",
            1 => "General request to clear control connection",
            2 => "General error--Error Code indicates the problem",
            3 => "Control channel already exists",
            4 => "Requester is not authorized to establish a control channel",
            5 => "The protocol version of the requester is not supported",
            6 => "Requester is being shut down",
            7 => "Finite State Machine error",
            _ => "unknown",
        }
    }

    /// Text of a CDN result code.
    pub fn cdn_text(code: u16) -> &'static str {
        match code {
            0 => "Reserved",
            1 => "Call disconnected due to loss of carrier",
            2 => "Call disconnected for the reason indicated in error code",
            3 => "Call disconnected for administrative reasons",
            4 => "Call failed due to lack of appropriate facilities being available (temporary condition)",
            5 => "Call failed due to lack of appropriate facilities being available (permanent condition)",
            6 => "Invalid destination",
            7 => "Call failed due to no carrier detected",
            8 => "Call failed due to detection of a busy signal",
            9 => "Call failed due to lack of a dial tone",
            10 => "Call was not established within time allotted by LAC",
            11 => "Call was connected but no appropriate framing was detected",
            _ => "unknown",
        }
    }
}

/// General error codes (RFC 2661 section 4.4.2).
pub mod error_code {
    /// No general error.
    pub const NO_ERROR: u16 = 0;
    /// No control connection exists yet for this LAC-LNS pair.
    pub const NO_CONTROL_CONNECTION: u16 = 1;
    /// Length is wrong.
    pub const BAD_LENGTH: u16 = 2;
    /// One of the field values was out of range or reserved field was non-zero.
    pub const BAD_VALUE: u16 = 3;
    /// Insufficient resources to handle this operation now.
    pub const NO_RESOURCES: u16 = 4;
    /// The Session ID is invalid in this context.
    pub const INVALID_SESSION: u16 = 5;
    /// A generic vendor-specific error occurred in the LAC.
    pub const VENDOR_ERROR: u16 = 6;
    /// Try another.
    pub const TRY_ANOTHER: u16 = 7;
    /// Session or tunnel was shutdown due to receipt of an unknown AVP with the M-bit set.
    pub const UNKNOWN_MANDATORY_AVP: u16 = 8;

    /// Text of a general error code.
    pub fn text(code: u16) -> &'static str {
        match code {
            0 => "No general error",
            1 => "No control connection exists yet for this LAC-LNS pair",
            2 => "Length is wrong",
            3 => "One of the field values was out of range or reserved field was non-zero",
            4 => "Insufficient resources to handle this operation now",
            5 => "The Session ID is invalid in this context",
            6 => "A generic vendor-specific error occurred in the LAC",
            7 => "Try another",
            8 => {
                "Session or tunnel was shutdown due to receipt of an unknown AVP with the M-bit set"
            }
            _ => "unknown",
        }
    }
}

/// An L2TPv2 control message: header plus AVPs (empty for a ZLB acknowledgement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlMessage {
    /// Header (T, L and S set).
    pub header: Header,
    /// AVPs in wire order. The first is the Message Type unless this is a ZLB.
    pub avps: Vec<Avp>,
}

impl ControlMessage {
    /// Build a message of type `t` with the given further AVPs (Message Type is prepended).
    pub fn new(t: MessageType, tunnel_id: u16, session_id: u16, avps: Vec<Avp>) -> Self {
        let mut all = Vec::with_capacity(avps.len() + 1);
        all.push(Avp::m(&AvpValue::MessageType(t as u16)));
        all.extend(avps);
        ControlMessage {
            header: Header::control(tunnel_id, session_id, 0, 0),
            avps: all,
        }
    }

    /// A Zero-Length Body acknowledgement.
    pub fn zlb(tunnel_id: u16, ns: u16, nr: u16) -> Self {
        ControlMessage {
            header: Header::control(tunnel_id, 0, ns, nr),
            avps: Vec::new(),
        }
    }

    /// Parse a whole datagram. Fails on data messages.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let (header, range) = Header::parse(buf)?;
        if !header.is_control {
            return Err(Error::Flags {
                flags: header.flags_word(),
                reason: "not a control message",
            });
        }
        let body = buf.get(range).unwrap_or_default();
        let avps = parse_avps(body)?;
        if let Some(first) = avps.first() {
            if !first.is(attr::MESSAGE_TYPE) || first.hidden {
                return Err(Error::Avp {
                    offset: 0,
                    reason: "first AVP is not a visible Message Type",
                });
            }
        }
        Ok(ControlMessage { header, avps })
    }

    /// Encode to a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        emit_avps(&self.avps, &mut body)?;
        let hl = self.header.header_len();
        let mut out = vec![0u8; hl];
        self.header.emit(body.len(), &mut out)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// True for a ZLB (no AVPs).
    pub fn is_zlb(&self) -> bool {
        self.avps.is_empty()
    }

    /// Raw Message Type value (None for a ZLB).
    pub fn message_type_raw(&self) -> Option<u16> {
        let a = self.avps.first()?;
        match AvpValue::decode(attr::MESSAGE_TYPE, &a.value) {
            Ok(Some(AvpValue::MessageType(t))) => Some(t),
            _ => None,
        }
    }

    /// Message type (None for a ZLB or an unknown type).
    pub fn message_type(&self) -> Option<MessageType> {
        self.message_type_raw().and_then(MessageType::from_u16)
    }

    /// First IETF AVP of attribute type `t`.
    pub fn find(&self, t: u16) -> Option<&Avp> {
        self.avps.iter().find(|a| a.is(t))
    }

    /// Typed value of the first IETF AVP of type `t` (hidden AVPs must be revealed first).
    pub fn get(&self, t: u16) -> Option<AvpValue> {
        self.find(t).and_then(|a| a.typed().ok().flatten())
    }

    /// u16-valued AVP helper.
    pub fn get_u16(&self, t: u16) -> Option<u16> {
        let a = self.find(t)?;
        if a.hidden {
            return None;
        }
        <[u8; 2]>::try_from(a.value.as_slice())
            .ok()
            .map(u16::from_be_bytes)
    }

    /// Result Code AVP, if present.
    pub fn result_code(&self) -> Option<ResultCode> {
        match self.get(attr::RESULT_CODE) {
            Some(AvpValue::ResultCode(r)) => Some(r),
            _ => None,
        }
    }

    /// The first AVP with the M bit that this implementation does not understand
    /// (vendor-specific or unknown IETF type). RFC 2661 section 4.2: such an AVP tears down the
    /// session (session message) or the tunnel.
    pub fn unknown_mandatory(&self) -> Option<&Avp> {
        self.avps
            .iter()
            .find(|a| a.mandatory && (a.vendor_id != 0 || attr_name(a.attr_type) == "unknown"))
    }

    /// Check that every AVP required by RFC 2661 section 6 is present.
    pub fn check_required_v2(&self) -> Result<()> {
        let Some(t) = self.message_type() else {
            return Ok(());
        };
        for &r in t.required_avps_v2() {
            if self.find(r).is_none() {
                return Err(Error::MissingAvp {
                    message: t.name(),
                    attr: r,
                    name: attr_name(r),
                });
            }
        }
        Ok(())
    }

    /// One-line summary for logs and ladders, e.g. `SCCRQ tid=0 sid=0 ns=0 nr=0 [Host Name, ...]`.
    pub fn summary(&self) -> String {
        let name = match self.message_type_raw() {
            None => "ZLB".to_string(),
            Some(t) => MessageType::from_u16(t)
                .map(|m| m.name().to_string())
                .unwrap_or_else(|| format!("type {t}")),
        };
        let (ns, nr) = self.header.sequence.unwrap_or((0, 0));
        format!(
            "{name} tid={} sid={} ns={ns} nr={nr}",
            self.header.tunnel_id, self.header.session_id
        )
    }
}
