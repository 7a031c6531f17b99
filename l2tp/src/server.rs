//! LNS server: any number of L2TPv2 tunnels and sessions behind one UDP socket, with the
//! RouterOS `/interface l2tp-server server` admission policy.
//!
//! # Demultiplexing
//! The caller passes a [`Peer`] with every datagram: a caller-chosen demultiplexing `key`
//! (for example `(source address, source port)`, or `(IPsec SA id, inner port)` so that several
//! clients behind one NAT address, each in its own IPsec SA, stay apart - the failure mode of
//! xl2tpd issue 82), the peer's IP address (caller-id and one-session-per-host) and whether the
//! datagram arrived inside IPsec (`use-ipsec=require`). Tunnels are found by our tunnel id;
//! a datagram whose key does not match the tunnel's key is dropped. A retransmitted SCCRQ is
//! matched by `(key, peer's Assigned Tunnel ID)` and reaches the existing tunnel.
//!
//! # Driving contract
//! Same as [`crate::Tunnel`]: `handle_input` / `handle_timeout` in, `poll_transmit` (with the
//! key to send to), `poll_event`, `poll_timeout` out. Timers of all tunnels and L2TPv3
//! connections are kept in heaps and only touched ones are polled for transmission, so
//! `poll_timeout`, `handle_timeout` and `poll_transmit` cost O(log n) per due or touched
//! tunnel, not O(n).
//!
//! # Admission (RouterOS property -> behaviour)
//! * `use-ipsec=require`: datagrams with `via_ipsec == false` are dropped (counted).
//! * `accept-proto-version`: an L2TPv2 SCCRQ refused by `l2tpv3` gets a StopCCN with result 5;
//!   an L2TPv3 SCCRQ refused by `l2tpv2` is dropped and counted ([`LnsStats::rejected_version`]).
//! * L2TPv3 over UDP ([`Lns::handle_input`]) and over IP protocol 115
//!   ([`Lns::handle_input_ip`]; give IP peers their own keys) ([`crate::v3`]): an SCCRQ
//!   creates a responder [`ControlConnectionV3`] with the `l2tpv3-digest-hash`,
//!   `l2tpv3-cookie-length` and the hook's secret; its pseudowire type is Ethernet when the
//!   peer offers it and `accept-pseudowire-type` allows it, else PPP, else the SCCRQ is refused
//!   (counted in [`LnsStats::rejected_pseudowire`]). Each connection carries any number of
//!   sessions (ICRQs from the peer, or [`Lns::v3_open_session`]); v3 data is demultiplexed by
//!   our session id (unique across connections) and comes out as [`LnsInput::V3Data`]; events
//!   via [`Lns::poll_v3_event`]; send with [`Lns::encapsulate_v3_session`]. `max-sessions`
//!   is one budget for v2 and v3 sessions: an ICRQ or OCRQ beyond it gets a CDN with result
//!   4. The LNS may place outgoing calls ([`Lns::v3_open_outgoing_session`]) and signal
//!   circuit status and errors ([`Lns::v3_set_circuit_status`],
//!   [`Lns::v3_report_circuit_errors`]). With [`TunnelConfig::reorder`] sequenced v3 data is
//!   reordered per session too: held frames return [`LnsInput::V3Queued`] and come out of
//!   [`Lns::poll_v3_data`].
//! * `accept-pseudowire-type=ether`: L2TPv2 calls (always PPP) get a CDN (result 4... see code).
//! * `max-sessions`: the N+1th call gets a CDN with result 4 (no facilities, temporary).
//! * `one-session-per-host=yes`: a new call from the same caller-id closes the old session
//!   with a CDN (result 3, administrative), like RouterOS PPPoE does.
//! * `caller-id-type`: caller-id is the peer IP (`ip-address`) or the Calling Number AVP.
//! * Tunnel secrets come from a per-peer hook (`/ppp l2tp-secret address=... secret=...`).
//!
//! # What a stranger can make the LNS hold (flood protection)
//! An SCCRQ needs no proof of the source address: anyone can forge one from any address, and
//! RFC 2661 has no cookie exchange. The knobs below are library bounds, not RouterOS
//! properties (RouterOS has none of them); defaults in parentheses.
//! * **SCCRQ rate.** Every SCCRQ (L2TPv2 and L2TPv3, retransmissions too) takes a token from
//!   its source's bucket (IPv4 /32, IPv6 /64; `sccrq_rate_per_source`, (4/s, burst 8)) and
//!   from a global bucket (`sccrq_rate_global`, (200/s, burst 200)); with no token it is
//!   dropped, counted ([`LnsStats::dropped_sccrq_rate`],
//!   [`LnsStats::dropped_sccrq_global_rate`]) and returned as
//!   [`Error::Dropped`]`(`[`DropReason`]`)`. One flooder therefore gets 4 SCCRQs/s through
//!   and cannot starve other sources; many spoofed sources together get at most the global
//!   rate through, and above it they do delay new tunnels (that is the price of having no
//!   cookie). The source table holds at most [`crate::limit::SOURCE_TABLE_CAPACITY`] (16,384)
//!   entries of about 40 bytes, collected once their buckets are full again.
//! * **Half-open tunnels** (SCCRQ answered, the peer's SCCCN not yet received; L2TPv2
//!   tunnels and L2TPv3 control connections alike, counted together in
//!   [`Lns::half_open_count`]): at most `max_half_open` (2048) in total and
//!   `max_half_open_per_source` (8) per source; an SCCRQ of either version beyond either is
//!   dropped ([`DropReason::HalfOpenFull`],
//!   [`DropReason::HalfOpenPerSource`]). Each is reclaimed silently `half_open_timeout` (8 s)
//!   after its SCCRQ ([`LnsStats::half_open_expired`]); it leaves the half-open state when
//!   the peer's SCCCN is accepted. A half-open L2TPv2 tunnel costs about 3 KB (measured at
//!   20,480 of them; an L2TPv3 connection is of the same order), so a
//!   stranger can make the LNS hold at most about 2048 x 3 KB = 6 MB of tunnel state, for at
//!   most 8 s after the flood stops; the tables shrink again when they are reclaimed. With
//!   the defaults admitted SCCRQs alone cannot fill the table (200 + 200 x 8 < 2048).
//! * **Reflection.** To a peer that has not proven its address, the SCCRP (or a StopCCN) is
//!   sent once and retransmitted by timer only `half_open_retransmits` (0) times; a
//!   retransmitted SCCRQ is answered with one SCCRP, so a lost SCCRP is recovered by the
//!   peer's own timer. A forged SCCRQ therefore makes the LNS send one datagram of about its
//!   own size: measured 1.00x in packets and 0.86x in bytes for L2TPv2, 1.00x and 0.81x for
//!   L2TPv3 (`tests/flood.rs`), where RFC 2661 s5.8 (RFC 3931 s4.2) retransmission to the
//!   forged source gave 2.0x even with the 8 s reclaim (and 6x before it). Once the tunnel
//!   is up, normal retransmission applies. L2TPv3 connections follow the same rule
//!   ([`ControlConnectionV3::set_unproven_retransmits`]).
//! * With a secret from the hook, a forged L2TPv3 SCCRQ fails the digest and leaves no
//!   state at all; without one it is held as above.
//! * Not bounded here: established tunnels and connections (`max_tunnels`, `max-sessions`):
//!   they needed a peer that receives our SCCRP.

