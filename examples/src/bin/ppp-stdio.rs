//! `ppp-stdio`: a PPP server ([`ppp::host::Server`]) speaking async HDLC (RFC 1662) on its
//! standard input and output, as pppd does on a tty. It stands in for pppd behind a real
//! PPTP/L2TP daemon that hands its PPP program a pty, e.g. `pptpd -e <prog>` (the interop
//! tests: pptpd's control connection and GRE, our PPP).
//!
//! ```text
//! ppp-stdio [--user NAME:PASSWORD ...] [--local 10.233.0.1] [--remote 10.233.0.2]
//!           [--authentication mschap1,mschap2] [--use-encryption default|no|yes|required]
//!           [--duration SECS] [PPPD_ARGS ...]
//! ```
//! * Standard output is the PPP stream: status lines (`LCP UP`, `AUTH OK`, `IPCP UP local=..
//!   peer=..`, `ENCRYPTION ..`, `PING from ..`, `CLOSED reason=..`) go to standard error.
//! * A terminal on standard input is put into raw mode first (pppd does the same).
//! * Answers ICMP echo requests to --local; trailing arguments (what the daemon would pass to
//!   pppd) are ignored.

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use examples::sstp_util::echo_reply;
use ppp::aaa::{Aaa, Secret, UseEncryption};
use ppp::host::{Server, ServerConfig, ServerEvent};
use ppp::wire::hdlc;
use tracing::{debug, error};

/// A PPP server speaking async HDLC on stdin/stdout (pppd's place behind `pptpd -e`).
///
/// Status lines go to stderr (`LCP UP`, `AUTH OK`, `IPCP UP local=.. peer=..`, `ENCRYPTION ..`,
/// `PING from ..`, `CLOSED reason=..`). Answers pings to --local. Trailing arguments (pppd's)
/// are ignored.
#[derive(Parser, Debug)]
#[command(name = "ppp-stdio", version)]
struct Cli {
    /// A PPP secret (`/ppp secret` `name` and `password`); repeat for more users. Default: none.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = examples::ppp_cli::parse_user)]
    users: Vec<(String, String)>,
    /// Our PPP address (`local-address`).
    #[arg(long, default_value = "10.233.0.1")]
    local: Ipv4Addr,
    /// The peer's PPP address (`remote-address`).
    #[arg(long, default_value = "10.233.0.2")]
    remote: Ipv4Addr,
    /// RouterOS `authentication`, comma-separated from pap, chap, mschap1, mschap2 (default:
    /// mschap1,mschap2 as pptp-server).
    #[arg(long, value_parser = examples::ppp_cli::parse_auth, value_name = "LIST")]
    authentication: Option<String>,
    /// `use-encryption` of the users' profile (RouterOS `default-encryption`: yes).
    #[arg(long, value_enum, default_value_t = UseEncryptionArg::Yes)]
    use_encryption: UseEncryptionArg,
    /// Seconds to run at most.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    duration: u64,
    /// Ignored: the arguments a daemon passes to pppd.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pppd_args: Vec<String>,
}

