//! `sstp-server`: a RouterOS-style SSTP server (`/interface sstp-server server`) on TCP with
//! rustls: the `sstp` crate's [`sstp::Server`], PPP sessions on its host, an address pool and
//! PPP secrets.
//!
//! ```text
//! sstp-server --help
//! sstp-server <bind-ip> [--port 443] [--cert PEM --key PEM] [--local 10.231.0.1]
//!             [--pool 10.231.0.10-10.231.0.20] [--user NAME:PASSWORD ...]
//!             [--authentication pap,chap,mschap1,mschap2] [--keepalive-timeout SECS]
//!             [--accept-zero-hlak] [--verify-client-certificate --ca PEM]
//!             [--tls-version any|only-1.2] [--ciphers aes256-gcm-sha384]
//!             [--tun NAME] [--pcap FILE] [--keylog FILE] [--hold SECS]
//!             [--config FILE.rsc]
//!             [--radius ADDR[:PORT] --radius-secret S [--radius-accounting]
//!              [--radius-interim SECS] [--radius-incoming PORT]]
//! sstp-server 0.0.0.0 --config examples/rsc/sstp-server.rsc
//! ```
//! * `--config FILE.rsc`: a RouterOS export: `/interface sstp-server server set ...`, `/ip
//!   pool`, `/ppp profile`, `/ppp secret` (see `examples::rsc_config::sstp_server`); unknown
//!   properties are warned about with their line. Options given on the command line override
//!   it: `--port`, `--tls-version`, `--ciphers`, `--authentication`, `--keepalive-timeout`
//!   set the server, `--local`, `--pool` change the `default` profile, `--user` adds secrets.
//!   A `certificate=NAME` there needs the PEM files with `--cert`/`--key`.
//! * RADIUS (`examples::ppp_cli::RadiusArgs`, also `/ppp aaa`, `/radius`, `/radius incoming`
//!   of `--config`): users without a local `/ppp secret` are authenticated by the RADIUS
//!   server (RouterOS `/radius add service=ppp` + `/ppp aaa use-radius=yes`), with accounting,
//!   interim updates and Disconnect-Request as in `l2tp-server`. Prints `RADIUS ACCEPT|REJECT`.
//! * Without `--cert` it serves the crate's public test certificate (CN vpn.example, SAN
//!   127.0.0.1 and 10.231.0.1) and says so: for tests only.
//! * Without `--tun` it answers ICMP echo requests to its own PPP address (`PING from A`);
//!   with `--tun NAME` the sessions' IP traffic goes to and from a TUN device (/32 routes per
//!   session, `ROUTE peer -> sstp-N`).
//! * `--pcap FILE`: the decrypted SSTP of every connection (HTTP, control and data packets) as
//!   synthetic TCP to port 80, which Wireshark's HTTP dissector hands to its SSTP dissector
//!   (`FILE` for the first connection, `FILE.N` for the next ones). `--keylog FILE`: the TLS
//!   secrets (NSS key log) to decrypt a real capture: `tshark -o tls.keylog_file:FILE`.
//! * Prints `LISTENING`, `REQUEST`, `AUTH OK`, `CALL CONNECTED hash=... key=...`, `IPCP UP`,
//!   `CLOSED reason=...`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use examples::sstp_util::{echo_reply, tap_to_pcap, KeyLogFile, ServerLoop};
use examples::sys::ip;
use ppp::aaa::{Aaa, AddressSpec, IpPool, Profile, Secret};
use sstp::tls::RustlsOptions;
use sstp::{ConnId, ServerConfig, ServerEvent};
use tracing::error;

