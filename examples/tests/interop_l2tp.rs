//! Interop: the `l2tp` crate's control plane (example `l2tp-ctl`) against xl2tpd 1.3.18 in both
//! roles, in namespaces `rp-l2tp-s` (10.97.30.1) and `rp-l2tp-c` (10.97.30.2).
//!
//! This host has no `/dev/ppp`, so xl2tpd's pppd exits right after ICCN and xl2tpd clears the
//! call with a CDN: the tests assert the whole control plane up to and including that CDN
//! (tunnel up on both sides, session up on both sides, CDN received and handled), from our
//! printed events and from xl2tpd's own log lines.
//!
//! `our_client_ppp_ping_through_kernel_lns_vm` runs the full L2TP + PPP path (example
//! `l2tp-client`) against the lab VM (`examples::lab_vm`: xl2tpd + pppd + kernel `l2tp_ppp`)
//! and pings the LNS's PPP address through the tunnel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use examples::interop::{have_program, peer_available, scratch_dir, veth, Netns, Proc};

const BIN: &str = env!("CARGO_BIN_EXE_l2tp-ctl");

fn lns_conf(dir: &Path, listen: &str) -> String {
    let opts = dir.join("options.xl2tpd");
    std::fs::write(&opts, "noauth\nnodefaultroute\nmtu 1400\nmru 1400\n").unwrap();
    format!(
        "[global]\nlisten-addr = {listen}\nport = 1701\naccess control = no\ndebug avp = yes\ndebug state = yes\ndebug tunnel = yes\n\
         [lns default]\nip range = 10.97.31.10-10.97.31.20\nlocal ip = 10.97.31.1\nrequire authentication = no\nname = rp-xl2tpd-lns\npppoptfile = {}\nlength bit = yes\n",
        opts.display()
    )
}

/// The two tests share the namespace names: run them one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn setup() -> Option<(Netns, Netns)> {
    if !peer_available("xl2tpd", have_program("xl2tpd")) {
        return None;
    }
    let s = Netns::new("rp-l2tp-s").unwrap();
    let c = Netns::new("rp-l2tp-c").unwrap();
    veth(&s, "l2s0", "10.97.30.1/24", &c, "l2c0", "10.97.30.2/24").unwrap();
    Some((s, c))
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

#[test]
fn our_lac_against_xl2tpd_lns() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((s, c)) = setup() else { return };
    let dir = scratch_dir("interop_l2tp_lac");
    let conf = dir.join("lns.conf");
    std::fs::write(&conf, lns_conf(&dir, "10.97.30.1")).unwrap();
    let lns = s
        .spawn(
            "xl2tpd",
            &[
                "-D",
                "-c",
                conf.to_str().unwrap(),
                "-p",
                dir.join("xl2tpd.pid").to_str().unwrap(),
                "-C",
                dir.join("l2tp-control").to_str().unwrap(),
            ],
            &dir.join("xl2tpd.log"),
        )
        .unwrap();
    lns.wait_log(
        "Listening on IP address 10.97.30.1",
        Duration::from_secs(10),
    )
    .unwrap();
    let mut ours = c
        .spawn(
            BIN,
            &["lac", "10.97.30.1", "--hold", "6"],
            &dir.join("ours.log"),
        )
        .unwrap();
    ours.wait_log("SESSION UP", Duration::from_secs(15))
        .unwrap();
    // xl2tpd's own view: the tunnel and the call were established with our ids.
    lns.wait_log("Connection established", Duration::from_secs(5))
        .unwrap();
    lns.wait_log("Call established", Duration::from_secs(5))
        .unwrap();
    // pppd cannot run here; xl2tpd clears the call with a CDN, which we handle and then close.
    ours.wait_log("SESSION DOWN", Duration::from_secs(15))
        .unwrap();
    wait_exit(&mut ours, Duration::from_secs(20));
    let log = ours.log_text();
    assert!(log.contains("TUNNEL UP"), "{log}");
    // xl2tpd reports the host name of the machine (`hostname`), not the section name.
    assert!(log.contains("peer_host="), "{log}");
    assert!(log.contains("RX CDN"), "{log}");
    assert!(!log.contains("DROP"), "{log}");
    assert!(log.contains("TX StopCCN"), "{log}");
    drop(lns);
}

