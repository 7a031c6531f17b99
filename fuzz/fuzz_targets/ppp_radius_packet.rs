#![no_main]
//! RADIUS packet decoder: parse, re-emit (byte-exact up to the Length field), map as a reply,
//! and check the authenticator helpers on the bytes; nothing may panic.
use ppp::radius::{crypto, Packet, Reply};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let len = u16::from_be_bytes([data[2], data[3]]) as usize;
        let out = p.to_bytes().expect("a parsed packet re-emits");
        assert_eq!(&out[..], &data[..len]);
        let _ = p.vendor_attributes();
        let _ = p.eap_message();
        let _ = p.reply_message();
        let _ = Reply::from_packet(&p, b"secret", &[7; 16]);
        let _ = crypto::verify(&out, crypto::Signing::Response(&[7; 16]), b"secret", false);
        let _ = crypto::verify(&out, crypto::Signing::ComputedRequest, b"secret", true);
    }
    let _ = crypto::unhide_password(b"secret", &[1; 16], data);
    let _ = crypto::mppe_key_decrypt(b"secret", &[1; 16], data);
});
