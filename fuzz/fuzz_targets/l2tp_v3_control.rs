#![no_main]
//! L2TPv3 managed control connection input path: datagrams (1-byte length prefix) into a
//! responder and an initiator (digest none, so inputs reach the state machine), interleaved
//! with timeouts and transmit polling.
use std::time::{Duration, Instant};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use l2tp::v3::{ControlConnectionV3, V3Config};
    let now = Instant::now();
    let cfg = V3Config {
        secret: None,
        cookie_len: 4,
        ..V3Config::default()
    };
    let (Ok(mut resp), Ok(mut init)) = (
        ControlConnectionV3::with_seed(cfg.clone(), false, [1; 32]),
        ControlConnectionV3::with_seed(cfg, true, [2; 32]),
    ) else {
        return;
    };
    let _ = init.connect(now);
    let mut rest = data;
    let mut at = now;
    while !rest.is_empty() {
        let n = (rest[0] as usize).min(rest.len() - 1);
        let d = &rest[1..1 + n];
        rest = &rest[1 + n..];
        for c in [&mut resp, &mut init] {
            let _ = c.handle_input(at, d);
            while c.poll_transmit(at).is_some() {}
            while c.poll_event().is_some() {}
            if let Some(t) = c.poll_timeout() {
                at = at.max(t);
                c.handle_timeout(at);
            }
            let mut out = [0u8; 64];
            let _ = c.encapsulate(&[0u8; 20], &mut out);
        }
        at += Duration::from_millis(100);
    }
});
