#![no_main]
//! PUSH_REPLY / control-message parser; text output must parse to the same message.
use libfuzzer_sys::fuzz_target;
use ovpn::push::ControlMessage;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = ControlMessage::parse(&text) {
        let _ = ControlMessage::parse(&m.to_text());
    }
});
