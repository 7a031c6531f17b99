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
//!
//! `l2tp_ether_static_against_kernel_vm` runs static L2TPv3 Ethernet pseudowires (example
//! `l2tp-ether`, a TAP in netns `rp-lab`) against the VM's kernel `l2tp_eth` over UDP and over
//! IP protocol 115, with cookies, and pings across them (10.97.32.0/24, 10.97.33.0/24).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use examples::interop::{
    have_program, peer_available, require_tools, scratch_dir, veth, Netns, Proc,
};

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
    if !peer_available(
        "xl2tpd",
        have_program("xl2tpd").and_then(|_| require_tools(&["ip"])),
    ) {
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

/// Start our `l2tp-client` in the lab namespace with `args`, output to `log`.
fn lab_client(args: &[&str], log: std::path::PathBuf) -> Proc {
    use std::process::{Command, Stdio};
    let f = std::fs::File::create(&log).unwrap();
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            examples::lab_vm::NETNS,
            env!("CARGO_BIN_EXE_l2tp-client"),
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    Proc { child, log }
}

/// Full L2TP + PPP against the lab VM's kernel stack: xl2tpd LNS + pppd (pppol2tp, kernel
/// `l2tp_ppp`) at 10.97.40.2 udp/1701. Our `l2tp-client` (in netns `rp-lab`) brings up the
/// tunnel, the session, LCP and IPCP and pings the LNS's PPP address 10.97.41.1 through the
/// tunnel (echo requests built in user space, replies decapsulated by our stack); then the
/// host kernel's ping through our TUN; then one session per authentication method against
/// pppd offering EAP first (see `each_auth_method_against_pppd_offering_eap_first`).
#[test]
fn our_client_ppp_ping_through_kernel_lns_vm() {
    use examples::lab_vm::{lab_available, LabOptions, LabVm, L2TP_PPP_LOCAL, NETNS};
    use std::process::Command;
    if !peer_available("lab VM (xl2tpd + pppd + kernel l2tp_ppp)", lab_available()) {
        return;
    }
    let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
    let dir = scratch_dir("interop_l2tp_vm");
    let pcap = dir.join("client.pcap");
    let mut p = lab_client(
        &[
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
        ],
        dir.join("client.log"),
    );
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
    let mut p2 = lab_client(
        &["10.97.40.2", "--tun", "rpl2tp0", "--hold", "25"],
        dir.join("client-tun.log"),
    );
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
    // Phase 3 (same VM, a fresh LNS): `allow`, one method at a time, against pppd offering
    // EAP first.
    lab.restart_l2tp_lns().unwrap();
    each_auth_method_against_pppd_offering_eap_first(&lab);
    drop(lab);
}

/// `allow` of our L2TP client (issue 21) against pppd as the authenticator of the lab VM's
/// kernel LNS, which proposes EAP first (`require-eap` plus every CHAP flavour and PAP): for
/// each method the client allows, it Naks EAP towards that method (or takes EAP when it
/// allows it), authenticates, reaches IPCP and pings the LNS through the tunnel. pppd's own
/// log confirms its first proposal was EAP and names the method that succeeded.
fn each_auth_method_against_pppd_offering_eap_first(lab: &examples::lab_vm::LabVm) {
    use examples::lab_vm::{L2TP_PPP_LOCAL, PPP_PASSWORD, PPP_USER};
    lab.write_file(
        "/etc/ppp/options.xl2tpd",
        b"auth\nrequire-eap\nrequire-mschap-v2\nrequire-mschap\nrequire-chap\nrequire-pap\nname rplab-lns\nnodefaultroute\ndebug\nlcp-echo-interval 0\nlogfile /var/log/ppp-l2tp.log\n",
    )
    .unwrap();
    let dir = scratch_dir("interop_l2tp_vm_auth");
    // (our --allow, the method we must end up with, the Auth-Protocol pppd got acked, pppd's
    // verdict on the wire)
    let cases = [
        ("pap", "pap", "<auth pap>", "sent [PAP AuthAck"),
        ("chap", "chap", "<auth chap MD5>", "sent [CHAP Success"),
        ("mschap1", "mschap1", "<auth chap MS>", "sent [CHAP Success"),
        (
            "mschap2",
            "mschap2",
            "<auth chap MS-v2>",
            "sent [CHAP Success",
        ),
        ("eap,chap", "eap", "<auth eap>", "sent [EAP Success"),
    ];
    for (allow, want, acked, verdict) in cases {
        lab.exec(": > /var/log/ppp-l2tp.log").unwrap();
        let mut p = lab_client(
            &[
                "10.97.40.2",
                "--user",
                PPP_USER,
                "--password",
                PPP_PASSWORD,
                "--allow",
                allow,
                "--ping",
                L2TP_PPP_LOCAL,
                "--count",
                "1",
                "--hold",
                "20",
            ],
            dir.join(format!("client-{}.log", allow.replace(',', "-"))),
        );
        p.wait_log("PING REPLY from 10.97.41.1", Duration::from_secs(30))
            .unwrap_or_else(|e| {
                panic!(
                    "--allow {allow}: {e}\n{}\nguest: {}",
                    p.log_text(),
                    lab.guest_log("/var/log/ppp-l2tp.log")
                )
            });
        wait_exit(&mut p, Duration::from_secs(15));
        let text = p.log_text();
        assert!(
            text.contains(&format!("AUTH OK method={want}")),
            "--allow {allow}: {text}"
        );
        assert!(text.contains("IPCP UP local=10.97.41."), "{text}");
        let guest = lab.guest_log("/var/log/ppp-l2tp.log");
        // pppd proposed EAP first ...
        let first = guest
            .lines()
            .find(|l| l.contains("sent [LCP ConfReq"))
            .unwrap_or_default();
        assert!(
            first.contains("<auth eap>"),
            "--allow {allow}: first ConfReq {first}\n{guest}"
        );
        // ... got the method we allow acked, and authenticated us with it
        assert!(
            guest
                .lines()
                .any(|l| l.contains("rcvd [LCP ConfAck") && l.contains(acked)),
            "--allow {allow}: {guest}"
        );
        assert!(guest.contains(verdict), "--allow {allow}: {guest}");
    }
}

/// The two example binaries against each other in namespace `rp-l2tp-e` (loopback):
/// `l2tp-server` (pool, PPP secret, answers pings to its PPP address) and `l2tp-client`.
#[test]
fn example_client_against_example_server() {
    if !peer_available("root + network namespaces", require_tools(&["ip"])) {
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

/// `l2tp-server --tun` in namespace `rp-l2tp-g` (10.97.34.1) and `l2tp-client --tun` in
/// `rp-l2tp-h` (10.97.34.2): the host kernels' own pings cross both TUN devices and the L2TP
/// session, in both directions (client -> server's PPP address 10.97.41.1, answered by the
/// server namespace's kernel; server namespace -> the client's pool address 10.97.41.30).
#[test]
fn example_client_against_example_server_through_tuns() {
    if !peer_available("root + network namespaces", require_tools(&["ip", "ping"])) {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let s_ns = Netns::new("rp-l2tp-g").unwrap();
    let c_ns = Netns::new("rp-l2tp-h").unwrap();
    veth(
        &s_ns,
        "l2g0",
        "10.97.34.1/24",
        &c_ns,
        "l2h0",
        "10.97.34.2/24",
    )
    .unwrap();
    let dir = scratch_dir("interop_l2tp_examples_tun");
    let srv = s_ns
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-server"),
            &[
                "10.97.34.1",
                "--user",
                "alice:pw1",
                "--pool",
                "10.97.41.30-10.97.41.31",
                "--tun",
                "rpl2srv0",
                "--hold",
                "40",
            ],
            &dir.join("server.log"),
        )
        .unwrap();
    srv.wait_log("LISTENING", Duration::from_secs(10)).unwrap();
    let mut cl = c_ns
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-client"),
            &[
                "10.97.34.1",
                "--user",
                "alice",
                "--password",
                "pw1",
                "--tun",
                "rpl2cli0",
                "--hold",
                "25",
            ],
            &dir.join("client.log"),
        )
        .unwrap();
    cl.wait_log("TUN rpl2cli0 UP", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", cl.log_text(), srv.log_text()));
    srv.wait_log("ROUTE 10.97.41.30 ->", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log_text()));
    let ping = |ns: &Netns, to: &str| -> bool {
        for _ in 0..5 {
            let out = ns
                .exec("ping", &["-c", "3", "-i", "0.3", "-W", "2", to])
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            if out.status.success() && text.contains("3 received") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        false
    };
    assert!(
        ping(&c_ns, "10.97.41.1"),
        "client ns -> server PPP address\n{}\n{}",
        cl.log_text(),
        srv.log_text()
    );
    assert!(
        ping(&s_ns, "10.97.41.30"),
        "server ns -> client pool address\n{}\n{}",
        cl.log_text(),
        srv.log_text()
    );
    let _ = cl.child.kill();
    let _ = cl.child.wait();
    let s = srv.log_text();
    assert!(s.contains("AUTH OK alice"), "{s}");
    assert!(s.contains("TUN rpl2srv0 UP 10.97.41.1/32"), "{s}");
    drop(srv);
}

/// Managed L2TPv3 between our own binaries on real sockets, namespaces `rp-l2tp-i`
/// (10.97.35.1, `l2tp-v3 lns`: `server::Lns`) and `rp-l2tp-j` (10.97.35.2, `l2tp-v3 lcce`:
/// `v3::ControlConnectionV3`): over IP protocol 115 (raw sockets; `Lns::handle_input_ip`) and
/// over UDP, one control connection with three Ethernet pseudowire sessions (two incoming
/// calls, one outgoing call), Message Digest with nonces, 8/4-byte cookies, sublayer; five
/// test frames per session echoed back on the same session; then the first session's circuit
/// is reported down with a Set-Link-Info, seen by the LNS. (No third-party managed-L2TPv3 peer is available here.)
#[test]
fn example_v3_lcce_against_example_lns_ip_and_udp() {
    if !peer_available("root + network namespaces", require_tools(&["ip", "ping"])) {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let s_ns = Netns::new("rp-l2tp-i").unwrap();
    let c_ns = Netns::new("rp-l2tp-j").unwrap();
    veth(
        &s_ns,
        "l2i0",
        "10.97.35.1/24",
        &c_ns,
        "l2j0",
        "10.97.35.2/24",
    )
    .unwrap();
    let dir = scratch_dir("interop_l2tp_v3_examples");
    let bin = env!("CARGO_BIN_EXE_l2tp-v3");
    for enc in ["ip", "udp"] {
        let srv = s_ns
            .spawn(
                bin,
                &["lns", "10.97.35.1", "--encap", enc, "--hold", "15"],
                &dir.join(format!("lns-{enc}.log")),
            )
            .unwrap();
        srv.wait_log("LISTENING", Duration::from_secs(10)).unwrap();
        let mut cl = c_ns
            .spawn(
                bin,
                &[
                    "lcce",
                    "10.97.35.2",
                    "10.97.35.1",
                    "--encap",
                    enc,
                    "--sessions",
                    "3",
                    "--outgoing",
                    "1",
                    "--circuit-down",
                    "--frames",
                    "5",
                    "--hold",
                    "12",
                ],
                &dir.join(format!("lcce-{enc}.log")),
            )
            .unwrap();
        cl.wait_log("SUMMARY", Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{enc}: {e}\n{}\n{}", cl.log_text(), srv.log_text()));
        wait_exit(&mut cl, Duration::from_secs(5));
        let c = cl.log_text();
        assert!(
            c.contains("SUMMARY sessions_up=3 echoed=15 digest_failures=0 data_dropped=0"),
            "{enc}: {c}\n{}",
            srv.log_text()
        );
        assert_eq!(c.matches("ECHO session=").count(), 3, "{c}");
        // two incoming calls (ICRQ) and one outgoing call (OCRQ/OCRP/OCCN)
        assert_eq!(c.matches("outgoing=true").count(), 1, "{c}");
        assert_eq!(c.matches("outgoing=false").count(), 2, "{c}");
        let s = srv.log_text();
        assert_eq!(s.matches("V3 SESSION UP").count(), 3, "{enc}: {s}");
        assert!(s.contains("(sessions: 3)"), "{s}");
        // the first session's circuit went down: Set-Link-Info seen by the LNS
        assert!(c.contains("CIRCUIT DOWN"), "{c}");
        srv.wait_log("active: false", Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{enc}: {e}\n{}", srv.log_text()));
        assert!(srv.log_text().contains("PeerCircuitStatus"));
        drop(srv);
    }
}

/// One static L2TPv3 Ethernet pseudowire between the guest kernel (`ip l2tp`, `l2tp_eth`,
/// interface `guest_if`) and our `l2tp-ether` on a TAP in netns `rp-lab`; returns our log.
struct EtherCase {
    encap: &'static str,
    guest_tunnel: &'static str,
    guest_session: &'static str,
    guest_if: &'static str,
    guest_addr: &'static str,
    our_args: &'static [&'static str],
    our_addr: &'static str,
    ping: &'static str,
    tap: &'static str,
}

fn run_ether_case(lab: &examples::lab_vm::LabVm, c: &EtherCase, dir: &Path) -> String {
    use examples::lab_vm::NETNS;
    use std::process::{Command, Stdio};
    lab.exec(&format!(
        "modprobe l2tp_eth; modprobe l2tp_ip; {} && {} && ip link set {} up && ip addr add {} dev {} && echo GUEST-OK",
        c.guest_tunnel, c.guest_session, c.guest_if, c.guest_addr, c.guest_if
    ))
    .unwrap_or_else(|e| panic!("guest setup ({}): {e}", c.encap));
    let log = dir.join(format!("l2tp-ether-{}.log", c.encap));
    let f = std::fs::File::create(&log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", NETNS, env!("CARGO_BIN_EXE_l2tp-ether")])
        .args([
            "--local",
            "10.97.40.1",
            "--remote",
            "10.97.40.2",
            "--encap",
            c.encap,
        ])
        .args(c.our_args)
        .args(["--tap", c.tap, "--addr", c.our_addr, "--hold", "20"])
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let mut p = Proc { child, log };
    p.wait_log("READY", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", p.log_text()));
    let mut ok = false;
    let mut last = String::new();
    for _ in 0..5 {
        let out = Command::new("ip")
            .args([
                "netns", "exec", NETNS, "ping", "-c", "3", "-i", "0.3", "-W", "2",
            ])
            .arg(c.ping)
            .output()
            .unwrap();
        last = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && last.contains("3 received") {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let guest = lab
        .exec(&format!("ip -s link show {}", c.guest_if))
        .unwrap_or_default();
    let _ = p.child.kill();
    let _ = p.child.wait();
    let text = p.log_text();
    assert!(
        ok,
        "{}: ping {} through the pseudowire failed\n{last}\n{text}\nguest: {guest}",
        c.encap, c.ping
    );
    // The guest kernel's own counters: it received our frames and sent its answers.
    let rx_packets = guest
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("RX:"))
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(
        rx_packets >= 3,
        "{}: guest RX {rx_packets}\n{guest}",
        c.encap
    );
    assert!(text.contains("FIRST RX"), "{text}");
    text
}

/// L2TPv3 static Ethernet pseudowires ("L2TP Ether", unmanaged) against the Linux kernel in the
/// lab VM (`l2tp_core`/`l2tp_eth`/`l2tp_ip`, configured with `ip l2tp`), pinging across each:
/// over UDP with a 4-byte cookie one way and an 8-byte one the other, the default
/// L2-Specific Sublayer and kernel sequencing (`seq both`: the kernel numbers its frames and
/// checks ours); over IP protocol 115 with 8/4-byte cookies and no sublayer.
#[test]
fn l2tp_ether_static_against_kernel_vm() {
    use examples::lab_vm::{lab_available, LabOptions, LabVm};
    if !peer_available("lab VM (kernel l2tp_eth / l2tp_ip)", lab_available()) {
        return;
    }
    let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
    let dir = scratch_dir("interop_l2tp_ether_vm");
    // The kernel sends its `cookie` and expects `peer_cookie`; our --send-cookie is its
    // peer_cookie and our --peer-cookie its cookie. UDP ports 5001/5002 (xl2tpd owns 1701).
    let udp = run_ether_case(
        &lab,
        &EtherCase {
            encap: "udp",
            guest_tunnel: "ip l2tp add tunnel tunnel_id 10 peer_tunnel_id 20 encap udp local 10.97.40.2 remote 10.97.40.1 udp_sport 5001 udp_dport 5002",
            guest_session: "ip l2tp add session name l2tpeth9 tunnel_id 10 session_id 100 peer_session_id 200 cookie 0a0b0c0d peer_cookie 0102030405060708 l2spec_type default seq both",
            guest_if: "l2tpeth9",
            guest_addr: "10.97.32.2/24",
            our_args: &[
                "--local-port", "5002", "--remote-port", "5001",
                "--local-session", "200", "--remote-session", "100",
                "--send-cookie", "0102030405060708", "--peer-cookie", "0a0b0c0d",
                "--sublayer",
            ],
            our_addr: "10.97.32.1/24",
            ping: "10.97.32.2",
            tap: "rpl2eth0",
        },
        &dir,
    );
    // The kernel's default sublayer with `seq send`: S bit set and a sequence number (its
    // frames may start before our socket exists, so not necessarily 0); with `seq recv` it
    // accepted our numbering, or the ping above would have failed.
    assert!(
        udp.contains("sublayer sequence Ok(Some("),
        "kernel sublayer/sequence not as ours:\n{udp}"
    );
    let ip = run_ether_case(
        &lab,
        &EtherCase {
            encap: "ip",
            guest_tunnel: "ip l2tp add tunnel tunnel_id 11 peer_tunnel_id 21 encap ip local 10.97.40.2 remote 10.97.40.1",
            guest_session: "ip l2tp add session name l2tpeth8 tunnel_id 11 session_id 101 peer_session_id 201 cookie 1122334455667788 peer_cookie 99aabbcc l2spec_type none",
            guest_if: "l2tpeth8",
            guest_addr: "10.97.33.2/24",
            our_args: &[
                "--local-session", "201", "--remote-session", "101",
                "--send-cookie", "99aabbcc", "--peer-cookie", "1122334455667788",
            ],
            our_addr: "10.97.33.1/24",
            ping: "10.97.33.2",
            tap: "rpl2eth1",
        },
        &dir,
    );
    assert!(ip.contains("sublayer sequence Ok(None)"), "{ip}");
    drop(lab);
}
