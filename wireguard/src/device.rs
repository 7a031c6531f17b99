//! The device: one static key, many peers, cryptokey routing, the timer state machine
//! (see [`Device`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;
use x25519_dalek::StaticSecret;
use zeroize::Zeroize;

use crate::aead::{AeadProvider, DataKey};
use crate::allowed_ips::{AllowedIps, IpPrefix};
use crate::config::{InterfaceConfig, Key, PeerConfig};
use crate::cookie::{CookieChecker, CookieGenerator};
use crate::error::{ConfigError, Error};
use crate::event::{DropReason, Event};
use crate::noise::{self, InitiatorState, PeerStatic};
use crate::ratelimiter::RateLimiter;
use crate::replay::{ReplayWindow, REJECT_AFTER_MESSAGES};
use crate::wire::{
    self, Message, INITIATION_MAC1, RESPONSE_MAC1, TRANSPORT_HEADER_LEN, TRANSPORT_MIN_LEN,
};
use crate::PeerId;

/// RekeyAfterMessages (2^60).
pub const REKEY_AFTER_MESSAGES: u64 = 1 << 60;
/// RekeyAfterTime.
pub const REKEY_AFTER_TIME: Duration = Duration::from_secs(120);
/// RejectAfterTime.
pub const REJECT_AFTER_TIME: Duration = Duration::from_secs(180);
/// RekeyAttemptTime (18 retransmissions of RekeyTimeout).
pub const REKEY_ATTEMPT_TIME: Duration = Duration::from_secs(90);
/// RekeyTimeout.
pub const REKEY_TIMEOUT: Duration = Duration::from_secs(5);
/// KeepaliveTimeout.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// MaxTimerHandshakes = RekeyAttemptTime / RekeyTimeout = 18. The retransmit timer gives up
/// when it fires with more retries than this behind it: after 19 retries (20 initiations).
pub const MAX_TIMER_HANDSHAKES: u32 = 18;
/// Jitter added to RekeyTimeout: uniform 0..334 ms.
pub const REKEY_TIMEOUT_JITTER_MAX_MS: u32 = 334;
/// Minimum interval between two initiations consumed from one peer.
pub const HANDSHAKE_INITIATION_RATE: Duration = Duration::from_millis(20);
/// Packets kept per peer while waiting for a handshake.
pub const MAX_STAGED: usize = 128;
/// Default of [`Device::set_max_precomputed_peers`]: 128 tables of 30 KiB (3.75 MiB).
pub const DEFAULT_MAX_PEER_TABLES: usize = 128;
/// Bound of the transmit queue.
const MAX_TRANSMITS: usize = 4096;
/// Bound of the event queue.
const MAX_EVENTS: usize = 4096;

/// "Under load" policy: when on, handshake messages need a valid mac2 (else a cookie reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadPolicy {
    /// Never under load (cookies never demanded).
    Never,
    /// Always under load (every handshake needs a cookie first; useful for tests).
    Always,
    /// Under load for one second after more than this many handshake messages arrived within
    /// one second.
    Auto {
        /// Handshake messages per second before cookies are demanded.
        max_per_second: u32,
    },
}

/// A datagram for the caller to send (handshake traffic, keepalives, staged packets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// UDP destination.
    pub dst: SocketAddr,
    /// UDP payload.
    pub payload: Vec<u8>,
}

/// Result of [`Device::handle_datagram`] / [`Device::encapsulate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Consumed; nothing in the buffer (handshake message, keepalive, or staged for later).
    Done,
    /// `out[..len]` is an IP packet from `peer` to deliver to the tunnel interface.
    Deliver {
        /// Sending peer.
        peer: PeerId,
        /// Packet length.
        len: usize,
    },
    /// `out[..len]` is a UDP payload to send to `dst`.
    Transmit {
        /// Destination endpoint.
        dst: SocketAddr,
        /// Datagram length.
        len: usize,
    },
    /// Dropped (counted in [`Stats`]).
    Dropped(DropReason),
}

/// Per-peer counters (RouterOS `rx`, `tx`, `last-handshake`, `current-endpoint-*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Bytes of authenticated datagrams received from the peer (`rx`).
    pub rx_bytes: u64,
    /// Bytes of datagrams sent to the peer (`tx`).
    pub tx_bytes: u64,
    /// Time of the last completed handshake (`last-handshake` = now minus this).
    pub last_handshake: Option<Instant>,
    /// Completed handshakes.
    pub handshakes: u64,
    /// Initiations sent.
    pub initiations_sent: u64,
    /// Transport packets received (incl. keepalives).
    pub rx_packets: u64,
    /// Transport packets sent (incl. keepalives).
    pub tx_packets: u64,
}

/// Device counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Drops by reason.
    pub drops: HashMap<DropReason, u64>,
    /// Cookie replies sent.
    pub cookie_replies_sent: u64,
}

impl Stats {
    /// Count of drops for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops.get(&reason).copied().unwrap_or(0)
    }
}

struct Keypair {
    send: DataKey,
    recv: DataKey,
    local_index: u32,
    remote_index: u32,
    /// `created + RekeyAfterTime`, `+ RejectAfterTime - KeepaliveTimeout - RekeyTimeout` and
    /// `+ RejectAfterTime`, precomputed so the data path compares instants only.
    rekey_at: Instant,
    last_minute_at: Instant,
    reject_at: Instant,
    initiator: bool,
    send_counter: u64,
    replay: ReplayWindow,
}

impl Keypair {
    fn new(
        keys: &noise::SessionKeys,
        local: u32,
        remote: u32,
        now: Instant,
        initiator: bool,
        provider: Option<&dyn AeadProvider>,
    ) -> Self {
        Keypair {
            send: DataKey::new(&keys.send, provider),
            recv: DataKey::new(&keys.recv, provider),
            local_index: local,
            remote_index: remote,
            rekey_at: now + REKEY_AFTER_TIME,
            last_minute_at: now + (REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT),
            reject_at: now + REJECT_AFTER_TIME,
            initiator,
            send_counter: 0,
            replay: ReplayWindow::new(),
        }
    }
    #[inline]
    fn can_send(&self, now: Instant) -> bool {
        self.send_counter < REJECT_AFTER_MESSAGES && now < self.reject_at
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Current,
    Previous,
    Next,
}

struct Peer {
    public_key: Key,
    /// Removed by [`Device::remove_peer`]: a tombstone, its id is never reused.
    removed: bool,
    disabled: bool,
    responder: bool,
    persistent_keepalive: u16,
    allowed: Vec<IpPrefix>,
    endpoint: Option<SocketAddr>,
    st: PeerStatic,
    cookies: CookieGenerator,
    initiator: Option<InitiatorState>,
    last_initiation_sent: Option<Instant>,
    attempts: u32,
    last_timestamp: Option<[u8; 12]>,
    last_initiation_consumed: Option<Instant>,
    current: Option<Box<Keypair>>,
    previous: Option<Box<Keypair>>,
    next: Option<Box<Keypair>>,
    t_retransmit: Option<Instant>,
    t_send_keepalive: Option<Instant>,
    t_new_handshake: Option<Instant>,
    t_zero_keys: Option<Instant>,
    t_persistent: Option<Instant>,
    /// Instant of this peer's live entry in the device's deadline heap.
    scheduled: Option<Instant>,
    need_another_keepalive: bool,
    sent_last_minute_handshake: bool,
    staged: VecDeque<Vec<u8>>,
    stats: PeerStats,
}

impl Peer {
    #[inline]
    fn slot(&mut self, s: Slot) -> &mut Option<Box<Keypair>> {
        match s {
            Slot::Current => &mut self.current,
            Slot::Previous => &mut self.previous,
            Slot::Next => &mut self.next,
        }
    }
    #[inline]
    fn find_slot(&self, index: u32) -> Option<Slot> {
        if self
            .current
            .as_ref()
            .is_some_and(|k| k.local_index == index)
        {
            Some(Slot::Current)
        } else if self.next.as_ref().is_some_and(|k| k.local_index == index) {
            Some(Slot::Next)
        } else if self
            .previous
            .as_ref()
            .is_some_and(|k| k.local_index == index)
        {
            Some(Slot::Previous)
        } else {
            None
        }
    }
    fn next_deadline(&self) -> Option<Instant> {
        [
            self.t_retransmit,
            self.t_send_keepalive,
            self.t_new_handshake,
            self.t_zero_keys,
            self.t_persistent,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[inline]
fn padded_len(len: usize, mtu: u16) -> usize {
    let p = len.div_ceil(16) * 16;
    let mtu = usize::from(mtu);
    if mtu != 0 && p > mtu {
        len.max(mtu)
    } else {
        p
    }
}

/// Source address and length claimed by an IP header; `None` if not IPv4/IPv6 or inconsistent.
#[inline]
fn inner_src(pkt: &[u8]) -> Option<(IpAddr, usize)> {
    match pkt.first()? >> 4 {
        4 => {
            let total = usize::from(u16::from_be_bytes([*pkt.get(2)?, *pkt.get(3)?]));
            let s: [u8; 4] = pkt.get(12..16)?.try_into().ok()?;
            (total >= 20 && total <= pkt.len()).then_some((IpAddr::V4(Ipv4Addr::from(s)), total))
        }
        6 => {
            let total = 40 + usize::from(u16::from_be_bytes([*pkt.get(4)?, *pkt.get(5)?]));
            let s: [u8; 16] = pkt.get(8..24)?.try_into().ok()?;
            (total <= pkt.len()).then_some((IpAddr::V6(Ipv6Addr::from(s)), total))
        }
        _ => None,
    }
}

#[inline]
fn inner_dst(pkt: &[u8]) -> Option<IpAddr> {
    match pkt.first()? >> 4 {
        4 => {
            let d: [u8; 4] = pkt.get(16..20)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(d)))
        }
        6 => {
            let d: [u8; 16] = pkt.get(24..40)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(d)))
        }
        _ => None,
    }
}

