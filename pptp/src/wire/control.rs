//! PPTP control messages (RFC 2637 section 2) and the TCP stream deframer.
//!
//! Every control message starts with the same 12-byte header:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Length             |     PPTP Message Type (1)     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Magic Cookie 0x1A2B3C4D                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Control Message Type      |           Reserved0           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! `Length` counts the whole message, header included. Each of the 15 message types has a
//! fixed length (156 for the Start-Control-Connection messages, 16 for an Echo-Request, ...):
//! a message whose length does not match its type is refused, as is a wrong magic cookie or
//! a PPTP Message Type other than 1 (control). The TCP stream has no other framing, so one of
//! those errors means the stream lost sync and the control connection must be closed
//! (RFC 2637 s2, "Length is wrong or Magic Cookie value is incorrect").
//!
//! ```
//! use pptp::wire::{Message, Deframer};
//! let echo = Message::EchoRequest { identifier: 7 };
//! let bytes = echo.to_vec();
//! assert_eq!(bytes.len(), 16);
//! assert_eq!(&bytes[..12], &[0, 16, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d, 0, 5, 0, 0]);
//! let mut d = Deframer::new();
//! d.push(&bytes[..5]); // a partial read
//! assert_eq!(d.next_message(), Ok(None));
//! d.push(&bytes[5..]);
//! assert_eq!(d.next_message(), Ok(Some(echo)));
//! ```

use core::fmt;

/// The magic cookie every control message carries (RFC 2637 s2).
pub const MAGIC_COOKIE: u32 = 0x1A2B_3C4D;
/// Length of the common header.
pub const HEADER_LEN: usize = 12;
/// Longest control message (Incoming-Call-Request, 220 bytes). The deframer refuses a
/// length beyond this, which bounds its buffer.
pub const MAX_MESSAGE_LEN: usize = 220;
/// PPTP Message Type of a control message.
pub const PPTP_CONTROL_MESSAGE: u16 = 1;

/// What was wrong with a control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the header or the message needs.
    #[error("PPTP control message truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The Length field is below the header length, beyond [`MAX_MESSAGE_LEN`], or does not
    /// match the fixed length of the message type.
    #[error("PPTP control message length {found} is wrong (expected {expected})")]
    BadLength {
        /// The Length field.
        found: usize,
        /// The length expected for this type (or the header length / maximum).
        expected: usize,
    },
    /// The PPTP Message Type is not 1 (control).
    #[error("PPTP message type {0} is not 1 (control)")]
    BadMessageType(u16),
    /// The magic cookie is not 0x1A2B3C4D.
    #[error("PPTP magic cookie {0:#010x} is not 0x1a2b3c4d")]
    BadMagicCookie(u32),
    /// A Control Message Type outside 1..=15. The message was well framed and is skipped.
    #[error("unknown PPTP control message type {0}")]
    UnknownType(u16),
    /// A previous error made the stream unusable.
    #[error("the PPTP control stream lost framing earlier")]
    Poisoned,
}

impl WireError {
    /// True when the stream can no longer be framed: the control connection must close.
    /// An [`WireError::UnknownType`] is not fatal (the message is skipped).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, WireError::UnknownType(_))
    }
}

/// Control Message Type (RFC 2637 s2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum MessageType {
    /// Start-Control-Connection-Request (1).
    StartControlConnectionRequest = 1,
    /// Start-Control-Connection-Reply (2).
    StartControlConnectionReply = 2,
    /// Stop-Control-Connection-Request (3).
    StopControlConnectionRequest = 3,
    /// Stop-Control-Connection-Reply (4).
    StopControlConnectionReply = 4,
    /// Echo-Request (5).
    EchoRequest = 5,
    /// Echo-Reply (6).
    EchoReply = 6,
    /// Outgoing-Call-Request (7).
    OutgoingCallRequest = 7,
    /// Outgoing-Call-Reply (8).
    OutgoingCallReply = 8,
    /// Incoming-Call-Request (9).
    IncomingCallRequest = 9,
    /// Incoming-Call-Reply (10).
    IncomingCallReply = 10,
    /// Incoming-Call-Connected (11).
    IncomingCallConnected = 11,
    /// Call-Clear-Request (12).
    CallClearRequest = 12,
    /// Call-Disconnect-Notify (13).
    CallDisconnectNotify = 13,
    /// WAN-Error-Notify (14).
    WanErrorNotify = 14,
    /// Set-Link-Info (15).
    SetLinkInfo = 15,
}

