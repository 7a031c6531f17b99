//! # ovpn — a sans-IO OpenVPN core (RouterOS "OVPN" feature set)
//!
//! An embeddable OpenVPN 2.x client and server: packet codec, control-channel protection
//! (tls-auth, tls-crypt, tls-crypt-v2), the control channel's reliability layer, TLS carried
//! through an adapter trait (rustls provided), key method 2, data-key derivation by the
//! OpenVPN PRF or TLS-EKM, cipher negotiation, the data channel, keepalive and
//! renegotiation. No sockets, clocks, threads or OS randomness: the caller drives it
//! (see [`session`] for the contract and [`server`] for many clients on one socket).
//! Interoperates with OpenVPN 2.6.14: both roles, UDP and TCP, p2p TLS mode (`dev null`) with
//! tls-auth, tls-crypt, no wrapping, AES-GCM/ChaCha20/AES-CBC/BF-CBC and compression
//! framing, and server mode (pull) with real TUN and TAP devices on both ends (the kernels
//! answer pings through the tunnel) with tls-crypt-v2 (early negotiation), tls-auth and
//! AES-CBC, plus renegotiations under dyn-tls-crypt (p2p and server mode) and auth-token
//! renewal across them, our server's stateless (HMAC-cookie) handshake, `RESTART` on
//! server shutdown both ways, and pushed routes installed by our client
//! (`examples/tests/interop_ovpn.rs`).
//!
//! ## Packets
//!
//! The first byte is `opcode << 3 | key_id` ([`wire`]). Opcodes: `P_CONTROL_SOFT_RESET_V1`
//! 3, `P_CONTROL_V1` 4, `P_ACK_V1` 5, `P_DATA_V1` 6, `P_CONTROL_HARD_RESET_CLIENT_V2` 7,
//! `P_CONTROL_HARD_RESET_SERVER_V2` 8, `P_DATA_V2` 9, `P_CONTROL_HARD_RESET_CLIENT_V3` 10,
//! `P_CONTROL_WKC_V1` 11 (1 and 2, key method 1, are rejected). Over UDP one packet per
//! datagram; over TCP each packet is prefixed with a 16-bit length ([`wire::tcp`]).
//!
//! ```text
//! control (plain):  op|kid | session id (8) | n | n x acked id (4) | [remote sid (8) if n>0]
//!                   | message id (4, not in P_ACK_V1) | TLS records
//! + tls-auth:       op|kid | sid | HMAC | replay id (4) | net time (4) | n | ...
//! + tls-crypt:      op|kid | sid | replay id | net time | tag (32) | AES-256-CTR(n | ...)
//! + tls-crypt-v2:   the tls-crypt packet (per-client key Kc) followed by WKc in
//!                   HARD_RESET_CLIENT_V3 / WKC_V1
//! data (AEAD):      op|kid [| peer id (3)] | packet id (4) | tag (16) | ciphertext
//! data (CBC):       op|kid [| peer id (3)] | HMAC | IV | CBC(packet id | payload)
//! ```
//!
//! ## Reliability layer
//!
//! TLS records ride in `P_CONTROL_V1` messages with a per-key-id message id. Every message
//! is acknowledged (ack arrays piggy-backed on control packets, or a standalone
//! `P_ACK_V1`), retransmitted with a doubling timeout (2 s, capped at 16 s), delivered in
//! order through a bounded reorder window, with duplicates re-acked; TLS output is split to
//! `tls-mtu` (`reliable.rs`).
//!
//! ## Key method 2 and key derivation
//!
//! Once TLS is up each side sends, inside TLS: `u32 0 | 2 | key source | options | user |
//! password | peer-info` ([`keymethod`]). Peer info (`IV_PROTO`, `IV_CIPHERS`, ...) drives
//! negotiation: the server picks the first of its `data-ciphers` the client lists and pushes
//! `cipher`, `peer-id` and `key-derivation tls-ekm`; in p2p TLS mode both sides compute the
//! same choice (server preference). Data keys are 256 bytes (two 128-byte slots, client→server
//! first) from either the RFC 5705 exporter (`EXPORTER-OpenVPN-datakeys`) or the OpenVPN PRF
//! (TLS 1.0 PRF: `OpenVPN master secret`, then `OpenVPN key expansion` over both randoms and
//! both session ids). RouterOS-style peers without negotiation use a fixed cipher that must
//! match (server: be in its accepted set).
//!
//! ## A full session (10 ms one-way delay; times from the pair test)
//!
//! ```text
//!  t(ms) client                                             server
//!     0  HARD_RESET_CLIENT_V2 kid0 sid=C mid0 ------------->
//!    10              <------------- HARD_RESET_SERVER_V2 sid=S ack[0] rsid=C mid0
//!    20  CONTROL_V1 ack[0] rsid=S mid1 (ClientHello) ------>
//!    30              <------------- CONTROL_V1 ack[1] mid1 (ServerHello .. Finished)
//!    40  CONTROL_V1 mid2 (Finished, key method 2) -------->  server: TLS up
//!    50              <------------- CONTROL_V1 (key method 2: randoms, options, peer-info)
//!    60  CONTROL_V1 (PUSH_REQUEST) ----------------------->   server: auth hook, cipher,
//!    70              <------------- CONTROL_V1 (PUSH_REPLY,ifconfig ..,peer-id 7,cipher
//!                                    AES-256-GCM,key-derivation tls-ekm)   server: keys up
//!    80  P_ACK_V1; client keys up: P_DATA_V2 peer-id 7 kid0 both ways
//!  +reneg-sec  SOFT_RESET kid1 both ways, new TLS handshake and key method 2 on kid1, new
//!             keys; kid0 still decrypts for the 60 s transition window, then is retired.
//! ```
//!
//! ## State of one key id
//!
//! ```text
//! Reset sent/awaited --(peer reset)--> TLS handshake --(TLS up)--> key method 2 sent
//!   --(peer km2; client: + PUSH_REPLY)--> data keys installed (primary)
//!   --(newer key id installed)--> lame duck (transition window) --> retired
//! any state --(first hand-window, ping-restart, TLS error, AUTH_FAILED, RESTART, EXIT)--> Down
//! renegotiating key --(hand-window)--> dropped (current key stays primary, retry later)
//! ```
//!
//! ## Driving a session
//!
//! ```no_run
//! use std::time::Instant;
//! use ovpn::session::{Input, Role, Session, SessionConfig};
//! use ovpn::tls::{RustlsEngine, TlsEngine, TlsMaterial};
//! # use rand_chacha::rand_core::SeedableRng;
//! // The caller's CSPRNG (an OS-seeded one in real code; the crate never reads the OS itself).
//! # fn rng() -> Box<dyn ovpn::rand_core::CryptoRngCore + Send> {
//! #     Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(1))
//! # }
//! # fn socket_recv() -> Option<Vec<u8>> { None }
//! # fn wall_clock_unix_secs() -> u64 { 1_795_305_600 }
//! # fn socket_send(_: &[u8]) {}
//! let tls = TlsMaterial { ca_pem: Some("...".into()), ..Default::default() };
//! let mut cfg = SessionConfig::new(Role::Client);
//! cfg.credentials = Some(("user".into(), "password".into()));
//! // Wall-clock time at `now`: net time on the control channel, certificate validity.
//! cfg.unix_time = wall_clock_unix_secs();
//! let now = Instant::now();
//! let mut s = Session::new(cfg, now, rng(),
//!     Box::new(move || Ok(Box::new(RustlsEngine::client(&tls, None)?) as Box<dyn TlsEngine>)),
//!     None).unwrap();
//! s.connect(now).unwrap();
//! let mut buf = vec![0u8; 2048];
//! loop {
//!     let now = Instant::now();
//!     while let Some(pkt) = s.poll_transmit(now) { socket_send(&pkt); }
//!     while let Some(ev) = s.poll_event() { println!("{ev:?}"); }
//!     if let Some(pkt) = socket_recv() {
//!         if let Input::Data(n) = s.handle_input(now, &pkt, &mut buf) {
//!             // buf[..n] is an IP packet (tun) or Ethernet frame (tap) for the interface
//!         }
//!     }
//!     if s.poll_timeout().is_some_and(|t| t <= now) { s.handle_timeout(now); }
//!     if s.is_down() { break; }
//! }
//! ```
//!
//! ## Implemented
//!
//! * Codec for every opcode, ack arrays, session ids, early-negotiation TLVs, TCP framing;
//!   byte-exact on every packet of the OpenVPN 2.6 captures (tests/captures.rs).
//! * tls-auth (MD5/SHA1/SHA224/256/384/512, key directions), tls-crypt, tls-crypt-v2
//!   (wrap/unwrap of client keys with metadata, `HARD_RESET_CLIENT_V3`, `WKC_V1` on the
//!   server side), long-form replay window on the control channel. tls-crypt-v2 clients
//!   announce early negotiation and resend the WKc in `P_CONTROL_WKC_V1` when the server's
//!   reset asks (OpenVPN 2.6's stateless HMAC-cookie handshake, interop-tested over UDP).
//! * Server side of that stateless handshake (`cookie.rs`, [`server::Server::enable_stateless`]):
//!   resets are answered with an HMAC-SHA256 cookie session id (client address, client
//!   session id, 30 s time slot, key per server instance) and no state; only a packet
//!   echoing a valid cookie (acked ids and message id <= 1) creates the session;
//!   tls-crypt-v2 clients with early negotiation are asked to resend the WKc, older ones get
//!   state at once. Forged, foreign and expired cookies are dropped and counted
//!   ([`server::StatelessStats`]); replies are rate-limited per source prefix and
//!   globally ([`ratelimit`]). Tests: a 1000-address reset flood creates no
//!   session, our client connects through it at 30% loss with every wrap
//!   (tests/stateless.rs), and
//!   the `ovpn-server` example runs it over UDP in every interop run with OpenVPN 2.6
//!   clients (tls-auth, tls-crypt, tls-crypt-v2, none). Control packets repeat the last
//!   four acks they sent (OpenVPN 2.6 "ACK MRU") so a retransmitted third packet still
//!   carries the cookie.
//! * Reliability layer; rustls adapter (TLS 1.2/1.3, only-1.2, client certificates) with
//!   OpenVPN's certificate rules ([`tls::PeerVerify`]: chain to `ca` with the CA itself
//!   allowed as end entity, `remote-cert-tls`, `verify-x509-name` name/name-prefix/subject,
//!   RouterOS `verify-server-certificate` host check only when asked; interop: a
//!   self-signed CA-flagged OpenVPN 2.6 server certificate). Certificate validity is
//!   checked against the caller's wall clock (`SessionConfig::unix_time`, advanced by the
//!   monotonic `now`), never the system clock; no clock = no handshake. A
//!   [`server::Server`] has one wall clock ([`server::Server::set_unix_time`], or the
//!   stateless config's) and gives it to every session it creates, so a factory that
//!   captured its config at start-up cannot put a session's net time behind the stateless
//!   reply (clients drop such packets as replays).
//! * Key method 2, OpenVPN PRF and TLS-EKM; NCP (pushed cipher), OpenVPN 2.6 p2p NCP
//!   (EKM peer id), fixed-cipher RouterOS mode.
//! * Data channel: AES-128/192/256-CBC + HMAC, AES-128/192/256-GCM, CHACHA20-POLY1305,
//!   BF-CBC, none; replay window; P_DATA_V1/V2; caller buffers; keepalive ping and
//!   ping-restart; renegotiation with key-id rotation and transition window.
//! * Pluggable AEAD backend for the data channel ([`data::AeadProvider`],
//!   `SessionConfig::aead_provider`), like rustls's `CryptoProvider`: the built-in code is
//!   ring (AES-128/256-GCM, ChaCha20-Poly1305) and RustCrypto (AES-192-GCM, CBC); the
//!   workspace's `openssl-aead` package puts OpenSSL's libcrypto under the AEAD ciphers
//!   (interop-tested against OpenVPN 2.6 with CHACHA20-POLY1305, both roles).
//! * Compression framing without compression ([`data::Compression`]): `comp-lzo no`,
//!   `compress stub` (swap framing), `compress stub-v2`; a client follows a pushed
//!   `comp-lzo`/`compress`, a server pushes its own; compressed packets are dropped.
//!   Interop-tested against OpenVPN 2.6 in p2p mode, both roles.
//! * OCC ([`occ`]): OCC_REQUEST answered with the options string, OCC_REPLY reported
//!   ([`event::Event::OccReply`]) with OpenVPN-style inconsistency warnings, options
//!   warnings on the key-method-2 options string ([`event::Event::OptionsWarning`]), OCC
//!   EXIT received ends the session.
//! * explicit-exit-notify: on close, `EXIT` on the control channel to peers with cc-exit
//!   (IV_PROTO bit or pushed `protocol-flags cc-exit`), else n OCC EXIT messages one
//!   second apart; both received forms end the session (`Down(Exit)`).
//! * dyn-tls-crypt (IV_PROTO bit 9, `protocol-flags dyn-tls-crypt`, p2p by peer info):
//!   renegotiation control packets (key id > 0) are tls-crypt-wrapped under a key exported
//!   from the first TLS session (`EXPORTER-OpenVPN-dynamic-tls-crypt`, XORed with the
//!   tls-crypt / tls-crypt-v2 client key when configured); interop-tested against an
//!   OpenVPN 2.6 server's renegotiations.
//! * `fragment N` ([`fragment`]): data-channel payloads carry the 4-byte fragment header;
//!   larger ones are split into datagrams of at most N bytes and reassembled (bounded);
//!   interop-tested with OpenVPN 2.6 (`fragment 400`, 1200-byte pings both ways).
//! * auth-token: a client sends a pushed `auth-token` instead of its password on later
//!   authentications and takes renewals (`PUSH_REPLY,auth-token ...` at renegotiations;
//!   interop-tested against OpenVPN 2.6 `auth-gen-token`). A server with `auth_gen_token`
//!   issues HMAC-signed tokens (time of the password login, issue time; key shared by all
//!   sessions of a server via `auth_token_key`, so they work across reconnects and are
//!   bound to the username), accepts them instead of the password without the credential
//!   hook, pushes a renewed one at every renegotiation and every `auth_token_renewal`, and
//!   refuses one (`AUTH_FAILED`) after `auth_token_lifetime` or when not renewed for twice
//!   the renewal time (interop: an OpenVPN 2.6 client renegotiates on our tokens, the
//!   hook runs once). Servers re-authenticate on every renegotiation (username must not
//!   change; hook asked again when there is no token).
//! * A renegotiation that does not finish within `hand-window` is abandoned
//!   ([`event::Event::RenegotiationFailed`]); the current key keeps working and the next
//!   attempt comes one `reneg-sec` later (only a first handshake that times out ends the
//!   session).
//! * Server shutdown ([`server::Server::shutdown`], [`session::Session::send_restart`]):
//!   `RESTART` / `RESTART,[N]` to every client, sessions down once acked or after 2 s;
//!   clients report [`event::Event::Restart`] (`next_remote` for `[N]`). Servers push
//!   `protocol-flags cc-exit [tls-ekm] [dyn-tls-crypt]` to clients announcing cc-exit,
//!   `key-derivation tls-ekm` to older ones. Interop: OpenVPN 2.6 clients log the pushed
//!   reset; our client reports the restart of a SIGTERMed OpenVPN server.
//! * Address pool and accounting ([`pool::Ipv4Pool`], [`server::Server::set_pool`]):
//!   deferred PUSH_REPLY ([`event::Event::PushRequested`], [`session::Session::push_reply`])
//!   gets `ifconfig` from the pool (a returning user gets their previous address), the
//!   address is released when the session goes, an exhausted pool answers
//!   `AUTH_FAILED,no address available`; [`event::Event::Accounting`] is the stop
//!   record (username, address, packet and tunnel byte counters, connected time, reason).
//! * Server: many clients, peer-id/address demux, float, credential hook, PUSH_REPLY
//!   (ifconfig, ifconfig-ipv6, routes from push-routes, redirect-gateway, ping); client:
//!   route-nopull, AUTH_FAILED / RESTART / EXIT. The `ovpn-client` example installs pushed
//!   ifconfig(-ipv6), routes and redirect-gateway def1/ipv6 on its TUN (interop: `ip route`
//!   and a ping through a pushed route, and none of the routes with `--route-nopull`).
//! * RouterOS config structs with defaults and validation ([`config`]), wired end to end:
//!   `session_config` and `tls_factory` take every property (the server's whole `auth`
//!   set, max-mtu as the tunnel MTU, tls-version, use-peer-dns, certificate, profile,
//!   user-auth-method, tun-server-ipv6 as the `ifconfig-ipv6` remote), and both examples
//!   take RouterOS-style `name=value` settings through them; .ovpn import/export.
//! * The key-method-2 / OCC options string is built from the real mode, transport, tunnel
//!   MTU, cipher, auth, compression and fragment settings the way OpenVPN 2.6 computes its
//!   own ([`occ::local_options_string`], `link-mtu` included), so peers with the same
//!   settings log no OCC warning (checked in interop).
//! * Renegotiation before packet-id exhaustion (`SessionConfig::packet_id_reneg`, OpenVPN's
//!   `0xFF000000` trigger) whatever `reneg-sec` says; tls-crypt-v2 client key metadata
//!   checked by a hook (`--tls-crypt-v2-verify`) in the session and the stateless front end.
//! * The `ovpn-client` / `ovpn-server` examples move packets between a real TUN or TAP
//!   device and the tunnel (interop: pings through OpenVPN 2.6 with the kernels answering,
//!   TUN and TAP, UDP and TCP, both roles).
//!
//! ## What a stranger can make a server hold (and the bounds)
//!
//! * Over UDP with [`server::Server::enable_stateless`]: nothing per reset. Replies are
//!   token-bucketed per source prefix (IPv4 /32, IPv6 /64; 5 at once, then 2/s) and
//!   globally (2000, then 10 000/s) by [`ratelimit::RateLimiter`], whose table holds at
//!   most 4096 prefixes (idle ones collected; beyond that only the global bucket
//!   decides), so a reflected flood stays below the request rate and neither one flooder
//!   nor a spoofed flood over many addresses below the global rate can use up the replies
//!   a new client needs. At most 1024 replies wait for [`server::Server::poll_transmit`].
//! * A session exists only once an address proved itself (cookie echo over UDP, a TCP
//!   connection): at most [`server::ServerLimits::max_clients`] in all, of which at most
//!   `max_half_open` (default a quarter of the table, at least 8) may still be in their
//!   handshake, at most `max_half_open_per_source` (4) per source prefix; sessions made
//!   without a cookie (TCP) are token-bucketed per source like the stateless replies
//!   (`stateful_rate`: 5, then 2/s). At the limit, a newcomer whose first packet is good
//!   replaces the oldest handshake that has sent nothing after its reset, else the oldest
//!   of the source holding the most, else the oldest running for `half_open_grace` (1 s);
//!   so a stranger completing handshakes from many addresses of its own keeps new
//!   clients out only above `max_half_open / half_open_grace` new handshakes per second
//!   (16/s for 64 clients). Handshakes time out after `hand-window` (60 s), down sessions
//!   linger 5 s. Per session: the reliability windows (bounded), one TLS engine per key id
//!   (at most 3 key ids at once), a bounded `fragment` reassembler.
//! * Tables give their memory back after a flood (`shrink_to` when at most a quarter
//!   full). The `ovpn-server` example bounds TCP on top: connections in total (a newcomer
//!   replaces one that has not got past its first packet) and per source, a handshake and
//!   an idle timeout, a bounded send backlog per connection, one thread (poll(2)), and
//!   logs of drops and of unfinished handshakes of a few lines plus a summary per 5 s.
//! * Measured (`examples/tests/flood_ovpn.rs`, `OVPN_FLOOD_LONG=1`): 60 s of spoofed,
//!   malformed and stalled traffic from 240 addresses at 8000 datagrams or connects per
//!   second against `ovpn-server` (64 clients, no control-channel protection): a real
//!   client comes up in 50-110 ms each time, the server's RSS peaks at 7.6 MiB (6.3 MiB
//!   after serving one client) and stays there after the flood. With tls-auth or
//!   tls-crypt a stranger without the key gets no reply and no session is kept for it
//!   (over TCP it holds only its connection, until the handshake timeout).
//!
//! ## Public surface
//!
//! The types a user needs are re-exported here ([`Session`], [`Server`], [`ClientConfig`],
//! [`ServerConfig`], [`Event`], [`DropReason`], [`RustlsEngine`], ...); the modules that
//! define them ([`session`], [`server`], [`config`], [`event`], [`error`], [`tls`]) are API
//! too, as are [`ovpnfile`] (`.ovpn` import and export), [`pool`] (the server's address pool)
//! and [`ratelimit`] (the token buckets a server embedder may reuse). The codec modules
//! ([`wire`], [`protect`], [`keymethod`], [`occ`], [`push`], [`fragment`], [`crypto`],
//! [`data`]) are public on purpose, as stable building blocks for conformance and fuzzing
//! tools. The reliability layer and the cookie jar are internal (`reliable` is exposed
//! only with the `fuzzing` feature, for its fuzz target).
//!
//! ## Not implemented
//!
//! * Epoch data keys, asymmetric peer ids, auth-pending, actual
//!   compression (LZO/LZ4), OCC MTU probing (requests are ignored), OCC requests of our
//!   own in TLS mode (only on demand: `Session::send_occ_request`), `fragment` MTU test
//!   packets.
//! * The stateless handshake is for datagram transports; over TCP a server keeps state per
//!   connection (bounded as above).
//! * auth-token `external-auth` mode; no IPv6 pool; no max-sessions / duplicate-username
//!   policy hooks (the caller sees `PeerHello` and can close).
//! * Encrypted PEM keys, CRLs, `remote-cert-ku`/`remote-cert-eku` with explicit values,
//!   `verify-x509-name` of a subject in OpenVPN's legacy (`/C=../CN=..`) format.
//! * Flood tests of the `ovpn-server` example in the repo (UDP and TCP with a legitimate
//!   client during a flood, RSS bound): not written yet; the bounds above are unit- and
//!   pair-tested in the crate (`tests/hardening.rs`, `tests/stateless.rs`).
//! * The MS-CHAPv2 backend and RADIUS are the caller's (credential hook, deferred push,
//!   accounting events).
//! * Performance (`benches/compare_openssl.sh`, which measures `openssl speed -evp` and a
//!   per-packet OpenSSL EVP reference in the same run): AES-GCM is 1.7-2.9x `openssl speed`.
//!   The built-in ChaCha20-Poly1305 is ring's AVX2 code: 0.9-1.0x OpenSSL doing the same
//!   per-packet work at 1024 B, but 0.6x at 8192 B where OpenSSL uses AVX-512; with the
//!   `openssl-aead` provider 0.9-1.0x at both sizes. `openssl speed -evp` itself times a
//!   running stream (no nonce, AAD, final or tag per block), a figure a per-packet AEAD
//!   cannot reach at 1024 B: OpenSSL's own per-packet path gets about 0.4x of it.
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `ovpn::...`; fields `source`: the state machine, `kind`: the
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

