//! Real-peer captures (pppd 2.4.9 on a serial line, see /work/shared/captures/ppp/README.md):
//! every frame deframes with a good FCS, decodes, and re-encodes byte-exact, both the PPP
//! packet and the async-HDLC wire bytes; our CHAP-MD5 and MS-CHAPv2 computations match
//! what pppd accepted and sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ppp::mschap;
use ppp::wire::auth::{Chap, Pap};
use ppp::wire::cp::{options, CpPacket, IpcpOption, Ipv6cpOption, LcpOption};
use ppp::wire::hdlc::{encode, Deframer, DEFAULT_ACCM};
use ppp::wire::{protocol, Frame};
use std::path::PathBuf;

const VARIANTS: [&str; 4] = ["noauth", "pap", "chap", "mschapv2"];

/// `shared/captures/ppp` beside the workspace (the `.bin` files are the byte streams as on the
/// serial line). A missing folder or file fails the test loudly: no copies in the crate.
fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/ppp");
    assert!(
        d.is_dir(),
        "captures folder {} not found: the tests read ../shared/captures beside the workspace",
        d.display()
    );
    d
}

fn capture(name: &str) -> Option<Vec<u8>> {
    let p = dir().join(name);
    Some(std::fs::read(&p).unwrap_or_else(|e| panic!("capture {}: {e}", p.display())))
}

/// Split the raw line bytes into (wire bytes of one frame including both flags, deframed frame).
fn frames(line: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        if line[i] != 0x7e {
            i += 1;
            continue;
        }
        // find closing flag
        let Some(end) = line[i + 1..]
            .iter()
            .position(|&b| b == 0x7e)
            .map(|e| e + i + 1)
        else {
            break;
        };
        if end == i + 1 {
            i = end;
            continue;
        }
        let wire = line[i..=end].to_vec();
        let mut d = Deframer::new(2000);
        d.push(&wire);
        let f = d
            .next_frame()
            .expect("a frame")
            .expect("FCS and framing check");
        out.push((wire, f));
        // A closing flag may also open the next frame.
        i = end;
    }
    out
}

/// Decode a control/auth packet fully and re-encode it; returns a one-line summary.
fn roundtrip(frame: &[u8]) -> String {
    let f = Frame::parse(frame).unwrap();
    let mut re = vec![0u8; f.buffer_len()];
    f.emit(&mut re).unwrap();
    assert_eq!(re, frame, "frame re-encode");
    let info = f.payload;
    match f.protocol {
        protocol::LCP | protocol::IPCP | protocol::IPV6CP | protocol::CCP => {
            let p = CpPacket::parse(info).unwrap();
            assert_eq!(p.to_vec(), info, "control packet re-encode");
            if (1..=4).contains(&p.code) {
                let mut data = Vec::new();
                for o in options(p.data) {
                    let o = o.unwrap();
                    match f.protocol {
                        protocol::LCP => LcpOption::parse(&o).unwrap().emit(&mut data),
                        protocol::IPCP => IpcpOption::parse(&o).unwrap().emit(&mut data),
                        protocol::IPV6CP => Ipv6cpOption::parse(&o).unwrap().emit(&mut data),
                        _ => o.emit(&mut data),
                    }
                }
                assert_eq!(data, p.data, "options re-encode");
            }
            format!(
                "{} {}",
                protocol::name(f.protocol).unwrap(),
                ppp::wire::cp::code::name(p.code)
            )
        }
        protocol::PAP => {
            let p = Pap::parse(info).unwrap();
            let mut v = Vec::new();
            p.emit(&mut v);
            assert_eq!(v, info);
            "PAP".into()
        }
        protocol::CHAP => {
            let p = Chap::parse(info).unwrap();
            let mut v = Vec::new();
            p.emit(&mut v);
            assert_eq!(v, info);
            "CHAP".into()
        }
        protocol::IPV4 => "IPv4".into(),
        other => panic!("unexpected protocol {other:04x}"),
    }
}

