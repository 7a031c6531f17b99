//! One injected generator shared by a machine and its PPP host.

use rand_core::{CryptoRng, RngCore};
use std::sync::{Arc, Mutex};

/// The RNG given to a constructor, shared between the PPPoE machine (Host-Uniq, session ids,
/// cookie secrets) and its PPP host (magic numbers, challenges). One generator, one seed.
#[derive(Clone)]
pub(crate) struct SharedRng(Arc<Mutex<dyn RngCore + Send>>);

impl SharedRng {
    pub(crate) fn new<R: RngCore + CryptoRng + Send + 'static>(rng: R) -> Self {
        SharedRng(Arc::new(Mutex::new(rng)))
    }
}

impl RngCore for SharedRng {
    fn next_u32(&mut self) -> u32 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_fill_bytes(dest)
    }
}

// Built only from a `CryptoRng` (see `SharedRng::new`).
impl CryptoRng for SharedRng {}
