//! Authentication packets: PAP (RFC 1334 s2.2), CHAP (RFC 1994 s4, with the MS-CHAP value
//! layouts of RFC 2433 and RFC 2759) and EAP (RFC 3748 s4, s5).
//!
//! All three share the control-packet header (Code, Identifier, Length); see
//! [`super::cp::CpPacket`].

use super::cp::CpPacket;
use crate::error::WireError;

fn take_lv<'a>(
    what: &'static str,
    data: &'a [u8],
    offset: usize,
) -> Result<(&'a [u8], &'a [u8]), WireError> {
    let (&len, rest) = data.split_first().ok_or(WireError::Truncated {
        what,
        offset,
        needed: 1,
        have: 0,
    })?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(WireError::Truncated {
            what,
            offset: offset + 1,
            needed: len,
            have: rest.len(),
        });
    }
    Ok(rest.split_at(len))
}

/// A PAP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pap<'a> {
    /// Authenticate-Request (code 1).
    Request {
        /// Identifier.
        id: u8,
        /// Peer-ID (user name).
        peer_id: &'a [u8],
        /// Password.
        password: &'a [u8],
    },
    /// Authenticate-Ack (code 2).
    Ack {
        /// Identifier.
        id: u8,
        /// Message.
        message: &'a [u8],
    },
    /// Authenticate-Nak (code 3).
    Nak {
        /// Identifier.
        id: u8,
        /// Message.
        message: &'a [u8],
    },
}

impl<'a> Pap<'a> {
    /// Parse the information field of a PAP frame.
    pub fn parse(buf: &'a [u8]) -> Result<Self, WireError> {
        let p = CpPacket::parse(buf)?;
        let id = p.identifier;
        match p.code {
            1 => {
                let (peer_id, rest) = take_lv("PAP Peer-ID", p.data, 4)?;
                let (password, _) = take_lv("PAP Password", rest, 5 + peer_id.len())?;
                Ok(Pap::Request {
                    id,
                    peer_id,
                    password,
                })
            }
            2 | 3 => {
                // Some peers send an empty data field instead of a zero Msg-Length.
                let message = if p.data.is_empty() {
                    &[][..]
                } else {
                    take_lv("PAP Message", p.data, 4)?.0
                };
                Ok(if p.code == 2 {
                    Pap::Ack { id, message }
                } else {
                    Pap::Nak { id, message }
                })
            }
            _ => Err(WireError::BadValue {
                field: "PAP code",
                reason: "not 1, 2 or 3",
            }),
        }
    }

    /// Append the packet to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut d = Vec::new();
        let (code, id) = match self {
            Pap::Request {
                id,
                peer_id,
                password,
            } => {
                let u = peer_id.get(..255).unwrap_or(peer_id);
                let pw = password.get(..255).unwrap_or(password);
                d.push(u.len() as u8);
                d.extend_from_slice(u);
                d.push(pw.len() as u8);
                d.extend_from_slice(pw);
                (1, *id)
            }
            Pap::Ack { id, message } | Pap::Nak { id, message } => {
                let m = message.get(..255).unwrap_or(message);
                d.push(m.len() as u8);
                d.extend_from_slice(m);
                (
                    if matches!(self, Pap::Ack { .. }) {
                        2
                    } else {
                        3
                    },
                    *id,
                )
            }
        };
        CpPacket {
            code,
            identifier: id,
            data: &d,
        }
        .emit(out);
    }
}

/// A CHAP packet (also carries MS-CHAPv1/v2: the algorithm is negotiated in LCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chap<'a> {
    /// Challenge (1).
    Challenge {
        /// Identifier.
        id: u8,
        /// Challenge value (16 octets for MS-CHAPv2, 8 for MS-CHAPv1).
        value: &'a [u8],
        /// Authenticator name.
        name: &'a [u8],
    },
    /// Response (2).
    Response {
        /// Identifier.
        id: u8,
        /// Response value (16 octets MD5; 49 octets MS-CHAP).
        value: &'a [u8],
        /// Peer name.
        name: &'a [u8],
    },
    /// Success (3).
    Success {
        /// Identifier.
        id: u8,
        /// Message (MS-CHAPv2: `S=<40 hex> M=<text>`).
        message: &'a [u8],
    },
    /// Failure (4).
    Failure {
        /// Identifier.
        id: u8,
        /// Message (MS-CHAP: `E=691 R=1 C=... V=3 M=...`).
        message: &'a [u8],
    },
}

impl<'a> Chap<'a> {
    /// Parse the information field of a CHAP frame.
    pub fn parse(buf: &'a [u8]) -> Result<Self, WireError> {
        let p = CpPacket::parse(buf)?;
        let id = p.identifier;
        match p.code {
            1 | 2 => {
                let (value, name) = take_lv("CHAP Value", p.data, 4)?;
                if value.is_empty() {
                    return Err(WireError::BadValue {
                        field: "CHAP Value-Size",
                        reason: "zero",
                    });
                }
                Ok(if p.code == 1 {
                    Chap::Challenge { id, value, name }
                } else {
                    Chap::Response { id, value, name }
                })
            }
            3 => Ok(Chap::Success {
                id,
                message: p.data,
            }),
            4 => Ok(Chap::Failure {
                id,
                message: p.data,
            }),
            _ => Err(WireError::BadValue {
                field: "CHAP code",
                reason: "not 1..4",
            }),
        }
    }

