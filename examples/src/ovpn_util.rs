//! Shared code of the `ovpn-client` / `ovpn-server` examples: option parsing, building a
//! `SessionConfig` from OpenVPN-style options, and the I/O loops around the sans-IO `ovpn`
//! state machines (the examples own the clock, the sockets, the TUN/TAP device and the RNG).
//!
//! Each loop has one thread per input (UDP socket, TCP connection, TCP listener, TUN/TAP
//! device) feeding a channel; the main thread owns the state machine, waits on the channel
//! until the machine's next deadline, and writes to the sockets and the device.

use crate::sys::ip;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use ovpn::crypto::{Digest, KeyDirection, StaticKey};
use ovpn::data::{Cipher, Compression};
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
/// --verify-name CN --pcap F --compress lzo-no|stub|stub-v2 --explicit-exit-notify [N]
/// --no-cc-exit --auth-gen-token [LIFETIME[:RENEWAL]] --fragment N --route-nopull
/// --crypto builtin|openssl`.
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
    if let Some(c) = o.get("compress") {
        cfg.compression = match c.as_str() {
            "lzo-no" | "comp-lzo" => Compression::LzoNo,
            "stub" => Compression::Stub,
            "stub-v2" => Compression::StubV2,
            _ => return Err(format!("--compress {c}: lzo-no, stub or stub-v2")),
        };
    }
    if let Some(n) = o.get("explicit-exit-notify") {
        cfg.explicit_exit_notify = if n.is_empty() {
            1
        } else {
            n.parse()
                .map_err(|e| format!("--explicit-exit-notify {n}: {e}"))?
        };
    }
    // `--auth-gen-token [LIFETIME[:RENEWAL]]` (seconds; 0 = no lifetime), one signing key
    // for every session of this server so tokens survive reconnects.
    if let Some(v) = o.get("auth-gen-token") {
        cfg.auth_gen_token = true;
        let mut it = v.split(':').filter(|x| !x.is_empty());
        let num = |x: Option<&str>| -> Result<Option<Duration>, String> {
            match x {
                None => Ok(None),
                Some(x) => match x.parse::<u64>() {
                    Ok(0) => Ok(None),
                    Ok(n) => Ok(Some(Duration::from_secs(n))),
                    Err(e) => Err(format!("--auth-gen-token {v}: {e}")),
                },
            }
        };
        cfg.auth_token_lifetime = num(it.next())?;
        cfg.auth_token_renewal = num(it.next())?;
        let mut rng = OsRng::new().map_err(|e| e.to_string())?;
        cfg.auth_token_key = Some(ovpn::session::AuthTokenKey::random(&mut rng));
    }
    if let Some(f) = o.get("fragment") {
        cfg.fragment = Some(f.parse().map_err(|e| format!("--fragment {f}: {e}"))?);
    }
    match o.get("crypto").map(String::as_str) {
        None | Some("builtin") => {}
        // OpenSSL's libcrypto under the AEAD data-channel ciphers (examples/ovpn-openssl).
        Some("openssl") => {
            println!("CRYPTO AEAD provider: {}", ovpn_openssl::openssl_version());
            cfg.aead_provider = Some(std::sync::Arc::new(ovpn_openssl::OpensslAead));
        }
        Some(c) => return Err(format!("--crypto {c}: builtin or openssl")),
    }
    cfg.cc_exit = !o.contains_key("no-cc-exit");
    cfg.route_nopull = o.contains_key("route-nopull");
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

/// The TUN/TAP device an example moves tunnel packets through (`--dev tun|tap`).
#[derive(Clone, Debug)]
pub struct DevOpts {
    /// TAP (Ethernet frames) instead of TUN (IP packets).
    pub tap: bool,
    /// Interface name (`--dev-name`, default `ovpn0`).
    pub name: String,
    /// Address and prefix length to put on it (`--ifconfig A/len`); a client in pull mode
    /// takes the pushed `ifconfig` when this is absent.
    pub ifconfig: Option<(Ipv4Addr, u8)>,
    /// Interface MTU (`--tun-mtu`, default 1400).
    pub mtu: u16,
}