/// Where the transport path finds the ciphertext.
#[derive(Clone, Copy)]
enum Cipher<'a> {
    /// In the received datagram: copied into the output buffer first.
    Copy(&'a [u8]),
    /// Already in the output buffer, after the 16-byte header.
    InPlace,
}

/// Where the encapsulation path finds the plaintext.
#[derive(Clone, Copy)]
enum Plain<'a> {
    /// A separate slice, copied into the output buffer.
    Copy(&'a [u8]),
    /// `len` bytes already in the output buffer at offset 16.
    InPlace(usize),
}

/// Seal the `len`-byte plaintext at `out[16..16 + len]` in place (the buffer must hold
/// `32 + padded_len(len)` bytes); returns the datagram length.
fn seal_in_place(kp: &mut Keypair, len: usize, mtu: u16, out: &mut [u8]) -> usize {
    let padded = padded_len(len, mtu);
    let total = TRANSPORT_MIN_LEN + padded;
    let Some(out) = out.get_mut(..total) else {
        return 0;
    };
    let counter = kp.send_counter;
    kp.send_counter += 1;
    wire::write_transport_header(out, kp.remote_index, counter);
    let (body, tag_dst) = out[TRANSPORT_HEADER_LEN..].split_at_mut(padded);
    body[len..].fill(0);
    let tag = kp.send.seal(counter, body);
    tag_dst.copy_from_slice(&tag);
    total
}

/// Write one transport message for `plain` into `out` (which must hold
/// `32 + padded_len(plain.len())` bytes); returns the length.
fn seal_into(kp: &mut Keypair, plain: &[u8], mtu: u16, out: &mut [u8]) -> usize {
    let padded = padded_len(plain.len(), mtu);
    let total = TRANSPORT_MIN_LEN + padded;
    let Some(out) = out.get_mut(..total) else {
        return 0;
    };
    let counter = kp.send_counter;
    kp.send_counter += 1;
    wire::write_transport_header(out, kp.remote_index, counter);
    let (body, tag_dst) = out[TRANSPORT_HEADER_LEN..].split_at_mut(padded);
    body[..plain.len()].copy_from_slice(plain);
    body[plain.len()..].fill(0);
    let tag = kp.send.seal(counter, body);
    tag_dst.copy_from_slice(&tag);
    total
}

/// The WireGuard device: one static key, many peers, cryptokey routing, the timer state machine.
///
/// # Contract (quinn-proto style)
/// * Getters: [`Device::public_key`], [`Device::peer_stats`], [`Device::peer_endpoint`],
///   [`Device::peer_ids`], [`Device::peer_allowed_address`], [`Device::stats`],
///   [`Device::is_running`], [`Device::under_load`], [`Device::rate_limiter`],
///   [`Device::index_table_len`].
/// * Inputs: [`Device::handle_datagram`] (UDP payload from the network),
///   [`Device::encapsulate`] (IP packet from the tunnel interface),
///   [`Device::handle_timeout`] (the deadline of [`Device::poll_timeout`] passed).
/// * Mutators: [`Device::add_peer`], [`Device::remove_peer`], [`Device::update_peer`],
///   [`Device::set_peer_endpoint`], [`Device::set_peer_allowed_address`],
///   [`Device::set_peer_preshared_key`], [`Device::set_peer_persistent_keepalive`],
///   [`Device::set_peer_responder`], [`Device::set_peer_disabled`], [`Device::initiate`],
///   [`Device::set_load_policy`], [`Device::set_rate_limiter_capacity`],
///   [`Device::set_max_precomputed_peers`], [`Device::set_wall_clock`],
///   [`Device::set_disabled`].
/// * Outputs: [`Device::poll_transmit`] (handshake messages, keepalives and packets that waited
///   for a handshake), [`Device::poll_event`], [`Device::poll_timeout`].
///
/// After every input, drain `poll_transmit` and `poll_event` until `None`, then re-arm the timer
/// with `poll_timeout`. `now` must never go backwards. The hot data path
/// (`encapsulate` / `handle_datagram` of transport data) writes only into the caller's buffer.
pub struct Device {
    secret: StaticSecret,
    public: [u8; 32],
    /// `HASH(H0 || public)`: the responder's starting transcript hash.
    initial_hash: [u8; 32],
    mtu: u16,
    disabled: bool,
    peers: Vec<Peer>,
    by_key: HashMap<[u8; 32], PeerId>,
    index: crate::fasthash::FastMap<u32, PeerId>,
    allowed: AllowedIps,
    checker: CookieChecker,
    rng: Box<dyn CryptoRngCore + Send>,
    wall_anchor: (Instant, Duration),
    load: LoadPolicy,
    load_window: Option<(Instant, u32)>,
    under_load_until: Option<Instant>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
    /// Per-source handshake limiter, consulted under load.
    ratelimiter: RateLimiter,
    /// Deadline heap: `(instant, peer index)`, at most one live entry per peer (the one equal to
    /// `Peer::scheduled`), stale entries dropped lazily.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Scratch list of `handle_timeout`.
    due: Vec<usize>,
    /// A timer was set, cleared or moved since the last `fix_timers` (the steady data path
    /// changes none, and then skips the heap entirely).
    timers_dirty: bool,
    /// Peers whose static key has a precomputed point table, and the limit.
    peer_tables: usize,
    max_peer_tables: usize,
    /// Transport-data AEAD backend for new keypairs; `None`: ring, built in.
    aead: Option<std::sync::Arc<dyn AeadProvider>>,
}

impl core::fmt::Debug for Device {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Device")
            .field("public", &Key(self.public))
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

impl Device {
    /// A device from its interface config. A missing private key is generated from `rng`
    /// (RouterOS does the same on creation). `now` and `wall_clock` (time since the Unix epoch at
    /// `now`) anchor the TAI64N timestamps of initiations; re-anchor with
    /// [`set_wall_clock`](Self::set_wall_clock) when the wall clock is stepped.
    pub fn new(
        config: &InterfaceConfig,
        mut rng: Box<dyn CryptoRngCore + Send>,
        now: Instant,
        wall_clock: Duration,
    ) -> Result<Device, Error> {
        config.validate()?;
        let key = match config.private_key {
            Some(k) => k,
            None => Key::generate(&mut *rng),
        };
        let secret = StaticSecret::from(key.0);
        let public = key.public_key().0;
        Ok(Device {
            secret,
            public,
            initial_hash: noise::initial_hash(&public),
            mtu: config.mtu,
            disabled: config.disabled,
            peers: Vec::new(),
            by_key: HashMap::new(),
            index: Default::default(),
            allowed: AllowedIps::new(),
            checker: CookieChecker::new(&public),
            rng,
            wall_anchor: (now, wall_clock),
            load: LoadPolicy::Auto {
                max_per_second: 1000,
            },
            load_window: None,
            under_load_until: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            ratelimiter: RateLimiter::default(),
            timers: BinaryHeap::new(),
            due: Vec::new(),
            timers_dirty: false,
            peer_tables: 0,
            max_peer_tables: DEFAULT_MAX_PEER_TABLES,
            aead: None,
        })
    }

    /// Our static public key.
    pub fn public_key(&self) -> Key {
        Key(self.public)
    }

    /// `running`: the interface is enabled (the caller reports socket/TUN state separately).
    pub fn is_running(&self) -> bool {
        !self.disabled
    }

    /// Set `disabled`. A disabled device drops all input and output.
    pub fn set_disabled(&mut self, disabled: bool) {
        self.disabled = disabled;
    }

    /// Set the ChaCha20-Poly1305 backend of transport data messages (see [`crate::aead`]);
    /// `None` (the default) is ring's, built in. Keypairs take their keys from the provider
    /// when their handshake completes, so the call applies to sessions established after it:
    /// make it right after [`Device::new`].
    pub fn set_aead_provider(&mut self, provider: Option<std::sync::Arc<dyn AeadProvider>>) {
        self.aead = provider;
    }

    /// The transport-data AEAD provider set by [`Device::set_aead_provider`], if any.
    pub fn aead_provider(&self) -> Option<&std::sync::Arc<dyn AeadProvider>> {
        self.aead.as_ref()
    }

    /// Re-anchor the wall clock used for TAI64N timestamps.
    pub fn set_wall_clock(&mut self, now: Instant, since_unix_epoch: Duration) {
        self.wall_anchor = (now, since_unix_epoch);
    }

