//! RouterOS property values (`yes`/`no`, times such as `30s` or `1h30m`, `unlimited`) and the
//! `/ppp profile`, `/ppp secret`, `/ip pool` and `/interface <x>-server server` constructors
//! from a menu's property list (`&[(&str, &str)]`, as a `.rsc` export writes it).
//!
//! Every constructor starts from the RouterOS defaults, applies the properties in order, and
//! returns the property names it does not implement (so the caller can warn, naming the
//! line); a bad value is a [`ConfigError`] naming the property.

use crate::aaa::{AddressSpec, IpPool, Profile, Secret, UseEncryption};
use crate::config::{AuthSet, Service, UsePeerDns};
use crate::error::ConfigError;
use crate::settings::{ClientSettings, ServerSettings};
use std::net::Ipv4Addr;
use std::time::Duration;

fn bad(field: &'static str, reason: String) -> ConfigError {
    ConfigError { field, reason }
}

/// `yes`/`no` (also `true`/`false`).
pub fn parse_yes_no(v: &str, field: &'static str) -> Result<bool, ConfigError> {
    match v {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(bad(field, format!("expected yes or no, got {v:?}"))),
    }
}

/// `yes`/`no` as RouterOS writes it.
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// A RouterOS time: plain seconds (`30`) or units `w` `d` `h` `m` `s` (`1h30m`, `10s`), also
/// `hh:mm:ss`.
pub fn parse_time(v: &str, field: &'static str) -> Result<Duration, ConfigError> {
    let err = || bad(field, format!("bad time {v:?}"));
    if let Ok(n) = v.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    if v.contains(':') {
        let parts: Vec<&str> = v.split(':').collect();
        if parts.len() != 3 {
            return Err(err());
        }
        let mut total = 0u64;
        for p in parts {
            let n: u64 = p.parse().map_err(|_| err())?;
            total = total
                .checked_mul(60)
                .and_then(|t| t.checked_add(n))
                .ok_or_else(err)?;
        }
        return Ok(Duration::from_secs(total));
    }
    let mut total = 0u64;
    let mut digits = String::new();
    for c in v.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 604800,
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

/// A time in the form [`parse_time`] reads (`30s`).
pub fn format_time(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

fn num<T: std::str::FromStr>(v: &str, field: &'static str) -> Result<T, ConfigError> {
    v.parse()
        .map_err(|_| bad(field, format!("bad number {v:?}")))
}

fn addr(v: &str, field: &'static str) -> Result<Ipv4Addr, ConfigError> {
    v.parse()
        .map_err(|_| bad(field, format!("bad IPv4 address {v:?}")))
}

fn addr_list(v: &str, field: &'static str) -> Result<Vec<Ipv4Addr>, ConfigError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| addr(s, field))
        .collect()
}

fn join(v: &[Ipv4Addr]) -> String {
    v.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Service {
    /// Parse the RouterOS keyword ([`Service::as_str`]).
    pub fn from_keyword(s: &str) -> Option<Service> {
        Some(match s {
            "any" => Service::Any,
            "l2tp" => Service::L2tp,
            "pptp" => Service::Pptp,
            "pppoe" => Service::Pppoe,
            "sstp" => Service::Sstp,
            "ovpn" => Service::Ovpn,
            "async" => Service::Serial,
            _ => return None,
        })
    }
}

impl UseEncryption {
    /// Parse the RouterOS keyword ([`UseEncryption::as_str`]).
    pub fn from_keyword(s: &str) -> Option<UseEncryption> {
        Some(match s {
            "default" => UseEncryption::Default,
            "no" => UseEncryption::No,
            "yes" => UseEncryption::Yes,
            "required" => UseEncryption::Required,
            _ => return None,
        })
    }
}

impl AddressSpec {
    /// An IPv4 address, or else the name of an `/ip pool`.
    pub fn parse(v: &str) -> AddressSpec {
        match v.parse() {
            Ok(a) => AddressSpec::Address(a),
            Err(_) => AddressSpec::Pool(v.to_string()),
        }
    }
}

impl std::fmt::Display for AddressSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddressSpec::Address(a) => write!(f, "{a}"),
            AddressSpec::Pool(p) => f.write_str(p),
        }
    }
}

