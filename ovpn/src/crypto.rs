//! Shared cryptographic helpers: digests and HMAC, OpenVPN static key files, the packet-id
//! replay window, and the OpenVPN PRF (TLS 1.0 PRF). Every primitive comes from RustCrypto.

use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::CryptoError;

/// Message digest used by HMAC (`auth` in OpenVPN and RouterOS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Digest {
    /// No authentication (RouterOS `null`, OpenVPN `none`).
    None,
    /// MD5 (RouterOS `md5`).
    Md5,
    /// SHA-1 (RouterOS `sha1`, the default).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256 (RouterOS `sha256`).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512 (RouterOS `sha512`).
    Sha512,
}

/// Largest HMAC output.
pub const MAX_DIGEST_LEN: usize = 64;

impl Digest {
    /// Output length in bytes (also the HMAC key length OpenVPN uses).
    pub fn len(self) -> usize {
        match self {
            Digest::None => 0,
            Digest::Md5 => 16,
            Digest::Sha1 => 20,
            Digest::Sha224 => 28,
            Digest::Sha256 => 32,
            Digest::Sha384 => 48,
            Digest::Sha512 => 64,
        }
    }

    /// Whether the output is empty ([`Digest::None`]).
    pub fn is_empty(self) -> bool {
        self == Digest::None
    }

    /// Whether this is [`Digest::None`].
    pub fn is_none(self) -> bool {
        self == Digest::None
    }

    /// OpenVPN name (`auth` directive value).
    pub fn openvpn_name(self) -> &'static str {
        match self {
            Digest::None => "none",
            Digest::Md5 => "MD5",
            Digest::Sha1 => "SHA1",
            Digest::Sha224 => "SHA224",
            Digest::Sha256 => "SHA256",
            Digest::Sha384 => "SHA384",
            Digest::Sha512 => "SHA512",
        }
    }

    /// Parse an OpenVPN or RouterOS digest name (case-insensitive; `null`/`none`, `sha1`,
    /// `SHA-256`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        let n: String = name
            .chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match n.as_str() {
            "none" | "null" => Digest::None,
            "md5" => Digest::Md5,
            "sha1" => Digest::Sha1,
            "sha224" => Digest::Sha224,
            "sha256" => Digest::Sha256,
            "sha384" => Digest::Sha384,
            "sha512" => Digest::Sha512,
            _ => return None,
        })
    }

    /// HMAC over the concatenation of `parts` with `key`; writes `len()` bytes to `out`
    /// and returns that length. `out` must hold [`MAX_DIGEST_LEN`] bytes.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]], out: &mut [u8; MAX_DIGEST_LEN]) -> usize {
        fn run<M: Mac + hmac::digest::KeyInit>(
            key: &[u8],
            parts: &[&[u8]],
            out: &mut [u8; MAX_DIGEST_LEN],
        ) -> usize {
            let Ok(mut m) = <M as Mac>::new_from_slice(key) else {
                return 0;
            };
            for p in parts {
                m.update(p);
            }
            let r = m.finalize().into_bytes();
            let n = r.len().min(MAX_DIGEST_LEN);
            out[..n].copy_from_slice(&r[..n]);
            n
        }
        match self {
            Digest::None => 0,
            Digest::Md5 => run::<Hmac<md5::Md5>>(key, parts, out),
            Digest::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts, out),
            Digest::Sha224 => run::<Hmac<sha2::Sha224>>(key, parts, out),
            Digest::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts, out),
            Digest::Sha384 => run::<Hmac<sha2::Sha384>>(key, parts, out),
            Digest::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts, out),
        }
    }

    /// Verify an HMAC in constant time.
    pub fn verify(self, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut out = [0u8; MAX_DIGEST_LEN];
        let n = self.hmac(key, parts, &mut out);
        let ok = n == tag.len() && bool::from(out[..n].ct_eq(tag));
        out.zeroize();
        ok
    }
}

/// Key direction of a static key (`key-direction` / the tls-auth file argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyDirection {
    /// No direction: both directions use key slot 0.
    Bidirectional,
    /// Direction 0 (server side by convention): send with slot 0, receive with slot 1.
    Normal,
    /// Direction 1 (client side by convention): send with slot 1, receive with slot 0.
    Inverse,
}

impl KeyDirection {
    /// (send slot, receive slot).
    pub fn slots(self) -> (usize, usize) {
        match self {
            KeyDirection::Bidirectional => (0, 0),
            KeyDirection::Normal => (0, 1),
            KeyDirection::Inverse => (1, 0),
        }
    }
}

