#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Decoders never panic on arbitrary bytes; generated packets round-trip.

use ovpn::crypto::{Digest, KeyDirection, StaticKey};
use ovpn::keymethod::KeyMethod2;
use ovpn::ovpnfile::OvpnFile;
use ovpn::protect::{ControlWrap, TlsAuth, TlsCrypt, TlsCryptV2ServerKey};
use ovpn::push::ControlMessage;
use ovpn::wire::{tcp::Deframer, AckList, ControlPacket, DataPacket, Opcode, Packet};
use proptest::prelude::*;

fn key() -> StaticKey {
    StaticKey::from_bytes(&(0..=255u8).collect::<Vec<_>>()).unwrap()
}

fn control_opcode() -> impl Strategy<Value = Opcode> {
    prop_oneof![
        Just(Opcode::ControlSoftResetV1),
        Just(Opcode::ControlV1),
        Just(Opcode::AckV1),
        Just(Opcode::ControlHardResetClientV2),
        Just(Opcode::ControlHardResetServerV2),
        Just(Opcode::ControlHardResetClientV3),
        Just(Opcode::ControlWkcV1),
    ]
}

proptest! {
    #[test]
    fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Packet::parse(&b);
        let _ = KeyMethod2::parse(&b, true);
        let _ = KeyMethod2::parse(&b, false);
        let _ = ovpn::wire::parse_early_neg(&b);
        let _ = ovpn::protect::split_wkc(&b);
        let mut out = vec![0u8; b.len()];
        let _ = ControlWrap::Auth(TlsAuth::new(&key(), KeyDirection::Normal, Digest::Sha1).unwrap()).unwrap(&b, &mut out);
        let _ = ControlWrap::Crypt(TlsCrypt::new(&key(), true)).unwrap(&b, &mut out);
        let _ = TlsCryptV2ServerKey::from_bytes(&[7u8; 128]).unwrap().unwrap(&b);
        let s = String::from_utf8_lossy(&b);
        let _ = ControlMessage::parse(&s);
        let _ = OvpnFile::parse(&s);
        let mut d = Deframer::new(1500);
        d.push(&b);
        while let Ok(Some(_)) = d.next_packet() {}
    }

    #[test]
    fn control_round_trip(
        op in control_opcode(),
        kid in 0u8..8,
        sid in any::<[u8; 8]>(),
        rsid in any::<[u8; 8]>(),
        acks in proptest::collection::vec(any::<u32>(), 0..=8),
        mid in any::<u32>(),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        replay in (1u32.., any::<u32>()),
    ) {
        let acks: AckList = acks.iter().collect();
        let is_ack = op == Opcode::AckV1;
        let p = ControlPacket {
            opcode: op,
            key_id: kid,
            session_id: sid,
            remote_session_id: (!acks.is_empty()).then_some(rsid),
            acks,
            message_id: (!is_ack).then_some(mid),
            payload: if is_ack { &[] } else { &payload },
        };
        let mut b = vec![0u8; p.buffer_len()];
        p.emit(&mut b).unwrap();
        prop_assert_eq!(ControlPacket::parse(&b).unwrap(), p);
        for (tx, rx) in [
            (ControlWrap::Auth(TlsAuth::new(&key(), KeyDirection::Inverse, Digest::Sha512).unwrap()),
             ControlWrap::Auth(TlsAuth::new(&key(), KeyDirection::Normal, Digest::Sha512).unwrap())),
            (ControlWrap::Crypt(TlsCrypt::new(&key(), false)), ControlWrap::Crypt(TlsCrypt::new(&key(), true))),
        ] {
            let mut w = vec![0u8; b.len() + tx.overhead()];
            let n = tx.wrap(&b, replay, &mut w).unwrap();
            let mut o = vec![0u8; n];
            let (m, r) = rx.unwrap(&w[..n], &mut o).unwrap();
            prop_assert_eq!(&o[..m], &b[..]);
            prop_assert_eq!(r, Some(replay));
        }
    }

    #[test]
    fn data_round_trip(kid in 0u8..8, peer in proptest::option::of(0u32..0xFFFFFF), payload in proptest::collection::vec(any::<u8>(), 0..200)) {
        let d = DataPacket { opcode: if peer.is_some() { Opcode::DataV2 } else { Opcode::DataV1 }, key_id: kid, peer_id: peer, payload: &payload };
        let mut b = vec![0u8; d.buffer_len()];
        d.emit(&mut b).unwrap();
        prop_assert_eq!(DataPacket::parse(&b).unwrap(), d);
    }

}

proptest! {
    /// Compression framing: every framing round-trips any payload; unframing arbitrary bytes
    /// never panics; OCC parsing of arbitrary payloads (with and without the magic) never
    /// panics and what parses re-emits identically.
    #[test]
    fn compression_framing_and_occ(b in proptest::collection::vec(any::<u8>(), 0..300), occ in any::<bool>()) {
        use ovpn::data::Compression;
        use ovpn::occ::{OccMessage, OCC_MAGIC};
        for c in [Compression::None, Compression::LzoNo, Compression::Stub, Compression::StubV2] {
            let mut framed = vec![0u8; b.len() + c.overhead()];
            let n = c.frame(&b, &mut framed).unwrap();
            let m = c.unframe(&mut framed, n).unwrap();
            prop_assert_eq!(&framed[..m], &b[..]);
            let mut raw = b.clone();
            let _ = c.unframe(&mut raw, b.len());
        }
        let payload: Vec<u8> = if occ { OCC_MAGIC.iter().chain(&b).copied().collect() } else { b.clone() };
        if let Some(Ok(m)) = OccMessage::parse(&payload) {
            let mut out = vec![0u8; m.buffer_len()];
            let n = m.emit(&mut out).unwrap();
            prop_assert_eq!(OccMessage::parse(&out[..n]).and_then(Result::ok), Some(m));
        }
    }
}
