//! ZeroTier network config dictionary and typed config: never panic; an accepted dictionary
//! re-encodes byte-exact; a config that decodes survives config -> bytes -> config unchanged.
#![no_main]

use zerotier::vl2::{DictLimits, Dictionary, NetworkConfig};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Dictionary::parse(data) {
        assert_eq!(d.to_bytes(), data);
        assert_eq!(d.encoded_len(), data.len());
        if let Ok(c) = NetworkConfig::from_dictionary(&d) {
            let again = NetworkConfig::parse(&c.to_bytes()).expect("own output parses");
            assert_eq!(again, c);
        }
    }
    let small = DictLimits {
        max_len: 512,
        max_keys: 8,
    };
    if let Ok(d) = Dictionary::parse_with(data, &small) {
        assert!(d.len() <= 8 && data.len() <= 512);
    }
});
