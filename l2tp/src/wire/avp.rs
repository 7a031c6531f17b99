//! Attribute-Value Pairs (RFC 2661 section 4.1, RFC 3931 section 5.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |M|H| rsvd  |      Length       |           Vendor ID           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Attribute Type        |        Attribute Value...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`Avp`] is the raw form (flags, vendor, type, value bytes) kept for every AVP, known or not, so
//! that a parsed message re-emits byte for byte. [`AvpValue`] is the typed view of the IETF
//! attributes of RFC 2661 and RFC 3931.

use md5::{Digest, Md5};

use crate::error::{be16, be32, Error, Result};

/// M bit.
pub const AVP_M: u16 = 0x8000;
/// H bit.
pub const AVP_H: u16 = 0x4000;
const AVP_RSVD: u16 = 0x3c00;
const AVP_LEN: u16 = 0x03ff;
/// Size of the AVP header.
pub const AVP_HEADER_LEN: usize = 6;
/// Largest AVP (10-bit length field).
pub const AVP_MAX_LEN: usize = 1023;

/// Attribute types of the IETF vendor (0), RFC 2661 section 4.4 and RFC 3931 section 5.4.
#[allow(missing_docs)]
pub mod attr {
    pub const MESSAGE_TYPE: u16 = 0;
    pub const RESULT_CODE: u16 = 1;
    pub const PROTOCOL_VERSION: u16 = 2;
    pub const FRAMING_CAPABILITIES: u16 = 3;
    pub const BEARER_CAPABILITIES: u16 = 4;
    pub const TIE_BREAKER: u16 = 5;
    pub const FIRMWARE_REVISION: u16 = 6;
    pub const HOST_NAME: u16 = 7;
    pub const VENDOR_NAME: u16 = 8;
    pub const ASSIGNED_TUNNEL_ID: u16 = 9;
    pub const RECEIVE_WINDOW_SIZE: u16 = 10;
    pub const CHALLENGE: u16 = 11;
    pub const Q931_CAUSE_CODE: u16 = 12;
    pub const CHALLENGE_RESPONSE: u16 = 13;
    pub const ASSIGNED_SESSION_ID: u16 = 14;
    pub const CALL_SERIAL_NUMBER: u16 = 15;
    pub const MINIMUM_BPS: u16 = 16;
    pub const MAXIMUM_BPS: u16 = 17;
    pub const BEARER_TYPE: u16 = 18;
    pub const FRAMING_TYPE: u16 = 19;
    pub const CALLED_NUMBER: u16 = 21;
    pub const CALLING_NUMBER: u16 = 22;
    pub const SUB_ADDRESS: u16 = 23;
    pub const TX_CONNECT_SPEED: u16 = 24;
    pub const PHYSICAL_CHANNEL_ID: u16 = 25;
    pub const INITIAL_RECEIVED_LCP_CONFREQ: u16 = 26;
    pub const LAST_SENT_LCP_CONFREQ: u16 = 27;
    pub const LAST_RECEIVED_LCP_CONFREQ: u16 = 28;
    pub const PROXY_AUTHEN_TYPE: u16 = 29;
    pub const PROXY_AUTHEN_NAME: u16 = 30;
    pub const PROXY_AUTHEN_CHALLENGE: u16 = 31;
    pub const PROXY_AUTHEN_ID: u16 = 32;
    pub const PROXY_AUTHEN_RESPONSE: u16 = 33;
    pub const CALL_ERRORS: u16 = 34;
    pub const ACCM: u16 = 35;
    pub const RANDOM_VECTOR: u16 = 36;
    pub const PRIVATE_GROUP_ID: u16 = 37;
    pub const RX_CONNECT_SPEED: u16 = 38;
    pub const SEQUENCING_REQUIRED: u16 = 39;
    // RFC 3931
    pub const MESSAGE_DIGEST: u16 = 59;
    pub const ROUTER_ID: u16 = 60;
    pub const ASSIGNED_CONTROL_CONNECTION_ID: u16 = 61;
    pub const PSEUDOWIRE_CAPABILITIES_LIST: u16 = 62;
    pub const LOCAL_SESSION_ID: u16 = 63;
    pub const REMOTE_SESSION_ID: u16 = 64;
    pub const ASSIGNED_COOKIE: u16 = 65;
    pub const REMOTE_END_ID: u16 = 66;
    pub const PSEUDOWIRE_TYPE: u16 = 68;
    pub const L2_SPECIFIC_SUBLAYER: u16 = 69;
    pub const DATA_SEQUENCING: u16 = 70;
    pub const CIRCUIT_STATUS: u16 = 71;
    pub const PREFERRED_LANGUAGE: u16 = 72;
    pub const CONTROL_MESSAGE_AUTHENTICATION_NONCE: u16 = 73;
    pub const TX_CONNECT_SPEED_V3: u16 = 74;
    pub const RX_CONNECT_SPEED_V3: u16 = 75;
}

