//! ZeroTier fragment reassembly: arbitrary heads and fragments in any order, with time moving;
//! never panics, never holds more than its bound, and a completed packet is never longer than
//! the protocol limit.
#![no_main]

use std::time::{Duration, Instant};

use zerotier::fragment::{Offer, Reassembler};
use zerotier::wire::{Fragment, MAX_PACKET_LEN};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut r = Reassembler::new(4);
    let mut now = Instant::now();
    let mut rest = data;
    while rest.len() >= 3 {
        let kind = rest[0];
        let n = usize::from(rest[1]) * 8 % 1500;
        let n = n.min(rest.len() - 2);
        let (d, r2) = rest[2..].split_at(n);
        rest = r2;
        now += Duration::from_millis(u64::from(kind & 0x0f) * 100);
        r.expire(now);
        let o = if kind & 0x80 != 0 {
            // Head: packet ID from the first 8 bytes (or 0).
            let id = d
                .get(..8)
                .map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap()));
            r.offer_head(now, id & 0xff, d)
        } else {
            match Fragment::parse(d) {
                Ok(mut f) => {
                    f.packet_id &= 0xff;
                    r.offer_fragment(now, &f)
                }
                Err(_) => continue,
            }
        };
        if let Offer::Complete(p) = o {
            assert!(p.len() <= MAX_PACKET_LEN);
        }
        assert!(r.len() <= 4);
        assert!(r.bytes() <= 4 * MAX_PACKET_LEN * 2);
    }
});
