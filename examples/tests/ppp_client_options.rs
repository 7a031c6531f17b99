//! The shared PPP client settings on a client example, observed end to end: `sstp-client
//! --authentication` (RouterOS `authentication`, the `allow` of the other clients) against our
//! `sstp-server` on loopback, which offers only MS-CHAPv2. Allowing mschap2 authenticates and
//! pings the server's PPP address; allowing only pap makes the client Nak the server's method, so
//! no authentication happens and the server ends the call. (No root needed: TCP on 127.0.0.1,
//! neither end opens a TUN.)

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
