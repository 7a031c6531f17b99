//! IKEv1 property tests: the ISAKMP decoders never panic on arbitrary bytes and what they
//! accept re-encodes byte-exact; generated payload chains and messages round-trip; CBC
//! protection with padding round-trips for every length.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ipsec_ike::crypto::{Cipher, Encr};
use ipsec_ike::v1::crypto as v1c;
use ipsec_ike::v1::session::{Session, SessionConfig};
use ipsec_ike::v1::wire::*;
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn attr() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        (0u16..0x8000, any::<u16>()).prop_map(|(t, v)| Attribute::basic(t, v)),
        (0u16..0x8000, bytes(24)).prop_map(|(ty, v)| Attribute {
            ty,
            value: AttrValue::Variable(v)
        }),
    ]
}

fn attrs() -> impl Strategy<Value = Vec<Attribute>> {
    proptest::collection::vec(attr(), 0..5)
}

fn sa() -> impl Strategy<Value = Sa> {
    let transform =
        (any::<u8>(), any::<u8>(), attrs()).prop_map(|(number, id, attributes)| Transform {
            number,
            id,
            attributes,
        });
    let proposal = (
        any::<u8>(),
        any::<u8>(),
        bytes(17),
        proptest::collection::vec(transform, 0..4),
    )
        .prop_map(|(number, protocol, spi, transforms)| Proposal {
            number,
            protocol,
            spi,
            transforms,
        });
    (
        any::<u32>(),
        any::<u32>(),
        proptest::collection::vec(proposal, 0..3),
    )
        .prop_map(|(doi, situation, proposals)| Sa {
            doi,
            situation,
            proposals,
        })
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        sa().prop_map(Payload::Sa),
        bytes(64).prop_map(Payload::Ke),
        (any::<u8>(), any::<u8>(), any::<u16>(), bytes(40)).prop_map(
            |(t, protocol, port, data)| {
                Payload::Id(Id {
                    id_type: IdType(t),
                    protocol,
                    port,
                    data,
                })
            }
        ),
        (any::<u8>(), bytes(40)).prop_map(|(encoding, data)| Payload::Cert { encoding, data }),
        (any::<u8>(), bytes(40)).prop_map(|(cert_type, authority)| Payload::CertReq {
            cert_type,
            authority
        }),
        bytes(40).prop_map(Payload::Hash),
        bytes(40).prop_map(Payload::Sig),
        bytes(40).prop_map(Payload::Nonce),
        (
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            bytes(17),
            bytes(16)
        )
            .prop_map(|(doi, protocol, t, spi, data)| Payload::Notify(Notify {
                doi,
                protocol,
                notify_type: NotifyType(t),
                spi,
                data,
            })),
        (any::<u32>(), any::<u8>(), 0u8..17, 0usize..5, any::<u8>()).prop_map(
            |(doi, protocol, spi_size, n, fill)| Payload::Delete(Delete {
                doi,
                protocol,
                spi_size,
                spis: (0..n)
                    .map(|i| vec![fill.wrapping_add(i as u8); usize::from(spi_size)])
                    .collect(),
            })
        ),
        bytes(40).prop_map(Payload::VendorId),
        (any::<u8>(), any::<u16>(), attrs()).prop_map(|(cfg_type, identifier, attributes)| {
            Payload::Config(ConfigPayload {
                cfg_type,
                identifier,
                attributes,
            })
        }),
        bytes(40).prop_map(Payload::NatD),
        (any::<u8>(), bytes(17)).prop_map(|(t, address)| Payload::NatOa {
            id_type: IdType(t),
            address
        }),
        (prop_oneof![15u8..20, 22u8..=255], bytes(40)).prop_map(|(t, data)| Payload::Unknown {
            ptype: PayloadType(t),
            data
        }),
    ]
}

