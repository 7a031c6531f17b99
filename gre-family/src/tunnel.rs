//! The per-tunnel sans-IO state machine ([`Tunnel`]).

use core::ops::Range;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use crate::config::{DontFragment, Dscp, TunnelConfig, TunnelKind};
use crate::error::Error;
use crate::event::{DownReason, DropReason, Event, Stats};
use crate::wire::demux::DemuxKey;
use crate::wire::eoip::{EoipRepr, Eoipv6Repr};
use crate::wire::gre::{sequence_after, GreRepr};
use crate::wire::icmp::{self, IcmpErrorRepr, Quoted};
use crate::wire::ip::{inner_qos, InnerQos, Ipv4Repr, Ipv6Repr};
use crate::wire::{
    sixtofour, tcp, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_KEEPALIVE, ETHERTYPE_TEB,
    IPPROTO_IPIP, IPPROTO_IPV6,
};

/// Largest control packet (keepalive or reflected keepalive) the tunnel queues.
const CONTROL_MAX: usize = 128;
/// How long a path MTU learnt from an ICMP error holds before the configured MTU is tried
/// again (Linux `net.ipv4.route.mtu_expires`, 10 minutes; RFC 1191 section 6.3 suggests the
/// same).
pub const PMTU_EXPIRES: std::time::Duration = std::time::Duration::from_secs(600);
/// Smallest outer path MTU an ICMP error may lower an IPv4 underlay to (Linux
/// `net.ipv4.route.min_pmtu`): a forged "fragmentation needed" cannot shrink it further.
pub const MIN_PMTU_V4: usize = 552;
/// Smallest outer path MTU of an IPv6 underlay (RFC 8200 section 5: every link carries 1280).
pub const MIN_PMTU_V6: usize = 1280;
/// Queue bound for control packets and events.
const QUEUE_MAX: usize = 8;

/// A complete outer IP packet ready for the raw socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Outer destination address.
    pub dst: IpAddr,
    /// Length of the packet written at the start of the caller's buffer.
    pub len: usize,
}

/// What [`Tunnel::handle_icmp`] did with an ICMP error from the underlay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpHandled {
    /// `out[..len]` is an ICMP (inner IPv4) or ICMPv6 (inner IPv6) error for the inner sender:
    /// deliver it to the tunnel interface like a decapsulated packet (RFC 2003 section 4,
    /// RFC 2473 section 8).
    Relay {
        /// Length of the relayed packet in the caller's buffer.
        len: usize,
        /// Its IP version.
        payload: Payload,
    },
    /// About this tunnel's traffic and applied (a lower path MTU), but nothing to relay: the
    /// message type is not relayed, the quote does not reach the inner header, the tunnel
    /// carries Ethernet, or an IPv4 inner packet without DF may be fragmented.
    Absorbed,
    /// Not about this tunnel's traffic, or malformed (counted like decapsulation drops).
    Dropped(DropReason),
}

/// What was inside a decapsulated packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// An IPv4 packet.
    Ipv4,
    /// An IPv6 packet.
    Ipv6,
    /// An Ethernet frame without FCS (EoIP, EoIPv6, gretap).
    Ethernet,
}

/// Result of [`Tunnel::decapsulate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decapsulated {
    /// Deliver `packet[range]` to the tunnel interface.
    Packet {
        /// Where the inner packet or frame is in the caller's buffer.
        range: Range<usize>,
        /// What it is.
        payload: Payload,
        /// `Some((old, new))` when clamp-tcp-mss rewrote a SYN's MSS.
        mss_clamped: Option<(u16, u16)>,
    },
    /// A keepalive (reply) from the peer: liveness refreshed, nothing to deliver.
    Keepalive,
    /// The peer's keepalive was addressed back to it; it is queued for `poll_transmit`.
    KeepaliveReflected,
    /// Dropped (also counted in [`Stats`]).
    Dropped(DropReason),
}

#[derive(Clone, Copy)]
struct Control {
    dst: IpAddr,
    len: usize,
    buf: [u8; CONTROL_MAX],
}

