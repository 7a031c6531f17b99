//! LCP option negotiation (RFC 1661 s6, RFC 1662 s7.1, RFC 1990 s5.1) and the LCP-only codes
//! 8-13 (Protocol-Reject, Echo, Discard, Identification, Time-Remaining).

use crate::config::{AuthMethod, AuthSet, Config, Role};
use crate::cp::{Ctx, Extra, Judgement, Negotiator, Note, Replies};
use crate::fsm::State;
use crate::wire::cp::{code, options, LcpOption};

/// What LCP settled on, for each direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcpNegotiated {
    /// Our MRU (acked by the peer; 1500 if not negotiated).
    pub mru: u16,
    /// The peer's MRU (what we may send; 1500 if not negotiated).
    pub peer_mru: u16,
    /// ACCM the peer asked us to use when sending (async HDLC only).
    pub tx_accm: u32,
    /// Our Magic-Number (0 if not negotiated).
    pub magic: u32,
    /// The peer's Magic-Number (0 if not negotiated).
    pub peer_magic: u32,
    /// The peer accepts compressed protocol fields from us.
    pub tx_pfc: bool,
    /// The peer accepts frames without address/control from us.
    pub tx_acfc: bool,
    /// The method the peer will authenticate with (server role).
    pub auth_peer: Option<AuthMethod>,
    /// The method we must authenticate with (client role).
    pub auth_self: Option<AuthMethod>,
    /// Peer's Endpoint-Discriminator (class, address) if it sent one.
    pub peer_endpoint: Option<(u8, Vec<u8>)>,
    /// Our MRRU, acked by the peer (RFC 1990; `None`: not negotiated).
    pub mrru: Option<u16>,
    /// The peer's MRRU, which we acked (the largest reconstructed packet we may send).
    pub peer_mrru: Option<u16>,
    /// The peer acked our Short-Sequence-Number-Header-Format: it sends us 12-bit headers.
    pub rx_short_seq: bool,
    /// The peer asked for short sequence numbers: we send it 12-bit headers.
    pub tx_short_seq: bool,
    /// Our Endpoint-Discriminator (class, address), acked by the peer.
    pub endpoint: Option<(u8, Vec<u8>)>,
}

impl LcpNegotiated {
    /// Multilink is in effect: both sides announced an MRRU (RFC 1990 s5.1.1).
    pub fn multilink(&self) -> bool {
        self.mrru.is_some() && self.peer_mrru.is_some()
    }
}

impl Default for LcpNegotiated {
    fn default() -> Self {
        LcpNegotiated {
            mru: 1500,
            peer_mru: 1500,
            tx_accm: crate::wire::hdlc::DEFAULT_ACCM,
            magic: 0,
            peer_magic: 0,
            tx_pfc: false,
            tx_acfc: false,
            auth_peer: None,
            auth_self: None,
            peer_endpoint: None,
            mrru: None,
            peer_mrru: None,
            rx_short_seq: false,
            tx_short_seq: false,
            endpoint: None,
        }
    }
}

/// A short ordered list of distinct methods, inline (no allocation per session).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MethodList {
    items: [Option<AuthMethod>; 5],
}

impl MethodList {
    fn from_iter(it: impl Iterator<Item = AuthMethod>) -> Self {
        let mut l = MethodList::default();
        let mut n = 0;
        for m in it {
            if n < l.items.len() && !l.contains(&m) {
                l.items[n] = Some(m);
                n += 1;
            }
        }
        l
    }
    fn iter(&self) -> impl Iterator<Item = &AuthMethod> + '_ {
        self.items.iter().map_while(Option::as_ref)
    }
    fn len(&self) -> usize {
        self.iter().count()
    }
    fn is_empty(&self) -> bool {
        self.items[0].is_none()
    }
    fn get(&self, i: usize) -> Option<&AuthMethod> {
        self.items.get(i).and_then(Option::as_ref)
    }
    fn contains(&self, m: &AuthMethod) -> bool {
        self.iter().any(|x| x == m)
    }
}

pub(crate) struct Lcp {
    role: Role,
    max_mru: u16,
    accm: Option<u32>,
    request_pfc: bool,
    request_acfc: bool,
    magic_enabled: bool,
    mrru: Option<u16>,
    short_seq: bool,
    endpoint: Option<[u8; 4]>,
    allow: AuthSet,
    /// Server: the methods to propose, in order (fixed capacity: at most the five methods).
    candidates: MethodList,
    /// The preference order (client: the method to Nak towards).
    preference: MethodList,
    // What we request now.
    want_mru: Option<u16>,
    want_accm: Option<u32>,
    want_auth_idx: Option<usize>,
    want_magic: Option<u32>,
    want_pfc: bool,
    want_acfc: bool,
    want_mrru: Option<u16>,
    want_ssnhf: bool,
    want_endpoint: Option<[u8; 4]>,
    loops: u32,
    pub neg: LcpNegotiated,
}

