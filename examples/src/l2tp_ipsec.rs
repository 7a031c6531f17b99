//! L2TP/IPsec in user space (RouterOS `use-ipsec` / `ipsec-secret`, RFC 3193): an IKEv1
//! session ([`ipsec_ike::v1::session::Session`], main mode, pre-shared key) per peer negotiates an ESP
//! SA pair in **transport mode** for the peers' L2TP traffic (UDP 1701 <-> 1701), and this
//! driver carries each L2TP datagram inside ESP, all in the process: no kernel XFRM, no raw
//! socket.
//!
//! ```text
//!  L2TP (l2tp crate)          payload                    payload
//!       |                        ^                          |
//!  L2tpIpsec::send_l2tp     deliver(key, ..)          handle_datagram
//!       v                        |                          ^
//!  UDP 1701->1701 header   strip UDP 1701 header      IKE (500 / 4500 after the
//!  ESP transport, SPI out  ESP SPI in -> peer          non-ESP marker) -> Session
//!       v                        ^                          ^
//!  UDP 4500 (RFC 3948)  ---------+---- one UDP socket on 500, one on 4500 ---+
//! ```
//!
//! * **Always UDP-encapsulated.** ESP in IP protocol 50 would need a raw socket; this driver
//!   sets the session's `force_encap` (as strongSwan's `encap=yes`), so both ends float to
//!   UDP 4500 after main mode message 4 whether or not a NAT is in the path, and quick mode
//!   negotiates UDP-Encapsulated-Transport (RFC 3947 section 5.1) with NAT-OA payloads.
//! * **Peers are told apart by IKE SA and ESP SPI**, not by address: an IKE message finds its
//!   session by the initiator cookie, an ESP packet by its SPI. Many clients behind one NAT
//!   (same public address, same inner address, same inner port 1701) are therefore distinct
//!   peers. Each peer gets a stable `key` (the address its first IKE message came from), which
//!   is the L2TP layer's peer key (`l2tp::server::Peer::key`); replies are sent to the address
//!   the peer's latest authenticated datagram came from (RFC 3947 section 4).
//! * **Inner UDP.** The L2TP datagram gets a UDP header 1701 -> 1701 with checksum 0 (allowed
//!   for UDP over IPv4, and the reason RFC 3948 section 3.1.2's checksum fix-up is not needed
//!   here); an inbound ESP payload whose next header is not UDP or whose ports are not
//!   1701/1701 is dropped and counted ([`Stats::esp_not_l2tp`]).
//! * The core is sans-IO like the protocol crates (datagrams and `now` in, datagrams and
//!   events out), so the same code runs on real sockets in `l2tp-client`/`l2tp-server`
//!   ([`IpsecSockets`]) and in memory in the tests.
//!
//! Not done: IPv6, ESP in IP protocol 50 (always UDP 4500), rekeying (the SA lives as long as
//! the session), RouterOS's dynamic-peer generated policies (the selectors are the two
//! addresses), lifetime checks; the deadline search is a scan over the peers (fine for a
//! handful of clients, not for thousands).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ipsec_ike::crypto::{Encr, Integ};
use ipsec_ike::esp::{classify_udp_encap, spi_of, EspParams, EspSa, UdpEncap};
use ipsec_ike::v1::session::{
    ChildKeys, Session, SessionConfig, SessionEvent, PORT_IKE, PORT_NATT,
};
use ipsec_ike::v1::wire::Identity;
use rand_chacha::rand_core::{CryptoRngCore, SeedableRng};

/// The L2TP port inside ESP (RFC 3193 section 4: UDP 1701 on both sides).
pub const L2TP_PORT: u16 = 1701;

/// A datagram to send: from our UDP port `local_port` (500 or 4500) to `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Our port: 500 or 4500 (the socket to send from).
    pub local_port: u16,
    /// Destination.
    pub to: SocketAddr,
    /// UDP payload.
    pub payload: Vec<u8>,
}

/// What a received datagram was.
#[derive(Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// An L2TP datagram that arrived inside ESP, from the peer `key`.
    L2tp {
        /// The peer's key (see the module docs).
        key: SocketAddr,
        /// The L2TP message (UDP payload of the inner 1701 datagram).
        payload: &'a [u8],
    },
    /// IKE, a keepalive, or something dropped: nothing for L2TP.
    Consumed,
}

