#![no_main]
//! Reorder buffer: 3-byte records (16-bit sequence number, time step in ms) pushed into a
//! small buffer; checks the bound and that delivery never repeats or goes back.
use std::time::{Duration, Instant};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use l2tp::reorder::{ReorderBuffer, ReorderConfig, Verdict};
    let mut b = ReorderBuffer::new(
        ReorderConfig {
            capacity: 5,
            timeout: Duration::from_millis(30),
        },
        16,
    );
    let mut now = Instant::now();
    let mut last: Option<u32> = None;
    let mut check = |s: u32| {
        if let Some(l) = last {
            let d = s.wrapping_sub(l) & 0xffff;
            assert!(d != 0 && d <= 0x8000, "went back: {l} -> {s}");
        }
        last = Some(s);
    };
    for r in data.chunks_exact(3) {
        let seq = u32::from(u16::from_be_bytes([r[0], r[1]]));
        now += Duration::from_millis(u64::from(r[2] % 64));
        b.handle_timeout(now);
        while let Some(p) = b.pop() {
            check(u32::from(u16::from_be_bytes([p[0], p[1]])));
        }
        if b.push(now, seq, &r[..2]) == Verdict::Deliver {
            check(seq);
        }
        while let Some(p) = b.pop() {
            check(u32::from(u16::from_be_bytes([p[0], p[1]])));
        }
        assert!(b.held() <= 5);
    }
});
