//! A program run end to end from a RouterOS `.rsc` file (issue 26): `gre-tunnel --config` with
//! the README's sample `examples/rsc/gre.rsc` (site 1 of seed 003 L795, L803) in namespace
//! `rpnet-rsc-a`, and site 2 of the same example (seed 003 L798, L808) in `rpnet-rsc-b`,
//! joined by a veth that carries the seed's outer addresses (192.168.80.1 <-> 192.168.90.1).
//! Evidence: a ping from 172.16.1.1 to 172.16.1.2 crosses the GRE tunnel the two files
//! describe; both programs report the tunnel from the file (`myGre`, GRE, the seed's
//! addresses). Needs root, `ip`, `ping` (a loud skip otherwise, a failure with `CI=true`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use examples::interop::{peer_available, require_tools, scratch_dir, veth, Netns};

const BIN: &str = env!("CARGO_BIN_EXE_gre-tunnel");

#[test]
fn gre_tunnel_from_the_sample_rsc_files() {
    if !peer_available(
        "root + network namespaces + ip, ping",
        require_tools(&["ip", "ping"]),
    ) {
        return;
    }
    let a = Netns::new("rpnet-rsc-a").unwrap();
    let b = Netns::new("rpnet-rsc-b").unwrap();
    veth(
        &a,
        "rprsc-va",
        "192.168.80.1/32",
        &b,
        "rprsc-vb",
        "192.168.90.1/32",
    )
    .unwrap();
    a.exec(
        "ip",
        &["route", "add", "192.168.90.1/32", "dev", "rprsc-va"],
    )
    .unwrap();
    b.exec(
        "ip",
        &["route", "add", "192.168.80.1/32", "dev", "rprsc-vb"],
    )
    .unwrap();
    let dir = scratch_dir("interop_rsc");
    let site1 = concat!(env!("CARGO_MANIFEST_DIR"), "/rsc/gre.rsc");
    let site2 = dir.join("gre-site2.rsc");
    std::fs::write(
        &site2,
        "# seed 003 L798, L808-809 (site 2)\n\
         /interface gre add name=myGre remote-address=192.168.80.1 local-address=192.168.90.1\n\
         /ip address add address=172.16.1.2/30 interface=myGre\n\
         /ip route add dst-address=10.1.101.0/24 gateway=172.16.1.1\n",
    )
    .unwrap();
    let site2 = site2.to_string_lossy().into_owned();
    let pa = a
        .spawn(
            BIN,
            &["--config", site1, "--duration", "12"],
            &dir.join("a.log"),
        )
        .unwrap();
    let pb = b
        .spawn(
            BIN,
            &["--config", &site2, "--duration", "12"],
            &dir.join("b.log"),
        )
        .unwrap();
    pa.wait_log("gre-tunnel: gre 192.168.80.1", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", pa.log_text()));
    pb.wait_log("gre-tunnel: gre 192.168.90.1", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", pb.log_text()));
    let end = Instant::now() + Duration::from_secs(8);
    let mut last = String::new();
    while Instant::now() < end {
        let out = a
            .exec("ping", &["-c", "1", "-W", "1", "172.16.1.2"])
            .unwrap();
        last = String::from_utf8_lossy(&out.stdout).to_string();
        if last.contains("from 172.16.1.2") {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let la = pa.wait_exit(Duration::from_secs(30));
    let lb = pb.wait_exit(Duration::from_secs(30));
    assert!(
        last.contains("from 172.16.1.2"),
        "no ping across the tunnel of the .rsc files:\n{last}\n--- a\n{la}\n--- b\n{lb}"
    );
    assert!(la.contains("myGre") && lb.contains("myGre"), "{la}\n{lb}");
    // The route of the export is another menu: noted with its line, not an error.
    assert!(la.contains("/ip route add"), "{la}");
    eprintln!(
        "[rsc] gre-tunnel --config: {}",
        last.lines().nth(1).unwrap_or("")
    );
}
