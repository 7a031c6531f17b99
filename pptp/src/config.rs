//! RouterOS-shaped configuration: `/interface pptp-client` ([`ClientConfig`]),
//! `/interface pptp-server server` ([`ServerConfig`]), and the PPTP protocol knobs that are
//! not RouterOS properties ([`ControlConfig`]).
//!
//! ## max-mtu / max-mru: 1450, not 1460
//! The current manual (seed S0 L855-856, L877-878) gives 1450 for both sides; the old manual
//! (S4 L72, L133) says 1460 ("MRU of the interface ... decreased by 40"). We follow the
//! current manual: 1450 (the `ppp` crate's PPTP presets). The enhanced GRE header is 16
//! bytes and the outer IPv4 header 20, so 1450 leaves room for PPP and MPPE overhead on a
//! 1500-byte path.

use std::net::IpAddr;
use std::time::Duration;

use ppp::aaa::UseEncryption;
use ppp::{ClientSettings, ServerSettings};

use crate::error::Error;

/// PPTP protocol parameters (not RouterOS properties; defaults from RFC 2637 and
/// [MS-PTPT]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    /// Host Name sent in SCCRQ/SCCRP (64 bytes max). Default `"MikroTik"` (a guess: no seed
    /// shows what RouterOS sends, spec item 3).
    pub host_name: String,
    /// Vendor String sent in SCCRQ/SCCRP. Default `"MikroTik"`.
    pub vendor: String,
    /// Firmware Revision sent in SCCRQ/SCCRP. Default 1.
    pub firmware_revision: u16,
    /// Echo timer: an Echo-Request goes out after this long with no control message from
    /// the peer (RFC 2637 s3.1.4; [MS-PTPT] s3.1.2). Default 60 s; zero disables.
    pub echo_interval: Duration,
    /// The control connection closes when the Echo-Reply has not come this long after the
    /// Echo-Request (RFC 2637 s3.1.4). Default 60 s.
    pub echo_timeout: Duration,
    /// Control-connection idle timer: a connection not established this long after it
    /// started is closed ([MS-PTPT] s3.1.2: 30 s, instead of RFC 2637's 60 s).
    pub establish_timeout: Duration,
    /// How long to wait for Stop-Control-Connection-Reply before closing anyway (not given
    /// by RFC 2637). Default 10 s.
    pub stop_timeout: Duration,
    /// Our Packet Receive Window Size in OCRQ/OCRP (RFC 2637 s2.7, s2.8). Default 64 (what
    /// pptp-linux and pptpd offer; the captures' OCRQ says 64).
    pub recv_window: u16,
    /// Packet Processing Delay in OCRQ/OCRP, in 1/10 s. Default 0.
    pub processing_delay: u16,
    /// Packet Acknowledgment Timer: a stand-alone GRE acknowledgment goes out this long after
    /// a data packet when no data went back ([MS-PTPT] s3.1.2: 100 ms).
    pub ack_delay: Duration,
    /// When the peer's window has been full this long with no acknowledgment, the
    /// outstanding packets count as lost and the window opens (RFC 2637 s4.4 asks for an
    /// adaptive time-out; fixed here). Default 1 s.
    pub window_timeout: Duration,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            host_name: "MikroTik".into(),
            vendor: "MikroTik".into(),
            firmware_revision: 1,
            echo_interval: Duration::from_secs(60),
            echo_timeout: Duration::from_secs(60),
            establish_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(10),
            recv_window: 64,
            processing_delay: 0,
            ack_delay: Duration::from_millis(100),
            window_timeout: Duration::from_secs(1),
        }
    }
}

impl ControlConfig {
    /// Check every field.
    pub fn validate(&self) -> Result<(), Error> {
        if self.host_name.len() > 64 {
            return cerr("host-name", "at most 64 bytes");
        }
        if self.vendor.len() > 64 {
            return cerr("vendor", "at most 64 bytes");
        }
        if self.recv_window == 0 {
            return cerr("recv-window", "at least 1");
        }
        if self.echo_timeout.is_zero() || self.establish_timeout.is_zero() {
            return cerr("echo-timeout", "must be non-zero");
        }
        if self.ack_delay.is_zero() || self.window_timeout.is_zero() {
            return cerr("ack-delay", "must be non-zero");
        }
        Ok(())
    }
}

fn cerr<T>(property: &'static str, reason: &str) -> Result<T, Error> {
    Err(Error::Config {
        property,
        reason: reason.into(),
    })
}

/// A property's error, naming the property ([`Error::Config`]).
fn prop_err(e: ppp::ConfigError) -> Error {
    Error::Config {
        property: e.field,
        reason: e.reason,
    }
}

