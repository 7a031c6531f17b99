//! RouterOS-shaped configuration: `/interface pppoe-client` ([`ClientConfig`]) and
//! `/interface pppoe-server server` ([`ServerConfig`]), with the defaults of the RouterOS
//! manual (seed S0 L567-582 and L628-647) and validation that names the property.
//!
//! The PPP half of each menu (user, password, allow/authentication, max-mtu, max-mru, mrru,
//! keepalive-timeout, add-default-route, default-route-distance, use-peer-dns,
//! dial-on-demand, profile, max-sessions, one-session-per-host, default-profile) is the shared
//! block of the PPP host, [`ppp::ClientSettings::pppoe`] / [`ppp::ServerSettings::pppoe`];
//! this module adds the PPPoE properties.
//!
//! # MTU and MRU defaults
//! The seeds disagree on the client (the property table says 1460, a fresh `print` shows
//! `auto`, the MLPPP example prints 1480). This crate keeps the property table's **1460** for
//! the client (what [`ppp::ClientSettings::pppoe`] carries) and **1480** for the server (table
//! and example agree). Both are below the RFC 2516 s7 ceiling of 1492, which validation
//! enforces unless RFC 4638 is configured.

use crate::wire::{Mac, VlanStack, MAX_MRU_WITHOUT_RFC4638};
use ppp::host::AaaSettings;
use ppp::{ClientSettings, ConfigError, ServerSettings};
use std::time::Duration;

fn err<T>(field: &'static str, reason: &str) -> Result<T, ConfigError> {
    Err(ConfigError {
        field,
        reason: reason.into(),
    })
}

/// `/interface pppoe-client`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The PPP properties of the menu (`user`, `password`, `allow`, `max-mtu` 1460, `max-mru`
    /// 1460, `keepalive-timeout` 60, `add-default-route` no, `default-route-distance` 1,
    /// `use-peer-dns` no, `dial-on-demand` no, `profile` default): [`ClientSettings::pppoe`].
    pub ppp: ClientSettings,
    /// `service-name` (""): the service asked for in the PADI; blank asks for any, and the
    /// PADR then carries the first service the chosen PADO lists (S0 L535-539, L580).
    pub service_name: String,
    /// `ac-name` (""): take PADOs only from the AC of this name; blank takes the first valid
    /// PADO (S0 L567).
    pub ac_name: String,
    /// The MAC address of `interface` (no default: the application reads it from the port).
    pub mac: Mac,
    /// The VLAN tags the client sends with (not a property: RouterOS runs the client on a VLAN
    /// interface). Default untagged.
    pub vlans: VlanStack,
    /// Send a Host-Uniq tag (8 random bytes per dial from the injected RNG) and accept only
    /// replies that echo it (RFC 2516 App. A). Not a RouterOS property; default yes.
    pub host_uniq: bool,
    /// First PADI/PADR timeout; each retransmission doubles it (RFC 2516 s5/s8). Not a RouterOS
    /// property; default 1 s.
    pub discovery_timeout: Duration,
    /// Ceiling of the doubling timeout. Default 32 s (PADIs at 0, 1, 3, 7, 15, 31, 63, 95 s...).
    pub max_discovery_timeout: Duration,
    /// PADR transmissions before discovery starts over with a PADI (RFC 2516 s5/s8: "after a
    /// specified number of retries, the Host SHOULD then resend a PADI"). Default 3.
    pub padr_attempts: u32,
    /// RFC 4638 PPP-Max-Payload to ask for (None, the default: not sent). Values above 1492
    /// need a baby-jumbo link (Ethernet MTU >= value + 8).
    pub ppp_max_payload: Option<u16>,
}

impl ClientConfig {
    /// RouterOS defaults on the port with MAC `mac`.
    pub fn new(mac: Mac) -> Self {
        ClientConfig {
            ppp: ClientSettings::pppoe(),
            service_name: String::new(),
            ac_name: String::new(),
            mac,
            vlans: VlanStack::NONE,
            host_uniq: true,
            discovery_timeout: Duration::from_secs(1),
            max_discovery_timeout: Duration::from_secs(32),
            padr_attempts: 3,
            ppp_max_payload: None,
        }
    }

    /// Check every field; the error names the property.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ppp.mrru.is_some() {
            return err(
                "mrru",
                "multilink (MLPPP) is carried only by l2tp so far; leave it disabled",
            );
        }
        check_mac("interface", &self.mac)?;
        if self.discovery_timeout.is_zero() {
            return err("discovery-timeout", "must be non-zero");
        }
        if self.max_discovery_timeout < self.discovery_timeout {
            return err("max-discovery-timeout", "below discovery-timeout");
        }
        if self.padr_attempts == 0 {
            return err("padr-attempts", "at least 1");
        }
        check_name("service-name", &self.service_name)?;
        check_name("ac-name", &self.ac_name)?;
        check_payload(self.ppp_max_payload)?;
        self.ppp.validate()
    }
}

