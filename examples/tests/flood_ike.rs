//! Flood test of the `ike` example as a responder (issue #24): a legitimate `ike` initiator
//! brings up an IKE SA and a Child SA (PSK) and pings through the ESP tunnel while strangers
//! send IKE_SA_INIT requests from 64 source addresses inside the responder's peer prefix
//! (RouterOS peer `address=10.93.0.0/16`, as a road-warrior server has it), each a real
//! request (MODP-2048, AES-256-CBC, SHA-256) under a fresh SPI, and echo the COOKIE the
//! responder asks for, so each echo costs it a Diffie-Hellman computation and a half-open SA;
//! plus garbage on UDP 500 and 4500. The responder's resident memory stays under a stated bound.
//!
//! What protects the client: the `ipsec-ike` crate answers IKE_SA_INIT with a stateless COOKIE
//! (RFC 7296 s2.6) once `cookie_threshold` (10) SAs are half-open, keeps at most
//! `half_open_per_source` (5) half-open SAs per address and `half_open_limit` (1000) in all,
//! and drops a half-open SA after `half_open_timeout` (30 s). The strangers' addresses hold
//! their 5 each; the client's own address is not among them.
//!
//! Set-up, in namespaces this test creates: `ikefl-s` (responder, 10.93.1.1) and `ikefl-c`
//! (initiator and flooder, 10.93.1.2) joined by a veth; the flood's source addresses are a
//! block (10.93.128.0/20) made local in the client namespace and routed back from the
//! responder's. The flood runs on a thread of this test inside the client namespace.
//!
//! Quick by default (6 s, about 1000 IKE_SA_INITs/s). With `IKE_FLOOD_LONG=1`: 30 s. Prints
//! `FLOOD-RESULT ...`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use examples::interop::{
    flood_namespaces, in_netns, peer_available, require_tools, rss_kib, scratch_dir,
    start_flood_target, tail_lines,
};
use ipsec_ike::config::*;
use ipsec_ike::crypto::{Encr, Group};
use ipsec_ike::Ike;

/// Peak resident memory the responder may reach during the flood (KiB): 64 sources x 5
/// half-open SAs (a MODP-2048 key pair, nonces and the messages kept for AUTH: a few KiB each),
/// the legitimate SA and the TUN/ESP buffers.
const PEAK_BOUND_KB: u64 = 32 * 1024;

const SOURCES: u8 = 64;
const PSK: &str = "flood-test-psk";
/// The COOKIE notify (RFC 7296 s3.10.1).
const COOKIE: u16 = 16390;

fn flood_secs() -> u64 {
    if std::env::var("IKE_FLOOD_LONG").is_ok_and(|v| v == "1") {
        30
    } else {
        6
    }
}

/// Real IKE_SA_INIT requests from our own engine as an initiator towards `server`: the
/// flood's templates (each is resent under fresh SPIs).
fn sa_init_templates(local: IpAddr, server: IpAddr, n: usize) -> Vec<Vec<u8>> {
    let mut c = IpsecConfig::default();
    c.settings.max_ike_sas = n + 10;
    c.profiles[0] = Profile {
        dh_group: vec![Group::Modp(2048)],
        enc_algorithm: vec![Encr::AesCbc(32)],
        hash_algorithm: vec![HashAlgorithm::Sha256],
        ..Profile::default()
    };
    c.peers.push(Peer {
        name: "r".into(),
        address: IpPrefix::host(server),
        local_address: Some(local),
        exchange_mode: ExchangeMode::Ike2,
        ..Peer::default()
    });
    c.identities.push(Identity::psk("r", "not-the-secret"));
    c.policies.push(Policy {
        src_address: "10.93.32.0/24".parse().unwrap(),
        dst_address: "10.93.31.0/24".parse().unwrap(),
        tunnel: true,
        peer: "r".into(),
        ..Policy::default()
    });
    let now = Instant::now();
    let rng = examples::sys::OsRng::new().unwrap();
    let mut ike = Ike::new(c, Default::default(), local, now, Box::new(rng)).unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        ike.connect(now, "r", Some(SocketAddr::new(server, 500)))
            .unwrap();
        while let Some(t) = ike.poll_transmit(now) {
            out.push(t.payload.to_vec());
        }
    }
    out
}

