//! The `tour`: both ends of every implemented protocol, in memory over the simulated link
//! (`netsim`), printed as a ladder, with one pcap per protocol.
//!
//! Each protocol has one module here with a `run(&Opts) -> Result<Report, String>` function.
//! The registry [`SCENARIOS`] lists them in the order they are shown.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

pub use netsim::Dir;

pub mod gre;
pub mod ipsec;
pub mod l2tp;
pub mod l2tp_ipsec;
pub mod ovpn;
pub mod ppp;
pub mod pppoe;
pub mod pptp;
pub mod ptp;
pub mod sstp;
pub mod wireguard;
pub mod zerotier;
pub mod zerotier_vl2;

/// Options of a tour run.
#[derive(Clone, Debug)]
pub struct Opts {
    /// Loss probability on the simulated link (each direction).
    pub loss: f64,
    /// Seed of the link impairments and of every injected random source.
    pub seed: u64,
    /// Folder the pcaps are written to.
    pub out_dir: PathBuf,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            loss: 0.0,
            seed: 1,
            out_dir: PathBuf::from("tour-out"),
        }
    }
}

/// One row of the ladder.
#[derive(Clone, Debug)]
pub enum Line {
    /// A message on the wire.
    Msg {
        /// Virtual time of sending.
        at: Duration,
        /// Direction.
        dir: Dir,
        /// One-line decoded summary.
        summary: String,
        /// Whether the simulated link lost it.
        lost: bool,
    },
    /// An event or comment at a point in time (state change, timer, ...).
    Note {
        /// Virtual time.
        at: Duration,
        /// Text.
        text: String,
    },
}

/// A pcap file a scenario wants written.
#[derive(Clone, Debug)]
pub struct PcapOut {
    /// File name (within the output folder), e.g. `gre.pcap`.
    pub file: String,
    /// libpcap link type (see `netsim::pcap`).
    pub linktype: u32,
    /// Frames with their virtual timestamps.
    pub frames: Vec<(Duration, Vec<u8>)>,
}

/// What a scenario produced.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Name of the two ends, e.g. ("client", "server").
    pub ends: (String, String),
    /// The ladder.
    pub lines: Vec<Line>,
    /// Messages on the wire (both directions, lost ones included).
    pub messages: usize,
    /// Bytes on the wire.
    pub bytes: usize,
    /// Virtual time until the protocol was up (tunnel running, session established, slave
    /// locked...), if it came up.
    pub time_to_up: Option<Duration>,
    /// pcaps to write.
    pub pcaps: Vec<PcapOut>,
}

impl Report {
    /// A report with the two ends named.
    pub fn new(a: &str, b: &str) -> Self {
        Report {
            ends: (a.to_string(), b.to_string()),
            ..Default::default()
        }
    }

    /// Add a message row and count it.
    pub fn msg(&mut self, at: Duration, dir: Dir, len: usize, summary: impl Into<String>) {
        self.msg_fate(at, dir, len, summary, false)
    }

    /// Add a message row that the link may have lost.
    pub fn msg_fate(
        &mut self,
        at: Duration,
        dir: Dir,
        len: usize,
        summary: impl Into<String>,
        lost: bool,
    ) {
        self.messages += 1;
        self.bytes += len;
        self.lines.push(Line::Msg {
            at,
            dir,
            summary: summary.into(),
            lost,
        });
    }

    /// Add a note row.
    pub fn note(&mut self, at: Duration, text: impl Into<String>) {
        self.lines.push(Line::Note {
            at,
            text: text.into(),
        });
    }
}

/// A scenario: name (used by `--only`), title, function.
pub struct Scenario {
    /// Short name, e.g. `gre`.
    pub name: &'static str,
    /// Title printed above the ladder.
    pub title: &'static str,
    /// The scenario.
    pub run: fn(&Opts) -> Result<Report, String>,
}

