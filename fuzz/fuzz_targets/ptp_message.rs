#![no_main]
//! PTP message decoder: parse, iterate TLVs, re-encode; a parsed message must re-encode to the
//! same bytes (up to messageLength); 802.1AS Follow_Up information TLVs round-trip.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ptp::wire::Message::parse(data) {
        for t in m.tlvs().flatten() {
            // 802.1AS Follow_Up information: decode, and a decoded one re-encodes exactly.
            if let Some(f) = ptp::wire::FollowUpInfo::from_tlv(&t) {
                assert_eq!(&f.to_tlv_bytes()[4..], &t.value[..28]);
            }
        }
        let mut out = vec![0u8; m.buffer_len()];
        if m.emit(&mut out).is_ok() {
            assert_eq!(&out[..], &data[..out.len()]);
        }
    }
});
