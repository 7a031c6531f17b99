//! Support code shared by the fuzz targets in `fuzz_targets/`.
//!
//! Run a target with `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> -- -max_total_time=60`
//! (only the stable toolchain is installed here; `RUSTC_BOOTSTRAP` unlocks the sanitizer flags).

use std::time::{Duration, Instant};

/// A fixed base instant for fuzz targets that drive state machines, plus a way to turn fuzz
/// bytes into time steps. Fuzz targets may read the clock: they are not protocol crates.
pub fn base_instant() -> Instant {
    use std::sync::OnceLock;
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Interpret two bytes as a time step in milliseconds (0..=65535 ms).
pub fn step_from(bytes: [u8; 2]) -> Duration {
    Duration::from_millis(u16::from_le_bytes(bytes) as u64)
}

/// Deterministic generator for harnesses (SplitMix64) that need an injected RNG. It implements
/// `CryptoRng` only to satisfy APIs that demand it: never use it for real keys.
pub struct TestRng(pub u64);

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest.iter_mut() {
            *b = self.next_u64() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for TestRng {}
