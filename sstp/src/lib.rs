//! # rosproto-sstp: SSTP (MS-SSTP) client and server, sans-IO
//!
//! The Secure Socket Tunneling Protocol carries PPP inside an HTTPS connection on TCP 443,
//! so it passes every firewall and proxy that lets HTTPS through. It is Windows' default VPN
//! and RouterOS's `/interface sstp-client` and `/interface sstp-server` (seed 000 lines
//! 909-1052). This crate is the protocol as pure state machines: it is handed bytes from the
//! socket and the current time, and hands back bytes for the socket, events and deadlines.
//! TLS sits behind the [`tls::Tls`] adapter (rustls: [`tls::RustlsTls`]); PPP runs on the
//! `ppp` crate's host ([`ppp::host::Client`], [`ppp::host::Server`]).
//!
//! ```text
//!   TCP socket <-> Tls (adapter) <-> SSTP: HTTP, packets, call state <-> ppp::host <-> IP
//!                                    crypto binding: TLS certificate + PPP keys
//! ```
//!
//! ## One connection, as a ladder
//!
//! ```text
//!  client                                                          server
//!    | TCP SYN ... TLS handshake (server certificate C)               |
//!    | SSTP_DUPLEX_POST /sra_{BA195980-...}/ HTTP/1.1                 |  validate method,
//!    |   Content-Length: 18446744073709551615                        |  URI, version
//!    |   Host: vpn.example   SSTPCORRELATIONID: {GUID}  ------------> |
//!    | <------------ HTTP/1.1 200  Content-Length: 18446744073709551615
//!    | Call Connect Request [Encapsulated Protocol ID = 1 (PPP)] ---> |  60 s timer
//!    | <--- Call Connect Ack [Crypto Binding Request: bitmask 3, nonce N]
//!    | SSTP data [PPP LCP Configure-Request ...] <------------------> |  only PPP control
//!    | SSTP data [PPP MS-CHAPv2 Response] ---------------------------> |  frames pass here
//!    | <--------------------------- SSTP data [PPP MS-CHAPv2 Success] |
//!    | Call Connected [Crypto Binding: SHA-256, N, SHA256(C),          |  check N, H(C),
//!    |     Compound MAC = HMAC(CMK(HLAK), this message)] ------------> |  MAC; else Abort
//!    | SSTP data [PPP IPCP ...], then IP datagrams <================> |
//!    | Echo Request after keepalive-timeout of silence -------------> |
//!    | <---------------------------------------------- Echo Response |
//!    | Call Disconnect ----------------------------------------------> |
//!    | <------------------------------------------ Call Disconnect Ack|
//! ```
//!
//! Fields that matter: the SSTP header's C bit tells control from data; Length is 12 bits and
//! counts the header (so a packet is at most 4095 bytes); a data packet holds exactly one PPP
//! frame (with `FF 03`, no HDLC escaping). The crypto binding ([`binding`]) proves that the
//! party that authenticated inside PPP is the one holding this TLS connection: the HLAK comes
//! from the MS-CHAPv2 keys of RFC 3079 (zero for PAP/CHAP), the certificate hash pins the TLS
//! server. Codecs are in [`wire`], the HTTP exchange and the proxy `CONNECT` in [`http`].
//!
//! ## MPPE inside SSTP
//!
//! TLS already encrypts the tunnel, and Windows and sstpc do not negotiate CCP over SSTP;
//! RouterOS does when the profile's `use-encryption` asks for it. The PPP sessions here run
//! CCP/MPPE from the `ppp` crate after MS-CHAP: the client's
//! [`ppp::ClientSettings::use_encryption`] and, on the server, the user's `/ppp profile`
//! ([`ppp::aaa::Profile::use_encryption`]). [`Client::send_datagram`] and
//! [`Server::send_datagram`] then put PPP protocol 0x00FD frames into the SSTP data packets,
//! and [`Client::poll_datagram`] / [`Server::poll_datagram`] hand out the decrypted
//! datagrams exactly like clear ones. The crypto binding is unaffected: its HLAK is the
//! MS-CHAPv2 master keys, which MPPE derives its session keys from as well. Tested between
//! this crate's client and server only (`tests/mppe.rs`), not yet against a third-party
//! MPPE peer.
//!
//! ## State machines
//!
//! [`Client`] (one tunnel, with dial/redial through [`ppp::host::Client`]) and [`Server`]
//! (many connections keyed by [`ConnId`], sessions in one [`ppp::host::Server`]). Each
//! connection runs MS-SSTP's call states ([`CallState`]):
//!
//! ```text
//!  Http -> ConnectRequest -> ConnectedPending -> Connected
//!    |          |                  |                 |  invalid message: Call Abort ->
//!    v          v                  v                 v  AbortPending (3 s) ->
//!  closed   AbortPending / AbortTimeoutPending (1 s) /   AbortTimeoutPending (1 s) -> Closed
//!           DisconnectAckPending (5 s) / DisconnectTimeoutPending (1 s) -> Closed
//! ```
//!
//! Timers: 60 s for the HTTP response/request, 60 s negotiation timer per phase, the hello
//! timer (`keepalive-timeout`, 60 s: Echo Request after that much silence, abort after as
//! much again), abort 3 s + 1 s, disconnect 5 s + 1 s. LCP echo keepalive runs inside PPP
//! with the same `keepalive-timeout`.
//!
//! ## Driving it
//!
//! Both machines follow the workspace's sans-IO vocabulary: `handle_stream(now, bytes) ->
//! consumed`, `handle_timeout(now)`, `poll_transmit(now)`, `poll_event()`, `poll_timeout()`,
//! constructors `new(config, now, rng)`. A complete client and server over an in-memory
//! "socket", with rustls on both ends:
//!
//! ```
//! use sstp::{Client, ClientConfig, ClientEvent, Server, ServerConfig, ServerEvent};
//! use sstp::tls::{RustlsOptions, RustlsTls};
//! use std::time::{Duration, Instant};
//! # use rand_core::SeedableRng;
//! # let (cert_pem, key_pem) = sstp::test_pki::server_pem();
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7); // an OS-seeded CSPRNG in production
//! let t0 = Instant::now();
//!
//! let mut scfg = ServerConfig::enabled();
//! scfg.tls.certificate_pem = Some(cert_pem);
//! scfg.tls.key_pem = Some(key_pem);
//! let mut server = Server::<RustlsTls>::new(scfg.clone(), t0, &mut rng)?;
//! let mut aaa = ppp::aaa::Aaa::new();
//! let mut secret = ppp::aaa::Secret::new("alice", "pw"); // /ppp secret
//! secret.local_address = Some([10, 0, 0, 1].into());
//! secret.remote_address = Some([10, 0, 0, 2].into());
//! aaa.secrets.push(secret);
//! server.host_mut().set_store(Box::new(aaa));
//!
//! let mut client = Client::<RustlsTls>::new(ClientConfig::new("10.9.9.9", "alice", "pw"), t0, &mut rng)?;
//! let connect = std::iter::from_fn(|| client.poll_event())
//!     .find_map(|e| match e { ClientEvent::Connect { host, port } => Some((host, port)), _ => None });
//! assert_eq!(connect, Some(("10.9.9.9".to_string(), 443)));
//! // (open TCP here) and hand in a TLS session for it:
//! client.connected(t0, RustlsTls::client(client.config(), &RustlsOptions::default())?)?;
//! let conn = server.accept(t0, "192.0.2.7:50000".parse()?, RustlsTls::server(&scfg, &RustlsOptions::default())?)?;
//!
//! let mut now = t0;
//! let mut up = false;
//! for _ in 0..200 {
//!     // the "socket": everything one side transmits, the other reads
//!     while let Some(bytes) = client.poll_transmit(now) {
//!         let mut off = 0;
//!         while off < bytes.len() { off += server.handle_stream(now, conn, &bytes[off..])?; }
//!     }
//!     while let Some(t) = server.poll_transmit(now) {
//!         let mut off = 0;
//!         while off < t.bytes.len() { off += client.handle_stream(now, &t.bytes[off..])?; }
//!     }
//!     while let Some(e) = client.poll_event() {
//!         if let ClientEvent::Ppp(ppp::host::ClientEvent::Up(info)) = e {
//!             assert_eq!(info.local, std::net::Ipv4Addr::new(10, 0, 0, 2));
//!             up = true;
//!         }
//!     }
//!     while server.poll_event().is_some() {}
//!     if up { break; }
//!     // nothing in flight: jump to the next deadline
//!     if let Some(d) = [client.poll_timeout(), server.poll_timeout()].into_iter().flatten().min() {
//!         now = now.max(d.min(now + Duration::from_millis(10)));
//!         client.handle_timeout(now);
//!         server.handle_timeout(now);
//!     }
//! }
//! assert!(up);
//! // data path: an IPv4 packet into TLS records for the socket
//! let mut records = Vec::new();
//! client.send_datagram(now, 0x0021, &[0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1], &mut records)?;
//! let mut off = 0;
//! while off < records.len() { off += server.handle_stream(now, conn, &records[off..])?; }
//! assert_eq!(server.poll_datagram().map(|(c, p, d)| (c, p, d.len())), Some((conn, 0x0021, 20)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Not implemented
//! * An OpenSSL adapter for the RouterOS modes rustls cannot do (`ciphers=aes256-sha`,
//!   `pfs=no` peers with RSA key exchange only, anonymous DH for `certificate=none`): the
//!   [`tls::Capabilities`] of an adapter say what it supports, and configurations needing more
//!   are refused naming the property.
//! * EAP-TLS inner authentication (HLAK from the EAP MSK).
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `sstp::...`; fields `source`: the state machine, `kind`: the
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

pub mod binding;
mod client;
pub mod config;
pub mod error;
pub mod event;
pub mod http;
mod link;
mod server;
pub mod tls;
pub mod wire;

#[doc(hidden)]
pub mod test_pki;

pub use binding::{BindingKey, Hlak};
pub use client::Client;
pub use config::{ClientConfig, ServerConfig};
pub use error::{AbortCause, AcceptError, CloseReason, ConfigError, DropReason, Error};
pub use event::{ClientEvent, ConnId, ServerEvent, Transmit};
pub use link::{
    CallState, LinkCounters, ABORT_TIMER_1, ABORT_TIMER_2, DISCONNECT_TIMER_1, DISCONNECT_TIMER_2,
    MAX_NAKS,
};
pub use server::{Server, ServerStats};
