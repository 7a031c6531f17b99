//! Tour scenario for the `pppoe` crate: a RouterOS-style `/interface pppoe-client` dials an
//! access concentrator (`/interface pppoe-server server`) over the simulated Ethernet link.
//!
//! Discovery (EtherType 0x8863): PADI (broadcast, Service-Name, Host-Uniq), PADO (AC-Name,
//! AC-Cookie), PADR (echoing the cookie), PADS (the SESSION_ID). Then the session stage
//! (EtherType 0x8864) carries PPP: LCP, MS-CHAPv2, IPCP; three pings each way; the client
//! hangs up (LCP Terminate-Request/Ack) and sends a PADT. Lost discovery packets are resent
//! by the client's PADI/PADR timers, lost PPP packets by PPP's restart timer. The pcap
//! (link type 1, Ethernet) holds every frame sent on the wire, lost ones included.

use std::collections::{BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use netsim::{Endpoint, Fate, LinkConfig, Pair, TestRng};
use pppoe::wire::{Frame, TypedTag};
use pppoe::{Client, ClientConfig, ClientEvent, Input, Server, ServerConfig, ServerEvent};

use super::{Opts, PcapOut, Report};

const HOST_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x00, 0x01];
const AC_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x00, 0x02];
const AC_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

struct Host {
    c: Client,
    start: Instant,
    notes: Vec<(Duration, String)>,
    out: VecDeque<Vec<u8>>,
    /// Sequence numbers of the echo replies received (duplicates counted once).
    replies: BTreeSet<u16>,
}

impl Host {
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.c.poll_event() {
            let text = match &e {
                ClientEvent::Offer { offer, taken } => Some(format!(
                    "client: offer from AC-Name {:?} services {:?}{}",
                    offer.ac_name,
                    offer.services,
                    if *taken { ", taken" } else { "" }
                )),
                ClientEvent::SessionUp { session, .. } => Some(format!(
                    "client: PADS received, session id {:#06x}: PPP starts",
                    session.1
                )),
                ClientEvent::SessionDown { reason, .. } => {
                    Some(format!("client: session down ({reason:?})"))
                }
                ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::AuthSucceeded {
                    user,
                    method,
                    ..
                })) => Some(format!("client: authenticated as {user} ({method})")),
                ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) => Some(format!(
                    "client: IPCP up, local {} remote {} mtu {}",
                    u.local, u.remote, u.mtu
                )),
                _ => None,
            };
            if let Some(t) = text {
                self.notes.push((now - self.start, t));
            }
        }
    }
}

impl Endpoint for Host {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut buf = data.to_vec();
        let mut reply = None;
        if let Input::Datagram {
            protocol: 0x0021,
            payload,
            ..
        } = self.c.handle_frame(now, &mut buf)
        {
            if let (Some(0), Some(q)) = (payload.get(20), payload.get(26..28)) {
                self.replies.insert(u16::from_be_bytes([q[0], q[1]]));
            }
            reply = crate::sstp_util::echo_reply(payload, HOST_IP);
        }
        if let Some(rep) = reply {
            let mut out = vec![0u8; 1600];
            if let Ok(n) = self.c.send_datagram(now, 0x0021, &rep, &mut out) {
                out.truncate(n);
                self.out.push_back(out);
            }
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let t = self.c.poll_transmit(now).map(|t| t.frame);
        self.drain(now);
        t.or_else(|| self.out.pop_front())
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.c.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.c.handle_timeout(now);
        self.drain(now);
    }
}

struct Ac {
    s: Server,
    start: Instant,
    notes: Vec<(Duration, String)>,
    out: VecDeque<Vec<u8>>,
    /// Sequence numbers of the echo replies received (duplicates counted once).
    replies: BTreeSet<u16>,
    session: Option<pppoe::SessionKey>,
}

impl Ac {
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.s.poll_event() {
            let text = match &e {
                ServerEvent::SessionStarted { session, .. } => {
                    self.session = Some(*session);
                    Some(format!(
                        "server: PADS sent, session id {:#06x} for {:02x?}",
                        session.1, session.0
                    ))
                }
                ServerEvent::SessionEnded { session, reason } => {
                    if self.session == Some(*session) {
                        self.session = None;
                    }
                    Some(format!(
                        "server: session {:#06x} ended ({reason:?})",
                        session.1
                    ))
                }
                _ => None,
            };
            if let Some(t) = text {
                self.notes.push((now - self.start, t));
            }
        }
    }
}

