//! Many clients on one socket: demultiplexing by source address and P_DATA_V2 peer id,
//! address float, session creation on a client hard reset, bounded session table.
//!
//! The caller owns the socket. Per datagram it calls [`Server::handle_input`] with the
//! source address (any `Clone + Eq + Hash` type: `SocketAddr`, a TCP connection id, ...),
//! then drains [`Server::poll_transmit`] (which says where to send) and
//! [`Server::poll_event`] (events tagged with the client's peer id).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::event::Event;
use crate::session::{Input, Session};
use crate::wire::{split_first_byte, DataPacket, Opcode};

/// Builds the session for a new client given the peer id the server assigns.
pub type SessionFactory = Box<dyn FnMut(u32, Instant) -> Result<Session, Error> + Send>;

/// Result of [`Server::handle_input`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerInput {
    /// Tunnel packet from client `peer_id`, `len` bytes in the caller's buffer.
    Data {
        /// Client.
        peer_id: u32,
        /// Payload length.
        len: usize,
    },
    /// A keepalive ping from client `peer_id`.
    Ping {
        /// Client.
        peer_id: u32,
    },
    /// Control traffic was processed.
    Handled,
    /// Dropped (unknown client, bad packet, table full).
    Dropped(String),
}

struct Client<A> {
    addr: A,
    session: Session,
    down_since: Option<Instant>,
}

/// OpenVPN server core for many clients.
pub struct Server<A> {
    factory: SessionFactory,
    clients: HashMap<u32, Client<A>>,
    by_addr: HashMap<A, u32>,
    next_peer_id: u32,
    max_clients: usize,
    events: VecDeque<(u32, Event)>,
    linger: Duration,
    /// Packets dropped before reaching a session.
    pub dropped: u64,
}

