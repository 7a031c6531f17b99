#![no_main]
//! RFC 1662 async-HDLC deframer on arbitrary line bytes; every good frame re-encodes and
//! deframes to itself.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut d = ppp::wire::hdlc::Deframer::new(1600);
    let mid = data.len() / 2;
    d.push(&data[..mid]);
    d.push(&data[mid..]);
    while let Some(r) = d.next_frame() {
        if let Ok(frame) = r {
            let mut line = Vec::new();
            ppp::wire::hdlc::encode(&frame, 0, &mut line);
            let mut e = ppp::wire::hdlc::Deframer::new(1600);
            e.push(&line);
            assert_eq!(e.next_frame().expect("one").expect("good"), frame);
        }
    }
});