/// Every scenario, in the order the tour shows them.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "gre",
        title: "GRE family: GRE, EoIP, IPIP, 6to4 with keepalives",
        run: gre::run,
    },
    Scenario {
        name: "ppp",
        title: "PPP: LCP, authentication, IPCP over an in-memory link",
        run: ppp::run,
    },
    Scenario {
        name: "l2tp",
        title: "L2TP: L2TPv2 tunnel + session carrying PPP; L2TPv3 Ethernet",
        run: l2tp::run,
    },
    Scenario {
        name: "wireguard",
        title: "WireGuard: handshake, data, keepalive, rekey",
        run: wireguard::run,
    },
    Scenario {
        name: "ptp",
        title: "PTP (IEEE 1588): BMCA election and a slave servo converging",
        run: ptp::run,
    },
    Scenario {
        name: "ovpn",
        title: "OpenVPN: reliability layer, TLS, key method 2, data channel",
        run: ovpn::run,
    },
    Scenario {
        name: "zerotier",
        title: "ZeroTier VL1: HELLO to the root, WHOIS, relay, RENDEZVOUS, direct path, keepalives",
        run: zerotier::run,
    },
    Scenario {
        name: "zerotier-vl2",
        title: "ZeroTier VL2: join a controller's private network, config, LIKE/GATHER, ARP + ping over FRAME",
        run: zerotier_vl2::run,
    },
    Scenario {
        name: "ipsec",
        title: "IKEv2 + ESP: IKE_SA_INIT, IKE_AUTH, ESP, Child SA rekey with PFS, DPD, delete",
        run: ipsec::run,
    },
    Scenario {
        name: "l2tp-ipsec",
        title: "L2TP/IPsec (use-ipsec): IKEv1 main mode (PSK) + quick mode, L2TP and PPP inside UDP-encapsulated ESP, pings",
        run: l2tp_ipsec::run,
    },
    Scenario {
        name: "sstp",
        title:
            "SSTP: TLS, HTTP SSTP_DUPLEX_POST, call setup, PPP inside, crypto binding, disconnect",
        run: sstp::run,
    },
    Scenario {
        name: "pppoe",
        title: "PPPoE: discovery (PADI/PADO/PADR/PADS), PPP session (MS-CHAPv2, IPCP), pings, PADT",
        run: pppoe::run,
    },
    Scenario {
        name: "pptp",
        title: "PPTP: control connection, call, enhanced GRE with PPP + MPPE",
        run: pptp::run,
    },
];

/// One row of the tour's summary table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// Scenario name.
    pub name: &'static str,
    /// Messages on the wire, or `-` when the scenario did not run to the end.
    pub messages: String,
    /// Bytes on the wire, or `-`.
    pub bytes: String,
    /// Virtual time to up, `never`, or the scenario's error in parentheses.
    pub time_to_up: String,
}

/// The summary row of one scenario's outcome: every scenario gets one, whether it came up, never
/// came up, or stopped with an error.
pub fn summary_row(name: &'static str, result: &Result<Report, String>) -> SummaryRow {
    match result {
        Ok(r) => SummaryRow {
            name,
            messages: r.messages.to_string(),
            bytes: r.bytes.to_string(),
            time_to_up: r
                .time_to_up
                .map(|d| format!("{:.3}s", d.as_secs_f64()))
                .unwrap_or_else(|| "never".into()),
        },
        Err(e) => SummaryRow {
            name,
            messages: "-".into(),
            bytes: "-".into(),
            time_to_up: format!("({e})"),
        },
    }
}

/// Render a report's ladder as text.
pub fn render_ladder(r: &Report) -> String {
    let mut s = String::new();
    let (a, b) = (&r.ends.0, &r.ends.1);
    let _ = writeln!(s, "  {:>10}  {:<12}        {:<12}", "time", a, b);
    for l in &r.lines {
        match l {
            Line::Msg {
                at,
                dir,
                summary,
                lost,
            } => {
                let mark = if *lost { " (lost)" } else { "" };
                let _ = writeln!(
                    s,
                    "  {:>9.3}s  {:<12} {} {:<12} {}{}",
                    at.as_secs_f64(),
                    a,
                    dir.arrow(),
                    b,
                    summary,
                    mark
                );
            }
            Line::Note { at, text } => {
                let _ = writeln!(s, "  {:>9.3}s  ** {}", at.as_secs_f64(), text);
            }
        }
    }
    s
}
