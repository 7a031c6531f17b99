//! `gre-tunnel`: a real GRE / gretap / EoIP / EoIPv6 / IPIP / 6to4 / gre6 / ipipv6 tunnel
//! endpoint built on the sans-IO `gre-family` crate.
//!
//! The crate does every header; this program only moves bytes:
//!
//! ```text
//!   TUN (gre, ipip, 6to4, gre6, ipipv6) or TAP (gretap, eoip, eoipv6)  <-- inner -->  Tunnel
//!   IPv4 outer: raw socket of the protocol, IP_HDRINCL (send and receive)  <-- outer -->  Tunnel
//!   IPv6 outer: raw socket of the protocol, IPV6_HDRINCL (send); a packet socket
//!               (AF_PACKET, ETH_P_IPV6) receives, so extension headers reach the crate
//!   ICMP errors: raw ICMP socket (IPv4) / the packet socket (ICMPv6)  -->  Tunnel::handle_icmp
//! ```
//!
//! Usage (as root, e.g. inside a network namespace):
//!
//! ```text
//! gre-tunnel --help
//! gre-tunnel --mode gre|gretap|eoip|eoipv6|ipip|6to4|gre6|ipipv6 --local ADDR --remote ADDR
//!            --addr X.X.X.X/NN [--addr X:X::X/NN] [--ifname NAME] [--key N] [--tunnel-id N]
//!            [--keepalive 10s,10 | 0,0] [--dont-fragment inherit|no] [--duration SECS]
//!            [--pcap FILE]
//! gre-tunnel --config FILE.rsc [--tun NAME] [--local ADDR] [--addr X.X.X.X/NN] [--duration SECS]
//! gre-tunnel --config examples/rsc/gre.rsc --tun myGre
//! gre-tunnel --config examples/rsc/eoip.rsc
//! ```
//!
//! * `--config FILE.rsc`: a RouterOS export (see `examples::rsc_config::gre_family`): `/interface
//!   gre`, `eoip`, `eoipv6`, `ipip`, `6to4`, `gre6` or `ipipv6` `add ...`, with the RouterOS
//!   defaults for every property it leaves out (keepalive 10s,10, mtu auto, ...), and `/ip
//!   address` / `/ipv6 address` `add address=... interface=...` for the device. `--tun NAME`
//!   picks the interface by name (default: the first one) and the device takes its name.
//!   Tunnel options given on the command line override the file, `--addr` adds addresses;
//!   unknown properties are warned about with their line.
//!
//! It creates the TUN/TAP device, gives it the `--addr` addresses and the tunnel MTU, forwards
//! packets both ways, prints events (`event: Up` / `event: Down ...` / `event: MtuChanged ..`)
//! and, at the end (`--duration` seconds, default 3600), the tunnel counters as `stats: ...`.
//! ICMP errors about the tunnel's packets lower the path MTU (the device MTU follows) and are
//! relayed to the inner sender through the device (`icmp: relayed ...`); inner packets above
//! the MTU are answered with "fragmentation needed" / "packet too big". `--pcap` writes every
//! outer packet sent and received (raw IP link type 101).
//!
//! `unsafe` is confined to the OS calls the standard library does not offer (TUNSETIFF ioctl,
//! raw and packet socket creation/options, sendto/recv, poll), each with its reason.

use clap::{Parser, ValueEnum};
use examples::sys::ip;
use std::fs::File;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};
use tracing::{debug, error, warn};

use gre_family::{
    Decapsulated, DontFragment, Error, Event, IcmpHandled, Keepalive, Tunnel, TunnelConfig,
    TunnelKind,
};

struct Args {
    cfg: TunnelConfig,
    addrs: Vec<String>,
    ifname: String,
    duration: Duration,
    pcap: Option<String>,
}

