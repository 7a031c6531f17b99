//! [`WgNode`]: a `wireguard::Device` as a [`crate::Endpoint`], written once for the tour
//! (`examples/src/tour/wireguard.rs`) and the crate's tests (`wireguard/tests/`). Enable with
//! the `wireguard` feature.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use wireguard::{Device, DropReason, Error, Event, Output};

/// A device with one fixed remote UDP address (the other end of the simulated link), a
/// schedule of IP packets to send from its tunnel side, and logs (with virtual times) of what
/// happened. With `echo` set, it answers every ICMPv4 echo request it delivers, as a host
/// behind the tunnel would.
pub struct WgNode {
    /// The device.
    pub dev: Device,
    /// Source address of everything arriving over the link (the peer's endpoint).
    pub remote: SocketAddr,
    /// Datagrams waiting for the link.
    pub out: VecDeque<Vec<u8>>,
    /// IP packets to hand to [`Device::encapsulate`] at the given instants (sorted).
    pub schedule: VecDeque<(Instant, Vec<u8>)>,
    /// Answer delivered ICMPv4 echo requests.
    pub echo: bool,
    /// IP packets delivered to the tunnel side.
    pub delivered: Vec<(Instant, Vec<u8>)>,
    /// Every event of the device.
    pub events: Vec<(Instant, Event)>,
    /// Every drop the data path reported (inbound and outbound).
    pub drops: Vec<(Instant, DropReason)>,
    /// Errors returned to the caller (buffer sizes: never expected).
    pub errors: Vec<(Instant, Error)>,
    /// Datagrams handed to the link.
    pub sent: Vec<(Instant, Vec<u8>)>,
    /// Datagrams that arrived from the link.
    pub received: Vec<(Instant, Vec<u8>)>,
}

impl WgNode {
    /// A node around `dev` whose peer sends from `remote`.
    pub fn new(dev: Device, remote: SocketAddr) -> Self {
        WgNode {
            dev,
            remote,
            out: VecDeque::new(),
            schedule: VecDeque::new(),
            echo: false,
            delivered: Vec::new(),
            events: Vec::new(),
            drops: Vec::new(),
            errors: Vec::new(),
            sent: Vec::new(),
            received: Vec::new(),
        }
    }

    /// Builder: answer ICMPv4 echo requests.
    pub fn with_echo(mut self) -> Self {
        self.echo = true;
        self
    }

    /// Send an IP packet from the tunnel side at `at`.
    pub fn send_at(&mut self, at: Instant, pkt: Vec<u8>) {
        let pos = self.schedule.partition_point(|(t, _)| *t <= at);
        self.schedule.insert(pos, (at, pkt));
    }

    fn collect(&mut self, now: Instant) {
        while let Some(t) = self.dev.poll_transmit(now) {
            self.out.push_back(t.payload);
        }
        while let Some(e) = self.dev.poll_event() {
            self.events.push((now, e));
        }
    }

    /// Encapsulate `pkt` now; a sealed datagram goes to the link.
    pub fn send_now(&mut self, now: Instant, pkt: &[u8]) -> Option<Output> {
        let mut buf = vec![0u8; pkt.len() + 64];
        let o = match self.dev.encapsulate(now, pkt, &mut buf) {
            Ok(o) => o,
            Err(e) => {
                self.errors.push((now, e));
                return None;
            }
        };
        match o {
            Output::Transmit { len, .. } => self.out.push_back(buf[..len].to_vec()),
            Output::Dropped(r) => self.drops.push((now, r)),
            _ => {}
        }
        self.collect(now);
        Some(o)
    }

    /// Times at which datagrams of message type `ty` were sent (optionally of length `len`).
    pub fn sent_times(&self, ty: u8, len: Option<usize>) -> Vec<Instant> {
        self.sent
            .iter()
            .filter(|(_, d)| d.first() == Some(&ty) && len.is_none_or(|l| d.len() == l))
            .map(|(t, _)| *t)
            .collect()
    }
}

/// The echo reply a host would send for an ICMPv4 echo request `pkt` (no IP options).
fn echo_reply(pkt: &[u8]) -> Option<Vec<u8>> {
    let ihl = usize::from(pkt.first()? & 0x0f) * 4;
    if pkt.first()? >> 4 != 4 || ihl != 20 || *pkt.get(9)? != 1 || *pkt.get(20)? != 8 {
        return None;
    }
    let src: [u8; 4] = pkt.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = pkt.get(16..20)?.try_into().ok()?;
    let id = u16::from_be_bytes([*pkt.get(24)?, *pkt.get(25)?]);
    let seq = u16::from_be_bytes([*pkt.get(26)?, *pkt.get(27)?]);
    Some(crate::pcap::icmp4_echo(
        dst,
        src,
        true,
        id,
        seq,
        pkt.get(28..)?,
    ))
}

impl crate::Endpoint for WgNode {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.received.push((now, data.to_vec()));
        let mut buf = vec![0u8; data.len()];
        match self.dev.handle_datagram(now, self.remote, data, &mut buf) {
            Ok(Output::Deliver { len, .. }) => {
                let pkt = buf[..len].to_vec();
                let reply = if self.echo { echo_reply(&pkt) } else { None };
                self.delivered.push((now, pkt));
                if let Some(r) = reply {
                    self.send_now(now, &r);
                }
            }
            Ok(Output::Dropped(r)) => self.drops.push((now, r)),
            Ok(_) => {}
            Err(e) => self.errors.push((now, e)),
        }
        self.collect(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.collect(now);
        let d = self.out.pop_front()?;
        self.sent.push((now, d.clone()));
        Some(d)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.dev.poll_timeout(),
            self.schedule.front().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }
    fn handle_timeout(&mut self, now: Instant) {
        while self.schedule.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, pkt)) = self.schedule.pop_front() {
                self.send_now(now, &pkt);
            }
        }
        if self.dev.poll_timeout().is_some_and(|t| t <= now) {
            self.dev.handle_timeout(now);
        }
        self.collect(now);
    }
}
