//! Stateless IKE_SA_INIT cookies (RFC 7296 2.6).
//!
//! `Cookie = VersionIDofSecret (4 bytes) | SHA-256(Ni | IPi | SPIi | secret)`. The secret is
//! drawn from the caller's RNG and replaced every [`ROTATE`]; cookies made with the previous
//! secret stay valid until the next rotation, so a cookie works for 120-240 s.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Secret rotation interval.
pub const ROTATE: Duration = Duration::from_secs(120);

/// Cookie maker/checker.
#[derive(Clone)]
pub struct CookieJar {
    version: u32,
    secret: [u8; 32],
    previous: Option<(u32, [u8; 32])>,
    rotated: Instant,
}

impl core::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "CookieJar(version {})", self.version)
    }
}

fn compute(version: u32, secret: &[u8; 32], ni: &[u8], ip: IpAddr, spi_i: &[u8; 8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(ni);
    match ip {
        IpAddr::V4(a) => h.update(a.octets()),
        IpAddr::V6(a) => h.update(a.octets()),
    }
    h.update(spi_i);
    h.update(secret);
    let mut v = version.to_be_bytes().to_vec();
    v.extend_from_slice(&h.finalize());
    v
}

impl CookieJar {
    /// A jar with a fresh secret.
    pub fn new(now: Instant, rng: &mut dyn CryptoRngCore) -> CookieJar {
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        CookieJar {
            version: 1,
            secret,
            previous: None,
            rotated: now,
        }
    }

    fn rotate(&mut self, now: Instant, rng: &mut dyn CryptoRngCore) {
        if now.saturating_duration_since(self.rotated) >= ROTATE {
            self.previous = Some((self.version, self.secret));
            self.version = self.version.wrapping_add(1);
            rng.fill_bytes(&mut self.secret);
            self.rotated = now;
        }
    }

    /// The cookie for this initiator.
    pub fn make(
        &mut self,
        now: Instant,
        rng: &mut dyn CryptoRngCore,
        ni: &[u8],
        ip: IpAddr,
        spi_i: &[u8; 8],
    ) -> Vec<u8> {
        self.rotate(now, rng);
        compute(self.version, &self.secret, ni, ip, spi_i)
    }

    /// Whether `cookie` is one we made (current or previous secret).
    pub fn check(&self, cookie: &[u8], ni: &[u8], ip: IpAddr, spi_i: &[u8; 8]) -> bool {
        if cookie.len() != 36 {
            return false;
        }
        let v = u32::from_be_bytes([cookie[0], cookie[1], cookie[2], cookie[3]]);
        let secret = if v == self.version {
            &self.secret
        } else {
            match &self.previous {
                Some((pv, ps)) if *pv == v => ps,
                _ => return false,
            }
        };
        bool::from(compute(v, secret, ni, ip, spi_i).ct_eq(cookie))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn cookies_bind_and_rotate() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let t0 = Instant::now();
        let mut j = CookieJar::new(t0, &mut rng);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let c = j.make(t0, &mut rng, b"nonce", ip, &[1; 8]);
        assert!(j.check(&c, b"nonce", ip, &[1; 8]));
        assert!(!j.check(&c, b"nonce", "192.0.2.2".parse().unwrap(), &[1; 8]));
        assert!(!j.check(&c, b"nonce", ip, &[2; 8]));
        // Still valid one rotation later, not two.
        let _ = j.make(t0 + ROTATE, &mut rng, b"x", ip, &[1; 8]);
        assert!(j.check(&c, b"nonce", ip, &[1; 8]));
        let _ = j.make(t0 + ROTATE * 2, &mut rng, b"x", ip, &[1; 8]);
        assert!(!j.check(&c, b"nonce", ip, &[1; 8]));
    }
}
