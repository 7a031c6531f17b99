//! `l2tp-server`: a RouterOS-style L2TP server (`/interface l2tp-server server`): the `l2tp`
//! crate's LNS with a PPP server per session, an address pool and PPP secrets, on one UDP socket.
//!
//! ```text
//! l2tp-server --help
//! l2tp-server <bind-ip> [--port P] [--local 10.97.41.1] [--pool 10.97.41.10-10.97.41.20]
//!             [--user NAME:PASSWORD ...] [--secret TUNNEL-SECRET] [--dns IP]
//!             [--hold SECS] [--pcap FILE] [--tun NAME]
//!             [--authentication pap,chap,mschap1,mschap2,eap] [--max-mtu N] [--max-mru N]
//!             [--keepalive-timeout SECS] [--max-sessions N] [--one-session-per-host]
//!             [--use-ipsec no|yes|require] [--ipsec-secret PSK]
//!             [--radius ADDR[:PORT] --radius-secret S [--radius-accounting]
//!              [--radius-interim SECS] [--radius-incoming PORT]]
//!             [--config FILE.rsc]
//! l2tp-server 0.0.0.0 --config examples/rsc/l2tp-server.rsc
//! l2tp-server 0.0.0.0 --config examples/rsc/l2tp-server-radius.rsc   # users on RADIUS
//! l2tp-server 0.0.0.0 --radius 192.0.2.10 --radius-secret xyzzy5461 --radius-accounting
//! ```
//! * `--config FILE.rsc`: a RouterOS export: `/interface l2tp-server server set ...`, `/ip
//!   pool`, `/ppp profile`, `/ppp secret` (see `examples::rsc_config::l2tp_server`); unknown
//!   properties are warned about with their line. Options given on the command line override
//!   it: `--local`, `--pool`, `--dns` change the `default` profile, `--user` adds secrets.
//! * The PPP settings are the RouterOS `/interface l2tp-server server` ones
//!   ([`ppp::ServerSettings`]): `--authentication` (default `mschap1,mschap2`; the server
//!   proposes EAP first when it is listed, then MS-CHAPv2, MS-CHAPv1, CHAP, PAP), `--max-mtu`,
//!   `--max-mru` (1450), `--keepalive-timeout` (30), `--max-sessions`,
//!   `--one-session-per-host`. Prints `AUTH OK user method=M`.
//! * Any number of clients; tunnels are told apart by (source address, source port).
//! * `--use-ipsec yes|require` with `--ipsec-secret PSK` (RouterOS `use-ipsec`,
//!   `ipsec-secret`; also read from `--config`): L2TP/IPsec (RFC 3193) in user space through
//!   `examples::l2tp_ipsec`: an IKEv1 responder (main mode, pre-shared key, quick mode in
//!   transport mode, ESP in UDP 4500) on UDP 500/4500 of `<bind-ip>` for every client, and
//!   the L2TP datagrams inside ESP handed to the LNS as `via_ipsec`. Clients behind one NAT
//!   are told apart by their IKE SA and ESP SPI. `yes` also serves plain L2TP on the UDP
//!   port; `require` (RouterOS `required`) refuses it: the LNS drops every datagram that did
//!   not arrive inside IPsec and counts it (`not-ipsec=N` in the counter line, printed as
//!   `DROPPED not-ipsec=N` at exit). Prints `IPSEC UP peer spi_in=.. spi_out=..`.
//! * RADIUS (`examples::radius_udp`, [`ppp::radius`]): `--radius ADDR[:PORT]` with
//!   `--radius-secret S` is RouterOS `/radius add service=ppp address=ADDR secret=S
//!   authentication-port=PORT` (accounting on PORT+1) and `/ppp aaa set use-radius=yes`:
//!   a user without a local `/ppp secret` is asked of the RADIUS server (PAP, CHAP,
//!   MS-CHAPv1/v2 proofs passed through; Framed-IP-Address, Session-Timeout, Idle-Timeout,
//!   Acct-Interim-Interval and the MPPE keys of the Access-Accept applied to the session).
//!   `--radius-accounting` (`/ppp aaa accounting=yes`) sends Start/Interim-Update/Stop,
//!   `--radius-interim SECS` is `/ppp aaa interim-update`, `--radius-incoming PORT` is
//!   `/radius incoming set accept=yes port=PORT`: a Disconnect-Request from the RADIUS server
//!   naming a session (Acct-Session-Id, User-Name or Framed-IP-Address) ends it (Disconnect-ACK;
//!   NAK 503 when no session matches). The same is read from `--config` (`/ppp aaa`, `/radius`
//!   entries whose `service` includes `ppp`, `/radius incoming`); the options override it.
//!   Prints `RADIUS ACCEPT|REJECT (tunnel/session)` and `RADIUS DISCONNECT ...`.
//! * PPP: `/ppp profile default local-address=--local remote-address=pool`, `/ppp secret` from
//!   every `--user` (one shared credential store, so pool addresses are unique across sessions).
//! * Without `--tun` the server answers ICMP echo requests addressed to its own PPP address
//!   itself (prints `PING from A to B`), which is enough for a client to test the path.
//! * `--tun NAME`: a TUN device carries the sessions' IP traffic to and from the host stack:
//!   it gets the `--local` address (/32); every session that reaches IPCP up gets a /32 route
//!   to its pool address via the TUN (removed when the session ends), and packets the host
//!   routes into the TUN go to the session owning their destination address (prints
//!   `ROUTE peer -> tunnel/session`).
//! * Prints one line per event (`TUNNEL UP`, `SESSION UP`, `AUTH OK user`, `IPCP UP peer=...`).
//! * SIGTERM or SIGINT ends the run as `--hold` does (counters printed, pcap written).
//! * `--pcap FILE`: every datagram in and out, with synthetic IPv4/UDP headers (link type 101).
//! * Every 10 s and at exit, one `info` line on stderr with the LNS counters: tunnels,
//!   half-open tunnels (L2TPv2 and L2TPv3 waiting for SCCCN), sessions, L2TPv3 connections
//!   and sessions, rate-limited SCCRQs, and the non-zero drop counters by reason (since
//!   start). Per-packet drops are logged at `debug` and summarised every 10 s, so a flood
//!   does not grow the log without bound.

