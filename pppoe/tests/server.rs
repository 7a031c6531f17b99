#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The access concentrator driven frame by frame: service names, AC-Cookie, limits, VLANs,
//! PADO delay, PADT handling, floods; and the client's choice among PADOs; the scanner.

mod common;
use common::*;
use pppoe::wire::{tag, Code, Discovery, Frame, VlanStack, BROADCAST};
use pppoe::{
    ClientConfig, DropReason, EndReason, Input, Scanner, Server, ServerConfig, ServerEvent,
    VlanRange,
};
use std::time::{Duration, Instant};

fn padi(src: [u8; 6], service: &str, uniq: &[u8], vlans: VlanStack) -> Vec<u8> {
    Discovery::new(Code::PADI, 0)
        .with(tag::SERVICE_NAME, service.as_bytes())
        .with(tag::HOST_UNIQ, uniq)
        .emit(BROADCAST, src, &vlans)
        .unwrap()
}

fn feed(s: &mut Server, now: Instant, f: &[u8]) -> Input<'static> {
    let mut b = f.to_vec();
    match s.handle_frame(now, &mut b) {
        Input::Discovery => Input::Discovery,
        Input::Control => Input::Control,
        Input::Dropped(r) => Input::Dropped(r),
        other => panic!("{other:?}"),
    }
}

fn out(s: &mut Server, now: Instant) -> Vec<(Frame<'static>, Discovery)> {
    let mut v = Vec::new();
    while let Some(t) = s.poll_transmit(now) {
        let leaked: &'static [u8] = Box::leak(t.frame.into_boxed_slice());
        let f = Frame::parse(leaked).unwrap();
        if f.code == Code::SESSION {
            continue;
        }
        let d = Discovery::from_frame(&f).unwrap();
        v.push((f, d));
    }
    v
}

/// PADI -> PADO -> PADR with the PADO's cookie; returns the server's answer to the PADR.
fn dial(
    s: &mut Server,
    now: Instant,
    mac: [u8; 6],
    service: &str,
    uniq: &[u8],
    vlans: VlanStack,
) -> Vec<(Frame<'static>, Discovery)> {
    assert_eq!(
        feed(s, now, &padi(mac, service, uniq, vlans)),
        Input::Discovery
    );
    let pado = out(s, now);
    assert_eq!(pado.len(), 1);
    let padr = padr_from(&pado[0].1, mac, service, uniq, vlans);
    assert_eq!(feed(s, now, &padr), Input::Discovery);
    out(s, now)
}

fn padr_from(
    pado: &Discovery,
    mac: [u8; 6],
    service: &str,
    uniq: &[u8],
    vlans: VlanStack,
) -> Vec<u8> {
    Discovery::new(Code::PADR, 0)
        .with(tag::SERVICE_NAME, service.as_bytes())
        .with(tag::HOST_UNIQ, uniq)
        .with(tag::AC_COOKIE, pado.ac_cookie().unwrap())
        .emit(AC_MAC, mac, &vlans)
        .unwrap()
}

#[test]
fn config_defaults_are_routeros() {
    let s = ServerConfig::new(AC_MAC);
    assert_eq!(s.ppp.max_mtu, 1480);
    assert_eq!(s.ppp.max_mru, 1480);
    assert_eq!(s.ppp.keepalive_timeout, Duration::from_secs(10));
    assert_eq!(s.ppp.max_sessions, None);
    assert!(!s.ppp.one_session_per_host);
    assert_eq!(s.ppp.mrru, None);
    assert_eq!(s.ppp.default_profile, "default");
    assert_eq!(s.ppp.authentication, ppp::AuthSet::ALL);
    assert_eq!(s.service_names, [""]);
    assert_eq!(s.ac_name, "MikroTik");
    assert_eq!(s.pado_delay, Duration::ZERO);
    assert!(s.vlan_range.is_empty());
    assert!(s.accept_untagged);
    assert_eq!(s.ppp_max_payload, None);
    let c = ClientConfig::new(HOST_MAC);
    assert_eq!((c.ppp.max_mtu, c.ppp.max_mru), (1460, 1460));
    assert_eq!(c.ppp.keepalive_timeout, Duration::from_secs(60));
    assert_eq!(c.service_name, "");
    assert_eq!(c.ac_name, "");
    assert!(!c.ppp.add_default_route);
    assert_eq!(c.ppp.default_route_distance, Some(1));
    assert_eq!(c.ppp.use_peer_dns, ppp::UsePeerDns::No);
    assert!(!c.ppp.dial_on_demand);
    assert_eq!(c.ppp.allow, ppp::AuthSet::ALL);
    assert_eq!(c.ppp.profile, "default");
    assert_eq!(c.ppp.mrru, None);
    assert!(c.host_uniq);
    assert_eq!(c.discovery_timeout, Duration::from_secs(1));
    assert_eq!(c.padr_attempts, 3);
    // Validation names the property.
    let mut bad = ServerConfig::new(AC_MAC);
    bad.ppp.max_mru = 1500;
    assert_eq!(bad.validate().unwrap_err().field, "max-mru/max-mtu");
    let mut bad = ClientConfig::new([0xff; 6]);
    bad.ppp.user = "x".into();
    assert_eq!(bad.validate().unwrap_err().field, "interface");
    let mut bad = ClientConfig::new(HOST_MAC);
    bad.ppp_max_payload = Some(1000);
    assert_eq!(bad.validate().unwrap_err().field, "ppp-max-payload");
}

