//! `sstp-client`: a RouterOS-style SSTP client (`/interface sstp-client`) on TCP with rustls:
//! the `sstp` crate's [`sstp::Client`] with its PPP client.
//!
//! ```text
//! sstp-client --help
//! sstp-client <connect-to> [--port 443] [--user U] [--password P]
//!             [--verify-server-certificate --ca PEM] [--verify-server-address-from-certificate]
//!             [--add-sni] [--tls-version only-1.2] [--ciphers aes256-gcm-sha384]
//!             [--certificate PEM --key PEM] [--http-proxy HOST --proxy-port P]
//!             [--ping ADDR [--count N]] [--tun NAME] [--pcap FILE] [--keylog FILE] [--hold SECS]
//!             [--config FILE.rsc [--name NAME]]
//! sstp-client --config examples/rsc/sstp-client.rsc
//! ```
//! * `--config FILE.rsc`: a RouterOS export: the `/interface sstp-client` interface named
//!   `--name` (default the first `add`), with `/ppp profile` (see
//!   `examples::rsc_config::sstp_client`). Unknown properties are warned about with their
//!   line; the options given on the command line override the file. `certificate=NAME`
//!   needs its PEM files (`--certificate`, `--key`); `verify-server-certificate=yes` needs
//!   `--ca`.
//! * Prints `CONNECT host:port`, `CALL CONNECTED hash=...`, `IPCP UP local=... peer=...`,
//!   `PING reply from ...`, `CLOSED reason=...` (certificate failures carry the RouterOS
//!   strings, e.g. `unable to get issuer certificate locally`).
//! * `--ping ADDR`: ICMP echo requests through the tunnel, `--count` of them, then exit 0 if
//!   all were answered. `--tun NAME`: a TUN device with the IPCP address carries IP instead.
//! * `--pcap FILE`: the decrypted SSTP (synthetic TCP to port 80, see `sstp-server`);
//!   `--keylog FILE`: TLS secrets for `tshark -o tls.keylog_file:FILE` on a real capture.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream, ToSocketAddrs};

