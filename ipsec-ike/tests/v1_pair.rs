//! IKEv1 pair tests in virtual time: main mode PSK + quick mode between our initiator and our
//! responder over a simulated link (10 ms one way), lossless, at 30% loss with exact
//! retransmission times, against a silent peer, and with a wrong pre-shared key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ipsec_ike::crypto::{Encr, Group, Integ};
use ipsec_ike::esp::{EspParams, EspSa};
use ipsec_ike::v1::session::{ChildKeys, ModeConfig, Session, SessionConfig, SessionEvent};
use ipsec_ike::v1::wire::{ExchangeType, Identity, Message, PayloadType};
use rand_chacha::rand_core::{RngCore, SeedableRng};

const DELAY: Duration = Duration::from_millis(10);
const T0: Duration = Duration::from_secs(2);

fn cfg(psk: &str, me: &str, local: &str, remote: &str) -> SessionConfig {
    let mut c = SessionConfig::psk(
        psk.as_bytes(),
        Identity::Addr(me.parse().unwrap()),
        Identity::Subnet(local.parse().unwrap(), "255.255.255.0".parse().unwrap()),
        Identity::Subnet(remote.parse().unwrap(), "255.255.255.0".parse().unwrap()),
    );
    c.group = Group::Curve25519;
    c.retransmit_tries = 8;
    // Off here so that `run` ends when the exchanges do; the DPD tests turn it on.
    c.dpd_interval = None;
    c
}

fn rng(seed: u64) -> Box<rand_chacha::ChaCha20Rng> {
    Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(seed))
}

struct Run {
    /// Virtual time zero.
    start: Instant,
    /// (time since start, bytes) of every datagram each side sent (before loss).
    sent_i: Vec<(Duration, Vec<u8>)>,
    sent_r: Vec<(Duration, Vec<u8>)>,
    /// (local, remote) UDP ports of each of those datagrams.
    ports_i: Vec<(u16, u16)>,
    ports_r: Vec<(u16, u16)>,
    ev_i: Vec<(Duration, SessionEvent)>,
    ev_r: Vec<(Duration, SessionEvent)>,
    i: Session,
    r: Session,
}

/// Run both sides until nothing is pending before the SA's rekey (the phase-2 lifetime timers
/// are always pending: 28800 s by default); `loss(dir_to_r)` decides drops.
fn run(ci: SessionConfig, cr: SessionConfig, seed: u64, loss: impl FnMut(bool) -> bool) -> Run {
    run_until(ci, cr, seed, loss, Some(Duration::from_secs(1800)))
}

/// As `run`, but stop at `limit` (sessions with NAT keepalives never go quiet).
fn run_until(
    ci: SessionConfig,
    cr: SessionConfig,
    seed: u64,
    mut loss: impl FnMut(bool) -> bool,
    limit: Option<Duration>,
) -> Run {
    let start = Instant::now();
    let mut now = start;
    let mut i = Session::initiator(ci, now, rng(seed)).unwrap();
    let mut r = Session::responder(cr, rng(seed + 1000)).unwrap();
    let mut q: Vec<(Instant, bool, u16, Vec<u8>)> = Vec::new();
    let mut run = Run {
        start,
        sent_i: vec![],
        sent_r: vec![],
        ports_i: vec![],
        ports_r: vec![],
        ev_i: vec![],
        ev_r: vec![],
        i: Session::responder(cfg("x", "1.1.1.1", "1.1.1.0", "2.2.2.0"), rng(0)).unwrap(),
        r: Session::responder(cfg("x", "1.1.1.1", "1.1.1.0", "2.2.2.0"), rng(0)).unwrap(),
    };
    loop {
        while let Some(t) = i.poll_transmit(now) {
            run.sent_i.push((now - start, t.payload.clone()));
            run.ports_i.push((t.local_port, t.remote_port));
            if !loss(true) {
                q.push((now + DELAY, true, t.remote_port, t.payload));
            }
        }
        while let Some(t) = r.poll_transmit(now) {
            run.sent_r.push((now - start, t.payload.clone()));
            run.ports_r.push((t.local_port, t.remote_port));
            if !loss(false) {
                q.push((now + DELAY, false, t.remote_port, t.payload));
            }
        }
        while let Some(e) = i.poll_event() {
            run.ev_i.push((now - start, e));
        }
        let mut again = false;
        while let Some(e) = r.poll_event() {
            if let SessionEvent::XAuthRequest(c) = &e {
                // The caller's user database: one user.
                r.xauth_verdict(now, c.user == b"alice" && &c.password[..] == b"secret");
                again = true;
            }
            run.ev_r.push((now - start, e));
        }
        if again {
            continue;
        }
        let next = q
            .iter()
            .map(|x| x.0)
            .chain(i.poll_timeout())
            .chain(r.poll_timeout())
            .min();
        let Some(next) = next else { break };
        if limit.is_some_and(|l| next - start > l) {
            break;
        }
        assert!(next - start < Duration::from_secs(3600));
        now = next;
        let (due, rest): (Vec<_>, Vec<_>) = q.into_iter().partition(|x| x.0 <= now);
        q = rest;
        for (_, to_r, port, b) in due {
            if to_r {
                r.handle_datagram(now, port, &b);
            } else {
                i.handle_datagram(now, port, &b);
            }
        }
        i.handle_timeout(now);
        r.handle_timeout(now);
    }
    run.i = i;
    run.r = r;
    run
}

fn child(ev: &[(Duration, SessionEvent)]) -> Option<ChildKeys> {
    ev.iter().find_map(|(_, e)| match e {
        SessionEvent::ChildUp(k) => Some(k.clone()),
        _ => None,
    })
}

fn assert_pair(run: &Run) {
    let ki = child(&run.ev_i).expect("initiator child up");
    let kr = child(&run.ev_r).expect("responder child up");
    assert_eq!(ki.spi_in, kr.spi_out);
    assert_eq!(ki.spi_out, kr.spi_in);
    assert_eq!(ki.keymat_in, kr.keymat_out);
    assert_eq!(ki.keymat_out, kr.keymat_in);
    assert_ne!(ki.keymat_in, ki.keymat_out);
    assert_eq!(ki.keymat_in.len(), 32 + 20, "AES-256 key + HMAC-SHA1 key");
}