/// One key slot: 64 bytes of cipher key material and 64 bytes of HMAC key material.
#[derive(Clone, PartialEq, Eq, Zeroize)]
#[zeroize(drop)]
pub struct KeySlot {
    /// Cipher key material (a cipher uses the first `key_len` bytes).
    pub cipher: [u8; 64],
    /// HMAC key material (an HMAC uses the first `digest.len()` bytes; AEAD ciphers take
    /// their implicit IV from here).
    pub hmac: [u8; 64],
}

impl core::fmt::Debug for KeySlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeySlot(..)")
    }
}

impl KeySlot {
    /// Slot from 128 bytes (cipher || hmac).
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        if b.len() != 128 {
            return Err(CryptoError::BadKey {
                reason: "key slot must be 128 bytes",
            });
        }
        let mut s = KeySlot {
            cipher: [0; 64],
            hmac: [0; 64],
        };
        s.cipher.copy_from_slice(&b[..64]);
        s.hmac.copy_from_slice(&b[64..]);
        Ok(s)
    }
}

/// An OpenVPN 2048-bit static key (`OpenVPN Static key V1`), also the key-method-2 key
/// material layout: two slots of 128 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKey {
    /// The two key slots.
    pub slots: [KeySlot; 2],
}

impl core::fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("StaticKey(..)")
    }
}

const STATIC_BEGIN: &str = "-----BEGIN OpenVPN Static key V1-----";
const STATIC_END: &str = "-----END OpenVPN Static key V1-----";

impl StaticKey {
    /// Key from 256 raw bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        if b.len() != 256 {
            return Err(CryptoError::BadKey {
                reason: "static key must be 256 bytes",
            });
        }
        Ok(StaticKey {
            slots: [
                KeySlot::from_bytes(&b[..128])?,
                KeySlot::from_bytes(&b[128..])?,
            ],
        })
    }

    /// The 256 raw bytes.
    pub fn to_bytes(&self) -> [u8; 256] {
        let mut o = [0u8; 256];
        for (i, s) in self.slots.iter().enumerate() {
            o[i * 128..i * 128 + 64].copy_from_slice(&s.cipher);
            o[i * 128 + 64..i * 128 + 128].copy_from_slice(&s.hmac);
        }
        o
    }

    /// Parse the text file format (`openvpn --genkey secret`): optional comments, then hex
    /// between the BEGIN/END lines.
    pub fn from_pem(text: &str) -> Result<Self, CryptoError> {
        let start = text.find(STATIC_BEGIN).ok_or(CryptoError::BadKey {
            reason: "missing BEGIN OpenVPN Static key V1",
        })?;
        let rest = &text[start + STATIC_BEGIN.len()..];
        let end = rest.find(STATIC_END).ok_or(CryptoError::BadKey {
            reason: "missing END OpenVPN Static key V1",
        })?;
        let mut bytes = Vec::with_capacity(256);
        let mut hi: Option<u8> = None;
        for c in rest[..end].chars() {
            if c.is_whitespace() {
                continue;
            }
            let v = c.to_digit(16).ok_or(CryptoError::BadKey {
                reason: "non-hex character in static key",
            })? as u8;
            match hi.take() {
                None => hi = Some(v),
                Some(h) => bytes.push(h << 4 | v),
            }
        }
        let r = Self::from_bytes(&bytes);
        bytes.zeroize();
        r
    }

    /// Write the text file format.
    pub fn to_pem(&self) -> String {
        let b = self.to_bytes();
        let mut s = String::from("#\n# 2048 bit OpenVPN static key\n#\n");
        s.push_str(STATIC_BEGIN);
        s.push('\n');
        for line in b.chunks(16) {
            for x in line {
                s.push_str(&format!("{x:02x}"));
            }
            s.push('\n');
        }
        s.push_str(STATIC_END);
        s.push('\n');
        s
    }

    /// (send slot, receive slot) for a key direction.
    pub fn directional(&self, dir: KeyDirection) -> (&KeySlot, &KeySlot) {
        let (s, r) = dir.slots();
        (&self.slots[s], &self.slots[r])
    }
}

/// Sliding-window replay protection for packet ids (OpenVPN `replay-window`, default 64).
///
/// Packet ids start at 1; 0 is never valid. Ids more than `size` below the highest seen are
/// rejected as too old. With the long form (control channel: id + net time), a newer time
/// resets the window and an older time is rejected.
#[derive(Clone, Debug)]
pub struct ReplayWindow {
    bits: [u64; 16],
    size: u32,
    highest: u32,
    time: u32,
}

/// Largest supported replay window.
pub const MAX_REPLAY_WINDOW: u32 = 1024;

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new(64)
    }
}

impl ReplayWindow {
    /// New window of `size` ids (clamped to 1..=1024).
    pub fn new(size: u32) -> Self {
        ReplayWindow {
            bits: [0; 16],
            size: size.clamp(1, MAX_REPLAY_WINDOW),
            highest: 0,
            time: 0,
        }
    }

