//! Controller and member in memory: the controller issues signed, chunked configs from
//! RouterOS-style settings (ip-range, routes, private, mtu, multicast limit, broadcast, IPv6
//! modes); the member checks and applies them. With the captures' identities our controller
//! assigns the same addresses as ZeroTierOne's (10.97.100.109 to a, .132 to b) and produces the
//! same dictionary as the saved `networks.d` file, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zerotier::vl2::controller::{route, sign_chunks};
use zerotier::vl2::{
    ComError, ConfigAnswer, ConfigAssembler, ConfigError, Controller, Dictionary, IpPrefix,
    Membership, NetworkConfig, NetworkSettings, NetworkStatus,
};
use zerotier::wire::verbs::ErrorCode;
use zerotier::{Identity, NetworkId};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/zerotier")
}

fn id(node: &str, secret: bool) -> Identity {
    let f = if secret {
        "identity.secret"
    } else {
        "identity.public"
    };
    Identity::from_file_contents(&std::fs::read_to_string(dir().join(node).join(f)).unwrap())
        .unwrap()
}

fn lab_settings() -> NetworkSettings {
    NetworkSettings {
        name: "zt-hidden-lab".into(),
        ip_ranges: vec![(
            Ipv4Addr::new(10, 97, 100, 1),
            Ipv4Addr::new(10, 97, 100, 254),
        )],
        routes: vec![route(IpPrefix {
            addr: "10.97.100.0".parse().unwrap(),
            bits: 24,
        })],
        ..NetworkSettings::default()
    }
}

fn lab() -> (Controller, NetworkId) {
    let mut c = Controller::new(id("root", true));
    let nwid = c.set_network(0x97, lab_settings());
    (c, nwid)
}

fn config(
    ans: ConfigAnswer,
) -> (
    NetworkConfig,
    Vec<zerotier::wire::verbs::NetworkConfigChunk>,
) {
    match ans {
        ConfigAnswer::Config { config, chunks } => (*config, chunks),
        other => panic!("expected a config, got {other:?}"),
    }
}

#[test]
fn our_controller_reproduces_the_captured_config() {
    let (mut ctl, nwid) = lab();
    assert_eq!(nwid, NetworkId(0x74beb2463d000097));
    for node in ["a", "b"] {
        ctl.authorize(nwid, id(node, false).address(), true);
    }
    for (node, ip) in [("a", "10.97.100.109/24"), ("b", "10.97.100.132/24")] {
        let saved_raw =
            std::fs::read(dir().join(node).join("networks.d/74beb2463d000097.conf")).unwrap();
        let saved = NetworkConfig::parse(&saved_raw).unwrap();
        let member = id(node, false);
        // Same clock as the real controller had, so the COM and its signature are identical.
        let (cfg, chunks) = config(ctl.handle_config_request(saved.timestamp, 7, &member, nwid));
        assert_eq!(cfg.static_ips[0].to_string(), ip);
        assert_eq!(chunks.len(), 1);
        assert_eq!(cfg.com, saved.com);
        // The whole dictionary equals the saved one byte for byte (with the revision, which
        // counts the admin's changes, set alike): same COM and same certificate of ownership.
        let mut got = cfg.clone();
        got.revision = saved.revision;
        assert_eq!(got, saved);
        assert_eq!(got.to_bytes(), saved_raw);
        // The member applies it.
        let mut asm = ConfigAssembler::new(id("root", false), id(node, true), nwid);
        let applied = asm.handle_chunk(&chunks[0]).unwrap().unwrap();
        assert_eq!(applied, cfg);
    }
}