pub mod config;
pub(crate) mod cookie;
pub mod crypto;
pub mod data;
pub mod error;
pub mod event;
pub mod fragment;
pub mod keymethod;
pub mod occ;
pub mod ovpnfile;
pub mod pool;
pub mod protect;
pub mod push;
pub mod ratelimit;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod reliable;
#[cfg(not(feature = "fuzzing"))]
pub(crate) mod reliable;
pub mod server;
pub mod session;
pub mod tls;
pub mod wire;

/// Re-exported so callers can implement the injected RNG without a direct dependency.
pub use rand_core;

pub use config::{Certificate, ClientConfig, Mode, Protocol, ServerConfig, UserAuthMethod};
pub use crypto::{Digest, KeyDirection, StaticKey};
pub use data::{AeadKey, AeadProvider, Cipher, Compression};
pub use error::{ConfigError, CryptoError, Error, WireError};
pub use event::{DownReason, DropReason, Event};
pub use protect::{TlsCryptV2ClientKey, TlsCryptV2Metadata, TlsCryptV2ServerKey, TlsCryptV2Verify};
pub use ratelimit::RateLimit;
pub use server::{Server, ServerInput, ServerLimits, SessionFactory, StatelessConfig};
pub use session::{
    AuthHook, AuthRequest, Input, Role, Session, SessionConfig, TlsFactory, WrapConfig,
};
pub use tls::{PeerVerify, RustlsEngine, TlsEngine, TlsMaterial, TlsVersion, X509Name};
