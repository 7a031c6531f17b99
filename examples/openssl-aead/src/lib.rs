//! AEAD providers backed by OpenSSL's libcrypto (EVP) for two crates' data paths, for
//! embedders who want OpenSSL's primitives under them: [`ovpn::data::AeadProvider`] (the
//! OpenVPN data channel: AES-GCM and ChaCha20-Poly1305) and [`wireguard::aead::AeadProvider`]
//! (WireGuard transport data: ChaCha20-Poly1305), both on [`OpensslAead`].
//!
//! ```no_run
//! # use std::sync::Arc;
//! let mut cfg = ovpn::session::SessionConfig::new(ovpn::session::Role::Client);
//! let openssl = openssl_aead::OpensslAead::default();
//! cfg.aead_provider = Some(Arc::new(openssl.clone()));
//! // ... run the session; then see that OpenSSL did the data channel's work:
//! println!("OpenSSL AEAD calls: {}", openssl.calls());
//! ```
//!
//! WireGuard, the same way (the provider is asked for keys when handshakes complete):
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn f(device: &mut wireguard::Device) {
//! let openssl = openssl_aead::OpensslAead::default();
//! device.set_aead_provider(Some(Arc::new(openssl.clone())));
//! // ... run the device; every transport data packet sealed or opened counts:
//! println!("OpenSSL AEAD calls: {}", openssl.calls());
//! # }
//! ```
//!
//! # Why this exists
//!
//! On CPUs with AVX-512 (and IFMA), OpenSSL 3 runs ChaCha20 sixteen blocks at a time in ZMM
//! registers and Poly1305 in base 2^44 with IFMA: about twice the throughput of the AVX2 code
//! in `ring` and RustCrypto, the ovpn crate's built-in backends. OpenVPN itself uses OpenSSL,
//! so this adapter is the like-for-like comparison for the data channel: the ovpn crate still
//! does all OpenVPN framing (packet id, nonce, AAD, tag placement, replay window); OpenSSL only
//! seals and opens in place. `benches/openssl_provider.rs` and
//! `ovpn/benches/compare_openssl.sh` measure both backends against `openssl speed`.
//!
//! # What it costs
//!
//! * It links the system libcrypto (Debian `libssl-dev` at build time). It is a separate
//!   package so the protocol crate keeps no C dependency.
//! * **It is outside the sans-IO contract of the protocol crates**: on first use the `openssl`
//!   crate initialises OpenSSL with `OPENSSL_init_ssl`, which reads OpenSSL's configuration
//!   file (`openssl.cnf`) and the `OPENSSL_ia32cap` environment variable. Nothing else touches
//!   the OS: no clock, randomness or sockets are used per packet.
//! * Per packet: one `EVP_CipherInit_ex` with only the nonce (the key schedule is done once
//!   per key), AAD, update in place, final and tag, exactly as OpenVPN does it. No allocation.
//!
//! Ciphers offered: AES-128/192/256-GCM and ChaCha20-Poly1305 (WireGuard uses only the latter,
//! with empty additional data). For any other cipher, or if OpenSSL refuses a key,
//! `new_key` returns `None`: ovpn then refuses to set
//! up the key (or, with `SessionConfig::aead_fallback`, uses its built-in code and reports
//! `Event::AeadFallback`). [`OpensslAead::calls`] counts the seal and open operations done
//! in OpenSSL, so a test can prove the provider did the work.
//!
//! # The `openssl` feature
//!
//! Everything here is behind the cargo feature `openssl`, off by default: without it the crate
//! is empty and the workspace builds on a machine with no `pkg-config` or `libssl-dev`. The
//! examples turn it on with `--features examples/openssl` (`.ci/test` does so when libssl is
//! found).
// Without the feature the crate is empty, so the links above have nothing to point at.
#![cfg_attr(not(feature = "openssl"), allow(rustdoc::broken_intra_doc_links))]
#![cfg(feature = "openssl")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openssl::cipher::CipherRef;
use openssl::cipher_ctx::CipherCtx;
use ovpn::data::{AeadFailure, AeadKey, AeadProvider, Cipher, AEAD_TAG_LEN};

/// The linked OpenSSL's version string (e.g. "OpenSSL 3.0.19 27 Jan 2026").
pub fn openssl_version() -> &'static str {
    openssl::version::version()
}

/// The OpenSSL AEAD provider: keys made from it share one call counter (clones too).
#[derive(Clone, Debug, Default)]
pub struct OpensslAead {
    calls: Arc<AtomicU64>,
}

impl OpensslAead {
    /// A provider with its own counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Seal and open operations OpenSSL has done for keys of this provider (successful or
    /// not), i.e. data-channel packets that went through libcrypto.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

fn evp(cipher: Cipher) -> Option<&'static CipherRef> {
    use openssl::cipher::Cipher as C;
    match cipher {
        Cipher::Aes128Gcm => Some(C::aes_128_gcm()),
        Cipher::Aes192Gcm => Some(C::aes_192_gcm()),
        Cipher::Aes256Gcm => Some(C::aes_256_gcm()),
        Cipher::ChaCha20Poly1305 => Some(C::chacha20_poly1305()),
        _ => None,
    }
}