use clap::Parser;
use examples::sys::ip;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{debug, error};

use examples::l2tp_ipsec::{IpsecEvent, IpsecSockets, L2tpIpsec};
use examples::radius_udp::RadiusAaa;
use l2tp::config::{ServerConfig, UseIpsec};
use l2tp::ppp_link::{PppLns, PppLnsEvent, PppLnsInput};
use l2tp::server::{Lns, Peer};
use l2tp::TunnelConfig;
use netsim::pcap;
use ppp::aaa::{Aaa, AddressSpec, IpPool, Profile, Secret};
use ppp::radius::{DaeEvent, DaeOutcome};

/// The ICMP echo reply to an echo request addressed to `me`; `None` if `p` is not one.
fn echo_reply(p: &[u8], me: Ipv4Addr) -> Option<Vec<u8>> {
    let ihl = usize::from(p.first()? & 0x0f) * 4;
    if p.len() < ihl + 8 || p[0] >> 4 != 4 || p[9] != 1 || p[ihl] != 8 || p[16..20] != me.octets() {
        return None;
    }
    let src = [p[12], p[13], p[14], p[15]];
    let id = u16::from_be_bytes([p[ihl + 4], p[ihl + 5]]);
    let seq = u16::from_be_bytes([p[ihl + 6], p[ihl + 7]]);
    Some(netsim::pcap::icmp4_echo(
        me.octets(),
        src,
        true,
        id,
        seq,
        &p[ihl + 8..],
    ))
}

/// IPv4 destination of a packet.
fn dst4(p: &[u8]) -> Option<Ipv4Addr> {
    let d = p.get(16..20)?;
    (p.first()? >> 4 == 4).then(|| Ipv4Addr::new(d[0], d[1], d[2], d[3]))
}

