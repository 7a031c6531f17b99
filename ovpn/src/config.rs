//! RouterOS-shaped configuration: `/interface ovpn-client` and `/interface ovpn-server
//! server`, with the RouterOS defaults and validation naming the property. Convert to a
//! [`SessionConfig`] with [`ClientConfig::session_config`] / [`ServerConfig::session_config`].

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::crypto::{Digest, KeyDirection, StaticKey};
use crate::data::Cipher;
use crate::error::ConfigError;
use crate::push::route_option_from_routeros;
use crate::session::{Role, SessionConfig, WrapConfig};
use crate::tls::{RustlsEngine, TlsEngine, TlsMaterial};

/// RouterOS user-name limit (S0 L317).
pub const MAX_USER_LEN: usize = 27;
/// Password limit before 7.18_ab253.
pub const MAX_PASSWORD_LEN_OLD: usize = 233;
/// Password limit since 7.18_ab253.
pub const MAX_PASSWORD_LEN: usize = 1000;
/// `push-routes` limit.
pub const MAX_PUSH_ROUTES_LEN: usize = 1400;

/// `protocol`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// TCP (RouterOS default).
    #[default]
    Tcp,
    /// UDP (OpenVPN's default).
    Udp,
}

/// `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// IP packets (tun), the default.
    #[default]
    Ip,
    /// Ethernet frames (tap).
    Ethernet,
}

/// `user-auth-method` (server): how the credential backend checks a user's password.
/// The library always hands the plaintext password to the credential hook
/// ([`crate::session::AuthRequest::method`] says which); a RADIUS backend asks with PAP or
/// computes an MS-CHAPv2 exchange from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserAuthMethod {
    /// PAP (RouterOS default).
    #[default]
    Pap,
    /// MS-CHAPv2 (a challenge/response computed server side).
    Mschap2,
}

/// A certificate with its private key (RouterOS `certificate`: a certificate from the
/// store that has its private key), as PEM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate chain (leaf first).
    pub cert_pem: String,
    /// The private key (unencrypted PKCS#8 / SEC1 / PKCS#1).
    pub key_pem: String,
}

/// `redirect-gateway` (server).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedirectGateway {
    /// Nothing is pushed (default).
    #[default]
    Disabled,
    /// `redirect-gateway def1`: 0.0.0.0/1 + 128.0.0.0/1.
    Def1,
    /// `redirect-gateway ipv6`: 2000::/4 + 3000::/4.
    Ipv6,
}

/// `/interface ovpn-client`.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `name` (default empty): the interface name.
    pub name: String,
    /// `comment` (default empty).
    pub comment: String,
    /// `disabled` (RouterOS default yes: an added client stays down until enabled). Carried
    /// for the application; the session ignores it.
    pub disabled: bool,
    /// `connect-to`: server address (IP or name).
    pub connect_to: String,
    /// `port` (1194).
    pub port: u16,
    /// `protocol` (tcp).
    pub protocol: Protocol,
    /// `mode` (ip).
    pub mode: Mode,
    /// `user` (max 27 characters).
    pub user: String,
    /// `password`.
    pub password: String,
    /// Accept passwords up to 1000 characters (7.18_ab253+), else 233.
    pub long_passwords: bool,
    /// `cipher` (blowfish128).
    pub cipher: Cipher,
    /// `auth` (sha1).
    pub auth: Digest,
    /// `tls-version` (any).
    pub tls_version: crate::tls::TlsVersion,
    /// `verify-server-certificate` (no).
    pub verify_server_certificate: bool,
    /// `use-peer-dns` (no).
    pub use_peer_dns: bool,
    /// `route-nopull` (no).
    pub route_nopull: bool,
    /// `max-mtu` (1500).
    pub max_mtu: u16,
    /// `add-default-route` (no) - for the application.
    pub add_default_route: bool,
    /// NCP list; empty = RouterOS behaviour (fixed `cipher`).
    pub data_ciphers: Vec<Cipher>,
    /// Control-channel protection (only settable through .ovpn import in RouterOS).
    pub wrap: WrapConfig,
    /// `certificate` (none): the client certificate and key presented to the server.
    pub certificate: Option<Certificate>,
    /// The CA certificates the router trusts (its certificate store), PEM; checked
    /// against the server certificate with `verify-server-certificate=yes`.
    pub trusted_ca_pem: Option<String>,
    /// `profile` (default): the PPP profile of this interface, handed to the session
    /// ([`SessionConfig::profile`]).
    pub profile: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            name: String::new(),
            comment: String::new(),
            disabled: true,
            connect_to: String::new(),
            port: 1194,
            protocol: Protocol::Tcp,
            mode: Mode::Ip,
            user: String::new(),
            password: String::new(),
            long_passwords: true,
            cipher: Cipher::BfCbc,
            auth: Digest::Sha1,
            tls_version: crate::tls::TlsVersion::Any,
            verify_server_certificate: false,
            use_peer_dns: false,
            route_nopull: false,
            max_mtu: 1500,
            add_default_route: false,
            data_ciphers: Vec::new(),
            wrap: WrapConfig::None,
            certificate: None,
            trusted_ca_pem: None,
            profile: "default".into(),
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl ClientConfig {
    /// Validate (RouterOS limits).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.connect_to.is_empty() {
            return Err(invalid("connect-to", "required"));
        }
        if self.port == 0 {
            return Err(invalid("port", "must be 1..65535"));
        }
        if self.user.chars().count() > MAX_USER_LEN {
            return Err(invalid(
                "user",
                format!("longer than {MAX_USER_LEN} characters"),
            ));
        }
        let max = if self.long_passwords {
            MAX_PASSWORD_LEN
        } else {
            MAX_PASSWORD_LEN_OLD
        };
        if self.password.chars().count() > max {
            return Err(invalid("password", format!("longer than {max} characters")));
        }
        if !(64..=65535).contains(&self.max_mtu) {
            return Err(invalid("max-mtu", "must be 64..65535"));
        }
        if self.verify_server_certificate && self.trusted_ca_pem.is_none() {
            return Err(invalid(
                "verify-server-certificate",
                "needs a trusted CA certificate",
            ));
        }
        Ok(())
    }

    /// Session parameters (validated): cipher, auth, credentials, mode, protocol, max-mtu
    /// (tunnel MTU), use-peer-dns, route-nopull, profile and the wrap.
    pub fn session_config(&self) -> Result<SessionConfig, ConfigError> {
        self.validate()?;
        let mut s = SessionConfig::new(Role::Client);
        s.cipher = self.cipher;
        s.data_ciphers = self.data_ciphers.clone();
        s.allow_ekm = !self.data_ciphers.is_empty();
        s.auth = self.auth;
        s.credentials = Some((self.user.clone(), self.password.clone()));
        s.route_nopull = self.route_nopull;
        s.use_peer_dns = self.use_peer_dns;
        s.wrap = self.wrap.clone();
        s.mode = self.mode;
        s.transport = self.protocol;
        s.tun_mtu = self.max_mtu;
        s.profile = self.profile.clone();
        Ok(s)
    }

    /// TLS material: `tls-version`, `certificate`, and with `verify-server-certificate=yes`
    /// the trusted CAs (without it, RouterOS does not verify the server certificate).
    pub fn tls_material(&self) -> TlsMaterial {
        TlsMaterial {
            ca_pem: self
                .trusted_ca_pem
                .clone()
                .filter(|_| self.verify_server_certificate),
            cert_pem: self.certificate.as_ref().map(|c| c.cert_pem.clone()),
            key_pem: self.certificate.as_ref().map(|c| c.key_pem.clone()),
            version: self.tls_version,
            verify: Default::default(),
        }
    }

    /// A TLS factory for [`crate::session::Session::new`] from [`ClientConfig::tls_material`]:
    /// with `verify-server-certificate=yes` the certificate's SAN or CN must equal
    /// `connect-to`.
    pub fn tls_factory(&self) -> crate::session::TlsFactory {
        let m = self.tls_material();
        let name = self
            .verify_server_certificate
            .then(|| self.connect_to.clone());
        Box::new(move || {
            Ok(Box::new(RustlsEngine::client(&m, name.as_deref())?) as Box<dyn TlsEngine>)
        })
    }
}

