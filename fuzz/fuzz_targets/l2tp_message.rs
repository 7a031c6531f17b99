#![no_main]
//! Control messages (v2 and v3 over IP/UDP), required-AVP checks and byte-exact re-encode.
use l2tp::wire::v3::{verify, ControlMessageV3, DigestHash, Encap};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = l2tp::wire::ControlMessage::parse(data) {
        let _ = m.check_required_v2();
        let _ = m.unknown_mandatory();
        let _ = m.summary();
        let b = m.to_vec().expect("emit");
        assert_eq!(l2tp::wire::ControlMessage::parse(&b).expect("reparse"), m);
    }
    for e in [Encap::Ip, Encap::Udp] {
        if let Ok(m) = ControlMessageV3::parse(e, data) {
            let b = m.to_vec(e).expect("emit");
            assert_eq!(ControlMessageV3::parse(e, &b).expect("reparse"), m);
        }
        let _ = verify(data, e, DigestHash::Md5, b"k");
        let _ = verify(data, e, DigestHash::Sha1, b"k");
    }
});
