//! OpenVPN server example over the sans-IO `ovpn` crate (UDP: many clients on one socket;
//! TCP: one connection per client), moving packets between the clients and a TUN or TAP
//! device.
//!
//! ```text
//! ovpn-server --help
//! ovpn-server --listen IP:PORT --proto udp|tcp --ca F --cert F --key F
//!             [--tls-auth F --key-direction 0 | --tls-crypt F | --tls-crypt-v2 SERVERKEY]
//!             [--cipher C] [--data-ciphers A:B] [--auth D] [--p2p] [--ping N]
//!             [--ping-restart N] [--require-client-cert] [--user U --pass P]
//!             [--pool-base 10.8.0.] [--duration N] [--pcap F] [--no-stateless]
//!             [--explicit-exit-notify 1|2] [--crypto builtin|openssl]
//!             [--dev tun|tap --ifconfig A/len [--dev-name ovpn0] [--tun-mtu 1400]]
//! ovpn-server [NAME=VALUE ...] [--listen IP:PORT] [--user U --pass P] ...
//! ovpn-server --config FILE.rsc [NAME=VALUE ...] --ca F --cert F --key F [--listen IP:PORT]
//! ovpn-server --config examples/rsc/ovpn-server.rsc --cert server.crt --key server.key
//! ```
//! `--config FILE.rsc`: a RouterOS export (see `examples::rsc_config::ovpn_server`):
//! `/interface ovpn-server server set ...` (before RouterOS 7.17) or `add name=...` (7.17+,
//! the first one), read through the crate's `ServerConfig` like the NAME=VALUE words, which
//! given on the command line override the file, and its `/ppp secret` users (service `any` or
//! `ovpn`), checked by the credential hook with `--user/--pass`. RouterOS `certificate` names
//! an entry of the router's store, so the PEM files come from `certificate=FILE
//! [certificate-key=FILE] ca-certificate=FILE` words or `--cert`/`--key`/`--ca`. Unknown
//! properties are warned about with their line.
//! Without `--p2p` the server answers PUSH_REQUEST with an address from the pool
//! `<pool-base>2-<pool-base>254` (`ifconfig A 255.255.255.0`, `topology subnet`), cipher,
//! peer-id and keepalive, and prints an accounting record when a client leaves; with
//! `--p2p` it runs OpenVPN's point-to-point TLS mode (peer `tls-client`). `--user/--pass`
//! enable the credential hook.
//! With `--dev tun` the device gets `--ifconfig` (e.g. `<pool-base>1/24`); packets the
//! kernel routes into it go to the client whose pool address (or seen source address) is
//! the destination. Over UDP the server answers resets statelessly (HMAC cookies, like
//! OpenVPN 2.6) unless `--no-stateless`; with `--explicit-exit-notify` (not `--p2p`) it
//! sends `RESTART`
//! (2: `RESTART,[N]`, next server) to every client when its `--seconds` are over. With `--dev tap` frames go to the client whose MAC was seen as a
//! source, and broadcast/unknown destinations to every client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use examples::ovpn_cli::{parse_word, OvpnOpts};
use examples::ovpn_util::{
    common, exit_with, routeros_server, routeros_words, run_server, tls_factory, unix_now, DevOpts,
    OsRng, Pcap, ServeOpts, Tally,
};
use ovpn::pool::Ipv4Pool;
use ovpn::server::{Server, StatelessConfig};
use ovpn::session::{Role, Session};

fn num(o: &HashMap<String, String>, k: &str, default: usize) -> Result<usize, String> {
    o.get(k)
        .map(|v| v.parse().map_err(|e| format!("--{k} {v}: {e}")))
        .transpose()
        .map(|v| v.unwrap_or(default))
}

