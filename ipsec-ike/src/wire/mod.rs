//! IKEv2 message codecs (RFC 7296 section 3, RFC 7383 for SKF).
//!
//! Two levels, as smoltcp does it: [`Header`] is the fixed 28-byte header; [`Message`] is the
//! header plus the parsed payload chain ([`Payload`] with a typed [`Body`]). `parse` never
//! panics and never reads past its input; `emit` is byte-exact for every message a parse
//! accepted (reserved bits and unknown payloads are kept as they were).
//!
//! ```text
//!                      1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       IKE SA Initiator's SPI                  |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       IKE SA Responder's SPI                  |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          Message ID                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            Length                             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! Flags: 0x08 Initiator, 0x10 Version, 0x20 Response.
//!
//! Generic payload header (every payload):
//! | Next Payload  |C|  RESERVED   |         Payload Length        |
//! ```
//!
//! An SK payload (type 46) is always last; its "next payload" field names the first payload
//! *inside* the encrypted data. [`crate::sk`] decrypts it into a further chain that
//! [`parse_chain`] reads.

pub mod consts;
pub mod payload;

pub use consts::*;
pub use payload::*;

use crate::error::WireError;

/// Length of the IKE header.
pub const HEADER_LEN: usize = 28;
/// Length of the generic payload header.
pub const PAYLOAD_HEADER_LEN: usize = 4;
/// Bound on the number of payloads a decoder accepts in one chain.
pub const MAX_PAYLOADS: usize = 64;

/// Header flag: the sender is the original initiator of the IKE SA.
pub const FLAG_INITIATOR: u8 = 0x08;
/// Header flag: the sender can speak a higher major version.
pub const FLAG_VERSION: u8 = 0x10;
/// Header flag: this message is a response.
pub const FLAG_RESPONSE: u8 = 0x20;

/// The fixed IKE header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Initiator's SPI (never zero).
    pub spi_i: [u8; 8],
    /// Responder's SPI (zero in the first IKE_SA_INIT request).
    pub spi_r: [u8; 8],
    /// Type of the first payload.
    pub next_payload: PayloadType,
    /// Major (high nibble, 2) and minor (low nibble, 0) version.
    pub version: u8,
    /// Exchange type.
    pub exchange: ExchangeType,
    /// Flags byte (I, V, R and reserved bits, kept as received).
    pub flags: u8,
    /// Message ID.
    pub message_id: u32,
    /// Length of the whole message.
    pub length: u32,
}

impl Header {
    /// Parse the fixed header (length field not checked against anything).
    pub fn parse(b: &[u8]) -> Result<Header, WireError> {
        if b.len() < HEADER_LEN {
            return Err(WireError::trunc("IKE header", 0, HEADER_LEN, b.len()));
        }
        let mut spi_i = [0; 8];
        let mut spi_r = [0; 8];
        spi_i.copy_from_slice(&b[0..8]);
        spi_r.copy_from_slice(&b[8..16]);
        Ok(Header {
            spi_i,
            spi_r,
            next_payload: PayloadType(b[16]),
            version: b[17],
            exchange: ExchangeType(b[18]),
            flags: b[19],
            message_id: u32::from_be_bytes([b[20], b[21], b[22], b[23]]),
            length: u32::from_be_bytes([b[24], b[25], b[26], b[27]]),
        })
    }

    /// Write the header into `out[..28]`.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        if out.len() < HEADER_LEN {
            return Err(WireError::BufferTooSmall {
                need: HEADER_LEN,
                have: out.len(),
            });
        }
        out[0..8].copy_from_slice(&self.spi_i);
        out[8..16].copy_from_slice(&self.spi_r);
        out[16] = self.next_payload.0;
        out[17] = self.version;
        out[18] = self.exchange.0;
        out[19] = self.flags;
        out[20..24].copy_from_slice(&self.message_id.to_be_bytes());
        out[24..28].copy_from_slice(&self.length.to_be_bytes());
        Ok(())
    }

    /// The I flag.
    pub fn is_initiator(&self) -> bool {
        self.flags & FLAG_INITIATOR != 0
    }
    /// The R flag.
    pub fn is_response(&self) -> bool {
        self.flags & FLAG_RESPONSE != 0
    }
    /// The bytes `emit` writes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        let _ = self.emit(&mut b);
        b
    }
}