/// One line of LNS counters (cumulative since start, except the gauges): what the periodic
/// and the final `info` line print.
fn stats_line(lns: &Lns<SocketAddr>) -> String {
    let st = lns.stats();
    let drops: Vec<String> = [
        ("half-open-full", st.dropped_half_open_full),
        ("half-open-per-source", st.dropped_half_open_per_source),
        ("half-open-expired", st.half_open_expired),
        ("malformed", st.malformed),
        ("unknown-tunnel", st.unknown_tunnel),
        ("unsupported-v3", st.unsupported_v3),
        ("rejected-version", st.rejected_version),
        ("rejected-pseudowire", st.rejected_pseudowire),
        ("rejected-max-sessions", st.rejected_max_sessions),
        ("tunnel-table-full", st.tunnel_table_full),
        ("not-ipsec", st.dropped_not_ipsec),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{k}={n}"))
    .collect();
    format!(
        "l2tp-server: tunnels={} half-open={} sessions={} v3-connections={} v3-sessions={} \
         sccrq-rate-limited={} (per-source {}, global {}) drops: {}",
        lns.tunnel_count(),
        lns.half_open_count(),
        lns.session_count(),
        lns.v3_count(),
        lns.v3_session_count(),
        st.dropped_sccrq_rate + st.dropped_sccrq_global_rate,
        st.dropped_sccrq_rate,
        st.dropped_sccrq_global_rate,
        if drops.is_empty() {
            "none".to_string()
        } else {
            drops.join(" ")
        }
    )
}

/// RouterOS-style L2TP server (`/interface l2tp-server server`): the `l2tp` crate's LNS with a
/// PPP server per session, an address pool and PPP secrets, on one UDP socket.
///
/// Any number of clients; tunnels are told apart by (source address, source port). PPP uses
/// `/ppp profile local-address=--local remote-address=pool` and a `/ppp secret` per --user.
/// Without --tun the server answers pings to its own PPP address itself (`PING from A to B`);
/// with --tun the sessions' IP traffic goes to and from the host stack. One line per event is
/// printed on stdout (`LISTENING`, `TUNNEL UP`, `SESSION UP`, `AUTH OK user`, `IPCP UP ...`).
#[derive(Parser, Debug)]
#[command(name = "l2tp-server", version)]
struct Cli {
    /// Address to listen on.
    bind: IpAddr,
    /// RouterOS export (`.rsc`) with `/interface l2tp-server server set ...`, `/ip pool`,
    /// `/ppp profile` and `/ppp secret`; the options given on the command line override it
    /// (`--local`, `--pool`, `--dns` set the `default` profile, `--user` adds secrets).
    /// Unknown properties are warned about with their line. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// UDP port to listen on.
    #[arg(long, default_value_t = 1701)]
    port: u16,
    /// The server's PPP address (`/ppp profile` `local-address`).
    #[arg(long, default_value = "10.97.41.1")]
    local: Ipv4Addr,
    /// Address pool of the clients (`/ip pool` `ranges`), FIRST-LAST.
    #[arg(long, default_value = "10.97.41.10-10.97.41.20", value_name = "RANGE")]
    pool: String,
    /// A PPP secret (`/ppp secret` `name` and `password`); repeat for more users. Default: none.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = parse_user)]
    users: Vec<(String, String)>,
    /// L2TP tunnel secret (tunnel authentication, RFC 2661 s5.1.1). Default: none.
    #[arg(long)]
    secret: Option<String>,
    /// DNS server given to clients (`/ppp profile` `dns-server`; default none).
    #[arg(long)]
    dns: Option<Ipv4Addr>,
    /// Seconds to serve before exiting.
    #[arg(
        long = "duration",
        visible_alias = "hold",
        default_value_t = 3600,
        value_name = "SECS"
    )]
    hold: u64,
    /// Write every datagram in and out, with synthetic IPv4/UDP headers, to this pcap.
    /// Default: none.
    #[arg(long, value_name = "FILE")]
    pcap: Option<String>,
    /// TUN device carrying the sessions' IP traffic to and from the host stack (gets --local/32
    /// and a /32 route per session). Default: none (pings to --local answered internally).
    #[arg(long, value_name = "NAME")]
    tun: Option<String>,
    /// RouterOS `authentication`, comma-separated from pap, chap, mschap1, mschap2, eap
    /// (default mschap1,mschap2; EAP is proposed first when listed).
    #[arg(long, value_parser = parse_auth, value_name = "LIST")]
    authentication: Option<String>,
    /// RouterOS `max-mtu` (default 1450).
    #[arg(long, value_name = "N")]
    max_mtu: Option<u16>,
    /// RouterOS `max-mru` (default 1450).
    #[arg(long, value_name = "N")]
    max_mru: Option<u16>,
    /// RouterOS `keepalive-timeout` in seconds (default 30).
    #[arg(long, value_name = "SECS")]
    keepalive_timeout: Option<u64>,
    /// RouterOS `max-sessions` (default unlimited).
    #[arg(long, value_name = "N")]
    max_sessions: Option<usize>,
    /// RouterOS `one-session-per-host` (default no).
    #[arg(long)]
    one_session_per_host: bool,
    /// RouterOS `use-ipsec` (default no): `yes` adds an IKEv1 responder on UDP 500/4500 and
    /// takes L2TP inside ESP besides plain L2TP; `require` takes only L2TP inside ESP.
    /// Needs --ipsec-secret.
    #[arg(long, value_enum, value_name = "WHEN")]
    use_ipsec: Option<UseIpsecArg>,
    /// RouterOS `ipsec-secret`: the IPsec pre-shared key (default none).
    #[arg(long, value_name = "PSK")]
    ipsec_secret: Option<String>,
    #[command(flatten)]
    radius: examples::ppp_cli::RadiusArgs,
}

