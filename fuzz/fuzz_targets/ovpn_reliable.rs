#![no_main]
//! Reliability layer input: arbitrary sequences of received message ids, acks, queued
//! messages and timer ticks.
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ovpn::reliable::{Reliable, ReliableConfig};
use ovpn::wire::Opcode;

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut r = Reliable::new(ReliableConfig::default());
    for c in data.chunks(5) {
        let id = u32::from_be_bytes([
            c.get(1).copied().unwrap_or(0),
            c.get(2).copied().unwrap_or(0),
            c.get(3).copied().unwrap_or(0),
            c.get(4).copied().unwrap_or(0),
        ]);
        match c[0] % 5 {
            0 => {
                let _ = r.receive(id, Opcode::ControlV1, c);
            }
            1 => r.on_acks(&[id]),
            2 => {
                if r.unacked() < 64 {
                    r.queue(Opcode::ControlV1, c.to_vec());
                }
            }
            3 => now += Duration::from_millis(u64::from(id % 20_000)),
            _ => {
                while r.poll_send(now).is_some() {}
                let _ = r.take_acks();
            }
        }
        while r.pop_ready().is_some() {}
        if let Some(t) = r.poll_timeout() {
            assert!(t >= t0);
        }
    }
});
