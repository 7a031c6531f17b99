//! Interop: our `ovpn` client and server against OpenVPN 2.6 (Debian `openvpn`) in network
//! namespaces `rp-ovpn-s` (10.97.2.1) / `rp-ovpn-c` (10.97.2.2), point-to-point TLS mode with
//! `dev null` (no TUN), UDP and TCP, profiles tls-auth + AES-256-GCM, tls-crypt +
//! CHACHA20-POLY1305, tls-auth + AES-128-CBC/SHA1, no wrapping, and BF-CBC/SHA1 (OpenVPN with
//! OpenSSL's legacy provider); plus OpenVPN server mode (`server`/`client`, pull) where both
//! sides have a real TUN device (tls-crypt-v2, tls-auth + AES-256-GCM, AES-128-CBC/SHA1) or
//! TAP device (tls-crypt-v2), and the kernel's `ping` crosses the tunnel. Over UDP our
//! server answers statelessly (HMAC cookie) and every run checks the session came from the
//! cookie. Single scenarios: auth-token from an OpenVPN server and from ours, renegotiation
//! in p2p mode, `RESTART` on server shutdown both ways, and pushed routes on our client.
//!
//! Evidence, p2p runs: OpenVPN logs "Initialization Sequence Completed" and its `--status`
//! file shows "Auth read bytes" > 0 (it authenticated/decrypted our data-channel packets:
//! keepalive pings every second); our side prints `RESULT up=true pings_rx=N` with N > 0
//! (we decrypted OpenVPN's pings). Device runs: `ping` in the client namespace gets replies
//! from the server namespace's kernel (through OpenVPN's device and ours), and our side's
//! `RESULT` counts packets read from (`dev_tx`) and written to (`dev_rx`) its device.
//! The PKI is made at test time with openssl.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use examples::interop::{have_program, peer_available, run, scratch_dir, veth, Netns, Proc};

const SIP: &str = "10.97.2.1";

fn pki(dir: &Path) {
    examples::interop::tls_test_pki(dir, "rp-ovpn").unwrap();
    let d = dir.to_str().unwrap();
    let script = format!(
        r#"set -e; cd {d}
openvpn --genkey secret ta.key; openvpn --genkey secret tc.key
openvpn --genkey tls-crypt-v2-server v2s.key; openvpn --tls-crypt-v2 v2s.key --genkey tls-crypt-v2-client v2c.key
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=rp-ovpn-selfca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,digitalSignature,keyCertSign -keyout selfca.key -out selfca.crt 2>/dev/null
cat selfca.crt ca.crt > selfca-and-ca.crt"#
    );
    examples::interop::sh(&script).unwrap();
}

#[derive(Clone, Copy, Debug)]
enum Profile {
    GcmTlsAuth,
    ChachaTlsCrypt,
    CbcSha1,
    Plain,
    TlsCryptV2,
    /// BF-CBC (RouterOS `blowfish128`) needs OpenSSL 3's legacy provider in OpenVPN.
    BfCbcLegacy,
    /// AES-256-GCM with compression framing (nothing compressed): `comp-lzo no`,
    /// `compress stub`, `compress stub-v2`; both ends with `explicit-exit-notify`, our end
    /// announcing cc-exit (goodbye on the control channel) or not (`--no-cc-exit`: OCC EXIT
    /// on the data channel, both ways).
    Comp(&'static str, &'static str, bool),
    /// `fragment 400` on both ends (AES-256-GCM); the pings are 1200 bytes, so every echo
    /// request and reply crosses the tunnel in pieces.
    Fragment,
    /// CHACHA20-POLY1305 + tls-crypt with our end's AEAD on OpenSSL's libcrypto
    /// (`--crypto openssl`, the `openssl-aead` provider) instead of ring.
    ChachaOpenssl,
}

/// The compression framings, as (OpenVPN line, our `--compress` value).
const COMPRESSION: [Profile; 3] = [
    Profile::Comp("comp-lzo no", "lzo-no", true),
    Profile::Comp("compress stub", "stub", true),
    Profile::Comp("compress stub-v2", "stub-v2", false),
];

const PROFILES: [Profile; 5] = [
    Profile::GcmTlsAuth,
    Profile::ChachaTlsCrypt,
    Profile::CbcSha1,
    Profile::Plain,
    Profile::BfCbcLegacy,
];

