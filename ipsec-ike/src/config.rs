//! The RouterOS `/ip ipsec` object model (seed 003 L1173-1499) with its defaults, validation
//! and the matching rules of spec section 1.A.
//!
//! ```text
//!  /ip ipsec peer      -> Peer       (address, exchange-mode, passive, port, profile)
//!  /ip ipsec profile   -> Profile    (phase 1: dh-group, enc/hash, lifetime, dpd)
//!  /ip ipsec identity  -> Identity   (per peer: auth-method, secret/certificates, ids,
//!                                     generate-policy, mode-config, policy-template-group)
//!  /ip ipsec proposal  -> Proposal   (phase 2: auth/enc algorithms, lifetime, pfs-group)
//!  /ip ipsec policy    -> Policy     (SPD entries and templates, in order)
//!  /ip ipsec policy group, /ip ipsec mode-config, /ip ipsec settings
//! ```
//!
//! The same objects serve IKEv1 later (issue #18): `exchange-mode` selects the protocol, and
//! the SPD/SAD/ESP engines below do not depend on the key exchange.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use crate::crypto::{Encr, Group, Integ, Prf};
use crate::error::ConfigError;

pub mod props;

/// An address prefix (`10.0.0.0/24`, `::/0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    /// Network address (host bits may be set; they are ignored when matching).
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl IpPrefix {
    /// A prefix; `len` is clamped to the family's width.
    pub fn new(addr: IpAddr, len: u8) -> IpPrefix {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        IpPrefix {
            addr,
            len: len.min(max),
        }
    }
    /// A host prefix (/32 or /128).
    pub fn host(addr: IpAddr) -> IpPrefix {
        IpPrefix::new(addr, 128)
    }
    fn bits(a: IpAddr) -> (u128, u8) {
        match a {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        }
    }
    fn mask(&self) -> u128 {
        let (_, w) = Self::bits(self.addr);
        if self.len == 0 {
            0
        } else {
            let full = if w == 32 {
                u128::from(u32::MAX)
            } else {
                u128::MAX
            };
            full & !(full >> self.len)
        }
    }
    /// Whether `a` is inside the prefix. `0.0.0.0/0` and `::/0` match every address of either
    /// family (RouterOS uses `::/0` in the default template for both).
    pub fn contains(&self, a: IpAddr) -> bool {
        if self.len == 0 {
            return true;
        }
        if self.addr.is_ipv4() != a.is_ipv4() {
            return false;
        }
        let (n, _) = Self::bits(self.addr);
        let (x, _) = Self::bits(a);
        n & self.mask() == x & self.mask()
    }
    /// Whether `other` lies entirely inside this prefix.
    pub fn covers(&self, other: &IpPrefix) -> bool {
        (self.len == 0 || self.addr.is_ipv4() == other.addr.is_ipv4())
            && self.len <= other.len
            && self.contains(other.addr)
    }
    /// First address.
    pub fn first(&self) -> IpAddr {
        let (n, w) = Self::bits(self.addr);
        Self::from_bits(n & self.mask(), w)
    }
    /// Last address.
    pub fn last(&self) -> IpAddr {
        let (n, w) = Self::bits(self.addr);
        let full = if w == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        Self::from_bits((n & self.mask()) | (full & !self.mask()), w)
    }
    fn from_bits(v: u128, w: u8) -> IpAddr {
        if w == 32 {
            IpAddr::V4(Ipv4Addr::from(v as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(v))
        }
    }
    /// The smallest prefix holding `start..=end`, if that range is exactly a prefix.
    pub fn from_range(start: IpAddr, end: IpAddr) -> Option<IpPrefix> {
        let (s, w) = Self::bits(start);
        let (e, w2) = Self::bits(end);
        if w != w2 || s > e {
            return None;
        }
        for len in 0..=w {
            let p = IpPrefix::new(start, len);
            if Self::bits(p.first()).0 == s && Self::bits(p.last()).0 == e {
                return Some(p);
            }
        }
        None
    }
}

impl FromStr for IpPrefix {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| ConfigError::invalid("address", format!("{s:?} is not an address")))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            Some(l) => l.parse::<u8>().ok().filter(|&n| n <= max).ok_or_else(|| {
                ConfigError::invalid("address", format!("bad prefix length in {s:?}"))
            })?,
            None => max,
        };
        Ok(IpPrefix { addr, len })
    }
}

impl core::fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// `exchange-mode` (L1289). Only `ike2` is driven by this crate today; the others are kept
/// so peers of all modes can be configured side by side (IKEv1 is issue #18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ExchangeMode {
    /// IKEv1 main mode (RouterOS default).
    #[default]
    Main,
    /// IKEv1 aggressive mode.
    Aggressive,
    /// IKEv1 base mode.
    Base,
    /// IKEv1 main mode for L2TP dynamic peers (`main-l2tp`, L2230).
    MainL2tp,
    /// IKEv2.
    Ike2,
}

