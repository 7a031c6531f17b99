//! L2TPv3 managed control connection (RFC 3931 section 3.3) carrying any number of pseudowire
//! sessions, over IP (protocol 115) or UDP.
//!
//! ```text
//! initiator (LCCE A)                               responder (LCCE B)
//!   SCCRQ  Router ID, Assigned CCID, PW Caps, Nonce, Tie Breaker ->
//!                     <- SCCRP  Router ID, Assigned CCID, PW Caps, Nonce
//!   SCCCN                                          ->            (control connection up)
//!   per session, from either side, an incoming call:
//!   ICRQ   Local Session ID=a, Remote Session ID 0, Serial Number, PW Type, Remote End ID,
//!          Session Tie Breaker, Circuit Status (N=1), [Random Vector, hidden] Cookie,
//!          L2-Specific Sublayer [, Data Sequencing] ->
//!                     <- ICRP   Local Session ID=b, Remote Session ID=a, Circuit Status, Cookie
//!   ICCN   Local Session ID=a, Remote Session ID=b ->            (session up, data flows)
//!   or an outgoing call (the recipient binds its circuit at once and connects):
//!   OCRQ   same AVPs as the ICRQ                   ->
//!                     <- OCRP   Local Session ID=b, Remote Session ID=a, Circuit Status, Cookie
//!                     <- OCCN   Local Session ID=b, Remote Session ID=a   (session up)
//!   on an established session:
//!   SLI    Local/Remote Session ID, Circuit Status (N=0, A=up/down) ->  (circuit up/down)
//!   WEN    Local/Remote Session ID, Circuit Errors (6 counters)     ->
//!   CDN    Result Code, Local/Remote Session ID    ->            (that session only)
//!   HELLO after `hello_interval` of silence        ->  <- ZLB
//!   StopCCN Result Code, Assigned CCID             ->            (everything down)
//! ```
//!
//! # State diagram of the control connection
//! ```text
//!   Idle --connect()/SCCRQ--> WaitCtlReply --SCCRP/SCCCN--> Established
//!   Idle --SCCRQ/SCCRP------> WaitCtlConn  --SCCCN--------> Established
//!   WaitCtlReply --SCCRQ with lower Tie Breaker--> (lost: become responder) WaitCtlConn
//!   any --StopCCN / retransmission limit / close()--> Closed
//! ```
//! Sessions:
//! ```text
//!   we call in:    WaitReply (ICRQ sent)   --ICRP / send ICCN--> Established
//!   peer calls in: WaitConnect (ICRP sent) --ICCN--------------> Established
//!   we call out:   WaitReply (OCRQ sent)   --OCRP--> WaitConnect --OCCN--> Established
//!   peer calls out: OCRQ --> send OCRP + OCCN --> Established
//!   refused request (PW type: CDN 14; session limit: CDN 4); CDN either way --> removed
//! ```
//!
//! # Circuit status and errors (RFC 3931 s5.4.5, s6.13, s6.14)
//! Every session has a local attachment-circuit status ([`V3Config::circuit_active`] at
//! creation, then [`ControlConnectionV3::set_circuit_status`]) sent in the Circuit Status AVP
//! of the ICRQ/ICRP/OCRQ/OCRP (N bit set: a new circuit) and, on changes of an established
//! session, in a Set-Link-Info (N bit clear). The peer's reports come out as
//! [`V3Event::PeerCircuitStatus`] when the value changes. RFC 3931 keeps the
//! WAN-Error-Notify for every pseudowire type, renaming the L2TPv2 Call Errors AVP (type 34,
//! same layout) to Circuit Errors: [`ControlConnectionV3::report_circuit_errors`] sends one,
//! [`V3Event::WanError`] reports the peer's. The SLI of L2TPv3 carries no ACCM (that is
//! PPP-specific and belongs to the PPP pseudowire companion document), so none is sent or
//! read here; the RFC 5641 extended Circuit Status bits are not interpreted (reserved bits
//! set are rejected by the AVP decoder).
//!
//! # Authentication and hiding
//! Every message carries a Message Digest AVP right after the Message Type (section 4.3 /
//! 5.4.1) unless the digest is `none`: `HMAC_Hash(shared_key, sender_nonce + receiver_nonce +
//! message)` with `shared_key = HMAC_Hash(secret, 2)`; the SCCRQ, sent before the responder's
//! nonce is known, is hashed without nonces. Authenticated ZLB acknowledgements carry only the
//! Message Digest AVP. A message whose digest does not verify is dropped and counted
//! ([`V3Stats::digest_failures`]) before it touches the reliable channel.
//!
//! With [`V3Config::hide_avps`] and a secret, the Assigned Cookie AVP is hidden (section 5.3:
//! the RFC 2661 s4.3 MD5 stream with a preceding Random Vector AVP, keyed with
//! `HMAC_Hash(secret, 1)`). Received hidden AVPs are revealed with the same key.
//!
//! # Tie breaking (section 5.4.3)
//! With [`V3Config::tie_breaker`] the SCCRQ carries a random 8-byte Control Connection Tie
//! Breaker AVP. An initiator still waiting for its SCCRP that receives an SCCRQ carrying a tie
//! breaker compares the values: the lower one wins. The loser forgets its own SCCRQ, answers the
//! peer's as responder and drops its automatic session (the winner opens it); the winner
//! ignores the peer's SCCRQ ([`V3Stats::sccrq_ignored`]).
//!
//! Sessions tie-break the same way ([`V3Config::session_tie_breaker`], section 5.4.4): each
//! ICRQ/OCRQ carries a Session Tie Breaker; a peer request naming the same circuit (equal,
//! non-empty Remote End ID, see [`ControlConnectionV3::open_call`]) that arrives while our
//! request for it waits for its reply is refused with CDN result 13 when our value is lower;
//! otherwise we drop our session and answer the peer's ([`V3Stats::session_ties`]).
//!
//! # Data and reordering
//! Each session has its own ids, cookies and data path ([`DataPathV3`]). With
//! [`V3Config::reorder`] and the L2-Specific Sublayer, sequenced frames (S bit) pass through a
//! per-session [`ReorderBuffer`]: in-order frames come back from `handle_input` as
//! [`V3Input::Data`], held frames as [`V3Input::Queued`] and later from [`ControlConnectionV3::poll_data`].
//!
//! # Driving contract
//! Inputs: [`ControlConnectionV3::handle_input`] (every datagram of this connection, control or
//! data, in [`V3Config::encap`]), [`ControlConnectionV3::handle_timeout`]. Commands: `connect`,
//! `open_session`, `open_outgoing_session`, `open_call`, `set_circuit_status`,
//! `report_circuit_errors`, `close_session`, `close`. Outputs, polled until `None` after every
//! input and command:
//! `poll_transmit`, `poll_event`, `poll_data`, then `poll_timeout` to arm the timer. Time must
//! not go backwards.
//!
//! Reliability reuses [`crate::control::Channel`] (Ns/Nr, window, backoff, slow start).
//!
//! A received explicit ACK message (type 20, RFC 3931 s6.15) acknowledges like a ZLB and
//! consumes no sequence number; we send ZLBs ourselves.
//!
//! # L2-Specific Sublayer (sections 4.6, 5.4.4)
//! Each side's L2-Specific Sublayer AVP names the sublayer it wants on the data it receives;
//! [`DataPathV3`] keeps the two directions apart (`l2_sublayer` sent, `rx_l2_sublayer`
//! expected). For calls we place we ask for [`V3Config::l2_sublayer`]; for calls the peer
//! places we adopt its request for both directions. With a reorder buffer we also send a
//! Data Sequencing AVP (level 2, all packets).
//!
//! # Not implemented here
//! The RFC 5641 extended circuit status bits; sending explicit ACKs; a hook to delay the OCCN
//! of an outgoing call we receive until a local circuit is bound (it goes out with the OCRP).

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::config::ControlConfig;
use crate::control::{Channel, Outgoing};
use crate::error::{be32, Error, Result};
use crate::reorder::{ReorderBuffer, ReorderConfig, ReorderStats, Verdict};
use crate::wire::avp::{attr, unhide_all, Avp, AvpValue, ResultCode};
use crate::wire::v3::{
    digest_key, sign_with, verify_with, ControlMessageV3, Cookie, DataPathV3, DataV3, DigestHash,
    Encap,
};

/// Pseudowire Type: Ethernet (RFC 4719).
pub const PW_ETHERNET: u16 = 0x0005;
/// Pseudowire Type: PPP (RFC 3931 / IANA).
pub const PW_PPP: u16 = 0x0007;