/// Human-readable name of an IETF attribute type.
pub fn attr_name(t: u16) -> &'static str {
    use attr::*;
    match t {
        MESSAGE_TYPE => "Message Type",
        RESULT_CODE => "Result Code",
        PROTOCOL_VERSION => "Protocol Version",
        FRAMING_CAPABILITIES => "Framing Capabilities",
        BEARER_CAPABILITIES => "Bearer Capabilities",
        TIE_BREAKER => "Tie Breaker",
        FIRMWARE_REVISION => "Firmware Revision",
        HOST_NAME => "Host Name",
        VENDOR_NAME => "Vendor Name",
        ASSIGNED_TUNNEL_ID => "Assigned Tunnel ID",
        RECEIVE_WINDOW_SIZE => "Receive Window Size",
        CHALLENGE => "Challenge",
        Q931_CAUSE_CODE => "Q.931 Cause Code",
        CHALLENGE_RESPONSE => "Challenge Response",
        ASSIGNED_SESSION_ID => "Assigned Session ID",
        CALL_SERIAL_NUMBER => "Call Serial Number",
        MINIMUM_BPS => "Minimum BPS",
        MAXIMUM_BPS => "Maximum BPS",
        BEARER_TYPE => "Bearer Type",
        FRAMING_TYPE => "Framing Type",
        CALLED_NUMBER => "Called Number",
        CALLING_NUMBER => "Calling Number",
        SUB_ADDRESS => "Sub-Address",
        TX_CONNECT_SPEED => "Tx Connect Speed",
        PHYSICAL_CHANNEL_ID => "Physical Channel ID",
        INITIAL_RECEIVED_LCP_CONFREQ => "Initial Received LCP CONFREQ",
        LAST_SENT_LCP_CONFREQ => "Last Sent LCP CONFREQ",
        LAST_RECEIVED_LCP_CONFREQ => "Last Received LCP CONFREQ",
        PROXY_AUTHEN_TYPE => "Proxy Authen Type",
        PROXY_AUTHEN_NAME => "Proxy Authen Name",
        PROXY_AUTHEN_CHALLENGE => "Proxy Authen Challenge",
        PROXY_AUTHEN_ID => "Proxy Authen ID",
        PROXY_AUTHEN_RESPONSE => "Proxy Authen Response",
        CALL_ERRORS => "Call Errors",
        ACCM => "ACCM",
        RANDOM_VECTOR => "Random Vector",
        PRIVATE_GROUP_ID => "Private Group ID",
        RX_CONNECT_SPEED => "Rx Connect Speed",
        SEQUENCING_REQUIRED => "Sequencing Required",
        MESSAGE_DIGEST => "Message Digest",
        ROUTER_ID => "Router ID",
        ASSIGNED_CONTROL_CONNECTION_ID => "Assigned Control Connection ID",
        PSEUDOWIRE_CAPABILITIES_LIST => "Pseudowire Capabilities List",
        LOCAL_SESSION_ID => "Local Session ID",
        REMOTE_SESSION_ID => "Remote Session ID",
        ASSIGNED_COOKIE => "Assigned Cookie",
        REMOTE_END_ID => "Remote End ID",
        PSEUDOWIRE_TYPE => "Pseudowire Type",
        L2_SPECIFIC_SUBLAYER => "L2-Specific Sublayer",
        DATA_SEQUENCING => "Data Sequencing",
        CIRCUIT_STATUS => "Circuit Status",
        PREFERRED_LANGUAGE => "Preferred Language",
        CONTROL_MESSAGE_AUTHENTICATION_NONCE => "Control Message Authentication Nonce",
        TX_CONNECT_SPEED_V3 => "Tx Connect Speed (v3)",
        RX_CONNECT_SPEED_V3 => "Rx Connect Speed (v3)",
        _ => "unknown",
    }
}

/// One AVP in raw form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Avp {
    /// M bit: the receiver must understand this AVP or tear down the session/tunnel.
    pub mandatory: bool,
    /// H bit: the value is hidden (RFC 2661 section 4.3). `value` then holds the encrypted form.
    pub hidden: bool,
    /// Vendor ID (0 = IETF).
    pub vendor_id: u16,
    /// Attribute Type.
    pub attr_type: u16,
    /// Attribute Value (encrypted when `hidden`).
    pub value: Vec<u8>,
}

impl Avp {
    /// An IETF AVP from a typed value, M bit as given.
    pub fn new(mandatory: bool, v: &AvpValue) -> Self {
        let mut value = Vec::new();
        v.encode(&mut value);
        Avp {
            mandatory,
            hidden: false,
            vendor_id: 0,
            attr_type: v.attr_type(),
            value,
        }
    }

    /// An IETF AVP with the M bit set (the usual case).
    pub fn m(v: &AvpValue) -> Self {
        Avp::new(true, v)
    }

    /// Encoded length.
    pub fn len(&self) -> usize {
        AVP_HEADER_LEN + self.value.len()
    }

    /// Never true: an AVP has at least a header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether this is an IETF (vendor 0) AVP of type `t`.
    pub fn is(&self, t: u16) -> bool {
        self.vendor_id == 0 && self.attr_type == t
    }

    /// Typed view of a non-hidden IETF AVP. `Ok(None)` for vendor-specific or unknown attributes.
    pub fn typed(&self) -> Result<Option<AvpValue>> {
        if self.vendor_id != 0 {
            return Ok(None);
        }
        if self.hidden {
            return Err(Error::Hidden {
                attr: self.attr_type,
                reason: "AVP is hidden; unhide it first",
            });
        }
        AvpValue::decode(self.attr_type, &self.value)
    }

