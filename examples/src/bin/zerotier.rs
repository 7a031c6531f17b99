//! `zerotier`: a ZeroTier 1.x VL1 node on UDP sockets, built on the sans-IO `zerotier` crate.
//!
//! ```text
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

use examples::udp_pcap::UdpPcapWriter;
use zerotier::wire::InetAddr;
use zerotier::{
    Address, Event, Identity, LocalSocket, Node, NodeConfig, Root, SigningKeyPair, World, WorldType,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("generate-identity") => generate(&args[1..]),
        Some("mkworld") => mkworld(&args[1..]),
        Some("run") => run(&args[1..]),
        _ => Err(
            "usage: zerotier generate-identity OUT | mkworld ... | run ... (see the source header)"
                .into(),
        ),
    };
    if let Err(e) = r {
        eprintln!("zerotier: {e}");
        std::process::exit(1);
    }
}

/// `--key value` pairs; repeated keys collect.
fn opts(args: &[String]) -> Result<HashMap<String, Vec<String>>, String> {
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    let mut i = 0;
    while i < args.len() {
        let k = args[i]
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {}", args[i]))?;
        let v = args
            .get(i + 1)
            .ok_or_else(|| format!("--{k} needs a value"))?;
        m.entry(k.to_string()).or_default().push(v.clone());
        i += 2;
    }
    Ok(m)
}

fn one<'a>(o: &'a HashMap<String, Vec<String>>, k: &str) -> Option<&'a str> {
    o.get(k).and_then(|v| v.last()).map(String::as_str)
}

fn need<'a>(o: &'a HashMap<String, Vec<String>>, k: &str) -> Result<&'a str, String> {
    one(o, k).ok_or_else(|| format!("--{k} is required"))
}

fn generate(args: &[String]) -> Result<(), String> {
    let out = args.first().ok_or("generate-identity OUT")?;
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let id = Identity::generate(&mut rng);
    let text = id.to_secret_string().ok_or("no secret")?;
    std::fs::write(out, format!("{text}\n")).map_err(|e| format!("{out}: {e}"))?;
    println!("{}", id.address());
    Ok(())
}

fn mkworld(args: &[String]) -> Result<(), String> {
    let o = opts(args)?;
    let id_text = std::fs::read_to_string(need(&o, "root-identity")?).map_err(|e| e.to_string())?;
    let root = Identity::from_file_contents(&id_text).map_err(|e| e.to_string())?;
    let mut endpoints = Vec::new();
    for e in o.get("endpoint").into_iter().flatten() {
        let (ip, port) = e.split_once('/').ok_or("--endpoint IP/PORT")?;
        let a: SocketAddr = format!("{ip}:{port}")
            .parse()
            .map_err(|e| format!("--endpoint {e}"))?;
        endpoints.push(InetAddr::Ip(a));
    }
    let key_path = need(&o, "signing-key")?;
    let key = match std::fs::read(key_path) {
        Ok(b) => SigningKeyPair::from_bytes(&b).map_err(|e| e.to_string())?,
        Err(_) => {
            let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
            let k = SigningKeyPair::generate(&mut rng);
            std::fs::write(key_path, &*k.to_bytes()).map_err(|e| e.to_string())?;
            k
        }
    };
    let id: u64 = need(&o, "id")?.parse().map_err(|e| format!("--id {e}"))?;
    let ts: u64 = need(&o, "ts")?.parse().map_err(|e| format!("--ts {e}"))?;
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
    let out = need(&o, "out")?;
    std::fs::write(out, w.to_bytes()).map_err(|e| e.to_string())?;
    println!(
        "planet id {id} ts {ts} root {} ({} bytes)",
        root.address(),
        w.to_bytes().len()
    );
    Ok(())
}

fn run(args: &[String]) -> Result<(), String> {
    let o = opts(args)?;
    let id_text = std::fs::read_to_string(need(&o, "identity")?).map_err(|e| e.to_string())?;
    let identity = Identity::from_file_contents(&id_text).map_err(|e| e.to_string())?;
    let planet_bytes = std::fs::read(need(&o, "planet")?).map_err(|e| e.to_string())?;
    let planet = World::parse(&planet_bytes).map_err(|e| e.to_string())?;
    let mut cfg = NodeConfig::new(identity, planet);
    if let Some(p) = one(&o, "port") {
        cfg.port = p.parse().map_err(|e| format!("--port {e}"))?;
    }
    if let Some(p) = one(&o, "secondary-port") {
        cfg.secondary_port = Some(p.parse().map_err(|e| format!("--secondary-port {e}"))?);
    }
    for p in o.get("push-path").into_iter().flatten() {
        cfg.direct_paths
            .push(p.parse().map_err(|e| format!("--push-path {e}"))?);
    }
    let echo_to: Option<Address> = one(&o, "echo")
        .map(str::parse)
        .transpose()
        .map_err(|e| format!("--echo {e}"))?;
    let echo_every = Duration::from_millis(
        one(&o, "echo-interval-ms")
            .map_or(Ok(1000), str::parse)
            .map_err(|e| format!("--echo-interval-ms {e}"))?,
    );
    let duration = one(&o, "duration")
        .map(str::parse::<u64>)
        .transpose()
        .map_err(|e| e.to_string())?;

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
    let mut pcap = one(&o, "pcap").map(UdpPcapWriter::new).transpose()?;
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
    loop {
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
            break;
        }
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
                    println!("drop {reason:?} from {from} ({n} bytes)");
                }
            }
        }
    }
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
