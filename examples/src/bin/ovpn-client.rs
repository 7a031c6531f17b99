//! OpenVPN client example over the sans-IO `ovpn` crate: UDP or TCP, packets between a
//! TUN or TAP device and the tunnel.
//!
//! ```text
//! ovpn-client --help
//! ovpn-client connect-to=IP port=1194 protocol=tcp|udp mode=ip|ethernet user=U password=P
//!             cipher=blowfish128 auth=sha1 tls-version=any|only-1.2 max-mtu=1500
//!             verify-server-certificate=no use-peer-dns=no route-nopull=no profile=default
//!             certificate=FILE.crt [certificate-key=FILE.key] ca-certificate=FILE
//!             [--duration N] [--dev tun|tap] [--ping N --ping-restart N]
//! ovpn-client --config client.ovpn [--p2p] [--duration N] [--user U --pass P] [--pcap F]
//! ovpn-client --config FILE.rsc [NAME=VALUE ...] [--ca F] [--cert F --key F] [--duration N]
//! ovpn-client --config examples/rsc/ovpn-client.rsc --duration 30
//! ovpn-client --remote IP:PORT --proto udp|tcp --ca F [--cert F --key F]
//!             [--tls-auth F --key-direction 1 | --tls-crypt F | --tls-crypt-v2 F]
//!             [--cipher C] [--data-ciphers A:B] [--auth D] [--p2p] [--ping N]
//!             [--ping-restart N] [--reneg-sec N] [--verify-name CN] [--duration N] [--pcap F]
//!             [--dev tun|tap|null] [--dev-name ovpn0] [--ifconfig A/len] [--tun-mtu 1400]
//!             [--route-nopull] [--crypto builtin|openssl]
//! ```
//! `--dev tun|tap` (also read from the .ovpn's `dev`) creates the device, brings it up and
//! puts the pushed `ifconfig` address (or `--ifconfig`) on it; IP packets (tun) or Ethernet
//! frames (tap) the kernel routes into it go through the tunnel and decrypted ones are
//! written to it. Pushed `ifconfig-ipv6`, `route`, `route-ipv6` and `redirect-gateway` are
//! installed on the device (run it inside a namespace), unless `--route-nopull`. Without
//! `--dev` (or `dev null`) the tunnel carries keepalives only.
//! `--p2p` speaks OpenVPN's point-to-point TLS mode (peer `tls-server`); without it the
//! client pulls (PUSH_REQUEST) from a `--mode server` peer. Prints events and a final
//! `RESULT up=.. pings_rx=.. dev_tx=.. dev_rx=..` line. `--crypto openssl` runs the AEAD
//! data-channel ciphers on OpenSSL's libcrypto (the `openssl-aead` provider) instead of the
//! built-in ring/RustCrypto code.
//!
//! `--config FILE.rsc` (or any file whose first line starts with `/`): a RouterOS export
//! (see `examples::rsc_config::ovpn_client`): the first `/interface ovpn-client add ...`
//! (RouterOS defaults for what it leaves out: tcp, port 1194, blowfish128, sha1), read
//! through the crate's `ClientConfig` like the NAME=VALUE words, which given on the command
//! line override the file. RouterOS `certificate` names an entry of the router's store, so
//! the PEM files come from `certificate=FILE [certificate-key=FILE] ca-certificate=FILE` words
//! or `--cert`/`--key`/`--ca`. Unknown properties are warned about with their line.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};

use clap::Parser;
use examples::ovpn_cli::{parse_word, OvpnOpts};
use examples::ovpn_util::{
    common, exit_with, routeros_client, routeros_words, run_client, tls_factory, unix_now, DevOpts,
    OsRng, Pcap, Tally,
};
use ovpn::ovpnfile::OvpnFile;
use ovpn::session::{Role, Session};
use tracing::{error, warn};

fn from_ovpn(path: &str, o: &mut HashMap<String, String>) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let f = OvpnFile::parse(&text).map_err(|e| format!("{path}: {e}"))?;
    for (line, name) in &f.unknown {
        warn!("{path}:{line}: unknown directive {name} (ignored)");
    }
    let dir = std::path::Path::new(path)
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let scratch = std::env::temp_dir().join(format!("ovpn-client-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    for (name, body) in &f.blocks {
        let file = if let Some(p) = body.strip_prefix('@') {
            dir.join(p).to_string_lossy().into_owned()
        } else {
            let p = scratch.join(name);
            std::fs::write(&p, body).map_err(|e| e.to_string())?;
            p.to_string_lossy().into_owned()
        };
        o.entry(name.clone()).or_insert(file);
    }
    if let Some((host, port, proto)) = f.remotes.first() {
        let port = port.or(f.port).unwrap_or(1194);
        o.entry("remote".into()).or_insert(format!("{host}:{port}"));
        if let Some(p) = proto.or(f.proto) {
            o.entry("proto".into())
                .or_insert(if p == ovpn::config::Protocol::Tcp {
                    "tcp".into()
                } else {
                    "udp".into()
                });
        }
    }
    if let Some(c) = f.cipher {
        o.entry("cipher".into()).or_insert(c.openvpn_name().into());
    }
    if !f.data_ciphers.is_empty() {
        let l: Vec<&str> = f.data_ciphers.iter().map(|c| c.openvpn_name()).collect();
        o.entry("data-ciphers".into()).or_insert(l.join(":"));
    }
    if let Some(a) = f.auth {
        o.entry("auth".into()).or_insert(a.openvpn_name().into());
    }
    if let Some(d) = f.key_direction {
        o.entry("key-direction".into()).or_insert(d.to_string());
    }
    if let Some(n) = &f.verify_x509_name {
        o.entry("verify-name".into()).or_insert(n.clone());
    }
    if !f.pull {
        o.entry("p2p".into()).or_default();
    }
    if let Some(m) = f.mode {
        let d = if m == ovpn::config::Mode::Ethernet {
            "tap"
        } else {
            "tun"
        };
        o.entry("dev".into()).or_insert(d.into());
    }
    Ok(())
}

