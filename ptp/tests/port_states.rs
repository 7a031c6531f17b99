//! FAULTY and DISABLED ports, the foreign master window and a full foreign master table under
//! an Announce flood, one-step Sync and Pdelay_Resp from other clocks, and what the servo is
//! fed when it steers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::{announce_from, drain, encode, run_direct};

use std::time::{Duration, Instant};

use ptp::wire::{
    flags, Body, ClockIdentity, Header, MessageType, PortIdentity, Time, TimeInterval, Timestamp,
};
use ptp::{Clock, Config, DelayMechanism, Disposition, DropReason, Event, PortConfig, PortState};
use rand_core::RngCore;

const ME: ClockIdentity = ClockIdentity([0x02, 0, 0, 0xFF, 0xFE, 0, 0, 0x10]);

fn peer(n: u8) -> PortIdentity {
    PortIdentity {
        clock_identity: ClockIdentity([0x02, 0, 0, 0xFF, 0xFE, 0, 0, n]),
        port_number: 1,
    }
}

fn cfg(ports: usize) -> Config {
    Config {
        clock_identity: ME,
        ports: (1..=ports)
            .map(|i| PortConfig::new(format!("ether{i}")))
            .collect(),
        ..Config::default()
    }
}

fn states(c: &mut Clock) -> Vec<(usize, PortState, PortState)> {
    std::iter::from_fn(|| c.poll_event())
        .filter_map(|e| match e {
            Event::PortStateChanged { port, from, to } => Some((port, from, to)),
            _ => None,
        })
        .collect()
}

/// Advance `c` to `until`, firing every deadline on the way; returns what it sent.
fn run(c: &mut Clock, from: Instant, until: Instant) -> Vec<MessageType> {
    let mut sent = Vec::new();
    let mut now = from;
    while let Some(t) = c.poll_timeout().filter(|t| *t <= until) {
        now = now.max(t);
        c.handle_timeout(now);
        sent.extend(drain(c, now).into_iter().map(|(tx, _)| tx.message_type));
    }
    sent
}

#[test]
fn faulty_port_is_silent_and_reinitializes_after_the_fault_reset_interval() {
    let t0 = Instant::now();
    let mut c = common::clock(&cfg(1), t0, 1);
    // alone on the link: MASTER after announceReceiptTimeout (3 x 2 s)
    let sent = run(&mut c, t0, t0 + Duration::from_secs(7));
    assert_eq!(c.port_state(0), Some(PortState::Master));
    assert!(sent.contains(&MessageType::Announce) && sent.contains(&MessageType::Sync));
    states(&mut c);
    let tf = t0 + Duration::from_secs(7);
    c.report_port_fault(tf, 0).unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Faulty));
    assert_eq!(states(&mut c), [(0, PortState::Master, PortState::Faulty)]);
    assert_eq!(c.port_ds(0).unwrap().port_state.code(), 2);
    // nothing goes out, nothing comes in; the only deadline is the fault reset (16 s)
    assert_eq!(c.poll_timeout(), Some(tf + Duration::from_secs(16)));
    assert_eq!(
        c.handle_input(tf, 0, &announce_from(peer(1), 0, 10), None),
        Ok(Disposition::Dropped(DropReason::PortNotOperational))
    );
    assert!(run(&mut c, tf, tf + Duration::from_secs(15)).is_empty());
    assert_eq!(c.port_state(0), Some(PortState::Faulty));
    // FAULT_CLEARED by the timer: INITIALIZING, LISTENING, and MASTER again 6 s later
    run(&mut c, tf, tf + Duration::from_secs(16));
    assert_eq!(
        states(&mut c),
        [
            (0, PortState::Faulty, PortState::Initializing),
            (0, PortState::Initializing, PortState::Listening)
        ]
    );
    let sent = run(
        &mut c,
        tf + Duration::from_secs(16),
        tf + Duration::from_secs(23),
    );
    assert_eq!(c.port_state(0), Some(PortState::Master));
    assert!(sent.contains(&MessageType::Sync));
    // without a reset interval it stays FAULTY until cleared by the caller
    let mut k = cfg(1);
    k.fault_reset_interval = None;
    let mut c = common::clock(&k, t0, 2);
    c.report_port_fault(t0, 0).unwrap();
    assert_eq!(c.poll_timeout(), None);
    c.clear_port_fault(t0 + Duration::from_secs(1), 0).unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Listening));
    assert!(c.report_port_fault(t0, 5).is_err());
}

