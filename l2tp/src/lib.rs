//! Sans-IO L2TP: L2TPv2 (RFC 2661) LAC and LNS carrying [`ppp`] sessions, L2TPv3 (RFC 3931)
//! data plane with cookies, sublayer and Ethernet pseudowires (RFC 4719), and the RouterOS
//! configuration model (`/interface l2tp-client`, `/interface l2tp-server server`,
//! `/interface l2tp-ether`, `/ppp l2tp-secret`).
//!
//! Nothing here opens a socket, reads a clock or the OS random source: the caller feeds
//! datagrams and time in and takes datagrams, events and deadlines out.
//!
//! # L2TP in one page
//!
//! L2TP tunnels PPP between a **LAC** (access concentrator, where the PPP client dials in; a
//! RouterOS "L2TP client" is LAC and PPP client in one box) and an **LNS** (network server,
//! where PPP terminates). Everything runs over UDP port 1701 (RFC 2661 s8.1); the server may
//! answer from another port and the client must then use that port (a socket concern: the
//! library is keyed by tunnel id, never binds).
//!
//! Two channels share the tunnel:
//! * the **control channel**: AVP-encoded messages with their own reliable delivery (Ns/Nr,
//!   windows, retransmission with exponential backoff, ZLB acknowledgements; [`control`]);
//! * the **data channel**: PPP frames behind a small header, unreliable, optionally sequenced.
//!
//! ```text
//!  tunnel (control connection)            session (call) inside an established tunnel
//!  initiator          responder           LAC                 LNS
//!  Idle --SCCRQ-->    Idle                --ICRQ-->  (Assigned Session ID, Serial)
//!  WaitCtlReply <--SCCRP-- WaitCtlConn    <--ICRP--  (Assigned Session ID)
//!  Established --SCCCN--> Established     --ICCN-->  (Connect Speed, Framing, proxy LCP/auth)
//!  ... HELLO after 60 s of silence ...    PPP frames in data messages both ways
//!  --StopCCN--> / <--ZLB-- Closing (linger 31 s, re-ack) --> Closed;  --CDN--> ends one call
//! ```
//!
//! # An annotated exchange (from `tests/pair.rs::lossless_ladder_exact`, 10 ms links)
//!
//! ```text
//!   t ms   LAC                                                       LNS
//!      0   SCCRQ tid=0 ns=0 nr=0  ------------------------------->    tunnel id 0: new tunnel
//!          [Protocol Version 1.0, Framing Caps, Host Name, Assigned Tunnel ID=A,
//!           Receive Window 4, Tie Breaker (+ Challenge when a secret is set)]
//!     10        <-------------------------------  SCCRP tid=A ns=0 nr=1
//!          [Assigned Tunnel ID=4242, ... (+ Challenge Response = MD5(2 | secret | challenge))]
//!     20   SCCCN tid=4242 ns=1 nr=1 ------------------------------>    tunnel Established
//!     20   ICRQ  tid=4242 ns=2 nr=1 [Assigned Session ID=S, Call Serial Number] (cwnd is 2)
//!     30        <-------------------------------  ICRP tid=A sid=S ns=1 nr=3 [Assigned Session ID=T]
//!     40   ICCN tid=4242 sid=T ns=3 nr=2 [Tx Connect Speed, Framing Type] ---> session up
//!     50        <-------------------------------  ZLB (ack only: no AVPs, Ns not consumed)
//! ```
//!
//! RFC sections: header s3.1, AVPs s4.1-4.4 (hidden AVPs s4.3), control connection s5.1,
//! authentication s5.1.1, sessions s5.2, data s5.3-5.4, keepalive s5.5, teardown s5.6-5.7,
//! reliable delivery s5.8 and Appendix A, state tables s7; L2TPv3 s4 (encapsulation, digest
//! s4.3, sublayer s4.6) and s5.4 (AVPs); Ethernet pseudowires RFC 4719.
//!
//! # Driving loop
//!
//! ```
//! use std::time::{Duration, Instant};
//! use l2tp::{Event, Tunnel, TunnelConfig};
//! use rand_core::SeedableRng;
//!
//! let now = Instant::now();
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1); // use an OS-seeded CSPRNG in production
//! let mut lac = Tunnel::connect(TunnelConfig::default(), now, &mut rng).unwrap();
//! let mut lns = Tunnel::accept(TunnelConfig::default(), now, &mut rng, 4242).unwrap();
//! // One loop iteration per wake-up: feed input, drain transmits and events, re-arm the timer.
//! let mut t = now;
//! for _ in 0..10 {
//!     while let Some(d) = lac.poll_transmit(t) { lns.handle_input(t, &d).unwrap(); }
//!     while let Some(d) = lns.poll_transmit(t) { lac.handle_input(t, &d).unwrap(); }
//!     t += Duration::from_millis(10);
//! }
//! assert!(matches!(lac.poll_event(), Some(Event::TunnelUp { peer_tunnel_id: 4242, .. })));
//! // Then: lac.incoming_call(..) places a call; encapsulate() wraps PPP frames; when
//! // poll_timeout() passes, call handle_timeout(deadline).
//! assert!(lac.poll_timeout().is_some()); // the HELLO timer
//! ```
//!
//! The objects, smallest first:
//! * [`wire`]: codecs (header, AVPs incl. hidden, messages, L2TPv3 headers, digest).
//! * [`control::Channel`]: the reliable control channel, generic over the message type.
//! * [`Tunnel`]: one L2TPv2 control connection with its sessions, either role.
//! * [`server::Lns`]: many tunnels behind one socket with RouterOS admission policy and a
//!   caller-supplied demultiplexing key (many clients behind one NAT).
//! * [`ppp_link::L2tpClient`] / [`ppp_link::PppLns`]: thin adapters that plug the tunnel and
//!   the LNS into the PPP host ([`ppp::host::Client`] / [`ppp::host::Server`], keyed by
//!   (tunnel id, session id)): the host does LCP, authentication (local `/ppp secret`, pools,
//!   or an external verdict), accounting, dial and redial; the adapter maps L2TP session
//!   up/down to the host and the host's `Ended` to a CDN. MPPE (the profile's
//!   `use-encryption`) is carried: decrypted datagrams come out like clear ones
//!   ([`ppp_link`] "MPPE").
//! * [`lac::Lac`]: LAC forwarding: PPP sessions a local PPP host handed over by realm
//!   ([`ppp::host::ServerEvent::Forward`]) go to an LNS as incoming calls with proxy LCP and
//!   proxy authentication; the LNS ([`ppp_link::PppLns`]) continues without renegotiating.
//!
//! ```text
//!  PPP client --(PPPoE)--> ppp::host::Server (forward_realms) --Forward--> lac::Lac
//!                                                                            | L2TP, ICCN with
//!                                                                            v proxy LCP/auth
//!                                      ppp_link::PppLns = server::Lns + ppp::host::Server
//! ```
//!
//! The RouterOS configs ([`config::ClientConfig`], [`config::ServerConfig`]) embed the PPP
//! settings block of the `ppp` crate ([`ppp::ClientSettings`], [`ppp::ServerSettings`]): the
//! PPP part of `/interface l2tp-client` and `/interface l2tp-server server` exists once.
//! * [`ether::StaticEther`]: the unmanaged L2TPv3 "L2TP Ether" data plane.
//! * [`v3::ControlConnectionV3`]: one managed L2TPv3 control connection with any number of
//!   Ethernet or PPP pseudowire sessions (either role, IP or UDP); the LNS serves these too.
//! * [`reorder::ReorderBuffer`]: the bounded reorder buffer for sequenced data.
//!
//! # Implemented
//! * L2TPv2 header, all AVPs of RFC 2661 (typed), hidden AVPs, unknown-AVP M-bit rules,
//!   result/error code tables; byte-exact against the xl2tpd and kernel captures.
//! * Reliable control channel: Ns/Nr, receive window (out-of-order hold), retransmission
//!   1-2-4-8-8-8 s then teardown at 31 s (configurable), duplicate re-ack, ZLB, slow start and
//!   congestion avoidance, HELLO, StopCCN linger.
//! * Tunnel state machines (both roles), tie-breaker, Challenge/Response authentication,
//!   per-peer secret hook; ICRQ/ICRP/ICCN, OCRQ/OCRP/OCCN, CDN, WEN, SLI; many sessions per
//!   tunnel; data with optional sequencing (LNS-controlled) and offset parsing.
//! * LNS flood protection ([`server`] docs: what a stranger can make it hold): SCCRQ token
//!   buckets per source (/32, /64) and global, bounded half-open tunnels (total, per source,
//!   timeout), no timer retransmission to unproven peers: a spoofed SCCRQ flood holds at most
//!   2048 half-open tunnels (about 6 MB) for 8 s, and the reflection factor is 1.00x in
//!   packets (0.86x in bytes) by default (`tests/flood.rs`). Not RouterOS properties.
//! * LNS object: use-ipsec=require, accept-proto-version, accept-pseudowire-type,
//!   max-sessions, one-session-per-host, caller-id-type, bounded tunnel table, SCCRQ dedup;
//!   timers of v2 tunnels and of the PPP sessions of [`ppp_link::PppLns`] in heaps
//!   (O(log n) `poll_timeout` / `handle_timeout`).
//! * PPP on the `ppp` host: L2TP client to IPCP up with dial/redial/dial-on-demand; LNS
//!   hand-off from proxy LCP/CHAP without a new challenge; LAC forwarding by realm
//!   ([`lac`]) to network-up through the LNS (tested at 30% loss on both hops).
//! * L2TPv3: control header over IP and UDP, v3 AVPs, Message Digest (HMAC-MD5/SHA-1) per
//!   RFC 3931 s5.4.1 (`shared_key = HMAC(secret, 0x02)`, digest over sender nonce, receiver
//!   nonce and message), 0/4/8-byte cookies, default L2-Specific Sublayer, data encapsulation;
//!   managed control connection SCCRQ/SCCRP/SCCCN with Router ID, Assigned Control
//!   Connection ID, Pseudowire Capabilities, nonces, Control Connection Tie Breaker (lower
//!   value wins, the loser becomes responder), HELLO keepalive after `hello_interval` of
//!   silence and dead-peer detection by the retransmission limit; any number of sessions per
//!   connection opened by either side, as incoming calls (ICRQ/ICRP/ICCN) or outgoing calls
//!   (OCRQ/OCRP/OCCN; the recipient connects at once) with their own ids and cookies, the
//!   RFC 3931 mandatory Serial Number, Remote End ID ([`v3::V3Config::remote_end_id`]) and
//!   Circuit Status AVPs, CDN per session, refusal of either request with CDN result 14
//!   (unsupported pseudowire type) or 4 (over `max_sessions`); attachment-circuit status per
//!   session in the setup messages and in Set-Link-Info on changes
//!   ([`v3::ControlConnectionV3::set_circuit_status`], [`v3::V3Event::PeerCircuitStatus`]);
//!   WAN-Error-Notify with the Circuit Errors AVP both ways; per-direction L2-Specific
//!   Sublayer from each side's L2-Specific Sublayer AVP (the party receiving a call adopts
//!   the caller's requirement; unknown sublayer types get CDN result 2 error 3, sequencing
//!   demanded without a sublayer CDN result 15; a Data Sequencing AVP is sent when we
//!   reorder); the Session Tie Breaker for crossed requests naming the same circuit (Remote
//!   End ID, [`v3::ControlConnectionV3::open_call`]; the loser's request gets CDN result 13);
//!   explicit ACK messages received are handled like ZLBs; Assigned Cookie hiding
//!   (RFC 3931 s5.3, see [`v3`] for the key);
//!   LNS admission of v3 over UDP and over IP ([`server::Lns::handle_input_ip`])
//!   (accept-proto-version, accept-pseudowire-type, a `max-sessions` budget shared by v2 and
//!   v3 sessions, digest, no state kept for SCCRQs failing the digest), session-id
//!   demultiplexing of v3 data across connections, outgoing calls, circuit status and circuit
//!   errors from the LNS side (`Lns::v3_open_outgoing_session`, `v3_set_circuit_status`,
//!   `v3_report_circuit_errors`); unmanaged L2TP Ether; RouterOS config structs with
//!   defaults and validation.
//! * Data-channel reorder buffer ([`reorder`]) for sequenced data: L2TPv2 data Ns (opt-in with
//!   [`TunnelConfig::reorder`]; [`Tunnel::poll_data`], [`server::Lns::poll_data`], and inside
//!   [`ppp_link::L2tpClient`] / [`ppp_link::PppLns`] whose released datagrams come from their
//!   `poll_datagram`) and the L2TPv3 sublayer sequence numbers ([`v3::V3Config::reorder`]; on
//!   the LNS the same [`TunnelConfig::reorder`] opt-in, held frames reported as
//!   [`server::LnsInput::V3Queued`] and released by [`server::Lns::poll_v3_data`]):
//!   bounded, timeout through `poll_timeout`, duplicates / too-old / lost counted.
//!
//! # Public surface
//! The API is what `lib.rs` re-exports and the modules [`config`], [`event`], [`error`],
//! [`server`], [`ppp_link`], [`lac`], [`v3`] and [`ether`]. [`wire`] (codecs), [`control`]
//! (the reliable control channel, generic over the message type), [`reorder`] (the bounded
//! data reorder buffer) and [`limit`] (per-source token buckets) are stable building blocks
//! on purpose (conformance tools, fuzzing,
//! other transports); their items are documented as such.
//!
//! # Not implemented
//! * L2TPv3: sending the explicit ACK message (type 20), the "non-IP packets only" Data Sequencing level (treated
//!   as "all": every packet carries a sequence number when the sublayer is on) and the
//!   RFC 5641 extended Circuit Status bits; an outgoing call's recipient connects (OCCN) at
//!   once, there is no hook to delay it until a local circuit is bound. Only the Assigned Cookie is hidden (hiding key
//!   `HMAC_Hash(secret, 1)` per our reading of RFC 3931 s5.3, not checked against another
//!   implementation); the LNS does not tie-break (it never initiates a control connection). The
//!   managed v3 mode has been run only against itself (examples `l2tp-v3` over IP and UDP);
//!   no third-party managed-L2TPv3 peer was available (the digest follows the RFC text;
//!   authenticated ZLBs carry only the Message Digest AVP). The v3 data plane (header,
//!   cookies, default L2-Specific Sublayer with sequence numbers, IP and UDP encapsulation)
//!   is verified against the Linux kernel's `l2tp_eth` (example `l2tp-ether`).
//! * Reordering is opt-in (not a RouterOS property): without it stale sequenced v2 frames are
//!   dropped and v3 frames are delivered as they arrive.
//! * IPsec itself (the `ipsec-ike` crate), sockets and TUN (examples).
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `l2tp::...`; fields `source`: the state machine, `kind`: the
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

pub mod config;
pub mod control;
pub mod error;
pub mod ether;
pub mod event;
pub mod lac;
pub mod limit;
pub mod ppp_link;
pub mod reorder;
pub mod server;
pub mod tunnel;
pub mod v3;
pub mod wire;

pub use config::{
    AcceptProtoVersion, AcceptPseudowireType, CallerIdType, ClientConfig, ControlConfig,
    EtherConfig, ProtoVersion, RateLimit, ServerConfig, TunnelConfig, UseIpsec,
};
pub use error::{Error, Result};
pub use event::{
    CallDirection, CallInfo, DropReason, Event, ProxyInfo, SessionDownReason, TunnelDownReason,
};
pub use lac::{Lac, LacConfig, LacEvent, LacTransmit};
pub use ppp_link::{
    ClientEvent, ClientInput, L2tpClient, PppLns, PppLnsEvent, PppLnsInput, SessionKey,
};
pub use reorder::ReorderConfig;
pub use server::{Lns, LnsEvent, LnsInput, LnsStats, Peer, SecretHook};
pub use tunnel::{Input, Role, Session, SessionState, Tunnel, TunnelState};
pub use v3::{ControlConnectionV3, V3Config, V3Event};
