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
        Box::new(|peer_id, now| {
            let mut c = config(Role::Server);
            c.peer_id = Some(peer_id);
            c.push_options = vec![format!("ifconfig 192.168.77.{} 255.255.255.0", peer_id + 2)];
            Session::new(
                c,
                now,
                rng(100 + u64::from(peer_id)),
                server_tls(false),
                Some(Box::new(|u: &str, p: &str| p == format!("pw-{u}"))),
            )
        }),
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
