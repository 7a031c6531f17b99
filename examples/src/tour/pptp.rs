//! Tour scenario for the `pptp` crate: a RouterOS-style `/interface pptp-client` (the PNS)
//! dials a `/interface pptp-server` (the PAC).
//!
//! The control connection (TCP port 1723): Start-Control-Connection-Request/Reply,
//! Outgoing-Call-Request/Reply. Then the call's enhanced GRE flow (IP protocol 47) carries
//! PPP: LCP, MS-CHAPv2, CCP (MPPE-128 stateless, the RouterOS `default-encryption`
//! profile), IPCP; three pings each way, MPPE-encrypted; the client is disabled: LCP
//! Terminate, Call-Clear-Request, Call-Disconnect-Notify, Stop-Control-Connection-Request/Reply.
//!
//! The control connection is TCP, so the simulated link's loss shows up as retransmission
//! delay (a lost segment is sent again after 200 ms, doubling while it keeps being lost, at
//! most 3.2 s; everything behind it waits); the GRE packets are simply lost, and PPP's
//! timers recover. The pcap (raw IPv4, link type 101) holds the control stream as
//! synthetic TCP segments to port 1723 (as delivered, with handshake and close) and every
//! GRE packet sent, lost ones included, in IPv4 headers with correct checksums.

use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use netsim::{Dir, Fate, Link, LinkConfig, SimRng};
use pptp::wire::{Deframer, EnhancedGreRepr, Message};
use pptp::ServerEvent;
use pptp::{Channel, Client, ClientConfig, ClientEvent, ConnId, Input, Server, ServerConfig};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::pppoe::{ipcp_open, ppp_line};
use super::{Opts, PcapOut, Report};
use crate::sstp_util::TcpSynth;

const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const PPP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PPP_CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Most ping rounds before hanging up.
const MAX_ROUNDS: u16 = 30;

/// One direction of the TCP control connection over a lossy path: in order, a lost segment
/// delays it and everything behind it.
struct Stream {
    q: VecDeque<(Instant, Vec<u8>)>,
    last: Instant,
}

impl Stream {
    fn send(
        &mut self,
        now: Instant,
        data: Vec<u8>,
        loss: f64,
        rng: &mut SimRng,
        lost: &mut Vec<(Instant, Duration)>,
    ) {
        let mut t = now;
        let mut rto = Duration::from_millis(200);
        // (At most 12 retransmissions, so that even `--loss 1` ends.)
        for _ in 0..12 {
            if !rng.chance(loss) {
                break;
            }
            lost.push((t, rto));
            t += rto;
            rto = (rto * 2).min(Duration::from_millis(3200));
        }
        let at = (t + Duration::from_millis(10)).max(self.last);
        self.last = at;
        self.q.push_back((at, data));
    }
}

fn control_line(m: &Message) -> String {
    let name = m.message_type().name();
    match m {
        Message::OutgoingCallRequest(o) => {
            format!("{name} [call id {}, serial {}]", o.call_id, o.call_serial)
        }
        Message::OutgoingCallReply(o) => format!(
            "{name} [call id {}, peer call id {}, result {}]",
            o.call_id, o.peer_call_id, o.result_code
        ),
        Message::StartControlConnectionReply(s) => {
            format!(
                "{name} [host {:?}]",
                String::from_utf8_lossy(s.host_name.as_bytes())
            )
        }
        Message::StartControlConnectionRequest(s) => {
            format!(
                "{name} [host {:?}]",
                String::from_utf8_lossy(s.host_name.as_bytes())
            )
        }
        _ => name.to_string(),
    }
}

fn gre_line(p: &[u8]) -> String {
    match EnhancedGreRepr::parse(p) {
        Ok((h, r)) => {
            let seq = h.sequence.map(|s| format!(" seq {s}")).unwrap_or_default();
            let ack = h.ack.map(|a| format!(" ack {a}")).unwrap_or_default();
            let body = p.get(r).unwrap_or_default();
            if body.is_empty() {
                format!("GRE call {}{seq}{ack} (ack only)", h.call_id)
            } else {
                format!("GRE call {}{seq}{ack}: {}", h.call_id, ppp_line(body))
            }
        }
        Err(e) => format!("GRE (malformed: {e})"),
    }
}