impl MessageType {
    /// All 15 types in order.
    pub const ALL: [MessageType; 15] = [
        MessageType::StartControlConnectionRequest,
        MessageType::StartControlConnectionReply,
        MessageType::StopControlConnectionRequest,
        MessageType::StopControlConnectionReply,
        MessageType::EchoRequest,
        MessageType::EchoReply,
        MessageType::OutgoingCallRequest,
        MessageType::OutgoingCallReply,
        MessageType::IncomingCallRequest,
        MessageType::IncomingCallReply,
        MessageType::IncomingCallConnected,
        MessageType::CallClearRequest,
        MessageType::CallDisconnectNotify,
        MessageType::WanErrorNotify,
        MessageType::SetLinkInfo,
    ];

    /// The type of a Control Message Type value.
    pub fn from_u16(v: u16) -> Option<MessageType> {
        MessageType::ALL
            .get(usize::from(v).checked_sub(1)?)
            .copied()
    }

    /// The fixed length of a message of this type, header included (RFC 2637 s2.1-s2.15).
    pub const fn length(self) -> usize {
        match self {
            MessageType::StartControlConnectionRequest
            | MessageType::StartControlConnectionReply => 156,
            MessageType::StopControlConnectionRequest
            | MessageType::StopControlConnectionReply
            | MessageType::EchoRequest
            | MessageType::CallClearRequest => 16,
            MessageType::EchoReply => 20,
            MessageType::OutgoingCallRequest => 168,
            MessageType::OutgoingCallReply => 32,
            MessageType::IncomingCallRequest => 220,
            MessageType::IncomingCallReply | MessageType::SetLinkInfo => 24,
            MessageType::IncomingCallConnected => 28,
            MessageType::CallDisconnectNotify => 148,
            MessageType::WanErrorNotify => 40,
        }
    }

    /// The RFC name.
    pub const fn name(self) -> &'static str {
        match self {
            MessageType::StartControlConnectionRequest => "Start-Control-Connection-Request",
            MessageType::StartControlConnectionReply => "Start-Control-Connection-Reply",
            MessageType::StopControlConnectionRequest => "Stop-Control-Connection-Request",
            MessageType::StopControlConnectionReply => "Stop-Control-Connection-Reply",
            MessageType::EchoRequest => "Echo-Request",
            MessageType::EchoReply => "Echo-Reply",
            MessageType::OutgoingCallRequest => "Outgoing-Call-Request",
            MessageType::OutgoingCallReply => "Outgoing-Call-Reply",
            MessageType::IncomingCallRequest => "Incoming-Call-Request",
            MessageType::IncomingCallReply => "Incoming-Call-Reply",
            MessageType::IncomingCallConnected => "Incoming-Call-Connected",
            MessageType::CallClearRequest => "Call-Clear-Request",
            MessageType::CallDisconnectNotify => "Call-Disconnect-Notify",
            MessageType::WanErrorNotify => "WAN-Error-Notify",
            MessageType::SetLinkInfo => "Set-Link-Info",
        }
    }
}

/// The common header of a control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Length of the whole message.
    pub length: u16,
    /// Control Message Type (raw: may be unknown).
    pub control_type: u16,
}

impl Header {
    /// Parse and check the header at the start of `buf`: length within
    /// `HEADER_LEN..=MAX_MESSAGE_LEN`, message type 1, magic cookie. The Control Message Type
    /// is not checked here.
    pub fn parse(buf: &[u8]) -> Result<Header, WireError> {
        let h = buf.get(..HEADER_LEN).ok_or(WireError::Truncated {
            need: HEADER_LEN,
            have: buf.len(),
        })?;
        let length = be16(h, 0);
        let mtype = be16(h, 2);
        let cookie = be32(h, 4);
        if mtype != PPTP_CONTROL_MESSAGE {
            return Err(WireError::BadMessageType(mtype));
        }
        if cookie != MAGIC_COOKIE {
            return Err(WireError::BadMagicCookie(cookie));
        }
        let l = usize::from(length);
        if l < HEADER_LEN {
            return Err(WireError::BadLength {
                found: l,
                expected: HEADER_LEN,
            });
        }
        if l > MAX_MESSAGE_LEN {
            return Err(WireError::BadLength {
                found: l,
                expected: MAX_MESSAGE_LEN,
            });
        }
        Ok(Header {
            length,
            control_type: be16(h, 8),
        })
    }
}

