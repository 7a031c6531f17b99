//! Shared code of the `ovpn-client` / `ovpn-server` examples: option parsing, building a
//! `SessionConfig` from OpenVPN-style options, and blocking socket loops around the sans-IO
//! `ovpn` state machines (the examples own the clock, the sockets and the RNG).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use ovpn::crypto::{Digest, KeyDirection, StaticKey};
use ovpn::data::Cipher;
use ovpn::event::Event;
use ovpn::protect::{TlsCryptV2ClientKey, TlsCryptV2ServerKey};
use ovpn::server::{Server, ServerInput};
use ovpn::session::{Input, Role, Session, SessionConfig, TlsFactory, WrapConfig};
use ovpn::tls::{RustlsEngine, TlsEngine, TlsMaterial};
use ovpn::wire::tcp::{frame, Deframer};

pub use crate::sys::OsRng;

/// `--name value` options (flags without value get "").
pub fn parse_args(args: &[String]) -> HashMap<String, String> {
    let mut m = HashMap::new();
    let mut i = 0;
    while i < args.len() {
        if let Some(k) = args[i].strip_prefix("--") {
            let v = match args.get(i + 1) {
                Some(v) if !v.starts_with("--") => {
                    i += 1;
                    v.clone()
                }
                _ => String::new(),
            };
            m.insert(k.to_string(), v);
        }
        i += 1;
    }
    m
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// Wall-clock seconds (for the control channel's net time).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Options shared by both examples.
pub struct Common {
    /// Session parameters.
    pub cfg: SessionConfig,
    /// TLS material.
    pub tls: TlsMaterial,
    /// TCP instead of UDP.
    pub tcp: bool,
    /// Run time.
    pub seconds: u64,
    /// Name the server certificate must carry (client).
    pub verify_name: Option<String>,
    /// pcap output.
    pub pcap: Option<String>,
}

/// Build from OpenVPN-like options: `--proto udp|tcp --ca F --cert F --key F --tls-auth F
/// --key-direction 0|1 --tls-crypt F --tls-crypt-v2 F --cipher C --data-ciphers A:B
/// --auth D --p2p --ping N --ping-restart N --reneg-sec N --seconds N --user U --pass P
/// --verify-name CN --pcap F`.
pub fn common(role: Role, o: &HashMap<String, String>) -> Result<Common, String> {
    let mut cfg = SessionConfig::new(role);
    let auth = match o.get("auth") {
        Some(a) => Digest::from_name(a).ok_or(format!("bad --auth {a}"))?,
        None => Digest::Sha1,
    };
    cfg.auth = auth;
    if let Some(f) = o.get("tls-auth") {
        let key = StaticKey::from_pem(&read(f)?).map_err(|e| e.to_string())?;
        let direction = match o.get("key-direction").map(String::as_str) {
            Some("0") => KeyDirection::Normal,
            Some("1") => KeyDirection::Inverse,
            _ => KeyDirection::Bidirectional,
        };
        cfg.wrap = WrapConfig::TlsAuth {
            key,
            direction,
            digest: auth,
        };
    } else if let Some(f) = o.get("tls-crypt") {
        cfg.wrap = WrapConfig::TlsCrypt {
            key: StaticKey::from_pem(&read(f)?).map_err(|e| e.to_string())?,
        };
    } else if let Some(f) = o.get("tls-crypt-v2") {
        let t = read(f)?;
        cfg.wrap = match role {
            Role::Client => WrapConfig::TlsCryptV2Client {
                key: TlsCryptV2ClientKey::from_pem(&t).map_err(|e| e.to_string())?,
            },
            Role::Server => WrapConfig::TlsCryptV2Server {
                key: TlsCryptV2ServerKey::from_pem(&t).map_err(|e| e.to_string())?,
            },
        };
    }
    if let Some(c) = o.get("cipher") {
        cfg.cipher = Cipher::from_name(c).ok_or(format!("bad --cipher {c}"))?;
    }
    if let Some(l) = o.get("data-ciphers") {
        cfg.data_ciphers = l
            .split(':')
            .map(|c| Cipher::from_name(c).ok_or(format!("bad cipher {c}")))
            .collect::<Result<_, _>>()?;
        if o.get("cipher").is_none() {
            if let Some(first) = cfg.data_ciphers.first() {
                cfg.cipher = *first;
            }
        }
    }
    cfg.accepted_ciphers = cfg.data_ciphers.clone();
    cfg.pull = !o.contains_key("p2p");
    let secs = |k: &str| o.get(k).and_then(|v| v.parse::<u64>().ok());
    if let Some(p) = secs("ping") {
        cfg.ping = Some(Duration::from_secs(p));
    }
    if let Some(p) = secs("ping-restart") {
        cfg.ping_restart = Some(Duration::from_secs(p));
    }
    if let Some(p) = secs("reneg-sec") {
        cfg.reneg = Some(Duration::from_secs(p));
    }
    if let (Some(u), Some(p)) = (o.get("user"), o.get("pass")) {
        cfg.credentials = Some((u.clone(), p.clone()));
    }
    cfg.unix_time = unix_now();
    let tls = TlsMaterial {
        ca_pem: o.get("ca").map(|f| read(f)).transpose()?,
        cert_pem: o.get("cert").map(|f| read(f)).transpose()?,
        key_pem: o.get("key").map(|f| read(f)).transpose()?,
        version: if o.contains_key("tls-1.2") {
            ovpn::tls::TlsVersion::Only12
        } else {
            ovpn::tls::TlsVersion::Any
        },
    };
    Ok(Common {
        cfg,
        tls,
        tcp: o.get("proto").is_some_and(|p| p.starts_with("tcp")),
        seconds: secs("seconds").unwrap_or(10),
        verify_name: o.get("verify-name").cloned(),
        pcap: o.get("pcap").cloned(),
    })
}

/// TLS factory for a role.
pub fn tls_factory(
    role: Role,
    m: TlsMaterial,
    verify_name: Option<String>,
    require_client_cert: bool,
) -> TlsFactory {
    Box::new(move || {
        let e = match role {
            Role::Client => RustlsEngine::client(&m, verify_name.as_deref())?,
            Role::Server => RustlsEngine::server(&m, require_client_cert)?,
        };
        Ok(Box::new(e) as Box<dyn TlsEngine>)
    })
}

/// Records datagrams for `--pcap` (synthesised UDP/IPv4 headers).
#[derive(Default)]
pub struct Pcap {
    start: Option<Instant>,
    frames: Vec<(Duration, Vec<u8>)>,
}

impl Pcap {
    /// Record one OpenVPN packet.
    pub fn add(&mut self, now: Instant, from_us: bool, pkt: &[u8]) {
        let start = *self.start.get_or_insert(now);
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let f = if from_us {
            netsim::pcap::udp4_wrap(a, 40000, b, 1194, pkt)
        } else {
            netsim::pcap::udp4_wrap(b, 1194, a, 40000, pkt)
        };
        self.frames.push((now - start, f));
    }

    /// Write the file.
    pub fn write(&self, path: &str) {
        let _ = std::fs::write(
            path,
            netsim::pcap::to_bytes(netsim::pcap::LINKTYPE_RAW, &self.frames),
        );
    }
}

fn csum(data: &[u8]) -> u16 {
    netsim::pcap::inet_checksum(data)
}

/// An IPv4 ICMP echo request (56 bytes of payload).
pub fn icmp_echo_request(src: std::net::Ipv4Addr, dst: std::net::Ipv4Addr, seq: u16) -> Vec<u8> {
    let payload: Vec<u8> = (0..56u8).collect();
    netsim::pcap::icmp4_echo(src.octets(), dst.octets(), false, 0x1234, seq, &payload)
}

/// Whether `p` is an IPv4 ICMP echo reply.
pub fn is_icmp_echo_reply(p: &[u8]) -> bool {
    p.len() >= 28 && p[0] >> 4 == 4 && p[9] == 1 && p[usize::from(p[0] & 15) * 4] == 0
}

/// Answer an IPv4 ICMP echo request addressed to anyone (the example server has no TUN, so
/// it plays the tunnel's far end itself); `None` if `p` is not one.
pub fn icmp_echo_reply_for(p: &[u8]) -> Option<Vec<u8>> {
    let ihl = usize::from(*p.first()? & 15) * 4;
    if p.len() < ihl + 8 || p[0] >> 4 != 4 || p[9] != 1 || p[ihl] != 8 {
        return None;
    }
    let mut r = p.to_vec();
    r[12..16].copy_from_slice(&p[16..20]);
    r[16..20].copy_from_slice(&p[12..16]);
    r[10] = 0;
    r[11] = 0;
    let c = csum(&r[..ihl]);
    r[10..12].copy_from_slice(&c.to_be_bytes());
    r[ihl] = 0;
    r[ihl + 2] = 0;
    r[ihl + 3] = 0;
    let c = csum(&r[ihl..]);
    r[ihl + 2..ihl + 4].copy_from_slice(&c.to_be_bytes());
    Some(r)
}

/// Summary counters printed at the end (the interop tests read them).
#[derive(Default, Debug)]
pub struct Tally {
    /// Data-channel up.
    pub up: bool,
    /// Keepalive pings decrypted.
    pub pings_rx: u64,
    /// Tunnel packets decrypted.
    pub data_rx: u64,
    /// Drops.
    pub dropped: u64,
    /// ICMP echo requests sent through the tunnel.
    pub echo_tx: u64,
    /// ICMP echo replies received through the tunnel (or answered, server side).
    pub echo_rx: u64,
}

fn print_event(tag: &str, e: &Event, t: &mut Tally) {
    if matches!(e, Event::Up { .. }) {
        t.up = true;
    }
    println!("{tag} EVENT {e:?}");
}

/// Client loop over UDP or TCP.
pub fn run_client(
    mut s: Session,
    remote: SocketAddr,
    tcp: bool,
    seconds: u64,
    mut pcap: Option<&mut Pcap>,
    icmp_to: Option<std::net::Ipv4Addr>,
) -> Result<Tally, String> {
    let mut my_ip: Option<std::net::Ipv4Addr> = None;
    let mut next_echo = Instant::now();
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut t = Tally::default();
    let udp;
    let mut stream = None;
    if tcp {
        let st = TcpStream::connect_timeout(&remote, Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        st.set_nodelay(true).map_err(|e| e.to_string())?;
        stream = Some(st);
        udp = None;
    } else {
        let u = UdpSocket::bind(if remote.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        })
        .map_err(|e| e.to_string())?;
        u.connect(remote).map_err(|e| e.to_string())?;
        udp = Some(u);
    }
    s.connect(Instant::now()).map_err(|e| e.to_string())?;
    let mut deframer = Deframer::new(4096);
    let mut buf = vec![0u8; 65536];
    let mut out = vec![0u8; 65536];
    loop {
        let now = Instant::now();
        if now >= end || s.is_down() {
            break;
        }
        while let Some(p) = s.poll_transmit(now) {
            if let Some(pc) = pcap.as_deref_mut() {
                pc.add(now, true, &p);
            }
            if let Some(st) = stream.as_mut() {
                let mut f = vec![0u8; p.len() + 2];
                let n = frame(&p, &mut f).map_err(|e| e.to_string())?;
                st.write_all(&f[..n]).map_err(|e| e.to_string())?;
            } else if let Some(u) = udp.as_ref() {
                let _ = u.send(&p);
            }
        }
        while let Some(e) = s.poll_event() {
            if let Event::Pushed(r) = &e {
                my_ip = r.ifconfig.map(|(a, _)| a);
            }
            print_event("client", &e, &mut t);
        }
        if let (Some(dst), Some(src), true) = (icmp_to, my_ip, s.is_up()) {
            if now >= next_echo {
                next_echo = now + Duration::from_secs(1);
                let pkt = icmp_echo_request(src, dst, t.echo_tx as u16);
                let mut o = vec![0u8; s.sealed_len(pkt.len())];
                if let Ok(n) = s.send_data(now, &pkt, &mut o) {
                    t.echo_tx += 1;
                    o.truncate(n);
                    if let Some(st) = stream.as_mut() {
                        let mut f = vec![0u8; n + 2];
                        if let Ok(m) = frame(&o, &mut f) {
                            let _ = st.write_all(&f[..m]);
                        }
                    } else if let Some(u) = udp.as_ref() {
                        let _ = u.send(&o);
                    }
                }
            }
        }
        let mut deadline = s.poll_timeout().unwrap_or(end).min(end);
        if icmp_to.is_some() {
            deadline = deadline.min(next_echo.max(now + Duration::from_millis(5)));
        }
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let mut pkts: Vec<Vec<u8>> = Vec::new();
        if let Some(st) = stream.as_mut() {
            st.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
            match st.read(&mut buf) {
                Ok(0) => {
                    println!("client tcp closed by peer");
                    break;
                }
                Ok(n) => {
                    deframer.push(&buf[..n]);
                    while let Ok(Some(p)) = deframer.next_packet() {
                        pkts.push(p);
                    }
                }
                Err(_) => {}
            }
        } else if let Some(u) = udp.as_ref() {
            u.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
            if let Ok(n) = u.recv(&mut buf) {
                pkts.push(buf[..n].to_vec());
            }
        }
        let now = Instant::now();
        for p in pkts {
            if let Some(pc) = pcap.as_deref_mut() {
                pc.add(now, false, &p);
            }
            match s.handle_input(now, &p, &mut out) {
                Input::Ping => t.pings_rx += 1,
                Input::Data(n) => {
                    t.data_rx += 1;
                    if is_icmp_echo_reply(&out[..n]) {
                        t.echo_rx += 1;
                    }
                }
                Input::Dropped(why) => {
                    t.dropped += 1;
                    println!("client drop: {why}");
                }
                Input::Control => {}
            }
        }
        if s.poll_timeout().is_some_and(|d| d <= Instant::now()) {
            s.handle_timeout(Instant::now());
        }
    }
    while let Some(e) = s.poll_event() {
        print_event("client", &e, &mut t);
    }
    Ok(t)
}

/// Server loop (UDP: many clients; TCP: one connection at a time).
pub fn run_server(
    mut srv: Server<SocketAddr>,
    listen: SocketAddr,
    tcp: bool,
    seconds: u64,
    mut pcap: Option<&mut Pcap>,
) -> Result<Tally, String> {
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut t = Tally::default();
    let mut buf = vec![0u8; 65536];
    let mut out = vec![0u8; 65536];
    let udp = if tcp {
        None
    } else {
        Some(UdpSocket::bind(listen).map_err(|e| e.to_string())?)
    };
    let listener = if tcp {
        Some(TcpListener::bind(listen).map_err(|e| e.to_string())?)
    } else {
        None
    };
    println!(
        "server listening on {listen} ({})",
        if tcp { "tcp" } else { "udp" }
    );
    let mut stream: Option<(TcpStream, SocketAddr)> = None;
    let mut deframer = Deframer::new(4096);
    if let Some(l) = listener.as_ref() {
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
    }
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if stream.is_none() {
            if let Some(l) = listener.as_ref() {
                if let Ok((st, a)) = l.accept() {
                    let _ = st.set_nonblocking(false);
                    let _ = st.set_nodelay(true);
                    println!("server accepted tcp from {a}");
                    deframer = Deframer::new(4096);
                    stream = Some((st, a));
                }
            }
        }
        while let Some((to, p)) = srv.poll_transmit(now) {
            if let Some(pc) = pcap.as_deref_mut() {
                pc.add(now, true, &p);
            }
            if let Some((st, _)) = stream.as_mut() {
                let mut f = vec![0u8; p.len() + 2];
                if let Ok(n) = frame(&p, &mut f) {
                    let _ = st.write_all(&f[..n]);
                }
            } else if let Some(u) = udp.as_ref() {
                let _ = u.send_to(&p, to);
            }
        }
        while let Some((id, e)) = srv.poll_event() {
            print_event(&format!("server peer {id}"), &e, &mut t);
        }
        let deadline = srv
            .poll_timeout()
            .unwrap_or(end)
            .min(end)
            .min(now + Duration::from_millis(200));
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let mut pkts: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        if let Some((st, a)) = stream.as_mut() {
            st.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
            match st.read(&mut buf) {
                Ok(0) => {
                    println!("server tcp connection closed");
                    stream = None;
                }
                Ok(n) => {
                    deframer.push(&buf[..n]);
                    while let Ok(Some(p)) = deframer.next_packet() {
                        pkts.push((*a, p));
                    }
                }
                Err(_) => {}
            }
        } else if let Some(u) = udp.as_ref() {
            u.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
            if let Ok((n, a)) = u.recv_from(&mut buf) {
                pkts.push((a, buf[..n].to_vec()));
            }
        } else {
            std::thread::sleep(wait);
        }
        let now = Instant::now();
        for (a, p) in pkts {
            if let Some(pc) = pcap.as_deref_mut() {
                pc.add(now, false, &p);
            }
            match srv.handle_input(now, a, &p, &mut out) {
                ServerInput::Data { peer_id, len } => {
                    t.data_rx += 1;
                    if let Some(reply) = icmp_echo_reply_for(&out[..len]) {
                        t.echo_rx += 1;
                        let mut o = vec![0u8; reply.len() + 64];
                        if let Ok((to, n)) = srv.send_data(now, peer_id, &reply, &mut o) {
                            if let Some((st, _)) = stream.as_mut() {
                                let mut f = vec![0u8; n + 2];
                                if let Ok(m) = frame(&o[..n], &mut f) {
                                    let _ = st.write_all(&f[..m]);
                                }
                            } else if let Some(u) = udp.as_ref() {
                                let _ = u.send_to(&o[..n], to);
                            }
                        }
                    }
                }
                ServerInput::Ping { .. } => t.pings_rx += 1,
                ServerInput::Handled => {}
                ServerInput::Dropped(why) => {
                    t.dropped += 1;
                    println!("server drop: {why}");
                }
            }
        }
        if srv.poll_timeout().is_some_and(|d| d <= Instant::now()) {
            srv.handle_timeout(Instant::now());
        }
    }
    while let Some((id, e)) = srv.poll_event() {
        print_event(&format!("server peer {id}"), &e, &mut t);
    }
    Ok(t)
}