/// Sends of the same bytes, grouped, in order of first send.
fn groups(sent: &[(Duration, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<Duration>)> {
    let mut order: Vec<Vec<u8>> = Vec::new();
    let mut m: BTreeMap<Vec<u8>, Vec<Duration>> = BTreeMap::new();
    for (t, b) in sent {
        if !m.contains_key(b) {
            order.push(b.clone());
        }
        m.entry(b.clone()).or_default().push(*t);
    }
    order
        .into_iter()
        .map(|b| {
            let ts = m[&b].clone();
            (b, ts)
        })
        .collect()
}

/// Timer resends: after T0, 2 T0, 4 T0, ... exactly.
fn assert_backoff(ts: &[Duration]) {
    for k in 1..ts.len() {
        assert_eq!(
            ts[k] - ts[k - 1],
            T0 * (1 << (k - 1)),
            "resend {k} of {ts:?}"
        );
    }
}

/// Replays: each exactly one link delay after a send of the peer.
fn assert_replays(ts: &[Duration], peer: &[(Duration, Vec<u8>)]) {
    for t in &ts[1..] {
        assert!(
            peer.iter().any(|(p, _)| *p + DELAY == *t),
            "replay at {t:?} answers no peer send"
        );
    }
}

#[test]
fn main_and_quick_mode_lossless() {
    let run = run(
        cfg("s3cret", "10.0.0.1", "192.168.1.0", "192.168.2.0"),
        cfg("s3cret", "10.0.0.2", "192.168.2.0", "192.168.1.0"),
        1,
        |_| false,
    );
    assert_pair(&run);
    // Exactly M1, M3, M5, Q1, Q3 and M2, M4, M6, Q2, at 20 ms round trips.
    let ti: Vec<_> = run.sent_i.iter().map(|x| x.0.as_millis()).collect();
    let tr: Vec<_> = run.sent_r.iter().map(|x| x.0.as_millis()).collect();
    assert_eq!(ti, vec![0, 20, 40, 60, 80]);
    assert_eq!(tr, vec![10, 30, 50, 70]);
    let ex: Vec<_> = run
        .sent_i
        .iter()
        .map(|(_, b)| Message::parse(b).unwrap().header.exchange)
        .collect();
    assert_eq!(
        ex,
        [
            ExchangeType::MAIN,
            ExchangeType::MAIN,
            ExchangeType::MAIN,
            ExchangeType::QUICK,
            ExchangeType::QUICK
        ]
    );
    assert_eq!(
        run.ev_i[0],
        (Duration::from_millis(60), SessionEvent::Phase1Up)
    );
    assert_eq!(
        run.ev_r[0],
        (Duration::from_millis(50), SessionEvent::Phase1Up)
    );
    assert_eq!(run.i.stats().retransmits + run.r.stats().retransmits, 0);
    // The negotiated keys drive the crate's ESP data plane: a packet protected by the
    // initiator's outbound SA opens with the responder's inbound SA.
    let esp = |k: &ChildKeys, inbound: bool| {
        let (spi, km) = if inbound {
            (k.spi_in, &k.keymat_in)
        } else {
            (k.spi_out, &k.keymat_out)
        };
        let p = EspParams {
            spi: u32::from_be_bytes(spi),
            encr: Encr::AesCbc(32),
            enc_key: km[..32].to_vec(),
            integ: Some(Integ::HmacSha1_96),
            integ_key: km[32..].to_vec(),
            esn: false,
            replay_window: 64,
        };
        EspSa::new(&p, &mut rand_chacha::ChaCha20Rng::seed_from_u64(5)).unwrap()
    };
    let (ki, kr) = (child(&run.ev_i).unwrap(), child(&run.ev_r).unwrap());
    let (mut tx, mut rx) = (esp(&ki, false), esp(&kr, true));
    let pkt = [0x45u8; 60];
    let mut buf = vec![0u8; tx.encapsulated_len(pkt.len())];
    let n = tx.encapsulate(17, &pkt, &mut buf).unwrap();
    buf.truncate(n);
    let d = rx.decapsulate_in_place(&mut buf).unwrap();
    assert_eq!(&buf[d.payload], &pkt[..]);
    // MODP-2048 (the default group) works too.
    let mut a = cfg("k", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("k", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    a.group = Group::Modp(2048);
    b.group = Group::Modp(2048);
    assert_pair(&run_ok(a, b));
}

fn run_ok(a: SessionConfig, b: SessionConfig) -> Run {
    run(a, b, 7, |_| false)
}

#[test]
fn main_and_quick_mode_at_30_percent_loss_with_exact_retransmit_times() {
    let mut total_rt = 0;
    for seed in 1..=12u64 {
        let mut loss_rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed * 77);
        let run = run(
            cfg("s3cret", "10.0.0.1", "192.168.1.0", "192.168.2.0"),
            cfg("s3cret", "10.0.0.2", "192.168.2.0", "192.168.1.0"),
            seed,
            |_| loss_rng.next_u32() < (u32::MAX / 10) * 3,
        );
        assert_pair(&run);
        total_rt += run.i.stats().retransmits + run.r.stats().retransmits;
        // Initiator: M1, M3, M5, Q1 on the backoff timer; Q3 (its last) only as a replay.
        let gi = groups(&run.sent_i);
        assert_eq!(gi.len(), 5, "seed {seed}");
        for (_, ts) in &gi[..4] {
            assert_backoff(ts);
        }
        assert_replays(&gi[4].1, &run.sent_r);
        // Responder: M2, M4, M6 as replays; Q2 on the backoff timer.
        let gr = groups(&run.sent_r);
        assert_eq!(gr.len(), 4, "seed {seed}");
        for (_, ts) in &gr[..3] {
            assert_replays(ts, &run.sent_i);
        }
        assert_backoff(&gr[3].1);
    }
    assert!(
        total_rt >= 12,
        "the loss exercised retransmission ({total_rt})"
    );
}

#[test]
fn silent_peer_backs_off_then_fails() {
    let run = run(
        cfg("s3cret", "10.0.0.1", "192.168.1.0", "192.168.2.0"),
        cfg("s3cret", "10.0.0.2", "192.168.2.0", "192.168.1.0"),
        3,
        |to_r| to_r,
    );
    let ts: Vec<_> = run.sent_i.iter().map(|x| x.0.as_secs()).collect();
    // 8 resends after 2, 4, 8, ... 256 s; given up 512 s after the last.
    assert_eq!(ts, vec![0, 2, 6, 14, 30, 62, 126, 254, 510]);
    assert_eq!(
        run.ev_i,
        vec![(
            Duration::from_secs(1022),
            SessionEvent::Failed("retransmits exhausted")
        )]
    );
    assert!(run.sent_r.is_empty());
}

#[test]
fn wrong_psk_fails_hash_i() {
    let run = run(
        cfg("one", "10.0.0.1", "192.168.1.0", "192.168.2.0"),
        cfg("two", "10.0.0.2", "192.168.2.0", "192.168.1.0"),
        4,
        |_| false,
    );
    assert!(child(&run.ev_i).is_none());
    // The responder cannot even decrypt M5 under a different Ka (or its HASH_I fails).
    assert!(
        run.r.stats().dropped >= 1
            || run
                .ev_r
                .iter()
                .any(|(_, e)| matches!(e, SessionEvent::Failed(_)))
    );
    assert!(run
        .ev_i
        .iter()
        .any(|(_, e)| *e == SessionEvent::Failed("retransmits exhausted")));
}

#[test]
fn quick_mode_with_pfs() {
    let pfs = |mut c: SessionConfig| {
        c.pfs_group = Some(Group::Curve25519);
        c
    };
    let a = || cfg("s3cret", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let b = || cfg("s3cret", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    let with = run(pfs(a()), pfs(b()), 9, |_| false);
    assert_pair(&with);
    let without = run(a(), b(), 9, |_| false);
    // Quick mode 1 and 2 grow by the KE payload (4 + 32 bytes) and the SA's group attribute.
    for (w, o) in [
        (&with.sent_i[3], &without.sent_i[3]),
        (&with.sent_r[3], &without.sent_r[3]),
    ] {
        assert!(
            w.1.len() >= o.1.len() + 32,
            "{} vs {}",
            w.1.len(),
            o.1.len()
        );
    }
    // One side with PFS, the other without: the responder refuses the proposal.
    let mixed = run(a(), pfs(b()), 9, |_| false);
    assert!(child(&mixed.ev_r).is_none());
    assert!(mixed
        .ev_r
        .iter()
        .any(|(_, e)| *e == SessionEvent::Failed("no acceptable phase-2 proposal")));
}

fn aggressive(mut c: SessionConfig) -> SessionConfig {
    c.aggressive = true;
    c
}

#[test]
fn aggressive_mode_lossless() {
    let run = run(
        aggressive(cfg("s3cret", "10.0.0.1", "192.168.1.0", "192.168.2.0")),
        aggressive(cfg("s3cret", "10.0.0.2", "192.168.2.0", "192.168.1.0")),
        21,
        |_| false,
    );
    assert_pair(&run);
    // A1; A3 and Q1 together; Q3 -- against A2 and Q2.
    let ti: Vec<_> = run.sent_i.iter().map(|x| x.0.as_millis()).collect();
    let tr: Vec<_> = run.sent_r.iter().map(|x| x.0.as_millis()).collect();
    assert_eq!(ti, vec![0, 20, 20, 40]);
    assert_eq!(tr, vec![10, 30]);
    let ex: Vec<_> = run
        .sent_i
        .iter()
        .map(|(_, b)| {
            let m = Message::parse(b).unwrap();
            (m.header.exchange, m.header.is_encrypted())
        })
        .collect();
    assert_eq!(
        ex,
        [
            (ExchangeType::AGGRESSIVE, false),
            (ExchangeType::AGGRESSIVE, true),
            (ExchangeType::QUICK, true),
            (ExchangeType::QUICK, true)
        ]
    );
    assert_eq!(
        run.ev_i[0],
        (Duration::from_millis(20), SessionEvent::Phase1Up)
    );
    assert_eq!(
        run.ev_r[0],
        (Duration::from_millis(30), SessionEvent::Phase1Up)
    );
    // A main mode responder ignores aggressive mode.
    let refused = run_ok(
        aggressive(cfg("s3cret", "10.0.0.1", "192.168.1.0", "192.168.2.0")),
        cfg("s3cret", "10.0.0.2", "192.168.2.0", "192.168.1.0"),
    );
    assert!(refused.sent_r.is_empty());
    assert!(child(&refused.ev_i).is_none());
}

#[test]
fn aggressive_mode_at_30_percent_loss_with_exact_retransmit_times() {
    let mut total_rt = 0;
    for seed in 1..=12u64 {
        let mut loss_rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed * 91);
        let run = run(
            aggressive(cfg("s3cret", "10.0.0.1", "192.168.1.0", "192.168.2.0")),
            aggressive(cfg("s3cret", "10.0.0.2", "192.168.2.0", "192.168.1.0")),
            seed,
            |_| loss_rng.next_u32() < (u32::MAX / 10) * 3,
        );
        assert_pair(&run);
        total_rt += run.i.stats().retransmits + run.r.stats().retransmits;
        // Initiator: A1 and Q1 on the backoff timer; A3 and Q3 only as replays.
        let gi = groups(&run.sent_i);
        assert_eq!(gi.len(), 4, "seed {seed}");
        assert_backoff(&gi[0].1);
        assert_replays(&gi[1].1, &run.sent_r);
        assert_backoff(&gi[2].1);
        assert_replays(&gi[3].1, &run.sent_r);
        // Responder: A2 and Q2 on the backoff timer.
        let gr = groups(&run.sent_r);
        assert_eq!(gr.len(), 2, "seed {seed}");
        assert_backoff(&gr[0].1);
        assert_backoff(&gr[1].1);
    }
    assert!(
        total_rt >= 12,
        "the loss exercised retransmission ({total_rt})"
    );
}

fn addr(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

/// NAT-T configured (the default) and no NAT: the NAT-D hashes match, everything stays on
/// UDP 500 and the ESP SA is plain tunnel mode; no keepalive is ever sent.
#[test]
fn nat_traversal_without_nat_stays_on_500() {
    let mut a = cfg("nat-psk", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("nat-psk", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    (a.local_addr, a.remote_addr) = (addr("10.0.0.1:500"), addr("10.0.0.2:500"));
    (b.local_addr, b.remote_addr) = (addr("10.0.0.2:500"), addr("10.0.0.1:500"));
    let r = run(a, b, 41, |_| false);
    assert_pair(&r);
    assert!(!child(&r.ev_i).unwrap().udp_encap);
    assert!(r.ports_i.iter().chain(&r.ports_r).all(|p| *p == (500, 500)));
    for n in [r.i.nat(), r.r.nat()] {
        assert!(n.negotiated && !n.floated && !n.local_behind_nat && !n.remote_behind_nat);
    }
    // The only timer left is the rekey at 9/10 of the default 28800 s lifetime: no keepalive.
    let (up, _) = children(&r.ev_i)[0].clone();
    assert_eq!(
        r.i.poll_timeout(),
        Some(r.start + up + Duration::from_secs(25_920))
    );
}

/// NAT-T disabled on one side (RouterOS `nat-traversal=no`): no vendor ID from the
/// responder, no NAT-D payloads, port 500 throughout even with a NAT in the path.
#[test]
fn nat_traversal_disabled_sends_no_nat_d() {
    let mut a = cfg("nat-psk", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("nat-psk", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    a.local_addr = addr("192.168.77.2:500");
    b.remote_addr = addr("203.0.113.9:1500");
    b.nat_traversal = false;
    let r = run(a, b, 42, |_| false);
    assert_pair(&r);
    assert!(r.ports_i.iter().chain(&r.ports_r).all(|p| *p == (500, 500)));
    for (_, m) in r.sent_i.iter().chain(&r.sent_r) {
        let m = Message::parse(m).unwrap();
        assert!(m.payloads().iter().all(|p| p.ptype() != PayloadType::NAT_D));
    }
    assert!(!r.i.nat().negotiated && !r.r.nat().negotiated);
}

/// Check the ports of one side: 500 until `floats_after` messages, then 4500 with the
/// non-ESP marker (or the one-byte keepalive).
fn assert_float(sent: &[(Duration, Vec<u8>)], ports: &[(u16, u16)], floats_after: usize) {
    for (k, ((_, b), p)) in sent.iter().zip(ports).enumerate() {
        if k < floats_after {
            assert_eq!(*p, (500, 500), "message {k}");
            Message::parse(b).unwrap();
        } else {
            assert_eq!(*p, (4500, 4500), "message {k}");
            assert!(b == &[0xff] || b[..4] == [0, 0, 0, 0], "message {k}");
            if b.len() > 1 {
                Message::parse(&b[4..]).unwrap();
            }
        }
    }
}

/// Forced encapsulation on the initiator (like strongSwan `encap=yes`, which the capture's
/// libipsec peers use): its own NAT-D deliberately does not match, the responder concludes
/// "peer behind NAT", both move to UDP 4500 from main mode message 5 on with the non-ESP
/// marker, quick mode negotiates UDP-Encapsulated-Tunnel, and the initiator sends a NAT
/// keepalive every 20 s from the moment it floated (message 4 received at 40 ms).
#[test]
fn forced_encapsulation_moves_both_sides_to_4500() {
    let mut a = cfg("nat-psk", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("nat-psk", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    (a.local_addr, a.remote_addr) = (addr("10.0.0.1:500"), addr("10.0.0.2:500"));
    (b.local_addr, b.remote_addr) = (addr("10.0.0.2:500"), addr("10.0.0.1:500"));
    a.force_encap = true;
    let r = run_until(a, b, 43, |_| false, Some(Duration::from_secs(65)));
    assert_pair(&r);
    assert!(child(&r.ev_i).unwrap().udp_encap && child(&r.ev_r).unwrap().udp_encap);
    // Initiator: M1, M3 on 500; M5, Q1, Q3, keepalives on 4500. Responder: M2, M4 on 500.
    assert_float(&r.sent_i, &r.ports_i, 2);
    assert_float(&r.sent_r, &r.ports_r, 2);
    let (ni, nr) = (r.i.nat(), r.r.nat());
    assert!(ni.floated && !ni.local_behind_nat && !ni.remote_behind_nat);
    assert!(nr.floated && !nr.local_behind_nat && nr.remote_behind_nat);
    let ka = |sent: &[(Duration, Vec<u8>)]| -> Vec<Duration> {
        sent.iter()
            .filter(|(_, b)| b == &[0xff])
            .map(|x| x.0)
            .collect()
    };
    let ms = Duration::from_millis;
    assert_eq!(ka(&r.sent_i), vec![ms(20_040), ms(40_040), ms(60_040)]);
    assert!(
        ka(&r.sent_r).is_empty(),
        "the responder is not behind a NAT"
    );
    // M1, M3, M5, Q1, Q3 and three keepalives. Both sides agreeing on udp_encap means the
    // quick mode transforms matched with encapsulation mode 3 (each accepts only its own).
    assert_eq!(r.sent_i.len(), 5 + 3);
}

/// A real NAT: the initiator sits at 192.168.77.2:500 and its NAT maps it to
/// 203.0.113.9:1500. The responder's first NAT-D (hash of 203.0.113.9:1500) does not match
/// the initiator's own address: it is behind NAT, floats and keeps the mapping alive; the
/// responder finds the peer behind NAT and answers on 4500.
#[test]
fn initiator_behind_nat_floats_and_sends_keepalives() {
    let mut a = cfg("nat-psk", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("nat-psk", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    (a.local_addr, a.remote_addr) = (addr("192.168.77.2:500"), addr("10.0.0.2:500"));
    (b.local_addr, b.remote_addr) = (addr("10.0.0.2:500"), addr("203.0.113.9:1500"));
    let r = run_until(a, b, 44, |_| false, Some(Duration::from_secs(30)));
    assert_pair(&r);
    assert!(child(&r.ev_r).unwrap().udp_encap);
    let (ni, nr) = (r.i.nat(), r.r.nat());
    assert!(ni.floated && ni.local_behind_nat && !ni.remote_behind_nat);
    assert!(nr.floated && !nr.local_behind_nat && nr.remote_behind_nat);
    assert_float(&r.sent_i, &r.ports_i, 2);
    assert_float(&r.sent_r, &r.ports_r, 2);
    assert_eq!(
        r.sent_i.iter().filter(|(_, b)| b == &[0xff]).count(),
        1,
        "one keepalive by 30 s"
    );
}

/// Aggressive mode with a NAT: NAT-D in messages 2 and 3, message 3 already on 4500.
#[test]
fn aggressive_mode_behind_nat_floats_at_message_3() {
    let mut a = cfg("nat-psk", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("nat-psk", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    a.aggressive = true;
    b.aggressive = true;
    (a.local_addr, a.remote_addr) = (addr("192.168.77.2:500"), addr("10.0.0.2:500"));
    (b.local_addr, b.remote_addr) = (addr("10.0.0.2:500"), addr("203.0.113.9:1500"));
    let r = run_until(a, b, 45, |_| false, Some(Duration::from_secs(10)));
    assert_pair(&r);
    assert_float(&r.sent_i, &r.ports_i, 1);
    assert_float(&r.sent_r, &r.ports_r, 1);
    assert!(r.r.nat().remote_behind_nat && r.i.nat().local_behind_nat);
}

fn informational(sent: &[(Duration, Vec<u8>)]) -> Vec<Duration> {
    sent.iter()
        .filter(|(_, b)| Message::parse(b).unwrap().header.exchange == ExchangeType::INFORMATIONAL)
        .map(|x| x.0)
        .collect()
}

fn dpd_cfgs() -> (SessionConfig, SessionConfig) {
    let mut a = cfg("dpd-psk", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("dpd-psk", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    let d = SessionConfig::psk(
        b"",
        a.local_id.clone(),
        a.local_ts.clone(),
        a.remote_ts.clone(),
    );
    // The RouterOS defaults: dpd-interval=8s, dpd-maximum-failures=4.
    assert_eq!(d.dpd_interval, Some(Duration::from_secs(8)));
    assert_eq!(d.dpd_maximum_failures, 4);
    (a.dpd_interval, b.dpd_interval) = (d.dpd_interval, d.dpd_interval);
    (a, b)
}

/// A live peer answers every R-U-THERE: over a minute each side probes after 8 s of
/// silence, every probe is acknowledged, nobody is declared dead.
#[test]
fn dpd_live_peer_acknowledges_probes() {
    let (a, b) = dpd_cfgs();
    let r = run_until(a, b, 51, |_| false, Some(Duration::from_secs(60)));
    assert_pair(&r);
    let all: Vec<_> = r.ev_i.iter().chain(&r.ev_r).map(|x| &x.1).collect();
    assert!(!all
        .iter()
        .any(|e| matches!(e, SessionEvent::PeerDead | SessionEvent::Failed(_))));
    let (pi, pr) = (informational(&r.sent_i), informational(&r.sent_r));
    // Q2 reaches the initiator at 80 ms, so its first probe leaves at 8.080 s; the
    // responder hears it at 8.090 s (its own timer restarts) and acknowledges at once.
    let ms = Duration::from_millis;
    assert_eq!(pi[0], ms(8_080));
    assert_eq!(pr[0], ms(8_090));
    // Probe and answer alternate from then on: at least 60/8 - 1 exchanges each way.
    assert!(pi.len() >= 6 && pr.len() >= 6, "{pi:?} {pr:?}");
}

/// The peer goes silent right after quick mode (everything it sends and everything sent to
/// it is lost): 8 s after the last message heard the first R-U-THERE, then one every 8 s,
/// four in all (dpd-maximum-failures=4), and 8 s after the fourth the SA is declared dead:
/// initiator probes at 8.08, 16.08, 24.08, 32.08 s and gives up at 40.08 s.
#[test]
fn dpd_silent_peer_declared_dead_after_four_probes() {
    let (a, b) = dpd_cfgs();
    let (mut to_r, mut to_i) = (0, 0);
    // Main mode and quick mode pass (5 messages one way, 4 the other), then nothing.
    let r = run_until(
        a,
        b,
        52,
        |dir| {
            let n = if dir { &mut to_r } else { &mut to_i };
            *n += 1;
            *n > if dir { 5 } else { 4 }
        },
        Some(Duration::from_secs(100)),
    );
    assert_pair(&r);
    let ms = Duration::from_millis;
    assert_eq!(
        informational(&r.sent_i),
        vec![ms(8_080), ms(16_080), ms(24_080), ms(32_080)]
    );
    assert_eq!(
        informational(&r.sent_r),
        vec![ms(8_090), ms(16_090), ms(24_090), ms(32_090)]
    );
    assert!(r.ev_i.contains(&(ms(40_080), SessionEvent::PeerDead)));
    assert!(r.ev_r.contains(&(ms(40_090), SessionEvent::PeerDead)));
    assert_eq!(r.i.poll_timeout(), None);
    assert_eq!(r.r.poll_timeout(), None);
}

/// Closing sends a Delete for the ESP SA (our inbound SPI) and one for the ISAKMP SA; the
/// peer reports both and closes. A forged Delete (bad HASH) is ignored.
#[test]
fn close_sends_deletes_peer_acts_on_them() {
    let a = cfg("del-psk", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let b = cfg("del-psk", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    let mut r = run(a, b, 53, |_| false);
    let kr = child(&r.ev_r).unwrap();
    let now = Instant::now() + Duration::from_secs(3600);
    r.i.close_and_delete();
    let out: Vec<_> = std::iter::from_fn(|| r.i.poll_transmit(now)).collect();
    assert_eq!(out.len(), 2);
    // A corrupted copy first: dropped, nothing happens.
    let mut bad = out[0].payload.clone();
    let n = bad.len();
    bad[n - 20] ^= 1;
    r.r.handle_datagram(now, 500, &bad);
    assert_eq!(r.r.poll_event(), None);
    for t in &out {
        assert_eq!(
            Message::parse(&t.payload).unwrap().header.exchange,
            ExchangeType::INFORMATIONAL
        );
        r.r.handle_datagram(now, t.remote_port, &t.payload);
    }
    assert_eq!(
        r.r.poll_event(),
        Some(SessionEvent::ChildDeleted(kr.spi_in, kr.spi_out))
    );
    assert_eq!(r.r.poll_event(), Some(SessionEvent::Deleted));
    assert_eq!(r.r.poll_transmit(now), None);
    // Closed: the initiator sends nothing more and accepts nothing.
    r.i.handle_timeout(now + Duration::from_secs(100));
    assert_eq!(r.i.poll_transmit(now), None);
    assert_eq!(r.i.poll_timeout(), None);
}

fn xauth_cfgs(password: &str, push: bool) -> (SessionConfig, SessionConfig) {
    let mut a = cfg("xauth-psk", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("xauth-psk", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    a.xauth_client = Some((b"alice".to_vec(), password.as_bytes().to_vec().into()));
    a.mode_config_client = true;
    b.xauth_server = true;
    b.mode_config_server = Some(ModeConfig {
        address: "10.9.0.2".parse().unwrap(),
        netmask: "255.255.255.0".parse().unwrap(),
        dns: vec!["10.9.0.1".parse().unwrap()],
        split_include: vec![(
            "192.168.2.0".parse().unwrap(),
            "255.255.255.0".parse().unwrap(),
        )],
    });
    (a.mode_config_push, b.mode_config_push) = (push, push);
    (a, b)
}

fn events(ev: &[(Duration, SessionEvent)]) -> Vec<SessionEvent> {
    ev.iter().map(|x| x.1.clone()).collect()
}

/// XAuth then mode config (pull, as RouterOS clients do) then quick mode: the server asks,
/// the caller accepts alice/secret, STATUS OK is acknowledged, the client requests and gets
/// 10.9.0.2/24, DNS 10.9.0.1 and the Unity split network, and quick mode runs with the
/// assigned address as the client's selector. Also at 30% loss.
#[test]
fn xauth_ok_then_mode_config_then_quick_mode() {
    for (seed, lossy) in [(61, false), (62, true), (63, true)] {
        let (a, b) = xauth_cfgs("secret", false);
        let mut x = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let r = run(a, b, seed, |_| lossy && x.next_u32() % 10 < 3);
        assert_pair(&r);
        let ei = events(&r.ev_i);
        let want = ModeConfig {
            address: "10.9.0.2".parse().unwrap(),
            netmask: "255.255.255.0".parse().unwrap(),
            dns: vec!["10.9.0.1".parse().unwrap()],
            split_include: vec![(
                "192.168.2.0".parse().unwrap(),
                "255.255.255.0".parse().unwrap(),
            )],
        };
        let pos = |e: &SessionEvent| ei.iter().position(|x| x == e).unwrap();
        assert!(pos(&SessionEvent::Phase1Up) < pos(&SessionEvent::XAuthStatus(true)));
        assert!(pos(&SessionEvent::XAuthStatus(true)) < pos(&SessionEvent::ModeConfig(want)));
        let er = events(&r.ev_r);
        let creds = er
            .iter()
            .find_map(|e| match e {
                SessionEvent::XAuthRequest(c) => Some(c.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(creds.user, b"alice");
        assert!(
            !format!("{creds:?}").contains("secret"),
            "password not printed"
        );
        // Transaction exchanges were encrypted exchange 6 messages.
        let tx = |sent: &[(Duration, Vec<u8>)]| {
            sent.iter()
                .filter(|(_, b)| Message::parse(b).unwrap().header.exchange.0 == 6)
                .count()
        };
        assert!(tx(&r.sent_i) >= 3 && tx(&r.sent_r) >= 3, "seed {seed}");
    }
}

/// Push mode config: the server SETs the attributes after STATUS, the client ACKs.
#[test]
fn xauth_ok_then_pushed_mode_config() {
    let (a, b) = xauth_cfgs("secret", true);
    let r = run(a, b, 64, |_| false);
    assert_pair(&r);
    assert!(events(&r.ev_i)
        .iter()
        .any(|e| matches!(e, SessionEvent::ModeConfig(m) if m.address.octets() == [10, 9, 0, 2])));
}

/// A wrong password: STATUS FAIL, the client acknowledges, the server deletes the ISAKMP SA
/// and fails; the client receives the Delete. No quick mode.
#[test]
fn xauth_bad_password_deletes_the_sa() {
    let (a, b) = xauth_cfgs("wrong", false);
    let r = run(a, b, 65, |_| false);
    assert!(child(&r.ev_i).is_none() && child(&r.ev_r).is_none());
    let (ei, er) = (events(&r.ev_i), events(&r.ev_r));
    assert!(ei.contains(&SessionEvent::XAuthStatus(false)));
    assert!(ei.contains(&SessionEvent::Deleted), "{ei:?}");
    assert!(er.contains(&SessionEvent::Failed("XAuth failed")), "{er:?}");
    assert_eq!(
        informational(&r.sent_r).len(),
        1,
        "one Delete (no child SA to delete)"
    );
    assert_eq!(r.i.poll_timeout(), None);
    assert_eq!(r.r.poll_timeout(), None);
}

/// Transport mode behind a NAT (RFC 3947 section 5): quick mode negotiates
/// UDP-Encapsulated-Transport and both sides exchange NAT-OA; the responder learns the
/// initiator's private address 192.168.77.2 (which its NAT hid), the initiator the
/// responder's 10.0.0.2, for the checksum fix-up. Without a NAT: plain transport, no NAT-OA.
#[test]
fn transport_mode_behind_nat_exchanges_nat_oa() {
    let host = |a: &str| Identity::Addr(a.parse().unwrap());
    let mk = |me: &str, peer: &str| {
        let mut c = cfg("oa-psk", me, "1.1.1.0", "2.2.2.0");
        (c.local_ts, c.remote_ts) = (host(me), host(peer));
        c.transport = true;
        c
    };
    let mut a = mk("192.168.77.2", "10.0.0.2");
    let mut b = mk("10.0.0.2", "192.168.77.2");
    (a.local_addr, a.remote_addr) = (addr("192.168.77.2:500"), addr("10.0.0.2:500"));
    (b.local_addr, b.remote_addr) = (addr("10.0.0.2:500"), addr("203.0.113.9:1500"));
    let r = run_until(
        a.clone(),
        b.clone(),
        71,
        |_| false,
        Some(Duration::from_secs(10)),
    );
    assert_pair(&r);
    let (ki, kr) = (child(&r.ev_i).unwrap(), child(&r.ev_r).unwrap());
    assert!(ki.udp_encap && kr.udp_encap);
    assert_eq!(kr.peer_original, Some("192.168.77.2".parse().unwrap()));
    assert_eq!(ki.peer_original, Some("10.0.0.2".parse().unwrap()));
    // No NAT: transport mode, nothing floated, no NAT-OA.
    (a.local_addr, b.remote_addr) = (addr("10.0.0.1:500"), addr("10.0.0.1:500"));
    (a.remote_addr, b.local_addr) = (addr("10.0.0.2:500"), addr("10.0.0.2:500"));
    let r = run(a, b, 72, |_| false);
    assert_pair(&r);
    let ki = child(&r.ev_i).unwrap();
    assert!(!ki.udp_encap && ki.peer_original.is_none());
}

/// A main + quick mode run with the given phase-2 lifetimes and the responder's
/// `proposal-check`; returns the run.
fn lifetimes(
    init: Option<u64>,
    resp: Option<u64>,
    check: ipsec_ike::v1::session::ProposalCheck,
    seed: u64,
) -> Run {
    let mut a = cfg("life-psk", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("life-psk", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    a.esp_lifetime = init.map(Duration::from_secs);
    b.esp_lifetime = resp.map(Duration::from_secs);
    b.proposal_check = check;
    run(a, b, seed, |_| false)
}

fn lives(r: &Run) -> (Option<Duration>, Option<Duration>) {
    (
        child(&r.ev_i).map(|k| k.lifetime),
        child(&r.ev_r).map(|k| k.lifetime),
    )
}

fn refused(r: &Run) -> bool {
    r.ev_r.iter().any(|(_, e)| {
        matches!(
            e,
            SessionEvent::Failed("phase-2 lifetime refused by proposal-check")
        )
    }) && child(&r.ev_i).is_none()
}

/// RouterOS `proposal-check` (seed 003 L1314-1319) on the quick mode responder: obey takes
/// the offer, exact wants equality, strict refuses a longer offer, claim takes the shorter
/// one and tells the initiator with RESPONDER-LIFETIME. Without lifetime attributes both
/// sides read RFC 2407's 28800 s.
#[test]
fn proposal_check_claim_exact_obey_strict() {
    use ipsec_ike::v1::session::ProposalCheck::*;
    let s = |v| Some(Duration::from_secs(v));
    // No lifetimes anywhere: 8 h.
    assert_eq!(
        lives(&lifetimes(None, None, Obey, 80)),
        (s(28800), s(28800))
    );
    // obey: whatever is offered, longer or shorter than ours.
    assert_eq!(
        lives(&lifetimes(Some(3600), Some(1800), Obey, 81)),
        (s(3600), s(3600))
    );
    assert_eq!(
        lives(&lifetimes(Some(600), Some(1800), Obey, 82)),
        (s(600), s(600))
    );
    // exact: only the same.
    assert_eq!(
        lives(&lifetimes(Some(1800), Some(1800), Exact, 83)),
        (s(1800), s(1800))
    );
    assert!(refused(&lifetimes(Some(3600), Some(1800), Exact, 84)));
    assert!(refused(&lifetimes(Some(900), Some(1800), Exact, 85)));
    // An initiator naming none offers 28800 s.
    assert!(refused(&lifetimes(None, Some(1800), Exact, 86)));
    // strict: shorter or equal accepted as offered, longer refused.
    assert_eq!(
        lives(&lifetimes(Some(900), Some(1800), Strict, 87)),
        (s(900), s(900))
    );
    assert_eq!(
        lives(&lifetimes(Some(1800), Some(1800), Strict, 88)),
        (s(1800), s(1800))
    );
    assert!(refused(&lifetimes(Some(3600), Some(1800), Strict, 89)));
    // claim: the shorter; ours shorter -> RESPONDER-LIFETIME tells the initiator.
    assert_eq!(
        lives(&lifetimes(Some(3600), Some(1800), Claim, 90)),
        (s(1800), s(1800))
    );
    assert_eq!(
        lives(&lifetimes(Some(900), Some(1800), Claim, 91)),
        (s(900), s(900))
    );
    assert_eq!(
        lives(&lifetimes(None, Some(1800), Claim, 92)),
        (s(1800), s(1800))
    );
    // 100000 s does not fit the basic form: sent as a 4-byte variable attribute.
    assert_eq!(
        lives(&lifetimes(Some(100_000), None, Obey, 93)),
        (s(100_000), s(100_000))
    );
}

/// The claim case on the wire: quick mode message 2 carries the N(RESPONDER-LIFETIME)
/// payload only when the responder shortened the lifetime.
#[test]
fn claim_sends_responder_lifetime_only_when_shorter() {
    use ipsec_ike::v1::session::ProposalCheck::Claim;
    let decided = |o, r| Claim.decide(o, r);
    assert_eq!(decided(Some(3600), Some(1800)), Some((1800, true)));
    assert_eq!(decided(Some(900), Some(1800)), Some((900, false)));
    assert_eq!(decided(None, None), Some((28800, false)));
    let r = lifetimes(Some(3600), Some(1800), Claim, 94);
    // Message sizes: the same exchange without the shortening has a smaller quick mode 2.
    let r2 = lifetimes(Some(900), Some(1800), Claim, 94);
    let q2 = |r: &Run| {
        r.sent_r
            .iter()
            .map(|(_, b)| Message::parse(b).unwrap())
            .find(|m| m.header.exchange == ExchangeType::QUICK)
            .map(|m| m.header.length)
            .unwrap()
    };
    assert!(q2(&r) > q2(&r2), "{} vs {}", q2(&r), q2(&r2));
}

fn children(ev: &[(Duration, SessionEvent)]) -> Vec<(Duration, ChildKeys)> {
    ev.iter()
        .filter_map(|(t, e)| match e {
            SessionEvent::ChildUp(k) => Some((*t, k.clone())),
            _ => None,
        })
        .collect()
}

fn lifetime_cfgs(secs: u64) -> (SessionConfig, SessionConfig) {
    let mut a = cfg("s3cret", "10.0.0.1", "192.168.1.0", "192.168.2.0");
    let mut b = cfg("s3cret", "10.0.0.2", "192.168.2.0", "192.168.1.0");
    a.esp_lifetime = Some(Duration::from_secs(secs));
    b.esp_lifetime = Some(Duration::from_secs(secs));
    (a, b)
}

/// With a 60 s phase-2 lifetime the initiator runs quick mode again at exactly 9/10 of it
/// (54 s after its first ChildUp); both sides get the successor pair (matching keys, new
/// SPIs), the initiator retires the old pair and sends a Delete for it, and the responder,
/// which kept the old pair for packets in flight, drops it on that Delete. The same again
/// 54 s later.
#[test]
fn quick_mode_rekey_at_nine_tenths_of_the_lifetime() {
    let (a, b) = lifetime_cfgs(60);
    let run = run_until(a, b, 3, |_| false, Some(Duration::from_secs(130)));
    let ci = children(&run.ev_i);
    let cr = children(&run.ev_r);
    assert_eq!(ci.len(), 3, "{:?}", run.ev_i);
    assert_eq!(cr.len(), 3);
    for k in 1..3 {
        // Q1 at 54 s after the previous ChildUp; Q2 back one round trip later.
        assert_eq!(ci[k].0 - ci[k - 1].0, Duration::from_secs(54) + 2 * DELAY);
        assert_eq!(ci[k].1.spi_in, cr[k].1.spi_out);
        assert_eq!(ci[k].1.spi_out, cr[k].1.spi_in);
        assert_eq!(ci[k].1.keymat_in, cr[k].1.keymat_out);
        assert_eq!(ci[k].1.keymat_out, cr[k].1.keymat_in);
        assert_ne!(ci[k].1.spi_in, ci[k - 1].1.spi_in);
        assert_ne!(ci[k].1.keymat_in, ci[k - 1].1.keymat_in);
        assert_eq!(ci[k].1.lifetime, Duration::from_secs(60));
        let (oi, oo) = (ci[k - 1].1.spi_in, ci[k - 1].1.spi_out);
        // The initiator retires the old pair with its successor.
        assert!(run
            .ev_i
            .iter()
            .any(|(t, e)| *t == ci[k].0 && *e == SessionEvent::ChildExpired(oi, oo)));
        // The responder drops it when the Delete arrives (with Q3, one delay later).
        assert!(run
            .ev_r
            .iter()
            .any(|(t, e)| *t == ci[k].0 + DELAY && *e == SessionEvent::ChildDeleted(oo, oi)));
    }
    assert!(!run
        .ev_i
        .iter()
        .chain(&run.ev_r)
        .any(|(_, e)| matches!(e, SessionEvent::Failed(_))));
}

/// At 30% loss the rekey still converges: for each seed both sides end on the same pair,
/// the last one either side installed, and neither failed.
#[test]
fn quick_mode_rekey_at_30_percent_loss() {
    for seed in 1..=8u64 {
        let mut loss_rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed * 91);
        let (a, b) = lifetime_cfgs(300);
        let run = run_until(
            a,
            b,
            seed,
            |_| loss_rng.next_u32() < (u32::MAX / 10) * 3,
            Some(Duration::from_secs(700)),
        );
        let ci = children(&run.ev_i);
        let cr = children(&run.ev_r);
        assert!(ci.len() >= 2, "seed {seed}: {:?}", run.ev_i);
        let (li, lr) = (&ci.last().unwrap().1, &cr.last().unwrap().1);
        assert_eq!(li.spi_in, lr.spi_out, "seed {seed}");
        assert_eq!(li.keymat_out, lr.keymat_in, "seed {seed}");
        assert!(!run
            .ev_i
            .iter()
            .chain(&run.ev_r)
            .any(|(_, e)| matches!(e, SessionEvent::Failed(_))));
    }
}

/// When nothing reaches the responder any more, the rekey gets no answer: each side retires
/// the pair at its hard lifetime, exactly 60 s after its own ChildUp.
#[test]
fn child_expires_at_the_hard_lifetime_without_a_successor() {
    let (a, b) = lifetime_cfgs(60);
    // Main mode 1, 3, 5 and quick mode 1, 3 reach the responder; nothing after.
    let mut to_r = 0;
    let run = run_until(
        a,
        b,
        5,
        |dir_to_r| {
            if dir_to_r {
                to_r += 1;
                to_r > 5
            } else {
                false
            }
        },
        Some(Duration::from_secs(70)),
    );
    let (ti, ki) = children(&run.ev_i)[0].clone();
    let (tr, _) = children(&run.ev_r)[0].clone();
    assert_eq!(children(&run.ev_i).len(), 1);
    assert!(run
        .ev_i
        .iter()
        .any(|(t, e)| *t == ti + Duration::from_secs(60)
            && *e == SessionEvent::ChildExpired(ki.spi_in, ki.spi_out)));
    assert!(run
        .ev_r
        .iter()
        .any(|(t, e)| *t == tr + Duration::from_secs(60)
            && *e == SessionEvent::ChildExpired(ki.spi_out, ki.spi_in)));
}
