#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Pair tests over the simulated link with virtual time.

use std::time::{Duration, Instant};

use l2tp::wire::message::result;
use l2tp::wire::{ControlMessage, Header, MessageType, ResultCode};
use l2tp::{
    CallInfo, Event, Input, ProxyInfo, SessionDownReason, Tunnel, TunnelConfig, TunnelDownReason,
    TunnelState,
};
use netsim::{Dir, Endpoint, Fate, LinkConfig, Pair};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Ep {
    t: Tunnel,
    start: Instant,
    events: Vec<(Duration, Event)>,
    /// Place this many incoming calls once the tunnel is up.
    calls_on_up: usize,
    call: CallInfo,
    data: Vec<(u16, Vec<u8>)>,
    /// Echo received data back.
    echo: bool,
    out: std::collections::VecDeque<Vec<u8>>,
}

impl Ep {
    fn new(t: Tunnel, start: Instant) -> Self {
        Ep {
            t,
            start,
            events: Vec::new(),
            calls_on_up: 0,
            call: CallInfo::default(),
            data: Vec::new(),
            echo: false,
            out: Default::default(),
        }
    }
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.t.poll_event() {
            if matches!(e, Event::TunnelUp { .. }) {
                for _ in 0..self.calls_on_up {
                    self.t.incoming_call(now, self.call.clone()).unwrap();
                }
            }
            self.events.push((now - self.start, e));
        }
    }
    fn up_sessions(&self) -> usize {
        self.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::SessionUp { .. }))
            .count()
    }
    fn tunnel_up(&self) -> bool {
        self.events
            .iter()
            .any(|(_, e)| matches!(e, Event::TunnelUp { .. }))
    }
}

