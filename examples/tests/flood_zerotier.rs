//! Flood test of the `zerotier` example as a root (issue #24): a legitimate leaf (our
//! `zerotier run` with `--echo` to the root) keeps getting ECHO replies while strangers send the
//! root, from 64 source addresses: real HELLOs of four identities, each sent again from every
//! source (the first one makes a peer; the copies are replays), HELLOs whose identity was
//! altered (the address no longer derives from the key), fragments of made-up packets, and
//! garbage. The root's resident memory stays under a stated bound, and it answers almost none of
//! it (the test prints how many datagrams came back).
//!
//! What protects the leaf: the `zerotier` crate's bounds on peers, paths per peer, fragments
//! in reassembly and identity checks (see `zerotier/tests/hostile.rs` and the node's docs).
//!
//! Set-up, in namespaces this test creates: `ztfl-s` (root, 10.91.1.1) and `ztfl-c` (leaf and
//! flooder, 10.91.1.2) joined by a veth; the flood's source addresses are a block
//! (10.91.128.0/20) made local in the client namespace and routed back from the root's.
//!
//! Quick by default (6 s, about 1400 datagrams/s). With `ZT_FLOOD_LONG=1`: 30 s. Prints
//! `FLOOD-RESULT ...`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use examples::interop::{
    flood_namespaces, in_netns, peer_available, require_tools, rss_kib, run, scratch_dir,
    start_flood_target, tail_lines,
};
use zerotier::{Identity, Node, NodeConfig, World};

/// Peak resident memory the root may reach during the flood (KiB).
const PEAK_BOUND_KB: u64 = 32 * 1024;

const SOURCES: u8 = 64;

fn flood_secs() -> u64 {
    if std::env::var("ZT_FLOOD_LONG").is_ok_and(|v| v == "1") {
        30
    } else {
        6
    }
}

/// The first datagram a fresh node with `identity` sends to the root of `planet` (its HELLO).
fn hello_of(identity: Identity, planet: &World, seed: u64) -> Vec<u8> {
    let now = Instant::now();
    let mut node = Node::new(
        NodeConfig::new(identity, planet.clone()),
        now,
        Box::new(netsim::TestRng::new(seed)),
    )
    .unwrap();
    for _ in 0..4 {
        if let Some(t) = node.poll_transmit(now) {
            if t.payload.len() > 100 {
                return t.payload;
            }
        }
        node.handle_timeout(now);
    }
    panic!("the node sent no HELLO");
}

#[derive(Debug, Default, Clone, Copy)]
struct FloodStats {
    hellos: u64,
    forged: u64,
    fragments: u64,
    garbage: u64,
    replies: u64,
}

