//! In-process interop with Cloudflare's `boringtun` (`noise::Tunn`): handshake in both directions
//! and data both ways. boringtun reads the real clock, so this test runs in real (short) time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use boringtun::noise::{Tunn, TunnResult};
use boringtun::x25519::{PublicKey, StaticSecret};
use common::{ipv4, key, rng};
use wireguard::{Device, InterfaceConfig, Output, PeerConfig, PeerId};

const OURS: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 1);
const THEIRS: Ipv4Addr = Ipv4Addr::new(10, 97, 21, 2);

fn setup(psk: Option<[u8; 32]>) -> (Device, Tunn, SocketAddr) {
    let now = Instant::now();
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let (ka, kb) = (key(3), key(4));
    let mut dev = Device::new(
        &InterfaceConfig {
            private_key: Some(ka),
            ..Default::default()
        },
        rng(7),
        now,
        wall,
    )
    .unwrap();
    let bt_addr: SocketAddr = "192.0.2.2:51820".parse().unwrap();
    let mut pc = PeerConfig::new(kb.public_key());
    pc.endpoint_address = Some("192.0.2.2".into());
    pc.endpoint_port = Some(51820);
    pc.allowed_address = vec!["10.97.21.2/32".parse().unwrap()];
    pc.preshared_key = psk.map(wireguard::Key);
    dev.add_peer(now, &pc).unwrap();
    let tunn = Tunn::new(
        StaticSecret::from(kb.0),
        PublicKey::from(ka.public_key().0),
        psk,
        None,
        42,
        None,
    );
    (dev, tunn, bt_addr)
}

/// Feed every queued datagram of our device into boringtun; collect what boringtun writes back
/// to the network and the packets it delivers to its tunnel.
fn ours_to_bt(dev: &mut Device, bt: &mut Tunn) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut net = Vec::new();
    let mut tun = Vec::new();
    while let Some(t) = dev.poll_transmit(Instant::now()) {
        let mut buf = vec![0u8; 2048];
        match bt.decapsulate(None, &t.payload, &mut buf) {
            TunnResult::WriteToNetwork(d) => {
                net.push(d.to_vec());
                // Flush boringtun's queue.
                loop {
                    let mut b2 = vec![0u8; 2048];
                    match bt.decapsulate(None, &[], &mut b2) {
                        TunnResult::WriteToNetwork(d) => net.push(d.to_vec()),
                        _ => break,
                    }
                }
            }
            TunnResult::WriteToTunnelV4(d, _) => tun.push(d.to_vec()),
            TunnResult::Done => {}
            other => panic!("boringtun: {other:?}"),
        }
    }
    (net, tun)
}

fn bt_to_ours(dev: &mut Device, from: SocketAddr, datagrams: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut delivered = Vec::new();
    for d in datagrams {
        let mut out = vec![0u8; 2048];
        match dev
            .handle_datagram(Instant::now(), from, d, &mut out)
            .unwrap()
        {
            Output::Deliver { len, .. } => delivered.push(out[..len].to_vec()),
            Output::Done => {}
            other => panic!("ours: {other:?}"),
        }
    }
    delivered
}

fn exchange_data(dev: &mut Device, bt: &mut Tunn, from: SocketAddr) {
    // Ours -> boringtun, odd sizes (padding) included.
    for size in [0usize, 1, 84, 1000, 1400] {
        let pkt = ipv4(OURS, THEIRS, &vec![0x5a; size]);
        let mut out = vec![0u8; 2048];
        match dev.encapsulate(Instant::now(), &pkt, &mut out).unwrap() {
            Output::Transmit { dst, len } => {
                assert_eq!(dst, from);
                let mut buf = vec![0u8; 2048];
                match bt.decapsulate(None, &out[..len], &mut buf) {
                    TunnResult::WriteToTunnelV4(d, src) => {
                        assert_eq!(src, OURS);
                        assert_eq!(d, &pkt[..]);
                    }
                    other => panic!("boringtun decap: {other:?}"),
                }
            }
            other => panic!("encapsulate: {other:?}"),
        }
    }
    // boringtun -> ours.
    for size in [0usize, 7, 500, 1400] {
        let pkt = ipv4(THEIRS, OURS, &vec![0xa5; size]);
        let mut buf = vec![0u8; 2048];
        let d = match bt.encapsulate(&pkt, &mut buf) {
            TunnResult::WriteToNetwork(d) => d.to_vec(),
            other => panic!("boringtun encap: {other:?}"),
        };
        let got = bt_to_ours(dev, from, &[d]);
        assert_eq!(got, vec![pkt]);
    }
}

