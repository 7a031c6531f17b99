//! Sans-IO WireGuard: message codecs, the Noise_IKpsk2 handshake, cookies, transport data, the
//! timer state machine, and a multi-peer [`Device`] with cryptokey routing, all driven by the
//! caller's clock (`now: Instant` in every call, [`Device::poll_timeout`] for the next deadline).
//! No sockets, no TUN, no clock, no OS randomness inside: the caller owns them.
//!
//! Feature set: RouterOS `/interface wireguard` and `/interface wireguard peers` (defaults in
//! [`InterfaceConfig`], [`PeerConfig`]), interoperating with wireguard-go, boringtun and the Linux kernel (see the tests).
//!
//! # The protocol in one page (whitepaper sections 5 and 6)
//!
//! Every peer has a static X25519 key pair; peers know each other's public keys in advance.
//! A 1-RTT handshake (two messages) derives a pair of symmetric keys, one per direction; data
//! then flows in Transport Data messages. All messages are UDP datagrams ([`wire`]):
//!
//! ```text
//!  type  name                  length  carries
//!   1    Handshake Initiation  148     sender index, ephemeral pub, AEAD(static pub), AEAD(TAI64N), mac1, mac2
//!   2    Handshake Response     92     sender + receiver index, ephemeral pub, AEAD(empty), mac1, mac2
//!   3    Cookie Reply           64     receiver index, nonce, XAEAD(cookie)
//!   4    Transport Data       >=32     receiver index, counter, AEAD(IP packet padded to 16)
//! ```
//!
//! ## The handshake, message by message (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s)
//!
//! Two running values: the chaining key `C` (every DH result is mixed in with `KDF`) and the
//! transcript hash `H` (every public value and ciphertext is hashed in; it is the AD of each
//! AEAD, so any tampering breaks the next tag). Both start from
//! `C = HASH("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")`, `H = HASH(HASH(C || "WireGuard v1 zx2c4
//! Jason@zx2c4.com") || S_r.pub)` — the initiator already knows the responder's static key.
//! See [`noise`] for the exact formulas.
//!
//! 1. **Initiation** (initiator -> responder). A fresh ephemeral key `E_i`. Key for the
//!    encrypted static: from `DH(E_i, S_r)` (only the responder can open it, and learns *who* is
//!    calling). Key for the encrypted timestamp: from `DH(S_i, S_r)` (proves the initiator holds
//!    `S_i`). The TAI64N timestamp must be newer than the last one accepted from that peer, so a
//!    replayed initiation is ignored; initiations are also limited to one per 20 ms per peer.
//! 2. **Response** (responder -> initiator). A fresh `E_r`; `C` absorbs `DH(E_r, E_i)` (forward
//!    secrecy) and `DH(E_r, S_i)` (authenticates the responder), then the preshared key `Q`
//!    (`KDF3`, 32 zero bytes when unset: an optional post-quantum layer). The empty AEAD proves
//!    the responder derived the same `C`.
//! 3. **Keys**: `(T_send, T_recv) = KDF2(C, "")` (the responder's are swapped). The initiator can
//!    send at once; the responder keeps the new keypair in the *next* slot until the first
//!    transport packet from the initiator confirms it (the initiator sends a keepalive right
//!    away when it has nothing else to send).
//!
//! mac1 (`MAC(HASH("mac1----" || S_receiver.pub), msg)`) lets a receiver drop junk without any
//! DH. Under load ([`LoadPolicy`]), a receiver also demands mac2, keyed with a cookie bound to the
//! sender's IP and port and to a secret rotated every 120 s; without it, it answers with a Cookie
//! Reply instead of doing DH work ([`cookie`]).
//!
//! ## An annotated exchange (the tour's ladder; the real captures look the same)
//!
//! ```text
//!   time     client (51820)         server (13231)
//!   1.000s   ---- Initiation sender=0x89025cc1 ---->    E_i, AEAD(S_i), AEAD(TAI64N); mac1 with server's key
//!   1.010s   <--- Response sender=0x1c9756ce receiver=0x89025cc1   server: keypair in `next`
//!   1.020s   ---- Data receiver=0x1c9756ce counter=0 (the staged ping, 84 -> 96 bytes) -->
//!            client: handshake complete (initiator)    server: `next` confirmed -> `current`
//!   1.030s   <--- Data receiver=0x89025cc1 counter=0 (echo reply)
//!  13.020s   ---- Keepalive counter=3 (client received data, sent nothing for 10 s) ---->
//! 125.000s   ---- Data counter=4 ... keypair older than 120 s: ---->
//! 125.000s   ---- Initiation sender=0x01564f61 (rekey, initiator side) ---->
//! 125.010s   <--- Response ... ; 125.020s ---- Keepalive on the new keypair ---->
//! ```
//!
//! # Timers (whitepaper 6; names as in wireguard-go `timers.go`)
//!
//! All in [`Device::handle_timeout`], from `now` only; [`Device::poll_timeout`] is the exact
//! earliest deadline of all peers, kept in a deadline heap (O(1) to ask, amortised O(log n)
//! per change, whatever the number of peers).
//!
//! ```text
//!  event                              timer effect
//!  initiation sent                    retransmit at +5 s + jitter(0..334 ms), counting retries;
//!                                     when the timer fires with retries > MaxTimerHandshakes
//!                                     (18), give up: 19 retries (20 initiations) have gone
//!                                     out, 100..106.7 s after the first (wireguard-go and
//!                                     Linux count the same); drop staged packets, stop the
//!                                     keepalive timer, arm the wipe
//!  handshake complete                 retransmit off, attempts = 0
//!  session derived                    key wipe at +540 s (3 x RejectAfterTime)
//!  data received                      send keepalive at +10 s unless we send something first
//!  data sent                          new handshake at +15 s + jitter unless anything arrives
//!  any authenticated packet (tx/rx)   persistent keepalive at +N s (when configured)
//!  sending, keypair > 120 s old       (initiator of that keypair) start a rekey
//!  sending, > 2^60 messages sent      (either role, as wireguard-go and Linux) start a rekey
//!  receiving, keypair > 165 s old     (initiator) one "last minute" rekey
//!  keypair >= 180 s old               not used to send or receive any more
//! ```
//!
//! ```text
//!                 data to send, no keypair
//!   [no session] --------------------------> [initiating] --retransmit x19--> [gave up]
//!        ^                                      | response                      | 540 s
//!        | 540 s wipe                           v                               v
//!        +---------------------------------- [session] <------ rekey -----  [wiped]
//!                                    (current/previous/next keypairs; rekey at 120 s)
//! ```
//!
//! # Driving loop
//!
//! ```
//! use std::time::{Duration, Instant};
//! use rand_chacha::rand_core::SeedableRng;
//! use wireguard::{Device, InterfaceConfig, Key, Output, PeerConfig};
//!
//! let now = Instant::now();
//! let wall = Duration::from_secs(1_780_000_000); // caller's wall clock (TAI64N timestamps)
//! let rng = |s| Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(s));
//! let (ka, kb) = (Key([1; 32]), Key([2; 32]));
//! let mut a = Device::new(&InterfaceConfig { private_key: Some(ka), ..Default::default() }, rng(1), now, wall)?;
//! let mut b = Device::new(&InterfaceConfig { private_key: Some(kb), ..Default::default() }, rng(2), now, wall)?;
//! let mut pa = PeerConfig::new(kb.public_key());
//! pa.endpoint_address = Some("192.0.2.2".into());
//! pa.endpoint_port = Some(13231);
//! pa.allowed_address = vec!["10.0.0.2/32".parse()?];
//! a.add_peer(now, &pa)?;
//! let mut pb = PeerConfig::new(ka.public_key());
//! pb.allowed_address = vec!["10.0.0.1/32".parse()?];
//! b.add_peer(now, &pb)?;
//!
//! // An IPv4 packet 10.0.0.1 -> 10.0.0.2 from A's TUN: no session yet, so it is staged.
//! let mut pkt = vec![0u8; 28];
//! pkt[0] = 0x45; pkt[3] = 28; pkt[12..16].copy_from_slice(&[10, 0, 0, 1]); pkt[16..20].copy_from_slice(&[10, 0, 0, 2]);
//! let mut buf = [0u8; 2048];
//! assert_eq!(a.encapsulate(now, &pkt, &mut buf)?, Output::Done);
//!
//! // The caller's loop: move datagrams, deliver packets, then re-arm the timer.
//! let (addr_a, addr_b) = ("192.0.2.1:51820".parse()?, "192.0.2.2:13231".parse()?);
//! let mut delivered = None;
//! for _ in 0..4 {
//!     while let Some(t) = a.poll_transmit(now) {
//!         if let Output::Deliver { len, .. } = b.handle_datagram(now, addr_a, &t.payload, &mut buf)? {
//!             delivered = Some(buf[..len].to_vec());
//!         }
//!     }
//!     while let Some(t) = b.poll_transmit(now) {
//!         a.handle_datagram(now, addr_b, &t.payload, &mut buf)?;
//!     }
//! }
//! assert_eq!(delivered.as_deref(), Some(&pkt[..]));
//! while let Some(ev) = a.poll_event() { let _ = ev; /* HandshakeInitiated, HandshakeComplete */ }
//! let next_wakeup = a.poll_timeout(); // call a.handle_timeout(t) when it passes
//! assert!(next_wakeup.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Implemented
//! - Codecs of the four messages with exact length checks, typed errors ([`wire`]).
//! - Handshake in both roles, optional PSK, TAI64N replay check, 20 ms initiation rate limit,
//!   all-zero DH rejection ([`noise`]); verified against wireguard-go, boringtun and Linux captures
//!   and in-process against boringtun.
//! - mac1/mac2, cookie replies (XChaCha20-Poly1305), secret rotation every 120 s, under-load
//!   policy `Never`/`Always`/`Auto` ([`cookie`], [`LoadPolicy`]).
//! - Transport data with padding to 16 (never beyond the MTU), keepalives, the 8128-packet
//!   anti-replay window (`replay.rs`), previous/current/next keypairs with responder
//!   confirmation, every whitepaper timer.
//! - Device: cryptokey routing (IPv4/IPv6 longest prefix, [`AllowedIps`]) out and in, roaming on
//!   authenticated packets only (not cookie replies), responder-only peers, per-peer rx/tx,
//!   last handshake, typed and counted drop reasons ([`DropReason`]), `running`/`disabled`.
//! - Config with RouterOS defaults, base64 keys, key generation, wg-quick import/export
//!   (interface addresses keep their host part: `Address = 192.168.88.3/24` stays so, see
//!   [`InterfaceAddress`]; allowed addresses are routing prefixes, [`IpPrefix`]) (a
//!   leading `#` comment is accepted, unlike RouterOS's `wg-import`), the RouterOS
//!   `property: value` peer form and the RouterOS client export with AllowedIPs fixed to
//!   `0.0.0.0/0, ::/0` ([`WgQuick`], [`PeerConfig::from_routeros`]).
//! - Data path into caller buffers without allocation; `BufferTooSmall { need, have }` leaves the
//!   buffer untouched. Zero-copy variants [`Device::encapsulate_in_place`] (packet read at
//!   offset 16, sealed in place) and [`Device::handle_datagram_in_place`] (opened in place,
//!   packet at offset 16); the `wg` example uses them against wireguard-go, boringtun-cli and
//!   the Linux kernel.
//! - Run-time reconfiguration: [`Device::remove_peer`] (index, routing and key cleanup; ids are
//!   never reused), [`Device::update_peer`] and the `set_peer_*` setters (allowed-address with
//!   the overlap rule, endpoint, preshared key, persistent-keepalive, responder, disabled); a
//!   public-key change is remove + add, as in RouterOS.
//! - Under-load detection ([`LoadPolicy::Auto`], default 1000 handshake messages per second;
//!   load holds for a second after the last message above the rate).
//! - Per-source handshake rate limiter under load (20/s, burst 5, per IPv4 address / IPv6 /64,
//!   as Linux; [`ratelimiter`]), after the cookie check.
//! - Deadline heap: [`Device::poll_timeout`] in O(1), timer upkeep amortised O(log n) peers.
//!
//! # Performance (see the crate's `benches/`)
//! - Transport data uses `ring`'s ChaCha20-Poly1305 (AVX2 here; RustCrypto's measured about
//!   3.5x slower on 1424-byte seals), the same AEAD `boringtun` uses. Encapsulate + decapsulate
//!   of 1420-byte packets through a [`Device`] (routing by allowed address, peer by index,
//!   inbound source check) runs 1.06-1.08x `boringtun` doing the same per-packet work (its
//!   `Tunn` plus the `AllowedIps` and index lookups of its own device); against a bare `Tunn`,
//!   which does no routing, it runs at parity, 0.96-1.00x (about 90 % of the time is the AEAD
//!   on both sides, so no wrapper can be much faster); the per-packet path compares precomputed instants, scans the peer's own
//!   prefixes for the inbound source check, skips the timer heap when no timer changed, and
//!   allocates nothing.
//! - Handshakes: X25519 through curve25519-dalek's Edwards form (its AVX2 backend; ladder
//!   fallback for twist points), the static-static DH, the initial chaining key/hash and each
//!   key's initial transcript hash precomputed, and per peer a fixed-base table of the peer's
//!   static key (30 KiB, for the first [`DEFAULT_MAX_PEER_TABLES`] peers) so
//!   `DH(E, S_peer)` costs a fixed-base multiplication: the responder does 2 variable-base
//!   and 2 fixed-base multiplications per handshake.
//!   `cargo bench -p rosproto-wireguard --bench ratio` runs both implementations in alternating batches
//!   and prints the ratio.
//!
//! # Pluggable transport AEAD (rustls `CryptoProvider` style)
//! The ChaCha20-Poly1305 of transport data messages can come from outside: implement
//! [`aead::AeadProvider`] (a factory of keyed [`aead::AeadKey`]s that seal and open in place)
//! and give it to the device with [`Device::set_aead_provider`] right after [`Device::new`].
//! The crate keeps the framing (index, counter, nonce, padding, replay window, rekeying) and the
//! handshake; the provider only runs the cipher, once per packet, in the caller's buffer.
//! Without one, ring's code runs directly; [`aead::RingProvider`] is the same code behind the
//! trait, for wrapping. Typical providers: OpenSSL (its AVX-512 ChaCha20-Poly1305), a
//! FIPS-validated module, an offload engine. The [`aead`] module shows a counting provider.
//!
//! # Not implemented
//! - Resolving endpoint host names (the caller resolves and calls [`Device::set_peer_endpoint`]).
//! - Batching/GSO, multiple threads (the caller may run one device per core).
//! - IPv6 underlay in the `wg` example's pcap output (the crate itself is address-agnostic).
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `wireguard::...`; fields `source`: the state machine, `kind`: the
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

