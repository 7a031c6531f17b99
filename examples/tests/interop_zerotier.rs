//! Interop: the `zerotier` example (sans-IO `zerotier` crate on UDP sockets) against real
//! ZeroTierOne 1.14.1 nodes (`../shared/interop/zerotier`, built from the upstream tag).
//!
//! 1. `our_leaf_with_real_root_and_member`: `zt-lab.sh up` (private planet: root 74beb2463d
//!    with its controller, members a and b) plus namespace zt-x for our node. Our node, told
//!    to ECHO member a every 500 ms, must: complete HELLO with the real root (`online`), resolve
//!    a by WHOIS at the root, get its first ECHO answered through the root (reply with hops 1),
//!    receive the root's RENDEZVOUS and confirm a direct path to 10.97.1.2:9993, then get ECHO
//!    replies directly (hops 0); after we push our secondary port as a direct path, a sends
//!    *its* ECHO there and we answer it (`echo-answered`). The root's and a's own APIs must list
//!    our address as a LEAF with a path at 10.97.3.2.
//! 2. `real_node_takes_our_node_as_root`: our node is the only root of a planet made by our
//!    own World code (`zerotier mkworld`, signed with a key the test creates); a stock
//!    `zerotier-one` given that planet comes ONLINE through us: its API reports the planet ID,
//!    ONLINE, and our address with role PLANET; our node logs its HELLO (1.14.1, protocol 12)
//!    and a confirmed path.
//! 3. `our_member_on_the_real_controller` (VL2): `zt-lab.sh up` as in 1; the test authorizes
//!    our address on network 74beb2463d000097 at the real controller; our node joins it with
//!    a TAP device in zt-x, must get status OK and an address from 10.97.100.0/24, and the
//!    kernel pings member a (10.97.100.109) through our TAP, and a pings us back; our TAP
//!    counters must show frames both ways.
//! 4. `real_member_on_our_controller` (VL2): our node is root and controller (network
//!    `ADDR << 24 | 0x000042`, private, ip-range 10.98.1.10-10.98.1.20) in one namespace; our
//!    member (second process, its own port and a TAP) and a stock `zerotier-one` (in a second
//!    namespace, joined through its local API) are authorized there. The stock node must
//!    report the network OK with an address from our range, and ping our member through its
//!    own tap and ours; our controller must log the configs it issued.
//!
//! Each test stops what it started by PID and deletes its namespaces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use examples::interop::{have_program, peer_available, run, scratch_dir, veth, Netns, Proc};

static LOCK: Mutex<()> = Mutex::new(());
const MEMBER_A: &str = "67681252b5";
const ROOT: &str = "74beb2463d";
const STATE: &str = "/var/lib/zt-lab-rosproto";

fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop/zerotier")
}
fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/zerotier")
}
fn zt_bin() -> PathBuf {
    lab_dir().join("bin/zerotier-one")
}

fn available() -> Result<(), String> {
    for p in ["ip", "curl", "jq", "ping", "sysctl"] {
        have_program(p)?;
    }
    if !zt_bin().exists() {
        return Err(format!("{} missing", zt_bin().display()));
    }
    run(zt_bin().to_str().unwrap(), &["-v"]).map(|_| ())
}

fn ours() -> &'static str {
    env!("CARGO_BIN_EXE_zerotier")
}

/// Start a program inside an existing namespace (not owned by us), logging to `log`.
fn spawn_in(ns: &str, args: &[&str], log: &Path) -> Proc {
    let f = std::fs::File::create(log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    Proc {
        child,
        log: log.to_path_buf(),
    }
}

/// GET a node's local API inside its namespace.
fn api(ns: &str, token_file: &Path, path: &str) -> serde_json::Value {
    let token = std::fs::read_to_string(token_file).unwrap_or_default();
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "curl", "-sS", "-m", "2", "-H"])
        .arg(format!("X-ZT1-Auth: {}", token.trim()))
        .arg(format!("http://127.0.0.1:9993{path}"))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn wait_json(
    what: &str,
    max: Duration,
    mut f: impl FnMut() -> Option<serde_json::Value>,
) -> serde_json::Value {
    let end = Instant::now() + max;
    let mut last = None;
    while Instant::now() < end {
        if let Some(v) = f() {
            return v;
        }
        last = Some(());
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what} ({last:?})");
}