/// A fixed-size, NUL-padded text field (Host Name, Vendor String, Phone Number, Subaddress:
/// 64 bytes; Call Statistics: 128 bytes). Kept as raw bytes so that re-encoding is exact.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedStr<const N: usize>(pub [u8; N]);

impl<const N: usize> FixedStr<N> {
    /// A field holding `s` (truncated to `N` bytes), NUL-padded.
    pub fn new(s: &str) -> Self {
        let mut a = [0u8; N];
        let n = s.len().min(N);
        a[..n].copy_from_slice(&s.as_bytes()[..n]);
        FixedStr(a)
    }

    /// The bytes up to the first NUL.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        &self.0[..end]
    }

    /// The text up to the first NUL (lossy UTF-8).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }

    fn read(buf: &[u8], off: usize) -> Self {
        let mut a = [0u8; N];
        if let Some(src) = buf.get(off..off + N) {
            a.copy_from_slice(src);
        }
        FixedStr(a)
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        FixedStr([0u8; N])
    }
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

/// A 64-byte text field.
pub type Str64 = FixedStr<64>;

/// Body of Start-Control-Connection-Request (RFC 2637 s2.1) and -Reply (s2.2): the request
/// has Reserved1 where the reply has Result Code and Error Code (both zero in a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StartControl {
    /// Protocol Version, `0x0100`.
    pub protocol_version: u16,
    /// Reply: Result Code ([`crate::wire::codes::sccrp`]); request: zero.
    pub result_code: u8,
    /// Reply: Error Code ([`crate::wire::codes::error`]); request: zero.
    pub error_code: u8,
    /// Framing Capabilities ([`crate::wire::codes::framing`]).
    pub framing_capabilities: u32,
    /// Bearer Capabilities ([`crate::wire::codes::bearer`]).
    pub bearer_capabilities: u32,
    /// Maximum Channels (a PNS sends 0).
    pub maximum_channels: u16,
    /// Firmware Revision.
    pub firmware_revision: u16,
    /// Host Name (64 bytes, NUL-padded).
    pub host_name: Str64,
    /// Vendor String (64 bytes, NUL-padded).
    pub vendor: Str64,
}

/// Outgoing-Call-Request (RFC 2637 s2.7), PNS to PAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutgoingCallRequest {
    /// Call ID the PNS assigned; the PAC puts it in the GRE key of the packets it sends.
    pub call_id: u16,
    /// Call Serial Number (for logging).
    pub call_serial: u16,
    /// Minimum BPS.
    pub minimum_bps: u32,
    /// Maximum BPS.
    pub maximum_bps: u32,
    /// Bearer Type.
    pub bearer_type: u32,
    /// Framing Type.
    pub framing_type: u32,
    /// Packet Receive Window Size: GRE packets the PNS buffers for this call.
    pub recv_window: u16,
    /// Packet Processing Delay (1/10 s).
    pub processing_delay: u16,
    /// Phone Number Length.
    pub phone_number_len: u16,
    /// Phone Number (64 bytes).
    pub phone_number: Str64,
    /// Subaddress (64 bytes).
    pub subaddress: Str64,
}

/// Outgoing-Call-Reply (RFC 2637 s2.8), PAC to PNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutgoingCallReply {
    /// Call ID the PAC assigned.
    pub call_id: u16,
    /// Peer's Call ID: the Call ID of the Outgoing-Call-Request.
    pub peer_call_id: u16,
    /// Result Code ([`crate::wire::codes::ocrp`]).
    pub result_code: u8,
    /// Error Code ([`crate::wire::codes::error`]).
    pub error_code: u8,
    /// Cause Code.
    pub cause_code: u16,
    /// Connect Speed.
    pub connect_speed: u32,
    /// Packet Receive Window Size of the PAC.
    pub recv_window: u16,
    /// Packet Processing Delay (1/10 s).
    pub processing_delay: u16,
    /// Physical Channel ID.
    pub physical_channel_id: u32,
}

