//! WireGuard device input path (copying and in-place entry points): a responder that already holds a session (and a pending
//! initiation of its own) is fed fuzz datagrams; it must never panic, and every input must be
//! consumed or a typed drop.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fuzz::TestRng;
use wireguard::{Device, InterfaceConfig, Key, Output, PeerConfig, PeerId};

fn dev(k: u8, seed: u64, now: Instant) -> Device {
    Device::new(
        &InterfaceConfig {
            private_key: Some(Key([k; 32])),
            ..Default::default()
        },
        Box::new(TestRng(seed)),
        now,
        Duration::from_secs(1_780_000_000),
    )
    .unwrap()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let sb: SocketAddr = "192.0.2.2:13231".parse().unwrap();
    let mut a = dev(1, 1, now);
    let mut b = dev(2, 2, now);
    let mut pa = PeerConfig::new(Key([2; 32]).public_key());
    pa.endpoint_address = Some("192.0.2.2".into());
    pa.endpoint_port = Some(13231);
    pa.allowed_address = vec!["10.0.0.2/32".parse().unwrap()];
    a.add_peer(now, &pa).unwrap();
    let mut pb = PeerConfig::new(Key([1; 32]).public_key());
    pb.allowed_address = vec!["10.0.0.1/32".parse().unwrap()];
    pb.endpoint_address = Some("192.0.2.1".into());
    pb.endpoint_port = Some(51820);
    b.add_peer(now, &pb).unwrap();
    let mut out = vec![0u8; 2048];
    a.initiate(now, PeerId(0)).unwrap();
    let init = a.poll_transmit(now).unwrap().payload;
    b.handle_datagram(now, sa, &init, &mut out).unwrap();
    // Datagrams are separated by a 2-byte little-endian length prefix.
    let mut rest = data;
    let mut t = now;
    while rest.len() >= 2 {
        let n = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % 1600;
        rest = &rest[2..];
        let (d, r) = rest.split_at(n.min(rest.len()));
        rest = r;
        t += Duration::from_millis(7);
        // Odd lengths go through the zero-copy entry point (decrypts in the datagram's buffer).
        let r = if n % 2 == 1 {
            let mut buf = d.to_vec();
            let r = b.handle_datagram_in_place(t, sa, &mut buf);
            if let Ok(Output::Deliver { len, .. }) = r {
                assert!(16 + len <= buf.len());
            }
            r
        } else {
            b.handle_datagram(t, sa, d, &mut out)
        };
        match r {
            Ok(Output::Deliver { len, .. }) => assert!(len <= d.len()),
            Ok(_) => {}
            Err(e) => panic!("caller error on network input: {e}"),
        }
        b.handle_timeout(t);
        while b.poll_transmit(now).is_some() {}
        while b.poll_event().is_some() {}
    }
    let _ = sb;
});
