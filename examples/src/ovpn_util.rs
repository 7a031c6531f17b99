//! Shared code of the `ovpn-client` / `ovpn-server` examples: option parsing, building a
//! `SessionConfig` from OpenVPN-style options, and the I/O loops around the sans-IO `ovpn`
//! state machines (the examples own the clock, the sockets, the TUN/TAP device and the RNG).
//!
//! Each loop is one thread around poll(2) over non-blocking descriptors (UDP socket, TCP
//! listener and connections, TUN/TAP device): it owns the state machine, waits until a
//! descriptor is ready or the machine's next deadline, and writes to the sockets and the
//! device. A TCP server holds a bounded number of connections (in total and per source
//! address), closes those whose session is not up after a handshake timeout or that stay
//! silent, and bounds what it queues for a peer that does not read. Drops are printed a few
//! per interval and then summarised, so a flood cannot grow the log without bound.

use crate::sys::ip;
use crate::udp_batch::{GroReceiver, GsoSender};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use ovpn::crypto::{Digest, KeyDirection, StaticKey};
use ovpn::data::{Cipher, Compression};
use ovpn::event::{DropReason, Event};
use ovpn::protect::{TlsCryptV2ClientKey, TlsCryptV2ServerKey};
use ovpn::server::{Server, ServerInput};
use ovpn::session::{Input, Role, Session, SessionConfig, TlsFactory, WrapConfig};
use ovpn::tls::{RustlsEngine, TlsEngine, TlsMaterial};
use ovpn::wire::tcp::{frame, Deframer};

pub use crate::sys::OsRng;

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
    /// `--crypto openssl`: the provider (its call counter proves it did the work).
    pub openssl: Option<crate::openssl_backend::OpensslAead>,
}

