//! Tour scenario for L2TP/IPsec (`examples::l2tp_ipsec`, the RouterOS `use-ipsec` of the L2TP
//! client and server): IKEv1 main mode with a pre-shared key (the `ipsec-secret`), quick mode
//! for an ESP transport-mode SA pair (UDP-encapsulated on port 4500), then the L2TP tunnel and
//! session, PPP (LCP, MS-CHAPv2, IPCP) and a few pings, every L2TP datagram inside ESP. The
//! server runs `use-ipsec=require`: it never sees cleartext L2TP.
//!
//! The ladder shows each ESP packet's L2TP content as the receiving end decrypted it (a lost
//! packet has no content to show). The pcap (raw IPv4) carries IKE on UDP 500, IKE behind the
//! non-ESP marker and ESP on UDP 4500.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::l2tp_ipsec::{Config, Input, IpsecEvent, L2tpIpsec};
use ipsec_ike::v1::session::SessionEvent;
use ipsec_ike::v1::wire::{Header, FLAG_ENCRYPTION};
use l2tp::config::{ClientConfig, ServerConfig, UseIpsec};
use l2tp::ppp_link::{ClientEvent, ClientInput, L2tpClient, PppLns, PppLnsInput};
use l2tp::server::Peer;
use l2tp::TunnelConfig;
use netsim::{Dir, Endpoint, Fate, LinkConfig, Pair, TestRng};
use ppp::host::ClientEvent as HostEv;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::l2tp::{client_note, server_note, summary};
use super::{Line, Opts, PcapOut, Report};

const CLIENT: [u8; 4] = [10, 97, 32, 2];
const SERVER: [u8; 4] = [10, 97, 32, 1];
const PSK: &[u8] = b"ipsec-secret-123";

/// Source port, destination port, UDP payload: what crosses the simulated link.
fn frame(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + payload.len());
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn ports(f: &[u8]) -> Option<(u16, u16, &[u8])> {
    Some((
        u16::from_be_bytes([*f.first()?, *f.get(1)?]),
        u16::from_be_bytes([*f.get(2)?, *f.get(3)?]),
        f.get(4..)?,
    ))
}

fn ipsec_note(who: &str, e: &IpsecEvent) -> String {
    match e {
        IpsecEvent::Up {
            spi_in,
            spi_out,
            udp_encap,
            ..
        } => format!(
            "{who}: quick mode done: ESP transport SA pair in {spi_in:08x} out {spi_out:08x}{}",
            if *udp_encap {
                ", UDP-encapsulated (4500)"
            } else {
                ""
            }
        ),
        IpsecEvent::Down { reason, .. } => format!("{who}: IPsec down ({reason})"),
        IpsecEvent::Ike {
            event: SessionEvent::Phase1Up,
            ..
        } => format!("{who}: main mode done: ISAKMP SA authenticated (pre-shared key)"),
        IpsecEvent::Ike { event, .. } => format!("{who}: IKE {event:?}"),
    }
}

/// The L2TP client end: an `L2tpClient` whose datagrams go through the IPsec driver.
struct ClientNode {
    l2tp: L2tpClient,
    ipsec: L2tpIpsec,
    seed: u64,
    out: VecDeque<Vec<u8>>,
    notes: Vec<(Instant, String)>,
    /// ESP payloads received and the L2TP datagram each carried.
    inner: Vec<(Vec<u8>, String)>,
    up_at: Option<Instant>,
    pings: VecDeque<(Instant, u16)>,
    local: Option<Ipv4Addr>,
    replies: u32,
}