#[test]
fn blank_padi_lists_every_service_and_unknown_service_gets_nothing() {
    let now = Instant::now();
    let mut c = server_config();
    c.service_names = vec!["a".into(), "b".into()];
    c.ac_name = "ac1".into();
    let mut s = new_server(c, now, 1);
    feed(&mut s, now, &padi(HOST_MAC, "", b"u1", VlanStack::NONE));
    let o = out(&mut s, now);
    assert_eq!(o.len(), 1);
    let (f, d) = &o[0];
    assert_eq!(f.dst, HOST_MAC);
    assert_eq!(f.code, Code::PADO);
    let names: Vec<&[u8]> = d.service_names().collect();
    assert_eq!(names, [&b"a"[..], b"b"]);
    assert_eq!(d.ac_name(), Some(&b"ac1"[..]));
    assert_eq!(d.host_uniq(), Some(&b"u1"[..]));
    assert_eq!(d.ac_cookie().unwrap().len(), pppoe::server::COOKIE_LEN);
    // A PADI for "x": no PADO (S0 L536, L647).
    assert_eq!(
        feed(&mut s, now, &padi(HOST_MAC, "x", b"u1", VlanStack::NONE)),
        Input::Dropped(DropReason::ServiceNotOffered)
    );
    assert!(out(&mut s, now).is_empty());
    // A PADI for "b": a PADO for "b" only.
    feed(&mut s, now, &padi(HOST_MAC, "b", b"u1", VlanStack::NONE));
    let o = out(&mut s, now);
    assert_eq!(o[0].1.service_names().collect::<Vec<_>>(), [&b"b"[..]]);
    // A PADI without Service-Name is dropped (RFC 2516 s5.1).
    let bare = Discovery::new(Code::PADI, 0)
        .emit(BROADCAST, HOST_MAC, &VlanStack::NONE)
        .unwrap();
    assert_eq!(
        feed(&mut s, now, &bare),
        Input::Dropped(DropReason::MissingServiceName)
    );
    // A PADR for a service not served: PADS with Service-Name-Error, no session.
    let padr = padr_from(&o[0].1, HOST_MAC, "zzz", b"u1", VlanStack::NONE);
    feed(&mut s, now, &padr);
    let o = out(&mut s, now);
    assert_eq!(o[0].1.code(), Code::PADS);
    assert_eq!(o[0].1.session_id, 0);
    assert_eq!(o[0].1.error().unwrap().0, tag::SERVICE_NAME_ERROR);
    assert!(s.is_empty());
}

