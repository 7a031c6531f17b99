//! PPTP interop against the Linux peers, pptp-linux 1.10 (`pptp`) and Poptop pptpd 1.4.0,
//! in network namespaces this test creates (root; no default route).
//!
//! There is no kernel PPP on this host, so pppd cannot run; both peers can hand the PPP
//! stream to another program instead, and we put **our** PPP there:
//!
//! * `pptp_linux_client_against_our_server`: `pptp <server> --nolaunchpppd` runs the PPTP
//!   client (control connection, Outgoing-Call-Request, its own raw GRE socket) and passes PPP
//!   on its standard input/output as async HDLC (normally pppd's pty). That stdin/stdout is a
//!   socketpair whose other end is our `ppp` client (the crate's HDLC codec), against our
//!   `pptp-server` example. MS-CHAPv2, IPCP and an ICMP echo to the server's PPP address.
//! * `our_client_against_pptpd`: our `pptp-client` example against pptpd, started with
//!   `-e <prog>` so that pptpctrl runs our `ppp-stdio` example (a `ppp::host::Server` over
//!   HDLC on the pty) where it would run pppd. pptpd does the control connection and GRE.
//! * `our_client_against_our_server`: both example binaries on real sockets (TCP and raw GRE
//!   in two namespaces), down to the clean Stop-Control-Connection teardown.
//!
//! The first two run with `use-encryption=required` on our PPP ends, the third with the
//! RouterOS default (`yes`), so MPPE-128 stateless is negotiated in all three, but note what that proves: pptp-linux and pptpd only carry PPP frames (GRE on
//! one side, HDLC on the pty on the other); the MPPE peers are our two PPP implementations.
//! Interop of our MPPE with pppd's needs kernel PPP, hence the fourth test:
//! * `our_client_against_pptpd_and_kernel_pppd_in_lab_vm`: pptpd in the project's lab VM
//!   (`examples/interop/lab-vm`, a Debian 6.1 kernel under QEMU), where pptpctrl launches the
//!   real pppd on a pty with the kernel's `/dev/ppp` and `ppp_mppe`, as the authenticator with
//!   `require-mschap-v2 require-mppe-128`. Our `pptp-client` example dials it from the host
//!   side of the lab link (netns `rp-lab`, raw GRE). MS-CHAPv2 against pppd's `chap-secrets`,
//!   MPPE-128 stateless negotiated with pppd (its log: "MPPE 128-bit stateless compression
//!   enabled"), and ICMP echoes answered by the guest kernel through `ppp0`, so every packet is
//!   encrypted by one implementation and decrypted by the other. One VM boot (tens of seconds
//!   under TCG). Set `RPLAB_ART` for a private artefact directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use examples::interop::{have_program, peer_available, scratch_dir, veth, Netns};
use ppp::wire::hdlc;

const PEERS: &str = "pptpd 1.4.0 / pptp-linux 1.10";

fn check() -> Result<(), String> {
    have_program("pptp")?;
    have_program("pptpd")?;
    have_program("ip")
}

/// What our HDLC PPP client behind pptp-linux saw.
#[derive(Debug, Default)]
struct Seen {
    auth_ok: bool,
    ipcp_up: bool,
    encoding: Option<String>,
    ping_replied: bool,
}

