//! The root role: relaying packets and fragments, RENDEZVOUS introductions.

use super::*;

impl Node {
    /// Root role: forward a packet or fragment not addressed to us.
    pub(super) fn relay(
        &mut self,
        now: Instant,
        data: &[u8],
        dest: Address,
        source: Option<Address>,
    ) -> Input {
        if !self.is_root {
            return self.drop(DropReason::NotForUs);
        }
        if wire::hops_of(data) >= RELAY_MAX_HOPS {
            return self.drop(DropReason::HopLimit);
        }
        let Some(path) = self
            .peers
            .get(&dest)
            .and_then(|p| p.best_path(now))
            .map(|p| (p.local, p.remote))
        else {
            return self.drop(DropReason::NoRoute);
        };
        let mut d = data.to_vec();
        wire::increment_hops(&mut d);
        self.push_tx(path.0, path.1, d, None);
        if let Some(p) = self.peers.get_mut(&dest) {
            if let Some(i) = p.best_path_index(now) {
                p.paths[i].last_out = Some(now);
            }
        }
        self.stats.relayed += 1;
        if let Some(src) = source {
            if self.should_unite(now, src, dest) {
                self.introduce(now, src, dest);
            }
        }
        Input::Relayed
    }

    pub(super) fn should_unite(&mut self, now: Instant, a: Address, b: Address) -> bool {
        let key = if a < b { (a, b) } else { (b, a) };
        if self
            .unite
            .get(&key)
            .is_some_and(|t| now.saturating_duration_since(*t) < MIN_UNITE_INTERVAL)
        {
            return false;
        }
        if self.unite.len() >= MAX_UNITE_ENTRIES {
            self.unite
                .retain(|_, t| now.saturating_duration_since(*t) < MIN_UNITE_INTERVAL);
            if self.unite.len() >= MAX_UNITE_ENTRIES {
                return false;
            }
        }
        self.unite.insert(key, now);
        true
    }

    /// Send RENDEZVOUS to both peers, each naming the other's best path of the same family.
    pub(super) fn introduce(&mut self, now: Instant, a: Address, b: Address) {
        let (Some(pa), Some(pb)) = (self.peers.get(&a), self.peers.get(&b)) else {
            return;
        };
        let (Some(path_a), Some(path_b)) = (pa.best_path(now), pb.best_path(now)) else {
            return;
        };
        if path_a.remote.is_ipv4() != path_b.remote.is_ipv4() {
            return;
        }
        let (ra, rb) = (path_a.remote, path_b.remote);
        let first_a = self.rng.next_u32() & 1 == 0;
        let send = |node: &mut Node, to: Address, other: Address, at: SocketAddr| {
            let mut p = Vec::with_capacity(32);
            Rendezvous {
                flags: 0,
                address: other,
                port: at.port(),
                ip: at.ip(),
                trailing: Vec::new(),
            }
            .emit(&mut p);
            node.send_packet(now, to, Verb::Rendezvous, &p, false);
        };
        if first_a {
            send(self, a, b, rb);
            send(self, b, a, ra);
        } else {
            send(self, b, a, ra);
            send(self, a, b, rb);
        }
        self.events.push_back(Event::Introduced { a, b });
    }
}