#[test]
fn padi_flood_creates_no_state_and_forged_cookies_are_rejected() {
    let now = Instant::now();
    let mut s = new_server(server_config(), now, 2);
    for i in 0..10_000u32 {
        let mac = [0x02, 0x10, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1];
        feed(
            &mut s,
            now,
            &padi(mac, "", &i.to_be_bytes(), VlanStack::NONE),
        );
        assert_eq!(out(&mut s, now).len(), 1);
    }
    assert!(s.is_empty());
    assert_eq!(s.poll_timeout(), None, "nothing to time: no state");
    // A real PADO cookie.
    feed(&mut s, now, &padi(HOST_MAC, "", b"u", VlanStack::NONE));
    let pado = out(&mut s, now).remove(0).1;
    let good = pado.ac_cookie().unwrap().to_vec();
    // Forged: one bit flipped.
    let mut forged = good.clone();
    forged[10] ^= 1;
    for (cookie, mac) in [
        (forged, HOST_MAC),
        (good.clone(), HOST2_MAC), // another MAC replaying it
        (vec![1, 2, 3], HOST_MAC),
    ] {
        let padr = Discovery::new(Code::PADR, 0)
            .with(tag::SERVICE_NAME, Vec::new())
            .with(tag::AC_COOKIE, cookie)
            .emit(AC_MAC, mac, &VlanStack::NONE)
            .unwrap();
        assert_eq!(
            feed(&mut s, now, &padr),
            Input::Dropped(DropReason::BadCookie)
        );
    }
    // Without a cookie.
    let padr = Discovery::new(Code::PADR, 0)
        .with(tag::SERVICE_NAME, Vec::new())
        .emit(AC_MAC, HOST_MAC, &VlanStack::NONE)
        .unwrap();
    assert_eq!(
        feed(&mut s, now, &padr),
        Input::Dropped(DropReason::BadCookie)
    );
    assert_eq!(s.stats().bad_cookies, 4);
    // On another VLAN the same cookie fails too.
    let mut c = server_config();
    c.vlan_range = VlanRange::parse("5,6").unwrap();
    let mut v = new_server(c, now, 3);
    feed(&mut v, now, &padi(HOST_MAC, "", b"u", VlanStack::dot1q(5)));
    let pado = out(&mut v, now).remove(0).1;
    let padr = padr_from(&pado, HOST_MAC, "", b"u", VlanStack::dot1q(6));
    assert_eq!(
        feed(&mut v, now, &padr),
        Input::Dropped(DropReason::BadCookie)
    );
    // The genuine cookie opens a session; one rotation later it still does (for a PADR
    // retransmitted late), two rotations later it has expired.
    let padr = padr_from(&pado, HOST_MAC, "", b"u", VlanStack::dot1q(5));
    let later = now + Duration::from_secs(61);
    assert_eq!(feed(&mut v, later, &padr), Input::Discovery);
    assert_eq!(v.len(), 1);
    let mut s2 = new_server(server_config(), now, 4);
    feed(&mut s2, now, &padi(HOST_MAC, "", b"u", VlanStack::NONE));
    let pado = out(&mut s2, now).remove(0).1;
    let padr = padr_from(&pado, HOST_MAC, "", b"u", VlanStack::NONE);
    assert_eq!(
        feed(&mut s2, now + Duration::from_secs(121), &padr),
        Input::Dropped(DropReason::BadCookie)
    );
    // After a long idle time fresh cookies work (and the stale one still fails).
    let late = now + Duration::from_secs(36_000);
    feed(&mut s2, late, &padi(HOST_MAC, "", b"v", VlanStack::NONE));
    let fresh = out(&mut s2, late).remove(0).1;
    assert_eq!(
        feed(&mut s2, late, &padr),
        Input::Dropped(DropReason::BadCookie)
    );
    let padr = padr_from(&fresh, HOST_MAC, "", b"v", VlanStack::NONE);
    assert_eq!(
        feed(&mut s2, late + Duration::from_secs(59), &padr),
        Input::Discovery
    );
    assert_eq!(s2.len(), 1);
}

#[test]
fn pads_gives_unique_nonzero_ids_and_a_repeated_padr_gets_the_same_pads() {
    let now = Instant::now();
    let mut s = new_server(server_config(), now, 5);
    let mut ids = std::collections::HashSet::new();
    for i in 0..200u8 {
        let mac = [0x02, 0x20, 0, 0, 0, i];
        let r = dial(&mut s, now, mac, "", &[i], VlanStack::NONE);
        let pads = &r[0];
        assert_eq!(pads.1.code(), Code::PADS);
        assert_eq!(pads.0.dst, mac);
        assert_ne!(pads.1.session_id, 0);
        assert_eq!(pads.1.host_uniq(), Some(&[i][..]));
        assert!(ids.insert(pads.1.session_id));
    }
    assert_eq!(s.len(), 200);
    // Repeated PADR (PADS lost): same PADS, no second session.
    feed(&mut s, now, &padi(HOST_MAC, "", b"r", VlanStack::NONE));
    let pado = out(&mut s, now).remove(0).1;
    let padr = padr_from(&pado, HOST_MAC, "", b"r", VlanStack::NONE);
    feed(&mut s, now, &padr);
    let first = out(&mut s, now).remove(0);
    feed(&mut s, now, &padr);
    let again = out(&mut s, now).remove(0);
    assert_eq!(first.1, again.1);
    assert_eq!(s.len(), 201);
    assert_eq!(s.stats().pads_repeated, 1);
}

