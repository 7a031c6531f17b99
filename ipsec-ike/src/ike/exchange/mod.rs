//! The four exchanges in both roles (RFC 7296 1.2-1.4, 2.x): shared helpers and the
//! request/response dispatch here, one module per exchange family.

mod child;
mod eap;
mod ike_auth;
mod info;
mod init;

pub(crate) use child::*;
pub(crate) use eap::*;
pub(crate) use ike_auth::*;
pub(crate) use info::*;
pub(crate) use init::*;

use std::net::{IpAddr, SocketAddr};

use std::time::{Duration, Instant};

use sha1::Digest;

use super::proposal::{self, ChildSuite};

use super::sa::{Child, ChildOffer, EapSession, IkeSa, Pending, PendingKind, Req, SaState};

use super::{spi_u64, src_key, ts, Ike, Input, SadIn, SadOut};

use crate::auth;

use crate::config::{
    ExchangeMode, GeneratePolicy, IdSpec, Identity, IdentityAuth, IpPrefix, MatchBy, Policy,
    PolicyAction,
};

use crate::crypto::{self, Group, IkeSuite, KeyPair};

use crate::esp::{EspParams, EspSa};

use crate::event::{ChildDownReason, ChildId, DownReason, DropReason, Event, IkeSaId};

use crate::sk::{FragmentResult, SkCodec};

use crate::wire::*;

const NONCE_MIN: usize = 16;

/// Largest IKE_SA_INIT request a responder accepts (bytes).
pub const MAX_INIT_REQUEST: usize = 4096;

pub(crate) fn notify(t: NotifyType, data: Vec<u8>) -> Payload {
    Payload::new(PayloadType::NOTIFY, Body::Notify(Notify::new(t, data)))
}

pub(crate) fn ke_payload(group: DhId, public: &[u8]) -> Payload {
    Payload::new(
        PayloadType::KE,
        Body::Ke(Ke {
            group,
            reserved: 0,
            data: public.to_vec(),
        }),
    )
}

pub(crate) fn cert_payload(der: &[u8]) -> Payload {
    Payload::new(
        PayloadType::CERT,
        Body::Cert(Cert {
            encoding: CertEncoding::X509_SIGNATURE,
            data: der.to_vec(),
        }),
    )
}

/// TSi, TSr and (transport mode) USE_TRANSPORT_MODE.
pub(crate) fn push_ts(
    ps: &mut Vec<Payload>,
    ts_i: &[TrafficSelector],
    ts_r: &[TrafficSelector],
    tunnel: bool,
) {
    ps.push(Payload::new(
        PayloadType::TSI,
        Body::Ts(Ts::new(ts_i.to_vec())),
    ));
    ps.push(Payload::new(
        PayloadType::TSR,
        Body::Ts(Ts::new(ts_r.to_vec())),
    ));
    if !tunnel {
        ps.push(notify(NotifyType::USE_TRANSPORT_MODE, Vec::new()));
    }
}

pub(crate) fn find_notify(ps: &[Payload], t: NotifyType) -> Option<&Notify> {
    ps.iter().find_map(|p| match &p.body {
        Body::Notify(n) if n.ntype == t => Some(n),
        _ => None,
    })
}

pub(crate) fn first_error(ps: &[Payload]) -> Option<NotifyType> {
    ps.iter().find_map(|p| match &p.body {
        Body::Notify(n) if n.ntype.is_error() => Some(n.ntype),
        _ => None,
    })
}

pub(crate) fn get(ps: &[Payload], t: PayloadType) -> Option<&Body> {
    ps.iter().find(|p| p.ptype == t).map(|p| &p.body)
}

pub(crate) fn nat_hash(spi_i: &[u8; 8], spi_r: &[u8; 8], addr: SocketAddr) -> Vec<u8> {
    let mut h = sha1::Sha1::new();
    h.update(spi_i);
    h.update(spi_r);
    match addr.ip() {
        IpAddr::V4(a) => h.update(a.octets()),
        IpAddr::V6(a) => h.update(a.octets()),
    }
    h.update(addr.port().to_be_bytes());
    h.finalize().to_vec()
}

