//! The four exchanges in both roles (RFC 7296 1.2-1.4, 2.x).

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

fn notify(t: NotifyType, data: Vec<u8>) -> Payload {
    Payload::new(PayloadType::NOTIFY, Body::Notify(Notify::new(t, data)))
}

fn ke_payload(group: DhId, public: &[u8]) -> Payload {
    Payload::new(
        PayloadType::KE,
        Body::Ke(Ke {
            group,
            reserved: 0,
            data: public.to_vec(),
        }),
    )
}

fn cert_payload(der: &[u8]) -> Payload {
    Payload::new(
        PayloadType::CERT,
        Body::Cert(Cert {
            encoding: CertEncoding::X509_SIGNATURE,
            data: der.to_vec(),
        }),
    )
}

/// TSi, TSr and (transport mode) USE_TRANSPORT_MODE.
fn push_ts(
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

fn find_notify(ps: &[Payload], t: NotifyType) -> Option<&Notify> {
    ps.iter().find_map(|p| match &p.body {
        Body::Notify(n) if n.ntype == t => Some(n),
        _ => None,
    })
}

fn first_error(ps: &[Payload]) -> Option<NotifyType> {
    ps.iter().find_map(|p| match &p.body {
        Body::Notify(n) if n.ntype.is_error() => Some(n.ntype),
        _ => None,
    })
}

fn get(ps: &[Payload], t: PayloadType) -> Option<&Body> {
    ps.iter().find(|p| p.ptype == t).map(|p| &p.body)
}

fn nat_hash(spi_i: &[u8; 8], spi_r: &[u8; 8], addr: SocketAddr) -> Vec<u8> {
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

fn unsupported_critical(ps: &[Payload]) -> Option<u8> {
    ps.iter()
        .find(|p| p.critical() && matches!(p.body, Body::Unknown(_)))
        .map(|p| p.ptype.0)
}

/// Our identity payload for an identity.
fn my_id(ike: &Ike, identity: &Identity, local: IpAddr) -> Id {
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

fn ip_id(a: IpAddr) -> Id {
    match a {
        IpAddr::V4(v) => Id::new(IdType::IPV4_ADDR, v.octets().to_vec()),
        IpAddr::V6(v) => Id::new(IdType::IPV6_ADDR, v.octets().to_vec()),
    }
}

fn dn_text(id: &Id) -> Option<String> {
    use x509_cert::der::Decode;
    x509_cert::name::Name::from_der(&id.data)
        .ok()
        .map(|n| n.to_string())
}

/// Whether a received ID equals an expected one (DNs compared as names).
fn id_equal(a: &Id, b: &Id) -> bool {
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
fn remote_id_ok(spec: &IdSpec, id: &Id) -> bool {
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
fn new_sa(
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

fn init_request(ike: &mut Ike, id: u64) -> Vec<u8> {
    let (spi_i, local, remote, peer, cookie, ni, ke_group, ke_pub) = {
        let sa = &ike.sas[&id];
        let dh = sa.dh.as_ref();
        (
            sa.spi_i,
            sa.local,
            sa.remote,
            sa.peer.clone(),
            sa.cookie.clone(),
            sa.ni.clone(),
            dh.map_or(DhId::NONE, |k| k.group().id()),
            dh.map_or(Vec::new(), |k| k.public().to_vec()),
        )
    };
    let profile = ike
        .config
        .peer(&peer)
        .and_then(|p| ike.config.profile(&p.profile))
        .cloned()
        .unwrap_or_default();
    let mut ps = Vec::new();
    if let Some(c) = cookie {
        ps.push(notify(NotifyType::COOKIE, c));
    }
    ps.push(Payload::new(
        PayloadType::SA,
        Body::Sa(vec![proposal::ike_proposal(&profile, &[])]),
    ));
    ps.push(ke_payload(ke_group, &ke_pub));
    ps.push(Payload::new(PayloadType::NONCE, Body::Nonce(ni)));
    let src = if ike.config.settings.force_encap {
        SocketAddr::new(IpAddr::from([0u8; 4]), 0)
    } else {
        local
    };
    ps.push(notify(
        NotifyType::NAT_DETECTION_SOURCE_IP,
        nat_hash(&spi_i, &[0; 8], src),
    ));
    ps.push(notify(
        NotifyType::NAT_DETECTION_DESTINATION_IP,
        nat_hash(&spi_i, &[0; 8], remote),
    ));
    ps.push(notify(
        NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
        Vec::new(),
    ));
    ps.push(notify(
        NotifyType::SIGNATURE_HASH_ALGORITHMS,
        vec![0, 2, 0, 3, 0, 4],
    ));
    Message {
        header: Header {
            spi_i,
            spi_r: [0; 8],
            next_payload: PayloadType::NONE,
            version: 0x20,
            exchange: ExchangeType::IKE_SA_INIT,
            flags: FLAG_INITIATOR,
            message_id: 0,
            length: 0,
        },
        payloads: ps,
    }
    .to_bytes()
}

/// Start an IKE SA as initiator.
pub(super) fn initiate(
    ike: &mut Ike,
    now: Instant,
    peer: &str,
    local: SocketAddr,
    remote: SocketAddr,
) -> Result<IkeSaId, crate::error::Error> {
    let p = ike
        .config
        .peer(peer)
        .ok_or(crate::error::Error::Unknown("peer"))?;
    if p.exchange_mode != ExchangeMode::Ike2 {
        return Err(crate::error::Error::InvalidState(
            "only exchange-mode=ike2 is implemented (IKEv1 is issue #18)",
        ));
    }
    let profile = ike.config.profile(&p.profile).cloned().unwrap_or_default();
    let group = *profile
        .dh_group
        .first()
        .ok_or(crate::error::Error::InvalidState("no dh-group"))?;
    let spi_i = ike.new_ike_spi();
    let dh = KeyPair::generate(group, &mut *ike.rng)?;
    let ni = ike.nonce();
    let mut sa = new_sa(ike, now, peer, true, spi_i, [0; 8], local, remote);
    sa.dh = Some(dh);
    sa.ni = ni;
    let id = spi_u64(&spi_i);
    ike.sas.insert(id, sa);
    let m = init_request(ike, id);
    send_init(ike, now, id, m);
    ike.rearm(now, id);
    Ok(IkeSaId(id))
}

fn send_init(ike: &mut Ike, now: Instant, id: u64, m: Vec<u8>) {
    let rt = ike.config.settings.retransmit_timeout;
    if let Some(sa) = ike.sas.get_mut(&id) {
        sa.msg1 = m.clone();
        sa.pending = Some(Pending {
            id: 0,
            packets: vec![m.clone()],
            tries: 0,
            next: now + rt,
            kind: PendingKind::Init,
        });
    }
    ike.send_packets(id, now, &[m]);
}

fn stateless_reply(
    ike: &mut Ike,
    local: SocketAddr,
    remote: SocketAddr,
    natt: bool,
    h: &Header,
    n: Notify,
) {
    let m = Message {
        header: Header {
            spi_i: h.spi_i,
            spi_r: [0; 8],
            next_payload: PayloadType::NONE,
            version: 0x20,
            exchange: ExchangeType::IKE_SA_INIT,
            flags: FLAG_RESPONSE,
            message_id: 0,
            length: 0,
        },
        payloads: vec![Payload::new(PayloadType::NOTIFY, Body::Notify(n))],
    }
    .to_bytes();
    let payload = if natt {
        [&[0u8; 4][..], &m].concat()
    } else {
        m
    };
    ike.out.push_back(super::Transmit {
        local,
        remote,
        payload,
    });
}

/// Responder: IKE_SA_INIT request.
pub(super) fn responder_init(
    ike: &mut Ike,
    now: Instant,
    local: SocketAddr,
    remote: SocketAddr,
    natt: bool,
    raw: &[u8],
    msg: &Message,
) -> Input {
    let h = msg.header;
    // A retransmitted request: answer with the same response.
    if let Some(&id) = ike.init_index.get(&(spi_u64(&h.spi_i), remote)) {
        if let Some(sa) = ike.sas.get(&id) {
            if sa.msg1 == raw && !sa.msg2.is_empty() {
                let m = sa.msg2.clone();
                ike.stats.replayed_responses += 1;
                ike.send_packets(id, now, &[m]);
                return Input::Handled;
            }
        }
        return ike.drop(DropReason::BadMessageId);
    }
    // Bound what one stranger's datagram can make us keep (a copy of it lives as RealMessage1
    // until IKE_AUTH): the largest legitimate request (MODP8192 KE, a cookie, notifies) is
    // well under this.
    if raw.len() > MAX_INIT_REQUEST {
        return ike.drop(DropReason::Malformed);
    }
    let s = &ike.config.settings;
    let key = src_key(remote.ip());
    if ike.half_open >= s.half_open_limit
        || ike.half_open_by_src.get(&key).copied().unwrap_or(0) >= s.half_open_per_source
    {
        return ike.drop(DropReason::HalfOpenLimit);
    }
    if ike.sas.len() >= s.max_ike_sas {
        return ike.drop(DropReason::TooManySas);
    }
    let Some(Body::Nonce(ni)) = get(&msg.payloads, PayloadType::NONCE).cloned() else {
        return ike.drop(DropReason::Malformed);
    };
    if ni.len() < NONCE_MIN || ni.len() > 256 {
        return ike.drop(DropReason::Malformed);
    }
    // Cookies under load (2.6): the COOKIE notify must be the first payload.
    if ike.half_open >= s.cookie_threshold {
        let ok = match msg.payloads.first().map(|p| &p.body) {
            Some(Body::Notify(n)) if n.ntype == NotifyType::COOKIE => {
                ike.cookies.check(&n.data, &ni, remote.ip(), &h.spi_i)
            }
            _ => false,
        };
        if !ok {
            let c = ike
                .cookies
                .make(now, &mut *ike.rng, &ni, remote.ip(), &h.spi_i);
            ike.stats.cookies_sent += 1;
            stateless_reply(
                ike,
                local,
                remote,
                natt,
                &h,
                Notify::new(NotifyType::COOKIE, c),
            );
            return ike.drop(DropReason::CookieRequired);
        }
    }
    let Some(peer) = ike
        .config
        .select_peer(remote.ip(), Some(local.ip()), ExchangeMode::Ike2)
        .cloned()
    else {
        return ike.drop(DropReason::UnknownSpi);
    };
    let profile = ike
        .config
        .profile(&peer.profile)
        .cloned()
        .unwrap_or_default();
    let Some(Body::Sa(offer)) = get(&msg.payloads, PayloadType::SA) else {
        return ike.drop(DropReason::Malformed);
    };
    let Some((answer, suite)) = proposal::select_ike(offer, &profile) else {
        stateless_reply(
            ike,
            local,
            remote,
            natt,
            &h,
            Notify::new(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new()),
        );
        ike.events.push_back(Event::Failed {
            remote,
            reason: DownReason::Negotiation("no proposal chosen (IKE)".into()),
        });
        return Input::Handled;
    };
    let Some(Body::Ke(ke)) = get(&msg.payloads, PayloadType::KE) else {
        return ike.drop(DropReason::Malformed);
    };
    if ke.group != suite.dh.id() {
        stateless_reply(
            ike,
            local,
            remote,
            natt,
            &h,
            Notify::new(
                NotifyType::INVALID_KE_PAYLOAD,
                suite.dh.id().0.to_be_bytes().to_vec(),
            ),
        );
        return Input::Handled;
    }
    let dh = match KeyPair::generate(suite.dh, &mut *ike.rng) {
        Ok(k) => k,
        Err(_) => return ike.drop(DropReason::Malformed),
    };
    let gir = match dh.shared(&ke.data) {
        Ok(g) => g,
        Err(_) => {
            stateless_reply(
                ike,
                local,
                remote,
                natt,
                &h,
                Notify::new(NotifyType::INVALID_SYNTAX, Vec::new()),
            );
            return ike.drop(DropReason::Malformed);
        }
    };
    let spi_r = ike.new_ike_spi();
    let nr = ike.nonce();
    let skeyseed = crypto::skeyseed(suite.prf, &ni, &nr, &gir);
    let Ok(keys) = crypto::ike_keys(&suite, &skeyseed, &ni, &nr, &h.spi_i, &spi_r) else {
        return ike.drop(DropReason::Malformed);
    };
    let mut sa = new_sa(ike, now, &peer.name, false, h.spi_i, spi_r, local, remote);
    // NAT detection (2.23): compare the peer's hashes with the addresses we see.
    let src_ok = find_notify(&msg.payloads, NotifyType::NAT_DETECTION_SOURCE_IP)
        .map(|n| n.data == nat_hash(&h.spi_i, &[0; 8], remote));
    let dst_ok = find_notify(&msg.payloads, NotifyType::NAT_DETECTION_DESTINATION_IP)
        .map(|n| n.data == nat_hash(&h.spi_i, &[0; 8], local));
    sa.nat_remote = src_ok == Some(false);
    sa.nat_local = dst_ok == Some(false);
    sa.frag = find_notify(&msg.payloads, NotifyType::IKEV2_FRAGMENTATION_SUPPORTED).is_some();
    sa.sig7427 = find_notify(&msg.payloads, NotifyType::SIGNATURE_HASH_ALGORITHMS)
        .is_some_and(|n| n.data.chunks(2).any(|c| c == [0, 2]));
    sa.state = SaState::HalfOpen;
    sa.half_open_until = Some(now + ike.config.settings.half_open_timeout);
    sa.half_open_key = Some(key);
    sa.ni = ni;
    sa.nr = nr.clone();
    sa.msg1 = raw.to_vec();
    sa.peer_next_id = 1;
    install_ike_keys(&mut sa, suite, keys);
    let mut ps = vec![
        Payload::new(PayloadType::SA, Body::Sa(vec![answer])),
        ke_payload(suite.dh.id(), dh.public()),
        Payload::new(PayloadType::NONCE, Body::Nonce(nr)),
        notify(
            NotifyType::NAT_DETECTION_SOURCE_IP,
            nat_hash(
                &h.spi_i,
                &spi_r,
                if ike.config.settings.force_encap {
                    SocketAddr::new(IpAddr::from([0u8; 4]), 0)
                } else {
                    local
                },
            ),
        ),
        notify(
            NotifyType::NAT_DETECTION_DESTINATION_IP,
            nat_hash(&h.spi_i, &spi_r, remote),
        ),
        notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED, Vec::new()),
        notify(
            NotifyType::SIGNATURE_HASH_ALGORITHMS,
            vec![0, 2, 0, 3, 0, 4],
        ),
    ];
    if !ike.certs.cas.is_empty() {
        ps.push(Payload::new(
            PayloadType::CERTREQ,
            Body::Cert(Cert {
                encoding: CertEncoding::X509_SIGNATURE,
                data: ike.certs.certreq_data(),
            }),
        ));
    }
    let m = Message {
        header: Header {
            spi_i: h.spi_i,
            spi_r,
            next_payload: PayloadType::NONE,
            version: 0x20,
            exchange: ExchangeType::IKE_SA_INIT,
            flags: FLAG_RESPONSE,
            message_id: 0,
            length: 0,
        },
        payloads: ps,
    }
    .to_bytes();
    sa.msg2 = m.clone();
    let id = spi_u64(&spi_r);
    let (nl, nrm) = (sa.nat_local, sa.nat_remote);
    ike.sas.insert(id, sa);
    ike.init_index.insert((spi_u64(&h.spi_i), remote), id);
    ike.half_open += 1;
    *ike.half_open_by_src.entry(key).or_default() += 1;
    if nl || nrm {
        ike.events.push_back(Event::NatDetected {
            sa: IkeSaId(id),
            local_behind_nat: nl,
            remote_behind_nat: nrm,
        });
    }
    ike.send_packets(id, now, &[m]);
    ike.rearm(now, id);
    Input::Handled
}

fn install_ike_keys(sa: &mut IkeSa, suite: IkeSuite, keys: crypto::IkeKeys) {
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
fn build_encrypted(
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

fn start_request(
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

fn respond(
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
pub(super) fn queue_request(ike: &mut Ike, now: Instant, id: u64, req: Req) {
    let Some(sa) = ike.sas.get_mut(&id) else {
        return;
    };
    sa.queue.push_back(req);
    pump(ike, now, id);
}

/// Send the next queued request if the window is free.
fn pump(ike: &mut Ike, now: Instant, id: u64) {
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
fn send_req(ike: &mut Ike, now: Instant, id: u64, req: Req) -> bool {
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

fn child_proposal(ike: &Ike, name: &str) -> crate::config::Proposal {
    ike.config.proposal(name).cloned().unwrap_or_default()
}

fn rekey_child_request(ike: &mut Ike, now: Instant, id: u64, old: ChildId) -> bool {
    let Some(sa) = ike.sas.get(&id) else {
        return false;
    };
    let Some(c) = sa.child(old).cloned() else {
        return false;
    };
    if c.rekeyed_by.is_some() || c.rekeying {
        return false;
    }
    let prop = child_proposal(ike, &c.proposal);
    let pfs = prop.pfs_group;
    let spi_in = ike.new_spi_u32();
    let nonce = ike.nonce();
    let dh = match pfs {
        Some(g) => KeyPair::generate(g, &mut *ike.rng).ok(),
        None => None,
    };
    let mut ps = vec![
        Payload::new(
            PayloadType::NOTIFY,
            Body::Notify(Notify {
                protocol: ProtocolId::ESP,
                spi: c.spi_in.to_be_bytes().to_vec(),
                ntype: NotifyType::REKEY_SA,
                data: Vec::new(),
            }),
        ),
        Payload::new(
            PayloadType::SA,
            Body::Sa(proposal::esp_proposals(&prop, spi_in, pfs)),
        ),
        Payload::new(PayloadType::NONCE, Body::Nonce(nonce.clone())),
    ];
    if let Some(k) = &dh {
        ps.push(ke_payload(k.group().id(), k.public()));
    }
    push_ts(&mut ps, &c.ts_local, &c.ts_remote, c.tunnel);
    if let Some(sa) = ike.sas.get_mut(&id) {
        if let Some(ch) = sa.child_mut(old) {
            ch.rekeying = true;
        }
    }
    let offer = ChildOffer {
        spi_in,
        proposal: c.proposal.clone(),
        pfs,
        nonce,
        ts_i: c.ts_local.clone(),
        ts_r: c.ts_remote.clone(),
        tunnel: c.tunnel,
        mode_config: false,
    };
    start_request(
        ike,
        now,
        id,
        ExchangeType::CREATE_CHILD_SA,
        ps,
        PendingKind::RekeyChild { old, offer, dh },
    );
    true
}

fn rekey_ike_request(ike: &mut Ike, now: Instant, id: u64) -> bool {
    let Some(sa) = ike.sas.get(&id) else {
        return false;
    };
    if sa.replaced_by.is_some() {
        return false;
    }
    let Some(suite) = sa.suite else { return false };
    let profile = ike
        .config
        .peer(&sa.peer)
        .and_then(|p| ike.config.profile(&p.profile))
        .cloned()
        .unwrap_or_default();
    let spi = ike.new_ike_spi();
    let nonce = ike.nonce();
    let Ok(dh) = KeyPair::generate(suite.dh, &mut *ike.rng) else {
        return false;
    };
    let mut prop = proposal::ike_proposal(&profile, &spi);
    // Offer the current group first so the KE fits (2.18).
    prop.transforms.sort_by_key(|t| {
        (
            t.ttype.0,
            t.ttype == TransformType::DH && t.id != suite.dh.id().0,
        )
    });
    let ps = vec![
        Payload::new(PayloadType::SA, Body::Sa(vec![prop])),
        Payload::new(PayloadType::NONCE, Body::Nonce(nonce.clone())),
        ke_payload(suite.dh.id(), dh.public()),
    ];
    start_request(
        ike,
        now,
        id,
        ExchangeType::CREATE_CHILD_SA,
        ps,
        PendingKind::RekeyIke { spi, nonce, dh },
    );
    true
}

/// Decrypt the SK/SKF payload of a message. `Ok(None)`: a fragment was stored.
fn open(
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
fn float(ike: &mut Ike, id: u64, local: SocketAddr, remote: SocketAddr, natt: bool) {
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
pub(super) fn handle_request(
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
pub(super) fn handle_response(
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

fn initiator_init_response(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    raw: &[u8],
    msg: &Message,
) -> Input {
    let ps = &msg.payloads;
    let peer = ike.sas[&id].peer.clone();
    let profile = ike
        .config
        .peer(&peer)
        .and_then(|p| ike.config.profile(&p.profile))
        .cloned()
        .unwrap_or_default();
    if let Some(c) = find_notify(ps, NotifyType::COOKIE) {
        if c.data.is_empty() || c.data.len() > 64 {
            return ike.drop(DropReason::Malformed);
        }
        // 2.6: send the request again with the cookie first (same nonce and KE).
        let data = c.data.clone();
        if let Some(sa) = ike.sas.get_mut(&id) {
            if sa.cookie.is_some() && sa.cookie.as_ref() == Some(&data) {
                return ike.drop(DropReason::UnexpectedResponse);
            }
            sa.cookie = Some(data);
        }
        let m = init_request(ike, id);
        send_init(ike, now, id, m);
        return Input::Handled;
    }
    if let Some(n) = find_notify(ps, NotifyType::INVALID_KE_PAYLOAD) {
        let g = n
            .data
            .get(..2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .unwrap_or(0);
        let Ok(group) = Group::from_id(DhId(g)) else {
            return ike.drop(DropReason::Malformed);
        };
        let current = ike.sas[&id].dh.as_ref().map(KeyPair::group);
        if !profile.dh_group.contains(&group) || current == Some(group) {
            ike.kill(id, DownReason::PeerError(NotifyType::INVALID_KE_PAYLOAD));
            return Input::Handled;
        }
        let Ok(dh) = KeyPair::generate(group, &mut *ike.rng) else {
            return ike.drop(DropReason::Malformed);
        };
        if let Some(sa) = ike.sas.get_mut(&id) {
            sa.dh = Some(dh);
        }
        let m = init_request(ike, id);
        send_init(ike, now, id, m);
        return Input::Handled;
    }
    if let Some(e) = first_error(ps) {
        ike.kill(id, DownReason::PeerError(e));
        return Input::Handled;
    }
    let (Some(Body::Sa(ans)), Some(Body::Ke(ke)), Some(Body::Nonce(nr))) = (
        get(ps, PayloadType::SA),
        get(ps, PayloadType::KE),
        get(ps, PayloadType::NONCE),
    ) else {
        return ike.drop(DropReason::Malformed);
    };
    let Some(suite) = proposal::accept_ike_answer(ans, &profile) else {
        ike.kill(
            id,
            DownReason::Negotiation("responder chose a proposal we did not offer".into()),
        );
        return Input::Handled;
    };
    if nr.len() < NONCE_MIN {
        return ike.drop(DropReason::Malformed);
    }
    let h = msg.header;
    let (gir, ni) = {
        let sa = &ike.sas[&id];
        let Some(dh) = sa.dh.as_ref() else {
            return ike.drop(DropReason::UnexpectedResponse);
        };
        if dh.group() != suite.dh || ke.group != suite.dh.id() {
            ike.kill(id, DownReason::Negotiation("KE group mismatch".into()));
            return Input::Handled;
        }
        match dh.shared(&ke.data) {
            Ok(g) => (g, sa.ni.clone()),
            Err(_) => {
                ike.kill(id, DownReason::Negotiation("invalid KE".into()));
                return Input::Handled;
            }
        }
    };
    let skeyseed = crypto::skeyseed(suite.prf, &ni, nr, &gir);
    let Ok(keys) = crypto::ike_keys(&suite, &skeyseed, &ni, nr, &h.spi_i, &h.spi_r) else {
        return ike.drop(DropReason::Malformed);
    };
    let force_encap = ike.config.settings.force_encap;
    let (nat_l, nat_r) = {
        let sa = ike.sas.get_mut(&id).expect_or_skip();
        sa.spi_r = h.spi_r;
        sa.nr = nr.clone();
        sa.msg2 = raw.to_vec();
        sa.dh = None;
        sa.pending = None;
        sa.next_id = 1;
        sa.frag = find_notify(ps, NotifyType::IKEV2_FRAGMENTATION_SUPPORTED).is_some();
        sa.sig7427 = find_notify(ps, NotifyType::SIGNATURE_HASH_ALGORITHMS)
            .is_some_and(|n| n.data.chunks(2).any(|c| c == [0, 2]));
        let src_ok = find_notify(ps, NotifyType::NAT_DETECTION_SOURCE_IP)
            .map(|n| n.data == nat_hash(&h.spi_i, &h.spi_r, sa.remote));
        let dst_ok = find_notify(ps, NotifyType::NAT_DETECTION_DESTINATION_IP)
            .map(|n| n.data == nat_hash(&h.spi_i, &h.spi_r, sa.local));
        sa.nat_remote = src_ok == Some(false);
        sa.nat_local = dst_ok == Some(false);
        install_ike_keys(sa, suite, keys);
        if sa.nat_local || sa.nat_remote || force_encap {
            // 2.23: move to port 4500 with the non-ESP marker.
            sa.natt = true;
            sa.local.set_port(4500);
            if sa.remote.port() == 500 {
                sa.remote.set_port(4500);
            }
        }
        (sa.nat_local, sa.nat_remote)
    };
    if nat_l || nat_r {
        ike.events.push_back(Event::NatDetected {
            sa: IkeSaId(id),
            local_behind_nat: nat_l,
            remote_behind_nat: nat_r,
        });
    }
    send_auth_request(ike, now, id);
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
fn unreachable_sa() -> ! {
    // Only reachable through a logic error in this module (never from network input).
    panic!("IKE SA vanished between two lookups")
}

/// The child an initiator offers: from the peer's first encrypt policy, else a road-warrior
/// 0/0 request with mode config, else host-to-host transport.
fn child_offer(ike: &mut Ike, id: u64, identity: &Identity) -> ChildOffer {
    let (peer, local, remote) = {
        let sa = &ike.sas[&id];
        (sa.peer.clone(), sa.local.ip(), sa.remote.ip())
    };
    let spi_in = ike.new_spi_u32();
    let mode_config = identity
        .mode_config
        .as_ref()
        .is_some_and(|m| ike.config.mode_config(m).is_some_and(|mc| !mc.responder));
    let pol = ike
        .config
        .policies
        .iter()
        .find(|p| !p.template && !p.disabled && p.peer == peer && p.action == PolicyAction::Encrypt)
        .cloned();
    match pol {
        Some(p) => ChildOffer {
            spi_in,
            proposal: p.proposal.clone(),
            pfs: None,
            nonce: Vec::new(),
            ts_i: vec![ts::from_prefix(&p.src_address, p.protocol, p.src_port)],
            ts_r: vec![ts::from_prefix(&p.dst_address, p.protocol, p.dst_port)],
            tunnel: p.tunnel,
            mode_config,
        },
        None if mode_config => {
            let all = IpPrefix::new(IpAddr::from([0u8; 4]), 0);
            ChildOffer {
                spi_in,
                proposal: "default".into(),
                pfs: None,
                nonce: Vec::new(),
                ts_i: vec![ts::from_prefix(&all, 0, None)],
                ts_r: vec![ts::from_prefix(&all, 0, None)],
                tunnel: true,
                mode_config,
            }
        }
        None => ChildOffer {
            spi_in,
            proposal: "default".into(),
            pfs: None,
            nonce: Vec::new(),
            ts_i: vec![ts::from_prefix(&IpPrefix::host(local), 0, None)],
            ts_r: vec![ts::from_prefix(&IpPrefix::host(remote), 0, None)],
            tunnel: false,
            mode_config,
        },
    }
}

fn send_auth_request(ike: &mut Ike, now: Instant, id: u64) {
    let peer = ike.sas[&id].peer.clone();
    let Some(idx) = ike
        .config
        .identities
        .iter()
        .position(|i| i.peer == peer && !i.disabled)
    else {
        ike.kill(id, DownReason::AuthFailed("no identity for peer".into()));
        return;
    };
    let identity = ike.config.identities[idx].clone();
    let send_ic = ike
        .config
        .peer(&peer)
        .is_none_or(|p| p.send_initial_contact);
    let local_ip = ike.sas[&id].local.ip();
    let idi = my_id(ike, &identity, local_ip);
    let offer = child_offer(ike, id, &identity);
    let (octets, sig7427) = {
        let sa = &ike.sas[&id];
        let (Some(suite), Some(keys)) = (sa.suite, sa.keys.as_ref()) else {
            return;
        };
        (
            auth::signed_octets(&sa.msg1, &sa.nr, suite.prf, &keys.sk_pi, &idi),
            sa.sig7427,
        )
    };
    let prf = ike.sas[&id].suite.map_or(crypto::Prf::HmacSha1, |s| s.prf);
    let mut ps = vec![Payload::new(PayloadType::IDI, Body::Id(idi.clone()))];
    let auth_payload = match identity.auth_method {
        IdentityAuth::Eap => {
            if !identity.eap_methods.is_empty()
                && !identity.eap_methods.iter().any(|m| m == "eap-mschapv2")
            {
                ike.kill(
                    id,
                    DownReason::AuthFailed("only eap-mschapv2 is built in".into()),
                );
                return;
            }
            let mut pc = [0u8; 16];
            ike.rng.fill_bytes(&mut pc);
            if let Some(sa) = ike.sas.get_mut(&id) {
                sa.eap = Some(EapSession::Client(crate::eap::MschapV2Client::new(
                    &identity.username,
                    &identity.password,
                    pc,
                )));
            }
            None
        }
        IdentityAuth::PreSharedKey => match identity.secret_bytes() {
            Ok(k) => Some(Auth {
                method: AuthMethod::PSK,
                reserved: [0; 3],
                data: auth::psk_auth(prf, &k, &octets),
            }),
            Err(_) => {
                ike.kill(id, DownReason::AuthFailed("bad secret".into()));
                return;
            }
        },
        IdentityAuth::DigitalSignature => {
            let Some(cred) = ike.certs.credential(&identity.certificate).cloned() else {
                ike.kill(
                    id,
                    DownReason::AuthFailed(format!("no certificate {:?}", identity.certificate)),
                );
                return;
            };
            ps.push(cert_payload(&cred.cert.der));
            match auth::sign(&cred.key, sig7427, &octets) {
                Ok((method, data)) => Some(Auth {
                    method,
                    reserved: [0; 3],
                    data,
                }),
                Err(e) => {
                    ike.kill(id, DownReason::AuthFailed(e.to_string()));
                    return;
                }
            }
        }
        other => {
            ike.kill(
                id,
                DownReason::AuthFailed(format!(
                    "auth-method {other:?} not implemented for IKEv2 initiators"
                )),
            );
            return;
        }
    };
    if !ike.certs.cas.is_empty() {
        ps.push(Payload::new(
            PayloadType::CERTREQ,
            Body::Cert(Cert {
                encoding: CertEncoding::X509_SIGNATURE,
                data: ike.certs.certreq_data(),
            }),
        ));
    }
    if send_ic {
        ps.push(notify(NotifyType::INITIAL_CONTACT, Vec::new()));
    }
    if let Some(r) = spec_id(&identity.remote_id) {
        ps.push(Payload::new(PayloadType::IDR, Body::Id(r)));
    }
    if let Some(a) = auth_payload {
        ps.push(Payload::new(PayloadType::AUTH, Body::Auth(a)));
    }
    if offer.mode_config {
        ps.push(Payload::new(
            PayloadType::CP,
            Body::Cp(Cp {
                cfg_type: CfgType::REQUEST,
                reserved: [0; 3],
                attrs: vec![
                    CfgAttr::new(CfgAttrType::INTERNAL_IP4_ADDRESS, Vec::new()),
                    CfgAttr::new(CfgAttrType::INTERNAL_IP4_DNS, Vec::new()),
                ],
            }),
        ));
    }
    let prop = child_proposal(ike, &offer.proposal);
    ps.push(Payload::new(
        PayloadType::SA,
        Body::Sa(proposal::esp_proposals(&prop, offer.spi_in, None)),
    ));
    push_ts(&mut ps, &offer.ts_i, &offer.ts_r, offer.tunnel);
    if let Some(sa) = ike.sas.get_mut(&id) {
        sa.identity = Some(idx);
        sa.local_id = Some(idi);
        sa.state = SaState::AuthSent;
        sa.initial_contact = send_ic;
    }
    start_request(
        ike,
        now,
        id,
        ExchangeType::IKE_AUTH,
        ps,
        PendingKind::Auth(offer),
    );
}

/// The IDr an initiator sends when remote-id names one.
fn spec_id(spec: &IdSpec) -> Option<Id> {
    match spec {
        IdSpec::Address(a) => Some(ip_id(*a)),
        IdSpec::Fqdn(s) => Some(Id::new(IdType::FQDN, s.as_bytes().to_vec())),
        IdSpec::UserFqdn(s) => Some(Id::new(IdType::RFC822_ADDR, s.as_bytes().to_vec())),
        IdSpec::KeyId(k) => Some(Id::new(IdType::KEY_ID, k.clone())),
        _ => None,
    }
}

/// Verify the peer's AUTH payload; returns an error text on failure.
fn verify_peer_auth(
    ike: &Ike,
    identity: &Identity,
    ps: &[Payload],
    octets: &[u8],
    prf: crypto::Prf,
    peer_id: &Id,
) -> Result<(), String> {
    let Some(Body::Auth(a)) = get(ps, PayloadType::AUTH) else {
        return Err("no AUTH payload".into());
    };
    if !remote_id_ok(&identity.remote_id, peer_id) {
        return Err(format!(
            "remote ID {} does not match remote-id",
            peer_id.display()
        ));
    }
    match a.method {
        AuthMethod::PSK => {
            if identity.auth_method != IdentityAuth::PreSharedKey {
                return Err("peer used PSK, identity wants another method".into());
            }
            let k = identity.secret_bytes().map_err(|e| e.to_string())?;
            let want = auth::psk_auth(prf, &k, octets);
            if bool::from(subtle::ConstantTimeEq::ct_eq(&want[..], &a.data[..])) {
                Ok(())
            } else {
                Err("PSK AUTH mismatch".into())
            }
        }
        m => {
            if !matches!(
                identity.auth_method,
                IdentityAuth::DigitalSignature | IdentityAuth::Eap
            ) {
                return Err("peer used a signature, identity wants PSK".into());
            }
            let certs: Vec<Vec<u8>> = ps
                .iter()
                .filter_map(|p| match &p.body {
                    Body::Cert(c)
                        if p.ptype == PayloadType::CERT
                            && c.encoding == CertEncoding::X509_SIGNATURE =>
                    {
                        Some(c.data.clone())
                    }
                    _ => None,
                })
                .collect();
            let Some(end) = certs.first() else {
                return Err("no CERT payload".into());
            };
            let info = if identity.match_by == MatchBy::Certificate {
                let pinned = ike
                    .certs
                    .peers
                    .iter()
                    .find(|(n, _)| *n == identity.remote_certificate)
                    .map(|(_, c)| c);
                match pinned {
                    Some(c) if c.der == *end => c.clone(),
                    _ => return Err("certificate is not the pinned remote-certificate".into()),
                }
            } else {
                ike.certs
                    .validate(end, &certs[1..])
                    .map_err(|e| e.to_string())?
            };
            if identity.remote_id != IdSpec::Ignore && !info.matches_id(peer_id) {
                return Err(format!(
                    "ID {} is not in the certificate",
                    peer_id.display()
                ));
            }
            auth::verify(&info.public, m, &a.data, octets).map_err(|e| e.to_string())
        }
    }
}

fn responder_auth(ike: &mut Ike, now: Instant, id: u64, msg_id: u32, ps: &[Payload]) -> Input {
    if ike.sas[&id].eap.is_some() {
        return responder_eap(ike, now, id, msg_id, ps);
    }
    let Some(Body::Id(idi)) = get(ps, PayloadType::IDI).cloned() else {
        return auth_fail(ike, now, id, msg_id, "no IDi".into());
    };
    if get(ps, PayloadType::AUTH).is_none() {
        // EAP (2.16): the initiator leaves AUTH out.
        return responder_eap_start(ike, now, id, msg_id, ps, idi);
    }
    let peer = ike.sas[&id].peer.clone();
    let (octets, prf) = {
        let sa = &ike.sas[&id];
        let (Some(suite), Some(keys)) = (sa.suite, sa.keys.as_ref()) else {
            return ike.drop(DropReason::UnexpectedExchange);
        };
        (
            auth::signed_octets(&sa.msg1, &sa.nr, suite.prf, &keys.sk_pi, &idi),
            suite.prf,
        )
    };
    // Identity selection (L1353-1381): the first identity of the peer whose remote-id
    // accepts the ID and whose credentials verify the AUTH.
    let mut chosen = None;
    let mut why = String::from("no identity for this peer");
    for (i, ident) in ike
        .config
        .identities
        .iter()
        .enumerate()
        .filter(|(_, i)| i.peer == peer && !i.disabled)
    {
        match verify_peer_auth(ike, ident, ps, &octets, prf, &idi) {
            Ok(()) => {
                chosen = Some(i);
                break;
            }
            Err(e) => why = e,
        }
    }
    let Some(idx) = chosen else {
        return auth_fail(ike, now, id, msg_id, why);
    };
    responder_accept(ike, now, id, msg_id, ps, idx, idi, None)
}

/// Authentication done (signature/PSK, or EAP with its MSK): answer with our ID and AUTH,
/// bring the IKE SA up and negotiate the first Child SA from the request's payloads `ps`.
#[allow(clippy::too_many_arguments)]
fn responder_accept(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    msg_id: u32,
    ps: &[Payload],
    idx: usize,
    idi: Id,
    msk: Option<Vec<u8>>,
) -> Input {
    let peer = ike.sas[&id].peer.clone();
    let local_ip = ike.sas[&id].local.ip();
    let Some(prf) = ike.sas[&id].suite.map(|s| s.prf) else {
        return ike.drop(DropReason::UnexpectedExchange);
    };
    let identity = ike.config.identities[idx].clone();
    let idr = my_id(ike, &identity, local_ip);
    // L1359: an IDr the initiator sent must be ours.
    if let Some(Body::Id(want)) = get(ps, PayloadType::IDR) {
        if !id_equal(want, &idr) {
            return auth_fail(
                ike,
                now,
                id,
                msg_id,
                format!("IDr {} is not our ID {}", want.display(), idr.display()),
            );
        }
    }
    let (r_octets, sig7427) = {
        let sa = &ike.sas[&id];
        let Some(keys) = sa.keys.as_ref() else {
            return ike.drop(DropReason::UnexpectedExchange);
        };
        (
            auth::signed_octets(&sa.msg2, &sa.ni, prf, &keys.sk_pr, &idr),
            sa.sig7427,
        )
    };
    let mut out = vec![Payload::new(PayloadType::IDR, Body::Id(idr.clone()))];
    let our_auth = match (identity.auth_method, msk) {
        (_, Some(msk)) => Auth {
            method: AuthMethod::PSK,
            reserved: [0; 3],
            data: auth::psk_auth(prf, &msk, &r_octets),
        },
        (IdentityAuth::DigitalSignature, None) => {
            let Some(cred) = ike.certs.credential(&identity.certificate).cloned() else {
                return auth_fail(ike, now, id, msg_id, "no local certificate".into());
            };
            out.push(cert_payload(&cred.cert.der));
            match auth::sign(&cred.key, sig7427, &r_octets) {
                Ok((method, data)) => Auth {
                    method,
                    reserved: [0; 3],
                    data,
                },
                Err(e) => return auth_fail(ike, now, id, msg_id, e.to_string()),
            }
        }
        _ => Auth {
            method: AuthMethod::PSK,
            reserved: [0; 3],
            data: auth::psk_auth(prf, &identity.secret_bytes().unwrap_or_default(), &r_octets),
        },
    };
    if our_auth.method == AuthMethod::PSK && out.len() == 1 && ike.sas[&id].eap.is_some() {
        // After EAP the IDr/CERT were in the first response; only AUTH goes now (2.16).
        out.clear();
    }
    out.push(Payload::new(PayloadType::AUTH, Body::Auth(our_auth)));
    let init_contact = find_notify(ps, NotifyType::INITIAL_CONTACT).is_some();
    // The IKE SA is up.
    ike.close_half_open(id);
    let (remote, suite) = {
        let sa = ike.sas.get_mut(&id).expect_or_skip();
        sa.identity = Some(idx);
        sa.local_id = Some(idr.clone());
        sa.remote_id = Some(idi.clone());
        sa.state = SaState::Established;
        (sa.remote, sa.suite)
    };
    if init_contact {
        // 2.4: INITIAL_CONTACT: delete other IKE SAs with this peer identity.
        let stale: Vec<u64> = ike
            .sas
            .iter()
            .filter(|(k, s)| {
                **k != id
                    && s.peer == peer
                    && s.state == SaState::Established
                    && s.remote_id.as_ref().is_some_and(|r| id_equal(r, &idi))
            })
            .map(|(k, _)| *k)
            .collect();
        for s in stale {
            ike.kill(s, DownReason::DeletedByPeer);
            ike.rearm(now, s);
        }
    }
    set_ike_lifetime(ike, now, id);
    ike.stats.ike_sas_established += 1;
    if let Some(suite) = suite {
        ike.events.push_back(Event::IkeSaUp {
            sa: IkeSaId(id),
            peer: peer.clone(),
            remote,
            initiator: false,
            local_id: idr.display(),
            remote_id: idi.display(),
            suite,
        });
    }
    // Mode config (responder, L1420-1441).
    let mut cp_reply = None;
    let mut assigned: Option<IpAddr> = None;
    if let (Some(Body::Cp(req)), Some(mc_name)) =
        (get(ps, PayloadType::CP), identity.mode_config.as_ref())
    {
        if req.cfg_type == CfgType::REQUEST {
            if let Some(mc) = ike
                .config
                .mode_config(mc_name)
                .filter(|m| m.responder)
                .cloned()
            {
                let mut attrs = Vec::new();
                if let Some(a) = mc.address {
                    attrs.push(CfgAttr::new(
                        CfgAttrType::INTERNAL_IP4_ADDRESS,
                        a.octets().to_vec(),
                    ));
                    if let Some(l) = mc.address_prefix_length {
                        let m = IpPrefix::new(IpAddr::V4(std::net::Ipv4Addr::BROADCAST), l).first();
                        if let IpAddr::V4(m) = m {
                            attrs.push(CfgAttr::new(
                                CfgAttrType::INTERNAL_IP4_NETMASK,
                                m.octets().to_vec(),
                            ));
                        }
                    }
                    assigned = Some(IpAddr::V4(a));
                }
                let dns = if mc.system_dns {
                    ike.config.settings.system_dns.clone()
                } else {
                    mc.static_dns.clone()
                };
                for d in &dns {
                    if let IpAddr::V4(v) = d {
                        attrs.push(CfgAttr::new(
                            CfgAttrType::INTERNAL_IP4_DNS,
                            v.octets().to_vec(),
                        ));
                    }
                }
                for s in &mc.split_include {
                    if let (IpAddr::V4(n), IpAddr::V4(m)) = (
                        s.first(),
                        IpPrefix::new(IpAddr::V4(std::net::Ipv4Addr::BROADCAST), s.len).first(),
                    ) {
                        let mut v = n.octets().to_vec();
                        v.extend_from_slice(&m.octets());
                        attrs.push(CfgAttr::new(CfgAttrType::INTERNAL_IP4_SUBNET, v));
                    }
                }
                // L1441: RouterOS answers both RFC 8598 and Unity split DNS.
                for d in &mc.split_dns {
                    let mut v = vec![0, 0, 0, 0];
                    v.extend_from_slice(d.as_bytes());
                    attrs.push(CfgAttr::new(CfgAttrType::INTERNAL_DNS_DOMAIN, v));
                }
                if !mc.split_dns.is_empty() {
                    attrs.push(CfgAttr::new(
                        CfgAttrType::UNITY_SPLITDNS_NAME,
                        mc.split_dns.join(",").into_bytes(),
                    ));
                }
                ike.events.push_back(Event::ModeConfig {
                    sa: IkeSaId(id),
                    address: assigned,
                    dns: dns.clone(),
                    split_include: mc.split_include.clone(),
                    domains: mc.split_dns.clone(),
                });
                cp_reply = Some(Payload::new(
                    PayloadType::CP,
                    Body::Cp(Cp {
                        cfg_type: CfgType::REPLY,
                        reserved: [0; 3],
                        attrs,
                    }),
                ));
            }
        }
    }
    if let Some(c) = cp_reply {
        out.push(c);
    }
    if let Some(sa) = ike.sas.get_mut(&id) {
        sa.assigned = assigned;
    }
    // The first Child SA.
    let (ni, nr) = {
        let sa = &ike.sas[&id];
        (sa.ni.clone(), sa.nr.clone())
    };
    match negotiate_child(
        ike,
        now,
        id,
        ps,
        &identity,
        None,
        assigned,
        (&ni, &nr),
        None,
    ) {
        Ok((child_payloads, _)) => out.extend(child_payloads),
        Err(n) => out.push(notify(n, Vec::new())),
    }
    respond(ike, now, id, ExchangeType::IKE_AUTH, msg_id, out);
    Input::Handled
}

fn auth_fail(ike: &mut Ike, now: Instant, id: u64, msg_id: u32, why: String) -> Input {
    respond(
        ike,
        now,
        id,
        ExchangeType::IKE_AUTH,
        msg_id,
        vec![notify(NotifyType::AUTHENTICATION_FAILED, Vec::new())],
    );
    ike.kill(id, DownReason::AuthFailed(why));
    Input::Handled
}

fn set_ike_lifetime(ike: &mut Ike, now: Instant, id: u64) {
    let Some(sa) = ike.sas.get(&id) else { return };
    let lifetime = ike
        .config
        .peer(&sa.peer)
        .and_then(|p| ike.config.profile(&p.profile))
        .map_or(Duration::from_secs(86400), |p| p.lifetime);
    let initiator = sa.initiator;
    let sa = ike.sas.get_mut(&id).expect_or_skip();
    // The initiator rekeys at 90 %, the responder at 95 %, so the two rarely collide.
    let soft = if initiator {
        lifetime * 9 / 10
    } else {
        lifetime * 19 / 20
    };
    sa.rekey_at = Some(now + soft);
    sa.expire_at = Some(now + lifetime);
}

/// Responder side of a Child SA negotiation (IKE_AUTH or CREATE_CHILD_SA): select the
/// proposal, narrow the selectors, install. Returns the payloads of the answer.
#[allow(clippy::too_many_arguments)]
fn negotiate_child(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    ps: &[Payload],
    identity: &Identity,
    rekey_of: Option<&Child>,
    assigned: Option<IpAddr>,
    nonces: (&[u8], &[u8]),
    pfs: Option<(Group, Vec<u8>)>,
) -> Result<(Vec<Payload>, ChildId), NotifyType> {
    let (Some(Body::Sa(offer)), Some(Body::Ts(tsi)), Some(Body::Ts(tsr))) = (
        get(ps, PayloadType::SA),
        get(ps, PayloadType::TSI),
        get(ps, PayloadType::TSR),
    ) else {
        return Err(NotifyType::INVALID_SYNTAX);
    };
    let transport_req = find_notify(ps, NotifyType::USE_TRANSPORT_MODE).is_some();
    let peer = ike.sas[&id].peer.clone();
    let (local_ip, remote_ip) = {
        let sa = &ike.sas[&id];
        (sa.local.ip(), sa.remote.ip())
    };
    // Allowed selectors: a rekey keeps the old ones; otherwise the peer's static policies,
    // or (generate-policy) the templates of the identity's group.
    let mut gen_policy = false;
    let (mut ts_remote, mut ts_local, prop_name, tunnel) = if let Some(old) = rekey_of {
        (
            ts::narrow(&tsi.selectors, &old.ts_remote),
            ts::narrow(&tsr.selectors, &old.ts_local),
            old.proposal.clone(),
            old.tunnel,
        )
    } else {
        let mut found = None;
        for p in ike.config.policies.iter().filter(|p| {
            !p.template
                && !p.disabled
                && p.action == PolicyAction::Encrypt
                && (p.peer == peer || p.peer.is_empty())
        }) {
            let r = ts::narrow(
                &tsi.selectors,
                &[ts::from_prefix(&p.dst_address, p.protocol, p.dst_port)],
            );
            let l = ts::narrow(
                &tsr.selectors,
                &[ts::from_prefix(&p.src_address, p.protocol, p.src_port)],
            );
            if !r.is_empty() && !l.is_empty() {
                found = Some((r, l, p.proposal.clone(), p.tunnel));
                break;
            }
        }
        match found {
            Some(f) => f,
            None if identity.generate_policy != GeneratePolicy::No => {
                let group = identity.policy_template_group.clone().unwrap_or_default();
                let mut f = None;
                for t in ike
                    .config
                    .policies
                    .iter()
                    .filter(|t| t.template && !t.disabled && t.group == group)
                {
                    let mut req_i = tsi.selectors.clone();
                    if let Some(a) = assigned {
                        req_i = ts::narrow(&req_i, &[ts::from_prefix(&IpPrefix::host(a), 0, None)]);
                    }
                    let r = ts::narrow(
                        &req_i,
                        &[ts::from_prefix(&t.dst_address, t.protocol, t.dst_port)],
                    );
                    let l = ts::narrow(
                        &tsr.selectors,
                        &[ts::from_prefix(&t.src_address, t.protocol, t.src_port)],
                    );
                    if !r.is_empty() && !l.is_empty() {
                        f = Some((r, l, t.proposal.clone(), !transport_req));
                        break;
                    }
                }
                gen_policy = f.is_some();
                f.ok_or(NotifyType::TS_UNACCEPTABLE)?
            }
            None => return Err(NotifyType::TS_UNACCEPTABLE),
        }
    };
    if ts_remote.is_empty() || ts_local.is_empty() {
        return Err(NotifyType::TS_UNACCEPTABLE);
    }
    if identity.generate_policy == GeneratePolicy::PortOverride {
        for t in ts_remote.iter_mut().chain(ts_local.iter_mut()) {
            t.start_port = 0;
            t.end_port = 0xffff;
        }
    }
    let tunnel =
        tunnel && (!transport_req || tunnel_required(&ts_local, &ts_remote, local_ip, remote_ip));
    let prop = child_proposal(ike, &prop_name);
    let want_pfs = pfs.as_ref().map(|(g, _)| *g);
    if rekey_of.is_some() && prop.pfs_group.is_some() && want_pfs.is_none() {
        return Err(NotifyType::NO_PROPOSAL_CHOSEN);
    }
    let spi_in = ike.new_spi_u32();
    let Some((answer, suite, spi_out)) = proposal::select_esp(offer, &prop, want_pfs, spi_in)
    else {
        return Err(NotifyType::NO_PROPOSAL_CHOSEN);
    };
    let mut out = vec![Payload::new(PayloadType::SA, Body::Sa(vec![answer]))];
    let mut gir = None;
    if let Some((g, peer_pub)) = pfs {
        let Ok(k) = KeyPair::generate(g, &mut *ike.rng) else {
            return Err(NotifyType::NO_PROPOSAL_CHOSEN);
        };
        let Ok(s) = k.shared(&peer_pub) else {
            return Err(NotifyType::INVALID_SYNTAX);
        };
        gir = Some(s);
        out.push(ke_payload(g.id(), k.public()));
    }
    let child = install_child(
        ike,
        now,
        id,
        false,
        spi_in,
        spi_out,
        suite,
        tunnel,
        ts_local.clone(),
        ts_remote.clone(),
        &prop_name,
        nonces,
        gir.as_deref().map(|v| &v[..]),
        rekey_of.map(|c| c.id),
    );
    if gen_policy {
        // A generated policy (L1346): in front of the static ones, removed with the SA.
        for (l, r) in ts_local.iter().zip(ts_remote.iter()) {
            if let (Some(src), Some(dst)) = (
                IpPrefix::from_range(l.start, l.end),
                IpPrefix::from_range(r.start, r.end),
            ) {
                ike.spd.insert_dynamic(Policy {
                    src_address: src,
                    dst_address: dst,
                    tunnel,
                    sa_src_address: Some(local_ip),
                    sa_dst_address: Some(remote_ip),
                    peer: peer.clone(),
                    comment: format!("generated for child {}", child.0),
                    ..Policy::default()
                });
            }
        }
    }
    out.push(Payload::new(PayloadType::TSI, Body::Ts(Ts::new(ts_remote))));
    out.push(Payload::new(PayloadType::TSR, Body::Ts(Ts::new(ts_local))));
    if !tunnel {
        out.push(notify(NotifyType::USE_TRANSPORT_MODE, Vec::new()));
    }
    Ok((out, child))
}

fn tunnel_required(
    l: &[TrafficSelector],
    r: &[TrafficSelector],
    local: IpAddr,
    remote: IpAddr,
) -> bool {
    // Transport mode needs the selectors to be the SA endpoints themselves (L1225).
    !(l.len() == 1
        && r.len() == 1
        && l[0].start == local
        && l[0].end == local
        && r[0].start == remote
        && r[0].end == remote)
}

/// Derive keys and install both ESP SAs of a Child SA.
#[allow(clippy::too_many_arguments)]
fn install_child(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    we_initiated: bool,
    spi_in: u32,
    spi_out: u32,
    suite: ChildSuite,
    tunnel: bool,
    ts_local: Vec<TrafficSelector>,
    ts_remote: Vec<TrafficSelector>,
    proposal_name: &str,
    nonces: (&[u8], &[u8]),
    gir: Option<&[u8]>,
    rekey_of: Option<ChildId>,
) -> ChildId {
    let (prf, sk_d) = {
        let sa = &ike.sas[&id];
        (
            sa.suite.map_or(crypto::Prf::HmacSha1, |s| s.prf),
            sa.keys
                .as_ref()
                .map(|k| k.sk_d.to_vec())
                .unwrap_or_default(),
        )
    };
    let (ni, nr) = nonces;
    let Ok([ei, ii, er, ir]) = crypto::child_keys(prf, &sk_d, gir, ni, nr, suite.encr, suite.integ)
    else {
        return ChildId(0);
    };
    let (out_e, out_i, in_e, in_i) = if we_initiated {
        (ei, ii, er, ir)
    } else {
        (er, ir, ei, ii)
    };
    let window = ike.config.settings.replay_window;
    let prop = child_proposal(ike, proposal_name);
    let mk = |spi: u32, e: &[u8], i: &[u8]| EspParams {
        spi,
        encr: suite.encr,
        enc_key: e.to_vec(),
        integ: suite.integ,
        integ_key: i.to_vec(),
        esn: suite.esn,
        replay_window: window,
    };
    let (Ok(mut sa_in), Ok(mut sa_out)) = (
        EspSa::new(&mk(spi_in, &in_e, &in_i), &mut *ike.rng),
        EspSa::new(&mk(spi_out, &out_e, &out_i), &mut *ike.rng),
    ) else {
        return ChildId(0);
    };
    if prop.lifebytes > 0 {
        for s in [&mut sa_in, &mut sa_out] {
            s.hard_bytes = prop.lifebytes;
            s.soft_bytes = prop.lifebytes / 10 * 9;
        }
    }
    let child = ike.alloc_child();
    let lifetime = prop.lifetime;
    let soft = if we_initiated {
        lifetime * 9 / 10
    } else {
        lifetime * 19 / 20
    };
    let min_nonce = if ni <= nr { ni.to_vec() } else { nr.to_vec() };
    let c = Child {
        id: child,
        spi_in,
        spi_out,
        suite,
        tunnel,
        ts_local: ts_local.clone(),
        ts_remote: ts_remote.clone(),
        proposal: proposal_name.to_string(),
        created: now,
        soft_at: now + soft,
        hard_at: now + lifetime,
        min_nonce,
        rekeyed_by: None,
        rekeying: false,
        peer_rekey: None,
        initiated: we_initiated,
    };
    ike.sad_in.insert(
        spi_in,
        SadIn {
            ike: IkeSaId(id),
            child,
            sa: sa_in,
        },
    );
    ike.sad_out.insert(
        child,
        SadOut {
            ike: IkeSaId(id),
            sa: sa_out,
        },
    );
    ike.routes.push((child, IkeSaId(id)));
    if let Some(sa) = ike.sas.get_mut(&id) {
        sa.children.push(c);
    }
    ike.stats.child_sas_installed += 1;
    ike.events.push_back(Event::ChildSaUp {
        sa: IkeSaId(id),
        child,
        spi_in,
        spi_out,
        local_ts: ts_local,
        remote_ts: ts_remote,
        tunnel,
        encr: suite.encr,
        integ: suite.integ,
        rekey_of,
    });
    child
}

fn initiator_auth_response(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    ps: &[Payload],
    offer: ChildOffer,
) {
    if matches!(ike.sas[&id].eap, Some(EapSession::Client(_))) {
        return initiator_eap(ike, now, id, ps, offer);
    }
    if get(ps, PayloadType::AUTH).is_none() {
        let e = first_error(ps).unwrap_or(NotifyType::AUTHENTICATION_FAILED);
        ike.kill(id, DownReason::PeerError(e));
        return;
    }
    let Some(Body::Id(idr)) = get(ps, PayloadType::IDR).cloned() else {
        ike.kill(id, DownReason::AuthFailed("no IDr".into()));
        return;
    };
    let Some(idx) = ike.sas[&id].identity else {
        return;
    };
    let identity = ike.config.identities[idx].clone();
    let (octets, prf) = {
        let sa = &ike.sas[&id];
        let (Some(suite), Some(keys)) = (sa.suite, sa.keys.as_ref()) else {
            return;
        };
        (
            auth::signed_octets(&sa.msg2, &sa.ni, suite.prf, &keys.sk_pr, &idr),
            suite.prf,
        )
    };
    if let Err(e) = verify_peer_auth(ike, &identity, ps, &octets, prf, &idr) {
        // 2.21.2: the initiator just deletes the IKE SA; no notify is sent back here.
        ike.kill(id, DownReason::AuthFailed(e));
        return;
    }
    initiator_established(ike, now, id, ps, offer, idr);
}

/// The initiator's IKE SA is authenticated: bring it up, take mode config, install the child.
fn initiator_established(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    ps: &[Payload],
    offer: ChildOffer,
    idr: Id,
) {
    let (remote, suite, peer, local_id) = {
        let sa = ike.sas.get_mut(&id).expect_or_skip();
        sa.state = SaState::Established;
        sa.remote_id = Some(idr.clone());
        (sa.remote, sa.suite, sa.peer.clone(), sa.local_id.clone())
    };
    set_ike_lifetime(ike, now, id);
    ike.stats.ike_sas_established += 1;
    if let Some(suite) = suite {
        ike.events.push_back(Event::IkeSaUp {
            sa: IkeSaId(id),
            peer,
            remote,
            initiator: true,
            local_id: local_id.map(|i| i.display()).unwrap_or_default(),
            remote_id: idr.display(),
            suite,
        });
    }
    if let Some(Body::Cp(cp)) = get(ps, PayloadType::CP) {
        let mut address = None;
        let mut dns = Vec::new();
        let mut split = Vec::new();
        let mut domains = Vec::new();
        for a in &cp.attrs {
            match (a.attr_type, a.value.len()) {
                (CfgAttrType::INTERNAL_IP4_ADDRESS, 4) => {
                    address = Some(IpAddr::from([
                        a.value[0], a.value[1], a.value[2], a.value[3],
                    ]))
                }
                (CfgAttrType::INTERNAL_IP4_DNS, 4) => dns.push(IpAddr::from([
                    a.value[0], a.value[1], a.value[2], a.value[3],
                ])),
                (CfgAttrType::INTERNAL_IP4_SUBNET, 8) => {
                    let n = IpAddr::from([a.value[0], a.value[1], a.value[2], a.value[3]]);
                    let m = u32::from_be_bytes([a.value[4], a.value[5], a.value[6], a.value[7]]);
                    split.push(IpPrefix::new(n, m.count_ones() as u8));
                }
                (CfgAttrType::INTERNAL_DNS_DOMAIN, l) if l > 4 => {
                    domains.push(String::from_utf8_lossy(&a.value[4..]).into_owned())
                }
                _ => {}
            }
        }
        ike.events.push_back(Event::ModeConfig {
            sa: IkeSaId(id),
            address,
            dns,
            split_include: split,
            domains,
        });
    }
    // The Child SA (a failure here leaves the IKE SA up, 1.2).
    if first_error(ps).is_some() {
        return;
    }
    let (Some(Body::Sa(ans)), Some(Body::Ts(tsi)), Some(Body::Ts(tsr))) = (
        get(ps, PayloadType::SA),
        get(ps, PayloadType::TSI),
        get(ps, PayloadType::TSR),
    ) else {
        return;
    };
    let prop = child_proposal(ike, &offer.proposal);
    let Some((suite, spi_out)) = proposal::accept_esp_answer(ans, &prop, None) else {
        queue_request(ike, now, id, Req::DeleteIke);
        return;
    };
    // The narrowed selectors must lie inside what we offered (0/0 with mode config).
    if !tsi.selectors.iter().all(|t| ts::is_subset(t, &offer.ts_i))
        || !tsr.selectors.iter().all(|t| ts::is_subset(t, &offer.ts_r))
    {
        queue_request(ike, now, id, Req::DeleteIke);
        return;
    }
    let tunnel = find_notify(ps, NotifyType::USE_TRANSPORT_MODE).is_none();
    let (ni, nr) = {
        let sa = &ike.sas[&id];
        (sa.ni.clone(), sa.nr.clone())
    };
    install_child(
        ike,
        now,
        id,
        true,
        offer.spi_in,
        spi_out,
        suite,
        tunnel,
        tsi.selectors.clone(),
        tsr.selectors.clone(),
        &offer.proposal,
        (&ni, &nr),
        None,
        None,
    );
}

fn remove_child_by_spi_in(ike: &mut Ike, id: u64, spi: u32, reason: Option<ChildDownReason>) {
    let Some(sa) = ike.sas.get_mut(&id) else {
        return;
    };
    let Some(pos) = sa.children.iter().position(|c| c.spi_in == spi) else {
        return;
    };
    let c = sa.children.remove(pos);
    let reason = reason.unwrap_or(if c.rekeyed_by.is_some() {
        ChildDownReason::Rekeyed
    } else {
        ChildDownReason::Closed
    });
    ike.uninstall_child(c.spi_in, c.id);
    let peer = ike.sas.get(&id).map(|s| s.peer.clone()).unwrap_or_default();
    ike.spd.remove_dynamic(|p| {
        p.peer == peer && p.comment == format!("generated for child {}", c.id.0)
    });
    ike.events.push_back(Event::ChildSaDown {
        sa: IkeSaId(id),
        child: c.id,
        spi_in: c.spi_in,
        reason,
    });
}

fn informational_request(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    msg_id: u32,
    ps: &[Payload],
) -> Input {
    let mut out = Vec::new();
    let mut delete_ike = false;
    let mut ours = Vec::new();
    for p in ps {
        if let Body::Delete(d) = &p.body {
            match d.protocol {
                ProtocolId::IKE => delete_ike = true,
                ProtocolId::ESP | ProtocolId::AH => {
                    for s in &d.spis {
                        if s.len() != 4 {
                            continue;
                        }
                        let spi_out = u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
                        let found = ike.sas[&id]
                            .children
                            .iter()
                            .find(|c| c.spi_out == spi_out)
                            .map(|c| (c.spi_in, c.rekeyed_by.is_some()));
                        if let Some((spi_in, rekeyed)) = found {
                            // 1.4.1: answer with our SPIs of the same SAs, unless we already
                            // sent our own Delete for them (a simultaneous delete).
                            let already = matches!(&ike.sas[&id].pending, Some(Pending { kind: PendingKind::DeleteChildren(v), .. }) if v.contains(&spi_in));
                            if !already {
                                ours.push(spi_in.to_be_bytes().to_vec());
                            }
                            remove_child_by_spi_in(
                                ike,
                                id,
                                spi_in,
                                Some(if rekeyed {
                                    ChildDownReason::Rekeyed
                                } else {
                                    ChildDownReason::DeletedByPeer
                                }),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if !ours.is_empty() {
        out.push(Payload::new(
            PayloadType::DELETE,
            Body::Delete(Delete {
                protocol: ProtocolId::ESP,
                spi_size: 4,
                spis: ours,
            }),
        ));
    }
    respond(ike, now, id, ExchangeType::INFORMATIONAL, msg_id, out);
    if delete_ike {
        let reason = if ike.sas[&id].replaced_by.is_some() {
            DownReason::Rekeyed
        } else {
            DownReason::DeletedByPeer
        };
        ike.kill(id, reason);
    }
    Input::Handled
}

fn create_child_request(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    msg_id: u32,
    ps: &[Payload],
) -> Input {
    let reply = |ike: &mut Ike, n: NotifyType| {
        respond(
            ike,
            now,
            id,
            ExchangeType::CREATE_CHILD_SA,
            msg_id,
            vec![notify(n, Vec::new())],
        );
        Input::Handled
    };
    let Some(Body::Sa(offer)) = get(ps, PayloadType::SA) else {
        return reply(ike, NotifyType::INVALID_SYNTAX);
    };
    let Some(Body::Nonce(ni)) = get(ps, PayloadType::NONCE).cloned() else {
        return reply(ike, NotifyType::INVALID_SYNTAX);
    };
    if ni.len() < NONCE_MIN {
        return reply(ike, NotifyType::INVALID_SYNTAX);
    }
    let ke = match get(ps, PayloadType::KE) {
        Some(Body::Ke(k)) => Some(k.clone()),
        _ => None,
    };
    if offer.iter().any(|p| p.protocol == ProtocolId::IKE) {
        return rekey_ike_responder(ike, now, id, msg_id, offer, ni, ke);
    }
    let Some(idx) = ike.sas[&id].identity else {
        return reply(ike, NotifyType::NO_PROPOSAL_CHOSEN);
    };
    let identity = ike.config.identities[idx].clone();
    let rekey = find_notify(ps, NotifyType::REKEY_SA).map(|n| n.spi.clone());
    let old = match &rekey {
        Some(spi) if spi.len() == 4 => {
            let spi_out = u32::from_be_bytes([spi[0], spi[1], spi[2], spi[3]]);
            match ike.sas[&id]
                .children
                .iter()
                .find(|c| c.spi_out == spi_out)
                .cloned()
            {
                Some(c) => Some(c),
                None => return reply(ike, NotifyType::CHILD_SA_NOT_FOUND),
            }
        }
        Some(_) => return reply(ike, NotifyType::INVALID_SYNTAX),
        None => None,
    };
    let pfs = ke
        .as_ref()
        .and_then(|k| Group::from_id(k.group).ok().map(|g| (g, k.data.clone())));
    if let (Some(k), None) = (&ke, &pfs) {
        let _ = k;
        return reply(ike, NotifyType::INVALID_KE_PAYLOAD);
    }
    // A PFS group we do not use for this proposal: INVALID_KE_PAYLOAD with ours (1.3).
    let want = old
        .as_ref()
        .map(|c| child_proposal(ike, &c.proposal).pfs_group)
        .unwrap_or(None);
    if let (Some((g, _)), Some(w)) = (&pfs, want) {
        if *g != w {
            respond(
                ike,
                now,
                id,
                ExchangeType::CREATE_CHILD_SA,
                msg_id,
                vec![notify(
                    NotifyType::INVALID_KE_PAYLOAD,
                    w.id().0.to_be_bytes().to_vec(),
                )],
            );
            return Input::Handled;
        }
    }
    let nr = ike.nonce();
    match negotiate_child(
        ike,
        now,
        id,
        ps,
        &identity,
        old.as_ref(),
        None,
        (&ni, &nr),
        pfs,
    ) {
        Ok((mut out, new)) => {
            out.insert(1, Payload::new(PayloadType::NONCE, Body::Nonce(nr.clone())));
            if let Some(o) = &old {
                let min = if ni <= nr { ni.clone() } else { nr.clone() };
                let sa = ike.sas.get_mut(&id).expect_or_skip();
                if let Some(oc) = sa.child_mut(o.id) {
                    if oc.rekeying {
                        // Simultaneous rekey (2.8.1): decided when our own answer arrives.
                        oc.peer_rekey = Some((new, min));
                    } else if oc.rekeyed_by.is_none() {
                        oc.rekeyed_by = Some(new);
                    }
                }
            }
            respond(ike, now, id, ExchangeType::CREATE_CHILD_SA, msg_id, out);
        }
        Err(n) => {
            return reply(ike, n);
        }
    }
    Input::Handled
}

fn rekey_child_response(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    ps: &[Payload],
    old: ChildId,
    offer: ChildOffer,
    dh: Option<KeyPair>,
) {
    let fail = |ike: &mut Ike| {
        if let Some(c) = ike.sas.get_mut(&id).and_then(|s| s.child_mut(old)) {
            c.rekeying = false;
            // Try again a little later (TEMPORARY_FAILURE, 2.25).
            c.soft_at = now + Duration::from_secs(10);
        }
    };
    if first_error(ps).is_some() {
        return fail(ike);
    }
    let (Some(Body::Sa(ans)), Some(Body::Nonce(nr)), Some(Body::Ts(tsi)), Some(Body::Ts(tsr))) = (
        get(ps, PayloadType::SA),
        get(ps, PayloadType::NONCE),
        get(ps, PayloadType::TSI),
        get(ps, PayloadType::TSR),
    ) else {
        return fail(ike);
    };
    let prop = child_proposal(ike, &offer.proposal);
    let Some((suite, spi_out)) = proposal::accept_esp_answer(ans, &prop, offer.pfs) else {
        return fail(ike);
    };
    let gir = match (&dh, get(ps, PayloadType::KE)) {
        (Some(k), Some(Body::Ke(ke))) if ke.group == k.group().id() => match k.shared(&ke.data) {
            Ok(s) => Some(s),
            Err(_) => return fail(ike),
        },
        (None, _) => None,
        _ => return fail(ike),
    };
    let tunnel = find_notify(ps, NotifyType::USE_TRANSPORT_MODE).is_none();
    let new = install_child(
        ike,
        now,
        id,
        true,
        offer.spi_in,
        spi_out,
        suite,
        tunnel,
        tsi.selectors.clone(),
        tsr.selectors.clone(),
        &offer.proposal,
        (&offer.nonce, nr),
        gir.as_deref().map(|v| &v[..]),
        Some(old),
    );
    let our_min = if offer.nonce <= *nr {
        offer.nonce.clone()
    } else {
        nr.clone()
    };
    let (peer_rekey, old_spi) = {
        let Some(c) = ike.sas.get_mut(&id).and_then(|s| s.child_mut(old)) else {
            return;
        };
        c.rekeying = false;
        (c.peer_rekey.take(), c.spi_in)
    };
    match peer_rekey {
        Some((peer_new, peer_min)) if our_min < peer_min => {
            // 2.8.1: our exchange holds the lowest nonce, so our new SA is redundant: we
            // delete it; the peer deletes the old one.
            if let Some(c) = ike.sas.get_mut(&id).and_then(|s| s.child_mut(old)) {
                c.rekeyed_by = Some(peer_new);
            }
            if let Some(n) = ike.sas.get_mut(&id).and_then(|s| s.child_mut(new)) {
                n.rekeyed_by = Some(peer_new);
            }
            queue_request(ike, now, id, Req::DeleteChildren(vec![offer.spi_in]));
        }
        _ => {
            if let Some(c) = ike.sas.get_mut(&id).and_then(|s| s.child_mut(old)) {
                c.rekeyed_by = Some(new);
            }
            queue_request(ike, now, id, Req::DeleteChildren(vec![old_spi]));
        }
    }
}

fn rekey_ike_responder(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    msg_id: u32,
    offer: &[Proposal],
    ni: Vec<u8>,
    ke: Option<Ke>,
) -> Input {
    let (peer, suite_old, sk_d, local, remote, natt) = {
        let sa = &ike.sas[&id];
        (
            sa.peer.clone(),
            sa.suite,
            sa.keys.as_ref().map(|k| k.sk_d.to_vec()),
            sa.local,
            sa.remote,
            sa.natt,
        )
    };
    let (Some(suite_old), Some(sk_d)) = (suite_old, sk_d) else {
        return ike.drop(DropReason::UnexpectedExchange);
    };
    let profile = ike
        .config
        .peer(&peer)
        .and_then(|p| ike.config.profile(&p.profile))
        .cloned()
        .unwrap_or_default();
    let reply = |ike: &mut Ike, n: NotifyType, d: Vec<u8>| {
        respond(
            ike,
            now,
            id,
            ExchangeType::CREATE_CHILD_SA,
            msg_id,
            vec![notify(n, d)],
        );
        Input::Handled
    };
    let Some((mut answer, suite)) = proposal::select_ike(offer, &profile) else {
        return reply(ike, NotifyType::NO_PROPOSAL_CHOSEN, Vec::new());
    };
    let Some(ke) = ke else {
        return reply(ike, NotifyType::INVALID_SYNTAX, Vec::new());
    };
    if ke.group != suite.dh.id() {
        return reply(
            ike,
            NotifyType::INVALID_KE_PAYLOAD,
            suite.dh.id().0.to_be_bytes().to_vec(),
        );
    }
    let Some(peer_spi) = offer
        .iter()
        .find(|p| p.number == answer.number)
        .and_then(|p| <[u8; 8]>::try_from(&p.spi[..]).ok())
    else {
        return reply(ike, NotifyType::INVALID_SYNTAX, Vec::new());
    };
    let Ok(dh) = KeyPair::generate(suite.dh, &mut *ike.rng) else {
        return reply(ike, NotifyType::NO_PROPOSAL_CHOSEN, Vec::new());
    };
    let Ok(gir) = dh.shared(&ke.data) else {
        return reply(ike, NotifyType::INVALID_SYNTAX, Vec::new());
    };
    let spi = ike.new_ike_spi();
    let nr = ike.nonce();
    answer.spi = spi.to_vec();
    let skeyseed = crypto::skeyseed_rekey(suite_old.prf, &sk_d, &gir, &ni, &nr);
    let Ok(keys) = crypto::ike_keys(&suite, &skeyseed, &ni, &nr, &peer_spi, &spi) else {
        return ike.drop(DropReason::Malformed);
    };
    let out = vec![
        Payload::new(PayloadType::SA, Body::Sa(vec![answer])),
        Payload::new(PayloadType::NONCE, Body::Nonce(nr.clone())),
        ke_payload(suite.dh.id(), dh.public()),
    ];
    respond(ike, now, id, ExchangeType::CREATE_CHILD_SA, msg_id, out);
    let min = if ni <= nr { ni.clone() } else { nr.clone() };
    let new_id = make_rekeyed_sa(
        ike, now, id, false, peer_spi, spi, suite, keys, ni, nr, local, remote, natt,
    );
    let ours_pending = matches!(
        ike.sas[&id].pending,
        Some(Pending {
            kind: PendingKind::RekeyIke { .. },
            ..
        })
    );
    if ours_pending {
        if let Some(sa) = ike.sas.get_mut(&id) {
            sa.peer_ike_rekey = Some((IkeSaId(new_id), min));
        }
    } else {
        move_children(ike, id, new_id);
        if let Some(sa) = ike.sas.get_mut(&id) {
            sa.replaced_by = Some(IkeSaId(new_id));
        }
        ike.events.push_back(Event::IkeSaRekeyed {
            old: IkeSaId(id),
            new: IkeSaId(new_id),
        });
    }
    ike.rearm(now, new_id);
    Input::Handled
}

#[allow(clippy::too_many_arguments)]
fn make_rekeyed_sa(
    ike: &mut Ike,
    now: Instant,
    old: u64,
    initiator: bool,
    spi_i: [u8; 8],
    spi_r: [u8; 8],
    suite: IkeSuite,
    keys: crypto::IkeKeys,
    ni: Vec<u8>,
    nr: Vec<u8>,
    local: SocketAddr,
    remote: SocketAddr,
    natt: bool,
) -> u64 {
    let peer = ike.sas[&old].peer.clone();
    let mut sa = new_sa(ike, now, &peer, initiator, spi_i, spi_r, local, remote);
    let o = &ike.sas[&old];
    sa.identity = o.identity;
    sa.local_id = o.local_id.clone();
    sa.remote_id = o.remote_id.clone();
    sa.natt = natt;
    sa.nat_local = o.nat_local;
    sa.nat_remote = o.nat_remote;
    sa.frag = o.frag;
    sa.sig7427 = o.sig7427;
    sa.state = SaState::Established;
    sa.ni = ni;
    sa.nr = nr;
    install_ike_keys(&mut sa, suite, keys);
    let id = spi_u64(if initiator { &spi_i } else { &spi_r });
    ike.sas.insert(id, sa);
    set_ike_lifetime(ike, now, id);
    id
}

fn move_children(ike: &mut Ike, from: u64, to: u64) {
    let children = match ike.sas.get_mut(&from) {
        Some(s) => std::mem::take(&mut s.children),
        None => return,
    };
    for c in &children {
        if let Some(e) = ike.sad_in.get_mut(&c.spi_in) {
            e.ike = IkeSaId(to);
        }
        if let Some(e) = ike.sad_out.get_mut(&c.id) {
            e.ike = IkeSaId(to);
        }
        for r in ike.routes.iter_mut().filter(|r| r.0 == c.id) {
            r.1 = IkeSaId(to);
        }
    }
    if let Some(s) = ike.sas.get_mut(&to) {
        s.children.extend(children);
    }
}

fn rekey_ike_response(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    ps: &[Payload],
    spi: [u8; 8],
    nonce: Vec<u8>,
    dh: KeyPair,
) {
    let fail = |ike: &mut Ike| {
        if let Some(sa) = ike.sas.get_mut(&id) {
            sa.rekey_at = Some(now + Duration::from_secs(10));
        }
    };
    if first_error(ps).is_some() {
        return fail(ike);
    }
    let (Some(Body::Sa(ans)), Some(Body::Nonce(nr)), Some(Body::Ke(ke))) = (
        get(ps, PayloadType::SA),
        get(ps, PayloadType::NONCE),
        get(ps, PayloadType::KE),
    ) else {
        return fail(ike);
    };
    let (peer, suite_old, sk_d, local, remote, natt) = {
        let sa = &ike.sas[&id];
        (
            sa.peer.clone(),
            sa.suite,
            sa.keys.as_ref().map(|k| k.sk_d.to_vec()),
            sa.local,
            sa.remote,
            sa.natt,
        )
    };
    let (Some(suite_old), Some(sk_d)) = (suite_old, sk_d) else {
        return;
    };
    let profile = ike
        .config
        .peer(&peer)
        .and_then(|p| ike.config.profile(&p.profile))
        .cloned()
        .unwrap_or_default();
    let Some(suite) = proposal::accept_ike_answer(ans, &profile) else {
        return fail(ike);
    };
    let Some(peer_spi) = ans
        .first()
        .and_then(|p| <[u8; 8]>::try_from(&p.spi[..]).ok())
    else {
        return fail(ike);
    };
    if ke.group != dh.group().id() {
        return fail(ike);
    }
    let Ok(gir) = dh.shared(&ke.data) else {
        return fail(ike);
    };
    let skeyseed = crypto::skeyseed_rekey(suite_old.prf, &sk_d, &gir, &nonce, nr);
    let Ok(keys) = crypto::ike_keys(&suite, &skeyseed, &nonce, nr, &spi, &peer_spi) else {
        return fail(ike);
    };
    let new_id = make_rekeyed_sa(
        ike,
        now,
        id,
        true,
        spi,
        peer_spi,
        suite,
        keys,
        nonce.clone(),
        nr.clone(),
        local,
        remote,
        natt,
    );
    let our_min = if nonce <= *nr { nonce } else { nr.clone() };
    let collision = ike.sas.get_mut(&id).and_then(|s| s.peer_ike_rekey.take());
    match collision {
        Some((peer_new, peer_min)) if our_min < peer_min => {
            // 2.8.2: ours is redundant: children go to the peer's new SA; delete ours.
            move_children(ike, id, peer_new.0);
            if let Some(sa) = ike.sas.get_mut(&id) {
                sa.replaced_by = Some(peer_new);
            }
            if let Some(n) = ike.sas.get_mut(&new_id) {
                n.replaced_by = Some(peer_new);
            }
            ike.events.push_back(Event::IkeSaRekeyed {
                old: IkeSaId(id),
                new: peer_new,
            });
            queue_request(ike, now, new_id, Req::DeleteIke);
        }
        Some((peer_new, _)) => {
            // We won: the peer deletes its new SA; its old children follow ours.
            move_children(ike, id, new_id);
            if let Some(sa) = ike.sas.get_mut(&id) {
                sa.replaced_by = Some(IkeSaId(new_id));
            }
            let _ = peer_new;
            ike.events.push_back(Event::IkeSaRekeyed {
                old: IkeSaId(id),
                new: IkeSaId(new_id),
            });
            queue_request(ike, now, id, Req::DeleteIke);
        }
        None => {
            move_children(ike, id, new_id);
            if let Some(sa) = ike.sas.get_mut(&id) {
                sa.replaced_by = Some(IkeSaId(new_id));
            }
            ike.events.push_back(Event::IkeSaRekeyed {
                old: IkeSaId(id),
                new: IkeSaId(new_id),
            });
            queue_request(ike, now, id, Req::DeleteIke);
        }
    }
    ike.rearm(now, new_id);
}

/// Timer work of one SA.
pub(super) fn timers(ike: &mut Ike, now: Instant, id: u64) {
    let s = ike.config.settings.clone();
    let Some(sa) = ike.sas.get_mut(&id) else {
        return;
    };
    // Retransmission (2.1): doubling timeouts; give up after the configured tries.
    if let Some(p) = sa.pending.as_mut() {
        if now >= p.next {
            if p.tries >= s.retransmit_tries {
                ike.kill(id, DownReason::Timeout);
                return;
            }
            p.tries += 1;
            p.next = now + s.retransmit_timeout * (1u32 << p.tries.min(16));
            let pk = p.packets.clone();
            ike.stats.retransmits += 1;
            ike.send_packets(id, now, &pk);
        }
    }
    let Some(sa) = ike.sas.get_mut(&id) else {
        return;
    };
    if sa.half_open_until.is_some_and(|t| now >= t) {
        ike.kill(id, DownReason::HalfOpenTimeout);
        return;
    }
    if sa.state != SaState::Established {
        return;
    }
    if sa.expire_at.is_some_and(|t| now >= t) {
        ike.kill(id, DownReason::Expired);
        return;
    }
    let mut reqs = Vec::new();
    if sa.rekey_at.is_some_and(|t| now >= t) && sa.replaced_by.is_none() {
        sa.rekey_at = None;
        reqs.push(Req::RekeyIke);
    }
    let mut expired = Vec::new();
    for c in sa.children.iter_mut() {
        if now >= c.hard_at {
            expired.push(c.spi_in);
        } else if now >= c.soft_at && c.rekeyed_by.is_none() && !c.rekeying {
            c.soft_at = c.hard_at;
            reqs.push(Req::RekeyChild(c.id));
        }
    }
    let dpd = ike.dpd_interval(&ike.sas[&id]);
    let sa = ike.sas.get_mut(&id).expect_or_skip();
    if let Some(d) = dpd {
        if sa.pending.is_none() && sa.queue.is_empty() && now >= sa.last_rx + d {
            reqs.push(Req::Dpd);
        }
    }
    let keepalive = sa.nat_local && now >= sa.last_tx + s.nat_keepalive;
    for spi in &expired {
        remove_child_by_spi_in(ike, id, *spi, Some(ChildDownReason::Expired));
    }
    if !expired.is_empty() {
        // Tell the peer (the SAs are gone here already).
        let d = Delete {
            protocol: ProtocolId::ESP,
            spi_size: 4,
            spis: expired.iter().map(|s| s.to_be_bytes().to_vec()).collect(),
        };
        if ike.sas[&id].pending.is_none() {
            start_request(
                ike,
                now,
                id,
                ExchangeType::INFORMATIONAL,
                vec![Payload::new(PayloadType::DELETE, Body::Delete(d))],
                PendingKind::DeleteChildren(expired.clone()),
            );
        }
    }
    for r in reqs {
        queue_request(ike, now, id, r);
    }
    if keepalive {
        let (local, remote) = {
            let sa = ike.sas.get_mut(&id).expect_or_skip();
            sa.last_tx = now;
            (sa.local, sa.remote)
        };
        ike.stats.keepalives_sent += 1;
        ike.out.push_back(super::Transmit {
            local,
            remote,
            payload: crate::esp::NAT_KEEPALIVE.to_vec(),
        });
    }
}

/// Initiator side of EAP (2.16): verify the responder's signature once, answer EAP requests,
/// then authenticate with the MSK and check the responder's MSK-based AUTH.
fn initiator_eap(ike: &mut Ike, now: Instant, id: u64, ps: &[Payload], offer: ChildOffer) {
    let (prf, msk, have_remote) = {
        let sa = &ike.sas[&id];
        (
            sa.suite.map_or(crypto::Prf::HmacSha1, |s| s.prf),
            sa.msk.clone(),
            sa.remote_id.is_some(),
        )
    };
    if let Some(msk) = msk {
        let Some(Body::Auth(a)) = get(ps, PayloadType::AUTH) else {
            let e = first_error(ps).unwrap_or(NotifyType::AUTHENTICATION_FAILED);
            ike.kill(id, DownReason::PeerError(e));
            return;
        };
        let (octets, idr) = {
            let sa = &ike.sas[&id];
            let (Some(keys), Some(idr)) = (sa.keys.as_ref(), sa.remote_id.clone()) else {
                return;
            };
            (
                auth::signed_octets(&sa.msg2, &sa.ni, prf, &keys.sk_pr, &idr),
                idr,
            )
        };
        let want = auth::psk_auth(prf, &msk, &octets);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&want[..], &a.data[..])) {
            ike.kill(
                id,
                DownReason::AuthFailed("responder's MSK AUTH mismatch".into()),
            );
            return;
        }
        if let Some(sa) = ike.sas.get_mut(&id) {
            sa.eap = None;
        }
        return initiator_established(ike, now, id, ps, offer, idr);
    }
    if !have_remote {
        // First answer: IDr, CERT, AUTH (the responder's signature) and the first EAP request.
        let Some(Body::Id(idr)) = get(ps, PayloadType::IDR).cloned() else {
            let e = first_error(ps).unwrap_or(NotifyType::AUTHENTICATION_FAILED);
            ike.kill(id, DownReason::PeerError(e));
            return;
        };
        let Some(idx) = ike.sas[&id].identity else {
            return;
        };
        let identity = ike.config.identities[idx].clone();
        let octets = {
            let sa = &ike.sas[&id];
            let Some(keys) = sa.keys.as_ref() else { return };
            auth::signed_octets(&sa.msg2, &sa.ni, prf, &keys.sk_pr, &idr)
        };
        if let Err(e) = verify_peer_auth(ike, &identity, ps, &octets, prf, &idr) {
            ike.kill(id, DownReason::AuthFailed(e));
            return;
        }
        if let Some(sa) = ike.sas.get_mut(&id) {
            sa.remote_id = Some(idr);
        }
    }
    let Some(Body::Eap(m)) = get(ps, PayloadType::EAP).cloned() else {
        let e = first_error(ps).unwrap_or(NotifyType::AUTHENTICATION_FAILED);
        ike.kill(id, DownReason::PeerError(e));
        return;
    };
    let step = match ike.sas.get_mut(&id).and_then(|s| s.eap.as_mut()) {
        Some(EapSession::Client(c)) => c.step(&m),
        _ => return,
    };
    match step {
        crate::eap::EapStep::Continue(x) => {
            start_request(
                ike,
                now,
                id,
                ExchangeType::IKE_AUTH,
                vec![Payload::new(PayloadType::EAP, Body::Eap(x))],
                PendingKind::Auth(offer),
            );
        }
        crate::eap::EapStep::Success { msk, .. } => {
            let octets = {
                let sa = &ike.sas[&id];
                let (Some(keys), Some(idi)) = (sa.keys.as_ref(), sa.local_id.as_ref()) else {
                    return;
                };
                auth::signed_octets(&sa.msg1, &sa.nr, prf, &keys.sk_pi, idi)
            };
            let a = Auth {
                method: AuthMethod::PSK,
                reserved: [0; 3],
                data: auth::psk_auth(prf, &msk, &octets),
            };
            if let Some(sa) = ike.sas.get_mut(&id) {
                sa.msk = Some(zeroize::Zeroizing::new(msk));
            }
            start_request(
                ike,
                now,
                id,
                ExchangeType::IKE_AUTH,
                vec![Payload::new(PayloadType::AUTH, Body::Auth(a))],
                PendingKind::Auth(offer),
            );
        }
        crate::eap::EapStep::Failure(_) => {
            ike.kill(id, DownReason::AuthFailed("EAP-MSCHAPv2 failed".into()))
        }
    }
}

/// Responder: the initiator wants EAP. Pick an `eap-radius` identity, authenticate
/// ourselves with our certificate, and send the first EAP request.
fn responder_eap_start(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    msg_id: u32,
    ps: &[Payload],
    idi: Id,
) -> Input {
    let peer = ike.sas[&id].peer.clone();
    let local_ip = ike.sas[&id].local.ip();
    let Some(idx) = ike.config.identities.iter().position(|i| {
        i.peer == peer
            && !i.disabled
            && i.auth_method == IdentityAuth::EapRadius
            && remote_id_ok(&i.remote_id, &idi)
    }) else {
        return auth_fail(
            ike,
            now,
            id,
            msg_id,
            "initiator asked for EAP; no eap-radius identity".into(),
        );
    };
    let identity = ike.config.identities[idx].clone();
    let idr = my_id(ike, &identity, local_ip);
    if let Some(Body::Id(want)) = get(ps, PayloadType::IDR) {
        if !id_equal(want, &idr) {
            return auth_fail(
                ike,
                now,
                id,
                msg_id,
                format!("IDr {} is not our ID {}", want.display(), idr.display()),
            );
        }
    }
    let Some(cred) = ike.certs.credential(&identity.certificate).cloned() else {
        return auth_fail(
            ike,
            now,
            id,
            msg_id,
            "eap-radius needs a server certificate (EAP-only, RFC 5998, is not implemented)".into(),
        );
    };
    let (r_octets, sig7427) = {
        let sa = &ike.sas[&id];
        let (Some(suite), Some(keys)) = (sa.suite, sa.keys.as_ref()) else {
            return ike.drop(DropReason::UnexpectedExchange);
        };
        (
            auth::signed_octets(&sa.msg2, &sa.ni, suite.prf, &keys.sk_pr, &idr),
            sa.sig7427,
        )
    };
    let (method, data) = match auth::sign(&cred.key, sig7427, &r_octets) {
        Ok(x) => x,
        Err(e) => return auth_fail(ike, now, id, msg_id, e.to_string()),
    };
    let (session, first) = match ike.eap.as_mut() {
        Some(b) => match b.start(id, &idi.data) {
            crate::eap::EapStep::Continue(m) => (EapSession::Backend, m),
            _ => return auth_fail(ike, now, id, msg_id, "EAP backend refused to start".into()),
        },
        None => {
            let mut c = [0u8; 16];
            ike.rng.fill_bytes(&mut c);
            let mut srv =
                crate::eap::MschapV2Server::new(&identity.username, &identity.password, c);
            let m = srv.start();
            (EapSession::Server(srv), m)
        }
    };
    if let Some(sa) = ike.sas.get_mut(&id) {
        sa.eap = Some(session);
        sa.identity = Some(idx);
        sa.remote_id = Some(idi);
        sa.local_id = Some(idr.clone());
        sa.eap_request = ps.to_vec();
    }
    let out = vec![
        Payload::new(PayloadType::IDR, Body::Id(idr)),
        cert_payload(&cred.cert.der),
        Payload::new(
            PayloadType::AUTH,
            Body::Auth(Auth {
                method,
                reserved: [0; 3],
                data,
            }),
        ),
        Payload::new(PayloadType::EAP, Body::Eap(first)),
    ];
    respond(ike, now, id, ExchangeType::IKE_AUTH, msg_id, out);
    Input::Handled
}

/// Responder: the EAP rounds, then the initiator's MSK-based AUTH.
fn responder_eap(ike: &mut Ike, now: Instant, id: u64, msg_id: u32, ps: &[Payload]) -> Input {
    let (msk, prf) = {
        let sa = &ike.sas[&id];
        (
            sa.msk.clone(),
            sa.suite.map_or(crypto::Prf::HmacSha1, |s| s.prf),
        )
    };
    if let Some(msk) = msk {
        let Some(Body::Auth(a)) = get(ps, PayloadType::AUTH) else {
            return auth_fail(ike, now, id, msg_id, "no AUTH after EAP".into());
        };
        let (octets, idi, idx, first) = {
            let sa = &ike.sas[&id];
            let (Some(keys), Some(idi), Some(idx)) =
                (sa.keys.as_ref(), sa.remote_id.clone(), sa.identity)
            else {
                return ike.drop(DropReason::UnexpectedExchange);
            };
            (
                auth::signed_octets(&sa.msg1, &sa.nr, prf, &keys.sk_pi, &idi),
                idi,
                idx,
                sa.eap_request.clone(),
            )
        };
        let want = auth::psk_auth(prf, &msk, &octets);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&want[..], &a.data[..])) {
            return auth_fail(ike, now, id, msg_id, "initiator's MSK AUTH mismatch".into());
        }
        return responder_accept(ike, now, id, msg_id, &first, idx, idi, Some(msk.to_vec()));
    }
    let Some(Body::Eap(m)) = get(ps, PayloadType::EAP).cloned() else {
        return auth_fail(ike, now, id, msg_id, "expected an EAP response".into());
    };
    let step = match ike.sas.get_mut(&id).and_then(|s| s.eap.as_mut()) {
        Some(EapSession::Server(srv)) => srv.step(&m),
        Some(EapSession::Backend) => match ike.eap.as_mut() {
            Some(b) => b.step(id, &m),
            None => crate::eap::EapStep::Failure(Vec::new()),
        },
        _ => crate::eap::EapStep::Failure(Vec::new()),
    };
    match step {
        crate::eap::EapStep::Continue(x) => {
            respond(
                ike,
                now,
                id,
                ExchangeType::IKE_AUTH,
                msg_id,
                vec![Payload::new(PayloadType::EAP, Body::Eap(x))],
            );
            Input::Handled
        }
        crate::eap::EapStep::Success { message, msk } => {
            if let Some(sa) = ike.sas.get_mut(&id) {
                sa.msk = Some(zeroize::Zeroizing::new(msk));
            }
            respond(
                ike,
                now,
                id,
                ExchangeType::IKE_AUTH,
                msg_id,
                vec![Payload::new(PayloadType::EAP, Body::Eap(message))],
            );
            Input::Handled
        }
        crate::eap::EapStep::Failure(x) => {
            let mut out = Vec::new();
            if !x.is_empty() {
                out.push(Payload::new(PayloadType::EAP, Body::Eap(x)));
            }
            out.push(notify(NotifyType::AUTHENTICATION_FAILED, Vec::new()));
            respond(ike, now, id, ExchangeType::IKE_AUTH, msg_id, out);
            ike.kill(id, DownReason::AuthFailed("EAP failed".into()));
            Input::Handled
        }
    }
}
