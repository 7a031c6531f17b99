//! The cryptographic building blocks WireGuard names (whitepaper section 5.4), each a thin wrapper
//! over a RustCrypto / `ring` / `x25519-dalek` primitive. Nothing here is hand-written crypto.
//!
//! | name | definition | used for |
//! | --- | --- | --- |
//! | `HASH(x)` | BLAKE2s-256 | handshake transcript hash `H`, mac1/cookie keys |
//! | `MAC(k, x)` | keyed BLAKE2s with 16-byte output | mac1, mac2, cookies |
//! | `HMAC(k, x)` | HMAC over BLAKE2s-256 | inside KDF |
//! | `KDFn(k, x)` | HKDF with HMAC-BLAKE2s, n = 1..3 outputs of 32 bytes | chaining key `C` |
//! | `AEAD(k, ctr, p, a)` | ChaCha20-Poly1305, nonce = 4 zero bytes ‖ ctr (LE u64) | handshake fields, transport |
//! | `XAEAD(k, n, p, a)` | XChaCha20-Poly1305, 24-byte random nonce | cookie reply |
//! | `DH(priv, pub)` | X25519, all-zero result rejected | handshake |

use blake2::digest::{FixedOutput, KeyInit, Mac, Update};
use blake2::{Blake2s256, Blake2sMac, Digest};
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use curve25519_dalek::edwards::EdwardsBasepointTable;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::traits::BasepointTable;
use hmac::SimpleHmac;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

/// Length of keys, hashes and chaining keys.
pub const KEY_LEN: usize = 32;
/// Length of a Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Length of mac1 / mac2 / cookie.
pub const MAC_LEN: usize = 16;

/// Noise construction name, hashed into the initial chaining key.
pub const CONSTRUCTION: &[u8] = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/// WireGuard protocol identifier, mixed into the initial hash.
pub const IDENTIFIER: &[u8] = b"WireGuard v1 zx2c4 Jason@zx2c4.com";
/// Label of the mac1 key derivation.
pub const LABEL_MAC1: &[u8] = b"mac1----";
/// Label of the cookie encryption key derivation.
pub const LABEL_COOKIE: &[u8] = b"cookie--";

/// `HASH(a || b)` (BLAKE2s-256 of the concatenation).
pub fn hash2(a: &[u8], b: &[u8]) -> [u8; 32] {
    let mut h = Blake2s256::new();
    Digest::update(&mut h, a);
    Digest::update(&mut h, b);
    h.finalize().into()
}

/// `HASH(x)`.
pub fn hash(x: &[u8]) -> [u8; 32] {
    hash2(x, &[])
}

/// `MAC(key, x)`: keyed BLAKE2s with a 16-byte output. `key` is at most 32 bytes.
pub fn mac(key: &[u8], x: &[u8]) -> [u8; MAC_LEN] {
    mac_parts(key, &[x])
}

/// `MAC(key, a || b || ...)`.
pub fn mac_parts(key: &[u8], parts: &[&[u8]]) -> [u8; MAC_LEN] {
    // Keys here are always 32 bytes (hashes or the cookie secret); an over-long key cannot occur,
    // but fall back to an all-zero output rather than panicking if one ever did.
    let Ok(mut m) = <Blake2sMac<blake2::digest::consts::U16> as KeyInit>::new_from_slice(key)
    else {
        return [0u8; MAC_LEN];
    };
    for p in parts {
        Update::update(&mut m, p);
    }
    m.finalize_fixed().into()
}

type HmacBlake2s = SimpleHmac<Blake2s256>;

/// `HMAC(key, a || b)` with HMAC-BLAKE2s.
pub fn hmac2(key: &[u8], a: &[u8], b: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; this cannot fail.
    let Ok(mut m) = <HmacBlake2s as Mac>::new_from_slice(key) else {
        return [0u8; 32];
    };
    Mac::update(&mut m, a);
    Mac::update(&mut m, b);
    m.finalize().into_bytes().into()
}

