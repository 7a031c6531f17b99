//! `gre-tunnel`: a real GRE / gretap / EoIP / IPIP / 6to4 tunnel endpoint built on the sans-IO
//! `gre-family` crate.
//!
//! The crate does every header; this program only moves bytes:
//!
//! ```text
//!   TUN (gre, ipip, 6to4) or TAP (gretap, eoip)  <-- inner -->  gre_family::Tunnel
//!   raw IPv4 socket, IPPROTO_GRE / IPPROTO_IPIP / IPPROTO_IPV6, IP_HDRINCL  <-- outer -->  Tunnel
//! ```
//!
//! Usage (as root, e.g. inside a network namespace):
//!
//! ```text
//! gre-tunnel --mode gre|gretap|eoip|ipip|6to4 --local A.B.C.D --remote A.B.C.D
//!            --addr X.X.X.X/NN [--ifname NAME] [--key N] [--tunnel-id N]
//!            [--keepalive 10s,10 | 0,0] [--duration SECS] [--pcap FILE]
//! ```
//!
//! It creates the TUN/TAP device, gives it `--addr` and the tunnel MTU, forwards packets both
//! ways, prints running-flag events (`event: Up` / `event: Down ...`) and, at the end
//! (`--duration` seconds, default 3600), the tunnel counters as `stats: ...`. `--pcap` writes
//! every outer packet sent and received (raw IP link type 101).
//!
//! `unsafe` is confined to the four OS calls the standard library does not offer (TUNSETIFF
//! ioctl, raw socket creation/options, sendto/recv, poll), each with its reason.

use examples::sys::ip;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use gre_family::{Decapsulated, Keepalive, Tunnel, TunnelConfig, TunnelKind};

struct Args {
    kind: TunnelKind,
    local: Ipv4Addr,
    remote: Option<Ipv4Addr>,
    addr: String,
    ifname: String,
    key: Option<u32>,
    tunnel_id: u16,
    keepalive: Option<Keepalive>,
    duration: Duration,
    pcap: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: gre-tunnel --mode gre|gretap|eoip|ipip|6to4 --local IP [--remote IP] --addr IP/NN \
         [--ifname NAME] [--key N] [--tunnel-id N] [--keepalive I,R] [--duration SECS] [--pcap FILE]"
    );
    std::process::exit(2)
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        kind: TunnelKind::Gre,
        local: Ipv4Addr::UNSPECIFIED,
        remote: None,
        addr: String::new(),
        ifname: String::new(),
        key: None,
        tunnel_id: 0,
        keepalive: None,
        duration: Duration::from_secs(3600),
        pcap: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--mode" => {
                a.kind = match v()?.as_str() {
                    "gre" => TunnelKind::Gre,
                    "gretap" => TunnelKind::GreTap,
                    "eoip" => TunnelKind::Eoip,
                    "ipip" => TunnelKind::Ipip,
                    "6to4" | "sit" => TunnelKind::SixToFour,
                    m => return Err(format!("unknown mode {m}")),
                }
            }
            "--local" => a.local = v()?.parse().map_err(|e| format!("--local: {e}"))?,
            "--remote" => a.remote = Some(v()?.parse().map_err(|e| format!("--remote: {e}"))?),
            "--addr" => a.addr = v()?,
            "--ifname" => a.ifname = v()?,
            "--key" => a.key = Some(v()?.parse().map_err(|e| format!("--key: {e}"))?),
            "--tunnel-id" => a.tunnel_id = v()?.parse().map_err(|e| format!("--tunnel-id: {e}"))?,
            "--keepalive" => {
                a.keepalive = Keepalive::parse_routeros(&v()?).map_err(|e| e.to_string())?
            }
            "--duration" => {
                a.duration =
                    Duration::from_secs_f64(v()?.parse().map_err(|e| format!("--duration: {e}"))?)
            }
            "--pcap" => a.pcap = Some(v()?),
            "-h" | "--help" => usage(),
            _ => return Err(format!("unknown option {k}")),
        }
    }
    if a.ifname.is_empty() {
        a.ifname = format!("rp{}", a.kind.name());
    }
    Ok(a)
}

// ---- TUN/TAP ----

fn open_tun(name: &str, tap: bool) -> Result<File, String> {
    examples::sys::open_tun(name, tap, false)
}

// ---- raw socket ----

