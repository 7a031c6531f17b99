//! Simulated-link endpoints shared by the L2TP + PPP pair tests (`ppp_pair.rs`, `mppe_pair.rs`):
//! the RouterOS L2TP client and the LNS with PPP servers (`netsim::l2tp`, shared with the
//! tour), each recording its events and the datagrams it delivers.
#![allow(dead_code)]

use l2tp::config::ClientConfig;
use l2tp::server::Peer;
use l2tp::TunnelConfig;

/// The crate's netsim adapters, shared with the tour (`netsim::l2tp`).
pub use netsim::l2tp::{L2tpClientNode as Client, LnsNode as Server};

/// The one peer every test's LNS talks to.
pub fn peer() -> Peer<u8> {
    netsim::l2tp::test_peer()
}

/// The client configuration every pair test starts from: tunnel secret `tunnelpass`, user
/// `good_worker@mt.lv` (the seed's example user) with password `pass123`.
pub fn client_config() -> ClientConfig {
    let mut cfg = ClientConfig {
        tunnel: TunnelConfig {
            host_name: b"client".to_vec(),
            secret: Some(b"tunnelpass".to_vec()),
            ..Default::default()
        },
        ..ClientConfig::default()
    };
    cfg.ppp.user = "good_worker@mt.lv".into();
    cfg.ppp.password = "pass123".into();
    cfg
}
