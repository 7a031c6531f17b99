//! `zerotier`: a ZeroTier 1.x node (VL1 transport, VL2 virtual networks, a network
//! controller) on UDP sockets and a TAP device, built on the sans-IO `zerotier` crate.
//!
//! ```text
//! zerotier --help
//! zerotier generate-identity OUT.secret             write a new identity (address:0:public:secret)
//! zerotier mkworld --root-identity ID --endpoint IP/PORT [--endpoint ..] --id N --ts MS
//!                  --signing-key KEY.c25519 --out PLANET   (KEY is created when missing)
//! zerotier run --identity ID.secret --planet PLANET [--port 9993] [--secondary-port N]
//!              [--echo ADDR] [--echo-interval-ms 1000] [--push-path IP:PORT]..
//!              [--pcap FILE] [--duration SECS]
//!              [--join NWID [--tap zerotier1] [--allow-managed yes]]          (member)
//!              [--controller-network N [--name S] [--ip-range A-B] [--routes DST[@GW],..]
//!               [--mtu 2800] [--multicast-limit 32] [--private yes] [--broadcast yes]
//!               [--ip6-rfc4193 no] [--ip6-6plane no] [--member ADDR]..]   (controller)
//! ```
//!
//! Member mode (`--join`, RouterOS `/zerotier interface network=`) opens the TAP device (created
//! down), and once the controller's config arrives gives it our derived MAC, the network's MTU
//! and (with `--allow-managed yes`) the managed addresses and routes, and raises it: Ethernet
//! frames read from the TAP go out as FRAME / EXT_FRAME / MULTICAST_FRAME, frames from members
//! are written to it. Controller mode (`--controller-network`, RouterOS `/zerotier controller`)
//! hosts network `ADDRESS << 24 | N` with the given settings; `--member` pre-authorizes a node
//! (`/zerotier controller member authorized=yes`).
//!
//! `run` binds UDP `0.0.0.0:port` (and the secondary port), drives the node with the system
//! clock until `--duration` ends or SIGTERM/SIGINT arrives (then it prints its peers and
//! counters) and prints one line per event on stdout (`online`, `peer-added`, `path-confirmed`,
//! `echo-reply`, `echo-answered`, ...): the interop tests read them. `--echo ADDR` sends an
//! ECHO to that node every interval; `--push-path` announces our address(es) to it
//! (PUSH_DIRECT_PATHS) once a direct path is confirmed.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use examples::udp_pcap::UdpPcapWriter;
use tracing::{debug, error, info};
use zerotier::vl2::controller::{parse_range, parse_route, route_text};
use zerotier::vl2::{Controller, NetworkSettings};
use zerotier::wire::InetAddr;
use zerotier::{
    Address, Event, Identity, LocalSocket, NetworkId, Node, NodeConfig, Root, SigningKeyPair,
    World, WorldType,
};

/// A ZeroTier 1.x node (VL1, VL2 member with a TAP device, network controller) on UDP sockets,
/// built on the sans-IO `zerotier` crate, and the tools to set one up (a new identity, a planet
/// file).
///
/// `run` binds UDP 0.0.0.0:PORT (and the secondary port), drives the node with the system clock
/// and prints one line per event on stdout (`online`, `peer-added`, `path-confirmed`,
/// `echo-reply`, `echo-answered`, `network-status`, `network-configured`, `config-issued`, ...).
/// Dropped datagrams are logged at debug level, with a summary at info every 10 s.
#[derive(Parser, Debug)]
#[command(name = "zerotier", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Write a new identity (address:0:public:secret) to OUT and print its address on stdout.
    GenerateIdentity {
        /// File to write the identity secret to.
        out: String,
    },
    /// Make a planet (world) file with one root.
    Mkworld(MkworldArgs),
    /// Run a node.
    Run(Box<RunArgs>),
}

