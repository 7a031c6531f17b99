//! WireGuard message decoder: never panics; whatever parses re-encodes byte-exact.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = wireguard::wire::Message::parse(data) {
        let mut out = vec![0u8; m.buffer_len()];
        let n = m.emit(&mut out).unwrap_or(0);
        assert_eq!(&out[..n], data);
    }
});
