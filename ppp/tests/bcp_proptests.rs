//! BCP codec properties: the bridged-frame and option decoders never panic on arbitrary
//! input, and everything they decode re-encodes to the same octets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ppp::bcp::{BcpOption, BridgedFrame, MIN_ETHERNET_FRAME};
use ppp::wire::cp::options;
use proptest::prelude::*;

proptest! {
    #[test]
    fn bridged_frame_decoder_never_panics_and_round_trips(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(f) = BridgedFrame::parse(&data) {
            let mut out = Vec::new();
            f.emit(&mut out);
            prop_assert_eq!(out.len(), f.buffer_len());
            // Everything but the pad octets' values is preserved (pads are emitted as zeros).
            let n = data.len() - usize::from(f.pads);
            prop_assert_eq!(&out[..n], &data[..n]);
            let mut e = Vec::new();
            f.to_ethernet(&mut e);
            prop_assert!(e.len() >= f.frame.len());
            if f.zero_pad {
                prop_assert!(e.len() >= MIN_ETHERNET_FRAME);
            }
        }
    }

    #[test]
    fn bridged_frame_encode_parse_round_trip(
        frame in proptest::collection::vec(any::<u8>(), 0..200),
        fcs in proptest::option::of(any::<[u8; 4]>()),
        lan_id in proptest::option::of(any::<u32>()),
        zero_pad in any::<bool>(),
        bridge_control in any::<bool>(),
        mac in any::<u8>(),
        pads in 0u8..16,
    ) {
        let f = BridgedFrame { zero_pad, bridge_control, mac_type: mac, lan_id, frame: &frame, lan_fcs: fcs, pads };
        let mut out = Vec::new();
        f.emit(&mut out);
        prop_assert_eq!(BridgedFrame::parse(&out).unwrap(), f);
    }

    #[test]
    fn bcp_option_decoder_never_panics_and_round_trips(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        for raw in options(&data).flatten() {
            if let Ok(o) = BcpOption::parse(&raw) {
                let mut out = Vec::new();
                o.emit(&mut out);
                let mut want = Vec::new();
                raw.emit(&mut want);
                prop_assert_eq!(out, want);
            }
        }
    }
}
