//! A pluggable transport-data AEAD ([`wireguard::aead::AeadProvider`]) really does the work: a
//! provider that counts its calls and delegates to ring sees exactly one seal per transport
//! message sent and one open per transport message received, interoperates with a device on
//! the built-in code, and a provider that refuses to open makes the device drop everything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use common::{a, b, handshake, ipv4, two_devices, TUN_A, TUN_B};
use wireguard::aead::{AeadFailure, AeadKey, AeadProvider, RingProvider};
use wireguard::{Device, DropReason, Output, PeerId};

#[derive(Debug, Default)]
struct Counters {
    keys: AtomicU64,
    seals: AtomicU64,
    opens: AtomicU64,
    open_failures: AtomicU64,
}

/// Counts, then lets ring (through [`RingProvider`]) do the work; or, with `break_open`,
/// fails every open.
#[derive(Debug, Default)]
struct Counting {
    c: Arc<Counters>,
    break_open: bool,
}

struct CountingKey {
    inner: Box<dyn AeadKey>,
    c: Arc<Counters>,
    break_open: bool,
}

impl AeadKey for CountingKey {
    fn seal_in_place(
        &mut self,
        nonce: &[u8; 12],
        data: &mut [u8],
        tag: &mut [u8; 16],
    ) -> Result<(), AeadFailure> {
        self.c.seals.fetch_add(1, Ordering::Relaxed);
        self.inner.seal_in_place(nonce, data, tag)
    }

