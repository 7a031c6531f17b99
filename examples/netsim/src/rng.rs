//! [`TestRng`]: the one seeded generator the workspace's tests, tour and benches inject into
//! the protocol crates wherever they take a `rand_core` RNG.
//!
//! It is [`crate::SimRng`] (SplitMix64) behind `rand_core` 0.6's `RngCore` and the
//! `CryptoRng` marker. The marker is a lie on purpose: the protocol crates demand a CSPRNG
//! in their signatures, and tests want reproducible runs. Never use it outside tests.

use crate::SimRng;

/// A deterministic, seeded `RngCore + CryptoRng` for tests (SplitMix64; not secure).
#[derive(Clone, Debug)]
pub struct TestRng(SimRng);

impl TestRng {
    /// A generator from a seed: the same seed gives the same bytes.
    pub fn new(seed: u64) -> Self {
        TestRng(SimRng::new(seed))
    }

    /// Boxed, for constructors that take `Box<dyn CryptoRngCore + Send>`.
    pub fn boxed(seed: u64) -> Box<Self> {
        Box::new(Self::new(seed))
    }
}

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        (self.0.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for TestRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[test]
    fn same_seed_same_bytes() {
        let (mut a, mut b, mut c) = (TestRng::new(7), TestRng::new(7), TestRng::new(8));
        let (mut x, mut y, mut z) = ([0u8; 37], [0u8; 37], [0u8; 37]);
        a.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        c.fill_bytes(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_eq!(a.next_u64(), b.next_u64());
    }
}