mod allowed_ips;
mod config;
mod device;
mod error;
mod event;
mod fasthash;
pub(crate) mod replay;

// Building blocks kept public on purpose, for conformance testers, fuzzers and other
// implementations: the message codecs, the Noise handshake steps, mac1/mac2 and cookies, the
// primitives of whitepaper section 5.4, and the per-source token bucket. They follow the
// whitepaper's names and are covered by the known-answer tests against real captures.
pub mod aead;
pub mod cookie;
pub mod crypto;
pub mod noise;
pub mod ratelimiter;
pub mod wire;

pub use allowed_ips::{AllowedIps, IpPrefix};
pub use config::{
    max_tunnel_mtu, InterfaceAddress, InterfaceConfig, Key, PeerConfig, WgInterface, WgPeer,
    WgQuick, DEFAULT_LISTEN_PORT, DEFAULT_MTU, OVERHEAD_V4, OVERHEAD_V6,
};
pub use device::{
    Device, LoadPolicy, Output, PeerStats, Stats, Transmit, DEFAULT_MAX_PEER_TABLES,
    HANDSHAKE_INITIATION_RATE, KEEPALIVE_TIMEOUT, MAX_STAGED, MAX_TIMER_HANDSHAKES,
    REJECT_AFTER_TIME, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME, REKEY_ATTEMPT_TIME, REKEY_TIMEOUT,
    REKEY_TIMEOUT_JITTER_MAX_MS,
};
pub use error::{ConfigError, Error, WireError};
pub use event::{DropReason, Event};
/// The RNG traits the device takes (re-exported so callers need no direct dependency).
pub use rand_core;
pub use ratelimiter::RateLimiter;

/// Index of a peer inside its [`Device`] (in order of [`Device::add_peer`]; the index of a
/// removed peer is never given to another).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub usize);
