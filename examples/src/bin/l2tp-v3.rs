//! `l2tp-v3`: managed L2TPv3 (RFC 3931) on real sockets, over IP protocol 115 or UDP.
//!
//! ```text
//! l2tp-v3 --help
//! l2tp-v3 lcce <local-ip> <remote-ip> [--encap ip|udp] [--secret S] [--sessions N]
//!              [--outgoing M] [--circuit-down] [--frames K] [--hold SECS]
//!     Initiator (`l2tp::v3::ControlConnectionV3`): control connection, N Ethernet pseudowire
//!     sessions (one automatic, N-1 with open_session, the last M of them as outgoing calls
//!     with open_outgoing_session), then K test frames on each session; counts the frames
//!     echoed back per session. With --circuit-down the first session's circuit is reported
//!     down (Set-Link-Info) once everything echoed, before the StopCCN. Prints `SESSION UP`,
//!     `ECHO session=.. n=..` and finally `SUMMARY sessions_up=.. echoed=..`.
//! l2tp-v3 lns <local-ip> [--encap ip|udp] [--secret S] [--hold SECS]
//!     `l2tp::server::Lns` serving L2TPv3 (Lns::handle_input_ip for IP, handle_input for UDP);
//!     echoes every pseudowire frame back on the session it came from.
//! ```
//! UDP uses port 1701 on both ends. The secret (default `rp-secret`) keys the Message Digest.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use examples::l2tp_transport::Transport;
use l2tp::config::{AcceptProtoVersion, ServerConfig};
use l2tp::server::{Lns, LnsInput, Peer};
use l2tp::v3::{ControlConnectionV3, V3Config, V3Event, V3Input};
use l2tp::wire::v3::Encap;
use tracing::error;

/// A test Ethernet frame: broadcast, local source, EtherType 0x88b5 (local experimental),
/// payload = session tag and index.
fn test_frame(tag: u8, i: u8) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, tag, i]);
    f.extend_from_slice(&[0x88, 0xb5, tag, i]);
    f.resize(60, 0x5a);
    f
}

/// Managed L2TPv3 (RFC 3931) on real sockets, over IP protocol 115 or UDP port 1701: an LCCE
/// initiator with Ethernet pseudowire sessions, or an LNS that echoes every pseudowire frame.
///
/// The secret keys the Message Digest AVP. Events are printed on stdout (`SESSION UP`, `ECHO
/// session=.. n=..`, `SUMMARY sessions_up=.. echoed=..`, `LISTENING`, `V3 ...`, `STATS`).
#[derive(Parser, Debug)]
#[command(name = "l2tp-v3", version)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Initiator (`l2tp::v3::ControlConnectionV3`): control connection, N Ethernet pseudowire
    /// sessions (one automatic, N-1 with open_session, the last M of them as outgoing calls),
    /// then K test frames on each session; counts the frames echoed back per session.
    ///
    /// With --circuit-down the first session's circuit is reported down (Set-Link-Info) once
    /// everything echoed, before the StopCCN.
    Lcce {
        /// Local address.
        local_ip: Ipv4Addr,
        /// Peer (LNS) address.
        remote_ip: Ipv4Addr,
        #[command(flatten)]
        common: Common,
        /// Pseudowire sessions to open.
        #[arg(long, default_value_t = 1, value_name = "N")]
        sessions: usize,
        /// How many of the sessions (the last ones) are outgoing calls (OCRQ).
        #[arg(long, default_value_t = 0, value_name = "M")]
        outgoing: usize,
        /// Report the first session's circuit down (Set-Link-Info) before closing (default
        /// off).
        #[arg(long)]
        circuit_down: bool,
        /// Test frames sent on each session.
        #[arg(long, default_value_t = 5, value_name = "K")]
        frames: u8,
        /// Seconds before giving up and closing.
        #[arg(
            long = "duration",
            visible_alias = "hold",
            default_value_t = 20,
            value_name = "SECS"
        )]
        hold: u64,
    },
    /// `l2tp::server::Lns` serving L2TPv3; echoes every pseudowire frame back on its session.
    Lns {
        /// Local address to listen on.
        local_ip: Ipv4Addr,
        #[command(flatten)]
        common: Common,
        /// Seconds to serve.
        #[arg(
            long = "duration",
            visible_alias = "hold",
            default_value_t = 30,
            value_name = "SECS"
        )]
        hold: u64,
    },
}