/// `/interface pppoe-server server` (one AC on one port; several `service-name`s share it,
/// S0 L649).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The PPP properties (`authentication` all four, `default-profile` default,
    /// `keepalive-timeout` 10 s, `max-mtu` 1480, `max-mru` 1480, `mrru` disabled,
    /// `max-sessions` 0 = unlimited (here `None`), `one-session-per-host` no):
    /// [`ServerSettings::pppoe`], with `link.restart_lcp_on_failure` set (S0 L554: a failed
    /// authentication or IPCP restarts LCP; the PPPoE session stays).
    pub ppp: ServerSettings,
    /// `/ppp aaa` (use-radius no, accounting yes).
    pub aaa: AaaSettings,
    /// `service-name` of each server entry on this interface (default one entry, ""). A
    /// blank PADI gets a PADO listing every name; a PADI for a listed name gets a PADO for
    /// it; a PADI for another name gets none. A blank entry serves any requested name.
    pub service_names: Vec<String>,
    /// The AC-Name: the router's `/system identity` (default "MikroTik", S0 L649).
    pub ac_name: String,
    /// The MAC address of `interface`.
    pub mac: Mac,
    /// `pado-delay` (0 ms): wait this long before answering a PADI, so that another AC on
    /// the segment answers first (not in the seeds; a RouterOS property since v6).
    pub pado_delay: Duration,
    /// `pppoe-over-vlan-range` (""): VLAN ids (innermost 802.1Q tag) whose tagged PADIs are
    /// answered, on the same tags (S0 L638-646).
    pub vlan_range: VlanRange,
    /// `accept-untagged` (yes): with a VLAN range set, whether untagged clients are served too
    /// (S0 L628). Without a range only untagged clients are served.
    pub accept_untagged: bool,
    /// How long an AC-Cookie secret lives; a cookie verifies for one to two periods. Not a
    /// RouterOS property; default 60 s.
    pub cookie_rotation: Duration,
    /// At most this many PADOs wait out `pado-delay` at once (PADI flood bound). Default 1024.
    pub max_delayed_pados: usize,
    /// RFC 4638: the largest PPP-Max-Payload granted (None, the default: the tag is ignored
    /// and never sent).
    pub ppp_max_payload: Option<u16>,
    /// At most this many sessions per client MAC that have not yet sent a session-stage
    /// frame (a PADR flood from one host with a valid cookie and ever new Host-Uniqs); a
    /// further PADR is dropped ([`DropReason::HostStarting`](crate::DropReason::HostStarting)).
    /// Not a RouterOS property; default 4.
    pub max_starting_per_host: usize,
    /// LAC role (RouterOS VPDN, S0 L166-281): users `name@realm` of these realms are not
    /// authenticated here; after LCP and the authentication exchange the session is handed
    /// over ([`ppp::host::ServerEvent::Forward`]) for relaying to an L2TP LNS. Default empty.
    pub forward_realms: Vec<String>,
}

impl ServerConfig {
    /// RouterOS defaults on the port with MAC `mac`.
    pub fn new(mac: Mac) -> Self {
        let mut ppp = ServerSettings::pppoe();
        // S0 L554: on an authentication or IPCP failure "the LCP negotiation establishment
        // phase is started again": the PPPoE session (and its id) stays, no PADT.
        ppp.link.restart_lcp_on_failure = true;
        ServerConfig {
            ppp,
            aaa: AaaSettings::default(),
            service_names: vec![String::new()],
            ac_name: "MikroTik".into(),
            mac,
            pado_delay: Duration::ZERO,
            vlan_range: VlanRange::default(),
            accept_untagged: true,
            cookie_rotation: Duration::from_secs(60),
            max_delayed_pados: 1024,
            ppp_max_payload: None,
            forward_realms: Vec::new(),
            max_starting_per_host: 4,
        }
    }

    /// Check every field; the error names the property.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ppp.mrru.is_some() {
            return err(
                "mrru",
                "multilink (MLPPP) is carried only by l2tp so far; leave it disabled",
            );
        }
        check_mac("interface", &self.mac)?;
        if self.service_names.is_empty() {
            return err("service-name", "at least one server entry");
        }
        for s in &self.service_names {
            check_name("service-name", s)?;
        }
        check_name("ac-name", &self.ac_name)?;
        if self.max_starting_per_host == 0 {
            return err("max-starting-per-host", "at least 1");
        }
        if self.cookie_rotation.is_zero() {
            return err("cookie-rotation", "must be non-zero");
        }
        check_payload(self.ppp_max_payload)?;
        self.ppp.validate()
    }

    /// Whether a frame with these tags is served (`pppoe-over-vlan-range`, `accept-untagged`).
    pub fn serves_vlan(&self, vlans: &VlanStack) -> bool {
        match vlans.inner_vid() {
            None => self.vlan_range.is_empty() || self.accept_untagged,
            Some(v) => self.vlan_range.contains(v),
        }
    }
}

