//! The controller's side of a join, and the member's side of receiving its config; sans-IO
//! and plain data (the embedder persists [`NetworkRecord`]s and moves the chunks in VL1
//! packets: OK(NETWORK_CONFIG_REQUEST) for the first, NETWORK_CONFIG for the rest / pushes).
//!
//! ```text
//!  controller.handle_config_request(now, update id, member identity, nwid)
//!     unknown network            -> NotFound        (ERROR code 3 OBJ_NOT_FOUND)
//!     private, not authorized    -> AccessDenied    (ERROR code 7; the member is recorded so
//!                                                    the admin can authorize it)
//!     otherwise                  -> Config: IPv4 from ip-range (first try: range start +
//!        (low 32 bits of the member address) mod (end - start), skipping .255, addresses
//!        outside an on-network route and addresses in use), rfc4193 / 6plane if enabled,
//!        routes, a certificate of ownership of those addresses and a COM, both signed now,
//!        the dictionary cut into signed chunks
//!  member: ConfigAssembler::handle_chunk(chunk) -> checks each chunk's signature, assembles
//!        by offset, then checks network, issued-to and the COM -> NetworkConfig
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use thiserror::Error;

use super::com::{CertificateOfMembership, ComError};
use super::credentials::{CertificateOfOwnership, Thing, MAX_THINGS};
use super::derive::{rfc4193, sixplane};
use super::dictionary::DictError;
use super::netconf::{
    IpPrefix, NetworkConfig, NetworkType, Route, DEFAULT_CREDENTIAL_TIME_MAX_DELTA, DEFAULT_MTU,
    DEFAULT_MULTICAST_LIMIT, FLAG_ENABLE_BROADCAST, FLAG_ENABLE_IPV6_NDP_EMULATION,
};
use crate::wire::verbs::{ConfigChunkInfo, NetworkConfigChunk};
use crate::wire::InetAddr;
use crate::{Address, Identity, NetworkId};

/// Largest dictionary chunk per packet (ZeroTierOne: the largest packet, 10,024 bytes, less
/// the header and room for the chunk fields).
pub const DEFAULT_MAX_CHUNK: usize = 10_024 - (28 + 256);

/// One network's settings, as RouterOS `/zerotier/controller` exposes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkSettings {
    /// `name`.
    pub name: String,
    /// `private` (default yes): members need authorization.
    pub private: bool,
    /// `broadcast` (default yes).
    pub broadcast: bool,
    /// `mtu` (default 2800).
    pub mtu: u64,
    /// `multicast-limit` (default 32).
    pub multicast_limit: u64,
    /// `ip-range`: IPv4 pools (first, last), inclusive.
    pub ip_ranges: Vec<(Ipv4Addr, Ipv4Addr)>,
    /// `routes`.
    pub routes: Vec<Route>,
    /// `ip6-rfc4193` (default no).
    pub ip6_rfc4193: bool,
    /// `ip6-6plane` (default no).
    pub ip6_6plane: bool,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            name: String::new(),
            private: true,
            broadcast: true,
            mtu: DEFAULT_MTU,
            multicast_limit: DEFAULT_MULTICAST_LIMIT,
            ip_ranges: Vec::new(),
            routes: Vec::new(),
            ip6_rfc4193: false,
            ip6_6plane: false,
        }
    }
}

