//! L2TP/IPsec between our own programs on real sockets (issue 18): `l2tp-server
//! --use-ipsec require --ipsec-secret` and `l2tp-client --use-ipsec --ipsec-secret` in two
//! network namespaces this test creates (`l2tpis-s` 10.95.1.1, `l2tpis-c` 10.95.1.2, one
//! veth), IKEv1 main mode + quick mode (transport, ESP in UDP 4500) in user space, then L2TP,
//! PPP, IPCP and three pings through the tunnel. A second client without IPsec is refused:
//! no tunnel comes up and the server's `not-ipsec` drop counter is positive. `tcpdump` on the
//! server's veth shows what crossed the wire: IKE on 500/4500 and ESP in UDP 4500 for the
//! IPsec client, cleartext UDP 1701 only from the plain client (never an answer to it).
//!
//! A second test runs `use-ipsec yes`: an IPsec client and a plain client on one server, both
//! to pings, nothing counted as not-ipsec.
//!
//! Needs root, `ip` and `tcpdump`; skipped loudly otherwise (a failure with `CI=true`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use examples::interop::{peer_available, require_tools, run, scratch_dir, veth, Netns};

const SRV: &str = "10.95.1.1";
const CLI: &str = "10.95.1.2";

/// (source port, destination port) of every UDP datagram in a `tcpdump -nn -r` listing.
fn udp_ports(listing: &str) -> Vec<(String, u16, String, u16)> {
    let port = |s: &str| -> Option<(String, u16)> {
        let s = s.trim_end_matches(':');
        let (a, p) = s.rsplit_once('.')?;
        Some((a.to_string(), p.parse().ok()?))
    };
    listing
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w.iter().position(|x| *x == ">")?;
            let (sa, sp) = port(w.get(i - 1)?)?;
            let (da, dp) = port(w.get(i + 1)?)?;
            Some((sa, sp, da, dp))
        })
        .collect()
}