    /// Set the under-load policy (default: `Auto { max_per_second: 1000 }`).
    pub fn set_load_policy(&mut self, p: LoadPolicy) {
        self.load = p;
    }

    /// How many peers (the first added) get a precomputed table of their static public key
    /// (30 KiB each; default [`DEFAULT_MAX_PEER_TABLES`]). A table makes the `DH(E, S_peer)` of
    /// every handshake with that peer a fixed-base multiplication: about 15 % more responder
    /// handshakes per second. Applies to peers added after the call; 0 turns it off.
    pub fn set_max_precomputed_peers(&mut self, n: usize) {
        self.max_peer_tables = n;
    }

    /// Bound the per-source handshake rate limiter's table (default
    /// [`ratelimiter::DEFAULT_CAPACITY`](crate::ratelimiter::DEFAULT_CAPACITY) sources); when
    /// it is full, handshake messages from new sources under load are dropped as
    /// [`DropReason::RateLimited`]. Resets the table.
    pub fn set_rate_limiter_capacity(&mut self, capacity: usize) {
        self.ratelimiter = RateLimiter::new(capacity);
    }

    /// The per-source handshake rate limiter (consulted while [`under_load`](Self::under_load),
    /// after mac2 proved the source address; see [`ratelimiter`](crate::ratelimiter)).
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.ratelimiter
    }

    /// Whether handshake messages currently need a valid mac2.
    pub fn under_load(&self, now: Instant) -> bool {
        match self.load {
            LoadPolicy::Never => false,
            LoadPolicy::Always => true,
            LoadPolicy::Auto { .. } => self.under_load_until.is_some_and(|t| now < t),
        }
    }

    /// Device counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Add a peer. Its allowed addresses must not overlap another peer's (RouterOS rule, seed
    /// L1096). With persistent-keepalive set and an endpoint known, the first keepalive (and so a
    /// handshake) is due immediately.
    pub fn add_peer(&mut self, now: Instant, cfg: &PeerConfig) -> Result<PeerId, Error> {
        cfg.validate()?;
        if self.by_key.contains_key(&cfg.public_key.0) {
            return Err(ConfigError::invalid("public-key", "peer already exists").into());
        }
        self.check_overlap(None, &cfg.allowed_address)?;
        let id = PeerId(self.peers.len());
        for a in &cfg.allowed_address {
            self.allowed.insert(*a, id);
        }
        let endpoint = cfg.endpoint();
        let mut peer = Peer {
            public_key: cfg.public_key,
            removed: false,
            disabled: cfg.disabled,
            responder: cfg.responder,
            persistent_keepalive: cfg.persistent_keepalive,
            allowed: cfg.allowed_address.clone(),
            endpoint,
            st: PeerStatic::new(
                &self.secret,
                cfg.public_key.0,
                cfg.preshared_key.map(|k| k.0),
            ),
            cookies: CookieGenerator::new(&cfg.public_key.0),
            initiator: None,
            last_initiation_sent: None,
            attempts: 0,
            last_timestamp: None,
            last_initiation_consumed: None,
            current: None,
            previous: None,
            next: None,
            t_retransmit: None,
            t_send_keepalive: None,
            t_new_handshake: None,
            t_zero_keys: None,
            t_persistent: None,
            scheduled: None,
            need_another_keepalive: false,
            sent_last_minute_handshake: false,
            staged: VecDeque::new(),
            stats: PeerStats::default(),
        };
        if self.peer_tables < self.max_peer_tables {
            peer.st.precompute();
            if peer.st.is_precomputed() {
                self.peer_tables += 1;
            }
        }
        let first_keepalive =
            cfg.persistent_keepalive > 0 && endpoint.is_some() && !cfg.responder && !cfg.disabled;
        if first_keepalive {
            peer.t_persistent = Some(now);
        }
        self.peers.push(peer);
        self.by_key.insert(cfg.public_key.0, id);
        if first_keepalive {
            self.arm(id, now);
        }
        self.fix_timers();
        Ok(id)
    }

    /// Peer by public key.
    pub fn peer_by_key(&self, key: &Key) -> Option<PeerId> {
        self.by_key.get(&key.0).copied()
    }

    /// Number of peers (removed ones not counted).
    pub fn peer_count(&self) -> usize {
        self.by_key.len()
    }

