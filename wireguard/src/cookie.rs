//! mac1 / mac2 and cookie replies (whitepaper 5.3 and 5.4.7).
//!
//! * `mac1 = MAC(HASH("mac1----" || S_receiver.pub), msg[..mac1])`: proves the sender knows the
//!   receiver's public key; checked on every handshake message, cheap, before any DH.
//! * Under load a receiver also demands `mac2 = MAC(cookie, msg[..mac2])`, where
//!   `cookie = MAC(R, source address)` and the secret `R` is replaced every 120 s. A handshake
//!   message without a valid mac2 is answered with a Cookie Reply carrying the cookie sealed with
//!   `XAEAD(HASH("cookie--" || S_receiver.pub), random nonce, cookie, AD = mac1 of the message)`.
//! * The sender keeps the cookie for 120 s and puts mac2 on its next handshake messages.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;

use crate::crypto::{hash2, mac, mac_parts, xaead_open, xaead_seal, LABEL_COOKIE, LABEL_MAC1};
use crate::wire::CookieReply;

/// CookieRefreshTime: lifetime of the receiver's secret and of a stored cookie.
pub const COOKIE_REFRESH_TIME: Duration = Duration::from_secs(120);

fn addr_bytes(src: &SocketAddr, out: &mut [u8; 18]) -> usize {
    match src {
        SocketAddr::V4(a) => {
            out[..4].copy_from_slice(&a.ip().octets());
            out[4..6].copy_from_slice(&a.port().to_be_bytes());
            6
        }
        SocketAddr::V6(a) => {
            out[..16].copy_from_slice(&a.ip().octets());
            out[16..18].copy_from_slice(&a.port().to_be_bytes());
            18
        }
    }
}

/// Receiver side: verifies mac1/mac2 of incoming handshake messages and makes cookie replies.
#[derive(Clone)]
pub struct CookieChecker {
    mac1_key: [u8; 32],
    cookie_key: [u8; 32],
    secret: [u8; 32],
    secret_born: Option<Instant>,
}

impl core::fmt::Debug for CookieChecker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CookieChecker")
            .field("secret_born", &self.secret_born)
            .finish_non_exhaustive()
    }
}

impl CookieChecker {
    /// Checker for our static public key.
    pub fn new(local_public: &[u8; 32]) -> Self {
        CookieChecker {
            mac1_key: hash2(LABEL_MAC1, local_public),
            cookie_key: hash2(LABEL_COOKIE, local_public),
            secret: [0; 32],
            secret_born: None,
        }
    }

    /// Does `msg[mac1_off..mac1_off+16]` equal `MAC(mac1_key, msg[..mac1_off])`?
    pub fn check_mac1(&self, msg: &[u8], mac1_off: usize) -> bool {
        let (Some(body), Some(m)) = (msg.get(..mac1_off), msg.get(mac1_off..mac1_off + 16)) else {
            return false;
        };
        subtle::ConstantTimeEq::ct_eq(&mac(&self.mac1_key, body)[..], m).into()
    }

    fn secret(&mut self, now: Instant, rng: &mut dyn CryptoRngCore) -> [u8; 32] {
        let fresh = self
            .secret_born
            .is_some_and(|born| now.saturating_duration_since(born) < COOKIE_REFRESH_TIME);
        if !fresh {
            rng.fill_bytes(&mut self.secret);
            self.secret_born = Some(now);
        }
        self.secret
    }

    /// When the current secret was generated (rotated lazily, at the first use 120 s or more
    /// after the previous one).
    pub fn secret_born(&self) -> Option<Instant> {
        self.secret_born
    }

    fn cookie(&mut self, now: Instant, rng: &mut dyn CryptoRngCore, src: &SocketAddr) -> [u8; 16] {
        let mut a = [0u8; 18];
        let n = addr_bytes(src, &mut a);
        mac(&self.secret(now, rng), &a[..n])
    }

    /// Is mac2 (16 bytes after mac1) valid for `src` under the current secret?
    pub fn check_mac2(
        &mut self,
        now: Instant,
        rng: &mut dyn CryptoRngCore,
        msg: &[u8],
        mac1_off: usize,
        src: &SocketAddr,
    ) -> bool {
        let mac2_off = mac1_off + 16;
        let (Some(body), Some(m)) = (msg.get(..mac2_off), msg.get(mac2_off..mac2_off + 16)) else {
            return false;
        };
        let cookie = self.cookie(now, rng, src);
        subtle::ConstantTimeEq::ct_eq(&mac(&cookie, body)[..], m).into()
    }

    /// Cookie reply answering the handshake message `msg` (whose sender index is `receiver`).
    pub fn create_reply(
        &mut self,
        now: Instant,
        rng: &mut dyn CryptoRngCore,
        msg: &[u8],
        mac1_off: usize,
        receiver: u32,
        src: &SocketAddr,
    ) -> CookieReply {
        let cookie = self.cookie(now, rng, src);
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut nonce);
        let ad = msg.get(mac1_off..mac1_off + 16).unwrap_or(&[]);
        CookieReply {
            receiver,
            nonce,
            encrypted_cookie: xaead_seal(&self.cookie_key, &nonce, &cookie, ad),
        }
    }
}

