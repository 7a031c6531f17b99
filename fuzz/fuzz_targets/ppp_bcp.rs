#![no_main]
//! BCP (RFC 3518): the bridged-frame decoder (flags, LAN-ID, LAN FCS, pads) and the BCP option
//! decoder on arbitrary bytes. Neither may panic; whatever decodes must re-encode to the same
//! octets (pad octets are re-emitted as zeros), and undoing Tinygram Compression must give a
//! frame of at least the 802.3 minimum.
use libfuzzer_sys::fuzz_target;
use ppp::bcp::{BcpOption, BridgedFrame, MIN_ETHERNET_FRAME};
use ppp::wire::cp::options;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = BridgedFrame::parse(data) {
        let mut out = Vec::new();
        f.emit(&mut out);
        assert_eq!(out.len(), f.buffer_len());
        let n = data.len() - usize::from(f.pads);
        assert_eq!(&out[..n], &data[..n]);
        assert_eq!(BridgedFrame::parse(&out).expect("re-parse"), f);
        let mut e = Vec::new();
        f.to_ethernet(&mut e);
        if f.zero_pad {
            assert!(e.len() >= MIN_ETHERNET_FRAME);
        }
    }
    for raw in options(data).flatten() {
        if let Ok(o) = BcpOption::parse(&raw) {
            let mut a = Vec::new();
            o.emit(&mut a);
            let mut b = Vec::new();
            raw.emit(&mut b);
            assert_eq!(a, b);
        }
    }
});
