//! The `/ip ipsec` objects from a menu's property list (`&[(&str, &str)]`, as a `.rsc`
//! export writes it) and back: `profile`, `proposal`, `peer`, `identity`, `policy`,
//! `mode-config`.
//!
//! Every `from_props` starts from the RouterOS defaults of [`super`] and applies the
//! properties in order with `apply_props`, which returns the names it does not implement
//! (so the caller can warn, naming the line); a bad value is a [`ConfigError`] naming the
//! property and what it allows. `to_props` writes what differs from the defaults (and the
//! `name` or `peer` that identifies the object), so that `from_props(to_props(x)) == x`.

use std::net::IpAddr;
use std::time::Duration;

use super::{
    parse_encr, parse_group, parse_hash, parse_integ, ExchangeMode, GeneratePolicy, HashAlgorithm,
    IdSpec, Identity, IdentityAuth, IpPrefix, IpsecProtocol, MatchBy, ModeConfig, Peer, Policy,
    PolicyAction, PolicyLevel, Profile, Proposal, ProposalCheck,
};
use crate::crypto::{Encr, Group, Integ};
use crate::error::ConfigError;

type Props = Vec<(&'static str, String)>;

fn bad(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::invalid(field, reason)
}

/// The same error under the property's own name.
fn renamed<T>(field: &'static str, r: Result<T, ConfigError>) -> Result<T, ConfigError> {
    r.map_err(|ConfigError::Invalid { reason, .. }| bad(field, reason))
}

fn yes_no(v: &str, field: &'static str) -> Result<bool, ConfigError> {
    match v {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(bad(field, format!("{v:?}: expected yes or no"))),
    }
}

fn yn(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn keyword<T: Copy>(v: &str, field: &'static str, table: &[(&str, T)]) -> Result<T, ConfigError> {
    table
        .iter()
        .find(|(k, _)| *k == v)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let allowed: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
            bad(
                field,
                format!("{v:?}: expected one of {}", allowed.join(", ")),
            )
        })
}

fn name_of<T: PartialEq + Copy>(t: T, table: &[(&'static str, T)]) -> String {
    table
        .iter()
        .find(|(_, x)| *x == t)
        .map_or(String::new(), |(k, _)| (*k).into())
}

fn number<T: std::str::FromStr>(v: &str, field: &'static str) -> Result<T, ConfigError> {
    v.parse()
        .map_err(|_| bad(field, format!("{v:?}: expected a number")))
}

/// A RouterOS time: seconds (`30`) or units `w` `d` `h` `m` `s` (`1d`, `30m`, `1h30m`).
pub fn parse_time(v: &str, field: &'static str) -> Result<Duration, ConfigError> {
    let err = || {
        bad(
            field,
            format!("{v:?}: expected a time such as 30m, 1d or 8s"),
        )
    };
    if let Ok(n) = v.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let (mut total, mut digits) = (0u64, String::new());
    for c in v.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(err()),
        };
        let n: u64 = digits.parse().map_err(|_| err())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(err)?;
    }
    if !digits.is_empty() || v.is_empty() {
        return Err(err());
    }
    Ok(Duration::from_secs(total))
}

/// A time as [`parse_time`] reads it, in the largest unit that divides it (`1d`, `30m`).
pub fn format_time(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, n) in [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)] {
        if s != 0 && s.is_multiple_of(n) {
            return format!("{}{unit}", s / n);
        }
    }
    format!("{s}s")
}

fn list<T>(
    v: &str,
    field: &'static str,
    f: impl Fn(&str) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    let items = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| renamed(field, f(s)))
        .collect::<Result<Vec<T>, _>>()?;
    if items.is_empty() {
        return Err(bad(field, "empty list"));
    }
    Ok(items)
}

fn join<T: Copy>(items: &[T], f: impl Fn(T) -> String) -> String {
    items.iter().map(|x| f(*x)).collect::<Vec<_>>().join(",")
}

/// The RouterOS name of a DH group (`modp2048`, `ecp256`, `curve25519`).
pub fn group_name(g: Group) -> String {
    match g {
        Group::Modp(n) => format!("modp{n}"),
        Group::Ecp256 => "ecp256".into(),
        Group::Ecp384 => "ecp384".into(),
        Group::Ecp521 => "ecp521".into(),
        Group::Curve25519 => "curve25519".into(),
    }
}

/// The RouterOS name of a cipher: `aes-128-cbc`, `aes-256-gcm`, `3des`, `null` (proposal
/// `enc-algorithms`; [`parse_encr`] reads it back).
pub fn encr_name(e: Encr) -> String {
    match e {
        Encr::Null => "null".into(),
        Encr::Des => "des".into(),
        Encr::TripleDes => "3des".into(),
        Encr::AesCbc(k) => format!("aes-{}-cbc", k * 8),
        Encr::AesCtr(k) => format!("aes-{}-ctr", k * 8),
        Encr::AesGcm(k, _) => format!("aes-{}-gcm", k * 8),
    }
}

