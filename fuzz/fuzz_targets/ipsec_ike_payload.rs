//! IKEv2 payload chain decoder (the plaintext of an SK payload): the first byte names the
//! first payload type; never panics; what parses re-encodes byte-exact.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let first = ipsec_ike::wire::PayloadType(data[0]);
    if let Ok(chain) = ipsec_ike::wire::parse_chain(first, &data[1..], 0) {
        assert_eq!(ipsec_ike::wire::chain_to_bytes(&chain), &data[1..]);
    }
});
