//! A netsim adapter for the IKE engine: datagrams carry a 4-byte prefix (source port,
//! destination port) so the simulated link keeps the UDP ports; an optional NAT rewrites the
//! source address seen by the other side.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ipsec_ike::config::*;
use ipsec_ike::crypto::{Encr, Group, Integ};
use ipsec_ike::{Event, Ike, Input};
use rand_chacha::rand_core::SeedableRng;

pub struct Side {
    pub ike: Ike,
    /// The address this side has.
    pub addr: IpAddr,
    /// The address the other side's packets appear to come from (NAT in between).
    pub peer_seen: IpAddr,
    pub events: Vec<(Duration, Event)>,
    pub delivered: Vec<(Duration, Vec<u8>)>,
    pub received_raw: Vec<(Duration, Vec<u8>)>,
    pub start: Instant,
}

impl Side {
    pub fn new(
        cfg: IpsecConfig,
        certs: ipsec_ike::auth::CertStore,
        addr: &str,
        peer_seen: &str,
        start: Instant,
        seed: u64,
    ) -> Side {
        let rng = Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(seed));
        Side {
            ike: Ike::new(cfg, certs, addr.parse().unwrap(), start, rng).unwrap(),
            addr: addr.parse().unwrap(),
            peer_seen: peer_seen.parse().unwrap(),
            events: Vec::new(),
            delivered: Vec::new(),
            received_raw: Vec::new(),
            start,
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.ike.poll_event() {
            self.events.push((now - self.start, e));
        }
    }

    pub fn up_count(&self) -> usize {
        self.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::IkeSaUp { .. }))
            .count()
    }

    pub fn children_up(&self) -> Vec<(Duration, ipsec_ike::ChildId, u32, u32)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::ChildSaUp {
                    child,
                    spi_in,
                    spi_out,
                    ..
                } => Some((*t, *child, *spi_in, *spi_out)),
                _ => None,
            })
            .collect()
    }

    /// Protect a packet and hand it to the link (as the netsim payload).
    pub fn send_packet(&mut self, now: Instant, pkt: &[u8]) -> Option<Vec<u8>> {
        let mut out = vec![0u8; pkt.len() + 200];
        match self.ike.encapsulate(now, pkt, &mut out).unwrap() {
            ipsec_ike::Outbound::Protected {
                len,
                local,
                remote,
                udp,
            } => {
                assert!(udp || remote.port() == 0);
                let mut v = Vec::with_capacity(len + 4);
                v.extend_from_slice(&local.port().max(1).to_be_bytes());
                v.extend_from_slice(&(if udp { 4500u16 } else { 0 }).to_be_bytes());
                v.extend_from_slice(&out[..len]);
                Some(v)
            }
            _ => None,
        }
    }
}

impl netsim::Endpoint for Side {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let sport = u16::from_be_bytes([data[0], data[1]]);
        let dport = u16::from_be_bytes([data[2], data[3]]);
        let payload = &data[4..];
        self.received_raw.push((now - self.start, payload.to_vec()));
        let local = SocketAddr::new(self.addr, dport);
        let remote = SocketAddr::new(self.peer_seen, sport);
        if dport == 0 || self.ike.handle_datagram(now, local, remote, payload) == Input::Esp {
            let mut b = payload.to_vec();
            if let Ok(d) = self.ike.decapsulate_in_place(now, &mut b) {
                self.delivered.push((now - self.start, b[d.range].to_vec()));
            }
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let t = self.ike.poll_transmit(now)?;
        let mut v = Vec::with_capacity(t.payload.len() + 4);
        v.extend_from_slice(&t.local.port().to_be_bytes());
        v.extend_from_slice(&t.remote.port().to_be_bytes());
        v.extend_from_slice(&t.payload);
        Some(v)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.ike.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ike.handle_timeout(now);
        self.drain(now);
    }
}

/// An IPv4/ICMP packet.
pub fn ip4(src: [u8; 4], dst: [u8; 4], len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    p
}

/// A site-to-site config: peer `name` at `peer_addr`, PSK, tunnel policy `local` <-> `remote`.
pub fn site(name: &str, peer_addr: &str, local: &str, remote: &str, psk: &str) -> IpsecConfig {
    let mut c = IpsecConfig::default();
    c.profiles[0] = Profile {
        dh_group: vec![Group::Curve25519, Group::Modp(2048)],
        enc_algorithm: vec![Encr::AesCbc(32), Encr::AesCbc(16)],
        hash_algorithm: vec![HashAlgorithm::Sha256, HashAlgorithm::Sha1],
        ..Profile::default()
    };
    c.proposals[0] = Proposal {
        enc_algorithms: vec![Encr::AesGcm(16, 16), Encr::AesCbc(16)],
        auth_algorithms: vec![Some(Integ::HmacSha256_128)],
        pfs_group: Some(Group::Curve25519),
        ..Proposal::default()
    };
    c.peers.push(Peer {
        name: name.into(),
        address: format!("{peer_addr}/32").parse().unwrap(),
        exchange_mode: ExchangeMode::Ike2,
        ..Peer::default()
    });
    c.identities.push(Identity::psk(name, psk));
    c.policies.push(Policy {
        src_address: local.parse().unwrap(),
        dst_address: remote.parse().unwrap(),
        tunnel: true,
        peer: name.into(),
        sa_dst_address: Some(peer_addr.parse().unwrap()),
        ..Policy::default()
    });
    c
}

pub type P = netsim::Pair<Side, Side>;

/// A (initiator side, 192.0.2.1) and B (192.0.2.2), site-to-site PSK.
pub fn pair_with(ca: IpsecConfig, cb: IpsecConfig, link: netsim::LinkConfig, seed: u64) -> P {
    let start = Instant::now();
    let a = Side::new(
        ca,
        Default::default(),
        "192.0.2.1",
        "192.0.2.2",
        start,
        seed,
    );
    let b = Side::new(
        cb,
        Default::default(),
        "192.0.2.2",
        "192.0.2.1",
        start,
        seed + 1000,
    );
    netsim::Pair::with_start(a, b, link.clone(), link, seed, start)
}

pub fn default_pair(seed: u64) -> P {
    pair_with(
        site("b", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24", "s3cret"),
        site("a", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24", "s3cret"),
        netsim::LinkConfig::perfect(),
        seed,
    )
}

pub fn connect(p: &mut P) -> ipsec_ike::IkeSaId {
    let now = p.now();
    p.a.ike.connect(now, "b", None).unwrap()
}