/// Incoming-Call-Request (RFC 2637 s2.9), PAC to PNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IncomingCallRequest {
    /// Call ID the PAC assigned.
    pub call_id: u16,
    /// Call Serial Number.
    pub call_serial: u16,
    /// Call Bearer Type.
    pub bearer_type: u32,
    /// Physical Channel ID.
    pub physical_channel_id: u32,
    /// Dialed Number Length.
    pub dialed_number_len: u16,
    /// Dialing Number Length.
    pub dialing_number_len: u16,
    /// Dialed Number (64 bytes).
    pub dialed_number: Str64,
    /// Dialing Number (64 bytes).
    pub dialing_number: Str64,
    /// Subaddress (64 bytes).
    pub subaddress: Str64,
}

/// Incoming-Call-Reply (RFC 2637 s2.10), PNS to PAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IncomingCallReply {
    /// Call ID the PNS assigned.
    pub call_id: u16,
    /// Peer's Call ID (of the Incoming-Call-Request).
    pub peer_call_id: u16,
    /// Result Code ([`crate::wire::codes::icrp`]).
    pub result_code: u8,
    /// Error Code.
    pub error_code: u8,
    /// Packet Receive Window Size of the PNS.
    pub recv_window: u16,
    /// Packet Transmit Delay (1/10 s).
    pub transmit_delay: u16,
}

/// Incoming-Call-Connected (RFC 2637 s2.11), PAC to PNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IncomingCallConnected {
    /// Peer's Call ID (of the Incoming-Call-Reply).
    pub peer_call_id: u16,
    /// Connect Speed.
    pub connect_speed: u32,
    /// Packet Receive Window Size of the PAC.
    pub recv_window: u16,
    /// Packet Transmit Delay (1/10 s).
    pub transmit_delay: u16,
    /// Framing Type.
    pub framing_type: u32,
}

/// Call-Disconnect-Notify (RFC 2637 s2.13), PAC to PNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallDisconnectNotify {
    /// The PAC's Call ID of the call.
    pub call_id: u16,
    /// Result Code ([`crate::wire::codes::cdn`]).
    pub result_code: u8,
    /// Error Code.
    pub error_code: u8,
    /// Cause Code.
    pub cause_code: u16,
    /// Call Statistics (128 bytes of text).
    pub call_statistics: FixedStr<128>,
}

/// WAN-Error-Notify (RFC 2637 s2.14), PAC to PNS: cumulative error counters of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WanErrorNotify {
    /// Peer's Call ID (the PNS's).
    pub peer_call_id: u16,
    /// CRC Errors.
    pub crc_errors: u32,
    /// Framing Errors.
    pub framing_errors: u32,
    /// Hardware Overruns.
    pub hardware_overruns: u32,
    /// Buffer Overruns.
    pub buffer_overruns: u32,
    /// Time-out Errors.
    pub timeout_errors: u32,
    /// Alignment Errors.
    pub alignment_errors: u32,
}

/// Set-Link-Info (RFC 2637 s2.15), PNS to PAC: the PPP ACCMs (no effect on GRE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetLinkInfo {
    /// Peer's Call ID (the PAC's).
    pub peer_call_id: u16,
    /// Send ACCM.
    pub send_accm: u32,
    /// Receive ACCM.
    pub recv_accm: u32,
}

/// A PPTP control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// Start-Control-Connection-Request (s2.1).
    StartControlConnectionRequest(StartControl),
    /// Start-Control-Connection-Reply (s2.2).
    StartControlConnectionReply(StartControl),
    /// Stop-Control-Connection-Request (s2.3).
    StopControlConnectionRequest {
        /// Reason ([`crate::wire::codes::stop_reason`]).
        reason: u8,
    },
    /// Stop-Control-Connection-Reply (s2.4).
    StopControlConnectionReply {
        /// Result Code ([`crate::wire::codes::stopccrp`]).
        result_code: u8,
        /// Error Code.
        error_code: u8,
    },
    /// Echo-Request (s2.5).
    EchoRequest {
        /// Identifier, echoed in the reply.
        identifier: u32,
    },
    /// Echo-Reply (s2.6).
    EchoReply {
        /// The request's Identifier.
        identifier: u32,
        /// Result Code ([`crate::wire::codes::echo`]).
        result_code: u8,
        /// Error Code.
        error_code: u8,
    },
    /// Outgoing-Call-Request (s2.7).
    OutgoingCallRequest(OutgoingCallRequest),
    /// Outgoing-Call-Reply (s2.8).
    OutgoingCallReply(OutgoingCallReply),
    /// Incoming-Call-Request (s2.9).
    IncomingCallRequest(IncomingCallRequest),
    /// Incoming-Call-Reply (s2.10).
    IncomingCallReply(IncomingCallReply),
    /// Incoming-Call-Connected (s2.11).
    IncomingCallConnected(IncomingCallConnected),
    /// Call-Clear-Request (s2.12).
    CallClearRequest {
        /// The PNS's Call ID of the call.
        call_id: u16,
    },
    /// Call-Disconnect-Notify (s2.13).
    CallDisconnectNotify(CallDisconnectNotify),
    /// WAN-Error-Notify (s2.14).
    WanErrorNotify(WanErrorNotify),
    /// Set-Link-Info (s2.15).
    SetLinkInfo(SetLinkInfo),
}

