//! Interleaved head-to-head against `boringtun` 0.7, reporting the throughput ratio directly.
//!
//! `cargo bench -p rosproto-wireguard --bench ratio` (optional arguments: `rounds` `transport-batch`
//! `handshake-batch`, defaults 101 4000 50).
//!
//! Criterion (`--bench wireguard`) measures each function for seconds on end; on a machine shared
//! with other work the load changes between the two measurements and the ratio of two such runs
//! swings by +-20 %. Here both implementations run in alternating short batches (the order
//! flips every round), each round yields one ratio `t_boringtun / t_ours` (> 1: we are faster),
//! and the median over all rounds is reported with its spread. Both sides do the same work per
//! iteration:
//!
//! * transport: encapsulate one 1420-byte IPv4 packet on one side and decapsulate it on the other
//!   (established session, ring ChaCha20-Poly1305 on both sides; 1420 is a multiple of 4 but
//!   not of 16: our padding rule keeps it at 1420 because of the 1420 MTU, so the ciphertext
//!   lengths are equal).
//! * transport, ours in place: the same exchange through `encapsulate_in_place` /
//!   `handle_datagram_in_place` (no copy of the packet or the datagram; boringtun has no such
//!   calls, so this line compares APIs, not equal work).
//! * transport, device level: the same exchange, with boringtun doing around `Tunn` the per-packet
//!   work its own `device` module does (and our `Device` does inside): the outbound peer by
//!   longest-prefix match in its `AllowedIps` trie, the inbound peer by the receiver index in a
//!   `HashMap`, and the inbound source check against that peer's allowed IPs. (boringtun's device
//!   also takes a per-peer mutex; that is left out, in boringtun's favour.) This is the
//!   like-for-like line for a whole device; the first line compares a device with a bare session.
//! * handshake: the responder consumes one prebuilt initiation (mac1 checked, fresh TAI64N) and
//!   produces the response; boringtun's rate limiter is lifted as our load policy is `Never`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

mod common;
use common::*;

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use boringtun::noise::TunnResult;
use wireguard::{LoadPolicy, Output};

/// Median, min, max, and the 25th/75th percentiles.
fn summary(mut v: Vec<f64>) -> (f64, f64, f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
    (q(0.5), v[0], v[v.len() - 1], q(0.25), q(0.75))
}

