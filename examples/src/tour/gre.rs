//! Tour scenario for the `gre-family` crate: GRE, EoIP, IPIP and 6to4 between two routers
//! R1 and R2 over the simulated link, with pings through each tunnel, keepalives, and a GRE
//! keepalive timeout taking the tunnel down and a returning peer bringing it back up.
//!
//! Every datagram on the simulated link is a complete outer IP packet produced by the crate,
//! so the pcap (raw IP, link type 101) shows the real outer headers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use gre_family::wire::eoip::{EoipRepr, Eoipv6Repr};
use gre_family::wire::gre::GreRepr;
use gre_family::wire::internet_checksum;
use gre_family::wire::ip::{Ipv4Repr, Ipv6Repr};
use gre_family::{DownReason, Event, Keepalive, Payload, TunnelConfig, TunnelKind};
use netsim::gre::GreNode;
use netsim::{Fate, LinkConfig, Pair};

use super::{Opts, PcapOut, Report};

/// One router: a tunnel plus a host that answers pings arriving through it (netsim's shared
/// adapter, also used by the crate's pair tests).
type Router = GreNode;

fn router(cfg: TunnelConfig, start: Instant) -> Result<Router, String> {
    Ok(GreNode::new(cfg, start)
        .map_err(|e| e.to_string())?
        .with_responder(Box::new(echo_reply)))
}

// ---- tiny ICMP helpers (inner traffic) ----

fn icmp4(src: Ipv4Addr, dst: Ipv4Addr, ty: u8, seq: u16) -> Vec<u8> {
    let mut icmp = vec![ty, 0, 0, 0, 0x52, 0x50, 0, 0];
    icmp[6..8].copy_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(b"routeros-protocols tour ping");
    let c = internet_checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = Ipv4Repr::new(src, dst, 1, icmp.len());
    ip.dont_fragment = true;
    let mut p = vec![0u8; 20 + icmp.len()];
    let _ = ip.emit(&mut p);
    p[20..].copy_from_slice(&icmp);
    p
}

fn icmp6(src: Ipv6Addr, dst: Ipv6Addr, ty: u8, seq: u16) -> Vec<u8> {
    let mut icmp = vec![ty, 0, 0, 0, 0x52, 0x50, 0, 0];
    icmp[6..8].copy_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(b"routeros-protocols tour ping6");
    // checksum over the IPv6 pseudo-header
    let mut ph = Vec::new();
    ph.extend_from_slice(&src.octets());
    ph.extend_from_slice(&dst.octets());
    ph.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
    ph.extend_from_slice(&[0, 0, 0, 58]);
    ph.extend_from_slice(&icmp);
    let c = internet_checksum(&ph);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let ip = Ipv6Repr {
        traffic_class: 0,
        flow_label: 0,
        payload_len: icmp.len(),
        next_header: 58,
        hop_limit: 64,
        src,
        dst,
    };
    let mut p = vec![0u8; 40 + icmp.len()];
    let _ = ip.emit(&mut p);
    p[40..].copy_from_slice(&icmp);
    p
}

const MAC_R1: [u8; 6] = [0x02, 0x00, 0x5e, 0x80, 0x00, 0x01];
const MAC_R2: [u8; 6] = [0x02, 0x00, 0x5e, 0x80, 0x00, 0x02];

fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// If `inner` is an echo request, the echo reply a host would send.
fn echo_reply(inner: &[u8], payload: Payload) -> Option<Vec<u8>> {
    match payload {
        Payload::Ipv4 => {
            let (ip, r) = Ipv4Repr::parse(inner).ok()?;
            let icmp = inner.get(r)?;
            (ip.protocol == 1 && icmp.first() == Some(&8)).then(|| {
                let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
                icmp4(ip.dst, ip.src, 0, seq)
            })
        }
        Payload::Ipv6 => {
            let (ip, r) = Ipv6Repr::parse(inner).ok()?;
            let icmp = inner.get(r)?;
            (ip.next_header == 58 && icmp.first() == Some(&128)).then(|| {
                let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
                icmp6(ip.dst, ip.src, 129, seq)
            })
        }
        Payload::Ethernet => {
            let et = u16::from_be_bytes([*inner.get(12)?, *inner.get(13)?]);
            if et != 0x0800 {
                return None;
            }
            let reply = echo_reply(inner.get(14..)?, Payload::Ipv4)?;
            let mut dst = [0u8; 6];
            let mut src = [0u8; 6];
            dst.copy_from_slice(inner.get(6..12)?);
            src.copy_from_slice(inner.get(0..6)?);
            Some(eth(dst, src, 0x0800, &reply))
        }
    }
}