    /// Append the wire form to `out`.
    pub fn emit_vec(&self, out: &mut Vec<u8>) -> Result<()> {
        let len = self.len();
        if len > AVP_MAX_LEN {
            return Err(Error::Avp {
                offset: out.len(),
                reason: "AVP longer than 1023 bytes",
            });
        }
        let mut w = len as u16;
        if self.mandatory {
            w |= AVP_M;
        }
        if self.hidden {
            w |= AVP_H;
        }
        out.extend_from_slice(&w.to_be_bytes());
        out.extend_from_slice(&self.vendor_id.to_be_bytes());
        out.extend_from_slice(&self.attr_type.to_be_bytes());
        out.extend_from_slice(&self.value);
        Ok(())
    }

    /// Hide this AVP's value (RFC 2661 section 4.3) with `secret` and the Random Vector `rv`
    /// that precedes it in the message. `pad` extra bytes of `padding` are appended to hide
    /// the real length.
    pub fn hide(&mut self, secret: &[u8], rv: &[u8], padding: &[u8]) -> Result<()> {
        if self.hidden {
            return Ok(());
        }
        let mut plain = Vec::with_capacity(2 + self.value.len() + padding.len());
        plain.extend_from_slice(&(self.value.len() as u16).to_be_bytes());
        plain.extend_from_slice(&self.value);
        plain.extend_from_slice(padding);
        if AVP_HEADER_LEN + plain.len() > AVP_MAX_LEN {
            return Err(Error::Hidden {
                attr: self.attr_type,
                reason: "hidden value too long",
            });
        }
        md5_stream(self.attr_type, secret, rv, &mut plain, true);
        self.value = plain;
        self.hidden = true;
        Ok(())
    }

    /// Reveal a hidden AVP's value with `secret` and the Random Vector `rv` that precedes it.
    pub fn unhide(&mut self, secret: &[u8], rv: &[u8]) -> Result<()> {
        if !self.hidden {
            return Ok(());
        }
        let mut buf = self.value.clone();
        md5_stream(self.attr_type, secret, rv, &mut buf, false);
        let orig = be16(&buf, 0, "hidden original length").map_err(|_| Error::Hidden {
            attr: self.attr_type,
            reason: "hidden value shorter than 2 bytes",
        })? as usize;
        let v = buf.get(2..2 + orig).ok_or(Error::Hidden {
            attr: self.attr_type,
            reason: "original length exceeds hidden value (wrong secret?)",
        })?;
        self.value = v.to_vec();
        self.hidden = false;
        Ok(())
    }
}

/// The RFC 2661 section 4.3 MD5 stream: b1 = MD5(type + secret + RV), bi = MD5(secret + c(i-1)).
fn md5_stream(attr_type: u16, secret: &[u8], rv: &[u8], data: &mut [u8], encrypt: bool) {
    let mut prev: Vec<u8> = Vec::new();
    for (i, chunk) in data.chunks_mut(16).enumerate() {
        let mut h = Md5::new();
        if i == 0 {
            h.update(attr_type.to_be_bytes());
            h.update(secret);
            h.update(rv);
        } else {
            h.update(secret);
            h.update(&prev);
        }
        let b = h.finalize();
        let cipher_in: Vec<u8> = chunk.to_vec();
        for (x, k) in chunk.iter_mut().zip(b.iter()) {
            *x ^= k;
        }
        // The chaining value is always the ciphertext block.
        prev = if encrypt { chunk.to_vec() } else { cipher_in };
    }
}

/// Parse a list of AVPs (the body of a control message).
pub fn parse_avps(buf: &[u8]) -> Result<Vec<Avp>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let w = be16(buf, pos, "AVP flags/length")?;
        let len = (w & AVP_LEN) as usize;
        if w & AVP_RSVD != 0 {
            return Err(Error::Avp {
                offset: pos,
                reason: "reserved bits set",
            });
        }
        if len < AVP_HEADER_LEN {
            return Err(Error::Avp {
                offset: pos,
                reason: "length below 6",
            });
        }
        let value = buf.get(pos + AVP_HEADER_LEN..pos + len).ok_or(Error::Avp {
            offset: pos,
            reason: "length beyond end of message",
        })?;
        out.push(Avp {
            mandatory: w & AVP_M != 0,
            hidden: w & AVP_H != 0,
            vendor_id: be16(buf, pos + 2, "vendor id")?,
            attr_type: be16(buf, pos + 4, "attribute type")?,
            value: value.to_vec(),
        });
        pos += len;
    }
    Ok(out)
}

/// Emit a list of AVPs.
pub fn emit_avps(avps: &[Avp], out: &mut Vec<u8>) -> Result<()> {
    for a in avps {
        a.emit_vec(out)?;
    }
    Ok(())
}