/// What happened to a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpsecEvent {
    /// The ESP SA pair is installed: L2TP can flow.
    Up {
        /// The peer's key.
        key: SocketAddr,
        /// Inbound and outbound SPI.
        spi_in: u32,
        /// Outbound SPI.
        spi_out: u32,
        /// ESP is UDP-encapsulated (always, see the module docs).
        udp_encap: bool,
        /// This pair replaces an earlier one (a phase-2 rekey).
        rekeyed: bool,
    },
    /// The peer's IKE session ended (failed, deleted, or dead by DPD); its SAs are gone.
    Down {
        /// The peer's key.
        key: SocketAddr,
        /// Why.
        reason: String,
    },
    /// Any other IKE event (phase 1 up, ...), for logging.
    Ike {
        /// The peer's key.
        key: SocketAddr,
        /// The event.
        event: SessionEvent,
    },
}

/// Counters (what a test looks at to know L2TP went inside ESP).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// ESP packets sent (each carries one L2TP datagram).
    pub esp_out: u64,
    /// ESP packets received, authenticated and delivered as L2TP.
    pub esp_in: u64,
    /// ESP packets dropped: unknown SPI, integrity, replay, malformed.
    pub esp_dropped: u64,
    /// Authenticated ESP whose inner packet was not UDP 1701 -> 1701.
    pub esp_not_l2tp: u64,
    /// IKE datagrams that found no session (unknown cookie on a client, garbage).
    pub ike_dropped: u64,
    /// L2TP the caller asked to send to a peer without an SA (dropped).
    pub no_sa: u64,
    /// NAT keepalives received.
    pub keepalives: u64,
}

/// Configuration of one end.
#[derive(Clone, Debug)]
pub struct Config {
    /// The pre-shared key (RouterOS `ipsec-secret`).
    pub psk: Vec<u8>,
    /// Our IPv4 address: phase-1 identity and transport-mode selector.
    pub local_ip: Ipv4Addr,
    /// Phase-2 lifetime we propose and check (RouterOS `/ip ipsec proposal` `lifetime` of the
    /// `default` proposal the dynamic peer uses: 30m, [`ROUTEROS_LIFETIME`]). `None` names
    /// no lifetime (the SA then lasts 28800 s, RFC 2407 section 4.5). The client rekeys at
    /// 9/10 of the negotiated lifetime; the old pair keeps decrypting until its Delete.
    pub esp_lifetime: Option<Duration>,
}

/// RouterOS's default proposal lifetime (30 minutes).
pub const ROUTEROS_LIFETIME: Duration = Duration::from_secs(30 * 60);

impl Config {
    /// A configuration with the RouterOS default lifetime.
    pub fn new(psk: &[u8], local_ip: Ipv4Addr) -> Self {
        Config {
            psk: psk.to_vec(),
            local_ip,
            esp_lifetime: Some(ROUTEROS_LIFETIME),
        }
    }
}

struct Peer {
    key: SocketAddr,
    ike: Session,
    cky_i: [u8; 8],
    /// Latest source of an accepted datagram on each of our ports.
    addr_500: SocketAddr,
    addr_4500: Option<SocketAddr>,
    sa_in: Option<EspSa>,
    sa_out: Option<EspSa>,
    /// The inbound SA a rekey replaced: it decrypts what is still in flight until the
    /// session retires it (the peer's Delete, or a margin).
    sa_in_old: Option<EspSa>,
    down: bool,
    /// When the responder was created (half-open ones are reaped after [`HALF_OPEN_FOR`]).
    created: Instant,
}

/// A responder that has no ESP SA this long after main mode message 1 is dropped silently.
pub const HALF_OPEN_FOR: std::time::Duration = std::time::Duration::from_secs(30);
/// At most this many IKE peers on a server (live and half-open).
pub const MAX_PEERS: usize = 1024;

/// Does `b` look like main mode message 1 (responder cookie zero, exchange 2, message ID 0)?
fn is_main_mode_1(b: &[u8]) -> bool {
    b.len() >= 28 && b[8..16] == [0; 8] && b[18] == 2 && b[20..24] == [0; 4]
}

/// One end of L2TP/IPsec (see the module docs): a client with one peer, or a server with a
/// responder per initiator.
pub struct L2tpIpsec {
    cfg: Config,
    server: bool,
    rng: Box<dyn CryptoRngCore + Send>,
    peers: Vec<Peer>,
    by_spi: HashMap<u32, usize>,
    out: VecDeque<Datagram>,
    events: VecDeque<IpsecEvent>,
    stats: Stats,
    buf: Vec<u8>,
}