/// `proposal-check` (L1314-1319; ignored by IKEv2, L1289).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProposalCheck {
    /// Take the shorter lifetime and notify.
    Claim,
    /// Lifetimes must be equal.
    Exact,
    /// Accept the initiator's.
    #[default]
    Obey,
    /// Reject longer than configured.
    Strict,
}

/// `/ip ipsec profile` (phase 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// `name`.
    pub name: String,
    /// `dh-group` (default `modp1024,modp2048`).
    pub dh_group: Vec<Group>,
    /// `dpd-interval` (default 8s; `None` = `disable-dpd`).
    pub dpd_interval: Option<Duration>,
    /// `dpd-maximum-failures` (default 4; IKEv1 only, ignored by IKEv2, L1289).
    pub dpd_maximum_failures: u32,
    /// `enc-algorithm` (default `aes-128`).
    pub enc_algorithm: Vec<Encr>,
    /// `hash-algorithm` (default `sha1`): the PRF and integrity of the IKE SA.
    pub hash_algorithm: Vec<HashAlgorithm>,
    /// `lifebytes` (default 0; IKEv1 only).
    pub lifebytes: u64,
    /// `lifetime` (default 1d).
    pub lifetime: Duration,
    /// `nat-traversal` (default yes; IKEv2 always does NAT detection, L1289).
    pub nat_traversal: bool,
    /// `proposal-check` (default obey; IKEv1 only).
    pub proposal_check: ProposalCheck,
}

/// `hash-algorithm` values (L1309): PRF and integrity of the IKE SA together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// md5.
    Md5,
    /// sha1.
    Sha1,
    /// sha256.
    Sha256,
    /// sha512.
    Sha512,
}

impl HashAlgorithm {
    /// The PRF.
    pub fn prf(self) -> Prf {
        match self {
            HashAlgorithm::Md5 => Prf::HmacMd5,
            HashAlgorithm::Sha1 => Prf::HmacSha1,
            HashAlgorithm::Sha256 => Prf::HmacSha256,
            HashAlgorithm::Sha512 => Prf::HmacSha512,
        }
    }
    /// The integrity algorithm.
    pub fn integ(self) -> Integ {
        match self {
            HashAlgorithm::Md5 => Integ::HmacMd5_96,
            HashAlgorithm::Sha1 => Integ::HmacSha1_96,
            HashAlgorithm::Sha256 => Integ::HmacSha256_128,
            HashAlgorithm::Sha512 => Integ::HmacSha512_256,
        }
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: "default".into(),
            dh_group: vec![Group::Modp(1024), Group::Modp(2048)],
            dpd_interval: Some(Duration::from_secs(8)),
            dpd_maximum_failures: 4,
            enc_algorithm: vec![Encr::AesCbc(16)],
            hash_algorithm: vec![HashAlgorithm::Sha1],
            lifebytes: 0,
            lifetime: Duration::from_secs(86_400),
            nat_traversal: true,
            proposal_check: ProposalCheck::Obey,
        }
    }
}

/// `/ip ipsec proposal` (phase 2).
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    /// `name`.
    pub name: String,
    /// `auth-algorithms` (default `sha1`); `None` in the list stands for `null` (with GCM).
    pub auth_algorithms: Vec<Option<Integ>>,
    /// `enc-algorithms` (default `aes-256-cbc,aes-192-cbc,aes-128-cbc`).
    pub enc_algorithms: Vec<Encr>,
    /// `lifetime` (default 30m).
    pub lifetime: Duration,
    /// Byte lifetime (RouterOS has none on proposals; 0 = none). Soft at 90 %.
    pub lifebytes: u64,
    /// `pfs-group` (default `modp1024`; `None` = `none`).
    pub pfs_group: Option<Group>,
    /// `disabled`.
    pub disabled: bool,
}

impl Default for Proposal {
    fn default() -> Self {
        Proposal {
            name: "default".into(),
            auth_algorithms: vec![Some(Integ::HmacSha1_96)],
            enc_algorithms: vec![Encr::AesCbc(32), Encr::AesCbc(24), Encr::AesCbc(16)],
            lifetime: Duration::from_secs(1800),
            lifebytes: 0,
            pfs_group: Some(Group::Modp(1024)),
            disabled: false,
        }
    }
}

/// `/ip ipsec peer`.
#[derive(Clone, Debug, PartialEq)]
pub struct Peer {
    /// `name`.
    pub name: String,
    /// `address` (default `0.0.0.0/0`): remote addresses this peer stands for.
    pub address: IpPrefix,
    /// `local-address` (empty = any).
    pub local_address: Option<IpAddr>,
    /// `exchange-mode` (default main).
    pub exchange_mode: ExchangeMode,
    /// `passive` (default no): only respond, never initiate.
    pub passive: bool,
    /// `port` (default 500): the remote port the initiator sends to.
    pub port: u16,
    /// `profile` (default `default`).
    pub profile: String,
    /// `send-initial-contact` (default yes).
    pub send_initial_contact: bool,
    /// `disabled`.
    pub disabled: bool,
}

