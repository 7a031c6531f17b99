#![no_main]
//! PPP frame (address/control, protocol field with PFC) parse, re-emit and compare.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(f) = ppp::wire::Frame::parse(data) {
        let mut out = vec![0u8; f.buffer_len()];
        let n = f.emit(&mut out).expect("buffer_len is enough");
        assert_eq!(&out[..n], data);
    }
});
