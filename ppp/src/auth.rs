//! Authentication phase: the authenticatee ([`AuthClient`]) and authenticator ([`AuthServer`])
//! for PAP, CHAP-MD5, MS-CHAPv1, MS-CHAPv2 and EAP (Identity, MD5-Challenge, EAP-MSCHAPv2).

use crate::config::{AuthMethod, AuthSet, Config};
use crate::event::{AuthProof, AuthRequest};
use crate::mschap::{self, MsChapKeys};
use crate::wire::auth::{eap_type, Chap, Eap, Pap};
use crate::wire::protocol;
use rand_core::RngCore;
use std::time::{Duration, Instant};

/// Frames out: (protocol, information field).
pub(crate) type Out = Vec<(u16, Vec<u8>)>;

pub(crate) enum ClientOutcome {
    Pending,
    Success(Option<Box<MsChapKeys>>),
    /// message, retrying, fatal reason is bad authenticator response
    Failure(String, bool, bool),
}

/// A CHAP response value, the expected MS-CHAPv2 authenticator response and key material.
type ChapAnswer = (Vec<u8>, Option<[u8; 20]>, Option<MsChapKeys>);

/// Build a CHAP/MS-CHAP response value for `method`; returns (value, expected S=, keys).
fn chap_response_value(
    method: AuthMethod,
    id: u8,
    challenge: &[u8],
    user: &str,
    password: &str,
    rng: &mut dyn RngCore,
) -> Option<ChapAnswer> {
    match method {
        AuthMethod::MsChap1 => {
            let c: [u8; 8] = challenge.try_into().ok()?;
            let nt = mschap::mschap1_nt_response(&c, password);
            let mut v = vec![0u8; 24];
            v.extend_from_slice(&nt);
            v.push(1);
            Some((v, None, Some(mschap::mschap1_keys(password, &c))))
        }
        AuthMethod::MsChap2 => {
            let ac: [u8; 16] = challenge.try_into().ok()?;
            let mut pc = [0u8; 16];
            rng.fill_bytes(&mut pc);
            let nt = mschap::generate_nt_response(&ac, &pc, user.as_bytes(), password);
            let mut v = pc.to_vec();
            v.extend_from_slice(&[0u8; 8]);
            v.extend_from_slice(&nt);
            v.push(0);
            let ph = mschap::nt_password_hash(password);
            let ar = mschap::authenticator_response(&ph, &nt, &pc, &ac, user.as_bytes());
            Some((
                v,
                Some(ar),
                Some(mschap::mschap2_keys(password, &nt, false)),
            ))
        }
        _ => Some((
            mschap::chap_md5_response(id, password.as_bytes(), challenge).to_vec(),
            None,
            None,
        )),
    }
}

pub(crate) struct AuthClient {
    pub method: AuthMethod,
    user: String,
    password: String,
    allow: AuthSet,
    restart: Duration,
    tries_left: u32,
    deadline: Option<Instant>,
    pap_id: u8,
    last_response: Option<(u8, Vec<u8>)>,
    expect_ar: Option<[u8; 20]>,
    keys: Option<MsChapKeys>,
    last_challenge: Vec<u8>,
    eap_ms_id: u8,
    accept_missing_ar: bool,
    responded_final: bool,
    now: Instant,
    pub done: bool,
}

