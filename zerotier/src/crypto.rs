//! ZeroTier 1.x cryptography, composed from RustCrypto primitives (and x25519/ed25519-dalek).
//!
//! ```text
//!  identity A (X25519 a, Ed25519)        identity B (X25519 b, Ed25519)
//!            \                               /
//!             X25519(a, B) = X25519(b, A) (32 bytes)
//!                          |
//!                 SHA-512 -> first 48 bytes = peer key K   (Identity::agree)
//!                 /                         \
//!   cipher suites 0 / 1                      cipher suite 3 (AES-GMAC-SIV)
//!   Salsa20/12 key = K[0:32] XOR             K0 = HMAC-SHA384(K, 00000000 'Z' 'T' '0' 00 00 00000180)[0:32]
//!     (packet[0:18], flags & F8, size LE16)  K1 = same with label '1'
//!   nonce = packet ID                        tag  = GMAC_K0(nonce = IV || 0^32,
//!   keystream[0:32] = Poly1305 key                   AAD = dest|src|flags&F8, zero-padded to 16,
//!   suite 1: payload ^= keystream[64..]              then the plaintext) folded to 64 bits
//!   MAC = Poly1305(payload)[0:8]             T = AES-ECB_K1(IV || folded tag)
//!                                            payload = AES-256-CTR_K1(counter block = T, bit 31 of
//!                                              word 3 cleared) -- 32-bit big-endian counter
//!                                            packet ID := T[0:8], MAC field := T[8:16]
//! ```
//!
//! The MAC/tag covers everything from the verb byte to the end of the packet, and (through the
//! key mangling or the AAD) the packet ID, both addresses and the flags without the hop count,
//! which relays increment.

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, KeyIvInit, StreamCipher};
use aes::Aes256;
use ctr::cipher::InnerIvInit;
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use hmac::{Hmac, Mac};
use poly1305::Poly1305;
use salsa20::{Salsa12, Salsa20};
use sha2::{Digest, Sha384, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::wire::{IDX_FLAGS, IDX_MAC, IDX_VERB, MIN_PACKET_LEN};

/// Symmetric key size (`ZT_SYMMETRIC_KEY_SIZE`).
pub const SYMMETRIC_KEY_LEN: usize = 48;
/// C25519 signature length: Ed25519 (64) || SHA-512(message)\[0:32\].
pub const SIGNATURE_LEN: usize = 96;
/// Scratch memory of the identity hash (`ZT_IDENTITY_GEN_MEMORY`).
pub const IDENTITY_GEN_MEMORY: usize = 2_097_152;
/// Hashcash condition: first digest byte below this (`ZT_IDENTITY_GEN_HASHCASH_FIRST_BYTE_LESS_THAN`).
pub const IDENTITY_HASHCASH_LESS_THAN: u8 = 17;

/// Packet cipher suites (bits 3..5 of the flags byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// 0: Poly1305 MAC, payload in the clear (HELLO).
    Poly1305None,
    /// 1: Salsa20/12 encryption + Poly1305 MAC.
    Salsa2012Poly1305,
    /// 2: no crypto, MAC field is a trusted-path ID (not supported: dropped).
    TrustedPath,
    /// 3: AES-GMAC-SIV (peers announcing protocol version 12 or later).
    AesGmacSiv,
}

impl CipherSuite {
    /// From the 3-bit field.
    pub fn from_bits(v: u8) -> Option<Self> {
        match v {
            0 => Some(CipherSuite::Poly1305None),
            1 => Some(CipherSuite::Salsa2012Poly1305),
            2 => Some(CipherSuite::TrustedPath),
            3 => Some(CipherSuite::AesGmacSiv),
            _ => None,
        }
    }
    /// The 3-bit field.
    pub fn bits(self) -> u8 {
        match self {
            CipherSuite::Poly1305None => 0,
            CipherSuite::Salsa2012Poly1305 => 1,
            CipherSuite::TrustedPath => 2,
            CipherSuite::AesGmacSiv => 3,
        }
    }
}

/// SHA-512 of `data`.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    Sha512::digest(data).into()
}