impl Profile {
    /// Apply `/ppp profile` properties (`add` or `set`) in order: `name`, `local-address`,
    /// `remote-address` (an address or an `/ip pool` name), `dns-server`, `wins-server`
    /// (comma-separated), `session-timeout`, `idle-timeout` (times; `none`/`0` = off),
    /// `only-one` (`yes`/`no`/`default`, default = no), `use-encryption`
    /// (`default`/`no`/`yes`/`required`), `bridge` (a bridge name; empty or `none` = no
    /// BCP). Returns the properties not implemented here.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => self.name = v.to_string(),
                "local-address" => {
                    self.local_address = (!v.is_empty()).then(|| AddressSpec::parse(v))
                }
                "remote-address" => {
                    self.remote_address = (!v.is_empty()).then(|| AddressSpec::parse(v))
                }
                "dns-server" => self.dns = addr_list(v, "dns-server")?,
                "wins-server" => self.wins = addr_list(v, "wins-server")?,
                "session-timeout" => self.session_timeout = opt_time(v, "session-timeout")?,
                "idle-timeout" => self.idle_timeout = opt_time(v, "idle-timeout")?,
                "only-one" => {
                    self.only_one = v != "default" && parse_yes_no(v, "only-one")?;
                }
                "use-encryption" => {
                    self.use_encryption = UseEncryption::from_keyword(v).ok_or_else(|| {
                        bad(
                            "use-encryption",
                            format!("{v:?}: expected default, no, yes or required"),
                        )
                    })?
                }
                "bridge" => {
                    self.bridge = (!v.is_empty() && v != "none").then(|| v.to_string());
                }
                other => unknown.push(other.to_string()),
            }
        }
        Ok(unknown)
    }

    /// A profile from an `add` property list (`name` required); see
    /// [`apply_props`](Self::apply_props).
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Profile, Vec<String>), ConfigError> {
        let mut p = Profile::named("");
        let unknown = p.apply_props(props)?;
        if p.name.is_empty() {
            return Err(bad("name", "missing".into()));
        }
        Ok((p, unknown))
    }

    /// The property list [`from_props`](Self::from_props) reads back to `self` (`name` and
    /// the fields that differ from the defaults).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("name", self.name.clone())];
        if let Some(a) = &self.local_address {
            v.push(("local-address", a.to_string()));
        }
        if let Some(a) = &self.remote_address {
            v.push(("remote-address", a.to_string()));
        }
        if !self.dns.is_empty() {
            v.push(("dns-server", join(&self.dns)));
        }
        if !self.wins.is_empty() {
            v.push(("wins-server", join(&self.wins)));
        }
        if let Some(t) = self.session_timeout {
            v.push(("session-timeout", format_time(t)));
        }
        if let Some(t) = self.idle_timeout {
            v.push(("idle-timeout", format_time(t)));
        }
        if self.only_one {
            v.push(("only-one", "yes".into()));
        }
        if self.use_encryption != UseEncryption::Default {
            v.push(("use-encryption", self.use_encryption.as_str().into()));
        }
        if let Some(b) = &self.bridge {
            v.push(("bridge", b.clone()));
        }
        v
    }
}

fn opt_time(v: &str, field: &'static str) -> Result<Option<Duration>, ConfigError> {
    if matches!(v, "" | "none" | "0s" | "0") {
        return Ok(None);
    }
    parse_time(v, field).map(Some)
}

