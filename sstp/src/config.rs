//! RouterOS-shaped configuration: `/interface sstp-client` ([`ClientConfig`]) and
//! `/interface sstp-server server` ([`ServerConfig`]), seed 000 lines 945-985.
//!
//! The PPP part of each menu (authentication, max-mtu, max-mru, mrru, keepalive-timeout,
//! user, password, profile, default-profile, add-default-route, dial-on-demand, ...) is the
//! shared settings block of the `ppp` crate ([`ppp::ClientSettings::sstp`],
//! [`ppp::ServerSettings::sstp`]), embedded as the `ppp` field: one source of truth. The TLS
//! part (tls-version, ciphers, pfs, verify-*, add-sni, certificates) is [`ClientTls`] /
//! [`ServerTls`], which a TLS adapter reads ([`crate::tls::RustlsTls`]) and checks against its
//! [`Capabilities`](crate::tls::Capabilities).
//!
//! RouterOS disagrees with itself on max-mtu/max-mru (table 1460, print 1500, S0 L966-967 vs
//! L1026, L1039): the table value 1460 is the default here, as in `ppp::settings`.

use std::time::Duration;

use crate::error::ConfigError;
use crate::http::Guid;

/// `tls-version` (S0 L954, L979).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// `any` (default): TLS 1.2 or 1.3.
    #[default]
    Any,
    /// `only-1.2`.
    Only12,
}

/// `ciphers` (S0 L962, L980).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Ciphers {
    /// Default: all the adapter supports.
    #[default]
    All,
    /// `aes256-gcm-sha384`: AES-256-GCM with SHA-384 only.
    Aes256GcmSha384,
    /// `aes256-sha`: AES-256-CBC with SHA-1 (TLS 1.2 CBC suites; not in rustls).
    Aes256Sha,
}

/// `pfs` (S0 L964, L985): which key exchanges are allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Pfs {
    /// `no` (default): RSA key exchange allowed as well (where the adapter has it).
    #[default]
    No,
    /// `yes`: ECDHE-RSA and DHE-RSA only.
    Yes,
    /// `required`: ECDHE only.
    Required,
}

/// The TLS part of `/interface sstp-client`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientTls {
    /// `tls-version`.
    pub tls_version: TlsVersion,
    /// `ciphers`.
    pub ciphers: Ciphers,
    /// `pfs`.
    pub pfs: Pfs,
    /// `verify-server-certificate` (no): verify the server's chain against the CA
    /// certificates ([`ClientTls::ca_pem`]) and its validity dates.
    pub verify_server_certificate: bool,
    /// `verify-server-address-from-certificate` (no): the certificate must name the address
    /// (or DNS name) in `connect-to` (SAN, else subject CN).
    pub verify_server_address_from_certificate: bool,
    /// `add-sni` (no): put `connect-to` into the ClientHello's server_name extension (DNS
    /// names only; RFC 6066 forbids IP literals there).
    pub add_sni: bool,
    /// Trusted CA certificates (PEM), RouterOS's imported CA with `trusted=yes`.
    pub ca_pem: Option<String>,
    /// `certificate`: the client certificate chain (PEM); `None` = `none`.
    pub certificate_pem: Option<String>,
    /// Its private key (PEM).
    pub key_pem: Option<String>,
}

/// The TLS part of `/interface sstp-server server`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerTls {
    /// `tls-version`.
    pub tls_version: TlsVersion,
    /// `ciphers`.
    pub ciphers: Ciphers,
    /// `pfs`.
    pub pfs: Pfs,
    /// `certificate`: the server certificate chain (PEM). `None` = `none`, RouterOS's
    /// anonymous-DH mode (S0 L938, L999), which needs an adapter with
    /// [`Capabilities::anonymous_dh`](crate::tls::Capabilities::anonymous_dh).
    pub certificate_pem: Option<String>,
    /// Its private key (PEM).
    pub key_pem: Option<String>,
    /// `verify-client-certificate` (no): require and verify a client certificate against
    /// [`ServerTls::ca_pem`].
    pub verify_client_certificate: bool,
    /// CA certificates (PEM) that client certificates must chain to.
    pub ca_pem: Option<String>,
}

