//! `l2tp-ether`: the RouterOS unmanaged "L2TP Ether" interface (`/interface l2tp-ether
//! unmanaged-mode=yes`) on a TAP device: Ethernet frames between the TAP and a static L2TPv3
//! pseudowire over UDP or IP protocol 115, through `l2tp::ether::StaticEther`.
//!
//! ```text
//! l2tp-ether --help
//! l2tp-ether --local IP --remote IP --local-session N --remote-session N --tap NAME
//!            [--encap udp|ip] [--local-port P] [--remote-port P]   (udp, default 1701 both)
//!            [--send-cookie HEX] [--peer-cookie HEX]               (8 or 16 hex digits)
//!            [--sublayer] [--addr CIDR] [--mtu N] [--hold SECS]
//! ```
//!
//! Prints `READY` once the TAP and socket are set up, then a `STATS tx=.. rx=.. dropped=..`
//! line every second and when it exits after `--hold` seconds (default 30). Errors on received
//! packets (wrong session id or cookie) are counted as `dropped`, each logged at debug level.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::{Parser, ValueEnum};
use examples::sys::ip;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tracing::{debug, error};

use examples::l2tp_transport::Transport;

use l2tp::config::{EtherConfig, ProtoVersion};
use l2tp::ether::StaticEther;

/// RouterOS unmanaged "L2TP Ether" interface (`/interface l2tp-ether unmanaged-mode=yes`) on a
/// TAP device: Ethernet frames between the TAP and a static L2TPv3 pseudowire over UDP or IP
/// protocol 115, through `l2tp::ether::StaticEther`.
///
/// Prints `READY` once the TAP and socket are set up, then `STATS tx=.. rx=.. dropped=..` every
/// second and when it exits after --hold seconds. Received packets with a wrong session id or
/// cookie are counted as dropped (each logged at debug level).
#[derive(Parser, Debug)]
#[command(name = "l2tp-ether", version)]
struct Cli {
    /// Local address (RouterOS `local-address`). Required.
    #[arg(long)]
    local: Ipv4Addr,
    /// Peer address (RouterOS `connect-to`). Required.
    #[arg(long)]
    remote: Ipv4Addr,
    /// Our session id (RouterOS `local-session-id`). Required.
    #[arg(long, value_name = "N")]
    local_session: u32,
    /// The peer's session id (RouterOS `remote-session-id`). Required.
    #[arg(long, value_name = "N")]
    remote_session: u32,
    /// TAP device name. Required.
    #[arg(long, value_name = "NAME")]
    tap: String,
    /// Encapsulation (RouterOS `l2tp-proto-version`: l2tpv3-udp or l2tpv3-ip).
    #[arg(long, value_enum, default_value_t = Encap::Udp)]
    encap: Encap,
    /// Local UDP port (with --encap udp).
    #[arg(long, default_value_t = 1701, value_name = "P")]
    local_port: u16,
    /// Remote UDP port (with --encap udp).
    #[arg(long, default_value_t = 1701, value_name = "P")]
    remote_port: u16,
    /// Cookie we send, 8 or 16 hex digits (RouterOS `send-cookie`; default none).
    #[arg(long, value_name = "HEX")]
    send_cookie: Option<String>,
    /// Cookie we expect from the peer, 8 or 16 hex digits (RouterOS `peer-cookie`; default
    /// none).
    #[arg(long, value_name = "HEX")]
    peer_cookie: Option<String>,
    /// Use the L2-Specific Sublayer (RouterOS `use-l2-specific-sublayer`, default no).
    #[arg(long)]
    sublayer: bool,
    /// Address given to the TAP device (default: none).
    #[arg(long, value_name = "CIDR")]
    addr: Option<String>,
    /// RouterOS `mtu` (default 1420).
    #[arg(long, value_name = "N")]
    mtu: Option<u16>,
    /// Seconds to run.
    #[arg(
        long = "duration",
        visible_alias = "hold",
        default_value_t = 30,
        value_name = "SECS"
    )]
    hold: u64,
}

/// L2TPv3 encapsulations.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Encap {
    /// L2TPv3 over UDP (RouterOS l2tpv3-udp).
    Udp,
    /// L2TPv3 over IP protocol 115 (RouterOS l2tpv3-ip).
    Ip,
}