/// `HMAC(key, x)`.
pub fn hmac(key: &[u8], x: &[u8]) -> [u8; 32] {
    hmac2(key, x, &[])
}

/// `KDF1(key, input)`.
pub fn kdf1(key: &[u8], input: &[u8]) -> [u8; 32] {
    let t0 = hmac(key, input);
    hmac(&t0, &[1])
}

/// `KDF2(key, input)`.
pub fn kdf2(key: &[u8], input: &[u8]) -> ([u8; 32], [u8; 32]) {
    let t0 = hmac(key, input);
    let t1 = hmac(&t0, &[1]);
    let t2 = hmac2(&t0, &t1, &[2]);
    (t1, t2)
}

/// `KDF3(key, input)`.
pub fn kdf3(key: &[u8], input: &[u8]) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let t0 = hmac(key, input);
    let t1 = hmac(&t0, &[1]);
    let t2 = hmac2(&t0, &t1, &[2]);
    let t3 = hmac2(&t0, &t2, &[3]);
    (t1, t2, t3)
}

/// The 12-byte ChaCha20-Poly1305 nonce of a transport message (and of the handshake AEADs):
/// 4 zero bytes, then `counter` as a little-endian u64.
pub fn transport_nonce(counter: u64) -> [u8; 12] {
    nonce12(counter)
}

fn nonce12(counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_le_bytes());
    n
}

/// `AEAD(key, counter, plaintext, ad)` into `out` (`plaintext.len() + 16` bytes).
/// Used for the small handshake fields.
pub fn aead_seal(key: &[u8; 32], counter: u64, plaintext: &[u8], ad: &[u8], out: &mut [u8]) {
    let cipher = ChaCha20Poly1305::new(key.into());
    let n = plaintext.len();
    let Some((body, tag_out)) = out.split_at_mut_checked(n) else {
        return;
    };
    body.copy_from_slice(plaintext);
    if let Ok(tag) = cipher.encrypt_in_place_detached(&nonce12(counter).into(), ad, body) {
        if let Some(t) = tag_out.get_mut(..TAG_LEN) {
            t.copy_from_slice(&tag);
        }
    }
}

/// Inverse of [`aead_seal`]: `ciphertext` includes the tag; `out` gets `ciphertext.len() - 16`
/// bytes. Returns `false` on authentication failure (then `out` content is unspecified).
pub fn aead_open(
    key: &[u8; 32],
    counter: u64,
    ciphertext: &[u8],
    ad: &[u8],
    out: &mut [u8],
) -> bool {
    let Some(n) = ciphertext.len().checked_sub(TAG_LEN) else {
        return false;
    };
    let (Some(body), Some(tag), Some(dst)) =
        (ciphertext.get(..n), ciphertext.get(n..), out.get_mut(..n))
    else {
        return false;
    };
    dst.copy_from_slice(body);
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .decrypt_in_place_detached(&nonce12(counter).into(), ad, dst, tag.into())
        .is_ok()
}

/// `XAEAD(key, nonce, plaintext, ad)` for the 16-byte cookie; returns cookie ‖ tag.
pub fn xaead_seal(key: &[u8; 32], nonce: &[u8; 24], plaintext: &[u8; 16], ad: &[u8]) -> [u8; 32] {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut out = [0u8; 32];
    let mut body = *plaintext;
    if let Ok(tag) = cipher.encrypt_in_place_detached(nonce.into(), ad, &mut body) {
        out[..16].copy_from_slice(&body);
        out[16..].copy_from_slice(&tag);
    }
    out
}