fn session_config(cfg: &Config, peer: SocketAddr) -> SessionConfig {
    let me = IpAddr::V4(cfg.local_ip);
    let mut c = SessionConfig::psk(
        &cfg.psk,
        Identity::Addr(me),
        Identity::Addr(me),
        Identity::Addr(peer.ip()),
    );
    c.transport = true;
    c.force_encap = true;
    c.local_addr = SocketAddr::new(me, PORT_IKE);
    c.remote_addr = peer;
    c.esp_lifetime = cfg.esp_lifetime;
    c
}

fn esp(k: &ChildKeys, inbound: bool, rng: &mut dyn CryptoRngCore) -> Option<EspSa> {
    let (spi, km) = if inbound {
        (k.spi_in, &k.keymat_in)
    } else {
        (k.spi_out, &k.keymat_out)
    };
    let elen = km.len().checked_sub(20)?;
    let p = EspParams {
        spi: u32::from_be_bytes(spi),
        encr: Encr::AesCbc(elen),
        enc_key: km[..elen].to_vec(),
        integ: Some(Integ::HmacSha1_96),
        integ_key: km[elen..].to_vec(),
        esn: false,
        replay_window: 64,
    };
    EspSa::new(&p, rng).ok()
}

impl L2tpIpsec {
    /// A client: the initiator towards `server` (its IKE port 500) starts now.
    pub fn client(
        cfg: Config,
        server: Ipv4Addr,
        now: Instant,
        mut rng: Box<dyn CryptoRngCore + Send>,
    ) -> Result<Self, String> {
        let to = SocketAddr::new(IpAddr::V4(server), PORT_IKE);
        let srng = rand_chacha::ChaCha20Rng::from_rng(&mut rng).map_err(|e| e.to_string())?;
        let ike = Session::initiator(session_config(&cfg, to), now, Box::new(srng))
            .map_err(|e| format!("ipsec: {e}"))?;
        let mut s = L2tpIpsec::new(cfg, false, rng);
        s.peers.push(Peer {
            key: to,
            ike,
            cky_i: [0; 8],
            addr_500: to,
            addr_4500: None,
            sa_in: None,
            sa_out: None,
            sa_in_old: None,
            down: false,
            created: now,
        });
        s.pump(0, now);
        Ok(s)
    }

    /// A server: a responder for every initiator that sends main mode message 1.
    pub fn server(cfg: Config, rng: Box<dyn CryptoRngCore + Send>) -> Self {
        L2tpIpsec::new(cfg, true, rng)
    }

    fn new(cfg: Config, server: bool, rng: Box<dyn CryptoRngCore + Send>) -> Self {
        L2tpIpsec {
            cfg,
            server,
            rng,
            peers: Vec::new(),
            by_spi: HashMap::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            buf: vec![0; 4096],
        }
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Peers with an installed ESP SA pair.
    pub fn sa_count(&self) -> usize {
        self.peers.iter().filter(|p| p.sa_out.is_some()).count()
    }

    /// The client's one peer has its SAs (L2TP may start).
    pub fn is_up(&self) -> bool {
        self.peers.first().is_some_and(|p| p.sa_out.is_some())
    }

    /// The next datagram to send (`now` as on every `poll_transmit`; the queue is filled by
    /// the inputs and timeouts).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Datagram> {
        let _ = now;
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<IpsecEvent> {
        self.events.pop_front()
    }

    /// The earliest IKE deadline (retransmission, keepalive, DPD).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .iter()
            .filter(|p| !p.down)
            .flat_map(|p| {
                let reap = (self.server && p.sa_out.is_none()).then(|| p.created + HALF_OPEN_FOR);
                p.ike.poll_timeout().into_iter().chain(reap)
            })
            .min()
    }

