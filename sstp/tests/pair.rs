//! Client and server over TLS in memory, in virtual time: negotiation, binding, timers, aborts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::*;
use std::time::Duration;

#[test]
fn comes_up_with_mschapv2_and_sha256_binding() {
    let mut p = Pair::new(client_config("alice", "pw"), server_config(), 1);
    let up = p.run_until(Duration::from_secs(30), |p| p.client_up());
    assert!(up, "{}", p.dump());
    println!("{}", p.dump());
}