/// Reveal every hidden AVP of a list in place, using the most recent Random Vector AVP before
/// each hidden one (RFC 2661 section 4.3).
pub fn unhide_all(avps: &mut [Avp], secret: &[u8]) -> Result<()> {
    let mut rv: Option<Vec<u8>> = None;
    for a in avps.iter_mut() {
        if a.is(attr::RANDOM_VECTOR) {
            rv = Some(a.value.clone());
        } else if a.hidden {
            let v = rv.as_deref().ok_or(Error::Hidden {
                attr: a.attr_type,
                reason: "no Random Vector AVP before hidden AVP",
            })?;
            a.unhide(secret, v)?;
        }
    }
    Ok(())
}

/// Result Code AVP value (RFC 2661 section 4.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResultCode {
    /// Result code (meaning depends on StopCCN vs CDN, see [`crate::wire::message::result`]).
    pub result: u16,
    /// Optional error code ([`crate::wire::message::error_code`]).
    pub error: Option<u16>,
    /// Optional error message (present only with an error code).
    pub message: Vec<u8>,
}

/// Typed value of an IETF AVP. Strings are kept as bytes (RFC 2661 does not mandate UTF-8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AvpValue {
    MessageType(u16),
    ResultCode(ResultCode),
    /// Protocol Version: version, revision (1, 0 for RFC 2661).
    ProtocolVersion(u8, u8),
    /// Framing capabilities bit set (1 = synchronous, 2 = asynchronous).
    FramingCapabilities(u32),
    /// Bearer capabilities bit set (1 = digital, 2 = analog).
    BearerCapabilities(u32),
    TieBreaker([u8; 8]),
    FirmwareRevision(u16),
    HostName(Vec<u8>),
    VendorName(Vec<u8>),
    AssignedTunnelId(u16),
    ReceiveWindowSize(u16),
    Challenge(Vec<u8>),
    /// Q.931 cause: cause code, cause message, advisory text.
    Q931Cause(u16, u8, Vec<u8>),
    ChallengeResponse([u8; 16]),
    AssignedSessionId(u16),
    CallSerialNumber(u32),
    MinimumBps(u32),
    MaximumBps(u32),
    BearerType(u32),
    FramingType(u32),
    CalledNumber(Vec<u8>),
    CallingNumber(Vec<u8>),
    SubAddress(Vec<u8>),
    TxConnectSpeed(u32),
    PhysicalChannelId(u32),
    InitialReceivedLcpConfReq(Vec<u8>),
    LastSentLcpConfReq(Vec<u8>),
    LastReceivedLcpConfReq(Vec<u8>),
    /// Proxy Authen Type (1 text, 2 CHAP, 3 PAP, 4 none, 5 MS-CHAPv1).
    ProxyAuthenType(u16),
    ProxyAuthenName(Vec<u8>),
    ProxyAuthenChallenge(Vec<u8>),
    ProxyAuthenId(u16),
    ProxyAuthenResponse(Vec<u8>),
    /// Call Errors: CRC, framing, hardware overruns, buffer overruns, time-out, alignment.
    CallErrors([u32; 6]),
    /// ACCM: send, receive.
    Accm(u32, u32),
    RandomVector(Vec<u8>),
    PrivateGroupId(Vec<u8>),
    RxConnectSpeed(u32),
    SequencingRequired,
    /// Message Digest: digest type (0 = HMAC-MD5, 1 = HMAC-SHA-1), digest.
    MessageDigest(u8, Vec<u8>),
    RouterId(u32),
    AssignedControlConnectionId(u32),
    PseudowireCapabilities(Vec<u16>),
    LocalSessionId(u32),
    RemoteSessionId(u32),
    AssignedCookie(Vec<u8>),
    RemoteEndId(Vec<u8>),
    PseudowireType(u16),
    /// L2-Specific Sublayer type (0 none, 1 default).
    L2SpecificSublayer(u16),
    /// Data Sequencing (0 none, 1 non-IP only, 2 all).
    DataSequencing(u16),
    /// Circuit Status: active (A bit), new (N bit).
    CircuitStatus {
        active: bool,
        new: bool,
    },
    PreferredLanguage(Vec<u8>),
    Nonce(Vec<u8>),
    TxConnectSpeedV3(u64),
    RxConnectSpeedV3(u64),
}

fn exact<const N: usize>(attr: u16, v: &[u8]) -> Result<[u8; N]> {
    <[u8; N]>::try_from(v).map_err(|_| Error::AvpValue {
        attr,
        name: attr_name(attr),
        reason: "wrong length",
    })
}