/// (openvpn config lines, our flags) for a profile and role of the openvpn side.
fn profile(p: Profile, dir: &str, openvpn_is_server: bool) -> (Vec<String>, Vec<String>) {
    let (ovdir, ourdir) = if openvpn_is_server {
        ("0", "1")
    } else {
        ("1", "0")
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match p {
        Profile::GcmTlsAuth => (
            s(&[
                "data-ciphers AES-256-GCM",
                &format!("tls-auth {dir}/ta.key {ovdir}"),
                "auth SHA256",
            ]),
            s(&[
                "--data-ciphers",
                "AES-256-GCM",
                "--tls-auth",
                &format!("{dir}/ta.key"),
                "--key-direction",
                ourdir,
                "--auth",
                "SHA256",
            ]),
        ),
        Profile::ChachaTlsCrypt => (
            s(&[
                "data-ciphers CHACHA20-POLY1305",
                &format!("tls-crypt {dir}/tc.key"),
            ]),
            s(&[
                "--data-ciphers",
                "CHACHA20-POLY1305",
                "--tls-crypt",
                &format!("{dir}/tc.key"),
            ]),
        ),
        Profile::CbcSha1 => (
            s(&[
                "data-ciphers AES-128-CBC",
                "data-ciphers-fallback AES-128-CBC",
                "auth SHA1",
                &format!("tls-auth {dir}/ta.key {ovdir}"),
            ]),
            s(&[
                "--cipher",
                "AES-128-CBC",
                "--data-ciphers",
                "AES-128-CBC",
                "--auth",
                "SHA1",
                "--tls-auth",
                &format!("{dir}/ta.key"),
                "--key-direction",
                ourdir,
            ]),
        ),
        Profile::Plain => (
            s(&["data-ciphers AES-256-GCM"]),
            s(&["--data-ciphers", "AES-256-GCM"]),
        ),
        Profile::ChachaOpenssl => {
            let (ov, mut ours) = profile(Profile::ChachaTlsCrypt, dir, openvpn_is_server);
            ours.extend(s(&["--crypto", "openssl"]));
            (ov, ours)
        }
        Profile::Fragment => (
            s(&["data-ciphers AES-256-GCM", "fragment 400"]),
            s(&["--data-ciphers", "AES-256-GCM", "--fragment", "400"]),
        ),
        Profile::Comp(ov, ours, cc_exit) => {
            let mut v = s(&[
                "--data-ciphers",
                "AES-256-GCM",
                "--compress",
                ours,
                "--explicit-exit-notify",
                "1",
            ]);
            if !cc_exit {
                v.push("--no-cc-exit".into());
            }
            (
                s(&["data-ciphers AES-256-GCM", ov, "explicit-exit-notify 1"]),
                v,
            )
        }
        Profile::BfCbcLegacy => (
            s(&[
                "providers legacy default",
                "data-ciphers BF-CBC",
                "data-ciphers-fallback BF-CBC",
                "auth SHA1",
            ]),
            s(&[
                "--cipher",
                "BF-CBC",
                "--data-ciphers",
                "BF-CBC",
                "--auth",
                "SHA1",
            ]),
        ),
        Profile::TlsCryptV2 => {
            let (ovk, ourk) = if openvpn_is_server {
                ("v2s.key", "v2c.key")
            } else {
                ("v2c.key", "v2s.key")
            };
            (
                s(&[
                    "data-ciphers AES-256-GCM:CHACHA20-POLY1305",
                    &format!("tls-crypt-v2 {dir}/{ovk}"),
                ]),
                s(&[
                    "--data-ciphers",
                    "AES-256-GCM:CHACHA20-POLY1305",
                    "--tls-crypt-v2",
                    &format!("{dir}/{ourk}"),
                ]),
            )
        }
    }
}

struct Lab {
    s: Netns,
    c: Netns,
}

fn lab_named(sn: &str, cn: &str) -> Lab {
    let s = Netns::new(sn).unwrap();
    let c = Netns::new(cn).unwrap();
    veth(
        &s,
        "rpovs0",
        &format!("{SIP}/24"),
        &c,
        "rpovc0",
        "10.97.2.2/24",
    )
    .unwrap();
    Lab { s, c }
}

fn auth_read_bytes(status: &Path) -> u64 {
    std::fs::read_to_string(status)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Auth read bytes,"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// A counter from our binaries' final `RESULT up=.. pings_rx=.. dev_tx=.. dev_rx=..` line.
fn result_field(out: &str, key: &str) -> u64 {
    out.lines()
        .find(|l| l.starts_with("RESULT "))
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        })
        .and_then(|v| if v == "true" { Some(1) } else { v.parse().ok() })
        .unwrap_or(0)
}

/// The profile as a file-name part.
fn slug(p: Profile) -> String {
    format!("{p:?}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

fn openvpn_conf(dir: &Path, name: &str, lines: &[String]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p.to_string_lossy().into_owned()
}

/// How the two ends are set up.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// `tls-server`/`tls-client`, `dev null`: keepalives only.
    P2p,
    /// `server`/`client` (pull) with a TUN device on both ends.
    Tun,
    /// `server`/`client` (pull) with a TAP device on both ends.
    Tap,
}

impl Mode {
    fn dev(self) -> &'static str {
        match self {
            Mode::P2p => "null",
            Mode::Tun => "tun",
            Mode::Tap => "tap",
        }
    }
}

/// OpenVPN's config for one side: common lines, then the role- and mode-specific ones.
fn openvpn_lines(d: &str, role: &str, tcp: bool, mode: Mode, subnet: &str) -> Vec<String> {
    let mut v: Vec<String> = vec![
        format!("dev {}", mode.dev()),
        // 7: OpenVPN 2.6 logs its options-consistency comparison (and any warning) at
        // D_SHOW_OCC, verbosity 7; below that a mismatch would go unseen.
        "verb 7".into(),
        format!("ca {d}/ca.crt"),
        format!("cert {d}/{role}.crt"),
        format!("key {d}/{role}.key"),
    ];
    let server = role == "server";
    v.push(match (server, tcp) {
        (_, false) => "proto udp".into(),
        (true, true) => "proto tcp-server".into(),
        (false, true) => "proto tcp-client".into(),
    });
    if server {
        v.extend([
            format!("local {SIP}"),
            "port 1194".into(),
            "dh none".into(),
            "remote-cert-tls client".into(),
        ]);
        if mode == Mode::P2p {
            v.extend(["tls-server".into(), "keepalive 1 4".into()]);
        } else {
            v.extend([
                format!("server {subnet}.0 255.255.255.0"),
                "topology subnet".into(),
                "keepalive 1 6".into(),
            ]);
        }
    } else {
        v.extend([
            format!("remote {SIP} 1194"),
            "nobind".into(),
            "remote-cert-tls server".into(),
            "verify-x509-name rp-ovpn-server name".into(),
        ]);
        if mode == Mode::P2p {
            v.extend(["tls-client".into(), "keepalive 1 4".into()]);
        } else {
            v.push("client".into());
        }
    }
    v
}