#[test]
fn max_sessions_refuses_the_next_one() {
    let now = Instant::now();
    let mut c = server_config();
    c.ppp.max_sessions = Some(1);
    let mut s = new_server(c, now, 6);
    dial(&mut s, now, HOST_MAC, "", b"1", VlanStack::NONE);
    assert_eq!(s.len(), 1);
    // Full: no PADO for the next host.
    assert_eq!(
        feed(&mut s, now, &padi(HOST2_MAC, "", b"2", VlanStack::NONE)),
        Input::Dropped(DropReason::Full)
    );
    assert!(out(&mut s, now).is_empty());
    // Unlimited by default: many sessions (S0 L635 "0 = no limitations").
    let mut u = new_server(server_config(), now, 7);
    for i in 0..50u8 {
        dial(
            &mut u,
            now,
            [0x02, 0x30, 0, 0, 0, i],
            "",
            &[i],
            VlanStack::NONE,
        );
    }
    assert_eq!(u.len(), 50);
}

#[test]
fn max_sessions_full_at_padr_gets_ac_system_error() {
    let now = Instant::now();
    let mut c = server_config();
    c.ppp.max_sessions = Some(1);
    let mut s = new_server(c, now, 8);
    // Two hosts get PADOs while the AC is empty; the second PADR finds it full.
    feed(&mut s, now, &padi(HOST_MAC, "", b"1", VlanStack::NONE));
    let p1 = out(&mut s, now).remove(0).1;
    feed(&mut s, now, &padi(HOST2_MAC, "", b"2", VlanStack::NONE));
    let p2 = out(&mut s, now).remove(0).1;
    feed(
        &mut s,
        now,
        &padr_from(&p1, HOST_MAC, "", b"1", VlanStack::NONE),
    );
    out(&mut s, now);
    feed(
        &mut s,
        now,
        &padr_from(&p2, HOST2_MAC, "", b"2", VlanStack::NONE),
    );
    let r = out(&mut s, now).remove(0).1;
    assert_eq!(r.code(), Code::PADS);
    assert_eq!(r.session_id, 0);
    assert_eq!(r.error().unwrap().0, tag::AC_SYSTEM_ERROR);
    assert_eq!(s.len(), 1);
}

#[test]
fn one_session_per_host_replaces_the_old_session_with_a_padt() {
    let now = Instant::now();
    let mut c = server_config();
    c.ppp.one_session_per_host = true;
    let mut s = new_server(c, now, 9);
    let old = dial(&mut s, now, HOST_MAC, "", b"1", VlanStack::NONE)[0]
        .1
        .session_id;
    let r = dial(&mut s, now, HOST_MAC, "", b"2", VlanStack::NONE);
    // The PADT for the old session goes out before the new PADS.
    assert_eq!(r[0].1.code(), Code::PADT);
    assert_eq!(r[0].1.session_id, old);
    assert_eq!(r[1].1.code(), Code::PADS);
    assert_eq!(s.len(), 1);
    let mut ended = Vec::new();
    while let Some(e) = s.poll_event() {
        if let ServerEvent::SessionEnded { session, reason } = e {
            ended.push((session, reason));
        }
    }
    assert_eq!(ended, [((HOST_MAC, old), EndReason::Replaced)]);
    // Without it (default), a host may hold two sessions.
    let mut d = new_server(server_config(), now, 10);
    dial(&mut d, now, HOST_MAC, "", b"1", VlanStack::NONE);
    dial(&mut d, now, HOST_MAC, "", b"2", VlanStack::NONE);
    assert_eq!(d.len(), 2);
}

#[test]
fn vlan_range_and_accept_untagged() {
    let r = VlanRange::parse("100-115,120,122,128-130").unwrap();
    for v in [100, 115, 120, 122, 128, 130] {
        assert!(r.contains(v), "{v}");
    }
    for v in [99, 116, 121, 127, 131] {
        assert!(!r.contains(v), "{v}");
    }
    assert!(VlanRange::parse("0").is_err());
    assert!(VlanRange::parse("4095").is_err());
    assert!(VlanRange::parse("10-5").is_err());
    assert!(VlanRange::parse("x").is_err());
    assert!(VlanRange::parse("").unwrap().is_empty());
    let now = Instant::now();
    let mut c = server_config();
    c.vlan_range = r;
    c.accept_untagged = false;
    let mut s = new_server(c.clone(), now, 11);
    // Tagged 120: answered on the same tag, and the session keeps it.
    let pads = dial(&mut s, now, HOST_MAC, "", b"1", VlanStack::dot1q(120));
    assert_eq!(pads[0].0.vlans, VlanStack::dot1q(120));
    // Before the PADS: the PADO went on VLAN 120 as well (checked in dial via padr_from).
    assert_eq!(
        feed(
            &mut s,
            now,
            &padi(HOST_MAC, "", b"1", VlanStack::dot1q(121))
        ),
        Input::Dropped(DropReason::VlanNotServed)
    );
    assert_eq!(
        feed(&mut s, now, &padi(HOST_MAC, "", b"1", VlanStack::NONE)),
        Input::Dropped(DropReason::VlanNotServed)
    );
    // QinQ: outer S-tag 7, inner 802.1Q 130; both tags preserved in the reply.
    feed(
        &mut s,
        now,
        &padi(HOST2_MAC, "", b"q", VlanStack::qinq(7, 130)),
    );
    let o = out(&mut s, now);
    assert_eq!(o[0].0.vlans, VlanStack::qinq(7, 130));
    // accept-untagged=yes serves untagged clients too.
    c.accept_untagged = true;
    let mut s = new_server(c, now, 12);
    assert_eq!(
        feed(&mut s, now, &padi(HOST_MAC, "", b"1", VlanStack::NONE)),
        Input::Discovery
    );
    // Without a range, tagged PADIs are not served.
    let mut s = new_server(server_config(), now, 13);
    assert_eq!(
        feed(
            &mut s,
            now,
            &padi(HOST_MAC, "", b"1", VlanStack::dot1q(100))
        ),
        Input::Dropped(DropReason::VlanNotServed)
    );
}

