//! Building, sealing and routing packets; the user commands.

use super::*;

impl Node {
    // ----- output construction -------------------------------------------------------------

    pub(super) fn expect(&mut self, now: Instant, id: u64, peer: Address, verb: Verb, user: bool) {
        if self.expect_order.len() >= EXPECTED_REPLIES {
            if let Some(old) = self.expect_order.pop_front() {
                self.expecting.remove(&old);
            }
        }
        self.expect_order.push_back(id);
        self.expecting.insert(
            id,
            Expect {
                peer,
                verb,
                sent: now,
                user,
            },
        );
    }

    pub(super) fn push_tx(
        &mut self,
        local: LocalSocket,
        dest: SocketAddr,
        payload: Vec<u8>,
        ttl: Option<u8>,
    ) {
        self.stats.tx_datagrams += 1;
        self.transmits.push_back(Transmit {
            local,
            dest,
            payload,
            ttl,
        });
    }

    pub(super) fn header(&mut self, dest: Address, verb: Verb) -> Vec<u8> {
        let mut b = Vec::with_capacity(128);
        let id = self.random_id();
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&dest.to_bytes());
        b.extend_from_slice(&self.identity.address().to_bytes());
        b.push(0);
        b.extend_from_slice(&[0; 8]);
        b.push(verb.to_u8());
        b
    }

    /// HELLO to `a`, at `at` if given, else along its best path or via the upstream.
    pub(super) fn send_hello(
        &mut self,
        now: Instant,
        a: Address,
        at: Option<(LocalSocket, SocketAddr)>,
    ) {
        let Some(key) = self.peers.get(&a).map(|p| p.key.clone()) else {
            return;
        };
        let mut pkt = self.header(a, Verb::Hello);
        let (maj, min, rev) = self.config.software_version;
        let hello = Hello {
            protocol_version: self.config.protocol_version,
            major: maj,
            minor: min,
            revision: rev,
            timestamp: self.ms(now),
            identity: self.identity.public_only(),
            dest_addr: Some(at.map_or(InetAddr::Nil, |x| InetAddr::Ip(x.1))),
            planet: Some((self.planet.id, self.planet.timestamp)),
            encrypted_tail: {
                let mut t = Vec::new();
                Moons::default().emit(&mut t);
                t
            },
        };
        hello.emit(&mut pkt);
        let tail = IDX_PAYLOAD + hello.tail_offset();
        crypto::crypt_field(&mut pkt, &key, tail);
        let id = u64::from_be_bytes(crypto::first_n(&pkt));
        self.expect(now, id, a, Verb::Hello, false);
        match at {
            Some((l, r)) => {
                crypto::armor(&mut pkt, &key, CipherSuite::Poly1305None);
                self.push_tx(l, r, pkt, None);
                if let Some(p) = self.peers.get_mut(&a) {
                    if let Some(path) = p.paths.iter_mut().find(|x| x.local == l && x.remote == r) {
                        path.last_out = Some(now);
                    }
                }
            }
            None => self.route(now, a, pkt, CipherSuite::Poly1305None),
        }
    }

    /// An ECHO with empty payload at an explicit address (path heartbeat / confirmation).
    pub(super) fn send_echo_probe(
        &mut self,
        now: Instant,
        a: Address,
        local: LocalSocket,
        at: SocketAddr,
    ) {
        let Some((key, suite)) = self.peers.get(&a).map(|p| (p.key.clone(), p.cipher())) else {
            return;
        };
        let mut pkt = self.header(a, Verb::Echo);
        crypto::armor(&mut pkt, &key, suite);
        let id = u64::from_be_bytes(crypto::first_n(&pkt));
        self.expect(now, id, a, Verb::Echo, false);
        self.push_tx(local, at, pkt, None);
    }

    /// A reply (OK/ERROR) straight back on the path the request came from.
    pub(super) fn send_reply(
        &mut self,
        _now: Instant,
        to: Address,
        local: LocalSocket,
        at: SocketAddr,
        ok_payload: &[u8],
    ) {
        self.send_reply_as(Verb::Ok, to, local, at, ok_payload);
    }

    /// A reply with verb `verb` (OK or ERROR) straight back on the path the request came from.
    pub(super) fn send_reply_as(
        &mut self,
        verb: Verb,
        to: Address,
        local: LocalSocket,
        at: SocketAddr,
        ok_payload: &[u8],
    ) {
        let Some((key, suite)) = self.peers.get(&to).map(|p| (p.key.clone(), p.cipher())) else {
            return;
        };
        let mut pkt = self.header(to, verb);
        self.seal(&mut pkt, ok_payload, &key, suite);
        for d in self.split(pkt) {
            self.push_tx(local, at, d, None);
        }
    }

    /// Append the payload (LZ4-compressed when that makes it shorter), flag the packet as
    /// fragmented when it will not fit the physical MTU (the flag is authenticated, so before
    /// armoring), and armor it.
    pub(super) fn seal(
        &self,
        pkt: &mut Vec<u8>,
        payload: &[u8],
        key: &PeerKey,
        suite: CipherSuite,
    ) {
        match wire::lz4_compress(payload) {
            Some(c) if pkt[IDX_VERB] != Verb::Hello.to_u8() => {
                pkt[IDX_VERB] |= VERB_FLAG_COMPRESSED;
                pkt.extend_from_slice(&c);
            }
            _ => pkt.extend_from_slice(payload),
        }
        if pkt.len() > self.config.physical_mtu {
            pkt[IDX_FLAGS] |= FLAG_FRAGMENTED;
        }
        crypto::armor(pkt, key, suite);
    }

    pub(super) fn split(&mut self, pkt: Vec<u8>) -> Vec<Vec<u8>> {
        if pkt.len() <= self.config.physical_mtu {
            return vec![pkt];
        }
        wire::fragment_packet(&pkt, self.config.physical_mtu).unwrap_or_default()
    }

    /// Build, compress, armor and route a packet; returns its packet ID (after armoring).
    pub(super) fn send_packet(
        &mut self,
        now: Instant,
        dest: Address,
        verb: Verb,
        payload: &[u8],
        user: bool,
    ) -> Option<u64> {
        let (key, suite) = self.peers.get(&dest).map(|p| (p.key.clone(), p.cipher()))?;
        let mut pkt = self.header(dest, verb);
        self.seal(&mut pkt, payload, &key, suite);
        let id = u64::from_be_bytes(crypto::first_n(&pkt));
        if matches!(
            verb,
            Verb::Whois
                | Verb::Echo
                | Verb::NetworkConfigRequest
                | Verb::MulticastGather
                | Verb::MulticastFrame
                | Verb::ExtFrame
                | Verb::Hello
        ) {
            self.expect(now, id, dest, verb, user);
        }
        self.route(now, dest, pkt, suite);
        Some(id)
    }

    /// Send an armored packet along the peer's best direct path, else through the upstream
    /// root (which relays it). Fragments if needed.
    pub(super) fn route(&mut self, now: Instant, dest: Address, pkt: Vec<u8>, _suite: CipherSuite) {
        let direct = self.peers.get_mut(&dest).and_then(|p| {
            let i = p.best_path_index(now)?;
            p.paths[i].last_out = Some(now);
            Some((p.paths[i].local, p.paths[i].remote))
        });
        let via = match direct {
            Some(x) => Some(x),
            None => {
                let up = self.upstream(now).filter(|r| *r != dest);
                let root_path = up.and_then(|r| {
                    let p = self.peers.get_mut(&r)?;
                    let i = p.best_path_index(now)?;
                    p.paths[i].last_out = Some(now);
                    Some((p.paths[i].local, p.paths[i].remote))
                });
                root_path
            }
        };
        let Some((l, r)) = via else {
            self.stats.drops[DropReason::NoRoute as usize] += 1;
            return;
        };
        for d in self.split(pkt) {
            self.push_tx(l, r, d, None);
        }
        self.rearm_peer(now, dest);
    }

    // ----- user commands -------------------------------------------------------------------

    /// Send `verb` with `payload` to `dest` (VL2 uses this for FRAME, NETWORK_CONFIG_REQUEST,
    /// ...): compressed when it helps, armored with the peer's suite, fragmented above the
    /// physical MTU, sent directly when a path exists, else relayed by a root. An unknown
    /// `dest` is looked up by WHOIS first (the payload waits, bounded). Returns the packet ID
    /// when sent now, `None` when queued or dropped (see [`Stats::drops`]).
    pub fn send(
        &mut self,
        now: Instant,
        dest: Address,
        verb: Verb,
        payload: &[u8],
    ) -> Result<Option<u64>, Error> {
        self.send_inner(now, dest, verb, payload, false)
    }

    /// Send an ECHO; its OK comes back as [`Event::EchoReply`].
    pub fn send_echo(
        &mut self,
        now: Instant,
        dest: Address,
        payload: &[u8],
    ) -> Result<Option<u64>, Error> {
        self.send_inner(now, dest, Verb::Echo, payload, true)
    }

    pub(super) fn send_inner(
        &mut self,
        now: Instant,
        dest: Address,
        verb: Verb,
        payload: &[u8],
        user: bool,
    ) -> Result<Option<u64>, Error> {
        if dest == self.identity.address() || dest.is_reserved() {
            return Err(Error::BadDestination(dest));
        }
        if payload.len() + MIN_PACKET_LEN > MAX_PACKET_LEN {
            return Err(Error::TooLarge {
                max: MAX_PACKET_LEN - MIN_PACKET_LEN,
                got: payload.len(),
            });
        }
        if let Some(p) = self.peers.get_mut(&dest) {
            if !matches!(verb, Verb::Echo) || user {
                p.last_user_traffic = Some(now);
            }
            return Ok(self.send_packet(now, dest, verb, payload, user));
        }
        // Unknown: WHOIS and hold the payload.
        if self.upstream(now).is_none() {
            self.stats.drops[DropReason::NoRoute as usize] += 1;
            return Ok(None);
        }
        let maxq = self.config.max_queued_per_whois;
        let new = !self.whois.contains_key(&dest);
        if new && self.whois.len() >= self.config.max_whois_pending {
            self.stats.drops[DropReason::WhoisQueueFull as usize] += 1;
            return Ok(None);
        }
        let w = self.whois.entry(dest).or_insert_with(|| Whois {
            started: now,
            rendezvous: None,
            inbound: VecDeque::new(),
            outbound: VecDeque::new(),
        });
        if w.outbound.len() >= maxq {
            self.stats.drops[DropReason::WhoisQueueFull as usize] += 1;
            return Ok(None);
        }
        let v = if user { Verb::Echo } else { verb };
        w.outbound.push_back((v, payload.to_vec()));
        if new {
            self.send_whois(now, dest);
        }
        Ok(None)
    }

    /// Announce our direct paths to `dest` now (PUSH_DIRECT_PATHS with `config.direct_paths`).
    pub fn push_direct_paths(&mut self, now: Instant, dest: Address) -> Result<Option<u64>, Error> {
        if self.config.direct_paths.is_empty() {
            return Ok(None);
        }
        let pd = PushDirectPaths {
            paths: self
                .config
                .direct_paths
                .iter()
                .map(|a| PathRecord::from_socket_addr(*a))
                .collect(),
            trailing: Vec::new(),
        };
        let mut p = Vec::new();
        pd.emit(&mut p);
        if let Some(peer) = self.peers.get_mut(&dest) {
            peer.last_path_push = Some(now);
        }
        self.send(now, dest, Verb::PushDirectPaths, &p)
    }
}