const SCCRQ: u16 = 1;
const SCCRP: u16 = 2;
const SCCCN: u16 = 3;
const STOPCCN: u16 = 4;
const HELLO: u16 = 6;
const OCRQ: u16 = 7;
const OCRP: u16 = 8;
const OCCN: u16 = 9;
const ICRQ: u16 = 10;
const ICRP: u16 = 11;
const ICCN: u16 = 12;
const CDN: u16 = 14;
const WEN: u16 = 15;
const SLI: u16 = 16;
/// Explicit Acknowledgement (RFC 3931 s6.15).
const ACK: u16 = 20;
/// Minimum spacing of WAN-Error-Notify messages of one session.
const WEN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// CDN Result Codes (RFC 3931 s5.4.2 / IANA "Result Code AVP Values" for CDN).
pub mod cdn_result {
    /// Session disconnected for administrative reasons.
    pub const ADMIN: u16 = 3;
    /// Session establishment failed: no appropriate facilities available (temporary).
    pub const NO_FACILITIES_TEMP: u16 = 4;
    /// Session not established due to losing the session tie breaker (L2TPv3).
    pub const LOST_TIE_BREAKER: u16 = 13;
    /// Session not established due to an unsupported PW type (L2TPv3). (Result 12 is
    /// RFC 3308's "mismatching SDS value", not a pseudowire refusal.)
    pub const UNSUPPORTED_PW_TYPE: u16 = 14;
    /// Session not established: sequencing required without a valid L2-Specific Sublayer.
    pub const SEQUENCING_WITHOUT_SUBLAYER: u16 = 15;
    /// Session disconnected for the reason given in the Error Code (used with error code 3,
    /// "a field value was out of range", for an L2-Specific Sublayer type we do not support).
    pub const GENERAL_ERROR: u16 = 2;
}

/// Circuit Errors AVP counters carried by a WAN-Error-Notify (RFC 3931 s5.4.5 "Circuit
/// Errors", the L2TPv2 Call Errors AVP layout), in wire order: CRC errors, framing errors,
/// hardware overruns, buffer overruns, time-out errors, alignment errors. Cumulative since the
/// session came up.
pub type CircuitErrors = [u32; 6];

/// Configuration of one managed L2TPv3 control connection.
#[derive(Debug, Clone)]
pub struct V3Config {
    /// Encapsulation (`l2tp-proto-version=l2tpv3-ip` / `l2tpv3-udp`).
    pub encap: Encap,
    /// Host Name AVP.
    pub host_name: Vec<u8>,
    /// Router ID AVP (RFC 3931 s5.4.3), usually an IPv4 address.
    pub router_id: u32,
    /// Shared secret (`/ppp l2tp-secret`); `None` or digest `None` disables authentication.
    pub secret: Option<Vec<u8>>,
    /// Message digest algorithm (`l2tpv3-digest-hash`, default md5).
    pub digest: DigestHash,
    /// Pseudowire type we offer/accept ([`PW_ETHERNET`] or [`PW_PPP`]).
    pub pw_type: u16,
    /// Length of the cookie we assign (`l2tpv3-cookie-length`: 0, 4 or 8).
    pub cookie_len: u8,
    /// Require the default L2-Specific Sublayer (RFC 3931 s4.6: S bit and 24-bit sequence
    /// number) on the data we receive, announced in the L2-Specific Sublayer AVP of the calls
    /// we place. Each side sends what the other's AVP asks for; when the peer places the call
    /// we adopt its requirement for both directions (so a peer with
    /// `use-l2-specific-sublayer=no` and one with `yes` both work). A sublayer type other than
    /// none or default is refused (CDN result 2, error 3), as is a peer requiring sequencing
    /// (Data Sequencing AVP) while asking for no sublayer (CDN result 15).
    pub l2_sublayer: bool,
    /// Reliable delivery parameters (`hello_interval` drives the v3 HELLO too).
    pub control: ControlConfig,
    /// Initiator: open one session as soon as the control connection is up (the RouterOS
    /// l2tp-ether/l2tp-client behaviour). Default `true`.
    pub auto_session: bool,
    /// Sessions held at most on this connection; further ICRQs get a CDN with result 4.
    /// Default 256.
    pub max_sessions: usize,
    /// Hide the Assigned Cookie AVP (RFC 3931 s5.3) when a secret is set. Default `false`.
    pub hide_avps: bool,
    /// Send a Control Connection Tie Breaker AVP in the SCCRQ. Default `true`.
    pub tie_breaker: bool,
    /// Reorder sequenced data (sublayer S bit) per session; `None` (default) delivers frames
    /// as they arrive.
    pub reorder: Option<ReorderConfig>,
    /// Remote End ID AVP sent in the ICRQ/OCRQ of sessions opened without their own
    /// ([`ControlConnectionV3::open_call`] names one per call) (RouterOS
    /// `l2tpv3-circuit-id` / `circuit-id`: names the pseudowire at the peer, one per
    /// redundant pseudowire). Default empty.
    pub remote_end_id: Vec<u8>,
    /// Send a Session Tie Breaker AVP (8 random octets, M bit clear) in every ICRQ/OCRQ and
    /// break ties with it (RFC 3931 s5.4.4 / the ICRQ sender state table): when the peer's
    /// request for the same circuit (equal, non-empty Remote End ID) crosses one of ours still
    /// waiting
    /// for its reply and both carry a tie breaker, the lower value wins; the winner refuses
    /// the other request with CDN result 13, the loser drops its own session
    /// ([`V3Event::SessionDown`] "lost the session tie breaker") and answers the winner's.
    /// Default `true`.
    pub session_tie_breaker: bool,
    /// Status of the local attachment circuit that new sessions start with (the A bit of the
    /// Circuit Status AVP in ICRQ/ICRP/OCRQ/OCRP). Default `true` (active); change it per
    /// session with [`ControlConnectionV3::set_circuit_status`].
    pub circuit_active: bool,
}

impl Default for V3Config {
    fn default() -> Self {
        V3Config {
            encap: Encap::Udp,
            host_name: b"rust-l2tp".to_vec(),
            router_id: 0,
            secret: None,
            digest: DigestHash::Md5,
            pw_type: PW_ETHERNET,
            cookie_len: 0,
            l2_sublayer: false,
            control: ControlConfig::default(),
            auto_session: true,
            max_sessions: 256,
            hide_avps: false,
            tie_breaker: true,
            reorder: None,
            remote_end_id: Vec::new(),
            session_tie_breaker: true,
            circuit_active: true,
        }
    }
}

/// State of a [`ControlConnectionV3`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V3State {
    /// Initiator before `connect`, responder before the SCCRQ.
    Idle,
    /// Initiator: SCCRQ sent.
    WaitCtlReply,
    /// Responder: SCCRP sent.
    WaitCtlConn,
    /// Control connection established.
    Established,
    /// Torn down.
    Closed,
}

/// State of one session of a [`ControlConnectionV3`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V3SessionState {
    /// We want to send (or sent) the ICRQ or OCRQ; waiting for the ICRP or OCRP.
    WaitReply,
    /// We answered the peer's ICRQ with an ICRP, or got the OCRP to our OCRQ; waiting for
    /// the ICCN or OCCN.
    WaitConnect,
    /// Up: data flows.
    Established,
}

/// Events of a [`ControlConnectionV3`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum V3Event {
    /// Control connection established (peer's Assigned Control Connection ID and Router ID).
    ControlUp {
        /// Peer's control connection id.
        peer_ccid: u32,
        /// Peer's Router ID.
        peer_router_id: u32,
    },
    /// Our SCCRQ lost the tie breaker against the peer's; we continue as responder.
    TieBreakerLost,
    /// A pseudowire session is up; data may flow.
    SessionUp {
        /// Our session id.
        local_session_id: u32,
        /// The peer's session id.
        remote_session_id: u32,
    },
    /// The peer reported the status of its attachment circuit for a session (Circuit Status
    /// AVP in ICRQ/ICRP/OCRQ/OCRP or in a Set-Link-Info). Emitted when the reported value
    /// differs from the last one known (the first report always), possibly before
    /// `SessionUp`.
    PeerCircuitStatus {
        /// Our session id.
        local_session_id: u32,
        /// The peer's circuit is active (A bit).
        active: bool,
    },
    /// The peer sent a WAN-Error-Notify with its cumulative circuit error counters.
    WanError {
        /// Our session id.
        local_session_id: u32,
        /// The counters.
        errors: CircuitErrors,
    },
    /// A session ended (CDN either way, or refused).
    SessionDown {
        /// Our session id.
        local_session_id: u32,
        /// Why.
        reason: &'static str,
    },
    /// The connection is closed.
    Closed {
        /// Why.
        reason: &'static str,
    },
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct V3Stats {
    /// Control messages dropped because their Message Digest did not verify or was missing.
    pub digest_failures: u64,
    /// Control messages dropped because the peer's nonce is not known yet (they arrived
    /// before the SCCRQ/SCCRP that carries it).
    pub unverifiable: u64,
    /// Control messages dropped for a wrong Control Connection ID or a bad header, or whose
    /// hidden AVPs could not be revealed.
    pub malformed: u64,
    /// Data packets dropped (unknown session id, wrong cookie, no session yet, duplicate or
    /// too old for the reorder buffer).
    pub data_dropped: u64,
    /// HELLO messages sent.
    pub hellos_sent: u64,
    /// SCCRQs ignored: we won the tie breaker, or the peer sent none while we wait.
    pub sccrq_ignored: u64,
    /// ICRQs and OCRQs refused with a CDN (pseudowire type, max sessions).
    pub sessions_refused: u64,
    /// Set-Link-Info messages sent (circuit status changes).
    pub sli_sent: u64,
    /// Crossed session requests resolved by the Session Tie Breaker (won or lost).
    pub session_ties: u64,
    /// Set-Link-Info and WAN-Error-Notify messages ignored (unknown session, session not
    /// established, or no Circuit Status / Circuit Errors AVP).
    pub link_info_ignored: u64,
}

