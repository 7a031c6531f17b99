#![no_main]
//! LNS input path: datagrams (1-byte length prefix, 1-byte peer key whose top bit selects
//! L2TPv3-over-IP input instead of UDP) into the server object.
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let cfg = l2tp::config::ServerConfig {
        ppp: ppp::ServerSettings {
            max_sessions: Some(4),
            one_session_per_host: true,
            ..ppp::ServerSettings::l2tp()
        },
        max_tunnels: 8,
        ..Default::default()
    };
    let Ok(mut s) = l2tp::server::Lns::<u8>::with_seed(
        cfg,
        l2tp::TunnelConfig::default(),
        Box::new(|_, k| (*k == 1).then(|| b"x".to_vec())),
        [3; 32],
    ) else {
        return;
    };
    let mut rest = data;
    let mut at = now;
    while rest.len() >= 2 {
        let n = (rest[0] as usize).min(rest.len() - 2);
        let key = rest[1] % 4;
        let ip = rest[1] & 0x80 != 0;
        let d = &rest[2..2 + n];
        rest = &rest[2 + n..];
        let peer = l2tp::server::Peer {
            key,
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, key)),
            via_ipsec: key & 1 == 0,
        };
        if ip {
            let _ = s.handle_input_ip(at, &peer, d);
        } else {
            let _ = s.handle_input(at, &peer, d);
        }
        while s.poll_transmit(at).is_some() {}
        while s.poll_event().is_some() {}
        while s.poll_v3_event().is_some() {}
        at += Duration::from_millis(500);
        if s.poll_timeout().is_some_and(|x| x <= at) {
            s.handle_timeout(at);
        }
    }
});