#[test]
fn disabled_port_from_config_and_at_run_time() {
    let t0 = Instant::now();
    let mut k = cfg(1);
    k.ports[0].disabled = true;
    let mut c = common::clock(&k, t0, 3);
    assert_eq!(c.port_state(0), Some(PortState::Disabled));
    assert_eq!(c.poll_timeout(), None, "a disabled port has no timers");
    assert_eq!(
        c.handle_input(t0, 0, &announce_from(peer(1), 0, 10), None),
        Ok(Disposition::Dropped(DropReason::PortNotOperational))
    );
    assert!(drain(&mut c, t0).is_empty());
    c.set_port_enabled(t0, 0, true).unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Listening));
    // a master appears; disabling the port forgets it (and the parent)
    let t = t0 + Duration::from_secs(1);
    c.handle_input(t, 0, &announce_from(peer(1), 0, 10), None)
        .unwrap();
    c.handle_input(
        t + Duration::from_secs(2),
        0,
        &announce_from(peer(1), 1, 10),
        None,
    )
    .unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Uncalibrated));
    assert_eq!(c.parent_ds().parent_port_identity, peer(1));
    c.set_port_enabled(t + Duration::from_secs(3), 0, false)
        .unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Disabled));
    assert_eq!(c.foreign_master_count(0), Some(0));
    assert!(
        c.monitor().i_am_gm,
        "no working port: the local clock is its own grandmaster"
    );
}

/// A boundary clock: disabling the slave port lets the BMCA decide without it, so the other
/// port (which served the grandmaster's time onwards) becomes the grandmaster's own master port.
#[test]
fn disabling_the_slave_port_of_a_boundary_clock() {
    let t0 = Instant::now();
    let mut c = common::clock(&cfg(2), t0, 4);
    c.handle_input(t0, 0, &announce_from(peer(1), 0, 10), None)
        .unwrap();
    let t = t0 + Duration::from_secs(2);
    c.handle_input(t, 0, &announce_from(peer(1), 1, 10), None)
        .unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Uncalibrated));
    // port 2 hears nobody: after its announce receipt timeout it serves the grandmaster's
    // time (PRE_MASTER, then MASTER after the qualification timeout)
    for at in [4u64, 6, 8, 10, 12] {
        let now = t0 + Duration::from_secs(at);
        c.handle_input(now, 0, &announce_from(peer(1), at as u16, 10), None)
            .unwrap();
        run(&mut c, now, now + Duration::from_secs(2));
    }
    assert_eq!(c.port_state(1), Some(PortState::Master));
    assert!(!c.monitor().i_am_gm);
    states(&mut c);
    let t = t0 + Duration::from_secs(14);
    c.set_port_enabled(t, 0, false).unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Disabled));
    assert_eq!(c.port_state(1), Some(PortState::Master));
    assert!(c.monitor().i_am_gm);
    assert_eq!(c.port_status()[0].state, PortState::Disabled);
}

/// FOREIGN_MASTER_TIME_WINDOW (4 announce intervals, 8 s here) [9.3.2.4.4]: two Announces
/// qualify a foreign master only within the window; a record whose Announces all left the
/// window is removed.
#[test]
fn foreign_master_window_expiry() {
    let t0 = Instant::now();
    let mut c = common::clock(&cfg(1), t0, 5);
    let s = |n: u64| t0 + Duration::from_secs(n);
    let (m1, m2, m3) = (peer(1), peer(2), peer(3));
    // m1 (priority1 100) every 2 s keeps the port listening, then selected
    let mut seq = 0;
    let mut tick = |c: &mut Clock, at: u64| {
        c.handle_input(s(at), 0, &announce_from(m1, seq, 100), None)
            .unwrap();
        seq += 1;
    };
    tick(&mut c, 0);
    // m2 (better, priority1 50) once at 0 s, m3 once at 1 s
    c.handle_input(s(0), 0, &announce_from(m2, 0, 50), None)
        .unwrap();
    c.handle_input(s(1), 0, &announce_from(m3, 0, 60), None)
        .unwrap();
    assert_eq!(c.foreign_master_count(0), Some(3));
    for at in [2, 4, 6, 8] {
        tick(&mut c, at);
    }
    assert_eq!(c.parent_ds().parent_port_identity, m1);
    // at 9 s m2's Announce of 0 s is out of the window (9 - 0 > 8) and the record is gone
    // with m3's still inside (9 - 1 = 8)
    c.handle_input(s(9), 0, &announce_from(m2, 1, 50), None)
        .unwrap();
    assert_eq!(
        c.parent_ds().parent_port_identity,
        m1,
        "one Announce in the window"
    );
    assert_eq!(
        c.foreign_master_count(0),
        Some(3),
        "m1, m3, m2 (new record)"
    );
    tick(&mut c, 10);
    assert_eq!(
        c.foreign_master_count(0),
        Some(2),
        "m3's only Announce left the window"
    );
    // a second Announce of m2 within 8 s of the one at 9 s: qualified, and better than m1
    c.handle_input(s(16), 0, &announce_from(m2, 2, 50), None)
        .unwrap();
    assert_eq!(c.parent_ds().parent_port_identity, m2);
}

