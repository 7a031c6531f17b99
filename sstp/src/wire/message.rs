//! Control messages (MS-SSTP 2.2.9-2.2.17).
//!
//! | type | message | attributes |
//! |---|---|---|
//! | 1 | Call Connect Request | Encapsulated Protocol ID |
//! | 2 | Call Connect Ack | Crypto Binding Request |
//! | 3 | Call Connect Nak | Status Info (one per refused attribute) |
//! | 4 | Call Connected | Crypto Binding |
//! | 5 | Call Abort | Status Info (optional) |
//! | 6 | Call Disconnect | Status Info (optional) |
//! | 7 | Call Disconnect Ack | none |
//! | 8 | Echo Request | none |
//! | 9 | Echo Response | none |
//!
//! The codec accepts any attribute list; which attributes a message may carry is checked by
//! the state machines, which answer a wrong list with Call Abort (MS-SSTP 3.1.5.1).

use super::attribute::{Attribute, CryptoBinding, CryptoBindingRequest, StatusInfo};
use super::{Header, WireError, HEADER_LEN, MAX_PACKET_LEN};

/// Message Type (MS-SSTP 2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 0x0001 SSTP_MSG_CALL_CONNECT_REQUEST.
    CallConnectRequest,
    /// 0x0002 SSTP_MSG_CALL_CONNECT_ACK.
    CallConnectAck,
    /// 0x0003 SSTP_MSG_CALL_CONNECT_NAK.
    CallConnectNak,
    /// 0x0004 SSTP_MSG_CALL_CONNECTED.
    CallConnected,
    /// 0x0005 SSTP_MSG_CALL_ABORT.
    CallAbort,
    /// 0x0006 SSTP_MSG_CALL_DISCONNECT.
    CallDisconnect,
    /// 0x0007 SSTP_MSG_CALL_DISCONNECT_ACK.
    CallDisconnectAck,
    /// 0x0008 SSTP_MSG_ECHO_REQUEST.
    EchoRequest,
    /// 0x0009 SSTP_MSG_ECHO_RESPONSE.
    EchoResponse,
    /// Any other value.
    Other(u16),
}

impl MessageType {
    /// From the wire value.
    pub fn from_u16(v: u16) -> Self {
        match v {
            1 => Self::CallConnectRequest,
            2 => Self::CallConnectAck,
            3 => Self::CallConnectNak,
            4 => Self::CallConnected,
            5 => Self::CallAbort,
            6 => Self::CallDisconnect,
            7 => Self::CallDisconnectAck,
            8 => Self::EchoRequest,
            9 => Self::EchoResponse,
            o => Self::Other(o),
        }
    }
    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            Self::CallConnectRequest => 1,
            Self::CallConnectAck => 2,
            Self::CallConnectNak => 3,
            Self::CallConnected => 4,
            Self::CallAbort => 5,
            Self::CallDisconnect => 6,
            Self::CallDisconnectAck => 7,
            Self::EchoRequest => 8,
            Self::EchoResponse => 9,
            Self::Other(o) => o,
        }
    }
    /// The specification's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::CallConnectRequest => "Call Connect Request",
            Self::CallConnectAck => "Call Connect Ack",
            Self::CallConnectNak => "Call Connect Nak",
            Self::CallConnected => "Call Connected",
            Self::CallAbort => "Call Abort",
            Self::CallDisconnect => "Call Disconnect",
            Self::CallDisconnectAck => "Call Disconnect Ack",
            Self::EchoRequest => "Echo Request",
            Self::EchoResponse => "Echo Response",
            Self::Other(_) => "unknown message",
        }
    }
}

/// A control message: type and attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ControlMessage {
    /// Reserved bits of the header's second octet (the C bit is implied); kept for
    /// byte-exact re-emission.
    pub header_reserved: u8,
    /// The message type.
    pub msg_type: MessageType,
    /// The attributes, in order.
    pub attributes: Vec<Attribute>,
}

impl ControlMessage {
    /// A message with attributes.
    pub fn new(msg_type: MessageType, attributes: Vec<Attribute>) -> Self {
        ControlMessage {
            header_reserved: 0,
            msg_type,
            attributes,
        }
    }
    /// Call Connect Request for PPP.
    pub fn connect_request() -> Self {
        Self::new(MessageType::CallConnectRequest, vec![Attribute::ppp()])
    }
    /// Call Connect Ack with a Crypto Binding Request.
    pub fn connect_ack(bitmask: u8, nonce: [u8; 32]) -> Self {
        Self::new(
            MessageType::CallConnectAck,
            vec![Attribute::CryptoBindingRequest(Box::new(
                CryptoBindingRequest {
                    reserved: [0; 3],
                    bitmask,
                    nonce,
                },
            ))],
        )
    }
    /// Call Connect Nak listing the refused attributes.
    pub fn connect_nak(statuses: Vec<StatusInfo>) -> Self {
        Self::new(
            MessageType::CallConnectNak,
            statuses.into_iter().map(Attribute::StatusInfo).collect(),
        )
    }
    /// Call Connected with a Crypto Binding.
    pub fn connected(binding: CryptoBinding) -> Self {
        Self::new(
            MessageType::CallConnected,
            vec![Attribute::CryptoBinding(Box::new(binding))],
        )
    }
    /// Call Abort, with a Status Info when given.
    pub fn abort(status: Option<StatusInfo>) -> Self {
        Self::new(
            MessageType::CallAbort,
            status.map(Attribute::StatusInfo).into_iter().collect(),
        )
    }
    /// Call Disconnect, with a Status Info when given.
    pub fn disconnect(status: Option<StatusInfo>) -> Self {
        Self::new(
            MessageType::CallDisconnect,
            status.map(Attribute::StatusInfo).into_iter().collect(),
        )
    }
    /// A message without attributes (Disconnect Ack, Echo Request/Response).
    pub fn bare(msg_type: MessageType) -> Self {
        Self::new(msg_type, Vec::new())
    }