impl Default for Peer {
    fn default() -> Self {
        Peer {
            name: String::new(),
            address: IpPrefix::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            local_address: None,
            exchange_mode: ExchangeMode::Main,
            passive: false,
            port: 500,
            profile: "default".into(),
            send_initial_contact: true,
            disabled: false,
        }
    }
}

/// `auth-method` (L1326).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdentityAuth {
    /// pre-shared-key (default).
    #[default]
    PreSharedKey,
    /// digital-signature (certificates).
    DigitalSignature,
    /// eap (initiator side, `eap-methods`).
    Eap,
    /// eap-radius (responder side, passthrough to a backend).
    EapRadius,
    /// pre-shared-key-xauth (IKEv1 only).
    PreSharedKeyXauth,
    /// rsa-key (IKEv1 only).
    RsaKey,
    /// rsa-signature-hybrid (IKEv1 only).
    RsaSignatureHybrid,
}

/// `my-id` / `remote-id` values (L1359-1381).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum IdSpec {
    /// auto: my-id = local address (PSK) or certificate subject; remote-id accepts any.
    #[default]
    Auto,
    /// address:IP.
    Address(IpAddr),
    /// fqdn:NAME.
    Fqdn(String),
    /// user-fqdn:user@NAME.
    UserFqdn(String),
    /// key-id:BYTES (wildcards not supported, L1383).
    KeyId(Vec<u8>),
    /// dn: a DER distinguished name (or written as `CN=...` and matched textually).
    Dn(String),
    /// ignore (remote-id only): skip verification.
    Ignore,
}

impl FromStr for IdSpec {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        if s == "auto" {
            return Ok(IdSpec::Auto);
        }
        if s == "ignore" {
            return Ok(IdSpec::Ignore);
        }
        let (k, v) = s
            .split_once(':')
            .ok_or_else(|| ConfigError::invalid("my-id", format!("{s:?}: expected type:value")))?;
        Ok(match k {
            "address" => {
                IdSpec::Address(v.parse().map_err(|_| {
                    ConfigError::invalid("my-id", format!("{v:?} is not an address"))
                })?)
            }
            "fqdn" => IdSpec::Fqdn(v.into()),
            "user-fqdn" => IdSpec::UserFqdn(v.into()),
            "key-id" => {
                if v.contains('*') {
                    return Err(ConfigError::invalid(
                        "remote-id",
                        "wildcard key-id is not supported",
                    ));
                }
                IdSpec::KeyId(v.as_bytes().to_vec())
            }
            "dn" => IdSpec::Dn(v.into()),
            other => {
                return Err(ConfigError::invalid(
                    "my-id",
                    format!("unknown id type {other:?}"),
                ))
            }
        })
    }
}

/// `generate-policy` (L1346).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GeneratePolicy {
    /// no (default).
    #[default]
    No,
    /// port-override: generated policies take any port.
    PortOverride,
    /// port-strict: ports from the peer's selectors.
    PortStrict,
}

/// `match-by` (L1353).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MatchBy {
    /// remote-id (default).
    #[default]
    RemoteId,
    /// certificate: the peer's certificate must equal `remote-certificate`.
    Certificate,
}

/// `/ip ipsec identity`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Identity {
    /// `peer` this identity belongs to.
    pub peer: String,
    /// `auth-method`.
    pub auth_method: IdentityAuth,
    /// `secret`: the PSK; `0x...` is hexadecimal (L1385).
    pub secret: String,
    /// `certificate`: name of our certificate in the [`crate::auth::CertStore`].
    pub certificate: String,
    /// `remote-certificate`: pinned peer certificate name (match-by=certificate).
    pub remote_certificate: String,
    /// `eap-methods` (only eap-mschapv2 is built in).
    pub eap_methods: Vec<String>,
    /// `generate-policy`.
    pub generate_policy: GeneratePolicy,
    /// `match-by`.
    pub match_by: MatchBy,
    /// `mode-config`: `None` = none; `Some("request-only")` on an initiator; a mode-config
    /// name on a responder.
    pub mode_config: Option<String>,
    /// `my-id`.
    pub my_id: IdSpec,
    /// `remote-id`.
    pub remote_id: IdSpec,
    /// `policy-template-group` (default `default`; `None` = none).
    pub policy_template_group: Option<String>,
    /// `username` (EAP).
    pub username: String,
    /// `password` (EAP).
    pub password: String,
    /// `disabled`.
    pub disabled: bool,
}

