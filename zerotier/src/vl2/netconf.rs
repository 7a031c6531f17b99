//! The typed network config a controller sends a member ([`NetworkConfig`]), to and from the
//! [`Dictionary`] that NETWORK_CONFIG carries and `networks.d/<nwid>.conf` stores.
//!
//! | key | field | form |
//! |---|---|---|
//! | `v` | [`version`](NetworkConfig::version) | hex (7 in ZeroTierOne 1.14) |
//! | `nwid` | [`network_id`](NetworkConfig::network_id) | hex |
//! | `ts` | [`timestamp`](NetworkConfig::timestamp) | hex, ms since the epoch (controller clock) |
//! | `ctmd` | [`credential_time_max_delta`](NetworkConfig::credential_time_max_delta) | hex, ms |
//! | `r` | [`revision`](NetworkConfig::revision) | hex |
//! | `id` | [`issued_to`](NetworkConfig::issued_to) | 10 hex digits |
//! | `tt`, `tl` | remote trace target / level | 10 / 16 hex digits |
//! | `f` | [`flags`](NetworkConfig::flags) | hex: 0x2 broadcast, 0x4 NDP emulation, 0x10 no compression |
//! | `ml` | [`multicast_limit`](NetworkConfig::multicast_limit) | hex |
//! | `t` | [`network_type`](NetworkConfig::network_type) | 0 private, 1 public |
//! | `n` | [`name`](NetworkConfig::name) | text |
//! | `mtu` | [`mtu`](NetworkConfig::mtu) | hex |
//! | `C` | [`com`](NetworkConfig::com) | binary [`CertificateOfMembership`] |
//! | `CAP`, `TAG`, `COO` | capabilities, tags, certificates of ownership | binary, kept verbatim |
//! | `S` | [`specialists`](NetworkConfig::specialists) | binary, 8 bytes each |
//! | `RT` | [`routes`](NetworkConfig::routes) | binary: target, via (InetAddress), flags u16, metric u16 |
//! | `I` | [`static_ips`](NetworkConfig::static_ips) | binary InetAddress list, port = prefix length |
//! | `R` | [`rules`](NetworkConfig::rules) | binary rules: type (0x80 NOT, 0x40 OR), length, data |
//! | `DNS` | [`dns`](NetworkConfig::dns) | binary: domain (128, NUL padded), 4 InetAddress |
//! | `ssov`, `ssoe` | SSO version / enabled | hex / `0`-`1` |
//!
//! Emission writes the keys in this order (ZeroTierOne's), then any unknown keys in the order
//! they were read, so a config parsed from ZeroTierOne re-emits byte for byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::com::CertificateOfMembership;
use super::dictionary::{parse_hex, DictError, Dictionary};
use crate::wire::InetAddr;
use crate::{Address, NetworkId};

/// Flag `f` bit: Ethernet broadcast (ff:ff:ff:ff:ff:ff) allowed (RouterOS controller `broadcast`).
pub const FLAG_ENABLE_BROADCAST: u64 = 0x2;
/// Flag `f` bit: IPv6 NDP emulation for 6plane/rfc4193 addresses.
pub const FLAG_ENABLE_IPV6_NDP_EMULATION: u64 = 0x4;
/// Flag `f` bit: do not LZ4-compress packets on this network.
pub const FLAG_DISABLE_COMPRESSION: u64 = 0x10;
/// The config dictionary version ZeroTierOne 1.14 writes (`v`).
pub const CONFIG_VERSION: u64 = 7;
/// Default MTU (`ZT_DEFAULT_MTU`, RouterOS controller `mtu` default 2800).
pub const DEFAULT_MTU: u64 = 2800;
/// Default multicast recipient limit (RouterOS controller `multicast-limit` default 32).
pub const DEFAULT_MULTICAST_LIMIT: u64 = 32;
/// Default credential time max delta (ms): credentials within 30 min of each other agree.
pub const DEFAULT_CREDENTIAL_TIME_MAX_DELTA: u64 = 1_800_000;

/// Private networks need the controller's authorization; public ones admit anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkType {
    /// Access control on (`t=0`, RouterOS `private=yes`, the default).
    Private,
    /// Anyone may join (`t=1`).
    Public,
    /// Another value, kept.
    Other(u64),
}

