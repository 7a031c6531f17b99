//! The Security Policy Database as a data structure an embedder drives (RFC 4301 4.4.1;
//! RouterOS `/ip ipsec policy`, L1173-1225).
//!
//! * Policies are evaluated top to bottom; the first match wins (L1223). Templates and
//!   disabled or invalid (duplicate src/dst, L1217) entries never match packets.
//! * A transport-mode policy only matches packets whose addresses equal its
//!   sa-src/sa-dst-address (L1225).
//! * IKE itself bypasses the SPD: outbound UDP from port 500/4500 and inbound UDP to port
//!   500/4500 (L1043; 4500 for NAT-T).
//! * Dynamic policies (generate-policy, or installed by the IKE engine for a Child SA) sit in
//!   front of the static ones, as RouterOS shows them.

use std::net::IpAddr;

use crate::config::{IpPrefix, Policy, PolicyAction, PolicyLevel};

/// The selector fields of one IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PacketSelector {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol.
    pub protocol: u8,
    /// Source port (0 if none).
    pub src_port: u16,
    /// Destination port (0 if none).
    pub dst_port: u16,
}

impl PacketSelector {
    /// Read the selector of an IPv4 or IPv6 packet (no extension-header walk for IPv6).
    pub fn from_packet(p: &[u8]) -> Option<PacketSelector> {
        let v = p.first()? >> 4;
        let (src, dst, proto, l4) = match v {
            4 => {
                let ihl = usize::from(p[0] & 0x0f) * 4;
                if p.len() < 20 || ihl < 20 || p.len() < ihl {
                    return None;
                }
                let s: [u8; 4] = p[12..16].try_into().ok()?;
                let d: [u8; 4] = p[16..20].try_into().ok()?;
                // Only the first fragment carries ports.
                let frag_off = u16::from_be_bytes([p[6], p[7]]) & 0x1fff;
                (
                    IpAddr::from(s),
                    IpAddr::from(d),
                    p[9],
                    if frag_off == 0 { &p[ihl..] } else { &[][..] },
                )
            }
            6 => {
                if p.len() < 40 {
                    return None;
                }
                let s: [u8; 16] = p[8..24].try_into().ok()?;
                let d: [u8; 16] = p[24..40].try_into().ok()?;
                (IpAddr::from(s), IpAddr::from(d), p[6], &p[40..])
            }
            _ => return None,
        };
        let (sp, dp) = match proto {
            6 | 17 | 132 if l4.len() >= 4 => (
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]]),
            ),
            _ => (0, 0),
        };
        Some(PacketSelector {
            src,
            dst,
            protocol: proto,
            src_port: sp,
            dst_port: dp,
        })
    }

    /// Whether this is IKE traffic that bypasses the SPD (L1043). `outbound` selects the
    /// direction (source port for outbound, destination port for inbound).
    pub fn is_ike_bypass(&self, outbound: bool) -> bool {
        let port = if outbound {
            self.src_port
        } else {
            self.dst_port
        };
        self.protocol == 17 && (port == 500 || port == 4500)
    }
}

/// What the SPD says about an outbound packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No policy matched, or action none, or IKE bypass: send in clear.
    Bypass,
    /// Action discard.
    Discard,
    /// Action encrypt under policy `index` with this level.
    Protect {
        /// Policy index in [`Spd::policies`].
        index: usize,
        /// Level.
        level: PolicyLevel,
    },
}

/// An entry of the SPD.
#[derive(Clone, Debug, PartialEq)]
pub struct SpdEntry {
    /// The policy.
    pub policy: Policy,
    /// Created dynamically (generate-policy / by the IKE engine).
    pub dynamic: bool,
    /// Marked invalid (duplicate src/dst).
    pub invalid: bool,
}

/// The SPD.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spd {
    entries: Vec<SpdEntry>,
}

fn port_ok(want: Option<u16>, got: u16) -> bool {
    want.is_none_or(|w| w == got)
}