/// One tunnel: GRE, gretap, EoIP, EoIPv6, IPIP, 6to4, gre6 or ipipv6: the per-tunnel sans-IO
/// state machine.
///
/// # Contract (quinn-proto style)
///
/// A [`Tunnel`] owns no socket and no clock. Its methods fall into four groups:
///
/// - **getters**: [`config`](Tunnel::config), [`is_running`](Tunnel::is_running),
///   [`mtu`](Tunnel::mtu), [`overhead`](Tunnel::overhead), [`stats`](Tunnel::stats);
/// - **data path** (no allocation, caller buffers): [`encapsulate`](Tunnel::encapsulate) /
///   [`encapsulate_in_place`](Tunnel::encapsulate_in_place) turn an inner packet or frame
///   into a complete outer IP packet; [`decapsulate`](Tunnel::decapsulate) takes a complete
///   outer IP packet (as a raw socket delivers it), works in place (MSS clamping) and says
///   where the inner packet is, or that it was a keepalive, or why it was dropped;
/// - **inputs**: [`handle_timeout`](Tunnel::handle_timeout) when the deadline from
///   [`poll_timeout`](Tunnel::poll_timeout) has passed; mutators
///   [`set_local_address`](Tunnel::set_local_address);
/// - **outputs**: [`poll_transmit`](Tunnel::poll_transmit) (keepalives and reflected peer
///   keepalives: complete outer IP packets to send on the raw socket),
///   [`poll_event`](Tunnel::poll_event) (running flag up/down).
///
/// After any input, drain `poll_transmit` and `poll_event` until `None`, then re-arm the timer
/// from `poll_timeout`. `now` must never go backwards.
///
/// # Keepalive (RouterOS `keepalive=interval,retries`)
///
/// ```text
///                 keepalive reply received
///   +---------+  ------------------------>  +---------+
///   | !running|                              | running |  every keepalive reply re-arms
///   +---------+  <------------------------  +---------+  down_at = now + interval*retries
///       ^         now >= down_at (Event::Down)    |
///       |  keepalive sent every `interval` in both states (sending never stops)
/// ```
///
/// A tunnel with keepalive starts not running and sends its first keepalive at creation;
/// without keepalive (or with retries 0) it is running from the start and never goes down,
/// as RouterOS documents for stateless tunnels (seed L765, L802).
///
/// Keepalive forms: GRE uses the Cisco trick (the keepalive is a GRE packet addressed back to
/// the sender, wrapped in a GRE packet to the peer; the peer decapsulates and routes it back,
/// no keepalive support needed there), EoIP/EoIPv6 send a bare header that each side sends
/// independently, IPIP and 6to4 use the same trick as GRE with an empty inner IPv4 packet.
/// When this crate is the peer, [`decapsulate`](Tunnel::decapsulate) recognises such an inner
/// packet (addressed from our local to our remote address with our protocol) and queues it
/// for `poll_transmit` unchanged, as the routing a kernel would do.
pub struct Tunnel {
    cfg: TunnelConfig,
    /// Current interface MTU: the configured `actual-mtu`, or lower while a path MTU learnt
    /// from an ICMP error holds.
    mtu: usize,
    /// Path MTU of the underlay learnt from ICMP, and when it expires.
    path_mtu: Option<(usize, Instant)>,
    overhead: usize,
    running: bool,
    next_keepalive: Option<Instant>,
    down_at: Option<Instant>,
    last_now: Option<Instant>,
    tx_seq: u32,
    rx_seq: Option<u32>,
    ident: u16,
    control: VecDeque<Control>,
    events: VecDeque<Event>,
    stats: Stats,
}

