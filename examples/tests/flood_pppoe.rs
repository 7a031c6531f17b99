//! Flood test of `pppoe-server` (issue #24): a legitimate `pppoe-client` discovers the access
//! concentrator, gets a session, authenticates (MS-CHAPv2), brings IPCP up and pings the
//! server's address while a stranger on the same Ethernet segment sprays, from 240 made-up MAC
//! addresses: PADIs, PADRs with forged AC-Cookies, PADTs and session frames for made-up session
//! IDs, malformed discovery frames, and, from 16 of those addresses, real PADRs echoing the
//! cookie of the PADO they got (sessions that then never speak PPP). The server's resident
//! memory stays under a stated bound.
//!
//! What protects the client: the `pppoe` crate's access concentrator answers a PADI with a PADO
//! and keeps nothing (the AC-Cookie is an HMAC over the peer's MAC and VLAN tags), so PADIs
//! and forged PADRs cost it nothing; only a PADR with a valid cookie makes a session, which
//! then times out when PPP never negotiates (see `pppoe::Server`'s docs).
//!
//! Set-up, in namespaces this test creates: `pppoefl-s` (server) and `pppoefl-c` (client and
//! flooder) joined by a veth (no addresses: PPPoE is pure layer 2). The flood runs on a thread
//! of this test inside the client namespace, on its own packet socket.
//!
//! Quick by default (6 s, about 2000 frames/s). With `PPPOE_FLOOD_LONG=1`: 30 s. Prints
//! `FLOOD-RESULT ...`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use examples::interop::{
    in_netns, peer_available, require_tools, rss_kib, scratch_dir, start_flood_target, tail_lines,
    veth_link, Netns,
};
use examples::pppoe_util::PacketSocket;
use pppoe::wire::{tag, Code, Discovery, Frame, VlanStack, BROADCAST, ETHERTYPE_DISCOVERY};

/// Peak resident memory the server may reach during the flood (KiB): the sessions made by the
/// 16 completing addresses (a PPP session each, about 2 KiB) and the packet socket's buffers;
/// PADIs and forged PADRs keep nothing.
const PEAK_BOUND_KB: u64 = 24 * 1024;

/// Made-up source MAC addresses (locally administered, unicast).
const SOURCES: u8 = 240;
/// How many of them answer their PADO with a real PADR.
const COMPLETING: u8 = 16;

fn flood_secs() -> u64 {
    if std::env::var("PPPOE_FLOOD_LONG").is_ok_and(|v| v == "1") {
        30
    } else {
        6
    }
}

fn fake_mac(i: u8) -> [u8; 6] {
    [0x02, 0x66, 0x6c, 0x6f, 0x6f, i]
}

#[derive(Debug, Default, Clone, Copy)]
struct FloodStats {
    sent: u64,
    pados: u64,
    real_padrs: u64,
    pads: u64,
}

