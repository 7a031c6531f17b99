//! `sstp-server`: a RouterOS-style SSTP server (`/interface sstp-server server`) on TCP with
//! rustls: the `sstp` crate's [`sstp::Server`], PPP sessions on its host, an address pool and
//! PPP secrets.
//!
//! ```text
//! sstp-server <bind-ip> [--port 443] [--cert PEM --key PEM] [--local 10.231.0.1]
//!             [--pool 10.231.0.10-10.231.0.20] [--user NAME:PASSWORD ...]
//!             [--authentication pap,chap,mschap1,mschap2] [--keepalive-timeout SECS]
//!             [--accept-zero-hlak] [--verify-client-certificate --ca PEM]
//!             [--tls-version any|only-1.2] [--ciphers aes256-gcm-sha384]
//!             [--tun NAME] [--pcap FILE] [--keylog FILE] [--hold SECS]
//! ```
//! * Without `--cert` it serves the crate's public test certificate (CN vpn.example, SAN
//!   127.0.0.1 and 10.231.0.1) and says so: for tests only.
//! * Without `--tun` it answers ICMP echo requests to its own PPP address (`PING from A`);
//!   with `--tun NAME` the sessions' IP traffic goes to and from a TUN device (/32 routes per
//!   session, `ROUTE peer -> sstp-N`).
//! * `--pcap FILE`: the decrypted SSTP of every connection (HTTP, control and data packets) as
//!   synthetic TCP to port 80, which Wireshark's HTTP dissector hands to its SSTP dissector
//!   (`FILE` for the first connection, `FILE.N` for the next ones). `--keylog FILE`: the TLS
//!   secrets (NSS key log) to decrypt a real capture: `tshark -o tls.keylog_file:FILE`.
//! * Prints `LISTENING`, `REQUEST`, `AUTH OK`, `CALL CONNECTED hash=... key=...`, `IPCP UP`,
//!   `CLOSED reason=...`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use examples::sstp_util::{echo_reply, tap_to_pcap, KeyLogFile, ServerLoop};
use examples::sys::ip;
use ppp::aaa::{Aaa, AddressSpec, IpPool, Profile, Secret};
use sstp::tls::RustlsOptions;
use sstp::{ConnId, ServerConfig, ServerEvent};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn args_all(args: &[String], name: &str) -> Vec<String> {
    args.windows(2)
        .filter(|w| w[0] == name)
        .map(|w| w[1].clone())
        .collect()
}