impl Identity {
    /// A PSK identity for `peer`.
    pub fn psk(peer: &str, secret: &str) -> Identity {
        Identity {
            peer: peer.into(),
            secret: secret.into(),
            policy_template_group: Some("default".into()),
            ..Identity::default()
        }
    }
    /// The PSK bytes: `0x`-prefixed secrets are hexadecimal (L1385).
    pub fn secret_bytes(&self) -> Result<Vec<u8>, ConfigError> {
        if let Some(h) = self.secret.strip_prefix("0x") {
            if h.len() % 2 != 0 {
                return Err(ConfigError::invalid("secret", "odd number of hex digits"));
            }
            (0..h.len())
                .step_by(2)
                .map(|i| {
                    u8::from_str_radix(&h[i..i + 2], 16)
                        .map_err(|_| ConfigError::invalid("secret", "bad hex digit"))
                })
                .collect()
        } else {
            Ok(self.secret.as_bytes().to_vec())
        }
    }
}

/// `action` (L1178).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PolicyAction {
    /// Transform (default).
    #[default]
    Encrypt,
    /// Drop.
    Discard,
    /// Pass unchanged.
    None,
}

/// `level` (L1190).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PolicyLevel {
    /// Drop and acquire when no SA (default).
    #[default]
    Require,
    /// Pass in clear when no SA, no acquire.
    Use,
    /// Like require, with an SA bound to this policy only.
    Unique,
}

/// `ipsec-protocols` (L1189).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IpsecProtocol {
    /// ESP (default).
    #[default]
    Esp,
    /// AH.
    Ah,
}

/// `/ip ipsec policy`: an SPD entry or a template.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// `src-address` (default 0.0.0.0/32).
    pub src_address: IpPrefix,
    /// `dst-address` (default 0.0.0.0/32).
    pub dst_address: IpPrefix,
    /// `src-port` (None = any).
    pub src_port: Option<u16>,
    /// `dst-port` (None = any).
    pub dst_port: Option<u16>,
    /// `protocol` (0 = all).
    pub protocol: u8,
    /// `action`.
    pub action: PolicyAction,
    /// `level`.
    pub level: PolicyLevel,
    /// `ipsec-protocols`.
    pub ipsec_protocols: IpsecProtocol,
    /// `tunnel` (default no: transport).
    pub tunnel: bool,
    /// `sa-src-address`.
    pub sa_src_address: Option<IpAddr>,
    /// `sa-dst-address`.
    pub sa_dst_address: Option<IpAddr>,
    /// `proposal` (default `default`).
    pub proposal: String,
    /// `peer`.
    pub peer: String,
    /// `group` (default `default`).
    pub group: String,
    /// `template` (default no).
    pub template: bool,
    /// `disabled`.
    pub disabled: bool,
    /// `comment`.
    pub comment: String,
}

impl Default for Policy {
    fn default() -> Self {
        let any = IpPrefix::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 32);
        Policy {
            src_address: any,
            dst_address: any,
            src_port: None,
            dst_port: None,
            protocol: 0,
            action: PolicyAction::Encrypt,
            level: PolicyLevel::Require,
            ipsec_protocols: IpsecProtocol::Esp,
            tunnel: false,
            sa_src_address: None,
            sa_dst_address: None,
            proposal: "default".into(),
            peer: String::new(),
            group: "default".into(),
            template: false,
            disabled: false,
            comment: String::new(),
        }
    }
}

impl Policy {
    /// The built-in default template: `group=default src-address=::/0 dst-address=::/0
    /// protocol=all proposal=default template=yes` (L1508).
    pub fn default_template() -> Policy {
        let all = IpPrefix::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0);
        Policy {
            src_address: all,
            dst_address: all,
            template: true,
            ..Policy::default()
        }
    }
}

/// `/ip ipsec mode-config`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ModeConfig {
    /// `name`.
    pub name: String,
    /// `address`: the single address handed out.
    pub address: Option<Ipv4Addr>,
    /// `address-prefix-length`.
    pub address_prefix_length: Option<u8>,
    /// `responder`.
    pub responder: bool,
    /// `split-include`: networks sent as INTERNAL_IP4_SUBNET (and Unity split include).
    pub split_include: Vec<IpPrefix>,
    /// `split-dns`: domains sent as INTERNAL_DNS_DOMAIN (25) and UNITY_SPLITDNS_NAME (28675).
    pub split_dns: Vec<String>,
    /// `static-dns`.
    pub static_dns: Vec<IpAddr>,
    /// `system-dns` (the caller's resolvers, given in [`Settings::system_dns`]).
    pub system_dns: bool,
}

