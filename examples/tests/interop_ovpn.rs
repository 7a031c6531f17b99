//! Interop: our `ovpn` client and server against OpenVPN 2.6 (Debian `openvpn`) in network
//! namespaces `rp-ovpn-s` (10.97.2.1) / `rp-ovpn-c` (10.97.2.2), point-to-point TLS mode with
//! `dev null` (no TUN), UDP and TCP, profiles tls-auth + AES-256-GCM, tls-crypt +
//! CHACHA20-POLY1305, tls-auth + AES-128-CBC/SHA1, no wrapping, and BF-CBC/SHA1 (OpenVPN with
//! OpenSSL's legacy provider); plus OpenVPN server mode (pull, `dev tun`) with pings through
//! the tunnel for tls-crypt-v2, tls-auth + AES-256-GCM and AES-128-CBC/SHA1.
//!
//! Evidence per run: OpenVPN logs "Initialization Sequence Completed" and its `--status`
//! file shows "Auth read bytes" > 0 (it authenticated/decrypted our data-channel packets:
//! keepalive pings every second); our side prints `RESULT up=true pings_rx=N` with N > 0
//! (we decrypted OpenVPN's pings). The PKI is made at test time with openssl.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use examples::interop::{have_program, peer_available, run, scratch_dir, veth, Netns};

const SIP: &str = "10.97.2.1";

