//! A sans-IO PPP engine with the RouterOS feature set: the link layer that L2TP, PPTP, PPPoE
//! and SSTP carry (and async serial lines, through RFC 1662 framing).
//!
//! Nothing here touches a socket, a clock or the OS random source: the caller feeds frames and
//! time in, and takes frames, events and deadlines out.
//!
//! # PPP in one page
//!
//! A PPP link walks through the phases of RFC 1661 s3:
//!
//! ```text
//!   Dead --open()--> Establish --LCP Opened--> Authenticate --success--> Network
//!    ^                  |                          |                       |
//!    +----- Terminate <-+-- LCP fails / closes ----+---- failure ----------+
//! ```
//!
//! * **Establish**: LCP (RFC 1661 s6) negotiates MRU, ACCM (async links), the authentication
//!   protocol, Magic-Number (loopback detection), PFC/ACFC.
//! * **Authenticate**: the server (authenticator) proves the client's identity with PAP,
//!   CHAP-MD5, MS-CHAPv1, MS-CHAPv2 or EAP. Which one: the server proposes from its
//!   `authentication` set, the client Naks towards its `allow` set.
//! * **Network**: one NCP per network protocol: IPCP (IPv4 address, RFC 1877 DNS and NBNS)
//!   and IPv6CP (interface identifier). Then datagrams flow (protocol 0x0021 / 0x0057).
//!
//! LCP and every NCP run the same option-negotiation automaton ([`fsm`], RFC 1661 s4): ten
//! states, sixteen events, a restart timer (3 s) and counters (Max-Configure 10, Max-Terminate
//! 2, Max-Failure 5). The state table is data ([`fsm::transition`]) and is tested cell by cell
//! against the RFC.
//!
//! ```text
//!   Closed/Stopped --Open/Up (irc,scr)--> Req-Sent --RCA--> Ack-Rcvd --RCR+ (sca,tlu)--> Opened
//!                                            |                                           ^
//!                                            +--RCR+ (sca)--> Ack-Sent --RCA (tlu)-------+
//! ```
//!
//! # An annotated exchange (client dialling a RouterOS-style server, MS-CHAPv2)
//!
//! ```text
//!  client                                              server
//!  LCP ConfReq id=1 <mru 1450> <magic c1>     --->            we may receive 1450 octets
//!                                             <---  LCP ConfReq id=7 <mru 1450>
//!                                                   <auth chap 0x81> <magic s7>
//!                                                   the server demands MS-CHAPv2
//!                                             <---  LCP ConfAck id=1
//!  LCP ConfAck id=7                           --->  both directions acked: LCP Opened
//!                                             <---  CHAP Challenge id=3 value=16 random octets
//!  CHAP Response id=3 value=PeerChallenge(16)
//!     ++ 8 zero ++ NT-Response(24) ++ flags   --->  server recomputes GenerateNTResponse
//!                                             <---  CHAP Success "S=<40 hex> M=Welcome"
//!  client checks S= (RFC 2759 s5: MUST end the session if wrong)
//!  IPCP ConfReq <addr 0.0.0.0> [<dns 0.0.0.0>]--->  "give me an address"
//!                                             <---  IPCP ConfReq <addr 10.0.0.1>
//!                                             <---  IPCP ConfNak <addr 10.0.0.2>
//!  IPCP ConfAck <addr 10.0.0.1>               --->
//!  IPCP ConfReq <addr 10.0.0.2>               --->
//!                                             <---  IPCP ConfAck: NetworkUp on both sides
//!  IPv4 datagrams (protocol 0x0021)           <-->
//!  LCP Echo-Request/Reply (keepalive)         <-->
//!  LCP TermReq                                --->  / <--- LCP TermAck: Terminated
//! ```
//!
//! # Driving a session
//!
//! ```
//! use ppp::{Config, Event, Role, Session};
//! use rand_core::SeedableRng;
//! use std::time::Instant;
//! // A seeded CSPRNG keeps the example reproducible; seed it from the OS in production.
//! let rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let mut cfg = Config::l2tp_client();
//! cfg.user = "alice".into();
//! cfg.password = "secret".into();
//! let now = Instant::now();
//! let mut client = Session::new(cfg, Role::Client, now, rng).unwrap();
//! client.open(now);
//! // The driving loop of an application (one iteration shown):
//! while let Some(frame) = client.poll_transmit(now) {
//!     // hand `frame` to the transport (L2TP data message, PPPoE session frame, ...)
//!     assert_eq!(&frame[..4], &[0xff, 0x03, 0xc0, 0x21]); // LCP Configure-Request
//! }
//! while let Some(ev) = client.poll_event() {
//!     match ev {
//!         Event::NetworkUp(info) => println!("ip {} peer {}", info.local, info.remote),
//!         Event::Terminated { reason, .. } => println!("down: {reason:?}"),
//!         _ => {}
//!     }
//! }
//! let deadline = client.poll_timeout().unwrap(); // restart timer: 3 s
//! // ... when a frame arrives: client.handle_frame(now, &bytes)
//! // ... when `deadline` passes: client.handle_timeout(deadline)
//! client.handle_timeout(deadline);
//! assert!(client.poll_transmit(deadline).is_some()); // the retransmitted Configure-Request
//! ```
//!
//! # Hosting sessions: transport, host, session
//!
//! A transport does not drive [`Session`]s one by one: it plugs into the [`host`], which holds
//! every session of a server behind one key table and one deadline heap, answers
//! authentication from `/ppp secret` or asks the application (RADIUS), assigns addresses from
//! pools, applies `only-one`, `max-sessions` and `one-session-per-host`, reports accounting,
//! and hands realm users over to an LNS (LAC role). A client transport uses
//! [`host::Client`] (dial, redial, dial-on-demand, status strings). Both are configured from
//! the RouterOS settings block of the transport's menu ([`settings`]). The host's docs show a
//! transport plugging in.
//!
//! ```text
//!  transport (l2tp, pppoe, pptp, sstp)  ->  host::Server<K> / host::Client  ->  Session
//!  keys, encapsulation, tear-down           AAA, heap, accounting, dial         LCP, auth, NCPs
//! ```
//!
//! A server answers credentials either from a [`CredentialStore`] (e.g. [`aaa::Aaa`], the
//! in-memory `/ppp secret` table with profiles and pools) or by deferring: it emits
//! [`Event::AuthRequested`] and waits for [`Session::auth_verdict`], which is where a RADIUS
//! client plugs in. An L2TP LNS starts a server session from the LAC's proxied LCP and
//! credentials with [`Session::start_proxy`].
//!
//! # Encryption: CCP and MPPE
//!
//! After an MS-CHAP login (v1, v2, or EAP-MSCHAPv2) both ends hold the same secret key
//! material ([`mschap::MsChapKeys`]). With [`Config::use_encryption`] `yes` or `required`
//! (the `/ppp profile` property; a server takes it from the user's profile), the session opens
//! CCP (RFC 1962, protocol 0x80FD) next to IPCP and negotiates MPPE (RFC 3078) in its option
//! 18. While CCP negotiates, datagrams are held back; once it is up every datagram travels
//! RC4-encrypted as protocol 0x00FD and the MTU shrinks by 4.
//!
//! ```text
//!  client                                              server
//!  (MS-CHAPv2 Success, both derive MPPE keys: RFC 3079 s3)
//!  CCP ConfReq id=1 <18: 0x01000040>          --->  H (stateless) + S (128-bit):
//!                                                    "I want to receive MPPE128 stateless"
//!                                             <---  CCP ConfReq id=1 <18: 0x01000040>
//!                                             <---  CCP ConfAck id=1
//!  CCP ConfAck id=1                           --->  CCP Opened: Event::EncryptionUp
//!                                                    { encoding: "MPPE128 stateless", mtu }
//!  00FD | 9 000 | RC4(0021 | IPv4 packet)     --->  A+D flags, coherency count 0, a new key
//!  00FD | 9 001 | RC4(0021 | IPv4 packet)     --->  (stateless: a new key every packet)
//! ```
//!
//! In stateful mode (`mppe.stateless = false`) the key changes every 256 packets and a
//! receiver that sees a gap in the coherency count drops packets and sends a CCP
//! Reset-Request (code 14); the sender answers with a Reset-Ack (15) and flushes (a key change
//! announced by the A bit), and the receiver resynchronises. [`mppe`] explains keys, the coherency count and both modes.
//! `required` ends the session ([`TerminateReason::EncryptionRequired`]) when the login gave no
//! keys (PAP, CHAP) or the peer refuses MPPE; no datagram is ever sent or accepted in clear.
//! `no` Protocol-Rejects CCP; `default` is passive (answers a peer's CCP, starts none).
//!
//! Decryption works in place: [`Session::handle_frame_mut`] returns the cleartext as an
//! [`Input::Datagram`] borrowing the caller's buffer. [`Session::handle_frame`] (shared input)
//! decrypts into a reused session buffer and returns [`Input::Decrypted`]
//! ([`Session::decrypted`]).
//!
//! # Multilink (MP, RFC 1990) on a single link
//!
//! RouterOS's `mrru` setting ([`Config::mrru`], disabled by default) carries 1500-octet
//! packets over a tunnel whose MTU is smaller, without MSS clamping. With `mrru` set, LCP
//! adds MRRU (option 17), an Endpoint-Discriminator (19, class 1) and, with
//! [`Config::mp_short_sequence`], Short-Sequence-Number-Header-Format (18) to its request, and
//! accepts the peer's MRRU (Windows always asks for 1614). With `mrru` disabled a peer's MRRU
//! is Config-Rejected and the link runs without MP. When both MRRUs are agreed
//! ([`Session::multilink`]), [`Session::mtu`] reports the peer's MRRU and a datagram longer than
//! [`Session::link_mtu`] goes out as MP fragments:
//!
//! ```text
//!  client (mrru 1600, link MTU 1450)               server (mrru 1600)
//!  LCP ConfReq <1: 1450> <17: 1600> <19: 1 ..> --->
//!                                              <--- LCP ConfReq <17: 1600> <19: 1 ..>
//!  send_datagram(0x0021, 1500 octets)
//!    003D | 80 000000 | 0021 | first 1444 octets  --->  B bit, sequence 0
//!    003D | 40 000001 | last 56 octets            --->  E bit, sequence 1: reassembled,
//!                                                       Input::Reassembled { protocol: 0x21 }
//! ```
//!
//! The MP header is 4 octets (`B E 0 0 0 0 0 0` + 24-bit sequence) or, towards a peer that
//! asked for short sequence numbers, 2 octets (`B E 0 0` + 12-bit sequence): see [`mp`] for
//! the layouts, the `M` rule that declares fragments lost, and the reassembler's bounds. With
//! MPPE up, the whole packet is encrypted first (protocol 0x00fd inside the reconstructed
//! packet) and then fragmented. Send with [`Session::encapsulate_fragments`] (no allocation per
//! packet) or [`Session::send_datagram`]; a completed packet comes back as
//! [`Input::Reassembled`] with the datagram in [`Session::reassembled`] (then call
//! [`Session::poll_reassembled`] until `None`). Losses are counted in [`Session::mp_counters`].
//!
//! # Multilink bundles
//!
//! Several member links of one user (same authenticated name and Endpoint Discriminator,
//! RFC 1990 s5.1.3) form one [`mp::Bundle`]: [`mp::BundleKey::of`] names a session's bundle,
//! [`mp::Bundle::join`] / [`mp::Bundle::leave`] add and remove members (RouterOS
//! `active-links` is [`mp::Bundle::active_links`]), [`mp::Bundle::send`] deals the fragments of
//! a packet round robin over the members, and one reassembler takes the fragments of all
//! members (the `M` rule over every member's last sequence number). The application routes
//! each member session's protocol 0x003d frames to the bundle.
//!
//! # Bridging (BCP, RFC 3518)
//!
//! With [`Config::bridge`] set (RouterOS: the `/ppp profile` `bridge`; for a server the
//! user's profile, through [`UserAttributes::bridge`]), BCP (0x8031) is negotiated next to
//! IPCP; [`Event::BridgeUp`] reports it, [`Session::send_ethernet`] sends an Ethernet frame
//! and [`Input::Bridged`] hands one over. Without a bridge, BCP and bridged frames are
//! Protocol-Rejected; a peer that rejects BCP leaves IPCP untouched. [`bcp`] explains the
//! frame layout and the option policy.
//!
//! ```text
//!  BCP ConfReq <3: 01 (MAC-Support 802.3)>  --->
//!                                           <---  BCP ConfAck, BCP ConfReq <3: 01>
//!  BCP ConfAck                              --->  Event::BridgeUp { bridge, .. }
//!  send_ethernet(ARP request, 60 octets)
//!    0031 | 00 (F I Z B, pads 0) | 01 (802.3) | ff ff ff ff ff ff 02 .. | 08 06 ..  --->
//! ```
//!
//! # Extending
//! Frames are dispatched by protocol number in [`Session::handle_frame`]; each control
//! protocol is a [`fsm::Fsm`] plus a per-protocol option negotiator (CCP, IPCP, IPv6CP and
//! BCP are: `ccp.rs`, `ncp.rs`, `bcp.rs`). Multilink (RFC 1990) is a dispatch arm for
//! protocol 0x003d plus [`mp`]. Unknown protocols are Protocol-Rejected (RFC 1661 s5.7).
//!
//! # Robustness choices (all tested over a lossy simulated link)
//! * A timeout retransmission of an unchanged, unanswered Configure-Request keeps its
//!   identifier (RFC 1661 s5.1 allows it); a side already in Opened that receives the request it
//!   acked again re-sends the Ack instead of renegotiating, and duplicate Acks are ignored.
//! * A CHAP peer repeats its Response every restart period until it gets Success/Failure; the
//!   authenticator repeats its verdict for a repeated Response (as pppd does).
//! * EAP Success is not retransmitted (RFC 3748 s4.2): an NCP packet after the peer's final
//!   response counts as success.
//! * Keepalive ([`KeepalivePolicy`]): `FiveProbes` sends Echo-Requests at T, T+1 .. T+4 s after
//!   the last received frame (T = keepalive-timeout), reports `KeepaliveMissed{1..5}` at
//!   T+1 .. T+5 and drops the link at T+5; `TwiceTimeout` echoes every second from T and drops
//!   at 2T. Any received frame resets the idle reference; 0 disables.
//!
//! # Implemented
//! * Multilink on a single link ([`mp`]): MRRU (accepting Windows' 1614), short sequence
//!   numbers and Endpoint-Discriminator negotiation, long/short MP headers, fragmentation to
//!   the link MTU, bounded reassembly with the `M` rule, MP with MPPE; tested over a simulated
//!   1450-MTU link with loss and reordering.
//! * Frame codec with PFC/ACFC ([`wire::Frame`]); RFC 1662 async HDLC ([`wire::hdlc`]).
//! * The RFC 1661 automaton with restart timer and counters (every cell of the s4.1 table
//!   tested); LCP codes 1-13, the options of the spec (MRRU/SSNHF/Endpoint-Discriminator negotiated
//!   with `mrru`, Callback/Quality rejected), Protocol-Reject, Code-Reject, Echo,
//!   Discard, Identification/Time-Remaining accepted, Magic-Number loopback detection.
//! * Keepalive, both RouterOS policies; session-timeout and idle-timeout from user attributes.
//! * PAP, CHAP-MD5, MS-CHAPv1, MS-CHAPv2 (both roles, S= check, `R=1` retry), EAP Identity,
//!   MD5-Challenge and EAP-MSCHAPv2 (both roles); method choice by `allow` / `authentication`
//!   and a preference list; MS-CHAP key material (RFC 3079 master/start keys).
//! * CCP (RFC 1962) with MPPE (RFC 3078, RFC 3079 keys from MS-CHAPv1/v2 and EAP-MSCHAPv2):
//!   40/56/128-bit, stateless and stateful, key changes, Reset-Request/Reset-Ack resync, the
//!   `use-encryption` policy, the `encoding` string and the MTU reduction; every RFC 3079
//!   s2.5/s3.5 sample is a known-answer test.
//! * IPCP with RFC 1877 DNS (options 129/131) and NBNS/WINS (130/132), client and server: a
//!   server Naks a request with its `dns-server` / `wins-server` addresses and Rejects the
//!   option when none is configured; a client (`use-peer-dns`, [`Config::request_nbns`])
//!   asks with 0.0.0.0, takes the Nak'd value, drops a Rejected option and reports the result
//!   in [`Event::NetworkUp`] (`dns`, `nbns`). IPv6CP with an up event; AAA types
//!   (profiles, secrets, pools with exhaustion, only-one) behind [`CredentialStore`], or
//!   deferred verdicts for RADIUS.
//! * Proxy LCP / proxy authentication for an L2TP LNS ([`Session::start_proxy`]) and the
//!   LAC side ([`Session::proxy_lcp`], [`ProxyAuth::from_request`]).
//! * A sans-IO RADIUS client ([`radius`]): Access-Request for PAP, CHAP, MS-CHAPv1/v2 and EAP
//!   with User-Password hiding and Message-Authenticator, several servers with retransmit,
//!   failover and dead-time, accounting Start/Interim/Stop, Disconnect/CoA (RFC 5176), MS-MPPE
//!   keys from the reply, and [`radius::HostBridge`] to the host's external verdicts.
//! * The [`host`]: multi-session server keyed by the transport's `K` (one deadline heap,
//!   AAA with asynchronous external verdicts, pools, only-one, max-sessions,
//!   one-session-per-host, accounting start/interim/stop, LAC forwarding by realm) and a
//!   client with dial/redial/dial-on-demand; the RouterOS PPP settings block ([`settings`]).
//!   About 2.0 KB per idle hosted session at 100k sessions (`benches/host_memory.rs`).
//! * Monitor status strings, counters, uptime and idle time.
//! * Interop: tested against pppd 2.4.9 (serial line, both roles) in the project's lab VM.
//!
//! # Public surface
//! The API is what `lib.rs` re-exports plus the modules [`host`], [`settings`], [`aaa`],
//! [`config`], [`props`] (RouterOS property lists for `/ppp profile`, `/ppp secret`,
//! `/ip pool` and the server menus, which the l2tp, sstp, pptp and pppoe configs use),
//! [`radius`] (the RADIUS client and RFC 5176 server), [`event`] and [`error`]. [`wire`]
//! (codecs), [`fsm`] (the RFC 1661 automaton as a table), [`mschap`] (RFC 2759/3079
//! computations), [`mppe`] and [`ccp`] (RFC 3078/3079 encryption and its control protocol)
//! [`mp`] (the RFC 1990 header codec, fragmenter, reassembler and bundle) and [`bcp`] (the
//! RFC 3518 bridged-frame and option codecs) are stable building
//! blocks on purpose: the other PPP crates and conformance tools use them. Everything else
//! (the LCP/NCP negotiators, authentication state machines and the session) is private.
//!
//! # Not implemented (yet)
//! * Multilink bundles exist as [`mp::Bundle`], but neither the session nor the
//!   [`host`] routes member links into one yet (the application does, see above); BCP
//!   carries 802.3/Ethernet only (other MAC types and source-route bridging are
//!   Config-Rejected) and never sends Tinygram-compressed or FCS-carrying frames; LQR;
//!   callback; MPPC compression (the C bit of CCP option 18 is never offered or accepted).
//!   Single-link MP is implemented in the session; the transport crates (l2tp, pppoe, pptp,
//!   sstp) must hand [`Input::Reassembled`] datagrams to their applications.
//! * MPPE has been tested between two of these sessions, not yet against pppd's kernel
//!   `ppp_mppe` or Windows (the lab VM interop of issue 13 is still to do); the key-change
//!   rules (flag packets, flushes, resync catch-up) follow the RFC and Linux's `ppp_mppe`.
//! * RADIUS: [`radius`] has the client (RFC 2865/2866/3579/5176) and [`radius::HostBridge`]
//!   plugs it into the host's external verdicts and accounting; it has been tested against an
//!   in-test RADIUS server, not yet against FreeRADIUS, and the l2tp LAC realm decision and
//!   ipsec-ike's `eap-radius` are not wired to it. The host does not yet create a "dynamic"
//!   interface name for a second login of an active user (spec item 35): that is the
//!   application's naming.
//! * MS-CHAP Change-Password (RFC 2759 s7, RFC 2433 s9); EAP-TLS and EAP pass-through to RADIUS;
//!   MS-CHAPv1 retry (`R=1` is only honoured for MS-CHAPv2 by the client).
//! * The "r" (restart) and "p" (passive) automaton options; periodic CHAP re-challenge.
//! * Control packets are built in small `Vec`s; the data path (`encapsulate`, received
//!   datagrams, MPPE through [`Session::handle_frame_mut`]) allocates nothing. The transmit and event queues grow only as far as the
//!   caller leaves them undrained.
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `ppp::...`; fields `source`: the state machine, `kind`: the
//! event's variant name; not its fields, which may carry secrets). The crate does no IO of its
//! own either way: a subscriber installed by the application decides where events go. The
//! `Event`s returned by `poll_event` stay the API; the feature is for operators' logs.
#![forbid(unsafe_code)]