/// One payload of a chain: its type, the flags byte of its generic header (critical bit and
/// the seven reserved bits, kept as received) and its typed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// Payload type.
    pub ptype: PayloadType,
    /// Critical bit (0x80) and reserved bits of the generic header.
    pub flags: u8,
    /// The body.
    pub body: Body,
}

impl Payload {
    /// A payload with a clear critical bit.
    pub fn new(ptype: PayloadType, body: Body) -> Payload {
        Payload {
            ptype,
            flags: 0,
            body,
        }
    }
    /// The critical bit.
    pub fn critical(&self) -> bool {
        self.flags & 0x80 != 0
    }
    /// Bytes this payload takes on the wire, with its generic header.
    pub fn buffer_len(&self) -> usize {
        PAYLOAD_HEADER_LEN + self.body.buffer_len()
    }
}

/// A whole IKE message: header and the (outer) payload chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The header. `next_payload` and `length` are recomputed by [`Message::to_bytes`].
    pub header: Header,
    /// Payloads in order.
    pub payloads: Vec<Payload>,
}

impl Message {
    /// Parse a whole datagram (without the 4-byte non-ESP marker). The header's length must
    /// equal the input length.
    pub fn parse(b: &[u8]) -> Result<Message, WireError> {
        let header = Header::parse(b)?;
        if header.version >> 4 != 2 {
            return Err(WireError::BadVersion(header.version));
        }
        if header.length as usize != b.len() {
            return Err(WireError::BadLength {
                what: "IKE message length",
                offset: 24,
                length: header.length as usize,
            });
        }
        let payloads = parse_chain(header.next_payload, &b[HEADER_LEN..], HEADER_LEN)?;
        Ok(Message { header, payloads })
    }

    /// Bytes [`Message::to_bytes`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payloads.iter().map(Payload::buffer_len).sum::<usize>()
    }

    /// Serialise, with `next_payload` and `length` computed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buffer_len());
        let mut h = self.header;
        h.next_payload = self.payloads.first().map_or(PayloadType::NONE, |p| p.ptype);
        h.length = self.buffer_len() as u32;
        out.extend_from_slice(&h.to_bytes());
        emit_chain(&self.payloads, &mut out);
        out
    }

    /// First payload of type `t`.
    pub fn find(&self, t: PayloadType) -> Option<&Payload> {
        self.payloads.iter().find(|p| p.ptype == t)
    }
}

/// Parse a payload chain starting with type `first`; `base` is the offset of `b` in the
/// message (for error reports). An SK or SKF payload must be the last one.
pub fn parse_chain(first: PayloadType, b: &[u8], base: usize) -> Result<Vec<Payload>, WireError> {
    let mut out = Vec::new();
    let mut next = first;
    let mut off = 0usize;
    while next != PayloadType::NONE {
        if out.len() >= MAX_PAYLOADS {
            return Err(WireError::TooManyPayloads(MAX_PAYLOADS));
        }
        let rest = &b[off..];
        if rest.len() < PAYLOAD_HEADER_LEN {
            return Err(WireError::trunc(
                "payload header",
                base + off,
                PAYLOAD_HEADER_LEN,
                rest.len(),
            ));
        }
        let nxt = PayloadType(rest[0]);
        let flags = rest[1];
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        if len < PAYLOAD_HEADER_LEN || len > rest.len() {
            return Err(WireError::BadLength {
                what: "payload length",
                offset: base + off + 2,
                length: len,
            });
        }
        let body = Body::parse(next, nxt, &rest[4..len], base + off + 4)?;
        let encrypted = matches!(body, Body::Sk { .. } | Body::Skf { .. });
        out.push(Payload {
            ptype: next,
            flags,
            body,
        });
        off += len;
        if encrypted {
            if off != b.len() {
                return Err(WireError::PayloadAfterEncrypted(nxt.0));
            }
            return Ok(out);
        }
        next = nxt;
    }
    if off != b.len() {
        return Err(WireError::BadLength {
            what: "bytes after the last payload",
            offset: base + off,
            length: b.len() - off,
        });
    }
    Ok(out)
}