/// `--duration`, and the TCP bounds: `--max-conns N --max-conns-per-source N
/// --handshake-timeout S --idle-timeout S`, `--stats S` (print RSS and table sizes).
fn serve_opts(
    listen: SocketAddr,
    tcp: bool,
    seconds: u64,
    o: &HashMap<String, String>,
) -> Result<ServeOpts, String> {
    let mut so = ServeOpts::new(listen, tcp, seconds);
    so.max_conns = num(o, "max-conns", so.max_conns)?;
    so.max_conns_per_source = num(o, "max-conns-per-source", so.max_conns_per_source)?;
    let secs = |k: &str, d: Duration| -> Result<Duration, String> {
        Ok(match num(o, k, 0)? {
            0 => d,
            n => Duration::from_secs(n as u64),
        })
    };
    so.handshake_timeout = secs("handshake-timeout", so.handshake_timeout)?;
    so.idle_timeout = secs("idle-timeout", so.idle_timeout)?;
    so.stats_every = o
        .get("stats")
        .map(|v| {
            v.parse()
                .map(Duration::from_secs)
                .map_err(|e| format!("--stats {v}: {e}"))
        })
        .transpose()?;
    Ok(so)
}

/// RouterOS-style settings through the crate's config layer (`ServerConfig`): per-client
/// session parameters with the whole `auth` set, `default-profile` and `user-auth-method`
/// for the credential hook, the TLS factory (`certificate`, `require-client-certificate`,
/// `tls-version`), and push options (`netmask`, `push-routes`, `redirect-gateway`,
/// `enable-tun-ipv6` with the `tun-server-ipv6` remote). Client addresses: 192.168.77.(peer
/// id + 2). `--listen`, `--duration`, `--dev`, `--ifconfig`, `--user/--pass` still apply.
fn routeros(words: &[(String, String)], o: &HashMap<String, String>) -> Result<Tally, String> {
    let creds = match (o.get("user"), o.get("pass")) {
        (Some(u), Some(p)) => vec![(u.clone(), p.clone())],
        _ => Vec::new(),
    };
    run_routeros(routeros_server(words)?, creds, o)
}

/// The words that name PEM files rather than `/interface ovpn-server server` properties.
const PEM_WORDS: [&str; 3] = ["certificate", "certificate-key", "ca-certificate"];

/// `--config FILE.rsc`: the file's `/interface ovpn-server server` and `/ppp secret`s, the
/// NAME=VALUE words over it, the PEM files from the words or `--cert`/`--key`/`--ca`.
fn routeros_rsc(
    path: &str,
    words: &[(String, String)],
    o: &HashMap<String, String>,
) -> Result<Tally, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let r = examples::rsc_config::ovpn_server(&text, None).map_err(|e| format!("{path}: {e}"))?;
    r.notes.log(path);
    let mut c = r.config;
    if c.disabled {
        tracing::warn!("{path}: the server is disabled there (RouterOS default); serving anyway");
    }
    let props: Vec<(&str, &str)> = words
        .iter()
        .filter(|(k, _)| !PEM_WORDS.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let unknown = c.apply_props(&props).map_err(|e| e.to_string())?;
    if let Some(k) = unknown.first() {
        return Err(format!("unknown ovpn-server property {k}"));
    }
    let word = |k: &str| words.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v);
    let read = |f: &String| std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"));
    if let Some(cert) = word("certificate").or(o.get("cert")) {
        let key = word("certificate-key")
            .or(o.get("key"))
            .cloned()
            .unwrap_or_else(|| cert.trim_end_matches(".crt").to_string() + ".key");
        c.certificate = Some(ovpn::Certificate {
            cert_pem: read(cert)?,
            key_pem: read(&key)?,
        });
    }
    if let Some(ca) = word("ca-certificate").or(o.get("ca")) {
        c.trusted_ca_pem = Some(read(ca)?);
    }
    c.validate().map_err(|e| e.to_string())?;
    let mut creds: Vec<(String, String)> = r
        .secrets
        .iter()
        .map(|s| (s.name.clone(), s.password.clone()))
        .collect();
    if let (Some(u), Some(p)) = (o.get("user"), o.get("pass")) {
        creds.push((u.clone(), p.clone()));
    }
    run_routeros(c, creds, o)
}

