#![no_main]
//! Established managed L2TPv3 connection with an incoming and an outgoing call (no digest, so
//! mutated control messages reach the state machine). Records are `len` + bytes: with the top
//! bit of `len` clear the bytes are a datagram for the responder `b`; with it set the first
//! byte picks a command (circuit status up/down via SLI, WEN, a new outgoing or incoming
//! call, one naming a circuit (session tie breaker), closing a session) run on either side, after which both sides exchange their
//! output. Both must stay bounded and never panic.
use std::time::{Duration, Instant};

use l2tp::v3::ControlConnectionV3;

fn pump(a: &mut ControlConnectionV3, b: &mut ControlConnectionV3, now: Instant) {
    for _ in 0..4 {
        while let Some(d) = a.poll_transmit(now) {
            let _ = b.handle_input(now, &d);
        }
        while let Some(d) = b.poll_transmit(now) {
            let _ = a.handle_input(now, &d);
        }
    }
    for c in [a, b] {
        while c.poll_event().is_some() {}
        while c.poll_data().is_some() {}
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use l2tp::v3::V3Config;
    use l2tp::wire::v3::Encap;
    let cfg = V3Config {
        secret: None,
        encap: Encap::Udp,
        cookie_len: 4,
        l2_sublayer: true,
        max_sessions: 4,
        reorder: Some(l2tp::reorder::ReorderConfig::default()),
        ..V3Config::default()
    };
    let (Ok(mut a), Ok(mut b)) = (
        ControlConnectionV3::with_seed(cfg.clone(), true, [1; 32]),
        ControlConnectionV3::with_seed(cfg, false, [2; 32]),
    ) else {
        return;
    };
    let mut now = Instant::now();
    let _ = a.connect(now);
    let _ = a.open_session(now);
    let _ = a.open_outgoing_session(now);
    for _ in 0..20 {
        pump(&mut a, &mut b, now);
        now += Duration::from_millis(10);
    }
    let mut rest = data;
    while rest.len() >= 2 {
        let n = usize::from(rest[0] & 0x7f).min(rest.len() - 1);
        let command = rest[0] & 0x80 != 0;
        let d = &rest[1..1 + n];
        rest = &rest[1 + n..];
        if command {
            let op = d.first().copied().unwrap_or(0);
            let (x, y) = if op & 0x80 != 0 {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            let sids: Vec<u32> = x.sessions().map(|s| s.local_session_id()).collect();
            let sid = sids
                .get(usize::from(op >> 3 & 3) % sids.len().max(1))
                .copied()
                .unwrap_or(0);
            let _ = match op & 7 {
                0 | 1 => x.set_circuit_status(now, sid, op & 1 == 1),
                2 => x.report_circuit_errors(now, sid, [u32::from(op); 6]),
                3 => x.open_outgoing_session(now).map(|_| ()),
                4 => x.open_session(now).map(|_| ()),
                5 => x.close_session(now, sid),
                6 => x.open_call(now, op & 0x40 != 0, b"pw").map(|_| ()),
                _ => Ok(()),
            };
            pump(x, y, now);
        } else {
            let _ = b.handle_input(now, d);
            while b.poll_transmit(now).is_some() {}
            while b.poll_event().is_some() {}
            while b.poll_data().is_some() {}
        }
        now += Duration::from_millis(50);
        for c in [&mut a, &mut b] {
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.handle_timeout(now);
            }
        }
        assert!(a.session_count() <= 4 && b.session_count() <= 4);
    }
});