impl NetworkType {
    fn from_u64(v: u64) -> Self {
        match v {
            0 => NetworkType::Private,
            1 => NetworkType::Public,
            o => NetworkType::Other(o),
        }
    }
    fn to_u64(self) -> u64 {
        match self {
            NetworkType::Private => 0,
            NetworkType::Public => 1,
            NetworkType::Other(o) => o,
        }
    }
}

/// An IP address with a prefix length (InetAddress with the port field holding the bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    /// Address.
    pub addr: IpAddr,
    /// Prefix length.
    pub bits: u16,
}

impl IpPrefix {
    fn from_inet(a: &InetAddr, key: &'static str) -> Result<Self, DictError> {
        match a {
            InetAddr::Ip(s) => Ok(IpPrefix {
                addr: s.ip(),
                bits: s.port(),
            }),
            _ => Err(DictError::BadValue {
                key,
                why: "not an IP address",
            }),
        }
    }
    fn to_inet(self) -> InetAddr {
        InetAddr::Ip(SocketAddr::new(self.addr, self.bits))
    }
}

impl std::fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

/// A managed route (RouterOS controller `routes`, `Dst[@Gw]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Destination.
    pub target: IpPrefix,
    /// Gateway ([`InetAddr::Nil`] = on the network itself).
    pub via: InetAddr,
    /// Flags (0).
    pub flags: u16,
    /// Metric.
    pub metric: u16,
}

/// The non-rule part of a rule's type byte and its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// Action 0: drop.
    Drop,
    /// Action 1: accept.
    Accept,
    /// Action 5: stop evaluating this rule set (capabilities).
    Break,
    /// Actions 2 (TEE), 3 (WATCH), 4 (REDIRECT): send to / copy to a node.
    Forward {
        /// 2, 3 or 4.
        action: u8,
        /// Target node.
        address: Address,
        /// Flags.
        flags: u32,
        /// Bytes of the frame to copy (0 = all).
        length: u16,
    },
    /// Match 24/25: source/destination ZeroTier address.
    ZtAddress {
        /// 24 source, 25 destination.
        kind: u8,
        /// Address.
        address: Address,
    },
    /// Match 29/30: source/destination MAC.
    Mac {
        /// 29 source, 30 destination.
        kind: u8,
        /// MAC.
        mac: [u8; 6],
    },
    /// Match 31/32: IPv4 source/destination within a prefix.
    Ipv4 {
        /// 31 source, 32 destination.
        kind: u8,
        /// Address.
        ip: Ipv4Addr,
        /// Prefix length.
        mask: u8,
    },
    /// Match 33/34: IPv6 source/destination within a prefix.
    Ipv6 {
        /// 33 source, 34 destination.
        kind: u8,
        /// Address.
        ip: Ipv6Addr,
        /// Prefix length.
        mask: u8,
    },
    /// Match 36: IP protocol.
    IpProtocol(u8),
    /// Match 37: ethertype.
    Ethertype(u16),
    /// Any other type, kept verbatim.
    Other {
        /// Type (low 6 bits).
        kind: u8,
        /// Payload.
        data: Vec<u8>,
    },
}

/// One rule of the network's rule set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Invert the match (bit 0x80).
    pub not: bool,
    /// OR with the previous match instead of AND (bit 0x40).
    pub or: bool,
    /// What it is.
    pub kind: RuleKind,
}

impl Rule {
    /// The accept-everything rule set (RouterOS' controller sets no rules: this is the default).
    pub fn accept() -> Rule {
        Rule {
            not: false,
            or: false,
            kind: RuleKind::Accept,
        }
    }