/// A real GRE / gretap / EoIP / EoIPv6 / IPIP / 6to4 / gre6 / ipipv6 tunnel endpoint built on
/// the sans-IO `gre-family` crate (RouterOS `/interface gre`, `eoip`, `ipip`, `6to4`, ...).
///
/// Run as root (e.g. inside a network namespace). It creates the TUN/TAP device, gives it the
/// --addr addresses and the tunnel MTU, forwards packets both ways over raw sockets, prints
/// events on stdout (`event: Up` / `event: Down ...` / `event: MtuChanged ..`) and, at the end,
/// the tunnel counters as `stats: ...`. ICMP errors about the tunnel's packets lower the path
/// MTU and are relayed to the inner sender; inner packets above the MTU are answered with
/// "fragmentation needed" / "packet too big". The tunnel can come from a RouterOS export
/// (--config FILE.rsc) instead of the options.
#[derive(Parser, Debug)]
#[command(name = "gre-tunnel", version)]
struct Cli {
    /// RouterOS export (`.rsc`) with the tunnel: `/interface gre`, `eoip`, `eoipv6`, `ipip`,
    /// `6to4`, `gre6` or `ipipv6` `add ...` (RouterOS defaults for what it leaves out, e.g.
    /// keepalive 10s,10) and `/ip address` / `/ipv6 address add address=... interface=...` for
    /// the device. The interface named by --tun is used (default: the first one). --local,
    /// --remote, --key, --tunnel-id, --keepalive and --dont-fragment given on the command line
    /// override the file; --addr adds addresses. Unknown properties are warned about with
    /// their line. Default: none (the tunnel comes from the options).
    #[arg(long, value_name = "FILE.rsc", conflicts_with = "mode")]
    config: Option<String>,
    /// Tunnel kind (the RouterOS interface menu it mirrors).
    #[arg(long, value_enum, default_value_t = Mode::Gre)]
    mode: Mode,
    /// Outer local address (RouterOS `local-address`; default: unspecified, 0.0.0.0). Must be
    /// IPv6 for eoipv6/gre6/ipipv6.
    #[arg(long, default_value = "0.0.0.0")]
    local: IpAddr,
    /// Outer remote address (RouterOS `remote-address`; default: none, accepted from any
    /// sender where the kind allows it, e.g. 6to4).
    #[arg(long)]
    remote: Option<IpAddr>,
    /// Address and prefix length given to the device, e.g. 10.0.0.1/30; repeat for more
    /// (RouterOS `/ip address`). Default: none.
    #[arg(long = "addr", value_name = "IP/NN")]
    addrs: Vec<String>,
    /// RouterOS `dont-fragment`: `inherit` copies the inner DF bit, `no` never sets it.
    #[arg(long, value_enum, default_value_t = DfArg::No)]
    dont_fragment: DfArg,
    /// Name of the TUN/TAP device (default: `rp<mode>`, e.g. rpgre). With --config: the name
    /// of the interface to use, which the device also gets (default: the file's first
    /// interface and its name).
    #[arg(long = "tun", visible_alias = "ifname", value_name = "NAME")]
    ifname: Option<String>,
    /// GRE key field (RFC 2890) of gre/gretap; default: none (no key).
    #[arg(long)]
    key: Option<u32>,
    /// EoIP tunnel id (RouterOS `tunnel-id`, default 0).
    #[arg(long, default_value_t = 0)]
    tunnel_id: u16,
    /// RouterOS `keepalive` as `interval,retries` (`10s,10`, `1m30s,3`); `0,0` disables.
    /// Default here: disabled (RouterOS' own default for gre is 10s,10, which --config uses).
    #[arg(long, value_name = "INTERVAL,RETRIES")]
    keepalive: Option<String>,
    /// Seconds to run before printing the counters and exiting.
    #[arg(long, default_value_t = 3600.0, value_name = "SECS")]
    duration: f64,
    /// Write every outer packet sent and received to this pcap (raw IP, link type 101).
    /// Default: none.
    #[arg(long, value_name = "FILE")]
    pcap: Option<String>,
}

