//! VL2 wired into the VL1 node, in memory over netsim: a root that hosts a controller and two
//! members that join a private network, get refused, are authorized by the admin and receive
//! their configs (addresses from the range, derived MAC, MTU, routes), under loss.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::*;
use netsim::mesh::Mesh;
use netsim::LinkConfig;
use zerotier::vl2::controller::route;
use zerotier::vl2::{derive, Controller, IpPrefix, NetworkSettings, NetworkStatus};
use zerotier::wire::verbs::ErrorCode;
use zerotier::{DropReason, Event, NetworkId, Node};

const WALL: u64 = 1_800_000_000_000;

fn settings() -> NetworkSettings {
    NetworkSettings {
        name: "lab".into(),
        ip_ranges: vec![(Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 254))],
        routes: vec![route(IpPrefix {
            addr: "10.9.0.0".parse().unwrap(),
            bits: 24,
        })],
        ..NetworkSettings::default()
    }
}

/// The three-node mesh with the root hosting a controller with one private network.
fn lab(link: LinkConfig, seed: u64) -> (Mesh<End>, NetworkId) {
    let mut m = three(link, seed);
    let mut ctl = Controller::new(identities()[0].clone());
    let nwid = ctl.set_network(7, settings());
    let now = m.now();
    m.nodes[0].1.node.host_controller(now, WALL, ctl);
    (m, nwid)
}

fn statuses(e: &End, nwid: NetworkId) -> Vec<NetworkStatus> {
    e.events
        .iter()
        .filter_map(|(_, ev)| match ev {
            Event::NetworkStatus { network, status } if *network == nwid => Some(*status),
            _ => None,
        })
        .collect()
}

fn configured(e: &End, nwid: NetworkId) -> Vec<(Vec<IpPrefix>, [u8; 6], u64)> {
    e.events
        .iter()
        .filter_map(|(_, ev)| match ev {
            Event::NetworkConfigured {
                network,
                addresses,
                mac,
                mtu,
                ..
            } if *network == nwid => Some((addresses.clone(), *mac, *mtu)),
            _ => None,
        })
        .collect()
}

#[test]
fn join_denied_then_authorized_then_configured() {
    let (mut m, nwid) = lab(LinkConfig::perfect(), 21);
    let ids = identities();
    let (a, b) = (ids[1].address(), ids[2].address());
    assert_eq!(nwid.controller(), ids[0].address());
    m.run_for(Duration::from_secs(1));
    let now = m.now();
    m.nodes[1].1.node.join(now, nwid).unwrap();
    m.nodes[2].1.node.join(now, nwid).unwrap();
    // A network whose controller is ourselves cannot be joined as a member.
    assert!(m.nodes[0].1.node.join(now, nwid).is_err());
    m.run_for(Duration::from_secs(1));
    // Private network, nobody authorized: both refused with ACCESS_DENIED.
    for i in [1, 2] {
        let e = &m.nodes[i].1;
        assert_eq!(statuses(e, nwid), vec![NetworkStatus::AccessDenied]);
        assert_eq!(
            e.node.membership(nwid).unwrap().status(),
            NetworkStatus::AccessDenied
        );
    }
    let refused = m.nodes[0]
        .1
        .events
        .iter()
        .filter(|(_, e)| {
            matches!(e, Event::ConfigRefused { code: ErrorCode::NetworkAccessDenied, network, .. } if *network == nwid)
        })
        .count();
    assert_eq!(refused, 2);
    // The admin authorizes both; their next request (60 s refresh) gets a config.
    let ctl = m.nodes[0].1.node.controller_mut().unwrap();
    assert!(ctl.authorize(nwid, a, true));
    assert!(ctl.authorize(nwid, b, true));
    m.run_for(Duration::from_secs(61));
    let mut ips = Vec::new();
    for (i, addr) in [(1, a), (2, b)] {
        let e = &m.nodes[i].1;
        assert_eq!(
            statuses(e, nwid),
            vec![NetworkStatus::AccessDenied, NetworkStatus::Ok]
        );
        let c = configured(e, nwid);
        assert_eq!(c.len(), 1);
        let (addrs, mac, mtu) = &c[0];
        assert_eq!(*mac, derive::mac_for(addr, nwid));
        assert_eq!(*mtu, 2800);
        assert_eq!(addrs.len(), 1);
        assert_eq!(addrs[0].bits, 24);
        let std::net::IpAddr::V4(ip) = addrs[0].addr else {
            panic!("v4")
        };
        assert_eq!(&ip.octets()[..3], &[10, 9, 0]);
        ips.push(ip);
        let cfg = e.node.membership(nwid).unwrap().config().unwrap();
        assert_eq!(cfg.name, "lab");
        assert_eq!(cfg.issued_to, addr);
        assert_eq!(cfg.static_ips, *addrs);
    }
    assert_ne!(ips[0], ips[1]);
    // Refreshes keep the config (a new timestamp each time) without a status change.
    m.run_for(Duration::from_secs(120));
    assert_eq!(
        statuses(&m.nodes[1].1, nwid),
        vec![NetworkStatus::AccessDenied, NetworkStatus::Ok]
    );
    assert_eq!(configured(&m.nodes[1].1, nwid).len(), 3);
    // Leaving forgets the network and stops the requests.
    assert!(m.nodes[1].1.node.leave(nwid));
    assert!(!m.nodes[1].1.node.leave(nwid));
    assert!(m.nodes[1].1.node.networks().is_empty());
    assert_eq!(m.nodes[2].1.node.networks(), vec![nwid]);
    for (_, e) in &m.nodes {
        assert_eq!(e.node.stats().dropped(DropReason::BadNetworkConfig), 0);
    }
}

