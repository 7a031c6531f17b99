//! IKEv2 message decoder: never panics; whatever parses re-encodes byte-exact.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ipsec_ike::wire::Message::parse(data) {
        assert_eq!(m.to_bytes(), data);
    }
});