    /// Ids of the peers, in order of [`add_peer`](Self::add_peer) (removed ones skipped).
    pub fn peer_ids(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.removed)
            .map(|(i, _)| PeerId(i))
    }

    /// The live peer `id`.
    fn live(&self, id: PeerId) -> Option<&Peer> {
        self.peers.get(id.0).filter(|p| !p.removed)
    }

    fn live_mut(&mut self, id: PeerId) -> Result<&mut Peer, Error> {
        self.peers
            .get_mut(id.0)
            .filter(|p| !p.removed)
            .ok_or(Error::UnknownPeer(id.0))
    }

    /// The peer's static public key.
    pub fn peer_public_key(&self, id: PeerId) -> Option<Key> {
        self.live(id).map(|p| p.public_key)
    }

    /// The peer's allowed addresses (RouterOS `allowed-address`).
    pub fn peer_allowed_address(&self, id: PeerId) -> Option<&[IpPrefix]> {
        self.live(id).map(|p| &p.allowed[..])
    }

    /// Peer counters.
    pub fn peer_stats(&self, id: PeerId) -> Option<PeerStats> {
        self.live(id).map(|p| p.stats)
    }

    /// Seconds since the last handshake (RouterOS `last-handshake`).
    pub fn last_handshake_age(&self, id: PeerId, now: Instant) -> Option<Duration> {
        let t = self.live(id)?.stats.last_handshake?;
        Some(now.saturating_duration_since(t))
    }

    /// Current endpoint (RouterOS `current-endpoint-address`/`-port`).
    pub fn peer_endpoint(&self, id: PeerId) -> Option<SocketAddr> {
        self.live(id)?.endpoint
    }

    /// Whether the peer has a usable sending keypair.
    pub fn peer_has_session(&self, id: PeerId, now: Instant) -> bool {
        self.live(id)
            .and_then(|p| p.current.as_ref())
            .is_some_and(|k| k.can_send(now))
    }

    /// Number of receiver indices in use (handshakes in flight plus keypairs of all peers; at
    /// most four per peer). For monitoring and for tests that check cleanup.
    pub fn index_table_len(&self) -> usize {
        self.index.len()
    }

    /// Set the peer's endpoint (RouterOS `endpoint-address`/`endpoint-port`, e.g. after the
    /// caller resolved a host name). Later datagrams go there; roaming still moves it to the
    /// source of the newest authenticated packet.
    pub fn set_peer_endpoint(&mut self, id: PeerId, ep: SocketAddr) -> Result<(), Error> {
        self.live_mut(id)?.endpoint = Some(ep);
        Ok(())
    }

    /// Start a handshake now (no-op for responder-only peers, without an endpoint, or within
    /// RekeyTimeout of the previous initiation).
    pub fn initiate(&mut self, now: Instant, id: PeerId) -> Result<(), Error> {
        self.live_mut(id)?;
        self.send_initiation(now, id, false);
        self.fix_timers();
        Ok(())
    }

    /// `Err` naming the first prefix of `prefixes` that overlaps one of another live peer's.
    ///
    /// Host prefixes (/32, /128: every road-warrior peer) are checked with one longest-prefix
    /// lookup each: since no two peers' prefixes overlap, an address is covered by another
    /// peer exactly when the lookup names another peer. Shorter prefixes are compared with
    /// every other peer's list.
    fn check_overlap(&self, except: Option<PeerId>, prefixes: &[IpPrefix]) -> Result<(), Error> {
        let clash = |b: &IpPrefix, owner: &Peer| -> Error {
            let a = owner
                .allowed
                .iter()
                .find(|a| a.overlaps(b))
                .map_or_else(|| b.to_string(), ToString::to_string);
            ConfigError::invalid(
                "allowed-address",
                format!("{b} overlaps {a} of peer {}", owner.public_key),
            )
            .into()
        };
        let is_host = |b: &IpPrefix| b.len() == if b.addr().is_ipv4() { 32 } else { 128 };
        for b in prefixes.iter().filter(|b| is_host(b)) {
            if let Some(owner) = self.allowed.lookup(b.addr()).filter(|o| Some(*o) != except) {
                if let Some(p) = self.live(owner) {
                    return Err(clash(b, p));
                }
            }
        }
        if prefixes.iter().all(is_host) {
            return Ok(());
        }
        for (i, p) in self.peers.iter().enumerate() {
            if p.removed || except == Some(PeerId(i)) {
                continue;
            }
            for a in &p.allowed {
                if let Some(b) = prefixes.iter().find(|b| !is_host(b) && b.overlaps(a)) {
                    return Err(clash(b, p));
                }
            }
        }
        Ok(())
    }

    /// Remove a peer: its allowed addresses leave the routing table, its receiver indices leave
    /// the index table (packets for its sessions become [`DropReason::UnknownIndex`]), its
    /// public key is unknown from now on ([`DropReason::UnknownPeerKey`]), its staged packets,
    /// keys and timers are dropped. The id is never reused: later calls with it return
    /// [`Error::UnknownPeer`] (a tombstone of about 730 bytes stays in the peer vector; its
    /// keys, queues, prefixes and point table are freed). A public-key change
    /// is a removal plus an [`add_peer`](Self::add_peer), as in RouterOS.
    pub fn remove_peer(&mut self, id: PeerId) -> Result<(), Error> {
        let p = self.live_mut(id)?;
        p.removed = true;
        let key = p.public_key.0;
        let had_table = p.st.table.take().is_some();
        p.allowed = Vec::new();
        p.staged = VecDeque::new();
        self.clear_timers(id);
        self.wipe(id);
        self.by_key.remove(&key);
        self.allowed.remove_peer(id);
        if had_table {
            self.peer_tables -= 1;
        }
        self.fix_timers();
        Ok(())
    }

    /// Replace the peer's allowed addresses (RouterOS `allowed-address`). They must not overlap
    /// another peer's; on error nothing changes.
    pub fn set_peer_allowed_address(
        &mut self,
        id: PeerId,
        prefixes: &[IpPrefix],
    ) -> Result<(), Error> {
        self.live_mut(id)?;
        self.check_overlap(Some(id), prefixes)?;
        self.allowed.remove_peer(id);
        for a in prefixes {
            self.allowed.insert(*a, id);
        }
        self.live_mut(id)?.allowed = prefixes.to_vec();
        Ok(())
    }

    /// Set or clear the preshared key (RouterOS `preshared-key`). Used from the next
    /// handshake on; current sessions keep their keys until they are rotated.
    pub fn set_peer_preshared_key(&mut self, id: PeerId, psk: Option<Key>) -> Result<(), Error> {
        let p = self.live_mut(id)?;
        p.st.psk.zeroize();
        p.st.psk = psk.map_or([0u8; 32], |k| k.0);
        Ok(())
    }

    /// Set `persistent-keepalive` in seconds (0 = off). Turning it on sends a keepalive at once
    /// (starting a handshake if there is no session), as wireguard-go does; turning it off stops
    /// the timer.
    pub fn set_peer_persistent_keepalive(
        &mut self,
        now: Instant,
        id: PeerId,
        seconds: u16,
    ) -> Result<(), Error> {
        let p = self.live_mut(id)?;
        let was = p.persistent_keepalive;
        p.persistent_keepalive = seconds;
        if seconds == 0 {
            p.t_persistent = None;
        } else if was == 0 && p.endpoint.is_some() && !p.responder && !p.disabled {
            self.send_keepalive(now, id);
        } else if let Some(t) = p.t_persistent.as_mut() {
            // Re-armed on the next authenticated packet anyway; meanwhile keep the new period.
            let last = *t - Duration::from_secs(u64::from(was));
            *t = last + Duration::from_secs(u64::from(seconds));
            self.arm(id, last + Duration::from_secs(u64::from(seconds)));
        }
        self.fix_timers();
        Ok(())
    }

    /// Set `responder` (a responder-only peer never initiates; see [`PeerConfig::responder`]).
    pub fn set_peer_responder(&mut self, id: PeerId, responder: bool) -> Result<(), Error> {
        self.live_mut(id)?.responder = responder;
        Ok(())
    }

    /// Set the peer's `disabled` flag. Disabling drops its sessions, staged packets and timers
    /// (its traffic is dropped as [`DropReason::Disabled`]); enabling lets traffic start a new
    /// handshake (at once when persistent-keepalive is set).
    pub fn set_peer_disabled(
        &mut self,
        now: Instant,
        id: PeerId,
        disabled: bool,
    ) -> Result<(), Error> {
        let p = self.live_mut(id)?;
        if p.disabled == disabled {
            return Ok(());
        }
        p.disabled = disabled;
        if disabled {
            p.staged.clear();
            self.clear_timers(id);
            self.wipe(id);
        } else {
            let p = &self.peers[id.0];
            if p.persistent_keepalive > 0 && p.endpoint.is_some() && !p.responder {
                self.send_keepalive(now, id);
            }
        }
        self.fix_timers();
        Ok(())
    }

    /// Apply a peer configuration: the peer with `cfg.public_key` is updated in place (allowed
    /// addresses, endpoint when `cfg` has one, preshared key, persistent-keepalive, responder,
    /// disabled), or added when there is none. Validation happens first; on error nothing
    /// changes. A different public key is a different peer: remove the old one.
    pub fn update_peer(&mut self, now: Instant, cfg: &PeerConfig) -> Result<PeerId, Error> {
        let Some(id) = self.peer_by_key(&cfg.public_key) else {
            return self.add_peer(now, cfg);
        };
        cfg.validate()?;
        self.check_overlap(Some(id), &cfg.allowed_address)?;
        self.set_peer_allowed_address(id, &cfg.allowed_address)?;
        if let Some(ep) = cfg.endpoint() {
            self.set_peer_endpoint(id, ep)?;
        }
        self.set_peer_preshared_key(id, cfg.preshared_key)?;
        self.set_peer_responder(id, cfg.responder)?;
        self.set_peer_disabled(now, id, cfg.disabled)?;
        self.set_peer_persistent_keepalive(now, id, cfg.persistent_keepalive)?;
        Ok(id)
    }

    /// Next datagram to send (handshake messages, cookie replies, keepalives, staged packets).
    /// `now` is part of the workspace's `poll_transmit` shape; nothing is timed here today.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.poll_event_untraced();
        trace_event!("wireguard::device", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Earliest timer deadline of any peer: the exact instant at which
    /// [`handle_timeout`](Self::handle_timeout) has something to do. O(1): the top of a
    /// deadline heap kept exact by every mutating call.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|r| r.0 .0)
    }

    fn event(&mut self, e: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    fn transmit(&mut self, dst: SocketAddr, payload: Vec<u8>) {
        if self.transmits.len() >= MAX_TRANSMITS {
            self.transmits.pop_front();
        }
        self.transmits.push_back(Transmit { dst, payload });
    }

    fn drop_(&mut self, r: DropReason) -> Output {
        *self.stats.drops.entry(r).or_insert(0) += 1;
        Output::Dropped(r)
    }

    fn jitter(&mut self) -> Duration {
        Duration::from_millis(u64::from(self.rng.next_u32() % REKEY_TIMEOUT_JITTER_MAX_MS))
    }

    fn alloc_index(&mut self, peer: PeerId) -> u32 {
        // Random, unique among live indices. A degenerate RNG cannot make this spin forever:
        // after 16 collisions probe upwards from the last draw (the table holds at most 4 entries
        // per peer, far fewer than 2^32).
        let mut i = self.rng.next_u32();
        for attempt in 0u32.. {
            if let std::collections::hash_map::Entry::Vacant(e) = self.index.entry(i) {
                e.insert(peer);
                break;
            }
            i = if attempt < 16 {
                self.rng.next_u32()
            } else {
                i.wrapping_add(1)
            };
        }
        i
    }

    fn free_keypair(&mut self, kp: Option<Box<Keypair>>) {
        if let Some(k) = kp {
            self.index.remove(&k.local_index);
        }
    }

    fn wall(&self, now: Instant) -> Duration {
        let (at, wall) = self.wall_anchor;
        wall + now.saturating_duration_since(at)
    }

    // ---- timers (names follow wireguard-go device/timers.go) ----

    #[inline]
    fn timers_any_authenticated_packet_traversal(&mut self, now: Instant, id: PeerId) {
        let p = &mut self.peers[id.0];
        if p.persistent_keepalive > 0 {
            let t = now + Duration::from_secs(u64::from(p.persistent_keepalive));
            p.t_persistent = Some(t);
            self.arm(id, t);
        }
    }
    #[inline]
    fn timers_any_authenticated_packet_sent(&mut self, id: PeerId) {
        let t = &mut self.peers[id.0].t_send_keepalive;
        if t.is_some() {
            *t = None;
            self.timers_dirty = true;
        }
    }
    #[inline]
    fn timers_any_authenticated_packet_received(&mut self, id: PeerId) {
        let t = &mut self.peers[id.0].t_new_handshake;
        if t.is_some() {
            *t = None;
            self.timers_dirty = true;
        }
    }
    #[inline]
    fn timers_data_sent(&mut self, now: Instant, id: PeerId) {
        if self.peers[id.0].t_new_handshake.is_none() {
            let j = self.jitter();
            let t = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + j;
            self.peers[id.0].t_new_handshake = Some(t);
            self.arm(id, t);
        }
    }
    #[inline]
    fn timers_data_received(&mut self, now: Instant, id: PeerId) {
        let p = &mut self.peers[id.0];
        if p.t_send_keepalive.is_none() {
            p.t_send_keepalive = Some(now + KEEPALIVE_TIMEOUT);
            self.arm(id, now + KEEPALIVE_TIMEOUT);
        } else {
            p.need_another_keepalive = true;
        }
    }
    fn timers_session_derived(&mut self, now: Instant, id: PeerId) {
        self.peers[id.0].t_zero_keys = Some(now + REJECT_AFTER_TIME * 3);
        self.arm(id, now + REJECT_AFTER_TIME * 3);
    }
    fn timers_handshake_complete(&mut self, now: Instant, id: PeerId) {
        let p = &mut self.peers[id.0];
        if p.t_retransmit.take().is_some() {
            self.timers_dirty = true;
        }
        p.attempts = 0;
        p.sent_last_minute_handshake = false;
        p.stats.last_handshake = Some(now);
        p.stats.handshakes += 1;
    }

    /// Process every expired timer. Cost: O(log n) per peer whose deadline passed, whatever the
    /// number of peers (deadlines live in a heap; see [`poll_timeout`](Self::poll_timeout)).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.fix_timers();
        let mut due = std::mem::take(&mut self.due);
        while let Some(&Reverse((t, i))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            if let Some(p) = self.peers.get_mut(i) {
                if p.scheduled == Some(t) {
                    p.scheduled = None;
                    due.push(i);
                }
            }
        }
        for &i in &due {
            if self.peers[i].removed {
                continue;
            }
            self.peer_timers(now, PeerId(i));
            if let Some(t) = self.peers[i].next_deadline() {
                self.arm(PeerId(i), t);
            }
        }
        due.clear();
        self.due = due;
        self.fix_timers();
    }

    /// The expired timers of one peer, in wireguard-go's order.
    fn peer_timers(&mut self, now: Instant, id: PeerId) {
        let i = id.0;
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.peers[i].t_retransmit) {
            self.peers[i].t_retransmit = None;
            if self.peers[i].attempts > MAX_TIMER_HANDSHAKES {
                // wireguard-go expiredRetransmitHandshake: attempts counts the retries, so this
                // is the expiry after the 19th retry (20 initiations in all).
                let attempts = self.peers[i].attempts + 1;
                let p = &mut self.peers[i];
                p.t_send_keepalive = None;
                p.need_another_keepalive = false;
                p.staged.clear();
                if p.t_zero_keys.is_none() {
                    p.t_zero_keys = Some(now + REJECT_AFTER_TIME * 3);
                }
                self.event(Event::HandshakeGaveUp { peer: id, attempts });
            } else {
                self.peers[i].attempts += 1;
                self.send_initiation(now, id, true);
            }
        }
        if due(self.peers[i].t_send_keepalive) {
            self.peers[i].t_send_keepalive = None;
            self.send_keepalive(now, id);
            if self.peers[i].need_another_keepalive {
                self.peers[i].need_another_keepalive = false;
                self.peers[i].t_send_keepalive = Some(now + KEEPALIVE_TIMEOUT);
            }
        }
        if due(self.peers[i].t_new_handshake) {
            self.peers[i].t_new_handshake = None;
            self.send_initiation(now, id, false);
        }
        if due(self.peers[i].t_zero_keys) {
            self.peers[i].t_zero_keys = None;
            self.wipe(id);
            self.event(Event::KeysWiped { peer: id });
        }
        if due(self.peers[i].t_persistent) {
            self.peers[i].t_persistent = None;
            if self.peers[i].persistent_keepalive > 0 {
                self.send_keepalive(now, id);
            }
        }
    }

    /// A timer of peer `id` was set to `t`: make sure the heap holds an entry no later than the
    /// peer's earliest deadline (entries for later deadlines are fixed lazily).
    fn arm(&mut self, id: PeerId, t: Instant) {
        self.timers_dirty = true;
        let p = &mut self.peers[id.0];
        if p.scheduled.is_none_or(|s| t < s) {
            p.scheduled = Some(t);
            self.timers.push(Reverse((t, id.0)));
        }
    }

    /// Restore the heap invariant "the top entry is exactly the earliest deadline of a live
    /// peer": pop entries that are stale (superseded, removed peer) and re-file the top peer at
    /// its real deadline when its timers moved later. Amortised O(log n); runs at the end of
    /// every call that can change timers, so [`poll_timeout`](Self::poll_timeout) is a peek.
    fn fix_timers(&mut self) {
        self.timers_dirty = false;
        while let Some(&Reverse((t, i))) = self.timers.peek() {
            let Some(p) = self.peers.get_mut(i) else {
                self.timers.pop();
                continue;
            };
            if p.scheduled != Some(t) {
                self.timers.pop();
                continue;
            }
            let real = if p.removed { None } else { p.next_deadline() };
            if real == Some(t) {
                break;
            }
            self.timers.pop();
            p.scheduled = None;
            if let Some(r) = real {
                p.scheduled = Some(r);
                self.timers.push(Reverse((r, i)));
            }
        }
    }

    fn clear_timers(&mut self, id: PeerId) {
        let p = &mut self.peers[id.0];
        p.t_retransmit = None;
        p.t_send_keepalive = None;
        p.t_new_handshake = None;
        p.t_zero_keys = None;
        p.t_persistent = None;
        p.need_another_keepalive = false;
    }

    fn wipe(&mut self, id: PeerId) {
        let p = &mut self.peers[id.0];
        let (a, b, c) = (p.current.take(), p.previous.take(), p.next.take());
        let hs = p.initiator.take();
        self.free_keypair(a);
        self.free_keypair(b);
        self.free_keypair(c);
        if let Some(h) = hs {
            self.index.remove(&h.local_index);
        }
    }

    fn send_initiation(&mut self, now: Instant, id: PeerId, is_retry: bool) {
        let p = &self.peers[id.0];
        if p.responder || p.disabled || self.disabled {
            return;
        }
        let Some(dst) = p.endpoint else {
            return;
        };
        if let Some(t) = p.last_initiation_sent {
            if now.saturating_duration_since(t) < REKEY_TIMEOUT {
                return;
            }
        }
        if !is_retry {
            self.peers[id.0].attempts = 0;
        }
        let local_index = self.alloc_index(id);
        let ts = noise::tai64n(self.wall(now));
        let res = noise::create_initiation(
            &mut *self.rng,
            &self.public,
            &self.peers[id.0].st,
            local_index,
            ts,
        );
        let (msg, state) = match res {
            Ok(x) => x,
            Err(_) => {
                self.index.remove(&local_index);
                return;
            }
        };
        let p = &mut self.peers[id.0];
        if let Some(old) = p.initiator.replace(state) {
            self.index.remove(&old.local_index);
        }
        let p = &mut self.peers[id.0];
        p.last_initiation_sent = Some(now);
        let mut bytes = msg.to_bytes();
        p.cookies.add_macs(now, &mut bytes, INITIATION_MAC1);
        p.stats.initiations_sent += 1;
        p.stats.tx_bytes += bytes.len() as u64;
        let attempt = p.attempts;
        self.transmit(dst, bytes.to_vec());
        self.event(Event::HandshakeInitiated { peer: id, attempt });
        self.timers_any_authenticated_packet_traversal(now, id);
        self.timers_any_authenticated_packet_sent(id);
        let j = self.jitter();
        self.peers[id.0].t_retransmit = Some(now + REKEY_TIMEOUT + j);
        self.arm(id, now + REKEY_TIMEOUT + j);
    }

    fn send_keepalive(&mut self, now: Instant, id: PeerId) {
        if self.peers[id.0].staged.is_empty() {
            self.peers[id.0].staged.push_back(Vec::new());
        }
        self.send_staged(now, id);
    }

    fn send_staged(&mut self, now: Instant, id: PeerId) {
        let p = &mut self.peers[id.0];
        if p.staged.is_empty() {
            return;
        }
        let usable = p.current.as_ref().is_some_and(|k| k.can_send(now));
        let Some(dst) = p.endpoint.filter(|_| usable) else {
            self.send_initiation(now, id, false);
            return;
        };
        let mtu = self.mtu;
        let mut sent_data = false;
        let mut out = Vec::new();
        while let Some(pkt) = p.staged.pop_front() {
            let Some(kp) = p.current.as_mut() else { break };
            let mut buf = vec![0u8; TRANSPORT_MIN_LEN + padded_len(pkt.len(), mtu)];
            let n = seal_into(kp, &pkt, mtu, &mut buf);
            buf.truncate(n);
            sent_data |= !pkt.is_empty();
            p.stats.tx_bytes += n as u64;
            p.stats.tx_packets += 1;
            out.push(buf);
        }
        for b in out {
            self.transmit(dst, b);
        }
        self.timers_any_authenticated_packet_traversal(now, id);
        self.timers_any_authenticated_packet_sent(id);
        if sent_data {
            self.timers_data_sent(now, id);
        }
        self.keep_key_fresh_sending(now, id);
    }

    #[inline]
    fn keep_key_fresh_sending(&mut self, now: Instant, id: PeerId) {
        let Some(kp) = self.peers[id.0].current.as_ref() else {
            return;
        };
        // Whitepaper 6.2 / wireguard-go keepKeyFreshSending / Linux keep_key_fresh: the message
        // count applies in either role (a busy responder must not wait for the initiator to
        // rekey), the age only to the initiator of the keypair (the two sides would otherwise
        // rekey at once, the "thundering herd" the paper avoids).
        if kp.send_counter > REKEY_AFTER_MESSAGES || (kp.initiator && now > kp.rekey_at) {
            self.send_initiation(now, id, false);
        }
    }

    #[inline]
    fn keep_key_fresh_receiving(&mut self, now: Instant, id: PeerId) {
        let p = &self.peers[id.0];
        if p.sent_last_minute_handshake {
            return;
        }
        let Some(kp) = p.current.as_ref() else {
            return;
        };
        if kp.initiator && now > kp.last_minute_at {
            self.peers[id.0].sent_last_minute_handshake = true;
            self.send_initiation(now, id, false);
        }
    }

    /// Encrypt an IP packet from the tunnel interface. Selects the peer by the destination
    /// address (cryptokey routing). With a usable session the datagram is written to
    /// `out[..len]` (`Output::Transmit`), which needs `32 + padded length` bytes, else
    /// [`Error::BufferTooSmall`] with nothing changed. Without a session the packet is staged
    /// (copied, up to 128 per peer), a handshake is started and `Output::Done` is returned.
    pub fn encapsulate(
        &mut self,
        now: Instant,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<Output, Error> {
        let r = self.encapsulate_inner(now, Plain::Copy(packet), out);
        if self.timers_dirty {
            self.fix_timers();
        }
        r
    }

    /// [`encapsulate`](Self::encapsulate) without the copy: the IP packet is `buf[16..16 + len]`
    /// (read it from the tunnel interface at offset 16) and is encrypted in place; the datagram
    /// (`Output::Transmit { len, .. }`) is `buf[..len]`. `buf` must hold `32 + padded length`
    /// bytes, else [`Error::BufferTooSmall`] with nothing changed. Without a session the packet
    /// is staged (copied) as by `encapsulate`.
    pub fn encapsulate_in_place(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        len: usize,
    ) -> Result<Output, Error> {
        if buf.len() < TRANSPORT_HEADER_LEN + len {
            return Err(Error::BufferTooSmall {
                need: TRANSPORT_MIN_LEN + len,
                have: buf.len(),
            });
        }
        let r = self.encapsulate_inner(now, Plain::InPlace(len), buf);
        if self.timers_dirty {
            self.fix_timers();
        }
        r
    }

    fn encapsulate_inner(
        &mut self,
        now: Instant,
        plain: Plain<'_>,
        out: &mut [u8],
    ) -> Result<Output, Error> {
        if self.disabled {
            return Ok(self.drop_(DropReason::Disabled));
        }
        let (packet_len, dst_ip) = match plain {
            Plain::Copy(p) => (p.len(), inner_dst(p)),
            Plain::InPlace(n) => (
                n,
                out.get(TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + n)
                    .and_then(inner_dst),
            ),
        };
        let Some(dst_ip) = dst_ip else {
            return Ok(self.drop_(DropReason::BadInnerPacket));
        };
        let Some(id) = self.allowed.lookup(dst_ip) else {
            return Ok(self.drop_(DropReason::NoRoute));
        };
        let mtu = self.mtu;
        let p = &mut self.peers[id.0];
        if p.disabled {
            return Ok(self.drop_(DropReason::Disabled));
        }
        let usable = p.current.as_ref().is_some_and(|k| k.can_send(now)) && p.staged.is_empty();
        match (usable, p.endpoint) {
            (true, Some(dst)) => {
                let need = TRANSPORT_MIN_LEN + padded_len(packet_len, mtu);
                if out.len() < need {
                    return Err(Error::BufferTooSmall {
                        need,
                        have: out.len(),
                    });
                }
                let Some(kp) = p.current.as_mut() else {
                    return Ok(self.drop_(DropReason::NoEndpoint));
                };
                let n = match plain {
                    Plain::Copy(p) => seal_into(kp, p, mtu, out),
                    Plain::InPlace(len) => seal_in_place(kp, len, mtu, out),
                };
                p.stats.tx_bytes += n as u64;
                p.stats.tx_packets += 1;
                self.timers_any_authenticated_packet_traversal(now, id);
                self.timers_any_authenticated_packet_sent(id);
                self.timers_data_sent(now, id);
                self.keep_key_fresh_sending(now, id);
                Ok(Output::Transmit { dst, len: n })
            }
            (_, None) => Ok(self.drop_(DropReason::NoEndpoint)),
            (false, Some(_)) => {
                if p.staged.len() >= MAX_STAGED {
                    p.staged.pop_front();
                    *self.stats.drops.entry(DropReason::QueueFull).or_insert(0) += 1;
                }
                let copy = match plain {
                    Plain::Copy(p) => p.to_vec(),
                    Plain::InPlace(n) => out
                        .get(TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + n)
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default(),
                };
                self.peers[id.0].staged.push_back(copy);
                self.send_staged(now, id);
                Ok(Output::Done)
            }
        }
    }

    fn note_handshake_load(&mut self, now: Instant) {
        if let LoadPolicy::Auto { max_per_second } = self.load {
            let (start, count) = match self.load_window {
                Some((s, c)) if now.saturating_duration_since(s) < Duration::from_secs(1) => {
                    (s, c + 1)
                }
                _ => (now, 1),
            };
            self.load_window = Some((start, count));
            if count > max_per_second {
                self.under_load_until = Some(now + Duration::from_secs(1));
            }
        }
    }

    /// mac1 and (under load) mac2 / cookie reply; `Some(drop)` when the message must go.
    fn check_macs(
        &mut self,
        now: Instant,
        src: SocketAddr,
        data: &[u8],
        mac1_off: usize,
        sender: u32,
    ) -> Option<DropReason> {
        if !self.checker.check_mac1(data, mac1_off) {
            return Some(DropReason::BadMac1);
        }
        self.note_handshake_load(now);
        if self.under_load(now)
            && !self
                .checker
                .check_mac2(now, &mut *self.rng, data, mac1_off, &src)
        {
            let reply =
                self.checker
                    .create_reply(now, &mut *self.rng, data, mac1_off, sender, &src);
            self.stats.cookie_replies_sent += 1;
            self.transmit(src, reply.to_bytes().to_vec());
            return Some(DropReason::CookieRequired);
        }
        // Under load, a source that proved its address (mac2) still gets at most 20 handshake
        // messages per second (burst 5) before any DH work is spent on it.
        if self.under_load(now) && !self.ratelimiter.allow(now, src.ip()) {
            return Some(DropReason::RateLimited);
        }
        None
    }

    #[inline]
    fn roam(&mut self, id: PeerId, src: SocketAddr) {
        let p = &mut self.peers[id.0];
        if p.endpoint != Some(src) {
            p.endpoint = Some(src);
            self.event(Event::EndpointChanged {
                peer: id,
                endpoint: src,
            });
        }
    }

    /// Process one UDP payload received from `src`. Transport data is decrypted into `out`, which
    /// must be at least `datagram.len() - 16` bytes (else [`Error::BufferTooSmall`], nothing
    /// changed); a delivered IP packet is `out[..len]` (padding removed). Handshake messages are
    /// answered through [`poll_transmit`](Self::poll_transmit).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        src: SocketAddr,
        datagram: &[u8],
        out: &mut [u8],
    ) -> Result<Output, Error> {
        let r = self.handle_datagram_inner(now, src, datagram, out);
        if self.timers_dirty {
            self.fix_timers();
        }
        r
    }

    /// [`handle_datagram`](Self::handle_datagram) without the copy: transport data is decrypted
    /// in place, and a delivered IP packet (`Output::Deliver { len, .. }`) is
    /// `buf[16..16 + len]` (after the 16-byte transport header). Handshake messages are handled
    /// as by `handle_datagram` (`buf` is not modified for them). On a drop the content of `buf`
    /// is unspecified.
    pub fn handle_datagram_in_place(
        &mut self,
        now: Instant,
        src: SocketAddr,
        buf: &mut [u8],
    ) -> Result<Output, Error> {
        let r = if self.disabled {
            Ok(self.drop_(DropReason::Disabled))
        } else {
            match Message::parse(buf) {
                Ok(Message::Transport(t)) => {
                    let (receiver, counter) = (t.receiver, t.counter);
                    let len = buf.len();
                    self.handle_transport(now, src, len, receiver, counter, Cipher::InPlace, buf)
                }
                Ok(_) => self.handle_datagram_inner(now, src, buf, &mut []),
                Err(_) => Ok(self.drop_(DropReason::Malformed)),
            }
        };
        if self.timers_dirty {
            self.fix_timers();
        }
        r
    }

    fn handle_datagram_inner(
        &mut self,
        now: Instant,
        src: SocketAddr,
        datagram: &[u8],
        out: &mut [u8],
    ) -> Result<Output, Error> {
        if self.disabled {
            return Ok(self.drop_(DropReason::Disabled));
        }
        let msg = match Message::parse(datagram) {
            Ok(m) => m,
            Err(_) => return Ok(self.drop_(DropReason::Malformed)),
        };
        match msg {
            Message::Transport(t) => self.handle_transport(
                now,
                src,
                datagram.len(),
                t.receiver,
                t.counter,
                Cipher::Copy(t.encrypted),
                out,
            ),
            Message::Initiation(m) => {
                let r = self.handle_initiation(now, src, datagram, &m);
                Ok(match r {
                    Ok(()) => Output::Done,
                    Err(reason) => self.drop_(reason),
                })
            }
            Message::Response(m) => {
                let r = self.handle_response(now, src, datagram, &m);
                Ok(match r {
                    Ok(()) => Output::Done,
                    Err(reason) => self.drop_(reason),
                })
            }
            Message::CookieReply(m) => {
                let Some(&id) = self.index.get(&m.receiver) else {
                    return Ok(self.drop_(DropReason::UnknownIndex));
                };
                if self.peers[id.0].cookies.consume_reply(now, &m) {
                    self.event(Event::CookieReceived { peer: id });
                    Ok(Output::Done)
                } else {
                    Ok(self.drop_(DropReason::BadCookieReply))
                }
            }
        }
    }

    fn handle_initiation(
        &mut self,
        now: Instant,
        src: SocketAddr,
        data: &[u8],
        m: &wire::Initiation,
    ) -> Result<(), DropReason> {
        if let Some(r) = self.check_macs(now, src, data, INITIATION_MAC1, m.sender) {
            return Err(r);
        }
        let st = noise::consume_initiation_static_with(&self.secret, &self.initial_hash, m)?;
        let id = *self
            .by_key
            .get(&st.remote_static)
            .ok_or(DropReason::UnknownPeerKey)?;
        if self.peers[id.0].disabled {
            return Err(DropReason::Disabled);
        }
        let rs = noise::consume_initiation_timestamp(st, &self.peers[id.0].st)?;
        let p = &self.peers[id.0];
        if p.last_timestamp.is_some_and(|t| rs.timestamp <= t) {
            return Err(DropReason::StaleTimestamp);
        }
        if p.last_initiation_consumed
            .is_some_and(|t| now.saturating_duration_since(t) < HANDSHAKE_INITIATION_RATE)
        {
            return Err(DropReason::InitiationFlood);
        }
        let local_index = self.alloc_index(id);
        let (resp, keys) =
            match noise::create_response(&mut *self.rng, &rs, &self.peers[id.0].st, local_index) {
                Ok(x) => x,
                Err(e) => {
                    self.index.remove(&local_index);
                    return Err(e);
                }
            };
        // Accepted: state changes from here on.
        let p = &mut self.peers[id.0];
        p.last_timestamp = Some(rs.timestamp);
        p.last_initiation_consumed = Some(now);
        let kp = Box::new(Keypair::new(
            &keys,
            local_index,
            rs.remote_index,
            now,
            false,
            self.aead.as_deref(),
        ));
        let old_next = p.next.replace(kp);
        let old_prev = p.previous.take();
        let old_hs = p.initiator.take();
        self.free_keypair(old_next);
        self.free_keypair(old_prev);
        if let Some(h) = old_hs {
            self.index.remove(&h.local_index);
        }
        self.roam(id, src);
        self.timers_any_authenticated_packet_traversal(now, id);
        self.timers_any_authenticated_packet_received(id);
        let p = &mut self.peers[id.0];
        let mut bytes = resp.to_bytes();
        p.cookies.add_macs(now, &mut bytes, RESPONSE_MAC1);
        p.stats.tx_bytes += bytes.len() as u64;
        p.stats.rx_bytes += data.len() as u64;
        self.transmit(src, bytes.to_vec());
        self.timers_session_derived(now, id);
        self.timers_any_authenticated_packet_traversal(now, id);
        self.timers_any_authenticated_packet_sent(id);
        Ok(())
    }

    fn handle_response(
        &mut self,
        now: Instant,
        src: SocketAddr,
        data: &[u8],
        m: &wire::Response,
    ) -> Result<(), DropReason> {
        if let Some(r) = self.check_macs(now, src, data, RESPONSE_MAC1, m.sender) {
            return Err(r);
        }
        let id = *self
            .index
            .get(&m.receiver)
            .ok_or(DropReason::UnknownIndex)?;
        let p = &self.peers[id.0];
        let Some(hs) = p.initiator.as_ref().filter(|h| h.local_index == m.receiver) else {
            return Err(DropReason::UnknownIndex);
        };
        let keys = noise::consume_response(&self.secret, hs, &p.st, m)?;
        let p = &mut self.peers[id.0];
        let Some(hs) = p.initiator.take() else {
            return Err(DropReason::UnknownIndex);
        };
        // The handshake's index becomes the keypair's index (stays in the index table).
        let kp = Box::new(Keypair::new(
            &keys,
            hs.local_index,
            m.sender,
            now,
            true,
            self.aead.as_deref(),
        ));
        let (freed_a, freed_b);
        if let Some(next) = p.next.take() {
            freed_a = p.current.take();
            freed_b = p.previous.replace(next);
        } else {
            freed_a = None;
            let cur = p.current.take();
            freed_b = std::mem::replace(&mut p.previous, cur);
        }
        p.current = Some(kp);
        p.stats.rx_bytes += data.len() as u64;
        self.free_keypair(freed_a);
        self.free_keypair(freed_b);
        self.roam(id, src);
        self.timers_any_authenticated_packet_traversal(now, id);
        self.timers_any_authenticated_packet_received(id);
        self.timers_session_derived(now, id);
        self.timers_handshake_complete(now, id);
        self.event(Event::HandshakeComplete {
            peer: id,
            initiator: true,
        });
        self.send_keepalive(now, id);
        Ok(())
    }

    /// Transport data: `cipher` says where the ciphertext is (in the datagram, to be copied into
    /// `out[..n]`, or already at `out[16..]`); the plaintext ends up at the same place.
    #[allow(clippy::too_many_arguments)]
    fn handle_transport(
        &mut self,
        now: Instant,
        src: SocketAddr,
        wire_len: usize,
        receiver: u32,
        counter: u64,
        cipher: Cipher<'_>,
        out: &mut [u8],
    ) -> Result<Output, Error> {
        if let Cipher::Copy(ct) = cipher {
            if out.len() < ct.len() {
                return Err(Error::BufferTooSmall {
                    need: ct.len(),
                    have: out.len(),
                });
            }
        }
        let in_place = matches!(cipher, Cipher::InPlace);
        let Some(&id) = self.index.get(&receiver) else {
            return Ok(self.drop_(DropReason::UnknownIndex));
        };
        let p = &mut self.peers[id.0];
        let Some(slot) = p.find_slot(receiver) else {
            return Ok(self.drop_(DropReason::UnknownIndex));
        };
        let Some(kp) = p.slot(slot).as_mut() else {
            return Ok(self.drop_(DropReason::UnknownIndex));
        };
        if now >= kp.reject_at {
            return Ok(self.drop_(DropReason::ExpiredKeypair));
        }
        if !kp.replay.check(counter) {
            return Ok(self.drop_(DropReason::Replay));
        }
        let buf = match cipher {
            Cipher::Copy(ct) => {
                let Some(buf) = out.get_mut(..ct.len()) else {
                    return Ok(self.drop_(DropReason::Malformed));
                };
                buf.copy_from_slice(ct);
                buf
            }
            Cipher::InPlace => match out.get_mut(TRANSPORT_HEADER_LEN..) {
                Some(b) => b,
                None => return Ok(self.drop_(DropReason::Malformed)),
            },
        };
        let Some(plen) = kp.recv.open(counter, buf) else {
            return Ok(self.drop_(DropReason::BadTransportAuth));
        };
        kp.replay.accept(counter);
        p.stats.rx_bytes += wire_len as u64;
        p.stats.rx_packets += 1;
        if slot == Slot::Next {
            // The initiator used the keypair: confirm it (previous <- current <- next).
            let next = p.next.take();
            let cur = p.current.take();
            let old_prev = std::mem::replace(&mut p.previous, cur);
            p.current = next;
            self.free_keypair(old_prev);
            self.timers_handshake_complete(now, id);
            self.event(Event::HandshakeComplete {
                peer: id,
                initiator: false,
            });
            self.send_staged(now, id);
        }
        self.roam(id, src);
        self.keep_key_fresh_receiving(now, id);
        self.timers_any_authenticated_packet_traversal(now, id);
        self.timers_any_authenticated_packet_received(id);
        if plen == 0 {
            return Ok(Output::Done);
        }
        let at = if in_place { TRANSPORT_HEADER_LEN } else { 0 };
        let Some((inner, len)) = out.get(at..at + plen).and_then(inner_src) else {
            return Ok(self.drop_(DropReason::BadInnerPacket));
        };
        // Allowed addresses of different peers never overlap (add_peer / set_peer_allowed
        // enforce it), so "the longest match is this peer" equals "one of this peer's prefixes
        // contains it": a scan of a short list is cheaper than the table's probes.
        let allowed = &self.peers[id.0].allowed;
        let ok = if allowed.len() <= 8 {
            allowed.iter().any(|a| a.contains(inner))
        } else {
            self.allowed.lookup(inner) == Some(id)
        };
        if !ok {
            return Ok(self.drop_(DropReason::SourceNotAllowed));
        }
        self.timers_data_received(now, id);
        Ok(Output::Deliver { peer: id, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force_deadline(d: &Device) -> Option<Instant> {
        d.peers
            .iter()
            .filter(|p| !p.removed)
            .filter_map(|p| p.next_deadline())
            .min()
    }

    /// 2000 peers: 3 initiators with persistent keepalives whose initiations go unanswered (so
    /// every natural timer path runs: persistent keepalive, retransmits with jitter, give-up,
    /// key wipe), and responder-only peers whose timers the test sets at random (their expiry is
    /// cheap: a responder never initiates). Removals, re-enables, keepalive changes and outbound
    /// packets happen in between. After every call the heap's answer equals the minimum over all
    /// peers, and handle_timeout leaves nothing due.
    #[test]
    fn poll_timeout_heap_matches_brute_force_with_thousands_of_peers() {
        let t0 = Instant::now();
        let rng = Box::new(netsim::TestRng::new(7));
        let cfg = InterfaceConfig {
            private_key: Some(Key([3; 32])),
            ..Default::default()
        };
        let mut d = Device::new(&cfg, rng, t0, Duration::from_secs(1_780_000_000)).unwrap();
        d.set_max_precomputed_peers(0);
        let n = 2000u32;
        for i in 0..n {
            let mut k = [0u8; 32];
            k[4..8].copy_from_slice(&(i + 1).to_le_bytes());
            // Initiators get real keys; responders any 32 bytes (cheaper in debug builds).
            let mut pc = PeerConfig::new(if i < 3 { Key(k).public_key() } else { Key(k) });
            pc.endpoint_address = Some("192.0.2.9".into());
            pc.endpoint_port = Some(13231);
            pc.allowed_address =
                vec![IpPrefix::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)), 32).unwrap()];
            pc.responder = i >= 3;
            pc.persistent_keepalive = if i < 3 { 25 + i as u16 } else { 0 };
            d.add_peer(t0 + Duration::from_millis(u64::from(i)), &pc)
                .unwrap();
            assert_eq!(d.poll_timeout(), brute_force_deadline(&d));
        }
        let mut rng = netsim::TestRng::new(99);
        let mut next = |m: u64| rand_core::RngCore::next_u64(&mut rng) % m;
        let mut buf = vec![0u8; 2048];
        let mut now = t0;
        let mut fired = 0;
        let mut gave_up = 0;
        while let Some(t) = d.poll_timeout() {
            if fired == 2000 {
                break;
            }
            now = now.max(t);
            d.handle_timeout(now);
            fired += 1;
            assert_eq!(
                d.poll_timeout(),
                brute_force_deadline(&d),
                "after timeout {fired}"
            );
            assert!(d.poll_timeout().is_none_or(|t| t > now), "nothing left due");
            while d.poll_transmit(now).is_some() {}
            while let Some(e) = d.poll_event() {
                gave_up += usize::from(matches!(e, Event::HandshakeGaveUp { .. }));
            }
            for _ in 0..2 {
                let id = PeerId(3 + next(u64::from(n) - 3) as usize);
                let at = now + Duration::from_millis(1 + next(300_000));
                match next(12) {
                    0 => {
                        let _ = d.remove_peer(id);
                    }
                    1 => {
                        let _ = d.set_peer_disabled(now, id, next(2) == 0);
                    }
                    2 => {
                        let _ = d.set_peer_persistent_keepalive(now, id, next(40) as u16);
                    }
                    3 => {
                        let mut pkt = vec![0u8; 28];
                        pkt[0] = 0x45;
                        pkt[3] = 28;
                        pkt[16..20].copy_from_slice(&(0x0a00_0000 + id.0 as u32).to_be_bytes());
                        let _ = d.encapsulate(now, &pkt, &mut buf);
                    }
                    k => {
                        if d.live(id).is_some_and(|p| !p.disabled) {
                            let p = &mut d.peers[id.0];
                            match k % 5 {
                                0 => p.t_retransmit = Some(at),
                                1 => p.t_send_keepalive = Some(at),
                                2 => p.t_new_handshake = Some(at),
                                3 => p.t_zero_keys = Some(at),
                                _ => p.t_persistent = Some(at),
                            }
                            d.arm(id, at);
                            // What every public call does last.
                            d.fix_timers();
                        }
                    }
                }
                assert_eq!(
                    d.poll_timeout(),
                    brute_force_deadline(&d),
                    "after op {fired}"
                );
            }
        }
        assert_eq!(fired, 2000);
        assert!(gave_up >= 1, "an unanswered initiator gave up");
        // Stale entries stay bounded (they are dropped when they reach the top).
        assert!(
            d.timers.len() < 2 * n as usize,
            "{} heap entries",
            d.timers.len()
        );
    }

    /// Two devices with a completed handshake (A initiated, B confirmed by A's keepalive).
    fn session_pair(now: Instant) -> (Device, Device, SocketAddr, SocketAddr) {
        let wall = Duration::from_secs(1_780_000_000);
        let (ka, kb) = (Key([11; 32]), Key([12; 32]));
        let dev = |k: Key, seed: u64| {
            let cfg = InterfaceConfig {
                private_key: Some(k),
                ..Default::default()
            };
            let rng = Box::new(netsim::TestRng::new(seed));
            Device::new(&cfg, rng, now, wall).unwrap()
        };
        let (mut a, mut b) = (dev(ka, 1), dev(kb, 2));
        let (addr_a, addr_b): (SocketAddr, SocketAddr) = (
            "192.0.2.1:51820".parse().unwrap(),
            "192.0.2.2:13231".parse().unwrap(),
        );
        let mut pa = PeerConfig::new(kb.public_key());
        pa.endpoint_address = Some("192.0.2.2".into());
        pa.endpoint_port = Some(13231);
        pa.allowed_address = vec!["10.0.0.2/32".parse().unwrap()];
        a.add_peer(now, &pa).unwrap();
        let mut pb = PeerConfig::new(ka.public_key());
        pb.allowed_address = vec!["10.0.0.1/32".parse().unwrap()];
        b.add_peer(now, &pb).unwrap();
        a.initiate(now, PeerId(0)).unwrap();
        let mut buf = [0u8; 2048];
        for _ in 0..3 {
            while let Some(t) = a.poll_transmit(now) {
                b.handle_datagram(now, addr_a, &t.payload, &mut buf)
                    .unwrap();
            }
            while let Some(t) = b.poll_transmit(now) {
                a.handle_datagram(now, addr_b, &t.payload, &mut buf)
                    .unwrap();
            }
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        assert!(a.peer_has_session(PeerId(0), now) && b.peer_has_session(PeerId(0), now));
        (a, b, addr_a, addr_b)
    }

    fn ping(dst: [u8; 4]) -> Vec<u8> {
        let mut pkt = vec![0u8; 28];
        pkt[0] = 0x45;
        pkt[3] = 28;
        pkt[16..20].copy_from_slice(&dst);
        pkt
    }

    fn initiations(d: &mut Device, now: Instant) -> usize {
        let mut n = 0;
        while let Some(t) = d.poll_transmit(now) {
            n += usize::from(t.payload.first() == Some(&1));
        }
        n
    }

    /// RekeyAfterMessages applies in either role (issue 17): once a keypair has sent more than
    /// 2^60 messages, the next packet starts a handshake, on the responder as on the
    /// initiator, and long before RekeyAfterTime. (The counter is set directly: 2^60 real
    /// packets are out of reach of a test.)
    #[test]
    fn rekey_after_messages_in_either_role() {
        let t0 = Instant::now();
        // Past RekeyTimeout after A's first initiation (initiations are at most one per 5 s),
        // far before RekeyAfterTime (120 s).
        let now = t0 + Duration::from_secs(6);
        let mut buf = [0u8; 2048];
        for responder in [true, false] {
            let (mut a, mut b, _, _) = session_pair(t0);
            let (d, dst) = if responder {
                (&mut b, [10, 0, 0, 1])
            } else {
                (&mut a, [10, 0, 0, 2])
            };
            assert_eq!(
                d.peers[0].current.as_ref().unwrap().initiator,
                !responder,
                "role of the keypair"
            );
            // The check runs after the send (as in wireguard-go): the packet that makes the
            // counter reach the limit does not rekey yet ...
            d.peers[0].current.as_mut().unwrap().send_counter = REKEY_AFTER_MESSAGES - 1;
            let o = d.encapsulate(now, &ping(dst), &mut buf).unwrap();
            assert!(matches!(o, Output::Transmit { .. }), "{o:?}");
            assert_eq!(
                initiations(d, now),
                0,
                "counter at the limit, responder={responder}"
            );
            // ... the one that takes it past the limit does.
            let o = d.encapsulate(now, &ping(dst), &mut buf).unwrap();
            assert!(
                matches!(o, Output::Transmit { .. }),
                "still sent on the old keypair"
            );
            assert_eq!(
                initiations(d, now),
                1,
                "rekey on the count, responder={responder}"
            );
            assert!(
                std::iter::from_fn(|| d.poll_event())
                    .any(|e| matches!(e, Event::HandshakeInitiated { attempt: 0, .. })),
                "responder={responder}"
            );
        }
    }

    #[test]
    fn padding() {
        assert_eq!(padded_len(0, 1420), 0);
        assert_eq!(padded_len(1, 1420), 16);
        assert_eq!(padded_len(84, 1420), 96);
        assert_eq!(padded_len(1419, 1420), 1420);
        assert_eq!(padded_len(1420, 1420), 1420);
        assert_eq!(padded_len(1500, 1420), 1500);
        assert_eq!(padded_len(17, 0), 32);
    }
}
