//! The VL1 node: peers, paths, roots, relaying, WHOIS, RENDEZVOUS, keepalives.
//!
//! # Driving contract (quinn-proto style)
//! - Inputs: [`Node::handle_datagram`] (a UDP payload on one of our sockets),
//!   [`Node::handle_timeout`] (the deadline from [`Node::poll_timeout`] passed), and the user
//!   commands [`Node::send`] / [`Node::send_echo`], and for VL2 [`Node::join`] /
//!   [`Node::leave`] (member role) and [`Node::host_controller`] (controller role).
//! - Outputs: drain [`Node::poll_transmit`] and [`Node::poll_event`] until `None` after every
//!   input, then re-arm the timer with [`Node::poll_timeout`].
//! - Getters: [`Node::address`], [`Node::peer`], [`Node::peers`], [`Node::stats`],
//!   [`Node::planet`], [`Node::is_online`], [`Node::networks`], [`Node::membership`],
//!   [`Node::controller`] / [`Node::controller_mut`] (authorize members).
//!
//! # VL2 in the node
//! A joined network's controller (`nwid >> 24`) is looked up by WHOIS when unknown (retried
//! every [`JOIN_RETRY`]); then its [`Membership`](crate::vl2::Membership) drives
//! NETWORK_CONFIG_REQUESTs (at once, every 5 s until answered, then every 60 s). Config chunks
//! (OK(NETWORK_CONFIG_REQUEST) or NETWORK_CONFIG) and ERRORs are accepted only from that
//! controller and surface as [`Event::NetworkConfigured`] / [`Event::NetworkStatus`]; anything
//! else is dropped as [`DropReason::BadNetworkConfig`]. A node hosting a
//! [`Controller`](crate::vl2::Controller) answers requests from authenticated peers with one
//! signed OK per chunk, or ERROR(OBJ_NOT_FOUND / NETWORK_ACCESS_DENIED) carrying the network ID
//! ([`Event::ConfigIssued`] / [`Event::ConfigRefused`]).
//!
//! Ethernet: [`Node::send_frame`] maps a unicast destination MAC back to the member's address
//! (the derivation is invertible) and sends FRAME, or EXT_FRAME when the source MAC is not our
//! own; a broadcast goes as MULTICAST_FRAME to the members known to like the broadcast group
//! (at most the network's multicast limit). On a private network our COM is pushed with
//! NETWORK_CREDENTIALS before frames to a member (again when it changed or after
//! [`COM_PUSH_INTERVAL`]). Incoming FRAME / EXT_FRAME / MULTICAST_FRAME become
//! [`Event::Frame`] only on a joined network with status OK and, when private, from a member
//! whose verified COM agrees with ours; otherwise they are dropped as
//! [`DropReason::NotMember`], [`DropReason::NoCredential`] or [`DropReason::BadSourceMac`].
//! Group membership: after each config a member sends MULTICAST_LIKE for the broadcast group
//! (ff:ff:ff:ff:ff:ff, ADI 0) and a MULTICAST_GATHER to its root and controller; every node
//! records LIKEs (bounded by [`MAX_LIKES`], never expired) and answers GATHERs from them.
//! - `now` must never go backwards. Randomness (packet IDs, the root endpoint pick, junk bytes)
//!   comes only from the RNG given to [`Node::new`].
//!
//! Timers live in a deadline heap keyed per peer, per pending WHOIS and for reassembly; the
//! node never scans all peers on a tick.

mod frames;
mod input;
mod keepalive;
mod network;
pub mod peer;
mod relay;
mod send;
mod whois;

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
use crate::wire::verbs::{
    Hello, Message, Moons, OkBody, OkHello, OkMsg, PathRecord, PushDirectPaths, Rendezvous,
};
use crate::wire::{
    self, Fragment, Header, InetAddr, Verb, FLAG_FRAGMENTED, IDX_FLAGS, IDX_PAYLOAD, IDX_VERB,
    MAX_PACKET_LEN, MIN_FRAGMENT_LEN, MIN_PACKET_LEN, PROTO_VERSION_MIN, RELAY_MAX_HOPS,
    VERB_FLAG_COMPRESSED,
};
use crate::world::{World, WorldType, WorldUpdate};

pub use frames::{BROADCAST_MAC, COM_PUSH_INTERVAL, GATHER_RETRY, MAX_LIKES, MAX_PEER_COMS};
pub use network::JOIN_RETRY;
use peer::{
    Path, Peer, PATH_CONFIRM_INTERVAL, PATH_HEARTBEAT_PERIOD, PEER_PATH_EXPIRATION,
    PEER_PING_PERIOD, PING_CHECK_INTERVAL,
};
pub use peer::{PeerInfo, Role};

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
    Network(crate::address::NetworkId),
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
    networks: HashMap<crate::address::NetworkId, network::Joined>,
    controller: Option<network::Hosted>,
    likes: HashMap<(crate::address::NetworkId, [u8; 6], u32), std::collections::BTreeSet<Address>>,
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
    pub fn new(
        config: NodeConfig,
        now: Instant,
        rng: Box<dyn CryptoRngCore + Send>,
    ) -> Result<Node, Error> {
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
            networks: HashMap::new(),
            controller: None,
            likes: HashMap::new(),
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
            let eps: Vec<SocketAddr> = r
                .endpoints
                .iter()
                .filter_map(InetAddr::socket_addr)
                .collect();
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

    /// The configuration (the caller binds `port` and `secondary_port` from it).
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }
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
        let e = self.events.pop_front();
        trace_event!("zerotier::node", &e);
        e
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
}
