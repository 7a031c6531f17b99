//! Many clients on one socket: demultiplexing by source address and P_DATA_V2 peer id,
//! address float, session creation on a client hard reset, bounded session table.
//!
//! The caller owns the socket. Per datagram it calls [`Server::handle_input`] with the
//! source address (any `Clone + Eq + Hash` type: `SocketAddr`, a TCP connection id, ...),
//! then drains [`Server::poll_transmit`] (which says where to send) and
//! [`Server::poll_event`] (events tagged with the client's peer id).
//!
//! Over UDP, [`Server::enable_stateless`] turns on OpenVPN 2.6's stateless handshake
//! (`cookie.rs`): resets are answered with an HMAC-cookie session id and no state;
//! only a packet that echoes a valid cookie creates a session.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;

use crate::cookie::CookieJar;
use crate::error::Error;
use crate::event::{DownReason, DropReason, Event};
use crate::pool::Ipv4Pool;
use crate::protect::{split_wkc, ControlWrap, TlsAuth, TlsCrypt, TlsCryptV2ServerKey};
use crate::ratelimit::{RateLimit, RateLimiter, SourceKey};
use crate::session::{Input, Session, WrapConfig};
use crate::wire::{
    split_first_byte, AckList, ControlPacket, DataPacket, Opcode, SessionId,
    EARLY_NEG_FLAG_RESEND_WKC, EARLY_NEG_START, TLV_TYPE_EARLY_NEG_FLAGS,
};

/// Most stateless replies waiting for [`Server::poll_transmit`]; more are dropped (counted).
const MAX_PENDING_REPLIES: usize = 1024;

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
    /// Dropped (unknown client, bad packet, table full, rate limit, ...), counted.
    Dropped(DropReason),
}

/// How much a stranger can make the server hold ([`Server::set_limits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Sessions at once (up, in their handshake, or lingering after going down).
    pub max_clients: usize,
    /// Sessions whose data channel is not up yet (TLS / key exchange running). When the
    /// limit is reached, one of them makes room for a newcomer whose first packet is good
    /// (a SYN-cache policy), the first of:
    /// 1. the oldest that has sent nothing after its reset (a client that is really
    ///    handshaking keeps its place);
    /// 2. the oldest of the source prefix holding the most, when that is at least two and
    ///    more than the newcomer's prefix would hold (one source cannot keep the slots
    ///    that several others need);
    /// 3. the oldest that has been handshaking for `half_open_grace` or longer (a stalled
    ///    handshake: slow-loris from many addresses).
    ///
    /// What no rule can do is tell a real client from a stranger who completes handshakes
    /// from many addresses of its own: below `max_half_open / half_open_grace` new
    /// handshakes per second (16/s for a 64-client table), some handshake is always older
    /// than the grace and a new client finds room; above it, new clients may be refused
    /// until it stops. `stateful_rate` and the stateless reply limit cap what each of its
    /// addresses may start (2/s).
    ///
    /// Otherwise the newcomer is refused. Each times out after `hand-window` (60 s) anyway.
    pub max_half_open: usize,
    /// Unfinished handshakes per source prefix (IPv4 /32, IPv6 /64).
    pub max_half_open_per_source: usize,
    /// How long a handshake keeps its place when the half-open limit is reached (rule 3
    /// above; 1 s: a TLS handshake and key exchange take three or four round trips).
    pub half_open_grace: Duration,
    /// Token buckets on sessions created without the stateless handshake (over TCP, or
    /// over UDP without [`Server::enable_stateless`], whose replies are limited by
    /// [`StatelessConfig::rate_limit`] instead): per source prefix and overall; a reset
    /// beyond them is dropped ([`DropReason::RateLimited`]). Default
    /// [`RateLimit::default`] (5 at once then 2/s per source, 10 000/s overall); `None` = no
    /// limit.
    pub stateful_rate: Option<RateLimit>,
}

