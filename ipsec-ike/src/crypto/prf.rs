//! PRFs, prf+ (RFC 7296 2.13) and integrity algorithms (HMAC truncations of RFC 2404/4868,
//! AES-XCBC-MAC-96 of RFC 3566 and AES-XCBC-PRF-128 of RFC 4434).
//!
//! HMAC, SHA-1/2, MD5 and AES are RustCrypto's; the XCBC construction (three derived keys and
//! a CBC-MAC over the AES block cipher, RFC 3566 section 4) is written here on top of the
//! `aes` crate's block cipher and checked against the RFC 3566/4434 vectors.

use aes::cipher::{BlockEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use crate::error::CryptoError;
use crate::wire::{IntegId, PrfId};

macro_rules! hmac {
    ($d:ty, $key:expr, $parts:expr) => {{
        // HMAC accepts keys of any length, so this never fails.
        match <Hmac<$d> as KeyInit>::new_from_slice($key) {
            Ok(mut m) => {
                for p in $parts {
                    m.update(p);
                }
                m.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }};
}

/// AES-XCBC-MAC (RFC 3566) with a 16-byte key, full 16-byte output.
pub fn aes_xcbc_mac(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let k = aes::Aes128::new(key.into());
    let derive = |c: u8| {
        let mut b = aes::Block::from([c; 16]);
        k.encrypt_block(&mut b);
        b
    };
    let k1 = aes::Aes128::new(&derive(1));
    let k2 = derive(2);
    let k3 = derive(3);
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut e = [0u8; 16];
    let mut block = [0u8; 16];
    let mut fill = 0usize;
    let mut seen = 0usize;
    for p in parts {
        for &byte in *p {
            if fill == 16 {
                // Not the last block (more bytes follow): chain it.
                let mut b = aes::Block::default();
                for i in 0..16 {
                    b[i] = block[i] ^ e[i];
                }
                k1.encrypt_block(&mut b);
                e.copy_from_slice(&b);
                fill = 0;
            }
            block[fill] = byte;
            fill += 1;
            seen += 1;
        }
    }
    debug_assert_eq!(seen, total);
    let mut b = aes::Block::default();
    if total > 0 && fill == 16 {
        for i in 0..16 {
            b[i] = block[i] ^ e[i] ^ k2[i];
        }
    } else {
        block[fill] = 0x80;
        for x in block.iter_mut().skip(fill + 1) {
            *x = 0;
        }
        for i in 0..16 {
            b[i] = block[i] ^ e[i] ^ k3[i];
        }
    }
    k1.encrypt_block(&mut b);
    b.into()
}

/// AES-XCBC-PRF-128 (RFC 4434): keys shorter than 16 bytes are zero-padded, longer ones are
/// first reduced with an XCBC-MAC under the all-zero key.
pub fn aes_xcbc_prf(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut k = [0u8; 16];
    if key.len() <= 16 {
        k[..key.len()].copy_from_slice(key);
    } else {
        k = aes_xcbc_mac(&[0u8; 16], &[key]);
    }
    aes_xcbc_mac(&k, parts)
}

/// A negotiated PRF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prf {
    /// HMAC-MD5.
    HmacMd5,
    /// HMAC-SHA1.
    HmacSha1,
    /// HMAC-SHA2-256.
    HmacSha256,
    /// HMAC-SHA2-384.
    HmacSha384,
    /// HMAC-SHA2-512.
    HmacSha512,
    /// AES128-XCBC (RFC 4434).
    Aes128Xcbc,
}

impl Prf {
    /// From the transform ID.
    pub fn from_id(id: PrfId) -> Result<Prf, CryptoError> {
        Ok(match id {
            PrfId::HMAC_MD5 => Prf::HmacMd5,
            PrfId::HMAC_SHA1 => Prf::HmacSha1,
            PrfId::HMAC_SHA2_256 => Prf::HmacSha256,
            PrfId::HMAC_SHA2_384 => Prf::HmacSha384,
            PrfId::HMAC_SHA2_512 => Prf::HmacSha512,
            PrfId::AES128_XCBC => Prf::Aes128Xcbc,
            other => {
                return Err(CryptoError::Unsupported {
                    what: "PRF",
                    id: other.0,
                })
            }
        })
    }
    /// The transform ID.
    pub fn id(self) -> PrfId {
        match self {
            Prf::HmacMd5 => PrfId::HMAC_MD5,
            Prf::HmacSha1 => PrfId::HMAC_SHA1,
            Prf::HmacSha256 => PrfId::HMAC_SHA2_256,
            Prf::HmacSha384 => PrfId::HMAC_SHA2_384,
            Prf::HmacSha512 => PrfId::HMAC_SHA2_512,
            Prf::Aes128Xcbc => PrfId::AES128_XCBC,
        }
    }
    /// Output length (and the preferred key length of SK_d, SK_pi, SK_pr: RFC 7296 2.13).
    pub fn output_len(self) -> usize {
        match self {
            Prf::HmacMd5 | Prf::Aes128Xcbc => 16,
            Prf::HmacSha1 => 20,
            Prf::HmacSha256 => 32,
            Prf::HmacSha384 => 48,
            Prf::HmacSha512 => 64,
        }
    }
    /// `prf(key, parts[0] | parts[1] | ...)`.
    pub fn compute(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Prf::HmacMd5 => hmac!(md5::Md5, key, parts),
            Prf::HmacSha1 => hmac!(sha1::Sha1, key, parts),
            Prf::HmacSha256 => hmac!(sha2::Sha256, key, parts),
            Prf::HmacSha384 => hmac!(sha2::Sha384, key, parts),
            Prf::HmacSha512 => hmac!(sha2::Sha512, key, parts),
            Prf::Aes128Xcbc => aes_xcbc_prf(key, parts).to_vec(),
        }
    }
    /// `prf+(key, seed)` truncated to `len` bytes (RFC 7296 2.13):
    /// `T1 = prf(K, S | 0x01)`, `Tn = prf(K, Tn-1 | S | n)`. At most 255 blocks.
    pub fn prf_plus(self, key: &[u8], seed: &[&[u8]], len: usize) -> Result<Vec<u8>, CryptoError> {
        let hl = self.output_len();
        if len > 255 * hl {
            return Err(CryptoError::BadKeyLength(len));
        }
        let mut out = Vec::with_capacity(len + hl);
        let mut t: Vec<u8> = Vec::new();
        let mut n = 1u8;
        while out.len() < len {
            let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 2);
            parts.push(&t);
            parts.extend_from_slice(seed);
            let nb = [n];
            parts.push(&nb);
            t = self.compute(key, &parts);
            out.extend_from_slice(&t);
            n = n.wrapping_add(1);
        }
        out.truncate(len);
        Ok(out)
    }
}

