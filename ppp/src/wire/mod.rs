//! PPP codecs: the frame (protocol field, address/control), async HDLC, control-protocol
//! packets and options (LCP, IPCP, IPv6CP) and authentication packets (PAP, CHAP, EAP).
//!
//! Every parser works on a borrowed `&[u8]`, never panics and never reads past its input; errors
//! are [`WireError`] values naming the field. Emitters write into caller buffers or append to a
//! `Vec` and are byte-exact inverses of the parsers for canonical input.

pub mod auth;
pub mod cp;
pub mod hdlc;

use crate::error::{BufferTooSmall, WireError};

/// PPP protocol numbers (RFC 1661 s2 and the protocol-specific RFCs; IANA "PPP DLL Protocol
/// Numbers").
pub mod protocol {
    /// Internet Protocol version 4 (RFC 1332).
    pub const IPV4: u16 = 0x0021;
    /// Bridged Ethernet (BCP, RFC 3518).
    pub const BRIDGED_ETHERNET: u16 = 0x0031;
    /// Multilink PPP fragment (RFC 1990).
    pub const MP: u16 = 0x003d;
    /// Internet Protocol version 6 (RFC 5072).
    pub const IPV6: u16 = 0x0057;
    /// Compressed datagram (MPPE / CCP, RFC 1962).
    pub const COMPRESSED: u16 = 0x00fd;
    /// IP Control Protocol (RFC 1332).
    pub const IPCP: u16 = 0x8021;
    /// Bridging Control Protocol (RFC 3518).
    pub const BCP: u16 = 0x8031;
    /// IPv6 Control Protocol (RFC 5072).
    pub const IPV6CP: u16 = 0x8057;
    /// Compression Control Protocol (RFC 1962).
    pub const CCP: u16 = 0x80fd;
    /// Link Control Protocol (RFC 1661).
    pub const LCP: u16 = 0xc021;
    /// Password Authentication Protocol (RFC 1334).
    pub const PAP: u16 = 0xc023;
    /// Link Quality Report (RFC 1989).
    pub const LQR: u16 = 0xc025;
    /// Challenge Handshake Authentication Protocol (RFC 1994).
    pub const CHAP: u16 = 0xc223;
    /// Extensible Authentication Protocol (RFC 3748).
    pub const EAP: u16 = 0xc227;

    /// A short name for logs and ladders (`"LCP"`, `"IPCP"`, ...), or `None` if unknown.
    pub fn name(protocol: u16) -> Option<&'static str> {
        Some(match protocol {
            IPV4 => "IPv4",
            BRIDGED_ETHERNET => "BPDU/Ethernet",
            MP => "MP",
            IPV6 => "IPv6",
            COMPRESSED => "Compressed",
            IPCP => "IPCP",
            BCP => "BCP",
            IPV6CP => "IPv6CP",
            CCP => "CCP",
            LCP => "LCP",
            PAP => "PAP",
            LQR => "LQR",
            CHAP => "CHAP",
            EAP => "EAP",
            _ => return None,
        })
    }

    /// True for a valid PPP protocol number: high octet even, low octet odd (RFC 1661 s2).
    pub fn is_valid(protocol: u16) -> bool {
        protocol & 0x0100 == 0 && protocol & 0x0001 == 1
    }

    /// True for protocols in 0x8000-0xbfff (network control protocols) and 0xc000-0xffff
    /// (link-layer control protocols).
    pub fn is_control(protocol: u16) -> bool {
        protocol >= 0x8000
    }
}

/// A decoded PPP frame: the protocol number and the information field.
///
/// The input may start with the HDLC address/control octets `FF 03` or not (ACFC, or a transport
/// such as PPPoE that never carries them), and the protocol field may be one octet (PFC) or two.
/// Both are detected from the data, so one parser serves every transport (RFC 1661 s6.5, s6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The PPP protocol number.
    pub protocol: u16,
    /// The information field (after the protocol field).
    pub payload: &'a [u8],
    /// The input carried `FF 03`.
    pub address_control: bool,
    /// The protocol field was compressed to one octet.
    pub protocol_compressed: bool,
}