/// `/interface sstp-client`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// `connect-to`: the server's address or DNS name (IPv4 or IPv6 literal, or a name).
    pub connect_to: String,
    /// `port` (443).
    pub port: u16,
    /// `http-proxy`: connect through this HTTP proxy (address or name) with `CONNECT`.
    /// `None` = empty (RouterOS prints 0.0.0.0).
    pub http_proxy: Option<String>,
    /// `proxy-port` (443).
    pub proxy_port: u16,
    /// Proxy credentials for `Proxy-Authorization: Basic` (not a RouterOS property).
    pub proxy_credentials: Option<(String, String)>,
    /// The TLS properties.
    pub tls: ClientTls,
    /// The PPP properties (authentication, user, password, profile, max-mtu, max-mru, mrru,
    /// keepalive-timeout, add-default-route, default-route-distance, dial-on-demand).
    pub ppp: ppp::ClientSettings,
    /// Also run the SSTP Echo Request/Response keepalive (MS-SSTP 3.1.2.2 hello timer) with
    /// `keepalive-timeout` as its interval, besides LCP echo. Default true (not a RouterOS
    /// property; RouterOS does not say which of the two it uses).
    pub sstp_echo: bool,
    /// SSTPCORRELATIONID to send (`None`: a random GUID per connection from the RNG).
    pub correlation_id: Option<Guid>,
    /// Wait for the HTTP response (MS-SSTP: 60 s).
    pub http_timeout: Duration,
    /// Negotiation timer after Call Connect Request and after Call Connect Ack (MS-SSTP
    /// 3.2.2.1: 60 s).
    pub negotiation_timeout: Duration,
    /// Wall-clock time (Unix seconds) at construction, for certificate validity checks; the
    /// client advances it by the `now` it is given. 0 = unknown (verification then fails).
    pub unix_time: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_to: String::new(),
            port: 443,
            http_proxy: None,
            proxy_port: 443,
            proxy_credentials: None,
            tls: ClientTls::default(),
            ppp: ppp::ClientSettings::sstp(),
            sstp_echo: true,
            correlation_id: None,
            http_timeout: Duration::from_secs(60),
            negotiation_timeout: Duration::from_secs(60),
            unix_time: 0,
        }
    }
}

impl ClientConfig {
    /// A client for `connect_to` with user and password, everything else default.
    pub fn new(connect_to: &str, user: &str, password: &str) -> Self {
        let mut c = ClientConfig {
            connect_to: connect_to.into(),
            ..Default::default()
        };
        c.ppp.user = user.into();
        c.ppp.password = password.into();
        c
    }

    /// Check every field; the error names the RouterOS property.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.connect_to.is_empty() {
            return Err(ConfigError::new("connect-to", "must name the server"));
        }
        if self.ppp.mrru.is_some() {
            return Err(ConfigError::new(
                "mrru",
                "multilink (MLPPP) is carried only by l2tp so far; leave it disabled",
            ));
        }
        if self.port == 0 {
            return Err(ConfigError::new("port", "must be 1..65535"));
        }
        if self.http_proxy.as_deref() == Some("") {
            return Err(ConfigError::new("http-proxy", "empty; use None"));
        }
        if self.http_proxy.is_some() && self.proxy_port == 0 {
            return Err(ConfigError::new("proxy-port", "must be 1..65535"));
        }
        if self.tls.verify_server_certificate && self.tls.ca_pem.is_none() {
            return Err(ConfigError::new(
                "verify-server-certificate",
                "needs a trusted CA certificate",
            ));
        }
        if self.tls.certificate_pem.is_some() != self.tls.key_pem.is_some() {
            return Err(ConfigError::new(
                "certificate",
                "needs both the certificate and its private key",
            ));
        }
        if self.http_timeout.is_zero() || self.negotiation_timeout.is_zero() {
            return Err(ConfigError::new("negotiation-timeout", "must be non-zero"));
        }
        self.ppp
            .validate()
            .map_err(|e| ConfigError::new(e.field, &e.reason))
    }

    /// Where the TCP connection goes: the proxy when `http-proxy` is set, else the server.
    pub fn tcp_destination(&self) -> (&str, u16) {
        match &self.http_proxy {
            Some(p) => (p.as_str(), self.proxy_port),
            None => (self.connect_to.as_str(), self.port),
        }
    }

    /// The `host:port` authority of the server (proxy `CONNECT` target; IPv6 in brackets).
    pub fn server_authority(&self) -> String {
        if self.connect_to.contains(':') && !self.connect_to.starts_with('[') {
            format!("[{}]:{}", self.connect_to, self.port)
        } else {
            format!("{}:{}", self.connect_to, self.port)
        }
    }
}