impl ServerLimits {
    /// Defaults for a table of `max_clients`: a quarter of it (at least 8) for unfinished
    /// handshakes, 4 per source, 1 s of grace, the default rate limit on stateful creation.
    pub fn for_clients(max_clients: usize) -> Self {
        ServerLimits {
            max_clients,
            max_half_open: (max_clients / 4).max(8).min(max_clients),
            max_half_open_per_source: 4,
            half_open_grace: Duration::from_secs(1),
            stateful_rate: Some(RateLimit::default()),
        }
    }
}

/// Settings of the stateless handshake ([`Server::enable_stateless`]).
#[derive(Clone, Debug)]
pub struct StatelessConfig {
    /// The control-channel protection the session factory configures (same keys and
    /// direction); the stateless front end verifies and answers with it.
    pub wrap: WrapConfig,
    /// `hand-window` (60 s): cookies are valid for one to one and a half of it.
    pub hand_window: Duration,
    /// Wall-clock Unix seconds at the `now` given to [`Server::enable_stateless`]: the
    /// server's wall clock ([`Server::set_unix_time`]; 0 = keep the one set before, if
    /// any). It stamps the net time field of the replies, and every session the server
    /// creates is given it, so a session's control packets never go back in time behind
    /// the reply its client saw.
    pub unix_time: u64,
    /// Token buckets on stateless replies, per source prefix and globally
    /// ([`crate::ratelimit`]), so the server cannot be used to reflect traffic at a spoofed
    /// address and one flooder cannot starve other clients; resets beyond it are dropped
    /// (counted in `rate_limited`). `None` = no limit.
    pub rate_limit: Option<RateLimit>,
    /// tls-crypt-v2: the client key check ([`crate::protect::TlsCryptV2Verify`]), run before
    /// any answer; give the sessions the same one
    /// ([`crate::session::SessionConfig::tls_crypt_v2_verify`]).
    pub tls_crypt_v2_verify: Option<crate::protect::TlsCryptV2Verify>,
}

/// Counters of the stateless handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatelessStats {
    /// Resets answered with a cookie (no state kept).
    pub resets_answered: u64,
    /// Sessions created from a packet with a valid cookie.
    pub sessions_created: u64,
    /// Handshake packets with a missing, forged, foreign or expired cookie.
    pub cookies_rejected: u64,
    /// Replies not queued because [`Server::poll_transmit`] was not drained.
    pub replies_dropped: u64,
    /// Resets not answered because of [`StatelessConfig::rate_limit`].
    pub rate_limited: u64,
    /// tls-crypt-v2 client keys refused by the verify hook.
    pub v2_rejected: u64,
}

struct Stateless {
    jar: CookieJar,
    wrap: ControlWrap,
    v2: Option<TlsCryptV2ServerKey>,
    stats: StatelessStats,
    limiter: Option<RateLimiter>,
    v2_verify: Option<crate::protect::TlsCryptV2Verify>,
}

/// What the stateless front end decided about a packet from an unknown address.
enum Verdict {
    /// Answer with this datagram; no state.
    Reply(Vec<u8>),
    /// Valid cookie: create the session (client session id, our cookie session id).
    Create(SessionId, SessionId),
    /// Handle statefully (tls-crypt-v2 client without early negotiation).
    Stateful,
    /// Drop.
    Drop(DropReason),
}

struct Client<A> {
    addr: A,
    session: Session,
    /// When the data channel came up (accounting start).
    up_at: Option<Instant>,
    /// Address from the pool.
    address: Option<Ipv4Addr>,
    /// Why the session went down.
    down_reason: Option<DownReason>,
    down_since: Option<Instant>,
    /// When the session was created (half-open eviction: oldest first).
    created: Instant,
}