/// Build from OpenVPN-like options (the map [`crate::ovpn_cli::OvpnOpts::to_map`] makes, keys
/// without the dashes): `--proto udp|tcp --ca F --cert F --key F --tls-auth F
/// --key-direction 0|1 --tls-crypt F --tls-crypt-v2 F --cipher C --data-ciphers A:B
/// --auth D --p2p --ping N --ping-restart N --reneg-sec N --seconds N --user U --pass P
/// --verify-name CN --pcap F --compress lzo-no|stub|stub-v2 --explicit-exit-notify [N]
/// --no-cc-exit --auth-gen-token [LIFETIME[:RENEWAL]] --fragment N --route-nopull
/// --crypto builtin|openssl --hand-window N`.
pub fn common(role: Role, o: &HashMap<String, String>) -> Result<Common, String> {
    let mut cfg = SessionConfig::new(role);
    cfg.transport = if o.get("proto").is_some_and(|p| p.starts_with("tcp")) {
        ovpn::Protocol::Tcp
    } else {
        ovpn::Protocol::Udp
    };
    if o.get("dev").is_some_and(|d| d.starts_with("tap")) {
        cfg.mode = ovpn::Mode::Ethernet;
    }
    if let Some(m) = o.get("tun-mtu") {
        cfg.tun_mtu = m.parse().map_err(|e| format!("--tun-mtu {m}: {e}"))?;
    }
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
    }
    if o.get("cipher").is_none() {
        // OpenVPN's `cipher` default (its options string, the fixed-cipher fall-back).
        cfg.cipher = Cipher::BfCbc;
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
    let mut openssl = None;
    match o.get("crypto").map(String::as_str) {
        None | Some("builtin") => {}
        // OpenSSL's libcrypto under the AEAD data-channel ciphers (examples/openssl-aead);
        // a cipher it declines stops the data channel (no silent fall-back).
        Some("openssl") => {
            let (p, version) = crate::openssl_backend::provider()?;
            println!("CRYPTO AEAD provider: {version}");
            cfg.aead_provider = Some(std::sync::Arc::new(p.clone()));
            openssl = Some(p);
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
    if let Some(h) = secs("hand-window") {
        cfg.hand_window = Duration::from_secs(h);
    }
    if let (Some(u), Some(p)) = (o.get("user"), o.get("pass")) {
        cfg.credentials = Some((u.clone(), p.clone()));
    }
    cfg.unix_time = unix_now();
    if DevOpts::from_args(o)?.is_none() {
        // No device (OpenVPN's `dev null`): that is what the options string says.
        cfg.options_string = ovpn::occ::local_options_string(&ovpn::occ::OccParams {
            role,
            mode: cfg.mode,
            transport: cfg.transport,
            tun_mtu: cfg.tun_mtu,
            cipher: cfg.cipher,
            auth: cfg.auth,
            compression: cfg.compression,
            fragment: cfg.fragment.is_some(),
            tls_auth: match &cfg.wrap {
                WrapConfig::TlsAuth { direction, .. } => Some(*direction),
                _ => None,
            },
        })
        .replacen("dev-type tun", "dev-type null", 1);
    }
    let tls = TlsMaterial {
        ca_pem: o.get("ca").map(|f| read(f)).transpose()?,
        cert_pem: o.get("cert").map(|f| read(f)).transpose()?,
        key_pem: o.get("key").map(|f| read(f)).transpose()?,
        version: if o.contains_key("tls-1.2") {
            ovpn::tls::TlsVersion::Only12
        } else {
            ovpn::tls::TlsVersion::Any
        },
        verify: ovpn::PeerVerify {
            remote_cert_tls: o.contains_key("remote-cert-tls"),
            x509_name: o.get("verify-x509-name").map(|n| match n.rsplit_once(':') {
                Some((v, "subject")) => ovpn::X509Name::Subject(v.into()),
                Some((v, "name-prefix")) => ovpn::X509Name::NamePrefix(v.into()),
                Some((v, "name")) => ovpn::X509Name::Name(v.into()),
                _ => ovpn::X509Name::Name(n.clone()),
            }),
            host: None,
        },
    };
    Ok(Common {
        cfg,
        tls,
        tcp: o.get("proto").is_some_and(|p| p.starts_with("tcp")),
        seconds: secs("seconds").unwrap_or(10),
        verify_name: o.get("verify-name").cloned(),
        pcap: o.get("pcap").cloned(),
        openssl,
    })
}

/// RouterOS-style settings (`name=value` words, RouterOS property names), in order.
pub fn routeros_words(args: &[String]) -> Vec<(String, String)> {
    args.iter()
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn yes(k: &str, v: &str) -> Result<bool, String> {
    match v {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("{k}={v}: yes or no")),
    }
}

fn ros_cipher(v: &str) -> Result<Cipher, String> {
    Cipher::from_name(v).ok_or(format!("cipher={v}"))
}

fn ros_auth(v: &str) -> Result<Digest, String> {
    match v {
        "null" => Ok(Digest::None),
        _ => Digest::from_name(v).ok_or(format!("auth={v}")),
    }
}

fn ros_certificate(
    words: &[(String, String)],
) -> Result<(Option<ovpn::Certificate>, Option<String>), String> {
    let get = |k: &str| words.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v);
    let cert = match get("certificate").filter(|v| *v != "none") {
        None => None,
        Some(c) => {
            let key = get("certificate-key")
                .cloned()
                .unwrap_or_else(|| c.trim_end_matches(".crt").to_string() + ".key");
            Some(ovpn::Certificate {
                cert_pem: read(c)?,
                key_pem: read(&key)?,
            })
        }
    };
    let ca = get("ca-certificate").map(|f| read(f)).transpose()?;
    Ok((cert, ca))
}

/// `/interface ovpn-client` from RouterOS-style words (`connect-to=.. port=.. protocol=..
/// mode=.. user=.. password=.. cipher=.. auth=.. tls-version=any|only-1.2
/// verify-server-certificate=yes|no use-peer-dns=.. route-nopull=.. max-mtu=.. profile=..
/// certificate=FILE.crt [certificate-key=FILE] ca-certificate=FILE`; the certificate
/// store is files here).
pub fn routeros_client(words: &[(String, String)]) -> Result<ovpn::ClientConfig, String> {
    let mut c = ovpn::ClientConfig::default();
    for (k, v) in words {
        match k.as_str() {
            "connect-to" => c.connect_to = v.clone(),
            "port" => c.port = v.parse().map_err(|e| format!("port={v}: {e}"))?,
            "protocol" => c.protocol = ros_protocol(v)?,
            "mode" => c.mode = ros_mode(v)?,
            "user" => c.user = v.clone(),
            "password" => c.password = v.clone(),
            "cipher" => c.cipher = ros_cipher(v)?,
            "auth" => c.auth = ros_auth(v)?,
            "tls-version" => c.tls_version = ros_tls_version(v)?,
            "verify-server-certificate" => c.verify_server_certificate = yes(k, v)?,
            "use-peer-dns" => c.use_peer_dns = yes(k, v)?,
            "route-nopull" => c.route_nopull = yes(k, v)?,
            "add-default-route" => c.add_default_route = yes(k, v)?,
            "max-mtu" => c.max_mtu = v.parse().map_err(|e| format!("max-mtu={v}: {e}"))?,
            "profile" => c.profile = v.clone(),
            "certificate" | "certificate-key" | "ca-certificate" => {}
            _ => return Err(format!("unknown ovpn-client property {k}")),
        }
    }
    let (cert, ca) = ros_certificate(words)?;
    c.certificate = cert;
    c.trusted_ca_pem = ca;
    c.validate().map_err(|e| e.to_string())?;
    Ok(c)
}

fn ros_protocol(v: &str) -> Result<ovpn::Protocol, String> {
    match v {
        "tcp" => Ok(ovpn::Protocol::Tcp),
        "udp" => Ok(ovpn::Protocol::Udp),
        _ => Err(format!("protocol={v}: tcp or udp")),
    }
}

fn ros_mode(v: &str) -> Result<ovpn::Mode, String> {
    match v {
        "ip" => Ok(ovpn::Mode::Ip),
        "ethernet" => Ok(ovpn::Mode::Ethernet),
        _ => Err(format!("mode={v}: ip or ethernet")),
    }
}

fn ros_tls_version(v: &str) -> Result<ovpn::TlsVersion, String> {
    match v {
        "any" => Ok(ovpn::TlsVersion::Any),
        "only-1.2" => Ok(ovpn::TlsVersion::Only12),
        _ => Err(format!("tls-version={v}: any or only-1.2")),
    }
}

/// `/interface ovpn-server server` from RouterOS-style words (`port= protocol= mode=
/// cipher=a,b auth=a,b netmask= keepalive-timeout=N|disabled reneg-sec= max-mtu=
/// require-client-certificate= redirect-gateway=disabled|def1|ipv6 enable-tun-ipv6=
/// ipv6-prefix-len= tun-server-ipv6= push-routes= tls-version= default-profile=
/// user-auth-method=pap|mschap2 certificate=FILE.crt ca-certificate=FILE`).
pub fn routeros_server(words: &[(String, String)]) -> Result<ovpn::ServerConfig, String> {
    let mut c = ovpn::ServerConfig::default();
    let list = |v: &str| {
        v.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for (k, v) in words {
        match k.as_str() {
            "port" => c.port = v.parse().map_err(|e| format!("port={v}: {e}"))?,
            "protocol" => c.protocol = ros_protocol(v)?,
            "mode" => c.mode = ros_mode(v)?,
            "cipher" => {
                c.cipher = list(v)
                    .iter()
                    .map(|x| ros_cipher(x))
                    .collect::<Result<_, _>>()?
            }
            "auth" => {
                c.auth = list(v)
                    .iter()
                    .map(|x| ros_auth(x))
                    .collect::<Result<_, _>>()?
            }
            "netmask" => c.netmask = v.parse().map_err(|e| format!("netmask={v}: {e}"))?,
            "keepalive-timeout" => {
                c.keepalive_timeout = match v.as_str() {
                    "disabled" => None,
                    n => Some(Duration::from_secs(
                        n.parse()
                            .map_err(|e| format!("keepalive-timeout={v}: {e}"))?,
                    )),
                }
            }
            "reneg-sec" => c.reneg_sec = v.parse().map_err(|e| format!("reneg-sec={v}: {e}"))?,
            "max-mtu" => c.max_mtu = v.parse().map_err(|e| format!("max-mtu={v}: {e}"))?,
            "require-client-certificate" => c.require_client_certificate = yes(k, v)?,
            "redirect-gateway" => {
                c.redirect_gateway = match v.as_str() {
                    "disabled" => ovpn::config::RedirectGateway::Disabled,
                    "def1" => ovpn::config::RedirectGateway::Def1,
                    "ipv6" => ovpn::config::RedirectGateway::Ipv6,
                    _ => return Err(format!("redirect-gateway={v}")),
                }
            }
            "enable-tun-ipv6" => c.enable_tun_ipv6 = yes(k, v)?,
            "ipv6-prefix-len" => {
                c.ipv6_prefix_len = v.parse().map_err(|e| format!("ipv6-prefix-len={v}: {e}"))?
            }
            "tun-server-ipv6" => {
                c.tun_server_ipv6 = v.parse().map_err(|e| format!("tun-server-ipv6={v}: {e}"))?
            }
            "push-routes" => c.push_routes = v.clone(),
            "tls-version" => c.tls_version = ros_tls_version(v)?,
            "default-profile" => c.default_profile = v.clone(),
            "user-auth-method" => {
                c.user_auth_method = match v.as_str() {
                    "pap" => ovpn::UserAuthMethod::Pap,
                    "mschap2" => ovpn::UserAuthMethod::Mschap2,
                    _ => return Err(format!("user-auth-method={v}: pap or mschap2")),
                }
            }
            "certificate" | "certificate-key" | "ca-certificate" => {}
            _ => return Err(format!("unknown ovpn-server property {k}")),
        }
    }
    let (cert, ca) = ros_certificate(words)?;
    c.certificate = cert;
    c.trusted_ca_pem = ca;
    c.validate().map_err(|e| e.to_string())?;
    Ok(c)
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
    /// Interface MTU (`--tun-mtu`, default 1500 like OpenVPN's `tun-mtu`).
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
                .unwrap_or(1500),
        }))
    }
}

