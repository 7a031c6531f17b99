#![no_main]
//! Session input path: the fuzz input is a sequence of length-prefixed frames fed to a client
//! and a server session (time advancing), with all outputs drained and timers fired.
use fuzz::TestRng as Rng;
use ppp::{Config, Role, Session};
use std::time::{Duration, Instant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut c = Config::pppoe_server();
    c.ipv6 = true;
    let mut sessions = [
        Session::new(Config::l2tp_client(), Role::Client, now, Rng(1)).expect("config"),
        Session::new(c, Role::Server, now, Rng(2)).expect("config"),
    ];
    for s in sessions.iter_mut() {
        s.open(now);
    }
    let mut t = now;
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (frame, next) = tail.split_at(n);
        rest = next;
        for s in sessions.iter_mut() {
            let _ = s.handle_frame(t, frame);
            while s.poll_transmit(t).is_some() {}
            while let Some(ev) = s.poll_event() {
                if let ppp::Event::AuthRequested(r) = ev {
                    let v = ppp::Verdict::Password {
                        password: "pw".into(),
                        attributes: Default::default(),
                    };
                    let _ = s.auth_verdict(t, r.id, v);
                }
            }
            if let Some(d) = s.poll_timeout() {
                if d <= t {
                    s.handle_timeout(t);
                    assert!(s.poll_timeout().is_none_or(|n| n > t));
                }
            }
        }
        t += Duration::from_millis(700);
    }
});