fn raw_socket(proto: u8) -> Result<OwnedFd, String> {
    // SAFETY: plain socket(2) call; the returned descriptor is owned exactly once below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::c_int::from(proto)) };
    if fd < 0 {
        return Err(format!("raw socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    // SAFETY: IP_HDRINCL takes an int; the pointer and length describe `one`.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_HDRINCL,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(format!("IP_HDRINCL: {}", std::io::Error::last_os_error()));
    }
    Ok(fd)
}

fn send_raw(fd: RawFd, pkt: &[u8], dst: Ipv4Addr) -> std::io::Result<()> {
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(dst.octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `pkt` and `sa` are valid for the duration of the call; lengths match them.
    let rc = unsafe {
        libc::sendto(
            fd,
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

fn recv_raw(fd: RawFd, buf: &mut [u8]) -> std::io::Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Wait until one of `fds` is readable or `timeout` passes; returns readiness per fd.
fn wait(fds: [RawFd; 2], timeout: Duration) -> [bool; 2] {
    let mut p = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    let ms = timeout.as_millis().min(1000) as libc::c_int;
    // SAFETY: `p` is an array of two initialised pollfd structs, and we pass its length.
    let rc = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, ms) };
    if rc <= 0 {
        return [false, false];
    }
    [
        p[0].revents & libc::POLLIN != 0,
        p[1].revents & libc::POLLIN != 0,
    ]
}

fn run() -> Result<(), String> {
    let a = parse_args()?;
    let start = Instant::now();
    let mut cfg = TunnelConfig::new(a.kind, IpAddr::V4(a.local), a.remote.map(IpAddr::V4));
    cfg.key = a.key;
    cfg.tunnel_id = a.tunnel_id;
    cfg.keepalive = a.keepalive;
    cfg.ttl = 64;
    let mut tunnel = Tunnel::new(cfg, start).map_err(|e| e.to_string())?;
    let tap = a.kind.is_ethernet();
    let mut dev = open_tun(&a.ifname, tap)?;
    ip(&[
        "link",
        "set",
        "dev",
        &a.ifname,
        "mtu",
        &tunnel.mtu().to_string(),
    ])?;
    if !a.addr.is_empty() {
        ip(&["addr", "add", &a.addr, "dev", &a.ifname])?;
    }
    ip(&["link", "set", "dev", &a.ifname, "up"])?;
    let sock = raw_socket(a.kind.ip_protocol())?;
    println!(
        "gre-tunnel: {} {} -> {:?} on {} (mtu {}, overhead {})",
        a.kind.name(),
        a.local,
        a.remote,
        a.ifname,
        tunnel.mtu(),
        tunnel.overhead()
    );
    let mut pcap: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut record = |t: Instant, p: &[u8]| {
        if a.pcap.is_some() && pcap.len() < 100_000 {
            pcap.push((t - start, p.to_vec()));
        }
    };
    let mut inbuf = vec![0u8; 65536];
    let mut outbuf = vec![0u8; 65536 + 64];
    let mut last_running = tunnel.is_running();
    println!("event: running={last_running}");
    let end = start + a.duration;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        // timers first, then whatever the tunnel wants to send
        if tunnel.poll_timeout().is_some_and(|t| t <= now) {
            tunnel.handle_timeout(now);
        }
        while let Ok(Some(tx)) = tunnel.poll_transmit(now, &mut outbuf) {
            if let IpAddr::V4(d) = tx.dst {
                record(now, &outbuf[..tx.len]);
                if let Err(e) = send_raw(sock.as_raw_fd(), &outbuf[..tx.len], d) {
                    eprintln!("send keepalive: {e}");
                }
            }
        }
        while let Some(ev) = tunnel.poll_event() {
            println!("event: {ev:?}");
        }
        if tunnel.is_running() != last_running {
            last_running = tunnel.is_running();
            println!("event: running={last_running}");
        }
        let next = tunnel.poll_timeout().unwrap_or(end).min(end);
        let [dev_ready, sock_ready] = wait(
            [dev.as_raw_fd(), sock.as_raw_fd()],
            next.saturating_duration_since(now),
        );
        let now = Instant::now();
        if dev_ready {
            match dev.read(&mut inbuf) {
                Ok(n) => match tunnel.encapsulate(now, &inbuf[..n], &mut outbuf) {
                    Ok(tx) => {
                        record(now, &outbuf[..tx.len]);
                        if let IpAddr::V4(d) = tx.dst {
                            if let Err(e) = send_raw(sock.as_raw_fd(), &outbuf[..tx.len], d) {
                                eprintln!("send: {e}");
                            }
                        }
                    }
                    Err(e) => eprintln!("encapsulate: {e}"),
                },
                Err(e) => return Err(format!("read {}: {e}", a.ifname)),
            }
        }
        if sock_ready {
            let n = recv_raw(sock.as_raw_fd(), &mut inbuf).map_err(|e| format!("recv: {e}"))?;
            let pkt = &mut inbuf[..n];
            // the raw socket sees every packet of the protocol, ours included: only the
            // tunnel's own traffic is recorded
            let for_us = pkt.get(16..20) == Some(&a.local.octets()[..]);
            if for_us {
                record(now, pkt);
            }
            match tunnel.decapsulate(now, pkt) {
                Decapsulated::Packet {
                    range, mss_clamped, ..
                } => {
                    if let Some((o, n)) = mss_clamped {
                        println!("clamp-tcp-mss: {o} -> {n}");
                    }
                    if let Err(e) = dev.write_all(&inbuf[range]) {
                        eprintln!("write {}: {e}", a.ifname);
                    }
                }
                Decapsulated::Dropped(r) if for_us => println!("drop: {r:?}"),
                _ => {}
            }
        }
    }
    println!("stats: {:?}", tunnel.stats());
    if let Some(path) = &a.pcap {
        std::fs::write(
            path,
            netsim::pcap::to_bytes(netsim::pcap::LINKTYPE_RAW, &pcap),
        )
        .map_err(|e| format!("{path}: {e}"))?;
        println!("pcap: {path} ({} packets)", pcap.len());
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("gre-tunnel: {e}");
        std::process::exit(1);
    }
}
