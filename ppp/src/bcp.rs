//! BCP, the PPP Bridging Control Protocol (RFC 3518), and the bridged-frame codec.
//!
//! # What BCP is for
//!
//! A PPP link normally carries network-layer datagrams (IPv4, IPv6). BCP makes it carry
//! whole LAN frames instead, so that the two ends of a tunnel (L2TP, PPTP, SSTP, PPPoE) can
//! be ports of the same Ethernet bridge: one broadcast domain across the tunnel, without
//! EoIP. RouterOS negotiates BCP when the `/ppp profile` in use names a `bridge`; the
//! dynamic PPP interface is then added to that bridge as a port. Since a PPP link has no MAC
//! address of its own, RouterOS asks for a bridge with an administratively set MAC (or an
//! Ethernet-like port in it). This crate carries the frames; the bridge itself (learning,
//! flooding, spanning tree) is the application's.
//!
//! BCP has two halves, like IPCP and IPv4:
//!
//! * **The NCP**, protocol `0x8031`: an option negotiation on the generic automaton of
//!   RFC 1661 (the same one as IPCP). When it is Opened, the session reports
//!   [`Event::BridgeUp`](crate::Event::BridgeUp).
//! * **Bridged frames**, protocol `0x0031` ("Bridged LAN Traffic", RFC 3518 s4 / s6): each
//!   PPP frame carries one LAN frame behind a two-octet header, see [`BridgedFrame`].
//!
//! # Bridged frame layout (IEEE 802.3 / Ethernet, RFC 3518 s4)
//!
//! ```text
//!  0     1     2     3     4     5     6     7
//! +-----+-----+-----+-----+-----------------------+
//! |  F  |  I  |  Z  |  B  |   Pads (0..15)        |  flags octet
//! +-----+-----+-----+-----+-----------------------+
//! |             MAC Type (1 = 802.3/Ethernet)     |
//! +-----------------------------------------------+
//! |   LAN Identification (4 octets, only if I)    |  RFC 1638 legacy
//! +-----------------------------------------------+
//! |   the LAN frame: destination MAC, source MAC, |
//! |   type/length, data (no preamble)             |
//! +-----------------------------------------------+
//! |   LAN FCS (4 octets, only if F)               |
//! +-----------------------------------------------+
//! |   Pads octets of padding, stripped on receive |
//! +-----------------------------------------------+
//! ```
//!
//! * **F** (`0x80`): the frame's original LAN FCS is present (RFC 3518 s3.1 "LAN Frame
//!   Checksum Preservation"). Without F the frame has no FCS and the receiving bridge adds
//!   one when it transmits on a LAN (s3.2).
//! * **I** (`0x40`): a LAN-Identification field follows (RFC 1638; RFC 3518 withdrew the
//!   LAN-Identification option, so this crate never sets I and never accepts that option,
//!   but the decoder still understands the field).
//! * **Z** (`0x20`): Tinygram Compression (RFC 3518 s6.4 option 4). The sender removed the
//!   zero padding of a minimum-size 802.3 frame; the receiver must pad it back with zeros to
//!   60 octets (64 with FCS) before putting it on a LAN. [`BridgedFrame::to_ethernet`] does.
//! * **B** (`0x10`): a bridge control packet (a BPDU), RFC 3518 s6.10 (option 10
//!   "Bridge-Control-Packet-Indicator"). The frame is passed through like any other; the
//!   application's spanning tree reads it.
//! * **Pads**: how many octets of padding the sender appended at the very end (some links
//!   need a minimum PPP frame length). The receiver strips them.
//!
//! # Options (RFC 3518 s6) and what this crate does with them
//!
//! | Type | Option | Our request | The peer's request |
//! |---|---|---|---|
//! | 1 | Bridge-Identification | never | Config-Reject: source-route bridging only; we bridge transparently |
//! | 2 | Line-Identification | never | Config-Reject (as type 1) |
//! | 3 | MAC-Support | `1` (802.3/Ethernet) | Ack type 1; Config-Reject other MAC types (no Token Ring, FDDI) |
//! | 4 | Tinygram-Compression | never | Ack (1 enabled / 2 disabled); we decode Z frames either way |
//! | 5 | LAN-Identification | never | Config-Reject: withdrawn in RFC 3518 |
//! | 6 | MAC-Address | never | Ack a non-zero address (the peer announces its MAC, reported in [`BcpNegotiated`]); Config-Reject all zeros (a request that we assign one: we do not) |
//! | 7 | Spanning-Tree-Protocol | never | Ack a list of 0 (none) and 1 (IEEE 802.1D); Config-Nak anything else with 802.1D |
//! | 8 | IEEE-802-Tagged-Frame | never | Ack: tagged frames pass through unchanged |
//! | 9 | Management-Inline | never | Config-Reject: no in-band management |
//! | 10 | Bridge-Control-Packet-Indicator | never | Ack: we understand the B flag |
//! | other | | | Config-Reject |
//!
//! When the peer does not do BCP at all it Protocol-Rejects `0x8031` (RFC 1661 s5.7): BCP
//! goes to Stopped, [`Event::ProtocolRejected`](crate::Event::ProtocolRejected) is reported,
//! and IPCP/IPv6CP carry on.

