//! ESP and AH decapsulation: arbitrary packets against SAs of several transforms (with and
//! without ESN); never panics, every input is a typed drop or a payload inside the buffer.
#![no_main]

use fuzz::TestRng;
use ipsec_ike::ah::AhSa;
use ipsec_ike::crypto::{Encr, Integ};
use ipsec_ike::esp::{EspParams, EspSa};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut rng = TestRng(1);
    for (encr, integ, esn) in [
        (Encr::AesGcm(16, 16), None, false),
        (Encr::AesCbc(16), Some(Integ::HmacSha1_96), true),
        (Encr::Null, Some(Integ::HmacSha256_128), false),
        (Encr::TripleDes, Some(Integ::AesXcbc96), false),
    ] {
        let p = EspParams {
            spi: 1,
            encr,
            enc_key: vec![7; encr.key_len()],
            integ,
            integ_key: vec![9; integ.map_or(0, Integ::key_len)],
            esn,
            replay_window: 64,
        };
        let mut sa = EspSa::new(&p, &mut rng).unwrap();
        let mut buf = data.to_vec();
        if let Ok(d) = sa.decapsulate_in_place(&mut buf) {
            assert!(d.payload.end <= buf.len());
        }
        // A valid packet of this SA with the fuzz bytes as payload must open again.
        let mut tx = EspSa::new(&p, &mut rng).unwrap();
        let mut out = vec![0u8; tx.encapsulated_len(data.len())];
        tx.encapsulate(17, data, &mut out).unwrap();
        let d = sa.decapsulate_in_place(&mut out).unwrap();
        assert_eq!(&out[d.payload], data);
    }
    let mut ah = AhSa::new(1, Integ::HmacSha256_128, &[3; 32], false, 64, &mut rng).unwrap();
    let mut buf = data.to_vec();
    let _ = ah.decapsulate_in_place(&mut buf);
});
