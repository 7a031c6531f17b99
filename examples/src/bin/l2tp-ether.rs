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

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

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

/// Raw IPv4 socket for protocol 115 (the kernel builds the IP header on send; received
/// packets start with the IPv4 header).
struct RawL2tp {
    fd: OwnedFd,
    remote: Ipv4Addr,
}

impl RawL2tp {
    fn new(local: Ipv4Addr, remote: Ipv4Addr) -> Result<Self, String> {
        // SAFETY: plain socket(2) call; the descriptor is owned exactly once below.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK,
                libc::c_int::from(l2tp::wire::v3::IP_PROTO_L2TP),
            )
        };
        if fd < 0 {
            return Err(format!(
                "raw socket proto 115: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let sa = sockaddr(local);
        // SAFETY: `sa` is a valid sockaddr_in for the duration of the call.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(format!("bind {local}: {}", std::io::Error::last_os_error()));
        }
        Ok(RawL2tp { fd, remote })
    }

    fn send(&self, pkt: &[u8]) -> std::io::Result<()> {
        let sa = sockaddr(self.remote);
        // SAFETY: `pkt` and `sa` are valid for the duration of the call; lengths match them.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                pkt.as_ptr() as *const libc::c_void,
                pkt.len(),
                0,
                &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The L2TPv3 part of the next packet from the remote address (IP header stripped).
    fn recv<'a>(&self, buf: &'a mut [u8]) -> Option<&'a [u8]> {
        loop {
            // SAFETY: `buf` is valid for writes of its length for the duration of the call.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n <= 0 {
                return None;
            }
            let n = n as usize;
            let ihl = usize::from(buf.first()? & 0x0f) * 4;
            let src = Ipv4Addr::new(*buf.get(12)?, *buf.get(13)?, *buf.get(14)?, *buf.get(15)?);
            if src != self.remote || ihl < 20 || n <= ihl {
                continue;
            }
            return buf.get(ihl..n);
        }
    }
}

fn sockaddr(a: Ipv4Addr) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.octets()),
        },
        sin_zero: [0; 8],
    }
}

enum Transport {
    Udp(UdpSocket),
    Ip(RawL2tp),
}

fn ip_cmd(args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
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
    let transport = if proto == ProtoVersion::L2tpv3Udp {
        let lp: u16 = num(
            &arg(&args, "--local-port").unwrap_or_else(|| "1701".into()),
            "--local-port",
        )?;
        let rp: u16 = num(
            &arg(&args, "--remote-port").unwrap_or_else(|| "1701".into()),
            "--remote-port",
        )?;
        let s = UdpSocket::bind(SocketAddr::new(IpAddr::V4(local), lp))
            .map_err(|e| format!("bind {local}:{lp}: {e}"))?;
        s.connect(SocketAddr::new(IpAddr::V4(remote), rp))
            .map_err(|e| format!("connect: {e}"))?;
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        Transport::Udp(s)
    } else {
        Transport::Ip(RawL2tp::new(local, remote)?)
    };
    let mut tap = examples::sys::open_tun(&tap_name, true, true)?;
    ip_cmd(&["link", "set", &tap_name, "mtu", &eth.mtu().to_string()])?;
    if let Some(a) = arg(&args, "--addr") {
        ip_cmd(&["addr", "add", &a, "dev", &tap_name])?;
    }
    ip_cmd(&["link", "set", &tap_name, "up"])?;
    println!(
        "READY {encap} {local} -> {remote} session {} -> {} cookies send={} peer={} sublayer={} overhead={} tap={tap_name}",
        cfg.local_session_id.unwrap_or(0),
        cfg.remote_session_id.unwrap_or(0),
        cfg.send_cookie.as_deref().unwrap_or("-"),
        cfg.peer_cookie.as_deref().unwrap_or("-"),
        cfg.use_l2_specific_sublayer,
        eth.overhead()
    );
    let encap_v3 = if proto == ProtoVersion::L2tpv3Udp {
        l2tp::wire::v3::Encap::Udp
    } else {
        l2tp::wire::v3::Encap::Ip
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
                    let r = match &transport {
                        Transport::Udp(s) => s.send(pkt).map(|_| ()),
                        Transport::Ip(r) => r.send(pkt),
                    };
                    if r.is_ok() {
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
        loop {
            let pkt = match &transport {
                Transport::Udp(s) => match s.recv(&mut inbuf) {
                    Ok(n) => inbuf.get(..n),
                    Err(_) => None,
                },
                Transport::Ip(r) => r.recv(&mut inbuf),
            };
            let Some(pkt) = pkt else { break };
            idle = false;
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
