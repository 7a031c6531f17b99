#![no_main]
//! LCP / IPCP / IPv6CP packet and option decoders; well-formed options re-encode byte-exact.
use ppp::wire::cp::{options, CpPacket, IpcpOption, Ipv6cpOption, LcpOption};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(p) = CpPacket::parse(data) else { return };
    assert_eq!(p.to_vec(), data[..p.buffer_len()]);
    if !(1..=4).contains(&p.code) {
        return;
    }
    if options(p.data).any(|o| o.is_err()) {
        return;
    }
    let (mut l, mut i, mut v) = (Vec::new(), Vec::new(), Vec::new());
    let mut all = (true, true, true);
    for o in options(p.data).flatten() {
        match LcpOption::parse(&o) {
            Ok(x) => x.emit(&mut l),
            Err(_) => all.0 = false,
        }
        match IpcpOption::parse(&o) {
            Ok(x) => x.emit(&mut i),
            Err(_) => all.1 = false,
        }
        match Ipv6cpOption::parse(&o) {
            Ok(x) => x.emit(&mut v),
            Err(_) => all.2 = false,
        }
    }
    if all.0 {
        assert_eq!(l, p.data);
    }
    if all.1 {
        assert_eq!(i, p.data);
    }
    if all.2 {
        assert_eq!(v, p.data);
    }
});