#[test]
fn l2tp_over_ipsec_our_client_our_server_require_refuses_plain() {
    if !peer_available(
        "root + network namespaces + tcpdump",
        require_tools(&["ip", "tcpdump"]),
    ) {
        return;
    }
    let dir = scratch_dir("l2tp-ipsec-netns");
    let s = Netns::new("l2tpis-s").unwrap();
    let c = Netns::new("l2tpis-c").unwrap();
    veth(
        &s,
        "l2tpis0",
        &format!("{SRV}/24"),
        &c,
        "l2tpis1",
        &format!("{CLI}/24"),
    )
    .unwrap();
    let pcap = dir.join("wire.pcap");
    let pcap_s = pcap.to_string_lossy().to_string();
    let dump = s
        .spawn(
            "tcpdump",
            &["-i", "l2tpis0", "-nn", "-U", "-w", &pcap_s, "udp"],
            &dir.join("tcpdump.log"),
        )
        .unwrap();
    dump.wait_log("listening on", Duration::from_secs(5))
        .unwrap();
    let srv = s
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-server"),
            &[
                SRV,
                "--user",
                "alice:pw1",
                "--pool",
                "10.97.61.10-10.97.61.20",
                "--local",
                "10.97.61.1",
                "--use-ipsec",
                "require",
                "--ipsec-secret",
                "s3cret-psk",
                "--hold",
                "60",
            ],
            &dir.join("server.log"),
        )
        .unwrap();
    srv.wait_log("IPSEC LISTENING", Duration::from_secs(5))
        .unwrap();

    // The IPsec client: IKE, then L2TP/PPP inside ESP, three pings answered by the server.
    let cli = c
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-client"),
            &[
                SRV,
                "--user",
                "alice",
                "--password",
                "pw1",
                "--use-ipsec",
                "--ipsec-secret",
                "s3cret-psk",
                "--ping",
                "10.97.61.1",
                "--count",
                "3",
                "--hold",
                "20",
            ],
            &dir.join("client.log"),
        )
        .unwrap();
    let clog = cli.wait_exit(Duration::from_secs(30));
    assert!(clog.contains("IPSEC UP"), "client log:\n{clog}");
    assert!(
        clog.contains("IPCP UP local=10.97.61."),
        "client log:\n{clog}"
    );
    assert_eq!(
        clog.matches("PING REPLY from 10.97.61.1").count(),
        3,
        "client log:\n{clog}"
    );

    // A plain L2TP client: refused (no TUNNEL UP), counted by the server.
    let plain = c
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-client"),
            &[SRV, "--user", "alice", "--password", "pw1", "--hold", "3"],
            &dir.join("plain.log"),
        )
        .unwrap();
    let plog = plain.wait_exit(Duration::from_secs(15));
    assert!(!plog.contains("TUNNEL UP"), "plain client log:\n{plog}");

    let slog = srv.stop(Duration::from_secs(10));
    let _ = dump.stop(Duration::from_secs(5));
    assert!(slog.contains("IPSEC UP"), "server log:\n{slog}");
    assert!(slog.contains("PING from"), "server log:\n{slog}");
    let dropped: u64 = slog
        .lines()
        .find_map(|l| l.strip_prefix("DROPPED not-ipsec="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no DROPPED line; server log:\n{slog}"));
    assert!(dropped >= 1, "server log:\n{slog}");
    let stats = slog
        .lines()
        .find(|l| l.starts_with("IPSEC STATS"))
        .unwrap_or_else(|| panic!("no IPSEC STATS; server log:\n{slog}"));
    // The client said goodbye: Delete of the ESP pair, then of the ISAKMP SA.
    assert!(
        slog.contains("IPSEC DOWN 10.95.1.2:500 ISAKMP SA deleted by the peer"),
        "server log:\n{slog}"
    );
    assert!(stats.contains("sas=0 "), "{stats}");
    assert!(!stats.contains("esp-in=0 "), "{stats}");
    assert!(
        stats.contains("esp-dropped=0 esp-not-l2tp=0 ike-dropped=0"),
        "{stats}"
    );

    // The wire: IKE and ESP between the IPsec peers; cleartext 1701 only from the plain
    // client towards the server, never from the server.
    let out = run("tcpdump", &["-nn", "-r", &pcap_s]).unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let ports = udp_ports(&listing);
    let natt = ports.iter().filter(|p| p.1 == 4500 && p.3 == 4500).count();
    assert!(natt >= 20, "ESP in UDP 4500 expected:\n{listing}");
    assert!(ports.iter().any(|p| p.1 == 500 && p.3 == 500), "{listing}");
    let from_server_1701 = ports.iter().filter(|p| p.0 == SRV && p.1 == 1701).count();
    assert_eq!(
        from_server_1701, 0,
        "server sent cleartext L2TP:\n{listing}"
    );
    let plain_1701 = ports.iter().filter(|p| p.3 == 1701).count();
    assert!(plain_1701 >= 1, "the plain client's SCCRQs:\n{listing}");
    // Every 1701 datagram is the plain client's: the IPsec client sent none (its L2TP went
    // inside ESP), so their number equals what the server counted as not-ipsec.
    assert_eq!(plain_1701 as u64, dropped, "{listing}\n{slog}");
    drop((s, c));
}

/// `use-ipsec=yes` (the RouterOS value): the same server takes an IPsec client and a plain
/// L2TP client, both to IPCP and pings; nothing is counted as not-ipsec.
#[test]
fn use_ipsec_yes_serves_ipsec_and_plain_clients() {
    if !peer_available("root + network namespaces", require_tools(&["ip"])) {
        return;
    }
    let (srv_ip, cli_ip) = ("10.95.2.1", "10.95.2.2");
    let dir = scratch_dir("l2tp-ipsec-netns-yes");
    let s = Netns::new("l2tpiy-s").unwrap();
    let c = Netns::new("l2tpiy-c").unwrap();
    veth(
        &s,
        "l2tpiy0",
        &format!("{srv_ip}/24"),
        &c,
        "l2tpiy1",
        &format!("{cli_ip}/24"),
    )
    .unwrap();
    let srv = s
        .spawn(
            env!("CARGO_BIN_EXE_l2tp-server"),
            &[
                srv_ip,
                "--user",
                "alice:pw1",
                "--pool",
                "10.97.62.10-10.97.62.20",
                "--local",
                "10.97.62.1",
                "--use-ipsec",
                "yes",
                "--ipsec-secret",
                "s3cret-psk",
                "--hold",
                "60",
            ],
            &dir.join("server.log"),
        )
        .unwrap();
    srv.wait_log("IPSEC LISTENING", Duration::from_secs(5))
        .unwrap();
    let client = |name: &str, ipsec: bool| {
        let mut a = vec![
            srv_ip,
            "--user",
            "alice",
            "--password",
            "pw1",
            "--ping",
            "10.97.62.1",
            "--count",
            "2",
            "--hold",
            "20",
        ];
        if ipsec {
            a.extend(["--use-ipsec", "--ipsec-secret", "s3cret-psk"]);
        }
        c.spawn(env!("CARGO_BIN_EXE_l2tp-client"), &a, &dir.join(name))
            .unwrap()
    };
    let (a, b) = (client("ipsec.log", true), client("plain.log", false));
    let (alog, blog) = (
        a.wait_exit(Duration::from_secs(30)),
        b.wait_exit(Duration::from_secs(30)),
    );
    let slog = srv.stop(Duration::from_secs(10));
    for (log, ipsec) in [(&alog, true), (&blog, false)] {
        assert_eq!(log.contains("IPSEC UP"), ipsec, "{log}");
        assert_eq!(
            log.matches("PING REPLY from 10.97.62.1").count(),
            2,
            "{log}\n\nserver:\n{slog}"
        );
    }
    assert!(slog.contains("DROPPED not-ipsec=0"), "{slog}");
    assert_eq!(slog.matches("IPCP UP").count(), 2, "{slog}");
}
