//! Tour scenario for the `ppp` crate: an L2TP-style client dials a server that authenticates it
//! with MS-CHAPv2 against the in-memory `/ppp secret` table and assigns an address from an
//! `/ip pool`; IPCP (with DNS) comes up and, since the user's profile names a `bridge`, so does BCP
//! (RFC 3518); three pings and one bridged Ethernet frame (an ARP request) cross the link,
//! the client hangs up.

use super::{Dir, Opts, PcapOut, Report};
use netsim::ppp::PppNode;
use netsim::{LinkConfig, Pair};
use ppp::aaa::{Aaa, AddressSpec, IpPool, Profile, Secret};
use ppp::wire::auth::{Chap, Pap};
use ppp::wire::cp::{code, options, CpPacket, IpcpOption, LcpOption};
use ppp::wire::{protocol, Frame};
use ppp::{AuthMethod, AuthSet, Config, Event, Role, Session, UsePeerDns};
use rand_chacha::rand_core::SeedableRng;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A ladder note for a session event.
fn note(ev: &Event) -> String {
    match ev {
        Event::Phase(p) => format!("phase {p:?}"),
        Event::Status(s) => format!("status \"{}\"", s.as_str()),
        Event::LinkUp { mru, mtu, auth } => {
            format!("LCP opened: mru {mru} mtu {mtu} auth {auth:?}")
        }
        Event::AuthSucceeded { user, method, keys } => format!(
            "auth ok: {user} via {method}{}",
            if keys.is_some() {
                " (MPPE master keys derived)"
            } else {
                ""
            }
        ),
        Event::BridgeUp { bridge, negotiated } => format!(
            "BCP up: bridged to {bridge} (MAC-Support 802.3 acked: {})",
            negotiated.mac_support_acked
        ),
        Event::NetworkUp(i) => format!(
            "IPCP up: local {} remote {} dns {:?}",
            i.local, i.remote, i.dns
        ),
        Event::Terminated {
            reason,
            by_peer,
            uptime,
        } => {
            format!("terminated: {reason:?} (by peer: {by_peer}, uptime {uptime:?})")
        }
        other => format!("{other:?}"),
    }
}