/// Tunnel kinds; Linux names are accepted as aliases.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum Mode {
    /// GRE over IPv4 (`/interface gre`), TUN device.
    Gre,
    /// Ethernet over GRE (Linux gretap), TAP device.
    Gretap,
    /// MikroTik EoIP (`/interface eoip`), TAP device.
    Eoip,
    /// MikroTik EoIPv6 (`/interface eoipv6`), TAP device.
    Eoipv6,
    /// IP in IP (`/interface ipip`).
    Ipip,
    /// 6to4 / SIT (`/interface 6to4`).
    #[value(name = "6to4", alias = "sit")]
    SixToFour,
    /// GRE over IPv6 (`/interface gre6`, Linux ip6gre).
    #[value(alias = "ip6gre")]
    Gre6,
    /// IPv4/IPv6 in IPv6 (`/interface ipipv6`, Linux ip6tnl).
    #[value(alias = "ip6tnl", alias = "ipip6", alias = "ip6ip6")]
    Ipipv6,
}

/// RouterOS `dont-fragment` values.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum DfArg {
    /// Copy the inner packet's DF bit.
    Inherit,
    /// Never set DF.
    No,
}

fn parse_args() -> Result<Args, String> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let c = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // With --config, an option overrides the file only when given on the command line.
    let given = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(clap::parser::ValueSource::CommandLine)
        )
    };
    let keepalive = match &c.keepalive {
        Some(k) => Keepalive::parse_routeros(k).map_err(|e| format!("--keepalive: {e}"))?,
        None => None,
    };
    let dont_fragment = match c.dont_fragment {
        DfArg::Inherit => DontFragment::Inherit,
        DfArg::No => DontFragment::No,
    };
    if !c.duration.is_finite() || c.duration < 0.0 {
        return Err(format!(
            "--duration: {} is not a number of seconds",
            c.duration
        ));
    }
    let (cfg, ifname, mut addrs) = match &c.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let r = examples::rsc_config::gre_family(&text).map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            let iface = r
                .select(c.ifname.as_deref())
                .map_err(|e| format!("{path}: {e}"))?;
            if iface.disabled() {
                warn!(
                    "{path}: interface {:?} is disabled=yes there; running it anyway",
                    iface.name()
                );
            }
            let mut cfg = iface.to_tunnel().map_err(|e| format!("{path}: {e}"))?;
            if given("local") {
                cfg.local = c.local;
            }
            if given("remote") {
                cfg.remote = c.remote;
            }
            if given("key") {
                cfg.key = c.key;
            }
            if given("tunnel_id") {
                cfg.tunnel_id = c.tunnel_id;
            }
            if given("keepalive") {
                cfg.keepalive = keepalive;
            }
            if given("dont_fragment") {
                cfg.dont_fragment = dont_fragment;
            }
            let name = match iface.name() {
                "" => format!("rp{}", cfg.kind.name()),
                n => n.to_string(),
            };
            (cfg, name, r.addresses_of(iface.name()))
        }
        None => {
            let kind = match c.mode {
                Mode::Gre => TunnelKind::Gre,
                Mode::Gretap => TunnelKind::GreTap,
                Mode::Eoip => TunnelKind::Eoip,
                Mode::Eoipv6 => TunnelKind::Eoipv6,
                Mode::Ipip => TunnelKind::Ipip,
                Mode::SixToFour => TunnelKind::SixToFour,
                Mode::Gre6 => TunnelKind::Gre6,
                Mode::Ipipv6 => TunnelKind::Ipipv6,
            };
            let mut cfg = TunnelConfig::new(kind, c.local, c.remote);
            cfg.key = c.key;
            cfg.tunnel_id = c.tunnel_id;
            cfg.keepalive = keepalive;
            cfg.dont_fragment = dont_fragment;
            cfg.ttl = 64;
            let name = c
                .ifname
                .clone()
                .unwrap_or_else(|| format!("rp{}", kind.name()));
            (cfg, name, Vec::new())
        }
    };
    addrs.extend(c.addrs);
    Ok(Args {
        cfg,
        addrs,
        ifname,
        duration: Duration::from_secs_f64(c.duration),
        pcap: c.pcap,
    })
}

// ---- TUN/TAP ----

fn open_tun(name: &str, tap: bool) -> Result<File, String> {
    examples::sys::open_tun(name, tap, false)
}

// ---- sockets ----

