//! RouterOS-shaped configuration: `/interface gre`, `/interface eoip` (and eoipv6),
//! `/interface ipip`, `/interface 6to4`, each with the RouterOS defaults, and the common
//! [`TunnelConfig`] a [`Tunnel`](crate::Tunnel) runs.
//!
//! Every field's doc names the RouterOS property it mirrors (seed line numbers `Lnnn` refer to
//! the RouterOS manual pages in the project's seed file). `to_tunnel()` validates and returns an
//! [`Error::Config`] naming the property on a bad value; no invalid config reaches a tunnel.
//!
//! Each interface config also reads and writes a RouterOS property list (`from_props`,
//! `apply_props`, `to_props`, `PROPERTIES`; e.g. [`GreConfig::from_props`]), the form a `.rsc`
//! export line holds: `add name=myGre remote-address=192.168.90.1`.
//!
//! Properties that configure the host rather than the tunnel (`name`, `comment`, `arp`,
//! `arp-timeout`, `mac-address`, `loop-protect*`, `allow-fast-path`) are carried for
//! completeness; their behaviour belongs to the embedding router.

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;
use std::time::Duration;

use crate::error::Error;
use crate::wire::eoip::EOIPV6_MAX_TUNNEL_ID;
use crate::wire::{IPPROTO_ETHERIP, IPPROTO_GRE, IPPROTO_IPIP, IPPROTO_IPV6};

/// `dscp`: inherit the inner packet's DSCP, or a fixed value 0..=63.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Dscp {
    /// `dscp=inherit` (RouterOS prints this as the default).
    #[default]
    Inherit,
    /// A fixed DSCP value 0..=63.
    Fixed(u8),
}

/// `dont-fragment`: whether the outer IPv4 header carries DF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DontFragment {
    /// `inherit`: copy DF from the inner IPv4 packet (inner IPv6: DF set, since IPv6 packets
    /// are never fragmented on the path). Ethernet tunnels look at the IP packet in the frame.
    Inherit,
    /// `no` (default): DF clear, the outer packet may be fragmented.
    #[default]
    No,
}

/// `mtu`: fixed, or `auto` (link MTU minus the tunnel overhead).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mtu {
    /// `mtu=auto`.
    #[default]
    Auto,
    /// A fixed MTU.
    Fixed(u16),
}

/// `keepalive=interval,retries`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// KeepaliveInterval: a keepalive is sent every interval.
    pub interval: Duration,
    /// KeepaliveRetries: the running flag is removed when `interval * retries` passes without
    /// a keepalive from the peer. 0 = send keepalives but never remove the flag.
    pub retries: u32,
}

impl Keepalive {
    /// RouterOS default `10s,10`.
    pub const DEFAULT: Keepalive = Keepalive {
        interval: Duration::from_secs(10),
        retries: 10,
    };

    /// `interval * retries`: how long without a keepalive before the running flag goes.
    pub fn timeout(&self) -> Duration {
        self.interval.saturating_mul(self.retries)
    }

    /// Parse RouterOS syntax `interval,retries` (`10s,10`, `10,10`, `1m30s,3`, `500ms,4`).
    /// `0,0` (or an empty string) means keepalive disabled: `Ok(None)`.
    pub fn parse_routeros(s: &str) -> Result<Option<Keepalive>, Error> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let (i, r) = s
            .split_once(',')
            .ok_or_else(|| Error::config("keepalive", "expected interval,retries"))?;
        let interval = parse_time(i.trim())
            .ok_or_else(|| Error::config("keepalive", format!("bad interval {i:?}")))?;
        let retries = u32::from_str(r.trim())
            .map_err(|_| Error::config("keepalive", format!("bad retries {r:?}")))?;
        if interval.is_zero() {
            return Ok(None);
        }
        Ok(Some(Keepalive { interval, retries }))
    }
}

/// RouterOS time syntax: a bare number is seconds; otherwise number+unit groups
/// (`w`, `d`, `h`, `m`, `s`, `ms`), e.g. `1m30s`.
pub(crate) fn parse_time(s: &str) -> Option<Duration> {
    if let Ok(n) = u64::from_str(s) {
        return Some(Duration::from_secs(n));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n = u64::from_str(rest.get(..digits)?).ok()?;
        rest = rest.get(digits..)?;
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = rest.get(..unit_len)?;
        rest = rest.get(unit_len..)?;
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            "d" => Duration::from_secs(n.checked_mul(86400)?),
            "w" => Duration::from_secs(n.checked_mul(604800)?),
            _ => return None,
        };
        total = total.checked_add(d)?;
    }
    Some(total)
}

/// The tunnel types of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// `/interface gre`: IPv4/IPv6 in GRE version 0 over IPv4 (protocol 47).
    Gre,
    /// Linux `gretap`: Ethernet (0x6558) in GRE version 0 over IPv4. Not a RouterOS type;
    /// here for interop with Linux.
    GreTap,
    /// `/interface eoip`: Ethernet in MikroTik EoIP over IPv4 (protocol 47).
    Eoip,
    /// `/interface eoipv6`: Ethernet in EoIPv6 over IPv6 (next header 97).
    Eoipv6,
    /// `/interface ipip`: IPv4 in IPv4 (protocol 4, RFC 2003).
    Ipip,
    /// `/interface 6to4`: IPv6 in IPv4 (protocol 41; RFC 4213 configured, RFC 3056 automatic).
    SixToFour,
    /// `/interface gre6`: IPv4/IPv6 in GRE version 0 over IPv6 (next header 47; RFC 2784 over
    /// RFC 8200, Linux `ip6gre`).
    Gre6,
    /// `/interface ipipv6`: IPv4 (next header 4) or IPv6 (next header 41) directly in IPv6
    /// (RFC 2473; Linux `ip6tnl` in mode `ipip6`, `ip6ip6` or `any`).
    Ipipv6,
}

