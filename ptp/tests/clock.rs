//! Clock-level behaviours through the public API: management GET (what `pmc` sends), drops
//! with typed reasons, sequence matching, buffer handling, and proptest on the input path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::{drain, encode};

use std::time::{Duration, Instant};

use proptest::prelude::*;
use ptp::wire::management::{id, DefaultDsTlv};
use ptp::wire::{
    action, flags, tlv_type, Body, ClockIdentity, Header, ManagementBody, Message, MessageType,
    PortIdentity, Time, TimeInterval, Timestamp,
};
use ptp::{Clock, Config, Destination, Disposition, DropReason, Error, Event, PortState};

const ME: ClockIdentity = ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAD, 0xC7]);
const PEER: PortIdentity = PortIdentity {
    clock_identity: ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAE, 0xC3]),
    port_number: 1,
};

fn new_clock(start: Instant) -> Clock {
    let cfg = Config {
        clock_identity: ME,
        name: "ptp1".into(),
        ..Config::default()
    };
    common::clock(&cfg, start, 3)
}

fn announce(seq: u16, p1: u8) -> Vec<u8> {
    common::announce_from(PEER, seq, p1)
}

#[test]
fn management_get_default_data_set() {
    let start = Instant::now();
    let mut c = new_clock(start);
    drain(&mut c, start);
    let mut h = Header::new(MessageType::Management, 0, PEER, 77);
    h.log_message_interval = 0x7F;
    let req = encode(
        h,
        Body::Management(ManagementBody {
            target_port_identity: PortIdentity::ALL,
            starting_boundary_hops: 1,
            boundary_hops: 1,
            action_octet: action::GET,
            reserved: 0,
        }),
        &[0, 1, 0, 2, 0x20, 0x00],
    );
    assert_eq!(
        c.handle_input(start, 0, &req, None).unwrap(),
        Disposition::Accepted
    );
    let out = drain(&mut c, start);
    assert_eq!(out.len(), 1);
    let (t, bytes) = &out[0];
    assert_eq!(t.dest, Destination::Primary);
    assert!(!t.event);
    let m = Message::parse(bytes).unwrap();
    assert_eq!(m.header.sequence_id, 77);
    assert_eq!(m.header.control_field, 4);
    let Body::Management(mb) = m.body else {
        panic!()
    };
    assert_eq!(mb.action(), action::RESPONSE);
    assert_eq!(mb.target_port_identity, PEER);
    assert_eq!((mb.starting_boundary_hops, mb.boundary_hops), (0, 0));
    let tlv = m.tlvs().next().unwrap().unwrap();
    assert_eq!(tlv.tlv_type, tlv_type::MANAGEMENT);
    assert_eq!(&tlv.value[..2], &id::DEFAULT_DATA_SET.to_be_bytes());
    let d = DefaultDsTlv::from_bytes(&tlv.value[2..]).unwrap();
    assert_eq!(d.clock_identity, ME);
    assert_eq!(
        (
            d.priority1,
            d.priority2,
            d.domain,
            d.number_ports,
            d.two_step
        ),
        (128, 128, 0, 1, true)
    );
    // Each basic data set has its documented length.
    for (mid, len) in [
        (id::CURRENT_DATA_SET, 18),
        (id::PARENT_DATA_SET, 32),
        (id::TIME_PROPERTIES_DATA_SET, 4),
        (id::PORT_DATA_SET, 26),
    ] {
        let (_, v) = mgmt(&mut c, start, action::GET, 0, &mid.to_be_bytes());
        assert_eq!(v.len(), 2 + len, "{mid:#x}");
    }
    // PORT_DATA_SET carries state LISTENING (4) and delay mechanism E2E (1).
    let (_, v) = mgmt(&mut c, start, action::GET, 0, &[0x20, 0x04]);
    assert_eq!(v[2 + 10], 4);
    assert_eq!(v[2 + 23], 1);
    // Unknown id -> MANAGEMENT_ERROR_STATUS NOT_SUPPORTED.
    let (ty, v) = mgmt(&mut c, start, action::GET, 0, &[0xC0, 0x00]);
    assert_eq!(ty, tlv_type::MANAGEMENT_ERROR_STATUS);
    assert_eq!(&v[..2], &[0, 6]);
    // COMMAND is refused.
    let req = mgmt_request(action::COMMAND, 0, &[0x00, 0x00]);
    assert_eq!(
        c.handle_input(start, 0, &req, None).unwrap(),
        Disposition::Dropped(DropReason::Unsupported(MessageType::Management))
    );
}

