//! Interop: the `ike` example (sans-IO `ipsec-ike` + UDP 500/4500 + TUN) against strongSwan
//! 5.9.8 (Debian `charon-systemd` + `swanctl`, userspace ESP through its `kernel-libipsec`
//! plugin, because this host kernel has no ESP), in netns `ike-sw` (strongSwan, 10.99.3.x)
//! and `ike-us` (ours), over a veth pair. Tunnel mode 10.99.32.1/32 === 10.99.31.1/32.
//!
//! Each test starts its own charon (about 0.3 s) and asserts:
//! - strongSwan's own log: "IKE_SA interop[..] established" and "CHILD_SA net{..} established",
//!   with the kernel-libipsec plugin loaded (so its userspace ESP carried the ping);
//! - our log: `IKE_SA up`, `CHILD_SA up` with the role under test;
//! - kernel `ping` through both TUN devices answered;
//! - for the PSK initiator case, a Child SA rekey during traffic (both logs) with the ping
//!   unbroken, and every ESP packet of our pcap decrypted *and re-encrypted byte-exact* by
//!   scapy's `SecurityAssociation` with the keys our Wireshark export wrote, both directions.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use examples::interop::{have_program, peer_available, scratch_dir, veth, Netns, Proc};

static LOCK: Mutex<()> = Mutex::new(());

const CHARON: &str = "/usr/sbin/charon-systemd";
const RIP: &str = "10.99.3.1";
const IIP: &str = "10.99.3.2";
const RIN: &str = "10.99.31.1";
const IIN: &str = "10.99.32.1";
const PSK: &str = "interop-psk-123";
const EAP_USER: &str = "alice";
const EAP_PW: &str = "alice-pw-9";

fn pki() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for c in [
        here.join("../../shared/captures/ike/pki"),
        here.join("../shared/captures/ike/pki"),
        PathBuf::from("/work/shared/captures/ike/pki"),
    ] {
        if c.is_dir() {
            return c;
        }
    }
    panic!("shared/captures/ike/pki not found");
}

fn check_peer() -> Result<(), String> {
    have_program(CHARON)?;
    have_program("swanctl")?;
    have_program("ping")?;
    have_program("ip")?;
    if !Path::new("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so").exists() {
        return Err("strongSwan kernel-libipsec plugin missing (libcharon-extra-plugins)".into());
    }
    Ok(())
}

struct Sw {
    dir: PathBuf,
    // Field order = drop order.
    _charon: Option<Proc>,
    ours: Option<Proc>,
    us: Netns,
    sw: Netns,
}

