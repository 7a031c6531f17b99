//! EoIP and EoIPv6 decoders: parse never panics; accepted headers re-emit byte-exact.
#![no_main]
use gre_family::wire::eoip::{EoipRepr, Eoipv6Repr};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((r, _)) = EoipRepr::parse(data) {
        let mut out = [0u8; 8];
        r.emit(&mut out).expect("8 bytes");
        assert_eq!(&out[..], &data[..8]);
    }
    if let Ok((r, _)) = Eoipv6Repr::parse(data) {
        let mut out = [0u8; 2];
        r.emit(&mut out).expect("2 bytes");
        assert_eq!(&out[..], &data[..2]);
    }
});