/// Our binary's arguments for one side (the profile's flags are appended by the caller).
fn our_args(d: &str, role: &str, tcp: bool, mode: Mode, subnet: &str, secs: u32) -> Vec<String> {
    let mut v: Vec<String> = vec![
        if role == "server" {
            "--listen"
        } else {
            "--remote"
        }
        .into(),
        format!("{SIP}:1194"),
        "--proto".into(),
        if tcp { "tcp" } else { "udp" }.into(),
        "--ca".into(),
        format!("{d}/ca.crt"),
        "--cert".into(),
        format!("{d}/{role}.crt"),
        "--key".into(),
        format!("{d}/{role}.key"),
        "--ping".into(),
        "1".into(),
        "--ping-restart".into(),
        "6".into(),
        "--seconds".into(),
        secs.to_string(),
    ];
    if role == "server" {
        v.push("--require-client-cert".into());
    } else {
        v.extend(["--verify-name".into(), "rp-ovpn-server".into()]);
    }
    match mode {
        Mode::P2p => v.push("--p2p".into()),
        Mode::Tun | Mode::Tap => {
            v.extend(["--dev".into(), mode.dev().into()]);
            if role == "server" {
                v.extend([
                    "--ifconfig".into(),
                    format!("{subnet}.1/24"),
                    "--pool-base".into(),
                    format!("{subnet}."),
                ]);
            }
        }
    }
    v
}

fn ping(ns: &Netns, to: &str, p: Profile) -> Result<String, String> {
    let size = if matches!(p, Profile::Fragment) {
        "1200"
    } else {
        "56"
    };
    let o = ns.exec("ping", &["-c", "3", "-i", "0.3", "-W", "2", "-s", size, to])?;
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    if o.status.success() {
        Ok(text)
    } else {
        Err(format!("ping {to} failed: {text}"))
    }
}

/// Our client against an OpenVPN server.
fn our_client_vs_openvpn(
    l: &Lab,
    dir: &Path,
    p: Profile,
    tcp: bool,
    mode: Mode,
) -> Result<(), String> {
    let d = dir.to_str().unwrap();
    let subnet = "10.97.200";
    let tag = format!("our client vs openvpn server {p:?} tcp={tcp} {mode:?}");
    let (ov, mut ours) = profile(p, d, true);
    let mut lines = openvpn_lines(d, "server", tcp, mode, subnet);
    lines.extend(ov);
    let status = dir.join("server.status");
    let _ = std::fs::remove_file(&status);
    lines.push(format!("status {} 1", status.display()));
    let conf = openvpn_conf(dir, "server.conf", &lines);
    let srv = l.s.spawn(
        "openvpn",
        &["--config", &conf],
        &dir.join(format!("server-{}-{tcp}-{mode:?}.log", slug(p))),
    )?;
    // Ready: listening (TCP), its socket bound (UDP p2p: "Initialization Sequence
    // Completed" comes only with a client), or its device up (UDP server mode).
    srv.wait_log(
        match (tcp, mode) {
            (true, _) => "Listening for incoming TCP connection",
            (false, Mode::P2p) => "UDPv4 link local (bound)",
            (false, _) => "Initialization Sequence Completed",
        },
        Duration::from_secs(10),
    )?;
    let mut args = our_args(d, "client", tcp, mode, subnet, 5);
    args.append(&mut ours);
    let cli = l.c.spawn_args(
        env!("CARGO_BIN_EXE_ovpn-client"),
        &args,
        &dir.join(format!("ours-client-{}-{tcp}-{mode:?}.log", slug(p))),
    )?;
    let mut ping_res = Ok(String::new());
    if mode != Mode::P2p {
        ping_res = cli
            .wait_log("DEV ovpn0 up", Duration::from_secs(5))
            .and_then(|_| ping(&l.c, &format!("{subnet}.1"), p));
    }
    // OpenVPN's status counters are read while our client runs: it says goodbye (EXIT)
    // when it stops, and a p2p OpenVPN then restarts and starts counting from zero.
    let _ = cli.wait_log("EVENT Up", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(2200)); // keepalives, one status refresh
    let auth = auth_read_bytes(&status);
    let text = cli.stop(Duration::from_secs(8));
    std::thread::sleep(Duration::from_millis(300));
    let slog = srv.log_text();
    drop(srv);
    let checks = [
        (
            "openvpn up",
            slog.contains("Initialization Sequence Completed"),
        ),
        (
            "openvpn pulled from",
            mode == Mode::P2p || slog.contains("PUSH_REQUEST"),
        ),
        // Our client's goodbye (control-channel EXIT, or OCC EXIT) made OpenVPN drop it.
        (
            "exit notification",
            !matches!(p, Profile::Comp(..)) || slog.contains("[soft,remote-exit]"),
        ),
        // An OpenVPN 2.6 server answers a tls-crypt-v2 client that announces early
        // negotiation statelessly (HMAC cookie) over UDP and asks for the WKc again: we
        // then sent P_CONTROL_WKC_V1, or the handshake would not have finished.
        (
            "early negotiation (resend WKc)",
            !(matches!(p, Profile::TlsCryptV2) && !tcp && mode != Mode::P2p)
                || text.contains("EarlyNegotiation { flags: 1 }"),
        ),
        (
            "data channel on the OpenSSL provider",
            !matches!(p, Profile::ChachaOpenssl) || openssl_did_the_work(&text),
        ),
        ("no OCC warnings from OpenVPN", no_occ_warnings(&slog)),
    ];
    verdict(&tag, mode, &text, auth, &ping_res, &checks, &slog)
}

/// OpenVPN compared our key-method-2 options string with the one it expects (its own
/// settings) and found nothing to warn about ("WARNING: 'link-mtu' is used
/// inconsistently", "... is present in remote config but missing in local config").
fn no_occ_warnings(openvpn_log: &str) -> bool {
    // The comparison ran (verb 7), and warned about nothing.
    openvpn_log.contains("Expected Remote Options String")
        && !openvpn_log.lines().any(|l| {
            l.contains("WARNING: '")
                && (l.contains("is used inconsistently") || l.contains("config but missing in"))
        })
}

