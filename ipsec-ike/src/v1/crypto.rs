//! The RFC 2409 key schedule, authentication hashes, IVs and the CBC protection of ISAKMP
//! messages.
//!
//! `prf` is the negotiated PRF, which in practice is the HMAC of the negotiated hash
//! algorithm; `hash` is that hash algorithm itself (used only for the IVs).
//!
//! ```text
//!  SKEYID   = prf(pre-shared-key, Ni_b | Nr_b)           (pre-shared key)
//!           = prf(Ni_b | Nr_b, g^xy)                      (signatures)
//!  SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//!  SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//!  SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
//!  Ka       = SKEYID_e truncated, or K1 | K2 | ... with K1 = prf(SKEYID_e, 0),
//!             Kn = prf(SKEYID_e, Kn-1) when SKEYID_e is too short (appendix B)
//!  HASH_I   = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
//!  HASH_R   = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
//!  IV (phase 1)          = hash(g^xi | g^xr), first block; then the last ciphertext block
//!                          of the previous message
//!  IV (phase 2 / info)   = hash(last phase-1 CBC block | M-ID), first block; quick mode
//!                          then chains on its own last ciphertext block
//!  HASH(1)  = prf(SKEYID_a, M-ID | everything after HASH(1))
//!  HASH(2)  = prf(SKEYID_a, M-ID | Ni_b | everything after HASH(2))
//!  HASH(3)  = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
//!  KEYMAT   = K1 | K2 | ..., K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b),
//!             Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
//! ```

use sha1::Digest;
use zeroize::Zeroizing;

use crate::crypto::{Cipher, Encr, Prf};
use crate::error::CryptoError;

/// The phase-1 keys.
#[derive(Clone)]
pub struct Phase1Keys {
    /// SKEYID.
    pub skeyid: Zeroizing<Vec<u8>>,
    /// SKEYID_d: keying material for phase 2.
    pub skeyid_d: Zeroizing<Vec<u8>>,
    /// SKEYID_a: authentication of phase 2 and informational messages.
    pub skeyid_a: Zeroizing<Vec<u8>>,
    /// SKEYID_e: source of the encryption key.
    pub skeyid_e: Zeroizing<Vec<u8>>,
    /// Ka: the ISAKMP SA encryption key (expanded per appendix B when needed).
    pub enc_key: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for Phase1Keys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Phase1Keys(..)")
    }
}

/// SKEYID for pre-shared key authentication: `prf(psk, Ni_b | Nr_b)`.
pub fn skeyid_psk(prf: Prf, psk: &[u8], ni: &[u8], nr: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(prf.compute(psk, &[ni, nr]))
}

/// SKEYID for signature authentication: `prf(Ni_b | Nr_b, g^xy)`.
pub fn skeyid_sig(prf: Prf, ni: &[u8], nr: &[u8], gxy: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(prf.compute(&[ni, nr].concat(), &[gxy]))
}

/// Appendix B: `Ka` of `len` bytes from SKEYID_e.
pub fn expand_key(prf: Prf, skeyid_e: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    if skeyid_e.len() >= len {
        return Zeroizing::new(skeyid_e[..len].to_vec());
    }
    let mut out = Vec::with_capacity(len + prf.output_len());
    let mut k = prf.compute(skeyid_e, &[&[0u8]]);
    loop {
        out.extend_from_slice(&k);
        if out.len() >= len {
            break;
        }
        k = prf.compute(skeyid_e, &[&k]);
    }
    out.truncate(len);
    Zeroizing::new(out)
}

/// SKEYID_d, _a, _e and Ka from SKEYID, the DH shared secret and the cookies.
pub fn phase1_keys(
    prf: Prf,
    skeyid: Zeroizing<Vec<u8>>,
    gxy: &[u8],
    cky_i: &[u8; 8],
    cky_r: &[u8; 8],
    encr: Encr,
) -> Phase1Keys {
    let d = Zeroizing::new(prf.compute(&skeyid, &[gxy, cky_i, cky_r, &[0]]));
    let a = Zeroizing::new(prf.compute(&skeyid, &[&d, gxy, cky_i, cky_r, &[1]]));
    let e = Zeroizing::new(prf.compute(&skeyid, &[&a, gxy, cky_i, cky_r, &[2]]));
    let enc_key = expand_key(prf, &e, encr.key_len());
    Phase1Keys {
        skeyid,
        skeyid_d: d,
        skeyid_a: a,
        skeyid_e: e,
        enc_key,
    }
}