impl ServerConfig {
    /// Apply `/interface pptp-server server set` properties in order: `enabled` and the PPP
    /// ones through [`ppp::ServerSettings::set_prop`] (`authentication`, `default-profile`,
    /// `max-mtu`, `max-mru`, `mrru`, `keepalive-timeout`, `max-sessions`,
    /// `one-session-per-host`). A bad value is an [`Error::Config`] naming the property; the
    /// names of properties not implemented are returned in order.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, Error> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            if k == "enabled" {
                self.enabled = ppp::props::parse_yes_no(v, "enabled").map_err(prop_err)?;
            } else if !self.ppp.set_prop(k, v).map_err(prop_err)? {
                unknown.push(k.to_string());
            }
        }
        Ok(unknown)
    }

    /// The configuration of `/interface pptp-server server set ...` lines (RouterOS defaults,
    /// then [`apply_props`](Self::apply_props)), validated.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), Error> {
        let mut c = ServerConfig::default();
        let unknown = c.apply_props(props)?;
        c.validate()?;
        Ok((c, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`: those that
    /// differ from the RouterOS defaults (the library-only bounds and [`ControlConfig`] are
    /// not RouterOS properties and are not written).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ServerConfig::default();
        let mut v = Vec::new();
        if self.enabled != d.enabled {
            v.push(("enabled", ppp::props::yes_no(self.enabled).to_string()));
        }
        v.extend(self.ppp.to_props(&d.ppp));
        v
    }
}

/// `/interface pptp-client` (seed S0 L848-861). The PPP part is [`ppp::ClientSettings`]
/// with the PPTP defaults ([`ClientSettings::pptp`]): `user` (empty), `password` (""),
/// `allow` (mschap2, mschap1, chap, pap), `profile` (`default-encryption`), `max-mtu` and
/// `max-mru` (1450), `mrru` (disabled), `keepalive-timeout` (60 s, LCP echo),
/// `add-default-route` (no), `default-route-distance` (1), `dial-on-demand` (no).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// `connect-to`: the server's address (default empty; IPv4 only in RouterOS, S0 L843).
    pub connect_to: Option<IpAddr>,
    /// `disabled` (default `yes` in RouterOS; a constructed client is enabled and dials at
    /// once unless `dial-on-demand`).
    pub disabled: bool,
    /// The PPP settings. `use_encryption` is `yes`: the default profile
    /// `default-encryption` says so, so MPPE-128 stateless is offered.
    pub ppp: ClientSettings,
    /// PPTP protocol knobs.
    pub control: ControlConfig,
}

impl ClientConfig {
    /// A client of `connect_to` with `user`/`password` and the RouterOS defaults.
    pub fn new(connect_to: IpAddr, user: &str, password: &str) -> Self {
        let mut ppp = ClientSettings::pptp();
        ppp.user = user.into();
        ppp.password = password.into();
        // `profile=default-encryption` (S0 L860): that profile's use-encryption is yes.
        ppp.use_encryption = UseEncryption::Yes;
        ClientConfig {
            connect_to: Some(connect_to),
            disabled: false,
            ppp,
            control: ControlConfig::default(),
        }
    }

    /// Check every field; the error names the property.
    pub fn validate(&self) -> Result<(), Error> {
        if self.connect_to.is_none() {
            return cerr("connect-to", "required");
        }
        if self.ppp.mrru.is_some() {
            return cerr(
                "mrru",
                "multilink (MLPPP) is carried only by l2tp so far; leave it disabled",
            );
        }
        self.ppp.validate()?;
        self.control.validate()
    }
}

impl Default for ClientConfig {
    /// An `/interface pptp-client add` with no properties: no `connect-to`, `disabled=yes`
    /// (S0 L853), `profile=default-encryption` (whose `use-encryption` is yes), the PPP
    /// defaults of [`ClientSettings::pptp`].
    fn default() -> Self {
        let mut ppp = ClientSettings::pptp();
        ppp.use_encryption = UseEncryption::Yes;
        ClientConfig {
            connect_to: None,
            disabled: true,
            ppp,
            control: ControlConfig::default(),
        }
    }
}

impl ClientConfig {
    /// Apply `/interface pptp-client add` (or `set`) properties in order: `connect-to` (an IP
    /// address), `disabled`, and the PPP ones through [`ppp::ClientSettings::set_prop`]
    /// (`user`, `password`, `profile`, `allow`, `max-mtu`, `max-mru`, `mrru`,
    /// `keepalive-timeout`, `add-default-route`, `default-route-distance`, `use-peer-dns`,
    /// `dial-on-demand`). `profile` only names the profile: the caller applies its
    /// `use-encryption` to [`ClientSettings::use_encryption`]. A bad value is an
    /// [`Error::Config`] naming the property and its allowed values; the names of properties
    /// not implemented here (`name`, `comment`, ...) are returned in order.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, Error> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "connect-to" => {
                    self.connect_to = Some(v.parse().map_err(|_| Error::Config {
                        property: "connect-to",
                        reason: format!("{v:?}: expected an IP address"),
                    })?)
                }
                "disabled" => {
                    self.disabled = ppp::props::parse_yes_no(v, "disabled").map_err(prop_err)?
                }
                _ => {
                    if !self.ppp.set_prop("allow", k, v).map_err(prop_err)? {
                        unknown.push(k.to_string());
                    }
                }
            }
        }
        Ok(unknown)
    }

    /// The configuration of an `/interface pptp-client add ...` line (RouterOS defaults,
    /// [`ClientConfig::default`], then [`apply_props`](Self::apply_props)), validated.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), Error> {
        let mut c = ClientConfig::default();
        let unknown = c.apply_props(props)?;
        c.validate()?;
        Ok((c, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`: `connect-to`,
    /// `user`, `password` when set, and the others that differ from the RouterOS defaults
    /// ([`ControlConfig`] and `use_encryption`, a profile's property, are not written).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ClientConfig::default();
        let mut v = Vec::new();
        if let Some(a) = self.connect_to {
            v.push(("connect-to", a.to_string()));
        }
        v.extend(self.ppp.to_props("allow", &d.ppp));
        if self.disabled != d.disabled {
            v.push(("disabled", ppp::props::yes_no(self.disabled).into()));
        }
        v
    }
}

