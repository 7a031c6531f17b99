//! Per-source handshake rate limiting under load, in virtual time: after the cookie (mac2)
//! proves a source address, that source still gets only 20 handshake messages per second with
//! bursts of 5 before the device spends DH work on them (Linux `ratelimiter.c`, wireguard-go
//! `ratelimiter`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{key, two_devices, WALL};
use wireguard::cookie::CookieGenerator;
use wireguard::noise::{create_initiation, tai64n, PeerStatic};
use wireguard::wire::{Message, INITIATION_MAC1};
use wireguard::{Device, DropReason, LoadPolicy, Output};
use x25519_dalek::StaticSecret;

/// Initiations as peer A of `two_devices(_, seed, ..)` would send them to B, with their own
/// cookie state, and strictly increasing timestamps.
struct Initiator {
    st: PeerStatic,
    public: [u8; 32],
    cg: CookieGenerator,
    rng: Box<netsim::TestRng>,
}

impl Initiator {
    fn new(seed: u64, b_public: [u8; 32]) -> Self {
        let ka = key(1 + seed as u8);
        Initiator {
            st: PeerStatic::new(&StaticSecret::from(ka.0), b_public, None),
            public: ka.public_key().0,
            cg: CookieGenerator::new(&b_public),
            rng: common::rng(900 + seed),
        }
    }
    fn next(&mut self, now: Instant) -> Vec<u8> {
        // Strictly newer TAI64N labels across all initiators (labels have ~16.8 ms
        // granularity, so 20 ms steps).
        static N: AtomicU64 = AtomicU64::new(1);
        let ts = tai64n(WALL + Duration::from_millis(20 * N.fetch_add(1, Ordering::Relaxed)));
        let (m, _) = create_initiation(&mut *self.rng, &self.public, &self.st, 7, ts).unwrap();
        let mut b = m.to_bytes();
        self.cg.add_macs(now, &mut b, INITIATION_MAC1);
        b.to_vec()
    }
    /// Send one initiation without a cookie, take B's cookie reply.
    fn get_cookie(&mut self, b: &mut Device, now: Instant, src: SocketAddr) {
        let init = self.next(now);
        let mut out = [0u8; 256];
        assert_eq!(
            b.handle_datagram(now, src, &init, &mut out).unwrap(),
            Output::Dropped(DropReason::CookieRequired)
        );
        let reply = b.poll_transmit(now).unwrap();
        assert_eq!(reply.dst, src);
        let Ok(Message::CookieReply(r)) = Message::parse(&reply.payload) else {
            panic!("not a cookie reply")
        };
        assert!(self.cg.consume_reply(now, &r));
    }
}

fn send(b: &mut Device, now: Instant, src: SocketAddr, init: &[u8]) -> Output {
    let mut out = [0u8; 256];
    let o = b.handle_datagram(now, src, init, &mut out).unwrap();
    while b.poll_transmit(now).is_some() {}
    o
}