/// The hash algorithm behind an HMAC PRF (RFC 2409 uses it for the IVs).
pub fn hash(prf: Prf, parts: &[&[u8]]) -> Result<Vec<u8>, CryptoError> {
    fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
        let mut d = D::new();
        for p in parts {
            d.update(p);
        }
        d.finalize().to_vec()
    }
    Ok(match prf {
        Prf::HmacMd5 => run::<md5::Md5>(parts),
        Prf::HmacSha1 => run::<sha1::Sha1>(parts),
        Prf::HmacSha256 => run::<sha2::Sha256>(parts),
        Prf::HmacSha384 => run::<sha2::Sha384>(parts),
        Prf::HmacSha512 => run::<sha2::Sha512>(parts),
        Prf::Aes128Xcbc => {
            return Err(CryptoError::Unsupported {
                what: "IKEv1 hash",
                id: prf.id().0,
            })
        }
    })
}

fn first_block(h: Vec<u8>, block: usize) -> Result<Vec<u8>, CryptoError> {
    h.get(..block)
        .map(<[u8]>::to_vec)
        .ok_or(CryptoError::BadLength(h.len()))
}

/// The phase-1 IV: `hash(g^xi | g^xr)` truncated to the cipher block.
pub fn phase1_iv(prf: Prf, encr: Encr, gxi: &[u8], gxr: &[u8]) -> Result<Vec<u8>, CryptoError> {
    first_block(hash(prf, &[gxi, gxr])?, encr.block_len())
}

/// The first IV of a phase-2 or informational exchange: `hash(last phase-1 IV | M-ID)`.
pub fn phase2_iv(
    prf: Prf,
    encr: Encr,
    last_phase1_iv: &[u8],
    message_id: u32,
) -> Result<Vec<u8>, CryptoError> {
    first_block(
        hash(prf, &[last_phase1_iv, &message_id.to_be_bytes()])?,
        encr.block_len(),
    )
}

/// HASH_I (`initiator = true`) or HASH_R of main/aggressive mode with PSK or signatures.
#[allow(clippy::too_many_arguments)]
pub fn phase1_hash(
    prf: Prf,
    skeyid: &[u8],
    initiator: bool,
    gxi: &[u8],
    gxr: &[u8],
    cky_i: &[u8; 8],
    cky_r: &[u8; 8],
    sai_b: &[u8],
    id_b: &[u8],
) -> Vec<u8> {
    if initiator {
        prf.compute(skeyid, &[gxi, gxr, cky_i, cky_r, sai_b, id_b])
    } else {
        prf.compute(skeyid, &[gxr, gxi, cky_r, cky_i, sai_b, id_b])
    }
}

/// Quick mode HASH(1) (and the HASH of informational and transaction exchanges):
/// `prf(SKEYID_a, M-ID | rest)`, `rest` being the payloads after the HASH payload.
pub fn hash1(prf: Prf, skeyid_a: &[u8], message_id: u32, rest: &[u8]) -> Vec<u8> {
    prf.compute(skeyid_a, &[&message_id.to_be_bytes(), rest])
}

/// Quick mode HASH(2): `prf(SKEYID_a, M-ID | Ni_b | rest)`.
pub fn hash2(prf: Prf, skeyid_a: &[u8], message_id: u32, ni: &[u8], rest: &[u8]) -> Vec<u8> {
    prf.compute(skeyid_a, &[&message_id.to_be_bytes(), ni, rest])
}

/// Quick mode HASH(3): `prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)`.
pub fn hash3(prf: Prf, skeyid_a: &[u8], message_id: u32, ni: &[u8], nr: &[u8]) -> Vec<u8> {
    prf.compute(skeyid_a, &[&[0], &message_id.to_be_bytes(), ni, nr])
}

/// Quick mode KEYMAT of `len` bytes for one SA (the SPI is the one its receiver chose;
/// `gqm` is the quick-mode DH secret with PFS).
#[allow(clippy::too_many_arguments)]
pub fn keymat(
    prf: Prf,
    skeyid_d: &[u8],
    gqm: Option<&[u8]>,
    protocol: u8,
    spi: &[u8],
    ni: &[u8],
    nr: &[u8],
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let g = gqm.unwrap_or(&[]);
    let mut out = Vec::with_capacity(len + prf.output_len());
    let mut k: Vec<u8> = Vec::new();
    while out.len() < len {
        k = prf.compute(skeyid_d, &[&k, g, &[protocol], spi, ni, nr]);
        out.extend_from_slice(&k);
    }
    out.truncate(len);
    Zeroizing::new(out)
}

