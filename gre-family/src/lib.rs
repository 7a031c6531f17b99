//! Sans-IO GRE-family tunnels with RouterOS's feature set: **GRE** (RFC 2784 + RFC 2890) over
//! IPv4 and over IPv6 (**gre6**), **EoIP** and **EoIPv6** (MikroTik Ethernet over IP), **IPIP**
//! (RFC 2003), **ipipv6** (IPv4/IPv6 over IPv6, RFC 2473), **6to4/SIT** (RFC 3056 / RFC 4213),
//! Linux **gretap** for interop, ICMP error relay and path MTU for all of them, and the
//! **enhanced GRE** header of PPTP (RFC 2637) for the `pptp` crate.
//!
//! The crate owns no socket, no TUN/TAP device and no clock. The caller reads outer IP packets
//! from a raw or packet socket (`IPPROTO_GRE` 47, `IPPROTO_IPIP` 4, `IPPROTO_IPV6` 41,
//! EtherIP 97, over IPv4 or IPv6), ICMP errors from a raw ICMP/ICMPv6 socket, and
//! inner packets from a TUN (IP tunnels) or TAP (Ethernet tunnels) device, and hands them to a
//! [`Tunnel`]; the tunnel writes into the caller's buffers.
//!
//! # Data flow
//!
//! ```text
//!   TUN/TAP  --inner packet-->  Tunnel::encapsulate(now, inner, out)  --outer IP packet-->  raw socket
//!   TUN/TAP  <--inner range---  Tunnel::decapsulate(now, &mut pkt)    <--outer IP packet--  raw socket
//!                               Tunnel::poll_transmit(now, buf)       --keepalives------->  raw socket
//!   ICMP err ---------------->  Tunnel::handle_icmp(now, pkt, out)   --relayed error---->  TUN
//!   TUN (too big for the MTU)   Tunnel::too_big_reply(inner, out)     --ICMP error------>  TUN
//!   timer    ---------------->  Tunnel::handle_timeout(now);  poll_timeout() re-arms it
//!   log/UI   <----------------  Tunnel::poll_event()  (running flag Up / Down, MtuChanged)
//! ```
//!
//! # Packets on the wire
//!
//! ```text
//! GRE     | IPv4 proto 47 | C.K.S. 0 0x0800 [csum][key][seq] | IPv4 or IPv6 packet         |  24 B overhead
//! gretap  | IPv4 proto 47 | ..K... 0 0x6558 [key]            | Ethernet frame              |
//! EoIP    | IPv4 proto 47 | 20 01 64 00 | len BE | tid LE    | Ethernet frame (no FCS)     |  42 B (with Ethernet)
//! EoIPv6  | IPv6 nh 97    | (tid>>8)<<4|3  tid&ff            | Ethernet frame              |
//! IPIP    | IPv4 proto 4  | IPv4 packet                                                    |  20 B
//! 6to4    | IPv4 proto 41 | IPv6 packet  (dst IPv4 from 2002:V4ADDR:: when no remote)      |  20 B
//! gre6    | IPv6 nh 47    | C.K.S. 0 0x0800/0x86DD [csum][key][seq] | IPv4 or IPv6 packet  |  44 B
//! ipipv6  | IPv6 nh 4/41  | IPv4 packet (nh 4) or IPv6 packet (nh 41), RFC 2473          |  40 B
//! PPTP    | IPv4 proto 47 | 3x 81 88 0b | len | call id | [seq] [ack] | PPP frame          |  (wire::egre)
//! ```
//!
//! # A GRE keepalive exchange, annotated (keepalive=10s,3; 10 ms one-way delay)
//!
//! RouterOS's GRE keepalive is the Cisco one: the keepalive is an inner packet addressed back
//! to the sender, which the peer simply decapsulates and routes back. The peer needs no
//! keepalive support at all.
//!
//! ```text
//!  time     A 10.0.0.1                                      B 10.0.0.2
//!  0.000    IP 10.0.0.1>10.0.0.2 p47 | GRE 0x0800 |
//!             IP 10.0.0.2>10.0.0.1 p47 | GRE 0x0000  ------>  decapsulate: inner IPv4 from B's
//!                                                             local to B's remote, protocol 47:
//!                                                             a peer keepalive -> KeepaliveReflected,
//!  0.010                      <------------------------------ poll_transmit sends the inner packet
//!  0.020    IP 10.0.0.2>10.0.0.1 p47 | GRE 0x0000: protocol type 0 = keepalive reply
//!           -> Decapsulated::Keepalive, running, Event::Up, down deadline 0.020 + 10 s * 3
//!  10.000   next keepalive (every interval, also while down) ...
//!  (peer gone after 35 s: last reply at 30.020)
//!  60.020   handle_timeout: no reply for interval*retries -> Event::Down { KeepaliveTimeout }
//! ```
//!
//! gre6 and ipipv6 use the same trick over IPv6 (an inner IPv6 packet from the remote to the
//! local address: GRE type 0 for gre6, an empty packet with next header 41 for ipipv6). Over
//! IPv6, Hop-by-Hop and Destination Options headers before the tunnel protocol are skipped:
//! Linux `ip6gre` and `ip6tnl` send a Tunnel Encapsulation Limit option there by default.
//!
//! EoIP and EoIPv6 keepalives are bare headers (frame length 0) that each side sends on its
//! own every interval; receiving one refreshes the running flag. IPIP and 6to4 use the GRE
//! trick with an empty inner IPv4 packet of the tunnel's protocol (RouterOS's own format for
//! these is not documented; this one works against any router that routes the inner packet).
//!
//! # Running flag
//!
//! ```text
//!                 keepalive received
//!   [not running] -----------------> [running]
//!         ^                              |
//!         +------------------------------+
//!          no keepalive for interval*retries  (Event::Down)
//! ```
//! Without keepalive (or retries 0) a tunnel is running from the start and stays so: GRE,
//! IPIP and EoIP are stateless (RouterOS manual: traffic is blackholed when the far end is
//! down).
//!
//! # ICMP errors and the path MTU (RFC 2003 section 4, RFC 2473 section 8, RFC 4459)
//!
//! A router on the underlay that cannot forward an outer packet tells the tunnel's local
//! address; [`Tunnel::handle_icmp`] takes that ICMP / ICMPv6 error and, when the quoted packet
//! is really one of this tunnel's (addresses, protocol, GRE key or tunnel-id), acts on it:
//!
//! ```text
//!  host 10.1.1.1 --1400 B, DF--> [tunnel mtu 1476] ==GRE 1424 B==> router (link mtu 1400)
//!                                                  <== ICMP 3/4 mtu 1400, quoting our packet
//!  handle_icmp: path MTU 1400 -> interface MTU 1376 (Event::MtuChanged), and
//!  host 10.1.1.1 <-- ICMP 3/4 "fragmentation needed, mtu 1376", quoting the host's packet
//!  next 1400 B packet: encapsulate -> Err(TooBig); too_big_reply -> the same ICMP again
//!  10 minutes later (PMTU_EXPIRES): the configured MTU is tried again (Event::MtuChanged)
//! ```
//!
//! Unreachable and time-exceeded errors reach the inner sender as "destination host
//! unreachable"; the path MTU never drops below 552 (IPv4) / 1280 (IPv6) bytes.
//!
//! # Driving loop
//!
//! ```
//! use std::time::{Duration, Instant};
//! use gre_family::{Decapsulated, GreConfig, Tunnel};
//!
//! // One iteration of a host loop; `now` comes from the caller's clock.
//! fn drive(tunnel: &mut Tunnel, now: Instant, from_raw_socket: Option<&mut [u8]>) {
//!     if let Some(pkt) = from_raw_socket {
//!         match tunnel.decapsulate(now, pkt) {
//!             Decapsulated::Packet { range, .. } => { /* write pkt[range] to the TUN device */ }
//!             Decapsulated::Dropped(_reason) => { /* counted in tunnel.stats() */ }
//!             _ => {}
//!         }
//!     }
//!     if tunnel.poll_timeout().is_some_and(|t| t <= now) {
//!         tunnel.handle_timeout(now);
//!     }
//!     let mut buf = [0u8; 256];
//!     while let Ok(Some(tx)) = tunnel.poll_transmit(now, &mut buf) {
//!         let _ = (tx.dst, &buf[..tx.len]); // send on the raw socket (IP_HDRINCL)
//!     }
//!     while let Some(ev) = tunnel.poll_event() {
//!         let _ = ev; // Up / Down: set the interface's running flag
//!     }
//! }
//!
//! // Setting up: `start` is the caller's clock reading (this crate never reads a clock).
//! // tests/doc_example.rs runs this same function.
//! fn example(start: Instant) {
//!     let cfg = GreConfig {
//!         local_address: "192.168.80.1".parse().unwrap(),
//!         remote_address: Some("192.168.90.1".parse().unwrap()),
//!         ..GreConfig::default() // keepalive=10s,10, mtu auto (1476), dscp inherit, ...
//!     };
//!     let mut t = Tunnel::new(cfg.to_tunnel().unwrap(), start).unwrap();
//!     assert_eq!(t.mtu(), 1476);
//!     drive(&mut t, start, None);
//!     // the first keepalive went out at creation; the next one is due in 10 s
//!     assert_eq!(t.poll_timeout(), Some(start + Duration::from_secs(10)));
//!
//!     // data: an inner IPv4 packet becomes a complete outer packet in the caller's buffer
//!     let mut inner = [0u8; 28];
//!     inner[0] = 0x45;
//!     let mut out = [0u8; 100];
//!     let tx = t.encapsulate(start, &inner, &mut out).unwrap();
//!     assert_eq!(tx.len, 20 + 4 + 28);
//!     assert_eq!(&out[20..24], &[0x00, 0x00, 0x08, 0x00]); // GRE: no flags, version 0, IPv4
//! }
//! ```
//!
//! # Standards
//!
//! - RFC 2784 (GRE, sections 2.1-2.5), RFC 2890 (key section 2.1, sequence 2.2),
//!   RFC 1701 section 2.1 (legacy R/s/Recur bits: parsed and rejected, [`WireError::Rfc1701`]);
//! - RFC 2637 section 4.1 (enhanced GRE) in [`wire::egre`];
//! - RFC 2003 (IPIP), RFC 4213 section 3 (IPv6 in IPv4), RFC 3056 sections 2 and 5 (6to4),
//!   RFC 3964 section 5.1 (6to4 source check);
//! - RFC 1624 (incremental checksum update, MSS clamping), RFC 1071 (checksum);
//! - MikroTik EoIP/EoIPv6: no public specification; layout per third-party implementations,
//!   documented in [`wire::eoip`].
//!
//! # Implemented
//!
//! - Codecs with byte-exact round trips: GRE v0 (checksum, key, sequence, reserved bits kept),
//!   enhanced GRE v1, EoIP, EoIPv6, IPv4 (with options), IPv6, 6to4 mapping, MSS clamping.
//! - [`Tunnel`] for GRE, gretap, EoIP, EoIPv6, IPIP, 6to4 (configured and automatic):
//!   encapsulation (copying or in place) and decapsulation in caller buffers without
//!   allocation; outer TTL, DSCP inherit/fixed, DF inherit/no; key / tunnel-id / address
//!   matching with typed [`DropReason`]s and counters; optional RFC 2890 sequence checking;
//!   clamp-tcp-mss on decapsulated SYNs (IPv4, IPv6, and IP inside Ethernet frames);
//!   MTU derivation (`actual-mtu`); keepalive with running-flag events, and reflection of a
//!   peer's Cisco-style keepalives.
//! - gre6 and ipipv6 ([`Gre6Config`], [`Ipipv6Config`]) with the same encapsulation,
//!   keepalive and MSS rules; IPv6 extension headers (Hop-by-Hop, Destination Options such as
//!   Linux's Tunnel Encapsulation Limit) skipped on input, outer IPv6 fragments dropped.
//! - ICMP error handling ([`Tunnel::handle_icmp`]): validation against the tunnel's own
//!   packets, path MTU learning with floor and 10-minute expiry, relay of "fragmentation
//!   needed" / "packet too big" / unreachable to the inner sender in its own IP version, and
//!   [`Tunnel::too_big_reply`] for oversize inner packets.
//! - Demultiplexing many tunnels on one raw socket: [`wire::demux::DemuxKey`] of a packet
//!   and [`Tunnel::demux_key`] (keys for a caller-owned map; the crate holds no tunnel table).
//! - RouterOS config structs ([`GreConfig`], [`EoipConfig`], [`IpipConfig`],
//!   [`SixToFourConfig`]) with defaults and validation naming the property; `ipsec-secret`
//!   yields an [`IpsecHint`] for the `ipsec-ike` crate.
//!
//! # Not implemented
//!
//! - RFC 1701 source routing and recursion control (rejected, as RFC 2784 requires).
//! - Outer fragmentation and reassembly (the host's IP stack does both; outer fragments are
//!   dropped as [`DropReason::Fragment`]); inner IPv4 packets without DF above the MTU are
//!   refused ([`Error::TooBig`]) rather than fragmented: the host stack fragments to the
//!   interface MTU, which the caller lowers on [`Event::MtuChanged`].
//! - Sending the Tunnel Encapsulation Limit option (RFC 2473 section 4.1.1; it is optional
//!   and accepted on input), IPv6 routing headers before the tunnel protocol.
//! - gre6 / ipipv6 defaults are RouterOS's documented ones but not in the seed pages; no
//!   RouterOS peer here confirms their keepalive format.
//! - IPv6 extension headers before TCP when clamping MSS (such SYNs are left unchanged).
//! - Bridge-side EoIP behaviour (ARP modes, loop-protect, MAC assignment): config only.
//! - IPIP/6to4 keepalive format compatibility with RouterOS is unconfirmed (no capture).
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `gre_family::...`; fields `source`: the state machine, `kind`: the
//! event's variant name; not its fields, which may carry secrets). The crate does no IO of its
//! own either way: a subscriber installed by the application decides where events go. The
//! `Event`s returned by `poll_event` stay the API; the feature is for operators' logs.
#![forbid(unsafe_code)]

