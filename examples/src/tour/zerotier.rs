//! Tour scenario for the `zerotier` crate: a private planet with one root and two leaves (a, b)
//! over the simulated network. Both leaves HELLO the root; a ECHOes b, whom it does not know:
//! WHOIS at the root, the ECHO relayed by the root (hops 1), the root's RENDEZVOUS to both, a
//! direct path confirmed by HELLO/OK, and the next ECHO goes direct. Then the keepalives:
//! ECHO on a path not used for 14 s, a full HELLO every 60 s.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netsim::mesh::{Mesh, MeshEndpoint};
use netsim::{Dir, Fate, LinkConfig, SimRng};
use zerotier::crypto::{dearmor, PeerKey};
use zerotier::wire::verbs::Message;
use zerotier::wire::{Header, InetAddr, Verb, IDX_PAYLOAD, IDX_VERB};
use zerotier::{
    Address, Event, Identity, LocalSocket, Node, NodeConfig, Root, SigningKeyPair, World, WorldType,
};

use super::wireguard::TourRng;
use super::{Opts, PcapOut, Report};

const ROOT: &str = "10.97.40.1:9993";
const A: &str = "10.97.41.2:9993";
const B: &str = "10.97.42.2:9993";

struct End {
    addr: SocketAddr,
    node: Node,
    start: Instant,
    events: Vec<(Duration, Event)>,
    schedule: Vec<(Instant, Address)>,
}

impl End {
    fn collect(&mut self, now: Instant) {
        while let Some(e) = self.node.poll_event() {
            self.events.push((now - self.start, e));
        }
    }
}

impl MeshEndpoint for End {
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, _to: SocketAddr, data: &[u8]) {
        let _ = self
            .node
            .handle_datagram(now, LocalSocket::Primary, from, data);
        self.collect(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
        self.collect(now);
        self.node
            .poll_transmit(now)
            .map(|t| (self.addr, t.dest, t.payload))
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        [self.node.poll_timeout(), self.schedule.first().map(|s| s.0)]
            .into_iter()
            .flatten()
            .min()
    }
    fn handle_timeout(&mut self, now: Instant) {
        while self.schedule.first().is_some_and(|s| s.0 <= now) {
            let (_, to) = self.schedule.remove(0);
            let _ = self.node.send_echo(now, to, b"tour");
        }
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
        }
        self.collect(now);
    }
}

