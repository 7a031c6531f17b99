//! Tour scenario for the `ptp` crate: three clocks on one LAN (virtual time, `ptp::sim`).
//!
//! * `gm`     priority1 100, a perfect oscillator;
//! * `backup` priority1 110, +3 ppm;
//! * `slave`  priority1 128, +25 ppm and 2 ms off at power-on.
//!
//! All three start LISTENING; after announceReceiptTimeout (3 x 2 s) they claim MASTER, hear
//! each other's Announces, and the BMCA (priority1 decides) leaves `gm` as grandmaster. Then the
//! slave's servo steps once and steers its frequency: the ladder prints its offset over time.
//! The left column is `gm`, the right column the other two clocks (named in each line).

use std::time::{Duration, Instant};

use ptp::sim::{ClockModel, Network};
use ptp::wire::{Body, ClockIdentity, Message, MessageType, Time};
use ptp::Timestamping;
use ptp::{Clock, Config, Event, PortState};

use super::{Dir, Opts, PcapOut, Report};

fn summary(m: &Message<'_>) -> String {
    let h = &m.header;
    let seq = h.sequence_id;
    match &m.body {
        Body::Announce(a) => format!(
            "Announce seq={seq} gm={} p1={} steps={}",
            a.grandmaster_identity, a.grandmaster_priority1, a.steps_removed
        ),
        Body::Sync { .. } => format!("Sync seq={seq} twoStep={}", h.two_step()),
        Body::FollowUp {
            precise_origin_timestamp,
        } => format!("Follow_Up seq={seq} t1={precise_origin_timestamp}"),
        Body::DelayReq { .. } => format!("Delay_Req seq={seq}"),
        Body::DelayResp {
            receive_timestamp, ..
        } => format!("Delay_Resp seq={seq} t4={receive_timestamp}"),
        other => format!("{} seq={seq}", other.message_type().name()),
    }
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let start = Instant::now();
    let mut net = Network::new(start, opts.seed);
    net.loss = opts.loss;
    net.record = true;
    net.timestamp_jitter_ns = 20.0;
    let epoch = Time::from_nanos(1_700_000_000_000_000_000);
    let names = ["gm", "backup", "slave"];
    let specs = [(100u8, 0.0, 0.0), (110, 0.0, 3.0), (128, 2_000_000.0, 25.0)];
    let seg = net.add_segment();
    for (i, (p1, off, ppm)) in specs.iter().enumerate() {
        let cfg = Config {
            name: names[i].to_string(),
            clock_identity: ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0, 0, i as u8 + 1]),
            priority1: Some(*p1),
            servo: ptp::ServoConfig {
                timestamping: Timestamping::Hardware,
                ..Default::default()
            },
            ..Config::default()
        };
        let clock = Clock::new(
            &cfg,
            Box::new(netsim::TestRng::new(opts.seed ^ i as u64)),
            start,
        )
        .map_err(|e| e.to_string())?;
        let n = net.add_node(names[i], clock, ClockModel::new(epoch, *off, *ppm));
        // 1.5 us one way, 0.5 us more towards the slave (asymmetry shows up as a constant offset).
        net.attach(seg, n, 0, 1500, if i == 2 { 2000 } else { 1500 });
    }

    let mut report = Report::new("gm", "backup / slave");
    let mut shown = 0usize;
    let mut last_offset_note = 0u64;
    let mut frames = Vec::new();
    let mut seen_events = [0usize; 3];
    let total_s = 90u64;
    for step in 1..=(total_s * 4) {
        net.run_until(step * 250_000_000);
        for t in net.trace.drain(..) {
            let at = Duration::from_nanos(t.at_ns);
            let Ok(m) = Message::parse(&t.bytes) else {
                continue;
            };
            let (sport, dport) = if t.event { (319, 319) } else { (320, 320) };
            let dst = ptp::Transport::ipv4_group(if t.peer_delay {
                ptp::Destination::PeerDelay
            } else {
                ptp::Destination::Primary
            });
            if at < Duration::from_secs(40) {
                frames.push((
                    at,
                    netsim::pcap::udp4_wrap(
                        [10, 97, 10, t.from as u8 + 1],
                        sport,
                        dst,
                        dport,
                        &t.bytes,
                    ),
                ));
            }
            // Ladder: everything during the election, then the first two sync/delay rounds
            // between gm and slave; the rest is summarised by the offset notes.
            let interesting = shown < 60
                && (m.header.message_type == MessageType::Announce && at < Duration::from_secs(12)
                    || (at >= Duration::from_secs(12) && (t.from == 0 || t.from == 2)));
            if interesting {
                shown += 1;
                let dir = if t.from == 0 { Dir::AtoB } else { Dir::BtoA };
                report.msg(
                    at,
                    dir,
                    t.bytes.len(),
                    format!("[{}] {}", names[t.from], summary(&m)),
                );
            } else {
                report.messages += 1;
                report.bytes += t.bytes.len();
            }
        }
        for (i, seen) in seen_events.iter_mut().enumerate() {
            let evs = &net.nodes[i].events;
            for (t, e) in evs.iter().skip(*seen) {
                let at = Duration::from_nanos(*t);
                match e {
                    Event::PortStateChanged { from, to, .. } => {
                        report.note(
                            at,
                            format!("{}: port {} -> {}", names[i], from.name(), to.name()),
                        );
                        if i == 2 && *to == PortState::Slave && report.time_to_up.is_none() {
                            report.time_to_up = Some(at);
                        }
                    }
                    Event::ParentChanged { grandmaster, .. } => report.note(
                        at,
                        format!("{}: BMCA selects grandmaster {grandmaster}", names[i]),
                    ),
                    Event::StepClock { by } if i == 2 => report.note(
                        at,
                        format!("slave: servo steps the clock by {} ns", by.nanos_round()),
                    ),
                    _ => {}
                }
            }
            *seen = evs.len();
        }
        let now_s = step / 4;
        if step % 4 == 0
            && net.nodes[2].clock.port_state(0) == Some(PortState::Slave)
            && (now_s < 20 || now_s >= last_offset_note + 10)
        {
            last_offset_note = now_s;
            let true_off = net.offset_ns(2, 0).unwrap_or(0.0);
            let m = net.nodes[2].clock.monitor();
            report.note(
                Duration::from_secs(now_s),
                format!(
                    "slave: measured offset {} ns, true offset {:.0} ns, freq-drift {} ppb, delay {} ns",
                    m.offset_ns.unwrap_or(0),
                    true_off,
                    m.freq_drift_ppb.unwrap_or(0),
                    m.slave_port_delay_ns.unwrap_or(0)
                ),
            );
        }
    }
    let m = net.nodes[2].clock.monitor();
    report.note(
        Duration::from_secs(total_s),
        format!(
            "slave monitor: {}",
            m.to_string().trim_end().replace('\n', ", ")
        ),
    );
    if net.nodes[0].clock.monitor().i_am_gm {
        report.note(
            Duration::from_secs(total_s),
            "gm: i-am-gm yes; backup and slave follow it",
        );
    } else {
        return Err("gm did not win the election".into());
    }
    report.pcaps.push(PcapOut {
        file: "ptp.pcap".into(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    });
    Ok(report)
}