#[derive(Args, Debug)]
struct Common {
    /// Encapsulation (RouterOS `l2tp-proto-version` l2tpv3-ip or l2tpv3-udp).
    #[arg(long, value_enum, default_value_t = EncapArg::Ip)]
    encap: EncapArg,
    /// Shared secret keying the Message Digest AVP.
    #[arg(long, default_value = "rp-secret")]
    secret: String,
}

/// L2TPv3 encapsulations.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum EncapArg {
    /// IP protocol 115.
    Ip,
    /// UDP port 1701.
    Udp,
}

impl From<EncapArg> for Encap {
    fn from(e: EncapArg) -> Encap {
        match e {
            EncapArg::Ip => Encap::Ip,
            EncapArg::Udp => Encap::Udp,
        }
    }
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    let r = match cli.mode {
        Mode::Lcce {
            local_ip,
            remote_ip,
            common,
            sessions,
            outgoing,
            circuit_down,
            frames,
            hold,
        } => lcce(LcceOpts {
            local: local_ip,
            remote: remote_ip,
            encap: common.encap.into(),
            secret: common.secret,
            sessions,
            outgoing,
            circuit_down,
            frames,
            hold: Duration::from_secs(hold),
        }),
        Mode::Lns {
            local_ip,
            common,
            hold,
        } => lns(
            local_ip,
            common.encap.into(),
            common.secret,
            Duration::from_secs(hold),
        ),
    };
    if let Err(e) = r {
        error!("l2tp-v3: {e}");
        std::process::exit(1);
    }
}

struct LcceOpts {
    local: Ipv4Addr,
    remote: Ipv4Addr,
    encap: Encap,
    secret: String,
    sessions: usize,
    outgoing: usize,
    circuit_down: bool,
    frames: u8,
    hold: Duration,
}

fn lcce(o: LcceOpts) -> Result<(), String> {
    let LcceOpts {
        local,
        remote,
        encap,
        secret,
        sessions,
        outgoing,
        circuit_down,
        frames,
        hold,
    } = o;
    let transport = Transport::bind(encap == Encap::Ip, local, 1701)?;
    let peer = SocketAddr::new(IpAddr::V4(remote), 1701);
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let cfg = V3Config {
        encap,
        host_name: b"rp-l2tp-v3-lcce".to_vec(),
        router_id: u32::from(local),
        secret: Some(secret.into_bytes()),
        cookie_len: 8,
        l2_sublayer: true,
        ..V3Config::default()
    };
    let mut c = ControlConnectionV3::new(cfg, true, &mut rng).map_err(|e| e.to_string())?;
    let start = Instant::now();
    c.connect(start).map_err(|e| e.to_string())?;
    for k in 1..sessions {
        if k + outgoing >= sessions {
            c.open_outgoing_session(start)
        } else {
            c.open_session(start)
        }
        .map_err(|e| e.to_string())?;
    }
    // our session id -> (tag, echoes)
    let mut tags: BTreeMap<u32, (u8, u32)> = BTreeMap::new();
    let mut up = 0usize;
    let mut buf = vec![0u8; 65536];
    let mut out = vec![0u8; 2048];
    let mut closing = false;
    while start.elapsed() < hold {
        let now = Instant::now();
        while let Some(d) = c.poll_transmit(now) {
            let _ = transport.send(&d, peer);
        }
        // After close(): the SLI and StopCCN above went out; stop once they are acknowledged.
        if closing && c.poll_timeout().is_none() {
            break;
        }
        while let Some(e) = c.poll_event() {
            println!("EVENT {e:?}");
            if let V3Event::SessionUp {
                local_session_id, ..
            } = e
            {
                up += 1;
                let tag = tags.len() as u8 + 1;
                tags.insert(local_session_id, (tag, 0));
                let is_out = c.session(local_session_id).is_some_and(|s| s.is_outgoing());
                println!("SESSION UP {local_session_id:#x} tag={tag} outgoing={is_out}");
                for i in 0..frames {
                    let n = c
                        .encapsulate_session(local_session_id, &test_frame(tag, i), &mut out)
                        .map_err(|e| e.to_string())?;
                    let _ = transport.send(&out[..n], peer);
                }
            }
        }
        let mut idle = true;
        while let Some((from, pkt)) = transport.recv(&mut buf) {
            idle = false;
            if from.ip() != IpAddr::V4(remote) {
                continue;
            }
            if let Ok(V3Input::Data(d)) = c.handle_input(Instant::now(), pkt) {
                if let Some((tag, n)) = tags.get_mut(&d.session_id) {
                    if d.payload.get(14) == Some(tag) {
                        *n += 1;
                    }
                }
            }
        }
        let done = up == sessions && tags.values().all(|(_, n)| *n >= u32::from(frames).max(1));
        if done && !closing {
            for (sid, (tag, n)) in &tags {
                println!("ECHO session={sid:#x} tag={tag} n={n}");
            }
            closing = true;
            if circuit_down {
                let first = c.local_session_id();
                c.set_circuit_status(now, first, false)
                    .map_err(|e| e.to_string())?;
                println!("CIRCUIT DOWN {first:#x}");
            }
            c.close();
        }
        if c.poll_timeout().is_some_and(|d| d <= Instant::now()) {
            c.handle_timeout(Instant::now());
        }
        if idle {
            std::thread::sleep(Duration::from_millis(1));
        }
        if closing && start.elapsed() > hold / 2 {
            break;
        }
    }
    let echoed: u32 = tags.values().map(|(_, n)| n).sum();
    println!(
        "SUMMARY sessions_up={up} echoed={echoed} digest_failures={} data_dropped={}",
        c.stats().digest_failures,
        c.stats().data_dropped
    );
    Ok(())
}