/// The OpenSSL provider did the data channel's work: its call counter (seal and open in
/// libcrypto) covers at least every packet we decrypted, and is not zero.
fn openssl_did_the_work(ours: &str) -> bool {
    let calls = ours
        .lines()
        .find_map(|l| l.strip_prefix("CRYPTO openssl calls="))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let decrypted = result_field(ours, "pings_rx") + result_field(ours, "data_rx");
    calls > 0 && calls >= decrypted
}

/// One run's outcome from our binary's `RESULT` counters, OpenVPN's authenticated-bytes
/// counter and the kernel ping (device modes), plus named extra `checks`.
fn verdict(
    tag: &str,
    mode: Mode,
    ours: &str,
    auth: u64,
    ping: &Result<String, String>,
    checks: &[(&str, bool)],
    openvpn_log: &str,
) -> Result<(), String> {
    let f = |k| result_field(ours, k);
    let (up, pings, dtx, drx) = (f("up"), f("pings_rx"), f("dev_tx"), f("dev_rx"));
    let ok = match mode {
        Mode::P2p => up == 1 && pings > 0 && auth > 0,
        _ => ping.is_ok() && dtx > 0 && drx > 0,
    };
    let failed: Vec<&str> = checks.iter().filter(|c| !c.1).map(|c| c.0).collect();
    if ok && failed.is_empty() {
        return Ok(());
    }
    Err(format!("{tag}: up={up} pings_rx={pings} dev_tx={dtx} dev_rx={drx} openvpn auth_read_bytes={auth} ping={ping:?} failed checks={failed:?}\n--- ours:\n{ours}\n--- openvpn:\n{openvpn_log}"))
}

/// An OpenVPN client against our server.
fn openvpn_client_vs_our_server(
    l: &Lab,
    dir: &Path,
    p: Profile,
    tcp: bool,
    mode: Mode,
) -> Result<(), String> {
    let d = dir.to_str().unwrap();
    let subnet = "10.97.201";
    let tag = format!("openvpn client vs our server {p:?} tcp={tcp} {mode:?}");
    let (ov, mut ours) = profile(p, d, false);
    let mut args = our_args(d, "server", tcp, mode, subnet, 7);
    args.append(&mut ours);
    let srv = l.s.spawn_args(
        env!("CARGO_BIN_EXE_ovpn-server"),
        &args,
        &dir.join(format!("ours-server-{}-{tcp}-{mode:?}.log", slug(p))),
    )?;
    srv.wait_log("server listening", Duration::from_secs(5))?;
    let mut lines = openvpn_lines(d, "client", tcp, mode, subnet);
    lines.extend(ov);
    let status = dir.join("client.status");
    let _ = std::fs::remove_file(&status);
    lines.push(format!("status {} 1", status.display()));
    let conf = openvpn_conf(dir, "client.conf", &lines);
    let cli = l.c.spawn(
        "openvpn",
        &["--config", &conf],
        &dir.join(format!("client-{}-{tcp}-{mode:?}.log", slug(p))),
    )?;
    let init = cli.wait_log("Initialization Sequence Completed", Duration::from_secs(6));
    let ping_res = match mode {
        Mode::P2p => {
            std::thread::sleep(Duration::from_millis(2500));
            Ok(String::new())
        }
        _ => ping(&l.c, &format!("{subnet}.1"), p),
    };
    let auth = auth_read_bytes(&status);
    let clog = cli.log_text();
    drop(cli);
    let text = srv.stop(Duration::from_secs(8));
    // Over UDP our server answered the reset statelessly (HMAC cookie) and created the
    // session only from OpenVPN's next packet echoing the cookie.
    let created = text
        .lines()
        .find_map(|l| l.strip_prefix("server stateless: "))
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("sessions_created="))
        })
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let checks = [
        ("openvpn up", init.is_ok()),
        (
            "stateless handshake created the session",
            tcp || created >= 1,
        ),
        // With explicit-exit-notify the stopped OpenVPN client said goodbye.
        (
            "exit notification",
            !matches!(p, Profile::Comp(..)) || text.contains("EVENT Down(Exit)"),
        ),
        (
            "data channel on the OpenSSL provider",
            !matches!(p, Profile::ChachaOpenssl) || openssl_did_the_work(&text),
        ),
        ("no OCC warnings from OpenVPN", no_occ_warnings(&clog)),
    ];
    verdict(&tag, mode, &text, auth, &ping_res, &checks, &clog)
}

/// Whether this build has the OpenSSL backend (`--features examples/openssl`): without it the
/// OpenSSL profile is a loud skip, and a failure with CI=true.
fn openssl_backend() -> bool {
    use examples::openssl_backend::{AVAILABLE, MISSING};
    peer_available(
        "the examples' OpenSSL backend",
        if AVAILABLE {
            Ok(())
        } else {
            Err(MISSING.into())
        },
    )
}

fn check() -> Result<(), String> {
    have_program("openvpn")?;
    have_program("openssl")?;
    have_program("ip")?;
    let v = run("openvpn", &["--version"])
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !v.contains("OpenVPN 2.6") {
        return Err(format!(
            "need OpenVPN 2.6, found {}",
            v.lines().next().unwrap_or("?")
        ));
    }
    Ok(())
}

fn check_tun() -> Result<(), String> {
    check()?;
    have_program("ping")?;
    if Path::new("/dev/net/tun").exists() {
        Ok(())
    } else {
        Err("no /dev/net/tun".into())
    }
}