/// `/interface ovpn-server server`.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `name` (default empty; RouterOS 7.17+ has several servers, each `add name=...`).
    pub name: String,
    /// `disabled` (RouterOS default yes; older versions spell it `enabled`). Carried for the
    /// application; the sessions ignore it.
    pub disabled: bool,
    /// `port` (1194).
    pub port: u16,
    /// `protocol` (tcp).
    pub protocol: Protocol,
    /// `mode` (ip).
    pub mode: Mode,
    /// `cipher` set (aes128-cbc, blowfish128).
    pub cipher: Vec<Cipher>,
    /// `auth` set (sha1, md5, sha256, sha512).
    pub auth: Vec<Digest>,
    /// `netmask` (24).
    pub netmask: u8,
    /// `keepalive-timeout` (60 s; `None` = disabled).
    pub keepalive_timeout: Option<Duration>,
    /// `reneg-sec` (3600).
    pub reneg_sec: u32,
    /// `max-mtu` (1500).
    pub max_mtu: u16,
    /// `require-client-certificate` (no).
    pub require_client_certificate: bool,
    /// `redirect-gateway` (disabled).
    pub redirect_gateway: RedirectGateway,
    /// `enable-tun-ipv6` (no).
    pub enable_tun_ipv6: bool,
    /// `ipv6-prefix-len` (64).
    pub ipv6_prefix_len: u8,
    /// `push-routes` (empty; comma-separated entries, at most 1400 characters).
    pub push_routes: String,
    /// `tls-version` (any).
    pub tls_version: crate::tls::TlsVersion,
    /// NCP list offered to OpenVPN 2.4+ clients (empty = RouterOS behaviour).
    pub data_ciphers: Vec<Cipher>,
    /// Control-channel protection.
    pub wrap: WrapConfig,
    /// `certificate` (none): the server's certificate and key (required for a handshake).
    pub certificate: Option<Certificate>,
    /// The CA certificates the router trusts (PEM): client certificates must chain to
    /// them (always checked when a client presents one; required with
    /// `require-client-certificate=yes`).
    pub trusted_ca_pem: Option<String>,
    /// `default-profile` (default): the PPP profile for clients, handed to the credential
    /// hook and in `Event::PushRequested`.
    pub default_profile: String,
    /// `user-auth-method` (pap): how the credential backend checks passwords.
    pub user_auth_method: UserAuthMethod,
    /// `tun-server-ipv6` (`::`): the server's own IPv6 address in the tunnel, pushed as
    /// the remote end of `ifconfig-ipv6` and the base of client addresses
    /// ([`ServerConfig::client_ipv6`]).
    pub tun_server_ipv6: Ipv6Addr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            name: String::new(),
            disabled: true,
            port: 1194,
            protocol: Protocol::Tcp,
            mode: Mode::Ip,
            cipher: vec![Cipher::Aes128Cbc, Cipher::BfCbc],
            auth: vec![Digest::Sha1, Digest::Md5, Digest::Sha256, Digest::Sha512],
            netmask: 24,
            keepalive_timeout: Some(Duration::from_secs(60)),
            reneg_sec: 3600,
            max_mtu: 1500,
            require_client_certificate: false,
            redirect_gateway: RedirectGateway::Disabled,
            enable_tun_ipv6: false,
            ipv6_prefix_len: 64,
            push_routes: String::new(),
            tls_version: crate::tls::TlsVersion::Any,
            data_ciphers: Vec::new(),
            wrap: WrapConfig::None,
            certificate: None,
            trusted_ca_pem: None,
            default_profile: "default".into(),
            user_auth_method: UserAuthMethod::Pap,
            tun_server_ipv6: Ipv6Addr::UNSPECIFIED,
        }
    }
}

