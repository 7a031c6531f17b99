#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Property tests: decoders never panic on arbitrary bytes; generated values round-trip.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use l2tp::config::ServerConfig;
use l2tp::server::{Lns, Peer};
use l2tp::wire::avp::{parse_avps, unhide_all};
use l2tp::wire::v3::{parse_data_v3, ControlMessageV3, Encap};
use l2tp::wire::{Avp, AvpValue, ControlMessage, Header};
use l2tp::{Tunnel, TunnelConfig};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn arb_avp() -> impl Strategy<Value = Avp> {
    (
        any::<bool>(),
        any::<bool>(),
        0u16..3,
        0u16..80,
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(m, h, vendor_id, attr_type, value)| Avp {
            mandatory: m,
            hidden: h,
            vendor_id,
            attr_type,
            value,
        })
}

proptest! {
    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Header::parse(&data);
        let _ = ControlMessage::parse(&data);
        if let Ok(mut avps) = parse_avps(&data) {
            for a in &avps {
                let _ = a.typed();
                let _ = AvpValue::decode(a.attr_type, &a.value);
            }
            let _ = unhide_all(&mut avps, b"secret");
        }
        for e in [Encap::Ip, Encap::Udp] {
            let _ = ControlMessageV3::parse(e, &data);
            for c in [0, 4, 8] {
                let _ = parse_data_v3(e, &data, c, true);
                let _ = parse_data_v3(e, &data, c, false);
            }
        }
    }

    #[test]
    fn tunnel_and_lns_never_panic(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..8)) {
        let now = Instant::now();
        let mut t = Tunnel::accept(TunnelConfig::default(), now, &mut ChaCha20Rng::seed_from_u64(1), 5).unwrap();
        let mut s: Lns<u8> = Lns::new(ServerConfig::default(), TunnelConfig::default(), Box::new(|_, _| None), &mut ChaCha20Rng::seed_from_u64(2)).unwrap();
        let peer = Peer { key: 1u8, addr: IpAddr::V4(Ipv4Addr::LOCALHOST), via_ipsec: false };
        for m in &msgs {
            let _ = t.handle_input(now, m);
            while t.poll_transmit(now).is_some() {}
            let _ = s.handle_input(now, &peer, m);
            while s.poll_transmit(now).is_some() {}
        }
    }

    #[test]
    fn avp_list_roundtrip(avps in proptest::collection::vec(arb_avp(), 0..10)) {
        let mut out = Vec::new();
        l2tp::wire::avp::emit_avps(&avps, &mut out).unwrap();
        prop_assert_eq!(parse_avps(&out).unwrap(), avps);
    }

    #[test]
    fn control_message_roundtrip(tid in any::<u16>(), sid in any::<u16>(), ns in any::<u16>(), nr in any::<u16>(), mut avps in proptest::collection::vec(arb_avp(), 0..6)) {
        avps.insert(0, Avp::m(&AvpValue::MessageType(10)));
        let mut m = ControlMessage { header: Header::control(tid, sid, ns, nr), avps };
        let b = m.to_vec().unwrap();
        let back = ControlMessage::parse(&b).unwrap();
        m.header.sequence = Some((ns, nr));
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_vec().unwrap(), b);
    }

    #[test]
    fn hidden_roundtrip(value in proptest::collection::vec(any::<u8>(), 0..100), rv in proptest::collection::vec(any::<u8>(), 1..32), pad in proptest::collection::vec(any::<u8>(), 0..20), secret in proptest::collection::vec(any::<u8>(), 1..20)) {
        let plain = Avp { mandatory: true, hidden: false, vendor_id: 0, attr_type: 30, value };
        let mut a = plain.clone();
        a.hide(&secret, &rv, &pad).unwrap();
        a.unhide(&secret, &rv).unwrap();
        prop_assert_eq!(a, plain);
    }

    #[test]
    fn data_header_roundtrip(tid in any::<u16>(), sid in any::<u16>(), l in any::<bool>(), seq in proptest::option::of((any::<u16>(), any::<u16>())), off in proptest::option::of(0u16..8), p in any::<bool>(), payload in proptest::collection::vec(any::<u8>(), 0..50)) {
        let h = Header { is_control: false, has_length: l, tunnel_id: tid, session_id: sid, sequence: seq, offset_size: off, priority: p };
        let mut buf = vec![0u8; h.header_len() + payload.len()];
        let hl = h.emit(payload.len(), &mut buf).unwrap();
        buf[hl..].copy_from_slice(&payload);
        let (back, r) = Header::parse(&buf).unwrap();
        prop_assert_eq!(back, h);
        prop_assert_eq!(&buf[r], &payload[..]);
    }
}

