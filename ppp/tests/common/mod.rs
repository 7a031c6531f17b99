//! Test support: a netsim adapter around `ppp::Session` that answers deferred auth requests
//! from a password table and records events with their virtual times.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    dead_code
)]

use ppp::{Config, Event, Input, Role, Session, UserAttributes, Verdict};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

pub struct Node {
    pub s: Session,
    pub events: Vec<(Instant, Event)>,
    pub datagrams: Vec<(Instant, u16, Vec<u8>)>,
    /// (user, password) the server accepts when it is asked through AuthRequested.
    pub users: Vec<(String, String)>,
    pub attrs: UserAttributes,
    /// Echo received IPv4 datagrams back (a responder).
    pub echo: bool,
    /// Leave AuthRequested events for the test to answer.
    pub manual_auth: bool,
}

impl Node {
    pub fn new(cfg: Config, role: Role, start: Instant, seed: u64) -> Self {
        let s = Session::new(cfg, role, start, ChaCha8Rng::seed_from_u64(seed)).unwrap();
        Node {
            s,
            events: Vec::new(),
            datagrams: Vec::new(),
            users: Vec::new(),
            attrs: UserAttributes::default(),
            echo: false,
            manual_auth: false,
        }
    }

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

    pub fn has(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(|(_, e)| f(e))
    }

    pub fn first(&self, f: impl Fn(&Event) -> bool) -> Option<(Instant, Event)> {
        self.events.iter().find(|(_, e)| f(e)).cloned()
    }

    pub fn network_up(&self) -> bool {
        self.has(|e| matches!(e, Event::NetworkUp(_)))
    }

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

impl netsim::Endpoint for Node {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut reply = None;
        // The in-place path, so MPPE packets come back decrypted as datagrams.
        let mut buf = data.to_vec();
        match self.s.handle_frame_mut(now, &mut buf) {
            Ok(Input::Datagram { protocol, payload }) => {
                self.datagrams.push((now, protocol, payload.to_vec()));
                if self.echo {
                    reply = Some((protocol, payload.to_vec()));
                }
            }
            Ok(Input::Reassembled { protocol }) => {
                // Multilink: this and any further packets the fragment completed.
                let mut p = Some(protocol);
                while let Some(protocol) = p {
                    let d = self.s.reassembled().to_vec();
                    self.datagrams.push((now, protocol, d.clone()));
                    if self.echo {
                        reply = Some((protocol, d));
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

pub fn client_cfg(user: &str, pass: &str) -> Config {
    let mut c = Config::l2tp_client();
    c.user = user.into();
    c.password = pass.into();
    c
}

pub fn server_cfg() -> Config {
    let mut c = Config::l2tp_server();
    c.local_address = Some("10.0.0.1".parse().unwrap());
    c.remote_address = Some("10.0.0.2".parse().unwrap());
    c.dns_servers = vec!["10.0.0.53".parse().unwrap()];
    c
}
