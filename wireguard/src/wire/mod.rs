//! Codecs of the four WireGuard messages (whitepaper 5.4.2-5.4.7).
//!
//! Every message starts with a little-endian `u32` whose low byte is the type and whose upper three
//! bytes are zero (`1 0 0 0` for an initiation). All integers are little-endian.
//!
//! ```text
//! type 1  Handshake Initiation, 148 bytes
//!   0  type(4) | 4 sender(4) | 8 ephemeral(32) | 40 encrypted_static(32+16)
//!   88 encrypted_timestamp(12+16) | 116 mac1(16) | 132 mac2(16)
//! type 2  Handshake Response, 92 bytes
//!   0  type(4) | 4 sender(4) | 8 receiver(4) | 12 ephemeral(32) | 44 encrypted_nothing(0+16)
//!   60 mac1(16) | 76 mac2(16)
//! type 3  Cookie Reply, 64 bytes
//!   0  type(4) | 4 receiver(4) | 8 nonce(24) | 32 encrypted_cookie(16+16)
//! type 4  Transport Data, 32 bytes or more
//!   0  type(4) | 4 receiver(4) | 8 counter(8) | 16 encrypted_packet(n+16)
//! ```
//!
//! Two levels, as smoltcp does it: [`Message::parse`] checks type and exact length and returns
//! typed `Repr`s for the three fixed-size messages and a borrowed [`TransportRef`] for data;
//! `emit` writes a `Repr` back byte-for-byte (`emit(parse(b)) == b` for every valid message).

use crate::error::WireError;

/// Message type 1.
pub const TYPE_INITIATION: u8 = 1;
/// Message type 2.
pub const TYPE_RESPONSE: u8 = 2;
/// Message type 3.
pub const TYPE_COOKIE_REPLY: u8 = 3;
/// Message type 4.
pub const TYPE_TRANSPORT: u8 = 4;

/// Length of a Handshake Initiation.
pub const INITIATION_LEN: usize = 148;
/// Length of a Handshake Response.
pub const RESPONSE_LEN: usize = 92;
/// Length of a Cookie Reply.
pub const COOKIE_REPLY_LEN: usize = 64;
/// Length of the Transport Data header (type, receiver, counter).
pub const TRANSPORT_HEADER_LEN: usize = 16;
/// Smallest Transport Data message (a keepalive: header + empty payload + tag).
pub const TRANSPORT_MIN_LEN: usize = 32;

/// Offset of mac1 in an initiation.
pub const INITIATION_MAC1: usize = 116;
/// Offset of mac1 in a response.
pub const RESPONSE_MAC1: usize = 60;

fn arr<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = b.get(at..at + N) {
        out.copy_from_slice(s);
    }
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(arr(b, at))
}

/// Handshake Initiation (type 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Initiation {
    /// Initiator's local index for this handshake.
    pub sender: u32,
    /// Initiator's ephemeral public key (unencrypted).
    pub ephemeral: [u8; 32],
    /// Initiator's static public key, AEAD-sealed (32 + 16 tag).
    pub encrypted_static: [u8; 48],
    /// TAI64N timestamp, AEAD-sealed (12 + 16 tag).
    pub encrypted_timestamp: [u8; 28],
    /// mac1 over bytes `0..116`.
    pub mac1: [u8; 16],
    /// mac2 over bytes `0..132` (zero without a cookie).
    pub mac2: [u8; 16],
}

/// Handshake Response (type 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Responder's local index.
    pub sender: u32,
    /// The initiator's index this answers.
    pub receiver: u32,
    /// Responder's ephemeral public key.
    pub ephemeral: [u8; 32],
    /// AEAD of the empty string (just a tag).
    pub encrypted_nothing: [u8; 16],
    /// mac1 over bytes `0..60`.
    pub mac1: [u8; 16],
    /// mac2 over bytes `0..76`.
    pub mac2: [u8; 16],
}

/// Cookie Reply (type 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieReply {
    /// Index of the handshake message this answers (that message's sender field).
    pub receiver: u32,
    /// Random XChaCha20 nonce.
    pub nonce: [u8; 24],
    /// Cookie, XAEAD-sealed (16 + 16 tag).
    pub encrypted_cookie: [u8; 32],
}

/// Borrowed Transport Data (type 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportRef<'a> {
    /// The receiver's index of the keypair.
    pub receiver: u32,
    /// Nonce counter.
    pub counter: u64,
    /// Ciphertext including the 16-byte tag (at least 16 bytes).
    pub encrypted: &'a [u8],
}