impl ServerConfig {
    /// Validate.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.port == 0 {
            return Err(invalid("port", "must be 1..65535"));
        }
        if self.cipher.is_empty() {
            return Err(invalid("cipher", "at least one cipher"));
        }
        if self.auth.is_empty() {
            return Err(invalid("auth", "at least one digest"));
        }
        if !(64..=65535).contains(&self.max_mtu) {
            return Err(invalid("max-mtu", "must be 64..65535"));
        }
        if self.require_client_certificate && self.trusted_ca_pem.is_none() {
            return Err(invalid(
                "require-client-certificate",
                "needs a trusted CA certificate",
            ));
        }
        if self.netmask > 32 {
            return Err(invalid("netmask", "0..32"));
        }
        if self.ipv6_prefix_len > 128 {
            return Err(invalid("ipv6-prefix-len", "0..128"));
        }
        if self.push_routes.len() > MAX_PUSH_ROUTES_LEN {
            return Err(invalid(
                "push-routes",
                format!("longer than {MAX_PUSH_ROUTES_LEN} characters"),
            ));
        }
        for e in self
            .push_routes
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            if route_option_from_routeros(e).is_none() {
                return Err(invalid("push-routes", format!("bad entry {e:?}")));
            }
        }
        Ok(())
    }

    /// PUSH_REPLY options for a client given its address (`ifconfig`, routes,
    /// redirect-gateway, ipv6). Cipher, peer-id, ping are added by the session.
    pub fn push_options(
        &self,
        client_ip: Ipv4Addr,
        client_ipv6: Option<std::net::Ipv6Addr>,
    ) -> Vec<String> {
        let mask = if self.netmask == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.netmask))
        };
        let mut o = vec![
            "topology subnet".to_string(),
            format!("ifconfig {client_ip} {}", Ipv4Addr::from(mask)),
        ];
        for e in self
            .push_routes
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            if let Some(r) = route_option_from_routeros(e) {
                o.push(r);
            }
        }
        match self.redirect_gateway {
            RedirectGateway::Disabled => {}
            RedirectGateway::Def1 => o.push("redirect-gateway def1".into()),
            RedirectGateway::Ipv6 => o.push("redirect-gateway ipv6".into()),
        }
        if self.enable_tun_ipv6 {
            if let Some(v6) = client_ipv6.or_else(|| self.client_ipv6(client_ip)) {
                o.push(format!(
                    "ifconfig-ipv6 {v6}/{} {}",
                    self.ipv6_prefix_len, self.tun_server_ipv6
                ));
            }
        }
        o
    }

    /// A client's IPv6 tunnel address derived from `tun-server-ipv6`: the server's prefix
    /// (`ipv6-prefix-len`) with the host part of the client's IPv4 address (so
    /// `fd00::1` and client 192.168.77.5 give `fd00::5`). `None` while `tun-server-ipv6`
    /// is `::`.
    pub fn client_ipv6(&self, client_ip: Ipv4Addr) -> Option<Ipv6Addr> {
        if self.tun_server_ipv6.is_unspecified() {
            return None;
        }
        let len = u32::from(self.ipv6_prefix_len.min(128));
        let prefix = u128::from(self.tun_server_ipv6)
            & if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
        let host_bits = 32u32.saturating_sub(u32::from(self.netmask));
        let host = u32::from(client_ip)
            & if host_bits == 0 {
                0
            } else {
                u32::MAX >> (32 - host_bits)
            };
        Some(Ipv6Addr::from(prefix | u128::from(host)))
    }

    /// Session parameters for one client (validated).
    pub fn session_config(
        &self,
        peer_id: u32,
        push_options: Vec<String>,
    ) -> Result<SessionConfig, ConfigError> {
        self.validate()?;
        let mut s = SessionConfig::new(Role::Server);
        s.cipher = self.cipher.first().copied().unwrap_or(Cipher::Aes128Cbc);
        s.accepted_ciphers = self.cipher.clone();
        s.data_ciphers = self.data_ciphers.clone();
        s.allow_ekm = true;
        // The whole `auth` set is accepted; the client's choice is used.
        s.auth = self.auth.first().copied().unwrap_or(Digest::Sha1);
        s.accepted_auths = self.auth.clone();
        s.mode = self.mode;
        s.transport = self.protocol;
        s.tun_mtu = self.max_mtu;
        s.profile = self.default_profile.clone();
        s.user_auth_method = self.user_auth_method;
        s.ping_restart = self.keepalive_timeout;
        s.ping = self
            .keepalive_timeout
            .map(|t| (t / 6).max(Duration::from_secs(1)));
        s.reneg = (self.reneg_sec > 0).then(|| Duration::from_secs(u64::from(self.reneg_sec)));
        s.peer_id = Some(peer_id);
        s.push_options = push_options;
        s.wrap = self.wrap.clone();
        Ok(s)
    }
}

impl ServerConfig {
    /// TLS material: `certificate`, `tls-version` and the trusted CAs.
    pub fn tls_material(&self) -> TlsMaterial {
        TlsMaterial {
            ca_pem: self.trusted_ca_pem.clone(),
            cert_pem: self.certificate.as_ref().map(|c| c.cert_pem.clone()),
            key_pem: self.certificate.as_ref().map(|c| c.key_pem.clone()),
            version: self.tls_version,
            verify: Default::default(),
        }
    }

    /// A TLS factory from [`ServerConfig::tls_material`] and
    /// `require-client-certificate`.
    pub fn tls_factory(&self) -> crate::session::TlsFactory {
        let m = self.tls_material();
        let require = self.require_client_certificate;
        Box::new(move || Ok(Box::new(RustlsEngine::server(&m, require)?) as Box<dyn TlsEngine>))
    }
}

/// tls-auth wrap from a .ovpn key and direction (helper for importers).
pub fn tls_auth(key: StaticKey, direction: Option<u8>, digest: Digest) -> WrapConfig {
    WrapConfig::TlsAuth {
        key,
        direction: match direction {
            Some(0) => KeyDirection::Normal,
            Some(_) => KeyDirection::Inverse,
            None => KeyDirection::Bidirectional,
        },
        digest: if digest.is_none() {
            Digest::Sha1
        } else {
            digest
        },
    }
}

// ---------------------------------------------------------------- RouterOS property lists

fn yes_no(v: &str, field: &'static str) -> Result<bool, ConfigError> {
    match v.trim() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(invalid(field, format!("expected yes or no, got {v:?}"))),
    }
}

fn yn(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn number<T: std::str::FromStr>(v: &str, field: &'static str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| invalid(field, format!("bad number {v:?}")))
}

const CIPHERS: &str =
    "null, aes128-cbc, aes128-gcm, aes192-cbc, aes192-gcm, aes256-cbc, aes256-gcm, blowfish128";

fn cipher(v: &str) -> Result<Cipher, ConfigError> {
    Cipher::from_name(v).ok_or_else(|| invalid("cipher", format!("{v:?} is not one of {CIPHERS}")))
}

fn digest(v: &str) -> Result<Digest, ConfigError> {
    Digest::from_name(v).ok_or_else(|| {
        invalid(
            "auth",
            format!("{v:?} is not one of null, md5, sha1, sha256, sha512"),
        )
    })
}

/// RouterOS spelling of an `auth` value.
fn digest_name(d: Digest) -> &'static str {
    match d {
        Digest::None => "null",
        Digest::Md5 => "md5",
        Digest::Sha1 => "sha1",
        Digest::Sha224 => "sha224",
        Digest::Sha256 => "sha256",
        Digest::Sha384 => "sha384",
        Digest::Sha512 => "sha512",
    }
}

