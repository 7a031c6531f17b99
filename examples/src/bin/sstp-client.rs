//! `sstp-client`: a RouterOS-style SSTP client (`/interface sstp-client`) on TCP with rustls:
//! the `sstp` crate's [`sstp::Client`] with its PPP client.
//!
//! ```text
//! sstp-client <connect-to> [--port 443] [--user U] [--password P]
//!             [--verify-server-certificate --ca PEM] [--verify-server-address-from-certificate]
//!             [--add-sni] [--tls-version only-1.2] [--ciphers aes256-gcm-sha384]
//!             [--certificate PEM --key PEM] [--http-proxy HOST --proxy-port P]
//!             [--ping ADDR [--count N]] [--tun NAME] [--pcap FILE] [--keylog FILE] [--hold SECS]
//! ```
//! * Prints `CONNECT host:port`, `CALL CONNECTED hash=...`, `IPCP UP local=... peer=...`,
//!   `PING reply from ...`, `CLOSED reason=...` (certificate failures carry the RouterOS
//!   strings, e.g. `unable to get issuer certificate locally`).
//! * `--ping ADDR`: ICMP echo requests through the tunnel, `--count` of them, then exit 0 if
//!   all were answered. `--tun NAME`: a TUN device with the IPCP address carries IP instead.
//! * `--pcap FILE`: the decrypted SSTP (synthetic TCP to port 80, see `sstp-server`);
//!   `--keylog FILE`: TLS secrets for `tshark -o tls.keylog_file:FILE` on a real capture.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream, ToSocketAddrs};

use std::time::{Duration, Instant};