impl Spd {
    /// An SPD from static policies (in order); duplicates are marked invalid.
    pub fn new(policies: &[Policy]) -> Spd {
        let mut s = Spd::default();
        for p in policies {
            s.push_static(p.clone());
        }
        s
    }

    /// Entries in evaluation order.
    pub fn policies(&self) -> &[SpdEntry] {
        &self.entries
    }

    fn duplicate(&self, p: &Policy) -> bool {
        !p.template
            && self.entries.iter().any(|e| {
                !e.policy.disabled
                    && !e.policy.template
                    && !e.invalid
                    && e.policy.src_address == p.src_address
                    && e.policy.dst_address == p.dst_address
            })
    }

    /// Append a static policy.
    pub fn push_static(&mut self, p: Policy) -> usize {
        let invalid = self.duplicate(&p);
        self.entries.push(SpdEntry {
            policy: p,
            dynamic: false,
            invalid,
        });
        self.entries.len() - 1
    }

    /// Insert a dynamic policy in front of the static ones; returns its index.
    pub fn insert_dynamic(&mut self, p: Policy) -> usize {
        let at = self.entries.iter().take_while(|e| e.dynamic).count();
        let invalid = self.duplicate(&p);
        self.entries.insert(
            at,
            SpdEntry {
                policy: p,
                dynamic: true,
                invalid,
            },
        );
        at
    }

    /// Remove dynamic policies matching `pred`.
    pub fn remove_dynamic(&mut self, mut pred: impl FnMut(&Policy) -> bool) {
        self.entries.retain(|e| !(e.dynamic && pred(&e.policy)));
    }

    /// Whether `p` matches the packet selector (L1223, L1225).
    pub fn matches(p: &Policy, s: &PacketSelector) -> bool {
        if !(p.src_address.contains(s.src)
            && p.dst_address.contains(s.dst)
            && (p.protocol == 0 || p.protocol == s.protocol)
            && port_ok(p.src_port, s.src_port)
            && port_ok(p.dst_port, s.dst_port))
        {
            return false;
        }
        if p.action == PolicyAction::Encrypt && !p.tunnel {
            // Transport mode: the packet's own addresses are the SA's.
            if let (Some(a), Some(b)) = (p.sa_src_address, p.sa_dst_address) {
                return a == s.src && b == s.dst;
            }
        }
        true
    }

    /// First matching policy for an outbound packet (L1223).
    pub fn lookup(&self, s: &PacketSelector) -> Decision {
        if s.is_ike_bypass(true) {
            return Decision::Bypass;
        }
        for (i, e) in self.entries.iter().enumerate() {
            if e.policy.template || e.policy.disabled || e.invalid {
                continue;
            }
            if Self::matches(&e.policy, s) {
                return match e.policy.action {
                    PolicyAction::None => Decision::Bypass,
                    PolicyAction::Discard => Decision::Discard,
                    PolicyAction::Encrypt => Decision::Protect {
                        index: i,
                        level: e.policy.level,
                    },
                };
            }
        }
        Decision::Bypass
    }

    /// For an inbound packet that arrived in clear: `true` when a policy demands protection
    /// (level require/unique), so it must be dropped (RFC 4301 5.2).
    pub fn inbound_clear_allowed(&self, s: &PacketSelector) -> bool {
        if s.is_ike_bypass(false) {
            return true;
        }
        let rev = PacketSelector {
            src: s.dst,
            dst: s.src,
            protocol: s.protocol,
            src_port: s.dst_port,
            dst_port: s.src_port,
        };
        match self.lookup(&rev) {
            Decision::Bypass => true,
            Decision::Discard => false,
            Decision::Protect { level, .. } => level == PolicyLevel::Use,
        }
    }
}