use crate::cp::{Ctx, Judgement, Negotiator, Replies};
use crate::error::WireError;
use crate::wire::cp::{code, options, RawOption};

/// Flag bits of the first octet of a bridged frame (RFC 3518 s4).
pub mod flag {
    /// F: the LAN FCS is present.
    pub const LAN_FCS: u8 = 0x80;
    /// I: a 4-octet LAN Identification field follows the MAC type (RFC 1638).
    pub const LAN_ID: u8 = 0x40;
    /// Z: an 802.3 frame whose zero padding was stripped (Tinygram Compression).
    pub const ZERO_PAD: u8 = 0x20;
    /// B: a bridge control packet (BPDU).
    pub const BRIDGE_CONTROL: u8 = 0x10;
    /// Pads: the number of padding octets at the end of the frame.
    pub const PADS_MASK: u8 = 0x0f;
}

/// MAC types of the bridged-frame header and the MAC-Support option (RFC 3518 s6.3; IANA).
pub mod mac_type {
    /// IEEE 802.3/Ethernet with canonical addresses: the only type this crate bridges.
    pub const ETHERNET: u8 = 1;
    /// IEEE 802.4 with canonical addresses.
    pub const IEEE_802_4: u8 = 2;
    /// IEEE 802.5 with non-canonical addresses.
    pub const IEEE_802_5_NON_CANONICAL: u8 = 3;
    /// FDDI with non-canonical addresses.
    pub const FDDI_NON_CANONICAL: u8 = 4;
    /// IEEE 802.5 with canonical addresses.
    pub const IEEE_802_5: u8 = 11;
    /// FDDI with canonical addresses.
    pub const FDDI: u8 = 12;
}

/// The smallest 802.3 frame without FCS: what a Z (tinygram) frame is padded back to.
pub const MIN_ETHERNET_FRAME: usize = 60;

/// One bridged LAN frame (protocol `0x0031`), borrowed from the PPP payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgedFrame<'a> {
    /// Z: the 802.3 zero padding was stripped; pad back to [`MIN_ETHERNET_FRAME`].
    pub zero_pad: bool,
    /// B: a bridge control packet (BPDU).
    pub bridge_control: bool,
    /// The MAC type ([`mac_type`]).
    pub mac_type: u8,
    /// The RFC 1638 LAN Identification (I flag), if present.
    pub lan_id: Option<u32>,
    /// The LAN frame: destination, source, type/length, data; no FCS.
    pub frame: &'a [u8],
    /// The LAN FCS as sent (F flag), if present. Carried verbatim, not checked.
    pub lan_fcs: Option<[u8; 4]>,
    /// Padding octets at the end (0..=15); emitted as zeros.
    pub pads: u8,
}

impl<'a> BridgedFrame<'a> {
    /// An Ethernet frame (MAC type 1) without FCS, padding or flags: what
    /// [`Session::send_ethernet`](crate::Session::send_ethernet) sends.
    pub fn ethernet(frame: &'a [u8]) -> Self {
        BridgedFrame {
            zero_pad: false,
            bridge_control: false,
            mac_type: mac_type::ETHERNET,
            lan_id: None,
            frame,
            lan_fcs: None,
            pads: 0,
        }
    }