/// A management message from PEER to all clocks with one MANAGEMENT TLV.
fn mgmt_request(act: u8, domain: u8, tlv_value: &[u8]) -> Vec<u8> {
    let mut h = Header::new(MessageType::Management, domain, PEER, 9);
    h.log_message_interval = 0x7F;
    let mut suffix = vec![0, 1];
    suffix.extend_from_slice(&(tlv_value.len() as u16).to_be_bytes());
    suffix.extend_from_slice(tlv_value);
    encode(
        h,
        Body::Management(ManagementBody {
            target_port_identity: PortIdentity::ALL,
            starting_boundary_hops: 1,
            boundary_hops: 1,
            action_octet: act,
            reserved: 0,
        }),
        &suffix,
    )
}

/// Send a management request, return the response's first TLV (type, value).
fn mgmt(c: &mut Clock, now: Instant, act: u8, domain: u8, tlv_value: &[u8]) -> (u16, Vec<u8>) {
    let req = mgmt_request(act, domain, tlv_value);
    assert_eq!(
        c.handle_input(now, 0, &req, None).unwrap(),
        Disposition::Accepted
    );
    let out: Vec<_> = drain(c, now)
        .into_iter()
        .filter(|(t, _)| t.message_type == MessageType::Management)
        .collect();
    assert_eq!(out.len(), 1);
    let m = Message::parse(&out[0].1).unwrap();
    assert_eq!(m.header.domain, domain, "answered in the request's domain");
    let Body::Management(mb) = m.body else {
        panic!()
    };
    assert_eq!(mb.action(), action::RESPONSE);
    let tlv = m.tlvs().next().unwrap().unwrap();
    (tlv.tlv_type, tlv.value.to_vec())
}

/// Management SET [1588-2008 15.3]: PRIORITY1/PRIORITY2/DOMAIN/SLAVE_ONLY change defaultDS,
/// the response carries the new value, the BMCA runs with it (a grandmaster's parentDS and
/// Announce follow), an event reports it; read-only ids answer NOT_SETABLE, bad lengths
/// WRONG_LENGTH, bad values WRONG_VALUE, unknown ids NOT_SUPPORTED.
#[test]
fn management_set() {
    let start = Instant::now();
    let mut c = new_clock(start);
    drain(&mut c, start);
    // Alone for 7 s: grandmaster.
    let t = start + Duration::from_secs(7);
    c.handle_timeout(t);
    drain(&mut c, t);
    assert!(c.is_grandmaster());
    while c.poll_event().is_some() {}

    let (ty, v) = mgmt(&mut c, t, action::SET, 0, &[0x20, 0x05, 7, 0]);
    assert_eq!((ty, v), (tlv_type::MANAGEMENT, vec![0x20, 0x05, 7, 0]));
    assert_eq!(c.default_ds().priority1, 7);
    assert_eq!(c.parent_ds().grandmaster_priority1, 7);
    assert!(std::iter::from_fn(|| c.poll_event()).any(|e| e
        == Event::ManagementSet {
            management_id: id::PRIORITY1,
            value: 7
        }));
    let (_, v) = mgmt(&mut c, t, action::GET, 0, &[0x20, 0x05]);
    assert_eq!(v, vec![0x20, 0x05, 7, 0]);
    // The next Announce carries it.
    let t2 = t + Duration::from_secs(3);
    c.handle_timeout(t2);
    let ann = drain(&mut c, t2)
        .into_iter()
        .find(|(x, _)| x.message_type == MessageType::Announce)
        .unwrap();
    let Body::Announce(a) = Message::parse(&ann.1).unwrap().body else {
        panic!()
    };
    assert_eq!(a.grandmaster_priority1, 7);

    let (_, v) = mgmt(&mut c, t2, action::SET, 0, &[0x20, 0x06, 9, 0]);
    assert_eq!(v, vec![0x20, 0x06, 9, 0]);
    assert_eq!(c.default_ds().priority2, 9);

    // SLAVE_ONLY: a slave-only clock stops being master.
    let (_, v) = mgmt(&mut c, t2, action::SET, 0, &[0x20, 0x08, 1, 0]);
    assert_eq!(v, vec![0x20, 0x08, 1, 0]);
    assert!(c.default_ds().slave_only);
    assert_eq!(c.default_ds().clock_quality.clock_class, 255);
    assert_ne!(c.port_state(0), Some(PortState::Master));
    let (ty, v) = mgmt(&mut c, t2, action::SET, 0, &[0x20, 0x08, 2, 0]);
    assert_eq!(
        (ty, &v[..4]),
        (tlv_type::MANAGEMENT_ERROR_STATUS, &[0, 4, 0x20, 0x08][..])
    );

    // Errors.
    for (value, err) in [
        (vec![0x20, 0x00, 0, 0], 5u8),     // DEFAULT_DATA_SET: NOT_SETABLE
        (vec![0x20, 0x05, 1], 3),          // WRONG_LENGTH
        (vec![0x20, 0x05, 1, 0, 0, 0], 3), // WRONG_LENGTH
        (vec![0xC0, 0x00, 0, 0], 6),       // NOT_SUPPORTED
    ] {
        let (ty, v) = mgmt(&mut c, t2, action::SET, 0, &value);
        assert_eq!(ty, tlv_type::MANAGEMENT_ERROR_STATUS, "{value:?}");
        assert_eq!(&v[..4], &[0, err, value[0], value[1]], "{value:?}");
    }
    assert_eq!(c.default_ds().priority1, 7, "failed SETs change nothing");

    // DOMAIN: answered in the old domain, then only the new one is ours.
    let (_, v) = mgmt(&mut c, t2, action::SET, 0, &[0x20, 0x07, 24, 0]);
    assert_eq!(v, vec![0x20, 0x07, 24, 0]);
    assert_eq!(c.default_ds().domain, 24);
    let (_, v) = mgmt(&mut c, t2, action::GET, 24, &[0x20, 0x07]);
    assert_eq!(v, vec![0x20, 0x07, 24, 0]);
    assert!(matches!(
        c.handle_input(t2, 0, &announce(1, 1), None).unwrap(),
        Disposition::Dropped(DropReason::WrongDomain { found: 0 })
    ));
}

