//! `pptp-client`: a RouterOS-style PPTP client (`/interface pptp-client`, the RFC 2637 PNS)
//! on a TCP connection to port 1723 and a raw IPv4 socket for IP protocol 47 (GRE): the
//! `pptp` crate's [`pptp::Client`] with its PPP client.
//!
//! ```text
//! pptp-client --help
//! pptp-client <connect-to> [--user U] [--password P] [--use-encryption default|no|yes|required]
//!             [--ping ADDR [--count N]] [--duration SECS] [--config FILE.rsc [--name NAME]]
//! pptp-client --config examples/rsc/pptp-client.rsc
//! ```
//! * `--config FILE.rsc`: a RouterOS export: the `/interface pptp-client` interface named
//!   `--name` (default the first `add`), with `/ppp profile`, whose `use-encryption` the
//!   client takes (see `examples::rsc_config::pptp_client`). Unknown properties are warned
//!   about with their line; the options given on the command line override the file.
//! * Needs `CAP_NET_RAW` (the GRE socket).
//! * Prints `CONNECT addr`, `CONTROL UP host=... vendor=...` (the server's SCCRP), `CALL UP`,
//!   `AUTH OK`, `IPCP UP local=.. peer=..`, `ENCRYPTION <encoding>`, `PING reply from ..`,
//!   `CLOSED reason=..` on stdout; diagnostics go to stderr (`RUST_LOG`).
//! * `--ping ADDR`: ICMP echo requests through the tunnel, `--count` of them, then a clean
//!   teardown (Call-Clear-Request, Stop-Control-Connection-Request) and exit 0 if all were
//!   answered, 1 otherwise.

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use examples::logging::DropSummary;
use examples::pptp_util::GreSocket;
use examples::sstp_util::write_all_nb;
use ppp::aaa::UseEncryption;
use pptp::{Channel, Client, ClientConfig, ClientEvent, ControlEvent, Input};
use tracing::{debug, error, warn};

/// RouterOS-style PPTP client (`/interface pptp-client`, the RFC 2637 PNS): TCP to port 1723
/// and a raw IP-protocol-47 socket for GRE.
///
/// Needs CAP_NET_RAW. Prints `CONNECT`, `CONTROL UP`, `CALL UP`, `AUTH OK`, `IPCP UP local=..
/// peer=..`, `ENCRYPTION <encoding>`, `PING reply from ..`, `CLOSED reason=..` on stdout. With
/// --ping it exits 0 when every echo was answered, 1 otherwise.
#[derive(Parser, Debug)]
#[command(name = "pptp-client", version)]
struct Cli {
    /// Server address (RouterOS `connect-to`; IPv4 only, as in RouterOS). Required unless
    /// --config gives it.
    #[arg(required_unless_present = "config")]
    connect_to: Option<Ipv4Addr>,
    /// RouterOS export (`.rsc`) with `/interface pptp-client add ...` and `/ppp profile`;
    /// the options given on the command line override it. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// With --config: the interface's `name` (default: the first `add`).
    #[arg(long, value_name = "NAME", requires = "config")]
    name: Option<String>,
    /// PPP user name (RouterOS `user`).
    #[arg(long, default_value = "alice")]
    user: String,
    /// PPP password (RouterOS `password`).
    #[arg(long, default_value = "pw")]
    password: String,
    /// RouterOS `allow`: authentication methods the client accepts (it Naks the others),
    /// comma-separated from pap, chap, mschap1, mschap2, eap (default mschap2,mschap1,chap,pap,
    /// or the file's `allow`).
    #[arg(long, value_parser = examples::ppp_cli::parse_allow, value_name = "LIST")]
    allow: Option<ppp::AuthSet>,
    /// `use-encryption` of the client's profile (RouterOS `profile=default-encryption`: yes).
    #[arg(long, value_enum, default_value_t = UseEncryptionArg::Yes)]
    use_encryption: UseEncryptionArg,
    /// Send ICMP echo requests to ADDR through the tunnel. Default: none.
    #[arg(long, value_name = "ADDR")]
    ping: Option<Ipv4Addr>,
    /// Echo requests to send with --ping.
    #[arg(long, default_value_t = 3, value_name = "N")]
    count: u16,
    /// Seconds to stay connected.
    #[arg(
        long = "duration",
        visible_alias = "hold",
        default_value_t = 30,
        value_name = "SECS"
    )]
    hold: u64,
}