/// Prefix length of a dotted netmask (`255.255.255.0` -> 24).
pub fn prefix_len(mask: Ipv4Addr) -> u8 {
    u32::from(mask).count_ones() as u8
}

/// Wait until one of `fds` is ready or `timeout` passes (poll(2)); EINTR counts as a
/// timeout.
fn wait(fds: &mut [libc::pollfd], timeout: Duration) -> Result<(), String> {
    let ms = i32::try_from(timeout.as_millis().min(60_000)).unwrap_or(60_000);
    // SAFETY: `fds` is a valid, exclusively borrowed slice of `pollfd` for the whole call,
    // and its length is passed with it.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("poll: {e}"));
        }
    }
    Ok(())
}

fn pollfd(fd: i32, out: bool) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN | if out { libc::POLLOUT } else { 0 },
        revents: 0,
    }
}

/// Open the device (non-blocking), put the address on it and bring it up.
fn open_dev(d: &DevOpts, addr: Option<(Ipv4Addr, u8)>) -> Result<File, String> {
    let f = crate::sys::open_tun(&d.name, d.tap, true)?;
    let mtu = d.mtu.to_string();
    ip(&["link", "set", "dev", &d.name, "mtu", &mtu, "up"])?;
    if let Some((a, l)) = d.ifconfig.or(addr) {
        ip(&["addr", "add", &format!("{a}/{l}"), "dev", &d.name])?;
    }
    println!(
        "DEV {} up ({}, mtu {}, address {:?})",
        d.name,
        if d.tap { "tap" } else { "tun" },
        d.mtu,
        d.ifconfig.or(addr)
    );
    Ok(f)
}

/// Read every packet the kernel has for the device now.
fn read_dev(f: &mut File, buf: &mut [u8], mut each: impl FnMut(&[u8])) {
    for _ in 0..256 {
        match f.read(buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => each(&buf[..n]),
        }
    }
}

/// Sealed UDP datagrams waiting to go out together: a slot per datagram, allocated once, sent
/// per destination through [`GsoSender`] (runs of equal size in one GSO `sendmsg`).
struct TxBatch {
    bufs: Vec<Vec<u8>>,
    items: Vec<(SocketAddr, usize, usize)>,
    gso: GsoSender,
}