#[test]
fn pado_delay_holds_the_offer() {
    let now = Instant::now();
    let mut c = server_config();
    c.pado_delay = Duration::from_millis(300);
    c.max_delayed_pados = 2;
    let mut s = new_server(c, now, 14);
    feed(&mut s, now, &padi(HOST_MAC, "", b"1", VlanStack::NONE));
    assert!(out(&mut s, now).is_empty());
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(300)));
    feed(&mut s, now, &padi(HOST2_MAC, "", b"2", VlanStack::NONE));
    // Bound reached: a third PADI is dropped.
    assert_eq!(
        feed(
            &mut s,
            now,
            &padi([2, 9, 9, 9, 9, 9], "", b"3", VlanStack::NONE)
        ),
        Input::Dropped(DropReason::DelayedPadoLimit)
    );
    s.handle_timeout(now + Duration::from_millis(299));
    assert!(out(&mut s, now).is_empty());
    s.handle_timeout(now + Duration::from_millis(300));
    let o = out(&mut s, now);
    assert_eq!(o.len(), 2);
    assert_eq!(o[0].0.dst, HOST_MAC);
}

#[test]
fn stray_frames_are_typed_drops() {
    let now = Instant::now();
    let mut s = new_server(server_config(), now, 15);
    let id = dial(&mut s, now, HOST_MAC, "", b"1", VlanStack::NONE)[0]
        .1
        .session_id;
    // A PADT for another host's session, and for an unknown id.
    for (mac, sid) in [(HOST2_MAC, id), (HOST_MAC, id.wrapping_add(1))] {
        let padt = Discovery::new(Code::PADT, sid)
            .emit(AC_MAC, mac, &VlanStack::NONE)
            .unwrap();
        assert_eq!(
            feed(&mut s, now, &padt),
            Input::Dropped(DropReason::UnknownSession)
        );
    }
    assert_eq!(s.len(), 1);
    // A session frame for an unknown id.
    let mut f = vec![0u8; 24];
    let n = pppoe::wire::emit_header(
        &mut f,
        AC_MAC,
        HOST_MAC,
        &VlanStack::NONE,
        0x8864,
        Code::SESSION,
        id ^ 0x5555,
        4,
    )
    .unwrap();
    f[n..].copy_from_slice(&[0xc0, 0x21, 0x09, 0x01]);
    assert_eq!(
        feed(&mut s, now, &f),
        Input::Dropped(DropReason::UnknownSession)
    );
    // Runts, wrong codes, bad lengths.
    assert!(matches!(
        feed(&mut s, now, &[0u8; 5]),
        Input::Dropped(DropReason::Malformed(_))
    ));
    let pado = Discovery::new(Code::PADO, 0)
        .emit(AC_MAC, HOST_MAC, &VlanStack::NONE)
        .unwrap();
    assert_eq!(
        feed(&mut s, now, &pado),
        Input::Dropped(DropReason::UnexpectedCode(0x07))
    );
    let mut bad = padi(HOST_MAC, "", b"1", VlanStack::NONE);
    bad[19] = 0xff;
    assert!(matches!(
        feed(&mut s, now, &bad),
        Input::Dropped(DropReason::Malformed(_))
    ));
    // A PADI from a multicast source.
    assert_eq!(
        feed(
            &mut s,
            now,
            &padi([0x03, 0, 0, 0, 0, 1], "", b"1", VlanStack::NONE)
        ),
        Input::Dropped(DropReason::NotForUs)
    );
    // The genuine PADT ends the session, with no PADT back.
    let padt = Discovery::new(Code::PADT, id)
        .emit(AC_MAC, HOST_MAC, &VlanStack::NONE)
        .unwrap();
    assert_eq!(feed(&mut s, now, &padt), Input::Discovery);
    assert!(s.is_empty());
    assert!(out(&mut s, now).iter().all(|(f, _)| f.code != Code::PADT));
}

