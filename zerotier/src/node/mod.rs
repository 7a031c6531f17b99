//! The VL1 node: peers, paths, roots, relaying, WHOIS, RENDEZVOUS, keepalives.
//!
//! # Driving contract (quinn-proto style)
//! - Inputs: [`Node::handle_datagram`] (a UDP payload on one of our sockets),
//!   [`Node::handle_timeout`] (the deadline from [`Node::poll_timeout`] passed), and the user
//!   commands [`Node::send`] / [`Node::send_echo`].
//! - Outputs: drain [`Node::poll_transmit`] and [`Node::poll_event`] until `None` after every
//!   input, then re-arm the timer with [`Node::poll_timeout`].
//! - Getters: [`Node::address`], [`Node::peer`], [`Node::peers`], [`Node::stats`],
//!   [`Node::planet`], [`Node::is_online`].
//! - `now` must never go backwards. Randomness (packet IDs, the root endpoint pick, junk bytes)
//!   comes only from the RNG given to [`Node::new`].
//!
//! Timers live in a deadline heap keyed per peer, per pending WHOIS and for reassembly; the
//! node never scans all peers on a tick.

pub mod peer;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;

use crate::address::Address;
use crate::config::NodeConfig;
use crate::crypto::{self, CipherSuite, PeerKey};
use crate::error::Error;
use crate::event::{DropReason, Event, Input, PeerSource, DROP_REASONS};
use crate::fragment::{Offer, Reassembler};
use crate::identity::Identity;
use crate::timers::DeadlineHeap;
use crate::wire::verbs::{Hello, Message, Moons, OkBody, OkHello, OkMsg, PathRecord, PushDirectPaths, Rendezvous};
use crate::wire::{
    self, Fragment, Header, InetAddr, Verb, FLAG_FRAGMENTED, IDX_FLAGS, IDX_PAYLOAD, IDX_VERB, MAX_PACKET_LEN,
    MIN_FRAGMENT_LEN, MIN_PACKET_LEN, PROTO_VERSION_MIN, RELAY_MAX_HOPS, VERB_FLAG_COMPRESSED,
};
use crate::world::{World, WorldType, WorldUpdate};

pub use peer::{PeerInfo, Role};
use peer::{Path, Peer, PATH_CONFIRM_INTERVAL, PATH_HEARTBEAT_PERIOD, PEER_PATH_EXPIRATION, PEER_PING_PERIOD, PING_CHECK_INTERVAL};

/// WHOIS retry period (`ZT_WHOIS_RETRY_DELAY` 500 ms).
pub const WHOIS_RETRY_DELAY: Duration = Duration::from_millis(500);
/// A WHOIS (and the packets waiting for it) gives up after this (`ZT_RECEIVE_QUEUE_TIMEOUT`).
pub const WHOIS_TIMEOUT: Duration = Duration::from_secs(5);
/// Minimum interval between two RENDEZVOUS introductions of the same pair
/// (`ZT_MIN_UNITE_INTERVAL` 30 s).
pub const MIN_UNITE_INTERVAL: Duration = Duration::from_secs(30);
/// Packet IDs of requests we remember to match OK/ERROR replies against.
pub const EXPECTED_REPLIES: usize = 1024;
/// Most peer pairs remembered for the RENDEZVOUS rate limit.
pub const MAX_UNITE_ENTRIES: usize = 1024;

/// Which of our UDP sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalSocket {
    /// `port` (9993).
    Primary,
    /// `secondary_port`.
    Secondary,
}

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Socket to send from.
    pub local: LocalSocket,
    /// Destination.
    pub dest: SocketAddr,
    /// UDP payload.
    pub payload: Vec<u8>,
    /// IP TTL to use for this datagram only (the 4-byte NAT-opening junk sent after a
    /// RENDEZVOUS uses 2); `None` = the socket's default.
    pub ttl: Option<u8>,
}

/// Counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams received.
    pub rx_datagrams: u64,
    /// Packets authenticated and processed.
    pub rx_packets: u64,
    /// Datagrams sent.
    pub tx_datagrams: u64,
    /// Packets relayed (root role).
    pub relayed: u64,
    /// Drops per [`DropReason`] (index = `reason as usize`).
    pub drops: [u64; DROP_REASONS],
    /// Identity validations (memory-hard hashes) performed.
    pub identity_validations: u64,
}

impl Stats {
    /// Drops counted for one reason.
    pub fn dropped(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }
    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum TimerKey {
    Peer(Address),
    Whois(Address),
    Reassembly,
}

#[derive(Debug)]
struct Expect {
    peer: Address,
    verb: Verb,
    sent: Instant,
    user: bool,
}

#[derive(Debug)]
struct Whois {
    started: Instant,
    rendezvous: Option<(LocalSocket, SocketAddr)>,
    inbound: VecDeque<(LocalSocket, SocketAddr, Vec<u8>)>,
    outbound: VecDeque<(Verb, Vec<u8>)>,
}

/// A ZeroTier VL1 node. See the module docs for the driving contract.
pub struct Node {
    config: NodeConfig,
    identity: Identity,
    planet: World,
    is_root: bool,
    rng: Box<dyn CryptoRngCore + Send>,
    start: Instant,
    peers: HashMap<Address, Peer>,
    whois: HashMap<Address, Whois>,
    expecting: HashMap<u64, Expect>,
    expect_order: VecDeque<u64>,
    unite: HashMap<(Address, Address), Instant>,
    reassembly: Reassembler,
    timers: DeadlineHeap<TimerKey>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
    online: bool,
    validation_tokens: (Instant, u32),
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("address", &self.identity.address())
            .field("peers", &self.peers.len())
            .field("is_root", &self.is_root)
            .finish()
    }
}

impl Node {
    /// A node with `config` (validated), starting at `now`, drawing randomness from `rng`.
    /// The planet's roots become peers at once; the first HELLOs to them are due at `now`.
    pub fn new(config: NodeConfig, now: Instant, rng: Box<dyn CryptoRngCore + Send>) -> Result<Node, Error> {
        config.validate()?;
        let identity = config.identity.clone();
        let planet = config.planet.clone();
        let me = identity.address();
        let is_root = planet.roots.iter().any(|r| r.identity.address() == me);
        let mut node = Node {
            reassembly: Reassembler::new(config.max_reassembly),
            validation_tokens: (now, config.identity_validations_per_second),
            config,
            identity,
            planet,
            is_root,
            rng,
            start: now,
            peers: HashMap::new(),
            whois: HashMap::new(),
            expecting: HashMap::new(),
            expect_order: VecDeque::new(),
            unite: HashMap::new(),
            timers: DeadlineHeap::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            online: false,
            scratch: Vec::new(),
        };
        node.install_roots(now);
        Ok(node)
    }

