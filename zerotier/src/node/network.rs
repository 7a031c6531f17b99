//! VL2 wired into the node: joining networks as a member, hosting a controller.

use super::*;
use crate::address::NetworkId;
use crate::vl2::{derive, ConfigAnswer, Controller, Membership};
use crate::wire::verbs::{ErrorCode, ErrorMsg, NetworkConfigChunk, NetworkConfigRequest};

/// While the controller's identity is unknown, a joined network retries its WHOIS this often.
pub const JOIN_RETRY: Duration = Duration::from_secs(1);

/// One joined network: the membership exists once the controller's identity is known.
#[derive(Default)]
pub(super) struct Joined {
    pub(super) membership: Option<Membership>,
    /// COMs other members pushed to us (verified), by member.
    pub(super) peer_coms: HashMap<Address, crate::vl2::CertificateOfMembership>,
    /// When we last pushed our COM to a member, and which (by timestamp).
    pub(super) pushed: HashMap<Address, (u64, Instant)>,
    /// When we last asked the root for the broadcast group's members (MULTICAST_GATHER).
    pub(super) gathered: Option<Instant>,
}

/// A hosted controller and its wall clock (ms since the Unix epoch at `at`).
pub(super) struct Hosted {
    pub(super) controller: Controller,
    pub(super) wall_ms: u64,
    pub(super) at: Instant,
}

impl Node {
    /// Join network `nwid` (member role): its controller (`nwid >> 24`) is looked up by WHOIS
    /// when unknown, then a NETWORK_CONFIG_REQUEST goes out at once and again every
    /// [`Membership::refresh`] (60 s). Answers show up as [`Event::NetworkStatus`] and
    /// [`Event::NetworkConfigured`]. Joining a network twice is a no-op.
    pub fn join(&mut self, now: Instant, nwid: NetworkId) -> Result<(), Error> {
        let ctl = nwid.controller();
        if ctl == self.identity.address() || ctl.is_reserved() {
            return Err(Error::BadDestination(ctl));
        }
        if self.networks.contains_key(&nwid) {
            return Ok(());
        }
        self.networks.insert(nwid, Joined::default());
        self.service_network(now, nwid);
        Ok(())
    }

    /// Leave `nwid`: the membership and its config are forgotten; `false` if not joined.
    pub fn leave(&mut self, nwid: NetworkId) -> bool {
        self.timers.cancel(TimerKey::Network(nwid));
        self.networks.remove(&nwid).is_some()
    }

    /// Networks joined, sorted.
    pub fn networks(&self) -> Vec<NetworkId> {
        let mut v: Vec<_> = self.networks.keys().copied().collect();
        v.sort();
        v
    }

    /// Our membership of `nwid` (status, config in force); `None` when not joined or while the
    /// controller's identity is still being looked up.
    pub fn membership(&self, nwid: NetworkId) -> Option<&Membership> {
        self.networks.get(&nwid)?.membership.as_ref()
    }

    /// Host `controller`: NETWORK_CONFIG_REQUESTs from authenticated peers for its networks are
    /// answered with signed config chunks (one OK each) or ERROR(OBJ_NOT_FOUND /
    /// NETWORK_ACCESS_DENIED). `wall_ms` is the wall clock (ms since the Unix epoch) at `now`;
    /// the node advances it with `now` to timestamp configs and COMs.
    pub fn host_controller(&mut self, now: Instant, wall_ms: u64, controller: Controller) {
        self.controller = Some(Hosted {
            controller,
            wall_ms,
            at: now,
        });
    }

    /// The hosted controller (to authorize members, change settings).
    pub fn controller_mut(&mut self) -> Option<&mut Controller> {
        self.controller.as_mut().map(|h| &mut h.controller)
    }

    /// The hosted controller.
    pub fn controller(&self) -> Option<&Controller> {
        self.controller.as_ref().map(|h| &h.controller)
    }

    pub(super) fn service_network(&mut self, now: Instant, nwid: NetworkId) {
        let ctl = nwid.controller();
        let me = self.identity.clone();
        let ctl_id = self.peers.get(&ctl).map(|p| p.identity.clone());
        let Some(j) = self.networks.get_mut(&nwid) else {
            return;
        };
        if j.membership.is_none() {
            match ctl_id {
                Some(id) => j.membership = Some(Membership::new(id, me, nwid, now)),
                None => {
                    if !self.whois.contains_key(&ctl) && self.upstream(now).is_some() {
                        self.send_whois(now, ctl);
                    }
                    self.timers.set(TimerKey::Network(nwid), now + JOIN_RETRY);
                    return;
                }
            }
        }
        let Some(m) = j.membership.as_mut() else {
            return;
        };
        m.handle_timeout(now);
        let req = m.poll_request();
        let next = m.poll_timeout();
        if let Some(req) = req {
            let mut out = Vec::new();
            req.emit(&mut out);
            let _ = self.send_inner(now, ctl, Verb::NetworkConfigRequest, &out, false);
        }
        if let Some(t) = next {
            self.timers.set(TimerKey::Network(nwid), t.max(now));
        }
    }