impl TunnelKind {
    /// Outer IP protocol / next header. ipipv6 uses 41 for IPv6 inner packets (returned
    /// here, and the protocol its keepalives and [`DemuxKey`](crate::wire::demux::DemuxKey)
    /// carry) and 4 for IPv4 inner packets; see [`accepts_protocol`](Self::accepts_protocol).
    pub const fn ip_protocol(self) -> u8 {
        match self {
            TunnelKind::Gre | TunnelKind::GreTap | TunnelKind::Eoip | TunnelKind::Gre6 => {
                IPPROTO_GRE
            }
            TunnelKind::Eoipv6 => IPPROTO_ETHERIP,
            TunnelKind::Ipip => IPPROTO_IPIP,
            TunnelKind::SixToFour | TunnelKind::Ipipv6 => IPPROTO_IPV6,
        }
    }

    /// Whether an outer packet with this protocol / next header belongs to this tunnel type
    /// (ipipv6 accepts 4 and 41, every other type exactly [`ip_protocol`](Self::ip_protocol)).
    pub const fn accepts_protocol(self, protocol: u8) -> bool {
        match self {
            TunnelKind::Ipipv6 => protocol == IPPROTO_IPV6 || protocol == IPPROTO_IPIP,
            _ => protocol == self.ip_protocol(),
        }
    }

    /// Whether the outer header is IPv6 (EoIPv6, gre6, ipipv6).
    pub const fn outer_is_ipv6(self) -> bool {
        matches!(
            self,
            TunnelKind::Eoipv6 | TunnelKind::Gre6 | TunnelKind::Ipipv6
        )
    }

    /// Whether the tunnel header is a GRE version 0 header (GRE, gretap, gre6).
    pub const fn is_gre(self) -> bool {
        matches!(
            self,
            TunnelKind::Gre | TunnelKind::GreTap | TunnelKind::Gre6
        )
    }

    /// Whether the payload is an Ethernet frame (EoIP, EoIPv6, gretap).
    pub const fn is_ethernet(self) -> bool {
        matches!(
            self,
            TunnelKind::GreTap | TunnelKind::Eoip | TunnelKind::Eoipv6
        )
    }

    /// RouterOS menu name.
    pub const fn name(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre",
            TunnelKind::GreTap => "gretap",
            TunnelKind::Eoip => "eoip",
            TunnelKind::Eoipv6 => "eoipv6",
            TunnelKind::Ipip => "ipip",
            TunnelKind::SixToFour => "6to4",
            TunnelKind::Gre6 => "gre6",
            TunnelKind::Ipipv6 => "ipipv6",
        }
    }
}

/// The validated, type-independent configuration a [`Tunnel`](crate::Tunnel) runs. Build it
/// from a RouterOS-shaped config (`GreConfig::to_tunnel()` etc.) or fill it directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelConfig {
    /// Tunnel type.
    pub kind: TunnelKind,
    /// `local-address`; unspecified (0.0.0.0 / ::) = the outgoing interface's address, which
    /// the caller supplies later with `Tunnel::set_local_address`.
    pub local: IpAddr,
    /// `remote-address`; `None` only for automatic 6to4.
    pub remote: Option<IpAddr>,
    /// `mtu`.
    pub mtu: Mtu,
    /// MTU of the link the outer packets leave on (used by `mtu=auto`); 1500 by default.
    pub link_mtu: u16,
    /// Outer TTL / hop limit (RouterOS has no property; 255 as RouterOS sends).
    pub ttl: u8,
    /// `dscp`.
    pub dscp: Dscp,
    /// `dont-fragment`.
    pub dont_fragment: DontFragment,
    /// `clamp-tcp-mss`.
    pub clamp_tcp_mss: bool,
    /// `keepalive`; `None` = disabled (`0,0`).
    pub keepalive: Option<Keepalive>,
    /// GRE/gretap key (RFC 2890; Linux `key`, no RouterOS property).
    pub key: Option<u32>,
    /// EoIP / EoIPv6 `tunnel-id`.
    pub tunnel_id: u16,
    /// GRE: send checksums (Linux `csum`).
    pub checksum: bool,
    /// GRE: send sequence numbers (Linux `seq`).
    pub sequence: bool,
    /// GRE: drop received packets whose sequence number is not after the last one
    /// (RFC 2890 section 2.2).
    pub check_sequence: bool,
    /// 6to4: drop packets whose inner 2002::/16 source does not embed the outer IPv4 source
    /// (RFC 3964 section 5.1 hardening).
    pub check_6to4_source: bool,
    /// The address the tunnel sends its own ICMP errors from ("fragmentation needed" from
    /// `Tunnel::too_big_reply`, and relayed errors whose reporting router is of the other IP
    /// family): the tunnel interface's `/ip address` on a router. Not a RouterOS property of
    /// the tunnel. `None`: the inner packet's destination. A host that owns the address
    /// drops ICMP arriving from it on the tunnel device as a martian, so a TUN-based host
    /// leaves this unset.
    pub interface_v4: Option<Ipv4Addr>,
    /// The same for ICMPv6 errors.
    pub interface_v6: Option<std::net::Ipv6Addr>,
}

