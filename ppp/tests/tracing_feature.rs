//! The optional `tracing` feature: each event a session hands out is also a `tracing` debug
//! event naming its kind, and nothing of its fields (the PAP password stays out of the log).
//! Run with `cargo test -p rosproto-ppp --features tracing --test tracing_feature`.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
use common::*;
use netsim::{LinkConfig, Pair};
use ppp::{AuthMethod, AuthSet, Role};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn session_events_are_traced_by_kind_only() {
    let buf = Buf::default();
    let w = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let start = Instant::now();
        let cc = client_cfg("alice", "pap-password-xyz");
        let mut sc = server_cfg();
        sc.authentication = AuthSet::of(&[AuthMethod::Pap]);
        let mut c = Node::new(cc, Role::Client, start, 1);
        let mut s = Node::new(sc, Role::Server, start, 2);
        s.users.push(("alice".into(), "pap-password-xyz".into()));
        c.s.open(start);
        s.s.open(start);
        c.drain(start);
        s.drain(start);
        let mut p = Pair::with_start(c, s, LinkConfig::perfect(), LinkConfig::perfect(), 1, start);
        p.run_until(Duration::from_secs(10), |a, b| {
            a.network_up() && b.network_up()
        });
        assert!(p.a.network_up() && p.b.network_up());
    });
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("source=\"ppp::session\""), "{text}");
    assert!(text.contains("kind=\"NetworkUp\""), "{text}");
    assert!(!text.contains("pap-password-xyz"), "{text}");
}
