//! Pluggable ChaCha20-Poly1305 for transport data messages.
//!
//! Much as rustls takes a `CryptoProvider`, a [`Device`](crate::Device) can take an
//! [`AeadProvider`]: a factory of keyed [`AeadKey`]s that seal and open the payload of
//! transport data messages (message type 4) in place. Everything else stays in this crate: the
//! Noise handshake, cookies and their AEADs use the built-in code, and the transport framing
//! (receiver index, counter, the nonce `0^32 || counter (LE u64)`, padding, the replay window,
//! key rotation) is done here; the provider only runs the cipher. Reasons to plug one in: a
//! FIPS-validated module, hardware offload, or a library with faster code for the CPU at hand
//! (OpenSSL's AVX-512 ChaCha20-Poly1305 does a 1420-byte packet faster than ring's AVX2 code
//! on some CPUs).
//!
//! Without a provider the device uses ring's ChaCha20-Poly1305 directly (no dynamic dispatch);
//! [`RingProvider`] is that same code behind the trait, for wrapping (counting, tracing) or for
//! comparison.
//!
//! The provider is consulted once per keypair, when a handshake completes (twice: one key per
//! direction). [`Device::set_aead_provider`](crate::Device::set_aead_provider) therefore
//! applies to sessions established after the call: set it right after
//! [`Device::new`](crate::Device::new). A provider that declines a key (returns `None`) leaves that keypair on
//! the built-in code.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//! use wireguard::aead::{AeadFailure, AeadKey, AeadProvider, RingProvider};
//!
//! /// Counts every packet sealed with one of its keys, then lets ring do the work.
//! #[derive(Debug, Default)]
//! struct Counting(Arc<AtomicU64>);
//!
//! struct CountingKey(Box<dyn AeadKey>, Arc<AtomicU64>);
//!
//! impl AeadKey for CountingKey {
//!     fn seal_in_place(&mut self, nonce: &[u8; 12], data: &mut [u8], tag: &mut [u8; 16])
//!         -> Result<(), AeadFailure> {
//!         self.1.fetch_add(1, Ordering::Relaxed);
//!         self.0.seal_in_place(nonce, data, tag)
//!     }
//!     fn open_in_place(&mut self, nonce: &[u8; 12], data: &mut [u8], tag: &[u8; 16])
//!         -> Result<(), AeadFailure> {
//!         self.0.open_in_place(nonce, data, tag)
//!     }
//! }
//!
//! impl AeadProvider for Counting {
//!     fn new_key(&self, key: &[u8; 32]) -> Option<Box<dyn AeadKey>> {
//!         Some(Box::new(CountingKey(RingProvider.new_key(key)?, self.0.clone())))
//!     }
//! }
//!
//! # use std::time::{Duration, Instant};
//! # use rand_chacha::rand_core::SeedableRng;
//! let mut device = wireguard::Device::new(
//!     &wireguard::InterfaceConfig::default(),
//!     Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(1)),
//!     Instant::now(),
//!     Duration::from_secs(1_700_000_000),
//! )?;
//! let sealed = Arc::new(AtomicU64::new(0));
//! device.set_aead_provider(Some(Arc::new(Counting(sealed.clone()))));
//! // ... add peers, run the device: `sealed` counts the transport messages sent.
//! # Ok::<(), wireguard::Error>(())
//! ```

use crate::crypto::{TransportKey, TAG_LEN};

/// A ChaCha20-Poly1305 operation failed: a bad tag on open, or a backend error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AeadFailure;

/// A keyed ChaCha20-Poly1305 from an [`AeadProvider`]: one direction of one transport keypair.
///
/// Both calls work in place on the caller's buffer and run once per tunnel packet: they should
/// not allocate. The nonce is WireGuard's 12-byte transport nonce (4 zero bytes, then the
/// message counter as a little-endian u64); the additional data is empty; the tag is the
/// 16-byte Poly1305 tag that follows the ciphertext on the wire.
pub trait AeadKey: Send {
    /// Encrypt `data` in place and write the tag.
    fn seal_in_place(
        &mut self,
        nonce: &[u8; 12],
        data: &mut [u8],
        tag: &mut [u8; TAG_LEN],
    ) -> Result<(), AeadFailure>;
    /// Check `tag` and decrypt `data` in place. On failure the contents of `data` are
    /// unspecified (the device drops the packet).
    fn open_in_place(
        &mut self,
        nonce: &[u8; 12],
        data: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), AeadFailure>;
}

