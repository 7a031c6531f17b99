//! TUN offload of the examples (`examples/src/tun_offload.rs`, compiled in directly so the fuzz
//! build does not pull the whole examples package): a virtio-net header plus packet as read
//! from a TUN device never makes the segmenter panic, the segments it produces are never longer
//! than asked, and coalescing them (or any other bytes) never panics either.
#![no_main]

#[allow(dead_code, missing_docs)]
#[path = "../../examples/src/tun_offload.rs"]
mod tun_offload;

use tun_offload::{Coalescer, Push, Segmenter, VnetHdr, VNET_HDR_LEN};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(h) = VnetHdr::parse(data) else {
        return;
    };
    let pkt = &data[VNET_HDR_LEN..];
    let Ok(mut seg) = Segmenter::new(&h, pkt) else {
        return;
    };
    let mut out = vec![0u8; 2048];
    let mut co = Coalescer::new();
    let mut n = 0;
    while let Ok(Some(len)) = seg.next_into(&mut out) {
        assert!(len <= out.len());
        n += 1;
        assert!(n <= seg.count());
        if co.try_push(&out[..len]) == Push::FlushFirst {
            co.finish();
            co.try_push(&out[..len]);
        }
    }
    if let Some(b) = co.finish() {
        assert!(b.len() >= VNET_HDR_LEN);
    }
});