use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use examples::sstp_util::{tap_to_pcap, write_all_nb, KeyLogFile, Tap, TapTls};
use examples::sys::ip;
use sstp::tls::{RustlsOptions, RustlsTls};
use sstp::{Client, ClientConfig, ClientEvent};
use tracing::error;

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// RouterOS-style SSTP client (`/interface sstp-client`) on TCP with rustls: the `sstp` crate's
/// `Client` with its PPP client.
///
/// Prints `CONNECT host:port`, `CALL CONNECTED hash=...`, `IPCP UP local=... peer=...`, `PING
/// reply from ...`, `CLOSED reason=...` on stdout (certificate failures carry the RouterOS
/// strings, e.g. `unable to get issuer certificate locally`). With --ping it exits 0 when
/// every echo was answered, 1 otherwise.
#[derive(Parser, Debug)]
#[command(name = "sstp-client", version)]
struct Cli {
    /// Server host name or address (RouterOS `connect-to`). Required unless --config gives
    /// it.
    #[arg(required_unless_present = "config")]
    connect_to: Option<String>,
    /// RouterOS export (`.rsc`) with `/interface sstp-client add ...` and `/ppp profile`;
    /// the options given on the command line override it. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// With --config: the interface's `name` (default: the first `add`).
    #[arg(long, value_name = "NAME", requires = "config")]
    name: Option<String>,
    /// Server TCP port (RouterOS `port`).
    #[arg(long, default_value_t = 443)]
    port: u16,
    /// PPP user name (RouterOS `user`).
    #[arg(long, default_value = "alice")]
    user: String,
    /// PPP password (RouterOS `password`).
    #[arg(long, default_value = "pw")]
    password: String,
    /// RouterOS `authentication`: authentication methods the client accepts (it Naks the others),
    /// comma-separated from pap, chap, mschap1, mschap2, eap (default mschap2,mschap1,chap,pap,
    /// or the file's `authentication`).
    #[arg(long, value_parser = examples::ppp_cli::parse_allow, value_name = "LIST")]
    authentication: Option<ppp::AuthSet>,
    /// Verify the server's certificate against --ca (RouterOS `verify-server-certificate`,
    /// default no).
    #[arg(long)]
    verify_server_certificate: bool,
    /// Check that the certificate names the server (RouterOS
    /// `verify-server-address-from-certificate`, default no here).
    #[arg(long)]
    verify_server_address_from_certificate: bool,
    /// Send the host name as TLS SNI (RouterOS `add-sni`, default no).
    #[arg(long)]
    add_sni: bool,
    /// Trusted CA certificate, PEM (RouterOS: the certificate store). Default: none.
    #[arg(long, value_name = "PEM")]
    ca: Option<String>,
    /// Our client certificate, PEM, with --key (RouterOS `certificate`, default none).
    #[arg(long, value_name = "PEM")]
    certificate: Option<String>,
    /// The private key of --certificate, PEM. Default: none.
    #[arg(long, value_name = "PEM")]
    key: Option<String>,
    /// RouterOS `tls-version` (default any).
    #[arg(long, value_enum, default_value_t = TlsVersionArg::Any)]
    tls_version: TlsVersionArg,
    /// RouterOS `ciphers` (default: all the TLS library supports).
    #[arg(long, value_enum)]
    ciphers: Option<CiphersArg>,
    /// HTTP proxy host (RouterOS `http-proxy`, default none).
    #[arg(long, value_name = "HOST")]
    http_proxy: Option<String>,
    /// HTTP proxy port (RouterOS `proxy-port`, default 443).
    #[arg(long, default_value_t = 443, value_name = "P")]
    proxy_port: u16,
    /// Send ICMP echo requests to ADDR through the tunnel. Default: none.
    #[arg(long, value_name = "ADDR")]
    ping: Option<Ipv4Addr>,
    /// Echo requests to send with --ping.
    #[arg(long, default_value_t = 3, value_name = "N")]
    count: u16,
    /// A TUN device with the IPCP address carries IP instead of the built-in pinger. Default:
    /// none.
    #[arg(long, value_name = "NAME")]
    tun: Option<String>,
    /// Write the decrypted SSTP stream (synthetic TCP to port 80) to this pcap. Default: none.
    #[arg(long, value_name = "FILE")]
    pcap: Option<String>,
    /// Write the TLS secrets (NSS key log) for `tshark -o tls.keylog_file:FILE`. Default: none.
    #[arg(long, value_name = "FILE")]
    keylog: Option<String>,
    /// Seconds to stay connected.
    #[arg(
        long = "duration",
        visible_alias = "hold",
        default_value_t = 30,
        value_name = "SECS"
    )]
    hold: u64,
}

/// RouterOS `tls-version` values.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum TlsVersionArg {
    /// TLS 1.2 or 1.3.
    Any,
    /// TLS 1.2 only.
    #[value(name = "only-1.2")]
    Only12,
}