    /// Append the packet to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut d = Vec::new();
        let (code, id) = match self {
            Chap::Challenge { id, value, name } | Chap::Response { id, value, name } => {
                let v = value.get(..255).unwrap_or(value);
                d.push(v.len() as u8);
                d.extend_from_slice(v);
                d.extend_from_slice(name);
                (
                    if matches!(self, Chap::Challenge { .. }) {
                        1
                    } else {
                        2
                    },
                    *id,
                )
            }
            Chap::Success { id, message } => {
                d.extend_from_slice(message);
                (3, *id)
            }
            Chap::Failure { id, message } => {
                d.extend_from_slice(message);
                (4, *id)
            }
        };
        CpPacket {
            code,
            identifier: id,
            data: &d,
        }
        .emit(out);
    }
}

/// EAP method types used here (RFC 3748 s5; EAP-MSCHAPv2 is type 26).
pub mod eap_type {
    /// Identity.
    pub const IDENTITY: u8 = 1;
    /// Notification.
    pub const NOTIFICATION: u8 = 2;
    /// Legacy Nak.
    pub const NAK: u8 = 3;
    /// MD5-Challenge.
    pub const MD5_CHALLENGE: u8 = 4;
    /// EAP-TLS.
    pub const TLS: u8 = 13;
    /// EAP-MSCHAPv2 (draft-kamath-pppext-eap-mschapv2).
    pub const MSCHAPV2: u8 = 26;
}

/// An EAP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eap<'a> {
    /// Request (1): type and type data.
    Request {
        /// Identifier.
        id: u8,
        /// Type.
        kind: u8,
        /// Type-Data.
        data: &'a [u8],
    },
    /// Response (2): type and type data.
    Response {
        /// Identifier.
        id: u8,
        /// Type.
        kind: u8,
        /// Type-Data.
        data: &'a [u8],
    },
    /// Success (3).
    Success {
        /// Identifier.
        id: u8,
    },
    /// Failure (4).
    Failure {
        /// Identifier.
        id: u8,
    },
}

impl<'a> Eap<'a> {
    /// Parse the information field of an EAP frame.
    pub fn parse(buf: &'a [u8]) -> Result<Self, WireError> {
        let p = CpPacket::parse(buf)?;
        let id = p.identifier;
        match p.code {
            1 | 2 => {
                let (&kind, data) = p.data.split_first().ok_or(WireError::Truncated {
                    what: "EAP Type",
                    offset: 4,
                    needed: 1,
                    have: 0,
                })?;
                Ok(if p.code == 1 {
                    Eap::Request { id, kind, data }
                } else {
                    Eap::Response { id, kind, data }
                })
            }
            3 => Ok(Eap::Success { id }),
            4 => Ok(Eap::Failure { id }),
            _ => Err(WireError::BadValue {
                field: "EAP code",
                reason: "not 1..4",
            }),
        }
    }

    /// Append the packet to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut d = Vec::new();
        let (code, id) = match self {
            Eap::Request { id, kind, data } | Eap::Response { id, kind, data } => {
                d.push(*kind);
                d.extend_from_slice(data);
                (
                    if matches!(self, Eap::Request { .. }) {
                        1
                    } else {
                        2
                    },
                    *id,
                )
            }
            Eap::Success { id } => (3, *id),
            Eap::Failure { id } => (4, *id),
        };
        CpPacket {
            code,
            identifier: id,
            data: &d,
        }
        .emit(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pap_capture_roundtrip() {
        // PAP Authenticate-Request from the serial-pap capture: 'ixuser' / 'ixpass'.
        let pkt = hex::decode("010100120669787573657206697870617373").unwrap();
        let p = Pap::parse(&pkt).unwrap();
        assert_eq!(
            p,
            Pap::Request {
                id: 1,
                peer_id: b"ixuser",
                password: b"ixpass"
            }
        );
        let mut out = Vec::new();
        p.emit(&mut out);
        assert_eq!(out, pkt);
        let ack = hex::decode("0201000d084c6f67696e206f6b").unwrap();
        assert_eq!(
            Pap::parse(&ack).unwrap(),
            Pap::Ack {
                id: 1,
                message: b"Login ok"
            }
        );
        assert!(Pap::parse(&[1, 1, 0, 6, 5, b'a']).is_err());
    }

    #[test]
    fn chap_roundtrip() {
        let c = Chap::Challenge {
            id: 7,
            value: &[1, 2, 3],
            name: b"srv",
        };
        let mut out = Vec::new();
        c.emit(&mut out);
        assert_eq!(Chap::parse(&out).unwrap(), c);
        assert!(Chap::parse(&[1, 1, 0, 5, 0]).is_err());
        let e = Eap::Request {
            id: 1,
            kind: 1,
            data: b"",
        };
        out.clear();
        e.emit(&mut out);
        assert_eq!(out, [1, 1, 0, 5, 1]);
        assert_eq!(Eap::parse(&out).unwrap(), e);
    }
}
