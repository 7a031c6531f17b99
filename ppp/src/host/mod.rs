//! The PPP host: what every PPP transport (L2TP, PPPoE, PPTP, SSTP) needs around its
//! sessions, written once.
//!
//! ```text
//!   transport (l2tp, pppoe, pptp, sstp)         host (this module)                session
//!  ------------------------------------   -------------------------------   ----------------
//!   session id / MAC / call id / TLS  -->  Server<K>: table keyed by K   -->  ppp::Session
//!   PPP frames in/out of its packets  <->  one deadline heap for all          (LCP, auth,
//!   tear-down on Ended (CDN/PADT/...)      AAA: store, external verdict,       IPCP, IPv6CP)
//!                                          pools, only-one, max-sessions,
//!                                          one-session-per-host, accounting,
//!                                          LAC forwarding by realm
//!   dial / hang-up of the transport   <->  Client: dial, redial, status  -->  ppp::Session
//! ```
//!
//! The host knows nothing about the transport: a transport picks its key type `K` (L2TP
//! `(tunnel id, session id)`, PPPoE `(peer MAC, session id)`, PPTP call id, SSTP connection
//! id), tells the host when a transport session starts and ends, and moves PPP frames:
//! [`Transmit`] names the key a frame belongs to. Settings come from the RouterOS menu the
//! transport implements ([`ServerSettings`](crate::settings::ServerSettings),
//! [`ClientSettings`](crate::settings::ClientSettings)), AAA from `/ppp aaa` ([`AaaSettings`])
//! and a [`CredentialStore`](crate::CredentialStore) (default: the in-memory
//! [`Aaa`](crate::aaa::Aaa) tables).
//!
//! # Plugging a transport in (server side)
//!
//! ```
//! use ppp::host::{Server, ServerConfig, ServerEvent};
//! use ppp::settings::ServerSettings;
//! use ppp::aaa::{Aaa, Secret};
//! use std::time::Instant;
//! # use rand_core::SeedableRng;
//! // A PPPoE-like transport: sessions keyed by (peer MAC, session id).
//! type Key = ([u8; 6], u16);
//! let now = Instant::now();
//! let rng = rand_chacha::ChaCha20Rng::seed_from_u64(1); // an OS-seeded CSPRNG in production
//! let mut host: Server<Key> = Server::new(ServerConfig::new(ServerSettings::pppoe()), now, rng)?;
//! let mut aaa = Aaa::new();
//! aaa.secrets.push(Secret::new("alice", "pw"));
//! host.set_store(Box::new(aaa));
//!
//! // The transport accepted a session (PADS sent): start PPP on it.
//! let key = ([2, 0, 0, 0, 0, 1], 0x0011);
//! host.open(now, key, "02:00:00:00:00:01")?;
//! // Every wake-up: frames out, events, timer.
//! while let Some(t) = host.poll_transmit(now) {
//!     // wrap t.frame into a PPPoE session packet for t.key and send it
//!     assert_eq!(t.key, key);
//!     assert_eq!(&t.frame[..2], &[0xc0, 0x21]); // LCP, no FF 03 on PPPoE
//! }
//! while let Some(ev) = host.poll_event() {
//!     match ev {
//!         ServerEvent::Ended { key, .. } => { /* send PADT for key */ let _ = key; }
//!         ServerEvent::AuthRequest { key, request, .. } => {
//!             // ask RADIUS, later: host.auth_verdict(now, &key, request.id, verdict)
//!             let _ = (key, request);
//!         }
//!         _ => {}
//!     }
//! }
//! // A PPP frame arrived in a session packet of `key`:
//! //   match host.handle_frame(now, &key, frame)? { ppp::Input::Datagram { .. } => .., _ => {} }
//! // IP to send to the peer: host.encapsulate(now, &key, 0x0021, packet, &mut buf)
//! // The transport session died (PADT received): host.lower_down(now, &key)
//! let deadline = host.poll_timeout(); // then host.handle_timeout(deadline)
//! assert!(deadline.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # AAA and accounting
//!
//! A session's credentials arrive as an [`AuthRequest`](crate::AuthRequest). The host looks
//! the user up in its store (`/ppp secret`); a missing user is rejected, or with
//! `use-radius=yes` (or a store answering [`Lookup::Defer`](crate::Lookup::Defer)) handed to
//! the application as [`ServerEvent::AuthRequest`]; the answer ([`Server::auth_verdict`] with a
//! [`Verdict`](crate::Verdict)) may come at any later time: accept with attributes (framed
//! address, session/idle timeout, DNS, profile, Acct-Interim-Interval), reject, or a password
//! to check here. An accepted login then passes admission in the store: the profile
//! (`default-profile` if none named), address from a pool, `only-one`. Accounting start,
//! interim and stop records ([`ServerEvent::Accounting`]) carry the counters.
//!
//! # LAC forwarding
//!
//! With [`ServerConfig::forward_realms`], a user `name@realm` of a listed realm is not
//! authenticated here: after LCP and the authentication exchange the host lets go of the
//! session and reports [`ServerEvent::Forward`] with the proxy LCP and proxy authentication
//! (RFC 2661 s4.4.5). The transport relays the session's frames to the LNS from then on
//! (`l2tp::lac::Lac` does the L2TP side); the LNS continues with
//! [`Server::open_proxy`] without renegotiating.
//!
//! # Extension points
//!
//! CCP/MPPE (RFC 1962/3078) lives in [`Session`](crate::Session): it transforms frames in
//! `handle_frame`/`handle_frame_mut` and `encapsulate`, and reports
//! [`Event::EncryptionUp`](crate::Event::EncryptionUp), which reaches the application as
//! [`ServerEvent::Ppp`] / [`ClientEvent::Ppp`]. A transport should feed frames through
//! [`Server::handle_frame_mut`] / [`Client::handle_frame_mut`] (decryption in place); with the
//! shared-slice `handle_frame` an MPPE datagram comes back as
//! [`Input::Decrypted`](crate::Input::Decrypted). The user's `/ppp profile use-encryption`
//! reaches the session through [`UserAttributes::use_encryption`](crate::UserAttributes::use_encryption).
//!
//! Multilink (RFC 1990) and BCP (RFC 3518) are written as separate modules and integrate
//! into [`Session`](crate::Session) later. The host is ready for them:
//! * BCP datagrams come out as [`Input::Datagram`](crate::Input::Datagram) with protocol
//!   0x0031, like IPv4 and IPv6;
//! * Multilink binds several keys (links) into one bundle by user and endpoint
//!   discriminator: a bundle table next to the key table of [`Server`];
//! * the settings carry `mrru`: each hosted session negotiates single-link MP (RFC 1990) with
//!   it, so 1500-octet datagrams cross a smaller tunnel MTU as MP fragments;
//! * [`ServerEvent`] and [`ClientEvent`] are `#[non_exhaustive]`.

