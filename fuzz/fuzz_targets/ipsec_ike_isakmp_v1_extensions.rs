//! IKEv1 session extensions under fuzz input: NAT traversal (the initiator forces UDP
//! encapsulation, so both sides have floated to 4500), DPD (on, 8 s) and XAuth + mode config
//! (the responder is an XAuth server with a mode config pool, the initiator a client). A real
//! main mode runs first; the responder has then sent its XAuth REQUEST and the initiator has
//! answered it (the genuine REPLY is kept).
//! - mode byte 0: the fuzz bytes are datagrams (1 port byte, 2-byte length prefix) fed to
//!   both sides on 500 or 4500 (marker, keepalive, ESP-looking bytes, garbage);
//! - mode byte 1: the genuine XAuth REPLY is mutated (2-byte offset, xor byte) and fed to the
//!   responder (CBC, the transaction HASH and the ATTR decoder under the real ISAKMP SA), then
//!   the original, which must still produce the XAuth request event;
//! - mode byte 2: as 0, then the timers run at fuzz-chosen times (DPD probes, keepalives,
//!   retransmits, the death verdict) with the verdict given in between.
//!
//! - mode bit 2 (value 4): both sides in transport mode (NAT-OA in quick mode).
//!
//! Never panics.
#![no_main]

use std::time::Duration;

use fuzz::{base_instant, TestRng};
use ipsec_ike::crypto::Group;
use ipsec_ike::v1::session::{ModeConfig, Session, SessionConfig, SessionEvent};
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

fn feed(s: &mut Session, now: std::time::Instant, t: Option<ipsec_ike::v1::session::Transmit>) {
    if let Some(t) = t {
        s.handle_datagram(now, t.remote_port, &t.payload);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let now = base_instant();
    let mut ci = cfg("10.0.0.1");
    ci.force_encap = true;
    ci.xauth_client = Some((b"alice".to_vec(), b"secret".to_vec().into()));
    ci.mode_config_client = true;
    let mut cr = cfg("10.0.0.2");
    cr.xauth_server = true;
    cr.mode_config_server = Some(ModeConfig {
        address: "10.9.0.2".parse().unwrap(),
        netmask: "255.255.255.0".parse().unwrap(),
        dns: vec!["10.9.0.1".parse().unwrap()],
        split_include: vec![("10.2.0.0".parse().unwrap(), "255.255.0.0".parse().unwrap())],
    });
    // Mode bit 2: transport mode (quick mode then carries NAT-OA, the session being floated).
    ci.transport = mode & 4 != 0;
    cr.transport = mode & 4 != 0;
    let mut i = Session::initiator(ci, now, TestRng::boxed(1)).unwrap();
    let mut r = Session::responder(cr, TestRng::boxed(2)).unwrap();
    // Main mode M1..M6.
    for _ in 0..3 {
        let m = i.poll_transmit(now);
        feed(&mut r, now, m);
        let a = r.poll_transmit(now);
        feed(&mut i, now, a);
    }
    // The responder's XAuth REQUEST went out with M6; the initiator answers it.
    let req = r.poll_transmit(now);
    feed(&mut i, now, req);
    let reply = i.poll_transmit(now).unwrap();
    assert_eq!(reply.remote_port, 4500, "forced encapsulation floated");
    let port = reply.remote_port;
    match mode % 3 {
        1 => {
            let mut m = reply.payload.clone();
            for p in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([p[0], p[1]])) % m.len();
                m[at] ^= p[2];
            }
            r.handle_datagram(now, port, &m);
            let asked = |r: &mut Session| {
                std::iter::from_fn(|| r.poll_event())
                    .any(|e| matches!(e, SessionEvent::XAuthRequest(_)))
            };
            // A mutation only in the padding keeps HASH and ATTR intact and is accepted;
            // otherwise the genuine REPLY must still be.
            if !asked(&mut r) {
                r.handle_datagram(now, port, &reply.payload);
                assert!(asked(&mut r), "genuine XAuth REPLY refused after garbage");
            }
        }
        m => {
            let mut b = rest;
            while b.len() >= 3 {
                let p = if b[0] & 1 == 0 { 500 } else { 4500 };
                let n = usize::from(u16::from_le_bytes([b[1], b[2]])).min(b.len() - 3);
                r.handle_datagram(now, p, &b[3..3 + n]);
                i.handle_datagram(now, p, &b[3..3 + n]);
                b = &b[3 + n..];
            }
            if m == 2 {
                r.handle_datagram(now, port, &reply.payload);
                let mut t = now;
                for (k, step) in rest.iter().take(16).enumerate() {
                    t += Duration::from_millis(u64::from(*step) * 250);
                    if k == 2 {
                        r.xauth_verdict(t, step & 1 == 0);
                    }
                    i.handle_timeout(t);
                    r.handle_timeout(t);
                    while let Some(x) = i.poll_transmit(now) {
                        r.handle_datagram(t, x.remote_port, &x.payload);
                    }
                    while let Some(x) = r.poll_transmit(now) {
                        i.handle_datagram(t, x.remote_port, &x.payload);
                    }
                }
            }
        }
    }
    r.handle_timeout(now + Duration::from_secs(3600));
    i.handle_timeout(now + Duration::from_secs(3600));
    while r.poll_transmit(now).is_some() {}
    while i.poll_transmit(now).is_some() {}
    while r.poll_event().is_some() {}
});
