//! `l2tp-client`: the RouterOS-style L2TP client (`/interface l2tp-client`): the `l2tp` crate's
//! LAC and a `ppp` client session on a real UDP socket.
//!
//! ```text
//! l2tp-client --help
//! l2tp-client <server-ip> [--user U] [--password P] [--secret S] [--hold SECS]
//!             [--ping ADDR [--count N]] [--pcap FILE]
//!             [--tun NAME] [--add-default-route] [--default-route-distance D]
//!             [--use-peer-dns yes|no|exclusively] [--allow pap,chap,mschap1,mschap2,eap]
//!             [--max-mtu N] [--max-mru N] [--keepalive-timeout SECS] [--ipv6]
//!             [--use-ipsec --ipsec-secret PSK]
//!             [--config FILE.rsc [--name NAME]]
//! l2tp-client --config examples/rsc/l2tp-client.rsc
//! ```
//! * `--config FILE.rsc`: a RouterOS export: the `/interface l2tp-client` interface named
//!   `--name` (default the first `add`; see `examples::rsc_config::l2tp_client`). Unknown
//!   properties are warned about with their line. `<server-ip>`, `--user`, `--password` and
//!   the PPP options given on the command line override it; `use-ipsec=yes` and
//!   `ipsec-secret` are honoured as `--use-ipsec` and `--ipsec-secret`.
//! * `--use-ipsec` with `--ipsec-secret PSK` (RouterOS `use-ipsec=yes`, `ipsec-secret`):
//!   L2TP/IPsec (RFC 3193) in user space through `examples::l2tp_ipsec`: IKEv1 main mode
//!   with the pre-shared key and quick mode in transport mode from UDP ports 500/4500 of this
//!   host (root, or `CAP_NET_BIND_SERVICE`), then every L2TP datagram (1701 -> 1701) inside
//!   ESP in UDP 4500. L2TP starts once the SA is up (`IPSEC UP spi_in=.. spi_out=..`); no
//!   cleartext L2TP leaves the host. IPv4 only.
//! * The PPP settings are the RouterOS `/interface l2tp-client` ones
//!   ([`ppp::ClientSettings`]): `--allow` limits the authentication methods the client
//!   accepts (default all four), `--max-mtu`/`--max-mru` (1450), `--keepalive-timeout` (60),
//!   `--use-peer-dns` (bare flag = `yes`), `--add-default-route` with
//!   `--default-route-distance`. `--ipv6` also runs IPv6CP. Prints `AUTH OK method=M` once
//!   authenticated.
//! * Brings up tunnel, session, LCP, authentication and IPCP; prints one line per event
//!   (`TUNNEL UP`, `SESSION UP`, `LCP UP`, `IPCP UP local=.. peer=.. dns=..`).
//! * `--ping ADDR`: sends ICMP echo requests (every 0.5 s) through the tunnel from the PPP
//!   address (built in user space, no TUN device needed) until `--count` replies arrived (at
//!   most 4 x count requests; the peer's interface may come up a moment after IPCP) and prints
//!   `PING REPLY from ADDR seq=N` per reply.
//! * `--tun NAME`: create TUN device NAME (via `examples::sys::open_tun`), give it the PPP
//!   addresses (`ip addr add LOCAL/32 peer REMOTE`) and forward IP packets both ways, so the
//!   host's own `ping` works through the tunnel. Packets read from the TUN are dispatched on
//!   the IP version nibble: IPv4 as PPP protocol 0x0021; IPv6 as 0x0057 only while IPv6CP is
//!   open, otherwise dropped and counted (`TUN DROPPED ipv6=N other=N` at exit), as is
//!   anything else.
//! * `--add-default-route`: with `--tun` and inside a network namespace other than init's,
//!   `ip route replace default dev NAME`; otherwise only prints `WOULD ROUTE default via ppp`.
//!   `--use-peer-dns`: prints the DNS servers IPCP gave (`WOULD USE DNS ...`); the host's
//!   resolver is never rewritten.
//! * `--pcap FILE`: every datagram sent and received, wrapped in synthetic IPv4/UDP headers.
//!
//! Exits after `--hold` seconds (default 20) or after the pings are answered, closing cleanly.

use clap::{Parser, ValueEnum};
use examples::l2tp_ipsec::{IpsecEvent, IpsecSockets, L2tpIpsec};
use examples::sys::ip;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use tracing::error;

