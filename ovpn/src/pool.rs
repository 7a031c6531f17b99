//! IPv4 address pool for server-assigned client addresses (RouterOS: the PPP profile's
//! `local-address` plus a `/ip pool`, e.g. `192.168.77.2-192.168.77.254`).
//!
//! [`crate::server::Server::set_pool`] hands each client an address when it asks for its
//! configuration (`PUSH_REQUEST`) and pushes `ifconfig <address> <netmask>`; the address
//! goes back to the pool when the session is removed. A user who reconnects gets the
//! address they had last time if it is still free (RouterOS and OpenVPN's `ifconfig-pool-
//! persist` behave alike).

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use crate::error::ConfigError;

/// A range of IPv4 addresses handed out one per client.
#[derive(Clone, Debug)]
pub struct Ipv4Pool {
    first: u32,
    last: u32,
    netmask: Ipv4Addr,
    used: BTreeSet<u32>,
    /// Last address each user had (for sticky re-assignment).
    last_of: HashMap<String, u32>,
    /// Where the next search for a free address starts (round robin).
    next: u32,
}

impl Ipv4Pool {
    /// Pool `first..=last`; `netmask` is pushed with each address (`topology subnet`).
    pub fn new(first: Ipv4Addr, last: Ipv4Addr, netmask: Ipv4Addr) -> Result<Self, ConfigError> {
        let (f, l) = (u32::from(first), u32::from(last));
        if f > l {
            return Err(ConfigError::Invalid {
                field: "pool",
                reason: format!("range {first}-{last} is empty"),
            });
        }
        Ok(Ipv4Pool {
            first: f,
            last: l,
            netmask,
            used: BTreeSet::new(),
            last_of: HashMap::new(),
            next: f,
        })
    }

    /// Parse a RouterOS `/ip pool` range `A-B` (or a single address).
    pub fn from_range(range: &str, netmask: Ipv4Addr) -> Result<Self, ConfigError> {
        let bad = |reason: &str| ConfigError::Invalid {
            field: "ranges",
            reason: format!("{range}: {reason}"),
        };
        let (a, b) = range.split_once('-').unwrap_or((range, range));
        let a: Ipv4Addr = a.trim().parse().map_err(|_| bad("bad first address"))?;
        let b: Ipv4Addr = b.trim().parse().map_err(|_| bad("bad last address"))?;
        Ipv4Pool::new(a, b, netmask)
    }

    /// Netmask pushed with the addresses.
    pub fn netmask(&self) -> Ipv4Addr {
        self.netmask
    }

    /// Addresses in use.
    pub fn in_use(&self) -> usize {
        self.used.len()
    }

    /// Take a free address for `user` (their previous one when free); `None` = exhausted.
    pub fn allocate(&mut self, user: Option<&str>) -> Option<Ipv4Addr> {
        if let Some(a) = user.and_then(|u| self.last_of.get(u)).copied() {
            if self.used.insert(a) {
                return Some(Ipv4Addr::from(a));
            }
        }
        let size = u64::from(self.last - self.first) + 1;
        let mut a = self.next;
        for _ in 0..size {
            let cand = a;
            a = if a >= self.last { self.first } else { a + 1 };
            // A user's remembered address stays theirs while others find free ones.
            let reserved = self.last_of.values().any(|v| *v == cand)
                && user.is_none_or(|u| self.last_of.get(u) != Some(&cand));
            if !self.used.contains(&cand) && !reserved {
                self.used.insert(cand);
                self.next = a;
                if let Some(u) = user {
                    self.last_of.insert(u.to_string(), cand);
                }
                return Some(Ipv4Addr::from(cand));
            }
        }
        // Only remembered addresses are left: hand out any free one.
        let cand = (self.first..=self.last).find(|c| !self.used.contains(c))?;
        self.used.insert(cand);
        self.last_of.retain(|_, v| *v != cand);
        if let Some(u) = user {
            self.last_of.insert(u.to_string(), cand);
        }
        Some(Ipv4Addr::from(cand))
    }

    /// Return an address to the pool.
    pub fn release(&mut self, addr: Ipv4Addr) {
        self.used.remove(&u32::from(addr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_releases_and_remembers_users() {
        let mask = Ipv4Addr::new(255, 255, 255, 0);
        let mut p = Ipv4Pool::from_range("192.168.77.2-192.168.77.4", mask).unwrap();
        let a = p.allocate(Some("alice")).unwrap();
        let b = p.allocate(Some("bob")).unwrap();
        let c = p.allocate(None).unwrap();
        assert_eq!(
            [a, b, c].map(|x| x.octets()[3]),
            [2, 3, 4],
            "in order from the first address"
        );
        assert_eq!(p.allocate(Some("carol")), None, "exhausted");
        assert_eq!(p.in_use(), 3);
        p.release(a);
        p.release(c);
        // Bob's old address is not taken by a newcomer while other addresses are free...
        p.release(b);
        let d = p.allocate(Some("dave")).unwrap();
        assert_ne!(d, a);
        assert_ne!(d, b);
        // ...and alice gets hers back.
        assert_eq!(p.allocate(Some("alice")), Some(a));
        assert_eq!(p.allocate(Some("bob")), Some(b));
        assert!(Ipv4Pool::from_range("10.0.0.9-10.0.0.1", mask).is_err());
        assert!(Ipv4Pool::from_range("10.0.0.x", mask).is_err());
    }
}
