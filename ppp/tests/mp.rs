//! Multilink PPP (RFC 1990) over a single link: negotiation of MRRU / short sequence numbers /
//! Endpoint-Discriminator, and 1500-octet datagrams over a 1450-MTU link as MP fragments,
//! with loss and reordering on the simulated link.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::*;
use netsim::{Dir, Fate, LinkConfig, Pair};
use ppp::aaa::UseEncryption;
use ppp::wire::cp::{CpPacket, LcpOption};
use ppp::{Event, Role};
use std::time::{Duration, Instant};

/// The largest frame netsim lets through: 1450 octets of PPP information plus `FF 03` and the
/// 2-octet protocol field.
const LINK: usize = 1454;

fn pair(client_mrru: Option<u16>, server_mrru: Option<u16>, short: bool) -> Pair<Node, Node> {
    let start = Instant::now();
    let mut cc = client_cfg("alice", "secret");
    cc.mrru = client_mrru;
    cc.mp_short_sequence = short;
    let mut sc = server_cfg();
    sc.mrru = server_mrru;
    let mut c = Node::new(cc, Role::Client, start, 31);
    let mut s = Node::new(sc, Role::Server, start, 32);
    s.users.push(("alice".into(), "secret".into()));
    s.echo = true;
    c.s.open(start);
    s.s.open(start);
    let link = LinkConfig::perfect().with_mtu(LINK);
    let mut p = Pair::with_start(c, s, link.clone(), link, 5, start);
    p.run_until(Duration::from_secs(10), |a, b| {
        a.network_up() && b.network_up()
    })
    .unwrap_or_else(|| panic!("not up: {:?}", p.a.events));
    p
}

fn packet(i: u32, len: usize) -> Vec<u8> {
    let mut p = vec![0x45, 0, (len >> 8) as u8, len as u8];
    p.extend_from_slice(&i.to_be_bytes());
    p.extend((8..len).map(|j| (j as u32 ^ i) as u8));
    p
}

fn link_up_mtu(n: &Node) -> Option<u16> {
    n.events.iter().find_map(|(_, e)| match e {
        Event::LinkUp { mtu, .. } => Some(*mtu),
        _ => None,
    })
}

#[test]
fn mrru_disabled_by_default_keeps_the_link_mtu() {
    let mut p = pair(None, None, false);
    assert!(!p.a.s.multilink() && !p.b.s.multilink());
    assert_eq!(p.a.s.mtu(), 1450);
    assert_eq!(p.a.s.lcp_negotiated().mrru, None);
    let now = p.now();
    assert!(matches!(
        p.a.s.send_datagram(now, 0x0021, &packet(1, 1500)),
        Err(ppp::Error::TooBig { mtu: 1450, .. })
    ));
    // One side with mrru, the other without: the MRRU is rejected, no MP.
    let p = pair(Some(1600), None, false);
    assert!(!p.a.s.multilink() && !p.b.s.multilink());
    assert_eq!(p.a.s.lcp_negotiated().mrru, None);
    assert_eq!(p.a.s.mtu(), 1450);
}

#[test]
fn single_link_mrru_carries_1500_octet_packets_over_a_1450_mtu_link() {
    for short in [false, true] {
        let mut p = pair(Some(1600), Some(1600), short);
        let n = p.a.s.lcp_negotiated().clone();
        assert_eq!((n.mrru, n.peer_mrru), (Some(1600), Some(1600)));
        assert_eq!(n.rx_short_seq, short);
        assert_eq!(p.b.s.lcp_negotiated().tx_short_seq, short);
        assert_eq!(n.endpoint.as_ref().map(|e| (e.0, e.1.len())), Some((1, 4)));
        assert_eq!(p.b.s.lcp_negotiated().peer_endpoint, n.endpoint);
        // The MTU a session reports becomes the MRRU; the link MTU stays.
        assert_eq!((p.a.s.mtu(), p.a.s.link_mtu()), (1600, 1450));
        assert_eq!(link_up_mtu(&p.a), Some(1600));
        assert!(p.a.s.multilink() && p.b.s.multilink());
        let sent: Vec<Vec<u8>> = (0..30).map(|i| packet(i, 1500)).collect();
        for pkt in &sent {
            let now = p.now();
            p.a.s.send_datagram(now, 0x0021, pkt).unwrap();
            p.run_for(Duration::from_millis(30));
        }
        p.run_for(Duration::from_millis(200));
        // The server got each one whole and echoed it, fragmented again.
        let got: Vec<&Vec<u8>> = p.b.datagrams.iter().map(|(_, _, d)| d).collect();
        assert_eq!(got, sent.iter().collect::<Vec<_>>(), "short={short}");
        let back: Vec<&Vec<u8>> = p.a.datagrams.iter().map(|(_, _, d)| d).collect();
        assert_eq!(back, sent.iter().collect::<Vec<_>>());
        // Every data frame on the wire was an MP fragment within the link MTU.
        let mp_frames = p
            .trace
            .iter()
            .filter(|e| e.dir == Dir::AtoB && e.data.get(2..4) == Some(&[0x00, 0x3d]))
            .inspect(|e| assert!(e.data.len() <= LINK))
            .count();
        assert_eq!(mp_frames, 60);
        assert!(p.trace.iter().all(|e| e.fate != Fate::TooBig));
        let c = p.b.s.mp_counters().unwrap();
        assert_eq!((c.fragments, c.packets, c.dropped_fragments), (60, 30, 0));
        // Small datagrams still go out as plain frames.
        let now = p.now();
        p.a.s.send_datagram(now, 0x0021, &packet(99, 100)).unwrap();
        p.run_for(Duration::from_millis(100));
        assert_eq!(p.b.datagrams.last().unwrap().2, packet(99, 100));
        assert_eq!(p.b.s.mp_counters().unwrap().fragments, 60);
        // Over the MRRU is refused.
        let now = p.now();
        assert!(matches!(
            p.a.s.send_datagram(now, 0x0021, &packet(1, 1601)),
            Err(ppp::Error::TooBig { mtu: 1600, .. })
        ));
    }
}