/// ZeroTier's memory-hard identity hash over a 64-byte public key: SHA-512, then 2 MiB filled
/// with Salsa20/20 (key = digest\[0:32\], nonce = digest\[32:40\]) in a chained way (each 64-byte
/// block is the previous one encrypted again with the running keystream), then 131072 steps that
/// each swap one 8-byte word of the digest with a word of the scratch memory (both chosen by the
/// scratch contents, read big-endian) and re-encrypt the digest. Allocates the 2 MiB scratch.
pub fn memory_hard_hash(public: &[u8]) -> [u8; 64] {
    let mut digest = sha512(public);
    let mut mem = vec![0u8; IDENTITY_GEN_MEMORY];
    let key: [u8; 32] = first_n(&digest);
    let nonce: [u8; 8] = first_n(&digest[32..]);
    let mut s20 = Salsa20::new(&key.into(), &nonce.into());
    s20.apply_keystream(&mut mem[..64]);
    let mut i = 64;
    while i < IDENTITY_GEN_MEMORY {
        mem.copy_within(i - 64..i, i);
        s20.apply_keystream(&mut mem[i..i + 64]);
        i += 64;
    }
    let words = IDENTITY_GEN_MEMORY / 8;
    let mut w = 0;
    while w < words {
        let idx1 = (be64(&mem[w * 8..]) % 8) as usize;
        let idx2 = (be64(&mem[(w + 1) * 8..]) % words as u64) as usize;
        w += 2;
        let mut tmp = [0u8; 8];
        tmp.copy_from_slice(&mem[idx2 * 8..idx2 * 8 + 8]);
        mem[idx2 * 8..idx2 * 8 + 8].copy_from_slice(&digest[idx1 * 8..idx1 * 8 + 8]);
        digest[idx1 * 8..idx1 * 8 + 8].copy_from_slice(&tmp);
        s20.apply_keystream(&mut digest);
    }
    digest
}

fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes(first_n(b))
}

/// The first `N` bytes of `b` (zero-padded if shorter; callers pass long-enough slices).
pub(crate) fn first_n<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = b.len().min(N);
    out[..n].copy_from_slice(&b[..n]);
    out
}

/// Key agreement: SHA-512(X25519(mine, theirs)), first 48 bytes (the C++ re-hashes for longer
/// keys; 48 < 64 so one hash suffices).
pub fn agree(
    my_x25519_secret: &[u8; 32],
    their_x25519_public: &[u8; 32],
) -> [u8; SYMMETRIC_KEY_LEN] {
    let s = x25519_dalek::StaticSecret::from(*my_x25519_secret);
    let shared = s.diffie_hellman(&x25519_dalek::PublicKey::from(*their_x25519_public));
    let d = Zeroizing::new(sha512(shared.as_bytes()));
    first_n(&d[..])
}

/// X25519 public key of a secret.
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*secret)).to_bytes()
}

/// Ed25519 public key of a 32-byte seed.
pub fn ed25519_public(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

/// ZeroTier's C25519 signature: Ed25519 over the first 32 bytes of SHA-512(msg), followed by
/// those 32 bytes (96 bytes in all).
pub fn sign(ed25519_seed: &[u8; 32], msg: &[u8]) -> [u8; SIGNATURE_LEN] {
    use ed25519_dalek::Signer;
    let digest = sha512(msg);
    let sk = ed25519_dalek::SigningKey::from_bytes(ed25519_seed);
    let sig = sk.sign(&digest[..32]);
    let mut out = [0u8; SIGNATURE_LEN];
    out[..64].copy_from_slice(&sig.to_bytes());
    out[64..].copy_from_slice(&digest[..32]);
    out
}

/// Verify a 96-byte C25519 signature (the digest copy in bytes 64..96 must match too).
pub fn verify(ed25519_public: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    if sig.len() != SIGNATURE_LEN {
        return false;
    }
    let digest = sha512(msg);
    if !bool::from(sig[64..96].ct_eq(&digest[..32])) {
        return false;
    }
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(ed25519_public) else {
        return false;
    };
    let s = ed25519_dalek::Signature::from_bytes(&first_n::<64>(sig));
    use ed25519_dalek::Verifier;
    vk.verify(&digest[..32], &s).is_ok()
}

/// KBKDF in counter mode with HMAC-SHA384 as ZeroTier uses it: message
/// `be32(iter) || 'Z' 'T' label 0x00 context || be32(384)`.
pub fn kbkdf_hmac_sha384(
    key: &[u8; SYMMETRIC_KEY_LEN],
    label: u8,
    context: u8,
    iter: u32,
) -> [u8; 48] {
    let mut msg = [0u8; 13];
    msg[..4].copy_from_slice(&iter.to_be_bytes());
    msg[4] = b'Z';
    msg[5] = b'T';
    msg[6] = label;
    msg[7] = 0;
    msg[8] = context;
    msg[9..13].copy_from_slice(&384u32.to_be_bytes());
    // HMAC accepts any key length; this cannot fail.
    let mut mac = match <Hmac<Sha384> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 48],
    };
    mac.update(&msg);
    mac.finalize().into_bytes().into()
}