impl AeadProvider for OpensslAead {
    fn new_key(&self, cipher: Cipher, key: &[u8]) -> Option<Box<dyn AeadKey>> {
        let c = evp(cipher)?;
        if key.len() != c.key_length() {
            return None;
        }
        // Two contexts, keyed once: one only seals, the other only opens, so each packet
        // needs just the nonce set (EVP_CipherInit_ex with no cipher and no key).
        let mut seal = CipherCtx::new().ok()?;
        seal.encrypt_init(Some(c), Some(key), None).ok()?;
        let mut open = CipherCtx::new().ok()?;
        open.decrypt_init(Some(c), Some(key), None).ok()?;
        Some(Box::new(OpensslKey {
            seal,
            open,
            calls: self.calls.clone(),
        }))
    }
}

/// One keyed OpenSSL AEAD (both contexts hold the same key).
struct OpensslKey {
    seal: CipherCtx,
    open: CipherCtx,
    calls: Arc<AtomicU64>,
}

impl AeadKey for OpensslKey {
    fn seal_in_place(
        &mut self,
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8; AEAD_TAG_LEN],
    ) -> Result<(), AeadFailure> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let c = &mut self.seal;
        c.encrypt_init(None, None, Some(nonce))
            .map_err(|_| AeadFailure)?;
        c.cipher_update(aad, None).map_err(|_| AeadFailure)?;
        let n = data.len();
        if c.cipher_update_inplace(data, n).map_err(|_| AeadFailure)? != n {
            return Err(AeadFailure);
        }
        c.cipher_final(&mut []).map_err(|_| AeadFailure)?;
        c.tag(tag).map_err(|_| AeadFailure)
    }

    fn open_in_place(
        &mut self,
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), AeadFailure> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let c = &mut self.open;
        c.decrypt_init(None, None, Some(nonce))
            .map_err(|_| AeadFailure)?;
        c.cipher_update(aad, None).map_err(|_| AeadFailure)?;
        let n = data.len();
        if c.cipher_update_inplace(data, n).map_err(|_| AeadFailure)? != n {
            return Err(AeadFailure);
        }
        c.set_tag(tag).map_err(|_| AeadFailure)?;
        // EVP_DecryptFinal_ex checks the tag.
        c.cipher_final(&mut []).map_err(|_| AeadFailure)?;
        Ok(())
    }
}

/// WireGuard transport data (message type 4): ChaCha20-Poly1305 with empty additional data,
/// the same EVP code as the ovpn keys.
impl wireguard::aead::AeadProvider for OpensslAead {
    fn new_key(&self, key: &[u8; 32]) -> Option<Box<dyn wireguard::aead::AeadKey>> {
        let c = openssl::cipher::Cipher::chacha20_poly1305();
        let mut seal = CipherCtx::new().ok()?;
        seal.encrypt_init(Some(c), Some(key), None).ok()?;
        let mut open = CipherCtx::new().ok()?;
        open.decrypt_init(Some(c), Some(key), None).ok()?;
        Some(Box::new(OpensslKey {
            seal,
            open,
            calls: self.calls.clone(),
        }))
    }
}

impl wireguard::aead::AeadKey for OpensslKey {
    fn seal_in_place(
        &mut self,
        nonce: &[u8; 12],
        data: &mut [u8],
        tag: &mut [u8; 16],
    ) -> Result<(), wireguard::aead::AeadFailure> {
        AeadKey::seal_in_place(self, nonce, &[], data, tag)
            .map_err(|_| wireguard::aead::AeadFailure)
    }

