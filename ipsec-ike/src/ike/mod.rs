//! The IKEv2 engine: one [`Ike`] holds every IKE SA of a host (both roles), the SAD of the
//! Child SAs it negotiated, and the SPD; it speaks through the sans-IO surface.
//!
//! # Contract (as quinn-proto's `Connection`)
//! - Inputs: [`Ike::handle_datagram`] (UDP payload received on port 500 or 4500, with the
//!   local and remote socket addresses), [`Ike::handle_timeout`], and commands
//!   ([`Ike::connect`], [`Ike::rekey_child`], [`Ike::rekey_ike`], [`Ike::close`]).
//! - Data plane: [`Ike::encapsulate`] (a packet from the local side, through the SPD and the
//!   outbound SA, into a caller buffer) and [`Ike::decapsulate_in_place`] (ESP from UDP 4500
//!   or IP protocol 50).
//! - Outputs: [`Ike::poll_transmit`] until `None`, [`Ike::poll_event`] until `None`, then
//!   arm a timer for [`Ike::poll_timeout`]. Time must not go backwards between calls.
//! - Randomness: one `Box<dyn CryptoRngCore + Send>` given to [`Ike::new`], used for SPIs,
//!   nonces, DH keys, IVs and the cookie secret.

pub mod proposal;
pub mod sa;
pub mod ts;

mod exchange;

pub use exchange::MAX_INIT_REQUEST;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;

use crate::auth::CertStore;
use crate::config::{IpsecConfig, PolicyLevel};
use crate::cookie::CookieJar;
use crate::error::{ConfigError, Error};
use crate::esp::NON_ESP_MARKER as NON_ESP;
use crate::esp::{EspDrop, EspError, EspSa};
use crate::event::{ChildDownReason, ChildId, DownReason, DropReason, Event, IkeSaId};
use crate::spd::{Decision, PacketSelector, Spd};
use crate::wire::Message;

pub use sa::{Child, IkeSa, SaState};

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Local socket address to send from (port 500 or 4500).
    pub local: SocketAddr,
    /// Destination.
    pub remote: SocketAddr,
    /// UDP payload (IKE on 4500 already carries its non-ESP marker).
    pub payload: Vec<u8>,
}

/// What became of an input datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// Processed by the IKE engine.
    Handled,
    /// Dropped and counted.
    Dropped(DropReason),
    /// An ESP packet (UDP 4500, non-zero SPI): hand it to [`Ike::decapsulate_in_place`].
    Esp,
}

/// What became of an outbound packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outbound {
    /// Protected: send `out[..len]` to `remote` (UDP from `local` when `udp`, else as IP
    /// protocol 50).
    Protected {
        /// ESP packet length in the output buffer.
        len: usize,
        /// Local endpoint.
        local: SocketAddr,
        /// Remote endpoint.
        remote: SocketAddr,
        /// UDP-encapsulated (NAT-T, port 4500).
        udp: bool,
    },
    /// No policy asks for protection (or level=use without an SA): send in clear.
    Bypass,
    /// Dropped by policy (discard) or for want of an SA (level=require/unique; an
    /// acquire was started when the peer is not passive).
    Dropped,
}

/// An ESP packet opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbound {
    /// The inner packet (tunnel) or transport payload in the caller's buffer.
    pub range: std::ops::Range<usize>,
    /// Next header.
    pub next_header: u8,
    /// The Child SA.
    pub child: ChildId,
}

/// Engine counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Drops by reason.
    pub drops: HashMap<DropReason, u64>,
    /// ESP drops by class (the RouterOS statistics).
    pub esp_drops: HashMap<EspDrop, u64>,
    /// Cookies sent.
    pub cookies_sent: u64,
    /// IKE SAs established.
    pub ike_sas_established: u64,
    /// Child SAs installed.
    pub child_sas_installed: u64,
    /// Retransmissions of requests.
    pub retransmits: u64,
    /// Responses replayed for retransmitted requests.
    pub replayed_responses: u64,
    /// Fragments sent.
    pub fragments_sent: u64,
    /// NAT keepalives sent.
    pub keepalives_sent: u64,
}

struct SadIn {
    ike: IkeSaId,
    child: ChildId,
    sa: EspSa,
}

struct SadOut {
    ike: IkeSaId,
    sa: EspSa,
}

