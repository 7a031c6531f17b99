//! Tour scenario for the `ipsec-ike` crate: two RouterOS-style sites (IKEv2, PSK,
//! tunnel 10.1.0.0/24 === 10.2.0.0/24) over the simulated link. Site A initiates
//! (IKE_SA_INIT, IKE_AUTH with the first Child SA), pings across (ESP), the Child SA reaches
//! its soft lifetime and is rekeyed with PFS (CREATE_CHILD_SA + INFORMATIONAL delete), a
//! quiet period triggers dead peer detection, and A closes the IKE SA.
//!
//! The ladder shows the encrypted payloads decrypted (the tour holds both ends' keys).

use netsim::TestRng;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ipsec_ike::config::*;
use ipsec_ike::crypto::{Encr, Group, Integ};
use ipsec_ike::sk::SkCodec;
use ipsec_ike::wire::{parse_chain, summarize, Message};
use ipsec_ike::{ConfigError, Event, Ike, Input, Outbound};
use netsim::{Dir, Endpoint, Fate, LinkConfig, Pair};

use super::{Opts, PcapOut, Report};

const A: [u8; 4] = [10, 97, 30, 1];
const B: [u8; 4] = [10, 97, 30, 2];

fn config(
    peer: &str,
    peer_addr: [u8; 4],
    local: &str,
    remote: &str,
) -> Result<IpsecConfig, String> {
    let e = |x: ConfigError| x.to_string();
    let mut c = IpsecConfig::default();
    c.profiles[0] = Profile {
        dh_group: vec![Group::Curve25519],
        enc_algorithm: vec![Encr::AesCbc(32)],
        hash_algorithm: vec![HashAlgorithm::Sha256],
        dpd_interval: Some(Duration::from_secs(20)),
        ..Profile::default()
    };
    c.proposals[0] = Proposal {
        enc_algorithms: vec![Encr::AesGcm(16, 16)],
        auth_algorithms: vec![None, Some(Integ::HmacSha256_128)],
        lifetime: Duration::from_secs(60),
        pfs_group: Some(Group::Curve25519),
        ..Proposal::default()
    };
    c.peers.push(Peer {
        name: peer.into(),
        address: IpPrefix::host(IpAddr::from(peer_addr)),
        exchange_mode: ExchangeMode::Ike2,
        ..Peer::default()
    });
    c.identities.push(Identity::psk(peer, "tour-secret"));
    c.policies.push(Policy {
        src_address: local.parse().map_err(e)?,
        dst_address: remote.parse().map_err(e)?,
        tunnel: true,
        peer: peer.into(),
        sa_dst_address: Some(IpAddr::from(peer_addr)),
        ..Policy::default()
    });
    Ok(c)
}

struct Node {
    ike: Ike,
    addr: [u8; 4],
    peer: [u8; 4],
    out: VecDeque<Vec<u8>>,
    schedule: VecDeque<(Instant, Vec<u8>)>,
    echo: bool,
    events: Vec<(Instant, Event)>,
    delivered: usize,
}

/// Link framing: 2-byte source port, 2-byte destination port (0 = raw ESP, IP protocol 50).
fn frame(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 4);
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

impl Node {
    fn collect(&mut self, now: Instant) {
        while let Some(t) = self.ike.poll_transmit(now) {
            self.out
                .push_back(frame(t.local.port(), t.remote.port(), &t.payload));
        }
        while let Some(e) = self.ike.poll_event() {
            self.events.push((now, e));
        }
    }
    fn send(&mut self, now: Instant, pkt: &[u8]) {
        let mut buf = [0u8; 2048];
        if let Ok(Outbound::Protected {
            len,
            udp,
            local,
            remote,
        }) = self.ike.encapsulate(now, pkt, &mut buf)
        {
            let (sp, dp) = if udp {
                (local.port(), remote.port())
            } else {
                (0, 0)
            };
            self.out.push_back(frame(sp, dp, &buf[..len]));
        }
        self.collect(now);
    }
}