fn be16(b: &[u8], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

fn be32(b: &[u8], off: usize) -> u32 {
    match b.get(off..off + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

fn u8at(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

/// A little writer over a `Vec` (control messages are rare; the data path never uses this).
struct W<'a>(&'a mut Vec<u8>);
impl W<'_> {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

impl Message {
    /// The message's type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::StartControlConnectionRequest(_) => MessageType::StartControlConnectionRequest,
            Message::StartControlConnectionReply(_) => MessageType::StartControlConnectionReply,
            Message::StopControlConnectionRequest { .. } => {
                MessageType::StopControlConnectionRequest
            }
            Message::StopControlConnectionReply { .. } => MessageType::StopControlConnectionReply,
            Message::EchoRequest { .. } => MessageType::EchoRequest,
            Message::EchoReply { .. } => MessageType::EchoReply,
            Message::OutgoingCallRequest(_) => MessageType::OutgoingCallRequest,
            Message::OutgoingCallReply(_) => MessageType::OutgoingCallReply,
            Message::IncomingCallRequest(_) => MessageType::IncomingCallRequest,
            Message::IncomingCallReply(_) => MessageType::IncomingCallReply,
            Message::IncomingCallConnected(_) => MessageType::IncomingCallConnected,
            Message::CallClearRequest { .. } => MessageType::CallClearRequest,
            Message::CallDisconnectNotify(_) => MessageType::CallDisconnectNotify,
            Message::WanErrorNotify(_) => MessageType::WanErrorNotify,
            Message::SetLinkInfo(_) => MessageType::SetLinkInfo,
        }
    }

    /// Length on the wire (fixed per type).
    pub fn buffer_len(&self) -> usize {
        self.message_type().length()
    }

    /// Parse one whole message (`buf` is exactly the message: header and body).
    pub fn parse(buf: &[u8]) -> Result<Message, WireError> {
        let h = Header::parse(buf)?;
        let len = usize::from(h.length);
        if buf.len() < len {
            return Err(WireError::Truncated {
                need: len,
                have: buf.len(),
            });
        }
        if buf.len() > len {
            return Err(WireError::BadLength {
                found: len,
                expected: buf.len(),
            });
        }
        let t =
            MessageType::from_u16(h.control_type).ok_or(WireError::UnknownType(h.control_type))?;
        if len != t.length() {
            return Err(WireError::BadLength {
                found: len,
                expected: t.length(),
            });
        }
        let b = buf;
        let start = |b: &[u8]| StartControl {
            protocol_version: be16(b, 12),
            result_code: u8at(b, 14),
            error_code: u8at(b, 15),
            framing_capabilities: be32(b, 16),
            bearer_capabilities: be32(b, 20),
            maximum_channels: be16(b, 24),
            firmware_revision: be16(b, 26),
            host_name: FixedStr::read(b, 28),
            vendor: FixedStr::read(b, 92),
        };
        Ok(match t {
            MessageType::StartControlConnectionRequest => {
                Message::StartControlConnectionRequest(start(b))
            }
            MessageType::StartControlConnectionReply => {
                Message::StartControlConnectionReply(start(b))
            }
            MessageType::StopControlConnectionRequest => Message::StopControlConnectionRequest {
                reason: u8at(b, 12),
            },
            MessageType::StopControlConnectionReply => Message::StopControlConnectionReply {
                result_code: u8at(b, 12),
                error_code: u8at(b, 13),
            },
            MessageType::EchoRequest => Message::EchoRequest {
                identifier: be32(b, 12),
            },
            MessageType::EchoReply => Message::EchoReply {
                identifier: be32(b, 12),
                result_code: u8at(b, 16),
                error_code: u8at(b, 17),
            },
            MessageType::OutgoingCallRequest => Message::OutgoingCallRequest(OutgoingCallRequest {
                call_id: be16(b, 12),
                call_serial: be16(b, 14),
                minimum_bps: be32(b, 16),
                maximum_bps: be32(b, 20),
                bearer_type: be32(b, 24),
                framing_type: be32(b, 28),
                recv_window: be16(b, 32),
                processing_delay: be16(b, 34),
                phone_number_len: be16(b, 36),
                phone_number: FixedStr::read(b, 40),
                subaddress: FixedStr::read(b, 104),
            }),
            MessageType::OutgoingCallReply => Message::OutgoingCallReply(OutgoingCallReply {
                call_id: be16(b, 12),
                peer_call_id: be16(b, 14),
                result_code: u8at(b, 16),
                error_code: u8at(b, 17),
                cause_code: be16(b, 18),
                connect_speed: be32(b, 20),
                recv_window: be16(b, 24),
                processing_delay: be16(b, 26),
                physical_channel_id: be32(b, 28),
            }),
            MessageType::IncomingCallRequest => Message::IncomingCallRequest(IncomingCallRequest {
                call_id: be16(b, 12),
                call_serial: be16(b, 14),
                bearer_type: be32(b, 16),
                physical_channel_id: be32(b, 20),
                dialed_number_len: be16(b, 24),
                dialing_number_len: be16(b, 26),
                dialed_number: FixedStr::read(b, 28),
                dialing_number: FixedStr::read(b, 92),
                subaddress: FixedStr::read(b, 156),
            }),
            MessageType::IncomingCallReply => Message::IncomingCallReply(IncomingCallReply {
                call_id: be16(b, 12),
                peer_call_id: be16(b, 14),
                result_code: u8at(b, 16),
                error_code: u8at(b, 17),
                recv_window: be16(b, 18),
                transmit_delay: be16(b, 20),
            }),
            MessageType::IncomingCallConnected => {
                Message::IncomingCallConnected(IncomingCallConnected {
                    peer_call_id: be16(b, 12),
                    connect_speed: be32(b, 16),
                    recv_window: be16(b, 20),
                    transmit_delay: be16(b, 22),
                    framing_type: be32(b, 24),
                })
            }
            MessageType::CallClearRequest => Message::CallClearRequest {
                call_id: be16(b, 12),
            },
            MessageType::CallDisconnectNotify => {
                Message::CallDisconnectNotify(CallDisconnectNotify {
                    call_id: be16(b, 12),
                    result_code: u8at(b, 14),
                    error_code: u8at(b, 15),
                    cause_code: be16(b, 16),
                    call_statistics: FixedStr::read(b, 20),
                })
            }
            MessageType::WanErrorNotify => Message::WanErrorNotify(WanErrorNotify {
                peer_call_id: be16(b, 12),
                crc_errors: be32(b, 16),
                framing_errors: be32(b, 20),
                hardware_overruns: be32(b, 24),
                buffer_overruns: be32(b, 28),
                timeout_errors: be32(b, 32),
                alignment_errors: be32(b, 36),
            }),
            MessageType::SetLinkInfo => Message::SetLinkInfo(SetLinkInfo {
                peer_call_id: be16(b, 12),
                send_accm: be32(b, 16),
                recv_accm: be32(b, 20),
            }),
        })
    }

    /// Append the message to `out` (exactly [`Message::buffer_len`] bytes; reserved fields
    /// zero).
    pub fn emit(&self, out: &mut Vec<u8>) {
        let t = self.message_type();
        let len = t.length();
        let start = out.len();
        out.reserve(len);
        let mut w = W(out);
        w.u16(len as u16)
            .u16(PPTP_CONTROL_MESSAGE)
            .u32(MAGIC_COOKIE)
            .u16(t as u16)
            .u16(0);
        let start_control = |w: &mut W<'_>, s: &StartControl| {
            w.u16(s.protocol_version)
                .u8(s.result_code)
                .u8(s.error_code)
                .u32(s.framing_capabilities)
                .u32(s.bearer_capabilities)
                .u16(s.maximum_channels)
                .u16(s.firmware_revision)
                .bytes(&s.host_name.0)
                .bytes(&s.vendor.0);
        };
        match self {
            Message::StartControlConnectionRequest(s) | Message::StartControlConnectionReply(s) => {
                start_control(&mut w, s)
            }
            Message::StopControlConnectionRequest { reason } => {
                w.u8(*reason).u8(0).u16(0);
            }
            Message::StopControlConnectionReply {
                result_code,
                error_code,
            } => {
                w.u8(*result_code).u8(*error_code).u16(0);
            }
            Message::EchoRequest { identifier } => {
                w.u32(*identifier);
            }
            Message::EchoReply {
                identifier,
                result_code,
                error_code,
            } => {
                w.u32(*identifier).u8(*result_code).u8(*error_code).u16(0);
            }
            Message::OutgoingCallRequest(m) => {
                w.u16(m.call_id)
                    .u16(m.call_serial)
                    .u32(m.minimum_bps)
                    .u32(m.maximum_bps)
                    .u32(m.bearer_type)
                    .u32(m.framing_type)
                    .u16(m.recv_window)
                    .u16(m.processing_delay)
                    .u16(m.phone_number_len)
                    .u16(0)
                    .bytes(&m.phone_number.0)
                    .bytes(&m.subaddress.0);
            }
            Message::OutgoingCallReply(m) => {
                w.u16(m.call_id)
                    .u16(m.peer_call_id)
                    .u8(m.result_code)
                    .u8(m.error_code)
                    .u16(m.cause_code)
                    .u32(m.connect_speed)
                    .u16(m.recv_window)
                    .u16(m.processing_delay)
                    .u32(m.physical_channel_id);
            }
            Message::IncomingCallRequest(m) => {
                w.u16(m.call_id)
                    .u16(m.call_serial)
                    .u32(m.bearer_type)
                    .u32(m.physical_channel_id)
                    .u16(m.dialed_number_len)
                    .u16(m.dialing_number_len)
                    .bytes(&m.dialed_number.0)
                    .bytes(&m.dialing_number.0)
                    .bytes(&m.subaddress.0);
            }
            Message::IncomingCallReply(m) => {
                w.u16(m.call_id)
                    .u16(m.peer_call_id)
                    .u8(m.result_code)
                    .u8(m.error_code)
                    .u16(m.recv_window)
                    .u16(m.transmit_delay)
                    .u16(0);
            }
            Message::IncomingCallConnected(m) => {
                w.u16(m.peer_call_id)
                    .u16(0)
                    .u32(m.connect_speed)
                    .u16(m.recv_window)
                    .u16(m.transmit_delay)
                    .u32(m.framing_type);
            }
            Message::CallClearRequest { call_id } => {
                w.u16(*call_id).u16(0);
            }
            Message::CallDisconnectNotify(m) => {
                w.u16(m.call_id)
                    .u8(m.result_code)
                    .u8(m.error_code)
                    .u16(m.cause_code)
                    .u16(0)
                    .bytes(&m.call_statistics.0);
            }
            Message::WanErrorNotify(m) => {
                w.u16(m.peer_call_id)
                    .u16(0)
                    .u32(m.crc_errors)
                    .u32(m.framing_errors)
                    .u32(m.hardware_overruns)
                    .u32(m.buffer_overruns)
                    .u32(m.timeout_errors)
                    .u32(m.alignment_errors);
            }
            Message::SetLinkInfo(m) => {
                w.u16(m.peer_call_id)
                    .u16(0)
                    .u32(m.send_accm)
                    .u32(m.recv_accm);
            }
        }
        debug_assert_eq!(out.len() - start, len);
    }

    /// The message as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.buffer_len());
        self.emit(&mut v);
        v
    }

    /// The call ID this message is about, if any (the sender's own for OCRQ/OCRP/ICRQ/ICRP/
    /// Call-Clear-Request/CDN, the receiver's for ICCN/WEN/SLI).
    pub fn call_id(&self) -> Option<u16> {
        match self {
            Message::OutgoingCallRequest(m) => Some(m.call_id),
            Message::OutgoingCallReply(m) => Some(m.call_id),
            Message::IncomingCallRequest(m) => Some(m.call_id),
            Message::IncomingCallReply(m) => Some(m.call_id),
            Message::IncomingCallConnected(m) => Some(m.peer_call_id),
            Message::CallClearRequest { call_id } => Some(*call_id),
            Message::CallDisconnectNotify(m) => Some(m.call_id),
            Message::WanErrorNotify(m) => Some(m.peer_call_id),
            Message::SetLinkInfo(m) => Some(m.peer_call_id),
            _ => None,
        }
    }
}

