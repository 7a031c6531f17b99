//! BCP (RFC 3518) between two sessions over netsim: the NCP opens next to IPCP, Ethernet
//! frames cross unchanged (with loss on the link), and a peer without BCP leaves IPCP up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::*;
use netsim::{Endpoint, LinkConfig, Pair};
use ppp::bcp::BridgedFrame;
use ppp::fsm::State;
use ppp::wire::protocol;
use ppp::{Event, Input, Role};
use std::time::{Duration, Instant};

/// A [`Node`] that also takes bridged frames (0x0031) off the wire and records them as the
/// Ethernet frames a bridge port would transmit.
struct Br {
    n: Node,
    frames: Vec<Vec<u8>>,
}

impl Endpoint for Br {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let is_bridged = ppp::wire::Frame::parse(data)
            .map(|f| f.protocol == protocol::BRIDGED_ETHERNET)
            .unwrap_or(false);
        if !is_bridged {
            return self.n.handle_input(now, data);
        }
        if let Ok(Input::Bridged(b)) = self.n.s.handle_frame(now, data) {
            let mut e = Vec::new();
            b.to_ethernet(&mut e);
            self.frames.push(e);
        }
        self.n.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.n.poll_transmit(now)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.n.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.n.handle_timeout(now)
    }
}

fn bridge_up(n: &Node) -> bool {
    n.has(|e| matches!(e, Event::BridgeUp { .. }))
}

fn pair(client_bridge: Option<&str>, server_bridge: Option<&str>, loss: f64) -> Pair<Br, Br> {
    let start = Instant::now();
    let mut cc = client_cfg("alice", "secret");
    cc.bridge = client_bridge.map(Into::into);
    let mut sc = server_cfg();
    sc.bridge = server_bridge.map(Into::into);
    let mut c = Node::new(cc, Role::Client, start, 41);
    let mut s = Node::new(sc, Role::Server, start, 42);
    s.users.push(("alice".into(), "secret".into()));
    c.s.open(start);
    s.s.open(start);
    let link = if loss > 0.0 {
        LinkConfig::lossy(loss)
    } else {
        LinkConfig::perfect()
    };
    let br = |n| Br {
        n,
        frames: Vec::new(),
    };
    Pair::with_start(br(c), br(s), link.clone(), link, 7, start)
}

fn ethernet(i: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5];
    f.extend_from_slice(&i.to_be_bytes());
    f.extend((18..len).map(|j| (j as u32).wrapping_mul(7) as u8 ^ i as u8));
    f
}

#[test]
fn bcp_opens_on_both_ends_and_ethernet_frames_cross_at_loss() {
    let mut p = pair(Some("bridge1"), Some("bridge1"), 0.1);
    p.run_until(Duration::from_secs(60), |a, b| {
        bridge_up(&a.n) && bridge_up(&b.n) && a.n.network_up() && b.n.network_up()
    })
    .unwrap_or_else(|| panic!("not up: {:?}", p.a.n.events));
    let (_, ev) =
        p.a.n
            .first(|e| matches!(e, Event::BridgeUp { .. }))
            .unwrap();
    match ev {
        Event::BridgeUp { bridge, negotiated } => {
            assert_eq!(bridge, "bridge1");
            // Our MAC-Support 802.3 was acknowledged by the other side of this crate.
            assert!(negotiated.mac_support_acked);
            assert_eq!(negotiated.peer_mac, None);
        }
        _ => unreachable!(),
    }
    assert_eq!(p.a.n.s.bcp_state(), State::Opened);
    assert_eq!(p.b.n.s.bcp_state(), State::Opened);
    // Ethernet frames both ways; the link loses, duplicates and reorders (PPP keeps no
    // order of its own), and every frame that arrives is one that was sent, unchanged.
    let sent: Vec<Vec<u8>> = (0..40).map(|i| ethernet(i, 60 + i as usize * 30)).collect();
    for f in &sent {
        let now = p.now();
        p.a.n.s.send_ethernet(now, f).unwrap();
        p.b.n.s.send_ethernet(now, f).unwrap();
        p.run_for(Duration::from_millis(20));
    }
    p.run_for(Duration::from_millis(500));
    for got in [&p.a.frames, &p.b.frames] {
        assert!(got.len() >= 25, "too few frames: {}", got.len());
        for f in got.iter() {
            assert!(sent.contains(f), "a frame arrived changed");
        }
    }
}

