//! Tour scenario for the `ovpn` crate: our OpenVPN client and our multi-client server
//! (`ovpn::server::Server`) over the simulated link with tls-crypt and AES-256-GCM
//! (negotiated, keys from TLS-EKM): the hard reset answered statelessly (the server session
//! id is an HMAC cookie; the session is created only from the client's next packet), the
//! TLS 1.3 handshake in P_CONTROL_V1 messages with acks and retransmissions, key method 2,
//! PUSH_REQUEST/PUSH_REPLY with an address from the server's pool, data in P_DATA_V2,
//! keepalive pings, then a renegotiation (SOFT_RESET, key id 1, control channel under
//! dyn-tls-crypt) while traffic continues, the client's goodbye (`EXIT` on the control
//! channel, explicit-exit-notify) and the server's accounting record.

use std::time::{Duration, Instant};

use netsim::ovpn::{ServerPeer, SessionPeer as Peer};
use netsim::{Dir, LinkConfig, Pair, TestRng};
use ovpn::crypto::StaticKey;
use ovpn::event::Event;
use ovpn::pool::Ipv4Pool;
use ovpn::protect::{ControlWrap, TlsCrypt};
use ovpn::server::{Server, StatelessConfig};
use ovpn::session::{Role, Session, SessionConfig, WrapConfig};
use ovpn::tls::{RustlsEngine, TlsEngine, TlsMaterial};
use ovpn::wire::{split_first_byte, ControlPacket, DataPacket, Opcode};

use super::{Opts, PcapOut, Report};
use crate::ovpn_util::demo_pki;

fn tc_key() -> Result<StaticKey, String> {
    let b: Vec<u8> = (0..256u32).map(|i| (i * 7 + 3) as u8).collect();
    StaticKey::from_bytes(&b).map_err(|e| e.to_string())
}

fn summarize(pkt: &[u8], from_client: bool, key: &StaticKey) -> String {
    let Ok((op, kid)) = split_first_byte(pkt) else {
        return "malformed".into();
    };
    if op.is_data() {
        let d = DataPacket::parse(pkt);
        return match d {
            Ok(d) => format!(
                "{} kid={kid} peer-id={} {} B encrypted",
                op.name(),
                d.peer_id.map_or("-".into(), |p| p.to_string()),
                d.payload.len()
            ),
            Err(e) => e.to_string(),
        };
    }
    // Show what the receiver sees after removing tls-crypt.
    let rx = ControlWrap::Crypt(TlsCrypt::new(key, from_client));
    let mut plain = vec![0u8; pkt.len()];
    let Ok((n, replay)) = rx.unwrap(pkt, &mut plain) else {
        if kid > 0 {
            // Renegotiations run under dyn-tls-crypt: a tls-crypt key exported from the
            // first TLS session (XORed with the configured one), which only the two ends
            // know; the header stays readable.
            let b = |i: usize| pkt.get(i).copied().unwrap_or(0);
            let rid = u32::from_be_bytes([b(9), b(10), b(11), b(12)]);
            return format!(
                "{} kid={kid} sid={:02x}{:02x}.. replay-id={rid} (dyn-tls-crypt, {} B)",
                op.name(),
                b(1),
                b(2),
                pkt.len()
            );
        }
        return format!("{} (tls-crypt tag did not verify)", op.name());
    };
    match ControlPacket::parse(&plain[..n]) {
        Ok(p) => {
            let mut s = format!(
                "{} kid={kid} sid={:02x}{:02x}..",
                op.name(),
                p.session_id[0],
                p.session_id[1]
            );
            if let Some((id, _)) = replay {
                s.push_str(&format!(" replay-id={id}"));
            }
            if !p.acks.is_empty() {
                s.push_str(&format!(" ack{:?}", p.acks.as_slice()));
            }
            if let Some(m) = p.message_id {
                s.push_str(&format!(" mid={m}"));
            }
            if !p.payload.is_empty() {
                let tls = match p.payload.first() {
                    Some(22) => " TLS handshake",
                    Some(23) => " TLS application data",
                    Some(20) => " TLS change-cipher-spec",
                    _ => " TLS continuation",
                };
                s.push_str(&format!(" {} B{tls}", p.payload.len()));
            }
            if op == Opcode::AckV1 {
                s.push_str(" (standalone ack)");
            }
            s
        }
        Err(e) => format!("{}: {e}", op.name()),
    }
}

