//! The `ppp` crate's netsim adapter, shared by the tour and the crate's tests (feature `ppp`).
//!
//! Test support: it unwraps where a failure is a bug of the test (a bad configuration, a
//! verdict for an unknown request).
#![allow(clippy::unwrap_used)]

use ppp::{Config, Event, Input, Role, Session, UserAttributes, Verdict};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// A netsim endpoint around a [`ppp::Session`]: records every event with its virtual time and
/// every datagram received, answers deferred authentication requests from a password table,
/// and optionally echoes datagrams back.
pub struct PppNode {
    /// The session.
    pub s: Session,
    /// Every event, with the virtual time it was drained at.
    pub events: Vec<(Instant, Event)>,
    /// Every datagram received: (time, PPP protocol, payload).
    pub datagrams: Vec<(Instant, u16, Vec<u8>)>,
    /// (user, password) the server accepts when it is asked through AuthRequested.
    pub users: Vec<(String, String)>,
    /// The attributes given with each accepted password.
    pub attrs: UserAttributes,
    /// Echo received datagrams back (a responder).
    pub echo: bool,
    /// With `echo`: answer only ICMPv4 echo requests, with a proper echo reply (addresses
    /// swapped, type 0, checksum fixed), as a host would; other datagrams are not echoed.
    pub icmp_reply: bool,
    /// Leave AuthRequested events for the test to answer.
    pub manual_auth: bool,
}

impl PppNode {
    /// A session of `role` with `cfg`, its RNG seeded with `seed` (ChaCha8).
    pub fn new(cfg: Config, role: Role, start: Instant, seed: u64) -> Self {
        let s = Session::new(cfg, role, start, ChaCha8Rng::seed_from_u64(seed)).unwrap();
        PppNode::from_session(s)
    }

    /// Wrap a session made by the caller (its own configuration and RNG).
    pub fn from_session(s: Session) -> Self {
        PppNode {
            s,
            events: Vec::new(),
            datagrams: Vec::new(),
            users: Vec::new(),
            attrs: UserAttributes::default(),
            echo: false,
            icmp_reply: false,
            manual_auth: false,
        }
    }

    /// Record the session's events (answering `AuthRequested` from `users` unless
    /// `manual_auth`).
    pub fn drain(&mut self, now: Instant) {
        while let Some(ev) = self.s.poll_event() {
            if let (Event::AuthRequested(req), false) = (&ev, self.manual_auth) {
                let v = match self.users.iter().find(|(u, _)| *u == req.user) {
                    Some((_, p)) => Verdict::Password {
                        password: p.clone(),
                        attributes: self.attrs.clone(),
                    },
                    None => Verdict::Reject {
                        message: "no such user".into(),
                    },
                };
                let id = req.id;
                self.events.push((now, ev));
                self.s.auth_verdict(now, id, v).unwrap();
                continue;
            }
            self.events.push((now, ev));
        }
    }

    /// What `echo` sends back for a received datagram.
    fn reply_to(&self, protocol: u16, payload: &[u8]) -> Option<(u16, Vec<u8>)> {
        if !self.icmp_reply {
            return Some((protocol, payload.to_vec()));
        }
        if payload.len() < 28 || payload[20] != 8 {
            return None;
        }
        let mut r = payload.to_vec();
        r[12..16].copy_from_slice(&payload[16..20]);
        r[16..20].copy_from_slice(&payload[12..16]);
        r[20] = 0;
        r[22..24].copy_from_slice(&[0, 0]);
        let c = crate::pcap::inet_checksum(&r[20..]);
        r[22..24].copy_from_slice(&c.to_be_bytes());
        Some((protocol, r))
    }

    /// Whether any recorded event matches.
    pub fn has(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(|(_, e)| f(e))
    }

    /// The first recorded event that matches, with its time.
    pub fn first(&self, f: impl Fn(&Event) -> bool) -> Option<(Instant, Event)> {
        self.events.iter().find(|(_, e)| f(e)).cloned()
    }

    /// IPCP came up.
    pub fn network_up(&self) -> bool {
        self.has(|e| matches!(e, Event::NetworkUp(_)))
    }

    /// The session ended.
    pub fn terminated(&self) -> bool {
        self.has(|e| matches!(e, Event::Terminated { .. }))
    }

    /// `(time since `since`, missed count)` of every `KeepaliveMissed` event, in order.
    pub fn keepalive_misses(&self, since: Instant) -> Vec<(std::time::Duration, u32)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::KeepaliveMissed { missed } => Some((*t - since, *missed)),
                _ => None,
            })
            .collect()
    }

    /// Every `AuthRequested` this node has seen, in order.
    pub fn auth_requests(&self) -> Vec<ppp::AuthRequest> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::AuthRequested(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }
}

impl crate::Endpoint for PppNode {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut reply = None;
        // The in-place path, so MPPE packets come back decrypted as datagrams.
        let mut buf = data.to_vec();
        match self.s.handle_frame_mut(now, &mut buf) {
            Ok(Input::Datagram { protocol, payload }) => {
                self.datagrams.push((now, protocol, payload.to_vec()));
                if self.echo {
                    reply = self.reply_to(protocol, payload);
                }
            }
            Ok(Input::Reassembled { protocol }) => {
                // Multilink: this and any further packets the fragment completed.
                let mut p = Some(protocol);
                while let Some(protocol) = p {
                    let d = self.s.reassembled().to_vec();
                    self.datagrams.push((now, protocol, d.clone()));
                    if self.echo {
                        reply = self.reply_to(protocol, &d);
                    }
                    p = self.s.poll_reassembled(now);
                }
            }
            _ => {}
        }
        if let Some((p, d)) = reply {
            let _ = self.s.send_datagram(now, p, &d);
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.s.poll_transmit(now)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.s.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
        self.drain(now);
    }
}
