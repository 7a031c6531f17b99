//! Cryptokey routing table (whitepaper section 2): IPv4 and IPv6 prefixes mapped to peers,
//! longest-prefix match. One hash map per prefix length in use, probed from the longest length
//! down, so a lookup costs at most 33 (IPv4) / 129 (IPv6) probes whatever the number of peers.

use crate::fasthash::FastMap as HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::ConfigError;
use crate::PeerId;

/// An IP prefix such as `10.0.0.0/24` or `fd00::/64`. Host bits are cleared on construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

impl IpPrefix {
    /// A prefix; `len` at most 32 (IPv4) / 128 (IPv6). Host bits are masked off.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, ConfigError> {
        check_len(addr, len, "allowed-address")?;
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(mask4(u32::from(a), len).into()),
            IpAddr::V6(a) => IpAddr::V6(mask6(u128::from(a), len).into()),
        };
        Ok(IpPrefix { addr, len })
    }
    /// Network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }
    /// Prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }
    /// `true` for a /0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => mask4(u32::from(a), self.len) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => mask6(u128::from(a), self.len) == u128::from(n),
            _ => false,
        }
    }
    /// Whether the two prefixes share any address.
    pub fn overlaps(&self, other: &IpPrefix) -> bool {
        if self.len <= other.len {
            self.contains(other.addr)
        } else {
            other.contains(self.addr)
        }
    }
}

fn mask4(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - u32::from(len.min(32))))
    }
}

fn mask6(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - u32::from(len.min(128))))
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for IpPrefix {
    type Err = ConfigError;
    /// `addr/len`, or a bare address meaning a host prefix.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let (addr, len) = parse_addr_len(s, "allowed-address")?;
        IpPrefix::new(addr, len)
    }
}

/// `addr/len` or a bare address (a host: /32, /128), with the length checked against the
/// family; `field` names the property in errors. Shared by [`IpPrefix`] and
/// [`crate::InterfaceAddress`].
pub(crate) fn parse_addr_len(s: &str, field: &'static str) -> Result<(IpAddr, u8), ConfigError> {
    let s = s.trim();
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| ConfigError::invalid(field, format!("bad address {a:?}")))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match l {
        Some(l) => l
            .parse::<u8>()
            .map_err(|_| ConfigError::invalid(field, format!("bad length {l:?}")))?,
        None => max,
    };
    check_len(addr, len, field)?;
    Ok((addr, len))
}

/// `Err` unless `len` fits `addr`'s family (32 / 128).
pub(crate) fn check_len(addr: IpAddr, len: u8, field: &'static str) -> Result<(), ConfigError> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(ConfigError::invalid(
            field,
            format!("prefix length {len} > {max}"),
        ));
    }
    Ok(())
}

/// The table.
#[derive(Clone, Debug, Default)]
pub struct AllowedIps {
    /// (prefix length, masked address -> peer), longest length first.
    v4: Vec<(u8, HashMap<u32, PeerId>)>,
    v6: Vec<(u8, HashMap<u128, PeerId>)>,
}

impl AllowedIps {
    /// Empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Insert (or re-point) a prefix.
    pub fn insert(&mut self, p: IpPrefix, peer: PeerId) {
        match p.addr {
            IpAddr::V4(a) => insert_len(&mut self.v4, p.len, u32::from(a), peer),
            IpAddr::V6(a) => insert_len(&mut self.v6, p.len, u128::from(a), peer),
        }
    }

    /// Remove every prefix of `peer`.
    pub fn remove_peer(&mut self, peer: PeerId) {
        for (_, m) in &mut self.v4 {
            m.retain(|_, p| *p != peer);
        }
        for (_, m) in &mut self.v6 {
            m.retain(|_, p| *p != peer);
        }
        self.v4.retain(|(_, m)| !m.is_empty());
        self.v6.retain(|(_, m)| !m.is_empty());
    }

    /// Longest-prefix match.
    pub fn lookup(&self, ip: IpAddr) -> Option<PeerId> {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4
                    .iter()
                    .find_map(|(len, m)| m.get(&mask4(a, *len)).copied())
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6
                    .iter()
                    .find_map(|(len, m)| m.get(&mask6(a, *len)).copied())
            }
        }
    }
}

fn single<K: std::hash::Hash + Eq>(key: K, peer: PeerId) -> HashMap<K, PeerId> {
    let mut m = HashMap::default();
    m.insert(key, peer);
    m
}

fn insert_len<K: std::hash::Hash + Eq>(
    v: &mut Vec<(u8, HashMap<K, PeerId>)>,
    len: u8,
    key: K,
    peer: PeerId,
) {
    match v.iter().position(|(l, _)| *l <= len) {
        Some(i) if v[i].0 == len => {
            v[i].1.insert(key, peer);
        }
        Some(i) => v.insert(i, (len, single(key, peer))),
        None => v.push((len, single(key, peer))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = AllowedIps::new();
        t.insert(p("0.0.0.0/0"), PeerId(0));
        t.insert(p("10.0.0.0/8"), PeerId(1));
        t.insert(p("10.1.0.0/16"), PeerId(2));
        t.insert(p("10.1.2.3/32"), PeerId(3));
        t.insert(p("fd00::/8"), PeerId(4));
        t.insert(p("fd00:1::/32"), PeerId(5));
        let l = |s: &str| t.lookup(s.parse().unwrap());
        assert_eq!(l("8.8.8.8"), Some(PeerId(0)));
        assert_eq!(l("10.9.9.9"), Some(PeerId(1)));
        assert_eq!(l("10.1.9.9"), Some(PeerId(2)));
        assert_eq!(l("10.1.2.3"), Some(PeerId(3)));
        assert_eq!(l("fd00:1::5"), Some(PeerId(5)));
        assert_eq!(l("fd01::5"), Some(PeerId(4)));
        assert_eq!(l("2001:db8::1"), None);
        t.remove_peer(PeerId(2));
        assert_eq!(t.lookup("10.1.9.9".parse().unwrap()), Some(PeerId(1)));
    }

    #[test]
    fn prefix_parse_masks_and_overlap() {
        assert_eq!(p("10.1.2.3/24").to_string(), "10.1.2.0/24");
        assert!(p("10.0.0.0/8").overlaps(&p("10.2.0.0/16")));
        assert!(!p("10.0.0.0/8").overlaps(&p("11.0.0.0/8")));
        assert!(!p("0.0.0.0/0").overlaps(&p("::/0")));
        assert!("10.0.0.0/33".parse::<IpPrefix>().is_err());
    }
}