    /// Decode the information field of a protocol `0x0031` PPP frame. Never panics; the
    /// Pads count and the optional fields must fit the payload.
    pub fn parse(payload: &'a [u8]) -> Result<Self, WireError> {
        let [flags, mac, rest @ ..] = payload else {
            return Err(WireError::Truncated {
                what: "bridged frame header",
                offset: 0,
                needed: 2,
                have: payload.len(),
            });
        };
        let (lan_id, rest) = if flags & flag::LAN_ID != 0 {
            let Some((id, rest)) = rest.split_first_chunk::<4>() else {
                return Err(WireError::Truncated {
                    what: "bridged frame LAN Identification",
                    offset: 2,
                    needed: 4,
                    have: rest.len(),
                });
            };
            (Some(u32::from_be_bytes(*id)), rest)
        } else {
            (None, rest)
        };
        let pads = flags & flag::PADS_MASK;
        let rest = rest
            .len()
            .checked_sub(usize::from(pads))
            .map(|n| &rest[..n])
            .ok_or(WireError::BadValue {
                field: "bridged frame Pads",
                reason: "more padding than octets",
            })?;
        let (frame, lan_fcs) = if flags & flag::LAN_FCS != 0 {
            let Some((frame, fcs)) = rest.split_last_chunk::<4>() else {
                return Err(WireError::Truncated {
                    what: "bridged frame LAN FCS",
                    offset: payload.len() - rest.len(),
                    needed: 4,
                    have: rest.len(),
                });
            };
            (frame, Some(*fcs))
        } else {
            (rest, None)
        };
        Ok(BridgedFrame {
            zero_pad: flags & flag::ZERO_PAD != 0,
            bridge_control: flags & flag::BRIDGE_CONTROL != 0,
            mac_type: *mac,
            lan_id,
            frame,
            lan_fcs,
            pads,
        })
    }

    /// The flags octet this frame is sent with.
    pub fn flags(&self) -> u8 {
        let mut f = self.pads & flag::PADS_MASK;
        if self.lan_fcs.is_some() {
            f |= flag::LAN_FCS;
        }
        if self.lan_id.is_some() {
            f |= flag::LAN_ID;
        }
        if self.zero_pad {
            f |= flag::ZERO_PAD;
        }
        if self.bridge_control {
            f |= flag::BRIDGE_CONTROL;
        }
        f
    }

    /// Encoded length.
    pub fn buffer_len(&self) -> usize {
        2 + self.lan_id.map_or(0, |_| 4)
            + self.frame.len()
            + self.lan_fcs.map_or(0, |_| 4)
            + usize::from(self.pads & flag::PADS_MASK)
    }

    /// Append the encoded information field (not the PPP protocol) to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        out.push(self.flags());
        out.push(self.mac_type);
        if let Some(id) = self.lan_id {
            out.extend_from_slice(&id.to_be_bytes());
        }
        out.extend_from_slice(self.frame);
        if let Some(fcs) = self.lan_fcs {
            out.extend_from_slice(&fcs);
        }
        out.resize(out.len() + usize::from(self.pads & flag::PADS_MASK), 0);
    }

    /// Append the LAN frame as it goes out on an Ethernet port to `out`: the frame, padded
    /// with zeros to [`MIN_ETHERNET_FRAME`] when Z is set (Tinygram Compression undone), and
    /// without the LAN FCS (the port computes its own).
    pub fn to_ethernet(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(self.frame);
        if self.zero_pad && self.frame.len() < MIN_ETHERNET_FRAME {
            out.resize(start + MIN_ETHERNET_FRAME, 0);
        }
    }
}

/// BCP option types (RFC 3518 s6).
pub mod option {
    /// Bridge-Identification (source-route bridging).
    pub const BRIDGE_IDENTIFICATION: u8 = 1;
    /// Line-Identification (source-route bridging).
    pub const LINE_IDENTIFICATION: u8 = 2;
    /// MAC-Support.
    pub const MAC_SUPPORT: u8 = 3;
    /// Tinygram-Compression.
    pub const TINYGRAM_COMPRESSION: u8 = 4;
    /// LAN-Identification (RFC 1638; withdrawn in RFC 3518).
    pub const LAN_IDENTIFICATION: u8 = 5;
    /// MAC-Address.
    pub const MAC_ADDRESS: u8 = 6;
    /// Spanning-Tree-Protocol.
    pub const SPANNING_TREE_PROTOCOL: u8 = 7;
    /// IEEE-802-Tagged-Frame.
    pub const IEEE_802_TAGGED_FRAME: u8 = 8;
    /// Management-Inline.
    pub const MANAGEMENT_INLINE: u8 = 9;
    /// Bridge-Control-Packet-Indicator.
    pub const BRIDGE_CONTROL_PACKET_INDICATOR: u8 = 10;
}

