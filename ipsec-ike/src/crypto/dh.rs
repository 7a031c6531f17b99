//! Diffie-Hellman groups of the seed (RouterOS `dh-group` / `pfs-group`): MODP 768-8192
//! (RFC 2409, RFC 3526) on crypto-bigint's constant-time Montgomery exponentiation, ECP
//! 256/384/521 (RFC 5903) on RustCrypto's `p256`/`p384`/`p521`, and Curve25519 (RFC 8031) on
//! `x25519-dalek`.
//!
//! KE payload encodings: MODP public values are left-padded to the prime's length; ECP public
//! values are `x | y` without the SEC1 0x04 prefix and the shared secret is `x` only
//! (RFC 5903 section 7); Curve25519 uses the 32-byte u-coordinate (RFC 8031 section 2).
//! Peer values are validated: MODP `1 < y < p-1`, ECP on the curve, X25519 not all-zero shared.

use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::Uint;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::modp_primes as primes;
use crate::error::CryptoError;
use crate::wire::DhId;

/// A supported group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// MODP group of this many bits.
    Modp(usize),
    /// ECP P-256 (group 19).
    Ecp256,
    /// ECP P-384 (group 20).
    Ecp384,
    /// ECP P-521 (group 21).
    Ecp521,
    /// Curve25519 (group 31).
    Curve25519,
}

impl Group {
    /// From the transform ID.
    pub fn from_id(id: DhId) -> Result<Group, CryptoError> {
        Ok(match id {
            DhId::MODP768 => Group::Modp(768),
            DhId::MODP1024 => Group::Modp(1024),
            DhId::MODP1536 => Group::Modp(1536),
            DhId::MODP2048 => Group::Modp(2048),
            DhId::MODP3072 => Group::Modp(3072),
            DhId::MODP4096 => Group::Modp(4096),
            DhId::MODP6144 => Group::Modp(6144),
            DhId::MODP8192 => Group::Modp(8192),
            DhId::ECP256 => Group::Ecp256,
            DhId::ECP384 => Group::Ecp384,
            DhId::ECP521 => Group::Ecp521,
            DhId::CURVE25519 => Group::Curve25519,
            other => {
                return Err(CryptoError::Unsupported {
                    what: "DH group",
                    id: other.0,
                })
            }
        })
    }
    /// The transform ID.
    pub fn id(self) -> DhId {
        match self {
            Group::Modp(768) => DhId::MODP768,
            Group::Modp(1024) => DhId::MODP1024,
            Group::Modp(1536) => DhId::MODP1536,
            Group::Modp(2048) => DhId::MODP2048,
            Group::Modp(3072) => DhId::MODP3072,
            Group::Modp(4096) => DhId::MODP4096,
            Group::Modp(6144) => DhId::MODP6144,
            Group::Modp(_) => DhId::MODP8192,
            Group::Ecp256 => DhId::ECP256,
            Group::Ecp384 => DhId::ECP384,
            Group::Ecp521 => DhId::ECP521,
            Group::Curve25519 => DhId::CURVE25519,
        }
    }
    /// Length of the KE payload's public value.
    pub fn public_len(self) -> usize {
        match self {
            Group::Modp(bits) => bits / 8,
            Group::Ecp256 => 64,
            Group::Ecp384 => 96,
            Group::Ecp521 => 132,
            Group::Curve25519 => 32,
        }
    }
    /// RouterOS name (`modp2048`, `ecp256`, ...; `curve25519` is not in the seed's list).
    pub fn name(self) -> String {
        match self {
            Group::Modp(b) => format!("modp{b}"),
            Group::Ecp256 => "ecp256".into(),
            Group::Ecp384 => "ecp384".into(),
            Group::Ecp521 => "ecp521".into(),
            Group::Curve25519 => "curve25519".into(),
        }
    }
}

enum Secret {
    Modp(Zeroizing<Vec<u8>>),
    P256(p256::NonZeroScalar),
    P384(p384::NonZeroScalar),
    P521(p521::NonZeroScalar),
    X25519(x25519_dalek::StaticSecret),
}