/// The profile `enc-algorithm` spelling: `aes-128` for AES-CBC, else [`encr_name`].
fn profile_encr_name(e: Encr) -> String {
    match e {
        Encr::AesCbc(k) => format!("aes-{}", k * 8),
        e => encr_name(e),
    }
}

/// The RouterOS name of an integrity algorithm (`sha1`, ...; `None` is `null`).
pub fn integ_name(i: Option<Integ>) -> String {
    match i {
        None => "null",
        Some(Integ::HmacMd5_96) => "md5",
        Some(Integ::HmacSha1_96) => "sha1",
        Some(Integ::HmacSha256_128) => "sha256",
        Some(Integ::HmacSha512_256) => "sha512",
        // Not RouterOS names ([`parse_integ`] refuses them): written so they are seen.
        Some(Integ::HmacSha384_192) => "sha384",
        Some(Integ::AesXcbc96) => "aes-xcbc",
    }
    .into()
}

fn hash_name(h: HashAlgorithm) -> String {
    match h {
        HashAlgorithm::Md5 => "md5",
        HashAlgorithm::Sha1 => "sha1",
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Sha512 => "sha512",
    }
    .into()
}

const PROPOSAL_CHECK: &[(&str, ProposalCheck)] = &[
    ("claim", ProposalCheck::Claim),
    ("exact", ProposalCheck::Exact),
    ("obey", ProposalCheck::Obey),
    ("strict", ProposalCheck::Strict),
];
const EXCHANGE_MODE: &[(&str, ExchangeMode)] = &[
    ("main", ExchangeMode::Main),
    ("aggressive", ExchangeMode::Aggressive),
    ("base", ExchangeMode::Base),
    ("main-l2tp", ExchangeMode::MainL2tp),
    ("ike2", ExchangeMode::Ike2),
];
const AUTH_METHOD: &[(&str, IdentityAuth)] = &[
    ("pre-shared-key", IdentityAuth::PreSharedKey),
    ("digital-signature", IdentityAuth::DigitalSignature),
    ("eap", IdentityAuth::Eap),
    ("eap-radius", IdentityAuth::EapRadius),
    ("pre-shared-key-xauth", IdentityAuth::PreSharedKeyXauth),
    ("rsa-key", IdentityAuth::RsaKey),
    ("rsa-signature-hybrid", IdentityAuth::RsaSignatureHybrid),
];
const GENERATE_POLICY: &[(&str, GeneratePolicy)] = &[
    ("no", GeneratePolicy::No),
    ("port-override", GeneratePolicy::PortOverride),
    ("port-strict", GeneratePolicy::PortStrict),
];
const MATCH_BY: &[(&str, MatchBy)] = &[
    ("remote-id", MatchBy::RemoteId),
    ("certificate", MatchBy::Certificate),
];
const ACTION: &[(&str, PolicyAction)] = &[
    ("encrypt", PolicyAction::Encrypt),
    ("discard", PolicyAction::Discard),
    ("none", PolicyAction::None),
];
const LEVEL: &[(&str, PolicyLevel)] = &[
    ("require", PolicyLevel::Require),
    ("use", PolicyLevel::Use),
    ("unique", PolicyLevel::Unique),
];
const IPSEC_PROTOCOLS: &[(&str, IpsecProtocol)] =
    &[("esp", IpsecProtocol::Esp), ("ah", IpsecProtocol::Ah)];

/// `protocol` names RouterOS prints for the common IP protocols.
const PROTOCOLS: &[(&str, u8)] = &[
    ("all", 0),
    ("icmp", 1),
    ("tcp", 6),
    ("udp", 17),
    ("gre", 47),
    ("ipsec-esp", 50),
    ("ipsec-ah", 51),
    ("icmpv6", 58),
    ("l2tp", 115),
];