/// Whether `prefix` lies inside the selector range `start..=end`.
pub fn prefix_in_range(prefix: &IpPrefix, start: IpAddr, end: IpAddr) -> bool {
    let f = prefix.first();
    let l = prefix.last();
    f.is_ipv4() == start.is_ipv4() && f >= start && l <= end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip4(src: [u8; 4], dst: [u8; 4], proto: u8, sp: u16, dp: u16) -> Vec<u8> {
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[9] = proto;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&dst);
        p[20..22].copy_from_slice(&sp.to_be_bytes());
        p[22..24].copy_from_slice(&dp.to_be_bytes());
        p
    }

    fn pol(src: &str, dst: &str, action: PolicyAction) -> Policy {
        Policy {
            src_address: src.parse().unwrap(),
            dst_address: dst.parse().unwrap(),
            action,
            tunnel: true,
            ..Policy::default()
        }
    }

    #[test]
    fn first_match_wins_actions_and_levels() {
        let mut spd = Spd::new(&[
            Policy::default_template(),
            pol("10.1.0.0/16", "10.2.0.0/16", PolicyAction::Encrypt),
            pol("10.1.0.0/16", "0.0.0.0/0", PolicyAction::Discard),
            pol("0.0.0.0/0", "0.0.0.0/0", PolicyAction::None),
        ]);
        let s =
            |d: [u8; 4]| PacketSelector::from_packet(&ip4([10, 1, 0, 5], d, 6, 1000, 80)).unwrap();
        assert_eq!(
            spd.lookup(&s([10, 2, 3, 4])),
            Decision::Protect {
                index: 1,
                level: PolicyLevel::Require
            }
        );
        assert_eq!(spd.lookup(&s([10, 3, 3, 4])), Decision::Discard);
        let other =
            PacketSelector::from_packet(&ip4([10, 9, 0, 5], [1, 1, 1, 1], 1, 0, 0)).unwrap();
        assert_eq!(spd.lookup(&other), Decision::Bypass);
        // IKE bypasses the SPD (L1043).
        let ike =
            PacketSelector::from_packet(&ip4([10, 1, 0, 5], [10, 2, 0, 1], 17, 500, 500)).unwrap();
        assert_eq!(spd.lookup(&ike), Decision::Bypass);
        // Dynamic policies go first; level use lets clear packets in.
        let mut dynp = pol("10.1.0.5/32", "10.3.0.0/16", PolicyAction::Encrypt);
        dynp.level = PolicyLevel::Use;
        assert_eq!(spd.insert_dynamic(dynp), 0);
        assert_eq!(
            spd.lookup(&s([10, 3, 3, 4])),
            Decision::Protect {
                index: 0,
                level: PolicyLevel::Use
            }
        );
        let back =
            PacketSelector::from_packet(&ip4([10, 3, 3, 4], [10, 1, 0, 5], 6, 80, 1000)).unwrap();
        assert!(spd.inbound_clear_allowed(&back));
        let back2 =
            PacketSelector::from_packet(&ip4([10, 2, 3, 4], [10, 1, 0, 5], 6, 80, 1000)).unwrap();
        assert!(!spd.inbound_clear_allowed(&back2));
        spd.remove_dynamic(|_| true);
        assert_eq!(spd.lookup(&s([10, 3, 3, 4])), Decision::Discard);
    }

    #[test]
    fn duplicate_is_invalid_and_transport_needs_sa_addresses() {
        let spd = Spd::new(&[
            pol("10.1.0.0/16", "10.2.0.0/16", PolicyAction::Encrypt),
            pol("10.1.0.0/16", "10.2.0.0/16", PolicyAction::Discard),
        ]);
        assert!(spd.policies()[1].invalid);
        let mut t = pol("0.0.0.0/0", "0.0.0.0/0", PolicyAction::Encrypt);
        t.tunnel = false;
        t.sa_src_address = Some("192.0.2.1".parse().unwrap());
        t.sa_dst_address = Some("192.0.2.2".parse().unwrap());
        let spd = Spd::new(&[t]);
        let own = PacketSelector::from_packet(&ip4([192, 0, 2, 1], [192, 0, 2, 2], 17, 1701, 1701))
            .unwrap();
        let other =
            PacketSelector::from_packet(&ip4([192, 0, 2, 1], [192, 0, 2, 3], 17, 1701, 1701))
                .unwrap();
        assert!(matches!(spd.lookup(&own), Decision::Protect { .. }));
        assert_eq!(spd.lookup(&other), Decision::Bypass);
    }
}