/// `zt-lab.sh down --purge` on drop.
struct Lab;
impl Lab {
    fn up() -> Lab {
        let _ = Command::new(lab_dir().join("zt-lab.sh"))
            .args(["down", "--purge"])
            .env("ZT_STATE", STATE)
            .output();
        let t = Instant::now();
        let out = Command::new("timeout")
            .arg("90")
            .arg(lab_dir().join("zt-lab.sh"))
            .arg("up")
            .env("ZT_STATE", STATE)
            .env("ZT_EXTRA_NS", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.contains("OK: overlay ping a -> b works"),
            "zt-lab up failed:\n{text}"
        );
        eprintln!("zt-lab up in {:?}", t.elapsed());
        Lab
    }
}
impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(lab_dir().join("zt-lab.sh"))
            .args(["down", "--purge"])
            .env("ZT_STATE", STATE)
            .output();
    }
}

#[test]
fn our_leaf_with_real_root_and_member() {
    if !peer_available("ZeroTierOne 1.14.1 (zt-lab.sh)", available()) {
        return;
    }
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let dir = scratch_dir("zerotier-leaf");
    let id = dir.join("identity.secret");
    let _ = std::fs::remove_file(&id);
    let gen = run(ours(), &["generate-identity", id.to_str().unwrap()]).unwrap();
    let addr = String::from_utf8_lossy(&gen.stdout).trim().to_string();
    assert_eq!(addr.len(), 10);
    let lab = Lab::up();
    let node = spawn_in(
        "zt-x",
        &[
            ours(),
            "run",
            "--identity",
            id.to_str().unwrap(),
            "--planet",
            captures().join("planet").to_str().unwrap(),
            "--secondary-port",
            "29993",
            "--echo",
            MEMBER_A,
            "--echo-interval-ms",
            "500",
            "--push-path",
            "10.97.3.2:29993",
            "--pcap",
            dir.join("ours.pcap").to_str().unwrap(),
            "--duration",
            "40",
        ],
        &dir.join("ours.log"),
    );
    let w = Duration::from_secs(15);
    node.wait_log(&format!("address {addr} root false"), w)
        .unwrap();
    node.wait_log(&format!("path-confirmed {ROOT} 10.97.1.1:9993"), w)
        .unwrap();
    node.wait_log("] online", w).unwrap();
    node.wait_log(&format!("peer-hello {ROOT} proto 12 version 1.14.1"), w)
        .unwrap();
    node.wait_log(&format!("whois-resolved {MEMBER_A}"), w)
        .unwrap();
    node.wait_log(&format!("echo-reply {MEMBER_A} hops 1"), w)
        .unwrap();
    node.wait_log(&format!("rendezvous {MEMBER_A} 10.97.1.2:9993"), w)
        .unwrap();
    node.wait_log(&format!("path-confirmed {MEMBER_A} 10.97.1.2:9993"), w)
        .unwrap();
    node.wait_log(&format!("echo-reply {MEMBER_A} hops 0"), w)
        .unwrap();
    node.wait_log(
        &format!("echo-answered {MEMBER_A} from 10.97.1.2:9993 Secondary"),
        w,
    )
    .unwrap();
    // The order: relayed reply before the direct path, direct replies after it.
    let log = node.log_text();
    let pos = |s: &str| {
        log.find(s)
            .unwrap_or_else(|| panic!("{s} not in log:\n{log}"))
    };
    assert!(
        pos(&format!("echo-reply {MEMBER_A} hops 1"))
            < pos(&format!("echo-reply {MEMBER_A} hops 0"))
    );
    assert!(
        pos(&format!("path-confirmed {MEMBER_A}")) < pos(&format!("echo-reply {MEMBER_A} hops 0"))
    );

    // The real root and member see us.
    let state = Path::new(STATE);
    let rp = wait_json("root's peer entry for us", w, || {
        let v = api(
            "zt-root",
            &state.join("root/authtoken.secret"),
            &format!("/peer/{addr}"),
        );
        (v["role"] == "LEAF").then_some(v)
    });
    assert!(
        rp["paths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["address"] == "10.97.3.2/9993"),
        "{rp}"
    );
    let ap = wait_json("a's peer entry for us", w, || {
        let v = api(
            "zt-a",
            &state.join("a/authtoken.secret"),
            &format!("/peer/{addr}"),
        );
        v["paths"]
            .as_array()
            .is_some_and(|ps| {
                ps.iter().any(|p| {
                    p["address"]
                        .as_str()
                        .is_some_and(|a| a.starts_with("10.97.3.2/"))
                })
            })
            .then_some(v)
    });
    assert_eq!(ap["versionMajor"], 1, "{ap}");
    drop(node);
    let log = std::fs::read_to_string(dir.join("ours.log")).unwrap();
    // per-datagram drops are logged at debug; the info summary names the reason too
    assert!(!log.contains("BadMac"), "{log}");
    drop(lab);
    eprintln!("our_leaf_with_real_root_and_member: {:?}", t0.elapsed());
}

#[test]
fn real_node_takes_our_node_as_root() {
    if !peer_available("ZeroTierOne 1.14.1", available()) {
        return;
    }
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let dir = scratch_dir("zerotier-root");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let id = dir.join("root.secret");
    let gen = run(ours(), &["generate-identity", id.to_str().unwrap()]).unwrap();
    let addr = String::from_utf8_lossy(&gen.stdout).trim().to_string();
    let planet = dir.join("planet");
    let key = dir.join("signing.c25519");
    run(
        ours(),
        &[
            "mkworld",
            "--root-identity",
            id.to_str().unwrap(),
            "--endpoint",
            "10.97.9.1/9993",
            "--id",
            "680999",
            "--ts",
            "1700000000001",
            "--signing-key",
            key.to_str().unwrap(),
            "--out",
            planet.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert_eq!(std::fs::read(&key).unwrap().len(), 128);

    let nr = Netns::new("rpzt-root").unwrap();
    let nl = Netns::new("rpzt-leaf").unwrap();
    veth(&nr, "rpztr", "10.97.9.1/24", &nl, "rpztl", "10.97.9.2/24").unwrap();
    let ours_proc = nr
        .spawn(
            ours(),
            &[
                "run",
                "--identity",
                id.to_str().unwrap(),
                "--planet",
                planet.to_str().unwrap(),
                "--pcap",
                dir.join("root.pcap").to_str().unwrap(),
                "--duration",
                "40",
            ],
            &dir.join("root.log"),
        )
        .unwrap();
    ours_proc
        .wait_log(
            &format!("address {addr} root true"),
            Duration::from_secs(10),
        )
        .unwrap();

    let home = dir.join("leaf-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::copy(&planet, home.join("planet")).unwrap();
    std::fs::write(
        home.join("local.conf"),
        r#"{"settings":{"allowTcpFallbackRelay":false,"portMappingEnabled":false,"allowSecondaryPort":false}}"#,
    )
    .unwrap();
    let leaf = nl
        .spawn(
            zt_bin().to_str().unwrap(),
            &["-U", home.to_str().unwrap()],
            &dir.join("leaf.log"),
        )
        .unwrap();
    let w = Duration::from_secs(20);
    let status = wait_json("the stock node ONLINE through our root", w, || {
        let v = api("rpzt-leaf", &home.join("authtoken.secret"), "/status");
        (v["online"] == true).then_some(v)
    });
    assert_eq!(status["planetWorldId"], 680999, "{status}");
    assert_eq!(
        status["planetWorldTimestamp"], 1_700_000_000_001u64,
        "{status}"
    );
    let leaf_addr = status["address"].as_str().unwrap().to_string();
    let peer = wait_json("our root in the stock node's peer list", w, || {
        let v = api(
            "rpzt-leaf",
            &home.join("authtoken.secret"),
            &format!("/peer/{addr}"),
        );
        (v["role"] == "PLANET").then_some(v)
    });
    assert!(
        peer["paths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["address"] == "10.97.9.1/9993"),
        "{peer}"
    );
    ours_proc
        .wait_log(
            &format!("peer-hello {leaf_addr} proto 12 version 1.14.1"),
            w,
        )
        .unwrap();
    ours_proc
        .wait_log(&format!("path-confirmed {leaf_addr} 10.97.9.2:9993"), w)
        .unwrap();
    drop(leaf);
    drop(ours_proc);
    drop(nl);
    drop(nr);
    let _ = std::fs::remove_dir_all(&home);
    eprintln!("real_node_takes_our_node_as_root: {:?}", t0.elapsed());
}

const LAB_NWID: &str = "74beb2463d000097";
const MEMBER_A_IP: &str = "10.97.100.109";

/// The first managed address (without its prefix length) in our node's
/// `network-configured NWID ... addresses A/B,...` line.
fn configured_ip(log: &str, nwid: &str) -> Option<String> {
    let line = log
        .lines()
        .find(|l| l.contains(&format!("network-configured {nwid} ")))?;
    let rest = line.split(" addresses ").nth(1)?;
    let first = rest.split([' ', ',']).next()?;
    Some(first.split('/').next()?.to_string())
}

/// `ping -c 3` from namespace `ns` to `ip`, retried (ARP and the first path can take a few
/// rounds); the ping output of the first success.
fn ping_from(ns: &str, ip: &str, tries: usize) -> Result<String, String> {
    let mut last = String::new();
    for _ in 0..tries {
        let out = Command::new("ip")
            .args([
                "netns", "exec", ns, "ping", "-c", "3", "-i", "0.3", "-W", "2", ip,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        last = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            return Ok(last);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(format!("ping {ip} from {ns} failed:\n{last}"))
}

/// `tap NAME tx N rx M dropped D` from the final counters.
fn tap_counts(log: &str) -> (u64, u64) {
    let line = log
        .lines()
        .rev()
        .find(|l| l.starts_with("tap ") && l.contains(" tx "))
        .unwrap_or_else(|| panic!("no tap counters in log:\n{log}"));
    let w: Vec<&str> = line.split_whitespace().collect();
    let num = |k: &str| -> u64 {
        w.iter()
            .position(|x| *x == k)
            .and_then(|i| w.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (num("tx"), num("rx"))
}

#[test]
fn our_member_on_the_real_controller() {
    if !peer_available("ZeroTierOne 1.14.1 (zt-lab.sh)", available()) {
        return;
    }
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let dir = scratch_dir("zerotier-member");
    let id = dir.join("identity.secret");
    let _ = std::fs::remove_file(&id);
    let gen = run(ours(), &["generate-identity", id.to_str().unwrap()]).unwrap();
    let addr = String::from_utf8_lossy(&gen.stdout).trim().to_string();
    let lab = Lab::up();
    let auth = Command::new(lab_dir().join("zt-lab.sh"))
        .args(["authorize", &addr])
        .env("ZT_STATE", STATE)
        .output()
        .unwrap();
    assert!(
        auth.status.success(),
        "authorize: {}",
        String::from_utf8_lossy(&auth.stderr)
    );
    let node = spawn_in(
        "zt-x",
        &[
            ours(),
            "run",
            "--identity",
            id.to_str().unwrap(),
            "--planet",
            captures().join("planet").to_str().unwrap(),
            "--join",
            LAB_NWID,
            "--tap",
            "ztx0",
            "--pcap",
            dir.join("member.pcap").to_str().unwrap(),
            "--duration",
            "90",
        ],
        &dir.join("member.log"),
    );
    let w = Duration::from_secs(30);
    node.wait_log(&format!("network-status {LAB_NWID} Ok"), w)
        .unwrap();
    node.wait_log("tap ztx0 up", w).unwrap();
    let ip = configured_ip(&node.log_text(), LAB_NWID).expect("a managed address");
    assert!(ip.starts_with("10.97.100."), "{ip}");
    // The real controller's record of us.
    let state = Path::new(STATE);
    let m = api(
        "zt-root",
        &state.join("root/authtoken.secret"),
        &format!("/controller/network/{LAB_NWID}/member/{addr}"),
    );
    assert_eq!(m["authorized"], true, "{m}");
    assert!(
        m["ipAssignments"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == ip.as_str())),
        "{m}"
    );
    // The kernel pings member a through our TAP, and a pings us.
    let out = ping_from("zt-x", MEMBER_A_IP, 8).unwrap();
    assert!(out.contains("3 received"), "{out}");
    let out = ping_from("zt-a", &ip, 5).unwrap();
    assert!(out.contains("3 received"), "{out}");
    let log = node.stop(Duration::from_secs(5));
    let (tx, rx) = tap_counts(&log);
    assert!(tx >= 6 && rx >= 6, "tap tx {tx} rx {rx}:\n{log}");
    assert!(!log.contains("BadMac"), "{log}");
    drop(lab);
    eprintln!("our_member_on_the_real_controller: {:?}", t0.elapsed());
}

#[test]
fn real_member_on_our_controller() {
    if !peer_available("ZeroTierOne 1.14.1", available()) {
        return;
    }
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let dir = scratch_dir("zerotier-controller");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let gen_id = |name: &str| {
        let p = dir.join(name);
        let g = run(ours(), &["generate-identity", p.to_str().unwrap()]).unwrap();
        (p, String::from_utf8_lossy(&g.stdout).trim().to_string())
    };
    let (root_id, root_addr) = gen_id("root.secret");
    let (member_id, member_addr) = gen_id("member.secret");
    // The stock node's identity, made by its own idtool so the controller can authorize it.
    let home = dir.join("leaf-home");
    std::fs::create_dir_all(&home).unwrap();
    // (`zerotier-one -i` is its idtool personality.)
    run(
        zt_bin().to_str().unwrap(),
        &[
            "-i",
            "generate",
            home.join("identity.secret").to_str().unwrap(),
            home.join("identity.public").to_str().unwrap(),
        ],
    )
    .unwrap();
    let leaf_addr =
        std::fs::read_to_string(home.join("identity.public")).unwrap()[..10].to_string();
    let planet = dir.join("planet");
    run(
        ours(),
        &[
            "mkworld",
            "--root-identity",
            root_id.to_str().unwrap(),
            "--endpoint",
            "10.97.8.1/9993",
            "--id",
            "680998",
            "--ts",
            "1700000000002",
            "--signing-key",
            dir.join("signing.c25519").to_str().unwrap(),
            "--out",
            planet.to_str().unwrap(),
        ],
    )
    .unwrap();
    let nwid = format!("{root_addr}000042");

    let nr = Netns::new("zcrt-root").unwrap();
    let nl = Netns::new("zcrt-leaf").unwrap();
    veth(&nr, "zcrtr", "10.97.8.1/24", &nl, "zcrtl", "10.97.8.2/24").unwrap();
    let ctl = nr
        .spawn(
            ours(),
            &[
                "run",
                "--identity",
                root_id.to_str().unwrap(),
                "--planet",
                planet.to_str().unwrap(),
                "--controller-network",
                "66",
                "--name",
                "interop",
                "--ip-range",
                "10.98.1.10-10.98.1.20",
                "--routes",
                "10.98.1.0/24",
                "--member",
                &member_addr,
                "--member",
                &leaf_addr,
                "--pcap",
                dir.join("controller.pcap").to_str().unwrap(),
                "--duration",
                "90",
            ],
            &dir.join("controller.log"),
        )
        .unwrap();
    let w = Duration::from_secs(30);
    ctl.wait_log(&format!("controller: network {nwid}"), w)
        .unwrap();
    let member = nr
        .spawn(
            ours(),
            &[
                "run",
                "--identity",
                member_id.to_str().unwrap(),
                "--planet",
                planet.to_str().unwrap(),
                "--port",
                "19993",
                "--join",
                &nwid,
                "--tap",
                "zcrt0",
                "--pcap",
                dir.join("member.pcap").to_str().unwrap(),
                "--duration",
                "90",
            ],
            &dir.join("member.log"),
        )
        .unwrap();
    member
        .wait_log(&format!("network-status {nwid} Ok"), w)
        .unwrap();
    member.wait_log("tap zcrt0 up", w).unwrap();
    let member_ip = configured_ip(&member.log_text(), &nwid).expect("a managed address");
    assert!(member_ip.starts_with("10.98.1."), "{member_ip}");

    std::fs::copy(&planet, home.join("planet")).unwrap();
    std::fs::write(
        home.join("local.conf"),
        r#"{"settings":{"allowTcpFallbackRelay":false,"portMappingEnabled":false,"allowSecondaryPort":false}}"#,
    )
    .unwrap();
    let leaf = nl
        .spawn(
            zt_bin().to_str().unwrap(),
            &["-U", home.to_str().unwrap()],
            &dir.join("leaf.log"),
        )
        .unwrap();
    let token = home.join("authtoken.secret");
    wait_json("the stock node ONLINE through our root", w, || {
        let v = api("zcrt-leaf", &token, "/status");
        (v["online"] == true).then_some(v)
    });
    // Join through the stock node's local API.
    let tok = std::fs::read_to_string(&token).unwrap();
    let out = nl
        .exec(
            "curl",
            &[
                "-sS",
                "-m",
                "2",
                "-X",
                "POST",
                "-H",
                &format!("X-ZT1-Auth: {}", tok.trim()),
                "-d",
                "{}",
                &format!("http://127.0.0.1:9993/network/{nwid}"),
            ],
        )
        .unwrap();
    assert!(out.status.success(), "join: {out:?}");
    let net = wait_json("the stock node's network OK with an address", w, || {
        let v = api("zcrt-leaf", &token, &format!("/network/{nwid}"));
        (v["status"] == "OK"
            && v["assignedAddresses"]
                .as_array()
                .is_some_and(|a| !a.is_empty()))
        .then_some(v)
    });
    let leaf_ip = net["assignedAddresses"][0]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(leaf_ip.starts_with("10.98.1."), "{net}");
    assert_ne!(leaf_ip, member_ip);
    assert_eq!(net["mtu"], 2800, "{net}");
    assert_eq!(net["type"], "PRIVATE", "{net}");
    assert_eq!(net["name"], "interop", "{net}");
    ctl.wait_log(&format!("config-issued {nwid} {leaf_addr}"), w)
        .unwrap();
    ctl.wait_log(&format!("config-issued {nwid} {member_addr}"), w)
        .unwrap();
    // The stock node pings our member (its tap -> VL2 -> our TAP), and back.
    let out = ping_from("zcrt-leaf", &member_ip, 8).unwrap();
    assert!(out.contains("3 received"), "{out}");
    let out = ping_from("zcrt-root", &leaf_ip, 5).unwrap();
    assert!(out.contains("3 received"), "{out}");
    let mlog = member.stop(Duration::from_secs(5));
    let (tx, rx) = tap_counts(&mlog);
    assert!(tx >= 6 && rx >= 6, "tap tx {tx} rx {rx}:\n{mlog}");
    let clog = ctl.stop(Duration::from_secs(5));
    assert!(
        clog.contains(&format!(
            "controller-member {nwid} {leaf_addr} authorized true ip [{leaf_ip}]"
        )),
        "{clog}"
    );
    drop(leaf);
    drop(nl);
    drop(nr);
    let _ = std::fs::remove_dir_all(&home);
    eprintln!("real_member_on_our_controller: {:?}", t0.elapsed());
}