/// RouterOS `use-encryption` values.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum UseEncryptionArg {
    /// Passive: MPPE when the peer asks for it.
    Default,
    /// Never encrypt.
    No,
    /// Offer MPPE, run in clear if the peer refuses.
    Yes,
    /// MPPE or no session.
    Required,
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    if let Err(e) = run(cli) {
        error!("{e}");
        eprintln!("ERROR {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), String> {
    debug!("ignored pppd arguments: {:?}", cli.pppd_args);
    let tty = examples::sys::make_raw_if_tty(0)?;
    eprintln!("STARTED tty={tty}");
    let mut settings = ppp::ServerSettings::pptp();
    if let Some(a) = &cli.authentication {
        settings.authentication =
            ppp::AuthSet::parse(a).map_err(|e| format!("--authentication: {e}"))?;
    }
    let profile = settings.default_profile.clone();
    let mut aaa = Aaa::new();
    for p in aaa.profiles.iter_mut().filter(|p| p.name == profile) {
        p.use_encryption = match cli.use_encryption {
            UseEncryptionArg::Default => UseEncryption::Default,
            UseEncryptionArg::No => UseEncryption::No,
            UseEncryptionArg::Yes => UseEncryption::Yes,
            UseEncryptionArg::Required => UseEncryption::Required,
        };
    }
    for (name, pass) in &cli.users {
        let mut s = Secret::new(name, pass);
        s.profile = profile.clone();
        s.local_address = Some(cli.local);
        s.remote_address = Some(cli.remote);
        aaa.secrets.push(s);
    }
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut srv: Server<u8> =
        Server::new(ServerConfig::new(settings), start, rng).map_err(|e| e.to_string())?;
    srv.set_store(Box::new(aaa));
    srv.open(start, 0, "stdio").map_err(|e| e.to_string())?;

    // stdin on a thread (blocking reads of a pty or pipe); an empty chunk is EOF
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut b = vec![0u8; 8192];
        loop {
            match stdin.read(&mut b) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Vec::new());
                    return;
                }
                Ok(n) => {
                    if tx.send(b[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut out = std::io::stdout().lock();
    let mut deframer = hdlc::Deframer::new(4096);
    let mut frame = vec![0u8; 4096];
    let mut line = Vec::new();
    let hold = Duration::from_secs(cli.duration);
    let mut ended: Option<Instant> = None;
    while start.elapsed() < hold {
        let now = Instant::now();
        match rx.recv_timeout(Duration::from_millis(2)) {
            Ok(c) if c.is_empty() => {
                eprintln!("CLOSED reason=EOF on stdin");
                return Ok(());
            }
            Ok(c) => deframer.push(&c),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        let mut replies = Vec::new();
        while let Some(f) = deframer.next_frame() {
            let Ok(mut f) = f else { continue };
            if let Ok(ppp::Input::Datagram {
                protocol: 0x0021,
                payload,
            }) = srv.handle_frame_mut(now, &0, &mut f)
            {
                if let Some(r) = echo_reply(payload, cli.local) {
                    eprintln!(
                        "PING from {}.{}.{}.{}",
                        payload[12], payload[13], payload[14], payload[15]
                    );
                    replies.push(r);
                }
            }
        }
        for r in replies {
            if let Ok(n) = srv.encapsulate(now, &0, 0x0021, &r, &mut frame) {
                line.clear();
                hdlc::encode(&frame[..n], hdlc::DEFAULT_ACCM, &mut line);
                out.write_all(&line).map_err(|e| format!("stdout: {e}"))?;
            }
        }
        if srv.poll_timeout().is_some_and(|d| d <= now) {
            srv.handle_timeout(now);
        }
        while let Some(e) = srv.poll_event() {
            match e {
                ServerEvent::Ppp { event, .. } => match event {
                    ppp::Event::LinkUp { mru, mtu, auth } => {
                        eprintln!("LCP UP mru={mru} mtu={mtu} auth={auth:?}")
                    }
                    ppp::Event::AuthSucceeded { user, method, .. } => {
                        eprintln!("AUTH OK {user} method={method}")
                    }
                    ppp::Event::AuthFailed { user, message, .. } => {
                        eprintln!("AUTH FAILED {user}: {message}")
                    }
                    ppp::Event::NetworkUp(i) => {
                        eprintln!("IPCP UP local={} peer={}", i.local, i.remote)
                    }
                    ppp::Event::EncryptionUp { encoding, .. } => eprintln!("ENCRYPTION {encoding}"),
                    ppp::Event::Terminated { reason, .. } => {
                        eprintln!("CLOSED reason={reason:?}");
                        ended = Some(now);
                    }
                    other => debug!("{other:?}"),
                },
                other => debug!("{other:?}"),
            }
        }
        // Over-escaping is always understood (RFC 1662 s7.1): the default ACCM for every
        // frame, whatever LCP agreed.
        while let Some(t) = srv.poll_transmit(now) {
            line.clear();
            hdlc::encode(&t.frame, hdlc::DEFAULT_ACCM, &mut line);
            out.write_all(&line).map_err(|e| format!("stdout: {e}"))?;
        }
        out.flush().map_err(|e| format!("stdout: {e}"))?;
        if ended.is_some_and(|t| now >= t + Duration::from_millis(500)) {
            return Ok(());
        }
    }
    Ok(())
}
