//! The lab VM itself: boots, answers `exec`, has the GRE/GRETAP/IPIP/WireGuard interfaces and
//! daemons the other interop tests rely on, reaches the host over the tap, answers GRE-wrapped
//! ICMP echo and an L2TPv2 tunnel/session with PPP (kernel l2tp_ppp + pppd), and its serial pppd
//! answers an LCP Configure-Request sent as async HDLC into the unix socket (also after its
//! options were changed from the host).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use examples::interop::peer_available;
use examples::lab_vm::{lab_available, LabOptions, LabVm};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// RFC 7748 section 6.1 Alice's public key: any valid X25519 point works as a peer key here.
const HOST_WG_PUB: &str = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

fn fcs16(data: &[u8]) -> u16 {
    let mut fcs: u16 = 0xffff;
    for &b in data {
        fcs ^= u16::from(b);
        for _ in 0..8 {
            fcs = if fcs & 1 != 0 {
                (fcs >> 1) ^ 0x8408
            } else {
                fcs >> 1
            };
        }
    }
    !fcs
}

/// Async-HDLC frame (RFC 1662) with address/control, protocol, FCS; all control chars escaped.
fn hdlc(proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![0xff, 0x03];
    body.extend_from_slice(&proto.to_be_bytes());
    body.extend_from_slice(payload);
    let fcs = fcs16(&body);
    body.extend_from_slice(&fcs.to_le_bytes());
    let mut out = vec![0x7e];
    for b in body {
        if b < 0x20 || b == 0x7d || b == 0x7e {
            out.extend_from_slice(&[0x7d, b ^ 0x20]);
        } else {
            out.push(b);
        }
    }
    out.push(0x7e);
    out
}

/// Split a byte stream into good frames (FCS checked, un-escaped, FCS removed).
fn deframe(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for chunk in stream.split(|&b| b == 0x7e) {
        let mut data = Vec::new();
        let mut esc = false;
        for &b in chunk {
            if esc {
                data.push(b ^ 0x20);
                esc = false;
            } else if b == 0x7d {
                esc = true;
            } else {
                data.push(b);
            }
        }
        if data.len() >= 6 {
            let (body, fcs) = data.split_at(data.len() - 2);
            if fcs16(body).to_le_bytes() == [fcs[0], fcs[1]] {
                frames.push(body.to_vec());
            }
        }
    }
    frames
}

/// Send LCP Configure-Request id 0x42 (magic number only) and wait for the matching ConfAck and
/// for a Configure-Request of pppd. Returns every LCP packet received (code, id, packet).
fn lcp_probe(lab: &LabVm) -> Vec<(u8, u8, Vec<u8>)> {
    let mut s = UnixStream::connect(lab.serial_socket()).expect("serial socket");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let req = [1u8, 0x42, 0, 10, 5, 6, 0x12, 0x34, 0x56, 0x78];
    s.write_all(&hdlc(0xc021, &req)).unwrap();
    let mut got = Vec::new();
    let mut buf = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    let (mut acked, mut their_req) = (false, false);
    while Instant::now() < end && !(acked && their_req) {
        let mut chunk = [0u8; 4096];
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => continue,
        }
        let Some(last) = buf.iter().rposition(|&b| b == 0x7e) else {
            continue;
        };
        let complete: Vec<u8> = buf.drain(..last).collect();
        for f in deframe(&complete) {
            // ff 03 c0 21 code id len...
            if f.len() >= 8 && f[..4] == [0xff, 0x03, 0xc0, 0x21] {
                let (code, id) = (f[4], f[5]);
                got.push((code, id, f[4..].to_vec()));
                acked |= code == 2 && id == 0x42;
                their_req |= code == 1;
            }
        }
    }
    // end the session so pppd exits and is respawned for the next user
    s.write_all(&hdlc(0xc021, &[5, 0x43, 0, 4])).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    got
}

