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