fn flag(args: &[String], name: &str) -> bool {
    args.iter().any(|a| a == name)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(bind) = args.get(1).and_then(|a| a.parse::<IpAddr>().ok()) else {
        eprintln!("usage: sstp-server <bind-ip> [--port P] [--cert PEM --key PEM] [--local IP] [--pool A-B] [--user NAME:PASS ...] [--tun NAME] [--pcap FILE] [--keylog FILE] [--hold SECS] [--accept-zero-hlak]");
        std::process::exit(2);
    };
    if let Err(e) = run(bind, &args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn run(bind: IpAddr, args: &[String]) -> Result<(), String> {
    let mut cfg = ServerConfig::enabled();
    cfg.port = arg(args, "--port")
        .and_then(|s| s.parse().ok())
        .unwrap_or(443);
    match (arg(args, "--cert"), arg(args, "--key")) {
        (Some(c), Some(k)) => {
            cfg.tls.certificate_pem = Some(read(&c)?);
            cfg.tls.key_pem = Some(read(&k)?);
        }
        _ => {
            println!("WARNING using the public test certificate (sstp::test_pki)");
            cfg.tls.certificate_pem = Some(sstp::test_pki::SERVER_CERT_PEM.into());
            cfg.tls.key_pem = Some(sstp::test_pki::SERVER_KEY_PEM.into());
        }
    }
    if flag(args, "--verify-client-certificate") {
        cfg.tls.verify_client_certificate = true;
        cfg.tls.ca_pem = Some(read(
            &arg(args, "--ca").ok_or("--verify-client-certificate needs --ca")?,
        )?);
    }
    if arg(args, "--tls-version").as_deref() == Some("only-1.2") {
        cfg.tls.tls_version = sstp::config::TlsVersion::Only12;
    }
    if arg(args, "--ciphers").as_deref() == Some("aes256-gcm-sha384") {
        cfg.tls.ciphers = sstp::config::Ciphers::Aes256GcmSha384;
    }
    cfg.accept_zero_hlak = flag(args, "--accept-zero-hlak");
    cfg.unix_time = examples::sstp_util::unix_now();
    if let Some(a) = arg(args, "--authentication") {
        cfg.ppp.authentication = ppp::AuthSet::parse(&a).map_err(|e| e.to_string())?;
    }
    if let Some(v) = arg(args, "--keepalive-timeout").and_then(|s| s.parse().ok()) {
        cfg.ppp.keepalive_timeout = Duration::from_secs(v);
    }
    let local: Ipv4Addr = arg(args, "--local")
        .and_then(|s| s.parse().ok())
        .unwrap_or(Ipv4Addr::new(10, 231, 0, 1));
    let pool = arg(args, "--pool").unwrap_or_else(|| "10.231.0.10-10.231.0.20".into());
    let hold = Duration::from_secs(
        arg(args, "--hold")
            .and_then(|s| s.parse().ok())
            .unwrap_or(3600),
    );
    let pcap = arg(args, "--pcap");
    let tun_name = arg(args, "--tun");

    let mut aaa = Aaa::new();
    aaa.pools
        .push(IpPool::new("sstp-pool", &pool).map_err(|e| format!("--pool: {e:?}"))?);
    let mut profile = Profile::named("sstp");
    profile.local_address = Some(AddressSpec::Address(local));
    profile.remote_address = Some(AddressSpec::Pool("sstp-pool".into()));
    aaa.profiles.push(profile);
    for u in args_all(args, "--user") {
        let (name, pass) = u.split_once(':').ok_or("--user NAME:PASSWORD")?;
        let mut s = Secret::new(name, pass);
        s.profile = "sstp".into();
        aaa.secrets.push(s);
    }
    let mut opts = RustlsOptions::default();
    if let Some(k) = arg(args, "--keylog") {
        opts.key_log = Some(KeyLogFile::create(&k)?);
    }
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let mut srv = ServerLoop::bind(SocketAddr::new(bind, cfg.port), cfg, &opts, &mut rng)?;
    srv.server.host_mut().set_store(Box::new(aaa));
    if pcap.is_some() {
        srv.taps = Some(HashMap::new());
    }
    let mut tun = match &tun_name {
        Some(n) => {
            let t = examples::sys::open_tun(n, false, true)?;
            ip(&["addr", "add", &format!("{local}/32"), "dev", n])?;
            ip(&["link", "set", n, "up", "mtu", "1400"])?;
            println!("TUN {n} UP {local}/32");
            Some(t)
        }
        None => None,
    };
    let mut routes: HashMap<Ipv4Addr, ConnId> = HashMap::new();
    println!("LISTENING {}", srv.local_addr());
    let start = Instant::now();
    let mut pcaps_written = 0usize;
    let write_pcap = |srv: &ServerLoop, conn: ConnId, n: &mut usize| {
        let (Some(path), Some(taps)) = (&pcap, &srv.taps) else {
            return;
        };
        let Some((peer, tap)) = taps.get(&conn) else {
            return;
        };
        let Ok(v) = tap.lock() else { return };
        let client = match peer.ip() {
            IpAddr::V4(a) => (a, peer.port()),
            IpAddr::V6(_) => (Ipv4Addr::new(192, 0, 2, 1), peer.port()),
        };
        let server = match bind {
            IpAddr::V4(a) if !a.is_unspecified() => a,
            _ => Ipv4Addr::new(192, 0, 2, 2),
        };
        let file = if *n == 0 {
            path.clone()
        } else {
            format!("{path}.{n}")
        };
        if std::fs::write(&file, tap_to_pcap(&v, client, server, false)).is_ok() {
            println!("PCAP {file} ({} records)", v.len());
        }
        *n += 1;
    };
    while start.elapsed() < hold {
        for e in srv.step() {
            match e {
                ServerEvent::Request {
                    conn,
                    host,
                    correlation_id,
                } => {
                    println!("REQUEST {conn} host={host:?} correlation={correlation_id:?}")
                }
                ServerEvent::CallConnected { conn, hash, key } => {
                    println!("CALL CONNECTED {conn} hash={hash:?} key={key:?}")
                }
                ServerEvent::Host(ppp::host::ServerEvent::Ppp { key, event }) => match event {
                    ppp::Event::AuthSucceeded { user, method, .. } => {
                        println!("AUTH OK {user} method={method} ({key})")
                    }
                    ppp::Event::NetworkUp(i) => {
                        println!("IPCP UP local={} peer={} ({key})", i.local, i.remote);
                        if let Some(n) = &tun_name {
                            ip(&["route", "replace", &format!("{}/32", i.remote), "dev", n])?;
                            routes.insert(i.remote, key);
                            println!("ROUTE {} -> {key}", i.remote);
                        }
                    }
                    _ => {}
                },
                ServerEvent::Host(_) => {}
                ServerEvent::Closed { conn, reason } => {
                    println!("CLOSED {conn} reason={reason:?}");
                    routes.retain(|a, c| {
                        if *c == conn {
                            if let Some(n) = &tun_name {
                                let _ = ip(&["route", "del", &format!("{a}/32"), "dev", n]);
                            }
                        }
                        *c != conn
                    });
                    write_pcap(&srv, conn, &mut pcaps_written);
                    if let Some(t) = srv.taps.as_mut() {
                        t.remove(&conn);
                    }
                }
                _ => {}
            }
        }
        let mut replies = Vec::new();
        while let Some((conn, proto, d)) = srv.server.poll_datagram() {
            if proto != 0x0021 {
                continue;
            }
            if let Some(t) = tun.as_mut() {
                let _ = t.write(d);
            } else if let Some(r) = echo_reply(d, local) {
                println!("PING from {}.{}.{}.{} ({conn})", d[12], d[13], d[14], d[15]);
                replies.push((conn, r));
            }
        }
        for (conn, r) in replies {
            let _ = srv.send_ip(conn, 0x0021, &r);
        }
        if let Some(t) = tun.as_mut() {
            let mut pkt = [0u8; 2048];
            while let Ok(n) = t.read(&mut pkt) {
                let p = &pkt[..n];
                if examples::sys::ppp_protocol_for_tun(p, false).is_none() || p.len() < 20 {
                    continue;
                }
                let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
                if let Some(&conn) = routes.get(&dst) {
                    let _ = srv.send_ip(conn, 0x0021, p);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let open: Vec<ConnId> = srv
        .taps
        .as_ref()
        .map(|t| t.keys().copied().collect())
        .unwrap_or_default();
    for c in open {
        write_pcap(&srv, c, &mut pcaps_written);
    }
    Ok(())
}