impl Endpoint for Ep {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if let Ok(Input::Data {
            session_id,
            payload,
        }) = self.t.handle_input(now, data)
        {
            self.data.push((session_id, payload.to_vec()));
            if self.echo {
                let mut buf = vec![0u8; 2000];
                let n = self.t.encapsulate(session_id, payload, &mut buf).unwrap();
                buf.truncate(n);
                self.out.push_back(buf);
            }
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(d) = self.t.poll_transmit(now) {
            return Some(d);
        }
        self.out.pop_front()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.t.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.t.handle_timeout(now);
        self.drain(now);
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn cfg(name: &str) -> TunnelConfig {
    TunnelConfig {
        host_name: name.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn pair(lac_cfg: TunnelConfig, lns_cfg: TunnelConfig, link: LinkConfig, seed: u64) -> Pair<Ep, Ep> {
    let start = Instant::now();
    let lac = Tunnel::connect(lac_cfg, start, &mut rng(seed)).unwrap();
    let lns = Tunnel::accept(lns_cfg, start, &mut rng(seed + 1), 4242).unwrap();
    Pair::with_start(
        Ep::new(lac, start),
        Ep::new(lns, start),
        link.clone(),
        link,
        seed,
        start,
    )
}

fn names(p: &Pair<Ep, Ep>) -> Vec<String> {
    p.trace
        .iter()
        .map(|e| {
            let (h, _) = Header::parse(&e.data).unwrap();
            let n = if h.is_control {
                ControlMessage::parse(&e.data)
                    .unwrap()
                    .message_type()
                    .map(|t| t.name().to_string())
                    .unwrap_or("ZLB".into())
            } else {
                "DATA".into()
            };
            format!(
                "{} {} {}",
                e.at.as_millis(),
                if e.dir == Dir::AtoB { "->" } else { "<-" },
                n
            )
        })
        .collect()
}

#[test]
fn lossless_ladder_exact() {
    let mut p = pair(cfg("lac"), cfg("lns"), LinkConfig::perfect(), 1);
    p.a.calls_on_up = 1;
    let t = p
        .run_until(Duration::from_secs(5), |a, b| {
            a.up_sessions() == 1 && b.up_sessions() == 1
        })
        .unwrap();
    // The LAC is up when it sends the ICCN (40 ms), the LNS when it receives it (50 ms).
    assert_eq!(t, Duration::from_millis(50));
    p.run_for(Duration::from_millis(100));
    assert_eq!(
        names(&p),
        [
            "0 -> SCCRQ",
            "10 <- SCCRP",
            "20 -> SCCCN",
            "20 -> ICRQ",
            "30 <- ICRP",
            "40 -> ICCN",
            "50 <- ZLB",
        ]
    );
    let seqs: Vec<(u16, u16)> = p
        .trace
        .iter()
        .map(|e| Header::parse(&e.data).unwrap().0.sequence.unwrap())
        .collect();
    assert_eq!(
        seqs,
        [(0, 0), (0, 1), (1, 1), (2, 1), (1, 3), (3, 2), (2, 4)]
    );
    // Sequence numbers of that ladder: ICRQ carries Ns=2 (after SCCRQ 0, SCCCN 1), Nr=1.
    let icrq = ControlMessage::parse(&p.trace[3].data).unwrap();
    assert_eq!(icrq.header.sequence, Some((2, 1)));
    assert_eq!(icrq.header.tunnel_id, 4242);
    assert_eq!(p.a.t.peer_tunnel_id(), 4242);
    assert_eq!(p.b.t.peer_tunnel_id(), p.a.t.local_tunnel_id());
    assert_eq!(p.a.t.state(), TunnelState::Established);
}

#[test]
fn data_both_ways_with_sequencing_and_offset_free_frames() {
    let mut lns = cfg("lns");
    lns.require_sequencing = true;
    let mut p = pair(cfg("lac"), lns, LinkConfig::perfect(), 2);
    p.a.calls_on_up = 1;
    p.b.echo = true;
    p.run_until(Duration::from_secs(5), |a, b| {
        a.up_sessions() == 1 && b.up_sessions() == 1
    })
    .unwrap();
    let sid = p.a.t.sessions().next().unwrap().local_id;
    assert!(p.b.t.sessions().next().unwrap().sequencing);
    let mut buf = [0u8; 64];
    for i in 0..3u8 {
        let n =
            p.a.t
                .encapsulate(sid, &[0xff, 0x03, 0xc0, 0x21, i], &mut buf)
                .unwrap();
        p.a.out.push_back(buf[..n].to_vec());
    }
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.b.data.len(), 3);
    assert_eq!(p.a.data.len(), 3);
    assert_eq!(p.a.data[0], (sid, vec![0xff, 0x03, 0xc0, 0x21, 0]));
    // The LNS sequences (Ns 0, 1, 2); the LAC follows once it sees the S bit.
    let lns_data: Vec<Option<(u16, u16)>> = p
        .trace
        .iter()
        .filter(|e| e.dir == Dir::BtoA)
        .map(|e| Header::parse(&e.data).unwrap().0)
        .filter(|h| !h.is_control)
        .map(|h| h.sequence)
        .collect();
    assert_eq!(lns_data, [Some((0, 0)), Some((1, 0)), Some((2, 0))]);
    assert!(p.a.t.session(sid).unwrap().sequencing);
    // A stale (replayed) sequenced frame is dropped and counted.
    let replay = p
        .trace
        .iter()
        .rev()
        .find(|e| e.dir == Dir::BtoA)
        .unwrap()
        .data
        .clone();
    let now = p.now();
    assert!(p.a.t.handle_input(now, &replay).is_err());
    assert_eq!(p.a.t.stats().stale_data, 1);
    // Buffer too small: error with the needed size.
    let mut small = [0u8; 4];
    assert!(matches!(
        p.a.t.encapsulate(sid, &[0xff, 0x03, 0, 0x21], &mut small),
        Err(l2tp::Error::BufferTooSmall { need: 16, have: 4 })
    ));
    assert_eq!(small, [0; 4]);
}

#[test]
fn up_at_30_percent_loss_with_reorder_and_dup() {
    for seed in 0..20u64 {
        let mut p = pair(cfg("lac"), cfg("lns"), LinkConfig::lossy(0.3), 100 + seed);
        p.a.calls_on_up = 3;
        let t = p.run_until(Duration::from_secs(120), |a, b| {
            a.up_sessions() == 3 && b.up_sessions() == 3
        });
        assert!(t.is_some(), "seed {seed}: not up");
        // Every Ns was delivered exactly once despite duplicates.
        let st = p.b.t.channel_stats();
        assert_eq!(st.delivered, 1 + 1 + 3 + 3, "seed {seed}"); // SCCRQ, SCCCN, 3 ICRQ, 3 ICCN
        assert!(p.b.t.stats().malformed == 0);
        assert!(p.trace.iter().any(|e| e.fate == Fate::Lost), "seed {seed}");
    }
}

#[test]
fn retransmission_schedule_and_teardown_exact() {
    let mut p = pair(cfg("lac"), cfg("lns"), LinkConfig::perfect(), 3);
    p.set_cut(true);
    p.run_for(Duration::from_secs(60));
    let sends: Vec<u64> = p
        .trace
        .iter()
        .filter(|e| e.dir == Dir::AtoB)
        .map(|e| e.at.as_secs())
        .collect();
    assert_eq!(sends, [0, 1, 3, 7, 15, 23]);
    assert_eq!(
        p.a.events,
        [(
            Duration::from_secs(31),
            Event::TunnelDown {
                reason: TunnelDownReason::Timeout
            }
        )]
    );
    assert_eq!(p.a.t.state(), TunnelState::Closed);
    assert_eq!(p.a.t.poll_timeout(), None);
}

#[test]
fn established_tunnel_dies_after_retry_limit_with_sessions() {
    let mut p = pair(cfg("lac"), cfg("lns"), LinkConfig::perfect(), 4);
    p.a.calls_on_up = 2;
    p.run_until(Duration::from_secs(5), |a, b| {
        a.up_sessions() == 2 && b.up_sessions() == 2
    })
    .unwrap();
    let t0 = p.elapsed();
    p.set_cut(true);
    // Silence: HELLO after 60 s idle, then the retry schedule, then down 31 s after the HELLO.
    p.run_for(Duration::from_secs(200));
    let hello_at: Vec<Duration> = p
        .trace
        .iter()
        .filter(|e| e.dir == Dir::AtoB && e.at > t0)
        .map(|e| e.at)
        .collect();
    // Last message the LAC heard: the last one the LNS sent, plus 10 ms of link delay.
    let last_rx = p
        .trace
        .iter()
        .filter(|e| e.dir == Dir::BtoA && e.at <= t0)
        .map(|e| e.at)
        .max()
        .unwrap()
        + Duration::from_millis(10);
    let first_hello = last_rx + Duration::from_secs(60);
    assert_eq!(hello_at[0], first_hello);
    assert_eq!(hello_at.len(), 6);
    let downs: Vec<_> =
        p.a.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::TunnelDown { .. } | Event::SessionDown { .. }))
            .collect();
    assert_eq!(downs.len(), 3);
    assert_eq!(downs[2].0, first_hello + Duration::from_secs(31));
    assert!(matches!(
        downs[0].1,
        Event::SessionDown {
            reason: SessionDownReason::TunnelDown,
            ..
        }
    ));
}

#[test]
fn hello_answered_by_zlb() {
    let mut p = pair(cfg("lac"), cfg("lns"), LinkConfig::perfect(), 5);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.tunnel_up() && b.tunnel_up()
    })
    .unwrap();
    p.trace.clear();
    p.run_for(Duration::from_secs(61));
    let n = names(&p);
    // The LNS last heard the SCCCN at 30 ms, the LAC the ZLB at 40 ms. The LNS's HELLO
    // (60.030 s) reaches the LAC at 60.040 s just before the LAC's own HELLO timer, so only
    // one HELLO is sent; it is answered with a ZLB.
    assert_eq!(n, ["60030 <- HELLO", "60040 -> ZLB"]);
    assert_eq!(p.a.t.state(), TunnelState::Established);
}