/// End a synthetic control connection in the pcap: bytes still in flight when a side closed
/// reach the peer before the FIN exchange.
fn finish_tcp(
    synth: &mut TcpSynth,
    c2s: &mut Stream,
    s2c: &mut Stream,
    closed_by: Option<(Duration, bool)>,
    t0: Instant,
    frames: &mut Vec<(Duration, Vec<u8>)>,
) {
    let Some((at, by_client)) = closed_by else {
        c2s.q.clear();
        s2c.q.clear();
        return;
    };
    let mut rest: Vec<(Instant, bool, Vec<u8>)> = c2s
        .q
        .drain(..)
        .map(|(t, b)| (t, true, b))
        .chain(s2c.q.drain(..).map(|(t, b)| (t, false, b)))
        .collect();
    rest.sort_by_key(|x| x.0);
    for (t, from_client, b) in rest {
        frames.extend(synth.data(from_client, &b).into_iter().map(|f| (t - t0, f)));
    }
    let last = frames.iter().map(|f| f.0).max().unwrap_or(at).max(at);
    frames.extend(synth.close(by_client).into_iter().map(|f| (last, f)));
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let mut r = Report::new("pptp-client", "pptp-server");
    let t0 = Instant::now();
    let mut client = Client::new(
        ClientConfig::new(IpAddr::V4(SERVER), "alice", "pw"),
        t0,
        ChaCha20Rng::seed_from_u64(opts.seed ^ 0x1723),
    )
    .map_err(|e| e.to_string())?;
    let mut server = Server::new(
        ServerConfig::enabled(),
        t0,
        ChaCha20Rng::seed_from_u64(opts.seed ^ 0x2f2f),
    )
    .map_err(|e| e.to_string())?;
    let mut aaa = pptp::default_aaa();
    let mut secret = ppp::aaa::Secret::new("alice", "pw");
    secret.local_address = Some(PPP_SERVER);
    secret.remote_address = Some(PPP_CLIENT);
    aaa.secrets.push(secret);
    server.host_mut().set_store(Box::new(aaa));

    let gre_cfg = if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    };
    let mut gre_up = Link::new(gre_cfg.clone(), opts.seed.wrapping_add(3));
    let mut gre_down = Link::new(gre_cfg, opts.seed.wrapping_add(4));
    let mut tcp_rng = SimRng::new(opts.seed);
    let mut c2s = Stream {
        q: VecDeque::new(),
        last: t0,
    };
    let mut s2c = Stream {
        q: VecDeque::new(),
        last: t0,
    };
    let mut lost: Vec<(Instant, Duration)> = Vec::new();
    let mut up_deframer = Deframer::default();
    let mut down_deframer = Deframer::default();
    let mut synth = TcpSynth::new((CLIENT, 50723), (SERVER, 1723));
    let mut frames: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut conn: Option<ConnId> = None;
    let mut connections = 0u16;
    let mut tcp_open = false;
    let mut closed_by: Option<(Duration, bool)> = None;
    let mut now = t0;
    let end = t0 + Duration::from_secs(240);
    let mut rounds = 0u16;
    let mut sent = (0u16, 0u16);
    let mut replies = (BTreeSet::new(), BTreeSet::new());
    let mut next_ping: Option<Instant> = None;
    let mut up_at: Option<Instant> = None;
    let mut mppe_noted = false;
    let mut server_key: Option<pptp::CallKey> = None;
    let mut hung_up = false;
    let mut done = false;
    while now < end && !done {
        let at = now - t0;
        // Deliver what is due: the control streams in order, GRE as the links decide.
        while c2s.q.front().is_some_and(|(t, _)| *t <= now) {
            let Some((_, b)) = c2s.q.pop_front() else {
                break;
            };
            frames.extend(synth.data(true, &b).into_iter().map(|f| (at, f)));
            if let Some(c) = conn {
                let _ = server.handle_stream(now, c, &b);
            }
        }
        while s2c.q.front().is_some_and(|(t, _)| *t <= now) {
            let Some((_, b)) = s2c.q.pop_front() else {
                break;
            };
            frames.extend(synth.data(false, &b).into_iter().map(|f| (at, f)));
            client.handle_stream(now, &b);
        }
        let mut pending = Vec::new();
        while let Some(mut b) = gre_up.pop_due(now) {
            let (key, input) = server.handle_datagram_key(now, IpAddr::V4(CLIENT), &mut b);
            if let (Some(k), Input::Datagram { payload, .. }) = (key, input) {
                server_key = Some(k);
                if let (Some(0), Some(q)) = (payload.get(20), payload.get(26..28)) {
                    replies.1.insert(u16::from_be_bytes([q[0], q[1]]));
                }
                if let Some(rep) = crate::sstp_util::echo_reply(payload, PPP_SERVER) {
                    pending.push((k, rep));
                }
            }
        }
        for (k, rep) in pending {
            let _ = server.send_datagram(now, &k, 0x0021, &rep);
        }
        let mut pending = Vec::new();
        while let Some(mut b) = gre_down.pop_due(now) {
            if let Input::Datagram { payload, .. } =
                client.handle_datagram(now, IpAddr::V4(SERVER), &mut b)
            {
                if let (Some(0), Some(q)) = (payload.get(20), payload.get(26..28)) {
                    replies.0.insert(u16::from_be_bytes([q[0], q[1]]));
                }
                if let Some(rep) = crate::sstp_util::echo_reply(payload, PPP_CLIENT) {
                    pending.push(rep);
                }
            }
        }
        for rep in pending {
            let _ = client.send_datagram(now, 0x0021, &rep);
        }
        if client.poll_timeout().is_some_and(|d| d <= now) {
            client.handle_timeout(now);
        }
        if server.poll_timeout().is_some_and(|d| d <= now) {
            server.handle_timeout(now);
        }
        // Pings, then the hang-up.
        // Pings each way every 500 ms until three replies came back (a direction whose PPP
        // is not open yet, or whose packets were lost, tries again), at most 30 rounds.
        let pinged = replies.0.len() >= 3 && replies.1.len() >= 3;
        if next_ping.is_some_and(|t| t <= now) && rounds < MAX_ROUNDS && !pinged {
            rounds += 1;
            if replies.0.len() < 3 {
                let p = netsim::pcap::icmp4_echo(
                    PPP_CLIENT.octets(),
                    PPP_SERVER.octets(),
                    false,
                    0x1723,
                    rounds,
                    b"pptp tour",
                );
                sent.0 += u16::from(client.send_datagram(now, 0x0021, &p).is_ok());
            }
            if let Some(k) = server_key.or_else(|| server.call_keys().next()) {
                if replies.1.len() < 3 {
                    let p = netsim::pcap::icmp4_echo(
                        PPP_SERVER.octets(),
                        PPP_CLIENT.octets(),
                        false,
                        0x2f2f,
                        rounds,
                        b"pptp tour",
                    );
                    sent.1 += u16::from(server.send_datagram(now, &k, 0x0021, &p).is_ok());
                }
            }
            next_ping = Some(now + Duration::from_millis(500));
        }
        if !hung_up && (rounds >= MAX_ROUNDS || pinged) && next_ping.is_some_and(|t| t <= now) {
            hung_up = true;
            r.note(
                at,
                "client: disabled (LCP Terminate, Call-Clear-Request, Stop-Control-Connection-Request)",
            );
            client.disable(now);
        }
        // Outputs and events until both sides are quiet.
        for _ in 0..100 {
            let mut any = false;
            while let Some(t) = client.poll_transmit(now) {
                any = true;
                match t.channel {
                    Channel::Control => {
                        if tcp_open {
                            up_deframer.push(&t.payload);
                            while let Ok(Some(m)) = up_deframer.next_message() {
                                r.msg(at, Dir::AtoB, 0, control_line(&m));
                            }
                            r.bytes += t.payload.len();
                            c2s.send(now, t.payload, opts.loss, &mut tcp_rng, &mut lost);
                        }
                    }
                    Channel::Gre => {
                        frames.push((
                            at,
                            netsim::pcap::ipv4_wrap(
                                CLIENT.octets(),
                                SERVER.octets(),
                                47,
                                &t.payload,
                            ),
                        ));
                        let line = gre_line(&t.payload);
                        let fate = gre_up.send(now, t.payload.clone());
                        r.msg_fate(at, Dir::AtoB, t.payload.len(), line, fate == Fate::Lost);
                    }
                }
            }
            while let Some(t) = server.poll_transmit(now) {
                any = true;
                match t.channel {
                    Channel::Control => {
                        if tcp_open && Some(t.conn) == conn {
                            down_deframer.push(&t.payload);
                            while let Ok(Some(m)) = down_deframer.next_message() {
                                r.msg(at, Dir::BtoA, 0, control_line(&m));
                            }
                            r.bytes += t.payload.len();
                            s2c.send(now, t.payload, opts.loss, &mut tcp_rng, &mut lost);
                        }
                    }
                    Channel::Gre => {
                        frames.push((
                            at,
                            netsim::pcap::ipv4_wrap(
                                SERVER.octets(),
                                CLIENT.octets(),
                                47,
                                &t.payload,
                            ),
                        ));
                        let line = gre_line(&t.payload);
                        let fate = gre_down.send(now, t.payload.clone());
                        r.msg_fate(at, Dir::BtoA, t.payload.len(), line, fate == Fate::Lost);
                    }
                }
            }
            while let Some(e) = client.poll_event() {
                any = true;
                match e {
                    ClientEvent::Connect { to } if !tcp_open => {
                        if conn.is_some() {
                            // A redial: the previous connection's segments end with its FIN.
                            finish_tcp(&mut synth, &mut c2s, &mut s2c, closed_by, t0, &mut frames);
                            connections += 1;
                            synth = TcpSynth::new((CLIENT, 50723 + connections), (SERVER, 1723));
                            up_deframer = Deframer::default();
                            down_deframer = Deframer::default();
                            closed_by = None;
                        }
                        r.note(at, format!("client: TCP connect to {to}:1723"));
                        conn = Some(
                            server
                                .accept(now, IpAddr::V4(CLIENT))
                                .map_err(|e| e.to_string())?,
                        );
                        tcp_open = true;
                        frames.extend(synth.handshake().into_iter().map(|f| (at, f)));
                        client.handle_connected(now);
                    }
                    ClientEvent::Disconnect(reason) => {
                        r.note(
                            at,
                            format!("client: control connection closed ({reason:?})"),
                        );
                        if tcp_open {
                            tcp_open = false;
                            closed_by = Some((at, true));
                        }
                        if hung_up {
                            done = true;
                        }
                    }
                    ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) => {
                        r.note(
                            at,
                            format!(
                                "client: IPCP up, local {} remote {} mtu {}",
                                u.local, u.remote, u.mtu
                            ),
                        );
                        if r.time_to_up.is_none() {
                            r.time_to_up = Some(at);
                            up_at = Some(now);
                        }
                    }
                    ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::AuthSucceeded {
                        user,
                        method,
                        ..
                    })) => {
                        r.note(at, format!("client: authenticated as {user} ({method})"));
                    }
                    _ => {}
                }
            }
            while let Some(e) = server.poll_event() {
                any = true;
                if let ServerEvent::Disconnect { .. } = &e {
                    r.note(at, "server: control connection closed");
                    if tcp_open {
                        tcp_open = false;
                        closed_by = Some((at, false));
                    }
                }
            }
            if !any {
                break;
            }
        }
        // IPCP may open before CCP has (a lost CCP Ack): the pings wait for MPPE on both ends, at
        // most 30 s.
        let server_session = server
            .call_keys()
            .next()
            .and_then(|k| server.host().session(&k));
        let mppe = client.ppp().session().is_some_and(|s| s.mppe_up())
            && server_session.is_some_and(|s| s.mppe_up())
            && ipcp_open(client.ppp().session())
            && ipcp_open(server_session);
        if mppe && !mppe_noted {
            mppe_noted = true;
            let enc = client
                .ppp()
                .session()
                .and_then(|s| s.encoding())
                .unwrap_or_default();
            r.note(
                at,
                format!("IPCP and CCP open on both ends, encoding {enc}"),
            );
        }
        if next_ping.is_none() && up_at.is_some_and(|t| mppe || t + Duration::from_secs(30) <= now)
        {
            next_ping = Some(now + Duration::from_millis(300));
        }
        for (t, rto) in lost.drain(..) {
            r.note(
                t - t0,
                format!(
                    "TCP segment lost; retransmitted after {} ms",
                    rto.as_millis()
                ),
            );
        }
        let next = [
            client.poll_timeout(),
            server.poll_timeout(),
            c2s.q.front().map(|x| x.0),
            s2c.q.front().map(|x| x.0),
            gre_up.next_arrival(),
            gre_down.next_arrival(),
            next_ping.filter(|_| !hung_up),
            up_at
                .filter(|_| next_ping.is_none())
                .map(|t| t + Duration::from_secs(30)),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) => now = now.max(t),
            None => break,
        }
    }
    finish_tcp(&mut synth, &mut c2s, &mut s2c, closed_by, t0, &mut frames);
    r.note(
        now - t0,
        format!(
            "pings: client sent {}, got {} replies; server sent {}, got {} replies",
            sent.0,
            replies.0.len(),
            sent.1,
            replies.1.len()
        ),
    );
    r.lines.sort_by_key(|l| match l {
        super::Line::Msg { at, .. } | super::Line::Note { at, .. } => *at,
    });
    frames.sort_by_key(|f| f.0);
    r.pcaps.push(PcapOut {
        file: "pptp.pcap".into(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    });
    Ok(r)
}