/// What a received datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V3Input<'a> {
    /// A control message (processed).
    Control,
    /// A data packet of one of our sessions: its payload (an Ethernet or PPP frame).
    Data(DataV3<'a>),
    /// A sequenced data packet held by the reorder buffer of session `session_id` (or
    /// queued behind released ones); it comes out of [`ControlConnectionV3::poll_data`].
    Queued {
        /// Our session id.
        session_id: u32,
    },
}

/// One session of a [`ControlConnectionV3`].
#[derive(Debug, Clone)]
pub struct V3Session {
    local_id: u32,
    remote_id: u32,
    state: V3SessionState,
    send_cookie: Cookie,
    data: Option<DataPathV3>,
    reorder: Option<ReorderBuffer>,
    /// The sublayer we require on received data (our L2-Specific Sublayer AVP).
    sublayer: bool,
    /// Session Tie Breaker of our request.
    tie: Option<[u8; 8]>,
    /// Remote End ID of our request (the circuit).
    remote_end_id: Vec<u8>,
    /// When we last sent a WAN-Error-Notify.
    last_wen: Option<Instant>,
    outgoing: bool,
    serial: u32,
    local_active: bool,
    /// What the peer was last told about our circuit (setup message or SLI).
    advertised_active: Option<bool>,
    peer_active: Option<bool>,
    peer_remote_end_id: Vec<u8>,
}

impl V3Session {
    /// Our session id.
    pub fn local_session_id(&self) -> u32 {
        self.local_id
    }
    /// The peer's session id (0 until known).
    pub fn remote_session_id(&self) -> u32 {
        self.remote_id
    }
    /// State.
    pub fn state(&self) -> V3SessionState {
        self.state
    }
    /// The data path (ids, cookies) once the peer's id and cookie are known.
    pub fn data_path(&self) -> Option<&DataPathV3> {
        self.data.as_ref()
    }
    /// Reorder buffer counters (when reordering is configured).
    pub fn reorder_stats(&self) -> Option<ReorderStats> {
        self.reorder.as_ref().map(|r| r.stats())
    }
    /// An outgoing call (OCRQ/OCRP/OCCN) rather than an incoming one (ICRQ/ICRP/ICCN).
    pub fn is_outgoing(&self) -> bool {
        self.outgoing
    }
    /// Serial Number of the call (ours for sessions we opened, the peer's otherwise).
    pub fn serial_number(&self) -> u32 {
        self.serial
    }
    /// Status of our attachment circuit as last set (see
    /// [`ControlConnectionV3::set_circuit_status`]).
    pub fn local_circuit_active(&self) -> bool {
        self.local_active
    }
    /// Status of the peer's attachment circuit as last reported (`None`: never reported).
    pub fn peer_circuit_active(&self) -> Option<bool> {
        self.peer_active
    }
    /// The Remote End ID the peer sent with its ICRQ/OCRQ (empty for calls we opened).
    pub fn peer_remote_end_id(&self) -> &[u8] {
        &self.peer_remote_end_id
    }
}

/// One managed L2TPv3 control connection with its sessions.
#[derive(Debug)]
pub struct ControlConnectionV3 {
    cfg: V3Config,
    initiator: bool,
    state: V3State,
    local_ccid: u32,
    peer_ccid: u32,
    peer_router_id: u32,
    local_nonce: Vec<u8>,
    peer_nonce: Option<Vec<u8>>,
    key: Vec<u8>,
    hide_key: Option<Vec<u8>>,
    tie_breaker: [u8; 8],
    channel: Channel<Vec<Avp>>,
    rng: ChaCha20Rng,
    /// Id of the first session (drawn at construction so callers can learn it early).
    primary_sid: u32,
    primary_used: bool,
    sessions: BTreeMap<u32, V3Session>,
    /// Sessions whose ICRQ/OCRQ waits for the control connection.
    queued_icrq: VecDeque<u32>,
    /// Serial Number of the next call we place.
    next_serial: u32,
    /// Sessions with released reordered frames.
    ready: VecDeque<u32>,
    last_rx: Option<Instant>,
    events: VecDeque<V3Event>,
    stats: V3Stats,
    /// The peer has not yet proven its address (responder before SCCCN) and our timer
    /// retransmissions are limited ([`ControlConnectionV3::set_unproven_retransmits`]).
    unproven: bool,
}

fn result(code: u16) -> ResultCode {
    ResultCode {
        result: code,
        error: None,
        message: Vec::new(),
    }
}

impl ControlConnectionV3 {
    /// A new connection; `initiator` sends the SCCRQ on [`Self::connect`]. Ids, nonces,
    /// cookies and the tie breaker are drawn from a ChaCha20 generator seeded from `rng`.
    pub fn new(cfg: V3Config, initiator: bool, rng: &mut dyn RngCore) -> Result<Self> {
        if !matches!(cfg.cookie_len, 0 | 4 | 8) {
            return Err(Error::Config {
                field: "l2tpv3-cookie-length",
                reason: "must be 0, 4 or 8".into(),
            });
        }
        if cfg.max_sessions == 0 {
            return Err(Error::Config {
                field: "max-sessions",
                reason: "must be at least 1".into(),
            });
        }
        cfg.control.validate()?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let local_ccid = nonzero(&mut rng);
        let primary_sid = nonzero(&mut rng);
        let mut nonce = vec![0u8; 16];
        rng.fill_bytes(&mut nonce);
        let mut tie_breaker = [0u8; 8];
        rng.fill_bytes(&mut tie_breaker);
        let (key, hide_key) = match &cfg.secret {
            Some(s) => (
                digest_key(cfg.digest, s),
                cfg.hide_avps.then(|| hide_key(cfg.digest, s)),
            ),
            None => (Vec::new(), None),
        };
        let channel = Channel::new(cfg.control.clone());
        Ok(ControlConnectionV3 {
            cfg,
            initiator,
            state: V3State::Idle,
            local_ccid,
            peer_ccid: 0,
            peer_router_id: 0,
            local_nonce: nonce,
            peer_nonce: None,
            key,
            hide_key,
            tie_breaker,
            channel,
            rng,
            primary_sid,
            primary_used: false,
            sessions: BTreeMap::new(),
            queued_icrq: VecDeque::new(),
            next_serial: 1,
            ready: VecDeque::new(),
            last_rx: None,
            events: VecDeque::new(),
            stats: V3Stats::default(),
            unproven: false,
        })
    }

    /// Like [`Self::new`] with ids and nonce drawn from a ChaCha20 generator seeded with
    /// `seed` (fuzzers, replays).
    pub fn with_seed(cfg: V3Config, initiator: bool, seed: [u8; 32]) -> Result<Self> {
        Self::new(cfg, initiator, &mut ChaCha20Rng::from_seed(seed))
    }

    fn hash(&self) -> DigestHash {
        if self.cfg.secret.is_some() {
            self.cfg.digest
        } else {
            DigestHash::None
        }
    }