    fn open_in_place(
        &mut self,
        nonce: &[u8; 12],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), AeadFailure> {
        self.c.opens.fetch_add(1, Ordering::Relaxed);
        if self.break_open {
            return Err(AeadFailure);
        }
        let r = self.inner.open_in_place(nonce, data, tag);
        if r.is_err() {
            self.c.open_failures.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

impl AeadProvider for Counting {
    fn new_key(&self, key: &[u8; 32]) -> Option<Box<dyn AeadKey>> {
        self.c.keys.fetch_add(1, Ordering::Relaxed);
        Some(Box::new(CountingKey {
            inner: RingProvider.new_key(key)?,
            c: self.c.clone(),
            break_open: self.break_open,
        }))
    }
}

/// A provider that declines every key: the device stays on the built-in code.
#[derive(Debug)]
struct Declining;

impl AeadProvider for Declining {
    fn new_key(&self, _key: &[u8; 32]) -> Option<Box<dyn AeadKey>> {
        None
    }
}

fn provider(break_open: bool) -> (Arc<dyn AeadProvider>, Arc<Counters>) {
    let c = Arc::new(Counters::default());
    (
        Arc::new(Counting {
            c: c.clone(),
            break_open,
        }),
        c,
    )
}

/// Send `n` packets each way, alternating the copying and in-place calls; returns how many
/// were delivered on each side (A's, B's).
fn exchange(da: &mut Device, db: &mut Device, now: Instant, n: usize) -> (u64, u64) {
    let (mut to_a, mut to_b) = (0, 0);
    for i in 0..n {
        to_b += u64::from(one(da, db, TUN_A, TUN_B, a(), now, i));
        to_a += u64::from(one(db, da, TUN_B, TUN_A, b(), now, i));
    }
    (to_a, to_b)
}

/// One packet `from` -> `into`; whether it was delivered (and intact).
fn one(
    from: &mut Device,
    into: &mut Device,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    from_addr: SocketAddr,
    now: Instant,
    i: usize,
) -> bool {
    let size = 20 + (i * 97) % 1400;
    let pkt = ipv4(src, dst, &vec![i as u8; size - 20]);
    let mut wire = vec![0u8; 2048];
    let len = if i.is_multiple_of(2) {
        match from.encapsulate(now, &pkt, &mut wire).unwrap() {
            Output::Transmit { len, .. } => len,
            other => panic!("{other:?}"),
        }
    } else {
        wire[16..16 + pkt.len()].copy_from_slice(&pkt);
        match from
            .encapsulate_in_place(now, &mut wire, pkt.len())
            .unwrap()
        {
            Output::Transmit { len, .. } => len,
            other => panic!("{other:?}"),
        }
    };
    wire.truncate(len);
    if i.is_multiple_of(3) {
        let mut out = vec![0u8; 2048];
        match into
            .handle_datagram(now, from_addr, &wire, &mut out)
            .unwrap()
        {
            Output::Deliver { len, .. } => {
                assert_eq!(&out[..len], &pkt[..]);
                true
            }
            _ => false,
        }
    } else {
        match into
            .handle_datagram_in_place(now, from_addr, &mut wire)
            .unwrap()
        {
            Output::Deliver { len, .. } => {
                assert_eq!(&wire[16..16 + len], &pkt[..]);
                true
            }
            _ => false,
        }
    }
}

/// Deliver A's confirming keepalive (a transport message) to B.
fn confirm(da: &mut Device, db: &mut Device, now: Instant) {
    let ka = da.poll_transmit(now).unwrap().payload;
    let mut out = [0u8; 2048];
    assert_eq!(
        db.handle_datagram(now, a(), &ka, &mut out).unwrap(),
        Output::Done
    );
    assert!(db.peer_has_session(PeerId(0), now));
}

#[test]
fn counting_provider_sees_every_transport_message_on_both_sides() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 80, |_| {}, |_| {});
    let (pa, ca) = provider(false);
    let (pb, cb) = provider(false);
    da.set_aead_provider(Some(pa));
    db.set_aead_provider(Some(pb));
    assert!(da.aead_provider().is_some());
    handshake(&mut da, &mut db, now);
    confirm(&mut da, &mut db, now);
    let n = 25;
    let (to_a, to_b) = exchange(&mut da, &mut db, now, n);
    assert_eq!((to_a, to_b), (n as u64, n as u64));
    // One keypair each, one key per direction.
    assert_eq!(ca.keys.load(Ordering::Relaxed), 2);
    assert_eq!(cb.keys.load(Ordering::Relaxed), 2);
    // A sent the keepalive and n packets; B received them. And the other way round.
    let a_sent = da.peer_stats(PeerId(0)).unwrap().tx_packets;
    let b_recv = db.peer_stats(PeerId(0)).unwrap().rx_packets;
    assert_eq!(ca.seals.load(Ordering::Relaxed), n as u64 + 1);
    assert_eq!(cb.opens.load(Ordering::Relaxed), n as u64 + 1);
    assert_eq!(cb.seals.load(Ordering::Relaxed), n as u64);
    assert_eq!(ca.opens.load(Ordering::Relaxed), n as u64);
    assert_eq!(ca.seals.load(Ordering::Relaxed), a_sent);
    assert_eq!(cb.opens.load(Ordering::Relaxed), b_recv);
    assert_eq!(ca.open_failures.load(Ordering::Relaxed), 0);
    assert_eq!(cb.open_failures.load(Ordering::Relaxed), 0);
}

#[test]
fn provider_device_interoperates_with_builtin_device() {
    let now = Instant::now();
    // Only B has the provider (and B is the responder this time): its keys come from the
    // provider, A's from ring directly, and the wire bytes agree.
    let (mut da, mut db) = two_devices(now, 81, |_| {}, |_| {});
    let (pb, cb) = provider(false);
    db.set_aead_provider(Some(pb));
    handshake(&mut da, &mut db, now);
    confirm(&mut da, &mut db, now);
    let n = 12;
    assert_eq!(exchange(&mut da, &mut db, now, n), (n as u64, n as u64));
    assert_eq!(cb.seals.load(Ordering::Relaxed), n as u64);
    assert_eq!(cb.opens.load(Ordering::Relaxed), n as u64 + 1);
}

#[test]
fn provider_failing_open_drops_as_bad_auth() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 82, |_| {}, |_| {});
    let (pb, cb) = provider(true);
    db.set_aead_provider(Some(pb));
    handshake(&mut da, &mut db, now);
    let ka = da.poll_transmit(now).unwrap().payload;
    let mut out = [0u8; 2048];
    db.handle_datagram(now, a(), &ka, &mut out).unwrap();
    assert_eq!(cb.opens.load(Ordering::Relaxed), 1);
    assert_eq!(db.stats().dropped(DropReason::BadTransportAuth), 1);
    assert!(!db.peer_has_session(PeerId(0), now));
}

#[test]
fn declining_provider_falls_back_to_builtin() {
    let now = Instant::now();
    let (mut da, mut db) = two_devices(now, 83, |_| {}, |_| {});
    da.set_aead_provider(Some(Arc::new(Declining)));
    db.set_aead_provider(None);
    handshake(&mut da, &mut db, now);
    confirm(&mut da, &mut db, now);
    assert_eq!(exchange(&mut da, &mut db, now, 4), (4, 4));
}