/// Any WireGuard message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// Type 1.
    Initiation(Initiation),
    /// Type 2.
    Response(Response),
    /// Type 3.
    CookieReply(CookieReply),
    /// Type 4.
    Transport(TransportRef<'a>),
}

impl<'a> Message<'a> {
    /// Parse one datagram. The type must be 1-4 with three zero bytes after it, and the length must
    /// be exactly right for types 1-3 and at least 32 for type 4.
    pub fn parse(b: &'a [u8]) -> Result<Message<'a>, WireError> {
        if b.len() < 4 {
            return Err(WireError::Truncated {
                need: 4,
                got: b.len(),
            });
        }
        let ty = b[0];
        if b[1..4] != [0, 0, 0] {
            return Err(WireError::ReservedNotZero);
        }
        let need = match ty {
            TYPE_INITIATION => INITIATION_LEN,
            TYPE_RESPONSE => RESPONSE_LEN,
            TYPE_COOKIE_REPLY => COOKIE_REPLY_LEN,
            TYPE_TRANSPORT => {
                if b.len() < TRANSPORT_MIN_LEN {
                    return Err(WireError::BadLength {
                        msg_type: ty,
                        expected: TRANSPORT_MIN_LEN,
                        got: b.len(),
                    });
                }
                return Ok(Message::Transport(TransportRef {
                    receiver: u32_at(b, 4),
                    counter: u64::from_le_bytes(arr(b, 8)),
                    encrypted: b.get(TRANSPORT_HEADER_LEN..).unwrap_or(&[]),
                }));
            }
            other => return Err(WireError::UnknownType(other)),
        };
        if b.len() != need {
            return Err(WireError::BadLength {
                msg_type: ty,
                expected: need,
                got: b.len(),
            });
        }
        Ok(match ty {
            TYPE_INITIATION => Message::Initiation(Initiation {
                sender: u32_at(b, 4),
                ephemeral: arr(b, 8),
                encrypted_static: arr(b, 40),
                encrypted_timestamp: arr(b, 88),
                mac1: arr(b, 116),
                mac2: arr(b, 132),
            }),
            TYPE_RESPONSE => Message::Response(Response {
                sender: u32_at(b, 4),
                receiver: u32_at(b, 8),
                ephemeral: arr(b, 12),
                encrypted_nothing: arr(b, 44),
                mac1: arr(b, 60),
                mac2: arr(b, 76),
            }),
            _ => Message::CookieReply(CookieReply {
                receiver: u32_at(b, 4),
                nonce: arr(b, 8),
                encrypted_cookie: arr(b, 32),
            }),
        })
    }

    /// Bytes [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Message::Initiation(_) => INITIATION_LEN,
            Message::Response(_) => RESPONSE_LEN,
            Message::CookieReply(_) => COOKIE_REPLY_LEN,
            Message::Transport(t) => TRANSPORT_HEADER_LEN + t.encrypted.len(),
        }
    }

    /// Write the message into `buf`; returns the length written, or
    /// [`WireError::BufferTooSmall`] (buffer untouched).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let n = self.buffer_len();
        let Some(out) = buf.get_mut(..n) else {
            return Err(WireError::BufferTooSmall {
                need: n,
                have: buf.len(),
            });
        };
        match self {
            Message::Initiation(m) => m.write(out),
            Message::Response(m) => m.write(out),
            Message::CookieReply(m) => m.write(out),
            Message::Transport(t) => {
                write_transport_header(out, t.receiver, t.counter);
                out[TRANSPORT_HEADER_LEN..].copy_from_slice(t.encrypted);
            }
        }
        Ok(n)
    }
}

fn head(out: &mut [u8], ty: u8) {
    out[0..4].copy_from_slice(&[ty, 0, 0, 0]);
}

impl Initiation {
    /// Write into exactly 148 bytes.
    pub(crate) fn write(&self, out: &mut [u8]) {
        head(out, TYPE_INITIATION);
        out[4..8].copy_from_slice(&self.sender.to_le_bytes());
        out[8..40].copy_from_slice(&self.ephemeral);
        out[40..88].copy_from_slice(&self.encrypted_static);
        out[88..116].copy_from_slice(&self.encrypted_timestamp);
        out[116..132].copy_from_slice(&self.mac1);
        out[132..148].copy_from_slice(&self.mac2);
    }
    /// The 148-byte encoding.
    pub fn to_bytes(&self) -> [u8; INITIATION_LEN] {
        let mut b = [0u8; INITIATION_LEN];
        self.write(&mut b);
        b
    }
}

