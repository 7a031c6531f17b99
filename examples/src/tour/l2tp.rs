//! Tour scenario for the `l2tp` crate.
//!
//! Part 1, L2TPv2 + PPP: a RouterOS-style L2TP client (LAC + PPP client, tunnel secret) dials
//! an LNS whose sessions run PPP servers. Tunnel (SCCRQ/SCCRP/SCCCN with Challenge/Response),
//! session (ICRQ/ICRP/ICCN), PPP (LCP, MS-CHAPv2, IPCP), a few pings through the tunnel, then
//! an orderly close (LCP TermReq, CDN, StopCCN). Runs over the simulated link with `--loss`.
//!
//! Part 2, L2TPv3 Ethernet: two unmanaged "L2TP Ether" ends (static session ids and cookies,
//! L2-Specific Sublayer) exchange Ethernet frames; no control connection at all.
//!
//! Part 3, managed L2TPv3: SCCRQ/SCCRP/SCCCN and ICRQ/ICRP/ICCN with HMAC-MD5 Message Digest,
//! nonces and 8-byte cookies, then one Ethernet frame over the pseudowire.
//!
//! The pcap (raw IPv4, link type 101) carries the L2TP datagrams in synthesised UDP/1701
//! headers so Wireshark decodes them.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use l2tp::config::{EtherConfig, ProtoVersion, ServerConfig};
use l2tp::ether::StaticEther;
use l2tp::ppp_link::{ClientEvent, L2tpClient, PppLns, PppLnsEvent};
use l2tp::server::Peer;
use l2tp::wire::{ControlMessage, Header};
use l2tp::TunnelConfig;
use netsim::l2tp::{L2tpClientNode, LnsNode};
use netsim::{Dir, Fate, LinkConfig, Pair};
use ppp::host::ClientEvent as HostEv;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::{Opts, PcapOut, Report};

const CLIENT_IP: [u8; 4] = [10, 97, 30, 2];
const SERVER_IP: [u8; 4] = [10, 97, 30, 1];

/// The ladder note for a client event, if it gets one.
pub(super) fn client_note(e: &ClientEvent) -> Option<String> {
    match e {
        ClientEvent::L2tp(ev) => Some(format!("client: {}", short_l2tp(ev))),
        ClientEvent::Ppp(HostEv::Ppp(ppp::Event::LinkUp { mtu, auth, .. })) => {
            Some(format!("client: PPP LCP opened, mtu {mtu}, auth {auth:?}"))
        }
        ClientEvent::Ppp(HostEv::Ppp(ppp::Event::AuthSucceeded { user, method, .. })) => {
            Some(format!("client: PPP authenticated as {user} ({method:?})"))
        }
        ClientEvent::Ppp(HostEv::Ppp(ppp::Event::NetworkUp(i))) => {
            Some(format!("client: IPCP up, {} <-> {}", i.local, i.remote))
        }
        ClientEvent::Ppp(HostEv::Ppp(ppp::Event::Terminated { reason, .. })) => {
            Some(format!("client: PPP terminated ({reason:?})"))
        }
        _ => None,
    }
}

fn short_l2tp(e: &l2tp::Event) -> String {
    match e {
        l2tp::Event::TunnelUp { peer_tunnel_id, .. } => {
            format!("L2TP tunnel up (peer tunnel id {peer_tunnel_id})")
        }
        l2tp::Event::SessionUp {
            session_id,
            peer_session_id,
            ..
        } => format!("L2TP session up (ids {session_id}/{peer_session_id})"),
        l2tp::Event::SessionDown { reason, .. } => format!("L2TP session down ({reason:?})"),
        l2tp::Event::TunnelDown { reason } => format!("L2TP tunnel down ({reason:?})"),
        other => format!("{other:?}"),
    }
}

/// The ladder note for a server event, if it gets one.
pub(super) fn server_note<K>(e: &PppLnsEvent<K>) -> Option<String> {
    match e {
        PppLnsEvent::L2tp(ev) => Some(format!("server: {}", short_l2tp(&ev.event))),
        PppLnsEvent::Ppp {
            event: ppp::Event::NetworkUp(i),
            ..
        } => Some(format!("server: IPCP up, {} <-> {}", i.local, i.remote)),
        PppLnsEvent::Ppp {
            event: ppp::Event::AuthSucceeded { user, .. },
            ..
        } => Some(format!("server: PPP user {user} accepted")),
        _ => None,
    }
}

