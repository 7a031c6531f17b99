#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]
//! `PppLns` at scale: N L2TP clients (each its own tunnel, MS-CHAPv2, IPCP) against one
//! `PppLns` in memory, then the cost of the server's timer calls with N PPP sessions held:
//! `poll_timeout` (heap, O(log n) amortised) next to the O(n) scan over all PPP sessions that
//! the previous implementation did on every call.
//!
//! `cargo bench -p rosproto-l2tp --bench ppp_lns_timers` (env `L2TP_PPP_SESSIONS`, default 10000).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use l2tp::config::{ClientConfig, ServerConfig};
use l2tp::ppp_link::{ClientEvent, L2tpClient, PppLns};
use l2tp::server::Peer;
use l2tp::TunnelConfig;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn aaa() -> ppp::aaa::Aaa {
    let mut a = ppp::aaa::Aaa::new();
    let mut s = ppp::aaa::Secret::new("bench", "pw");
    s.local_address = Some(Ipv4Addr::new(10, 98, 41, 1));
    s.remote_address = Some(Ipv4Addr::new(10, 98, 41, 10));
    a.secrets.push(s);
    a
}

fn main() {
    let n: usize = std::env::var("L2TP_PPP_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let t0 = Instant::now();
    let mut server: PppLns<u32> = PppLns::new(
        ServerConfig::default(),
        TunnelConfig::default(),
        Box::new(|_, _| None),
        t0,
        &mut ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    server.set_store(Box::new(aaa()));
    let mut now = t0;
    let mut ccfg = ClientConfig::default();
    ccfg.ppp.user = "bench".into();
    ccfg.ppp.password = "pw".into();
    let mut clients: Vec<L2tpClient> = (0..n)
        .map(|i| {
            L2tpClient::new(
                ccfg.clone(),
                now,
                &mut ChaCha20Rng::seed_from_u64(1000 + i as u64),
            )
            .unwrap()
        })
        .collect();
    let mut up = vec![false; n];
    let mut n_up = 0;
    let mut rounds = 0;
    while n_up < n && rounds < 10_000 {
        rounds += 1;
        let mut moved = false;
        for (i, c) in clients.iter_mut().enumerate() {
            let peer = Peer {
                key: i as u32,
                addr: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32)),
                via_ipsec: false,
            };
            while let Some(d) = c.poll_transmit(now) {
                moved = true;
                let _ = server.handle_input(now, &peer, &d);
            }
            while let Some(e) = c.poll_event() {
                if matches!(e, ClientEvent::Ppp(ppp::host::ClientEvent::Up(_))) && !up[i] {
                    up[i] = true;
                    n_up += 1;
                }
            }
        }
        while let Some((k, d)) = server.poll_transmit(now) {
            moved = true;
            let _ = clients[k as usize].handle_input(now, &d);
        }
        while server.poll_event().is_some() {}
        if !moved {
            now += Duration::from_millis(10);
            if server.poll_timeout().is_some_and(|t| t <= now) {
                server.handle_timeout(now);
            }
            for c in clients.iter_mut() {
                if c.poll_timeout().is_some_and(|t| t <= now) {
                    c.handle_timeout(now);
                }
            }
        }
    }
    let setup = t0.elapsed();
    println!(
        "{n_up} of {n} clients reached IPCP up (L2TP tunnel + session + LCP + MS-CHAPv2 + IPCP, both ends in this process) in {:.2} s: {:.0} sessions/s",
        setup.as_secs_f64(),
        n_up as f64 / setup.as_secs_f64()
    );
    // Timer calls with n PPP sessions held.
    let iters = 100_000u32;
    let t = Instant::now();
    let mut acc = 0u64;
    for _ in 0..iters {
        if let Some(d) = server.poll_timeout() {
            acc = acc.wrapping_add(d.duration_since(t0).as_nanos() as u64);
        }
    }
    let heap = t.elapsed() / iters;
    // The previous implementation's cost: a min over every PPP session's poll_timeout.
    let keys: Vec<(u16, u16)> = server
        .lns()
        .tunnel_ids()
        .flat_map(|tid| {
            server
                .lns()
                .tunnel(tid)
                .into_iter()
                .flat_map(move |t| t.sessions().map(move |s| (tid, s.local_id)))
        })
        .collect();
    let scan_iters = 100u32;
    let t = Instant::now();
    for _ in 0..scan_iters {
        let m = keys
            .iter()
            .filter_map(|(a, b)| server.ppp(*a, *b).and_then(|p| p.poll_timeout()))
            .min();
        if let Some(d) = m {
            acc = acc.wrapping_add(d.duration_since(t0).as_nanos() as u64);
        }
    }
    let scan = t.elapsed() / scan_iters;
    println!(
        "PppLns::poll_timeout with {} PPP sessions: {:?} per call (heap); an O(n) scan over them: {:?} per call ({acc:x})",
        keys.len(),
        heap,
        scan
    );
}