/// RouterOS `ciphers` values.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum CiphersArg {
    /// AES-256-GCM with SHA-384 only.
    #[value(name = "aes256-gcm-sha384")]
    Aes256GcmSha384,
    /// AES-256-CBC with SHA-1 (not offered by rustls: the handshake fails).
    #[value(name = "aes256-sha")]
    Aes256Sha,
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
    let given: Vec<&'static str> = ["port", "user", "password", "tls_version", "proxy_port"]
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
            let r = examples::rsc_config::sstp_client(&read(path)?, cli.name.as_deref())
                .map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            if r.disabled {
                tracing::warn!("{path}: the interface is not disabled=no there; dialing anyway");
            }
            if let (Some(name), None) = (&r.certificate, &cli.certificate) {
                return Err(format!(
                    "{path}: certificate={name}: give its PEM files with --certificate and --key"
                ));
            }
            r.client
        }
        None => ClientConfig::default(),
    };
    if let Some(c) = &cli.connect_to {
        cfg.connect_to = c.clone();
    }
    if over("port") {
        cfg.port = cli.port;
    }
    if over("user") {
        cfg.ppp.user = cli.user.clone();
    }
    if over("password") {
        cfg.ppp.password = cli.password.clone();
    }
    if let Some(a) = cli.authentication {
        cfg.ppp.allow = a;
    }
    cfg.tls.verify_server_certificate |= cli.verify_server_certificate;
    cfg.tls.verify_server_address_from_certificate |= cli.verify_server_address_from_certificate;
    cfg.tls.add_sni |= cli.add_sni;
    if let Some(ca) = &cli.ca {
        cfg.tls.ca_pem = Some(read(ca)?);
    }
    if let (Some(c), Some(k)) = (&cli.certificate, &cli.key) {
        cfg.tls.certificate_pem = Some(read(c)?);
        cfg.tls.key_pem = Some(read(k)?);
    }
    if over("tls_version") {
        cfg.tls.tls_version = match cli.tls_version {
            TlsVersionArg::Only12 => sstp::config::TlsVersion::Only12,
            TlsVersionArg::Any => sstp::config::TlsVersion::Any,
        };
    }
    match cli.ciphers {
        Some(CiphersArg::Aes256GcmSha384) => {
            cfg.tls.ciphers = sstp::config::Ciphers::Aes256GcmSha384
        }
        Some(CiphersArg::Aes256Sha) => cfg.tls.ciphers = sstp::config::Ciphers::Aes256Sha,
        None => {}
    }
    if let Some(p) = &cli.http_proxy {
        cfg.http_proxy = Some(p.clone());
    }
    if over("proxy_port") {
        cfg.proxy_port = cli.proxy_port;
    }
    cfg.unix_time = examples::sstp_util::unix_now();
    Ok(cfg)
}

