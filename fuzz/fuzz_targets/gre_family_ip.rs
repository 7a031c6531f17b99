//! IPv4/IPv6 header decoders, the demultiplexing peek and TCP MSS clamping: never panic; accepted headers re-emit
//! byte-exact.
#![no_main]
use gre_family::wire::demux::DemuxKey;
use gre_family::wire::ip::{Ipv4Repr, Ipv6Repr};
use gre_family::wire::tcp::clamp_mss;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((r, range)) = Ipv4Repr::parse(data) {
        let mut out = vec![0u8; range.start];
        r.emit(&mut out).expect("header_len bytes");
        // 0xffff and 0x0000 are both a valid checksum of a header whose other words sum to
        // 0xffff (one's-complement zero); emit writes the canonical 0x0000
        if data[10..12] == [0xff, 0xff] && out[10..12] == [0, 0] {
            out[10..12].copy_from_slice(&[0xff, 0xff]);
        }
        assert_eq!(&out[..], &data[..range.start]);
    }
    if let Ok((r, _)) = Ipv6Repr::parse(data) {
        let mut out = [0u8; 40];
        r.emit(&mut out).expect("40 bytes");
        assert_eq!(&out[..], &data[..40]);
    }
    let _ = DemuxKey::of_packet(data);
    let mut d = data.to_vec();
    let _ = clamp_mss(&mut d, 1400);
});