impl ClientNode {
    fn pump(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            if let Some(key) = self.ipsec.client_key().filter(|_| self.ipsec.is_up()) {
                while let Some(d) = self.l2tp.poll_transmit(now) {
                    self.ipsec.send_l2tp(key, &d);
                    moved = true;
                }
            }
            while let Some(e) = self.ipsec.poll_event() {
                if matches!(e, IpsecEvent::Down { .. }) {
                    // Like a RouterOS peer whose L2TP client still wants the tunnel: dial again.
                    self.seed = self.seed.wrapping_add(1000);
                    if let Ok(c) = L2tpIpsec::client(
                        client_ipsec_config(),
                        Ipv4Addr::from(SERVER),
                        now,
                        Box::new(TestRng::new(self.seed)),
                    ) {
                        self.ipsec = c;
                    }
                }
                self.notes.push((now, ipsec_note("client", &e)));
                moved = true;
            }
            while let Some(e) = self.l2tp.poll_event() {
                if let ClientEvent::Ppp(HostEv::Up(u)) = &e {
                    if self.up_at.is_none() {
                        self.up_at = Some(now);
                        self.local = Some(u.local);
                        for i in 1..=3u16 {
                            self.pings
                                .push_back((now + Duration::from_millis(500 * u64::from(i)), i));
                        }
                    }
                }
                if let Some(n) = client_note(&e) {
                    self.notes.push((now, n));
                }
                moved = true;
            }
            while let Some(g) = self.ipsec.poll_transmit(now) {
                self.out
                    .push_back(frame(g.local_port, g.to.port(), &g.payload));
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }
}

impl Endpoint for ClientNode {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let Some((sport, dport, payload)) = ports(data) else {
            return;
        };
        let from = SocketAddr::new(IpAddr::from(SERVER), sport);
        if let Input::L2tp { payload: l2, .. } =
            self.ipsec.handle_datagram(now, dport, from, payload)
        {
            let l2 = l2.to_vec();
            self.inner.push((payload.to_vec(), summary(&l2)));
            if let Ok(ClientInput::Datagram { payload, .. }) = self.l2tp.handle_input(now, &l2) {
                if payload.len() >= 28 && payload[9] == 1 && payload[20] == 0 {
                    self.replies += 1;
                }
            }
        }
        self.pump(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.pump(now);
        self.out.pop_front()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.l2tp.poll_timeout(),
            self.ipsec.poll_timeout(),
            self.pings.front().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.l2tp.poll_timeout().is_some_and(|t| t <= now) {
            self.l2tp.handle_timeout(now);
        }
        if self.ipsec.poll_timeout().is_some_and(|t| t <= now) {
            self.ipsec.handle_timeout(now);
        }
        while let Some(&(t, seq)) = self.pings.front() {
            if t > now {
                break;
            }
            self.pings.pop_front();
            let (Some(me), Some(key)) = (self.local, self.ipsec.client_key()) else {
                continue;
            };
            let pkt =
                netsim::pcap::icmp4_echo(me.octets(), [10, 97, 42, 1], false, 7, seq, b"ping");
            let mut out = [0u8; 256];
            if let Ok(n) = self.l2tp.send_datagram(now, 0x0021, &pkt, &mut out) {
                self.ipsec.send_l2tp(key, &out[..n]);
            }
        }
        self.pump(now);
    }
}

/// The LNS end: `use-ipsec=require`, every L2TP datagram through the IPsec driver.
struct ServerNode {
    lns: PppLns<SocketAddr>,
    ipsec: L2tpIpsec,
    out: VecDeque<Vec<u8>>,
    notes: Vec<(Instant, String)>,
    inner: Vec<(Vec<u8>, String)>,
}

impl ServerNode {
    fn pump(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some((k, d)) = self.lns.poll_transmit(now) {
                self.ipsec.send_l2tp(k, &d);
                moved = true;
            }
            while let Some(e) = self.ipsec.poll_event() {
                self.notes.push((now, ipsec_note("server", &e)));
                moved = true;
            }
            while let Some(e) = self.lns.poll_event() {
                if let Some(n) = server_note(&e) {
                    self.notes.push((now, n));
                }
                moved = true;
            }
            while let Some(g) = self.ipsec.poll_transmit(now) {
                self.out
                    .push_back(frame(g.local_port, g.to.port(), &g.payload));
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }
}

impl Endpoint for ServerNode {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let Some((sport, dport, payload)) = ports(data) else {
            return;
        };
        let from = SocketAddr::new(IpAddr::from(CLIENT), sport);
        if let Input::L2tp { key, payload: l2 } =
            self.ipsec.handle_datagram(now, dport, from, payload)
        {
            let l2 = l2.to_vec();
            self.inner.push((payload.to_vec(), summary(&l2)));
            let peer = Peer {
                key,
                addr: key.ip(),
                via_ipsec: true,
            };
            if let Ok(PppLnsInput::Datagram {
                tunnel_id,
                session_id,
                payload,
                ..
            }) = self.lns.handle_input(now, &peer, &l2)
            {
                // The LNS side answers an ICMP echo request (swap the addresses, type 0).
                if payload.len() >= 28 && payload[9] == 1 && payload[20] == 8 {
                    let mut r = payload.to_vec();
                    r[20] = 0;
                    for i in 0..4 {
                        r.swap(12 + i, 16 + i);
                    }
                    let mut out = [0u8; 256];
                    if let Ok((k, n)) = self
                        .lns
                        .send_datagram(now, tunnel_id, session_id, 0x0021, &r, &mut out)
                    {
                        self.ipsec.send_l2tp(k, &out[..n]);
                    }
                }
            }
        }
        self.pump(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.pump(now);
        self.out.pop_front()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        [self.lns.poll_timeout(), self.ipsec.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.lns.poll_timeout().is_some_and(|t| t <= now) {
            self.lns.handle_timeout(now);
        }
        if self.ipsec.poll_timeout().is_some_and(|t| t <= now) {
            self.ipsec.handle_timeout(now);
        }
        self.pump(now);
    }
}

fn client_ipsec_config() -> Config {
    Config::new(PSK, Ipv4Addr::from(CLIENT))
}

/// One line for a UDP datagram of the scenario, given what its receiver found inside.
fn wire_summary(sport: u16, dport: u16, payload: &[u8], inner: Option<&str>) -> String {
    let ike = |b: &[u8]| match Header::parse(b) {
        Ok(h) => format!(
            "ISAKMP {}{} msgid={:08x} {} bytes",
            h.exchange
                .name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("exchange {}", h.exchange.0)),
            if h.flags & FLAG_ENCRYPTION != 0 {
                " (encrypted)"
            } else {
                ""
            },
            h.message_id,
            b.len()
        ),
        Err(e) => format!("ISAKMP malformed: {e}"),
    };
    match (sport, dport) {
        (500, _) | (_, 500) => ike(payload),
        _ if payload == [0xff] => "NAT-T keepalive".to_string(),
        _ if payload.starts_with(&[0, 0, 0, 0]) => {
            format!("[non-ESP marker] {}", ike(&payload[4..]))
        }
        _ if payload.len() >= 8 => format!(
            "ESP spi={:08x} seq={}: {}",
            u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]),
            u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]),
            inner.map_or_else(|| "(not decrypted)".to_string(), |s| format!("L2TP {s}"))
        ),
        _ => format!("UDP {sport} -> {dport}, {} bytes", payload.len()),
    }
}

