//! Interop: our `ptp` daemon (examples/src/bin/ptp.rs, software timestamps, free-running) against
//! linuxptp 3.1.1 `ptp4l -S` over veth pairs between network namespaces.
//!
//! Each test runs two namespace pairs at once for one transport / delay mechanism:
//! * A: ptp4l master (priority1 10) <-> our slave-only clock: our clock selects ptp4l's
//!   grandmaster and reports offsets; `pmc` on the master side reads our data sets over the wire.
//! * B: our master (priority1 10) <-> ptp4l `-s --free_running=1`: ptp4l's log shows our clock
//!   selected as best master and `master offset` lines.
//!
//! Both ends share the host clock, so true offsets are 0; bounds are loose (software
//! timestamps). Namespaces `rp-ptp-*`, addresses 10.97.10.0/24, no default route.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    missing_docs
)]

use std::path::Path;
use std::time::{Duration, Instant};

use examples::interop::{have_program, peer_available, rss_kib, scratch_dir, veth, Netns, Proc};

const OURS: &str = env!("CARGO_BIN_EXE_ptp");

fn peers() -> Result<(), String> {
    have_program("ptp4l")?;
    have_program("pmc")?;
    // namespaces and the pmc wrapper
    examples::interop::require_tools(&["ip", "timeout"])
}

/// ptp4l's `1e8a01.fffe.8d6b7b` -> our `1E:8A:01:FF:FE:8D:6B:7B`.
fn ptp4l_id_to_ours(s: &str) -> String {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    hex.as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap().to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

fn ours_to_ptp4l_id(s: &str) -> String {
    let hex: String = s.split(':').collect::<String>().to_ascii_lowercase();
    format!("{}.{}.{}", &hex[0..6], &hex[6..10], &hex[10..16])
}

fn wait_exit(p: &mut Proc, max: Duration) {
    let end = Instant::now() + max;
    while Instant::now() < end {
        if let Ok(Some(_)) = p.child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pair(tag: &str) -> (Netns, Netns) {
    let m = Netns::new(&format!("rp-ptp-{tag}m")).unwrap();
    let s = Netns::new(&format!("rp-ptp-{tag}s")).unwrap();
    veth(&m, "ptpm0", "10.97.10.1/24", &s, "ptps0", "10.97.10.2/24").unwrap();
    (m, s)
}

fn offsets(log: &str) -> Vec<i64> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split(" offset ").nth(1)?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .collect()
}

/// Our single-sample offsets (`raw` field: linuxptp's free-running semantics).
fn raw_offsets(log: &str) -> Vec<i64> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split(" raw ").nth(1)?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .collect()
}

fn median_abs(v: &[i64]) -> i64 {
    let mut a: Vec<i64> = v.iter().map(|x| x.abs()).collect();
    a.sort_unstable();
    a[a.len() / 2]
}

/// Extra arguments for a profile run: ptp4l's, ours, pmc's.
#[derive(Clone, Copy, Default)]
struct Extra {
    ptp4l: &'static [&'static str],
    ours: &'static [&'static str],
    pmc: &'static [&'static str],
}

fn args<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