    fn parse_list(b: &[u8]) -> Result<Vec<Rule>, DictError> {
        let bad = DictError::BadValue {
            key: "R",
            why: "truncated rule",
        };
        let mut out = Vec::new();
        let mut p = 0;
        while p < b.len() {
            let t = b[p];
            let l = usize::from(*b.get(p + 1).ok_or(bad.clone())?);
            let d = b.get(p + 2..p + 2 + l).ok_or(bad.clone())?;
            p += 2 + l;
            let kind_id = t & 0x3f;
            let addr = |d: &[u8]| Address::from_slice(d).unwrap_or_default();
            let kind = match (kind_id, l) {
                (0, 0) => RuleKind::Drop,
                (1, 0) => RuleKind::Accept,
                (5, 0) => RuleKind::Break,
                (2..=4, 11) => RuleKind::Forward {
                    action: kind_id,
                    address: addr(d),
                    flags: u32::from_be_bytes([d[5], d[6], d[7], d[8]]),
                    length: u16::from_be_bytes([d[9], d[10]]),
                },
                (24 | 25, 5) => RuleKind::ZtAddress {
                    kind: kind_id,
                    address: addr(d),
                },
                (29 | 30, 6) => RuleKind::Mac {
                    kind: kind_id,
                    mac: [d[0], d[1], d[2], d[3], d[4], d[5]],
                },
                (31 | 32, 5) => RuleKind::Ipv4 {
                    kind: kind_id,
                    ip: Ipv4Addr::new(d[0], d[1], d[2], d[3]),
                    mask: d[4],
                },
                (33 | 34, 17) => RuleKind::Ipv6 {
                    kind: kind_id,
                    ip: Ipv6Addr::from(crate::crypto::first_n::<16>(d)),
                    mask: d[16],
                },
                (36, 1) => RuleKind::IpProtocol(d[0]),
                (37, 2) => RuleKind::Ethertype(u16::from_be_bytes([d[0], d[1]])),
                _ => RuleKind::Other {
                    kind: kind_id,
                    data: d.to_vec(),
                },
            };
            out.push(Rule {
                not: t & 0x80 != 0,
                or: t & 0x40 != 0,
                kind,
            });
        }
        Ok(out)
    }

    fn emit(&self, out: &mut Vec<u8>) {
        let mut d = Vec::new();
        let kind = match &self.kind {
            RuleKind::Drop => 0,
            RuleKind::Accept => 1,
            RuleKind::Break => 5,
            RuleKind::Forward {
                action,
                address,
                flags,
                length,
            } => {
                d.extend_from_slice(&address.to_bytes());
                d.extend_from_slice(&flags.to_be_bytes());
                d.extend_from_slice(&length.to_be_bytes());
                *action
            }
            RuleKind::ZtAddress { kind, address } => {
                d.extend_from_slice(&address.to_bytes());
                *kind
            }
            RuleKind::Mac { kind, mac } => {
                d.extend_from_slice(mac);
                *kind
            }
            RuleKind::Ipv4 { kind, ip, mask } => {
                d.extend_from_slice(&ip.octets());
                d.push(*mask);
                *kind
            }
            RuleKind::Ipv6 { kind, ip, mask } => {
                d.extend_from_slice(&ip.octets());
                d.push(*mask);
                *kind
            }
            RuleKind::IpProtocol(p) => {
                d.push(*p);
                36
            }
            RuleKind::Ethertype(e) => {
                d.extend_from_slice(&e.to_be_bytes());
                37
            }
            RuleKind::Other { kind, data } => {
                d.extend_from_slice(data);
                *kind
            }
        };
        let d = &d[..d.len().min(255)];
        out.push((kind & 0x3f) | if self.not { 0x80 } else { 0 } | if self.or { 0x40 } else { 0 });
        out.push(d.len() as u8);
        out.extend_from_slice(d);
    }
}

/// DNS settings pushed by the controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dns {
    /// Search domain (empty when unset).
    pub domain: String,
    /// The four server slots ([`InetAddr::Nil`] when unused).
    pub servers: Vec<InetAddr>,
}

impl Default for Dns {
    /// No domain, four empty server slots (what ZeroTierOne sends when DNS is unset).
    fn default() -> Self {
        Dns {
            domain: String::new(),
            servers: vec![InetAddr::Nil; DNS_SERVERS],
        }
    }
}

const DNS_DOMAIN_LEN: usize = 128;
const DNS_SERVERS: usize = 4;