fn pki(dir: &Path) {
    let d = dir.to_str().unwrap();
    let script = format!(
        r#"set -e; cd {d}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=rp-ovpn-ca -keyout ca.key -out ca.crt 2>/dev/null
for n in server client; do
  eku=$([ $n = server ] && echo serverAuth || echo clientAuth)
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=rp-ovpn-$n -keyout $n.key -out $n.csr 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' $eku >$n.ext
  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile $n.ext -out $n.crt 2>/dev/null
done
openvpn --genkey secret ta.key; openvpn --genkey secret tc.key
openvpn --genkey tls-crypt-v2-server v2s.key; openvpn --tls-crypt-v2 v2s.key --genkey tls-crypt-v2-client v2c.key"#
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
}

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
                "--auth",
                "SHA256",
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

fn lab() -> Lab {
    lab_named("rp-ovpn-s", "rp-ovpn-c")
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

fn result_line(out: &str) -> (bool, u64) {
    let l = out.lines().find(|l| l.starts_with("RESULT ")).unwrap_or("");
    let up = l.contains("up=true");
    let pings = l
        .split_whitespace()
        .find_map(|w| w.strip_prefix("pings_rx="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (up, pings)
}

fn openvpn_conf(dir: &Path, name: &str, lines: &[String]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p.to_string_lossy().into_owned()
}

fn base_lines(d: &str, role: &str, tcp: bool) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "dev null".into(),
        "verb 4".into(),
        "keepalive 1 4".into(),
        format!("ca {d}/ca.crt"),
        format!("cert {d}/{role}.crt"),
        format!("key {d}/{role}.key"),
    ];
    if role == "server" {
        v.push(if tcp {
            "proto tcp-server".into()
        } else {
            "proto udp".into()
        });
        v.extend([
            format!("local {SIP}"),
            "port 1194".into(),
            "dh none".into(),
            "tls-server".into(),
            "remote-cert-tls client".into(),
        ]);
    } else {
        v.push(if tcp {
            "proto tcp-client".into()
        } else {
            "proto udp".into()
        });
        v.extend([
            format!("remote {SIP} 1194"),
            "nobind".into(),
            "tls-client".into(),
            "remote-cert-tls server".into(),
            "verify-x509-name rp-ovpn-server name".into(),
        ]);
    }
    v
}

/// Our client against an OpenVPN server.
fn our_client_vs_openvpn(l: &Lab, dir: &Path, p: Profile, tcp: bool) -> Result<(), String> {
    let d = dir.to_str().unwrap();
    let (ov, ours) = profile(p, d, true);
    let mut lines = base_lines(d, "server", tcp);
    lines.extend(ov);
    let status = dir.join("server.status");
    let _ = std::fs::remove_file(&status);
    lines.push(format!("status {} 1", status.display()));
    let conf = openvpn_conf(dir, "server.conf", &lines);
    let log = dir.join(format!("server-{p:?}-{tcp}.log"));
    let srv = l.s.spawn("openvpn", &["--config", &conf], &log)?;
    srv.wait_log(
        if tcp {
            "Listening for incoming TCP connection"
        } else {
            "Initialization Sequence Completed"
        },
        Duration::from_secs(10),
    )
    .or_else(|_| srv.wait_log("UDPv4 link local (bound)", Duration::from_secs(5)))?;
    let mut args: Vec<String> = vec![
        "--remote".into(),
        format!("{SIP}:1194"),
        "--proto".into(),
        if tcp { "tcp" } else { "udp" }.into(),
        "--ca".into(),
        format!("{d}/ca.crt"),
        "--cert".into(),
        format!("{d}/client.crt"),
        "--key".into(),
        format!("{d}/client.key"),
        "--verify-name".into(),
        "rp-ovpn-server".into(),
        "--p2p".into(),
        "--ping".into(),
        "1".into(),
        "--ping-restart".into(),
        "6".into(),
        "--seconds".into(),
        "5".into(),
    ];
    args.extend(ours);
    let mut cmd = vec![
        "netns".to_string(),
        "exec".into(),
        l.c.name.clone(),
        env!("CARGO_BIN_EXE_ovpn-client").into(),
    ];
    cmd.extend(args);
    let out = Command::new("ip")
        .args(&cmd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    std::thread::sleep(Duration::from_millis(1200)); // one status refresh
    let (up, pings) = result_line(&text);
    let auth = auth_read_bytes(&status);
    let slog = srv.log_text();
    drop(srv);
    if up && pings > 0 && auth > 0 && slog.contains("Initialization Sequence Completed") {
        Ok(())
    } else {
        Err(format!("our client vs openvpn server {p:?} tcp={tcp}: up={up} pings_rx={pings} openvpn auth_read_bytes={auth}\n--- ours:\n{text}\n--- openvpn:\n{slog}"))
    }
}

/// An OpenVPN client against our server.
fn openvpn_client_vs_our_server(l: &Lab, dir: &Path, p: Profile, tcp: bool) -> Result<(), String> {
    let d = dir.to_str().unwrap();
    let (ov, ours) = profile(p, d, false);
    let mut args: Vec<String> = vec![
        "--listen".into(),
        format!("{SIP}:1194"),
        "--proto".into(),
        if tcp { "tcp" } else { "udp" }.into(),
        "--ca".into(),
        format!("{d}/ca.crt"),
        "--cert".into(),
        format!("{d}/server.crt"),
        "--key".into(),
        format!("{d}/server.key"),
        "--require-client-cert".into(),
        "--p2p".into(),
        "--ping".into(),
        "1".into(),
        "--ping-restart".into(),
        "6".into(),
        "--seconds".into(),
        "7".into(),
    ];
    args.extend(ours);
    let mut cmd = vec![
        "netns".to_string(),
        "exec".into(),
        l.s.name.clone(),
        env!("CARGO_BIN_EXE_ovpn-server").into(),
    ];
    cmd.extend(args);
    let ours_proc = Command::new("ip")
        .args(&cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(500));
    let mut lines = base_lines(d, "client", tcp);
    lines.extend(ov);
    let status = dir.join("client.status");
    let _ = std::fs::remove_file(&status);
    lines.push(format!("status {} 1", status.display()));
    let conf = openvpn_conf(dir, "client.conf", &lines);
    let log = dir.join(format!("client-{p:?}-{tcp}.log"));
    let cli = l.c.spawn("openvpn", &["--config", &conf], &log)?;
    let init = cli.wait_log("Initialization Sequence Completed", Duration::from_secs(6));
    std::thread::sleep(Duration::from_millis(2500));
    let auth = auth_read_bytes(&status);
    let clog = cli.log_text();
    drop(cli);
    let out = ours_proc.wait_with_output().map_err(|e| e.to_string())?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let (up, pings) = result_line(&text);
    if init.is_ok() && up && pings > 0 && auth > 0 {
        Ok(())
    } else {
        Err(format!("openvpn client vs our server {p:?} tcp={tcp}: init={init:?} up={up} pings_rx={pings} openvpn auth_read_bytes={auth}\n--- ours:\n{text}\n--- openvpn:\n{clog}"))
    }
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

#[test]
fn interop_ovpn_openvpn26_both_roles_udp_tcp_all_profiles() {
    if !peer_available("openvpn 2.6", check()) {
        return;
    }
    let dir = scratch_dir("ovpn");
    pki(&dir);
    let l = lab();
    let mut failures = Vec::new();
    for tcp in [false, true] {
        for p in PROFILES {
            if let Err(e) = our_client_vs_openvpn(&l, &dir, p, tcp) {
                failures.push(e);
            }
            if let Err(e) = openvpn_client_vs_our_server(&l, &dir, p, tcp) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 20 interop runs failed:\n{}",
        failures.len(),
        failures.join("\n=====\n")
    );
}

/// Server mode (`--server` / `client`, pull, `dev tun`): our client against an OpenVPN server
/// (ICMP echo through the tunnel to the server's tun address must come back), and an
/// OpenVPN client against our server (`ping` from the client's tun to our server's pool
/// address, answered by our server through the tunnel).
fn server_mode(l: &Lab, dir: &Path, p: Profile, tcp: bool) -> Vec<String> {
    let d = dir.to_str().unwrap();
    let mut errs = Vec::new();
    // Our client -> OpenVPN server.
    {
        let (ov, ours) = profile(p, d, true);
        let mut lines: Vec<String> = vec![
            "dev tun".into(),
            "verb 4".into(),
            "keepalive 1 6".into(),
            format!("ca {d}/ca.crt"),
            format!("cert {d}/server.crt"),
            format!("key {d}/server.key"),
            if tcp {
                "proto tcp-server".into()
            } else {
                "proto udp".into()
            },
            format!("local {SIP}"),
            "port 1194".into(),
            "dh none".into(),
            "server 10.97.200.0 255.255.255.0".into(),
            "topology subnet".into(),
            "remote-cert-tls client".into(),
        ];
        lines.extend(ov);
        let conf = openvpn_conf(dir, "server-tun.conf", &lines);
        let log = dir.join(format!("server-tun-{p:?}-{tcp}.log"));
        match l.s.spawn("openvpn", &["--config", &conf], &log) {
            Err(e) => errs.push(e),
            Ok(srv) => {
                let _ = srv.wait_log("Initialization Sequence Completed", Duration::from_secs(10));
                let mut cmd: Vec<String> = vec![
                    "netns".into(),
                    "exec".into(),
                    l.c.name.clone(),
                    env!("CARGO_BIN_EXE_ovpn-client").into(),
                    "--remote".into(),
                    format!("{SIP}:1194"),
                    "--proto".into(),
                    if tcp { "tcp" } else { "udp" }.into(),
                    "--ca".into(),
                    format!("{d}/ca.crt"),
                    "--cert".into(),
                    format!("{d}/client.crt"),
                    "--key".into(),
                    format!("{d}/client.key"),
                    "--verify-name".into(),
                    "rp-ovpn-server".into(),
                    "--seconds".into(),
                    "4".into(),
                    "--icmp-ping".into(),
                    "10.97.200.1".into(),
                ];
                cmd.extend(ours);
                let out = Command::new("ip").args(&cmd).stdin(Stdio::null()).output();
                let text = out
                    .map(|o| {
                        String::from_utf8_lossy(&o.stdout).into_owned()
                            + &String::from_utf8_lossy(&o.stderr)
                    })
                    .unwrap_or_else(|e| e.to_string());
                let echo_rx: u64 = text
                    .lines()
                    .find(|l| l.starts_with("RESULT "))
                    .and_then(|l| {
                        l.split_whitespace()
                            .find_map(|w| w.strip_prefix("echo_rx="))
                    })
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let slog = srv.log_text();
                drop(srv);
                if echo_rx == 0 || !slog.contains("PUSH_REQUEST") {
                    errs.push(format!("our client vs openvpn --server {p:?} tcp={tcp}: echo_rx={echo_rx}\n--- ours:\n{text}\n--- openvpn:\n{slog}"));
                }
            }
        }
    }
    // OpenVPN client -> our server.
    {
        let (ov, ours) = profile(p, d, false);
        let mut cmd: Vec<String> = vec![
            "netns".into(),
            "exec".into(),
            l.s.name.clone(),
            env!("CARGO_BIN_EXE_ovpn-server").into(),
            "--listen".into(),
            format!("{SIP}:1194"),
            "--proto".into(),
            if tcp { "tcp" } else { "udp" }.into(),
            "--ca".into(),
            format!("{d}/ca.crt"),
            "--cert".into(),
            format!("{d}/server.crt"),
            "--key".into(),
            format!("{d}/server.key"),
            "--require-client-cert".into(),
            "--ping".into(),
            "1".into(),
            "--ping-restart".into(),
            "6".into(),
            "--seconds".into(),
            "7".into(),
            "--pool-base".into(),
            "10.97.201.".into(),
        ];
        cmd.extend(ours);
        let ours_proc = Command::new("ip")
            .args(&cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        std::thread::sleep(Duration::from_millis(500));
        let mut lines: Vec<String> = vec![
            "client".into(),
            "dev tun".into(),
            "verb 4".into(),
            format!("ca {d}/ca.crt"),
            format!("cert {d}/client.crt"),
            format!("key {d}/client.key"),
            if tcp {
                "proto tcp-client".into()
            } else {
                "proto udp".into()
            },
            format!("remote {SIP} 1194"),
            "nobind".into(),
            "remote-cert-tls server".into(),
            "verify-x509-name rp-ovpn-server name".into(),
        ];
        lines.extend(ov);
        let conf = openvpn_conf(dir, "client-tun.conf", &lines);
        let log = dir.join(format!("client-tun-{p:?}-{tcp}.log"));
        match (ours_proc, l.c.spawn("openvpn", &["--config", &conf], &log)) {
            (Ok(ours_proc), Ok(cli)) => {
                let init =
                    cli.wait_log("Initialization Sequence Completed", Duration::from_secs(6));
                let ping =
                    l.c.exec("ping", &["-c", "3", "-i", "0.3", "-W", "1", "10.97.201.1"]);
                let clog = cli.log_text();
                drop(cli);
                let out = ours_proc.wait_with_output();
                let text = out
                    .map(|o| {
                        String::from_utf8_lossy(&o.stdout).into_owned()
                            + &String::from_utf8_lossy(&o.stderr)
                    })
                    .unwrap_or_else(|e| e.to_string());
                if init.is_err() || ping.is_err() {
                    errs.push(format!("openvpn client (pull, tun) vs our server {p:?} tcp={tcp}: init={init:?} ping={:?}\n--- ours:\n{text}\n--- openvpn:\n{clog}", ping.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())));
                }
            }
            (a, b) => errs.push(format!("spawn failed: {:?} {:?}", a.err(), b.err())),
        }
    }
    errs
}

#[test]
fn interop_ovpn_openvpn26_server_mode_tun_ping() {
    if !peer_available(
        "openvpn 2.6",
        check().and_then(|_| {
            if Path::new("/dev/net/tun").exists() {
                Ok(())
            } else {
                Err("no /dev/net/tun".into())
            }
        }),
    ) {
        return;
    }
    let dir = scratch_dir("ovpn-tun");
    pki(&dir);
    let l = lab_named("rp-ovpn-s2", "rp-ovpn-c2");
    let mut failures = Vec::new();
    for tcp in [false, true] {
        for p in [Profile::TlsCryptV2, Profile::GcmTlsAuth, Profile::CbcSha1] {
            failures.extend(server_mode(&l, &dir, p, tcp));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 12 server-mode interop runs failed:\n{}",
        failures.len(),
        failures.join("\n=====\n")
    );
}