#[test]
fn join_authorize_chunked_config_and_agreement() {
    let (mut ctl, nwid) = lab();
    ctl.max_chunk = 100; // force many chunks
    let (a, b) = (id("a", true), id("b", true));
    let now = 1_800_000_000_000;
    // Private network: unknown member is denied but recorded for the admin.
    assert_eq!(
        ctl.handle_config_request(now, 1, &a.public_only(), nwid),
        ConfigAnswer::AccessDenied
    );
    assert!(!ctl.networks[&nwid].members[&a.address()].authorized);
    assert_eq!(
        ctl.handle_config_request(now, 1, &a, NetworkId(0x74beb2463d0000ff)),
        ConfigAnswer::NotFound
    );
    ctl.authorize(nwid, a.address(), true);
    ctl.authorize(nwid, b.address(), true);
    let (ca, chunks_a) = config(ctl.handle_config_request(now, 2, &a.public_only(), nwid));
    let (cb, chunks_b) = config(ctl.handle_config_request(now + 60_000, 3, &b.public_only(), nwid));
    assert!(chunks_a.len() > 5);
    // Chunks arrive in reverse order; the config completes on the last one only.
    let mut asm = ConfigAssembler::new(ctl.identity().public_only(), a.clone(), nwid);
    let mut done = None;
    for (i, c) in chunks_a.iter().rev().enumerate() {
        let r = asm.handle_chunk(c).unwrap();
        assert_eq!(r.is_some(), i == chunks_a.len() - 1);
        done = r.or(done);
    }
    let applied_a = done.unwrap();
    assert_eq!(applied_a, ca);
    assert_eq!(applied_a.mtu, 2800);
    assert_eq!(applied_a.multicast_limit, 32);
    assert!(applied_a.broadcast_enabled());
    let mut asm_b = ConfigAssembler::new(ctl.identity().public_only(), b.clone(), nwid);
    let mut applied_b = None;
    for c in &chunks_b {
        applied_b = asm_b.handle_chunk(c).unwrap().or(applied_b);
    }
    let applied_b = applied_b.unwrap();
    // Both members' COMs verify and agree (issued a minute apart, max delta 30 min).
    let (com_a, com_b) = (applied_a.com.unwrap(), applied_b.com.unwrap());
    com_a.agrees_with(&com_b, &b.public_only()).unwrap();
    com_b.agrees_with(&com_a, &a.public_only()).unwrap();
    // Deauthorized: denied; an hour later a's old COM no longer agrees with b's fresh one.
    ctl.authorize(nwid, a.address(), false);
    assert_eq!(
        ctl.handle_config_request(now, 4, &a.public_only(), nwid),
        ConfigAnswer::AccessDenied
    );
    let (cb2, _) = config(ctl.handle_config_request(now + 3_600_000, 5, &b.public_only(), nwid));
    assert_eq!(
        cb2.com.unwrap().agrees_with(&com_a, &a.public_only()),
        Err(ComError::Disagree(0))
    );
    // b kept its address.
    assert_eq!(cb2.static_ips, cb.static_ips);
}

#[test]
fn member_refuses_bad_configs() {
    let (mut ctl, nwid) = lab();
    let (a, b) = (id("a", true), id("b", true));
    ctl.authorize(nwid, a.address(), true);
    let (_, chunks) = config(ctl.handle_config_request(1, 9, &a.public_only(), nwid));
    let root = ctl.identity().public_only();
    // Tampered chunk.
    let mut t = chunks[0].clone();
    t.chunk[20] ^= 1;
    let mut asm = ConfigAssembler::new(root.clone(), a.clone(), nwid);
    assert_eq!(asm.handle_chunk(&t), Err(ConfigError::BadSignature));
    // Another network.
    let mut asm = ConfigAssembler::new(root.clone(), a.clone(), NetworkId(0x74beb2463d000098));
    assert!(matches!(
        asm.handle_chunk(&chunks[0]),
        Err(ConfigError::WrongNetwork(_))
    ));
    // Someone else's config (b receiving a's).
    let mut asm = ConfigAssembler::new(root.clone(), b.clone(), nwid);
    assert!(matches!(
        asm.handle_chunk(&chunks[0]),
        Err(ConfigError::NotForUs(_))
    ));
    // Signed by a member instead of the controller.
    let forged = sign_chunks(&b, nwid, &chunks[0].chunk, 1, 1000);
    let mut asm = ConfigAssembler::new(root.clone(), a.clone(), nwid);
    assert_eq!(asm.handle_chunk(&forged[0]), Err(ConfigError::BadSignature));
    // Oversized announced total.
    let mut big = chunks[0].clone();
    big.info.as_mut().unwrap().total_len = 10_000_000;
    assert!(matches!(
        asm.handle_chunk(&big),
        Err(ConfigError::OutOfBounds { .. })
    ));
    // Legacy unsigned form.
    let mut legacy = chunks[0].clone();
    legacy.info = None;
    assert_eq!(asm.handle_chunk(&legacy), Err(ConfigError::Unsigned));
}

#[test]
fn public_network_ipv6_modes_and_pool_exhaustion() {
    let mut ctl = Controller::new(id("root", true));
    let nwid = ctl.set_network(
        0x42,
        NetworkSettings {
            private: false,
            broadcast: false,
            ip6_rfc4193: true,
            ip6_6plane: true,
            ip_ranges: vec![(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))],
            routes: vec![route(IpPrefix {
                addr: "10.0.0.0".parse().unwrap(),
                bits: 24,
            })],
            ..NetworkSettings::default()
        },
    );
    let (a, b) = (id("a", false), id("b", false));
    let (ca, _) = config(ctl.handle_config_request(1, 1, &a, nwid));
    assert!(!ca.broadcast_enabled());
    assert_eq!(ca.flags, 0x4, "NDP emulation for the IPv6 modes");
    let ips: Vec<String> = ca.static_ips.iter().map(ToString::to_string).collect();
    assert_eq!(ips.len(), 3);
    assert!(
        ips[1].starts_with("fd74:beb2:463d:0:4299:9367:6812:52b5/88"),
        "{ips:?}"
    );
    assert!(
        ips[2].starts_with("fc49:beb2:467:6812:52b5::1/40"),
        "{ips:?}"
    );
    // The pool has one usable address (the last is never picked): b gets none.
    let (cb, _) = config(ctl.handle_config_request(1, 2, &b, nwid));
    assert_eq!(cb.static_ips.len(), 2, "only IPv6: {:?}", cb.static_ips);
}

