#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! PNS (RouterOS pptp-client) and PAC (pptp-server) over a simulated link in virtual time.

mod common;
use common::*;
use std::time::Duration;

use netsim::LinkConfig;
use pptp::wire::Message;
use pptp::{ClientEvent, ServerConfig};

fn ping(n: u8) -> Vec<u8> {
    // an IPv4-looking datagram; PPP does not look inside
    let mut v = vec![
        0x45, 0, 0, 28, 0, n, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
    ];
    v.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, n]);
    v
}

#[test]
fn connect_mschapv2_mppe128_ipcp_and_datagrams_both_ways() {
    let mut s = Sim::new(
        Sim::client_config(),
        ServerConfig::enabled(),
        LinkConfig::perfect(),
        1,
    );
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()
        && s.server_session().is_some_and(|x| x.mppe_up())));
    // The connection authenticated a call: it no longer counts as half-open (issue #24).
    assert_eq!(s.server.half_open(), 0);
    let ss = s.server_session().unwrap();
    assert_eq!(ss.encoding().as_deref(), Some("MPPE128 stateless"));
    let cs = s.client.ppp().session().unwrap();
    assert_eq!(cs.encoding().as_deref(), Some("MPPE128 stateless"));
    // Control ladder: SCCRQ/SCCRP, OCRQ/OCRP, nothing else.
    assert_eq!(
        s.up_trace.names(),
        ["Start-Control-Connection-Request", "Outgoing-Call-Request"]
    );
    assert_eq!(
        s.down_trace.names(),
        ["Start-Control-Connection-Reply", "Outgoing-Call-Reply"]
    );
    let Message::StartControlConnectionReply(r) = s.down_trace.msgs[0].1 else {
        unreachable!()
    };
    assert_eq!(r.host_name.as_bytes(), b"MikroTik");
    // datagrams
    let now = s.now;
    for i in 0..5 {
        s.client.send_datagram(now, 0x0021, &ping(i)).unwrap();
    }
    let key = s.server.call_keys().next().unwrap();
    for i in 10..15 {
        s.server.send_datagram(now, &key, 0x0021, &ping(i)).unwrap();
    }
    s.run_for(Duration::from_millis(500));
    let want: Vec<_> = (0..5).map(|i| (0x0021, ping(i))).collect();
    assert_eq!(s.server_rx, want);
    let want: Vec<_> = (10..15).map(|i| (0x0021, ping(i))).collect();
    assert_eq!(s.client_rx, want);
    // every data packet after CCP carries PPP protocol 0x00FD (MPPE)
    let last = &s.client_gre.last().unwrap().1;
    let (h, r) = pptp::wire::EnhancedGreRepr::parse(last).unwrap();
    if h.sequence.is_some() {
        assert_eq!(&last[r.start..r.start + 4], &[0xff, 0x03, 0x00, 0xfd]);
    }
}

#[test]
fn lossy_gre_path_still_comes_up_and_carries_datagrams() {
    for seed in [3u64, 7, 11] {
        let mut gre = LinkConfig::lossy(0.05);
        gre.duplicate = 0.15;
        gre.reorder = 0.15;
        let mut s = Sim::new(Sim::client_config(), ServerConfig::enabled(), gre, seed);
        assert!(
            s.run_until(Duration::from_secs(60), |s| s.client_up()
                && s.client.ppp().session().is_some_and(|x| x.mppe_up())
                && s.server_session().is_some_and(|x| x.mppe_up())),
            "seed {seed}"
        );
        let key = s.server.call_keys().next().unwrap();
        // (a retransmitted PPP Configure-Request may renegotiate IPCP for a moment: a send
        // then fails with "not open", as on any lossy PPP link)
        let (mut up_ok, mut down_ok) = (0, 0);
        for i in 0..100u8 {
            let now = s.now;
            up_ok += usize::from(s.client.send_datagram(now, 0x0021, &ping(i)).is_ok());
            down_ok += usize::from(s.server.send_datagram(now, &key, 0x0021, &ping(i)).is_ok());
            s.run_for(Duration::from_millis(20));
        }
        s.run_for(Duration::from_secs(1));
        assert!(
            up_ok >= 80 && down_ok >= 80,
            "seed {seed}: {up_ok} {down_ok}"
        );
        // loss is allowed, duplicates never reach the application, order is kept
        for (rx, sent) in [(&s.server_rx, up_ok), (&s.client_rx, down_ok)] {
            assert!(
                rx.len() * 10 >= sent * 7,
                "seed {seed}: {} of {sent}",
                rx.len()
            );
            let ids: Vec<u8> = rx.iter().map(|(_, d)| d[5]).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "seed {seed}: {ids:?}");
        }
        let g = s.server.gre(key.call_id).unwrap().stats();
        assert!(g.rx_duplicates + g.rx_out_of_order > 0, "{g:?}");
        // MPPE stateless never lost sync
        let c = s.server_session().unwrap().mppe_counters();
        assert_eq!(c.rx_dropped, 0, "seed {seed}: {c:?}");
    }
}

