//! Interop: the `gre-tunnel` example (sans-IO `gre-family` + TUN/TAP + raw/packet sockets)
//! against the Linux kernel's GRE, GRETAP (key 42), IPIP, ip6gre and ip6tnl in the project's
//! lab VM, and the kernel as a router on the path that reports "fragmentation needed" /
//! "packet too big" (ICMP error relay and path MTU).
//!
//! The example runs in the lab's host namespace `rp-lab` (10.97.40.1, fd00:97:40::1); the
//! guest (10.97.40.2, fd00:97:40::2) has `gre1` (inner 10.97.45.2/30), `gretap1` key 42
//! (10.97.46.2/24), `ipip1` (10.97.48.2/30), `ip6gre1` (10.97.49.2/30, fd00:97:49::2/64) and
//! `ip6tnl1` in mode any (10.97.51.2/30, fd00:97:51::2/64); both IPv6 tunnels send Linux's
//! default Tunnel Encapsulation Limit option. Evidence asserted for each tunnel: ping replies
//! from the guest's inner address through the tunnel (both inner families over IPv6), the
//! guest kernel's RX counter on its tunnel interface, and the example's own decapsulation
//! counter. A second run checks the Cisco-style keepalive of GRE and gre6 against the kernel
//! (which routes the inner keepalive back once forwarding is on). The third puts a tunnel end
//! behind the guest, on a link with MTU 1400: the guest kernel reports our too-big DF outer
//! packets, and the host's ping must see the relayed error with the exact tunnel MTU.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use examples::interop::{peer_available, require_tools, scratch_dir, Proc};
use examples::lab_vm::{
    lab_available, LabOptions, LabVm, GUEST_ADDR, GUEST_ADDR6, HOST_ADDR, HOST_ADDR6, NETNS, TAP,
};

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

fn ping_args(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", NETNS, "ping"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn ping(target: &str) -> String {
    ping_args(&["-c", "3", "-i", "0.3", "-W", "3", target])
}

fn host_ip(args: &[&str]) {
    let out = Command::new("ip")
        .arg("-n")
        .arg(NETNS)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn guest_rx_packets(lab: &LabVm, dev: &str) -> u64 {
    let out = lab
        .exec(&format!("cat /sys/class/net/{dev}/statistics/rx_packets"))
        .unwrap();
    out.trim().parse().unwrap_or(0)
}

/// One tunnel of the example against one guest interface.
struct Case {
    mode: &'static str,
    guest_dev: &'static str,
    extra: &'static [&'static str],
    /// Addresses of our device.
    addrs: &'static [&'static str],
    /// Guest inner addresses to ping through the tunnel.
    targets: &'static [&'static str],
    /// Outer addresses (IPv4 or IPv6 underlay).
    local: &'static str,
    remote: &'static str,
}

const CASES: [Case; 5] = [
    Case {
        mode: "gre",
        guest_dev: "gre1",
        extra: &[],
        addrs: &["10.97.45.1/30"],
        targets: &["10.97.45.2"],
        local: HOST_ADDR,
        remote: GUEST_ADDR,
    },
    Case {
        mode: "gretap",
        guest_dev: "gretap1",
        extra: &["--key", "42"],
        addrs: &["10.97.46.1/24"],
        targets: &["10.97.46.2"],
        local: HOST_ADDR,
        remote: GUEST_ADDR,
    },
    Case {
        mode: "ipip",
        guest_dev: "ipip1",
        extra: &[],
        addrs: &["10.97.48.1/30"],
        targets: &["10.97.48.2"],
        local: HOST_ADDR,
        remote: GUEST_ADDR,
    },
    Case {
        mode: "gre6",
        guest_dev: "ip6gre1",
        extra: &[],
        addrs: &["10.97.49.1/30", "fd00:97:49::1/64"],
        targets: &["10.97.49.2", "fd00:97:49::2"],
        local: HOST_ADDR6,
        remote: GUEST_ADDR6,
    },
    Case {
        mode: "ipipv6",
        guest_dev: "ip6tnl1",
        extra: &[],
        addrs: &["10.97.51.1/30", "fd00:97:51::1/64"],
        targets: &["10.97.51.2", "fd00:97:51::2"],
        local: HOST_ADDR6,
        remote: GUEST_ADDR6,
    },
];