/// `/ip ipsec settings` and engine bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Half-open IKE SAs (responder) above which every IKE_SA_INIT must carry a cookie.
    pub cookie_threshold: usize,
    /// Hard bound on half-open IKE SAs (responder): further IKE_SA_INIT requests are dropped.
    pub half_open_limit: usize,
    /// Half-open IKE SAs allowed per source address (IPv4 /32, IPv6 /64).
    pub half_open_per_source: usize,
    /// Bound on established IKE SAs.
    pub max_ike_sas: usize,
    /// How long a half-open responder SA waits for IKE_AUTH.
    pub half_open_timeout: Duration,
    /// First retransmission timeout of a request (doubles each time).
    pub retransmit_timeout: Duration,
    /// Retransmissions before giving up (total sends = tries + 1).
    pub retransmit_tries: u32,
    /// Fragment IKE messages larger than this (RFC 7383), when the peer supports it.
    pub fragment_size: usize,
    /// NAT-T keepalive interval (RFC 3948 4; strongSwan and RouterOS use 20 s).
    pub nat_keepalive: Duration,
    /// Anti-replay window of installed SAs.
    pub replay_window: u32,
    /// System DNS servers for mode-config `system-dns=yes`.
    pub system_dns: Vec<IpAddr>,
    /// Always UDP-encapsulate ESP (strongSwan `encap = yes`): our NAT_DETECTION_SOURCE_IP
    /// hash is made not to match, so both sides move to port 4500 (RFC 7296 2.23 allows it).
    /// Needed where raw IP protocol 50 cannot be sent (the `ike` example).
    pub force_encap: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            cookie_threshold: 10,
            half_open_limit: 1000,
            half_open_per_source: 5,
            max_ike_sas: 10_000,
            half_open_timeout: Duration::from_secs(30),
            retransmit_timeout: Duration::from_secs(2),
            retransmit_tries: 4,
            fragment_size: 1280,
            nat_keepalive: Duration::from_secs(20),
            replay_window: 128,
            system_dns: Vec::new(),
            force_encap: false,
        }
    }
}

/// All objects of `/ip ipsec`.
#[derive(Clone, Debug, PartialEq)]
pub struct IpsecConfig {
    /// Peers.
    pub peers: Vec<Peer>,
    /// Profiles (a `default` one is always present).
    pub profiles: Vec<Profile>,
    /// Identities.
    pub identities: Vec<Identity>,
    /// Proposals (a `default` one is always present).
    pub proposals: Vec<Proposal>,
    /// Policies in order (the default template first).
    pub policies: Vec<Policy>,
    /// Policy groups (`default` always present).
    pub groups: Vec<String>,
    /// Mode configs (`request-only` always present).
    pub mode_configs: Vec<ModeConfig>,
    /// Settings.
    pub settings: Settings,
}

impl Default for IpsecConfig {
    fn default() -> Self {
        IpsecConfig {
            peers: Vec::new(),
            profiles: vec![Profile::default()],
            identities: Vec::new(),
            proposals: vec![Proposal::default()],
            policies: vec![Policy::default_template()],
            groups: vec!["default".into()],
            mode_configs: vec![ModeConfig {
                name: "request-only".into(),
                ..ModeConfig::default()
            }],
            settings: Settings::default(),
        }
    }
}

/// Why a policy is marked invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyProblem {
    /// Another enabled policy before it has the same src/dst (L1217).
    DuplicateSrcDst(usize),
}

