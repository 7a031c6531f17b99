//! Tour scenario for the `sstp` crate: a RouterOS-style SSTP client reaches a server over TLS
//! (rustls on both ends, the crate's test certificate): the HTTP `SSTP_DUPLEX_POST` exchange,
//! Call Connect Request / Ack with the crypto binding request, PPP LCP and MS-CHAPv2 inside SSTP
//! data packets, Call Connected with the SHA-256 crypto binding (verified by the server), IPCP,
//! three pings, and a graceful Call Disconnect.
//!
//! SSTP runs over TCP, so the simulated link's loss shows up as retransmission delay: a lost
//! TCP segment is sent again after a retransmission timeout (200 ms, doubling while it keeps
//! being lost, at most 3.2 s), and everything behind it waits (in-order delivery). The pcap
//! holds the decrypted stream as synthetic TCP to port 80, which Wireshark dissects as HTTP and
//! then SSTP and PPP.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Dir, Opts, PcapOut, Report};
use crate::sstp_util::{tap_to_pcap, Tap, TapTls};
use netsim::{SimRng, TestRng};
use sstp::tls::{RustlsOptions, RustlsTls};
use sstp::wire::{self, ControlMessage, Packet};
use sstp::{Client, ClientConfig, ClientEvent, ConnId, Server, ServerConfig, ServerEvent};

/// One direction of a TCP connection over a lossy path.
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
        while rng.chance(loss) {
            lost.push((t, rto));
            t += rto;
            rto = (rto * 2).min(Duration::from_millis(3200));
        }
        let at = (t + Duration::from_millis(10)).max(self.last);
        self.last = at;
        self.q.push_back((at, data));
    }
}

/// One line per SSTP packet (or HTTP head) in plaintext.
fn summarize(b: &[u8]) -> Vec<String> {
    if b.starts_with(b"SSTP_DUPLEX_POST") || b.starts_with(b"HTTP/") {
        let line = b.split(|&c| c == b'\r').next().unwrap_or_default();
        return vec![String::from_utf8_lossy(line).into_owned()];
    }
    let mut out = Vec::new();
    let mut rest = b;
    while let Ok(Some((p, n))) = wire::split_packet(rest) {
        out.push(match p {
            Packet::Control(c) => match ControlMessage::parse(c) {
                Ok(m) => {
                    let attrs: Vec<String> = m
                        .attributes
                        .iter()
                        .map(|a| match a {
                            wire::Attribute::EncapsulatedProtocolId { protocol, .. } => {
                                format!("protocol {protocol} (PPP)")
                            }
                            wire::Attribute::CryptoBindingRequest(r) => {
                                format!(
                                    "binding request bitmask {:#04x} nonce {:02x}{:02x}..",
                                    r.bitmask, r.nonce[0], r.nonce[1]
                                )
                            }
                            wire::Attribute::CryptoBinding(c) => format!(
                                "binding {} cert-hash {:02x}{:02x}.. mac {:02x}{:02x}..",
                                if c.hash_protocol == 2 {
                                    "SHA-256"
                                } else {
                                    "SHA-1"
                                },
                                c.cert_hash[0],
                                c.cert_hash[1],
                                c.compound_mac[0],
                                c.compound_mac[1]
                            ),
                            wire::Attribute::StatusInfo(s) => format!("status {:?}", s.status),
                            other => format!("{:?}", other.id()),
                        })
                        .collect();
                    format!("SSTP {} [{}]", m.msg_type.name(), attrs.join(", "))
                }
                Err(e) => format!("SSTP control (malformed: {e})"),
            },
            Packet::Data(f) => {
                let body = f.strip_prefix(&[0xff, 0x03]).unwrap_or(f);
                let proto = match body {
                    [a, b, ..] => u16::from_be_bytes([*a, *b]),
                    _ => 0,
                };
                let name = match proto {
                    0xc021 => "LCP",
                    0xc223 => "CHAP (MS-CHAPv2)",
                    0xc023 => "PAP",
                    0x8021 => "IPCP",
                    0x8057 => "IPv6CP",
                    0x0021 => "IPv4",
                    _ => "PPP",
                };
                let code = body.get(2).copied().unwrap_or(0);
                format!("SSTP data: {name} code {code} ({} bytes)", f.len())
            }
        });
        rest = &rest[n..];
    }
    out
}