#[test]
fn typed_drops() {
    let start = Instant::now();
    let mut c = new_clock(start);
    let a = announce(0, 100);
    let mut wrong_dom = a.clone();
    wrong_dom[4] = 3;
    assert_eq!(
        c.handle_input(start, 0, &wrong_dom, None).unwrap(),
        Disposition::Dropped(DropReason::WrongDomain { found: 3 })
    );
    let mut v1 = a.clone();
    v1[1] = 1;
    assert!(matches!(
        c.handle_input(start, 0, &v1, None).unwrap(),
        Disposition::Dropped(DropReason::Malformed(_))
    ));
    assert!(matches!(
        c.handle_input(start, 0, &a[..50], None).unwrap(),
        Disposition::Dropped(DropReason::Malformed(_))
    ));
    let mut ts = a.clone();
    ts[0] |= 0x10;
    assert_eq!(
        c.handle_input(start, 0, &ts, None).unwrap(),
        Disposition::Dropped(DropReason::WrongTransportSpecific { found: 1 })
    );
    let mut corr = a.clone();
    corr[8..16].copy_from_slice(&i64::MAX.to_be_bytes());
    assert_eq!(
        c.handle_input(start, 0, &corr, None).unwrap(),
        Disposition::Dropped(DropReason::AbsurdCorrection)
    );
    let mut own = a.clone();
    own[20..28].copy_from_slice(&ME.0);
    assert_eq!(
        c.handle_input(start, 0, &own, None).unwrap(),
        Disposition::Dropped(DropReason::FromSelf)
    );
    let mut steps = a.clone();
    steps[61..63].copy_from_slice(&255u16.to_be_bytes());
    assert_eq!(
        c.handle_input(start, 0, &steps, None).unwrap(),
        Disposition::Dropped(DropReason::StepsRemovedTooLarge)
    );
    let mut sh = Header::new(MessageType::Sync, 0, PEER, 1);
    sh.flags = flags::TWO_STEP;
    let sync = encode(
        sh,
        Body::Sync {
            origin_timestamp: Timestamp::default(),
        },
        &[],
    );
    assert_eq!(
        c.handle_input(start, 0, &sync, None).unwrap(),
        Disposition::Dropped(DropReason::MissingRxTimestamp)
    );
    assert_eq!(
        c.handle_input(start, 0, &sync, Some(Time::from_nanos(5)))
            .unwrap(),
        Disposition::Dropped(DropReason::UnexpectedInState {
            message: MessageType::Sync,
            state: PortState::Listening
        })
    );
    assert!(matches!(
        c.handle_input(start, 7, &sync, None),
        Err(Error::NoSuchPort(7))
    ));
    let dropped = c.counters(0).unwrap().dropped;
    assert_eq!(dropped, 9);
    let evs: Vec<_> = std::iter::from_fn(|| c.poll_event())
        .filter(|e| matches!(e, Event::Dropped { .. }))
        .collect();
    assert_eq!(evs.len(), 9);
    assert_eq!(c.port_state(0), Some(PortState::Listening));
}