fn nonzero_random(ctx: &mut Ctx<'_>) -> u32 {
    loop {
        let v = ctx.rng.next_u32();
        if v != 0 {
            return v;
        }
    }
}

impl Lcp {
    pub fn new(cfg: &Config, role: Role) -> Self {
        let candidates = if role == Role::Server {
            MethodList::from_iter(
                cfg.auth_preference
                    .iter()
                    .copied()
                    .filter(|m| cfg.authentication.contains(*m)),
            )
        } else {
            MethodList::default()
        };
        Lcp {
            role,
            max_mru: cfg.max_mru,
            accm: cfg.accm,
            request_pfc: cfg.request_pfc,
            request_acfc: cfg.request_acfc,
            magic_enabled: !cfg.quirks.no_magic_number,
            mrru: cfg.mrru,
            short_seq: cfg.mp_short_sequence,
            endpoint: cfg.mp_endpoint_discriminator,
            allow: cfg.allow,
            candidates,
            preference: MethodList::from_iter(cfg.auth_preference.iter().copied()),
            want_mru: None,
            want_accm: None,
            want_auth_idx: None,
            want_magic: None,
            want_pfc: false,
            want_acfc: false,
            want_mrru: None,
            want_ssnhf: false,
            want_endpoint: None,
            loops: 0,
            neg: LcpNegotiated::default(),
        }
    }

    /// True when this side demands authentication.
    pub fn requires_auth(&self) -> bool {
        !self.candidates.is_empty()
    }

    fn want_auth(&self) -> Option<AuthMethod> {
        self.want_auth_idx
            .and_then(|i| self.candidates.get(i).copied())
    }

    fn best_allowed(&self) -> Option<AuthMethod> {
        self.preference
            .iter()
            .copied()
            .find(|m| self.allow.contains(*m))
    }

    /// Pre-set the negotiated state from proxied LCP (L2TP LNS). Returns false if unacceptable.
    pub fn adopt_proxy(
        &mut self,
        last_sent: &[u8],
        last_received: &[u8],
        ctx: &mut Ctx<'_>,
    ) -> bool {
        self.reset(ctx);
        // What the LAC asked the client for becomes "ours".
        let mut ours = LcpNegotiated::default();
        for o in options(last_sent) {
            let Ok(o) = o else { return false };
            match LcpOption::parse(&o) {
                Ok(LcpOption::Mru(m)) if m <= self.max_mru => ours.mru = m,
                Ok(LcpOption::Mru(_)) => return false,
                Ok(LcpOption::MagicNumber(m)) => ours.magic = m,
                Ok(LcpOption::AuthProtocol { protocol, data }) => {
                    match AuthMethod::from_lcp_option(protocol, &data) {
                        Some(m) if self.candidates.contains(&m) => ours.auth_peer = Some(m),
                        _ => return false,
                    }
                }
                Ok(LcpOption::Accm(_) | LcpOption::Pfc | LcpOption::Acfc) => {}
                Ok(LcpOption::Mrru(m)) if self.mrru.is_some() => ours.mrru = Some(m),
                Ok(LcpOption::Ssnhf) if self.mrru.is_some() => ours.rx_short_seq = true,
                Ok(LcpOption::EndpointDiscriminator { class, address }) => {
                    ours.endpoint = Some((class, address))
                }
                _ => return false,
            }
        }
        if self.requires_auth() && ours.auth_peer.is_none() {
            return false;
        }
        let j = self.judge(last_received, true, ctx);
        if j.code != code::CONFIGURE_ACK {
            return false;
        }
        let theirs = std::mem::take(&mut self.neg);
        self.neg = LcpNegotiated {
            mru: ours.mru,
            magic: ours.magic,
            auth_peer: ours.auth_peer,
            mrru: ours.mrru,
            rx_short_seq: ours.rx_short_seq,
            endpoint: ours.endpoint,
            ..theirs
        };
        true
    }
}

impl Negotiator for Lcp {
    fn reset(&mut self, ctx: &mut Ctx<'_>) {
        self.want_mru = (self.max_mru != 1500).then_some(self.max_mru);
        self.want_accm = self.accm;
        self.want_auth_idx = (!self.candidates.is_empty()).then_some(0);
        self.want_magic = self.magic_enabled.then(|| nonzero_random(ctx));
        self.want_pfc = self.request_pfc;
        self.want_acfc = self.request_acfc;
        self.want_mrru = self.mrru;
        self.want_ssnhf = self.mrru.is_some() && self.short_seq;
        let fixed = self.endpoint;
        self.want_endpoint = self
            .mrru
            .map(|_| fixed.unwrap_or_else(|| ctx.rng.next_u32().to_be_bytes()));
        self.loops = 0;
        self.neg = LcpNegotiated::default();
    }

