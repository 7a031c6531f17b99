//! Tour scenario for the `zerotier` crate's VL2: the root of a private planet also hosts a
//! network controller (RouterOS `/zerotier controller`: private network, ip-range
//! 10.147.17.10-10.147.17.20, route 10.147.17.0/24, mtu 2800, multicast-limit 32) on which
//! leaves a and b are authorized. Both join (NETWORK_CONFIG_REQUEST, a signed config in the
//! OK), like the broadcast group at the root and gather its members (MULTICAST_LIKE /
//! MULTICAST_GATHER). Then a pings b's managed address as a host behind a TAP would: an ARP
//! request as MULTICAST_FRAME to the broadcast group (with a's COM pushed first as
//! NETWORK_CREDENTIALS, the network being private), b's ARP reply and the ICMP echoes as
//! unicast FRAMEs. "Up" is the first ICMP echo reply at a.

use netsim::TestRng;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use netsim::mesh::{Mesh, MeshEndpoint};
use netsim::{Dir, Fate, LinkConfig};
use zerotier::crypto::PeerKey;
use zerotier::vl2::controller::route;
use zerotier::vl2::{Controller, IpPrefix, NetworkSettings};
use zerotier::wire::InetAddr;
use zerotier::{
    Address, Event, Identity, LocalSocket, NetworkId, Node, NodeConfig, Root, SigningKeyPair,
    World, WorldType,
};

use super::zerotier::{summarize, TOUR_IDENTITIES};
use super::{Opts, PcapOut, Report};

const ROOT: &str = "10.97.40.1:9993";
const A: &str = "10.97.41.2:9993";
const B: &str = "10.97.42.2:9993";
/// Wall clock given to the controller (ms since the epoch) at the start.
const WALL: u64 = 1_700_000_000_000;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV4: u16 = 0x0800;

/// One node plus the little IPv4 host (ARP + ICMP echo) a TAP would lead to.
struct End {
    addr: SocketAddr,
    node: Node,
    start: Instant,
    events: Vec<(Duration, Event)>,
    /// Joined network and, once configured, our MAC and IPv4 address on it.
    net: Option<NetworkId>,
    mac: [u8; 6],
    ip: Option<Ipv4Addr>,
    /// The address to ping (a only), its MAC once ARP answered, and when to ping next.
    target: Option<Ipv4Addr>,
    target_mac: Option<[u8; 6]>,
    next_ping: Option<Instant>,
    seq: u16,
    /// ICMP echo replies received (at, seq).
    replies: Vec<(Duration, u16)>,
}

impl End {
    fn collect(&mut self, now: Instant) {
        while let Some(e) = self.node.poll_event() {
            match &e {
                Event::NetworkConfigured { mac, addresses, .. } => {
                    self.mac = *mac;
                    self.ip = addresses.iter().find_map(|p| match p.addr {
                        std::net::IpAddr::V4(a) => Some(a),
                        _ => None,
                    });
                }
                Event::Frame {
                    src_mac,
                    ethertype,
                    payload,
                    ..
                } => self.host(now, *src_mac, *ethertype, payload),
                _ => {}
            }
            self.events.push((now - self.start, e));
        }
    }

    fn send(&mut self, now: Instant, dst: [u8; 6], ethertype: u16, payload: &[u8]) {
        if let Some(n) = self.net {
            let _ = self
                .node
                .send_frame(now, n, ethertype, self.mac, dst, payload);
        }
    }

    /// The host behind the TAP: answer ARP requests and ICMP echoes for our address, learn
    /// the target's MAC from ARP replies, count echo replies.
    fn host(&mut self, now: Instant, src_mac: [u8; 6], ethertype: u16, p: &[u8]) {
        let Some(me) = self.ip else { return };
        if ethertype == ETH_ARP && p.len() >= 28 {
            let op = u16::from_be_bytes([p[6], p[7]]);
            let sender_ip = Ipv4Addr::new(p[14], p[15], p[16], p[17]);
            let target_ip = Ipv4Addr::new(p[24], p[25], p[26], p[27]);
            if op == 1 && target_ip == me {
                let reply = arp(2, self.mac, me, src_mac, sender_ip);
                self.send(now, src_mac, ETH_ARP, &reply);
            } else if op == 2 && Some(sender_ip) == self.target {
                self.target_mac = Some(src_mac);
            }
        } else if ethertype == ETH_IPV4 && p.len() >= 28 && p[9] == 1 {
            let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
            let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
            if dst != me {
                return;
            }
            let seq = u16::from_be_bytes([p[26], p[27]]);
            match p[20] {
                8 => {
                    let reply = icmp_echo(0, me, src, seq);
                    self.send(now, src_mac, ETH_IPV4, &reply);
                }
                0 => self.replies.push((now - self.start, seq)),
                _ => {}
            }
        }
    }

    fn ping(&mut self, now: Instant) {
        let (Some(me), Some(t)) = (self.ip, self.target) else {
            return;
        };
        match self.target_mac {
            None => {
                let req = arp(1, self.mac, me, [0; 6], t);
                self.send(now, [0xff; 6], ETH_ARP, &req);
            }
            Some(mac) => {
                self.seq += 1;
                let req = icmp_echo(8, me, t, self.seq);
                self.send(now, mac, ETH_IPV4, &req);
            }
        }
    }
}

/// An Ethernet/IPv4 ARP packet (`op` 1 request, 2 reply).
fn arp(op: u16, sha: [u8; 6], spa: Ipv4Addr, tha: [u8; 6], tpa: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0, 1, 8, 0, 6, 4];
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sha);
    p.extend_from_slice(&spa.octets());
    p.extend_from_slice(&tha);
    p.extend_from_slice(&tpa.octets());
    p
}