impl TunnelConfig {
    /// A config with the RouterOS defaults for `kind` between `local` and `remote`.
    pub fn new(kind: TunnelKind, local: IpAddr, remote: Option<IpAddr>) -> Self {
        TunnelConfig {
            kind,
            local,
            remote,
            mtu: Mtu::Auto,
            link_mtu: 1500,
            ttl: 255,
            dscp: Dscp::Inherit,
            dont_fragment: DontFragment::No,
            clamp_tcp_mss: true,
            keepalive: match kind {
                TunnelKind::GreTap | TunnelKind::SixToFour => None,
                _ => Some(Keepalive::DEFAULT),
            },
            interface_v4: None,
            interface_v6: None,
            key: None,
            tunnel_id: 0,
            checksum: false,
            sequence: false,
            check_sequence: false,
            check_6to4_source: true,
        }
    }

    /// Bytes added in front of an inner packet (outer IP header + tunnel header).
    pub fn overhead(&self) -> usize {
        self.ip_header_len() + self.tunnel_header_len()
    }

    /// Outer IP header length: 40 for the IPv6-outer types (EoIPv6, gre6, ipipv6), 20
    /// otherwise.
    pub fn ip_header_len(&self) -> usize {
        if self.kind.outer_is_ipv6() {
            40
        } else {
            20
        }
    }

    /// Tunnel header length after the outer IP header.
    pub fn tunnel_header_len(&self) -> usize {
        match self.kind {
            TunnelKind::Gre | TunnelKind::GreTap | TunnelKind::Gre6 => {
                4 + 4
                    * (usize::from(self.checksum)
                        + usize::from(self.key.is_some())
                        + usize::from(self.sequence))
            }
            TunnelKind::Eoip => 8,
            TunnelKind::Eoipv6 => 2,
            TunnelKind::Ipip | TunnelKind::SixToFour | TunnelKind::Ipipv6 => 0,
        }
    }

    /// The MTU of the tunnel interface (RouterOS `actual-mtu`): the fixed `mtu`, or with
    /// `mtu=auto` the link MTU minus the overhead (and minus the 14-byte Ethernet header for
    /// Ethernet tunnels): GRE 1476, EoIP 1458, IPIP 1480, 6to4 1480, gre6 1456, ipipv6 1460
    /// on a 1500 link.
    pub fn actual_mtu(&self) -> usize {
        match self.mtu {
            Mtu::Fixed(m) => usize::from(m),
            Mtu::Auto => {
                let eth = if self.kind.is_ethernet() { 14 } else { 0 };
                usize::from(self.link_mtu).saturating_sub(self.overhead() + eth)
            }
        }
    }

    /// Check every field; the error names the RouterOS property.
    pub fn validate(&self) -> Result<(), Error> {
        let v6_outer = self.kind.outer_is_ipv6();
        if self.local.is_ipv6() != v6_outer {
            return Err(Error::config(
                "local-address",
                format!(
                    "{} needs an IPv{} address",
                    self.kind.name(),
                    if v6_outer { 6 } else { 4 }
                ),
            ));
        }
        match self.remote {
            None if self.kind != TunnelKind::SixToFour => {
                return Err(Error::config("remote-address", "must be set"));
            }
            Some(r) if r.is_ipv6() != v6_outer => {
                return Err(Error::config(
                    "remote-address",
                    format!(
                        "{} needs an IPv{} address",
                        self.kind.name(),
                        if v6_outer { 6 } else { 4 }
                    ),
                ));
            }
            Some(r) if r.is_unspecified() || r.is_multicast() => {
                return Err(Error::config(
                    "remote-address",
                    format!("{r} is not a unicast address"),
                ));
            }
            _ => {}
        }
        if let Dscp::Fixed(d) = self.dscp {
            if d > 63 {
                return Err(Error::config("dscp", format!("{d} is outside 0..63")));
            }
        }
        if let Mtu::Fixed(m) = self.mtu {
            let min = if self.kind == TunnelKind::SixToFour || v6_outer {
                1280
            } else {
                68
            };
            if m < min {
                return Err(Error::config(
                    "mtu",
                    format!("{m} is below the minimum {min}"),
                ));
            }
        }
        if self.actual_mtu() < 68 {
            return Err(Error::config(
                "mtu",
                "link mtu too small for the tunnel overhead",
            ));
        }
        if self.ttl == 0 {
            return Err(Error::config("ttl", "must be 1..255"));
        }
        if self.kind == TunnelKind::Eoipv6 && self.tunnel_id > EOIPV6_MAX_TUNNEL_ID {
            return Err(Error::config(
                "tunnel-id",
                format!(
                    "{} does not fit the 12-bit EoIPv6 tunnel id (0..4095)",
                    self.tunnel_id
                ),
            ));
        }
        if self.kind == TunnelKind::GreTap && self.keepalive.is_some() {
            return Err(Error::config(
                "keepalive",
                "gretap peers (Linux) cannot reflect GRE keepalives; disable it",
            ));
        }
        if self.kind == TunnelKind::SixToFour && self.remote.is_none() && self.keepalive.is_some() {
            return Err(Error::config(
                "keepalive",
                "automatic 6to4 (no remote-address) has no single peer to keep alive",
            ));
        }
        if !self.kind.is_gre() && (self.key.is_some() || self.checksum || self.sequence) {
            return Err(Error::config(
                "key",
                "key/checksum/sequence apply to GRE only",
            ));
        }
        Ok(())
    }
}