impl Secret {
    /// Apply `/ppp secret` properties in order: `name`, `password`, `service` (`any`, `l2tp`,
    /// `pptp`, `pppoe`, `sstp`, `ovpn`, `async`), `profile`, `local-address`,
    /// `remote-address`. Returns the properties not implemented here.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => self.name = v.to_string(),
                "password" => self.password = v.to_string(),
                "service" => {
                    self.service = Service::from_keyword(v).ok_or_else(|| {
                        bad(
                            "service",
                            format!("{v:?}: expected any, l2tp, pptp, pppoe, sstp, ovpn or async"),
                        )
                    })?
                }
                "profile" => self.profile = v.to_string(),
                "local-address" => {
                    self.local_address = if v.is_empty() {
                        None
                    } else {
                        Some(addr(v, "local-address")?)
                    }
                }
                "remote-address" => {
                    self.remote_address = if v.is_empty() {
                        None
                    } else {
                        Some(addr(v, "remote-address")?)
                    }
                }
                other => unknown.push(other.to_string()),
            }
        }
        Ok(unknown)
    }

    /// A secret from an `add` property list (`name` required; RouterOS defaults: service
    /// `any`, profile `default`, empty password); see [`apply_props`](Self::apply_props).
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Secret, Vec<String>), ConfigError> {
        let mut s = Secret::new("", "");
        let unknown = s.apply_props(props)?;
        if s.name.is_empty() {
            return Err(bad("name", "missing".into()));
        }
        Ok((s, unknown))
    }

    /// The property list [`from_props`](Self::from_props) reads back to `self`.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("name", self.name.clone())];
        if !self.password.is_empty() {
            v.push(("password", self.password.clone()));
        }
        if self.service != Service::Any {
            v.push(("service", self.service.as_str().into()));
        }
        if self.profile != "default" {
            v.push(("profile", self.profile.clone()));
        }
        if let Some(a) = self.local_address {
            v.push(("local-address", a.to_string()));
        }
        if let Some(a) = self.remote_address {
            v.push(("remote-address", a.to_string()));
        }
        v
    }
}

impl IpPool {
    /// An `/ip pool` from an `add` property list: `name` and `ranges` (required; the seeds'
    /// examples also spell it `range`, accepted as the same property). Returns the properties
    /// not implemented here (`next-pool`, `comment`).
    pub fn from_props(props: &[(&str, &str)]) -> Result<(IpPool, Vec<String>), ConfigError> {
        let mut name = None;
        let mut ranges = None;
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => name = Some(v),
                "ranges" | "range" => ranges = Some(v),
                other => unknown.push(other.to_string()),
            }
        }
        let name = name.ok_or_else(|| bad("name", "missing".into()))?;
        let ranges = ranges.ok_or_else(|| bad("ranges", "missing".into()))?;
        let pool = IpPool::new(name, ranges).map_err(|e| bad("ranges", e.to_string()))?;
        Ok((pool, unknown))
    }

    /// The property list [`from_props`](Self::from_props) reads back to `self`.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        vec![("name", self.name.clone()), ("ranges", self.ranges_text())]
    }
}