/// Tunnel traffic both ways, a renegotiation, then the client's goodbye.
fn traffic_and_goodbye(pair: &mut Pair<Peer, ServerPeer>) -> Result<(), String> {
    // Tunnel traffic both ways.
    let now = pair.now();
    for i in 0..20u8 {
        let pkt = vec![0x45, 0, 0, 40, i];
        let mut out = vec![0u8; 128];
        let n = pair
            .a
            .s
            .send_data(now, &pkt, &mut out)
            .map_err(|e| e.to_string())?;
        pair.a.outbox.push(out[..n].to_vec());
        let (_, n) = pair
            .b
            .s
            .send_data(now, 0, &pkt, &mut out)
            .map_err(|e| e.to_string())?;
        pair.b.outbox.push(out[..n].to_vec());
    }
    // Run past reneg-sec (30 s) and a few keepalives.
    pair.run_for(Duration::from_secs(45));
    // The client says goodbye: both announce cc-exit (IV_PROTO), so `EXIT` goes on the
    // control channel and the server drops the session at once (Down(Exit)).
    let now = pair.now();
    pair.a.s.close(now);
    // The server removes the session after a short linger and reports its accounting.
    pair.run_for(Duration::from_secs(7));

    Ok(())
}

/// Seed of the client's random source for its n-th start (the first start uses the tour seed).
fn client_seed(seed: u64, attempt: u64) -> u64 {
    seed ^ (attempt - 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let key = tc_key()?;
    let start = Instant::now();
    let seed_for_client = opts.seed;
    let tls_c = TlsMaterial {
        ca_pem: Some(demo_pki::CA_CERT.into()),
        cert_pem: Some(demo_pki::CLIENT_CERT.into()),
        key_pem: Some(demo_pki::CLIENT_KEY.into()),
        ..Default::default()
    };
    let tls_s = TlsMaterial {
        ca_pem: Some(demo_pki::CA_CERT.into()),
        cert_pem: Some(demo_pki::SERVER_CERT.into()),
        key_pem: Some(demo_pki::SERVER_KEY.into()),
        ..Default::default()
    };
    // The tour's wall clock (certificate validity is checked against it, and it feeds the
    // control channel's net time): 2026-11-22 00:00 UTC, inside the demo PKI's validity.
    const WALL_CLOCK: u64 = 1_795_305_600;
    let mut cc = SessionConfig::new(Role::Client);
    cc.unix_time = WALL_CLOCK;
    cc.wrap = WrapConfig::TlsCrypt { key: key.clone() };
    cc.credentials = Some(("alice".into(), "secret".into()));
    cc.reneg = Some(Duration::from_secs(30));
    cc.ping = Some(Duration::from_secs(10));
    let mut sc = SessionConfig::new(Role::Server);
    sc.unix_time = WALL_CLOCK;
    sc.wrap = WrapConfig::TlsCrypt { key: key.clone() };
    sc.ping = Some(Duration::from_secs(10));
    // The address (`ifconfig`) comes from the server's pool.
    sc.push_options = vec![
        "topology subnet".into(),
        "route 192.168.102.0 255.255.255.0 192.168.109.1 9".into(),
    ];
    // A new client session, as OpenVPN makes one on every (re)start: after a handshake
    // timeout or a ping-restart the client process starts over with fresh state, and its
    // wall clock is the one at that moment.
    let mut attempt = 0u64;
    let mut new_client = move |now: Instant| -> Result<Session, String> {
        attempt += 1;
        let tls_c = tls_c.clone();
        let mut c = cc.clone();
        c.unix_time = WALL_CLOCK + now.saturating_duration_since(start).as_secs();
        let mut s = Session::new(
            c,
            now,
            TestRng::boxed(client_seed(seed_for_client, attempt)),
            Box::new(move || {
                Ok(Box::new(RustlsEngine::client(&tls_c, Some("tour-server"))?)
                    as Box<dyn TlsEngine>)
            }),
            None,
        )
        .map_err(|e| e.to_string())?;
        s.connect(now).map_err(|e| e.to_string())?;
        Ok(s)
    };
    let client = new_client(start)?;
    let seed = opts.seed;
    let mut server: Server<u8> = Server::new(
        Box::new(move |peer_id, now| {
            let mut c = sc.clone();
            c.peer_id = Some(peer_id + 7);
            let tls_s = tls_s.clone();
            Session::new(
                c,
                now,
                TestRng::boxed(seed ^ 0x5eed),
                Box::new(move || {
                    Ok(Box::new(RustlsEngine::server(&tls_s, true)?) as Box<dyn TlsEngine>)
                }),
                Some(Box::new(|r: &ovpn::AuthRequest<'_>| {
                    r.username == "alice" && r.password == "secret"
                })),
            )
        }),
        8,
    );
    let mask = std::net::Ipv4Addr::new(255, 255, 255, 0);
    server.set_pool(
        Ipv4Pool::from_range("192.168.77.2-192.168.77.254", mask).map_err(|e| e.to_string())?,
    );
    let stateless = StatelessConfig {
        wrap: WrapConfig::TlsCrypt { key: key.clone() },
        hand_window: Duration::from_secs(60),
        unix_time: WALL_CLOCK,
        rate_limit: Some(ovpn::RateLimit::default()),
        tls_crypt_v2_verify: None,
    };
    server
        .enable_stateless(start, stateless, &mut TestRng::new(opts.seed ^ 0xc00c1e))
        .map_err(|e| e.to_string())?;
    let client = Peer::new(client, false);
    let server = ServerPeer::new(server, 0);
    let link = if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    };
    let mut pair = Pair::with_start(client, server, link.clone(), link, opts.seed, start);
    // Up to 5 client (re)starts within 300 s of virtual time: on Down the client starts over
    // with a new session, the way an OpenVPN client restarts after hand-window or ping-restart.
    let mut restarts: Vec<(Instant, String)> = Vec::new();
    let mut up = None;
    for _ in 0..5 {
        let left = Duration::from_secs(300).saturating_sub(pair.elapsed());
        if left.is_zero() {
            break;
        }
        up = pair.run_until(left, |a, b| {
            (a.s.is_up() && b.s.session(0).is_some_and(Session::is_up))
                || a.events.iter().any(|(_, e)| matches!(e, Event::Down(_)))
        });
        if pair.a.s.is_up() && pair.b.s.session(0).is_some_and(Session::is_up) {
            break;
        }
        up = None;
        let now = pair.now();
        let reason = pair
            .a
            .events
            .iter()
            .rev()
            .find_map(|(_, e)| match e {
                Event::Down(r) => Some(format!("{r:?}")),
                _ => None,
            })
            .unwrap_or_else(|| "no progress".into());
        restarts.push((now, reason));
        pair.a.events.retain(|(_, e)| !matches!(e, Event::Down(_)));
        pair.a.s = new_client(now)?;
    }
    if up.is_some() {
        traffic_and_goodbye(&mut pair)?;
    } else {
        restarts.push((
            pair.now(),
            "no tunnel within 300 s: the tour shows the attempts".into(),
        ));
    }

    let mut r = Report::new("client", "server");
    r.time_to_up = up;
    let mut frames = Vec::new();
    let mut data_rows = 0usize;
    for t in &pair.trace {
        let from_client = t.dir == Dir::AtoB;
        let (src, dst, sp, dp) = if from_client {
            ([10, 0, 0, 2], [10, 0, 0, 1], 40000, 1194)
        } else {
            ([10, 0, 0, 1], [10, 0, 0, 2], 1194, 40000)
        };
        frames.push((t.at, netsim::pcap::udp4_wrap(src, sp, dst, dp, &t.data)));
        let is_data = t.data.first().is_some_and(|b| matches!(b >> 3, 6 | 9));
        if is_data {
            data_rows += 1;
            if data_rows > 4 {
                r.messages += 1;
                r.bytes += t.data.len();
                continue;
            }
        }
        r.msg_fate(
            t.at,
            t.dir,
            t.data.len(),
            summarize(&t.data, from_client, &key),
            !matches!(t.fate, netsim::Fate::Delivered),
        );
    }
    let text = |e: &Event| {
        match e {
        Event::PeerHello { .. } => "key method 2 from peer received".to_string(),
        Event::Pushed(pr) => format!("PUSH_REPLY applied: {}", pr.options_text()),
        Event::Accounting {
            username,
            address,
            stats,
            connected_for,
            reason,
        } => format!(
            "accounting stop: user {username:?} address {address:?}, tunnel bytes in {} / out {}, {} rekey(s), connected {connected_for:?}, reason {reason:?}",
            stats.tunnel_rx_bytes, stats.tunnel_tx_bytes, stats.rekeys
        ),
        other => format!("{other:?}"),
    }
    };
    for (at, why) in &restarts {
        r.note(
            *at - start,
            format!("client: restarts with a new session after {why}"),
        );
    }
    for (at, e) in &pair.a.events {
        r.note(*at - start, format!("client: {}", text(e)));
    }
    for (at, id, e) in &pair.b.events {
        r.note(*at - start, format!("server peer {id}: {}", text(e)));
    }
    let st = pair.b.s.stateless_stats();
    r.note(
        Duration::ZERO,
        format!(
            "server: stateless handshake on (HMAC-cookie session ids); over the run {} reset(s) answered without state, {} session(s) created from a packet echoing the cookie",
            st.resets_answered, st.sessions_created
        ),
    );
    r.lines.sort_by_key(|l| match l {
        super::Line::Msg { at, .. } | super::Line::Note { at, .. } => *at,
    });
    r.note(
        pair.elapsed(),
        format!(
            "{} data packets in all (ladder shows the first 4); tunnel packets received client {} / server {}, pings client {} / server {}; retransmissions client {} / server {}; primary key id {:?}",
            data_rows,
            pair.a.received.len(),
            pair.b.data_rx,
            pair.a.pings,
            pair.b.pings_rx,
            pair.a.s.stats().retransmits,
            pair.b
                .events
                .iter()
                .find_map(|(_, _, e)| match e {
                    Event::Accounting { stats, .. } => Some(stats.retransmits),
                    _ => None,
                })
                .unwrap_or(0),
            pair.a.s.primary_key_id()
        ),
    );
    r.pcaps = vec![PcapOut {
        file: "ovpn.pcap".into(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    }];
    Ok(r)
}
