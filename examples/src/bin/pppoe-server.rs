//! `pppoe-server`: a RouterOS-style PPPoE access concentrator (`/interface pppoe-server
//! server`) on an `AF_PACKET` raw socket: the `pppoe` crate's [`pppoe::Server`], PPP sessions
//! on its host keyed by (client MAC, session id), an address pool and PPP secrets.
//!
//! ```text
//! pppoe-server --interface eth1 [--service-name isp ...] [--ac-name MikroTik]
//!              [--user NAME:PASSWORD ...] [--local 10.233.0.1] [--pool 10.233.0.10-10.233.0.50]
//!              [--authentication pap,chap,mschap1,mschap2] [--max-sessions N]
//!              [--one-session-per-host] [--duration SECS] [--config FILE.rsc]
//!              [--radius ADDR[:PORT] --radius-secret S [--radius-accounting]
//!               [--radius-interim SECS] [--radius-incoming PORT]]
//! pppoe-server --config examples/rsc/pppoe-server.rsc --interface eth1
//! ```
//! `--config FILE.rsc`: a RouterOS export: `/interface pppoe-server server add ...`, `/ip
//! pool`, `/ppp profile`, `/ppp secret` (see `examples::rsc_config::pppoe_server`). The enabled
//! entries on `--interface` (default: the first enabled entry's `interface`) are served as one
//! AC with all their service names. Unknown properties are warned about with their line.
//! Options given on the command line override it: `--service-name`, `--authentication`,
//! `--max-sessions`, `--one-session-per-host` set the server, `--local`, `--pool` its
//! `default-profile`, `--user` adds secrets.
//!
//! RADIUS (`examples::ppp_cli::RadiusArgs`, also `/ppp aaa`, `/radius`, `/radius incoming` of
//! `--config`): users without a local `/ppp secret` are authenticated by the RADIUS server
//! (RouterOS `/radius add service=ppp` + `/ppp aaa use-radius=yes`), with accounting,
//! interim updates and Disconnect-Request as in `l2tp-server`. Prints `RADIUS ACCEPT|REJECT`.
//!
//! It answers ICMP echo requests to its own PPP address (`PING from A`). Prints `LISTENING`,
//! `PADI from ..`, `PADR from ..`, `SESSION <id> UP`, `AUTH OK`, `IPCP UP local=.. peer=..`,
//! `CLOSED reason=..` on stdout. Needs CAP_NET_RAW.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use clap::Parser;
use examples::pppoe_util::{mac_str, PacketSocket};
use examples::sstp_util::echo_reply;
use ppp::aaa::{Aaa, AddressSpec, IpPool, Profile, Secret};
use pppoe::wire::{Discovery, Frame, ETHERTYPE_DISCOVERY};
use pppoe::{Input, Server, ServerConfig, ServerEvent};
use tracing::{debug, error, info};