#[test]
fn xl2tpd_lac_against_our_lns() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((s, c)) = setup() else { return };
    let dir = scratch_dir("interop_l2tp_lns");
    let ours = s
        .spawn(
            BIN,
            &["lns", "10.97.30.1", "--hold", "12"],
            &dir.join("ours.log"),
        )
        .unwrap();
    ours.wait_log("LISTEN", Duration::from_secs(5)).unwrap();
    let opts = dir.join("options.xl2tpd");
    std::fs::write(&opts, "noauth\nnodefaultroute\nmtu 1400\nmru 1400\n").unwrap();
    let conf = dir.join("lac.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]\nlisten-addr = 10.97.30.2\nport = 1701\n[lac rustlns]\nlns = 10.97.30.1\npppoptfile = {}\nlength bit = yes\n",
            opts.display()
        ),
    )
    .unwrap();
    let pipe = dir.join("l2tp-control");
    let _ = std::fs::remove_file(&pipe);
    let lac = c
        .spawn(
            "xl2tpd",
            &[
                "-D",
                "-c",
                conf.to_str().unwrap(),
                "-p",
                dir.join("xl2tpd.pid").to_str().unwrap(),
                "-C",
                pipe.to_str().unwrap(),
            ],
            &dir.join("xl2tpd.log"),
        )
        .unwrap();
    lac.wait_log(
        "Listening on IP address 10.97.30.2",
        Duration::from_secs(10),
    )
    .unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while !pipe.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(&pipe, "c rustlns\n").unwrap();
    ours.wait_log("SESSION UP", Duration::from_secs(15))
        .unwrap();
    lac.wait_log("Connection established", Duration::from_secs(5))
        .unwrap();
    lac.wait_log("Call established", Duration::from_secs(5))
        .unwrap();
    ours.wait_log("SESSION DOWN", Duration::from_secs(15))
        .unwrap();
    let log = ours.log_text();
    assert!(log.contains("TUNNEL UP"), "{log}");
    assert!(!log.contains("DROP"), "{log}");
    drop(lac);
}