fn pki(s: &mut ServerConfig) {
    s.tls.certificate_pem = Some(sstp::test_pki::SERVER_CERT_PEM.into());
    s.tls.key_pem = Some(sstp::test_pki::SERVER_KEY_PEM.into());
    s.unix_time = sstp::test_pki::VALID_AT;
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let mut r = Report::new("sstp-client", "sstp-server");
    let t0 = Instant::now();
    let clock = Arc::new(Mutex::new(t0));
    let mut rng = TestRng::new(opts.seed ^ 0x5757);
    let mut scfg = ServerConfig::enabled();
    pki(&mut scfg);
    let mut server: Server<TapTls<RustlsTls>> =
        Server::new(scfg.clone(), t0, &mut rng).map_err(|e| e.to_string())?;
    let mut aaa = ppp::aaa::Aaa::new();
    let mut secret = ppp::aaa::Secret::new("MT-User", "StrongPass");
    secret.local_address = Some([10, 0, 0, 1].into());
    secret.remote_address = Some([10, 0, 0, 5].into());
    aaa.secrets.push(secret);
    server.host_mut().set_store(Box::new(aaa));
    let mut ccfg = ClientConfig::new("10.9.9.9", "MT-User", "StrongPass");
    ccfg.unix_time = sstp::test_pki::VALID_AT;
    let mut client: Client<TapTls<RustlsTls>> =
        Client::new(ccfg, t0, &mut rng).map_err(|e| e.to_string())?;
    let ctap: Tap = Arc::default();
    let mut conn: Option<ConnId> = None;
    let mut link = SimRng::new(opts.seed);
    let mut c2s = Stream {
        q: VecDeque::new(),
        last: t0,
    };
    let mut s2c = Stream {
        q: VecDeque::new(),
        last: t0,
    };
    let mut lost: Vec<(Instant, Duration)> = Vec::new();
    let mut now = t0;
    let mut pings_sent = 0u16;
    let mut pongs = 0u16;
    let mut next_ping: Option<Instant> = None;
    let mut hung_up = false;
    let mut done = false;
    let end = t0 + Duration::from_secs(180);
    let mut seen = 0usize;
    while now < end && !done {
        if let Ok(mut c) = clock.lock() {
            *c = now;
        }
        // Deliver due stream bytes.
        while c2s.q.front().is_some_and(|(t, _)| *t <= now) {
            let Some((_, b)) = c2s.q.pop_front() else {
                break;
            };
            if let Some(c) = conn {
                let mut off = 0;
                while off < b.len() {
                    match server.handle_stream(now, c, &b[off..]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => off += n,
                    }
                }
            }
        }
        while s2c.q.front().is_some_and(|(t, _)| *t <= now) {
            let Some((_, b)) = s2c.q.pop_front() else {
                break;
            };
            let mut off = 0;
            while off < b.len() {
                match client.handle_stream(now, &b[off..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => off += n,
                }
            }
        }
        if client.poll_timeout().is_some_and(|d| d <= now) {
            client.handle_timeout(now);
        }
        if server.poll_timeout().is_some_and(|d| d <= now) {
            server.handle_timeout(now);
        }
        for _ in 0..8 {
            while let Some(e) = client.poll_event() {
                let at = now - t0;
                match e {
                    ClientEvent::Connect { host, port } => {
                        r.note(at, format!("client: TCP connect to {host}:{port}, TLS handshake"));
                        let inner = RustlsTls::client(client.config(), &RustlsOptions::default())
                            .map_err(|e| e.to_string())?;
                        let tap = TapTls {
                            inner,
                            tap: Some(ctap.clone()),
                            clock: Some(clock.clone()),
                        };
                        client.connected(now, tap).map_err(|e| e.to_string())?;
                        let stls = RustlsTls::server(&scfg, &RustlsOptions::default())
                            .map_err(|e| e.to_string())?;
                        conn = Some(
                            server
                                .accept(now, "192.0.2.10:50443".parse().map_err(|_| "addr")?, TapTls::new(stls, None))
                                .map_err(|e| e.to_string())?,
                        );
                    }
                    ClientEvent::CallConnected { hash, zero_hlak } => {
                        r.note(at, format!("client: Call Connected sent ({hash:?}, zero HLAK: {zero_hlak})"))
                    }
                    ClientEvent::Ppp(ppp::host::ClientEvent::Up(u)) => {
                        r.note(at, format!("client: IPCP up, local {} remote {} mtu {}", u.local, u.remote, u.mtu));
                        if r.time_to_up.is_none() {
                            r.time_to_up = Some(at);
                        }
                        next_ping = Some(now);
                    }
                    ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::AuthSucceeded { user, method, .. })) => {
                        r.note(at, format!("client: authenticated as {user} ({method}); HLAK from the MS-CHAPv2 keys"))
                    }
                    ClientEvent::Closed { reason } => {
                        r.note(at, format!("client: connection closed: {reason:?}"));
                        if hung_up {
                            done = true;
                        }
                    }
                    _ => {}
                }
            }
            while let Some(e) = server.poll_event() {
                let at = now - t0;
                match e {
                    ServerEvent::CallConnected { hash, key, .. } => r.note(
                        at,
                        format!(
                            "server: crypto binding verified ({hash:?}, {key:?}): call connected"
                        ),
                    ),
                    ServerEvent::Closed { reason, .. } => {
                        r.note(at, format!("server: connection closed: {reason:?}"));
                        conn = None;
                    }
                    _ => {}
                }
            }
            while let Some(b) = client.poll_transmit(now) {
                r.messages += 1;
                r.bytes += b.len();
                c2s.send(now, b, opts.loss, &mut link, &mut lost);
            }
            while let Some(t) = server.poll_transmit(now) {
                if Some(t.conn) == conn {
                    r.messages += 1;
                    r.bytes += t.bytes.len();
                    s2c.send(now, t.bytes, opts.loss, &mut link, &mut lost);
                }
            }
            // IP: the server answers pings to its address.
            let mut replies = Vec::new();
            while let Some((c, p, d)) = server.poll_datagram() {
                if let Some(rep) = crate::sstp_util::echo_reply(d, [10, 0, 0, 1].into()) {
                    replies.push((c, p, rep));
                }
            }
            for (c, p, rep) in replies {
                let mut out = Vec::new();
                if server.send_datagram(now, c, p, &rep, &mut out).is_ok() {
                    r.messages += 1;
                    r.bytes += out.len();
                    s2c.send(now, out, opts.loss, &mut link, &mut lost);
                }
            }
            while let Some((_, d)) = client.poll_datagram() {
                if d.len() > 20 && d[20] == 0 {
                    pongs += 1;
                }
            }
        }
        // Inputs made below are sent in the next pass at the same instant.
        let mut kick = false;
        if next_ping.is_some_and(|t| t <= now) && pings_sent < 3 {
            pings_sent += 1;
            let p = netsim::pcap::icmp4_echo(
                [10, 0, 0, 5],
                [10, 0, 0, 1],
                false,
                0x5353,
                pings_sent,
                b"sstp tour",
            );
            let mut out = Vec::new();
            if client.send_datagram(now, 0x0021, &p, &mut out).is_ok() {
                r.messages += 1;
                r.bytes += out.len();
                c2s.send(now, out, opts.loss, &mut link, &mut lost);
            }
            next_ping = Some(now + Duration::from_millis(500));
        }
        if pongs >= 3 && !hung_up {
            hung_up = true;
            kick = true;
            r.note(
                now - t0,
                "client: 3 echo replies; hanging up (LCP Terminate, Call Disconnect)",
            );
            client.hang_up(now);
        }
        if (pings_sent >= 3 && next_ping.is_some_and(|t| t + Duration::from_secs(20) <= now))
            && !hung_up
        {
            hung_up = true;
            kick = true;
            client.hang_up(now);
        }
        // The ladder, from the client's plaintext tap.
        if let Ok(v) = ctap.lock() {
            for (t, sent, b) in v.iter().skip(seen) {
                let dir = if *sent { Dir::AtoB } else { Dir::BtoA };
                for line in summarize(b) {
                    r.lines.push(super::Line::Msg {
                        at: *t - t0,
                        dir,
                        summary: line,
                        lost: false,
                    });
                }
            }
            seen = v.len();
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
        if kick {
            continue;
        }
        let next = [
            client.poll_timeout(),
            server.poll_timeout(),
            c2s.q.front().map(|x| x.0),
            s2c.q.front().map(|x| x.0),
            next_ping.filter(|_| pings_sent < 3),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) => now = now.max(t),
            None => break,
        }
    }
    r.lines.sort_by_key(|l| match l {
        super::Line::Msg { at, .. } | super::Line::Note { at, .. } => *at,
    });
    let v = ctap.lock().map_err(|_| "tap")?;
    let pcap = tap_to_pcap(
        &v,
        ([192, 0, 2, 10].into(), 50443),
        [10, 9, 9, 9].into(),
        true,
    );
    let frames = netsim::pcap::parse(&pcap).map(|x| x.1).unwrap_or_default();
    r.pcaps.push(PcapOut {
        file: "sstp.pcap".into(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    });
    Ok(r)
}