/// One side's ephemeral key pair.
pub struct KeyPair {
    group: Group,
    secret: Secret,
    public: Vec<u8>,
}

impl core::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyPair({:?})", self.group)
    }
}

fn modp_exp_bits(bits: usize) -> usize {
    // About twice the group's security strength (NIST SP 800-57), never above the prime.
    match bits {
        0..=2048 => 256,
        3072 => 320,
        4096 => 384,
        6144 => 448,
        _ => 512,
    }
}

fn uint_to_be<const L: usize>(u: &Uint<L>) -> Vec<u8> {
    let mut v = Vec::with_capacity(L * 8);
    for w in u.as_words().iter().rev() {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v
}

fn uint_from_be<const L: usize>(b: &[u8]) -> Option<Uint<L>> {
    if b.len() != L * 8 {
        return None;
    }
    let mut words = [0u64; L];
    for (i, c) in b.rchunks(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        words[i] = u64::from_be_bytes(w);
    }
    Some(Uint::from_words(words))
}

fn modp_pow<const L: usize>(
    p_hex: &str,
    base: Option<&[u8]>,
    exp: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let p = Uint::<L>::from_be_hex(p_hex);
    let params = DynResidueParams::new(&p);
    let b = match base {
        None => Uint::<L>::from_u64(2),
        Some(bytes) => {
            let y = uint_from_be::<L>(bytes).ok_or(CryptoError::BadPublicValue(0))?;
            // 1 < y < p - 1 (RFC 7296 5.1 / NIST SP 800-56A partial validation).
            let pm1 = p.wrapping_sub(&Uint::ONE);
            if y <= Uint::ONE || y >= pm1 {
                return Err(CryptoError::BadPublicValue(0));
            }
            y
        }
    };
    if exp.is_empty() || exp.len() > (L * 8).min(64) {
        return Err(CryptoError::BadKeyLength(exp.len()));
    }
    let mut ebytes = vec![0u8; L * 8];
    let l = ebytes.len();
    ebytes[l - exp.len()..].copy_from_slice(exp);
    let x = uint_from_be::<L>(&ebytes).ok_or(CryptoError::BadKeyLength(l))?;
    let n = exp.len();
    let r = DynResidue::new(&b, params).pow_bounded_exp(&x, n * 8);
    Ok(uint_to_be(&r.retrieve()))
}

fn modp(bits: usize, base: Option<&[u8]>, exp: &[u8]) -> Result<Vec<u8>, CryptoError> {
    match bits {
        768 => modp_pow::<12>(primes::MODP768, base, exp),
        1024 => modp_pow::<16>(primes::MODP1024, base, exp),
        1536 => modp_pow::<24>(primes::MODP1536, base, exp),
        2048 => modp_pow::<32>(primes::MODP2048, base, exp),
        3072 => modp_pow::<48>(primes::MODP3072, base, exp),
        4096 => modp_pow::<64>(primes::MODP4096, base, exp),
        6144 => modp_pow::<96>(primes::MODP6144, base, exp),
        8192 => modp_pow::<128>(primes::MODP8192, base, exp),
        b => Err(CryptoError::Unsupported {
            what: "MODP size",
            id: b as u16,
        }),
    }
}

macro_rules! ecp_public {
    ($c:ident, $s:expr) => {{
        let pk = $c::PublicKey::from_secret_scalar(&$s);
        let ep = $c::EncodedPoint::from(pk);
        ep.as_bytes()[1..].to_vec()
    }};
}

macro_rules! ecp_shared {
    ($c:ident, $s:expr, $peer:expr, $gid:expr) => {{
        let mut sec1 = Vec::with_capacity($peer.len() + 1);
        sec1.push(4u8);
        sec1.extend_from_slice($peer);
        let pk =
            $c::PublicKey::from_sec1_bytes(&sec1).map_err(|_| CryptoError::BadPublicValue($gid))?;
        let shared = $c::ecdh::diffie_hellman($s, pk.as_affine());
        Zeroizing::new(shared.raw_secret_bytes().to_vec())
    }};
}

impl KeyPair {
    /// A fresh key pair from the caller's RNG.
    pub fn generate(group: Group, rng: &mut dyn CryptoRngCore) -> Result<KeyPair, CryptoError> {
        match group {
            Group::Modp(bits) => {
                let mut x = Zeroizing::new(vec![0u8; modp_exp_bits(bits) / 8]);
                rng.fill_bytes(&mut x);
                x[0] |= 0x80;
                KeyPair::from_modp_exponent(bits, &x)
            }
            Group::Ecp256 => Ok(KeyPair::from_secret(
                Secret::P256(p256::NonZeroScalar::random(&mut &mut *rng)),
                group,
            )),
            Group::Ecp384 => Ok(KeyPair::from_secret(
                Secret::P384(p384::NonZeroScalar::random(&mut &mut *rng)),
                group,
            )),
            Group::Ecp521 => Ok(KeyPair::from_secret(
                Secret::P521(p521::NonZeroScalar::random(&mut &mut *rng)),
                group,
            )),
            Group::Curve25519 => {
                let mut k = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(&mut *k);
                Ok(KeyPair::from_secret(
                    Secret::X25519(x25519_dalek::StaticSecret::from(*k)),
                    group,
                ))
            }
        }
    }

    /// A MODP key pair from a given exponent (big-endian, at most 64 bytes): known-answer tests.
    pub fn from_modp_exponent(bits: usize, x: &[u8]) -> Result<KeyPair, CryptoError> {
        let public = modp(bits, None, x)?;
        Ok(KeyPair {
            group: Group::Modp(bits),
            secret: Secret::Modp(Zeroizing::new(x.to_vec())),
            public,
        })
    }

    /// An ECP or Curve25519 key pair from a given private scalar (big-endian for ECP, the
    /// 32-byte string for X25519): known-answer tests.
    pub fn from_private(group: Group, d: &[u8]) -> Result<KeyPair, CryptoError> {
        let bad = || CryptoError::BadKeyLength(d.len());
        let secret = match group {
            Group::Modp(bits) => return KeyPair::from_modp_exponent(bits, d),
            Group::Ecp256 => Secret::P256(p256::NonZeroScalar::try_from(d).map_err(|_| bad())?),
            Group::Ecp384 => Secret::P384(p384::NonZeroScalar::try_from(d).map_err(|_| bad())?),
            Group::Ecp521 => Secret::P521(p521::NonZeroScalar::try_from(d).map_err(|_| bad())?),
            Group::Curve25519 => {
                let k: [u8; 32] = d.try_into().map_err(|_| bad())?;
                Secret::X25519(x25519_dalek::StaticSecret::from(k))
            }
        };
        Ok(KeyPair::from_secret(secret, group))
    }

    fn from_secret(secret: Secret, group: Group) -> KeyPair {
        let public = match &secret {
            Secret::Modp(_) => Vec::new(),
            Secret::P256(s) => ecp_public!(p256, *s),
            Secret::P384(s) => ecp_public!(p384, *s),
            Secret::P521(s) => ecp_public!(p521, *s),
            Secret::X25519(s) => x25519_dalek::PublicKey::from(s).as_bytes().to_vec(),
        };
        KeyPair {
            group,
            secret,
            public,
        }
    }

    /// The group.
    pub fn group(&self) -> Group {
        self.group
    }

    /// The public value as carried in the KE payload.
    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// The shared secret `g^ir` with the peer's KE data.
    pub fn shared(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let gid = self.group.id().0;
        if peer.len() != self.group.public_len() {
            return Err(CryptoError::BadPublicValue(gid));
        }
        Ok(match &self.secret {
            Secret::Modp(x) => {
                let Group::Modp(bits) = self.group else {
                    return Err(CryptoError::BadPublicValue(gid));
                };
                Zeroizing::new(
                    modp(bits, Some(peer), x).map_err(|_| CryptoError::BadPublicValue(gid))?,
                )
            }
            Secret::P256(s) => ecp_shared!(p256, *s, peer, gid),
            Secret::P384(s) => ecp_shared!(p384, *s, peer, gid),
            Secret::P521(s) => ecp_shared!(p521, *s, peer, gid),
            Secret::X25519(s) => {
                let mut k = [0u8; 32];
                k.copy_from_slice(peer);
                let sh = s.diffie_hellman(&x25519_dalek::PublicKey::from(k));
                if !sh.was_contributory() {
                    return Err(CryptoError::BadPublicValue(gid));
                }
                Zeroizing::new(sh.as_bytes().to_vec())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    #[test]
    fn rfc5114_ecp256_vector_as_in_spec() {
        let i = KeyPair::from_private(
            Group::Ecp256,
            &h("814264145f2f56f2e96a8e337a1284993faf432a5abce59e867b7291d507a3af"),
        )
        .unwrap();
        let r = KeyPair::from_private(
            Group::Ecp256,
            &h("2ce1788ec197e096db95a200cc0ab26a19ce6bccad562b8eee1b593761cf7f41"),
        )
        .unwrap();
        assert_eq!(i.public(), &h("2af502f3be8952f2c9b5a8d4160d09e97165be50bc42ae4a5e8d3b4ba83aeb15eb0faf4ca986c4d38681a0f9872d79d56795bd4bff6e6de3c0f5015ece5efd85")[..]);
        assert_eq!(r.public(), &h("b120de4aa36492795346e8de6c2c8646ae06aaea279fa775b3ab0715f6ce51b09f1b7eece20d7b5ed8ec685fa3f071d83727027092a8411385c34dde5708b2b6")[..]);
        let s = h("dd0f5396219d1ea393310412d19a08f1f5811e9dc8ec8eea7f80d21c820c2788");
        assert_eq!(&i.shared(r.public()).unwrap()[..], &s[..]);
        assert_eq!(&r.shared(i.public()).unwrap()[..], &s[..]);
        // Not on the curve.
        let mut bad = r.public().to_vec();
        bad[63] ^= 1;
        assert!(i.shared(&bad).is_err());
    }

    #[test]
    fn rfc5903_ecp384_vector() {
        // RFC 5903 section 8.2.
        let i = KeyPair::from_private(Group::Ecp384, &h("099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194")).unwrap();
        let r = KeyPair::from_private(Group::Ecp384, &h("41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC")).unwrap();
        assert_eq!(i.public()[..48], h("667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA")[..]);
        let z = h("11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746");
        assert_eq!(&i.shared(r.public()).unwrap()[..], &z[..]);
        assert_eq!(&r.shared(i.public()).unwrap()[..], &z[..]);
    }

    #[test]
    fn rfc7748_x25519_vector() {
        let a = KeyPair::from_private(
            Group::Curve25519,
            &h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
        )
        .unwrap();
        let b = KeyPair::from_private(
            Group::Curve25519,
            &h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
        )
        .unwrap();
        assert_eq!(
            a.public(),
            &h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")[..]
        );
        let k = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(&a.shared(b.public()).unwrap()[..], &k[..]);
        assert!(
            a.shared(&[0u8; 32]).is_err(),
            "low-order point gives all-zero secret"
        );
    }

    #[test]
    fn modp_groups_agree_and_validate() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        use rand_chacha::rand_core::SeedableRng;
        for bits in [768, 1024, 1536, 2048, 3072] {
            let a = KeyPair::generate(Group::Modp(bits), &mut rng).unwrap();
            let b = KeyPair::generate(Group::Modp(bits), &mut rng).unwrap();
            assert_eq!(a.public().len(), bits / 8);
            assert_eq!(a.shared(b.public()).unwrap(), b.shared(a.public()).unwrap());
            // y = 1 and y = p - 1 are refused.
            let mut one = vec![0u8; bits / 8];
            *one.last_mut().unwrap() = 1;
            assert!(a.shared(&one).is_err());
            let mut pm1 = vec![0xffu8; bits / 8];
            *pm1.last_mut().unwrap() = 0xfe;
            assert!(a.shared(&pm1).is_err());
        }
        // g^1 = 2.
        let k = KeyPair::from_modp_exponent(1024, &[1]).unwrap();
        assert_eq!(k.public()[127], 2);
        assert!(k.public()[..127].iter().all(|&b| b == 0));
    }
}