/// RouterOS `use-encryption` values.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum UseEncryptionArg {
    /// Passive: MPPE when the peer asks for it.
    Default,
    /// Never encrypt.
    No,
    /// Offer MPPE, run in clear if the peer refuses.
    Yes,
    /// MPPE or no session.
    Required,
}

fn main() {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    examples::logging::init();
    examples::sys::stop_on_signals();
    // With --config, an option overrides the file only when it was given on the command line.
    let given = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(clap::parser::ValueSource::CommandLine)
        )
    };
    let given: Vec<&'static str> = ["user", "password", "use_encryption"]
        .into_iter()
        .filter(|id| given(id))
        .collect();
    match run(cli, &given) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            error!("{e}");
            std::process::exit(1);
        }
    }
}

/// The client configuration: the `--config` file's interface (if any), then the options
/// (those with a default only when `given` on the command line, or without `--config`).
fn configure(cli: &Cli, given: &[&str]) -> Result<ClientConfig, String> {
    let from_file = cli.config.is_some();
    let over = |id: &str| !from_file || given.contains(&id);
    let mut cfg = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let r = examples::rsc_config::pptp_client(&text, cli.name.as_deref())
                .map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            if r.client.disabled {
                tracing::warn!("{path}: the interface is not disabled=no there; dialing anyway");
            }
            r.client
        }
        None => ClientConfig::default(),
    };
    cfg.disabled = false;
    if let Some(a) = cli.connect_to {
        cfg.connect_to = Some(IpAddr::V4(a));
    }
    if over("user") {
        cfg.ppp.user = cli.user.clone();
    }
    if over("password") {
        cfg.ppp.password = cli.password.clone();
    }
    if let Some(a) = cli.allow {
        cfg.ppp.allow = a;
    }
    if over("use_encryption") {
        cfg.ppp.use_encryption = match cli.use_encryption {
            UseEncryptionArg::Default => UseEncryption::Default,
            UseEncryptionArg::No => UseEncryption::No,
            UseEncryptionArg::Yes => UseEncryption::Yes,
            UseEncryptionArg::Required => UseEncryption::Required,
        };
    }
    Ok(cfg)
}

