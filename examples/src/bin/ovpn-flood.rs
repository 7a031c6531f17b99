//! What a stranger throws at an OpenVPN server, bounded in time and rate, from many source
//! addresses: the generator of the ovpn flood tests (`examples/tests/flood_ovpn.rs`).
//!
//! ```text
//! ovpn-flood --help
//! ovpn-flood --target IP:PORT --proto udp|tcp --sources A.B.C.D --count N
//!            [--rate PPS] [--duration S] [--stalled K] [--seed X]
//! ```
//! The sources are `N` consecutive IPv4 addresses from `A.B.C.D`. They must be local (give
//! the block a `local` route, `ip route add local 10.98.128.0/17 dev lo`, inside a
//! namespace) and the server must route them back; nothing is sent anywhere else.
//!
//! UDP, `PPS` datagrams per second from random sources, a mix of (per cent):
//! * 25: hard resets with fresh session ids (a server without control-channel protection
//!   answers them statelessly, rate-limited);
//! * 10: tls-crypt-v2 resets with a garbage wrapped client key;
//! * 15: forged cookie echoes (`P_CONTROL_V1` / `P_ACK_V1` with made-up server session ids);
//! * 15: mutated resets (bits flipped, truncated, extended);
//! * 15: `P_DATA_V1` / `P_DATA_V2` with garbage, peer ids 0..16 (the real clients' among
//!   them);
//! * 20: random bytes, 1 to 1500 of them;
//!
//! and, from each of the first `K` sources, a stalled handshake every 2 s from a fresh
//! port: a real client that echoes the cookie and sends its TLS ClientHello, then goes
//! silent (the server holds a session in its handshake for it).
//!
//! TCP: up to 6 connections per source (more than a server should let one source hold),
//! each one silent; or sending garbage (a huge length prefix, random bytes); or a hard
//! reset and then silence; or (the first `K` sources) a stalled handshake; or opened,
//! written to and closed at once. Connections the server closes are reopened, at most `PPS`
//! connects per second.
//!
//! At the end it prints one `FLOOD ...` line of counters.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use examples::ovpn_util::unix_now;
use netsim::TestRng;
use ovpn::session::{Role, Session, SessionConfig};
use ovpn::tls::{RustlsEngine, TlsEngine, TlsMaterial};
use ovpn::wire::tcp::{frame, Deframer};
use ovpn::wire::{AckList, ControlPacket, Opcode};
use rand_core::RngCore;
use tracing::error;

/// Counters printed at the end.
#[derive(Default)]
struct Counts {
    sent: u64,
    bytes: u64,
    replies: u64,
    stalled: u64,
    connects: u64,
    connect_failed: u64,
    closed_by_server: u64,
}

fn rand_below(rng: &mut TestRng, n: u32) -> u32 {
    rng.next_u32() % n.max(1)
}

/// A plain (unprotected) control packet.
fn control(op: Opcode, sid: [u8; 8], remote: Option<[u8; 8]>, msg: Option<u32>) -> Vec<u8> {
    let mut acks = AckList::new();
    if remote.is_some() {
        acks.push(0);
    }
    let p = ControlPacket {
        opcode: op,
        key_id: 0,
        session_id: sid,
        acks,
        remote_session_id: remote,
        message_id: msg,
        payload: &[],
    };
    let mut out = vec![0u8; p.buffer_len()];
    let _ = p.emit(&mut out);
    out
}

fn sid(rng: &mut TestRng) -> [u8; 8] {
    let mut s = [0u8; 8];
    rng.fill_bytes(&mut s);
    s
}

fn reset(rng: &mut TestRng) -> Vec<u8> {
    control(Opcode::ControlHardResetClientV2, sid(rng), None, Some(0))
}

