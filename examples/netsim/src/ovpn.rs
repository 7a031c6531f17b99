//! `ovpn` adapters (feature `ovpn`): an `ovpn::Session` and an `ovpn::Server` as
//! [`Endpoint`]s, written once for the tour, the ovpn pair tests and the benches.
//!
//! Both record what their machine reported (events with their virtual time, decrypted
//! tunnel packets, keepalive pings, drops) and send what the test queued in `outbox`
//! (encrypted tunnel packets) before the machine's own packets.

use std::time::Instant;

use ovpn::wire::tcp::{frame, Deframer};
use ovpn::{DropReason, Event, Input, Server, ServerInput, Session};

use crate::Endpoint;

/// A [`Session`] as an endpoint. With `tcp`, every packet is length-framed and the
/// received byte stream de-framed (OpenVPN over TCP).
pub struct SessionPeer {
    /// The session.
    pub s: Session,
    /// TCP framing.
    pub tcp: bool,
    deframer: Deframer,
    /// Events, with the virtual time they were polled at.
    pub events: Vec<(Instant, Event)>,
    /// Decrypted tunnel packets.
    pub received: Vec<Vec<u8>>,
    /// Keepalive pings received.
    pub pings: usize,
    /// Datagrams to send before the session's own (see [`SessionPeer::send`]).
    pub outbox: Vec<Vec<u8>>,
    /// Why packets were dropped.
    pub drops: Vec<DropReason>,
}

impl SessionPeer {
    /// Wrap a session.
    pub fn new(s: Session, tcp: bool) -> Self {
        SessionPeer {
            s,
            tcp,
            deframer: Deframer::new(4096),
            events: Vec::new(),
            received: Vec::new(),
            pings: 0,
            outbox: Vec::new(),
            drops: Vec::new(),
        }
    }

    fn drain_events(&mut self, now: Instant) {
        while let Some(e) = self.s.poll_event() {
            self.events.push((now, e));
        }
    }

    fn input(&mut self, now: Instant, p: &[u8]) {
        // Room for a packet reassembled from `fragment` pieces, too.
        let mut out = vec![0u8; p.len().max(4096)];
        match self.s.handle_input(now, p, &mut out) {
            Input::Data(n) => self.received.push(out[..n].to_vec()),
            Input::Ping => self.pings += 1,
            Input::Dropped(why) => self.drops.push(why),
            Input::Control => {}
            _ => {}
        }
        self.drain_events(now);
    }

    /// Encrypt a tunnel packet now and queue it.
    pub fn send(&mut self, now: Instant, payload: &[u8]) -> Result<(), ovpn::Error> {
        let mut out = vec![0u8; self.s.sealed_len(payload.len())];
        let n = self.s.send_data(now, payload, &mut out)?;
        out.truncate(n);
        self.outbox.push(out);
        Ok(())
    }

    /// When the data channel came up.
    pub fn up_at(&self) -> Option<Instant> {
        self.events
            .iter()
            .find(|(_, e)| matches!(e, Event::Up { .. }))
            .map(|(t, _)| *t)
    }

    /// Whether an event matching `f` was reported.
    pub fn has_event(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(|(_, e)| f(e))
    }
}

impl Endpoint for SessionPeer {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.tcp {
            self.deframer.push(data);
            while let Ok(Some(p)) = self.deframer.next_packet() {
                self.input(now, &p);
            }
        } else {
            self.input(now, data);
        }
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let p = if self.outbox.is_empty() {
            self.s.poll_transmit(now)
        } else {
            Some(self.outbox.remove(0))
        };
        self.drain_events(now);
        let p = p?;
        if self.tcp {
            let mut f = vec![0u8; p.len() + 2];
            let n = frame(&p, &mut f).ok()?;
            f.truncate(n);
            Some(f)
        } else {
            Some(p)
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.s.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
        self.drain_events(now);
    }
}

/// A [`Server`] on one simulated "socket": every datagram comes from `from` (one client).
pub struct ServerPeer {
    /// The server.
    pub s: Server<u8>,
    /// The address the simulated client has.
    pub from: u8,
    /// Events (virtual time, peer id, event).
    pub events: Vec<(Instant, u32, Event)>,
    /// Datagrams to send before the server's own.
    pub outbox: Vec<Vec<u8>>,
    /// Tunnel packets received.
    pub data_rx: usize,
    /// Keepalive pings received.
    pub pings_rx: usize,
    /// Why packets were dropped.
    pub drops: Vec<DropReason>,
}

impl ServerPeer {
    /// Wrap a server whose one client is address `from`.
    pub fn new(s: Server<u8>, from: u8) -> Self {
        ServerPeer {
            s,
            from,
            events: Vec::new(),
            outbox: Vec::new(),
            data_rx: 0,
            pings_rx: 0,
            drops: Vec::new(),
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some((id, e)) = self.s.poll_event() {
            self.events.push((now, id, e));
        }
    }
}

impl Endpoint for ServerPeer {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut out = vec![0u8; data.len().max(4096)];
        match self.s.handle_input(now, self.from, data, &mut out) {
            ServerInput::Data { .. } => self.data_rx += 1,
            ServerInput::Ping { .. } => self.pings_rx += 1,
            ServerInput::Dropped(why) => self.drops.push(why),
            ServerInput::Handled => {}
        }
        self.drain(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let p = if self.outbox.is_empty() {
            self.s.poll_transmit(now).map(|(_, p)| p)
        } else {
            Some(self.outbox.remove(0))
        };
        self.drain(now);
        p
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.s.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
        self.drain(now);
    }
}