/// One Announce does not qualify a foreign master; two do. Then Sync/Follow_Up matching by
/// sequenceId, Delay_Resp for someone else ignored, and the E2E arithmetic of spec section 5.
#[test]
fn slave_path_e2e_arithmetic() {
    let start = Instant::now();
    let mut c = new_clock(start);
    drain(&mut c, start);
    c.handle_input(start, 0, &announce(0, 100), None).unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Listening));
    let t = start + Duration::from_secs(2);
    c.handle_input(t, 0, &announce(1, 100), None).unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Uncalibrated));
    assert_eq!(c.parent_ds().parent_port_identity, PEER);
    let base = Time::from_nanos(1_000_000_000_000);
    // Sync seq 5: t1 = base, t2 = base + 150 ns (+ a 10 ns correction in Sync, 5 in Follow_Up).
    let mut sh = Header::new(MessageType::Sync, 0, PEER, 5);
    sh.flags = flags::TWO_STEP;
    sh.correction = TimeInterval::from_nanos(10);
    c.handle_input(
        t,
        0,
        &encode(
            sh,
            Body::Sync {
                origin_timestamp: Timestamp::default(),
            },
            &[],
        ),
        Some(base + Time::from_nanos(165)),
    )
    .unwrap();
    // Follow_Up with the wrong sequenceId is kept aside, not matched.
    let mut fh = Header::new(MessageType::FollowUp, 0, PEER, 4);
    fh.correction = TimeInterval::from_nanos(5);
    c.handle_input(
        t,
        0,
        &encode(
            fh,
            Body::FollowUp {
                precise_origin_timestamp: base.to_timestamp().unwrap(),
            },
            &[],
        ),
        None,
    )
    .unwrap();
    fh.sequence_id = 5;
    c.handle_input(
        t,
        0,
        &encode(
            fh,
            Body::FollowUp {
                precise_origin_timestamp: base.to_timestamp().unwrap(),
            },
            &[],
        ),
        None,
    )
    .unwrap();
    // Delay_Req goes out within 2 s (randomised in [0, 2^(0+1)] s).
    let deadline = c.poll_timeout().unwrap();
    assert!(deadline <= t + Duration::from_secs(2));
    c.handle_timeout(deadline);
    let out = drain(&mut c, deadline);
    let (dreq, dbytes) = out
        .iter()
        .find(|(tx, _)| tx.message_type == MessageType::DelayReq)
        .unwrap();
    assert!(dreq.event);
    let seq = Message::parse(dbytes).unwrap().header.sequence_id;
    // t3 = base + 1000 ns.
    c.handle_tx_timestamp(deadline, dreq.token.unwrap(), base + Time::from_nanos(1000));
    // A Delay_Resp for another port is ignored.
    let dh = Header::new(MessageType::DelayResp, 0, PEER, seq);
    let other = PortIdentity {
        clock_identity: ClockIdentity([9; 8]),
        port_number: 1,
    };
    let r = c
        .handle_input(
            deadline,
            0,
            &encode(
                dh,
                Body::DelayResp {
                    receive_timestamp: (base + Time::from_nanos(1150)).to_timestamp().unwrap(),
                    requesting_port_identity: other,
                },
                &[],
            ),
            None,
        )
        .unwrap();
    assert_eq!(r, Disposition::Dropped(DropReason::NoMatchingRequest));
    // t4 = base + 1150 ns -> delay ((165-15-0) + (1150-1000)) / 2 = 150 ns.
    let me = PortIdentity {
        clock_identity: ME,
        port_number: 1,
    };
    c.handle_input(
        deadline,
        0,
        &encode(
            dh,
            Body::DelayResp {
                receive_timestamp: (base + Time::from_nanos(1150)).to_timestamp().unwrap(),
                requesting_port_identity: me,
            },
            &[],
        ),
        None,
    )
    .unwrap();
    assert_eq!(c.current_ds().mean_path_delay, Time::from_nanos(150));
    let evs: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(evs.contains(&Event::PathDelay {
        port: 0,
        delay: Time::from_nanos(150)
    }));
    // Next Sync: t2 - t1 - c - delay = 165 - 15 - 150 = 0.
    sh.sequence_id = 6;
    c.handle_input(
        deadline,
        0,
        &encode(
            sh,
            Body::Sync {
                origin_timestamp: Timestamp::default(),
            },
            &[],
        ),
        Some(base + Time::from_nanos(1_000_000_165)),
    )
    .unwrap();
    fh.sequence_id = 6;
    c.handle_input(
        deadline,
        0,
        &encode(
            fh,
            Body::FollowUp {
                precise_origin_timestamp: (base + Time::from_nanos(1_000_000_000))
                    .to_timestamp()
                    .unwrap(),
            },
            &[],
        ),
        None,
    )
    .unwrap();
    assert_eq!(c.current_ds().offset_from_master, Time::ZERO);
    let m = c.monitor();
    assert_eq!(m.offset_ns, Some(0));
    assert_eq!(m.slave_port_delay_ns, Some(150));
    assert_eq!(m.gm_priority1, 100);
}