impl NetworkSettings {
    /// The `/zerotier controller` properties [`apply_props`](Self::apply_props) reads, in
    /// RouterOS' order (seed 000 L1488-1516).
    pub const PROPERTIES: &'static [&'static str] = &[
        "name",
        "private",
        "broadcast",
        "mtu",
        "multicast-limit",
        "ip-range",
        "routes",
        "ip6-rfc4193",
        "ip6-6plane",
    ];

    /// Set the `/zerotier controller` properties of an `add` or `set` property list (as a
    /// `.rsc` export writes it: `[("name", "ZT-private"), ("ip-range",
    /// "172.27.27.10-172.27.27.20")]`) on `self`; a `set` changes only what it names.
    ///
    /// `ip-range` is `FIRST-LAST` (IPv4; several separated by commas), `routes` is
    /// `DST/BITS[@GW]` separated by commas (RouterOS `Dst[@Gw]`), `mtu` 1280..=10000, `private`,
    /// `broadcast`, `ip6-rfc4193` and `ip6-6plane` `yes`/`no`. A bad value is a
    /// [`crate::error::ConfigError`] naming the property. Properties this crate does not
    /// implement (`instance`, `network`, `comment`, `disabled`, `ip6-range`, ...) are returned
    /// in order so that the caller can warn about them.
    pub fn apply_props(
        &mut self,
        props: &[(&str, &str)],
    ) -> Result<Vec<String>, crate::error::ConfigError> {
        use crate::error::ConfigError as E;
        fn yes(k: &'static str, v: &str) -> Result<bool, E> {
            match v.trim() {
                "yes" => Ok(true),
                "no" => Ok(false),
                _ => Err(E::new(k, format!("{v:?}: expected yes or no"))),
            }
        }
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => self.name = v.to_string(),
                "private" => self.private = yes("private", v)?,
                "broadcast" => self.broadcast = yes("broadcast", v)?,
                "ip6-rfc4193" => self.ip6_rfc4193 = yes("ip6-rfc4193", v)?,
                "ip6-6plane" => self.ip6_6plane = yes("ip6-6plane", v)?,
                "mtu" => {
                    self.mtu = v
                        .trim()
                        .parse()
                        .ok()
                        .filter(|m| (1280..=10_000).contains(m))
                        .ok_or_else(|| E::new("mtu", format!("{v:?}: expected 1280..10000")))?
                }
                "multicast-limit" => {
                    self.multicast_limit = v.trim().parse().map_err(|_| {
                        E::new("multicast-limit", format!("{v:?}: expected a number"))
                    })?
                }
                "ip-range" => {
                    self.ip_ranges = list(v)
                        .map(parse_range)
                        .collect::<Result<_, _>>()
                        .map_err(|r| E::new("ip-range", r))?
                }
                "routes" => {
                    self.routes = list(v)
                        .map(parse_route)
                        .collect::<Result<_, _>>()
                        .map_err(|r| E::new("routes", r))?
                }
                other => unknown.push(other.to_string()),
            }
        }
        Ok(unknown)
    }

    /// Settings from an `add` property list, starting from the RouterOS defaults; errors and
    /// unknown properties as in [`apply_props`](Self::apply_props).
    pub fn from_props(
        props: &[(&str, &str)],
    ) -> Result<(Self, Vec<String>), crate::error::ConfigError> {
        let mut s = NetworkSettings::default();
        let unknown = s.apply_props(props)?;
        Ok((s, unknown))
    }

    /// The property list [`from_props`](Self::from_props) reads back to these settings: the
    /// properties that differ from the defaults, in [`PROPERTIES`](Self::PROPERTIES) order.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = NetworkSettings::default();
        let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
        let mut v = Vec::new();
        if self.name != d.name {
            v.push(("name", self.name.clone()));
        }
        if self.private != d.private {
            v.push(("private", yn(self.private)));
        }
        if self.broadcast != d.broadcast {
            v.push(("broadcast", yn(self.broadcast)));
        }
        if self.mtu != d.mtu {
            v.push(("mtu", self.mtu.to_string()));
        }
        if self.multicast_limit != d.multicast_limit {
            v.push(("multicast-limit", self.multicast_limit.to_string()));
        }
        if !self.ip_ranges.is_empty() {
            let r: Vec<String> = self
                .ip_ranges
                .iter()
                .map(|(a, b)| format!("{a}-{b}"))
                .collect();
            v.push(("ip-range", r.join(",")));
        }
        if !self.routes.is_empty() {
            let r: Vec<String> = self.routes.iter().map(route_text).collect();
            v.push(("routes", r.join(",")));
        }
        if self.ip6_rfc4193 != d.ip6_rfc4193 {
            v.push(("ip6-rfc4193", yn(self.ip6_rfc4193)));
        }
        if self.ip6_6plane != d.ip6_6plane {
            v.push(("ip6-6plane", yn(self.ip6_6plane)));
        }
        v
    }
}