/// One datagram of the UDP mix.
fn junk_datagram(rng: &mut TestRng) -> Vec<u8> {
    let roll = rand_below(rng, 100);
    let mut p = match roll {
        0..=24 => reset(rng),
        25..=34 => {
            let mut p = control(Opcode::ControlHardResetClientV3, sid(rng), None, Some(0));
            let mut wkc = vec![0u8; 64 + rand_below(rng, 300) as usize];
            rng.fill_bytes(&mut wkc);
            p.extend_from_slice(&wkc);
            p
        }
        35..=49 => {
            let op = if roll.is_multiple_of(2) {
                Opcode::ControlV1
            } else {
                Opcode::AckV1
            };
            let msg = (op == Opcode::ControlV1).then_some(1);
            control(op, sid(rng), Some(sid(rng)), msg)
        }
        50..=64 => {
            let mut p = reset(rng);
            match rand_below(rng, 3) {
                0 => {
                    let i = rand_below(rng, p.len() as u32) as usize;
                    p[i] ^= 1 << rand_below(rng, 8);
                }
                1 => p.truncate(rand_below(rng, p.len() as u32) as usize),
                _ => {
                    let mut more = vec![0u8; rand_below(rng, 200) as usize];
                    rng.fill_bytes(&mut more);
                    p.extend_from_slice(&more);
                }
            }
            p
        }
        65..=79 => {
            let mut p = vec![0u8; 4 + 16 + rand_below(rng, 200) as usize];
            rng.fill_bytes(&mut p);
            if roll.is_multiple_of(2) {
                p[0] = Opcode::DataV1.value() << 3;
            } else {
                let peer = rand_below(rng, 16).to_be_bytes();
                p[0] = Opcode::DataV2.value() << 3;
                p[1..4].copy_from_slice(&peer[1..]);
            }
            p
        }
        _ => {
            let mut p = vec![0u8; 1 + rand_below(rng, 1500) as usize];
            rng.fill_bytes(&mut p);
            p
        }
    };
    p.shrink_to_fit();
    p
}

/// A client that goes as far as its TLS ClientHello and then stalls.
struct Stalled {
    s: Session,
    /// The server answered and we sent the ClientHello: ignore everything from now on.
    done: bool,
}

impl Stalled {
    fn new(tcp: bool, now: Instant, seed: u64) -> Result<Self, String> {
        let mut cfg = SessionConfig::new(Role::Client);
        cfg.unix_time = unix_now();
        if tcp {
            cfg.transport = ovpn::Protocol::Tcp;
        }
        let m = TlsMaterial::default();
        let tls: ovpn::session::TlsFactory =
            Box::new(move || Ok(Box::new(RustlsEngine::client(&m, None)?) as Box<dyn TlsEngine>));
        let mut s =
            Session::new(cfg, now, TestRng::boxed(seed), tls, None).map_err(|e| e.to_string())?;
        s.connect(now).map_err(|e| e.to_string())?;
        Ok(Stalled { s, done: false })
    }

    /// Feed a packet from the server; returns what to send back (once).
    fn input(&mut self, now: Instant, p: &[u8]) -> Vec<Vec<u8>> {
        if self.done {
            return Vec::new();
        }
        let mut out = vec![0u8; 4096];
        let _ = self.s.handle_input(now, p, &mut out);
        self.done = true;
        std::iter::from_fn(|| self.s.poll_transmit(now)).collect()
    }
}