    /// Current state.
    pub fn state(&self) -> V3State {
        self.state
    }
    /// Counters.
    pub fn stats(&self) -> V3Stats {
        self.stats
    }
    /// True while we are the initiator (false after losing the tie breaker).
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }
    /// Our Control Connection ID.
    pub fn local_ccid(&self) -> u32 {
        self.local_ccid
    }
    /// The peer's Control Connection ID (0 until its SCCRQ/SCCRP).
    pub fn peer_ccid(&self) -> u32 {
        self.peer_ccid
    }
    /// The peer's Router ID (0 until known).
    pub fn peer_router_id(&self) -> u32 {
        self.peer_router_id
    }
    /// Id of the first session (known from construction on; the session itself exists once
    /// opened by either side).
    pub fn local_session_id(&self) -> u32 {
        self.primary_sid
    }
    /// The first session's data path once it is known (cookies, ids).
    pub fn data_path(&self) -> Option<&DataPathV3> {
        self.sessions.get(&self.primary_sid)?.data.as_ref()
    }
    /// A session by our id.
    pub fn session(&self, local_session_id: u32) -> Option<&V3Session> {
        self.sessions.get(&local_session_id)
    }
    /// All sessions, by our id.
    pub fn sessions(&self) -> impl Iterator<Item = &V3Session> {
        self.sessions.values()
    }
    /// Number of sessions (any state).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }
    /// Change the session limit (the LNS shares one `max-sessions` budget among
    /// connections). Existing sessions are kept.
    pub fn set_max_sessions(&mut self, n: usize) {
        self.cfg.max_sessions = n;
    }

    /// Anti-reflection for a responder, as [`crate::Tunnel::set_unproven_retransmits`] does
    /// for L2TPv2: until the peer's SCCCN arrives, retransmit by timer at most `n` times
    /// (`Some(n)`); past that the control channel stalls instead of failing, and a
    /// retransmitted SCCRQ from the peer is answered with one copy of our SCCRP. So a forged
    /// SCCRQ makes us send `1 + n` packets, not the `1 + max_retransmits` of RFC 3931 s4.2.
    /// The normal schedule resumes when the connection comes up. `None` (default) keeps RFC
    /// 3931 behaviour. The owner must bound the lifetime of a stalled connection (the
    /// [`crate::Lns`] does with `half_open_timeout`).
    pub fn set_unproven_retransmits(&mut self, now: Instant, n: Option<u32>) {
        self.unproven = n.is_some() && !self.initiator && self.state != V3State::Established;
        self.channel
            .set_quiet_after(now, if self.unproven { n } else { None });
    }
    /// Next event.
    pub fn poll_event(&mut self) -> Option<V3Event> {
        let e = self.poll_event_untraced();
        trace_event!("l2tp::v3", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<V3Event> {
        self.events.pop_front()
    }

    fn common_sccr(&self, ty: u16) -> Vec<Avp> {
        let mut v = vec![
            Avp::m(&AvpValue::MessageType(ty)),
            Avp::m(&AvpValue::HostName(self.cfg.host_name.clone())),
            Avp::m(&AvpValue::RouterId(self.cfg.router_id)),
            Avp::m(&AvpValue::AssignedControlConnectionId(self.local_ccid)),
            Avp::m(&AvpValue::PseudowireCapabilities(vec![self.cfg.pw_type])),
            Avp::m(&AvpValue::ReceiveWindowSize(
                self.cfg.control.receive_window,
            )),
            Avp::m(&AvpValue::Nonce(self.local_nonce.clone())),
        ];
        if ty == SCCRQ && self.cfg.tie_breaker {
            // M=0 like the v2 Tie Breaker: a peer without tie breaking may ignore it.
            v.push(Avp::new(false, &AvpValue::TieBreaker(self.tie_breaker)));
        }
        v
    }

    /// Body of a session message. Requests (ICRQ/OCRQ) carry the RFC 3931 s6.6 / s6.9
    /// mandatory set (Serial Number, Pseudowire Type, Remote End ID, Circuit Status) plus the
    /// cookie and sublayer; replies (ICRP/OCRP) Circuit Status, cookie and sublayer;
    /// connects (ICCN/OCCN) only the ids.
    fn session_avps(&mut self, ty: u16, sid: u32) -> Vec<Avp> {
        let request = matches!(ty, ICRQ | OCRQ);
        let reply = matches!(ty, ICRP | OCRP);
        let Some(s) = self.sessions.get_mut(&sid) else {
            return Vec::new();
        };
        if request || reply {
            s.advertised_active = Some(s.local_active);
        }
        let (local, remote, cookie, serial, active, sublayer, tie) = (
            s.local_id,
            s.remote_id,
            s.send_cookie,
            s.serial,
            s.local_active,
            s.sublayer,
            s.tie,
        );
        let end_id = s.remote_end_id.clone();
        let mut v = vec![
            Avp::m(&AvpValue::MessageType(ty)),
            Avp::m(&AvpValue::LocalSessionId(local)),
            Avp::m(&AvpValue::RemoteSessionId(remote)),
        ];
        if request {
            v.push(Avp::m(&AvpValue::CallSerialNumber(serial)));
            v.push(Avp::m(&AvpValue::PseudowireType(self.cfg.pw_type)));
            v.push(Avp::m(&AvpValue::RemoteEndId(end_id)));
            if let Some(t) = tie {
                v.push(Avp::new(false, &AvpValue::TieBreaker(t)));
            }
        }
        if request || reply {
            // N=1: the status of a new circuit (RFC 3931 s5.4.5).
            v.push(Avp::m(&AvpValue::CircuitStatus { active, new: true }));
            if !cookie.is_empty() {
                let mut a = Avp::m(&AvpValue::AssignedCookie(cookie.as_bytes().to_vec()));
                if let Some(k) = &self.hide_key {
                    let mut rv = vec![0u8; 16];
                    self.rng.fill_bytes(&mut rv);
                    if a.hide(k, &rv, &[]).is_ok() {
                        v.push(Avp::m(&AvpValue::RandomVector(rv)));
                    }
                }
                v.push(a);
            }
            v.push(Avp::m(&AvpValue::L2SpecificSublayer(u16::from(sublayer))));
            if sublayer && self.cfg.reorder.is_some() {
                // We reorder by the sublayer sequence numbers: ask for all packets sequenced.
                v.push(Avp::m(&AvpValue::DataSequencing(2)));
            }
        }
        v
    }

    fn cdn(&self, local: u32, remote: u32, code: u16) -> Vec<Avp> {
        self.cdn_error(local, remote, code, None)
    }

    fn cdn_error(&self, local: u32, remote: u32, code: u16, error: Option<u16>) -> Vec<Avp> {
        vec![
            Avp::m(&AvpValue::MessageType(CDN)),
            Avp::m(&AvpValue::ResultCode(ResultCode {
                result: code,
                error,
                message: Vec::new(),
            })),
            Avp::m(&AvpValue::LocalSessionId(local)),
            Avp::m(&AvpValue::RemoteSessionId(remote)),
        ]
    }

    /// Initiator: send the SCCRQ. With [`V3Config::auto_session`] a session's ICRQ follows
    /// once the connection is up.
    pub fn connect(&mut self, _now: Instant) -> Result<()> {
        if !self.initiator || self.state != V3State::Idle {
            return Err(Error::Config {
                field: "state",
                reason: "connect() only once, on the initiator".into(),
            });
        }
        if self.cfg.auto_session {
            self.new_session(V3SessionState::WaitReply, false)?;
        }
        self.channel.send(self.common_sccr(SCCRQ));
        self.state = V3State::WaitCtlReply;
        Ok(())
    }

    fn alloc_sid(&mut self) -> u32 {
        if !self.primary_used {
            self.primary_used = true;
            return self.primary_sid;
        }
        loop {
            let v = nonzero(&mut self.rng);
            if !self.sessions.contains_key(&v) {
                return v;
            }
        }
    }

    /// A new session; `state` `WaitReply` means we place the call (and queue its ICRQ or,
    /// with `outgoing`, its OCRQ).
    fn new_session(&mut self, state: V3SessionState, outgoing: bool) -> Result<u32> {
        if self.sessions.len() >= self.cfg.max_sessions {
            return Err(Error::Full("session"));
        }
        let sid = self.alloc_sid();
        let serial = if state == V3SessionState::WaitReply {
            let s = self.next_serial;
            self.next_serial = self.next_serial.wrapping_add(1);
            s
        } else {
            0
        };
        let tie = (state == V3SessionState::WaitReply && self.cfg.session_tie_breaker).then(|| {
            let mut t = [0u8; 8];
            self.rng.fill_bytes(&mut t);
            t
        });
        let mut ck = [0u8; 8];
        self.rng.fill_bytes(&mut ck);
        let send_cookie = Cookie::new(
            ck.get(..usize::from(self.cfg.cookie_len))
                .unwrap_or_default(),
        )?;
        self.sessions.insert(
            sid,
            V3Session {
                local_id: sid,
                remote_id: 0,
                state,
                send_cookie,
                data: None,
                // Our senders (and the kernel's) number a session's frames from 0; a peer
                // starting elsewhere is resynchronised by the buffer after one gap.
                reorder: self.cfg.reorder.map(|c| {
                    let mut r = ReorderBuffer::new(c, 24);
                    r.expect(0);
                    r
                }),
                sublayer: self.cfg.l2_sublayer,
                tie,
                remote_end_id: self.cfg.remote_end_id.clone(),
                last_wen: None,
                outgoing,
                serial,
                local_active: self.cfg.circuit_active,
                advertised_active: None,
                peer_active: None,
                peer_remote_end_id: Vec::new(),
            },
        );
        if state == V3SessionState::WaitReply {
            self.queued_icrq.push_back(sid);
        }
        Ok(sid)
    }

    /// Open a new session (an incoming-call ICRQ) from either side. Before the control
    /// connection is up the ICRQ is queued. Returns our session id.
    pub fn open_session(&mut self, _now: Instant) -> Result<u32> {
        self.place_call(false)
    }

    /// Open a new session as an outgoing call (RFC 3931 s6.9-6.11: OCRQ, the peer answers OCRP
    /// and, once its circuit is bound, OCCN) from either side. Before the control connection
    /// is up the OCRQ is queued. The session is up when the OCCN arrives. Returns our session
    /// id.
    pub fn open_outgoing_session(&mut self, _now: Instant) -> Result<u32> {
        self.place_call(true)
    }

    /// Open a session for the circuit named `remote_end_id` (Remote End ID AVP), as an
    /// incoming (`outgoing == false`, ICRQ) or outgoing (OCRQ) call. Returns our session id.
    pub fn open_call(
        &mut self,
        _now: Instant,
        outgoing: bool,
        remote_end_id: &[u8],
    ) -> Result<u32> {
        if self.state == V3State::Closed {
            return Err(Error::State("control connection closed"));
        }
        let sid = self.new_session(V3SessionState::WaitReply, outgoing)?;
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.remote_end_id = remote_end_id.to_vec();
        }
        self.flush_icrqs();
        Ok(sid)
    }

    fn place_call(&mut self, outgoing: bool) -> Result<u32> {
        if self.state == V3State::Closed {
            return Err(Error::State("control connection closed"));
        }
        let sid = self.new_session(V3SessionState::WaitReply, outgoing)?;
        self.flush_icrqs();
        Ok(sid)
    }

    fn flush_icrqs(&mut self) {
        if self.state != V3State::Established {
            return;
        }
        while let Some(sid) = self.queued_icrq.pop_front() {
            let ty = match self.sessions.get(&sid) {
                Some(s) if s.outgoing => OCRQ,
                Some(_) => ICRQ,
                None => continue,
            };
            let m = self.session_avps(ty, sid);
            if !m.is_empty() {
                self.channel.send(m);
            }
        }
    }

    /// Set the status of the local attachment circuit of a session (for an Ethernet
    /// pseudowire: the port's link state). Before the session's request or reply went out the
    /// status rides in it; on an established session a change is sent as a Set-Link-Info
    /// with the Circuit Status AVP (RFC 3931 s6.14, s5.4.5; N bit clear: an existing
    /// circuit); a change made while the session is being set up follows as an SLI once it is
    /// up. Setting the same value again sends nothing.
    pub fn set_circuit_status(
        &mut self,
        _now: Instant,
        local_session_id: u32,
        active: bool,
    ) -> Result<()> {
        if self.state == V3State::Closed {
            return Err(Error::State("control connection closed"));
        }
        let s = self
            .sessions
            .get_mut(&local_session_id)
            .ok_or(Error::State("no such session"))?;
        s.local_active = active;
        self.send_sli_if_changed(local_session_id);
        Ok(())
    }

    /// Send an SLI for an established session whose local circuit status differs from what
    /// the peer was last told.
    fn send_sli_if_changed(&mut self, sid: u32) {
        if self.state != V3State::Established {
            return;
        }
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if s.state != V3SessionState::Established || s.advertised_active == Some(s.local_active) {
            return;
        }
        s.advertised_active = Some(s.local_active);
        let m = vec![
            Avp::m(&AvpValue::MessageType(SLI)),
            Avp::m(&AvpValue::LocalSessionId(s.local_id)),
            Avp::m(&AvpValue::RemoteSessionId(s.remote_id)),
            Avp::m(&AvpValue::CircuitStatus {
                active: s.local_active,
                new: false,
            }),
        ];
        self.stats.sli_sent += 1;
        self.channel.send(m);
    }

    /// Report circuit errors of an established session to the peer with a WAN-Error-Notify
    /// (RFC 3931 s6.13: Local and Remote Session ID and the Circuit Errors AVP, attribute 34,
    /// counters cumulative since the session came up). At most one per session every 60 s
    /// (the WEN rule of RFC 2661 s6.15): an earlier call is refused with an error and sends
    /// nothing.
    pub fn report_circuit_errors(
        &mut self,
        now: Instant,
        local_session_id: u32,
        errors: CircuitErrors,
    ) -> Result<()> {
        if self.state != V3State::Established {
            return Err(Error::State("control connection not established"));
        }
        let s = self
            .sessions
            .get_mut(&local_session_id)
            .filter(|s| s.state == V3SessionState::Established)
            .ok_or(Error::State("no such session, or not up"))?;
        if s.last_wen
            .is_some_and(|t| now.saturating_duration_since(t) < WEN_INTERVAL)
        {
            return Err(Error::State(
                "WAN-Error-Notify at most once every 60 s per session",
            ));
        }
        s.last_wen = Some(now);
        let m = vec![
            Avp::m(&AvpValue::MessageType(WEN)),
            Avp::m(&AvpValue::LocalSessionId(s.local_id)),
            Avp::m(&AvpValue::RemoteSessionId(s.remote_id)),
            Avp::m(&AvpValue::CallErrors(errors)),
        ];
        self.channel.send(m);
        Ok(())
    }

    /// Close one session with a CDN (Result Code 3, administrative).
    pub fn close_session(&mut self, _now: Instant, local_session_id: u32) -> Result<()> {
        let s = self
            .sessions
            .remove(&local_session_id)
            .ok_or(Error::State("no such session"))?;
        self.queued_icrq.retain(|x| *x != local_session_id);
        if self.state == V3State::Established {
            self.channel
                .send(self.cdn(s.local_id, s.remote_id, cdn_result::ADMIN));
        }
        self.events.push_back(V3Event::SessionDown {
            local_session_id,
            reason: "closed locally",
        });
        Ok(())
    }

    /// Tear down: StopCCN with Result Code 1 (general request to clear).
    pub fn close(&mut self) {
        if matches!(self.state, V3State::Closed | V3State::Idle) {
            self.state = V3State::Closed;
            return;
        }
        self.channel.send(vec![
            Avp::m(&AvpValue::MessageType(STOPCCN)),
            Avp::m(&AvpValue::ResultCode(result(1))),
            Avp::m(&AvpValue::AssignedControlConnectionId(self.local_ccid)),
        ]);
        self.finish("closed locally");
    }

    fn finish(&mut self, reason: &'static str) {
        if self.state != V3State::Closed {
            self.state = V3State::Closed;
            for (sid, _) in std::mem::take(&mut self.sessions) {
                self.events.push_back(V3Event::SessionDown {
                    local_session_id: sid,
                    reason,
                });
            }
            self.queued_icrq.clear();
            self.events.push_back(V3Event::Closed { reason });
        }
    }

    /// Feed one received datagram (control or data, in [`V3Config::encap`]).
    pub fn handle_input<'a>(&mut self, now: Instant, buf: &'a [u8]) -> Result<V3Input<'a>> {
        let is_control = match self.cfg.encap {
            Encap::Ip => buf.get(..4) == Some(&[0, 0, 0, 0][..]),
            Encap::Udp => buf.first().is_some_and(|b| b & 0x80 != 0),
        };
        if !is_control {
            return self.handle_data(now, buf);
        }
        let msg = match ControlMessageV3::parse(self.cfg.encap, buf) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        let ty = msg.message_type_raw();
        let first_sccrq = ty == Some(SCCRQ) && msg.ccid == 0;
        if !first_sccrq && msg.ccid != self.local_ccid {
            self.stats.malformed += 1;
            return Err(Error::Flags {
                flags: 0,
                reason: "wrong control connection id",
            });
        }
        // The nonce the sender used: carried in SCCRQ/SCCRP, remembered afterwards.
        let carried_nonce = msg.avps.iter().find_map(|a| match a.typed() {
            Ok(Some(AvpValue::Nonce(n))) if a.is(attr::CONTROL_MESSAGE_AUTHENTICATION_NONCE) => {
                Some(n)
            }
            _ => None,
        });
        let hash = self.hash();
        if hash != DigestHash::None {
            let prefix: Vec<Vec<u8>> = if ty == Some(SCCRQ) {
                Vec::new()
            } else {
                let Some(pn) = carried_nonce.as_ref().or(self.peer_nonce.as_ref()) else {
                    // e.g. a ZLB overtaking a lost SCCRP: not verifiable yet. Dropped
                    // (the peer retransmits), not counted as a digest failure.
                    self.stats.unverifiable += 1;
                    return Err(Error::Digest);
                };
                vec![pn.clone(), self.local_nonce.clone()]
            };
            let parts: Vec<&[u8]> = prefix.iter().map(Vec::as_slice).collect();
            if verify_with(buf, self.cfg.encap, hash, &self.key, &parts).is_err() {
                self.stats.digest_failures += 1;
                return Err(Error::Digest);
            }
        }
        if first_sccrq && self.initiator && self.state == V3State::WaitCtlReply {
            self.tie_break(now, msg);
            return Ok(V3Input::Control);
        }
        self.last_rx = Some(now);
        // A ZLB: no Message Type (an authenticated one carries only the Message Digest). The
        // explicit ACK message only acknowledges: it is not itself acknowledged, so it cannot
        // take a sequence number and is handled like a ZLB (its Ns is not consumed).
        let body = match ty {
            None | Some(ACK) => None,
            Some(_) => Some(msg.avps),
        };
        let resend = first_sccrq && self.unproven && self.state == V3State::WaitCtlConn;
        for m in self.channel.on_receive(now, msg.ns, msg.nr, body) {
            self.process(now, m);
        }
        if resend {
            // The peer did not get our SCCRP and asks again: answer once per request
            // instead of by timer (see `set_unproven_retransmits`).
            self.channel.retransmit_now();
        }
        if self.unproven && self.state == V3State::Established {
            self.unproven = false;
            self.channel.set_quiet_after(now, None);
        }
        if self.channel.failed() {
            self.finish("retransmission limit");
        }
        Ok(V3Input::Control)
    }

    fn tie_break(&mut self, now: Instant, msg: ControlMessageV3) {
        let theirs = msg.avps.iter().find_map(|a| match a.typed() {
            Ok(Some(AvpValue::TieBreaker(t))) => Some(t),
            _ => None,
        });
        match theirs {
            Some(t) if self.cfg.tie_breaker && t < self.tie_breaker => {
                // Lower value wins: the peer's connection survives; we become its responder
                // and leave opening the automatic session to the winner.
                self.channel.reset();
                self.initiator = false;
                self.state = V3State::Idle;
                if self.cfg.auto_session && self.primary_used {
                    self.sessions.remove(&self.primary_sid);
                    self.queued_icrq.retain(|x| *x != self.primary_sid);
                    self.primary_used = false;
                }
                self.events.push_back(V3Event::TieBreakerLost);
                self.last_rx = Some(now);
                for m in self.channel.on_receive(now, msg.ns, msg.nr, Some(msg.avps)) {
                    self.process(now, m);
                }
            }
            _ => self.stats.sccrq_ignored += 1,
        }
    }

    fn handle_data<'a>(&mut self, now: Instant, buf: &'a [u8]) -> Result<V3Input<'a>> {
        let off = match self.cfg.encap {
            Encap::Ip => 0,
            Encap::Udp => 4,
        };
        let sid = match be32(buf, off, "session id") {
            Ok(s) => s,
            Err(e) => {
                self.stats.data_dropped += 1;
                return Err(e);
            }
        };
        let Some(s) = self.sessions.get_mut(&sid) else {
            self.stats.data_dropped += 1;
            return Err(Error::State("data for an unknown L2TPv3 session"));
        };
        let Some(dp) = &s.data else {
            self.stats.data_dropped += 1;
            return Err(Error::State("data before the session is up"));
        };
        let d = match dp.decapsulate(buf) {
            Ok(d) => d,
            Err(e) => {
                self.stats.data_dropped += 1;
                return Err(e);
            }
        };
        let (Some(rb), Some(seq)) = (s.reorder.as_mut(), d.sequence) else {
            return Ok(V3Input::Data(d));
        };
        let v = rb.push(now, seq, d.payload);
        let has_ready = rb_has_ready(rb);
        if has_ready && !self.ready.contains(&sid) {
            self.ready.push_back(sid);
        }
        match v {
            Verdict::Deliver => Ok(V3Input::Data(d)),
            Verdict::Held => Ok(V3Input::Queued { session_id: sid }),
            Verdict::Duplicate | Verdict::TooOld => {
                self.stats.data_dropped += 1;
                Err(Error::State("duplicate or late sequenced data"))
            }
        }
    }

    /// True when a reorder buffer has released frames for [`Self::poll_data`].
    pub fn has_data(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Next frame released by a reorder buffer: `(our session id, frame)`, in sequence order
    /// per session. Poll after every `handle_input` / `handle_timeout` until `None`.
    pub fn poll_data(&mut self) -> Option<(u32, Vec<u8>)> {
        while let Some(&sid) = self.ready.front() {
            if let Some(f) = self
                .sessions
                .get_mut(&sid)
                .and_then(|s| s.reorder.as_mut())
                .and_then(|r| r.pop())
            {
                return Some((sid, f));
            }
            self.ready.pop_front();
        }
        None
    }

    fn process(&mut self, _now: Instant, mut avps: Vec<Avp>) {
        if avps.iter().any(|a| a.hidden) {
            let ok = match &self.hide_key {
                Some(k) => unhide_all(&mut avps, k).is_ok(),
                None => match &self.cfg.secret {
                    Some(s) => unhide_all(&mut avps, &hide_key(self.cfg.digest, s)).is_ok(),
                    None => false,
                },
            };
            if !ok {
                self.stats.malformed += 1;
                return;
            }
        }
        let mut ty = None;
        let (mut ccid, mut rid, mut nonce, mut pw_caps, mut pw, mut cookie) =
            (None, 0, None, Vec::new(), None, Vec::new());
        let (mut lsid, mut rsid, mut window) = (None, None, None);
        let mut call = PeerCall::default();
        for a in &avps {
            match a.typed() {
                Ok(Some(AvpValue::MessageType(t))) => ty = Some(t),
                Ok(Some(AvpValue::AssignedControlConnectionId(c))) => ccid = Some(c),
                Ok(Some(AvpValue::RouterId(r))) => rid = r,
                Ok(Some(AvpValue::Nonce(n))) => nonce = Some(n),
                Ok(Some(AvpValue::PseudowireCapabilities(c))) => pw_caps = c,
                Ok(Some(AvpValue::PseudowireType(t))) => pw = Some(t),
                Ok(Some(AvpValue::AssignedCookie(c))) => cookie = c,
                Ok(Some(AvpValue::LocalSessionId(s))) => lsid = Some(s),
                Ok(Some(AvpValue::RemoteSessionId(s))) => rsid = Some(s),
                Ok(Some(AvpValue::ReceiveWindowSize(w))) => window = Some(w),
                Ok(Some(AvpValue::CallSerialNumber(n))) => call.serial = n,
                Ok(Some(AvpValue::RemoteEndId(r))) => call.remote_end_id = r,
                Ok(Some(AvpValue::CircuitStatus { active, .. })) => call.active = Some(active),
                Ok(Some(AvpValue::CallErrors(e))) => call.errors = Some(e),
                Ok(Some(AvpValue::L2SpecificSublayer(t))) => call.l2ss = Some(t),
                Ok(Some(AvpValue::TieBreaker(t))) => call.tie = Some(t),
                Ok(Some(AvpValue::DataSequencing(q))) => call.sequencing = Some(q),
                _ => {}
            }
        }
        match (ty, self.initiator, self.state) {
            (Some(SCCRQ), false, V3State::Idle) => {
                if !self.learn_peer(
                    "SCCRQ without Assigned Control Connection ID",
                    ccid,
                    rid,
                    nonce,
                    window,
                    &pw_caps,
                ) {
                    return;
                }
                self.channel.send(self.common_sccr(SCCRP));
                self.state = V3State::WaitCtlConn;
            }
            (Some(SCCRP), true, V3State::WaitCtlReply) => {
                if !self.learn_peer(
                    "SCCRP without Assigned Control Connection ID",
                    ccid,
                    rid,
                    nonce,
                    window,
                    &pw_caps,
                ) {
                    return;
                }
                let c = self.peer_ccid;
                self.channel
                    .send(vec![Avp::m(&AvpValue::MessageType(SCCCN))]);
                self.state = V3State::Established;
                self.events.push_back(V3Event::ControlUp {
                    peer_ccid: c,
                    peer_router_id: rid,
                });
                self.flush_icrqs();
            }
            (Some(SCCCN), false, V3State::WaitCtlConn) => {
                self.state = V3State::Established;
                self.events.push_back(V3Event::ControlUp {
                    peer_ccid: self.peer_ccid,
                    peer_router_id: self.peer_router_id,
                });
                self.flush_icrqs();
            }
            (Some(ICRQ), _, V3State::Established) => {
                self.on_call_request(false, lsid, pw, &cookie, call)
            }
            (Some(OCRQ), _, V3State::Established) => {
                self.on_call_request(true, lsid, pw, &cookie, call)
            }
            (Some(t @ (ICRP | OCRP)), _, V3State::Established) => {
                let outgoing = t == OCRP;
                let (Some(peer_sid), Some(mine)) = (lsid.filter(|l| *l != 0), rsid) else {
                    return;
                };
                let Ok(peer_cookie) = Cookie::new(&cookie) else {
                    return;
                };
                let Some((send_cookie, rx)) = self
                    .sessions
                    .get(&mine)
                    .filter(|s| s.state == V3SessionState::WaitReply && s.outgoing == outgoing)
                    .map(|s| (s.send_cookie, s.sublayer))
                else {
                    return;
                };
                let tx = match call.tx_sublayer() {
                    Ok(tx) => tx,
                    Err((code, error)) => {
                        self.stats.sessions_refused += 1;
                        self.sessions.remove(&mine);
                        self.channel
                            .send(self.cdn_error(mine, peer_sid, code, error));
                        self.events.push_back(V3Event::SessionDown {
                            local_session_id: mine,
                            reason: "peer's L2-Specific Sublayer or sequencing unsupported",
                        });
                        return;
                    }
                };
                let path = self.path(mine, peer_sid, send_cookie, peer_cookie, tx, rx);
                if let Some(s) = self.sessions.get_mut(&mine) {
                    s.remote_id = peer_sid;
                    s.data = Some(path);
                    // ICRP: we connect now. OCRP: the peer connects (OCCN) once its circuit
                    // is bound.
                    s.state = if outgoing {
                        V3SessionState::WaitConnect
                    } else {
                        V3SessionState::Established
                    };
                }
                self.note_peer_status(mine, call.active);
                if !outgoing {
                    let m = self.session_avps(ICCN, mine);
                    self.channel.send(m);
                    self.session_up(mine);
                }
            }
            (Some(t @ (ICCN | OCCN)), _, V3State::Established) => {
                let outgoing = t == OCCN;
                let Some(s) = rsid.and_then(|r| self.sessions.get_mut(&r)) else {
                    return;
                };
                if s.state == V3SessionState::WaitConnect && s.outgoing == outgoing {
                    s.state = V3SessionState::Established;
                    let sid = s.local_id;
                    self.note_peer_status(sid, call.active);
                    self.session_up(sid);
                }
            }
            (Some(t @ (SLI | WEN)), _, V3State::Established) => {
                let Some(s) = rsid
                    .and_then(|r| self.sessions.get(&r))
                    .filter(|s| s.state == V3SessionState::Established)
                    .filter(|s| lsid.is_none_or(|l| l == s.remote_id))
                else {
                    self.stats.link_info_ignored += 1;
                    return;
                };
                let sid = s.local_id;
                match (t, call.active, call.errors) {
                    (SLI, Some(a), _) => self.note_peer_status(sid, Some(a)),
                    (WEN, _, Some(errors)) => self.events.push_back(V3Event::WanError {
                        local_session_id: sid,
                        errors,
                    }),
                    _ => self.stats.link_info_ignored += 1,
                }
            }
            (Some(CDN), _, _) => {
                // The peer names our id in Remote Session ID; before it knew it (a CDN
                // answering our ICRQ still carries it, from our Local Session ID) fall back to
                // its own id.
                let mine = rsid.filter(|r| self.sessions.contains_key(r)).or_else(|| {
                    lsid.and_then(|l| {
                        self.sessions
                            .values()
                            .find(|s| s.remote_id == l && l != 0)
                            .map(|s| s.local_id)
                    })
                });
                if let Some(m) = mine {
                    self.sessions.remove(&m);
                    self.events.push_back(V3Event::SessionDown {
                        local_session_id: m,
                        reason: "CDN from peer",
                    });
                }
            }
            (Some(STOPCCN), _, _) => self.finish("StopCCN from peer"),
            // HELLO: acknowledged by the channel (ZLB); nothing else to do.
            (Some(HELLO), _, _) => {}
            _ => {}
        }
    }

    /// Take the peer's parameters from its SCCRQ/SCCRP; `false` (connection finished with
    /// `missing`, or for a pseudowire type mismatch) when they are unusable.
    fn learn_peer(
        &mut self,
        missing: &'static str,
        ccid: Option<u32>,
        rid: u32,
        nonce: Option<Vec<u8>>,
        window: Option<u16>,
        pw_caps: &[u16],
    ) -> bool {
        let Some(c) = ccid.filter(|c| *c != 0) else {
            self.finish(missing);
            return false;
        };
        if !pw_caps.contains(&self.cfg.pw_type) {
            self.finish("peer does not offer our pseudowire type");
            return false;
        }
        self.peer_ccid = c;
        self.peer_router_id = rid;
        self.peer_nonce = nonce;
        if let Some(w) = window {
            self.channel.set_peer_window(w);
        }
        true
    }

    /// The data path of session `local` once the peer's id and cookie are known.
    /// The data path of session `local`: `tx` and `rx` are the sublayer the peer asked for
    /// and the one we asked for.
    fn path(
        &self,
        local: u32,
        remote: u32,
        send_cookie: Cookie,
        peer_cookie: Cookie,
        tx: bool,
        rx: bool,
    ) -> DataPathV3 {
        DataPathV3 {
            encap: self.cfg.encap,
            remote_session_id: remote,
            local_session_id: local,
            send_cookie,
            peer_cookie,
            l2_sublayer: tx,
            rx_l2_sublayer: rx,
            tx_seq: 0,
        }
    }

    /// The peer's ICRQ (`outgoing == false`) or OCRQ: admission (pseudowire type -> CDN
    /// result 14, session limit -> CDN result 4), then ICRP, or OCRP and OCCN at once (our
    /// side of an outgoing call has no dial-out to wait for: the attachment circuit is bound
    /// when the session exists).
    fn on_call_request(
        &mut self,
        outgoing: bool,
        lsid: Option<u32>,
        pw: Option<u16>,
        cookie: &[u8],
        call: PeerCall,
    ) {
        let (Some(peer_sid), Some(t)) = (lsid.filter(|l| *l != 0), pw) else {
            return;
        };
        if self.sessions.values().any(|s| s.remote_id == peer_sid) {
            return; // a second request for the same call
        }
        let Ok(peer_cookie) = Cookie::new(cookie) else {
            return;
        };
        if !self.session_tie(peer_sid, &call) {
            return;
        }
        if t != self.cfg.pw_type {
            self.stats.sessions_refused += 1;
            self.channel
                .send(self.cdn(0, peer_sid, cdn_result::UNSUPPORTED_PW_TYPE));
            return;
        }
        let sublayer = match call.tx_sublayer() {
            Ok(x) => x,
            Err((code, error)) => {
                self.stats.sessions_refused += 1;
                self.channel.send(self.cdn_error(0, peer_sid, code, error));
                return;
            }
        };
        let Ok(sid) = self.new_session(V3SessionState::WaitConnect, outgoing) else {
            self.stats.sessions_refused += 1;
            self.channel
                .send(self.cdn(0, peer_sid, cdn_result::NO_FACILITIES_TEMP));
            return;
        };
        let send_cookie = self
            .sessions
            .get(&sid)
            .map_or(Cookie::NONE, |s| s.send_cookie);
        // The peer placed the call: its sublayer requirement holds both ways.
        let path = self.path(sid, peer_sid, send_cookie, peer_cookie, sublayer, sublayer);
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.remote_id = peer_sid;
            s.data = Some(path);
            s.sublayer = sublayer;
            s.serial = call.serial;
            s.peer_remote_end_id = call.remote_end_id;
        }
        self.note_peer_status(sid, call.active);
        if outgoing {
            let m = self.session_avps(OCRP, sid);
            self.channel.send(m);
            let m = self.session_avps(OCCN, sid);
            self.channel.send(m);
            if let Some(s) = self.sessions.get_mut(&sid) {
                s.state = V3SessionState::Established;
            }
            self.session_up(sid);
        } else {
            let m = self.session_avps(ICRP, sid);
            self.channel.send(m);
        }
    }

    /// A peer request crossing one of ours for the same circuit: `false` when we win (the
    /// peer's request is refused with CDN result 13), `true` to go on (no tie, or we lost and
    /// dropped our session).
    fn session_tie(&mut self, peer_sid: u32, call: &PeerCall) -> bool {
        let Some(theirs) = call.tie else {
            return true;
        };
        if call.remote_end_id.is_empty() {
            return true; // names no circuit
        }
        let Some((mine, ours)) = self
            .sessions
            .values()
            .filter(|s| s.state == V3SessionState::WaitReply)
            .filter(|s| s.remote_end_id == call.remote_end_id)
            .filter_map(|s| Some((s.local_id, s.tie?)))
            .min_by_key(|(_, t)| *t)
        else {
            return true;
        };
        self.stats.session_ties += 1;
        if ours < theirs {
            self.channel
                .send(self.cdn(0, peer_sid, cdn_result::LOST_TIE_BREAKER));
            return false;
        }
        self.sessions.remove(&mine);
        self.queued_icrq.retain(|x| *x != mine);
        self.events.push_back(V3Event::SessionDown {
            local_session_id: mine,
            reason: "lost the session tie breaker",
        });
        true
    }

    /// Record the peer's circuit status for a session; an event when it changed.
    fn note_peer_status(&mut self, sid: u32, active: Option<bool>) {
        let Some(active) = active else {
            return;
        };
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if s.peer_active != Some(active) {
            s.peer_active = Some(active);
            self.events.push_back(V3Event::PeerCircuitStatus {
                local_session_id: sid,
                active,
            });
        }
    }

    /// A session reached `Established`: the event, then an SLI if our circuit changed while
    /// it was being set up.
    fn session_up(&mut self, sid: u32) {
        let Some(s) = self.sessions.get(&sid) else {
            return;
        };
        self.events.push_back(V3Event::SessionUp {
            local_session_id: sid,
            remote_session_id: s.remote_id,
        });
        self.send_sli_if_changed(sid);
    }

    /// True once the first session is up and data may be sent on it.
    pub fn session_ready(&self) -> bool {
        self.state == V3State::Established
            && self
                .sessions
                .get(&self.primary_sid)
                .is_some_and(|s| s.state == V3SessionState::Established)
    }

    /// Encapsulate a frame of the first session into `out` (no allocation).
    pub fn encapsulate(&mut self, frame: &[u8], out: &mut [u8]) -> Result<usize> {
        self.encapsulate_session(self.primary_sid, frame, out)
    }

    /// Encapsulate a frame of session `local_session_id` into `out` (no allocation).
    pub fn encapsulate_session(
        &mut self,
        local_session_id: u32,
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        match self
            .sessions
            .get_mut(&local_session_id)
            .and_then(|s| s.data.as_mut())
        {
            Some(d) => d.encapsulate(frame, out),
            None => Err(Error::State("no such session, or not up")),
        }
    }

    /// Next control datagram to send (signed), if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let out = self.channel.poll_transmit(now)?;
        let (ns, nr, avps) = match out {
            Outgoing::Message { ns, nr, msg, .. } => (ns, nr, msg),
            Outgoing::Zlb { ns, nr } => (ns, nr, Vec::new()),
        };
        let is_sccrq = avps.first().and_then(|a| match a.typed() {
            Ok(Some(AvpValue::MessageType(t))) => Some(t),
            _ => None,
        }) == Some(SCCRQ);
        let mut m = ControlMessageV3 {
            ccid: self.peer_ccid,
            ns,
            nr,
            avps,
        };
        let prefix: Vec<&[u8]> = match (&self.peer_nonce, is_sccrq) {
            (Some(p), false) => vec![self.local_nonce.as_slice(), p.as_slice()],
            _ => Vec::new(),
        };
        sign_with(&mut m, self.cfg.encap, self.hash(), &self.key, &prefix).ok()
    }

    fn hello_deadline(&self) -> Option<Instant> {
        if self.state != V3State::Established {
            return None;
        }
        Some(self.last_rx? + self.cfg.control.hello_interval?)
    }

    /// Earliest deadline: retransmission, HELLO, reorder timeouts.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.channel.poll_timeout();
        let mut min = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |c| c.min(x)));
            }
        };
        min(self.hello_deadline());
        for s in self.sessions.values() {
            min(s.reorder.as_ref().and_then(|r| r.poll_timeout()));
        }
        t
    }

    /// Timers: retransmission, ack delay, HELLO, reorder timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.channel.handle_timeout(now);
        if self.channel.failed() {
            self.finish("retransmission limit");
            return;
        }
        if self.hello_deadline().is_some_and(|d| now >= d) {
            self.last_rx = Some(now);
            self.stats.hellos_sent += 1;
            self.channel
                .send(vec![Avp::m(&AvpValue::MessageType(HELLO))]);
        }
        for (sid, s) in self.sessions.iter_mut() {
            if let Some(r) = s.reorder.as_mut() {
                if r.poll_timeout().is_some_and(|d| d <= now) {
                    r.handle_timeout(now);
                    if rb_has_ready(r) && !self.ready.contains(sid) {
                        self.ready.push_back(*sid);
                    }
                }
            }
        }
    }
}