/// RouterOS `use-ipsec` values of the server.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum UseIpsecArg {
    /// Plain L2TP only.
    No,
    /// L2TP inside IPsec and plain L2TP.
    Yes,
    /// Only L2TP inside IPsec (RouterOS `required`, accepted as an alias).
    #[value(alias = "required")]
    Require,
}

fn parse_user(s: &str) -> Result<(String, String), String> {
    s.split_once(':')
        .map(|(n, p)| (n.to_string(), p.to_string()))
        .ok_or_else(|| "expected NAME:PASSWORD".to_string())
}

fn parse_auth(s: &str) -> Result<String, String> {
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
        local: given("local"),
        pool: given("pool"),
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
}

fn run(cli: Cli, given: Overrides) -> Result<(), String> {
    let bind = cli.bind;
    let port = cli.port;
    let rsc = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let r = examples::rsc_config::l2tp_server(&text).map_err(|e| format!("{path}: {e}"))?;
            r.notes.log(path);
            if !r.server.enabled {
                tracing::warn!("{path}: the server is not enabled=yes there; serving anyway");
            }
            Some(r)
        }
        None => None,
    };
    let radius_setup = cli.radius.resolve(rsc.as_ref().map(|r| &r.radius))?;
    let local = match &rsc {
        Some(r) if !given.local => r.local_address().unwrap_or(cli.local),
        _ => cli.local,
    };
    let pool = cli.pool.clone();
    let hold = Duration::from_secs(cli.hold);
    let tunnel_secret = cli.secret.clone().map(String::into_bytes);
    let pcap_path = cli.pcap.clone();
    let tun_name = cli.tun.clone();
    let mut tun = match &tun_name {
        Some(n) => {
            let t = examples::sys::open_tun(n, false, true)?;
            ip(&["addr", "add", &format!("{local}/32"), "dev", n])?;
            ip(&["link", "set", n, "up", "mtu", "1450"])?;
            println!("TUN {n} UP {local}/32");
            Some(t)
        }
        None => None,
    };
    // Session addresses (IPCP peer address) -> (tunnel id, session id), for TUN routing.
    let mut routes: HashMap<Ipv4Addr, (u16, u16)> = HashMap::new();
    let mut tun_dropped = 0u64;

    let aaa = match &rsc {
        None => {
            let mut aaa = Aaa::new();
            aaa.pools
                .push(IpPool::new("l2tp-pool", &pool).map_err(|e| format!("--pool: {e:?}"))?);
            let mut profile = Profile::named("l2tp");
            profile.local_address = Some(AddressSpec::Address(local));
            profile.remote_address = Some(AddressSpec::Pool("l2tp-pool".into()));
            if let Some(d) = cli.dns {
                profile.dns = vec![d];
            }
            aaa.profiles.push(profile);
            for (name, pass) in &cli.users {
                let mut s = Secret::new(name, pass);
                s.profile = "l2tp".into();
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
            }
            if let Some(d) = cli.dns {
                default.dns = vec![d];
            }
            if given.pool {
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
    // One store shared by all sessions: pool allocations are seen by every session.
    let store = Arc::new(Mutex::new(aaa));

    let sock = UdpSocket::bind(SocketAddr::new(bind, port)).map_err(|e| e.to_string())?;
    let me = sock.local_addr().map_err(|e| e.to_string())?;
    println!("LISTENING {me}");
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let from_file = rsc.is_some();
    let mut cfg = ServerConfig {
        enabled: true,
        ..rsc.map(|r| r.server).unwrap_or_default()
    };
    if !from_file {
        // Users without a `/ppp secret` (RADIUS users) get the server's `default-profile`:
        // the one --local and --pool describe.
        cfg.ppp.default_profile = "l2tp".into();
    }
    if let Some(a) = &cli.authentication {
        cfg.ppp.authentication =
            ppp::AuthSet::parse(a).map_err(|e| format!("--authentication: {e}"))?;
        // Propose EAP first when it is offered (then MS-CHAPv2, MS-CHAPv1, CHAP, PAP).
        cfg.ppp
            .link
            .auth_preference
            .retain(|m| *m != ppp::AuthMethod::Eap);
        cfg.ppp.link.auth_preference.insert(0, ppp::AuthMethod::Eap);
    }
    if let Some(v) = cli.max_mtu {
        cfg.ppp.max_mtu = v;
    }
    if let Some(v) = cli.max_mru {
        cfg.ppp.max_mru = v;
    }
    if let Some(v) = cli.keepalive_timeout {
        cfg.ppp.keepalive_timeout = Duration::from_secs(v);
    }
    if let Some(v) = cli.max_sessions {
        cfg.ppp.max_sessions = Some(v);
    }
    if cli.one_session_per_host {
        cfg.ppp.one_session_per_host = true;
    }
    if let Some(u) = cli.use_ipsec {
        cfg.use_ipsec = match u {
            UseIpsecArg::No => UseIpsec::No,
            UseIpsecArg::Yes => UseIpsec::Yes,
            UseIpsecArg::Require => UseIpsec::Require,
        };
    }
    if cli.ipsec_secret.is_some() {
        cfg.ipsec_secret = cli.ipsec_secret.clone();
    }
    let mut ipsec: Option<(L2tpIpsec, IpsecSockets, Ipv4Addr)> = match (cfg.use_ipsec, bind) {
        (UseIpsec::No, _) => None,
        (_, IpAddr::V6(_)) => return Err("--use-ipsec: IPv4 only".into()),
        (_, IpAddr::V4(me)) => {
            let psk = cfg
                .ipsec_secret
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or("--use-ipsec needs --ipsec-secret (or ipsec-secret= in --config)")?;
            let socks = IpsecSockets::bind(bind)?;
            let seed = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
            let drv = L2tpIpsec::server(
                examples::l2tp_ipsec::Config::new(psk.as_bytes(), me),
                Box::new(seed),
            );
            println!(
                "IPSEC LISTENING {me}:500,4500 use-ipsec={:?}",
                cfg.use_ipsec
            );
            Some((drv, socks, me))
        }
    };
    let mut s: PppLns<SocketAddr> = PppLns::new(
        cfg,
        TunnelConfig {
            host_name: b"rust-l2tp-server".to_vec(),
            ..Default::default()
        },
        Box::new(move |_addr, _k| tunnel_secret.clone()),
        Instant::now(),
        &mut rng,
    )
    .map_err(|e| e.to_string())?;
    s.set_store(Box::new(store));
    let mut radius: Option<RadiusAaa<(u16, u16)>> = match &radius_setup {
        Some(r) => {
            s.set_aaa(r.aaa.clone());
            Some(examples::radius_udp::from_settings(r, bind)?)
        }
        None => None,
    };

    let start = Instant::now();
    let ip4 = |a: IpAddr| match a {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(_) => [0, 0, 0, 0],
    };
    let mut frames: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut record = |from: SocketAddr, to: SocketAddr, d: &[u8]| {
        if pcap_path.is_some() {
            frames.push((
                start.elapsed(),
                pcap::udp4_wrap(ip4(from.ip()), from.port(), ip4(to.ip()), to.port(), d),
            ));
        }
    };
    let mut buf = vec![0u8; 4096];
    let mut out = vec![0u8; 4096];
    let mut drops = examples::logging::DropSummary::new("l2tp-server", Duration::from_secs(10));
    const STATS_EVERY: Duration = Duration::from_secs(10);
    let mut next_stats = start + STATS_EVERY;
    examples::sys::stop_on_signals();
    while start.elapsed() < hold && !examples::sys::stop_requested() {
        let now = Instant::now();
        if now >= next_stats {
            tracing::info!("{}", stats_line(s.lns()));
            next_stats = now + STATS_EVERY;
        }
        // L2TP/IPsec: IKE and ESP in (L2TP from ESP into `inbox`), timers, events.
        let mut inbox: Vec<(Peer<SocketAddr>, Vec<u8>)> = Vec::new();
        if let Some((drv, socks, ip)) = ipsec.as_mut() {
            let mut ib = [0u8; 4096];
            while let Some((port, from, n)) = socks.recv(&mut ib) {
                record(from, SocketAddr::new(IpAddr::V4(*ip), port), &ib[..n]);
                if let examples::l2tp_ipsec::Input::L2tp { key, payload } =
                    drv.handle_datagram(now, port, from, &ib[..n])
                {
                    let peer = Peer {
                        key,
                        addr: key.ip(),
                        via_ipsec: true,
                    };
                    inbox.push((peer, payload.to_vec()));
                }
            }
            drv.handle_timeout(now);
            while let Some(e) = drv.poll_event() {
                match e {
                    IpsecEvent::Up {
                        key,
                        spi_in,
                        spi_out,
                        ..
                    } => println!("IPSEC UP {key} spi_in={spi_in:#010x} spi_out={spi_out:#010x}"),
                    IpsecEvent::Down { key, reason } => println!("IPSEC DOWN {key} {reason}"),
                    IpsecEvent::Ike { key, event } => println!("IKE {key} {event:?}"),
                }
            }
        }
        while let Some((to, d)) = s.poll_transmit(now) {
            send_l2tp(&mut ipsec, &sock, me, to, &d, &mut record);
        }
        flush_ipsec(&mut ipsec, &mut record);
        while let Some(e) = s.poll_event() {
            match e {
                PppLnsEvent::L2tp(ev) => match ev.event {
                    l2tp::Event::TunnelUp { .. } => {
                        println!("TUNNEL UP {} tunnel_id={}", ev.key, ev.tunnel_id)
                    }
                    l2tp::Event::SessionUp { session_id, .. } => println!(
                        "SESSION UP {} tunnel_id={} session_id={session_id}",
                        ev.key, ev.tunnel_id
                    ),
                    other => println!("L2TP {} {other:?}", ev.key),
                },
                PppLnsEvent::Host(ev) => {
                    if let Some(r) = radius.as_mut() {
                        r.handle_server_event(now, &ev);
                    }
                    println!("HOST {ev:?}")
                }
                PppLnsEvent::Ppp {
                    tunnel_id,
                    session_id,
                    event,
                } => match event {
                    ppp::Event::AuthSucceeded { user, method, .. } => {
                        println!("AUTH OK {user} method={method} ({tunnel_id}/{session_id})")
                    }
                    ppp::Event::NetworkUp(i) => {
                        println!(
                            "IPCP UP local={} peer={} ({tunnel_id}/{session_id})",
                            i.local, i.remote
                        );
                        if let Some(n) = &tun_name {
                            let r = format!("{}/32", i.remote);
                            ip(&["route", "replace", &r, "dev", n])?;
                            routes.insert(i.remote, (tunnel_id, session_id));
                            println!("ROUTE {} -> {tunnel_id}/{session_id}", i.remote);
                        }
                    }
                    ppp::Event::Terminated { reason, .. } => {
                        println!("PPP TERMINATED {reason:?} ({tunnel_id}/{session_id})");
                        let gone: Vec<Ipv4Addr> = routes
                            .iter()
                            .filter(|(_, v)| **v == (tunnel_id, session_id))
                            .map(|(k, _)| *k)
                            .collect();
                        for a in gone {
                            routes.remove(&a);
                            if let Some(n) = &tun_name {
                                let _ = ip(&["route", "del", &format!("{a}/32"), "dev", n]);
                            }
                        }
                    }
                    _ => {}
                },
                other => println!("EVENT {other:?}"),
            }
        }
        if let Some(r) = radius.as_mut() {
            radius_step(r, &mut s, now);
        }
        // TUN -> the session owning the destination address
        if let Some(t) = tun.as_mut() {
            let mut pkt = [0u8; 2048];
            while let Ok(n) = t.read(&mut pkt) {
                let Some(p) = pkt.get(..n) else { break };
                // IPv4 only: the server runs no IPv6CP (IPv6 from the TUN is dropped, counted)
                if examples::sys::ppp_protocol_for_tun(p, false).is_none() {
                    tun_dropped += 1;
                    continue;
                }
                let Some(&(tid, sid)) = dst4(p).and_then(|d| routes.get(&d)) else {
                    continue;
                };
                if let Ok((to, m)) = s.send_datagram(now, tid, sid, 0x0021, p, &mut out) {
                    send_l2tp(&mut ipsec, &sock, me, to, &out[..m], &mut record);
                }
            }
        }
        let cap = if tun.is_some() || ipsec.is_some() || radius.is_some() {
            5
        } else {
            200
        };
        let wait = s
            .poll_timeout()
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(cap))
            .clamp(Duration::from_millis(1), Duration::from_millis(cap));
        sock.set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        if inbox.is_empty() {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    record(from, me, &buf[..n]);
                    let peer = Peer {
                        key: from,
                        addr: from.ip(),
                        via_ipsec: false,
                    };
                    inbox.push((peer, buf[..n].to_vec()));
                }
                Err(_) => {
                    let now = Instant::now();
                    if s.poll_timeout().is_some_and(|d| d <= now) {
                        s.handle_timeout(now);
                    }
                }
            }
        }
        for (peer, d) in &inbox {
            let from = peer.key;
            {
                let now = Instant::now();
                let reply = match s.handle_input(now, peer, d) {
                    Ok(PppLnsInput::Datagram {
                        protocol: 0x0021,
                        payload,
                        ..
                    }) if tun.is_some() => {
                        // the host stack routes it (and answers pings to --local itself)
                        if let Some(t) = tun.as_mut() {
                            let _ = t.write(payload);
                        }
                        None
                    }
                    Ok(PppLnsInput::Datagram {
                        tunnel_id,
                        session_id,
                        protocol: 0x0021,
                        payload,
                    }) => echo_reply(payload, local).map(|r| {
                        println!(
                            "PING from {} to {local}",
                            Ipv4Addr::new(payload[12], payload[13], payload[14], payload[15])
                        );
                        (tunnel_id, session_id, r)
                    }),
                    Err(e) => {
                        debug!("drop from {from}: {e}");
                        drops.count_debug(&e);
                        None
                    }
                    _ => None,
                };
                drops.maybe_report();
                if let Some((tid, sid, r)) = reply {
                    if let Ok((to, n)) = s.send_datagram(now, tid, sid, 0x0021, &r, &mut out) {
                        send_l2tp(&mut ipsec, &sock, me, to, &out[..n], &mut record);
                    }
                }
                // Under a flood recv never times out: fire due timers here too.
                if s.poll_timeout().is_some_and(|d| d <= now) {
                    s.handle_timeout(now);
                }
            }
        }
        flush_ipsec(&mut ipsec, &mut record);
    }
    drops.report();
    tracing::info!("{}", stats_line(s.lns()));
    println!("DROPPED not-ipsec={}", s.lns().stats().dropped_not_ipsec);
    if let Some((drv, socks, _)) = ipsec.as_mut() {
        let st = drv.stats();
        println!(
            "IPSEC STATS sas={} esp-in={} esp-out={} esp-dropped={} esp-not-l2tp={} ike-dropped={}",
            drv.sa_count(),
            st.esp_in,
            st.esp_out,
            st.esp_dropped,
            st.esp_not_l2tp,
            st.ike_dropped
        );
        let now = Instant::now();
        drv.close(now);
        socks.flush(drv, now);
    }
    if tun.is_some() {
        println!("TUN DROPPED non-ipv4={tun_dropped}");
    }
    if let Some(p) = pcap_path {
        std::fs::write(&p, pcap::to_bytes(pcap::LINKTYPE_RAW, &frames))
            .map_err(|e| format!("{p}: {e}"))?;
        println!("PCAP {p} ({} frames)", frames.len());
    }
    Ok(())
}