// ---- reorder buffer ----

use l2tp::reorder::{ReorderBuffer, ReorderConfig, Verdict};
use std::time::Duration;

proptest! {
    /// Arrivals shuffled within blocks of 4 (so no packet is more than 3 ahead of a gap) with
    /// duplicates mixed in come out complete, exactly once and in order, with capacity 8 and
    /// no timeout firing.
    #[test]
    fn reorder_restores_any_bounded_permutation(
        start in 0u32..(1 << 16),
        blocks in proptest::collection::vec(0usize..24, 1..50),
        dups in proptest::collection::vec(0usize..200, 0..20),
    ) {
        let cap = 8;
        let n = blocks.len() * 4;
        let mut order: Vec<usize> = Vec::new();
        for (k, p) in blocks.iter().enumerate() {
            // the p-th permutation of 4 elements (factorial number system)
            let mut pool: Vec<usize> = (0..4).map(|i| k * 4 + i).collect();
            let mut code = *p;
            for f in [6, 2, 1, 1] {
                order.push(pool.remove(code / f));
                code %= f;
            }
        }
        let mut arrivals = order.clone();
        for d in dups {
            let k = d % arrivals.len();
            arrivals.insert(k + 1, arrivals[k]);
        }
        let t = Instant::now();
        let mut b = ReorderBuffer::new(ReorderConfig { capacity: cap, timeout: Duration::from_secs(1) }, 16);
        b.expect(start & 0xffff);
        let mut out = Vec::new();
        for v in arrivals {
            let seq = (start + v as u32) & 0xffff;
            match b.push(t, seq, &(v as u32).to_be_bytes()) {
                Verdict::Deliver => out.push(v as u32),
                Verdict::Held | Verdict::Duplicate | Verdict::TooOld => {}
            }
            while let Some(p) = b.pop() {
                out.push(u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
            }
            prop_assert!(b.held() <= cap);
        }
        prop_assert_eq!(out, (0..n as u32).collect::<Vec<_>>());
        prop_assert_eq!(b.stats().lost, 0);
        prop_assert_eq!(b.stats().too_old, 0);
    }

    /// Whatever arrives, the buffer stays bounded, never delivers a number twice and
    /// delivers in increasing order (modulo the sequence space).
    #[test]
    fn reorder_never_duplicates_or_goes_back(
        seqs in proptest::collection::vec((0u32..64, 0u64..50), 1..300),
    ) {
        let mut b = ReorderBuffer::new(ReorderConfig { capacity: 4, timeout: Duration::from_millis(20) }, 16);
        let t0 = Instant::now();
        let mut now = t0;
        let mut out: Vec<u32> = Vec::new();
        for (s, dt) in seqs {
            now += Duration::from_millis(dt);
            b.handle_timeout(now);
            while let Some(p) = b.pop() { out.push(u32::from_be_bytes([p[0], p[1], p[2], p[3]])); }
            if b.push(now, s, &s.to_be_bytes()) == Verdict::Deliver {
                out.push(s);
            }
            while let Some(p) = b.pop() { out.push(u32::from_be_bytes([p[0], p[1], p[2], p[3]])); }
            prop_assert!(b.held() <= 4);
        }
        for w in out.windows(2) {
            let d = w[1].wrapping_sub(w[0]) & 0xffff;
            prop_assert!(d != 0 && d <= 0x8000, "{:?}", w);
        }
    }
}
