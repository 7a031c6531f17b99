//! The `l2tp` crate's netsim adapters, shared by the tour and the crate's pair tests (feature
//! `l2tp`): for L2TPv2 + PPP the RouterOS L2TP client and the LNS with PPP servers, and for
//! L2TPv3 one managed control connection ([`V3Node`]); each records its events (with their
//! virtual times) and the datagrams or frames it delivers.
//!
//! Test support: it unwraps where a failure is a bug of the test.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use l2tp::ppp_link::{ClientEvent, ClientInput, L2tpClient, PppLns, PppLnsEvent, PppLnsInput};
use l2tp::server::Peer;
use l2tp::v3::{ControlConnectionV3, V3Event, V3Input};

use crate::Endpoint;

/// The L2TP client end: events and delivered datagrams.
pub struct L2tpClientNode {
    /// The client.
    pub c: L2tpClient,
    /// Every event, in order.
    pub events: Vec<ClientEvent>,
    /// The virtual time of each entry of `events`.
    pub times: Vec<Instant>,
    /// Every datagram delivered.
    pub got: Vec<Vec<u8>>,
}

impl L2tpClientNode {
    /// Wrap a client.
    pub fn new(c: L2tpClient) -> L2tpClientNode {
        L2tpClientNode {
            c,
            events: vec![],
            times: vec![],
            got: vec![],
        }
    }

    /// IPCP came up.
    pub fn network_up(&self) -> bool {
        self.events.iter().any(|e| {
            matches!(
                e,
                ClientEvent::Ppp(ppp::host::ClientEvent::Ppp(ppp::Event::NetworkUp(_)))
            )
        })
    }

    fn drain(&mut self, now: Instant) {
        while let Some((_, d)) = self.c.poll_datagram() {
            self.got.push(d);
        }
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
            self.times.push(now);
        }
    }
}

impl Endpoint for L2tpClientNode {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if let Ok(ClientInput::Datagram { payload, .. }) = self.c.handle_input(now, data) {
            self.got.push(payload.to_vec());
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.c.poll_transmit(now)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.c.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.c.handle_timeout(now);
        self.drain(now);
    }
}

/// The LNS end: records every datagram it delivers and, with `echo`, sends it back to its
/// sender through the session (encrypted again when MPPE is up).
pub struct LnsNode {
    /// The LNS.
    pub s: PppLns<u8>,
    /// The one peer this LNS talks to (key 1).
    pub peer: Peer<u8>,
    /// Every event, in order.
    pub events: Vec<PppLnsEvent<u8>>,
    /// The virtual time of each entry of `events`.
    pub times: Vec<Instant>,
    /// Every datagram delivered.
    pub got: Vec<Vec<u8>>,
    /// Send delivered datagrams back.
    pub echo: bool,
    /// With `echo`: answer only ICMPv4 echo requests, with a proper echo reply (addresses
    /// swapped, type 0, checksum fixed), as a host would.
    pub icmp_reply: bool,
    /// Messages waiting to be sent (popped from the back).
    pub out: Vec<Vec<u8>>,
}

/// The peer the crate's pair tests use (key 1, 10.155.101.216).
pub fn test_peer() -> Peer<u8> {
    Peer {
        key: 1,
        addr: IpAddr::V4(Ipv4Addr::new(10, 155, 101, 216)),
        via_ipsec: false,
    }
}

impl LnsNode {
    /// Wrap an LNS talking to [`test_peer`].
    pub fn new(s: PppLns<u8>, echo: bool) -> LnsNode {
        LnsNode {
            s,
            peer: test_peer(),
            events: vec![],
            times: vec![],
            got: vec![],
            echo,
            icmp_reply: false,
            out: vec![],
        }
    }

    fn echo_back(&mut self, now: Instant, tid: u16, sid: u16, proto: u16, p: &[u8]) {
        self.got.push(p.to_vec());
        if !self.echo {
            return;
        }
        let mut p = p.to_vec();
        if self.icmp_reply {
            if p.len() < 28 || p[9] != 1 || p[20] != 8 {
                return;
            }
            let (src, dst) = (p[12..16].to_vec(), p[16..20].to_vec());
            p[12..16].copy_from_slice(&dst);
            p[16..20].copy_from_slice(&src);
            p[20] = 0;
            // The ICMP checksum covers the type: recompute it for the echo reply.
            p[22..24].copy_from_slice(&[0, 0]);
            let ck = crate::pcap::inet_checksum(&p[20..]);
            p[22..24].copy_from_slice(&ck.to_be_bytes());
        }
        // One message, or one per MP fragment when Multilink is up; `out` is popped from the
        // back: keep FIFO order.
        let out = &mut self.out;
        self.s
            .send_datagram_fragments(now, tid, sid, proto, &p, |_, m| out.insert(0, m.to_vec()))
            .unwrap();
    }

