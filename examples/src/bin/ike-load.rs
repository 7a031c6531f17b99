//! `ike-load`: an IKEv2 load generator (our engine as initiator) that sets up IKE SAs (PSK,
//! Curve25519, AES-128-GCM/PRF-SHA256, one Child SA each) against a responder as fast as the
//! responder answers, keeping a fixed number in flight, and prints the rate of completed
//! setups. `ipsec-ike/benches/setups_vs_charon.sh` points it at strongSwan's charon and at our
//! `ike` example in turn.
//!
//! ```text
//! ike-load --help
//! ike-load --local 10.99.3.2 --remote 10.99.3.1 --psk SECRET --count 500 [--inflight 4]
//! ```

use std::io::Write;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use clap::Parser;
use ipsec_ike::config::*;
use ipsec_ike::crypto::{Encr, Group};
use ipsec_ike::{Event, Ike};
use tracing::{error, warn};

/// IKEv2 load generator: our engine as initiator sets up IKE SAs (PSK, Curve25519,
/// AES-128-GCM/PRF-SHA256, one Child SA each) against a responder as fast as it answers,
/// keeping a fixed number in flight, and prints the rate of completed setups on stdout
/// (`setups=N failed=N seconds=S rate=R/s`).
///
/// `ipsec-ike/benches/setups_vs_charon.sh` points it at strongSwan's charon and at our `ike`
/// example in turn. Binds UDP 500 and 4500 on --local (root).
#[derive(Parser, Debug)]
#[command(name = "ike-load", version)]
struct Cli {
    /// Local address (UDP 500/4500). Required.
    #[arg(long)]
    local: IpAddr,
    /// Responder address. Required.
    #[arg(long)]
    remote: IpAddr,
    /// Pre-shared key of every IKE SA (RouterOS identity `secret`). Required.
    #[arg(long = "secret", visible_alias = "psk")]
    psk: String,
    /// IKE SAs to set up in total.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// Setups kept in flight at once.
    #[arg(long, default_value_t = 4)]
    inflight: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    timeout: u64,
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    if let Err(e) = run(cli) {
        error!("ike-load: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let (local, remote, count, inflight) = (cli.local, cli.remote, cli.count, cli.inflight);
    let limit = Duration::from_secs(cli.timeout);
    let mut c = IpsecConfig::default();
    c.settings.force_encap = true;
    c.settings.max_ike_sas = count + 100;
    c.profiles[0] = Profile {
        dh_group: vec![Group::Curve25519],
        enc_algorithm: vec![Encr::AesCbc(16)],
        hash_algorithm: vec![HashAlgorithm::Sha256],
        dpd_interval: None,
        ..Profile::default()
    };
    c.proposals[0].enc_algorithms = vec![Encr::AesGcm(16, 16)];
    c.proposals[0].auth_algorithms = vec![None];
    c.peers.push(Peer {
        name: "r".into(),
        address: IpPrefix::host(remote),
        local_address: Some(local),
        exchange_mode: ExchangeMode::Ike2,
        // Every SA authenticates with the same ID: no INITIAL_CONTACT, or each new SA would
        // make the responder delete the previous ones.
        send_initial_contact: false,
        ..Peer::default()
    });
    c.identities.push(Identity::psk("r", &cli.psk));
    // Tunnel-mode children like the responders' (strongSwan's userspace ESP is tunnel only).
    c.policies.push(Policy {
        src_address: "10.99.32.1/32"
            .parse()
            .map_err(|e: ipsec_ike::ConfigError| e.to_string())?,
        dst_address: "10.99.31.1/32"
            .parse()
            .map_err(|e: ipsec_ike::ConfigError| e.to_string())?,
        tunnel: true,
        peer: "r".into(),
        ..Policy::default()
    });
    let now = Instant::now();
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let mut ike =
        Ike::new(c, Default::default(), local, now, Box::new(rng)).map_err(|e| e.to_string())?;
    let s500 = UdpSocket::bind((local, 500)).map_err(|e| format!("bind: {e}"))?;
    let s4500 = UdpSocket::bind((local, 4500)).map_err(|e| format!("bind: {e}"))?;
    s500.set_nonblocking(true).map_err(|e| e.to_string())?;
    s4500.set_nonblocking(true).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let (mut started, mut done, mut failed) = (0usize, 0usize, 0usize);
    let mut buf = vec![0u8; 65536];
    while done + failed < count && start.elapsed() < limit {
        let now = Instant::now();
        while started < count && started - done - failed < inflight {
            ike.connect(now, "r", Some(SocketAddr::new(remote, 500)))
                .map_err(|e| e.to_string())?;
            started += 1;
        }
        while let Some(t) = ike.poll_transmit(now) {
            let sock = if t.local.port() == 500 { &s500 } else { &s4500 };
            let _ = sock.send_to(&t.payload, t.remote);
        }
        while let Some(e) = ike.poll_event() {
            match e {
                Event::ChildSaUp { .. } => done += 1,
                Event::Failed { reason, .. } => {
                    failed += 1;
                    warn!("failed: {reason:?}");
                }
                _ => {}
            }
        }
        let mut fds = [
            libc::pollfd {
                fd: s500.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: s4500.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of two pollfd structs for the duration of the call.
        let _ = unsafe { libc::poll(fds.as_mut_ptr(), 2, 10) };
        let now = Instant::now();
        if ike.poll_timeout().is_some_and(|t| t <= now) {
            ike.handle_timeout(now);
        }
        for (sock, port) in [(&s500, 500), (&s4500, 4500)] {
            while let Ok((n, src)) = sock.recv_from(&mut buf) {
                let _ = ike.handle_datagram(now, SocketAddr::new(local, port), src, &buf[..n]);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "setups={done} failed={failed} seconds={secs:.3} rate={:.1}/s",
        done as f64 / secs
    );
    let _ = std::io::stdout().flush();
    Ok(())
}