/// OpenVPN server core for many clients.
pub struct Server<A> {
    factory: SessionFactory,
    clients: HashMap<u32, Client<A>>,
    by_addr: HashMap<A, u32>,
    next_peer_id: u32,
    limits: ServerLimits,
    events: VecDeque<(u32, Event)>,
    linger: Duration,
    stateless: Option<Stateless>,
    replies: VecDeque<(A, Vec<u8>)>,
    shutting_down: bool,
    pool: Option<Ipv4Pool>,
    /// The wall clock: Unix seconds at an instant ([`Server::set_unix_time`]).
    wall: Option<(Instant, u64)>,
    /// [`ServerLimits::stateful_rate`], made at the first use.
    stateful_limiter: Option<RateLimiter>,
    /// Packets dropped before reaching a session.
    pub dropped: u64,
}

impl<A: Clone + Eq + Hash + SourceKey> Server<A> {
    /// New server; at most `max_clients` sessions at once, and the half-open limits of
    /// [`ServerLimits::for_clients`].
    pub fn new(factory: SessionFactory, max_clients: usize) -> Self {
        Server {
            factory,
            clients: HashMap::new(),
            by_addr: HashMap::new(),
            next_peer_id: 0,
            limits: ServerLimits::for_clients(max_clients),
            events: VecDeque::new(),
            linger: Duration::from_secs(5),
            stateless: None,
            replies: VecDeque::new(),
            shutting_down: false,
            pool: None,
            wall: None,
            stateful_limiter: None,
            dropped: 0,
        }
    }

    /// Give the server a wall clock: `unix_secs` is the Unix time (seconds) at `now`. Every
    /// session created from then on gets it ([`Session::set_unix_time`]), whatever its
    /// factory put in [`crate::SessionConfig::unix_time`]: one clock for the server and
    /// its sessions, so the sessions' net time (control channel replay protection) and
    /// certificate checks agree with the stateless replies and with each other. Call it
    /// again when the system clock is stepped.
    pub fn set_unix_time(&mut self, now: Instant, unix_secs: u64) {
        self.wall = (unix_secs != 0).then_some((now, unix_secs));
    }

    /// The server's wall clock at `now`, if it has one.
    pub fn unix_time(&self, now: Instant) -> Option<u64> {
        self.wall
            .map(|(at, t)| t + now.saturating_duration_since(at).as_secs())
    }

    /// Set the table limits (existing sessions stay).
    pub fn set_limits(&mut self, limits: ServerLimits) {
        if limits.stateful_rate != self.limits.stateful_rate {
            self.stateful_limiter = None;
        }
        self.limits = limits;
    }

    /// The table limits.
    pub fn limits(&self) -> ServerLimits {
        self.limits
    }

    /// Sessions whose data channel is not up yet and that are not down.
    pub fn half_open(&self) -> usize {
        self.clients.values().filter(|c| is_half_open(c)).count()
    }

    /// Answer client resets statelessly (OpenVPN 2.6, `cookie.rs`; for UDP): the
    /// session id of the reply is an HMAC cookie under a key drawn from `rng`, and a session
    /// is created only when the client's next packet echoes it. tls-crypt-v2 clients that
    /// announce early negotiation are asked to resend their WKc (`P_CONTROL_WKC_V1`);
    /// older tls-crypt-v2 clients still get a session on their first packet.
    pub fn enable_stateless(
        &mut self,
        now: Instant,
        cfg: StatelessConfig,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let v2_verify = match &cfg.wrap {
            WrapConfig::TlsCryptV2Server { .. } => cfg.tls_crypt_v2_verify.clone(),
            _ => None,
        };
        let (wrap, v2) = match &cfg.wrap {
            WrapConfig::None => (ControlWrap::None, None),
            WrapConfig::TlsAuth {
                key,
                direction,
                digest,
            } => (
                ControlWrap::Auth(TlsAuth::new(key, *direction, *digest)?),
                None,
            ),
            WrapConfig::TlsCrypt { key } => (ControlWrap::Crypt(TlsCrypt::new(key, true)), None),
            WrapConfig::TlsCryptV2Server { key } => (ControlWrap::None, Some(key.clone())),
            WrapConfig::TlsCryptV2Client { .. } => {
                return Err(Error::State("stateless handshake needs a server-side wrap"))
            }
        };
        if cfg.unix_time != 0 {
            self.set_unix_time(now, cfg.unix_time);
        }
        self.stateless = Some(Stateless {
            jar: CookieJar::new(rng, now, cfg.hand_window),
            wrap,
            v2,
            stats: StatelessStats::default(),
            limiter: cfg.rate_limit.map(|l| RateLimiter::new(l, now)),
            v2_verify,
        });
        Ok(())
    }

