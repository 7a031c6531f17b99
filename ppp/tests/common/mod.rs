//! Test support: the configurations the tests start from, and the netsim adapter around
//! `ppp::Session` (`netsim::ppp::PppNode`, shared with the tour) that answers deferred auth
//! requests from a password table and records events with their virtual times.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    dead_code
)]

use ppp::Config;

/// The crate's netsim adapter, shared with the tour (`netsim::ppp`).
pub use netsim::ppp::PppNode as Node;

pub fn client_cfg(user: &str, pass: &str) -> Config {
    let mut c = Config::l2tp_client();
    c.user = user.into();
    c.password = pass.into();
    c
}

pub fn server_cfg() -> Config {
    let mut c = Config::l2tp_server();
    c.local_address = Some("10.0.0.1".parse().unwrap());
    c.remote_address = Some("10.0.0.2".parse().unwrap());
    c.dns_servers = vec!["10.0.0.53".parse().unwrap()];
    c
}
