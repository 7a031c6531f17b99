//! Byte-exact codec tests for every message type, TLV handling, typed errors, proptest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use proptest::prelude::*;
use ptp::wire::management::{id, CurrentDsTlv, DefaultDsTlv, PortDsTlv};
use ptp::wire::{
    action, flags, tlv_type, Announce, Body, ClockIdentity, ClockQuality, Header, ManagementBody,
    Message, MessageType, PortIdentity, TimeInterval, Timestamp, Tlv, WireError,
};

fn hx(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const SRC: PortIdentity = PortIdentity {
    clock_identity: ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAE, 0xC3]),
    port_number: 1,
};
const REQ: PortIdentity = PortIdentity {
    clock_identity: ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAD, 0xC7]),
    port_number: 2,
};

fn ts(s: u64, n: u32) -> Timestamp {
    Timestamp::new(s, n).unwrap()
}

fn check(header: Header, body: Body, suffix: &[u8], expect_hex: &str) {
    let expect = hx(expect_hex);
    let m = Message {
        header,
        body,
        suffix,
    };
    let mut out = vec![0u8; m.buffer_len()];
    m.emit(&mut out).unwrap();
    assert_eq!(out, expect, "{:?}", header.message_type);
    let back = Message::parse(&expect).unwrap();
    assert_eq!(back.body, body);
    assert_eq!(back.suffix, suffix);
    assert_eq!(back.header.message_length as usize, expect.len());
}

const HDR_SRC: &str = "64d154fffeebaec3 0001";

fn hdr(mt: MessageType, seq: u16) -> Header {
    let mut h = Header::new(mt, 0, SRC, seq);
    h.log_message_interval = 0;
    h
}

#[test]
fn sync_two_step() {
    let mut h = hdr(MessageType::Sync, 0x1234);
    h.flags = flags::TWO_STEP;
    check(h, Body::Sync { origin_timestamp: ts(0, 0) }, &[], &format!("00 02 002c 00 00 0200 0000000000000000 00000000 {HDR_SRC} 1234 00 00 00000000000000000000"));
}

#[test]
fn delay_req_and_follow_up_and_delay_resp() {
    let mut h = hdr(MessageType::DelayReq, 7);
    h.log_message_interval = 0x7F;
    check(h, Body::DelayReq { origin_timestamp: ts(1, 2) }, &[], &format!("01 02 002c 00 00 0000 0000000000000000 00000000 {HDR_SRC} 0007 01 7f 000000000001 00000002"));
    let mut h = hdr(MessageType::FollowUp, 7);
    h.correction = TimeInterval(0x8000); // 0.5 ns
    check(h, Body::FollowUp { precise_origin_timestamp: ts(0x0102_0304_0506, 999_999_999) }, &[], &format!("08 02 002c 00 00 0000 0000000000008000 00000000 {HDR_SRC} 0007 02 00 010203040506 3b9ac9ff"));
    let h = hdr(MessageType::DelayResp, 9);
    check(
        h,
        Body::DelayResp { receive_timestamp: ts(5, 6), requesting_port_identity: REQ },
        &[],
        &format!("09 02 0036 00 00 0000 0000000000000000 00000000 {HDR_SRC} 0009 03 00 000000000005 00000006 64d154fffeebadc7 0002"),
    );
}

#[test]
fn pdelay_family() {
    let mut h = hdr(MessageType::PdelayReq, 1);
    h.log_message_interval = 0x7F;
    check(h, Body::PdelayReq { origin_timestamp: ts(0, 0), reserved: [0; 10] }, &[], &format!("02 02 0036 00 00 0000 0000000000000000 00000000 {HDR_SRC} 0001 05 7f 00000000000000000000 00000000000000000000"));
    let mut h = hdr(MessageType::PdelayResp, 1);
    h.flags = flags::TWO_STEP;
    h.log_message_interval = 0x7F;
    check(
        h,
        Body::PdelayResp { request_receipt_timestamp: ts(10, 20), requesting_port_identity: REQ },
        &[],
        &format!("03 02 0036 00 00 0200 0000000000000000 00000000 {HDR_SRC} 0001 05 7f 00000000000a 00000014 64d154fffeebadc7 0002"),
    );
    let mut h = hdr(MessageType::PdelayRespFollowUp, 1);
    h.log_message_interval = 0x7F;
    h.correction = TimeInterval(-1);
    check(
        h,
        Body::PdelayRespFollowUp { response_origin_timestamp: ts(10, 30), requesting_port_identity: REQ },
        &[],
        &format!("0a 02 0036 00 00 0000 ffffffffffffffff 00000000 {HDR_SRC} 0001 05 7f 00000000000a 0000001e 64d154fffeebadc7 0002"),
    );
}

