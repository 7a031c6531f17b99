//! `pptp-server`: a RouterOS-style PPTP server (`/interface pptp-server server`, the RFC 2637
//! PAC) on a TCP listener (port 1723, the control connections) and a raw IPv4 socket for IP
//! protocol 47 (the enhanced GRE data channel): the `pptp` crate's [`pptp::Server`], PPP
//! sessions on its host, an address pool and PPP secrets.
//!
//! ```text
//! pptp-server --help
//! pptp-server <bind-ip> [--local 10.232.0.1] [--pool 10.232.0.10-10.232.0.20]
//!             [--user NAME:PASSWORD ...] [--authentication mschap1,mschap2]
//!             [--use-encryption default|no|yes|required] [--keepalive-timeout SECS]
//!             [--duration SECS] [--config FILE.rsc]
//!             [--radius ADDR[:PORT] --radius-secret S [--radius-accounting]
//!              [--radius-interim SECS] [--radius-incoming PORT]]
//! pptp-server 0.0.0.0 --config examples/rsc/pptp-server.rsc
//! ```
//! * `--config FILE.rsc`: a RouterOS export: `/interface pptp-server server set ...`, `/ip
//!   pool`, `/ppp profile`, `/ppp secret` (see `examples::rsc_config::pptp_server`); unknown
//!   properties are warned about with their line. Options given on the command line override
//!   it: `--authentication`, `--keepalive-timeout` set the server; `--local`, `--pool`,
//!   `--use-encryption` change its `default-profile`; `--user` adds secrets.
//! * RADIUS (`examples::ppp_cli::RadiusArgs`, also `/ppp aaa`, `/radius`, `/radius incoming`
//!   of `--config`): users without a local `/ppp secret` are authenticated by the RADIUS
//!   server (RouterOS `/radius add service=ppp` + `/ppp aaa use-radius=yes`), with accounting,
//!   interim updates and Disconnect-Request as in `l2tp-server`. Prints `RADIUS ACCEPT|REJECT`.
//! * Needs `CAP_NET_RAW` (the GRE socket) and, for port 1723, `CAP_NET_BIND_SERVICE`.
//! * Answers ICMP echo requests to its own PPP address (`PING from A`); other IP traffic
//!   from the clients is counted and dropped.
//! * Prints `LISTENING`, `CONTROL UP host=... vendor=...` (the peer's SCCRQ), `CALL UP`,
//!   `AUTH OK`, `IPCP UP local=.. peer=..`, `ENCRYPTION <encoding>`, `CALL DOWN`,
//!   `CLOSED reason=...` on stdout; diagnostics go to stderr (`RUST_LOG`).
//!
//! PPTP is insecure (MS-CHAPv2 can be cracked offline, MPPE has no integrity); see the
//! `pptp` crate's docs.

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use examples::logging::DropSummary;
use examples::pptp_util::GreSocket;
use examples::sstp_util::{echo_reply, write_all_nb};
use ppp::aaa::{AddressSpec, IpPool, Secret, UseEncryption};
use pptp::{Channel, ConnId, ControlEvent, Input, Server, ServerConfig, ServerEvent};
use tracing::{debug, error, warn};

