//! EAP inside IKE_AUTH (RFC 7296 2.16), both roles.

use super::*;

/// Initiator side of EAP (2.16): verify the responder's signature once, answer EAP requests,
/// then authenticate with the MSK and check the responder's MSK-based AUTH.
pub(crate) fn initiator_eap(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    ps: &[Payload],
    offer: ChildOffer,
) {
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
pub(crate) fn responder_eap_start(
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
pub(crate) fn responder_eap(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    msg_id: u32,
    ps: &[Payload],
) -> Input {
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