// The API is re-exported below; these modules are its implementation.
/// With the `tracing` feature, a `debug` event (field `kind`: the variant's name, `source`:
/// the state machine) for each event a `poll_event` hands out; nothing without it. Only the
/// variant's name is logged, not its fields (they may carry secrets such as a PAP password):
/// the `Event`s stay the API.
macro_rules! trace_event {
    ($src:expr, $e:expr) => {
        #[cfg(feature = "tracing")]
        {
            if let Some(e) = $e {
                if tracing::enabled!(tracing::Level::DEBUG) {
                    let text = format!("{e:?}");
                    let kind = text
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or_default();
                    tracing::debug!(source = $src, kind, "event");
                }
            }
        }
    };
}

mod config;
mod error;
mod event;
mod props;
mod tunnel;

// The codecs stay public on purpose: conformance testers, fuzzers and the `pptp` crate
// (enhanced GRE) use the header types directly.
pub mod wire;

pub use config::{
    Arp, DontFragment, Dscp, EoipConfig, Gre6Config, GreConfig, IpipConfig, Ipipv6Config,
    IpsecHint, Keepalive, Mtu, SixToFourConfig, TunnelConfig, TunnelKind,
};
pub use error::{Error, WireError};
pub use event::{DownReason, DropReason, Event, Stats};
pub use tunnel::{
    Decapsulated, IcmpHandled, Payload, Transmit, Tunnel, MIN_PMTU_V4, MIN_PMTU_V6, PMTU_EXPIRES,
};
