#![no_main]
//! A server session (tls-auth off, a do-nothing TLS engine) fed arbitrary packets and timer
//! ticks, then a multi-client `Server` with the stateless (HMAC-cookie) handshake fed the
//! same packets from four source addresses: neither may panic, whatever arrives.
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ovpn::server::{Server, StatelessConfig};
use ovpn::session::{Role, Session, SessionConfig, WrapConfig};
use ovpn::tls::{TlsEngine, TlsError};

struct NullTls;
impl TlsEngine for NullTls {
    fn read_tls(&mut self, _: &[u8]) -> Result<(), TlsError> {
        Ok(())
    }
    fn write_tls(&mut self, _: &mut Vec<u8>) -> Result<(), TlsError> {
        Ok(())
    }
    fn is_handshaking(&self) -> bool {
        true
    }
    fn send_plaintext(&mut self, _: &[u8]) -> Result<(), TlsError> {
        Ok(())
    }
    fn recv_plaintext(&mut self, _: &mut Vec<u8>) -> Result<(), TlsError> {
        Ok(())
    }
    fn export_keying_material(&self, _: &mut [u8], _: &[u8]) -> Result<(), TlsError> {
        Err(TlsError("none".into()))
    }
    fn protocol_version(&self) -> Option<&'static str> {
        None
    }
    fn cipher_suite(&self) -> Option<String> {
        None
    }
    fn peer_certificate(&self) -> Option<Vec<u8>> {
        None
    }
}

struct Rng(u64);
impl ovpn::rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
        self.0
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for b in d {
            *b = self.next_u64() as u8;
        }
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), ovpn::rand_core::Error> {
        self.fill_bytes(d);
        Ok(())
    }
}
impl ovpn::rand_core::CryptoRng for Rng {}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let Ok(mut s) = Session::new(
        SessionConfig::new(Role::Server),
        t0,
        Box::new(Rng(1)),
        Box::new(|| Ok(Box::new(NullTls) as Box<dyn TlsEngine>)),
        None,
    ) else {
        return;
    };
    let mut now = t0;
    let mut out = vec![0u8; 2048];
    for chunk in data.split(|b| *b == 0xFF) {
        let _ = s.handle_input(now, chunk, &mut out);
        while s.poll_transmit(now).is_some() {}
        while s.poll_event().is_some() {}
        now += Duration::from_millis(500);
        s.handle_timeout(now);
    }
    let mut srv: Server<u8> = Server::new(
        Box::new(|_, now| {
            Session::new(
                SessionConfig::new(Role::Server),
                now,
                Box::new(Rng(2)),
                Box::new(|| Ok(Box::new(NullTls) as Box<dyn TlsEngine>)),
                None,
            )
        }),
        4,
    );
    let cfg = StatelessConfig {
        wrap: WrapConfig::None,
        hand_window: Duration::from_secs(60),
        unix_time: 1_795_305_600,
        rate_limit: Some(ovpn::RateLimit {
            per_source_rate: 2,
            per_source_burst: 2,
            global_rate: 4,
            global_burst: 4,
            max_sources: 16,
        }),
        tls_crypt_v2_verify: None,
    };
    if srv.enable_stateless(t0, cfg, &mut Rng(3)).is_err() {
        return;
    }
    let mut now = t0;
    for chunk in data.split(|b| *b == 0xFF) {
        let from = chunk.first().map_or(0, |b| b & 3);
        let _ = srv.handle_input(now, from, chunk, &mut out);
        while srv.poll_transmit(now).is_some() {}
        while srv.poll_event().is_some() {}
        now += Duration::from_millis(700);
        srv.handle_timeout(now);
    }
});
