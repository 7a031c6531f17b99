//! Stateless server handshake: HMAC-cookie session ids (OpenVPN 2.6 behaviour).
//!
//! A UDP server that creates per-client state for every `P_CONTROL_HARD_RESET_CLIENT_V2`
//! can be exhausted by spoofed resets and used as a reflector. OpenVPN 2.6 therefore answers
//! the first packet without remembering anything: its `P_CONTROL_HARD_RESET_SERVER_V2`
//! carries a server session id that is a keyed MAC over the client's address, the client's
//! session id and a coarse time slot. Only a later packet of the three-way handshake
//! (`P_ACK_V1`, `P_CONTROL_V1`, or `P_CONTROL_WKC_V1` carrying the tls-crypt-v2 WKc again)
//! that echoes a valid cookie in its ack's remote session id creates the session.
//!
//! ```text
//!  client                                             server (no state)
//!  HARD_RESET_CLIENT_V2 sid=C mid0 [replay id 1] ---->  cookie S = MAC(k, slot | addr | C)
//!        <---- HARD_RESET_SERVER_V2 sid=S ack[0] rsid=C mid0 [replay id 1]
//!                 (+ TLV EARLY_NEG_FLAGS=RESEND_WKC for tls-crypt-v2 early negotiation)
//!  CONTROL_V1 / WKC_V1 / ACK_V1 sid=C ack[0] rsid=S mid1 ---->  S checked for the current
//!                 and the two previous slots; acked ids and mid must be <= 1;
//!                 session created with sid S, peer's mid 0 and our mid 0 and
//!                 replay id 1 counted as used
//! ```
//!
//! The time slot is half the handshake window (`hand-window`, 60 s: 30 s slots), so a
//! cookie stays valid for 60 to 90 s. The MAC is HMAC-SHA256 truncated to 8 bytes under a
//! key drawn from the caller's RNG per server instance (OpenVPN uses SipHash; the cookie
//! only has to be checked by the server that made it, so the choice is local).

use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::wire::SessionId;

/// Feeds whatever a `Hash` impl writes into the MAC (the address bytes, deterministically
/// within one process).
struct MacHasher<'a>(&'a mut Hmac<Sha256>);

impl Hasher for MacHasher<'_> {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The cookie key and time slotting of one server instance.
pub struct CookieJar {
    key: [u8; 32],
    epoch: Instant,
    slot_secs: u64,
}

impl core::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CookieJar")
            .field("slot_secs", &self.slot_secs)
            .finish_non_exhaustive()
    }
}

impl Drop for CookieJar {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl CookieJar {
    /// New jar with a random key; slots of `(hand_window + 1) / 2` seconds counted from
    /// `epoch`.
    pub fn new(rng: &mut dyn CryptoRngCore, epoch: Instant, hand_window: Duration) -> Self {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        CookieJar {
            key,
            epoch,
            slot_secs: hand_window.as_secs().div_ceil(2).max(1),
        }
    }

    fn slot(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_secs() / self.slot_secs
    }

    fn mac<A: Hash>(&self, slot: u64, addr: &A, client_sid: &SessionId) -> SessionId {
        let mut sid = [0u8; 8];
        if let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(&self.key) {
            m.update(&slot.to_be_bytes());
            addr.hash(&mut MacHasher(&mut m));
            m.update(client_sid);
            let full = m.finalize().into_bytes();
            for (d, s) in sid.iter_mut().zip(full.iter()) {
                *d = *s;
            }
        }
        sid
    }

    /// The server session id to answer a reset from `addr` with client session id
    /// `client_sid` at `now`.
    pub fn issue<A: Hash>(&self, now: Instant, addr: &A, client_sid: &SessionId) -> SessionId {
        self.mac(self.slot(now), addr, client_sid)
    }

    /// Whether `server_sid` is a cookie issued to (`addr`, `client_sid`) in the current
    /// slot or one of the two before it (constant-time comparison).
    pub fn check<A: Hash>(
        &self,
        now: Instant,
        addr: &A,
        client_sid: &SessionId,
        server_sid: &SessionId,
    ) -> bool {
        let cur = self.slot(now);
        let mut ok = subtle::Choice::from(0);
        for back in 0..=2u64 {
            let Some(s) = cur.checked_sub(back) else {
                break;
            };
            ok |= self.mac(s, addr, client_sid).ct_eq(server_sid);
        }
        bool::from(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn cookie_binds_address_sid_and_time() {
        let t0 = Instant::now();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let jar = CookieJar::new(&mut rng, t0, Duration::from_secs(60));
        let c = [1u8; 8];
        let s = jar.issue(t0, &"10.0.0.1:1194", &c);
        assert!(jar.check(t0, &"10.0.0.1:1194", &c, &s));
        assert!(!jar.check(t0, &"10.0.0.2:1194", &c, &s));
        assert!(!jar.check(t0, &"10.0.0.1:1194", &[2u8; 8], &s));
        // Valid for the current and two previous 30 s slots: 60 s at least, < 90 s.
        assert!(jar.check(t0 + Duration::from_secs(89), &"10.0.0.1:1194", &c, &s));
        assert!(!jar.check(t0 + Duration::from_secs(90), &"10.0.0.1:1194", &c, &s));
        // Another server instance (another key) does not accept it.
        let other = CookieJar::new(&mut rng, t0, Duration::from_secs(60));
        assert!(!other.check(t0, &"10.0.0.1:1194", &c, &s));
    }
}