impl ClientConfig {
    /// Apply `/interface pppoe-client add` (or `set`) properties in order: `service-name`,
    /// `ac-name`, and the PPP ones through [`ClientSettings::set_prop`] (`user`, `password`,
    /// `profile`, `allow`, `max-mtu`, `max-mru`, `mrru`, `keepalive-timeout`,
    /// `add-default-route`, `default-route-distance`, `use-peer-dns`, `dial-on-demand`). A
    /// bad value is a [`ConfigError`] naming the property and its allowed values; the names
    /// of properties not implemented here are returned in order (among them `name`,
    /// `interface` and `disabled`: the interface, the port and whether to dial are the
    /// program's; the MAC is [`ClientConfig::mac`]).
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "service-name" => self.service_name = v.to_string(),
                "ac-name" => self.ac_name = v.to_string(),
                _ => {
                    if !self.ppp.set_prop("allow", k, v)? {
                        unknown.push(k.to_string());
                    }
                }
            }
        }
        Ok(unknown)
    }

    /// An `/interface pppoe-client add ...` line on the port with MAC `mac` (RouterOS
    /// defaults, then [`apply_props`](Self::apply_props)), validated.
    pub fn from_props(
        mac: Mac,
        props: &[(&str, &str)],
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut c = ClientConfig::new(mac);
        let unknown = c.apply_props(props)?;
        c.validate()?;
        Ok((c, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`: `service-name`,
    /// `ac-name`, `user`, `password` when set, and the others that differ from the RouterOS
    /// defaults (the MAC, VLANs and discovery timers are not RouterOS properties and are
    /// not written).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ClientConfig::new(self.mac);
        let mut v = Vec::new();
        if !self.service_name.is_empty() {
            v.push(("service-name", self.service_name.clone()));
        }
        if !self.ac_name.is_empty() {
            v.push(("ac-name", self.ac_name.clone()));
        }
        v.extend(self.ppp.to_props("allow", &d.ppp));
        v
    }
}

impl ServerConfig {
    /// Apply the properties of an `/interface pppoe-server server add` (or `set`) entry in
    /// order: `service-name` (this entry's one name), `pado-delay` (milliseconds, or a time),
    /// `pppoe-over-vlan-range`, `accept-untagged`, `max-sessions` (`0` or `unlimited` = no
    /// limit), and the PPP ones through [`ServerSettings::set_prop`] (`authentication`,
    /// `default-profile`, `max-mtu`, `max-mru`, `mrru`, `keepalive-timeout`,
    /// `one-session-per-host`). A bad value is a [`ConfigError`] naming the property; the
    /// names of properties not implemented here are returned in order (among them
    /// `interface` and `disabled`: which port, and whether to serve, is the program's
    /// choice; the MAC is [`ServerConfig::mac`]).
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "service-name" => self.service_names = vec![v.to_string()],
                "pado-delay" => self.pado_delay = parse_pado_delay(v)?,
                "pppoe-over-vlan-range" => self.vlan_range = VlanRange::parse(v)?,
                "accept-untagged" => {
                    self.accept_untagged = ppp::props::parse_yes_no(v, "accept-untagged")?
                }
                "max-sessions" if v == "0" => self.ppp.max_sessions = None,
                _ => {
                    if !self.ppp.set_prop(k, v)? {
                        unknown.push(k.to_string());
                    }
                }
            }
        }
        Ok(unknown)
    }

    /// One `/interface pppoe-server server add ...` entry on the port with MAC `mac`
    /// (RouterOS defaults, then [`apply_props`](Self::apply_props)), validated.
    pub fn from_props(
        mac: Mac,
        props: &[(&str, &str)],
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut c = ServerConfig::new(mac);
        let unknown = c.apply_props(props)?;
        c.validate()?;
        Ok((c, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`: those that
    /// differ from the RouterOS defaults, with `service-name` when there is exactly one
    /// non-empty name (several names are several entries). The MAC, `ac_name` (the router's
    /// identity) and the library-only bounds are not written.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ServerConfig::new(self.mac);
        let mut v = Vec::new();
        if let [name] = self.service_names.as_slice() {
            if !name.is_empty() {
                v.push(("service-name", name.clone()));
            }
        }
        v.extend(self.ppp.to_props(&d.ppp));
        if self.pado_delay != d.pado_delay {
            v.push(("pado-delay", self.pado_delay.as_millis().to_string()));
        }
        if self.vlan_range != d.vlan_range {
            v.push(("pppoe-over-vlan-range", self.vlan_range.text()));
        }
        if self.accept_untagged != d.accept_untagged {
            v.push((
                "accept-untagged",
                ppp::props::yes_no(self.accept_untagged).into(),
            ));
        }
        v
    }
}

/// `pado-delay`: milliseconds (`200`, `200ms`) or a RouterOS time (`1s`).
fn parse_pado_delay(v: &str) -> Result<Duration, ConfigError> {
    let ms = v.strip_suffix("ms").unwrap_or(v);
    match ms.parse::<u64>() {
        Ok(n) => Ok(Duration::from_millis(n)),
        Err(_) => ppp::props::parse_time(v, "pado-delay"),
    }
}

fn check_mac(field: &'static str, m: &Mac) -> Result<(), ConfigError> {
    if m[0] & 1 == 1 || *m == [0; 6] {
        return err(field, "MAC must be a non-zero unicast address");
    }
    Ok(())
}

fn check_name(field: &'static str, s: &str) -> Result<(), ConfigError> {
    if s.len() > 1400 {
        return err(field, "longer than a discovery packet can carry");
    }
    Ok(())
}

fn check_payload(p: Option<u16>) -> Result<(), ConfigError> {
    if let Some(p) = p {
        if p < MAX_MRU_WITHOUT_RFC4638 {
            return err("ppp-max-payload", "RFC 4638 values are at least 1492");
        }
    }
    Ok(())
}

/// A `pppoe-over-vlan-range` value such as `100-115,120,122,128-130` (ids 1..4094).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VlanRange {
    ranges: Vec<(u16, u16)>,
}

