#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Every PPTP control message and every enhanced GRE packet of the real-peer captures in
//! `../shared/captures/pptp` decodes and re-encodes byte for byte.

use gre_family::wire::egre::EnhancedGreRepr;
use pptp::wire::{Deframer, Message, MessageType};

/// `shared/captures/pptp` beside the workspace; a missing folder or file fails loudly (no
/// copies in the crate).
fn dir() -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/pptp");
    assert!(
        d.is_dir(),
        "captures folder {} not found: the tests read ../shared/captures beside the workspace",
        d.display()
    );
    d
}

struct Capture {
    /// TCP payload towards port 1723 (client to server), in capture order.
    to_server: Vec<u8>,
    /// TCP payload from port 1723.
    to_client: Vec<u8>,
    /// IP protocol 47 payloads.
    gre: Vec<Vec<u8>>,
}

fn read(file: &str) -> Capture {
    let p = dir().join(file);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("capture {}: {e}", p.display()));
    let (lt, frames) = netsim::pcap::parse(&bytes).expect("pcap");
    let l2 = match lt {
        1 => 14,
        113 => 16,
        101 => 0,
        other => panic!("link type {other}"),
    };
    let mut c = Capture {
        to_server: Vec::new(),
        to_client: Vec::new(),
        gre: Vec::new(),
    };
    for (_, f) in frames {
        let ip = &f[l2..];
        assert_eq!(ip[0] >> 4, 4);
        let ihl = (ip[0] & 0xf) as usize * 4;
        let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
        let body = &ip[ihl..total];
        match ip[9] {
            6 => {
                let sport = u16::from_be_bytes([body[0], body[1]]);
                let dport = u16::from_be_bytes([body[2], body[3]]);
                let doff = (body[12] >> 4) as usize * 4;
                let payload = &body[doff..];
                if dport == 1723 {
                    c.to_server.extend_from_slice(payload);
                } else {
                    assert_eq!(sport, 1723);
                    c.to_client.extend_from_slice(payload);
                }
            }
            47 => c.gre.push(body.to_vec()),
            other => panic!("IP protocol {other}"),
        }
    }
    c
}

/// Deframe a TCP direction; every message re-encodes to the exact bytes.
fn messages(stream: &[u8]) -> Vec<Message> {
    let mut d = Deframer::new();
    // feed in awkward pieces: 7 bytes at a time
    let mut out = Vec::new();
    let mut consumed = 0;
    for chunk in stream.chunks(7) {
        d.push(chunk);
        while let Some(m) = d.next_message().unwrap() {
            let enc = m.to_vec();
            assert_eq!(enc, stream[consumed..consumed + enc.len()], "{m:?}");
            consumed += enc.len();
            out.push(m);
        }
    }
    assert_eq!(consumed, stream.len());
    assert_eq!(d.buffered(), 0);
    out
}

fn check_gre(gre: &[Vec<u8>]) -> usize {
    for p in gre {
        let (h, range) = EnhancedGreRepr::parse(p).unwrap();
        let mut out = vec![0u8; h.header_len()];
        h.emit(&mut out).unwrap();
        out.extend_from_slice(&p[range.clone()]);
        assert_eq!(&out, p);
        if range.is_empty() {
            assert!(h.ack.is_some());
        }
    }
    gre.len()
}

fn types(m: &[Message]) -> Vec<MessageType> {
    m.iter().map(Message::message_type).collect()
}

#[test]
fn pptp_linux_vs_pptpd_control() {
    let c = read("pptp-linux-vs-pptpd.pcap");
    let up = messages(&c.to_server);
    let down = messages(&c.to_client);
    use MessageType::*;
    assert_eq!(
        types(&up),
        [
            StartControlConnectionRequest,
            OutgoingCallRequest,
            CallClearRequest
        ]
    );
    assert_eq!(
        types(&down),
        [StartControlConnectionReply, OutgoingCallReply]
    );
    assert!(c.gre.is_empty());
    let Message::StartControlConnectionReply(s) = down[0] else {
        unreachable!()
    };
    assert_eq!(s.protocol_version, 0x0100);
    assert_eq!(s.result_code, 1);
    let (Message::OutgoingCallRequest(rq), Message::OutgoingCallReply(rp)) = (up[1], down[1])
    else {
        unreachable!()
    };
    assert_eq!(rp.peer_call_id, rq.call_id);
    assert_eq!(rp.call_id, 0, "pptpd's call id 0 (capture README)");
    assert_eq!(
        up[2],
        Message::CallClearRequest {
            call_id: rq.call_id
        }
    );
}