#[test]
fn unknown_network_is_not_found_and_public_network_needs_no_admin() {
    let (mut m, nwid) = lab(LinkConfig::perfect(), 22);
    let now = m.now();
    let public = m.nodes[0].1.node.controller_mut().unwrap().set_network(
        8,
        NetworkSettings {
            private: false,
            ..settings()
        },
    );
    let missing = NetworkId((nwid.0 & !0xff_ffff) | 0x99);
    m.nodes[1].1.node.join(now, missing).unwrap();
    m.nodes[1].1.node.join(now, public).unwrap();
    // Joined at once, before the root answered our HELLO: the first requests had no path and
    // are repeated 5 s later.
    m.run_for(Duration::from_secs(4));
    assert!(statuses(&m.nodes[1].1, public).is_empty());
    m.run_for(Duration::from_secs(2));
    let e = &m.nodes[1].1;
    assert_eq!(statuses(e, missing), vec![NetworkStatus::NotFound]);
    assert_eq!(statuses(e, public), vec![NetworkStatus::Ok]);
    assert_eq!(configured(e, public).len(), 1);
}

/// Under 10 % loss (duplication, reordering) every member ends configured: lost requests and
/// answers are repeated on the 60 s refresh.
#[test]
fn members_get_configs_under_loss() {
    for seed in [31u64, 32, 33] {
        let (mut m, nwid) = lab(LinkConfig::lossy(0.1), seed);
        let ids = identities();
        let ctl = m.nodes[0].1.node.controller_mut().unwrap();
        ctl.authorize(nwid, ids[1].address(), true);
        ctl.authorize(nwid, ids[2].address(), true);
        m.run_for(Duration::from_secs(1));
        let now = m.now();
        m.nodes[1].1.node.join(now, nwid).unwrap();
        m.nodes[2].1.node.join(now, nwid).unwrap();
        m.run_for(Duration::from_secs(300));
        for i in [1, 2] {
            let e = &m.nodes[i].1;
            assert_eq!(
                e.node.membership(nwid).unwrap().status(),
                NetworkStatus::Ok,
                "seed {seed} node {i}"
            );
            assert_eq!(statuses(e, nwid), vec![NetworkStatus::Ok]);
        }
    }
}

/// (sender, source MAC, destination MAC, ethertype, payload).
type Delivered = (zerotier::Address, [u8; 6], [u8; 6], u16, Vec<u8>);

fn frames(e: &End) -> Vec<Delivered> {
    e.events
        .iter()
        .filter_map(|(_, ev)| match ev {
            Event::Frame {
                peer,
                src_mac,
                dst_mac,
                ethertype,
                payload,
                ..
            } => Some((*peer, *src_mac, *dst_mac, *ethertype, payload.clone())),
            _ => None,
        })
        .collect()
}

