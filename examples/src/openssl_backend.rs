//! The optional OpenSSL AEAD backend behind `--crypto openssl` (`wg`, `ovpn-client`,
//! `ovpn-server`).
//!
//! With the cargo feature `openssl` (`--features examples/openssl`; `.ci/test` turns it on when
//! libssl is found) this is [`openssl_aead`]'s provider. Without it the examples still build on
//! a machine with no `pkg-config` or `libssl-dev`: [`OpensslAead`] is then a type that nothing
//! outside this module can make (its field is private and no constructor exists), [`provider`]
//! returns [`MISSING`], and `--crypto openssl` stops the program with that message instead of
//! running on another backend.

/// Whether this build has the OpenSSL backend.
pub const AVAILABLE: bool = cfg!(feature = "openssl");

/// Why `--crypto openssl` is refused by a build without the `openssl` feature.
pub const MISSING: &str = "--crypto openssl: this build has no OpenSSL backend (rebuild with \
                           `--features examples/openssl`, which needs pkg-config and libssl-dev)";

#[cfg(feature = "openssl")]
pub use openssl_aead::OpensslAead;

/// The OpenSSL provider's place in a build without the `openssl` feature: never made.
#[cfg(not(feature = "openssl"))]
#[derive(Clone, Debug)]
pub struct OpensslAead(());

#[cfg(not(feature = "openssl"))]
impl OpensslAead {
    /// Seal and open operations done in OpenSSL: none in this build.
    pub fn calls(&self) -> u64 {
        0
    }
}

#[cfg(not(feature = "openssl"))]
impl ovpn::data::AeadProvider for OpensslAead {
    fn new_key(
        &self,
        _cipher: ovpn::data::Cipher,
        _key: &[u8],
    ) -> Option<Box<dyn ovpn::data::AeadKey>> {
        None
    }
}

#[cfg(not(feature = "openssl"))]
impl wireguard::aead::AeadProvider for OpensslAead {
    fn new_key(&self, _key: &[u8; 32]) -> Option<Box<dyn wireguard::aead::AeadKey>> {
        None
    }
}

/// A new provider and OpenSSL's version string, or [`MISSING`].
pub fn provider() -> Result<(OpensslAead, &'static str), String> {
    #[cfg(feature = "openssl")]
    {
        Ok((OpensslAead::new(), openssl_aead::openssl_version()))
    }
    #[cfg(not(feature = "openssl"))]
    {
        Err(MISSING.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the feature `--crypto openssl` is refused with [`MISSING`]; with it the provider
    /// is OpenSSL's and keys a ChaCha20-Poly1305 WireGuard key.
    #[test]
    fn provider_matches_the_build() {
        let made = provider();
        assert_eq!(made.is_ok(), AVAILABLE);
        match made {
            Ok((p, version)) => {
                assert!(version.contains("OpenSSL"), "{version}");
                use wireguard::aead::AeadProvider as _;
                assert!(p.new_key(&[7u8; 32]).is_some());
                assert_eq!(p.calls(), 0);
            }
            Err(e) => assert_eq!(e, MISSING),
        }
    }
}