impl ServerSettings {
    /// Set one PPP property of an `/interface <x>-server server` menu: `authentication`
    /// (comma-separated), `default-profile`, `max-mtu`, `max-mru`, `mrru` (`disabled` or a
    /// number), `keepalive-timeout` (a time; `disabled` = 0), `max-sessions` (`unlimited` or a
    /// number), `one-session-per-host`. `Ok(false)`: not one of these.
    pub fn set_prop(&mut self, k: &str, v: &str) -> Result<bool, ConfigError> {
        match k {
            "authentication" => {
                self.authentication = AuthSet::parse(v).map_err(|e| {
                    bad(
                        "authentication",
                        format!("{} (allowed: pap, chap, mschap1, mschap2, eap)", e.reason),
                    )
                })?
            }
            "default-profile" => self.default_profile = v.to_string(),
            "max-mtu" => self.max_mtu = num(v, "max-mtu")?,
            "max-mru" => self.max_mru = num(v, "max-mru")?,
            "mrru" => {
                self.mrru = match v {
                    "disabled" => None,
                    _ => Some(num(v, "mrru")?),
                }
            }
            "keepalive-timeout" => {
                self.keepalive_timeout = match v {
                    "disabled" => Duration::ZERO,
                    _ => parse_time(v, "keepalive-timeout")?,
                }
            }
            "max-sessions" => {
                self.max_sessions = match v {
                    "unlimited" => None,
                    _ => Some(num(v, "max-sessions")?),
                }
            }
            "one-session-per-host" => {
                self.one_session_per_host = parse_yes_no(v, "one-session-per-host")?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The properties [`set_prop`](Self::set_prop) reads back to `self`, those that differ
    /// from `defaults` (the menu's defaults, e.g. [`ServerSettings::l2tp`]).
    pub fn to_props(&self, defaults: &ServerSettings) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.authentication != defaults.authentication {
            v.push(("authentication", self.authentication.to_string()));
        }
        if self.default_profile != defaults.default_profile {
            v.push(("default-profile", self.default_profile.clone()));
        }
        if self.max_mtu != defaults.max_mtu {
            v.push(("max-mtu", self.max_mtu.to_string()));
        }
        if self.max_mru != defaults.max_mru {
            v.push(("max-mru", self.max_mru.to_string()));
        }
        if self.mrru != defaults.mrru {
            v.push((
                "mrru",
                self.mrru.map_or("disabled".into(), |m| m.to_string()),
            ));
        }
        if self.keepalive_timeout != defaults.keepalive_timeout {
            v.push(("keepalive-timeout", format_time(self.keepalive_timeout)));
        }
        if self.max_sessions != defaults.max_sessions {
            v.push((
                "max-sessions",
                self.max_sessions
                    .map_or("unlimited".into(), |m| m.to_string()),
            ));
        }
        if self.one_session_per_host != defaults.one_session_per_host {
            v.push((
                "one-session-per-host",
                yes_no(self.one_session_per_host).into(),
            ));
        }
        v
    }
}

/// `use-peer-dns` keywords.
const PEER_DNS: &[(&str, UsePeerDns)] = &[
    ("no", UsePeerDns::No),
    ("yes", UsePeerDns::Yes),
    ("exclusively", UsePeerDns::Exclusively),
];

impl ClientSettings {
    /// Apply one PPP property of a client interface menu (`/interface sstp-client`,
    /// `pptp-client`, `pppoe-client`): `user`, `password`, `profile`, `auth_key` (the menu's
    /// name for the accepted methods: `allow` in pptp-client and pppoe-client,
    /// `authentication` in sstp-client), `max-mtu`, `max-mru`, `mrru` (`disabled` or a number),
    /// `keepalive-timeout` (a time; `disabled` = 0), `add-default-route`,
    /// `default-route-distance` (0..255, empty = unset), `use-peer-dns`
    /// (`no`/`yes`/`exclusively`), `dial-on-demand`. `Ok(false)`: not one of these. A bad
    /// value is a [`ConfigError`] naming the property and what it allows. `profile` only
    /// names the profile: the caller applies that profile's `use-encryption`.
    pub fn set_prop(&mut self, auth_key: &str, k: &str, v: &str) -> Result<bool, ConfigError> {
        match k {
            "user" => self.user = v.to_string(),
            "password" => self.password = v.to_string(),
            "profile" => self.profile = v.to_string(),
            _ if k == auth_key => {
                let field = if k == "allow" {
                    "allow"
                } else {
                    "authentication"
                };
                self.allow = AuthSet::parse(v).map_err(|e| {
                    bad(
                        field,
                        format!("{} (allowed: pap, chap, mschap1, mschap2)", e.reason),
                    )
                })?
            }
            "max-mtu" => self.max_mtu = num(v, "max-mtu")?,
            "max-mru" => self.max_mru = num(v, "max-mru")?,
            "mrru" => {
                self.mrru = match v {
                    "disabled" => None,
                    _ => Some(num(v, "mrru").map_err(|_| {
                        bad("mrru", format!("{v:?}: expected disabled or 512..65535"))
                    })?),
                }
            }
            "keepalive-timeout" => {
                self.keepalive_timeout = match v {
                    "disabled" => Duration::ZERO,
                    _ => parse_time(v, "keepalive-timeout")?,
                }
            }
            "add-default-route" => self.add_default_route = parse_yes_no(v, "add-default-route")?,
            "default-route-distance" => {
                self.default_route_distance = match v {
                    "" => None,
                    _ => Some(v.parse().map_err(|_| {
                        bad("default-route-distance", format!("{v:?}: expected 0..255"))
                    })?),
                }
            }
            "use-peer-dns" => {
                self.use_peer_dns = PEER_DNS
                    .iter()
                    .find(|(n, _)| *n == v)
                    .map(|(_, x)| *x)
                    .ok_or_else(|| {
                        bad(
                            "use-peer-dns",
                            format!("{v:?}: expected no, yes or exclusively"),
                        )
                    })?
            }
            "dial-on-demand" => self.dial_on_demand = parse_yes_no(v, "dial-on-demand")?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The properties [`set_prop`](Self::set_prop) reads back to `self`: `user` and
    /// `password` when set, and the others that differ from `defaults` (the menu's defaults,
    /// e.g. [`ClientSettings::pptp`]). `use_encryption`, `redial_delay` and `link` are not
    /// properties of the interface menu and are not written.
    pub fn to_props(
        &self,
        auth_key: &'static str,
        defaults: &ClientSettings,
    ) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if !self.user.is_empty() {
            v.push(("user", self.user.clone()));
        }
        if !self.password.is_empty() {
            v.push(("password", self.password.clone()));
        }
        if self.profile != defaults.profile {
            v.push(("profile", self.profile.clone()));
        }
        if self.allow != defaults.allow {
            v.push((auth_key, self.allow.to_string()));
        }
        if self.max_mtu != defaults.max_mtu {
            v.push(("max-mtu", self.max_mtu.to_string()));
        }
        if self.max_mru != defaults.max_mru {
            v.push(("max-mru", self.max_mru.to_string()));
        }
        if self.mrru != defaults.mrru {
            v.push((
                "mrru",
                self.mrru.map_or("disabled".into(), |m| m.to_string()),
            ));
        }
        if self.keepalive_timeout != defaults.keepalive_timeout {
            v.push(("keepalive-timeout", format_time(self.keepalive_timeout)));
        }
        if self.add_default_route != defaults.add_default_route {
            v.push(("add-default-route", yes_no(self.add_default_route).into()));
        }
        if self.default_route_distance != defaults.default_route_distance {
            v.push((
                "default-route-distance",
                self.default_route_distance
                    .map_or(String::new(), |d| d.to_string()),
            ));
        }
        if self.use_peer_dns != defaults.use_peer_dns {
            let name = PEER_DNS
                .iter()
                .find(|(_, x)| *x == self.use_peer_dns)
                .map_or("no", |(n, _)| n);
            v.push(("use-peer-dns", name.into()));
        }
        if self.dial_on_demand != defaults.dial_on_demand {
            v.push(("dial-on-demand", yes_no(self.dial_on_demand).into()));
        }
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("30", "t").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_time("1h30m", "t").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_time("1d", "t").unwrap(), Duration::from_secs(86400));
        assert_eq!(
            parse_time("00:01:05", "t").unwrap(),
            Duration::from_secs(65)
        );
        assert_eq!(parse_time("1w", "t").unwrap(), Duration::from_secs(604800));
        assert!(parse_time("1x", "t").is_err());
        assert!(parse_time("", "t").is_err());
        assert!(parse_time("5s3", "t").is_err());
        assert_eq!(
            parse_time(&format_time(Duration::from_secs(77)), "t").unwrap(),
            Duration::from_secs(77)
        );
    }

    #[test]
    fn profile_bridge_property_round_trips() {
        let (p, unknown) = Profile::from_props(&[("name", "br"), ("bridge", "bridge1")]).unwrap();
        assert!(unknown.is_empty());
        assert_eq!(p.bridge.as_deref(), Some("bridge1"));
        let back: Vec<(&str, String)> = p.to_props();
        assert!(back.contains(&("bridge", "bridge1".to_string())));
        let (q, _) = Profile::from_props(&[("name", "x"), ("bridge", "none")]).unwrap();
        assert_eq!(q.bridge, None);
        assert_eq!(Profile::named("default").bridge, None);
    }

    #[test]
    fn bad_values_name_the_property() {
        let e = Profile::from_props(&[("name", "p"), ("use-encryption", "maybe")]).unwrap_err();
        assert_eq!(e.field, "use-encryption");
        let e = Secret::from_props(&[("name", "u"), ("service", "ftp")]).unwrap_err();
        assert_eq!(e.field, "service");
        let e = Secret::from_props(&[("password", "x")]).unwrap_err();
        assert_eq!(e.field, "name");
        let e = IpPool::from_props(&[("name", "p"), ("ranges", "1.2.3")]).unwrap_err();
        assert_eq!(e.field, "ranges");
        let mut s = ServerSettings::l2tp();
        assert_eq!(s.set_prop("max-mtu", "big").unwrap_err().field, "max-mtu");
        assert_eq!(
            s.set_prop("authentication", "pap,telnet")
                .unwrap_err()
                .field,
            "authentication"
        );
        assert!(!s.set_prop("allow-fast-path", "yes").unwrap());
    }

    #[test]
    fn client_settings_props_round_trip() {
        let d = ClientSettings::pptp();
        let mut c = d.clone();
        let props = [
            ("user", "u"),
            ("password", "p w"),
            ("profile", "vpn"),
            ("allow", "mschap2"),
            ("max-mtu", "1400"),
            ("max-mru", "1401"),
            ("mrru", "1600"),
            ("keepalive-timeout", "30"),
            ("add-default-route", "yes"),
            ("default-route-distance", "5"),
            ("use-peer-dns", "exclusively"),
            ("dial-on-demand", "yes"),
        ];
        for (k, v) in props {
            assert!(c.set_prop("allow", k, v).unwrap(), "{k}");
        }
        assert_eq!(c.user, "u");
        assert_eq!(c.password, "p w");
        assert_eq!(c.profile, "vpn");
        assert_eq!(c.allow, AuthSet::parse("mschap2").unwrap());
        assert_eq!((c.max_mtu, c.max_mru, c.mrru), (1400, 1401, Some(1600)));
        assert_eq!(c.keepalive_timeout, Duration::from_secs(30));
        assert!(c.add_default_route && c.dial_on_demand);
        assert_eq!(c.default_route_distance, Some(5));
        assert_eq!(c.use_peer_dns, UsePeerDns::Exclusively);
        let out = c.to_props("allow", &d);
        assert_eq!(out.len(), props.len());
        let mut back = d.clone();
        for (k, v) in &out {
            assert!(back.set_prop("allow", k, v).unwrap());
        }
        assert_eq!(back, c);
        // `authentication` is sstp-client's name for the same set; `allow` is then unknown.
        let mut s = ClientSettings::sstp();
        assert!(s
            .set_prop("authentication", "authentication", "pap")
            .unwrap());
        assert!(!s.set_prop("authentication", "allow", "pap").unwrap());
        assert_eq!(
            s.to_props("authentication", &ClientSettings::sstp())[0].0,
            "authentication"
        );
        for (k, v, allowed) in [
            ("allow", "telnet", "mschap2"),
            ("mrru", "big", "512..65535"),
            ("use-peer-dns", "maybe", "exclusively"),
            ("default-route-distance", "300", "0..255"),
            ("dial-on-demand", "sometimes", "yes or no"),
        ] {
            let e = back.set_prop("allow", k, v).unwrap_err();
            assert_eq!(e.field, k);
            assert!(e.reason.contains(allowed), "{k}: {}", e.reason);
        }
        assert!(!back.set_prop("allow", "interface", "ether1").unwrap());
    }
}