fn report(name: &str, unit_ours: &[f64], unit_bt: &[f64], ratios: Vec<f64>, unit: &str) {
    let (om, ..) = summary(unit_ours.to_vec());
    let (bm, ..) = summary(unit_bt.to_vec());
    let (m, lo, hi, q1, q3) = summary(ratios);
    println!(
        "{name}: ours {om:.3} {unit}, boringtun {bm:.3} {unit} (medians); \
         ratio boringtun/ours median {m:.3}x (IQR {q1:.3}-{q3:.3}, min {lo:.3}, max {hi:.3}, {} rounds)",
        unit_ours.len()
    );
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rounds = args.first().copied().unwrap_or(101);
    let tbatch = args.get(1).copied().unwrap_or(4_000);
    let hbatch = args.get(2).copied().unwrap_or(50);

    // ---- transport ----
    let pkt = ipv4(A, B, 1420);
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let (mut oa, mut ob) = our_pair();
    let (mut ba, mut bb) = bt_pair();
    let mut wire = vec![0u8; 2048];
    let mut out = vec![0u8; 2048];
    let now = Instant::now();
    let mut run_ours = |n: usize| {
        let t = Instant::now();
        for _ in 0..n {
            let Output::Transmit { len, .. } = oa.encapsulate(now, &pkt, &mut wire).unwrap() else {
                panic!()
            };
            let r = ob.handle_datagram(now, sa, &wire[..len], &mut out).unwrap();
            assert!(matches!(r, Output::Deliver { len: 1420, .. }));
            black_box(&out);
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    let mut wire2 = vec![0u8; 2048];
    let mut out2 = vec![0u8; 2048];
    // RATIO_AA=1: calibration, our implementation against a second instance of itself in the
    // boringtun slot (the printed ratio then shows the harness's own bias).
    let aa = std::env::var_os("RATIO_AA").is_some();
    let (mut oa2, mut ob2) = our_pair();
    let mut run_bt = |n: usize| {
        let t = Instant::now();
        for _ in 0..n {
            if aa {
                let Output::Transmit { len, .. } = oa2.encapsulate(now, &pkt, &mut wire2).unwrap()
                else {
                    panic!()
                };
                let r = ob2
                    .handle_datagram(now, sa, &wire2[..len], &mut out2)
                    .unwrap();
                assert!(matches!(r, Output::Deliver { len: 1420, .. }));
                black_box(&out2);
                continue;
            }
            let len = match ba.encapsulate(&pkt, &mut wire2) {
                TunnResult::WriteToNetwork(d) => d.len(),
                other => panic!("{other:?}"),
            };
            match bb.decapsulate(None, &wire2[..len], &mut out2) {
                TunnResult::WriteToTunnelV4(d, _) => assert_eq!(d.len(), 1420),
                other => panic!("{other:?}"),
            }
            black_box(&out2);
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    run_ours(tbatch / 4);
    run_bt(tbatch / 4);
    let (mut to, mut tb, mut tr) = (vec![], vec![], vec![]);
    for r in 0..rounds {
        let (o, b) = if r % 2 == 0 {
            let o = run_ours(tbatch);
            (o, run_bt(tbatch))
        } else {
            let b = run_bt(tbatch);
            (run_ours(tbatch), b)
        };
        to.push(o * 1e6);
        tb.push(b * 1e6);
        tr.push(b / o);
    }
    report("transport encap+decap 1420 B", &to, &tb, tr, "us/packet");

    // The same exchange through our in-place calls: the packet sits in the buffer at offset 16
    // (where a TUN read would put it), is sealed in place, and the datagram is opened in place,
    // which leaves the plaintext where it started. boringtun's API has no in-place form: it
    // copies the packet into its output buffer and the datagram into the receive buffer.
    let (mut ia, mut ib) = our_pair();
    let mut ibuf = vec![0u8; 2048];
    ibuf[16..16 + pkt.len()].copy_from_slice(&pkt);
    let mut run_ip = |n: usize| {
        let t = Instant::now();
        for _ in 0..n {
            let Output::Transmit { len, .. } =
                ia.encapsulate_in_place(now, &mut ibuf, 1420).unwrap()
            else {
                panic!()
            };
            let r = ib
                .handle_datagram_in_place(now, sa, &mut ibuf[..len])
                .unwrap();
            assert!(matches!(r, Output::Deliver { len: 1420, .. }));
            black_box(&ibuf);
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    run_ip(tbatch / 4);
    let (mut to, mut tb, mut tr) = (vec![], vec![], vec![]);
    for r in 0..rounds {
        let (o, b) = if r % 2 == 0 {
            let o = run_ip(tbatch);
            (o, run_bt(tbatch))
        } else {
            let b = run_bt(tbatch);
            (run_ip(tbatch), b)
        };
        to.push(o * 1e6);
        tb.push(b * 1e6);
        tr.push(b / o);
    }
    report(
        "transport encap+decap 1420 B, ours in place",
        &to,
        &tb,
        tr,
        "us/packet",
    );

    // Device level: boringtun's Tunn plus the lookups boringtun's device does per packet.
    let (mut da, mut db) = bt_pair();
    let mut a_routes: boringtun::device::allowed_ips::AllowedIps<usize> = Default::default();
    a_routes.insert(std::net::IpAddr::V4(B), 32, 0);
    let mut b_by_index: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    // boringtun's device keys peers by the receiver index without its low 8 bits (the session
    // slot); `bt_tunn(.., 2)` gave b's Tunn the index 2.
    b_by_index.insert(2, 0);
    let mut b_peer_allowed: boringtun::device::allowed_ips::AllowedIps<()> = Default::default();
    b_peer_allowed.insert(std::net::IpAddr::V4(A), 32, ());
    let mut wire3 = vec![0u8; 2048];
    let mut out3 = vec![0u8; 2048];
    let mut run_bt_dev = |n: usize| {
        let t = Instant::now();
        for _ in 0..n {
            let dst = Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]);
            let peer = *a_routes.find(std::net::IpAddr::V4(dst)).unwrap();
            black_box(peer);
            let len = match da.encapsulate(&pkt, &mut wire3) {
                TunnResult::WriteToNetwork(d) => d.len(),
                other => panic!("{other:?}"),
            };
            let idx = u32::from_le_bytes(wire3[4..8].try_into().unwrap());
            let peer = *b_by_index.get(&(idx >> 8)).unwrap();
            black_box(peer);
            match db.decapsulate(None, &wire3[..len], &mut out3) {
                TunnResult::WriteToTunnelV4(d, src) => {
                    assert_eq!(d.len(), 1420);
                    assert!(b_peer_allowed.find(std::net::IpAddr::V4(src)).is_some());
                }
                other => panic!("{other:?}"),
            }
            black_box(&out3);
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    run_bt_dev(tbatch / 4);
    for (label, in_place) in [
        ("transport encap+decap 1420 B, device level", false),
        (
            "transport encap+decap 1420 B, device level, ours in place",
            true,
        ),
    ] {
        let (mut to, mut tb, mut tr) = (vec![], vec![], vec![]);
        for r in 0..rounds {
            let mut ours = |n| if in_place { run_ip(n) } else { run_ours(n) };
            let (o, b) = if r % 2 == 0 {
                let o = ours(tbatch);
                (o, run_bt_dev(tbatch))
            } else {
                let b = run_bt_dev(tbatch);
                (ours(tbatch), b)
            };
            to.push(o * 1e6);
            tb.push(b * 1e6);
            tr.push(b / o);
        }
        report(label, &to, &tb, tr, "us/packet");
    }

    // ---- responder handshake ----
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let mut ours = device(key(2), key(1), "10.97.21.1/32", false);
    ours.set_load_policy(LoadPolicy::Never);
    let mut bt = bt_tunn(key(2), key(1), 2);
    let mut fo = InitFactory::new(5);
    let mut fb = InitFactory::new(6);
    let start = Instant::now();
    let mut k = 0u64;
    let mut hout = vec![0u8; 256];
    let mut run_ours_hs = |inits: &[Vec<u8>]| {
        let t = Instant::now();
        for init in inits {
            k += 1;
            // Virtual time 50 ms apart, beyond the 20 ms per-peer initiation limit.
            let now = start + Duration::from_millis(50 * k);
            let r = ours.handle_datagram(now, sa, init, &mut hout).unwrap();
            assert_eq!(r, Output::Done);
            black_box(ours.poll_transmit(now).unwrap());
        }
        t.elapsed().as_secs_f64() / inits.len() as f64
    };
    let mut hout2 = vec![0u8; 256];
    let mut run_bt_hs = |inits: &[Vec<u8>]| {
        let t = Instant::now();
        for init in inits {
            match bt.decapsulate(None, init, &mut hout2) {
                TunnResult::WriteToNetwork(d) => assert_eq!(d.len(), 92),
                other => panic!("{other:?}"),
            }
        }
        t.elapsed().as_secs_f64() / inits.len() as f64
    };
    let now = Instant::now();
    run_ours_hs(&fo.batch(now, hbatch / 4));
    run_bt_hs(&fb.batch(now, hbatch / 4));
    let (mut ho, mut hb, mut hr) = (vec![], vec![], vec![]);
    for r in 0..rounds {
        let io = fo.batch(now, hbatch);
        let ib = fb.batch(now, hbatch);
        let (o, b) = if r % 2 == 0 {
            let o = run_ours_hs(&io);
            (o, run_bt_hs(&ib))
        } else {
            let b = run_bt_hs(&ib);
            (run_ours_hs(&io), b)
        };
        ho.push(1.0 / o);
        hb.push(1.0 / b);
        hr.push(b / o);
    }
    report("responder handshakes", &ho, &hb, hr, "handshakes/s");
}
