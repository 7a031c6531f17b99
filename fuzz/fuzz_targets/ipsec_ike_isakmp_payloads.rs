//! IKEv1 / ISAKMP decoders: the first byte names the first payload of a chain (as the header
//! or a decrypted body would); also the whole input as a message. Never panics; what parses
//! re-encodes byte-exact.
#![no_main]

use ipsec_ike::v1::wire::{chain_to_bytes, parse_chain, Message, PayloadType};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        assert_eq!(m.to_bytes(), data);
    }
    if data.is_empty() {
        return;
    }
    if let Ok((chain, used)) = parse_chain(PayloadType(data[0]), &data[1..], 1) {
        assert_eq!(chain_to_bytes(&chain), &data[1..1 + used]);
        for p in &chain {
            if let ipsec_ike::v1::wire::Payload::Id(id) = p {
                let _ = id.identity();
            }
        }
    }
});