/// Start the example for one tunnel type (it runs `secs` seconds).
fn start_case(c: &Case, secs: &str) -> Proc {
    let ifname = format!("rp{}0", c.mode);
    let pcap = scratch_dir("interop_gre_family").join(format!("{}.pcap", c.mode));
    let pcap_s = pcap.to_string_lossy().to_string();
    let mut args = vec![
        "--mode",
        c.mode,
        "--local",
        c.local,
        "--remote",
        c.remote,
        "--ifname",
        &ifname,
        "--keepalive",
        "0,0",
        "--duration",
        secs,
        "--pcap",
        &pcap_s,
    ];
    for a in c.addrs {
        args.extend_from_slice(&["--addr", a]);
    }
    args.extend_from_slice(c.extra);
    let p = spawn_tunnel(c.mode, &args);
    p.wait_log("gre-tunnel:", Duration::from_secs(10)).unwrap();
    p
}

/// Ping the guest through the tunnel (every inner family), return the outputs.
fn ping_case(c: &Case) -> Vec<(String, String)> {
    c.targets.iter().map(|t| (t.to_string(), ping(t))).collect()
}

/// After the example exited: the evidence for one tunnel.
fn check_case(lab: &LabVm, c: &Case, p: &mut Proc, pings: &[(String, String)], rx_before: u64) {
    let mode = c.mode;
    for (target, out) in pings {
        assert!(
            out.contains(" 0% packet loss") || out.contains(" 33% packet loss"),
            "{mode}: ping {target} through the tunnel failed:\n{out}\nlog:\n{}",
            p.log_text()
        );
        assert!(out.contains(&format!("from {target}")), "{mode}: {out}");
    }
    wait_exit(p, Duration::from_secs(30));
    let log = p.log_text();
    let rx_after = guest_rx_packets(lab, c.guest_dev);
    let want = 2 * c.targets.len() as u64;
    assert!(
        rx_after >= rx_before + want,
        "{mode}: guest {} rx {rx_before} -> {rx_after}",
        c.guest_dev
    );
    let stats = log
        .lines()
        .find(|l| l.starts_with("stats:"))
        .expect("stats line");
    assert!(!stats.contains("rx_packets: 0,"), "{mode}: {stats}");
    let pcap = scratch_dir("interop_gre_family").join(format!("{mode}.pcap"));
    assert!(std::fs::metadata(&pcap)
        .map(|m| m.len() > 24)
        .unwrap_or(false));
    eprintln!("{mode}: ok ({stats})");
}