impl<A: Clone + Eq + Hash> Server<A> {
    /// New server; at most `max_clients` sessions at once.
    pub fn new(factory: SessionFactory, max_clients: usize) -> Self {
        Server {
            factory,
            clients: HashMap::new(),
            by_addr: HashMap::new(),
            next_peer_id: 0,
            max_clients,
            events: VecDeque::new(),
            linger: Duration::from_secs(5),
            dropped: 0,
        }
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether there is no session.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// A client's session.
    pub fn session(&self, peer_id: u32) -> Option<&Session> {
        self.clients.get(&peer_id).map(|c| &c.session)
    }

    /// A client's current address.
    pub fn address(&self, peer_id: u32) -> Option<&A> {
        self.clients.get(&peer_id).map(|c| &c.addr)
    }

    fn drop_pkt(&mut self, why: impl Into<String>) -> ServerInput {
        self.dropped += 1;
        ServerInput::Dropped(why.into())
    }

    fn alloc_peer_id(&mut self) -> Option<u32> {
        for _ in 0..=crate::wire::PEER_ID_UNSET {
            let id = self.next_peer_id;
            self.next_peer_id = (self.next_peer_id + 1) % crate::wire::PEER_ID_UNSET;
            if !self.clients.contains_key(&id) {
                return Some(id);
            }
        }
        None
    }

    fn remove(&mut self, peer_id: u32) {
        if let Some(c) = self.clients.remove(&peer_id) {
            if self.by_addr.get(&c.addr) == Some(&peer_id) {
                self.by_addr.remove(&c.addr);
            }
        }
    }

    /// Process one packet from `from`.
    pub fn handle_input(
        &mut self,
        now: Instant,
        from: A,
        packet: &[u8],
        out: &mut [u8],
    ) -> ServerInput {
        let (op, kid) = match split_first_byte(packet) {
            Ok(x) => x,
            Err(e) => return self.drop_pkt(e.to_string()),
        };
        let peer_id = if op == Opcode::DataV2 {
            match DataPacket::parse(packet) {
                Ok(d) => d.peer_id.filter(|p| self.clients.contains_key(p)),
                Err(e) => return self.drop_pkt(e.to_string()),
            }
        } else {
            None
        }
        .or_else(|| self.by_addr.get(&from).copied());
        let is_reset = matches!(
            op,
            Opcode::ControlHardResetClientV2 | Opcode::ControlHardResetClientV3
        ) && kid == 0;
        let peer_id = match peer_id {
            Some(p) => p,
            None if is_reset => {
                if self.clients.len() >= self.max_clients {
                    return self.drop_pkt("client table full");
                }
                let Some(id) = self.alloc_peer_id() else {
                    return self.drop_pkt("no free peer id");
                };
                let session = match (self.factory)(id, now) {
                    Ok(s) => s,
                    Err(e) => return self.drop_pkt(e.to_string()),
                };
                self.clients.insert(
                    id,
                    Client {
                        addr: from.clone(),
                        session,
                        down_since: None,
                    },
                );
                self.by_addr.insert(from.clone(), id);
                id
            }
            None => return self.drop_pkt("packet from unknown client"),
        };
        let Some(c) = self.clients.get_mut(&peer_id) else {
            return self.drop_pkt("client vanished");
        };
        let floated = c.addr != from;
        if floated && !op.is_data() {
            return self.drop_pkt("control packet from another address");
        }
        let r = c.session.handle_input(now, packet, out);
        if c.session.is_down() && c.down_since.is_none() {
            c.down_since = Some(now);
        }
        while let Some(e) = c.session.poll_event() {
            self.events.push_back((peer_id, e));
        }
        let res = match r {
            Input::Data(len) => ServerInput::Data { peer_id, len },
            Input::Ping => ServerInput::Ping { peer_id },
            Input::Control => ServerInput::Handled,
            Input::Dropped(why) => {
                // A client that restarted sends a new hard reset from the same address.
                if is_reset && !floated {
                    self.remove(peer_id);
                    return self.handle_input(now, from, packet, out);
                }
                return self.drop_pkt(why);
            }
        };
        if floated {
            // Authenticated data from a new address: the client floated.
            if let Some(c) = self.clients.get_mut(&peer_id) {
                let old = std::mem::replace(&mut c.addr, from.clone());
                self.by_addr.remove(&old);
                self.by_addr.insert(from, peer_id);
            }
        }
        res
    }

    /// Encrypt a tunnel packet for client `peer_id`; returns where to send and the length.
    pub fn send_data(
        &mut self,
        now: Instant,
        peer_id: u32,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(A, usize), Error> {
        let c = self
            .clients
            .get_mut(&peer_id)
            .ok_or(Error::State("unknown peer id"))?;
        let n = c.session.send_data(now, payload, out)?;
        Ok((c.addr.clone(), n))
    }

    /// Next datagram to send and its destination.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(A, Vec<u8>)> {
        for (id, c) in self.clients.iter_mut() {
            if let Some(p) = c.session.poll_transmit(now) {
                while let Some(e) = c.session.poll_event() {
                    self.events.push_back((*id, e));
                }
                return Some((c.addr.clone(), p));
            }
        }
        None
    }

    /// Next event, tagged with the client's peer id.
    pub fn poll_event(&mut self) -> Option<(u32, Event)> {
        self.events.pop_front()
    }

    /// Earliest deadline over all sessions.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.clients
            .values()
            .filter_map(|c| match c.down_since {
                Some(d) => Some(d + self.linger),
                None => c.session.poll_timeout(),
            })
            .min()
    }

    /// Run timers of all sessions; sessions that went down are removed after a short linger
    /// (so a final AUTH_FAILED/EXIT can still be retransmitted).
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for (id, c) in self.clients.iter_mut() {
            c.session.handle_timeout(now);
            while let Some(e) = c.session.poll_event() {
                self.events.push_back((*id, e));
            }
            if c.session.is_down() {
                let since = *c.down_since.get_or_insert(now);
                if now >= since + self.linger {
                    gone.push(*id);
                }
            }
        }
        for id in gone {
            self.remove(id);
        }
    }
}