impl Endpoint for Ac {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let mut buf = data.to_vec();
        let mut reply = None;
        if let Input::Datagram {
            session,
            protocol: 0x0021,
            payload,
        } = self.s.handle_frame(now, &mut buf)
        {
            if let (Some(0), Some(q)) = (payload.get(20), payload.get(26..28)) {
                self.replies.insert(u16::from_be_bytes([q[0], q[1]]));
            }
            reply = crate::sstp_util::echo_reply(payload, AC_IP).map(|r| (session, r));
        }
        if let Some((key, rep)) = reply {
            let mut out = vec![0u8; 1600];
            if let Ok(n) = self.s.send_datagram(now, &key, 0x0021, &rep, &mut out) {
                out.truncate(n);
                self.out.push_back(out);
            }
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let t = self.s.poll_transmit(now).map(|t| t.frame);
        self.drain(now);
        t.or_else(|| self.out.pop_front())
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.s.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
        self.drain(now);
    }
}

/// One line for a PPP frame that starts at the protocol field (an `FF 03` address/control
/// prefix is skipped when present).
pub(crate) fn ppp_line(frame: &[u8]) -> String {
    let f = frame.strip_prefix(&[0xff, 0x03]).unwrap_or(frame);
    let proto = match f {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => return "PPP (truncated)".into(),
    };
    let code = f.get(2).copied().unwrap_or(0);
    let name = match proto {
        0xc021 => "LCP",
        0xc223 => "CHAP",
        0xc023 => "PAP",
        0x80fd => "CCP",
        0x8021 => "IPCP",
        0x8057 => "IPv6CP",
        0x00fd => return format!("PPP MPPE-compressed/encrypted ({} bytes)", f.len()),
        0x0021 => {
            let ip = &f[2..];
            return match (ip.get(9), ip.get(20)) {
                (Some(1), Some(8)) => "PPP IPv4: ICMP echo request".into(),
                (Some(1), Some(0)) => "PPP IPv4: ICMP echo reply".into(),
                _ => format!("PPP IPv4 ({} bytes)", ip.len()),
            };
        }
        0x0057 => return "PPP IPv6 datagram".into(),
        p => return format!("PPP protocol {p:#06x}"),
    };
    let what = match (proto, code) {
        (0xc223, 1) => "Challenge",
        (0xc223, 2) => "Response",
        (0xc223, 3) => "Success",
        (0xc223, 4) => "Failure",
        (_, 1) => "Configure-Request",
        (_, 2) => "Configure-Ack",
        (_, 3) => "Configure-Nak",
        (_, 4) => "Configure-Reject",
        (_, 5) => "Terminate-Request",
        (_, 6) => "Terminate-Ack",
        (_, 7) => "Code-Reject",
        (_, 8) => "Protocol-Reject",
        (_, 9) => "Echo-Request",
        (_, 10) => "Echo-Reply",
        (_, 14) => "Reset-Request",
        _ => "?",
    };
    format!("{name} {what} id {}", f.get(3).copied().unwrap_or(0))
}

fn tag_text(t: &pppoe::wire::Tag) -> String {
    let s = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    match t.typed() {
        Ok(TypedTag::ServiceName(v)) => format!("Service-Name {:?}", s(v)),
        Ok(TypedTag::AcName(v)) => format!("AC-Name {:?}", s(v)),
        Ok(TypedTag::HostUniq(v)) => format!("Host-Uniq ({} bytes)", v.len()),
        Ok(TypedTag::AcCookie(v)) => format!("AC-Cookie ({} bytes)", v.len()),
        Ok(TypedTag::GenericError(v)) => format!("Generic-Error {:?}", s(v)),
        Ok(TypedTag::PppMaxPayload(n)) => format!("PPP-Max-Payload {n}"),
        Ok(TypedTag::EndOfList) => "End-Of-List".into(),
        _ => format!("tag {:#06x}", t.tag_type),
    }
}

fn summary(frame: &[u8]) -> String {
    match Frame::parse(frame) {
        Ok(f) if f.ethertype == 0x8864 => {
            format!("session {:#06x}: {}", f.session_id, ppp_line(f.payload))
        }
        Ok(f) => match pppoe::wire::Discovery::from_frame(&f) {
            Ok(d) => {
                let tags: Vec<String> = d.tags.iter().map(tag_text).collect();
                format!(
                    "{} session {:#06x} [{}]",
                    f.code.name(),
                    f.session_id,
                    tags.join(", ")
                )
            }
            Err(e) => format!("{} (bad tags: {e})", f.code.name()),
        },
        Err(e) => format!("not PPPoE: {e}"),
    }
}