#[test]
fn announce_802_1as_transport_specific_and_statime_vector() {
    // statime announce_wireformat body vector (spec section 5).
    let body = hx("000045b1115a0a7346600000006000000080 63ffff0009baf82100008080");
    let mut h = hdr(MessageType::Announce, 3);
    h.transport_specific = 1;
    h.log_message_interval = 1;
    let mut bytes = vec![0u8; 34];
    let full = Message {
        header: h,
        body: Body::Announce(Announce {
            origin_timestamp: ts(1169232218, 175326816),
            current_utc_offset: 0,
            reserved: 0,
            grandmaster_priority1: 96,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 0,
                clock_accuracy: 0,
                offset_scaled_log_variance: 128,
            },
            grandmaster_priority2: 99,
            grandmaster_identity: ClockIdentity([0xff, 0xff, 0, 9, 0xba, 0xf8, 0x21, 0]),
            steps_removed: 128,
            time_source: 0x80,
        }),
        suffix: &[],
    };
    bytes.resize(64, 0);
    full.emit(&mut bytes).unwrap();
    assert_eq!(&bytes[34..], &body[..]);
    assert_eq!(bytes[0], 0x1B, "transportSpecific 1 | Announce");
    assert_eq!(bytes[32], 5);
    let back = Message::parse(&bytes).unwrap();
    assert_eq!(back.header.transport_specific, 1);
    assert_eq!(back.body, full.body);
}

#[test]
fn signaling_with_unknown_tlvs_kept() {
    let tlvs = hx("8001 0004 deadbeef 0008 0008 64d154fffeebaec3");
    let h = hdr(MessageType::Signaling, 2);
    let m = Message {
        header: h,
        body: Body::Signaling {
            target_port_identity: PortIdentity::ALL,
        },
        suffix: &tlvs,
    };
    let mut out = vec![0u8; m.buffer_len()];
    m.emit(&mut out).unwrap();
    assert_eq!(out.len(), 44 + 20);
    assert_eq!(&out[2..4], &[0, 64]);
    let back = Message::parse(&out).unwrap();
    let list: Vec<Tlv<'_>> = back.tlvs().map(Result::unwrap).collect();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].tlv_type, 0x8001);
    assert_eq!(list[0].value, &hx("deadbeef")[..]);
    assert_eq!(list[1].tlv_type, tlv_type::PATH_TRACE);
    let mut again = vec![0u8; back.buffer_len()];
    back.emit(&mut again).unwrap();
    assert_eq!(again, out);
    let mut tb = [0u8; 8];
    assert_eq!(list[0].emit(&mut tb).unwrap(), 8);
    assert_eq!(&tb, &hx("8001 0004 deadbeef")[..]);
    assert_eq!(
        list[0].emit(&mut [0u8; 7]),
        Err(WireError::BufferTooSmall { need: 8, have: 7 })
    );
}

#[test]
fn management_get_like_pmc() {
    // pmc GET DEFAULT_DATA_SET: target all, starting/boundary hops 1, action GET, TLV 0001 len 2.
    let mut h = hdr(MessageType::Management, 5);
    h.log_message_interval = 0x7F;
    let tlv = hx("0001 0002 2000");
    let body = Body::Management(ManagementBody {
        target_port_identity: PortIdentity::ALL,
        starting_boundary_hops: 1,
        boundary_hops: 1,
        action_octet: action::GET,
        reserved: 0,
    });
    check(h, body, &tlv, &format!("0d 02 0036 00 00 0000 0000000000000000 00000000 {HDR_SRC} 0005 04 7f ffffffffffffffff ffff 01 01 00 00 0001 0002 2000"));
    let d = DefaultDsTlv {
        two_step: true,
        slave_only: false,
        number_ports: 1,
        priority1: 128,
        clock_quality: ClockQuality::default(),
        priority2: 128,
        clock_identity: SRC.clock_identity,
        domain: 0,
    };
    let b = d.to_bytes();
    assert_eq!(
        b.to_vec(),
        hx("01 00 0001 80 f8feffff 80 64d154fffeebaec3 00 00")
    );
    assert_eq!(DefaultDsTlv::from_bytes(&b), Some(d));
    assert_eq!(
        CurrentDsTlv {
            steps_removed: 1,
            offset_from_master: TimeInterval(-65536),
            mean_path_delay: TimeInterval(65536 * 306)
        }
        .to_bytes()
        .to_vec(),
        hx("0001 ffffffffffff0000 0000000001320000")
    );
    let p = PortDsTlv {
        port_identity: SRC,
        port_state: 9,
        log_min_delay_req_interval: 0,
        peer_mean_path_delay: TimeInterval(0),
        log_announce_interval: 1,
        announce_receipt_timeout: 3,
        log_sync_interval: 0,
        delay_mechanism: 1,
        log_min_pdelay_req_interval: 0,
        version_number: 2,
    };
    assert_eq!(p.to_bytes().len(), 26);
    assert_eq!(id::PORT_DATA_SET, 0x2004);
}

