//! `pppoe-client`: a RouterOS-style PPPoE client (`/interface pppoe-client`) on an
//! `AF_PACKET` raw socket: the `pppoe` crate's [`pppoe::Client`] (discovery, session, PPP on
//! the shared PPP client host).
//!
//! ```text
//! pppoe-client --interface eth1 --user NAME --password PW [--service-name isp]
//!              [--ac-name AC] [--ping 10.233.0.1 --count 3] [--duration SECS]
//! ```
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
    /// Ethernet interface to dial on (RouterOS `interface`).
    #[arg(long, value_name = "IF")]
    interface: String,
    /// PPP user name (RouterOS `user`).
    #[arg(long, default_value = "")]
    user: String,
    /// PPP password (RouterOS `password`).
    #[arg(long, default_value = "")]
    password: String,
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
    let cli = Cli::parse();
    examples::logging::init();
    examples::sys::stop_on_signals();
    if let Err(e) = run(cli) {
        error!("{e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let sock = PacketSocket::open(&cli.interface)?;
    let mut cfg = ClientConfig::new(sock.mac);
    cfg.ppp.user = cli.user.clone();
    cfg.ppp.password = cli.password.clone();
    cfg.service_name = cli.service_name.clone();
    cfg.ac_name = cli.ac_name.clone();
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut c = Client::new(cfg, start, rng).map_err(|e| e.to_string())?;
    println!("DIALING {} mac={}", cli.interface, mac_str(&sock.mac));
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
