//! `pppoe-client`: a RouterOS-style PPPoE client (`/interface pppoe-client`) on an
//! `AF_PACKET` raw socket: the `pppoe` crate's [`pppoe::Client`] (discovery, session, PPP on
//! the shared PPP client host).
//!
//! ```text
//! pppoe-client --interface eth1 --user NAME --password PW [--service-name isp]
//!              [--ac-name AC] [--ping 10.233.0.1 --count 3] [--duration SECS]
//! pppoe-client --config examples/rsc/pppoe-client.rsc [--name NAME] [--interface eth1]
//! ```
//! `--config FILE.rsc`: a RouterOS export: the `/interface pppoe-client` interface named
//! `--name` (default the first `add`), with `/ppp profile` (see
//! `examples::rsc_config::pppoe_client`); its `interface` is the port unless `--interface`
//! is given. Unknown properties are warned about with their line; the options given on the
//! command line override the file.
//! With `--ping ADDR` it sends ICMP echo requests to ADDR through the session once IPCP is
//! up and hangs up (LCP Terminate, PADT) after `--count` replies or a timeout. Prints
//! `PADO from ..`, `SESSION <id> UP`, `AUTH OK`, `IPCP UP local=.. peer=..`,
//! `PING reply from ..`, `CLOSED reason=..` on stdout. Needs CAP_NET_RAW.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use clap::Parser;
use examples::pppoe_util::{mac_str, PacketSocket};
use pppoe::{Client, ClientConfig, ClientEvent, Input};
use tracing::{debug, error, info};

/// RouterOS-style PPPoE client (`/interface pppoe-client`) on an AF_PACKET raw socket: the
/// pppoe crate's Client, PPP on the shared PPP client host.
///
/// With --ping it pings through the session once IPCP is up and hangs up after --count replies.
/// Prints `PADO from ..`, `SESSION <id> UP`, `AUTH OK`, `IPCP UP local=.. peer=..`, `PING reply
/// from ..`, `CLOSED reason=..` on stdout. Needs CAP_NET_RAW.
#[derive(Parser, Debug)]
#[command(name = "pppoe-client", version)]
struct Cli {
    /// Ethernet interface to dial on (RouterOS `interface`). Required unless --config gives
    /// it.
    #[arg(long, value_name = "IF", required_unless_present = "config")]
    interface: Option<String>,
    /// RouterOS export (`.rsc`) with `/interface pppoe-client add ...` and `/ppp profile`;
    /// the options given on the command line override it. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// With --config: the interface's `name` (default: the first `add`).
    #[arg(long, value_name = "NAME", requires = "config")]
    name: Option<String>,
    /// PPP user name (RouterOS `user`).
    #[arg(long, default_value = "")]
    user: String,
    /// PPP password (RouterOS `password`).
    #[arg(long, default_value = "")]
    password: String,
    /// RouterOS `allow`: authentication methods the client accepts (it Naks the others),
    /// comma-separated from pap, chap, mschap1, mschap2, eap (default mschap2,mschap1,chap,pap,
    /// or the file's `allow`).
    #[arg(long, value_parser = examples::ppp_cli::parse_allow, value_name = "LIST")]
    allow: Option<ppp::AuthSet>,
    /// Service asked for in the PADI (RouterOS `service-name`, default "" = any).
    #[arg(long, default_value = "", value_name = "NAME")]
    service_name: String,
    /// Take offers only from this AC (RouterOS `ac-name`, default "" = the first).
    #[arg(long, default_value = "", value_name = "NAME")]
    ac_name: String,
    /// Ping this address through the session once IPCP is up, then hang up. Default: none.
    #[arg(long, value_name = "ADDR")]
    ping: Option<Ipv4Addr>,
    /// Echo requests to send with --ping.
    #[arg(long, default_value_t = 3, value_name = "N")]
    count: u16,
    /// Seconds to run.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    duration: u64,
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
    let given: Vec<&'static str> = ["user", "password", "service_name", "ac_name"]
        .into_iter()
        .filter(|id| given(id))
        .collect();
    if let Err(e) = run(cli, &given) {
        error!("{e}");
        std::process::exit(1);
    }
}

/// The port and the client configuration (with the placeholder MAC): the `--config` file's
/// interface (if any), then the options (those with a default only when `given` on the
/// command line, or without `--config`).
fn configure(cli: &Cli, given: &[&str]) -> Result<(String, ClientConfig), String> {
    let from_file = cli.config.is_some();
    let over = |id: &str| !from_file || given.contains(&id);
    let (port, mut cfg) = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let r = examples::rsc_config::pppoe_client(&text, cli.name.as_deref())
                .map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            if r.disabled {
                tracing::warn!("{path}: the interface is not disabled=no there; dialing anyway");
            }
            (r.interface, r.client)
        }
        None => (
            String::new(),
            ClientConfig::new(examples::rsc_config::PLACEHOLDER_MAC),
        ),
    };
    let port = cli.interface.clone().unwrap_or(port);
    if port.is_empty() {
        return Err("no port: give --interface or interface= in --config".into());
    }
    if port.contains(',') {
        return Err(format!(
            "interface={port}: one port only (multilink over several ports is not supported); \
             give --interface"
        ));
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
    if over("service_name") {
        cfg.service_name = cli.service_name.clone();
    }
    if over("ac_name") {
        cfg.ac_name = cli.ac_name.clone();
    }
    Ok((port, cfg))
}

