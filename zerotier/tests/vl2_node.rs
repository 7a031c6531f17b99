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
use zerotier::{DropReason, Event, NetworkId};

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