fn flood(secs: u64, root: SocketAddr, hellos: &[Vec<u8>]) -> FloodStats {
    let socks: Vec<UdpSocket> = (1..=SOURCES)
        .map(|h| {
            let u = UdpSocket::bind((Ipv4Addr::new(10, 91, 128, h), 9993)).unwrap();
            u.set_nonblocking(true).unwrap();
            u
        })
        .collect();
    let mut st = FloodStats::default();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i: u64 = 0;
    while Instant::now() < end {
        for _ in 0..8 {
            let sock = &socks[(i % u64::from(SOURCES)) as usize];
            let h = &hellos[(i / u64::from(SOURCES)) as usize % hellos.len()];
            if sock.send_to(h, root).is_ok() {
                st.hellos += 1;
            }
            i += 1;
        }
        for k in 0..2u64 {
            let sock = &socks[((i + k) % u64::from(SOURCES)) as usize];
            // An altered identity: a byte of the public key flipped (the packet's MAC fails
            // too, but the identity is what the root looks at first for an unknown address).
            let mut f = hellos[(i % hellos.len() as u64) as usize].clone();
            let at = 40 + (i as usize % 32);
            f[at] ^= 0x5a;
            if sock.send_to(&f, root).is_ok() {
                st.forged += 1;
            }
            // A fragment (byte 13 = 0xff) of a made-up packet id, fragment 1 of 4.
            let mut frag = vec![0u8; 200];
            frag[..8].copy_from_slice(&(i * 7 + k).to_be_bytes());
            frag[8..13].copy_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55]);
            frag[13] = 0xff;
            frag[14] = 0x41;
            if sock.send_to(&frag, root).is_ok() {
                st.fragments += 1;
            }
            let garbage: Vec<u8> = (0..(20 + (i as usize % 300)))
                .map(|j| (j as u64 * 13 + i) as u8)
                .collect();
            if sock.send_to(&garbage, root).is_ok() {
                st.garbage += 1;
            }
        }
        for sock in &socks {
            while sock.recv_from(&mut buf).is_ok() {
                st.replies += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    st
}

#[test]
fn flood_zerotier_root_hello_replay_forged_identities_fragments_leaf_still_echoes() {
    if !peer_available("root + network namespaces", require_tools(&["ip"])) {
        return;
    }
    let secs = flood_secs();
    let dir = scratch_dir("zerotier-flood");
    let bin = env!("CARGO_BIN_EXE_zerotier");
    let file = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let root_addr = String::from_utf8(
        run(bin, &["generate-identity", &file("root.secret")])
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    run(bin, &["generate-identity", &file("leaf.secret")]).unwrap();
    let _ = std::fs::remove_file(dir.join("signing.c25519"));
    run(
        bin,
        &[
            "mkworld",
            "--root-identity",
            &file("root.secret"),
            "--endpoint",
            "10.91.1.1/9993",
            "--id",
            "910001",
            "--ts",
            "1700000000001",
            "--signing-key",
            &file("signing.c25519"),
            "--out",
            &file("planet"),
        ],
    )
    .unwrap();
    let planet_bytes = std::fs::read(dir.join("planet")).unwrap();
    let planet = World::parse(&planet_bytes).unwrap();

    // The flood's HELLOs: four identities of their own.
    let mut rng = netsim::TestRng::new(91);
    let hellos: Vec<Vec<u8>> = (0..4)
        .map(|i| hello_of(Identity::generate(&mut rng), &planet, 100 + i))
        .collect();

    let (sip, cip) = ("10.91.1.1", "10.91.1.2");
    let (s, c) = flood_namespaces("ztfl", "ztfl0", (sip, cip), "10.91.128.0/20").unwrap();
    let hold = (secs + 20).to_string();
    let (srv, baseline, sampler) = start_flood_target(
        &s,
        bin,
        &[
            "run",
            "--identity",
            &file("root.secret"),
            "--planet",
            &file("planet"),
            "--duration",
            &hold,
        ],
        &dir.join("root.log"),
        &format!("address {root_addr} root true"),
    )
    .unwrap();
    let pid = srv.child.id();

    let root: SocketAddr = format!("{sip}:9993").parse().unwrap();
    let flooder =
        std::thread::spawn(move || in_netns("ztfl-c", move || flood(secs, root, &hellos)).unwrap());

    // The legitimate leaf, 1.5 s into the flood: ECHOs to the root every 200 ms.
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    let mut leaf = c
        .spawn(
            bin,
            &[
                "run",
                "--identity",
                &file("leaf.secret"),
                "--planet",
                &file("planet"),
                // The flood's sockets hold 9993 on the namespace's other addresses.
                "--port",
                "9994",
                "--echo",
                &root_addr,
                "--echo-interval-ms",
                "200",
                "--duration",
                "15",
            ],
            &dir.join("leaf.log"),
        )
        .unwrap();
    let up = leaf.wait_log(&format!("echo-reply {root_addr}"), Duration::from_secs(10));
    let up_after = t.elapsed();
    // Replies keep coming during the rest of the flood.
    std::thread::sleep(
        Duration::from_secs(secs)
            .saturating_sub(Duration::from_millis(1500) + up_after + Duration::from_millis(200)),
    );
    let _ = leaf.child.kill();
    let _ = leaf.child.wait();
    let llog = leaf.log_text();
    let replies = llog.matches("echo-reply").count();
    let fs = flooder.join().unwrap();
    let peak = sampler.stop();
    let after = rss_kib(pid);
    let slog = srv.stop(Duration::from_secs(5));
    let log_lines = slog.lines().count();
    println!(
        "FLOOD-RESULT zerotier: {secs} s, {SOURCES} sources, {} replayed HELLOs, {} forged \
         identities, {} fragments, {} garbage, {} datagrams back; leaf's first echo reply \
         {up_after:?} after start, {replies} replies; root log {log_lines} lines; RSS baseline \
         {baseline} KiB, peak {peak} KiB, at end {after} KiB",
        fs.hellos, fs.forged, fs.fragments, fs.garbage, fs.replies
    );
    assert!(
        up.is_ok(),
        "leaf: {up:?}\n--- leaf:\n{llog}\n--- root (tail):\n{}",
        tail_lines(&slog, 30)
    );
    assert!(
        replies >= 5,
        "only {replies} echo replies during the flood\n{llog}"
    );
    assert!(fs.hellos > 600 * secs, "the flood was not real: {fs:?}");
    assert!(
        peak < PEAK_BOUND_KB,
        "root RSS peaked at {peak} KiB (bound {PEAK_BOUND_KB})"
    );
    assert!(
        log_lines < 400,
        "the root logged {log_lines} lines for {} datagrams",
        fs.hellos + fs.forged + fs.fragments + fs.garbage
    );
}