/// The client as the LNS sees it (the tour's addresses).
fn peer() -> Peer<u8> {
    Peer {
        key: 1,
        addr: IpAddr::V4(Ipv4Addr::from(CLIENT_IP)),
        via_ipsec: false,
    }
}

fn ppp_summary(frame: &[u8]) -> String {
    let proto = frame
        .get(2..4)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .unwrap_or(0);
    let code = frame.get(4).copied().unwrap_or(0);
    let name = match proto {
        0xc021 => "LCP",
        0xc223 => "CHAP",
        0xc023 => "PAP",
        0x8021 => "IPCP",
        0x8057 => "IPV6CP",
        0x0021 => return "PPP IPv4 datagram".into(),
        0x0057 => return "PPP IPv6 datagram".into(),
        _ => "PPP",
    };
    let what = match (proto, code) {
        (0xc223, 1) => "Challenge",
        (0xc223, 2) => "Response",
        (0xc223, 3) => "Success",
        (0xc223, 4) => "Failure",
        (_, 1) => "Configure-Request",
        (_, 2) => "Configure-Ack",
        (_, 3) => "Configure-Nak",
        (_, 4) => "Configure-Reject",
        (_, 5) => "Terminate-Request",
        (_, 6) => "Terminate-Ack",
        (_, 8) => "Protocol-Reject",
        (_, 9) => "Echo-Request",
        (_, 10) => "Echo-Reply",
        _ => "?",
    };
    format!("{name} {what}")
}

/// One line for an L2TPv2 datagram (control message with its AVPs, or data with its PPP).
pub(super) fn summary(d: &[u8]) -> String {
    match Header::parse(d) {
        Ok((h, _)) if h.is_control => match ControlMessage::parse(d) {
            Ok(m) => {
                let names: Vec<&str> = m
                    .avps
                    .iter()
                    .skip(1)
                    .map(|a| l2tp::wire::avp::attr_name(a.attr_type))
                    .collect();
                if names.is_empty() {
                    m.summary()
                } else {
                    format!("{} [{}]", m.summary(), names.join(", "))
                }
            }
            Err(e) => format!("malformed control: {e}"),
        },
        Ok((h, r)) => format!(
            "DATA tid={} sid={} {}",
            h.tunnel_id,
            h.session_id,
            ppp_summary(d.get(r).unwrap_or_default())
        ),
        Err(e) => format!("malformed: {e}"),
    }
}

/// One line for an L2TPv3 control message.
fn v3_summary(d: &[u8]) -> String {
    let Ok(m) = l2tp::wire::v3::ControlMessageV3::parse(l2tp::wire::v3::Encap::Udp, d) else {
        return format!("L2TPv3 data {} bytes", d.len());
    };
    let name = match m.message_type_raw() {
        None => "ZLB",
        Some(1) => "SCCRQ",
        Some(2) => "SCCRP",
        Some(3) => "SCCCN",
        Some(4) => "StopCCN",
        Some(6) => "HELLO",
        Some(7) => "OCRQ",
        Some(8) => "OCRP",
        Some(9) => "OCCN",
        Some(10) => "ICRQ",
        Some(11) => "ICRP",
        Some(12) => "ICCN",
        Some(14) => "CDN",
        Some(15) => "WEN",
        Some(16) => "SLI",
        Some(_) => "other",
    };
    let circuit = m
        .avps
        .iter()
        .find_map(|a| match a.typed() {
            Ok(Some(l2tp::wire::avp::AvpValue::CircuitStatus { active, new })) => Some(format!(
                " circuit={}{}",
                if active { "up" } else { "down" },
                if new { "(new)" } else { "" }
            )),
            _ => None,
        })
        .unwrap_or_default();
    let sid = |t| {
        m.avps.iter().find_map(|a| match a.typed() {
            Ok(Some(l2tp::wire::avp::AvpValue::LocalSessionId(v))) if t == 63 => Some(v),
            Ok(Some(l2tp::wire::avp::AvpValue::RemoteSessionId(v))) if t == 64 => Some(v),
            _ => None,
        })
    };
    let sessions = match (sid(63), sid(64)) {
        (Some(l), Some(r)) => format!(" local-session={l:#x} remote-session={r:#x}"),
        _ => String::new(),
    };
    format!(
        "L2TPv3 {name} ccid={} Ns={} Nr={}{sessions}{circuit} ({} AVPs incl. Message Digest)",
        m.ccid,
        m.ns,
        m.nr,
        m.avps.len()
    )
}

