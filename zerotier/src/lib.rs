//! Sans-IO ZeroTier 1.x, part 1: **VL1**, the peer-to-peer transport. Identities, the packet
//! crypto (cipher suites 0, 1 and 3), fragmentation, worlds (planets/moons) and a [`Node`] that
//! talks to ZeroTierOne 1.14: HELLO to its roots, WHOIS, relaying through a root, RENDEZVOUS
//! and direct paths, keepalives, and the root role for leaves. No sockets, clock, threads or
//! OS randomness inside: the caller passes datagrams and `now`, and drains
//! [`Node::poll_transmit`] / [`Node::poll_event`] / [`Node::poll_timeout`].
//!
//! RouterOS: `/zerotier` instances (port 9993, identity, the peer list with roles and
//! latency; seed lines 1351-1612 via `../shared/spec/zerotier.md`). VL2 (networks, the
//! controller, Ethernet frames to a TAP) is issue #20: its data model is in [`vl2`] (the
//! network config dictionary, the typed [`NetworkConfig`](vl2::NetworkConfig), certificates of
//! membership, MAC and IPv6 derivation — read that module for how VL2 works), with the
//! controller's config issuing and the member's [`Membership`](vl2::Membership) as standalone
//! sans-IO objects that are not wired into the node yet. This crate decodes every VL2 verb and
//! hands them up as [`Event::Received`], and [`Node::send`] sends any verb, which is the whole
//! surface VL2 needs from VL1.
//!
//! # VL1 in one page
//!
//! Every node has an [`Identity`]: an X25519 key (agreement) and an Ed25519 key (signatures).
//! Its 40-bit [`Address`] is *derived* from the public keys by a memory-hard hash, so an
//! address cannot be claimed without the keys (and minting many costs ~16 hashes of 2 MiB
//! each). Two nodes share the key `SHA-512(X25519(a, B))[0..48]` without any handshake: the
//! first packet between them is already authenticated. Roots, listed in a signed [`World`]
//! (the planet), know every node and relay between nodes that cannot reach each other yet.
//!
//! ```text
//!  leaf a                          root (planet)                        leaf b
//!    | HELLO (suite 0: MAC only, identity,     |                           |
//!    |  our view of its address, planet id/ts)|                           |
//!    |--------------------------------------->|  new identity: validate   |
//!    |<----------------- OK(HELLO) -----------|  (memory-hard hash), reply|
//!    |<----------------- HELLO ---------------|  unknown path: confirm it |
//!    |------------------ OK(HELLO) ---------->|  an OK on a path = path   |
//!    |  path to root confirmed, ONLINE        |  confirmed (both sides)   |
//!    |                                        |                           |
//!    | WHOIS b ------------------------------>|                           |
//!    |<------------ OK(WHOIS) b's identity ---|                           |
//!    | ECHO (dest b) ------------------------>|-- relayed, hops 1 ------->| b: WHOIS a, then
//!    |<-------------- RENDEZVOUS b @ b's addr-|-- RENDEZVOUS a @ a's addr>| answers via root
//!    | 4 junk bytes (TTL 2) + HELLO ------------------------------------->| opens NATs
//!    |<------------------------------------------------------ OK(HELLO) --| direct path
//!    | ECHO ------------------------------------------------------------->| confirmed
//!    |<------------------------------------------------------- OK(ECHO) --|
//!    |  every 14 s of silence on a path: ECHO; every 60 s: a full HELLO;  |
//!    |  a path nothing arrived on for 243 s expires; a root without an    |
//!    |  alive path gets a HELLO to a stable endpoint every 5 s            |
//! ```
//! (This is the `tour`'s ZeroTier ladder and the interop test's sequence against ZeroTierOne.)
//!
//! # The packet ([`wire`])
//!
//! ```text
//!   0      8      13     18  19       27   28
//!   +------+------+------+---+--------+----+------------------------------+
//!   |  ID  | dest | src  |flg|  MAC   |verb| payload (LZ4 if verb & 0x80)  |
//!   +------+------+------+---+--------+----+------------------------------+
//!   flags: 0x40 more fragments follow | 0x38 cipher suite | 0x07 hops (only field relays change)
//!   fragment: ID(8) dest(5) 0xff total<<4|number hops data   (at most 7 pieces, no MAC of its own)
//! ```
//!
//! # The crypto ([`crypto`])
//!
//! ```text
//!   suite 0 (HELLO)  Poly1305 MAC only         key: K[0:32] ^ (ID, dest, src, flags&F8, len)
//!   suite 1          Salsa20/12 + Poly1305      nonce: ID; keystream[0:32] = Poly1305 key
//!   suite 3          AES-GMAC-SIV:  K0, K1 = KBKDF-HMAC-SHA384(K, '0' / '1')
//!                    tag = GMAC_K0(ID || 0, dest|src|flags&F8 padded to 16 || plaintext), folded to 64 bits
//!                    T = AES_K1(ID || tag); payload = AES-CTR_K1(T); ID := T[0:8], MAC := T[8:16]
//!   choice: suite 3 to peers that announced protocol >= 12, suite 1 before we know / to older ones;
//!   both accepted from anyone. Suite 2 (trusted path) is refused.
//! ```
//! AES-GMAC-SIV is composed from RustCrypto `aes`, `ctr` and `ghash`; every packet of the
//! ZeroTierOne 1.14.1 captures authenticates and decrypts (tests/captures.rs), and the
//! bench checks the output equals the same construction made from OpenSSL.
//!
//! # Driving a node
//!
//! ```
//! use std::time::Instant;
//! use rand_chacha::rand_core::SeedableRng;
//! use zerotier::{Identity, LocalSocket, Node, NodeConfig, Root, SigningKeyPair, World, WorldType};
//! use zerotier::wire::InetAddr;
//!
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let root = Identity::generate(&mut rng);        // CPU-heavy: do it once, store the secret form
//! let me = Identity::generate(&mut rng);
//! let key = SigningKeyPair::generate(&mut rng);
//! let planet = World::make(WorldType::Planet, 1, 1, key.public,
//!     vec![Root { identity: root.public_only(), endpoints: vec![InetAddr::Ip("192.0.2.1:9993".parse()?)] }], &key);
//! let now = Instant::now();
//! let mut node = Node::new(NodeConfig::new(me, planet), now, Box::new(rng))?;
//! // The caller's loop: timers, then datagrams out, events out.
//! if node.poll_timeout().is_some_and(|t| t <= now) { node.handle_timeout(now); }
//! let hello = node.poll_transmit(now).expect("a HELLO to the root");
//! assert_eq!(hello.dest.to_string(), "192.0.2.1:9993");
//! assert_eq!(hello.local, LocalSocket::Primary);
//! // ... send it; feed what arrives to node.handle_datagram(now, local, from, &bytes) ...
//! while let Some(_event) = node.poll_event() {}
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Randomness (packet IDs, the stable-endpoint pick, junk bytes) comes only from the RNG given
//! to [`Node::new`] (`Box<dyn CryptoRngCore + Send>`); identity and key generation take an RNG
//! argument. `now` must not go backwards.
//!
//! # What a stranger can make the node hold (bounded state, issue #24)
//!
//! Defaults in [`NodeConfig`]; every refusal is a counted [`DropReason`].
//! - **Fragments** (no MAC, anyone can send them): at most `max_reassembly` (32) partial
//!   packets of at most 7 pieces and 10,024 bytes each (~320 KiB), oldest evicted, each
//!   dropped after 5 s.
//! - **Packets from unknown addresses** (while a WHOIS asks a root): at most
//!   `max_whois_pending` (64) addresses x `max_queued_per_whois` (4) packets of at most
//!   10,024 bytes (~2.5 MiB), all dropped after 5 s.
//! - **Identity validation** (2 MiB transient, a few ms each): at most
//!   `identity_validations_per_second` (50) new identities per second; the packet's MAC is
//!   checked first, so only a sender that holds the identity's secret can cost one.
//! - **Peers**: only after a valid identity (hashcash-bound address) and an authentic packet;
//!   at most `max_peers` (4096, the least recently heard non-root replaced), each with at most
//!   `max_paths_per_peer` (64) paths; a path is learned only from an authenticated OK on it,
//!   a confirming HELLO goes to at most 16 new addresses per peer per second.
//! - **Replies**: the 1,024 most recent request IDs; an OK/ERROR matching none is dropped.
//!   Duplicates of the last 128 packet IDs per peer are dropped as replays.
//! - **RENDEZVOUS rate** (root role): 1,024 peer pairs, one introduction per pair per 30 s.
//! - **Worlds**: a planet update is taken only from a root, only if newer and signed by the
//!   current planet's `updatesMustBeSignedBy` key.
//!
//! # Implemented
//! - Identities: generation, validation, text and binary forms, `identity.secret` contents,
//!   agreement, signatures ([`identity`]); mkworld-style key pairs ([`SigningKeyPair`]).
//! - Worlds: decode, encode, sign, verify, update rule ([`world`]).
//! - Packet header, fragments (split and bounded reassembly), hop counting, LZ4 (lz4_flex:
//!   pure Rust, maintained, `safe-decode`/`safe-encode` so no `unsafe`, and the plain block
//!   format ZeroTierOne uses), suites 0/1/3 and HELLO's encrypted tail ([`wire`], [`crypto`],
//!   [`fragment`]).
//! - Verb codecs, byte-exact: HELLO, OK (HELLO, WHOIS, ECHO, NETWORK_CONFIG_REQUEST,
//!   NETWORK_CONFIG, MULTICAST_GATHER; others raw), ERROR, WHOIS, RENDEZVOUS, ECHO,
//!   PUSH_DIRECT_PATHS, FRAME, EXT_FRAME, MULTICAST_LIKE, NETWORK_CREDENTIALS (COMs decoded,
//!   the VL2 credential lists raw), NETWORK_CONFIG_REQUEST, NETWORK_CONFIG, MULTICAST_GATHER,
//!   MULTICAST_FRAME ([`wire::verbs`]).
//! - Node ([`node`]): HELLO/OK(HELLO) with latency and version, path learning and confirmation,
//!   ZeroTierOne's timers (14 s heartbeat, 60 s HELLO, 243 s path expiry, 5 s root retry,
//!   500 ms WHOIS retry, 5 s WHOIS give-up, 30 s unite interval, 600 s peer expiry, 500 s
//!   activity), roots as upstreams and the root role (relay up to 3 hops, WHOIS answers,
//!   RENDEZVOUS), PUSH_DIRECT_PATHS both ways, ECHO, primary and secondary sockets, planet
//!   updates through OK(HELLO), a deadline heap ([`timers`]).
//!
//! # Not implemented (yet)
//! - VL2 in the node: joining networks through [`Node`], the controller answering packets,
//!   frames to a TAP, multicast, the rules engine (issue #20). Done so far: [`vl2`]
//!   (dictionary, typed config, credentials, MAC/IPv6 derivation, controller config issuing,
//!   member config checking and status).
//! - Moons: their IDs are carried in HELLO, but moon roots are not followed.
//! - Cluster redirect and "forget path" flags of PUSH_DIRECT_PATHS, trusted paths (suite 2),
//!   multipath bonding (ACK, QOS_MEASUREMENT, PATH_NEGOTIATION_REQUEST are delivered raw),
//!   TCP fallback relay, UPnP/NAT-PMP (a third port).
//! - ZeroTierOne's quirk of re-WHOISing its root every 5 s is not copied.
//! - Data path: armor/dearmor work in place without allocation; building a packet in the
//!   node allocates one `Vec` per packet.
//!
//! ## Feature `tracing`
//! Off by default. With it, every `Node::poll_event` also emits a `tracing` event at debug
//! level (target `zerotier::node`; fields `source`: the state machine, `kind`: the event's
//! variant name; not its fields). The crate does no IO of its own either way: a subscriber
//! installed by the application decides where events go. The `Event`s stay the API.
#![forbid(unsafe_code)]

/// With the `tracing` feature, a `debug` event (field `kind`: the variant's name, `source`:
/// the state machine) for each event a `poll_event` hands out; nothing without it. Only the
/// variant's name is logged, not its fields: the `Event`s stay the API.
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

pub mod address;
pub mod config;
pub mod crypto;
pub mod error;
pub mod event;
pub mod fragment;
pub mod identity;
pub mod node;
pub mod timers;
pub mod vl2;
pub mod wire;
pub mod world;

pub use address::{Address, NetworkId};
pub use config::NodeConfig;
pub use crypto::{CipherSuite, PeerKey};
pub use error::{ConfigError, Error, ParseError, WireError};
pub use event::{DropReason, Event, Input, PeerSource};
pub use identity::{Identity, SigningKeyPair};
pub use node::{LocalSocket, Node, PeerInfo, Role, Stats, Transmit};
/// The RNG traits the node takes (re-exported so callers need no direct dependency).
pub use rand_core;
pub use world::{Root, World, WorldType, WorldUpdate};