use l2tp::config::ClientConfig;
use l2tp::ppp_link::{ClientEvent, ClientInput, L2tpClient};
use l2tp::TunnelConfig;
use netsim::pcap;
use ppp::host::ClientEvent as PppEv;
use std::io::{Read, Write};

/// True when this process runs in a network namespace other than init's (only then may
/// `--add-default-route` touch the routing table).
fn in_own_netns() -> bool {
    match (
        std::fs::read_link("/proc/self/ns/net"),
        std::fs::read_link("/proc/1/ns/net"),
    ) {
        (Ok(a), Ok(b)) => a != b,
        _ => false,
    }
}

/// RouterOS-style L2TP client (`/interface l2tp-client`): the `l2tp` crate's LAC and a `ppp`
/// client session on a real UDP socket.
///
/// Brings up tunnel, session, LCP, authentication and IPCP and prints one line per event on
/// stdout (`TUNNEL UP`, `SESSION UP`, `LCP UP`, `AUTH OK method=M`, `IPCP UP local=.. peer=..
/// dns=..`). With --ping it sends ICMP echo requests through the tunnel from the PPP address
/// (no TUN device needed) and prints `PING REPLY from ADDR seq=N`; with --tun it carries the
/// host's IP traffic. Exits after --hold seconds or once the pings are answered, closing
/// cleanly.
#[derive(Parser, Debug)]
#[command(name = "l2tp-client", version)]
struct Cli {
    /// L2TP server address, UDP port 1701 (RouterOS `connect-to`). Required unless --config
    /// gives it.
    #[arg(required_unless_present = "config")]
    server: Option<IpAddr>,
    /// RouterOS export (`.rsc`) with `/interface l2tp-client add ...`; the options given on
    /// the command line override it. Unknown properties are warned about with their line.
    /// Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// With --config: the interface's `name` (default: the first `add`).
    #[arg(long, value_name = "NAME", requires = "config")]
    name: Option<String>,
    /// PPP user name (RouterOS `user`; default empty).
    #[arg(long, default_value = "")]
    user: String,
    /// PPP password (RouterOS `password`; default empty).
    #[arg(long, default_value = "")]
    password: String,
    /// L2TP tunnel secret (tunnel authentication, RFC 2661 s5.1.1). Default: none.
    #[arg(long)]
    secret: Option<String>,
    /// Seconds to stay connected before closing.
    #[arg(
        long = "duration",
        visible_alias = "hold",
        default_value_t = 20,
        value_name = "SECS"
    )]
    hold: u64,
    /// Send ICMP echo requests to ADDR through the tunnel (every 0.5 s) until --count replies
    /// arrived (at most 4 x count requests). Default: no pings.
    #[arg(long, value_name = "ADDR")]
    ping: Option<Ipv4Addr>,
    /// Replies to wait for with --ping.
    #[arg(long, default_value_t = 3, value_name = "N")]
    count: u16,
    /// Write every datagram sent and received, in synthetic IPv4/UDP headers, to this pcap.
    /// Default: none.
    #[arg(long, value_name = "FILE")]
    pcap: Option<String>,
    /// Create TUN device NAME with the PPP addresses and forward IP both ways. Default: none.
    #[arg(long, value_name = "NAME")]
    tun: Option<String>,
    /// RouterOS `add-default-route` (default no): with --tun inside a network namespace other
    /// than init's, `ip route replace default dev NAME`; otherwise only prints `WOULD ROUTE`.
    #[arg(long)]
    add_default_route: bool,
    /// RouterOS `default-route-distance` (default empty for l2tp-client).
    #[arg(long, value_name = "D")]
    default_route_distance: Option<u8>,
    /// RouterOS `use-peer-dns` (default no; the bare flag means yes). The DNS servers are only
    /// printed (`WOULD USE DNS ...`), the host's resolver is never rewritten.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "yes", value_name = "WHEN")]
    use_peer_dns: Option<PeerDns>,
    /// RouterOS `allow`: authentication methods the client accepts, comma-separated from pap,
    /// chap, mschap1, mschap2, eap (default mschap2,mschap1,chap,pap).
    #[arg(long, value_parser = parse_allow, value_name = "LIST")]
    allow: Option<String>,
    /// RouterOS `max-mtu` (default 1450).
    #[arg(long, value_name = "N")]
    max_mtu: Option<u16>,
    /// RouterOS `max-mru` (default 1450).
    #[arg(long, value_name = "N")]
    max_mru: Option<u16>,
    /// RouterOS `keepalive-timeout` in seconds (default 60).
    #[arg(long, value_name = "SECS")]
    keepalive_timeout: Option<u64>,
    /// Also run IPv6CP (default: IPv4 only).
    #[arg(long)]
    ipv6: bool,
    /// RouterOS `use-ipsec=yes` (default no): run L2TP inside IPsec (IKEv1 PSK, ESP transport
    /// mode in UDP 4500) from UDP ports 500 and 4500 of this host; needs --ipsec-secret.
    #[arg(long)]
    use_ipsec: bool,
    /// RouterOS `ipsec-secret`: the IPsec pre-shared key (default none).
    #[arg(long, value_name = "PSK")]
    ipsec_secret: Option<String>,
}

