#![no_main]
//! PTP message decoder: parse, iterate TLVs, re-encode; a parsed message must re-encode to the
//! same bytes (up to messageLength).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ptp::wire::Message::parse(data) {
        for t in m.tlvs() {
            let _ = t;
        }
        let mut out = vec![0u8; m.buffer_len()];
        if m.emit(&mut out).is_ok() {
            assert_eq!(&out[..], &data[..out.len()]);
        }
    }
});
