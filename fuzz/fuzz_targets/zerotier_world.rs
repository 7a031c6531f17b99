//! ZeroTier world (planet/moon) decoder: never panics; whatever decodes re-encodes byte-exact;
//! a decoded world offered as an update of itself is never accepted (not newer), and its
//! signature check never panics.
#![no_main]

use zerotier::{World, WorldUpdate};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(w) = World::parse(data) {
        assert_eq!(w.to_bytes(), data);
        assert_eq!(w.check_update(&w), WorldUpdate::NotNewer);
        let _ = w.self_signed();
    }
    let _ = World::parse_prefix(data);
});