/// `/interface sstp-server server`, plus the bounds on what strangers can make it hold.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// `enabled` (no): a disabled server refuses every connection
    /// ([`AcceptError::Disabled`](crate::error::AcceptError::Disabled)).
    pub enabled: bool,
    /// `port` (443): for the socket layer (the crate itself opens nothing).
    pub port: u16,
    /// The TLS properties.
    pub tls: ServerTls,
    /// The PPP properties (authentication, keepalive-timeout, max-mtu, max-mru, mrru,
    /// default-profile; max-sessions and one-session-per-host).
    pub ppp: ppp::ServerSettings,
    /// SSTP Echo keepalive with `keepalive-timeout` as interval (see
    /// [`ClientConfig::sstp_echo`]).
    pub sstp_echo: bool,
    /// Accept a Call Connected whose Compound MAC was made with a zero HLAK even after an
    /// MS-CHAPv2 login (clients that cannot export keys, e.g. `sstpc --nolaunchpppd` without
    /// its plugin). Default false: such a binding is refused with Call Abort. Not a RouterOS
    /// property.
    pub accept_zero_hlak: bool,
    /// Hash Protocol Bitmask offered in the Crypto Binding Request (default 0x03: SHA-1 and
    /// SHA-256).
    pub hash_bitmask: u8,
    /// The `Server` header field of the HTTP response.
    pub http_server_name: String,
    /// Wait for the HTTP request, then for Call Connect Request, then for Call Connected
    /// (MS-SSTP negotiation timer, 60 s each).
    pub negotiation_timeout: Duration,
    /// Connections not yet in Call Connected (TLS, HTTP, SSTP negotiation, PPP
    /// authentication) held at once; more are refused at accept (issue #24's rule).
    pub max_half_open: usize,
    /// Of those, from one source address.
    pub max_half_open_per_source: usize,
    /// When the half-open table is full, a newcomer displaces the oldest half-open
    /// connection of the source holding the most (if it holds more than one), else the oldest
    /// half-open connection if it is at least this old; only when neither exists is it
    /// refused. So strangers holding the table cannot keep new clients out, and every
    /// connection gets at least this long to finish TLS, HTTP, SSTP and PPP authentication
    /// (issue #24). Not a RouterOS property; default 1 s.
    pub half_open_min_age: Duration,
    /// Connections held at once in any state.
    pub max_connections: usize,
    /// Wall-clock time (Unix seconds) at construction, for client certificate validity.
    pub unix_time: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            enabled: false,
            port: 443,
            tls: ServerTls::default(),
            ppp: ppp::ServerSettings::sstp(),
            sstp_echo: true,
            accept_zero_hlak: false,
            hash_bitmask: 0x03,
            http_server_name: "rosproto-sstp".into(),
            negotiation_timeout: Duration::from_secs(60),
            max_half_open: 256,
            max_half_open_per_source: 8,
            half_open_min_age: Duration::from_secs(1),
            max_connections: 4096,
            unix_time: 0,
        }
    }
}

impl ServerConfig {
    /// An enabled server with the RouterOS defaults otherwise.
    pub fn enabled() -> Self {
        ServerConfig {
            enabled: true,
            ..Default::default()
        }
    }

