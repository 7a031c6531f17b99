//! WireGuard device reconfiguration: fuzz bytes drive a sequence of run-time peer changes
//! (add, remove, update, allowed-address, endpoint, PSK, keepalive, disable) interleaved with
//! handshakes, data and timer expiries between two devices. Nothing may panic, and after every
//! step the device's bookkeeping stays consistent: at most four receiver indices per live peer,
//! the deadline it reports is never in the past after `handle_timeout`, and every live peer is
//! found by its key.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fuzz::TestRng;
use wireguard::{Device, InterfaceConfig, IpPrefix, Key, Output, PeerConfig, PeerId};

fn dev(k: u8, now: Instant) -> Device {
    let mut d = Device::new(
        &InterfaceConfig {
            private_key: Some(Key([k; 32])),
            ..Default::default()
        },
        Box::new(TestRng(u64::from(k))),
        now,
        Duration::from_secs(1_780_000_000),
    )
    .unwrap();
    d.set_max_precomputed_peers(1);
    d
}

/// Peer keys: slot 0 is the other device's key (so handshakes can complete), the rest are
/// strangers.
fn peer_key(slot: u8) -> Key {
    if slot == 0 {
        Key([1; 32]).public_key()
    } else {
        Key([slot.wrapping_mul(13) | 0x40; 32]).public_key()
    }
}

fn prefix(b: u8) -> IpPrefix {
    let len = 24 + (b % 9);
    IpPrefix::new([10, 0, b % 4, b].into(), len).unwrap()
}

fn ipv4(dst_last: u8) -> Vec<u8> {
    let mut p = vec![0u8; 40];
    p[0] = 0x45;
    p[3] = 40;
    p[12..16].copy_from_slice(&[10, 0, 0, 1]);
    p[16..20].copy_from_slice(&[10, 0, dst_last % 4, dst_last]);
    p
}

fn check(d: &Device, now: Instant) {
    assert!(d.index_table_len() <= 4 * d.peer_count().max(1) + 4);
    for id in d.peer_ids() {
        let k = d.peer_public_key(id).unwrap();
        assert_eq!(d.peer_by_key(&k), Some(id));
    }
    let _ = now;
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let sa: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let sb: SocketAddr = "192.0.2.2:13231".parse().unwrap();
    let mut a = dev(1, t0);
    let mut b = dev(2, t0);
    let mut pa = PeerConfig::new(Key([2; 32]).public_key());
    pa.endpoint_address = Some("192.0.2.2".into());
    pa.endpoint_port = Some(13231);
    pa.allowed_address = vec!["10.0.0.2/32".parse().unwrap()];
    a.add_peer(t0, &pa).unwrap();
    let mut now = t0;
    let mut buf = vec![0u8; 2048];
    for op in data.chunks(3) {
        let (code, x, y) = (op[0], *op.get(1).unwrap_or(&0), *op.get(2).unwrap_or(&0));
        now += Duration::from_millis(u64::from(y) * 37);
        let id = PeerId(usize::from(x % 8));
        match code % 12 {
            0 => {
                let mut pc = PeerConfig::new(peer_key(x % 5));
                pc.allowed_address = vec![prefix(y)];
                pc.persistent_keepalive = u16::from(y % 3) * 5;
                pc.responder = y & 0x80 != 0;
                let _ = b.update_peer(now, &pc);
            }
            1 => {
                let _ = b.remove_peer(id);
            }
            2 => {
                let _ = b.set_peer_allowed_address(id, &[prefix(y), prefix(y.wrapping_add(1))]);
            }
            3 => {
                let _ = b.set_peer_endpoint(id, SocketAddr::from(([192, 0, 2, y], 4000)));
            }
            4 => {
                let psk = (y & 1 == 1).then_some(Key([y; 32]));
                let _ = b.set_peer_preshared_key(id, psk);
            }
            5 => {
                let _ = b.set_peer_persistent_keepalive(now, id, u16::from(y % 4) * 3);
            }
            6 => {
                let _ = b.set_peer_disabled(now, id, y & 1 == 1);
            }
            7 => {
                let _ = a.initiate(now, PeerId(0));
            }
            8 => {
                let _ = b.encapsulate(now, &ipv4(y), &mut buf);
            }
            9 => {
                let pkt = ipv4(2);
                buf[16..16 + pkt.len()].copy_from_slice(&pkt);
                if let Ok(Output::Transmit { len, .. }) =
                    a.encapsulate_in_place(now, &mut buf, pkt.len())
                {
                    let mut d = buf[..len].to_vec();
                    let _ = b.handle_datagram_in_place(now, sa, &mut d);
                }
            }
            _ => {
                if b.poll_timeout().is_some_and(|t| t <= now) {
                    b.handle_timeout(now);
                    assert!(b.poll_timeout().is_none_or(|t| t > now));
                }
                if a.poll_timeout().is_some_and(|t| t <= now) {
                    a.handle_timeout(now);
                }
            }
        }
        // Deliver everything in flight between the two devices.
        for _ in 0..4 {
            while let Some(t) = a.poll_transmit(now) {
                if t.dst == sb {
                    let _ = b.handle_datagram(now, sa, &t.payload, &mut buf);
                }
            }
            while let Some(t) = b.poll_transmit(now) {
                if t.dst == sa {
                    let _ = a.handle_datagram(now, sb, &t.payload, &mut buf);
                }
            }
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        check(&b, now);
    }
});
