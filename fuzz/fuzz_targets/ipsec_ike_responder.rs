//! IKEv2 responder input path, stateless and stateful:
//! - a valid IKE_SA_INIT exchange is run first (a real initiator against the responder);
//! - mode byte 0: the fuzz bytes are datagrams (2-byte length prefix) fed to the responder
//!   on port 500 or 4500 (the IKE_SA_INIT path, unknown SPIs, ESP classification);
//! - mode byte 1: the initiator's real IKE_AUTH request is mutated (pairs of offset/xor bytes)
//!   and fed, then the original;
//! - mode byte 2: the fuzz bytes are the *plaintext* payload chain of the second message,
//!   encrypted with the initiator's real keys, so the responder's IKE_AUTH parsing and
//!   authentication see arbitrary payloads behind a valid integrity check.
//!
//! Never panics; the engine stays usable (timers run afterwards).
#![no_main]

use std::net::SocketAddr;
use std::time::Duration;

use fuzz::{base_instant, TestRng};
use ipsec_ike::config::*;
use ipsec_ike::crypto::{Encr, Group};
use ipsec_ike::sk::SkCodec;
use ipsec_ike::wire::{ExchangeType, Header, PayloadType, FLAG_INITIATOR};
use ipsec_ike::{Ike, IkeSaId};

fn cfg(peer: &str, addr: &str) -> IpsecConfig {
    let mut c = IpsecConfig::default();
    c.profiles[0].dh_group = vec![Group::Curve25519];
    c.profiles[0].enc_algorithm = vec![Encr::AesCbc(16)];
    c.profiles[0].hash_algorithm = vec![HashAlgorithm::Sha256];
    c.settings.cookie_threshold = 1000;
    c.peers.push(Peer {
        name: peer.into(),
        address: format!("{addr}/32").parse().unwrap(),
        exchange_mode: ExchangeMode::Ike2,
        ..Peer::default()
    });
    c.identities.push(Identity::psk(peer, "fuzz"));
    c
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = base_instant();
    let ia: SocketAddr = "192.0.2.1:500".parse().unwrap();
    let ra: SocketAddr = "192.0.2.2:500".parse().unwrap();
    let mut i = Ike::new(
        cfg("r", "192.0.2.2"),
        Default::default(),
        ia.ip(),
        now,
        Box::new(TestRng(1)),
    )
    .unwrap();
    let mut r = Ike::new(
        cfg("i", "192.0.2.1"),
        Default::default(),
        ra.ip(),
        now,
        Box::new(TestRng(2)),
    )
    .unwrap();
    let sa: IkeSaId = i.connect(now, "r", Some(ra)).unwrap();
    let init = i.poll_transmit(now).unwrap();
    r.handle_datagram(now, ra, ia, &init.payload);
    let resp = r.poll_transmit(now).unwrap();
    i.handle_datagram(now, ia, ra, &resp.payload);
    let auth = i.poll_transmit(now).unwrap().payload;
    let (mode, rest) = match data.split_first() {
        Some((m, r)) => (*m % 3, r),
        None => return,
    };
    match mode {
        0 => {
            let mut rest = rest;
            while rest.len() >= 2 {
                let n = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % 1500;
                rest = &rest[2..];
                let (d, tail) = rest.split_at(n.min(rest.len()));
                let local = if n % 2 == 0 {
                    ra
                } else {
                    "192.0.2.2:4500".parse().unwrap()
                };
                let _ = r.handle_datagram(now, local, ia, d);
                rest = tail;
            }
        }
        1 => {
            let mut m = auth.clone();
            for c in rest.chunks(3) {
                if c.len() == 3 && !m.is_empty() {
                    let at = usize::from(u16::from_le_bytes([c[0], c[1]])) % m.len();
                    m[at] ^= c[2];
                }
            }
            let _ = r.handle_datagram(now, ra, ia, &m);
            let _ = r.handle_datagram(now, ra, ia, &auth);
        }
        _ => {
            let s = i.ike_sa(sa).unwrap();
            let (Some(keys), Some(suite)) = (s.keys.as_ref(), s.suite) else {
                return;
            };
            let codec = SkCodec::new(
                suite.encr,
                &keys.sk_ei,
                suite.integ.map(|x| (x, &keys.sk_ai[..])),
            )
            .unwrap();
            let h = Header {
                spi_i: s.spi_i,
                spi_r: s.spi_r,
                next_payload: PayloadType::SK,
                version: 0x20,
                exchange: ExchangeType::IKE_AUTH,
                flags: FLAG_INITIATOR,
                message_id: 1,
                length: 0,
            };
            let (first, inner) = match rest.split_first() {
                Some((f, x)) => (PayloadType(*f), x),
                None => return,
            };
            let m = codec
                .seal(&h, &[], first, inner, None, &[0u8; 16], None)
                .unwrap();
            let _ = r.handle_datagram(now, ra, ia, &m);
        }
    }
    while r.poll_transmit(now).is_some() {}
    while r.poll_event().is_some() {}
    r.handle_timeout(now + Duration::from_secs(40));
    assert_eq!(r.half_open_count(), 0, "half-open SAs time out");
});
