//! VL2 Ethernet: FRAME / EXT_FRAME / MULTICAST_FRAME, COM exchange, broadcast LIKE and GATHER.

use std::collections::BTreeSet;

use super::*;
use crate::address::NetworkId;
use crate::vl2::{derive, CertificateOfMembership, NetworkStatus, NetworkType};
use crate::wire::verbs::{
    ExtFrame, Frame, MulticastFrame, MulticastGather, MulticastGroupRef, MulticastLike,
    NetworkCredentials, OkMulticastGather,
};

/// The Ethernet broadcast address.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// Our COM is pushed again to a peer we send frames to at most this often (or at once when our
/// COM changed).
pub const COM_PUSH_INTERVAL: Duration = Duration::from_secs(10);
/// While a broadcast reaches fewer members than the network's multicast limit, the broadcast
/// group is gathered again from the root at most this often (members that joined after our
/// last GATHER, or whose LIKE reached the root late, are found this way instead of at the next
/// config refresh).
pub const GATHER_RETRY: Duration = Duration::from_secs(2);
/// Most (network, group, member) LIKE records held, all networks together.
pub const MAX_LIKES: usize = 4096;
/// Most peer COMs held per network.
pub const MAX_PEER_COMS: usize = 1024;

impl Node {
    fn broadcast_group(nwid: NetworkId) -> MulticastGroupRef {
        MulticastGroupRef {
            network_id: nwid,
            mac: BROADCAST_MAC,
            adi: 0,
        }
    }

    /// The group an ARP request for `ip` goes to (ZeroTierOne's address-resolution group: the
    /// broadcast MAC with the IPv4 address as ADI), so that ARP reaches only the member that
    /// holds the address instead of every member.
    pub fn arp_group(nwid: NetworkId, ip: std::net::Ipv4Addr) -> MulticastGroupRef {
        MulticastGroupRef {
            network_id: nwid,
            mac: BROADCAST_MAC,
            adi: u32::from(ip),
        }
    }