/// A source of [`AeadKey`]s for transport data messages. See the module docs.
pub trait AeadProvider: Send + Sync + core::fmt::Debug {
    /// A ChaCha20-Poly1305 key from the 32 bytes a handshake derived, or `None` to decline
    /// (the keypair then uses the built-in ring code).
    fn new_key(&self, key: &[u8; 32]) -> Option<Box<dyn AeadKey>>;
}

/// The built-in backend (ring's ChaCha20-Poly1305) as an [`AeadProvider`]: what a device uses
/// when it has no provider, here for wrapping or comparison.
#[derive(Clone, Copy, Debug, Default)]
pub struct RingProvider;

/// A key of [`RingProvider`].
#[derive(Debug)]
pub struct RingKey(TransportKey);

impl RingKey {
    /// A key from 32 bytes.
    pub fn new(key: &[u8; 32]) -> Self {
        RingKey(TransportKey::new(key))
    }
}

impl AeadKey for RingKey {
    fn seal_in_place(
        &mut self,
        nonce: &[u8; 12],
        data: &mut [u8],
        tag: &mut [u8; TAG_LEN],
    ) -> Result<(), AeadFailure> {
        *tag = self.0.seal_nonce(nonce, data).ok_or(AeadFailure)?;
        Ok(())
    }

    fn open_in_place(
        &mut self,
        nonce: &[u8; 12],
        data: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), AeadFailure> {
        self.0.open_nonce(nonce, data, tag).ok_or(AeadFailure)
    }
}

impl AeadProvider for RingProvider {
    fn new_key(&self, key: &[u8; 32]) -> Option<Box<dyn AeadKey>> {
        Some(Box::new(RingKey::new(key)))
    }
}

/// One direction of a keypair in the device: ring directly, or a provider's key.
// The ring key stays inline (no second indirection on the default path); keypairs are boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum DataKey {
    Ring(TransportKey),
    External(Box<dyn AeadKey>),
}

impl DataKey {
    pub(crate) fn new(key: &[u8; 32], provider: Option<&dyn AeadProvider>) -> Self {
        match provider.and_then(|p| p.new_key(key)) {
            Some(k) => DataKey::External(k),
            None => DataKey::Ring(TransportKey::new(key)),
        }
    }

    /// Encrypt `buf` in place and return the tag (all zero if the backend failed: the peer
    /// then drops the packet as unauthenticated).
    #[inline]
    pub(crate) fn seal(&mut self, counter: u64, buf: &mut [u8]) -> [u8; TAG_LEN] {
        match self {
            DataKey::Ring(k) => k.seal(counter, buf),
            DataKey::External(k) => {
                let mut tag = [0u8; TAG_LEN];
                if k.seal_in_place(&crate::crypto::transport_nonce(counter), buf, &mut tag)
                    .is_err()
                {
                    tag = [0u8; TAG_LEN];
                }
                tag
            }
        }
    }

    /// Decrypt `buf` (ciphertext ‖ tag) in place; the plaintext length, or `None`.
    #[inline]
    pub(crate) fn open(&mut self, counter: u64, buf: &mut [u8]) -> Option<usize> {
        match self {
            DataKey::Ring(k) => k.open(counter, buf),
            DataKey::External(k) => {
                let n = buf.len().checked_sub(TAG_LEN)?;
                let (data, tag) = buf.split_at_mut(n);
                let tag: &[u8; TAG_LEN] = (&*tag).try_into().ok()?;
                k.open_in_place(&crate::crypto::transport_nonce(counter), data, tag)
                    .ok()?;
                Some(n)
            }
        }
    }
}