/// About 2000 frames per second for `secs` on `ifname`, round robin over the frame kinds and
/// the source addresses; PADOs to the completing addresses are answered with a PADR.
fn flood(secs: u64, ifname: &str) -> FloodStats {
    let sock = PacketSocket::open(ifname).unwrap();
    let mut st = FloodStats::default();
    let mut answered: HashSet<[u8; 6]> = HashSet::new();
    let mut buf = [0u8; 2048];
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i: u32 = 0;
    while Instant::now() < end {
        for _ in 0..20 {
            let src = fake_mac((i % u32::from(SOURCES)) as u8);
            let n = i.to_be_bytes();
            // Every address sends every kind in turn.
            let frame = match (i + i / u32::from(SOURCES)) % 6 {
                0 | 1 => Discovery::new(Code::PADI, 0)
                    .with(tag::SERVICE_NAME, Vec::new())
                    .with(tag::HOST_UNIQ, n.to_vec())
                    .emit(BROADCAST, src, &VlanStack::NONE)
                    .unwrap(),
                2 => Discovery::new(Code::PADR, 0)
                    .with(tag::SERVICE_NAME, Vec::new())
                    .with(tag::AC_COOKIE, [n, n, n, n, n].concat())
                    .emit(sock.mac, src, &VlanStack::NONE)
                    .map(|mut f| {
                        // To the server's MAC, which the flooder does not know: broadcast.
                        f[..6].copy_from_slice(&BROADCAST);
                        f
                    })
                    .unwrap(),
                3 => Discovery::new(Code::PADT, (i as u16) | 1)
                    .emit(BROADCAST, src, &VlanStack::NONE)
                    .unwrap(),
                4 => {
                    // A session frame (LCP Echo-Request) for a made-up session.
                    let mut f = vec![0xff; 6];
                    f.extend_from_slice(&src);
                    f.extend_from_slice(&[0x88, 0x64, 0x11, 0x00]);
                    f.extend_from_slice(&((i as u16) | 1).to_be_bytes());
                    f.extend_from_slice(&[0x00, 0x0a, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08]);
                    f.extend_from_slice(&n);
                    f
                }
                _ => {
                    // Malformed discovery: version/type 0x22, a tag running past the end.
                    let mut f = vec![0xff; 6];
                    f.extend_from_slice(&src);
                    f.extend_from_slice(&ETHERTYPE_DISCOVERY.to_be_bytes());
                    f.extend_from_slice(&[0x22, 0x09, 0x00, 0x00, 0x00, 0x08, 0x01, 0x01, 0x40]);
                    f.extend_from_slice(&n);
                    f
                }
            };
            if sock.send(&frame).is_ok() {
                st.sent += 1;
            }
            i += 1;
        }
        // PADOs (and PADSs) to the made-up addresses: the completing ones answer with a PADR.
        while let Ok(Some(len)) = sock.recv(&mut buf) {
            let Ok(f) = Frame::parse(&buf[..len]) else {
                continue;
            };
            if f.dst[..5] != fake_mac(0)[..5] {
                continue;
            }
            let Ok(d) = Discovery::from_frame(&f) else {
                continue;
            };
            if d.code() == Code::PADS {
                st.pads += 1;
            }
            if d.code() != Code::PADO {
                continue;
            }
            st.pados += 1;
            if f.dst[5] >= COMPLETING || !answered.insert(f.dst) {
                continue;
            }
            let mut padr = Discovery::new(Code::PADR, 0).with(tag::SERVICE_NAME, Vec::new());
            if let Some(c) = d.ac_cookie() {
                padr = padr.with(tag::AC_COOKIE, c.to_vec());
            }
            if let Ok(p) = padr.emit(f.src, f.dst, &VlanStack::NONE) {
                if sock.send(&p).is_ok() {
                    st.real_padrs += 1;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    st
}

#[test]
fn flood_pppoe_server_discovery_spray_legit_client_gets_through() {
    if !peer_available("root + network namespaces", require_tools(&["ip"])) {
        return;
    }
    let secs = flood_secs();
    let dir = scratch_dir("pppoe-flood");
    let s = Netns::new("pppoefl-s").unwrap();
    let c = Netns::new("pppoefl-c").unwrap();
    let (if_s, if_c) = ("pfls0", "pflc0");
    veth_link(&s, if_s, &c, if_c).unwrap();

    let hold = (secs + 20).to_string();
    let (srv, baseline, sampler) = start_flood_target(
        &s,
        env!("CARGO_BIN_EXE_pppoe-server"),
        &[
            "--interface",
            if_s,
            "--user",
            "alice:pw1",
            "--authentication",
            "mschap2",
            "--local",
            "10.94.50.1",
            "--pool",
            "10.94.50.10-10.94.50.60",
            "--duration",
            &hold,
        ],
        &dir.join("server.log"),
        "LISTENING",
    )
    .unwrap();
    let pid = srv.child.id();

    let flood_if = if_c.to_string();
    let flooder =
        std::thread::spawn(move || in_netns("pppoefl-c", move || flood(secs, &flood_if)).unwrap());

    // The legitimate client, 1.5 s into the flood.
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    let mut cl = c
        .spawn(
            env!("CARGO_BIN_EXE_pppoe-client"),
            &[
                "--interface",
                if_c,
                "--user",
                "alice",
                "--password",
                "pw1",
                "--ping",
                "10.94.50.1",
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
    let pinged = cl.wait_log("PING reply from 10.94.50.1", Duration::from_secs(8));
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
        "FLOOD-RESULT pppoe: {secs} s, {SOURCES} source MACs, {} frames sent, {} PADOs back, \
         {} real PADRs, {} PADSs; server log {log_lines} lines; client IPCP up {up_after:?} \
         after start; RSS baseline {baseline} KiB, peak {peak} KiB, at end {after} KiB",
        fs.sent, fs.pados, fs.real_padrs, fs.pads
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
        fs.sent > 1500 * secs,
        "the flood was not real: {} frames",
        fs.sent
    );
    // The access concentrator answered the strangers' PADIs (stateless) and the completing
    // addresses got their sessions: the spray reached it.
    assert!(fs.pados > 100, "no PADOs came back: {fs:?}");
    assert!(
        fs.pads >= u64::from(COMPLETING) / 2,
        "the real PADRs got no sessions: {fs:?}"
    );
    assert!(
        peak < PEAK_BOUND_KB,
        "server RSS peaked at {peak} KiB (bound {PEAK_BOUND_KB})"
    );
    // The discovery log is bounded: one line per discovery frame for the first ones of every
    // 10 s window, then a count.
    assert!(
        log_lines < 400,
        "the server logged {log_lines} lines for {} frames",
        fs.sent
    );
}