/// RouterOS `use-peer-dns` values.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum PeerDns {
    /// Ignore the peer's DNS servers.
    No,
    /// Use them along with the configured ones.
    Yes,
    /// Use only them.
    Exclusively,
}

fn parse_allow(s: &str) -> Result<String, String> {
    ppp::AuthSet::parse(s)
        .map_err(|e| format!("{e} (allowed: pap, chap, mschap1, mschap2, eap)"))?;
    Ok(s.to_string())
}

fn main() {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    examples::logging::init();
    // With --config, an option overrides the file only when it was given on the command line.
    let given = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(clap::parser::ValueSource::CommandLine)
        )
    };
    let overrides = Overrides {
        user: given("user"),
        password: given("password"),
    };
    if let Err(e) = run(cli, overrides) {
        error!("{e}");
        std::process::exit(1);
    }
}

/// Which defaulted options were given on the command line (they then override `--config`).
struct Overrides {
    user: bool,
    password: bool,
}

fn run(cli: Cli, given: Overrides) -> Result<(), String> {
    let rsc = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let r = examples::rsc_config::l2tp_client(&text, cli.name.as_deref())
                .map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            if r.client.disabled {
                tracing::warn!("{path}: the interface is disabled there; connecting anyway");
            }
            Some(r)
        }
        None => None,
    };
    let server = cli
        .server
        .or(rsc.as_ref().and_then(|r| r.client.connect_to))
        .ok_or("no server address: give <server-ip> or connect-to= in --config")?;
    let use_ipsec = cli.use_ipsec
        || rsc
            .as_ref()
            .is_some_and(|r| r.client.use_ipsec != l2tp::config::UseIpsec::No);
    let ipsec_secret = cli
        .ipsec_secret
        .clone()
        .or(rsc.as_ref().and_then(|r| r.ipsec_secret.clone()));
    let hold = Duration::from_secs(cli.hold);
    let ping = cli.ping;
    let count = cli.count;
    let default_route = cli.add_default_route;
    let pcap_path = cli.pcap.clone();
    let mut frames: Vec<(Duration, Vec<u8>)> = Vec::new();

    let bind: SocketAddr = match server {
        IpAddr::V4(_) => "0.0.0.0:0".parse().map_err(|e| format!("{e}"))?,
        IpAddr::V6(_) => "[::]:0".parse().map_err(|e| format!("{e}"))?,
    };
    let sock = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
    let local = sock.local_addr().map_err(|e| e.to_string())?;
    let mut dest = SocketAddr::new(server, 1701);
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let tun_name = cli.tun.clone();
    let mut tun = match &tun_name {
        Some(n) => Some(examples::sys::open_tun(n, false, true)?),
        None => None,
    };
    let start = Instant::now();
    // L2TP/IPsec: the IKEv1 initiator on UDP 500/4500; L2TP waits for its SA.
    let mut ipsec: Option<(L2tpIpsec, IpsecSockets, Ipv4Addr)> = match (use_ipsec, server) {
        (false, _) => None,
        (true, IpAddr::V6(_)) => return Err("--use-ipsec: IPv4 servers only".into()),
        (true, IpAddr::V4(srv)) => {
            let psk = ipsec_secret
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or("--use-ipsec needs --ipsec-secret (or ipsec-secret= in --config)")?;
            let me = examples::l2tp_ipsec::local_ip_towards(srv)?;
            let socks = IpsecSockets::bind(IpAddr::V4(Ipv4Addr::UNSPECIFIED))?;
            let seed = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
            let drv = L2tpIpsec::client(
                examples::l2tp_ipsec::Config::new(psk.as_bytes(), me),
                srv,
                start,
                Box::new(seed),
            )?;
            println!("IPSEC START {me} -> {srv}");
            Some((drv, socks, me))
        }
    };
    let mut cfg: ClientConfig = rsc.map(|r| r.client).unwrap_or_default();
    let from_file = cli.config.is_some();
    let p = &mut cfg.ppp;
    if !from_file || given.user {
        p.user = cli.user;
    }
    if !from_file || given.password {
        p.password = cli.password;
    }
    if let Some(a) = &cli.allow {
        p.allow = ppp::AuthSet::parse(a).map_err(|e| format!("--allow: {e}"))?;
    }
    if let Some(v) = cli.max_mtu {
        p.max_mtu = v;
    }
    if let Some(v) = cli.max_mru {
        p.max_mru = v;
    }
    if let Some(v) = cli.keepalive_timeout {
        p.keepalive_timeout = Duration::from_secs(v);
    }
    if let Some(v) = cli.default_route_distance {
        p.default_route_distance = Some(v);
    }
    if default_route {
        p.add_default_route = true;
    }
    if let Some(d) = cli.use_peer_dns {
        p.use_peer_dns = match d {
            PeerDns::No => ppp::UsePeerDns::No,
            PeerDns::Yes => ppp::UsePeerDns::Yes,
            PeerDns::Exclusively => ppp::UsePeerDns::Exclusively,
        };
    }
    if cli.ipv6 {
        p.link.ipv6 = true;
    }
    cfg.tunnel = TunnelConfig {
        host_name: b"rust-l2tp-client".to_vec(),
        secret: cli.secret.map(String::into_bytes),
        ..Default::default()
    };
    cfg.connect_to = Some(server);
    cfg.disabled = false;
    cfg.use_ipsec = if use_ipsec {
        l2tp::config::UseIpsec::Yes
    } else {
        l2tp::config::UseIpsec::No
    };
    let mut c = L2tpClient::new(cfg, start, &mut rng).map_err(|e| e.to_string())?;
    let (mut tun_v6_dropped, mut tun_other_dropped) = (0u64, 0u64);

    let ip4 = |a: IpAddr| match a {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(_) => [0, 0, 0, 0],
    };
    let mut record = |at: Duration, from: SocketAddr, to: SocketAddr, d: &[u8]| {
        if pcap_path.is_some() {
            frames.push((
                at,
                pcap::udp4_wrap(ip4(from.ip()), from.port(), ip4(to.ip()), to.port(), d),
            ));
        }
    };

    let mut buf = vec![0u8; 4096];
    let mut tbuf = vec![0u8; 4096];
    let mut out = vec![0u8; 4096];
    let mut my_ip: Option<Ipv4Addr> = None;
    let mut sent = 0u16;
    let mut replies = 0u16;
    let mut next_ping = start;
    let mut closing: Option<Instant> = None;
    loop {
        let now = Instant::now();
        // L2TP/IPsec: IKE and ESP in, timers, events; L2TP waits until the SA is up.
        let mut inbox: Vec<Vec<u8>> = Vec::new();
        if let Some((drv, socks, me)) = ipsec.as_mut() {
            while let Some((port, from, n)) = socks.recv(&mut buf) {
                record(
                    now - start,
                    from,
                    SocketAddr::new(IpAddr::V4(*me), port),
                    &buf[..n],
                );
                if let examples::l2tp_ipsec::Input::L2tp { payload, .. } =
                    drv.handle_datagram(now, port, from, &buf[..n])
                {
                    inbox.push(payload.to_vec());
                }
            }
            drv.handle_timeout(now);
            while let Some(e) = drv.poll_event() {
                match e {
                    IpsecEvent::Up {
                        spi_in, spi_out, ..
                    } => println!("IPSEC UP spi_in={spi_in:#010x} spi_out={spi_out:#010x}"),
                    IpsecEvent::Down { reason, .. } => {
                        println!("IPSEC DOWN {reason}");
                        closing.get_or_insert(now);
                    }
                    IpsecEvent::Ike { event, .. } => println!("IKE {event:?}"),
                }
            }
        }
        let ipsec_ready = ipsec.as_ref().is_none_or(|(d, _, _)| d.is_up());
        while let Some(d) = ipsec_ready.then(|| c.poll_transmit(now)).flatten() {
            send_l2tp(&mut ipsec, &sock, local, dest, &d, &mut |f, t, b| {
                record(now - start, f, t, b)
            });
        }
        flush_ipsec(&mut ipsec, &mut |f, t, b| record(now - start, f, t, b));
        while let Some(e) = c.poll_event() {
            match e {
                ClientEvent::L2tp(l2tp::Event::TunnelUp { peer_tunnel_id, .. }) => {
                    println!("TUNNEL UP peer_tunnel_id={peer_tunnel_id}")
                }
                ClientEvent::L2tp(l2tp::Event::SessionUp { session_id, .. }) => {
                    println!("SESSION UP session_id={session_id}")
                }
                ClientEvent::L2tp(l2tp::Event::TunnelDown { reason }) => {
                    println!("TUNNEL DOWN {reason:?}");
                    closing.get_or_insert(now);
                }
                ClientEvent::Ppp(PppEv::Ppp(ppp::Event::LinkUp { mtu, auth, .. })) => {
                    println!("LCP UP mtu={mtu} auth={auth:?}")
                }
                ClientEvent::Ppp(PppEv::Ppp(ppp::Event::AuthSucceeded { method, .. })) => {
                    println!("AUTH OK method={method}")
                }
                ClientEvent::Ppp(PppEv::Ppp(ppp::Event::Ipv6Up {
                    local_interface_id,
                    remote_interface_id,
                })) => println!(
                    "IPV6CP UP local={local_interface_id:02x?} peer={remote_interface_id:02x?}"
                ),
                ClientEvent::Ppp(PppEv::Up(u)) => {
                    println!(
                        "IPCP UP local={} peer={} dns={:?} mtu={}",
                        u.local, u.remote, u.dns, u.mtu
                    );
                    if let Some(n) = &tun_name {
                        let (l, r) = (format!("{}/32", u.local), u.remote.to_string());
                        ip(&["addr", "add", &l, "peer", &r, "dev", n])?;
                        ip(&["link", "set", n, "up", "mtu", &u.mtu.to_string()])?;
                        println!("TUN {n} UP {l} peer {r}");
                    }
                    if let Some(distance) = u.default_route {
                        let d = distance.map(|d| d.to_string()).unwrap_or_default();
                        match (&tun_name, in_own_netns()) {
                            (Some(n), true) => {
                                let mut a = vec!["route", "replace", "default", "dev", n];
                                if !d.is_empty() {
                                    a.extend_from_slice(&["metric", &d]);
                                }
                                ip(&a)?;
                                println!("ROUTE default dev {n}");
                            }
                            _ => println!(
                                "WOULD ROUTE default via ppp (peer {}) distance={d}",
                                u.remote
                            ),
                        }
                    }
                    if !u.dns.is_empty() || u.dns_exclusive {
                        // never rewrites the host's resolver; print what RouterOS would use
                        println!("WOULD USE DNS {:?} exclusively={}", u.dns, u.dns_exclusive);
                    }
                    my_ip = Some(u.local);
                }
                ClientEvent::Ppp(PppEv::Ppp(ppp::Event::Terminated { reason, .. })) => {
                    println!("PPP TERMINATED {reason:?}")
                }
                ClientEvent::Ppp(PppEv::Status(s)) => println!("STATUS {}", s.as_str()),
                other => println!("EVENT {other:?}"),
            }
        }
        if let (Some(src), Some(dst)) = (my_ip, ping) {
            if replies < count
                && sent < count.saturating_mul(4)
                && now >= next_ping
                && closing.is_none()
            {
                let pkt = netsim::pcap::icmp4_echo(
                    src.octets(),
                    dst.octets(),
                    false,
                    0x4c32,
                    sent,
                    b"rust-l2tp-ping-payload..",
                );
                if let Ok(n) = c.send_datagram(now, 0x0021, &pkt, &mut out) {
                    send_l2tp(&mut ipsec, &sock, local, dest, &out[..n], &mut |f, t, b| {
                        record(now - start, f, t, b)
                    });
                    println!("PING SENT to {dst} seq={sent}");
                    sent += 1;
                    next_ping = now + Duration::from_millis(500);
                }
            }
        }
        let done_pinging = ping.is_some() && replies >= count;
        if closing.is_none() && (now - start >= hold || done_pinging) {
            println!("CLOSING");
            c.close(now);
            closing = Some(now);
        }
        if let Some(t) = closing {
            if now - t > Duration::from_secs(3) {
                break;
            }
        }
        // TUN (non-blocking): packets from the host stack go into the tunnel
        if let (Some(t), Some(_)) = (tun.as_mut(), my_ip) {
            while let Ok(n) = t.read(&mut tbuf) {
                if n == 0 {
                    break;
                }
                // dispatch on the IP version nibble
                let v6_open = c
                    .ppp()
                    .is_some_and(|p| p.ipv6cp_state() == ppp::fsm::State::Opened);
                let Some(proto) = examples::sys::ppp_protocol_for_tun(&tbuf[..n], v6_open) else {
                    if tbuf[0] >> 4 == 6 {
                        tun_v6_dropped += 1;
                    } else {
                        tun_other_dropped += 1;
                    }
                    continue;
                };
                if let Ok(m) = c.send_datagram(now, proto, &tbuf[..n], &mut out) {
                    send_l2tp(&mut ipsec, &sock, local, dest, &out[..m], &mut |f, t, b| {
                        record(now - start, f, t, b)
                    });
                }
            }
        }
        flush_ipsec(&mut ipsec, &mut |f, t, b| record(now - start, f, t, b));
        let cap = if tun.is_some() || ipsec.is_some() {
            5
        } else {
            100
        };
        let deadline = c
            .poll_timeout()
            .unwrap_or(now + Duration::from_millis(200))
            .min(now + Duration::from_millis(cap));
        let wait = deadline
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        if inbox.is_empty() {
            match sock.recv_from(&mut buf) {
                // With IPsec, L2TP arrives only inside ESP: cleartext L2TP is not taken.
                Ok((n, from)) if from.ip() == server && ipsec.is_none() => {
                    // the LNS may answer from another port (xl2tpd does not, some LNSes do)
                    dest = from;
                    record(Instant::now() - start, from, local, &buf[..n]);
                    inbox.push(buf[..n].to_vec());
                }
                Ok(_) => continue,
                Err(_) => {
                    let now = Instant::now();
                    if c.poll_timeout().is_some_and(|d| d <= now) {
                        c.handle_timeout(now);
                    }
                }
            }
        }
        for d in &inbox {
            let now = Instant::now();
            {
                if let Ok(ClientInput::Datagram { protocol, payload }) = c.handle_input(now, d) {
                    if ping.is_some()
                        && protocol == 0x0021
                        && payload.len() >= 28
                        && payload[9] == 1
                        && payload[20] == 0
                    {
                        let from_ip =
                            Ipv4Addr::new(payload[12], payload[13], payload[14], payload[15]);
                        let seq = u16::from_be_bytes([payload[26], payload[27]]);
                        println!("PING REPLY from {from_ip} seq={seq}");
                        replies += 1;
                    } else if let Some(t) = tun.as_mut() {
                        let _ = t.write(payload);
                    }
                }
            }
        }
    }
    if let Some((drv, socks, _)) = ipsec.as_mut() {
        let now = Instant::now();
        drv.close(now);
        socks.flush(drv, now);
    }
    if tun.is_some() {
        println!("TUN DROPPED ipv6={tun_v6_dropped} other={tun_other_dropped}");
    }
    if let Some(p) = pcap_path {
        let bytes = pcap::to_bytes(pcap::LINKTYPE_RAW, &frames);
        std::fs::write(&p, bytes).map_err(|e| format!("{p}: {e}"))?;
        println!("PCAP {p} ({} frames)", frames.len());
    }
    Ok(())
}

/// The IPsec side of the client: driver, its sockets, our address.
type Ipsec = Option<(L2tpIpsec, IpsecSockets, Ipv4Addr)>;

/// Send one L2TP datagram: plain to `dest`, or inside ESP through the IPsec driver.
fn send_l2tp(
    ipsec: &mut Ipsec,
    sock: &UdpSocket,
    local: SocketAddr,
    dest: SocketAddr,
    d: &[u8],
    record: &mut dyn FnMut(SocketAddr, SocketAddr, &[u8]),
) {
    match ipsec.as_mut() {
        None => {
            record(local, dest, d);
            let _ = sock.send_to(d, dest);
        }
        Some((drv, _, _)) => {
            if let Some(k) = drv.client_key() {
                drv.send_l2tp(k, d);
            }
            flush_ipsec(ipsec, record);
        }
    }
}

/// Send what the IPsec driver queued (IKE, ESP, keepalives), recording each datagram.
fn flush_ipsec(ipsec: &mut Ipsec, record: &mut dyn FnMut(SocketAddr, SocketAddr, &[u8])) {
    if let Some((drv, socks, me)) = ipsec.as_mut() {
        socks.flush_recorded(drv, Instant::now(), *me, record);
    }
}