impl core::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tunnel")
            .field("kind", &self.cfg.kind)
            .field("local", &self.cfg.local)
            .field("remote", &self.cfg.remote)
            .field("running", &self.running)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Tunnel {
    /// A tunnel from a config (validated here too). With keepalive the first keepalive is due
    /// at `now`.
    pub fn new(cfg: TunnelConfig, now: Instant) -> Result<Tunnel, Error> {
        cfg.validate()?;
        let keepalive = cfg.keepalive;
        Ok(Tunnel {
            mtu: cfg.actual_mtu(),
            path_mtu: None,
            overhead: cfg.overhead(),
            running: keepalive.is_none_or(|k| k.retries == 0),
            next_keepalive: keepalive.map(|_| now),
            down_at: None,
            last_now: Some(now),
            tx_seq: 0,
            rx_seq: None,
            ident: 0,
            control: VecDeque::with_capacity(QUEUE_MAX),
            events: VecDeque::with_capacity(QUEUE_MAX),
            stats: Stats::default(),
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TunnelConfig {
        &self.cfg
    }

    /// RouterOS running flag.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Interface MTU: the largest inner IP packet; for Ethernet tunnels the largest frame is
    /// `mtu() + 14`. This is the configured `actual-mtu`, lowered while a path MTU learnt from
    /// an ICMP error holds ([`path_mtu`](Self::path_mtu), [`Event::MtuChanged`]).
    pub fn mtu(&self) -> usize {
        self.mtu
    }

    /// The underlay path MTU learnt from an ICMP "fragmentation needed" / "packet too big"
    /// about this tunnel's packets (outer packet size), until it expires after
    /// [`PMTU_EXPIRES`].
    pub fn path_mtu(&self) -> Option<usize> {
        self.path_mtu.map(|(m, _)| m)
    }

    /// Bytes the tunnel puts in front of an inner packet (outer IP + tunnel header): the
    /// headroom [`encapsulate_in_place`](Self::encapsulate_in_place) needs.
    pub fn overhead(&self) -> usize {
        self.overhead
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The demultiplexing key this tunnel accepts (see [`crate::wire::demux`]): unspecified
    /// addresses for local-address 0.0.0.0 and automatic 6to4.
    pub fn demux_key(&self) -> DemuxKey {
        let any = |a: IpAddr| match a {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let id = match self.cfg.kind {
            TunnelKind::Gre | TunnelKind::GreTap | TunnelKind::Gre6 => self.cfg.key,
            TunnelKind::Eoip | TunnelKind::Eoipv6 => Some(u32::from(self.cfg.tunnel_id)),
            TunnelKind::Ipip | TunnelKind::SixToFour | TunnelKind::Ipipv6 => None,
        };
        DemuxKey {
            protocol: self.cfg.kind.ip_protocol(),
            local: self.cfg.local,
            remote: self.cfg.remote.unwrap_or_else(|| any(self.cfg.local)),
            id,
        }
    }

    /// Resolve `local-address` 0.0.0.0 to the outgoing interface's address (seed L784).
    pub fn set_local_address(&mut self, local: IpAddr) -> Result<(), Error> {
        if local.is_ipv6() != self.cfg.kind.outer_is_ipv6() {
            return Err(Error::config("local-address", "wrong address family"));
        }
        self.cfg.local = local;
        Ok(())
    }

    /// Encapsulate `inner` (an IP packet, or an Ethernet frame for Ethernet tunnels) into
    /// `out`, which receives the complete outer IP packet. On error `out` is untouched.
    pub fn encapsulate(
        &mut self,
        now: Instant,
        inner: &[u8],
        out: &mut [u8],
    ) -> Result<Transmit, Error> {
        let need = self.overhead + inner.len();
        if out.len() < need {
            return Err(Error::BufferTooSmall {
                need,
                have: out.len(),
            });
        }
        let (proto, dst, qos) = self.classify(inner)?;
        if let Some(d) = out.get_mut(self.overhead..need) {
            d.copy_from_slice(inner);
        }
        Ok(self.finish_encap(now, out, inner.len(), proto, dst, qos))
    }

    /// Encapsulate the inner packet found at `buf[overhead()..overhead() + inner_len]`,
    /// writing the headers into the headroom in front of it (no copy of the payload).
    pub fn encapsulate_in_place(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        inner_len: usize,
    ) -> Result<Transmit, Error> {
        let need = self.overhead + inner_len;
        if buf.len() < need {
            return Err(Error::BufferTooSmall {
                need,
                have: buf.len(),
            });
        }
        let (proto, dst, qos) = self.classify(buf.get(self.overhead..need).unwrap_or(&[]))?;
        Ok(self.finish_encap(now, buf, inner_len, proto, dst, qos))
    }

    /// Check the inner packet; returns (GRE protocol type, outer destination, inner QoS).
    fn classify(&self, inner: &[u8]) -> Result<(u16, IpAddr, Option<InnerQos>), Error> {
        let tunnel = self.cfg.kind.name();
        if self.cfg.local.is_unspecified() {
            return Err(Error::LocalAddressUnset);
        }
        // the outer length fields are 16 bits (IPv4 total length, IPv6 payload length)
        let outer_len_max = 65535 + if self.cfg.kind.outer_is_ipv6() { 40 } else { 0 };
        if self.overhead + inner.len() > outer_len_max {
            return Err(Error::TooBig {
                len: inner.len(),
                mtu: outer_len_max - self.overhead,
            });
        }
        let version = inner.first().map(|b| b >> 4);
        let (proto, qos) = if self.cfg.kind.is_ethernet() {
            if inner.len() < 14 {
                return Err(Error::Unsupported {
                    tunnel,
                    why: "frame shorter than an Ethernet header",
                });
            }
            if inner.len() > self.mtu + 14 {
                return Err(Error::TooBig {
                    len: inner.len(),
                    mtu: self.mtu + 14,
                });
            }
            let et = u16::from_be_bytes([inner[12], inner[13]]);
            let qos = match et {
                ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => inner_qos(inner.get(14..).unwrap_or(&[])),
                _ => None,
            };
            (ETHERTYPE_TEB, qos)
        } else {
            if inner.len() > self.mtu {
                return Err(Error::TooBig {
                    len: inner.len(),
                    mtu: self.mtu,
                });
            }
            let proto = match (self.cfg.kind, version) {
                (TunnelKind::Gre | TunnelKind::Gre6 | TunnelKind::Ipipv6, Some(4))
                | (TunnelKind::Ipip, Some(4)) => ETHERTYPE_IPV4,
                (TunnelKind::Gre | TunnelKind::Gre6 | TunnelKind::Ipipv6, Some(6))
                | (TunnelKind::SixToFour, Some(6)) => ETHERTYPE_IPV6,
                (TunnelKind::Ipip, _) => {
                    return Err(Error::Unsupported {
                        tunnel,
                        why: "not an IPv4 packet",
                    })
                }
                (TunnelKind::SixToFour, _) => {
                    return Err(Error::Unsupported {
                        tunnel,
                        why: "not an IPv6 packet",
                    })
                }
                _ => {
                    return Err(Error::Unsupported {
                        tunnel,
                        why: "not an IPv4 or IPv6 packet",
                    })
                }
            };
            (proto, inner_qos(inner))
        };
        let dst = match self.cfg.remote {
            Some(r) => r,
            None => {
                // automatic 6to4: the destination's embedded IPv4 address (RFC 3056 section 5)
                let mut a = [0u8; 16];
                if let Some(s) = inner.get(24..40) {
                    a.copy_from_slice(s);
                } else {
                    return Err(Error::Unsupported {
                        tunnel,
                        why: "truncated IPv6 header",
                    });
                }
                let d6 = Ipv6Addr::from(a);
                IpAddr::V4(sixtofour::ipv4_of(&d6).ok_or(Error::No6to4Route(d6))?)
            }
        };
        Ok((proto, dst, qos))
    }

    fn finish_encap(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        inner_len: usize,
        proto: u16,
        dst: IpAddr,
        qos: Option<InnerQos>,
    ) -> Transmit {
        self.observe(now);
        let iphl = self.cfg.ip_header_len();
        let total = self.overhead + inner_len;
        let tunnel_pkt = buf.get_mut(iphl..total).unwrap_or(&mut []);
        // the tunnel header: sizes were checked by the caller, errors cannot happen here
        let _ = match self.cfg.kind {
            TunnelKind::Gre | TunnelKind::GreTap | TunnelKind::Gre6 => GreRepr {
                protocol: proto,
                checksum: self.cfg.checksum,
                key: self.cfg.key,
                sequence: self.next_tx_seq(),
                reserved0: 0,
                reserved1: 0,
            }
            .emit(tunnel_pkt),
            TunnelKind::Eoip => EoipRepr {
                frame_len: inner_len as u16,
                tunnel_id: self.cfg.tunnel_id,
            }
            .emit(tunnel_pkt),
            TunnelKind::Eoipv6 => Eoipv6Repr {
                tunnel_id: self.cfg.tunnel_id,
            }
            .emit(tunnel_pkt),
            TunnelKind::Ipip | TunnelKind::SixToFour | TunnelKind::Ipipv6 => Ok(0),
        };
        let outer_proto = match (self.cfg.kind, proto) {
            // RFC 2473: the next header says what the inner packet is
            (TunnelKind::Ipipv6, ETHERTYPE_IPV4) => IPPROTO_IPIP,
            (TunnelKind::Ipipv6, _) => IPPROTO_IPV6,
            (kind, _) => kind.ip_protocol(),
        };
        self.emit_outer(buf, total - iphl, dst, qos, outer_proto);
        self.stats.tx_packets += 1;
        self.stats.tx_bytes += inner_len as u64;
        Transmit { dst, len: total }
    }

    /// Write the outer IP header for `payload_len` bytes of tunnel payload to `dst`.
    fn emit_outer(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        dst: IpAddr,
        qos: Option<InnerQos>,
        protocol: u8,
    ) {
        let dscp = match self.cfg.dscp {
            Dscp::Fixed(d) => d,
            Dscp::Inherit => qos.map_or(0, |q| q.dscp),
        };
        let df = match self.cfg.dont_fragment {
            DontFragment::No => false,
            DontFragment::Inherit => qos.is_some_and(|q| q.dont_fragment),
        };
        match (self.cfg.local, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                self.ident = self.ident.wrapping_add(1);
                let r = Ipv4Repr {
                    dscp,
                    ident: self.ident,
                    dont_fragment: df,
                    ttl: self.cfg.ttl,
                    ..Ipv4Repr::new(src, dst, protocol, payload_len)
                };
                let _ = r.emit(buf);
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let r = Ipv6Repr {
                    traffic_class: dscp << 2,
                    flow_label: 0,
                    payload_len,
                    next_header: protocol,
                    hop_limit: self.cfg.ttl,
                    src,
                    dst,
                };
                let _ = r.emit(buf);
            }
            _ => {}
        }
    }

    /// Decapsulate a complete outer IP packet received for this tunnel. Works in place (MSS
    /// clamping rewrites the inner SYN); never panics on any input.
    pub fn decapsulate(&mut self, now: Instant, packet: &mut [u8]) -> Decapsulated {
        self.observe(now);
        match self.decap_inner(now, packet) {
            Ok(d) => d,
            Err(reason) => {
                self.stats.count_drop(&reason);
                Decapsulated::Dropped(reason)
            }
        }
    }

    fn decap_inner(&mut self, now: Instant, packet: &mut [u8]) -> Result<Decapsulated, DropReason> {
        let kind = self.cfg.kind;
        let (src, dst, proto, range) = if kind.outer_is_ipv6() {
            // extension headers (Linux puts a Tunnel Encapsulation Limit option in front)
            let (ip, up) = Ipv6Repr::parse_upper(packet).map_err(DropReason::Malformed)?;
            if up.fragment {
                return Err(DropReason::Fragment);
            }
            (
                IpAddr::V6(ip.src),
                IpAddr::V6(ip.dst),
                up.protocol,
                up.range,
            )
        } else {
            let (ip, r) = Ipv4Repr::parse(packet).map_err(DropReason::Malformed)?;
            if ip.more_fragments || ip.frag_offset != 0 {
                return Err(DropReason::Fragment);
            }
            (IpAddr::V4(ip.src), IpAddr::V4(ip.dst), ip.protocol, r)
        };
        if !kind.accepts_protocol(proto) {
            return Err(DropReason::WrongProtocol {
                expected: kind.ip_protocol(),
                found: proto,
            });
        }
        let src_ok = self.cfg.remote.is_none_or(|r| r == src);
        let dst_ok = self.cfg.local.is_unspecified() || self.cfg.local == dst;
        if !src_ok || !dst_ok {
            return Err(DropReason::NotForThisTunnel { src, dst });
        }
        let base = range.start;
        let body = packet.get(range.clone()).unwrap_or(&[]);
        let (inner, payload) = match kind {
            TunnelKind::Gre | TunnelKind::GreTap | TunnelKind::Gre6 => {
                let (gre, hl) = GreRepr::parse(body).map_err(DropReason::Malformed)?;
                if gre.key != self.cfg.key {
                    return Err(DropReason::KeyMismatch {
                        expected: self.cfg.key,
                        found: gre.key,
                    });
                }
                if gre.protocol == ETHERTYPE_KEEPALIVE {
                    return Ok(self.keepalive_received(now));
                }
                if let (true, Some(s)) = (self.cfg.check_sequence, gre.sequence) {
                    if let Some(last) = self.rx_seq {
                        if !sequence_after(s, last) {
                            return Err(DropReason::OutOfSequence { last, found: s });
                        }
                    }
                    self.rx_seq = Some(s);
                }
                let payload = match (kind, gre.protocol) {
                    (TunnelKind::Gre | TunnelKind::Gre6, ETHERTYPE_IPV4) => Payload::Ipv4,
                    (TunnelKind::Gre | TunnelKind::Gre6, ETHERTYPE_IPV6) => Payload::Ipv6,
                    (TunnelKind::GreTap, ETHERTYPE_TEB) => Payload::Ethernet,
                    (_, p) => return Err(DropReason::UnsupportedPayload { protocol: p }),
                };
                (base + hl..range.end, payload)
            }
            TunnelKind::Eoip => {
                let (h, r) = EoipRepr::parse(body).map_err(DropReason::Malformed)?;
                if h.tunnel_id != self.cfg.tunnel_id {
                    return Err(DropReason::TunnelIdMismatch {
                        expected: self.cfg.tunnel_id,
                        found: h.tunnel_id,
                    });
                }
                if h.is_keepalive() {
                    return Ok(self.keepalive_received(now));
                }
                (base + r.start..base + r.end, Payload::Ethernet)
            }
            TunnelKind::Eoipv6 => {
                let (h, r) = Eoipv6Repr::parse(body).map_err(DropReason::Malformed)?;
                if h.tunnel_id != self.cfg.tunnel_id {
                    return Err(DropReason::TunnelIdMismatch {
                        expected: self.cfg.tunnel_id,
                        found: h.tunnel_id,
                    });
                }
                if r.is_empty() {
                    return Ok(self.keepalive_received(now));
                }
                (base + r.start..base + r.end, Payload::Ethernet)
            }
            TunnelKind::Ipip | TunnelKind::SixToFour | TunnelKind::Ipipv6 => {
                if body.is_empty() {
                    // the empty inner packet of our own keepalive, reflected by the peer
                    return Ok(self.keepalive_received(now));
                }
                (
                    range.clone(),
                    if proto == IPPROTO_IPIP {
                        Payload::Ipv4
                    } else {
                        Payload::Ipv6
                    },
                )
            }
        };
        let inner_bytes = packet.get(inner.clone()).unwrap_or(&[]);
        if payload != Payload::Ethernet && self.is_peer_keepalive(inner_bytes) {
            return Ok(self.reflect(inner_bytes));
        }
        let version = inner_bytes.first().map_or(0, |b| b >> 4);
        match payload {
            Payload::Ipv4 if version != 4 => {
                return Err(DropReason::InnerVersion { found: version })
            }
            Payload::Ipv6 if version != 6 => {
                return Err(DropReason::InnerVersion { found: version })
            }
            _ => {}
        }
        if kind == TunnelKind::SixToFour && self.cfg.check_6to4_source {
            let mut a = [0u8; 16];
            if let Some(s) = inner_bytes.get(8..24) {
                a.copy_from_slice(s);
            }
            if let (Some(v4), IpAddr::V4(outer)) = (sixtofour::ipv4_of(&Ipv6Addr::from(a)), src) {
                if v4 != outer {
                    return Err(DropReason::SpoofedSource);
                }
            }
        }
        let mut mss_clamped = None;
        if self.cfg.clamp_tcp_mss {
            let mtu = self.mtu;
            if let Some(inner_mut) = packet.get_mut(inner.clone()) {
                mss_clamped = match payload {
                    Payload::Ethernet => {
                        let et = inner_mut
                            .get(12..14)
                            .map(|e| u16::from_be_bytes([e[0], e[1]]));
                        match et {
                            Some(ETHERTYPE_IPV4 | ETHERTYPE_IPV6) => inner_mut
                                .get_mut(14..)
                                .and_then(|ip| tcp::clamp_mss(ip, mtu)),
                            _ => None,
                        }
                    }
                    _ => tcp::clamp_mss(inner_mut, mtu),
                };
            }
            if mss_clamped.is_some() {
                self.stats.mss_clamped += 1;
            }
        }
        self.stats.rx_packets += 1;
        self.stats.rx_bytes += inner.len() as u64;
        Ok(Decapsulated::Packet {
            range: inner,
            payload,
            mss_clamped,
        })
    }

    /// A peer's Cisco-style keepalive: an inner IP packet (of the outer family) of our own
    /// tunnel protocol from our local address to our remote address.
    fn is_peer_keepalive(&self, inner: &[u8]) -> bool {
        let Some(r) = self.cfg.remote else {
            return false;
        };
        if inner.len() > CONTROL_MAX {
            return false;
        }
        let a = |o: usize| inner.get(o).copied().unwrap_or(0);
        let addr6 = |o: usize| {
            let mut x = [0u8; 16];
            if let Some(s) = inner.get(o..o + 16) {
                x.copy_from_slice(s);
            }
            Ipv6Addr::from(x)
        };
        match (self.cfg.local, r, inner.first().map(|b| b >> 4)) {
            (IpAddr::V4(l), IpAddr::V4(r), Some(4)) => {
                a(9) == self.cfg.kind.ip_protocol()
                    && Ipv4Addr::new(a(12), a(13), a(14), a(15)) == l
                    && Ipv4Addr::new(a(16), a(17), a(18), a(19)) == r
            }
            (IpAddr::V6(l), IpAddr::V6(r), Some(6)) => {
                a(6) == self.cfg.kind.ip_protocol() && addr6(8) == l && addr6(24) == r
            }
            _ => false,
        }
    }

    fn reflect(&mut self, inner: &[u8]) -> Decapsulated {
        if let Some(r) = self.cfg.remote {
            let mut c = Control {
                dst: r,
                len: inner.len(),
                buf: [0; CONTROL_MAX],
            };
            if let Some(d) = c.buf.get_mut(..inner.len()) {
                d.copy_from_slice(inner);
            }
            self.push_control(c);
            self.stats.reflected += 1;
        }
        Decapsulated::KeepaliveReflected
    }

    fn keepalive_received(&mut self, now: Instant) -> Decapsulated {
        self.stats.rx_keepalives += 1;
        if let Some(k) = self.cfg.keepalive {
            if k.retries > 0 {
                self.down_at = Some(now + k.timeout());
                if !self.running {
                    self.running = true;
                    self.push_event(Event::Up);
                }
            }
        }
        Decapsulated::Keepalive
    }

    fn push_control(&mut self, c: Control) {
        if self.control.len() >= QUEUE_MAX {
            self.control.pop_front();
        }
        self.control.push_back(c);
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= QUEUE_MAX {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// The next GRE sequence number when `sequence` is on (RFC 2890 section 2.2).
    fn next_tx_seq(&mut self) -> Option<u32> {
        self.cfg.sequence.then(|| {
            let s = self.tx_seq;
            self.tx_seq = self.tx_seq.wrapping_add(1);
            s
        })
    }

    fn observe(&mut self, now: Instant) {
        self.last_now = Some(self.last_now.map_or(now, |l| l.max(now)));
    }

    /// The next deadline: the next keepalive to send, the running flag's expiry, or the
    /// expiry of a learnt path MTU.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let down = if self.running { self.down_at } else { None };
        [self.next_keepalive, down, self.path_mtu.map(|(_, t)| t)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Timers: send due keepalives, remove the running flag when `interval * retries` passed
    /// without one from the peer.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe(now);
        if self.path_mtu.is_some_and(|(_, t)| t <= now) {
            // RFC 1191 section 6.3: try the configured MTU again
            self.path_mtu = None;
            self.set_mtu(self.cfg.actual_mtu());
        }
        if let (Some(t), Some(k)) = (self.next_keepalive, self.cfg.keepalive) {
            if t <= now {
                self.queue_keepalive();
                let mut next = t + k.interval;
                while next <= now {
                    next += k.interval;
                }
                self.next_keepalive = Some(next);
            }
        }
        if let (true, Some(d), Some(k)) = (self.running, self.down_at, self.cfg.keepalive) {
            if d <= now {
                self.running = false;
                self.down_at = None;
                self.push_event(Event::Down {
                    reason: DownReason::KeepaliveTimeout {
                        silent_for: k.timeout(),
                    },
                });
            }
        }
    }

    /// Build this tunnel type's keepalive and queue it.
    fn queue_keepalive(&mut self) {
        let Some(remote) = self.cfg.remote else {
            return;
        };
        if self.cfg.local.is_unspecified() {
            return;
        }
        let mut c = Control {
            dst: remote,
            len: 0,
            buf: [0; CONTROL_MAX],
        };
        let iphl = self.cfg.ip_header_len();
        let body_len = match (self.cfg.kind, self.cfg.local, remote) {
            (TunnelKind::Eoip, _, _) => {
                let _ = EoipRepr {
                    frame_len: 0,
                    tunnel_id: self.cfg.tunnel_id,
                }
                .emit(&mut c.buf[iphl..]);
                8
            }
            (TunnelKind::Eoipv6, _, _) => {
                let _ = Eoipv6Repr {
                    tunnel_id: self.cfg.tunnel_id,
                }
                .emit(&mut c.buf[iphl..]);
                2
            }
            (kind, l, r) if l.is_ipv6() == r.is_ipv6() => {
                // outer tunnel header, then an inner IP packet (remote -> local) of our
                // protocol, which the peer decapsulates and routes back to us
                let outer_hl = self.cfg.tunnel_header_len();
                let gre = kind.is_gre();
                let inner_body = if gre {
                    4 + if self.cfg.key.is_some() { 4 } else { 0 }
                } else {
                    0
                };
                let inner_hl = if r.is_ipv6() { 40 } else { 20 };
                let inner_len = inner_hl + inner_body;
                let inner_off = iphl + outer_hl;
                if gre {
                    let g = GreRepr {
                        key: self.cfg.key,
                        ..GreRepr::new(ETHERTYPE_KEEPALIVE)
                    };
                    let _ = g.emit(&mut c.buf[inner_off + inner_hl..inner_off + inner_len]);
                }
                let proto = kind.ip_protocol();
                let _ = match (l, r) {
                    (IpAddr::V4(l), IpAddr::V4(r)) => Ipv4Repr {
                        ttl: 255,
                        ..Ipv4Repr::new(r, l, proto, inner_body)
                    }
                    .emit(&mut c.buf[inner_off..]),
                    (IpAddr::V6(l), IpAddr::V6(r)) => Ipv6Repr {
                        traffic_class: 0,
                        flow_label: 0,
                        payload_len: inner_body,
                        next_header: proto,
                        hop_limit: 255,
                        src: r,
                        dst: l,
                    }
                    .emit(&mut c.buf[inner_off..]),
                    _ => return,
                };
                if gre {
                    let g = GreRepr {
                        checksum: self.cfg.checksum,
                        key: self.cfg.key,
                        sequence: self.next_tx_seq(),
                        ..GreRepr::new(if r.is_ipv6() {
                            ETHERTYPE_IPV6
                        } else {
                            ETHERTYPE_IPV4
                        })
                    };
                    let _ = g.emit(&mut c.buf[iphl..inner_off + inner_len]);
                }
                outer_hl + inner_len
            }
            _ => return,
        };
        let mut buf = c.buf;
        let proto = self.cfg.kind.ip_protocol();
        self.emit_outer(&mut buf, body_len, remote, None, proto);
        c.buf = buf;
        c.len = iphl + body_len;
        self.push_control(c);
        self.stats.tx_keepalives += 1;
    }

    /// Next control packet (keepalive or reflected keepalive) to send: a complete outer IP
    /// packet written to the start of `buf`. If `buf` is too small the packet stays queued.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<Transmit>, Error> {
        self.observe(now);
        let Some(c) = self.control.front() else {
            return Ok(None);
        };
        if buf.len() < c.len {
            return Err(Error::BufferTooSmall {
                need: c.len,
                have: buf.len(),
            });
        }
        let t = Transmit {
            dst: c.dst,
            len: c.len,
        };
        if let (Some(d), Some(s)) = (buf.get_mut(..c.len), c.buf.get(..c.len)) {
            d.copy_from_slice(s);
        }
        self.control.pop_front();
        Ok(Some(t))
    }

    /// Next event (running flag, MTU changes).
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.poll_event_untraced();
        trace_event!("gre-family::tunnel", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- ICMP from the underlay, ICMP to the inner sender ----

    fn set_mtu(&mut self, mtu: usize) {
        if mtu != self.mtu {
            self.mtu = mtu;
            self.push_event(Event::MtuChanged { mtu });
        }
    }

    /// Handle an ICMP error (an IPv4 packet carrying ICMP, or an IPv6 packet carrying ICMPv6,
    /// as a raw or packet socket delivers it) that the underlay sent about one of this
    /// tunnel's outer packets (RFC 2003 section 4, RFC 2473 section 8, RFC 4459 section 3.2):
    ///
    /// - the quoted packet must be one of ours: from our local address to our remote address,
    ///   of our protocol, with our GRE key / EoIP tunnel-id when the quote shows it; anything
    ///   else is [`IcmpHandled::Dropped`] (so a stranger cannot lower the MTU of a tunnel it
    ///   did not see);
    /// - "fragmentation needed" / "packet too big" lowers the path MTU (never below
    ///   [`MIN_PMTU_V4`] / [`MIN_PMTU_V6`], and only downwards) and with it [`mtu`](Self::mtu)
    ///   ([`Event::MtuChanged`]; the configured MTU returns after [`PMTU_EXPIRES`]); the inner
    ///   sender gets "fragmentation needed" (inner IPv4 with DF) or "packet too big" (inner
    ///   IPv6) with the new tunnel MTU;
    /// - destination unreachable and time exceeded are relayed to the inner sender as
    ///   "destination host unreachable" (ICMPv6: "address unreachable"): its datagram did not
    ///   reach the tunnel's far end;
    /// - other messages (parameter problem, redirects, source quench) are absorbed, not
    ///   relayed, as RFC 2003 section 4.1 asks.
    ///
    /// A relayed error is written to `out` and quotes as much of the inner packet as the
    /// underlay quoted. Its source is the reporting router when that is of the inner packet's
    /// family, else [`TunnelConfig::interface_v4`] / [`interface_v6`](TunnelConfig::interface_v6),
    /// else the inner destination. Ethernet tunnels only learn the path MTU (the frame's sender is not routed
    /// through us).
    pub fn handle_icmp(&mut self, now: Instant, packet: &[u8], out: &mut [u8]) -> IcmpHandled {
        self.observe(now);
        match self.icmp_inner(now, packet, out) {
            Ok(h) => h,
            Err(reason) => {
                self.stats.count_drop(&reason);
                IcmpHandled::Dropped(reason)
            }
        }
    }

    fn icmp_inner(
        &mut self,
        now: Instant,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<IcmpHandled, DropReason> {
        let (e, qr) = IcmpErrorRepr::parse(packet).map_err(DropReason::Malformed)?;
        let kind = self.cfg.kind;
        if e.v6 != kind.outer_is_ipv6() || !e.is_error() {
            return Err(DropReason::WrongProtocol {
                expected: if kind.outer_is_ipv6() {
                    icmp::IPPROTO_ICMPV6
                } else {
                    icmp::IPPROTO_ICMP
                },
                found: if e.v6 {
                    icmp::IPPROTO_ICMPV6
                } else {
                    icmp::IPPROTO_ICMP
                },
            });
        }
        let quote = packet.get(qr).unwrap_or(&[]);
        let q = Quoted::parse(quote).map_err(DropReason::Malformed)?;
        // one of our packets?
        let src_ok = self.cfg.local.is_unspecified() || q.src == self.cfg.local;
        let dst_ok = self.cfg.remote.is_none_or(|r| r == q.dst);
        if !src_ok || !dst_ok || q.src.is_ipv6() != kind.outer_is_ipv6() {
            return Err(DropReason::NotForThisTunnel {
                src: q.src,
                dst: q.dst,
            });
        }
        if !kind.accepts_protocol(q.protocol) {
            return Err(DropReason::WrongProtocol {
                expected: kind.ip_protocol(),
                found: q.protocol,
            });
        }
        // the tunnel header, as far as quoted: key / tunnel-id must be ours
        let body = quote.get(q.payload_offset..).unwrap_or(&[]);
        let inner_off = match kind {
            TunnelKind::Gre | TunnelKind::GreTap | TunnelKind::Gre6 => {
                match GreRepr::parse_header(body) {
                    Ok((g, hl)) => {
                        if g.key != self.cfg.key {
                            return Err(DropReason::KeyMismatch {
                                expected: self.cfg.key,
                                found: g.key,
                            });
                        }
                        Some(hl)
                    }
                    Err(_) => None,
                }
            }
            TunnelKind::Eoip => match EoipRepr::parse(body) {
                Ok((h, _)) if h.tunnel_id != self.cfg.tunnel_id => {
                    return Err(DropReason::TunnelIdMismatch {
                        expected: self.cfg.tunnel_id,
                        found: h.tunnel_id,
                    })
                }
                Ok(_) => Some(8),
                Err(_) => None,
            },
            TunnelKind::Eoipv6 => match Eoipv6Repr::parse(body) {
                Ok((h, _)) if h.tunnel_id != self.cfg.tunnel_id => {
                    return Err(DropReason::TunnelIdMismatch {
                        expected: self.cfg.tunnel_id,
                        found: h.tunnel_id,
                    })
                }
                Ok(_) => Some(2),
                Err(_) => None,
            },
            TunnelKind::Ipip | TunnelKind::SixToFour | TunnelKind::Ipipv6 => Some(0),
        };
        self.stats.icmp_errors += 1;
        let too_big = e.mtu().map(|m| {
            let m = if m == 0 {
                icmp::plateau_below(q.stated_len)
            } else {
                m as usize
            };
            let floor = if e.v6 { MIN_PMTU_V6 } else { MIN_PMTU_V4 };
            m.max(floor)
        });
        if let Some(pmtu) = too_big {
            let current = self.path_mtu().unwrap_or(usize::from(self.cfg.link_mtu));
            if pmtu < current {
                self.path_mtu = Some((pmtu, now + PMTU_EXPIRES));
                let eth = if kind.is_ethernet() { 14 } else { 0 };
                let mtu = self
                    .cfg
                    .actual_mtu()
                    .min(pmtu.saturating_sub(self.overhead + eth));
                self.stats.pmtu_updates += 1;
                self.set_mtu(mtu);
            } else if self.path_mtu().is_some_and(|p| p == pmtu) {
                // the same report again: keep the value alive (Linux refreshes the expiry)
                self.path_mtu = Some((pmtu, now + PMTU_EXPIRES));
            }
        }
        let relay_kind = match (too_big.is_some(), e.v6, e.icmp_type) {
            (true, _, _) => Relay::TooBig,
            (false, false, icmp::ICMP_DEST_UNREACH | icmp::ICMP_TIME_EXCEEDED) => {
                Relay::Unreachable
            }
            (false, true, icmp::ICMPV6_DEST_UNREACH | icmp::ICMPV6_TIME_EXCEEDED) => {
                Relay::Unreachable
            }
            // RFC 2473 section 8.1: a parameter problem about the encapsulation limit option
            // (code 0 pointing into our headers) tells the sender the tunnel is unusable
            (false, true, icmp::ICMPV6_PARAM_PROBLEM) => Relay::Unreachable,
            _ => return Ok(IcmpHandled::Absorbed),
        };
        let Some(off) = inner_off.filter(|_| !kind.is_ethernet()) else {
            return Ok(IcmpHandled::Absorbed);
        };
        let inner = body.get(off..).unwrap_or(&[]);
        match self.icmp_to_inner(inner, relay_kind, Some(e.src), out) {
            Some(h) => {
                self.stats.icmp_relayed += 1;
                Ok(h)
            }
            None => Ok(IcmpHandled::Absorbed),
        }
    }

    /// The ICMP error for the sender of `inner` (a prefix of an inner IP packet is enough).
    /// Its source: the router that reported the problem when it is of the inner family (a
    /// relay), else the tunnel interface's address, else the inner destination.
    fn icmp_to_inner(
        &self,
        inner: &[u8],
        what: Relay,
        reporter: Option<IpAddr>,
        out: &mut [u8],
    ) -> Option<IcmpHandled> {
        let q = Quoted::parse(inner).ok()?;
        let same_family = |a: &IpAddr| a.is_ipv6() == q.src.is_ipv6();
        let src = match reporter.filter(same_family) {
            Some(r) => r,
            None => match q.dst {
                IpAddr::V4(_) => self.cfg.interface_v4.map_or(q.dst, IpAddr::V4),
                IpAddr::V6(_) => self.cfg.interface_v6.map_or(q.dst, IpAddr::V6),
            },
        };
        let (v6, icmp_type, code, rest, src, max) = match (q.src, what) {
            (IpAddr::V4(_), Relay::TooBig) if !q.dont_fragment => return None,
            (IpAddr::V4(_), Relay::TooBig) => (
                false,
                icmp::ICMP_DEST_UNREACH,
                icmp::ICMP_FRAG_NEEDED,
                self.mtu.min(0xffff) as u32,
                src,
                icmp::ICMP4_QUOTE_MAX,
            ),
            (IpAddr::V4(_), Relay::Unreachable) => (
                false,
                icmp::ICMP_DEST_UNREACH,
                icmp::ICMP_HOST_UNREACH,
                0,
                src,
                icmp::ICMP4_QUOTE_MAX,
            ),
            (IpAddr::V6(_), Relay::TooBig) => (
                true,
                icmp::ICMPV6_PACKET_TOO_BIG,
                0,
                self.mtu.max(MIN_PMTU_V6) as u32,
                src,
                icmp::ICMP6_QUOTE_MAX,
            ),
            (IpAddr::V6(_), Relay::Unreachable) => (
                true,
                icmp::ICMPV6_DEST_UNREACH,
                icmp::ICMPV6_ADDR_UNREACH,
                0,
                src,
                icmp::ICMP6_QUOTE_MAX,
            ),
        };
        let e = IcmpErrorRepr {
            src,
            dst: q.src,
            v6,
            icmp_type,
            code,
            rest,
        };
        let quote = inner.get(..inner.len().min(max))?;
        let len = e.emit(quote, out).ok()?;
        Some(IcmpHandled::Relay {
            len,
            payload: if v6 { Payload::Ipv6 } else { Payload::Ipv4 },
        })
    }

    /// The ICMP error a router sends back for an inner packet that does not fit the tunnel
    /// ([`encapsulate`](Self::encapsulate) returned [`Error::TooBig`]): "fragmentation
    /// needed" with the tunnel MTU for an IPv4 packet with DF set, "packet too big" for an
    /// IPv6 packet, written to `out` for the caller to deliver to the tunnel interface.
    /// `None` when `inner` fits, is not IP, or is IPv4 without DF (the sender's stack
    /// fragments it to the interface MTU).
    pub fn too_big_reply(&mut self, inner: &[u8], out: &mut [u8]) -> Option<(usize, Payload)> {
        if inner.len() <= self.mtu || self.cfg.kind.is_ethernet() {
            return None;
        }
        match self.icmp_to_inner(inner, Relay::TooBig, None, out)? {
            IcmpHandled::Relay { len, payload } => {
                self.stats.icmp_too_big_sent += 1;
                Some((len, payload))
            }
            _ => None,
        }
    }
}

/// What [`Tunnel::handle_icmp`] relays.
#[derive(Clone, Copy)]
enum Relay {
    TooBig,
    Unreachable,
}