fn run(cli: Cli, given: &[&str]) -> Result<(), String> {
    let (port, mut cfg) = configure(&cli, given)?;
    let sock = PacketSocket::open(&port)?;
    cfg.mac = sock.mac;
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut c = Client::new(cfg, start, rng).map_err(|e| e.to_string())?;
    println!("DIALING {port} mac={}", mac_str(&sock.mac));
    let hold = Duration::from_secs(cli.duration);
    let mut buf = vec![0u8; 2048];
    let mut out = vec![0u8; 2048];
    let mut local: Option<Ipv4Addr> = None;
    let mut sent = 0u16;
    let mut replies = 0u16;
    let mut next_ping = start;
    let mut hung_up: Option<Instant> = None;
    let mut last_ping: Option<Instant> = None;
    while start.elapsed() < hold {
        let now = Instant::now();
        if examples::sys::stop_requested() && hung_up.is_none() {
            c.hang_up(now);
            hung_up = Some(now);
        }
        while let Some(n) = sock.recv(&mut buf).map_err(|e| e.to_string())? {
            match c.handle_frame(now, &mut buf[..n]) {
                Input::Datagram {
                    protocol: 0x0021,
                    payload: p,
                    ..
                } if p.len() >= 28
                    && p[9] == 1
                    && p.get(usize::from(p[0] & 15) * 4) == Some(&0) =>
                {
                    replies += 1;
                    println!(
                        "PING reply from {}.{}.{}.{} ({replies}/{})",
                        p[12], p[13], p[14], p[15], cli.count
                    );
                }
                Input::Dropped(r) => debug!("dropped: {r:?}"),
                _ => {}
            }
        }
        if c.poll_timeout().is_some_and(|t| t <= now) {
            c.handle_timeout(now);
        }
        // Pings through the session.
        if let (Some(dst), Some(src), None) = (cli.ping, local, hung_up) {
            if sent < cli.count && now >= next_ping {
                sent += 1;
                let pkt = netsim::pcap::icmp4_echo(
                    src.octets(),
                    dst.octets(),
                    false,
                    0x5050,
                    sent,
                    b"rosproto pppoe-client ping",
                );
                match c.send_datagram(now, 0x0021, &pkt, &mut out) {
                    Ok(m) => sock.send(&out[..m]).map_err(|e| e.to_string())?,
                    Err(e) => debug!("ping: {e}"),
                }
                next_ping = now + Duration::from_secs(1);
                last_ping = Some(now);
            }
            let timed_out =
                sent == cli.count && last_ping.is_some_and(|t| now >= t + Duration::from_secs(3));
            if replies >= cli.count || timed_out {
                info!("{replies}/{sent} echo replies; hanging up");
                c.hang_up(now);
                hung_up = Some(now);
            }
        }
        while let Some(t) = c.poll_transmit(now) {
            if let Err(e) = sock.send(&t.frame) {
                debug!("send: {e}");
            }
        }
        while let Some(e) = c.poll_event() {
            match e {
                ClientEvent::Offer { offer, taken } => println!(
                    "PADO from {} ac-name={:?} services={:?} taken={taken}",
                    mac_str(&offer.ac_mac),
                    offer.ac_name,
                    offer.services
                ),
                ClientEvent::SessionUp {
                    session,
                    ac_name,
                    service,
                    ..
                } => println!(
                    "SESSION {} UP ac={} ac-name={ac_name:?} service={service:?}",
                    session.1,
                    mac_str(&session.0)
                ),
                ClientEvent::SessionDown { session, reason } => {
                    println!("CLOSED session={} reason={reason:?}", session.1)
                }
                ClientEvent::Ppp(ppp::host::ClientEvent::Up(up)) => {
                    println!("IPCP UP local={} peer={}", up.local, up.remote);
                    local = Some(up.local);
                }
                ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::AuthSucceeded {
                    user,
                    method,
                    ..
                })) => println!("AUTH OK {user} method={method}"),
                ClientEvent::Ppp(ppp::host::ClientEvent::Status(s)) => info!("status: {s:?}"),
                other => debug!("{other:?}"),
            }
        }
        if let Some(t) = hung_up {
            if c.session().is_none() || now >= t + Duration::from_secs(3) {
                break;
            }
        }
        let wait = c
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(100))
            .min(Duration::from_millis(100));
        sock.wait(wait);
    }
    if hung_up.is_none() && c.session().is_some() {
        let now = Instant::now();
        c.hang_up(now);
        while let Some(t) = c.poll_transmit(now) {
            let _ = sock.send(&t.frame);
        }
    }
    if cli.ping.is_some() && replies == 0 {
        return Err("no echo reply".into());
    }
    Ok(())
}