impl Profile {
    /// Apply `/ip ipsec profile` properties in order: `name`, `dh-group`, `dpd-interval` (a
    /// time or `disable-dpd`), `dpd-maximum-failures`, `enc-algorithm`, `hash-algorithm`,
    /// `lifebytes`, `lifetime`, `nat-traversal`, `proposal-check`
    /// (`claim`/`exact`/`obey`/`strict`). Returns the names not implemented (`prf-algorithm`,
    /// ...).
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => self.name = v.into(),
                "dh-group" => self.dh_group = list(v, "dh-group", parse_group)?,
                "dpd-interval" => {
                    self.dpd_interval = match v {
                        "disable-dpd" => None,
                        _ => Some(parse_time(v, "dpd-interval")?),
                    }
                }
                "dpd-maximum-failures" => {
                    self.dpd_maximum_failures = number(v, "dpd-maximum-failures")?
                }
                "enc-algorithm" => self.enc_algorithm = list(v, "enc-algorithm", parse_encr)?,
                "hash-algorithm" => self.hash_algorithm = list(v, "hash-algorithm", parse_hash)?,
                "lifebytes" => self.lifebytes = number(v, "lifebytes")?,
                "lifetime" => self.lifetime = parse_time(v, "lifetime")?,
                "nat-traversal" => self.nat_traversal = yes_no(v, "nat-traversal")?,
                "proposal-check" => {
                    self.proposal_check = keyword(v, "proposal-check", PROPOSAL_CHECK)?
                }
                _ => unknown.push(k.to_string()),
            }
        }
        Ok(unknown)
    }

    /// An `/ip ipsec profile add ...` line over the RouterOS defaults.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut p = Profile::default();
        let unknown = p.apply_props(props)?;
        Ok((p, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = Profile::default();
        let mut v: Props = vec![("name", self.name.clone())];
        if self.dh_group != d.dh_group {
            v.push(("dh-group", join(&self.dh_group, group_name)));
        }
        if self.dpd_interval != d.dpd_interval {
            v.push((
                "dpd-interval",
                self.dpd_interval.map_or("disable-dpd".into(), format_time),
            ));
        }
        if self.dpd_maximum_failures != d.dpd_maximum_failures {
            v.push((
                "dpd-maximum-failures",
                self.dpd_maximum_failures.to_string(),
            ));
        }
        if self.enc_algorithm != d.enc_algorithm {
            v.push((
                "enc-algorithm",
                join(&self.enc_algorithm, profile_encr_name),
            ));
        }
        if self.hash_algorithm != d.hash_algorithm {
            v.push(("hash-algorithm", join(&self.hash_algorithm, hash_name)));
        }
        if self.lifebytes != d.lifebytes {
            v.push(("lifebytes", self.lifebytes.to_string()));
        }
        if self.lifetime != d.lifetime {
            v.push(("lifetime", format_time(self.lifetime)));
        }
        if self.nat_traversal != d.nat_traversal {
            v.push(("nat-traversal", yn(self.nat_traversal)));
        }
        if self.proposal_check != d.proposal_check {
            v.push((
                "proposal-check",
                name_of(self.proposal_check, PROPOSAL_CHECK),
            ));
        }
        v
    }
}