/// `template` under the initiator SPI `spi`.
fn with_spi(template: &[u8], spi: u64) -> Vec<u8> {
    let mut m = template.to_vec();
    m[..8].copy_from_slice(&spi.to_be_bytes());
    m
}

/// `msg` (an IKE_SA_INIT request) with a COOKIE notify as its first payload.
fn with_cookie(msg: &[u8], cookie: &[u8]) -> Vec<u8> {
    let mut n = vec![msg[16], 0];
    n.extend_from_slice(&(8 + cookie.len() as u16).to_be_bytes());
    n.extend_from_slice(&[0, 0]);
    n.extend_from_slice(&COOKIE.to_be_bytes());
    n.extend_from_slice(cookie);
    let mut m = msg[..28].to_vec();
    m[16] = 41;
    m.extend_from_slice(&n);
    m.extend_from_slice(&msg[28..]);
    let len = m.len() as u32;
    m[24..28].copy_from_slice(&len.to_be_bytes());
    m
}

/// The COOKIE data of a responder's reply, if it is a cookie request.
fn cookie_of(reply: &[u8]) -> Option<&[u8]> {
    if reply.len() < 36 || reply[16] != 41 {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([reply[30], reply[31]]));
    let ty = u16::from_be_bytes([reply[34], reply[35]]);
    (ty == COOKIE && plen >= 8)
        .then(|| reply.get(36..28 + plen))
        .flatten()
}

#[derive(Debug, Default, Clone, Copy)]
struct FloodStats {
    sa_inits: u64,
    garbage: u64,
    replies: u64,
    cookies_echoed: u64,
}