#[test]
fn relay_session_id_and_host_uniq_are_echoed() {
    let now = Instant::now();
    let mut s = new_server(server_config(), now, 20);
    let p = Discovery::new(Code::PADI, 0)
        .with(tag::SERVICE_NAME, Vec::new())
        .with(tag::RELAY_SESSION_ID, b"relay-1".to_vec())
        .with(tag::VENDOR_SPECIFIC, vec![0, 0, 0x0d, 0xe9, 1])
        .emit(BROADCAST, HOST_MAC, &VlanStack::NONE)
        .unwrap();
    feed(&mut s, now, &p);
    let pado = out(&mut s, now).remove(0).1;
    assert_eq!(pado.relay_session_id(), Some(&b"relay-1"[..]));
    assert_eq!(pado.host_uniq(), None);
    let padr = Discovery::new(Code::PADR, 0)
        .with(tag::SERVICE_NAME, Vec::new())
        .with(tag::AC_COOKIE, pado.ac_cookie().unwrap())
        .with(tag::RELAY_SESSION_ID, b"relay-1".to_vec())
        .emit(AC_MAC, HOST_MAC, &VlanStack::NONE)
        .unwrap();
    feed(&mut s, now, &padr);
    let pads = out(&mut s, now).remove(0).1;
    assert_eq!(pads.relay_session_id(), Some(&b"relay-1"[..]));
}

#[test]
fn rfc4638_ppp_max_payload_is_granted_when_both_sides_want_it() {
    let now = Instant::now();
    let mut c = server_config();
    c.ppp_max_payload = Some(1500);
    let mut s = new_server(c, now, 16);
    let p = Discovery::new(Code::PADI, 0)
        .with(tag::SERVICE_NAME, Vec::new())
        .with(tag::PPP_MAX_PAYLOAD, 1508u16.to_be_bytes())
        .emit(BROADCAST, HOST_MAC, &VlanStack::NONE)
        .unwrap();
    feed(&mut s, now, &p);
    assert_eq!(out(&mut s, now)[0].1.ppp_max_payload(), Some(1500));
    // Not configured: never sent.
    let mut s = new_server(server_config(), now, 17);
    feed(&mut s, now, &p);
    assert_eq!(out(&mut s, now)[0].1.ppp_max_payload(), None);
}