fn lns(local: Ipv4Addr, encap: Encap, secret: String, hold: Duration) -> Result<(), String> {
    let transport = Transport::bind(encap == Encap::Ip, local, 1701)?;
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let mut s: Lns<SocketAddr> = Lns::new(
        ServerConfig {
            enabled: true,
            accept_proto_version: AcceptProtoVersion::L2tpv3,
            l2tpv3_cookie_length: 4,
            ..ServerConfig::default()
        },
        l2tp::TunnelConfig::default(),
        Box::new(move |_, _| Some(secret.clone().into_bytes())),
        &mut rng,
    )
    .map_err(|e| e.to_string())?;
    println!("LISTENING {local} {encap:?}");
    let start = Instant::now();
    let mut buf = vec![0u8; 65536];
    let mut out = vec![0u8; 2048];
    let mut echoed = 0u64;
    while start.elapsed() < hold {
        let mut idle = true;
        while let Some((from, pkt)) = transport.recv(&mut buf) {
            idle = false;
            let now = Instant::now();
            let peer = Peer {
                key: from,
                addr: from.ip(),
                via_ipsec: false,
            };
            let r = match encap {
                Encap::Ip => s.handle_input_ip(now, &peer, pkt),
                Encap::Udp => s.handle_input(now, &peer, pkt),
            };
            if let Ok(LnsInput::V3Data {
                ccid,
                session_id,
                payload,
            }) = r
            {
                let p = payload.to_vec();
                if let Ok((to, n)) = s.encapsulate_v3_session(ccid, session_id, &p, &mut out) {
                    if transport.send(&out[..n], to).is_ok() {
                        echoed += 1;
                    }
                }
            }
        }
        let now = Instant::now();
        if s.poll_timeout().is_some_and(|d| d <= now) {
            s.handle_timeout(now);
        }
        while let Some((to, d)) = s.poll_transmit(now) {
            let _ = transport.send(&d, to);
        }
        while let Some((k, ccid, e)) = s.poll_v3_event() {
            match e {
                V3Event::SessionUp {
                    local_session_id,
                    remote_session_id,
                } => println!(
                    "V3 SESSION UP {k} ccid={ccid:#x} session={local_session_id:#x} peer_session={remote_session_id:#x} (sessions: {})",
                    s.v3_session_count()
                ),
                other => println!("V3 {k} ccid={ccid:#x} {other:?}"),
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    println!("STATS echoed={echoed} {:?}", s.stats());
    Ok(())
}