    fn drain(&mut self, now: Instant) {
        while let Some((t, s, proto, p)) = self.s.poll_datagram() {
            self.echo_back(now, t, s, proto, &p);
        }
        while let Some(e) = self.s.poll_event() {
            self.events.push(e);
            self.times.push(now);
        }
    }
}

impl Endpoint for LnsNode {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let peer = self.peer.clone();
        if let Ok(PppLnsInput::Datagram {
            tunnel_id,
            session_id,
            protocol,
            payload,
        }) = self.s.handle_input(now, &peer, data)
        {
            let p = payload.to_vec();
            self.echo_back(now, tunnel_id, session_id, protocol, &p);
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some((_, d)) = self.s.poll_transmit(now) {
            return Some(d);
        }
        self.out.pop()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.s.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
        self.drain(now);
    }
}

/// One L2TPv3 LCCE: a managed control connection ([`ControlConnectionV3`]) with its sessions.
/// It records every event (also with its virtual time) and every frame it receives, and sends
/// the frames queued in `to_send` (first session) and `to_send_sid` (a given session) once the
/// sessions are ready.
pub struct V3Node {
    /// The control connection.
    pub c: ControlConnectionV3,
    /// Every event, in order.
    pub events: Vec<V3Event>,
    /// Every event with the virtual time it was polled.
    pub timed: Vec<(Instant, V3Event)>,
    /// Every frame received, in delivery order.
    pub rx_frames: Vec<Vec<u8>>,
    /// (our session id, frame) of everything received, in delivery order.
    pub rx_by_sid: Vec<(u32, Vec<u8>)>,
    /// Frames to send on the first session.
    pub to_send: VecDeque<Vec<u8>>,
    /// Frames to send on a given session (our id).
    pub to_send_sid: VecDeque<(u32, Vec<u8>)>,
    /// Datagrams `handle_input` refused.
    pub rejected: usize,
}

impl V3Node {
    /// A node around a control connection (connect it, or let the peer do so).
    pub fn new(c: ControlConnectionV3) -> Self {
        V3Node {
            c,
            events: Vec::new(),
            timed: Vec::new(),
            rx_frames: Vec::new(),
            rx_by_sid: Vec::new(),
            to_send: VecDeque::new(),
            to_send_sid: VecDeque::new(),
            rejected: 0,
        }
    }

    /// Poll every pending event and delivered frame.
    pub fn drain(&mut self, now: Instant) {
        while let Some(e) = self.c.poll_event() {
            self.timed.push((now, e.clone()));
            self.events.push(e);
        }
        while let Some((sid, f)) = self.c.poll_data() {
            self.rx_frames.push(f.clone());
            self.rx_by_sid.push((sid, f));
        }
    }

    /// How many `SessionUp` events so far.
    pub fn sessions_up(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, V3Event::SessionUp { .. }))
            .count()
    }

    /// Whether any session came up.
    pub fn session_up(&self) -> bool {
        self.sessions_up() > 0
    }
}

impl Endpoint for V3Node {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        match self.c.handle_input(now, data) {
            Ok(V3Input::Data(d)) => {
                self.rx_frames.push(d.payload.to_vec());
                self.rx_by_sid.push((d.session_id, d.payload.to_vec()));
            }
            Ok(_) => {}
            Err(_) => self.rejected += 1,
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(p) = self.c.poll_transmit(now) {
            return Some(p);
        }
        if let Some((sid, f)) = self.to_send_sid.pop_front() {
            let mut out = vec![0u8; 1600];
            let n = self.c.encapsulate_session(sid, &f, &mut out).unwrap();
            out.truncate(n);
            return Some(out);
        }
        if self.c.session_ready() {
            let f = self.to_send.pop_front()?;
            let mut out = vec![0u8; 1600];
            let n = self.c.encapsulate(&f, &mut out).unwrap();
            out.truncate(n);
            return Some(out);
        }
        None
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.c.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.c.handle_timeout(now);
        self.drain(now);
    }
}