fn run(cli: Cli, given: &[&str]) -> Result<bool, String> {
    let cfg = configure(&cli, given)?;
    let server = match cfg.connect_to {
        Some(IpAddr::V4(a)) => a,
        _ => return Err("connect-to: an IPv4 address is needed (PPTP runs over IPv4)".into()),
    };
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut client = Client::new(cfg, start, rng).map_err(|e| e.to_string())?;
    let gre = GreSocket::open(None)?;
    let mut sock: Option<TcpStream> = None;
    let mut local: Option<Ipv4Addr> = None;
    let (mut sent, mut answered) = (0u16, 0u16);
    let mut next_ping = start;
    let mut buf = vec![0u8; 65536];
    let mut pkt = vec![0u8; 65536];
    let mut drops = DropSummary::new("pptp-client", Duration::from_secs(10));
    let hold = Duration::from_secs(cli.hold);
    let mut done_at: Option<Instant> = None;
    while start.elapsed() < hold && !examples::sys::stop_requested() {
        let now = Instant::now();
        if let Some(s) = sock.as_mut() {
            loop {
                match s.read(&mut buf) {
                    Ok(0) => {
                        sock = None;
                        client.handle_stream_closed(now);
                        break;
                    }
                    Ok(n) => {
                        client.handle_stream(now, &buf[..n]);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        sock = None;
                        client.handle_stream_closed(now);
                        break;
                    }
                }
            }
        }
        loop {
            match gre.recv(&mut pkt) {
                Ok(Some((src, r))) => {
                    if src != server {
                        continue;
                    }
                    match client.handle_datagram(now, IpAddr::V4(src), &mut pkt[r]) {
                        Input::Datagram {
                            protocol: 0x0021,
                            payload: d,
                        } if d.len() > 20 && d[9] == 1 && d[20] == 0 => {
                            answered += 1;
                            println!("PING reply from {}.{}.{}.{}", d[12], d[13], d[14], d[15]);
                        }
                        Input::Dropped(r) => drops.count_debug(&r),
                        _ => {}
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    warn!("GRE receive: {e}");
                    break;
                }
            }
        }
        if client.poll_timeout().is_some_and(|d| d <= now) {
            client.handle_timeout(now);
        }
        if let (Some(dst), Some(me), None) = (cli.ping, local, done_at) {
            if sent < cli.count && now >= next_ping {
                sent += 1;
                let p = netsim::pcap::icmp4_echo(
                    me.octets(),
                    dst.octets(),
                    false,
                    0x5050,
                    sent,
                    b"rosproto-pptp ping",
                );
                if let Err(e) = client.send_datagram(now, 0x0021, &p) {
                    warn!("ping {sent}: {e}");
                }
                next_ping = now + Duration::from_millis(200);
            }
            if answered >= cli.count
                || (sent >= cli.count && now >= next_ping + Duration::from_secs(3))
            {
                // clean teardown: Call-Clear-Request, Stop-Control-Connection-Request
                client.disable(now);
                done_at = Some(now);
            }
        }
        while let Some(e) = client.poll_event() {
            match e {
                ClientEvent::Connect { to } => {
                    let addr = SocketAddr::new(to, 1723);
                    println!("CONNECT {addr}");
                    match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
                        Ok(s) => {
                            s.set_nonblocking(true).map_err(|e| e.to_string())?;
                            let _ = s.set_nodelay(true);
                            sock = Some(s);
                            client.handle_connected(Instant::now());
                        }
                        Err(e) => {
                            println!("CONNECT FAILED {addr}: {e}");
                            client.handle_stream_closed(Instant::now());
                        }
                    }
                }
                ClientEvent::Disconnect(reason) => {
                    // the last control bytes are still queued: flush them, then close
                    if let Some(s) = sock.as_mut() {
                        while let Some(t) = client.poll_transmit(now) {
                            if t.channel == Channel::Control {
                                let _ = write_all_nb(s, &t.payload);
                            }
                        }
                    }
                    println!("CLOSED reason={reason:?}");
                    sock = None;
                    local = None;
                }
                ClientEvent::Control(ControlEvent::Established { peer }) => println!(
                    "CONTROL UP host={:?} vendor={:?}",
                    peer.host_name.to_string_lossy(),
                    peer.vendor.to_string_lossy()
                ),
                ClientEvent::Control(ControlEvent::CallUp {
                    call_id,
                    peer_call_id,
                    peer_window,
                }) => println!(
                    "CALL UP call_id={call_id} peer_call_id={peer_call_id} peer_window={peer_window}"
                ),
                ClientEvent::Control(ControlEvent::CallDown { call_id, reason }) => {
                    println!("CALL DOWN call_id={call_id} reason={reason:?}")
                }
                ClientEvent::Control(ControlEvent::Dropped(r)) => drops.count_debug(&r),
                ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) => {
                    println!("IPCP UP local={} peer={} mtu={}", u.local, u.remote, u.mtu);
                    local = Some(u.local);
                }
                ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ev)) => match ev {
                    ppp::Event::AuthSucceeded { user, method, .. } => {
                        println!("AUTH OK {user} method={method}")
                    }
                    ppp::Event::AuthFailed { user, message, .. } => {
                        println!("AUTH FAILED {user}: {message}")
                    }
                    ppp::Event::EncryptionUp { encoding, .. } => println!("ENCRYPTION {encoding}"),
                    ppp::Event::Terminated { reason, .. } => println!("PPP TERMINATED {reason:?}"),
                    other => debug!("{other:?}"),
                },
                other => debug!("{other:?}"),
            }
        }
        while let Some(t) = client.poll_transmit(now) {
            match t.channel {
                Channel::Control => {
                    if let Some(s) = sock.as_mut() {
                        if let Err(e) = write_all_nb(s, &t.payload) {
                            warn!("TCP write: {e}");
                        }
                    }
                }
                Channel::Gre => {
                    if let IpAddr::V4(dst) = t.peer {
                        if let Err(e) = gre.send_to(dst, &t.payload) {
                            drops.count(format!("GRE send: {}", e.kind()));
                        }
                    }
                }
            }
        }
        drops.maybe_report();
        if done_at.is_some_and(|t| sock.is_none() || now >= t + Duration::from_secs(3)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    drops.report();
    Ok(cli.ping.is_none() || answered >= cli.count)
}