#[test]
fn under_load_each_source_gets_burst_5_then_20_per_second() {
    let t0 = Instant::now();
    let seed = 60;
    let (_a, mut b) = two_devices(t0, seed, |_| {}, |_| {});
    b.set_load_policy(LoadPolicy::Always);
    let src1: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let src2: SocketAddr = "192.0.2.99:40000".parse().unwrap();
    let mut i1 = Initiator::new(seed, b.public_key().0);
    let mut i2 = Initiator::new(seed, b.public_key().0);
    i1.get_cookie(&mut b, t0, src1);
    let t = t0 + Duration::from_millis(10);
    i2.get_cookie(&mut b, t, src2);

    // Eight initiations from src1, 1 ns apart (at one exact instant the fifth would find
    // exactly one message's worth of tokens; the bucket comparison is strict, as in
    // wireguard-go). The first is accepted; the next four pass the limiter and reach the
    // per-peer initiation limit (one per 20 ms); the last three are stopped by the limiter,
    // before any DH.
    let t = t0 + Duration::from_millis(100);
    let got: Vec<Output> = (0..8u64)
        .map(|k| {
            let now = t + Duration::from_nanos(k);
            let init = i1.next(now);
            send(&mut b, now, src1, &init)
        })
        .collect();
    let flood = Output::Dropped(DropReason::InitiationFlood);
    let limited = Output::Dropped(DropReason::RateLimited);
    assert_eq!(
        got,
        [
            Output::Done,
            flood,
            flood,
            flood,
            flood,
            limited,
            limited,
            limited
        ]
    );
    // Another source with its own cookie is not affected (25 ms later: past the per-peer
    // 20 ms limit).
    let t2 = t + Duration::from_millis(25);
    let init = i2.next(t2);
    assert_eq!(send(&mut b, t2, src2, &init), Output::Done);
    // src1 earns one message per 50 ms.
    let t3 = t + Duration::from_millis(40);
    let init = i1.next(t3);
    assert_eq!(send(&mut b, t3, src1, &init), limited, "40 ms: not yet");
    let t4 = t + Duration::from_millis(50) + Duration::from_nanos(8);
    let init = i1.next(t4);
    assert_eq!(
        send(&mut b, t4, src1, &init),
        Output::Done,
        "50 ms: one more"
    );
    let init = i1.next(t4);
    assert_eq!(send(&mut b, t4, src1, &init), limited);
    assert_eq!(b.stats().dropped(DropReason::RateLimited), 5);
    assert_eq!(b.rate_limiter().len(), 2);
    // After more than a second of silence the sources are forgotten (lazily, on the next
    // message) and src1 starts over with a full burst.
    let t5 = t4 + Duration::from_millis(1100);
    let init = i1.next(t5);
    assert_eq!(send(&mut b, t5, src1, &init), Output::Done);
    assert_eq!(b.rate_limiter().len(), 1);
}

#[test]
fn not_under_load_the_limiter_is_not_consulted() {
    let t0 = Instant::now();
    let seed = 61;
    let (_a, mut b) = two_devices(t0, seed, |_| {}, |_| {});
    b.set_load_policy(LoadPolicy::Never);
    let src: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let mut i = Initiator::new(seed, b.public_key().0);
    for k in 0..10u64 {
        // 25 ms apart: every one is accepted (above the per-peer 20 ms limit, no cookies).
        let now = t0 + Duration::from_millis(25 * k);
        let init = i.next(now);
        assert_eq!(send(&mut b, now, src, &init), Output::Done, "{k}");
    }
    assert_eq!(b.stats().dropped(DropReason::RateLimited), 0);
    assert!(b.rate_limiter().is_empty());
}

#[test]
fn full_limiter_table_refuses_new_sources_under_load() {
    let t0 = Instant::now();
    let seed = 62;
    let (_a, mut b) = two_devices(t0, seed, |_| {}, |_| {});
    b.set_load_policy(LoadPolicy::Always);
    b.set_rate_limiter_capacity(1);
    let src1: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let src2: SocketAddr = "192.0.2.2:51820".parse().unwrap();
    let mut i1 = Initiator::new(seed, b.public_key().0);
    let mut i2 = Initiator::new(seed, b.public_key().0);
    i1.get_cookie(&mut b, t0, src1);
    i2.get_cookie(&mut b, t0, src2);
    let init = i1.next(t0);
    assert_eq!(send(&mut b, t0, src1, &init), Output::Done);
    let t = t0 + Duration::from_millis(30);
    let init = i2.next(t);
    assert_eq!(
        send(&mut b, t, src2, &init),
        Output::Dropped(DropReason::RateLimited)
    );
    // Once src1's entry is idle for over a second it is collected and src2 gets in.
    let t = t0 + Duration::from_millis(1500);
    let init = i2.next(t);
    assert_eq!(send(&mut b, t, src2, &init), Output::Done);
}