impl AuthClient {
    pub fn new(cfg: &Config, method: AuthMethod, now: Instant) -> Self {
        AuthClient {
            responded_final: false,
            now,
            method,
            user: cfg.user.clone(),
            password: cfg.password.clone(),
            allow: cfg.allow,
            restart: cfg.timers.restart,
            tries_left: cfg.timers.max_configure,
            deadline: None,
            pap_id: 0,
            last_response: None,
            expect_ar: None,
            keys: None,
            last_challenge: Vec::new(),
            eap_ms_id: 0,
            accept_missing_ar: cfg.quirks.accept_missing_authenticator_response,
            done: false,
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        if self.done {
            None
        } else {
            self.deadline
        }
    }

    fn send_pap(&mut self, now: Instant, out: &mut Out) {
        let mut v = Vec::new();
        Pap::Request {
            id: self.pap_id,
            peer_id: self.user.as_bytes(),
            password: self.password.as_bytes(),
        }
        .emit(&mut v);
        out.push((protocol::PAP, v));
        self.tries_left = self.tries_left.saturating_sub(1);
        self.deadline = Some(now + self.restart);
    }

    pub fn start(&mut self, now: Instant, out: &mut Out) {
        if self.method == AuthMethod::Pap {
            self.pap_id = 1;
            self.send_pap(now, out);
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Out) -> ClientOutcome {
        match self.deadline {
            Some(d) if now >= d && !self.done => {
                if self.tries_left == 0 {
                    self.deadline = None;
                    return ClientOutcome::Failure(
                        "no reply from the authenticator".into(),
                        false,
                        false,
                    );
                }
                if self.method == AuthMethod::Pap {
                    self.send_pap(now, out);
                } else if let Some((_, pkt)) = &self.last_response {
                    // CHAP: the Success/Failure may have been lost. Repeat the Response; an
                    // authenticator that already decided repeats its verdict (pppd does).
                    out.push((protocol::CHAP, pkt.clone()));
                    self.tries_left = self.tries_left.saturating_sub(1);
                    self.deadline = Some(now + self.restart);
                }
                ClientOutcome::Pending
            }
            _ => ClientOutcome::Pending,
        }
    }

    /// EAP: Success is not retransmitted (RFC 3748 s4.2); an NCP packet after our final
    /// response shows the authenticator finished successfully.
    pub fn implicit_success(&mut self) -> Option<ClientOutcome> {
        if self.method == AuthMethod::Eap && !self.done && self.responded_final {
            self.done = true;
            return Some(ClientOutcome::Success(self.keys.take().map(Box::new)));
        }
        None
    }

    pub fn input(
        &mut self,
        now: Instant,
        proto: u16,
        info: &[u8],
        rng: &mut dyn RngCore,
        out: &mut Out,
    ) -> ClientOutcome {
        self.now = now;
        if self.done {
            return ClientOutcome::Pending;
        }
        match proto {
            protocol::PAP if self.method == AuthMethod::Pap => match Pap::parse(info) {
                Ok(Pap::Ack { id, .. }) if id == self.pap_id => {
                    self.done = true;
                    self.deadline = None;
                    ClientOutcome::Success(None)
                }
                Ok(Pap::Nak { id, message }) if id == self.pap_id => {
                    self.done = true;
                    self.deadline = None;
                    ClientOutcome::Failure(
                        String::from_utf8_lossy(message).into_owned(),
                        false,
                        false,
                    )
                }
                _ => ClientOutcome::Pending,
            },
            protocol::CHAP
                if matches!(
                    self.method,
                    AuthMethod::Chap | AuthMethod::MsChap1 | AuthMethod::MsChap2
                ) =>
            {
                self.chap_input(info, rng, out)
            }
            protocol::EAP if self.method == AuthMethod::Eap => self.eap_input(info, rng, out),
            _ => ClientOutcome::Pending,
        }
    }

    fn respond_chap(
        &mut self,
        id: u8,
        challenge: &[u8],
        rng: &mut dyn RngCore,
        out: &mut Out,
    ) -> bool {
        let Some((value, ar, keys)) =
            chap_response_value(self.method, id, challenge, &self.user, &self.password, rng)
        else {
            return false;
        };
        self.expect_ar = ar;
        self.keys = keys;
        let mut v = Vec::new();
        Chap::Response {
            id,
            value: &value,
            name: self.user.as_bytes(),
        }
        .emit(&mut v);
        self.last_response = Some((id, v.clone()));
        self.last_challenge = challenge.to_vec();
        out.push((protocol::CHAP, v));
        self.deadline = Some(self.now + self.restart);
        true
    }

    fn check_success(&mut self, message: &[u8]) -> ClientOutcome {
        self.done = true;
        if self.method == AuthMethod::MsChap2 {
            let ok = match (mschap::parse_success(message), self.expect_ar) {
                (Some(got), Some(want)) => got == want,
                _ => false,
            };
            if !ok && !self.accept_missing_ar {
                return ClientOutcome::Failure(
                    "missing or wrong MS-CHAPv2 authenticator response".into(),
                    false,
                    true,
                );
            }
        }
        ClientOutcome::Success(self.keys.take().map(Box::new))
    }

    fn chap_input(&mut self, info: &[u8], rng: &mut dyn RngCore, out: &mut Out) -> ClientOutcome {
        match Chap::parse(info) {
            Ok(Chap::Challenge { id, value, .. }) => {
                // A retransmitted challenge gets the same response.
                if let Some((rid, pkt)) = &self.last_response {
                    if *rid == id && self.last_challenge == value {
                        out.push((protocol::CHAP, pkt.clone()));
                        return ClientOutcome::Pending;
                    }
                }
                if !self.respond_chap(id, value, rng, out) {
                    return ClientOutcome::Failure("bad challenge length".into(), false, false);
                }
                ClientOutcome::Pending
            }
            Ok(Chap::Success { id, message })
                if self.last_response.as_ref().is_some_and(|r| r.0 == id) =>
            {
                self.check_success(message)
            }
            Ok(Chap::Failure { id, message })
                if self.last_response.as_ref().is_some_and(|r| r.0 == id) =>
            {
                let f = mschap::parse_failure(message);
                let text = if f.message.is_empty() {
                    String::from_utf8_lossy(message).into_owned()
                } else {
                    f.message.clone()
                };
                if self.method == AuthMethod::MsChap2 && f.retry && self.tries_left > 0 {
                    if let Some(c) = f.challenge.filter(|c| c.len() == 16) {
                        self.tries_left -= 1;
                        let nid = id.wrapping_add(1);
                        self.respond_chap(nid, &c, rng, out);
                        return ClientOutcome::Failure(text, true, false);
                    }
                }
                self.done = true;
                ClientOutcome::Failure(text, false, false)
            }
            _ => ClientOutcome::Pending,
        }
    }

    fn eap_input(&mut self, info: &[u8], rng: &mut dyn RngCore, out: &mut Out) -> ClientOutcome {
        let send = |out: &mut Out, id: u8, kind: u8, data: &[u8]| {
            let mut v = Vec::new();
            Eap::Response { id, kind, data }.emit(&mut v);
            out.push((protocol::EAP, v));
        };
        match Eap::parse(info) {
            Ok(Eap::Request { id, kind, data }) => match kind {
                eap_type::IDENTITY => {
                    send(out, id, eap_type::IDENTITY, self.user.as_bytes());
                    ClientOutcome::Pending
                }
                eap_type::NOTIFICATION => {
                    send(out, id, eap_type::NOTIFICATION, &[]);
                    ClientOutcome::Pending
                }
                eap_type::MD5_CHALLENGE if self.allow.contains(AuthMethod::Chap) => {
                    let Some((&n, rest)) = data.split_first() else {
                        return ClientOutcome::Pending;
                    };
                    let Some(ch) = rest.get(..usize::from(n)) else {
                        return ClientOutcome::Pending;
                    };
                    let r = mschap::chap_md5_response(id, self.password.as_bytes(), ch);
                    let mut d = vec![16];
                    d.extend_from_slice(&r);
                    d.extend_from_slice(self.user.as_bytes());
                    send(out, id, eap_type::MD5_CHALLENGE, &d);
                    self.responded_final = true;
                    ClientOutcome::Pending
                }
                eap_type::MSCHAPV2 if self.allow.contains(AuthMethod::MsChap2) => {
                    match data.first() {
                        Some(1) => {
                            // OpCode 1 Challenge: MS-ID, MS-Length(2), Value-Size, Challenge, Name
                            let (Some(&msid), Some(&16)) = (data.get(1), data.get(4)) else {
                                return ClientOutcome::Pending;
                            };
                            let Some(ch) = data.get(5..21) else {
                                return ClientOutcome::Pending;
                            };
                            let Some((value, ar, keys)) = chap_response_value(
                                AuthMethod::MsChap2,
                                msid,
                                ch,
                                &self.user,
                                &self.password,
                                rng,
                            ) else {
                                return ClientOutcome::Pending;
                            };
                            self.expect_ar = ar;
                            self.keys = keys;
                            self.eap_ms_id = msid;
                            let ms_len = (4 + 1 + value.len() + self.user.len()) as u16;
                            let mut d = vec![2, msid];
                            d.extend_from_slice(&ms_len.to_be_bytes());
                            d.push(value.len() as u8);
                            d.extend_from_slice(&value);
                            d.extend_from_slice(self.user.as_bytes());
                            send(out, id, eap_type::MSCHAPV2, &d);
                            ClientOutcome::Pending
                        }
                        Some(3) => {
                            let msg = data.get(4..).unwrap_or(&[]);
                            let ok = matches!((mschap::parse_success(msg), self.expect_ar), (Some(a), Some(b)) if a == b);
                            if !ok && !self.accept_missing_ar {
                                self.done = true;
                                return ClientOutcome::Failure(
                                    "missing or wrong EAP-MSCHAPv2 authenticator response".into(),
                                    false,
                                    true,
                                );
                            }
                            send(out, id, eap_type::MSCHAPV2, &[3]);
                            self.responded_final = true;
                            ClientOutcome::Pending
                        }
                        Some(4) => {
                            send(out, id, eap_type::MSCHAPV2, &[4]);
                            ClientOutcome::Pending
                        }
                        _ => ClientOutcome::Pending,
                    }
                }
                _ => {
                    // Legacy Nak with the types we can do.
                    let mut want = Vec::new();
                    if self.allow.contains(AuthMethod::MsChap2) {
                        want.push(eap_type::MSCHAPV2);
                    }
                    if self.allow.contains(AuthMethod::Chap) {
                        want.push(eap_type::MD5_CHALLENGE);
                    }
                    if want.is_empty() {
                        want.push(0);
                    }
                    send(out, id, eap_type::NAK, &want);
                    ClientOutcome::Pending
                }
            },
            Ok(Eap::Success { .. }) => {
                self.done = true;
                ClientOutcome::Success(self.keys.take().map(Box::new))
            }
            Ok(Eap::Failure { .. }) => {
                self.done = true;
                ClientOutcome::Failure("EAP-Failure".into(), false, false)
            }
            _ => ClientOutcome::Pending,
        }
    }
}

/// Inner state of the authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SrvState {
    /// Waiting for the peer's first packet (PAP) or response (CHAP/EAP).
    Waiting,
    /// A verdict is pending.
    Verifying,
    /// Finished (success or final failure): repeat the final packet for duplicates.
    Done,
}

pub(crate) enum ServerOutcome {
    Pending,
    Verify(AuthRequest),
    Failure(String),
}

/// What the server needs to finish the exchange after a verdict.
#[derive(Debug, Clone)]
struct PendingAuth {
    req: AuthRequest,
    id: u8,
    eap: bool,
}

pub(crate) struct AuthServer {
    pub method: AuthMethod,
    name: String,
    set: AuthSet,
    restart: Duration,
    max_tries: u32,
    tries: u32,
    attempts_left: u32,
    state: SrvState,
    deadline: Option<Instant>,
    id: u8,
    challenge: Vec<u8>,
    last_pkt: Option<(u16, u8, Vec<u8>)>,
    pending: Option<PendingAuth>,
    next_req: u64,
    eap_inner: Option<u8>,
    eap_user: String,
    eap_ms_success: bool,
    pub user: String,
}

impl AuthServer {
    pub fn new(cfg: &Config, method: AuthMethod) -> Self {
        AuthServer {
            method,
            name: cfg.local_name.clone(),
            set: cfg.authentication,
            restart: cfg.timers.restart,
            max_tries: cfg.timers.max_configure,
            tries: 0,
            attempts_left: cfg.auth_attempts,
            state: SrvState::Waiting,
            deadline: None,
            id: 0,
            challenge: Vec::new(),
            last_pkt: None,
            pending: None,
            next_req: 1,
            eap_inner: None,
            eap_user: String::new(),
            eap_ms_success: false,
            user: String::new(),
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        if self.state == SrvState::Waiting {
            self.deadline
        } else {
            None
        }
    }

    fn send_challenge(&mut self, now: Instant, out: &mut Out) {
        let mut v = Vec::new();
        match self.method {
            AuthMethod::Eap => {
                match self.eap_inner {
                    None => Eap::Request {
                        id: self.id,
                        kind: eap_type::IDENTITY,
                        data: &[],
                    }
                    .emit(&mut v),
                    Some(eap_type::MD5_CHALLENGE) => {
                        let mut d = vec![self.challenge.len() as u8];
                        d.extend_from_slice(&self.challenge);
                        d.extend_from_slice(self.name.as_bytes());
                        Eap::Request {
                            id: self.id,
                            kind: eap_type::MD5_CHALLENGE,
                            data: &d,
                        }
                        .emit(&mut v)
                    }
                    Some(_) => {
                        let ms_len = (4 + 1 + 16 + self.name.len()) as u16;
                        let mut d = vec![1, self.id];
                        d.extend_from_slice(&ms_len.to_be_bytes());
                        d.push(16);
                        d.extend_from_slice(&self.challenge);
                        d.extend_from_slice(self.name.as_bytes());
                        Eap::Request {
                            id: self.id,
                            kind: eap_type::MSCHAPV2,
                            data: &d,
                        }
                        .emit(&mut v)
                    }
                }
                out.push((protocol::EAP, v));
            }
            _ => {
                Chap::Challenge {
                    id: self.id,
                    value: &self.challenge,
                    name: self.name.as_bytes(),
                }
                .emit(&mut v);
                out.push((protocol::CHAP, v));
            }
        }
        self.tries += 1;
        self.deadline = Some(now + self.restart);
    }

    fn new_challenge(&mut self, rng: &mut dyn RngCore) {
        let n = match (self.method, self.eap_inner) {
            (AuthMethod::MsChap1, _) => 8,
            _ => 16,
        };
        self.challenge = vec![0; n];
        rng.fill_bytes(&mut self.challenge);
        self.id = self.id.wrapping_add(1);
    }

    pub fn start(&mut self, now: Instant, rng: &mut dyn RngCore, out: &mut Out) {
        self.id = (rng.next_u32() & 0xff) as u8;
        match self.method {
            AuthMethod::Pap => self.deadline = Some(now + self.restart * self.max_tries),
            _ => {
                self.new_challenge(rng);
                self.send_challenge(now, out);
            }
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Out) -> ServerOutcome {
        match self.deadline {
            Some(d) if now >= d && self.state == SrvState::Waiting => {
                if self.method == AuthMethod::Pap || self.tries >= self.max_tries {
                    self.deadline = None;
                    self.state = SrvState::Done;
                    return ServerOutcome::Failure("peer did not authenticate".into());
                }
                self.send_challenge(now, out);
                ServerOutcome::Pending
            }
            _ => ServerOutcome::Pending,
        }
    }

    fn request(
        &mut self,
        user: &[u8],
        method: AuthMethod,
        proof: AuthProof,
        id: u8,
        eap: bool,
    ) -> ServerOutcome {
        let user = String::from_utf8_lossy(user).into_owned();
        self.user = user.clone();
        let req = AuthRequest {
            id: self.next_req,
            user,
            method,
            proof,
        };
        self.next_req += 1;
        self.state = SrvState::Verifying;
        self.pending = Some(PendingAuth {
            req: req.clone(),
            id,
            eap,
        });
        ServerOutcome::Verify(req)
    }

    pub fn pending_request(&self) -> Option<&AuthRequest> {
        self.pending.as_ref().map(|p| &p.req)
    }

    /// Start verification of proxied credentials (L2TP proxy authentication).
    pub fn proxy(&mut self, user: &[u8], proof: AuthProof, id: u8) -> ServerOutcome {
        self.id = id;
        if let AuthProof::Chap { challenge, .. } = &proof {
            self.challenge = challenge.clone();
        }
        self.request(user, self.method, proof, id, false)
    }

    pub fn input(&mut self, proto: u16, info: &[u8], out: &mut Out) -> ServerOutcome {
        if self.state != SrvState::Waiting {
            // Duplicates of the final packet's trigger get the final packet again.
            if self.state == SrvState::Done {
                if let Some((p, id, pkt)) = &self.last_pkt {
                    if *p == proto
                        && info.get(1) == Some(id)
                        && matches!(info.first(), Some(1) | Some(2))
                    {
                        out.push((*p, pkt.clone()));
                    }
                }
            }
            return ServerOutcome::Pending;
        }
        match (proto, self.method) {
            (protocol::PAP, AuthMethod::Pap) => match Pap::parse(info) {
                Ok(Pap::Request {
                    id,
                    peer_id,
                    password,
                }) => {
                    self.id = id;
                    self.request(
                        peer_id,
                        AuthMethod::Pap,
                        AuthProof::Pap {
                            password: password.to_vec(),
                        },
                        id,
                        false,
                    )
                }
                _ => ServerOutcome::Pending,
            },
            (protocol::CHAP, AuthMethod::Chap | AuthMethod::MsChap1 | AuthMethod::MsChap2) => {
                match Chap::parse(info) {
                    Ok(Chap::Response { id, value, name }) if id == self.id => {
                        let Some(proof) = self.chap_proof(id, value) else {
                            return ServerOutcome::Pending;
                        };
                        self.request(name, self.method, proof, id, false)
                    }
                    _ => ServerOutcome::Pending,
                }
            }
            (protocol::EAP, AuthMethod::Eap) => self.eap_input(info, out),
            _ => ServerOutcome::Pending,
        }
    }

    fn chap_proof(&self, id: u8, value: &[u8]) -> Option<AuthProof> {
        Some(match self.method {
            AuthMethod::MsChap1 => AuthProof::MsChap1 {
                challenge: self.challenge.as_slice().try_into().ok()?,
                nt_response: value.get(24..48)?.try_into().ok()?,
            },
            AuthMethod::MsChap2 => {
                if value.len() != 49 {
                    return None;
                }
                AuthProof::MsChap2 {
                    auth_challenge: self.challenge.as_slice().try_into().ok()?,
                    peer_challenge: value.get(..16)?.try_into().ok()?,
                    nt_response: value.get(24..48)?.try_into().ok()?,
                }
            }
            _ => AuthProof::Chap {
                id,
                challenge: self.challenge.clone(),
                response: value.to_vec(),
            },
        })
    }

    fn eap_input(&mut self, info: &[u8], out: &mut Out) -> ServerOutcome {
        let Ok(Eap::Response { id, kind, data }) = Eap::parse(info) else {
            return ServerOutcome::Pending;
        };
        if id != self.id {
            return ServerOutcome::Pending;
        }
        match kind {
            eap_type::IDENTITY if self.eap_inner.is_none() => {
                self.eap_user = String::from_utf8_lossy(data).into_owned();
                let inner = if self.set.contains(AuthMethod::MsChap2) {
                    eap_type::MSCHAPV2
                } else {
                    eap_type::MD5_CHALLENGE
                };
                self.eap_inner = Some(inner);
                ServerOutcome::Pending
            }
            eap_type::NAK => {
                let pick = data.iter().copied().find(|t| {
                    (*t == eap_type::MSCHAPV2 && self.set.contains(AuthMethod::MsChap2))
                        || (*t == eap_type::MD5_CHALLENGE && self.set.contains(AuthMethod::Chap))
                });
                match pick {
                    Some(t) if Some(t) != self.eap_inner => {
                        self.eap_inner = Some(t);
                        ServerOutcome::Pending
                    }
                    _ => {
                        self.finish_eap_failure(out);
                        ServerOutcome::Failure("no common EAP method".into())
                    }
                }
            }
            eap_type::MD5_CHALLENGE if self.eap_inner == Some(eap_type::MD5_CHALLENGE) => {
                let Some((&n, rest)) = data.split_first() else {
                    return ServerOutcome::Pending;
                };
                let Some(resp) = rest.get(..usize::from(n)) else {
                    return ServerOutcome::Pending;
                };
                let user = self.eap_user.clone().into_bytes();
                let proof = AuthProof::Chap {
                    id,
                    challenge: self.challenge.clone(),
                    response: resp.to_vec(),
                };
                self.request(&user, AuthMethod::Eap, proof, id, true)
            }
            eap_type::MSCHAPV2 if self.eap_inner == Some(eap_type::MSCHAPV2) => {
                match data.first() {
                    Some(2) if !self.eap_ms_success => {
                        let (Some(&49), Some(value)) = (data.get(4), data.get(5..54)) else {
                            return ServerOutcome::Pending;
                        };
                        let user = self.eap_user.clone().into_bytes();
                        let (Ok(pc), Ok(nt)) = (value[..16].try_into(), value[24..48].try_into())
                        else {
                            return ServerOutcome::Pending;
                        };
                        let Ok(ac) = self.challenge.as_slice().try_into() else {
                            return ServerOutcome::Pending;
                        };
                        let proof = AuthProof::MsChap2 {
                            auth_challenge: ac,
                            peer_challenge: pc,
                            nt_response: nt,
                        };
                        self.request(&user, AuthMethod::Eap, proof, id, true)
                    }
                    _ => ServerOutcome::Pending,
                }
            }
            _ => ServerOutcome::Pending,
        }
    }

    /// Called by the session after `input` returned Pending in the EAP identity/nak step: send
    /// the inner-method request.
    pub fn eap_next(&mut self, now: Instant, rng: &mut dyn RngCore, out: &mut Out) {
        if self.method == AuthMethod::Eap
            && self.state == SrvState::Waiting
            && self.eap_inner.is_some()
        {
            self.new_challenge(rng);
            self.tries = 0;
            self.send_challenge(now, out);
        }
    }

    fn finish_eap_failure(&mut self, out: &mut Out) {
        let mut v = Vec::new();
        Eap::Failure { id: self.id }.emit(&mut v);
        out.push((protocol::EAP, v));
        self.state = SrvState::Done;
    }

    /// EAP-MSCHAPv2 second step: after the Success Request the peer acks (opcode 3).
    pub fn eap_success_ack(&mut self, info: &[u8], out: &mut Out) -> bool {
        if !self.eap_ms_success {
            return false;
        }
        if let Ok(Eap::Response {
            kind: eap_type::MSCHAPV2,
            data,
            ..
        }) = Eap::parse(info)
        {
            if data.first() == Some(&3) {
                let mut v = Vec::new();
                Eap::Success {
                    id: self.id.wrapping_add(1),
                }
                .emit(&mut v);
                out.push((protocol::EAP, v));
                self.eap_ms_success = false;
                self.state = SrvState::Done;
                return true;
            }
        }
        false
    }

    /// Apply a verdict. `ar` = MS-CHAPv2 authenticator response. Returns Ok(true) on success,
    /// Ok(false) on failure with retry, Err(msg) on final failure.
    pub fn finish(
        &mut self,
        accepted: bool,
        ar: Option<[u8; 20]>,
        message: &str,
        now: Instant,
        rng: &mut dyn RngCore,
        out: &mut Out,
    ) -> Result<bool, String> {
        let Some(p) = self.pending.take() else {
            return Err("no pending request".into());
        };
        let id = p.id;
        let mut v = Vec::new();
        if p.eap {
            if accepted {
                if let (AuthProof::MsChap2 { .. }, Some(ar)) = (&p.req.proof, ar) {
                    let msg = format!(
                        "{} M={}",
                        mschap::format_authenticator_response(&ar),
                        message
                    );
                    let mid = id.wrapping_add(1);
                    self.id = mid;
                    let ms_len = (4 + msg.len()) as u16;
                    let mut d = vec![3, id];
                    d.extend_from_slice(&ms_len.to_be_bytes());
                    d.extend_from_slice(msg.as_bytes());
                    Eap::Request {
                        id: mid,
                        kind: eap_type::MSCHAPV2,
                        data: &d,
                    }
                    .emit(&mut v);
                    out.push((protocol::EAP, v));
                    self.eap_ms_success = true;
                    self.state = SrvState::Verifying;
                    return Ok(true);
                }
                Eap::Success { id }.emit(&mut v);
                out.push((protocol::EAP, v.clone()));
                self.last_pkt = Some((protocol::EAP, id, v));
                self.state = SrvState::Done;
                return Ok(true);
            }
            Eap::Failure { id }.emit(&mut v);
            out.push((protocol::EAP, v.clone()));
            self.last_pkt = Some((protocol::EAP, id, v));
            self.state = SrvState::Done;
            return Err(message.to_string());
        }
        match self.method {
            AuthMethod::Pap => {
                let m = message.as_bytes();
                if accepted {
                    Pap::Ack { id, message: m }.emit(&mut v);
                } else {
                    Pap::Nak { id, message: m }.emit(&mut v);
                }
                out.push((protocol::PAP, v.clone()));
                self.last_pkt = Some((protocol::PAP, id, v));
                self.state = SrvState::Done;
                if accepted {
                    Ok(true)
                } else {
                    Err(message.to_string())
                }
            }
            m => {
                if accepted {
                    let msg = match (m, ar) {
                        (AuthMethod::MsChap2, Some(ar)) => {
                            format!(
                                "{} M={}",
                                mschap::format_authenticator_response(&ar),
                                message
                            )
                        }
                        _ => message.to_string(),
                    };
                    Chap::Success {
                        id,
                        message: msg.as_bytes(),
                    }
                    .emit(&mut v);
                    out.push((protocol::CHAP, v.clone()));
                    self.last_pkt = Some((protocol::CHAP, id, v));
                    self.state = SrvState::Done;
                    return Ok(true);
                }
                self.attempts_left = self.attempts_left.saturating_sub(1);
                let retry = self.attempts_left > 0
                    && matches!(m, AuthMethod::MsChap1 | AuthMethod::MsChap2);
                let msg = match m {
                    AuthMethod::MsChap1 | AuthMethod::MsChap2 => {
                        let mut c = vec![0u8; if m == AuthMethod::MsChap2 { 16 } else { 8 }];
                        if retry {
                            rng.fill_bytes(&mut c);
                        }
                        let hex: String = c.iter().map(|b| format!("{b:02X}")).collect();
                        if retry {
                            // The peer answers the new challenge with identifier + 1.
                            self.challenge = c;
                            self.id = id.wrapping_add(1);
                            self.state = SrvState::Waiting;
                            self.tries = 0;
                            self.deadline = Some(now + self.restart * self.max_tries);
                        }
                        format!("E=691 R={} C={} V=3 M={}", u8::from(retry), hex, message)
                    }
                    _ => message.to_string(),
                };
                Chap::Failure {
                    id,
                    message: msg.as_bytes(),
                }
                .emit(&mut v);
                out.push((protocol::CHAP, v.clone()));
                if retry {
                    Ok(false)
                } else {
                    self.last_pkt = Some((protocol::CHAP, id, v));
                    self.state = SrvState::Done;
                    Err(message.to_string())
                }
            }
        }
    }
}

/// Verify a proof against a clear-text password. Returns the MS-CHAPv2 authenticator response
/// and key material on success.
pub fn verify_with_password(
    user: &str,
    proof: &AuthProof,
    password: &str,
) -> Option<(Option<[u8; 20]>, Option<MsChapKeys>)> {
    use subtle_eq as eq;
    match proof {
        AuthProof::Pap { password: p } => eq(p, password.as_bytes()).then_some((None, None)),
        AuthProof::Chap {
            id,
            challenge,
            response,
        } => {
            let want = mschap::chap_md5_response(*id, password.as_bytes(), challenge);
            eq(response, &want).then_some((None, None))
        }
        AuthProof::MsChap1 {
            challenge,
            nt_response,
        } => {
            let want = mschap::mschap1_nt_response(challenge, password);
            eq(nt_response, &want).then(|| (None, Some(mschap::mschap1_keys(password, challenge))))
        }
        AuthProof::MsChap2 {
            auth_challenge,
            peer_challenge,
            nt_response,
        } => {
            let want = mschap::generate_nt_response(
                auth_challenge,
                peer_challenge,
                user.as_bytes(),
                password,
            );
            if !eq(nt_response, &want) {
                return None;
            }
            let ph = mschap::nt_password_hash(password);
            let ar = mschap::authenticator_response(
                &ph,
                nt_response,
                peer_challenge,
                auth_challenge,
                user.as_bytes(),
            );
            Some((
                Some(ar),
                Some(mschap::mschap2_keys(password, nt_response, true)),
            ))
        }
    }
}

/// Constant-time equality for secrets.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
