//! proptest: decoders never panic on arbitrary bytes; generated values round-trip; armor and
//! dearmor invert each other in every suite; fragmentation and reassembly invert each other
//! in any arrival order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use proptest::prelude::*;
use rand_core::RngCore;
use zerotier::crypto::{armor, dearmor, CipherSuite, PeerKey};
use zerotier::fragment::{Offer, Reassembler};
use zerotier::wire::verbs::{
    Message, MulticastGroupRef, MulticastLike, PathRecord, PushDirectPaths, Rendezvous,
};
use zerotier::wire::{
    fragment_packet, Fragment, Header, InetAddr, Verb, FLAG_FRAGMENTED, IDX_FLAGS,
};
use zerotier::{Address, NetworkId, World};

fn verbs() -> impl Strategy<Value = Verb> {
    (0u8..32).prop_map(Verb::from_u8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600), v in verbs()) {
        let _ = Header::parse(&data);
        let _ = Fragment::parse(&data);
        let _ = InetAddr::parse(&data);
        let _ = World::parse(&data);
        let _ = zerotier::Identity::parse(&data);
        if let Ok(m) = Message::parse(v, &data) {
            // Whatever decodes re-encodes to the same bytes.
            let mut out = Vec::new();
            m.emit(&mut out);
            prop_assert_eq!(&out, &data);
        }
        let mut out = Vec::new();
        let _ = zerotier::wire::lz4_decompress(&data, &mut out);
    }

    #[test]
    fn dearmor_never_panics_and_rejects_garbage(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let key = PeerKey::new([3; 48]);
        let mut d = data.clone();
        // A random packet authenticates with probability 2^-64.
        prop_assert!(dearmor(&mut d, &key).is_err());
    }

    #[test]
    fn armor_dearmor_round_trip(payload in proptest::collection::vec(any::<u8>(), 1..2000), id in 1u64.., suite in 0usize..3, hops in 0u8..8) {
        let suite = [CipherSuite::Poly1305None, CipherSuite::Salsa2012Poly1305, CipherSuite::AesGmacSiv][suite];
        let key = PeerKey::new([9; 48]);
        let mut p = Vec::new();
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&Address::new(0x0102030405).to_bytes());
        p.extend_from_slice(&Address::new(0x0a0b0c0d0e).to_bytes());
        p.push(0);
        p.extend_from_slice(&[0; 8]);
        p.extend_from_slice(&payload);
        let plain = p.clone();
        armor(&mut p, &key, suite);
        // Relays may change the hop count without breaking the MAC.
        p[IDX_FLAGS] = (p[IDX_FLAGS] & 0xf8) | hops;
        let mut q = p.clone();
        prop_assert_eq!(dearmor(&mut q, &key).unwrap(), suite);
        prop_assert_eq!(&q[27..], &plain[27..]);
        // Any other bit flip in the authenticated part is caught.
        let mut r = p.clone();
        let i = 27 + (id as usize % payload.len());
        r[i] ^= 0x10;
        prop_assert!(dearmor(&mut r, &key).is_err());
    }

    #[test]
    fn fragments_reassemble_in_any_order(len in 1500usize..8000, seed in any::<u64>(), mtu in 600usize..1432) {
        let mut p = vec![0u8; len];
        for (i, b) in p.iter_mut().enumerate() {
            *b = (i as u64).wrapping_mul(seed | 1) as u8;
        }
        p[13] = 0x11; // source byte is not the fragment indicator
        p[IDX_FLAGS] = FLAG_FRAGMENTED;
        let Some(pieces) = fragment_packet(&p, mtu) else { return Ok(()) };
        prop_assert!(pieces.len() <= 7);
        prop_assert!(pieces.iter().all(|x| x.len() <= mtu));
        let mut order: Vec<usize> = (0..pieces.len()).collect();
        let mut rng = netsim::TestRng::new(seed);
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let mut r = Reassembler::new(4);
        let now = Instant::now();
        let mut done = None;
        for (k, &i) in order.iter().enumerate() {
            let piece = &pieces[i];
            let o = if i == 0 {
                r.offer_head(now, u64::from_be_bytes(piece[..8].try_into().unwrap()), piece)
            } else {
                r.offer_fragment(now, &Fragment::parse(piece).unwrap())
            };
            match o {
                Offer::Complete(x) => { prop_assert_eq!(k, order.len() - 1); done = Some(x); }
                Offer::Stored => {}
                Offer::Dropped(d) => prop_assert!(false, "dropped {:?}", d),
            }
        }
        prop_assert_eq!(done.unwrap(), p);
        prop_assert!(r.is_empty());
    }

    #[test]
    fn verb_values_round_trip(addr in 1u64..0xff_ffff_ffff, port in any::<u16>(), ip in any::<[u8; 4]>(), nwid in any::<u64>(), adi in any::<u32>(), n in 0usize..5) {
        let msgs = vec![
            Message::Rendezvous(Rendezvous { flags: 0, address: Address::new(addr), port, ip: ip.into(), trailing: vec![] }),
            Message::PushDirectPaths(PushDirectPaths { paths: (0..n).map(|i| PathRecord::from_socket_addr((ip, port.wrapping_add(i as u16)).into())).collect(), trailing: vec![] }),
            Message::MulticastLike(MulticastLike { groups: (0..n).map(|i| MulticastGroupRef { network_id: NetworkId(nwid ^ i as u64), mac: [1, 2, 3, 4, 5, i as u8], adi }).collect() }),
            Message::Whois(vec![Address::new(addr)]),
            Message::Echo(ip.to_vec()),
        ];
        for m in msgs {
            let mut b = Vec::new();
            m.emit(&mut b);
            if let Message::MulticastLike(x) = &m { if x.groups.is_empty() { continue; } }
            prop_assert_eq!(Message::parse(m.verb(), &b).unwrap(), m);
        }
    }
}