/// A peer's symmetric key with everything derived from it once: the AES-256 key schedules of K0
/// and K1 and the GHASH key `H = AES_K0(0^128)`.
#[derive(Clone)]
pub struct PeerKey {
    raw: Zeroizing<[u8; SYMMETRIC_KEY_LEN]>,
    k0: Aes256,
    k1: Aes256,
    ghash: GHash,
}

impl std::fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerKey(..)")
    }
}

impl PeerKey {
    /// Derive from the 48-byte agreed key.
    pub fn new(raw: [u8; SYMMETRIC_KEY_LEN]) -> Self {
        let k0b = Zeroizing::new(kbkdf_hmac_sha384(&raw, b'0', 0, 0));
        let k1b = Zeroizing::new(kbkdf_hmac_sha384(&raw, b'1', 0, 0));
        let k0 = Aes256::new(&first_n::<32>(&k0b[..]).into());
        let k1 = Aes256::new(&first_n::<32>(&k1b[..]).into());
        let mut h = [0u8; 16].into();
        k0.encrypt_block(&mut h);
        let ghash = <GHash as KeyInit>::new(&h);
        PeerKey {
            raw: Zeroizing::new(raw),
            k0,
            k1,
            ghash,
        }
    }
    /// The raw 48-byte key.
    pub fn raw(&self) -> &[u8; SYMMETRIC_KEY_LEN] {
        &self.raw
    }

    fn salsa_for(&self, packet: &[u8]) -> Salsa12 {
        let mut k = Zeroizing::new(first_n::<32>(&self.raw[..]));
        for i in 0..18 {
            k[i] ^= packet[i];
        }
        k[18] ^= packet[IDX_FLAGS] & 0xf8;
        let len = packet.len();
        k[19] ^= (len & 0xff) as u8;
        k[20] ^= ((len >> 8) & 0xff) as u8;
        let nonce: [u8; 8] = first_n(packet);
        Salsa12::new(&(*k).into(), &nonce.into())
    }

    fn gmac_folded(&self, iv: &[u8; 8], aad: &[u8; 11], plaintext: &[u8]) -> [u8; 8] {
        let mut g = self.ghash.clone();
        let mut aad16 = [0u8; 16];
        aad16[..11].copy_from_slice(aad);
        g.update_padded(&aad16);
        g.update_padded(plaintext);
        // ZeroTier's GMAC: the whole input counts as AAD; the length block is
        // be64(total bits) || 0^64.
        let total_bits = ((16 + plaintext.len()) as u64) * 8;
        let mut len_block = [0u8; 16];
        len_block[..8].copy_from_slice(&total_bits.to_be_bytes());
        g.update(&[len_block.into()]);
        let s = g.finalize();
        let mut j0 = [0u8; 16];
        j0[..8].copy_from_slice(iv);
        j0[15] = 1;
        let mut j0 = j0.into();
        self.k0.encrypt_block(&mut j0);
        let mut out = [0u8; 8];
        for i in 0..8 {
            out[i] = s[i] ^ j0[i] ^ s[i + 8] ^ j0[i + 8];
        }
        out
    }

    fn ctr(&self, tag: &[u8; 16]) -> ctr::Ctr32BE<Aes256> {
        let mut iv = *tag;
        iv[12] &= 0x7f;
        ctr::Ctr32BE::<Aes256>::from_core(ctr::CtrCore::inner_iv_init(self.k1.clone(), &iv.into()))
    }

    fn aad(packet: &[u8]) -> [u8; 11] {
        let mut aad: [u8; 11] = first_n(&packet[8..19]);
        aad[10] &= 0xf8;
        aad
    }
}

/// Why a packet failed to dearmor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DearmorError {
    /// Shorter than the 28-byte header.
    Truncated,
    /// Cipher suite 2 (trusted path) or an unassigned value.
    UnsupportedCipher(u8),
    /// MAC or GMAC-SIV tag mismatch.
    BadMac,
}