/// Splits the TCP byte stream of a control connection into messages: any number of
/// messages per read, a message split across reads. The buffer holds at most one partial
/// message plus what the caller pushed since the last [`Deframer::next_message`] loop; a
/// length beyond [`MAX_MESSAGE_LEN`], a wrong magic cookie or a wrong PPTP Message Type
/// poisons it (the connection must close).
#[derive(Debug, Default, Clone)]
pub struct Deframer {
    buf: Vec<u8>,
    start: usize,
    poisoned: bool,
}

impl Deframer {
    /// An empty deframer.
    pub fn new() -> Self {
        Deframer::default()
    }

    /// Append bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        if self.poisoned {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True after a fatal error.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The next whole message: `Ok(None)` when more bytes are needed. A fatal error poisons
    /// the deframer (every later call returns [`WireError::Poisoned`]); an
    /// [`WireError::UnknownType`] skips that message only.
    pub fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        if self.poisoned {
            return Err(WireError::Poisoned);
        }
        let rest = self.buf.get(self.start..).unwrap_or_default();
        if rest.len() < HEADER_LEN {
            return Ok(None);
        }
        let h = match Header::parse(rest) {
            Ok(h) => h,
            Err(e) => {
                self.poisoned = true;
                self.buf = Vec::new();
                self.start = 0;
                return Err(e);
            }
        };
        let len = usize::from(h.length);
        let Some(frame) = rest.get(..len) else {
            return Ok(None);
        };
        let r = Message::parse(frame);
        self.start += len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        match r {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.is_fatal() => {
                self.poisoned = true;
                self.buf = Vec::new();
                self.start = 0;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_its_rfc_length_and_round_trips() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::from_u16(t as u16), Some(t));
            let mut b = vec![0u8; t.length()];
            b[..2].copy_from_slice(&(t.length() as u16).to_be_bytes());
            b[2..4].copy_from_slice(&1u16.to_be_bytes());
            b[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
            b[8..10].copy_from_slice(&(t as u16).to_be_bytes());
            let m = Message::parse(&b).unwrap();
            assert_eq!(m.message_type(), t, "{}", t.name());
            assert_eq!(m.to_vec(), b);
        }
        assert_eq!(MessageType::from_u16(0), None);
        assert_eq!(MessageType::from_u16(16), None);
    }

