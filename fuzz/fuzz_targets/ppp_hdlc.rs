#![no_main]
//! RFC 1662 async-HDLC deframer on arbitrary line bytes (split at a fuzzer-chosen point); every
//! good frame re-encodes under a fuzzer-chosen ACCM and deframes to itself, through both
//! `next_frame` and the buffer-swapping `next_frame_into`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let accm = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    let split = usize::from(data[4]);
    let data = &data[5..];
    let mut d = ppp::wire::hdlc::Deframer::new(1600);
    let mid = split.min(data.len());
    d.push(&data[..mid]);
    d.push(&data[mid..]);
    let mut line = Vec::new();
    let mut back = Vec::new();
    while let Some(r) = d.next_frame() {
        if let Ok(frame) = r {
            line.clear();
            ppp::wire::hdlc::encode(&frame, accm, &mut line);
            let mut e = ppp::wire::hdlc::Deframer::new(1600);
            e.push(&line);
            e.push(&line);
            assert_eq!(e.next_frame().expect("one").expect("good"), frame);
            e.next_frame_into(&mut back).expect("two").expect("good");
            assert_eq!(back, frame);
            assert!(e.next_frame().is_none());
        }
    }
});
