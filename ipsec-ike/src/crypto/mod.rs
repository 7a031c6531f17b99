//! The IKEv2 crypto suite: PRFs and prf+, integrity, encryption, Diffie-Hellman groups, and
//! the key schedule of RFC 7296 2.13-2.18.
//!
//! ```text
//!  SKEYSEED = prf(Ni | Nr, g^ir)                                            (2.14)
//!  {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//!           = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
//!  KEYMAT   = prf+(SK_d, [g^ir (new) |] Ni | Nr)   Child SA: encr_i, integ_i, encr_r, integ_r (2.17)
//!  SKEYSEED (IKE rekey) = prf(SK_d (old), g^ir (new) | Ni | Nr)             (2.18)
//! ```

pub mod dh;
pub mod encr;
mod modp_primes;
pub mod prf;

pub use dh::{Group, KeyPair};
pub use encr::{Cipher, Encr};
pub use prf::{Integ, Prf};

use zeroize::Zeroizing;

use crate::error::CryptoError;

/// The seven IKE SA keys.
#[derive(Clone)]
pub struct IkeKeys {
    /// SK_d: keying material for Child SAs and IKE rekeys.
    pub sk_d: Zeroizing<Vec<u8>>,
    /// SK_ai: integrity key, initiator to responder (empty with AEAD).
    pub sk_ai: Zeroizing<Vec<u8>>,
    /// SK_ar.
    pub sk_ar: Zeroizing<Vec<u8>>,
    /// SK_ei: encryption key (with salt for GCM), initiator to responder.
    pub sk_ei: Zeroizing<Vec<u8>>,
    /// SK_er.
    pub sk_er: Zeroizing<Vec<u8>>,
    /// SK_pi: used in the initiator's AUTH.
    pub sk_pi: Zeroizing<Vec<u8>>,
    /// SK_pr.
    pub sk_pr: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for IkeKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("IkeKeys(..)")
    }
}

/// The negotiated IKE SA algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IkeSuite {
    /// Encryption.
    pub encr: Encr,
    /// Integrity (`None` with AEAD).
    pub integ: Option<Integ>,
    /// PRF.
    pub prf: Prf,
    /// DH group.
    pub dh: Group,
}

/// `prf(Ni | Nr, g^ir)`. A PRF with a fixed key size (AES-XCBC) takes the first half of each
/// nonce, 64 bits each (RFC 7296 2.14).
pub fn skeyseed(prf: Prf, ni: &[u8], nr: &[u8], gir: &[u8]) -> Zeroizing<Vec<u8>> {
    let key: Vec<u8> = if prf == Prf::Aes128Xcbc {
        let mut k = ni[..ni.len().min(8)].to_vec();
        k.extend_from_slice(&nr[..nr.len().min(8)]);
        k
    } else {
        [ni, nr].concat()
    };
    Zeroizing::new(prf.compute(&key, &[gir]))
}

/// SKEYSEED of a rekeyed IKE SA: `prf(SK_d (old), g^ir (new) | Ni | Nr)` (RFC 7296 2.18).
pub fn skeyseed_rekey(
    old_prf: Prf,
    old_sk_d: &[u8],
    gir: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(old_prf.compute(old_sk_d, &[gir, ni, nr]))
}

/// The seven keys from SKEYSEED (RFC 7296 2.14).
pub fn ike_keys(
    suite: &IkeSuite,
    skeyseed: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: &[u8; 8],
    spi_r: &[u8; 8],
) -> Result<IkeKeys, CryptoError> {
    let pl = suite.prf.output_len();
    let il = suite.integ.map_or(0, Integ::key_len);
    let el = suite.encr.key_len();
    let total = pl + 2 * il + 2 * el + 2 * pl;
    let km = Zeroizing::new(
        suite
            .prf
            .prf_plus(skeyseed, &[ni, nr, spi_i, spi_r], total)?,
    );
    let mut o = 0;
    let mut take = |n: usize| {
        let v = Zeroizing::new(km[o..o + n].to_vec());
        o += n;
        v
    };
    Ok(IkeKeys {
        sk_d: take(pl),
        sk_ai: take(il),
        sk_ar: take(il),
        sk_ei: take(el),
        sk_er: take(el),
        sk_pi: take(pl),
        sk_pr: take(pl),
    })
}

/// Child SA key material (RFC 7296 2.17): returns (encr_i, integ_i, encr_r, integ_r), where
/// "i" keys protect traffic from the IKE initiator to the responder.
#[allow(clippy::type_complexity)]
pub fn child_keys(
    prf: Prf,
    sk_d: &[u8],
    gir: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
    encr: Encr,
    integ: Option<Integ>,
) -> Result<[Zeroizing<Vec<u8>>; 4], CryptoError> {
    let el = encr.key_len();
    let il = integ.map_or(0, Integ::key_len);
    let mut seed: Vec<&[u8]> = Vec::with_capacity(3);
    if let Some(g) = gir {
        seed.push(g);
    }
    seed.push(ni);
    seed.push(nr);
    let km = Zeroizing::new(prf.prf_plus(sk_d, &seed, 2 * (el + il))?);
    let s = |a: usize, n: usize| Zeroizing::new(km[a..a + n].to_vec());
    Ok([s(0, el), s(el, il), s(el + il, el), s(2 * el + il, il)])
}