impl IpsecConfig {
    /// Check references and values; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for p in &self.peers {
            if self.profile(&p.profile).is_none() {
                return Err(ConfigError::invalid(
                    "profile",
                    format!("peer {:?}: no profile {:?}", p.name, p.profile),
                ));
            }
            if p.port == 0 {
                return Err(ConfigError::invalid("port", "0"));
            }
        }
        // Two peers may share an address only with different exchange modes (L1283).
        for (i, a) in self.peers.iter().enumerate() {
            for b in &self.peers[i + 1..] {
                if !a.disabled
                    && !b.disabled
                    && a.address == b.address
                    && a.exchange_mode == b.exchange_mode
                {
                    return Err(ConfigError::invalid(
                        "exchange-mode",
                        format!(
                            "peers {:?} and {:?} have the same address and exchange-mode",
                            a.name, b.name
                        ),
                    ));
                }
            }
        }
        for id in &self.identities {
            if self.peers.iter().all(|p| p.name != id.peer) {
                return Err(ConfigError::invalid(
                    "peer",
                    format!("identity for unknown peer {:?}", id.peer),
                ));
            }
            id.secret_bytes()?;
            if let Some(mc) = &id.mode_config {
                if self.mode_config(mc).is_none() {
                    return Err(ConfigError::invalid(
                        "mode-config",
                        format!("no mode-config {mc:?}"),
                    ));
                }
            }
        }
        for p in &self.profiles {
            if p.dh_group.is_empty() || p.enc_algorithm.is_empty() || p.hash_algorithm.is_empty() {
                return Err(ConfigError::invalid(
                    "dh-group",
                    format!("profile {:?} has an empty list", p.name),
                ));
            }
            if p.enc_algorithm
                .iter()
                .any(|e| e.is_aead() || *e == Encr::Null || *e == Encr::Des)
            {
                // L1077: AES-GCM is not offered for the IKE SA by RouterOS.
                return Err(ConfigError::invalid(
                    "enc-algorithm",
                    format!("profile {:?}: not an IKE cipher", p.name),
                ));
            }
        }
        for p in &self.proposals {
            if p.enc_algorithms.is_empty() {
                return Err(ConfigError::invalid(
                    "enc-algorithms",
                    format!("proposal {:?} is empty", p.name),
                ));
            }
        }
        for m in &self.mode_configs {
            if !m.static_dns.is_empty() && m.system_dns {
                return Err(ConfigError::invalid(
                    "system-dns",
                    "system-dns and static-dns cannot be combined",
                ));
            }
        }
        for p in &self.policies {
            if self.proposal(&p.proposal).is_none() {
                return Err(ConfigError::invalid(
                    "proposal",
                    format!("no proposal {:?}", p.proposal),
                ));
            }
            if !p.peer.is_empty() && self.peer(&p.peer).is_none() {
                return Err(ConfigError::invalid(
                    "peer",
                    format!("policy names unknown peer {:?}", p.peer),
                ));
            }
            if !self.groups.contains(&p.group) {
                return Err(ConfigError::invalid(
                    "group",
                    format!("no policy group {:?}", p.group),
                ));
            }
            if p.ipsec_protocols == IpsecProtocol::Ah && p.tunnel && p.sa_dst_address.is_none() {
                return Err(ConfigError::invalid(
                    "sa-dst-address",
                    "tunnel policy without sa-dst-address",
                ));
            }
        }
        Ok(())
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }
    /// A proposal by name.
    pub fn proposal(&self, name: &str) -> Option<&Proposal> {
        self.proposals
            .iter()
            .find(|p| p.name == name && !p.disabled)
    }
    /// A peer by name.
    pub fn peer(&self, name: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.name == name)
    }
    /// A mode config by name.
    pub fn mode_config(&self, name: &str) -> Option<&ModeConfig> {
        self.mode_configs.iter().find(|m| m.name == name)
    }
    /// Enabled identities of a peer, in order.
    pub fn identities_of<'a>(&'a self, peer: &'a str) -> impl Iterator<Item = &'a Identity> + 'a {
        self.identities
            .iter()
            .filter(move |i| i.peer == peer && !i.disabled)
    }

    /// Peer selection for a remote address (L1286): among enabled peers of `mode` whose
    /// `address` contains `remote` (and whose local-address, if set, is `local`), the most
    /// specific prefix wins; ties go to the earlier entry.
    pub fn select_peer(
        &self,
        remote: IpAddr,
        local: Option<IpAddr>,
        mode: ExchangeMode,
    ) -> Option<&Peer> {
        self.peers
            .iter()
            .filter(|p| !p.disabled && p.exchange_mode == mode && p.address.contains(remote))
            .filter(|p| match (p.local_address, local) {
                (Some(a), Some(l)) => a == l || a.is_unspecified(),
                _ => true,
            })
            .fold(None::<&Peer>, |best, p| match best {
                Some(b) if b.address.len >= p.address.len => Some(b),
                _ => Some(p),
            })
    }

    /// Policy validity (L1217): a later enabled non-template policy with the same src/dst as
    /// an earlier one is invalid. Returns one entry per policy.
    pub fn policy_problems(&self) -> Vec<Option<PolicyProblem>> {
        let mut out = Vec::with_capacity(self.policies.len());
        for (i, p) in self.policies.iter().enumerate() {
            let dup = self.policies[..i].iter().position(|q| {
                !q.disabled
                    && !q.template
                    && !p.template
                    && q.src_address == p.src_address
                    && q.dst_address == p.dst_address
            });
            out.push(dup.map(PolicyProblem::DuplicateSrcDst));
        }
        out
    }

    /// Template check for generate-policy (L1206, L1371): the peer's requested selectors
    /// (`remote` side = the peer's networks, `local` = ours) must lie inside the src/dst of a
    /// template of `group`, in both directions. Returns the index of the matching template.
    pub fn match_template(
        &self,
        group: &str,
        local: &IpPrefix,
        remote: &IpPrefix,
        protocol: u8,
    ) -> Option<usize> {
        self.policies.iter().position(|t| {
            t.template
                && !t.disabled
                && t.group == group
                && t.src_address.covers(local)
                && t.dst_address.covers(remote)
                && (t.protocol == 0 || t.protocol == protocol)
        })
    }
}

/// Parse a RouterOS `dh-group` / `pfs-group` name (`modp2048`, `ecp256`, ...; also
/// `curve25519`).
pub fn parse_group(s: &str) -> Result<Group, ConfigError> {
    Ok(match s {
        "modp768" => Group::Modp(768),
        "modp1024" => Group::Modp(1024),
        "modp1536" => Group::Modp(1536),
        "modp2048" => Group::Modp(2048),
        "modp3072" => Group::Modp(3072),
        "modp4096" => Group::Modp(4096),
        "modp6144" => Group::Modp(6144),
        "modp8192" => Group::Modp(8192),
        "ecp256" => Group::Ecp256,
        "ecp384" => Group::Ecp384,
        "ecp521" => Group::Ecp521,
        "curve25519" => Group::Curve25519,
        _ => {
            return Err(ConfigError::invalid(
                "dh-group",
                format!("unknown group {s:?}"),
            ))
        }
    })
}