#[test]
fn tie_breaker_race() {
    for seed in 0..10u64 {
        let start = Instant::now();
        let a = Tunnel::connect(cfg("a"), start, &mut rng(seed * 2)).unwrap();
        let b = Tunnel::connect(cfg("b"), start, &mut rng(seed * 2 + 1)).unwrap();
        let mut p = Pair::with_start(
            Ep::new(a, start),
            Ep::new(b, start),
            LinkConfig::perfect(),
            LinkConfig::perfect(),
            seed,
            start,
        );
        p.run_until(Duration::from_secs(10), |a, b| {
            a.t.state() == TunnelState::Established && b.t.state() == TunnelState::Established
        })
        .unwrap();
        let lost = |e: &Ep| {
            e.events.iter().any(|(_, e)| {
                matches!(
                    e,
                    Event::TunnelDown {
                        reason: TunnelDownReason::TieBreakerLost
                    }
                )
            })
        };
        assert!(lost(&p.a) ^ lost(&p.b), "exactly one side loses");
        assert_eq!(p.a.t.peer_tunnel_id(), p.b.t.local_tunnel_id());
        assert_eq!(p.b.t.peer_tunnel_id(), p.a.t.local_tunnel_id());
        p.run_for(Duration::from_secs(40));
        assert_eq!(p.a.t.state(), TunnelState::Established);
        assert_eq!(p.b.t.state(), TunnelState::Established);
    }
}

