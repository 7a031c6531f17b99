//! `l2tp-ctl`: the `l2tp` crate's control plane on a real UDP socket.
//!
//! ```text
//! l2tp-ctl lac <server-ip> [--secret S] [--hold SECS] [--port P]
//!     LAC: tunnel (SCCRQ..SCCCN) and one incoming call (ICRQ..ICCN) to <server-ip>:1701.
//!     Accepts the server's reply from another source port and talks to that port afterwards.
//!     Exits when the call and the tunnel are down, or after --hold seconds (then CDN+StopCCN).
//! l2tp-ctl lns <bind-ip> [--secret S] [--hold SECS]
//!     LNS on <bind-ip>:1701 (server::Lns with default RouterOS policy).
//! ```
//! Every protocol event is printed on stdout, one per line (the interop test greps them).
//! PPP is not run here (control plane only; see the tour for L2TP + PPP).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use l2tp::config::ServerConfig;
use l2tp::server::{Lns, Peer};
use l2tp::wire::{ControlMessage, ResultCode};
use l2tp::{CallInfo, Event, Tunnel, TunnelConfig, TunnelState};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn os_seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut s);
    }
    s
}

fn describe(d: &[u8]) -> String {
    ControlMessage::parse(d)
        .map(|m| m.summary())
        .unwrap_or_else(|_| format!("data {} bytes", d.len()))
}