/// Both directions for every (profile, transport) in `runs`; panics listing the failures.
fn run_matrix(test: &str, sn: &str, cn: &str, mode: Mode, runs: &[(Profile, bool)]) {
    let dir = scratch_dir(test);
    pki(&dir);
    let l = lab_named(sn, cn);
    let mut failures = Vec::new();
    for &(p, tcp) in runs {
        let t = Instant::now();
        if let Err(e) = our_client_vs_openvpn(&l, &dir, p, tcp, mode) {
            failures.push(e);
        }
        let t1 = Instant::now();
        if let Err(e) = openvpn_client_vs_our_server(&l, &dir, p, tcp, mode) {
            failures.push(e);
        }
        eprintln!(
            "{test} {p:?} tcp={tcp}: our client {:.1} s, our server {:.1} s",
            (t1 - t).as_secs_f64(),
            t1.elapsed().as_secs_f64()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} {mode:?} interop runs failed:\n{}",
        failures.len(),
        runs.len() * 2,
        failures.join("\n=====\n")
    );
}

fn all(profiles: &[Profile]) -> Vec<(Profile, bool)> {
    [false, true]
        .iter()
        .flat_map(|&tcp| profiles.iter().map(move |&p| (p, tcp)))
        .collect()
}

/// Point-to-point TLS mode over UDP, both roles, every profile.
#[test]
fn interop_ovpn_openvpn26_p2p_both_roles_udp_all_profiles() {
    if !peer_available("openvpn 2.6", check()) {
        return;
    }
    let runs: Vec<(Profile, bool)> = PROFILES.iter().map(|&p| (p, false)).collect();
    run_matrix("ovpn", "rp-ovpn-s", "rp-ovpn-c", Mode::P2p, &runs);
}

/// Point-to-point TLS mode over UDP, both roles, the compression framings (UDP only: they
/// end with explicit-exit-notify).
#[test]
fn interop_ovpn_openvpn26_p2p_both_roles_udp_compression() {
    if !peer_available("openvpn 2.6", check()) {
        return;
    }
    let runs: Vec<(Profile, bool)> = COMPRESSION.iter().map(|&p| (p, false)).collect();
    run_matrix("ovpn-comp", "rp-ovpn-s11", "rp-ovpn-c11", Mode::P2p, &runs);
}

/// Point-to-point TLS mode over TCP, both roles, every profile.
#[test]
fn interop_ovpn_openvpn26_p2p_both_roles_tcp_all_profiles() {
    if !peer_available("openvpn 2.6", check()) {
        return;
    }
    let runs: Vec<(Profile, bool)> = PROFILES.iter().map(|&p| (p, true)).collect();
    run_matrix("ovpn-tcp", "rp-ovpn-s10", "rp-ovpn-c10", Mode::P2p, &runs);
}

/// Server mode (`server` / `client`, pull) with TUN devices on both ends: the client
/// namespace's kernel pings the server's tunnel address and the server namespace's kernel
/// answers, through OpenVPN's TUN on one side and our example's TUN on the other.
#[test]
fn interop_ovpn_openvpn26_server_mode_tun_ping() {
    if !peer_available("openvpn 2.6 + /dev/net/tun", check_tun()) {
        return;
    }
    // `fragment` is UDP-only in OpenVPN.
    let mut runs = all(&[Profile::TlsCryptV2, Profile::GcmTlsAuth, Profile::CbcSha1]);
    runs.push((Profile::Fragment, false));
    if openssl_backend() {
        runs.push((Profile::ChachaOpenssl, false));
    }
    run_matrix("ovpn-tun", "rp-ovpn-s2", "rp-ovpn-c2", Mode::Tun, &runs);
}

/// Server mode with TAP devices on both ends (Ethernet frames in the tunnel: ARP, then ICMP),
/// UDP and TCP, both directions.
#[test]
fn interop_ovpn_openvpn26_server_mode_tap_ping() {
    if !peer_available("openvpn 2.6 + /dev/net/tun", check_tun()) {
        return;
    }
    run_matrix(
        "ovpn-tap",
        "rp-ovpn-s3",
        "rp-ovpn-c3",
        Mode::Tap,
        &all(&[Profile::TlsCryptV2]),
    );
}

/// The set-up of a single-scenario test: `None` (after the SKIP banner) when the peer is
/// missing, else the scratch folder with a fresh PKI and the two namespaces `rp-ovpn-s<n>`
/// / `rp-ovpn-c<n>`.
fn scenario(test: &str, n: u8, tun: bool) -> Option<(std::path::PathBuf, Lab)> {
    let ok = if tun {
        peer_available("openvpn 2.6 + /dev/net/tun", check_tun())
    } else {
        peer_available("openvpn 2.6", check())
    };
    if !ok {
        return None;
    }
    let dir = scratch_dir(test);
    pki(&dir);
    let l = lab_named(&format!("rp-ovpn-s{n}"), &format!("rp-ovpn-c{n}"));
    Some((dir, l))
}

/// Start OpenVPN with the config `lines` (written as `<name>.conf`) in the server namespace
/// and wait for `ready` in its log.
fn start_openvpn_server(l: &Lab, dir: &Path, name: &str, lines: &[String], ready: &str) -> Proc {
    let conf = openvpn_conf(dir, &format!("{name}.conf"), lines);
    let srv =
        l.s.spawn(
            "openvpn",
            &["--config", &conf],
            &dir.join(format!("{name}.log")),
        )
        .unwrap();
    srv.wait_log(ready, Duration::from_secs(10)).unwrap();
    srv
}