impl TxBatch {
    const SLOTS: usize = 64;

    fn new() -> Self {
        TxBatch {
            bufs: vec![vec![0u8; 65_536 + 256]; Self::SLOTS],
            items: Vec::with_capacity(Self::SLOTS),
            gso: GsoSender::new(),
        }
    }

    /// The next free slot's buffer.
    fn slot(&mut self) -> &mut [u8] {
        let i = self.items.len();
        &mut self.bufs[i]
    }

    /// The slot just written holds a datagram of `len` bytes for `to`; when every slot is
    /// used the batch goes out.
    fn commit(&mut self, u: &UdpSocket, to: SocketAddr, len: usize) {
        let i = self.items.len();
        self.items.push((to, i, len));
        if self.items.len() == Self::SLOTS {
            self.flush(u);
        }
    }

    /// One line of UDP counters (printed at exit).
    fn report(&self, gro: Option<&GroReceiver>) {
        let tx = self.gso.stats();
        println!(
            "UDP tx datagrams={} calls={} dropped={} gso={} last_error={:?}",
            tx.datagrams,
            tx.calls,
            tx.dropped,
            self.gso.gso(),
            tx.last_error.map(std::io::Error::from_raw_os_error)
        );
        if let Some(rx) = gro {
            let r = rx.stats();
            println!(
                "UDP rx datagrams={} buffers={} calls={} gro={}",
                r.datagrams,
                r.buffers,
                r.calls,
                rx.gro()
            );
        }
    }

    fn flush(&mut self, u: &UdpSocket) {
        let mut k = 0;
        while k < self.items.len() {
            let to = self.items[k].0;
            let mut j = k;
            while j < self.items.len() && self.items[j].0 == to {
                j += 1;
            }
            let mut segs: [&[u8]; Self::SLOTS] = [&[]; Self::SLOTS];
            for (seg, &(_, i, len)) in segs.iter_mut().zip(&self.items[k..j]) {
                *seg = &self.bufs[i][..len];
            }
            self.gso.send(u, to, &segs[..j - k]);
            k = j;
        }
        self.items.clear();
    }
}

/// Most bytes queued for one TCP peer that does not read; beyond it the connection is
/// closed (a slow reader cannot make us hold more).
const MAX_TCP_BACKLOG: usize = 256 * 1024;

/// One TCP connection: de-framing on input, a bounded backlog on output.
struct TcpConn {
    st: TcpStream,
    deframer: Deframer,
    out: Vec<u8>,
    accepted: Instant,
    last_rx: Instant,
}

impl TcpConn {
    fn new(st: TcpStream, now: Instant) -> std::io::Result<Self> {
        st.set_nonblocking(true)?;
        st.set_nodelay(true)?;
        Ok(TcpConn {
            st,
            deframer: Deframer::new(4096),
            out: Vec::new(),
            accepted: now,
            last_rx: now,
        })
    }