/// RouterOS-style SSTP server (`/interface sstp-server server`) on TCP with rustls: the `sstp`
/// crate's `Server`, PPP sessions on its host, an address pool and PPP secrets.
///
/// Without --cert it serves the crate's public test certificate (CN vpn.example, SAN 127.0.0.1
/// and 10.231.0.1) and says so: for tests only. Without --tun it answers pings to its own PPP
/// address (`PING from A`); with --tun the sessions' IP traffic goes to and from a TUN device.
/// Prints `LISTENING`, `REQUEST`, `AUTH OK`, `CALL CONNECTED hash=... key=...`, `IPCP UP`,
/// `CLOSED reason=...` on stdout.
#[derive(Parser, Debug)]
#[command(name = "sstp-server", version)]
struct Cli {
    /// Address to listen on.
    bind: IpAddr,
    /// RouterOS export (`.rsc`) with `/interface sstp-server server set ...`, `/ip pool`,
    /// `/ppp profile` and `/ppp secret`; the options given on the command line override it
    /// (`--local`, `--pool` set the `default` profile, `--user` adds secrets). Unknown
    /// properties are warned about with their line. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// TCP port (RouterOS `port`).
    #[arg(long, default_value_t = 443)]
    port: u16,
    /// Server certificate, PEM (RouterOS `certificate`; default: the public test certificate).
    #[arg(long, value_name = "PEM")]
    cert: Option<String>,
    /// Private key of --cert, PEM (default: the test certificate's).
    #[arg(long, value_name = "PEM")]
    key: Option<String>,
    /// The server's PPP address (`/ppp profile` `local-address`).
    #[arg(long, default_value = "10.231.0.1")]
    local: Ipv4Addr,
    /// Address pool of the clients (`/ip pool` `ranges`), FIRST-LAST.
    #[arg(long, default_value = "10.231.0.10-10.231.0.20", value_name = "RANGE")]
    pool: String,
    /// A PPP secret (`/ppp secret` `name` and `password`); repeat for more users. Default: none.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = examples::ppp_cli::parse_user)]
    users: Vec<(String, String)>,
    /// RouterOS `authentication`, comma-separated from pap, chap, mschap1, mschap2 (default:
    /// all four).
    #[arg(long, value_parser = examples::ppp_cli::parse_auth, value_name = "LIST")]
    authentication: Option<String>,
    /// RouterOS `keepalive-timeout` in seconds (default 60).
    #[arg(long, value_name = "SECS")]
    keepalive_timeout: Option<u64>,
    /// Accept a Call Connected with an all-zero HLAK (clients without a PPP key, e.g. sstpc
    /// with PAP); not a RouterOS property. Default: refused with Call Abort.
    #[arg(long)]
    accept_zero_hlak: bool,
    /// Ask for and verify a client certificate against --ca (RouterOS
    /// `verify-client-certificate`, default no).
    #[arg(long, requires = "ca")]
    verify_client_certificate: bool,
    /// Trusted CA certificate for client certificates, PEM. Default: none.
    #[arg(long, value_name = "PEM")]
    ca: Option<String>,
    /// RouterOS `tls-version` (default any).
    #[arg(long, value_enum, default_value_t = TlsVersionArg::Any)]
    tls_version: TlsVersionArg,
    /// RouterOS `ciphers` (default: all the TLS library supports).
    #[arg(long, value_enum)]
    ciphers: Option<CiphersArg>,
    /// TUN device carrying the sessions' IP traffic (gets --local/32 and a /32 route per
    /// session). Default: none.
    #[arg(long, value_name = "NAME")]
    tun: Option<String>,
    /// Write the decrypted SSTP of every connection as synthetic TCP to port 80 (FILE, then
    /// FILE.N for the next connections). Default: none.
    #[arg(long, value_name = "FILE")]
    pcap: Option<String>,
    /// Write the TLS secrets (NSS key log) for `tshark -o tls.keylog_file:FILE`. Default: none.
    #[arg(long, value_name = "FILE")]
    keylog: Option<String>,
    /// Seconds to serve.
    #[arg(
        long = "duration",
        visible_alias = "hold",
        default_value_t = 3600,
        value_name = "SECS"
    )]
    hold: u64,
    #[command(flatten)]
    radius: examples::ppp_cli::RadiusArgs,
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
    /// AES-256-CBC with SHA-1 (not offered by rustls: handshakes fail).
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
    let overrides = Overrides {
        port: given("port"),
        local: given("local"),
        pool: given("pool"),
        tls_version: given("tls_version"),
    };
    if let Err(e) = run(cli, overrides) {
        error!("{e}");
        std::process::exit(1);
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// Which defaulted options were given on the command line (they then override `--config`).
struct Overrides {
    port: bool,
    local: bool,
    pool: bool,
    tls_version: bool,
}

fn run(cli: Cli, given: Overrides) -> Result<(), String> {
    let bind = cli.bind;
    let rsc = match &cli.config {
        Some(path) => {
            let r = examples::rsc_config::sstp_server(&read(path)?)
                .map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            if !r.server.enabled {
                tracing::warn!("{path}: the server is not enabled=yes there; serving anyway");
            }
            Some(r)
        }
        None => None,
    };
    let mut cfg = match &rsc {
        Some(r) => ServerConfig {
            enabled: true,
            ..r.server.clone()
        },
        None => ServerConfig::enabled(),
    };
    if rsc.is_none() {
        // Users without a `/ppp secret` (RADIUS users) get the server's `default-profile`:
        // the one --local and --pool describe.
        cfg.ppp.default_profile = "sstp".into();
    }
    let radius_setup = cli.radius.resolve(rsc.as_ref().map(|r| &r.radius))?;
    if rsc.is_none() || given.port {
        cfg.port = cli.port;
    }
    match (&cli.cert, &cli.key) {
        (Some(c), Some(k)) => {
            cfg.tls.certificate_pem = Some(read(c)?);
            cfg.tls.key_pem = Some(read(k)?);
        }
        _ => {
            if let Some(name) = rsc.as_ref().and_then(|r| r.certificate.as_ref()) {
                return Err(format!(
                    "the export names certificate={name}: give its PEM files with --cert and --key"
                ));
            }
            println!("WARNING using the public test certificate (sstp::test_pki)");
            cfg.tls.certificate_pem = Some(sstp::test_pki::SERVER_CERT_PEM.into());
            cfg.tls.key_pem = Some(sstp::test_pki::SERVER_KEY_PEM.into());
        }
    }
    if cli.verify_client_certificate || cfg.tls.verify_client_certificate {
        cfg.tls.verify_client_certificate = true;
        cfg.tls.ca_pem =
            Some(read(cli.ca.as_deref().ok_or(
                "verify-client-certificate needs --ca (the CA certificate, PEM)",
            )?)?);
    }
    if rsc.is_none() || given.tls_version {
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
    cfg.accept_zero_hlak = cli.accept_zero_hlak;
    cfg.unix_time = examples::sstp_util::unix_now();
    if let Some(a) = &cli.authentication {
        cfg.ppp.authentication =
            ppp::AuthSet::parse(a).map_err(|e| format!("--authentication: {e}"))?;
    }
    if let Some(v) = cli.keepalive_timeout {
        cfg.ppp.keepalive_timeout = Duration::from_secs(v);
    }
    let local = match &rsc {
        Some(r) if !given.local => r.local_address().unwrap_or(cli.local),
        _ => cli.local,
    };
    let pool = cli.pool.clone();
    let hold = Duration::from_secs(cli.hold);
    let pcap = cli.pcap.clone();
    let tun_name = cli.tun.clone();
    let aaa = match &rsc {
        None => {
            let mut aaa = Aaa::new();
            aaa.pools
                .push(IpPool::new("sstp-pool", &pool).map_err(|e| format!("--pool: {e:?}"))?);
            let mut profile = Profile::named("sstp");
            profile.local_address = Some(AddressSpec::Address(local));
            profile.remote_address = Some(AddressSpec::Pool("sstp-pool".into()));
            aaa.profiles.push(profile);
            for (name, pass) in &cli.users {
                let mut s = Secret::new(name, pass);
                s.profile = "sstp".into();
                aaa.secrets.push(s);
            }
            aaa
        }
        Some(r) => {
            // The file's tables; command-line options change the `default` profile and add
            // secrets (RouterOS `/ppp secret add name= password=`, profile `default`).
            let mut aaa = r.aaa.clone();
            let default = aaa
                .profiles
                .iter_mut()
                .find(|p| p.name == "default")
                .ok_or("no `default` profile")?;
            if given.local {
                default.local_address = Some(AddressSpec::Address(local));
            }
            if given.pool {
                default.remote_address = Some(AddressSpec::Pool("cli-pool".into()));
                aaa.pools
                    .push(IpPool::new("cli-pool", &pool).map_err(|e| format!("--pool: {e:?}"))?);
            }
            for (name, pass) in &cli.users {
                aaa.secrets.retain(|s| &s.name != name);
                aaa.secrets.push(Secret::new(name, pass));
            }
            aaa
        }
    };
    let mut opts = RustlsOptions::default();
    if let Some(k) = &cli.keylog {
        opts.key_log = Some(KeyLogFile::create(k)?);
    }
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let mut srv = ServerLoop::bind(SocketAddr::new(bind, cfg.port), cfg, &opts, &mut rng)?;
    srv.server.host_mut().set_store(Box::new(aaa));
    let mut radius = match &radius_setup {
        Some(r) => {
            srv.server.host_mut().set_aaa(r.aaa.clone());
            Some(examples::radius_udp::from_settings(r, bind)?)
        }
        None => None,
    };
    if pcap.is_some() {
        srv.taps = Some(HashMap::new());
    }
    let mut tun = match &tun_name {
        Some(n) => {
            let t = examples::sys::open_tun(n, false, true)?;
            ip(&["addr", "add", &format!("{local}/32"), "dev", n])?;
            ip(&["link", "set", n, "up", "mtu", "1400"])?;
            println!("TUN {n} UP {local}/32");
            Some(t)
        }
        None => None,
    };
    let mut routes: HashMap<Ipv4Addr, ConnId> = HashMap::new();
    println!("LISTENING {}", srv.local_addr());
    let start = Instant::now();
    let mut pcaps_written = 0usize;
    let mut tun_dropped = 0u64;
    let write_pcap = |srv: &ServerLoop, conn: ConnId, n: &mut usize| {
        let (Some(path), Some(taps)) = (&pcap, &srv.taps) else {
            return;
        };
        let Some((peer, tap)) = taps.get(&conn) else {
            return;
        };
        let Ok(v) = tap.lock() else { return };
        let client = match peer.ip() {
            IpAddr::V4(a) => (a, peer.port()),
            IpAddr::V6(_) => (Ipv4Addr::new(192, 0, 2, 1), peer.port()),
        };
        let server = match bind {
            IpAddr::V4(a) if !a.is_unspecified() => a,
            _ => Ipv4Addr::new(192, 0, 2, 2),
        };
        let file = if *n == 0 {
            path.clone()
        } else {
            format!("{path}.{n}")
        };
        if std::fs::write(&file, tap_to_pcap(&v, client, server, false)).is_ok() {
            println!("PCAP {file} ({} records)", v.len());
        }
        *n += 1;
    };
    // Connections that never reached Call Connected (strangers, floods) close at debug level,
    // counted in a summary at most every 10 s; calls that connected print `CLOSED` as before.
    let mut connected: std::collections::HashSet<ConnId> = std::collections::HashSet::new();
    let mut unconnected = examples::logging::DropSummary::new(
        "sstp-server: connections closed before Call Connected",
        Duration::from_secs(10),
    );
    while start.elapsed() < hold {
        unconnected.maybe_report();
        for e in srv.step() {
            match e {
                ServerEvent::Request {
                    conn,
                    host,
                    correlation_id,
                } => {
                    println!("REQUEST {conn} host={host:?} correlation={correlation_id:?}")
                }
                ServerEvent::CallConnected { conn, hash, key } => {
                    connected.insert(conn);
                    println!("CALL CONNECTED {conn} hash={hash:?} key={key:?}")
                }
                ServerEvent::Host(ppp::host::ServerEvent::Ppp { key, event }) => match event {
                    ppp::Event::AuthSucceeded { user, method, .. } => {
                        println!("AUTH OK {user} method={method} ({key})")
                    }
                    ppp::Event::NetworkUp(i) => {
                        println!("IPCP UP local={} peer={} ({key})", i.local, i.remote);
                        if let Some(n) = &tun_name {
                            ip(&["route", "replace", &format!("{}/32", i.remote), "dev", n])?;
                            routes.insert(i.remote, key);
                            println!("ROUTE {} -> {key}", i.remote);
                        }
                    }
                    _ => {}
                },
                ServerEvent::Host(other) => {
                    if let Some(r) = radius.as_mut() {
                        r.handle_server_event(Instant::now(), &other);
                    }
                }
                ServerEvent::Closed { conn, reason } => {
                    if connected.remove(&conn) {
                        println!("CLOSED {conn} reason={reason:?}");
                    } else {
                        tracing::debug!("closed {conn} before Call Connected: {reason:?}");
                        unconnected.count_debug(&reason);
                    }
                    routes.retain(|a, c| {
                        if *c == conn {
                            if let Some(n) = &tun_name {
                                let _ = ip(&["route", "del", &format!("{a}/32"), "dev", n]);
                            }
                        }
                        *c != conn
                    });
                    write_pcap(&srv, conn, &mut pcaps_written);
                    if let Some(t) = srv.taps.as_mut() {
                        t.remove(&conn);
                    }
                }
                _ => {}
            }
        }
        if let Some(r) = radius.as_mut() {
            r.drive_host(Instant::now(), srv.server.host_mut());
        }
        let mut replies = Vec::new();
        while let Some((conn, proto, d)) = srv.server.poll_datagram() {
            if proto != 0x0021 {
                continue;
            }
            if let Some(t) = tun.as_mut() {
                let _ = t.write(d);
            } else if let Some(r) = echo_reply(d, local) {
                println!("PING from {}.{}.{}.{} ({conn})", d[12], d[13], d[14], d[15]);
                replies.push((conn, r));
            }
        }
        for (conn, r) in replies {
            let _ = srv.send_ip(conn, 0x0021, &r);
        }
        if let Some(t) = tun.as_mut() {
            let mut pkt = [0u8; 2048];
            while let Ok(n) = t.read(&mut pkt) {
                let p = &pkt[..n];
                // IPv4 only: the server runs no IPv6CP, so IPv6 (and anything else) from the
                // TUN is dropped and counted, reported at the first drop and every 1000th.
                if examples::sys::ppp_protocol_for_tun(p, false).is_none() || p.len() < 20 {
                    tun_dropped += 1;
                    if tun_dropped % 1000 == 1 {
                        println!("TUN DROPPED non-ipv4={tun_dropped}");
                    }
                    continue;
                }
                let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
                if let Some(&conn) = routes.get(&dst) {
                    let _ = srv.send_ip(conn, 0x0021, p);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let open: Vec<ConnId> = srv
        .taps
        .as_ref()
        .map(|t| t.keys().copied().collect())
        .unwrap_or_default();
    for c in open {
        write_pcap(&srv, c, &mut pcaps_written);
    }
    unconnected.report();
    Ok(())
}