/// The IKEv2 engine. See the [module docs](self).
pub struct Ike {
    config: IpsecConfig,
    certs: CertStore,
    rng: Box<dyn CryptoRngCore + Send>,
    local_ip: IpAddr,
    sas: HashMap<u64, IkeSa>,
    half_open: usize,
    half_open_by_src: HashMap<u128, usize>,
    cookies: CookieJar,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    out: VecDeque<Transmit>,
    events: VecDeque<Event>,
    sad_in: HashMap<u32, SadIn>,
    sad_out: HashMap<ChildId, SadOut>,
    spd: Spd,
    next_child: u64,
    stats: Stats,
    /// Child selector routes for outbound lookup: (child, ike, local ts, remote ts).
    routes: Vec<(ChildId, IkeSaId)>,
    acquiring: HashMap<String, Instant>,
    /// Responder: (initiator SPI, remote) -> our SPI, to answer retransmitted IKE_SA_INITs.
    init_index: HashMap<(u64, SocketAddr), u64>,
    eap: Option<Box<dyn crate::eap::EapBackend + Send>>,
}

fn src_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)) | (1 << 127),
        IpAddr::V6(a) => u128::from(a) & !((1u128 << 64) - 1),
    }
}

fn spi_u64(s: &[u8; 8]) -> u64 {
    u64::from_be_bytes(*s)
}

impl Ike {
    /// An engine for `config` (validated), with `certs`, using `local` as the address it
    /// initiates from when a peer or policy does not name one.
    pub fn new(
        config: IpsecConfig,
        certs: CertStore,
        local: IpAddr,
        now: Instant,
        mut rng: Box<dyn CryptoRngCore + Send>,
    ) -> Result<Ike, Error> {
        config.validate()?;
        if config.settings.half_open_limit == 0 {
            return Err(ConfigError::invalid("half-open-limit", "must be at least 1").into());
        }
        let cookies = CookieJar::new(now, &mut *rng);
        let spd = Spd::new(&config.policies);
        Ok(Ike {
            config,
            certs,
            rng,
            local_ip: local,
            sas: HashMap::new(),
            half_open: 0,
            half_open_by_src: HashMap::new(),
            cookies,
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            sad_in: HashMap::new(),
            sad_out: HashMap::new(),
            spd,
            next_child: 1,
            stats: Stats::default(),
            routes: Vec::new(),
            acquiring: HashMap::new(),
            init_index: HashMap::new(),
            eap: None,
        })
    }

    /// Plug in an EAP backend for identities with `auth-method=eap-radius` (responder): the
    /// engine passes EAP messages through it (a RADIUS client plugs in here).
    pub fn set_eap_backend(&mut self, backend: Box<dyn crate::eap::EapBackend + Send>) {
        self.eap = Some(backend);
    }

    /// The configuration.
    pub fn config(&self) -> &IpsecConfig {
        &self.config
    }
    /// The SPD.
    pub fn spd(&self) -> &Spd {
        &self.spd
    }
    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    /// Number of IKE SAs held (any state but torn down).
    pub fn ike_sa_count(&self) -> usize {
        self.sas
            .values()
            .filter(|s| s.state != SaState::Dead)
            .count()
    }
    /// Half-open responder SAs held.
    pub fn half_open_count(&self) -> usize {
        self.half_open
    }
    /// An IKE SA.
    pub fn ike_sa(&self, id: IkeSaId) -> Option<&IkeSa> {
        self.sas.get(&id.0)
    }
    /// All IKE SAs (RouterOS `/ip ipsec active-peers`).
    pub fn ike_sas(&self) -> impl Iterator<Item = &IkeSa> {
        self.sas.values().filter(|s| s.state != SaState::Dead)
    }
    /// The installed inbound ESP SA of a Child SA (RouterOS `/ip ipsec installed-sa`).
    pub fn esp_in(&self, spi: u32) -> Option<&EspSa> {
        self.sad_in.get(&spi).map(|s| &s.sa)
    }
    /// The outbound ESP SA of a Child SA.
    pub fn esp_out(&self, child: ChildId) -> Option<&EspSa> {
        self.sad_out.get(&child).map(|s| &s.sa)
    }
    /// Installed inbound SPIs.
    pub fn inbound_spis(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.sad_in.keys().copied().collect();
        v.sort_unstable();
        v
    }

