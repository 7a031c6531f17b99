//! Decoders never panic on arbitrary bytes; generated values round-trip; the server's input
//! path survives arbitrary plaintext after a valid HTTP request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use proptest::prelude::*;
use sstp::wire::{
    self, Attribute, AttributeId, ControlMessage, CryptoBinding, CryptoBindingRequest, MessageType,
    Status, StatusInfo,
};

fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        (any::<u8>(), any::<u16>()).prop_map(|(reserved, protocol)| {
            Attribute::EncapsulatedProtocolId { reserved, protocol }
        }),
        (
            any::<[u8; 3]>(),
            any::<u8>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(
                |(reserved, id, st, value)| Attribute::StatusInfo(StatusInfo {
                    reserved,
                    attrib_id: AttributeId::from_u8(id),
                    status: Status::from_u32(st),
                    value,
                })
            ),
        (
            any::<[u8; 3]>(),
            any::<u8>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>()
        )
            .prop_map(
                |(reserved, hash_protocol, nonce, cert_hash, compound_mac)| {
                    Attribute::CryptoBinding(Box::new(CryptoBinding {
                        reserved,
                        hash_protocol,
                        nonce,
                        cert_hash,
                        compound_mac,
                    }))
                }
            ),
        (any::<[u8; 3]>(), any::<u8>(), any::<[u8; 32]>()).prop_map(
            |(reserved, bitmask, nonce)| {
                Attribute::CryptoBindingRequest(Box::new(CryptoBindingRequest {
                    reserved,
                    bitmask,
                    nonce,
                }))
            }
        ),
        (
            any::<u8>(),
            5u8..=255,
            proptest::collection::vec(any::<u8>(), 0..100)
        )
            .prop_map(|(reserved, id, value)| Attribute::Unknown {
                reserved,
                id,
                value
            }),
    ]
}

proptest! {
    #[test]
    fn control_messages_round_trip(t in any::<u16>(), r in any::<u8>(), attrs in proptest::collection::vec(attribute(), 0..6)) {
        let m = ControlMessage { header_reserved: r & 0xfe, msg_type: MessageType::from_u16(t), attributes: attrs };
        let b = m.to_vec().unwrap();
        prop_assert_eq!(b.len(), m.buffer_len());
        prop_assert_eq!(ControlMessage::parse(&b).unwrap(), m.clone());
        // The stream splitter finds exactly this packet.
        let mut s = b.clone();
        s.extend_from_slice(&[0x10]);
        let (p, n) = wire::split_packet(&s).unwrap().unwrap();
        prop_assert_eq!(n, b.len());
        prop_assert_eq!(p, wire::Packet::Control(&b[..]));
    }

    #[test]
    fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = wire::split_packet(&b);
        let _ = ControlMessage::parse(&b);
        let _ = Attribute::parse(&b, 0);
        let _ = wire::Header::parse(&b);
        let _ = sstp::http::parse_request(&b);
        let _ = sstp::http::parse_response(&b);
        let _ = sstp::http::parse_connect_response(&b);
        let _ = sstp::binding::verify(&b, 3, &[0; 32], b"c", &sstp::Hlak::zero(), true);
    }

    #[test]
    fn canonical_control_bytes_reemit_exactly(b in proptest::collection::vec(any::<u8>(), 8..200)) {
        // Any packet that parses and carries zero reserved bits re-emits byte for byte.
        if let Ok(m) = ControlMessage::parse(&b) {
            let n = wire::Header::parse(&b).unwrap().len() as usize;
            let again = m.to_vec().unwrap();
            let canonical = b[2] & 0xf0 == 0 && again.len() == n;
            if canonical && again[..] == b[..n] {
                prop_assert_eq!(ControlMessage::parse(&again).unwrap(), m);
            }
        }
    }

    #[test]
    fn data_packets_round_trip(f in proptest::collection::vec(any::<u8>(), 0..4091)) {
        let mut out = vec![0u8; f.len() + 4];
        let n = wire::emit_data(&f, &mut out).unwrap();
        let (p, used) = wire::split_packet(&out[..n]).unwrap().unwrap();
        prop_assert_eq!(used, n);
        prop_assert_eq!(p, wire::Packet::Data(&f[..]));
    }

    #[test]
    fn http_head_parser_is_incremental(cut in 0usize..200) {
        let g = sstp::http::Guid([3; 16]);
        let r = sstp::http::client_request("vpn.example", &g);
        let cut = cut.min(r.len());
        if cut < r.len() {
            prop_assert_eq!(sstp::http::parse_request(&r[..cut]), Ok(None));
        } else {
            prop_assert!(sstp::http::parse_request(&r[..cut]).unwrap().is_some());
        }
    }
}