#[test]
fn thousand_sessions_one_tunnel() {
    let mut p = pair(cfg("lac"), cfg("lns"), LinkConfig::perfect(), 6);
    p.a.calls_on_up = 1000;
    p.record = false;
    let t = p
        .run_until(Duration::from_secs(120), |a, b| {
            a.up_sessions() == 1000 && b.up_sessions() == 1000
        })
        .unwrap();
    assert_eq!(p.a.t.session_count(), 1000);
    assert_eq!(p.b.t.session_count(), 1000);
    // Window 4 and 10 ms one-way: ~2000 messages in windows of 4 take a few seconds.
    assert!(t < Duration::from_secs(20), "{t:?}");
    let mut ids: Vec<u16> = p.b.t.sessions().map(|s| s.peer_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1000);
}

#[test]
fn tunnel_auth_right_and_wrong_secret_and_hidden_avps() {
    let mut lac = cfg("lac");
    lac.secret = Some(b"tunnelpass".to_vec());
    lac.hide_avps = true;
    let mut lns = cfg("lns");
    lns.secret = Some(b"tunnelpass".to_vec());
    lns.hide_avps = true;
    let mut p = pair(lac.clone(), lns.clone(), LinkConfig::perfect(), 7);
    p.a.calls_on_up = 1;
    p.run_until(Duration::from_secs(5), |a, b| {
        a.up_sessions() == 1 && b.up_sessions() == 1
    })
    .unwrap();
    // ICRQ carries a Random Vector and a hidden Assigned Session ID.
    let icrq = p
        .trace
        .iter()
        .map(|e| ControlMessage::parse(&e.data).unwrap())
        .find(|m| m.message_type() == Some(MessageType::Icrq))
        .unwrap();
    assert!(icrq.avps[1].is(l2tp::wire::attr::RANDOM_VECTOR));
    assert!(
        icrq.find(l2tp::wire::attr::ASSIGNED_SESSION_ID)
            .unwrap()
            .hidden
    );

    let mut bad = lns.clone();
    bad.secret = Some(b"other".to_vec());
    let mut p = pair(lac, bad, LinkConfig::perfect(), 8);
    p.run_for(Duration::from_secs(2));
    // LAC verifies the SCCRP's response, fails, sends StopCCN result 4.
    let stop = p
        .trace
        .iter()
        .map(|e| ControlMessage::parse(&e.data).unwrap())
        .find(|m| m.message_type() == Some(MessageType::StopCcn))
        .unwrap();
    assert_eq!(
        stop.result_code().unwrap().result,
        result::STOPCCN_NOT_AUTHORIZED
    );
    assert!(p.a.events.iter().any(|(_, e)| matches!(
        e,
        Event::TunnelDown {
            reason: TunnelDownReason::AuthFailed
        }
    )));
    assert!(p.b.events.iter().any(|(_, e)| matches!(
        e,
        Event::TunnelDown {
            reason: TunnelDownReason::PeerStopCcn(ResultCode { result: 4, .. })
        }
    )));
}