/// Full L2TP + PPP against the lab VM's kernel stack: xl2tpd LNS + pppd (pppol2tp, kernel
/// `l2tp_ppp`) at 10.97.40.2 udp/1701. Our `l2tp-client` (in netns `rp-lab`) brings up the
/// tunnel, the session, LCP and IPCP and pings the LNS's PPP address 10.97.41.1 through the
/// tunnel (echo requests built in user space, replies decapsulated by our stack).
#[test]
fn our_client_ppp_ping_through_kernel_lns_vm() {
    use examples::lab_vm::{lab_available, LabOptions, LabVm, L2TP_PPP_LOCAL, NETNS};
    use std::process::{Command, Stdio};
    if !peer_available("lab VM (xl2tpd + pppd + kernel l2tp_ppp)", lab_available()) {
        return;
    }
    let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
    let dir = scratch_dir("interop_l2tp_vm");
    let log = dir.join("client.log");
    let pcap = dir.join("client.pcap");
    let f = std::fs::File::create(&log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", NETNS, env!("CARGO_BIN_EXE_l2tp-client")])
        .args([
            "10.97.40.2",
            "--ping",
            L2TP_PPP_LOCAL,
            "--count",
            "3",
            "--hold",
            "30",
            "--add-default-route",
            "--use-peer-dns",
            "--pcap",
            pcap.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let mut p = Proc { child, log };
    p.wait_log("IPCP UP", Duration::from_secs(30))
        .unwrap_or_else(|e| {
            panic!(
                "{e}\n{}\nguest: {}",
                p.log_text(),
                lab.guest_log("/var/log/ppp-l2tp.log")
            )
        });
    p.wait_log("PING REPLY from 10.97.41.1", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\n{}", p.log_text()));
    wait_exit(&mut p, Duration::from_secs(40));
    let text = p.log_text();
    assert!(text.contains("TUNNEL UP"), "{text}");
    assert!(text.contains("SESSION UP"), "{text}");
    assert!(text.contains("LCP UP"), "{text}");
    assert!(text.contains("IPCP UP local=10.97.41."), "{text}");
    assert!(text.contains("peer=10.97.41.1"), "{text}");
    assert!(
        text.matches("PING REPLY from 10.97.41.1").count() >= 3,
        "{text}"
    );
    assert!(text.contains("WOULD ROUTE default via ppp"), "{text}");
    assert!(text.contains("PCAP "), "{text}");
    // pppd on the guest saw the same addresses
    let ppp_log = lab.guest_log("/var/log/ppp-l2tp.log");
    assert!(
        ppp_log.contains("local  IP address 10.97.41.1"),
        "{ppp_log}"
    );
    // Phase 2, TUN mode: the host kernel's own ping (in netns rp-lab) through our client's TUN
    // device. No default route is added (only the /32 peer route of the TUN address).
    lab.restart_l2tp_lns().unwrap();
    let log2 = dir.join("client-tun.log");
    let f = std::fs::File::create(&log2).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", NETNS, env!("CARGO_BIN_EXE_l2tp-client")])
        .args(["10.97.40.2", "--tun", "rpl2tp0", "--hold", "25"])
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let mut p2 = Proc { child, log: log2 };
    p2.wait_log("TUN rpl2tp0 UP", Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", p2.log_text()));
    // the peer's ppp interface may come up a moment after IPCP: allow a few tries
    let mut ok = false;
    for _ in 0..5 {
        let out = Command::new("ip")
            .args([
                "netns", "exec", NETNS, "ping", "-c", "3", "-i", "0.3", "-W", "2",
            ])
            .arg(L2TP_PPP_LOCAL)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && text.contains("3 received") {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(ok, "kernel ping through the TUN failed\n{}", p2.log_text());
    let _ = p2.child.kill();
    let _ = p2.child.wait();
    drop(lab);
}

/// The two example binaries against each other in namespace `rp-l2tp-e` (loopback):
/// `l2tp-server` (pool, PPP secret, answers pings to its PPP address) and `l2tp-client`.
#[test]
fn example_client_against_example_server() {
    if !peer_available("root + network namespaces", Ok(())) {
        return;
    }
    let ns = Netns::new("rp-l2tp-e").unwrap();
    let dir = scratch_dir("interop_l2tp_examples");
    let srv = ns
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-server"),
            &[
                "127.0.0.1",
                "--user",
                "alice:pw1",
                "--pool",
                "10.97.41.30-10.97.41.31",
                "--hold",
                "30",
            ],
            &dir.join("server.log"),
        )
        .unwrap();
    srv.wait_log("LISTENING", Duration::from_secs(10)).unwrap();
    let mut cl = ns
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-client"),
            &[
                "127.0.0.1",
                "--user",
                "alice",
                "--password",
                "pw1",
                "--ping",
                "10.97.41.1",
                "--count",
                "3",
                "--hold",
                "20",
            ],
            &dir.join("client.log"),
        )
        .unwrap();
    wait_exit(&mut cl, Duration::from_secs(30));
    let c = cl.log_text();
    assert!(
        c.contains("IPCP UP local=10.97.41.30 peer=10.97.41.1"),
        "{c}"
    );
    assert!(c.matches("PING REPLY from 10.97.41.1").count() >= 3, "{c}");
    srv.wait_log("TunnelDown", Duration::from_secs(5)).unwrap();
    let s = srv.log_text();
    assert!(s.contains("AUTH OK alice"), "{s}");
    assert!(
        s.contains("IPCP UP local=10.97.41.1 peer=10.97.41.30"),
        "{s}"
    );
    drop(srv);
}