#[test]
fn we_initiate_boringtun_responds() {
    for psk in [None, Some([9u8; 32])] {
        let (mut dev, mut bt, from) = setup(psk);
        let first = ipv4(OURS, THEIRS, b"first packet, staged during the handshake");
        let mut out = vec![0u8; 2048];
        assert_eq!(
            dev.encapsulate(Instant::now(), &first, &mut out).unwrap(),
            Output::Done
        );
        // Initiation -> boringtun -> response.
        let (net, tun) = ours_to_bt(&mut dev, &mut bt);
        assert!(tun.is_empty());
        assert_eq!(net.len(), 1, "one handshake response");
        assert_eq!(net[0].len(), 92);
        bt_to_ours(&mut dev, from, &net);
        assert!(dev.peer_has_session(PeerId(0), Instant::now()));
        // The staged packet goes out now and boringtun delivers it.
        let (net, tun) = ours_to_bt(&mut dev, &mut bt);
        assert!(net.is_empty());
        assert_eq!(tun, vec![first]);
        exchange_data(&mut dev, &mut bt, from);
        let s = dev.peer_stats(PeerId(0)).unwrap();
        assert_eq!(s.handshakes, 1);
        assert!(s.rx_bytes > 0 && s.tx_bytes > 0);
    }
}

#[test]
fn boringtun_initiates_we_respond() {
    for psk in [None, Some([3u8; 32])] {
        let (mut dev, mut bt, from) = setup(psk);
        let first = ipv4(THEIRS, OURS, b"boringtun's first packet");
        let mut buf = vec![0u8; 2048];
        let init = match bt.encapsulate(&first, &mut buf) {
            TunnResult::WriteToNetwork(d) => d.to_vec(),
            other => panic!("{other:?}"),
        };
        assert_eq!(init.len(), 148);
        assert!(bt_to_ours(&mut dev, from, &[init]).is_empty());
        // Our response -> boringtun, which then sends its queued packet.
        let (net, _) = ours_to_bt(&mut dev, &mut bt);
        assert!(!net.is_empty());
        let got = bt_to_ours(&mut dev, from, &net);
        assert_eq!(got, vec![first]);
        // boringtun's data confirmed our `next` keypair: we can send.
        assert!(dev.peer_has_session(PeerId(0), Instant::now()));
        exchange_data(&mut dev, &mut bt, from);
    }
}

#[test]
fn psk_mismatch_fails() {
    let (mut dev, _, from) = setup(Some([1u8; 32]));
    let kb = key(4);
    let mut bt = Tunn::new(
        StaticSecret::from(kb.0),
        PublicKey::from(key(3).public_key().0),
        Some([2u8; 32]),
        None,
        1,
        None,
    );
    let mut buf = vec![0u8; 2048];
    let init = match bt.encapsulate(&ipv4(THEIRS, OURS, b"x"), &mut buf) {
        TunnResult::WriteToNetwork(d) => d.to_vec(),
        other => panic!("{other:?}"),
    };
    bt_to_ours(&mut dev, from, &[init]);
    let resp = dev.poll_transmit(Instant::now()).unwrap();
    let mut out = vec![0u8; 2048];
    // boringtun cannot verify our response (different PSK).
    assert!(matches!(
        bt.decapsulate(None, &resp.payload, &mut out),
        TunnResult::Err(_)
    ));
}