#[test]
fn clean_teardown_call_clear_cdn_stop() {
    let mut s = Sim::new(
        Sim::client_config(),
        ServerConfig::enabled(),
        LinkConfig::perfect(),
        2,
    );
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()));
    let now = s.now;
    s.client.disable(now);
    s.run_for(Duration::from_secs(5));
    assert_eq!(
        s.up_trace.names(),
        [
            "Start-Control-Connection-Request",
            "Outgoing-Call-Request",
            "Call-Clear-Request",
            "Stop-Control-Connection-Request"
        ]
    );
    assert_eq!(
        s.down_trace.names(),
        [
            "Start-Control-Connection-Reply",
            "Outgoing-Call-Reply",
            "Call-Disconnect-Notify",
            "Stop-Control-Connection-Reply"
        ]
    );
    let Message::CallDisconnectNotify(n) = s.down_trace.msgs[2].1 else {
        unreachable!()
    };
    assert_eq!(n.result_code, pptp::wire::codes::cdn::REQUEST);
    assert!(s
        .client_events
        .iter()
        .any(|(_, e)| matches!(e, ClientEvent::Disconnect(pptp::CloseReason::LocalStop))));
    assert_eq!(s.server.connections(), 0);
    assert_eq!(s.server.host().len(), 0);
    assert!(!s.tcp_open);
    // disabled: no redial
    s.run_for(Duration::from_secs(60));
    assert_eq!(s.up_trace.msgs.len(), 4);
}

#[test]
fn echo_keepalive_timing_is_exact() {
    let delay = Duration::from_millis(10); // the control link's one-way delay
    let mut s = Sim::new(
        Sim::client_config(),
        ServerConfig::enabled(),
        LinkConfig::perfect(),
        4,
    );
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()));
    // The server last heard the OCRQ: its Echo-Request goes out 60 s after that arrived
    // (RFC 2637 s3.1.4), the client answers with the same identifier.
    let ocrq_at = s.up_trace.msgs[1].0;
    s.run_for(Duration::from_secs(200));
    let echo: Vec<_> = s
        .down_trace
        .msgs
        .iter()
        .filter(|(_, m)| matches!(m, Message::EchoRequest { .. }))
        .collect();
    assert_eq!(echo[0].0, ocrq_at + delay + Duration::from_secs(60));
    assert_eq!(echo[0].1, Message::EchoRequest { identifier: 1 });
    let reply = s
        .up_trace
        .msgs
        .iter()
        .find(|(_, m)| matches!(m, Message::EchoReply { .. }))
        .unwrap();
    assert_eq!(
        reply.1,
        Message::EchoReply {
            identifier: 1,
            result_code: 1,
            error_code: 0
        }
    );
    assert_eq!(reply.0, echo[0].0 + delay);
    assert!(s.client.control().is_some_and(|c| c.is_established()));

    // Cut the control channel right after the call is up: the client's Echo-Request goes
    // out 60 s after the OCRP arrived, gets no reply, and the client closes the connection
    // exactly echo-timeout (60 s) later.
    let mut s = Sim::new(
        Sim::client_config(),
        ServerConfig::enabled(),
        LinkConfig::perfect(),
        4,
    );
    assert!(s.run_until(Duration::from_secs(10), |s| s.client.gre().is_some()));
    let ocrp_at = s.down_trace.msgs[1].0;
    s.ctl_down.set_cut(true);
    s.ctl_up.set_cut(true);
    s.run_for(Duration::from_secs(200));
    let sent: Vec<Duration> = s
        .up_trace
        .msgs
        .iter()
        .filter(|(_, m)| matches!(m, Message::EchoRequest { .. }))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(sent, [ocrp_at + delay + Duration::from_secs(60)]);
    let closed = s
        .client_events
        .iter()
        .find(|(_, e)| matches!(e, ClientEvent::Disconnect(pptp::CloseReason::EchoTimeout)))
        .map(|(t, _)| *t)
        .expect("closed by echo timeout");
    assert_eq!(closed, sent[0] + Duration::from_secs(60));
    // the server, too, gave up on its side
    assert!(s.server_events.iter().any(|(_, e)| matches!(
        e,
        pptp::ServerEvent::Disconnect {
            reason: pptp::CloseReason::EchoTimeout,
            ..
        }
    )));
}