/// A 148-byte type-1 message with random contents and a valid mac1 for `b`: it passes the
/// mac1 check (so it counts towards the handshake load) and then fails in the Noise step.
fn junk_initiation(cg: &mut CookieGenerator, rng: &mut netsim::TestRng, now: Instant) -> Vec<u8> {
    use rand_core::RngCore;
    let mut m = [0u8; 148];
    rng.fill_bytes(&mut m);
    m[..4].copy_from_slice(&[1, 0, 0, 0]);
    cg.add_macs(now, &mut m, INITIATION_MAC1);
    m.to_vec()
}

/// `LoadPolicy::Auto { max_per_second }`: up to `max_per_second` handshake messages within one
/// second are answered without cookies; the next one switches the device under load (that
/// message already needs mac2 and gets a cookie reply), for one second after the last message
/// above the rate. Then a quiet device answers without cookies again.
#[test]
fn auto_load_policy_detects_load_and_recovers() {
    let t0 = Instant::now();
    let seed = 63;
    let (_a, mut b) = two_devices(t0, seed, |_| {}, |_| {});
    b.set_load_policy(LoadPolicy::Auto { max_per_second: 10 });
    let src: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let flood: SocketAddr = "198.51.100.7:4000".parse().unwrap();
    let mut cg = CookieGenerator::new(&b.public_key().0);
    let mut rng = netsim::TestRng::new(seed);
    let ms = |n: u64| t0 + Duration::from_millis(n);
    for k in 0..10 {
        let junk = junk_initiation(&mut cg, &mut rng, ms(k));
        assert_eq!(
            send(&mut b, ms(k), flood, &junk),
            Output::Dropped(DropReason::BadHandshakeAuth),
            "message {k}: below the rate, processed (and rejected by Noise)"
        );
        assert!(!b.under_load(ms(k)));
    }
    assert_eq!(b.stats().cookie_replies_sent, 0);
    // The 11th within the second: under load from here on, and this one needs a cookie.
    let junk = junk_initiation(&mut cg, &mut rng, ms(10));
    assert_eq!(
        send(&mut b, ms(10), flood, &junk),
        Output::Dropped(DropReason::CookieRequired)
    );
    assert!(b.under_load(ms(10)));
    assert_eq!(b.stats().cookie_replies_sent, 1);
    // The legitimate peer now needs a cookie too.
    let mut i = Initiator::new(seed, b.public_key().0);
    let init = i.next(ms(500));
    assert_eq!(
        send(&mut b, ms(500), src, &init),
        Output::Dropped(DropReason::CookieRequired)
    );
    // Load lasts one second after the last message above the rate (that legitimate one was
    // the 12th of the window): still on at 1.499 s ...
    assert!(b.under_load(ms(1499)));
    // ... off at 1.5 s with no more traffic, and a fresh initiation goes straight through.
    assert!(!b.under_load(ms(1500)));
    let init = i.next(ms(1600));
    assert_eq!(send(&mut b, ms(1600), src, &init), Output::Done);
    assert_eq!(b.stats().cookie_replies_sent, 2);
}

/// The default policy is `Auto { max_per_second: 1000 }` (a device's under-load detection is
/// on unless the caller turns it off): 1000 handshake messages in a second are answered
/// without cookies, the 1001st is not.
#[test]
fn default_load_policy_is_auto_1000_per_second() {
    let t0 = Instant::now();
    let (_a, mut b) = two_devices(t0, 64, |_| {}, |_| {});
    let flood: SocketAddr = "198.51.100.7:4000".parse().unwrap();
    let mut cg = CookieGenerator::new(&b.public_key().0);
    let mut rng = netsim::TestRng::new(64);
    for k in 0..1000u64 {
        let now = t0 + Duration::from_micros(900 * k);
        let junk = junk_initiation(&mut cg, &mut rng, now);
        send(&mut b, now, flood, &junk);
        assert!(!b.under_load(now), "message {k}");
    }
    let now = t0 + Duration::from_millis(900);
    let junk = junk_initiation(&mut cg, &mut rng, now);
    assert_eq!(
        send(&mut b, now, flood, &junk),
        Output::Dropped(DropReason::CookieRequired)
    );
    assert!(b.under_load(now));
}
