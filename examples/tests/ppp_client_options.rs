//! The shared PPP client settings on a client example, observed end to end: `sstp-client
//! --authentication` (RouterOS `authentication`, the `allow` of the other clients) against our
//! `sstp-server` on loopback, which offers only MS-CHAPv2. Allowing mschap2 authenticates and
//! pings the server's PPP address; allowing only pap makes the client Nak the server's method, so
//! no authentication happens and the server ends the call. (No root needed: TCP on 127.0.0.1,
//! neither end opens a TUN.)
//!
//! The same for `pptp-client --allow` against our `pptp-server --authentication mschap2` (TCP
//! and raw GRE between two network namespaces) and `pppoe-client --allow` against our
//! `pppoe-server --authentication mschap2` (a veth between two namespaces): these need root,
//! and are loud skips without it.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client(port: u16, allow: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sstp-client"))
        .args([
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--user",
            "u",
            "--password",
            "p",
            "--authentication",
            allow,
            "--ping",
            "10.231.0.1",
            "--count",
            "2",
            "--duration",
            "8",
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn sstp_client_authentication_limits_the_methods_it_accepts() {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("ppp-client-options-{}.log", std::process::id()));
    let mut srv = Command::new(env!("CARGO_BIN_EXE_sstp-server"))
        .args([
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--user",
            "u:p",
            "--authentication",
            "mschap2",
            "--local",
            "10.231.0.1",
            "--hold",
            "40",
        ])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("LISTENING")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (ok_code, ok) = client(port, "mschap2");
    let (no_code, no) = client(port, "pap");
    let _ = srv.kill();
    let _ = srv.wait();
    let server = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(ok.contains("AUTH OK u method=mschap2"), "{ok}\n{server}");
    assert!(ok.contains("PING reply from 10.231.0.1"), "{ok}\n{server}");
    assert_eq!(ok_code, Some(0), "{ok}");
    assert!(
        !no.contains("AUTH OK"),
        "pap only must not authenticate: {no}"
    );
    assert!(no.contains("CLOSED"), "{no}");
    assert_ne!(no_code, Some(0), "{no}");
    assert_eq!(
        server.matches("AUTH OK u").count(),
        1,
        "only the mschap2 client authenticated:\n{server}"
    );
}

use examples::interop::{peer_available, require_tools, scratch_dir, veth, veth_link, Netns};

/// Run the client twice against one server, allowing `mschap2` and then only `pap`; returns the
/// two client logs and the server log.
fn allow_runs(
    s: &Netns,
    c: &Netns,
    server: (&str, Vec<String>),
    client: (&str, Vec<String>),
    dir: &std::path::Path,
) -> (String, String, String) {
    let srv = s
        .spawn_args(server.0, &server.1, &dir.join("server.log"))
        .unwrap();
    srv.wait_log("LISTENING", Duration::from_secs(10)).unwrap();
    let mut logs = Vec::new();
    for allow in ["mschap2", "pap"] {
        let mut args = client.1.clone();
        args.extend(["--allow".to_string(), allow.to_string()]);
        let cl = c
            .spawn_args(client.0, &args, &dir.join(format!("client-{allow}.log")))
            .unwrap();
        logs.push(cl.wait_exit(Duration::from_secs(30)));
    }
    let slog = srv.stop(Duration::from_secs(5));
    let no = logs.pop().unwrap();
    let ok = logs.pop().unwrap();
    (ok, no, slog)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn assert_allow(ok: &str, no: &str, slog: &str, user: &str, ping: &str) {
    let ctx = format!("--- mschap2:\n{ok}\n--- pap:\n{no}\n--- server:\n{slog}");
    assert!(
        ok.contains(&format!("AUTH OK {user} method=mschap2")),
        "{ctx}"
    );
    assert!(ok.contains(&format!("PING reply from {ping}")), "{ctx}");
    assert!(
        !no.contains("AUTH OK"),
        "pap only must not authenticate: {ctx}"
    );
    assert!(!no.contains("IPCP UP"), "{ctx}");
    assert_eq!(
        slog.matches(&format!("AUTH OK {user}")).count(),
        1,
        "only the mschap2 run authenticated: {ctx}"
    );
}

#[test]
fn pptp_client_allow_limits_the_methods_it_accepts() {
    if !peer_available("root (namespaces, raw GRE)", require_tools(&["ip"])) {
        return;
    }
    let dir = scratch_dir("pptp-allow");
    let s = Netns::new("pptpal-s").unwrap();
    let c = Netns::new("pptpal-c").unwrap();
    veth(
        &s,
        "pptpal-s",
        "10.93.8.1/24",
        &c,
        "pptpal-c",
        "10.93.8.2/24",
    )
    .unwrap();
    let (ok, no, slog) = allow_runs(
        &s,
        &c,
        (
            env!("CARGO_BIN_EXE_pptp-server"),
            strings(&[
                "10.93.8.1",
                "--user",
                "bob:allow-pw",
                "--authentication",
                "mschap2",
                "--local",
                "10.93.9.1",
                "--pool",
                "10.93.9.10-10.93.9.20",
                "--duration",
                "60",
            ]),
        ),
        (
            env!("CARGO_BIN_EXE_pptp-client"),
            strings(&[
                "10.93.8.1",
                "--user",
                "bob",
                "--password",
                "allow-pw",
                "--ping",
                "10.93.9.1",
                "--count",
                "2",
                "--duration",
                "10",
            ]),
        ),
        &dir,
    );
    // The pap run reached PPP (the control connection and the call were up) before it refused.
    assert!(no.contains("CONTROL UP"), "{no}");
    assert_allow(&ok, &no, &slog, "bob", "10.93.9.1");
}

#[test]
fn pppoe_client_allow_limits_the_methods_it_accepts() {
    if !peer_available("root (namespaces, AF_PACKET)", require_tools(&["ip"])) {
        return;
    }
    let dir = scratch_dir("pppoe-allow");
    let s = Netns::new("pppoeal-s").unwrap();
    let c = Netns::new("pppoeal-c").unwrap();
    let (if_s, if_c) = ("pals0", "palc0");
    veth_link(&s, if_s, &c, if_c).unwrap();
    let (ok, no, slog) = allow_runs(
        &s,
        &c,
        (
            env!("CARGO_BIN_EXE_pppoe-server"),
            strings(&[
                "--interface",
                if_s,
                "--user",
                "alice:allow-pw",
                "--authentication",
                "mschap2",
                "--local",
                "10.94.60.1",
                "--pool",
                "10.94.60.10-10.94.60.20",
                "--duration",
                "60",
            ]),
        ),
        (
            env!("CARGO_BIN_EXE_pppoe-client"),
            strings(&[
                "--interface",
                if_c,
                "--user",
                "alice",
                "--password",
                "allow-pw",
                "--ping",
                "10.94.60.1",
                "--count",
                "2",
                "--duration",
                "10",
            ]),
        ),
        &dir,
    );
    // The pap run reached PPP (discovery completed) before it refused.
    assert!(no.contains("SESSION"), "{no}");
    assert_allow(&ok, &no, &slog, "alice", "10.94.60.1");
}