#[test]
fn ack_only_within_100ms_and_piggy_backed_acks() {
    let mut s = Sim::new(
        Sim::client_config(),
        ServerConfig::enabled(),
        LinkConfig::perfect(),
        5,
    );
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()
        && s.server_session().is_some_and(|x| x.mppe_up())));
    s.run_for(Duration::from_secs(2));
    let key = s.server.call_keys().next().unwrap();
    let n_client = s.client_gre.len();
    let t0 = s.elapsed();
    let now = s.now;
    s.server.send_datagram(now, &key, 0x0021, &ping(1)).unwrap();
    s.run_for(Duration::from_millis(300));
    let sent: Vec<_> = s.client_gre[n_client..].to_vec();
    assert_eq!(sent.len(), 1, "exactly one stand-alone ack");
    let (h, r) = pptp::wire::EnhancedGreRepr::parse(&sent[0].1).unwrap();
    assert!(r.is_empty() && h.sequence.is_none());
    let srv = s.server.gre(key.call_id).unwrap();
    assert_eq!(h.ack, Some(srv.next_seq() - 1));
    // arrival after 10 ms link delay, ack 100 ms later
    assert_eq!(sent[0].0, t0 + Duration::from_millis(110));
    // a reply within 100 ms carries the ack instead
    let n_client = s.client_gre.len();
    let now = s.now;
    s.server.send_datagram(now, &key, 0x0021, &ping(2)).unwrap();
    s.run_for(Duration::from_millis(50));
    let now = s.now;
    s.client.send_datagram(now, 0x0021, &ping(3)).unwrap();
    s.run_for(Duration::from_millis(300));
    let sent: Vec<_> = s.client_gre[n_client..].to_vec();
    assert_eq!(
        sent.len(),
        1,
        "the data packet piggy-backs the ack; no ack-only"
    );
    let (h, _) = pptp::wire::EnhancedGreRepr::parse(&sent[0].1).unwrap();
    assert!(h.sequence.is_some());
    assert_eq!(
        h.ack,
        Some(s.server.gre(key.call_id).unwrap().next_seq() - 1)
    );
}

#[test]
fn server_disconnect_sends_cdn_and_the_client_redials() {
    let mut s = Sim::new(
        Sim::client_config(),
        ServerConfig::enabled(),
        LinkConfig::perfect(),
        6,
    );
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()));
    let key = s.server.call_keys().next().unwrap();
    let now = s.now;
    s.server.close_call(now, &key, "admin").unwrap();
    assert!(s.run_until(Duration::from_secs(5), |s| !s.tcp_open));
    assert_eq!(
        s.down_trace.names()[2..],
        ["Call-Disconnect-Notify", "Stop-Control-Connection-Reply"]
    );
    let Message::CallDisconnectNotify(n) = s.down_trace.msgs[2].1 else {
        unreachable!()
    };
    assert_eq!(n.result_code, pptp::wire::codes::cdn::ADMIN_SHUTDOWN);
    assert_eq!(s.up_trace.names()[2..], ["Stop-Control-Connection-Request"]);
    assert!(s.client_events.iter().any(|(_, e)| matches!(
        e,
        ClientEvent::Control(pptp::ControlEvent::CallDown {
            reason: pptp::CallEndReason::Disconnected { result_code: 3, .. },
            ..
        })
    )));
    // the client redials (ppp host redial delay, 10 s) and comes back up
    let down_at = s.elapsed();
    assert!(s.run_until(Duration::from_secs(30), |s| s.client_up()));
    assert!(s.elapsed() >= down_at + Duration::from_secs(10));
    assert_eq!(s.server.connections(), 1);
}

/// PPP protocol of a GRE data packet (after `ff 03`), if any.
fn ppp_protocol(pkt: &[u8]) -> Option<u16> {
    let (h, r) = pptp::wire::EnhancedGreRepr::parse(pkt).ok()?;
    h.sequence?;
    let f = &pkt[r];
    let f = f.strip_prefix(&[0xff, 0x03]).unwrap_or(f);
    Some(if f[0] & 1 == 1 {
        u16::from(f[0])
    } else {
        u16::from_be_bytes([f[0], f[1]])
    })
}

