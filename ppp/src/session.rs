//! [`Session`]: one PPP link in either role, with the full sans-IO surface.

use crate::aaa::{CredentialStore, Lookup, UseEncryption, UserAttributes, Verdict};
use crate::auth::{verify_with_password, AuthClient, AuthServer, ClientOutcome, ServerOutcome};
use crate::bcp::{Bcp, BcpNegotiated, BridgedFrame};
use crate::ccp::Ccp;
use crate::config::{AuthMethod, Config, Role};
use crate::cp::{Cp, CpCounters, Ctx, Negotiator, Note, Signal};
use crate::error::{BufferTooSmall, ConfigError, Error};
use crate::event::{AuthProof, AuthRequest, Event, Ipv4Info, Phase, Status, TerminateReason};
use crate::fsm::{Event as Ev, State};
use crate::lcp::{Lcp, LcpNegotiated};
use crate::mp::{
    self, FragmentDrop, Fragmenter, Limits, Reassembler, ReassemblyCounters, SeqFormat,
};
use crate::mppe::{self, Decryptor, DropReason, Encryptor};
use crate::mschap::MsChapKeys;
use crate::ncp::{Ipcp, Ipv6cp};
use crate::wire::{self, cp::code, hdlc, protocol, Frame};
use rand_core::{CryptoRng, RngCore};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What [`Session::handle_frame`] found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input<'a> {
    /// A control packet, consumed by the session (poll for transmits and events).
    Control,
    /// A network-layer datagram for the application (IPv4 0x0021, IPv6 0x0057).
    Datagram {
        /// PPP protocol number.
        protocol: u16,
        /// The datagram (borrowed from the input).
        payload: &'a [u8],
    },
    /// Discarded without reply (protocol not open, phase not reached); counted.
    Dropped,
    /// An MPPE packet given to [`Session::handle_frame`] (which cannot decrypt a shared
    /// slice in place) was decrypted into the session's receive buffer: the datagram is
    /// [`Session::decrypted`]. [`Session::handle_frame_mut`] returns
    /// [`Input::Datagram`] instead.
    Decrypted {
        /// PPP protocol number of the datagram.
        protocol: u16,
    },
    /// An MPPE packet dropped (corrupt header, coherency jump, waiting for a flush); counted
    /// in [`Session::mppe_counters`].
    MppeDropped(DropReason),
    /// Multilink (RFC 1990): an MP fragment completed a packet, now in
    /// [`Session::reassembled`]. More packets may have completed with it: call
    /// [`Session::poll_reassembled`] until `None`.
    Reassembled {
        /// PPP protocol number of the datagram.
        protocol: u16,
    },
    /// Multilink: an MP fragment was buffered (its packet is not complete yet), or it
    /// completed a packet that was then dropped (counted).
    Fragment,
    /// A bridged LAN frame (protocol 0x0031, BCP open), borrowed from the input. Put
    /// [`BridgedFrame::to_ethernet`] on the bridge. (Bridged frames that arrive inside MPPE
    /// or MP come back as [`Input::Datagram`] / [`Input::Decrypted`] / [`Input::Reassembled`]
    /// with protocol 0x0031: decode them with [`BridgedFrame::parse`].)
    Bridged(BridgedFrame<'a>),
    /// Multilink: the MP fragment itself was dropped (counted in [`Session::mp_counters`]).
    FragmentDropped(FragmentDrop),
}

/// CCP/MPPE counters ([`Session::mppe_counters`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MppeCounters {
    /// Packets encrypted.
    pub tx_packets: u64,
    /// Packets decrypted.
    pub rx_packets: u64,
    /// MPPE packets dropped (any [`DropReason`]).
    pub rx_dropped: u64,
    /// Cleartext datagrams dropped because encryption is up or required.
    pub cleartext_dropped: u64,
    /// CCP Reset-Requests sent (stateful resynchronisation).
    pub reset_requests_sent: u64,
    /// CCP Reset-Requests received (each one flushes our sender).
    pub reset_requests_received: u64,
    /// CCP Reset-Acks received.
    pub reset_acks_received: u64,
    /// Resynchronisations completed by our receiver.
    pub resyncs: u64,
}

/// CCP and MPPE of a session (boxed: sessions without encryption carry none of it).
struct Encryption {
    ccp: Cp<Ccp>,
    tx: Option<Encryptor>,
    rx: Option<Decryptor>,
    /// CCP finished negotiating (opened, or failed/rejected): datagrams may flow.
    settled: bool,
    last_reset_request: Option<Instant>,
    counters: MppeCounters,
    /// Receive buffer of [`Session::handle_frame`] for MPPE packets (reused).
    scratch: Vec<u8>,
    scratch_range: (usize, usize),
    /// A Reset-Request is to be sent (the receiver lost coherency).
    reset_wanted: bool,
    /// Packets dropped while waiting for the flush since the last Reset-Request.
    awaiting_drops: u32,
}

/// Stateful MPPE: packets dropped while waiting for the flush before the Reset-Request is
/// repeated (the request, or the flushed packet answering it, may have been lost). A
/// repetition costs the peer one re-initialisation of RC4, so a small number is cheap.
const RESET_RETRY_DROPS: u32 = 4;

/// Multilink state of a session whose LCP negotiated MRRU both ways (boxed: most sessions
/// carry none).
struct Multilink {
    tx: Fragmenter,
    rx: Reassembler,
    /// The peer's MRRU: the largest reconstructed information field we may send.
    peer_mrru: u16,
    /// Where the datagram of the last [`Input::Reassembled`] lies in the reassembler's buffer.
    rx_range: (usize, usize),
    /// Transmit buffers, reused: the reconstructed packet and one fragment frame.
    packet: Vec<u8>,
    frame: Vec<u8>,
}

/// How datagrams go out right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Clear,
    Encrypt,
    Hold,
}

/// Per-session counters (accounting and diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames received (all protocols, parse succeeded).
    pub rx_frames: u64,
    /// Frames queued for transmission by the session (control) or encapsulated (data).
    pub tx_frames: u64,
    /// Data packets received (IPv4/IPv6).
    pub rx_packets: u64,
    /// Data octets received (network-layer datagrams).
    pub rx_bytes: u64,
    /// Data packets sent.
    pub tx_packets: u64,
    /// Data octets sent.
    pub tx_bytes: u64,
    /// Malformed frames or packets dropped.
    pub malformed: u64,
    /// Well-formed frames dropped (protocol not open, wrong phase).
    pub dropped: u64,
    /// Protocol-Rejects sent.
    pub protocol_rejects_sent: u64,
    /// LCP Echo-Requests sent by the keepalive.
    pub echo_requests_sent: u64,
}

struct Keepalive {
    probes: u32,
    next: Option<Instant>,
}

/// L2TP proxy authentication type (RFC 2661 s4.4.5 Proxy Authen Type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyAuthType {
    /// 1: textual username/password exchange.
    Text,
    /// 2: PPP CHAP.
    Chap,
    /// 3: PPP PAP.
    Pap,
    /// 4: no authentication.
    NoAuth,
    /// 5: Microsoft CHAP version 1.
    MsChap1,
}

/// Credentials a LAC collected (RFC 2661 Proxy Authen Name/Challenge/ID/Response AVPs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAuth {
    /// Proxy Authen Type.
    pub kind: ProxyAuthType,
    /// Proxy Authen Name.
    pub name: String,
    /// Proxy Authen Challenge.
    pub challenge: Vec<u8>,
    /// Proxy Authen ID.
    pub id: u8,
    /// Proxy Authen Response (PAP: the password; CHAP: the 16-octet response; MS-CHAPv1: the
    /// 49-octet response value).
    pub response: Vec<u8>,
}

impl ProxyAuth {
    /// The proxy authentication AVPs for the credentials of `req` (LAC role, RFC 2661
    /// s4.4.5): PAP and CHAP-MD5 as collected; MS-CHAPv1 as its 49-octet response value.
    /// `None` for MS-CHAPv2 and EAP, which RFC 2661 cannot proxy (the LNS then challenges
    /// the client itself).
    pub fn from_request(req: &AuthRequest) -> Option<Self> {
        let (kind, challenge, id, response) = match (&req.proof, req.method) {
            (AuthProof::Pap { password }, AuthMethod::Pap) => {
                (ProxyAuthType::Pap, Vec::new(), 0, password.clone())
            }
            (
                AuthProof::Chap {
                    id,
                    challenge,
                    response,
                },
                AuthMethod::Chap,
            ) => (
                ProxyAuthType::Chap,
                challenge.clone(),
                *id,
                response.clone(),
            ),
            (
                AuthProof::MsChap1 {
                    challenge,
                    nt_response,
                },
                AuthMethod::MsChap1,
            ) => {
                let mut v = vec![0u8; 24];
                v.extend_from_slice(nt_response);
                v.push(1);
                (ProxyAuthType::MsChap1, challenge.to_vec(), 0, v)
            }
            _ => return None,
        };
        Some(ProxyAuth {
            kind,
            name: req.user.clone(),
            challenge,
            id,
            response,
        })
    }
}

/// LCP state a LAC negotiated with the client (RFC 2661 s4.4.5 proxy LCP AVPs). Each field is
/// the option list of the Configure-Request (starting at the first option, no header).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxyLcp {
    /// Initial Received LCP CONFREQ (informational).
    pub initial_received: Option<Vec<u8>>,
    /// Last Sent LCP CONFREQ (what the LAC asked the client for).
    pub last_sent: Vec<u8>,
    /// Last Received LCP CONFREQ (what the client asked for).
    pub last_received: Vec<u8>,
    /// Proxy authentication, if the LAC collected credentials.
    pub auth: Option<ProxyAuth>,
}