    /// Check every field; the error names the property.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ppp.mrru.is_some() {
            return Err(ConfigError::new(
                "mrru",
                "multilink (MLPPP) is carried only by l2tp so far; leave it disabled",
            ));
        }
        if self.hash_bitmask & 0x03 == 0 || self.hash_bitmask & !0x03 != 0 {
            return Err(ConfigError::new(
                "hash-bitmask",
                "must offer SHA-1 (0x01), SHA-256 (0x02) or both",
            ));
        }
        if self.tls.verify_client_certificate && self.tls.ca_pem.is_none() {
            return Err(ConfigError::new(
                "verify-client-certificate",
                "needs a CA certificate",
            ));
        }
        if self.tls.certificate_pem.is_some() != self.tls.key_pem.is_some() {
            return Err(ConfigError::new(
                "certificate",
                "needs both the certificate and its private key",
            ));
        }
        if self.max_half_open == 0 || self.max_half_open_per_source == 0 {
            return Err(ConfigError::new("max-half-open", "must be at least 1"));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::new("max-connections", "must be at least 1"));
        }
        if self.negotiation_timeout.is_zero() {
            return Err(ConfigError::new("negotiation-timeout", "must be non-zero"));
        }
        self.ppp
            .validate()
            .map_err(|e| ConfigError::new(e.field, &e.reason))
    }
}

fn ppp_err(e: ppp::ConfigError) -> ConfigError {
    ConfigError::new(e.field, &e.reason)
}

fn keyword<T: Copy>(
    v: &str,
    field: &'static str,
    table: &[(&'static str, T)],
) -> Result<T, ConfigError> {
    table
        .iter()
        .find(|(k, _)| *k == v)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let allowed: Vec<_> = table.iter().map(|(k, _)| *k).collect();
            ConfigError::new(
                field,
                &format!("{v:?}: expected one of {}", allowed.join(", ")),
            )
        })
}