    /// Members known to like `group` (from their MULTICAST_LIKE, or a root's OK(GATHER)).
    pub fn group_members(&self, group: &MulticastGroupRef) -> Vec<Address> {
        self.likes
            .get(&(group.network_id, group.mac, group.adi))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    fn add_like(&mut self, nwid: NetworkId, mac: [u8; 6], adi: u32, who: Address) {
        if who == self.identity.address() {
            return;
        }
        let total: usize = self.likes.values().map(BTreeSet::len).sum();
        let set = self.likes.entry((nwid, mac, adi)).or_default();
        if set.contains(&who) || total >= MAX_LIKES {
            return;
        }
        set.insert(who);
    }

    /// After a config arrived: like the broadcast group at the upstream root (and the
    /// controller), and gather the group's members from the root.
    pub(super) fn announce(&mut self, now: Instant, nwid: NetworkId) {
        let g = Self::broadcast_group(nwid);
        let mut groups = vec![g];
        // The ARP groups of our managed IPv4 addresses: where members' ARP requests for them go.
        if let Some(c) = self.membership(nwid).and_then(|m| m.config()) {
            for p in &c.static_ips {
                if let std::net::IpAddr::V4(ip) = p.addr {
                    groups.push(Self::arp_group(nwid, ip));
                }
            }
        }
        let mut like = Vec::new();
        MulticastLike { groups }.emit(&mut like);
        let gather = self.gather_request(now, g);
        let mut to: Vec<Address> = self.upstream(now).into_iter().collect();
        if !to.contains(&nwid.controller()) {
            to.push(nwid.controller());
        }
        for a in to {
            let _ = self.send_inner(now, a, Verb::MulticastLike, &like, false);
            let _ = self.send_inner(now, a, Verb::MulticastGather, &gather, false);
        }
    }

    /// A MULTICAST_GATHER for group `g` (limit: the network's multicast limit), noting when
    /// it was asked.
    fn gather_request(&mut self, now: Instant, g: MulticastGroupRef) -> Vec<u8> {
        let nwid = g.network_id;
        let limit = self
            .membership(nwid)
            .and_then(|m| m.config())
            .map_or(32, |c| c.multicast_limit as u32);
        let mut gather = Vec::new();
        MulticastGather {
            group: g,
            flags: 0,
            limit,
            com: None,
            trailing: Vec::new(),
        }
        .emit(&mut gather);
        if let Some(j) = self.networks.get_mut(&nwid) {
            j.gathered = Some(now);
        }
        gather
    }

    /// A broadcast found fewer members of `g` than the limit: gather again from the upstream
    /// root, at most every [`GATHER_RETRY`] per network.
    fn regather(&mut self, now: Instant, g: MulticastGroupRef) {
        let nwid = g.network_id;
        let due = self.networks.get(&nwid).is_some_and(|j| {
            j.gathered
                .is_none_or(|t| now.saturating_duration_since(t) >= GATHER_RETRY)
        });
        let Some(root) = self.upstream(now) else {
            return;
        };
        if due {
            let gather = self.gather_request(now, g);
            let _ = self.send_inner(now, root, Verb::MulticastGather, &gather, false);
        }
    }

    /// Send an Ethernet frame on joined network `nwid` (status OK). Unicast `dst_mac` goes to
    /// the member it derives from as FRAME (source MAC ours) or EXT_FRAME (another source
    /// MAC); broadcast goes as MULTICAST_FRAME to the members known to like the broadcast
    /// group (an IPv4 ARP request: to the group of the address it asks for, see
    /// [`Node::arp_group`]), at most the network's multicast limit, when the config enables
    /// broadcast; when
    /// fewer members than the limit are known, the group is gathered again from the root (at
    /// most every [`GATHER_RETRY`]) so a later broadcast reaches members found since. On a
    /// private network our COM is pushed (NETWORK_CREDENTIALS) first when the peer has not had
    /// it in [`COM_PUSH_INTERVAL`]. Returns the number of members the frame was sent to.
    pub fn send_frame(
        &mut self,
        now: Instant,
        nwid: NetworkId,
        ethertype: u16,
        src_mac: [u8; 6],
        dst_mac: [u8; 6],
        payload: &[u8],
    ) -> Result<usize, Error> {
        let me = self.identity.address();
        let Some(cfg) = self
            .networks
            .get(&nwid)
            .and_then(|j| j.membership.as_ref())
            .filter(|m| m.status() == NetworkStatus::Ok)
            .and_then(|m| m.config())
        else {
            return Err(Error::NotJoined(nwid));
        };
        let private = cfg.network_type == NetworkType::Private;
        let com = cfg.com.clone();
        let limit = cfg.multicast_limit as usize;
        let broadcast = cfg.broadcast_enabled();
        let own = derive::mac_for(me, nwid);
        if dst_mac == BROADCAST_MAC {
            if !broadcast {
                return Err(Error::BroadcastDisabled(nwid));
            }
            // An IPv4 ARP request goes to the target address's ARP group, like ZeroTierOne's.
            let group = match arp_request_target(ethertype, payload) {
                Some(ip) => Self::arp_group(nwid, ip),
                None => Self::broadcast_group(nwid),
            };
            let mut f = MulticastFrame {
                network_id: nwid,
                flags: 0x04,
                com: None,
                gather_limit: None,
                source_mac: Some(src_mac),
                dest_mac: BROADCAST_MAC,
                adi: group.adi,
                ethertype,
                payload: payload.to_vec(),
            };
            let mut out = Vec::new();
            f.emit(&mut out);
            f.payload.clear();
            let members: Vec<Address> =
                self.group_members(&group).into_iter().take(limit).collect();
            if members.len() < limit {
                self.regather(now, group);
            }
            for &m in &members {
                if private {
                    self.push_com(now, nwid, m, com.as_ref());
                }
                self.send_inner(now, m, Verb::MulticastFrame, &out, false)?;
            }
            return Ok(members.len());
        }
        let dest = derive::mac_to_address(dst_mac, nwid)
            .filter(|a| *a != me && !a.is_reserved())
            .ok_or(Error::UnknownMac(dst_mac))?;
        if private {
            self.push_com(now, nwid, dest, com.as_ref());
        }
        let mut out = Vec::new();
        if src_mac == own {
            Frame {
                network_id: nwid,
                ethertype,
                payload: payload.to_vec(),
            }
            .emit(&mut out);
            self.send_inner(now, dest, Verb::Frame, &out, false)?;
        } else {
            ExtFrame {
                network_id: nwid,
                flags: 0,
                com: None,
                to: dst_mac,
                from: src_mac,
                ethertype,
                payload: payload.to_vec(),
            }
            .emit(&mut out);
            self.send_inner(now, dest, Verb::ExtFrame, &out, false)?;
        }
        Ok(1)
    }

    fn push_com(
        &mut self,
        now: Instant,
        nwid: NetworkId,
        to: Address,
        com: Option<&CertificateOfMembership>,
    ) {
        let Some(com) = com else { return };
        let ts = com.timestamp().map_or(0, |t| t.0);
        let Some(j) = self.networks.get_mut(&nwid) else {
            return;
        };
        if j.pushed.get(&to).is_some_and(|&(t, at)| {
            t == ts && now.saturating_duration_since(at) < COM_PUSH_INTERVAL
        }) {
            return;
        }
        if j.pushed.len() >= MAX_PEER_COMS && !j.pushed.contains_key(&to) {
            j.pushed.clear();
        }
        j.pushed.insert(to, (ts, now));
        let mut out = Vec::new();
        com.emit(&mut out);
        // End of COMs, then empty capability, tag, revocation and COO lists.
        out.extend_from_slice(&[0; 9]);
        let _ = self.send_inner(now, to, Verb::NetworkCredentials, &out, false);
    }

    /// NETWORK_CREDENTIALS from `src`: keep each COM that the network's controller signed for
    /// `src`.
    pub(super) fn handle_credentials(&mut self, src: Address, nc: &NetworkCredentials) -> Input {
        let Some(src_id) = self.peers.get(&src).map(|p| p.identity.clone()) else {
            return self.drop(DropReason::BadCredential);
        };
        let mut ok = false;
        for c in &nc.coms {
            let com = CertificateOfMembership::from(c);
            let Some(nwid) = com.network_id() else {
                continue;
            };
            let Some(ctl) = self
                .peers
                .get(&nwid.controller())
                .map(|p| p.identity.clone())
            else {
                continue;
            };
            let Some(j) = self.networks.get_mut(&nwid) else {
                continue;
            };
            if com.verify(&ctl).is_err() || com.issued_to_identity(&src_id).is_err() {
                continue;
            }
            if j.peer_coms.len() >= MAX_PEER_COMS && !j.peer_coms.contains_key(&src) {
                continue;
            }
            // A newer COM replaces an older one, never the reverse.
            let newer = j
                .peer_coms
                .get(&src)
                .is_none_or(|old| old.timestamp() <= com.timestamp());
            if newer {
                j.peer_coms.insert(src, com);
            }
            ok = true;
        }
        if ok {
            Input::Delivered
        } else {
            self.drop(DropReason::BadCredential)
        }
    }

    /// Whether frames from `src` on `nwid` are accepted: joined, OK, and (private network) the
    /// peer's COM agrees with ours.
    fn frame_allowed(&self, nwid: NetworkId, src: Address) -> Result<(), DropReason> {
        let j = self.networks.get(&nwid).ok_or(DropReason::NotMember)?;
        let cfg = j
            .membership
            .as_ref()
            .filter(|m| m.status() == NetworkStatus::Ok)
            .and_then(|m| m.config())
            .ok_or(DropReason::NotMember)?;
        if cfg.network_type != NetworkType::Private {
            return Ok(());
        }
        let mine = cfg.com.as_ref().ok_or(DropReason::NoCredential)?;
        let theirs = j.peer_coms.get(&src).ok_or(DropReason::NoCredential)?;
        let id = self
            .peers
            .get(&src)
            .map(|p| &p.identity)
            .ok_or(DropReason::NoCredential)?;
        mine.agrees_with(theirs, id)
            .map_err(|_| DropReason::NoCredential)
    }

    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        nwid: NetworkId,
        src: Address,
        src_mac: [u8; 6],
        dst_mac: [u8; 6],
        ethertype: u16,
        payload: Vec<u8>,
    ) -> Input {
        if let Err(r) = self.frame_allowed(nwid, src) {
            return self.drop(r);
        }
        if derive::mac_to_address(src_mac, nwid) != Some(src) {
            return self.drop(DropReason::BadSourceMac);
        }
        let own = derive::mac_for(self.identity.address(), nwid);
        if dst_mac != own && dst_mac[0] & 1 == 0 {
            return self.drop(DropReason::NotForUs);
        }
        self.events.push_back(Event::Frame {
            network: nwid,
            peer: src,
            src_mac,
            dst_mac,
            ethertype,
            payload,
        });
        Input::Delivered
    }