/// RouterOS-style PPTP server (`/interface pptp-server server`, the RFC 2637 PAC): TCP port
/// 1723 for control connections and a raw IP-protocol-47 socket for GRE.
///
/// Needs CAP_NET_RAW. Answers pings to its own PPP address (`PING from A`). Prints
/// `LISTENING`, `CONTROL UP host=... vendor=...`, `CALL UP`, `AUTH OK`, `IPCP UP local=..
/// peer=..`, `ENCRYPTION <encoding>`, `CALL DOWN`, `CLOSED reason=...` on stdout.
#[derive(Parser, Debug)]
#[command(name = "pptp-server", version)]
struct Cli {
    /// Address to listen on (TCP 1723 and GRE).
    bind: Ipv4Addr,
    /// RouterOS export (`.rsc`) with `/interface pptp-server server set ...`, `/ip pool`,
    /// `/ppp profile` and `/ppp secret`; the options given on the command line override it
    /// (`--local`, `--pool`, `--use-encryption` set the `default-profile`, `--user` adds
    /// secrets). Unknown properties are warned about with their line. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// The server's PPP address (`/ppp profile default-encryption` `local-address`).
    #[arg(long, default_value = "10.232.0.1")]
    local: Ipv4Addr,
    /// Address pool of the clients (`/ip pool` `ranges`), FIRST-LAST.
    #[arg(long, default_value = "10.232.0.10-10.232.0.20", value_name = "RANGE")]
    pool: String,
    /// A PPP secret (`/ppp secret` `name` and `password`); repeat for more users. Default: none.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = examples::ppp_cli::parse_user)]
    users: Vec<(String, String)>,
    /// RouterOS `authentication`, comma-separated from pap, chap, mschap1, mschap2 (default:
    /// mschap1,mschap2).
    #[arg(long, value_parser = examples::ppp_cli::parse_auth, value_name = "LIST")]
    authentication: Option<String>,
    /// `use-encryption` of the `default-encryption` profile (RouterOS default yes: MPPE-128
    /// stateless when the client agrees; required: no session without it).
    #[arg(long, value_enum, default_value_t = UseEncryptionArg::Yes)]
    use_encryption: UseEncryptionArg,
    /// RouterOS `keepalive-timeout` in seconds (default 30).
    #[arg(long, value_name = "SECS")]
    keepalive_timeout: Option<u64>,
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

/// RouterOS `use-encryption` values.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum UseEncryptionArg {
    /// Passive: MPPE when the peer asks for it.
    Default,
    /// Never encrypt.
    No,
    /// Offer MPPE, run in clear if the peer refuses.
    Yes,
    /// MPPE or no session.
    Required,
}

impl From<UseEncryptionArg> for UseEncryption {
    fn from(u: UseEncryptionArg) -> Self {
        match u {
            UseEncryptionArg::Default => UseEncryption::Default,
            UseEncryptionArg::No => UseEncryption::No,
            UseEncryptionArg::Yes => UseEncryption::Yes,
            UseEncryptionArg::Required => UseEncryption::Required,
        }
    }
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
        use_encryption: given("use_encryption"),
    };
    if let Err(e) = run(cli, overrides) {
        error!("{e}");
        std::process::exit(1);
    }
}

/// Which defaulted options were given on the command line (they then override `--config`).
struct Overrides {
    local: bool,
    pool: bool,
    use_encryption: bool,
}