#[test]
fn stopccn_linger_and_cdn() {
    let mut p = pair(cfg("lac"), cfg("lns"), LinkConfig::perfect(), 9);
    p.a.calls_on_up = 2;
    p.run_until(Duration::from_secs(5), |a, b| {
        a.up_sessions() == 2 && b.up_sessions() == 2
    })
    .unwrap();
    let sid = p.a.t.sessions().next().unwrap().local_id;
    let now = p.now();
    p.a.t
        .disconnect_call(
            now,
            sid,
            ResultCode {
                result: result::CDN_ADMIN,
                error: None,
                message: vec![],
            },
        )
        .unwrap();
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.b.t.session_count(), 1);
    assert!(p.b.events.iter().any(|(_, e)| matches!(
        e,
        Event::SessionDown {
            reason: SessionDownReason::PeerCdn(ResultCode { result: 3, .. }),
            ..
        }
    )));
    let now = p.now();
    p.b.t.close(
        now,
        ResultCode {
            result: result::STOPCCN_GENERAL,
            error: None,
            message: vec![],
        },
    );
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.a.t.state(), TunnelState::Closing);
    assert_eq!(p.a.t.session_count(), 0);
    p.run_for(Duration::from_secs(40));
    assert_eq!(p.a.t.state(), TunnelState::Closed);
    assert_eq!(p.b.t.state(), TunnelState::Closed);
}

#[test]
fn proxy_lcp_and_auth_reach_the_lns() {
    let mut p = pair(cfg("lac"), cfg("lns"), LinkConfig::perfect(), 10);
    p.a.calls_on_up = 1;
    p.a.call = CallInfo {
        calling_number: Some(b"10.155.101.216".to_vec()),
        proxy: ProxyInfo {
            initial_received_lcp_confreq: Some(vec![1, 4, 5, 0xaa]),
            last_sent_lcp_confreq: Some(vec![3, 5, 0xc2, 0x23, 5]),
            last_received_lcp_confreq: Some(vec![1, 4, 5, 0xaa]),
            authen_type: Some(2),
            authen_name: Some(b"good_worker@mt.lv".to_vec()),
            authen_challenge: Some(vec![7; 16]),
            authen_id: Some(1),
            authen_response: Some(vec![9; 16]),
        },
        ..Default::default()
    };
    p.run_until(Duration::from_secs(5), |a, b| {
        a.up_sessions() == 1 && b.up_sessions() == 1
    })
    .unwrap();
    let call =
        p.b.events
            .iter()
            .find_map(|(_, e)| match e {
                Event::SessionUp { call, .. } => Some(call.clone()),
                _ => None,
            })
            .unwrap();
    assert_eq!(call.proxy, p.a.call.proxy);
    assert_eq!(call.calling_number.as_deref(), Some(&b"10.155.101.216"[..]));
}

