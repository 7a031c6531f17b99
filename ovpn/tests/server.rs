#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Several clients against one `Server` on one "socket": demux by address and peer id,
//! float, unknown peer ids dropped, AUTH_FAILED for a bad password.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ovpn::event::{DownReason, Event};
use ovpn::server::{Server, ServerInput};
use ovpn::session::{Input, Role, Session};

fn server(start: Instant) -> Server<u32> {
    let _ = start;
    Server::new(
        server_factory(
            ovpn::session::WrapConfig::None,
            &["ifconfig 192.168.77.{ip} 255.255.255.0"],
            100,
            true,
        ),
        16,
    )
}

fn client(i: u32, now: Instant, password: &str) -> Session {
    let mut c = config(Role::Client);
    c.credentials = Some((format!("user{i}"), password.to_string()));
    let mut s = Session::new(c, now, rng(u64::from(i)), client_tls(None, false), None).unwrap();
    s.connect(now).unwrap();
    s
}

/// Deliver everything instantly until quiet. `addr[i]` = current source address of client i.
fn pump(
    now: Instant,
    srv: &mut Server<u32>,
    clients: &mut [Session],
    addr: &[u32],
    got: &mut Vec<(u32, Vec<u8>)>,
) {
    for _ in 0..200 {
        let mut moved = false;
        for (i, c) in clients.iter_mut().enumerate() {
            while let Some(p) = c.poll_transmit(now) {
                moved = true;
                let mut out = vec![0u8; p.len()];
                if let ServerInput::Data { peer_id, len } =
                    srv.handle_input(now, addr[i], &p, &mut out)
                {
                    got.push((peer_id, out[..len].to_vec()));
                }
            }
        }
        while let Some((to, p)) = srv.poll_transmit(now) {
            moved = true;
            if let Some(i) = addr.iter().position(|a| *a == to) {
                let mut out = vec![0u8; p.len()];
                let _ = clients[i].handle_input(now, &p, &mut out);
            }
        }
        if !moved {
            return;
        }
    }
}

#[test]
fn three_clients_one_socket_float_and_auth_failed() {
    let now = Instant::now();
    let mut srv = server(now);
    let mut clients: Vec<Session> = (0..3)
        .map(|i| client(i, now, &format!("pw-user{i}")))
        .collect();
    clients.push(client(3, now, "wrong"));
    let mut addr = vec![1000, 1001, 1002, 1003];
    let mut got = Vec::new();
    pump(now, &mut srv, &mut clients, &addr, &mut got);
    for c in &clients[..3] {
        assert!(c.is_up());
    }
    assert!(!clients[3].is_up());
    let mut ev = Vec::new();
    while let Some(e) = clients[3].poll_event() {
        ev.push(e);
    }
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Down(DownReason::AuthFailed(_)))),
        "{ev:?}"
    );
    let ids: Vec<u32> = clients[..3].iter().map(|c| c.peer_id().unwrap()).collect();
    assert_eq!(ids, vec![0, 1, 2]);
    // Data from each client reaches the server tagged with its peer id.
    for (i, c) in clients[..3].iter_mut().enumerate() {
        let mut out = vec![0u8; 200];
        let n = c
            .send_data(now, format!("hello from {i}").as_bytes(), &mut out)
            .unwrap();
        let mut plain = vec![0u8; n];
        assert_eq!(
            srv.handle_input(now, addr[i], &out[..n], &mut plain),
            ServerInput::Data {
                peer_id: i as u32,
                len: 12
            }
        );
    }
    // Client 1 floats to a new address: its authenticated data moves the session.
    addr[1] = 2001;
    let mut out = vec![0u8; 200];
    let n = clients[1].send_data(now, b"after float", &mut out).unwrap();
    let mut plain = vec![0u8; n];
    assert!(matches!(
        srv.handle_input(now, 2001, &out[..n], &mut plain),
        ServerInput::Data { peer_id: 1, .. }
    ));
    assert_eq!(srv.address(1), Some(&2001));
    // Server replies go to the new address.
    let (to, n) = srv.send_data(now, 1, b"reply", &mut out).unwrap();
    assert_eq!(to, 2001);
    let mut plain = vec![0u8; n];
    assert_eq!(
        clients[1].handle_input(now, &out[..n], &mut plain),
        Input::Data(5)
    );
    // A forged packet with client 2's peer id from a new address does not float it.
    let mut forged = out[..n].to_vec();
    forged[0] = 9 << 3; // P_DATA_V2, key id 0
    forged[1..4].copy_from_slice(&[0, 0, 2]);
    assert!(matches!(
        srv.handle_input(now, 3000, &forged, &mut plain),
        ServerInput::Dropped(_)
    ));
    assert_eq!(srv.address(2), Some(&1002));
    // Unknown peer id from unknown address: dropped.
    forged[1..4].copy_from_slice(&[0, 0, 99]);
    assert!(matches!(
        srv.handle_input(now, 3001, &forged, &mut plain),
        ServerInput::Dropped(_)
    ));
    // The refused client's session is removed after the linger time.
    srv.handle_timeout(now + Duration::from_secs(1));
    srv.handle_timeout(now + Duration::from_secs(7));
    assert_eq!(srv.len(), 3);
}

