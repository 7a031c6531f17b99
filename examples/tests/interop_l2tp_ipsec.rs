//! Interop (issue 18): strongSwan 5.9.8's charon (IKEv1 main mode, pre-shared key, quick mode
//! in transport mode, `encap = yes`, the way an L2TP/IPsec client sets it up for UDP 1701)
//! against the IPsec responder of our `l2tp-server --use-ipsec require` (namespaces
//! `l2tpsw-c` 10.95.7.2 with charon, `l2tpsw-s` 10.95.7.1 with our server), and the other way
//! round, our `l2tp-client --use-ipsec` against charon as the responder (`l2tpsr-*`,
//! 10.95.8.0/24). Each test creates its own namespaces.
//!
//! What runs here is the IKE half: this host has no kernel ESP and no `/dev/ppp`, and
//! strongSwan's user-space `kernel-libipsec` does tunnel mode only, so charon cannot install
//! a transport-mode SA and no xl2tpd/pppd can follow (that full client needs the lab VM).
//! Asserted: phase 1 completes on both sides (charon logs `IKE_SA ... established`, our
//! server `IKE ... Phase1Up`), charon accepts our quick mode 2 (`selected proposal`
//! ESP:AES_CBC_256/HMAC_SHA1_96 in UDP-encapsulated transport mode), and our server counted
//! no refused proposal. If charon does get its SA installed, our server's `IPSEC UP` is
//! checked too.
//!
//! Needs root, `ip`, charon-systemd and swanctl; skipped loudly otherwise (a failure with
//! `CI=true`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use examples::interop::{have_program, peer_available, scratch_dir, veth, Netns};

const CHARON: &str = "/usr/sbin/charon-systemd";
const SRV: &str = "10.95.7.1";
const CLI: &str = "10.95.7.2";
const PSK: &str = "l2tp-ipsec-psk-7";

fn check() -> Result<(), String> {
    have_program(CHARON)?;
    have_program("swanctl")?;
    have_program("ip")
}

#[test]
fn strongswan_ikev1_transport_psk_against_our_l2tp_server() {
    if !peer_available("strongSwan charon (IKEv1)", check()) {
        return;
    }
    let dir = scratch_dir("l2tp-ipsec-strongswan");
    let s = Netns::new("l2tpsw-s").unwrap();
    let c = Netns::new("l2tpsw-c").unwrap();
    veth(
        &s,
        "l2tpsw0",
        &format!("{SRV}/24"),
        &c,
        "l2tpsw1",
        &format!("{CLI}/24"),
    )
    .unwrap();
    let srv = s
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-server"),
            &[
                SRV,
                "--user",
                "alice:pw1",
                "--use-ipsec",
                "require",
                "--ipsec-secret",
                PSK,
                "--hold",
                "60",
            ],
            &dir.join("server.log"),
        )
        .unwrap();
    srv.wait_log("IPSEC LISTENING", Duration::from_secs(5))
        .unwrap();

    let (charon, swan, d) = start_charon(&c, &dir, CLI, SRV);
    // Initiate the child (main mode, then quick mode); its outcome is read from the logs.
    let _ = swan(&["--initiate", "--child", "l2tp", "--timeout", "15"]);
    let clog = std::fs::read_to_string(d.join("charon.log")).unwrap_or_default();
    let slog = srv.stop(Duration::from_secs(10));
    let _ = charon.stop(Duration::from_secs(5));
    let both = format!("charon log:\n{clog}\n\nserver log:\n{slog}");
    assert!(
        clog.contains("IKE_SA l2tp[1] established"),
        "phase 1 not established: {both}"
    );
    assert!(slog.contains("Phase1Up"), "{both}");
    assert!(
        clog.contains("selected proposal: ESP:AES_CBC_256/HMAC_SHA1_96"),
        "charon did not take our quick mode 2: {both}"
    );
    assert!(!slog.contains("no acceptable"), "{both}");
    if clog.contains("CHILD_SA l2tp{1} established") {
        assert!(slog.contains("IPSEC UP"), "{both}");
    }
}

