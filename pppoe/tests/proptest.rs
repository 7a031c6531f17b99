#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Decoders never panic on arbitrary bytes; generated packets round-trip byte for byte.

use pppoe::wire::{Code, Discovery, Frame, Tag, VlanStack, VlanTag};
use proptest::prelude::*;

fn arb_tag() -> impl Strategy<Value = Tag> {
    (
        prop_oneof![
            Just(0x0101u16),
            Just(0x0102),
            Just(0x0103),
            Just(0x0104),
            Just(0x0105),
            Just(0x0110),
            Just(0x0120),
            Just(0x0201),
            Just(0x0202),
            Just(0x0203),
            1u16..0xffff
        ],
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(t, v)| Tag::new(t, v))
}

fn arb_vlans() -> impl Strategy<Value = VlanStack> {
    proptest::collection::vec(
        (prop_oneof![Just(0x8100u16), Just(0x88a8)], any::<u16>()),
        0..=2,
    )
    .prop_map(|v| {
        let tags: Vec<VlanTag> = v
            .into_iter()
            .map(|(tpid, tci)| VlanTag { tpid, tci })
            .collect();
        VlanStack::from_tags(&tags).unwrap()
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(f) = Frame::parse(&b) {
            prop_assert!(f.wire_len() <= b.len());
            if let Ok(d) = Discovery::from_frame(&f) {
                for t in &d.tags { let _ = t.typed(); }
                let out = d.emit(f.dst, f.src, &f.vlans).unwrap();
                prop_assert_eq!(&out[..], &b[..f.wire_len()]);
            }
        }
    }

    #[test]
    fn arbitrary_tag_lists_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(d) = Discovery::parse(Code::PADO, 0, &b) {
            let mut out = Vec::new();
            d.emit_payload(&mut out).unwrap();
            prop_assert_eq!(out, b);
        }
    }

    #[test]
    fn generated_packets_round_trip(
        code in prop_oneof![Just(Code::PADI), Just(Code::PADO), Just(Code::PADR), Just(Code::PADS), Just(Code::PADT)],
        sid in any::<u16>(),
        tags in proptest::collection::vec(arb_tag(), 0..8),
        vlans in arb_vlans(),
        dst in any::<[u8; 6]>(),
        src in any::<[u8; 6]>(),
    ) {
        let d = Discovery { code: code.0, session_id: sid, tags, trailer: Vec::new() };
        let f = d.emit(dst, src, &vlans).unwrap();
        let p = Frame::parse(&f).unwrap();
        prop_assert_eq!(p.vlans, vlans);
        prop_assert_eq!((p.dst, p.src, p.session_id, p.code), (dst, src, sid, code));
        prop_assert_eq!(Discovery::from_frame(&p).unwrap(), d);
    }
}

const AC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const HOST: [u8; 6] = [2, 0, 0, 0, 0, 1];

/// Frames that are mostly well-formed PPPoE headers addressed to the machine, with arbitrary
/// codes, ids and tag bytes.
fn arb_frame(dst: [u8; 6]) -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(0x8863u16), Just(0x8864)],
        prop_oneof![
            Just(0x09u8),
            Just(0x07),
            Just(0x19),
            Just(0x65),
            Just(0xa7),
            Just(0),
            any::<u8>()
        ],
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..80),
        any::<bool>(),
    )
        .prop_map(move |(et, code, sid, body, fix_len)| {
            let mut f = dst.to_vec();
            f.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
            f.extend_from_slice(&et.to_be_bytes());
            f.extend_from_slice(&[0x11, code]);
            f.extend_from_slice(&sid.to_be_bytes());
            let len = if fix_len { body.len() as u16 } else { sid };
            f.extend_from_slice(&len.to_be_bytes());
            f.extend_from_slice(&body);
            f
        })
}

proptest! {
    #[test]
    fn arbitrary_frames_never_panic_the_ac_or_the_client(
        frames in proptest::collection::vec(prop_oneof![arb_frame(AC), arb_frame([0xff; 6]), arb_frame(HOST)], 0..40),
        steps in proptest::collection::vec(0u64..3000, 0..40),
    ) {
        let now = std::time::Instant::now();
        let mut s = pppoe::Server::new(pppoe::ServerConfig::new(AC), now, netsim::TestRng::new(1)).unwrap();
        let mut cc = pppoe::ClientConfig::new(HOST);
        cc.host_uniq = false;
        let mut c = pppoe::Client::new(cc, now, netsim::TestRng::new(2)).unwrap();
        let mut at = now;
        for (i, f) in frames.iter().enumerate() {
            at += std::time::Duration::from_millis(steps.get(i).copied().unwrap_or(0));
            let mut a = f.clone();
            let _ = s.handle_frame(at, &mut a);
            let mut b = f.clone();
            let _ = c.handle_frame(at, &mut b);
            s.handle_timeout(at);
            c.handle_timeout(at);
            while let Some(t) = s.poll_transmit(at) {
                prop_assert!(Frame::parse(&t.frame).is_ok());
            }
            while let Some(t) = c.poll_transmit(at) {
                prop_assert!(Frame::parse(&t.frame).is_ok());
            }
            while s.poll_event().is_some() {}
            while c.poll_event().is_some() {}
        }
    }
}
