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
}