impl<'a> Frame<'a> {
    /// Parse a frame (no HDLC flags or FCS: feed [`hdlc::Deframer`] output or a transport payload).
    pub fn parse(data: &'a [u8]) -> Result<Self, WireError> {
        let (address_control, rest) = match data {
            [0xff, 0x03, rest @ ..] => (true, rest),
            [0xff, ..] => {
                return Err(WireError::BadValue {
                    field: "control",
                    reason: "address 0xff must be followed by control 0x03",
                })
            }
            _ => (false, data),
        };
        let first = *rest.first().ok_or(WireError::Truncated {
            what: "protocol field",
            offset: data.len() - rest.len(),
            needed: 1,
            have: 0,
        })?;
        let (protocol, compressed, payload) = if first & 1 == 1 {
            (u16::from(first), true, rest.get(1..).unwrap_or(&[]))
        } else {
            let second = *rest.get(1).ok_or(WireError::Truncated {
                what: "protocol field",
                offset: data.len() - rest.len(),
                needed: 2,
                have: 1,
            })?;
            let p = u16::from_be_bytes([first, second]);
            (p, false, rest.get(2..).unwrap_or(&[]))
        };
        if !protocol::is_valid(protocol) {
            return Err(WireError::BadProtocol(protocol));
        }
        Ok(Frame {
            protocol,
            payload,
            address_control,
            protocol_compressed: compressed,
        })
    }

    /// Octets [`Frame::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        header_len(
            self.protocol,
            self.address_control,
            self.protocol_compressed,
        ) + self.payload.len()
    }

    /// Write the frame into `out`, returning the length written.
    ///
    /// `protocol_compressed` is honoured only for protocols below 0x0100 (RFC 1661 s6.5).
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let hl = write_header(
            self.protocol,
            self.address_control,
            self.protocol_compressed,
            self.payload.len(),
            out,
        )?;
        let end = hl + self.payload.len();
        if let Some(dst) = out.get_mut(hl..end) {
            dst.copy_from_slice(self.payload);
        }
        Ok(end)
    }
}

/// Length of the header (address/control + protocol field) for the given framing.
pub fn header_len(protocol: u16, address_control: bool, compress_protocol: bool) -> usize {
    let ac = if address_control { 2 } else { 0 };
    let pf = if compress_protocol && protocol < 0x100 {
        1
    } else {
        2
    };
    ac + pf
}

/// Write the frame header for a payload of `payload_len` octets into `out` (which must hold
/// header and payload), returning the header length. The payload itself is not written.
pub fn write_header(
    protocol: u16,
    address_control: bool,
    compress_protocol: bool,
    payload_len: usize,
    out: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    let hl = header_len(protocol, address_control, compress_protocol);
    let need = hl + payload_len;
    if out.len() < need {
        return Err(BufferTooSmall {
            need,
            have: out.len(),
        });
    }
    let mut i = 0;
    if address_control {
        out[0] = 0xff;
        out[1] = 0x03;
        i = 2;
    }
    let p = protocol.to_be_bytes();
    if hl - i == 1 {
        out[i] = p[1];
    } else {
        out[i] = p[0];
        out[i + 1] = p[1];
    }
    Ok(hl)
}

/// Append a complete frame to a `Vec` (used for control packets).
pub fn push_frame(protocol: u16, address_control: bool, payload: &[u8], out: &mut Vec<u8>) {
    if address_control {
        out.extend_from_slice(&[0xff, 0x03]);
    }
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_all_framings() {
        let f = Frame::parse(&[0xff, 0x03, 0xc0, 0x21, 1, 2]).unwrap();
        assert_eq!(
            (f.protocol, f.payload, f.address_control),
            (0xc021, &[1u8, 2][..], true)
        );
        let f = Frame::parse(&[0x21, 0x45]).unwrap();
        assert_eq!(
            (f.protocol, f.protocol_compressed, f.address_control),
            (0x21, true, false)
        );
        let f = Frame::parse(&[0x00, 0x21, 0x45]).unwrap();
        assert_eq!((f.protocol, f.protocol_compressed), (0x21, false));
        assert!(matches!(
            Frame::parse(&[0x02, 0x02]),
            Err(WireError::BadProtocol(0x0202))
        ));
        assert!(matches!(
            Frame::parse(&[0xc1, 0x21]),
            Ok(Frame { protocol: 0xc1, .. })
        ));
        assert!(Frame::parse(&[0xff]).is_err());
        assert!(Frame::parse(&[0xff, 0x03]).is_err());
        assert!(Frame::parse(&[0x00]).is_err());
    }

    #[test]
    fn emit_roundtrip_and_small_buffer() {
        for bytes in [
            &[0xffu8, 0x03, 0x00, 0x21, 9][..],
            &[0x21, 9],
            &[0xff, 0x03, 0x21, 9],
            &[0x80, 0x21],
        ] {
            let f = Frame::parse(bytes).unwrap();
            let mut out = [0u8; 8];
            let n = f.emit(&mut out).unwrap();
            assert_eq!(&out[..n], bytes);
            let mut tiny = [0xaau8; 1];
            assert_eq!(f.emit(&mut tiny).unwrap_err().need, bytes.len());
            assert_eq!(tiny, [0xaa]);
        }
    }
}
