//! `pppoe-server`: a RouterOS-style PPPoE access concentrator (`/interface pppoe-server
//! server`) on an `AF_PACKET` raw socket: the `pppoe` crate's [`pppoe::Server`], PPP sessions
//! on its host keyed by (client MAC, session id), an address pool and PPP secrets.
//!
//! ```text
//! pppoe-server --interface eth1 [--service-name isp ...] [--ac-name MikroTik]
//!              [--user NAME:PASSWORD ...] [--local 10.233.0.1] [--pool 10.233.0.10-10.233.0.50]
//!              [--authentication pap,chap,mschap1,mschap2] [--max-sessions N]
//!              [--one-session-per-host] [--duration SECS]
//! ```
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
    #[arg(long, value_name = "IF")]
    interface: String,
    /// A service name (RouterOS `service-name`, one server entry each); repeat for more.
    /// Default: one entry "" (any service).
    #[arg(long = "service-name", value_name = "NAME")]
    service_names: Vec<String>,
    /// The AC-Name sent in PADOs (RouterOS `/system identity`, default MikroTik).
    #[arg(long, default_value = "MikroTik", value_name = "NAME")]
    ac_name: String,
    /// A PPP secret (`/ppp secret` `name` and `password`); repeat for more users. Default: none.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = parse_user)]
    users: Vec<(String, String)>,
    /// The server's PPP address (`/ppp profile` `local-address`).
    #[arg(long, default_value = "10.233.0.1")]
    local: Ipv4Addr,
    /// Address pool of the clients (`/ip pool` `ranges`), FIRST-LAST.
    #[arg(long, default_value = "10.233.0.10-10.233.0.50", value_name = "RANGE")]
    pool: String,
    /// RouterOS `authentication`, comma-separated from pap, chap, mschap1, mschap2 (default:
    /// all four).
    #[arg(long, value_parser = parse_auth, value_name = "LIST")]
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
}

fn parse_user(s: &str) -> Result<(String, String), String> {
    s.split_once(':')
        .map(|(n, p)| (n.to_string(), p.to_string()))
        .ok_or_else(|| "expected NAME:PASSWORD".to_string())
}

fn parse_auth(s: &str) -> Result<String, String> {
    ppp::AuthSet::parse(s).map_err(|e| format!("{e} (allowed: pap, chap, mschap1, mschap2)"))?;
    Ok(s.to_string())
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    examples::sys::stop_on_signals();
    if let Err(e) = run(cli) {
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

fn run(cli: Cli) -> Result<(), String> {
    let sock = PacketSocket::open(&cli.interface)?;
    let mut cfg = ServerConfig::new(sock.mac);
    if !cli.service_names.is_empty() {
        cfg.service_names = cli.service_names.clone();
    }
    cfg.ac_name = cli.ac_name.clone();
    if let Some(a) = &cli.authentication {
        cfg.ppp.authentication =
            ppp::AuthSet::parse(a).map_err(|e| format!("--authentication: {e}"))?;
    }
    cfg.ppp.max_sessions = (cli.max_sessions > 0).then_some(cli.max_sessions);
    cfg.ppp.one_session_per_host = cli.one_session_per_host;
    let local = cli.local;
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
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut srv = Server::new(cfg, start, rng).map_err(|e| e.to_string())?;
    srv.host_mut().set_store(Box::new(aaa));
    println!(
        "LISTENING {} mac={} ac-name={:?}",
        cli.interface,
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
                other => debug!("{other:?}"),
            }
        }
        drops.maybe_report();
        discovery_log.maybe_report();
        let wait = srv
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(200))
            .min(Duration::from_millis(200));
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