use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::config::{
    AcceptProtoVersion, AcceptPseudowireType, CallerIdType, ServerConfig, TunnelConfig, UseIpsec,
};
use crate::error::{Error, Result};
use crate::event::{DropReason, Event};
use crate::limit::{Refusal, SourceLimiter, SourcePrefix};
use crate::tunnel::{Input, Tunnel, TunnelState};
use crate::v3::{ControlConnectionV3, V3Config, V3Event, V3Input, PW_ETHERNET, PW_PPP};
use crate::wire::avp::{attr, Avp, AvpValue, ResultCode};
use crate::wire::header::{peek_version, Header};
use crate::wire::message::{result, ControlMessage, MessageType};
use crate::wire::v3::{ControlMessageV3, Encap};

/// Where a datagram came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer<K> {
    /// Caller-chosen demultiplexing key (reply destination).
    pub key: K,
    /// Peer IP address (caller-id with `caller-id-type=ip-address`, one-session-per-host).
    pub addr: IpAddr,
    /// The datagram arrived inside IPsec.
    pub via_ipsec: bool,
}

/// An event of one tunnel of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LnsEvent<K> {
    /// The tunnel's peer key.
    pub key: K,
    /// Our tunnel id.
    pub tunnel_id: u16,
    /// The event.
    pub event: Event,
}

/// What a datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LnsInput<'a> {
    /// Control traffic (or a policy drop that is counted in [`LnsStats`]).
    Control,
    /// A PPP frame for session `session_id` of tunnel `tunnel_id`.
    Data {
        /// Our tunnel id.
        tunnel_id: u16,
        /// Our session id.
        session_id: u16,
        /// The PPP frame.
        payload: &'a [u8],
    },
    /// A sequenced PPP frame held by a session's reorder buffer ([`TunnelConfig::reorder`]);
    /// released frames come out of [`Lns::poll_data`].
    Queued {
        /// Our tunnel id.
        tunnel_id: u16,
        /// Our session id.
        session_id: u16,
    },
    /// A frame of an L2TPv3 pseudowire session (Ethernet or PPP, see [`Lns::v3_pw_type`]).
    V3Data {
        /// Our Control Connection ID.
        ccid: u32,
        /// Our session id.
        session_id: u32,
        /// The frame.
        payload: &'a [u8],
    },
    /// A sequenced L2TPv3 frame held by a session's reorder buffer ([`TunnelConfig::reorder`]
    /// applies to the v3 connections of the LNS too); released frames come out of
    /// [`Lns::poll_v3_data`].
    V3Queued {
        /// Our Control Connection ID.
        ccid: u32,
        /// Our session id.
        session_id: u32,
    },
}

/// Server counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LnsStats {
    /// Dropped: `use-ipsec=require` and not via IPsec.
    pub dropped_not_ipsec: u64,
    /// SCCRQs refused by `accept-proto-version` (StopCCN result 5 sent).
    pub rejected_version: u64,
    /// L2TPv3 datagrams dropped (unknown control connection or session, bad digest, malformed).
    pub unsupported_v3: u64,
    /// L2TPv3 SCCRQs admitted by policy (a connection whose SCCRQ then fails the digest is
    /// discarded at once and counted in `unsupported_v3` too).
    pub v3_connections_created: u64,
    /// Datagrams that failed to parse.
    pub malformed: u64,
    /// Datagrams for an unknown tunnel, or with a key not matching the tunnel.
    pub unknown_tunnel: u64,
    /// SCCRQs dropped because the tunnel table is full.
    pub tunnel_table_full: u64,
    /// Calls refused by `max-sessions`.
    pub rejected_max_sessions: u64,
    /// Calls refused by `accept-pseudowire-type`.
    pub rejected_pseudowire: u64,
    /// Old sessions closed by `one-session-per-host`.
    pub replaced_same_host: u64,
    /// Tunnels created.
    pub tunnels_created: u64,
    /// SCCRQs dropped by the source's token bucket ([`DropReason::SccrqRateLimited`]).
    pub dropped_sccrq_rate: u64,
    /// SCCRQs dropped by the global token bucket ([`DropReason::SccrqGlobalRateLimited`]).
    pub dropped_sccrq_global_rate: u64,
    /// SCCRQs dropped by `max_half_open_per_source` ([`DropReason::HalfOpenPerSource`]).
    pub dropped_half_open_per_source: u64,
    /// SCCRQs dropped by `max_half_open` ([`DropReason::HalfOpenFull`]).
    pub dropped_half_open_full: u64,
    /// Half-open tunnels reclaimed by `half_open_timeout` (silently, nothing sent).
    pub half_open_expired: u64,
}

/// A half-open entry: an L2TPv2 tunnel id or an L2TPv3 control connection id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HalfOpenId {
    V2(u16),
    V3(u32),
}

/// Sessions one L2TPv3 connection of the LNS may hold at most (state tables stay bounded
/// without `max-sessions`).
const V3_MAX_SESSIONS_PER_CONN: usize = 4096;

struct V3Entry<K> {
    key: K,
    addr: IpAddr,
    /// The peer's Assigned Control Connection ID in its SCCRQ (key of `v3_by_peer`).
    peer_assigned: u32,
    /// Created by an SCCRQ and not yet up: counted in the half-open limits.
    half_open: bool,
    created: Instant,
    pw_type: u16,
    encap: Encap,
    /// Our session ids registered in `v3_by_session`, in the connection's order.
    sids: Vec<u32>,
    conn: ControlConnectionV3,
}

struct Entry<K> {
    key: K,
    addr: IpAddr,
    peer_assigned: u16,
    /// Not yet up: counted in the half-open limits.
    half_open: bool,
    created: Instant,
    tunnel: Tunnel,
}

/// Per-peer secret hook: `(peer address, key) -> secret`.
pub type SecretHook<K> = Box<dyn FnMut(IpAddr, &K) -> Option<Vec<u8>> + Send>;

/// The LNS server object.
pub struct Lns<K: Clone + Eq + Hash> {
    cfg: ServerConfig,
    tunnel_cfg: TunnelConfig,
    secrets: SecretHook<K>,
    rng: ChaCha20Rng,
    tunnels: HashMap<u16, Entry<K>>,
    by_peer: HashMap<(K, u16), u16>,
    /// Admitted sessions: (tunnel, session) -> caller-id.
    admitted: HashMap<(u16, u16), Vec<u8>>,
    by_caller: HashMap<Vec<u8>, (u16, u16)>,
    dirty: VecDeque<u16>,
    timers: BinaryHeap<std::cmp::Reverse<(Instant, u16)>>,
    raw_out: VecDeque<(K, Vec<u8>)>,
    events: VecDeque<LnsEvent<K>>,
    v3: HashMap<u32, V3Entry<K>>,
    v3_by_peer: HashMap<(K, u32), u32>,
    v3_by_session: HashMap<u32, u32>,
    v3_events: VecDeque<(K, u32, V3Event)>,
    /// L2TPv3 connections that may have something to send.
    v3_dirty: VecDeque<u32>,
    /// L2TPv3 timers: min-heap with lazy invalidation (an entry is live when it equals
    /// `v3_armed[ccid]`).
    v3_timers: BinaryHeap<std::cmp::Reverse<(Instant, u32)>>,
    v3_armed: HashMap<u32, Instant>,
    /// Tunnels whose reorder buffers released frames.
    data_ready: VecDeque<u16>,
    /// L2TPv3 connections whose reorder buffers released frames.
    v3_data_ready: VecDeque<u32>,
    /// SCCRQ token buckets (created at the first SCCRQ: it needs a `now`).
    limiter: Option<SourceLimiter>,
    /// Half-open tunnels per source prefix (entries removed at 0).
    half_open_by_src: HashMap<SourcePrefix, usize>,
    half_open: usize,
    /// `(created, id)` of half-open tunnels and L2TPv3 connections in creation order
    /// (expiry is `created + half_open_timeout`, so the front expires first); stale entries
    /// are skipped lazily.
    half_open_q: VecDeque<(Instant, HalfOpenId)>,
    stats: LnsStats,
}

