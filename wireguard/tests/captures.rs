//! Real-peer captures (wireguard-go, boringtun-cli, Linux kernel): every datagram decodes and
//! re-encodes byte-exact; with the static keys of `keys.txt` the initiation's encrypted static key
//! and timestamp decrypt and both mac1 values verify.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;

use wireguard::cookie::CookieChecker;
use wireguard::noise::{consume_initiation_static, consume_initiation_timestamp, PeerStatic};
use wireguard::wire::{Message, INITIATION_MAC1, RESPONSE_MAC1};
use wireguard::Key;
use x25519_dalek::StaticSecret;

/// `../shared/captures/wireguard` next to the repository.
fn dir() -> PathBuf {
    netsim::shared_captures("wireguard").unwrap_or_else(|e| panic!("{e}"))
}

/// UDP payloads of an Ethernet/IPv4 pcap.
fn udp_payloads(file: &str) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(dir().join(file)).unwrap();
    let (linktype, frames) = netsim::pcap::parse(&bytes).unwrap();
    assert_eq!(linktype, netsim::pcap::LINKTYPE_ETHERNET);
    frames
        .into_iter()
        .map(|(_, f)| {
            assert_eq!(&f[12..14], &[0x08, 0x00], "IPv4 ethertype");
            let ip = &f[14..];
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            assert_eq!(ip[9], 17, "UDP");
            let udp = &ip[ihl..];
            let ulen = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
            udp[8..ulen].to_vec()
        })
        .collect()
}

fn keys() -> std::collections::HashMap<String, Key> {
    let text = std::fs::read_to_string(dir().join("keys.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .filter_map(|(k, v)| {
            let v = v.trim();
            Key::from_base64(v, "k")
                .ok()
                .map(|key| (k.trim().to_string(), key))
        })
        .collect()
}

fn check(file: &str, init_priv: &str, init_pub: &str, resp_priv: &str, resp_pub: &str) {
    let k = keys();
    let (ipriv, ipub, rpriv, rpub) = (k[init_priv], k[init_pub], k[resp_priv], k[resp_pub]);
    assert_eq!(ipriv.public_key(), ipub);
    assert_eq!(rpriv.public_key(), rpub);
    let payloads = udp_payloads(file);
    assert_eq!(payloads.len(), 9);
    let mut kinds = Vec::new();
    for p in &payloads {
        let m = Message::parse(p).unwrap();
        let mut out = vec![0u8; p.len()];
        assert_eq!(m.emit(&mut out).unwrap(), p.len());
        assert_eq!(&out, p, "{file}: re-encode differs");
        kinds.push(p[0]);
        match &m {
            Message::Initiation(init) => {
                // mac1 with the responder's public key.
                assert!(CookieChecker::new(&rpub.0).check_mac1(p, INITIATION_MAC1));
                assert!(!CookieChecker::new(&ipub.0).check_mac1(p, INITIATION_MAC1));
                assert_eq!(init.mac2, [0; 16], "no cookie in play");
                let secret = StaticSecret::from(rpriv.0);
                let st = consume_initiation_static(&secret, &rpub.0, init).unwrap();
                assert_eq!(
                    st.remote_static, ipub.0,
                    "decrypted static = initiator public"
                );
                let peer = PeerStatic::new(&secret, ipub.0, None);
                let rs = consume_initiation_timestamp(st, &peer).unwrap();
                // TAI64N label: 2^62 + 10 + unix seconds; captures were taken in 2026.
                let secs = u64::from_be_bytes(rs.timestamp[..8].try_into().unwrap());
                let unix = secs - 0x4000_0000_0000_000a;
                assert!((1_700_000_000..2_000_000_000).contains(&unix), "{unix}");
                let nanos = u32::from_be_bytes(rs.timestamp[8..].try_into().unwrap());
                assert!(nanos < 1_000_000_000);
            }
            Message::Response(_) => {
                assert!(CookieChecker::new(&ipub.0).check_mac1(p, RESPONSE_MAC1));
                assert!(!CookieChecker::new(&rpub.0).check_mac1(p, RESPONSE_MAC1));
            }
            Message::Transport(t) => {
                assert!(t.encrypted.len() >= 16);
            }
            Message::CookieReply(_) => panic!("no cookie replies in these captures"),
        }
    }
    assert_eq!(kinds, [1, 2, 4, 4, 4, 4, 4, 4, 4]);
    // Last one is the passive keepalive: counter 3, empty payload.
    match Message::parse(&payloads[8]).unwrap() {
        Message::Transport(t) => {
            assert_eq!(t.counter, 3);
            assert_eq!(t.encrypted.len(), 16);
        }
        _ => panic!(),
    }
}

#[test]
fn wireguard_go_vs_wireguard_go() {
    check(
        "wireguard-go-vs-wireguard-go.pcap",
        "A_private",
        "A_public",
        "B_private",
        "B_public",
    );
}

#[test]
fn wireguard_go_vs_boringtun() {
    check(
        "wireguard-go-vs-boringtun.pcap",
        "A_private",
        "A_public",
        "B_private",
        "B_public",
    );
    // boringtun does not pad: 84-byte ICMP in 84+16 bytes of ciphertext.
    let p = udp_payloads("wireguard-go-vs-boringtun.pcap");
    assert_eq!(p[3].len(), 16 + 84 + 16);
    assert_eq!(p[2].len(), 16 + 96 + 16);
}

#[test]
fn wireguard_go_vs_linux_kernel() {
    check(
        "wireguard-go-vs-linux-kernel.pcap",
        "host_private",
        "host_public",
        "guest_private",
        "guest_public",
    );
}