/// With the `tracing` feature, a `debug` event (field `kind`: the variant's name, `source`:
/// the state machine) for each event a `poll_event` hands out; nothing without it. Only the
/// variant's name is logged, not its fields (they may carry secrets such as a PAP password):
/// the `Event`s stay the API.
macro_rules! trace_event {
    // Events generic over the caller's session key (which need not be `Debug`): the source
    // alone.
    ($src:expr, $e:expr, keyed) => {
        #[cfg(feature = "tracing")]
        {
            if $e.is_some() {
                tracing::debug!(source = $src, "event");
            }
        }
    };
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

pub mod aaa;
mod auth;
pub mod bcp;
pub mod ccp;
pub mod config;
mod cp;
pub mod error;
pub mod event;
pub mod fsm;
pub mod host;
mod lcp;
pub mod mp;
pub mod mppe;
pub mod mschap;
mod ncp;
pub mod props;
pub mod radius;
mod session;
pub mod settings;
pub mod wire;

/// The `rand_core` version the session's RNG bound uses.
pub use rand_core;

pub use aaa::{CredentialStore, Lookup, UserAttributes, Verdict};
pub use auth::verify_with_password;
pub use bcp::{BcpNegotiated, BridgedFrame};
pub use config::{
    AuthMethod, AuthSet, Config, KeepalivePolicy, MppeSettings, Quirks, Role, Service, UsePeerDns,
};
pub use cp::CpCounters;
pub use error::{BufferTooSmall, ConfigError, Error, WireError};
pub use event::{AuthProof, AuthRequest, Event, Ipv4Info, Phase, Status, TerminateReason};
pub use lcp::LcpNegotiated;
pub use session::{Counters, Input, MppeCounters, ProxyAuth, ProxyAuthType, ProxyLcp, Session};
pub use settings::{ClientSettings, LinkOptions, ServerSettings};