/// Session AVPs of a received ICRQ/OCRQ/reply/SLI/WEN beyond the ids.
#[derive(Default)]
struct PeerCall {
    serial: u32,
    remote_end_id: Vec<u8>,
    active: Option<bool>,
    errors: Option<CircuitErrors>,
    l2ss: Option<u16>,
    sequencing: Option<u16>,
    tie: Option<[u8; 8]>,
}

impl PeerCall {
    /// Whether we must send the default L2-Specific Sublayer to the peer, from its
    /// L2-Specific Sublayer AVP (absent: none, the default of the Ethernet and PPP
    /// pseudowires) and Data Sequencing AVP; `Err((result, error))` for a CDN.
    fn tx_sublayer(&self) -> std::result::Result<bool, (u16, Option<u16>)> {
        let tx = match self.l2ss.unwrap_or(0) {
            0 => false,
            1 => true,
            _ => return Err((cdn_result::GENERAL_ERROR, Some(3))),
        };
        if !tx && self.sequencing.unwrap_or(0) != 0 {
            return Err((cdn_result::SEQUENCING_WITHOUT_SUBLAYER, None));
        }
        Ok(tx)
    }
}

fn rb_has_ready(r: &ReorderBuffer) -> bool {
    r.ready_len() > 0
}

fn nonzero(rng: &mut ChaCha20Rng) -> u32 {
    loop {
        let v = rng.next_u32();
        if v != 0 {
            break v;
        }
    }
}