fn icmp_echo(n: u8) -> Vec<u8> {
    netsim::pcap::icmp4_echo(
        [10, 98, 41, 10],
        [10, 98, 41, 1],
        false,
        0x1337,
        n.into(),
        &[],
    )
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let mut report = Report::new("client", "server");
    let start = Instant::now();
    let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
    let mut ccfg = l2tp::config::ClientConfig::default();
    ccfg.ppp.user = "good_worker@mt.lv".into();
    ccfg.ppp.password = "pass123".into();
    ccfg.tunnel = TunnelConfig {
        host_name: b"rb-client".to_vec(),
        secret: Some(b"tunnelpass".to_vec()),
        ..Default::default()
    };
    let client = L2tpClient::new(ccfg, start, &mut rng).map_err(|e| e.to_string())?;
    let mut aaa = ppp::aaa::Aaa::new();
    let mut secret = ppp::aaa::Secret::new("good_worker@mt.lv", "pass123");
    secret.local_address = Some(Ipv4Addr::new(10, 98, 41, 1));
    secret.remote_address = Some(Ipv4Addr::new(10, 98, 41, 10));
    aaa.secrets.push(secret);
    let mut server = PppLns::new(
        ServerConfig::default(),
        TunnelConfig {
            host_name: b"rb-lns".to_vec(),
            ..Default::default()
        },
        Box::new(|addr, _| {
            (addr == IpAddr::V4(Ipv4Addr::from(CLIENT_IP))).then(|| b"tunnelpass".to_vec())
        }),
        start,
        &mut rng,
    )
    .map_err(|e| e.to_string())?;
    server.set_store(Box::new(aaa));
    let link = if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    };
    // The crate's netsim adapters (shared with l2tp's pair tests); the LNS answers pings.
    let mut lns = LnsNode::new(server, true);
    lns.icmp_reply = true;
    lns.peer = peer();
    let mut p = Pair::with_start(
        L2tpClientNode::new(client),
        lns,
        link.clone(),
        link.clone(),
        opts.seed,
        start,
    );
    let up = p
        .run_until(Duration::from_secs(120), |a, _| a.network_up())
        .ok_or("L2TP/PPP did not come up within 120 s")?;
    report.time_to_up = Some(up);
    // Let the server side finish IPCP, then ping.
    p.run_for(Duration::from_millis(200));
    let mut sent = 0;
    for n in 1..=3u8 {
        let mut buf = [0u8; 256];
        let now = p.now();
        if let Ok(len) = p.a.c.send_datagram(now, 0x0021, &icmp_echo(n), &mut buf) {
            sent += 1;
            // Through the pair so that it is traced.
            let d = buf[..len].to_vec();
            let fate = p.ab.send(now, d.clone());
            p.trace.push(netsim::TraceEntry {
                at: now - start,
                dir: Dir::AtoB,
                data: d,
                fate,
            });
        }
        p.run_for(Duration::from_millis(300));
    }
    let now = p.now();
    p.a.c.close(now);
    p.run_for(Duration::from_secs(40));

    // Ladder: control messages individually, data summarised.
    let mut frames = Vec::new();
    let mut notes: Vec<(Duration, String)> = (p.a.times.iter().zip(&p.a.events))
        .filter_map(|(t, e)| Some((*t - start, client_note(e)?)))
        .collect();
    notes.extend(
        p.b.times
            .iter()
            .zip(&p.b.events)
            .filter_map(|(t, e)| Some((*t - start, server_note(e)?))),
    );
    notes.sort_by_key(|n| n.0);
    let mut ni = notes.into_iter().peekable();
    for e in &p.trace {
        while let Some(n) = ni.next_if(|n| n.0 <= e.at) {
            report.note(n.0, n.1);
        }
        let (src, dst) = match e.dir {
            Dir::AtoB => (CLIENT_IP, SERVER_IP),
            Dir::BtoA => (SERVER_IP, CLIENT_IP),
        };
        frames.push((e.at, netsim::pcap::udp4_wrap(src, 1701, dst, 1701, &e.data)));
        report.msg_fate(
            e.at,
            e.dir,
            e.data.len(),
            summary(&e.data),
            e.fate == Fate::Lost,
        );
    }
    for n in ni {
        report.note(n.0, n.1);
    }
    report.note(
        p.elapsed(),
        format!(
            "pings: {sent} sent through the tunnel, {} replies",
            p.a.got.len()
        ),
    );

    // Part 2: unmanaged L2TP Ether (L2TPv3 over UDP, 4-byte cookies, L2-Specific Sublayer).
    let t2 = p.elapsed() + Duration::from_secs(1);
    let a_cfg = EtherConfig {
        unmanaged_mode: true,
        local_session_id: Some(100),
        remote_session_id: Some(200),
        send_cookie: Some("0a0b0c0d".into()),
        peer_cookie: Some("01020304".into()),
        l2tp_proto_version: ProtoVersion::L2tpv3Udp,
        use_l2_specific_sublayer: true,
        ..Default::default()
    };
    let b_cfg = EtherConfig {
        local_session_id: Some(200),
        remote_session_id: Some(100),
        send_cookie: a_cfg.peer_cookie.clone(),
        peer_cookie: a_cfg.send_cookie.clone(),
        ..a_cfg.clone()
    };
    let mut ea = StaticEther::from_config(&a_cfg, "l2tp-ether1").map_err(|e| e.to_string())?;
    let mut eb = StaticEther::from_config(&b_cfg, "l2tp-ether1").map_err(|e| e.to_string())?;
    report.note(
        t2,
        format!(
            "L2TP Ether (unmanaged, l2tpv3-udp, cookies 4 bytes, sublayer on, mtu {}): mac {:02x?}",
            ea.mtu(),
            ea.mac()
        ),
    );
    let mut buf = [0u8; 256];
    for i in 0..3u8 {
        // Broadcast ARP-like frame from A, unicast reply from B.
        let (from, to, dir) = if i % 2 == 0 {
            (&mut ea, &eb, Dir::AtoB)
        } else {
            (&mut eb, &ea, Dir::BtoA)
        };
        let mut frame = vec![0xff; 6];
        frame.extend_from_slice(&from.mac());
        frame.extend_from_slice(&[0x08, 0x06]);
        frame.extend_from_slice(&[0u8; 46]);
        let n = from
            .encapsulate(&frame, &mut buf)
            .map_err(|e| e.to_string())?;
        let ok = to
            .decapsulate(&buf[..n])
            .map(|f| f == &frame[..])
            .unwrap_or(false);
        let at = t2 + Duration::from_millis(10 * u64::from(i));
        let (src, dst) = match dir {
            Dir::AtoB => (CLIENT_IP, SERVER_IP),
            Dir::BtoA => (SERVER_IP, CLIENT_IP),
        };
        frames.push((at, netsim::pcap::udp4_wrap(src, 1701, dst, 1701, &buf[..n])));
        report.msg(
            at,
            dir,
            n,
            format!(
                "L2TPv3 data session={} cookie+sublayer seq {}: Ethernet {} bytes{}",
                if dir == Dir::AtoB { 200 } else { 100 },
                i / 2,
                frame.len(),
                if ok { ", delivered" } else { ", DROPPED" }
            ),
        );
    }
    // Part 3: managed L2TPv3 (RFC 3931) control connection with an Ethernet pseudowire,
    // HMAC-MD5 Message Digest with nonces, 8-byte cookies negotiated in ICRQ/ICRP.
    let t3 = t2 + Duration::from_secs(1);
    let v3cfg = |name: &[u8]| l2tp::v3::V3Config {
        host_name: name.to_vec(),
        secret: Some(b"v3secret".to_vec()),
        cookie_len: 8,
        l2_sublayer: true,
        ..Default::default()
    };
    let mut ca = l2tp::v3::ControlConnectionV3::new(v3cfg(b"lcce-a"), true, &mut rng)
        .map_err(|e| e.to_string())?;
    let cb = l2tp::v3::ControlConnectionV3::new(v3cfg(b"lcce-b"), false, &mut rng)
        .map_err(|e| e.to_string())?;
    let start3 = start + t3;
    ca.connect(start3).map_err(|e| e.to_string())?;
    // A second pseudowire session on the same control connection, as an outgoing call (its
    // OCRQ waits for the SCCCN; the peer answers OCRP + OCCN).
    let second = ca
        .open_outgoing_session(start3)
        .map_err(|e| e.to_string())?;
    let mut p3 = Pair::with_start(
        netsim::l2tp::V3Node::new(ca),
        netsim::l2tp::V3Node::new(cb),
        link.clone(),
        link.clone(),
        opts.seed ^ 3,
        start3,
    );
    let up = p3.run_until(Duration::from_secs(60), |a, b| {
        a.sessions_up() == 2 && b.sessions_up() == 2
    });
    report.note(
        t3,
        "managed L2TPv3 (l2tpv3-udp, digest md5, cookies 8 bytes, Ethernet pseudowire), an incoming (ICRQ) and an outgoing (OCRQ) call on one control connection",
    );
    // The first session's attachment circuit (the Ethernet port) goes down: Set-Link-Info.
    let mut sli_note = None;
    if let Some(t) = up {
        let first = p3.a.c.local_session_id();
        p3.a.c
            .set_circuit_status(start3 + t, first, false)
            .map_err(|e| e.to_string())?;
        p3.run_for(Duration::from_millis(200));
        let seen = p3.b.events.iter().any(|e| {
            matches!(
                e,
                l2tp::v3::V3Event::PeerCircuitStatus { active: false, .. }
            )
        });
        sli_note = Some((
            t3 + t,
            format!(
                "LCCE A: local circuit of session {first:#x} down -> SLI; LCCE B {}",
                if seen {
                    "reports the peer's circuit down"
                } else {
                    "saw NO status change"
                }
            ),
        ));
    }
    let mut evs: Vec<(Duration, Dir, usize, String, bool)> = p3
        .trace
        .iter()
        .map(|e| {
            (
                t3 + e.at,
                e.dir,
                e.data.len(),
                v3_summary(&e.data),
                e.fate == Fate::Lost,
            )
        })
        .collect();
    evs.sort_by_key(|e| e.0);
    for (at, dir, len, text, lost) in evs {
        report.msg_fate(at, dir, len, text, lost);
    }
    if let Some((at, text)) = sli_note {
        report.note(at, text);
    }
    for e in &p3.trace {
        let (src, dst) = match e.dir {
            Dir::AtoB => (CLIENT_IP, SERVER_IP),
            Dir::BtoA => (SERVER_IP, CLIENT_IP),
        };
        frames.push((
            t3 + e.at,
            netsim::pcap::udp4_wrap(src, 1701, dst, 1701, &e.data),
        ));
    }
    match up {
        Some(t) => {
            for sid in [p3.a.c.local_session_id(), second] {
                let mut out = [0u8; 256];
                let frame = [0xffu8; 60];
                let n =
                    p3.a.c
                        .encapsulate_session(sid, &frame, &mut out)
                        .map_err(|e| e.to_string())?;
                let peer_sid = p3.a.c.session(sid).map(|s| s.remote_session_id());
                let ok = matches!(
                    p3.b.c.handle_input(start3 + t, &out[..n]),
                    Ok(l2tp::v3::V3Input::Data(d)) if d.payload == frame
                        && Some(d.session_id) == peer_sid
                );
                report.note(
                    t3 + t,
                    format!(
                        "L2TPv3 session {sid:#x} up on both ends; Ethernet frame {} on it ({} bytes on the wire)",
                        if ok { "delivered" } else { "DROPPED" },
                        n
                    ),
                );
            }
        }
        None => report.note(
            t3 + Duration::from_secs(60),
            "L2TPv3 session did not come up",
        ),
    }
    report.pcaps.push(PcapOut {
        file: "l2tp.pcap".into(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    });
    Ok(report)
}