fn protocol(v: &str) -> Result<Protocol, ConfigError> {
    match v.trim() {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        _ => Err(invalid(
            "protocol",
            format!("expected tcp or udp, got {v:?}"),
        )),
    }
}

fn protocol_name(p: Protocol) -> String {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
    .into()
}

fn mode(v: &str) -> Result<Mode, ConfigError> {
    match v.trim() {
        "ip" | "tun" => Ok(Mode::Ip),
        "ethernet" | "tap" => Ok(Mode::Ethernet),
        _ => Err(invalid(
            "mode",
            format!("expected ip or ethernet, got {v:?}"),
        )),
    }
}

fn mode_name(m: Mode) -> String {
    match m {
        Mode::Ip => "ip",
        Mode::Ethernet => "ethernet",
    }
    .into()
}

fn tls_version(v: &str) -> Result<crate::tls::TlsVersion, ConfigError> {
    match v.trim() {
        "any" => Ok(crate::tls::TlsVersion::Any),
        "only-1.2" => Ok(crate::tls::TlsVersion::Only12),
        _ => Err(invalid(
            "tls-version",
            format!("expected any or only-1.2, got {v:?}"),
        )),
    }
}

fn tls_version_name(t: crate::tls::TlsVersion) -> String {
    match t {
        crate::tls::TlsVersion::Any => "any",
        crate::tls::TlsVersion::Only12 => "only-1.2",
    }
    .into()
}

/// A comma-separated list (`cipher`, `auth` of the server); an empty list is an error naming
/// the property.
fn list<T>(
    v: &str,
    field: &'static str,
    parse: impl Fn(&str) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    let out = v
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(parse)
        .collect::<Result<Vec<T>, _>>()?;
    if out.is_empty() {
        return Err(invalid(field, "at least one value"));
    }
    Ok(out)
}

impl ClientConfig {
    /// The `/interface ovpn-client` properties this config reads and writes, in export order.
    pub const PROPERTIES: &'static [&'static str] = &[
        "name",
        "comment",
        "disabled",
        "connect-to",
        "port",
        "protocol",
        "mode",
        "user",
        "password",
        "profile",
        "cipher",
        "auth",
        "tls-version",
        "verify-server-certificate",
        "use-peer-dns",
        "route-nopull",
        "add-default-route",
        "max-mtu",
    ];

    /// Set the `/interface ovpn-client` properties of an `add` or `set` property list (as a
    /// `.rsc` export writes it) on `self`; a `set` changes only what it names.
    ///
    /// Properties (seed 000 L319-342, [`PROPERTIES`](Self::PROPERTIES)): `name`, `comment`,
    /// `disabled`, `connect-to`, `port`, `protocol` (`tcp`, `udp`), `mode` (`ip`, `ethernet`;
    /// also `tun`, `tap`), `user`, `password`, `profile`, `cipher` (`null`, `aes128-cbc`, ...,
    /// `blowfish128`), `auth` (`null`, `md5`, `sha1`, `sha256`, `sha512`), `tls-version`
    /// (`any`, `only-1.2`), `verify-server-certificate`, `use-peer-dns`, `route-nopull`,
    /// `add-default-route` (`yes`/`no`), `max-mtu`. A bad value is a [`ConfigError`] naming the
    /// property. Returned, in order, are the properties this config does not carry:
    /// `certificate` (a name in the router's certificate store; set [`Self::certificate`]
    /// from PEM instead), `mac-address`, ...
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => self.name = v.to_string(),
                "comment" => self.comment = v.to_string(),
                "disabled" => self.disabled = yes_no(v, "disabled")?,
                "connect-to" => self.connect_to = v.trim().to_string(),
                "port" => self.port = number(v, "port")?,
                "protocol" => self.protocol = protocol(v)?,
                "mode" => self.mode = mode(v)?,
                "user" => self.user = v.to_string(),
                "password" => self.password = v.to_string(),
                "profile" => self.profile = v.to_string(),
                "cipher" => self.cipher = cipher(v)?,
                "auth" => self.auth = digest(v)?,
                "tls-version" => self.tls_version = tls_version(v)?,
                "verify-server-certificate" => {
                    self.verify_server_certificate = yes_no(v, "verify-server-certificate")?
                }
                "use-peer-dns" => self.use_peer_dns = yes_no(v, "use-peer-dns")?,
                "route-nopull" => self.route_nopull = yes_no(v, "route-nopull")?,
                "add-default-route" => self.add_default_route = yes_no(v, "add-default-route")?,
                "max-mtu" => self.max_mtu = number(v, "max-mtu")?,
                other => unknown.push(other.to_string()),
            }
        }
        Ok(unknown)
    }

    /// Build an `/interface ovpn-client` entry from an `add` property list, starting from
    /// the RouterOS defaults, and check it as [`validate`](Self::validate) does (`connect-to`
    /// is required), except for the certificate material, which a property list cannot carry
    /// (`verify-server-certificate=yes` is checked against [`Self::trusted_ca_pem`] by
    /// `validate` once that is set). Errors and unknown properties as in
    /// [`apply_props`](Self::apply_props).
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut c = ClientConfig::default();
        let unknown = c.apply_props(props)?;
        c.validate_props()?;
        Ok((c, unknown))
    }

    /// [`validate`](Self::validate) without the certificate checks (what a property list can
    /// set: RouterOS `certificate` names an entry of the router's store).
    pub fn validate_props(&self) -> Result<(), ConfigError> {
        let mut probe = self.clone();
        probe.trusted_ca_pem.get_or_insert_with(String::new);
        probe.validate()
    }

    /// The property list [`from_props`](Self::from_props) reads back to the RouterOS
    /// properties of `self`: `name` and every property whose value differs from the RouterOS
    /// default, in [`PROPERTIES`](Self::PROPERTIES) order (`disabled=no` for an enabled
    /// client). Fields that are not RouterOS properties (certificates, wrap, NCP list) are not
    /// written.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ClientConfig::default();
        let mut v = Vec::new();
        let mut put = |k: &'static str, differs: bool, val: String| {
            if differs {
                v.push((k, val));
            }
        };
        put("name", self.name != d.name, self.name.clone());
        put("comment", self.comment != d.comment, self.comment.clone());
        put("disabled", self.disabled != d.disabled, yn(self.disabled));
        put(
            "connect-to",
            self.connect_to != d.connect_to,
            self.connect_to.clone(),
        );
        put("port", self.port != d.port, self.port.to_string());
        put(
            "protocol",
            self.protocol != d.protocol,
            protocol_name(self.protocol),
        );
        put("mode", self.mode != d.mode, mode_name(self.mode));
        put("user", self.user != d.user, self.user.clone());
        put(
            "password",
            self.password != d.password,
            self.password.clone(),
        );
        put("profile", self.profile != d.profile, self.profile.clone());
        put(
            "cipher",
            self.cipher != d.cipher,
            self.cipher.routeros_name().into(),
        );
        put("auth", self.auth != d.auth, digest_name(self.auth).into());
        put(
            "tls-version",
            self.tls_version != d.tls_version,
            tls_version_name(self.tls_version),
        );
        put(
            "verify-server-certificate",
            self.verify_server_certificate != d.verify_server_certificate,
            yn(self.verify_server_certificate),
        );
        put(
            "use-peer-dns",
            self.use_peer_dns != d.use_peer_dns,
            yn(self.use_peer_dns),
        );
        put(
            "route-nopull",
            self.route_nopull != d.route_nopull,
            yn(self.route_nopull),
        );
        put(
            "add-default-route",
            self.add_default_route != d.add_default_route,
            yn(self.add_default_route),
        );
        put(
            "max-mtu",
            self.max_mtu != d.max_mtu,
            self.max_mtu.to_string(),
        );
        v
    }
}