impl Endpoint for Node {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if data.len() < 4 {
            return;
        }
        let sport = u16::from_be_bytes([data[0], data[1]]);
        let dport = u16::from_be_bytes([data[2], data[3]]);
        let mut b = data[4..].to_vec();
        let esp = dport == 0 || {
            let local = SocketAddr::from((self.addr, dport));
            let remote = SocketAddr::from((self.peer, sport));
            self.ike.handle_datagram(now, local, remote, &b) == Input::Esp
        };
        if esp {
            if let Ok(d) = self.ike.decapsulate_in_place(now, &mut b) {
                self.delivered += 1;
                let pkt = b[d.range].to_vec();
                if self.echo && pkt.get(20) == Some(&8) {
                    let seq = u16::from_be_bytes([pkt[26], pkt[27]]);
                    let reply = netsim::pcap::icmp4_echo(
                        [10, 2, 0, 1],
                        [10, 1, 0, 1],
                        true,
                        0x1234,
                        seq,
                        &[0x61; 56],
                    );
                    self.send(now, &reply);
                }
            }
        }
        self.collect(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.collect(now);
        self.out.pop_front()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.ike.poll_timeout(),
            self.schedule.front().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }
    fn handle_timeout(&mut self, now: Instant) {
        while self.schedule.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, p)) = self.schedule.pop_front() {
                if p.is_empty() {
                    // Marker: close the IKE SA.
                    let ids: Vec<_> = self.ike.ike_sas().map(|s| s.id).collect();
                    for id in ids {
                        let _ = self.ike.close(now, id);
                    }
                } else {
                    self.send(now, &p);
                }
            }
        }
        if self.ike.poll_timeout().is_some_and(|t| t <= now) {
            self.ike.handle_timeout(now);
        }
        self.collect(now);
    }
}