/// Key of AVP hiding in L2TPv3 (RFC 3931 s5.3): `HMAC_Hash(secret, 1)` (the Message Digest
/// key of s5.4.1 uses the octet 2). With digest `none`, HMAC-MD5.
pub fn hide_key(hash: DigestHash, secret: &[u8]) -> Vec<u8> {
    let h = if hash == DigestHash::None {
        DigestHash::Md5
    } else {
        hash
    };
    h.hmac(secret, &[&[1u8]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hiding_key_and_hidden_cookie_known_answer() {
        // HMAC-MD5("secret", 0x01), value from Python's hmac module.
        let k = hide_key(DigestHash::Md5, b"secret");
        assert_eq!(hex(&k), "6f9f790a8110719177da100287dae7b8");
        assert_eq!(hide_key(DigestHash::None, b"secret"), k);
        // RFC 2661 s4.3 stream with that key: MD5(type 65 | key | RV) XOR (length | cookie),
        // expected bytes from Python's hashlib.
        let rv: Vec<u8> = (0..16).collect();
        let mut a = Avp::m(&AvpValue::AssignedCookie(vec![1, 2, 3, 4, 5, 6, 7, 8]));
        a.hide(&k, &rv, &[]).unwrap();
        assert!(a.hidden);
        assert_eq!(hex(&a.value), "6e4cb1ad212e28f7c599");
        a.unhide(&k, &rv).unwrap();
        assert_eq!(a.value, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn sccrq_carries_tie_breaker_with_m_bit_clear_and_icrq_cdn_layout() {
        let mut c = ControlConnectionV3::with_seed(
            V3Config {
                secret: None,
                encap: Encap::Ip,
                cookie_len: 4,
                ..V3Config::default()
            },
            true,
            [7; 32],
        )
        .unwrap();
        let t = Instant::now();
        c.connect(t).unwrap();
        let b = c.poll_transmit(t).unwrap();
        // over IP: 4 zero bytes of Session ID, then the control header (T, L, S, Ver 3)
        assert_eq!(&b[..6], &[0, 0, 0, 0, 0xc8, 0x03]);
        assert_eq!(usize::from(u16::from_be_bytes([b[6], b[7]])), b.len() - 4);
        let m = ControlMessageV3::parse(Encap::Ip, &b).unwrap();
        assert_eq!(m.ccid, 0);
        let tb = m.avps.iter().find(|a| a.is(attr::TIE_BREAKER)).unwrap();
        assert!(!tb.mandatory);
        assert_eq!(tb.value.len(), 8);
        let mut enc = Vec::new();
        tb.emit_vec(&mut enc).unwrap();
        // |M=0 H=0 len=14|vendor 0|type 5| 8 bytes
        assert_eq!(&enc[..6], &[0x00, 0x0e, 0, 0, 0, 5]);
        // ICRQ and CDN bodies of one session
        let sid = c.local_session_id();
        let icrq = c.session_avps(ICRQ, sid);
        let types: Vec<u16> = icrq.iter().map(|a| a.attr_type).collect();
        assert_eq!(
            types,
            vec![
                attr::MESSAGE_TYPE,
                attr::LOCAL_SESSION_ID,
                attr::REMOTE_SESSION_ID,
                attr::CALL_SERIAL_NUMBER,
                attr::PSEUDOWIRE_TYPE,
                attr::REMOTE_END_ID,
                attr::TIE_BREAKER,
                attr::CIRCUIT_STATUS,
                attr::ASSIGNED_COOKIE,
                attr::L2_SPECIFIC_SUBLAYER
            ]
        );
        // every AVP mandatory except the Session Tie Breaker
        assert!(icrq.iter().all(|a| a.mandatory != a.is(attr::TIE_BREAKER)));
        assert_eq!(icrq[6].value.len(), 8);
        assert_eq!(icrq[1].value, sid.to_be_bytes());
        assert_eq!(icrq[2].value, [0, 0, 0, 0]);
        assert_eq!(icrq[3].value, [0, 0, 0, 1]); // first call of this connection
        assert_eq!(icrq[4].value, PW_ETHERNET.to_be_bytes());
        assert_eq!(icrq[5].value, b"");
        assert_eq!(icrq[7].value, [0, 0b11]); // new circuit, active
        assert_eq!(icrq[8].value.len(), 4);
        let cdn = c.cdn(sid, 0x0102_0304, cdn_result::UNSUPPORTED_PW_TYPE);
        let mut body = Vec::new();
        crate::wire::avp::emit_avps(&cdn, &mut body).unwrap();
        assert_eq!(
            hex(&body),
            "80080000000000 0e 80080000000100 0e 800a0000003f".replace(' ', "")
                + &hex(&sid.to_be_bytes())
                + "800a0000004001020304"
        );
    }
}
