//! Flood test of `pptp-server` (issue #24): a legitimate `pptp-client` brings up the control
//! connection, a call, PPP (MS-CHAPv2, MPPE128) and three pings through GRE while strangers
//! open control connections from many source addresses and hold them: silent, sending
//! garbage, sending a real Start-Control-Connection-Request and then nothing, or going on to
//! an Outgoing-Call-Request (which makes a call and a PPP session on the server) and then
//! nothing, or closing at once; and while they spray GRE packets with made-up call IDs.
//! The server's resident memory and log stay under stated bounds.
//!
//! What protects the client: the `pptp` crate's half-open table (256 control connections
//! without an authenticated call, 8 per source) displaces the oldest connection of the source
//! holding the most when it is full, else one older than `half_open_min_age` (1 s); GRE that
//! matches no call's ID and peer is dropped and counted (see `pptp::Server`'s docs).
//!
//! Set-up, in namespaces this test creates: `pptpfl-s` (server, 10.92.1.1) and `pptpfl-c`
//! (client and flooder, 10.92.1.2) joined by a veth; the flood's source addresses are a block
//! (10.92.128.0/20) made local in the client namespace with a `local` route and routed back
//! from the server namespace. The flood runs on a thread of this test inside the client
//! namespace ([`examples::interop::in_netns`]).
//!
//! Quick by default (6 s, 64 sources, about 400 connects/s and 1000 GRE packets/s, up to 900
//! connections held at once). With `PPTP_FLOOD_LONG=1`: 30 s. Prints `FLOOD-RESULT ...`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use examples::interop::{
    in_netns, peer_available, require_tools, rss_kib, scratch_dir, veth, Netns,
};
use pptp::control::Control;
use pptp::ControlConfig;

/// Peak resident memory the server may reach during the flood (KiB): 256 half-open control
/// connections, each with at most a few calls' PPP sessions (about 2 KiB each), plus socket
/// bookkeeping.
const PEAK_BOUND_KB: u64 = 32 * 1024;

const SOURCES: u8 = 64;
/// Connections the flooder holds open at once (oldest dropped first).
const HELD: usize = 900;

fn flood_secs() -> u64 {
    if std::env::var("PPTP_FLOOD_LONG").is_ok_and(|v| v == "1") {
        30
    } else {
        6
    }
}

/// What a flood connection does once connected.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Nothing.
    Silent,
    /// 600 bytes that are not PPTP (the magic cookie is wrong).
    Garbage,
    /// A real SCCRQ, then nothing.
    StartOnly,
    /// SCCRQ, then an OCRQ once the SCCRP came: a call and a PPP session on the server.
    Call,
    /// Closed right after connecting.
    Churn,
}