/// What RouterOS creates for `ipsec-secret` (seed L550): a dynamic IPsec peer to the remote
/// address with a pre-shared key, and a transport-mode policy for the tunnel's protocol.
/// Hand it to the `ipsec-ike` crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpsecHint {
    /// Peer address (the tunnel's remote-address).
    pub peer: IpAddr,
    /// Local address of the policy (the tunnel's local-address).
    pub local: IpAddr,
    /// Pre-shared key.
    pub secret: String,
    /// IP protocol the policy protects (47, 4, 41 or 97).
    pub protocol: u8,
    /// Phase 2 authentication default: `sha1`.
    pub phase2_auth: &'static str,
    /// Phase 2 encryption default: `aes128cbc`.
    pub phase2_enc: &'static str,
}

/// Builds a [`TunnelConfig`] from a RouterOS interface config's outer-header properties
/// (`mtu`, `keepalive`, `dscp`, `dont-fragment`, `clamp-tcp-mss`, TTL), which all four
/// interface kinds share.
macro_rules! outer_tunnel {
    ($cfg:expr, $kind:expr, $local:expr, $remote:expr) => {{
        let mut t = TunnelConfig::new($kind, $local, $remote);
        t.mtu = $cfg.mtu;
        t.keepalive = $cfg.keepalive;
        t.dscp = $cfg.dscp;
        t.dont_fragment = $cfg.dont_fragment;
        t.clamp_tcp_mss = $cfg.clamp_tcp_mss;
        t.ttl = $cfg.ttl;
        t
    }};
}

/// The `ipsec_hint` method every RouterOS interface config has (needs `to_tunnel` and
/// `ipsec_secret`).
macro_rules! ipsec_hint_method {
    () => {
        /// The IPsec peer/policy RouterOS would add for `ipsec-secret`.
        pub fn ipsec_hint(&self) -> Option<IpsecHint> {
            self.to_tunnel()
                .ok()
                .and_then(|t| ipsec_hint(&t, &self.ipsec_secret))
        }
    };
}

fn ipsec_hint(t: &TunnelConfig, secret: &Option<String>) -> Option<IpsecHint> {
    let secret = secret.as_ref().filter(|s| !s.is_empty())?;
    Some(IpsecHint {
        peer: t.remote?,
        local: t.local,
        secret: secret.clone(),
        protocol: t.kind.ip_protocol(),
        phase2_auth: "sha1",
        phase2_enc: "aes128cbc",
    })
}

/// `/interface gre` (seed L768-787).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GreConfig {
    /// `name`.
    pub name: String,
    /// `comment`.
    pub comment: String,
    /// `disabled` (default no).
    pub disabled: bool,
    /// `local-address` (default 0.0.0.0 = outgoing interface address, L784).
    pub local_address: Ipv4Addr,
    /// `remote-address` (required).
    pub remote_address: Option<Ipv4Addr>,
    /// `mtu` (default prints 1476 = 1500 - 24, L785; `auto` computes exactly that).
    pub mtu: Mtu,
    /// `l2mtu` (default 65535, informational).
    pub l2mtu: u16,
    /// `keepalive` (default 10s,10, L782).
    pub keepalive: Option<Keepalive>,
    /// `dscp` (default inherit).
    pub dscp: Dscp,
    /// `dont-fragment` (default no).
    pub dont_fragment: DontFragment,
    /// `clamp-tcp-mss` (default yes).
    pub clamp_tcp_mss: bool,
    /// `allow-fast-path` (default yes; must be off with IPsec, informational).
    pub allow_fast_path: bool,
    /// `ipsec-secret` (default empty).
    pub ipsec_secret: Option<String>,
    /// Extension (Linux `key`, RFC 2890): GRE key. Not a RouterOS property.
    pub key: Option<u32>,
    /// Extension (Linux `csum`): send GRE checksums.
    pub checksum: bool,
    /// Extension (Linux `seq`): send sequence numbers.
    pub sequence: bool,
    /// Outer TTL (default 255).
    pub ttl: u8,
}

impl Default for GreConfig {
    fn default() -> Self {
        GreConfig {
            name: String::new(),
            comment: String::new(),
            disabled: false,
            local_address: Ipv4Addr::UNSPECIFIED,
            remote_address: None,
            mtu: Mtu::Auto,
            l2mtu: 65535,
            keepalive: Some(Keepalive::DEFAULT),
            dscp: Dscp::Inherit,
            dont_fragment: DontFragment::No,
            clamp_tcp_mss: true,
            allow_fast_path: true,
            ipsec_secret: None,
            key: None,
            checksum: false,
            sequence: false,
            ttl: 255,
        }
    }
}