/// Demo PKI for the tour (EC P-256, made with openssl, valid 10 years from 2026-11-21).
/// Never use these keys for anything real.
pub mod demo_pki {
    /// ca.crt
    pub const CA_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBijCCAS+gAwIBAgIUD1m43lw2DrtnjwwtQw7RMYXGs38wCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdG91ci1jYTAeFw0yNjExMjEyMjI3NDRaFw0zNjExMTgyMjI3
NDRaMBIxEDAOBgNVBAMMB3RvdXItY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AASYlJPA+9cDZ8rN76TFU/kHqnxHL316A8wjZmvb7x1yN9LbBB6N99ung0VeM+Vk
qzDI+IFffJm/ld3Ox/ZYReCVo2MwYTAdBgNVHQ4EFgQUsr6K5b4V9vkk81+VQTZY
jGlFfiIwHwYDVR0jBBgwFoAUsr6K5b4V9vkk81+VQTZYjGlFfiIwDwYDVR0TAQH/
BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwIDSQAwRgIhAL4zJcul
1NGWOIRR8ne60Mmh3GgXU6h2DRaBidNTS0pjAiEA85hE7WMETLfQXZErOzcPszLc
TMYXaWReasjO64GAusg=
-----END CERTIFICATE-----
";
    /// server.crt
    pub const SERVER_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBnDCCAUKgAwIBAgIUfgIP3Jl6HIP0pkH3CL0RGCHOQ7owCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdG91ci1jYTAeFw0yNjExMjEyMjI3NDVaFw0zNjExMTgyMjI3
NDVaMBYxFDASBgNVBAMMC3RvdXItc2VydmVyMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEBW25oUa2QVeakHfuc1sYRbcoEvPkpkgUZqSXj5cYRp9pc2ixYzbWeEzw
vEpeRgsMBNwE6D/A9Ac13EGtQzxYY6NyMHAwCQYDVR0TBAIwADAOBgNVHQ8BAf8E
BAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHQYDVR0OBBYEFAwldaql3wMcVvH7
1TjyU2i/FidCMB8GA1UdIwQYMBaAFLK+iuW+Ffb5JPNflUE2WIxpRX4iMAoGCCqG
SM49BAMCA0gAMEUCIE3WZaURzS0JERFJiuAr0GVsmLnFLqfEpNk9//CLdPAsAiEA
hniMzHnWD4XLFW1+ctiZQlDAFlLbTHNkPNF2Ku7nbVo=
-----END CERTIFICATE-----
";
    /// server.key
    pub const SERVER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbQ0Bskn89cEU2hGI
5uaS3i8M2zFWhbNMYvcpDidF0pahRANCAAQFbbmhRrZBV5qQd+5zWxhFtygS8+Sm
SBRmpJePlxhGn2lzaLFjNtZ4TPC8Sl5GCwwE3AToP8D0BzXcQa1DPFhj
-----END PRIVATE KEY-----
";
    /// client.crt
    pub const CLIENT_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBnTCCAUKgAwIBAgIUfgIP3Jl6HIP0pkH3CL0RGCHOQ7swCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdG91ci1jYTAeFw0yNjExMjEyMjI3NDVaFw0zNjExMTgyMjI3
NDVaMBYxFDASBgNVBAMMC3RvdXItY2xpZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEaWoQH7BJq/DV0JpbW5NH9C0OYdSXn5BhucKzI3dYk+Aw/0Is8kPI4yEi
2CJDw+TRnF5/qDKfk/pCcXyRzhzEB6NyMHAwCQYDVR0TBAIwADAOBgNVHQ8BAf8E
BAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFLonB7NC2EJQkyUa
3eKnJUE3QwEfMB8GA1UdIwQYMBaAFLK+iuW+Ffb5JPNflUE2WIxpRX4iMAoGCCqG
SM49BAMCA0kAMEYCIQC4dT/sQqCJZCkZUPEkm23kqpOrMMdMySKJLGVZH1dkiAIh
AO5NpjfjDe4yZRl0jtsQikR6Pm5vbho9wZG3VzMAI5Iu
-----END CERTIFICATE-----
";
    /// client.key
    pub const CLIENT_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmyKVjgzAaPsozs85
g61iKpuay6X+3DU3UjZnboK+3XShRANCAARpahAfsEmr8NXQmltbk0f0LQ5h1Jef
kGG5wrMjd1iT4DD/QizyQ8jjISLYIkPD5NGcXn+oMp+T+kJxfJHOHMQH
-----END PRIVATE KEY-----
";
}