impl<K: Clone + Eq + Hash> std::fmt::Debug for Lns<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lns")
            .field("tunnels", &self.tunnels.len())
            .field("sessions", &self.admitted.len())
            .field("half_open", &self.half_open)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<K: Clone + Eq + Hash> Lns<K> {
    /// A server. `tunnel_cfg` is the template for every tunnel (its `secret` is replaced by the
    /// hook's answer per peer). `rng` seeds the server's CSPRNG.
    pub fn new(
        cfg: ServerConfig,
        tunnel_cfg: TunnelConfig,
        secrets: SecretHook<K>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        cfg.validate()?;
        tunnel_cfg.validate()?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Ok(Lns {
            cfg,
            tunnel_cfg,
            secrets,
            rng: ChaCha20Rng::from_seed(seed),
            tunnels: HashMap::new(),
            by_peer: HashMap::new(),
            admitted: HashMap::new(),
            by_caller: HashMap::new(),
            dirty: VecDeque::new(),
            timers: BinaryHeap::new(),
            raw_out: VecDeque::new(),
            events: VecDeque::new(),
            v3: HashMap::new(),
            v3_by_peer: HashMap::new(),
            v3_by_session: HashMap::new(),
            v3_events: VecDeque::new(),
            data_ready: VecDeque::new(),
            v3_data_ready: VecDeque::new(),
            v3_dirty: VecDeque::new(),
            v3_timers: BinaryHeap::new(),
            v3_armed: HashMap::new(),
            limiter: None,
            half_open_by_src: HashMap::new(),
            half_open: 0,
            half_open_q: VecDeque::new(),
            stats: LnsStats::default(),
        })
    }

    /// Like [`Lns::new`] with the CSPRNG seeded directly (fuzzers, replays).
    pub fn with_seed(
        cfg: ServerConfig,
        tunnel_cfg: TunnelConfig,
        secrets: SecretHook<K>,
        seed: [u8; 32],
    ) -> Result<Self> {
        Lns::new(cfg, tunnel_cfg, secrets, &mut ChaCha20Rng::from_seed(seed))
    }

    /// Counters.
    pub fn stats(&self) -> LnsStats {
        self.stats
    }

    /// Number of tunnels.
    pub fn tunnel_count(&self) -> usize {
        self.tunnels.len()
    }

    /// Number of half-open L2TPv2 tunnels and L2TPv3 control connections (SCCRQ answered,
    /// SCCCN not yet received).
    pub fn half_open_count(&self) -> usize {
        self.half_open
    }

    /// Sources tracked by the SCCRQ rate limiter (bounded by
    /// [`crate::limit::SOURCE_TABLE_CAPACITY`]).
    pub fn rate_limiter_sources(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.len())
    }

    /// Take an SCCRQ token for `addr` or count and return the typed drop.
    fn sccrq_allowed(&mut self, now: Instant, addr: IpAddr) -> Result<()> {
        let (ps, gl) = (self.cfg.sccrq_rate_per_source, self.cfg.sccrq_rate_global);
        let l = self
            .limiter
            .get_or_insert_with(|| SourceLimiter::new(ps, gl, now));
        match l.allow(now, addr) {
            Ok(()) => Ok(()),
            Err(Refusal::Source) => {
                self.stats.dropped_sccrq_rate += 1;
                Err(Error::Dropped(DropReason::SccrqRateLimited))
            }
            Err(Refusal::Global) => {
                self.stats.dropped_sccrq_global_rate += 1;
                Err(Error::Dropped(DropReason::SccrqGlobalRateLimited))
            }
        }
    }

    /// The tunnel proved its peer (came up) or is gone: it no longer counts as half-open.
    fn settle_half_open(&mut self, tid: u16) {
        let Some(e) = self.tunnels.get_mut(&tid) else {
            return;
        };
        if !e.half_open {
            return;
        }
        e.half_open = false;
        let p = SourcePrefix::of(e.addr);
        self.release_half_open(p);
    }

    /// The L2TPv3 connection came up or is gone: it no longer counts as half-open.
    fn v3_settle_half_open(&mut self, ccid: u32) {
        let Some(e) = self.v3.get_mut(&ccid) else {
            return;
        };
        if !e.half_open {
            return;
        }
        e.half_open = false;
        let p = SourcePrefix::of(e.addr);
        self.release_half_open(p);
    }

    fn release_half_open(&mut self, p: SourcePrefix) {
        self.half_open = self.half_open.saturating_sub(1);
        if let Some(n) = self.half_open_by_src.get_mut(&p) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.half_open_by_src.remove(&p);
            }
        }
    }

    /// Number of admitted sessions.
    pub fn session_count(&self) -> usize {
        self.admitted.len()
    }

    /// Our tunnel ids (any order).
    pub fn tunnel_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.tunnels.keys().copied()
    }

    /// A tunnel by our id.
    pub fn tunnel(&self, tid: u16) -> Option<&Tunnel> {
        self.tunnels.get(&tid).map(|e| &e.tunnel)
    }

    /// Mutable access to a tunnel (to disconnect calls, encapsulate data, close).
    pub fn tunnel_mut(&mut self, tid: u16) -> Option<&mut Tunnel> {
        self.touch(tid);
        self.tunnels.get_mut(&tid).map(|e| &mut e.tunnel)
    }

    /// Caller-id of an admitted session (peer IP text or Calling Number).
    pub fn caller_id(&self, tid: u16, sid: u16) -> Option<&[u8]> {
        self.admitted.get(&(tid, sid)).map(|v| v.as_slice())
    }

    /// Encapsulate a PPP frame for a session (see [`Tunnel::encapsulate`]); returns the key to
    /// send to and the length.
    pub fn encapsulate(
        &mut self,
        tid: u16,
        sid: u16,
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<(K, usize)> {
        let e = self
            .tunnels
            .get_mut(&tid)
            .ok_or(Error::State("no such tunnel"))?;
        let n = e.tunnel.encapsulate(sid, frame, out)?;
        Ok((e.key.clone(), n))
    }

    fn touch(&mut self, tid: u16) {
        self.dirty.push_back(tid);
    }

    fn alloc_tid(&mut self) -> Option<u16> {
        for _ in 0..1000 {
            let t = (self.rng.next_u32() & 0xffff) as u16;
            if t != 0 && !self.tunnels.contains_key(&t) {
                return Some(t);
            }
        }
        (1..=u16::MAX).find(|t| !self.tunnels.contains_key(t))
    }

    /// Handle one datagram.
    pub fn handle_input<'a>(
        &mut self,
        now: Instant,
        peer: &Peer<K>,
        buf: &'a [u8],
    ) -> Result<LnsInput<'a>> {
        if self.cfg.use_ipsec == UseIpsec::Require && !peer.via_ipsec {
            self.stats.dropped_not_ipsec += 1;
            return Err(Error::Rejected(
                "use-ipsec=require and datagram not via IPsec",
            ));
        }
        let ver = match peek_version(buf) {
            Ok(v) => v,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        if ver == 3 {
            return self.handle_v3(now, peer, buf, Encap::Udp);
        }
        let (h, _) = match Header::parse(buf) {
            Ok(x) => x,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        let tid = if h.is_control && h.tunnel_id == 0 {
            match self.sccrq_target(now, peer, buf)? {
                Some(t) => t,
                None => return Ok(LnsInput::Control),
            }
        } else {
            h.tunnel_id
        };
        let Some(e) = self.tunnels.get_mut(&tid) else {
            self.stats.unknown_tunnel += 1;
            return Err(Error::State("unknown tunnel id"));
        };
        if e.key != peer.key {
            self.stats.unknown_tunnel += 1;
            return Err(Error::Rejected(
                "datagram key does not match the tunnel's peer",
            ));
        }
        let r = e.tunnel.handle_input(now, buf);
        self.touch(tid);
        self.after(now, tid);
        if self.tunnels.get(&tid).is_some_and(|e| e.tunnel.has_data()) {
            self.data_ready.push_back(tid);
        }
        match r? {
            Input::Control => Ok(LnsInput::Control),
            Input::Queued { session_id } => Ok(LnsInput::Queued {
                tunnel_id: tid,
                session_id,
            }),
            Input::Data {
                session_id,
                payload,
            } => Ok(LnsInput::Data {
                tunnel_id: tid,
                session_id,
                payload,
            }),
        }
    }

    /// Find or create the tunnel for an SCCRQ. `None` when the request was refused.
    fn sccrq_target(&mut self, now: Instant, peer: &Peer<K>, buf: &[u8]) -> Result<Option<u16>> {
        let msg = match ControlMessage::parse(buf) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        if msg.message_type() != Some(MessageType::Sccrq) {
            self.stats.unknown_tunnel += 1;
            return Err(Error::State("tunnel id 0 on a message other than SCCRQ"));
        }
        // Every SCCRQ, a retransmission too, may make us send: rate-limit them all.
        self.sccrq_allowed(now, peer.addr)?;
        let assigned = msg.get_u16(attr::ASSIGNED_TUNNEL_ID).unwrap_or(0);
        if let Some(&t) = self.by_peer.get(&(peer.key.clone(), assigned)) {
            return Ok(Some(t));
        }
        if self.cfg.accept_proto_version == AcceptProtoVersion::L2tpv3 {
            self.stats.rejected_version += 1;
            let mut stop = ControlMessage::new(
                MessageType::StopCcn,
                assigned,
                0,
                vec![
                    Avp::m(&AvpValue::AssignedTunnelId(0)),
                    Avp::m(&AvpValue::ResultCode(ResultCode {
                        result: result::STOPCCN_BAD_VERSION,
                        error: None,
                        message: Vec::new(),
                    })),
                ],
            );
            let ns = msg.header.ns().unwrap_or(0);
            stop.header.sequence = Some((0, ns.wrapping_add(1)));
            if let Ok(b) = stop.to_vec() {
                self.raw_out.push_back((peer.key.clone(), b));
            }
            return Ok(None);
        }
        if self.tunnels.len() >= self.cfg.max_tunnels {
            self.stats.tunnel_table_full += 1;
            return Err(Error::Full("tunnel"));
        }
        let src = self.half_open_room(now, peer.addr)?;
        let Some(tid) = self.alloc_tid() else {
            self.stats.tunnel_table_full += 1;
            return Err(Error::Full("tunnel"));
        };
        let mut tcfg = self.tunnel_cfg.clone();
        tcfg.secret = (self.secrets)(peer.addr, &peer.key);
        if tcfg.secret.is_none() {
            tcfg.hide_avps = false;
        }
        tcfg.auto_accept_calls = false;
        let mut tunnel = Tunnel::accept(tcfg, now, &mut self.rng, tid)?;
        tunnel.set_unproven_retransmits(now, Some(self.cfg.half_open_retransmits));
        self.tunnels.insert(
            tid,
            Entry {
                key: peer.key.clone(),
                addr: peer.addr,
                peer_assigned: assigned,
                half_open: true,
                created: now,
                tunnel,
            },
        );
        self.half_open += 1;
        *self.half_open_by_src.entry(src).or_insert(0) += 1;
        self.half_open_q.push_back((now, HalfOpenId::V2(tid)));
        self.by_peer.insert((peer.key.clone(), assigned), tid);
        self.stats.tunnels_created += 1;
        Ok(Some(tid))
    }

    /// Reclaim expired half-open entries, then check that one more from `addr` fits the
    /// half-open limits (total and per source); counts and returns the typed drop if not.
    fn half_open_room(&mut self, now: Instant, addr: IpAddr) -> Result<SourcePrefix> {
        self.expire_half_open(now);
        let src = SourcePrefix::of(addr);
        if self.half_open_by_src.get(&src).copied().unwrap_or(0)
            >= self.cfg.max_half_open_per_source
        {
            self.stats.dropped_half_open_per_source += 1;
            return Err(Error::Dropped(DropReason::HalfOpenPerSource));
        }
        if self.half_open >= self.cfg.max_half_open {
            self.stats.dropped_half_open_full += 1;
            return Err(Error::Dropped(DropReason::HalfOpenFull));
        }
        Ok(src)
    }

    /// Apply policy to the tunnel's new events and re-arm its timer.
    fn after(&mut self, now: Instant, tid: u16) {
        loop {
            let Some(e) = self.tunnels.get_mut(&tid) else {
                return;
            };
            let Some(ev) = e.tunnel.poll_event() else {
                break;
            };
            let key = e.key.clone();
            let addr = e.addr;
            match &ev {
                Event::IncomingCall { session_id, call } => {
                    let sid = *session_id;
                    let caller = match self.cfg.caller_id_type {
                        CallerIdType::Number => call.calling_number.clone().unwrap_or_default(),
                        CallerIdType::IpAddress => addr.to_string().into_bytes(),
                    };
                    self.admit(now, tid, sid, caller);
                    continue;
                }
                Event::SessionDown { session_id, .. } => {
                    if let Some(c) = self.admitted.remove(&(tid, *session_id)) {
                        if self.by_caller.get(&c) == Some(&(tid, *session_id)) {
                            self.by_caller.remove(&c);
                        }
                    }
                }
                _ => {}
            }
            self.events.push_back(LnsEvent {
                key,
                tunnel_id: tid,
                event: ev,
            });
        }
        self.rearm(tid);
    }

    fn admit(&mut self, now: Instant, tid: u16, sid: u16, caller: Vec<u8>) {
        let reject = |s: &mut Self, code: u16| {
            if let Some(e) = s.tunnels.get_mut(&tid) {
                let _ = e.tunnel.reject_call(
                    now,
                    sid,
                    ResultCode {
                        result: code,
                        error: None,
                        message: Vec::new(),
                    },
                );
                // Drain the SessionDown of the rejected call: it never was a session.
                while let Some(ev) = e.tunnel.poll_event() {
                    if !matches!(ev, Event::SessionDown { session_id, .. } if session_id == sid) {
                        s.events.push_back(LnsEvent {
                            key: e.key.clone(),
                            tunnel_id: tid,
                            event: ev,
                        });
                    }
                }
            }
        };
        if self.cfg.accept_pseudowire_type == AcceptPseudowireType::Ether {
            self.stats.rejected_pseudowire += 1;
            reject(self, result::CDN_NO_FACILITIES_PERM);
            return;
        }
        if self.cfg.ppp.one_session_per_host {
            if let Some(&(otid, osid)) = self.by_caller.get(&caller) {
                self.stats.replaced_same_host += 1;
                if let Some(e) = self.tunnels.get_mut(&otid) {
                    let _ = e.tunnel.disconnect_call(
                        now,
                        osid,
                        ResultCode {
                            result: result::CDN_ADMIN,
                            error: None,
                            message: Vec::new(),
                        },
                    );
                }
                self.admitted.remove(&(otid, osid));
                self.by_caller.remove(&caller);
                self.touch(otid);
                if otid != tid {
                    self.after(now, otid);
                }
            }
        }
        if let Some(max) = self.cfg.ppp.max_sessions {
            if self.admitted.len() >= max {
                self.stats.rejected_max_sessions += 1;
                reject(self, result::CDN_NO_FACILITIES_TEMP);
                return;
            }
        }
        if let Some(e) = self.tunnels.get_mut(&tid) {
            if e.tunnel.accept_call(now, sid).is_ok() {
                self.admitted.insert((tid, sid), caller.clone());
                self.by_caller.insert(caller, (tid, sid));
            }
        }
    }

    fn rearm(&mut self, tid: u16) {
        if self
            .tunnels
            .get(&tid)
            .is_some_and(|e| e.half_open && e.tunnel.state() == TunnelState::Established)
        {
            self.settle_half_open(tid);
        }
        if let Some(e) = self.tunnels.get(&tid) {
            if e.tunnel.state() == TunnelState::Closed {
                self.remove(tid);
                return;
            }
            if let Some(t) = e.tunnel.poll_timeout() {
                self.timers.push(std::cmp::Reverse((t, tid)));
            }
        }
    }

    fn remove(&mut self, tid: u16) {
        self.settle_half_open(tid);
        if let Some(e) = self.tunnels.remove(&tid) {
            self.by_peer.remove(&(e.key.clone(), e.peer_assigned));
            let gone: Vec<(u16, u16)> = self
                .admitted
                .keys()
                .filter(|(t, _)| *t == tid)
                .copied()
                .collect();
            for k in gone {
                if let Some(c) = self.admitted.remove(&k) {
                    self.by_caller.remove(&c);
                }
            }
        }
    }

    /// Handle one datagram received as IP protocol 115 (L2TPv3 over IP, RFC 3931 s4.1.1.1):
    /// `buf` starts at the Session ID (0 for control messages). Give IP peers keys distinct
    /// from UDP peers (the key tells the caller which socket to answer on).
    pub fn handle_input_ip<'a>(
        &mut self,
        now: Instant,
        peer: &Peer<K>,
        buf: &'a [u8],
    ) -> Result<LnsInput<'a>> {
        if self.cfg.use_ipsec == UseIpsec::Require && !peer.via_ipsec {
            self.stats.dropped_not_ipsec += 1;
            return Err(Error::Rejected(
                "use-ipsec=require and datagram not via IPsec",
            ));
        }
        self.handle_v3(now, peer, buf, Encap::Ip)
    }

    fn handle_v3<'a>(
        &mut self,
        now: Instant,
        peer: &Peer<K>,
        buf: &'a [u8],
        encap: Encap,
    ) -> Result<LnsInput<'a>> {
        let is_control = match encap {
            Encap::Ip => buf.get(..4) == Some(&[0, 0, 0, 0][..]),
            Encap::Udp => buf.first().is_some_and(|b| b & 0x80 != 0),
        };
        let mut fresh = false;
        let ccid = if is_control {
            let msg = match ControlMessageV3::parse(encap, buf) {
                Ok(m) => m,
                Err(e) => {
                    self.stats.unsupported_v3 += 1;
                    return Err(e);
                }
            };
            if msg.ccid == 0 {
                let known = self.v3.len();
                match self.v3_admit(now, peer, &msg, encap)? {
                    Some(c) => {
                        fresh = self.v3.len() > known;
                        c
                    }
                    None => return Ok(LnsInput::Control),
                }
            } else {
                msg.ccid
            }
        } else {
            let off = if encap == Encap::Ip { 0 } else { 4 };
            let sid = crate::error::be32(buf, off, "session id")?;
            match self.v3_by_session.get(&sid) {
                Some(&c) => c,
                None => {
                    self.stats.unsupported_v3 += 1;
                    return Err(Error::State("unknown L2TPv3 session id"));
                }
            }
        };
        let budget = self.v3_budget();
        let Some(e) = self.v3.get_mut(&ccid) else {
            self.stats.unsupported_v3 += 1;
            return Err(Error::State("unknown L2TPv3 control connection id"));
        };
        if e.key != peer.key || e.encap != encap {
            self.stats.unknown_tunnel += 1;
            return Err(Error::Rejected(
                "datagram key does not match the connection's peer",
            ));
        }
        e.conn.set_max_sessions(
            e.conn
                .session_count()
                .saturating_add(budget)
                .min(V3_MAX_SESSIONS_PER_CONN),
        );
        let r = e.conn.handle_input(now, buf);
        if fresh && e.conn.state() == crate::v3::V3State::Idle {
            // The SCCRQ that created it was not accepted (bad digest, bad AVPs): keep no state,
            // so a flood of forged SCCRQs cannot fill the table.
            self.v3_remove(ccid);
        }
        self.v3_sync(now, ccid);
        match r {
            Ok(V3Input::Control) => Ok(LnsInput::Control),
            Ok(V3Input::Data(d)) => Ok(LnsInput::V3Data {
                ccid,
                session_id: d.session_id,
                payload: d.payload,
            }),
            Ok(V3Input::Queued { session_id }) => Ok(LnsInput::V3Queued { ccid, session_id }),
            Err(e) => {
                self.stats.unsupported_v3 += 1;
                Err(e)
            }
        }
    }

    /// Sessions still admissible under `max-sessions` (v2 and v3 together).
    fn v3_budget(&self) -> usize {
        match self.cfg.ppp.max_sessions {
            Some(max) => max.saturating_sub(self.admitted.len() + self.v3_by_session.len()),
            None => usize::MAX,
        }
    }

    /// Admission of an L2TPv3 SCCRQ. `None`: refused (counted).
    fn v3_admit(
        &mut self,
        now: Instant,
        peer: &Peer<K>,
        msg: &ControlMessageV3,
        encap: Encap,
    ) -> Result<Option<u32>> {
        if msg.message_type_raw() != Some(1) {
            self.stats.unknown_tunnel += 1;
            return Err(Error::State("control connection id 0 on a non-SCCRQ"));
        }
        self.sccrq_allowed(now, peer.addr)?;
        let mut assigned = 0;
        let mut caps = Vec::new();
        for a in &msg.avps {
            match a.typed() {
                Ok(Some(AvpValue::AssignedControlConnectionId(c))) => assigned = c,
                Ok(Some(AvpValue::PseudowireCapabilities(c))) => caps = c,
                _ => {}
            }
        }
        if let Some(&c) = self.v3_by_peer.get(&(peer.key.clone(), assigned)) {
            return Ok(Some(c));
        }
        if self.cfg.accept_proto_version == AcceptProtoVersion::L2tpv2 {
            self.stats.rejected_version += 1;
            return Ok(None);
        }
        let ether_ok = self.cfg.accept_pseudowire_type != AcceptPseudowireType::Ppp;
        let ppp_ok = self.cfg.accept_pseudowire_type != AcceptPseudowireType::Ether;
        let pw_type = if ether_ok && caps.contains(&PW_ETHERNET) {
            PW_ETHERNET
        } else if ppp_ok && caps.contains(&PW_PPP) {
            PW_PPP
        } else {
            self.stats.rejected_pseudowire += 1;
            return Ok(None);
        };
        if self.tunnels.len() + self.v3.len() >= self.cfg.max_tunnels {
            self.stats.tunnel_table_full += 1;
            return Ok(None);
        }
        if self.v3_budget() == 0 {
            self.stats.rejected_max_sessions += 1;
            return Ok(None);
        }
        let src = self.half_open_room(now, peer.addr)?;
        let secret = (self.secrets)(peer.addr, &peer.key);
        let cfg = V3Config {
            encap,
            host_name: self.tunnel_cfg.host_name.clone(),
            router_id: 0,
            secret,
            digest: self.cfg.l2tpv3_digest_hash,
            pw_type,
            cookie_len: u8::try_from(self.cfg.l2tpv3_cookie_length).unwrap_or(0),
            l2_sublayer: true,
            control: self.tunnel_cfg.control.clone(),
            auto_session: false,
            max_sessions: V3_MAX_SESSIONS_PER_CONN,
            hide_avps: false,
            tie_breaker: false,
            // The v2 opt-in covers the v3 sublayer sequence numbers too.
            reorder: self.tunnel_cfg.reorder,
            // `l2tpv3-circuit-id`: the Remote End ID of the sessions the LNS opens.
            remote_end_id: self
                .cfg
                .l2tpv3_circuit_id
                .as_deref()
                .map(|c| c.as_bytes().to_vec())
                .unwrap_or_default(),
            session_tie_breaker: true,
            circuit_active: true,
        };
        let mut conn = None;
        for _ in 0..16 {
            let c = ControlConnectionV3::new(cfg.clone(), false, &mut self.rng)?;
            if !self.v3.contains_key(&c.local_ccid())
                && !self.v3_by_session.contains_key(&c.local_session_id())
            {
                conn = Some(c);
                break;
            }
        }
        let Some(mut conn) = conn else {
            self.stats.tunnel_table_full += 1;
            return Ok(None);
        };
        conn.set_unproven_retransmits(now, Some(self.cfg.half_open_retransmits));
        let ccid = conn.local_ccid();
        self.v3_by_peer.insert((peer.key.clone(), assigned), ccid);
        self.half_open += 1;
        *self.half_open_by_src.entry(src).or_insert(0) += 1;
        self.half_open_q.push_back((now, HalfOpenId::V3(ccid)));
        self.v3.insert(
            ccid,
            V3Entry {
                key: peer.key.clone(),
                addr: peer.addr,
                peer_assigned: assigned,
                half_open: true,
                created: now,
                pw_type,
                encap,
                sids: Vec::new(),
                conn,
            },
        );
        self.stats.v3_connections_created += 1;
        Ok(Some(ccid))
    }

    /// After any call into connection `ccid`: forward its events, keep the session-id
    /// demultiplexing table in step with its sessions, drop it when closed.
    fn v3_sync(&mut self, now: Instant, ccid: u32) {
        if self
            .v3
            .get(&ccid)
            .is_some_and(|e| e.half_open && e.conn.state() == crate::v3::V3State::Established)
        {
            self.v3_settle_half_open(ccid);
        }
        self.v3_rearm(ccid);
        let Some(e) = self.v3.get_mut(&ccid) else {
            return;
        };
        if e.conn.has_data() {
            self.v3_data_ready.push_back(ccid);
        }
        let mut closed = false;
        while let Some(ev) = e.conn.poll_event() {
            closed |= matches!(ev, V3Event::Closed { .. });
            self.v3_events.push_back((e.key.clone(), ccid, ev));
        }
        if e.sids.len() != e.conn.session_count()
            || e.conn
                .sessions()
                .zip(&e.sids)
                .any(|(s, k)| s.local_session_id() != *k)
        {
            for sid in std::mem::take(&mut e.sids) {
                self.v3_by_session.remove(&sid);
            }
            let mut clash = Vec::new();
            for s in e.conn.sessions() {
                let sid = s.local_session_id();
                match self.v3_by_session.get(&sid) {
                    Some(&other) if other != ccid => clash.push(sid),
                    _ => {
                        self.v3_by_session.insert(sid, ccid);
                        e.sids.push(sid);
                    }
                }
            }
            // A session id another connection already uses cannot be demultiplexed: refuse it.
            for sid in clash {
                let _ = e.conn.close_session(now, sid);
                while let Some(ev) = e.conn.poll_event() {
                    self.v3_events.push_back((e.key.clone(), ccid, ev));
                }
            }
        }
        if closed && e.conn.poll_timeout().is_none() {
            self.v3_remove(ccid);
        }
    }

    /// Queue connection `ccid` for transmission and record its deadline in the timer heap.
    fn v3_rearm(&mut self, ccid: u32) {
        let Some(e) = self.v3.get(&ccid) else {
            self.v3_armed.remove(&ccid);
            return;
        };
        self.v3_dirty.push_back(ccid);
        match e.conn.poll_timeout() {
            Some(t) => {
                if self.v3_armed.insert(ccid, t) != Some(t) {
                    self.v3_timers.push(std::cmp::Reverse((t, ccid)));
                }
            }
            None => {
                self.v3_armed.remove(&ccid);
            }
        }
    }

    fn v3_remove(&mut self, ccid: u32) {
        self.v3_settle_half_open(ccid);
        self.v3_armed.remove(&ccid);
        if let Some(e) = self.v3.remove(&ccid) {
            for sid in e.sids {
                self.v3_by_session.remove(&sid);
            }
            // O(1), not a scan: a flood's half-open connections are reclaimed one by one.
            let k = (e.key, e.peer_assigned);
            if self.v3_by_peer.get(&k) == Some(&ccid) {
                self.v3_by_peer.remove(&k);
            }
        }
    }

    /// Next event of an L2TPv3 control connection: `(key, our ccid, event)`.
    pub fn poll_v3_event(&mut self) -> Option<(K, u32, V3Event)> {
        self.v3_events.pop_front()
    }

    /// Number of L2TPv3 control connections.
    pub fn v3_count(&self) -> usize {
        self.v3.len()
    }

    /// Number of L2TPv3 sessions (all connections).
    pub fn v3_session_count(&self) -> usize {
        self.v3_by_session.len()
    }

    /// An L2TPv3 control connection by our ccid (sessions, stats, state).
    pub fn v3_connection(&self, ccid: u32) -> Option<&ControlConnectionV3> {
        self.v3.get(&ccid).map(|e| &e.conn)
    }

    /// Pseudowire type chosen for an L2TPv3 connection.
    pub fn v3_pw_type(&self, ccid: u32) -> Option<u16> {
        self.v3.get(&ccid).map(|e| e.pw_type)
    }

    /// Encapsulation an L2TPv3 connection arrived on (IP or UDP).
    pub fn v3_encap(&self, ccid: u32) -> Option<Encap> {
        self.v3.get(&ccid).map(|e| e.encap)
    }

    /// Open a session on an L2TPv3 connection from the LNS side (ICRQ). Returns our id.
    pub fn v3_open_session(&mut self, now: Instant, ccid: u32) -> Result<u32> {
        if self.v3_budget() == 0 {
            self.stats.rejected_max_sessions += 1;
            return Err(Error::Full("session"));
        }
        self.v3_with(now, ccid, |c| c.open_session(now))
    }

    /// Open a session on an L2TPv3 connection from the LNS side as an outgoing call (OCRQ;
    /// see [`ControlConnectionV3::open_outgoing_session`]). Returns our id.
    pub fn v3_open_outgoing_session(&mut self, now: Instant, ccid: u32) -> Result<u32> {
        if self.v3_budget() == 0 {
            self.stats.rejected_max_sessions += 1;
            return Err(Error::Full("session"));
        }
        self.v3_with(now, ccid, |c| c.open_outgoing_session(now))
    }

    /// Open a session for the circuit `remote_end_id` on an L2TPv3 connection from the LNS
    /// side, as an incoming (ICRQ) or outgoing (OCRQ) call (see
    /// [`ControlConnectionV3::open_call`]). Returns our id.
    pub fn v3_open_call(
        &mut self,
        now: Instant,
        ccid: u32,
        outgoing: bool,
        remote_end_id: &[u8],
    ) -> Result<u32> {
        if self.v3_budget() == 0 {
            self.stats.rejected_max_sessions += 1;
            return Err(Error::Full("session"));
        }
        self.v3_with(now, ccid, |c| c.open_call(now, outgoing, remote_end_id))
    }

    /// Set the local circuit status of a session (Set-Link-Info with Circuit Status; see
    /// [`ControlConnectionV3::set_circuit_status`]).
    pub fn v3_set_circuit_status(
        &mut self,
        now: Instant,
        ccid: u32,
        session_id: u32,
        active: bool,
    ) -> Result<()> {
        self.v3_with(now, ccid, |c| c.set_circuit_status(now, session_id, active))
    }

    /// Report circuit errors of a session (WAN-Error-Notify; see
    /// [`ControlConnectionV3::report_circuit_errors`]).
    pub fn v3_report_circuit_errors(
        &mut self,
        now: Instant,
        ccid: u32,
        session_id: u32,
        errors: crate::v3::CircuitErrors,
    ) -> Result<()> {
        self.v3_with(now, ccid, |c| {
            c.report_circuit_errors(now, session_id, errors)
        })
    }

    /// Run a command on connection `ccid`, then forward its events and re-arm it.
    fn v3_with<T>(
        &mut self,
        now: Instant,
        ccid: u32,
        f: impl FnOnce(&mut ControlConnectionV3) -> Result<T>,
    ) -> Result<T> {
        let e = self
            .v3
            .get_mut(&ccid)
            .ok_or(Error::State("no such L2TPv3 connection"))?;
        let r = f(&mut e.conn);
        self.v3_sync(now, ccid);
        r
    }

    /// Next frame released by an L2TPv3 reorder buffer: `(ccid, our session id, frame)`, in
    /// sequence order per session. Poll after every `handle_input` / `handle_input_ip` /
    /// `handle_timeout` until `None`.
    pub fn poll_v3_data(&mut self) -> Option<(u32, u32, Vec<u8>)> {
        while let Some(&ccid) = self.v3_data_ready.front() {
            if let Some((sid, f)) = self.v3.get_mut(&ccid).and_then(|e| e.conn.poll_data()) {
                return Some((ccid, sid, f));
            }
            self.v3_data_ready.pop_front();
        }
        None
    }

    /// Close one session of an L2TPv3 connection with a CDN.
    pub fn v3_close_session(&mut self, now: Instant, ccid: u32, session_id: u32) -> Result<()> {
        let e = self
            .v3
            .get_mut(&ccid)
            .ok_or(Error::State("no such L2TPv3 connection"))?;
        let r = e.conn.close_session(now, session_id);
        self.v3_sync(now, ccid);
        r
    }

    /// Encapsulate a frame for the first session of L2TPv3 connection `ccid` into `out`.
    /// Returns the key to send to and the length.
    pub fn encapsulate_v3(
        &mut self,
        ccid: u32,
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<(K, usize)> {
        let sid = self
            .v3
            .get(&ccid)
            .ok_or(Error::State("no such L2TPv3 connection"))?
            .conn
            .local_session_id();
        self.encapsulate_v3_session(ccid, sid, frame, out)
    }

    /// Encapsulate a frame for session `session_id` (our id) of L2TPv3 connection `ccid`.
    pub fn encapsulate_v3_session(
        &mut self,
        ccid: u32,
        session_id: u32,
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<(K, usize)> {
        let e = self
            .v3
            .get_mut(&ccid)
            .ok_or(Error::State("no such L2TPv3 connection"))?;
        let n = e.conn.encapsulate_session(session_id, frame, out)?;
        Ok((e.key.clone(), n))
    }

    /// Next datagram to send and the key to send it to.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(K, Vec<u8>)> {
        if let Some(x) = self.raw_out.pop_front() {
            return Some(x);
        }
        while let Some(&ccid) = self.v3_dirty.front() {
            if let Some(e) = self.v3.get_mut(&ccid) {
                if let Some(d) = e.conn.poll_transmit(now) {
                    let key = e.key.clone();
                    // sending (re)arms the retransmission timer
                    if let Some(t) = e.conn.poll_timeout() {
                        if self.v3_armed.insert(ccid, t) != Some(t) {
                            self.v3_timers.push(std::cmp::Reverse((t, ccid)));
                        }
                    }
                    return Some((key, d));
                }
            }
            self.v3_dirty.pop_front();
        }
        while let Some(&tid) = self.dirty.front() {
            if let Some(e) = self.tunnels.get_mut(&tid) {
                if let Some(d) = e.tunnel.poll_transmit(now) {
                    let key = e.key.clone();
                    self.rearm(tid);
                    return Some((key, d));
                }
            }
            self.dirty.pop_front();
        }
        None
    }

    /// Next PPP frame released by an L2TPv2 reorder buffer: `(tunnel id, session id, frame)`.
    /// Poll after every `handle_input` / `handle_timeout` until `None`.
    pub fn poll_data(&mut self) -> Option<(u16, u16, Vec<u8>)> {
        while let Some(&tid) = self.data_ready.front() {
            if let Some((sid, f)) = self
                .tunnels
                .get_mut(&tid)
                .and_then(|e| e.tunnel.poll_data())
            {
                return Some((tid, sid, f));
            }
            self.data_ready.pop_front();
        }
        None
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<LnsEvent<K>> {
        let e = self.poll_event_untraced();
        trace_event!("l2tp::server", &e, keyed);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<LnsEvent<K>> {
        self.events.pop_front()
    }

    /// Earliest deadline of any tunnel.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&std::cmp::Reverse((t, c))) = self.v3_timers.peek() {
            if self.v3_armed.get(&c) == Some(&t) {
                break;
            }
            self.v3_timers.pop(); // stale
        }
        let v3 = self.v3_timers.peek().map(|r| r.0 .0);
        let v2 = self.poll_timeout_v2();
        // The rate limiter's table is collected at the next SCCRQ or timer (it is bounded
        // anyway), so it adds no deadline of its own.
        let ho = self.half_open_deadline();
        [v2, v3, ho].into_iter().flatten().min()
    }

    fn poll_timeout_v2(&mut self) -> Option<Instant> {
        while let Some(std::cmp::Reverse((t, tid))) = self.timers.peek().copied() {
            match self.tunnels.get(&tid).and_then(|e| e.tunnel.poll_timeout()) {
                Some(cur) if cur == t => return Some(t),
                Some(cur) if cur < t => {
                    self.timers.pop();
                    self.timers.push(std::cmp::Reverse((cur, tid)));
                }
                _ => {
                    // Stale entry (deadline moved later or tunnel gone); a fresh entry exists
                    // if needed because every touch re-arms.
                    self.timers.pop();
                    if let Some(cur) = self.tunnels.get(&tid).and_then(|e| e.tunnel.poll_timeout())
                    {
                        self.timers.push(std::cmp::Reverse((cur, tid)));
                        if self.timers.peek().map(|r| r.0) == Some((cur, tid)) {
                            return Some(cur);
                        }
                    }
                }
            }
        }
        None
    }

    /// Reclaim half-open tunnels older than `half_open_timeout` (silently: nothing is sent to
    /// an unproven address). Skips stale queue entries.
    fn expire_half_open(&mut self, now: Instant) {
        let ttl = self.cfg.half_open_timeout;
        while let Some(&(created, id)) = self.half_open_q.front() {
            if !self.half_open_live(created, id) {
                self.half_open_q.pop_front();
                continue;
            }
            if now < created + ttl {
                break;
            }
            self.half_open_q.pop_front();
            self.stats.half_open_expired += 1;
            match id {
                HalfOpenId::V2(tid) => self.remove(tid),
                HalfOpenId::V3(ccid) => self.v3_remove(ccid),
            }
        }
    }

    /// Whether a half-open queue entry still names a half-open tunnel or connection.
    fn half_open_live(&self, created: Instant, id: HalfOpenId) -> bool {
        match id {
            HalfOpenId::V2(tid) => self
                .tunnels
                .get(&tid)
                .is_some_and(|e| e.half_open && e.created == created),
            HalfOpenId::V3(ccid) => self
                .v3
                .get(&ccid)
                .is_some_and(|e| e.half_open && e.created == created),
        }
    }

    /// Deadline of the oldest half-open tunnel (stale queue entries dropped).
    fn half_open_deadline(&mut self) -> Option<Instant> {
        while let Some(&(created, id)) = self.half_open_q.front() {
            if self.half_open_live(created, id) {
                return Some(created + self.cfg.half_open_timeout);
            }
            self.half_open_q.pop_front();
        }
        None
    }

    /// Give memory back after a flood: shrink the v2 and v3 tables when they are mostly empty.
    fn shrink_tables(&mut self) {
        fn shrink<A: Eq + Hash, B>(m: &mut HashMap<A, B>) {
            if m.capacity() > 64 && m.len() * 4 < m.capacity() {
                m.shrink_to(m.len() * 2);
            }
        }
        shrink(&mut self.tunnels);
        shrink(&mut self.by_peer);
        shrink(&mut self.half_open_by_src);
        shrink(&mut self.v3);
        shrink(&mut self.v3_by_peer);
        shrink(&mut self.v3_armed);
        if self.v3_timers.capacity() > 64 && self.v3_timers.len() * 4 < self.v3_timers.capacity() {
            self.v3_timers.shrink_to(self.v3_timers.len() * 2);
        }
        if self.v3_dirty.capacity() > 64 && self.v3_dirty.len() * 4 < self.v3_dirty.capacity() {
            self.v3_dirty.shrink_to(self.v3_dirty.len() * 2);
        }
        if self.half_open_q.capacity() > 64
            && self.half_open_q.len() * 4 < self.half_open_q.capacity()
        {
            self.half_open_q.shrink_to(self.half_open_q.len() * 2);
        }
        if self.timers.capacity() > 64 && self.timers.len() * 4 < self.timers.capacity() {
            self.timers.shrink_to(self.timers.len() * 2);
        }
        if self.dirty.capacity() > 64 && self.dirty.len() * 4 < self.dirty.capacity() {
            self.dirty.shrink_to(self.dirty.len() * 2);
        }
    }

    /// Entries the L2TPv2 tunnel tables, the L2TPv3 connection tables and the SCCRQ rate
    /// limiter have room for without
    /// growing (their allocated capacity): after a flood has been reclaimed this returns to
    /// near its baseline (tables shrink when a timer fires and they are mostly empty).
    pub fn table_capacity(&self) -> usize {
        self.tunnels.capacity()
            + self.by_peer.capacity()
            + self.half_open_by_src.capacity()
            + self.half_open_q.capacity()
            + self.timers.capacity()
            + self.dirty.capacity()
            + self.v3.capacity()
            + self.v3_by_peer.capacity()
            + self.v3_armed.capacity()
            + self.v3_timers.capacity()
            + self.v3_dirty.capacity()
            + self.limiter.as_ref().map_or(0, |l| l.capacity())
    }

    /// Fire due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire_half_open(now);
        if let Some(l) = self.limiter.as_mut() {
            l.collect_if_due(now);
        }
        let mut due = Vec::new();
        while let Some(&std::cmp::Reverse((t, c))) = self.v3_timers.peek() {
            if t > now {
                break;
            }
            self.v3_timers.pop();
            if self.v3_armed.get(&c) == Some(&t) {
                self.v3_armed.remove(&c);
                due.push(c);
            }
        }
        for c in due {
            if let Some(e) = self.v3.get_mut(&c) {
                e.conn.handle_timeout(now);
            }
            self.v3_sync(now, c);
            if self.v3.get(&c).is_some_and(|e| {
                e.conn.state() == crate::v3::V3State::Closed && e.conn.poll_timeout().is_none()
            }) {
                self.v3_remove(c);
            }
        }
        while let Some(std::cmp::Reverse((t, tid))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            if let Some(e) = self.tunnels.get_mut(&tid) {
                if e.tunnel.poll_timeout().is_some_and(|d| d <= now) {
                    e.tunnel.handle_timeout(now);
                    if e.tunnel.has_data() {
                        self.data_ready.push_back(tid);
                    }
                    self.touch(tid);
                    self.after(now, tid);
                } else {
                    self.rearm(tid);
                }
            }
        }
        self.shrink_tables();
    }
}