impl GreConfig {
    /// Validate and convert.
    pub fn to_tunnel(&self) -> Result<TunnelConfig, Error> {
        let mut t = outer_tunnel!(
            self,
            TunnelKind::Gre,
            IpAddr::V4(self.local_address),
            self.remote_address.map(IpAddr::V4)
        );
        t.key = self.key;
        t.checksum = self.checksum;
        t.sequence = self.sequence;
        t.validate()?;
        Ok(t)
    }

    ipsec_hint_method!();
}

/// `arp` of an EoIP interface (host behaviour, carried for completeness).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Arp {
    /// `disabled`.
    Disabled,
    /// `enabled` (default).
    #[default]
    Enabled,
    /// `proxy-arp`.
    ProxyArp,
    /// `reply-only`.
    ReplyOnly,
}

/// `/interface eoip` (seed L651-683) and, with IPv6 addresses, `/interface eoipv6`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EoipConfig {
    /// `name`.
    pub name: String,
    /// `comment`.
    pub comment: String,
    /// `disabled`.
    pub disabled: bool,
    /// `local-address` (default 0.0.0.0). An IPv6 address selects EoIPv6.
    pub local_address: IpAddr,
    /// `remote-address` (required; same family as local-address).
    pub remote_address: Option<IpAddr>,
    /// `tunnel-id` (required; 0..65535 for EoIP, 0..4095 for EoIPv6; must match the peer).
    pub tunnel_id: Option<u16>,
    /// `mtu` (default auto: actual-mtu 1458 on a 1500 link, L706).
    pub mtu: Mtu,
    /// `l2mtu` (read-only, prints 65535).
    pub l2mtu: u16,
    /// `mac-address` (default auto-assigned by the host; `None` here).
    pub mac_address: Option<[u8; 6]>,
    /// `arp` (default enabled).
    pub arp: Arp,
    /// `arp-timeout` (default auto = `None`).
    pub arp_timeout: Option<Duration>,
    /// `loop-protect-send-interval` (prints 5s).
    pub loop_protect_send_interval: Duration,
    /// `loop-protect-disable-time` (prints 5m).
    pub loop_protect_disable_time: Duration,
    /// `keepalive` (default 10s,10, L673).
    pub keepalive: Option<Keepalive>,
    /// `dscp` (default inherit, L709).
    pub dscp: Dscp,
    /// `dont-fragment` (default no).
    pub dont_fragment: DontFragment,
    /// `clamp-tcp-mss` (default yes).
    pub clamp_tcp_mss: bool,
    /// `allow-fast-path` (default yes).
    pub allow_fast_path: bool,
    /// `ipsec-secret`.
    pub ipsec_secret: Option<String>,
    /// Outer TTL / hop limit (default 255).
    pub ttl: u8,
}

impl Default for EoipConfig {
    fn default() -> Self {
        EoipConfig {
            name: String::new(),
            comment: String::new(),
            disabled: false,
            local_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            remote_address: None,
            tunnel_id: None,
            mtu: Mtu::Auto,
            l2mtu: 65535,
            mac_address: None,
            arp: Arp::Enabled,
            arp_timeout: None,
            loop_protect_send_interval: Duration::from_secs(5),
            loop_protect_disable_time: Duration::from_secs(300),
            keepalive: Some(Keepalive::DEFAULT),
            dscp: Dscp::Inherit,
            dont_fragment: DontFragment::No,
            clamp_tcp_mss: true,
            allow_fast_path: true,
            ipsec_secret: None,
            ttl: 255,
        }
    }
}

impl EoipConfig {
    /// Validate and convert (EoIP for IPv4 addresses, EoIPv6 for IPv6).
    pub fn to_tunnel(&self) -> Result<TunnelConfig, Error> {
        let kind =
            if self.local_address.is_ipv6() || self.remote_address.is_some_and(|r| r.is_ipv6()) {
                TunnelKind::Eoipv6
            } else {
                TunnelKind::Eoip
            };
        let Some(tid) = self.tunnel_id else {
            return Err(Error::config(
                "tunnel-id",
                "must be set (and match the peer)",
            ));
        };
        if let Some(mac) = self.mac_address {
            if mac[0] & 1 != 0 {
                return Err(Error::config("mac-address", "must be a unicast address"));
            }
        }
        let mut t = outer_tunnel!(self, kind, self.local_address, self.remote_address);
        t.tunnel_id = tid;
        t.validate()?;
        Ok(t)
    }

    ipsec_hint_method!();
}

/// `/interface ipip` (seed L835-850).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpipConfig {
    /// `name`.
    pub name: String,
    /// `comment` (default empty).
    pub comment: String,
    /// `disabled` (default no).
    pub disabled: bool,
    /// `local-address` (default empty = 0.0.0.0, resolved by the host).
    pub local_address: Ipv4Addr,
    /// `remote-address` (required).
    pub remote_address: Option<Ipv4Addr>,
    /// `mtu` (the manual says 1500; the interface prints 1480 = 1500 - 20, which `auto` gives).
    pub mtu: Mtu,
    /// `keepalive` (default 10s,10, L848).
    pub keepalive: Option<Keepalive>,
    /// `dscp` (default inherit).
    pub dscp: Dscp,
    /// `dont-fragment` (default no).
    pub dont_fragment: DontFragment,
    /// `clamp-tcp-mss` (default yes).
    pub clamp_tcp_mss: bool,
    /// `ipsec-secret`.
    pub ipsec_secret: Option<String>,
    /// Outer TTL (default 255).
    pub ttl: u8,
}