fn print_event(e: &Event) {
    match e {
        Event::TunnelUp {
            peer_tunnel_id,
            peer_host_name,
        } => println!(
            "TUNNEL UP peer_tunnel_id={peer_tunnel_id} peer_host={}",
            String::from_utf8_lossy(peer_host_name)
        ),
        Event::SessionUp {
            session_id,
            peer_session_id,
            ..
        } => println!("SESSION UP session_id={session_id} peer_session_id={peer_session_id}"),
        Event::SessionDown { session_id, reason } => {
            println!("SESSION DOWN session_id={session_id} reason={reason:?}")
        }
        Event::TunnelDown { reason } => println!("TUNNEL DOWN reason={reason:?}"),
        other => println!("EVENT {other:?}"),
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_default();
    let addr: IpAddr = match args.get(2).and_then(|a| a.parse().ok()) {
        Some(a) => a,
        None => {
            eprintln!("usage: l2tp-ctl lac <server-ip> | lns <bind-ip> [--secret S] [--hold SECS]");
            std::process::exit(2);
        }
    };
    let secret = arg(&args, "--secret").map(|s| s.into_bytes());
    let hold = Duration::from_secs(
        arg(&args, "--hold")
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    let r = match mode.as_str() {
        "lac" => run_lac(addr, secret, hold, arg(&args, "--port")),
        "lns" => run_lns(addr, secret, hold),
        _ => Err("mode must be lac or lns".to_string()),
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run_lac(
    server: IpAddr,
    secret: Option<Vec<u8>>,
    hold: Duration,
    port: Option<String>,
) -> Result<(), String> {
    let bind: SocketAddr = match server {
        IpAddr::V4(_) => format!("0.0.0.0:{}", port.unwrap_or_else(|| "0".into())),
        IpAddr::V6(_) => format!("[::]:{}", port.unwrap_or_else(|| "0".into())),
    }
    .parse()
    .map_err(|e| format!("{e}"))?;
    let sock = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
    let mut peer = SocketAddr::new(server, 1701);
    let mut learned = false;
    let start = Instant::now();
    let cfg = TunnelConfig {
        host_name: b"rust-l2tp-lac".to_vec(),
        secret,
        ..Default::default()
    };
    let mut t = Tunnel::connect(cfg, start, &mut ChaCha20Rng::from_seed(os_seed()))
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let mut sid = None;
    let mut closing = false;
    loop {
        let now = Instant::now();
        while let Some(d) = t.poll_transmit(now) {
            println!("TX {} -> {peer}", describe(&d));
            sock.send_to(&d, peer).map_err(|e| e.to_string())?;
        }
        while let Some(e) = t.poll_event() {
            print_event(&e);
            match e {
                Event::TunnelUp { .. } if sid.is_none() => {
                    sid = Some(
                        t.incoming_call(
                            now,
                            CallInfo {
                                calling_number: Some(b"rust-l2tp".to_vec()),
                                bearer_type: Some(1),
                                ..Default::default()
                            },
                        )
                        .map_err(|e| e.to_string())?,
                    );
                }
                Event::SessionDown { .. } if !closing => {
                    closing = true;
                    t.close(
                        now,
                        ResultCode {
                            result: 1,
                            error: None,
                            message: Vec::new(),
                        },
                    );
                }
                _ => {}
            }
        }
        if t.state() == TunnelState::Closed {
            println!("DONE");
            return Ok(());
        }
        if !closing && now - start > hold {
            closing = true;
            if let Some(s) = sid {
                let _ = t.disconnect_call(
                    now,
                    s,
                    ResultCode {
                        result: 3,
                        error: None,
                        message: Vec::new(),
                    },
                );
            }
            t.close(
                now,
                ResultCode {
                    result: 1,
                    error: None,
                    message: Vec::new(),
                },
            );
            continue;
        }
        if closing && now - start > hold + Duration::from_secs(40) {
            return Ok(());
        }
        let wait = t
            .poll_timeout()
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(200))
            .clamp(Duration::from_millis(1), Duration::from_millis(200));
        sock.set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                if from.ip() != server {
                    continue;
                }
                // RFC 2661 s8.1: the server may answer from another port; use it from now on.
                if !learned && from != peer {
                    println!("PEER PORT {} -> {}", peer.port(), from.port());
                    peer = from;
                }
                learned = true;
                let now = Instant::now();
                let d = &buf[..n];
                println!("RX {}", describe(d));
                if let Err(e) = t.handle_input(now, d) {
                    println!("DROP {e}");
                }
            }
            Err(_) => {
                let now = Instant::now();
                if t.poll_timeout().is_some_and(|d| d <= now) {
                    t.handle_timeout(now);
                }
            }
        }
    }
}

fn run_lns(bind: IpAddr, secret: Option<Vec<u8>>, hold: Duration) -> Result<(), String> {
    let sock = UdpSocket::bind(SocketAddr::new(bind, 1701)).map_err(|e| e.to_string())?;
    let cfg = TunnelConfig {
        host_name: b"rust-l2tp-lns".to_vec(),
        ..Default::default()
    };
    let mut s: Lns<SocketAddr> = Lns::new(
        ServerConfig {
            enabled: true,
            ..Default::default()
        },
        cfg,
        Box::new(move |_, _| secret.clone()),
        &mut ChaCha20Rng::from_seed(os_seed()),
    )
    .map_err(|e| e.to_string())?;
    println!("LISTEN {bind}:1701");
    let start = Instant::now();
    let mut buf = vec![0u8; 4096];
    while start.elapsed() < hold {
        let now = Instant::now();
        while let Some((to, d)) = s.poll_transmit(now) {
            println!("TX {} -> {to}", describe(&d));
            sock.send_to(&d, to).map_err(|e| e.to_string())?;
        }
        while let Some(e) = s.poll_event() {
            print!("[tunnel {}] ", e.tunnel_id);
            print_event(&e.event);
        }
        let wait = s
            .poll_timeout()
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(200))
            .clamp(Duration::from_millis(1), Duration::from_millis(200));
        sock.set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let d = &buf[..n];
                println!("RX {} from {from}", describe(d));
                let peer = Peer {
                    key: from,
                    addr: from.ip(),
                    via_ipsec: false,
                };
                if let Err(e) = s.handle_input(Instant::now(), &peer, d) {
                    println!("DROP {e}");
                }
            }
            Err(_) => s.handle_timeout(Instant::now()),
        }
    }
    println!(
        "DONE sessions={} tunnels={}",
        s.session_count(),
        s.tunnel_count()
    );
    Ok(())
}