/// One PPP link (LCP, authentication, IPCP, IPv6CP, CCP/MPPE) in either role.
///
/// # Contract
/// * **Inputs** (`handle_*`, mutators): [`Session::open`], [`Session::start_proxy`],
///   [`Session::handle_frame`] (one PPP frame, with or without `FF 03`), [`Session::handle_timeout`],
///   [`Session::auth_verdict`], [`Session::close`], [`Session::lower_down`].
/// * **Outputs**: after every input, drain [`Session::poll_transmit`] (or
///   [`Session::poll_transmit_hdlc`] on async serial links) and [`Session::poll_event`] until
///   `None`, then arm a timer for [`Session::poll_timeout`].
/// * **Data path**: [`Session::encapsulate`] writes an IP datagram as a PPP frame into a caller
///   buffer (MPPE-encrypted once [`Event::EncryptionUp`] was reported); received datagrams
///   come back from `handle_frame` as [`Input::Datagram`] borrowing the input. With MPPE, use
///   [`Session::handle_frame_mut`], which decrypts in place and still returns
///   [`Input::Datagram`]; `handle_frame` returns [`Input::Decrypted`] for those
///   ([`Session::decrypted`]).
/// * `now` must never go backwards. Nothing here blocks, reads a clock or does I/O.
pub struct Session {
    cfg: Arc<Config>,
    role: Role,
    rng: Box<dyn RngCore + Send>,
    lcp: Cp<Lcp>,
    ipcp: Cp<Ipcp>,
    ipv6cp: Cp<Ipv6cp>,
    bcp: Cp<Bcp>,
    phase: Phase,
    status: Status,
    // Boxed: an idle session carries neither (keeps `Session` small for hosts).
    auth_client: Option<Box<AuthClient>>,
    auth_server: Option<Box<AuthServer>>,
    auth_deadline: Option<Instant>,
    eap_success: Option<Box<(String, Option<Box<MsChapKeys>>)>>,
    store: Option<Box<dyn CredentialStore + Send>>,
    user: String,
    attrs: UserAttributes,
    admitted: bool,
    tx: VecDeque<(u16, Vec<u8>)>,
    events: VecDeque<Event>,
    last_rx: Instant,
    last_data: Instant,
    ka: Keepalive,
    network_up_at: Option<Instant>,
    uptime_before: Duration,
    terminating: Option<(TerminateReason, bool)>,
    ended: bool,
    counters: Counters,
    keys: Option<Box<MsChapKeys>>,
    enc: Option<Box<Encryption>>,
    mp: Option<Box<Multilink>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("phase", &self.phase)
            .field("status", &self.status)
            .field("lcp", &self.lcp.state())
            .field("ipcp", &self.ipcp.state())
            .field("ipv6cp", &self.ipv6cp.state())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session in the Dead phase. `rng` supplies Magic-Numbers, challenges and identifiers.
    pub fn new<R>(config: Config, role: Role, now: Instant, rng: R) -> Result<Self, ConfigError>
    where
        R: RngCore + CryptoRng + Send + 'static,
    {
        Self::with_shared_config(Arc::new(config), role, now, rng)
    }

    /// Like [`Session::new`], with a configuration shared by many sessions (a host keeps one
    /// `Arc<Config>` for all of its sessions).
    pub fn with_shared_config<R>(
        config: Arc<Config>,
        role: Role,
        now: Instant,
        rng: R,
    ) -> Result<Self, ConfigError>
    where
        R: RngCore + CryptoRng + Send + 'static,
    {
        config.validate()?;
        let timers = config.timers;
        Ok(Session {
            lcp: Cp::new(protocol::LCP, timers, Lcp::new(&config, role)),
            ipcp: Cp::new(protocol::IPCP, timers, Ipcp::new(&config, role)),
            ipv6cp: Cp::new(protocol::IPV6CP, timers, Ipv6cp::new(&config)),
            bcp: Cp::new(protocol::BCP, timers, Bcp::new()),
            cfg: config,
            role,
            rng: Box::new(rng),
            phase: Phase::Dead,
            status: Status::Disconnected,
            auth_client: None,
            auth_server: None,
            auth_deadline: None,
            eap_success: None,
            store: None,
            user: String::new(),
            attrs: UserAttributes::default(),
            admitted: false,
            tx: VecDeque::new(),
            events: VecDeque::new(),
            last_rx: now,
            last_data: now,
            ka: Keepalive {
                probes: 0,
                next: None,
            },
            network_up_at: None,
            uptime_before: Duration::ZERO,
            terminating: None,
            ended: false,
            counters: Counters::default(),
            keys: None,
            enc: None,
            mp: None,
        })
    }

    /// Attach a credential store; a server consults it synchronously before asking the
    /// application through [`Event::AuthRequested`].
    pub fn set_credential_store(&mut self, store: Box<dyn CredentialStore + Send>) {
        self.store = Some(store);
    }