/// About 1000 IKE_SA_INITs per second (10 every 10 ms, round robin over the sources) and 200
/// garbage datagrams; every COOKIE request is answered with the cookie.
fn flood(secs: u64, server: Ipv4Addr, templates: &[Vec<u8>]) -> FloodStats {
    let socks: Vec<UdpSocket> = (1..=SOURCES)
        .map(|h| {
            let u = UdpSocket::bind((Ipv4Addr::new(10, 93, 128, h), 500)).unwrap();
            u.set_nonblocking(true).unwrap();
            u
        })
        .collect();
    let (to500, to4500) = (
        SocketAddr::from((server, 500)),
        SocketAddr::from((server, 4500)),
    );
    let mut st = FloodStats::default();
    let garbage: Vec<u8> = (0..300u32).map(|i| (i * 11 + 5) as u8).collect();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i: u64 = 0;
    while Instant::now() < end {
        for _ in 0..10 {
            let sock = &socks[(i % u64::from(SOURCES)) as usize];
            // SPI: 0xf1, then the request's number (its template is number % templates).
            let spi = 0xf100_0000_0000_0000 | i;
            let t = &templates[(i % templates.len() as u64) as usize];
            if sock.send_to(&with_spi(t, spi), to500).is_ok() {
                st.sa_inits += 1;
            }
            i += 1;
        }
        for k in 0..2 {
            let sock = &socks[((i + k) % u64::from(SOURCES)) as usize];
            let to = if k == 0 { to500 } else { to4500 };
            if sock
                .send_to(&garbage[..40 + (i as usize % 200)], to)
                .is_ok()
            {
                st.garbage += 1;
            }
        }
        for sock in &socks {
            while let Ok((n, _)) = sock.recv_from(&mut buf) {
                st.replies += 1;
                let reply = &buf[..n];
                let spi = u64::from_be_bytes(reply[..8].try_into().unwrap_or([0; 8]));
                if spi >> 56 != 0xf1 {
                    continue;
                }
                let Some(cookie) = cookie_of(reply) else {
                    continue;
                };
                let num = spi & 0x00ff_ffff_ffff_ffff;
                let t = &templates[(num % templates.len() as u64) as usize];
                if sock
                    .send_to(&with_cookie(&with_spi(t, spi), cookie), to500)
                    .is_ok()
                {
                    st.cookies_echoed += 1;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    st
}

#[test]
fn flood_ike_responder_sa_init_spray_with_cookie_echo_legit_initiator_gets_through() {
    if !peer_available("root + network namespaces", require_tools(&["ip", "ping"])) {
        return;
    }
    let secs = flood_secs();
    let dir = scratch_dir("ike-flood");
    let (sip, cip) = ("10.93.1.1", "10.93.1.2");
    let (s, c) = flood_namespaces("ikefl", "ikefl0", (sip, cip), "10.93.128.0/20").unwrap();
    let hold = (secs + 20).to_string();
    let (srv, baseline, sampler) = start_flood_target(
        &s,
        env!("CARGO_BIN_EXE_ike"),
        &[
            "--local",
            sip,
            "--remote",
            cip,
            "--peer-address",
            "10.93.0.0/16",
            "--responder",
            "--secret",
            PSK,
            "--local-ts",
            "10.93.31.1/32",
            "--remote-ts",
            "10.93.32.1/32",
            "--duration",
            &hold,
        ],
        &dir.join("server.log"),
        "ike: responder",
    )
    .unwrap();
    let pid = srv.child.id();

    let templates = sa_init_templates(
        IpAddr::V4(Ipv4Addr::new(10, 93, 128, 1)),
        sip.parse().unwrap(),
        16,
    );
    let server: Ipv4Addr = sip.parse().unwrap();
    let flooder = std::thread::spawn(move || {
        in_netns("ikefl-c", move || flood(secs, server, &templates)).unwrap()
    });

    // The legitimate initiator, 1.5 s into the flood (cookies are being asked for by then).
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    let mut cl = c
        .spawn(
            env!("CARGO_BIN_EXE_ike"),
            &[
                "--local",
                cip,
                "--remote",
                sip,
                "--secret",
                PSK,
                "--local-ts",
                "10.93.32.1/32",
                "--remote-ts",
                "10.93.31.1/32",
                "--duration",
                "15",
            ],
            &dir.join("client.log"),
        )
        .unwrap();
    let up = cl.wait_log("CHILD_SA up", Duration::from_secs(10));
    let up_after = t.elapsed();
    let ping = c.exec(
        "ping",
        &[
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            "-I",
            "10.93.32.1",
            "10.93.31.1",
        ],
    );
    let done_at = t.elapsed() + Duration::from_millis(1500);
    let ping_text = match &ping {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => e.clone(),
    };
    let _ = cl.child.kill();
    let _ = cl.child.wait();
    let clog = cl.log_text();
    let fs = flooder.join().unwrap();
    let peak = sampler.stop();
    let after = rss_kib(pid);
    let slog = srv.stop(Duration::from_secs(5));
    let log_lines = slog.lines().count();
    println!(
        "FLOOD-RESULT ike: {secs} s, {SOURCES} sources, {} IKE_SA_INITs and {} garbage \
         datagrams sent, {} replies, {} cookies echoed; server log {log_lines} lines; client \
         CHILD_SA up {up_after:?} after start; RSS baseline {baseline} KiB, peak {peak} KiB, at \
         end {after} KiB",
        fs.sa_inits, fs.garbage, fs.replies, fs.cookies_echoed
    );
    assert!(
        up.is_ok() && ping.is_ok(),
        "client: up {up:?}\nping: {ping_text}\n--- client:\n{clog}\n--- server (tail):\n{}",
        tail_lines(&slog, 30)
    );
    assert!(ping_text.contains("3 received"), "ping: {ping_text}");
    assert!(
        done_at < Duration::from_secs(secs),
        "the client finished after the flood ({done_at:?})"
    );
    assert!(fs.sa_inits > 800 * secs, "the flood was not real: {fs:?}");
    // The responder asked the strangers for cookies and the echoes went in.
    assert!(fs.cookies_echoed > 100, "no cookie exchange: {fs:?}");
    assert!(
        peak < PEAK_BOUND_KB,
        "responder RSS peaked at {peak} KiB (bound {PEAK_BOUND_KB})"
    );
    assert!(
        log_lines < 200,
        "the responder logged {log_lines} lines for {} datagrams",
        fs.sa_inits + fs.garbage
    );
}