#[derive(Args, Debug)]
struct MkworldArgs {
    /// The root's identity file. Required.
    #[arg(long, value_name = "FILE")]
    root_identity: String,
    /// A stable endpoint of the root, IP/PORT (repeat for more). Default: none.
    #[arg(long, value_name = "IP/PORT")]
    endpoint: Vec<String>,
    /// World id. Required.
    #[arg(long, value_name = "N")]
    id: u64,
    /// World timestamp (ms since the epoch; newer worlds replace older ones). Required.
    #[arg(long, value_name = "MS")]
    ts: u64,
    /// C25519 signing key file, created when missing. Required.
    #[arg(long, value_name = "KEY")]
    signing_key: String,
    /// Planet file to write. Required.
    #[arg(long, value_name = "PLANET")]
    out: String,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// RouterOS export (`.rsc`) with `/zerotier set port=`, `/zerotier interface add network=
    /// name= allow-managed=` (member mode), `/zerotier controller add ...` (controller mode:
    /// name, private, broadcast, mtu, multicast-limit, ip-range, routes, ip6-rfc4193,
    /// ip6-6plane; its `network` gives the 24-bit number, else 0) and `/zerotier controller
    /// member add zt-address= authorized=yes`. Options given on the command line win: --port,
    /// --join, --tap, --allow-managed each over the file's value; --controller-network makes
    /// the controller wholly from the options. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// Identity secret file (from generate-identity or zerotier-one's identity.secret).
    /// Required.
    #[arg(long, value_name = "FILE")]
    identity: String,
    /// Planet file (zerotier-one's `planet`, or from mkworld). Required.
    #[arg(long, value_name = "FILE")]
    planet: String,
    /// Primary UDP port (default 9993, zerotier-one's).
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// Secondary UDP port (default: none).
    #[arg(long, value_name = "PORT")]
    secondary_port: Option<u16>,
    /// Send an ECHO to this node (10 hex digits) every --echo-interval-ms. Default: none.
    #[arg(long, value_name = "ADDR")]
    echo: Option<String>,
    /// Interval of --echo, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    echo_interval_ms: u64,
    /// Announce this address to the --echo node (PUSH_DIRECT_PATHS) once a direct path is
    /// confirmed; repeat for more. Default: none.
    #[arg(long, value_name = "IP:PORT")]
    push_path: Vec<String>,
    /// Record every UDP datagram (synthesised IPv4/UDP headers). Default: none.
    #[arg(long, value_name = "FILE")]
    pcap: Option<String>,
    /// Exit after this many seconds (default: run until killed).
    #[arg(long, value_name = "SECS")]
    duration: Option<u64>,
    #[command(flatten)]
    member: MemberArgs,
    #[command(flatten)]
    controller: ControllerArgs,
}

/// Member mode: RouterOS `/zerotier interface`.
#[derive(Args, Debug)]
struct MemberArgs {
    /// Join this network (16 hex digits; RouterOS interface `network`) and carry its Ethernet
    /// frames on a TAP device (needs CAP_NET_ADMIN). Default: none.
    #[arg(long, value_name = "NWID")]
    join: Option<String>,
    /// TAP device name for --join (RouterOS interface `name`).
    #[arg(long, default_value = "zerotier1", value_name = "NAME")]
    tap: String,
    /// Put the controller's managed addresses and routes on the TAP (RouterOS interface
    /// `allow-managed`; ZeroTierOne's allowManaged default yes).
    #[arg(long, default_value = "yes", value_parser = yes_no, value_name = "yes|no",
          action = clap::ArgAction::Set)]
    allow_managed: bool,
}

/// Controller mode: RouterOS `/zerotier controller`.
#[derive(Args, Debug)]
struct ControllerArgs {
    /// Host a network controller for network number N (0..=16777215; the network ID is our
    /// address << 24 | N, RouterOS controller `network`). Default: no controller.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=0xff_ffff))]
    controller_network: Option<u32>,
    /// Network name (RouterOS controller `name`, default empty).
    #[arg(long, default_value = "", value_name = "NAME")]
    name: String,
    /// IPv4 pool FIRST-LAST (RouterOS `ip-range`, default empty: no IPv4 assignment); repeat or
    /// separate with commas for more.
    #[arg(long, value_name = "A-B", value_delimiter = ',')]
    ip_range: Vec<String>,
    /// Managed routes, DST/BITS or DST/BITS@GATEWAY, comma separated (RouterOS `routes`,
    /// default empty).
    #[arg(long, value_name = "DST[@GW]", value_delimiter = ',')]
    routes: Vec<String>,
    /// MTU of the virtual Ethernet (RouterOS `mtu`, 1280..=10000).
    #[arg(long, default_value_t = 2800, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1280..=10000))]
    mtu: u64,
    /// Most members a multicast frame is sent to (RouterOS `multicast-limit`).
    #[arg(long, default_value_t = 32, value_name = "N")]
    multicast_limit: u64,
    /// Members need authorization (RouterOS `private`).
    #[arg(long, default_value = "yes", value_parser = yes_no, value_name = "yes|no",
          action = clap::ArgAction::Set)]
    private: bool,
    /// Ethernet broadcast allowed (RouterOS `broadcast`).
    #[arg(long, default_value = "yes", value_parser = yes_no, value_name = "yes|no",
          action = clap::ArgAction::Set)]
    broadcast: bool,
    /// Give members their rfc4193 IPv6 address (RouterOS `ip6-rfc4193`).
    #[arg(long, default_value = "no", value_parser = yes_no, value_name = "yes|no",
          action = clap::ArgAction::Set)]
    ip6_rfc4193: bool,
    /// Give members their 6plane IPv6 /80 (RouterOS `ip6-6plane`).
    #[arg(long, default_value = "no", value_parser = yes_no, value_name = "yes|no",
          action = clap::ArgAction::Set)]
    ip6_6plane: bool,
    /// Authorize this node (10 hex digits) on the hosted network (RouterOS `/zerotier
    /// controller member authorized=yes`); repeat for more. Default: none.
    #[arg(long, value_name = "ADDR")]
    member: Vec<String>,
}

