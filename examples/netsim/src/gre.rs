//! [`GreNode`]: a `gre_family::Tunnel` plus the host behind it as a [`crate::Endpoint`],
//! written once for the tour (`examples/src/tour/gre.rs`) and the crate's pair tests
//! (`gre-family/tests/pair.rs`). Enable with the `gre-family` feature.
//!
//! Every datagram on the simulated link is a complete outer IP packet, as a raw socket carries
//! it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use gre_family::{Decapsulated, DropReason, Error, Event, Payload, Tunnel, TunnelConfig};

/// What the host behind the tunnel answers to a delivered inner packet (e.g. an echo reply).
pub type Responder = Box<dyn FnMut(&[u8], Payload) -> Option<Vec<u8>>>;

/// One tunnel end: inner packets to send, what was delivered, events and drops with their
/// virtual times (relative to `start`).
pub struct GreNode {
    /// The tunnel.
    pub t: Tunnel,
    /// Virtual time zero.
    pub start: Instant,
    /// Inner packets (or frames) waiting to be encapsulated.
    pub app_out: VecDeque<Vec<u8>>,
    /// Delivered inner packets: (time, kind, bytes).
    pub delivered: Vec<(Duration, Payload, Vec<u8>)>,
    /// Running-flag events.
    pub events: Vec<(Duration, Event)>,
    /// Drops reported by `decapsulate`.
    pub drops: Vec<DropReason>,
    /// Errors from `encapsulate` / `poll_transmit`.
    pub errors: Vec<Error>,
    /// The host's answer to delivered packets (none by default).
    pub responder: Option<Responder>,
    buf: Vec<u8>,
}

impl GreNode {
    /// A node whose tunnel is built from `cfg` at `start`.
    pub fn new(cfg: TunnelConfig, start: Instant) -> Result<GreNode, Error> {
        Ok(GreNode {
            t: Tunnel::new(cfg, start)?,
            start,
            app_out: VecDeque::new(),
            delivered: Vec::new(),
            events: Vec::new(),
            drops: Vec::new(),
            errors: Vec::new(),
            responder: None,
            buf: vec![0; 65_600],
        })
    }

    /// Builder: answer delivered packets with `f`.
    pub fn with_responder(mut self, f: Responder) -> Self {
        self.responder = Some(f);
        self
    }

    fn drain_events(&mut self, now: Instant) {
        while let Some(e) = self.t.poll_event() {
            self.events.push((now - self.start, e));
        }
    }
}

impl crate::Endpoint for GreNode {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut p = data.to_vec();
        match self.t.decapsulate(now, &mut p) {
            Decapsulated::Packet { range, payload, .. } => {
                let inner = p.get(range).unwrap_or_default().to_vec();
                if let Some(reply) = self.responder.as_mut().and_then(|f| f(&inner, payload)) {
                    self.app_out.push_back(reply);
                }
                self.delivered.push((now - self.start, payload, inner));
            }
            Decapsulated::Dropped(r) => self.drops.push(r),
            _ => {}
        }
        self.drain_events(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        match self.t.poll_transmit(now, &mut self.buf) {
            Ok(Some(t)) => return Some(self.buf[..t.len].to_vec()),
            Ok(None) => {}
            Err(e) => self.errors.push(e),
        }
        while let Some(inner) = self.app_out.pop_front() {
            match self.t.encapsulate(now, &inner, &mut self.buf) {
                Ok(t) => return Some(self.buf[..t.len].to_vec()),
                Err(e) => self.errors.push(e),
            }
        }
        None
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.t.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.t.handle_timeout(now);
        self.drain_events(now);
    }
}