pub(crate) fn unsupported_critical(ps: &[Payload]) -> Option<u8> {
    ps.iter()
        .find(|p| p.critical() && matches!(p.body, Body::Unknown(_)))
        .map(|p| p.ptype.0)
}

/// Our identity payload for an identity.
pub(crate) fn my_id(ike: &Ike, identity: &Identity, local: IpAddr) -> Id {
    let cert = ike.certs.credential(&identity.certificate);
    match &identity.my_id {
        IdSpec::Auto | IdSpec::Ignore => match (identity.auth_method, cert) {
            (IdentityAuth::DigitalSignature, Some(c)) => {
                Id::new(IdType::DER_ASN1_DN, c.cert.subject_der.clone())
            }
            _ => ip_id(local),
        },
        IdSpec::Address(a) => ip_id(*a),
        IdSpec::Fqdn(s) => Id::new(IdType::FQDN, s.as_bytes().to_vec()),
        IdSpec::UserFqdn(s) => Id::new(IdType::RFC822_ADDR, s.as_bytes().to_vec()),
        IdSpec::KeyId(k) => Id::new(IdType::KEY_ID, k.clone()),
        IdSpec::Dn(s) => match cert {
            Some(c) if c.cert.subject.eq_ignore_ascii_case(s) => {
                Id::new(IdType::DER_ASN1_DN, c.cert.subject_der.clone())
            }
            _ => Id::new(IdType::FQDN, s.as_bytes().to_vec()),
        },
    }
}

pub(crate) fn ip_id(a: IpAddr) -> Id {
    match a {
        IpAddr::V4(v) => Id::new(IdType::IPV4_ADDR, v.octets().to_vec()),
        IpAddr::V6(v) => Id::new(IdType::IPV6_ADDR, v.octets().to_vec()),
    }
}

pub(crate) fn dn_text(id: &Id) -> Option<String> {
    use x509_cert::der::Decode;
    x509_cert::name::Name::from_der(&id.data)
        .ok()
        .map(|n| n.to_string())
}

/// Whether a received ID equals an expected one (DNs compared as names).
pub(crate) fn id_equal(a: &Id, b: &Id) -> bool {
    if a.id_type != b.id_type {
        return false;
    }
    match a.id_type {
        IdType::DER_ASN1_DN => {
            a.data == b.data
                || (dn_text(a).is_some()
                    && dn_text(a).map(|s| s.to_ascii_lowercase())
                        == dn_text(b).map(|s| s.to_ascii_lowercase()))
        }
        IdType::FQDN | IdType::RFC822_ADDR => a.data.eq_ignore_ascii_case(&b.data),
        _ => a.data == b.data,
    }
}