impl DevOpts {
    /// From `--dev tun|tap [--dev-name N] [--ifconfig A/len] [--tun-mtu M]`; `None` without
    /// `--dev` (or with `--dev null`).
    pub fn from_args(o: &HashMap<String, String>) -> Result<Option<DevOpts>, String> {
        let tap = match o.get("dev").map(String::as_str) {
            None | Some("null") => return Ok(None),
            Some(d) if d.starts_with("tun") => false,
            Some(d) if d.starts_with("tap") => true,
            Some(d) => return Err(format!("--dev {d}: expected tun, tap or null")),
        };
        let ifconfig = match o.get("ifconfig") {
            None => None,
            Some(v) => {
                let (a, l) = v.split_once('/').ok_or(format!("--ifconfig {v}: A/len"))?;
                let a: Ipv4Addr = a.parse().map_err(|e| format!("--ifconfig {v}: {e}"))?;
                let l: u8 = l.parse().map_err(|e| format!("--ifconfig {v}: {e}"))?;
                if l > 32 {
                    return Err(format!("--ifconfig {v}: prefix length > 32"));
                }
                Some((a, l))
            }
        };
        Ok(Some(DevOpts {
            tap,
            name: o.get("dev-name").cloned().unwrap_or_else(|| "ovpn0".into()),
            ifconfig,
            mtu: o
                .get("tun-mtu")
                .map(|m| m.parse().map_err(|e| format!("--tun-mtu {m}: {e}")))
                .transpose()?
                .unwrap_or(1400),
        }))
    }
}

/// Prefix length of a dotted netmask (`255.255.255.0` -> 24).
pub fn prefix_len(mask: Ipv4Addr) -> u8 {
    u32::from(mask).count_ones() as u8
}

/// What the reader threads hand the main loop.
enum Ev {
    /// A whole OpenVPN packet from the network (TCP already de-framed).
    Net(SocketAddr, Vec<u8>),
    /// The TCP connection to this address closed.
    NetClosed(SocketAddr),
    /// A new TCP connection (server).
    Accepted(TcpStream, SocketAddr),
    /// A packet/frame the kernel sent into the TUN/TAP device.
    Dev(Vec<u8>),
}

