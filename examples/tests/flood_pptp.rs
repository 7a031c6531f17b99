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

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;
use std::time::{Duration, Instant};

use examples::interop::{
    flood_namespaces, in_netns, peer_available, require_tools, rss_kib, scratch_dir,
    start_flood_target, tail_lines, tcp_flood, FloodConn, TcpFloodStats,
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
    kind: Kind,
    pns: Option<Control>,
    called: bool,
    calls_answered: Rc<Cell<u64>>,
}

impl FloodConn for Conn {
    fn churn(&self) -> bool {
        self.kind == Kind::Churn
    }
    fn connected(&mut self) -> Vec<u8> {
        match (self.kind, self.pns.as_mut()) {
            (Kind::Garbage, _) => (0..600u32).map(|i| (i * 7 + 13) as u8).collect(),
            (_, Some(pns)) => pns.poll_transmit(Instant::now()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }
    fn received(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let now = Instant::now();
        if let (Kind::Call, Some(pns), false) = (self.kind, self.pns.as_mut(), self.called) {
            pns.handle_stream(now, data);
            if pns.open_call(now, 1 + (data.len() as u16)).is_ok() {
                self.called = true;
                self.calls_answered.set(self.calls_answered.get() + 1);
                while let Some(b) = pns.poll_transmit(now) {
                    out.extend_from_slice(&b);
                }
            }
        }
        out
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct FloodStats {
    tcp: TcpFloodStats,
    calls_answered: u64,
    gre_sent: u64,
}

/// About 400 connects per second (4 every 10 ms, round robin over the sources) and 1000 GRE
/// packets per second.
fn flood(secs: u64, target: SocketAddrV4) -> FloodStats {
    let gre = examples::pptp_util::GreSocket::open(None).unwrap();
    let calls_answered = Rc::new(Cell::new(0));
    let mut gre_sent = 0;
    let kinds = [
        Kind::Silent,
        Kind::Garbage,
        Kind::StartOnly,
        Kind::Call,
        Kind::Churn,
    ];
    let tcp = tcp_flood(
        secs,
        target,
        (Ipv4Addr::new(10, 92, 128, 1), u32::from(SOURCES)),
        (4, HELD),
        |i| {
            let kind = kinds[i % kinds.len()];
            Conn {
                kind,
                pns: matches!(kind, Kind::StartOnly | Kind::Call)
                    .then(|| Control::new_pns(ControlConfig::default(), Instant::now())),
                called: false,
                calls_answered: calls_answered.clone(),
            }
        },
        |i| {
            // Made-up call IDs in enhanced GRE v1 headers (flags 0x3001, protocol 0x880B,
            // payload length, call id, sequence number), 10 per round.
            for k in 0..10u16 {
                let call = (i as u16).wrapping_mul(31).wrapping_add(k);
                let mut p = vec![0x30, 0x01, 0x88, 0x0b, 0x00, 0x04];
                p.extend_from_slice(&call.to_be_bytes());
                p.extend_from_slice(&(i as u32).to_be_bytes());
                p.extend_from_slice(&[0xff, 0x03, 0xc0, 0x21]);
                if gre.send_to(*target.ip(), &p).is_ok() {
                    gre_sent += 1;
                }
            }
        },
    );
    FloodStats {
        tcp,
        calls_answered: calls_answered.get(),
        gre_sent,
    }
}

#[test]
fn flood_pptp_server_held_connections_and_gre_spray_legit_client_gets_through() {
    if !peer_available("root + network namespaces", require_tools(&["ip"])) {
        return;
    }
    let secs = flood_secs();
    let dir = scratch_dir("pptp-flood");
    let (sip, cip) = ("10.92.1.1", "10.92.1.2");
    let (s, c) = flood_namespaces("pptpfl", "pptpfl0", (sip, cip), "10.92.128.0/20").unwrap();
    let hold = (secs + 20).to_string();
    let (srv, baseline, sampler) = start_flood_target(
        &s,
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
            &hold,
        ],
        &dir.join("server.log"),
        "LISTENING",
    )
    .unwrap();
    let pid = srv.child.id();

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
    let peak = sampler.stop();
    let after = rss_kib(pid);
    let slog = srv.stop(Duration::from_secs(5));
    let log_lines = slog.lines().count();
    println!(
        "FLOOD-RESULT pptp: {secs} s, {SOURCES} sources, {} connects ({} refused by the \
         kernel), {} closed by the server, {} stranger calls answered, {} GRE packets sprayed; \
         server log {log_lines} lines; client IPCP up {up_after:?} after start; RSS baseline \
         {baseline} KiB, peak {peak} KiB, at end {after} KiB",
        fs.tcp.connects,
        fs.tcp.connect_errors,
        fs.tcp.closed_by_server,
        fs.calls_answered,
        fs.gre_sent
    );
    assert!(
        up.is_ok() && pinged.is_ok(),
        "client: up {up:?} ping {pinged:?}\n--- client:\n{clog}\n--- server (tail):\n{}",
        tail_lines(&slog, 30)
    );
    assert!(
        done_at < Duration::from_secs(secs),
        "the client finished after the flood ({done_at:?})"
    );
    assert!(
        fs.tcp.connects > 300 * secs,
        "the flood was not real: {} connects",
        fs.tcp.connects
    );
    assert!(
        fs.calls_answered > 0,
        "no stranger got as far as a call: the flood did not test the PPP sessions"
    );
    assert!(
        fs.tcp.closed_by_server > 256,
        "the server closed only {} flood connections: the half-open table never turned over",
        fs.tcp.closed_by_server
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
