#![no_main]
//! Session input path: the fuzz input is a sequence of length-prefixed frames fed to a client
//! and a server session (time advancing), with all outputs drained and timers fired.
use ppp::rand_core::{impls, CryptoRng, Error, RngCore};
use ppp::{Config, Role, Session};
use std::time::{Duration, Instant};

struct Rng(u64);
impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 7
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        impls::fill_bytes_via_next(self, d)
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(d);
        Ok(())
    }
}
impl CryptoRng for Rng {}

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
