//! Real-peer captures (linuxptp 3.1.1 ptp4l, UDPv4 and L2, E2E and P2P): every PTP message
//! decodes and re-encodes byte-exact, and a replay drives our clock's BMCA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ptp::wire::{Body, Message, MessageType, Time, Timestamp};
use ptp::{Config, DelayMechanism, Disposition, PortState, Transport};

/// PTP payloads of a capture in `../shared/captures/ptp/` (see the README there): (capture
/// time, payload).
fn payloads(file: &str) -> Vec<(Duration, Vec<u8>)> {
    let dir = netsim::shared_captures("ptp").unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (lt, frames) = netsim::pcap::parse(&bytes).expect("pcap");
    assert_eq!(lt, netsim::pcap::LINKTYPE_ETHERNET);
    frames
        .into_iter()
        .map(|(t, f)| {
            let ethertype = u16::from_be_bytes([f[12], f[13]]);
            let payload = match ethertype {
                0x88F7 => f[14..].to_vec(),
                0x0800 => {
                    let ihl = usize::from(f[14] & 0x0F) * 4;
                    assert_eq!(f[14 + 9], 17, "UDP");
                    let udp = &f[14 + ihl..];
                    let dport = u16::from_be_bytes([udp[2], udp[3]]);
                    assert!(dport == 319 || dport == 320);
                    udp[8..].to_vec()
                }
                other => panic!("ethertype {other:#x}"),
            };
            (t, payload)
        })
        .collect()
}

fn roundtrip_all(file: &str) -> BTreeMap<&'static str, usize> {
    let mut seen = BTreeMap::new();
    for (i, (_, p)) in payloads(file).iter().enumerate() {
        let m = Message::parse(p).unwrap_or_else(|e| panic!("{file} frame {}: {e}", i + 1));
        let len = usize::from(m.header.message_length);
        assert_eq!(m.buffer_len(), len);
        let mut out = vec![0u8; len];
        assert_eq!(m.emit(&mut out).unwrap(), len);
        assert_eq!(
            out,
            p[..len],
            "{file} frame {} re-encodes byte-exact",
            i + 1
        );
        assert!(
            p[len..].iter().all(|&b| b == 0),
            "only zero padding after messageLength"
        );
        assert_eq!(m.header.version, 2);
        assert_eq!(m.header.minor_version, 0, "ptp4l 3.1.1 speaks 1588-2008");
        // Emitting into a short buffer fails and leaves it untouched.
        let mut short = vec![0xAAu8; len - 1];
        assert!(m.emit(&mut short).is_err());
        assert!(short.iter().all(|&b| b == 0xAA));
        *seen.entry(m.header.message_type.name()).or_insert(0) += 1;
    }
    seen
}

#[test]
fn udpv4_e2e_roundtrip() {
    let seen = roundtrip_all("ptp4l-udpv4-e2e.pcap");
    for t in ["Announce", "Sync", "Follow_Up", "Delay_Req", "Delay_Resp"] {
        assert!(
            seen.get(t).copied().unwrap_or(0) > 0,
            "{t} in capture: {seen:?}"
        );
    }
    assert_eq!(seen.values().sum::<usize>(), 40);
}

#[test]
fn udpv4_p2p_roundtrip() {
    let seen = roundtrip_all("ptp4l-udpv4-p2p.pcap");
    for t in [
        "Announce",
        "Sync",
        "Follow_Up",
        "Pdelay_Req",
        "Pdelay_Resp",
        "Pdelay_Resp_Follow_Up",
    ] {
        assert!(seen.get(t).copied().unwrap_or(0) > 0, "{t}: {seen:?}");
    }
}

#[test]
fn l2_e2e_roundtrip() {
    let seen = roundtrip_all("ptp4l-l2-e2e.pcap");
    for t in ["Announce", "Sync", "Follow_Up", "Delay_Req", "Delay_Resp"] {
        assert!(seen.get(t).copied().unwrap_or(0) > 0, "{t}: {seen:?}");
    }
}

#[test]
fn l2_p2p_roundtrip() {
    let seen = roundtrip_all("ptp4l-l2-p2p.pcap");
    assert_eq!(seen.values().sum::<usize>(), 147);
    for t in [
        "Announce",
        "Sync",
        "Follow_Up",
        "Pdelay_Req",
        "Pdelay_Resp",
        "Pdelay_Resp_Follow_Up",
    ] {
        assert!(seen.get(t).copied().unwrap_or(0) > 0, "{t}: {seen:?}");
    }
}

