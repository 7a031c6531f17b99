//! # rosproto-pppoe: PPPoE (RFC 2516) client and access concentrator, sans-IO
//!
//! PPPoE carries PPP over Ethernet, the way most broadband routers dial. This crate has the
//! codecs ([`wire`]), the RouterOS `/interface pppoe-client` ([`Client`]), the
//! `/interface pppoe-server server` access concentrator ([`Server`]) and the
//! `/interface pppoe-client scan` probe ([`Scanner`]). PPP itself (LCP, PAP/CHAP/MS-CHAPv2,
//! IPCP, keepalive, AAA, accounting) is the shared PPP host of the `ppp` crate:
//! [`ppp::host::Client`] and [`ppp::host::Server`] keyed by (client MAC, SESSION_ID).
//!
//! ## Two stages
//!
//! **Discovery** (EtherType 0x8863) finds an access concentrator (AC) and gets a session id;
//! **Session** (EtherType 0x8864) carries PPP frames, from the protocol field on (no `FF 03`
//! address/control, no FCS: RFC 2516 s7). A whole exchange, as the pair tests run it:
//!
//! ```text
//!  host 02:..:01 (Client)                                   AC 02:..:02 (Server)
//!   |  PADI  dst ff:ff:ff:ff:ff:ff  code 0x09  session 0                 |
//!   |        Service-Name ""  (any; or "isp")  Host-Uniq 8 random bytes  |
//!   |------------------------------------------------------------------->|  no state kept
//!   |  PADO  dst host  code 0x07  session 0                              |
//!   |        AC-Name "MikroTik"  Service-Name(s)  AC-Cookie (20 bytes)   |
//!   |        Host-Uniq (echoed)                                          |
//!   |<-------------------------------------------------------------------|
//!   |  PADR  dst AC  code 0x19  session 0                                |
//!   |        Service-Name (the chosen one)  Host-Uniq  AC-Cookie (echo)  |
//!   |------------------------------------------------------------------->|  cookie checked,
//!   |  PADS  dst host  code 0x65  session 0x1a2b (unique, non-zero)      |  id allocated,
//!   |        Service-Name  Host-Uniq                                     |  PPP host opened
//!   |<-------------------------------------------------------------------|
//!   |  0x8864 session 0x1a2b: LCP Configure-Request (MRU, magic) ...     |
//!   |<==================================================================>|  LCP, auth
//!   |  ... PAP / CHAP / MS-CHAPv2, IPCP (addresses, DNS), IP datagrams   |  (PPP host)
//!   |<==================================================================>|
//!   |  LCP Terminate-Request / Ack                                       |
//!   |  PADT  dst AC  code 0xa7  session 0x1a2b  [Generic-Error "..."]    |
//!   |------------------------------------------------------------------->|  session gone
//! ```
//!
//! A PADT may come from either side at any time after the PADS (S0 L543) and ends the
//! session at once, without an LCP exchange. Without a PADO the client resends its PADI,
//! doubling the wait (1, 2, 4, ... 32 s); without a PADS it resends the PADR three times,
//! then starts over (RFC 2516 s5/s8).
//!
//! ## The tags (RFC 2516 Appendix A, RFC 4638)
//!
//! | tag | type | what it is for |
//! |---|---|---|
//! | End-Of-List | 0x0000 | optional end marker (kept when present) |
//! | Service-Name | 0x0101 | the service asked for (PADI, PADR: exactly one; empty = any) or offered (PADO: one per service) |
//! | AC-Name | 0x0102 | the AC's name (RouterOS: its identity); the client's `ac-name` filter |
//! | Host-Uniq | 0x0103 | client data the AC echoes, so a host matches replies to its own requests |
//! | AC-Cookie | 0x0104 | AC data in the PADO that the PADR must echo: here an HMAC of the client MAC, so a PADI flood costs the AC no state and a PADR is checked statelessly |
//! | Vendor-Specific | 0x0105 | vendor id and data (kept, ignored) |
//! | Relay-Session-Id | 0x0110 | added by a relay; echoed by AC and host |
//! | PPP-Max-Payload | 0x0120 | RFC 4638: a PPP MRU above 1492 on baby-jumbo links |
//! | Service-Name-Error | 0x0201 | the AC cannot serve the requested service |
//! | AC-System-Error | 0x0202 | the AC cannot open a session (here: `max-sessions` reached) |
//! | Generic-Error | 0x0203 | any other error; also the text of a PADT |
//!
//! ## RouterOS mapping
//!
//! | RouterOS | here |
//! |---|---|
//! | `/interface pppoe-client` `service-name`, `ac-name` | [`ClientConfig::service_name`], [`ClientConfig::ac_name`] |
//! | `user`, `password`, `allow`, `max-mtu`, `max-mru`, `keepalive-timeout`, `add-default-route`, `default-route-distance`, `use-peer-dns`, `dial-on-demand`, `profile` | [`ClientConfig::ppp`] ([`ppp::ClientSettings::pppoe`]); routes and DNS come out in [`ppp::host::ClientUp`] |
//! | `/interface pppoe-client monitor` status | [`Client::status`] (`dialing`, `verifying password...`, `connected`, `disconnected`) |
//! | `/interface pppoe-client scan` | [`Scanner`] |
//! | `/interface pppoe-server server` `service-name` (several servers per interface) | [`ServerConfig::service_names`] |
//! | `pado-delay`, `pppoe-over-vlan-range`, `accept-untagged` | [`ServerConfig::pado_delay`], [`ServerConfig::vlan_range`], [`ServerConfig::accept_untagged`] |
//! | `authentication`, `default-profile`, `keepalive-timeout`, `max-mtu`, `max-mru`, `mrru`, `max-sessions`, `one-session-per-host` | [`ServerConfig::ppp`] ([`ppp::ServerSettings::pppoe`]) |
//! | `/ppp secret`, `/ppp profile`, `/ip pool`, `/ppp aaa` | the PPP host's store ([`Server::host_mut`]) and [`ServerConfig::aaa`] |
//! | `/system identity` | [`ServerConfig::ac_name`] |
//!
//! ## Driving it
//!
//! Everything is sans-IO: the caller owns the raw Ethernet socket, the clock and the RNG.
//! Each machine takes frames with `handle_frame(now, frame)`, hands frames out with
//! `poll_transmit(now)`, reports with `poll_event()` and asks for a wake-up with
//! `poll_timeout()`. Here a client and an AC are wired back to back:
//!
//! ```
//! use pppoe::{Client, ClientConfig, Server, ServerConfig};
//! use std::time::{Duration, Instant};
//!
//! let mut now = Instant::now(); // a real program reads its clock; tests use virtual time
//! let mut cc = ClientConfig::new([2, 0, 0, 0, 0, 1]);
//! cc.ppp.user = "alice".into();
//! cc.ppp.password = "pw".into();
//! let mut client = Client::new(cc, now, netsim::TestRng::new(1))?; // an OS-seeded CSPRNG in production
//! let mut ac = Server::new(ServerConfig::new([2, 0, 0, 0, 0, 2]), now, netsim::TestRng::new(2))?;
//! let mut aaa = ppp::aaa::Aaa::new();
//! let mut secret = ppp::aaa::Secret::new("alice", "pw");
//! secret.local_address = Some([10, 0, 0, 1].into());
//! secret.remote_address = Some([10, 0, 0, 2].into());
//! aaa.secrets.push(secret);
//! ac.host_mut().set_store(Box::new(aaa));
//!
//! for _ in 0..200 {
//!     // Move frames both ways (a real program writes them to a packet socket).
//!     while let Some(t) = client.poll_transmit(now) {
//!         let mut f = t.frame;
//!         let _ = ac.handle_frame(now, &mut f);
//!     }
//!     if client.ppp().is_up() {
//!         break; // (its last IPCP frames have just reached the AC)
//!     }
//!     while let Some(t) = ac.poll_transmit(now) {
//!         let mut f = t.frame;
//!         let _ = client.handle_frame(now, &mut f);
//!     }
//!     while let Some(_event) = client.poll_event() {}
//!     while let Some(_event) = ac.poll_event() {}
//!     // Sleep until the next deadline, then fire the timers.
//!     if let Some(t) = [client.poll_timeout(), ac.poll_timeout()].into_iter().flatten().min() {
//!         now = now.max(t);
//!     }
//!     client.handle_timeout(now);
//!     ac.handle_timeout(now);
//! }
//! assert_eq!(client.status(), ppp::Status::Connected);
//!
//! // IP goes through caller buffers, without allocation.
//! let mut buf = [0u8; 1600];
//! let n = client.send_datagram(now, 0x0021, &[0x45, 0, 0, 20], &mut buf)?;
//! assert!(matches!(ac.handle_frame(now, &mut buf[..n]), pppoe::Input::Datagram { .. }));
//! # Ok::<(), pppoe::Error>(())
//! ```
//!
//! ## What is missing
//! See the crate's README: MLPPP (`mrru`: the PPP session negotiates single-link MP, but this
//! crate does not yet deliver the session's reassembled datagrams nor send MP fragments; leave
//! `mrru` disabled) and the IPv6CP-up hand-over for DHCPv6-PD are not wired here yet. LAC
//! forwarding to an L2TP LNS ([`ServerConfig::forward_realms`], [`Input::Forward`],
//! [`Server::send_ppp_frame`], [`Server::terminate`]) is glued by the application with
//! `l2tp::Lac`, as the crate's `tests/lac.rs` does.
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `pppoe::...`; fields `source`: the state machine, `kind`: the
//! event's variant name; not its fields, which may carry secrets). The crate does no IO of its
//! own either way: a subscriber installed by the application decides where events go. The
//! `Event`s returned by `poll_event` stay the API; the feature is for operators' logs.
#![forbid(unsafe_code)]

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

pub mod client;
pub mod config;
pub mod error;
pub mod event;
pub mod scanner;
pub mod server;
pub mod wire;

pub use client::{Client, ClientStats};
pub use config::{split_ac_service, ClientConfig, ServerConfig, VlanRange};
pub use error::{DropReason, Error};
pub use event::{
    ClientEvent, DownReason, EndReason, Input, Offer, ServerEvent, SessionKey, Transmit,
};
pub use scanner::Scanner;
pub use server::{Server, ServerStats};
