//! Runs the crate-level driving-loop example (src/lib.rs) with a real start instant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use gre_family::{Decapsulated, GreConfig, Tunnel};

fn drive(tunnel: &mut Tunnel, now: Instant, from_raw_socket: Option<&mut [u8]>) -> usize {
    if let Some(pkt) = from_raw_socket {
        if let Decapsulated::Packet { .. } = tunnel.decapsulate(now, pkt) {}
    }
    if tunnel.poll_timeout().is_some_and(|t| t <= now) {
        tunnel.handle_timeout(now);
    }
    let mut buf = [0u8; 256];
    let mut sent = 0;
    while let Ok(Some(_tx)) = tunnel.poll_transmit(now, &mut buf) {
        sent += 1;
    }
    while tunnel.poll_event().is_some() {}
    sent
}

#[test]
fn crate_doc_example() {
    let start = Instant::now();
    let cfg = GreConfig {
        local_address: "192.168.80.1".parse().unwrap(),
        remote_address: Some("192.168.90.1".parse().unwrap()),
        ..GreConfig::default()
    };
    let mut t = Tunnel::new(cfg.to_tunnel().unwrap(), start).unwrap();
    assert_eq!(t.mtu(), 1476);
    assert_eq!(drive(&mut t, start, None), 1, "first keepalive at creation");
    assert_eq!(t.poll_timeout(), Some(start + Duration::from_secs(10)));
    let mut inner = [0u8; 28];
    inner[0] = 0x45;
    let mut out = [0u8; 100];
    let tx = t.encapsulate(start, &inner, &mut out).unwrap();
    assert_eq!(tx.len, 20 + 4 + 28);
    assert_eq!(&out[20..24], &[0x00, 0x00, 0x08, 0x00]);
}