fn yes_no(s: &str) -> Result<bool, String> {
    match s {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("{s:?}: expected yes or no")),
    }
}

fn main() {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    examples::logging::init();
    // The `run` options given on the command line (they win over --config).
    let given: Vec<String> = matches
        .subcommand_matches("run")
        .map(|m| {
            m.ids()
                .filter(|id| {
                    m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
                })
                .map(|id| id.as_str().to_string())
                .collect()
        })
        .unwrap_or_default();
    let r = match cli.cmd {
        Cmd::GenerateIdentity { out } => generate(&out),
        Cmd::Mkworld(a) => mkworld(a),
        Cmd::Run(a) => run(*a, &given),
    };
    if let Err(e) = r {
        error!("zerotier: {e}");
        std::process::exit(1);
    }
}

fn generate(out: &str) -> Result<(), String> {
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let id = Identity::generate(&mut rng);
    let text = id.to_secret_string().ok_or("no secret")?;
    std::fs::write(out, format!("{text}\n")).map_err(|e| format!("{out}: {e}"))?;
    println!("{}", id.address());
    Ok(())
}

fn mkworld(o: MkworldArgs) -> Result<(), String> {
    let id_text = std::fs::read_to_string(&o.root_identity)
        .map_err(|e| format!("{}: {e}", o.root_identity))?;
    let root = Identity::from_file_contents(&id_text).map_err(|e| e.to_string())?;
    let mut endpoints = Vec::new();
    for e in &o.endpoint {
        let (ip, port) = e.split_once('/').ok_or("--endpoint IP/PORT")?;
        let a: SocketAddr = format!("{ip}:{port}")
            .parse()
            .map_err(|e| format!("--endpoint {e}"))?;
        endpoints.push(InetAddr::Ip(a));
    }
    let key_path = &o.signing_key;
    let key = match std::fs::read(key_path) {
        Ok(b) => SigningKeyPair::from_bytes(&b).map_err(|e| e.to_string())?,
        Err(_) => {
            let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
            let k = SigningKeyPair::generate(&mut rng);
            std::fs::write(key_path, &*k.to_bytes()).map_err(|e| e.to_string())?;
            k
        }
    };
    let (id, ts) = (o.id, o.ts);
    let w = World::make(
        WorldType::Planet,
        id,
        ts,
        key.public,
        vec![Root {
            identity: root.public_only(),
            endpoints,
        }],
        &key,
    );
    let out = &o.out;
    std::fs::write(out, w.to_bytes()).map_err(|e| e.to_string())?;
    println!(
        "planet id {id} ts {ts} root {} ({} bytes)",
        root.address(),
        w.to_bytes().len()
    );
    Ok(())
}