/// Parse a RouterOS `enc-algorithm(s)` name: profile names (`aes-128`, `3des`) and proposal
/// names (`aes-256-cbc`, `aes-128-gcm`, `aes-128gcm` as the seed spells it, `aes-192-ctr`,
/// `null`, `des`).
pub fn parse_encr(s: &str) -> Result<Encr, ConfigError> {
    let aes = |bits: &str| -> Option<usize> {
        match bits {
            "128" => Some(16),
            "192" => Some(24),
            "256" => Some(32),
            _ => None,
        }
    };
    let bad = || {
        ConfigError::invalid(
            "enc-algorithms",
            format!("unknown or unsupported algorithm {s:?}"),
        )
    };
    Ok(match s {
        "null" => Encr::Null,
        "des" => Encr::Des,
        "3des" => Encr::TripleDes,
        _ => {
            let rest = s.strip_prefix("aes-").ok_or_else(bad)?;
            let (bits, mode) = match rest.split_once('-') {
                Some((b, m)) => (b, m),
                None => match rest.strip_suffix("gcm") {
                    Some(b) => (b, "gcm"),
                    None => (rest, "cbc"),
                },
            };
            let k = aes(bits).ok_or_else(bad)?;
            match mode {
                "cbc" => Encr::AesCbc(k),
                "ctr" => Encr::AesCtr(k),
                "gcm" => Encr::AesGcm(k, 16),
                _ => return Err(bad()),
            }
        }
    })
}

/// Parse a RouterOS `auth-algorithms` / `hash-algorithm` name for a Child SA (`null` is
/// `None`).
pub fn parse_integ(s: &str) -> Result<Option<Integ>, ConfigError> {
    Ok(match s {
        "null" => None,
        "md5" => Some(Integ::HmacMd5_96),
        "sha1" => Some(Integ::HmacSha1_96),
        "sha256" => Some(Integ::HmacSha256_128),
        "sha512" => Some(Integ::HmacSha512_256),
        _ => {
            return Err(ConfigError::invalid(
                "auth-algorithms",
                format!("unknown algorithm {s:?}"),
            ))
        }
    })
}