// ---- one-line decoding of an outer packet for the ladder ----

fn describe_inner_ip(p: &[u8]) -> String {
    match p.first().map(|b| b >> 4) {
        Some(4) => match Ipv4Repr::parse(p) {
            Ok((ip, r)) => {
                let body = p.get(r).unwrap_or(&[]);
                match (ip.protocol, body.first()) {
                    (1, Some(8)) | (1, Some(0)) => format!(
                        "ICMP echo {} {}>{} seq={}",
                        if body[0] == 8 { "request" } else { "reply" },
                        ip.src,
                        ip.dst,
                        u16::from_be_bytes([body[6], body[7]])
                    ),
                    (47, _) if GreRepr::parse(body).is_ok_and(|g| g.0.protocol == 0) => {
                        format!("IP {}>{} GRE 0x0000 (keepalive)", ip.src, ip.dst)
                    }
                    (proto, _) if body.is_empty() => {
                        format!("IP {}>{} proto {proto} empty (keepalive)", ip.src, ip.dst)
                    }
                    (proto, _) => format!("IP {}>{} proto {proto}", ip.src, ip.dst),
                }
            }
            Err(e) => format!("bad IPv4: {e}"),
        },
        Some(6) => match Ipv6Repr::parse(p) {
            Ok((ip, r)) => {
                let body = p.get(r).unwrap_or(&[]);
                match (ip.next_header, body.first()) {
                    (58, Some(&t)) if t == 128 || t == 129 => format!(
                        "ICMPv6 echo {} {}>{} seq={}",
                        if t == 128 { "request" } else { "reply" },
                        ip.src,
                        ip.dst,
                        u16::from_be_bytes([body[6], body[7]])
                    ),
                    (nh, _) => format!("IPv6 {}>{} nh {nh}", ip.src, ip.dst),
                }
            }
            Err(e) => format!("bad IPv6: {e}"),
        },
        _ => "non-IP payload".to_string(),
    }
}