/// Serve with a RouterOS `ServerConfig`; `creds` (user, password) are the accepted users
/// (none: no credential hook).
fn run_routeros(
    c: ovpn::ServerConfig,
    creds: Vec<(String, String)>,
    o: &HashMap<String, String>,
) -> Result<Tally, String> {
    let listen: SocketAddr = o
        .get("listen")
        .cloned()
        .unwrap_or_else(|| format!("0.0.0.0:{}", c.port))
        .parse()
        .map_err(|e| format!("--listen: {e}"))?;
    let tcp = c.protocol == ovpn::Protocol::Tcp;
    println!(
        "ROUTEROS ovpn-server protocol={:?} mode={:?} cipher={:?} auth={:?} default-profile={} user-auth-method={:?}",
        c.protocol, c.mode, c.cipher, c.auth, c.default_profile, c.user_auth_method
    );
    let creds = (!creds.is_empty()).then_some(creds);
    let cfg = c.clone();
    let mut srv: Server<SocketAddr> = Server::new(
        Box::new(move |peer_id, now| {
            let ip = std::net::Ipv4Addr::new(192, 168, 77, (peer_id % 250 + 2) as u8);
            let push = cfg.push_options(ip, None);
            // The wall clock comes from the server (`set_unix_time` below).
            let s = cfg.session_config(peer_id, push)?;
            let hook: Option<ovpn::session::AuthHook> = creds.clone().map(|users| {
                Box::new(move |r: &ovpn::AuthRequest<'_>| {
                    let ok = users
                        .iter()
                        .any(|(u, p)| r.username == u && r.password == p);
                    println!(
                        "server auth hook: user {} profile {} method {:?} ok={ok}",
                        r.username, r.profile, r.method
                    );
                    ok
                }) as ovpn::session::AuthHook
            });
            let rng = OsRng::new().map_err(|e| ovpn::error::Error::Tls(e.to_string()))?;
            Session::new(s, now, Box::new(rng), cfg.tls_factory(), hook)
        }),
        num(o, "max-clients", 64)?,
    );
    // One wall clock for the server and every session it creates.
    srv.set_unix_time(std::time::Instant::now(), unix_now());
    if !tcp {
        let mut rng = OsRng::new().map_err(|e| e.to_string())?;
        srv.enable_stateless(
            std::time::Instant::now(),
            StatelessConfig {
                wrap: c.wrap.clone(),
                hand_window: Duration::from_secs(60),
                unix_time: unix_now(),
                rate_limit: Some(ovpn::RateLimit::default()),
                tls_crypt_v2_verify: None,
            },
            &mut rng,
        )
        .map_err(|e| e.to_string())?;
    }
    let mut dev = DevOpts::from_args(o)?;
    if let Some(d) = dev.as_mut() {
        d.tap = c.mode == ovpn::Mode::Ethernet;
        d.mtu = c.max_mtu;
    }
    let seconds = o.get("seconds").and_then(|v| v.parse().ok()).unwrap_or(10);
    run_server(srv, serve_opts(listen, tcp, seconds, o)?, None, dev)
}