fn chain() -> impl Strategy<Value = Vec<Payload>> {
    proptest::collection::vec(payload(), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn chain_decoder_never_panics_and_reencodes(first in any::<u8>(), b in bytes(300)) {
        if let Ok((ps, used)) = parse_chain(PayloadType(first), &b, 0) {
            prop_assert_eq!(chain_to_bytes(&ps), &b[..used]);
        }
    }

    #[test]
    fn message_decoder_never_panics_and_reencodes(mut b in bytes(300), enc in any::<bool>()) {
        // Make the header plausible often enough to reach the payload decoders.
        if b.len() >= HEADER_LEN {
            b[17] = VERSION_1_0;
            b[19] = u8::from(enc);
            let l = b.len() as u32;
            b[24..28].copy_from_slice(&l.to_be_bytes());
        }
        if let Ok(m) = Message::parse(&b) {
            prop_assert_eq!(m.to_bytes(), b);
        }
    }

    #[test]
    fn attribute_and_sa_decoders_never_panic(b in bytes(200)) {
        if let Ok(a) = parse_attributes(&b, 0) {
            let mut out = Vec::new();
            for x in &a {
                let p = Payload::Config(ConfigPayload { cfg_type: 0, identifier: 0, attributes: vec![x.clone()] });
                out.extend_from_slice(&p.body_bytes()[4..]);
            }
            prop_assert_eq!(out, b.clone());
        }
        if let Ok(sa) = Sa::parse(&b, 0) {
            prop_assert_eq!(Payload::Sa(sa).body_bytes(), b.clone());
        }
        let id = Id { id_type: IdType(b.first().copied().unwrap_or(0) % 12), protocol: 0, port: 0, data: b.clone() };
        if let Some(i) = id.identity() {
            prop_assert_eq!(Id::new(&i, 0, 0), id);
        }
    }

    #[test]
    fn generated_chains_round_trip(ps in chain()) {
        let b = chain_to_bytes(&ps);
        let first = ps.first().map_or(PayloadType::NONE, Payload::ptype);
        let (back, used) = parse_chain(first, &b, 0).unwrap();
        prop_assert_eq!(used, b.len());
        prop_assert_eq!(back, ps);
    }

    #[test]
    fn generated_messages_round_trip(
        ps in chain(),
        spi_i in any::<[u8; 8]>(),
        spi_r in any::<[u8; 8]>(),
        ex in any::<u8>(),
        flags in 0u8..8,
        mid in any::<u32>(),
    ) {
        let m = Message {
            header: Header {
                spi_i,
                spi_r,
                next_payload: ps.first().map_or(PayloadType::NONE, Payload::ptype),
                version: VERSION_1_0,
                exchange: ExchangeType(ex),
                flags: flags & !FLAG_ENCRYPTION,
                message_id: mid,
                length: 0,
            },
            body: Body::Clear(ps),
        };
        let b = m.to_bytes();
        let back = Message::parse(&b).unwrap();
        prop_assert_eq!(back.header.length as usize, b.len());
        prop_assert_eq!(back.body, m.body);
    }

    #[test]
    fn cbc_protection_round_trips(
        ps in chain(),
        key in any::<[u8; 32]>(),
        iv in any::<[u8; 16]>(),
        tdes in any::<bool>(),
    ) {
        let encr = if tdes { Encr::TripleDes } else { Encr::AesCbc(32) };
        let c = Cipher::new(encr, &key[..encr.key_len()]).unwrap();
        let iv = &iv[..encr.block_len()];
        let pt = v1c::pad(chain_to_bytes(&ps), encr);
        let (ct, next) = v1c::encrypt(&c, iv, &pt).unwrap();
        let (back, next2) = v1c::decrypt(&c, iv, &ct).unwrap();
        prop_assert_eq!(next, next2);
        let first = ps.first().map_or(PayloadType::NONE, Payload::ptype);
        let (got, used) = parse_chain(first, &back, 0).unwrap();
        prop_assert!(back.len() - used >= 1 && back.len() - used <= encr.block_len());
        prop_assert_eq!(got, ps);
    }

    #[test]
    fn sessions_never_panic_on_arbitrary_input(
        msgs in proptest::collection::vec(bytes(200), 1..6),
        flip in any::<(usize, u8)>(),
    ) {
        let cfg = SessionConfig::psk(
            b"k",
            Identity::Addr("10.0.0.1".parse().unwrap()),
            Identity::Addr("10.1.0.1".parse().unwrap()),
            Identity::Addr("10.2.0.1".parse().unwrap()),
        );
        let now = std::time::Instant::now();
        let rng = || Box::new(<rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::seed_from_u64(3));
        let mut r = Session::responder(cfg.clone(), rng()).unwrap();
        let mut i = Session::initiator(cfg, now, rng()).unwrap();
        // The initiator's own first message, with one byte changed, then random bytes.
        let mut m1 = i.poll_transmit(now).unwrap().payload;
        let at = flip.0 % m1.len();
        m1[at] ^= flip.1;
        r.handle_datagram(now, 500, &m1);
        for (k, m) in msgs.iter().enumerate() {
            // Every other datagram on 4500 (where IKE follows the non-ESP marker).
            let port = if k % 2 == 0 { 500 } else { 4500 };
            r.handle_datagram(now, port, m);
            i.handle_datagram(now, port, m);
        }
        while r.poll_transmit(now).is_some() {}
        while i.poll_event().is_some() {}
    }
}

proptest! {
    /// RouterOS `proposal-check` as rules: obey takes the offer; exact accepts only equality;
    /// strict accepts only an offer not longer than ours, as offered; claim always accepts,
    /// takes the shorter of the two and notifies exactly when ours is shorter. A missing
    /// lifetime reads as 28800 s.
    #[test]
    fn proposal_check_rules(
        o in proptest::option::of(1u64..200_000),
        r in proptest::option::of(1u64..200_000),
    ) {
        use ipsec_ike::v1::session::ProposalCheck::*;
        let (off, ours) = (o.unwrap_or(28800), r.unwrap_or(28800));
        prop_assert_eq!(Obey.decide(o, r), Some((off, false)));
        prop_assert_eq!(Exact.decide(o, r), (off == ours).then_some((off, false)));
        prop_assert_eq!(Strict.decide(o, r), (off <= ours).then_some((off, false)));
        prop_assert_eq!(Claim.decide(o, r), Some((off.min(ours), ours < off)));
    }
}