/// IPCP is in the Opened state.
pub(crate) fn ipcp_open(s: Option<&ppp::Session>) -> bool {
    s.is_some_and(|s| s.ipcp_state() == ppp::fsm::State::Opened)
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let mut r = Report::new("pppoe-client", "pppoe-server");
    let start = Instant::now();
    let mut cc = ClientConfig::new(HOST_MAC);
    cc.ppp.user = "alice".into();
    cc.ppp.password = "pw".into();
    let c = Client::new(cc, start, TestRng::new(opts.seed ^ 0x0e0e)).map_err(|e| e.to_string())?;
    let sc = ServerConfig::new(AC_MAC);
    let mut s =
        Server::new(sc, start, TestRng::new(opts.seed ^ 0xacac)).map_err(|e| e.to_string())?;
    let mut aaa = ppp::aaa::Aaa::new();
    let mut secret = ppp::aaa::Secret::new("alice", "pw");
    secret.local_address = Some(AC_IP);
    secret.remote_address = Some(HOST_IP);
    aaa.secrets.push(secret);
    s.host_mut().set_store(Box::new(aaa));
    let link = if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    };
    let mut p = Pair::with_start(
        Host {
            c,
            start,
            notes: vec![],
            out: VecDeque::new(),
            replies: BTreeSet::new(),
        },
        Ac {
            s,
            start,
            notes: vec![],
            out: VecDeque::new(),
            replies: BTreeSet::new(),
            session: None,
        },
        link.clone(),
        link,
        opts.seed,
        start,
    );
    let up = p.run_until(Duration::from_secs(300), |a, b| {
        a.c.ppp().is_up() && b.session.is_some()
    });
    r.time_to_up = up;
    let mut sent = (0u16, 0u16);
    if up.is_some() {
        // IPCP is open at the client; let it open at the AC too (its last Configure-Request
        // may have been lost: PPP's restart timer resends it), then ping both ways.
        p.run_until(Duration::from_secs(60), |a, b| {
            ipcp_open(a.c.ppp().session())
                && b.session.is_some_and(|k| ipcp_open(b.s.host().session(&k)))
        });
        p.run_for(Duration::from_millis(300));
        // Pings each way every 500 ms until three replies came back (a direction whose PPP is
        // not open yet, or whose packets were lost, tries again), at most 30 rounds.
        for n in 1..=30u16 {
            if p.a.replies.len() >= 3 && p.b.replies.len() >= 3 {
                break;
            }
            let now = p.now();
            let mut buf = vec![0u8; 1600];
            let req = netsim::pcap::icmp4_echo(
                HOST_IP.octets(),
                AC_IP.octets(),
                false,
                0x0e0e,
                n,
                b"pppoe tour",
            );
            if p.a.replies.len() < 3 {
                if let Ok(len) = p.a.c.send_datagram(now, 0x0021, &req, &mut buf) {
                    buf.truncate(len);
                    p.a.out.push_back(buf);
                    sent.0 += 1;
                }
            }
            if let Some(key) = p.b.session.filter(|_| p.b.replies.len() < 3) {
                let mut buf = vec![0u8; 1600];
                let req = netsim::pcap::icmp4_echo(
                    AC_IP.octets(),
                    HOST_IP.octets(),
                    false,
                    0xacac,
                    n,
                    b"pppoe tour",
                );
                if let Ok(len) = p.b.s.send_datagram(now, &key, 0x0021, &req, &mut buf) {
                    buf.truncate(len);
                    p.b.out.push_back(buf);
                    sent.1 += 1;
                }
            }
            p.run_for(Duration::from_millis(500));
        }
        let now = p.now();
        p.a.notes.push((
            now - start,
            "client: hanging up (LCP Terminate-Request, then PADT)".into(),
        ));
        p.a.c.hang_up(now);
        p.run_for(Duration::from_secs(15));
    }
    let mut notes: Vec<(Duration, String)> = p.a.notes.clone();
    notes.extend(p.b.notes.clone());
    notes.sort_by_key(|n| n.0);
    let mut ni = notes.into_iter().peekable();
    let mut frames = Vec::new();
    for e in &p.trace {
        while let Some(n) = ni.next_if(|n| n.0 <= e.at) {
            r.note(n.0, n.1);
        }
        frames.push((e.at, e.data.clone()));
        r.msg_fate(
            e.at,
            e.dir,
            e.data.len(),
            summary(&e.data),
            e.fate == Fate::Lost,
        );
    }
    for n in ni {
        r.note(n.0, n.1);
    }
    r.note(
        p.elapsed(),
        format!(
            "pings: client sent {}, got {} replies; server sent {}, got {} replies",
            sent.0,
            p.a.replies.len(),
            sent.1,
            p.b.replies.len()
        ),
    );
    r.pcaps.push(PcapOut {
        file: "pppoe.pcap".into(),
        linktype: netsim::pcap::LINKTYPE_ETHERNET,
        frames,
    });
    Ok(r)
}
