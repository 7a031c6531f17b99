//! OpenVPN packet codec.
//!
//! Every OpenVPN packet starts with one byte: the opcode in the high 5 bits and the key id in
//! the low 3 bits. Control packets (`P_CONTROL_*`, `P_ACK_V1`) then carry the sender's 8-byte
//! session id, optional control-channel protection (tls-auth HMAC + replay id, or the tls-crypt
//! envelope, see [`crate::protect`]), an ack array and a message packet id. Data packets
//! (`P_DATA_V1`, `P_DATA_V2`) carry the encrypted data channel (see [`crate::data`]).
//!
//! This module handles the *plain* layout (what is left after tls-auth/tls-crypt is removed):
//!
//! ```text
//! control:  op|kid (1) | session id (8) | ack count (1) | ack ids (4 x n)
//!           | remote session id (8, only when n > 0) | message packet id (4, not in P_ACK_V1)
//!           | payload (TLS records; for V3 / WKC the wrapped client key is appended outside)
//! data v1:  op|kid (1) | payload
//! data v2:  op|kid (1) | peer id (3) | payload
//! ```
//!
//! Over TCP every packet is prefixed with a 16-bit big-endian length ([`tcp`]).
//!
//! Guarantees: [`Packet::parse`] never panics and never reads past its input;
//! `emit` writes exactly `buffer_len()` bytes and `emit(parse(b)) == b` for every packet this
//! module accepts (byte-exact round trip, checked on every captured OpenVPN 2.6 packet).

pub mod tcp;

use crate::error::WireError;

/// Size of an OpenVPN session id.
pub const SESSION_ID_LEN: usize = 8;
/// Largest ack array OpenVPN accepts (`RELIABLE_ACK_SIZE`).
pub const MAX_ACKS: usize = 8;
/// The peer id value that means "no peer id assigned" in `P_DATA_V2`.
pub const PEER_ID_UNSET: u32 = 0x00FF_FFFF;

/// A 64-bit OpenVPN session id (random per side and per session).
pub type SessionId = [u8; SESSION_ID_LEN];

/// Packet opcodes (high 5 bits of the first byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 3: start a renegotiation (new key id) on an existing session.
    ControlSoftResetV1,
    /// 4: control message carrying TLS records.
    ControlV1,
    /// 5: standalone acknowledgement.
    AckV1,
    /// 6: data packet without peer id.
    DataV1,
    /// 7: client initial packet (key method 2).
    ControlHardResetClientV2,
    /// 8: server answer to the initial packet.
    ControlHardResetServerV2,
    /// 9: data packet with a 24-bit peer id.
    DataV2,
    /// 10: client initial packet carrying a tls-crypt-v2 wrapped client key.
    ControlHardResetClientV3,
    /// 11: control message with the tls-crypt-v2 wrapped client key appended.
    ControlWkcV1,
}

impl Opcode {
    /// Numeric opcode value.
    pub fn value(self) -> u8 {
        match self {
            Opcode::ControlSoftResetV1 => 3,
            Opcode::ControlV1 => 4,
            Opcode::AckV1 => 5,
            Opcode::DataV1 => 6,
            Opcode::ControlHardResetClientV2 => 7,
            Opcode::ControlHardResetServerV2 => 8,
            Opcode::DataV2 => 9,
            Opcode::ControlHardResetClientV3 => 10,
            Opcode::ControlWkcV1 => 11,
        }
    }

    /// Opcode from its numeric value; key-method-1 opcodes 1 and 2 and unknown values fail.
    pub fn from_value(v: u8) -> Result<Self, WireError> {
        Ok(match v {
            3 => Opcode::ControlSoftResetV1,
            4 => Opcode::ControlV1,
            5 => Opcode::AckV1,
            6 => Opcode::DataV1,
            7 => Opcode::ControlHardResetClientV2,
            8 => Opcode::ControlHardResetServerV2,
            9 => Opcode::DataV2,
            10 => Opcode::ControlHardResetClientV3,
            11 => Opcode::ControlWkcV1,
            other => return Err(WireError::UnknownOpcode { opcode: other }),
        })
    }

    /// Whether this is a data-channel opcode.
    pub fn is_data(self) -> bool {
        matches!(self, Opcode::DataV1 | Opcode::DataV2)
    }