fn owned(fd: libc::c_int, what: &str) -> Result<OwnedFd, String> {
    if fd < 0 {
        return Err(format!("{what}: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_int(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, what: &str) -> Result<(), String> {
    let one: libc::c_int = 1;
    // SAFETY: the option takes an int; the pointer and length describe `one`.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(format!("{what}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// A raw socket of `proto` that sends complete IP packets (IP_HDRINCL / IPV6_HDRINCL).
fn raw_socket(v6: bool, proto: u8) -> Result<OwnedFd, String> {
    let family = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: plain socket(2) call; the descriptor is owned exactly once by `owned`.
    let fd = owned(
        unsafe { libc::socket(family, libc::SOCK_RAW, libc::c_int::from(proto)) },
        "raw socket",
    )?;
    if v6 {
        // IPV6_HDRINCL (Linux 4.5+): the packet we pass starts with its IPv6 header
        set_int(&fd, libc::IPPROTO_IPV6, 36, "IPV6_HDRINCL")?;
    } else {
        set_int(&fd, libc::IPPROTO_IP, libc::IP_HDRINCL, "IP_HDRINCL")?;
    }
    Ok(fd)
}

/// A raw socket that receives ICMP (IPv4: every ICMP packet, with its IPv4 header).
fn icmp_socket() -> Result<OwnedFd, String> {
    // SAFETY: plain socket(2) call.
    owned(
        unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) },
        "ICMP socket",
    )
}

/// A packet socket receiving every IPv6 packet of the namespace from its network header on
/// (`SOCK_DGRAM`: no link header), extension headers included.
fn ipv6_packet_socket() -> Result<OwnedFd, String> {
    let proto = (0x86DDu16).to_be() as libc::c_int;
    // SAFETY: plain socket(2) call.
    owned(
        unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, proto) },
        "packet socket",
    )
}

