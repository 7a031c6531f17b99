//! `ppp-stdio-pppoe`: our PPP server (the `ppp` crate's [`ppp::Session`] in the server role) in
//! place of pppd under rp-pppoe's user-space `pppoe-server -q ppp-stdio-pppoe`.
//!
//! pppoe-server runs its PPP program with pppd's arguments:
//! `pty 'CMD' file OPTIONS LOCAL:REMOTE nodetach noaccomp nopcomp default-asyncmap mru N mtu N`.
//! This program runs CMD (rp-pppoe's session helper `pppoe -n -e SESSION:MAC`, which owns the
//! session's Ethernet side) with `sh -c` and speaks PPP to it as async HDLC on its
//! stdin/stdout, as pppd would on the pty: LCP, authentication against the secrets of the
//! options file, IPCP with LOCAL and REMOTE, and ICMP echo replies to LOCAL. Other pppd
//! options are ignored.
//!
//! The options file (`pppoe-server -O FILE`) may hold, besides pppd options, lines
//! `secret NAME PASSWORD`, `authentication pap,chap,mschap1,mschap2` and `log FILE`; the
//! program appends `LCP UP`, `AUTH OK`, `IPCP UP local=.. peer=..`, `PING from ..` and
//! `CLOSED reason=..` to the log file (pppoe-server gives it no stdout).

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use examples::sstp_util::echo_reply;
use ppp::wire::hdlc;

/// Our PPP server in place of pppd under rp-pppoe's user-space `pppoe-server -q PROG`: runs the
/// `pty` command pppoe-server passes and speaks async-HDLC PPP to it.
///
/// Takes pppd's arguments as pppoe-server gives them (`pty CMD`, `file OPTIONS`,
/// `LOCAL:REMOTE`, `mru N`; the rest is ignored). The options file may add
/// `secret NAME PASSWORD`, `authentication LIST` and `log FILE` lines.
#[derive(Parser, Debug)]
#[command(name = "ppp-stdio-pppoe", version)]
struct Cli {
    /// pppd-style arguments from pppoe-server.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PPPD_ARGS"
    )]
    pppd_args: Vec<String>,
}

#[derive(Default)]
struct Opts {
    pty: Option<String>,
    local: Option<Ipv4Addr>,
    remote: Option<Ipv4Addr>,
    mru: Option<u16>,
    secrets: Vec<(String, String)>,
    authentication: Option<String>,
    log: Option<String>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).cloned();
        match a {
            "pty" => {
                o.pty = next;
                i += 1;
            }
            "mru" => {
                o.mru = next.and_then(|v| v.parse().ok());
                i += 1;
            }
            "file" => {
                let f = next.ok_or("file needs a path")?;
                let text = std::fs::read_to_string(&f).map_err(|e| format!("{f}: {e}"))?;
                for l in text.lines() {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    match w.as_slice() {
                        ["secret", n, p] => o.secrets.push((n.to_string(), p.to_string())),
                        ["authentication", l] => o.authentication = Some(l.to_string()),
                        ["log", f] => o.log = Some(f.to_string()),
                        _ => {}
                    }
                }
                i += 1;
            }
            _ => {
                if let Some((l, r)) = a.split_once(':') {
                    if let (Ok(l), Ok(r)) = (l.parse(), r.parse()) {
                        o.local = Some(l);
                        o.remote = Some(r);
                    }
                }
            }
        }
        i += 1;
    }
    Ok(o)
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(&cli.pppd_args) {
        eprintln!("ppp-stdio-pppoe: {e}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let mut log: Box<dyn Write> = match &o.log {
        Some(f) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(f)
                .map_err(|e| format!("{f}: {e}"))?,
        ),
        None => Box::new(std::io::stderr()),
    };
    let mut say = |s: String| {
        let _ = writeln!(log, "{s}");
        let _ = log.flush();
    };
    say(format!("START args={args:?}"));
    let pty = o.pty.clone().ok_or("no pty command")?;
    let local = o.local.unwrap_or(Ipv4Addr::new(10, 0, 0, 1));
    let remote = o.remote.unwrap_or(Ipv4Addr::new(10, 0, 0, 2));

    let mut cfg = ppp::Config::serial();
    let mru = o.mru.unwrap_or(1492).min(1492);
    cfg.max_mru = mru;
    cfg.max_mtu = mru;
    if let Some(a) = &o.authentication {
        cfg.authentication = ppp::AuthSet::parse(a).map_err(|e| format!("authentication: {e}"))?;
    }
    cfg.local_address = Some(local);
    cfg.remote_address = Some(remote);
    let mut aaa = ppp::aaa::Aaa::new();
    for (n, p) in &o.secrets {
        let mut s = ppp::aaa::Secret::new(n, p);
        s.local_address = Some(local);
        s.remote_address = Some(remote);
        aaa.secrets.push(s);
    }
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut ppp =
        ppp::Session::new(cfg, ppp::Role::Server, t0, rng).map_err(|e| format!("{e:?}"))?;
    ppp.set_credential_store(Box::new(aaa));

    let mut child = Command::new("sh")
        .args(["-c", &pty])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{pty}: {e}"))?;
    let mut to_child = child.stdin.take().ok_or("no stdin")?;
    let mut from_child = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut b = [0u8; 4096];
        while let Ok(n) = from_child.read(&mut b) {
            if n == 0 || tx.send(b[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    ppp.open(t0);
    let mut deframer = hdlc::Deframer::new(4096);
    let mut ended: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let wait = ppp
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(100))
            .min(Duration::from_millis(100));
        match rx.recv_timeout(wait) {
            Ok(chunk) => deframer.push(&chunk),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                say("CLOSED reason=pty-eof".into());
                break;
            }
        }
        let now = Instant::now();
        let mut replies = Vec::new();
        while let Some(f) = deframer.next_frame() {
            let Ok(f) = f else { continue };
            if let Ok(ppp::Input::Datagram {
                protocol: 0x0021,
                payload,
            }) = ppp.handle_frame(now, &f)
            {
                if let Some(r) = echo_reply(payload, local) {
                    say(format!(
                        "PING from {}.{}.{}.{}",
                        payload[12], payload[13], payload[14], payload[15]
                    ));
                    replies.push(r);
                }
            }
        }
        for r in replies {
            let mut f = vec![0u8; 1600];
            if let Ok(n) = ppp.encapsulate(now, 0x0021, &r, &mut f) {
                let mut enc = Vec::new();
                hdlc::encode(&f[..n], ppp.tx_accm(0x0021), &mut enc);
                let _ = to_child.write_all(&enc);
            }
        }
        if ppp.poll_timeout().is_some_and(|d| d <= now) {
            ppp.handle_timeout(now);
        }
        while let Some(e) = ppp.poll_event() {
            match e {
                ppp::Event::AuthSucceeded { user, method, .. } => {
                    say(format!("AUTH OK {user} method={method}"))
                }
                ppp::Event::NetworkUp(i) => {
                    say(format!("IPCP UP local={} peer={}", i.local, i.remote))
                }
                ppp::Event::Terminated { .. } => {
                    say(format!("CLOSED reason={e:?}"));
                    ended.get_or_insert(now);
                }
                other => say(format!("EVENT {other:?}")),
            }
        }
        while let Some(f) = ppp.poll_transmit_hdlc(now) {
            if to_child.write_all(&f).is_err() {
                break;
            }
        }
        if ended.is_some_and(|t| now >= t + Duration::from_millis(500)) {
            break;
        }
    }
    drop(to_child);
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