    /// Fire the IKE timers that are due; reap half-open responders.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.peers.len() {
            let p = &self.peers[i];
            if self.server
                && !p.down
                && p.sa_out.is_none()
                && now.saturating_duration_since(p.created) >= HALF_OPEN_FOR
            {
                self.down(i, "no ESP SA within 30 s".into());
                continue;
            }
            let p = &mut self.peers[i];
            if !p.down && p.ike.poll_timeout().is_some_and(|t| t <= now) {
                p.ike.handle_timeout(now);
                self.pump(i, now);
            }
        }
    }

    /// A UDP datagram received on our port `local_port` (500 or 4500) from `from`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local_port: u16,
        from: SocketAddr,
        b: &[u8],
    ) -> Input<'_> {
        let ike = if local_port == PORT_NATT {
            match classify_udp_encap(b) {
                UdpEncap::Keepalive => {
                    self.stats.keepalives += 1;
                    return Input::Consumed;
                }
                UdpEncap::Esp(e) => return self.esp_in(from, e),
                UdpEncap::Ike(m) => m,
                UdpEncap::Invalid => {
                    self.stats.ike_dropped += 1;
                    return Input::Consumed;
                }
            }
        } else {
            b
        };
        let Some(cky) = ike.get(..8).and_then(|c| <[u8; 8]>::try_from(c).ok()) else {
            self.stats.ike_dropped += 1;
            return Input::Consumed;
        };
        let i = match self.find_ike(cky) {
            Some(i) => i,
            None if self.server && local_port == PORT_IKE && is_main_mode_1(ike) => {
                if self.peers.len() >= MAX_PEERS && !self.peers.iter().any(|q| q.down) {
                    self.stats.ike_dropped += 1;
                    return Input::Consumed;
                }
                let srng = match rand_chacha::ChaCha20Rng::from_rng(&mut self.rng) {
                    Ok(r) => r,
                    Err(_) => return Input::Consumed,
                };
                let Ok(ike) = Session::responder(session_config(&self.cfg, from), Box::new(srng))
                else {
                    return Input::Consumed;
                };
                // A dead peer's slot is reused; the table stays bounded.
                let p = Peer {
                    key: from,
                    ike,
                    cky_i: cky,
                    addr_500: from,
                    addr_4500: None,
                    sa_in: None,
                    sa_out: None,
                    sa_in_old: None,
                    down: false,
                    created: now,
                };
                if let Some(j) = self.peers.iter().position(|q| q.down) {
                    self.forget_spis(j);
                    self.peers[j] = p;
                    j
                } else {
                    self.peers.push(p);
                    self.peers.len() - 1
                }
            }
            None => {
                self.stats.ike_dropped += 1;
                return Input::Consumed;
            }
        };
        let p = &mut self.peers[i];
        if p.cky_i == [0; 8] {
            p.cky_i = cky;
        }
        let dropped = p.ike.stats().dropped;
        let fresh = p.sa_out.is_none() && p.ike.stats() == Default::default() && self.server;
        p.ike.handle_datagram(now, local_port, b);
        if fresh && p.ike.stats().dropped != dropped {
            // A new responder whose first message was refused: forget it at once.
            p.down = true;
            self.stats.ike_dropped += 1;
            return Input::Consumed;
        }
        if p.ike.stats().dropped == dropped {
            if local_port == PORT_NATT {
                p.addr_4500 = Some(from);
            } else {
                p.addr_500 = from;
            }
        }
        self.pump(i, now);
        Input::Consumed
    }

    fn find_ike(&self, cky: [u8; 8]) -> Option<usize> {
        if !self.server {
            return (!self.peers.is_empty()).then_some(0);
        }
        self.peers.iter().position(|p| !p.down && p.cky_i == cky)
    }

    fn forget_spis(&mut self, j: usize) {
        self.by_spi.retain(|_, v| *v != j);
    }

    fn esp_in(&mut self, from: SocketAddr, e: &[u8]) -> Input<'_> {
        let Some(&i) = spi_of(e).and_then(|s| self.by_spi.get(&s)) else {
            self.stats.esp_dropped += 1;
            return Input::Consumed;
        };
        let p = &mut self.peers[i];
        let spi = spi_of(e);
        let Some(sa) = [p.sa_in.as_mut(), p.sa_in_old.as_mut()]
            .into_iter()
            .flatten()
            .find(|sa| Some(sa.spi()) == spi)
        else {
            self.stats.esp_dropped += 1;
            return Input::Consumed;
        };
        if self.buf.len() < e.len() {
            self.buf.resize(e.len(), 0);
        }
        let buf = &mut self.buf[..e.len()];
        buf.copy_from_slice(e);
        let Ok(d) = sa.decapsulate_in_place(buf) else {
            self.stats.esp_dropped += 1;
            return Input::Consumed;
        };
        p.addr_4500 = Some(from);
        let inner = &self.buf[d.payload];
        // UDP header: source port, destination port, length, checksum.
        if d.next_header != 17
            || inner.len() < 8
            || inner[..4] != [0x06, 0xa5, 0x06, 0xa5]
            || usize::from(u16::from_be_bytes([inner[4], inner[5]])) != inner.len()
        {
            self.stats.esp_not_l2tp += 1;
            return Input::Consumed;
        }
        self.stats.esp_in += 1;
        Input::L2tp {
            key: p.key,
            payload: &inner[8..],
        }
    }

    /// Send one L2TP datagram to the peer `key` inside ESP. Returns false (and counts
    /// [`Stats::no_sa`]) when the peer has no SA yet.
    pub fn send_l2tp(&mut self, key: SocketAddr, l2tp: &[u8]) -> bool {
        let Some(p) = self.peers.iter_mut().find(|p| p.key == key && !p.down) else {
            self.stats.no_sa += 1;
            return false;
        };
        let (Some(sa), Some(to)) = (p.sa_out.as_mut(), p.addr_4500) else {
            self.stats.no_sa += 1;
            return false;
        };
        let mut udp = Vec::with_capacity(8 + l2tp.len());
        udp.extend(L2TP_PORT.to_be_bytes());
        udp.extend(L2TP_PORT.to_be_bytes());
        udp.extend(((8 + l2tp.len()) as u16).to_be_bytes());
        udp.extend([0, 0]);
        udp.extend_from_slice(l2tp);
        let mut out = vec![0u8; sa.encapsulated_len(udp.len())];
        let Ok(n) = sa.encapsulate(17, &udp, &mut out) else {
            self.stats.no_sa += 1;
            return false;
        };
        out.truncate(n);
        self.stats.esp_out += 1;
        self.out.push_back(Datagram {
            local_port: PORT_NATT,
            to,
            payload: out,
        });
        true
    }

    /// A live IPsec peer has this key (the LNS's reply to it goes inside ESP).
    pub fn is_peer(&self, key: SocketAddr) -> bool {
        self.peers.iter().any(|p| p.key == key && !p.down)
    }

    /// The client's one peer key (its L2TP datagrams go there).
    pub fn client_key(&self) -> Option<SocketAddr> {
        self.peers.first().map(|p| p.key)
    }

    /// Send Deletes for every SA (clean shutdown).
    pub fn close(&mut self, now: Instant) {
        for i in 0..self.peers.len() {
            if !self.peers[i].down {
                self.peers[i].ike.close_and_delete();
                self.pump(i, now);
            }
        }
    }

    /// Move the session's output and events out; install SAs.
    fn pump(&mut self, i: usize, now: Instant) {
        let p = &mut self.peers[i];
        while let Some(t) = p.ike.poll_transmit(now) {
            let to = if t.remote_port == PORT_NATT {
                p.addr_4500
                    .unwrap_or(SocketAddr::new(p.addr_500.ip(), PORT_NATT))
            } else {
                p.addr_500
            };
            if t.remote_port == PORT_NATT && p.addr_4500.is_none() {
                p.addr_4500 = Some(to);
            }
            self.out.push_back(Datagram {
                local_port: t.local_port,
                to,
                payload: t.payload,
            });
        }
        let key = p.key;
        while let Some(e) = self.peers[i].ike.poll_event() {
            match e {
                SessionEvent::ChildUp(k) => {
                    let (sin, sout) = (
                        esp(&k, true, &mut *self.rng),
                        esp(&k, false, &mut *self.rng),
                    );
                    let p = &mut self.peers[i];
                    if let (Some(a), Some(b)) = (sin, sout) {
                        let (spi_in, spi_out) = (a.spi(), b.spi());
                        self.by_spi.insert(spi_in, i);
                        // A rekey: the successor sends from now on; the old inbound SA
                        // stays until the session retires it.
                        let rekeyed = p.sa_in.is_some();
                        if let Some(old) = p.sa_in_old.replace(a) {
                            self.by_spi.remove(&old.spi());
                        }
                        std::mem::swap(&mut p.sa_in, &mut p.sa_in_old);
                        if !rekeyed {
                            p.sa_in_old = None;
                        }
                        p.sa_out = Some(b);
                        self.events.push_back(IpsecEvent::Up {
                            key,
                            spi_in,
                            spi_out,
                            udp_encap: k.udp_encap,
                            rekeyed,
                        });
                    }
                }
                SessionEvent::Failed(r) => self.down(i, r.to_string()),
                SessionEvent::PeerDead => self.down(i, "dead peer (DPD)".into()),
                SessionEvent::Deleted => self.down(i, "ISAKMP SA deleted by the peer".into()),
                ev @ (SessionEvent::ChildDeleted(..) | SessionEvent::ChildExpired(..)) => {
                    let spi_in = match &ev {
                        SessionEvent::ChildDeleted(i, _) | SessionEvent::ChildExpired(i, _) => *i,
                        _ => [0; 4],
                    };
                    // A pair a rekey replaced goes quietly. The current pair gone (the peer
                    // deleted it, or it expired with no successor): L2TP has no SA until
                    // a new quick mode; the ISAKMP SA may live on.
                    let spi = u32::from_be_bytes(spi_in);
                    let p = &mut self.peers[i];
                    if p.sa_in_old.as_ref().is_some_and(|sa| sa.spi() == spi) {
                        p.sa_in_old = None;
                        self.by_spi.remove(&spi);
                    } else if p.sa_in.as_ref().is_some_and(|sa| sa.spi() == spi) {
                        p.sa_in = None;
                        p.sa_out = None;
                        p.sa_in_old = None;
                        self.forget_spis(i);
                    }
                    self.events.push_back(IpsecEvent::Ike { key, event: ev });
                }
                other => self.events.push_back(IpsecEvent::Ike { key, event: other }),
            }
        }
    }

    fn down(&mut self, i: usize, reason: String) {
        let p = &mut self.peers[i];
        if p.down {
            return;
        }
        p.down = true;
        p.sa_in = None;
        p.sa_out = None;
        let key = p.key;
        self.forget_spis(i);
        self.events.push_back(IpsecEvent::Down { key, reason });
    }
}