impl ServerConfig {
    /// The `/interface ovpn-server server` properties this config reads and writes, in
    /// export order.
    pub const PROPERTIES: &'static [&'static str] = &[
        "name",
        "disabled",
        "port",
        "protocol",
        "mode",
        "cipher",
        "auth",
        "netmask",
        "keepalive-timeout",
        "reneg-sec",
        "max-mtu",
        "require-client-certificate",
        "redirect-gateway",
        "enable-tun-ipv6",
        "ipv6-prefix-len",
        "tun-server-ipv6",
        "push-routes",
        "tls-version",
        "default-profile",
        "user-auth-method",
    ];

    /// Set the `/interface ovpn-server server` properties of a `set` (or, since RouterOS
    /// 7.17, `add`) property list on `self`; only what the list names changes.
    ///
    /// Properties (seed 000 L389-437, [`PROPERTIES`](Self::PROPERTIES)): `name`, `disabled`
    /// (and `enabled`, its inverse, as older versions write it), `port`, `protocol`, `mode`,
    /// `cipher` and `auth` (comma-separated sets, e.g. `aes128-cbc,blowfish128`), `netmask`,
    /// `keepalive-timeout` (seconds or `disabled`), `reneg-sec`, `max-mtu`,
    /// `require-client-certificate`, `redirect-gateway` (`disabled`, `def1`, `ipv6`),
    /// `enable-tun-ipv6`, `ipv6-prefix-len`, `tun-server-ipv6`, `push-routes`, `tls-version`,
    /// `default-profile`, `user-auth-method` (`pap`, `mschap2`). A bad value is a
    /// [`ConfigError`] naming the property. Returned, in order, are the properties this config
    /// does not carry: `certificate` (a store name; set [`Self::certificate`] from PEM
    /// instead), `mac-address`, `vrf`, ...
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => self.name = v.to_string(),
                "disabled" => self.disabled = yes_no(v, "disabled")?,
                "enabled" => self.disabled = !yes_no(v, "enabled")?,
                "port" => self.port = number(v, "port")?,
                "protocol" => self.protocol = protocol(v)?,
                "mode" => self.mode = mode(v)?,
                "cipher" => self.cipher = list(v, "cipher", cipher)?,
                "auth" => self.auth = list(v, "auth", digest)?,
                "netmask" => self.netmask = number(v, "netmask")?,
                "keepalive-timeout" => {
                    self.keepalive_timeout = match v.trim() {
                        "disabled" => None,
                        n => Some(Duration::from_secs(number(n, "keepalive-timeout")?)),
                    }
                }
                "reneg-sec" => self.reneg_sec = number(v, "reneg-sec")?,
                "max-mtu" => self.max_mtu = number(v, "max-mtu")?,
                "require-client-certificate" => {
                    self.require_client_certificate = yes_no(v, "require-client-certificate")?
                }
                "redirect-gateway" => {
                    self.redirect_gateway = match v.trim() {
                        "disabled" | "" => RedirectGateway::Disabled,
                        "def1" => RedirectGateway::Def1,
                        "ipv6" => RedirectGateway::Ipv6,
                        _ => {
                            return Err(invalid(
                                "redirect-gateway",
                                format!("expected def1, disabled or ipv6, got {v:?}"),
                            ))
                        }
                    }
                }
                "enable-tun-ipv6" => self.enable_tun_ipv6 = yes_no(v, "enable-tun-ipv6")?,
                "ipv6-prefix-len" => self.ipv6_prefix_len = number(v, "ipv6-prefix-len")?,
                "tun-server-ipv6" => {
                    // RouterOS prints the prefix (`fd00::1/64`); the address part is used.
                    let a = v.trim().split('/').next().unwrap_or("");
                    self.tun_server_ipv6 = a.parse().map_err(|_| {
                        invalid("tun-server-ipv6", format!("bad IPv6 address {v:?}"))
                    })?
                }
                "push-routes" => self.push_routes = v.to_string(),
                "tls-version" => self.tls_version = tls_version(v)?,
                "default-profile" => self.default_profile = v.to_string(),
                "user-auth-method" => {
                    self.user_auth_method = match v.trim() {
                        "pap" => UserAuthMethod::Pap,
                        "mschap2" => UserAuthMethod::Mschap2,
                        _ => {
                            return Err(invalid(
                                "user-auth-method",
                                format!("expected mschap2 or pap, got {v:?}"),
                            ))
                        }
                    }
                }
                other => unknown.push(other.to_string()),
            }
        }
        Ok(unknown)
    }

    /// Build an `/interface ovpn-server server` entry from a property list, starting from
    /// the RouterOS defaults, and check it as [`validate`](Self::validate) does, except for
    /// the certificate material (`require-client-certificate=yes` is checked against
    /// [`Self::trusted_ca_pem`] by `validate` once that is set). Errors and unknown
    /// properties as in [`apply_props`](Self::apply_props).
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut c = ServerConfig::default();
        let unknown = c.apply_props(props)?;
        c.validate_props()?;
        Ok((c, unknown))
    }

    /// [`validate`](Self::validate) without the certificate checks (what a property list can
    /// set).
    pub fn validate_props(&self) -> Result<(), ConfigError> {
        let mut probe = self.clone();
        probe.trusted_ca_pem.get_or_insert_with(String::new);
        probe.validate()
    }

    /// The property list [`from_props`](Self::from_props) reads back to the RouterOS
    /// properties of `self`: every property whose value differs from the RouterOS default, in
    /// [`PROPERTIES`](Self::PROPERTIES) order (`disabled=no` for an enabled server). Fields
    /// that are not RouterOS properties (certificates, wrap, NCP list) are not written.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ServerConfig::default();
        let mut v = Vec::new();
        let mut put = |k: &'static str, differs: bool, val: String| {
            if differs {
                v.push((k, val));
            }
        };
        put("name", self.name != d.name, self.name.clone());
        put("disabled", self.disabled != d.disabled, yn(self.disabled));
        put("port", self.port != d.port, self.port.to_string());
        put(
            "protocol",
            self.protocol != d.protocol,
            protocol_name(self.protocol),
        );
        put("mode", self.mode != d.mode, mode_name(self.mode));
        put(
            "cipher",
            self.cipher != d.cipher,
            self.cipher
                .iter()
                .map(|c| c.routeros_name())
                .collect::<Vec<_>>()
                .join(","),
        );
        put(
            "auth",
            self.auth != d.auth,
            self.auth
                .iter()
                .map(|a| digest_name(*a))
                .collect::<Vec<_>>()
                .join(","),
        );
        put(
            "netmask",
            self.netmask != d.netmask,
            self.netmask.to_string(),
        );
        put(
            "keepalive-timeout",
            self.keepalive_timeout != d.keepalive_timeout,
            self.keepalive_timeout
                .map_or_else(|| "disabled".into(), |t| t.as_secs().to_string()),
        );
        put(
            "reneg-sec",
            self.reneg_sec != d.reneg_sec,
            self.reneg_sec.to_string(),
        );
        put(
            "max-mtu",
            self.max_mtu != d.max_mtu,
            self.max_mtu.to_string(),
        );
        put(
            "require-client-certificate",
            self.require_client_certificate != d.require_client_certificate,
            yn(self.require_client_certificate),
        );
        put(
            "redirect-gateway",
            self.redirect_gateway != d.redirect_gateway,
            match self.redirect_gateway {
                RedirectGateway::Disabled => "disabled",
                RedirectGateway::Def1 => "def1",
                RedirectGateway::Ipv6 => "ipv6",
            }
            .into(),
        );
        put(
            "enable-tun-ipv6",
            self.enable_tun_ipv6 != d.enable_tun_ipv6,
            yn(self.enable_tun_ipv6),
        );
        put(
            "ipv6-prefix-len",
            self.ipv6_prefix_len != d.ipv6_prefix_len,
            self.ipv6_prefix_len.to_string(),
        );
        put(
            "tun-server-ipv6",
            self.tun_server_ipv6 != d.tun_server_ipv6,
            self.tun_server_ipv6.to_string(),
        );
        put(
            "push-routes",
            self.push_routes != d.push_routes,
            self.push_routes.clone(),
        );
        put(
            "tls-version",
            self.tls_version != d.tls_version,
            tls_version_name(self.tls_version),
        );
        put(
            "default-profile",
            self.default_profile != d.default_profile,
            self.default_profile.clone(),
        );
        put(
            "user-auth-method",
            self.user_auth_method != d.user_auth_method,
            match self.user_auth_method {
                UserAuthMethod::Pap => "pap",
                UserAuthMethod::Mschap2 => "mschap2",
            }
            .into(),
        );
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
            (c.port, c.protocol, c.cipher, c.auth, c.mode, c.max_mtu),
            (
                1194,
                Protocol::Tcp,
                Cipher::BfCbc,
                Digest::Sha1,
                Mode::Ip,
                1500
            )
        );
        let s = ServerConfig::default();
        assert_eq!(s.cipher, vec![Cipher::Aes128Cbc, Cipher::BfCbc]);
        assert_eq!(
            (s.netmask, s.reneg_sec, s.keepalive_timeout),
            (24, 3600, Some(Duration::from_secs(60)))
        );
    }

    #[test]
    fn user_and_password_limits() {
        let mut c = ClientConfig {
            connect_to: "192.0.2.1".into(),
            ..Default::default()
        };
        c.user = "a".repeat(27);
        assert!(c.validate().is_ok());
        c.user = "a".repeat(28);
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid { field: "user", .. })
        ));
        c.user = "u".into();
        c.password = "p".repeat(1000);
        assert!(c.validate().is_ok());
        c.long_passwords = false;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "password",
                ..
            })
        ));
        c.password = "p".repeat(233);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn push_options_from_server_config() {
        let mut s = ServerConfig {
            push_routes: "192.168.102.0 255.255.255.0 192.168.109.1 9".into(),
            ..Default::default()
        };
        s.redirect_gateway = RedirectGateway::Def1;
        s.enable_tun_ipv6 = true;
        let o = s.push_options(
            Ipv4Addr::new(192, 168, 77, 2),
            Some("fd00::2".parse().unwrap()),
        );
        assert!(o.contains(&"route 192.168.102.0 255.255.255.0 192.168.109.1 9".to_string()));
        assert!(o.contains(&"ifconfig 192.168.77.2 255.255.255.0".to_string()));
        assert!(o.contains(&"redirect-gateway def1".to_string()));
        assert!(o.contains(&"ifconfig-ipv6 fd00::2/64 ::".to_string()));
        s.push_routes = "10.0.0.0/8,".repeat(200);
        assert!(matches!(
            s.validate(),
            Err(ConfigError::Invalid {
                field: "push-routes",
                ..
            })
        ));
    }

    fn refs<'a>(p: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        p.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    fn field<T: std::fmt::Debug>(r: Result<T, ConfigError>) -> &'static str {
        match r {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn seed_l471_client_add() {
        // 000_febf6792326bdf2c.txt L470-471
        let (c, unknown) = ClientConfig::from_props(&[
            ("name", "ovpn-client1"),
            ("connect-to", "2.2.2.2"),
            ("user", "client1"),
            ("password", "123"),
            ("disabled", "no"),
        ])
        .unwrap();
        assert!(unknown.is_empty());
        assert_eq!(
            (
                c.name.as_str(),
                c.connect_to.as_str(),
                c.user.as_str(),
                c.password.as_str()
            ),
            ("ovpn-client1", "2.2.2.2", "client1", "123")
        );
        assert!(!c.disabled);
        // RouterOS defaults (L319-342) for the rest: tcp/1194, blowfish128, sha1
        let s = c.session_config().unwrap();
        assert_eq!(
            (s.transport, s.cipher, s.auth, s.tun_mtu),
            (Protocol::Tcp, Cipher::BfCbc, Digest::Sha1, 1500)
        );
        assert_eq!(c.port, 1194);
        assert_eq!(
            c.to_props(),
            [
                ("name", "ovpn-client1".to_string()),
                ("disabled", "no".to_string()),
                ("connect-to", "2.2.2.2".to_string()),
                ("user", "client1".to_string()),
                ("password", "123".to_string()),
            ]
        );
        // connect-to is required
        assert_eq!(
            field(ClientConfig::from_props(&[("user", "u")])),
            "connect-to"
        );
    }

    #[test]
    fn seed_l466_l480_l487_server() {
        // L466: `add disabled=no certificate=server name=myServer`: the certificate is a store
        // name, returned as not carried
        let (mut s, unknown) = ServerConfig::from_props(&[
            ("disabled", "no"),
            ("certificate", "server"),
            ("name", "myServer"),
        ])
        .unwrap();
        assert_eq!(unknown, ["certificate"]);
        assert!(!s.disabled);
        assert_eq!(s.name, "myServer");
        // L480: `set myServer push-routes="192.168.102.0 255.255.255.0 192.168.109.1 9"`
        let u = s
            .apply_props(&[("push-routes", "192.168.102.0 255.255.255.0 192.168.109.1 9")])
            .unwrap();
        assert!(u.is_empty());
        let o = s.push_options("192.168.77.5".parse().unwrap(), None);
        assert!(o.contains(&"route 192.168.102.0 255.255.255.0 192.168.109.1 9".to_string()));
        // L487: the VRF example; require-client-certificate waits for the CA (validate)
        let (v, unknown) = ServerConfig::from_props(&[
            ("disabled", "no"),
            ("certificate", "yourcert"),
            ("auth", "sha1"),
            ("cipher", "aes128-cbc"),
            ("require-client-certificate", "yes"),
            ("protocol", "tcp"),
            ("name", "ovpn-server1"),
            ("vrf", "main"),
        ])
        .unwrap();
        assert_eq!(unknown, ["certificate", "vrf"]);
        assert_eq!(
            (v.auth.as_slice(), v.cipher.as_slice()),
            (&[Digest::Sha1][..], &[Cipher::Aes128Cbc][..])
        );
        assert!(v.require_client_certificate);
        assert_eq!(field(v.validate()), "require-client-certificate");
        // older RouterOS: `set enabled=yes`
        let (e, _) = ServerConfig::from_props(&[("enabled", "yes")]).unwrap();
        assert!(!e.disabled);
    }

    #[test]
    fn client_every_property_is_read_written_and_checked() {
        let samples = [
            ("name", "c1", None),
            ("comment", "a b", None),
            ("disabled", "no", Some("maybe")),
            ("connect-to", "vpn.example", None),
            ("port", "443", Some("http")),
            ("protocol", "udp", Some("sctp")),
            ("mode", "ethernet", Some("bridge")),
            ("user", "u", None),
            ("password", "p", None),
            ("profile", "ovpn", None),
            ("cipher", "aes256-gcm", Some("rot13")),
            ("auth", "sha256", Some("crc32")),
            ("tls-version", "only-1.2", Some("1.3")),
            ("verify-server-certificate", "yes", Some("x")),
            ("use-peer-dns", "yes", Some("x")),
            ("route-nopull", "yes", Some("x")),
            ("add-default-route", "yes", Some("x")),
            ("max-mtu", "1400", Some("70000")),
        ];
        assert_eq!(samples.len(), ClientConfig::PROPERTIES.len());
        let base = ("connect-to", "192.0.2.1");
        let (b, _) = ClientConfig::from_props(&[base]).unwrap();
        for (k, v, bad) in samples {
            let (c, unknown) = ClientConfig::from_props(&[base, (k, v)]).unwrap();
            assert!(unknown.is_empty());
            assert_ne!(
                format!("{c:?}"),
                format!("{b:?}"),
                "{k}={v} changed nothing"
            );
            assert!(c.to_props().contains(&(k, v.to_string())), "{k}={v}");
            if let Some(bad) = bad {
                assert_eq!(field(ClientConfig::from_props(&[base, (k, bad)])), k);
            }
        }
        // what reaches the session
        let (c, _) = ClientConfig::from_props(&[
            base,
            ("protocol", "udp"),
            ("mode", "ethernet"),
            ("cipher", "aes256-gcm"),
            ("auth", "sha256"),
            ("use-peer-dns", "yes"),
            ("route-nopull", "yes"),
            ("max-mtu", "1400"),
            ("profile", "ovpn"),
        ])
        .unwrap();
        let s = c.session_config().unwrap();
        assert_eq!(
            (s.transport, s.mode, s.cipher, s.auth, s.tun_mtu),
            (
                Protocol::Udp,
                Mode::Ethernet,
                Cipher::Aes256Gcm,
                Digest::Sha256,
                1400
            )
        );
        assert!(s.use_peer_dns && s.route_nopull);
        assert_eq!(s.profile, "ovpn");
        let (c, _) = ClientConfig::from_props(&[base, ("tls-version", "only-1.2")]).unwrap();
        assert_eq!(c.tls_material().version, crate::tls::TlsVersion::Only12);
        // limits still named: a 28-character user
        assert_eq!(
            field(ClientConfig::from_props(&[base, ("user", &"u".repeat(28))])),
            "user"
        );
    }

    #[test]
    fn server_every_property_is_read_written_and_checked() {
        let samples = [
            ("name", "s1", None),
            ("disabled", "no", Some("maybe")),
            ("port", "443", Some("-1")),
            ("protocol", "udp", Some("sctp")),
            ("mode", "ethernet", Some("bridge")),
            ("cipher", "aes256-gcm,aes128-cbc", Some("aes128-cbc,rot13")),
            ("auth", "sha256", Some("")),
            ("netmask", "30", Some("33")),
            ("keepalive-timeout", "disabled", Some("soon")),
            ("reneg-sec", "600", Some("x")),
            ("max-mtu", "1400", Some("10")),
            ("require-client-certificate", "yes", Some("x")),
            ("redirect-gateway", "def1", Some("def2")),
            ("enable-tun-ipv6", "yes", Some("x")),
            ("ipv6-prefix-len", "48", Some("129")),
            ("tun-server-ipv6", "fd00::1", Some("10.0.0.1")),
            ("push-routes", "10.0.0.0/8", Some("10.0.0.0/33")),
            ("tls-version", "only-1.2", Some("x")),
            ("default-profile", "ovpn", None),
            ("user-auth-method", "mschap2", Some("chap")),
        ];
        assert_eq!(samples.len(), ServerConfig::PROPERTIES.len());
        let b = ServerConfig::default();
        for (k, v, bad) in samples {
            let (c, unknown) = ServerConfig::from_props(&[(k, v)]).unwrap();
            assert!(unknown.is_empty());
            assert_ne!(
                format!("{c:?}"),
                format!("{b:?}"),
                "{k}={v} changed nothing"
            );
            assert!(c.to_props().contains(&(k, v.to_string())), "{k}={v}");
            if let Some(bad) = bad {
                assert_eq!(field(ServerConfig::from_props(&[(k, bad)])), k, "{k}={bad}");
            }
        }
        // what reaches the sessions
        let (c, _) = ServerConfig::from_props(&[
            ("cipher", "aes256-gcm,aes128-cbc"),
            ("auth", "sha256,sha1"),
            ("keepalive-timeout", "30"),
            ("reneg-sec", "600"),
            ("user-auth-method", "mschap2"),
            ("netmask", "30"),
            ("redirect-gateway", "def1"),
            ("enable-tun-ipv6", "yes"),
            ("tun-server-ipv6", "fd00::1/64"),
        ])
        .unwrap();
        let s = c.session_config(1, Vec::new()).unwrap();
        assert_eq!(s.accepted_ciphers, [Cipher::Aes256Gcm, Cipher::Aes128Cbc]);
        assert_eq!(s.accepted_auths, [Digest::Sha256, Digest::Sha1]);
        assert_eq!(s.ping_restart, Some(Duration::from_secs(30)));
        assert_eq!(s.reneg, Some(Duration::from_secs(600)));
        assert_eq!(s.user_auth_method, UserAuthMethod::Mschap2);
        let o = c.push_options("10.0.0.5".parse().unwrap(), None);
        assert!(o.contains(&"ifconfig 10.0.0.5 255.255.255.252".to_string()));
        assert!(o.contains(&"redirect-gateway def1".to_string()));
        assert!(
            o.contains(&"ifconfig-ipv6 fd00::1/64 fd00::1".to_string()),
            "{o:?}"
        );
        let (d, _) = ServerConfig::from_props(&[("keepalive-timeout", "disabled")]).unwrap();
        assert_eq!(d.session_config(1, Vec::new()).unwrap().ping_restart, None);
    }

    proptest::proptest! {
        #[test]
        fn client_props_round_trip(
            name in "[a-z0-9-]{0,10}", comment in "[ -~]{0,16}", disabled in proptest::prelude::any::<bool>(),
            host in "[a-z0-9.]{1,20}", port in 1u16.., udp in proptest::prelude::any::<bool>(),
            eth in proptest::prelude::any::<bool>(), user in "[a-z0-9]{0,27}", password in "[ -~]{0,40}",
            cipher in 0usize..9, auth in 0usize..7, flags in proptest::prelude::any::<[bool; 5]>(),
            max_mtu in 64u16..,
        ) {
            let c = ClientConfig {
                name, comment, disabled, connect_to: host, port,
                protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
                mode: if eth { Mode::Ethernet } else { Mode::Ip },
                user, password, cipher: Cipher::ALL[cipher],
                auth: [Digest::None, Digest::Md5, Digest::Sha1, Digest::Sha224, Digest::Sha256, Digest::Sha384, Digest::Sha512][auth],
                tls_version: if flags[0] { crate::tls::TlsVersion::Only12 } else { crate::tls::TlsVersion::Any },
                verify_server_certificate: flags[1], use_peer_dns: flags[2], route_nopull: flags[3],
                add_default_route: flags[4], max_mtu, profile: "p".into(),
                ..ClientConfig::default()
            };
            let p = c.to_props();
            let (back, unknown) = ClientConfig::from_props(&refs(&p)).unwrap();
            proptest::prop_assert!(unknown.is_empty());
            proptest::prop_assert_eq!(format!("{back:?}"), format!("{c:?}"));
        }

        #[test]
        fn server_props_round_trip(
            name in "[a-z0-9-]{0,10}", disabled in proptest::prelude::any::<bool>(), port in 1u16..,
            udp in proptest::prelude::any::<bool>(),
            ciphers in proptest::collection::vec(0usize..9, 1..4), auths in proptest::collection::vec(0usize..7, 1..4),
            netmask in 0u8..=32, keepalive in proptest::option::of(0u64..100_000), reneg in proptest::prelude::any::<u32>(),
            max_mtu in 64u16.., flags in proptest::prelude::any::<[bool; 3]>(), rg in 0usize..3,
            v6len in 0u8..=128, v6 in proptest::prelude::any::<u128>(), profile in "[a-z]{1,8}",
        ) {
            let c = ServerConfig {
                name, disabled, port, protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
                mode: if flags[0] { Mode::Ethernet } else { Mode::Ip },
                cipher: ciphers.into_iter().map(|i| Cipher::ALL[i]).collect(),
                auth: auths.into_iter().map(|i| [Digest::None, Digest::Md5, Digest::Sha1, Digest::Sha224, Digest::Sha256, Digest::Sha384, Digest::Sha512][i]).collect(),
                netmask, keepalive_timeout: keepalive.map(Duration::from_secs), reneg_sec: reneg, max_mtu,
                require_client_certificate: flags[1], enable_tun_ipv6: flags[2],
                redirect_gateway: [RedirectGateway::Disabled, RedirectGateway::Def1, RedirectGateway::Ipv6][rg],
                ipv6_prefix_len: v6len, tun_server_ipv6: Ipv6Addr::from(v6),
                push_routes: "192.168.102.0 255.255.255.0 192.168.109.1 9".into(),
                default_profile: profile, user_auth_method: if flags[0] { UserAuthMethod::Mschap2 } else { UserAuthMethod::Pap },
                ..ServerConfig::default()
            };
            let p = c.to_props();
            let (back, unknown) = ServerConfig::from_props(&refs(&p)).unwrap();
            proptest::prop_assert!(unknown.is_empty());
            proptest::prop_assert_eq!(format!("{back:?}"), format!("{c:?}"));
        }
    }
}