    /// The first Status Info, if any.
    pub fn status_info(&self) -> Option<&StatusInfo> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::StatusInfo(s) => Some(s),
            _ => None,
        })
    }

    /// Bytes on the wire, header included.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + 4
            + self
                .attributes
                .iter()
                .map(Attribute::buffer_len)
                .sum::<usize>()
    }

    /// Parse a whole control packet (header included, as [`super::split_packet`] gives it).
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        let h = Header::parse(b)?;
        let n = usize::from(h.len());
        let pkt = b.get(..n).ok_or(WireError::Truncated {
            what: "control packet",
            need: n,
            have: b.len(),
        })?;
        if n < HEADER_LEN + 4 {
            return Err(WireError::ControlTooShort(n));
        }
        let msg_type = MessageType::from_u16(u16::from_be_bytes([pkt[4], pkt[5]]));
        let declared = u16::from_be_bytes([pkt[6], pkt[7]]);
        let mut attributes = Vec::new();
        let mut off = HEADER_LEN + 4;
        while attributes.len() < usize::from(declared) {
            let rest = &pkt[off..];
            if rest.is_empty() {
                return Err(WireError::AttributeCount {
                    declared,
                    found: attributes.len(),
                });
            }
            let (a, used) = Attribute::parse(rest, off)?;
            attributes.push(a);
            off += used;
        }
        if off != n {
            return Err(WireError::Trailing(n - off));
        }
        Ok(ControlMessage {
            header_reserved: b[1] & 0xfe,
            msg_type,
            attributes,
        })
    }

    /// Append the packet to `out`. Fails (writing nothing) only when the attributes do not
    /// fit the 12-bit length.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<usize, WireError> {
        let n = self.buffer_len();
        if n > MAX_PACKET_LEN {
            return Err(WireError::BufferTooSmall {
                need: n,
                have: MAX_PACKET_LEN,
            });
        }
        let mut h = [0u8; HEADER_LEN];
        Header::new(true, n).emit(&mut h);
        h[1] |= self.header_reserved & 0xfe;
        out.extend_from_slice(&h);
        out.extend_from_slice(&self.msg_type.to_u16().to_be_bytes());
        out.extend_from_slice(&(self.attributes.len() as u16).to_be_bytes());
        for a in &self.attributes {
            a.emit(out);
        }
        Ok(n)
    }

    /// The packet as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, WireError> {
        let mut v = Vec::with_capacity(self.buffer_len());
        self.emit(&mut v)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::super::attribute::{AttributeId, Status};
    use super::*;

    #[test]
    fn connect_request_matches_the_probe_bytes() {
        // ../shared/interop/sstp-probe.py sends exactly these 14 bytes.
        let b = [
            0x10, 0x01, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01,
        ];
        let m = ControlMessage::parse(&b).unwrap();
        assert_eq!(m, ControlMessage::connect_request());
        assert_eq!(m.to_vec().unwrap(), b);
    }

    #[test]
    fn lengths_of_the_fixed_messages() {
        assert_eq!(ControlMessage::connect_ack(3, [7; 32]).buffer_len(), 48);
        let cb = CryptoBinding {
            reserved: [0; 3],
            hash_protocol: 2,
            nonce: [1; 32],
            cert_hash: [2; 32],
            compound_mac: [3; 32],
        };
        let m = ControlMessage::connected(cb);
        let v = m.to_vec().unwrap();
        assert_eq!(v.len(), 112);
        assert_eq!(
            &v[..16],
            &[0x10, 1, 0, 0x70, 0, 4, 0, 1, 0, 3, 0, 0x68, 0, 0, 0, 2]
        );
        assert_eq!(ControlMessage::parse(&v).unwrap(), m);
        let e = ControlMessage::bare(MessageType::EchoRequest)
            .to_vec()
            .unwrap();
        assert_eq!(e, [0x10, 1, 0, 8, 0, 8, 0, 0]);
    }

    #[test]
    fn malformed_messages_are_named() {
        assert_eq!(
            ControlMessage::parse(&[0x10, 1, 0, 6, 0, 8]),
            Err(WireError::ControlTooShort(6))
        );
        assert_eq!(
            ControlMessage::parse(&[0x10, 1, 0, 8, 0, 8, 0, 1]),
            Err(WireError::AttributeCount {
                declared: 1,
                found: 0
            })
        );
        assert_eq!(
            ControlMessage::parse(&[0x10, 1, 0, 9, 0, 8, 0, 0, 0]),
            Err(WireError::Trailing(1))
        );
        let abort = ControlMessage::abort(Some(StatusInfo::new(
            AttributeId::NoError,
            Status::NegotiationTimeout,
        )));
        let v = abort.to_vec().unwrap();
        assert_eq!(v.len(), 20);
        assert_eq!(ControlMessage::parse(&v).unwrap(), abort);
    }
}
