//! PPPoE interop with rp-pppoe 3.15 (Debian `pppoe`), user space, on a veth between two
//! network namespaces of our own (`pppoei-s`, `pppoei-c`; no IP addresses on the veth).
//!
//! a. rp-pppoe's `pppoe -I <if>` client does discovery and the session on its own raw socket
//!    and passes PPP as async HDLC on its stdin/stdout (pppd's pty, normally); here that is a
//!    socketpair whose other end is our `ppp` client (the crate's HDLC codec). Peer: our
//!    `pppoe-server` example. PADI/PADO/PADR/PADS with rp-pppoe, MS-CHAPv2, IPCP, a ping to
//!    the server's PPP address answered, then a PADT from rp-pppoe when its stdin closes.
//! b. Our `pppoe-client` example against rp-pppoe's `pppoe-server -q <prog>`, where `prog` is
//!    our `ppp-stdio-pppoe` (our `ppp` server in place of pppd: it runs the `pty` command
//!    pppoe-server hands it, rp-pppoe's session helper, and speaks HDLC on its pipes).
//!
//! No kernel PPP is needed for a. and b. (and none is used). Root and rp-pppoe are required;
//! without them the tests skip loudly (and fail under CI=true).
//!
//! c. Real pppd on kernel PPP, in the project's lab VM (`examples/interop/lab-vm`, one boot;
//!    our ends run in the host-side namespace `rp-lab` on the tap `rplabtap0`, AF_PACKET):
//!    1. our `pppoe-client` example against rp-pppoe's `pppoe-server` in the guest, whose
//!       sessions run the real pppd (`/dev/ppp`) as the MS-CHAPv2 authenticator; ICMP echoes
//!       answered by the guest kernel through `ppp0`. Debian's `pppoe-server` 3.15 is built
//!       without kernel-mode support (no `-k` in its options), so the session's PPPoE framing
//!       is rp-pppoe's `pppoe` helper on pppd's pty here;
//!    2. hence the kernel's own PPPoE (`pppoe.ko`, `AF_PPPOX` sessions) from the other side:
//!       pppd with its `rp-pppoe.so` plugin as the client in the guest against our
//!       `pppoe-server` example. The session shows in the guest's `/proc/net/pppoe`, and the
//!       guest pings our server's PPP address through it.
//!
//!    Set `RPLAB_ART` for a private artefact directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use examples::interop::{
    have_program, is_root, peer_available, require_tools, run, scratch_dir, veth_link, Netns,
};
use ppp::wire::hdlc;

const NS_S: &str = "pppoei-s";
const NS_C: &str = "pppoei-c";
const IF_S: &str = "pxs0";
const IF_C: &str = "pxc0";

fn available() -> bool {
    let check = if is_root() {
        // `ip` builds the namespaces and the veth pair: without it a loud skip, not a panic.
        have_program("pppoe")
            .and_then(|_| have_program("pppoe-server"))
            .and_then(|_| require_tools(&["ip"]))
    } else {
        Err("needs root (network namespaces, raw sockets)".into())
    };
    peer_available("rp-pppoe 3.15 (pppoe, pppoe-server) + ip", check)
}