    fn drop(&mut self, r: DropReason) -> Input {
        *self.stats.drops.entry(r).or_default() += 1;
        Input::Dropped(r)
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.poll_event_untraced();
        trace_event!("ipsec-ike::ike::mod", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Earliest deadline (O(log n) amortised: a heap with lazy deletion).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((t, id))) = self.timers.peek().copied() {
            match self.sas.get(&id) {
                Some(sa) if sa.armed == Some(t) => return Some(t),
                _ => {
                    self.timers.pop();
                }
            }
        }
        None
    }

    /// Fire what is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = Vec::new();
        while let Some(Reverse((t, id))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            if self.sas.get(&id).is_some_and(|sa| sa.armed == Some(t)) {
                due.push(id);
            }
        }
        for id in due {
            if let Some(sa) = self.sas.get_mut(&id) {
                sa.armed = None;
            }
            self.sa_timers(now, id);
            self.rearm(now, id);
        }
    }

    /// Re-compute and push the deadline of one SA.
    fn rearm(&mut self, _now: Instant, id: u64) {
        let dpd = match self.sas.get(&id) {
            Some(sa) if sa.state == SaState::Dead => {
                self.remove_sa(id);
                return;
            }
            Some(sa) => self.dpd_interval(sa),
            None => return,
        };
        let settings = &self.config.settings;
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let mut d: Option<Instant> = None;
        let mut m = |t: Option<Instant>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |x: Instant| x.min(t)));
            }
        };
        m(sa.pending.as_ref().map(|p| p.next));
        m(sa.half_open_until);
        if sa.state == SaState::Established {
            m(sa.rekey_at);
            m(sa.expire_at);
            for c in &sa.children {
                if c.rekeyed_by.is_none() && !c.rekeying {
                    m(Some(c.soft_at));
                }
                m(Some(c.hard_at));
            }
            if sa.pending.is_none() {
                if let Some(dpd) = dpd {
                    m(Some(sa.last_rx + dpd));
                }
            }
            if sa.nat_local {
                m(Some(sa.last_tx + settings.nat_keepalive));
            }
        }
        if sa.armed != d {
            sa.armed = d;
            if let Some(t) = d {
                self.timers.push(Reverse((t, id)));
            }
        }
    }

    fn dpd_interval(&self, sa: &IkeSa) -> Option<Duration> {
        self.config
            .peer(&sa.peer)
            .and_then(|p| self.config.profile(&p.profile))
            .and_then(|p| p.dpd_interval)
    }

    fn remove_sa(&mut self, id: u64) {
        if let Some(sa) = self.sas.remove(&id) {
            if !sa.initiator {
                self.init_index.remove(&(spi_u64(&sa.spi_i), sa.remote));
            }
            if let Some(k) = sa.half_open_key {
                self.half_open = self.half_open.saturating_sub(1);
                if let Some(n) = self.half_open_by_src.get_mut(&k) {
                    *n -= 1;
                    if *n == 0 {
                        self.half_open_by_src.remove(&k);
                    }
                }
            }
            for c in &sa.children {
                self.uninstall_child(c.spi_in, c.id);
            }
        }
    }

    /// Leave half-open accounting (IKE_AUTH done or SA gone).
    fn close_half_open(&mut self, id: u64) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        sa.half_open_until = None;
        if let Some(k) = sa.half_open_key.take() {
            self.half_open = self.half_open.saturating_sub(1);
            if let Some(n) = self.half_open_by_src.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    self.half_open_by_src.remove(&k);
                }
            }
        }
    }

    fn uninstall_child(&mut self, spi_in: u32, child: ChildId) {
        self.sad_in.remove(&spi_in);
        self.sad_out.remove(&child);
        self.routes.retain(|(c, _)| *c != child);
    }

    /// Tear an IKE SA down now (no message), with its children.
    fn kill(&mut self, id: u64, reason: DownReason) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        if sa.state == SaState::Dead {
            return;
        }
        let was_up = sa.state == SaState::Established || sa.state == SaState::Deleting;
        sa.state = SaState::Dead;
        sa.pending = None;
        let children: Vec<(ChildId, u32)> = sa.children.iter().map(|c| (c.id, c.spi_in)).collect();
        let remote = sa.remote;
        let moved = sa.replaced_by.is_some();
        for (c, spi) in children {
            if !moved {
                self.events.push_back(Event::ChildSaDown {
                    sa: IkeSaId(id),
                    child: c,
                    spi_in: spi,
                    reason: ChildDownReason::IkeSaDown,
                });
            }
            self.uninstall_child(spi, c);
        }
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.children.clear();
        }
        if was_up {
            self.events.push_back(Event::IkeSaDown {
                sa: IkeSaId(id),
                reason,
            });
        } else {
            self.events.push_back(Event::Failed { remote, reason });
        }
        self.close_half_open(id);
    }

    /// Send the datagrams of a message from an SA (adds the non-ESP marker on 4500).
    fn send_packets(&mut self, id: u64, now: Instant, packets: &[Vec<u8>]) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        sa.last_tx = now;
        for p in packets {
            let payload = if sa.natt {
                let mut v = Vec::with_capacity(p.len() + 4);
                v.extend_from_slice(&NON_ESP);
                v.extend_from_slice(p);
                v
            } else {
                p.clone()
            };
            self.out.push_back(Transmit {
                local: sa.local,
                remote: sa.remote,
                payload,
            });
        }
    }

    /// Handle a UDP datagram received on `local` (port 500 or 4500) from `remote`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        bytes: &[u8],
    ) -> Input {
        let natt_port = local.port() != 500;
        let ike = if natt_port {
            match crate::esp::classify_udp_encap(bytes) {
                crate::esp::UdpEncap::Keepalive => return self.drop(DropReason::Keepalive),
                crate::esp::UdpEncap::Ike(b) => b,
                crate::esp::UdpEncap::Esp(_) => return Input::Esp,
                crate::esp::UdpEncap::Invalid => return self.drop(DropReason::Malformed),
            }
        } else {
            bytes
        };
        let msg = match Message::parse(ike) {
            Ok(m) => m,
            Err(_) => return self.drop(DropReason::Malformed),
        };
        self.dispatch(now, local, remote, natt_port, ike, msg)
    }

    fn dispatch(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        natt: bool,
        raw: &[u8],
        msg: Message,
    ) -> Input {
        let h = msg.header;
        if h.exchange == crate::wire::ExchangeType::IKE_SA_INIT
            && !h.is_response()
            && h.spi_r == [0; 8]
        {
            if !h.is_initiator() || h.message_id != 0 {
                return self.drop(DropReason::Malformed);
            }
            return exchange::responder_init(self, now, local, remote, natt, raw, &msg);
        }
        // Our SPI: the responder's when the sender is the original initiator.
        let ours = if h.is_initiator() { h.spi_r } else { h.spi_i };
        let id = spi_u64(&ours);
        let Some(sa) = self.sas.get(&id) else {
            return self.drop(DropReason::UnknownSpi);
        };
        if sa.state == SaState::Dead {
            return self.drop(DropReason::UnknownSpi);
        }
        // The peer's SPI must match too (an IKE_SA_INIT response fills it in).
        let theirs = if h.is_initiator() { h.spi_i } else { h.spi_r };
        let expect_theirs = if sa.initiator { sa.spi_r } else { sa.spi_i };
        if expect_theirs != [0; 8] && theirs != expect_theirs {
            return self.drop(DropReason::UnknownSpi);
        }
        let r = if h.is_response() {
            exchange::handle_response(self, now, id, local, remote, natt, raw, msg)
        } else {
            exchange::handle_request(self, now, id, local, remote, natt, raw, msg)
        };
        self.rearm(now, id);
        r
    }

    /// Start an IKE SA to the peer named `peer` (RouterOS: a non-passive peer with policies).
    /// `remote` overrides the peer's address (needed when the peer's address is a prefix).
    pub fn connect(
        &mut self,
        now: Instant,
        peer: &str,
        remote: Option<SocketAddr>,
    ) -> Result<IkeSaId, Error> {
        let p = self
            .config
            .peer(peer)
            .ok_or(Error::Unknown("peer"))?
            .clone();
        if p.passive {
            return Err(Error::InvalidState("peer is passive"));
        }
        let remote = match remote {
            Some(r) => r,
            None => SocketAddr::new(p.address.addr, p.port),
        };
        let local = SocketAddr::new(p.local_address.unwrap_or(self.local_ip), 500);
        exchange::initiate(self, now, &p.name, local, remote)
    }

    /// Rekey a Child SA now (CREATE_CHILD_SA with REKEY_SA).
    pub fn rekey_child(&mut self, now: Instant, child: ChildId) -> Result<(), Error> {
        let id = self
            .sas
            .iter()
            .find(|(_, s)| s.children.iter().any(|c| c.id == child))
            .map(|(k, _)| *k)
            .ok_or(Error::Unknown("child SA"))?;
        exchange::queue_request(self, now, id, sa::Req::RekeyChild(child));
        self.rearm(now, id);
        Ok(())
    }

    /// Rekey an IKE SA now.
    pub fn rekey_ike(&mut self, now: Instant, sa: IkeSaId) -> Result<(), Error> {
        if !self.sas.contains_key(&sa.0) {
            return Err(Error::Unknown("IKE SA"));
        }
        exchange::queue_request(self, now, sa.0, sa::Req::RekeyIke);
        self.rearm(now, sa.0);
        Ok(())
    }

    /// Delete an IKE SA (INFORMATIONAL with a Delete payload), and its children.
    pub fn close(&mut self, now: Instant, sa: IkeSaId) -> Result<(), Error> {
        if !self.sas.contains_key(&sa.0) {
            return Err(Error::Unknown("IKE SA"));
        }
        exchange::queue_request(self, now, sa.0, sa::Req::DeleteIke);
        self.rearm(now, sa.0);
        Ok(())
    }

    fn sa_timers(&mut self, now: Instant, id: u64) {
        exchange::timers(self, now, id);
    }

    /// Protect an outbound IP packet from the local side: SPD lookup (L1223), then the
    /// installed SA whose selectors cover it. The ESP packet is written to `out`.
    pub fn encapsulate(
        &mut self,
        now: Instant,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<Outbound, EspError> {
        let Some(sel) = PacketSelector::from_packet(packet) else {
            return Ok(Outbound::Bypass);
        };
        let decision = self.spd.lookup(&sel);
        let level = match decision {
            Decision::Bypass => return Ok(Outbound::Bypass),
            Decision::Discard => return Ok(Outbound::Dropped),
            Decision::Protect { level, .. } => level,
        };
        let route = self.routes.iter().find(|(c, ike)| {
            self.sas
                .get(&ike.0)
                .and_then(|s| s.child(*c))
                .is_some_and(|ch| {
                    ch.rekeyed_by.is_none()
                        && ts::covers(&ch.ts_local, sel.src, sel.protocol, sel.src_port)
                        && ts::covers(&ch.ts_remote, sel.dst, sel.protocol, sel.dst_port)
                })
        });
        let Some(&(child, ike)) = route else {
            if level == PolicyLevel::Use {
                return Ok(Outbound::Bypass);
            }
            if let Decision::Protect { index, .. } = decision {
                self.acquire(now, index);
            }
            return Ok(Outbound::Dropped);
        };
        let (tunnel, local, remote, udp) = {
            let Some(s) = self.sas.get(&ike.0) else {
                return Ok(Outbound::Dropped);
            };
            let tunnel = s.child(child).is_some_and(|c| c.tunnel);
            let remote = if s.natt {
                s.remote
            } else {
                SocketAddr::new(s.remote.ip(), 0)
            };
            (tunnel, s.local, remote, s.natt)
        };
        let Some(o) = self.sad_out.get_mut(&child) else {
            return Ok(Outbound::Dropped);
        };
        let r = if tunnel {
            let nh = if packet[0] >> 4 == 6 { 41 } else { 4 };
            o.sa.encapsulate(nh, packet, out)
        } else {
            // Transport mode: the caller sends the returned ESP after its own IP header.
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            o.sa.encapsulate(packet[9], &packet[ihl.min(packet.len())..], out)
        };
        let len = match r {
            Ok(n) => n,
            Err(EspError::Expired | EspError::SequenceOverflow) => {
                // Hard byte lifetime / sequence space used up: the Child SA goes now.
                if let Some(c) = self.sas.get_mut(&ike.0).and_then(|s| s.child_mut(child)) {
                    c.hard_at = now;
                }
                self.rearm(now, ike.0);
                return Ok(Outbound::Dropped);
            }
            Err(e) => return Err(e),
        };
        let soft = o.sa.soft_expired();
        if let Some(s) = self.sas.get_mut(&ike.0) {
            s.last_tx = now;
        }
        if soft {
            self.soft_bytes(now, ike.0, child);
        }
        Ok(Outbound::Protected {
            len,
            local,
            remote,
            udp,
        })
    }

    /// A byte lifetime's soft limit was reached on one of a Child SA's ESP SAs: move its
    /// soft deadline to now, so the timer path starts exactly one rekey.
    fn soft_bytes(&mut self, now: Instant, ike: u64, child: ChildId) {
        let Some(c) = self.sas.get_mut(&ike).and_then(|s| s.child_mut(child)) else {
            return;
        };
        if c.soft_at > now && c.rekeyed_by.is_none() && !c.rekeying {
            c.soft_at = now;
            self.rearm(now, ike);
        }
    }

    /// Open an inbound ESP packet (SPI first) in place.
    pub fn decapsulate_in_place(
        &mut self,
        now: Instant,
        packet: &mut [u8],
    ) -> Result<Inbound, EspDrop> {
        let Some(spi) = crate::esp::spi_of(packet) else {
            *self.stats.esp_drops.entry(EspDrop::Malformed).or_default() += 1;
            return Err(EspDrop::Malformed);
        };
        let Some(e) = self.sad_in.get_mut(&spi) else {
            *self.stats.esp_drops.entry(EspDrop::NoState).or_default() += 1;
            return Err(EspDrop::NoState);
        };
        match e.sa.decapsulate_in_place(packet) {
            Ok(d) => {
                let (ike, child) = (e.ike, e.child);
                let mut ok = true;
                if let Some(s) = self.sas.get_mut(&ike.0) {
                    s.last_rx = now;
                    // Inbound selector check (RFC 4301 5.2, `in-template-mismatches`).
                    if let Some(c) = s.child(child) {
                        if c.tunnel {
                            if let Some(sel) =
                                PacketSelector::from_packet(&packet[d.payload.clone()])
                            {
                                ok = ts::covers(&c.ts_remote, sel.src, sel.protocol, sel.src_port)
                                    && ts::covers(&c.ts_local, sel.dst, sel.protocol, sel.dst_port);
                            }
                        }
                    }
                }
                if !ok {
                    *self
                        .stats
                        .esp_drops
                        .entry(EspDrop::TemplateMismatch)
                        .or_default() += 1;
                    return Err(EspDrop::TemplateMismatch);
                }
                if self.sad_in.get(&spi).is_some_and(|e| e.sa.soft_expired()) {
                    self.soft_bytes(now, ike.0, child);
                }
                // No re-arm per packet: the DPD deadline armed earlier fires, sees the newer
                // `last_rx`, and arms the next one (no heap entry per packet).
                Ok(Inbound {
                    range: d.payload,
                    next_header: d.next_header,
                    child,
                })
            }
            Err(x) => {
                *self.stats.esp_drops.entry(x).or_default() += 1;
                Err(x)
            }
        }
    }

    /// SPD miss with level require/unique: start an IKE SA to the policy's peer unless one is
    /// up or being set up (RouterOS "acquire", L984), at most once per second per peer.
    fn acquire(&mut self, now: Instant, policy: usize) {
        let Some(entry) = self.spd.policies().get(policy) else {
            return;
        };
        let peer = entry.policy.peer.clone();
        if peer.is_empty() {
            return;
        }
        if self
            .acquiring
            .get(&peer)
            .is_some_and(|t| now < *t + Duration::from_secs(1))
        {
            return;
        }
        if self
            .sas
            .values()
            .any(|s| s.peer == peer && s.state != SaState::Dead && s.replaced_by.is_none())
        {
            return;
        }
        self.acquiring.insert(peer.clone(), now);
        let remote = entry
            .policy
            .sa_dst_address
            .map(|a| SocketAddr::new(a, self.config.peer(&peer).map_or(500, |p| p.port)));
        let _ = self.connect(now, &peer, remote);
    }

    fn alloc_child(&mut self) -> ChildId {
        let c = ChildId(self.next_child);
        self.next_child += 1;
        c
    }

    fn new_spi_u32(&mut self) -> u32 {
        loop {
            let v = self.rng.next_u32();
            if v >= 256 && !self.sad_in.contains_key(&v) {
                return v;
            }
        }
    }

    fn new_ike_spi(&mut self) -> [u8; 8] {
        loop {
            let mut s = [0u8; 8];
            self.rng.fill_bytes(&mut s);
            if s != [0; 8] && !self.sas.contains_key(&spi_u64(&s)) {
                return s;
            }
        }
    }

    fn nonce(&mut self) -> Vec<u8> {
        let mut n = vec![0u8; 32];
        self.rng.fill_bytes(&mut n);
        n
    }
}
