//! VL2: virtual Ethernet networks on top of VL1 — the data model and its codecs.
//!
//! # Networks and controllers
//!
//! A ZeroTier **network** is a virtual Ethernet switch identified by a 64-bit network ID
//! (16 hex digits). Its top 40 bits are the address of the network's **controller**, the node
//! that decides who may join and what each member gets; the low 24 bits number the networks of
//! that controller (`74beb2463d000097` is network `000097` of controller `74beb2463d`). A
//! controller is an ordinary VL1 node (RouterOS `/zerotier/controller`); it need not be a root.
//!
//! ```text
//!   member b                                          controller 74beb2463d
//!     | NETWORK_CONFIG_REQUEST nwid, metadata dict  ------>|  member known? authorized?
//!     |                                                    |  (private network: the admin
//!     |                                                    |   authorizes; public: anyone)
//!     |<--- OK(NETWORK_CONFIG_REQUEST) config dict chunk --|  assign an IP from ip-range,
//!     |     (signed by the controller, LZ4, possibly split |  routes, rules, COM, sign
//!     |      into chunks by byte offset)                   |
//!     |<--- NETWORK_CONFIG (pushed on every change) -------|
//!     |  or ERROR(NETWORK_CONFIG_REQUEST) code 7 ACCESS_DENIED / 3 OBJ_NOT_FOUND
//! ```
//! The member re-requests periodically; every config carries a fresh timestamp.
//!
//! # The config dictionary ([`dictionary`], [`netconf`])
//!
//! The config travels as a [`Dictionary`]: `key=value` lines with binary values escaped
//! (`\0 \r \n \\ \e` for NUL, CR, LF, backslash and `=`). Numbers are hex; binary values hold
//! the COM, routes, static IPs, rules and DNS. [`NetworkConfig`] is the typed view
//! (`n` name, `mtu` 2800, `ml` multicast limit 32, `f` flags with 0x2 broadcast, `t`
//! private/public, `I` the member's managed IPs, `RT` routes, `R` rules, `C` the COM, ...). The
//! member stores it as `networks.d/<nwid>.conf`; the test suite checks that the dictionary the
//! real controller sent equals that file byte for byte and decodes to 10.97.100.132/24, mtu
//! 2800, multicast limit 32, broadcast on, a private network named `zt-hidden-lab`.
//!
//! Each chunk is signed by the controller: the 96-byte signature covers the chunk's network ID,
//! length, data, flags, update ID, total length and offset, as serialized in the packet.
//!
//! # Certificates of membership ([`com`])
//!
//! Members talk to each other directly, so each must prove to the other that the controller
//! admitted it. The config includes a **certificate of membership** — (id, value, max delta)
//! qualifiers for the timestamp, the network ID and the member's address and identity hash,
//! signed by the controller. Members push their COM (NETWORK_CREDENTIALS) before frames; the
//! receiver checks the signature against the controller's identity and that the two COMs
//! *agree*: same network, timestamps no further apart than the credential time max delta
//! (`ctmd`, 30 minutes by default), identity hash matching the sender. A member whose config is
//! no longer refreshed (deauthorized) falls out of agreement after `ctmd`.
//!
//! # Ethernet addresses ([`derive`](mod@derive))
//!
//! A member's MAC on a network is derived, not random: first octet from the network ID's low
//! byte (locally administered, unicast), the other five the node address XOR five bytes of the
//! network ID. So every member can map a destination MAC back to a ZeroTier node without ARP
//! to a server (node a `67681252b5` on `74beb2463d000097` is `96:67:68:2f:14:07`). Two
//! optional IPv6 schemes are also computed, not assigned: **rfc4193** (`fd` + network ID +
//! `9993` + node address, one /128 per member in a /88) and **6plane** (`fc` + 32-bit hash of
//! the network ID + node address, a /80 per member inside a /40).
//!
//! # The controller ([`controller`])
//!
//! [`Controller`] holds RouterOS-style [`NetworkSettings`] (ip-range, routes, private, mtu,
//! multicast limit, broadcast, ip6-rfc4193, ip6-6plane) and member records as plain data, and
//! answers a config request with [`ConfigAnswer`]: NotFound, AccessDenied (private network,
//! member not authorized), or a config — an IPv4 address picked from the range the way
//! ZeroTierOne does (so the captures' members get the same 10.97.100.109 and .132), the IPv6
//! addresses, routes, a certificate of ownership of those addresses and a COM, both freshly
//! signed — cut into signed chunks. Given the captured controller's clock, our controller's
//! dictionary equals the one ZeroTierOne's sent, byte for byte. The member's
//! [`ConfigAssembler`] checks every chunk's signature, reassembles by offset (bounded), and
//! accepts the config only for its network, issued to it, with a COM from the controller.
//!
//! # What is here and what is not (issue #20)
//! Here: the dictionary codec, the typed config, COM decode/encode/sign/verify/agree,
//! certificates of ownership and tags ([`credentials`]: decode/encode/sign/verify), the
//! address derivations, the controller's config issuing and the member's config checking,
//! the member's [`Membership`] (request timing, status OK / ACCESS_DENIED / NOT_FOUND /
//! PORT_ERROR, refresh every 60 s), with known answers from the ZeroTierOne 1.14.1 captures.
//! Wired into [`Node`](crate::Node): joining and leaving networks, config requests, chunks
//! and errors as packets, a hosted controller's answers, Ethernet frames (FRAME, EXT_FRAME,
//! MULTICAST_FRAME to the broadcast group) with COM push and agreement checks, MULTICAST_LIKE
//! and GATHER for the broadcast group (see the node's module docs).
//! Not yet: ARP-scaling groups (ADI = IPv4 address) and other multicast groups, LIKE expiry,
//! bridging (EXT_FRAME with a foreign source MAC is sent but refused on receipt), the
//! NEED_MEMBERSHIP_CERTIFICATE error path, revocations, the rules engine, capabilities
//! (kept verbatim), and typed `CAP`/`TAG`/`COO` fields in [`NetworkConfig`] (kept as bytes;
//! decode them with [`credentials`]).

pub mod com;
pub mod controller;
pub mod credentials;
pub mod derive;
pub mod dictionary;
pub mod member;
pub mod netconf;

pub use com::{CertificateOfMembership, ComError, Qualifier};
pub use controller::{ConfigAnswer, ConfigAssembler, ConfigError, Controller, NetworkSettings};
pub use credentials::{CertificateOfOwnership, CredentialError, Tag, Thing};
pub use dictionary::{DictError, DictLimits, Dictionary};
pub use member::{Membership, NetworkStatus};
pub use netconf::{Dns, IpPrefix, NetworkConfig, NetworkType, Route, Rule, RuleKind};