#[test]
fn bcp_frames_carry_without_loss_exactly() {
    let mut p = pair(Some("br-lan"), Some("br-lan"), 0.0);
    p.run_until(Duration::from_secs(10), |a, b| {
        bridge_up(&a.n) && bridge_up(&b.n)
    })
    .unwrap();
    let sent: Vec<Vec<u8>> = (0..10).map(|i| ethernet(i, 1400)).collect();
    for f in &sent {
        let now = p.now();
        p.a.n.s.send_ethernet(now, f).unwrap();
        p.run_for(Duration::from_millis(10));
    }
    p.run_for(Duration::from_millis(200));
    assert_eq!(p.b.frames, sent);
    // A frame larger than the link MTU is refused, not truncated.
    let now = p.now();
    assert!(matches!(
        p.a.n.s.send_ethernet(now, &ethernet(1, 1449)),
        Err(ppp::Error::TooBig { .. })
    ));
}

#[test]
fn peer_without_bcp_protocol_rejects_it_and_ipcp_still_comes_up() {
    // The server has no bridge: it Protocol-Rejects 0x8031 (RFC 1661 s5.7).
    let mut p = pair(Some("bridge1"), None, 0.0);
    p.run_until(Duration::from_secs(20), |a, b| {
        a.n.network_up() && b.n.network_up()
    })
    .unwrap();
    p.run_for(Duration::from_secs(5));
    assert!(p.a.n.has(|e| matches!(
        e,
        Event::ProtocolRejected {
            protocol: protocol::BCP
        }
    )));
    assert!(!bridge_up(&p.a.n) && !bridge_up(&p.b.n));
    assert_eq!(p.a.n.s.bcp_state(), State::Stopped);
    assert!(!p.a.n.terminated() && !p.b.n.terminated());
    // No Ethernet while BCP is not open.
    let now = p.now();
    assert!(matches!(
        p.a.n.s.send_ethernet(now, &ethernet(1, 100)),
        Err(ppp::Error::NotOpen(protocol::BRIDGED_ETHERNET))
    ));
    // And the other way round: the bridge-less client Protocol-Rejects the server's BCP.
    let mut p = pair(None, Some("bridge1"), 0.0);
    p.run_until(Duration::from_secs(20), |a, b| {
        a.n.network_up() && b.n.network_up()
    })
    .unwrap();
    p.run_for(Duration::from_secs(5));
    assert!(p.b.n.has(|e| matches!(
        e,
        Event::ProtocolRejected {
            protocol: protocol::BCP
        }
    )));
    assert!(!p.b.n.terminated());
}

#[test]
fn bridge_only_session_validates_and_stays_up_with_bcp_alone() {
    let start = Instant::now();
    let mut cc = client_cfg("alice", "secret");
    cc.bridge = Some("bridge1".into());
    cc.ipv4 = false;
    let mut sc = server_cfg();
    sc.bridge = Some("bridge1".into());
    sc.ipv4 = false;
    // Without a bridge, a session with no network protocol is refused at config time.
    let mut none = cc.clone();
    none.bridge = None;
    assert!(none.validate().is_err());
    let mut c = Node::new(cc, Role::Client, start, 1);
    let mut s = Node::new(sc, Role::Server, start, 2);
    s.users.push(("alice".into(), "secret".into()));
    c.s.open(start);
    s.s.open(start);
    let br = |n| Br {
        n,
        frames: Vec::new(),
    };
    let link = LinkConfig::perfect();
    let mut p = Pair::with_start(br(c), br(s), link.clone(), link, 3, start);
    p.run_until(Duration::from_secs(10), |a, b| {
        bridge_up(&a.n) && bridge_up(&b.n)
    })
    .unwrap();
    p.run_for(Duration::from_secs(5));
    assert!(!p.a.n.terminated());
    assert!(!p.a.n.network_up());
}