use examples::sstp_util::{tap_to_pcap, write_all_nb, KeyLogFile, Tap, TapTls};
use examples::sys::ip;
use sstp::tls::{RustlsOptions, RustlsTls};
use sstp::{Client, ClientConfig, ClientEvent};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flag(args: &[String], name: &str) -> bool {
    args.iter().any(|a| a == name)
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(server) = args.get(1).filter(|a| !a.starts_with("--")).cloned() else {
        eprintln!("usage: sstp-client <connect-to> [--port P] [--user U] [--password P] [--verify-server-certificate --ca PEM] [--verify-server-address-from-certificate] [--add-sni] [--ping ADDR [--count N]] [--tun NAME] [--pcap FILE] [--keylog FILE] [--hold SECS]");
        std::process::exit(2);
    };
    match run(&server, &args) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

fn run(server: &str, args: &[String]) -> Result<bool, String> {
    let mut cfg = ClientConfig::new(
        server,
        &arg(args, "--user").unwrap_or_else(|| "alice".into()),
        &arg(args, "--password").unwrap_or_else(|| "pw".into()),
    );
    cfg.port = arg(args, "--port")
        .and_then(|s| s.parse().ok())
        .unwrap_or(443);
    cfg.unix_time = examples::sstp_util::unix_now();
    cfg.tls.verify_server_certificate = flag(args, "--verify-server-certificate");
    cfg.tls.verify_server_address_from_certificate =
        flag(args, "--verify-server-address-from-certificate");
    cfg.tls.add_sni = flag(args, "--add-sni");
    if let Some(ca) = arg(args, "--ca") {
        cfg.tls.ca_pem = Some(read(&ca)?);
    }
    if let (Some(c), Some(k)) = (arg(args, "--certificate"), arg(args, "--key")) {
        cfg.tls.certificate_pem = Some(read(&c)?);
        cfg.tls.key_pem = Some(read(&k)?);
    }
    if arg(args, "--tls-version").as_deref() == Some("only-1.2") {
        cfg.tls.tls_version = sstp::config::TlsVersion::Only12;
    }
    if arg(args, "--ciphers").as_deref() == Some("aes256-gcm-sha384") {
        cfg.tls.ciphers = sstp::config::Ciphers::Aes256GcmSha384;
    }
    if let Some(p) = arg(args, "--http-proxy") {
        cfg.http_proxy = Some(p);
        cfg.proxy_port = arg(args, "--proxy-port")
            .and_then(|s| s.parse().ok())
            .unwrap_or(443);
    }
    let ping: Option<Ipv4Addr> = arg(args, "--ping").and_then(|s| s.parse().ok());
    let count: u16 = arg(args, "--count")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let hold = Duration::from_secs(
        arg(args, "--hold")
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    );
    let tun_name = arg(args, "--tun");
    let pcap = arg(args, "--pcap");
    let mut opts = RustlsOptions::default();
    if let Some(k) = arg(args, "--keylog") {
        opts.key_log = Some(KeyLogFile::create(&k)?);
    }
    let tap: Option<Tap> = pcap.as_ref().map(|_| Tap::default());
    let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut client: Client<TapTls<RustlsTls>> =
        Client::new(cfg, start, &mut rng).map_err(|e| e.to_string())?;
    let mut sock: Option<TcpStream> = None;
    let mut pending: Vec<u8> = Vec::new();
    let mut tun = None;
    let mut local = None;
    let (mut sent, mut answered) = (0u16, 0u16);
    let mut next_ping = start;
    let mut buf = vec![0u8; 65536];
    let mut sock_addr = None;
    while start.elapsed() < hold {
        let now = Instant::now();
        while let Some(e) = client.poll_event() {
            match e {
                ClientEvent::Connect { host, port } => {
                    println!("CONNECT {host}:{port}");
                    let addr = (host.as_str(), port)
                        .to_socket_addrs()
                        .map_err(|e| e.to_string())?
                        .next()
                        .ok_or("no address")?;
                    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                        .map_err(|e| format!("connect {addr}: {e}"))?;
                    s.set_nonblocking(true).map_err(|e| e.to_string())?;
                    let _ = s.set_nodelay(true);
                    sock_addr = s.local_addr().ok();
                    let inner =
                        RustlsTls::client(client.config(), &opts).map_err(|e| e.to_string())?;
                    client
                        .connected(now, TapTls::new(inner, tap.clone()))
                        .map_err(|e| e.to_string())?;
                    sock = Some(s);
                }
                ClientEvent::CallConnected { hash, zero_hlak } => {
                    println!("CALL CONNECTED hash={hash:?} zero_hlak={zero_hlak}")
                }
                ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) => {
                    println!("IPCP UP local={} peer={} mtu={}", u.local, u.remote, u.mtu);
                    local = Some(u.local);
                    if let Some(n) = &tun_name {
                        let t = examples::sys::open_tun(n, false, true)?;
                        ip(&[
                            "addr",
                            "add",
                            &format!("{}/32", u.local),
                            "peer",
                            &format!("{}/32", u.remote),
                            "dev",
                            n,
                        ])?;
                        ip(&["link", "set", n, "up", "mtu", &u.mtu.to_string()])?;
                        println!("TUN {n} UP");
                        tun = Some(t);
                    }
                }
                ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::AuthSucceeded {
                    user,
                    method,
                    ..
                })) => {
                    println!("AUTH OK {user} method={method}")
                }
                ClientEvent::Closed { reason } => {
                    println!("CLOSED reason={reason:?}");
                    if let sstp::CloseReason::Tls(e) = &reason {
                        println!("TLS ERROR {e}");
                    }
                    sock = None;
                    if ping.is_some() {
                        break;
                    }
                }
                _ => {}
            }
        }
        if let Some(s) = sock.as_mut() {
            while let Some(b) = client.poll_transmit(now) {
                let _ = write_all_nb(s, &b);
            }
            match s.read(&mut buf) {
                Ok(0) => client.handle_close(now),
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => client.handle_close(now),
            }
            let mut off = 0;
            while off < pending.len() {
                match client.handle_stream(now, &pending[off..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => off += n,
                }
                if let Some(s) = sock.as_mut() {
                    while let Some(b) = client.poll_transmit(now) {
                        let _ = write_all_nb(s, &b);
                    }
                }
            }
            pending.drain(..off);
        }
        if client.poll_timeout().is_some_and(|d| d <= now) {
            client.handle_timeout(now);
        }
        while let Some((proto, d)) = client.poll_datagram() {
            if proto != 0x0021 {
                continue;
            }
            if let Some(t) = tun.as_mut() {
                let _ = t.write(d);
            } else if d.len() > 20 && d[9] == 1 && d[20] == 0 {
                answered += 1;
                println!("PING reply from {}.{}.{}.{}", d[12], d[13], d[14], d[15]);
            }
        }
        let mut out = Vec::new();
        if let Some(t) = tun.as_mut() {
            let mut pkt = [0u8; 2048];
            while let Ok(n) = t.read(&mut pkt) {
                if examples::sys::ppp_protocol_for_tun(&pkt[..n], false) == Some(0x0021) {
                    let _ = client.send_datagram(now, 0x0021, &pkt[..n], &mut out);
                }
            }
        }
        if let (Some(dst), Some(me)) = (ping, local) {
            if sent < count && now >= next_ping {
                sent += 1;
                let p = netsim::pcap::icmp4_echo(
                    me.octets(),
                    dst.octets(),
                    false,
                    0x5353,
                    sent,
                    b"rosproto-sstp ping",
                );
                let _ = client.send_datagram(now, 0x0021, &p, &mut out);
                next_ping = now + Duration::from_millis(200);
            }
            if answered >= count {
                break;
            }
        }
        if let (Some(s), false) = (sock.as_mut(), out.is_empty()) {
            let _ = write_all_nb(s, &out);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if ping.is_some() {
        client.hang_up(Instant::now());
        if let Some(s) = sock.as_mut() {
            while let Some(b) = client.poll_transmit(Instant::now()) {
                let _ = write_all_nb(s, &b);
            }
        }
    }
    if let (Some(path), Some(tap)) = (pcap, tap) {
        let v = tap.lock().map_err(|_| "tap")?;
        let client_addr = match sock_addr {
            Some(std::net::SocketAddr::V4(a)) => (*a.ip(), a.port()),
            _ => (Ipv4Addr::new(192, 0, 2, 1), 40000),
        };
        let server_ip = server.parse().unwrap_or(Ipv4Addr::new(192, 0, 2, 2));
        std::fs::write(&path, tap_to_pcap(&v, client_addr, server_ip, true))
            .map_err(|e| e.to_string())?;
        println!("PCAP {path} ({} records)", v.len());
    }
    Ok(ping.is_none() || answered >= count)
}
