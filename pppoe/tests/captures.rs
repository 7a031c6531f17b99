#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Every PPPoE packet of the real-peer captures in `../shared/captures/pppoe` decodes and
//! re-encodes byte for byte (read in place, never copied into the crate).

use pppoe::wire::{self, tag, Code, Discovery, Frame, ETHERTYPE_DISCOVERY, ETHERTYPE_SESSION};

fn dir() -> std::path::PathBuf {
    let d =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/pppoe");
    assert!(
        d.is_dir(),
        "captures folder {} not found: the tests read ../shared/captures beside the workspace",
        d.display()
    );
    d
}

/// Minimal classic-pcap reader (both byte orders, micro/nanosecond magic): link type and
/// frames. A pcapng file is refused loudly.
fn read_pcap(file: &str) -> (u32, Vec<Vec<u8>>) {
    let p = dir().join(file);
    let b = std::fs::read(&p).unwrap_or_else(|e| panic!("capture {}: {e}", p.display()));
    assert!(b.len() >= 24, "pcap header");
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let le = match magic {
        0xa1b2c3d4 | 0xa1b23c4d => true,
        0xd4c3b2a1 | 0x4d3cb2a1 => false,
        m => panic!("not a classic pcap (magic {m:#x})"),
    };
    let u32_at = |at: usize| {
        let x: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(x)
        } else {
            u32::from_be_bytes(x)
        }
    };
    let linktype = u32_at(20);
    let mut at = 24;
    let mut frames = Vec::new();
    while at + 16 <= b.len() {
        let incl = u32_at(at + 8) as usize;
        let orig = u32_at(at + 12) as usize;
        assert_eq!(incl, orig, "snaplen cut a frame");
        frames.push(b[at + 16..at + 16 + incl].to_vec());
        at += 16 + incl;
    }
    assert_eq!(at, b.len(), "trailing bytes");
    (linktype, frames)
}

/// Decode and re-encode every frame; returns (code names, session frames).
fn check_all(file: &str) -> (Vec<&'static str>, Vec<Vec<u8>>) {
    let (lt, frames) = read_pcap(file);
    assert_eq!(lt, 1, "Ethernet link type");
    let mut names = Vec::new();
    let mut sessions = Vec::new();
    for raw in frames {
        let f = Frame::parse(&raw).unwrap();
        let n = f.wire_len();
        // Whatever follows LENGTH is Ethernet padding to the 60-byte minimum.
        assert!(raw.len() == n || raw.len() == 60, "padding only");
        assert!(raw[n..].iter().all(|&x| x == 0));
        if f.ethertype == ETHERTYPE_DISCOVERY {
            let d = Discovery::from_frame(&f).unwrap();
            let out = d.emit(f.dst, f.src, &f.vlans).unwrap();
            assert_eq!(out, raw[..n], "{}", f.code.name());
            for t in &d.tags {
                let typed = t.typed().unwrap();
                assert_eq!(typed.to_tag(), *t);
            }
            names.push(f.code.name());
        } else {
            assert_eq!(f.ethertype, ETHERTYPE_SESSION);
            let mut out = vec![0u8; f.header_len()];
            wire::emit_header(
                &mut out,
                f.dst,
                f.src,
                &f.vlans,
                f.ethertype,
                f.code,
                f.session_id,
                f.payload.len(),
            )
            .unwrap();
            out.extend_from_slice(f.payload);
            assert_eq!(out, raw[..n]);
            names.push("session");
            sessions.push(f.payload.to_vec());
        }
    }
    (names, sessions)
}

#[test]
fn rp_pppoe_discovery_capture() {
    let (names, sessions) = check_all("rp-pppoe-client-vs-pppoe-server.pcap");
    assert_eq!(
        names,
        ["PADI", "PADO", "PADI", "PADO", "PADI", "PADO", "PADR", "PADS", "PADT"]
    );
    assert!(sessions.is_empty());
    // Facts of the capture README: AC-Name, service, 20-byte cookie echoed, session 1, and
    // the server's PADT with a Generic-Error.
    let (_, frames) = read_pcap("rp-pppoe-client-vs-pppoe-server.pcap");
    let d: Vec<Discovery> = frames
        .iter()
        .map(|r| Discovery::from_frame(&Frame::parse(r).unwrap()).unwrap())
        .collect();
    assert_eq!(d[5].ac_name(), Some(&b"ix-pppoe-ac"[..]));
    assert!(d[5].service_names().any(|s| s == b"ix-svc"));
    assert_eq!(d[5].ac_cookie().map(<[u8]>::len), Some(20));
    assert_eq!(d[6].ac_cookie(), d[5].ac_cookie());
    assert_eq!(d[7].code(), Code::PADS);
    assert_eq!(d[7].session_id, 1);
    let (t, text) = d[8].error().unwrap();
    assert_eq!(t, tag::GENERIC_ERROR);
    assert_eq!(text, b"RP-PPPoE: Child pppd process terminated");
}

#[test]
fn kernel_mode_session_capture() {
    let (names, sessions) = check_all("kvm-pppoe-server-ppp-session.pcap");
    assert_eq!(names.len(), 31);
    assert_eq!(&names[..4], ["PADI", "PADO", "PADR", "PADS"]);
    assert_eq!(&names[29..], ["PADT", "PADT"]);
    assert_eq!(sessions.len(), 25);
    // Session frames carry PPP from the protocol field on, no FF 03 (RFC 2516 s7).
    assert_eq!(&sessions[0][..2], &[0xc0, 0x21]);
    assert!(sessions.iter().all(|s| s[..2] != [0xff, 0x03]));
    let (_, frames) = read_pcap("kvm-pppoe-server-ppp-session.pcap");
    let pads = Frame::parse(&frames[3]).unwrap();
    assert_eq!(pads.session_id, 2);
    let padi = Discovery::from_frame(&Frame::parse(&frames[0]).unwrap()).unwrap();
    assert_eq!(padi.service_names().next(), Some(&b"ixlab"[..]));
    assert!(padi.host_uniq().is_some());
    let pado = Discovery::from_frame(&Frame::parse(&frames[1]).unwrap()).unwrap();
    assert_eq!(pado.ac_name(), Some(&b"ixlab-ac"[..]));
    assert!(pado.ac_cookie().is_some());
}
