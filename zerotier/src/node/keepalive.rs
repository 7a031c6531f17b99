//! Timers: WHOIS retries, path expiry, keepalives (ECHO at 14 s, HELLO at 60 s), root contact.

use super::*;

impl Node {
    // ----- timers --------------------------------------------------------------------------

    /// The deadline from [`poll_timeout`](Self::poll_timeout) passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(k) = self.timers.pop_due(now) {
            match k {
                TimerKey::Peer(a) => self.service_peer(now, a),
                TimerKey::Whois(a) => self.service_whois(now, a),
                TimerKey::Network(n) => self.service_network(now, n),
                TimerKey::Reassembly => {
                    let n = self.reassembly.expire(now);
                    self.stats.drops[DropReason::ReassemblyTimeout as usize] += n as u64;
                    if let Some(t) = self.reassembly.next_expiry() {
                        self.timers.set(TimerKey::Reassembly, t);
                    }
                }
            }
        }
    }

    pub(super) fn service_whois(&mut self, now: Instant, a: Address) {
        let Some(w) = self.whois.get(&a) else { return };
        if now.saturating_duration_since(w.started) >= WHOIS_TIMEOUT {
            if let Some(w) = self.whois.remove(&a) {
                self.stats.drops[DropReason::WhoisTimeout as usize] +=
                    (w.inbound.len() + w.outbound.len()) as u64;
            }
            self.events.push_back(Event::WhoisFailed { peer: a });
            return;
        }
        self.send_whois(now, a);
    }

    pub(super) fn peer_active(&self, p: &Peer, now: Instant) -> bool {
        p.is_root()
            || p.last_user_traffic.is_some_and(|t| {
                now.saturating_duration_since(t) < self.config.peer_activity_timeout
            })
    }

    pub(super) fn rearm_peer(&mut self, now: Instant, a: Address) {
        let Some(p) = self.peers.get(&a) else { return };
        let mut next: Option<Instant> = None;
        let mut take = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        for path in &p.paths {
            take(path.last_in + PEER_PATH_EXPIRATION);
        }
        if self.peer_active(p, now) {
            if p.is_root() && !p.has_alive_path(now) {
                take(p.last_root_contact.map_or(now, |t| t + PING_CHECK_INTERVAL));
            }
            if !p.paths.is_empty() {
                take(p.last_full_hello.map_or(now, |t| t + PEER_PING_PERIOD));
                for path in p.paths.iter().filter(|x| !x.expired(now)) {
                    take(path.last_out.map_or(now, |t| t + PATH_HEARTBEAT_PERIOD));
                }
            }
            if let Some(t) = p.last_user_traffic {
                if !p.is_root() {
                    take(t + self.config.peer_activity_timeout);
                }
            }
        }
        if !p.is_root() {
            take(p.last_receive.unwrap_or(p.created) + self.config.peer_expiration);
        }
        match next {
            Some(t) => self.timers.set(TimerKey::Peer(a), t.max(now)),
            None => self.timers.cancel(TimerKey::Peer(a)),
        }
    }

    pub(super) fn service_peer(&mut self, now: Instant, a: Address) {
        let expiration = self.config.peer_expiration;
        let active = match self.peers.get(&a) {
            Some(p) => self.peer_active(p, now),
            None => return,
        };
        let Some(p) = self.peers.get_mut(&a) else {
            return;
        };
        let mut expired = Vec::new();
        p.paths.retain(|x| {
            if x.expired(now) {
                expired.push(x.remote);
                false
            } else {
                true
            }
        });
        for remote in expired {
            self.events
                .push_back(Event::PathExpired { peer: a, remote });
        }
        let Some(p) = self.peers.get(&a) else { return };
        if !p.is_root()
            && now.saturating_duration_since(p.last_receive.unwrap_or(p.created)) >= expiration
        {
            self.remove_peer(a);
            return;
        }
        if active {
            self.keepalive(now, a);
        }
        if self.online
            && !self
                .peers
                .values()
                .any(|p| p.is_root() && !p.paths.is_empty())
        {
            self.online = false;
            self.events.push_back(Event::Offline);
        }
        self.rearm_peer(now, a);
    }

    /// `Peer::doPingAndKeepalive` plus the root contact rule: a full HELLO on every path each
    /// 60 s, an ECHO on a path not sent on for 14 s; a root without an alive path gets a HELLO
    /// to one stable endpoint per address family every 5 s.
    pub(super) fn keepalive(&mut self, now: Instant, a: Address) {
        let Some(p) = self.peers.get_mut(&a) else {
            return;
        };
        let mut hellos: Vec<(LocalSocket, SocketAddr)> = Vec::new();
        let mut echoes: Vec<(LocalSocket, SocketAddr)> = Vec::new();
        let full = p
            .last_full_hello
            .is_none_or(|t| now.saturating_duration_since(t) >= PEER_PING_PERIOD);
        if !p.paths.is_empty() && full {
            p.last_full_hello = Some(now);
        }
        let old = p.protocol_version < 5;
        for path in p.paths.iter_mut() {
            let due = path
                .last_out
                .is_none_or(|t| now.saturating_duration_since(t) >= PATH_HEARTBEAT_PERIOD);
            if full || due {
                if full || old {
                    hellos.push((path.local, path.remote));
                } else {
                    echoes.push((path.local, path.remote));
                }
                path.last_out = Some(now);
            }
        }
        let root_contact = p.is_root()
            && !p.has_alive_path(now)
            && p.last_root_contact
                .is_none_or(|t| now.saturating_duration_since(t) >= PING_CHECK_INTERVAL);
        let mut eps = Vec::new();
        if root_contact {
            p.last_root_contact = Some(now);
            p.last_full_hello = Some(now);
            for v4 in [true, false] {
                let fam: Vec<SocketAddr> = p
                    .stable_endpoints
                    .iter()
                    .copied()
                    .filter(|e| e.is_ipv4() == v4)
                    .collect();
                if !fam.is_empty() {
                    eps.push(fam);
                }
            }
        }
        for fam in eps {
            let i = (self.rng.next_u32() as usize) % fam.len();
            let ep = fam[i];
            if !hellos.iter().any(|(_, r)| *r == ep) {
                hellos.push((LocalSocket::Primary, ep));
            }
        }
        for (l, r) in hellos {
            self.send_hello(now, a, Some((l, r)));
        }
        for (l, r) in echoes {
            self.send_echo_probe(now, a, l, r);
        }
    }
}