/// Two namespaces joined by a veth pair (no addresses: PPPoE is pure layer 2).
fn topology(tag: &str) -> (Netns, Netns) {
    let s = Netns::new(&format!("{NS_S}{tag}")).unwrap();
    let c = Netns::new(&format!("{NS_C}{tag}")).unwrap();
    veth_link(&s, IF_S, &c, IF_C).unwrap();
    (s, c)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn rp_pppoe_client_with_our_ppp_against_our_pppoe_server_mschapv2_ipcp_ping_padt() {
    if !available() {
        return;
    }
    let t = Instant::now();
    let dir = scratch_dir("pppoe-a");
    let (s, c) = topology("a");
    let server = s
        .spawn(
            env!("CARGO_BIN_EXE_pppoe-server"),
            &[
                "--interface",
                IF_S,
                "--ac-name",
                "rosproto-ac",
                "--service-name",
                "rosproto-svc",
                "--user",
                "alice:pppoe-interop-pw",
                "--authentication",
                "mschap2",
                "--local",
                "10.233.0.1",
                "--pool",
                "10.233.0.10-10.233.0.20",
                "--duration",
                "60",
            ],
            &dir.join("server.log"),
        )
        .unwrap();
    server
        .wait_log("LISTENING", Duration::from_secs(10))
        .unwrap();

    // rp-pppoe's client, PPP on a socketpair; -W sets its Host-Uniq (we look for it at the AC),
    // -D logs every discovery and session packet it sends and receives.
    let host_uniq = "rosproto-hu";
    let debug_log = dir.join("pppoe-debug.log");
    let _ = std::fs::remove_file(&debug_log);
    let (mine, theirs) = UnixStream::pair().unwrap();
    mine.set_nonblocking(true).unwrap();
    let stderr_log = dir.join("pppoe.stderr");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &c.name, "pppoe", "-I", IF_C])
        .args(["-S", "rosproto-svc", "-C", "rosproto-ac", "-W", host_uniq])
        .args(["-D", debug_log.to_str().unwrap()])
        .stdin(Stdio::from(OwnedFd::from(theirs.try_clone().unwrap())))
        .stdout(Stdio::from(OwnedFd::from(theirs)))
        .stderr(std::fs::File::create(&stderr_log).unwrap())
        .spawn()
        .unwrap();

    // Our PPP client (async HDLC, as pppd on a pty would speak to rp-pppoe).
    let t0 = Instant::now();
    let mut pcfg = ppp::Config::serial();
    pcfg.user = "alice".into();
    pcfg.password = "pppoe-interop-pw".into();
    pcfg.max_mru = 1492;
    pcfg.max_mtu = 1492;
    let mut ppp = ppp::Session::new(pcfg, ppp::Role::Client, t0, netsim::TestRng::new(7)).unwrap();
    ppp.open(t0);
    let mut mine = mine;
    let mut deframer = hdlc::Deframer::new(4096);
    let mut buf = [0u8; 8192];
    let mut local = None;
    let mut auth_ok = false;
    let mut ping_sent = false;
    let mut ping_replied = false;
    let deadline = t0 + Duration::from_secs(25);
    while Instant::now() < deadline && !ping_replied {
        let now = Instant::now();
        match mine.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => deframer.push(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        while let Some(f) = deframer.next_frame() {
            let Ok(f) = f else { continue };
            if let Ok(ppp::Input::Datagram {
                protocol: 0x0021,
                payload,
            }) = ppp.handle_frame(now, &f)
            {
                if payload.len() > 20 && payload[9] == 1 && payload[20] == 0 {
                    ping_replied = true;
                }
            }
        }
        if ppp.poll_timeout().is_some_and(|d| d <= now) {
            ppp.handle_timeout(now);
        }
        while let Some(e) = ppp.poll_event() {
            match e {
                ppp::Event::AuthSucceeded { .. } => auth_ok = true,
                ppp::Event::NetworkUp(i) => local = Some(i.local),
                _ => {}
            }
        }
        if let (Some(src), false) = (local, ping_sent) {
            let pkt = netsim::pcap::icmp4_echo(
                src.octets(),
                [10, 233, 0, 1],
                false,
                9,
                1,
                b"rp-pppoe interop",
            );
            let mut f = vec![0u8; 1600];
            let n = ppp.encapsulate(now, 0x0021, &pkt, &mut f).unwrap();
            let mut enc = Vec::new();
            hdlc::encode(&f[..n], ppp.tx_accm(0x0021), &mut enc);
            mine.write_all(&enc).unwrap();
            ping_sent = true;
        }
        while let Some(f) = ppp.poll_transmit_hdlc(now) {
            let _ = mine.write_all(&f);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed_up = t0.elapsed();
    // Hang up the way pppd's pty closing does: rp-pppoe sees EOF and sends a PADT.
    drop(mine);
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = run("kill", &["-TERM", &child.id().to_string()]);
    }
    let _ = child.wait();
    let closed = server.wait_log("CLOSED", Duration::from_secs(5));
    let slog = server.stop(Duration::from_secs(5));
    let dlog = std::fs::read_to_string(&debug_log).unwrap_or_default();
    let elog = std::fs::read_to_string(&stderr_log).unwrap_or_default();
    let ctx = format!(
        "server:\n{slog}\npppoe stderr:\n{elog}\npppoe -D (tail):\n{}",
        tail(&dlog)
    );

    // Discovery with rp-pppoe: its Host-Uniq (-W) in the PADI and PADR our AC received, the
    // PADR echoing our AC-Cookie; and rp-pppoe logged our PADO and PADS.
    let hu = hex(host_uniq.as_bytes());
    assert!(
        slog.contains(&format!(
            "service=\"rosproto-svc\" host-uniq={hu} cookie=no"
        )) && slog.lines().any(|l| l.starts_with("PADI from")),
        "no PADI from rp-pppoe\n{ctx}"
    );
    assert!(
        slog.lines()
            .any(|l| l.starts_with("PADR from") && l.contains(&hu) && l.contains("cookie=yes")),
        "no PADR from rp-pppoe\n{ctx}"
    );
    assert!(dlog.contains("PADO") && dlog.contains("PADS"), "{ctx}");
    assert!(slog.contains("SESSION "), "{ctx}");
    assert!(auth_ok, "our client did not authenticate\n{ctx}");
    assert!(slog.contains("AUTH OK alice method=mschap2"), "{ctx}");
    assert!(
        slog.contains("IPCP UP local=10.233.0.1 peer=10.233.0."),
        "{ctx}"
    );
    assert!(ping_replied, "no echo reply through rp-pppoe\n{ctx}");
    assert!(slog.contains("PING from 10.233.0."), "{ctx}");
    // Teardown: rp-pppoe's PADT ended the session at our AC.
    assert!(closed.is_ok(), "{ctx}");
    assert!(
        slog.lines().any(|l| l.starts_with("PADT from")) && slog.contains("reason=PeerPadt"),
        "{ctx}"
    );
    eprintln!(
        "rp-pppoe client + our ppp vs our pppoe-server: up and ping in {elapsed_up:?}, total {:?}",
        t.elapsed()
    );
}

#[test]
fn our_pppoe_client_against_rp_pppoe_server_with_our_ppp_as_its_pppd() {
    if !available() {
        return;
    }
    let t = Instant::now();
    let dir = scratch_dir("pppoe-b");
    let (s, c) = topology("b");
    let ppp_log = dir.join("ppp-stdio.log");
    let _ = std::fs::remove_file(&ppp_log);
    let opts = dir.join("options");
    std::fs::write(
        &opts,
        format!(
            "secret bob pppoe-b-pw\nauthentication mschap2\nlog {}\n",
            ppp_log.display()
        ),
    )
    .unwrap();
    let pidfile = dir.join("pppoe-server.pid");
    let _ = std::fs::remove_file(&pidfile);
    // pppoe-server daemonizes; -X writes its PID, by which it is stopped below.
    s.exec(
        "pppoe-server",
        &[
            "-I",
            IF_S,
            "-C",
            "rp-ac",
            "-S",
            "rp-svc",
            "-L",
            "10.98.37.1",
            "-R",
            "10.98.37.10",
            "-N",
            "4",
            "-O",
            opts.to_str().unwrap(),
            "-X",
            pidfile.to_str().unwrap(),
            "-q",
            env!("CARGO_BIN_EXE_ppp-stdio-pppoe"),
        ],
    )
    .unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end
        && std::fs::read_to_string(&pidfile)
            .unwrap_or_default()
            .trim()
            .is_empty()
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let server_pid = std::fs::read_to_string(&pidfile)
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(!server_pid.is_empty(), "pppoe-server did not start");
    let client = c
        .spawn(
            env!("CARGO_BIN_EXE_pppoe-client"),
            &[
                "--interface",
                IF_C,
                "--user",
                "bob",
                "--password",
                "pppoe-b-pw",
                "--service-name",
                "rp-svc",
                "--ac-name",
                "rp-ac",
                "--ping",
                "10.98.37.1",
                "--count",
                "2",
                "--duration",
                "25",
            ],
            &dir.join("client.log"),
        )
        .unwrap();
    let clog = client.wait_exit(Duration::from_secs(30));
    let _ = run("kill", &["-TERM", &server_pid]);
    let plog = std::fs::read_to_string(&ppp_log).unwrap_or_default();
    let ctx = format!("client:\n{clog}\nppp-stdio-pppoe:\n{plog}");
    assert!(
        clog.contains("PADO from")
            && clog.contains("ac-name=\"rp-ac\"")
            && clog.contains("taken=true"),
        "{ctx}"
    );
    assert!(
        clog.contains("SESSION ") && clog.contains("service=\"rp-svc\""),
        "{ctx}"
    );
    assert!(clog.contains("AUTH OK bob method=mschap2"), "{ctx}");
    assert!(
        clog.contains("IPCP UP local=10.98.37.10 peer=10.98.37.1"),
        "{ctx}"
    );
    assert!(clog.contains("PING reply from 10.98.37.1"), "{ctx}");
    // Our PPP ran as pppoe-server's pppd, behind rp-pppoe's session helper.
    assert!(plog.contains("pppoe -n -I"), "{ctx}");
    assert!(plog.contains("AUTH OK bob method=mschap2"), "{ctx}");
    assert!(plog.contains("PING from 10.98.37.10"), "{ctx}");
    assert!(clog.contains("CLOSED session="), "{ctx}");
    eprintln!(
        "our pppoe-client vs rp-pppoe pppoe-server + our ppp: {:?}",
        t.elapsed()
    );
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// c. Kernel pppd in the lab VM: our client against `pppoe-server` (+ pppd), then pppd's
/// kernel-mode `rp-pppoe.so` client against our server.
#[test]
fn kernel_pppd_in_lab_vm_both_directions() {
    use examples::lab_vm::{lab_available, LabOptions, LabVm, TAP};
    let check = lab_available().and_then(|_| have_program("pppoe-server"));
    if !peer_available("lab-vm with rp-pppoe + pppd (kernel PPP, pppoe.ko)", check) {
        return;
    }
    let t = Instant::now();
    let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
    let boot = t.elapsed();
    let dir = scratch_dir("pppoe-lab");

    // 1. our pppoe-client -> rp-pppoe pppoe-server + pppd (authenticator, MS-CHAPv2) in the guest
    lab.write_file(
        "/etc/ppp/pppoe-server-options",
        b"auth\nrequire-mschap-v2\nname rplab-pppoe\nnodefaultroute\ndebug\n\
          lcp-echo-interval 0\nlogfile /var/log/ppp-pppoe-server.log\n",
    )
    .expect("pppd options");
    lab.exec(
        "pppoe-server -I eth0 -C rplab-ac -S rplab-svc -L 10.97.54.1 -R 10.97.54.10 -N 4 \
         -X /run/pppoe-server.pid; i=0; while [ $i -lt 50 ] && [ ! -s /run/pppoe-server.pid ]; \
         do sleep 0.1; i=$((i+1)); done; cat /run/pppoe-server.pid",
    )
    .expect("pppoe-server");
    let t1 = Instant::now();
    let client = lab
        .spawn_host(
            env!("CARGO_BIN_EXE_pppoe-client"),
            &[
                "--interface",
                TAP,
                "--user",
                "rpuser",
                "--password",
                "rppass",
                "--service-name",
                "rplab-svc",
                "--ac-name",
                "rplab-ac",
                "--ping",
                "10.97.54.1",
                "--count",
                "4",
                "--duration",
                "40",
            ],
            &dir.join("pppoe-client.log"),
        )
        .expect("pppoe-client");
    let clog = client.wait_exit(Duration::from_secs(60));
    let dial = t1.elapsed();
    let plog = lab.guest_log("/var/log/ppp-pppoe-server.log");
    let ctx = format!(
        "--- pppoe-client:\n{clog}\n--- guest pppd:\n{plog}\n--- guest syslog:\n{}",
        tail(&lab.guest_log("/var/log/messages"))
    );
    assert!(
        clog.contains("PADO from") && clog.contains("ac-name=\"rplab-ac\""),
        "{ctx}"
    );
    assert!(
        clog.contains("SESSION ") && clog.contains("service=\"rplab-svc\""),
        "{ctx}"
    );
    assert!(clog.contains("AUTH OK rpuser method=mschap2"), "{ctx}");
    assert!(
        clog.contains("IPCP UP local=10.97.54.10 peer=10.97.54.1"),
        "{ctx}"
    );
    // The first echo leaves right after our IPCP is up; a guest slowed by the host's load may
    // not have ppp0 addressed and passing IP by then (pppd does that once its own IPCP opens),
    // so one early loss is tolerated.
    let replies = clog.matches("PING reply from 10.97.54.1").count();
    assert!(replies >= 3, "{replies} of 4 echoes answered\n{ctx}");
    assert!(plog.contains("rcvd [CHAP Response"), "{ctx}");
    assert!(plog.contains("remote IP address 10.97.54.10"), "{ctx}");
    let _ = lab.exec("kill $(cat /run/pppoe-server.pid)");

    // 2. pppd's kernel-mode PPPoE client (rp-pppoe.so, AF_PPPOX) -> our pppoe-server
    let t2 = Instant::now();
    let server = lab
        .spawn_host(
            env!("CARGO_BIN_EXE_pppoe-server"),
            &[
                "--interface",
                TAP,
                "--service-name",
                "rplab-kernel",
                "--ac-name",
                "rp-host-ac",
                "--user",
                "rpuser:rppass",
                "--authentication",
                "mschap2",
                "--local",
                "10.97.55.1",
                "--pool",
                "10.97.55.10-10.97.55.20",
                "--duration",
                "90",
            ],
            &dir.join("pppoe-server.log"),
        )
        .expect("pppoe-server");
    server
        .wait_log("LISTENING", Duration::from_secs(10))
        .unwrap();
    lab.exec(
        "(setsid pppd plugin rp-pppoe.so rp_pppoe_service rplab-kernel nic-eth0 user rpuser \
         password rppass noauth nodefaultroute noipdefault debug nodetach lcp-echo-interval 0 \
         logfile /var/log/ppp-pppoe-kernel.log </dev/null >/dev/null 2>&1 &)",
    )
    .expect("kernel-mode pppd");
    let up = server.wait_log("IPCP UP", Duration::from_secs(40));
    // pppd logs its addresses once ppp0 is addressed, up and passing IP
    let _ = lab.wait_guest_log(
        "/var/log/ppp-pppoe-kernel.log",
        "remote IP address 10.97.55.1",
        Duration::from_secs(20),
    );
    let ping = lab.exec_status("ping -c 3 -W 3 10.97.55.1", Duration::from_secs(30));
    let proc_pppoe = lab.guest_log("/proc/net/pppoe");
    let klog = lab.guest_log("/var/log/ppp-pppoe-kernel.log");
    let _ = lab.exec("killall pppd");
    let slog = server.stop(Duration::from_secs(5));
    let ctx = format!(
        "--- our pppoe-server:\n{slog}\n--- guest pppd (rp-pppoe.so):\n{klog}\n\
         --- /proc/net/pppoe:\n{proc_pppoe}"
    );
    up.unwrap_or_else(|e| panic!("{e}\n{ctx}"));
    let (code, out) = ping.expect("ping");
    assert_eq!(code, 0, "ping failed: {out}\n{ctx}");
    assert!(slog.contains("AUTH OK rpuser method=mschap2"), "{ctx}");
    assert_eq!(slog.matches("PING from 10.97.55.10").count(), 3, "{ctx}");
    // kernel mode: pppd handed the session to pppoe.ko (one line per session after the header)
    assert!(klog.contains("Connected to"), "{ctx}");
    assert_eq!(proc_pppoe.lines().count(), 2, "{ctx}");
    assert!(proc_pppoe.contains("eth0"), "{ctx}");
    eprintln!(
        "pppoe in the lab VM: boot {boot:?}, our client -> pppoe-server+pppd {dial:?}, \
         kernel pppd -> our server {:?}, total {:?}",
        t2.elapsed(),
        t.elapsed()
    );
}
