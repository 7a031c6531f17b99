//! IKE_AUTH in both roles: identities, AUTH verification, the first Child SA (RFC 7296 1.2, 2.15).

use super::*;

/// The child an initiator offers: from the peer's first encrypt policy, else a road-warrior
/// 0/0 request with mode config, else host-to-host transport.
pub(crate) fn child_offer(ike: &mut Ike, id: u64, identity: &Identity) -> ChildOffer {
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

pub(crate) fn send_auth_request(ike: &mut Ike, now: Instant, id: u64) {
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
pub(crate) fn spec_id(spec: &IdSpec) -> Option<Id> {
    match spec {
        IdSpec::Address(a) => Some(ip_id(*a)),
        IdSpec::Fqdn(s) => Some(Id::new(IdType::FQDN, s.as_bytes().to_vec())),
        IdSpec::UserFqdn(s) => Some(Id::new(IdType::RFC822_ADDR, s.as_bytes().to_vec())),
        IdSpec::KeyId(k) => Some(Id::new(IdType::KEY_ID, k.clone())),
        _ => None,
    }
}

/// Verify the peer's AUTH payload; returns an error text on failure.
pub(crate) fn verify_peer_auth(
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

pub(crate) fn responder_auth(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    msg_id: u32,
    ps: &[Payload],
) -> Input {
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
pub(crate) fn responder_accept(
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

pub(crate) fn auth_fail(ike: &mut Ike, now: Instant, id: u64, msg_id: u32, why: String) -> Input {
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

pub(crate) fn set_ike_lifetime(ike: &mut Ike, now: Instant, id: u64) {
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

pub(crate) fn initiator_auth_response(
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
pub(crate) fn initiator_established(
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
