//! The zero-copy data path (`encapsulate_in_place` / `handle_datagram_in_place`): same bytes on
//! the wire as the copying calls, interchangeable with them on the other side, same drops and
//! buffer errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Instant;

use common::{a, b, handshake, ipv4, two_devices, TUN_A, TUN_B};
use wireguard::{Device, DropReason, Error, Output, PeerId};

fn connect(da: &mut Device, db: &mut Device, now: Instant) {
    handshake(da, db, now);
    // The confirming keepalive, in place.
    let mut ka = da.poll_transmit(now).unwrap().payload;
    assert_eq!(
        db.handle_datagram_in_place(now, a(), &mut ka).unwrap(),
        Output::Done
    );
    assert!(db.peer_has_session(PeerId(0), now));
}

#[test]
fn in_place_and_copying_paths_interoperate_and_agree() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 70, |_| {}, |_| {});
    let (mut da2, mut db2) = two_devices(now, 70, |_| {}, |_| {});
    connect(&mut da, &mut db, now);
    connect(&mut da2, &mut db2, now);
    for size in [20usize, 21, 84, 1000, 1419, 1420] {
        let pkt = ipv4(TUN_A, TUN_B, &vec![0xab; size - 20]);
        // Copying encapsulation on one device pair, in-place on the identical other pair:
        // identical datagrams (same keys, same counters).
        let mut wire = [0u8; 2048];
        let Output::Transmit { len, dst } = da.encapsulate(now, &pkt, &mut wire).unwrap() else {
            panic!()
        };
        assert_eq!(dst, b());
        let mut buf = [0u8; 2048];
        buf[16..16 + pkt.len()].copy_from_slice(&pkt);
        let Output::Transmit { len: len2, .. } =
            da2.encapsulate_in_place(now, &mut buf, pkt.len()).unwrap()
        else {
            panic!()
        };
        assert_eq!(&wire[..len], &buf[..len2], "size {size}");
        // Copying decapsulation of the in-place datagram, in-place decapsulation of the copy.
        let mut out = [0u8; 2048];
        match db2
            .handle_datagram(now, a(), &buf[..len2], &mut out)
            .unwrap()
        {
            Output::Deliver { len, .. } => assert_eq!(&out[..len], &pkt[..]),
            other => panic!("{other:?}"),
        }
        let mut dgram = wire[..len].to_vec();
        match db.handle_datagram_in_place(now, a(), &mut dgram).unwrap() {
            Output::Deliver { peer, len } => {
                assert_eq!(peer, PeerId(0));
                assert_eq!(&dgram[16..16 + len], &pkt[..]);
            }
            other => panic!("{other:?}"),
        }
        // A replay of the same datagram, in place: dropped.
        let mut again = wire[..len].to_vec();
        assert_eq!(
            db.handle_datagram_in_place(now, a(), &mut again).unwrap(),
            Output::Dropped(DropReason::Replay)
        );
    }
}

#[test]
fn in_place_buffer_errors_and_drops() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 71, |_| {}, |_| {});
    connect(&mut da, &mut db, now);
    let pkt = ipv4(TUN_A, TUN_B, &[1; 80]);
    // 100-byte packet pads to 112: needs 144 bytes.
    let mut small = vec![0u8; 143];
    small[16..116].copy_from_slice(&pkt);
    let before = small.clone();
    assert!(matches!(
        da.encapsulate_in_place(now, &mut small, pkt.len()),
        Err(Error::BufferTooSmall {
            need: 144,
            have: 143
        })
    ));
    assert_eq!(small, before, "untouched");
    // Length beyond the buffer.
    assert!(matches!(
        da.encapsulate_in_place(now, &mut small, 200),
        Err(Error::BufferTooSmall { .. })
    ));
    let mut buf = vec![0u8; 144];
    buf[16..116].copy_from_slice(&pkt);
    let Output::Transmit { len, .. } = da.encapsulate_in_place(now, &mut buf, 100).unwrap() else {
        panic!()
    };
    assert_eq!(len, 144);
    // Tampered ciphertext: authentication failure.
    let mut bad = buf.clone();
    bad[40] ^= 1;
    assert_eq!(
        db.handle_datagram_in_place(now, a(), &mut bad).unwrap(),
        Output::Dropped(DropReason::BadTransportAuth)
    );
    // Junk: typed drop.
    let mut junk = vec![9u8; 40];
    assert_eq!(
        db.handle_datagram_in_place(now, a(), &mut junk).unwrap(),
        Output::Dropped(DropReason::Malformed)
    );
    // The genuine one is delivered.
    assert!(matches!(
        db.handle_datagram_in_place(now, a(), &mut buf).unwrap(),
        Output::Deliver { len: 100, .. }
    ));
    // Not-routed packet in place: no route, buffer kept.
    let mut nr = vec![0u8; 200];
    let other = ipv4(TUN_A, "10.99.0.1".parse().unwrap(), &[0; 8]);
    nr[16..16 + other.len()].copy_from_slice(&other);
    assert_eq!(
        da.encapsulate_in_place(now, &mut nr, other.len()).unwrap(),
        Output::Dropped(DropReason::NoRoute)
    );
}

#[test]
fn in_place_without_session_stages_and_sends_after_handshake() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 72, |_| {}, |_| {});
    let pkt = ipv4(TUN_A, TUN_B, b"staged in place");
    let mut buf = vec![0u8; 256];
    buf[16..16 + pkt.len()].copy_from_slice(&pkt);
    assert_eq!(
        da.encapsulate_in_place(now, &mut buf, pkt.len()).unwrap(),
        Output::Done
    );
    let init = da.poll_transmit(now).unwrap().payload;
    let mut out = [0u8; 2048];
    db.handle_datagram(now, a(), &init, &mut out).unwrap();
    let mut resp = db.poll_transmit(now).unwrap().payload;
    assert_eq!(
        da.handle_datagram_in_place(now, b(), &mut resp).unwrap(),
        Output::Done,
        "handshake response through the in-place entry point"
    );
    let mut data = da.poll_transmit(now).unwrap().payload;
    match db.handle_datagram_in_place(now, a(), &mut data).unwrap() {
        Output::Deliver { len, .. } => assert_eq!(&data[16..16 + len], &pkt[..]),
        other => panic!("{other:?}"),
    }
}
