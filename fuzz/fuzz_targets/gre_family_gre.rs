//! GRE version 0 decoder (RFC 2784/2890): parse never panics; accepted headers re-emit
//! byte-exact.
#![no_main]
use gre_family::wire::gre::GreRepr;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((r, _hl)) = GreRepr::parse_header(data) {
        let mut out = data.to_vec();
        r.emit_header(&mut out)
            .expect("header fits: parse checked the length");
        if r.checksum {
            // emit_header leaves the checksum zero; `emit` would compute it
            out[4..6].copy_from_slice(&data[4..6]);
        }
        assert_eq!(out, data);
    }
    let _ = GreRepr::parse(data);
});
