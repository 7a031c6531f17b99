//! proptest: decoders never panic on arbitrary input; every packet type round-trips byte-exact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ppp::wire::auth::{Chap, Eap, Pap};
use ppp::wire::cp::{options, CpPacket, IpcpOption, Ipv6cpOption, LcpOption};
use ppp::wire::hdlc::{encode, Deframer};
use ppp::wire::Frame;
use ppp::{Config, Role, Session};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use std::time::{Duration, Instant};

fn lcp_option() -> impl Strategy<Value = LcpOption> {
    prop_oneof![
        any::<u16>().prop_map(LcpOption::Mru),
        any::<u32>().prop_map(LcpOption::Accm),
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(protocol, data)| LcpOption::AuthProtocol { protocol, data }),
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(protocol, data)| LcpOption::QualityProtocol { protocol, data }),
        any::<u32>().prop_map(LcpOption::MagicNumber),
        Just(LcpOption::Pfc),
        Just(LcpOption::Acfc),
        any::<u16>().prop_map(LcpOption::Mrru),
        Just(LcpOption::Ssnhf),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(class, address)| LcpOption::EndpointDiscriminator { class, address }),
        (
            prop_oneof![Just(6u8), Just(9), Just(13), 20..=255u8],
            prop::collection::vec(any::<u8>(), 0..10)
        )
            .prop_map(|(kind, value)| LcpOption::Unknown { kind, value }),
    ]
}

fn ipcp_option() -> impl Strategy<Value = IpcpOption> {
    let a = any::<[u8; 4]>().prop_map(std::net::Ipv4Addr::from);
    prop_oneof![
        a.clone().prop_map(IpcpOption::IpAddress),
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(protocol, data)| IpcpOption::IpCompression { protocol, data }),
        a.clone().prop_map(IpcpOption::PrimaryDns),
        a.clone().prop_map(IpcpOption::SecondaryDns),
        a.clone().prop_map(IpcpOption::PrimaryNbns),
        a.prop_map(IpcpOption::SecondaryNbns),
    ]
}