    /// Whether the packet carries a message packet id (all control opcodes except `P_ACK_V1`).
    pub fn has_message_id(self) -> bool {
        !self.is_data() && self != Opcode::AckV1
    }

    /// OpenVPN's name for the opcode, as printed in its logs.
    pub fn name(self) -> &'static str {
        match self {
            Opcode::ControlSoftResetV1 => "P_CONTROL_SOFT_RESET_V1",
            Opcode::ControlV1 => "P_CONTROL_V1",
            Opcode::AckV1 => "P_ACK_V1",
            Opcode::DataV1 => "P_DATA_V1",
            Opcode::ControlHardResetClientV2 => "P_CONTROL_HARD_RESET_CLIENT_V2",
            Opcode::ControlHardResetServerV2 => "P_CONTROL_HARD_RESET_SERVER_V2",
            Opcode::DataV2 => "P_DATA_V2",
            Opcode::ControlHardResetClientV3 => "P_CONTROL_HARD_RESET_CLIENT_V3",
            Opcode::ControlWkcV1 => "P_CONTROL_WKC_V1",
        }
    }
}

/// Split the first byte of a packet into opcode and key id.
pub fn split_first_byte(bytes: &[u8]) -> Result<(Opcode, u8), WireError> {
    let b = *bytes.first().ok_or(WireError::Truncated {
        field: "opcode",
        offset: 0,
        need: 1,
        have: 0,
    })?;
    Ok((Opcode::from_value(b >> 3)?, b & 0x07))
}

/// Compose the first byte from opcode and key id (key id is masked to 3 bits).
pub fn first_byte(op: Opcode, key_id: u8) -> u8 {
    (op.value() << 3) | (key_id & 0x07)
}

/// A bounded list of acknowledged message packet ids (at most [`MAX_ACKS`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AckList {
    ids: [u32; MAX_ACKS],
    len: u8,
}

impl AckList {
    /// Empty list.
    pub fn new() -> Self {
        Self::default()
    }
    /// Acked ids in wire order.
    pub fn as_slice(&self) -> &[u32] {
        self.ids.get(..usize::from(self.len)).unwrap_or(&[])
    }
    /// Number of ids.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
    /// Whether there is no id.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Append an id; returns `false` (and does nothing) when full.
    pub fn push(&mut self, id: u32) -> bool {
        match self.ids.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = id;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

impl<'a> FromIterator<&'a u32> for AckList {
    fn from_iter<T: IntoIterator<Item = &'a u32>>(iter: T) -> Self {
        let mut l = AckList::new();
        for id in iter {
            if !l.push(*id) {
                break;
            }
        }
        l
    }
}

/// A control packet in its plain layout (control-channel protection already removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlPacket<'a> {
    /// Opcode (a control opcode).
    pub opcode: Opcode,
    /// Key id (0..=7).
    pub key_id: u8,
    /// Sender's session id.
    pub session_id: SessionId,
    /// Acknowledged message ids.
    pub acks: AckList,
    /// Receiver's session id as the sender knows it; present iff `acks` is not empty.
    pub remote_session_id: Option<SessionId>,
    /// Message packet id (absent in `P_ACK_V1`).
    pub message_id: Option<u32>,
    /// Payload: TLS records (or the early-negotiation TLVs of a hard reset).
    pub payload: &'a [u8],
}

/// A data packet header plus its (encrypted) payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataPacket<'a> {
    /// `DataV1` or `DataV2`.
    pub opcode: Opcode,
    /// Key id.
    pub key_id: u8,
    /// Peer id (`Some` iff `DataV2`).
    pub peer_id: Option<u32>,
    /// Encrypted data-channel payload.
    pub payload: &'a [u8],
}

/// A parsed OpenVPN packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Control or ack packet.
    Control(ControlPacket<'a>),
    /// Data packet.
    Data(DataPacket<'a>),
}

fn take<'a>(
    bytes: &'a [u8],
    off: usize,
    n: usize,
    field: &'static str,
) -> Result<&'a [u8], WireError> {
    bytes
        .get(off..off.saturating_add(n))
        .ok_or(WireError::Truncated {
            field,
            offset: off,
            need: n,
            have: bytes.len().saturating_sub(off),
        })
}

