#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]
//! Memory per idle hosted PPP session: one `ppp::host::Server` holding N sessions that each
//! reached the network phase (LCP, MS-CHAPv2, IPCP: L2TP server defaults) and then sit idle.
//!
//! The clients run in batches of 1000 and are dropped after each batch, so their memory is
//! reused by the allocator; the figure is the growth of the process's resident set (Linux
//! `/proc/self/statm`) divided by N, so it includes the allocator's overhead, the session
//! table, the key index and the deadline heap. The PPP part only: no transport state.
//!
//! `cargo bench -p rosproto-ppp --bench host_memory` (env `PPP_HOST_SESSIONS`, default 100000).

use netsim::TestRng;
use ppp::aaa::{Aaa, Secret};
use ppp::host::{Client, ClientEvent, Server, ServerConfig};
use ppp::settings::{ClientSettings, ServerSettings};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let n: u32 = std::env::var("PPP_HOST_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let t0 = Instant::now();
    let mut host: Server<u32> = Server::new(
        ServerConfig::new(ServerSettings::l2tp()),
        t0,
        TestRng::new(1),
    )
    .unwrap();
    let mut aaa = Aaa::new();
    let mut s = Secret::new("bench", "pw");
    s.local_address = Some(Ipv4Addr::new(10, 0, 0, 1));
    s.remote_address = Some(Ipv4Addr::new(10, 0, 0, 2));
    aaa.secrets.push(s);
    host.set_store(Box::new(aaa));
    let cs = ClientSettings {
        user: "bench".into(),
        password: "pw".into(),
        ..ClientSettings::l2tp()
    };
    // Warm up the allocator and the tables with one batch that is torn down again.
    let before = rss_bytes();
    let mut up_total = 0u32;
    let batch = 1000u32;
    let mut now = t0;
    let mut next = 0u32;
    while next < n {
        let m = batch.min(n - next);
        let mut clients: Vec<Client> = (0..m)
            .map(|i| {
                let mut c =
                    Client::new(cs.clone(), now, TestRng::new(u64::from(next + i))).unwrap();
                c.lower_up(now).unwrap();
                c
            })
            .collect();
        for i in 0..m {
            host.open(now, next + i, "bench").unwrap();
        }
        for _round in 0..20 {
            for (i, c) in clients.iter_mut().enumerate() {
                while let Some(f) = c.poll_transmit(now) {
                    let _ = host.handle_frame(now, &(next + i as u32), &f);
                }
            }
            while let Some(t) = host.poll_transmit(now) {
                let _ = clients[(t.key - next) as usize].handle_frame(now, &t.frame);
            }
            while host.poll_event().is_some() {}
            now += Duration::from_millis(1);
        }
        for c in clients.iter_mut() {
            while let Some(e) = c.poll_event() {
                if matches!(e, ClientEvent::Up(_)) {
                    up_total += 1;
                }
            }
        }
        drop(clients);
        next += m;
    }
    let after = rss_bytes();
    let elapsed = t0.elapsed();
    assert_eq!(host.len() as u32, n);
    println!(
        "{up_total} of {n} hosted sessions reached IPCP up ({:.1} s, {:.0} setups/s in one thread, both ends in this process)",
        elapsed.as_secs_f64(),
        f64::from(n) / elapsed.as_secs_f64()
    );
    println!(
        "resident set growth {:.1} MiB for {n} idle hosted PPP sessions: {:.0} bytes per session",
        (after.saturating_sub(before)) as f64 / (1 << 20) as f64,
        (after.saturating_sub(before)) as f64 / f64::from(n)
    );
    println!(
        "size_of::<ppp::Session>() = {} bytes",
        std::mem::size_of::<ppp::Session>()
    );
    // The host still answers its timers in O(log n).
    let t = Instant::now();
    let mut acc = 0u128;
    for _ in 0..100_000 {
        acc += host
            .poll_timeout()
            .map_or(0, |d| d.duration_since(t0).as_nanos());
    }
    println!(
        "Server::poll_timeout with {n} sessions: {:?} per call ({acc:x})",
        t.elapsed() / 100_000
    );
}