#[test]
fn outgoing_call_ocrq_ocrp_occn_wen_sli() {
    let mut p = pair(cfg("lac"), cfg("lns"), LinkConfig::perfect(), 11);
    p.run_until(Duration::from_secs(5), |a, b| {
        a.tunnel_up() && b.tunnel_up()
    })
    .unwrap();
    let now = p.now();
    let lns_sid =
        p.b.t
            .outgoing_call(
                now,
                CallInfo {
                    called_number: Some(b"5551234".to_vec()),
                    ..Default::default()
                },
            )
            .unwrap();
    p.run_until(Duration::from_secs(5), |a, b| {
        a.up_sessions() == 1 && b.up_sessions() == 1
    })
    .unwrap();
    let lac_sid = p.a.t.sessions().next().unwrap().local_id;
    p.a.t.wan_error(lac_sid, [1, 2, 3, 4, 5, 6]).unwrap();
    p.b.t.set_link_info(lns_sid, 0, 0xffff_ffff).unwrap();
    p.run_for(Duration::from_millis(100));
    assert!(p.b.events.iter().any(|(_, e)| *e
        == Event::WanError {
            session_id: lns_sid,
            errors: [1, 2, 3, 4, 5, 6]
        }));
    assert!(p.a.events.iter().any(|(_, e)| *e
        == Event::SetLinkInfo {
            session_id: lac_sid,
            send_accm: 0,
            recv_accm: 0xffff_ffff
        }));
    let n = names(&p);
    assert!(n.iter().any(|s| s.ends_with("OCRQ")));
    assert!(n.iter().any(|s| s.ends_with("OCRP")));
    assert!(n.iter().any(|s| s.ends_with("OCCN")));
}

#[test]
fn duplicate_sccrq_is_reacked_not_reprocessed() {
    let start = Instant::now();
    let mut lac = Tunnel::connect(cfg("lac"), start, &mut rng(1)).unwrap();
    let mut lns = Tunnel::accept(cfg("lns"), start, &mut rng(2), 77).unwrap();
    let sccrq = lac.poll_transmit(start).unwrap();
    lns.handle_input(start, &sccrq).unwrap();
    let sccrp = lns.poll_transmit(start).unwrap();
    assert!(lns.poll_transmit(start).is_none());
    lns.handle_input(start, &sccrq).unwrap();
    let zlb = ControlMessage::parse(&lns.poll_transmit(start).unwrap()).unwrap();
    assert!(zlb.is_zlb());
    assert_eq!(zlb.header.sequence, Some((1, 1)));
    assert_eq!(lns.channel_stats().duplicates, 1);
    assert_eq!(
        ControlMessage::parse(&sccrp).unwrap().message_type(),
        Some(MessageType::Sccrp)
    );
}

fn sccrq_with_extra(extra: l2tp::wire::Avp) -> Vec<u8> {
    let start = Instant::now();
    let mut lac = Tunnel::connect(cfg("lac"), start, &mut rng(1)).unwrap();
    let mut m = ControlMessage::parse(&lac.poll_transmit(start).unwrap()).unwrap();
    m.avps.push(extra);
    m.to_vec().unwrap()
}

#[test]
fn unknown_mandatory_avp_stops_unknown_optional_ignored() {
    let start = Instant::now();
    let bad = sccrq_with_extra(l2tp::wire::Avp {
        mandatory: true,
        hidden: false,
        vendor_id: 0,
        attr_type: 250,
        value: vec![1],
    });
    let mut lns = Tunnel::accept(cfg("lns"), start, &mut rng(2), 77).unwrap();
    lns.handle_input(start, &bad).unwrap();
    let stop = ControlMessage::parse(&lns.poll_transmit(start).unwrap()).unwrap();
    assert_eq!(stop.message_type(), Some(MessageType::StopCcn));
    let r = stop.result_code().unwrap();
    assert_eq!((r.result, r.error), (2, Some(8)));

    let ok = sccrq_with_extra(l2tp::wire::Avp {
        mandatory: false,
        hidden: false,
        vendor_id: 9,
        attr_type: 1,
        value: vec![1, 2],
    });
    let mut lns = Tunnel::accept(cfg("lns"), start, &mut rng(2), 77).unwrap();
    lns.handle_input(start, &ok).unwrap();
    let rp = ControlMessage::parse(&lns.poll_transmit(start).unwrap()).unwrap();
    assert_eq!(rp.message_type(), Some(MessageType::Sccrp));
}