#[test]
fn mp_with_mppe_reassembles_then_decrypts() {
    let start = Instant::now();
    let mut cc = client_cfg("alice", "secret");
    cc.mrru = Some(1614);
    cc.use_encryption = UseEncryption::Yes;
    let mut sc = server_cfg();
    sc.mrru = Some(1614);
    sc.use_encryption = UseEncryption::Yes;
    let mut c = Node::new(cc, Role::Client, start, 41);
    let mut s = Node::new(sc, Role::Server, start, 42);
    s.users.push(("alice".into(), "secret".into()));
    c.s.open(start);
    s.s.open(start);
    let link = LinkConfig::perfect().with_mtu(LINK);
    let mut p = Pair::with_start(c, s, link.clone(), link, 5, start);
    p.run_until(Duration::from_secs(10), |a, b| {
        a.s.mppe_up() && b.s.mppe_up() && a.network_up()
    })
    .unwrap();
    // MRRU less the 4 octets of MPPE overhead.
    assert_eq!(p.a.s.mtu(), 1610);
    for i in 0..5 {
        let now = p.now();
        p.a.s.send_datagram(now, 0x0021, &packet(i, 1500)).unwrap();
        p.run_for(Duration::from_millis(50));
    }
    let got: Vec<Vec<u8>> = p.b.datagrams.iter().map(|(_, _, d)| d.clone()).collect();
    assert_eq!(got, (0..5).map(|i| packet(i, 1500)).collect::<Vec<_>>());
}

#[test]
fn loss_and_reordering_give_whole_packets_or_counted_drops_never_stuck_state() {
    let mut p = pair(Some(1600), Some(1600), false);
    let mut lossy = LinkConfig::lossy(0.05).with_mtu(LINK);
    lossy.duplicate = 0.0;
    p.ab.config = lossy;
    let sent: Vec<Vec<u8>> = (0..400).map(|i| packet(i, 1500)).collect();
    for pkt in &sent {
        let now = p.now();
        p.a.s.send_datagram(now, 0x0021, pkt).unwrap();
        p.run_for(Duration::from_millis(5));
        // Bounded: never more than the reassembler's fragment cap.
        assert!(p.b.s.mp_buffered_fragments() <= 128);
    }
    p.run_for(Duration::from_secs(3));
    let got: Vec<&Vec<u8>> = p.b.datagrams.iter().map(|(_, _, d)| d).collect();
    // Every delivered packet is one that was sent, whole.
    for g in &got {
        assert!(sent.contains(g), "a corrupt packet was delivered");
    }
    let c = p.b.s.mp_counters().unwrap();
    assert!(got.len() > 250, "delivered {}", got.len());
    assert!(got.len() < 400);
    assert!(c.dropped_fragments > 0, "{c:?}");
    assert_eq!(c.packets as usize, got.len());
    // Nothing is left behind once the age bound has passed.
    assert_eq!(p.b.s.mp_buffered_fragments(), 0);
    // A clean link afterwards: everything arrives again.
    p.ab.config = LinkConfig::perfect().with_mtu(LINK);
    let before = p.b.datagrams.len();
    for i in 1000..1010 {
        let now = p.now();
        p.a.s.send_datagram(now, 0x0021, &packet(i, 1500)).unwrap();
        p.run_for(Duration::from_millis(20));
    }
    assert_eq!(p.b.datagrams.len(), before + 10);
}

fn lcp(code: u8, id: u8, opts: &[LcpOption]) -> Vec<u8> {
    let mut d = Vec::new();
    for o in opts {
        o.emit(&mut d);
    }
    let mut f = vec![0xff, 0x03, 0xc0, 0x21];
    f.extend(
        CpPacket {
            code,
            identifier: id,
            data: &d,
        }
        .to_vec(),
    );
    f
}

/// Windows asks for MRRU 1614 (spec item 31): rejected with `mrru` disabled, acked with it set.
#[test]
fn windows_mrru_1614_is_rejected_when_disabled_and_acked_when_enabled() {
    use rand_chacha::rand_core::SeedableRng;
    let req = lcp(
        1,
        7,
        &[
            LcpOption::MagicNumber(0x1234_5678),
            LcpOption::Mrru(1614),
            LcpOption::EndpointDiscriminator {
                class: 1,
                address: vec![1, 2, 3, 4],
            },
        ],
    );
    for mrru in [None, Some(1600)] {
        let now = Instant::now();
        let mut cfg = server_cfg();
        cfg.mrru = mrru;
        let mut s = ppp::Session::new(
            cfg,
            Role::Server,
            now,
            rand_chacha::ChaCha8Rng::seed_from_u64(3),
        )
        .unwrap();
        s.open(now);
        let ours = s.poll_transmit(now).unwrap();
        // Our own request carries MRRU 1600 only when enabled.
        let has_mrru = ours.windows(4).any(|w| w == [17, 4, 0x06, 0x40]);
        assert_eq!(has_mrru, mrru.is_some());
        s.handle_frame(now, &req).unwrap();
        let reply = s.poll_transmit(now).unwrap();
        match mrru {
            None => assert_eq!(&reply[4..], &[4, 7, 0, 8, 17, 4, 0x06, 0x4e]),
            Some(_) => assert_eq!(&reply[4..6], &[2, 7]),
        }
    }
}
