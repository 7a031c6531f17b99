//! A control protocol = the generic [`Fsm`] + a protocol-specific [`Negotiator`].
//!
//! [`Cp`] decodes the packets common to every control protocol (codes 1-7), turns them into
//! automaton events, carries out the automaton's send actions, and hands the layer actions
//! (tlu/tld/tls/tlf) back to the session as [`Signal`]s. LCP adds its extra codes (8-13) through
//! [`Negotiator::extra_code`]; CCP (14, 15) will plug in the same way.

use crate::fsm::{Action, Event as Ev, Fsm, State, Timers};
use crate::wire::cp::{code, CpPacket, RawOption};
use rand_core::RngCore;
use std::time::Instant;

/// Layer actions the session must react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Up,
    Down,
    Started,
    Finished,
}

/// Output collected while processing one input.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub rng: &'a mut dyn RngCore,
    /// (protocol, information field) to send.
    pub frames: Vec<(u16, Vec<u8>)>,
    /// (protocol, signal) for the session.
    pub signals: Vec<(u16, Signal)>,
    /// Extra notes from negotiators (LCP Protocol-Reject, echo replies ...).
    pub notes: Vec<Note>,
    /// The reply an `sca`/`scn`/`ser` of the event being processed sends (code, id, data):
    /// transient, so it lives here and not in every [`Cp`].
    pending: Option<(u8, u8, Vec<u8>)>,
    /// The packet an `scj` of the event being processed rejects.
    reject_pkt: Vec<u8>,
}

/// Non-automaton things a negotiator reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    ProtocolRejected(u16),
    EchoReply,
    Loopback,
    PeerTerminate(String),
    AuthUnacceptable,
    /// CCP Reset-Request received in Opened (the reply is sent by the automaton).
    CcpResetRequest,
    /// CCP Reset-Ack received.
    CcpResetAck,
}

impl<'a> Ctx<'a> {
    pub fn new(now: Instant, rng: &'a mut dyn RngCore) -> Self {
        Ctx {
            now,
            rng,
            frames: Vec::new(),
            signals: Vec::new(),
            notes: Vec::new(),
            pending: None,
            reject_pkt: Vec::new(),
        }
    }
}

/// Result of judging a Configure-Request.
pub(crate) struct Judgement {
    /// CONFIGURE_ACK, CONFIGURE_NAK or CONFIGURE_REJECT.
    pub code: u8,
    /// Options for the reply.
    pub options: Vec<u8>,
}

/// The Configure-Nak and Configure-Reject lists a [`Negotiator::judge`] builds while it walks
/// the peer's options (RFC 1661 §5.3/5.4: any rejected option makes the reply a Reject, else
/// any nak'd option makes it a Nak, else the request is Acked as received).
pub(crate) struct Replies {
    nak: Vec<u8>,
    rej: Vec<u8>,
    /// Max-Failure reached: options we would Nak are Rejected instead (RFC 1661 §4.6).
    reject_instead_of_nak: bool,
}

impl Replies {
    pub fn new(reject_instead_of_nak: bool) -> Self {
        Replies {
            nak: Vec::new(),
            rej: Vec::new(),
            reject_instead_of_nak,
        }
    }

    /// Reject `raw` as received.
    pub fn reject(&mut self, raw: &RawOption<'_>) {
        raw.emit(&mut self.rej);
    }

    /// Nak `raw`, suggesting what `suggest` emits (or reject it after Max-Failure).
    pub fn nak(&mut self, raw: &RawOption<'_>, suggest: impl FnOnce(&mut Vec<u8>)) {
        if self.reject_instead_of_nak {
            self.reject(raw);
        } else {
            suggest(&mut self.nak);
        }
    }

    /// The reply to a request whose options were `opts`.
    pub fn judgement(self, opts: &[u8]) -> Judgement {
        if !self.rej.is_empty() {
            Judgement {
                code: code::CONFIGURE_REJECT,
                options: self.rej,
            }
        } else if !self.nak.is_empty() {
            Judgement {
                code: code::CONFIGURE_NAK,
                options: self.nak,
            }
        } else {
            Judgement {
                code: code::CONFIGURE_ACK,
                options: opts.to_vec(),
            }
        }
    }
}