/// Parse a profile `hash-algorithm` name.
pub fn parse_hash(s: &str) -> Result<HashAlgorithm, ConfigError> {
    Ok(match s {
        "md5" => HashAlgorithm::Md5,
        "sha1" => HashAlgorithm::Sha1,
        "sha256" => HashAlgorithm::Sha256,
        "sha512" => HashAlgorithm::Sha512,
        _ => {
            return Err(ConfigError::invalid(
                "hash-algorithm",
                format!("unknown algorithm {s:?}"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routeros_names_parse() {
        assert_eq!(parse_group("modp2048").unwrap(), Group::Modp(2048));
        assert_eq!(parse_encr("aes-128").unwrap(), Encr::AesCbc(16));
        assert_eq!(parse_encr("aes-256-cbc").unwrap(), Encr::AesCbc(32));
        assert_eq!(
            parse_encr("aes-128gcm").unwrap(),
            Encr::AesGcm(16, 16),
            "the seed's spelling"
        );
        assert_eq!(parse_encr("aes-192-ctr").unwrap(), Encr::AesCtr(24));
        assert!(parse_encr("twofish").is_err());
        assert_eq!(parse_integ("null").unwrap(), None);
        assert_eq!(parse_hash("sha256").unwrap(), HashAlgorithm::Sha256);
    }

    fn pfx(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_follow_the_seed() {
        let p = Proposal::default();
        assert_eq!(p.auth_algorithms, vec![Some(Integ::HmacSha1_96)]);
        assert_eq!(
            p.enc_algorithms,
            vec![Encr::AesCbc(32), Encr::AesCbc(24), Encr::AesCbc(16)]
        );
        assert_eq!(p.lifetime, Duration::from_secs(30 * 60));
        assert_eq!(p.pfs_group, Some(Group::Modp(1024)));
        let pr = Profile::default();
        assert_eq!(pr.dh_group, vec![Group::Modp(1024), Group::Modp(2048)]);
        assert_eq!(pr.dpd_interval, Some(Duration::from_secs(8)));
        assert_eq!(pr.dpd_maximum_failures, 4);
        assert_eq!(pr.enc_algorithm, vec![Encr::AesCbc(16)]);
        assert_eq!(pr.hash_algorithm, vec![HashAlgorithm::Sha1]);
        assert_eq!(pr.lifetime, Duration::from_secs(86400));
        let peer = Peer::default();
        assert_eq!(
            (peer.port, peer.passive, peer.send_initial_contact),
            (500, false, true)
        );
        assert_eq!(peer.exchange_mode, ExchangeMode::Main);
        let pol = Policy::default();
        assert_eq!(
            (pol.action, pol.level, pol.tunnel),
            (PolicyAction::Encrypt, PolicyLevel::Require, false)
        );
        let c = IpsecConfig::default();
        assert!(c.policies[0].template && c.policies[0].src_address.len == 0);
        assert!(c.mode_config("request-only").is_some());
    }

    #[test]
    fn most_specific_peer_wins_and_modes_coexist() {
        let mut c = IpsecConfig::default();
        let mk = |name: &str, a: &str, m| Peer {
            name: name.into(),
            address: pfx(a),
            exchange_mode: m,
            ..Peer::default()
        };
        c.peers = vec![
            mk("any", "0.0.0.0/0", ExchangeMode::Ike2),
            mk("net", "10.0.0.0/8", ExchangeMode::Ike2),
            mk("host", "10.1.2.3/32", ExchangeMode::Ike2),
            mk("host-v1", "10.1.2.3/32", ExchangeMode::Main),
        ];
        c.validate().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            c.select_peer(ip("10.1.2.3"), None, ExchangeMode::Ike2)
                .unwrap()
                .name,
            "host"
        );
        assert_eq!(
            c.select_peer(ip("10.1.2.4"), None, ExchangeMode::Ike2)
                .unwrap()
                .name,
            "net"
        );
        assert_eq!(
            c.select_peer(ip("192.0.2.1"), None, ExchangeMode::Ike2)
                .unwrap()
                .name,
            "any"
        );
        assert_eq!(
            c.select_peer(ip("10.1.2.3"), None, ExchangeMode::Main)
                .unwrap()
                .name,
            "host-v1"
        );
        // Same address and same mode: refused (L1283).
        c.peers.push(mk("dup", "10.1.2.3/32", ExchangeMode::Ike2));
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "exchange-mode",
                ..
            })
        ));
    }

    #[test]
    fn hex_secret_and_ids() {
        let mut i = Identity::psk("p", "0x41420a");
        assert_eq!(i.secret_bytes().unwrap(), b"AB\n");
        i.secret = "plain".into();
        assert_eq!(i.secret_bytes().unwrap(), b"plain");
        i.secret = "0xabc".into();
        assert!(i.secret_bytes().is_err());
        assert_eq!(
            "fqdn:vpn.example".parse::<IdSpec>().unwrap(),
            IdSpec::Fqdn("vpn.example".into())
        );
        assert!(
            "key-id:ab*".parse::<IdSpec>().is_err(),
            "L1383: no wildcard key-id"
        );
    }

    #[test]
    fn templates_need_both_directions_and_duplicates_are_invalid() {
        let mut c = IpsecConfig::default();
        c.groups.push("rw".into());
        c.policies.push(Policy {
            src_address: pfx("10.10.0.0/16"),
            dst_address: pfx("192.168.77.0/24"),
            group: "rw".into(),
            template: true,
            ..Policy::default()
        });
        assert_eq!(
            c.match_template("rw", &pfx("10.10.1.0/24"), &pfx("192.168.77.5/32"), 0),
            Some(1)
        );
        assert_eq!(
            c.match_template("rw", &pfx("10.11.1.0/24"), &pfx("192.168.77.5/32"), 0),
            None
        );
        assert_eq!(
            c.match_template("rw", &pfx("10.10.1.0/24"), &pfx("192.168.78.5/32"), 0),
            None
        );
        // The default template (::/0) accepts everything in group default.
        assert_eq!(
            c.match_template("default", &pfx("1.2.3.4/32"), &pfx("5.6.7.8/32"), 6),
            Some(0)
        );
        c.policies.push(Policy {
            src_address: pfx("10.1.0.0/24"),
            dst_address: pfx("10.2.0.0/24"),
            ..Policy::default()
        });
        c.policies.push(Policy {
            src_address: pfx("10.1.0.0/24"),
            dst_address: pfx("10.2.0.0/24"),
            action: PolicyAction::Discard,
            ..Policy::default()
        });
        let probs = c.policy_problems();
        assert_eq!(probs[3], Some(PolicyProblem::DuplicateSrcDst(2)));
        assert_eq!(probs[2], None);
    }

    #[test]
    fn prefixes() {
        let p = pfx("10.1.2.0/24");
        assert!(p.contains("10.1.2.200".parse().unwrap()));
        assert!(!p.contains("10.1.3.1".parse().unwrap()));
        assert_eq!(p.last().to_string(), "10.1.2.255");
        assert_eq!(
            IpPrefix::from_range(p.first(), p.last()),
            Some(pfx("10.1.2.0/24"))
        );
        assert!(pfx("::/0").covers(&p));
        assert!(!p.covers(&pfx("10.1.0.0/16")));
        assert!("10.0.0.0/33".parse::<IpPrefix>().is_err());
        let mut m = IpsecConfig::default();
        m.mode_configs.push(ModeConfig {
            name: "x".into(),
            system_dns: true,
            static_dns: vec!["1.1.1.1".parse().unwrap()],
            ..ModeConfig::default()
        });
        assert!(m.validate().is_err(), "L1443");
    }
}