fn pushed(c: &mut Session) -> Vec<Event> {
    let mut ev = Vec::new();
    while let Some(e) = c.poll_event() {
        ev.push(e);
    }
    ev
}

/// OpenVPN 2.6 servers push `protocol-flags cc-exit tls-ekm dyn-tls-crypt` to clients that
/// announce cc-exit (IV_PROTO bit 7), and `key-derivation tls-ekm` without cc-exit to older
/// clients.
#[test]
fn server_pushes_protocol_flags_by_peer_info() {
    let now = Instant::now();
    let mut srv = server(now);
    let old = {
        let mut c = config(Role::Client);
        c.credentials = Some(("user1".into(), "pw-user1".into()));
        c.cc_exit = false;
        c.dyn_tls_crypt = false;
        let mut s = Session::new(c, now, rng(11), client_tls(None, false), None).unwrap();
        s.connect(now).unwrap();
        s
    };
    let mut clients = vec![client(0, now, "pw-user0"), old];
    pump(now, &mut srv, &mut clients, &[1, 2], &mut Vec::new());
    let opts = |c: &mut Session| {
        pushed(c)
            .into_iter()
            .find_map(|e| match e {
                Event::Pushed(r) => Some(r),
                _ => None,
            })
            .unwrap()
    };
    let new = opts(&mut clients[0]);
    assert!(
        new.options
            .contains(&"protocol-flags cc-exit tls-ekm dyn-tls-crypt".to_string()),
        "{:?}",
        new.options
    );
    assert!(new.cc_exit && new.tls_ekm && new.dyn_tls_crypt);
    let old = opts(&mut clients[1]);
    assert!(!old.cc_exit && old.tls_ekm && !old.dyn_tls_crypt, "{old:?}");
    assert!(old.options.contains(&"key-derivation tls-ekm".to_string()));
    assert!(!old.options.iter().any(|o| o.starts_with("protocol-flags")));
}

/// `Server::shutdown`: every client gets `RESTART` (`RESTART,[N]` = next remote) and reports
/// `Event::Restart` then `Down(Restart)`; the sessions are down once the clients acked;
/// new clients are refused.
#[test]
fn shutdown_sends_restart_and_clients_reconnect_event() {
    for next in [false, true] {
        let now = Instant::now();
        let mut srv = server(now);
        let mut clients: Vec<Session> = (0..2)
            .map(|i| client(i, now, &format!("pw-user{i}")))
            .collect();
        pump(now, &mut srv, &mut clients, &[1, 2], &mut Vec::new());
        assert!(clients.iter().all(Session::is_up));
        for c in clients.iter_mut() {
            pushed(c);
        }
        srv.shutdown(now, next);
        assert!(!srv.is_shut_down(), "waits for the acks");
        pump(now, &mut srv, &mut clients, &[1, 2], &mut Vec::new());
        for c in clients.iter_mut() {
            let ev = pushed(c);
            let msg = next.then(|| "[N]".to_string());
            assert_eq!(
                ev,
                vec![
                    Event::Restart {
                        next_remote: next,
                        message: msg.clone()
                    },
                    Event::Down(DownReason::Restart(msg))
                ]
            );
        }
        assert!(srv.is_shut_down());
        let mut late = client(5, now, "pw-user5");
        let p = late.poll_transmit(now).unwrap();
        let mut out = vec![0u8; 2048];
        assert!(matches!(
            srv.handle_input(now, 9, &p, &mut out),
            ServerInput::Dropped(_)
        ));
    }
}

/// A client that never acks the `RESTART` (link cut): its session is given up exactly two
/// seconds after `shutdown` (OpenVPN's shutdown delay).
#[test]
fn shutdown_gives_up_after_two_seconds_without_ack() {
    let now = Instant::now();
    let mut srv = server(now);
    let mut clients = vec![client(0, now, "pw-user0")];
    pump(now, &mut srv, &mut clients, &[1], &mut Vec::new());
    srv.shutdown(now, false);
    let mut sent = 0;
    while srv.poll_transmit(now).is_some() {
        sent += 1;
    }
    assert!(sent >= 1);
    assert_eq!(srv.poll_timeout(), Some(now + Duration::from_secs(2)));
    srv.handle_timeout(now + Duration::from_millis(1999));
    assert!(!srv.is_shut_down());
    srv.handle_timeout(now + Duration::from_secs(2));
    assert!(srv.is_shut_down());
    let ev: Vec<_> = std::iter::from_fn(|| srv.poll_event()).collect();
    assert!(ev.contains(&(0, Event::Down(DownReason::Closed))), "{ev:?}");
}