impl AvpValue {
    /// Decode the value of IETF attribute `t`. `Ok(None)` for an unknown attribute.
    pub fn decode(t: u16, v: &[u8]) -> Result<Option<AvpValue>> {
        use attr::*;
        use AvpValue as V;
        let u16v = |v: &[u8]| exact::<2>(t, v).map(u16::from_be_bytes);
        let u32v = |v: &[u8]| exact::<4>(t, v).map(u32::from_be_bytes);
        let s = |v: &[u8]| v.to_vec();
        Ok(Some(match t {
            MESSAGE_TYPE => V::MessageType(u16v(v)?),
            RESULT_CODE => {
                let result = be16(v, 0, "result code").map_err(|_| Error::AvpValue {
                    attr: t,
                    name: attr_name(t),
                    reason: "shorter than 2 bytes",
                })?;
                let (error, message) = if v.len() >= 4 {
                    (
                        Some(be16(v, 2, "error code")?),
                        v.get(4..).unwrap_or_default().to_vec(),
                    )
                } else if v.len() == 2 {
                    (None, Vec::new())
                } else {
                    return Err(Error::AvpValue {
                        attr: t,
                        name: attr_name(t),
                        reason: "3-byte result code",
                    });
                };
                V::ResultCode(ResultCode {
                    result,
                    error,
                    message,
                })
            }
            PROTOCOL_VERSION => {
                let b = exact::<2>(t, v)?;
                V::ProtocolVersion(b[0], b[1])
            }
            FRAMING_CAPABILITIES => V::FramingCapabilities(u32v(v)?),
            BEARER_CAPABILITIES => V::BearerCapabilities(u32v(v)?),
            TIE_BREAKER => V::TieBreaker(exact::<8>(t, v)?),
            FIRMWARE_REVISION => V::FirmwareRevision(u16v(v)?),
            HOST_NAME => V::HostName(s(v)),
            VENDOR_NAME => V::VendorName(s(v)),
            ASSIGNED_TUNNEL_ID => V::AssignedTunnelId(u16v(v)?),
            RECEIVE_WINDOW_SIZE => V::ReceiveWindowSize(u16v(v)?),
            CHALLENGE => V::Challenge(s(v)),
            Q931_CAUSE_CODE => {
                let code = be16(v, 0, "cause code").map_err(|_| Error::AvpValue {
                    attr: t,
                    name: attr_name(t),
                    reason: "shorter than 3 bytes",
                })?;
                let msg = *v.get(2).ok_or(Error::AvpValue {
                    attr: t,
                    name: attr_name(t),
                    reason: "shorter than 3 bytes",
                })?;
                V::Q931Cause(code, msg, v.get(3..).unwrap_or_default().to_vec())
            }
            CHALLENGE_RESPONSE => V::ChallengeResponse(exact::<16>(t, v)?),
            ASSIGNED_SESSION_ID => V::AssignedSessionId(u16v(v)?),
            CALL_SERIAL_NUMBER => V::CallSerialNumber(u32v(v)?),
            MINIMUM_BPS => V::MinimumBps(u32v(v)?),
            MAXIMUM_BPS => V::MaximumBps(u32v(v)?),
            BEARER_TYPE => V::BearerType(u32v(v)?),
            FRAMING_TYPE => V::FramingType(u32v(v)?),
            CALLED_NUMBER => V::CalledNumber(s(v)),
            CALLING_NUMBER => V::CallingNumber(s(v)),
            SUB_ADDRESS => V::SubAddress(s(v)),
            TX_CONNECT_SPEED => V::TxConnectSpeed(u32v(v)?),
            PHYSICAL_CHANNEL_ID => V::PhysicalChannelId(u32v(v)?),
            INITIAL_RECEIVED_LCP_CONFREQ => V::InitialReceivedLcpConfReq(s(v)),
            LAST_SENT_LCP_CONFREQ => V::LastSentLcpConfReq(s(v)),
            LAST_RECEIVED_LCP_CONFREQ => V::LastReceivedLcpConfReq(s(v)),
            PROXY_AUTHEN_TYPE => V::ProxyAuthenType(u16v(v)?),
            PROXY_AUTHEN_NAME => V::ProxyAuthenName(s(v)),
            PROXY_AUTHEN_CHALLENGE => V::ProxyAuthenChallenge(s(v)),
            PROXY_AUTHEN_ID => V::ProxyAuthenId(u16v(v)?),
            PROXY_AUTHEN_RESPONSE => V::ProxyAuthenResponse(s(v)),
            CALL_ERRORS => {
                let b = exact::<26>(t, v)?;
                let mut e = [0u32; 6];
                for (i, x) in e.iter_mut().enumerate() {
                    *x = be32(&b, 2 + 4 * i, "call errors")?;
                }
                V::CallErrors(e)
            }
            ACCM => {
                let b = exact::<10>(t, v)?;
                V::Accm(be32(&b, 2, "send accm")?, be32(&b, 6, "recv accm")?)
            }
            RANDOM_VECTOR => V::RandomVector(s(v)),
            PRIVATE_GROUP_ID => V::PrivateGroupId(s(v)),
            RX_CONNECT_SPEED => V::RxConnectSpeed(u32v(v)?),
            SEQUENCING_REQUIRED => {
                exact::<0>(t, v)?;
                V::SequencingRequired
            }
            MESSAGE_DIGEST => {
                let (ty, d) = v.split_first().ok_or(Error::AvpValue {
                    attr: t,
                    name: attr_name(t),
                    reason: "empty",
                })?;
                V::MessageDigest(*ty, d.to_vec())
            }
            ROUTER_ID => V::RouterId(u32v(v)?),
            ASSIGNED_CONTROL_CONNECTION_ID => V::AssignedControlConnectionId(u32v(v)?),
            PSEUDOWIRE_CAPABILITIES_LIST => {
                if !v.len().is_multiple_of(2) {
                    return Err(Error::AvpValue {
                        attr: t,
                        name: attr_name(t),
                        reason: "odd length",
                    });
                }
                V::PseudowireCapabilities(
                    v.chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect(),
                )
            }
            LOCAL_SESSION_ID => V::LocalSessionId(u32v(v)?),
            REMOTE_SESSION_ID => V::RemoteSessionId(u32v(v)?),
            ASSIGNED_COOKIE => {
                if v.len() != 4 && v.len() != 8 {
                    return Err(Error::AvpValue {
                        attr: t,
                        name: attr_name(t),
                        reason: "cookie must be 4 or 8 bytes",
                    });
                }
                V::AssignedCookie(s(v))
            }
            REMOTE_END_ID => V::RemoteEndId(s(v)),
            PSEUDOWIRE_TYPE => V::PseudowireType(u16v(v)?),
            L2_SPECIFIC_SUBLAYER => V::L2SpecificSublayer(u16v(v)?),
            DATA_SEQUENCING => V::DataSequencing(u16v(v)?),
            CIRCUIT_STATUS => {
                let w = u16v(v)?;
                if w & !3 != 0 {
                    return Err(Error::AvpValue {
                        attr: t,
                        name: attr_name(t),
                        reason: "reserved bits set",
                    });
                }
                V::CircuitStatus {
                    active: w & 1 != 0,
                    new: w & 2 != 0,
                }
            }
            PREFERRED_LANGUAGE => V::PreferredLanguage(s(v)),
            CONTROL_MESSAGE_AUTHENTICATION_NONCE => V::Nonce(s(v)),
            TX_CONNECT_SPEED_V3 => V::TxConnectSpeedV3(u64::from_be_bytes(exact::<8>(t, v)?)),
            RX_CONNECT_SPEED_V3 => V::RxConnectSpeedV3(u64::from_be_bytes(exact::<8>(t, v)?)),
            _ => return Ok(None),
        }))
    }