/// The comma-separated items of a list property (empty items skipped).
fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `FIRST-LAST` (RouterOS controller `ip-range`).
pub fn parse_range(r: &str) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    let (a, b) = r
        .split_once('-')
        .ok_or_else(|| format!("{r:?}: expected FIRST-LAST"))?;
    let a: Ipv4Addr = a.trim().parse().map_err(|e| format!("{r:?}: {e}"))?;
    let b: Ipv4Addr = b.trim().parse().map_err(|e| format!("{r:?}: {e}"))?;
    if a > b {
        return Err(format!("{r:?}: first above last"));
    }
    Ok((a, b))
}

/// `DST/BITS[@GW]` (RouterOS controller `routes`: `Route ::= Dst[@Gw]`).
pub fn parse_route(r: &str) -> Result<Route, String> {
    let (dst, gw) = match r.split_once('@') {
        Some((d, g)) => (d, Some(g)),
        None => (r, None),
    };
    let (ip, bits) = dst
        .split_once('/')
        .ok_or_else(|| format!("{r:?}: expected DST/BITS[@GW]"))?;
    let addr: IpAddr = ip.parse().map_err(|e| format!("{r:?}: {e}"))?;
    let bits: u16 = bits
        .parse()
        .map_err(|e| format!("{r:?}: prefix length: {e}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(format!("{r:?}: prefix length {bits} above {max}"));
    }
    let target = IpPrefix { addr, bits };
    Ok(match gw {
        Some(g) => route_via(
            target,
            g.parse().map_err(|e| format!("{r:?}: gateway: {e}"))?,
        ),
        None => route(target),
    })
}

/// A route as RouterOS writes it: `DST/BITS` or `DST/BITS@GW`.
pub fn route_text(r: &Route) -> String {
    match r.via {
        InetAddr::Ip(a) => format!("{}@{}", r.target, a.ip()),
        _ => r.target.to_string(),
    }
}

/// A member as the controller records it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MemberRecord {
    /// Admitted (RouterOS member `authorized`).
    pub authorized: bool,
    /// Managed IPv4 addresses assigned so far (kept across requests).
    pub ip_assignments: Vec<Ipv4Addr>,
}

/// A network as the controller records it (plain data to persist).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkRecord {
    /// Settings.
    pub settings: NetworkSettings,
    /// Config revision (bump on every change).
    pub revision: u64,
    /// Members by address.
    pub members: BTreeMap<Address, MemberRecord>,
}

/// The controller's answer to a NETWORK_CONFIG_REQUEST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigAnswer {
    /// The config and its signed chunks (send the first in the OK, the rest as NETWORK_CONFIG).
    Config {
        /// The typed config.
        config: Box<NetworkConfig>,
        /// Signed chunks.
        chunks: Vec<NetworkConfigChunk>,
    },
    /// ERROR code 7 NETWORK_ACCESS_DENIED.
    AccessDenied,
    /// ERROR code 3 OBJ_NOT_FOUND.
    NotFound,
}

/// A network controller (the identity whose address is the top 40 bits of its network IDs).
pub struct Controller {
    identity: Identity,
    /// Networks by ID.
    pub networks: BTreeMap<NetworkId, NetworkRecord>,
    /// Credential time max delta written into configs and COMs (ms, default 30 min).
    pub credential_time_max_delta: u64,
    /// Chunk size (default [`DEFAULT_MAX_CHUNK`]).
    pub max_chunk: usize,
    /// Most member records per network (default [`DEFAULT_MAX_MEMBERS`]): a request from a new
    /// node beyond it on a private network is denied without being recorded, so requests from
    /// many identities cannot grow the controller's state without bound.
    pub max_members: usize,
}

/// Default bound on member records per network.
pub const DEFAULT_MAX_MEMBERS: usize = 65_536;

impl Controller {
    /// A controller signing with `identity` (must hold its secret).
    pub fn new(identity: Identity) -> Self {
        Controller {
            identity,
            networks: BTreeMap::new(),
            credential_time_max_delta: DEFAULT_CREDENTIAL_TIME_MAX_DELTA,
            max_chunk: DEFAULT_MAX_CHUNK,
            max_members: DEFAULT_MAX_MEMBERS,
        }
    }