/// Start OpenVPN with the config `lines` in the server namespace, wait for `ready` in its log,
/// run our client with `args` to its end; returns (our output, OpenVPN's log).
fn openvpn_server_then_our_client(
    l: &Lab,
    dir: &Path,
    name: &str,
    lines: &[String],
    ready: &str,
    args: &[String],
) -> (String, String) {
    let srv = start_openvpn_server(l, dir, &format!("server-{name}"), lines, ready);
    let cli =
        l.c.spawn_args(
            env!("CARGO_BIN_EXE_ovpn-client"),
            args,
            &dir.join(format!("ours-client-{name}.log")),
        )
        .unwrap();
    let text = cli.wait_exit(Duration::from_secs(15));
    let slog = srv.log_text();
    drop(srv);
    (text, slog)
}

/// auth-token: an OpenVPN server (`auth-gen-token`, `reneg-sec 4`) whose password check
/// script accepts only the first call; our client (pull, user/password) must get the token
/// pushed, send it instead of the password at the server-initiated renegotiations, and stay
/// up through them (with the password again, the script would refuse: AUTH_FAILED). The
/// server renews the token with `PUSH_REPLY,auth-token ...` at each renegotiation and
/// refuses an unrenewed one after 2 x reneg-sec ("token expired"), so renewal is checked too.
/// With tls-crypt configured, the renegotiations' control channel runs under dyn-tls-crypt
/// (key exported from the first TLS session, XORed with the tls-crypt key).
#[test]
fn interop_ovpn_openvpn26_auth_token_on_renegotiation() {
    let Some((dir, l)) = scenario("ovpn-token", 4, true) else {
        return;
    };
    let d = dir.to_str().unwrap();
    let used = dir.join("verify-used");
    let calls = dir.join("verify-used.log");
    let _ = std::fs::remove_file(&used);
    let _ = std::fs::remove_file(&calls);
    let script = dir.join("verify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# accept {{alice, secret}} once (via-file: user, password)\nu=$(sed -n 1p \"$1\"); p=$(sed -n 2p \"$1\")\necho \"verify $u\" >>{u}.log\n[ -e {u} ] && exit 1\n[ \"$u\" = alice ] && [ \"$p\" = secret ] && touch {u} && exit 0\nexit 1\n",
            u = used.display()
        ),
    )
    .unwrap();
    run("chmod", &["+x", script.to_str().unwrap()]).unwrap();
    let mut lines = openvpn_lines(d, "server", false, Mode::Tun, "10.97.202");
    lines.extend([
        "data-ciphers AES-256-GCM".to_string(),
        "script-security 2".into(),
        format!("auth-user-pass-verify {} via-file", script.display()),
        "auth-gen-token 120".into(),
        "hand-window 2".into(),
        "reneg-sec 4".into(),
        format!("tls-crypt {d}/tc.key"),
    ]);
    let mut args = our_args(d, "client", false, Mode::P2p, "", 11);
    args.retain(|a| a != "--p2p");
    args.extend(
        [
            "--data-ciphers",
            "AES-256-GCM",
            "--user",
            "alice",
            "--pass",
            "secret",
        ]
        .map(String::from),
    );
    args.extend(["--tls-crypt".to_string(), format!("{d}/tc.key")]);
    let (text, slog) = openvpn_server_then_our_client(
        &l,
        &dir,
        "token",
        &lines,
        "Initialization Sequence Completed",
        &args,
    );
    let rekeys = text.matches("EVENT Rekeyed").count();
    assert!(
        text.contains("auth_token: Some(")
            && rekeys >= 2
            && !text.contains("AuthFailed")
            && result_field(&text, "up") == 1
            // The renegotiations ran under dyn-tls-crypt (our IV_PROTO bit, its push).
            && slog.contains("Incoming dynamic tls-crypt")
            && used.exists(),
        "rekeys={rekeys}\n--- ours:\n{text}\n--- openvpn:\n{slog}"
    );
    // The password was checked once; the renegotiations went on the (renewed) token.
    let n = std::fs::read_to_string(&calls)
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(n, 1, "verify script calls");
}

/// Renegotiation in p2p TLS mode (`tls-server` with `reneg-sec 3`, tls-crypt): both ends
/// announce dyn-tls-crypt in their peer info, so the renegotiations run under it; our client
/// must go through two of them (key ids 1 and 2) and keep the data channel up.
#[test]
fn interop_ovpn_openvpn26_p2p_renegotiation() {
    let Some((dir, l)) = scenario("ovpn-reneg", 5, false) else {
        return;
    };
    let d = dir.to_str().unwrap();
    let mut lines = openvpn_lines(d, "server", false, Mode::P2p, "");
    lines.extend([
        "data-ciphers AES-256-GCM".to_string(),
        format!("tls-crypt {d}/tc.key"),
        "reneg-sec 3".into(),
        "hand-window 2".into(),
    ]);
    let mut args = our_args(d, "client", false, Mode::P2p, "", 8);
    args.extend(
        [
            "--data-ciphers",
            "AES-256-GCM",
            "--tls-crypt",
            &format!("{d}/tc.key"),
        ]
        .map(String::from),
    );
    let (text, slog) = openvpn_server_then_our_client(
        &l,
        &dir,
        "reneg",
        &lines,
        "UDPv4 link local (bound)",
        &args,
    );
    assert!(
        text.contains("EVENT Rekeyed { key_id: 1 }")
            && text.contains("EVENT Rekeyed { key_id: 2 }")
            && text.contains("EVENT Down(Closed)")
            && !text.contains("client drop")
            && slog.contains("Incoming dynamic tls-crypt")
            && result_field(&text, "up") == 1,
        "--- ours:\n{text}\n--- openvpn:\n{slog}"
    );
}