/// An ARP request (broadcast) and reply, an ICMP echo and reply between two members; then b is
/// deauthorized while cut off from the controller: a drops b's frames once b's COM no longer
/// agrees with a's refreshed one, and b, reconnected, is refused and can send nothing.
fn ethernet_between_members(link: LinkConfig, seed: u64) {
    let (mut m, nwid) = lab(link, seed);
    let ids = identities();
    let (a, b) = (ids[1].address(), ids[2].address());
    let (mac_a, mac_b) = (derive::mac_for(a, nwid), derive::mac_for(b, nwid));
    let ctl = m.nodes[0].1.node.controller_mut().unwrap();
    ctl.credential_time_max_delta = 120_000;
    ctl.authorize(nwid, a, true);
    ctl.authorize(nwid, b, true);
    m.run_for(Duration::from_secs(1));
    let now = m.now();
    m.nodes[1].1.node.join(now, nwid).unwrap();
    m.nodes[2].1.node.join(now, nwid).unwrap();
    // Configs, LIKEs of the broadcast group at the root, and the 60 s refresh's GATHER that
    // tells each member about the other.
    m.run_for(Duration::from_secs(70));
    for i in [1, 2] {
        assert_eq!(
            m.nodes[i].1.node.membership(nwid).unwrap().status(),
            NetworkStatus::Ok,
            "seed {seed}"
        );
    }
    let group = zerotier::wire::verbs::MulticastGroupRef {
        network_id: nwid,
        mac: zerotier::node::BROADCAST_MAC,
        adi: 0,
    };
    assert_eq!(m.nodes[1].1.node.group_members(&group), vec![b]);
    assert_eq!(m.nodes[0].1.node.group_members(&group).len(), 2);
    // A frame before anything: nothing delivered yet.
    assert!(frames(&m.nodes[1].1).is_empty() && frames(&m.nodes[2].1).is_empty());

    let arp_req = b"arp who-has b tell a".to_vec();
    let arp_rep = b"arp b is-at mac_b".to_vec();
    let ping = b"icmp echo request".to_vec();
    let pong = b"icmp echo reply".to_vec();
    let bc = zerotier::node::BROADCAST_MAC;
    // Like ARP and ping themselves, repeat a frame (up to 5 times) until it arrives: under
    // loss a frame (or the COM pushed before it) may be lost; VL2 does not retransmit.
    let send = |m: &mut Mesh<End>, i: usize, src, dst, et, p: &[u8]| {
        let to = 3 - i;
        let had = frames(&m.nodes[to].1).len();
        for _ in 0..5 {
            let now = m.now();
            let n = m.nodes[i]
                .1
                .node
                .send_frame(now, nwid, et, src, dst, p)
                .unwrap();
            assert_eq!(n, 1);
            m.run_for(Duration::from_secs(11));
            if frames(&m.nodes[to].1).len() > had {
                break;
            }
        }
    };
    send(&mut m, 1, mac_a, bc, 0x0806, &arp_req);
    send(&mut m, 2, mac_b, mac_a, 0x0806, &arp_rep);
    send(&mut m, 1, mac_a, mac_b, 0x0800, &ping);
    send(&mut m, 2, mac_b, mac_a, 0x0800, &pong);
    assert_eq!(
        frames(&m.nodes[2].1),
        vec![
            (a, mac_a, bc, 0x0806, arp_req.clone()),
            (a, mac_a, mac_b, 0x0800, ping.clone()),
        ],
        "seed {seed}"
    );
    assert_eq!(
        frames(&m.nodes[1].1),
        vec![
            (b, mac_b, mac_a, 0x0806, arp_rep.clone()),
            (b, mac_b, mac_a, 0x0800, pong.clone()),
        ],
        "seed {seed}"
    );
    // A frame for a MAC that is nobody's on this network is refused at the API.
    let now = m.now();
    assert!(m.nodes[1]
        .1
        .node
        .send_frame(now, nwid, 0x0800, mac_a, [0x02, 0, 0, 0, 0, 1], &ping)
        .is_err());

    // b is cut off from the controller (its direct path to a stays) and deauthorized.
    m.set_cut(0, 2, true);
    m.nodes[0]
        .1
        .node
        .controller_mut()
        .unwrap()
        .authorize(nwid, b, false);
    m.run_for(Duration::from_secs(200));
    // b never heard the refusal: still OK with its old config, so it still sends.
    assert_eq!(
        m.nodes[2].1.node.membership(nwid).unwrap().status(),
        NetworkStatus::Ok
    );
    let before = m.nodes[1].1.node.stats().dropped(DropReason::NoCredential);
    for _ in 0..5 {
        let now = m.now();
        m.nodes[2]
            .1
            .node
            .send_frame(now, nwid, 0x0800, mac_b, mac_a, b"late")
            .unwrap();
        m.run_for(Duration::from_secs(2));
        if m.nodes[1].1.node.stats().dropped(DropReason::NoCredential) > before {
            break;
        }
    }
    // a's COM was refreshed every 60 s; b's is 200 s old, beyond the 120 s max delta.
    assert_eq!(
        frames(&m.nodes[1].1).len(),
        2,
        "seed {seed}: late frame refused"
    );
    assert_eq!(
        m.nodes[1].1.node.stats().dropped(DropReason::NoCredential),
        before + 1,
        "seed {seed}"
    );
    // Reconnected, b's next refresh is refused: no config, no frames.
    m.set_cut(0, 2, false);
    m.run_for(Duration::from_secs(70));
    assert_eq!(
        m.nodes[2].1.node.membership(nwid).unwrap().status(),
        NetworkStatus::AccessDenied
    );
    let now = m.now();
    assert_eq!(
        m.nodes[2]
            .1
            .node
            .send_frame(now, nwid, 0x0800, mac_b, mac_a, b"x"),
        Err(zerotier::Error::NotJoined(nwid))
    );
    // a is still a member in good standing.
    assert_eq!(
        m.nodes[1].1.node.membership(nwid).unwrap().status(),
        NetworkStatus::Ok
    );
}

