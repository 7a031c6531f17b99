//! EAP in IKEv2 (RFC 7296 2.16): EAP-MSCHAPv2 built in (draft-kamath-pppext-eap-mschapv2,
//! MS-CHAPv2 of RFC 2759 from the `ppp` crate), and the hook for an external EAP server
//! (RouterOS `auth-method=eap-radius`; a RADIUS client plugs in as an [`EapBackend`]).
//!
//! ```text
//!  initiator (auth-method=eap)                           responder (eap-radius)
//!  IKE_AUTH { IDi, SA, TSi, TSr } (no AUTH)  ----------->
//!      <----------- { IDr, CERT, AUTH (signature), EAP Request/MSCHAPv2 Challenge(16 bytes) }
//!  { EAP Response/MSCHAPv2 Response(peer challenge, NT-Response, name) } ------>
//!      <----------- { EAP Request/MSCHAPv2 Success("S=<authenticator response>") }
//!  { EAP Response/MSCHAPv2 Success } ---------------------------------------->
//!      <----------- { EAP Success }
//!  both: MSK = MasterSendKey(peer) | MasterReceiveKey(peer) (RFC 3079 3.4)
//!  { AUTH = prf(prf(MSK, "Key Pad for IKEv2"), InitiatorSignedOctets) } ------>
//!      <----------- { AUTH (MSK), SA, TSi, TSr }
//! ```

/// EAP code Request.
pub const REQUEST: u8 = 1;
/// EAP code Response.
pub const RESPONSE: u8 = 2;
/// EAP code Success.
pub const SUCCESS: u8 = 3;
/// EAP code Failure.
pub const FAILURE: u8 = 4;
/// EAP type Identity.
pub const TYPE_IDENTITY: u8 = 1;
/// EAP type Nak.
pub const TYPE_NAK: u8 = 3;
/// EAP type MS-CHAP-V2.
pub const TYPE_MSCHAPV2: u8 = 26;

const OP_CHALLENGE: u8 = 1;
const OP_RESPONSE: u8 = 2;
const OP_SUCCESS: u8 = 3;

/// A parsed EAP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EapPacket {
    /// Code.
    pub code: u8,
    /// Identifier.
    pub id: u8,
    /// Type (Request/Response only).
    pub typ: Option<u8>,
    /// Type data.
    pub data: Vec<u8>,
}

impl EapPacket {
    /// Parse (length field checked).
    pub fn parse(b: &[u8]) -> Option<EapPacket> {
        if b.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if len < 4 || len > b.len() {
            return None;
        }
        let (typ, data) = if (b[0] == REQUEST || b[0] == RESPONSE) && len >= 5 {
            (Some(b[4]), b[5..len].to_vec())
        } else {
            (None, b[4..len].to_vec())
        };
        Some(EapPacket {
            code: b[0],
            id: b[1],
            typ,
            data,
        })
    }
    /// Serialise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let len = 4 + usize::from(self.typ.is_some()) + self.data.len();
        let mut v = vec![self.code, self.id];
        v.extend_from_slice(&(len as u16).to_be_bytes());
        if let Some(t) = self.typ {
            v.push(t);
        }
        v.extend_from_slice(&self.data);
        v
    }
}

