//! Child SAs: negotiation and narrowing, installation, CREATE_CHILD_SA rekeys of Child and IKE SAs and their collisions (RFC 7296 1.3, 2.8, 2.17, 2.18).

use super::*;

pub(crate) fn rekey_child_request(ike: &mut Ike, now: Instant, id: u64, old: ChildId) -> bool {
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

pub(crate) fn rekey_ike_request(ike: &mut Ike, now: Instant, id: u64) -> bool {
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

/// Responder side of a Child SA negotiation (IKE_AUTH or CREATE_CHILD_SA): select the
/// proposal, narrow the selectors, install. Returns the payloads of the answer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn negotiate_child(
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

pub(crate) fn tunnel_required(
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
pub(crate) fn install_child(
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

pub(crate) fn remove_child_by_spi_in(
    ike: &mut Ike,
    id: u64,
    spi: u32,
    reason: Option<ChildDownReason>,
) {
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

pub(crate) fn create_child_request(
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

pub(crate) fn rekey_child_response(
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

pub(crate) fn rekey_ike_responder(
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
pub(crate) fn make_rekeyed_sa(
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

pub(crate) fn move_children(ike: &mut Ike, from: u64, to: u64) {
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

pub(crate) fn rekey_ike_response(
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