    /// A NETWORK_CONFIG_REQUEST from `src`: answered by the hosted controller.
    pub(super) fn handle_config_request(
        &mut self,
        now: Instant,
        src: Address,
        packet_id: u64,
        local: LocalSocket,
        from: SocketAddr,
        req: NetworkConfigRequest,
    ) -> Input {
        let Some(member) = self.peers.get(&src).map(|p| p.identity.clone()) else {
            return self.drop(DropReason::NoRoute);
        };
        let update_id = self.random_id();
        let Some(h) = self.controller.as_mut() else {
            return self.drop(DropReason::UnhandledVerb);
        };
        let now_ms = h.wall_ms + now.saturating_duration_since(h.at).as_millis() as u64;
        let nwid = req.network_id;
        let ans = h
            .controller
            .handle_config_request(now_ms, update_id, &member, nwid);
        let code = match ans {
            ConfigAnswer::Config { chunks, .. } => {
                for c in chunks {
                    let mut out = vec![Verb::NetworkConfigRequest.to_u8()];
                    out.extend_from_slice(&packet_id.to_be_bytes());
                    c.emit(&mut out);
                    self.send_reply_as(Verb::Ok, src, local, from, &out);
                }
                self.events.push_back(Event::ConfigIssued {
                    network: nwid,
                    member: src,
                });
                return Input::Delivered;
            }
            ConfigAnswer::NotFound => ErrorCode::ObjNotFound,
            ConfigAnswer::AccessDenied => ErrorCode::NetworkAccessDenied,
        };
        let e = ErrorMsg {
            in_re_verb: Verb::NetworkConfigRequest,
            in_re_verb_byte: Verb::NetworkConfigRequest.to_u8(),
            in_re_packet_id: packet_id,
            code,
            payload: nwid.0.to_be_bytes().to_vec(),
        };
        let mut out = Vec::new();
        e.emit(&mut out);
        self.send_reply_as(Verb::Error, src, local, from, &out);
        self.events.push_back(Event::ConfigRefused {
            network: nwid,
            member: src,
            code,
        });
        Input::Delivered
    }

    /// A config chunk (OK(NETWORK_CONFIG_REQUEST) or a pushed NETWORK_CONFIG) from `src`.
    pub(super) fn handle_config_chunk(
        &mut self,
        now: Instant,
        src: Address,
        chunk: &NetworkConfigChunk,
    ) -> Input {
        let nwid = chunk.network_id;
        if src != nwid.controller() {
            return self.drop(DropReason::BadNetworkConfig);
        }
        let Some(m) = self
            .networks
            .get_mut(&nwid)
            .and_then(|j| j.membership.as_mut())
        else {
            return self.drop(DropReason::BadNetworkConfig);
        };
        let before = m.status();
        match m.handle_config_chunk(chunk) {
            Ok(true) => {
                let status = m.status();
                if let Some(c) = m.config() {
                    let ev = Event::NetworkConfigured {
                        network: nwid,
                        mac: derive::mac_for(self.identity.address(), nwid),
                        mtu: c.mtu,
                        addresses: c.static_ips.clone(),
                        routes: c.routes.clone(),
                        revision: c.revision,
                    };
                    self.events.push_back(ev);
                }
                if status != before {
                    self.events.push_back(Event::NetworkStatus {
                        network: nwid,
                        status,
                    });
                }
                self.announce(now, nwid);
                Input::Delivered
            }
            Ok(false) => Input::Buffered,
            Err(_) => self.drop(DropReason::BadNetworkConfig),
        }
    }

    /// An ERROR from `src` answering our NETWORK_CONFIG_REQUEST.
    pub(super) fn handle_config_error(&mut self, src: Address, e: &ErrorMsg) -> Input {
        let Some(nwid) = e.network_id() else {
            return self.drop(DropReason::BadPayload);
        };
        if src != nwid.controller() {
            return self.drop(DropReason::BadNetworkConfig);
        }
        let Some(m) = self
            .networks
            .get_mut(&nwid)
            .and_then(|j| j.membership.as_mut())
        else {
            return self.drop(DropReason::BadNetworkConfig);
        };
        let before = m.status();
        m.handle_error(e.code);
        let status = m.status();
        if status != before {
            self.events.push_back(Event::NetworkStatus {
                network: nwid,
                status,
            });
        }
        Input::Delivered
    }
}