/// The Internet checksum (RFC 1071).
fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An IPv4 packet with an ICMP echo (`typ` 8 request, 0 reply), id 0x2e7, 32 payload bytes.
fn icmp_echo(typ: u8, src: Ipv4Addr, dst: Ipv4Addr, seq: u16) -> Vec<u8> {
    let mut icmp = vec![typ, 0, 0, 0, 0x02, 0xe7];
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend(0u8..32);
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let len = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&len.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&icmp);
    ip
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
        [self.node.poll_timeout(), self.next_ping]
            .into_iter()
            .flatten()
            .min()
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.next_ping.is_some_and(|t| t <= now) {
            self.next_ping = Some(now + Duration::from_secs(2));
            self.ping(now);
        }
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
        }
        self.collect(now);
    }
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let start = Instant::now();
    let mut krng = TestRng::new(opts.seed ^ 0x2e8);
    let ids: Vec<Identity> = TOUR_IDENTITIES
        .iter()
        .map(|s| s.parse::<Identity>().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let sign = SigningKeyPair::generate(&mut krng);
    let planet = World::make(
        WorldType::Planet,
        0x7e58,
        1_700_000_000_000,
        sign.public,
        vec![Root {
            identity: ids[0].public_only(),
            endpoints: vec![InetAddr::Ip(ROOT.parse().map_err(|e| format!("{e}"))?)],
        }],
        &sign,
    );
    let (ra, aa, ba) = (ids[0].address(), ids[1].address(), ids[2].address());
    // The controller: RouterOS defaults (private, broadcast, mtu 2800, multicast-limit 32)
    // plus a pool and its route; a and b authorized by the admin beforehand.
    let mut ctl = Controller::new(ids[0].clone());
    let nwid = ctl.set_network(
        0x97,
        NetworkSettings {
            name: "tour".into(),
            ip_ranges: vec![(
                Ipv4Addr::new(10, 147, 17, 10),
                Ipv4Addr::new(10, 147, 17, 20),
            )],
            routes: vec![route(IpPrefix {
                addr: Ipv4Addr::new(10, 147, 17, 0).into(),
                bits: 24,
            })],
            ..NetworkSettings::default()
        },
    );
    ctl.authorize(nwid, aa, true);
    ctl.authorize(nwid, ba, true);
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
            net: None,
            mac: [0; 6],
            ip: None,
            target: None,
            target_mac: None,
            next_ping: None,
            seq: 0,
            replies: Vec::new(),
        })
    };
    let mut r = mk(0, ROOT, opts.seed ^ 1)?;
    r.node.host_controller(start, WALL, ctl);
    let mut a = mk(1, A, opts.seed ^ 2)?;
    let mut b = mk(2, B, opts.seed ^ 3)?;
    for e in [&mut a, &mut b] {
        e.node.join(start, nwid).map_err(|e| e.to_string())?;
        e.net = Some(nwid);
    }
    a.next_ping = Some(start + Duration::from_secs(2));
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
    // a learns b's address from the config b got: the tour plays the user who reads it off b.
    let up = |nodes: &mut [(Vec<SocketAddr>, End)]| {
        if nodes[1].1.target.is_none() {
            nodes[1].1.target = nodes[2].1.ip;
        }
        !nodes[1].1.replies.is_empty()
    };
    mesh.run_until(Duration::from_secs(600), up);
    let until = (mesh.elapsed() + Duration::from_secs(5)).max(Duration::from_secs(10));
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
    let mut report = Report::new("leaf a", "root+controller / leaf b");
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
            let name = |p: &Address| names.get(p).copied().unwrap_or("?");
            let text = match e {
                Event::Online => format!("{who}: online (a root answered)"),
                Event::ConfigIssued { member, .. } => {
                    format!("{who}: controller signed a config for {}", name(member))
                }
                Event::ConfigRefused { member, code, .. } => {
                    format!("{who}: controller refused {} ({code:?})", name(member))
                }
                Event::NetworkStatus { status, .. } => {
                    format!("{who}: network {nwid} status {status:?}")
                }
                Event::NetworkConfigured {
                    mac,
                    mtu,
                    addresses,
                    revision,
                    ..
                } => {
                    let a: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                    format!(
                        "{who}: config rev {revision}: MAC {}, MTU {mtu}, addresses {}",
                        mac.iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(":"),
                        a.join(", ")
                    )
                }
                Event::Frame {
                    peer,
                    ethertype,
                    payload,
                    dst_mac,
                    ..
                } => format!(
                    "{who}: Ethernet frame from {} ({}, {} bytes{}) to the TAP",
                    name(peer),
                    match *ethertype {
                        ETH_ARP => "ARP",
                        ETH_IPV4 => "IPv4",
                        _ => "other",
                    },
                    payload.len(),
                    if *dst_mac == [0xff; 6] {
                        ", broadcast"
                    } else {
                        ""
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
    let ea = &mesh.nodes[1].1;
    report.time_to_up = ea.replies.first().map(|r| r.0);
    report.note(
        mesh.elapsed(),
        format!(
            "a: {} ICMP echo replies from {:?}; drops {}",
            ea.replies.len(),
            ea.target,
            ea.node.stats().total_drops()
        ),
    );
    report.pcaps.push(PcapOut {
        file: "zerotier-vl2.pcap".to_string(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    });
    Ok(report)
}
