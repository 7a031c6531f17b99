//! Every example binary is a real command-line tool (issue 26): `--help` exits 0 with a
//! description and documents every option (each one with a line of text), `--version` exits 0,
//! and a bad value for an option is refused with a non-zero exit and a message naming the
//! option (and, for enumerations, the allowed values).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

/// One binary (or one of its subcommands): the words before `--help`, the description's
/// opening, the options the help must document, and the aliases it must show.
struct Help {
    bin: &'static str,
    sub: &'static [&'static str],
    about: &'static str,
    options: &'static [&'static str],
    aliases: &'static [&'static str],
}

/// A bad value: the arguments, the option the error must name, and whether it is an
/// enumeration (then the message lists the possible values).
struct Bad {
    bin: &'static str,
    args: &'static [&'static str],
    names: &'static str,
    enumeration: bool,
}

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("{bin}: {e}"))
}

const HELPS: &[Help] = &[
    Help {
        bin: env!("CARGO_BIN_EXE_gre-tunnel"),
        sub: &[],
        about: "A real GRE / gretap / EoIP / EoIPv6 / IPIP / 6to4 / gre6 / ipipv6 tunnel endpoint",
        options: &[
            "--config",
            "--mode",
            "--local",
            "--remote",
            "--addr",
            "--dont-fragment",
            "--tun",
            "--key",
            "--tunnel-id",
            "--keepalive",
            "--duration",
            "--pcap",
        ],
        aliases: &["--ifname"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_ike"),
        sub: &[],
        about: "An IKEv2 initiator/responder on UDP 500/4500",
        options: &[
            "--local",
            "--remote",
            "--config",
            "--peer",
            "--peer-address",
            "--responder",
            "--secret",
            "--cert",
            "--key",
            "--ca",
            "--eap-user",
            "--eap-password",
            "--local-ts",
            "--remote-ts",
            "--tun",
            "--ike-enc",
            "--hash",
            "--dh",
            "--esp-enc",
            "--esp-auth",
            "--pfs",
            "--my-id",
            "--remote-id",
            "--lifetime",
            "--rekey-child-after",
            "--pcap",
            "--wireshark-dir",
            "--duration",
        ],
        aliases: &["--psk"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_ike-load"),
        sub: &[],
        about: "IKEv2 load generator",
        options: &[
            "--local",
            "--remote",
            "--secret",
            "--count",
            "--inflight",
            "--timeout",
        ],
        aliases: &["--psk"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_l2tp-client"),
        sub: &[],
        about: "RouterOS-style L2TP client (`/interface l2tp-client`)",
        options: &[
            "--config",
            "--name",
            "--user",
            "--password",
            "--secret",
            "--duration",
            "--ping",
            "--count",
            "--pcap",
            "--tun",
            "--add-default-route",
            "--default-route-distance",
            "--use-peer-dns",
            "--allow",
            "--max-mtu",
            "--max-mru",
            "--keepalive-timeout",
            "--ipv6",
            "--use-ipsec",
            "--ipsec-secret",
        ],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_l2tp-ctl"),
        sub: &["lac"],
        about: "LAC: tunnel (SCCRQ..SCCCN) and one incoming call",
        options: &["--secret", "--duration", "--port"],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_l2tp-ctl"),
        sub: &["lns"],
        about: "LNS on BIND_IP:1701",
        options: &["--secret", "--duration"],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_l2tp-ctl"),
        sub: &[],
        about: "The `l2tp` crate's control plane (RFC 2661) on a real UDP socket",
        options: &[],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_l2tp-ether"),
        sub: &[],
        about: "RouterOS unmanaged \"L2TP Ether\" interface",
        options: &[
            "--local",
            "--remote",
            "--local-session",
            "--remote-session",
            "--tap",
            "--config",
            "--name",
            "--encap",
            "--local-port",
            "--remote-port",
            "--send-cookie",
            "--peer-cookie",
            "--sublayer",
            "--addr",
            "--mtu",
            "--duration",
        ],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_l2tp-server"),
        sub: &[],
        about: "RouterOS-style L2TP server (`/interface l2tp-server server`)",
        options: &[
            "--config",
            "--port",
            "--local",
            "--pool",
            "--user",
            "--secret",
            "--dns",
            "--duration",
            "--pcap",
            "--tun",
            "--authentication",
            "--max-mtu",
            "--max-mru",
            "--keepalive-timeout",
            "--max-sessions",
            "--one-session-per-host",
            "--use-ipsec",
            "--ipsec-secret",
            "--radius",
            "--radius-secret",
            "--radius-accounting",
            "--radius-interim",
            "--radius-incoming",
        ],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_l2tp-v3"),
        sub: &[],
        about: "Managed L2TPv3 (RFC 3931) on real sockets",
        options: &[],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_l2tp-v3"),
        sub: &["lcce"],
        about: "Initiator (`l2tp::v3::ControlConnectionV3`)",
        options: &[
            "--encap",
            "--secret",
            "--sessions",
            "--outgoing",
            "--circuit-down",
            "--frames",
            "--duration",
        ],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_l2tp-v3"),
        sub: &["lns"],
        about: "`l2tp::server::Lns` serving L2TPv3",
        options: &["--encap", "--secret", "--duration"],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_ovpn-client"),
        sub: &[],
        about: "OpenVPN client over the sans-IO `ovpn` crate",
        options: &[
            "--config",
            "--remote",
            "--verify-name",
            "--proto",
            "--ca",
            "--cert",
            "--key",
            "--tls-auth",
            "--key-direction",
            "--tls-crypt",
            "--tls-crypt-v2",
            "--cipher",
            "--data-ciphers",
            "--auth",
            "--p2p",
            "--ping",
            "--ping-restart",
            "--reneg-sec",
            "--hand-window",
            "--duration",
            "--user",
            "--pass",
            "--pcap",
            "--compress",
            "--explicit-exit-notify",
            "--no-cc-exit",
            "--auth-gen-token",
            "--fragment",
            "--route-nopull",
            "--crypto",
            "--tls-1.2",
            "--remote-cert-tls",
            "--verify-x509-name",
            "--dev",
            "--dev-name",
            "--ifconfig",
            "--tun-mtu",
            "NAME=VALUE",
        ],
        aliases: &["--seconds"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_ovpn-server"),
        sub: &[],
        about: "OpenVPN server over the sans-IO `ovpn` crate",
        options: &[
            "--config",
            "--listen",
            "--require-client-cert",
            "--pool-base",
            "--no-stateless",
            "--max-clients",
            "--max-conns",
            "--max-conns-per-source",
            "--handshake-timeout",
            "--idle-timeout",
            "--stats",
            "--proto",
            "--ca",
            "--cert",
            "--key",
            "--tls-auth",
            "--key-direction",
            "--tls-crypt",
            "--tls-crypt-v2",
            "--cipher",
            "--data-ciphers",
            "--auth",
            "--p2p",
            "--ping",
            "--ping-restart",
            "--reneg-sec",
            "--hand-window",
            "--duration",
            "--user",
            "--pass",
            "--pcap",
            "--compress",
            "--explicit-exit-notify",
            "--no-cc-exit",
            "--auth-gen-token",
            "--fragment",
            "--route-nopull",
            "--crypto",
            "--tls-1.2",
            "--remote-cert-tls",
            "--verify-x509-name",
            "--dev",
            "--dev-name",
            "--ifconfig",
            "--tun-mtu",
            "NAME=VALUE",
        ],
        aliases: &["--seconds"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_ovpn-flood"),
        sub: &[],
        about: "What a stranger throws at an OpenVPN server",
        options: &[
            "--target",
            "--proto",
            "--sources",
            "--count",
            "--rate",
            "--duration",
            "--stalled",
            "--seed",
        ],
        aliases: &["--seconds"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_ptp"),
        sub: &[],
        about: "A PTP (IEEE 1588-2008) ordinary / boundary clock daemon",
        options: &[
            "--config",
            "--iface",
            "--transport",
            "--profile",
            "--delay",
            "--domain",
            "--priority1",
            "--priority2",
            "--slave-only",
            "--free-running",
            "--steer-clock",
            "--duration",
            "--monitor",
            "--name",
            "--verbose",
            "--neighbor-prop-delay-thresh",
        ],
        aliases: &["--delay-mode"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_pptp-client"),
        sub: &[],
        about: "RouterOS-style PPTP client (`/interface pptp-client`, the RFC 2637 PNS)",
        options: &[
            "--config",
            "--name",
            "--user",
            "--password",
            "--allow",
            "--use-encryption",
            "--ping",
            "--count",
            "--duration",
        ],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_pptp-server"),
        sub: &[],
        about: "RouterOS-style PPTP server (`/interface pptp-server server`, the RFC 2637 PAC)",
        options: &[
            "--config",
            "--local",
            "--pool",
            "--user",
            "--authentication",
            "--use-encryption",
            "--keepalive-timeout",
            "--duration",
            "--radius",
            "--radius-secret",
            "--radius-accounting",
            "--radius-interim",
            "--radius-incoming",
        ],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_ppp-stdio"),
        sub: &[],
        about: "A PPP server speaking async HDLC on stdin/stdout",
        options: &[
            "--user",
            "--local",
            "--remote",
            "--authentication",
            "--use-encryption",
            "--duration",
        ],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_pppoe-client"),
        sub: &[],
        about: "RouterOS-style PPPoE client (`/interface pppoe-client`)",
        options: &[
            "--interface",
            "--config",
            "--name",
            "--user",
            "--password",
            "--allow",
            "--service-name",
            "--ac-name",
            "--ping",
            "--count",
            "--duration",
        ],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_pppoe-server"),
        sub: &[],
        about: "RouterOS-style PPPoE access concentrator (`/interface pppoe-server server`)",
        options: &[
            "--config",
            "--interface",
            "--service-name",
            "--ac-name",
            "--user",
            "--local",
            "--pool",
            "--authentication",
            "--max-sessions",
            "--one-session-per-host",
            "--duration",
            "--radius",
            "--radius-secret",
            "--radius-accounting",
            "--radius-interim",
            "--radius-incoming",
        ],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_ppp-stdio-pppoe"),
        sub: &[],
        about: "Our PPP server in place of pppd under rp-pppoe's user-space",
        options: &[],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_sstp-client"),
        sub: &[],
        about: "RouterOS-style SSTP client (`/interface sstp-client`)",
        options: &[
            "--config",
            "--name",
            "--port",
            "--user",
            "--password",
            "--authentication",
            "--verify-server-certificate",
            "--verify-server-address-from-certificate",
            "--add-sni",
            "--ca",
            "--certificate",
            "--key",
            "--tls-version",
            "--ciphers",
            "--http-proxy",
            "--proxy-port",
            "--ping",
            "--count",
            "--tun",
            "--pcap",
            "--keylog",
            "--duration",
        ],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_sstp-server"),
        sub: &[],
        about: "RouterOS-style SSTP server (`/interface sstp-server server`)",
        options: &[
            "--config",
            "--port",
            "--cert",
            "--key",
            "--local",
            "--pool",
            "--user",
            "--authentication",
            "--keepalive-timeout",
            "--accept-zero-hlak",
            "--verify-client-certificate",
            "--ca",
            "--tls-version",
            "--ciphers",
            "--tun",
            "--pcap",
            "--keylog",
            "--duration",
            "--radius",
            "--radius-secret",
            "--radius-accounting",
            "--radius-interim",
            "--radius-incoming",
        ],
        aliases: &["--hold"],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_tour"),
        sub: &[],
        about: "Both ends of every implemented protocol, in memory",
        options: &["--only", "--loss", "--seed", "--out", "--list"],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_wg"),
        sub: &[],
        about: "A userspace WireGuard endpoint",
        options: &[
            "--config",
            "--tun",
            "--pcap",
            "--duration",
            "--crypto",
            "--udp",
            "--tun-offload",
        ],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_zerotier"),
        sub: &[],
        about: "A ZeroTier 1.x node (VL1, VL2 member with a TAP device, network controller)",
        options: &[],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_zerotier"),
        sub: &["generate-identity"],
        about: "Write a new identity",
        options: &["<OUT>"],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_zerotier"),
        sub: &["mkworld"],
        about: "Make a planet (world) file",
        options: &[
            "--root-identity",
            "--endpoint",
            "--id",
            "--ts",
            "--signing-key",
            "--out",
        ],
        aliases: &[],
    },
    Help {
        bin: env!("CARGO_BIN_EXE_zerotier"),
        sub: &["run"],
        about: "Run a node",
        options: &[
            "--config",
            "--identity",
            "--planet",
            "--port",
            "--secondary-port",
            "--echo",
            "--echo-interval-ms",
            "--push-path",
            "--pcap",
            "--duration",
            "--join",
            "--tap",
            "--allow-managed",
            "--controller-network",
            "--name",
            "--ip-range",
            "--routes",
            "--mtu",
            "--multicast-limit",
            "--private",
            "--broadcast",
            "--ip6-rfc4193",
            "--ip6-6plane",
            "--member",
        ],
        aliases: &[],
    },
];

/// Option headers (`  -x, --name <V>` / `      --name`) of a long help text; each must be
/// followed by a line of documentation.
fn undocumented(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let mut bad = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let indent = l.len() - t.len();
        if indent > 0 && indent <= 6 && t.starts_with('-') {
            // short layout: `--name <V>  text` on one line; long layout: text on the next
            let inline = t.split("  ").filter(|p| !p.trim().is_empty()).count() >= 2;
            let next = lines.get(i + 1).map(|n| n.trim()).unwrap_or("");
            if !inline && next.is_empty() {
                bad.push(t.to_string());
            }
        }
    }
    bad
}

#[test]
fn help_documents_every_option() {
    for h in HELPS {
        let mut args: Vec<&str> = h.sub.to_vec();
        args.push("--help");
        let out = run(h.bin, &args);
        let text = String::from_utf8_lossy(&out.stdout);
        let name = format!("{} {}", h.bin, h.sub.join(" "));
        assert!(
            out.status.success(),
            "{name} --help: {:?}\n{text}",
            out.status
        );
        assert!(
            text.contains(h.about),
            "{name} --help lacks its description:\n{text}"
        );
        assert!(text.contains("Usage:"), "{name}:\n{text}");
        for o in h.options {
            assert!(
                text.contains(o),
                "{name} --help does not document {o}:\n{text}"
            );
        }
        for a in h.aliases {
            assert!(
                text.contains(a),
                "{name} --help does not show the alias {a}:\n{text}"
            );
        }
        let bad = undocumented(&text);
        assert!(
            bad.is_empty(),
            "{name}: options without text: {bad:?}\n{text}"
        );
        // options are documented once each: every `--name` header is among the expected
        for l in text.lines() {
            let t = l.trim_start();
            if l.len() - t.len() <= 6 && t.starts_with("--") {
                let opt = t.split([' ', '=']).next().unwrap_or("");
                assert!(
                    opt == "--help" || opt == "--version" || h.options.contains(&opt),
                    "{name}: {opt} is not in the test's list"
                );
            }
        }
        // -h is the short form and exits 0 as well
        let mut short: Vec<&str> = h.sub.to_vec();
        short.push("-h");
        assert!(run(h.bin, &short).status.success(), "{name} -h");
    }
}

#[test]
fn help_shows_defaults() {
    // A sample of defaults that mirror RouterOS or the tool's behaviour.
    for (bin, args, want) in [
        (
            env!("CARGO_BIN_EXE_l2tp-server"),
            &[][..],
            "[default: 1701]",
        ),
        (env!("CARGO_BIN_EXE_gre-tunnel"), &[], "[default: gre]"),
        (env!("CARGO_BIN_EXE_wg"), &[], "[default: wg0]"),
        (env!("CARGO_BIN_EXE_ike"), &[], "[default: 1800]"),
        (env!("CARGO_BIN_EXE_ptp"), &[], "[default: default]"),
        (env!("CARGO_BIN_EXE_sstp-server"), &[], "[default: 443]"),
        (
            env!("CARGO_BIN_EXE_pppoe-server"),
            &[],
            "[default: MikroTik]",
        ),
        (env!("CARGO_BIN_EXE_ovpn-server"), &[], "[default: 10]"),
        (env!("CARGO_BIN_EXE_l2tp-v3"), &["lns"], "[default: ip]"),
    ] {
        let mut a: Vec<&str> = args.to_vec();
        a.push("--help");
        let text = String::from_utf8_lossy(&run(bin, &a).stdout).to_string();
        assert!(text.contains(want), "{bin} {args:?}: no {want}:\n{text}");
    }
}

#[test]
fn version_exits_zero() {
    let mut seen = std::collections::BTreeSet::new();
    for h in HELPS {
        if !seen.insert(h.bin) {
            continue;
        }
        let out = run(h.bin, &["--version"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} --version: {:?}",
            h.bin,
            out.status
        );
        assert!(
            text.contains(env!("CARGO_PKG_VERSION")),
            "{} --version: {text}",
            h.bin
        );
    }
}

const BAD: &[Bad] = &[
    Bad {
        bin: env!("CARGO_BIN_EXE_sstp-client"),
        args: &["h", "--authentication", "telnet"],
        names: "--authentication",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_pptp-client"),
        args: &["10.0.0.1", "--allow", "mschap3"],
        names: "--allow",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_pppoe-client"),
        args: &["--interface", "lo", "--allow", "x"],
        names: "--allow",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_sstp-client"),
        args: &["--name", "sstp-out1"],
        names: "--config",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_pppoe-client"),
        args: &["--user", "u"],
        names: "--interface",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_pptp-server"),
        args: &["10.0.0.1", "--use-encryption", "maybe"],
        names: "--use-encryption",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_pptp-client"),
        args: &["server.example"],
        names: "[CONNECT_TO]",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ppp-stdio"),
        args: &["--user", "alice"],
        names: "--user",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_gre-tunnel"),
        args: &["--mode", "vxlan"],
        names: "--mode",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_gre-tunnel"),
        args: &["--dont-fragment", "maybe"],
        names: "--dont-fragment",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_gre-tunnel"),
        args: &["--config", "gre.rsc", "--mode", "eoip"],
        names: "--mode",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ike"),
        args: &["--pfs", "modp999"],
        names: "--pfs",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ike"),
        args: &["--ike-enc", "rot13"],
        names: "--ike-enc",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ike-load"),
        args: &["--count", "many"],
        names: "--count",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_l2tp-client"),
        args: &["10.0.0.1", "--use-peer-dns", "maybe"],
        names: "--use-peer-dns",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_l2tp-client"),
        args: &["10.0.0.1", "--allow", "telnet"],
        names: "--allow",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_l2tp-ctl"),
        args: &["lac", "10.0.0.1", "--hold", "soon"],
        names: "--duration",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_l2tp-ctl"),
        args: &["l2f", "10.0.0.1"],
        names: "l2f",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_l2tp-ether"),
        args: &["--encap", "gre"],
        names: "--encap",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_l2tp-server"),
        args: &["10.0.0.1", "--authentication", "telnet"],
        names: "--authentication",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_l2tp-server"),
        args: &["10.0.0.1", "--use-ipsec", "maybe"],
        names: "--use-ipsec",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_l2tp-v3"),
        args: &["lns", "10.0.0.1", "--encap", "gre"],
        names: "--encap",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ovpn-client"),
        args: &["--proto", "sctp"],
        names: "--proto",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ovpn-client"),
        args: &["--compress", "lz4"],
        names: "--compress",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ovpn-client"),
        args: &["connect-to"],
        names: "NAME=VALUE",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ovpn-server"),
        args: &["--dev", "tunnel"],
        names: "--dev",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ovpn-server"),
        args: &["--crypto", "gnutls"],
        names: "--crypto",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ovpn-flood"),
        args: &["--proto", "sctp"],
        names: "--proto",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ptp"),
        args: &["--iface", "eth0", "--profile", "g8275.2"],
        names: "--profile",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_ptp"),
        args: &["--iface", "eth0", "--delay", "both"],
        names: "--delay",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_pppoe-server"),
        args: &["--interface", "eth0", "--max-sessions", "many"],
        names: "--max-sessions",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_pppoe-client"),
        args: &["--interface", "eth0", "--ping", "gateway"],
        names: "--ping",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_sstp-client"),
        args: &["vpn", "--tls-version", "only-1.3"],
        names: "--tls-version",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_sstp-server"),
        args: &["10.0.0.1", "--ciphers", "rc4"],
        names: "--ciphers",
        enumeration: true,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_tour"),
        args: &["--loss", "2"],
        names: "--loss",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_wg"),
        args: &["--config", "x", "--duration", "forever"],
        names: "--duration",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_zerotier"),
        args: &["run", "--echo-interval-ms", "often"],
        names: "--echo-interval-ms",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_zerotier"),
        args: &["run", "--private", "maybe"],
        names: "--private",
        enumeration: false,
    },
    Bad {
        bin: env!("CARGO_BIN_EXE_zerotier"),
        args: &["run", "--mtu", "100"],
        names: "--mtu",
        enumeration: false,
    },
];

#[test]
fn bad_values_name_the_option() {
    for b in BAD {
        let out = run(b.bin, b.args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{} {:?}: {err}", b.bin, b.args);
        assert!(err.contains(b.names), "{} {:?}: {err}", b.bin, b.args);
        if b.enumeration {
            assert!(
                err.contains("possible values"),
                "{} {:?}: {err}",
                b.bin,
                b.args
            );
        }
    }
}

#[test]
fn unknown_options_are_refused_with_a_suggestion() {
    let out = run(env!("CARGO_BIN_EXE_wg"), &["--confg", "x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--confg") && err.contains("--config"), "{err}");
}

#[test]
fn missing_required_options_are_named() {
    let out = run(env!("CARGO_BIN_EXE_ike"), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--local <LOCAL>") && err.contains("--remote-ts"),
        "{err}"
    );
}

/// Write `text` to a fresh temporary `.rsc` file.
fn rsc_file(tag: &str, text: &str) -> String {
    let p = std::env::temp_dir().join(format!("cli-help-{}-{tag}.rsc", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn client_config_files_load_and_options_override() {
    // sstp-client: the file's connect-to and port, then --port over it (nothing listens on
    // ports 1 and 2 of 127.0.0.1: the connect error names where it went).
    let f = rsc_file(
        "sstp",
        "/interface sstp-client\nadd connect-to=127.0.0.1 port=2 user=u disabled=no\n",
    );
    let bin = env!("CARGO_BIN_EXE_sstp-client");
    let err = |args: &[&str]| {
        let out = run(bin, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(err(&["--config", &f]).contains("127.0.0.1:2"));
    assert!(err(&["--config", &f, "--port", "1"]).contains("127.0.0.1:1"));
    // A bad value in the file names the line and the property.
    let bad = rsc_file(
        "sstp-bad",
        "/interface sstp-client\nadd connect-to=h pfs=maybe\n",
    );
    let e = err(&["--config", &bad]);
    assert!(e.contains("line 2") && e.contains("pfs"), "{e}");
    // pptp-client: the same for a bad file (before it opens its GRE socket).
    let bad = rsc_file(
        "pptp-bad",
        "/interface pptp-client add connect-to=10.0.0.1 allow=telnet\n",
    );
    let out = run(env!("CARGO_BIN_EXE_pptp-client"), &["--config", &bad]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("allow"), "{e}");
    // pppoe-client: the file's interface, then --interface over it.
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/rsc/pppoe-client.rsc");
    let bin = env!("CARGO_BIN_EXE_pppoe-client");
    let out = run(bin, &["--config", sample, "--duration", "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ether2"));
    let out = run(
        bin,
        &[
            "--config",
            sample,
            "--interface",
            "nosuch9",
            "--duration",
            "1",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nosuch9"));
    for p in [f, bad] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn ike_config_errors_name_the_file_peer_and_property() {
    // Only files that fail before the TUN device is made: a bad value, a peer that is not
    // IKEv2, a peer that is not there, a peer without addresses.
    let bin = env!("CARGO_BIN_EXE_ike");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/rsc/ike.rsc");
    for (tag, text, args, want) in [
        (
            "ike-bad",
            "/ip ipsec profile\nadd name=p dh-group=modp999\n",
            &[][..],
            "line 2: /ip ipsec profile: dh-group",
        ),
        (
            "ike-main",
            "/ip ipsec peer add name=a address=10.0.0.1 local-address=10.0.0.2\n",
            &["--peer", "a"][..],
            "exchange-mode must be ike2",
        ),
        (
            "ike-none",
            "/ip ipsec peer add name=a address=10.0.0.1\n",
            &[][..],
            "no /ip ipsec peer with exchange-mode=ike2",
        ),
        (
            "ike-nolocal",
            "/ip ipsec peer add name=a address=10.0.0.1 exchange-mode=ike2\n",
            &[][..],
            "has no local-address: give --local",
        ),
    ] {
        let f = rsc_file(tag, text);
        let mut a = vec!["--config", f.as_str()];
        a.extend(args);
        let out = run(bin, &a);
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{tag}: {e}");
        assert!(e.contains(want), "{tag}: {e}");
        let _ = std::fs::remove_file(f);
    }
    // l2tp-ether: a managed interface, or one without a local address, is refused before
    // the TAP device is made.
    let bin_eth = env!("CARGO_BIN_EXE_l2tp-ether");
    for (tag, text, want) in [
        (
            "eth-managed",
            "/interface l2tp-ether add name=e connect-to=10.0.0.2\n",
            "only unmanaged-mode=yes",
        ),
        (
            "eth-nolocal",
            "/interface l2tp-ether add name=e connect-to=10.0.0.2 unmanaged-mode=yes local-session-id=1 remote-session-id=2\n",
            "no local-address",
        ),
        (
            "eth-bad",
            "/interface l2tp-ether add name=e digest-hash=crc\n",
            "line 1: /interface l2tp-ether",
        ),
    ] {
        let f = rsc_file(tag, text);
        let out = run(bin_eth, &["--config", &f]);
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{tag}: {e}");
        assert!(e.contains(want), "{tag}: {e}");
        let _ = std::fs::remove_file(f);
    }
    let out = run(bin, &["--config", sample, "--peer", "nosuch"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("no /ip ipsec peer named \"nosuch\""), "{e}");
}

#[test]
fn zerotier_config_file_is_read_before_anything_else() {
    // A bad value in the file names the file, the line and the property (exit 1)...
    let bad = rsc_file("zt-bad", "/zerotier controller\nadd name=n mtu=100\n");
    let out = run(
        env!("CARGO_BIN_EXE_zerotier"),
        &[
            "run",
            "--config",
            &bad,
            "--identity",
            "/nonexistent/identity.secret",
            "--planet",
            "/nonexistent/planet",
        ],
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("line 2") && e.contains("mtu"), "{e}");
    // ...and the sample file loads: the run gets as far as the identity file.
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/rsc/zerotier.rsc");
    let out = run(
        env!("CARGO_BIN_EXE_zerotier"),
        &[
            "run",
            "--config",
            sample,
            "--identity",
            "/nonexistent/identity.secret",
            "--planet",
            "/nonexistent/planet",
        ],
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("/nonexistent/identity.secret"), "{e}");
}