/// RouterOS-style settings through the crate's config layer (`ClientConfig`): its session
/// parameters and TLS factory; `--duration`, `--dev`, `--ping`/`--ping-restart` (to keep
/// runs short) still apply.
fn routeros(words: &[(String, String)], o: &HashMap<String, String>) -> Result<Tally, String> {
    run_routeros(routeros_client(words)?, o)
}

/// A RouterOS export (`.rsc`): by extension, or when the first line that is not blank or a
/// comment starts with `/` (a menu path).
fn is_rsc(path: &str, text: &str) -> bool {
    path.ends_with(".rsc")
        || text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .is_some_and(|l| l.starts_with('/'))
}

/// The words that name PEM files rather than `/interface ovpn-client` properties.
const PEM_WORDS: [&str; 3] = ["certificate", "certificate-key", "ca-certificate"];

/// `--config FILE.rsc`: the file's `/interface ovpn-client`, the NAME=VALUE words over it,
/// the PEM files from the words or `--cert`/`--key`/`--ca`.
fn routeros_rsc(
    path: &str,
    text: &str,
    words: &[(String, String)],
    o: &HashMap<String, String>,
) -> Result<Tally, String> {
    let r = examples::rsc_config::ovpn_client(text, None).map_err(|e| format!("{path}: {e}"))?;
    r.notes.log(path);
    let mut c = r.config;
    if c.disabled {
        warn!("{path}: the interface is disabled there (RouterOS default); running anyway");
    }
    let props: Vec<(&str, &str)> = words
        .iter()
        .filter(|(k, _)| !PEM_WORDS.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let unknown = c.apply_props(&props).map_err(|e| e.to_string())?;
    if let Some(k) = unknown.first() {
        return Err(format!("unknown ovpn-client property {k}"));
    }
    let word = |k: &str| words.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v);
    let read = |f: &String| std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"));
    if let Some(cert) = word("certificate").or(o.get("cert")) {
        let key = word("certificate-key")
            .or(o.get("key"))
            .cloned()
            .unwrap_or_else(|| cert.trim_end_matches(".crt").to_string() + ".key");
        c.certificate = Some(ovpn::Certificate {
            cert_pem: read(cert)?,
            key_pem: read(&key)?,
        });
    }
    if let Some(ca) = word("ca-certificate").or(o.get("ca")) {
        c.trusted_ca_pem = Some(read(ca)?);
    }
    c.validate().map_err(|e| e.to_string())?;
    run_routeros(c, o)
}