    fn open_in_place(
        &mut self,
        nonce: &[u8; 12],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), wireguard::aead::AeadFailure> {
        AeadKey::open_in_place(self, nonce, &[], data, tag)
            .map_err(|_| wireguard::aead::AeadFailure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovpn::crypto::{Digest, StaticKey};
    use ovpn::data::DataKey;

    fn rng() -> netsim::TestRng {
        netsim::TestRng::new(0)
    }

    /// RFC 8439 §2.8.2: the AEAD_CHACHA20_POLY1305 test vector, through the provider trait.
    #[test]
    fn rfc8439_aead_vector() {
        let key: Vec<u8> = (0x80u8..=0x9f).collect();
        let nonce = [
            0x07, 0x00, 0x00, 0x00, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
        ];
        let aad = [
            0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
        ];
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let mut k = OpensslAead::default()
            .new_key(Cipher::ChaCha20Poly1305, &key)
            .expect("openssl has chacha20-poly1305");
        let mut buf = pt.to_vec();
        let mut tag = [0u8; 16];
        k.seal_in_place(&nonce, &aad, &mut buf, &mut tag).unwrap();
        assert_eq!(&buf[..8], &[0xd3, 0x1a, 0x8d, 0x34, 0x64, 0x8e, 0x60, 0xdb]);
        assert_eq!(
            tag,
            [
                0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a, 0x7e, 0x90, 0x2e, 0xcb, 0xd0, 0x60,
                0x06, 0x91
            ]
        );
        k.open_in_place(&nonce, &aad, &mut buf, &tag).unwrap();
        assert_eq!(&buf[..], &pt[..]);
        tag[0] ^= 1;
        assert_eq!(
            k.open_in_place(&nonce, &aad, &mut buf, &tag),
            Err(AeadFailure)
        );
    }

    /// Every AEAD cipher: OpenSSL on one side, ovpn's built-in code on the other, both ways,
    /// with tamper and replay rejection; non-AEAD ciphers are declined.
    #[test]
    fn interoperates_with_builtin_backend() {
        let m = StaticKey::from_bytes(&(0..=255u8).collect::<Vec<_>>()).unwrap();
        let openssl = OpensslAead::default();
        for cipher in [
            Cipher::Aes128Gcm,
            Cipher::Aes192Gcm,
            Cipher::Aes256Gcm,
            Cipher::ChaCha20Poly1305,
        ] {
            let before = openssl.calls();
            let mut ours =
                DataKey::with_provider(cipher, Digest::None, &m, false, 64, Some(&openssl))
                    .unwrap();
            let mut theirs = DataKey::new(cipher, Digest::None, &m, true, 64).unwrap();
            let hdr = [0x48, 0, 0, 9];
            for len in [0usize, 1, 15, 16, 17, 1400] {
                let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut pkt = vec![0u8; ours.sealed_len(4, len)];
                let mut out = vec![0u8; pkt.len()];
                let n = ours.encrypt(&hdr, &payload, &mut rng(), &mut pkt).unwrap();
                assert_eq!(theirs.decrypt(&pkt[..n], 4, &mut out).unwrap(), len);
                assert_eq!(&out[..len], &payload[..], "{cipher:?} {len}");
                let n = theirs
                    .encrypt(&hdr, &payload, &mut rng(), &mut pkt)
                    .unwrap();
                assert_eq!(ours.decrypt(&pkt[..n], 4, &mut out).unwrap(), len);
                assert_eq!(&out[..len], &payload[..]);
                assert!(ours.decrypt(&pkt[..n], 4, &mut out).is_err(), "replay");
                let n = theirs
                    .encrypt(&hdr, &payload, &mut rng(), &mut pkt)
                    .unwrap();
                pkt[n - 1 - len.min(1) * (len / 2)] ^= 0x20;
                assert!(ours.decrypt(&pkt[..n], 4, &mut out).is_err(), "tamper");
            }
            // Per size one seal, one open and one failed open went through OpenSSL (the
            // replay is refused before any cipher runs).
            assert_eq!(openssl.calls() - before, 18, "{cipher:?}");
        }
        for cipher in [Cipher::Aes128Cbc, Cipher::BfCbc, Cipher::None] {
            assert!(OpensslAead::default().new_key(cipher, &[0; 32]).is_none());
        }
        assert!(OpensslAead::default()
            .new_key(Cipher::ChaCha20Poly1305, &[0; 16])
            .is_none());
    }

    #[test]
    fn wireguard_keys_interoperate_with_ring_and_count() {
        use wireguard::aead::{AeadFailure as WgFailure, AeadProvider as _, RingProvider};
        let key = [0x42u8; 32];
        let openssl = OpensslAead::default();
        let mut ours = wireguard::aead::AeadProvider::new_key(&openssl, &key).unwrap();
        let mut ring = RingProvider.new_key(&key).unwrap();
        for (ctr, len) in [0usize, 1, 16, 1420].into_iter().enumerate() {
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&(ctr as u64).to_le_bytes());
            let pt: Vec<u8> = (0..len).map(|i| (i * 3) as u8).collect();
            let (mut a, mut b) = (pt.clone(), pt.clone());
            let (mut ta, mut tb) = ([0u8; 16], [0u8; 16]);
            ours.seal_in_place(&nonce, &mut a, &mut ta).unwrap();
            ring.seal_in_place(&nonce, &mut b, &mut tb).unwrap();
            assert_eq!((&a, ta), (&b, tb), "same ciphertext and tag, {len} bytes");
            ours.open_in_place(&nonce, &mut b, &tb).unwrap();
            assert_eq!(b, pt);
            tb[15] ^= 1;
            assert_eq!(ring.open_in_place(&nonce, &mut a, &tb), Err(WgFailure));
            assert_eq!(ours.open_in_place(&nonce, &mut a, &tb), Err(WgFailure));
        }
        // Per size: one seal, one open, one failed open in OpenSSL.
        assert_eq!(openssl.calls(), 12);
    }
}