struct Conn {
    st: TcpStream,
    kind: Kind,
    wrote: bool,
    pns: Option<Control>,
    called: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct FloodStats {
    connects: u64,
    connect_errors: u64,
    closed_by_server: u64,
    calls_answered: u64,
    gre_sent: u64,
}

fn flood(secs: u64, target: SocketAddrV4) -> FloodStats {
    let mut st = FloodStats::default();
    let mut held: VecDeque<Conn> = VecDeque::new();
    let garbage: Vec<u8> = (0..600u32).map(|i| (i * 7 + 13) as u8).collect();
    let gre = examples::pptp_util::GreSocket::open(None).unwrap();
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i = 0usize;
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        let now = Instant::now();
        // About 400 connects per second: 4 every 10 ms, round robin over the sources.
        for _ in 0..4 {
            let src = Ipv4Addr::new(10, 92, 128, 1 + (i % usize::from(SOURCES)) as u8);
            let kind = match i % 5 {
                0 => Kind::Silent,
                1 => Kind::Garbage,
                2 => Kind::StartOnly,
                3 => Kind::Call,
                _ => Kind::Churn,
            };
            i += 1;
            match examples::sys::tcp_connect_from(src, target) {
                Ok(s) => {
                    st.connects += 1;
                    let pns = matches!(kind, Kind::StartOnly | Kind::Call)
                        .then(|| Control::new_pns(ControlConfig::default(), now));
                    held.push_back(Conn {
                        st: s,
                        kind,
                        wrote: false,
                        pns,
                        called: false,
                    });
                }
                Err(_) => st.connect_errors += 1,
            }
        }
        // About 1000 GRE packets per second with made-up call IDs (enhanced GRE v1 header:
        // flags 0x3001, protocol 0x880B, payload length, call id, sequence number).
        for k in 0..10u16 {
            let call = (i as u16).wrapping_mul(31).wrapping_add(k);
            let mut p = vec![0x30, 0x01, 0x88, 0x0b, 0x00, 0x04];
            p.extend_from_slice(&call.to_be_bytes());
            p.extend_from_slice(&(i as u32).to_be_bytes());
            p.extend_from_slice(&[0xff, 0x03, 0xc0, 0x21]);
            if gre.send_to(*target.ip(), &p).is_ok() {
                st.gre_sent += 1;
            }
        }
        while held.len() > HELD {
            held.pop_front();
        }
        held.retain_mut(|c| {
            let connected = c.st.peer_addr().is_ok();
            if c.kind == Kind::Churn {
                return !connected;
            }
            if !connected {
                return true;
            }
            if !c.wrote {
                c.wrote = match (c.kind, c.pns.as_mut()) {
                    (Kind::Garbage, _) => c.st.write(&garbage).is_ok(),
                    (_, Some(pns)) => match pns.poll_transmit(now) {
                        Some(b) => c.st.write(&b).is_ok(),
                        None => true,
                    },
                    _ => true,
                };
            }
            match c.st.read(&mut buf) {
                Ok(0) => {
                    st.closed_by_server += 1;
                    false
                }
                Ok(n) => {
                    if let (Kind::Call, Some(pns), false) = (c.kind, c.pns.as_mut(), c.called) {
                        pns.handle_stream(now, &buf[..n]);
                        if pns.open_call(now, 1 + (n as u16)).is_ok() {
                            c.called = true;
                            st.calls_answered += 1;
                            while let Some(b) = pns.poll_transmit(now) {
                                let _ = c.st.write(&b);
                            }
                        }
                    }
                    true
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotConnected => true,
                Err(_) => {
                    st.closed_by_server += 1;
                    false
                }
            }
        });
        std::thread::sleep(Duration::from_millis(10));
    }
    st
}

#[test]
fn flood_pptp_server_held_connections_and_gre_spray_legit_client_gets_through() {
    if !peer_available("root + network namespaces", require_tools(&["ip"])) {
        return;
    }
    let secs = flood_secs();
    let dir = scratch_dir("pptp-flood");
    let s = Netns::new("pptpfl-s").unwrap();
    let c = Netns::new("pptpfl-c").unwrap();
    let (sip, cip) = ("10.92.1.1", "10.92.1.2");
    veth(
        &s,
        "pptpfl0",
        &format!("{sip}/24"),
        &c,
        "pptpfl0",
        &format!("{cip}/24"),
    )
    .unwrap();
    c.exec(
        "ip",
        &["route", "add", "local", "10.92.128.0/20", "dev", "lo"],
    )
    .unwrap();
    s.exec("ip", &["route", "add", "10.92.128.0/20", "via", cip])
        .unwrap();
    let srv = s
        .spawn_args(
            env!("CARGO_BIN_EXE_pptp-server"),
            &[
                sip,
                "--user",
                "alice:pw1",
                "--local",
                "10.92.50.1",
                "--pool",
                "10.92.50.10-10.92.50.20",
                "--duration",
                &(secs + 20).to_string(),
            ]
            .map(String::from),
            &dir.join("server.log"),
        )
        .unwrap();
    srv.wait_log("LISTENING", Duration::from_secs(10)).unwrap();
    let pid = srv.child.id();
    std::thread::sleep(Duration::from_millis(300));
    let baseline = rss_kib(pid);

    // RSS sampler.
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(Mutex::new(0u64));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let kb = rss_kib(pid);
                let mut m = peak.lock().unwrap();
                *m = (*m).max(kb);
                drop(m);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let target = SocketAddrV4::new(sip.parse().unwrap(), 1723);
    let flooder =
        std::thread::spawn(move || in_netns("pptpfl-c", move || flood(secs, target)).unwrap());

    // The legitimate client, 1.5 s into the flood (the table is full by then).
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    let mut cl = c
        .spawn(
            env!("CARGO_BIN_EXE_pptp-client"),
            &[
                sip,
                "--user",
                "alice",
                "--password",
                "pw1",
                "--ping",
                "10.92.50.1",
                "--count",
                "3",
                "--duration",
                "15",
            ],
            &dir.join("client.log"),
        )
        .unwrap();
    let up = cl.wait_log("IPCP UP", Duration::from_secs(10));
    let up_after = t.elapsed();
    let pinged = cl.wait_log("PING reply from 10.92.50.1", Duration::from_secs(8));
    let done_at = t.elapsed() + Duration::from_millis(1500);
    let _ = cl.child.kill();
    let _ = cl.child.wait();
    let clog = cl.log_text();
    let fs = flooder.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = *peak.lock().unwrap();
    let after = rss_kib(pid);
    let slog = srv.stop(Duration::from_secs(5));
    let log_lines = slog.lines().count();
    println!(
        "FLOOD-RESULT pptp: {secs} s, {SOURCES} sources, {} connects ({} refused by the \
         kernel), {} closed by the server, {} stranger calls answered, {} GRE packets sprayed; \
         server log {log_lines} lines; client IPCP up {up_after:?} after start; RSS baseline \
         {baseline} KiB, peak {peak} KiB, at end {after} KiB",
        fs.connects, fs.connect_errors, fs.closed_by_server, fs.calls_answered, fs.gre_sent
    );
    assert!(
        up.is_ok() && pinged.is_ok(),
        "client: up {up:?} ping {pinged:?}\n--- client:\n{clog}\n--- server (tail):\n{}",
        tail(&slog, 30)
    );
    assert!(
        done_at < Duration::from_secs(secs),
        "the client finished after the flood ({done_at:?})"
    );
    assert!(
        fs.connects > 300 * secs,
        "the flood was not real: {} connects",
        fs.connects
    );
    assert!(
        fs.calls_answered > 0,
        "no stranger got as far as a call: the flood did not test the PPP sessions"
    );
    assert!(
        fs.closed_by_server > 256,
        "the server closed only {} flood connections: the half-open table never turned over",
        fs.closed_by_server
    );
    assert!(
        log_lines < 100,
        "the server's log grew with the flood: {log_lines} lines"
    );
    assert!(
        peak < PEAK_BOUND_KB,
        "peak RSS {peak} KiB >= {PEAK_BOUND_KB} KiB"
    );
}

fn tail(s: &str, n: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(n)..].join("\n")
}