fn run(cli: Cli) -> Result<(), String> {
    let (local, remote) = (cli.local, cli.remote);
    let encap = match cli.encap {
        Encap::Udp => "udp",
        Encap::Ip => "ip",
    };
    let proto = match cli.encap {
        Encap::Udp => ProtoVersion::L2tpv3Udp,
        Encap::Ip => ProtoVersion::L2tpv3Ip,
    };
    let cfg = EtherConfig {
        connect_to: Some(IpAddr::V4(remote)),
        unmanaged_mode: true,
        local_session_id: Some(cli.local_session),
        remote_session_id: Some(cli.remote_session),
        local_tunnel_id: Some(1),
        remote_tunnel_id: Some(1),
        send_cookie: cli.send_cookie.clone(),
        peer_cookie: cli.peer_cookie.clone(),
        l2tp_proto_version: proto,
        use_l2_specific_sublayer: cli.sublayer,
        mtu: cli.mtu.unwrap_or(EtherConfig::default().mtu),
        ..EtherConfig::default()
    };
    let tap_name = cli.tap.clone();
    let mut eth = StaticEther::from_config(&cfg, &tap_name).map_err(|e| e.to_string())?;
    let hold = Duration::from_secs(cli.hold);
    let ip_encap = proto == ProtoVersion::L2tpv3Ip;
    let (lp, rp) = (cli.local_port, cli.remote_port);
    let transport = Transport::bind(ip_encap, local, lp)?;
    let peer = SocketAddr::new(IpAddr::V4(remote), rp);
    let mut tap = examples::sys::open_tun(&tap_name, true, true)?;
    ip(&["link", "set", &tap_name, "mtu", &eth.mtu().to_string()])?;
    if let Some(a) = &cli.addr {
        ip(&["addr", "add", a, "dev", &tap_name])?;
    }
    ip(&["link", "set", &tap_name, "up"])?;
    println!(
        "READY {encap} {local} -> {remote} session {} -> {} cookies send={} peer={} sublayer={} overhead={} tap={tap_name}",
        cfg.local_session_id.unwrap_or(0),
        cfg.remote_session_id.unwrap_or(0),
        cfg.send_cookie.as_deref().unwrap_or("-"),
        cfg.peer_cookie.as_deref().unwrap_or("-"),
        cfg.use_l2_specific_sublayer,
        eth.overhead()
    );
    let encap_v3 = if ip_encap {
        l2tp::wire::v3::Encap::Ip
    } else {
        l2tp::wire::v3::Encap::Udp
    };
    let peer_cookie_len = cfg.peer_cookie.as_ref().map_or(0, |c| c.len() / 2);
    let (mut tx, mut rx, mut dropped) = (0u64, 0u64, 0u64);
    let mut frame = vec![0u8; 65536];
    let mut out = vec![0u8; 65536];
    let mut inbuf = vec![0u8; 65536];
    let start = Instant::now();
    let mut last_stats = start;
    while start.elapsed() < hold {
        let mut idle = true;
        // TAP -> pseudowire
        while let Ok(n) = tap.read(&mut frame) {
            idle = false;
            let Some(f) = frame.get(..n) else { break };
            match eth.encapsulate(f, &mut out) {
                Ok(len) => {
                    let pkt = out.get(..len).unwrap_or_default();
                    if transport.send(pkt, peer).is_ok() {
                        tx += 1;
                    }
                }
                Err(e) => {
                    dropped += 1;
                    debug!("TX DROP {e}");
                }
            }
        }
        // pseudowire -> TAP
        while let Some((from, pkt)) = transport.recv(&mut inbuf) {
            idle = false;
            if from.ip() != IpAddr::V4(remote) {
                continue;
            }
            match eth.decapsulate(pkt) {
                Ok(f) => {
                    if rx == 0 {
                        // What the peer's L2-Specific Sublayer said (S bit and sequence number).
                        let seq = l2tp::wire::v3::parse_data_v3(
                            encap_v3,
                            pkt,
                            peer_cookie_len,
                            cfg.use_l2_specific_sublayer,
                        )
                        .map(|d| d.0.sequence);
                        println!("FIRST RX {} bytes, sublayer sequence {seq:?}", pkt.len());
                    }
                    if tap.write(f).is_ok() {
                        rx += 1;
                    }
                }
                Err(e) => {
                    dropped += 1;
                    debug!("RX DROP {e}");
                }
            }
        }
        if last_stats.elapsed() >= Duration::from_secs(1) {
            last_stats = Instant::now();
            println!("STATS tx={tx} rx={rx} dropped={dropped}");
        }
        if idle {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    println!("STATS tx={tx} rx={rx} dropped={dropped}");
    println!("DONE");
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    if let Err(e) = run(cli) {
        error!("l2tp-ether: {e}");
        std::process::exit(1);
    }
}