/// Run a RouterOS `ClientConfig`.
fn run_routeros(c: ovpn::ClientConfig, o: &HashMap<String, String>) -> Result<Tally, String> {
    let mut cfg = c.session_config().map_err(|e| e.to_string())?;
    cfg.unix_time = unix_now();
    let secs = |k: &str| o.get(k).and_then(|v| v.parse::<u64>().ok());
    if let Some(p) = secs("ping") {
        cfg.ping = Some(std::time::Duration::from_secs(p));
    }
    if let Some(p) = secs("ping-restart") {
        cfg.ping_restart = Some(std::time::Duration::from_secs(p));
    }
    println!(
        "ROUTEROS ovpn-client connect-to={} protocol={:?} mode={:?} cipher={} auth={} max-mtu={} tls-version={:?}",
        c.connect_to,
        c.protocol,
        c.mode,
        c.cipher.routeros_name(),
        c.auth.openvpn_name(),
        c.max_mtu,
        c.tls_version
    );
    let remote: SocketAddr = (c.connect_to.as_str(), c.port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("connect-to does not resolve")?;
    let s = Session::new(
        cfg,
        std::time::Instant::now(),
        Box::new(OsRng::new().map_err(|e| e.to_string())?),
        c.tls_factory(),
        None,
    )
    .map_err(|e| e.to_string())?;
    let mut dev = DevOpts::from_args(o)?;
    if let Some(d) = dev.as_mut() {
        d.tap = c.mode == ovpn::Mode::Ethernet;
        d.mtu = c.max_mtu;
    }
    run_client(
        s,
        remote,
        c.protocol == ovpn::Protocol::Tcp,
        secs("seconds").unwrap_or(10),
        None,
        dev,
    )
}

/// OpenVPN client over the sans-IO `ovpn` crate: UDP or TCP, packets between a TUN or TAP
/// device and the tunnel.
///
/// Four ways to configure it: OpenVPN-style options (--remote, --proto, --ca, ...), an
/// OpenVPN `.ovpn` file (--config; options given on the command line win), RouterOS
/// `/interface ovpn-client` properties as NAME=VALUE words (connect-to=IP port=1194
/// protocol=tcp mode=ip user=U password=P cipher=aes256-gcm auth=sha1 certificate=FILE
/// ca-certificate=FILE ...), or a RouterOS export (--config FILE.rsc, the words override
/// it); the last two go through the crate's `ClientConfig`.
///
/// Prints events on stdout and a final `RESULT up=.. pings_rx=.. dev_tx=.. dev_rx=..` line;
/// exits 0 when the data channel came up, 1 when not, 2 on error. SIGTERM/SIGINT end the run
/// early, like the end of --duration.
#[derive(Parser, Debug)]
#[command(name = "ovpn-client", version)]
struct Cli {
    /// RouterOS `/interface ovpn-client` properties (connect-to, port, protocol, mode, user,
    /// password, cipher, auth, tls-version, max-mtu, verify-server-certificate, use-peer-dns,
    /// route-nopull, profile, certificate, certificate-key, ca-certificate). Default: none
    /// (OpenVPN-style options are used).
    #[arg(value_name = "NAME=VALUE", value_parser = parse_word)]
    words: Vec<String>,
    /// An OpenVPN client configuration file (.ovpn) to read, command-line options win; or a
    /// RouterOS export (.rsc, or a first line starting with `/`) with `/interface ovpn-client
    /// add ...`, NAME=VALUE words override it and the PEM files come from the certificate
    /// words or --cert/--key/--ca. Default: none.
    #[arg(long, value_name = "FILE")]
    config: Option<String>,
    /// Server address IP:PORT (OpenVPN `remote`). Required unless --config or connect-to= give
    /// one. Default: none.
    #[arg(long, value_name = "IP:PORT")]
    remote: Option<String>,
    /// Name the server certificate's CN must carry (default: not checked).
    #[arg(long, value_name = "CN")]
    verify_name: Option<String>,
    #[command(flatten)]
    opts: OvpnOpts,
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    // SIGTERM/SIGINT end the run early, as at the end of `--duration` (counters printed).
    examples::sys::stop_on_signals();
    let mut o = cli.opts.to_map();
    if let Some(r) = &cli.remote {
        o.insert("remote".into(), r.clone());
    }
    if let Some(v) = &cli.verify_name {
        o.insert("verify-name".into(), v.clone());
    }
    let ros = routeros_words(&cli.words);
    let mut rsc: Option<(String, String)> = None;
    if let Some(cfg) = &cli.config {
        let text = match std::fs::read_to_string(cfg) {
            Ok(t) => t,
            Err(e) => {
                error!("{cfg}: {e}");
                std::process::exit(2);
            }
        };
        if is_rsc(cfg, &text) {
            rsc = Some((cfg.clone(), text));
        } else {
            o.insert("config".into(), cfg.clone());
            if let Err(e) = from_ovpn(cfg, &mut o) {
                error!("{e}");
                std::process::exit(2);
            }
        }
    }
    let r = (|| -> Result<Tally, String> {
        if let Some((path, text)) = &rsc {
            return routeros_rsc(path, text, &ros, &o);
        }
        if !ros.is_empty() {
            return routeros(&ros, &o);
        }
        let c = common(Role::Client, &o)?;
        let remote: SocketAddr = o
            .get("remote")
            .ok_or("--remote or --config with a remote is required")?
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or("remote does not resolve")?;
        let tls = tls_factory(Role::Client, c.tls.clone(), c.verify_name.clone(), false);
        let s = Session::new(
            c.cfg,
            std::time::Instant::now(),
            Box::new(OsRng::new().map_err(|e| e.to_string())?),
            tls,
            None,
        )
        .map_err(|e| e.to_string())?;
        let mut pcap = c.pcap.as_ref().map(|_| Pcap::default());
        let dev = DevOpts::from_args(&o)?;
        let t = run_client(s, remote, c.tcp, c.seconds, pcap.as_mut(), dev)?;
        if let (Some(p), Some(path)) = (pcap, c.pcap) {
            p.write(&path);
        }
        if let Some(p) = &c.openssl {
            println!("CRYPTO openssl calls={}", p.calls());
        }
        Ok(t)
    })();
    exit_with("ovpn-client", r);
}
