//! A sans-IO RADIUS client (RFC 2865 access, RFC 2866 accounting, RFC 2548 Microsoft
//! attributes, RFC 3579 Message-Authenticator and EAP pass-through) and the Dynamic
//! Authorization server of RFC 5176 (`/radius incoming`), for PPP servers and every other AAA
//! user of this workspace.
//!
//! # RADIUS in one page
//!
//! A NAS (this side: an L2TP LNS, a PPPoE concentrator, an IPsec gateway) asks a RADIUS
//! server over UDP whether a user may log in, and tells it when sessions start and stop:
//!
//! ```text
//!  NAS (RadiusClient)                                  RADIUS server (port 1812 / 1813)
//!  Access-Request id=0 RA=<16 random octets>
//!    User-Name="nemo"
//!    User-Password=<"arctangent" XOR MD5(secret|RA)>    password never in clear
//!    Message-Authenticator=HMAC-MD5(secret, packet)  --->
//!                                                   <---  Access-Accept id=0
//!                                                           Response Authenticator =
//!                                                           MD5(2|0|len|RA|attrs|secret)
//!                                                           Framed-IP-Address=10.0.0.9
//!                                                           Session-Timeout=3600
//!                                                           Acct-Interim-Interval=300
//!                                                           Class=<opaque>
//!  Accounting-Request Start (authenticator = MD5 over the packet with zeros and secret) --->
//!                                                   <---  Accounting-Response
//!  ... Interim-Update every 300 s, Stop with counters and Acct-Terminate-Cause ...
//! ```
//!
//! * The **identifier** (8 bits) matches a reply to its request, per server socket: at most
//!   256 requests can be outstanding at one server.
//! * The **Request Authenticator** of an Access-Request is random; it salts the hidden
//!   password and every reply must carry `MD5(reply with RA in place | secret)`: a reply
//!   that does not is forged or answers something else, and is dropped. See [`crypto`].
//! * **Retransmission** repeats the identical datagram (same identifier, same
//!   authenticator) after `timeout` (RouterOS `/radius timeout`, 300 ms); a server that
//!   answers neither the first try nor the retransmissions is considered dead for a while
//!   and the request moves to the next `/radius` entry with a fresh identifier and
//!   authenticator (the secret, and so the hidden password, may differ).
//! * **CHAP and MS-CHAP** go through unchanged: the NAS sends the challenge it issued and the
//!   peer's response (CHAP-Challenge/CHAP-Password; MS-CHAP-Challenge and
//!   MS-CHAP2-Response, RFC 2548), the server verifies and returns MS-CHAP2-Success (the
//!   `S=` authenticator response the peer checks) and the MPPE keys, salted and encrypted
//!   with the secret and the Request Authenticator (MS-MPPE-Send/Recv-Key).
//! * **EAP** rides in EAP-Message attributes with a mandatory Message-Authenticator; the
//!   server answers Access-Challenge with State until it accepts or rejects.
//!
//! # Driving the client
//!
//! ```
//! use ppp::radius::{AccessRequest, Credentials, RadiusClient, RadiusConfig, RadiusEvent, RadiusServer};
//! use std::time::{Duration, Instant};
//! # use rand_core::SeedableRng;
//! let now = Instant::now();
//! let mut cfg = RadiusConfig::default();
//! cfg.servers.push(RadiusServer::new("192.0.2.10".parse()?, "xyzzy5461"));
//! let rng = rand_chacha::ChaCha20Rng::seed_from_u64(1); // an OS-seeded CSPRNG in production
//! let mut client = RadiusClient::new(cfg, now, rng)?;
//! let pw = Credentials::Pap { password: b"arctangent".to_vec().into() };
//! let handle = client.send_access_request(now, AccessRequest::new("nemo", pw))?;
//! let t = client.poll_transmit(now).unwrap();          // send t.payload to t.destination
//! assert_eq!(t.destination.port(), 1812);
//! // ... a datagram arrives: client.handle_datagram(now, from, &bytes)
//! // ... nothing arrives: the retransmission is due after the server's timeout
//! let deadline = client.poll_timeout().unwrap();
//! assert_eq!(deadline, now + Duration::from_millis(300));
//! client.handle_timeout(deadline);
//! assert_eq!(client.poll_transmit(deadline).unwrap().payload, t.payload); // same octets
//! while let Some(ev) = client.poll_event() {
//!     if let RadiusEvent::Accept { handle: h, reply } = ev {
//!         assert_eq!(h, handle);
//!         let _ = reply.framed_ip_address;
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Bridging the PPP host
//!
//! The host ([`crate::host::Server`]) already defers authentication to the application:
//! with `/ppp aaa use-radius=yes` (or a store answering [`crate::Lookup::Defer`]) it emits
//! [`crate::host::ServerEvent::AuthRequest`] and waits for
//! [`crate::host::Server::auth_verdict`]. [`HostBridge`] connects the two: feed it every
//! host event and every RADIUS event, and it does this:
//!
//! ```text
//!  ServerEvent::AuthRequest { key, caller_id, request }
//!      -> client.send_access_request(now, AccessRequest::from_ppp(&request, Some(&caller_id)))
//!         remember handle -> (key, request.id, request.method)
//!  RadiusEvent::Accept { handle, reply }
//!      -> host.auth_verdict(now, &key, id, reply.to_verdict(method))   (keep reply.class)
//!  RadiusEvent::Reject { reply, .. } / Timeout
//!      -> host.auth_verdict(now, &key, id, Verdict::Reject { message })
//!  ServerEvent::Accounting { kind, record, .. }
//!      -> client.send_accounting(now, AccountingRequest::from_record(kind, &record, &class).attributes())
//! ```
//!
//! ```text
//! // the embedder's loop, per wake-up:
//! while let Some(ev) = host.poll_event() {
//!     bridge.handle_server_event(now, &ev, &mut radius)?;  // then the transport's own handling
//! }
//! while let Some(ev) = radius.poll_event() {
//!     if let Some(other) = bridge.handle_radius_event(now, ev, &mut host) { /* ServerDead, .. */ }
//! }
//! // a transport that wraps the host (l2tp's PppLns) takes the verdict instead:
//! //   if let Ok((key, id, verdict)) = bridge.verdict_for(ev) { lns.auth_verdict(.., verdict) }
//! // and radius.poll_transmit / handle_datagram / poll_timeout on the RADIUS UDP socket
//! ```
//!
//! PAP, CHAP-MD5, MS-CHAPv1 and MS-CHAPv2 proofs map one to one ([`AccessRequest::from_ppp`]);
//! an Access-Accept maps to [`crate::Verdict::Accept`] with the MS-CHAP2-Success
//! authenticator response and the MPPE keys ([`Reply::to_verdict`]). Framed-Pool has no slot
//! in [`crate::UserAttributes`]: allocate from the named pool before answering (e.g.
//! [`crate::aaa::IpPool::allocate`]), put the address in `remote_address`, and release it
//! when the host reports the session ended; [`HostBridge`] does not do this for you. The host's own
//! interim timer drives Interim-Update records from the verdict's `interim_interval`;
//! [`InterimSchedule`] is for embedders without the host. EAP pass-through is supported by
//! the client ([`Credentials::Eap`]) but the PPP session terminates EAP itself today, so the
//! host does not produce EAP proofs.
//!
//! # Dynamic Authorization
//!
//! [`DaeServer`] verifies Disconnect-Request and CoA-Request from configured clients and
//! reports them ([`DaeEvent`]); the embedder ends the session (`host.close(now, &key, ..)`)
//! or changes it and answers ACK or NAK with an [`ErrorCause`].
//!
//! # Not implemented
//! * RadSec (RADIUS over TLS, RouterOS `protocol=radsec`), Status-Server probing of dead
//!   servers, Acct-Delay-Time updates on retransmission, per-service server selection
//!   (`service=`: the embedder keeps one client per service), `realm` and `domain`
//!   (MikroTik-Realm, MS-CHAP-Domain), IPv6 attributes (Framed-IPv6-Prefix, RFC 3162).
//! * The LAC's realm decision through RADIUS is half done: an Access-Accept's RFC 2868 tunnel
//!   attributes are decoded ([`Reply::tunnels`], [`Reply::l2tp_tunnels`]), but nothing yet
//!   turns them into the host's hand-over to `l2tp::lac` (the host forwards by its static
//!   `forward_realms` only).
//!
//! # Interop
//!
//! `examples/tests/interop_radius.rs` runs this client (over UDP, `examples::radius_udp`)
//! against FreeRADIUS 3.2.1: PAP accept/reject, CHAP, MS-CHAPv1, MS-CHAPv2 (MS-CHAP2-Success
//! and MS-MPPE-Send/Recv-Key equal to the RFC 2759/3079 derivations), EAP-MSCHAPv2
//! pass-through, a PPP session through [`HostBridge`] with Framed-IP-Address and accounting
//! Start/Interim-Update/Stop read back from FreeRADIUS's detail file, a Disconnect-Request
//! from `radclient` to [`DaeServer`], `l2tp-server --radius` serving `l2tp-client` and
//! `sstp-server --radius` serving `sstp-client` (with `radclient` ending the session), RFC 2868
//! tunnel attributes for a LAC user ([`Reply::l2tp_tunnels`]), retransmission and failover from
//! a silent server, and ipsec-ike's `eap-radius` hook (`examples::radius_udp::RadiusEapBackend`)
//! carrying an EAP-MSCHAPv2 peer's conversation.
//!
//! # Configuration from RouterOS properties
//!
//! [`RadiusServer::from_props`] reads a `/radius add` entry (`address`, `secret`,
//! `authentication-port`, `accounting-port`, `timeout`, `src-address`, `disabled`,
//! `accounting-backup`, `called-id`) and [`DaeConfig::apply_props`] `/radius incoming set
//! accept= port=`; both have a `to_props` that reads back.

pub mod access;
pub mod acct;
pub mod bridge;
pub mod client;
pub mod config;
pub mod crypto;
pub mod dae;
pub mod wire;

pub use access::{AccessRequest, Credentials, Reply, TunnelAssignment};
pub use acct::{AccountingRequest, AcctStatus, InterimSchedule, TerminateCause};
pub use bridge::HostBridge;
pub use client::{
    ClientStats, DropReason, Input, RadiusClient, RadiusError, RadiusEvent, RequestHandle, Transmit,
};
pub use config::{RadiusConfig, RadiusConfigError, RadiusServer, SharedSecret};
pub use dae::{
    DaeConfig, DaeDrop, DaeEvent, DaeInput, DaeOutcome, DaeServer, DaeToken, ErrorCause,
};
pub use wire::{Attribute, Code, Packet, ParseError, VendorAttribute};
