//! # rosproto-pptp: PPTP (RFC 2637) PNS and PAC, sans-IO
//!
//! **Security warning.** "PPTP has many known security issues and we do not recommend using
//! it" (RouterOS manual, seed 000 line 841). MS-CHAPv2 can be brute-forced offline from one
//! captured login, and MPPE's RC4 has no integrity protection. This crate exists because
//! every operating system still ships a PPTP client and RouterOS still ships
//! `/interface pptp-client` and `/interface pptp-server`. Use it with MS-CHAPv2 and
//! MPPE-128 (the defaults) at the very least, and prefer SSTP, L2TP/IPsec or WireGuard.
//!
//! ## Two channels
//!
//! A PPTP tunnel is two things at once (RFC 2637 s1.1):
//!
//! ```text
//!   control connection: TCP port 1723          data channel: IP protocol 47 (enhanced GRE)
//!   -------------------------------------      --------------------------------------------
//!   12-byte header + magic cookie 0x1A2B3C4D   8-16 byte header: K=1, S, A, version 1,
//!   15 fixed-size messages: start/stop the       protocol 0x880B, Key = payload length +
//!   connection, echo, place/clear calls          the RECEIVER's call ID, sequence, ack
//!   reliable (TCP), one per peer pair          unreliable, one flow per call, carries
//!                                                whole PPP frames (no HDLC flags/FCS)
//! ```
//!
//! The control connection ([`control::Control`], codecs in [`wire::control`]) sets up
//! calls; each call is a GRE flow ([`data::GreChannel`], header codec
//! `gre_family::wire::egre`) that carries one PPP session. PPP itself (LCP, MS-CHAP, CCP and
//! MPPE, IPCP) is the `ppp` crate's host: [`ppp::host::Client`] under [`Client`],
//! [`ppp::host::Server`] under [`Server`].
//!
//! ## Roles
//!
//! RFC 2637 names the ends after dial-up: the **PNS** (PPTP Network Server) asks the **PAC**
//! (PPTP Access Concentrator) to place an outgoing call. In VPN use the connecting client
//! sends Start-Control-Connection-Request and Outgoing-Call-Request, so it is the PNS; the
//! VPN server is the PAC:
//!
//! | RouterOS | RFC 2637 role | here |
//! |---|---|---|
//! | `/interface pptp-client` | PNS | [`Client`] ([`control::Role::Pns`]) |
//! | `/interface pptp-server server` | PAC | [`Server`] ([`control::Role::Pac`]) |
//!
//! ## One tunnel, as a ladder
//!
//! ```text
//!  PNS (pptp-client)                                               PAC (pptp-server)
//!   | TCP connect to port 1723                                             |
//!   | SCCRQ [version 1.0, framing/bearer caps, host name, vendor] -------> |  s2.1
//!   | <------------------------------- SCCRP [result 1 = OK, host "MikroTik"]  s2.2
//!   | OCRQ [call id A, serial, recv window 64, processing delay] ---------> |  s2.7
//!   | <------------------- OCRP [call id B, peer call id A, result 1, window 64]  s2.8
//!   |                                                                      |
//!   | GRE key=(len, B) seq=0 [PPP LCP Configure-Request] =================> |  s4.1
//!   | <================= GRE key=(len, A) seq=0 ack=0 [PPP LCP ...]        |
//!   |   ... LCP, MS-CHAPv2, CCP (MPPE-128 stateless), IPCP ...             |
//!   | GRE seq=n ack=m [PPP 0x00FD: MPPE-encrypted IP] <==================> |
//!   | (no reverse data for 100 ms: GRE ack-only, S=0 A=1, no payload)      |  s4.2
//!   |                                                                      |
//!   | Echo-Request [id] after 60 s without a control message ------------> |  s3.1.4
//!   | <---------------------------------------------- Echo-Reply [same id] |  s2.6
//!   |                                                                      |
//!   | Call-Clear-Request [call id A] -------------------------------------> |  s2.12
//!   | <------------------------------ Call-Disconnect-Notify [call id B, result 4]  s2.13
//!   | Stop-Control-Connection-Request [reason 1] -------------------------> |  s2.3
//!   | <------------------------------------- Stop-Control-Connection-Reply [result 1]
//!   | TCP close                                                            |
//! ```
//!
//! Fields that matter: in GRE, the Key's low word is the call ID **of the receiver** (so
//! the PAC demultiplexes by its own call ID B; here call IDs are unique across a
//! [`Server`] and the source address is checked); the Packet Receive Window of the OCRQ/OCRP
//! bounds how many GRE packets the other side may have unacknowledged; sequence numbers
//! start at 0 and acknowledgments are cumulative. Bad framing on TCP (length, magic cookie,
//! message type) closes the control connection; an unknown control message type, a message
//! out of place, a GRE packet for an unknown call, from the wrong peer, duplicated, late or
//! with an absurd acknowledgment is a typed [`DropReason`] and counted.
//!
//! ## Timers (all injected as `now: Instant`)
//!
//! | timer | value | source |
//! |---|---|---|
//! | echo: Echo-Request after control silence | 60 s | RFC 2637 s3.1.4, [MS-PTPT] s3.1.2 |
//! | echo reply wait, then close | 60 s | RFC 2637 s3.1.4 |
//! | connection not established, then close | 30 s | [MS-PTPT] s3.1.2 |
//! | stand-alone GRE acknowledgment | 100 ms | [MS-PTPT] s3.1.2 |
//! | window full with no ack: take as lost | 1 s | RFC 2637 s4.4 (adaptive there; fixed here) |
//! | Stop-Control-Connection-Reply wait | 10 s | not in RFC 2637 |
//! | LCP echo (`keepalive-timeout`) | client 60 s, server 30 s | RouterOS S0 L854, L876; in `ppp` |
//!
//! ## RouterOS properties
//!
//! [`ClientConfig`] is `/interface pptp-client`: `connect-to`, `disabled`, and the PPP part
//! ([`ppp::ClientSettings::pptp`]: `user`, `password`, `allow`, `profile`
//! (`default-encryption`, whose `use-encryption=yes` gives "MPPE128 stateless"), `max-mtu`
//! and `max-mru` (1450), `mrru`, `keepalive-timeout` (60), `add-default-route`,
//! `default-route-distance`, `dial-on-demand`). [`ServerConfig`] is
//! `/interface pptp-server server`: `enabled` (no) and [`ppp::ServerSettings::pptp`]
//! (`authentication` mschap1,mschap2, `default-profile` default-encryption,
//! `keepalive-timeout` 30, `max-mtu`/`max-mru` 1450, `mrru`, `max-sessions`). The users and
//! profiles are the `ppp` crate's `/ppp secret` and `/ppp profile` tables
//! ([`default_aaa`] gives RouterOS's two profiles). The old manual's 1460 for
//! max-mtu/max-mru is documented in [`config`]; we use the current manual's 1450.
//! [`ControlConfig`] holds the PPTP knobs that are not RouterOS properties.
//!
//! ## Driving a client
//!
//! ```
//! use pptp::{Channel, Client, ClientConfig, ClientEvent};
//! use std::time::Instant;
//! # use rand_core::SeedableRng;
//! let now = Instant::now();
//! let server = "192.0.2.1".parse().unwrap();
//! let rng = rand_chacha::ChaCha20Rng::seed_from_u64(1); // an OS-seeded CSPRNG in production
//! let mut client = Client::new(ClientConfig::new(server, "alice", "pw"), now, rng)?;
//! // Every wake-up: events, then transmits, then the timer.
//! while let Some(ev) = client.poll_event() {
//!     if let ClientEvent::Connect { to } = ev {
//!         assert_eq!(to, server);
//!         // connect a TCP socket to (to, 1723), then:
//!         client.handle_connected(now);
//!     }
//! }
//! while let Some(t) = client.poll_transmit(now) {
//!     match t.channel {
//!         Channel::Control => { /* write t.payload to the TCP socket */ }
//!         Channel::Gre => { /* send t.payload on the raw IP-protocol-47 socket to t.peer */ }
//!     }
//!     assert_eq!(t.channel, Channel::Control); // the SCCRQ
//!     assert_eq!(&t.payload[..4], &[0, 156, 0, 1]);
//! }
//! // bytes read from TCP:   client.handle_stream(now, &bytes);
//! // a GRE packet arrived:  match client.handle_datagram(now, from, &mut pkt) {
//! //                            pptp::Input::Datagram { protocol, payload } => .., _ => {} }
//! // IP to the server:      client.encapsulate(now, 0x0021, ip, &mut buf) (no allocation)
//! let deadline = client.poll_timeout(); // then client.handle_timeout(deadline)
//! assert!(deadline.is_some());
//! # Ok::<(), pptp::Error>(())
//! ```
//!
//! Randomness: a `RngCore + CryptoRng` is given to [`Client::new`] / [`Server::new`] (PPP
//! challenges, MPPE, call IDs); nothing reads the OS.
//!
//! ## What is implemented
//!
//! See `README.md`: all 15 control messages, both control-connection roles, outgoing calls,
//! incoming calls in [`control::Control`], the GRE window, MPPE through `ppp`. Not
//! implemented: the simultaneous-SCCRQ collision rule, incoming calls on [`Client`] /
//! [`Server`] (refused / never offered), an adaptive ack time-out, NAT traversal, IPv6
//! outer transport (RouterOS: "IPv6 is not supported").
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `pptp::...`; fields `source`: the state machine, `kind`: the
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
pub mod control;
pub mod data;
pub mod error;
pub mod event;
pub mod server;
pub mod transport;
pub mod wire;

pub use client::{Client, ClientEvent};
pub use config::{default_aaa, ClientConfig, ControlConfig, ServerConfig};
pub use control::{Control, ControlState, Role};
pub use data::{GreChannel, GreStats, RxVerdict};
pub use error::Error;
pub use event::{CallEndReason, CloseReason, ControlEvent, DropReason};
pub use server::{CallKey, Server, ServerEvent, ServerStats};
pub use transport::{Channel, ConnId, Input, Transmit};