/// strongSwan in `ike-sw` playing `role` ("responder" at 10.99.3.1 or "initiator" at
/// 10.99.3.2); `cert` selects RSA certificates instead of the PSK.
fn start_strongswan(test: &str, role: &str, auth: &str) -> Sw {
    let cert = auth == "cert";
    let dir = scratch_dir(&format!("ipsec-ike-{test}"));
    let sw = Netns::new("ike-sw").unwrap();
    let us = Netns::new("ike-us").unwrap();
    let (sw_ip, us_ip, sw_in, us_in) = if role == "responder" {
        (RIP, IIP, RIN, IIN)
    } else {
        (IIP, RIP, IIN, RIN)
    };
    veth(
        &sw,
        "ikesw0",
        &format!("{sw_ip}/24"),
        &us,
        "ikeus0",
        &format!("{us_ip}/24"),
    )
    .unwrap();
    sw.exec("ip", &["addr", "add", &format!("{sw_in}/32"), "dev", "lo"])
        .unwrap();
    let d = dir.join("sw");
    let _ = std::fs::remove_dir_all(&d);
    for sub in ["swanctl/x509", "swanctl/x509ca", "swanctl/private"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let conf = format!(
        "charon {{\n  load_modular = yes\n  install_virtual_ip = no\n  retransmit_tries = 3\n  plugins {{\n    include /etc/strongswan.d/charon/*.conf\n    vici {{ socket = unix://{d}/charon.vici }}\n    kernel-libipsec {{ load = yes }}\n    curl {{ load = no }}\n    ldap {{ load = no }}\n    resolve {{ load = no }}\n    eap-radius {{ load = no }}\n    ha {{ load = no }}\n  }}\n  filelog {{\n    charon-log {{\n      path = {d}/charon.log\n      default = 1\n      ike = 2\n      knl = 1\n      append = no\n      flush_line = yes\n    }}\n  }}\n}}\ncharon-systemd {{ journal {{ default = -1 }} }}\n",
        d = d.display()
    );
    std::fs::write(d.join("strongswan.conf"), conf).unwrap();
    let (lauth, rauth) = if auth == "eap" {
        std::fs::copy(pki().join("ca.crt"), d.join("swanctl/x509ca/ca.crt")).unwrap();
        if role == "responder" {
            std::fs::copy(
                pki().join("responder.crt"),
                d.join("swanctl/x509/responder.crt"),
            )
            .unwrap();
            std::fs::copy(
                pki().join("responder.key"),
                d.join("swanctl/private/responder.key"),
            )
            .unwrap();
            (
                "auth = pubkey\n      certs = responder.crt\n      id = CN=interop-responder"
                    .to_string(),
                "auth = eap-mschapv2\n      eap_id = %any".to_string(),
            )
        } else {
            (
                format!("auth = eap-mschapv2\n      id = {sw_ip}\n      eap_id = {EAP_USER}"),
                format!("auth = pubkey\n      id = {us_ip}"),
            )
        }
    } else if cert {
        let (me, them) = if role == "responder" {
            ("responder", "initiator")
        } else {
            ("initiator", "responder")
        };
        std::fs::copy(
            pki().join(format!("{me}.crt")),
            d.join(format!("swanctl/x509/{me}.crt")),
        )
        .unwrap();
        std::fs::copy(
            pki().join(format!("{me}.key")),
            d.join(format!("swanctl/private/{me}.key")),
        )
        .unwrap();
        std::fs::copy(pki().join("ca.crt"), d.join("swanctl/x509ca/ca.crt")).unwrap();
        (
            format!("auth = pubkey\n      certs = {me}.crt\n      id = CN=interop-{me}"),
            format!("auth = pubkey\n      id = CN=interop-{them}"),
        )
    } else {
        (
            format!("auth = psk\n      id = {sw_ip}"),
            format!("auth = psk\n      id = {us_ip}"),
        )
    };
    let swanctl = format!(
        "connections {{\n  interop {{\n    version = 2\n    local_addrs = {sw_ip}\n    remote_addrs = {us_ip}\n    proposals = aes256-sha256-modp2048,aes128gcm16-prfsha256-x25519,aes128-sha1-modp2048\n    local {{\n      {lauth}\n    }}\n    remote {{\n      {rauth}\n    }}\n    children {{\n      net {{\n        mode = tunnel\n        local_ts = {sw_in}/32\n        remote_ts = {us_in}/32\n        esp_proposals = aes128gcm16,aes256-sha256,aes128-sha1\n        start_action = none\n      }}\n    }}\n  }}\n}}\nsecrets {{\n  ike-psk {{\n    id-1 = {RIP}\n    id-2 = {IIP}\n    secret = \"{PSK}\"\n  }}\n  eap-alice {{\n    id = {EAP_USER}\n    secret = \"{EAP_PW}\"\n  }}\n}}\n"
    );
    std::fs::write(d.join("swanctl/swanctl.conf"), swanctl).unwrap();
    let charon = sw
        .spawn(
            "env",
            &[
                &format!("STRONGSWAN_CONF={}/strongswan.conf", d.display()),
                CHARON,
            ],
            &dir.join("charon.out"),
        )
        .unwrap();
    let vici = d.join("charon.vici");
    let end = Instant::now() + Duration::from_secs(10);
    while !vici.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(vici.exists(), "charon did not start: {}", charon.log_text());
    let out = sw
        .exec(
            "env",
            &[
                &format!("SWANCTL_DIR={}/swanctl", d.display()),
                "swanctl",
                "--load-all",
                "--uri",
                &format!("unix://{}", vici.display()),
            ],
        )
        .unwrap();
    assert!(
        out.status.success(),
        "swanctl --load-all: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Sw {
        dir,
        _charon: Some(charon),
        ours: None,
        us,
        sw,
    }
}

impl Sw {
    fn charon_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sw/charon.log")).unwrap_or_default()
    }
    fn swanctl(&self, args: &[&str]) -> String {
        let d = self.dir.join("sw");
        let mut a = vec![
            format!("SWANCTL_DIR={}/swanctl", d.display()),
            "swanctl".to_string(),
        ];
        a.extend(args.iter().map(|s| s.to_string()));
        a.push("--uri".into());
        a.push(format!("unix://{}/charon.vici", d.display()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = self.sw.exec("env", &a);
        match o {
            Ok(o) => format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => e,
        }
    }
    /// Start our `ike` example in `ike-us`.
    fn start_ours(&mut self, responder: bool, auth: &str, extra: &[&str]) {
        let cert = auth == "cert";
        let (us_ip, sw_ip, us_in, sw_in) = if responder {
            (RIP, IIP, RIN, IIN)
        } else {
            (IIP, RIP, IIN, RIN)
        };
        let me = if responder { "responder" } else { "initiator" };
        let pk = pki();
        let cert_s = pk.join(format!("{me}.crt")).display().to_string();
        let key_s = pk.join(format!("{me}.key")).display().to_string();
        let ca_s = pk.join("ca.crt").display().to_string();
        let pcap = self.dir.join("ours.pcap").display().to_string();
        let ws = self.dir.join("ws").display().to_string();
        let (lts, rts) = (format!("{us_in}/32"), format!("{sw_in}/32"));
        let mut args: Vec<&str> = vec![
            "--local",
            us_ip,
            "--remote",
            sw_ip,
            "--local-ts",
            &lts,
            "--remote-ts",
            &rts,
            "--tun",
            "ikeus",
            "--pcap",
            &pcap,
            "--wireshark-dir",
            &ws,
            "--duration",
            "40",
        ];
        if responder {
            args.push("--responder");
        }
        if auth == "eap" {
            args.extend([
                "--eap-user",
                EAP_USER,
                "--eap-password",
                EAP_PW,
                "--ca",
                &ca_s,
            ]);
            if responder {
                args.extend(["--cert", &cert_s, "--key", &key_s]);
            }
        } else if cert {
            args.extend(["--cert", &cert_s, "--key", &key_s, "--ca", &ca_s]);
        } else {
            args.extend(["--psk", PSK]);
        }
        args.extend_from_slice(extra);
        let p = self
            .us
            .spawn(env!("CARGO_BIN_EXE_ike"), &args, &self.dir.join("ours.log"))
            .unwrap();
        p.wait_log("ike: ", Duration::from_secs(10)).unwrap();
        self.ours = Some(p);
    }
    fn ours_log(&self) -> String {
        self.ours.as_ref().map(|p| p.log_text()).unwrap_or_default()
    }
    fn ping_from(
        &self,
        ns: &Netns,
        src: &str,
        dst: &str,
        count: u32,
        interval: &str,
    ) -> (u32, String) {
        let o = ns.exec(
            "ping",
            &[
                "-c",
                &count.to_string(),
                "-i",
                interval,
                "-W",
                "2",
                "-I",
                src,
                dst,
            ],
        );
        let text = match o {
            Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
            Err(e) => e,
        };
        let got = text
            .lines()
            .find_map(|l| {
                l.split(", ")
                    .nth(1)
                    .and_then(|x| x.strip_suffix(" received"))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0);
        (got, text)
    }
}

fn wait_log(what: &str, max: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + max;
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn assert_strongswan_up(sw: &Sw) {
    let log = sw.charon_log();
    assert!(
        log.contains("kernel-libipsec"),
        "strongSwan's userspace ESP plugin loaded"
    );
    assert!(
        log.contains("IKE_SA interop[1] established"),
        "strongSwan log:\n{log}"
    );
    assert!(
        log.contains("CHILD_SA net{1} established"),
        "strongSwan log:\n{log}"
    );
}

fn we_initiate(test: &str, auth: &str, rekey: bool) {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !peer_available(
        "strongSwan 5.9 (charon-systemd, kernel-libipsec)",
        check_peer(),
    ) {
        return;
    }
    let t0 = Instant::now();
    let mut sw = start_strongswan(test, "responder", auth);
    let extra: &[&str] = if rekey {
        &["--rekey-child-after", "2"]
    } else {
        &[]
    };
    sw.start_ours(false, auth, extra);
    wait_log("our CHILD_SA", Duration::from_secs(10), || {
        sw.ours_log().contains("CHILD_SA up")
    });
    assert!(sw.ours_log().contains("initiator=true"));
    let (got, text) = if rekey {
        // 25 pings over 5 s; the rekey happens 2 s after the first Child SA came up.
        sw.ping_from(&sw.us, IIN, RIN, 25, "0.2")
    } else {
        sw.ping_from(&sw.us, IIN, RIN, 3, "0.3")
    };
    assert_strongswan_up(&sw);
    if rekey {
        assert!(
            got >= 24,
            "ping through the rekey: {text}\nours:\n{}",
            sw.ours_log()
        );
        let ours = sw.ours_log();
        assert!(
            ours.contains("rekey_of=Some(1)"),
            "our rekeyed CHILD_SA:\n{ours}"
        );
        assert!(
            ours.contains("reason=Rekeyed"),
            "old CHILD_SA deleted:\n{ours}"
        );
        let log = sw.charon_log();
        assert!(
            log.contains("CHILD_SA net{2} established"),
            "strongSwan installed the rekeyed SA:\n{log}"
        );
        // A second implementation decrypts and re-encrypts every ESP packet byte-exact.
        std::thread::sleep(Duration::from_millis(300));
        let out = std::process::Command::new("/usr/bin/python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/ipsec-ike/esp_check.py"))
            .arg(sw.dir.join("ours.pcap"))
            .arg(sw.dir.join("ws/esp_sa"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!(
            "{}{}",
            text.lines().rev().take(3).collect::<Vec<_>>().join("\n"),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "scapy ESP check:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(", 0 mismatches"));
        // tshark decrypts every ESP packet and the IKE_AUTH SK payloads with the
        // Wireshark tables the example exported.
        if have_program("tshark").is_ok() {
            let tshark = |filter: &str| {
                let o = std::process::Command::new("tshark")
                    .env("WIRESHARK_CONFIG_DIR", sw.dir.join("ws"))
                    .args([
                        "-r",
                        sw.dir.join("ours.pcap").to_str().unwrap(),
                        "-o",
                        "esp.enable_encryption_decode:TRUE",
                        "-Y",
                        filter,
                    ])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&o.stdout).lines().count()
            };
            let esp_total: usize = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("scapy: ")
                        .and_then(|r| r.split(' ').next())
                        .and_then(|n| n.parse().ok())
                })
                .unwrap_or(0);
            assert_eq!(
                tshark("icmp"),
                esp_total,
                "every ESP packet decrypts in tshark"
            );
            assert_eq!(
                tshark("isakmp.auth.data"),
                2,
                "both IKE_AUTH SK payloads decrypt in tshark"
            );
            assert_eq!(tshark("_ws.malformed"), 0);
        } else {
            eprintln!("*** tshark missing: the Wireshark-table check was not run");
        }
    } else {
        assert_eq!(got, 3, "{text}");
    }
    if auth == "eap" {
        let log = sw.charon_log();
        assert!(
            log.contains("EAP method EAP_MSCHAPV2 succeeded, MSK established"),
            "strongSwan log:\n{log}"
        );
    }
    let sas = sw.swanctl(&["--list-sas"]);
    assert!(sas.contains("ESTABLISHED"), "{sas}");
    eprintln!("interop {test}: {:.1} s", t0.elapsed().as_secs_f64());
}

fn strongswan_initiates(test: &str, auth: &str) {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !peer_available(
        "strongSwan 5.9 (charon-systemd, kernel-libipsec)",
        check_peer(),
    ) {
        return;
    }
    let t0 = Instant::now();
    let mut sw = start_strongswan(test, "initiator", auth);
    sw.start_ours(true, auth, &[]);
    let out = sw.swanctl(&["--initiate", "--child", "net", "--timeout", "15"]);
    assert!(out.contains("initiate completed successfully"), "{out}");
    wait_log("our CHILD_SA", Duration::from_secs(5), || {
        sw.ours_log().contains("CHILD_SA up")
    });
    assert!(sw.ours_log().contains("initiator=false"));
    let (got, text) = sw.ping_from(&sw.sw, IIN, RIN, 3, "0.3");
    assert_eq!(got, 3, "{text}");
    assert_strongswan_up(&sw);
    if auth != "psk" {
        assert!(
            sw.charon_log()
                .contains("authentication of 'CN=interop-responder' with")
                || sw
                    .charon_log()
                    .contains("authentication of '10.99.3.1' with RSA"),
            "strongSwan verified our RSA signature"
        );
    }
    if auth == "eap" {
        let log = sw.charon_log();
        assert!(
            log.contains("EAP method EAP_MSCHAPV2 succeeded, MSK established"),
            "strongSwan log:\n{log}"
        );
    }
    eprintln!("interop {test}: {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
fn interop_strongswan_psk_we_initiate_rekey_during_traffic_scapy_esp() {
    // The ESP cross-check runs scapy under /usr/bin/python3: without it a loud skip (a failure
    // only with CI=true), like a missing strongSwan, never a panic half-way through the run.
    let scapy = check_peer().and_then(|_| {
        std::process::Command::new("/usr/bin/python3")
            .args(["-c", "import scapy"])
            .output()
            .map_err(|e| format!("/usr/bin/python3: {e}"))
            .and_then(|o| {
                o.status
                    .success()
                    .then_some(())
                    .ok_or_else(|| "python3 module scapy missing (python3-scapy)".to_string())
            })
    });
    if !peer_available("strongSwan 5.9 + python3-scapy (ESP cross-check)", scapy) {
        return;
    }
    we_initiate("psk-init", "psk", true);
}

#[test]
fn interop_strongswan_psk_strongswan_initiates() {
    strongswan_initiates("psk-resp", "psk");
}

#[test]
fn interop_strongswan_cert_we_initiate() {
    we_initiate("cert-init", "cert", false);
}

#[test]
fn interop_strongswan_cert_strongswan_initiates() {
    strongswan_initiates("cert-resp", "cert");
}

#[test]
fn interop_strongswan_eap_mschapv2_we_initiate() {
    we_initiate("eap-init", "eap", false);
}

#[test]
fn interop_strongswan_eap_mschapv2_strongswan_initiates() {
    strongswan_initiates("eap-resp", "eap");
}