mod client;
mod server;
mod timers;

pub use client::{Client, ClientEvent, ClientUp};
pub use server::{
    AaaSettings, AccountingKind, AccountingRecord, Server, ServerConfig, ServerEvent, ServerStats,
    Transmit,
};

use rand_core::{CryptoRng, RngCore};
use std::sync::{Arc, Mutex};

/// The realm of `user@realm` (the part after the last `@`), if any.
pub fn realm(user: &str) -> Option<&str> {
    user.rsplit_once('@')
        .map(|(_, r)| r)
        .filter(|r| !r.is_empty())
}

/// One injected random generator shared by clones: the host gives one to all of its sessions
/// (one generator, not one per session), and a transport can share the one it was given
/// between its own machine and its PPP host (one seed for the whole stack, as the pair tests
/// need). Cloning shares the generator; it never reseeds.
#[derive(Clone)]
pub struct SharedRng(Arc<Mutex<dyn RngCore + Send>>);

impl SharedRng {
    /// Share `rng`.
    pub fn new<R: RngCore + CryptoRng + Send + 'static>(rng: R) -> Self {
        SharedRng(Arc::new(Mutex::new(rng)))
    }
}

impl std::fmt::Debug for SharedRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRng")
    }
}

impl RngCore for SharedRng {
    fn next_u32(&mut self) -> u32 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_fill_bytes(dest)
    }
}

// Built only from a `CryptoRng` (see `SharedRng::new`).
impl CryptoRng for SharedRng {}

#[cfg(test)]
mod tests {
    #[test]
    fn realm_of_user() {
        assert_eq!(super::realm("good_worker@mt.lv"), Some("mt.lv"));
        assert_eq!(super::realm("a@b@c"), Some("c"));
        assert_eq!(super::realm("plain"), None);
        assert_eq!(super::realm("x@"), None);
    }
}