impl Response {
    /// Write into exactly 92 bytes.
    pub(crate) fn write(&self, out: &mut [u8]) {
        head(out, TYPE_RESPONSE);
        out[4..8].copy_from_slice(&self.sender.to_le_bytes());
        out[8..12].copy_from_slice(&self.receiver.to_le_bytes());
        out[12..44].copy_from_slice(&self.ephemeral);
        out[44..60].copy_from_slice(&self.encrypted_nothing);
        out[60..76].copy_from_slice(&self.mac1);
        out[76..92].copy_from_slice(&self.mac2);
    }
    /// The 92-byte encoding.
    pub fn to_bytes(&self) -> [u8; RESPONSE_LEN] {
        let mut b = [0u8; RESPONSE_LEN];
        self.write(&mut b);
        b
    }
}

impl CookieReply {
    /// Write into exactly 64 bytes.
    pub(crate) fn write(&self, out: &mut [u8]) {
        head(out, TYPE_COOKIE_REPLY);
        out[4..8].copy_from_slice(&self.receiver.to_le_bytes());
        out[8..32].copy_from_slice(&self.nonce);
        out[32..64].copy_from_slice(&self.encrypted_cookie);
    }
    /// The 64-byte encoding.
    pub fn to_bytes(&self) -> [u8; COOKIE_REPLY_LEN] {
        let mut b = [0u8; COOKIE_REPLY_LEN];
        self.write(&mut b);
        b
    }
}

/// Write the 16-byte transport header into `out[..16]` (`out` must be at least 16 bytes).
pub(crate) fn write_transport_header(out: &mut [u8], receiver: u32, counter: u64) {
    head(out, TYPE_TRANSPORT);
    out[4..8].copy_from_slice(&receiver.to_le_bytes());
    out[8..16].copy_from_slice(&counter.to_le_bytes());
}

/// A short human-readable summary of a datagram (for ladders and logs).
pub fn summarize(b: &[u8]) -> String {
    match Message::parse(b) {
        Ok(Message::Initiation(m)) => format!("Handshake Initiation sender={:#010x}", m.sender),
        Ok(Message::Response(m)) => format!(
            "Handshake Response sender={:#010x} receiver={:#010x}",
            m.sender, m.receiver
        ),
        Ok(Message::CookieReply(m)) => format!("Cookie Reply receiver={:#010x}", m.receiver),
        Ok(Message::Transport(t)) if t.encrypted.len() == 16 => format!(
            "Keepalive receiver={:#010x} counter={}",
            t.receiver, t.counter
        ),
        Ok(Message::Transport(t)) => format!(
            "Transport Data receiver={:#010x} counter={} datalen={}",
            t.receiver,
            t.counter,
            t.encrypted.len() - 16
        ),
        Err(e) => format!("malformed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_exact() {
        for (ty, len) in [(1u8, 148usize), (2, 92), (3, 64)] {
            let mut b = vec![0u8; len];
            b[0] = ty;
            let m = Message::parse(&b).unwrap();
            let mut out = vec![0u8; len];
            assert_eq!(m.emit(&mut out).unwrap(), len);
            assert_eq!(out, b);
            for bad in [len - 1, len + 1] {
                let mut b2 = vec![0u8; bad];
                b2[0] = ty;
                assert!(matches!(
                    Message::parse(&b2),
                    Err(WireError::BadLength { .. })
                ));
            }
        }
        let mut t = vec![0u8; 31];
        t[0] = 4;
        assert!(Message::parse(&t).is_err());
        t.push(0);
        assert!(matches!(Message::parse(&t), Ok(Message::Transport(_))));
        assert_eq!(
            Message::parse(&[5, 0, 0, 0]),
            Err(WireError::UnknownType(5))
        );
        assert_eq!(
            Message::parse(&[1, 1, 0, 0]),
            Err(WireError::ReservedNotZero)
        );
        assert!(matches!(
            Message::parse(&[1]),
            Err(WireError::Truncated { need: 4, got: 1 })
        ));
    }

    #[test]
    fn emit_too_small_untouched() {
        let mut b = vec![0u8; 92];
        b[0] = 2;
        let m = Message::parse(&b).unwrap();
        let mut small = [0xAAu8; 91];
        assert_eq!(
            m.emit(&mut small),
            Err(WireError::BufferTooSmall { need: 92, have: 91 })
        );
        assert!(small.iter().all(|&x| x == 0xAA));
    }
}
