#![no_main]
//! The PPPoE decoders: Ethernet + VLAN stack + PPPoE header, the discovery tag list and the
//! typed tags. A parsed discovery frame re-emits byte for byte; a tag list re-emits exactly.
use pppoe::wire::{Code, Discovery, Frame};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(f) = Frame::parse(data) {
        assert!(f.wire_len() <= data.len());
        if let Ok(d) = Discovery::from_frame(&f) {
            for t in &d.tags {
                if let Ok(tt) = t.typed() {
                    assert_eq!(tt.to_tag(), *t);
                }
            }
            let out = d
                .emit(f.dst, f.src, &f.vlans)
                .expect("a parsed packet fits");
            assert_eq!(&out[..], &data[..f.wire_len()]);
        }
    }
    if let Ok(d) = Discovery::parse(Code::PADO, 0, data) {
        let mut out = Vec::new();
        d.emit_payload(&mut out).expect("fits");
        assert_eq!(out, data);
    }
});