fn mschap_data(op: u8, ms_id: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![op, ms_id];
    v.extend_from_slice(&((4 + body.len()) as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// What an EAP step produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EapStep {
    /// Send this EAP message to the peer and wait for its answer.
    Continue(Vec<u8>),
    /// Success: send `message` (EAP-Success on a server; nothing more on a client when empty);
    /// the MSK keys the final AUTH payloads (2.16).
    Success {
        /// The packet to send (may be empty).
        message: Vec<u8>,
        /// The master session key.
        msk: Vec<u8>,
    },
    /// Failure (with the EAP-Failure to send on a server).
    Failure(Vec<u8>),
}

/// An EAP server for identities with `auth-method=eap-radius` (responder side).
pub trait EapBackend {
    /// A new conversation for `identity` (the IDi data); returns the first request.
    fn start(&mut self, session: u64, identity: &[u8]) -> EapStep;
    /// The peer's EAP response of a conversation.
    fn step(&mut self, session: u64, message: &[u8]) -> EapStep;
}

/// The EAP-MSCHAPv2 peer (client side, RouterOS `auth-method=eap eap-methods=eap-mschapv2`).
#[derive(Clone, Debug)]
pub struct MschapV2Client {
    user: String,
    password: String,
    peer_challenge: [u8; 16],
    expect: Option<[u8; 20]>,
    nt_response: Option<[u8; 24]>,
    done: bool,
}

impl MschapV2Client {
    /// A client; `peer_challenge` comes from the caller's RNG.
    pub fn new(user: &str, password: &str, peer_challenge: [u8; 16]) -> Self {
        MschapV2Client {
            user: user.to_string(),
            password: password.to_string(),
            peer_challenge,
            expect: None,
            nt_response: None,
            done: false,
        }
    }

    fn msk(&self) -> Vec<u8> {
        match self.nt_response {
            Some(r) => {
                let k = ppp::mschap::mschap2_keys(&self.password, &r, false);
                [k.send_key, k.recv_key].concat()
            }
            None => Vec::new(),
        }
    }

    /// Answer one EAP packet from the server.
    pub fn step(&mut self, msg: &[u8]) -> EapStep {
        let Some(p) = EapPacket::parse(msg) else {
            return EapStep::Failure(Vec::new());
        };
        match (p.code, p.typ) {
            (SUCCESS, _) if self.done => EapStep::Success {
                message: Vec::new(),
                msk: self.msk(),
            },
            (SUCCESS, _) | (FAILURE, _) => EapStep::Failure(Vec::new()),
            (REQUEST, Some(TYPE_IDENTITY)) => EapStep::Continue(
                EapPacket {
                    code: RESPONSE,
                    id: p.id,
                    typ: Some(TYPE_IDENTITY),
                    data: self.user.as_bytes().to_vec(),
                }
                .to_bytes(),
            ),
            (REQUEST, Some(TYPE_MSCHAPV2)) => {
                let d = &p.data;
                match d.first() {
                    Some(&OP_CHALLENGE) if d.len() >= 5 + 16 && d[4] == 16 => {
                        let mut ac = [0u8; 16];
                        ac.copy_from_slice(&d[5..21]);
                        let user = self.user.as_bytes();
                        let nt = ppp::mschap::generate_nt_response(
                            &ac,
                            &self.peer_challenge,
                            ppp::mschap::strip_domain(user),
                            &self.password,
                        );
                        let ph = ppp::mschap::nt_password_hash(&self.password);
                        self.expect = Some(ppp::mschap::authenticator_response(
                            &ph,
                            &nt,
                            &self.peer_challenge,
                            &ac,
                            ppp::mschap::strip_domain(user),
                        ));
                        self.nt_response = Some(nt);
                        let mut body = vec![49u8];
                        body.extend_from_slice(&self.peer_challenge);
                        body.extend_from_slice(&[0u8; 8]);
                        body.extend_from_slice(&nt);
                        body.push(0);
                        body.extend_from_slice(user);
                        EapStep::Continue(
                            EapPacket {
                                code: RESPONSE,
                                id: p.id,
                                typ: Some(TYPE_MSCHAPV2),
                                data: mschap_data(OP_RESPONSE, d[1], &body),
                            }
                            .to_bytes(),
                        )
                    }
                    Some(&OP_SUCCESS) if d.len() >= 4 => {
                        // "S=<40 hex digits> M=..." must match our computation.
                        let ok = match (ppp::mschap::parse_success(&d[4..]), self.expect) {
                            (Some(got), Some(want)) => got == want,
                            _ => false,
                        };
                        if !ok {
                            return EapStep::Failure(Vec::new());
                        }
                        self.done = true;
                        EapStep::Continue(
                            EapPacket {
                                code: RESPONSE,
                                id: p.id,
                                typ: Some(TYPE_MSCHAPV2),
                                data: vec![OP_SUCCESS],
                            }
                            .to_bytes(),
                        )
                    }
                    _ => EapStep::Failure(Vec::new()),
                }
            }
            (REQUEST, Some(_)) => EapStep::Continue(
                // Nak: we only do MS-CHAPv2.
                EapPacket {
                    code: RESPONSE,
                    id: p.id,
                    typ: Some(TYPE_NAK),
                    data: vec![TYPE_MSCHAPV2],
                }
                .to_bytes(),
            ),
            _ => EapStep::Failure(Vec::new()),
        }
    }
}

/// The built-in EAP-MSCHAPv2 server: one local user (the identity's `username`/`password`),
/// used when no [`EapBackend`] is plugged in.
#[derive(Clone, Debug)]
pub struct MschapV2Server {
    user: String,
    password: String,
    challenge: [u8; 16],
    id: u8,
    state: u8,
    msk: Vec<u8>,
}

impl MschapV2Server {
    /// A server with a fresh 16-byte challenge from the caller's RNG.
    pub fn new(user: &str, password: &str, challenge: [u8; 16]) -> Self {
        MschapV2Server {
            user: user.to_string(),
            password: password.to_string(),
            challenge,
            id: 1,
            state: 0,
            msk: Vec::new(),
        }
    }

    /// The first request: EAP-Request/Identity (peers such as strongSwan take the EAP
    /// identity from it; without it they answer with their IKE identity).
    pub fn start(&mut self) -> Vec<u8> {
        self.state = 0;
        EapPacket {
            code: REQUEST,
            id: self.id,
            typ: Some(TYPE_IDENTITY),
            data: Vec::new(),
        }
        .to_bytes()
    }

    fn challenge(&mut self) -> Vec<u8> {
        self.id = self.id.wrapping_add(1);
        let mut body = vec![16u8];
        body.extend_from_slice(&self.challenge);
        body.extend_from_slice(b"ipsec-ike");
        self.state = 1;
        EapPacket {
            code: REQUEST,
            id: self.id,
            typ: Some(TYPE_MSCHAPV2),
            data: mschap_data(OP_CHALLENGE, self.id, &body),
        }
        .to_bytes()
    }

    /// Process the peer's response.
    pub fn step(&mut self, msg: &[u8]) -> EapStep {
        let fail = |id: u8| {
            EapStep::Failure(
                EapPacket {
                    code: FAILURE,
                    id,
                    typ: None,
                    data: Vec::new(),
                }
                .to_bytes(),
            )
        };
        let Some(p) = EapPacket::parse(msg) else {
            return fail(self.id);
        };
        if p.code != RESPONSE || p.id != self.id {
            return fail(self.id);
        }
        match (self.state, p.typ, p.data.first()) {
            (0, Some(TYPE_IDENTITY), _) => {
                if !p.data.eq_ignore_ascii_case(self.user.as_bytes()) {
                    return fail(self.id);
                }
                EapStep::Continue(self.challenge())
            }
            (1, Some(TYPE_MSCHAPV2), Some(&OP_RESPONSE))
                if p.data.len() >= 4 + 1 + 49 && p.data[4] == 49 =>
            {
                let d = &p.data;
                let mut pc = [0u8; 16];
                pc.copy_from_slice(&d[5..21]);
                let mut nt = [0u8; 24];
                nt.copy_from_slice(&d[29..53]);
                let name = &d[54..];
                let stripped = ppp::mschap::strip_domain(name);
                if !name.eq_ignore_ascii_case(self.user.as_bytes()) {
                    return fail(self.id);
                }
                let want = ppp::mschap::generate_nt_response(
                    &self.challenge,
                    &pc,
                    stripped,
                    &self.password,
                );
                if !bool::from(subtle::ConstantTimeEq::ct_eq(&want[..], &nt[..])) {
                    return fail(self.id);
                }
                let ph = ppp::mschap::nt_password_hash(&self.password);
                let s =
                    ppp::mschap::authenticator_response(&ph, &nt, &pc, &self.challenge, stripped);
                let k = ppp::mschap::mschap2_keys(&self.password, &nt, true);
                self.msk = [k.recv_key, k.send_key].concat();
                self.state = 2;
                self.id = self.id.wrapping_add(1);
                let text = ppp::mschap::format_authenticator_response(&s) + " M=welcome";
                EapStep::Continue(
                    EapPacket {
                        code: REQUEST,
                        id: self.id,
                        typ: Some(TYPE_MSCHAPV2),
                        data: mschap_data(OP_SUCCESS, d[1], text.as_bytes()),
                    }
                    .to_bytes(),
                )
            }
            (2, Some(TYPE_MSCHAPV2), Some(&OP_SUCCESS)) => {
                self.state = 3;
                EapStep::Success {
                    message: EapPacket {
                        code: SUCCESS,
                        id: self.id,
                        typ: None,
                        data: Vec::new(),
                    }
                    .to_bytes(),
                    msk: self.msk.clone(),
                }
            }
            _ => fail(self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_and_server_agree_on_the_msk_and_reject_a_wrong_password() {
        let mut s = MschapV2Server::new("alice", "pass word", [3; 16]);
        let mut c = MschapV2Client::new("alice", "pass word", [4; 16]);
        let mut m = s.start();
        assert_eq!(EapPacket::parse(&m).unwrap().typ, Some(TYPE_IDENTITY));
        let (cm, sm);
        loop {
            let EapStep::Continue(r) = c.step(&m) else {
                panic!()
            };
            match s.step(&r) {
                EapStep::Continue(x) => m = x,
                EapStep::Success { message, msk } => {
                    sm = msk;
                    let EapStep::Success { msk, .. } = c.step(&message) else {
                        panic!()
                    };
                    cm = msk;
                    break;
                }
                EapStep::Failure(_) => panic!("failed"),
            }
        }
        assert_eq!(cm, sm);
        assert_eq!(cm.len(), 32);
        let mut s = MschapV2Server::new("alice", "right", [3; 16]);
        let mut c = MschapV2Client::new("alice", "wrong", [4; 16]);
        let EapStep::Continue(id) = c.step(&s.start()) else {
            panic!()
        };
        let EapStep::Continue(ch) = s.step(&id) else {
            panic!()
        };
        let EapStep::Continue(r) = c.step(&ch) else {
            panic!()
        };
        assert!(matches!(s.step(&r), EapStep::Failure(_)));
        assert_eq!(EapPacket::parse(&[1, 2, 0, 3]), None);
    }
}