/// RouterOS-style PPPoE access concentrator (`/interface pppoe-server server`) on an
/// AF_PACKET raw socket: the pppoe crate's Server, PPP sessions on its host, an address pool
/// and PPP secrets.
///
/// Answers pings to its own PPP address (`PING from A`). Prints `LISTENING`, `PADI from ..`,
/// `PADR from ..`, `SESSION <id> UP`, `AUTH OK`, `IPCP UP local=.. peer=..`, `CLOSED
/// reason=..` on stdout. Needs CAP_NET_RAW.
#[derive(Parser, Debug)]
#[command(name = "pppoe-server", version)]
struct Cli {
    /// Ethernet interface to serve on (RouterOS `interface`).
    /// Required unless --config names one.
    #[arg(long, value_name = "IF", required_unless_present = "config")]
    interface: Option<String>,
    /// RouterOS export (`.rsc`) with `/interface pppoe-server server add ...`, `/ip pool`,
    /// `/ppp profile` and `/ppp secret`; the options given on the command line override it
    /// (`--local`, `--pool` set the `default-profile`, `--user` adds secrets). Unknown
    /// properties are warned about with their line. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// A service name (RouterOS `service-name`, one server entry each); repeat for more.
    /// Default: one entry "" (any service).
    #[arg(long = "service-name", value_name = "NAME")]
    service_names: Vec<String>,
    /// The AC-Name sent in PADOs (RouterOS `/system identity`, default MikroTik).
    #[arg(long, default_value = "MikroTik", value_name = "NAME")]
    ac_name: String,
    /// A PPP secret (`/ppp secret` `name` and `password`); repeat for more users. Default: none.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = examples::ppp_cli::parse_user)]
    users: Vec<(String, String)>,
    /// The server's PPP address (`/ppp profile` `local-address`).
    #[arg(long, default_value = "10.233.0.1")]
    local: Ipv4Addr,
    /// Address pool of the clients (`/ip pool` `ranges`), FIRST-LAST.
    #[arg(long, default_value = "10.233.0.10-10.233.0.50", value_name = "RANGE")]
    pool: String,
    /// RouterOS `authentication`, comma-separated from pap, chap, mschap1, mschap2 (default:
    /// all four).
    #[arg(long, value_parser = examples::ppp_cli::parse_auth, value_name = "LIST")]
    authentication: Option<String>,
    /// RouterOS `max-sessions` (default 0 = unlimited).
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_sessions: usize,
    /// RouterOS `one-session-per-host` (default no): a new session of a MAC closes its old one.
    #[arg(long)]
    one_session_per_host: bool,
    /// Seconds to serve.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    duration: u64,
    #[command(flatten)]
    radius: examples::ppp_cli::RadiusArgs,
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
    let overrides = Overrides {
        local: given("local"),
        pool: given("pool"),
        max_sessions: given("max_sessions"),
    };
    if let Err(e) = run(cli, overrides) {
        error!("{e}");
        std::process::exit(1);
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Print the discovery packets that come in (what the peer asked for), within `budget`.
fn log_discovery(frame: &[u8], budget: &mut examples::logging::LineBudget) {
    let Ok(f) = Frame::parse(frame) else { return };
    if f.ethertype != ETHERTYPE_DISCOVERY {
        return;
    }
    let Ok(d) = Discovery::from_frame(&f) else {
        return;
    };
    if !budget.allow() {
        return;
    }
    let service = d
        .service_names()
        .next()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_default();
    println!(
        "{} from {} session={} service={service:?} host-uniq={} cookie={}",
        f.code.name(),
        mac_str(&f.src),
        f.session_id,
        d.host_uniq().map(hex).unwrap_or_else(|| "-".into()),
        if d.ac_cookie().is_some() { "yes" } else { "no" },
    );
}

/// Which defaulted options were given on the command line (they then override `--config`).
struct Overrides {
    local: bool,
    pool: bool,
    max_sessions: bool,
}

fn run(cli: Cli, given: Overrides) -> Result<(), String> {
    let rsc = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let r =
                examples::rsc_config::pppoe_server(&text).map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            Some(r)
        }
        None => None,
    };
    let (interface, file_cfg) = match &rsc {
        Some(r) => {
            let (ifname, c) = r.server_on(cli.interface.as_deref()).ok_or_else(|| {
                format!(
                    "{}: no enabled /interface pppoe-server server entry{}",
                    cli.config.as_deref().unwrap_or_default(),
                    cli.interface
                        .as_deref()
                        .map(|i| format!(" on {i}"))
                        .unwrap_or_default()
                )
            })?;
            (cli.interface.clone().unwrap_or(ifname), Some(c))
        }
        None => (
            cli.interface.clone().ok_or("--interface is required")?,
            None,
        ),
    };
    let sock = PacketSocket::open(&interface)?;
    let mut cfg = match file_cfg {
        Some(c) => ServerConfig { mac: sock.mac, ..c },
        None => ServerConfig::new(sock.mac),
    };
    if !cli.service_names.is_empty() {
        cfg.service_names = cli.service_names.clone();
    }
    cfg.ac_name = cli.ac_name.clone();
    if let Some(a) = &cli.authentication {
        cfg.ppp.authentication =
            ppp::AuthSet::parse(a).map_err(|e| format!("--authentication: {e}"))?;
    }
    if rsc.is_none() || given.max_sessions {
        cfg.ppp.max_sessions = (cli.max_sessions > 0).then_some(cli.max_sessions);
    }
    if cli.one_session_per_host {
        cfg.ppp.one_session_per_host = true;
    }
    if rsc.is_none() {
        // Users without a `/ppp secret` (RADIUS users) get the server's `default-profile`:
        // the one --local and --pool describe.
        cfg.ppp.default_profile = "pppoe".into();
    }
    let profile_name = cfg.ppp.default_profile.clone();
    let radius_setup = cli.radius.resolve(rsc.as_ref().map(|r| &r.radius))?;
    let local = match &rsc {
        Some(r) if !given.local => r.local_address(&profile_name).unwrap_or(cli.local),
        _ => cli.local,
    };
    let aaa = match &rsc {
        None => {
            let mut aaa = Aaa::new();
            aaa.pools
                .push(IpPool::new("pppoe-pool", &cli.pool).map_err(|e| format!("--pool: {e:?}"))?);
            let mut profile = Profile::named("pppoe");
            profile.local_address = Some(AddressSpec::Address(local));
            profile.remote_address = Some(AddressSpec::Pool("pppoe-pool".into()));
            aaa.profiles.push(profile);
            for (name, pass) in &cli.users {
                let mut s = Secret::new(name, pass);
                s.profile = "pppoe".into();
                aaa.secrets.push(s);
            }
            aaa
        }
        Some(r) => {
            // The file's tables; command-line options change the server's default-profile and
            // add secrets (with that profile).
            let mut aaa = r.aaa.clone();
            if given.pool {
                aaa.pools.push(
                    IpPool::new("cli-pool", &cli.pool).map_err(|e| format!("--pool: {e:?}"))?,
                );
            }
            let p = aaa
                .profiles
                .iter_mut()
                .find(|p| p.name == profile_name)
                .ok_or_else(|| format!("no /ppp profile {profile_name:?} (default-profile)"))?;
            if given.local {
                p.local_address = Some(AddressSpec::Address(local));
            }
            if given.pool {
                p.remote_address = Some(AddressSpec::Pool("cli-pool".into()));
            }
            for (name, pass) in &cli.users {
                aaa.secrets.retain(|s| &s.name != name);
                let mut s = Secret::new(name, pass);
                s.profile = profile_name.clone();
                aaa.secrets.push(s);
            }
            aaa
        }
    };
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut srv = Server::new(cfg, start, rng).map_err(|e| e.to_string())?;
    srv.host_mut().set_store(Box::new(aaa));
    let mut radius = match &radius_setup {
        Some(r) => {
            srv.host_mut().set_aaa(r.aaa.clone());
            Some(examples::radius_udp::from_settings(
                r,
                std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            )?)
        }
        None => None,
    };
    println!(
        "LISTENING {} mac={} ac-name={:?}",
        interface,
        mac_str(&sock.mac),
        cli.ac_name
    );
    let hold = Duration::from_secs(cli.duration);
    let mut buf = vec![0u8; 2048];
    let mut out = vec![0u8; 2048];
    let mut drops = examples::logging::DropSummary::new("pppoe-server", Duration::from_secs(10));
    // One line per discovery packet, but at most 100 per 10 s: strangers can send many.
    let mut discovery_log = examples::logging::LineBudget::new(
        "pppoe-server discovery log",
        Duration::from_secs(10),
        100,
    );
    while start.elapsed() < hold && !examples::sys::stop_requested() {
        let now = Instant::now();
        while let Some(n) = sock.recv(&mut buf).map_err(|e| e.to_string())? {
            log_discovery(&buf[..n], &mut discovery_log);
            let mut reply = None;
            match srv.handle_frame(now, &mut buf[..n]) {
                Input::Datagram {
                    session,
                    protocol: 0x0021,
                    payload,
                } => {
                    if let Some(r) = echo_reply(payload, local) {
                        println!(
                            "PING from {}.{}.{}.{} (session {})",
                            payload[12], payload[13], payload[14], payload[15], session.1
                        );
                        reply = Some((session, r));
                    }
                }
                Input::Dropped(r) => {
                    debug!("dropped: {r:?}");
                    drops.count_debug(&r);
                }
                _ => {}
            }
            if let Some((key, r)) = reply {
                match srv.send_datagram(now, &key, 0x0021, &r, &mut out) {
                    Ok(m) => sock.send(&out[..m]).map_err(|e| e.to_string())?,
                    Err(e) => debug!("echo reply: {e}"),
                }
            }
        }
        if srv.poll_timeout().is_some_and(|t| t <= now) {
            srv.handle_timeout(now);
        }
        while let Some(t) = srv.poll_transmit(now) {
            if let Err(e) = sock.send(&t.frame) {
                debug!("send: {e}");
            }
        }
        while let Some(e) = srv.poll_event() {
            match e {
                ServerEvent::SessionStarted {
                    session, service, ..
                } => println!(
                    "SESSION {} UP host={} service={service:?}",
                    session.1,
                    mac_str(&session.0)
                ),
                ServerEvent::SessionEnded { session, reason } => {
                    println!("CLOSED session={} reason={reason:?}", session.1)
                }
                ServerEvent::Host(ppp::host::ServerEvent::Ppp { key, event }) => match event {
                    ppp::Event::AuthSucceeded { user, method, .. } => {
                        println!("AUTH OK {user} method={method} (session {})", key.1)
                    }
                    ppp::Event::NetworkUp(i) => println!(
                        "IPCP UP local={} peer={} (session {})",
                        i.local, i.remote, key.1
                    ),
                    other => debug!("session {}: {other:?}", key.1),
                },
                ServerEvent::Host(other) => {
                    if let Some(r) = radius.as_mut() {
                        r.handle_server_event(now, &other);
                    }
                    debug!("{other:?}")
                }
                other => debug!("{other:?}"),
            }
        }
        if let Some(r) = radius.as_mut() {
            r.drive_host(now, srv.host_mut());
        }
        drops.maybe_report();
        discovery_log.maybe_report();
        let wait = srv
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(200))
            .min(Duration::from_millis(if radius.is_some() {
                5
            } else {
                200
            }));
        sock.wait(wait);
    }
    // Goodbye: a PADT for every session left.
    let keys: Vec<_> = srv.host().keys().copied().collect();
    info!("stopping with {} session(s)", keys.len());
    let now = Instant::now();
    for k in &keys {
        let _ = srv.terminate(now, k);
    }
    while let Some(t) = srv.poll_transmit(now) {
        let _ = sock.send(&t.frame);
    }
    while let Some(e) = srv.poll_event() {
        if let ServerEvent::SessionEnded { session, reason } = e {
            println!("CLOSED session={} reason={reason:?}", session.1);
        }
    }
    Ok(())
}