/// Server-side explicit-exit-notify, both directions (UDP, server mode):
/// * our server (`--explicit-exit-notify 1`) at the end of its run sends `RESTART` to the
///   OpenVPN client, which logs "Connection reset command was pushed by server";
/// * an OpenVPN server with `explicit-exit-notify 2` stopped with SIGTERM sends
///   `RESTART,[N]`; our client reports `Event::Restart { next_remote: true }` and goes down
///   with `Restart`.
#[test]
fn interop_ovpn_openvpn26_restart_on_server_shutdown() {
    let Some((dir, l)) = scenario("ovpn-restart", 6, true) else {
        return;
    };
    let d = dir.to_str().unwrap();
    let subnet = "10.97.203";
    // Our server, OpenVPN client.
    let mut args = our_args(d, "server", false, Mode::Tun, subnet, 6);
    args.extend(["--explicit-exit-notify".to_string(), "1".into()]);
    let srv =
        l.s.spawn_args(
            env!("CARGO_BIN_EXE_ovpn-server"),
            &args,
            &dir.join("ours-server-restart.log"),
        )
        .unwrap();
    srv.wait_log("server listening", Duration::from_secs(5))
        .unwrap();
    let lines = openvpn_lines(d, "client", false, Mode::Tun, subnet);
    let conf = openvpn_conf(&dir, "client-restart.conf", &lines);
    let cli =
        l.c.spawn(
            "openvpn",
            &["--config", &conf],
            &dir.join("client-restart.log"),
        )
        .unwrap();
    let up = cli.wait_log("Initialization Sequence Completed", Duration::from_secs(6));
    let stext = srv.wait_exit(Duration::from_secs(12));
    let pushed = cli.wait_log(
        "Connection reset command was pushed by server",
        Duration::from_secs(3),
    );
    let clog = cli.log_text();
    drop(cli);
    assert!(
        up.is_ok()
            && pushed.is_ok()
            && stext.contains("server shutdown: sending RESTART")
            && stext.contains("EVENT Down(Closed)"),
        "--- ours:\n{stext}\n--- openvpn client:\n{clog}"
    );
    // OpenVPN server, our client.
    let mut lines = openvpn_lines(d, "server", false, Mode::Tun, "10.97.204");
    lines.push("explicit-exit-notify 2".into());
    let srv = start_openvpn_server(
        &l,
        &dir,
        "server-restart",
        &lines,
        "Initialization Sequence Completed",
    );
    let mut args = our_args(d, "client", false, Mode::P2p, "", 20);
    args.retain(|a| a != "--p2p");
    let cli =
        l.c.spawn_args(
            env!("CARGO_BIN_EXE_ovpn-client"),
            &args,
            &dir.join("ours-client-restart.log"),
        )
        .unwrap();
    let up = cli.wait_log("EVENT Up", Duration::from_secs(8));
    std::thread::sleep(Duration::from_millis(500));
    run("kill", &["-TERM", &srv.child.id().to_string()]).unwrap();
    let text = cli.wait_exit(Duration::from_secs(10));
    let slog = srv.log_text();
    drop(srv);
    assert!(
        up.is_ok()
            && text.contains("EVENT Restart { next_remote: true, message: Some(\"[N]\") }")
            && text.contains("EVENT Down(Restart(Some(\"[N]\")))"),
        "--- ours:\n{text}\n--- openvpn server:\n{slog}"
    );
}

/// Pushed routes on our client's TUN (server mode, UDP): an OpenVPN server pushes
/// `route 10.97.207.0 255.255.255.0` (a network that exists only behind the server: an
/// address on its loopback), `redirect-gateway def1 ipv6` and, through `server-ipv6`,
/// `ifconfig-ipv6`. Our client must install 10.97.207.0/24, 0.0.0.0/1 + 128.0.0.0/1 and
/// 2000::/4 + 3000::/4 on its device inside its namespace (checked with `ip route`), and
/// the namespace's `ping 10.97.207.1` must be answered through the tunnel. With
/// `--route-nopull` the address is still applied but none of the routes.
#[test]
fn interop_ovpn_openvpn26_pushed_routes_installed() {
    let Some((dir, l)) = scenario("ovpn-routes", 7, true) else {
        return;
    };
    let d = dir.to_str().unwrap();
    l.s.exec("ip", &["addr", "add", "10.97.207.1/32", "dev", "lo"])
        .unwrap();
    let mut lines = openvpn_lines(d, "server", false, Mode::Tun, "10.97.206");
    lines.extend([
        "server-ipv6 fd00:97:206::/64".to_string(),
        "push \"route 10.97.207.0 255.255.255.0\"".into(),
        "push \"redirect-gateway def1 ipv6\"".into(),
    ]);
    let srv = start_openvpn_server(
        &l,
        &dir,
        "server-routes",
        &lines,
        "Initialization Sequence Completed",
    );
    for nopull in [false, true] {
        let mut args = our_args(d, "client", false, Mode::Tun, "", 12);
        if nopull {
            args.push("--route-nopull".into());
        }
        let cli =
            l.c.spawn_args(
                env!("CARGO_BIN_EXE_ovpn-client"),
                &args,
                &dir.join(format!("ours-client-routes-{nopull}.log")),
            )
            .unwrap();
        cli.wait_log("DEV ovpn0 up", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}\n{}", cli.log_text()));
        std::thread::sleep(Duration::from_millis(500));
        let show = |v6: bool| {
            let a: &[&str] = if v6 {
                &["-6", "route", "show", "dev", "ovpn0"]
            } else {
                &["route", "show", "dev", "ovpn0"]
            };
            String::from_utf8_lossy(&l.c.exec("ip", a).unwrap().stdout).into_owned()
        };
        let (r4, r6) = (show(false), show(true));
        let addr = String::from_utf8_lossy(
            &l.c.exec("ip", &["addr", "show", "dev", "ovpn0"])
                .unwrap()
                .stdout,
        )
        .into_owned();
        let pinged = ping(&l.c, "10.97.207.1", Profile::Plain);
        let text = cli.log_text();
        drop(cli);
        let want4 = ["10.97.207.0/24", "0.0.0.0/1", "128.0.0.0/1"];
        let want6 = ["2000::/4", "3000::/4"];
        let ok = !text.contains("ROUTE failed")
            && addr.contains("inet 10.97.206.")
            && addr.contains("inet6 fd00:97:206::")
            && if nopull {
                want4.iter().all(|w| !r4.contains(w))
                    && want6.iter().all(|w| !r6.contains(w))
                    && pinged.is_err()
            } else {
                want4.iter().all(|w| r4.contains(w))
                    && want6.iter().all(|w| r6.contains(w))
                    && pinged.is_ok()
            };
        assert!(
            ok,
            "route-nopull={nopull}\n--- ip route:\n{r4}\n--- ip -6 route:\n{r6}\n--- addr:\n{addr}\n--- ping: {pinged:?}\n--- ours:\n{text}\n--- openvpn:\n{}",
            srv.log_text()
        );
    }
}