/// Issue 20: an Announce flood from random clock identities fills the 8-record table; a
/// genuine, better master that starts announcing during the flood still displaces a record,
/// qualifies with its second Announce and becomes the parent, and the table never grows.
/// (A flood whose Announces are better than the genuine master's can keep it from
/// qualifying; such a sender could as well qualify itself: PTP has no authentication.)
#[test]
fn better_master_wins_during_an_announce_flood_of_random_identities() {
    let t0 = Instant::now();
    let mut c = common::clock(&cfg(1), t0, 6);
    let mut rng = netsim::TestRng::new(20);
    let genuine = peer(0x77);
    let mut full_drops = 0;
    let mut seq = 0u16;
    // 10 s: a random identity every 10 ms (random priority1 21..=255: worse than the genuine
    // master), the genuine master (priority1 20) every 2 s from 1 s on
    for ms in 0..10_000u64 {
        let now = t0 + Duration::from_millis(ms);
        let mut id = [0u8; 8];
        rng.fill_bytes(&mut id);
        let from = PortIdentity {
            clock_identity: ClockIdentity(id),
            port_number: 1,
        };
        if ms % 10 == 0 {
            let p1 = 21 + (rng.next_u32() % 235) as u8;
            match c.handle_input(now, 0, &announce_from(from, 0, p1), None) {
                Ok(Disposition::Dropped(DropReason::ForeignTableFull)) => full_drops += 1,
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
        if ms >= 1000 && ms % 2000 == 1000 {
            let d = c
                .handle_input(now, 0, &announce_from(genuine, seq, 20), None)
                .unwrap();
            assert_eq!(
                d,
                Disposition::Accepted,
                "the genuine master's Announce at {ms} ms"
            );
            seq += 1;
        }
        if c.poll_timeout().is_some_and(|t| t <= now) {
            c.handle_timeout(now);
        }
        assert!(c.foreign_master_count(0).unwrap() <= 8);
    }
    assert!(full_drops > 100, "the table was full: {full_drops} refused");
    assert_eq!(c.parent_ds().parent_port_identity, genuine);
    assert_eq!(c.parent_ds().grandmaster_priority1, 20);
    assert!(c.port_state(0).unwrap() == PortState::Uncalibrated);
}

/// One-step clocks: a Pdelay_Resp without Follow_Up carries the responder's turnaround in its
/// correctionField [11.4.3 a)], and a one-step Sync carries t1 in originTimestamp [11.3.2].
#[test]
fn one_step_pdelay_resp_and_sync_are_accepted() {
    let t0 = Instant::now();
    let mut k = cfg(1);
    k.delay_mode = Some(DelayMechanism::P2p);
    k.servo.free_running = true;
    let mut c = common::clock(&k, t0, 7);
    let base = Time::from_nanos(1_700_000_000_000_000_000);
    // our Pdelay_Req at t1 = base
    c.handle_timeout(t0);
    let out = drain(&mut c, t0);
    let (req, bytes) = out
        .iter()
        .find(|(tx, _)| tx.message_type == MessageType::PdelayReq)
        .unwrap();
    c.handle_tx_timestamp(t0, req.token.unwrap(), base);
    let seq = ptp::wire::Message::parse(bytes).unwrap().header.sequence_id;
    // a one-step responder: twoStep clear, turnaround 300 ns in the correction, t4 = +1300 ns
    let mut h = Header::new(MessageType::PdelayResp, 0, peer(1), seq);
    h.correction = TimeInterval::from_nanos(300);
    assert!(!h.two_step());
    let me = c.port_ds(0).unwrap().port_identity;
    let resp = encode(
        h,
        Body::PdelayResp {
            request_receipt_timestamp: Timestamp::default(),
            requesting_port_identity: me,
        },
        &[],
    );
    c.handle_input(t0, 0, &resp, Some(base + Time::from_nanos(1300)))
        .unwrap();
    let delays: Vec<Time> = std::iter::from_fn(|| c.poll_event())
        .filter_map(|e| match e {
            Event::PathDelay { delay, .. } => Some(delay),
            _ => None,
        })
        .collect();
    assert_eq!(
        delays,
        [Time::from_nanos(500)],
        "((t4 - t1) - turnaround) / 2"
    );
    assert_eq!(
        c.port_ds(0).unwrap().peer_mean_path_delay,
        Time::from_nanos(500)
    );
    // the master (qualified by two Announces), then a one-step Sync: no Follow_Up needed
    let t = t0 + Duration::from_secs(2);
    c.handle_input(t0, 0, &announce_from(peer(1), 0, 10), None)
        .unwrap();
    c.handle_input(t, 0, &announce_from(peer(1), 1, 10), None)
        .unwrap();
    assert_eq!(c.port_state(0), Some(PortState::Uncalibrated));
    let t1 = base + Time::from_nanos(2_000_000_000);
    let mut sh = Header::new(MessageType::Sync, 0, peer(1), 9);
    sh.correction = TimeInterval::from_nanos(20);
    sh.flags &= !flags::TWO_STEP;
    let sync = encode(
        sh,
        Body::Sync {
            origin_timestamp: t1.to_timestamp().unwrap(),
        },
        &[],
    );
    // t2 = t1 + 500 (link) + 20 (correction) + 1000 (our offset)
    while c.poll_event().is_some() {}
    c.handle_input(t, 0, &sync, Some(t1 + Time::from_nanos(1520)))
        .unwrap();
    let raw: Vec<Time> = std::iter::from_fn(|| c.poll_event())
        .filter_map(|e| match e {
            Event::Offset { raw_offset, .. } => Some(raw_offset),
            _ => None,
        })
        .collect();
    assert_eq!(raw, [Time::from_nanos(1000)]);
}

/// When the servo steers, it is fed the single Sync's offset (as linuxptp's PI servo is: a
/// line fitted through samples taken while the clock is being steered lags the servo), and
/// `Event::Offset::offset`, "what the servo used", equals `raw_offset` for every sample. In
/// free-running mode the same link gives fitted offsets that differ from the raw ones.
#[test]
fn the_steering_servo_is_fed_the_single_sample_offset() {
    let run_one = |free_running: bool| {
        let start = Instant::now();
        let mut s = cfg(1);
        s.clock_identity = ClockIdentity([0x02, 0, 0, 0xFF, 0xFE, 0, 0, 2]);
        s.priority1 = Some(200);
        s.servo.free_running = free_running;
        assert!(s.servo.fitted_offset, "the default asks for the fit");
        let mut slave = common::clock(&s, start, 2);
        let mut m = cfg(1);
        m.clock_identity = ClockIdentity([0x02, 0, 0, 0xFF, 0xFE, 0, 0, 1]);
        m.priority1 = Some(100);
        let mut master = common::clock(&m, start, 1);
        let base = Time::from_nanos(1_700_000_000_000_000_000);
        let mut samples = Vec::new();
        let mut syncs = 0usize;
        run_direct(
            (&mut master, &mut slave),
            start,
            base,
            40_000,
            Time::from_nanos(2500),
            |ms, tx, _, _| {
                // timestamp noise on the Syncs, so a fit and a single sample differ
                let mut noise = 0;
                if tx.message_type == MessageType::Sync {
                    syncs += 1;
                    noise = [300, -200, 100, -300, 0][syncs % 5];
                }
                base + Time::from_nanos(i128::from(ms) * 1_000_000 + 2500 + noise)
            },
            |_, e| {
                if let Event::Offset {
                    offset, raw_offset, ..
                } = e
                {
                    samples.push((offset, raw_offset));
                }
            },
        );
        samples
    };
    let steering = run_one(false);
    assert!(steering.len() > 20, "{}", steering.len());
    assert!(steering.iter().all(|(o, r)| o == r), "{steering:?}");
    let free = run_one(true);
    assert!(free.len() > 20);
    assert!(
        free.iter().filter(|(o, r)| o != r).count() > 10,
        "free-running reports the fit: {free:?}"
    );
}
