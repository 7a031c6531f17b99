//! Demultiplexing: which tunnel does an inbound outer packet belong to?
//!
//! RouterOS tells tunnels apart by (local address, remote address, protocol) and, for GRE with
//! a key and for EoIP/EoIPv6, by the key / tunnel-id (seed L683, L686). [`DemuxKey::of_packet`]
//! reads exactly those fields from a received outer packet without decoding the rest;
//! [`Tunnel::demux_key`](crate::Tunnel::demux_key) gives the key a tunnel accepts. Key a
//! `HashMap<DemuxKey, Tunnel>` by them to serve many tunnels from one raw socket.
//!
//! Over IPv6, next headers 4 (IPv4 in IPv6) and 41 (IPv6 in IPv6) both give protocol 41: one
//! ipipv6 tunnel carries both (RFC 2473), and its [`Tunnel::demux_key`](crate::Tunnel::demux_key)
//! says 41. Hop-by-Hop and Destination Options headers are skipped.
//!
//! Wildcards: a tunnel whose local-address is 0.0.0.0 / :: or whose remote-address is unset
//! (automatic 6to4) has the unspecified address in that position; look up the exact key first,
//! then [`DemuxKey::with_any_remote`] and [`DemuxKey::with_any_local`].
//!
//! ```
//! use gre_family::wire::demux::DemuxKey;
//! // IPv4 10.0.0.1 -> 10.0.0.2, protocol 47, EoIP tunnel-id 100
//! let mut p = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 47, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
//! p.extend_from_slice(&[0x20, 0x01, 0x64, 0x00, 0, 0, 100, 0]);
//! let k = DemuxKey::of_packet(&p).unwrap();
//! assert_eq!(k.protocol, 47);
//! assert_eq!(k.id, Some(100));
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{
    be16, be32, gre::flags, truncated, ETHERTYPE_EOIP, IPPROTO_ETHERIP, IPPROTO_GRE, IPPROTO_IPIP,
    IPPROTO_IPV6,
};
use crate::error::WireError;

/// The fields that select a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DemuxKey {
    /// Outer IP protocol / next header.
    pub protocol: u8,
    /// Our address (outer destination of inbound packets).
    pub local: IpAddr,
    /// The peer's address (outer source of inbound packets).
    pub remote: IpAddr,
    /// GRE key (version 0, K bit), EoIP tunnel-id (version 1, protocol 0x6400) or EoIPv6
    /// tunnel-id; `None` for everything else.
    pub id: Option<u32>,
}

impl DemuxKey {
    /// Read the key of an inbound outer IPv4 or IPv6 packet (the header checksum is not
    /// verified here; `Tunnel::decapsulate` does that).
    pub fn of_packet(packet: &[u8]) -> Result<DemuxKey, WireError> {
        let b0 = packet.first().copied().unwrap_or(0);
        let (protocol, src, dst, body) = match b0 >> 4 {
            4 => {
                truncated("IPv4", packet, 20)?;
                let hl = usize::from(b0 & 0x0f) * 4;
                truncated("IPv4", packet, hl.max(20))?;
                let a = |o: usize| packet.get(o).copied().unwrap_or(0);
                (
                    a(9),
                    IpAddr::V4(Ipv4Addr::new(a(12), a(13), a(14), a(15))),
                    IpAddr::V4(Ipv4Addr::new(a(16), a(17), a(18), a(19))),
                    packet.get(hl.max(20)..).unwrap_or(&[]),
                )
            }
            6 => {
                truncated("IPv6", packet, 40)?;
                let addr = |o: usize| {
                    let mut x = [0u8; 16];
                    if let Some(s) = packet.get(o..o + 16) {
                        x.copy_from_slice(s);
                    }
                    IpAddr::V6(Ipv6Addr::from(x))
                };
                // past Hop-by-Hop / Destination Options headers (Linux ip6gre and ip6tnl
                // send a Tunnel Encapsulation Limit option first)
                let nh = packet.get(6).copied().unwrap_or(0);
                let (nh, off) = super::ip::skip_ipv6_options(packet, nh, 40);
                // IPv4 in IPv6 and IPv6 in IPv6 belong to the same ipipv6 tunnel (RFC 2473)
                let nh = if nh == IPPROTO_IPIP { IPPROTO_IPV6 } else { nh };
                (nh, addr(8), addr(24), packet.get(off..).unwrap_or(&[]))
            }
            v => {
                return Err(WireError::BadVersion {
                    what: "IP",
                    expected: 4,
                    found: v,
                })
            }
        };
        let id = match protocol {
            IPPROTO_GRE if body.len() >= 4 => {
                let (g0, g1) = (body[0], body[1]);
                match g1 & flags::VER {
                    0 if g0 & flags::K != 0 => {
                        let off = 4 + if g0 & flags::C != 0 { 4 } else { 0 };
                        truncated("GRE", body, off + 4)?;
                        Some(be32(body, off))
                    }
                    1 if be16(body, 2) == ETHERTYPE_EOIP => {
                        truncated("EoIP", body, 8)?;
                        Some(u32::from(u16::from_le_bytes([body[6], body[7]])))
                    }
                    _ => None,
                }
            }
            IPPROTO_ETHERIP => {
                truncated("EoIPv6", body, 2)?;
                Some((u32::from(body[0] >> 4) << 8) | u32::from(body[1]))
            }
            _ => None,
        };
        Ok(DemuxKey {
            protocol,
            local: dst,
            remote: src,
            id,
        })
    }

    /// The same key with the remote address unspecified (automatic 6to4 tunnels).
    pub fn with_any_remote(mut self) -> DemuxKey {
        self.remote = unspecified(self.remote);
        self
    }

    /// The same key with the local address unspecified (tunnels on local-address 0.0.0.0).
    pub fn with_any_local(mut self) -> DemuxKey {
        self.local = unspecified(self.local);
        self
    }
}

fn unspecified(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}