/// A negotiated integrity algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Integ {
    /// HMAC-MD5-96 (RFC 2403).
    HmacMd5_96,
    /// HMAC-SHA1-96 (RFC 2404).
    HmacSha1_96,
    /// HMAC-SHA2-256-128 (RFC 4868).
    HmacSha256_128,
    /// HMAC-SHA2-384-192.
    HmacSha384_192,
    /// HMAC-SHA2-512-256.
    HmacSha512_256,
    /// AES-XCBC-MAC-96 (RFC 3566).
    AesXcbc96,
}

impl Integ {
    /// From the transform ID; `Ok(None)` for NONE (AEAD).
    pub fn from_id(id: IntegId) -> Result<Option<Integ>, CryptoError> {
        Ok(Some(match id {
            IntegId::NONE => return Ok(None),
            IntegId::HMAC_MD5_96 => Integ::HmacMd5_96,
            IntegId::HMAC_SHA1_96 => Integ::HmacSha1_96,
            IntegId::HMAC_SHA2_256_128 => Integ::HmacSha256_128,
            IntegId::HMAC_SHA2_384_192 => Integ::HmacSha384_192,
            IntegId::HMAC_SHA2_512_256 => Integ::HmacSha512_256,
            IntegId::AES_XCBC_96 => Integ::AesXcbc96,
            other => {
                return Err(CryptoError::Unsupported {
                    what: "integrity",
                    id: other.0,
                })
            }
        }))
    }
    /// The transform ID.
    pub fn id(self) -> IntegId {
        match self {
            Integ::HmacMd5_96 => IntegId::HMAC_MD5_96,
            Integ::HmacSha1_96 => IntegId::HMAC_SHA1_96,
            Integ::HmacSha256_128 => IntegId::HMAC_SHA2_256_128,
            Integ::HmacSha384_192 => IntegId::HMAC_SHA2_384_192,
            Integ::HmacSha512_256 => IntegId::HMAC_SHA2_512_256,
            Integ::AesXcbc96 => IntegId::AES_XCBC_96,
        }
    }
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Integ::HmacMd5_96 | Integ::AesXcbc96 => 16,
            Integ::HmacSha1_96 => 20,
            Integ::HmacSha256_128 => 32,
            Integ::HmacSha384_192 => 48,
            Integ::HmacSha512_256 => 64,
        }
    }
    /// ICV length in bytes.
    pub fn icv_len(self) -> usize {
        match self {
            Integ::HmacMd5_96 | Integ::HmacSha1_96 | Integ::AesXcbc96 => 12,
            Integ::HmacSha256_128 => 16,
            Integ::HmacSha384_192 => 24,
            Integ::HmacSha512_256 => 32,
        }
    }
    /// Full MAC over the parts, truncated into `out` (`out.len() == icv_len()`).
    pub fn compute_into(self, key: &[u8], parts: &[&[u8]], out: &mut [u8]) {
        let full = match self {
            Integ::HmacMd5_96 => hmac!(md5::Md5, key, parts),
            Integ::HmacSha1_96 => hmac!(sha1::Sha1, key, parts),
            Integ::HmacSha256_128 => hmac!(sha2::Sha256, key, parts),
            Integ::HmacSha384_192 => hmac!(sha2::Sha384, key, parts),
            Integ::HmacSha512_256 => hmac!(sha2::Sha512, key, parts),
            Integ::AesXcbc96 => {
                let mut k = [0u8; 16];
                if key.len() == 16 {
                    k.copy_from_slice(key);
                }
                aes_xcbc_mac(&k, parts).to_vec()
            }
        };
        let n = out.len().min(full.len());
        out[..n].copy_from_slice(&full[..n]);
    }
    /// Constant-time check of `icv` against the MAC over the parts.
    pub fn verify(self, key: &[u8], parts: &[&[u8]], icv: &[u8]) -> bool {
        let mut want = [0u8; 32];
        let n = self.icv_len();
        if icv.len() != n {
            return false;
        }
        self.compute_into(key, parts, &mut want[..n]);
        bool::from(want[..n].ct_eq(icv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    #[test]
    fn rfc4231_hmac_sha2_case1_and_truncations() {
        let key = [0x0b; 20];
        assert_eq!(
            Prf::HmacSha256.compute(&key, &[b"Hi There"]),
            h("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
        assert_eq!(
            Prf::HmacSha512.compute(&key, &[b"Hi ", b"There"]),
            h("87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854")
        );
        assert_eq!(
            Prf::HmacSha384.compute(&key, &[b"Hi There"]),
            h("afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6")
        );
        // RFC 2404 / 2202: HMAC-SHA1-96.
        let mut icv = [0u8; 12];
        Integ::HmacSha1_96.compute_into(&[0x0b; 20], &[b"Hi There"], &mut icv);
        assert_eq!(icv.to_vec(), h("b617318655057264e28bc0b6"));
        // RFC 4868 2.7.2.1: HMAC-SHA-256-128 with a 32-byte key.
        let mut icv = [0u8; 16];
        Integ::HmacSha256_128.compute_into(&[0x0b; 32], &[b"Hi There"], &mut icv);
        assert_eq!(icv.to_vec(), h("198a607eb44bfbc69903a0f1cf2bbdc5"));
        assert!(Integ::HmacSha256_128.verify(&[0x0b; 32], &[b"Hi There"], &icv));
        icv[0] ^= 1;
        assert!(!Integ::HmacSha256_128.verify(&[0x0b; 32], &[b"Hi There"], &icv));
        // RFC 2202 HMAC-MD5 case 1 (16-byte key).
        let mut icv = [0u8; 12];
        Integ::HmacMd5_96.compute_into(&[0x0b; 16], &[b"Hi There"], &mut icv);
        assert_eq!(icv.to_vec(), h("9294727a3638bb1c13f48ef8"));
    }

    #[test]
    fn rfc3566_xcbc_vectors() {
        let key: [u8; 16] = h("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let msg: Vec<u8> = (0u8..=0x21).collect();
        // Test cases 1-6 of RFC 3566 section 4.6.
        assert_eq!(
            aes_xcbc_mac(&key, &[]).to_vec(),
            h("75f0251d528ac01c4573dfd584d79f29")
        );
        assert_eq!(
            aes_xcbc_mac(&key, &[&msg[..3]]).to_vec(),
            h("5b376580ae2f19afe7219ceef172756f")
        );
        assert_eq!(
            aes_xcbc_mac(&key, &[&msg[..16]]).to_vec(),
            h("d2a246fa349b68a79998a4394ff7a263")
        );
        assert_eq!(
            aes_xcbc_mac(&key, &[&msg[..20]]).to_vec(),
            h("47f51b4564966215b8985c63055ed308")
        );
        assert_eq!(
            aes_xcbc_mac(&key, &[&msg[..8], &msg[8..32]]).to_vec(),
            h("f54f0ec8d2b9f3d36807734bd5283fd4")
        );
        assert_eq!(
            aes_xcbc_mac(&key, &[&msg[..34]]).to_vec(),
            h("becbb3bccdb518a30677d5481fb6b4d8")
        );
        let big = vec![0u8; 1000];
        assert_eq!(
            aes_xcbc_mac(&key, &[&big]).to_vec(),
            h("f0dafee895db30253761103b5d84528f")
        );
        // RFC 4434 section 6: key lengths 10 and 18.
        let m: Vec<u8> = (0u8..20).collect();
        assert_eq!(
            aes_xcbc_prf(&h("00010203040506070809"), &[&m]).to_vec(),
            h("0fa087af7d866e7653434e602fdde835")
        );
        assert_eq!(
            aes_xcbc_prf(&h("000102030405060708090a0b0c0d0e0fedcb"), &[&m]).to_vec(),
            h("8cd3c93ae598a9803006ffb67c40e9e4")
        );
        assert_eq!(
            aes_xcbc_prf(&key, &[&m]).to_vec(),
            h("47f51b4564966215b8985c63055ed308")
        );
    }

    #[test]
    fn prf_plus_sp800_135_vector() {
        // Spec section 5: NIST CAVP IKEv2 vectors (strongSwan kdf_prf.c / kdf_prf_plus.c).
        let gir = h("42968e5d0ccc3cfc5a3e4bc1bba370cea1fae0d54c49ccba34b2bee804beeb2e9e8c57a4e01bd45102cf2433aacc6cfec06792f363e5170e6aa6650274e906648e449d27a8f00b5b44261982c9835c748a751ec5138eaacc5e025661339538a61bf418e454699e19c32db8d9ce5dd86b220f1e89afc5872e68be36cb1a0c8866");
        let ninr = h("ed80dc79912c32a935fb6d1a3feac078");
        let skeyseed = Prf::HmacSha256.compute(&ninr, &[&gir]);
        assert_eq!(
            skeyseed,
            h("37fde90b81d63692620f67367b62092e3efdc6a03509137d731004767ff35010")
        );
        let seed = h("ed80dc79912c32a935fb6d1a3feac07847c1858efc932ea4606fd05609624002");
        let out = Prf::HmacSha256
            .prf_plus(&skeyseed, &[&seed[..16], &seed[16..]], 132)
            .unwrap();
        assert_eq!(out, h("63d018a08f7a29daa7d1f92cb63f45fa39bbaf5e5f1a78139613bb891e3e6bf9d0448f7c74e05b4c1a25c0b61e62c875e852f287e192d4ae536112db5197216400bd5e123470efc15f53161865fe8b19a1416518a157d651ecd2caddab6a9eae6a27a55af088218d5156edaa9789f934d9836ed43edffda553822202ff9f7d4860ca72e0"));
        assert!(Prf::HmacSha256
            .prf_plus(&skeyseed, &[&seed], 255 * 32 + 1)
            .is_err());
    }
}