fn describe_frame(f: &[u8]) -> String {
    if f.len() < 14 {
        return "short frame".into();
    }
    let et = u16::from_be_bytes([f[12], f[13]]);
    let mac = |m: &[u8]| {
        m.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let inner = if et == 0x0800 {
        describe_inner_ip(&f[14..])
    } else {
        format!("ethertype {et:#06x}")
    };
    format!("Ether {}>{} | {}", mac(&f[6..12]), mac(&f[0..6]), inner)
}

fn describe(p: &[u8]) -> String {
    if p.first().map(|b| b >> 4) == Some(6) {
        let Ok((ip, r)) = Ipv6Repr::parse(p) else {
            return "bad outer IPv6".into();
        };
        let body = p.get(r).unwrap_or(&[]);
        return match Eoipv6Repr::parse(body) {
            Ok((h, fr)) if fr.is_empty() => format!("EoIPv6 tid={} keepalive", h.tunnel_id),
            Ok((h, fr)) => format!(
                "EoIPv6 tid={} | {}",
                h.tunnel_id,
                describe_frame(body.get(fr).unwrap_or(&[]))
            ),
            Err(e) => format!("IPv6 {}>{}: {e}", ip.src, ip.dst),
        };
    }
    let Ok((ip, r)) = Ipv4Repr::parse(p) else {
        return "bad outer IPv4".into();
    };
    let body = p.get(r).unwrap_or(&[]);
    let outer = format!("{}>{}", ip.src, ip.dst);
    match ip.protocol {
        47 if body.get(1).map(|b| b & 7) == Some(1) => match EoipRepr::parse(body) {
            Ok((h, _)) if h.is_keepalive() => {
                format!("{outer} EoIP tid={} keepalive", h.tunnel_id)
            }
            Ok((h, fr)) => format!(
                "{outer} EoIP tid={} len={} | {}",
                h.tunnel_id,
                h.frame_len,
                describe_frame(body.get(fr).unwrap_or(&[]))
            ),
            Err(e) => format!("{outer} {e}"),
        },
        47 => match GreRepr::parse(body) {
            Ok((g, _)) if g.protocol == 0 => {
                format!("{outer} GRE 0x0000: keepalive routed back by the peer")
            }
            Ok((g, hl)) => {
                let inner = body.get(hl..).unwrap_or(&[]);
                let d = describe_inner_ip(inner);
                if d.contains("keepalive") {
                    format!("{outer} GRE {:#06x} keepalive | {d}", g.protocol)
                } else {
                    format!("{outer} GRE {:#06x} | {d}", g.protocol)
                }
            }
            Err(e) => format!("{outer} {e}"),
        },
        4 | 41 if body.is_empty() => format!(
            "{outer} {} empty: keepalive routed back by the peer",
            if ip.protocol == 4 { "IPIP" } else { "6in4" }
        ),
        4 => format!("{outer} IPIP | {}", describe_inner_ip(body)),
        41 => format!("{outer} 6in4 | {}", describe_inner_ip(body)),
        p => format!("{outer} proto {p}"),
    }
}

// ---- the scenario ----

/// A deferred ladder row (sorted by time before it is added to the report).
type Row = Box<dyn FnOnce(&mut Report)>;

struct Acc {
    report: Report,
    frames: Vec<(Duration, Vec<u8>)>,
    offset: Duration,
    /// Notes of the running sub-scenario, relative to its start.
    notes: Vec<(Duration, String)>,
}

impl Acc {
    /// Copy a finished sub-scenario's trace and events into the report, shifted by `offset`.
    fn take(&mut self, p: &Pair<Router, Router>) {
        let mut rows: Vec<(Duration, u8, Row)> = Vec::new();
        for e in &p.trace {
            let at = self.offset + e.at;
            let summary = describe(&e.data);
            let (dir, len, lost) = (e.dir, e.data.len(), e.fate != Fate::Delivered);
            rows.push((
                at,
                2,
                Box::new(move |r: &mut Report| r.msg_fate(at, dir, len, summary, lost)),
            ));
            if e.fate == Fate::Delivered {
                self.frames.push((at, e.data.clone()));
            }
        }
        for (who, evs) in [("R1", &p.a.events), ("R2", &p.b.events)] {
            for (t, ev) in evs.iter() {
                let at = self.offset + *t;
                let text = match ev {
                    Event::Up => format!("{who}: keepalive received, tunnel RUNNING"),
                    Event::Down {
                        reason: DownReason::KeepaliveTimeout { silent_for },
                    } => format!(
                        "{who}: no keepalive for {}s (interval*retries), running flag removed",
                        silent_for.as_secs()
                    ),
                    Event::MtuChanged { mtu } => {
                        format!("{who}: interface MTU now {mtu} (path MTU from ICMP)")
                    }
                    other => format!("{who}: {other:?}"),
                };
                rows.push((at, 1, Box::new(move |r: &mut Report| r.note(at, text))));
            }
        }
        for (t, text) in self.notes.drain(..) {
            let at = self.offset + t;
            rows.push((at, 0, Box::new(move |r: &mut Report| r.note(at, text))));
        }
        rows.sort_by_key(|r| (r.0, r.1));
        for (_, _, f) in rows {
            f(&mut self.report);
        }
        self.offset += p.elapsed() + Duration::from_secs(1);
    }
}

fn link(opts: &Opts) -> LinkConfig {
    if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    }
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn new_pair(
    opts: &Opts,
    a: TunnelConfig,
    b: TunnelConfig,
    salt: u64,
) -> Result<Pair<Router, Router>, String> {
    // The base instant is virtual time zero; nothing reads the clock after this.
    let start = Instant::now();
    Ok(Pair::with_start(
        router(a, start)?,
        router(b, start)?,
        link(opts),
        link(opts),
        opts.seed ^ salt,
        start,
    ))
}

const KA: Keepalive = Keepalive {
    interval: Duration::from_secs(10),
    retries: 3,
};

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let mut acc = Acc {
        report: Report::new("R1", "R2"),
        frames: Vec::new(),
        offset: Duration::ZERO,
        notes: Vec::new(),
    };
    let (r1, r2) = (v4("192.168.80.1"), v4("192.168.90.1"));
    let (in1, in2) = (Ipv4Addr::new(172, 16, 1, 1), Ipv4Addr::new(172, 16, 1, 2));

    // 1. GRE with keepalive=10s,3: up, pings, peer lost, down after 30 s, back up.
    acc.report.note(
        acc.offset,
        "GRE 192.168.80.1 <-> 192.168.90.1, keepalive=10s,3, mtu 1476",
    );
    let mut ca = TunnelConfig::new(TunnelKind::Gre, r1, Some(r2));
    let mut cb = TunnelConfig::new(TunnelKind::Gre, r2, Some(r1));
    ca.keepalive = Some(KA);
    cb.keepalive = Some(KA);
    let mut p = new_pair(opts, ca, cb, 1)?;
    // Up when a keepalive reply comes back: one round trip every 10 s, so at 30 % loss this can
    // take several intervals. Everything after is scheduled relative to the moment it came up.
    let up = p.run_until(Duration::from_secs(300), |a, b| {
        a.t.is_running() && b.t.is_running()
    });
    acc.report.time_to_up = up;
    for seq in 1..=3 {
        p.a.app_out.push_back(icmp4(in1, in2, 8, seq));
        p.run_for(Duration::from_secs(1));
    }
    p.run_for(Duration::from_secs(30));
    p.set_cut(true);
    acc.notes
        .push((p.elapsed(), "link R1<->R2 cut (peer unreachable)".into()));
    p.run_for(Duration::from_secs(60));
    if p.a.t.is_running() {
        return Err("GRE tunnel did not go down after interval*retries".into());
    }
    p.set_cut(false);
    acc.notes.push((p.elapsed(), "link restored".into()));
    p.run_until(Duration::from_secs(300), |a, _| a.t.is_running())
        .ok_or("GRE tunnel did not come back up")?;
    p.a.app_out.push_back(icmp4(in1, in2, 8, 4));
    p.run_for(Duration::from_secs(1));
    acc.take(&p);

    // 2. EoIP tunnel-id 100: independent keepalives, an Ethernet ping.
    acc.report.note(
        acc.offset,
        "EoIP tunnel-id=100, keepalive=10s,3, actual-mtu 1458",
    );
    let mut ca = TunnelConfig::new(TunnelKind::Eoip, r1, Some(r2));
    let mut cb = TunnelConfig::new(TunnelKind::Eoip, r2, Some(r1));
    ca.tunnel_id = 100;
    cb.tunnel_id = 100;
    ca.keepalive = Some(KA);
    cb.keepalive = Some(KA);
    let mut p = new_pair(opts, ca, cb, 2)?;
    p.run_for(Duration::from_millis(100));
    let (e1, e2) = (
        Ipv4Addr::new(192, 168, 88, 1),
        Ipv4Addr::new(192, 168, 88, 2),
    );
    p.a.app_out
        .push_back(eth(MAC_R2, MAC_R1, 0x0800, &icmp4(e1, e2, 8, 1)));
    p.run_for(Duration::from_secs(11));
    acc.take(&p);

    // 3. IPIP with keepalive.
    acc.report.note(
        acc.offset,
        "IPIP 192.168.80.1 <-> 192.168.90.1, keepalive=10s,3, mtu 1480",
    );
    let mut ca = TunnelConfig::new(TunnelKind::Ipip, r1, Some(r2));
    let mut cb = TunnelConfig::new(TunnelKind::Ipip, r2, Some(r1));
    ca.keepalive = Some(KA);
    cb.keepalive = Some(KA);
    let mut p = new_pair(opts, ca, cb, 3)?;
    p.run_for(Duration::from_millis(100));
    p.a.app_out.push_back(icmp4(
        Ipv4Addr::new(1, 1, 1, 1),
        Ipv4Addr::new(1, 1, 1, 2),
        8,
        1,
    ));
    p.run_for(Duration::from_secs(2));
    acc.take(&p);

    // 4. Automatic 6to4: 10.0.1.1 <-> 10.0.2.1, IPv6 2002:a00:101::1 pings 2002:a00:201::1.
    acc.report.note(
        acc.offset,
        "6to4 without remote-address: 2002:a00:201::/48 -> IPv4 10.0.2.1",
    );
    let mut ca = TunnelConfig::new(TunnelKind::SixToFour, v4("10.0.1.1"), None);
    let mut cb = TunnelConfig::new(TunnelKind::SixToFour, v4("10.0.2.1"), None);
    ca.keepalive = None;
    cb.keepalive = None;
    let mut p = new_pair(opts, ca, cb, 4)?;
    let s6: Ipv6Addr = "2002:a00:101::1".parse().map_err(|_| "addr")?;
    let d6: Ipv6Addr = "2002:a00:201::1".parse().map_err(|_| "addr")?;
    for seq in 1..=2 {
        p.a.app_out.push_back(icmp6(s6, d6, 128, seq));
        p.run_for(Duration::from_secs(1));
    }
    acc.take(&p);

    let mut report = acc.report;
    report.pcaps.push(PcapOut {
        file: "gre.pcap".to_string(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames: acc.frames,
    });
    Ok(report)
}