/// A decoded BCP configuration option (RFC 3518 s6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BcpOption {
    /// 1: LAN segment number (12 bits) and bridge number (4 bits).
    BridgeIdentification {
        /// LAN segment number.
        lan_segment: u16,
        /// Bridge number.
        bridge: u8,
    },
    /// 2: as 1, for the line.
    LineIdentification {
        /// LAN segment number.
        lan_segment: u16,
        /// Bridge number.
        bridge: u8,
    },
    /// 3: one MAC type the sender can receive.
    MacSupport(u8),
    /// 4: `true` = enabled (1), `false` = disabled (2).
    TinygramCompression(bool),
    /// 5: the RFC 1638 LAN identification.
    LanIdentification(u32),
    /// 6: a MAC address (all zeros: "assign me one").
    MacAddress([u8; 6]),
    /// 7: spanning tree protocols (0 none, 1 IEEE 802.1D, 2 IEEE 802.1G, 3 IBM source
    /// route, 4 DEC LANbridge 100).
    SpanningTree(Vec<u8>),
    /// 8: `true` = enabled (1), `false` = disabled (2).
    Ieee802TaggedFrame(bool),
    /// 9: Management-Inline (no value).
    ManagementInline,
    /// 10: Bridge-Control-Packet-Indicator (no value).
    BridgeControlPacketIndicator,
    /// Anything else, verbatim.
    Unknown {
        /// Type.
        kind: u8,
        /// Value.
        value: Vec<u8>,
    },
}

fn exact<const N: usize>(what: &'static str, v: &[u8]) -> Result<[u8; N], WireError> {
    v.try_into().map_err(|_| WireError::BadLength {
        what,
        length: v.len() + 2,
        min: N + 2,
        max: N + 2,
    })
}

fn on_off(what: &'static str, v: &[u8]) -> Result<bool, WireError> {
    match exact::<1>(what, v)? {
        [1] => Ok(true),
        [2] => Ok(false),
        _ => Err(WireError::BadValue {
            field: what,
            reason: "expected 1 (enabled) or 2 (disabled)",
        }),
    }
}

impl BcpOption {
    /// Decode a raw option. Never panics.
    pub fn parse(o: &RawOption<'_>) -> Result<Self, WireError> {
        use option::*;
        let ident = |what| -> Result<(u16, u8), WireError> {
            let v = u16::from_be_bytes(exact::<2>(what, o.value)?);
            Ok((v >> 4, (v & 0x0f) as u8))
        };
        Ok(match o.kind {
            BRIDGE_IDENTIFICATION => {
                let (lan_segment, bridge) = ident("Bridge-Identification option")?;
                BcpOption::BridgeIdentification {
                    lan_segment,
                    bridge,
                }
            }
            LINE_IDENTIFICATION => {
                let (lan_segment, bridge) = ident("Line-Identification option")?;
                BcpOption::LineIdentification {
                    lan_segment,
                    bridge,
                }
            }
            MAC_SUPPORT => BcpOption::MacSupport(exact::<1>("MAC-Support option", o.value)?[0]),
            TINYGRAM_COMPRESSION => {
                BcpOption::TinygramCompression(on_off("Tinygram-Compression option", o.value)?)
            }
            LAN_IDENTIFICATION => BcpOption::LanIdentification(u32::from_be_bytes(exact(
                "LAN-Identification option",
                o.value,
            )?)),
            MAC_ADDRESS => BcpOption::MacAddress(exact("MAC-Address option", o.value)?),
            SPANNING_TREE_PROTOCOL => {
                if o.value.is_empty() {
                    return Err(WireError::BadLength {
                        what: "Spanning-Tree-Protocol option",
                        length: 2,
                        min: 3,
                        max: 255,
                    });
                }
                BcpOption::SpanningTree(o.value.to_vec())
            }
            IEEE_802_TAGGED_FRAME => {
                BcpOption::Ieee802TaggedFrame(on_off("IEEE-802-Tagged-Frame option", o.value)?)
            }
            MANAGEMENT_INLINE => {
                exact::<0>("Management-Inline option", o.value)?;
                BcpOption::ManagementInline
            }
            BRIDGE_CONTROL_PACKET_INDICATOR => {
                exact::<0>("Bridge-Control-Packet-Indicator option", o.value)?;
                BcpOption::BridgeControlPacketIndicator
            }
            kind => BcpOption::Unknown {
                kind,
                value: o.value.to_vec(),
            },
        })
    }

