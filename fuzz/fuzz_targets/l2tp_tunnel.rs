#![no_main]
//! Tunnel input path: the input is split into datagrams by a 1-byte length prefix and fed to a
//! responder tunnel (with and without a secret), with timers fired in between.
use std::time::{Duration, Instant};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    for secret in [None, Some(b"s".to_vec())] {
        let cfg = l2tp::TunnelConfig {
            secret: secret.clone(),
            ..Default::default()
        };
        let Ok(mut t) = l2tp::Tunnel::accept_with_seed(cfg, now, [7; 32], 0x1234) else {
            return;
        };
        let mut rest = data;
        let mut at = now;
        while let Some((&n, tail)) = rest.split_first() {
            let n = (n as usize).min(tail.len());
            let (d, r) = tail.split_at(n);
            rest = r;
            let _ = t.handle_input(at, d);
            while t.poll_transmit(at).is_some() {}
            while t.poll_event().is_some() {}
            at += Duration::from_millis(300);
            if t.poll_timeout().is_some_and(|x| x <= at) {
                t.handle_timeout(at);
            }
        }
    }
});