/// RADIUS answers become PPP verdicts; Disconnect-Requests end the sessions they name.
fn radius_step(r: &mut RadiusAaa<(u16, u16)>, s: &mut PppLns<SocketAddr>, now: Instant) {
    let (verdicts, dae) = r.poll(now);
    for ((tid, sid), id, v) in verdicts {
        println!(
            "RADIUS {} ({tid}/{sid})",
            examples::radius_udp::verdict_word(&v)
        );
        if let Err(e) = s.auth_verdict(now, tid, sid, id, v) {
            debug!("radius verdict for {tid}/{sid}: {e}");
        }
    }
    for e in dae {
        let (token, identity, disconnect) = match e {
            DaeEvent::Disconnect {
                token, identity, ..
            } => (token, identity, true),
            DaeEvent::Coa {
                token, identity, ..
            } => (token, identity, false),
            _ => continue,
        };
        let keys = examples::radius_udp::sessions_named(s.host(), &identity);
        let outcome = if !disconnect {
            // CoA is not applied by this example.
            DaeOutcome::Nak(ppp::radius::ErrorCause::UnsupportedService)
        } else if keys.is_empty() {
            println!("RADIUS DISCONNECT no session for {identity:?}");
            DaeOutcome::Nak(ppp::radius::ErrorCause::SessionContextNotFound)
        } else {
            for (tid, sid) in keys {
                println!("RADIUS DISCONNECT ({tid}/{sid})");
                let _ = s.close_session(now, tid, sid, "RADIUS Disconnect-Request");
            }
            DaeOutcome::Ack
        };
        if let Some(d) = r.dae.as_mut() {
            d.respond(now, token, outcome);
        }
    }
}

/// The IPsec side of the server: driver, its sockets, our address.
type Ipsec = Option<(L2tpIpsec, IpsecSockets, Ipv4Addr)>;

/// Send one L2TP datagram to the peer `to`: inside ESP when `to` is an IPsec peer's key,
/// otherwise plain from the L2TP socket.
fn send_l2tp(
    ipsec: &mut Ipsec,
    sock: &UdpSocket,
    me: SocketAddr,
    to: SocketAddr,
    d: &[u8],
    record: &mut dyn FnMut(SocketAddr, SocketAddr, &[u8]),
) {
    match ipsec.as_mut() {
        Some((drv, _, _)) if drv.is_peer(to) => {
            drv.send_l2tp(to, d);
            flush_ipsec(ipsec, record);
        }
        _ => {
            record(me, to, d);
            let _ = sock.send_to(d, to);
        }
    }
}

/// Send what the IPsec driver queued (IKE, ESP, keepalives), recording each datagram.
fn flush_ipsec(ipsec: &mut Ipsec, record: &mut dyn FnMut(SocketAddr, SocketAddr, &[u8])) {
    if let Some((drv, socks, me)) = ipsec.as_mut() {
        socks.flush_recorded(drv, Instant::now(), *me, record);
    }
}