impl Proposal {
    /// Apply `/ip ipsec proposal` properties in order: `name`, `auth-algorithms`,
    /// `enc-algorithms`, `lifetime`, `pfs-group` (`none` or a group), `disabled`. Returns the
    /// names not implemented.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => self.name = v.into(),
                "auth-algorithms" => {
                    self.auth_algorithms = list(v, "auth-algorithms", parse_integ)?
                }
                "enc-algorithms" => self.enc_algorithms = list(v, "enc-algorithms", parse_encr)?,
                "lifetime" => self.lifetime = parse_time(v, "lifetime")?,
                "pfs-group" => {
                    self.pfs_group = match v {
                        "none" => None,
                        _ => Some(renamed("pfs-group", parse_group(v))?),
                    }
                }
                "disabled" => self.disabled = yes_no(v, "disabled")?,
                _ => unknown.push(k.to_string()),
            }
        }
        Ok(unknown)
    }

    /// An `/ip ipsec proposal add ...` line over the RouterOS defaults.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut p = Proposal::default();
        let unknown = p.apply_props(props)?;
        Ok((p, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self` (`lifebytes` is
    /// not a RouterOS proposal property and is not written).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = Proposal::default();
        let mut v: Props = vec![("name", self.name.clone())];
        if self.auth_algorithms != d.auth_algorithms {
            v.push(("auth-algorithms", join(&self.auth_algorithms, integ_name)));
        }
        if self.enc_algorithms != d.enc_algorithms {
            v.push(("enc-algorithms", join(&self.enc_algorithms, encr_name)));
        }
        if self.lifetime != d.lifetime {
            v.push(("lifetime", format_time(self.lifetime)));
        }
        if self.pfs_group != d.pfs_group {
            v.push((
                "pfs-group",
                self.pfs_group.map_or("none".into(), group_name),
            ));
        }
        if self.disabled {
            v.push(("disabled", yn(true)));
        }
        v
    }
}

impl Peer {
    /// Apply `/ip ipsec peer` properties in order: `name`, `address` (a prefix or an
    /// address), `local-address`, `exchange-mode` (`main`/`aggressive`/`base`/`main-l2tp`/
    /// `ike2`), `passive`, `port`, `profile`, `send-initial-contact`, `disabled`. Returns the
    /// names not implemented.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => self.name = v.into(),
                "address" => self.address = v.parse()?,
                "local-address" => {
                    self.local_address = match v {
                        "" => None,
                        _ => Some(v.parse().map_err(|_| {
                            bad("local-address", format!("{v:?}: expected an IP address"))
                        })?),
                    }
                }
                "exchange-mode" => self.exchange_mode = keyword(v, "exchange-mode", EXCHANGE_MODE)?,
                "passive" => self.passive = yes_no(v, "passive")?,
                "port" => {
                    self.port = v
                        .parse()
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(|| bad("port", format!("{v:?}: expected 1..65535")))?
                }
                "profile" => self.profile = v.into(),
                "send-initial-contact" => {
                    self.send_initial_contact = yes_no(v, "send-initial-contact")?
                }
                "disabled" => self.disabled = yes_no(v, "disabled")?,
                _ => unknown.push(k.to_string()),
            }
        }
        Ok(unknown)
    }

    /// An `/ip ipsec peer add ...` line over the RouterOS defaults.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut p = Peer::default();
        let unknown = p.apply_props(props)?;
        Ok((p, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = Peer::default();
        let mut v: Props = vec![("name", self.name.clone())];
        if self.address != d.address {
            v.push(("address", self.address.to_string()));
        }
        if let Some(a) = self.local_address {
            v.push(("local-address", a.to_string()));
        }
        if self.exchange_mode != d.exchange_mode {
            v.push(("exchange-mode", name_of(self.exchange_mode, EXCHANGE_MODE)));
        }
        if self.passive != d.passive {
            v.push(("passive", yn(self.passive)));
        }
        if self.port != d.port {
            v.push(("port", self.port.to_string()));
        }
        if self.profile != d.profile {
            v.push(("profile", self.profile.clone()));
        }
        if self.send_initial_contact != d.send_initial_contact {
            v.push(("send-initial-contact", yn(self.send_initial_contact)));
        }
        if self.disabled {
            v.push(("disabled", yn(true)));
        }
        v
    }
}

fn id_spec(v: &str, field: &'static str) -> Result<IdSpec, ConfigError> {
    renamed(field, v.parse())
}

fn id_text(id: &IdSpec) -> String {
    match id {
        IdSpec::Auto => "auto".into(),
        IdSpec::Ignore => "ignore".into(),
        IdSpec::Address(a) => format!("address:{a}"),
        IdSpec::Fqdn(s) => format!("fqdn:{s}"),
        IdSpec::UserFqdn(s) => format!("user-fqdn:{s}"),
        IdSpec::KeyId(b) => format!("key-id:{}", String::from_utf8_lossy(b)),
        IdSpec::Dn(s) => format!("dn:{s}"),
    }
}

impl Identity {
    /// Apply `/ip ipsec identity` properties in order: `peer`, `auth-method`
    /// (`pre-shared-key`, `digital-signature`, `eap`, `eap-radius`, `pre-shared-key-xauth`,
    /// `rsa-key`, `rsa-signature-hybrid`), `secret`, `certificate`, `remote-certificate`,
    /// `eap-methods`, `generate-policy` (`no`/`port-override`/`port-strict`), `match-by`
    /// (`remote-id`/`certificate`), `mode-config` (`none` or a name), `my-id`, `remote-id`,
    /// `policy-template-group` (`none` or a name), `username`, `password`, `disabled`.
    /// Returns the names not implemented.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        let name_or_none = |v: &str| (v != "none" && !v.is_empty()).then(|| v.to_string());
        for &(k, v) in props {
            match k {
                "peer" => self.peer = v.into(),
                "auth-method" => self.auth_method = keyword(v, "auth-method", AUTH_METHOD)?,
                "secret" => self.secret = v.into(),
                "certificate" => self.certificate = v.into(),
                "remote-certificate" => self.remote_certificate = v.into(),
                "eap-methods" => {
                    self.eap_methods = v
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                }
                "generate-policy" => {
                    self.generate_policy = keyword(v, "generate-policy", GENERATE_POLICY)?
                }
                "match-by" => self.match_by = keyword(v, "match-by", MATCH_BY)?,
                "mode-config" => self.mode_config = name_or_none(v),
                "my-id" => self.my_id = id_spec(v, "my-id")?,
                "remote-id" => self.remote_id = id_spec(v, "remote-id")?,
                "policy-template-group" => self.policy_template_group = name_or_none(v),
                "username" => self.username = v.into(),
                "password" => self.password = v.into(),
                "disabled" => self.disabled = yes_no(v, "disabled")?,
                _ => unknown.push(k.to_string()),
            }
        }
        Ok(unknown)
    }

    /// An `/ip ipsec identity add ...` line over the RouterOS defaults (`auth-method`
    /// pre-shared-key, `policy-template-group` default, ids `auto`).
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut i = Identity::psk("", "");
        let unknown = i.apply_props(props)?;
        Ok((i, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = Identity::psk("", "");
        let mut v: Props = vec![("peer", self.peer.clone())];
        if self.auth_method != d.auth_method {
            v.push(("auth-method", name_of(self.auth_method, AUTH_METHOD)));
        }
        for (k, s) in [
            ("secret", &self.secret),
            ("certificate", &self.certificate),
            ("remote-certificate", &self.remote_certificate),
            ("username", &self.username),
            ("password", &self.password),
        ] {
            if !s.is_empty() {
                v.push((k, s.clone()));
            }
        }
        if !self.eap_methods.is_empty() {
            v.push(("eap-methods", self.eap_methods.join(",")));
        }
        if self.generate_policy != d.generate_policy {
            v.push((
                "generate-policy",
                name_of(self.generate_policy, GENERATE_POLICY),
            ));
        }
        if self.match_by != d.match_by {
            v.push(("match-by", name_of(self.match_by, MATCH_BY)));
        }
        if let Some(m) = &self.mode_config {
            v.push(("mode-config", m.clone()));
        }
        if self.my_id != d.my_id {
            v.push(("my-id", id_text(&self.my_id)));
        }
        if self.remote_id != d.remote_id {
            v.push(("remote-id", id_text(&self.remote_id)));
        }
        if self.policy_template_group != d.policy_template_group {
            v.push((
                "policy-template-group",
                self.policy_template_group.clone().unwrap_or("none".into()),
            ));
        }
        if self.disabled {
            v.push(("disabled", yn(true)));
        }
        v
    }
}

fn port(v: &str, field: &'static str) -> Result<Option<u16>, ConfigError> {
    match v {
        "any" | "" => Ok(None),
        _ => v
            .parse()
            .map(Some)
            .map_err(|_| bad(field, format!("{v:?}: expected any or 0..65535"))),
    }
}

fn opt_addr(v: &str, field: &'static str) -> Result<Option<IpAddr>, ConfigError> {
    match v {
        "" => Ok(None),
        _ => v
            .parse()
            .map(Some)
            .map_err(|_| bad(field, format!("{v:?}: expected an IP address"))),
    }
}

impl Policy {
    /// Apply `/ip ipsec policy` properties in order: `src-address`, `dst-address`,
    /// `src-port`, `dst-port` (`any` or a port), `protocol` (`all`, a name such as `tcp`,
    /// `gre`, `ipsec-esp`, or a number), `action` (`encrypt`/`discard`/`none`), `level`
    /// (`require`/`use`/`unique`), `ipsec-protocols` (`esp`/`ah`), `tunnel`,
    /// `sa-src-address`, `sa-dst-address`, `proposal`, `peer`, `group`, `template`,
    /// `disabled`, `comment`. Returns the names not implemented.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "src-address" => self.src_address = renamed("src-address", v.parse())?,
                "dst-address" => self.dst_address = renamed("dst-address", v.parse())?,
                "src-port" => self.src_port = port(v, "src-port")?,
                "dst-port" => self.dst_port = port(v, "dst-port")?,
                "protocol" => {
                    self.protocol = match PROTOCOLS.iter().find(|(n, _)| *n == v) {
                        Some((_, p)) => *p,
                        None => v.parse().map_err(|_| {
                            bad(
                                "protocol",
                                format!("{v:?}: expected all, tcp, udp, gre, ... or 0..255"),
                            )
                        })?,
                    }
                }
                "action" => self.action = keyword(v, "action", ACTION)?,
                "level" => self.level = keyword(v, "level", LEVEL)?,
                "ipsec-protocols" => {
                    self.ipsec_protocols = keyword(v, "ipsec-protocols", IPSEC_PROTOCOLS)?
                }
                "tunnel" => self.tunnel = yes_no(v, "tunnel")?,
                "sa-src-address" => self.sa_src_address = opt_addr(v, "sa-src-address")?,
                "sa-dst-address" => self.sa_dst_address = opt_addr(v, "sa-dst-address")?,
                "proposal" => self.proposal = v.into(),
                "peer" => self.peer = v.into(),
                "group" => self.group = v.into(),
                "template" => self.template = yes_no(v, "template")?,
                "disabled" => self.disabled = yes_no(v, "disabled")?,
                "comment" => self.comment = v.into(),
                _ => unknown.push(k.to_string()),
            }
        }
        Ok(unknown)
    }

    /// An `/ip ipsec policy add ...` line over the RouterOS defaults.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut p = Policy::default();
        let unknown = p.apply_props(props)?;
        Ok((p, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = Policy::default();
        let mut v: Props = Vec::new();
        if self.src_address != d.src_address {
            v.push(("src-address", self.src_address.to_string()));
        }
        if self.dst_address != d.dst_address {
            v.push(("dst-address", self.dst_address.to_string()));
        }
        if let Some(p) = self.src_port {
            v.push(("src-port", p.to_string()));
        }
        if let Some(p) = self.dst_port {
            v.push(("dst-port", p.to_string()));
        }
        if self.protocol != d.protocol {
            let name = PROTOCOLS
                .iter()
                .find(|(_, p)| *p == self.protocol)
                .map_or(self.protocol.to_string(), |(n, _)| (*n).into());
            v.push(("protocol", name));
        }
        if self.action != d.action {
            v.push(("action", name_of(self.action, ACTION)));
        }
        if self.level != d.level {
            v.push(("level", name_of(self.level, LEVEL)));
        }
        if self.ipsec_protocols != d.ipsec_protocols {
            v.push((
                "ipsec-protocols",
                name_of(self.ipsec_protocols, IPSEC_PROTOCOLS),
            ));
        }
        if self.tunnel {
            v.push(("tunnel", yn(true)));
        }
        if let Some(a) = self.sa_src_address {
            v.push(("sa-src-address", a.to_string()));
        }
        if let Some(a) = self.sa_dst_address {
            v.push(("sa-dst-address", a.to_string()));
        }
        if self.proposal != d.proposal {
            v.push(("proposal", self.proposal.clone()));
        }
        if !self.peer.is_empty() {
            v.push(("peer", self.peer.clone()));
        }
        if self.group != d.group {
            v.push(("group", self.group.clone()));
        }
        if self.template {
            v.push(("template", yn(true)));
        }
        if self.disabled {
            v.push(("disabled", yn(true)));
        }
        if !self.comment.is_empty() {
            v.push(("comment", self.comment.clone()));
        }
        v
    }
}

impl ModeConfig {
    /// Apply `/ip ipsec mode-config` properties in order: `name`, `address`,
    /// `address-prefix-length` (0..32), `responder`, `split-include` (prefixes),
    /// `split-dns` (domains), `static-dns` (addresses), `system-dns`. Returns the names not
    /// implemented (`address-pool`, `src-address-list`, ...).
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        let items = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        for &(k, v) in props {
            match k {
                "name" => self.name = v.into(),
                "address" => {
                    self.address = match v {
                        "" => None,
                        _ => Some(v.parse().map_err(|_| {
                            bad("address", format!("{v:?}: expected an IPv4 address"))
                        })?),
                    }
                }
                "address-prefix-length" => {
                    self.address_prefix_length =
                        Some(v.parse().ok().filter(|n| *n <= 32).ok_or_else(|| {
                            bad("address-prefix-length", format!("{v:?}: expected 0..32"))
                        })?)
                }
                "responder" => self.responder = yes_no(v, "responder")?,
                "split-include" => {
                    self.split_include = items(v)
                        .iter()
                        .map(|s| renamed("split-include", s.parse()))
                        .collect::<Result<Vec<IpPrefix>, _>>()?
                }
                "split-dns" => self.split_dns = items(v),
                "static-dns" => {
                    self.static_dns = items(v)
                        .iter()
                        .map(|s| {
                            s.parse().map_err(|_| {
                                bad("static-dns", format!("{s:?}: expected an IP address"))
                            })
                        })
                        .collect::<Result<Vec<IpAddr>, _>>()?
                }
                "system-dns" => self.system_dns = yes_no(v, "system-dns")?,
                _ => unknown.push(k.to_string()),
            }
        }
        Ok(unknown)
    }

    /// An `/ip ipsec mode-config add ...` line over the RouterOS defaults.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut m = ModeConfig::default();
        let unknown = m.apply_props(props)?;
        Ok((m, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let mut v: Props = vec![("name", self.name.clone())];
        if let Some(a) = self.address {
            v.push(("address", a.to_string()));
        }
        if let Some(n) = self.address_prefix_length {
            v.push(("address-prefix-length", n.to_string()));
        }
        if self.responder {
            v.push(("responder", yn(true)));
        }
        if !self.split_include.is_empty() {
            v.push((
                "split-include",
                join(&self.split_include, |p| p.to_string()),
            ));
        }
        if !self.split_dns.is_empty() {
            v.push(("split-dns", self.split_dns.join(",")));
        }
        if !self.static_dns.is_empty() {
            v.push(("static-dns", join(&self.static_dns, |a| a.to_string())));
        }
        if self.system_dns {
            v.push(("system-dns", yn(true)));
        }
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// `to_props` of `x` read back by `from` gives `x`.
    fn back<T: PartialEq + std::fmt::Debug>(
        x: &T,
        to: impl Fn(&T) -> Props,
        from: impl Fn(&[(&str, &str)]) -> Result<(T, Vec<String>), ConfigError>,
    ) {
        let props = to(x);
        let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (y, unknown) = from(&refs).unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(&y, x, "{props:?}");
    }

    #[test]
    fn profile_every_property() {
        let (p, unknown) = Profile::from_props(&[
            ("name", "ike2"),
            ("dh-group", "ecp256,modp2048,modp1024"),
            ("dpd-interval", "disable-dpd"),
            ("dpd-maximum-failures", "5"),
            ("enc-algorithm", "aes-256,aes-192,aes-128"),
            ("hash-algorithm", "sha256"),
            ("lifebytes", "1000"),
            ("lifetime", "8h"),
            ("nat-traversal", "no"),
            ("proposal-check", "strict"),
            ("prf-algorithm", "auto"),
        ])
        .unwrap();
        assert_eq!(unknown, ["prf-algorithm"]);
        assert_eq!(p.name, "ike2");
        assert_eq!(
            p.dh_group,
            [Group::Ecp256, Group::Modp(2048), Group::Modp(1024)]
        );
        assert_eq!(p.dpd_interval, None);
        assert_eq!(p.dpd_maximum_failures, 5);
        assert_eq!(
            p.enc_algorithm,
            [Encr::AesCbc(32), Encr::AesCbc(24), Encr::AesCbc(16)]
        );
        assert_eq!(p.hash_algorithm, [HashAlgorithm::Sha256]);
        assert_eq!(p.lifebytes, 1000);
        assert_eq!(p.lifetime, Duration::from_secs(8 * 3600));
        assert!(!p.nat_traversal);
        assert_eq!(p.proposal_check, ProposalCheck::Strict);
        back(&p, Profile::to_props, Profile::from_props);
        back(&Profile::default(), Profile::to_props, Profile::from_props);
        let mut q = Profile::default();
        q.apply_props(&[("dpd-interval", "2m")]).unwrap();
        assert_eq!(q.dpd_interval, Some(Duration::from_secs(120)));
        back(&q, Profile::to_props, Profile::from_props);
    }

    #[test]
    fn proposal_every_property() {
        let (p, _) = Proposal::from_props(&[
            ("name", "ike2-gre"),
            ("auth-algorithms", "null"),
            ("enc-algorithms", "aes-128-gcm"),
            ("lifetime", "1h"),
            ("pfs-group", "none"),
            ("disabled", "yes"),
        ])
        .unwrap();
        assert_eq!(p.auth_algorithms, [None]);
        assert_eq!(p.enc_algorithms, [Encr::AesGcm(16, 16)]);
        assert_eq!(p.lifetime, Duration::from_secs(3600));
        assert_eq!(p.pfs_group, None);
        assert!(p.disabled);
        back(&p, Proposal::to_props, Proposal::from_props);
        let (p, _) =
            Proposal::from_props(&[("pfs-group", "ecp384"), ("auth-algorithms", "sha256,sha1")])
                .unwrap();
        assert_eq!(p.pfs_group, Some(Group::Ecp384));
        back(&p, Proposal::to_props, Proposal::from_props);
    }

    #[test]
    fn peer_identity_policy_mode_config_every_property() {
        let (p, _) = Peer::from_props(&[
            ("name", "p1"),
            ("address", "192.168.80.1/32"),
            ("local-address", "192.168.90.1"),
            ("exchange-mode", "ike2"),
            ("passive", "yes"),
            ("port", "4501"),
            ("profile", "ike2"),
            ("send-initial-contact", "no"),
            ("disabled", "yes"),
        ])
        .unwrap();
        assert_eq!(p.address, "192.168.80.1/32".parse().unwrap());
        assert_eq!(p.local_address, Some("192.168.90.1".parse().unwrap()));
        assert_eq!(p.exchange_mode, ExchangeMode::Ike2);
        assert!(p.passive && p.disabled && !p.send_initial_contact);
        assert_eq!((p.port, p.profile.as_str()), (4501, "ike2"));
        back(&p, Peer::to_props, Peer::from_props);

        let (i, _) = Identity::from_props(&[
            ("peer", "p1"),
            ("auth-method", "eap"),
            ("secret", "0x0102"),
            ("certificate", "c1"),
            ("remote-certificate", "c2"),
            ("eap-methods", "eap-mschapv2"),
            ("generate-policy", "port-strict"),
            ("match-by", "certificate"),
            ("mode-config", "rw"),
            ("my-id", "fqdn:a.example"),
            ("remote-id", "user-fqdn:b@example"),
            ("policy-template-group", "none"),
            ("username", "u"),
            ("password", "pw"),
            ("disabled", "yes"),
        ])
        .unwrap();
        assert_eq!(i.auth_method, IdentityAuth::Eap);
        assert_eq!(i.secret_bytes().unwrap(), [1, 2]);
        assert_eq!(
            (i.certificate.as_str(), i.remote_certificate.as_str()),
            ("c1", "c2")
        );
        assert_eq!(i.eap_methods, ["eap-mschapv2"]);
        assert_eq!(i.generate_policy, GeneratePolicy::PortStrict);
        assert_eq!(i.match_by, MatchBy::Certificate);
        assert_eq!(i.mode_config.as_deref(), Some("rw"));
        assert_eq!(i.my_id, IdSpec::Fqdn("a.example".into()));
        assert_eq!(i.remote_id, IdSpec::UserFqdn("b@example".into()));
        assert_eq!(i.policy_template_group, None);
        assert_eq!((i.username.as_str(), i.password.as_str()), ("u", "pw"));
        assert!(i.disabled);
        back(&i, Identity::to_props, Identity::from_props);
        let (d, _) = Identity::from_props(&[("peer", "p"), ("secret", "s")]).unwrap();
        assert_eq!(d, Identity::psk("p", "s"));

        let (p, _) = Policy::from_props(&[
            ("src-address", "10.1.202.0/24"),
            ("src-port", "any"),
            ("dst-address", "10.1.101.0/24"),
            ("dst-port", "1701"),
            ("protocol", "udp"),
            ("action", "discard"),
            ("level", "unique"),
            ("ipsec-protocols", "ah"),
            ("tunnel", "yes"),
            ("sa-src-address", "192.168.90.1"),
            ("sa-dst-address", "192.168.80.1"),
            ("proposal", "ike1"),
            ("peer", "p1"),
            ("group", "g"),
            ("template", "yes"),
            ("disabled", "yes"),
            ("comment", "office"),
        ])
        .unwrap();
        assert_eq!(p.src_address, "10.1.202.0/24".parse().unwrap());
        assert_eq!((p.src_port, p.dst_port, p.protocol), (None, Some(1701), 17));
        assert_eq!(
            (p.action, p.level),
            (PolicyAction::Discard, PolicyLevel::Unique)
        );
        assert_eq!(p.ipsec_protocols, IpsecProtocol::Ah);
        assert!(p.tunnel && p.template && p.disabled);
        assert_eq!(p.sa_dst_address, Some("192.168.80.1".parse().unwrap()));
        assert_eq!(p.sa_src_address, Some("192.168.90.1".parse().unwrap()));
        assert_eq!(
            (p.proposal.as_str(), p.peer.as_str(), p.group.as_str()),
            ("ike1", "p1", "g")
        );
        assert_eq!(p.comment, "office");
        back(&p, Policy::to_props, Policy::from_props);
        let (q, _) = Policy::from_props(&[("protocol", "99")]).unwrap();
        assert_eq!(q.protocol, 99);
        back(&q, Policy::to_props, Policy::from_props);

        let (m, unknown) = ModeConfig::from_props(&[
            ("name", "ike2-gre"),
            ("address", "192.168.99.2"),
            ("address-prefix-length", "32"),
            ("responder", "yes"),
            ("split-include", "192.168.99.1/32,10.0.0.0/8"),
            ("split-dns", "a.example,b.example"),
            ("static-dns", "10.0.0.53"),
            ("system-dns", "yes"),
            ("address-pool", "rw-pool"),
        ])
        .unwrap();
        assert_eq!(unknown, ["address-pool"]);
        assert_eq!(m.address, Some(Ipv4Addr::new(192, 168, 99, 2)));
        assert_eq!(m.address_prefix_length, Some(32));
        assert!(m.responder && m.system_dns);
        assert_eq!(m.split_include.len(), 2);
        assert_eq!(m.split_dns, ["a.example", "b.example"]);
        assert_eq!(m.static_dns, [IpAddr::from([10, 0, 0, 53])]);
        back(&m, ModeConfig::to_props, ModeConfig::from_props);
    }

    #[test]
    fn bad_values_name_the_property_and_what_it_allows() {
        let field = |e: ConfigError| match e {
            ConfigError::Invalid { field, reason } => (field, reason),
        };
        for (k, v, allowed) in [
            ("dh-group", "modp999", "unknown group"),
            ("enc-algorithm", "rot13", "unknown"),
            ("hash-algorithm", "crc32", "unknown"),
            ("lifetime", "soon", "30m"),
            ("nat-traversal", "maybe", "yes or no"),
            ("proposal-check", "lax", "claim, exact, obey, strict"),
            ("dpd-maximum-failures", "x", "number"),
        ] {
            let (f, r) = field(Profile::from_props(&[(k, v)]).unwrap_err());
            assert_eq!(f, k);
            assert!(r.contains(allowed), "{k}: {r}");
        }
        let (f, _) = field(Proposal::from_props(&[("pfs-group", "modp1")]).unwrap_err());
        assert_eq!(f, "pfs-group");
        let (f, _) = field(Proposal::from_props(&[("auth-algorithms", "crc")]).unwrap_err());
        assert_eq!(f, "auth-algorithms");
        let (f, r) = field(Peer::from_props(&[("exchange-mode", "ike3")]).unwrap_err());
        assert_eq!(f, "exchange-mode");
        assert!(r.contains("main, aggressive, base, main-l2tp, ike2"), "{r}");
        let (f, _) = field(Peer::from_props(&[("port", "0")]).unwrap_err());
        assert_eq!(f, "port");
        let (f, _) = field(Peer::from_props(&[("address", "nowhere")]).unwrap_err());
        assert_eq!(f, "address");
        let (f, _) = field(Identity::from_props(&[("auth-method", "psk")]).unwrap_err());
        assert_eq!(f, "auth-method");
        let (f, _) = field(Identity::from_props(&[("remote-id", "fqdn")]).unwrap_err());
        assert_eq!(f, "remote-id");
        let (f, _) = field(Identity::from_props(&[("generate-policy", "yes")]).unwrap_err());
        assert_eq!(f, "generate-policy");
        for (k, v) in [
            ("src-address", "x"),
            ("dst-port", "http"),
            ("protocol", "smtp"),
            ("action", "drop"),
            ("level", "must"),
            ("ipsec-protocols", "gre"),
            ("tunnel", "2"),
            ("sa-dst-address", "host"),
        ] {
            let (f, _) = field(Policy::from_props(&[(k, v)]).unwrap_err());
            assert_eq!(f, k);
        }
        for (k, v) in [
            ("address", "::1"),
            ("address-prefix-length", "33"),
            ("split-include", "10.0.0.0/99"),
            ("static-dns", "dns"),
            ("system-dns", "x"),
        ] {
            let (f, _) = field(ModeConfig::from_props(&[(k, v)]).unwrap_err());
            assert_eq!(f, k);
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1d", "t").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_time("1h30m", "t").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_time("30", "t").unwrap(), Duration::from_secs(30));
        assert!(parse_time("", "t").is_err() && parse_time("5x", "t").is_err());
        for s in [0, 8, 90, 1800, 5400, 86_400, 604_800] {
            let d = Duration::from_secs(s);
            assert_eq!(parse_time(&format_time(d), "t").unwrap(), d);
        }
        assert_eq!(format_time(Duration::from_secs(1800)), "30m");
    }
}