/// Armor a whole packet in place: set the cipher bits, encrypt the payload (suites 1 and 3),
/// write the MAC (and, for suite 3, the packet ID). `packet` is the complete packet (at least
/// 28 bytes) with ID, addresses, hops and verb byte set. Suite 2 is not produced (it is treated
/// as suite 0).
pub fn armor(packet: &mut [u8], key: &PeerKey, suite: CipherSuite) {
    if packet.len() < MIN_PACKET_LEN {
        return;
    }
    let suite = if suite == CipherSuite::TrustedPath {
        CipherSuite::Poly1305None
    } else {
        suite
    };
    packet[IDX_FLAGS] = (packet[IDX_FLAGS] & 0xc7) | (suite.bits() << 3);
    match suite {
        CipherSuite::AesGmacSiv => {
            let iv: [u8; 8] = first_n(packet);
            let aad = PeerKey::aad(packet);
            let folded = key.gmac_folded(&iv, &aad, &packet[IDX_VERB..]);
            let mut t = [0u8; 16];
            t[..8].copy_from_slice(&iv);
            t[8..].copy_from_slice(&folded);
            let mut tb = t.into();
            key.k1.encrypt_block(&mut tb);
            let t: [u8; 16] = tb.into();
            key.ctr(&t).apply_keystream(&mut packet[IDX_VERB..]);
            packet[..8].copy_from_slice(&t[..8]);
            packet[IDX_MAC..IDX_MAC + 8].copy_from_slice(&t[8..]);
        }
        _ => {
            let mut s = key.salsa_for(packet);
            let mut block0 = Zeroizing::new([0u8; 64]);
            s.apply_keystream(&mut block0[..]);
            if suite == CipherSuite::Salsa2012Poly1305 {
                s.apply_keystream(&mut packet[IDX_VERB..]);
            }
            let poly = Poly1305::new(&first_n::<32>(&block0[..]).into());
            let tag = poly.compute_unpadded(&packet[IDX_VERB..]);
            packet[IDX_MAC..IDX_MAC + 8].copy_from_slice(&tag[..8]);
        }
    }
}

/// Authenticate and decrypt a whole packet in place; returns the suite it used. On error the
/// payload may be left partly transformed (callers drop the buffer).
pub fn dearmor(packet: &mut [u8], key: &PeerKey) -> Result<CipherSuite, DearmorError> {
    if packet.len() < MIN_PACKET_LEN {
        return Err(DearmorError::Truncated);
    }
    let bits = (packet[IDX_FLAGS] >> 3) & 7;
    let suite = CipherSuite::from_bits(bits).ok_or(DearmorError::UnsupportedCipher(bits))?;
    match suite {
        CipherSuite::TrustedPath => Err(DearmorError::UnsupportedCipher(bits)),
        CipherSuite::AesGmacSiv => {
            let mut t = [0u8; 16];
            t[..8].copy_from_slice(&packet[..8]);
            t[8..].copy_from_slice(&packet[IDX_MAC..IDX_MAC + 8]);
            key.ctr(&t).apply_keystream(&mut packet[IDX_VERB..]);
            let mut d = t.into();
            key.k1.decrypt_block(&mut d);
            let d: [u8; 16] = d.into();
            let iv: [u8; 8] = first_n(&d);
            let aad = PeerKey::aad(packet);
            let folded = key.gmac_folded(&iv, &aad, &packet[IDX_VERB..]);
            if bool::from(folded.ct_eq(&d[8..])) {
                Ok(suite)
            } else {
                Err(DearmorError::BadMac)
            }
        }
        _ => {
            let mut s = key.salsa_for(packet);
            let mut block0 = Zeroizing::new([0u8; 64]);
            s.apply_keystream(&mut block0[..]);
            let poly = Poly1305::new(&first_n::<32>(&block0[..]).into());
            let tag = poly.compute_unpadded(&packet[IDX_VERB..]);
            if !bool::from(tag[..8].ct_eq(&packet[IDX_MAC..IDX_MAC + 8])) {
                return Err(DearmorError::BadMac);
            }
            if suite == CipherSuite::Salsa2012Poly1305 {
                s.apply_keystream(&mut packet[IDX_VERB..]);
            }
            Ok(suite)
        }
    }
}

/// HELLO's `cryptField`: Salsa20/12 over `packet[start..]` with the raw key's first 32 bytes and
/// the packet ID (low 3 bits cleared) as nonce. Its own inverse.
pub fn crypt_field(packet: &mut [u8], key: &PeerKey, start: usize) {
    if start >= packet.len() || packet.len() < 8 {
        return;
    }
    let mut iv: [u8; 8] = first_n(packet);
    iv[7] &= 0xf8;
    let k = Zeroizing::new(first_n::<32>(&key.raw[..]));
    let mut s = Salsa12::new(&(*k).into(), &iv.into());
    s.apply_keystream(&mut packet[start..]);
}
