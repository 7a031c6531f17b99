//! Node configuration with RouterOS `/zerotier` defaults and ZeroTierOne's limits.

use std::net::SocketAddr;
use std::time::Duration;

use rand_core::RngCore;

use crate::error::ConfigError;
use crate::identity::Identity;
use crate::wire::{
    DEFAULT_PHYSMTU, MAX_PACKET_LEN, MIN_PACKET_LEN, PROTO_VERSION, PROTO_VERSION_MIN,
};
use crate::world::World;

/// Default UDP port (RouterOS `/zerotier port`, `ZT_DEFAULT_PORT`).
pub const DEFAULT_PORT: u16 = 9993;

/// The secondary port ZeroTierOne 1.14 picks at start: `20000 + rand % 45500`
/// (`OneService::_getRandomPort`; RouterOS seed L1393 says "derived from the address", which
/// 1.14 no longer does).
pub fn random_secondary_port<R: RngCore + ?Sized>(rng: &mut R) -> u16 {
    20000 + (rng.next_u32() % 45500) as u16
}

/// Configuration of a [`Node`](crate::Node).
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// RouterOS `identity`: this node's identity with its secret (generate one with
    /// [`Identity::generate`] once and keep it).
    pub identity: Identity,
    /// The planet (roots). A node whose address is one of the planet's roots serves as a root:
    /// it relays between leaves, answers WHOIS for every peer it knows and introduces peers with
    /// RENDEZVOUS. Loaded as trusted (like ZeroTierOne's `planet` file); later updates must be
    /// signed (see [`World::check_update`]).
    pub planet: World,
    /// RouterOS `port` (default 9993): the primary UDP port; HELLOs to roots go out on it.
    pub port: u16,
    /// Secondary UDP port (`allowSecondaryPort`); `None` disables it. ZeroTierOne picks it with
    /// [`random_secondary_port`]. Datagrams on it are handled like on the primary, and replies
    /// go out on the socket the peer's path uses.
    pub secondary_port: Option<u16>,
    /// Physical MTU for ZeroTier datagrams (`ZT_DEFAULT_PHYSMTU` 1432); larger packets are
    /// fragmented (at most 7 pieces).
    pub physical_mtu: usize,
    /// Protocol version announced in HELLO (12). Peers pick AES-GMAC-SIV for us at >= 12 and
    /// Salsa20/12-Poly1305 below; 11 forces the latter.
    pub protocol_version: u8,
    /// Software version announced in HELLO (major, minor, revision). ZeroTierOne gates features
    /// on it; the default claims the 1.14.1 feature level this crate speaks.
    pub software_version: (u8, u8, u16),
    /// Most peers held (roots included). A new peer replaces the one heard from least recently
    /// (never a root).
    pub max_peers: usize,
    /// Most direct paths per peer (`ZT_MAX_PEER_NETWORK_PATHS` 64).
    pub max_paths_per_peer: usize,
    /// Most packets being reassembled at once (`ZT_RX_QUEUE_SIZE` 32); the oldest is evicted.
    pub max_reassembly: usize,
    /// Most unknown addresses being resolved by WHOIS at once.
    pub max_whois_pending: usize,
    /// Most packets held per address while its WHOIS is pending.
    pub max_queued_per_whois: usize,
    /// Identity validations (memory-hard hash, 2 MiB each) allowed per second for identities
    /// not seen before (HELLO from a new peer, OK(WHOIS)); more are dropped.
    pub identity_validations_per_second: u32,
    /// Our own addresses to announce to peers in PUSH_DIRECT_PATHS (empty: none pushed).
    pub direct_paths: Vec<SocketAddr>,
    /// Keep pinging a non-root peer while it had user traffic within this time
    /// (`ZT_PEER_ACTIVITY_TIMEOUT` 500 s).
    pub peer_activity_timeout: Duration,
    /// Forget a non-root peer not heard from for this long (`ZT_PEER_IN_MEMORY_EXPIRATION` 600 s).
    pub peer_expiration: Duration,
}

impl NodeConfig {
    /// A configuration with the RouterOS/ZeroTierOne defaults.
    pub fn new(identity: Identity, planet: World) -> Self {
        NodeConfig {
            identity,
            planet,
            port: DEFAULT_PORT,
            secondary_port: None,
            physical_mtu: DEFAULT_PHYSMTU,
            protocol_version: PROTO_VERSION,
            software_version: (1, 14, 1),
            max_peers: 4096,
            max_paths_per_peer: 64,
            max_reassembly: 32,
            max_whois_pending: 64,
            max_queued_per_whois: 4,
            identity_validations_per_second: 50,
            direct_paths: Vec::new(),
            peer_activity_timeout: Duration::from_secs(500),
            peer_expiration: Duration::from_secs(600),
        }
    }

    /// Check every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.identity.has_secret() {
            return Err(ConfigError::new("identity", "needs the secret key"));
        }
        if self.identity.address().is_reserved() {
            return Err(ConfigError::new("identity", "reserved address"));
        }
        if self.port == 0 {
            return Err(ConfigError::new("port", "must not be 0"));
        }
        if self.secondary_port == Some(self.port) || self.secondary_port == Some(0) {
            return Err(ConfigError::new(
                "secondary-port",
                "must differ from port and not be 0",
            ));
        }
        if self.physical_mtu < 400 || self.physical_mtu > MAX_PACKET_LEN {
            return Err(ConfigError::new(
                "physical-mtu",
                format!("must be within 400..={MAX_PACKET_LEN}"),
            ));
        }
        if !(PROTO_VERSION_MIN..=PROTO_VERSION).contains(&self.protocol_version) {
            return Err(ConfigError::new(
                "protocol-version",
                format!("must be within {PROTO_VERSION_MIN}..={PROTO_VERSION}"),
            ));
        }
        if self.max_peers < self.planet.roots.len() + 1 {
            return Err(ConfigError::new(
                "max-peers",
                "must hold at least the roots and one more",
            ));
        }
        for (f, v) in [
            ("max-paths-per-peer", self.max_paths_per_peer),
            ("max-reassembly", self.max_reassembly),
            ("max-whois-pending", self.max_whois_pending),
            ("max-queued-per-whois", self.max_queued_per_whois),
        ] {
            if v == 0 {
                return Err(ConfigError::new(f, "must be at least 1"));
            }
        }
        if self.identity_validations_per_second == 0 {
            return Err(ConfigError::new(
                "identity-validations-per-second",
                "must be at least 1",
            ));
        }
        let _ = MIN_PACKET_LEN;
        Ok(())
    }
}