/// remote-id matching (L1373-1381).
pub(crate) fn remote_id_ok(spec: &IdSpec, id: &Id) -> bool {
    match spec {
        IdSpec::Auto | IdSpec::Ignore => true,
        IdSpec::Address(a) => id_equal(&ip_id(*a), id),
        IdSpec::Fqdn(s) => id.id_type == IdType::FQDN && id.data.eq_ignore_ascii_case(s.as_bytes()),
        IdSpec::UserFqdn(s) => {
            id.id_type == IdType::RFC822_ADDR && id.data.eq_ignore_ascii_case(s.as_bytes())
        }
        IdSpec::KeyId(k) => id.id_type == IdType::KEY_ID && &id.data == k,
        IdSpec::Dn(s) => {
            id.id_type == IdType::DER_ASN1_DN
                && dn_text(id).is_some_and(|t| t.eq_ignore_ascii_case(s))
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn new_sa(
    _ike: &mut Ike,
    now: Instant,
    peer: &str,
    initiator: bool,
    spi_i: [u8; 8],
    spi_r: [u8; 8],
    local: SocketAddr,
    remote: SocketAddr,
) -> IkeSa {
    IkeSa {
        id: IkeSaId(spi_u64(if initiator { &spi_i } else { &spi_r })),
        spi_i,
        spi_r,
        initiator,
        state: SaState::InitSent,
        peer: peer.to_string(),
        identity: None,
        local,
        remote,
        natt: local.port() != 500,
        nat_local: false,
        nat_remote: false,
        suite: None,
        keys: None,
        tx: None,
        rx: None,
        dh: None,
        ni: Vec::new(),
        nr: Vec::new(),
        msg1: Vec::new(),
        msg2: Vec::new(),
        cookie: None,
        frag: false,
        sig7427: false,
        next_id: 0,
        pending: None,
        queue: Default::default(),
        peer_next_id: 0,
        last_resp: None,
        reasm: Default::default(),
        children: Vec::new(),
        created: now,
        last_rx: now,
        last_tx: now,
        rekey_at: None,
        expire_at: None,
        half_open_until: None,
        local_id: None,
        remote_id: None,
        half_open_key: None,
        peer_ike_rekey: None,
        replaced_by: None,
        armed: None,
        initial_contact: false,
        assigned: None,
        eap: None,
        msk: None,
        eap_request: Vec::new(),
    }
}

pub(crate) fn install_ike_keys(sa: &mut IkeSa, suite: IkeSuite, keys: crypto::IkeKeys) {
    let mk = |ek: &[u8], ak: &[u8]| SkCodec::new(suite.encr, ek, suite.integ.map(|i| (i, ak))).ok();
    let (ci, cr) = (mk(&keys.sk_ei, &keys.sk_ai), mk(&keys.sk_er, &keys.sk_ar));
    if sa.initiator {
        sa.tx = ci;
        sa.rx = cr;
    } else {
        sa.tx = cr;
        sa.rx = ci;
    }
    sa.suite = Some(suite);
    sa.keys = Some(keys);
}

/// Encrypt a message for an SA (fragmenting when needed); returns the datagrams.
pub(crate) fn build_encrypted(
    ike: &mut Ike,
    id: u64,
    exchange: ExchangeType,
    msg_id: u32,
    response: bool,
    payloads: &[Payload],
) -> Vec<Vec<u8>> {
    let frag_size = ike.config.settings.fragment_size;
    let Some(sa) = ike.sas.get(&id) else {
        return Vec::new();
    };
    let Some(tx) = sa.tx.clone() else {
        return Vec::new();
    };
    let mut flags = 0;
    if sa.initiator {
        flags |= FLAG_INITIATOR;
    }
    if response {
        flags |= FLAG_RESPONSE;
    }
    let header = Header {
        spi_i: sa.spi_i,
        spi_r: sa.spi_r,
        next_payload: PayloadType::SK,
        version: 0x20,
        exchange,
        flags,
        message_id: msg_id,
        length: 0,
    };
    let inner = chain_to_bytes(payloads);
    let first = payloads.first().map_or(PayloadType::NONE, |p| p.ptype);
    let ivl = tx.encr().iv_len();
    let marker = if sa.natt { 4 } else { 0 };
    let whole = HEADER_LEN + 4 + inner.len() + tx.overhead(inner.len()) + marker;
    let frag = sa.frag && whole > frag_size && exchange != ExchangeType::IKE_SA_INIT;
    let mut iv = vec![0u8; ivl];
    if !frag {
        ike.rng.fill_bytes(&mut iv);
        return tx
            .seal(&header, &[], first, &inner, None, &iv, None)
            .map(|m| vec![m])
            .unwrap_or_default();
    }
    // RFC 7383 2.5: each fragment is a complete protected message of at most frag_size.
    let per = frag_size
        .saturating_sub(HEADER_LEN + 8 + marker + tx.overhead(0) + tx.encr().block_len())
        .max(64);
    let chunks: Vec<&[u8]> = inner.chunks(per).collect();
    let total = chunks.len() as u16;
    let mut out = Vec::with_capacity(chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        ike.rng.fill_bytes(&mut iv);
        let f = if i == 0 { first } else { PayloadType::NONE };
        let mut h = header;
        h.next_payload = PayloadType::SKF;
        if let Ok(m) = tx.seal(&h, &[], f, c, None, &iv, Some((i as u16 + 1, total))) {
            out.push(m);
        }
    }
    ike.stats.fragments_sent += out.len() as u64;
    out
}

pub(crate) fn start_request(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    exchange: ExchangeType,
    payloads: Vec<Payload>,
    kind: PendingKind,
) {
    let msg_id = ike.sas.get(&id).map_or(0, |s| s.next_id);
    let packets = build_encrypted(ike, id, exchange, msg_id, false, &payloads);
    let rt = ike.config.settings.retransmit_timeout;
    if let Some(sa) = ike.sas.get_mut(&id) {
        sa.next_id = msg_id.wrapping_add(1);
        sa.pending = Some(Pending {
            id: msg_id,
            packets: packets.clone(),
            tries: 0,
            next: now + rt,
            kind,
        });
    }
    ike.send_packets(id, now, &packets);
}

pub(crate) fn respond(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    exchange: ExchangeType,
    msg_id: u32,
    payloads: Vec<Payload>,
) {
    let packets = build_encrypted(ike, id, exchange, msg_id, true, &payloads);
    if let Some(sa) = ike.sas.get_mut(&id) {
        sa.last_resp = Some((msg_id, packets.clone()));
    }
    ike.send_packets(id, now, &packets);
}

/// Queue a request; it goes out when the window is free.
pub(crate) fn queue_request(ike: &mut Ike, now: Instant, id: u64, req: Req) {
    let Some(sa) = ike.sas.get_mut(&id) else {
        return;
    };
    sa.queue.push_back(req);
    pump(ike, now, id);
}

/// Send the next queued request if the window is free.
pub(crate) fn pump(ike: &mut Ike, now: Instant, id: u64) {
    loop {
        let Some(sa) = ike.sas.get_mut(&id) else {
            return;
        };
        if sa.pending.is_some() || sa.state != SaState::Established {
            return;
        }
        let Some(req) = sa.queue.pop_front() else {
            return;
        };
        if send_req(ike, now, id, req) {
            return;
        }
    }
}

/// Build and send one request; false if it turned out to be moot.
pub(crate) fn send_req(ike: &mut Ike, now: Instant, id: u64, req: Req) -> bool {
    match req {
        Req::Auth => false,
        Req::Dpd => {
            start_request(
                ike,
                now,
                id,
                ExchangeType::INFORMATIONAL,
                Vec::new(),
                PendingKind::Dpd,
            );
            true
        }
        Req::DeleteChildren(spis) => {
            let spis: Vec<u32> = {
                let Some(sa) = ike.sas.get(&id) else {
                    return false;
                };
                spis.into_iter()
                    .filter(|s| sa.children.iter().any(|c| c.spi_in == *s))
                    .collect()
            };
            if spis.is_empty() {
                return false;
            }
            let d = Delete {
                protocol: ProtocolId::ESP,
                spi_size: 4,
                spis: spis.iter().map(|s| s.to_be_bytes().to_vec()).collect(),
            };
            start_request(
                ike,
                now,
                id,
                ExchangeType::INFORMATIONAL,
                vec![Payload::new(PayloadType::DELETE, Body::Delete(d))],
                PendingKind::DeleteChildren(spis),
            );
            true
        }
        Req::DeleteIke => {
            let d = Delete {
                protocol: ProtocolId::IKE,
                spi_size: 0,
                spis: Vec::new(),
            };
            if let Some(sa) = ike.sas.get_mut(&id) {
                sa.state = SaState::Established;
            }
            start_request(
                ike,
                now,
                id,
                ExchangeType::INFORMATIONAL,
                vec![Payload::new(PayloadType::DELETE, Body::Delete(d))],
                PendingKind::DeleteIke,
            );
            if let Some(sa) = ike.sas.get_mut(&id) {
                sa.state = SaState::Deleting;
            }
            true
        }
        Req::RekeyChild(old) => rekey_child_request(ike, now, id, old),
        Req::RekeyIke => rekey_ike_request(ike, now, id),
    }
}

pub(crate) fn child_proposal(ike: &Ike, name: &str) -> crate::config::Proposal {
    ike.config.proposal(name).cloned().unwrap_or_default()
}

/// Decrypt the SK/SKF payload of a message. `Ok(None)`: a fragment was stored.
pub(crate) fn open(
    ike: &mut Ike,
    id: u64,
    raw: &[u8],
    msg: &Message,
) -> Result<Option<Vec<Payload>>, DropReason> {
    let Some(sa) = ike.sas.get_mut(&id) else {
        return Err(DropReason::UnknownSpi);
    };
    let Some(rx) = sa.rx.as_ref() else {
        return Err(DropReason::UnexpectedExchange);
    };
    let last = msg.payloads.last().ok_or(DropReason::Malformed)?;
    let o = rx.open(raw, msg).map_err(|_| DropReason::BadIntegrity)?;
    let (first, inner) = match last.body {
        Body::Sk { .. } => (o.first, o.inner),
        Body::Skf { number, total, .. } => {
            match sa
                .reasm
                .add(msg.header.message_id, number, total, o.first, o.inner)
            {
                FragmentResult::Complete(f, v) => (f, v),
                FragmentResult::Pending | FragmentResult::Duplicate => return Ok(None),
                FragmentResult::Refused(_) => return Err(DropReason::BadFragment),
            }
        }
        _ => return Err(DropReason::Malformed),
    };
    parse_chain(first, &inner, 0)
        .map(Some)
        .map_err(|_| DropReason::Malformed)
}

/// Peer's IP/port change (NAT-T float, 2.23): take the new endpoint of an authenticated
/// message.
pub(crate) fn float(ike: &mut Ike, id: u64, local: SocketAddr, remote: SocketAddr, natt: bool) {
    if let Some(sa) = ike.sas.get_mut(&id) {
        if natt && !sa.natt {
            sa.natt = true;
        }
        if sa.remote != remote || sa.local != local {
            sa.remote = remote;
            sa.local = local;
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn handle_request(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    local: SocketAddr,
    remote: SocketAddr,
    natt: bool,
    raw: &[u8],
    msg: Message,
) -> Input {
    let h = msg.header;
    let (expect, last) = {
        let sa = &ike.sas[&id];
        (sa.peer_next_id, sa.last_resp.as_ref().map(|(i, _)| *i))
    };
    if h.message_id != expect {
        if Some(h.message_id) == last {
            // A retransmission: replay the response (for fragments, on fragment 1 only).
            let first_frag = match msg.payloads.last().map(|p| &p.body) {
                Some(Body::Skf { number, .. }) => *number == 1,
                _ => true,
            };
            if first_frag {
                let pk = ike.sas[&id]
                    .last_resp
                    .as_ref()
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default();
                ike.stats.replayed_responses += 1;
                ike.send_packets(id, now, &pk);
            }
            return Input::Handled;
        }
        return ike.drop(DropReason::BadMessageId);
    }
    let inner = match open(ike, id, raw, &msg) {
        Ok(Some(p)) => p,
        Ok(None) => return Input::Handled,
        Err(r) => return ike.drop(r),
    };
    float(ike, id, local, remote, natt);
    if let Some(sa) = ike.sas.get_mut(&id) {
        sa.last_rx = now;
        sa.peer_next_id = h.message_id.wrapping_add(1);
    }
    if let Some(t) = unsupported_critical(&inner) {
        respond(
            ike,
            now,
            id,
            h.exchange,
            h.message_id,
            vec![notify(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, vec![t])],
        );
        return Input::Handled;
    }
    let state = ike.sas[&id].state;
    match (h.exchange, state) {
        (ExchangeType::IKE_AUTH, SaState::HalfOpen) => {
            responder_auth(ike, now, id, h.message_id, &inner)
        }
        (ExchangeType::INFORMATIONAL, SaState::Established | SaState::Deleting) => {
            informational_request(ike, now, id, h.message_id, &inner)
        }
        (ExchangeType::CREATE_CHILD_SA, SaState::Established) => {
            create_child_request(ike, now, id, h.message_id, &inner)
        }
        (ExchangeType::CREATE_CHILD_SA, SaState::Deleting) => {
            respond(
                ike,
                now,
                id,
                h.exchange,
                h.message_id,
                vec![notify(NotifyType::TEMPORARY_FAILURE, Vec::new())],
            );
            Input::Handled
        }
        _ => {
            if let Some(sa) = ike.sas.get_mut(&id) {
                sa.peer_next_id = h.message_id;
            }
            ike.drop(DropReason::UnexpectedExchange)
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn handle_response(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    local: SocketAddr,
    remote: SocketAddr,
    natt: bool,
    raw: &[u8],
    msg: Message,
) -> Input {
    let h = msg.header;
    let pid = ike.sas[&id].pending.as_ref().map(|p| p.id);
    if pid != Some(h.message_id) {
        return ike.drop(DropReason::UnexpectedResponse);
    }
    if h.exchange == ExchangeType::IKE_SA_INIT {
        if ike.sas[&id].state != SaState::InitSent {
            return ike.drop(DropReason::UnexpectedResponse);
        }
        return initiator_init_response(ike, now, id, raw, &msg);
    }
    let inner = match open(ike, id, raw, &msg) {
        Ok(Some(p)) => p,
        Ok(None) => return Input::Handled,
        Err(r) => return ike.drop(r),
    };
    float(ike, id, local, remote, natt);
    let Some(pending) = ike.sas.get_mut(&id).and_then(|sa| {
        sa.last_rx = now;
        sa.pending.take()
    }) else {
        return ike.drop(DropReason::UnexpectedResponse);
    };
    match pending.kind {
        PendingKind::Auth(offer) => initiator_auth_response(ike, now, id, &inner, offer),
        PendingKind::Dpd => {}
        PendingKind::DeleteChildren(spis) => {
            for spi in spis {
                remove_child_by_spi_in(ike, id, spi, None);
            }
        }
        PendingKind::DeleteIke => {
            let reason = if ike.sas[&id].replaced_by.is_some() {
                DownReason::Rekeyed
            } else {
                DownReason::Closed
            };
            ike.kill(id, reason);
            return Input::Handled;
        }
        PendingKind::RekeyChild { old, offer, dh } => {
            rekey_child_response(ike, now, id, &inner, old, offer, dh)
        }
        PendingKind::RekeyIke { spi, nonce, dh } => {
            rekey_ike_response(ike, now, id, &inner, spi, nonce, dh)
        }
        PendingKind::Init => {}
    }
    pump(ike, now, id);
    Input::Handled
}

/// A tiny helper so `get_mut` right after a successful `get` reads naturally.
trait ExpectOrSkip<T> {
    fn expect_or_skip(self) -> T;
}

impl<'a> ExpectOrSkip<&'a mut IkeSa> for Option<&'a mut IkeSa> {
    fn expect_or_skip(self) -> &'a mut IkeSa {
        match self {
            Some(s) => s,
            // The caller looked the SA up an instant before; it cannot be gone.
            None => unreachable_sa(),
        }
    }
}

#[allow(clippy::panic)]
pub(crate) fn unreachable_sa() -> ! {
    // Only reachable through a logic error in this module (never from network input).
    panic!("IKE SA vanished between two lookups")
}