#[test]
fn every_frame_decodes_and_reencodes() {
    let mut total = 0;
    for v in VARIANTS {
        let to = capture(&format!("serial-{v}.to-pppd.bin")).unwrap();
        let from = capture(&format!("serial-{v}.from-pppd.bin")).unwrap();
        // The client escaped every control character in every frame.
        for (wire, f) in frames(&to) {
            roundtrip(&f);
            let mut enc = Vec::new();
            encode(&f, DEFAULT_ACCM, &mut enc);
            assert_eq!(enc, wire, "{v}: client HDLC re-encode");
            total += 1;
        }
        // pppd: LCP always with the default ACCM, other protocols with the negotiated ACCM 0
        // once LCP is open (the same rule as Session::tx_accm).
        let mut lcp_open = false;
        for (wire, f) in frames(&from) {
            let summary = roundtrip(&f);
            let pf = Frame::parse(&f).unwrap();
            let accm = if pf.protocol == protocol::LCP || !lcp_open {
                DEFAULT_ACCM
            } else {
                0
            };
            let mut enc = Vec::new();
            encode(&f, accm, &mut enc);
            assert_eq!(enc, wire, "{v}: pppd HDLC re-encode of {summary}");
            if summary == "LCP ConfAck" {
                lcp_open = true;
            }
            total += 1;
        }
    }
    assert!(total > 80, "only {total} frames");
}

fn find_chap(v: &str, dir_to_pppd: bool, code: u8) -> Vec<u8> {
    let data = capture(&format!(
        "serial-{v}.{}.bin",
        if dir_to_pppd { "to-pppd" } else { "from-pppd" }
    ))
    .unwrap();
    frames(&data)
        .into_iter()
        .map(|(_, f)| f)
        .find(|f| {
            let p = Frame::parse(f).unwrap();
            p.protocol == protocol::CHAP && p.payload[0] == code
        })
        .map(|f| Frame::parse(&f).unwrap().payload.to_vec())
        .unwrap()
}

#[test]
fn chap_md5_matches_capture() {
    let ch = find_chap("chap", false, 1);
    let Chap::Challenge { id, value, name } = Chap::parse(&ch).unwrap() else {
        panic!()
    };
    assert_eq!(name, b"ixlab-serial");
    let resp = find_chap("chap", true, 2);
    let Chap::Response {
        id: rid,
        value: rv,
        name: rn,
    } = Chap::parse(&resp).unwrap()
    else {
        panic!()
    };
    assert_eq!((rid, rn), (id, &b"ixuser"[..]));
    assert_eq!(mschap::chap_md5_response(id, b"ixpass", value).to_vec(), rv);
}

#[test]
fn mschapv2_matches_pppd() {
    let ch = find_chap("mschapv2", false, 1);
    let Chap::Challenge { value: ac, .. } = Chap::parse(&ch).unwrap() else {
        panic!()
    };
    let resp = find_chap("mschapv2", true, 2);
    let Chap::Response { value, name, .. } = Chap::parse(&resp).unwrap() else {
        panic!()
    };
    assert_eq!(value.len(), 49);
    let ac: [u8; 16] = ac.try_into().unwrap();
    let pc: [u8; 16] = value[..16].try_into().unwrap();
    let nt: [u8; 24] = value[24..48].try_into().unwrap();
    assert_eq!(mschap::generate_nt_response(&ac, &pc, name, "ixpass"), nt);
    // The verifier side: our server would accept this response and produce pppd's S=.
    let proof = ppp::AuthProof::MsChap2 {
        auth_challenge: ac,
        peer_challenge: pc,
        nt_response: nt,
    };
    let (ar, keys) = ppp::verify_with_password("ixuser", &proof, "ixpass").unwrap();
    let succ = find_chap("mschapv2", false, 3);
    let Chap::Success { message, .. } = Chap::parse(&succ).unwrap() else {
        panic!()
    };
    assert_eq!(mschap::parse_success(message), ar);
    assert!(message.starts_with(b"S=43DBB38DC7E4075B52CB0D625BBC9F4BE1F4C39B M="));
    assert!(keys.is_some());
}
