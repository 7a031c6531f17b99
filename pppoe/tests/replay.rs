#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Our client and AC against the real peers' frames of `../shared/captures/pppoe`: where our
//! configuration matches what the capture's peer did, our frames are byte-identical to the
//! ones in the capture.

use pppoe::wire::{tag, Code, Discovery, Frame};
use pppoe::{Client, ClientConfig, ClientEvent, DownReason, Input, Server, ServerConfig};
use std::time::Instant;

fn frames(file: &str) -> Vec<Vec<u8>> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/captures/pppoe")
        .join(file);
    let b = std::fs::read(&p).unwrap_or_else(|e| panic!("capture {}: {e}", p.display()));
    assert_eq!(
        &b[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian classic pcap"
    );
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= b.len() {
        let incl = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push(b[at + 16..at + 16 + incl].to_vec());
        at += 16 + incl;
    }
    out
}

fn mac(b: &[u8]) -> [u8; 6] {
    b.try_into().unwrap()
}

/// rp-pppoe's `pppoe -S ix-svc -d` (no Host-Uniq) against rp-pppoe's pppoe-server: our client
/// with the same settings sends the same PADI and PADR, byte for byte, and takes the PADS and
/// the server's PADT.
#[test]
fn our_client_replays_the_rp_pppoe_client() {
    let f = frames("rp-pppoe-client-vs-pppoe-server.pcap");
    let now = Instant::now();
    let mut cfg = ClientConfig::new(mac(&f[4][6..12]));
    cfg.service_name = "ix-svc".into();
    cfg.host_uniq = false;
    cfg.ppp.user = "u".into();
    let mut c = Client::new(cfg, now, netsim::TestRng::new(1)).unwrap();
    assert_eq!(c.poll_transmit(now).unwrap().frame, f[4], "PADI");
    let mut pado = f[5].clone();
    assert_eq!(c.handle_frame(now, &mut pado), Input::Discovery);
    assert_eq!(c.poll_transmit(now).unwrap().frame, f[6], "PADR");
    let mut pads = f[7].clone();
    assert_eq!(c.handle_frame(now, &mut pads), Input::Discovery);
    assert_eq!(c.session(), Some((mac(&f[7][6..12]), 1)));
    // PPP starts (our LCP Configure-Request in session 1).
    let lcp = c.poll_transmit(now).unwrap();
    let l = Frame::parse(&lcp.frame).unwrap();
    assert_eq!(
        (l.code, l.session_id, &l.payload[..3]),
        (Code::SESSION, 1, &[0xc0, 0x21, 0x01][..])
    );
    let mut padt = f[8].clone();
    assert_eq!(c.handle_frame(now, &mut padt), Input::Discovery);
    let mut down = None;
    while let Some(e) = c.poll_event() {
        if let ClientEvent::SessionDown { reason, .. } = e {
            down = Some(reason);
        }
    }
    assert_eq!(
        down,
        Some(DownReason::PeerPadt(
            "RP-PPPoE: Child pppd process terminated".into()
        ))
    );
}

/// Our AC configured like the capture's rp-pppoe server answers the captured PADI with a PADO
/// of the same layout (AC-Name, Service-Name, 20-byte AC-Cookie), differing only in the
/// cookie's bytes.
#[test]
fn our_ac_answers_the_rp_pppoe_client_like_rp_pppoe() {
    let f = frames("rp-pppoe-client-vs-pppoe-server.pcap");
    let now = Instant::now();
    let mut cfg = ServerConfig::new(mac(&f[5][6..12]));
    cfg.ac_name = "ix-pppoe-ac".into();
    cfg.service_names = vec!["ix-svc".into()];
    let mut s = Server::new(cfg, now, netsim::TestRng::new(2)).unwrap();
    for padi in [&f[0], &f[4]] {
        let mut p = padi.clone();
        assert_eq!(s.handle_frame(now, &mut p), Input::Discovery);
        let ours = s.poll_transmit(now).unwrap().frame;
        let theirs = &f[5];
        assert_eq!(ours.len(), theirs.len());
        // Everything but the 20 cookie bytes at the end.
        assert_eq!(ours[..ours.len() - 20], theirs[..theirs.len() - 20]);
        assert_ne!(ours[ours.len() - 20..], theirs[theirs.len() - 20..]);
    }
    // rp-pppoe's own cookie is not ours: its PADR is refused.
    let mut padr = f[6].clone();
    assert_eq!(
        s.handle_frame(now, &mut padr),
        Input::Dropped(pppoe::DropReason::BadCookie)
    );
}

/// The kernel-mode AC (pppoe-server -k + pppd) of the lab capture: our client takes its PADO
/// and PADS, and acknowledges its LCP Configure-Request with exactly the Configure-Ack the
/// capture's client sent.
#[test]
fn our_client_against_the_kernel_mode_ac_frames() {
    let f = frames("kvm-pppoe-server-ppp-session.pcap");
    let now = Instant::now();
    let mut cfg = ClientConfig::new(mac(&f[0][6..12]));
    cfg.service_name = "ixlab".into();
    cfg.host_uniq = false; // the capture's client used its own
    cfg.ppp.user = "ixlab".into();
    let mut c = Client::new(cfg, now, netsim::TestRng::new(3)).unwrap();
    let padi = c.poll_transmit(now).unwrap();
    let d = Discovery::from_frame(&Frame::parse(&padi.frame).unwrap()).unwrap();
    assert_eq!(d.service_names().next(), Some(&b"ixlab"[..]));
    let mut pado = f[1].clone();
    assert_eq!(c.handle_frame(now, &mut pado), Input::Discovery);
    let padr = c.poll_transmit(now).unwrap();
    let d = Discovery::from_frame(&Frame::parse(&padr.frame).unwrap()).unwrap();
    let theirs = Discovery::from_frame(&Frame::parse(&f[2]).unwrap()).unwrap();
    assert_eq!(d.ac_cookie(), theirs.ac_cookie());
    assert_eq!(d.first(tag::SERVICE_NAME), theirs.first(tag::SERVICE_NAME));
    let mut pads = f[3].clone();
    assert_eq!(c.handle_frame(now, &mut pads), Input::Discovery);
    assert_eq!(c.session().map(|k| k.1), Some(2));
    while c.poll_transmit(now).is_some() {}
    // The AC's LCP Configure-Request (MRU 1492, magic): our Ack is the capture's Ack.
    let mut req = f[6].clone();
    assert_eq!(c.handle_frame(now, &mut req), Input::Control);
    let ack = c.poll_transmit(now).unwrap();
    assert_eq!(ack.frame, f[7]);
}