/// One-line summary of a datagram, decrypted with the tour's own keys.
fn summarize(
    data: &[u8],
    keys: &HashMap<(Address, Address), PeerKey>,
    names: &HashMap<Address, &str>,
) -> String {
    if data.len() < 16 {
        return format!("{}-byte NAT-opening junk (TTL 2)", data.len());
    }
    if zerotier::wire::is_fragment(data) {
        return format!("fragment of a larger packet, {} bytes", data.len());
    }
    let Ok(h) = Header::parse(data) else {
        return "malformed".into();
    };
    let name = |a: &Address| names.get(a).copied().unwrap_or("?").to_string();
    let route = format!("{}->{}", name(&h.source), name(&h.dest));
    let Some(key) = keys.get(&(h.source, h.dest)) else {
        return format!("{route} (no key)");
    };
    let mut b = data.to_vec();
    let Ok(suite) = dearmor(&mut b, key) else {
        return format!("{route} (MAC failed)");
    };
    let verb = Verb::from_u8(b[IDX_VERB]);
    let mut payload = b[IDX_PAYLOAD..].to_vec();
    if b[IDX_VERB] & 0x80 != 0 {
        let mut out = Vec::new();
        if zerotier::wire::lz4_decompress(&b[IDX_PAYLOAD..], &mut out).is_ok() {
            payload = out;
        }
    }
    let what =
        Message::parse(verb, &payload).map_or_else(|_| verb.name().to_string(), |m| m.summary());
    let hops = if h.hops() > 0 {
        format!(" hops {}", h.hops())
    } else {
        String::new()
    };
    format!("{route} {what} [{suite:?}{hops}]")
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let start = Instant::now();
    let mut krng = TourRng(SimRng::new(opts.seed ^ 0x2e7));
    let ids: Vec<Identity> = (0..3).map(|_| Identity::generate(&mut krng)).collect();
    let sign = SigningKeyPair::generate(&mut krng);
    let planet = World::make(
        WorldType::Planet,
        0x7e57,
        1_700_000_000_000,
        sign.public,
        vec![Root {
            identity: ids[0].public_only(),
            endpoints: vec![InetAddr::Ip(ROOT.parse().map_err(|e| format!("{e}"))?)],
        }],
        &sign,
    );
    let mk = |i: usize, addr: &str, seed: u64| -> Result<End, String> {
        let node = Node::new(
            NodeConfig::new(ids[i].clone(), planet.clone()),
            start,
            Box::new(TourRng(SimRng::new(seed))),
        )
        .map_err(|e| e.to_string())?;
        Ok(End {
            addr: addr.parse().map_err(|e| format!("{e}"))?,
            node,
            start,
            events: Vec::new(),
            schedule: Vec::new(),
        })
    };
    let r = mk(0, ROOT, opts.seed ^ 1)?;
    let mut a = mk(1, A, opts.seed ^ 2)?;
    let b = mk(2, B, opts.seed ^ 3)?;
    let (ra, aa, ba) = (ids[0].address(), ids[1].address(), ids[2].address());
    a.schedule = vec![
        (start + Duration::from_secs(1), ba),
        (start + Duration::from_secs(2), ba),
    ];
    let link = if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    };
    let mut mesh = Mesh::new(
        vec![(vec![r.addr], r), (vec![a.addr], a), (vec![b.addr], b)],
        link,
        opts.seed,
        start,
    );
    mesh.run_for(Duration::from_secs(75));

    let mut keys = HashMap::new();
    for x in &ids {
        for y in &ids {
            if x.address() != y.address() {
                if let Some(k) = x.agree(y) {
                    keys.insert((x.address(), y.address()), PeerKey::new(k));
                }
            }
        }
    }
    let names: HashMap<Address, &str> = [(ra, "root"), (aa, "a"), (ba, "b")].into_iter().collect();
    let mut report = Report::new("leaf a", "root / leaf b");
    let mut frames = Vec::new();
    for t in &mesh.trace {
        let dir = if t.from_node == 1 {
            Dir::AtoB
        } else {
            Dir::BtoA
        };
        let (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) = (t.src.ip(), t.dst.ip()) else {
            continue;
        };
        frames.push((
            t.at,
            netsim::pcap::udp4_wrap(s.octets(), t.src.port(), d.octets(), t.dst.port(), &t.data),
        ));
        report.msg_fate(
            t.at,
            dir,
            t.data.len(),
            summarize(&t.data, &keys, &names),
            t.fate == Fate::Lost,
        );
    }
    let mut notes = Vec::new();
    for (who, i) in [("root", 0usize), ("a", 1), ("b", 2)] {
        for (t, e) in &mesh.nodes[i].1.events {
            let text = match e {
                Event::Online => format!("{who}: online (a root answered)"),
                Event::WhoisResolved { peer } => format!(
                    "{who}: WHOIS {} answered by the root",
                    names.get(peer).unwrap_or(&"?")
                ),
                Event::Introduced { .. } => {
                    format!("{who}: relayed a<->b traffic, introduced them (RENDEZVOUS to both)")
                }
                Event::Rendezvous { at, .. } => {
                    format!("{who}: RENDEZVOUS says the peer is at {at}: junk + HELLO there")
                }
                Event::PathConfirmed { peer, remote, .. } => {
                    format!(
                        "{who}: direct path to {} at {remote} confirmed (an OK arrived on it)",
                        names.get(peer).unwrap_or(&"?")
                    )
                }
                Event::EchoReply { rtt, hops, .. } => format!(
                    "{who}: ECHO answered, rtt {rtt:?}, {}",
                    if *hops == 0 {
                        "direct"
                    } else {
                        "relayed by the root"
                    }
                ),
                _ => continue,
            };
            notes.push((*t, text));
        }
    }
    for (t, n) in notes {
        report.note(t, n);
    }
    report.lines.sort_by_key(|l| match l {
        super::Line::Msg { at, .. } => (*at, 0),
        super::Line::Note { at, .. } => (*at, 1),
    });
    report.time_to_up = mesh.nodes[1].1.events.iter().find_map(|(t, e)| match e {
        Event::PathConfirmed { peer, .. } if *peer == ba => Some(*t),
        _ => None,
    });
    let na = &mesh.nodes[1].1.node;
    report.note(
        mesh.elapsed(),
        format!(
            "a: {} peers; root latency {:?}; path to b alive: {}; drops {}",
            na.peer_count(),
            na.peer(ra, mesh.now()).and_then(|p| p.latency),
            na.peer(ba, mesh.now())
                .is_some_and(|p| p.paths.iter().any(|x| x.2)),
            na.stats().total_drops()
        ),
    );
    report.pcaps.push(PcapOut {
        file: "zerotier.pcap".to_string(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    });
    Ok(report)
}