    /// Our identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Create (or replace the settings of) network number `number` (24 bits) of this
    /// controller; returns its ID.
    pub fn set_network(&mut self, number: u32, settings: NetworkSettings) -> NetworkId {
        let id =
            NetworkId((self.identity.address().to_u64() << 24) | u64::from(number & 0xff_ffff));
        let rec = self.networks.entry(id).or_insert_with(|| NetworkRecord {
            settings: settings.clone(),
            revision: 0,
            members: BTreeMap::new(),
        });
        rec.settings = settings;
        rec.revision += 1;
        id
    }

    /// Authorize or deauthorize a member (creates its record); bumps the revision.
    pub fn authorize(&mut self, nwid: NetworkId, member: Address, authorized: bool) -> bool {
        let Some(n) = self.networks.get_mut(&nwid) else {
            return false;
        };
        n.members.entry(member).or_default().authorized = authorized;
        n.revision += 1;
        true
    }

    /// Answer a config request from `member` at `now_ms` (controller clock, ms since the
    /// epoch); `update_id` identifies this config's chunks (take it from the RNG).
    pub fn handle_config_request(
        &mut self,
        now_ms: u64,
        update_id: u64,
        member: &Identity,
        nwid: NetworkId,
    ) -> ConfigAnswer {
        let addr = member.address();
        let Some(net) = self.networks.get_mut(&nwid) else {
            return ConfigAnswer::NotFound;
        };
        let s = net.settings.clone();
        let taken: Vec<Ipv4Addr> = net
            .members
            .iter()
            .filter(|(a, _)| **a != addr)
            .flat_map(|(_, m)| m.ip_assignments.iter().copied())
            .collect();
        if !net.members.contains_key(&addr) && net.members.len() >= self.max_members {
            return ConfigAnswer::AccessDenied;
        }
        let rec = net.members.entry(addr).or_default();
        if !s.private {
            rec.authorized = true;
        }
        if !rec.authorized {
            return ConfigAnswer::AccessDenied;
        }
        if rec.ip_assignments.is_empty() {
            if let Some(ip) = assign_ipv4(&s, addr, &taken) {
                rec.ip_assignments.push(ip);
            }
        }
        let mut c = NetworkConfig::new(nwid, addr, now_ms);
        c.credential_time_max_delta = self.credential_time_max_delta;
        c.revision = net.revision;
        c.name = s.name.clone();
        c.mtu = s.mtu;
        c.multicast_limit = s.multicast_limit;
        c.network_type = if s.private {
            NetworkType::Private
        } else {
            NetworkType::Public
        };
        c.flags = if s.broadcast {
            FLAG_ENABLE_BROADCAST
        } else {
            0
        };
        if s.ip6_rfc4193 || s.ip6_6plane {
            c.flags |= FLAG_ENABLE_IPV6_NDP_EMULATION;
        }
        c.routes = s.routes.clone();
        for ip in &rec.ip_assignments {
            let bits = on_network_route(&s, *ip).map_or(32, |r| r.target.bits);
            c.static_ips.push(IpPrefix {
                addr: IpAddr::V4(*ip),
                bits,
            });
        }
        if s.ip6_rfc4193 {
            c.static_ips.push(IpPrefix {
                addr: IpAddr::V6(rfc4193(addr, nwid)),
                bits: 88,
            });
        }
        if s.ip6_6plane {
            c.static_ips.push(IpPrefix {
                addr: IpAddr::V6(sixplane(addr, nwid)),
                bits: 40,
            });
        }
        if !c.static_ips.is_empty() {
            let things = c
                .static_ips
                .iter()
                .take(MAX_THINGS)
                .map(|p| Thing::Ip(p.addr))
                .collect();
            let mut coo = CertificateOfOwnership::new(nwid, now_ms, addr, 1, things);
            if coo.sign(&self.identity).is_ok() {
                coo.emit(&mut c.certificates_of_ownership);
            }
        }
        let mut com =
            CertificateOfMembership::new(now_ms, self.credential_time_max_delta, nwid, member);
        if com.sign(&self.identity).is_err() {
            return ConfigAnswer::AccessDenied;
        }
        c.com = Some(com);
        let chunks = sign_chunks(
            &self.identity,
            nwid,
            &c.to_bytes(),
            update_id,
            self.max_chunk,
        );
        ConfigAnswer::Config {
            config: Box::new(c),
            chunks,
        }
    }
}