impl Default for IpipConfig {
    fn default() -> Self {
        IpipConfig {
            name: String::new(),
            comment: String::new(),
            disabled: false,
            local_address: Ipv4Addr::UNSPECIFIED,
            remote_address: None,
            mtu: Mtu::Auto,
            keepalive: Some(Keepalive::DEFAULT),
            dscp: Dscp::Inherit,
            dont_fragment: DontFragment::No,
            clamp_tcp_mss: true,
            ipsec_secret: None,
            ttl: 255,
        }
    }
}

impl IpipConfig {
    /// Validate and convert.
    pub fn to_tunnel(&self) -> Result<TunnelConfig, Error> {
        let t = outer_tunnel!(
            self,
            TunnelKind::Ipip,
            IpAddr::V4(self.local_address),
            self.remote_address.map(IpAddr::V4)
        );
        t.validate()?;
        Ok(t)
    }

    ipsec_hint_method!();
}

/// `/interface 6to4` (seed L538-555).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SixToFourConfig {
    /// `name`.
    pub name: String,
    /// `comment` (default empty).
    pub comment: String,
    /// `disabled` (default no).
    pub disabled: bool,
    /// `local-address`.
    pub local_address: Ipv4Addr,
    /// `remote-address`: set = configured tunnel (RFC 4213); `None` = automatic 6to4, the IPv4
    /// destination is taken from 2002::/16 destinations (RFC 3056).
    pub remote_address: Option<Ipv4Addr>,
    /// `mtu` (default auto; the Hurricane Electric example uses 1280).
    pub mtu: Mtu,
    /// `keepalive` (the property default prints `0,0` = disabled, L551).
    pub keepalive: Option<Keepalive>,
    /// `dscp` (default inherited).
    pub dscp: Dscp,
    /// `dont-fragment` (default no).
    pub dont_fragment: DontFragment,
    /// `clamp-tcp-mss` (default yes).
    pub clamp_tcp_mss: bool,
    /// `ipsec-secret`.
    pub ipsec_secret: Option<String>,
    /// Outer TTL (default 255).
    pub ttl: u8,
}

impl Default for SixToFourConfig {
    fn default() -> Self {
        SixToFourConfig {
            name: String::new(),
            comment: String::new(),
            disabled: false,
            local_address: Ipv4Addr::UNSPECIFIED,
            remote_address: None,
            mtu: Mtu::Auto,
            keepalive: None,
            dscp: Dscp::Inherit,
            dont_fragment: DontFragment::No,
            clamp_tcp_mss: true,
            ipsec_secret: None,
            ttl: 255,
        }
    }
}

impl SixToFourConfig {
    /// Validate and convert.
    pub fn to_tunnel(&self) -> Result<TunnelConfig, Error> {
        let t = outer_tunnel!(
            self,
            TunnelKind::SixToFour,
            IpAddr::V4(self.local_address),
            self.remote_address.map(IpAddr::V4)
        );
        t.validate()?;
        Ok(t)
    }

    ipsec_hint_method!();
}

/// `/interface gre6`: GRE over IPv6. Not in the seed pages; properties and defaults as RouterOS
/// documents them for `gre6` (those of `/interface gre` with IPv6 addresses and no
/// `dont-fragment`, since IPv6 routers never fragment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gre6Config {
    /// `name`.
    pub name: String,
    /// `comment`.
    pub comment: String,
    /// `disabled` (default no).
    pub disabled: bool,
    /// `local-address` (default `::` = outgoing interface address).
    pub local_address: std::net::Ipv6Addr,
    /// `remote-address` (required).
    pub remote_address: Option<std::net::Ipv6Addr>,
    /// `mtu` (default auto: 1456 = 1500 - 40 - 4 on a 1500 link).
    pub mtu: Mtu,
    /// `l2mtu` (default 65535, informational).
    pub l2mtu: u16,
    /// `keepalive` (default 10s,10).
    pub keepalive: Option<Keepalive>,
    /// `dscp` (default inherit): the outer traffic class's DSCP.
    pub dscp: Dscp,
    /// `clamp-tcp-mss` (default yes).
    pub clamp_tcp_mss: bool,
    /// `allow-fast-path` (default yes; informational).
    pub allow_fast_path: bool,
    /// `ipsec-secret` (default empty).
    pub ipsec_secret: Option<String>,
    /// Extension (Linux `key`): GRE key.
    pub key: Option<u32>,
    /// Extension (Linux `csum`): send GRE checksums.
    pub checksum: bool,
    /// Extension (Linux `seq`): send sequence numbers.
    pub sequence: bool,
    /// Outer hop limit (default 255).
    pub ttl: u8,
}

impl Default for Gre6Config {
    fn default() -> Self {
        Gre6Config {
            name: String::new(),
            comment: String::new(),
            disabled: false,
            local_address: std::net::Ipv6Addr::UNSPECIFIED,
            remote_address: None,
            mtu: Mtu::Auto,
            l2mtu: 65535,
            keepalive: Some(Keepalive::DEFAULT),
            dscp: Dscp::Inherit,
            clamp_tcp_mss: true,
            allow_fast_path: true,
            ipsec_secret: None,
            key: None,
            checksum: false,
            sequence: false,
            ttl: 255,
        }
    }
}

