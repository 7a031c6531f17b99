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

/// The workspace's seeded test generator (`TestRng(seed)`), from `netsim`.
pub use netsim::TestRng;