fn on_network_route(s: &NetworkSettings, ip: Ipv4Addr) -> Option<&Route> {
    s.routes.iter().find(|r| {
        matches!(r.via, InetAddr::Nil)
            && match r.target.addr {
                IpAddr::V4(net) => {
                    let bits = u32::from(r.target.bits.min(32));
                    let mask = if bits == 0 {
                        0
                    } else {
                        u32::MAX << (32 - bits)
                    };
                    u32::from(net) & mask == u32::from(ip) & mask
                }
                IpAddr::V6(_) => false,
            }
    })
}

/// Pick a free IPv4 address for `member` from the network's pools (ZeroTierOne's rule: start
/// at `first + (low 32 bits of the address) mod (last - first)`, walk forward at most 1,000
/// tries, skip addresses ending in .255, outside every on-network route, or taken).
pub fn assign_ipv4(s: &NetworkSettings, member: Address, taken: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    for &(first, last) in &s.ip_ranges {
        let (a, b) = (u32::from(first), u32::from(last));
        if b < a || a == 0 {
            continue;
        }
        let len = b - a;
        let mut counter = member.to_u64() as u32;
        let tries = (u64::from(len) + 1).min(1000);
        for _ in 0..tries {
            let ip = if len > 0 { a + counter % len } else { a };
            counter = counter.wrapping_add(1);
            let ip = Ipv4Addr::from(ip);
            if ip.octets()[3] == 255 || on_network_route(s, ip).is_none() || taken.contains(&ip) {
                continue;
            }
            return Some(ip);
        }
    }
    None
}

/// The bytes a chunk's signature covers: network ID, chunk length, chunk, flags, update ID,
/// total length, chunk offset, as serialized in the packet.
pub fn chunk_signed_bytes(c: &NetworkConfigChunk, i: &ConfigChunkInfo) -> Vec<u8> {
    let mut m = Vec::with_capacity(27 + c.chunk.len());
    m.extend_from_slice(&c.network_id.0.to_be_bytes());
    m.extend_from_slice(&(c.chunk.len() as u16).to_be_bytes());
    m.extend_from_slice(&c.chunk);
    m.push(i.flags);
    m.extend_from_slice(&i.update_id.to_be_bytes());
    m.extend_from_slice(&i.total_len.to_be_bytes());
    m.extend_from_slice(&i.chunk_index.to_be_bytes());
    m
}

/// Cut a serialized config into chunks of at most `max_chunk` bytes and sign each.
pub fn sign_chunks(
    controller: &Identity,
    nwid: NetworkId,
    dict: &[u8],
    update_id: u64,
    max_chunk: usize,
) -> Vec<NetworkConfigChunk> {
    let max_chunk = max_chunk.clamp(1, usize::from(u16::MAX));
    let mut out = Vec::new();
    let mut at = 0;
    while at < dict.len() || (dict.is_empty() && out.is_empty()) {
        let end = (at + max_chunk).min(dict.len());
        let mut c = NetworkConfigChunk {
            network_id: nwid,
            chunk: dict[at..end].to_vec(),
            info: None,
        };
        let mut info = ConfigChunkInfo {
            flags: 0,
            update_id,
            total_len: dict.len() as u32,
            chunk_index: at as u32,
            signature_type: 1,
            signature: Vec::new(),
        };
        info.signature = controller
            .sign(&chunk_signed_bytes(&c, &info))
            .map(|s| s.to_vec())
            .unwrap_or_default();
        c.info = Some(info);
        out.push(c);
        at = end;
        if dict.is_empty() {
            break;
        }
    }
    out
}