#[test]
fn status_mtu_and_no_ipv6cp() {
    let mut s = Sim::new(
        Sim::client_config(),
        ServerConfig::enabled(),
        LinkConfig::perfect(),
        7,
    );
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()));
    // monitor status: dialing -> verifying password... -> connected (S4 L103-106)
    let statuses: Vec<ppp::Status> = s
        .client_events
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Ppp(ppp::host::ClientEvent::Status(st)) => Some(*st),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ppp::Status::Dialing,
            ppp::Status::VerifyingPassword,
            ppp::Status::Connected
        ]
    );
    let up = s
        .client_events
        .iter()
        .find_map(|(_, e)| match e {
            ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) => Some(u.clone()),
            _ => None,
        })
        .unwrap();
    // max-mtu 1450 (S0 L856); the ppp host reports the MTU left after MPPE's 4-byte header
    assert_eq!(up.mtu, 1450 - 4);
    assert_eq!(up.profile, "default-encryption");
    s.run_for(Duration::from_secs(3));
    // IPv6CP is never offered over PPTP (S0 L843)
    for (_, p) in s.client_gre.iter().chain(&s.server_gre) {
        assert_ne!(ppp_protocol(p), Some(0x8057));
    }
}

#[test]
fn peer_window_bounds_unacknowledged_packets_exactly() {
    let mut sc = ServerConfig::enabled();
    sc.control.recv_window = 3;
    let mut s = Sim::new(Sim::client_config(), sc, LinkConfig::perfect(), 8);
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()
        && s.client.ppp().session().is_some_and(|x| x.mppe_up())
        && s.server_session().is_some_and(|x| x.mppe_up())));
    s.run_for(Duration::from_secs(1));
    assert_eq!(s.client.gre().unwrap().peer_window(), 3);
    assert_eq!(s.client.gre().unwrap().outstanding(), 0);
    // a burst of 5 with no acknowledgment in between: 3 go, 2 are refused
    let now = s.now;
    let r: Vec<bool> = (0..5)
        .map(|i| s.client.send_datagram(now, 0x0021, &ping(i)).is_ok())
        .collect();
    assert_eq!(r, [true, true, true, false, false]);
    assert_eq!(s.client.gre().unwrap().stats().tx_window_full, 2);
    // the server acknowledges within 100 ms; the window opens again
    s.run_for(Duration::from_millis(150));
    assert_eq!(s.client.gre().unwrap().outstanding(), 0);
    let now = s.now;
    assert!(s.client.send_datagram(now, 0x0021, &ping(9)).is_ok());
    s.run_for(Duration::from_millis(150));
    let ids: Vec<u8> = s.server_rx.iter().map(|(_, d)| d[5]).collect();
    assert_eq!(ids, [0, 1, 2, 9]);
}

#[test]
fn server_lcp_keepalive_ends_a_dead_session_and_sends_cdn() {
    let mut s = Sim::new(
        Sim::client_config(),
        ServerConfig::enabled(),
        LinkConfig::perfect(),
        9,
    );
    assert!(s.run_until(Duration::from_secs(10), |s| s.client_up()));
    s.run_for(Duration::from_secs(1));
    s.gre_up.set_cut(true);
    s.gre_down.set_cut(true);
    let cut = s.elapsed();
    assert!(s.run_until(Duration::from_secs(120), |s| s.server.host().is_empty()));
    let gone = s.elapsed() - cut;
    // keepalive-timeout 30 s of silence (counted from the last frame before the cut), then
    // five LCP echoes 1 s apart (S0 L876); the exact schedule is the ppp crate's
    assert!(
        gone >= Duration::from_secs(30) && gone <= Duration::from_secs(41),
        "{gone:?}"
    );
    let echoes = s
        .server_gre
        .iter()
        .filter(|(t, p)| *t >= cut && ppp_protocol(p) == Some(0xc021))
        .filter(|(_, p)| {
            // LCP code after `ff 03 c0 21` (the enhanced GRE header is 12 or 16 bytes)
            let (_, r) = pptp::wire::EnhancedGreRepr::parse(p).unwrap();
            p[r.start + 4] == 9
        })
        .count();
    assert_eq!(echoes, 5, "five LCP Echo-Requests");
    assert!(s.down_trace.names().contains(&"Call-Disconnect-Notify"));
}
