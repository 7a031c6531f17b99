//! [`TestRng`]: the one seeded generator the workspace's tests, benches, tour and fuzz harnesses
//! hand to protocol crates that take an injected RNG (`rand_core` 0.6 traits).

use crate::SimRng;

/// A deterministic generator (SplitMix64, the same sequence as [`SimRng`]) behind the
/// `rand_core` traits. It implements `CryptoRng` only because the protocol crates' constructors
/// demand a cryptographic RNG: it is **not** one. Use it in tests and simulations, never for
/// real keys.
#[derive(Clone, Debug)]
pub struct TestRng(pub SimRng);

impl TestRng {
    /// A generator from a seed: the same seed gives the same sequence.
    pub fn new(seed: u64) -> Self {
        TestRng(SimRng::new(seed))
    }
}

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u64() as u32
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

// Test support only (see the type's docs).
impl rand_core::CryptoRng for TestRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[test]
    fn seeded_and_reproducible() {
        let (mut a, mut b) = (TestRng::new(7), TestRng::new(7));
        let mut x = [0u8; 13];
        let mut y = [0u8; 13];
        a.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        assert_eq!(x, y);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(TestRng::new(8).next_u64(), TestRng::new(7).next_u64());
        // Same sequence as SimRng.
        assert_eq!(TestRng::new(3).next_u64(), SimRng::new(3).next_u64());
    }
}
