#![no_main]
//! Established managed L2TPv3 connection with two sessions (no digest, so mutated control
//! messages reach the state machine): datagrams (1-byte length prefix) into the responder,
//! which must stay bounded and never panic.
use std::time::{Duration, Instant};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use l2tp::v3::{ControlConnectionV3, V3Config};
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
    for _ in 0..20 {
        while let Some(d) = a.poll_transmit(now) {
            let _ = b.handle_input(now, &d);
        }
        while let Some(d) = b.poll_transmit(now) {
            let _ = a.handle_input(now, &d);
        }
        now += Duration::from_millis(10);
    }
    let mut rest = data;
    while rest.len() >= 2 {
        let n = (rest[0] as usize).min(rest.len() - 1);
        let d = &rest[1..1 + n];
        rest = &rest[1 + n..];
        let _ = b.handle_input(now, d);
        while b.poll_transmit(now).is_some() {}
        while b.poll_event().is_some() {}
        while b.poll_data().is_some() {}
        now += Duration::from_millis(50);
        if b.poll_timeout().is_some_and(|t| t <= now) {
            b.handle_timeout(now);
        }
        assert!(b.session_count() <= 4);
    }
});