    /// Append the encoded option to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        use option::*;
        let onoff = |b: bool| if b { 1u8 } else { 2 };
        let (kind, value): (u8, Vec<u8>) = match self {
            BcpOption::BridgeIdentification {
                lan_segment,
                bridge,
            } => (
                BRIDGE_IDENTIFICATION,
                ((lan_segment << 4) | u16::from(bridge & 0x0f))
                    .to_be_bytes()
                    .to_vec(),
            ),
            BcpOption::LineIdentification {
                lan_segment,
                bridge,
            } => (
                LINE_IDENTIFICATION,
                ((lan_segment << 4) | u16::from(bridge & 0x0f))
                    .to_be_bytes()
                    .to_vec(),
            ),
            BcpOption::MacSupport(t) => (MAC_SUPPORT, vec![*t]),
            BcpOption::TinygramCompression(b) => (TINYGRAM_COMPRESSION, vec![onoff(*b)]),
            BcpOption::LanIdentification(id) => (LAN_IDENTIFICATION, id.to_be_bytes().to_vec()),
            BcpOption::MacAddress(m) => (MAC_ADDRESS, m.to_vec()),
            BcpOption::SpanningTree(p) => (SPANNING_TREE_PROTOCOL, p.clone()),
            BcpOption::Ieee802TaggedFrame(b) => (IEEE_802_TAGGED_FRAME, vec![onoff(*b)]),
            BcpOption::ManagementInline => (MANAGEMENT_INLINE, Vec::new()),
            BcpOption::BridgeControlPacketIndicator => {
                (BRIDGE_CONTROL_PACKET_INDICATOR, Vec::new())
            }
            BcpOption::Unknown { kind, value } => (*kind, value.clone()),
        };
        RawOption {
            kind,
            value: &value,
        }
        .emit(out)
    }
}

/// What BCP negotiated, reported with [`Event::BridgeUp`](crate::Event::BridgeUp).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BcpNegotiated {
    /// The peer acknowledged our MAC-Support 802.3 (otherwise it rejected the option and
    /// Ethernet is assumed, the RFC 3518 default for bridged Ethernet).
    pub mac_support_acked: bool,
    /// The MAC address the peer announced (MAC-Address option), if any.
    pub peer_mac: Option<[u8; 6]>,
    /// The peer's Tinygram-Compression option (`None`: not sent).
    pub peer_tinygram: Option<bool>,
    /// The peer's IEEE-802-Tagged-Frame option (`None`: not sent).
    pub peer_tagged_frames: Option<bool>,
    /// The peer's Spanning-Tree-Protocol list (`None`: not sent).
    pub peer_spanning_tree: Option<Vec<u8>>,
}

/// The BCP negotiator plugged into the generic automaton.
pub(crate) struct Bcp {
    want_mac_support: bool,
    pub neg: BcpNegotiated,
}

impl Bcp {
    pub fn new() -> Self {
        Bcp {
            want_mac_support: true,
            neg: BcpNegotiated::default(),
        }
    }
}

impl Negotiator for Bcp {
    fn reset(&mut self, _ctx: &mut Ctx<'_>) {
        self.want_mac_support = true;
        self.neg = BcpNegotiated::default();
    }

    fn build_request(&mut self, _ctx: &mut Ctx<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        if self.want_mac_support {
            BcpOption::MacSupport(mac_type::ETHERNET).emit(&mut v);
        }
        v
    }

    fn judge(&mut self, opts: &[u8], reject_instead_of_nak: bool, _ctx: &mut Ctx<'_>) -> Judgement {
        let mut r = Replies::new(reject_instead_of_nak);
        let mut seen = BcpNegotiated::default();
        for raw in options(opts).flatten() {
            match BcpOption::parse(&raw) {
                Ok(BcpOption::MacSupport(mac_type::ETHERNET)) => {}
                Ok(BcpOption::TinygramCompression(b)) => seen.peer_tinygram = Some(b),
                Ok(BcpOption::MacAddress(m)) if m != [0; 6] => seen.peer_mac = Some(m),
                Ok(BcpOption::SpanningTree(p)) => {
                    if p.iter().all(|&x| x <= 1) {
                        seen.peer_spanning_tree = Some(p);
                    } else {
                        r.nak(&raw, |n| BcpOption::SpanningTree(vec![1]).emit(n));
                    }
                }
                Ok(BcpOption::Ieee802TaggedFrame(b)) => seen.peer_tagged_frames = Some(b),
                Ok(BcpOption::BridgeControlPacketIndicator) => {}
                // Source-route identifiers, other MAC types, a MAC-Address request for
                // assignment, LAN-Identification, Management-Inline, unknown or malformed.
                _ => r.reject(&raw),
            }
        }
        let j = r.judgement(opts);
        if j.code == code::CONFIGURE_ACK {
            seen.mac_support_acked = self.neg.mac_support_acked;
            self.neg = seen;
        }
        j
    }