/// Sender side: fills mac1/mac2 of outgoing handshake messages to one peer and consumes that
/// peer's cookie replies.
#[derive(Clone)]
pub struct CookieGenerator {
    mac1_key: [u8; 32],
    cookie_key: [u8; 32],
    last_mac1: Option<[u8; 16]>,
    cookie: Option<([u8; 16], Instant)>,
}

impl core::fmt::Debug for CookieGenerator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CookieGenerator")
            .field("has_cookie", &self.cookie.is_some())
            .finish_non_exhaustive()
    }
}

impl CookieGenerator {
    /// Generator for messages to the peer with static public key `remote`.
    pub fn new(remote: &[u8; 32]) -> Self {
        CookieGenerator {
            mac1_key: hash2(LABEL_MAC1, remote),
            cookie_key: hash2(LABEL_COOKIE, remote),
            last_mac1: None,
            cookie: None,
        }
    }

    /// Write mac1 and (with a cookie younger than 120 s) mac2 into `msg` in place.
    pub fn add_macs(&mut self, now: Instant, msg: &mut [u8], mac1_off: usize) {
        let Some(body) = msg.get(..mac1_off) else {
            return;
        };
        let m1 = mac(&self.mac1_key, body);
        if let Some(dst) = msg.get_mut(mac1_off..mac1_off + 16) {
            dst.copy_from_slice(&m1);
        }
        self.last_mac1 = Some(m1);
        let m2 = match self.cookie {
            Some((cookie, at)) if now.saturating_duration_since(at) < COOKIE_REFRESH_TIME => msg
                .get(..mac1_off + 16)
                .map(|b| mac_parts(&cookie, &[b]))
                .unwrap_or([0; 16]),
            _ => [0; 16],
        };
        if let Some(dst) = msg.get_mut(mac1_off + 16..mac1_off + 32) {
            dst.copy_from_slice(&m2);
        }
    }

    /// Decrypt a cookie reply (AD = mac1 of our last handshake message) and store the cookie.
    pub fn consume_reply(&mut self, now: Instant, reply: &CookieReply) -> bool {
        let Some(ad) = self.last_mac1 else {
            return false;
        };
        match xaead_open(&self.cookie_key, &reply.nonce, &reply.encrypted_cookie, &ad) {
            Some(cookie) => {
                self.cookie = Some((cookie, now));
                true
            }
            None => false,
        }
    }

    /// Whether a valid (younger than 120 s) cookie is held.
    pub fn has_cookie(&self, now: Instant) -> bool {
        self.cookie
            .is_some_and(|(_, at)| now.saturating_duration_since(at) < COOKIE_REFRESH_TIME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(gen: &mut CookieGenerator, now: Instant) -> Vec<u8> {
        let mut m = vec![0u8; 148];
        m[0] = 1;
        m[4] = 7;
        gen.add_macs(now, &mut m, 116);
        m
    }

    #[test]
    fn mac1_mac2_cookie_round_trip_and_rotation() {
        let mut rng = netsim::TestRng::new(1);
        let responder_pub = [5u8; 32];
        let mut checker = CookieChecker::new(&responder_pub);
        let mut gen = CookieGenerator::new(&responder_pub);
        let src: SocketAddr = "192.0.2.1:51820".parse().unwrap();
        let t0 = Instant::now();
        let m = msg(&mut gen, t0);
        assert!(checker.check_mac1(&m, 116));
        assert!(
            !checker.check_mac2(t0, &mut rng, &m, 116, &src),
            "no cookie yet"
        );
        let reply = checker.create_reply(t0, &mut rng, &m, 116, 7, &src);
        // The reply is bound to the mac1 of the message it answers.
        let mut other = CookieGenerator::new(&responder_pub);
        assert!(
            !other.consume_reply(t0, &reply),
            "no message sent: nothing to bind to"
        );
        assert!(gen.consume_reply(t0, &reply));
        assert!(gen.has_cookie(t0));
        let m2 = msg(&mut gen, t0 + Duration::from_secs(1));
        assert!(checker.check_mac2(t0 + Duration::from_secs(1), &mut rng, &m2, 116, &src));
        // Another source address does not get credit for the cookie.
        let other_src: SocketAddr = "192.0.2.9:51820".parse().unwrap();
        assert!(!checker.check_mac2(t0 + Duration::from_secs(1), &mut rng, &m2, 116, &other_src));
        // Just before 120 s the secret is the same; at 120 s it rotates and mac2 fails.
        assert!(checker.check_mac2(
            t0 + Duration::from_millis(119_999),
            &mut rng,
            &m2,
            116,
            &src
        ));
        assert_eq!(checker.secret_born(), Some(t0));
        assert!(!checker.check_mac2(t0 + Duration::from_secs(120), &mut rng, &m2, 116, &src));
        assert_eq!(checker.secret_born(), Some(t0 + Duration::from_secs(120)));
        // The sender stops using a cookie after 120 s.
        assert!(!gen.has_cookie(t0 + Duration::from_secs(120)));
        let m3 = msg(&mut gen, t0 + Duration::from_secs(120));
        assert_eq!(&m3[132..148], &[0u8; 16]);
        // Tampered reply rejected.
        let mut bad = reply.clone();
        bad.encrypted_cookie[0] ^= 1;
        assert!(!gen.consume_reply(t0, &bad));
    }
}