#[test]
fn gre_gretap_ipip_gre6_ipipv6_and_icmp_with_the_linux_kernel() {
    let check = lab_available().and_then(|_| require_tools(&["ip", "ping"]));
    if !peer_available("lab VM (Linux kernel GRE/GRETAP/IPIP/ip6gre/ip6tnl)", check) {
        return;
    }
    let t0 = Instant::now();
    let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
    host_ip(&[
        "addr",
        "add",
        &format!("{HOST_ADDR6}/64"),
        "dev",
        TAP,
        "nodad",
    ]);

    // 1. Every tunnel type at once, each pinged in every inner family.
    let before: Vec<u64> = CASES
        .iter()
        .map(|c| guest_rx_packets(&lab, c.guest_dev))
        .collect();
    let mut procs: Vec<Proc> = CASES.iter().map(|c| start_case(c, "8")).collect();
    let pings: Vec<Vec<(String, String)>> = std::thread::scope(|s| {
        let hs: Vec<_> = CASES.iter().map(|c| s.spawn(|| ping_case(c))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, c) in CASES.iter().enumerate() {
        check_case(&lab, c, &mut procs[i], &pings[i], before[i]);
    }
    // the kernel's IPv6 tunnels put a Tunnel Encapsulation Limit option before the payload:
    // what we decapsulated came with it (a destination options header, next header 60)
    for mode in ["gre6", "ipipv6"] {
        let pcap =
            std::fs::read(scratch_dir("interop_gre_family").join(format!("{mode}.pcap"))).unwrap();
        let (_, frames) = netsim::pcap::parse(&pcap).unwrap();
        let from_kernel = frames
            .iter()
            .filter(|(_, f)| f.first().map(|b| b >> 4) == Some(6) && f.get(6) == Some(&60))
            .count();
        assert!(
            from_kernel >= 2,
            "{mode}: kernel packets with the TEL option: {from_kernel}"
        );
    }
    eprintln!("[gre] five tunnel types: {:.0?}", t0.elapsed());

    // 2. Cisco-style keepalive over IPv4 and IPv6: the kernel decapsulates our keepalive and
    // routes the inner packet (guest -> host, GRE type 0) back once it forwards and accepts a
    // local source address on the tunnel.
    lab.exec(
        "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.accept_local=1 \
         net.ipv4.conf.gre1.accept_local=1 net.ipv4.conf.all.rp_filter=0 \
         net.ipv4.conf.gre1.rp_filter=0 net.ipv6.conf.all.forwarding=1",
    )
    .unwrap();
    let ka = |name: &str, mode: &str, local: &str, remote: &str, addr: &str| {
        spawn_tunnel(
            name,
            &[
                "--mode",
                mode,
                "--local",
                local,
                "--remote",
                remote,
                "--addr",
                addr,
                "--ifname",
                &format!("rp{mode}ka0"),
                "--keepalive",
                "1,3",
                "--duration",
                "6",
            ],
        )
    };
    let mut p4 = ka(
        "gre-keepalive",
        "gre",
        HOST_ADDR,
        GUEST_ADDR,
        "10.97.45.1/30",
    );
    let mut p6 = ka(
        "gre6-keepalive",
        "gre6",
        HOST_ADDR6,
        GUEST_ADDR6,
        "10.97.49.1/30",
    );
    for p in [&mut p4, &mut p6] {
        wait_exit(p, Duration::from_secs(30));
        let log = p.log_text();
        assert!(
            log.contains("event: Up"),
            "keepalive never answered:\n{log}"
        );
        assert!(!log.contains("event: Down"), "{log}");
        assert!(!log.contains("rx_keepalives: 0,"), "{log}");
    }

    // 3. ICMP error relay and path MTU: a GRE / gre6 tunnel end in a guest namespace behind a
    // 1400-byte link; the guest kernel forwards and reports our oversize DF outer packets.
    icmp_relay_through_a_kernel_router(&lab);
    eprintln!("[gre] total with the lab VM: {:.0?}", t0.elapsed());
}

/// The guest becomes a router with a 1400-byte link to namespace `rpnet`, where its kernel
/// runs `gre2` (IPv4) and `ip6gre2` (IPv6) towards the host. Our pings with DF through our
/// tunnel leave as outer packets above 1400 bytes: the guest answers "fragmentation needed"
/// (mtu 1400) / "packet too big" (mtu 1400); the example learns the path MTU and relays the
/// error to the pinging host with the tunnel MTU (1400 - 24 = 1376, 1400 - 44 = 1356), and a
/// ping of exactly that size then goes through.
fn icmp_relay_through_a_kernel_router(lab: &LabVm) {
    lab.exec(
        "ip netns add rpnet && ip link add rpnet0 mtu 1400 type veth peer name rpnet1 mtu 1400 netns rpnet \
         && ip addr add 10.97.52.1/30 dev rpnet0 && ip addr add fd00:97:52::1/64 dev rpnet0 nodad \
         && ip link set rpnet0 up && ip -n rpnet link set lo up \
         && ip -n rpnet addr add 10.97.52.2/30 dev rpnet1 \
         && ip -n rpnet addr add fd00:97:52::2/64 dev rpnet1 nodad && ip -n rpnet link set rpnet1 up \
         && ip -n rpnet route add 10.97.40.0/24 via 10.97.52.1 \
         && ip -n rpnet -6 route add fd00:97:40::/64 via fd00:97:52::1 \
         && ip -n rpnet link add gre2 type gre local 10.97.52.2 remote 10.97.40.1 ttl 64 \
         && ip -n rpnet addr add 10.97.53.2/30 dev gre2 && ip -n rpnet link set gre2 up \
         && ip -n rpnet link add ip6gre2 type ip6gre local fd00:97:52::2 remote fd00:97:40::1 ttl 64 \
         && ip -n rpnet addr add fd00:97:55::2/64 dev ip6gre2 nodad && ip -n rpnet link set ip6gre2 up \
         && sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
    )
    .unwrap();
    host_ip(&["route", "add", "10.97.52.0/30", "via", GUEST_ADDR]);
    host_ip(&["-6", "route", "add", "fd00:97:52::/64", "via", GUEST_ADDR6]);
    let run = |name: &str, args: &[&str]| {
        let mut a = vec!["--keepalive", "0,0", "--duration", "8", "--ifname"];
        a.push(name);
        a.extend_from_slice(args);
        let p = spawn_tunnel(name, &a);
        p.wait_log("gre-tunnel:", Duration::from_secs(10)).unwrap();
        p
    };
    let mut g4 = run(
        "rpgrepmtu",
        &[
            "--mode",
            "gre",
            "--local",
            HOST_ADDR,
            "--remote",
            "10.97.52.2",
            "--addr",
            "10.97.53.1/30",
            "--dont-fragment",
            "inherit",
        ],
    );
    let mut g6 = run(
        "rpgre6pmtu",
        &[
            "--mode",
            "gre6",
            "--local",
            HOST_ADDR6,
            "--remote",
            "fd00:97:52::2",
            "--addr",
            "fd00:97:55::1/64",
        ],
    );
    // IPv4: 1400 + 28 inner, 1452 outer with DF
    let big4 = ping_args(&["-c", "1", "-W", "3", "-M", "do", "-s", "1400", "10.97.53.2"]);
    let fit4 = ping_args(&[
        "-c",
        "2",
        "-i",
        "0.3",
        "-W",
        "3",
        "-M",
        "do",
        "-s",
        "1348",
        "10.97.53.2",
    ]);
    let big6 = ping_args(&[
        "-6",
        "-c",
        "1",
        "-W",
        "3",
        "-M",
        "do",
        "-s",
        "1400",
        "fd00:97:55::2",
    ]);
    let fit6 = ping_args(&[
        "-6",
        "-c",
        "2",
        "-i",
        "0.3",
        "-W",
        "3",
        "-M",
        "do",
        "-s",
        "1308",
        "fd00:97:55::2",
    ]);
    wait_exit(&mut g4, Duration::from_secs(30));
    wait_exit(&mut g6, Duration::from_secs(30));
    let (l4, l6) = (g4.log_text(), g6.log_text());
    assert!(
        big4.contains("Frag needed and DF set (mtu = 1376)"),
        "the relayed IPv4 error reached ping:\n{big4}\n{l4}"
    );
    assert!(l4.contains("icmp: relayed a Ipv4 error"), "{l4}");
    assert!(l4.contains("MtuChanged { mtu: 1376 }"), "{l4}");
    assert!(
        fit4.contains(" 0% packet loss"),
        "1376-byte packets fit:\n{fit4}\n{l4}"
    );
    assert!(
        big6.contains("Packet too big: mtu=1356"),
        "the relayed ICMPv6 error reached ping:\n{big6}\n{l6}"
    );
    assert!(l6.contains("MtuChanged { mtu: 1356 }"), "{l6}");
    assert!(
        fit6.contains(" 0% packet loss"),
        "1356-byte packets fit:\n{fit6}\n{l6}"
    );
    eprintln!("[gre] ICMP relay: {}", big4.lines().nth(1).unwrap_or(""));
    eprintln!("[gre] ICMPv6 relay: {}", big6.lines().nth(1).unwrap_or(""));
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
/// in automatic mode): two `gre-tunnel` instances in namespaces `rpnet-gre-a`/`rpnet-gre-b` joined
/// by a veth (10.97.50.1/28 <-> 10.97.50.2/28), real raw sockets and TAP/TUN devices.
/// Evidence: EoIP keepalives bring both ends up, pings cross EoIP (10.97.50.17 -> .18) and
/// automatic 6to4 (2002:a61:3201::1 -> 2002:a61:3202::1, IPv4 destination derived from the
/// IPv6 address).
#[test]
fn eoip_and_6to4_between_two_instances_over_veth() {
    use examples::interop::{veth, Netns};
    if !peer_available(
        "root + network namespaces + ip, ping",
        require_tools(&["ip", "ping"]),
    ) {
        return;
    }
    let a = Netns::new("rpnet-gre-a").unwrap();
    let b = Netns::new("rpnet-gre-b").unwrap();
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
    // per-packet drops are logged at debug; the info summary names the reason too
    assert!(!pa.log_text().contains("TunnelIdMismatch"));

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