impl Dns {
    fn parse(b: &[u8]) -> Result<Dns, DictError> {
        let bad = |why| DictError::BadValue { key: "DNS", why };
        let dom = b.get(..DNS_DOMAIN_LEN).ok_or(bad("truncated domain"))?;
        let end = dom.iter().position(|&c| c == 0).unwrap_or(DNS_DOMAIN_LEN);
        let domain = std::str::from_utf8(&dom[..end])
            .map_err(|_| bad("domain not UTF-8"))?
            .to_owned();
        let mut p = DNS_DOMAIN_LEN;
        let mut servers = Vec::new();
        for _ in 0..DNS_SERVERS {
            let (a, n) = InetAddr::parse(&b[p..]).map_err(|_| bad("bad server address"))?;
            servers.push(a);
            p += n;
        }
        if p != b.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(Dns { domain, servers })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        let mut dom = [0u8; DNS_DOMAIN_LEN];
        let d = self.domain.as_bytes();
        let n = d.len().min(DNS_DOMAIN_LEN);
        dom[..n].copy_from_slice(&d[..n]);
        out.extend_from_slice(&dom);
        for i in 0..DNS_SERVERS {
            self.servers.get(i).unwrap_or(&InetAddr::Nil).emit(out);
        }
    }
}

/// A network config (what a member needs to join: its addresses, routes, rules and COM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// `v`: dictionary version ([`CONFIG_VERSION`]).
    pub version: u64,
    /// `nwid`.
    pub network_id: NetworkId,
    /// `ts`: issue time, ms (controller clock).
    pub timestamp: u64,
    /// `ctmd`: credentials agree when their timestamps differ by at most this (ms).
    pub credential_time_max_delta: u64,
    /// `r`: config revision.
    pub revision: u64,
    /// `id`: the member this config is for.
    pub issued_to: Address,
    /// `tt`: remote trace target (zero = none).
    pub remote_trace_target: Option<Address>,
    /// `tl`: remote trace level.
    pub remote_trace_level: Option<u64>,
    /// `f`: [`FLAG_ENABLE_BROADCAST`] and friends.
    pub flags: u64,
    /// `ml`: multicast recipient limit (RouterOS `multicast-limit`, default 32).
    pub multicast_limit: u64,
    /// `t`: private or public (RouterOS `private`, default yes).
    pub network_type: NetworkType,
    /// `n`: network name (RouterOS controller `name`).
    pub name: String,
    /// `mtu`: RouterOS `mtu`, default 2800.
    pub mtu: u64,
    /// `C`: the member's certificate of membership.
    pub com: Option<CertificateOfMembership>,
    /// `CAP`: capabilities, verbatim.
    pub capabilities: Vec<u8>,
    /// `TAG`: tags, verbatim.
    pub tags: Vec<u8>,
    /// `COO`: certificates of ownership (of the member's managed IPs), verbatim.
    pub certificates_of_ownership: Vec<u8>,
    /// `S`: specialists (address | role flags), 64-bit each.
    pub specialists: Vec<u64>,
    /// `RT`: managed routes.
    pub routes: Vec<Route>,
    /// `I`: the member's managed addresses (RouterOS `ip-range` assignment).
    pub static_ips: Vec<IpPrefix>,
    /// `R`: rules.
    pub rules: Vec<Rule>,
    /// `DNS`.
    pub dns: Option<Dns>,
    /// `ssov`: SSO version.
    pub sso_version: Option<u64>,
    /// `ssoe`: SSO enabled.
    pub sso_enabled: Option<bool>,
    /// Keys this type does not know, in order (emitted after the known ones).
    pub extra: Vec<(Vec<u8>, Vec<u8>)>,
}

const KNOWN: &[&str] = &[
    "v", "nwid", "ts", "ctmd", "r", "id", "tt", "tl", "f", "ml", "t", "n", "mtu", "C", "CAP",
    "TAG", "COO", "S", "RT", "I", "R", "DNS", "ssov", "ssoe",
];

fn addr_of(d: &Dictionary, key: &'static str) -> Result<Option<Address>, DictError> {
    match d.get(key) {
        None => Ok(None),
        Some(v) if v.len() == 10 => {
            parse_hex(v)
                .map(|x| Some(Address::new(x)))
                .ok_or(DictError::BadValue {
                    key,
                    why: "not an address",
                })
        }
        Some(_) => Err(DictError::BadValue {
            key,
            why: "not 10 hex digits",
        }),
    }
}

fn inet_list(b: &[u8], key: &'static str) -> Result<Vec<InetAddr>, DictError> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < b.len() {
        let (a, n) = InetAddr::parse(&b[p..]).map_err(|_| DictError::BadValue {
            key,
            why: "bad address",
        })?;
        out.push(a);
        p += n;
    }
    Ok(out)
}

