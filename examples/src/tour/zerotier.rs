//! Tour scenario for the `zerotier` crate: a private planet with one root and two leaves (a, b)
//! over the simulated network. Both leaves HELLO the root; a ECHOes b, whom it does not know:
//! WHOIS at the root, the ECHO relayed by the root (hops 1), the root's RENDEZVOUS to both, a
//! direct path confirmed by HELLO/OK, and the next ECHO goes direct. Then the keepalives:
//! ECHO on a path not used for 14 s, a full HELLO every 60 s.

use netsim::TestRng;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netsim::mesh::{Mesh, MeshEndpoint};
use netsim::{Dir, Fate, LinkConfig};
use zerotier::crypto::{dearmor, PeerKey};
use zerotier::wire::verbs::Message;
use zerotier::wire::{Header, InetAddr, Verb, IDX_PAYLOAD, IDX_VERB};
use zerotier::{
    Address, Event, Identity, LocalSocket, Node, NodeConfig, Root, SigningKeyPair, World, WorldType,
};

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
pub(super) fn summarize(
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

/// The root's, leaf a's and leaf b's identities (secret form), made once with
/// `Identity::generate` from a seeded ChaCha20 generator.
pub(super) const TOUR_IDENTITIES: [&str; 3] = [
    "c5fc069df1:0:e5adc2e0db130baf44fd849eb39461580a3014929024241bc93daa6d9dc4de1676cbf0be961d54422eafa4d264bba5f172c45548406e1d2736734875927cb0f5:2e20e634f63b8523afc75b205499f9ddcc3054a6ee9f9e84cfdfe425f300053a6035ec16ff3c0249a171d621a8a3f6c6b5c1ba436a0fdf79de2b802f76a15274",
    "60fff3a18f:0:3439252f74678e75f91ba4161cbe7bbfa969e40122cd95aab2550a335ad04c39b147ddeb089103e8467c3a02e73af590dc033bc6dfa88abdbf6d914a87940e38:bd58a2c30d6697f8dda7c087c4b96352370b1d74071597d9ef873b5686f3228ef0c8b50dbbda94f44b529251be4a98f03133d8435fa585b2e40170e110458788",
    "7b26140a09:0:cca53274ecd87e9a77af2d6d3cbcc439b1a2247e3caa237d1175e86c89efea301a81ed711570121c714bfb3cf6fb26d2ce17dc1d99c8bb436d2d075abf2ee895:8925d21faf4136f17cdbd7ae3cc8df1e312d77506b7041b91009635f99d563f48ccaac1b2b2a9e764ab82b6b5d87d0042f7e5019890f483ea192d8551a456f8c",
];

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let start = Instant::now();
    let mut krng = TestRng::new(opts.seed ^ 0x2e7);
    // Fixed identities: generating one costs a dozen runs of the memory-hard hash (seconds of
    // CPU for three), and the tour runs this scenario for every seed of its grid test.
    let ids: Vec<Identity> = TOUR_IDENTITIES
        .iter()
        .map(|s| s.parse::<Identity>().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
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
            Box::new(TestRng::new(seed)),
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
    // a pings b every 4 s for the first minute, as an application with traffic would: relayed
    // traffic is what makes the root introduce the two (RENDEZVOUS), and under loss an
    // introduction or the HELLO through the new path can be lost and must be tried again.
    a.schedule = (0..75)
        .map(|i| (start + Duration::from_secs(1 + 4 * i), ba))
        .collect();
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
    // Until a's direct path to b is confirmed (at most 300 s: under heavy loss the root's
    // introduction and the HELLO/OK on the new path may take several tries), then 60 s more
    // to show the keepalives; never less than the loss-free story's 75 s.
    let direct = |nodes: &mut [(Vec<std::net::SocketAddr>, End)]| {
        nodes[1]
            .1
            .events
            .iter()
            .any(|(_, e)| matches!(e, Event::PathConfirmed { peer, .. } if *peer == ba))
    };
    mesh.run_until(Duration::from_secs(300), direct);
    let until = (mesh.elapsed() + Duration::from_secs(60)).max(Duration::from_secs(75));
    mesh.run_for(until.saturating_sub(mesh.elapsed()));

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
