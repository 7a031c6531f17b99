//! Property tests: decoders never panic and round-trip; the device input path never panics;
//! handshakes between random key pairs (with and without PSK) always complete and carry data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use common::{ipv4, rng, ADDR_A, ADDR_B, TUN_A, TUN_B, WALL};
use proptest::prelude::*;
use wireguard::wire::Message;
use wireguard::{Device, InterfaceConfig, Key, Output, PeerConfig, PeerId};

fn dev(k: [u8; 32], seed: u64) -> Device {
    Device::new(
        &InterfaceConfig {
            private_key: Some(Key(k)),
            ..Default::default()
        },
        rng(seed),
        Instant::now(),
        WALL,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoder_never_panics_and_roundtrips(data in proptest::collection::vec(any::<u8>(), 0..300), ty in 0u8..6) {
        let mut d = data;
        if let Some(b) = d.first_mut() { *b = ty; }
        if d.len() >= 4 { d[1] = 0; d[2] = 0; d[3] = 0; }
        if let Ok(m) = Message::parse(&d) {
            let mut out = vec![0u8; d.len()];
            prop_assert_eq!(m.emit(&mut out).unwrap(), d.len());
            prop_assert_eq!(out, d);
        }
    }

    #[test]
    fn device_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), ty in 1u8..5, len in prop::sample::select(vec![32usize, 64, 92, 148, 150])) {
        let now = Instant::now();
        let (mut a, mut b) = common::two_devices(now, 11, |_| {}, |_| {});
        a.initiate(now, PeerId(0)).unwrap();
        let init = a.poll_transmit(now).unwrap().payload;
        let src: SocketAddr = ADDR_A.parse().unwrap();
        let mut out = [0u8; 2048];
        b.handle_datagram(now, src, &init, &mut out).unwrap();
        let mut d = data;
        d.resize(len, 0);
        d[0] = ty; d[1] = 0; d[2] = 0; d[3] = 0;
        let before = b.peer_stats(PeerId(0));
        let r = b.handle_datagram(now, src, &d, &mut out).unwrap();
        prop_assert!(matches!(r, Output::Dropped(_)), "{:?}", r);
        prop_assert_eq!(b.peer_stats(PeerId(0)), before);
    }

    #[test]
    fn random_keys_handshake_and_data(ka in any::<[u8; 32]>(), kb in any::<[u8; 32]>(), psk in proptest::option::of(any::<[u8; 32]>()), seed in any::<u64>(), payload in proptest::collection::vec(any::<u8>(), 0..1300)) {
        prop_assume!(ka != kb);
        let now = Instant::now();
        let mut a = dev(ka, seed);
        let mut b = dev(kb, seed ^ 0x5555);
        let mut pa = PeerConfig::new(Key(kb).public_key());
        pa.endpoint_address = Some("10.0.0.2".into());
        pa.endpoint_port = Some(13231);
        pa.allowed_address = vec!["10.97.21.2/32".parse().unwrap()];
        pa.preshared_key = psk.map(Key);
        a.add_peer(now, &pa).unwrap();
        let mut pb = PeerConfig::new(Key(ka).public_key());
        pb.allowed_address = vec!["10.97.21.1/32".parse().unwrap()];
        pb.preshared_key = psk.map(Key);
        b.add_peer(now, &pb).unwrap();
        let (sa, sb): (SocketAddr, SocketAddr) = (ADDR_A.parse().unwrap(), ADDR_B.parse().unwrap());
        let pkt = ipv4(TUN_A, TUN_B, &payload);
        let mut out = [0u8; 2048];
        prop_assert_eq!(a.encapsulate(now, &pkt, &mut out).unwrap(), Output::Done);
        let init = a.poll_transmit(now).unwrap().payload;
        b.handle_datagram(now, sa, &init, &mut out).unwrap();
        let resp = b.poll_transmit(now).unwrap().payload;
        a.handle_datagram(now, sb, &resp, &mut out).unwrap();
        let data = a.poll_transmit(now).unwrap().payload;
        let r = b.handle_datagram(now, sa, &data, &mut out).unwrap();
        prop_assert_eq!(r, Output::Deliver { peer: PeerId(0), len: pkt.len() });
        prop_assert_eq!(&out[..pkt.len()], &pkt[..]);
        // And back.
        let back = ipv4(TUN_B, TUN_A, &payload);
        let mut w = [0u8; 2048];
        let Output::Transmit { len, .. } = b.encapsulate(now, &back, &mut w).unwrap() else { panic!() };
        let r = a.handle_datagram(now, sb, &w[..len], &mut out).unwrap();
        prop_assert_eq!(r, Output::Deliver { peer: PeerId(0), len: back.len() });
    }
}