/// Run the scenario.
pub fn run(opts: &Opts) -> Result<Report, String> {
    let start = Instant::now();
    let mut ccfg = ClientConfig {
        connect_to: Some(IpAddr::from(SERVER)),
        disabled: false,
        use_ipsec: UseIpsec::Yes,
        tunnel: TunnelConfig {
            host_name: b"rb-client".to_vec(),
            ..Default::default()
        },
        ..ClientConfig::default()
    };
    ccfg.ppp.user = "road-warrior".into();
    ccfg.ppp.password = "pass123".into();
    let l2tp = L2tpClient::new(ccfg, start, &mut ChaCha20Rng::seed_from_u64(opts.seed))
        .map_err(|e| e.to_string())?;
    let ipsec = L2tpIpsec::client(
        client_ipsec_config(),
        Ipv4Addr::from(SERVER),
        start,
        Box::new(TestRng::new(opts.seed.wrapping_add(1))),
    )?;
    let mut scfg = ServerConfig {
        enabled: true,
        use_ipsec: UseIpsec::Require,
        ipsec_secret: Some(String::from_utf8_lossy(PSK).into_owned()),
        ..ServerConfig::default()
    };
    scfg.ppp.authentication = ppp::AuthSet::ALL;
    let mut lns = PppLns::new(
        scfg,
        TunnelConfig {
            host_name: b"rb-lns".to_vec(),
            ..Default::default()
        },
        Box::new(|_, _| None),
        start,
        &mut ChaCha20Rng::seed_from_u64(opts.seed.wrapping_add(2)),
    )
    .map_err(|e| e.to_string())?;
    let mut aaa = ppp::aaa::Aaa::new();
    let mut secret = ppp::aaa::Secret::new("road-warrior", "pass123");
    secret.local_address = Some(Ipv4Addr::new(10, 97, 42, 1));
    secret.remote_address = Some(Ipv4Addr::new(10, 97, 42, 10));
    aaa.secrets.push(secret);
    lns.set_store(Box::new(aaa));
    let server = ServerNode {
        lns,
        ipsec: L2tpIpsec::server(
            Config::new(PSK, Ipv4Addr::from(SERVER)),
            Box::new(TestRng::new(opts.seed.wrapping_add(3))),
        ),
        out: VecDeque::new(),
        notes: Vec::new(),
        inner: Vec::new(),
    };
    let client = ClientNode {
        l2tp,
        ipsec,
        seed: opts.seed.wrapping_add(1),
        out: VecDeque::new(),
        notes: Vec::new(),
        inner: Vec::new(),
        up_at: None,
        pings: VecDeque::new(),
        local: None,
        replies: 0,
    };
    let link = if opts.loss > 0.0 {
        LinkConfig::lossy(opts.loss)
    } else {
        LinkConfig::perfect()
    };
    let mut p = Pair::with_start(client, server, link.clone(), link, opts.seed, start);
    // Until PPP is up (at most 300 s of virtual time), then the pings and a little more.
    p.run_until(Duration::from_secs(300), |a, _| a.up_at.is_some());
    if p.a.up_at.is_some() {
        p.run_for(Duration::from_secs(3));
    }

    let mut report = Report::new("client", "server");
    report.time_to_up = p.a.up_at.map(|t| t - start);
    let mut frames = Vec::new();
    for t in &p.trace {
        let Some((sport, dport, payload)) = ports(&t.data) else {
            continue;
        };
        let (src, dst, receiver) = match t.dir {
            Dir::AtoB => (CLIENT, SERVER, &p.b.inner),
            Dir::BtoA => (SERVER, CLIENT, &p.a.inner),
        };
        frames.push((
            t.at,
            netsim::pcap::udp4_wrap(src, sport, dst, dport, payload),
        ));
        let inner = receiver
            .iter()
            .find(|(wire, _)| wire.as_slice() == payload)
            .map(|(_, s)| s.as_str());
        report.msg_fate(
            t.at,
            t.dir,
            payload.len(),
            wire_summary(sport, dport, payload, inner),
            t.fate == Fate::Lost,
        );
    }
    let mut notes: Vec<(Instant, String)> =
        p.a.notes.iter().chain(p.b.notes.iter()).cloned().collect();
    notes.sort_by_key(|(t, _)| *t);
    for (t, text) in notes {
        report.note(t - start, text);
    }
    report.lines.sort_by_key(|l| match l {
        Line::Msg { at, .. } => (*at, 0),
        Line::Note { at, .. } => (*at, 1),
    });
    let stats = (p.a.ipsec.stats(), p.b.ipsec.stats());
    report.note(
        p.elapsed(),
        format!(
            "client received {} echo replies; ESP out/in: client {}/{}, server {}/{}; the server \
             (use-ipsec=require) dropped {} cleartext L2TP datagrams",
            p.a.replies,
            stats.0.esp_out,
            stats.0.esp_in,
            stats.1.esp_out,
            stats.1.esp_in,
            p.b.lns.lns().stats().dropped_not_ipsec
        ),
    );
    report.pcaps.push(PcapOut {
        file: "l2tp-ipsec.pcap".to_string(),
        linktype: netsim::pcap::LINKTYPE_RAW,
        frames,
    });
    Ok(report)
}
