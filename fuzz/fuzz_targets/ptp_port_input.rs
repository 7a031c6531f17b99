#![no_main]
//! Port input path: a clock fed a sequence of fuzzed datagrams (split on a 2-byte length
//! prefix), with receive timestamps, timers and transmit-timestamp reports interleaved. The
//! first byte picks the profile (default / 802.1AS / G.8275.1 with a notSlave port) and the
//! servo mode (steering / free-running).
use std::time::{Duration, Instant};

use fuzz::TestRng;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let mut cfg = ptp::Config {
        ports: vec![ptp::PortConfig::new("a"), ptp::PortConfig::new("b")],
        profile: match mode % 3 {
            0 => ptp::Profile::Default,
            1 => ptp::Profile::Ieee8021As,
            _ => ptp::Profile::G8275_1,
        },
        ..ptp::Config::default()
    };
    cfg.ports[1].not_slave = mode & 0x10 != 0;
    cfg.ports[0].local_priority = mode | 1;
    cfg.servo.free_running = mode & 0x20 != 0;
    let Ok(mut clock) = ptp::Clock::new(&cfg, Box::new(TestRng(1)), start) else {
        return;
    };
    let mut rest = data;
    let mut now = start;
    let mut buf = [0u8; 1500];
    let mut n = 0u64;
    while rest.len() >= 3 {
        let ctl = rest[0];
        let len = usize::from(rest[1]).min(rest.len() - 2);
        let msg = &rest[2..2 + len];
        rest = &rest[2 + len..];
        n += 1;
        now += Duration::from_millis(u64::from(ctl & 0x3F) * 50);
        let port = usize::from(ctl >> 7);
        let ts = ptp::wire::Time::from_nanos(i128::from(n) * 1_000_000_000 + i128::from(ctl));
        let _ = clock.handle_input(now, port, msg, (ctl & 0x40 != 0).then_some(ts));
        if clock.poll_timeout().is_some_and(|d| d <= now) {
            clock.handle_timeout(now);
        }
        while let Ok(Some(tx)) = clock.poll_transmit(now, &mut buf) {
            if let Some(tok) = tx.token {
                if n.is_multiple_of(3) {
                    clock.handle_tx_timestamp_missing(now, tok);
                } else {
                    clock.handle_tx_timestamp(now, tok, ts);
                }
            }
        }
        while clock.poll_event().is_some() {}
        let _ = clock.monitor();
    }
});