    pub(super) fn handle_frame(&mut self, src: Address, f: Frame) -> Input {
        let nwid = f.network_id;
        let (s, d) = (
            derive::mac_for(src, nwid),
            derive::mac_for(self.identity.address(), nwid),
        );
        self.deliver(nwid, src, s, d, f.ethertype, f.payload)
    }

    pub(super) fn handle_ext_frame(&mut self, src: Address, f: ExtFrame) -> Input {
        self.deliver(f.network_id, src, f.from, f.to, f.ethertype, f.payload)
    }

    pub(super) fn handle_multicast_frame(&mut self, src: Address, f: MulticastFrame) -> Input {
        let nwid = f.network_id;
        let s = f.source_mac.unwrap_or(derive::mac_for(src, nwid));
        self.deliver(nwid, src, s, f.dest_mac, f.ethertype, f.payload)
    }

    pub(super) fn handle_like(&mut self, src: Address, l: &MulticastLike) -> Input {
        for g in &l.groups {
            self.add_like(g.network_id, g.mac, g.adi, src);
        }
        Input::Delivered
    }

    /// MULTICAST_GATHER: answer with the members we know for the group (not the asker).
    pub(super) fn handle_gather(
        &mut self,
        src: Address,
        packet_id: u64,
        local: LocalSocket,
        from: SocketAddr,
        g: &MulticastGather,
    ) -> Input {
        let all: Vec<Address> = self
            .group_members(&g.group)
            .into_iter()
            .filter(|a| *a != src)
            .collect();
        let members: Vec<Address> = all.iter().copied().take(g.limit as usize).collect();
        let ok = OkMsg {
            in_re_verb: Verb::MulticastGather,
            in_re_verb_byte: Verb::MulticastGather.to_u8(),
            in_re_packet_id: packet_id,
            body: OkBody::MulticastGather(OkMulticastGather {
                group: g.group,
                results: crate::wire::verbs::GatherResults {
                    total: all.len() as u32,
                    members,
                },
            }),
        };
        let mut out = Vec::new();
        ok.emit(&mut out);
        self.send_reply_as(Verb::Ok, src, local, from, &out);
        Input::Delivered
    }

    /// OK(MULTICAST_GATHER): learn the members (only for networks we joined).
    pub(super) fn handle_gathered(&mut self, g: &OkMulticastGather) {
        if !self.networks.contains_key(&g.group.network_id) {
            return;
        }
        for &m in &g.results.members {
            self.add_like(g.group.network_id, g.group.mac, g.group.adi, m);
        }
    }
}

/// The target protocol address of an Ethernet/IPv4 ARP request (RFC 826: htype 1, ptype
/// 0x0800, hlen 6, plen 4, op 1), `None` for anything else.
fn arp_request_target(ethertype: u16, p: &[u8]) -> Option<std::net::Ipv4Addr> {
    if ethertype != 0x0806 || p.len() < 28 || p[..8] != [0, 1, 8, 0, 6, 4, 0, 1] {
        return None;
    }
    Some(std::net::Ipv4Addr::new(p[24], p[25], p[26], p[27]))
}