#[test]
fn arp_and_icmp_between_members_then_revocation() {
    ethernet_between_members(LinkConfig::perfect(), 41);
}

#[test]
fn arp_and_icmp_between_members_then_revocation_under_loss() {
    for seed in [51u64, 52, 53] {
        ethernet_between_members(LinkConfig::lossy(0.05), seed);
    }
}

/// Frames that must not be delivered: on a network the receiver has not joined, and with a
/// source MAC that is not the sender's (bridging is not supported); broadcast with no known
/// members reaches nobody, and nothing is sent on a network not joined.
#[test]
fn frames_refused_with_typed_reasons() {
    let (mut m, nwid) = lab(LinkConfig::perfect(), 61);
    let ids = identities();
    let (a, b) = (ids[1].address(), ids[2].address());
    let public = m.nodes[0].1.node.controller_mut().unwrap().set_network(
        8,
        NetworkSettings {
            private: false,
            ..settings()
        },
    );
    let ctl = m.nodes[0].1.node.controller_mut().unwrap();
    ctl.authorize(nwid, a, true);
    ctl.authorize(nwid, b, true);
    m.run_for(Duration::from_secs(1));
    let now = m.now();
    assert_eq!(
        m.nodes[1]
            .1
            .node
            .send_frame(now, nwid, 0x0800, [2; 6], [4; 6], b"x"),
        Err(zerotier::Error::NotJoined(nwid))
    );
    m.nodes[1].1.node.join(now, nwid).unwrap();
    m.nodes[2].1.node.join(now, nwid).unwrap();
    m.nodes[2].1.node.join(now, public).unwrap();
    m.run_for(Duration::from_secs(3));
    // Nobody liked the broadcast group yet as far as b knows (no GATHER answer named a):
    // at most the one other member.
    let now = m.now();
    let n = m.nodes[2]
        .1
        .node
        .send_frame(
            now,
            nwid,
            0x0806,
            derive::mac_for(b, nwid),
            zerotier::node::BROADCAST_MAC,
            b"arp",
        )
        .unwrap();
    assert!(n <= 1);
    m.run_for(Duration::from_secs(2));
    let a_drops = |m: &Mesh<End>, r| m.nodes[1].1.node.stats().dropped(r);
    // On the public network a has not joined.
    let now = m.now();
    m.nodes[2]
        .1
        .node
        .send_frame(
            now,
            public,
            0x0800,
            derive::mac_for(b, public),
            derive::mac_for(a, public),
            b"p",
        )
        .unwrap();
    m.run_for(Duration::from_secs(2));
    assert_eq!(a_drops(&m, DropReason::NotMember), 1);
    // A foreign source MAC goes as EXT_FRAME and is refused.
    let now = m.now();
    m.nodes[2]
        .1
        .node
        .send_frame(
            now,
            nwid,
            0x0800,
            [0x02, 1, 2, 3, 4, 5],
            derive::mac_for(a, nwid),
            b"spoof",
        )
        .unwrap();
    m.run_for(Duration::from_secs(2));
    assert_eq!(a_drops(&m, DropReason::BadSourceMac), 1);
    assert!(frames(&m.nodes[1].1)
        .iter()
        .all(|f| f.4 != b"spoof" && f.4 != b"p"));
}

