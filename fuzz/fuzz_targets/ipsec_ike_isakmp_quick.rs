//! IKEv1 quick mode responder input: a real main mode (our initiator against our responder,
//! PSK, Curve25519) is run first, so the responder holds an ISAKMP SA and waits for quick mode.
//! - mode byte 0: the fuzz bytes are datagrams (2-byte length prefix) fed to the responder;
//! - mode byte 1: the initiator's real quick mode 1 is mutated (2-byte offset, xor byte) and
//!   fed (so the CBC decryption, the decrypted chain and HASH(1) see garbage under the real
//!   ISAKMP SA), then the original, which must still produce quick mode 2.
//! - mode bits 1-2 pick the responder's `proposal-check` and the two phase-2 lifetimes
//!   (obey without lifetimes; exact 1800/1800; strict 900 offered against 1800; claim 3600
//!   offered against 1800, so quick mode 2 carries RESPONDER-LIFETIME), all acceptable.
//!
//! Never panics; the timers run afterwards.
#![no_main]

use std::time::Duration;

use fuzz::{base_instant, TestRng};
use ipsec_ike::crypto::Group;
use ipsec_ike::v1::session::{ProposalCheck, Session, SessionConfig};
use ipsec_ike::v1::wire::Identity;

fn cfg(me: &str) -> SessionConfig {
    let mut c = SessionConfig::psk(
        b"fuzz",
        Identity::Addr(me.parse().unwrap()),
        Identity::Addr("10.1.0.1".parse().unwrap()),
        Identity::Addr("10.2.0.1".parse().unwrap()),
    );
    c.group = Group::Curve25519;
    c
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let now = base_instant();
    let (check, li, lr) = match (mode >> 1) % 4 {
        0 => (ProposalCheck::Obey, None, None),
        1 => (ProposalCheck::Exact, Some(1800), Some(1800)),
        2 => (ProposalCheck::Strict, Some(900), Some(1800)),
        _ => (ProposalCheck::Claim, Some(3600), Some(1800)),
    };
    let (mut ci, mut cr) = (cfg("10.0.0.1"), cfg("10.0.0.2"));
    ci.esp_lifetime = li.map(Duration::from_secs);
    cr.esp_lifetime = lr.map(Duration::from_secs);
    cr.proposal_check = check;
    let mut i = Session::initiator(ci, now, TestRng::boxed(1)).unwrap();
    let mut r = Session::responder(cr, TestRng::boxed(2)).unwrap();
    // Main mode: M1..M6; the initiator then queues quick mode 1.
    for _ in 0..3 {
        let m = i.poll_transmit(now).unwrap();
        r.handle_datagram(now, m.remote_port, &m.payload);
        let a = r.poll_transmit(now).unwrap();
        i.handle_datagram(now, a.remote_port, &a.payload);
    }
    let q1 = i.poll_transmit(now).unwrap();
    let port = q1.remote_port;
    let q1 = q1.payload;
    match mode % 2 {
        0 => {
            let mut b = rest;
            while b.len() >= 2 {
                let n = usize::from(u16::from_le_bytes([b[0], b[1]])).min(b.len() - 2);
                r.handle_datagram(now, port, &b[2..2 + n]);
                b = &b[2 + n..];
            }
        }
        _ => {
            let mut m = q1.clone();
            for p in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([p[0], p[1]])) % m.len();
                m[at] ^= p[2];
            }
            r.handle_datagram(now, port, &m);
            // A mutation confined to the padding of the last CBC block leaves the payloads and
            // HASH(1) intact: then the responder rightly answers it. Otherwise it must have
            // ignored the garbage and still answer the genuine message.
            if r.poll_transmit(now).is_none() {
                r.handle_datagram(now, port, &q1);
                assert!(
                    r.poll_transmit(now).is_some(),
                    "genuine quick mode 1 unanswered after garbage"
                );
            }
        }
    }
    r.handle_timeout(now + Duration::from_secs(3600));
    while r.poll_transmit(now).is_some() {}
});
