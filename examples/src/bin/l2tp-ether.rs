//! `l2tp-ether`: the RouterOS unmanaged "L2TP Ether" interface (`/interface l2tp-ether
//! unmanaged-mode=yes`) on a TAP device: Ethernet frames between the TAP and a static L2TPv3
//! pseudowire over UDP or IP protocol 115, through `l2tp::ether::StaticEther`.
//!
//! ```text
//! l2tp-ether --local IP --remote IP --local-session N --remote-session N --tap NAME
//!            [--encap udp|ip] [--local-port P] [--remote-port P]   (udp, default 1701 both)
//!            [--send-cookie HEX] [--peer-cookie HEX]               (8 or 16 hex digits)
//!            [--sublayer] [--addr CIDR] [--mtu N] [--hold SECS]
//! ```
//!
//! Prints `READY` once the TAP and socket are set up, then a `STATS tx=.. rx=.. dropped=..`
//! line every second and when it exits after `--hold` seconds (default 30). Errors on received
//! packets (wrong session id or cookie) are counted as `dropped`, the first few printed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use examples::sys::ip;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use examples::l2tp_transport::Transport;

use l2tp::config::{EtherConfig, ProtoVersion};
use l2tp::ether::StaticEther;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn need(args: &[String], name: &str) -> Result<String, String> {
    arg(args, name).ok_or_else(|| format!("{name} is required"))
}

fn num<T: std::str::FromStr>(s: &str, name: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{name}: bad value {s}"))
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 || args.iter().any(|a| a == "-h" || a == "--help") {
        return Err("usage: l2tp-ether --local IP --remote IP --local-session N --remote-session N --tap NAME [--encap udp|ip] [--local-port P] [--remote-port P] [--send-cookie HEX] [--peer-cookie HEX] [--sublayer] [--addr CIDR] [--mtu N] [--hold SECS]".into());
    }
    let local: Ipv4Addr = num(&need(&args, "--local")?, "--local")?;
    let remote: Ipv4Addr = num(&need(&args, "--remote")?, "--remote")?;
    let encap = arg(&args, "--encap").unwrap_or_else(|| "udp".into());
    let proto = match encap.as_str() {
        "udp" => ProtoVersion::L2tpv3Udp,
        "ip" => ProtoVersion::L2tpv3Ip,
        e => return Err(format!("--encap: udp or ip, not {e}")),
    };
    let cfg = EtherConfig {
        connect_to: Some(IpAddr::V4(remote)),
        unmanaged_mode: true,
        local_session_id: Some(num(&need(&args, "--local-session")?, "--local-session")?),
        remote_session_id: Some(num(&need(&args, "--remote-session")?, "--remote-session")?),
        local_tunnel_id: Some(1),
        remote_tunnel_id: Some(1),
        send_cookie: arg(&args, "--send-cookie"),
        peer_cookie: arg(&args, "--peer-cookie"),
        l2tp_proto_version: proto,
        use_l2_specific_sublayer: args.iter().any(|a| a == "--sublayer"),
        mtu: match arg(&args, "--mtu") {
            Some(m) => num(&m, "--mtu")?,
            None => EtherConfig::default().mtu,
        },
        ..EtherConfig::default()
    };
    let tap_name = need(&args, "--tap")?;
    let mut eth = StaticEther::from_config(&cfg, &tap_name).map_err(|e| e.to_string())?;
    let hold = Duration::from_secs(num(
        &arg(&args, "--hold").unwrap_or_else(|| "30".into()),
        "--hold",
    )?);
    let ip_encap = proto == ProtoVersion::L2tpv3Ip;
    let lp: u16 = num(
        &arg(&args, "--local-port").unwrap_or_else(|| "1701".into()),
        "--local-port",
    )?;
    let rp: u16 = num(
        &arg(&args, "--remote-port").unwrap_or_else(|| "1701".into()),
        "--remote-port",
    )?;
    let transport = Transport::bind(ip_encap, local, lp)?;
    let peer = SocketAddr::new(IpAddr::V4(remote), rp);
    let mut tap = examples::sys::open_tun(&tap_name, true, true)?;
    ip(&["link", "set", &tap_name, "mtu", &eth.mtu().to_string()])?;
    if let Some(a) = arg(&args, "--addr") {
        ip(&["addr", "add", &a, "dev", &tap_name])?;
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
                    if dropped < 5 {
                        println!("TX DROP {e}");
                    }
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
                    if dropped < 5 {
                        println!("RX DROP {e}");
                    }
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
    if let Err(e) = run() {
        eprintln!("l2tp-ether: {e}");
        std::process::exit(1);
    }
}