/// A member that joins after our GATHER is found without waiting for the 60 s refresh: a
/// broadcast that reaches fewer members than the multicast limit gathers the group again from
/// the root (at most every `GATHER_RETRY`), so the next broadcast reaches the newcomer. (The
/// kernel behind a TAP repeats its ARP requests every second, which is what this relies on.)
#[test]
fn broadcast_regathers_a_late_member() {
    let (mut m, nwid) = lab(LinkConfig::perfect(), 31);
    let ids = identities();
    let (a, b) = (ids[1].address(), ids[2].address());
    let mac_a = derive::mac_for(a, nwid);
    let ctl = m.nodes[0].1.node.controller_mut().unwrap();
    ctl.authorize(nwid, a, true);
    ctl.authorize(nwid, b, true);
    m.run_for(Duration::from_secs(1));
    let now = m.now();
    m.nodes[1].1.node.join(now, nwid).unwrap();
    m.run_for(Duration::from_secs(3));
    let now = m.now();
    m.nodes[2].1.node.join(now, nwid).unwrap();
    m.run_for(Duration::from_secs(3));
    let group = zerotier::wire::verbs::MulticastGroupRef {
        network_id: nwid,
        mac: zerotier::node::BROADCAST_MAC,
        adi: 0,
    };
    // a gathered when its config came, before b liked the group: it knows nobody.
    assert!(m.nodes[1].1.node.group_members(&group).is_empty());
    let bc = zerotier::node::BROADCAST_MAC;
    let now = m.now();
    let n = m.nodes[1]
        .1
        .node
        .send_frame(now, nwid, 0x0806, mac_a, bc, b"arp 1")
        .unwrap();
    assert_eq!(n, 0);
    m.run_for(Duration::from_millis(500));
    assert_eq!(m.nodes[1].1.node.group_members(&group), vec![b]);
    let now = m.now();
    let n = m.nodes[1]
        .1
        .node
        .send_frame(now, nwid, 0x0806, mac_a, bc, b"arp 2")
        .unwrap();
    assert_eq!(n, 1);
    m.run_for(Duration::from_secs(1));
    assert_eq!(
        frames(&m.nodes[2].1),
        vec![(a, mac_a, bc, 0x0806, b"arp 2".to_vec())]
    );
}

/// An IPv4 ARP request goes to the ARP group of the address it asks for (broadcast MAC, the
/// address as ADI), which each member likes at the root for its managed addresses: it reaches
/// the member holding the address, and nobody else.
#[test]
fn arp_request_goes_to_the_target_address_group() {
    let (mut m, nwid) = lab(LinkConfig::perfect(), 41);
    let ids = identities();
    let (a, b) = (ids[1].address(), ids[2].address());
    let mac_a = derive::mac_for(a, nwid);
    let ctl = m.nodes[0].1.node.controller_mut().unwrap();
    ctl.authorize(nwid, a, true);
    ctl.authorize(nwid, b, true);
    m.run_for(Duration::from_secs(1));
    let now = m.now();
    m.nodes[1].1.node.join(now, nwid).unwrap();
    m.nodes[2].1.node.join(now, nwid).unwrap();
    m.run_for(Duration::from_secs(3));
    let ip = |i: usize| -> Ipv4Addr {
        let c = m.nodes[i]
            .1
            .node
            .membership(nwid)
            .unwrap()
            .config()
            .unwrap();
        match c.static_ips[0].addr {
            std::net::IpAddr::V4(v) => v,
            _ => panic!("v4"),
        }
    };
    let (ip_a, ip_b) = (ip(1), ip(2));
    // The root knows each member in its own address's ARP group.
    let root = &m.nodes[0].1.node;
    assert_eq!(root.group_members(&Node::arp_group(nwid, ip_b)), vec![b]);
    assert_eq!(root.group_members(&Node::arp_group(nwid, ip_a)), vec![a]);
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend_from_slice(&mac_a);
    arp.extend_from_slice(&ip_a.octets());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&ip_b.octets());
    let bc = zerotier::node::BROADCAST_MAC;
    // First try: a knows nobody in b's ARP group yet and gathers it; the retry reaches b.
    let now = m.now();
    let n = m.nodes[1]
        .1
        .node
        .send_frame(now, nwid, 0x0806, mac_a, bc, &arp)
        .unwrap();
    assert_eq!(n, 0);
    m.run_for(Duration::from_millis(500));
    assert_eq!(
        m.nodes[1]
            .1
            .node
            .group_members(&Node::arp_group(nwid, ip_b)),
        vec![b]
    );
    let now = m.now();
    let n = m.nodes[1]
        .1
        .node
        .send_frame(now, nwid, 0x0806, mac_a, bc, &arp)
        .unwrap();
    assert_eq!(n, 1);
    m.run_for(Duration::from_secs(1));
    assert_eq!(frames(&m.nodes[2].1), vec![(a, mac_a, bc, 0x0806, arp)]);
}