/// Inverse of [`xaead_seal`]; `None` on authentication failure.
pub fn xaead_open(
    key: &[u8; 32],
    nonce: &[u8; 24],
    sealed: &[u8; 32],
    ad: &[u8],
) -> Option<[u8; 16]> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut body = [0u8; 16];
    body.copy_from_slice(&sealed[..16]);
    let tag: [u8; 16] = {
        let mut t = [0u8; 16];
        t.copy_from_slice(&sealed[16..]);
        t
    };
    cipher
        .decrypt_in_place_detached(nonce.into(), ad, &mut body, (&tag).into())
        .ok()
        .map(|()| body)
}

/// `DH(private, public)`; `None` when the result is all zeros (low-order point), which WireGuard
/// rejects.
///
/// Computed as X25519 defines it (RFC 7748: the u-coordinate of `clamp(private) * P`), but for a
/// `public` that lies on Curve25519 (every honest peer's key) through the birationally equivalent
/// Edwards curve: `curve25519-dalek`'s variable-base Edwards multiplication uses its AVX2 backend
/// when the CPU has it, which measured faster than the serial Montgomery ladder here. A `public`
/// on the quadratic twist has no Edwards point and takes `x25519-dalek`'s ladder; both paths give
/// the same bytes (tested against the ladder for random keys and points).
pub fn dh(private: &StaticSecret, public: &[u8; 32]) -> Option<[u8; 32]> {
    let shared = match MontgomeryPoint(*public).to_edwards(0) {
        Some(p) => {
            let mut k = private.to_bytes();
            let out = p.mul_clamped(k).to_montgomery().to_bytes();
            k.zeroize();
            out
        }
        None => private.diffie_hellman(&PublicKey::from(*public)).to_bytes(),
    };
    if shared.ct_eq(&[0u8; 32]).into() {
        None
    } else {
        Some(shared)
    }
}

/// Precomputed multiples of one public key (a peer's static key), so that `DH(e, public)` for a
/// fresh ephemeral `e` is a fixed-base multiplication (table lookups and additions, no
/// doublings), roughly 2-3x faster than a variable-base one. About 30 KiB per table.
pub struct PointTable {
    table: EdwardsBasepointTable,
}

impl core::fmt::Debug for PointTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PointTable(..)")
    }
}

impl PointTable {
    /// The table of `public`; `None` when `public` is not on Curve25519 (then use [`dh`]).
    pub fn new(public: &[u8; 32]) -> Option<Box<PointTable>> {
        let p = MontgomeryPoint(*public).to_edwards(0)?;
        Some(Box::new(PointTable {
            table: EdwardsBasepointTable::create(&p),
        }))
    }

    /// `DH(private, public)` with the table; same result as [`dh`].
    pub fn dh(&self, private: &StaticSecret) -> Option<[u8; 32]> {
        let mut k = private.to_bytes();
        let shared = self.table.mul_base_clamped(k).to_montgomery().to_bytes();
        k.zeroize();
        if shared.ct_eq(&[0u8; 32]).into() {
            None
        } else {
            Some(shared)
        }
    }
}

/// `DH` by `x25519-dalek`'s Montgomery ladder only (the reference [`dh`] is tested against).
pub fn dh_ladder(private: &StaticSecret, public: &[u8; 32]) -> Option<[u8; 32]> {
    let shared = private.diffie_hellman(&PublicKey::from(*public));
    if shared.was_contributory() {
        Some(shared.to_bytes())
    } else {
        None
    }
}

/// Transport-data AEAD key (one direction), backed by `ring`'s ChaCha20-Poly1305, which measured
/// faster than the RustCrypto implementation on the data path.
pub struct TransportKey {
    key: ring::aead::LessSafeKey,
}

impl core::fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TransportKey(..)")
    }
}

