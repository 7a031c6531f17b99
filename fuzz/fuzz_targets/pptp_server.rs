#![no_main]
//! The PAC (RouterOS pptp-server) on hostile input: a control connection is established and a
//! call placed with valid messages, then the input is a script of operations: arbitrary
//! control-stream bytes, arbitrary GRE packets (some with the live call ID patched in, from
//! the right or a wrong peer), and time steps. Nothing panics and state stays bounded.
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use pptp::wire::control::{OutgoingCallRequest, StartControl};
use pptp::wire::{FixedStr, Message};
use pptp::{Server, ServerConfig};
use rand_core::{CryptoRng, RngCore};

struct Rng(u64);
impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for b in d {
            *b = self.next_u64() as u8;
        }
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(d);
        Ok(())
    }
}
impl CryptoRng for Rng {}

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = Server::new(ServerConfig::enabled(), now, Rng(1)).unwrap();
    let conn = s.accept(now, PEER).unwrap();
    let sccrq = Message::StartControlConnectionRequest(StartControl {
        protocol_version: 0x0100,
        host_name: FixedStr::new("fuzz"),
        ..Default::default()
    });
    let ocrq = Message::OutgoingCallRequest(OutgoingCallRequest {
        call_id: 7,
        recv_window: 4,
        ..Default::default()
    });
    let mut hello = sccrq.to_vec();
    ocrq.emit(&mut hello);
    let _ = s.handle_stream(now, conn, &hello);
    let mut rest = data;
    while let Some((&op, r)) = rest.split_first() {
        let len = usize::from(r.first().copied().unwrap_or(0));
        let body = r.get(1..).unwrap_or_default();
        let body = &body[..len.min(body.len())];
        rest = &r[(1 + body.len()).min(r.len())..];
        match op % 4 {
            0 => {
                let _ = s.handle_stream(now, conn, body);
            }
            1 | 2 => {
                let mut p = body.to_vec();
                if op & 0x10 != 0 && p.len() >= 8 {
                    if let Some(k) = s.call_keys().next() {
                        p[6..8].copy_from_slice(&k.call_id.to_be_bytes());
                    }
                }
                let from = if op % 4 == 1 {
                    PEER
                } else {
                    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))
                };
                let _ = s.handle_datagram(now, from, &mut p);
            }
            _ => {
                now += Duration::from_millis(u64::from(op) * 50);
                s.handle_timeout(now);
            }
        }
        while s.poll_transmit(now).is_some() {}
        while s.poll_event().is_some() {}
        assert!(s.connections() <= 1);
    }
});