    /// The attribute type of this value.
    pub fn attr_type(&self) -> u16 {
        use attr::*;
        use AvpValue as V;
        match self {
            V::MessageType(_) => MESSAGE_TYPE,
            V::ResultCode(_) => RESULT_CODE,
            V::ProtocolVersion(..) => PROTOCOL_VERSION,
            V::FramingCapabilities(_) => FRAMING_CAPABILITIES,
            V::BearerCapabilities(_) => BEARER_CAPABILITIES,
            V::TieBreaker(_) => TIE_BREAKER,
            V::FirmwareRevision(_) => FIRMWARE_REVISION,
            V::HostName(_) => HOST_NAME,
            V::VendorName(_) => VENDOR_NAME,
            V::AssignedTunnelId(_) => ASSIGNED_TUNNEL_ID,
            V::ReceiveWindowSize(_) => RECEIVE_WINDOW_SIZE,
            V::Challenge(_) => CHALLENGE,
            V::Q931Cause(..) => Q931_CAUSE_CODE,
            V::ChallengeResponse(_) => CHALLENGE_RESPONSE,
            V::AssignedSessionId(_) => ASSIGNED_SESSION_ID,
            V::CallSerialNumber(_) => CALL_SERIAL_NUMBER,
            V::MinimumBps(_) => MINIMUM_BPS,
            V::MaximumBps(_) => MAXIMUM_BPS,
            V::BearerType(_) => BEARER_TYPE,
            V::FramingType(_) => FRAMING_TYPE,
            V::CalledNumber(_) => CALLED_NUMBER,
            V::CallingNumber(_) => CALLING_NUMBER,
            V::SubAddress(_) => SUB_ADDRESS,
            V::TxConnectSpeed(_) => TX_CONNECT_SPEED,
            V::PhysicalChannelId(_) => PHYSICAL_CHANNEL_ID,
            V::InitialReceivedLcpConfReq(_) => INITIAL_RECEIVED_LCP_CONFREQ,
            V::LastSentLcpConfReq(_) => LAST_SENT_LCP_CONFREQ,
            V::LastReceivedLcpConfReq(_) => LAST_RECEIVED_LCP_CONFREQ,
            V::ProxyAuthenType(_) => PROXY_AUTHEN_TYPE,
            V::ProxyAuthenName(_) => PROXY_AUTHEN_NAME,
            V::ProxyAuthenChallenge(_) => PROXY_AUTHEN_CHALLENGE,
            V::ProxyAuthenId(_) => PROXY_AUTHEN_ID,
            V::ProxyAuthenResponse(_) => PROXY_AUTHEN_RESPONSE,
            V::CallErrors(_) => CALL_ERRORS,
            V::Accm(..) => ACCM,
            V::RandomVector(_) => RANDOM_VECTOR,
            V::PrivateGroupId(_) => PRIVATE_GROUP_ID,
            V::RxConnectSpeed(_) => RX_CONNECT_SPEED,
            V::SequencingRequired => SEQUENCING_REQUIRED,
            V::MessageDigest(..) => MESSAGE_DIGEST,
            V::RouterId(_) => ROUTER_ID,
            V::AssignedControlConnectionId(_) => ASSIGNED_CONTROL_CONNECTION_ID,
            V::PseudowireCapabilities(_) => PSEUDOWIRE_CAPABILITIES_LIST,
            V::LocalSessionId(_) => LOCAL_SESSION_ID,
            V::RemoteSessionId(_) => REMOTE_SESSION_ID,
            V::AssignedCookie(_) => ASSIGNED_COOKIE,
            V::RemoteEndId(_) => REMOTE_END_ID,
            V::PseudowireType(_) => PSEUDOWIRE_TYPE,
            V::L2SpecificSublayer(_) => L2_SPECIFIC_SUBLAYER,
            V::DataSequencing(_) => DATA_SEQUENCING,
            V::CircuitStatus { .. } => CIRCUIT_STATUS,
            V::PreferredLanguage(_) => PREFERRED_LANGUAGE,
            V::Nonce(_) => CONTROL_MESSAGE_AUTHENTICATION_NONCE,
            V::TxConnectSpeedV3(_) => TX_CONNECT_SPEED_V3,
            V::RxConnectSpeedV3(_) => RX_CONNECT_SPEED_V3,
        }
    }