#[test]
fn bcp_config_request_options_are_judged_as_documented() {
    // Drive the server's BCP with a hand-made Configure-Request once it is in Network phase.
    let mut p = pair(Some("bridge1"), Some("bridge1"), 0.0);
    p.run_until(Duration::from_secs(10), |a, b| {
        bridge_up(&a.n) && bridge_up(&b.n)
    })
    .unwrap();
    p.flush();
    let opts: Vec<u8> = [
        &[1, 4, 0x12, 0x34][..],   // Bridge-Identification: reject
        &[3, 3, 1],                // MAC-Support 802.3: ok
        &[3, 3, 4],                // MAC-Support FDDI: reject
        &[4, 3, 1],                // Tinygram: ok
        &[5, 6, 0, 0, 0, 1],       // LAN-Identification: reject
        &[6, 8, 2, 0, 0, 0, 0, 9], // MAC-Address: ok
        &[6, 8, 0, 0, 0, 0, 0, 0], // MAC-Address request: reject
        &[9, 2],                   // Management-Inline: reject
        &[10, 2],                  // BCP indicator: ok
        &[99, 2],                  // unknown: reject
    ]
    .concat();
    let mut frame = vec![0xff, 0x03, 0x80, 0x31, 1, 77];
    frame.extend_from_slice(&((opts.len() + 4) as u16).to_be_bytes());
    frame.extend_from_slice(&opts);
    let now = p.now();
    p.b.n.s.handle_frame(now, &frame).unwrap();
    let mut reply = None;
    while let Some(f) = p.b.n.s.poll_transmit(now) {
        if f.get(2..4) == Some(&[0x80, 0x31]) {
            reply = Some(f);
        }
    }
    let reply = reply.expect("a BCP reply");
    assert_eq!(reply[4], 4, "Configure-Reject");
    assert_eq!(reply[5], 77);
    let rejected: Vec<u8> = [
        &[1, 4, 0x12, 0x34][..],
        &[3, 3, 4],
        &[5, 6, 0, 0, 0, 1],
        &[6, 8, 0, 0, 0, 0, 0, 0],
        &[9, 2],
        &[99, 2],
    ]
    .concat();
    assert_eq!(&reply[8..], &rejected[..]);
    // Without the rejected ones the same request is acknowledged and the peer's MAC noted.
    let ok: Vec<u8> = [
        &[3, 3, 1][..],
        &[4, 3, 1],
        &[6, 8, 2, 0, 0, 0, 0, 9],
        &[10, 2],
    ]
    .concat();
    let mut frame = vec![0xff, 0x03, 0x80, 0x31, 1, 78];
    frame.extend_from_slice(&((ok.len() + 4) as u16).to_be_bytes());
    frame.extend_from_slice(&ok);
    let now = p.now();
    p.b.n.s.handle_frame(now, &frame).unwrap();
    let mut codes = Vec::new();
    while let Some(f) = p.b.n.s.poll_transmit(now) {
        if f.get(2..4) == Some(&[0x80, 0x31]) {
            codes.push(f[4]);
        }
    }
    assert!(codes.contains(&2), "Configure-Ack among {codes:?}");
    // A Spanning-Tree list other than none/802.1D is Naked with 802.1D.
    let mut frame = vec![0xff, 0x03, 0x80, 0x31, 1, 79, 0, 7, 7, 3, 3];
    let now = p.now();
    p.b.n.s.handle_frame(now, &frame).unwrap();
    let mut nak = None;
    while let Some(f) = p.b.n.s.poll_transmit(now) {
        if f.get(2..5) == Some(&[0x80, 0x31, 3]) {
            nak = Some(f);
        }
    }
    assert_eq!(&nak.expect("a Nak")[8..], &[7, 3, 1]);
    frame.clear();
}

#[test]
fn bridged_frames_are_protocol_rejected_without_a_bridge() {
    let mut p = pair(None, None, 0.0);
    p.run_until(Duration::from_secs(10), |a, b| {
        a.n.network_up() && b.n.network_up()
    })
    .unwrap();
    p.flush();
    let mut frame = vec![0xff, 0x03, 0x00, 0x31];
    BridgedFrame::ethernet(&ethernet(1, 60)).emit(&mut frame);
    let now = p.now();
    p.b.n.s.handle_frame(now, &frame).unwrap();
    let f = p.b.n.s.poll_transmit(now).expect("a Protocol-Reject");
    assert_eq!(&f[2..5], &[0xc0, 0x21, 8]);
    assert_eq!(&f[8..10], &[0x00, 0x31]);
}