    fn install_roots(&mut self, now: Instant) {
        let me = self.identity.address();
        let roots: Vec<_> = self.planet.roots.clone();
        for r in roots {
            let a = r.identity.address();
            if a == me {
                continue;
            }
            let eps: Vec<SocketAddr> = r.endpoints.iter().filter_map(InetAddr::socket_addr).collect();
            if let Some(p) = self.peers.get_mut(&a) {
                p.role = Role::Planet;
                p.stable_endpoints = eps;
                continue;
            }
            let Some(raw) = self.identity.agree(&r.identity) else {
                continue;
            };
            let mut p = Peer::new(r.identity.clone(), PeerKey::new(raw), Role::Planet, now);
            p.stable_endpoints = eps;
            self.peers.insert(a, p);
            self.events.push_back(Event::PeerAdded {
                peer: a,
                source: PeerSource::Planet,
            });
            self.timers.set(TimerKey::Peer(a), now);
        }
    }

    // ----- getters -------------------------------------------------------------------------

    /// Our address.
    pub fn address(&self) -> Address {
        self.identity.address()
    }
    /// Our identity (with secret).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
    /// The current planet.
    pub fn planet(&self) -> &World {
        &self.planet
    }
    /// Whether we are one of the planet's roots (and so relay and introduce).
    pub fn is_root(&self) -> bool {
        self.is_root
    }
    /// Whether a root answered recently (a path to a root is not expired).
    pub fn is_online(&self) -> bool {
        self.online
    }
    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    /// One peer.
    pub fn peer(&self, a: Address, now: Instant) -> Option<PeerInfo> {
        self.peers.get(&a).map(|p| p.info(now))
    }
    /// All peers, sorted by address.
    pub fn peers(&self, now: Instant) -> Vec<PeerInfo> {
        let mut v: Vec<_> = self.peers.values().map(|p| p.info(now)).collect();
        v.sort_by_key(|p| p.address);
        v
    }
    /// Peers held.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }
    /// Addresses with a WHOIS pending.
    pub fn whois_pending(&self) -> usize {
        self.whois.len()
    }
    /// Partial packets held for reassembly.
    pub fn reassembly_pending(&self) -> usize {
        self.reassembly.len()
    }
    /// The peer key (for decoding captures of our own traffic, e.g. the tour).
    pub fn peer_key(&self, a: Address) -> Option<&PeerKey> {
        self.peers.get(&a).map(|p| &p.key)
    }

    // ----- outputs -------------------------------------------------------------------------

