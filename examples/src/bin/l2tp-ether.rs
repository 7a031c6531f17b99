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
//! l2tp-ether --config FILE.rsc [--name NAME] [options over the file]
//! ```
//!
//! `--config FILE.rsc`: a RouterOS export: the `/interface l2tp-ether` interface named
//! `--name` (default the first `add`; see `examples::rsc_config::l2tp_ether`) with
//! `unmanaged-mode=yes`: its `local-address`, `connect-to`, `local-session-id`,
//! `remote-session-id`, cookies, `l2tp-proto-version`, `use-l2-specific-sublayer`, `mtu`,
//! and its `name` as the TAP device's. The options given on the command line override it.
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
    /// Local address (RouterOS `local-address`). Required unless --config gives it.
    #[arg(long, required_unless_present = "config")]
    local: Option<Ipv4Addr>,
    /// Peer address (RouterOS `connect-to`). Required unless --config gives it.
    #[arg(long, required_unless_present = "config")]
    remote: Option<Ipv4Addr>,
    /// Our session id (RouterOS `local-session-id`). Required unless --config gives it.
    #[arg(long, value_name = "N", required_unless_present = "config")]
    local_session: Option<u32>,
    /// The peer's session id (RouterOS `remote-session-id`). Required unless --config gives
    /// it.
    #[arg(long, value_name = "N", required_unless_present = "config")]
    remote_session: Option<u32>,
    /// TAP device name. Required unless --config gives the interface a `name`.
    #[arg(long, value_name = "NAME", required_unless_present = "config")]
    tap: Option<String>,
    /// RouterOS export (`.rsc`) with `/interface l2tp-ether add ... unmanaged-mode=yes`; the
    /// options given on the command line override it. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// With --config: the interface's `name` (default: the first `add`).
    #[arg(long, value_name = "NAME", requires = "config")]
    name: Option<String>,
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

/// The interface: the `--config` file's (if any), then the options (`encap` only when
/// `encap_given` on the command line, or without `--config`); the local address and the
/// TAP device's name.
fn configure(cli: &Cli, encap_given: bool) -> Result<(EtherConfig, Ipv4Addr, String), String> {
    let (mut cfg, file_local, file_name) = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let r = examples::rsc_config::l2tp_ether(&text, cli.name.as_deref())
                .map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            if !r.config.unmanaged_mode {
                return Err(format!(
                    "{path}: interface {:?}: only unmanaged-mode=yes is run by this program",
                    r.name
                ));
            }
            if r.config.disabled {
                tracing::warn!("{path}: the interface is not disabled=no there; running anyway");
            }
            (r.config, r.local_address, r.name)
        }
        None => (
            EtherConfig {
                unmanaged_mode: true,
                local_tunnel_id: Some(1),
                remote_tunnel_id: Some(1),
                ..EtherConfig::default()
            },
            None,
            String::new(),
        ),
    };
    let v4 = |a: Option<IpAddr>, what: &str| match a {
        Some(IpAddr::V4(a)) => Ok(a),
        Some(a) => Err(format!("{what}={a}: IPv4 only")),
        None => Err(format!("no {what}: give it in --config or as an option")),
    };
    let local = match cli.local {
        Some(a) => a,
        None => v4(file_local, "local-address")?,
    };
    if let Some(r) = cli.remote {
        cfg.connect_to = Some(IpAddr::V4(r));
    }
    v4(cfg.connect_to, "connect-to")?;
    if let Some(n) = cli.local_session {
        cfg.local_session_id = Some(n);
    }
    if let Some(n) = cli.remote_session {
        cfg.remote_session_id = Some(n);
    }
    if cli.send_cookie.is_some() {
        cfg.send_cookie = cli.send_cookie.clone();
    }
    if cli.peer_cookie.is_some() {
        cfg.peer_cookie = cli.peer_cookie.clone();
    }
    if cli.config.is_none() || encap_given {
        cfg.l2tp_proto_version = match cli.encap {
            Encap::Udp => ProtoVersion::L2tpv3Udp,
            Encap::Ip => ProtoVersion::L2tpv3Ip,
        };
    }
    cfg.use_l2_specific_sublayer |= cli.sublayer;
    if let Some(m) = cli.mtu {
        cfg.mtu = m;
    }
    let tap = cli.tap.clone().unwrap_or(file_name);
    if tap.is_empty() {
        return Err("no TAP device name: give --tap or name= in --config".into());
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok((cfg, local, tap))
}

fn run(cli: Cli, encap_given: bool) -> Result<(), String> {
    let (cfg, local, tap_name) = configure(&cli, encap_given)?;
    let remote = match cfg.connect_to {
        Some(IpAddr::V4(a)) => a,
        _ => return Err("connect-to: IPv4 only".into()),
    };
    let encap = match cfg.l2tp_proto_version {
        ProtoVersion::L2tpv3Ip => "ip",
        _ => "udp",
    };
    let mut eth = StaticEther::from_config(&cfg, &tap_name).map_err(|e| e.to_string())?;
    let hold = Duration::from_secs(cli.hold);
    let ip_encap = cfg.l2tp_proto_version == ProtoVersion::L2tpv3Ip;
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
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    examples::logging::init();
    let encap_given = matches!(
        matches.value_source("encap"),
        Some(clap::parser::ValueSource::CommandLine)
    );
    if let Err(e) = run(cli, encap_given) {
        error!("l2tp-ether: {e}");
        std::process::exit(1);
    }
}
