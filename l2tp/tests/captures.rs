#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Every L2TP packet of the real-peer captures decodes and re-encodes byte for byte.

use l2tp::wire::{AvpValue, ControlMessage, Header, MessageType};

/// `shared/captures/l2tp` beside the workspace; a missing folder or file fails loudly (no
/// copies in the crate).
fn dir() -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/l2tp");
    assert!(
        d.is_dir(),
        "captures folder {} not found: the tests read ../shared/captures beside the workspace",
        d.display()
    );
    d
}

/// Extract UDP payloads (port 1701) from a pcap (Ethernet or Linux cooked link type).
fn udp_payloads(file: &str) -> Vec<Vec<u8>> {
    let p = dir().join(file);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("capture {}: {e}", p.display()));
    let (lt, frames) = netsim::pcap::parse(&bytes).expect("pcap");
    let l2 = match lt {
        1 => 14,
        113 => 16,
        101 => 0,
        other => panic!("link type {other}"),
    };
    let mut out = Vec::new();
    for (_, f) in frames {
        let ip = &f[l2..];
        assert_eq!(ip[0] >> 4, 4);
        let ihl = (ip[0] & 0xf) as usize * 4;
        assert_eq!(ip[9], 17, "udp");
        let udp = &ip[ihl..];
        let ulen = u16::from_be_bytes([udp[4], udp[5]]) as usize;
        out.push(udp[8..ulen].to_vec());
    }
    out
}

fn check_all(file: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut data = 0;
    for p in udp_payloads(file) {
        let (h, range) = Header::parse(&p).unwrap();
        if h.is_control {
            let m = ControlMessage::parse(&p).unwrap();
            assert_eq!(m.to_vec().unwrap(), p, "re-encode {}", m.summary());
            m.check_required_v2().unwrap();
            assert!(m.unknown_mandatory().is_none());
            // Typed decode and re-encode of every AVP value.
            for a in &m.avps {
                let v = a.typed().unwrap().expect("known IETF AVP");
                let mut enc = Vec::new();
                v.encode(&mut enc);
                assert_eq!(enc, a.value, "{v:?}");
                assert_eq!(v.attr_type(), a.attr_type);
            }
            names.push(m.summary());
        } else {
            data += 1;
            let mut out = vec![0u8; h.header_len()];
            h.emit(range.len(), &mut out).unwrap();
            out.extend_from_slice(&p[range.clone()]);
            assert_eq!(out, p);
            assert_eq!(&p[range.start..range.start + 2], &[0xff, 0x03]);
        }
    }
    (names, data)
}

#[test]
fn xl2tpd_lac_vs_lns_capture() {
    let (names, data) = check_all("xl2tpd-lac-vs-xl2tpd-lns.pcap");
    assert_eq!(data, 0);
    let types: Vec<&str> = names.iter().map(|s| s.split(' ').next().unwrap()).collect();
    assert_eq!(
        types,
        [
            "SCCRQ", "SCCRP", "SCCCN", "ZLB", "ICRQ", "ICRP", "ZLB", "ICCN", "ZLB", "CDN", "CDN",
            "ZLB", "ZLB", "StopCCN", "ZLB", "ZLB", "ZLB", "StopCCN", "ZLB"
        ]
    );
    // Frame 2: SCCRP to tunnel 48808 assigning 62815 (README table).
    assert!(names[1].contains("tid=48808"));
}

#[test]
fn kvm_full_session_capture() {
    let (names, data) = check_all("kvm-xl2tpd-lns-ppp-session.pcap");
    assert_eq!(names.len(), 13);
    assert_eq!(data, 20);
    let p = udp_payloads("kvm-xl2tpd-lns-ppp-session.pcap");
    let sccrq = ControlMessage::parse(&p[0]).unwrap();
    assert_eq!(sccrq.message_type(), Some(MessageType::Sccrq));
    assert_eq!(
        sccrq.get(l2tp::wire::attr::HOST_NAME),
        Some(AvpValue::HostName(b"ixcap-lac".to_vec()))
    );
    assert_eq!(
        sccrq.get(l2tp::wire::attr::RECEIVE_WINDOW_SIZE),
        Some(AvpValue::ReceiveWindowSize(8))
    );
    let cdn = p
        .iter()
        .map(|b| Header::parse(b).unwrap().0)
        .zip(p.iter())
        .filter(|(h, _)| h.is_control)
        .map(|(_, b)| ControlMessage::parse(b).unwrap())
        .find(|m| m.message_type() == Some(MessageType::Cdn))
        .unwrap();
    assert_eq!(cdn.result_code().unwrap().result, 3);
}