impl NetworkConfig {
    /// A config with ZeroTierOne's defaults (RouterOS controller defaults: private, broadcast
    /// on, mtu 2800, multicast limit 32, accept-all rules) and nothing assigned.
    pub fn new(network_id: NetworkId, issued_to: Address, timestamp: u64) -> Self {
        NetworkConfig {
            version: CONFIG_VERSION,
            network_id,
            timestamp,
            credential_time_max_delta: DEFAULT_CREDENTIAL_TIME_MAX_DELTA,
            revision: 1,
            issued_to,
            remote_trace_target: Some(Address::new(0)),
            remote_trace_level: Some(0),
            flags: FLAG_ENABLE_BROADCAST,
            multicast_limit: DEFAULT_MULTICAST_LIMIT,
            network_type: NetworkType::Private,
            name: String::new(),
            mtu: DEFAULT_MTU,
            com: None,
            capabilities: Vec::new(),
            tags: Vec::new(),
            certificates_of_ownership: Vec::new(),
            specialists: Vec::new(),
            routes: Vec::new(),
            static_ips: Vec::new(),
            rules: vec![Rule::accept()],
            dns: Some(Dns::default()),
            sso_version: Some(0),
            sso_enabled: Some(false),
            extra: Vec::new(),
        }
    }

    /// Whether Ethernet broadcast is enabled.
    pub fn broadcast_enabled(&self) -> bool {
        self.flags & FLAG_ENABLE_BROADCAST != 0
    }

    /// Parse a dictionary's bytes (bounded by the default [`DictLimits`](super::DictLimits)).
    pub fn parse(b: &[u8]) -> Result<Self, DictError> {
        Self::from_dictionary(&Dictionary::parse(b)?)
    }