/// `/interface pptp-server server` (seed S0 L873-879). The PPP part is
/// [`ppp::ServerSettings`] with the PPTP defaults ([`ServerSettings::pptp`]):
/// `authentication` (mschap1, mschap2), `default-profile` (`default-encryption`),
/// `keepalive-timeout` (30 s), `max-mtu`/`max-mru` (1450), `mrru` (disabled),
/// `max-sessions` (unlimited; the old license levels 1 / 200 / unlimited map here, S4 L45).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// `enabled` (default `no`): a disabled server refuses connections.
    pub enabled: bool,
    /// The PPP settings.
    pub ppp: ServerSettings,
    /// PPTP protocol knobs.
    pub control: ControlConfig,
    /// Control connections open at once, in any state; more are refused at accept. Not a
    /// RouterOS property; default 4096.
    pub max_connections: usize,
    /// Control connections none of whose calls has authenticated yet (the *half-open* ones:
    /// SCCRQ, OCRQ and PPP authentication cost a stranger nothing) held at once (issue #24).
    /// Not a RouterOS property; default 256.
    pub max_half_open: usize,
    /// Of those, from one source address. Not a RouterOS property; default 8.
    pub max_half_open_per_source: usize,
    /// When the half-open table is full, a newcomer displaces the oldest half-open connection
    /// of the source holding the most (if it holds more than one), else the oldest one if it
    /// is at least this old, else it is refused: every connection gets this long to
    /// authenticate however many strangers arrive. Not a RouterOS property; default 1 s.
    pub half_open_min_age: std::time::Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            enabled: false,
            ppp: ServerSettings::pptp(),
            control: ControlConfig::default(),
            max_connections: 4096,
            max_half_open: 256,
            max_half_open_per_source: 8,
            half_open_min_age: std::time::Duration::from_secs(1),
        }
    }
}

impl ServerConfig {
    /// The defaults with `enabled=yes`.
    pub fn enabled() -> Self {
        ServerConfig {
            enabled: true,
            ..Default::default()
        }
    }

    /// Check every field; the error names the property.
    pub fn validate(&self) -> Result<(), Error> {
        if self.max_connections == 0 {
            return cerr("max-connections", "must be at least 1");
        }
        if self.ppp.mrru.is_some() {
            return cerr(
                "mrru",
                "multilink (MLPPP) is carried only by l2tp so far; leave it disabled",
            );
        }
        if self.max_half_open == 0 || self.max_half_open_per_source == 0 {
            return cerr("max-half-open", "must be at least 1");
        }
        self.ppp.validate()?;
        self.control.validate()
    }
}

/// The `/ppp aaa` tables a RouterOS PPTP server starts with: the `default` and
/// `default-encryption` profiles, the latter with `use-encryption=yes` as in RouterOS (the
/// `ppp` crate's table keeps it passive for its other transports).
pub fn default_aaa() -> ppp::aaa::Aaa {
    let mut aaa = ppp::aaa::Aaa::new();
    for p in aaa.profiles.iter_mut() {
        if p.name == "default-encryption" {
            p.use_encryption = UseEncryption::Yes;
        }
    }
    aaa
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn server_props_round_trip_and_name_the_property() {
        // Seed 004 L145-153: `set enabled=yes` and the printed defaults.
        let (s, unknown) = ServerConfig::from_props(&[
            ("enabled", "yes"),
            ("max-mtu", "1460"),
            ("max-mru", "1460"),
            ("mrru", "disabled"),
            ("authentication", "mschap2,mschap1"),
            ("keepalive-timeout", "30"),
            ("default-profile", "default"),
            ("allow-fast-path", "no"),
        ])
        .unwrap();
        assert!(s.enabled);
        assert_eq!(s.ppp.default_profile, "default");
        assert_eq!(unknown, ["allow-fast-path"]);
        let props = s.to_props();
        let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(ServerConfig::from_props(&refs).unwrap().0, s);
        for (k, v) in [("enabled", "on"), ("max-mtu", "big"), ("mrru", "1600")] {
            match ServerConfig::from_props(&[(k, v)]).unwrap_err() {
                Error::Config { property, .. } => assert_eq!(property, k),
                e => panic!("{e:?}"),
            }
        }
    }
}