#[test]
fn e2e_capture_semantics() {
    // Two-step Sync, Follow_Up with the same sequenceId, Delay_Resp answering the Delay_Req.
    let msgs: Vec<_> = payloads("ptp4l-udpv4-e2e.pcap");
    let parsed: Vec<Message<'_>> = msgs
        .iter()
        .map(|(_, p)| Message::parse(p).unwrap())
        .collect();
    let mut last_req = None;
    for w in parsed.windows(2) {
        if w[0].header.message_type == MessageType::Sync {
            assert!(w[0].header.two_step());
            assert_eq!(w[1].header.message_type, MessageType::FollowUp);
            assert_eq!(w[0].header.sequence_id, w[1].header.sequence_id);
            assert_eq!(w[0].header.control_field, 0);
            assert_eq!(w[1].header.control_field, 2);
        }
    }
    for m in &parsed {
        match m.body {
            Body::DelayReq { .. } => {
                last_req = Some((m.header.source_port_identity, m.header.sequence_id))
            }
            Body::DelayResp {
                requesting_port_identity,
                ..
            } => {
                let (src, seq) = last_req.unwrap();
                assert_eq!(requesting_port_identity, src);
                assert_eq!(m.header.sequence_id, seq);
            }
            Body::Announce(a) => {
                assert_eq!(a.grandmaster_priority1, 10, "README: master priority1 10");
                assert_eq!(a.steps_removed, 0);
            }
            _ => {}
        }
    }
}

/// Replay the ptp4l master's messages into our slave-only clock: after two Announces it
/// selects the ptp4l master (port to UNCALIBRATED); Delay_Resp for ptp4l's own slave are
/// rejected as not ours.
#[test]
fn replay_selects_ptp4l_master() {
    for (file, transport, delay) in [
        ("ptp4l-udpv4-e2e.pcap", Transport::Ipv4, DelayMechanism::E2e),
        (
            "ptp4l-l2-e2e.pcap",
            Transport::L2Forwardable,
            DelayMechanism::E2e,
        ),
        ("ptp4l-udpv4-p2p.pcap", Transport::Ipv4, DelayMechanism::P2p),
        (
            "ptp4l-l2-p2p.pcap",
            Transport::L2Forwardable,
            DelayMechanism::P2p,
        ),
    ] {
        let msgs = payloads(file);
        let first =
            Message::parse(&msgs.iter().find(|(_, p)| p[0] & 0x0F == 0xB).unwrap().1).unwrap();
        let master = first.header.source_port_identity;
        let cfg = Config {
            transport: Some(transport),
            delay_mode: Some(delay),
            slave_only: true,
            ..Config::default()
        };
        let start = Instant::now();
        let mut clock = common::clock(&cfg, start, 1);
        let mut announces = 0;
        for (t, p) in &msgs {
            let now = start + *t;
            let rx = Some(
                Timestamp::new(1000 + t.as_secs(), t.subsec_nanos())
                    .unwrap()
                    .to_time(),
            );
            let d = clock.handle_input(now, 0, p, rx).unwrap();
            let m = Message::parse(p).unwrap();
            if m.header.message_type == MessageType::Announce {
                announces += 1;
                assert_eq!(d, Disposition::Accepted);
                let st = clock.port_state(0).unwrap();
                if announces == 1 {
                    assert_eq!(
                        st,
                        PortState::Listening,
                        "one Announce does not qualify ({file})"
                    );
                } else {
                    assert!(
                        st == PortState::Uncalibrated || st == PortState::Slave,
                        "{file}: {st:?}"
                    );
                }
            }
            if m.header.message_type == MessageType::DelayResp {
                assert!(matches!(d, Disposition::Dropped(_)), "not our Delay_Req");
            }
            let _ = Time::ZERO;
        }
        assert!(announces >= 2, "{file}");
        assert_eq!(clock.parent_ds().parent_port_identity, master, "{file}");
        assert_eq!(clock.parent_ds().grandmaster_priority1, 10);
        assert_eq!(clock.current_ds().steps_removed, 1);
        let mon = clock.monitor();
        assert!(!mon.i_am_gm);
        assert_eq!(mon.gm_clock_id, master.clock_identity);
        assert_eq!(mon.master_clock_id, master.clock_identity);
        assert_eq!(mon.slave_port.as_deref(), Some("ether1"));
    }
}