fn run(cli: Cli, given: &[&str]) -> Result<bool, String> {
    let cfg = configure(&cli, given)?;
    let ping = cli.ping;
    let count = cli.count;
    let hold = Duration::from_secs(cli.hold);
    let tun_name = cli.tun.clone();
    let pcap = cli.pcap.clone();
    let mut opts = RustlsOptions::default();
    if let Some(k) = &cli.keylog {
        opts.key_log = Some(KeyLogFile::create(k)?);
    }
    let tap: Option<Tap> = pcap.as_ref().map(|_| Tap::default());
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut client: Client<TapTls<RustlsTls>> =
        Client::new(cfg, start, &mut rng).map_err(|e| e.to_string())?;
    let mut sock: Option<TcpStream> = None;
    let mut pending: Vec<u8> = Vec::new();
    let mut tun = None;
    let mut local = None;
    let (mut sent, mut answered) = (0u16, 0u16);
    let mut tun_dropped = 0u64;
    let mut next_ping = start;
    let mut buf = vec![0u8; 65536];
    let mut sock_addr = None;
    while start.elapsed() < hold {
        let now = Instant::now();
        while let Some(e) = client.poll_event() {
            match e {
                ClientEvent::Connect { host, port } => {
                    println!("CONNECT {host}:{port}");
                    let addr = (host.as_str(), port)
                        .to_socket_addrs()
                        .map_err(|e| e.to_string())?
                        .next()
                        .ok_or("no address")?;
                    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                        .map_err(|e| format!("connect {addr}: {e}"))?;
                    s.set_nonblocking(true).map_err(|e| e.to_string())?;
                    let _ = s.set_nodelay(true);
                    sock_addr = s.local_addr().ok();
                    let inner =
                        RustlsTls::client(client.config(), &opts).map_err(|e| e.to_string())?;
                    client
                        .connected(now, TapTls::new(inner, tap.clone()))
                        .map_err(|e| e.to_string())?;
                    sock = Some(s);
                }
                ClientEvent::CallConnected { hash, zero_hlak } => {
                    println!("CALL CONNECTED hash={hash:?} zero_hlak={zero_hlak}")
                }
                ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) => {
                    println!("IPCP UP local={} peer={} mtu={}", u.local, u.remote, u.mtu);
                    local = Some(u.local);
                    if let Some(n) = &tun_name {
                        let t = examples::sys::open_tun(n, false, true)?;
                        ip(&[
                            "addr",
                            "add",
                            &format!("{}/32", u.local),
                            "peer",
                            &format!("{}/32", u.remote),
                            "dev",
                            n,
                        ])?;
                        ip(&["link", "set", n, "up", "mtu", &u.mtu.to_string()])?;
                        println!("TUN {n} UP");
                        tun = Some(t);
                    }
                }
                ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::AuthSucceeded {
                    user,
                    method,
                    ..
                })) => {
                    println!("AUTH OK {user} method={method}")
                }
                ClientEvent::Closed { reason } => {
                    println!("CLOSED reason={reason:?}");
                    if let sstp::CloseReason::Tls(e) = &reason {
                        println!("TLS ERROR {e}");
                    }
                    sock = None;
                    if ping.is_some() {
                        break;
                    }
                }
                _ => {}
            }
        }
        if let Some(s) = sock.as_mut() {
            while let Some(b) = client.poll_transmit(now) {
                let _ = write_all_nb(s, &b);
            }
            match s.read(&mut buf) {
                Ok(0) => client.handle_close(now),
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => client.handle_close(now),
            }
            let mut off = 0;
            while off < pending.len() {
                match client.handle_stream(now, &pending[off..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => off += n,
                }
                if let Some(s) = sock.as_mut() {
                    while let Some(b) = client.poll_transmit(now) {
                        let _ = write_all_nb(s, &b);
                    }
                }
            }
            pending.drain(..off);
        }
        if client.poll_timeout().is_some_and(|d| d <= now) {
            client.handle_timeout(now);
        }
        while let Some((proto, d)) = client.poll_datagram() {
            if proto != 0x0021 {
                continue;
            }
            if let Some(t) = tun.as_mut() {
                let _ = t.write(d);
            } else if d.len() > 20 && d[9] == 1 && d[20] == 0 {
                answered += 1;
                println!("PING reply from {}.{}.{}.{}", d[12], d[13], d[14], d[15]);
            }
        }
        let mut out = Vec::new();
        if let Some(t) = tun.as_mut() {
            let mut pkt = [0u8; 2048];
            while let Ok(n) = t.read(&mut pkt) {
                if examples::sys::ppp_protocol_for_tun(&pkt[..n], false) == Some(0x0021) {
                    let _ = client.send_datagram(now, 0x0021, &pkt[..n], &mut out);
                } else {
                    // IPv4 only (no IPv6CP here): IPv6 and anything else read from the TUN is
                    // dropped and counted, reported at the first drop and every 1000th.
                    tun_dropped += 1;
                    if tun_dropped % 1000 == 1 {
                        println!("TUN DROPPED non-ipv4={tun_dropped}");
                    }
                }
            }
        }
        if let (Some(dst), Some(me)) = (ping, local) {
            if sent < count && now >= next_ping {
                sent += 1;
                let p = netsim::pcap::icmp4_echo(
                    me.octets(),
                    dst.octets(),
                    false,
                    0x5353,
                    sent,
                    b"rosproto-sstp ping",
                );
                let _ = client.send_datagram(now, 0x0021, &p, &mut out);
                next_ping = now + Duration::from_millis(200);
            }
            if answered >= count {
                break;
            }
        }
        if let (Some(s), false) = (sock.as_mut(), out.is_empty()) {
            let _ = write_all_nb(s, &out);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if ping.is_some() {
        client.hang_up(Instant::now());
        if let Some(s) = sock.as_mut() {
            while let Some(b) = client.poll_transmit(Instant::now()) {
                let _ = write_all_nb(s, &b);
            }
        }
    }
    if let (Some(path), Some(tap)) = (pcap, tap) {
        let v = tap.lock().map_err(|_| "tap")?;
        let client_addr = match sock_addr {
            Some(std::net::SocketAddr::V4(a)) => (*a.ip(), a.port()),
            _ => (Ipv4Addr::new(192, 0, 2, 1), 40000),
        };
        let server_ip = client
            .config()
            .connect_to
            .parse()
            .unwrap_or(Ipv4Addr::new(192, 0, 2, 2));
        std::fs::write(&path, tap_to_pcap(&v, client_addr, server_ip, true))
            .map_err(|e| e.to_string())?;
        println!("PCAP {path} ({} records)", v.len());
    }
    Ok(ping.is_none() || answered >= count)
}