    /// Shut down like an OpenVPN server with `explicit-exit-notify` (UDP): every client with
    /// an established control channel gets `RESTART` (`RESTART,[N]` with `next_remote`: go
    /// to your next server) so it reconnects at once instead of waiting for `ping-restart`;
    /// clients still in their handshake are closed. New clients are refused from now on.
    /// Keep driving the server until [`Server::is_shut_down`] (at most about two seconds
    /// of retransmissions).
    pub fn shutdown(&mut self, now: Instant, next_remote: bool) {
        self.shutting_down = true;
        for (id, c) in self.clients.iter_mut() {
            if c.session.send_restart(now, next_remote).is_err() {
                c.session.close(now);
            }
            drain(c, *id, now, &mut self.pool, &mut self.events);
        }
    }

    /// [`Server::shutdown`] was called and every session is down (the caller may stop).
    pub fn is_shut_down(&self) -> bool {
        self.shutting_down && self.clients.values().all(|c| c.session.is_down())
    }

    /// Assign client addresses from `pool`: sessions created from now on defer their
    /// PUSH_REPLY ([`crate::session::SessionConfig::defer_push`]); when a client asks, the
    /// server takes an address (the user's previous one when free) and pushes
    /// `ifconfig <address> <netmask>` after the factory's push options (so the factory
    /// should push `topology subnet` and no `ifconfig`). The address returns to the pool
    /// when the session is removed; when the pool is exhausted the client gets
    /// `AUTH_FAILED,no address available`.
    pub fn set_pool(&mut self, pool: Ipv4Pool) {
        self.pool = Some(pool);
    }

    /// The pool, if any (to inspect its use).
    pub fn pool(&self) -> Option<&Ipv4Pool> {
        self.pool.as_ref()
    }

    /// Address assigned to a client from the pool.
    pub fn assigned_address(&self, peer_id: u32) -> Option<Ipv4Addr> {
        self.clients.get(&peer_id).and_then(|c| c.address)
    }

    /// Counters of the stateless handshake (zero when it is off).
    pub fn stateless_stats(&self) -> StatelessStats {
        self.stateless.as_ref().map(|s| s.stats).unwrap_or_default()
    }