fn pool_server() -> Server<u32> {
    let mut srv = Server::new(
        server_factory(
            ovpn::session::WrapConfig::None,
            &["topology subnet"],
            200,
            true,
        ),
        16,
    );
    let mask = std::net::Ipv4Addr::new(255, 255, 255, 0);
    srv.set_pool(ovpn::pool::Ipv4Pool::from_range("192.168.77.10-192.168.77.11", mask).unwrap());
    srv
}

fn pushed_ifconfig(c: &mut Session) -> Option<std::net::Ipv4Addr> {
    pushed(c).into_iter().find_map(|e| match e {
        Event::Pushed(r) => r.ifconfig.map(|(a, _)| a),
        _ => None,
    })
}

/// Address pool and accounting (RouterOS: PPP profile pool, RADIUS accounting stop):
/// clients get pool addresses in their PUSH_REPLY, a client beyond the pool is refused,
/// a session that ends yields an accounting record with its tunnel byte counters and
/// connected time, its address returns to the pool and the same user gets it again.
#[test]
fn pool_addresses_and_accounting_stop() {
    let now = Instant::now();
    let mut srv = pool_server();
    let mut clients: Vec<Session> = (0..3)
        .map(|i| client(i, now, &format!("pw-user{i}")))
        .collect();
    let addr = [1, 2, 3];
    for i in 0..3 {
        // One at a time, so the pool order is deterministic.
        pump(
            now,
            &mut srv,
            &mut clients[i..=i],
            &addr[i..=i],
            &mut Vec::new(),
        );
    }
    let refused = pushed(&mut clients[2]);
    assert!(
        refused.contains(&Event::Down(DownReason::AuthFailed(Some(
            "no address available".into()
        )))),
        "{refused:?}"
    );
    let got: Vec<_> = clients[..2].iter_mut().map(pushed_ifconfig).collect();
    assert_eq!(
        got,
        vec![
            Some("192.168.77.10".parse().unwrap()),
            Some("192.168.77.11".parse().unwrap()),
        ]
    );
    assert!(clients[0].is_up() && clients[1].is_up() && clients[2].is_down());
    assert_eq!(srv.assigned_address(0), got[0]);
    assert_eq!(srv.pool().unwrap().in_use(), 2);
    // Traffic: 3 x 100 bytes in, 50 out.
    let t1 = now + Duration::from_secs(1);
    let mut out = vec![0u8; 512];
    for _ in 0..3 {
        let n = clients[0].send_data(t1, &[7u8; 100], &mut out).unwrap();
        let mut plain = vec![0u8; n];
        assert!(matches!(
            srv.handle_input(t1, 1, &out[..n], &mut plain),
            ServerInput::Data {
                peer_id: 0,
                len: 100
            }
        ));
    }
    let (_, n) = srv.send_data(t1, 0, &[1u8; 50], &mut out).unwrap();
    let mut plain = vec![0u8; n];
    assert_eq!(
        clients[0].handle_input(t1, &out[..n], &mut plain),
        Input::Data(50)
    );
    // The client leaves at t+10 s (EXIT on the control channel).
    let t10 = now + Duration::from_secs(10);
    clients[0].close(t10);
    pump(
        t10,
        &mut srv,
        &mut clients[..1],
        &addr[..1],
        &mut Vec::new(),
    );
    while srv.poll_event().is_some() {}
    srv.handle_timeout(t10 + Duration::from_secs(6));
    let acct: Vec<_> = std::iter::from_fn(|| srv.poll_event())
        .filter(|(_, e)| matches!(e, Event::Accounting { .. }))
        .collect();
    let [(
        0,
        Event::Accounting {
            username,
            address,
            stats,
            connected_for,
            reason,
        },
    )] = acct.as_slice()
    else {
        panic!("{acct:?}")
    };
    assert_eq!(username.as_deref(), Some("user0"));
    assert_eq!(*address, got[0]);
    assert_eq!((stats.tunnel_rx_bytes, stats.tunnel_tx_bytes), (300, 50));
    assert_eq!(*connected_for, Duration::from_secs(10));
    assert_eq!(reason, &Some(DownReason::Exit));
    assert_eq!(srv.pool().unwrap().in_use(), 1);
    // user0 comes back (new address, new session) and gets .10 again.
    let t20 = now + Duration::from_secs(20);
    let mut again = vec![client(0, t20, "pw-user0")];
    pump(t20, &mut srv, &mut again, &[4], &mut Vec::new());
    assert_eq!(pushed_ifconfig(&mut again[0]), got[0]);
}