impl TransportKey {
    /// A key from 32 bytes.
    pub fn new(bytes: &[u8; 32]) -> Self {
        // CHACHA20_POLY1305 takes exactly 32-byte keys, so this cannot fail.
        let unbound = match ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, bytes) {
            Ok(k) => k,
            Err(_) => unreachable_key(),
        };
        TransportKey {
            key: ring::aead::LessSafeKey::new(unbound),
        }
    }

    /// Encrypt `buf` in place and return the tag.
    pub fn seal(&self, counter: u64, buf: &mut [u8]) -> [u8; TAG_LEN] {
        let nonce = ring::aead::Nonce::assume_unique_for_key(nonce12(counter));
        match self
            .key
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::empty(), buf)
        {
            Ok(tag) => {
                let mut t = [0u8; TAG_LEN];
                t.copy_from_slice(tag.as_ref());
                t
            }
            Err(_) => [0u8; TAG_LEN],
        }
    }

    /// Decrypt `buf` (ciphertext ‖ tag) in place; returns the plaintext length or `None` on
    /// authentication failure.
    pub fn open(&self, counter: u64, buf: &mut [u8]) -> Option<usize> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(nonce12(counter));
        self.key
            .open_in_place(nonce, ring::aead::Aad::empty(), buf)
            .ok()
            .map(|p| p.len())
    }
}

impl TransportKey {
    /// Encrypt `data` in place under an explicit 12-byte nonce; the detached tag, or `None` if
    /// ring refused (it does not for buffers below 256 GiB).
    pub fn seal_nonce(&self, nonce: &[u8; 12], data: &mut [u8]) -> Option<[u8; TAG_LEN]> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::empty(), data)
            .ok()?;
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag.as_ref());
        Some(t)
    }

    /// Check the detached `tag` and decrypt `data` in place under an explicit 12-byte nonce.
    pub fn open_nonce(&self, nonce: &[u8; 12], data: &mut [u8], tag: &[u8; TAG_LEN]) -> Option<()> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        self.key
            .open_in_place_separate_tag(
                nonce,
                ring::aead::Aad::empty(),
                ring::aead::Tag::from(*tag),
                data,
                0..,
            )
            .ok()
            .map(|_| ())
    }
}