fn send_raw(fd: RawFd, pkt: &[u8], dst: IpAddr) -> std::io::Result<()> {
    // SAFETY: `pkt` and the address are valid for the duration of the calls; lengths match.
    let rc = unsafe {
        match dst {
            IpAddr::V4(d) => {
                let sa = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 0,
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(d.octets()),
                    },
                    sin_zero: [0; 8],
                };
                libc::sendto(
                    fd,
                    pkt.as_ptr() as *const libc::c_void,
                    pkt.len(),
                    0,
                    &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
            IpAddr::V6(d) => {
                let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_addr.s6_addr = d.octets();
                libc::sendto(
                    fd,
                    pkt.as_ptr() as *const libc::c_void,
                    pkt.len(),
                    0,
                    &sa as *const libc::sockaddr_in6 as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        }
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Receive one packet; for a packet socket also whether it was outgoing (our own).
fn recv_raw(fd: RawFd, buf: &mut [u8]) -> std::io::Result<(usize, bool)> {
    // SAFETY: zeroed sockaddr_ll is valid; the kernel writes at most `buf.len()` bytes into
    // `buf` and at most `len` bytes into `sll`.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
            libc::MSG_DONTWAIT,
            &mut sll as *mut libc::sockaddr_ll as *mut libc::sockaddr,
            &mut len,
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let outgoing = sll.sll_family == libc::AF_PACKET as u16 && sll.sll_pkttype == 4;
    Ok((n as usize, outgoing))
}

/// Wait until one of `fds` is readable or `timeout` passes; returns readiness per fd.
fn wait(fds: &[RawFd], timeout: Duration) -> Vec<bool> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.as_millis().min(1000) as libc::c_int;
    // SAFETY: `p` holds `p.len()` initialised pollfd structs.
    let rc = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, ms) };
    p.iter()
        .map(|x| rc > 0 && x.revents & libc::POLLIN != 0)
        .collect()
}

/// The upper-layer protocol of an IPv6 packet after Hop-by-Hop / Destination Options.
fn ipv6_upper(pkt: &[u8]) -> Option<u8> {
    gre_family::wire::ip::Ipv6Repr::parse_upper(pkt)
        .ok()
        .map(|(_, u)| u.protocol)
}

fn run() -> Result<(), String> {
    let a = parse_args()?;
    let start = Instant::now();
    let cfg = a.cfg.clone();
    let (kind, local, remote) = (cfg.kind, cfg.local, cfg.remote);
    let v6 = kind.outer_is_ipv6();
    if local.is_ipv6() != v6 || remote.is_some_and(|r| r.is_ipv6() != v6) {
        return Err(format!(
            "{} needs IPv{} --local/--remote",
            kind.name(),
            if v6 { 6 } else { 4 }
        ));
    }
    // ICMP errors the tunnel writes into the device must not come from the device's own
    // addresses (the host would drop them as martians): interface_v4/v6 stay unset, so relays
    // come from the reporting router and the tunnel's own errors from the inner destination.
    if local.is_unspecified() {
        warn!("local-address is unspecified: set --local to the outgoing interface's address");
    }
    let mut tunnel = Tunnel::new(cfg, start).map_err(|e| e.to_string())?;
    let tap = kind.is_ethernet();
    let mut dev = open_tun(&a.ifname, tap)?;
    let set_mtu = |mtu: usize| ip(&["link", "set", "dev", &a.ifname, "mtu", &mtu.to_string()]);
    set_mtu(tunnel.mtu())?;
    for addr in &a.addrs {
        let nodad: &[&str] = if addr.contains(':') { &["nodad"] } else { &[] };
        let mut args = vec!["addr", "add", addr.as_str(), "dev", &a.ifname];
        args.extend_from_slice(nodad);
        ip(&args)?;
    }
    ip(&["link", "set", "dev", &a.ifname, "up"])?;
    // one sending socket per protocol the tunnel uses (ipipv6: 41 and 4); over IPv6 they also
    // stop the host from answering our protocol with "parameter problem"
    let protos: Vec<u8> = if kind == TunnelKind::Ipipv6 {
        vec![41, 4]
    } else {
        vec![kind.ip_protocol()]
    };
    let socks: Vec<OwnedFd> = protos
        .iter()
        .map(|&p| raw_socket(v6, p))
        .collect::<Result<_, _>>()?;
    // receiving: IPv4 from the raw socket (+ a raw ICMP socket), IPv6 from a packet socket
    let rx: OwnedFd = if v6 {
        ipv6_packet_socket()?
    } else {
        icmp_socket()?
    };
    println!(
        "gre-tunnel: {} {} -> {:?} on {} (mtu {}, overhead {})",
        kind.name(),
        local,
        remote,
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
    let send = |pkt: &[u8], dst: IpAddr| -> std::io::Result<()> {
        // the outer protocol: IPv4 byte 9, IPv6 byte 6 (we never send extension headers)
        let proto = if v6 { pkt.get(6) } else { pkt.get(9) }
            .copied()
            .unwrap_or(0);
        let i = protos.iter().position(|&p| p == proto).unwrap_or(0);
        send_raw(socks[i].as_raw_fd(), pkt, dst)
    };
    let local_octets: Vec<u8> = match local {
        IpAddr::V4(l) => l.octets().to_vec(),
        IpAddr::V6(l) => l.octets().to_vec(),
    };
    let mut inbuf = vec![0u8; 65536];
    let mut outbuf = vec![0u8; 65536 + 64];
    let mut icmpbuf = vec![0u8; 1500];
    let mut last_running = tunnel.is_running();
    let mut drops = examples::logging::DropSummary::new("gre-tunnel", Duration::from_secs(10));
    println!("event: running={last_running}");
    let end = start + a.duration;
    let mut fds: Vec<RawFd> = vec![dev.as_raw_fd(), rx.as_raw_fd()];
    if !v6 {
        fds.push(socks[0].as_raw_fd());
    } else {
        // drain the raw sockets too (they receive our protocol; the packet socket is used)
        fds.extend(socks.iter().map(|s| s.as_raw_fd()));
    }
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
            record(now, &outbuf[..tx.len]);
            if let Err(e) = send(&outbuf[..tx.len], tx.dst) {
                warn!("send keepalive: {e}");
            }
        }
        while let Some(ev) = tunnel.poll_event() {
            println!("event: {ev:?}");
            if let Event::MtuChanged { mtu } = ev {
                // the host stack fragments / does its own PMTU discovery against the new MTU
                if let Err(e) = set_mtu(mtu) {
                    warn!("{e}");
                }
            }
        }
        drops.maybe_report();
        if tunnel.is_running() != last_running {
            last_running = tunnel.is_running();
            println!("event: running={last_running}");
        }
        let next = tunnel.poll_timeout().unwrap_or(end).min(end);
        let ready = wait(&fds, next.saturating_duration_since(now));
        let now = Instant::now();
        if ready[0] {
            match dev.read(&mut inbuf) {
                Ok(n) => match tunnel.encapsulate(now, &inbuf[..n], &mut outbuf) {
                    Ok(tx) => {
                        record(now, &outbuf[..tx.len]);
                        if let Err(e) = send(&outbuf[..tx.len], tx.dst) {
                            warn!("send: {e}");
                        }
                    }
                    Err(Error::TooBig { len, mtu }) => {
                        // answer the sender as a router would (fragmentation needed / PTB)
                        match tunnel.too_big_reply(&inbuf[..n], &mut icmpbuf) {
                            Some((m, _)) => {
                                println!("icmp: too big ({len} > {mtu}), answered the sender");
                                if let Err(e) = dev.write_all(&icmpbuf[..m]) {
                                    warn!("write {}: {e}", a.ifname);
                                }
                            }
                            None => {
                                debug!("encapsulate: {len} bytes > mtu {mtu}, dropped");
                                drops.count("too_big");
                            }
                        }
                    }
                    Err(e) => {
                        debug!("encapsulate: {e}");
                        drops.count("encapsulate");
                    }
                },
                Err(e) => return Err(format!("read {}: {e}", a.ifname)),
            }
        }
        // outer packets and ICMP errors
        for (k, &is_ready) in ready.iter().enumerate().skip(1) {
            if !is_ready {
                continue;
            }
            let fd = fds[k];
            while let Ok((n, outgoing)) = recv_raw(fd, &mut inbuf) {
                if v6 && fd != rx.as_raw_fd() {
                    continue; // the packet socket sees the same packets
                }
                let pkt = &mut inbuf[..n];
                let (is_icmp, dst_ours) = if v6 {
                    let icmp = ipv6_upper(pkt) == Some(58);
                    (icmp, pkt.get(24..40) == Some(&local_octets[..]))
                } else {
                    (
                        pkt.get(9) == Some(&1),
                        pkt.get(16..20) == Some(&local_octets[..]),
                    )
                };
                if outgoing || !dst_ours {
                    continue;
                }
                if is_icmp {
                    match tunnel.handle_icmp(now, pkt, &mut icmpbuf) {
                        IcmpHandled::Relay { len, payload } => {
                            println!("icmp: relayed a {payload:?} error to the inner sender");
                            if let Err(e) = dev.write_all(&icmpbuf[..len]) {
                                warn!("write {}: {e}", a.ifname);
                            }
                        }
                        IcmpHandled::Absorbed => println!("icmp: applied"),
                        IcmpHandled::Dropped(_) => {} // echo traffic, other tunnels
                    }
                    continue;
                }
                if v6 && !ipv6_upper(pkt).is_some_and(|p| kind.accepts_protocol(p)) {
                    continue;
                }
                record(now, pkt);
                match tunnel.decapsulate(now, pkt) {
                    Decapsulated::Packet {
                        range, mss_clamped, ..
                    } => {
                        if let Some((o, n)) = mss_clamped {
                            println!("clamp-tcp-mss: {o} -> {n}");
                        }
                        if let Err(e) = dev.write_all(&inbuf[range]) {
                            warn!("write {}: {e}", a.ifname);
                        }
                    }
                    Decapsulated::Dropped(r) => {
                        debug!("drop: {r:?}");
                        drops.count_debug(&r);
                    }
                    _ => {}
                }
            }
        }
    }
    drops.report();
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
    examples::logging::init();
    if let Err(e) = run() {
        error!("gre-tunnel: {e}");
        std::process::exit(1);
    }
}