    // ----- getters -----

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// The RFC 1661 phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }
    /// The RouterOS monitor status.
    pub fn status(&self) -> Status {
        self.status
    }
    /// LCP automaton state.
    pub fn lcp_state(&self) -> State {
        self.lcp.state()
    }
    /// IPCP automaton state.
    pub fn ipcp_state(&self) -> State {
        self.ipcp.state()
    }
    /// IPv6CP automaton state.
    pub fn ipv6cp_state(&self) -> State {
        self.ipv6cp.state()
    }
    /// BCP automaton state.
    pub fn bcp_state(&self) -> State {
        self.bcp.state()
    }
    /// What BCP negotiated (meaningful once [`Event::BridgeUp`] was reported).
    pub fn bcp_negotiated(&self) -> &BcpNegotiated {
        &self.bcp.neg.neg
    }
    /// What LCP negotiated.
    pub fn lcp_negotiated(&self) -> &LcpNegotiated {
        &self.lcp.neg.neg
    }
    /// Effective MTU towards the peer: min(peer MRU, max-mtu) (RouterOS "actual-mtu"), or the
    /// peer's MRRU once Multilink is negotiated (larger datagrams go out as MP fragments);
    /// less the 4 octets of MPPE overhead while MPPE is up.
    pub fn mtu(&self) -> u16 {
        let m = match self.mp.as_ref() {
            Some(mp) => mp.peer_mrru,
            None => self.lcp.neg.neg.peer_mru.min(self.cfg.max_mtu),
        };
        if self.mppe_up() {
            m.saturating_sub(mppe::OVERHEAD as u16)
        } else {
            m
        }
    }
    /// The MTU of the link itself, min(peer MRU, max-mtu) less MPPE overhead: datagrams up to
    /// this size go out as plain frames; with Multilink, larger ones (up to [`Session::mtu`])
    /// are fragmented.
    pub fn link_mtu(&self) -> u16 {
        let m = self.lcp.neg.neg.peer_mru.min(self.cfg.max_mtu);
        if self.mppe_up() {
            m.saturating_sub(mppe::OVERHEAD as u16)
        } else {
            m
        }
    }
    /// Multilink (RFC 1990) is in effect on this link.
    pub fn multilink(&self) -> bool {
        self.mp.is_some()
    }
    /// Multilink reassembly counters (`None` without Multilink).
    pub fn mp_counters(&self) -> Option<ReassemblyCounters> {
        self.mp.as_ref().map(|m| m.rx.counters())
    }
    /// Fragments buffered by the Multilink reassembler now (0 without Multilink).
    pub fn mp_buffered_fragments(&self) -> usize {
        self.mp.as_ref().map_or(0, |m| m.rx.buffered_fragments())
    }
    /// The datagram an [`Input::Reassembled`] or [`Session::poll_reassembled`] announced
    /// (empty otherwise).
    pub fn reassembled(&self) -> &[u8] {
        self.mp
            .as_ref()
            .and_then(|m| m.rx.packet().get(m.rx_range.0..m.rx_range.1))
            .unwrap_or(&[])
    }
    /// The next further packet reassembled by the last MP fragment (see
    /// [`Input::Reassembled`]): its protocol, with the datagram in [`Session::reassembled`].
    pub fn poll_reassembled(&mut self, now: Instant) -> Option<u16> {
        self.mp_deliver(now)
    }
    /// CCP automaton state (`Initial` when CCP never started).
    pub fn ccp_state(&self) -> State {
        self.enc
            .as_ref()
            .map(|e| e.ccp.state())
            .unwrap_or(State::Initial)
    }
    /// True while MPPE encrypts in both directions.
    pub fn mppe_up(&self) -> bool {
        self.enc
            .as_ref()
            .is_some_and(|e| e.tx.is_some() && e.rx.is_some())
    }
    /// The RouterOS `encoding` string while MPPE is up (`MPPE128 stateless`; `<send>/<receive>`
    /// when the directions differ).
    pub fn encoding(&self) -> Option<String> {
        let e = self.enc.as_ref()?;
        let (t, r) = (e.tx.as_ref()?.params(), e.rx.as_ref()?.params());
        Some(if t == r {
            t.encoding()
        } else {
            format!("{}/{}", t.encoding(), r.encoding())
        })
    }
    /// CCP/MPPE counters (zero when CCP never ran).
    pub fn mppe_counters(&self) -> MppeCounters {
        self.enc.as_ref().map(|e| e.counters).unwrap_or_default()
    }
    /// The datagram an [`Input::Decrypted`] announced (empty otherwise).
    pub fn decrypted(&self) -> &[u8] {
        self.enc
            .as_ref()
            .and_then(|e| e.scratch.get(e.scratch_range.0..e.scratch_range.1))
            .unwrap_or(&[])
    }
    /// Effective MRU (what the peer acknowledged; RouterOS "actual-mru").
    pub fn mru(&self) -> u16 {
        self.lcp.neg.neg.mru
    }
    /// ACCM to use when async-HDLC-encoding a frame of `protocol` (LCP always uses the default
    /// map, RFC 1662 s7.1).
    pub fn tx_accm(&self, protocol: u16) -> u32 {
        if protocol == protocol::LCP || self.lcp.state() != State::Opened {
            hdlc::DEFAULT_ACCM
        } else {
            self.lcp.neg.neg.tx_accm
        }
    }
    /// IPCP result once open.
    pub fn ipv4(&self) -> Option<Ipv4Info> {
        (self.ipcp.state() == State::Opened).then(|| self.ipv4_info())
    }
    /// Authenticated (server) or authenticating (client) user name.
    pub fn user(&self) -> &str {
        &self.user
    }
    /// Attributes applied to this session (server).
    pub fn attributes(&self) -> &UserAttributes {
        &self.attrs
    }
    /// MS-CHAP key material after a successful MS-CHAP exchange.
    pub fn mschap_keys(&self) -> Option<&MsChapKeys> {
        self.keys.as_deref()
    }
    /// Counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// Control-protocol counters (LCP, IPCP, IPv6CP).
    pub fn cp_counters(&self) -> [CpCounters; 3] {
        [self.lcp.counters, self.ipcp.counters, self.ipv6cp.counters]
    }
    /// Time spent in the network phase (accumulated over LCP renegotiations), for accounting.
    pub fn uptime(&self, now: Instant) -> Duration {
        self.uptime_before
            + self
                .network_up_at
                .map(|t| now.saturating_duration_since(t))
                .unwrap_or_default()
    }
    /// Time since the last data packet in either direction.
    pub fn idle_time(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_data)
    }
    /// When the last frame (any protocol) arrived: the keepalive idle reference.
    pub fn last_received(&self) -> Instant {
        self.last_rx
    }
    /// True once the session ended ([`Event::Terminated`] was emitted).
    pub fn is_ended(&self) -> bool {
        self.ended
    }
    /// Give back the memory of drained output queues (a host calls this for idle sessions;
    /// the queues grow again when needed).
    pub fn shrink_buffers(&mut self) {
        if self.tx.is_empty() && self.tx.capacity() > 0 {
            self.tx = VecDeque::new();
        }
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        if self.network_up_at.is_some() {
            // Past authentication: a LAC has forwarded by now, an LNS has settled.
            self.lcp.drop_proxy_state();
        }
    }
    /// LAC role: this (server) session's LCP as the proxy LCP AVPs of RFC 2661 s4.4.5 carry
    /// it (the client's first and last Configure-Request, ours that it acked). `None` until
    /// LCP is Opened. `auth` is left empty: see [`ProxyAuth::from_request`].
    pub fn proxy_lcp(&self) -> Option<ProxyLcp> {
        if self.lcp.state() != State::Opened {
            return None;
        }
        let (initial, sent, received) = self.lcp.proxy_view();
        Some(ProxyLcp {
            initial_received: initial.map(<[u8]>::to_vec),
            last_sent: sent.to_vec(),
            last_received: received?.to_vec(),
            auth: None,
        })
    }

    // ----- outputs -----

    /// Next frame to send (protocol field onward, with `FF 03` if the transport uses it).
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        self.tx.pop_front().map(|(_, f)| f)
    }

    /// Next frame to send, written into `buf`. `Err` leaves the frame queued.
    pub fn poll_transmit_into(
        &mut self,
        _now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let Some((_, f)) = self.tx.front() else {
            return Ok(None);
        };
        if buf.len() < f.len() {
            return Err(BufferTooSmall {
                need: f.len(),
                have: buf.len(),
            });
        }
        let n = f.len();
        buf[..n].copy_from_slice(f);
        self.tx.pop_front();
        Ok(Some(n))
    }

    /// Next frame, async-HDLC encoded (flags, escapes per ACCM, FCS) for serial/pty links.
    pub fn poll_transmit_hdlc(&mut self, _now: Instant) -> Option<Vec<u8>> {
        let (p, f) = self.tx.pop_front()?;
        let mut out = Vec::with_capacity(f.len() + 8);
        hdlc::encode(&f, self.tx_accm(p), &mut out);
        Some(out)
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.poll_event_untraced();
        trace_event!("ppp::session", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Earliest deadline at which [`Session::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.lcp.fsm.deadline(),
            self.ipcp.fsm.deadline(),
            self.ipv6cp.fsm.deadline(),
            self.bcp.fsm.deadline(),
            self.enc.as_ref().and_then(|e| e.ccp.fsm.deadline()),
            self.mp.as_ref().and_then(|m| m.rx.deadline()),
            self.auth_client.as_ref().and_then(|a| a.deadline()),
            self.auth_server.as_ref().and_then(|a| a.deadline()),
            self.auth_deadline,
            self.keepalive_deadline(),
            self.session_deadline(),
            self.idle_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- inputs -----

    /// Start the link: LCP Open + lower layer Up (the transport is connected).
    pub fn open(&mut self, now: Instant) {
        self.ended = false;
        self.uptime_before = Duration::ZERO;
        self.terminating = None;
        self.last_rx = now;
        self.last_data = now;
        self.with_ctx(now, |s, ctx| {
            // A session that ended sits in Closed or Stopped: take the lower layer down first
            // so Open + Up start a fresh negotiation.
            if !matches!(s.lcp.state(), State::Initial | State::Starting) {
                s.lcp.event(Ev::Down, ctx);
            }
            s.lcp.event(Ev::Open, ctx);
            s.lcp.event(Ev::Up, ctx);
        });
    }

    /// L2TP LNS: start the server side from the LCP state and credentials a LAC negotiated
    /// (RFC 2661 s4.4.5). If the proxied options are unacceptable, LCP is renegotiated with
    /// the client as if [`Session::open`] had been called.
    pub fn start_proxy(&mut self, now: Instant, proxy: ProxyLcp) {
        self.ended = false;
        self.terminating = None;
        self.last_rx = now;
        self.last_data = now;
        let mut ok = false;
        self.with_ctx(now, |s, ctx| {
            ok = s
                .lcp
                .neg
                .adopt_proxy(&proxy.last_sent, &proxy.last_received, ctx);
        });
        if !ok {
            self.open(now);
            return;
        }
        self.lcp.fsm.force_state(State::Opened);
        // A retransmission of the request the LAC acked is re-acked, not renegotiated.
        self.lcp.assume_acked(proxy.last_received.clone());
        self.set_phase(Phase::Establish);
        let auth = self.lcp.neg.neg.auth_peer;
        self.events.push_back(Event::LinkUp {
            mru: self.mru(),
            mtu: self.mtu(),
            auth,
        });
        let Some(method) = auth else {
            self.goto_network(now);
            return;
        };
        self.set_phase(Phase::Authenticate);
        self.set_status(Status::VerifyingPassword);
        self.auth_deadline = Some(now + self.cfg.auth_timeout);
        let mut srv = Box::new(AuthServer::new(&self.cfg, method));
        let proof = proxy.auth.as_ref().and_then(|a| match (a.kind, method) {
            (ProxyAuthType::Pap | ProxyAuthType::Text, AuthMethod::Pap) => Some(AuthProof::Pap {
                password: a.response.clone(),
            }),
            (ProxyAuthType::Chap, AuthMethod::Chap) => Some(AuthProof::Chap {
                id: a.id,
                challenge: a.challenge.clone(),
                response: a.response.clone(),
            }),
            (ProxyAuthType::MsChap1, AuthMethod::MsChap1) => Some(AuthProof::MsChap1 {
                challenge: a.challenge.as_slice().try_into().ok()?,
                nt_response: a.response.get(24..48)?.try_into().ok()?,
            }),
            _ => None,
        });
        match (proof, proxy.auth) {
            (Some(proof), Some(a)) => {
                let outcome = srv.proxy(a.name.as_bytes(), proof, a.id);
                self.auth_server = Some(srv);
                self.server_outcome(now, outcome);
            }
            _ => {
                let mut out = Vec::new();
                srv.start(now, &mut *self.rng, &mut out);
                self.auth_server = Some(srv);
                self.queue_all(out);
            }
        }
    }

    /// Administrative close: LCP Terminate-Request, then [`Event::Terminated`].
    pub fn close(&mut self, now: Instant, reason: &str) {
        self.terminate(now, TerminateReason::AdminClose(reason.to_string()), false);
    }

    /// The transport went down: no more frames can be exchanged.
    pub fn lower_down(&mut self, now: Instant) {
        self.finish_now(now, TerminateReason::LowerLayerDown, false);
    }

    /// Process one received PPP frame (protocol field onward; a leading `FF 03` is accepted).
    pub fn handle_frame<'a>(&mut self, now: Instant, frame: &'a [u8]) -> Result<Input<'a>, Error> {
        let f = match Frame::parse(frame) {
            Ok(f) => f,
            Err(e) => {
                self.counters.malformed += 1;
                return Err(e.into());
            }
        };
        self.counters.rx_frames += 1;
        self.last_rx = now;
        self.ka.probes = 0;
        self.ka.next = None;
        let lcp_open = self.lcp.state() == State::Opened;
        let p = f.protocol;
        let r = match p {
            protocol::LCP => {
                self.with_ctx(now, |s, ctx| s.lcp.input(f.payload, ctx));
                Input::Control
            }
            _ if !lcp_open => {
                self.counters.dropped += 1;
                Input::Dropped
            }
            protocol::PAP | protocol::CHAP | protocol::EAP => {
                self.auth_input(now, p, f.payload);
                Input::Control
            }
            protocol::CCP if self.use_encryption() != UseEncryption::No => {
                self.ccp_input(now, f.payload)
            }
            protocol::COMPRESSED if self.enc.as_ref().is_some_and(|e| e.rx.is_some()) => {
                // A shared slice cannot be decrypted in place: use the session's buffer.
                let mut enc = self.enc.take();
                let r = match enc.as_mut() {
                    Some(e) => {
                        let mut buf = std::mem::take(&mut e.scratch);
                        buf.clear();
                        buf.extend_from_slice(f.payload);
                        let r = self.mppe_decrypt(now, e, &mut buf);
                        if let Ok((p, off)) = r {
                            e.scratch_range = (off, buf.len());
                            e.counters.rx_packets += 1;
                            self.count_rx(now, buf.len() - off);
                            e.scratch = buf;
                            Input::Decrypted { protocol: p }
                        } else {
                            e.scratch = buf;
                            match r {
                                Err(Some(d)) => Input::MppeDropped(d),
                                _ => Input::Dropped,
                            }
                        }
                    }
                    None => Input::Dropped,
                };
                self.enc = enc;
                self.flush_reset_request(now);
                r
            }
            protocol::COMPRESSED if self.enc.is_some() => {
                // CCP is negotiating (or renegotiating): an early or late MPPE packet is
                // dropped, not Protocol-Rejected (that would tear CCP down at the peer).
                if let Some(e) = self.enc.as_mut() {
                    e.counters.rx_dropped += 1;
                }
                self.counters.dropped += 1;
                Input::MppeDropped(DropReason::NotNegotiated)
            }
            protocol::MP if self.mp.is_some() => self.mp_input(now, f.payload),
            protocol::IPCP if self.cfg.ipv4 => self.ncp_input(now, true, f.payload),
            protocol::IPV6CP if self.cfg.ipv6 => self.ncp_input(now, false, f.payload),
            protocol::BCP if self.bridge().is_some() => self.bcp_input(now, f.payload),
            protocol::BRIDGED_ETHERNET if self.bridge().is_some() => {
                if self.bcp.state() != State::Opened {
                    self.counters.dropped += 1;
                    return Ok(Input::Dropped);
                }
                if self.cleartext_forbidden() {
                    if let Some(e) = self.enc.as_mut() {
                        e.counters.cleartext_dropped += 1;
                    }
                    self.counters.dropped += 1;
                    return Ok(Input::Dropped);
                }
                match BridgedFrame::parse(f.payload) {
                    Ok(b) => {
                        self.count_rx(now, f.payload.len());
                        return Ok(Input::Bridged(b));
                    }
                    Err(_) => {
                        self.counters.dropped += 1;
                        Input::Dropped
                    }
                }
            }
            protocol::IPV4 | protocol::IPV6 => {
                let open = if p == protocol::IPV4 {
                    self.ipcp.state() == State::Opened
                } else {
                    self.ipv6cp.state() == State::Opened
                };
                if open && self.cleartext_forbidden() {
                    // RFC 3078: once MPPE is up (or while it is required), cleartext is dropped.
                    if let Some(e) = self.enc.as_mut() {
                        e.counters.cleartext_dropped += 1;
                    }
                    self.counters.dropped += 1;
                    return Ok(Input::Dropped);
                }
                if open {
                    self.count_rx(now, f.payload.len());
                    return Ok(Input::Datagram {
                        protocol: p,
                        payload: f.payload,
                    });
                }
                self.counters.dropped += 1;
                Input::Dropped
            }
            _ => {
                // CCP, BCP, MP, compressed datagrams and unknown protocols are not enabled
                // (RFC 1661 s5.7). Future plug-ins (CCP/MPPE, MP, BCP) dispatch here.
                self.protocol_reject(now, p, f.payload);
                Input::Control
            }
        };
        Ok(r)
    }

    /// Like [`Session::handle_frame`], but an MPPE packet is decrypted in place in `frame`
    /// and comes back as [`Input::Datagram`] borrowing it: the allocation-free receive path.
    pub fn handle_frame_mut<'a>(
        &mut self,
        now: Instant,
        frame: &'a mut [u8],
    ) -> Result<Input<'a>, Error> {
        let off = match Frame::parse(frame) {
            Ok(f)
                if f.protocol == protocol::COMPRESSED
                    && self.lcp.state() == State::Opened
                    && self.enc.as_ref().is_some_and(|e| e.rx.is_some()) =>
            {
                frame.len() - f.payload.len()
            }
            _ => return self.handle_frame(now, frame),
        };
        self.counters.rx_frames += 1;
        self.last_rx = now;
        self.ka.probes = 0;
        self.ka.next = None;
        let mut enc = self.enc.take();
        let r = match enc.as_mut() {
            Some(e) => self.mppe_decrypt(now, e, &mut frame[off..]),
            None => Err(None),
        };
        if let (Ok(_), Some(e)) = (&r, enc.as_mut()) {
            e.counters.rx_packets += 1;
        }
        self.enc = enc;
        self.flush_reset_request(now);
        let frame: &'a [u8] = frame;
        Ok(match r {
            Ok((p, o)) => {
                let payload = frame.get(off + o..).unwrap_or(&[]);
                self.count_rx(now, payload.len());
                Input::Datagram {
                    protocol: p,
                    payload,
                }
            }
            Err(Some(d)) => Input::MppeDropped(d),
            Err(None) => Input::Dropped,
        })
    }

    /// Timers: call when [`Session::poll_timeout`]'s deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(m) = self.mp.as_mut() {
            if m.rx.deadline().is_some_and(|d| d <= now) {
                m.rx.expire(now);
            }
        }
        if self
            .enc
            .as_ref()
            .and_then(|e| e.ccp.fsm.deadline())
            .is_some_and(|d| d <= now)
        {
            self.with_ctx(now, |s, ctx| {
                if let Some(e) = s.enc.as_mut() {
                    e.ccp.handle_timeout(ctx);
                }
            });
        }
        if self.lcp.fsm.deadline().is_some_and(|d| d <= now) {
            self.with_ctx(now, |s, ctx| s.lcp.handle_timeout(ctx));
        }
        if self.ipcp.fsm.deadline().is_some_and(|d| d <= now) {
            self.with_ctx(now, |s, ctx| s.ipcp.handle_timeout(ctx));
        }
        if self.ipv6cp.fsm.deadline().is_some_and(|d| d <= now) {
            self.with_ctx(now, |s, ctx| s.ipv6cp.handle_timeout(ctx));
        }
        if self.bcp.fsm.deadline().is_some_and(|d| d <= now) {
            self.with_ctx(now, |s, ctx| s.bcp.handle_timeout(ctx));
        }
        if let Some(mut c) = self.auth_client.take() {
            let mut out = Vec::new();
            let o = c.handle_timeout(now, &mut out);
            self.auth_client = Some(c);
            self.queue_all(out);
            self.client_outcome(now, o);
        }
        if let Some(mut srv) = self.auth_server.take() {
            let mut out = Vec::new();
            let o = srv.handle_timeout(now, &mut out);
            self.auth_server = Some(srv);
            self.queue_all(out);
            self.server_outcome(now, o);
        }
        if self.auth_deadline.is_some_and(|d| d <= now) {
            self.auth_deadline = None;
            self.auth_failed(now, TerminateReason::AuthTimeout);
        }
        if self.keepalive_deadline().is_some_and(|d| d <= now) {
            self.keepalive_fire(now);
        }
        if self.session_deadline().is_some_and(|d| d <= now) {
            self.terminate(now, TerminateReason::SessionTimeout, false);
        }
        if self.idle_deadline().is_some_and(|d| d <= now) {
            self.terminate(now, TerminateReason::IdleTimeout, false);
        }
    }

    /// Answer an [`Event::AuthRequested`].
    pub fn auth_verdict(
        &mut self,
        now: Instant,
        request_id: u64,
        verdict: Verdict,
    ) -> Result<(), Error> {
        let pending = self
            .auth_server
            .as_ref()
            .and_then(|s| s.pending_request())
            .cloned();
        match pending {
            Some(req) if req.id == request_id => {
                self.apply_verdict(now, &req, verdict);
                Ok(())
            }
            _ => Err(Error::NoSuchRequest(request_id)),
        }
    }

    /// Encapsulate a datagram (IPv4 0x0021 or IPv6 0x0057) into `out` as a PPP frame using
    /// the negotiated framing (PFC/ACFC). Returns the frame length. A datagram larger than
    /// [`Session::link_mtu`] is refused with [`Error::TooBig`] even with Multilink: use
    /// [`Session::encapsulate_fragments`] (or [`Session::send_datagram`]) for those.
    pub fn encapsulate(
        &mut self,
        now: Instant,
        proto: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let open = self.data_open(proto);
        if !open {
            return Err(Error::NotOpen(proto));
        }
        let gate = self.gate();
        if gate == Gate::Hold {
            // CCP is still negotiating, or encryption is required and not up: nothing
            // leaves in clear.
            return Err(Error::NotOpen(proto));
        }
        let mtu = usize::from(self.link_mtu());
        if payload.len() > mtu {
            return Err(Error::TooBig {
                len: payload.len(),
                mtu,
            });
        }
        let len = if gate == Gate::Encrypt {
            let (ac, pfc) = self.framing(protocol::COMPRESSED);
            let inner = Encryptor::output_len(payload.len());
            let hl = wire::write_header(protocol::COMPRESSED, ac, pfc, inner, out)?;
            let e = self
                .enc
                .as_mut()
                .and_then(|e| e.tx.as_mut())
                .ok_or(Error::NotOpen(proto))?;
            let n = e.encrypt(proto, payload, &mut out[hl..])?;
            if let Some(e) = self.enc.as_mut() {
                e.counters.tx_packets += 1;
            }
            hl + n
        } else {
            let (ac, pfc) = self.framing(proto);
            let hl = wire::write_header(proto, ac, pfc, payload.len(), out)?;
            out[hl..hl + payload.len()].copy_from_slice(payload);
            hl + payload.len()
        };
        self.counters.tx_packets += 1;
        self.counters.tx_bytes += payload.len() as u64;
        self.counters.tx_frames += 1;
        self.last_data = now;
        Ok(len)
    }

    /// Queue a datagram for [`Session::poll_transmit`] (allocating convenience over
    /// [`Session::encapsulate_fragments`]).
    pub fn send_datagram(&mut self, now: Instant, proto: u16, payload: &[u8]) -> Result<(), Error> {
        let mut frames = Vec::new();
        self.encapsulate_fragments(now, proto, payload, |f| frames.push(f.to_vec()))?;
        let p = if frames.len() > 1 {
            protocol::MP
        } else {
            proto
        };
        self.tx.extend(frames.into_iter().map(|f| (p, f)));
        Ok(())
    }

    /// Queue an Ethernet frame (destination MAC, source MAC, type/length, data; no FCS) as a
    /// bridged frame (protocol 0x0031, MAC type 802.3, no flags; RFC 3518 s4) once
    /// [`Event::BridgeUp`] was reported. Like [`Session::send_datagram`] it is fragmented
    /// with Multilink and encrypted with MPPE; [`Error::NotOpen`] while BCP is not Opened.
    pub fn send_ethernet(&mut self, now: Instant, frame: &[u8]) -> Result<(), Error> {
        let mut p = Vec::with_capacity(frame.len() + 2);
        BridgedFrame::ethernet(frame).emit(&mut p);
        self.send_datagram(now, protocol::BRIDGED_ETHERNET, &p)
    }

    /// Encapsulate a datagram of up to [`Session::mtu`] octets: one plain frame when it fits
    /// [`Session::link_mtu`], else (Multilink only) MP fragments (protocol 0x003d, RFC 1990)
    /// each fitting the link. `emit` gets every frame in order, from a buffer the session
    /// reuses (no allocation per packet). Returns the number of frames.
    pub fn encapsulate_fragments(
        &mut self,
        now: Instant,
        proto: u16,
        payload: &[u8],
        mut emit: impl FnMut(&[u8]),
    ) -> Result<usize, Error> {
        let link = usize::from(self.link_mtu());
        let mtu = usize::from(self.mtu());
        let fragment = self.mp.is_some() && payload.len() > link;
        let Some(mut mp) = self.mp.take_if(|_| fragment) else {
            let mut frame = self
                .mp
                .as_mut()
                .map(|m| std::mem::take(&mut m.frame))
                .unwrap_or_default();
            frame.clear();
            frame.resize(payload.len() + 4 + mppe::OVERHEAD, 0);
            let r = self.encapsulate(now, proto, payload, &mut frame);
            if let Ok(n) = r {
                emit(&frame[..n]);
            }
            if let Some(m) = self.mp.as_mut() {
                m.frame = frame;
            }
            return r.map(|_| 1);
        };
        let r = self.mp_send(now, &mut mp, proto, payload, mtu, &mut emit);
        self.mp = Some(mp);
        r
    }

    fn mp_send(
        &mut self,
        now: Instant,
        mp: &mut Multilink,
        proto: u16,
        payload: &[u8],
        mtu: usize,
        emit: &mut impl FnMut(&[u8]),
    ) -> Result<usize, Error> {
        let open = self.data_open(proto);
        let gate = self.gate();
        if !open || gate == Gate::Hold {
            return Err(Error::NotOpen(proto));
        }
        if payload.len() > mtu {
            return Err(Error::TooBig {
                len: payload.len(),
                mtu,
            });
        }
        // The reconstructed packet: protocol field (uncompressed) and information.
        mp.packet.clear();
        if gate == Gate::Encrypt {
            let inner = Encryptor::output_len(payload.len());
            mp.packet
                .extend_from_slice(&protocol::COMPRESSED.to_be_bytes());
            mp.packet.resize(2 + inner, 0);
            let e = self
                .enc
                .as_mut()
                .and_then(|e| e.tx.as_mut())
                .ok_or(Error::NotOpen(proto))?;
            let n = e.encrypt(proto, payload, &mut mp.packet[2..])?;
            mp.packet.truncate(2 + n);
            if let Some(e) = self.enc.as_mut() {
                e.counters.tx_packets += 1;
            }
        } else {
            mp.packet.extend_from_slice(&proto.to_be_bytes());
            mp.packet.extend_from_slice(payload);
        }
        let (ac, pfc) = self.framing(protocol::MP);
        let hl = wire::header_len(protocol::MP, ac, pfc);
        // Fragments are not encrypted one by one: the whole link MTU is theirs.
        let link = usize::from(self.lcp.neg.neg.peer_mru.min(self.cfg.max_mtu));
        let fmt = mp.tx.format();
        let Multilink {
            tx, packet, frame, ..
        } = mp;
        let mut err = None;
        let n = tx.fragment(packet, link, |h, d| {
            frame.clear();
            frame.resize(hl + fmt.header_len() + d.len(), 0);
            if let Err(e) =
                wire::write_header(protocol::MP, ac, pfc, fmt.header_len() + d.len(), frame)
            {
                err = Some(e);
                return;
            }
            let _ = h.emit(fmt, &mut frame[hl..]);
            frame[hl + fmt.header_len()..].copy_from_slice(d);
            emit(frame);
        });
        if let Some(e) = err {
            return Err(e.into());
        }
        self.counters.tx_packets += 1;
        self.counters.tx_bytes += payload.len() as u64;
        self.counters.tx_frames += n as u64;
        self.last_data = now;
        Ok(n)
    }

    fn mp_input(&mut self, now: Instant, info: &[u8]) -> Input<'static> {
        let Some(m) = self.mp.as_mut() else {
            return Input::Dropped;
        };
        if let Err(why) = m.rx.push(now, 0, info) {
            self.counters.dropped += 1;
            return Input::FragmentDropped(why);
        }
        match self.mp_deliver(now) {
            Some(protocol) => Input::Reassembled { protocol },
            None => Input::Fragment,
        }
    }

    /// The next complete MP packet that is a deliverable datagram (others are dropped and
    /// counted); MPPE packets are decrypted in the reassembly buffer.
    fn mp_deliver(&mut self, now: Instant) -> Option<u16> {
        let mut mp = self.mp.take()?;
        let mut found = None;
        while let Some(pkt) = mp.rx.poll_mut() {
            let len = pkt.len();
            let Some((p, rest)) = mp::split_protocol(pkt) else {
                self.counters.malformed += 1;
                continue;
            };
            let off = len - rest.len();
            if p == protocol::COMPRESSED {
                let mut enc = self.enc.take();
                let r = match enc.as_mut() {
                    Some(e) if e.rx.is_some() => self.mppe_decrypt(now, e, &mut pkt[off..]),
                    _ => {
                        self.counters.dropped += 1;
                        Err(None)
                    }
                };
                if let (Ok(_), Some(e)) = (&r, enc.as_mut()) {
                    e.counters.rx_packets += 1;
                }
                self.enc = enc;
                if let Ok((inner, o)) = r {
                    mp.rx_range = (off + o, len);
                    self.count_rx(now, len - off - o);
                    found = Some(inner);
                    break;
                }
                continue;
            }
            let open = self.data_open(p);
            if open && self.cleartext_forbidden() {
                if let Some(e) = self.enc.as_mut() {
                    e.counters.cleartext_dropped += 1;
                }
                self.counters.dropped += 1;
                continue;
            }
            if open {
                mp.rx_range = (off, len);
                self.count_rx(now, len - off);
                found = Some(p);
                break;
            }
            self.counters.dropped += 1;
        }
        self.mp = Some(mp);
        self.flush_reset_request(now);
        found
    }

    // ----- internals -----

    /// The `use-encryption` in force: the user's profile (server), else the session's.
    fn use_encryption(&self) -> UseEncryption {
        self.attrs.use_encryption.unwrap_or(self.cfg.use_encryption)
    }

    fn gate(&self) -> Gate {
        match self.enc.as_deref() {
            Some(e) if e.tx.is_some() => Gate::Encrypt,
            _ if self.use_encryption() == UseEncryption::Required => Gate::Hold,
            Some(e) if !e.settled => Gate::Hold,
            _ => Gate::Clear,
        }
    }

    fn cleartext_forbidden(&self) -> bool {
        self.enc.as_ref().is_some_and(|e| e.rx.is_some())
            || self.use_encryption() == UseEncryption::Required
    }

    fn count_rx(&mut self, now: Instant, n: usize) {
        self.counters.rx_packets += 1;
        self.counters.rx_bytes += n as u64;
        self.last_data = now;
    }

    /// Open CCP (active for yes/required; on the peer's first packet for default).
    fn start_ccp(&mut self, now: Instant) {
        if self.enc.is_some() {
            return;
        }
        self.enc = Some(Box::new(Encryption {
            ccp: Cp::new(protocol::CCP, self.cfg.timers, Ccp::new(self.cfg.mppe)),
            tx: None,
            rx: None,
            settled: false,
            last_reset_request: None,
            counters: MppeCounters::default(),
            scratch: Vec::new(),
            scratch_range: (0, 0),
            reset_wanted: false,
            awaiting_drops: 0,
        }));
        self.with_ctx(now, |s, ctx| {
            if let Some(e) = s.enc.as_mut() {
                e.ccp.event(Ev::Open, ctx);
                e.ccp.event(Ev::Up, ctx);
            }
        });
    }

    fn ccp_input(&mut self, now: Instant, info: &[u8]) -> Input<'static> {
        if self.phase == Phase::Authenticate {
            if let Some(o) = self.auth_client.as_mut().and_then(|c| c.implicit_success()) {
                self.client_outcome(now, o);
            }
        }
        if self.phase != Phase::Network {
            // RFC 1661 s3.5: NCP packets before the Network phase are silently discarded.
            self.counters.dropped += 1;
            return Input::Dropped;
        }
        if self.keys.is_none() {
            // No MS-CHAP keys (PAP/CHAP login): MPPE is impossible; RFC 1962 lets us reject
            // CCP as a protocol.
            self.protocol_reject(now, protocol::CCP, info);
            return Input::Control;
        }
        self.start_ccp(now);
        self.with_ctx(now, |s, ctx| {
            if let Some(e) = s.enc.as_mut() {
                e.ccp.input(info, ctx);
            }
        });
        Input::Control
    }

    /// Decrypt an MPPE information field in place: (inner protocol, payload offset), or
    /// the drop reason (`None`: the inner protocol is not open).
    fn mppe_decrypt(
        &mut self,
        now: Instant,
        e: &mut Encryption,
        buf: &mut [u8],
    ) -> Result<(u16, usize), Option<DropReason>> {
        let Some(d) = e.rx.as_mut() else {
            return Err(None);
        };
        let r = d.decrypt(buf);
        e.counters.resyncs = d.resyncs;
        match r {
            Ok(x) => {
                let open = self.data_open(x.protocol);
                if open {
                    Ok((x.protocol, x.offset))
                } else {
                    self.counters.dropped += 1;
                    Err(None)
                }
            }
            Err(why) => {
                e.counters.rx_dropped += 1;
                self.counters.dropped += 1;
                if why == DropReason::AwaitingFlush {
                    e.awaiting_drops += 1;
                }
                // The Reset-Request or the flushed packet answering it may be lost: ask
                // again after RESET_RETRY_DROPS more drops, or a restart period.
                let again = e.awaiting_drops >= RESET_RETRY_DROPS
                    || e.last_reset_request
                        .is_none_or(|t| now >= t + self.cfg.timers.restart);
                if why == DropReason::CoherencyJump || (why == DropReason::AwaitingFlush && again) {
                    e.reset_wanted = true;
                }
                Err(Some(why))
            }
        }
    }

    fn flush_reset_request(&mut self, now: Instant) {
        let Some(e) = self.enc.as_mut().filter(|e| e.reset_wanted) else {
            return;
        };
        e.reset_wanted = false;
        e.awaiting_drops = 0;
        e.last_reset_request = Some(now);
        e.counters.reset_requests_sent += 1;
        self.with_ctx(now, |s, ctx| {
            if let Some(e) = s.enc.as_mut() {
                e.ccp.send_new(code::RESET_REQUEST, &[], ctx);
            }
        });
    }

    fn ccp_signal(&mut self, now: Instant, sig: Signal) {
        let required = self.use_encryption() == UseEncryption::Required;
        let keys = self.keys.as_deref().map(mppe::start_keys);
        let Some(e) = self.enc.as_mut() else {
            return;
        };
        match sig {
            Signal::Up => {
                e.settled = true;
                let (tx, rx) = (e.ccp.neg.tx, e.ccp.neg.rx);
                if let (Some(t), Some(r), Some((send, recv))) = (tx, rx, keys) {
                    e.tx = Encryptor::new(t, &send);
                    e.rx = Decryptor::new(r, &recv);
                }
                if let Some(encoding) = self.encoding() {
                    let mtu = self.mtu();
                    self.events.push_back(Event::EncryptionUp { encoding, mtu });
                } else if required {
                    self.terminate(
                        now,
                        TerminateReason::EncryptionRequired("the peer refused MPPE in CCP".into()),
                        false,
                    );
                }
            }
            Signal::Down => {
                // Renegotiation: hold datagrams until CCP settles again.
                e.tx = None;
                e.rx = None;
                e.settled = false;
            }
            Signal::Finished => {
                e.tx = None;
                e.rx = None;
                e.settled = true;
                if required {
                    self.terminate(
                        now,
                        TerminateReason::EncryptionRequired(
                            "CCP failed or was rejected by the peer".into(),
                        ),
                        false,
                    );
                }
            }
            Signal::Started => {}
        }
    }

    fn framing(&self, proto: u16) -> (bool, bool) {
        let n = &self.lcp.neg.neg;
        if proto == protocol::LCP || self.lcp.state() != State::Opened {
            return (self.cfg.address_control, false);
        }
        (
            self.cfg.address_control && !n.tx_acfc,
            n.tx_pfc && proto < 0x100,
        )
    }

    fn queue(&mut self, proto: u16, info: Vec<u8>) {
        let (ac, pfc) = self.framing(proto);
        let mut f = Vec::with_capacity(info.len() + 4);
        if ac {
            f.extend_from_slice(&[0xff, 0x03]);
        }
        if pfc {
            f.push(proto as u8);
        } else {
            f.extend_from_slice(&proto.to_be_bytes());
        }
        f.extend_from_slice(&info);
        self.counters.tx_frames += 1;
        self.tx.push_back((proto, f));
    }

    fn queue_all(&mut self, out: Vec<(u16, Vec<u8>)>) {
        for (p, i) in out {
            self.queue(p, i);
        }
    }

    fn set_phase(&mut self, p: Phase) {
        if self.phase != p {
            self.phase = p;
            self.events.push_back(Event::Phase(p));
        }
    }

    fn set_status(&mut self, s: Status) {
        if self.status != s {
            self.status = s;
            self.events.push_back(Event::Status(s));
        }
    }

    fn with_ctx(&mut self, now: Instant, f: impl FnOnce(&mut Self, &mut Ctx<'_>)) {
        let mut rng = std::mem::replace(&mut self.rng, Box::new(NullRng));
        let mut ctx = Ctx::new(now, &mut *rng);
        f(self, &mut ctx);
        let Ctx {
            frames,
            signals,
            notes,
            ..
        } = ctx;
        self.rng = rng;
        for (p, i) in frames {
            self.queue(p, i);
        }
        // Notes first: a peer's Terminate-Request must be known when LCP's This-Layer-Down
        // arrives, so the phase and status read "terminating", not "renegotiating".
        for n in notes {
            self.on_note(now, n);
        }
        for (p, s) in signals {
            self.on_signal(now, p, s);
        }
    }

    fn protocol_reject(&mut self, now: Instant, proto: u16, info: &[u8]) {
        let mut data = proto.to_be_bytes().to_vec();
        let room = usize::from(self.lcp.neg.neg.peer_mru).saturating_sub(6);
        data.extend_from_slice(info.get(..room).unwrap_or(info));
        self.counters.protocol_rejects_sent += 1;
        self.with_ctx(now, |s, ctx| {
            s.lcp.send_new(code::PROTOCOL_REJECT, &data, ctx);
        });
    }

    /// The bridge this link belongs to: the user's profile's (server, from the verdict's
    /// [`UserAttributes::bridge`]) or [`Config::bridge`]. `Some`: BCP runs.
    pub fn bridge(&self) -> Option<&str> {
        self.attrs.bridge.as_deref().or(self.cfg.bridge.as_deref())
    }

    /// A data protocol whose NCP is Opened (IPv4/IPCP, IPv6/IPv6CP, bridged frames/BCP).
    fn data_open(&self, proto: u16) -> bool {
        match proto {
            protocol::IPV4 => self.ipcp.state() == State::Opened,
            protocol::IPV6 => self.ipv6cp.state() == State::Opened,
            protocol::BRIDGED_ETHERNET => self.bcp.state() == State::Opened,
            _ => false,
        }
    }

    fn bcp_input(&mut self, now: Instant, info: &[u8]) -> Input<'static> {
        if self.phase == Phase::Authenticate {
            if let Some(o) = self.auth_client.as_mut().and_then(|c| c.implicit_success()) {
                self.client_outcome(now, o);
            }
        }
        if self.phase != Phase::Network {
            self.counters.dropped += 1;
            return Input::Dropped;
        }
        self.with_ctx(now, |s, ctx| s.bcp.input(info, ctx));
        Input::Control
    }

    fn ncp_input(&mut self, now: Instant, v4: bool, info: &[u8]) -> Input<'static> {
        if self.phase == Phase::Authenticate {
            if let Some(o) = self.auth_client.as_mut().and_then(|c| c.implicit_success()) {
                self.client_outcome(now, o);
            }
        }
        if self.phase != Phase::Network {
            // RFC 1661 s3.5: NCP packets before the Network phase are silently discarded.
            self.counters.dropped += 1;
            return Input::Dropped;
        }
        self.with_ctx(now, |s, ctx| {
            if v4 {
                s.ipcp.input(info, ctx)
            } else {
                s.ipv6cp.input(info, ctx)
            }
        });
        Input::Control
    }

    fn on_signal(&mut self, now: Instant, proto: u16, sig: Signal) {
        match (proto, sig) {
            (protocol::LCP, Signal::Started) => {
                self.set_phase(Phase::Establish);
                self.set_status(Status::Dialing);
            }
            (protocol::LCP, Signal::Up) => self.lcp_up(now),
            (protocol::LCP, Signal::Down) => {
                self.auth_client = None;
                self.auth_server = None;
                self.auth_deadline = None;
                self.eap_success = None;
                if self.terminating.is_some() {
                    self.set_phase(Phase::Terminate);
                } else {
                    self.set_phase(Phase::Establish);
                    self.set_status(Status::Dialing);
                }
                self.with_ctx(now, |s, ctx| {
                    s.ipcp.event(Ev::Down, ctx);
                    s.ipcp.event(Ev::Close, ctx);
                    s.ipv6cp.event(Ev::Down, ctx);
                    s.ipv6cp.event(Ev::Close, ctx);
                    s.bcp.event(Ev::Down, ctx);
                    s.bcp.event(Ev::Close, ctx);
                });
                // CCP, the MPPE keys and Multilink belong to this LCP instance.
                self.enc = None;
                self.mp = None;
                if let Some(t) = self.network_up_at.take() {
                    self.uptime_before += now.saturating_duration_since(t);
                }
            }
            (protocol::LCP, Signal::Finished) => {
                let (reason, by_peer) = self
                    .terminating
                    .take()
                    .unwrap_or((TerminateReason::NegotiationFailed(protocol::LCP), false));
                self.end(now, reason, by_peer);
            }
            (protocol::CCP, sig) => self.ccp_signal(now, sig),
            (p, Signal::Up) => {
                // The peer sent NCP traffic: it has the authentication result, so the
                // authenticator's repeat-the-verdict state can go (idle sessions stay small).
                self.auth_server = None;
                if self.auth_client.as_ref().is_some_and(|c| c.done) {
                    self.auth_client = None;
                }
                if self.network_up_at.is_none() {
                    self.network_up_at = Some(now);
                    self.last_data = now;
                }
                if p == protocol::IPCP {
                    let info = self.ipv4_info();
                    self.events.push_back(Event::NetworkUp(info));
                } else if p == protocol::BCP {
                    self.events.push_back(Event::BridgeUp {
                        bridge: self.bridge().unwrap_or_default().to_string(),
                        negotiated: self.bcp.neg.neg.clone(),
                    });
                } else {
                    self.events.push_back(Event::Ipv6Up {
                        local_interface_id: self.ipv6cp.neg.local,
                        remote_interface_id: self.ipv6cp.neg.remote,
                    });
                }
                self.set_status(Status::Connected);
            }
            (p, Signal::Down) => self.events.push_back(Event::NetworkDown { protocol: p }),
            (_, Signal::Started) => {}
            (_, Signal::Finished) => self.ncp_finished(now),
        }
    }

    fn ncp_finished(&mut self, now: Instant) {
        if self.terminating.is_some()
            || self.phase != Phase::Network
            || self.lcp.state() != State::Opened
        {
            return;
        }
        let live = |st: State| {
            !matches!(
                st,
                State::Stopped | State::Closed | State::Initial | State::Starting
            )
        };
        let v4 = self.cfg.ipv4 && live(self.ipcp.state());
        let v6 = self.cfg.ipv6 && live(self.ipv6cp.state());
        let br = self.bridge().is_some() && live(self.bcp.state());
        if !v4 && !v6 && !br {
            if self.role == Role::Server && self.cfg.restart_lcp_on_failure {
                self.restart_lcp(now);
            } else {
                self.terminate(now, TerminateReason::NoNetworkProtocol, false);
            }
        }
    }

    fn on_note(&mut self, now: Instant, n: Note) {
        match n {
            Note::ProtocolRejected(p) => {
                self.events
                    .push_back(Event::ProtocolRejected { protocol: p });
                self.with_ctx(now, |s, ctx| match p {
                    protocol::IPCP => s.ipcp.event(Ev::RxjMinus, ctx),
                    protocol::IPV6CP => s.ipv6cp.event(Ev::RxjMinus, ctx),
                    protocol::BCP => s.bcp.event(Ev::RxjMinus, ctx),
                    protocol::CCP => {
                        if let Some(e) = s.enc.as_mut() {
                            e.ccp.event(Ev::RxjMinus, ctx);
                        }
                    }
                    _ => {}
                });
            }
            Note::EchoReply => {}
            Note::Loopback => self.terminate(now, TerminateReason::LoopbackDetected, false),
            Note::PeerTerminate(msg) => {
                if self.terminating.is_none() {
                    self.terminating = Some((TerminateReason::PeerRequest(msg), true));
                    self.set_phase(Phase::Terminate);
                }
            }
            Note::AuthUnacceptable => self.terminate(now, TerminateReason::NoCommonAuth, false),
            Note::CcpResetRequest => {
                if let Some(e) = self.enc.as_mut() {
                    e.counters.reset_requests_received += 1;
                    if let Some(t) = e.tx.as_mut() {
                        t.reset_requested();
                    }
                }
            }
            Note::CcpResetAck => {
                if let Some(e) = self.enc.as_mut() {
                    e.counters.reset_acks_received += 1;
                }
            }
        }
    }

    fn lcp_up(&mut self, now: Instant) {
        let n = self.lcp.neg.neg.clone();
        self.mp = match (n.mrru, n.peer_mrru) {
            (Some(mrru), Some(peer_mrru)) => {
                let fmt = |short| {
                    if short {
                        SeqFormat::Short
                    } else {
                        SeqFormat::Long
                    }
                };
                // The reconstructed packet holds the 2-octet protocol field too.
                let limits = Limits {
                    reorder_window: mp::SESSION_REORDER_WINDOW,
                    ..Limits::new(mrru.saturating_add(2))
                };
                Some(Box::new(Multilink {
                    tx: Fragmenter::new(fmt(n.tx_short_seq), 0),
                    rx: Reassembler::new(fmt(n.rx_short_seq), limits, 1),
                    peer_mrru,
                    rx_range: (0, 0),
                    packet: Vec::new(),
                    frame: Vec::new(),
                }))
            }
            _ => None,
        };
        let method = match self.role {
            Role::Server => n.auth_peer,
            Role::Client => n.auth_self,
        };
        self.events.push_back(Event::LinkUp {
            mru: self.mru(),
            mtu: self.mtu(),
            auth: method,
        });
        self.ka = Keepalive {
            probes: 0,
            next: None,
        };
        self.last_rx = now;
        let Some(method) = method else {
            if self.role == Role::Server && self.lcp.neg.requires_auth() {
                self.terminate(now, TerminateReason::NoCommonAuth, false);
                return;
            }
            self.goto_network(now);
            return;
        };
        self.set_phase(Phase::Authenticate);
        self.set_status(Status::VerifyingPassword);
        self.auth_deadline = Some(now + self.cfg.auth_timeout);
        let mut out = Vec::new();
        match self.role {
            Role::Client => {
                self.user = self.cfg.user.clone();
                let mut c = Box::new(AuthClient::new(&self.cfg, method, now));
                c.start(now, &mut out);
                self.auth_client = Some(c);
            }
            Role::Server => {
                let mut srv = Box::new(AuthServer::new(&self.cfg, method));
                srv.start(now, &mut *self.rng, &mut out);
                self.auth_server = Some(srv);
            }
        }
        self.queue_all(out);
    }

    fn goto_network(&mut self, now: Instant) {
        self.auth_deadline = None;
        self.set_phase(Phase::Network);
        if self.role == Role::Server {
            let a = &self.attrs;
            self.ipcp.neg.local_cfg = a.local_address.or(self.cfg.local_address);
            self.ipcp.neg.remote_cfg = a.remote_address.or(self.cfg.remote_address);
            self.ipcp.neg.dns_offer = if a.dns.is_empty() {
                self.cfg.dns_servers.clone()
            } else {
                a.dns.iter().take(2).copied().collect()
            };
            self.ipcp.neg.nbns_offer = if a.nbns.is_empty() {
                self.cfg.nbns_servers.clone()
            } else {
                a.nbns.iter().take(2).copied().collect()
            };
        }
        match (self.use_encryption(), self.keys.is_some()) {
            (UseEncryption::Yes | UseEncryption::Required, true) => self.start_ccp(now),
            (UseEncryption::Required, false) => {
                self.terminate(
                    now,
                    TerminateReason::EncryptionRequired(
                        "MPPE needs MS-CHAP keys; the login gave none (PAP, CHAP or none)".into(),
                    ),
                    false,
                );
                return;
            }
            _ => {}
        }
        let (v4, v6) = (self.cfg.ipv4, self.cfg.ipv6);
        let br = self.bridge().is_some();
        self.with_ctx(now, |s, ctx| {
            if br {
                s.bcp.event(Ev::Open, ctx);
                s.bcp.event(Ev::Up, ctx);
            }
            if v4 {
                s.ipcp.event(Ev::Open, ctx);
                s.ipcp.event(Ev::Up, ctx);
            }
            if v6 {
                s.ipv6cp.event(Ev::Open, ctx);
                s.ipv6cp.event(Ev::Up, ctx);
            }
        });
    }

    fn auth_input(&mut self, now: Instant, proto: u16, info: &[u8]) {
        if let Some(mut c) = self.auth_client.take() {
            let mut out = Vec::new();
            let o = c.input(now, proto, info, &mut *self.rng, &mut out);
            self.auth_client = Some(c);
            self.queue_all(out);
            self.client_outcome(now, o);
            return;
        }
        if let Some(mut srv) = self.auth_server.take() {
            let mut out = Vec::new();
            if srv.eap_success_ack(info, &mut out) {
                self.auth_server = Some(srv);
                self.queue_all(out);
                if let Some((user, keys)) = self.eap_success.take().map(|b| *b) {
                    self.auth_succeeded(now, user, AuthMethod::Eap, keys);
                }
                return;
            }
            let o = srv.input(proto, info, &mut out);
            if matches!(o, ServerOutcome::Pending) {
                srv.eap_next(now, &mut *self.rng, &mut out);
            }
            self.auth_server = Some(srv);
            self.queue_all(out);
            self.server_outcome(now, o);
            return;
        }
        self.counters.dropped += 1;
    }

    fn client_outcome(&mut self, now: Instant, o: ClientOutcome) {
        let method = self
            .auth_client
            .as_ref()
            .map(|c| c.method)
            .unwrap_or(AuthMethod::Pap);
        match o {
            ClientOutcome::Pending => {}
            ClientOutcome::Success(keys) => {
                let user = self.cfg.user.clone();
                self.auth_succeeded(now, user, method, keys);
            }
            ClientOutcome::Failure(message, retrying, bad_ar) => {
                self.events.push_back(Event::AuthFailed {
                    user: self.cfg.user.clone(),
                    method,
                    message: message.clone(),
                    retrying,
                });
                if !retrying {
                    let reason = if bad_ar {
                        TerminateReason::BadAuthenticatorResponse
                    } else {
                        TerminateReason::AuthFailed(message)
                    };
                    self.auth_failed(now, reason);
                }
            }
        }
    }

    fn auth_succeeded(
        &mut self,
        now: Instant,
        user: String,
        method: AuthMethod,
        keys: Option<Box<MsChapKeys>>,
    ) {
        self.user = user.clone();
        self.keys = keys.clone();
        self.events
            .push_back(Event::AuthSucceeded { user, method, keys });
        self.goto_network(now);
    }

    fn auth_failed(&mut self, now: Instant, reason: TerminateReason) {
        if self.role == Role::Server && self.cfg.restart_lcp_on_failure {
            self.restart_lcp(now);
        } else {
            self.terminate(now, reason, false);
        }
    }

    fn restart_lcp(&mut self, now: Instant) {
        self.release_admission();
        self.with_ctx(now, |s, ctx| {
            s.lcp.event(Ev::Down, ctx);
            s.lcp.neg.reset(ctx);
            s.lcp.event(Ev::Up, ctx);
        });
    }

    fn server_outcome(&mut self, now: Instant, o: ServerOutcome) {
        match o {
            ServerOutcome::Pending => {}
            ServerOutcome::Failure(msg) => {
                let method = self
                    .auth_server
                    .as_ref()
                    .map(|s| s.method)
                    .unwrap_or(AuthMethod::Pap);
                self.events.push_back(Event::AuthFailed {
                    user: String::new(),
                    method,
                    message: msg.clone(),
                    retrying: false,
                });
                self.auth_failed(now, TerminateReason::AuthTimeout);
            }
            ServerOutcome::Verify(req) => {
                let lookup = match self.store.as_mut() {
                    Some(st) => st.lookup(&req.user, self.cfg.service),
                    None => Lookup::Defer,
                };
                match lookup {
                    Lookup::Found {
                        password,
                        attributes,
                    } => self.apply_verdict(
                        now,
                        &req,
                        Verdict::Password {
                            password,
                            attributes,
                        },
                    ),
                    Lookup::NotFound => self.apply_verdict(
                        now,
                        &req,
                        Verdict::Reject {
                            message: "Authentication failed".into(),
                        },
                    ),
                    Lookup::Defer => self.events.push_back(Event::AuthRequested(req)),
                }
            }
        }
    }

    fn apply_verdict(&mut self, now: Instant, req: &AuthRequest, verdict: Verdict) {
        let (accepted, ar, keys, mut attrs, mut message) = match verdict {
            Verdict::Password {
                password,
                attributes,
            } => match verify_with_password(&req.user, &req.proof, &password) {
                Some((ar, keys)) => (
                    true,
                    ar,
                    keys.map(Box::new),
                    attributes,
                    String::from("Welcome"),
                ),
                None => (
                    false,
                    None,
                    None,
                    attributes,
                    String::from("Authentication failed"),
                ),
            },
            Verdict::Accept {
                attributes,
                authenticator_response,
                keys,
            } => (
                true,
                authenticator_response,
                keys,
                attributes,
                String::from("Welcome"),
            ),
            Verdict::Reject { message } => (false, None, None, UserAttributes::default(), message),
        };
        let mut accepted = accepted;
        if accepted {
            if let Some(st) = self.store.as_mut() {
                match st.session_started(&req.user, &mut attrs) {
                    Ok(()) => self.admitted = true,
                    Err(m) => {
                        accepted = false;
                        message = m;
                    }
                }
            }
        }
        let Some(mut srv) = self.auth_server.take() else {
            return;
        };
        let mut out = Vec::new();
        let r = srv.finish(accepted, ar, &message, now, &mut *self.rng, &mut out);
        let method = req.method;
        self.auth_server = Some(srv);
        self.queue_all(out);
        match r {
            Ok(true) => {
                self.attrs = attrs;
                // The accepted user, from now on (EAP-MSCHAPv2 reports success a step later).
                self.user = req.user.clone();
                if method == AuthMethod::Eap && ar.is_some() {
                    self.eap_success = Some(Box::new((req.user.clone(), keys)));
                } else {
                    self.auth_succeeded(now, req.user.clone(), method, keys);
                }
            }
            Ok(false) => self.events.push_back(Event::AuthFailed {
                user: req.user.clone(),
                method,
                message,
                retrying: true,
            }),
            Err(m) => {
                self.events.push_back(Event::AuthFailed {
                    user: req.user.clone(),
                    method,
                    message: m.clone(),
                    retrying: false,
                });
                self.auth_failed(now, TerminateReason::AuthFailed(m));
            }
        }
    }

    fn ipv4_info(&self) -> Ipv4Info {
        let n = &self.ipcp.neg;
        Ipv4Info {
            local: n.local,
            remote: n.remote,
            dns: n.dns.clone(),
            nbns: n.nbns.clone(),
        }
    }

    fn keepalive_deadline(&self) -> Option<Instant> {
        if self.lcp.state() != State::Opened
            || self.cfg.keepalive_timeout.is_zero()
            || self.terminating.is_some()
        {
            return None;
        }
        Some(
            self.ka
                .next
                .unwrap_or(self.last_rx + self.cfg.keepalive_timeout),
        )
    }

    fn session_deadline(&self) -> Option<Instant> {
        if self.terminating.is_some() {
            return None;
        }
        Some(self.network_up_at? + self.attrs.session_timeout?)
    }

    fn idle_deadline(&self) -> Option<Instant> {
        if self.terminating.is_some() || self.network_up_at.is_none() {
            return None;
        }
        Some(self.last_data + self.attrs.idle_timeout?)
    }

    fn keepalive_fire(&mut self, now: Instant) {
        use crate::config::KeepalivePolicy::*;
        if self.ka.probes > 0 {
            self.events.push_back(Event::KeepaliveMissed {
                missed: self.ka.probes,
            });
        }
        let give_up = match self.cfg.keepalive_policy {
            FiveProbes => self.ka.probes >= 5,
            TwiceTimeout => now >= self.last_rx + self.cfg.keepalive_timeout * 2,
        };
        if give_up {
            self.finish_now(now, TerminateReason::KeepaliveTimeout, false);
            return;
        }
        let magic = self.lcp.neg.neg.magic.to_be_bytes();
        self.with_ctx(now, |s, ctx| {
            s.lcp.send_new(code::ECHO_REQUEST, &magic, ctx);
        });
        self.counters.echo_requests_sent += 1;
        self.ka.probes += 1;
        self.ka.next = Some(now + Duration::from_secs(1));
    }

    /// Graceful termination through LCP Close.
    fn terminate(&mut self, now: Instant, reason: TerminateReason, by_peer: bool) {
        if self.terminating.is_some() || self.ended {
            return;
        }
        self.terminating = Some((reason, by_peer));
        self.set_phase(Phase::Terminate);
        self.with_ctx(now, |s, ctx| s.lcp.event(Ev::Close, ctx));
        if !self.ended && matches!(self.lcp.state(), State::Initial | State::Closed) {
            let (r, b) = self
                .terminating
                .take()
                .unwrap_or((TerminateReason::AdminClose(String::new()), false));
            self.end(now, r, b);
        }
    }

    /// Immediate termination (keepalive, lower layer down): one courtesy Terminate-Request.
    fn finish_now(&mut self, now: Instant, reason: TerminateReason, by_peer: bool) {
        if self.ended {
            return;
        }
        self.terminating = Some((reason, by_peer));
        self.with_ctx(now, |s, ctx| {
            s.lcp.event(Ev::Close, ctx);
            s.lcp.event(Ev::Down, ctx);
        });
        if let Some((r, b)) = self.terminating.take() {
            self.end(now, r, b);
        }
    }

    fn release_admission(&mut self) {
        if self.admitted {
            self.admitted = false;
            if let Some(st) = self.store.as_mut() {
                st.session_ended(&self.user, &self.attrs);
            }
        }
    }

    fn end(&mut self, now: Instant, reason: TerminateReason, by_peer: bool) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.release_admission();
        self.auth_client = None;
        self.auth_server = None;
        self.auth_deadline = None;
        let uptime = self.uptime(now);
        self.network_up_at = None;
        self.set_phase(Phase::Dead);
        self.set_status(Status::Terminated);
        self.events.push_back(Event::Terminated {
            reason,
            by_peer,
            uptime,
        });
    }
}

/// Placeholder while the real RNG is lent to a context (never used for output).
struct NullRng;
impl RngCore for NullRng {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        dest.fill(0);
        Ok(())
    }
}