#[test]
fn profile_bridge_turns_bcp_on_for_the_users_of_that_profile() {
    use ppp::aaa::{Aaa, AddressSpec, Profile, Secret};
    use std::sync::{Arc, Mutex};
    let start = Instant::now();
    let mut aaa = Aaa::new();
    let mut prof = Profile::named("bridged");
    prof.local_address = Some(AddressSpec::Address([10, 0, 0, 1].into()));
    prof.remote_address = Some(AddressSpec::Address([10, 0, 0, 2].into()));
    prof.bridge = Some("bridge-lan".into());
    aaa.profiles.push(prof);
    let mut secret = Secret::new("alice", "secret");
    secret.profile = "bridged".into();
    aaa.secrets.push(secret);
    let mut cc = client_cfg("alice", "secret");
    cc.bridge = Some("br0".into());
    // The server's own configuration has no bridge: the profile gives it.
    let sc = ppp::Config::l2tp_server();
    assert_eq!(sc.bridge, None);
    let c = Node::new(cc, Role::Client, start, 5);
    let mut s = Node::new(sc, Role::Server, start, 6);
    s.s.set_credential_store(Box::new(Arc::new(Mutex::new(aaa))));
    let mut c = c;
    c.s.open(start);
    s.s.open(start);
    let br = |n| Br {
        n,
        frames: Vec::new(),
    };
    let link = LinkConfig::perfect();
    let mut p = Pair::with_start(br(c), br(s), link.clone(), link, 9, start);
    p.run_until(Duration::from_secs(10), |a, b| {
        bridge_up(&a.n) && bridge_up(&b.n)
    })
    .unwrap_or_else(|| panic!("no BCP: {:?}", p.b.n.events));
    assert_eq!(p.b.n.s.bridge(), Some("bridge-lan"));
    assert!(p
        .b
        .n
        .has(|e| matches!(e, Event::BridgeUp { bridge, .. } if bridge == "bridge-lan")));
    assert!(p
        .a
        .n
        .has(|e| matches!(e, Event::BridgeUp { bridge, .. } if bridge == "br0")));
}

#[test]
fn bridged_frames_are_encrypted_with_mppe_and_come_back_decrypted() {
    use ppp::aaa::UseEncryption;
    use ppp::{AuthMethod, AuthSet};
    let start = Instant::now();
    let mut cc = client_cfg("alice", "secret");
    cc.bridge = Some("bridge1".into());
    cc.use_encryption = UseEncryption::Required;
    let mut sc = server_cfg();
    sc.bridge = Some("bridge1".into());
    sc.authentication = AuthSet::of(&[AuthMethod::MsChap2]);
    sc.use_encryption = UseEncryption::Required;
    let mut c = Node::new(cc, Role::Client, start, 11);
    let mut s = Node::new(sc, Role::Server, start, 12);
    s.users.push(("alice".into(), "secret".into()));
    c.s.open(start);
    s.s.open(start);
    let link = LinkConfig::perfect();
    let mut p = Pair::with_start(c, s, link.clone(), link, 13, start);
    p.run_until(Duration::from_secs(10), |a, b| {
        bridge_up(a)
            && bridge_up(b)
            && a.has(|e| matches!(e, Event::EncryptionUp { .. }))
            && b.has(|e| matches!(e, Event::EncryptionUp { .. }))
    })
    .unwrap();
    let frame = ethernet(5, 300);
    let now = p.now();
    p.a.s.send_ethernet(now, &frame).unwrap();
    p.run_for(Duration::from_millis(100));
    // On the wire only MPPE (0x00fd) data, never a cleartext 0x0031 frame.
    assert!(p
        .trace
        .iter()
        .all(|e| e.data.get(2..4) != Some(&[0x00, 0x31])));
    // The server's netsim node decrypts in place and gets the bridged frame as a datagram.
    let (_, proto, payload) = p.b.datagrams.last().expect("the frame").clone();
    assert_eq!(proto, protocol::BRIDGED_ETHERNET);
    assert_eq!(BridgedFrame::parse(&payload).unwrap().frame, &frame[..]);
}