#[test]
fn request_metadata_matches_zerotierone() {
    // The captured request's metadata, less the OS string `o`, is exactly what we send.
    let d: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir().join("pcap/a-underlay.decoded.json")).unwrap(),
    )
    .unwrap();
    let rec = d
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["verb"] == "NETWORK_CONFIG_REQUEST")
        .unwrap();
    let p = hex::decode(rec["plain_payload_hex"].as_str().unwrap()).unwrap();
    let req = zerotier::wire::verbs::NetworkConfigRequest::parse(&p).unwrap();
    let mut theirs = Dictionary::new();
    for (k, v) in Dictionary::parse(&req.metadata).unwrap().entries() {
        if k != b"o" {
            theirs.push(std::str::from_utf8(k).unwrap(), v).unwrap();
        }
    }
    assert_eq!(
        zerotier::vl2::member::request_metadata().to_bytes(),
        theirs.to_bytes()
    );
    assert_eq!(req.have, Some((0, 0)), "first request: no config held");
}

/// A member and the controller in virtual time: join refused, authorized, config applied, the
/// refresh every 60 s, deauthorization, and a network that does not exist.
#[test]
fn membership_status_through_join_refresh_and_revoke() {
    let (mut ctl, nwid) = lab();
    let a = id("a", true);
    let t0 = Instant::now();
    let mut m = Membership::new(ctl.identity().public_only(), a.clone(), nwid, t0);
    assert_eq!(m.status(), NetworkStatus::RequestingConfiguration);
    assert_eq!(m.status().code(), 0);
    assert!(m.poll_request().is_none(), "nothing before the timer runs");
    let mut ms = 1_800_000_000_000u64;
    let mut update = 0;
    // One round: timers, request, controller answer, member handles it.
    let mut round = |m: &mut Membership, ctl: &mut Controller, now: Instant, ms: u64| {
        m.handle_timeout(now);
        let Some(req) = m.poll_request() else {
            return false;
        };
        assert_eq!(req.network_id, m.network_id());
        update += 1;
        match ctl.handle_config_request(ms, update, &a.public_only(), req.network_id) {
            ConfigAnswer::Config { chunks, .. } => {
                for c in &chunks {
                    m.handle_config_chunk(c).unwrap();
                }
            }
            ConfigAnswer::AccessDenied => m.handle_error(ErrorCode::NetworkAccessDenied),
            ConfigAnswer::NotFound => m.handle_error(ErrorCode::ObjNotFound),
        }
        true
    };
    assert!(round(&mut m, &mut ctl, t0, ms));
    assert_eq!(m.status(), NetworkStatus::AccessDenied);
    assert_eq!(m.status().code(), 2);
    ctl.authorize(nwid, a.address(), true);
    // Not yet due: no request.
    assert!(!round(&mut m, &mut ctl, t0 + Duration::from_secs(59), ms));
    let t1 = m.poll_timeout().unwrap();
    assert_eq!(t1, t0 + Duration::from_secs(60));
    ms += 60_000;
    assert!(round(&mut m, &mut ctl, t1, ms));
    assert_eq!(m.status(), NetworkStatus::Ok);
    let c = m.config().unwrap().clone();
    assert_eq!(c.static_ips[0].to_string(), "10.97.100.109/24");
    let first_ts = c.timestamp;
    // The next request carries the revision and timestamp we hold, and refreshes the config.
    m.handle_timeout(t1 + Duration::from_secs(60));
    let req = m.poll_request().unwrap();
    assert_eq!(req.have, Some((c.revision, c.timestamp)));
    ms += 60_000;
    if let ConfigAnswer::Config { chunks, .. } =
        ctl.handle_config_request(ms, 99, &a.public_only(), nwid)
    {
        assert!(m.handle_config_chunk(&chunks[0]).unwrap());
    }
    assert!(m.config().unwrap().timestamp > first_ts);
    // Revoked: the next refresh is refused and the config is dropped.
    ctl.authorize(nwid, a.address(), false);
    ms += 60_000;
    assert!(round(&mut m, &mut ctl, t1 + Duration::from_secs(120), ms));
    assert_eq!(m.status(), NetworkStatus::AccessDenied);
    assert!(m.config().is_none());
    // Bounded: with the member table full, a new node is denied and not recorded.
    ctl.max_members = 1;
    let b = id("b", false);
    assert_eq!(
        ctl.handle_config_request(ms, 1000, &b, nwid),
        ConfigAnswer::AccessDenied
    );
    assert!(!ctl.networks[&nwid].members.contains_key(&b.address()));
    // A network the controller does not run.
    let mut gone = Membership::new(
        ctl.identity().public_only(),
        a.clone(),
        NetworkId(0x74beb2463d0000ff),
        t0,
    );
    assert!(round(&mut gone, &mut ctl, t0, ms));
    assert_eq!(gone.status(), NetworkStatus::NotFound);
    gone.set_port_error();
    assert_eq!(gone.status().code(), 4);
}
