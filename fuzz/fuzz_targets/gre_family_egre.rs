//! Enhanced GRE (RFC 2637, PPTP) decoder: parse never panics; accepted headers re-emit
//! byte-exact.
#![no_main]
use gre_family::wire::egre::EnhancedGreRepr;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((r, range)) = EnhancedGreRepr::parse(data) {
        let mut out = vec![0u8; r.header_len()];
        r.emit(&mut out).expect("emit into header_len bytes");
        assert_eq!(&out[..], &data[..range.start]);
    }
});
