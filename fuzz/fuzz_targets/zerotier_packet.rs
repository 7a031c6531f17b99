//! ZeroTier packet decoder: header, fragment, physical address, every verb payload and LZ4;
//! never panics, and whatever decodes re-encodes byte-exact.
#![no_main]

use zerotier::wire::verbs::Message;
use zerotier::wire::{Fragment, Header, InetAddr, Verb};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = Header::parse(data);
    if let Ok(f) = Fragment::parse(data) {
        let mut out = Vec::new();
        f.emit(&mut out);
        assert_eq!(out, data);
    }
    let _ = InetAddr::parse(data);
    if let Some((&v, rest)) = data.split_first() {
        if let Ok(m) = Message::parse(Verb::from_u8(v), rest) {
            let mut out = Vec::new();
            m.emit(&mut out);
            assert_eq!(out, rest);
        }
        let mut out = Vec::new();
        let _ = zerotier::wire::lz4_decompress(rest, &mut out);
    }
});