/// Our server's auth-gen-token with an OpenVPN 2.6 client (server mode, UDP, TUN):
/// `--auth-gen-token 0:2 --reneg-sec 3`. The client authenticates with user/password once
/// (our credential hook runs exactly once), gets a token pushed, sends it instead of the
/// password at each server-initiated renegotiation (the hook is not asked again, no
/// AUTH_FAILED), and receives renewed tokens (at renegotiations and every 2 s).
#[test]
fn interop_ovpn_openvpn26_client_auth_token_from_our_server() {
    let Some((dir, l)) = scenario("ovpn-ourtoken", 8, true) else {
        return;
    };
    let d = dir.to_str().unwrap();
    let subnet = "10.97.208";
    let mut args = our_args(d, "server", false, Mode::Tun, subnet, 12);
    args.extend(
        [
            "--user",
            "alice",
            "--pass",
            "secret",
            "--auth-gen-token",
            "0:2",
            "--reneg-sec",
            "3",
        ]
        .map(String::from),
    );
    let srv =
        l.s.spawn_args(
            env!("CARGO_BIN_EXE_ovpn-server"),
            &args,
            &dir.join("ours-server-token.log"),
        )
        .unwrap();
    srv.wait_log("server listening", Duration::from_secs(5))
        .unwrap();
    let up = dir.join("up.txt");
    std::fs::write(&up, "alice\nsecret\n").unwrap();
    let mut lines = openvpn_lines(d, "client", false, Mode::Tun, subnet);
    lines.push(format!("auth-user-pass {}", up.display()));
    let conf = openvpn_conf(&dir, "client-token.conf", &lines);
    let cli =
        l.c.spawn(
            "openvpn",
            &["--config", &conf],
            &dir.join("client-token.log"),
        )
        .unwrap();
    let init = cli.wait_log("Initialization Sequence Completed", Duration::from_secs(6));
    std::thread::sleep(Duration::from_secs(8));
    let pinged = ping(&l.c, &format!("{subnet}.1"), Profile::Plain);
    let clog = cli.log_text();
    drop(cli);
    let text = srv.wait_exit(Duration::from_secs(10));
    let hook_calls = text.matches("server auth hook: user alice").count();
    let token_pushes = clog
        .lines()
        .filter(|l| {
            l.contains("PUSH: Received control message: 'PUSH_REPLY") && l.contains("auth-token")
        })
        .count();
    let rekeys = text.matches("EVENT Rekeyed").count();
    assert!(
        init.is_ok()
            && pinged.is_ok()
            && hook_calls == 1
            && token_pushes >= 3
            && rekeys >= 2
            && !text.contains("AuthFailed")
            && !clog.contains("AUTH_FAILED"),
        "hook_calls={hook_calls} token_pushes={token_pushes} rekeys={rekeys} ping={pinged:?}\n--- ours:\n{text}\n--- openvpn client:\n{clog}"
    );
}

/// OpenVPN's certificate rules against OpenVPN 2.6 as server: its certificate is
/// self-signed and marked as a CA, and our client's `ca` is that same certificate (OpenVPN
/// clients say "VERIFY OK"; a web-PKI verifier refuses it as a CA used as end entity). Our
/// client must come up, with `--remote-cert-tls` off (the certificate has no EKU) and no
/// name check. OpenVPN's `ca` holds the self-signed certificate and the test CA, so it
/// verifies our client certificate too.
#[test]
fn interop_ovpn_openvpn26_server_ca_as_end_entity() {
    let Some((dir, l)) = scenario("ovpn-selfca", 9, false) else {
        return;
    };
    let d = dir.to_str().unwrap();
    let mut lines = openvpn_lines(d, "server", false, Mode::P2p, "");
    lines.retain(|x| !x.starts_with("ca ") && !x.starts_with("cert ") && !x.starts_with("key "));
    lines.extend([
        format!("ca {d}/selfca-and-ca.crt"),
        format!("cert {d}/selfca.crt"),
        format!("key {d}/selfca.key"),
        "data-ciphers AES-256-GCM".into(),
    ]);
    let mut args = our_args(d, "client", false, Mode::P2p, "", 4);
    let i = args.iter().position(|a| a == "--ca").unwrap();
    args[i + 1] = format!("{d}/selfca.crt");
    let i = args.iter().position(|a| a == "--verify-name").unwrap();
    args.drain(i..i + 2);
    args.extend(["--data-ciphers", "AES-256-GCM"].map(String::from));
    let (text, slog) = openvpn_server_then_our_client(
        &l,
        &dir,
        "selfca",
        &lines,
        "UDPv4 link local (bound)",
        &args,
    );
    assert!(
        result_field(&text, "up") == 1
            && result_field(&text, "pings_rx") > 0
            && slog.contains("Initialization Sequence Completed")
            && no_occ_warnings(&slog),
        "--- ours:\n{text}\n--- openvpn:\n{slog}"
    );
}