fn run(cli: Cli, given: Overrides) -> Result<(), String> {
    let rsc = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let r = examples::rsc_config::pptp_server(&text).map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            if !r.server.enabled {
                warn!("{path}: the server is not enabled=yes there; serving anyway");
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
    let profile = cfg.ppp.default_profile.clone();
    let radius_setup = cli.radius.resolve(rsc.as_ref().map(|r| &r.radius))?;
    let mut aaa = match &rsc {
        None => {
            let mut aaa = pptp::default_aaa();
            aaa.pools
                .push(IpPool::new("pptp-pool", &cli.pool).map_err(|e| format!("--pool: {e:?}"))?);
            for p in aaa.profiles.iter_mut().filter(|p| p.name == profile) {
                p.local_address = Some(AddressSpec::Address(local));
                p.remote_address = Some(AddressSpec::Pool("pptp-pool".into()));
                p.use_encryption = cli.use_encryption.into();
            }
            aaa
        }
        Some(r) => {
            // The file's tables; command-line options change the server's default-profile.
            let mut aaa = r.aaa.clone();
            if given.pool {
                aaa.pools.push(
                    IpPool::new("cli-pool", &cli.pool).map_err(|e| format!("--pool: {e:?}"))?,
                );
            }
            let p = aaa
                .profiles
                .iter_mut()
                .find(|p| p.name == profile)
                .ok_or_else(|| format!("no /ppp profile {profile:?} (default-profile)"))?;
            if given.local {
                p.local_address = Some(AddressSpec::Address(local));
            }
            if given.pool {
                p.remote_address = Some(AddressSpec::Pool("cli-pool".into()));
            }
            if given.use_encryption {
                p.use_encryption = cli.use_encryption.into();
            }
            aaa
        }
    };
    for (name, pass) in &cli.users {
        aaa.secrets.retain(|s| &s.name != name);
        let mut s = Secret::new(name, pass);
        s.profile = profile.clone();
        aaa.secrets.push(s);
    }
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut srv = Server::new(cfg, start, rng).map_err(|e| e.to_string())?;
    srv.host_mut().set_store(Box::new(aaa));
    let mut radius = match &radius_setup {
        Some(r) => {
            srv.host_mut().set_aaa(r.aaa.clone());
            Some(examples::radius_udp::from_settings(
                r,
                std::net::IpAddr::from(cli.bind),
            )?)
        }
        None => None,
    };
    let addr = SocketAddr::new(IpAddr::V4(cli.bind), 1723);
    let listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let gre = GreSocket::open(Some(cli.bind))?;
    println!("LISTENING {addr}");
    let hold = Duration::from_secs(cli.hold);
    let mut conns: HashMap<ConnId, TcpStream> = HashMap::new();
    let mut drops = DropSummary::new("pptp-server", Duration::from_secs(10));
    // Connections with an authenticated call: their close is printed (`CLOSED ...`).
    let mut authed: std::collections::HashSet<ConnId> = std::collections::HashSet::new();
    let mut pending: HashMap<ConnId, Vec<String>> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    let mut pkt = vec![0u8; 65536];
    while start.elapsed() < hold && !examples::sys::stop_requested() {
        let now = Instant::now();
        loop {
            match listener.accept() {
                Ok((s, peer)) => {
                    let _ = s.set_nonblocking(true);
                    let _ = s.set_nodelay(true);
                    match srv.accept(now, peer.ip()) {
                        Ok(id) => {
                            debug!(conn = id.0, %peer, "accepted");
                            conns.insert(id, s);
                        }
                        Err(e) => {
                            // A flood must not grow the log: debug, and the 10 s summary.
                            debug!(%peer, "refused: {e}");
                            drops.count_debug(&e);
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    warn!("accept: {e}");
                    break;
                }
            }
        }
        // GRE before TCP: a peer's last PPP frames (LCP Terminate) go out just before its
        // Call-Clear-Request; read in this order they reach the call before it is cleared.
        let mut replies = Vec::new();
        loop {
            match gre.recv(&mut pkt) {
                Ok(Some((src, r))) => {
                    let (key, input) = srv.handle_datagram_key(now, IpAddr::V4(src), &mut pkt[r]);
                    match (key, input) {
                        (Some(key), Input::Datagram { protocol, payload }) => {
                            if let Some(rep) = (protocol == 0x0021)
                                .then(|| echo_reply(payload, local))
                                .flatten()
                            {
                                println!(
                                    "PING from {}.{}.{}.{} (call {})",
                                    payload[12], payload[13], payload[14], payload[15], key.call_id
                                );
                                replies.push((key, rep));
                            } else {
                                drops.count("IP not for the server (no forwarding here)");
                            }
                        }
                        (_, Input::Dropped(r)) => drops.count_debug(&r),
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
        let mut gone = Vec::new();
        for (id, s) in conns.iter_mut() {
            loop {
                match s.read(&mut buf) {
                    Ok(0) => {
                        gone.push(*id);
                        break;
                    }
                    Ok(n) => {
                        let _ = srv.handle_stream(now, *id, &buf[..n]);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        gone.push(*id);
                        break;
                    }
                }
            }
        }
        for id in gone {
            debug!(conn = id.0, "TCP closed by the peer");
            conns.remove(&id);
            srv.handle_stream_closed(now, id);
        }
        for (key, r) in replies {
            if let Err(e) = srv.send_datagram(now, &key, 0x0021, &r) {
                drops.count(format!("echo reply: {e}"));
            }
        }
        if srv.poll_timeout().is_some_and(|d| d <= now) {
            srv.handle_timeout(now);
        }
        let mut closing = Vec::new();
        while let Some(e) = srv.poll_event() {
            match e {
                ServerEvent::Control { conn, event } => match event {
                    // A connection's lines are held back until one of its calls
                    // authenticates: strangers' connections (floods) stay at debug level.
                    ControlEvent::Established { peer } => {
                        pending.entry(conn).or_default().push(format!(
                            "CONTROL UP conn={} host={:?} vendor={:?}",
                            conn.0,
                            peer.host_name.to_string_lossy(),
                            peer.vendor.to_string_lossy()
                        ))
                    }
                    ControlEvent::CallUp {
                        call_id,
                        peer_call_id,
                        peer_window,
                    } => pending.entry(conn).or_default().push(format!(
                        "CALL UP conn={} call_id={call_id} peer_call_id={peer_call_id} \
                         peer_window={peer_window}",
                        conn.0
                    )),
                    ControlEvent::CallDown { call_id, reason } => {
                        let line = format!(
                            "CALL DOWN conn={} call_id={call_id} reason={reason:?}",
                            conn.0
                        );
                        if authed.contains(&conn) {
                            println!("{line}");
                        } else {
                            debug!("{line}");
                        }
                    }
                    ControlEvent::Dropped(r) => drops.count_debug(&r),
                    other => debug!(conn = conn.0, "{other:?}"),
                },
                ServerEvent::Disconnect { conn, reason } => {
                    pending.remove(&conn);
                    if authed.remove(&conn) {
                        println!("CLOSED conn={} reason={reason:?}", conn.0);
                    } else {
                        // Never authenticated a call (strangers, floods): debug and summary.
                        debug!(conn = conn.0, "closed before authentication: {reason:?}");
                        drops.count(format!("closed before authentication: {reason:?}"));
                    }
                    closing.push(conn);
                }
                ServerEvent::Ppp(ppp::host::ServerEvent::Ppp { key, event }) => match event {
                    ppp::Event::AuthSucceeded { user, method, .. } => {
                        authed.insert(key.conn);
                        for line in pending.remove(&key.conn).unwrap_or_default() {
                            println!("{line}");
                        }
                        println!("AUTH OK {user} method={method} (call {})", key.call_id)
                    }
                    ppp::Event::AuthFailed { user, message, .. } => {
                        println!("AUTH FAILED {user}: {message} (call {})", key.call_id)
                    }
                    ppp::Event::NetworkUp(i) => println!(
                        "IPCP UP local={} peer={} (call {})",
                        i.local, i.remote, key.call_id
                    ),
                    ppp::Event::EncryptionUp { encoding, .. } => {
                        println!("ENCRYPTION {encoding} (call {})", key.call_id)
                    }
                    ppp::Event::Terminated { reason, .. } if authed.contains(&key.conn) => {
                        println!("PPP TERMINATED {reason:?} (call {})", key.call_id)
                    }
                    other => debug!(call = key.call_id, "{other:?}"),
                },
                ServerEvent::Ppp(other) => {
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
        while let Some(t) = srv.poll_transmit(now) {
            match t.channel {
                Channel::Control => {
                    if let Some(s) = conns.get_mut(&t.conn) {
                        if let Err(e) = write_all_nb(s, &t.payload) {
                            warn!(conn = t.conn.0, "TCP write: {e}");
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
        for c in closing {
            // dropping the stream closes the TCP connection (after the last control bytes)
            conns.remove(&c);
        }
        drops.maybe_report();
        std::thread::sleep(Duration::from_millis(1));
    }
    drops.report();
    Ok(())
}