    /// Next datagram to send.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        self.transmits.pop_front()
    }
    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
    /// Earliest deadline at which [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    fn drop(&mut self, r: DropReason) -> Input {
        self.stats.drops[r as usize] += 1;
        Input::Dropped(r)
    }

    fn ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.start).as_millis() as u64
    }

    fn random_id(&mut self) -> u64 {
        loop {
            let v = self.rng.next_u64();
            if v != 0 {
                return v;
            }
        }
    }

    // ----- input ---------------------------------------------------------------------------

    /// A UDP datagram arrived on our socket `local` from `from`.
    pub fn handle_datagram(&mut self, now: Instant, local: LocalSocket, from: SocketAddr, data: &[u8]) -> Input {
        self.stats.rx_datagrams += 1;
        if data.len() > MAX_PACKET_LEN {
            return self.drop(DropReason::Oversized);
        }
        if data.len() <= MIN_FRAGMENT_LEN {
            return self.drop(DropReason::Truncated);
        }
        let me = self.identity.address();
        if wire::is_fragment(data) {
            let f = match Fragment::parse(data) {
                Ok(f) => f,
                Err(_) => return self.drop(DropReason::Truncated),
            };
            if f.dest != me {
                return self.relay(now, data, f.dest, None);
            }
            let offer = self.reassembly.offer_fragment(now, &f);
            return self.after_offer(now, local, from, offer);
        }
        if data.len() < MIN_PACKET_LEN {
            return self.drop(DropReason::Truncated);
        }
        let Ok(h) = Header::parse(data) else {
            return self.drop(DropReason::Truncated);
        };
        if h.source == me {
            return self.drop(DropReason::FromSelf);
        }
        if h.dest != me {
            return self.relay(now, data, h.dest, Some(h.source));
        }
        if h.fragmented() {
            let offer = self.reassembly.offer_head(now, h.packet_id, data);
            return self.after_offer(now, local, from, offer);
        }
        self.process_packet(now, local, from, data.to_vec())
    }

    fn after_offer(&mut self, now: Instant, local: LocalSocket, from: SocketAddr, offer: Offer) -> Input {
        if let Some(t) = self.reassembly.next_expiry() {
            self.timers.set(TimerKey::Reassembly, t);
        }
        match offer {
            Offer::Stored => Input::Buffered,
            Offer::Dropped(r) => self.drop(r),
            Offer::Complete(p) => {
                if p.len() < MIN_PACKET_LEN {
                    return self.drop(DropReason::Truncated);
                }
                if Address::from_slice(&p[13..]) == Some(self.identity.address()) {
                    return self.drop(DropReason::FromSelf);
                }
                self.process_packet(now, local, from, p)
            }
        }
    }

    /// Root role: forward a packet or fragment not addressed to us.
    fn relay(&mut self, now: Instant, data: &[u8], dest: Address, source: Option<Address>) -> Input {
        if !self.is_root {
            return self.drop(DropReason::NotForUs);
        }
        if wire::hops_of(data) >= RELAY_MAX_HOPS {
            return self.drop(DropReason::HopLimit);
        }
        let Some(path) = self.peers.get(&dest).and_then(|p| p.best_path(now)).map(|p| (p.local, p.remote)) else {
            return self.drop(DropReason::NoRoute);
        };
        let mut d = data.to_vec();
        wire::increment_hops(&mut d);
        self.push_tx(path.0, path.1, d, None);
        if let Some(p) = self.peers.get_mut(&dest) {
            if let Some(i) = p.best_path_index(now) {
                p.paths[i].last_out = Some(now);
            }
        }
        self.stats.relayed += 1;
        if let Some(src) = source {
            if self.should_unite(now, src, dest) {
                self.introduce(now, src, dest);
            }
        }
        Input::Relayed
    }

    fn should_unite(&mut self, now: Instant, a: Address, b: Address) -> bool {
        let key = if a < b { (a, b) } else { (b, a) };
        if self.unite.get(&key).is_some_and(|t| now.saturating_duration_since(*t) < MIN_UNITE_INTERVAL) {
            return false;
        }
        if self.unite.len() >= MAX_UNITE_ENTRIES {
            self.unite.retain(|_, t| now.saturating_duration_since(*t) < MIN_UNITE_INTERVAL);
            if self.unite.len() >= MAX_UNITE_ENTRIES {
                return false;
            }
        }
        self.unite.insert(key, now);
        true
    }

    /// Send RENDEZVOUS to both peers, each naming the other's best path of the same family.
    fn introduce(&mut self, now: Instant, a: Address, b: Address) {
        let (Some(pa), Some(pb)) = (self.peers.get(&a), self.peers.get(&b)) else {
            return;
        };
        let (Some(path_a), Some(path_b)) = (pa.best_path(now), pb.best_path(now)) else {
            return;
        };
        if path_a.remote.is_ipv4() != path_b.remote.is_ipv4() {
            return;
        }
        let (ra, rb) = (path_a.remote, path_b.remote);
        let first_a = self.rng.next_u32() & 1 == 0;
        let send = |node: &mut Node, to: Address, other: Address, at: SocketAddr| {
            let mut p = Vec::with_capacity(32);
            Rendezvous {
                flags: 0,
                address: other,
                port: at.port(),
                ip: at.ip(),
                trailing: Vec::new(),
            }
            .emit(&mut p);
            node.send_packet(now, to, Verb::Rendezvous, &p, false);
        };
        if first_a {
            send(self, a, b, rb);
            send(self, b, a, ra);
        } else {
            send(self, b, a, ra);
            send(self, a, b, rb);
        }
        self.events.push_back(Event::Introduced { a, b });
    }

    fn process_packet(&mut self, now: Instant, local: LocalSocket, from: SocketAddr, mut pkt: Vec<u8>) -> Input {
        let Ok(h) = Header::parse(&pkt) else {
            return self.drop(DropReason::Truncated);
        };
        let verb_plain = Verb::from_u8(pkt[IDX_VERB]);
        if h.cipher() == Some(CipherSuite::Poly1305None) && verb_plain == Verb::Hello {
            return self.handle_hello(now, local, from, pkt, h);
        }
        if !self.peers.contains_key(&h.source) {
            return self.queue_for_whois(now, h.source, local, from, pkt);
        }
        let res = match self.peers.get(&h.source) {
            Some(p) => crypto::dearmor(&mut pkt, &p.key),
            None => return self.drop(DropReason::NoRoute),
        };
        match res {
            Ok(_) => {}
            Err(crypto::DearmorError::BadMac) | Err(crypto::DearmorError::Truncated) => {
                return self.drop(DropReason::BadMac)
            }
            Err(crypto::DearmorError::UnsupportedCipher(_)) => return self.drop(DropReason::UnsupportedCipher),
        }
        let packet_id = u64::from_be_bytes(crypto::first_n(&pkt));
        if self.peers.get_mut(&h.source).is_some_and(|p| p.seen(packet_id)) {
            return self.drop(DropReason::Replay);
        }
        let payload = match self.payload_of(&pkt) {
            Ok(p) => p,
            Err(r) => return self.drop(r),
        };
        let verb = Verb::from_u8(pkt[IDX_VERB]);
        let msg = match Message::parse(verb, &payload) {
            Ok(m) => m,
            Err(_) => return self.drop(DropReason::BadPayload),
        };
        // An OK/ERROR must answer something we sent.
        if let Message::Ok(OkMsg { in_re_packet_id, .. }) | Message::Error(crate::wire::verbs::ErrorMsg { in_re_packet_id, .. }) = &msg {
            let in_re = match &msg {
                Message::Ok(o) => o.in_re_verb,
                Message::Error(e) => e.in_re_verb,
                _ => Verb::Nop,
            };
            if !self.expecting.get(in_re_packet_id).is_some_and(|e| e.peer == h.source && e.verb == in_re) {
                return self.drop(DropReason::UnexpectedReply);
            }
        }
        self.stats.rx_packets += 1;
        self.peer_received(now, h.source, local, from, h.hops(), verb);
        self.dispatch(now, h, packet_id, local, from, verb, msg, payload)
    }

    fn payload_of(&mut self, pkt: &[u8]) -> Result<Vec<u8>, DropReason> {
        if pkt[IDX_VERB] & VERB_FLAG_COMPRESSED != 0 {
            let mut out = std::mem::take(&mut self.scratch);
            let r = wire::lz4_decompress(&pkt[IDX_PAYLOAD..], &mut out);
            let v = out.clone();
            self.scratch = out;
            r.map(|_| v).map_err(|_| DropReason::BadCompression)
        } else {
            Ok(pkt[IDX_PAYLOAD..].to_vec())
        }
    }

    /// Path learning (ZeroTierOne `Peer::received`): on a direct packet (hops 0) from an
    /// unknown address, an OK confirms the path; anything else makes us send a HELLO there
    /// (at most once a second per address) so its OK can confirm it.
    fn peer_received(&mut self, now: Instant, a: Address, local: LocalSocket, from: SocketAddr, hops: u8, verb: Verb) {
        let max_paths = self.config.max_paths_per_peer;
        let was_online = self.online;
        let Some(p) = self.peers.get_mut(&a) else {
            return;
        };
        p.last_receive = Some(now);
        if matches!(verb, Verb::Frame | Verb::ExtFrame | Verb::MulticastFrame | Verb::NetworkConfig | Verb::NetworkConfigRequest) {
            p.last_user_traffic = Some(now);
        }
        if p.is_root() {
            self.online = true;
        }
        let mut confirm = false;
        if hops == 0 {
            if let Some(path) = p.paths.iter_mut().find(|x| x.local == local && x.remote == from) {
                path.last_in = now;
            } else if verb == Verb::Ok {
                if p.paths.len() >= max_paths {
                    // Replace the path heard from least recently.
                    if let Some(i) = p.paths.iter().enumerate().min_by_key(|(_, x)| x.last_in).map(|(i, _)| i) {
                        p.paths.remove(i);
                    }
                }
                p.paths.push(Path {
                    local,
                    remote: from,
                    last_in: now,
                    last_out: Some(now),
                });
                self.events.push_back(Event::PathConfirmed {
                    peer: a,
                    local,
                    remote: from,
                });
            } else {
                p.confirm_attempts.retain(|(_, t)| now.saturating_duration_since(*t) < PATH_CONFIRM_INTERVAL);
                if !p.confirm_attempts.iter().any(|(x, _)| *x == from) && p.confirm_attempts.len() < 16 {
                    p.confirm_attempts.push((from, now));
                    confirm = true;
                }
            }
        }
        if confirm {
            self.send_hello(now, a, Some((local, from)));
        }
        if !was_online && self.online {
            self.events.push_back(Event::Online);
        }
        self.rearm_peer(now, a);
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(&mut self, now: Instant, h: Header, packet_id: u64, local: LocalSocket, from: SocketAddr, verb: Verb, msg: Message, payload: Vec<u8>) -> Input {
        let src = h.source;
        match msg {
            Message::Nop(_) => {}
            Message::Hello(_) => {} // HELLO always arrives with cipher 0 (handled before)
            Message::Ok(ok) => return self.handle_ok(now, h, local, from, ok, payload),
            Message::Whois(addrs) => {
                let mut out = vec![Verb::Whois.to_u8()];
                out.extend_from_slice(&packet_id.to_be_bytes());
                let mut any = false;
                for a in addrs {
                    let id = if a == self.identity.address() {
                        Some(self.identity.public_only())
                    } else {
                        self.peers.get(&a).map(|p| p.identity.clone())
                    };
                    if let Some(id) = id {
                        id.emit(&mut out, false);
                        any = true;
                    }
                }
                if any {
                    self.send_reply(now, src, local, from, &out);
                }
            }
            Message::Rendezvous(r) => {
                if !self.peers.get(&src).is_some_and(Peer::is_root) {
                    return self.drop(DropReason::NotFromRoot);
                }
                if r.address == self.identity.address() {
                    return self.drop(DropReason::BadPayload);
                }
                let at = SocketAddr::new(r.ip, r.port);
                if !self.peers.contains_key(&r.address) {
                    // Not known yet (its relayed packet may be waiting for the same WHOIS):
                    // keep the hint until the identity arrives.
                    let new = !self.whois.contains_key(&r.address);
                    if new && self.whois.len() >= self.config.max_whois_pending {
                        return self.drop(DropReason::WhoisQueueFull);
                    }
                    let w = self.whois.entry(r.address).or_insert_with(|| Whois {
                        started: now,
                        rendezvous: None,
                        inbound: VecDeque::new(),
                        outbound: VecDeque::new(),
                    });
                    w.rendezvous = Some((local, at));
                    if new {
                        self.send_whois(now, r.address);
                    }
                    return Input::Delivered;
                }
                self.rendezvous(now, r.address, local, at);
            }
            Message::Echo(p) => {
                let mut out = vec![Verb::Echo.to_u8()];
                out.extend_from_slice(&packet_id.to_be_bytes());
                out.extend_from_slice(&p);
                self.send_reply(now, src, local, from, &out);
                self.events.push_back(Event::EchoAnswered { peer: src, local, from });
            }
            Message::PushDirectPaths(pd) => self.handle_push(now, src, local, pd),
            Message::Error(_) | Message::Frame(_) | Message::ExtFrame(_) | Message::MulticastLike(_)
            | Message::NetworkCredentials(_) | Message::NetworkConfigRequest(_) | Message::NetworkConfig(_)
            | Message::MulticastGather(_) | Message::MulticastFrame(_) | Message::Other(..) => {
                self.events.push_back(Event::Received {
                    peer: src,
                    verb,
                    packet_id,
                    hops: h.hops(),
                    payload,
                });
            }
        }
        Input::Delivered
    }

    /// Act on a RENDEZVOUS: a 4-byte junk datagram with TTL 2 to open NATs and stateful
    /// firewalls on our side, then an ECHO (peer announced protocol 5+) or a HELLO there.
    fn rendezvous(&mut self, now: Instant, peer: Address, local: LocalSocket, at: SocketAddr) {
        let junk = self.rng.next_u32().to_be_bytes().to_vec();
        self.push_tx(local, at, junk, Some(2));
        let proto = self.peers.get(&peer).map_or(0, |p| p.protocol_version);
        if proto >= 5 {
            self.send_echo_probe(now, peer, local, at);
        } else {
            self.send_hello(now, peer, Some((local, at)));
        }
        self.events.push_back(Event::Rendezvous { peer, at });
    }

    fn handle_push(&mut self, now: Instant, src: Address, local: LocalSocket, pd: PushDirectPaths) {
        let (limit, window) = peer::PUSH_DIRECT_PATHS_CUTOFF;
        let mut targets = Vec::new();
        if let Some(p) = self.peers.get_mut(&src) {
            if now.saturating_duration_since(p.push_window.0) >= window {
                p.push_window = (now, 0);
            }
            for r in &pd.paths {
                let Some(a) = r.socket_addr() else { continue };
                if p.push_window.1 >= limit {
                    break;
                }
                if p.paths.iter().any(|x| x.remote == a && x.alive(now)) {
                    continue;
                }
                p.push_window.1 += 1;
                targets.push(a);
            }
        }
        for a in targets {
            self.send_hello(now, src, Some((local, a)));
        }
    }

    fn handle_ok(&mut self, now: Instant, h: Header, _local: LocalSocket, _from: SocketAddr, ok: OkMsg, payload: Vec<u8>) -> Input {
        let src = h.source;
        let Some(exp) = self.expecting.get(&ok.in_re_packet_id) else {
            return self.drop(DropReason::UnexpectedReply);
        };
        let (sent, user) = (exp.sent, exp.user);
        match ok.body {
            OkBody::Hello(oh) => self.handle_ok_hello(now, src, sent, oh),
            OkBody::Whois(ids) => {
                if !self.peers.get(&src).is_some_and(Peer::is_root) {
                    return self.drop(DropReason::NotFromRoot);
                }
                for id in ids {
                    self.learn_whois(now, id);
                }
            }
            OkBody::Echo(p) => {
                if user {
                    self.events.push_back(Event::EchoReply {
                        peer: src,
                        packet_id: ok.in_re_packet_id,
                        rtt: now.saturating_duration_since(sent),
                        hops: h.hops(),
                        payload: p,
                    });
                }
            }
            _ => {
                self.events.push_back(Event::Received {
                    peer: src,
                    verb: Verb::Ok,
                    packet_id: u64::from_be_bytes(crypto::first_n(&h.packet_id.to_be_bytes())),
                    hops: h.hops(),
                    payload,
                });
            }
        }
        Input::Delivered
    }

    fn handle_ok_hello(&mut self, now: Instant, src: Address, sent: Instant, oh: OkHello) {
        let latency = now.saturating_duration_since(sent);
        let is_root = self.peers.get(&src).is_some_and(Peer::is_root);
        if let Some(p) = self.peers.get_mut(&src) {
            p.latency = Some(latency);
            let changed = p.protocol_version != oh.protocol_version;
            p.protocol_version = oh.protocol_version;
            p.version = (oh.major, oh.minor, oh.revision);
            if changed {
                self.events.push_back(Event::PeerHello {
                    peer: src,
                    protocol_version: oh.protocol_version,
                    version: (oh.major, oh.minor, oh.revision),
                });
            }
        }
        self.events.push_back(Event::HelloAcknowledged {
            peer: src,
            latency,
            external: oh.dest_addr.as_ref().and_then(InetAddr::socket_addr),
        });
        if let Some(w) = oh.world_updates.filter(|w| !w.is_empty()) {
            if !is_root {
                self.stats.drops[DropReason::NotFromRoot as usize] += 1;
                return;
            }
            let mut off = 0;
            while off < w.len() {
                let Ok((world, n)) = World::parse_prefix(&w[off..]) else {
                    self.stats.drops[DropReason::BadPayload as usize] += 1;
                    return;
                };
                off += n;
                if world.kind != WorldType::Planet {
                    continue; // moons: not followed here
                }
                match self.planet.check_update(&world) {
                    WorldUpdate::Accepted => {
                        self.planet = world;
                        self.is_root = self.planet.roots.iter().any(|r| r.identity.address() == self.identity.address());
                        self.install_roots(now);
                        self.events.push_back(Event::PlanetUpdated {
                            timestamp: self.planet.timestamp,
                        });
                    }
                    WorldUpdate::BadSignature => self.stats.drops[DropReason::BadWorldSignature as usize] += 1,
                    WorldUpdate::NotNewer | WorldUpdate::Unrelated => {}
                }
            }
        }
    }

    fn validation_allowed(&mut self, now: Instant) -> bool {
        let rate = self.config.identity_validations_per_second;
        let (t, tokens) = self.validation_tokens;
        let refill = (now.saturating_duration_since(t).as_millis() as u64 * u64::from(rate) / 1000) as u32;
        let mut tokens = tokens.saturating_add(refill).min(rate);
        let t = if refill > 0 { now } else { t };
        let ok = tokens > 0;
        if ok {
            tokens -= 1;
        }
        self.validation_tokens = (t, tokens);
        ok
    }

    fn learn_whois(&mut self, now: Instant, id: Identity) {
        let a = id.address();
        if !self.whois.contains_key(&a) || self.peers.contains_key(&a) {
            return;
        }
        if !self.validation_allowed(now) {
            self.stats.drops[DropReason::ValidationRateLimited as usize] += 1;
            return;
        }
        self.stats.identity_validations += 1;
        if !id.locally_validate() {
            self.stats.drops[DropReason::InvalidIdentity as usize] += 1;
            return;
        }
        let Some(raw) = self.identity.agree(&id) else { return };
        self.add_peer(now, Peer::new(id, PeerKey::new(raw), Role::Leaf, now), PeerSource::Whois);
    }

    /// A peer became known (HELLO or OK(WHOIS)): finish its WHOIS, send what waited for it,
    /// process what it sent meanwhile.
    fn flush_whois(&mut self, now: Instant, a: Address) {
        self.timers.cancel(TimerKey::Whois(a));
        if let Some(w) = self.whois.remove(&a) {
            self.events.push_back(Event::WhoisResolved { peer: a });
            if let Some((l, at)) = w.rendezvous {
                self.rendezvous(now, a, l, at);
            }
            for (verb, p) in w.outbound {
                self.send_packet(now, a, verb, &p, verb == Verb::Echo);
            }
            for (local, from, pkt) in w.inbound {
                let _ = self.process_packet(now, local, from, pkt);
            }
        }
    }

    fn add_peer(&mut self, now: Instant, p: Peer, source: PeerSource) {
        let a = p.identity.address();
        if self.peers.len() >= self.config.max_peers {
            let victim = self
                .peers
                .iter()
                .filter(|(_, x)| !x.is_root())
                .min_by_key(|(_, x)| x.last_receive.unwrap_or(x.created))
                .map(|(k, _)| *k);
            if let Some(v) = victim {
                self.remove_peer(v);
            } else {
                return;
            }
        }
        self.peers.insert(a, p);
        self.events.push_back(Event::PeerAdded { peer: a, source });
        self.rearm_peer(now, a);
        self.flush_whois(now, a);
    }

    fn remove_peer(&mut self, a: Address) {
        if self.peers.remove(&a).is_some() {
            self.timers.cancel(TimerKey::Peer(a));
            self.events.push_back(Event::PeerRemoved { peer: a });
        }
    }

    fn queue_for_whois(&mut self, now: Instant, src: Address, local: LocalSocket, from: SocketAddr, pkt: Vec<u8>) -> Input {
        if self.upstream(now).is_none() {
            return self.drop(DropReason::NoRoute);
        }
        let maxq = self.config.max_queued_per_whois;
        if let Some(w) = self.whois.get_mut(&src) {
            if w.inbound.len() >= maxq {
                return self.drop(DropReason::WhoisQueueFull);
            }
            w.inbound.push_back((local, from, pkt));
            return Input::Queued;
        }
        if self.whois.len() >= self.config.max_whois_pending {
            return self.drop(DropReason::WhoisQueueFull);
        }
        let mut w = Whois {
            started: now,
            rendezvous: None,
            inbound: VecDeque::new(),
            outbound: VecDeque::new(),
        };
        w.inbound.push_back((local, from, pkt));
        self.whois.insert(src, w);
        self.send_whois(now, src);
        Input::Queued
    }

    fn send_whois(&mut self, now: Instant, a: Address) {
        if let Some(root) = self.upstream(now) {
            self.send_packet(now, root, Verb::Whois, &a.to_bytes(), false);
        }
        self.timers.set(TimerKey::Whois(a), now + WHOIS_RETRY_DELAY);
    }

    /// The root to use: one with an alive path and the lowest latency, else any root with a
    /// path, else any root.
    fn upstream(&self, now: Instant) -> Option<Address> {
        self.peers
            .values()
            .filter(|p| p.is_root())
            .max_by_key(|p| {
                (
                    p.has_alive_path(now),
                    p.best_path(now).is_some(),
                    std::cmp::Reverse(p.latency.unwrap_or(Duration::MAX)),
                    std::cmp::Reverse(p.identity.address()),
                )
            })
            .map(|p| p.identity.address())
    }

    fn handle_hello(&mut self, now: Instant, local: LocalSocket, from: SocketAddr, mut pkt: Vec<u8>, h: Header) -> Input {
        let hello = match Hello::parse(&pkt[IDX_PAYLOAD..]) {
            Ok(x) => x,
            Err(_) => return self.drop(DropReason::BadPayload),
        };
        if hello.protocol_version < PROTO_VERSION_MIN {
            return self.drop(DropReason::BadProtocolVersion);
        }
        let src = h.source;
        if hello.identity.address() != src {
            return self.drop(DropReason::InvalidIdentity);
        }
        let known = match self.peers.get(&src) {
            Some(p) if p.identity != hello.identity => return self.drop(DropReason::IdentityCollision),
            Some(_) => true,
            None => false,
        };
        if known {
            let ok = self.peers.get(&src).map(|p| crypto::dearmor(&mut pkt, &p.key));
            if !matches!(ok, Some(Ok(_))) {
                return self.drop(DropReason::BadMac);
            }
        } else {
            if !self.validation_allowed(now) {
                return self.drop(DropReason::ValidationRateLimited);
            }
            let Some(raw) = self.identity.agree(&hello.identity) else {
                return self.drop(DropReason::InvalidIdentity);
            };
            let key = PeerKey::new(raw);
            if crypto::dearmor(&mut pkt, &key).is_err() {
                return self.drop(DropReason::BadMac);
            }
            self.stats.identity_validations += 1;
            if !hello.identity.locally_validate() {
                return self.drop(DropReason::InvalidIdentity);
            }
            self.add_peer(now, Peer::new(hello.identity.clone(), key, Role::Leaf, now), PeerSource::Hello);
            if !self.peers.contains_key(&src) {
                return self.drop(DropReason::NoRoute);
            }
        }
        if self.peers.get_mut(&src).is_some_and(|p| p.seen(h.packet_id)) {
            return self.drop(DropReason::Replay);
        }
        // Decrypt the moon list (kept for completeness; moons are not followed).
        let tail = IDX_PAYLOAD + hello.tail_offset();
        if let Some(p) = self.peers.get(&src) {
            crypto::crypt_field(&mut pkt, &p.key, tail);
        }
        let _moons = Moons::parse(pkt.get(tail..).unwrap_or(&[])).unwrap_or_default();
        self.stats.rx_packets += 1;
        if let Some(p) = self.peers.get_mut(&src) {
            let v = (hello.major, hello.minor, hello.revision);
            if p.protocol_version != hello.protocol_version || p.version != v {
                p.protocol_version = hello.protocol_version;
                p.version = v;
                self.events.push_back(Event::PeerHello {
                    peer: src,
                    protocol_version: hello.protocol_version,
                    version: v,
                });
            }
        }
        // OK(HELLO): echo, our versions, where the HELLO came from, a newer planet if theirs
        // is older.
        let mut world_updates = Vec::new();
        if let Some((id, ts)) = hello.planet {
            if id == self.planet.id && ts < self.planet.timestamp {
                world_updates = self.planet.to_bytes();
            }
        }
        let (maj, min, rev) = self.config.software_version;
        let ok = OkHello {
            timestamp_echo: hello.timestamp,
            protocol_version: self.config.protocol_version,
            major: maj,
            minor: min,
            revision: rev,
            dest_addr: Some(InetAddr::Ip(from)),
            world_updates: Some(world_updates),
        };
        let mut out = vec![Verb::Hello.to_u8()];
        out.extend_from_slice(&h.packet_id.to_be_bytes());
        ok.emit(&mut out);
        self.send_reply(now, src, local, from, &out);
        // Path learning after the reply, as ZeroTierOne does: the OK goes out first, then a
        // HELLO confirms an unknown path.
        self.peer_received(now, src, local, from, h.hops(), Verb::Hello);
        Input::Delivered
    }

    // ----- timers --------------------------------------------------------------------------

    /// The deadline from [`poll_timeout`](Self::poll_timeout) passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(k) = self.timers.pop_due(now) {
            match k {
                TimerKey::Peer(a) => self.service_peer(now, a),
                TimerKey::Whois(a) => self.service_whois(now, a),
                TimerKey::Reassembly => {
                    let n = self.reassembly.expire(now);
                    self.stats.drops[DropReason::ReassemblyTimeout as usize] += n as u64;
                    if let Some(t) = self.reassembly.next_expiry() {
                        self.timers.set(TimerKey::Reassembly, t);
                    }
                }
            }
        }
    }

    fn service_whois(&mut self, now: Instant, a: Address) {
        let Some(w) = self.whois.get(&a) else { return };
        if now.saturating_duration_since(w.started) >= WHOIS_TIMEOUT {
            if let Some(w) = self.whois.remove(&a) {
                self.stats.drops[DropReason::WhoisTimeout as usize] += (w.inbound.len() + w.outbound.len()) as u64;
            }
            self.events.push_back(Event::WhoisFailed { peer: a });
            return;
        }
        self.send_whois(now, a);
    }

    fn peer_active(&self, p: &Peer, now: Instant) -> bool {
        p.is_root()
            || p
                .last_user_traffic
                .is_some_and(|t| now.saturating_duration_since(t) < self.config.peer_activity_timeout)
    }

    fn rearm_peer(&mut self, now: Instant, a: Address) {
        let Some(p) = self.peers.get(&a) else { return };
        let mut next: Option<Instant> = None;
        let mut take = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        for path in &p.paths {
            take(path.last_in + PEER_PATH_EXPIRATION);
        }
        if self.peer_active(p, now) {
            if p.is_root() && !p.has_alive_path(now) {
                take(p.last_root_contact.map_or(now, |t| t + PING_CHECK_INTERVAL));
            }
            if !p.paths.is_empty() {
                take(p.last_full_hello.map_or(now, |t| t + PEER_PING_PERIOD));
                for path in p.paths.iter().filter(|x| !x.expired(now)) {
                    take(path.last_out.map_or(now, |t| t + PATH_HEARTBEAT_PERIOD));
                }
            }
            if let Some(t) = p.last_user_traffic {
                if !p.is_root() {
                    take(t + self.config.peer_activity_timeout);
                }
            }
        }
        if !p.is_root() {
            take(p.last_receive.unwrap_or(p.created) + self.config.peer_expiration);
        }
        match next {
            Some(t) => self.timers.set(TimerKey::Peer(a), t.max(now)),
            None => self.timers.cancel(TimerKey::Peer(a)),
        }
    }

    fn service_peer(&mut self, now: Instant, a: Address) {
        let expiration = self.config.peer_expiration;
        let active = match self.peers.get(&a) {
            Some(p) => self.peer_active(p, now),
            None => return,
        };
        let Some(p) = self.peers.get_mut(&a) else { return };
        let mut expired = Vec::new();
        p.paths.retain(|x| {
            if x.expired(now) {
                expired.push(x.remote);
                false
            } else {
                true
            }
        });
        for remote in expired {
            self.events.push_back(Event::PathExpired { peer: a, remote });
        }
        let Some(p) = self.peers.get(&a) else { return };
        if !p.is_root() && now.saturating_duration_since(p.last_receive.unwrap_or(p.created)) >= expiration {
            self.remove_peer(a);
            return;
        }
        if active {
            self.keepalive(now, a);
        }
        if self.online && !self.peers.values().any(|p| p.is_root() && !p.paths.is_empty()) {
            self.online = false;
            self.events.push_back(Event::Offline);
        }
        self.rearm_peer(now, a);
    }

    /// `Peer::doPingAndKeepalive` plus the root contact rule: a full HELLO on every path each
    /// 60 s, an ECHO on a path not sent on for 14 s; a root without an alive path gets a HELLO
    /// to one stable endpoint per address family every 5 s.
    fn keepalive(&mut self, now: Instant, a: Address) {
        let Some(p) = self.peers.get_mut(&a) else { return };
        let mut hellos: Vec<(LocalSocket, SocketAddr)> = Vec::new();
        let mut echoes: Vec<(LocalSocket, SocketAddr)> = Vec::new();
        let full = p.last_full_hello.is_none_or(|t| now.saturating_duration_since(t) >= PEER_PING_PERIOD);
        if !p.paths.is_empty() && full {
            p.last_full_hello = Some(now);
        }
        let old = p.protocol_version < 5;
        for path in p.paths.iter_mut() {
            let due = path.last_out.is_none_or(|t| now.saturating_duration_since(t) >= PATH_HEARTBEAT_PERIOD);
            if full || due {
                if full || old {
                    hellos.push((path.local, path.remote));
                } else {
                    echoes.push((path.local, path.remote));
                }
                path.last_out = Some(now);
            }
        }
        let root_contact = p.is_root()
            && !p.has_alive_path(now)
            && p.last_root_contact.is_none_or(|t| now.saturating_duration_since(t) >= PING_CHECK_INTERVAL);
        let mut eps = Vec::new();
        if root_contact {
            p.last_root_contact = Some(now);
            p.last_full_hello = Some(now);
            for v4 in [true, false] {
                let fam: Vec<SocketAddr> = p.stable_endpoints.iter().copied().filter(|e| e.is_ipv4() == v4).collect();
                if !fam.is_empty() {
                    eps.push(fam);
                }
            }
        }
        for fam in eps {
            let i = (self.rng.next_u32() as usize) % fam.len();
            let ep = fam[i];
            if !hellos.iter().any(|(_, r)| *r == ep) {
                hellos.push((LocalSocket::Primary, ep));
            }
        }
        for (l, r) in hellos {
            self.send_hello(now, a, Some((l, r)));
        }
        for (l, r) in echoes {
            self.send_echo_probe(now, a, l, r);
        }
    }

    // ----- output construction -------------------------------------------------------------

    fn expect(&mut self, now: Instant, id: u64, peer: Address, verb: Verb, user: bool) {
        if self.expect_order.len() >= EXPECTED_REPLIES {
            if let Some(old) = self.expect_order.pop_front() {
                self.expecting.remove(&old);
            }
        }
        self.expect_order.push_back(id);
        self.expecting.insert(id, Expect { peer, verb, sent: now, user });
    }

    fn push_tx(&mut self, local: LocalSocket, dest: SocketAddr, payload: Vec<u8>, ttl: Option<u8>) {
        self.stats.tx_datagrams += 1;
        self.transmits.push_back(Transmit { local, dest, payload, ttl });
    }

    fn header(&mut self, dest: Address, verb: Verb) -> Vec<u8> {
        let mut b = Vec::with_capacity(128);
        let id = self.random_id();
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&dest.to_bytes());
        b.extend_from_slice(&self.identity.address().to_bytes());
        b.push(0);
        b.extend_from_slice(&[0; 8]);
        b.push(verb.to_u8());
        b
    }

    /// HELLO to `a`, at `at` if given, else along its best path or via the upstream.
    fn send_hello(&mut self, now: Instant, a: Address, at: Option<(LocalSocket, SocketAddr)>) {
        let Some(key) = self.peers.get(&a).map(|p| p.key.clone()) else { return };
        let mut pkt = self.header(a, Verb::Hello);
        let (maj, min, rev) = self.config.software_version;
        let hello = Hello {
            protocol_version: self.config.protocol_version,
            major: maj,
            minor: min,
            revision: rev,
            timestamp: self.ms(now),
            identity: self.identity.public_only(),
            dest_addr: Some(at.map_or(InetAddr::Nil, |x| InetAddr::Ip(x.1))),
            planet: Some((self.planet.id, self.planet.timestamp)),
            encrypted_tail: {
                let mut t = Vec::new();
                Moons::default().emit(&mut t);
                t
            },
        };
        hello.emit(&mut pkt);
        let tail = IDX_PAYLOAD + hello.tail_offset();
        crypto::crypt_field(&mut pkt, &key, tail);
        let id = u64::from_be_bytes(crypto::first_n(&pkt));
        self.expect(now, id, a, Verb::Hello, false);
        match at {
            Some((l, r)) => {
                crypto::armor(&mut pkt, &key, CipherSuite::Poly1305None);
                self.push_tx(l, r, pkt, None);
                if let Some(p) = self.peers.get_mut(&a) {
                    if let Some(path) = p.paths.iter_mut().find(|x| x.local == l && x.remote == r) {
                        path.last_out = Some(now);
                    }
                }
            }
            None => self.route(now, a, pkt, CipherSuite::Poly1305None),
        }
    }

    /// An ECHO with empty payload at an explicit address (path heartbeat / confirmation).
    fn send_echo_probe(&mut self, now: Instant, a: Address, local: LocalSocket, at: SocketAddr) {
        let Some((key, suite)) = self.peers.get(&a).map(|p| (p.key.clone(), p.cipher())) else { return };
        let mut pkt = self.header(a, Verb::Echo);
        crypto::armor(&mut pkt, &key, suite);
        let id = u64::from_be_bytes(crypto::first_n(&pkt));
        self.expect(now, id, a, Verb::Echo, false);
        self.push_tx(local, at, pkt, None);
    }

    /// A reply (OK/ERROR) straight back on the path the request came from.
    fn send_reply(&mut self, _now: Instant, to: Address, local: LocalSocket, at: SocketAddr, ok_payload: &[u8]) {
        let Some((key, suite)) = self.peers.get(&to).map(|p| (p.key.clone(), p.cipher())) else { return };
        let mut pkt = self.header(to, Verb::Ok);
        self.seal(&mut pkt, ok_payload, &key, suite);
        for d in self.split(pkt) {
            self.push_tx(local, at, d, None);
        }
    }

    /// Append the payload (LZ4-compressed when that makes it shorter), flag the packet as
    /// fragmented when it will not fit the physical MTU (the flag is authenticated, so before
    /// armoring), and armor it.
    fn seal(&self, pkt: &mut Vec<u8>, payload: &[u8], key: &PeerKey, suite: CipherSuite) {
        match wire::lz4_compress(payload) {
            Some(c) if pkt[IDX_VERB] != Verb::Hello.to_u8() => {
                pkt[IDX_VERB] |= VERB_FLAG_COMPRESSED;
                pkt.extend_from_slice(&c);
            }
            _ => pkt.extend_from_slice(payload),
        }
        if pkt.len() > self.config.physical_mtu {
            pkt[IDX_FLAGS] |= FLAG_FRAGMENTED;
        }
        crypto::armor(pkt, key, suite);
    }

    fn split(&mut self, pkt: Vec<u8>) -> Vec<Vec<u8>> {
        if pkt.len() <= self.config.physical_mtu {
            return vec![pkt];
        }
        wire::fragment_packet(&pkt, self.config.physical_mtu).unwrap_or_default()
    }

    /// Build, compress, armor and route a packet; returns its packet ID (after armoring).
    fn send_packet(&mut self, now: Instant, dest: Address, verb: Verb, payload: &[u8], user: bool) -> Option<u64> {
        let Some((key, suite)) = self.peers.get(&dest).map(|p| (p.key.clone(), p.cipher())) else {
            return None;
        };
        let mut pkt = self.header(dest, verb);
        self.seal(&mut pkt, payload, &key, suite);
        let id = u64::from_be_bytes(crypto::first_n(&pkt));
        if matches!(verb, Verb::Whois | Verb::Echo | Verb::NetworkConfigRequest | Verb::MulticastGather | Verb::MulticastFrame | Verb::ExtFrame | Verb::Hello) {
            self.expect(now, id, dest, verb, user);
        }
        self.route(now, dest, pkt, suite);
        Some(id)
    }

    /// Send an armored packet along the peer's best direct path, else through the upstream
    /// root (which relays it). Fragments if needed.
    fn route(&mut self, now: Instant, dest: Address, pkt: Vec<u8>, _suite: CipherSuite) {
        let direct = self.peers.get_mut(&dest).and_then(|p| {
            let i = p.best_path_index(now)?;
            p.paths[i].last_out = Some(now);
            Some((p.paths[i].local, p.paths[i].remote))
        });
        let via = match direct {
            Some(x) => Some(x),
            None => {
                let up = self.upstream(now).filter(|r| *r != dest);
                let root_path = up.and_then(|r| {
                    let p = self.peers.get_mut(&r)?;
                    let i = p.best_path_index(now)?;
                    p.paths[i].last_out = Some(now);
                    Some((p.paths[i].local, p.paths[i].remote))
                });
                root_path
            }
        };
        let Some((l, r)) = via else {
            self.stats.drops[DropReason::NoRoute as usize] += 1;
            return;
        };
        for d in self.split(pkt) {
            self.push_tx(l, r, d, None);
        }
        self.rearm_peer(now, dest);
    }

    // ----- user commands -------------------------------------------------------------------

    /// Send `verb` with `payload` to `dest` (VL2 uses this for FRAME, NETWORK_CONFIG_REQUEST,
    /// ...): compressed when it helps, armored with the peer's suite, fragmented above the
    /// physical MTU, sent directly when a path exists, else relayed by a root. An unknown
    /// `dest` is looked up by WHOIS first (the payload waits, bounded). Returns the packet ID
    /// when sent now, `None` when queued or dropped (see [`Stats::drops`]).
    pub fn send(&mut self, now: Instant, dest: Address, verb: Verb, payload: &[u8]) -> Result<Option<u64>, Error> {
        self.send_inner(now, dest, verb, payload, false)
    }

    /// Send an ECHO; its OK comes back as [`Event::EchoReply`].
    pub fn send_echo(&mut self, now: Instant, dest: Address, payload: &[u8]) -> Result<Option<u64>, Error> {
        self.send_inner(now, dest, Verb::Echo, payload, true)
    }

    fn send_inner(&mut self, now: Instant, dest: Address, verb: Verb, payload: &[u8], user: bool) -> Result<Option<u64>, Error> {
        if dest == self.identity.address() || dest.is_reserved() {
            return Err(Error::BadDestination(dest));
        }
        if payload.len() + MIN_PACKET_LEN > MAX_PACKET_LEN {
            return Err(Error::TooLarge {
                max: MAX_PACKET_LEN - MIN_PACKET_LEN,
                got: payload.len(),
            });
        }
        if let Some(p) = self.peers.get_mut(&dest) {
            if !matches!(verb, Verb::Echo) || user {
                p.last_user_traffic = Some(now);
            }
            return Ok(self.send_packet(now, dest, verb, payload, user));
        }
        // Unknown: WHOIS and hold the payload.
        if self.upstream(now).is_none() {
            self.stats.drops[DropReason::NoRoute as usize] += 1;
            return Ok(None);
        }
        let maxq = self.config.max_queued_per_whois;
        let new = !self.whois.contains_key(&dest);
        if new && self.whois.len() >= self.config.max_whois_pending {
            self.stats.drops[DropReason::WhoisQueueFull as usize] += 1;
            return Ok(None);
        }
        let w = self.whois.entry(dest).or_insert_with(|| Whois {
            started: now,
            rendezvous: None,
            inbound: VecDeque::new(),
            outbound: VecDeque::new(),
        });
        if w.outbound.len() >= maxq {
            self.stats.drops[DropReason::WhoisQueueFull as usize] += 1;
            return Ok(None);
        }
        let v = if user { Verb::Echo } else { verb };
        w.outbound.push_back((v, payload.to_vec()));
        if new {
            self.send_whois(now, dest);
        }
        Ok(None)
    }

    /// Announce our direct paths to `dest` now (PUSH_DIRECT_PATHS with `config.direct_paths`).
    pub fn push_direct_paths(&mut self, now: Instant, dest: Address) -> Result<Option<u64>, Error> {
        if self.config.direct_paths.is_empty() {
            return Ok(None);
        }
        let pd = PushDirectPaths {
            paths: self.config.direct_paths.iter().map(|a| PathRecord::from_socket_addr(*a)).collect(),
            trailing: Vec::new(),
        };
        let mut p = Vec::new();
        pd.emit(&mut p);
        if let Some(peer) = self.peers.get_mut(&dest) {
            peer.last_path_push = Some(now);
        }
        self.send(now, dest, Verb::PushDirectPaths, &p)
    }
}