#[test]
fn pptp_linux_client_against_our_server() {
    if !peer_available(PEERS, check()) {
        return;
    }
    let t = Instant::now();
    let dir = scratch_dir("pptp-linux-client");
    let s = Netns::new("pptpi-s").unwrap();
    let c = Netns::new("pptpi-c").unwrap();
    veth(
        &s,
        "pptpi-s0",
        "10.93.0.1/24",
        &c,
        "pptpi-c0",
        "10.93.0.2/24",
    )
    .unwrap();
    let server = s
        .spawn(
            env!("CARGO_BIN_EXE_pptp-server"),
            &[
                "10.93.0.1",
                "--user",
                "alice:pptp-interop-pw",
                "--local",
                "10.93.1.1",
                "--pool",
                "10.93.1.10-10.93.1.20",
                "--authentication",
                "mschap2",
                "--use-encryption",
                "required",
                "--duration",
                "60",
            ],
            &dir.join("pptp-server.log"),
        )
        .unwrap();
    server
        .wait_log("LISTENING", Duration::from_secs(10))
        .unwrap();

    // pptp-linux: PPP on stdin/stdout (one end of a socketpair); it also wants its
    // call-manager socket directory.
    std::fs::create_dir_all("/var/run/pptp").unwrap();
    let (mine, theirs) = UnixStream::pair().unwrap();
    mine.set_nonblocking(true).unwrap();
    let theirs_out = theirs.try_clone().unwrap();
    let log = dir.join("pptp-linux.log");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &c.name, "pptp", "10.93.0.1"])
        .args(["--nolaunchpppd", "--nohostroute", "--loglevel", "2"])
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::from(OwnedFd::from(theirs_out)))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();

    // Our PPP client on the other end (MS-CHAPv2, MPPE required).
    let t0 = Instant::now();
    let mut pcfg = ppp::Config::pptp_client();
    pcfg.user = "alice".into();
    pcfg.password = "pptp-interop-pw".into();
    pcfg.use_encryption = ppp::aaa::UseEncryption::Required;
    let mut ppp = ppp::Session::new(pcfg, ppp::Role::Client, t0, netsim::TestRng::new(15)).unwrap();
    ppp.open(t0);
    let mut deframer = hdlc::Deframer::new(4096);
    let mut mine = mine;
    let mut seen = Seen::default();
    let mut buf = [0u8; 8192];
    let mut next_ping = t0;
    let mut seq = 0u16;
    let deadline = t0 + Duration::from_secs(30);
    while Instant::now() < deadline && !seen.ping_replied {
        let now = Instant::now();
        match mine.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => deframer.push(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        while let Some(f) = deframer.next_frame() {
            let Ok(mut f) = f else { continue };
            if let Ok(ppp::Input::Datagram {
                protocol: 0x0021,
                payload,
            }) = ppp.handle_frame_mut(now, &mut f)
            {
                // an echo reply from the server's PPP address
                if payload.len() > 20
                    && payload[9] == 1
                    && payload[20] == 0
                    && payload[12..16] == [10, 93, 1, 1]
                {
                    seen.ping_replied = true;
                }
            }
        }
        if ppp.poll_timeout().is_some_and(|d| d <= now) {
            ppp.handle_timeout(now);
        }
        while let Some(e) = ppp.poll_event() {
            match e {
                ppp::Event::AuthSucceeded { .. } => seen.auth_ok = true,
                ppp::Event::NetworkUp(_) => seen.ipcp_up = true,
                ppp::Event::EncryptionUp { encoding, .. } => seen.encoding = Some(encoding),
                _ => {}
            }
        }
        if let (true, Some(me)) = (now >= next_ping, ppp.ipv4().map(|i| i.local)) {
            seq += 1;
            let pkt = netsim::pcap::icmp4_echo(
                me.octets(),
                [10, 93, 1, 1],
                false,
                0x2637,
                seq,
                b"pptp-linux interop",
            );
            let mut f = vec![0u8; 1600];
            if let Ok(n) = ppp.encapsulate(now, 0x0021, &pkt, &mut f) {
                let mut enc = Vec::new();
                hdlc::encode(&f[..n], ppp.tx_accm(0x0021), &mut enc);
                let _ = mine.write_all(&enc);
            }
            next_ping = now + Duration::from_millis(500);
        }
        while let Some(f) = ppp.poll_transmit_hdlc(now) {
            let _ = mine.write_all(&f);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    let _ = child.wait();
    let slog = server.stop(Duration::from_secs(5));
    let plog = std::fs::read_to_string(&log).unwrap_or_default();
    let ctx = format!("{seen:?}\n--- pptp-server:\n{slog}\n--- pptp-linux:\n{plog}");
    // the control connection came from pptp-linux: its SCCRQ names vendor "cananian"
    assert!(slog.contains("host=\"local\" vendor=\"cananian\""), "{ctx}");
    assert!(slog.contains("CALL UP conn="), "{ctx}");
    assert!(slog.contains("AUTH OK alice method=mschap2"), "{ctx}");
    assert!(
        slog.contains("IPCP UP local=10.93.1.1 peer=10.93.1.10"),
        "{ctx}"
    );
    assert!(slog.contains("ENCRYPTION MPPE128 stateless"), "{ctx}");
    assert!(slog.contains("PING from 10.93.1.10"), "{ctx}");
    assert!(seen.auth_ok && seen.ipcp_up, "{ctx}");
    assert_eq!(seen.encoding.as_deref(), Some("MPPE128 stateless"), "{ctx}");
    assert!(seen.ping_replied, "{ctx}");
    eprintln!("pptp-linux against our pptp-server: {:?}", t.elapsed());
}

#[test]
fn our_client_against_pptpd() {
    if !peer_available(PEERS, check()) {
        return;
    }
    let t = Instant::now();
    let dir = scratch_dir("pptpd-server");
    let s = Netns::new("pptpi-s2").unwrap();
    let c = Netns::new("pptpi-c2").unwrap();
    veth(
        &s,
        "pptpi-s2",
        "10.93.2.1/24",
        &c,
        "pptpi-c2",
        "10.93.2.2/24",
    )
    .unwrap();
    // pptpd runs this where it would run pppd: our PPP server on the pty (HDLC).
    let ppp_log = dir.join("ppp-stdio.log");
    let _ = std::fs::remove_file(&ppp_log);
    let prog = dir.join("ppp-stdio.sh");
    std::fs::write(
        &prog,
        format!(
            "#!/bin/sh\nexec {} --user alice:pptpd-interop-pw --local 10.93.3.1 \
             --remote 10.93.3.10 --authentication mschap2 --use-encryption required \
             --duration 60 -- \"$@\" 2>>{}\n",
            env!("CARGO_BIN_EXE_ppp-stdio"),
            ppp_log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = dir.join("pptpd.conf");
    let opts = dir.join("options.pptpd");
    std::fs::write(&opts, "name pptpi\n").unwrap();
    std::fs::write(
        &conf,
        format!(
            "option {}\nlocalip 10.93.3.1\nremoteip 10.93.3.10-20\n",
            opts.display()
        ),
    )
    .unwrap();
    let pidfile = dir.join("pptpd.pid");
    let pptpd = s
        .spawn(
            "pptpd",
            &[
                "-f",
                "-d",
                "-c",
                conf.to_str().unwrap(),
                "-o",
                opts.to_str().unwrap(),
                "-l",
                "10.93.2.1",
                "-p",
                pidfile.to_str().unwrap(),
                "-e",
                prog.to_str().unwrap(),
            ],
            &dir.join("pptpd.log"),
        )
        .unwrap();
    let t_listen = Instant::now();
    while t_listen.elapsed() < Duration::from_secs(10) {
        let out = s
            .exec("ss", &["-ltn"])
            .map(|o| o.stdout)
            .unwrap_or_default();
        if String::from_utf8_lossy(&out).contains("10.93.2.1:1723") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let client = c
        .spawn(
            env!("CARGO_BIN_EXE_pptp-client"),
            &[
                "10.93.2.1",
                "--user",
                "alice",
                "--password",
                "pptpd-interop-pw",
                "--use-encryption",
                "required",
                "--ping",
                "10.93.3.1",
                "--count",
                "3",
                "--duration",
                "30",
            ],
            &dir.join("pptp-client.log"),
        )
        .unwrap();
    let clog = client.wait_exit(Duration::from_secs(40));
    let plog = std::fs::read_to_string(&ppp_log).unwrap_or_default();
    let dlog = pptpd.stop(Duration::from_secs(5));
    let ctx = format!("--- pptp-client:\n{clog}\n--- ppp-stdio:\n{plog}\n--- pptpd:\n{dlog}");
    // pptpd's Start-Control-Connection-Reply: host "local", vendor "linux"
    assert!(
        clog.contains("CONTROL UP host=\"local\" vendor=\"linux\""),
        "{ctx}"
    );
    assert!(clog.contains("CALL UP"), "{ctx}");
    assert!(clog.contains("AUTH OK alice method=mschap2"), "{ctx}");
    assert!(
        clog.contains("IPCP UP local=10.93.3.10 peer=10.93.3.1"),
        "{ctx}"
    );
    assert!(clog.contains("ENCRYPTION MPPE128 stateless"), "{ctx}");
    assert_eq!(
        clog.matches("PING reply from 10.93.3.1").count(),
        3,
        "{ctx}"
    );
    // the PPP end behind pptpd saw the same session
    assert!(plog.contains("STARTED tty=true"), "{ctx}");
    assert!(plog.contains("AUTH OK alice method=mschap2"), "{ctx}");
    assert!(plog.contains("ENCRYPTION MPPE128 stateless"), "{ctx}");
    assert!(plog.contains("PING from 10.93.3.10"), "{ctx}");
    // Teardown: our client sends Call-Clear-Request; pptpd (pptpctrl) answers it by closing
    // the TCP connection, with no Call-Disconnect-Notify or Stop-Control-Connection-Reply
    // (as in ../shared/captures/pptp), so the client reports the transport closed.
    assert!(clog.contains("PPP TERMINATED AdminClose"), "{ctx}");
    assert!(clog.contains("CLOSED reason=TransportClosed"), "{ctx}");
    eprintln!("our pptp-client against pptpd: {:?}", t.elapsed());
}

/// Our two example binaries against each other on real sockets (TCP 1723, raw GRE in two
/// namespaces): the clean teardown ladder, which pptpd does not run (it just closes TCP).
#[test]
fn our_client_against_our_server() {
    if !peer_available("root (raw GRE sockets)", have_program("ip")) {
        return;
    }
    let dir = scratch_dir("pptp-ours");
    let s = Netns::new("pptpi-s3").unwrap();
    let c = Netns::new("pptpi-c3").unwrap();
    veth(
        &s,
        "pptpi-s3",
        "10.93.4.1/24",
        &c,
        "pptpi-c3",
        "10.93.4.2/24",
    )
    .unwrap();
    let server = s
        .spawn(
            env!("CARGO_BIN_EXE_pptp-server"),
            &[
                "10.93.4.1",
                "--user",
                "bob:pptp-own-pw",
                "--local",
                "10.93.5.1",
                "--pool",
                "10.93.5.10-10.93.5.20",
                "--duration",
                "60",
            ],
            &dir.join("pptp-server.log"),
        )
        .unwrap();
    server
        .wait_log("LISTENING", Duration::from_secs(10))
        .unwrap();
    let client = c
        .spawn(
            env!("CARGO_BIN_EXE_pptp-client"),
            &[
                "10.93.4.1",
                "--user",
                "bob",
                "--password",
                "pptp-own-pw",
                "--ping",
                "10.93.5.1",
                "--count",
                "3",
                "--duration",
                "30",
            ],
            &dir.join("pptp-client.log"),
        )
        .unwrap();
    let clog = client.wait_exit(Duration::from_secs(40));
    std::thread::sleep(Duration::from_millis(300));
    let slog = server.stop(Duration::from_secs(5));
    let ctx = format!("--- pptp-client:\n{clog}\n--- pptp-server:\n{slog}");
    assert!(clog.contains("CONTROL UP host=\"MikroTik\""), "{ctx}");
    // RouterOS defaults on both ends: MS-CHAPv2 and MPPE-128 stateless (use-encryption=yes)
    assert!(clog.contains("AUTH OK bob method=mschap2"), "{ctx}");
    assert!(clog.contains("ENCRYPTION MPPE128 stateless"), "{ctx}");
    assert!(
        clog.contains("IPCP UP local=10.93.5.10 peer=10.93.5.1"),
        "{ctx}"
    );
    assert_eq!(
        clog.matches("PING reply from 10.93.5.1").count(),
        3,
        "{ctx}"
    );
    assert_eq!(slog.matches("PING from 10.93.5.10").count(), 3, "{ctx}");
    // the whole ladder: Call-Clear-Request / Call-Disconnect-Notify, Stop-Control-Connection
    assert!(slog.contains("reason=ClearRequested"), "{ctx}");
    assert!(clog.contains("CLOSED reason=LocalStop"), "{ctx}");
    assert!(slog.contains("CLOSED conn=1 reason=PeerStopped"), "{ctx}");
}

/// pptpd + kernel pppd (MPPE-128, MS-CHAPv2) in the lab VM against our `pptp-client` example.
#[test]
fn our_client_against_pptpd_and_kernel_pppd_in_lab_vm() {
    use examples::lab_vm::{lab_available, LabOptions, LabVm};
    let check = lab_available().and_then(|_| have_program("pptpd"));
    if !peer_available("lab-vm with pptpd + pppd (kernel PPP, ppp_mppe)", check) {
        return;
    }
    let t = Instant::now();
    let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
    let boot = t.elapsed();
    let dir = scratch_dir("pptpd-lab");
    // pppd (launched by pptpctrl for each call) is the authenticator: MS-CHAPv2 only, MPPE-128
    // mandatory; the guest's chap-secrets hold `rpuser * rppass *`.
    lab.write_file(
        "/etc/ppp/options.pptpd",
        b"name rplab-pptpd\nauth\nrefuse-pap\nrefuse-chap\nrefuse-mschap\nrequire-mschap-v2\n\
          require-mppe-128\nnodefaultroute\nnobsdcomp\nnodeflate\ndebug\nlcp-echo-interval 0\n\
          logfile /var/log/ppp-pptp.log\n",
    )
    .expect("pppd options");
    lab.write_file(
        "/etc/pptpd.conf",
        b"option /etc/ppp/options.pptpd\nlocalip 10.97.53.1\nremoteip 10.97.53.10-20\n\
          listen 10.97.40.2\n",
    )
    .expect("pptpd.conf");
    lab.exec(
        "(setsid pptpd -f -d -c /etc/pptpd.conf -p /run/pptpd.pid >/var/log/pptpd.log 2>&1 &); \
         i=0; while [ $i -lt 100 ] && ! ss -ltn | grep -q 10.97.40.2:1723; do sleep 0.1; \
         i=$((i+1)); done; ss -ltn | grep 10.97.40.2:1723",
    )
    .expect("pptpd listening on 10.97.40.2:1723");
    let t_call = Instant::now();
    let client = lab
        .spawn_host(
            env!("CARGO_BIN_EXE_pptp-client"),
            &[
                "10.97.40.2",
                "--user",
                "rpuser",
                "--password",
                "rppass",
                "--use-encryption",
                "required",
                "--ping",
                "10.97.53.1",
                "--count",
                "4",
                "--duration",
                "40",
            ],
            &dir.join("pptp-client.log"),
        )
        .expect("pptp-client");
    let clog = client.wait_exit(Duration::from_secs(60));
    let call = t_call.elapsed();
    let plog = lab.guest_log("/var/log/ppp-pptp.log");
    let ctx = format!(
        "--- pptp-client:\n{clog}\n--- guest pppd:\n{plog}\n--- guest syslog (pptpd):\n{}",
        lab.guest_log("/var/log/messages")
    );
    assert!(
        clog.contains("CONTROL UP host=\"local\" vendor=\"linux\""),
        "{ctx}"
    );
    assert!(clog.contains("CALL UP"), "{ctx}");
    assert!(clog.contains("AUTH OK rpuser method=mschap2"), "{ctx}");
    assert!(clog.contains("ENCRYPTION MPPE128 stateless"), "{ctx}");
    assert!(
        clog.contains("IPCP UP local=10.97.53.10 peer=10.97.53.1"),
        "{ctx}"
    );
    // The first echo leaves 200 ms after our IPCP is up; a guest slowed by the host's load may
    // not have ppp0 addressed and passing IP by then (pppd does that after its IPCP opens),
    // so one early loss is tolerated.
    let replies = clog.matches("PING reply from 10.97.53.1").count();
    assert!(replies >= 3, "{replies} of 4 echoes answered\n{ctx}");
    // the real pppd on kernel PPP: our MS-CHAPv2 response accepted, MPPE-128 on
    assert!(plog.contains("rcvd [CHAP Response"), "{ctx}");
    assert!(
        plog.contains("MPPE 128-bit stateless compression enabled"),
        "{ctx}"
    );
    assert!(plog.contains("remote IP address 10.97.53.10"), "{ctx}");
    eprintln!(
        "our pptp-client against pptpd + kernel pppd in the lab VM: boot {boot:?}, call {call:?}, \
         total {:?}",
        t.elapsed()
    );
}