proptest! {
    #[test]
    fn decoders_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Frame::parse(&data);
        let _ = CpPacket::parse(&data);
        for o in options(&data).flatten() {
            let _ = LcpOption::parse(&o);
            let _ = IpcpOption::parse(&o);
            let _ = Ipv6cpOption::parse(&o);
        }
        let _ = Pap::parse(&data);
        let _ = Chap::parse(&data);
        let _ = Eap::parse(&data);
        let _ = ppp::mschap::parse_failure(&data);
        let _ = ppp::mschap::parse_success(&data);
        let mut d = Deframer::new(200);
        d.push(&data);
        while d.next_frame().is_some() {}
    }

    #[test]
    fn lcp_options_roundtrip(opts in prop::collection::vec(lcp_option(), 0..8), id: u8, code in 1u8..=4) {
        let mut data = Vec::new();
        for o in &opts {
            o.emit(&mut data);
        }
        let pkt = CpPacket { code, identifier: id, data: &data }.to_vec();
        let p = CpPacket::parse(&pkt).unwrap();
        let back: Vec<LcpOption> = options(p.data).map(|o| LcpOption::parse(&o.unwrap()).unwrap()).collect();
        prop_assert_eq!(&back, &opts);
        let mut again = Vec::new();
        for o in &back {
            o.emit(&mut again);
        }
        prop_assert_eq!(again, data);
    }

    #[test]
    fn ipcp_options_roundtrip(opts in prop::collection::vec(ipcp_option(), 0..6)) {
        let mut data = Vec::new();
        for o in &opts {
            o.emit(&mut data);
        }
        let back: Vec<IpcpOption> = options(&data).map(|o| IpcpOption::parse(&o.unwrap()).unwrap()).collect();
        prop_assert_eq!(back, opts);
    }

    #[test]
    fn auth_packets_roundtrip(id: u8, a in prop::collection::vec(any::<u8>(), 1..60), b in prop::collection::vec(any::<u8>(), 0..60), kind in 1u8..=255) {
        let pkts: Vec<Vec<u8>> = {
            let mut v = Vec::new();
            for p in [Pap::Request { id, peer_id: &a, password: &b }, Pap::Ack { id, message: &b }, Pap::Nak { id, message: &a }] {
                let mut o = Vec::new();
                p.emit(&mut o);
                prop_assert_eq!(Pap::parse(&o).unwrap(), p);
                v.push(o);
            }
            for c in [Chap::Challenge { id, value: &a, name: &b }, Chap::Response { id, value: &a, name: &b }, Chap::Success { id, message: &b }, Chap::Failure { id, message: &a }] {
                let mut o = Vec::new();
                c.emit(&mut o);
                prop_assert_eq!(Chap::parse(&o).unwrap(), c);
                v.push(o);
            }
            for e in [Eap::Request { id, kind, data: &b }, Eap::Response { id, kind, data: &a }, Eap::Success { id }, Eap::Failure { id }] {
                let mut o = Vec::new();
                e.emit(&mut o);
                prop_assert_eq!(Eap::parse(&o).unwrap(), e);
                v.push(o);
            }
            v
        };
        prop_assert_eq!(pkts.len(), 11);
    }

    #[test]
    fn hdlc_roundtrip(frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..200), 1..5), accm: u32, split in 1usize..50) {
        let mut line = Vec::new();
        for f in &frames {
            encode(f, accm, &mut line);
        }
        // No flag inside a frame, no unescaped ACCM character.
        let mut d = Deframer::new(400);
        for chunk in line.chunks(split) {
            d.push(chunk);
        }
        for f in &frames {
            prop_assert_eq!(&d.next_frame().unwrap().unwrap(), f);
        }
        prop_assert!(d.next_frame().is_none());
    }

    #[test]
    fn frame_roundtrip(proto in any::<u16>().prop_filter("valid", |p| ppp::wire::protocol::is_valid(*p)), ac: bool, pfc: bool, payload in prop::collection::vec(any::<u8>(), 0..40)) {
        let f = Frame { protocol: proto, payload: &payload, address_control: ac, protocol_compressed: pfc && proto < 0x100 };
        let mut out = vec![0u8; f.buffer_len()];
        let n = f.emit(&mut out).unwrap();
        let g = Frame::parse(&out[..n]).unwrap();
        prop_assert_eq!(g, f);
    }

    /// Arbitrary frames into sessions in every role and a few states never panic, and the
    /// sessions never leave a deadline due after handling it.
    #[test]
    fn session_input_never_panics(frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 1..30), server: bool, seed: u64) {
        let now = Instant::now();
        let role = if server { Role::Server } else { Role::Client };
        let mut cfg = if server { Config::pppoe_server() } else { Config::l2tp_client() };
        cfg.ipv6 = true;
        let mut s = Session::new(cfg, role, now, rand_chacha::ChaCha8Rng::seed_from_u64(seed)).unwrap();
        s.open(now);
        let mut t = now;
        for (i, mut f) in frames.into_iter().enumerate() {
            // Bias towards well-framed control protocols.
            if i % 2 == 0 && f.len() >= 2 {
                let protos = [[0xc0, 0x21], [0x80, 0x21], [0xc2, 0x23], [0xc0, 0x23], [0xc2, 0x27], [0x80, 0x57]];
                let p = protos[usize::from(f[0]) % protos.len()];
                f[0] = p[0];
                f[1] = p[1];
                if f.len() >= 6 {
                    let len = (f.len() - 2) as u16;
                    f[4..6].copy_from_slice(&len.to_be_bytes());
                }
            }
            let _ = s.handle_frame(t, &f);
            while s.poll_transmit(t).is_some() {}
            while s.poll_event().is_some() {}
            if let Some(d) = s.poll_timeout() {
                if d <= t + Duration::from_secs(1) {
                    t = t.max(d);
                    s.handle_timeout(t);
                    // Progress: a handled deadline never stays due (no busy loop for callers).
                    prop_assert!(s.poll_timeout().is_none_or(|n| n > t));
                }
            }
            t += Duration::from_millis(100);
        }
    }
}