/// A: ptp4l master, our slave, pmc reads our data sets.
fn ours_as_slave(tag: &str, dir: &Path, t: &str, delay: &str, ours_transport: &str, x: Extra) {
    let (m, s) = pair(tag);
    let uds = dir.join(format!("{tag}m.uds"));
    let delay_arg = format!("--delay_mechanism={delay}");
    let uds_arg = format!("--uds_address={}", uds.display());
    let master = m
        .spawn(
            "ptp4l",
            &args(
                &[
                    "-i",
                    "ptpm0",
                    "-S",
                    t,
                    "-m",
                    &delay_arg,
                    "--priority1=10",
                    "--summary_interval=0",
                    // A fault (for instance a Pdelay_Resp that arrives after ptp4l dropped its
                    // request, seen when the CI host is loaded) is cleared after 1 s instead of
                    // linuxptp's default 16 s, so one late packet does not eat the whole run.
                    "--fault_reset_interval=0",
                    &uds_arg,
                ],
                x.ptp4l,
            ),
            &dir.join(format!("{tag}ptp4l-master.log")),
        )
        .unwrap();
    let delay_lc = delay.to_ascii_lowercase();
    let mut me = s
        .spawn(
            OURS,
            &args(
                &[
                    "--iface",
                    "ptps0",
                    "--transport",
                    ours_transport,
                    "--delay",
                    &delay_lc,
                    "--slave-only",
                    "--free-running",
                    "--duration",
                    "24",
                    "--monitor",
                    "100",
                ],
                x.ours,
            ),
            &dir.join(format!("{tag}ours-slave.log")),
        )
        .unwrap();
    // pmc over the wire from the master's namespace once our clock is up and synced.
    std::thread::sleep(Duration::from_secs(18));
    let pmc_t = if t == "-4" { "-4" } else { "-2" };
    // pmc waits for a quiet gap before it exits; with G.8275.1's 16 Syncs/s on the wire it
    // never comes, so it is stopped with SIGINT (it exits cleanly, output flushed) after 8 s;
    // the exit status of `timeout` is not the evidence, pmc's output is.
    let pmc = m
        .exec(
            "sh",
            &args(
                &[
                    "-c",
                    "timeout -s INT 8 pmc \"$@\"; exit 0",
                    "pmc",
                    pmc_t,
                    "-i",
                    "ptpm0",
                    "-b",
                    "1",
                ],
                &[
                    x.pmc,
                    &[
                        "SET PRIORITY2 99",
                        "GET DEFAULT_DATA_SET",
                        "GET PARENT_DATA_SET",
                        "GET PORT_DATA_SET",
                    ],
                ]
                .concat(),
            ),
        )
        .unwrap();
    let pmc_out = String::from_utf8_lossy(&pmc.stdout).to_string();
    wait_exit(&mut me, Duration::from_secs(15));
    let ours = me.log_text();
    let mlog = master.log_text();
    let gm = mlog
        .lines()
        .find_map(|l| l.split("selected local clock ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("{tag}: ptp4l never became master:\n{mlog}"));
    let gm_ours = ptp4l_id_to_ours(gm);
    assert!(
        ours.contains(&format!("gm-clock-id: {gm_ours}")),
        "{tag}: our monitor shows ptp4l's GM {gm_ours}:\n{ours}"
    );
    assert!(
        ours.contains("-> slave"),
        "{tag}: our port reached SLAVE:\n{ours}"
    );
    assert!(ours.contains("gm-priority1: 10"), "{tag}:\n{ours}");
    let offs = offsets(&ours);
    assert!(offs.len() >= 5, "{tag}: offsets reported: {offs:?}\n{ours}");
    let med = median_abs(&offs);
    assert!(
        med < 50_000,
        "{tag}: median |offset| {med} ns (same host clock)"
    );
    let my_id = ours
        .lines()
        .find_map(|l| l.split("clock-id ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    let my_pmc = ours_to_ptp4l_id(&my_id);
    assert!(
        pmc_out.contains(&format!(
            "{my_pmc}-1 seq 1 RESPONSE MANAGEMENT DEFAULT_DATA_SET"
        )),
        "{tag}: pmc got our DEFAULT_DATA_SET:\n{pmc_out}"
    );
    assert!(
        pmc_out.contains(&format!("clockIdentity           {my_pmc}")),
        "{tag}:\n{pmc_out}"
    );
    assert!(
        pmc_out.contains(&format!("grandmasterIdentity                   {gm}")),
        "{tag}: our PARENT_DATA_SET names ptp4l's GM:\n{pmc_out}"
    );
    assert!(
        pmc_out.contains("portState               SLAVE"),
        "{tag}:\n{pmc_out}"
    );
    // Management SET over the wire: pmc's SET PRIORITY2 is answered with the new value,
    // and the DEFAULT_DATA_SET read after it shows it.
    assert!(
        pmc_out.contains(&format!("{my_pmc}-1 seq 0 RESPONSE MANAGEMENT PRIORITY2")),
        "{tag}: pmc SET PRIORITY2 answered:\n{pmc_out}"
    );
    assert!(
        pmc_out.contains("priority2               99"),
        "{tag}: our DEFAULT_DATA_SET shows the new priority2:\n{pmc_out}"
    );
    assert!(
        ours.contains("management SET 0x2006 = 99"),
        "{tag}: our daemon applied the SET:\n{ours}"
    );
    eprintln!(
        "[{tag}] our slave: {} offsets, median |offset| {med} ns; pmc read our data sets",
        offs.len()
    );
}

/// B: our master, ptp4l slave.
fn ours_as_master(tag: &str, dir: &Path, t: &str, delay: &str, ours_transport: &str, x: Extra) {
    let (m, s) = pair(tag);
    let uds = dir.join(format!("{tag}s.uds"));
    let delay_lc = delay.to_ascii_lowercase();
    let mut me = m
        .spawn(
            OURS,
            &args(
                &[
                    "--iface",
                    "ptpm0",
                    "--transport",
                    ours_transport,
                    "--delay",
                    &delay_lc,
                    "--priority1",
                    "10",
                    "--free-running",
                    "--duration",
                    "24",
                    "--monitor",
                    "100",
                ],
                x.ours,
            ),
            &dir.join(format!("{tag}ours-master.log")),
        )
        .unwrap();
    let delay_arg = format!("--delay_mechanism={delay}");
    let uds_arg = format!("--uds_address={}", uds.display());
    let slave = s
        .spawn(
            "ptp4l",
            &args(
                &[
                    "-i",
                    "ptps0",
                    "-S",
                    t,
                    "-m",
                    "-s",
                    "--free_running=1",
                    &delay_arg,
                    "--summary_interval=0",
                    // A fault (for instance a Pdelay_Resp that arrives after ptp4l dropped its
                    // request, seen when the CI host is loaded) is cleared after 1 s instead of
                    // linuxptp's default 16 s, so one late packet does not eat the whole run.
                    "--fault_reset_interval=0",
                    &uds_arg,
                ],
                x.ptp4l,
            ),
            &dir.join(format!("{tag}ptp4l-slave.log")),
        )
        .unwrap();
    wait_exit(&mut me, Duration::from_secs(40));
    let ours = me.log_text();
    let slog = slave.log_text();
    let my_id = ours
        .lines()
        .find_map(|l| l.split("clock-id ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    let my_ptp4l = ours_to_ptp4l_id(&my_id);
    assert!(
        slog.contains(&format!("selected best master clock {my_ptp4l}")),
        "{tag}: ptp4l selected our master {my_ptp4l}:\n{slog}"
    );
    assert!(
        slog.contains("to UNCALIBRATED on RS_SLAVE"),
        "{tag}:\n{slog}"
    );
    let n = slog.lines().filter(|l| l.contains("master offset")).count();
    assert!(
        n >= 3,
        "{tag}: ptp4l reported {n} offsets against our master:\n{slog}\nours:\n{ours}"
    );
    assert!(ours.contains("i-am-gm: yes"), "{tag}:\n{ours}");
    assert!(
        !ours.contains("transmit timestamp missing"),
        "{tag}:\n{ours}"
    );
    eprintln!("[{tag}] ptp4l slave synced to our master: {n} offset lines");
}

fn both(tag: &str, t: &'static str, delay: &'static str, ours_transport: &'static str) {
    both_with(tag, t, delay, ours_transport, Extra::default());
}

fn both_with(
    tag: &str,
    t: &'static str,
    delay: &'static str,
    ours_transport: &'static str,
    x: Extra,
) {
    if !peer_available("linuxptp ptp4l/pmc", peers()) {
        return;
    }
    let dir = scratch_dir(&format!("ptp-{tag}"));
    let (ta, tb) = (format!("{tag}a"), format!("{tag}b"));
    let (da, db) = (dir.clone(), dir.clone());
    let a = std::thread::spawn(move || ours_as_slave(&ta, &da, t, delay, ours_transport, x));
    let b = std::thread::spawn(move || ours_as_master(&tb, &db, t, delay, ours_transport, x));
    let ra = a.join();
    let rb = b.join();
    if let Err(e) = ra {
        std::panic::resume_unwind(e);
    }
    if let Err(e) = rb {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn ptp4l_udpv4_e2e() {
    both("ue", "-4", "E2E", "ipv4");
}

#[test]
fn ptp4l_udpv4_p2p() {
    both("up", "-4", "P2P", "ipv4");
}

#[test]
fn ptp4l_l2_e2e() {
    both("le", "-2", "E2E", "l2-forwardable");
}

#[test]
fn ptp4l_l2_p2p() {
    both("lp", "-2", "P2P", "l2-forwardable");
}

/// 802.1AS: ptp4l with linuxptp's gPTP.cfg settings (transportSpecific 1, follow_up_info, path trace,
/// L2 01-80-C2-00-00-0E, P2P) against our `--profile 802.1as`, both directions. The peer delay
/// over a veth with software timestamps is a few microseconds, so both sides raise
/// neighborPropDelayThresh from 800 ns to 100 us (otherwise neither is asCapable and, as
/// 802.1AS requires, no Sync flows). pmc needs `-t 1` (transportSpecific).
#[test]
fn ptp4l_gptp() {
    both_with(
        "gp",
        "-2",
        "P2P",
        "l2-non-forwardable",
        Extra {
            // linuxptp configs/gPTP.cfg as options (no dependency on the docs directory),
            // priority1 left to the test, neighborPropDelayThresh raised.
            ptp4l: &[
                "--gmCapable=1",
                "--logAnnounceInterval=0",
                "--logSyncInterval=-3",
                "--syncReceiptTimeout=3",
                "--neighborPropDelayThresh=100000",
                "--min_neighbor_prop_delay=-20000000",
                "--assume_two_step=1",
                "--path_trace_enabled=1",
                "--follow_up_info=1",
                "--transportSpecific=1",
                "--ptp_dst_mac=01:80:C2:00:00:0E",
                // One `master offset` line per estimate instead of a summary every 16 s.
                "--summary_interval=-3",
            ],
            ours: &[
                "--profile",
                "802.1as",
                "--neighbor-prop-delay-thresh",
                "100000",
            ],
            pmc: &["-t", "1"],
        },
    );
}

/// G.8275.1: ptp4l with linuxptp's G.8275.1.cfg settings (`dataset_comparison G.8275.x`, L2
/// 01-80-C2-00-00-0E, Sync 16/s, domain set to the profile's 24) against our
/// `--profile g8275.1` (alternate BMCA), both directions.
#[test]
fn ptp4l_g8275_1() {
    both_with(
        "g8",
        "-2",
        "E2E",
        "l2-non-forwardable",
        Extra {
            // linuxptp configs/G.8275.1.cfg as options, plus the profile's domain 24.
            ptp4l: &[
                "--dataset_comparison=G.8275.x",
                "--G.8275.defaultDS.localPriority=128",
                "--maxStepsRemoved=255",
                "--logAnnounceInterval=-3",
                "--logSyncInterval=-4",
                "--logMinDelayReqInterval=-4",
                "--masterOnly=0",
                "--G.8275.portDS.localPriority=128",
                "--ptp_dst_mac=01:80:C2:00:00:0E",
                "--domainNumber=24",
                // One `master offset` line per estimate instead of a summary every 32 s.
                "--summary_interval=-4",
            ],
            ours: &["--profile", "g8275.1"],
            pmc: &["-d", "24"],
        },
    );
}

fn mean_after(v: &[i64], skip: usize) -> f64 {
    let t: Vec<f64> = v.iter().skip(skip).map(|&x| x as f64).collect();
    t.iter().sum::<f64>() / t.len().max(1) as f64
}

fn rms_after(v: &[i64], skip: usize) -> f64 {
    let t: Vec<f64> = v.iter().skip(skip).map(|&x| x as f64).collect();
    (t.iter().map(|x| x * x).sum::<f64>() / t.len().max(1) as f64).sqrt()
}

fn ptp4l_offsets(log: &str) -> Vec<i64> {
    log.lines()
        .filter_map(|l| {
            l.split("master offset")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// Accuracy benchmark, issue 6's setup (run explicitly: `cargo test --release -p examples --test
/// interop_ptp -- --ignored --nocapture accuracy`; `PTP_BENCH_SECS` sets the duration, default
/// 60 s).
///
/// One ptp4l master (`-S -4 -E`, priority1 10) serves **two direct veth pairs** at once: it runs
/// with two ports (`-i gm0 -i gm1 --boundary_clock_jbod=1`), both of which become MASTER since
/// it is the only clock offering time. Our slave (`--slave-only --free-running`, never touches
/// the clock) sits on the far end of `gm0`, a ptp4l slave (`-s --free_running=1`) on the far end
/// of `gm1`. So both slaves see the same master, in the same run, at the same time, each over its
/// own direct veth (no bridge), UDPv4/E2E, software timestamps. Both namespaces share the host
/// clock, so the reported offsets are pure measurement error. The first `SKIP` samples of each
/// (servo/filter convergence) are dropped before the RMS. ptp4l's free-running path prints one
/// `master offset` line per frequency-estimation window; its default (`freq_est_interval` 1 =
/// two Syncs at one Sync per second) reports every second Sync only, and since the master
/// sends its Announce (every 2 s) in the same tick as every second Sync, and those Syncs are
/// measurably noisier here, the default makes ptp4l's figure depend on which half it happens
/// to sample (per-parity RMS up to 2x apart in one run). The benchmark therefore runs the
/// ptp4l slave with `--freq_est_interval=0` so it reports every Sync, as ours does
/// (`PTP_BENCH_PTP4L_EVERY_SYNC=0` restores its default).
///
/// The headline is like for like: our single-sample offsets (`raw`: t2 - t1 - c - filtered
/// delay, exactly what ptp4l's free-running `master offset` is) against ptp4l's single samples.
/// An extra figure, labelled as what it is, compares our reported (fitted) offset: the robust
/// line through the last 16 Syncs at the newest one, minus the median-filtered delay (see the
/// `ptp` crate docs, "Offset estimation"); it is not comparable to ptp4l's single samples.
/// Both of ours have Syncs more than 8 sigma off the line dropped. `PTP_BENCH_PTP4L_FIRST=1` makes the ptp4l slave's veth the master's port 1
/// (the port served first), to check that the port order does not favour one side.
///
/// An earlier version put all three behind one Linux bridge; the bridge hop made both slaves
/// about 8 us RMS (ours 8270 ns, ptp4l 8831 ns) and hid the direct-veth case the issue measures.
#[test]
#[ignore = "benchmark: ~80 s; run with --ignored"]
fn accuracy_vs_ptp4l_slave() {
    const SKIP: usize = 10;
    if !peer_available("linuxptp ptp4l/pmc", peers()) {
        return;
    }
    let secs: u64 = std::env::var("PTP_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = scratch_dir("ptp-accuracy");
    let gm = Netns::new("rp-ptp-gm").unwrap();
    let us = Netns::new("rp-ptp-us").unwrap();
    let them = Netns::new("rp-ptp-them").unwrap();
    veth(&gm, "gm0", "10.97.10.1/30", &us, "eth0", "10.97.10.2/30").unwrap();
    veth(&gm, "gm1", "10.97.10.5/30", &them, "eth0", "10.97.10.6/30").unwrap();
    let uds = |n: &str| format!("--uds_address={}", dir.join(n).display());
    // ptp4l serves its ports in order: port 1 gets each Sync first. PTP_BENCH_PTP4L_FIRST=1
    // makes the ptp4l slave's veth port 1 (to check that the order does not favour a side).
    let swap = std::env::var("PTP_BENCH_PTP4L_FIRST").is_ok_and(|v| v == "1");
    let (p1, p2) = if swap { ("gm1", "gm0") } else { ("gm0", "gm1") };
    eprintln!(
        "[accuracy] ptp4l master port 1 = {p1} ({}), port 2 = {p2}",
        if swap { "ptp4l slave" } else { "our slave" }
    );
    let master = gm
        .spawn(
            "ptp4l",
            &[
                "-i",
                p1,
                "-i",
                p2,
                "-S",
                "-4",
                "-m",
                "-E",
                "--boundary_clock_jbod=1",
                "--priority1=10",
                "--summary_interval=0",
                &uds("gm.uds"),
            ],
            &dir.join("gm.log"),
        )
        .unwrap();
    // ptp4l's free-running report comes once per frequency-estimation window; with
    // freq_est_interval 0 (2^0 s = one Sync) that is every Sync, like ours.
    // PTP_BENCH_PTP4L_EVERY_SYNC=0 keeps ptp4l's default (every second Sync).
    let every_sync = !std::env::var("PTP_BENCH_PTP4L_EVERY_SYNC").is_ok_and(|v| v == "0");
    let them_uds = uds("them.uds");
    let mut their_args = vec![
        "-i",
        "eth0",
        "-S",
        "-4",
        "-m",
        "-E",
        "-s",
        "--free_running=1",
        "--summary_interval=0",
        &them_uds,
    ];
    if every_sync {
        their_args.push("--freq_est_interval=0");
    }
    let theirs = them
        .spawn("ptp4l", &their_args, &dir.join("them.log"))
        .unwrap();
    let mut ours = us
        .spawn(
            OURS,
            &[
                "--iface",
                "eth0",
                "--transport",
                "ipv4",
                "--delay",
                "e2e",
                "--slave-only",
                "--free-running",
                "--duration",
                &secs.to_string(),
                "--monitor",
                "1000",
            ],
            &dir.join("us.log"),
        )
        .unwrap();
    wait_exit(&mut ours, Duration::from_secs(secs + 20));
    let mlog = master.log_text();
    assert!(
        mlog.matches("to MASTER on").count() >= 2,
        "ptp4l master: both ports reached MASTER:\n{mlog}"
    );
    let our_offs = offsets(&ours.log_text());
    let our_raw = raw_offsets(&ours.log_text());
    let their_offs = ptp4l_offsets(&theirs.log_text());
    assert!(
        our_offs.len() > SKIP + 10 && their_offs.len() > SKIP + 10,
        "ours {our_offs:?} theirs {their_offs:?}"
    );
    let (a, b) = (rms_after(&our_offs, SKIP), rms_after(&their_offs, SKIP));
    // The master sends its Announce (every 2 s) in the same tick as every second Sync; those
    // Syncs are noisier for any slave. Per-parity RMS shows it (and shows what a slave that
    // samples only every second Sync would see, depending on phase).
    let parity = |v: &[i64]| {
        let t: Vec<i64> = v.iter().skip(SKIP).copied().collect();
        let even: Vec<i64> = t.iter().step_by(2).copied().collect();
        let odd: Vec<i64> = t.iter().skip(1).step_by(2).copied().collect();
        (rms_after(&even, 0), rms_after(&odd, 0))
    };
    let (oe, oo) = parity(&our_raw);
    let (te, to) = parity(&their_offs);
    eprintln!(
        "[accuracy] RMS of alternate Syncs (even / odd): ours single-sample {oe:.0} / {oo:.0} ns, \
         ptp4l {te:.0} / {to:.0} ns (ptp4l reporting {})",
        if every_sync {
            "every Sync: --freq_est_interval=0"
        } else {
            "every second Sync: its default"
        }
    );
    let (ma, mb) = (mean_after(&our_offs, SKIP), mean_after(&their_offs, SKIP));
    let max_abs = |v: &[i64]| v.iter().skip(SKIP).map(|x| x.abs()).max().unwrap_or(0);
    eprintln!(
        "[accuracy] median |offset|: ours {} ns, ptp4l {} ns; max |offset|: ours {} ns, ptp4l {} ns \
         (one scheduling outlier can dominate a short RMS)",
        median_abs(&our_offs[SKIP..]),
        median_abs(&their_offs[SKIP..]),
        max_abs(&our_offs),
        max_abs(&their_offs)
    );
    eprintln!("[accuracy] mean offset (part of the RMS): ours {ma:.0} ns, ptp4l {mb:.0} ns");
    let r = rms_after(&our_raw, SKIP);
    eprintln!(
        "[accuracy] HEADLINE (like for like, single samples both): one ptp4l master, two direct \
         veths, UDPv4/E2E, software timestamps, {secs} s: our slave RMS {r:.0} ns over {} \
         samples (mean {:.0} ns, max |offset| {} ns); ptp4l slave RMS {b:.0} ns over {} samples; \
         ratio {:.2} (logs in {})",
        our_raw.len().saturating_sub(SKIP),
        mean_after(&our_raw, SKIP),
        max_abs(&our_raw),
        their_offs.len() - SKIP,
        r / b,
        dir.display()
    );
    eprintln!(
        "[accuracy] extra, not like for like: our fitted offset (robust line over the last 16 \
         Syncs) RMS {a:.0} ns over {} samples; against ptp4l's single samples ratio {:.2}",
        our_offs.len() - SKIP,
        a / b
    );
}

/// Our daemon's `offset` lines: (time since start s, offset ns, Sync sample ns (raw offset
/// plus path delay: `t2 - t1 - corrections`), servo state).
fn our_samples(log: &str) -> Vec<(f64, i64, i64, String)> {
    log.lines()
        .filter_map(|l| {
            let off = l
                .split(" offset ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            let raw: i64 = l
                .split(" raw ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            let delay: i64 = l
                .split(" delay ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            let servo = l
                .split(" servo ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .to_string();
            let at = l
                .split(" at ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some((at, off, raw + delay, servo))
        })
        .collect()
}

/// ptp4l's `ptp4l[T]: master offset X sN freq F path delay D` lines: (T, X, state).
fn ptp4l_samples(log: &str) -> Vec<(f64, i64, String)> {
    log.lines()
        .filter_map(|l| {
            let t = l.split('[').nth(1)?.split(']').next()?.parse().ok()?;
            let mut w = l.split("master offset").nth(1)?.split_whitespace();
            let off = w.next()?.parse().ok()?;
            let st = w.next()?.to_string();
            Some((t, off, st))
        })
        .collect()
}

/// The median of `|x|` over `v` (0 when empty).
fn median_abs_f(v: &[f64]) -> f64 {
    let mut a: Vec<f64> = v.iter().map(|x| x.abs()).collect();
    a.sort_by(f64::total_cmp);
    match a.len() {
        0 => 0.0,
        n if n.is_multiple_of(2) => (a[n / 2 - 1] + a[n / 2]) / 2.0,
        n => a[n / 2],
    }
}

fn rms_f(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

/// Residuals of `v` (taken at times `t`) around their least-squares line.
fn detrended(t: &[f64], v: &[f64]) -> Vec<f64> {
    let n = t.len().max(1) as f64;
    let (mt, mv) = (t.iter().sum::<f64>() / n, v.iter().sum::<f64>() / n);
    let sxx: f64 = t.iter().map(|x| (x - mt) * (x - mt)).sum();
    let sxy: f64 = t.iter().zip(v).map(|(x, y)| (x - mt) * (y - mv)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    t.iter()
        .zip(v)
        .map(|(x, y)| y - mv - b * (x - mt))
        .collect()
}

/// Steering a real clock against a real master: the lab VM's guest has a kernel clock of its
/// own. A ptp4l master (`-S -4`, UDPv4/E2E, Sync 1/s, Announce 4/s) runs on the host side of the
/// lab link; in the guest first our daemon with `--steer-clock`, then `ptp4l -s`, steer the
/// guest's CLOCK_REALTIME to it, each for the same time from the same disturbed start (the
/// guest clock set back by one second, whole seconds kept, and +50 ppm of frequency error),
/// software timestamps both. Compared: the time from the daemon's start to a locked servo (ours:
/// `servo Locked`; ptp4l: `s2`), and the RMS of the reported offsets after lock. The TCG noise
/// floor is the scatter of ptp4l's offsets around their line while the clock still runs free
/// (before its first correction, which it always defers for 16 s): the timestamping noise of
/// the emulated guest, tens to hundreds of microseconds (its clock and network are emulated,
/// and the host is shared).
///
/// Both PI servos use linuxptp's software constants; the first frequency estimate waits until
/// the rate is known to 1 ppm from at least 8 Sync samples (ours) or `0.016 / ki` seconds
/// passed (both; 16 s at one Sync per second). So the CI run (`PTP_STEER_SECS`, default 25 s
/// per daemon, about 70 s with the boot) gives ptp4l only a few locked samples;
/// `steering_long` (120 s each:
/// `cargo test --release -p examples --test interop_ptp -- --ignored --nocapture
/// steering_long`) is the comparison the README quotes.
#[test]
fn steering_the_lab_vm_clock_ours_vs_ptp4l() {
    let secs: u64 = std::env::var("PTP_STEER_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(25);
    steering(secs);
}

#[test]
#[ignore = "long version: 2 x 120 s of steering; run with --ignored"]
fn steering_long() {
    steering(120);
}

fn steering(secs: u64) {
    use examples::lab_vm::{lab_available, LabOptions, LabVm, NETNS, TAP};
    let check = lab_available().and_then(|_| peers());
    if !peer_available("lab VM + linuxptp (ptp4l)", check) {
        return;
    }
    let t0 = Instant::now();
    let dir = scratch_dir("ptp-steering");
    let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
    let has_ptp4l = lab.exec("command -v ptp4l").is_ok();
    if !peer_available(
        "ptp4l inside the lab VM guest",
        if has_ptp4l {
            Ok(())
        } else {
            Err("the guest image has no ptp4l (build it with linuxptp installed)".into())
        },
    ) {
        return;
    }
    // our daemon, stripped for the trip (no debug info needed in the guest)
    let bin = dir.join("ptp-guest");
    std::fs::copy(OURS, &bin).unwrap();
    let _ = std::process::Command::new("strip").arg(&bin).status();
    lab.copy_to_guest(&bin, "/tmp/rp-ptp", 0o755).unwrap();
    // the master: ptp4l on the host end of the lab link, Announce 4/s so it is grandmaster
    // within a second of its start
    let master = |tag: &str, log_sync: i8| -> Proc {
        let log = dir.join(format!("master-{tag}.log"));
        let child = std::process::Command::new("ip")
            .args(["netns", "exec", NETNS, "ptp4l", "-i", TAP, "-S", "-4", "-m"])
            .args(["--priority1=10", "--logAnnounceInterval=-2"])
            .arg(format!("--logSyncInterval={log_sync}"))
            .arg(format!(
                "--uds_address={}",
                dir.join("master.uds").display()
            ))
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let p = Proc { child, log };
        p.wait_log("assuming the grand master role", Duration::from_secs(20))
            .unwrap();
        p
    };
    // the same disturbed start for each daemon: one second late, +50 ppm
    let disturb =
        "adjtimex -f 3276800 >/dev/null && date -s \"@$(( $(date +%s) - 1 ))\" >/dev/null";
    let run = |cmd: &str, log: &str, secs: u64| -> String {
        lab.exec(disturb).unwrap();
        let (code, out) = lab
            .exec_status(
                &format!("( {cmd} ) > {log} 2>&1; echo rc=$?"),
                Duration::from_secs(secs + 40),
            )
            .unwrap();
        assert_eq!(code, 0, "{out}");
        let text = lab.guest_log(log);
        std::fs::write(dir.join(log.trim_start_matches("/tmp/")), &text).unwrap();
        text
    };
    let ours_cmd = |mode: &str, secs: u64| {
        format!(
            "/tmp/rp-ptp --iface eth0 --transport ipv4 --delay e2e --slave-only {mode} \
             --duration {secs} --monitor 1000"
        )
    };
    // ours steering, then ptp4l steering: Sync 1/s, the same master, duration and start
    let m = master("steering", 0);
    let ours = run(&ours_cmd("--steer-clock", secs), "/tmp/ours.log", secs);
    let theirs = run(
        &format!(
            "timeout -s INT {secs} ptp4l -i eth0 -S -4 -s -m --summary_interval=0 \
             --uds_address=/tmp/p4.uds; true"
        ),
        "/tmp/ptp4l.log",
        secs,
    );
    drop(m);
    // ours: lock = first sample with the servo locked; RMS after it
    let s = our_samples(&ours);
    let lock_ours = s
        .iter()
        .find(|x| x.3 == "Locked")
        .map(|x| x.0)
        .unwrap_or_else(|| panic!("our servo never locked:\n{ours}"));
    let after: Vec<f64> = s
        .iter()
        .filter(|x| x.3 == "Locked")
        .map(|x| x.1 as f64)
        .collect();
    // ptp4l: lock = first s2 line after its start; RMS of the s2 offsets
    let p = ptp4l_samples(&theirs);
    let p4_start = theirs
        .lines()
        .find_map(|l| l.split('[').nth(1)?.split(']').next()?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("ptp4l printed nothing:\n{theirs}"));
    let lock_p4 = p.iter().find(|x| x.2 == "s2").map(|x| x.0 - p4_start);
    let after_p4: Vec<f64> = p
        .iter()
        .filter(|x| x.2 == "s2")
        .map(|x| x.1 as f64)
        .collect();
    // noise floor: ptp4l's samples before its first correction (it always waits 16 s at one
    // Sync per second: the clock runs free meanwhile) around their line
    let (ft, fv): (Vec<f64>, Vec<f64>) = p
        .iter()
        .filter(|x| x.2 == "s0")
        .map(|x| (x.0, x.1 as f64))
        .unzip();
    let floor = rms_f(&detrended(&ft, &fv));
    let (r_ours, r_p4) = (rms_f(&after), rms_f(&after_p4));
    eprintln!(
        "[steering] lab VM guest clock (TCG), ptp4l master on the host, UDPv4/E2E, Sync 1/s, \
         software timestamps, {secs} s per daemon, start 1 s late and +50 ppm:\n\
         [steering] ours:  locked after {lock_ours:.1} s, offset RMS after lock {r_ours:.0} ns \
         over {} samples\n\
         [steering] ptp4l: locked after {} s, offset RMS after lock {r_p4:.0} ns over {} \
         samples\n\
         [steering] TCG noise floor (ptp4l's offsets of the still unsteered guest clock \
         around their line, {} samples): {floor:.0} ns; total {:.0?} (logs in {})",
        after.len(),
        lock_p4.map_or("never".into(), |l| format!("{l:.1}")),
        after_p4.len(),
        fv.len(),
        t0.elapsed(),
        dir.display()
    );
    assert!(fv.len() >= 8, "noise floor samples:\n{theirs}");
    // convergence: our servo locks within the run, no later than ptp4l's plus 5 s (both
    // wait for linuxptp's frequency estimation interval on this noisy clock), and then stays
    // within 5x the noise floor (at least 20 us), in the median
    assert!(after.len() >= 2, "our servo locked too late:\n{ours}");
    if let Some(l) = lock_p4 {
        assert!(lock_ours < l + 5.0, "ours {lock_ours} s, ptp4l {l} s");
    }
    // The bound is on the median |offset| after lock, not the RMS: one stall of the emulated
    // guest (its clock jumps by milliseconds when the shared host stalls QEMU; seen once in CI
    // as a single 5.4 ms sample, with the servo's frequency then thrown off by 600 ppm) would
    // decide an RMS of a handful of samples on its own. The RMS is still printed above.
    let bound = (5.0 * floor).max(20_000.0);
    let med_ours = median_abs_f(&after);
    assert!(
        med_ours < bound,
        "our median |offset| {med_ours} ns (RMS {r_ours} ns) above {bound} ns:\n{ours}"
    );
    // ptp4l steered the same clock (it locks once its frequency estimate interval passed)
    assert!(
        lock_p4.is_some() || secs < 20,
        "ptp4l never locked in {secs} s:\n{theirs}"
    );
}

fn ptp_encode(h: ptp::wire::Header, b: ptp::wire::Body, suffix: &[u8]) -> Vec<u8> {
    ptp::wire::Message {
        header: h,
        body: b,
        suffix,
    }
    .to_vec()
    .unwrap()
}

/// The PTP flood from 240 addresses of namespace `rpnet-ptpf`, for `secs`: Announces from
/// random clock identities with random data sets no better than the genuine master's
/// (priority1 11..=255: a sender with a better data set could simply qualify and win, PTP has
/// no authentication), Sync / Follow_Up / Delay_Resp from strangers, management GETs (which a
/// clock answers), those with random bytes flipped, and junk; to the slave's address and to
/// the PTP multicast group (which reaches the master too), on both PTP ports. Returns the
/// datagrams sent.
fn ptp_flood(secs: f64) -> u64 {
    use ptp::wire::{
        action, flags, Announce, Body, ClockIdentity, Header, ManagementBody, MessageType,
        PortIdentity, Timestamp,
    };
    use rand_core::RngCore;
    examples::interop::in_netns("rpnet-ptpf", move || {
        let socks: Vec<std::net::UdpSocket> = (10..250u8)
            .filter_map(|i| std::net::UdpSocket::bind((format!("10.97.28.{i}"), 0)).ok())
            .collect();
        assert!(socks.len() >= 200, "flood sockets: {}", socks.len());
        for s in &socks {
            let _ = s.set_nonblocking(true);
            let _ = s.set_multicast_ttl_v4(1);
        }
        let mut rng = netsim::TestRng::new(20);
        let end = Instant::now() + Duration::from_secs_f64(secs);
        let mut sent = 0u64;
        while Instant::now() < end {
            let mut id = [0u8; 8];
            rng.fill_bytes(&mut id);
            let from = PortIdentity {
                clock_identity: ClockIdentity(id),
                port_number: 1,
            };
            let seq = rng.next_u32() as u16;
            let kind = rng.next_u32() % 10;
            let mut msg = match kind {
                0..=3 => {
                    let mut h = Header::new(MessageType::Announce, 0, from, seq);
                    h.log_message_interval = 1;
                    ptp_encode(
                        h,
                        Body::Announce(Announce {
                            origin_timestamp: Timestamp::default(),
                            current_utc_offset: 37,
                            reserved: 0,
                            grandmaster_priority1: 11 + (rng.next_u32() % 245) as u8,
                            grandmaster_clock_quality: Default::default(),
                            grandmaster_priority2: rng.next_u32() as u8,
                            grandmaster_identity: from.clock_identity,
                            steps_removed: (rng.next_u32() % 300) as u16,
                            time_source: 0xA0,
                        }),
                        &[],
                    )
                }
                4 => {
                    let mut h = Header::new(MessageType::Sync, 0, from, seq);
                    h.flags = flags::TWO_STEP;
                    ptp_encode(
                        h,
                        Body::Sync {
                            origin_timestamp: Timestamp::default(),
                        },
                        &[],
                    )
                }
                5 => ptp_encode(
                    Header::new(MessageType::FollowUp, 0, from, seq),
                    Body::FollowUp {
                        precise_origin_timestamp: Timestamp::default(),
                    },
                    &[],
                ),
                6 => ptp_encode(
                    Header::new(MessageType::DelayResp, 0, from, seq),
                    Body::DelayResp {
                        receive_timestamp: Timestamp::default(),
                        requesting_port_identity: from,
                    },
                    &[],
                ),
                7 => ptp_encode(
                    Header::new(MessageType::Management, 0, from, seq),
                    Body::Management(ManagementBody {
                        target_port_identity: PortIdentity::ALL,
                        starting_boundary_hops: 1,
                        boundary_hops: 1,
                        action_octet: action::GET,
                        reserved: 0,
                    }),
                    &[0, 1, 0, 2, 0x20, 0x00],
                ),
                _ => {
                    let mut j = vec![0u8; (rng.next_u32() % 120) as usize];
                    rng.fill_bytes(&mut j);
                    j
                }
            };
            // half of the other well-formed ones mutated
            if (4..8).contains(&kind) && rng.next_u32().is_multiple_of(2) && !msg.is_empty() {
                for _ in 0..1 + rng.next_u32() % 4 {
                    let i = rng.next_u32() as usize % msg.len();
                    msg[i] ^= 1 << (rng.next_u32() % 8);
                }
            }
            let port = if rng.next_u32().is_multiple_of(2) {
                319
            } else {
                320
            };
            let dst = if rng.next_u32().is_multiple_of(4) {
                "224.0.1.129"
            } else {
                "10.97.28.2"
            };
            let s = &socks[rng.next_u32() as usize % socks.len()];
            if s.send_to(&msg, (dst, port)).is_ok() {
                sent += 1;
            }
        }
        sent
    })
    .unwrap()
}

/// Issue 20: our `ptp` daemon as master (priority1 10) and a second one as a slave that
/// starts during a flood from 240 source addresses on the same link (a bridge in
/// `rpnet-ptpbr`): the slave selects the genuine master, reaches SLAVE and reports offsets
/// during the flood; both daemons' memory stays under the stated bound (baseline + 16 MiB).
/// Both run `--free-running` (the host clock is never touched). `PTP_FLOOD_SECS` (default 12:
/// qualifying the master takes two Announces, 2 s apart, then a Delay_Req within 2 s) sets
/// the duration; `ptp_flood_long` runs 60 s.
#[test]
fn ptp_flood_while_a_slave_joins() {
    let secs = std::env::var("PTP_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12.0);
    ptp_flood_test(secs);
}

#[test]
#[ignore = "long version: 60 s of flood; run with --ignored"]
fn ptp_flood_long() {
    ptp_flood_test(60.0);
}

fn ptp_flood_test(secs: f64) {
    use examples::interop::{require_tools, run};
    if !peer_available("root + network namespaces + ip", require_tools(&["ip"])) {
        return;
    }
    let t0 = Instant::now();
    let dir = scratch_dir("ptp-flood");
    let br = Netns::new("rpnet-ptpbr").unwrap();
    let m = Netns::new("rpnet-ptpm").unwrap();
    let s = Netns::new("rpnet-ptps").unwrap();
    let f = Netns::new("rpnet-ptpf").unwrap();
    run(
        "ip",
        &["-n", &br.name, "link", "add", "br0", "type", "bridge"],
    )
    .unwrap();
    run("ip", &["-n", &br.name, "link", "set", "br0", "up"]).unwrap();
    for (ns, inner, outer, addr) in [
        (&m, "ptpm0", "pbm", "10.97.28.1/24"),
        (&s, "ptps0", "pbs", "10.97.28.2/24"),
        (&f, "ptpf0", "pbf", "10.97.28.10/24"),
    ] {
        run(
            "ip",
            &[
                "-n", &br.name, "link", "add", outer, "type", "veth", "peer", "name", inner,
                "netns", &ns.name,
            ],
        )
        .unwrap();
        run(
            "ip",
            &["-n", &br.name, "link", "set", outer, "master", "br0", "up"],
        )
        .unwrap();
        run("ip", &["-n", &ns.name, "addr", "add", addr, "dev", inner]).unwrap();
        run("ip", &["-n", &ns.name, "link", "set", inner, "up"]).unwrap();
    }
    f.add_addresses("ptpf0", "10.97.28", 11..250, 24).unwrap();
    // the master becomes grandmaster after its announce receipt timeout (6 s)
    let dur = (secs + 12.0).to_string();
    let master = m
        .spawn(
            OURS,
            &[
                "--iface",
                "ptpm0",
                "--transport",
                "ipv4",
                "--delay",
                "e2e",
                "--priority1",
                "10",
                "--free-running",
                "--duration",
                &dur,
                "--monitor",
                "1000",
            ],
            &dir.join("master.log"),
        )
        .unwrap();
    master
        .wait_log("listening -> master", Duration::from_secs(15))
        .unwrap();
    let my_id = master
        .log_text()
        .lines()
        .find_map(|l| l.split("clock-id ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    let (mpid, base_m) = (master.child.id(), rss_kib(master.child.id()));
    // the flood, and half a second into it the slave
    let flood = std::thread::spawn(move || ptp_flood(secs));
    std::thread::sleep(Duration::from_millis(500));
    let flood_start = Instant::now();
    let slave_dur = (secs - 0.5).to_string();
    let mut slave = s
        .spawn(
            OURS,
            &[
                "--iface",
                "ptps0",
                "--transport",
                "ipv4",
                "--delay",
                "e2e",
                "--slave-only",
                "--free-running",
                "--duration",
                &slave_dur,
                "--monitor",
                "1000",
            ],
            &dir.join("slave.log"),
        )
        .unwrap();
    let spid = slave.child.id();
    // the slave is the same program: the master's idle RSS is its baseline too
    let (mut peak_m, mut peak_s, base_s) = (base_m, 0u64, base_m);
    let _ = flood_start;
    while slave.child.try_wait().ok().flatten().is_none() {
        peak_s = peak_s.max(rss_kib(spid));
        peak_m = peak_m.max(rss_kib(mpid));
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = flood.join().unwrap();
    wait_exit(&mut slave, Duration::from_secs(10));
    let slog = slave.log_text();
    let mlog = master.log_text();
    let offs = raw_offsets(&slog);
    let gm = format!("gm-clock-id: {my_id}");
    eprintln!(
        "[ptp flood] {sent} datagrams from 240 sources in {secs} s; the slave started 0.5 s in: \
         {} offsets during the flood, {}; RSS master {base_m} -> peak {peak_m} KiB, slave \
         {base_s} -> peak {peak_s} KiB; slave log {} lines; {:.1?} in all",
        offs.len(),
        if slog.contains(&gm) {
            "genuine grandmaster selected"
        } else {
            "WRONG grandmaster"
        },
        slog.lines().count(),
        t0.elapsed()
    );
    assert!(sent > 10_000, "the flood was too thin: {sent}");
    assert!(
        slog.contains("-> slave"),
        "the slave reached SLAVE:\n{slog}"
    );
    assert!(
        slog.contains(&gm),
        "the genuine grandmaster {my_id}:\n{slog}"
    );
    assert!(
        offs.len() as f64 >= (secs - 9.0).max(2.0),
        "offsets during the flood: {}\n{slog}",
        offs.len()
    );
    assert!(
        mlog.contains("i-am-gm: yes") || !mlog.contains("i-am-gm: no"),
        "{mlog}"
    );
    assert!(
        peak_m < base_m + 16 * 1024,
        "master RSS {base_m} -> {peak_m} KiB"
    );
    assert!(
        peak_s < base_s + 16 * 1024,
        "slave RSS {base_s} -> {peak_s} KiB"
    );
    drop(master);
    drop((br, m, s, f));
}
