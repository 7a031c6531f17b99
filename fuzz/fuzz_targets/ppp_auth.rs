#![no_main]
//! PAP / CHAP / EAP decoders and the MS-CHAP Success/Failure message parsers.
use ppp::wire::auth::{Chap, Eap, Pap};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Pap::parse(data) {
        let mut o = Vec::new();
        p.emit(&mut o);
        assert_eq!(Pap::parse(&o).expect("reparse"), p);
    }
    if let Ok(c) = Chap::parse(data) {
        let mut o = Vec::new();
        c.emit(&mut o);
        assert_eq!(Chap::parse(&o).expect("reparse"), c);
    }
    if let Ok(e) = Eap::parse(data) {
        let mut o = Vec::new();
        e.emit(&mut o);
        assert_eq!(Eap::parse(&o).expect("reparse"), e);
    }
    let _ = ppp::mschap::parse_failure(data);
    let _ = ppp::mschap::parse_success(data);
});
