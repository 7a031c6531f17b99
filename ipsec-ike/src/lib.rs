//! Sans-IO IKEv2 (RFC 7296) and a userspace IPsec data plane (ESP RFC 4303, AH RFC 4302,
//! UDP encapsulation RFC 3948) with the RouterOS `/ip ipsec` object model: the caller owns
//! the sockets, the TUN device, the clock and the random source.
//!
//! An embedder needs this where the kernel has no XFRM ESP (this project's CI host has none),
//! or wants one process to negotiate and carry IPsec in any runtime.
//!
//! # IKEv2 in one page
//!
//! Two exchanges set up an IKE SA and the first Child SA (the ESP SA pair); every later
//! exchange is a request/response pair protected by the IKE SA (window size 1: one request
//! outstanding per direction; the requester retransmits, the responder replays its cached
//! answer, RFC 7296 2.1-2.3).
//!
//! ```text
//!  initiator (site-a, UDP 500)                               responder (site-b, UDP 500)
//!  HDR(SPIi, SPIr=0, IKE_SA_INIT, I, MID 0),
//!    SAi1 (proposals: ENCR, PRF, INTEG, DH), KEi (g^i), Ni,
//!    N(NAT_DETECTION_SOURCE_IP = SHA1(SPIi|SPIr|IP|port)), N(NAT_DETECTION_DESTINATION_IP),
//!    N(IKEV2_FRAGMENTATION_SUPPORTED), N(SIGNATURE_HASH_ALGORITHMS)  ------------------->
//!                                    (under load: <-- N(COOKIE); the request is repeated
//!                                     with the cookie first, 2.6; wrong group:
//!                                     <-- N(INVALID_KE_PAYLOAD, group), 1.2)
//!     <------------------- HDR(SPIi, SPIr, R), SAr1 (one transform per type), KEr, Nr, N(NAT_D..)
//!  both: SKEYSEED = prf(Ni|Nr, g^ir); SK_d SK_ai SK_ar SK_ei SK_er SK_pi SK_pr = prf+(SKEYSEED,
//!        Ni|Nr|SPIi|SPIr)  (2.14); a NAT_D mismatch moves both to UDP 4500 with a 4-byte zero
//!        "non-ESP marker" before every IKE message (2.23)
//!  HDR(IKE_AUTH, MID 1), SK{ IDi, [CERT], [CERTREQ], N(INITIAL_CONTACT), [IDr], AUTH,
//!    [CP(CFG_REQUEST)], SAi2 (ESP proposals, SPI = our inbound SPI), TSi, TSr }  --------->
//!     <---------------- HDR(IKE_AUTH, R, MID 1), SK{ IDr, [CERT], AUTH, [CP(CFG_REPLY)],
//!                                         SAr2 (responder's SPI), TSi, TSr (narrowed, 2.9) }
//!  AUTH (2.15) signs RealMessage1|Nr|prf(SK_pi, IDi): PSK: prf(prf(secret,"Key Pad for
//!  IKEv2"), octets); certificates: RSA/ECDSA signature (RFC 7427 when both sent
//!  SIGNATURE_HASH_ALGORITHMS). Child keys (2.17): KEYMAT = prf+(SK_d, Ni|Nr): encr_i, integ_i,
//!  encr_r, integ_r.
//!
//!  ESP (UDP 4500 after NAT detection): SPI | seq | IV | enc(packet | pad 1,2,3.. | padlen | nh) | ICV
//!
//!  CREATE_CHILD_SA: SK{ N(REKEY_SA, old SPI), SA, Ni, [KEi for PFS], TSi, TSr } -> SK{ SA, Nr,
//!    [KEr], TSi, TSr }; KEYMAT = prf+(SK_d, g^ir(new)|Ni|Nr); then INFORMATIONAL SK{ D(old) }.
//!  IKE SA rekey: SK{ SA(new SPI), Ni, KEi } -> SK{ SA, Nr, KEr }; SKEYSEED = prf(SK_d(old),
//!    g^ir(new)|Ni|Nr) (2.18); the Child SAs move; the old IKE SA is deleted.
//!  Both sides rekeying the same SA at once (2.8.1): both exchanges complete; the SA made by the
//!    exchange with the lowest of the four nonces is redundant and its initiator deletes it.
//!  INFORMATIONAL: SK{ } is liveness (dead peer detection after `dpd-interval` of silence);
//!    SK{ D } deletes SAs.
//! ```
//!
//! The code follows that ladder: [`wire`] (header, payloads, proposals, TS, notify, SK/SKF),
//! [`crypto`] (PRFs, prf+, key schedule, encryption, DH groups), [`sk`] (SK protection and
//! RFC 7383 fragments), [`auth`] (signed octets, PSK, signatures, X.509), [`ike`] (the
//! engine: [`Ike`]), [`esp`]/[`ah`]/[`replay`] (data plane), [`spd`] and [`config`] (the
//! RouterOS object model), [`cookie`].
//!
//! # IKE SA states
//!
//! ```text
//!  initiator:  connect --> InitSent --(INIT resp)--> AuthSent --(AUTH resp ok)--> Established
//!  responder:  (INIT req) --> HalfOpen (30 s) --(AUTH req ok)--> Established
//!  Established --(our Delete)--> Deleting --(answer)--> gone
//!  any --(retransmits exhausted / peer Delete / AUTH failure / hard lifetime)--> gone
//!  Established --(rekey)--> replaced by a new IKE SA holding the Child SAs
//! ```
//!
//! # Driving loop
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Instant;
//! use ipsec_ike::config::*;
//! use ipsec_ike::{Event, Ike, Input};
//! use rand_chacha::rand_core::SeedableRng;
//!
//! fn site(peer: &str, peer_ip: &str, local: &str, remote: &str) -> IpsecConfig {
//!     let mut c = IpsecConfig::default();
//!     c.peers.push(Peer { name: peer.into(), address: format!("{peer_ip}/32").parse().unwrap(),
//!                         exchange_mode: ExchangeMode::Ike2, ..Peer::default() });
//!     c.identities.push(Identity::psk(peer, "secret"));
//!     c.policies.push(Policy { src_address: local.parse().unwrap(), dst_address: remote.parse().unwrap(),
//!                              tunnel: true, peer: peer.into(), ..Policy::default() });
//!     c
//! }
//! let now = Instant::now();
//! let (a_addr, b_addr): (SocketAddr, SocketAddr) = ("192.0.2.1:500".parse()?, "192.0.2.2:500".parse()?);
//! let rng = |s| Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(s));
//! let mut a = Ike::new(site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24"), Default::default(), a_addr.ip(), now, rng(1))?;
//! let mut b = Ike::new(site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24"), Default::default(), b_addr.ip(), now, rng(2))?;
//! a.connect(now, "b", None)?;
//! // The caller's loop: move datagrams (an in-memory "network" here), then poll events/timers.
//! for _ in 0..4 {
//!     while let Some(t) = a.poll_transmit(now) { assert_eq!(b.handle_datagram(now, t.remote, t.local, &t.payload), Input::Handled); }
//!     while let Some(t) = b.poll_transmit(now) { a.handle_datagram(now, t.remote, t.local, &t.payload); }
//! }
//! let mut up = false;
//! while let Some(e) = a.poll_event() { up |= matches!(e, Event::ChildSaUp { .. }); }
//! assert!(up);
//! // A packet from 10.1.0.5 to 10.2.0.7 now leaves as ESP.
//! let mut pkt = vec![0u8; 40];
//! pkt[0] = 0x45; pkt[3] = 40; pkt[9] = 17;
//! pkt[12..16].copy_from_slice(&[10, 1, 0, 5]); pkt[16..20].copy_from_slice(&[10, 2, 0, 7]);
//! let mut out = [0u8; 200];
//! assert!(matches!(a.encapsulate(now, &pkt, &mut out)?, ipsec_ike::Outbound::Protected { .. }));
//! let next_wakeup = a.poll_timeout(); // DPD, lifetimes: call a.handle_timeout(t) then
//! assert!(next_wakeup.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Method groups of [`Ike`] (quinn-proto style): getters (`stats`, `ike_sas`, `esp_in`, `spd`,
//! ...), inputs (`handle_datagram`, `handle_timeout`), commands (`connect`, `rekey_child`,
//! `rekey_ike`, `close`), data plane (`encapsulate`, `decapsulate_in_place`), outputs
//! (`poll_transmit`, `poll_event`, `poll_timeout`: poll until `None`, in that order, after
//! every input). Time must not go backwards. Randomness: one `Box<dyn CryptoRngCore + Send>`
//! given to [`Ike::new`] (SPIs, nonces, DH keys, IVs, cookie secrets).
//!
//! # What a stranger can make the responder hold (issue #24)
//!
//! - **Half-open IKE SAs**: at most `settings.half_open_limit` (default 1000) in total and
//!   `half_open_per_source` (default 5) per source address (IPv4 /32, IPv6 /64); each lives at
//!   most `half_open_timeout` (30 s) and holds about 7 KiB at worst (a copy of the request,
//!   bounded to [`ike::MAX_INIT_REQUEST`] = 4096 bytes, our response, keys), so the bound is
//!   about 7 MiB. Above `cookie_threshold` (default 10) half-open SAs, every IKE_SA_INIT must
//!   echo a stateless cookie (RFC 7296 2.6): spoofed sources create no state at all.
//! - **Per message**: at most [`wire::MAX_PAYLOADS`] payloads and [`wire::MAX_ITEMS`]
//!   proposals/transforms/selectors/attributes are decoded.
//! - **Fragments** (RFC 7383): only authenticated SKF fragments of an IKE SA that finished
//!   IKE_SA_INIT are kept, at most [`sk::MAX_FRAGMENTS`] per message and
//!   [`sk::MAX_REASSEMBLED`] bytes, one message at a time per IKE SA.
//! - **Established IKE SAs**: at most `settings.max_ike_sas` (10,000), only after
//!   authentication.
//! - **CPU**: each accepted IKE_SA_INIT costs one DH; cookies make the source prove its
//!   address first, and the per-source half-open limit caps a real address.
//! - **Replies**: one response datagram per request (no retransmission by a responder), so
//!   reflection is at most about 1x in packets (a cookie reply is shorter than the request).
//!
//! # Implemented
//! - Codecs of every IKEv2 payload (SA/proposals/transforms/attributes, KE, IDi/IDr, CERT,
//!   CERTREQ, AUTH, Nonce, Notify, Delete, VID, TSi/TSr, SK, CP, EAP, SKF), byte-exact on
//!   every packet of the strongSwan captures (`shared/captures/ike`), typed errors.
//! - Crypto: PRF HMAC-MD5/SHA1/SHA2-256/384/512 and AES128-XCBC; integrity HMAC-*-96/128/192/256
//!   and AES-XCBC-96; encryption AES-CBC/CTR/GCM (128/192/256; GCM 16- and 12-byte ICV), 3DES,
//!   DES, NULL (ESP); DH MODP 768-8192, ECP 256/384/521, Curve25519; the RFC 7296 key
//!   schedule, reproducing strongSwan's logged keys byte for byte.
//! - IKE_SA_INIT with cookies, half-open limits, INVALID_KE, NAT detection; IKE_AUTH with PSK
//!   and RSA/ECDSA certificates (chain to trusted CAs, SKI required, ID in the certificate,
//!   remote-certificate pinning); identity selection (remote-id, match-by); IDr check.
//! - EAP in IKE_AUTH ([`eap`]): EAP-MSCHAPv2 client (`auth-method=eap`), built-in
//!   EAP-MSCHAPv2 server, and the passthrough to a caller's [`eap::EapBackend`]
//!   (`auth-method=eap-radius`; a RADIUS client plugs in there), MSK-based AUTH.
//! - Child SAs with TS narrowing against policies or templates (generate-policy), transport
//!   or tunnel mode; mode config (address, DNS, split include, RFC 8598 + Unity split DNS).
//! - CREATE_CHILD_SA rekeys of Child and IKE SAs with PFS, including simultaneous rekeys;
//!   INFORMATIONAL delete and DPD; soft/hard lifetimes (time, and bytes on ESP SAs);
//!   retransmission with doubling timeouts; response replay; RFC 7383 fragmentation.
//! - NAT-T: port 4500 float, non-ESP marker, UDP-encapsulated ESP, keepalives every 20 s;
//!   `force_encap`.
//! - ESP and AH data plane with ESN, anti-replay, padding/TFC checks, XFRM-class drop
//!   counters, SPD (first match, actions, levels, IKE bypass) and SAD lookups.
//! - Interop: strongSwan 5.9.8 both roles, PSK, certificates and EAP-MSCHAPv2, ESP through its userspace
//!   data path, a rekey during traffic; scapy re-encrypts our ESP byte-exact.
//!
//! # Not implemented (yet)
//! - Most of IKEv1 (issue #18): [`v1`] has the ISAKMP codec, the RFC 2409 key schedule,
//!   hashes and CBC IV chains (checked against a strongSwan capture) and a standalone
//!   [`v1::session::Session`] for main or aggressive mode PSK + one quick mode (PFS
//!   optional) with NAT-T (tunnel and transport mode with NAT-OA), DPD, deletes, XAuth (generic) and mode config; not
//!   done: signatures, hybrid auth, rekeys, lifetime-check modes, and wiring IKEv1 into [`Ike`] and the RouterOS object model
//!   ([`Ike`] speaks IKEv2 only).
//! - EAP methods other than EAP-MSCHAPv2 on the client side (PEAP, TLS, TTLS need a TLS
//!   engine), EAP-only responder authentication (RFC 5998: the responder always signs with its
//!   certificate first), several eap-methods tried in order.
//! - Negotiating AH Child SAs over IKE (`ipsec-protocols=ah`): the AH data plane ([`ah`]) is
//!   there for manually keyed SAs; the engine proposes and accepts ESP only.
//! - The IKEv1-only settings (`dpd-maximum-failures`, `lifebytes` and `proposal-check` of a
//!   profile, `nat-traversal`) are kept in the model and not read (RouterOS ignores them for
//!   IKEv2, L1289).
//! - RFC 4478 reauthentication, MOBIKE, IPv6 in transport-mode helpers and AH, IPComp, the
//!   Blowfish/Camellia/Twofish ciphers, proposal-check (IKEv1 only), RADIUS accounting.
//! - ESP without UDP encapsulation is produced by the engine (`Outbound::Protected { udp:
//!   false }`) but the `ike` example only sends ESP-in-UDP (`force_encap`).
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `ipsec_ike::...`; fields `source`: the state machine, `kind`: the
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

pub mod ah;
pub mod auth;
pub mod config;
pub mod cookie;
pub mod crypto;
pub mod eap;
pub mod error;
pub mod esp;
pub mod event;
pub mod ike;
pub mod replay;
pub mod sk;
pub mod spd;
pub mod v1;
pub mod wire;

pub use error::{ConfigError, CryptoError, Error, WireError};

pub use event::{ChildDownReason, ChildId, DownReason, DropReason, Event, IkeSaId};
pub use ike::{Ike, Inbound, Input, Outbound, Stats, Transmit};
/// The RNG traits the engine takes (re-exported so callers need no direct dependency).
pub use rand_core;