fn name_of<T: PartialEq>(t: T, table: &[(&'static str, T)]) -> &'static str {
    table.iter().find(|(_, x)| *x == t).map_or("", |(k, _)| k)
}

const TLS_VERSION: &[(&str, TlsVersion)] =
    &[("any", TlsVersion::Any), ("only-1.2", TlsVersion::Only12)];
const CIPHERS: &[(&str, Ciphers)] = &[
    ("aes256-sha,aes256-gcm-sha384", Ciphers::All),
    ("aes256-gcm-sha384,aes256-sha", Ciphers::All),
    ("aes256-gcm-sha384", Ciphers::Aes256GcmSha384),
    ("aes256-sha", Ciphers::Aes256Sha),
];
const PFS: &[(&str, Pfs)] = &[
    ("no", Pfs::No),
    ("yes", Pfs::Yes),
    ("required", Pfs::Required),
];

impl ClientConfig {
    /// Apply `/interface sstp-client add` (or `set`) properties in order: `connect-to` (an
    /// address or DNS name), `port`, `http-proxy` (empty or `0.0.0.0` = none), `proxy-port`,
    /// `tls-version` (`any`/`only-1.2`), `ciphers` (`aes256-gcm-sha384`, `aes256-sha`, or both
    /// comma-separated = all), `pfs` (`no`/`yes`/`required`), `verify-server-certificate`,
    /// `verify-server-address-from-certificate`, `add-sni`, `certificate=none`, and the PPP
    /// ones through [`ppp::ClientSettings::set_prop`] with `authentication` as the name of
    /// the accepted methods (`user`, `password`, `profile`, `authentication`, `max-mtu`,
    /// `max-mru`, `mrru`, `keepalive-timeout`, `add-default-route`, `default-route-distance`,
    /// `use-peer-dns`, `dial-on-demand`). A bad value is a [`ConfigError`] naming the property
    /// and its allowed values; the names of properties not implemented here are returned in
    /// order, among them `name`, `disabled`, `comment` (the program's) and `certificate` with
    /// a certificate name (the crate takes PEM, [`ClientTls::certificate_pem`]). Nothing is
    /// validated: see [`from_props`](Self::from_props).
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        let yes_no = |v: &str, f: &'static str| ppp::props::parse_yes_no(v, f).map_err(ppp_err);
        let port = |v: &str, f: &'static str| {
            v.parse()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| ConfigError::new(f, &format!("{v:?}: expected 1..65535")))
        };
        for &(k, v) in props {
            match k {
                "connect-to" => self.connect_to = v.to_string(),
                "port" => self.port = port(v, "port")?,
                "http-proxy" => {
                    self.http_proxy = (!matches!(v, "" | "0.0.0.0" | "::")).then(|| v.to_string())
                }
                "proxy-port" => self.proxy_port = port(v, "proxy-port")?,
                "tls-version" => self.tls.tls_version = keyword(v, "tls-version", TLS_VERSION)?,
                "ciphers" => self.tls.ciphers = keyword(v, "ciphers", CIPHERS)?,
                "pfs" => self.tls.pfs = keyword(v, "pfs", PFS)?,
                "verify-server-certificate" => {
                    self.tls.verify_server_certificate = yes_no(v, "verify-server-certificate")?
                }
                "verify-server-address-from-certificate" => {
                    self.tls.verify_server_address_from_certificate =
                        yes_no(v, "verify-server-address-from-certificate")?
                }
                "add-sni" => self.tls.add_sni = yes_no(v, "add-sni")?,
                "certificate" if v == "none" => {
                    self.tls.certificate_pem = None;
                    self.tls.key_pem = None;
                }
                _ => {
                    if !self.ppp.set_prop("authentication", k, v).map_err(ppp_err)? {
                        unknown.push(k.to_string());
                    }
                }
            }
        }
        Ok(unknown)
    }

    /// The configuration of an `/interface sstp-client add ...` line (RouterOS defaults, then
    /// [`apply_props`](Self::apply_props)), validated except for the TLS material
    /// (`verify-server-certificate` needs a CA, which is not a property: the program adds it).
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut c = ClientConfig::default();
        let unknown = c.apply_props(props)?;
        let mut check = c.clone();
        check.tls.verify_server_certificate = false;
        check.validate()?;
        Ok((c, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`: `connect-to`,
    /// `user`, `password` when set, and the others that differ from the RouterOS defaults.
    /// The PEM material and the library-only knobs (`sstp_echo`, timeouts, ...) are not
    /// RouterOS properties and are not written.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ClientConfig::default();
        let mut v = Vec::new();
        if !self.connect_to.is_empty() {
            v.push(("connect-to", self.connect_to.clone()));
        }
        if self.port != d.port {
            v.push(("port", self.port.to_string()));
        }
        if let Some(p) = &self.http_proxy {
            v.push(("http-proxy", p.clone()));
        }
        if self.proxy_port != d.proxy_port {
            v.push(("proxy-port", self.proxy_port.to_string()));
        }
        v.extend(self.ppp.to_props("authentication", &d.ppp));
        if self.tls.tls_version != d.tls.tls_version {
            v.push((
                "tls-version",
                name_of(self.tls.tls_version, TLS_VERSION).into(),
            ));
        }
        if self.tls.ciphers != d.tls.ciphers {
            v.push(("ciphers", name_of(self.tls.ciphers, CIPHERS).into()));
        }
        if self.tls.pfs != d.tls.pfs {
            v.push(("pfs", name_of(self.tls.pfs, PFS).into()));
        }
        for (key, on, def) in [
            (
                "verify-server-certificate",
                self.tls.verify_server_certificate,
                d.tls.verify_server_certificate,
            ),
            (
                "verify-server-address-from-certificate",
                self.tls.verify_server_address_from_certificate,
                d.tls.verify_server_address_from_certificate,
            ),
            ("add-sni", self.tls.add_sni, d.tls.add_sni),
        ] {
            if on != def {
                v.push((key, ppp::props::yes_no(on).into()));
            }
        }
        v
    }
}

impl ServerConfig {
    /// Apply `/interface sstp-server server set` properties in order: `enabled`, `port`,
    /// `tls-version` (`any`/`only-1.2`), `ciphers` (`aes256-gcm-sha384`, `aes256-sha`, or both
    /// comma-separated = all), `pfs` (`no`/`yes`/`required`), `verify-client-certificate`,
    /// `certificate=none` (no certificate: anonymous DH), and the PPP ones through
    /// [`ppp::ServerSettings::set_prop`] (`authentication`, `default-profile`, `max-mtu`,
    /// `max-mru`, `mrru`, `keepalive-timeout`, `max-sessions`, `one-session-per-host`).
    /// A bad value is a [`ConfigError`] naming the property; the names of properties not
    /// implemented here are returned in order, among them `certificate` with a certificate
    /// name (the crate takes PEM, [`ServerTls::certificate_pem`], not a name from a store).
    /// Nothing is validated: see [`from_props`](Self::from_props).
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "enabled" => {
                    self.enabled = ppp::props::parse_yes_no(v, "enabled").map_err(ppp_err)?
                }
                "port" => {
                    self.port = v.parse().ok().filter(|p| *p != 0).ok_or_else(|| {
                        ConfigError::new("port", &format!("{v:?}: expected 1..65535"))
                    })?
                }
                "tls-version" => self.tls.tls_version = keyword(v, "tls-version", TLS_VERSION)?,
                "ciphers" => self.tls.ciphers = keyword(v, "ciphers", CIPHERS)?,
                "pfs" => self.tls.pfs = keyword(v, "pfs", PFS)?,
                "verify-client-certificate" => {
                    self.tls.verify_client_certificate =
                        ppp::props::parse_yes_no(v, "verify-client-certificate").map_err(ppp_err)?
                }
                "certificate" if v == "none" => {
                    self.tls.certificate_pem = None;
                    self.tls.key_pem = None;
                }
                _ => {
                    if !self.ppp.set_prop(k, v).map_err(ppp_err)? {
                        unknown.push(k.to_string());
                    }
                }
            }
        }
        Ok(unknown)
    }

    /// The configuration of `/interface sstp-server server set ...` lines (RouterOS defaults,
    /// then [`apply_props`](Self::apply_props)), validated.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut c = ServerConfig::default();
        let unknown = c.apply_props(props)?;
        c.validate()?;
        Ok((c, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`: those that
    /// differ from the RouterOS defaults. The PEM material and the library-only bounds
    /// (`max_half_open`, `accept_zero_hlak`, ...) are not RouterOS properties and are not
    /// written.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ServerConfig::default();
        let mut v = Vec::new();
        if self.enabled != d.enabled {
            v.push(("enabled", ppp::props::yes_no(self.enabled).to_string()));
        }
        if self.port != d.port {
            v.push(("port", self.port.to_string()));
        }
        v.extend(self.ppp.to_props(&d.ppp));
        if self.tls.tls_version != d.tls.tls_version {
            v.push((
                "tls-version",
                name_of(self.tls.tls_version, TLS_VERSION).into(),
            ));
        }
        if self.tls.ciphers != d.tls.ciphers {
            v.push(("ciphers", name_of(self.tls.ciphers, CIPHERS).into()));
        }
        if self.tls.pfs != d.tls.pfs {
            v.push(("pfs", name_of(self.tls.pfs, PFS).into()));
        }
        if self.tls.verify_client_certificate != d.tls.verify_client_certificate {
            v.push((
                "verify-client-certificate",
                ppp::props::yes_no(self.tls.verify_client_certificate).into(),
            ));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routeros_defaults() {
        let c = ClientConfig::default();
        assert_eq!(
            (c.port, c.proxy_port, c.http_proxy.as_deref()),
            (443, 443, None)
        );
        assert_eq!(c.tls, ClientTls::default());
        assert!(!c.tls.add_sni && !c.tls.verify_server_certificate);
        assert!(!c.tls.verify_server_address_from_certificate);
        assert_eq!(
            (c.tls.pfs, c.tls.ciphers, c.tls.tls_version),
            (Pfs::No, Ciphers::All, TlsVersion::Any)
        );
        assert_eq!(c.ppp.keepalive_timeout, Duration::from_secs(60));
        assert_eq!(
            (c.ppp.max_mtu, c.ppp.max_mru, c.ppp.mrru),
            (1460, 1460, None)
        );
        assert_eq!(c.ppp.profile, "default");
        let s = ServerConfig::default();
        assert!(!s.enabled);
        assert_eq!(s.port, 443);
        assert_eq!(s.ppp.authentication, ppp::AuthSet::ALL);
        assert_eq!(s.ppp.keepalive_timeout, Duration::from_secs(60));
        assert_eq!(s.ppp.default_profile, "default");
        assert!(s.tls.certificate_pem.is_none() && !s.tls.verify_client_certificate);
        assert_eq!((s.tls.pfs, s.tls.tls_version), (Pfs::No, TlsVersion::Any));
    }

    #[test]
    fn mrru_is_refused_until_sstp_carries_multilink() {
        let mut c = ClientConfig::new("vpn", "u", "p");
        c.ppp.mrru = Some(1600);
        assert_eq!(c.validate().unwrap_err().field, "mrru");
        let mut s = ServerConfig::enabled();
        s.ppp.mrru = Some(1600);
        assert_eq!(s.validate().unwrap_err().field, "mrru");
    }

    #[test]
    fn validation_names_the_property() {
        assert_eq!(
            ClientConfig::default().validate().unwrap_err().field,
            "connect-to"
        );
        let mut c = ClientConfig::new("vpn", "u", "p");
        c.validate().unwrap();
        c.tls.verify_server_certificate = true;
        assert_eq!(c.validate().unwrap_err().field, "verify-server-certificate");
        let mut c = ClientConfig::new("vpn", "u", "p");
        c.http_proxy = Some("proxy".into());
        c.proxy_port = 0;
        assert_eq!(c.validate().unwrap_err().field, "proxy-port");
        c.proxy_port = 3128;
        assert_eq!(c.tcp_destination(), ("proxy", 3128));
        assert_eq!(c.server_authority(), "vpn:443");
        c.connect_to = "2001:db8::1".into();
        assert_eq!(c.server_authority(), "[2001:db8::1]:443");
        let mut s = ServerConfig::enabled();
        s.hash_bitmask = 4;
        assert_eq!(s.validate().unwrap_err().field, "hash-bitmask");
        let mut s = ServerConfig::enabled();
        s.ppp.max_sessions = Some(0);
        assert_eq!(s.validate().unwrap_err().field, "max-sessions");
    }

    #[test]
    fn server_props_round_trip_and_name_the_property() {
        // Seed 000 L1035-1048: `set default-profile=default-encryption enabled=yes`.
        let (s, unknown) = ServerConfig::from_props(&[
            ("default-profile", "default-encryption"),
            ("enabled", "yes"),
            ("certificate", "none"),
            ("allow-fast-path", "no"),
        ])
        .unwrap();
        assert!(s.enabled);
        assert_eq!(s.ppp.default_profile, "default-encryption");
        assert_eq!(unknown, ["allow-fast-path"]);
        let mut c = ServerConfig::default();
        c.apply_props(&[
            ("port", "4443"),
            ("tls-version", "only-1.2"),
            ("ciphers", "aes256-gcm-sha384"),
            ("pfs", "required"),
            ("verify-client-certificate", "yes"),
            ("authentication", "mschap2"),
            ("keepalive-timeout", "30s"),
        ])
        .unwrap();
        assert_eq!(
            (c.port, c.tls.tls_version, c.tls.ciphers, c.tls.pfs),
            (
                4443,
                TlsVersion::Only12,
                Ciphers::Aes256GcmSha384,
                Pfs::Required
            )
        );
        assert!(c.tls.verify_client_certificate);
        let props = c.to_props();
        let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut back = ServerConfig::default();
        assert!(back.apply_props(&refs).unwrap().is_empty());
        assert_eq!(back, c);
        for (k, v) in [
            ("port", "0"),
            ("tls-version", "1.3"),
            ("ciphers", "rc4"),
            ("pfs", "maybe"),
            ("enabled", "on"),
            ("max-mtu", "big"),
        ] {
            assert_eq!(ServerConfig::from_props(&[(k, v)]).unwrap_err().field, k);
        }
    }
}
