#![no_main]
//! OpenVPN packet decoder, control-channel unwrapping (tls-auth, tls-crypt, tls-crypt-v2
//! WKc) and TCP de-framing on arbitrary bytes; re-encoding what parses must be byte-exact.
use libfuzzer_sys::fuzz_target;
use ovpn::crypto::{Digest, KeyDirection, StaticKey};
use ovpn::protect::{split_wkc, ControlWrap, TlsAuth, TlsCrypt, TlsCryptV2ServerKey};
use ovpn::wire::{tcp::Deframer, Packet};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let mut out = vec![0u8; p.buffer_len()];
        if p.emit(&mut out).is_ok() {
            assert_eq!(&out[..], data);
        }
    }
    let key = StaticKey::from_bytes(&[0x42; 256]).unwrap();
    let mut out = vec![0u8; data.len()];
    if let Ok(ta) = TlsAuth::new(&key, KeyDirection::Normal, Digest::Sha256) {
        let _ = ControlWrap::Auth(ta).unwrap(data, &mut out);
    }
    let _ = ControlWrap::Crypt(TlsCrypt::new(&key, true)).unwrap(data, &mut out);
    if let Ok((_, wkc)) = split_wkc(data) {
        if let Ok(sk) = TlsCryptV2ServerKey::from_bytes(&[7; 128]) {
            let _ = sk.unwrap(wkc);
        }
    }
    let mut d = Deframer::new(1600);
    d.push(data);
    while let Ok(Some(_)) = d.next_packet() {}
});