/// Why a member refuses a config chunk or config.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A chunk for a network we did not ask about.
    #[error("config for network {0}, not ours")]
    WrongNetwork(NetworkId),
    /// Legacy unsigned form, or a signature type other than 1.
    #[error("config chunk unsigned or of unknown signature type")]
    Unsigned,
    /// The controller's signature does not verify.
    #[error("config chunk signature does not verify")]
    BadSignature,
    /// Total length over the limit, or a chunk outside it.
    #[error("config chunk out of bounds (total {total}, limit {limit})")]
    OutOfBounds {
        /// Announced total length.
        total: u32,
        /// Our limit.
        limit: usize,
    },
    /// The assembled dictionary is bad.
    #[error("config dictionary: {0}")]
    Dict(#[from] DictError),
    /// The config was issued to another node.
    #[error("config issued to {0}, not to us")]
    NotForUs(Address),
    /// A private network's config without a COM.
    #[error("config has no certificate of membership")]
    NoCom,
    /// The COM does not verify or was not issued to us.
    #[error("certificate of membership: {0}")]
    Com(#[from] ComError),
}

/// The member's side: collects the chunks of one config update, checking each chunk's
/// signature, and yields the config once complete and checked. At most one update is held
/// (a chunk of a newer update replaces it), and at most `max_len` bytes.
pub struct ConfigAssembler {
    controller: Identity,
    me: Identity,
    nwid: NetworkId,
    max_len: usize,
    update: Option<(u64, Vec<u8>, BTreeMap<u32, usize>)>,
}

impl ConfigAssembler {
    /// For member `me` on `nwid`, trusting `controller` (its address must be `nwid >> 24`).
    pub fn new(controller: Identity, me: Identity, nwid: NetworkId) -> Self {
        ConfigAssembler {
            controller,
            me,
            nwid,
            max_len: super::dictionary::DictLimits::default().max_len,
            update: None,
        }
    }

    /// Take one chunk; `Ok(Some(config))` when it completed a valid config.
    pub fn handle_chunk(
        &mut self,
        c: &NetworkConfigChunk,
    ) -> Result<Option<NetworkConfig>, ConfigError> {
        if c.network_id != self.nwid || self.nwid.controller() != self.controller.address() {
            return Err(ConfigError::WrongNetwork(c.network_id));
        }
        let i = c.info.as_ref().ok_or(ConfigError::Unsigned)?;
        if i.signature_type != 1 {
            return Err(ConfigError::Unsigned);
        }
        let total = i.total_len as usize;
        let at = i.chunk_index as usize;
        if total > self.max_len || at + c.chunk.len() > total {
            return Err(ConfigError::OutOfBounds {
                total: i.total_len,
                limit: self.max_len,
            });
        }
        if !self
            .controller
            .verify(&chunk_signed_bytes(c, i), &i.signature)
        {
            return Err(ConfigError::BadSignature);
        }
        let fresh =
            !matches!(&self.update, Some((u, b, _)) if *u == i.update_id && b.len() == total);
        if fresh {
            self.update = Some((i.update_id, vec![0; total], BTreeMap::new()));
        }
        let Some((_, buf, got)) = self.update.as_mut() else {
            return Ok(None);
        };
        buf[at..at + c.chunk.len()].copy_from_slice(&c.chunk);
        got.insert(i.chunk_index, c.chunk.len());
        // Complete when the received chunks cover [0, total) without gaps.
        let mut end = 0usize;
        for (&s, &l) in got.iter() {
            if s as usize > end {
                return Ok(None);
            }
            end = end.max(s as usize + l);
        }
        if end < total {
            return Ok(None);
        }
        let Some((_, bytes, _)) = self.update.take() else {
            return Ok(None);
        };
        let config = NetworkConfig::parse(&bytes)?;
        if config.network_id != self.nwid {
            return Err(ConfigError::WrongNetwork(config.network_id));
        }
        if config.issued_to != self.me.address() {
            return Err(ConfigError::NotForUs(config.issued_to));
        }
        let com = config.com.as_ref().ok_or(ConfigError::NoCom)?;
        com.verify(&self.controller)?;
        com.issued_to_identity(&self.me)?;
        if com.network_id() != Some(self.nwid) {
            return Err(ConfigError::WrongNetwork(
                com.network_id().unwrap_or_default(),
            ));
        }
        Ok(Some(config))
    }
}

/// A route to `target` on the network itself (no gateway).
pub fn route(target: IpPrefix) -> Route {
    Route {
        target,
        via: InetAddr::Nil,
        flags: 0,
        metric: 0,
    }
}

/// A route via gateway `gw`.
pub fn route_via(target: IpPrefix, gw: IpAddr) -> Route {
    Route {
        target,
        via: InetAddr::Ip(SocketAddr::new(gw, 0)),
        flags: 0,
        metric: 0,
    }
}