#[test]
fn typed_errors() {
    let mut good = vec![0u8; 44];
    let h = hdr(MessageType::Sync, 1);
    Message {
        header: h,
        body: Body::Sync {
            origin_timestamp: ts(0, 0),
        },
        suffix: &[],
    }
    .emit(&mut good)
    .unwrap();
    assert!(matches!(
        Message::parse(&good[..20]),
        Err(WireError::Truncated { what: "header", .. })
    ));
    assert!(matches!(
        Message::parse(&good[..43]),
        Err(WireError::Truncated { .. })
    ));
    let mut v = good.clone();
    v[1] = 0x01;
    assert_eq!(Message::parse(&v), Err(WireError::BadVersion { found: 1 }));
    let mut v = good.clone();
    v[1] = 0x12; // 1588-2019 minor version 1: accepted
    assert_eq!(Message::parse(&v).unwrap().header.minor_version, 1);
    let mut v = good.clone();
    v[0] = 0x05;
    assert_eq!(
        Message::parse(&v),
        Err(WireError::UnknownMessageType { found: 5 })
    );
    let mut v = good.clone();
    v[3] = 40;
    assert!(matches!(
        Message::parse(&v),
        Err(WireError::BadLength {
            field: "messageLength",
            ..
        })
    ));
    let mut v = good.clone();
    v[40..44].copy_from_slice(&1_000_000_000u32.to_be_bytes());
    assert_eq!(
        Message::parse(&v),
        Err(WireError::InvalidNanoseconds { offset: 40 })
    );
    // TLV running past messageLength.
    let mut v = good.clone();
    v.extend_from_slice(&hx("0003 0010 00"));
    v[3] = 49;
    assert!(matches!(
        Message::parse(&v),
        Err(WireError::BadLength {
            field: "TLV lengthField",
            ..
        })
    ));
    // Trailing padding beyond messageLength is ignored.
    let mut v = good.clone();
    v.extend_from_slice(&[0; 16]);
    assert_eq!(Message::parse(&v).unwrap().buffer_len(), 44);
}

fn arb_ts() -> impl Strategy<Value = Timestamp> {
    (0u64..(1 << 48), 0u32..1_000_000_000).prop_map(|(s, n)| Timestamp::new(s, n).unwrap())
}

fn arb_pid() -> impl Strategy<Value = PortIdentity> {
    (any::<[u8; 8]>(), any::<u16>()).prop_map(|(c, p)| PortIdentity {
        clock_identity: ClockIdentity(c),
        port_number: p,
    })
}

fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        arb_ts().prop_map(|t| Body::Sync {
            origin_timestamp: t
        }),
        arb_ts().prop_map(|t| Body::DelayReq {
            origin_timestamp: t
        }),
        (arb_ts(), any::<[u8; 10]>()).prop_map(|(t, r)| Body::PdelayReq {
            origin_timestamp: t,
            reserved: r
        }),
        (arb_ts(), arb_pid()).prop_map(|(t, p)| Body::PdelayResp {
            request_receipt_timestamp: t,
            requesting_port_identity: p
        }),
        arb_ts().prop_map(|t| Body::FollowUp {
            precise_origin_timestamp: t
        }),
        (arb_ts(), arb_pid()).prop_map(|(t, p)| Body::DelayResp {
            receive_timestamp: t,
            requesting_port_identity: p
        }),
        (arb_ts(), arb_pid()).prop_map(|(t, p)| Body::PdelayRespFollowUp {
            response_origin_timestamp: t,
            requesting_port_identity: p
        }),
        (
            arb_ts(),
            any::<i16>(),
            any::<[u8; 4]>(),
            any::<[u8; 8]>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>()
        )
            .prop_map(|(t, u, q, g, s, ts_, p1, p2)| Body::Announce(Announce {
                origin_timestamp: t,
                current_utc_offset: u,
                reserved: 0,
                grandmaster_priority1: p1,
                grandmaster_clock_quality: ClockQuality::from_bytes(&q),
                grandmaster_priority2: p2,
                grandmaster_identity: ClockIdentity(g),
                steps_removed: s,
                time_source: ts_,
            })),
        arb_pid().prop_map(|p| Body::Signaling {
            target_port_identity: p
        }),
        (arb_pid(), any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(p, a, b, c)| {
            Body::Management(ManagementBody {
                target_port_identity: p,
                starting_boundary_hops: a,
                boundary_hops: b,
                action_octet: c,
                reserved: 0,
            })
        }),
    ]
}

proptest! {
    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(m) = Message::parse(&bytes) {
            let mut out = vec![0u8; m.buffer_len()];
            m.emit(&mut out).unwrap();
            prop_assert_eq!(&out[..], &bytes[..m.buffer_len()]);
        }
        for t in ptp::wire::TlvIter::new(&bytes, 0) { let _ = t; }
    }

    #[test]
    fn messages_roundtrip(body in arb_body(), ts_ in 0u8..16, dom in any::<u8>(), fl in any::<u16>(), corr in any::<i64>(), seq in any::<u16>(), log in any::<i8>(),
                          tlvs in proptest::collection::vec((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..12)), 0..3)) {
        let mut h = Header::new(body.message_type(), dom, SRC, seq);
        h.transport_specific = ts_;
        h.flags = fl;
        h.correction = TimeInterval(corr);
        h.log_message_interval = log;
        let mut suffix = Vec::new();
        for (t, v) in &tlvs {
            let tlv = Tlv { tlv_type: *t, value: v };
            let mut b = vec![0u8; tlv.buffer_len()];
            tlv.emit(&mut b).unwrap();
            suffix.extend_from_slice(&b);
        }
        let m = Message { header: h, body, suffix: &suffix };
        let mut out = vec![0u8; m.buffer_len()];
        m.emit(&mut out).unwrap();
        let back = Message::parse(&out).unwrap();
        prop_assert_eq!(back.body, body);
        prop_assert_eq!(back.suffix, &suffix[..]);
        prop_assert_eq!(back.header.correction, h.correction);
        prop_assert_eq!(back.tlvs().count(), tlvs.len());
    }
}

/// 802.1AS Follow_Up information TLV: byte layout, 96-bit signed lastGmPhaseChange, and
/// rejection of other organisations / subtypes / short values.
#[test]
fn follow_up_info_tlv() {
    use ptp::wire::{FollowUpInfo, Tlv};
    let f = FollowUpInfo {
        cumulative_scaled_rate_offset: -2,
        gm_time_base_indicator: 0x0102,
        last_gm_phase_change: -65536, // -1 ns
        scaled_last_gm_freq_change: 7,
    };
    let b = f.to_tlv_bytes();
    assert_eq!(
        b.to_vec(),
        [
            &[0x00, 0x03, 0x00, 0x1C, 0x00, 0x80, 0xC2, 0x00, 0x00, 0x01][..],
            &[0xFF, 0xFF, 0xFF, 0xFE, 0x01, 0x02][..],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00][..],
            &[0x00, 0x00, 0x00, 0x07][..],
        ]
        .concat()
    );
    let t = Tlv {
        tlv_type: 3,
        value: &b[4..],
    };
    assert_eq!(FollowUpInfo::from_tlv(&t), Some(f));
    let mut other = b;
    other[6] = 0xC3;
    assert_eq!(
        FollowUpInfo::from_tlv(&Tlv {
            tlv_type: 3,
            value: &other[4..]
        }),
        None
    );
    assert_eq!(
        FollowUpInfo::from_tlv(&Tlv {
            tlv_type: 3,
            value: &b[4..30]
        }),
        None
    );
    assert_eq!(
        FollowUpInfo::from_tlv(&Tlv {
            tlv_type: 8,
            value: &b[4..]
        }),
        None
    );
}
