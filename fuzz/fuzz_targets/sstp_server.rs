#![no_main]
//! The server's input path: a valid HTTP request, then arbitrary plaintext chunks (1-byte
//! length prefix, 1-byte time step in 100 ms units) into a server connection without TLS
//! (`sstp::tls::Passthrough`), with timers; two connections interleaved.
use std::time::Duration;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = fuzz::base_instant();
    let mut cfg = sstp::ServerConfig::enabled();
    cfg.accept_zero_hlak = data.first().is_some_and(|b| b & 1 == 1);
    let mut rng = fuzz::TestRng::new(1);
    let Ok(mut s) = sstp::Server::<sstp::tls::Passthrough>::new(cfg, now, &mut rng) else {
        return;
    };
    let mut aaa = ppp::aaa::Aaa::new();
    aaa.secrets.push(ppp::aaa::Secret::new("u", "p"));
    s.host_mut().set_store(Box::new(aaa));
    let peer: std::net::SocketAddr = "192.0.2.1:1".parse().expect("addr");
    let conns: Vec<_> = (0..2)
        .filter_map(|_| {
            s.accept(
                now,
                peer,
                sstp::tls::Passthrough::new(Some(b"cert".to_vec())),
            )
            .ok()
        })
        .collect();
    let req = sstp::http::client_request("h", &sstp::http::Guid([1; 16]));
    for c in &conns {
        let _ = s.handle_stream(now, *c, &req);
    }
    let mut at = now;
    let mut rest = data;
    while rest.len() >= 2 {
        let n = (rest[0] as usize).min(rest.len() - 2);
        at += Duration::from_millis(100 * u64::from(rest[1] & 0x7f));
        let c = conns[usize::from(rest[1] >> 7) % conns.len().max(1)];
        let d = &rest[2..2 + n];
        rest = &rest[2 + n..];
        let _ = s.handle_stream(at, c, d);
        if s.poll_timeout().is_some_and(|t| t <= at) {
            s.handle_timeout(at);
        }
        while s.poll_transmit(at).is_some() {}
        while s.poll_event().is_some() {}
        while s.poll_datagram().is_some() {}
    }
    s.handle_timeout(at + Duration::from_secs(600));
    while s.poll_transmit(at).is_some() {}
    while s.poll_event().is_some() {}
    assert!(s.half_open() <= 2);
});
