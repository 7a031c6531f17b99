//! Test fixture shared by the integration tests: clock construction (netsim's seeded TestRng), draining
//! a clock's transmit queue, encoding a message, and a direct two-clock wire in 1 ms steps.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    dead_code
)]

use std::time::{Duration, Instant};

use ptp::wire::{Announce, Body, Header, Message, MessageType, PortIdentity, Time, Timestamp};
use ptp::{Clock, Config, Event, Transmit};

/// A clock from `c` with RNG seed `seed`, started at `start`.
pub fn clock(c: &Config, start: Instant, seed: u64) -> Clock {
    Clock::new(c, Box::new(netsim::TestRng::new(seed)), start).unwrap()
}

/// Everything `c` wants to send at `now`, with the bytes.
pub fn drain(c: &mut Clock, now: Instant) -> Vec<(Transmit, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(t) = c.poll_transmit(now, &mut buf).unwrap() {
        out.push((t, buf[..t.len].to_vec()));
    }
    out
}

/// Encode a message.
pub fn encode(header: Header, body: Body, suffix: &[u8]) -> Vec<u8> {
    Message {
        header,
        body,
        suffix,
    }
    .to_vec()
    .unwrap()
}

/// An Announce from `from` (its own grandmaster, priority1 `p1`, announce interval 2 s).
pub fn announce_from(from: PortIdentity, seq: u16, p1: u8) -> Vec<u8> {
    let mut h = Header::new(MessageType::Announce, 0, from, seq);
    h.log_message_interval = 1;
    encode(
        h,
        Body::Announce(Announce {
            origin_timestamp: Timestamp::default(),
            current_utc_offset: 37,
            reserved: 0,
            grandmaster_priority1: p1,
            grandmaster_clock_quality: Default::default(),
            grandmaster_priority2: 128,
            grandmaster_identity: from.clock_identity,
            steps_removed: 0,
            time_source: 0xA0,
        }),
        &[],
    )
}

/// Two clocks wired back to back, driven in 1 ms steps of one shared PTP time base
/// (`base` + elapsed ms): every transmit timestamp is the current time, the master receives
/// the slave's messages `rx_delay` later. `to_slave(ms, transmit, bytes)` returns the slave's
/// receive timestamp for a master message and may alter the bytes; `on_slave_event(ms, event)`
/// sees every slave event.
pub fn run_direct(
    (master, slave): (&mut Clock, &mut Clock),
    start: Instant,
    base: Time,
    total_ms: u64,
    rx_delay: Time,
    mut to_slave: impl FnMut(u64, &Transmit, &mut Vec<u8>, &Clock) -> Time,
    mut on_slave_event: impl FnMut(u64, Event),
) {
    for ms in 0..total_ms {
        let now = start + Duration::from_millis(ms);
        let t = base + Time::from_nanos(i128::from(ms) * 1_000_000);
        if master.poll_timeout().is_some_and(|d| d <= now) {
            master.handle_timeout(now);
        }
        if slave.poll_timeout().is_some_and(|d| d <= now) {
            slave.handle_timeout(now);
        }
        let mut buf = [0u8; 1500];
        while let Some(tx) = master.poll_transmit(now, &mut buf).unwrap() {
            if let Some(tok) = tx.token {
                master.handle_tx_timestamp(now, tok, t);
            }
            let mut bytes = buf[..tx.len].to_vec();
            let rx = to_slave(ms, &tx, &mut bytes, slave);
            slave.handle_input(now, 0, &bytes, Some(rx)).unwrap();
        }
        while let Some(tx) = slave.poll_transmit(now, &mut buf).unwrap() {
            if let Some(tok) = tx.token {
                slave.handle_tx_timestamp(now, tok, t);
            }
            master
                .handle_input(now, 0, &buf[..tx.len], Some(t + rx_delay))
                .unwrap();
        }
        while let Some(e) = slave.poll_event() {
            on_slave_event(ms, e);
        }
        while master.poll_event().is_some() {}
    }
}
