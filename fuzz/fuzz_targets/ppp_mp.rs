#![no_main]
//! Multilink PPP (RFC 1990): arbitrary fragments into a standalone reassembler (both header
//! formats, 1-3 member links, tight limits) and MP frames into a server session whose MP is
//! up (mrru 1600 negotiated in memory first). Nothing may panic; the reassembler stays within
//! its limits and every packet it yields fits the MRRU.
use fuzz::TestRng as Rng;
use ppp::mp::{Limits, Reassembler, SeqFormat};
use ppp::{AuthMethod, AuthSet, Config, Event, Role, Session};
use std::time::{Duration, Instant};

fn up_pair(now: Instant) -> (Session, Session) {
    let mut cc = Config::l2tp_client();
    cc.user = "alice".into();
    cc.password = "pw".into();
    cc.mrru = Some(1600);
    let mut sc = Config::l2tp_server();
    sc.authentication = AuthSet::of(&[AuthMethod::MsChap2]);
    sc.local_address = Some([10, 0, 0, 1].into());
    sc.remote_address = Some([10, 0, 0, 2].into());
    sc.mrru = Some(1600);
    let mut c = Session::new(cc, Role::Client, now, Rng(1)).expect("config");
    let mut s = Session::new(sc, Role::Server, now, Rng(2)).expect("config");
    c.open(now);
    s.open(now);
    for _ in 0..30 {
        while let Some(f) = c.poll_transmit(now) {
            let _ = s.handle_frame(now, &f);
        }
        while let Some(ev) = s.poll_event() {
            if let Event::AuthRequested(r) = ev {
                let v = ppp::Verdict::Password {
                    password: "pw".into(),
                    attributes: Default::default(),
                };
                let _ = s.auth_verdict(now, r.id, v);
            }
        }
        while let Some(f) = s.poll_transmit(now) {
            let _ = c.handle_frame(now, &f);
        }
        while c.poll_event().is_some() {}
    }
    (c, s)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let t0 = Instant::now();
    if sel & 0x40 == 0 {
        let fmt = if sel & 1 == 0 {
            SeqFormat::Long
        } else {
            SeqFormat::Short
        };
        let members = usize::from(sel >> 1 & 3).max(1);
        let limits = Limits {
            max_fragments: 8,
            max_bytes: 1024,
            reorder_window: u32::from(sel >> 3 & 7),
            ..Limits::new(600)
        };
        let mut r = Reassembler::new(fmt, limits, members);
        let mut t = t0;
        let mut rr = rest;
        // Each fragment: [member/time byte][length byte][length octets of MP information].
        while let [ctl, len, tail @ ..] = rr {
            let n = usize::from(*len).min(tail.len());
            let (frag, next) = tail.split_at(n);
            rr = next;
            t += Duration::from_millis(u64::from(ctl >> 2) * 50);
            let _ = r.push(t, usize::from(ctl & 3), frag);
            while let Some(p) = r.poll() {
                assert!(p.len() <= 600);
            }
            assert!(r.buffered_fragments() <= 8);
            assert!(r.buffered_bytes() <= 1024);
        }
        r.expire(t + Duration::from_secs(5));
        assert_eq!(r.buffered_fragments(), 0);
        return;
    }
    let (_c, mut s) = up_pair(t0);
    assert!(s.multilink());
    let mut t = t0;
    let mut rr = rest;
    while let [len, tail @ ..] = rr {
        let n = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(n);
        rr = next;
        let mut f = vec![0xff, 0x03, 0x00, 0x3d];
        f.extend_from_slice(body);
        if let Ok(ppp::Input::Reassembled { .. }) = s.handle_frame(t, &f) {
            assert!(s.reassembled().len() <= 1600);
            while s.poll_reassembled(t).is_some() {}
        }
        while s.poll_transmit(t).is_some() {}
        while s.poll_event().is_some() {}
        if s.poll_timeout().is_some_and(|d| d <= t) {
            s.handle_timeout(t);
        }
        assert!(s.mp_buffered_fragments() <= 128);
        t += Duration::from_millis(100);
    }
});
