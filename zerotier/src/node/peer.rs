//! Peers and their paths.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::crypto::{CipherSuite, PeerKey};
use crate::identity::Identity;
use crate::node::LocalSocket;

/// Path heartbeat period (`ZT_PATH_HEARTBEAT_PERIOD` 14 s): a path not sent on for this long
/// gets an ECHO (or HELLO).
pub const PATH_HEARTBEAT_PERIOD: Duration = Duration::from_secs(14);
/// A path is alive while something arrived on it within heartbeat + 5 s.
pub const PATH_ALIVE_TIMEOUT: Duration = Duration::from_secs(19);
/// Full HELLO period per peer (`ZT_PEER_PING_PERIOD` 60 s).
pub const PEER_PING_PERIOD: Duration = Duration::from_secs(60);
/// Path expiration (`ZT_PEER_PATH_EXPIRATION` = 4 x 60 s + 3 s).
pub const PEER_PATH_EXPIRATION: Duration = Duration::from_secs(243);
/// Root contact retry while no path to a root is alive (`ZT_PING_CHECK_INTERVAL` 5 s).
pub const PING_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// Unknown-path confirmation rate limit per address (`ZT_PATH_HELLO_RATE_LIMIT`-like 1 s).
pub const PATH_CONFIRM_INTERVAL: Duration = Duration::from_secs(1);
/// Direct path push interval without / with a direct path (`ZT_DIRECT_PATH_PUSH_INTERVAL`
/// 15 s, `..._HAVEPATH` 120 s).
pub const DIRECT_PATH_PUSH_INTERVAL: Duration = Duration::from_secs(15);
/// See [`DIRECT_PATH_PUSH_INTERVAL`].
pub const DIRECT_PATH_PUSH_INTERVAL_HAVEPATH: Duration = Duration::from_secs(120);
/// Most PUSH_DIRECT_PATHS records acted on per peer per 30 s (`ZT_PUSH_DIRECT_PATHS_CUTOFF_*`).
pub const PUSH_DIRECT_PATHS_CUTOFF: (u32, Duration) = (8, Duration::from_secs(30));
/// Size of the per-peer recently-received packet ID filter.
pub const REPLAY_WINDOW: usize = 128;

/// Peer role as ZeroTierOne reports it (`ZT_PeerRole`; RouterOS peer list ROLE column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// 0: an ordinary node.
    Leaf,
    /// 1: a moon root.
    Moon,
    /// 2: a planet root.
    Planet,
}

/// A direct path to a peer: one of our sockets and one of its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// Our socket.
    pub local: LocalSocket,
    /// Their address.
    pub remote: SocketAddr,
    /// Last authenticated receive on this path.
    pub last_in: Instant,
    /// Last send on this path.
    pub last_out: Option<Instant>,
}

impl Path {
    /// Something arrived within the last 19 s.
    pub fn alive(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_in) < PATH_ALIVE_TIMEOUT
    }
    /// Nothing arrived for 243 s.
    pub fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_in) >= PEER_PATH_EXPIRATION
    }
}

/// What the node knows about a peer.
#[derive(Debug)]
pub struct Peer {
    pub(crate) identity: Identity,
    pub(crate) key: PeerKey,
    pub(crate) role: Role,
    pub(crate) stable_endpoints: Vec<SocketAddr>,
    pub(crate) protocol_version: u8,
    pub(crate) version: (u8, u8, u16),
    pub(crate) paths: Vec<Path>,
    pub(crate) created: Instant,
    pub(crate) last_receive: Option<Instant>,
    pub(crate) last_user_traffic: Option<Instant>,
    pub(crate) last_full_hello: Option<Instant>,
    pub(crate) last_root_contact: Option<Instant>,
    pub(crate) last_path_push: Option<Instant>,
    pub(crate) push_window: (Instant, u32),
    pub(crate) latency: Option<Duration>,
    pub(crate) recent: [u64; REPLAY_WINDOW],
    pub(crate) recent_pos: usize,
    pub(crate) confirm_attempts: Vec<(SocketAddr, Instant)>,
}

/// A snapshot for the caller (RouterOS `/zerotier peer print`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// Address.
    pub address: crate::Address,
    /// Role.
    pub role: Role,
    /// Announced protocol version (0 until its HELLO or OK(HELLO) arrived).
    pub protocol_version: u8,
    /// Announced software version.
    pub version: (u8, u8, u16),
    /// Last measured HELLO round trip.
    pub latency: Option<Duration>,
    /// Direct paths: (our socket, their address, alive).
    pub paths: Vec<(LocalSocket, SocketAddr, bool)>,
    /// Cipher suite we use towards it.
    pub cipher: CipherSuite,
}

impl Peer {
    pub(crate) fn new(identity: Identity, key: PeerKey, role: Role, now: Instant) -> Self {
        Peer {
            identity,
            key,
            role,
            stable_endpoints: Vec::new(),
            protocol_version: 0,
            version: (0, 0, 0),
            paths: Vec::new(),
            created: now,
            last_receive: None,
            last_user_traffic: None,
            last_full_hello: None,
            last_root_contact: None,
            last_path_push: None,
            push_window: (now, 0),
            latency: None,
            recent: [0; REPLAY_WINDOW],
            recent_pos: 0,
            confirm_attempts: Vec::new(),
        }
    }

    /// The cipher suite to use towards this peer: AES-GMAC-SIV once it announced protocol 12+,
    /// Salsa20/12-Poly1305 before (and for older peers), as ZeroTierOne 1.14 does.
    pub fn cipher(&self) -> CipherSuite {
        if self.protocol_version >= 12 {
            CipherSuite::AesGmacSiv
        } else {
            CipherSuite::Salsa2012Poly1305
        }
    }

    pub(crate) fn is_root(&self) -> bool {
        self.role != Role::Leaf
    }

    /// `true` when the ID was seen recently (then it is not recorded again).
    pub(crate) fn seen(&mut self, id: u64) -> bool {
        if id != 0 && self.recent.contains(&id) {
            return true;
        }
        self.recent[self.recent_pos] = id;
        self.recent_pos = (self.recent_pos + 1) % REPLAY_WINDOW;
        false
    }

    /// The path to send on: alive paths first, then the most recently heard non-expired one.
    pub(crate) fn best_path(&self, now: Instant) -> Option<&Path> {
        self.paths
            .iter()
            .filter(|p| !p.expired(now))
            .max_by_key(|p| (p.alive(now), p.last_in))
    }

    pub(crate) fn best_path_index(&self, now: Instant) -> Option<usize> {
        self.paths
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.expired(now))
            .max_by_key(|(_, p)| (p.alive(now), p.last_in))
            .map(|(i, _)| i)
    }

    pub(crate) fn has_alive_path(&self, now: Instant) -> bool {
        self.paths.iter().any(|p| p.alive(now))
    }

    pub(crate) fn info(&self, now: Instant) -> PeerInfo {
        PeerInfo {
            address: self.identity.address(),
            role: self.role,
            protocol_version: self.protocol_version,
            version: self.version,
            latency: self.latency,
            paths: self
                .paths
                .iter()
                .map(|p| (p.local, p.remote, p.alive(now)))
                .collect(),
            cipher: self.cipher(),
        }
    }
}