/// Append a payload chain to `out`; returns the type of the first payload (or NONE).
pub fn emit_chain(payloads: &[Payload], out: &mut Vec<u8>) -> PayloadType {
    for (i, p) in payloads.iter().enumerate() {
        let next = match &p.body {
            Body::Sk { next, .. } | Body::Skf { next, .. } => *next,
            _ => payloads.get(i + 1).map_or(PayloadType::NONE, |n| n.ptype),
        };
        out.push(next.0);
        out.push(p.flags);
        out.extend_from_slice(&(p.buffer_len() as u16).to_be_bytes());
        p.body.emit(out);
    }
    payloads.first().map_or(PayloadType::NONE, |p| p.ptype)
}

/// Serialise a chain into a fresh vector (the plaintext of an SK payload, without padding).
pub fn chain_to_bytes(payloads: &[Payload]) -> Vec<u8> {
    let mut v = Vec::new();
    emit_chain(payloads, &mut v);
    v
}

/// Short payload names as strongSwan logs them (`SA KE No N(NATD_S_IP) ...`).
pub fn payload_names(ps: &[Payload]) -> String {
    let mut v = Vec::new();
    for p in ps {
        v.push(match &p.body {
            Body::Sa(_) => "SA".to_string(),
            Body::Ke(_) => "KE".into(),
            Body::Id(_) if p.ptype == PayloadType::IDI => "IDi".into(),
            Body::Id(_) => "IDr".into(),
            Body::Cert(_) if p.ptype == PayloadType::CERT => "CERT".into(),
            Body::Cert(_) => "CERTREQ".into(),
            Body::Auth(_) => "AUTH".into(),
            Body::Nonce(_) => "No".into(),
            Body::Notify(n) => format!("N({:?})", n.ntype),
            Body::Delete(_) => "D".into(),
            Body::VendorId(_) => "V".into(),
            Body::Ts(_) if p.ptype == PayloadType::TSI => "TSi".into(),
            Body::Ts(_) => "TSr".into(),
            Body::Sk { .. } => "SK".into(),
            Body::Cp(_) => "CP".into(),
            Body::Eap(_) => "EAP".into(),
            Body::Skf { number, total, .. } => format!("SKF({number}/{total})"),
            Body::Unknown(_) => format!("?{}", p.ptype.0),
        });
    }
    v.join(" ")
}

/// One-line summary of an IKE message (`IKE_AUTH request 1 [ SK ]`), for ladders and logs;
/// `inner` adds the decrypted payload names of an SK payload when the caller has them.
pub fn summarize(b: &[u8], inner: Option<&[Payload]>) -> String {
    match Message::parse(b) {
        Ok(m) => {
            let kind = if m.header.is_response() {
                "response"
            } else {
                "request"
            };
            let mut s = format!(
                "{} {kind} {} [ {} ]",
                m.header.exchange,
                m.header.message_id,
                payload_names(&m.payloads)
            );
            if let Some(i) = inner {
                s.push_str(&format!(" = [ {} ]", payload_names(i)));
            }
            s
        }
        Err(e) => format!("not IKEv2 ({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_checks() {
        let h = Header {
            spi_i: [1; 8],
            spi_r: [0; 8],
            next_payload: PayloadType::SA,
            version: 0x20,
            exchange: ExchangeType::IKE_SA_INIT,
            flags: FLAG_INITIATOR,
            message_id: 0,
            length: 28,
        };
        let b = h.to_bytes();
        assert_eq!(Header::parse(&b).unwrap(), h);
        assert!(matches!(
            Message::parse(&b),
            Err(WireError::Truncated { .. })
        ));
        let mut b2 = b;
        b2[16] = 0;
        let m = Message::parse(&b2).unwrap();
        assert!(m.payloads.is_empty());
        assert_eq!(m.to_bytes(), b2.to_vec());
        b2[17] = 0x10;
        assert_eq!(Message::parse(&b2), Err(WireError::BadVersion(0x10)));
    }
}