fn be32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    u32::from_be_bytes(a)
}

fn sid(b: &[u8]) -> SessionId {
    let mut a = [0u8; 8];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    a
}

impl<'a> Packet<'a> {
    /// Parse a plain packet (no tls-auth / tls-crypt envelope).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (opcode, key_id) = split_first_byte(bytes)?;
        if opcode.is_data() {
            return DataPacket::parse(bytes).map(Packet::Data);
        }
        ControlPacket::parse_after_header(bytes, opcode, key_id, 1 + SESSION_ID_LEN)
            .map(Packet::Control)
    }

    /// Bytes needed by [`Packet::emit`].
    pub fn buffer_len(&self) -> usize {
        match self {
            Packet::Control(c) => c.buffer_len(),
            Packet::Data(d) => d.buffer_len(),
        }
    }

    /// Emit into `out`; returns the number of bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        match self {
            Packet::Control(c) => c.emit(out),
            Packet::Data(d) => d.emit(out),
        }
    }
}

impl<'a> DataPacket<'a> {
    /// Parse a data packet.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (opcode, key_id) = split_first_byte(bytes)?;
        match opcode {
            Opcode::DataV1 => Ok(DataPacket {
                opcode,
                key_id,
                peer_id: None,
                payload: bytes.get(1..).unwrap_or(&[]),
            }),
            Opcode::DataV2 => {
                let p = take(bytes, 1, 3, "peer_id")?;
                let peer_id = (u32::from(p[0]) << 16) | (u32::from(p[1]) << 8) | u32::from(p[2]);
                Ok(DataPacket {
                    opcode,
                    key_id,
                    peer_id: Some(peer_id),
                    payload: bytes.get(4..).unwrap_or(&[]),
                })
            }
            other => Err(WireError::UnexpectedOpcode {
                opcode: other.value(),
                expected: "P_DATA_V1/V2",
            }),
        }
    }

    /// Header length (1 for V1, 4 for V2).
    pub fn header_len(&self) -> usize {
        if self.opcode == Opcode::DataV2 {
            4
        } else {
            1
        }
    }

    /// Bytes needed by [`DataPacket::emit`].
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Emit into `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let n = self.buffer_len();
        let have = out.len();
        let dst = out
            .get_mut(..n)
            .ok_or(WireError::BufferTooSmall { need: n, have })?;
        let h = self.header_len();
        write_data_header(self.opcode, self.key_id, self.peer_id, dst)?;
        dst.get_mut(h..)
            .unwrap_or(&mut [])
            .copy_from_slice(self.payload);
        Ok(n)
    }
}

/// Write a data header (1 or 4 bytes) at the start of `out`; returns its length.
pub fn write_data_header(
    opcode: Opcode,
    key_id: u8,
    peer_id: Option<u32>,
    out: &mut [u8],
) -> Result<usize, WireError> {
    let h = if opcode == Opcode::DataV2 { 4 } else { 1 };
    let dst = out
        .get_mut(..h)
        .ok_or(WireError::BufferTooSmall { need: h, have: 0 })?;
    dst[0] = first_byte(opcode, key_id);
    if h == 4 {
        let p = peer_id.unwrap_or(PEER_ID_UNSET).to_be_bytes();
        dst[1..4].copy_from_slice(&p[1..4]);
    }
    Ok(h)
}

impl<'a> ControlPacket<'a> {
    /// Parse a plain control packet.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (opcode, key_id) = split_first_byte(bytes)?;
        if opcode.is_data() {
            return Err(WireError::UnexpectedOpcode {
                opcode: opcode.value(),
                expected: "control opcode",
            });
        }
        Self::parse_after_header(bytes, opcode, key_id, 1 + SESSION_ID_LEN)
    }

    /// Parse where the ack array starts at `body` (used after stripping a tls-auth header).
    fn parse_after_header(
        bytes: &'a [u8],
        opcode: Opcode,
        key_id: u8,
        body: usize,
    ) -> Result<Self, WireError> {
        let session_id = sid(take(bytes, 1, SESSION_ID_LEN, "session_id")?);
        let mut off = body;
        let n = take(bytes, off, 1, "ack_count")?[0];
        off += 1;
        if usize::from(n) > MAX_ACKS {
            return Err(WireError::TooManyAcks {
                count: n,
                max: MAX_ACKS as u8,
            });
        }
        let mut acks = AckList::new();
        for _ in 0..n {
            acks.push(be32(take(bytes, off, 4, "ack_id")?));
            off += 4;
        }
        let remote_session_id = if n > 0 {
            let r = sid(take(bytes, off, SESSION_ID_LEN, "remote_session_id")?);
            off += SESSION_ID_LEN;
            Some(r)
        } else {
            None
        };
        let message_id = if opcode.has_message_id() {
            let m = be32(take(bytes, off, 4, "message_packet_id")?);
            off += 4;
            Some(m)
        } else {
            None
        };
        let payload = bytes.get(off..).unwrap_or(&[]);
        if opcode == Opcode::AckV1 && !payload.is_empty() {
            return Err(WireError::TrailingBytes {
                offset: off,
                count: payload.len(),
            });
        }
        Ok(ControlPacket {
            opcode,
            key_id,
            session_id,
            acks,
            remote_session_id,
            message_id,
            payload,
        })
    }

    /// Length of the part after the session id (ack array .. payload).
    pub fn body_len(&self) -> usize {
        1 + 4 * self.acks.len()
            + if self.acks.is_empty() {
                0
            } else {
                SESSION_ID_LEN
            }
            + if self.message_id.is_some() { 4 } else { 0 }
            + self.payload.len()
    }

    /// Bytes needed by [`ControlPacket::emit`].
    pub fn buffer_len(&self) -> usize {
        1 + SESSION_ID_LEN + self.body_len()
    }

    /// Emit the plain packet into `out`; returns bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let n = self.buffer_len();
        if out.len() < n {
            return Err(WireError::BufferTooSmall {
                need: n,
                have: out.len(),
            });
        }
        out[0] = first_byte(self.opcode, self.key_id);
        out[1..9].copy_from_slice(&self.session_id);
        self.emit_body(&mut out[9..n])?;
        Ok(n)
    }

    /// Emit only the body (ack array, remote session id, message id, payload).
    pub fn emit_body(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let n = self.body_len();
        if out.len() < n {
            return Err(WireError::BufferTooSmall {
                need: n,
                have: out.len(),
            });
        }
        if !self.acks.is_empty() && self.remote_session_id.is_none() {
            return Err(WireError::MissingField {
                field: "remote_session_id",
            });
        }
        let mut off = 0;
        out[off] = self.acks.len() as u8;
        off += 1;
        for id in self.acks.as_slice() {
            out[off..off + 4].copy_from_slice(&id.to_be_bytes());
            off += 4;
        }
        if !self.acks.is_empty() {
            if let Some(r) = self.remote_session_id {
                out[off..off + 8].copy_from_slice(&r);
                off += 8;
            }
        }
        if let Some(m) = self.message_id {
            out[off..off + 4].copy_from_slice(&m.to_be_bytes());
            off += 4;
        }
        out[off..off + self.payload.len()].copy_from_slice(self.payload);
        Ok(n)
    }
}

/// Early-negotiation TLV type carrying flags in a `P_CONTROL_HARD_RESET_SERVER_V2` payload.
pub const TLV_TYPE_EARLY_NEG_FLAGS: u16 = 0x0001;
/// Early-negotiation flag: the server asks the client to resend its WKc (`P_CONTROL_WKC_V1`).
pub const EARLY_NEG_FLAG_RESEND_WKC: u16 = 0x0001;
/// Initial control replay id a client uses to announce early-negotiation support.
pub const EARLY_NEG_START: u32 = 0x0f00_0000;

/// Parse the early-negotiation flags TLV list of a hard-reset payload; returns the flags.
pub fn parse_early_neg(payload: &[u8]) -> Result<u16, WireError> {
    let mut off = 0;
    let mut flags = 0;
    while off < payload.len() {
        let h = take(payload, off, 4, "tlv_header")?;
        let t = u16::from_be_bytes([h[0], h[1]]);
        let l = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let v = take(payload, off + 4, l, "tlv_value")?;
        if t == TLV_TYPE_EARLY_NEG_FLAGS && l == 2 {
            flags |= u16::from_be_bytes([v[0], v[1]]);
        }
        off += 4 + l;
    }
    Ok(flags)
}
