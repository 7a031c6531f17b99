//! Tour scenario for the `wireguard` crate: a road-warrior client (UDP 51820) and a RouterOS-style
//! server (UDP 13231) over the simulated link. The client pings the server three times (handshake,
//! staged first packet, data both ways), goes quiet (the server's passive keepalive after 10 s),
//! and pings again after 120 virtual seconds, which makes the client rekey (RekeyAfterTime).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use netsim::wireguard::WgNode;
use netsim::{Dir, Fate, LinkConfig, Pair};
use wireguard::{Device, Event, InterfaceConfig, Key, PeerConfig};

use super::{Opts, PcapOut, Report};

const CLIENT_UDP: ([u8; 4], u16) = ([10, 97, 20, 1], 51820);
const SERVER_UDP: ([u8; 4], u16) = ([10, 97, 20, 2], 13231);
const CLIENT_TUN: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 1);
const SERVER_TUN: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 2);

/// ICMP echo request/reply inside IPv4.
fn icmp_echo(src: Ipv4Addr, dst: Ipv4Addr, reply: bool, seq: u16) -> Vec<u8> {
    netsim::pcap::icmp4_echo(src.octets(), dst.octets(), reply, 0x1234, seq, &[0x61; 56])
}

fn device(seed: u64, key: Key, now: Instant, listen_port: u16) -> Result<Device, String> {
    Device::new(
        &InterfaceConfig {
            private_key: Some(key),
            listen_port,
            ..Default::default()
        },
        Box::new(netsim::TestRng::new(seed)),
        now,
        // Wall clock of the simulation: 2026-05-29 (only feeds the TAI64N timestamps).
        Duration::from_secs(1_780_000_000),
    )
    .map_err(|e| e.to_string())
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let start = Instant::now();
    let mut keyrng = netsim::TestRng::new(opts.seed ^ 0x7767);
    let (kc, ks) = (Key::generate(&mut keyrng), Key::generate(&mut keyrng));
    let mut client = device(opts.seed, kc, start, CLIENT_UDP.1)?;
    let mut server = device(opts.seed.wrapping_add(1), ks, start, SERVER_UDP.1)?;
    let server_addr = SocketAddr::from((SERVER_UDP.0, SERVER_UDP.1));
    let client_addr = SocketAddr::from((CLIENT_UDP.0, CLIENT_UDP.1));
    let mut pc = PeerConfig::new(ks.public_key());
    pc.endpoint_address = Some(server_addr.ip().to_string());
    pc.endpoint_port = Some(server_addr.port());
    pc.allowed_address = vec!["10.97.21.0/24".parse().map_err(|e| format!("{e}"))?];
    client.add_peer(start, &pc).map_err(|e| e.to_string())?;
    let mut ps = PeerConfig::new(kc.public_key());
    ps.allowed_address = vec!["10.97.21.1/32".parse().map_err(|e| format!("{e}"))?];
    ps.responder = true;
    server.add_peer(start, &ps).map_err(|e| e.to_string())?;

    let mut a = WgNode::new(client, server_addr);
    for (i, at) in [1000u64, 2000, 3000, 125_000, 126_000]
        .into_iter()
        .enumerate()
    {
        a.send_at(
            start + Duration::from_millis(at),
            icmp_echo(CLIENT_TUN, SERVER_TUN, false, i as u16 + 1),
        );
    }
    let b = WgNode::new(server, client_addr).with_echo();
    let link = if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    };
    let mut pair = Pair::with_start(a, b, link.clone(), link, opts.seed, start);
    pair.run_for(Duration::from_secs(140));

    let mut report = Report::new("client", "server");
    let mut frames = Vec::new();
    let mut data_rows = 0usize;
    for t in &pair.trace {
        let summary = wireguard::wire::summarize(&t.data);
        let (src, dst) = match t.dir {
            Dir::AtoB => (CLIENT_UDP, SERVER_UDP),
            Dir::BtoA => (SERVER_UDP, CLIENT_UDP),
        };
        frames.push((
            t.at,
            netsim::pcap::udp4_wrap(src.0, src.1, dst.0, dst.1, &t.data),
        ));
        // Keep the ladder short: every handshake/keepalive message, the first data packets of
        // each burst.
        let is_data = t.data.first() == Some(&4) && t.data.len() > 32;
        if is_data {
            data_rows += 1;
            if data_rows > 8 {
                continue;
            }
        }
        report.msg_fate(t.at, t.dir, t.data.len(), summary, t.fate == Fate::Lost);
    }
    if data_rows > 8 {
        report.note(
            pair.elapsed(),
            format!("({} more transport data messages not shown)", data_rows - 8),
        );
    }
    let mut notes: Vec<(Instant, String)> = Vec::new();
    for (who, n) in [("client", &pair.a), ("server", &pair.b)] {
        for (t, e) in &n.events {
            let text = match e {
                Event::HandshakeComplete { initiator, .. } => format!(
                    "{who}: handshake complete ({}), new keypair current",
                    if *initiator {
                        "initiator, on the response"
                    } else {
                        "responder, confirmed by the first transport packet"
                    }
                ),
                Event::HandshakeInitiated { attempt, .. } => {
                    format!("{who}: handshake initiation sent (attempt {attempt})")
                }
                Event::EndpointChanged { endpoint, .. } => {
                    format!("{who}: peer endpoint is now {endpoint} (authenticated packet)")
                }
                other => format!("{who}: {other:?}"),
            };
            notes.push((*t, text));
        }
    }
    notes.sort_by_key(|(t, _)| *t);
    let up = pair
        .a
        .events
        .iter()
        .find(|(_, e)| matches!(e, Event::HandshakeComplete { .. }))
        .map(|(t, _)| *t - start);
    for (t, text) in notes {
        report.note(t - start, text);
    }
    // Merge notes into time order (stable: messages before notes at equal times).
    report.lines.sort_by_key(|l| match l {
        super::Line::Msg { at, .. } => (*at, 0),
        super::Line::Note { at, .. } => (*at, 1),
    });
    report.time_to_up = up;
    report.note(
        pair.elapsed(),
        format!(
            "client delivered {} echo replies, server {} echo requests; handshakes: client {}",
            pair.a.delivered.len(),
            pair.b.delivered.len(),
            pair.a
                .dev
                .peer_stats(wireguard::PeerId(0))
                .map(|s| s.handshakes)
                .unwrap_or(0)
        ),
    );
    report.pcaps.push(PcapOut {
        file: "wireguard.pcap".to_string(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    });
    Ok(report)
}
