//! The L2TP/IPsec driver of the examples (`examples/src/l2tp_ipsec.rs`, compiled in directly
//! like `examples_rsc`) as an LNS-side responder: any sequence of datagrams from any sources on
//! UDP 500 and 4500, with time passing between them, never panics, and what a stranger makes it
//! hold stays bounded (no SA without the pre-shared key, peers within the driver's cap).
//!
//! Input: records of `[selector][length][bytes]`; the selector picks the local port (500 or
//! 4500), the source address and port, and how far the clock moves before the next record.
#![no_main]

#[allow(dead_code, missing_docs, unused_imports)]
#[path = "../../examples/src/l2tp_ipsec.rs"]
mod l2tp_ipsec;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let mut s = l2tp_ipsec::L2tpIpsec::server(
        l2tp_ipsec::Config::new(b"fuzz-secret", Ipv4Addr::new(10, 0, 0, 1)),
        netsim::TestRng::boxed(7),
    );
    let mut now = start;
    let mut i = 0;
    while i + 2 <= data.len() {
        let sel = data[i];
        let len = usize::from(data[i + 1]);
        i += 2;
        let end = (i + len).min(data.len());
        let d = &data[i..end];
        i = end;
        let port = if sel & 1 == 0 { 500 } else { 4500 };
        let from = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, (sel >> 1) & 0x0f)),
            if sel & 0x80 != 0 { 4500 } else { 500 },
        );
        let _ = s.handle_datagram(now, port, from, d);
        while s.poll_transmit(now).is_some() {}
        while s.poll_event().is_some() {}
        now += Duration::from_millis(u64::from(sel & 0x70) * 50);
        if s.poll_timeout().is_some_and(|t| t <= now) {
            s.handle_timeout(now);
        }
    }
    // Random bytes cannot complete main mode with the pre-shared key.
    assert_eq!(s.sa_count(), 0);
});
