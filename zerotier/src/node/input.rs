//! Datagram input: reassembly, authentication, dispatch of each verb, HELLO.

use super::*;

impl Node {
    // ----- input ---------------------------------------------------------------------------

    /// A UDP datagram arrived on our socket `local` from `from`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: LocalSocket,
        from: SocketAddr,
        data: &[u8],
    ) -> Input {
        self.stats.rx_datagrams += 1;
        if data.len() > MAX_PACKET_LEN {
            return self.drop(DropReason::Oversized);
        }
        if data.len() <= MIN_FRAGMENT_LEN {
            return self.drop(DropReason::Truncated);
        }
        let me = self.identity.address();
        if wire::is_fragment(data) {
            let f = match Fragment::parse(data) {
                Ok(f) => f,
                Err(_) => return self.drop(DropReason::Truncated),
            };
            if f.dest != me {
                return self.relay(now, data, f.dest, None);
            }
            let offer = self.reassembly.offer_fragment(now, &f);
            return self.after_offer(now, local, from, offer);
        }
        if data.len() < MIN_PACKET_LEN {
            return self.drop(DropReason::Truncated);
        }
        let Ok(h) = Header::parse(data) else {
            return self.drop(DropReason::Truncated);
        };
        if h.source == me {
            return self.drop(DropReason::FromSelf);
        }
        if h.dest != me {
            return self.relay(now, data, h.dest, Some(h.source));
        }
        if h.fragmented() {
            let offer = self.reassembly.offer_head(now, h.packet_id, data);
            return self.after_offer(now, local, from, offer);
        }
        self.process_packet(now, local, from, data.to_vec())
    }

    pub(super) fn after_offer(
        &mut self,
        now: Instant,
        local: LocalSocket,
        from: SocketAddr,
        offer: Offer,
    ) -> Input {
        if let Some(t) = self.reassembly.next_expiry() {
            self.timers.set(TimerKey::Reassembly, t);
        }
        match offer {
            Offer::Stored => Input::Buffered,
            Offer::Dropped(r) => self.drop(r),
            Offer::Complete(p) => {
                if p.len() < MIN_PACKET_LEN {
                    return self.drop(DropReason::Truncated);
                }
                if Address::from_slice(&p[13..]) == Some(self.identity.address()) {
                    return self.drop(DropReason::FromSelf);
                }
                self.process_packet(now, local, from, p)
            }
        }
    }

    pub(super) fn process_packet(
        &mut self,
        now: Instant,
        local: LocalSocket,
        from: SocketAddr,
        mut pkt: Vec<u8>,
    ) -> Input {
        let Ok(h) = Header::parse(&pkt) else {
            return self.drop(DropReason::Truncated);
        };
        let verb_plain = Verb::from_u8(pkt[IDX_VERB]);
        if h.cipher() == Some(CipherSuite::Poly1305None) && verb_plain == Verb::Hello {
            return self.handle_hello(now, local, from, pkt, h);
        }
        if !self.peers.contains_key(&h.source) {
            return self.queue_for_whois(now, h.source, local, from, pkt);
        }
        let res = match self.peers.get(&h.source) {
            Some(p) => crypto::dearmor(&mut pkt, &p.key),
            None => return self.drop(DropReason::NoRoute),
        };
        match res {
            Ok(_) => {}
            Err(crypto::DearmorError::BadMac) | Err(crypto::DearmorError::Truncated) => {
                return self.drop(DropReason::BadMac)
            }
            Err(crypto::DearmorError::UnsupportedCipher(_)) => {
                return self.drop(DropReason::UnsupportedCipher)
            }
        }
        let packet_id = u64::from_be_bytes(crypto::first_n(&pkt));
        if self
            .peers
            .get_mut(&h.source)
            .is_some_and(|p| p.seen(packet_id))
        {
            return self.drop(DropReason::Replay);
        }
        let payload = match self.payload_of(&pkt) {
            Ok(p) => p,
            Err(r) => return self.drop(r),
        };
        let verb = Verb::from_u8(pkt[IDX_VERB]);
        let msg = match Message::parse(verb, &payload) {
            Ok(m) => m,
            Err(_) => return self.drop(DropReason::BadPayload),
        };
        // An OK/ERROR must answer something we sent.
        if let Message::Ok(OkMsg {
            in_re_packet_id, ..
        })
        | Message::Error(crate::wire::verbs::ErrorMsg {
            in_re_packet_id, ..
        }) = &msg
        {
            let in_re = match &msg {
                Message::Ok(o) => o.in_re_verb,
                Message::Error(e) => e.in_re_verb,
                _ => Verb::Nop,
            };
            if !self
                .expecting
                .get(in_re_packet_id)
                .is_some_and(|e| e.peer == h.source && e.verb == in_re)
            {
                return self.drop(DropReason::UnexpectedReply);
            }
        }
        self.stats.rx_packets += 1;
        self.peer_received(now, h.source, local, from, h.hops(), verb);
        self.dispatch(now, h, packet_id, local, from, verb, msg, payload)
    }

    pub(super) fn payload_of(&mut self, pkt: &[u8]) -> Result<Vec<u8>, DropReason> {
        if pkt[IDX_VERB] & VERB_FLAG_COMPRESSED != 0 {
            let mut out = std::mem::take(&mut self.scratch);
            let r = wire::lz4_decompress(&pkt[IDX_PAYLOAD..], &mut out);
            let v = out.clone();
            self.scratch = out;
            r.map(|_| v).map_err(|_| DropReason::BadCompression)
        } else {
            Ok(pkt[IDX_PAYLOAD..].to_vec())
        }
    }

    /// Path learning (ZeroTierOne `Peer::received`): on a direct packet (hops 0) from an
    /// unknown address, an OK confirms the path; anything else makes us send a HELLO there
    /// (at most once a second per address) so its OK can confirm it.
    pub(super) fn peer_received(
        &mut self,
        now: Instant,
        a: Address,
        local: LocalSocket,
        from: SocketAddr,
        hops: u8,
        verb: Verb,
    ) {
        let max_paths = self.config.max_paths_per_peer;
        let was_online = self.online;
        let Some(p) = self.peers.get_mut(&a) else {
            return;
        };
        p.last_receive = Some(now);
        if matches!(
            verb,
            Verb::Frame
                | Verb::ExtFrame
                | Verb::MulticastFrame
                | Verb::NetworkConfig
                | Verb::NetworkConfigRequest
        ) {
            p.last_user_traffic = Some(now);
        }
        if p.is_root() {
            self.online = true;
        }
        let mut confirm = false;
        if hops == 0 {
            if let Some(path) = p
                .paths
                .iter_mut()
                .find(|x| x.local == local && x.remote == from)
            {
                path.last_in = now;
            } else if verb == Verb::Ok {
                if p.paths.len() >= max_paths {
                    // Replace the path heard from least recently.
                    if let Some(i) = p
                        .paths
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, x)| x.last_in)
                        .map(|(i, _)| i)
                    {
                        p.paths.remove(i);
                    }
                }
                p.paths.push(Path {
                    local,
                    remote: from,
                    last_in: now,
                    last_out: Some(now),
                });
                self.events.push_back(Event::PathConfirmed {
                    peer: a,
                    local,
                    remote: from,
                });
            } else {
                p.confirm_attempts
                    .retain(|(_, t)| now.saturating_duration_since(*t) < PATH_CONFIRM_INTERVAL);
                if !p.confirm_attempts.iter().any(|(x, _)| *x == from)
                    && p.confirm_attempts.len() < 16
                {
                    p.confirm_attempts.push((from, now));
                    confirm = true;
                }
            }
        }
        if confirm {
            self.send_hello(now, a, Some((local, from)));
        }
        if !was_online && self.online {
            self.events.push_back(Event::Online);
        }
        self.rearm_peer(now, a);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn dispatch(
        &mut self,
        now: Instant,
        h: Header,
        packet_id: u64,
        local: LocalSocket,
        from: SocketAddr,
        verb: Verb,
        msg: Message,
        payload: Vec<u8>,
    ) -> Input {
        let src = h.source;
        match msg {
            Message::Nop(_) => {}
            Message::Hello(_) => {} // HELLO always arrives with cipher 0 (handled before)
            Message::Ok(ok) => return self.handle_ok(now, h, local, from, ok, payload),
            Message::Whois(addrs) => {
                let mut out = vec![Verb::Whois.to_u8()];
                out.extend_from_slice(&packet_id.to_be_bytes());
                let mut any = false;
                for a in addrs {
                    let id = if a == self.identity.address() {
                        Some(self.identity.public_only())
                    } else {
                        self.peers.get(&a).map(|p| p.identity.clone())
                    };
                    if let Some(id) = id {
                        id.emit(&mut out, false);
                        any = true;
                    }
                }
                if any {
                    self.send_reply(now, src, local, from, &out);
                }
            }
            Message::Rendezvous(r) => {
                if !self.peers.get(&src).is_some_and(Peer::is_root) {
                    return self.drop(DropReason::NotFromRoot);
                }
                if r.address == self.identity.address() {
                    return self.drop(DropReason::BadPayload);
                }
                let at = SocketAddr::new(r.ip, r.port);
                if !self.peers.contains_key(&r.address) {
                    // Not known yet (its relayed packet may be waiting for the same WHOIS):
                    // keep the hint until the identity arrives.
                    let new = !self.whois.contains_key(&r.address);
                    if new && self.whois.len() >= self.config.max_whois_pending {
                        return self.drop(DropReason::WhoisQueueFull);
                    }
                    let w = self.whois.entry(r.address).or_insert_with(|| Whois {
                        started: now,
                        rendezvous: None,
                        inbound: VecDeque::new(),
                        outbound: VecDeque::new(),
                    });
                    w.rendezvous = Some((local, at));
                    if new {
                        self.send_whois(now, r.address);
                    }
                    return Input::Delivered;
                }
                self.rendezvous(now, r.address, local, at);
            }
            Message::Echo(p) => {
                let mut out = vec![Verb::Echo.to_u8()];
                out.extend_from_slice(&packet_id.to_be_bytes());
                out.extend_from_slice(&p);
                self.send_reply(now, src, local, from, &out);
                self.events.push_back(Event::EchoAnswered {
                    peer: src,
                    local,
                    from,
                });
            }
            Message::PushDirectPaths(pd) => self.handle_push(now, src, local, pd),
            Message::NetworkConfigRequest(req) if self.controller.is_some() => {
                return self.handle_config_request(now, src, packet_id, local, from, req);
            }
            Message::NetworkConfig(chunk) if self.networks.contains_key(&chunk.network_id) => {
                return self.handle_config_chunk(now, src, &chunk);
            }
            Message::Error(e)
                if e.in_re_verb == Verb::NetworkConfigRequest
                    && e.network_id()
                        .is_some_and(|n| self.networks.contains_key(&n)) =>
            {
                return self.handle_config_error(src, &e);
            }
            Message::Frame(f) => return self.handle_frame(src, f),
            Message::ExtFrame(f) => return self.handle_ext_frame(src, f),
            Message::MulticastFrame(f) => return self.handle_multicast_frame(src, f),
            Message::MulticastLike(l) => return self.handle_like(src, &l),
            Message::MulticastGather(g) => {
                return self.handle_gather(src, packet_id, local, from, &g);
            }
            Message::NetworkCredentials(nc) => return self.handle_credentials(src, &nc),
            Message::Error(_)
            | Message::NetworkConfigRequest(_)
            | Message::NetworkConfig(_)
            | Message::Other(..) => {
                self.events.push_back(Event::Received {
                    peer: src,
                    verb,
                    packet_id,
                    hops: h.hops(),
                    payload,
                });
            }
        }
        Input::Delivered
    }

    /// Act on a RENDEZVOUS: a 4-byte junk datagram with TTL 2 to open NATs and stateful
    /// firewalls on our side, then an ECHO (peer announced protocol 5+) or a HELLO there.
    pub(super) fn rendezvous(
        &mut self,
        now: Instant,
        peer: Address,
        local: LocalSocket,
        at: SocketAddr,
    ) {
        let junk = self.rng.next_u32().to_be_bytes().to_vec();
        self.push_tx(local, at, junk, Some(2));
        let proto = self.peers.get(&peer).map_or(0, |p| p.protocol_version);
        if proto >= 5 {
            self.send_echo_probe(now, peer, local, at);
        } else {
            self.send_hello(now, peer, Some((local, at)));
        }
        self.events.push_back(Event::Rendezvous { peer, at });
    }

    pub(super) fn handle_push(
        &mut self,
        now: Instant,
        src: Address,
        local: LocalSocket,
        pd: PushDirectPaths,
    ) {
        let (limit, window) = peer::PUSH_DIRECT_PATHS_CUTOFF;
        let mut targets = Vec::new();
        if let Some(p) = self.peers.get_mut(&src) {
            if now.saturating_duration_since(p.push_window.0) >= window {
                p.push_window = (now, 0);
            }
            for r in &pd.paths {
                let Some(a) = r.socket_addr() else { continue };
                if p.push_window.1 >= limit {
                    break;
                }
                if p.paths.iter().any(|x| x.remote == a && x.alive(now)) {
                    continue;
                }
                p.push_window.1 += 1;
                targets.push(a);
            }
        }
        for a in targets {
            self.send_hello(now, src, Some((local, a)));
        }
    }

    pub(super) fn handle_ok(
        &mut self,
        now: Instant,
        h: Header,
        _local: LocalSocket,
        _from: SocketAddr,
        ok: OkMsg,
        payload: Vec<u8>,
    ) -> Input {
        let src = h.source;
        let Some(exp) = self.expecting.get(&ok.in_re_packet_id) else {
            return self.drop(DropReason::UnexpectedReply);
        };
        let (sent, user) = (exp.sent, exp.user);
        match ok.body {
            OkBody::Hello(oh) => self.handle_ok_hello(now, src, sent, oh),
            OkBody::Whois(ids) => {
                if !self.peers.get(&src).is_some_and(Peer::is_root) {
                    return self.drop(DropReason::NotFromRoot);
                }
                for id in ids {
                    self.learn_whois(now, id);
                }
            }
            OkBody::Echo(p) => {
                if user {
                    self.events.push_back(Event::EchoReply {
                        peer: src,
                        packet_id: ok.in_re_packet_id,
                        rtt: now.saturating_duration_since(sent),
                        hops: h.hops(),
                        payload: p,
                    });
                }
            }
            OkBody::MulticastGather(g) => self.handle_gathered(&g),
            OkBody::NetworkConfigRequest(chunk)
                if self.networks.contains_key(&chunk.network_id) =>
            {
                return self.handle_config_chunk(now, src, &chunk);
            }
            _ => {
                self.events.push_back(Event::Received {
                    peer: src,
                    verb: Verb::Ok,
                    packet_id: u64::from_be_bytes(crypto::first_n(&h.packet_id.to_be_bytes())),
                    hops: h.hops(),
                    payload,
                });
            }
        }
        Input::Delivered
    }

    pub(super) fn handle_ok_hello(
        &mut self,
        now: Instant,
        src: Address,
        sent: Instant,
        oh: OkHello,
    ) {
        let latency = now.saturating_duration_since(sent);
        let is_root = self.peers.get(&src).is_some_and(Peer::is_root);
        if let Some(p) = self.peers.get_mut(&src) {
            p.latency = Some(latency);
            let changed = p.protocol_version != oh.protocol_version;
            p.protocol_version = oh.protocol_version;
            p.version = (oh.major, oh.minor, oh.revision);
            if changed {
                self.events.push_back(Event::PeerHello {
                    peer: src,
                    protocol_version: oh.protocol_version,
                    version: (oh.major, oh.minor, oh.revision),
                });
            }
        }
        self.events.push_back(Event::HelloAcknowledged {
            peer: src,
            latency,
            external: oh.dest_addr.as_ref().and_then(InetAddr::socket_addr),
        });
        if let Some(w) = oh.world_updates.filter(|w| !w.is_empty()) {
            if !is_root {
                self.stats.drops[DropReason::NotFromRoot as usize] += 1;
                return;
            }
            let mut off = 0;
            while off < w.len() {
                let Ok((world, n)) = World::parse_prefix(&w[off..]) else {
                    self.stats.drops[DropReason::BadPayload as usize] += 1;
                    return;
                };
                off += n;
                if world.kind != WorldType::Planet {
                    continue; // moons: not followed here
                }
                match self.planet.check_update(&world) {
                    WorldUpdate::Accepted => {
                        self.planet = world;
                        self.is_root = self
                            .planet
                            .roots
                            .iter()
                            .any(|r| r.identity.address() == self.identity.address());
                        self.install_roots(now);
                        self.events.push_back(Event::PlanetUpdated {
                            timestamp: self.planet.timestamp,
                        });
                    }
                    WorldUpdate::BadSignature => {
                        self.stats.drops[DropReason::BadWorldSignature as usize] += 1
                    }
                    WorldUpdate::NotNewer | WorldUpdate::Unrelated => {}
                }
            }
        }
    }

    pub(super) fn handle_hello(
        &mut self,
        now: Instant,
        local: LocalSocket,
        from: SocketAddr,
        mut pkt: Vec<u8>,
        h: Header,
    ) -> Input {
        let hello = match Hello::parse(&pkt[IDX_PAYLOAD..]) {
            Ok(x) => x,
            Err(_) => return self.drop(DropReason::BadPayload),
        };
        if hello.protocol_version < PROTO_VERSION_MIN {
            return self.drop(DropReason::BadProtocolVersion);
        }
        let src = h.source;
        if hello.identity.address() != src {
            return self.drop(DropReason::InvalidIdentity);
        }
        let known = match self.peers.get(&src) {
            Some(p) if p.identity != hello.identity => {
                return self.drop(DropReason::IdentityCollision)
            }
            Some(_) => true,
            None => false,
        };
        if known {
            let ok = self
                .peers
                .get(&src)
                .map(|p| crypto::dearmor(&mut pkt, &p.key));
            if !matches!(ok, Some(Ok(_))) {
                return self.drop(DropReason::BadMac);
            }
        } else {
            if !self.validation_allowed(now) {
                return self.drop(DropReason::ValidationRateLimited);
            }
            let Some(raw) = self.identity.agree(&hello.identity) else {
                return self.drop(DropReason::InvalidIdentity);
            };
            let key = PeerKey::new(raw);
            if crypto::dearmor(&mut pkt, &key).is_err() {
                return self.drop(DropReason::BadMac);
            }
            self.stats.identity_validations += 1;
            if !hello.identity.locally_validate() {
                return self.drop(DropReason::InvalidIdentity);
            }
            self.add_peer(
                now,
                Peer::new(hello.identity.clone(), key, Role::Leaf, now),
                PeerSource::Hello,
            );
            if !self.peers.contains_key(&src) {
                return self.drop(DropReason::NoRoute);
            }
        }
        if self
            .peers
            .get_mut(&src)
            .is_some_and(|p| p.seen(h.packet_id))
        {
            return self.drop(DropReason::Replay);
        }
        // Decrypt the moon list (kept for completeness; moons are not followed).
        let tail = IDX_PAYLOAD + hello.tail_offset();
        if let Some(p) = self.peers.get(&src) {
            crypto::crypt_field(&mut pkt, &p.key, tail);
        }
        let _moons = Moons::parse(pkt.get(tail..).unwrap_or(&[])).unwrap_or_default();
        self.stats.rx_packets += 1;
        if let Some(p) = self.peers.get_mut(&src) {
            let v = (hello.major, hello.minor, hello.revision);
            if p.protocol_version != hello.protocol_version || p.version != v {
                p.protocol_version = hello.protocol_version;
                p.version = v;
                self.events.push_back(Event::PeerHello {
                    peer: src,
                    protocol_version: hello.protocol_version,
                    version: v,
                });
            }
        }
        // OK(HELLO): echo, our versions, where the HELLO came from, a newer planet if theirs
        // is older.
        let mut world_updates = Vec::new();
        if let Some((id, ts)) = hello.planet {
            if id == self.planet.id && ts < self.planet.timestamp {
                world_updates = self.planet.to_bytes();
            }
        }
        let (maj, min, rev) = self.config.software_version;
        let ok = OkHello {
            timestamp_echo: hello.timestamp,
            protocol_version: self.config.protocol_version,
            major: maj,
            minor: min,
            revision: rev,
            dest_addr: Some(InetAddr::Ip(from)),
            world_updates: Some(world_updates),
        };
        let mut out = vec![Verb::Hello.to_u8()];
        out.extend_from_slice(&h.packet_id.to_be_bytes());
        ok.emit(&mut out);
        self.send_reply(now, src, local, from, &out);
        // Path learning after the reply, as ZeroTierOne does: the OK goes out first, then a
        // HELLO confirms an unknown path.
        self.peer_received(now, src, local, from, h.hops(), Verb::Hello);
        Input::Delivered
    }
}