/// The outer-header properties of the IPv6-outer interfaces (`gre6`, `ipipv6`: no
/// `dont-fragment`, IPv6 routers never fragment).
macro_rules! outer_tunnel_v6 {
    ($cfg:expr, $kind:expr) => {{
        let mut t = TunnelConfig::new(
            $kind,
            IpAddr::V6($cfg.local_address),
            $cfg.remote_address.map(IpAddr::V6),
        );
        t.mtu = $cfg.mtu;
        t.keepalive = $cfg.keepalive;
        t.dscp = $cfg.dscp;
        t.clamp_tcp_mss = $cfg.clamp_tcp_mss;
        t.ttl = $cfg.ttl;
        t
    }};
}

impl Gre6Config {
    /// Validate and convert.
    pub fn to_tunnel(&self) -> Result<TunnelConfig, Error> {
        let mut t = outer_tunnel_v6!(self, TunnelKind::Gre6);
        t.key = self.key;
        t.checksum = self.checksum;
        t.sequence = self.sequence;
        t.validate()?;
        Ok(t)
    }

    ipsec_hint_method!();
}

/// `/interface ipipv6`: IPv4 and IPv6 over IPv6 (RFC 2473). Not in the seed pages; properties
/// and defaults as RouterOS documents them for `ipipv6` (those of `/interface ipip` with IPv6
/// addresses and no `dont-fragment`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipipv6Config {
    /// `name`.
    pub name: String,
    /// `comment` (default empty).
    pub comment: String,
    /// `disabled` (default no).
    pub disabled: bool,
    /// `local-address` (default `::` = outgoing interface address).
    pub local_address: std::net::Ipv6Addr,
    /// `remote-address` (required).
    pub remote_address: Option<std::net::Ipv6Addr>,
    /// `mtu` (default auto: 1460 = 1500 - 40 on a 1500 link).
    pub mtu: Mtu,
    /// `keepalive` (default 10s,10).
    pub keepalive: Option<Keepalive>,
    /// `dscp` (default inherit).
    pub dscp: Dscp,
    /// `clamp-tcp-mss` (default yes).
    pub clamp_tcp_mss: bool,
    /// `ipsec-secret`.
    pub ipsec_secret: Option<String>,
    /// Outer hop limit (default 255).
    pub ttl: u8,
}

impl Default for Ipipv6Config {
    fn default() -> Self {
        Ipipv6Config {
            name: String::new(),
            comment: String::new(),
            disabled: false,
            local_address: std::net::Ipv6Addr::UNSPECIFIED,
            remote_address: None,
            mtu: Mtu::Auto,
            keepalive: Some(Keepalive::DEFAULT),
            dscp: Dscp::Inherit,
            clamp_tcp_mss: true,
            ipsec_secret: None,
            ttl: 255,
        }
    }
}

impl Ipipv6Config {
    /// Validate and convert.
    pub fn to_tunnel(&self) -> Result<TunnelConfig, Error> {
        let t = outer_tunnel_v6!(self, TunnelKind::Ipipv6);
        t.validate()?;
        Ok(t)
    }

    ipsec_hint_method!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn keepalive_syntax() {
        assert_eq!(
            Keepalive::parse_routeros("10s,10").unwrap(),
            Some(Keepalive::DEFAULT)
        );
        assert_eq!(
            Keepalive::parse_routeros("10,10").unwrap(),
            Some(Keepalive::DEFAULT)
        );
        assert_eq!(
            Keepalive::parse_routeros("1m30s,3")
                .unwrap()
                .unwrap()
                .interval,
            Duration::from_secs(90)
        );
        assert_eq!(Keepalive::parse_routeros("0,0").unwrap(), None);
        assert!(matches!(
            Keepalive::parse_routeros("10s"),
            Err(Error::Config {
                field: "keepalive",
                ..
            })
        ));
        assert!(matches!(
            Keepalive::parse_routeros("10x,1"),
            Err(Error::Config {
                field: "keepalive",
                ..
            })
        ));
        assert_eq!(Keepalive::DEFAULT.timeout(), Duration::from_secs(100));
    }

    #[test]
    fn mtu_derivation_on_1500_link() {
        let gre = GreConfig {
            remote_address: Some(v4("192.168.90.1")),
            ..Default::default()
        }
        .to_tunnel()
        .unwrap();
        assert_eq!(gre.actual_mtu(), 1476);
        let eoip = EoipConfig {
            remote_address: Some("10.0.0.2".parse().unwrap()),
            tunnel_id: Some(0),
            ..Default::default()
        }
        .to_tunnel()
        .unwrap();
        assert_eq!(eoip.actual_mtu(), 1458);
        let ipip = IpipConfig {
            remote_address: Some(v4("22.63.11.6")),
            ..Default::default()
        }
        .to_tunnel()
        .unwrap();
        assert_eq!(ipip.actual_mtu(), 1480);
        let sit = SixToFourConfig {
            local_address: v4("194.105.56.170"),
            remote_address: Some(v4("216.66.80.90")),
            mtu: Mtu::Fixed(1280),
            ..Default::default()
        }
        .to_tunnel()
        .unwrap();
        assert_eq!(sit.actual_mtu(), 1280);
        let mut keyed = gre.clone();
        keyed.key = Some(1);
        assert_eq!(keyed.actual_mtu(), 1472);
        let gre6 = Gre6Config {
            remote_address: Some("fd00::2".parse().unwrap()),
            ..Default::default()
        }
        .to_tunnel()
        .unwrap();
        assert_eq!(gre6.actual_mtu(), 1456);
        let ipipv6 = Ipipv6Config {
            remote_address: Some("fd00::2".parse().unwrap()),
            ..Default::default()
        }
        .to_tunnel()
        .unwrap();
        assert_eq!(ipipv6.actual_mtu(), 1460);
    }