fn lcp_opts(data: &[u8]) -> String {
    options(data)
        .flatten()
        .filter_map(|o| LcpOption::parse(&o).ok())
        .map(|o| match o {
            LcpOption::Mru(m) => format!("<mru {m}>"),
            LcpOption::MagicNumber(m) => format!("<magic 0x{m:08x}>"),
            LcpOption::AuthProtocol {
                protocol: 0xc223,
                data,
            } => match data.first() {
                Some(0x81) => "<auth chap mschapv2>".into(),
                Some(0x80) => "<auth chap mschapv1>".into(),
                _ => "<auth chap md5>".into(),
            },
            LcpOption::AuthProtocol { protocol, .. } => format!("<auth 0x{protocol:04x}>"),
            LcpOption::Accm(a) => format!("<asyncmap 0x{a:x}>"),
            other => format!("<{other:?}>"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn ipcp_opts(data: &[u8]) -> String {
    options(data)
        .flatten()
        .filter_map(|o| IpcpOption::parse(&o).ok())
        .map(|o| match o {
            IpcpOption::IpAddress(a) => format!("<addr {a}>"),
            IpcpOption::PrimaryDns(a) => format!("<ms-dns1 {a}>"),
            IpcpOption::SecondaryDns(a) => format!("<ms-dns2 {a}>"),
            other => format!("<{other:?}>"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One-line decode of a PPP frame.
fn summary(frame: &[u8]) -> String {
    let Ok(f) = Frame::parse(frame) else {
        return "malformed".into();
    };
    let name = protocol::name(f.protocol).unwrap_or("?");
    match f.protocol {
        protocol::LCP | protocol::IPCP | protocol::IPV6CP | protocol::BCP => {
            let Ok(p) = CpPacket::parse(f.payload) else {
                return format!("{name} malformed");
            };
            let opts = match (f.protocol, p.code) {
                (protocol::LCP, 1..=4) => lcp_opts(p.data),
                (protocol::IPCP, 1..=4) => ipcp_opts(p.data),
                (protocol::BCP, 1..=4) => bcp_opts(p.data),
                (protocol::LCP, code::ECHO_REQUEST | code::ECHO_REPLY) => "(keepalive)".into(),
                _ => String::new(),
            };
            format!("{name} {} id={} {opts}", code::name(p.code), p.identifier)
        }
        protocol::CHAP => match Chap::parse(f.payload) {
            Ok(Chap::Challenge { id, value, name }) => format!(
                "CHAP Challenge id={id} {}-octet challenge, name \"{}\"",
                value.len(),
                String::from_utf8_lossy(name)
            ),
            Ok(Chap::Response { id, value, name }) => format!(
                "CHAP Response id={id} peer-challenge+NT-response ({} octets), name \"{}\"",
                value.len(),
                String::from_utf8_lossy(name)
            ),
            Ok(Chap::Success { id, message }) => format!(
                "CHAP Success id={id} \"{}\"",
                String::from_utf8_lossy(message)
            ),
            Ok(Chap::Failure { id, message }) => format!(
                "CHAP Failure id={id} \"{}\"",
                String::from_utf8_lossy(message)
            ),
            Err(e) => format!("CHAP {e}"),
        },
        protocol::BRIDGED_ETHERNET => match ppp::BridgedFrame::parse(f.payload) {
            Ok(b) if b.frame.len() >= 14 => format!(
                "Bridged Ethernet (MAC type {}) {} > {} type 0x{:02x}{:02x}, {} octets",
                b.mac_type,
                mac(&b.frame[6..12]),
                mac(&b.frame[..6]),
                b.frame[12],
                b.frame[13],
                b.frame.len()
            ),
            Ok(b) => format!("Bridged frame ({} octets)", b.frame.len()),
            Err(e) => format!("Bridged frame {e}"),
        },
        protocol::PAP => match Pap::parse(f.payload) {
            Ok(p) => format!("PAP {p:?}"),
            Err(e) => format!("PAP {e}"),
        },
        protocol::IPV4 if f.payload.len() >= 28 => {
            let p = f.payload;
            let kind = match p[20] {
                8 => "echo request",
                0 => "echo reply",
                _ => "icmp",
            };
            format!(
                "IPv4 {}.{}.{}.{} > {}.{}.{}.{} ICMP {kind} seq {}",
                p[12],
                p[13],
                p[14],
                p[15],
                p[16],
                p[17],
                p[18],
                p[19],
                u16::from_be_bytes([p[26], p[27]])
            )
        }
        _ => format!("{name} ({} octets)", f.payload.len()),
    }
}

fn bcp_opts(data: &[u8]) -> String {
    use ppp::bcp::{mac_type, BcpOption};
    options(data)
        .flatten()
        .filter_map(|o| BcpOption::parse(&o).ok())
        .map(|o| match o {
            BcpOption::MacSupport(mac_type::ETHERNET) => "<mac-support 802.3>".into(),
            other => format!("<{other:?}>"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn mac(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A broadcast ARP request "who has 10.0.0.1? tell 10.0.0.2", padded to the 60-octet
/// Ethernet minimum: what a bridge port of the client would forward over BCP.
fn arp_request() -> Vec<u8> {
    let src = [0x02, 0x00, 0x5e, 0x00, 0x00, 0x02];
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[10, 0, 0, 2]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&[10, 0, 0, 1]);
    f.resize(60, 0);
    f
}

fn icmp_echo(seq: u16) -> Vec<u8> {
    netsim::pcap::icmp4_echo(
        [10, 0, 0, 2],
        [10, 0, 0, 1],
        false,
        0x1234,
        seq,
        b"ppp tour ping",
    )
}

/// A ladder row: time, sort rank (notes first), text, and (direction, length, lost) for messages.
type Row = (Duration, u8, String, Option<(Dir, usize, bool)>);

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let start = Instant::now();
    let mut aaa = Aaa::new();
    aaa.pools
        .push(IpPool::new("vpn-pool", "10.0.0.2-10.0.0.5").map_err(|e| e.to_string())?);
    let mut prof = Profile::named("vpn");
    prof.local_address = Some(AddressSpec::Address([10, 0, 0, 1].into()));
    prof.remote_address = Some(AddressSpec::Pool("vpn-pool".into()));
    prof.dns = vec![[10, 0, 0, 53].into()];
    // `/ppp profile bridge=bridge1`: sessions under this profile negotiate BCP.
    prof.bridge = Some("bridge1".into());
    aaa.profiles.push(prof);
    let mut secret = Secret::new("alice", "wonderland");
    secret.profile = "vpn".into();
    aaa.secrets.push(secret);

    let mut cc = Config::l2tp_client();
    cc.user = "alice".into();
    cc.password = "wonderland".into();
    cc.use_peer_dns = UsePeerDns::Yes;
    cc.bridge = Some("bridge1".into());
    let mut sc = Config::l2tp_server();
    sc.authentication = AuthSet::of(&[AuthMethod::MsChap2]);
    sc.local_name = "gw".into();
    let rng =
        |k: u64| rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed.wrapping_mul(31).wrapping_add(k));
    let client = Session::new(cc, Role::Client, start, rng(1)).map_err(|e| e.to_string())?;
    let mut server = Session::new(sc, Role::Server, start, rng(2)).map_err(|e| e.to_string())?;
    server.set_credential_store(Box::new(Arc::new(Mutex::new(aaa))));
    // The crate's netsim adapter (shared with ppp's tests); the server answers pings.
    let mut a = PppNode::from_session(client);
    let mut b = PppNode::from_session(server);
    b.echo = true;
    b.icmp_reply = true;
    a.s.open(start);
    b.s.open(start);
    a.drain(start);
    b.drain(start);
    let link = if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    };
    let mut pair = Pair::with_start(a, b, link.clone(), link, opts.seed, start);
    let up = pair.run_until(Duration::from_secs(120), |a, b| {
        a.s.ipv4().is_some()
            && b.s.ipv4().is_some()
            && a.s.bcp_state() == ppp::fsm::State::Opened
            && b.s.bcp_state() == ppp::fsm::State::Opened
    });
    let mut report = Report::new("client", "server");
    report.time_to_up = up;
    if up.is_some() {
        for seq in 1..=3u16 {
            let now = pair.now();
            pair.a
                .s
                .send_datagram(now, protocol::IPV4, &icmp_echo(seq))
                .map_err(|e| e.to_string())?;
            pair.run_for(Duration::from_secs(1));
        }
        let now = pair.now();
        pair.a
            .s
            .send_ethernet(now, &arp_request())
            .map_err(|e| e.to_string())?;
        pair.run_for(Duration::from_secs(1));
        let now = pair.now();
        pair.a.s.close(now, "user request");
        pair.a.drain(now);
        pair.run_until(Duration::from_secs(30), |a, b| {
            a.s.is_ended() && b.s.is_ended()
        });
    }
    // Ladder: messages and notes merged by time.
    let mut rows: Vec<Row> = Vec::new();
    for e in &pair.trace {
        let lost = e.fate != netsim::Fate::Delivered;
        rows.push((e.at, 1, summary(&e.data), Some((e.dir, e.data.len(), lost))));
    }
    for (t, e) in &pair.a.events {
        rows.push((*t - start, 0, format!("client: {}", note(e)), None));
    }
    for (t, e) in &pair.b.events {
        rows.push((*t - start, 0, format!("server: {}", note(e)), None));
    }
    rows.sort_by_key(|r| (r.0, r.1));
    for (t, _, text, m) in rows {
        match m {
            Some((dir, len, lost)) => report.msg_fate(t, dir, len, text, lost),
            None => {
                // Keep the ladder readable: only the notes that matter.
                if !text.contains("phase") {
                    report.note(t, text);
                }
            }
        }
    }
    let pongs = pair.a.datagrams.len();
    if pongs != 3 && opts.loss == 0.0 {
        return Err(format!("expected 3 echo replies, got {pongs}"));
    }
    let frames: Vec<(Duration, Vec<u8>)> = pair
        .trace
        .iter()
        .filter(|e| e.fate == netsim::Fate::Delivered)
        .map(|e| (e.at, e.data.clone()))
        .collect();
    report.pcaps.push(PcapOut {
        file: "ppp.pcap".into(),
        linktype: netsim::pcap::LINKTYPE_PPP,
        frames,
    });
    Ok(report)
}
