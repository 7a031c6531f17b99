//! Peers entering the table: WHOIS queueing and answers, identity validation rate, upstream choice.

use super::*;

impl Node {
    pub(super) fn validation_allowed(&mut self, now: Instant) -> bool {
        let rate = self.config.identity_validations_per_second;
        let (t, tokens) = self.validation_tokens;
        let refill =
            (now.saturating_duration_since(t).as_millis() as u64 * u64::from(rate) / 1000) as u32;
        let mut tokens = tokens.saturating_add(refill).min(rate);
        let t = if refill > 0 { now } else { t };
        let ok = tokens > 0;
        if ok {
            tokens -= 1;
        }
        self.validation_tokens = (t, tokens);
        ok
    }

    pub(super) fn learn_whois(&mut self, now: Instant, id: Identity) {
        let a = id.address();
        if !self.whois.contains_key(&a) || self.peers.contains_key(&a) {
            return;
        }
        if !self.validation_allowed(now) {
            self.stats.drops[DropReason::ValidationRateLimited as usize] += 1;
            return;
        }
        self.stats.identity_validations += 1;
        if !id.locally_validate() {
            self.stats.drops[DropReason::InvalidIdentity as usize] += 1;
            return;
        }
        let Some(raw) = self.identity.agree(&id) else {
            return;
        };
        self.add_peer(
            now,
            Peer::new(id, PeerKey::new(raw), Role::Leaf, now),
            PeerSource::Whois,
        );
    }

    /// A peer became known (HELLO or OK(WHOIS)): finish its WHOIS, send what waited for it,
    /// process what it sent meanwhile.
    pub(super) fn flush_whois(&mut self, now: Instant, a: Address) {
        self.timers.cancel(TimerKey::Whois(a));
        if let Some(w) = self.whois.remove(&a) {
            self.events.push_back(Event::WhoisResolved { peer: a });
            if let Some((l, at)) = w.rendezvous {
                self.rendezvous(now, a, l, at);
            }
            for (verb, p) in w.outbound {
                self.send_packet(now, a, verb, &p, verb == Verb::Echo);
            }
            for (local, from, pkt) in w.inbound {
                let _ = self.process_packet(now, local, from, pkt);
            }
        }
    }

    pub(super) fn add_peer(&mut self, now: Instant, p: Peer, source: PeerSource) {
        let a = p.identity.address();
        if self.peers.len() >= self.config.max_peers {
            let victim = self
                .peers
                .iter()
                .filter(|(_, x)| !x.is_root())
                .min_by_key(|(_, x)| x.last_receive.unwrap_or(x.created))
                .map(|(k, _)| *k);
            if let Some(v) = victim {
                self.remove_peer(v);
            } else {
                return;
            }
        }
        self.peers.insert(a, p);
        self.events.push_back(Event::PeerAdded { peer: a, source });
        self.rearm_peer(now, a);
        self.flush_whois(now, a);
    }

    pub(super) fn remove_peer(&mut self, a: Address) {
        if self.peers.remove(&a).is_some() {
            self.timers.cancel(TimerKey::Peer(a));
            self.events.push_back(Event::PeerRemoved { peer: a });
        }
    }

    pub(super) fn queue_for_whois(
        &mut self,
        now: Instant,
        src: Address,
        local: LocalSocket,
        from: SocketAddr,
        pkt: Vec<u8>,
    ) -> Input {
        if self.upstream(now).is_none() {
            return self.drop(DropReason::NoRoute);
        }
        let maxq = self.config.max_queued_per_whois;
        if let Some(w) = self.whois.get_mut(&src) {
            if w.inbound.len() >= maxq {
                return self.drop(DropReason::WhoisQueueFull);
            }
            w.inbound.push_back((local, from, pkt));
            return Input::Queued;
        }
        if self.whois.len() >= self.config.max_whois_pending {
            return self.drop(DropReason::WhoisQueueFull);
        }
        let mut w = Whois {
            started: now,
            rendezvous: None,
            inbound: VecDeque::new(),
            outbound: VecDeque::new(),
        };
        w.inbound.push_back((local, from, pkt));
        self.whois.insert(src, w);
        self.send_whois(now, src);
        Input::Queued
    }

    pub(super) fn send_whois(&mut self, now: Instant, a: Address) {
        if let Some(root) = self.upstream(now) {
            self.send_packet(now, root, Verb::Whois, &a.to_bytes(), false);
        }
        self.timers.set(TimerKey::Whois(a), now + WHOIS_RETRY_DELAY);
    }

    /// The root to use: one with an alive path and the lowest latency, else any root with a
    /// path, else any root.
    pub(super) fn upstream(&self, now: Instant) -> Option<Address> {
        self.peers
            .values()
            .filter(|p| p.is_root())
            .max_by_key(|p| {
                (
                    p.has_alive_path(now),
                    p.best_path(now).is_some(),
                    std::cmp::Reverse(p.latency.unwrap_or(Duration::MAX)),
                    std::cmp::Reverse(p.identity.address()),
                )
            })
            .map(|p| p.identity.address())
    }
}
