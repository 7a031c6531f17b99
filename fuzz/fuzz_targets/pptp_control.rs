#![no_main]
//! PPTP control messages: `Message::parse` on arbitrary bytes never panics and a parsed message
//! re-encodes to bytes that parse to the same message; the stream deframer, fed the input in
//! pieces whose sizes the input chooses, yields the same messages as whole-buffer framing.
use pptp::wire::{Deframer, Message};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let enc = m.to_vec();
        assert_eq!(enc.len(), data.len());
        assert_eq!(Message::parse(&enc), Ok(m));
    }
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 32) + 1;
    let mut whole = Deframer::new();
    whole.push(rest);
    let mut a = Vec::new();
    loop {
        match whole.next_message() {
            Ok(Some(m)) => a.push(Ok(m)),
            Ok(None) => break,
            Err(e) => {
                a.push(Err(e));
                if e.is_fatal() {
                    break;
                }
            }
        }
    }
    let mut pieces = Deframer::new();
    let mut b = Vec::new();
    'outer: for chunk in rest.chunks(step) {
        pieces.push(chunk);
        loop {
            match pieces.next_message() {
                Ok(Some(m)) => b.push(Ok(m)),
                Ok(None) => break,
                Err(e) => {
                    b.push(Err(e));
                    if e.is_fatal() {
                        break 'outer;
                    }
                }
            }
        }
    }
    assert_eq!(a, b);
    assert!(whole.buffered() <= rest.len());
});
