//! `zerotier`: a ZeroTier 1.x VL1 node on UDP sockets, built on the sans-IO `zerotier` crate.
//!
//! ```text
//! zerotier --help
//! zerotier generate-identity OUT.secret             write a new identity (address:0:public:secret)
//! zerotier mkworld --root-identity ID --endpoint IP/PORT [--endpoint ..] --id N --ts MS
//!                  --signing-key KEY.c25519 --out PLANET   (KEY is created when missing)
//! zerotier run --identity ID.secret --planet PLANET [--port 9993] [--secondary-port N]
//!              [--echo ADDR] [--echo-interval-ms 1000] [--push-path IP:PORT]..
//!              [--pcap FILE] [--duration SECS]
//! ```
//!
//! `run` binds UDP `0.0.0.0:port` (and the secondary port), drives the node with the system
//! clock and prints one line per event on stdout (`online`, `peer-added`, `path-confirmed`,
//! `echo-reply`, `echo-answered`, ...): the interop tests read them. `--echo ADDR` sends an
//! ECHO to that node every interval; `--push-path` announces our address(es) to it
//! (PUSH_DIRECT_PATHS) once a direct path is confirmed.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use examples::udp_pcap::UdpPcapWriter;
use tracing::{debug, error};
use zerotier::wire::InetAddr;
use zerotier::{
    Address, Event, Identity, LocalSocket, Node, NodeConfig, Root, SigningKeyPair, World, WorldType,
};

/// A ZeroTier 1.x VL1 node on UDP sockets, built on the sans-IO `zerotier` crate, and the tools
/// to set one up (a new identity, a planet file).
///
/// `run` binds UDP 0.0.0.0:PORT (and the secondary port), drives the node with the system clock
/// and prints one line per event on stdout (`online`, `peer-added`, `path-confirmed`,
/// `echo-reply`, `echo-answered`, ...). Dropped datagrams are logged at debug level, with a
/// summary at info every 10 s.
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
    Run(RunArgs),
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
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    let r = match cli.cmd {
        Cmd::GenerateIdentity { out } => generate(&out),
        Cmd::Mkworld(a) => mkworld(a),
        Cmd::Run(a) => run(a),
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

fn run(o: RunArgs) -> Result<(), String> {
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
    let end = duration.map(|d| start + Duration::from_secs(d));
    let mut next_echo = start + echo_every;
    let mut pushed = false;
    let mut buf = vec![0u8; 65536];
    let mut locals: HashMap<SocketAddr, SocketAddr> = HashMap::new();
    let mut drops = examples::logging::DropSummary::new("zerotier", Duration::from_secs(10));
    loop {
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
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
            print_event(&e, start, now);
        }
        use std::io::Write as _;
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