/// The two UDP sockets of the process (500 and 4500; other ports for tests), non-blocking.
pub struct IpsecSockets {
    /// The IKE socket (nominal port 500).
    pub ike: UdpSocket,
    /// The NAT-T socket (nominal port 4500): IKE after the marker, ESP, keepalives.
    pub natt: UdpSocket,
}

impl IpsecSockets {
    /// Bind `ip:500` and `ip:4500`.
    pub fn bind(ip: IpAddr) -> Result<Self, String> {
        let b = |port| {
            let s = UdpSocket::bind(SocketAddr::new(ip, port))
                .map_err(|e| format!("ipsec: bind {ip}:{port}: {e}"))?;
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok::<_, String>(s)
        };
        Ok(IpsecSockets {
            ike: b(PORT_IKE)?,
            natt: b(PORT_NATT)?,
        })
    }

    /// Send everything the driver has queued.
    pub fn flush(&self, d: &mut L2tpIpsec, now: Instant) {
        self.flush_recorded(d, now, Ipv4Addr::UNSPECIFIED, &mut |_, _, _| {});
    }

    /// As [`IpsecSockets::flush`], handing each datagram to `record` first as (from, to,
    /// payload), `from` being `me` and the port sent from (for a pcap).
    pub fn flush_recorded(
        &self,
        d: &mut L2tpIpsec,
        now: Instant,
        me: Ipv4Addr,
        record: &mut dyn FnMut(SocketAddr, SocketAddr, &[u8]),
    ) {
        while let Some(g) = d.poll_transmit(now) {
            record(
                SocketAddr::new(IpAddr::V4(me), g.local_port),
                g.to,
                &g.payload,
            );
            let s = if g.local_port == PORT_NATT {
                &self.natt
            } else {
                &self.ike
            };
            let _ = s.send_to(&g.payload, g.to);
        }
    }

    /// One waiting datagram from either socket: (our nominal port, source, length).
    pub fn recv(&self, buf: &mut [u8]) -> Option<(u16, SocketAddr, usize)> {
        if let Ok((n, from)) = self.natt.recv_from(buf) {
            return Some((PORT_NATT, from, n));
        }
        self.ike
            .recv_from(buf)
            .ok()
            .map(|(n, from)| (PORT_IKE, from, n))
    }
}

/// The IPv4 address this host would use towards `peer` (a connected UDP socket's local
/// address; nothing is sent).
pub fn local_ip_towards(peer: Ipv4Addr) -> Result<Ipv4Addr, String> {
    let s = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    s.connect((peer, 9))
        .map_err(|e| format!("route to {peer}: {e}"))?;
    match s.local_addr().map_err(|e| e.to_string())?.ip() {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err("no IPv4 route".into()),
    }
}