    #[test]
    fn routeros_defaults() {
        let g = GreConfig::default();
        assert_eq!(g.keepalive, Some(Keepalive::DEFAULT));
        assert_eq!(g.local_address, Ipv4Addr::UNSPECIFIED);
        assert_eq!(g.l2mtu, 65535);
        assert!(g.clamp_tcp_mss && g.allow_fast_path && !g.disabled);
        assert_eq!(g.dont_fragment, DontFragment::No);
        let e = EoipConfig::default();
        assert_eq!(e.dscp, Dscp::Inherit);
        assert_eq!(e.arp, Arp::Enabled);
        assert_eq!(e.loop_protect_send_interval, Duration::from_secs(5));
        assert_eq!(e.loop_protect_disable_time, Duration::from_secs(300));
        assert_eq!(SixToFourConfig::default().keepalive, None);
        assert_eq!(IpipConfig::default().keepalive, Some(Keepalive::DEFAULT));
    }

    #[test]
    fn validation_names_the_field() {
        let field = |r: Result<TunnelConfig, Error>| match r {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert_eq!(field(GreConfig::default().to_tunnel()), "remote-address");
        let base = GreConfig {
            remote_address: Some(v4("10.0.0.2")),
            ..Default::default()
        };
        assert_eq!(
            field(
                GreConfig {
                    dscp: Dscp::Fixed(64),
                    ..base.clone()
                }
                .to_tunnel()
            ),
            "dscp"
        );
        assert_eq!(
            field(
                GreConfig {
                    mtu: Mtu::Fixed(20),
                    ..base.clone()
                }
                .to_tunnel()
            ),
            "mtu"
        );
        assert_eq!(
            field(
                GreConfig {
                    ttl: 0,
                    ..base.clone()
                }
                .to_tunnel()
            ),
            "ttl"
        );
        assert_eq!(
            field(
                EoipConfig {
                    remote_address: Some("10.0.0.2".parse().unwrap()),
                    ..Default::default()
                }
                .to_tunnel()
            ),
            "tunnel-id"
        );
        assert_eq!(
            field(
                EoipConfig {
                    local_address: "2001:db8::1".parse().unwrap(),
                    remote_address: Some("2001:db8::2".parse().unwrap()),
                    tunnel_id: Some(5000),
                    ..Default::default()
                }
                .to_tunnel()
            ),
            "tunnel-id"
        );
        assert_eq!(
            field(
                EoipConfig {
                    local_address: "2001:db8::1".parse().unwrap(),
                    remote_address: Some("10.0.0.2".parse().unwrap()),
                    tunnel_id: Some(1),
                    ..Default::default()
                }
                .to_tunnel()
            ),
            "remote-address"
        );
        assert_eq!(
            field(
                SixToFourConfig {
                    mtu: Mtu::Fixed(1000),
                    ..Default::default()
                }
                .to_tunnel()
            ),
            "mtu"
        );
        // automatic 6to4 needs no remote-address
        assert!(SixToFourConfig::default().to_tunnel().is_ok());
        assert_eq!(field(Gre6Config::default().to_tunnel()), "remote-address");
        assert_eq!(field(Ipipv6Config::default().to_tunnel()), "remote-address");
        // an IPv4 remote on a gre6 tunnel (built by hand) is refused
        let mut t = TunnelConfig::new(
            TunnelKind::Gre6,
            "fd00::1".parse().unwrap(),
            Some("10.0.0.2".parse().unwrap()),
        );
        assert_eq!(field(t.validate().map(|_| t.clone())), "remote-address");
        t.remote = Some("fd00::2".parse().unwrap());
        t.mtu = Mtu::Fixed(1000);
        assert_eq!(field(t.validate().map(|_| t.clone())), "mtu");
    }

    #[test]
    fn ipsec_secret_yields_a_hint() {
        let g = GreConfig {
            local_address: v4("192.168.80.1"),
            remote_address: Some(v4("192.168.90.1")),
            ipsec_secret: Some("s3cret".into()),
            ..Default::default()
        };
        let h = g.ipsec_hint().unwrap();
        assert_eq!(h.protocol, 47);
        assert_eq!(h.peer, IpAddr::V4(v4("192.168.90.1")));
        assert_eq!((h.phase2_auth, h.phase2_enc), ("sha1", "aes128cbc"));
        assert_eq!(
            GreConfig {
                ipsec_secret: None,
                ..g
            }
            .ipsec_hint(),
            None
        );
    }
}
