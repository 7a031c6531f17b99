//! Multilink codec and reassembler properties: the header parser never panics and round-trips
//! byte-exact; fragmenting then reassembling gives the packet back; arbitrary fragment
//! streams never panic and never exceed the limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ppp::mp::{Fragmenter, Limits, MpHeader, Reassembler, SeqFormat};
use proptest::prelude::*;
use std::time::{Duration, Instant};

fn format() -> impl Strategy<Value = SeqFormat> {
    prop_oneof![Just(SeqFormat::Long), Just(SeqFormat::Short)]
}

proptest! {
    #[test]
    fn header_parse_never_panics_and_round_trips(fmt in format(), data in proptest::collection::vec(any::<u8>(), 0..8)) {
        if let Ok((h, rest)) = MpHeader::parse(fmt, &data) {
            let mut out = [0u8; 4];
            let n = h.emit(fmt, &mut out).unwrap();
            prop_assert_eq!(&out[..n], &data[..n]);
            prop_assert_eq!(rest, &data[n..]);
        }
    }

    #[test]
    fn header_emit_parse_round_trip(fmt in format(), b: bool, e: bool, seq: u32) {
        let h = MpHeader { begin: b, end: e, seq: seq & fmt.mask() };
        let mut out = [0u8; 4];
        let n = h.emit(fmt, &mut out).unwrap();
        prop_assert_eq!(n, fmt.header_len());
        prop_assert_eq!(MpHeader::parse(fmt, &out[..n]).unwrap(), (h, &[][..]));
    }

    #[test]
    fn fragment_then_reassemble(fmt in format(), start: u32, max in 8usize..600,
                                packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..1600), 1..6)) {
        let now = Instant::now();
        let mut f = Fragmenter::new(fmt, start);
        let mut r = Reassembler::new(fmt, Limits { max_fragments: 1024, max_bytes: 1 << 20, ..Limits::new(1600) }, 1);
        for p in &packets {
            let mut frames = Vec::new();
            f.fragment(p, max, |h, d| {
                let mut b = vec![0u8; fmt.header_len()];
                h.emit(fmt, &mut b).unwrap();
                b.extend_from_slice(d);
                frames.push(b);
            });
            for x in &frames {
                prop_assert!(x.len() <= max);
                r.push(now, 0, x).unwrap();
            }
            prop_assert_eq!(r.poll().unwrap(), &p[..]);
            prop_assert!(r.poll().is_none());
        }
        prop_assert_eq!(r.buffered_fragments(), 0);
    }

    #[test]
    fn arbitrary_fragments_stay_bounded(fmt in format(), members in 1usize..4,
                                        frags in proptest::collection::vec((0usize..4, proptest::collection::vec(any::<u8>(), 0..300), 0u64..3000), 0..200)) {
        let t0 = Instant::now();
        let limits = Limits { max_fragments: 16, max_bytes: 2000, reorder_window: 3, ..Limits::new(600) };
        let mut r = Reassembler::new(fmt, limits, members);
        let mut t = t0;
        for (m, data, dt) in &frags {
            t += Duration::from_millis(*dt);
            let _ = r.push(t, *m, data);
            while let Some(p) = r.poll() {
                prop_assert!(p.len() <= 600);
            }
            prop_assert!(r.buffered_fragments() <= 16);
            prop_assert!(r.buffered_bytes() <= 2000);
        }
        r.expire(t + Duration::from_secs(10));
        prop_assert_eq!(r.buffered_fragments(), 0);
    }
}