#[test]
fn kvm_pptpd_session_control_and_gre() {
    let c = read("kvm-pptpd-gre-ppp-session.pcap");
    let up = messages(&c.to_server);
    let down = messages(&c.to_client);
    use MessageType::*;
    assert_eq!(
        types(&up),
        [
            StartControlConnectionRequest,
            OutgoingCallRequest,
            CallClearRequest,
            StopControlConnectionRequest
        ]
    );
    assert_eq!(
        types(&down),
        [StartControlConnectionReply, OutgoingCallReply]
    );
    let Message::StartControlConnectionRequest(s) = up[0] else {
        unreachable!()
    };
    assert_eq!(s.host_name.as_bytes(), b"ixcap-pac");
    assert_eq!(s.vendor.as_bytes(), b"ixcap");
    let Message::OutgoingCallRequest(rq) = up[1] else {
        unreachable!()
    };
    assert_eq!(rq.recv_window, 64);
    let n = check_gre(&c.gre);
    assert_eq!(n, 24, "GRE packets (tshark -Y gre counts 24)");
    // pptpd's sequence numbers start at 0, the client's at 1 (README).
    let firsts: Vec<(u16, Option<u32>)> = c
        .gre
        .iter()
        .map(|p| EnhancedGreRepr::parse(p).unwrap().0)
        .map(|h| (h.call_id, h.sequence))
        .collect();
    let Message::OutgoingCallReply(rp) = down[1] else {
        unreachable!()
    };
    let to_pns = firsts.iter().find(|(id, _)| *id == rq.call_id).unwrap();
    let to_pac = firsts.iter().find(|(id, _)| *id == rp.call_id).unwrap();
    assert_eq!(to_pns.1, Some(0));
    assert_eq!(to_pac.1, Some(1));
}

#[test]
fn kvm_pptpd_callclear_control_and_gre() {
    let c = read("kvm-pptpd-gre-ppp-callclear.pcap");
    let up = messages(&c.to_server);
    let down = messages(&c.to_client);
    use MessageType::*;
    assert_eq!(
        types(&up),
        [
            StartControlConnectionRequest,
            OutgoingCallRequest,
            CallClearRequest,
            StopControlConnectionRequest
        ]
    );
    assert_eq!(
        types(&down),
        [StartControlConnectionReply, OutgoingCallReply]
    );
    assert_eq!(
        check_gre(&c.gre),
        23,
        "GRE packets (tshark -Y gre counts 23)"
    );
}

/// Replay: pptpd's replies, fed to our PNS, bring our call up with pptpd's call ID; the
/// captured clients' requests, fed to our PAC, are accepted.
#[test]
fn replay_real_peers_into_our_machines() {
    use pptp::control::Control;
    use pptp::{ControlConfig, ControlEvent};
    use std::time::Instant;
    let t = Instant::now();
    for file in [
        "pptp-linux-vs-pptpd.pcap",
        "kvm-pptpd-gre-ppp-session.pcap",
        "kvm-pptpd-gre-ppp-callclear.pcap",
    ] {
        let c = read(file);
        let up = messages(&c.to_server);
        let Message::OutgoingCallRequest(rq) = up[1] else {
            unreachable!()
        };
        // our PNS against pptpd's bytes
        let mut pns = Control::new_pns(ControlConfig::default(), t);
        let sccrp_len = MessageType::StartControlConnectionReply.length();
        pns.handle_stream(t, &c.to_client[..sccrp_len]);
        assert!(pns.is_established(), "{file}");
        pns.open_call(t, rq.call_id).unwrap();
        pns.handle_stream(t, &c.to_client[sccrp_len..]);
        let ev: Vec<_> = std::iter::from_fn(|| pns.poll_event()).collect();
        let Message::OutgoingCallReply(rp) = messages(&c.to_client)[1] else {
            unreachable!()
        };
        assert!(
            ev.contains(&ControlEvent::CallUp {
                call_id: rq.call_id,
                peer_call_id: rp.call_id,
                peer_window: rp.recv_window
            }),
            "{file}: {ev:?}"
        );
        // our PAC against the captured client's SCCRQ + OCRQ
        let mut pac = Control::new_pac(ControlConfig::default(), t);
        let n = MessageType::StartControlConnectionRequest.length()
            + MessageType::OutgoingCallRequest.length();
        pac.handle_stream(t, &c.to_server[..n]);
        let ev: Vec<_> = std::iter::from_fn(|| pac.poll_event()).collect();
        assert!(matches!(ev[0], ControlEvent::Established { .. }), "{file}");
        assert_eq!(
            ev[1],
            ControlEvent::CallRequested {
                peer_call_id: rq.call_id,
                peer_window: rq.recv_window,
                serial: rq.call_serial
            }
        );
        let Message::StartControlConnectionReply(r) =
            Message::parse(&pac.poll_transmit(t).unwrap()).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.result_code, 1);
    }
}