    fn build_request(&mut self, _ctx: &mut Ctx<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(m) = self.want_mru {
            LcpOption::Mru(m).emit(&mut v);
        }
        if let Some(a) = self.want_accm {
            LcpOption::Accm(a).emit(&mut v);
        }
        if let Some(m) = self.want_auth() {
            let (protocol, data) = m.lcp_option();
            LcpOption::AuthProtocol {
                protocol,
                data: data.to_vec(),
            }
            .emit(&mut v);
        }
        if let Some(m) = self.want_magic {
            LcpOption::MagicNumber(m).emit(&mut v);
        }
        if self.want_pfc {
            LcpOption::Pfc.emit(&mut v);
        }
        if self.want_acfc {
            LcpOption::Acfc.emit(&mut v);
        }
        if let Some(m) = self.want_mrru {
            LcpOption::Mrru(m).emit(&mut v);
        }
        if self.want_ssnhf {
            LcpOption::Ssnhf.emit(&mut v);
        }
        if let Some(a) = self.want_endpoint {
            // Class 1, locally assigned address (RFC 1990 s5.1.3).
            LcpOption::EndpointDiscriminator {
                class: 1,
                address: a.to_vec(),
            }
            .emit(&mut v);
        }
        v
    }

    fn judge(&mut self, opts: &[u8], reject_instead_of_nak: bool, ctx: &mut Ctx<'_>) -> Judgement {
        let mut r = Replies::new(reject_instead_of_nak);
        let mut peer = LcpNegotiated {
            mru: self.neg.mru,
            magic: self.neg.magic,
            auth_peer: self.neg.auth_peer,
            ..LcpNegotiated::default()
        };
        for raw in options(opts).flatten() {
            match LcpOption::parse(&raw) {
                Err(_) => r.reject(&raw),
                Ok(LcpOption::Mru(m)) => {
                    if m < 64 {
                        r.nak(&raw, |n| LcpOption::Mru(64).emit(n));
                    } else {
                        peer.peer_mru = m;
                    }
                }
                Ok(LcpOption::Accm(a)) => match self.accm {
                    Some(_) => peer.tx_accm = a,
                    None => r.reject(&raw),
                },
                Ok(LcpOption::AuthProtocol { protocol, data }) => {
                    if self.role == Role::Server {
                        r.reject(&raw);
                        continue;
                    }
                    match AuthMethod::from_lcp_option(protocol, &data) {
                        Some(m) if self.allow.contains(m) => peer.auth_self = Some(m),
                        _ => match self.best_allowed() {
                            Some(best) => {
                                let (protocol, data) = best.lcp_option();
                                r.nak(&raw, |n| {
                                    LcpOption::AuthProtocol {
                                        protocol,
                                        data: data.to_vec(),
                                    }
                                    .emit(n)
                                });
                            }
                            None => r.reject(&raw),
                        },
                    }
                }
                Ok(LcpOption::MagicNumber(m)) => {
                    if m == 0 || (self.want_magic == Some(m)) {
                        if m != 0 {
                            self.loops += 1;
                            if self.loops > 5 {
                                ctx.notes.push(Note::Loopback);
                            }
                        }
                        let fresh = nonzero_random(ctx);
                        r.nak(&raw, |n| LcpOption::MagicNumber(fresh).emit(n));
                    } else {
                        peer.peer_magic = m;
                    }
                }
                Ok(LcpOption::Pfc) => peer.tx_pfc = true,
                Ok(LcpOption::Acfc) => peer.tx_acfc = true,
                Ok(LcpOption::EndpointDiscriminator { class, address }) => {
                    peer.peer_endpoint = Some((class, address))
                }
                // Multilink: only with our `mrru` set (otherwise the peer runs without MP).
                Ok(LcpOption::Mrru(m)) if self.mrru.is_some() => {
                    if m < 64 {
                        r.nak(&raw, |n| LcpOption::Mrru(1500).emit(n));
                    } else {
                        peer.peer_mrru = Some(m);
                    }
                }
                Ok(LcpOption::Ssnhf) if self.mrru.is_some() => peer.tx_short_seq = true,
                // Quality-Protocol, Callback and unknown options are not supported.
                Ok(_) => r.reject(&raw),
            }
        }
        let j = r.judgement(opts);
        if j.code == code::CONFIGURE_ACK {
            // Client: a server that demands no authentication is fine.
            self.neg.peer_mru = peer.peer_mru;
            self.neg.tx_accm = if self.accm.is_some() {
                peer.tx_accm
            } else {
                self.neg.tx_accm
            };
            self.neg.peer_magic = peer.peer_magic;
            self.neg.tx_pfc = peer.tx_pfc;
            self.neg.tx_acfc = peer.tx_acfc;
            self.neg.auth_self = peer.auth_self;
            self.neg.peer_endpoint = peer.peer_endpoint;
            self.neg.peer_mrru = peer.peer_mrru;
            self.neg.tx_short_seq = peer.tx_short_seq;
        }
        j
    }

