//! L2TP/IPsec in memory and virtual time (`examples::l2tp_ipsec`): two `L2tpClient`s behind
//! one NAT (same public address, same inner address 192.168.1.2) each run IKEv1 main mode +
//! quick mode (transport, UDP-encapsulated) against one server driver, then L2TP, PPP and
//! IPCP inside ESP to an `l2tp::ppp_link::PppLns` with `use-ipsec=require`; a ping through
//! each. The clients are told apart by SA: two SAs, two tunnels, two pool addresses. A third
//! client speaking plain L2TP is refused (`dropped_not_ipsec`), and every datagram that
//! crossed the "wire" is IKE (500, or 4500 after the non-ESP marker) or ESP on 4500: never a
//! cleartext L2TP datagram.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use examples::l2tp_ipsec::{Config, Input, IpsecEvent, L2tpIpsec};
use l2tp::config::{ClientConfig, ServerConfig, UseIpsec};
use l2tp::ppp_link::{ClientEvent, ClientInput, L2tpClient, PppLns, PppLnsInput};
use l2tp::server::Peer;
use l2tp::TunnelConfig;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const PSK: &[u8] = b"mySecret";
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const NAT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);

fn rng(seed: u64) -> Box<ChaCha20Rng> {
    Box::new(ChaCha20Rng::seed_from_u64(seed))
}

struct Cli {
    l2tp: L2tpClient,
    ipsec: L2tpIpsec,
    /// The NAT's mapping of the client's ports 500 and 4500.
    map500: SocketAddr,
    map4500: SocketAddr,
    up: Option<Ipv4Addr>,
    replies: u32,
}

