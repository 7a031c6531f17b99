//! Interop: the `gre-tunnel` example (sans-IO `gre-family` + TUN/TAP + raw sockets) against the
//! Linux kernel's GRE, GRETAP (key 42) and IPIP in the project's lab VM.
//!
//! The example runs in the lab's host namespace `rp-lab` (10.97.40.1); the guest (10.97.40.2)
//! has `gre1` (inner 10.97.45.2/30), `gretap1` key 42 (10.97.46.2/24) and `ipip1`
//! (10.97.48.2/30). Evidence asserted for each tunnel: ping replies from the guest's inner
//! address through the tunnel, the guest kernel's RX counter on its tunnel interface, and the
//! example's own decapsulation counter. A second GRE run checks the Cisco-style keepalive
//! against the kernel (which routes the inner keepalive back once forwarding is on).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use examples::interop::{peer_available, scratch_dir, Proc};
use examples::lab_vm::{lab_available, LabOptions, LabVm, GUEST_ADDR, HOST_ADDR, NETNS};

const BIN: &str = env!("CARGO_BIN_EXE_gre-tunnel");

fn spawn_tunnel(name: &str, args: &[&str]) -> Proc {
    let log = scratch_dir("interop_gre_family").join(format!("{name}.log"));
    let f = std::fs::File::create(&log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", NETNS, BIN])
        .args(args)
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    Proc { child, log }
}

fn wait_exit(p: &mut Proc, max: Duration) {
    let end = Instant::now() + max;
    while Instant::now() < end {
        if let Ok(Some(st)) = p.child.try_wait() {
            assert!(st.success(), "gre-tunnel failed:\n{}", p.log_text());
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("gre-tunnel did not exit:\n{}", p.log_text());
}

fn ping(target: &str) -> String {
    let out = Command::new("ip")
        .args([
            "netns", "exec", NETNS, "ping", "-c", "3", "-i", "0.3", "-W", "3", target,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn guest_rx_packets(lab: &LabVm, dev: &str) -> u64 {
    let out = lab
        .exec(&format!("cat /sys/class/net/{dev}/statistics/rx_packets"))
        .unwrap();
    out.trim().parse().unwrap_or(0)
}

/// Start the example for one tunnel type, ping the guest through it, check the evidence.
fn ping_through(
    lab: &LabVm,
    mode: &str,
    guest_dev: &str,
    extra: &[&str],
    addr: &str,
    target: &str,
) {
    let rx_before = guest_rx_packets(lab, guest_dev);
    let ifname = format!("rp{mode}0");
    let pcap = scratch_dir("interop_gre_family").join(format!("{mode}.pcap"));
    let mut args = vec![
        "--mode",
        mode,
        "--local",
        HOST_ADDR,
        "--remote",
        GUEST_ADDR,
        "--addr",
        addr,
        "--ifname",
        &ifname,
        "--keepalive",
        "0,0",
        "--duration",
        "15",
    ];
    let pcap_s = pcap.to_string_lossy().to_string();
    args.extend_from_slice(&["--pcap", &pcap_s]);
    args.extend_from_slice(extra);
    let mut p = spawn_tunnel(mode, &args);
    p.wait_log("gre-tunnel:", Duration::from_secs(10)).unwrap();
    let out = ping(target);
    assert!(
        out.contains(" 0% packet loss") || out.contains(" 33% packet loss"),
        "{mode}: ping {target} through the tunnel failed:\n{out}\nlog:\n{}",
        p.log_text()
    );
    assert!(out.contains(&format!("from {target}")), "{mode}: {out}");
    wait_exit(&mut p, Duration::from_secs(30));
    let log = p.log_text();
    let rx_after = guest_rx_packets(lab, guest_dev);
    assert!(
        rx_after >= rx_before + 2,
        "{mode}: guest {guest_dev} rx {rx_before} -> {rx_after}"
    );
    let stats = log
        .lines()
        .find(|l| l.starts_with("stats:"))
        .expect("stats line");
    assert!(!stats.contains("rx_packets: 0,"), "{mode}: {stats}");
    assert!(std::fs::metadata(&pcap)
        .map(|m| m.len() > 24)
        .unwrap_or(false));
    eprintln!("{mode}: ok ({stats})");
}

#[test]
fn gre_gretap_ipip_with_the_linux_kernel() {
    if !peer_available("lab VM (Linux kernel GRE/GRETAP/IPIP)", lab_available()) {
        return;
    }
    let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
    ping_through(&lab, "gre", "gre1", &[], "10.97.45.1/30", "10.97.45.2");
    ping_through(
        &lab,
        "gretap",
        "gretap1",
        &["--key", "42"],
        "10.97.46.1/24",
        "10.97.46.2",
    );
    ping_through(&lab, "ipip", "ipip1", &[], "10.97.48.1/30", "10.97.48.2");

    // Cisco-style GRE keepalive: the kernel decapsulates our keepalive and routes the inner
    // packet (10.97.40.2 -> 10.97.40.1, GRE type 0) back once it forwards and accepts a local
    // source address on gre1.
    lab.exec(
        "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.accept_local=1 \
         net.ipv4.conf.gre1.accept_local=1 net.ipv4.conf.all.rp_filter=0 \
         net.ipv4.conf.gre1.rp_filter=0",
    )
    .unwrap();
    let mut p = spawn_tunnel(
        "gre-keepalive",
        &[
            "--mode",
            "gre",
            "--local",
            HOST_ADDR,
            "--remote",
            GUEST_ADDR,
            "--addr",
            "10.97.45.1/30",
            "--ifname",
            "rpgreka0",
            "--keepalive",
            "1,3",
            "--duration",
            "6",
        ],
    );
    wait_exit(&mut p, Duration::from_secs(30));
    let log = p.log_text();
    assert!(
        log.contains("event: Up"),
        "keepalive never answered:\n{log}"
    );
    assert!(!log.contains("event: Down"), "{log}");
    assert!(!log.contains("rx_keepalives: 0,"), "{log}");
}

/// Wait until no IPv6 address in `ns` is tentative (duplicate address detection done).
fn wait_dad(ns: &examples::interop::Netns) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        let out = ns.exec("ip", &["-6", "addr", "show", "tentative"]).unwrap();
        if out.stdout.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Self-interop of the two types the lab kernel has no driver for (MikroTik EoIP, and 6to4
/// in automatic mode): two `gre-tunnel` instances in namespaces `rp-gre-a`/`rp-gre-b` joined
/// by a veth (10.97.50.1/28 <-> 10.97.50.2/28), real raw sockets and TAP/TUN devices.
/// Evidence: EoIP keepalives bring both ends up, pings cross EoIP (10.97.50.17 -> .18) and
/// automatic 6to4 (2002:a61:3201::1 -> 2002:a61:3202::1, IPv4 destination derived from the
/// IPv6 address).
#[test]
fn eoip_and_6to4_between_two_instances_over_veth() {
    use examples::interop::{veth, Netns};
    if !peer_available("root + network namespaces", Ok(())) {
        return;
    }
    let a = Netns::new("rp-gre-a").unwrap();
    let b = Netns::new("rp-gre-b").unwrap();
    veth(
        &a,
        "rpgre-va",
        "10.97.50.1/28",
        &b,
        "rpgre-vb",
        "10.97.50.2/28",
    )
    .unwrap();
    let dir = scratch_dir("interop_gre_family");

    // EoIP tunnel-id 7 with keepalive 1s,3
    let common = [
        "--mode",
        "eoip",
        "--tunnel-id",
        "7",
        "--keepalive",
        "1,3",
        "--duration",
        "8",
    ];
    let mut pa_args = vec![
        "--local",
        "10.97.50.1",
        "--remote",
        "10.97.50.2",
        "--addr",
        "10.97.50.17/28",
        "--ifname",
        "rpeoip0",
    ];
    pa_args.extend_from_slice(&common);
    let mut pb_args = vec![
        "--local",
        "10.97.50.2",
        "--remote",
        "10.97.50.1",
        "--addr",
        "10.97.50.18/28",
        "--ifname",
        "rpeoip0",
    ];
    pb_args.extend_from_slice(&common);
    let mut pa = a.spawn(BIN, &pa_args, &dir.join("eoip-a.log")).unwrap();
    let mut pb = b.spawn(BIN, &pb_args, &dir.join("eoip-b.log")).unwrap();
    pa.wait_log("event: Up", Duration::from_secs(10)).unwrap();
    pb.wait_log("event: Up", Duration::from_secs(10)).unwrap();
    let out = a
        .exec("ping", &["-c", "3", "-i", "0.3", "-W", "3", "10.97.50.18"])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("from 10.97.50.18"),
        "EoIP ping failed:\n{text}\n{}",
        pa.log_text()
    );
    wait_exit(&mut pa, Duration::from_secs(30));
    wait_exit(&mut pb, Duration::from_secs(30));
    assert!(!pa.log_text().contains("drop: TunnelIdMismatch"));

    // automatic 6to4: no remote-address
    let mut pa = a
        .spawn(
            BIN,
            &[
                "--mode",
                "6to4",
                "--local",
                "10.97.50.1",
                "--addr",
                "2002:a61:3201::1/16",
                "--ifname",
                "rp6to40",
                "--duration",
                "12",
            ],
            &dir.join("6to4-a.log"),
        )
        .unwrap();
    let mut pb = b
        .spawn(
            BIN,
            &[
                "--mode",
                "6to4",
                "--local",
                "10.97.50.2",
                "--addr",
                "2002:a61:3202::1/16",
                "--ifname",
                "rp6to40",
                "--duration",
                "12",
            ],
            &dir.join("6to4-b.log"),
        )
        .unwrap();
    pa.wait_log("gre-tunnel:", Duration::from_secs(10)).unwrap();
    pb.wait_log("gre-tunnel:", Duration::from_secs(10)).unwrap();
    wait_dad(&a);
    wait_dad(&b);
    let out = a
        .exec(
            "ping",
            &["-6", "-c", "3", "-i", "0.3", "-W", "3", "2002:a61:3202::1"],
        )
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("from 2002:a61:3202::1"),
        "6to4 ping failed:\n{text}\n{}\n{}",
        pa.log_text(),
        pb.log_text()
    );
    wait_exit(&mut pa, Duration::from_secs(30));
    wait_exit(&mut pb, Duration::from_secs(30));
    let stats = pb.log_text();
    assert!(!stats.contains("rx_packets: 0,"), "{stats}");
}
