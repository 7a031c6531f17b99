#![no_main]
//! CCP/MPPE: the MPPE decrypt path (both modes, all key lengths) on raw packets, and CCP and
//! MPPE frames fed to a server session whose MPPE is up (MS-CHAPv2 + use-encryption=yes,
//! negotiated in memory first). The session must survive and keep its invariants.
use fuzz::TestRng as Rng;
use ppp::aaa::UseEncryption;
use ppp::mppe::{Decryptor, KeyStrength, MppeParams};
use ppp::{AuthMethod, AuthSet, Config, Event, Role, Session};
use std::time::{Duration, Instant};

fn up_pair(stateless: bool, now: Instant) -> (Session, Session) {
    let mut cc = Config::l2tp_client();
    cc.user = "alice".into();
    cc.password = "pw".into();
    cc.use_encryption = UseEncryption::Yes;
    cc.mppe.stateless = stateless;
    let mut sc = Config::l2tp_server();
    sc.authentication = AuthSet::of(&[AuthMethod::MsChap2]);
    sc.local_address = Some([10, 0, 0, 1].into());
    sc.remote_address = Some([10, 0, 0, 2].into());
    sc.use_encryption = UseEncryption::Yes;
    sc.mppe.stateless = stateless;
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
    let strength = match sel % 3 {
        0 => KeyStrength::Bits40,
        1 => KeyStrength::Bits56,
        _ => KeyStrength::Bits128,
    };
    let stateless = sel & 0x80 != 0;
    if sel & 0x40 == 0 {
        // Raw decrypt path: length-prefixed packets into one decryptor.
        let p = MppeParams {
            strength,
            stateless,
        };
        let mut d = Decryptor::new(p, &[7u8; 16]).expect("key");
        let mut r = rest;
        while let Some((&len, tail)) = r.split_first() {
            let n = usize::from(len).min(tail.len());
            let (pkt, next) = tail.split_at(n);
            r = next;
            let mut b = pkt.to_vec();
            if let Ok(x) = d.decrypt(&mut b) {
                assert!(x.offset <= b.len());
            }
        }
        return;
    }
    // Session path: length-prefixed CCP (even length byte) or MPPE (odd) frames.
    let now = Instant::now();
    let (mut c, mut s) = up_pair(stateless, now);
    assert!(s.mppe_up());
    let mut t = now;
    let mut r = rest;
    while let Some((&len, tail)) = r.split_first() {
        let n = usize::from(len >> 1).min(tail.len());
        let (body, next) = tail.split_at(n);
        r = next;
        let mut f = vec![0xff, 0x03];
        f.extend_from_slice(if len & 1 == 0 {
            &[0x80, 0xfd]
        } else {
            &[0x00, 0xfd]
        });
        f.extend_from_slice(body);
        let _ = s.handle_frame(t, &f);
        let _ = s.handle_frame_mut(t, &mut f);
        while let Some(f) = s.poll_transmit(t) {
            let _ = c.handle_frame(t, &f);
        }
        while let Some(f) = c.poll_transmit(t) {
            let _ = s.handle_frame(t, &f);
        }
        while s.poll_event().is_some() {}
        while c.poll_event().is_some() {}
        if let Some(d) = s.poll_timeout() {
            if d <= t {
                s.handle_timeout(t);
            }
        }
        if s.mppe_up() {
            assert_eq!(s.mtu(), 1446);
        }
        t += Duration::from_millis(300);
    }
});