    /// The stateless front end's verdict on a control packet from an unknown address.
    fn stateless_verdict(&mut self, now: Instant, from: &A, op: Opcode, packet: &[u8]) -> Verdict {
        let wall = self.unix_time(now);
        let Some(st) = self.stateless.as_mut() else {
            return Verdict::Stateful;
        };
        let v3 = matches!(op, Opcode::ControlHardResetClientV3 | Opcode::ControlWkcV1);
        let kc_wrap;
        let (body, wrap) = if v3 {
            let Some(sk) = &st.v2 else {
                return Verdict::Drop(DropReason::UnknownClient(op));
            };
            let (body, wkc) = match split_wkc(packet) {
                Ok(x) => x,
                Err(e) => return Verdict::Drop(e.into()),
            };
            match sk.unwrap(wkc) {
                Ok((kc, meta)) => {
                    if st.v2_verify.as_ref().is_some_and(|v| !v.check(&meta)) {
                        st.stats.v2_rejected += 1;
                        return Verdict::Drop(DropReason::TlsCryptV2Rejected);
                    }
                    kc_wrap = ControlWrap::Crypt(TlsCrypt::new(&kc, true))
                }
                Err(e) => return Verdict::Drop(e.into()),
            }
            (body, &kc_wrap)
        } else if st.v2.is_some() {
            return Verdict::Drop(DropReason::TlsCryptV2KeyMissing);
        } else {
            (packet, &st.wrap)
        };
        let mut plain = vec![0u8; body.len()];
        let (n, replay) = match wrap.unwrap(body, &mut plain) {
            Ok(x) => x,
            Err(e) => return Verdict::Drop(e.into()),
        };
        let p = match ControlPacket::parse(plain.get(..n).unwrap_or_default()) {
            Ok(p) => p,
            Err(e) => return Verdict::Drop(e.into()),
        };
        match op {
            Opcode::ControlHardResetClientV2 | Opcode::ControlHardResetClientV3 => {
                let early = replay.is_some_and(|(id, _)| id & 0xff00_0000 == EARLY_NEG_START);
                if v3 && !early {
                    return Verdict::Stateful;
                }
                if let Some(l) = st.limiter.as_mut() {
                    if !l.allow(now, from) {
                        st.stats.rate_limited += 1;
                        return Verdict::Drop(DropReason::RateLimited);
                    }
                }
                let cookie = st.jar.issue(now, from, &p.session_id);
                let mut acks = AckList::new();
                acks.push(0);
                let mut tlv = [0u8; 6];
                tlv[..2].copy_from_slice(&TLV_TYPE_EARLY_NEG_FLAGS.to_be_bytes());
                tlv[2..4].copy_from_slice(&2u16.to_be_bytes());
                tlv[4..].copy_from_slice(&EARLY_NEG_FLAG_RESEND_WKC.to_be_bytes());
                let reply = ControlPacket {
                    opcode: Opcode::ControlHardResetServerV2,
                    key_id: 0,
                    session_id: cookie,
                    acks,
                    remote_session_id: Some(p.session_id),
                    message_id: Some(0),
                    payload: if v3 { &tlv } else { &[] },
                };
                let mut rp = vec![0u8; reply.buffer_len()];
                if let Err(e) = reply.emit(&mut rp) {
                    return Verdict::Drop(e.into());
                }
                // Without a wall clock: 0, which any later time follows.
                let net_time = wall.unwrap_or(0) as u32;
                let mut out = vec![0u8; rp.len() + wrap.overhead()];
                // The reply is the first packet of this server session: replay id 1.
                match wrap.wrap(&rp, (1, net_time), &mut out) {
                    Ok(n) => {
                        out.truncate(n);
                        st.stats.resets_answered += 1;
                        Verdict::Reply(out)
                    }
                    Err(e) => Verdict::Drop(e.into()),
                }
            }
            Opcode::ControlV1 | Opcode::AckV1 | Opcode::ControlWkcV1 => {
                // The three-way handshake's third packet: it acks our reset (id 0) and may
                // carry message id 1; larger ids are not part of it.
                let valid = p
                    .remote_session_id
                    .is_some_and(|r| st.jar.check(now, from, &p.session_id, &r))
                    && p.acks.as_slice().iter().all(|a| *a <= 1)
                    && p.message_id.is_none_or(|m| m <= 1);
                match (valid, p.remote_session_id) {
                    (true, Some(r)) => Verdict::Create(p.session_id, r),
                    _ => {
                        st.stats.cookies_rejected += 1;
                        Verdict::Drop(DropReason::BadCookie)
                    }
                }
            }
            _ => Verdict::Drop(DropReason::UnknownClient(op)),
        }
    }