#[test]
fn bad_input_is_counted_not_fatal() {
    let start = Instant::now();
    let mut lns = Tunnel::accept(cfg("lns"), start, &mut rng(2), 77).unwrap();
    assert!(lns.handle_input(start, &[0xc8]).is_err());
    assert!(lns
        .handle_input(start, &[0xc8, 0x02, 0, 8, 0, 5, 0, 0])
        .is_err());
    // Wrong tunnel id.
    let mut zlb = ControlMessage::zlb(99, 0, 0).to_vec().unwrap();
    assert!(lns.handle_input(start, &zlb).is_err());
    zlb[1] = 3;
    assert!(lns.handle_input(start, &zlb).is_err());
    // Data for unknown session.
    let mut d = [0u8; 16];
    let n = Header::data(77, 5).emit(2, &mut d).unwrap();
    assert!(matches!(
        lns.handle_input(start, &d[..n + 2]),
        Err(l2tp::Error::NoSession(5))
    ));
    assert_eq!(lns.stats().malformed, 3);
    assert_eq!(lns.stats().wrong_tunnel, 1);
    assert_eq!(lns.stats().unknown_session, 1);
    assert_eq!(lns.state(), TunnelState::Idle);
}

#[test]
fn sequenced_data_reordered_with_exact_timeout() {
    use l2tp::reorder::ReorderConfig;
    let mut lac = cfg("lac");
    lac.reorder = Some(ReorderConfig {
        capacity: 8,
        timeout: Duration::from_millis(40),
    });
    let mut lns = cfg("lns");
    lns.require_sequencing = true;
    let mut p = pair(lac, lns, LinkConfig::perfect(), 31);
    p.a.calls_on_up = 1;
    p.run_until(Duration::from_secs(5), |a, b| {
        a.up_sessions() == 1 && b.up_sessions() == 1
    })
    .unwrap();
    p.run_to_idle(Duration::from_secs(1));
    let lns_sid =
        p.b.events
            .iter()
            .find_map(|(_, e)| match e {
                Event::SessionUp { session_id, .. } => Some(*session_id),
                _ => None,
            })
            .unwrap();
    // the LNS sequences its data (Ns 0, 1, ...); hand them to the LAC as 0 2 1 4 5 (3 lost)
    let pkts: Vec<Vec<u8>> = (0..6u8)
        .map(|i| {
            let mut buf = vec![0u8; 64];
            let n =
                p.b.t
                    .encapsulate(lns_sid, &[0xff, 0x03, 0, 0x21, i], &mut buf)
                    .unwrap();
            buf.truncate(n);
            assert!(Header::parse(&buf).unwrap().0.sequence.is_some());
            buf
        })
        .collect();
    let t0 = p.now();
    let t = &mut p.a.t;
    let got = |t: &mut Tunnel, at, i: usize| match t.handle_input(at, &pkts[i]) {
        Ok(Input::Data { payload, .. }) => Some(payload[4]),
        Ok(Input::Queued { .. }) => None,
        other => panic!("{other:?}"),
    };
    assert_eq!(got(t, t0, 0), Some(0));
    assert_eq!(got(t, t0, 2), None);
    assert_eq!(got(t, t0, 1), Some(1));
    assert_eq!(t.poll_data().map(|(_, f)| f[4]), Some(2));
    let t1 = t0 + Duration::from_millis(3);
    assert_eq!(got(t, t1, 4), None);
    assert_eq!(got(t, t1, 5), None);
    assert!(t.handle_input(t1, &pkts[1]).is_err()); // duplicate
    let deadline = t.poll_timeout().unwrap();
    assert_eq!(deadline, t1 + Duration::from_millis(40));
    t.handle_timeout(deadline);
    let rel: Vec<u8> = std::iter::from_fn(|| t.poll_data())
        .map(|(_, f)| f[4])
        .collect();
    assert_eq!(rel, vec![4, 5]);
    assert!(t.handle_input(deadline, &pkts[3]).is_err()); // too late
    let sid = t.sessions().next().unwrap().local_id;
    let st = t.session(sid).unwrap().reorder_stats().unwrap();
    assert_eq!(
        (
            st.in_order,
            st.reordered,
            st.lost,
            st.duplicates,
            st.too_old
        ),
        (2, 3, 1, 1, 1)
    );
    assert_eq!(t.stats().stale_data, 2);
}