/// Every SK codec the two ends ever held (both directions), to decrypt the ladder.
fn codecs(n: &Node, into: &mut Vec<SkCodec>) {
    for sa in n.ike.ike_sas() {
        let (Some(k), Some(s)) = (sa.keys.as_ref(), sa.suite) else {
            continue;
        };
        for (e, a) in [(&k.sk_ei, &k.sk_ai), (&k.sk_er, &k.sk_ar)] {
            if let Ok(c) = SkCodec::new(s.encr, e, s.integ.map(|i| (i, &a[..]))) {
                into.push(c);
            }
        }
    }
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let start = Instant::now();
    let mk = |cfg, me: [u8; 4], seed| {
        Ike::new(
            cfg,
            Default::default(),
            IpAddr::from(me),
            start,
            Box::new(TestRng::new(seed)),
        )
        .map_err(|e| e.to_string())
    };
    let a_ike = mk(
        config("site-b", B, "10.1.0.0/24", "10.2.0.0/24")?,
        A,
        opts.seed,
    )?;
    let b_ike = mk(
        config("site-a", A, "10.2.0.0/24", "10.1.0.0/24")?,
        B,
        opts.seed.wrapping_add(1),
    )?;
    let node = |ike, addr, peer, schedule, echo| Node {
        ike,
        addr,
        peer,
        out: VecDeque::new(),
        schedule,
        echo,
        events: Vec::new(),
        delivered: 0,
    };
    let mut a = node(a_ike, A, B, VecDeque::new(), false);
    a.ike
        .connect(start, "site-b", None)
        .map_err(|e| e.to_string())?;
    let b = node(b_ike, B, A, VecDeque::new(), true);
    let link = if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    };
    let mut pair = Pair::with_start(a, b, link.clone(), link, opts.seed, start);
    // Collect keys as the SAs come and go (rekeys replace them).
    let mut sks = Vec::new();
    // Until the Child SA is up (at most 300 s). Like a RouterOS peer whose policy still wants
    // the tunnel, site A starts a new IKE_SA_INIT after an attempt fails (under heavy loss the
    // retransmissions, 2-4-8-16-32 s, can all be lost).
    let child_up = |n: &Node| {
        n.events
            .iter()
            .find(|(_, e)| matches!(e, Event::ChildSaUp { .. }))
            .map(|(t, _)| *t)
    };
    let failures = |n: &Node| {
        n.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::Failed { .. }))
            .count()
    };
    let mut failed_seen = 0;
    let give_up = start + Duration::from_secs(300);
    let mut up_at = None;
    while up_at.is_none() && pair.step_until(Some(give_up)) {
        codecs(&pair.a, &mut sks);
        up_at = child_up(&pair.a);
        let f = failures(&pair.a);
        if f > failed_seen && up_at.is_none() {
            failed_seen = f;
            let now = pair.now();
            pair.a
                .ike
                .connect(now, "site-b", None)
                .map_err(|e| e.to_string())?;
        }
    }
    // Then the story, timed from the moment the tunnel came up: pings, a rekey with PFS, DPD,
    // and the delete at the end.
    let t0 = up_at.unwrap_or_else(|| pair.now());
    let mut schedule = VecDeque::new();
    for (i, at) in [1000u64, 2000, 57_000].into_iter().enumerate() {
        schedule.push_back((
            t0 + Duration::from_millis(at),
            netsim::pcap::icmp4_echo(
                [10, 1, 0, 1],
                [10, 2, 0, 1],
                false,
                0x1234,
                i as u16 + 1,
                &[0x61; 56],
            ),
        ));
    }
    schedule.push_back((t0 + Duration::from_secs(85), Vec::new()));
    if up_at.is_some() {
        pair.a.schedule = schedule;
        let end = t0 + Duration::from_secs(90);
        while pair.step_until(Some(end)) {
            codecs(&pair.a, &mut sks);
        }
    }
    let mut report = Report::new("site-a", "site-b");
    let mut frames = Vec::new();
    for t in &pair.trace {
        let (src, dst) = match t.dir {
            Dir::AtoB => (A, B),
            Dir::BtoA => (B, A),
        };
        let sport = u16::from_be_bytes([t.data[0], t.data[1]]);
        let dport = u16::from_be_bytes([t.data[2], t.data[3]]);
        let payload = &t.data[4..];
        let summary = if dport == 0 {
            frames.push((t.at, netsim::pcap::ipv4_wrap(src, dst, 50, payload)));
            format!(
                "ESP spi={:08x} seq={}",
                u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]),
                u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]])
            )
        } else {
            frames.push((
                t.at,
                netsim::pcap::udp4_wrap(src, sport, dst, dport, payload),
            ));
            let inner = Message::parse(payload).ok().and_then(|m| {
                sks.iter()
                    .find_map(|c| c.open(payload, &m).ok())
                    .and_then(|o| parse_chain(o.first, &o.inner, 0).ok())
            });
            summarize(payload, inner.as_deref())
        };
        report.msg_fate(t.at, t.dir, payload.len(), summary, t.fate == Fate::Lost);
    }
    let mut notes = Vec::new();
    for (who, n) in [("site-a", &pair.a), ("site-b", &pair.b)] {
        for (t, e) in &n.events {
            let text = match e {
                Event::IkeSaUp {
                    initiator,
                    suite,
                    remote_id,
                    ..
                } => format!(
                    "{who}: IKE SA up ({}), {} / {:?} / {}, peer {remote_id}",
                    if *initiator { "initiator" } else { "responder" },
                    suite.encr.name(),
                    suite.prf,
                    suite.dh.name()
                ),
                Event::ChildSaUp {
                    spi_in,
                    spi_out,
                    encr,
                    rekey_of,
                    ..
                } => format!(
                    "{who}: Child SA in {spi_in:08x} out {spi_out:08x} {}{}",
                    encr.name(),
                    if rekey_of.is_some() {
                        " (rekeyed, PFS)"
                    } else {
                        ""
                    }
                ),
                Event::ChildSaDown { spi_in, reason, .. } => {
                    format!("{who}: Child SA {spi_in:08x} removed ({reason:?})")
                }
                Event::IkeSaDown { reason, .. } => format!("{who}: IKE SA down ({reason:?})"),
                other => format!("{who}: {other:?}"),
            };
            notes.push((*t, text));
        }
    }
    notes.sort_by_key(|(t, _)| *t);
    report.time_to_up = pair
        .a
        .events
        .iter()
        .find(|(_, e)| matches!(e, Event::ChildSaUp { .. }))
        .map(|(t, _)| *t - start);
    for (t, text) in notes {
        report.note(t - start, text);
    }
    report.lines.sort_by_key(|l| match l {
        super::Line::Msg { at, .. } => (*at, 0),
        super::Line::Note { at, .. } => (*at, 1),
    });
    report.note(
        pair.elapsed(),
        format!(
            "site-a received {} echo replies, site-b {} echo requests",
            pair.a.delivered, pair.b.delivered
        ),
    );
    report.pcaps.push(PcapOut {
        file: "ipsec-ike.pcap".to_string(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    });
    Ok(report)
}