#[test]
fn client_filters_pados_by_ac_name_and_service() {
    let now = Instant::now();
    let mut cfg = client_config("alice", "pw");
    cfg.ac_name = "wanted".into();
    let mut c = pppoe::Client::new(cfg, now, netsim::TestRng::new(1)).unwrap();
    let padi = c.poll_transmit(now).unwrap();
    assert_eq!(padi.dst, BROADCAST);
    let f = Frame::parse(&padi.frame).unwrap();
    let d = Discovery::from_frame(&f).unwrap();
    // Exactly one Service-Name (blank) and a Host-Uniq.
    assert_eq!(d.service_names().count(), 1);
    assert_eq!(d.service_names().next(), Some(&b""[..]));
    let uniq = d.host_uniq().unwrap().to_vec();
    let pado = |ac: &str, svcs: &[&str], uniq: &[u8]| {
        let mut p = Discovery::new(Code::PADO, 0).with(tag::AC_NAME, ac.as_bytes());
        for s in svcs {
            p = p.with(tag::SERVICE_NAME, s.as_bytes());
        }
        p.with(tag::HOST_UNIQ, uniq)
            .with(tag::AC_COOKIE, b"cookie".to_vec())
            .emit(HOST_MAC, AC_MAC, &VlanStack::NONE)
            .unwrap()
    };
    let mut other = pado("other", &["isp"], &uniq);
    assert_eq!(
        c.handle_frame(now, &mut other),
        Input::Dropped(DropReason::AcNameMismatch)
    );
    let mut wrong_uniq = pado("wanted", &["isp"], b"nope");
    assert_eq!(
        c.handle_frame(now, &mut wrong_uniq),
        Input::Dropped(DropReason::HostUniqMismatch)
    );
    let mut good = pado("wanted", &["first", "second"], &uniq);
    assert_eq!(c.handle_frame(now, &mut good), Input::Discovery);
    let padr = c.poll_transmit(now).unwrap();
    assert_eq!(padr.dst, AC_MAC);
    let d = Discovery::from_frame(&Frame::parse(&padr.frame).unwrap()).unwrap();
    assert_eq!(d.code(), Code::PADR);
    // Blank PADI: the PADR names the PADO's first service (S0 L537) and echoes the cookie.
    assert_eq!(d.service_names().collect::<Vec<_>>(), [&b"first"[..]]);
    assert_eq!(d.ac_cookie(), Some(&b"cookie"[..]));
    assert_eq!(d.host_uniq(), Some(&uniq[..]));
    // A second PADO now is ignored (first valid one wins).
    let mut late = pado("wanted", &["x"], &uniq);
    assert!(matches!(c.handle_frame(now, &mut late), Input::Dropped(_)));

    // service-name set: a PADO without it is skipped.
    let mut cfg = client_config("alice", "pw");
    cfg.service_name = "second".into();
    let mut c = pppoe::Client::new(cfg, now, netsim::TestRng::new(2)).unwrap();
    let padi = c.poll_transmit(now).unwrap();
    let d = Discovery::from_frame(&Frame::parse(&padi.frame).unwrap()).unwrap();
    assert_eq!(d.service_names().next(), Some(&b"second"[..]));
    let uniq = d.host_uniq().unwrap().to_vec();
    let mut p1 = pado("a", &["first"], &uniq);
    assert_eq!(
        c.handle_frame(now, &mut p1),
        Input::Dropped(DropReason::ServiceNotOffered)
    );
    let mut p2 = pado("b", &["first", "second"], &uniq);
    assert_eq!(c.handle_frame(now, &mut p2), Input::Discovery);
    assert_eq!(c.poll_transmit(now).unwrap().dst, [0x02, 0, 0, 0, 0, 2]);
    // A PADS with an error tag: an event, and discovery starts over.
    let mut pads = Discovery::new(Code::PADS, 0)
        .with(tag::SERVICE_NAME_ERROR, b"no".to_vec())
        .with(tag::HOST_UNIQ, uniq.clone())
        .emit(HOST_MAC, AC_MAC, &VlanStack::NONE)
        .unwrap();
    assert_eq!(
        c.handle_frame(now, &mut pads),
        Input::Dropped(DropReason::ErrorTag(tag::SERVICE_NAME_ERROR))
    );
    let mut saw = false;
    while let Some(e) = c.poll_event() {
        if let pppoe::ClientEvent::DiscoveryError { code, text, .. } = e {
            assert_eq!((code, text.as_str()), (Code::PADS, "no"));
            saw = true;
        }
    }
    assert!(saw);
    assert!(c.session().is_none());
    c.handle_timeout(now + Duration::from_secs(1));
    let again = c.poll_transmit(now).unwrap();
    assert_eq!(again.dst, BROADCAST);
}

#[test]
fn windows_phone_number_form() {
    assert_eq!(
        pppoe::split_ac_service("MikroTik_AC\\mt1"),
        ("MikroTik_AC", "mt1")
    );
    assert_eq!(pppoe::split_ac_service("mt1"), ("", "mt1"));
}

#[test]
fn scanner_lists_every_ac_and_opens_no_session() {
    let now = Instant::now();
    let mut a = server_config();
    a.service_names = vec!["s1".into(), "s2".into()];
    a.ac_name = "ac-a".into();
    let mut b = ServerConfig::new([0x02, 0, 0, 0, 0, 0x0b]);
    b.ac_name = "ac-b".into();
    let mut acs = [new_server(a, now, 18), new_server(b, now, 19)];
    let mut sc = Scanner::new(HOST_MAC, VlanStack::NONE, Duration::from_secs(1), now);
    let padi = sc.poll_transmit(now).unwrap();
    for ac in acs.iter_mut() {
        let mut f = padi.frame.clone();
        ac.handle_frame(now, &mut f);
        while let Some(t) = ac.poll_transmit(now) {
            assert_eq!(sc.handle_frame(now, &t.frame), Input::Discovery);
        }
    }
    let o = sc.offers();
    assert_eq!(o.len(), 2);
    assert_eq!((o[0].ac_name.as_str(), o[0].ac_mac), ("ac-a", AC_MAC));
    assert_eq!(o[0].services, ["s1", "s2"]);
    assert_eq!(o[1].ac_name, "ac-b");
    assert!(acs.iter().all(Server::is_empty));
    assert_eq!(sc.poll_timeout(), Some(now + Duration::from_secs(1)));
}