#[test]
fn lab_vm_boots_and_its_peers_are_configured() {
    if !peer_available("lab-vm (QEMU + Debian kernel)", lab_available()) {
        return;
    }
    let t0 = Instant::now();
    let lab = LabVm::start(&LabOptions {
        wg_host_public_key: Some(HOST_WG_PUB.into()),
        ..LabOptions::default()
    })
    .expect("lab VM starts");
    eprintln!(
        "lab VM ready: boot {:?}, start() total {:?}",
        lab.boot_time(),
        t0.elapsed()
    );
    assert_eq!(lab.netns(), "rp-lab");

    // exec: output and exit codes
    let kver = lab.exec("uname -r").unwrap();
    assert!(kver.trim().starts_with("6.1."), "guest kernel: {kver}");
    assert_eq!(
        lab.exec_status("echo out; echo err >&2; exit 3", Duration::from_secs(10))
            .unwrap(),
        (3, "out\nerr\n".to_string())
    );
    assert!(lab.exec("false").is_err());

    eprintln!("[{:?}] GRE family", t0.elapsed());
    // GRE family
    let gre = lab.exec("ip -d addr show gre1").unwrap();
    assert!(
        gre.contains("gre remote 10.97.40.1 local 10.97.40.2"),
        "{gre}"
    );
    assert!(gre.contains("inet 10.97.45.2/30"), "{gre}");
    let gretap = lab.exec("ip -d addr show gretap1").unwrap();
    assert!(
        gretap.contains("gretap remote 10.97.40.1 local 10.97.40.2"),
        "{gretap}"
    );
    assert!(gretap.contains("key 0.0.0.42"), "{gretap}");
    assert!(gretap.contains("inet 10.97.46.2/24"), "{gretap}");
    let ipip = lab.exec("ip -d addr show ipip1").unwrap();
    assert!(
        ipip.contains("ipip remote 10.97.40.1 local 10.97.40.2"),
        "{ipip}"
    );
    assert!(ipip.contains("inet 10.97.48.2/30"), "{ipip}");

    eprintln!("[{:?}] kernel WireGuard", t0.elapsed());
    // kernel WireGuard with the host key given in LabOptions
    let wg = lab.exec("wg show wg0; ip addr show wg0").unwrap();
    assert!(wg.contains("listening port: 51820"), "{wg}");
    assert!(wg.contains(&format!("peer: {HOST_WG_PUB}")), "{wg}");
    assert!(wg.contains("allowed ips: 10.97.44.1/32"), "{wg}");
    assert!(wg.contains("inet 10.97.44.2/24"), "{wg}");
    let guest_pub = lab.wg_guest_public_key().unwrap();
    assert!(wg.contains(&format!("public key: {guest_pub}")), "{wg}");

    eprintln!("[{:?}] daemons", t0.elapsed());
    // daemons
    let ps = lab.exec("ps").unwrap();
    assert!(ps.contains("xl2tpd -D"), "{ps}");
    assert!(ps.contains("pppd /dev/ttyS2"), "{ps}");
    assert!(lab
        .guest_log("/var/log/xl2tpd.log")
        .contains("Using l2tp kernel support"));

    eprintln!("[{:?}] the tap works", t0.elapsed());
    // the tap works: the guest pings the host end in netns rp-lab ...
    let ping = lab.exec("ping -c 2 -W 3 10.97.40.1").unwrap();
    assert!(ping.contains("2 packets received"), "{ping}");
    // ... and a host program in the namespace sees the guest (its ARP entry after that ping)
    let neigh = lab
        .host_command("ip")
        .args(["neigh", "show", "dev", "rplabtap0"])
        .output()
        .unwrap();
    let neigh = String::from_utf8_lossy(&neigh.stdout);
    assert!(
        neigh.contains("10.97.40.2 lladdr 52:54:00:97:40:02"),
        "{neigh}"
    );

    eprintln!("[{:?}] GRE and L2TP probes", t0.elapsed());
    // the GRE and L2TP peers answer real traffic from the namespace (stdlib-only python probes:
    // ICMP echo inside GRE on a raw socket; L2TPv2 tunnel + session + LCP through xl2tpd/pppd)
    let probe = examples::lab_vm::scripts_dir().join("probe.py");
    for what in ["gre", "l2tp"] {
        let out = lab
            .host_command("/usr/bin/python3")
            .arg(&probe)
            .arg(what)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "probe {what} failed:\n{text}");
        eprintln!("{}", text.trim());
    }
    let l2tp_log = lab
        .wait_guest_log(
            "/var/log/ppp-l2tp.log",
            "sent [LCP ConfAck id=0x42",
            Duration::from_secs(5),
        )
        .unwrap();
    assert!(l2tp_log.contains("PPPoL2TP options: lnsmode"), "{l2tp_log}");

    eprintln!("[{:?}] serial pppd answers", t0.elapsed());
    // serial pppd answers LCP over the unix socket, and logs it
    let lcp = lcp_probe(&lab);
    assert!(
        lcp.iter().any(|(code, id, _)| *code == 2 && *id == 0x42),
        "no ConfAck: {lcp:?}"
    );
    let log = lab.serial_ppp_log();
    assert!(
        log.contains("rcvd [LCP ConfReq id=0x42 <magic 0x12345678>]"),
        "{log}"
    );
    assert!(log.contains("sent [LCP ConfAck id=0x42"), "{log}");

    eprintln!("[{:?}] options changed", t0.elapsed());
    // options changed from the host: pppd now demands PAP in its own Configure-Request
    lab.set_serial_ppp_options(
        "local\npassive\nauth\nrequire-pap\nnocrtscts\nnodefaultroute\ndebug\nlcp-echo-interval 0\nname rplab-serial\n10.97.47.1:10.97.47.2\n",
    )
    .unwrap();
    let lcp = lcp_probe(&lab);
    let theirs = lcp
        .iter()
        .find(|(code, _, _)| *code == 1)
        .expect("pppd's ConfReq");
    // option 3 (auth protocol) length 4, 0xc023 = PAP
    assert!(
        theirs.2.windows(4).any(|w| w == [3, 4, 0xc0, 0x23]),
        "pppd ConfReq without PAP: {:02x?}",
        theirs.2
    );
    lab.wait_guest_log(
        "/var/log/ppp-serial.log",
        "<auth pap>",
        Duration::from_secs(5),
    )
    .unwrap();
    lab.reset_serial_ppp().unwrap();
    assert!(!lab
        .guest_log("/etc/ppp/options.serial")
        .contains("require-pap"));
}