    fn acked(&mut self, _opts: &[u8], _ctx: &mut Ctx<'_>) {
        self.neg.mac_support_acked = self.want_mac_support;
    }

    fn naked(&mut self, opts: &[u8], _ctx: &mut Ctx<'_>) {
        // The only option we send is MAC-Support 802.3; a Nak suggesting another MAC type
        // cannot be honoured: stop asking (Ethernet is what we bridge either way).
        for raw in options(opts).flatten() {
            if raw.kind == option::MAC_SUPPORT {
                self.want_mac_support = false;
            }
        }
    }

    fn rejected(&mut self, opts: &[u8], _ctx: &mut Ctx<'_>) {
        for raw in options(opts).flatten() {
            if raw.kind == option::MAC_SUPPORT {
                self.want_mac_support = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_untagged_ethernet_known_answer() {
        // F=0 I=0 Z=0 B=0 Pads=0, MAC type 1, then a 14-octet header and 2 data octets.
        let eth = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06, 0xaa, 0xbb,
        ];
        let mut p = vec![0x00, 0x01];
        p.extend_from_slice(&eth);
        let f = BridgedFrame::parse(&p).unwrap();
        assert_eq!(f, BridgedFrame::ethernet(&eth));
        let mut out = Vec::new();
        f.emit(&mut out);
        assert_eq!(out, p);
    }

    #[test]
    fn parse_fcs_pads_and_lan_id() {
        // F, I and Pads=2: flags 0xC2.
        let p = [
            0xc2, 0x01, 0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0, 0,
        ];
        let f = BridgedFrame::parse(&p).unwrap();
        assert_eq!(f.lan_id, Some(7));
        assert_eq!(f.frame, &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(f.lan_fcs, Some([1, 2, 3, 4]));
        assert_eq!(f.pads, 2);
        let mut out = Vec::new();
        f.emit(&mut out);
        assert_eq!(out, p);
    }

    #[test]
    fn truncated_inputs_are_errors() {
        for p in [
            &[][..],
            &[0x80],
            &[0x80, 1, 1, 2, 3],
            &[0x05, 1, 0, 0],
            &[0x40, 1, 0],
        ] {
            assert!(BridgedFrame::parse(p).is_err(), "{p:02x?}");
        }
    }

    #[test]
    fn tinygram_is_padded_back() {
        let f = BridgedFrame {
            zero_pad: true,
            ..BridgedFrame::ethernet(&[1; 20])
        };
        let mut out = Vec::new();
        f.to_ethernet(&mut out);
        assert_eq!(out.len(), MIN_ETHERNET_FRAME);
        assert!(out[20..].iter().all(|&b| b == 0));
    }

    #[test]
    fn options_known_answers() {
        let cases: Vec<(BcpOption, &[u8])> = vec![
            (
                BcpOption::BridgeIdentification {
                    lan_segment: 0x123,
                    bridge: 4,
                },
                &[1, 4, 0x12, 0x34],
            ),
            (BcpOption::MacSupport(1), &[3, 3, 1]),
            (BcpOption::TinygramCompression(true), &[4, 3, 1]),
            (BcpOption::LanIdentification(9), &[5, 6, 0, 0, 0, 9]),
            (
                BcpOption::MacAddress([2, 0, 0, 0, 0, 1]),
                &[6, 8, 2, 0, 0, 0, 0, 1],
            ),
            (BcpOption::SpanningTree(vec![1]), &[7, 3, 1]),
            (BcpOption::Ieee802TaggedFrame(false), &[8, 3, 2]),
            (BcpOption::ManagementInline, &[9, 2]),
            (BcpOption::BridgeControlPacketIndicator, &[10, 2]),
        ];
        for (o, bytes) in cases {
            let mut v = Vec::new();
            o.emit(&mut v);
            assert_eq!(v, bytes);
            let raw = options(bytes).next().unwrap().unwrap();
            assert_eq!(BcpOption::parse(&raw).unwrap(), o);
        }
    }
}