/// The other direction: our `l2tp-client --use-ipsec` initiates IKEv1 towards charon as the
/// responder (as an L2TP/IPsec client dials a strongSwan + xl2tpd server). Asserted: phase 1
/// up on both sides and our client's `IPSEC UP` after charon's quick mode 2; charon cannot
/// install the transport SA here (see the module docs), so nothing answers the L2TP inside.
#[test]
fn our_l2tp_client_ikev1_against_strongswan_responder() {
    if !peer_available("strongSwan charon (IKEv1)", check()) {
        return;
    }
    let (sip, cip) = ("10.95.8.1", "10.95.8.2");
    let dir = scratch_dir("l2tp-ipsec-strongswan-resp");
    let s = Netns::new("l2tpsr-s").unwrap();
    let c = Netns::new("l2tpsr-c").unwrap();
    veth(
        &s,
        "l2tpsr0",
        &format!("{sip}/24"),
        &c,
        "l2tpsr1",
        &format!("{cip}/24"),
    )
    .unwrap();
    let (charon, _swan, d) = start_charon(&s, &dir, sip, cip);
    let cli = c
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-client"),
            &[
                sip,
                "--user",
                "alice",
                "--password",
                "pw1",
                "--use-ipsec",
                "--ipsec-secret",
                PSK,
                "--hold",
                "4",
            ],
            &dir.join("client.log"),
        )
        .unwrap();
    let clog = cli.wait_exit(Duration::from_secs(20));
    let swlog = std::fs::read_to_string(d.join("charon.log")).unwrap_or_default();
    let _ = charon.stop(Duration::from_secs(5));
    let both = format!("charon log:\n{swlog}\n\nclient log:\n{clog}");
    assert!(swlog.contains("IKE_SA l2tp[1] established"), "{both}");
    assert!(clog.contains("IKE Phase1Up"), "{both}");
    assert!(
        swlog.contains("selected proposal: ESP:AES_CBC_256/HMAC_SHA1_96"),
        "{both}"
    );
    assert!(clog.contains("IPSEC UP spi_in="), "{both}");
    // charon deletes the child it could not install: our client decrypts and obeys its
    // informational Delete.
    if swlog.contains("sending DELETE for ESP CHILD_SA") {
        assert!(clog.contains("IKE ChildDeleted"), "{both}");
    }
}

/// charon in `ns` with the L2TP/IPsec connection `me` <-> `peer` loaded; returns the process,
/// a `swanctl` runner and charon's folder.
#[allow(clippy::type_complexity)]
fn start_charon<'a>(
    ns: &'a Netns,
    dir: &Path,
    me: &str,
    peer: &str,
) -> (
    examples::interop::Proc,
    Box<dyn Fn(&[&str]) -> Result<std::process::Output, String> + 'a>,
    std::path::PathBuf,
) {
    let (local, remote) = (me, peer);
    let d = dir.join("sw");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("swanctl")).unwrap();
    let kernel_libipsec =
        Path::new("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so").exists();
    let conf = format!(
        "charon {{\n  load_modular = yes\n  retransmit_tries = 3\n  plugins {{\n    include /etc/strongswan.d/charon/*.conf\n    vici {{ socket = unix://{d}/charon.vici }}\n    kernel-libipsec {{ load = {kl} }}\n    curl {{ load = no }}\n    ldap {{ load = no }}\n    resolve {{ load = no }}\n    eap-radius {{ load = no }}\n    ha {{ load = no }}\n  }}\n  filelog {{\n    charon-log {{\n      path = {d}/charon.log\n      default = 1\n      ike = 2\n      cfg = 2\n      knl = 1\n      append = no\n      flush_line = yes\n    }}\n  }}\n}}\ncharon-systemd {{ journal {{ default = -1 }} }}\n",
        d = d.display(),
        kl = if kernel_libipsec { "yes" } else { "no" }
    );
    std::fs::write(d.join("strongswan.conf"), conf).unwrap();
    // The L2TP/IPsec client side as Windows/macOS/RouterOS set it up: IKEv1 main mode, PSK,
    // transport mode between the two addresses, one proposal each (ours: AES-256/SHA-256/
    // MODP-2048 in phase 1, ESP AES-256-CBC + HMAC-SHA1-96 in phase 2, no PFS).
    let swanctl = format!(
        "connections {{\n  l2tp {{\n    version = 1\n    local_addrs = {local}\n    remote_addrs = {remote}\n    proposals = aes256-sha256-modp2048\n    encap = yes\n    local {{\n      auth = psk\n      id = {local}\n    }}\n    remote {{\n      auth = psk\n      id = {remote}\n    }}\n    children {{\n      l2tp {{\n        mode = transport\n        esp_proposals = aes256-sha1\n        start_action = none\n      }}\n    }}\n  }}\n}}\nsecrets {{\n  ike-psk {{\n    id-1 = {remote}\n    id-2 = {local}\n    secret = \"{PSK}\"\n  }}\n}}\n"
    );
    std::fs::write(d.join("swanctl/swanctl.conf"), swanctl).unwrap();
    let charon = ns
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
    let uri = format!("unix://{}", vici.display());
    let sw_dir = format!("SWANCTL_DIR={}/swanctl", d.display());
    let swan = move |args: &[&str]| {
        let mut a = vec![sw_dir.clone(), "swanctl".to_string()];
        a.extend(args.iter().map(|x| x.to_string()));
        a.push("--uri".into());
        a.push(uri.clone());
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        ns.exec("env", &a)
    };
    let out = swan(&["--load-all"]).unwrap();
    assert!(
        out.status.success(),
        "swanctl --load-all: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (charon, Box::new(swan), d)
}
