#![no_main]
//! L2TPv3 data packets and the unmanaged L2TP Ether decapsulation.
use l2tp::wire::v3::{parse_data_v3, Encap};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for e in [Encap::Ip, Encap::Udp] {
        for c in [0usize, 4, 8] {
            let _ = parse_data_v3(e, data, c, true);
            let _ = parse_data_v3(e, data, c, false);
        }
    }
    let cfg = l2tp::config::EtherConfig {
        unmanaged_mode: true,
        local_session_id: Some(1),
        remote_session_id: Some(2),
        peer_cookie: Some("01020304".into()),
        use_l2_specific_sublayer: true,
        ..Default::default()
    };
    if let Ok(s) = l2tp::ether::StaticEther::from_config(&cfg, "e") {
        let _ = s.decapsulate(data);
    }
});