    /// Create a session for a new client at `from`, within [`ServerLimits`]. Returns its
    /// peer id and the half-open session to evict once the new one's first packet proved
    /// good (so garbage cannot evict anybody).
    /// `stateful`: no cookie proved the address ([`ServerLimits::stateful_rate`] applies).
    fn create(
        &mut self,
        now: Instant,
        from: &A,
        stateful: bool,
    ) -> Result<(u32, Option<u32>), DropReason> {
        if self.shutting_down {
            return Err(DropReason::ShuttingDown);
        }
        if let (true, Some(cfg)) = (stateful, self.limits.stateful_rate) {
            let l = self
                .stateful_limiter
                .get_or_insert_with(|| RateLimiter::new(cfg, now));
            if !l.allow(now, from) {
                return Err(DropReason::RateLimited);
            }
        }
        let key = from.source_key();
        let mut half_open = 0;
        let mut from_source = 0;
        // The oldest unfinished handshake that has not sent anything after its reset.
        let mut idle_oldest: Option<(Instant, u32)> = None;
        // The oldest handshake running for the grace period or longer.
        let mut stale_oldest: Option<(Instant, u32)> = None;
        // Per source prefix: unfinished handshakes and the oldest of them.
        let mut sources: HashMap<u128, (usize, Instant, u32)> = HashMap::new();
        // A session that is down and only lingers.
        let mut lingering: Option<u32> = None;
        for (id, c) in &self.clients {
            if c.down_since.is_some() || c.session.is_down() {
                lingering.get_or_insert(*id);
            } else if is_half_open(c) {
                half_open += 1;
                let k = c.addr.source_key();
                if k == key {
                    from_source += 1;
                }
                let e = sources.entry(k).or_insert((0, c.created, *id));
                e.0 += 1;
                if c.created < e.1 {
                    (e.1, e.2) = (c.created, *id);
                }
                let older = |o: &Option<(Instant, u32)>| o.is_none_or(|(t, _)| c.created < t);
                if c.session.stats().control_rx <= 1 {
                    if older(&idle_oldest) {
                        idle_oldest = Some((c.created, *id));
                    }
                } else if now.saturating_duration_since(c.created) >= self.limits.half_open_grace
                    && older(&stale_oldest)
                {
                    stale_oldest = Some((c.created, *id));
                }
            }
        }
        if from_source >= self.limits.max_half_open_per_source {
            return Err(DropReason::HalfOpenPerSource);
        }
        // Rule 2 of `ServerLimits::max_half_open`: the biggest holder's oldest (ties: the
        // older), when it holds at least two and more than the newcomer's prefix would.
        let hog = sources
            .values()
            .filter(|(n, _, _)| *n >= 2 && *n > from_source + 1)
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, _, id)| *id);
        let victim = idle_oldest
            .map(|(_, id)| id)
            .or(hog)
            .or(stale_oldest.map(|(_, id)| id));
        let mut evict = None;
        if half_open >= self.limits.max_half_open {
            match victim {
                Some(id) => evict = Some(id),
                None => return Err(DropReason::HalfOpenLimit),
            }
        } else if self.clients.len() >= self.limits.max_clients {
            match lingering {
                Some(id) => self.remove(id, now),
                None => match victim {
                    Some(id) => evict = Some(id),
                    None => return Err(DropReason::ClientTableFull),
                },
            }
        }
        let id = self.alloc_peer_id().ok_or(DropReason::ClientTableFull)?;
        let mut session = (self.factory)(id, now).map_err(|_| DropReason::FactoryFailed)?;
        if let Some(t) = self.unix_time(now) {
            session.set_unix_time(now, t);
        }
        if self.pool.is_some() {
            session.set_defer_push(true);
        }
        self.clients.insert(
            id,
            Client {
                addr: from.clone(),
                session,
                down_since: None,
                up_at: None,
                address: None,
                down_reason: None,
                created: now,
            },
        );
        self.by_addr.insert(from.clone(), id);
        Ok((id, evict))
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

    /// The client at `addr`, if any.
    pub fn peer_by_address(&self, addr: &A) -> Option<u32> {
        self.by_addr.get(addr).copied()
    }

    /// The transport under the client at `addr` is gone (a TCP connection closed): drop
    /// its session now (its accounting record follows) instead of waiting for
    /// `ping-restart`.
    pub fn remove_address(&mut self, now: Instant, addr: &A) {
        if let Some(id) = self.by_addr.get(addr).copied() {
            if let Some(c) = self.clients.get_mut(&id) {
                if c.down_since.is_none() {
                    c.session.close(now);
                    c.down_since = Some(now);
                    drain(c, id, now, &mut self.pool, &mut self.events);
                }
            }
            self.remove(id, now);
        }
    }

    /// A client's current address.
    pub fn address(&self, peer_id: u32) -> Option<&A> {
        self.clients.get(&peer_id).map(|c| &c.addr)
    }

    fn drop_pkt(&mut self, why: impl Into<DropReason>) -> ServerInput {
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

    fn remove(&mut self, peer_id: u32, now: Instant) {
        if let Some(c) = self.clients.remove(&peer_id) {
            if let (Some(a), Some(p)) = (c.address, self.pool.as_mut()) {
                p.release(a);
            }
            if let Some(up) = c.up_at {
                let end = c.down_since.unwrap_or(now);
                self.events.push_back((
                    peer_id,
                    Event::Accounting {
                        username: c.session.username().map(str::to_string),
                        address: c.address,
                        stats: c.session.stats(),
                        connected_for: end.saturating_duration_since(up),
                        reason: c.down_reason.clone(),
                    },
                ));
            }
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
        self.input(now, from, packet, out, true)
    }

    fn input(
        &mut self,
        now: Instant,
        from: A,
        packet: &[u8],
        out: &mut [u8],
        retry: bool,
    ) -> ServerInput {
        let (op, kid) = match split_first_byte(packet) {
            Ok(x) => x,
            Err(e) => return self.drop_pkt(e),
        };
        let peer_id = if op == Opcode::DataV2 {
            match DataPacket::parse(packet) {
                Ok(d) => d.peer_id.filter(|p| self.clients.contains_key(p)),
                Err(e) => return self.drop_pkt(e),
            }
        } else {
            None
        }
        .or_else(|| self.by_addr.get(&from).copied());
        let is_reset = matches!(
            op,
            Opcode::ControlHardResetClientV2 | Opcode::ControlHardResetClientV3
        ) && kid == 0;
        // A session made for this very packet is not re-made when the packet fails in it
        // (a bad reset must not loop).
        let mut fresh = false;
        let mut evict = None;
        let peer_id = match peer_id {
            Some(p) => p,
            None if self.shutting_down => return self.drop_pkt(DropReason::ShuttingDown),
            None if self.stateless.is_some() && !op.is_data() && kid == 0 => {
                match self.stateless_verdict(now, &from, op, packet) {
                    Verdict::Reply(p) => {
                        if self.replies.len() >= MAX_PENDING_REPLIES {
                            if let Some(st) = self.stateless.as_mut() {
                                st.stats.replies_dropped += 1;
                            }
                            return self.drop_pkt(DropReason::ReplyQueueFull);
                        }
                        self.replies.push_back((from, p));
                        return ServerInput::Handled;
                    }
                    Verdict::Create(client_sid, cookie) => match self.create(now, &from, false) {
                        Ok((id, ev)) => {
                            evict = ev;
                            if let Some(c) = self.clients.get_mut(&id) {
                                c.session.resume_stateless(client_sid, cookie);
                            }
                            if let Some(st) = self.stateless.as_mut() {
                                st.stats.sessions_created += 1;
                            }
                            id
                        }
                        Err(e) => return self.drop_pkt(e),
                    },
                    Verdict::Stateful if is_reset => match self.create(now, &from, true) {
                        Ok((id, ev)) => {
                            fresh = true;
                            evict = ev;
                            id
                        }
                        Err(e) => return self.drop_pkt(e),
                    },
                    Verdict::Stateful => return self.drop_pkt(DropReason::UnknownClient(op)),
                    Verdict::Drop(why) => return self.drop_pkt(why),
                }
            }
            None if is_reset => match self.create(now, &from, true) {
                Ok((id, ev)) => {
                    fresh = true;
                    evict = ev;
                    id
                }
                Err(e) => return self.drop_pkt(e),
            },
            None => return self.drop_pkt(DropReason::UnknownClient(op)),
        };
        let Some(c) = self.clients.get_mut(&peer_id) else {
            return self.drop_pkt(DropReason::UnknownClient(op));
        };
        let floated = c.addr != from;
        if floated && !op.is_data() {
            return self.drop_pkt(DropReason::ControlFromOtherAddress);
        }
        let r = c.session.handle_input(now, packet, out);
        if c.session.is_down() && c.down_since.is_none() {
            c.down_since = Some(now);
        }
        drain(c, peer_id, now, &mut self.pool, &mut self.events);
        if let (Some(e), false) = (evict, matches!(r, Input::Dropped(_))) {
            // The newcomer's packet was good: the idle half-open session makes room.
            self.remove(e, now);
        }
        let res = match r {
            Input::Data(len) => ServerInput::Data { peer_id, len },
            Input::Ping => ServerInput::Ping { peer_id },
            Input::Control => ServerInput::Handled,
            Input::Dropped(why) => {
                if fresh {
                    // The packet that made the session is no good (bad HMAC, refused
                    // tls-crypt-v2 key, ...): nothing is kept for it.
                    self.remove(peer_id, now);
                } else if is_reset && !floated && retry {
                    // A client that restarted sends a new hard reset from the same address.
                    self.remove(peer_id, now);
                    return self.input(now, from, packet, out, false);
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
        if let Some(r) = self.replies.pop_front() {
            return Some(r);
        }
        for (id, c) in self.clients.iter_mut() {
            if let Some(p) = c.session.poll_transmit(now) {
                drain(c, *id, now, &mut self.pool, &mut self.events);
                return Some((c.addr.clone(), p));
            }
        }
        None
    }

    /// Next event, tagged with the client's peer id.
    pub fn poll_event(&mut self) -> Option<(u32, Event)> {
        let e = self.poll_event_untraced();
        trace_event!("ovpn::server", &e.as_ref().map(|(_, ev)| ev));
        e
    }

    fn poll_event_untraced(&mut self) -> Option<(u32, Event)> {
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
            drain(c, *id, now, &mut self.pool, &mut self.events);
            if c.session.is_down() {
                let since = *c.down_since.get_or_insert(now);
                if now >= since + self.linger {
                    gone.push(*id);
                }
            }
        }
        for id in gone {
            self.remove(id, now);
        }
        // After a flood, give the tables' memory back.
        if self.clients.capacity() > 64 && self.clients.capacity() > 4 * self.clients.len() {
            self.clients.shrink_to(self.clients.len() * 2);
            self.by_addr.shrink_to(self.by_addr.len() * 2);
        }
        if self.replies.is_empty() && self.replies.capacity() > 64 {
            self.replies.shrink_to(16);
        }
        if let Some(l) = self.stateless.as_mut().and_then(|s| s.limiter.as_mut()) {
            l.collect(now);
        }
    }
}

/// Not up and not down: still in its handshake.
fn is_half_open<A>(c: &Client<A>) -> bool {
    !c.session.is_up() && !c.session.is_down() && c.down_since.is_none()
}

/// Move a session's events to the server's queue, recording accounting state and answering
/// a deferred PUSH_REQUEST with an address from the pool.
fn drain<A>(
    c: &mut Client<A>,
    id: u32,
    now: Instant,
    pool: &mut Option<Ipv4Pool>,
    events: &mut VecDeque<(u32, Event)>,
) {
    while let Some(e) = c.session.poll_event() {
        match &e {
            Event::Up { .. } => c.up_at = Some(now),
            Event::Down(r) => c.down_reason = Some(r.clone()),
            Event::PushRequested { username, .. } => {
                if let Some(p) = pool.as_mut() {
                    match p.allocate(username.as_deref()) {
                        Some(a) => {
                            c.address = Some(a);
                            let opt = format!("ifconfig {a} {}", p.netmask());
                            if c.session.push_reply(now, &[opt]).is_err() {
                                p.release(a);
                                c.address = None;
                            }
                        }
                        None => {
                            let _ = c.session.refuse_push(now, "no address available");
                        }
                    }
                }
            }
            _ => {}
        }
        events.push_back((id, e));
    }
}