fn lns(start: Instant) -> PppLns<SocketAddr> {
    let mut cfg = ServerConfig {
        enabled: true,
        use_ipsec: UseIpsec::Require,
        ipsec_secret: Some("mySecret".into()),
        ..ServerConfig::default()
    };
    cfg.ppp.authentication = ppp::AuthSet::ALL;
    let mut s = PppLns::new(
        cfg,
        TunnelConfig {
            host_name: b"lns".to_vec(),
            ..Default::default()
        },
        Box::new(|_, _| None),
        start,
        &mut ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    let mut aaa = ppp::aaa::Aaa::new();
    aaa.pools
        .push(ppp::aaa::IpPool::new("pool", "10.97.41.10-10.97.41.20").unwrap());
    let mut p = ppp::aaa::Profile::named("l2tp");
    p.local_address = Some(ppp::aaa::AddressSpec::Address(Ipv4Addr::new(10, 97, 41, 1)));
    p.remote_address = Some(ppp::aaa::AddressSpec::Pool("pool".into()));
    aaa.profiles.push(p);
    let mut sec = ppp::aaa::Secret::new("u", "p");
    sec.profile = "l2tp".into();
    aaa.secrets.push(sec);
    s.set_store(Box::new(aaa));
    s
}

fn client_l2tp(seed: u64, start: Instant) -> L2tpClient {
    let mut cfg = ClientConfig {
        connect_to: Some(IpAddr::V4(SERVER)),
        disabled: false,
        use_ipsec: UseIpsec::Yes,
        tunnel: TunnelConfig {
            host_name: b"c".to_vec(),
            ..Default::default()
        },
        ..ClientConfig::default()
    };
    cfg.ppp.user = "u".into();
    cfg.ppp.password = "p".into();
    L2tpClient::new(cfg, start, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap()
}

/// Is this UDP payload (on `port`) IKE, ESP or a keepalive, as RFC 3948 allows on the wire?
fn protected(port: u16, b: &[u8]) -> bool {
    match port {
        500 => b.len() >= 28 && b[17] == 0x10, // ISAKMP version 1.0
        4500 => b == [0xff] || b.len() >= 8,   // marker + IKE, or ESP (SPI != 0)
        _ => false,
    }
}

#[test]
fn two_clients_behind_one_nat_to_ipcp_and_ping_inside_esp_and_plain_l2tp_refused() {
    let start = Instant::now();
    let mut now = start;
    let inner = Ipv4Addr::new(192, 168, 1, 2);
    let mut clients: Vec<Cli> = (0..2u16)
        .map(|i| Cli {
            l2tp: client_l2tp(10 + u64::from(i), start),
            ipsec: L2tpIpsec::client(
                Config::new(PSK, inner),
                SERVER,
                start,
                rng(20 + u64::from(i)),
            )
            .unwrap(),
            map500: SocketAddr::new(IpAddr::V4(NAT), 50_000 + i),
            map4500: SocketAddr::new(IpAddr::V4(NAT), 60_000 + i),
            up: None,
            replies: 0,
        })
        .collect();
    let mut server = L2tpIpsec::server(Config::new(PSK, SERVER), rng(30));
    let mut lns = lns(start);
    let mut wire_ports: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut server_up = 0;
    let mut pings_sent = [0u16; 2];
    let end = start + Duration::from_secs(30);
    while now < end && clients.iter().any(|c| c.replies < 3) {
        // Clients: L2TP out through ESP once the SA is up; datagrams to the server.
        for c in clients.iter_mut() {
            if c.ipsec.is_up() {
                let key = c.ipsec.client_key().unwrap();
                while let Some(d) = c.l2tp.poll_transmit(now) {
                    assert!(c.ipsec.send_l2tp(key, &d));
                }
                if let (Some(me), true) = (c.up, c.replies < 3) {
                    let i = usize::from(c.map500.port() - 50_000);
                    let pkt = netsim::pcap::icmp4_echo(
                        me.octets(),
                        [10, 97, 41, 1],
                        false,
                        7,
                        pings_sent[i],
                        b"ping",
                    );
                    let mut out = [0u8; 256];
                    let n = c.l2tp.send_datagram(now, 0x0021, &pkt, &mut out).unwrap();
                    assert!(c.ipsec.send_l2tp(key, &out[..n]));
                    pings_sent[i] += 1;
                }
            }
            while let Some(e) = c.ipsec.poll_event() {
                if let IpsecEvent::Down { reason, .. } = e {
                    panic!("client IPsec down: {reason}");
                }
            }
            while let Some(g) = c.ipsec.poll_transmit(now) {
                assert_eq!(g.to.ip(), IpAddr::V4(SERVER));
                assert!(protected(g.to.port(), &g.payload), "{g:?}");
                wire_ports.push((g.to.port(), g.payload.clone()));
                // Through the NAT: the source becomes the mapping of the client's port.
                let from = if g.local_port == 500 {
                    c.map500
                } else {
                    c.map4500
                };
                if let Input::L2tp { key, payload } =
                    server.handle_datagram(now, g.to.port(), from, &g.payload)
                {
                    let peer = Peer {
                        key,
                        addr: key.ip(),
                        via_ipsec: true,
                    };
                    let p = payload.to_vec();
                    if let Ok(PppLnsInput::Datagram {
                        tunnel_id,
                        session_id,
                        payload,
                        ..
                    }) = lns.handle_input(now, &peer, &p)
                    {
                        // The LNS side answers the echo (request -> reply).
                        let mut r = payload.to_vec();
                        r[20] = 0;
                        r.swap(12, 16);
                        r.swap(13, 17);
                        r.swap(14, 18);
                        r.swap(15, 19);
                        let mut out = [0u8; 256];
                        if let Ok((k, n)) =
                            lns.send_datagram(now, tunnel_id, session_id, 0x0021, &r, &mut out)
                        {
                            assert!(server.send_l2tp(k, &out[..n]));
                        }
                    }
                }
            }
        }
        // Server: LNS output into ESP; datagrams back through the NAT.
        while let Some((k, d)) = lns.poll_transmit(now) {
            assert!(server.send_l2tp(k, &d), "LNS to {k} without an SA");
        }
        while let Some(e) = server.poll_event() {
            match e {
                IpsecEvent::Up { udp_encap, .. } => {
                    assert!(udp_encap);
                    server_up += 1;
                }
                IpsecEvent::Down { reason, .. } => panic!("server IPsec down: {reason}"),
                IpsecEvent::Ike { .. } => {}
            }
        }
        while let Some(g) = server.poll_transmit(now) {
            assert!(protected(g.local_port, &g.payload));
            wire_ports.push((g.local_port, g.payload.clone()));
            let c = clients
                .iter_mut()
                .find(|c| g.to == c.map500 || g.to == c.map4500)
                .unwrap_or_else(|| panic!("server sent to {}", g.to));
            let port = if g.to == c.map500 { 500 } else { 4500 };
            let from = SocketAddr::new(IpAddr::V4(SERVER), g.local_port);
            if let Input::L2tp { payload, .. } =
                c.ipsec.handle_datagram(now, port, from, &g.payload)
            {
                let p = payload.to_vec();
                if let Ok(ClientInput::Datagram { payload, .. }) = c.l2tp.handle_input(now, &p) {
                    if payload.len() >= 28 && payload[9] == 1 && payload[20] == 0 {
                        c.replies += 1;
                    }
                }
            }
        }
        for c in clients.iter_mut() {
            while let Some(e) = c.l2tp.poll_event() {
                if let ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) = e {
                    c.up = Some(u.local);
                }
            }
        }
        while lns.poll_event().is_some() {}
        // Virtual time: 10 ms a step, timers fired when due.
        now += Duration::from_millis(10);
        for c in clients.iter_mut() {
            c.ipsec.handle_timeout(now);
            if c.l2tp.poll_timeout().is_some_and(|t| t <= now) {
                c.l2tp.handle_timeout(now);
            }
        }
        server.handle_timeout(now);
        if lns.poll_timeout().is_some_and(|t| t <= now) {
            lns.handle_timeout(now);
        }
    }
    let (a, b) = (clients[0].up, clients[1].up);
    assert!(a.is_some() && b.is_some(), "not up: {a:?} {b:?}");
    assert_ne!(a, b, "two sessions, two pool addresses");
    assert!(clients.iter().all(|c| c.replies >= 3));
    assert_eq!(server_up, 2);
    assert_eq!(server.sa_count(), 2, "told apart by SA");
    assert_eq!(lns.lns().tunnel_count(), 2);
    let st = server.stats();
    assert!(st.esp_in >= 10 && st.esp_out >= 10, "{st:?}");
    assert_eq!((st.esp_dropped, st.esp_not_l2tp), (0, 0));
    // Nothing but IKE and ESP crossed: no datagram to or from port 1701.
    assert!(wire_ports.iter().all(|(p, _)| *p == 500 || *p == 4500));
    assert!(wire_ports.iter().filter(|(p, _)| *p == 4500).count() > 20);

    // A plain L2TP client: its SCCRQ arrives outside IPsec and is refused.
    let mut plain = client_l2tp(99, now);
    let before = lns.lns().stats().dropped_not_ipsec;
    let d = plain.poll_transmit(now).expect("SCCRQ");
    let peer = Peer {
        key: SocketAddr::new(IpAddr::V4(NAT), 1701),
        addr: IpAddr::V4(NAT),
        via_ipsec: false,
    };
    let _ = lns.handle_input(now, &peer, &d);
    assert_eq!(lns.lns().stats().dropped_not_ipsec, before + 1);
    assert_eq!(lns.lns().tunnel_count(), 2);
    assert!(lns.poll_transmit(now).is_none(), "no answer to plain L2TP");
}

/// `use-ipsec` without a pre-shared key is refused before anything is sent, from the command
/// line and from an `.rsc` file (RouterOS `use-ipsec=yes` with no `ipsec-secret`) alike.
#[test]
fn use_ipsec_without_a_secret_is_refused() {
    let run = |bin: &str, args: &[&str]| {
        let o = std::process::Command::new(bin).args(args).output().unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let client = env!("CARGO_BIN_EXE_l2tp-client");
    let (ok, err) = run(client, &["127.0.0.1", "--use-ipsec", "--hold", "1"]);
    assert!(!ok && err.contains("--ipsec-secret"), "{err}");
    let dir = std::env::temp_dir().join(format!("l2tp-ipsec-rsc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rsc = dir.join("c.rsc");
    std::fs::write(
        &rsc,
        "/interface l2tp-client add connect-to=127.0.0.1 name=l1 use-ipsec=yes user=u\n",
    )
    .unwrap();
    let (ok, err) = run(client, &["--config", rsc.to_str().unwrap(), "--hold", "1"]);
    assert!(!ok && err.contains("ipsec-secret"), "{err}");
    let server = env!("CARGO_BIN_EXE_l2tp-server");
    let (ok, err) = run(
        server,
        &[
            "127.0.0.1",
            "--port",
            "0",
            "--use-ipsec",
            "required",
            "--hold",
            "1",
        ],
    );
    assert!(!ok && err.contains("--ipsec-secret"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a stranger can make the server hold: garbage on 500 and 4500 creates no peer; a
/// datagram that looks like main mode message 1 but does not parse is forgotten at once; a
/// real initiator that stops after message 1 is reaped 30 s later.
#[test]
fn server_holds_no_state_for_garbage_and_reaps_half_open_peers() {
    let start = Instant::now();
    let mut server = L2tpIpsec::server(Config::new(PSK, SERVER), rng(40));
    let from = SocketAddr::new(IpAddr::V4(NAT), 500);
    for junk in [&[1u8, 2, 3][..], &[0u8; 40][..], &[0xffu8; 64][..]] {
        assert_eq!(
            server.handle_datagram(start, 500, from, junk),
            Input::Consumed
        );
        assert_eq!(
            server.handle_datagram(start, 4500, from, junk),
            Input::Consumed
        );
    }
    // Main mode 1's header with a broken body.
    let mut mm1 = vec![0u8; 40];
    mm1[..8].copy_from_slice(b"cookie!!");
    mm1[16] = 1; // next payload SA
    mm1[17] = 0x10;
    mm1[18] = 2;
    mm1[24..28].copy_from_slice(&40u32.to_be_bytes());
    server.handle_datagram(start, 500, from, &mm1);
    assert!(server.poll_transmit(start).is_none());
    assert_eq!(server.sa_count(), 0);
    assert!(server.poll_timeout().is_none(), "nothing held");
    assert_eq!(
        (server.stats().esp_dropped, server.stats().ike_dropped),
        (1, 6)
    );
    // A genuine main mode 1, then silence: answered, then reaped after 30 s.
    let mut c = L2tpIpsec::client(
        Config::new(PSK, Ipv4Addr::new(192, 168, 1, 2)),
        SERVER,
        start,
        rng(41),
    )
    .unwrap();
    let m1 = c.poll_transmit(start).unwrap();
    server.handle_datagram(start, 500, from, &m1.payload);
    assert!(server.poll_transmit(start).is_some(), "main mode 2");
    assert!(server.poll_timeout().is_some());
    server.handle_timeout(start + Duration::from_secs(31));
    assert!(matches!(
        std::iter::from_fn(|| server.poll_event()).last(),
        Some(IpsecEvent::Down { .. })
    ));
}

/// Phase-2 rekeys under traffic: with a 60 s lifetime the client runs quick mode again at
/// 54 s and 108 s; each successor is reported (`rekeyed`), the old inbound SA still decrypts
/// what was in flight, and pings (one a second) keep coming back across both rekeys with no
/// ESP dropped on either side.
#[test]
fn rekeys_under_traffic_lose_nothing() {
    let start = Instant::now();
    let mut now = start;
    let client_ip = Ipv4Addr::new(10, 0, 0, 2);
    let mut cfg = Config::new(PSK, client_ip);
    cfg.esp_lifetime = Some(Duration::from_secs(60));
    let mut l2 = client_l2tp(5, start);
    let mut cli = L2tpIpsec::client(cfg.clone(), SERVER, start, rng(6)).unwrap();
    let mut scfg = Config::new(PSK, SERVER);
    scfg.esp_lifetime = Some(Duration::from_secs(60));
    let mut server = L2tpIpsec::server(scfg, rng(7));
    let mut lns = lns(start);
    let mut up: Option<Ipv4Addr> = None;
    let (mut sent, mut replies, mut next_ping) = (0u16, 0u32, start);
    let mut rekeys = (0, 0);
    let mut reply_times = Vec::new();
    let from_client = |port| SocketAddr::new(IpAddr::V4(client_ip), port);
    let from_server = |port| SocketAddr::new(IpAddr::V4(SERVER), port);
    while now < start + Duration::from_secs(130) {
        if let (true, Some(key)) = (cli.is_up(), cli.client_key()) {
            while let Some(d) = l2.poll_transmit(now) {
                assert!(cli.send_l2tp(key, &d));
            }
            if let (Some(me), true) = (up, now >= next_ping) {
                let pkt =
                    netsim::pcap::icmp4_echo(me.octets(), [10, 97, 41, 1], false, 9, sent, b"ping");
                let mut out = [0u8; 256];
                let n = l2.send_datagram(now, 0x0021, &pkt, &mut out).unwrap();
                assert!(cli.send_l2tp(key, &out[..n]));
                sent += 1;
                next_ping = now + Duration::from_secs(1);
            }
        }
        while let Some(e) = cli.poll_event() {
            match e {
                IpsecEvent::Up { rekeyed: true, .. } => rekeys.0 += 1,
                IpsecEvent::Down { reason, .. } => panic!("client down: {reason}"),
                _ => {}
            }
        }
        while let Some(g) = cli.poll_transmit(now) {
            if let Input::L2tp { key, payload } =
                server.handle_datagram(now, g.to.port(), from_client(g.local_port), &g.payload)
            {
                let peer = Peer {
                    key,
                    addr: key.ip(),
                    via_ipsec: true,
                };
                let p = payload.to_vec();
                if let Ok(PppLnsInput::Datagram {
                    tunnel_id,
                    session_id,
                    payload,
                    ..
                }) = lns.handle_input(now, &peer, &p)
                {
                    let mut r = payload.to_vec();
                    r[20] = 0;
                    for i in 0..4 {
                        r.swap(12 + i, 16 + i);
                    }
                    let mut out = [0u8; 256];
                    let (k, n) = lns
                        .send_datagram(now, tunnel_id, session_id, 0x0021, &r, &mut out)
                        .unwrap();
                    assert!(server.send_l2tp(k, &out[..n]));
                }
            }
        }
        while let Some((k, d)) = lns.poll_transmit(now) {
            assert!(server.send_l2tp(k, &d));
        }
        while let Some(e) = server.poll_event() {
            match e {
                IpsecEvent::Up { rekeyed: true, .. } => rekeys.1 += 1,
                IpsecEvent::Down { reason, .. } => panic!("server down: {reason}"),
                _ => {}
            }
        }
        while let Some(g) = server.poll_transmit(now) {
            if let Input::L2tp { payload, .. } =
                cli.handle_datagram(now, g.to.port(), from_server(g.local_port), &g.payload)
            {
                let p = payload.to_vec();
                if let Ok(ClientInput::Datagram { payload, .. }) = l2.handle_input(now, &p) {
                    if payload.len() >= 28 && payload[20] == 0 {
                        replies += 1;
                        reply_times.push(now - start);
                    }
                }
            }
        }
        while let Some(e) = l2.poll_event() {
            if let ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) = e {
                up = Some(u.local);
            }
        }
        while lns.poll_event().is_some() {}
        now += Duration::from_millis(10);
        cli.handle_timeout(now);
        server.handle_timeout(now);
        if l2.poll_timeout().is_some_and(|t| t <= now) {
            l2.handle_timeout(now);
        }
        if lns.poll_timeout().is_some_and(|t| t <= now) {
            lns.handle_timeout(now);
        }
    }
    assert_eq!(
        rekeys,
        (2, 2),
        "a rekey at 54 s and at 108 s, seen by both ends"
    );
    // Every ping after the first second came back, across both rekeys.
    assert!(u32::from(sent) >= 120, "{sent} pings");
    assert!(
        replies + 1 >= u32::from(sent),
        "{replies} replies to {sent} pings"
    );
    assert!(reply_times.iter().any(|t| *t > Duration::from_secs(120)));
    for st in [cli.stats(), server.stats()] {
        assert_eq!((st.esp_dropped, st.esp_not_l2tp), (0, 0), "{st:?}");
    }
}