/// Decrypt the body of an encrypted message with `iv`; returns the plaintext (payloads and
/// padding) and the IV of the next message in this chain (the last ciphertext block).
pub fn decrypt(
    cipher: &Cipher,
    iv: &[u8],
    ct: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), CryptoError> {
    let bl = cipher.alg().block_len();
    if cipher.alg().is_aead() || bl < 8 || ct.is_empty() || !ct.len().is_multiple_of(bl) {
        return Err(CryptoError::BadLength(ct.len()));
    }
    let next = ct[ct.len() - bl..].to_vec();
    let mut pt = Zeroizing::new(ct.to_vec());
    cipher.decrypt(iv, &[], &mut pt, &[])?;
    Ok((pt, next))
}

/// Encrypt a padded plaintext (a multiple of the block size); returns the ciphertext and the
/// IV of the next message.
pub fn encrypt(cipher: &Cipher, iv: &[u8], pt: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let bl = cipher.alg().block_len();
    if cipher.alg().is_aead() || bl < 8 || pt.is_empty() || !pt.len().is_multiple_of(bl) {
        return Err(CryptoError::BadLength(pt.len()));
    }
    let mut ct = pt.to_vec();
    cipher.encrypt(iv, &[], &mut ct, &mut [])?;
    let next = ct[ct.len() - bl..].to_vec();
    Ok((ct, next))
}

/// Pad a payload chain for CBC with 1 to block-size zero bytes (a whole block when it is
/// already aligned). RFC 2408 3.1 leaves the padding open; this is what strongSwan sends, so
/// our messages match its byte for byte (the capture test checks it).
pub fn pad(mut pt: Vec<u8>, encr: Encr) -> Vec<u8> {
    let bl = encr.block_len().max(1);
    let n = bl - pt.len() % bl;
    pt.resize(pt.len() + n, 0);
    pt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_expansion_when_skeyid_e_is_short() {
        // HMAC-MD5 gives 16 bytes; 3DES needs 24: K1 = prf(e, 0), K2 = prf(e, K1).
        let e = [7u8; 16];
        let ka = expand_key(Prf::HmacMd5, &e, 24);
        let k1 = Prf::HmacMd5.compute(&e, &[&[0]]);
        let k2 = Prf::HmacMd5.compute(&e, &[&k1]);
        assert_eq!(&ka[..16], &k1[..]);
        assert_eq!(&ka[16..], &k2[..8]);
        // Long enough: truncation.
        assert_eq!(&expand_key(Prf::HmacSha256, &[9u8; 32], 16)[..], &[9u8; 16]);
    }

    #[test]
    fn keymat_expansion_with_and_without_pfs() {
        let (d, spi, ni, nr, g) = ([1u8; 32], [0, 0, 0, 9], [2u8; 16], [3u8; 16], [4u8; 32]);
        let p = Prf::HmacSha1;
        let k1 = p.compute(&d, &[&g, &[3], &spi, &ni, &nr]);
        let k2 = p.compute(&d, &[&k1, &g, &[3], &spi, &ni, &nr]);
        let km = keymat(p, &d, Some(&g), 3, &spi, &ni, &nr, 36);
        assert_eq!(&km[..20], &k1[..]);
        assert_eq!(&km[20..], &k2[..16]);
        let plain = keymat(p, &d, None, 3, &spi, &ni, &nr, 20);
        assert_eq!(&plain[..], &p.compute(&d, &[&[3], &spi, &ni, &nr])[..]);
    }

    #[test]
    fn cbc_chain_round_trips() {
        let c = Cipher::new(Encr::AesCbc(16), &[1; 16]).unwrap();
        assert_eq!(pad(vec![5; 16], Encr::AesCbc(16)).len(), 32);
        let pt = pad(vec![5; 20], Encr::AesCbc(16));
        assert_eq!(pt.len(), 32);
        let (ct, next) = encrypt(&c, &[2; 16], &pt).unwrap();
        assert_eq!(next, ct[16..].to_vec());
        let (back, n2) = decrypt(&c, &[2; 16], &ct).unwrap();
        assert_eq!(&back[..], &pt[..]);
        assert_eq!(n2, next);
        assert!(decrypt(&c, &[2; 16], &ct[..31]).is_err());
    }
}
