#![no_main]
//! AVP list decode, typed decode/encode, unhide.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(mut avps) = l2tp::wire::avp::parse_avps(data) {
        let mut out = Vec::new();
        l2tp::wire::avp::emit_avps(&avps, &mut out).expect("emit");
        assert_eq!(out, data);
        for a in &avps {
            if let Ok(Some(v)) = a.typed() {
                let mut enc = Vec::new();
                v.encode(&mut enc);
                let again = l2tp::wire::AvpValue::decode(a.attr_type, &enc).expect("re-decode");
                assert_eq!(again, Some(v));
            }
        }
        let _ = l2tp::wire::avp::unhide_all(&mut avps, b"secret");
    }
});