#[test]
fn master_two_step_and_buffer_too_small() {
    let start = Instant::now();
    let mut c = new_clock(start);
    // No foreign master: after announceReceiptTimeout (3 x 2 s) the port becomes MASTER.
    assert_eq!(c.poll_timeout(), Some(start + Duration::from_secs(6)));
    let t = start + Duration::from_secs(6);
    c.handle_timeout(t);
    assert_eq!(c.port_state(0), Some(PortState::Master));
    assert!(c.monitor().i_am_gm);
    let mut small = [0u8; 10];
    assert_eq!(
        c.poll_transmit(t, &mut small),
        Err(Error::BufferTooSmall { need: 64, have: 10 })
    );
    assert_eq!(small, [0u8; 10]);
    let out = drain(&mut c, t);
    let kinds: Vec<MessageType> = out.iter().map(|(tx, _)| tx.message_type).collect();
    assert_eq!(kinds, vec![MessageType::Announce, MessageType::Sync]);
    let (sync, sb) = &out[1];
    assert!(Message::parse(sb).unwrap().header.two_step());
    // Egress timestamp with a sub-nanosecond part: Follow_Up carries the ns and the fraction
    // in correctionField.
    let t1 = Time::from_scaled((1_700_000_000_123_456_789i128 << 16) + 0x4000);
    c.handle_tx_timestamp(t, sync.token.unwrap(), t1);
    let out = drain(&mut c, t);
    let fu = Message::parse(&out[0].1).unwrap();
    assert_eq!(fu.header.correction, TimeInterval(0x4000));
    assert_eq!(
        fu.header.sequence_id,
        Message::parse(sb).unwrap().header.sequence_id
    );
    let Body::FollowUp {
        precise_origin_timestamp,
    } = fu.body
    else {
        panic!()
    };
    assert_eq!(
        precise_origin_timestamp,
        Timestamp::new(1_700_000_000, 123_456_789).unwrap()
    );
    // A second report for the same token is ignored.
    c.handle_tx_timestamp(t, sync.token.unwrap(), t1);
    assert!(drain(&mut c, t).is_empty());
    // Sync every second, Announce every 2 s.
    c.handle_timeout(t + Duration::from_secs(1));
    let kinds: Vec<MessageType> = drain(&mut c, t)
        .iter()
        .map(|(tx, _)| tx.message_type)
        .collect();
    assert_eq!(kinds, vec![MessageType::Sync]);
}

proptest! {
    #[test]
    fn input_path_never_panics(msgs in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..120), any::<bool>(), 0u64..5000), 1..40)) {
        let start = Instant::now();
        let mut c = new_clock(start);
        let mut now = start;
        let mut buf = [0u8; 1500];
        for (mut bytes, ts, dt) in msgs {
            now += Duration::from_millis(dt);
            // Make some of them look like PTP from our domain so deeper paths run.
            if bytes.len() > 34 { bytes[1] = 2; bytes[4] = 0; }
            let _ = c.handle_input(now, 0, &bytes, ts.then(|| Time::from_nanos(now.duration_since(start).as_nanos() as i128)));
            if c.poll_timeout().is_some_and(|d| d <= now) { c.handle_timeout(now); }
            while let Ok(Some(tx)) = c.poll_transmit(now, &mut buf) {
                if let Some(tok) = tx.token { c.handle_tx_timestamp_missing(now, tok); }
            }
            while c.poll_event().is_some() {}
        }
    }
}
