//! SSTP carrying MPPE: the user's `/ppp profile` says `use-encryption=required`, the client's
//! profile `yes`. MS-CHAPv2, the crypto binding (its Compound MAC keyed by the MS-CHAPv2
//! master keys, which MPPE derives its session keys from too), CCP, "MPPE128 stateless",
//! then IP datagrams both ways; every SSTP data packet the client sends after CCP carries
//! PPP protocol 0x00FD.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::ptr_arg,
    missing_docs
)]

mod common;
use common::*;
use std::sync::Mutex;
use std::time::Duration;

use ppp::aaa::UseEncryption;
use sstp::wire::HashProtocol;
use sstp::{BindingKey, ServerEvent};

/// PPP protocols of the SSTP data packets the client sent (the hook sees the plaintext).
static CLIENT_DATA: Mutex<Vec<u16>> = Mutex::new(Vec::new());

fn record_data(pkt: &mut Vec<u8>) {
    // SSTP header: version 0x10, C bit (control) in the low bit of byte 1, length.
    if pkt.len() > 6 && pkt[0] == 0x10 && pkt[1] & 1 == 0 {
        let f = &pkt[4..];
        let f = f.strip_prefix(&[0xff, 0x03]).unwrap_or(f);
        let proto = if f[0] & 1 == 1 {
            u16::from(f[0])
        } else {
            u16::from_be_bytes([f[0], f[1]])
        };
        CLIENT_DATA.lock().unwrap().push(proto);
    }
}

#[test]
fn mppe128_stateless_with_crypto_binding_carries_ip_both_ways() {
    let mut ccfg = client_config("alice", "pw");
    ccfg.ppp.allow = ppp::AuthSet::of(&[ppp::AuthMethod::MsChap2]);
    ccfg.ppp.use_encryption = UseEncryption::Yes;
    let mut p = Pair::new(ccfg, server_config(), 3);
    let mut aaa = store();
    aaa.profiles
        .iter_mut()
        .find(|p| p.name == "default")
        .unwrap()
        .use_encryption = UseEncryption::Required;
    p.server.host_mut().set_store(Box::new(aaa));
    p.hook = Some(record_data);
    let mppe_up = |p: &Pair| {
        p.client.ppp().session().is_some_and(|s| s.mppe_up())
            && p.conn
                .and_then(|c| p.server.host().session(&c))
                .is_some_and(|s| s.mppe_up())
    };
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.client_up() && mppe_up(p)),
        "{}",
        p.dump()
    );
    let conn = p.conn.unwrap();
    // The crypto binding went through with the MS-CHAPv2 keys (not the zero HLAK).
    assert!(p.server_events.iter().any(|(_, e)| matches!(
        e,
        ServerEvent::CallConnected {
            hash: HashProtocol::Sha256,
            key: BindingKey::Hlak,
            ..
        }
    )));
    let cs = p.client.ppp().session().unwrap();
    let ss = p.server.host().session(&conn).unwrap();
    assert_eq!(cs.encoding().as_deref(), Some("MPPE128 stateless"));
    assert_eq!(ss.encoding().as_deref(), Some("MPPE128 stateless"));
    CLIENT_DATA.lock().unwrap().clear();

    let n = 30u16;
    for i in 0..n {
        let pkt =
            netsim::pcap::icmp4_echo([10, 0, 0, 2], [10, 0, 0, 1], false, 1, i, &[0xab; 1300]);
        p.exchange_ip(&pkt);
    }
    // Client to server on the wire (inside TLS): MPPE only.
    let sent = CLIENT_DATA.lock().unwrap().clone();
    assert_eq!(sent, vec![0x00fd; usize::from(n)]);
    // Server to client: the sessions encrypted and decrypted every datagram.
    let cc = p.client.ppp().session().unwrap().mppe_counters();
    let sc = p.server.host().session(&conn).unwrap().mppe_counters();
    assert_eq!((cc.tx_packets, cc.rx_packets), (u64::from(n), u64::from(n)));
    assert_eq!((sc.tx_packets, sc.rx_packets), (u64::from(n), u64::from(n)));
    assert_eq!((cc.rx_dropped, sc.rx_dropped), (0, 0));
}