#[test]
fn terminate_sends_a_padt_at_once() {
    let now = Instant::now();
    let mut s = new_server(server_config(), now, 21);
    let id = dial(&mut s, now, HOST_MAC, "", b"1", VlanStack::NONE)[0]
        .1
        .session_id;
    while s.poll_event().is_some() {}
    s.terminate(now, &(HOST_MAC, id)).unwrap();
    let o = out(&mut s, now);
    assert_eq!(o.len(), 1);
    assert_eq!(
        (o[0].1.code(), o[0].1.session_id, o[0].0.dst),
        (Code::PADT, id, HOST_MAC)
    );
    let mut ended = Vec::new();
    while let Some(e) = s.poll_event() {
        if let ServerEvent::SessionEnded { reason, .. } = e {
            ended.push(reason);
        }
    }
    assert_eq!(ended, [EndReason::Admin]);
    assert!(s.is_empty());
    assert_eq!(
        s.terminate(now, &(HOST_MAC, id)),
        Err(pppoe::Error::NoSession)
    );
    assert!(!s.is_forwarded(&(HOST_MAC, id)));
    assert_eq!(
        s.send_ppp_frame(&(HOST_MAC, id), &[0xc0, 0x21]),
        Err(pppoe::Error::NoSession)
    );
}

/// Past 65534 sessions ids repeat across hosts (unique per MAC, RFC 2516 s4); below, they are
/// unique across the AC.
#[test]
fn more_sessions_than_session_ids() {
    let now = Instant::now();
    let mut s = new_server(server_config(), now, 22);
    let n = 66_000u32;
    let mut keys = std::collections::HashSet::new();
    for i in 0..n {
        let mac = [0x02, 0x40, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        feed(&mut s, now, &padi(mac, "", b"", VlanStack::NONE));
        let mut pado = None;
        while let Some(t) = s.poll_transmit(now) {
            let f = Frame::parse(&t.frame).unwrap();
            if f.code == Code::PADO {
                pado = Some(Discovery::from_frame(&f).unwrap());
            }
        }
        feed(
            &mut s,
            now,
            &padr_from(&pado.unwrap(), mac, "", b"", VlanStack::NONE),
        );
        while let Some(t) = s.poll_transmit(now) {
            let f = Frame::parse(&t.frame).unwrap();
            if f.code == Code::PADS {
                assert_ne!(f.session_id, 0);
                assert!(keys.insert((mac, f.session_id)));
            }
        }
        while s.poll_event().is_some() {}
    }
    assert_eq!(s.len(), n as usize);
    let distinct: std::collections::HashSet<u16> = keys.iter().map(|k| k.1).collect();
    assert_eq!(
        distinct.len(),
        65534,
        "every id used once before any repeats"
    );
}

#[test]
fn a_padr_flood_from_one_host_is_bounded() {
    let now = Instant::now();
    let mut s = new_server(server_config(), now, 23);
    feed(&mut s, now, &padi(HOST_MAC, "", b"x", VlanStack::NONE));
    let pado = out(&mut s, now).remove(0).1;
    for i in 0..100u32 {
        let padr = padr_from(&pado, HOST_MAC, "", &i.to_be_bytes(), VlanStack::NONE);
        let r = feed(&mut s, now, &padr);
        if i < 4 {
            assert_eq!(r, Input::Discovery);
        } else {
            assert_eq!(r, Input::Dropped(DropReason::HostStarting));
        }
    }
    assert_eq!(s.len(), 4);
    // max-starting-per-host is configurable.
    let mut c = server_config();
    c.max_starting_per_host = 1;
    let mut s = new_server(c, now, 24);
    feed(&mut s, now, &padi(HOST_MAC, "", b"x", VlanStack::NONE));
    let pado = out(&mut s, now).remove(0).1;
    assert_eq!(
        feed(
            &mut s,
            now,
            &padr_from(&pado, HOST_MAC, "", b"1", VlanStack::NONE)
        ),
        Input::Discovery
    );
    assert_eq!(
        feed(
            &mut s,
            now,
            &padr_from(&pado, HOST_MAC, "", b"2", VlanStack::NONE)
        ),
        Input::Dropped(DropReason::HostStarting)
    );
    // The repeated PADR (same Host-Uniq) still gets its PADS again.
    assert_eq!(
        feed(
            &mut s,
            now,
            &padr_from(&pado, HOST_MAC, "", b"1", VlanStack::NONE)
        ),
        Input::Discovery
    );
}

/// `mrru`: multilink runs over l2tp only so far; PPPoE refuses it at validation rather than
/// negotiating MP and dropping the fragments.
#[test]
fn mrru_is_refused_until_pppoe_carries_multilink() {
    let mut s = ServerConfig::new(AC_MAC);
    s.ppp.mrru = Some(1600);
    let e = s.validate().unwrap_err();
    assert!(format!("{e}").contains("mrru"), "{e}");
    let mut c = ClientConfig::new(HOST_MAC);
    c.ppp.mrru = Some(1600);
    let e = c.validate().unwrap_err();
    assert!(format!("{e}").contains("mrru"), "{e}");
}
