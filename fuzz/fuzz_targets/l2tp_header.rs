#![no_main]
//! L2TPv2 header parse, re-emit and compare.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((h, r)) = l2tp::wire::Header::parse(data) {
        let mut out = vec![0u8; h.header_len()];
        let hl = h.emit(r.len(), &mut out).unwrap_or(0);
        assert_eq!(hl, h.header_len());
        let (h2, _) = l2tp::wire::Header::parse(&[&out[..], &data[r]].concat()).expect("reparse");
        assert_eq!(h, h2);
    }
});