impl VlanRange {
    /// Parse the RouterOS form: comma-separated ids and `a-b` ranges; "" is empty.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        let mut ranges = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) else {
                return err("pppoe-over-vlan-range", "not a number or range");
            };
            if !(1..=4094).contains(&a) || !(1..=4094).contains(&b) || a > b {
                return err("pppoe-over-vlan-range", "ids are 1..4094, ranges low-high");
            }
            ranges.push((a, b));
        }
        Ok(VlanRange { ranges })
    }
    /// The RouterOS form [`parse`](Self::parse) reads back (`100-115,120`; "" when empty).
    pub fn text(&self) -> String {
        self.ranges
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
    /// True when no VLAN is configured.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
    /// Whether `vid` is in the range.
    pub fn contains(&self, vid: u16) -> bool {
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&vid))
    }
}

/// Split the Windows dial-up "phone number" form `AC\service` (S0 L617) into
/// (`ac-name`, `service-name`); a string without `\` is a service name only.
pub fn split_ac_service(s: &str) -> (&str, &str) {
    match s.split_once('\\') {
        Some((ac, svc)) => (ac, svc),
        None => ("", s),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod props_tests {
    use super::*;

    const MAC: Mac = [0x02, 0, 0, 0, 0, 1];

    #[test]
    fn server_props_round_trip_and_name_the_property() {
        // Seed 000 L683-684: `add default-profile=for-pppoe disabled=no interface=ether3
        // service-name=pppoeservice`.
        let (s, unknown) = ServerConfig::from_props(
            MAC,
            &[
                ("default-profile", "for-pppoe"),
                ("disabled", "no"),
                ("interface", "ether3"),
                ("service-name", "pppoeservice"),
                ("max-sessions", "0"),
            ],
        )
        .unwrap();
        assert_eq!(s.service_names, ["pppoeservice"]);
        assert_eq!(s.ppp.default_profile, "for-pppoe");
        assert_eq!(s.ppp.max_sessions, None);
        assert_eq!(unknown, ["disabled", "interface"]);
        let mut c = ServerConfig::new(MAC);
        c.apply_props(&[
            ("pado-delay", "200ms"),
            ("pppoe-over-vlan-range", "100-115,120"),
            ("accept-untagged", "no"),
            ("max-sessions", "5"),
            ("one-session-per-host", "yes"),
            ("keepalive-timeout", "20s"),
        ])
        .unwrap();
        assert_eq!(c.pado_delay, Duration::from_millis(200));
        assert!(c.vlan_range.contains(110) && !c.vlan_range.contains(116));
        assert_eq!(c.vlan_range.text(), "100-115,120");
        let props = c.to_props();
        let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(ServerConfig::from_props(MAC, &refs).unwrap().0, c);
        for (k, v) in [
            ("pado-delay", "soon"),
            ("pppoe-over-vlan-range", "5000"),
            ("accept-untagged", "maybe"),
            ("max-mtu", "big"),
            ("mrru", "1614"),
        ] {
            assert_eq!(
                ServerConfig::from_props(MAC, &[(k, v)]).unwrap_err().field,
                k
            );
        }
    }
}