    /// Read what is there: whole OpenVPN packets, or `Err` when the peer closed, sent a
    /// bad frame, or the connection failed.
    fn read_packets(&mut self, now: Instant, buf: &mut [u8]) -> Result<Vec<Vec<u8>>, ()> {
        let mut pkts = Vec::new();
        loop {
            match self.st.read(buf) {
                Ok(0) => return Err(()),
                Ok(n) => {
                    self.last_rx = now;
                    self.deframer.push(&buf[..n]);
                    loop {
                        match self.deframer.next_packet() {
                            Ok(Some(p)) => pkts.push(p),
                            Ok(None) => break,
                            Err(_) => return Err(()),
                        }
                    }
                    if pkts.len() >= 64 {
                        return Ok(pkts);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(pkts),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(()),
            }
        }
    }

    /// Queue one packet (framed) and write what the socket takes; `Err` when the backlog
    /// is over [`MAX_TCP_BACKLOG`] or the connection failed.
    fn send(&mut self, p: &[u8]) -> Result<(), ()> {
        let mut f = vec![0u8; p.len() + 2];
        let n = frame(p, &mut f).map_err(|_| ())?;
        if self.out.len() + n > MAX_TCP_BACKLOG {
            return Err(());
        }
        self.out.extend_from_slice(&f[..n]);
        self.flush()
    }

    fn flush(&mut self) -> Result<(), ()> {
        while !self.out.is_empty() {
            match self.st.write(&self.out) {
                Ok(0) => return Err(()),
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(()),
            }
        }
        Ok(())
    }
}

/// Drop logging that a flood cannot blow up. Drops ([`DropLog::new`]) are logged one by one at
/// `debug` level and summarised at `info` once per interval, with counts by kind; other items
/// ([`DropLog::with_lines`]) are printed one by one on stdout up to `lines` per interval, then
/// summarised.
pub struct DropLog {
    tag: String,
    every: Duration,
    next: Instant,
    counts: std::collections::BTreeMap<&'static str, u64>,
    shown: u32,
    lines: u32,
    noun: &'static str,
    /// Per-item lines at `debug` level (drops), not on stdout.
    quiet: bool,
    /// Drops in total.
    pub total: u64,
}

/// Drops printed one by one per interval before only counting.
const DROP_LINES_PER_INTERVAL: u32 = 5;

impl DropLog {
    /// A log for `tag` summarising every `every`.
    pub fn new(tag: &str, every: Duration) -> Self {
        DropLog {
            tag: tag.into(),
            every,
            next: Instant::now() + every,
            counts: Default::default(),
            shown: 0,
            lines: DROP_LINES_PER_INTERVAL,
            noun: "drops",
            quiet: true,
            total: 0,
        }
    }

    /// The same for other items (`noun` in the summaries), printing up to `lines` of them
    /// per interval one by one.
    pub fn with_lines(tag: &str, every: Duration, lines: u32, noun: &'static str) -> Self {
        DropLog {
            lines,
            noun,
            quiet: false,
            ..DropLog::new(tag, every)
        }
    }

    /// Count (and maybe print) one drop.
    pub fn drop(&mut self, now: Instant, why: &DropReason) {
        self.note(now, why.kind(), &format_args!("drop: {why}"));
    }

    /// Count (and maybe print, as `<tag> <line>`) one item of kind `kind`.
    pub fn note(&mut self, now: Instant, kind: &'static str, line: &dyn std::fmt::Display) {
        self.total += 1;
        *self.counts.entry(kind).or_default() += 1;
        if self.quiet {
            tracing::debug!("{} {line}", self.tag);
        } else if self.shown < self.lines {
            self.shown += 1;
            println!("{} {line}", self.tag);
        }
        self.tick(now);
    }

    /// Print the interval's summary when it is over.
    pub fn tick(&mut self, now: Instant) {
        if now < self.next {
            return;
        }
        self.flush_summary();
        self.next = now + self.every;
    }

    fn flush_summary(&mut self) {
        let n: u64 = self.counts.values().sum();
        let shown = if self.quiet { 0 } else { self.lines };
        if n > u64::from(shown) {
            let kinds: Vec<String> = self
                .counts
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            tracing::info!(
                "{} {} in the last {} s: {n} ({})",
                self.tag,
                self.noun,
                self.every.as_secs(),
                kinds.join(" ")
            );
        }
        self.counts.clear();
        self.shown = 0;
    }
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
        // A route the kernel already has (the pushed route of the connected subnet, which
        // the address brought) is skipped instead of failing with "File exists".
        if let Some(i) = a
            .iter()
            .position(|w| *w == "add")
            .filter(|_| a.contains(&"route"))
        {
            let mut q: Vec<&str> = a[..i].to_vec();
            q.extend(["show", "exact", a.get(i + 1).copied().unwrap_or_default()]);
            let have = std::process::Command::new("ip")
                .args(&q)
                .output()
                .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
            if have {
                println!("ROUTE skipped (present) ip {}", c.join(" "));
                continue;
            }
        }
        match ip(&a) {
            Ok(()) => println!("ROUTE ip {}", c.join(" ")),
            Err(e) => println!("ROUTE failed: {e}"),
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
            tracing::error!("{program}: {e}");
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

/// Client loop over UDP or TCP, one thread around poll(2); with `dev`, tunnel packets go
/// to and come from a TUN/TAP device (opened at once if it has an address, else when the
/// server pushes `ifconfig`).
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
    let mut drops = DropLog::new("client", Duration::from_secs(5));
    let mut udp = None;
    let mut conn = None;
    if tcp {
        let st = TcpStream::connect_timeout(&remote, Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        conn = Some(TcpConn::new(st, Instant::now()).map_err(|e| e.to_string())?);
    } else {
        let u = UdpSocket::bind(if remote.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        })
        .map_err(|e| e.to_string())?;
        u.connect(remote).map_err(|e| e.to_string())?;
        u.set_nonblocking(true).map_err(|e| e.to_string())?;
        udp = Some(u);
    }
    let mut devf: Option<File> = None;
    if let Some(d) = dev.as_ref().filter(|d| d.ifconfig.is_some()) {
        devf = Some(open_dev(d, None)?);
    }
    s.connect(Instant::now()).map_err(|e| e.to_string())?;
    let mut out = vec![0u8; 65536];
    let mut buf = vec![0u8; 65536];
    let mut batch = TxBatch::new();
    let mut gro = udp.as_ref().map(|u| GroReceiver::new(u, 16, true));
    let mut closing = false;
    loop {
        let now = Instant::now();
        if s.is_down() || now >= end + Duration::from_secs(10) {
            break;
        }
        if (now >= end || crate::sys::stop_requested()) && !closing {
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
            if let Some(u) = &udp {
                let _ = u.send(&p);
            }
            if let Some(c) = conn.as_mut() {
                if c.send(&p).is_err() {
                    println!("client tcp connection failed");
                    return Ok(t);
                }
            }
        }
        while let Some(e) = s.poll_event() {
            if let (Event::Pushed(r), Some(d)) = (&e, dev.as_ref()) {
                if devf.is_none() {
                    let addr = r.ifconfig.map(|(a, m)| (a, prefix_len(m)));
                    devf = Some(open_dev(d, addr)?);
                }
                install_pushed(&d.name, r);
            }
            print_event("client", &e, &mut t);
        }
        drops.tick(now);
        let deadline = match closing {
            true => s.poll_timeout().unwrap_or(now),
            false => s.poll_timeout().unwrap_or(end).min(end),
        };
        let mut fds = Vec::with_capacity(2);
        if let Some(u) = &udp {
            fds.push(pollfd(u.as_raw_fd(), false));
        }
        if let Some(c) = &conn {
            fds.push(pollfd(c.st.as_raw_fd(), !c.out.is_empty()));
        }
        if let Some(f) = &devf {
            fds.push(pollfd(f.as_raw_fd(), false));
        }
        wait(&mut fds, deadline.saturating_duration_since(Instant::now()))?;
        let now = Instant::now();
        let mut tcp_pkts = Vec::new();
        if let Some(c) = conn.as_mut() {
            if c.flush().is_err() {
                println!("client tcp closed by peer");
                break;
            }
            match c.read_packets(now, &mut buf) {
                Ok(p) => tcp_pkts = p,
                Err(()) => {
                    println!("client tcp closed by peer");
                    break;
                }
            }
        }
        {
            let mut input = |p: &[u8]| {
                if let Some(pc) = pcap.as_deref_mut() {
                    pc.add(now, false, p);
                }
                match s.handle_input(now, p, &mut out) {
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
                        drops.drop(now, &why);
                    }
                    Input::Control => {}
                    _ => {}
                }
            };
            if let (Some(u), Some(rx)) = (&udp, gro.as_mut()) {
                // recvmmsg (with UDP GRO): up to 16 buffers per call, at most 64 calls per
                // turn. A connected UDP socket's ICMP errors (port unreachable while the
                // peer restarts) end a call early; they are transient.
                for _ in 0..64 {
                    if rx.recv(u, |_, d| input(d)) == 0 {
                        break;
                    }
                }
            }
            for p in &tcp_pkts {
                input(p);
            }
        }
        if let Some(f) = devf.as_mut() {
            // Read the device's packets and seal each into the next batch slot; UDP sends
            // them together (GSO), TCP writes each into the stream.
            read_dev(f, &mut buf, |p| {
                if !s.is_up() {
                    return;
                }
                let slot = batch.slot();
                match s.send_data(now, p, slot) {
                    Ok(n) => {
                        t.dev_tx += 1;
                        if let Some(pc) = pcap.as_deref_mut() {
                            pc.add(now, true, &slot[..n]);
                        }
                        if let Some(c) = conn.as_mut() {
                            let _ = c.send(&slot[..n]);
                        }
                        if let Some(u) = &udp {
                            batch.commit(u, remote, n);
                        }
                    }
                    Err(e) => println!("client send_data: {e}"),
                }
            });
            if let Some(u) = &udp {
                batch.flush(u);
            }
        }
        if s.poll_timeout().is_some_and(|d| d <= Instant::now()) {
            s.handle_timeout(Instant::now());
        }
    }
    while let Some(e) = s.poll_event() {
        print_event("client", &e, &mut t);
    }
    drops.flush_summary();
    batch.report(gro.as_ref());
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

    /// The clients a device packet goes to, into `out` (cleared first; no allocation once
    /// `out` has grown to the number of clients).
    fn route_into(&self, tap: bool, p: &[u8], out: &mut Vec<u32>) {
        out.clear();
        let hit = if tap {
            p.get(..6)
                .and_then(|m| <[u8; 6]>::try_from(m).ok())
                .and_then(|m| self.by_mac.get(&m))
        } else {
            ipv4_at(p, 16).and_then(|a| self.by_ip.get(&a))
        };
        match hit {
            Some(p) => out.push(*p),
            None if tap => out.extend_from_slice(&self.up),
            None => {}
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

/// Where and how long [`run_server`] serves, and what a stranger can make it hold over TCP.
pub struct ServeOpts {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// TCP instead of UDP.
    pub tcp: bool,
    /// Run time.
    pub seconds: u64,
    /// At the end, send `RESTART` (`Some(true)`: `RESTART,[N]`) to every client (UDP).
    pub exit_notify: Option<bool>,
    /// TCP: connections at once (`--max-conns`, 128). At the cap a newcomer replaces the
    /// oldest connection that has not got past its first packet (nothing sent, or only a
    /// reset), taken from the source holding the most connections; when every connection
    /// is further along, the newcomer is closed at accept.
    pub max_conns: usize,
    /// TCP: connections per source address (`--max-conns-per-source`, 4).
    pub max_conns_per_source: usize,
    /// TCP: a connection whose session is not up this long after accept is closed
    /// (`--handshake-timeout`, 10 s).
    pub handshake_timeout: Duration,
    /// TCP: a connection that sent nothing for this long is closed (`--idle-timeout`, 60 s).
    pub idle_timeout: Duration,
    /// Print a `STATS rss_kb=..` line every this often (`--stats N` seconds; flood tests).
    pub stats_every: Option<Duration>,
}

impl ServeOpts {
    /// Defaults for `listen`.
    pub fn new(listen: SocketAddr, tcp: bool, seconds: u64) -> Self {
        ServeOpts {
            listen,
            tcp,
            seconds,
            exit_notify: None,
            max_conns: 128,
            max_conns_per_source: 4,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            stats_every: None,
        }
    }
}

/// The connection a newcomer replaces when the TCP server is at its cap
/// ([`ServeOpts::max_conns`]): one that has not got past its first packet (no session yet,
/// or a session that has received only its reset), from the source holding the most
/// connections, the oldest of those.
fn tcp_victim(
    conns: &HashMap<SocketAddr, TcpConn>,
    srv: &Server<SocketAddr>,
) -> Option<SocketAddr> {
    let mut per_source: HashMap<std::net::IpAddr, usize> = HashMap::new();
    for a in conns.keys() {
        *per_source.entry(a.ip()).or_default() += 1;
    }
    conns
        .iter()
        .filter(|(a, _)| {
            srv.peer_by_address(a)
                .and_then(|id| srv.session(id))
                .is_none_or(|s| !s.is_up() && s.stats().control_rx <= 1)
        })
        .max_by(|(a, x), (b, y)| {
            let n = |k: &SocketAddr| per_source.get(&k.ip()).copied().unwrap_or(0);
            n(a).cmp(&n(b)).then(y.accepted.cmp(&x.accepted))
        })
        .map(|(a, _)| *a)
}

/// Resident set size of this process (kB), from /proc.
pub fn rss_kb() -> u64 {
    crate::interop::rss_kib(std::process::id())
}

/// Server loop, one thread around poll(2) (UDP: many clients on one socket; TCP: one
/// connection per client, bounded in number, per source and in time). With `dev`, packets
/// move between the clients and a TUN/TAP device; a client is routed to by the address the
/// server's pool gave it (before it has sent anything) and by the source addresses seen
/// from it. Accounting records are printed when sessions end.
pub fn run_server(
    mut srv: Server<SocketAddr>,
    so: ServeOpts,
    mut pcap: Option<&mut Pcap>,
    dev: Option<DevOpts>,
) -> Result<Tally, String> {
    let tcp = so.tcp;
    let mut end = Instant::now() + Duration::from_secs(so.seconds);
    let mut shutting_down = false;
    let mut t = Tally::default();
    let mut drops = DropLog::new("server", Duration::from_secs(5));
    let mut hs_log = DropLog::with_lines(
        "server",
        Duration::from_secs(5),
        40,
        "events of unfinished handshakes",
    );
    let mut ever_up: std::collections::HashSet<u32> = Default::default();
    let mut udp = None;
    let mut listener = None;
    if tcp {
        let l = TcpListener::bind(so.listen).map_err(|e| e.to_string())?;
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        listener = Some(l);
    } else {
        let u = UdpSocket::bind(so.listen).map_err(|e| e.to_string())?;
        u.set_nonblocking(true).map_err(|e| e.to_string())?;
        udp = Some(u);
    }
    let mut conns: HashMap<SocketAddr, TcpConn> = HashMap::new();
    println!(
        "server listening on {} ({})",
        so.listen,
        if tcp { "tcp" } else { "udp" }
    );
    let tap = dev.as_ref().is_some_and(|d| d.tap);
    let mut devf = match dev.as_ref() {
        Some(d) => Some(open_dev(d, None)?),
        None => None,
    };
    let mut router = Router::default();
    let mut peers: Vec<u32> = Vec::new();
    let mut out = vec![0u8; 65536];
    let mut buf = vec![0u8; 65536];
    let mut batch = TxBatch::new();
    let mut gro = udp.as_ref().map(|u| GroReceiver::new(u, 16, true));
    let mut next_stats = so.stats_every.map(|e| Instant::now() + e);
    let mut refused_conns = 0u64;
    let mut evicted_conns = 0u64;
    let mut timed_out_conns = 0u64;
    loop {
        let now = Instant::now();
        if crate::sys::stop_requested() && !shutting_down {
            end = end.min(now);
        }
        if now >= end {
            match so.exit_notify {
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
        let mut dead: Vec<SocketAddr> = Vec::new();
        while let Some((to, p)) = srv.poll_transmit(now) {
            if let Some(pc) = pcap.as_deref_mut() {
                pc.add(now, true, &p);
            }
            if let Some(u) = &udp {
                let _ = u.send_to(&p, to);
            }
            if let Some(c) = conns.get_mut(&to) {
                if c.send(&p).is_err() {
                    dead.push(to);
                }
            }
        }
        while let Some((id, e)) = srv.poll_event() {
            match &e {
                Event::Up { .. } => {
                    router.up.push(id);
                    ever_up.insert(id);
                    if let Some(a) = srv.assigned_address(id) {
                        router.by_ip.insert(a, id);
                    }
                }
                Event::Down(_) => router.forget(id),
                _ => {}
            }
            if ever_up.contains(&id) {
                if matches!(e, Event::Accounting { .. }) {
                    ever_up.remove(&id);
                }
                print_event(&format!("server peer {id}"), &e, &mut t);
            } else {
                // Handshakes that never finished (a flood makes thousands): a few lines
                // per interval, then a count.
                hs_log.note(now, "events", &format_args!("peer {id} EVENT {e:?}"));
            }
        }
        // TCP: handshake and idle timeouts; a connection whose session ended is closed.
        for (a, c) in &conns {
            let session = srv.peer_by_address(a).and_then(|id| srv.session(id));
            let up = session.is_some_and(|s| s.is_up());
            if session.is_some_and(|s| s.is_down()) {
                dead.push(*a);
            } else if (!up && now >= c.accepted + so.handshake_timeout)
                || now >= c.last_rx + so.idle_timeout
            {
                timed_out_conns += 1;
                dead.push(*a);
            }
        }
        for a in dead {
            if conns.remove(&a).is_some() {
                srv.remove_address(now, &a);
            }
        }
        drops.tick(now);
        hs_log.tick(now);
        if let Some(ns) = next_stats.filter(|n| now >= *n) {
            println!(
                "STATS rss_kb={} sessions={} half_open={} tcp_conns={} tcp_refused={} tcp_evicted={} tcp_timed_out={} dropped={}",
                rss_kb(),
                srv.len(),
                srv.half_open(),
                conns.len(),
                refused_conns,
                evicted_conns,
                timed_out_conns,
                drops.total
            );
            next_stats = so.stats_every.map(|e| ns.max(now - e) + e);
        }
        let mut deadline = srv.poll_timeout().unwrap_or(end).min(end);
        if let Some(n) = next_stats {
            deadline = deadline.min(n);
        }
        if tcp {
            // Wake up for the TCP timeouts too (at most once a second).
            deadline = deadline.min(now + Duration::from_secs(1));
        }
        let mut fds = Vec::with_capacity(conns.len() + 3);
        let mut order: Vec<SocketAddr> = Vec::with_capacity(conns.len());
        if let Some(u) = &udp {
            fds.push(pollfd(u.as_raw_fd(), false));
        }
        if let Some(l) = &listener {
            fds.push(pollfd(l.as_raw_fd(), false));
        }
        if let Some(f) = &devf {
            fds.push(pollfd(f.as_raw_fd(), false));
        }
        let fixed = fds.len();
        for (a, c) in &conns {
            fds.push(pollfd(c.st.as_raw_fd(), !c.out.is_empty()));
            order.push(*a);
        }
        wait(&mut fds, deadline.saturating_duration_since(Instant::now()))?;
        let now = Instant::now();
        let mut pkts: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        if let Some(l) = &listener {
            for _ in 0..64 {
                match l.accept() {
                    Ok((st, a)) => {
                        let from_source = conns.keys().filter(|k| k.ip() == a.ip()).count();
                        let mut full = conns.len() >= so.max_conns;
                        if full && from_source < so.max_conns_per_source {
                            if let Some(v) = tcp_victim(&conns, &srv) {
                                conns.remove(&v);
                                srv.remove_address(now, &v);
                                evicted_conns += 1;
                                full = false;
                            }
                        }
                        if full || from_source >= so.max_conns_per_source {
                            // Closed at once: the cap is what a stranger can make us hold.
                            refused_conns += 1;
                            drop(st);
                            continue;
                        }
                        match TcpConn::new(st, now) {
                            Ok(c) => {
                                conns.insert(a, c);
                            }
                            Err(e) => println!("server tcp accept {a}: {e}"),
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        let mut closed = Vec::new();
        for (i, a) in order.iter().enumerate() {
            let ready = fds.get(fixed + i).is_some_and(|f| f.revents != 0);
            if !ready {
                continue;
            }
            let Some(c) = conns.get_mut(a) else { continue };
            if c.flush().is_err() {
                closed.push(*a);
                continue;
            }
            match c.read_packets(now, &mut buf) {
                Ok(p) => pkts.extend(p.into_iter().map(|p| (*a, p))),
                Err(()) => closed.push(*a),
            }
        }
        {
            let mut input = |a: SocketAddr, p: &[u8]| {
                if let Some(pc) = pcap.as_deref_mut() {
                    pc.add(now, false, p);
                }
                match srv.handle_input(now, a, p, &mut out) {
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
                        // A TCP peer whose session was refused cannot retry on this
                        // connection: close it (a real client reconnects).
                        if tcp
                            && srv.peer_by_address(&a).is_none()
                            && matches!(
                                why,
                                DropReason::HalfOpenLimit
                                    | DropReason::HalfOpenPerSource
                                    | DropReason::RateLimited
                                    | DropReason::ClientTableFull
                                    | DropReason::ShuttingDown
                            )
                        {
                            closed.push(a);
                        }
                        drops.drop(now, &why);
                    }
                }
            };
            if let (Some(u), Some(rx)) = (&udp, gro.as_mut()) {
                // recvmmsg (with UDP GRO): up to 16 buffers per call, at most 64 calls per
                // turn, so the device and the timers get their turn under a flood.
                for _ in 0..64 {
                    if rx.recv(u, |a, d| input(a, d)) == 0 {
                        break;
                    }
                }
            }
            for (a, p) in pkts {
                input(a, &p);
            }
        }
        for a in closed {
            conns.remove(&a);
            srv.remove_address(now, &a);
        }
        if let Some(f) = devf.as_mut() {
            // Each device packet is sealed into the next batch slot per client it goes to;
            // UDP sends the batch together (GSO per client), TCP writes into each stream.
            read_dev(f, &mut buf, |p| {
                router.route_into(tap, p, &mut peers);
                for &peer in &peers {
                    let slot = batch.slot();
                    if let Ok((to, n)) = srv.send_data(now, peer, p, slot) {
                        t.dev_tx += 1;
                        if let Some(pc) = pcap.as_deref_mut() {
                            pc.add(now, true, &slot[..n]);
                        }
                        if let Some(c) = conns.get_mut(&to) {
                            let _ = c.send(&slot[..n]);
                        }
                        if let Some(u) = &udp {
                            batch.commit(u, to, n);
                        }
                    }
                }
            });
            if let Some(u) = &udp {
                batch.flush(u);
            }
        }
        if srv.poll_timeout().is_some_and(|d| d <= Instant::now()) {
            srv.handle_timeout(Instant::now());
        }
        if conns.capacity() > 64 && conns.capacity() > 4 * conns.len() {
            conns.shrink_to(conns.len() * 2);
        }
    }
    while let Some((id, e)) = srv.poll_event() {
        print_event(&format!("server peer {id}"), &e, &mut t);
    }
    drops.flush_summary();
    batch.report(gro.as_ref());
    hs_log.flush_summary();
    let st = srv.stateless_stats();
    println!(
        "server stateless: resets_answered={} sessions_created={} cookies_rejected={} rate_limited={} v2_rejected={}",
        st.resets_answered, st.sessions_created, st.cookies_rejected, st.rate_limited, st.v2_rejected
    );
    if tcp {
        println!(
            "server tcp: refused={refused_conns} evicted={evicted_conns} timed_out={timed_out_conns}"
        );
    }
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