    fn acked(&mut self, _opts: &[u8], _ctx: &mut Ctx<'_>) {
        self.neg.mru = self.want_mru.unwrap_or(1500);
        self.neg.magic = self.want_magic.unwrap_or(0);
        self.neg.auth_peer = self.want_auth();
        self.neg.mrru = self.want_mrru;
        self.neg.rx_short_seq = self.want_mrru.is_some() && self.want_ssnhf;
        self.neg.endpoint = self.want_endpoint.map(|a| (1, a.to_vec()));
    }

    fn naked(&mut self, opts: &[u8], ctx: &mut Ctx<'_>) {
        for raw in options(opts).flatten() {
            match LcpOption::parse(&raw) {
                Ok(LcpOption::Mru(m)) if m <= self.max_mru && m >= 64 => self.want_mru = Some(m),
                Ok(LcpOption::Accm(a)) => {
                    if let Some(w) = self.want_accm {
                        self.want_accm = Some(w | a);
                    }
                }
                Ok(LcpOption::AuthProtocol { protocol, data }) => {
                    if self.role != Role::Server {
                        continue;
                    }
                    let suggested = AuthMethod::from_lcp_option(protocol, &data);
                    match suggested.and_then(|m| self.candidates.iter().position(|c| *c == m)) {
                        Some(i) => self.want_auth_idx = Some(i),
                        None => {
                            let next = self.want_auth_idx.map_or(0, |i| i + 1);
                            if next < self.candidates.len() {
                                self.want_auth_idx = Some(next);
                            } else {
                                ctx.notes.push(Note::AuthUnacceptable);
                            }
                        }
                    }
                }
                Ok(LcpOption::MagicNumber(_)) if self.want_magic.is_some() => {
                    self.want_magic = Some(nonzero_random(ctx))
                }
                Ok(LcpOption::Mrru(m)) if self.want_mrru.is_some() && m >= 512 => {
                    self.want_mrru = Some(m)
                }
                Ok(LcpOption::Pfc) | Ok(LcpOption::Acfc) => {}
                _ => {}
            }
        }
    }

    fn rejected(&mut self, opts: &[u8], ctx: &mut Ctx<'_>) {
        for raw in options(opts).flatten() {
            match raw.kind {
                1 => self.want_mru = None,
                2 => self.want_accm = None,
                3 if self.want_auth_idx.is_some() => ctx.notes.push(Note::AuthUnacceptable),
                5 => self.want_magic = None,
                7 => self.want_pfc = false,
                8 => self.want_acfc = false,
                17 => {
                    // No MP with this peer.
                    self.want_mrru = None;
                    self.want_ssnhf = false;
                }
                18 => self.want_ssnhf = false,
                19 => self.want_endpoint = None,
                _ => {}
            }
        }
    }

    fn extra_code(&mut self, c: u8, id: u8, data: &[u8], state: State, ctx: &mut Ctx<'_>) -> Extra {
        match c {
            code::PROTOCOL_REJECT => {
                if state != State::Opened {
                    return Extra::Ignore;
                }
                let Some(p) = data.get(..2) else {
                    return Extra::Ignore;
                };
                let p = u16::from_be_bytes([p[0], p[1]]);
                if p == crate::wire::protocol::LCP {
                    return Extra::Rxj(false);
                }
                ctx.notes.push(Note::ProtocolRejected(p));
                Extra::Rxj(true)
            }
            code::ECHO_REQUEST => {
                if state != State::Opened || data.len() < 4 {
                    return Extra::Ignore;
                }
                let magic = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                if magic != 0 && magic == self.neg.magic {
                    ctx.notes.push(Note::Loopback);
                    return Extra::Ignore;
                }
                let mut reply = self.neg.magic.to_be_bytes().to_vec();
                let rest = data.get(4..).unwrap_or(&[]);
                let room = usize::from(self.neg.peer_mru).saturating_sub(8);
                reply.extend_from_slice(rest.get(..room).unwrap_or(rest));
                Extra::Rxr(Some((code::ECHO_REPLY, id, reply)))
            }
            code::ECHO_REPLY => {
                if state == State::Opened {
                    ctx.notes.push(Note::EchoReply);
                }
                Extra::Rxr(None)
            }
            code::DISCARD_REQUEST => Extra::Rxr(None),
            code::IDENTIFICATION | code::TIME_REMAINING => Extra::Ignore,
            _ => Extra::Unknown,
        }
    }
}