/// What an extra code means for the automaton.
pub(crate) enum Extra {
    /// RXR (echo/discard); optional reply packet (code, identifier, data).
    Rxr(Option<(u8, u8, Vec<u8>)>),
    /// RXJ+ / RXJ-.
    Rxj(bool),
    /// Handled with no automaton event.
    Ignore,
    /// Unknown code: RUC (Code-Reject).
    Unknown,
}

/// Protocol-specific option handling.
pub(crate) trait Negotiator {
    /// New negotiation begins (This-Layer-Started / Initialize): reset wanted options.
    fn reset(&mut self, ctx: &mut Ctx<'_>);
    /// Options for our Configure-Request.
    fn build_request(&mut self, ctx: &mut Ctx<'_>) -> Vec<u8>;
    /// Judge the peer's request; `reject_instead_of_nak` when Max-Failure is reached.
    fn judge(&mut self, opts: &[u8], reject_instead_of_nak: bool, ctx: &mut Ctx<'_>) -> Judgement;
    /// Peer acked our request (already checked to match).
    fn acked(&mut self, opts: &[u8], ctx: &mut Ctx<'_>);
    /// Peer nak'd.
    fn naked(&mut self, opts: &[u8], ctx: &mut Ctx<'_>);
    /// Peer rejected.
    fn rejected(&mut self, opts: &[u8], ctx: &mut Ctx<'_>);
    /// Codes beyond 7.
    fn extra_code(
        &mut self,
        _code: u8,
        _id: u8,
        _data: &[u8],
        _state: State,
        _ctx: &mut Ctx<'_>,
    ) -> Extra {
        Extra::Unknown
    }
}

/// Counters of a control protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpCounters {
    /// Packets received that were malformed.
    pub malformed: u64,
    /// Replies with a wrong identifier or content (silently discarded).
    pub stale: u64,
    /// Code-Rejects sent.
    pub code_rejects_sent: u64,
    /// Configure-Requests sent.
    pub requests_sent: u64,
}

/// What a control protocol keeps for an L2TP proxy LCP hand-off.
#[derive(Default)]
pub(crate) struct ProxyState {
    /// The peer's first Configure-Request of this negotiation ("Initial Received LCP
    /// CONFREQ").
    first_peer_req: Option<Vec<u8>>,
    /// Options of a peer request acknowledged by someone else (the LAC): a retransmission of
    /// it is re-acked, whatever its identifier.
    assumed_acked: Option<Vec<u8>>,
}

pub(crate) struct Cp<N> {
    pub protocol: u16,
    pub fsm: Fsm,
    pub neg: N,
    next_id: u8,
    req_id: u8,
    req_acked: bool,
    last_req: Vec<u8>,
    last_acked_peer: Option<(u8, Vec<u8>)>,
    /// L2TP proxy LCP state (LCP only; boxed, as most sessions never need it).
    proxy: Option<Box<ProxyState>>,
    retransmit: bool,
    term_id: u8,
    pub counters: CpCounters,
    pub mru: usize,
}

impl<N: Negotiator> Cp<N> {
    pub fn new(protocol: u16, timers: Timers, neg: N) -> Self {
        Cp {
            protocol,
            fsm: Fsm::new(timers),
            neg,
            next_id: 1,
            req_id: 0,
            req_acked: false,
            last_req: Vec::new(),
            last_acked_peer: None,
            proxy: None,
            retransmit: false,
            term_id: 0,
            counters: CpCounters::default(),
            mru: 1500,
        }
    }

    pub fn state(&self) -> State {
        self.fsm.state()
    }

    /// Apply an automaton event and carry out its actions.
    pub fn event(&mut self, ev: Ev, ctx: &mut Ctx<'_>) {
        let actions = self.fsm.event(ctx.now, ev);
        self.run(actions, ctx);
    }

    fn send(&mut self, code: u8, id: u8, data: &[u8], ctx: &mut Ctx<'_>) {
        ctx.frames.push((
            self.protocol,
            CpPacket {
                code,
                identifier: id,
                data,
            }
            .to_vec(),
        ));
    }

    fn run(&mut self, actions: &[Action], ctx: &mut Ctx<'_>) {
        for a in actions {
            match a {
                Action::Tlu => ctx.signals.push((self.protocol, Signal::Up)),
                Action::Tld => ctx.signals.push((self.protocol, Signal::Down)),
                Action::Tls => {
                    if let Some(p) = self.proxy.as_mut() {
                        p.first_peer_req = None;
                    }
                    self.neg.reset(ctx);
                    ctx.signals.push((self.protocol, Signal::Started));
                }
                Action::Tlf => ctx.signals.push((self.protocol, Signal::Finished)),
                Action::Irc | Action::Zrc => {}
                Action::Scr => {
                    let opts = self.neg.build_request(ctx);
                    // A timeout retransmission of an unanswered, unchanged request keeps its
                    // identifier (RFC 1661 s5.1 "MAY remain unchanged"), so a peer that already
                    // acked it can tell it from a renegotiation.
                    let same = self.retransmit && !self.req_acked && opts == self.last_req;
                    if !same {
                        self.req_id = self.next_id;
                        self.next_id = self.next_id.wrapping_add(1);
                    }
                    self.req_acked = false;
                    self.last_req = opts;
                    let (id, data) = (self.req_id, std::mem::take(&mut self.last_req));
                    self.send(code::CONFIGURE_REQUEST, id, &data, ctx);
                    self.last_req = data;
                    self.counters.requests_sent += 1;
                }
                Action::Sca | Action::Scn => {
                    if let Some((c, id, data)) = ctx.pending.take() {
                        if c == code::CONFIGURE_ACK {
                            self.last_acked_peer = Some((id, data.clone()));
                        }
                        self.send(c, id, &data, ctx);
                    }
                }
                Action::Str => {
                    let id = self.next_id;
                    self.next_id = self.next_id.wrapping_add(1);
                    self.send(code::TERMINATE_REQUEST, id, &[], ctx);
                }
                Action::Sta => {
                    let id = self.term_id;
                    self.send(code::TERMINATE_ACK, id, &[], ctx);
                }
                Action::Scj => {
                    let id = self.next_id;
                    self.next_id = self.next_id.wrapping_add(1);
                    let mut pkt = std::mem::take(&mut ctx.reject_pkt);
                    pkt.truncate(self.mru.saturating_sub(4));
                    self.send(code::CODE_REJECT, id, &pkt, ctx);
                    self.counters.code_rejects_sent += 1;
                }
                Action::Ser => {
                    if let Some((c, id, data)) = ctx.pending.take() {
                        self.send(c, id, &data, ctx);
                    }
                }
            }
        }
        if !actions.contains(&Action::Sca)
            && !actions.contains(&Action::Scn)
            && !actions.contains(&Action::Ser)
        {
            ctx.pending = None;
        }
    }

    /// Process a received packet (the information field of a frame of this protocol).
    pub fn input(&mut self, info: &[u8], ctx: &mut Ctx<'_>) {
        let pkt = match CpPacket::parse(info) {
            Ok(p) => p,
            Err(_) => {
                self.counters.malformed += 1;
                return;
            }
        };
        let st = self.fsm.state();
        if matches!(st, State::Initial | State::Starting) {
            // Lower layer not up: nothing is legal; discard.
            self.counters.stale += 1;
            return;
        }
        self.term_id = pkt.identifier;
        match pkt.code {
            code::CONFIGURE_REQUEST => {
                if crate::wire::cp::parse_options(pkt.data).is_err() {
                    self.counters.malformed += 1;
                    return;
                }
                // The request we already acked, again, after we reached Opened: the peer
                // retransmitted it because our Ack was lost (or the link duplicated it). A new
                // request would carry a new identifier (RFC 1661 s5.1), so repeat the Ack
                // instead of renegotiating.
                if self.protocol == crate::wire::protocol::LCP {
                    let p = self.proxy.get_or_insert_with(Default::default);
                    if p.first_peer_req.is_none() {
                        p.first_peer_req = Some(pkt.data.to_vec());
                    }
                }
                if st == State::Opened
                    && (self
                        .last_acked_peer
                        .as_ref()
                        .is_some_and(|(id, d)| *id == pkt.identifier && d.as_slice() == pkt.data)
                        || self
                            .proxy
                            .as_ref()
                            .is_some_and(|p| p.assumed_acked.as_deref() == Some(pkt.data)))
                {
                    self.counters.stale += 1;
                    let data = pkt.data.to_vec();
                    self.send(code::CONFIGURE_ACK, pkt.identifier, &data, ctx);
                    return;
                }
                let ev = if matches!(st, State::Closed | State::Closing | State::Stopping) {
                    Ev::RcrPlus // the response is sta or nothing; the judgement is unused
                } else {
                    let j = self.neg.judge(pkt.data, self.fsm.failure_exceeded(), ctx);
                    let plus = j.code == code::CONFIGURE_ACK;
                    if j.code == code::CONFIGURE_NAK {
                        self.fsm.nak_sent();
                    }
                    ctx.pending = Some((j.code, pkt.identifier, j.options));
                    if plus {
                        Ev::RcrPlus
                    } else {
                        Ev::RcrMinus
                    }
                };
                self.event(ev, ctx);
            }
            code::CONFIGURE_ACK => {
                // Wrong identifier or content, or a duplicate of an Ack already processed.
                if pkt.identifier != self.req_id
                    || pkt.data != self.last_req.as_slice()
                    || self.req_acked
                {
                    self.counters.stale += 1;
                    return;
                }
                self.req_acked = true;
                if matches!(
                    st,
                    State::ReqSent | State::AckSent | State::AckRcvd | State::Opened
                ) {
                    let data = pkt.data.to_vec();
                    self.neg.acked(&data, ctx);
                }
                self.event(Ev::Rca, ctx);
            }
            code::CONFIGURE_NAK | code::CONFIGURE_REJECT => {
                if pkt.identifier != self.req_id
                    || crate::wire::cp::parse_options(pkt.data).is_err()
                {
                    self.counters.stale += 1;
                    return;
                }
                if matches!(
                    st,
                    State::ReqSent | State::AckSent | State::AckRcvd | State::Opened
                ) {
                    if pkt.code == code::CONFIGURE_NAK {
                        self.neg.naked(pkt.data, ctx);
                    } else {
                        self.neg.rejected(pkt.data, ctx);
                    }
                }
                self.event(Ev::Rcn, ctx);
            }
            code::TERMINATE_REQUEST => {
                if st == State::Opened {
                    ctx.notes.push(Note::PeerTerminate(
                        String::from_utf8_lossy(pkt.data).into_owned(),
                    ));
                }
                self.event(Ev::Rtr, ctx);
            }
            code::TERMINATE_ACK => self.event(Ev::Rta, ctx),
            code::CODE_REJECT => {
                // Rejecting a code we need (1..7) is catastrophic (RFC 1661 s5.6).
                let rejected = pkt.data.first().copied().unwrap_or(0);
                let fatal = (1..=7).contains(&rejected);
                self.event(if fatal { Ev::RxjMinus } else { Ev::RxjPlus }, ctx);
            }
            c => match self.neg.extra_code(c, pkt.identifier, pkt.data, st, ctx) {
                Extra::Rxr(reply) => {
                    ctx.pending = reply;
                    self.event(Ev::Rxr, ctx);
                }
                Extra::Rxj(plus) => self.event(if plus { Ev::RxjPlus } else { Ev::RxjMinus }, ctx),
                Extra::Ignore => {}
                Extra::Unknown => {
                    ctx.reject_pkt = info.get(..4 + pkt.data.len()).unwrap_or(info).to_vec();
                    self.event(Ev::Ruc, ctx);
                }
            },
        }
    }

    pub fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        if let Some((_, actions)) = self.fsm.handle_timeout(ctx.now) {
            self.retransmit = true;
            self.run(actions, ctx);
            self.retransmit = false;
        }
    }

    /// The peer's first request, our last request and the peer request we acked, as option
    /// lists (for the proxy LCP AVPs of an L2TP LAC).
    pub fn proxy_view(&self) -> (Option<&[u8]>, &[u8], Option<&[u8]>) {
        (
            self.proxy
                .as_ref()
                .and_then(|p| p.first_peer_req.as_deref()),
            &self.last_req,
            self.last_acked_peer.as_ref().map(|(_, d)| d.as_slice()),
        )
    }

    /// Forget the proxy LCP state (once the session is past authentication).
    pub fn drop_proxy_state(&mut self) {
        self.proxy = None;
    }

    /// Treat `options` as a peer request already acknowledged (proxy LCP hand-off).
    pub fn assume_acked(&mut self, options: Vec<u8>) {
        self.proxy
            .get_or_insert_with(Default::default)
            .assumed_acked = Some(options);
    }

    /// Send a packet with a fresh identifier (LCP Echo-Request, Protocol-Reject).
    pub fn send_new(&mut self, code: u8, data: &[u8], ctx: &mut Ctx<'_>) -> u8 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.send(code, id, data, ctx);
        id
    }
}