fn run(mut o: RunArgs, given: &[String]) -> Result<(), String> {
    let over = |id: &str| given.iter().any(|g| g == id);
    // `.rsc` settings where the command line gave none.
    let mut from_file: Option<Hosted> = None;
    if let Some(path) = o.config.clone() {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let r = examples::rsc_config::zerotier(&text).map_err(|e| format!("{path}: {e}"))?;
        r.notes.log(&path);
        if let (Some(p), false) = (r.port, over("port")) {
            o.port = Some(p);
        }
        if let Some(i) = &r.interface {
            if !over("join") {
                o.member.join = Some(i.network.clone());
            }
            if !over("tap") {
                o.member.tap = i.name.clone();
            }
            if !over("allow_managed") {
                o.member.allow_managed = i.allow_managed;
            }
        }
        if let (Some((settings, network)), None) = (r.controller, o.controller.controller_network) {
            let number = match network {
                Some(n) => {
                    let id: NetworkId = n.parse().map_err(|e| format!("{path}: network: {e}"))?;
                    (id.0 & 0xff_ffff) as u32
                }
                None => 0,
            };
            let mut members = Vec::new();
            for m in &r.members {
                members.push(
                    m.parse()
                        .map_err(|e| format!("{path}: zt-address {m:?}: {e}"))?,
                );
            }
            from_file = Some((number, settings, members));
        }
    }
    let id_text =
        std::fs::read_to_string(&o.identity).map_err(|e| format!("{}: {e}", o.identity))?;
    let identity = Identity::from_file_contents(&id_text).map_err(|e| e.to_string())?;
    let planet_bytes = std::fs::read(&o.planet).map_err(|e| format!("{}: {e}", o.planet))?;
    let planet = World::parse(&planet_bytes).map_err(|e| e.to_string())?;
    let mut cfg = NodeConfig::new(identity, planet);
    if let Some(p) = o.port {
        cfg.port = p;
    }
    if let Some(p) = o.secondary_port {
        cfg.secondary_port = Some(p);
    }
    for p in &o.push_path {
        cfg.direct_paths
            .push(p.parse().map_err(|e| format!("--push-path {e}"))?);
    }
    let echo_to: Option<Address> = o
        .echo
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| format!("--echo {e}"))?;
    let echo_every = Duration::from_millis(o.echo_interval_ms);
    let duration = o.duration;
    let join: Option<NetworkId> = o
        .member
        .join
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| format!("--join {e}"))?;
    let hosted = match controller_settings(&o.controller)? {
        Some(h) => Some(h),
        None => from_file,
    };

    let primary =
        UdpSocket::bind(("0.0.0.0", cfg.port)).map_err(|e| format!("bind {}: {e}", cfg.port))?;
    primary.set_nonblocking(true).map_err(|e| e.to_string())?;
    let secondary = match cfg.secondary_port {
        Some(p) => {
            let s = UdpSocket::bind(("0.0.0.0", p)).map_err(|e| format!("bind {p}: {e}"))?;
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
            Some(s)
        }
        None => None,
    };
    let mut pcap = o.pcap.as_deref().map(UdpPcapWriter::new).transpose()?;
    let start = Instant::now();
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let mut node = Node::new(cfg.clone(), start, Box::new(rng)).map_err(|e| e.to_string())?;
    println!(
        "zerotier: address {} root {} port {} secondary {:?} planet {} ts {}",
        node.address(),
        node.is_root(),
        cfg.port,
        cfg.secondary_port,
        node.planet().id,
        node.planet().timestamp
    );
    if let Some((number, settings, members)) = hosted {
        let mut ctl = Controller::new(node.identity().clone());
        let nwid = ctl.set_network(number, settings);
        for m in members {
            ctl.authorize(nwid, m, true);
        }
        let wall_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        node.host_controller(start, wall_ms, ctl);
        println!("controller: network {nwid}");
    }
    let mut tap = match join {
        Some(nwid) => {
            let f = examples::sys::open_tun(&o.member.tap, true, true)?;
            node.join(start, nwid).map_err(|e| format!("--join: {e}"))?;
            println!("joining {nwid} tap {}", o.member.tap);
            Some(Tap {
                file: f,
                name: o.member.tap.clone(),
                nwid,
                allow_managed: o.member.allow_managed,
                up: false,
                addresses: Vec::new(),
                tx: 0,
                rx: 0,
                dropped: 0,
            })
        }
        None => None,
    };
    examples::sys::stop_on_signals();
    let end = duration.map(|d| start + Duration::from_secs(d));
    let mut next_echo = start + echo_every;
    let mut pushed = false;
    let mut buf = vec![0u8; 65536];
    let mut locals: HashMap<SocketAddr, SocketAddr> = HashMap::new();
    let mut drops = examples::logging::DropSummary::new("zerotier", Duration::from_secs(10));
    loop {
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) || examples::sys::stop_requested() {
            break;
        }
        drops.maybe_report();
        if node.poll_timeout().is_some_and(|t| t <= now) {
            node.handle_timeout(now);
        }
        if let Some(a) = echo_to {
            if now >= next_echo {
                next_echo = now + echo_every;
                let _ = node.send_echo(now, a, b"rosproto echo");
            }
        }
        // Drain outputs.
        while let Some(t) = node.poll_transmit(now) {
            let sock = match (t.local, &secondary) {
                (LocalSocket::Secondary, Some(s)) => s,
                _ => &primary,
            };
            if let Some(ttl) = t.ttl {
                let old = sock.ttl().unwrap_or(64);
                let _ = sock.set_ttl(u32::from(ttl));
                let _ = sock.send_to(&t.payload, t.dest);
                let _ = sock.set_ttl(old);
            } else {
                let _ = sock.send_to(&t.payload, t.dest);
            }
            if let Some(p) = pcap.as_mut() {
                let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
                let src = local_for(&mut locals, port, t.dest);
                p.add(now, src, t.dest, &t.payload);
            }
        }
        while let Some(e) = node.poll_event() {
            if let (Event::PathConfirmed { peer, .. }, Some(a)) = (&e, echo_to) {
                if *peer == a && !pushed && !cfg.direct_paths.is_empty() {
                    pushed = true;
                    let _ = node.push_direct_paths(now, a);
                    println!("push-direct-paths {a} {:?}", cfg.direct_paths);
                }
            }
            if let (Some(t), Event::NetworkConfigured { .. }) = (tap.as_mut(), &e) {
                if let Err(err) = t.configure(&e) {
                    error!("tap {}: {err}", t.name);
                }
            }
            if let (Some(t), Event::Frame { .. }) = (tap.as_mut(), &e) {
                t.write_frame(&e);
                continue;
            }
            print_event(&e, start, now);
        }
        let _ = std::io::stdout().flush();
        // Wait for input or the next deadline.
        let deadline = [
            node.poll_timeout(),
            end,
            echo_to.map(|_| next_echo),
            Some(now + Duration::from_millis(500)),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now);
        let ms = deadline.saturating_duration_since(now).as_millis().min(500) as i32;
        let mut fds = vec![libc::pollfd {
            fd: primary.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(s) = &secondary {
            fds.push(libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let Some(t) = &tap {
            fds.push(libc::pollfd {
                fd: t.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: `fds` is a valid array of pollfd structs of the given length for the call.
        let _ = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms.max(1)) };
        let now = Instant::now();
        for (local, sock) in [
            (LocalSocket::Primary, Some(&primary)),
            (LocalSocket::Secondary, secondary.as_ref()),
        ] {
            let Some(sock) = sock else { continue };
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                if let Some(p) = pcap.as_mut() {
                    let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
                    let dst = local_for(&mut locals, port, from);
                    p.add(now, from, dst, &buf[..n]);
                }
                let r = node.handle_datagram(now, local, from, &buf[..n]);
                if let zerotier::Input::Dropped(reason) = r {
                    debug!("drop {reason:?} from {from} ({n} bytes)");
                    drops.count_debug(&reason);
                }
            }
        }
        if let Some(t) = tap.as_mut() {
            t.read_frames(&mut node, now, &mut buf);
        }
    }
    drops.report();
    let now = Instant::now();
    for p in node.peers(now) {
        println!(
            "peer {} role {:?} proto {} version {}.{}.{} latency {:?} paths {:?}",
            p.address,
            p.role,
            p.protocol_version,
            p.version.0,
            p.version.1,
            p.version.2,
            p.latency,
            p.paths
        );
    }
    println!("stats {:?}", node.stats());
    if let Some(t) = &tap {
        println!(
            "tap {} tx {} rx {} dropped {}",
            t.name, t.tx, t.rx, t.dropped
        );
    }
    if let Some(c) = node.controller() {
        for (nwid, rec) in &c.networks {
            for (m, r) in &rec.members {
                println!(
                    "controller-member {nwid} {m} authorized {} ip {:?}",
                    r.authorized, r.ip_assignments
                );
            }
        }
    }
    Ok(())
}

fn print_event(e: &Event, start: Instant, now: Instant) {
    let t = now.saturating_duration_since(start).as_secs_f64();
    match e {
        Event::Online => println!("[{t:.3}] online"),
        Event::Offline => println!("[{t:.3}] offline"),
        Event::PeerAdded { peer, source } => println!("[{t:.3}] peer-added {peer} {source:?}"),
        Event::PeerRemoved { peer } => println!("[{t:.3}] peer-removed {peer}"),
        Event::PeerHello {
            peer,
            protocol_version,
            version,
        } => println!(
            "[{t:.3}] peer-hello {peer} proto {protocol_version} version {}.{}.{}",
            version.0, version.1, version.2
        ),
        Event::HelloAcknowledged {
            peer,
            latency,
            external,
        } => {
            println!("[{t:.3}] hello-ok {peer} latency {latency:?} external {external:?}")
        }
        Event::PathConfirmed {
            peer,
            local,
            remote,
        } => println!("[{t:.3}] path-confirmed {peer} {remote} {local:?}"),
        Event::PathExpired { peer, remote } => println!("[{t:.3}] path-expired {peer} {remote}"),
        Event::WhoisResolved { peer } => println!("[{t:.3}] whois-resolved {peer}"),
        Event::WhoisFailed { peer } => println!("[{t:.3}] whois-failed {peer}"),
        Event::Rendezvous { peer, at } => println!("[{t:.3}] rendezvous {peer} {at}"),
        Event::Introduced { a, b } => println!("[{t:.3}] introduced {a} {b}"),
        Event::EchoReply {
            peer, rtt, hops, ..
        } => println!("[{t:.3}] echo-reply {peer} hops {hops} rtt {rtt:?}"),
        Event::EchoAnswered { peer, local, from } => {
            println!("[{t:.3}] echo-answered {peer} from {from} {local:?}")
        }
        Event::Received {
            peer,
            verb,
            hops,
            payload,
            ..
        } => {
            println!(
                "[{t:.3}] received {peer} {} hops {hops} {} bytes",
                verb.name(),
                payload.len()
            )
        }
        Event::PlanetUpdated { timestamp } => println!("[{t:.3}] planet-updated {timestamp}"),
        Event::NetworkStatus { network, status } => {
            println!("[{t:.3}] network-status {network} {status:?}")
        }
        Event::NetworkConfigured {
            network,
            mac,
            mtu,
            addresses,
            routes,
            revision,
        } => {
            let a: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            let r: Vec<String> = routes.iter().map(route_text).collect();
            println!(
                "[{t:.3}] network-configured {network} mac {} mtu {mtu} addresses {} routes {} revision {revision}",
                mac_text(mac),
                a.join(","),
                r.join(",")
            )
        }
        Event::Frame {
            network,
            peer,
            ethertype,
            payload,
            ..
        } => println!(
            "[{t:.3}] frame {network} from {peer} ethertype {ethertype:04x} {} bytes",
            payload.len()
        ),
        Event::ConfigIssued { network, member } => {
            println!("[{t:.3}] config-issued {network} {member}")
        }
        Event::ConfigRefused {
            network,
            member,
            code,
        } => println!("[{t:.3}] config-refused {network} {member} {code:?}"),
        other => println!("[{t:.3}] {other:?}"),
    }
}

/// Our address on the path to `peer` (the sockets are bound to 0.0.0.0): ask the kernel's
/// route lookup with a connected throw-away socket, once per peer address.
fn local_for(
    cache: &mut HashMap<SocketAddr, SocketAddr>,
    port: u16,
    peer: SocketAddr,
) -> SocketAddr {
    let ip = cache
        .entry(peer)
        .or_insert_with(|| {
            UdpSocket::bind("0.0.0.0:0")
                .and_then(|s| {
                    s.connect(peer)?;
                    s.local_addr()
                })
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
        })
        .ip();
    SocketAddr::new(ip, port)
}

type Hosted = (u32, NetworkSettings, Vec<Address>);

/// The hosted network from the controller options, `None` without `--controller-network`.
fn controller_settings(c: &ControllerArgs) -> Result<Option<Hosted>, String> {
    let Some(number) = c.controller_network else {
        return Ok(None);
    };
    let mut s = NetworkSettings {
        name: c.name.clone(),
        private: c.private,
        broadcast: c.broadcast,
        mtu: c.mtu,
        multicast_limit: c.multicast_limit,
        ip6_rfc4193: c.ip6_rfc4193,
        ip6_6plane: c.ip6_6plane,
        ..NetworkSettings::default()
    };
    for r in &c.ip_range {
        s.ip_ranges
            .push(parse_range(r).map_err(|e| format!("--ip-range {e}"))?);
    }
    for r in &c.routes {
        s.routes
            .push(parse_route(r).map_err(|e| format!("--routes {e}"))?);
    }
    let mut members = Vec::new();
    for m in &c.member {
        members.push(m.parse().map_err(|e| format!("--member {m:?}: {e}"))?);
    }
    Ok(Some((number, s, members)))
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The member's TAP device: Ethernet frames between it and the joined network.
struct Tap {
    file: std::fs::File,
    name: String,
    nwid: NetworkId,
    allow_managed: bool,
    up: bool,
    addresses: Vec<String>,
    tx: u64,
    rx: u64,
    dropped: u64,
}

impl Tap {
    /// Apply a `NetworkConfigured` event: MAC and MTU, managed addresses and routes, link up.
    fn configure(&mut self, e: &Event) -> Result<(), String> {
        let Event::NetworkConfigured {
            network,
            mac,
            mtu,
            addresses,
            routes,
            ..
        } = e
        else {
            return Ok(());
        };
        if *network != self.nwid {
            return Ok(());
        }
        let ip = examples::sys::ip;
        let dev = self.name.as_str();
        if !self.up {
            ip(&["link", "set", "dev", dev, "address", &mac_text(mac)])?;
        }
        ip(&["link", "set", "dev", dev, "mtu", &mtu.to_string()])?;
        if self.allow_managed {
            let want: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            for old in self.addresses.iter().filter(|a| !want.contains(a)) {
                let _ = ip(&["addr", "del", old, "dev", dev]);
            }
            for a in want.iter().filter(|a| !self.addresses.contains(a)) {
                ip(&["addr", "add", a, "dev", dev])?;
            }
            self.addresses = want;
        }
        if !self.up {
            ip(&["link", "set", "dev", dev, "up"])?;
            self.up = true;
        }
        if self.allow_managed {
            for r in routes {
                let t = r.target.to_string();
                let res = match r.via {
                    InetAddr::Ip(g) => {
                        let g = g.ip().to_string();
                        ip(&["route", "replace", &t, "via", &g, "dev", dev])
                    }
                    _ => ip(&["route", "replace", &t, "dev", dev]),
                };
                if let Err(e) = res {
                    debug!("route {t}: {e}");
                }
            }
        }
        println!("tap {dev} up mac {}", mac_text(mac));
        Ok(())
    }

    /// Write a `Frame` event to the TAP as an Ethernet frame.
    fn write_frame(&mut self, e: &Event) {
        let Event::Frame {
            network,
            src_mac,
            dst_mac,
            ethertype,
            payload,
            ..
        } = e
        else {
            return;
        };
        if *network != self.nwid {
            return;
        }
        let mut f = Vec::with_capacity(14 + payload.len());
        f.extend_from_slice(dst_mac);
        f.extend_from_slice(src_mac);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        if self.file.write(&f).is_ok() {
            self.rx += 1;
        } else {
            self.dropped += 1;
        }
    }

    /// Read every pending frame from the TAP and send it on the network.
    fn read_frames(&mut self, node: &mut Node, now: Instant, buf: &mut [u8]) {
        while let Ok(n) = self.file.read(buf) {
            if n < 14 {
                self.dropped += 1;
                continue;
            }
            let f = &buf[..n];
            let mut dst = [0u8; 6];
            let mut src = [0u8; 6];
            dst.copy_from_slice(&f[..6]);
            src.copy_from_slice(&f[6..12]);
            let ethertype = u16::from_be_bytes([f[12], f[13]]);
            let why = match node.send_frame(now, self.nwid, ethertype, src, dst, &f[14..]) {
                Ok(k) if k > 0 => {
                    self.tx += 1;
                    continue;
                }
                Ok(_) => "no member of the group known yet".to_string(),
                Err(e) => e.to_string(),
            };
            self.dropped += 1;
            // The first few at info (a TAP that cannot send is what a user looks at first).
            if self.dropped <= 5 {
                info!(
                    "tap frame to {} (ethertype {ethertype:04x}) not sent: {why}",
                    mac_text(&dst)
                );
            } else {
                debug!(
                    "tap frame to {} (ethertype {ethertype:04x}) not sent: {why}",
                    mac_text(&dst)
                );
            }
        }
    }
}