#[allow(clippy::panic)]
fn unreachable_key() -> ring::aead::UnboundKey {
    // ring only rejects keys of the wrong length; ours are fixed at 32 bytes.
    panic!("ring rejected a 32-byte ChaCha20-Poly1305 key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn kdf_vectors_wireguard_go() {
        let cases = [
            (
                "746573742d6b6579",
                "746573742d696e707574",
                "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
                "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
                "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24",
            ),
            (
                "776972656775617264",
                "776972656775617264",
                "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
                "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
                "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160",
            ),
            (
                "",
                "",
                "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
                "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
                "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e",
            ),
        ];
        for (k, i, t0, t1, t2) in cases {
            let (a, b, c) = kdf3(&h(k), &h(i));
            assert_eq!(a.to_vec(), h(t0));
            assert_eq!(b.to_vec(), h(t1));
            assert_eq!(c.to_vec(), h(t2));
            let (a2, b2) = kdf2(&h(k), &h(i));
            assert_eq!((a2, b2), (a, b));
            assert_eq!(kdf1(&h(k), &h(i)), a);
        }
    }

    #[test]
    fn blake2s_abc() {
        assert_eq!(
            hash(b"abc").to_vec(),
            h("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982")
        );
    }

    #[test]
    fn x25519_rfc7748() {
        let a: [u8; 32] = h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
            .try_into()
            .unwrap();
        let b_pub: [u8; 32] = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
            .try_into()
            .unwrap();
        let s = StaticSecret::from(a);
        assert_eq!(
            PublicKey::from(&s).as_bytes().to_vec(),
            h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        assert_eq!(
            dh(&s, &b_pub).unwrap().to_vec(),
            h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        );
        // Low-order point: all-zero shared secret rejected.
        assert!(dh(&s, &[0u8; 32]).is_none());
    }

    #[test]
    fn chacha_rfc8439_2_8_2() {
        let key: [u8; 32] = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
            .try_into()
            .unwrap();
        let aad = h("50515253c0c1c2c3c4c5c6c7");
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        // RFC 8439 2.8.2 nonce is 07000000 40414243 44454647: not of the WireGuard form
        // (4 zero bytes || counter), so drive the RustCrypto cipher directly here.
        let cipher = ChaCha20Poly1305::new((&key).into());
        let nonce = h("070000004041424344454647");
        let mut buf = pt.to_vec();
        let tag = cipher
            .encrypt_in_place_detached(nonce.as_slice().into(), &aad, &mut buf)
            .unwrap();
        assert_eq!(buf[..16].to_vec(), h("d31a8d34648e60db7b86afbc53ef7ec2"));
        assert_eq!(tag.to_vec(), h("1ae10b594f09e26a7e902ecbd0600691"));
        // Our wrappers round-trip and detect tampering.
        let mut ct = vec![0u8; pt.len() + 16];
        aead_seal(&key, 7, pt, &aad, &mut ct);
        let mut back = vec![0u8; pt.len()];
        assert!(aead_open(&key, 7, &ct, &aad, &mut back));
        assert_eq!(&back[..], &pt[..]);
        ct[3] ^= 1;
        assert!(!aead_open(&key, 7, &ct, &aad, &mut back));
        // ring transport key agrees with RustCrypto for WireGuard nonces.
        let tk = TransportKey::new(&key);
        let mut b2 = pt.to_vec();
        let t2 = tk.seal(7, &mut b2);
        // Transport data has empty AD.
        let mut ct2 = vec![0u8; pt.len() + 16];
        aead_seal(&key, 7, pt, &[], &mut ct2);
        assert_eq!(&ct2[..pt.len()], &b2[..]);
        assert_eq!(&ct2[pt.len()..], &t2[..]);
        b2.extend_from_slice(&t2);
        assert_eq!(tk.open(7, &mut b2), Some(pt.len()));
    }

    #[test]
    fn dh_edwards_path_equals_ladder() {
        // Random scalars against random honest public keys (on the curve, Edwards path) and
        // random 32-byte strings (about half on the twist: ladder fallback), plus edge points.
        let mut rng = netsim::TestRng::new(0x1234_5678_9abc_def0);
        let mut next = || {
            let mut b = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rng, &mut b);
            b
        };
        let mut on_curve = 0;
        for i in 0..200 {
            let s = StaticSecret::from(next());
            let p = if i % 2 == 0 {
                PublicKey::from(&StaticSecret::from(next())).to_bytes()
            } else {
                next()
            };
            on_curve += usize::from(MontgomeryPoint(p).to_edwards(0).is_some());
            assert_eq!(dh(&s, &p), dh_ladder(&s, &p), "point {p:02x?}");
            // Random on-curve strings carry torsion components: the table agrees there too.
            if let Some(t) = PointTable::new(&p) {
                assert_eq!(t.dh(&s), dh_ladder(&s, &p), "table, point {p:02x?}");
            }
        }
        assert!(on_curve > 110 && on_curve < 200, "{on_curve}");
        let s = StaticSecret::from(next());
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        let mut p_plus_1 = [0xffu8; 32];
        p_plus_1[0] = 0xee;
        p_plus_1[31] = 0x7f;
        for p in [[0u8; 32], [1u8; 32], minus_one, p_plus_1, [0xffu8; 32]] {
            assert_eq!(dh(&s, &p), dh_ladder(&s, &p), "point {p:02x?}");
        }
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(dh(&s, &one), None, "u = 1 is of small order");
        assert_eq!(dh(&s, &[0u8; 32]), None);
    }

    #[test]
    fn xchacha_roundtrip() {
        let key = [7u8; 32];
        let nonce = [9u8; 24];
        let sealed = xaead_seal(&key, &nonce, &[1u8; 16], b"ad");
        assert_eq!(xaead_open(&key, &nonce, &sealed, b"ad"), Some([1u8; 16]));
        assert_eq!(xaead_open(&key, &nonce, &sealed, b"bd"), None);
    }
}