    fn bit(&self, id: u32) -> bool {
        let i = (id % MAX_REPLAY_WINDOW) as usize;
        self.bits
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    fn set(&mut self, id: u32, v: bool) {
        let i = (id % MAX_REPLAY_WINDOW) as usize;
        if let Some(w) = self.bits.get_mut(i / 64) {
            if v {
                *w |= 1 << (i % 64);
            } else {
                *w &= !(1 << (i % 64));
            }
        }
    }

    /// Highest id accepted so far.
    pub fn highest(&self) -> u32 {
        self.highest
    }

    /// Would `id` be accepted? (Does not record it.)
    pub fn check(&self, id: u32) -> bool {
        if id == 0 {
            return false;
        }
        if id > self.highest {
            return true;
        }
        let back = self.highest - id;
        back < self.size && !self.bit(id)
    }

    /// Record `id` (call only after the packet authenticated and `check` passed).
    pub fn update(&mut self, id: u32) {
        if id > self.highest {
            let d = id - self.highest;
            if d >= MAX_REPLAY_WINDOW {
                self.bits = [0; 16];
            } else {
                for k in 1..=d {
                    self.set(self.highest.wrapping_add(k), false);
                }
            }
            self.highest = id;
        }
        self.set(id, true);
    }

    /// Check and record in one step; returns whether accepted.
    pub fn accept(&mut self, id: u32) -> bool {
        if self.check(id) {
            self.update(id);
            true
        } else {
            false
        }
    }

    /// Long form (id + net time, control channel): would it be accepted?
    pub fn check_long(&self, id: u32, time: u32) -> bool {
        if time > self.time {
            id != 0
        } else if time < self.time {
            false
        } else {
            self.check(id)
        }
    }

    /// Long form: record.
    pub fn update_long(&mut self, id: u32, time: u32) {
        if time > self.time {
            self.bits = [0; 16];
            self.highest = 0;
            self.time = time;
        }
        self.update(id);
    }
}

/// TLS 1.0 PRF `P_hash` with one digest: XORs the output into `out`.
fn p_hash_xor(d: Digest, secret: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let mut a = [0u8; MAX_DIGEST_LEN];
    let mut n = d.hmac(secret, seed, &mut a);
    let mut off = 0;
    while off < out.len() {
        let mut block = [0u8; MAX_DIGEST_LEN];
        let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 1);
        parts.push(&a[..n]);
        parts.extend_from_slice(seed);
        let bn = d.hmac(secret, &parts, &mut block);
        for (o, b) in out.iter_mut().skip(off).zip(&block[..bn]) {
            *o ^= b;
        }
        off += bn.max(1);
        let prev = a;
        n = d.hmac(secret, &[&prev[..n]], &mut a);
        block.zeroize();
    }
    a.zeroize();
}

/// The OpenVPN PRF: the TLS 1.0 PRF (RFC 2246 section 5: P_MD5 over the first half of the
/// secret XOR P_SHA1 over the second half) over `label || seed parts`.
pub fn openvpn_prf(secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    out.fill(0);
    let half = secret.len().div_ceil(2);
    let s1 = secret.get(..half).unwrap_or(&[]);
    let s2 = secret.get(secret.len() - half..).unwrap_or(&[]);
    let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 1);
    parts.push(label);
    parts.extend_from_slice(seed);
    p_hash_xor(Digest::Md5, s1, &parts, out);
    p_hash_xor(Digest::Sha1, s2, &parts, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_window_basics() {
        let mut w = ReplayWindow::new(64);
        assert!(!w.check(0));
        assert!(w.accept(1));
        assert!(!w.accept(1));
        assert!(w.accept(3));
        assert!(w.accept(2));
        assert!(!w.accept(2));
        assert!(w.accept(100));
        assert!(!w.accept(36), "100-36 = 64 is outside a 64 window");
        assert!(w.accept(37));
        assert!(w.accept(2000));
        assert!(!w.accept(100));
        assert!(w.accept(1999));
    }

    #[test]
    fn replay_long_form_time_resets() {
        let mut w = ReplayWindow::new(64);
        assert!(w.check_long(5, 1000));
        w.update_long(5, 1000);
        assert!(!w.check_long(5, 1000));
        assert!(!w.check_long(6, 999));
        assert!(w.check_long(1, 1001));
    }

    #[test]
    fn hmac_rfc4231_case2() {
        // RFC 4231 test case 2 (key "Jefe"), SHA-256.
        let mut out = [0u8; 64];
        let n = Digest::Sha256.hmac(b"Jefe", &[b"what do ya want ", b"for nothing?"], &mut out);
        assert_eq!(
            hex(&out[..n]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