    /// From a parsed dictionary.
    pub fn from_dictionary(d: &Dictionary) -> Result<Self, DictError> {
        let req = |k: &'static str| -> Result<u64, DictError> {
            d.get_u64(k)?.ok_or(DictError::Missing(k))
        };
        let opt = |k: &'static str, dfl: u64| -> Result<u64, DictError> {
            Ok(d.get_u64(k)?.unwrap_or(dfl))
        };
        let network_id = NetworkId(req("nwid")?);
        if network_id.0 == 0 {
            return Err(DictError::BadValue {
                key: "nwid",
                why: "zero",
            });
        }
        let com = d
            .get("C")
            .map(|c| {
                CertificateOfMembership::parse(c).map_err(|_| DictError::BadValue {
                    key: "C",
                    why: "bad certificate of membership",
                })
            })
            .transpose()?;
        let specialists = match d.get("S") {
            None => Vec::new(),
            Some(s) if s.len().is_multiple_of(8) => s
                .chunks_exact(8)
                .map(|c| u64::from_be_bytes(crate::crypto::first_n::<8>(c)))
                .collect(),
            Some(_) => {
                return Err(DictError::BadValue {
                    key: "S",
                    why: "not a multiple of 8 bytes",
                })
            }
        };
        let mut routes = Vec::new();
        if let Some(rt) = d.get("RT") {
            let mut p = 0;
            let bad = DictError::BadValue {
                key: "RT",
                why: "truncated route",
            };
            while p < rt.len() {
                let (t, n) = InetAddr::parse(&rt[p..]).map_err(|_| bad.clone())?;
                p += n;
                let (via, n) = InetAddr::parse(&rt[p..]).map_err(|_| bad.clone())?;
                p += n;
                let fm = rt.get(p..p + 4).ok_or(bad.clone())?;
                p += 4;
                routes.push(Route {
                    target: IpPrefix::from_inet(&t, "RT")?,
                    via,
                    flags: u16::from_be_bytes([fm[0], fm[1]]),
                    metric: u16::from_be_bytes([fm[2], fm[3]]),
                });
            }
        }
        let static_ips = match d.get("I") {
            None => Vec::new(),
            Some(b) => inet_list(b, "I")?
                .iter()
                .map(|a| IpPrefix::from_inet(a, "I"))
                .collect::<Result<_, _>>()?,
        };
        let rules = d
            .get("R")
            .map(Rule::parse_list)
            .transpose()?
            .unwrap_or_default();
        let dns = d.get("DNS").map(Dns::parse).transpose()?;
        let extra = d
            .entries()
            .filter(|(k, _)| !KNOWN.iter().any(|n| n.as_bytes() == *k))
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        Ok(NetworkConfig {
            version: opt("v", 0)?,
            network_id,
            timestamp: req("ts")?,
            credential_time_max_delta: opt("ctmd", 0)?,
            revision: opt("r", 0)?,
            issued_to: addr_of(d, "id")?.ok_or(DictError::Missing("id"))?,
            remote_trace_target: addr_of(d, "tt")?,
            remote_trace_level: d.get_u64("tl")?,
            flags: opt("f", 0)?,
            multicast_limit: opt("ml", 0)?,
            network_type: NetworkType::from_u64(opt("t", 0)?),
            name: d.get_str("n")?.unwrap_or_default().to_owned(),
            mtu: opt("mtu", DEFAULT_MTU)?,
            com,
            capabilities: d.get("CAP").unwrap_or_default().to_vec(),
            tags: d.get("TAG").unwrap_or_default().to_vec(),
            certificates_of_ownership: d.get("COO").unwrap_or_default().to_vec(),
            specialists,
            routes,
            static_ips,
            rules,
            dns,
            sso_version: d.get_u64("ssov")?,
            sso_enabled: d.get_bool("ssoe"),
            extra,
        })
    }

    /// To a dictionary, keys in ZeroTierOne's order; empty lists are left out.
    pub fn to_dictionary(&self) -> Dictionary {
        let mut d = Dictionary::new();
        // Keys are constants without forbidden bytes, so `push` cannot fail on them; an
        // `extra` key that is not a valid key is skipped.
        let _ = self.fill(&mut d);
        d
    }

    fn fill(&self, d: &mut Dictionary) -> Result<(), DictError> {
        d.push_u64("v", self.version)?;
        d.push_u64("nwid", self.network_id.0)?;
        d.push_u64("ts", self.timestamp)?;
        d.push_u64("ctmd", self.credential_time_max_delta)?;
        d.push_u64("r", self.revision)?;
        d.push_address("id", self.issued_to)?;
        if let Some(t) = self.remote_trace_target {
            d.push_address("tt", t)?;
        }
        if let Some(l) = self.remote_trace_level {
            d.push_u64("tl", l)?;
        }
        d.push_u64("f", self.flags)?;
        d.push_u64("ml", self.multicast_limit)?;
        d.push_u64("t", self.network_type.to_u64())?;
        d.push("n", self.name.as_bytes())?;
        d.push_u64("mtu", self.mtu)?;
        if let Some(c) = &self.com {
            d.push("C", c.to_bytes())?;
        }
        for (k, v) in [
            ("CAP", &self.capabilities),
            ("TAG", &self.tags),
            ("COO", &self.certificates_of_ownership),
        ] {
            if !v.is_empty() {
                d.push(k, v.as_slice())?;
            }
        }
        if !self.specialists.is_empty() {
            let s: Vec<u8> = self
                .specialists
                .iter()
                .flat_map(|x| x.to_be_bytes())
                .collect();
            d.push("S", s)?;
        }
        if !self.routes.is_empty() {
            let mut b = Vec::new();
            for r in &self.routes {
                r.target.to_inet().emit(&mut b);
                r.via.emit(&mut b);
                b.extend_from_slice(&r.flags.to_be_bytes());
                b.extend_from_slice(&r.metric.to_be_bytes());
            }
            d.push("RT", b)?;
        }
        if !self.static_ips.is_empty() {
            let mut b = Vec::new();
            for a in &self.static_ips {
                a.to_inet().emit(&mut b);
            }
            d.push("I", b)?;
        }
        if !self.rules.is_empty() {
            let mut b = Vec::new();
            for r in &self.rules {
                r.emit(&mut b);
            }
            d.push("R", b)?;
        }
        if let Some(dns) = &self.dns {
            let mut b = Vec::new();
            dns.emit(&mut b);
            d.push("DNS", b)?;
        }
        if let Some(v) = self.sso_version {
            d.push_u64("ssov", v)?;
        }
        if let Some(e) = self.sso_enabled {
            d.push_bool("ssoe", e)?;
        }
        for (k, v) in &self.extra {
            if let Ok(k) = std::str::from_utf8(k) {
                let _ = d.push(k, v.as_slice());
            }
        }
        Ok(())
    }

    /// The serialized dictionary.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_dictionary().to_bytes()
    }
}
