#![no_main]
//! The SSTP packet decoder: stream delineation, control messages, attributes, crypto binding
//! verification. A parsed control message re-emits to bytes that parse to the same value.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((p, n))) = sstp::wire::split_packet(rest) {
        if let sstp::wire::Packet::Control(c) = p {
            if let Ok(m) = sstp::wire::ControlMessage::parse(c) {
                let b = m.to_vec().expect("a parsed message fits");
                assert_eq!(sstp::wire::ControlMessage::parse(&b).expect("re-parse"), m);
            }
        }
        rest = &rest[n..];
    }
    let _ = sstp::wire::Attribute::parse(data, 0);
    let _ = sstp::binding::verify(data, 3, &[0; 32], b"cert", &sstp::Hlak::zero(), true);
});
