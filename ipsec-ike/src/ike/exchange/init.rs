//! IKE_SA_INIT in both roles: cookies, half-open limits, INVALID_KE, NAT detection (RFC 7296 1.2, 2.6, 2.23).

use super::*;

pub(crate) fn init_request(ike: &mut Ike, id: u64) -> Vec<u8> {
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
pub(crate) fn initiate(
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

pub(crate) fn send_init(ike: &mut Ike, now: Instant, id: u64, m: Vec<u8>) {
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

pub(crate) fn stateless_reply(
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
    ike.out.push_back(crate::ike::Transmit {
        local,
        remote,
        payload,
    });
}

/// Responder: IKE_SA_INIT request.
pub(crate) fn responder_init(
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

pub(crate) fn initiator_init_response(
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