/// OpenVPN server over the sans-IO `ovpn` crate (UDP: many clients on one socket; TCP: one
/// connection per client), moving packets between the clients and a TUN or TAP device.
///
/// Configured with OpenVPN-style options (--listen, --proto, --ca, --cert, --key, ...) or with
/// RouterOS `/interface ovpn-server server` properties as NAME=VALUE words (port=1194
/// protocol=udp mode=ip certificate=FILE require-client-certificate=yes auth=sha1 cipher=...
/// default-profile=... netmask=24 ...) or a RouterOS export (--config FILE.rsc, the words
/// override it), which go through the crate's `ServerConfig`.
///
/// Without --p2p the server answers PUSH_REQUEST with an address from the pool
/// `<pool-base>2..254` and prints an accounting record when a client leaves. Over UDP it
/// answers resets statelessly (HMAC cookies) unless --no-stateless. Prints events on stdout
/// and a final `RESULT ...` line; SIGTERM/SIGINT end the run early.
#[derive(Parser, Debug)]
#[command(name = "ovpn-server", version)]
struct Cli {
    /// RouterOS `/interface ovpn-server server` properties (port, protocol, mode, certificate,
    /// require-client-certificate, auth, cipher, default-profile, user-auth-method, netmask,
    /// push-routes, redirect-gateway, enable-tun-ipv6, tls-version, max-mtu, ...). Default:
    /// none (OpenVPN-style options are used).
    #[arg(value_name = "NAME=VALUE", value_parser = parse_word)]
    words: Vec<String>,
    /// RouterOS export (`.rsc`) with `/interface ovpn-server server set ...` (or `add
    /// name=...`, the first) and `/ppp secret` users; NAME=VALUE words override it, the PEM
    /// files come from the certificate words or --cert/--key/--ca. Unknown properties are
    /// warned about with their line. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// Address and port to listen on (RouterOS: 0.0.0.0:`port`). Required without RouterOS
    /// words. Default: none.
    #[arg(long, value_name = "IP:PORT")]
    listen: Option<SocketAddr>,
    /// Require and verify a client certificate (RouterOS `require-client-certificate`,
    /// default no).
    #[arg(long)]
    require_client_cert: bool,
    /// Client address pool prefix: addresses `<pool-base>2` to `<pool-base>254`, /24.
    #[arg(long, default_value = "10.8.0.", value_name = "A.B.C.")]
    pool_base: String,
    /// Keep per-client state from the first reset (default off: UDP uses the stateless
    /// HMAC-cookie handshake).
    #[arg(long)]
    no_stateless: bool,
    /// Most clients at once (RouterOS has no limit property; default 64).
    #[arg(long, default_value_t = 64, value_name = "N")]
    max_clients: usize,
    /// TCP: most connections at once (default 128; at the cap a newcomer replaces the oldest
    /// connection still in its first packet).
    #[arg(long, value_name = "N")]
    max_conns: Option<usize>,
    /// TCP: most connections from one source address (default 4).
    #[arg(long, value_name = "N")]
    max_conns_per_source: Option<usize>,
    /// TCP: seconds a connection may take to bring its session up (default 10; 0 = default).
    #[arg(long, value_name = "SECS")]
    handshake_timeout: Option<u64>,
    /// TCP: seconds a connection may stay silent (default 60; 0 = default).
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<u64>,
    /// Print a `STATS` line (RSS, table sizes, drop counters) every SECS seconds (default:
    /// never).
    #[arg(long, value_name = "SECS")]
    stats: Option<u64>,
    #[command(flatten)]
    opts: OvpnOpts,
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    // SIGTERM/SIGINT end the run early, as at the end of `--duration` (counters printed).
    examples::sys::stop_on_signals();
    let mut o = cli.opts.to_map();
    if let Some(l) = cli.listen {
        o.insert("listen".into(), l.to_string());
    }
    if cli.require_client_cert {
        o.insert("require-client-cert".into(), String::new());
    }
    o.insert("pool-base".into(), cli.pool_base.clone());
    if cli.no_stateless {
        o.insert("no-stateless".into(), String::new());
    }
    o.insert("max-clients".into(), cli.max_clients.to_string());
    for (k, v) in [
        ("max-conns", cli.max_conns.map(|v| v as u64)),
        (
            "max-conns-per-source",
            cli.max_conns_per_source.map(|v| v as u64),
        ),
        ("handshake-timeout", cli.handshake_timeout),
        ("idle-timeout", cli.idle_timeout),
        ("stats", cli.stats),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), v.to_string());
        }
    }
    let ros = routeros_words(&cli.words);
    let r = (|| -> Result<Tally, String> {
        if let Some(path) = &cli.config {
            return routeros_rsc(path, &ros, &o);
        }
        if !ros.is_empty() {
            return routeros(&ros, &o);
        }
        let c = common(Role::Server, &o)?;
        let listen: SocketAddr = o
            .get("listen")
            .ok_or("--listen IP:PORT is required")?
            .parse()
            .map_err(|e| format!("--listen: {e}"))?;
        let require = o.contains_key("require-client-cert");
        let pool = o
            .get("pool-base")
            .cloned()
            .unwrap_or_else(|| "10.8.0.".into());
        let creds = match (o.get("user"), o.get("pass")) {
            (Some(u), Some(p)) => Some((u.clone(), p.clone())),
            _ => None,
        };
        let dev = DevOpts::from_args(&o)?;
        let max_clients = num(&o, "max-clients", 64)?;
        if dev.as_ref().is_some_and(|d| d.ifconfig.is_none()) {
            return Err("--dev needs --ifconfig A/len on the server".into());
        }
        let cfg = c.cfg.clone();
        let tls = c.tls.clone();
        let stateless = (!c.tcp && !o.contains_key("no-stateless")).then(|| StatelessConfig {
            wrap: c.cfg.wrap.clone(),
            hand_window: c.cfg.hand_window,
            unix_time: examples::ovpn_util::unix_now(),
            rate_limit: Some(ovpn::RateLimit::default()),
            tls_crypt_v2_verify: None,
        });
        let mut srv: Server<SocketAddr> = Server::new(
            Box::new(move |peer_id, now| {
                let mut cfg = cfg.clone();
                cfg.peer_id = Some(peer_id);
                // The address comes from the server's pool (pushed after these).
                cfg.push_options = vec!["topology subnet".into()];
                let hook: Option<ovpn::session::AuthHook> = creds.clone().map(|(u, p)| {
                    Box::new(move |r: &ovpn::AuthRequest<'_>| {
                        let ok = r.username == u && r.password == p;
                        println!("server auth hook: user {} ok={ok}", r.username);
                        ok
                    }) as ovpn::session::AuthHook
                });
                let rng = OsRng::new().map_err(|e| ovpn::error::Error::Tls(e.to_string()))?;
                Session::new(
                    cfg,
                    now,
                    Box::new(rng),
                    tls_factory(Role::Server, tls.clone(), None, require),
                    hook,
                )
            }),
            max_clients,
        );
        // One wall clock for the server and every session it creates (the factory's
        // config was read at start-up).
        srv.set_unix_time(std::time::Instant::now(), examples::ovpn_util::unix_now());
        let range = format!("{pool}2-{pool}254");
        let mask = std::net::Ipv4Addr::new(255, 255, 255, 0);
        srv.set_pool(Ipv4Pool::from_range(&range, mask).map_err(|e| e.to_string())?);
        if let Some(st) = stateless {
            let mut rng = OsRng::new().map_err(|e| e.to_string())?;
            srv.enable_stateless(std::time::Instant::now(), st, &mut rng)
                .map_err(|e| e.to_string())?;
            println!("server stateless handshake (HMAC cookies) on");
        }
        let mut pcap = c.pcap.as_ref().map(|_| Pcap::default());
        let mut so = serve_opts(listen, c.tcp, c.seconds, &o)?;
        // Server mode only (OpenVPN's p2p TLS mode has no RESTART).
        so.exit_notify = o
            .get("explicit-exit-notify")
            .filter(|_| !o.contains_key("p2p"))
            .map(|v| v == "2");
        let t = run_server(srv, so, pcap.as_mut(), dev)?;
        if let (Some(p), Some(path)) = (pcap, c.pcap) {
            p.write(&path);
        }
        if let Some(p) = &c.openssl {
            println!("CRYPTO openssl calls={}", p.calls());
        }
        Ok(t)
    })();
    exit_with("ovpn-server", r);
}
