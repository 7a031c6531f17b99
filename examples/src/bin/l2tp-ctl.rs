//! `l2tp-ctl`: the `l2tp` crate's control plane on a real UDP socket.
//!
//! ```text
//! l2tp-ctl --help
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

use clap::{Args, Parser, Subcommand};
use l2tp::config::ServerConfig;
use l2tp::server::{Lns, Peer};
use l2tp::wire::{ControlMessage, ResultCode};
use l2tp::{CallInfo, Event, Tunnel, TunnelConfig, TunnelState};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tracing::error;

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

/// The `l2tp` crate's control plane (RFC 2661) on a real UDP socket: a LAC that brings up a
/// tunnel and one incoming call, or an LNS that accepts them.
///
/// Every control message sent and received and every protocol event is printed on stdout, one
/// per line (TX/RX/DROP/TUNNEL UP/SESSION UP/...; the interop tests grep them). PPP is not run
/// here (control plane only; `l2tp-client`/`l2tp-server` run PPP, the tour shows L2TP + PPP).
#[derive(Parser, Debug)]
#[command(name = "l2tp-ctl", version)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// LAC: tunnel (SCCRQ..SCCCN) and one incoming call (ICRQ..ICCN) to SERVER_IP:1701.
    ///
    /// Accepts the server's reply from another source port and talks to that port afterwards.
    /// Exits when the call and the tunnel are down, or after --hold seconds (then CDN+StopCCN).
    Lac {
        /// Address of the LNS (port 1701).
        server_ip: IpAddr,
        #[command(flatten)]
        common: Common,
        /// Local UDP port to send from (default: 0, an ephemeral port).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// LNS on BIND_IP:1701 (server::Lns with the default RouterOS policy).
    Lns {
        /// Address to listen on (port 1701).
        bind_ip: IpAddr,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args, Debug)]
struct Common {
    /// Tunnel secret (challenge/response tunnel authentication, RFC 2661 s5.1.1). Default:
    /// none (no tunnel authentication).
    #[arg(long)]
    secret: Option<String>,
    /// Seconds to keep the tunnel before closing it (LAC) or to listen (LNS).
    #[arg(
        long = "duration",
        visible_alias = "hold",
        default_value_t = 10,
        value_name = "SECS"
    )]
    hold: u64,
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    let r = match cli.mode {
        Mode::Lac {
            server_ip,
            common,
            port,
        } => run_lac(
            server_ip,
            common.secret.map(String::into_bytes),
            Duration::from_secs(common.hold),
            port,
        ),
        Mode::Lns { bind_ip, common } => run_lns(
            bind_ip,
            common.secret.map(String::into_bytes),
            Duration::from_secs(common.hold),
        ),
    };
    if let Err(e) = r {
        error!("{e}");
        std::process::exit(1);
    }
}

fn run_lac(
    server: IpAddr,
    secret: Option<Vec<u8>>,
    hold: Duration,
    port: u16,
) -> Result<(), String> {
    let bind: SocketAddr = match server {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), port),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), port),
    };
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