fn udp(o: &Opts, c: &mut Counts, rng: &mut TestRng) -> Result<(), String> {
    let blast: Vec<UdpSocket> = o
        .sources
        .iter()
        .map(|a| {
            let s = UdpSocket::bind((*a, 0)).map_err(|e| format!("bind {a}: {e}"))?;
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok(s)
        })
        .collect::<Result<_, String>>()?;
    // Stalled handshakes: per source, the last 4 (socket, client).
    let mut stalled: Vec<Vec<(UdpSocket, Stalled)>> = (0..o.stalled).map(|_| Vec::new()).collect();
    let mut next_stall = Instant::now();
    let start = Instant::now();
    let end = start + o.duration;
    let mut buf = vec![0u8; 65536];
    while Instant::now() < end && !examples::sys::stop_requested() {
        let now = Instant::now();
        // Pace: as many as are due by now.
        let due = (now - start).as_secs_f64() * f64::from(o.rate);
        while (c.sent as f64) < due {
            let i = rand_below(rng, blast.len() as u32) as usize;
            let p = junk_datagram(rng);
            if blast[i].send_to(&p, o.target).is_ok() {
                c.bytes += p.len() as u64;
            }
            c.sent += 1;
        }
        if now >= next_stall {
            next_stall = now + Duration::from_secs(2);
            for (i, list) in stalled.iter_mut().enumerate() {
                let sock = UdpSocket::bind((o.sources[i], 0)).map_err(|e| e.to_string())?;
                sock.set_nonblocking(true).map_err(|e| e.to_string())?;
                let mut st = Stalled::new(false, now, rng.next_u64())?;
                while let Some(p) = st.s.poll_transmit(now) {
                    let _ = sock.send_to(&p, o.target);
                }
                c.stalled += 1;
                list.push((sock, st));
                if list.len() > 4 {
                    list.remove(0);
                }
            }
        }
        for s in &blast {
            while let Ok(n) = s.recv(&mut buf) {
                c.replies += 1;
                let _ = n;
            }
        }
        for list in &mut stalled {
            for (sock, st) in list.iter_mut() {
                while let Ok(n) = sock.recv(&mut buf) {
                    c.replies += 1;
                    for p in st.input(now, &buf[..n]) {
                        let _ = sock.send_to(&p, o.target);
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// A packet with its TCP length prefix.
fn framed(p: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; p.len() + 2];
    let n = frame(p, &mut f).unwrap_or(0);
    f.truncate(n);
    f
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Silent,
    Garbage,
    ResetThenSilent,
    Stalled,
    Churn,
}

struct Conn {
    st: TcpStream,
    kind: Kind,
    wrote: bool,
    stalled: Option<Stalled>,
    de: Deframer,
}

fn tcp(o: &Opts, c: &mut Counts, rng: &mut TestRng) -> Result<(), String> {
    let SocketAddr::V4(target) = o.target else {
        return Err("--target: IPv4 only".into());
    };
    let per_source = 6;
    let mut conns: HashMap<usize, Vec<Conn>> = HashMap::new();
    let start = Instant::now();
    let end = start + o.duration;
    let mut buf = vec![0u8; 65536];
    let mut opened = 0u64;
    while Instant::now() < end && !examples::sys::stop_requested() {
        let now = Instant::now();
        let allowed = ((now - start).as_secs_f64() * f64::from(o.rate)) as u64 + 1;
        // Open connections up to the per-source count, within the connect rate.
        for i in 0..o.sources.len() {
            let list = conns.entry(i).or_default();
            while list.len() < per_source && opened < allowed {
                opened += 1;
                let kind = match (i < o.stalled, rand_below(rng, 5)) {
                    (true, 0 | 1) => Kind::Stalled,
                    (_, 0) => Kind::Silent,
                    (_, 1) => Kind::Garbage,
                    (_, 2) => Kind::ResetThenSilent,
                    (_, 3) => Kind::Churn,
                    _ => Kind::Silent,
                };
                match examples::sys::tcp_connect_from(o.sources[i], target) {
                    Ok(st) => {
                        c.connects += 1;
                        let stalled = match kind {
                            Kind::Stalled => Some(Stalled::new(true, now, rng.next_u64())?),
                            _ => None,
                        };
                        list.push(Conn {
                            st,
                            kind,
                            wrote: false,
                            stalled,
                            de: Deframer::new(4096),
                        });
                    }
                    Err(_) => c.connect_failed += 1,
                }
            }
        }
        for list in conns.values_mut() {
            list.retain_mut(|k| {
                if matches!(k.st.take_error(), Ok(Some(_)) | Err(_)) {
                    c.closed_by_server += 1;
                    return false;
                }
                if k.st.peer_addr().is_err() {
                    return true; // still connecting
                }
                if !k.wrote {
                    k.wrote = true;
                    let bytes: Vec<u8> = match k.kind {
                        Kind::Silent => Vec::new(),
                        Kind::Garbage | Kind::Churn => {
                            let mut g = vec![0u8; 2 + rand_below(rng, 300) as usize];
                            rng.fill_bytes(&mut g);
                            if rand_below(rng, 2) == 0 {
                                g[0] = 0xff;
                                g[1] = 0xff;
                            }
                            g
                        }
                        Kind::ResetThenSilent => framed(&reset(rng)),
                        Kind::Stalled => {
                            let mut f = Vec::new();
                            if let Some(s) = k.stalled.as_mut() {
                                while let Some(p) = s.s.poll_transmit(now) {
                                    f.extend_from_slice(&framed(&p));
                                }
                            }
                            f
                        }
                    };
                    if !bytes.is_empty() && k.st.write_all(&bytes).is_ok() {
                        c.sent += 1;
                        c.bytes += bytes.len() as u64;
                    }
                    if k.kind == Kind::Churn {
                        return false;
                    }
                }
                match k.st.read(&mut buf) {
                    Ok(0) => {
                        c.closed_by_server += 1;
                        false
                    }
                    Ok(n) => {
                        c.replies += 1;
                        if let Some(s) = k.stalled.as_mut() {
                            k.de.push(&buf[..n]);
                            while let Ok(Some(p)) = k.de.next_packet() {
                                for out in s.input(now, &p) {
                                    let _ = k.st.write_all(&framed(&out));
                                }
                            }
                        }
                        true
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
                    Err(_) => {
                        c.closed_by_server += 1;
                        false
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    c.stalled = conns
        .values()
        .flatten()
        .filter(|k| k.kind == Kind::Stalled)
        .count() as u64;
    Ok(())
}

struct Opts {
    target: SocketAddr,
    sources: Vec<Ipv4Addr>,
    rate: u32,
    duration: Duration,
    stalled: usize,
}

/// What a stranger throws at an OpenVPN server, bounded in time and rate, from many source
/// addresses: the generator of the ovpn flood tests (`examples/tests/flood_ovpn.rs`).
///
/// The sources are --count consecutive IPv4 addresses from --sources; they must be local
/// (`ip route add local 10.98.128.0/17 dev lo` inside a namespace) and the server must route
/// them back; nothing is sent anywhere else. UDP: a mix of hard resets, tls-crypt-v2 resets
/// with garbage keys, forged cookie echoes, mutated resets, garbage data packets and random
/// bytes, plus stalled handshakes from the first --stalled sources. TCP: silent, garbage,
/// reset-then-silent, stalled and open-write-close connections. At the end it prints one
/// `FLOOD ...` line of counters on stdout.
#[derive(Parser, Debug)]
#[command(name = "ovpn-flood", version)]
struct Cli {
    /// The server, IP:PORT. Required.
    #[arg(long, value_name = "IP:PORT")]
    target: SocketAddr,
    /// Transport to flood.
    #[arg(long, value_enum, default_value_t = FloodProto::Udp)]
    proto: FloodProto,
    /// First source address (A.B.C.D); --count consecutive addresses are used. Required.
    #[arg(long, value_name = "A.B.C.D")]
    sources: Ipv4Addr,
    /// Number of source addresses.
    #[arg(long, default_value_t = 64, value_name = "N")]
    count: u32,
    /// UDP datagrams per second (TCP: connects per second at most).
    #[arg(long, default_value_t = 2000, value_name = "PPS")]
    rate: u32,
    /// Seconds to flood.
    #[arg(
        long = "duration",
        visible_alias = "seconds",
        default_value_t = 5,
        value_name = "SECS"
    )]
    seconds: u64,
    /// Sources (the first K) that also run stalled handshakes.
    #[arg(long, default_value_t = 0, value_name = "K")]
    stalled: usize,
    /// Seed of the flood's random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Flood transports.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum FloodProto {
    /// UDP datagrams.
    Udp,
    /// TCP connections.
    Tcp,
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    examples::sys::stop_on_signals();
    let r = (|| -> Result<(), String> {
        let count = cli.count;
        let first = cli.sources;
        let o = Opts {
            target: cli.target,
            sources: (0..count)
                .map(|i| Ipv4Addr::from(u32::from(first).wrapping_add(i)))
                .collect(),
            rate: cli.rate,
            duration: Duration::from_secs(cli.seconds),
            stalled: cli.stalled.min(count as usize),
        };
        let mut rng = TestRng::new(cli.seed);
        let mut c = Counts::default();
        let proto = match cli.proto {
            FloodProto::Udp => {
                udp(&o, &mut c, &mut rng)?;
                "udp"
            }
            FloodProto::Tcp => {
                tcp(&o, &mut c, &mut rng)?;
                "tcp"
            }
        };
        println!(
            "FLOOD proto={proto} sources={} sent={} bytes={} replies={} stalled={} connects={} connect_failed={} closed_by_server={}",
            o.sources.len(),
            c.sent,
            c.bytes,
            c.replies,
            c.stalled,
            c.connects,
            c.connect_failed,
            c.closed_by_server
        );
        Ok(())
    })();
    if let Err(e) = r {
        error!("ovpn-flood: {e}");
        std::process::exit(2);
    }
}