    /// Append the value bytes (without the AVP header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        use AvpValue as V;
        let w16 = |out: &mut Vec<u8>, x: u16| out.extend_from_slice(&x.to_be_bytes());
        match self {
            V::MessageType(x)
            | V::FirmwareRevision(x)
            | V::AssignedTunnelId(x)
            | V::ReceiveWindowSize(x)
            | V::AssignedSessionId(x)
            | V::ProxyAuthenType(x)
            | V::ProxyAuthenId(x)
            | V::PseudowireType(x)
            | V::L2SpecificSublayer(x)
            | V::DataSequencing(x) => w16(out, *x),
            V::ResultCode(r) => {
                w16(out, r.result);
                if let Some(e) = r.error {
                    w16(out, e);
                    out.extend_from_slice(&r.message);
                }
            }
            V::ProtocolVersion(a, b) => out.extend_from_slice(&[*a, *b]),
            V::FramingCapabilities(x)
            | V::BearerCapabilities(x)
            | V::CallSerialNumber(x)
            | V::MinimumBps(x)
            | V::MaximumBps(x)
            | V::BearerType(x)
            | V::FramingType(x)
            | V::TxConnectSpeed(x)
            | V::PhysicalChannelId(x)
            | V::RxConnectSpeed(x)
            | V::RouterId(x)
            | V::AssignedControlConnectionId(x)
            | V::LocalSessionId(x)
            | V::RemoteSessionId(x) => out.extend_from_slice(&x.to_be_bytes()),
            V::TieBreaker(b) => out.extend_from_slice(b),
            V::ChallengeResponse(b) => out.extend_from_slice(b),
            V::HostName(b)
            | V::VendorName(b)
            | V::Challenge(b)
            | V::CalledNumber(b)
            | V::CallingNumber(b)
            | V::SubAddress(b)
            | V::InitialReceivedLcpConfReq(b)
            | V::LastSentLcpConfReq(b)
            | V::LastReceivedLcpConfReq(b)
            | V::ProxyAuthenName(b)
            | V::ProxyAuthenChallenge(b)
            | V::ProxyAuthenResponse(b)
            | V::RandomVector(b)
            | V::PrivateGroupId(b)
            | V::AssignedCookie(b)
            | V::RemoteEndId(b)
            | V::PreferredLanguage(b)
            | V::Nonce(b) => out.extend_from_slice(b),
            V::Q931Cause(c, m, adv) => {
                w16(out, *c);
                out.push(*m);
                out.extend_from_slice(adv);
            }
            V::CallErrors(e) => {
                w16(out, 0);
                for x in e {
                    out.extend_from_slice(&x.to_be_bytes());
                }
            }
            V::Accm(s, r) => {
                w16(out, 0);
                out.extend_from_slice(&s.to_be_bytes());
                out.extend_from_slice(&r.to_be_bytes());
            }
            V::SequencingRequired => {}
            V::MessageDigest(t, d) => {
                out.push(*t);
                out.extend_from_slice(d);
            }
            V::PseudowireCapabilities(l) => {
                for x in l {
                    w16(out, *x);
                }
            }
            V::CircuitStatus { active, new } => {
                w16(out, u16::from(*active) | (u16::from(*new) << 1))
            }
            V::TxConnectSpeedV3(x) | V::RxConnectSpeedV3(x) => {
                out.extend_from_slice(&x.to_be_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_roundtrip_and_layout() {
        let mut a = Avp::m(&AvpValue::AssignedSessionId(0x1234));
        let plain = a.clone();
        let rv = [1u8, 2, 3, 4, 5, 6, 7, 8];
        a.hide(b"tunnelpass", &rv, &[0xaa; 20]).unwrap();
        assert!(a.hidden);
        assert_eq!(a.value.len(), 2 + 2 + 20);
        // First block is XORed with MD5(type || secret || RV).
        let mut h = Md5::new();
        h.update(14u16.to_be_bytes());
        h.update(b"tunnelpass");
        h.update(rv);
        let b1 = h.finalize();
        assert_eq!(a.value[0] ^ b1[0], 0);
        assert_eq!(a.value[1] ^ b1[1], 2);
        assert_eq!(a.value[2] ^ b1[2], 0x12);
        // Second block uses MD5(secret || first ciphertext block).
        let mut h = Md5::new();
        h.update(b"tunnelpass");
        h.update(&a.value[..16]);
        let b2 = h.finalize();
        assert_eq!(a.value[16] ^ b2[0], 0xaa);
        let mut wire = Vec::new();
        a.emit_vec(&mut wire).unwrap();
        assert_eq!(wire[0] & 0xc0, 0xc0);
        let mut back = parse_avps(&wire).unwrap();
        back[0].unhide(b"tunnelpass", &rv).unwrap();
        assert_eq!(back[0], plain);
    }

    #[test]
    fn wrong_secret_detected_or_garbage() {
        let mut a = Avp::m(&AvpValue::AssignedSessionId(7));
        a.hide(b"s1", b"rv", &[]).unwrap();
        let mut b = a.clone();
        // With a wrong secret the length field is garbage: either an error or a wrong value.
        match b.unhide(b"s2", b"rv") {
            Err(Error::Hidden { .. }) => {}
            Ok(()) => assert_ne!(b.value, vec![0, 7]),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn avp_errors() {
        assert!(matches!(
            parse_avps(&[0x80, 0x05, 0, 0, 0, 0]),
            Err(Error::Avp { offset: 0, .. })
        ));
        assert!(matches!(
            parse_avps(&[0x80, 0x09, 0, 0, 0, 0, 0, 1]),
            Err(Error::Avp { .. })
        ));
        assert!(matches!(
            parse_avps(&[0x84, 0x08, 0, 0, 0, 0, 0, 1]),
            Err(Error::Avp { .. })
        ));
        assert!(matches!(
            AvpValue::decode(attr::ASSIGNED_TUNNEL_ID, &[1]),
            Err(Error::AvpValue { attr: 9, .. })
        ));
        assert_eq!(AvpValue::decode(200, &[1]).unwrap(), None);
    }

    #[test]
    fn every_value_roundtrips() {
        use AvpValue as V;
        let vals = vec![
            V::MessageType(1),
            V::ResultCode(ResultCode {
                result: 2,
                error: Some(6),
                message: b"bye".to_vec(),
            }),
            V::ResultCode(ResultCode {
                result: 1,
                error: None,
                message: vec![],
            }),
            V::ProtocolVersion(1, 0),
            V::FramingCapabilities(3),
            V::BearerCapabilities(3),
            V::TieBreaker([1, 2, 3, 4, 5, 6, 7, 8]),
            V::FirmwareRevision(0x690),
            V::HostName(b"lns".to_vec()),
            V::VendorName(b"x".to_vec()),
            V::AssignedTunnelId(9),
            V::ReceiveWindowSize(4),
            V::Challenge(vec![1; 16]),
            V::Q931Cause(16, 0, b"normal".to_vec()),
            V::ChallengeResponse([7; 16]),
            V::AssignedSessionId(5),
            V::CallSerialNumber(42),
            V::MinimumBps(1),
            V::MaximumBps(2),
            V::BearerType(1),
            V::FramingType(1),
            V::CalledNumber(b"1".to_vec()),
            V::CallingNumber(b"2".to_vec()),
            V::SubAddress(b"3".to_vec()),
            V::TxConnectSpeed(10_000_000),
            V::PhysicalChannelId(4),
            V::InitialReceivedLcpConfReq(vec![1, 4, 5, 0xdc]),
            V::LastSentLcpConfReq(vec![1]),
            V::LastReceivedLcpConfReq(vec![2]),
            V::ProxyAuthenType(2),
            V::ProxyAuthenName(b"good_worker@mt.lv".to_vec()),
            V::ProxyAuthenChallenge(vec![9; 16]),
            V::ProxyAuthenId(1),
            V::ProxyAuthenResponse(vec![8; 16]),
            V::CallErrors([1, 2, 3, 4, 5, 6]),
            V::Accm(0, 0xffff_ffff),
            V::RandomVector(vec![5; 16]),
            V::PrivateGroupId(b"g".to_vec()),
            V::RxConnectSpeed(9),
            V::SequencingRequired,
            V::MessageDigest(0, vec![0; 16]),
            V::RouterId(0x0a000001),
            V::AssignedControlConnectionId(0xdeadbeef),
            V::PseudowireCapabilities(vec![5, 7]),
            V::LocalSessionId(1),
            V::RemoteSessionId(2),
            V::AssignedCookie(vec![1, 2, 3, 4]),
            V::RemoteEndId(b"circuit".to_vec()),
            V::PseudowireType(5),
            V::L2SpecificSublayer(1),
            V::DataSequencing(2),
            V::CircuitStatus {
                active: true,
                new: true,
            },
            V::PreferredLanguage(b"en".to_vec()),
            V::Nonce(vec![3; 16]),
            V::TxConnectSpeedV3(1 << 40),
            V::RxConnectSpeedV3(1),
        ];
        for v in vals {
            let a = Avp::m(&v);
            assert_eq!(a.typed().unwrap(), Some(v.clone()), "{v:?}");
            let mut wire = Vec::new();
            a.emit_vec(&mut wire).unwrap();
            assert_eq!(parse_avps(&wire).unwrap(), vec![a]);
        }
    }
}
