#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]
//! LNS at scale, simulated peers in memory: session setups per second on one core and resident
//! memory per idle session (RSS delta from /proc/self/statm, Linux only).
//!
//! `cargo bench -p rosproto-l2tp --bench lns_scale` (env `L2TP_SESSIONS`, default 100000; sessions are
//! spread over tunnels of 1000 sessions each).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use l2tp::config::ServerConfig;
use l2tp::server::{Lns, Peer};
use l2tp::{CallInfo, ControlConfig, Event, Tunnel, TunnelConfig};

const UNLIMITED: l2tp::RateLimit = l2tp::RateLimit {
    per_second: u32::MAX,
    burst: u32::MAX,
};

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

fn main() {
    let total: usize = std::env::var("L2TP_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let per_tunnel = 1000usize;
    let tunnels = total.div_ceil(per_tunnel);
    let control = ControlConfig {
        receive_window: 64,
        ..Default::default()
    };
    let tcfg = TunnelConfig {
        control: control.clone(),
        ..Default::default()
    };
    // Every LAC connects at once: lift the SCCRQ flood limits (see tests/flood.rs).
    let mut lns: Lns<u32> = Lns::with_seed(
        ServerConfig {
            sccrq_rate_global: UNLIMITED,
            max_half_open: 65535,
            ..ServerConfig::default()
        },
        tcfg.clone(),
        Box::new(|_, _| None),
        [9; 32],
    )
    .unwrap();
    let rss0 = rss_bytes();
    let t0 = Instant::now();
    let mut now = t0;
    let mut lacs = Vec::new();
    for i in 0..tunnels {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&(i as u32).to_be_bytes());
        lacs.push(Tunnel::connect_with_seed(tcfg.clone(), now, seed).unwrap());
    }
    let mut up_sessions = 0usize;
    let mut placed = vec![false; tunnels];
    let mut rounds = 0;
    while up_sessions < total && rounds < 100_000 {
        rounds += 1;
        let mut moved = false;
        for (i, lac) in lacs.iter_mut().enumerate() {
            let peer = Peer {
                key: i as u32,
                addr: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32)),
                via_ipsec: false,
            };
            while let Some(d) = lac.poll_transmit(now) {
                moved = true;
                let _ = lns.handle_input(now, &peer, &d);
            }
            while let Some(e) = lac.poll_event() {
                match e {
                    Event::TunnelUp { .. } if !placed[i] => {
                        placed[i] = true;
                        let n = per_tunnel.min(total - i * per_tunnel);
                        for _ in 0..n {
                            lac.incoming_call(now, CallInfo::default()).unwrap();
                        }
                    }
                    Event::SessionUp { .. } => up_sessions += 1,
                    _ => {}
                }
            }
        }
        while let Some((k, d)) = lns.poll_transmit(now) {
            moved = true;
            let _ = lacs[k as usize].handle_input(now, &d);
        }
        while lns.poll_event().is_some() {}
        if !moved {
            now += Duration::from_millis(10);
            lns.handle_timeout(now);
            for l in lacs.iter_mut() {
                if l.poll_timeout().is_some_and(|t| t <= now) {
                    l.handle_timeout(now);
                }
            }
        }
    }
    let wall = t0.elapsed();
    let rss1 = rss_bytes();
    println!(
        "sessions up: {up_sessions} (LNS holds {} sessions in {} tunnels)",
        lns.session_count(),
        lns.tunnel_count()
    );
    println!(
        "setup rate: {:.0} sessions/s on one core (both ends simulated: LAC tunnels and LNS in this process, {:.2} s wall)",
        up_sessions as f64 / wall.as_secs_f64(),
        wall.as_secs_f64()
    );
    println!(
        "RSS delta {:.1} MiB for both ends: {:.0} bytes per session (LAC + LNS sides together)",
        (rss1.saturating_sub(rss0)) as f64 / (1024.0 * 1024.0),
        rss1.saturating_sub(rss0) as f64 / up_sessions.max(1) as f64
    );
    drop(lacs);
    let rss2 = rss_bytes();
    println!(
        "after dropping the LAC side: RSS {:.1} MiB over baseline (allocator may keep freed pages)",
        (rss2.saturating_sub(rss0)) as f64 / (1024.0 * 1024.0)
    );

    v3_scale();
}

/// L2TPv3 over IP: N clients (one control connection and one Ethernet pseudowire session
/// each, Message Digest with nonces) against one `Lns`; env `L2TP_V3_CONNECTIONS`
/// (default 10000).
fn v3_scale() {
    use l2tp::v3::{ControlConnectionV3, V3Config};
    use l2tp::wire::v3::Encap;
    let n: usize = std::env::var("L2TP_V3_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let mut lns: Lns<u32> = Lns::with_seed(
        ServerConfig {
            enabled: true,
            max_tunnels: n + 1,
            sccrq_rate_global: UNLIMITED,
            ..ServerConfig::default()
        },
        TunnelConfig::default(),
        Box::new(|_, _| Some(b"secret".to_vec())),
        [7; 32],
    )
    .unwrap();
    let t0 = Instant::now();
    let mut now = t0;
    let cfg = V3Config {
        encap: Encap::Ip,
        secret: Some(b"secret".to_vec()),
        cookie_len: 4,
        l2_sublayer: true,
        ..V3Config::default()
    };
    let mut cs: Vec<ControlConnectionV3> = (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let mut c = ControlConnectionV3::with_seed(cfg.clone(), true, seed).unwrap();
            c.connect(now).unwrap();
            c
        })
        .collect();
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut moved = false;
        for (i, c) in cs.iter_mut().enumerate() {
            let peer = Peer {
                key: i as u32,
                addr: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32)),
                via_ipsec: false,
            };
            while let Some(d) = c.poll_transmit(now) {
                moved = true;
                let _ = lns.handle_input_ip(now, &peer, &d);
            }
            while c.poll_event().is_some() {}
        }
        while let Some((k, d)) = lns.poll_transmit(now) {
            moved = true;
            let _ = cs[k as usize].handle_input(now, &d);
        }
        while lns.poll_v3_event().is_some() {}
        if !moved {
            if lns.v3_session_count() == n || rounds > 100_000 {
                break;
            }
            now += Duration::from_millis(10);
            lns.handle_timeout(now);
            for c in cs.iter_mut() {
                if c.poll_timeout().is_some_and(|t| t <= now) {
                    c.handle_timeout(now);
                }
            }
        }
    }
    let wall = t0.elapsed();
    println!(
        "L2TPv3 over IP: {} connections with one session each up in {:.2} s: {:.0} setups/s (both ends in this process, HMAC-MD5 digest)",
        lns.v3_session_count(),
        wall.as_secs_f64(),
        lns.v3_session_count() as f64 / wall.as_secs_f64()
    );
}