    #[test]
    fn bad_framing_poisons_the_deframer() {
        let mut m = Message::EchoRequest { identifier: 1 }.to_vec();
        m[4] = 0;
        let mut d = Deframer::new();
        d.push(&m);
        assert!(matches!(
            d.next_message(),
            Err(WireError::BadMagicCookie(_))
        ));
        assert_eq!(d.next_message(), Err(WireError::Poisoned));
        // a length beyond the largest message
        let mut d = Deframer::new();
        let mut m = Message::EchoRequest { identifier: 1 }.to_vec();
        m[0] = 0x10;
        d.push(&m);
        assert!(matches!(d.next_message(), Err(WireError::BadLength { .. })));
        // an Echo-Request with the length of an Echo-Reply
        let mut m = Message::EchoRequest { identifier: 1 }.to_vec();
        m[1] = 20;
        m.extend_from_slice(&[0; 4]);
        let mut d = Deframer::new();
        d.push(&m);
        assert_eq!(
            d.next_message(),
            Err(WireError::BadLength {
                found: 20,
                expected: 16
            })
        );
        assert!(d.is_poisoned());
    }

    #[test]
    fn unknown_type_is_skipped() {
        let mut u = Message::EchoRequest { identifier: 1 }.to_vec();
        u[9] = 99;
        let mut d = Deframer::new();
        d.push(&u);
        d.push(&Message::EchoRequest { identifier: 2 }.to_vec());
        assert_eq!(d.next_message(), Err(WireError::UnknownType(99)));
        assert_eq!(
            d.next_message(),
            Ok(Some(Message::EchoRequest { identifier: 2 }))
        );
        assert_eq!(d.next_message(), Ok(None));
        assert_eq!(d.buffered(), 0);
    }
}