/// Open the device, put the address on it, bring it up, and start a thread reading it.
/// Returns the handle the main loop writes decrypted packets to.
fn open_dev(d: &DevOpts, addr: Option<(Ipv4Addr, u8)>, tx: Sender<Ev>) -> Result<File, String> {
    let f = crate::sys::open_tun(&d.name, d.tap, false)?;
    let mtu = d.mtu.to_string();
    ip(&["link", "set", "dev", &d.name, "mtu", &mtu, "up"])?;
    if let Some((a, l)) = d.ifconfig.or(addr) {
        ip(&["addr", "add", &format!("{a}/{l}"), "dev", &d.name])?;
    }
    let mut r = f.try_clone().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 || tx.send(Ev::Dev(buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    println!(
        "DEV {} up ({}, mtu {}, address {:?})",
        d.name,
        if d.tap { "tap" } else { "tun" },
        d.mtu,
        d.ifconfig.or(addr)
    );
    Ok(f)
}

/// Apply a PUSH_REPLY to the device inside our namespace: `ifconfig-ipv6`, `route`,
/// `route-ipv6` and `redirect-gateway` (`def1` or not: 0.0.0.0/1 + 128.0.0.0/1 over the
/// default route, which stays; with the `ipv6` flag also 2000::/4 + 3000::/4; `!ipv4`
/// skips the IPv4 halves). With `--route-nopull` the library has already removed the
/// routes. Each change is printed as `ROUTE ...`; failures are printed, not fatal.
fn install_pushed(dev: &str, r: &ovpn::push::PushReply) {
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    if let Some((a, l)) = r.ifconfig_ipv6 {
        cmds.push(s(&["-6", "addr", "add", &format!("{a}/{l}"), "dev", dev]));
    }
    for rt in &r.routes {
        let Ok(net) = rt.network.parse::<Ipv4Addr>() else {
            println!("ROUTE skipped (network {:?})", rt.network);
            continue;
        };
        let len = rt
            .netmask
            .as_deref()
            .and_then(|m| m.parse::<Ipv4Addr>().ok())
            .map_or(32, prefix_len);
        let mut c = s(&["route", "add", &format!("{net}/{len}")]);
        if let Some(gw) = rt
            .gateway
            .as_deref()
            .filter(|g| g.parse::<Ipv4Addr>().is_ok())
        {
            c.extend(s(&["via", gw]));
        }
        c.extend(s(&["dev", dev]));
        if let Some(m) = rt.metric {
            c.extend(s(&["metric", &m.to_string()]));
        }
        cmds.push(c);
    }
    for rt in &r.routes_ipv6 {
        if let Some(net) = rt.split_whitespace().next() {
            cmds.push(s(&["-6", "route", "add", net, "dev", dev]));
        }
    }
    if let Some(flags) = &r.redirect_gateway {
        let has = |f: &str| flags.iter().any(|x| x == f);
        if !has("!ipv4") {
            for half in ["0.0.0.0/1", "128.0.0.0/1"] {
                cmds.push(s(&["route", "add", half, "dev", dev]));
            }
        }
        if has("ipv6") {
            for part in ["2000::/4", "3000::/4"] {
                cmds.push(s(&["-6", "route", "add", part, "dev", dev]));
            }
        }
    }
    for c in cmds {
        let a: Vec<&str> = c.iter().map(String::as_str).collect();
        match ip(&a) {
            Ok(()) => println!("ROUTE ip {}", c.join(" ")),
            Err(e) => println!("ROUTE failed: {e}"),
        }
    }
}

fn spawn_udp_reader(sock: UdpSocket, tx: Sender<Ev>) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            match sock.recv_from(&mut buf) {
                Ok((n, a)) => {
                    if tx.send(Ev::Net(a, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
                // A connected UDP socket reports ICMP errors (port unreachable while the
                // peer restarts) on receive: transient, keep reading.
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    });
}

fn spawn_tcp_reader(mut st: TcpStream, peer: SocketAddr, tx: Sender<Ev>) {
    std::thread::spawn(move || {
        let mut deframer = Deframer::new(4096);
        let mut buf = vec![0u8; 65536];
        loop {
            match st.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Ev::NetClosed(peer));
                    break;
                }
                Ok(n) => {
                    deframer.push(&buf[..n]);
                    while let Ok(Some(p)) = deframer.next_packet() {
                        if tx.send(Ev::Net(peer, p)).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
}

/// Where the main loop writes OpenVPN packets: one UDP socket, or TCP streams by peer.
enum Link {
    Udp(UdpSocket),
    Tcp(HashMap<SocketAddr, TcpStream>),
}

impl Link {
    fn send(&mut self, to: SocketAddr, p: &[u8]) {
        match self {
            Link::Udp(u) => {
                let _ = u.send_to(p, to);
            }
            Link::Tcp(m) => {
                if let Some(st) = m.get_mut(&to) {
                    let mut f = vec![0u8; p.len() + 2];
                    if let Ok(n) = frame(p, &mut f) {
                        let _ = st.write_all(&f[..n]);
                    }
                }
            }
        }
    }
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
    /// Packets read from the TUN/TAP device and sent into the tunnel.
    pub dev_tx: u64,
    /// Decrypted packets written to the TUN/TAP device.
    pub dev_rx: u64,
}

/// Print the `RESULT up=.. pings_rx=.. data_rx=.. dropped=.. dev_tx=.. dev_rx=..` line the
/// interop tests read and exit: 0 when the data channel came up, 1 when not, 2 on error.
pub fn exit_with(program: &str, r: Result<Tally, String>) -> ! {
    match r {
        Ok(t) => {
            println!(
                "RESULT up={} pings_rx={} data_rx={} dropped={} dev_tx={} dev_rx={}",
                t.up, t.pings_rx, t.data_rx, t.dropped, t.dev_tx, t.dev_rx
            );
            std::process::exit(if t.up { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::exit(2)
        }
    }
}

fn print_event(tag: &str, e: &Event, t: &mut Tally) {
    if matches!(e, Event::Up { .. }) {
        t.up = true;
    }
    println!("{tag} EVENT {e:?}");
}

/// Client loop over UDP or TCP; with `dev`, tunnel packets go to and come from a TUN/TAP
/// device (opened at once if it has an address, else when the server pushes `ifconfig`).
pub fn run_client(
    mut s: Session,
    remote: SocketAddr,
    tcp: bool,
    seconds: u64,
    mut pcap: Option<&mut Pcap>,
    dev: Option<DevOpts>,
) -> Result<Tally, String> {
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut t = Tally::default();
    let (tx, rx) = channel();
    let mut link = if tcp {
        let st = TcpStream::connect_timeout(&remote, Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        st.set_nodelay(true).map_err(|e| e.to_string())?;
        spawn_tcp_reader(
            st.try_clone().map_err(|e| e.to_string())?,
            remote,
            tx.clone(),
        );
        Link::Tcp(HashMap::from([(remote, st)]))
    } else {
        let u = UdpSocket::bind(if remote.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        })
        .map_err(|e| e.to_string())?;
        u.connect(remote).map_err(|e| e.to_string())?;
        spawn_udp_reader(u.try_clone().map_err(|e| e.to_string())?, tx.clone());
        Link::Udp(u)
    };
    let mut devf: Option<File> = None;
    if let Some(d) = dev.as_ref().filter(|d| d.ifconfig.is_some()) {
        devf = Some(open_dev(d, None, tx.clone())?);
    }
    s.connect(Instant::now()).map_err(|e| e.to_string())?;
    let mut out = vec![0u8; 65536];
    let mut closing = false;
    loop {
        let now = Instant::now();
        if s.is_down() || now >= end + Duration::from_secs(10) {
            break;
        }
        if now >= end && !closing {
            // Time is up: say goodbye (control-channel EXIT, or OCC EXIT with
            // --explicit-exit-notify, which keeps the session alive until the last one).
            closing = true;
            println!("client closing");
            s.close(now);
        }
        while let Some(p) = s.poll_transmit(now) {
            if let Some(pc) = pcap.as_deref_mut() {
                pc.add(now, true, &p);
            }
            link.send(remote, &p);
        }
        while let Some(e) = s.poll_event() {
            if let (Event::Pushed(r), Some(d)) = (&e, dev.as_ref()) {
                if devf.is_none() {
                    let addr = r.ifconfig.map(|(a, m)| (a, prefix_len(m)));
                    devf = Some(open_dev(d, addr, tx.clone())?);
                }
                install_pushed(&d.name, r);
            }
            print_event("client", &e, &mut t);
        }
        let deadline = match closing {
            true => s.poll_timeout().unwrap_or(now),
            false => s.poll_timeout().unwrap_or(end).min(end),
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Ev::Net(_, p)) => {
                let now = Instant::now();
                if let Some(pc) = pcap.as_deref_mut() {
                    pc.add(now, false, &p);
                }
                match s.handle_input(now, &p, &mut out) {
                    Input::Ping => t.pings_rx += 1,
                    Input::Data(n) => {
                        t.data_rx += 1;
                        if let Some(f) = devf.as_mut() {
                            if f.write_all(&out[..n]).is_ok() {
                                t.dev_rx += 1;
                            }
                        }
                    }
                    Input::Dropped(why) => {
                        t.dropped += 1;
                        println!("client drop: {why}");
                    }
                    Input::Control => {}
                }
            }
            Ok(Ev::Dev(p)) => {
                let now = Instant::now();
                if s.is_up() {
                    let mut o = vec![0u8; s.sealed_len(p.len())];
                    if let Ok(n) = s.send_data(now, &p, &mut o) {
                        t.dev_tx += 1;
                        if let Some(pc) = pcap.as_deref_mut() {
                            pc.add(now, true, &o[..n]);
                        }
                        link.send(remote, &o[..n]);
                    }
                }
            }
            Ok(Ev::NetClosed(_)) => {
                println!("client tcp closed by peer");
                break;
            }
            Ok(Ev::Accepted(..)) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
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

/// How the server finds the client for a packet the kernel wrote into its device: TUN by
/// the IPv4 destination (the pool address it pushed, or any source address seen from the
/// client), TAP by the learned source MAC addresses (unknown and multicast destinations
/// are flooded to every client).
#[derive(Default)]
struct Router {
    by_ip: HashMap<Ipv4Addr, u32>,
    by_mac: HashMap<[u8; 6], u32>,
    up: Vec<u32>,
}

impl Router {
    fn learn(&mut self, tap: bool, peer: u32, p: &[u8]) {
        if tap {
            if let Some(m) = p.get(6..12).and_then(|m| <[u8; 6]>::try_from(m).ok()) {
                if m[0] & 1 == 0 {
                    self.by_mac.insert(m, peer);
                }
            }
        } else if let Some(a) = ipv4_at(p, 12) {
            self.by_ip.insert(a, peer);
        }
    }

    fn forget(&mut self, peer: u32) {
        self.by_ip.retain(|_, p| *p != peer);
        self.by_mac.retain(|_, p| *p != peer);
        self.up.retain(|p| *p != peer);
    }

    fn route(&self, tap: bool, p: &[u8]) -> Vec<u32> {
        let hit = if tap {
            p.get(..6)
                .and_then(|m| <[u8; 6]>::try_from(m).ok())
                .and_then(|m| self.by_mac.get(&m))
        } else {
            ipv4_at(p, 16).and_then(|a| self.by_ip.get(&a))
        };
        match hit {
            Some(p) => vec![*p],
            None if tap => self.up.clone(),
            None => Vec::new(),
        }
    }
}

fn ipv4_at(p: &[u8], off: usize) -> Option<Ipv4Addr> {
    if p.first()? >> 4 != 4 {
        return None;
    }
    let b: [u8; 4] = p.get(off..off + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

/// Where and how long [`run_server`] serves.
pub struct ServeOpts {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// TCP instead of UDP.
    pub tcp: bool,
    /// Run time.
    pub seconds: u64,
    /// At the end, send `RESTART` (`Some(true)`: `RESTART,[N]`) to every client (UDP).
    pub exit_notify: Option<bool>,
}

/// Server loop (UDP: many clients on one socket; TCP: one connection per client). With
/// `dev`, packets move between the clients and a TUN/TAP device; a client is routed to by
/// the address the server's pool gave it (before it has sent anything) and by the source
/// addresses seen from it. Accounting records are printed when sessions end.
pub fn run_server(
    mut srv: Server<SocketAddr>,
    so: ServeOpts,
    mut pcap: Option<&mut Pcap>,
    dev: Option<DevOpts>,
) -> Result<Tally, String> {
    let ServeOpts {
        listen,
        tcp,
        seconds,
        exit_notify,
    } = so;
    let mut end = Instant::now() + Duration::from_secs(seconds);
    let mut shutting_down = false;
    let mut t = Tally::default();
    let (tx, rx) = channel();
    let mut link = if tcp {
        let l = TcpListener::bind(listen).map_err(|e| e.to_string())?;
        let tx = tx.clone();
        std::thread::spawn(move || {
            while let Ok((st, a)) = l.accept() {
                if tx.send(Ev::Accepted(st, a)).is_err() {
                    break;
                }
            }
        });
        Link::Tcp(HashMap::new())
    } else {
        let u = UdpSocket::bind(listen).map_err(|e| e.to_string())?;
        spawn_udp_reader(u.try_clone().map_err(|e| e.to_string())?, tx.clone());
        Link::Udp(u)
    };
    println!(
        "server listening on {listen} ({})",
        if tcp { "tcp" } else { "udp" }
    );
    let tap = dev.as_ref().is_some_and(|d| d.tap);
    let mut devf = match dev.as_ref() {
        Some(d) => Some(open_dev(d, None, tx.clone())?),
        None => None,
    };
    let mut router = Router::default();
    let mut out = vec![0u8; 65536];
    loop {
        let now = Instant::now();
        if now >= end {
            match exit_notify {
                // explicit-exit-notify: RESTART to every client, then up to 3 s for acks.
                Some(next) if !tcp && !shutting_down => {
                    shutting_down = true;
                    end = now + Duration::from_secs(3);
                    println!("server shutdown: sending RESTART");
                    srv.shutdown(now, next);
                }
                _ => break,
            }
        }
        if shutting_down && srv.is_shut_down() {
            break;
        }
        while let Some((to, p)) = srv.poll_transmit(now) {
            if let Some(pc) = pcap.as_deref_mut() {
                pc.add(now, true, &p);
            }
            link.send(to, &p);
        }
        while let Some((id, e)) = srv.poll_event() {
            match &e {
                Event::Up { .. } => {
                    router.up.push(id);
                    if let Some(a) = srv.assigned_address(id) {
                        router.by_ip.insert(a, id);
                    }
                }
                Event::Down(_) => router.forget(id),
                _ => {}
            }
            print_event(&format!("server peer {id}"), &e, &mut t);
        }
        let deadline = srv.poll_timeout().unwrap_or(end).min(end);
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Ev::Net(a, p)) => {
                let now = Instant::now();
                if let Some(pc) = pcap.as_deref_mut() {
                    pc.add(now, false, &p);
                }
                match srv.handle_input(now, a, &p, &mut out) {
                    ServerInput::Data { peer_id, len } => {
                        t.data_rx += 1;
                        let pkt = &out[..len];
                        router.learn(tap, peer_id, pkt);
                        if let Some(f) = devf.as_mut() {
                            if f.write_all(pkt).is_ok() {
                                t.dev_rx += 1;
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
            Ok(Ev::Dev(p)) => {
                let now = Instant::now();
                for peer in router.route(tap, &p) {
                    let mut o = vec![0u8; p.len() + 128];
                    if let Ok((to, n)) = srv.send_data(now, peer, &p, &mut o) {
                        t.dev_tx += 1;
                        if let Some(pc) = pcap.as_deref_mut() {
                            pc.add(now, true, &o[..n]);
                        }
                        link.send(to, &o[..n]);
                    }
                }
            }
            Ok(Ev::Accepted(st, a)) => {
                let _ = st.set_nodelay(true);
                println!("server tcp connection from {a}");
                if let (Link::Tcp(m), Ok(r)) = (&mut link, st.try_clone()) {
                    spawn_tcp_reader(r, a, tx.clone());
                    m.insert(a, st);
                }
            }
            Ok(Ev::NetClosed(a)) => {
                println!("server tcp connection {a} closed");
                if let Link::Tcp(m) = &mut link {
                    m.remove(&a);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if srv.poll_timeout().is_some_and(|d| d <= Instant::now()) {
            srv.handle_timeout(Instant::now());
        }
    }
    while let Some((id, e)) = srv.poll_event() {
        print_event(&format!("server peer {id}"), &e, &mut t);
    }
    let st = srv.stateless_stats();
    println!(
        "server stateless: resets_answered={} sessions_created={} cookies_rejected={}",
        st.resets_answered, st.sessions_created, st.cookies_rejected
    );
    drop(devf.take());
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
