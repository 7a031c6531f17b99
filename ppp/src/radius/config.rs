//! `/radius` as configuration: one [`RadiusServer`] per entry, and the client-wide
//! [`RadiusConfig`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use zeroize::Zeroizing;

/// A shared secret. Its `Debug` prints no octets: secrets are never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(Zeroizing<Vec<u8>>);

impl SharedSecret {
    /// A secret from its octets.
    pub fn new(s: impl AsRef<[u8]>) -> Self {
        SharedSecret(Zeroizing::new(s.as_ref().to_vec()))
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

/// One `/radius` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusServer {
    /// `address` (no default): the server's address.
    pub address: IpAddr,
    /// `secret` (empty): the shared secret.
    pub secret: SharedSecret,
    /// `authentication-port` (1812).
    pub authentication_port: u16,
    /// `accounting-port` (1813).
    pub accounting_port: u16,
    /// `timeout` (300ms): how long to wait for a reply before retransmitting.
    pub timeout: Duration,
    /// `src-address` (0.0.0.0 = any): the source address the embedder should send from;
    /// copied into every [`Transmit`](super::Transmit) and, when not unspecified, sent as
    /// NAS-IP-Address.
    pub src_address: IpAddr,
    /// Drop Access-Accept/Reject/Challenge replies without a valid Message-Authenticator
    /// (the CVE-2024-3596 "Blast-RADIUS" mitigation; not one of the `/radius` properties
    /// this crate mirrors). Default `false`; replies carrying EAP-Message always need one
    /// (RFC 3579 s3.2).
    pub require_message_authenticator: bool,
    /// `disabled` (no): the entry is skipped.
    pub disabled: bool,
    /// `accounting-backup` (no): for accounting, this entry is asked only when no primary
    /// (non-backup) entry is live and untried; authentication ignores the flag.
    pub accounting_backup: bool,
    /// `called-id` (empty): sent as Called-Station-Id in Access-Requests that carry none
    /// (RouterOS: PPPoE service name, PPTP/L2TP server address).
    pub called_id: Option<String>,
}

impl RadiusServer {
    /// An entry with RouterOS defaults.
    pub fn new(address: IpAddr, secret: impl AsRef<[u8]>) -> Self {
        RadiusServer {
            address,
            secret: SharedSecret::new(secret),
            authentication_port: 1812,
            accounting_port: 1813,
            timeout: Duration::from_millis(300),
            src_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            require_message_authenticator: false,
            disabled: false,
            accounting_backup: false,
            called_id: None,
        }
    }

    /// Where authentication requests go.
    pub fn auth_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.authentication_port)
    }

    /// Where accounting requests go.
    pub fn acct_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.accounting_port)
    }
}

/// The client: the servers in order of preference, and what RouterOS leaves implicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusConfig {
    /// The `/radius` entries in order: the first live one is asked first.
    pub servers: Vec<RadiusServer>,
    /// Retransmissions to one server before failing over (no RouterOS property; default 2,
    /// i.e. three tries of `timeout` each). A retransmission repeats the identifier and the
    /// authenticator byte for byte (RFC 5080 s2.2.1).
    pub retransmits: u32,
    /// How long a server that let a request time out is skipped (no RouterOS property;
    /// default 30 s). When every server is dead the first one is asked anyway.
    pub dead_time: Duration,
    /// NAS-Identifier (RouterOS sends `/system identity`; default `None`: not sent). RFC 2865
    /// s4.1 wants NAS-Identifier or NAS-IP-Address in every Access-Request: set this or a
    /// server's `src_address`.
    pub nas_identifier: Option<String>,
    /// Outstanding requests per server (an identifier is 8 bits: at most 256, the default).
    pub max_outstanding: usize,
}

impl Default for RadiusConfig {
    fn default() -> Self {
        RadiusConfig {
            servers: Vec::new(),
            retransmits: 2,
            dead_time: Duration::from_secs(30),
            nas_identifier: None,
            max_outstanding: 256,
        }
    }
}

/// A configuration the client refuses, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RadiusConfigError {
    /// `servers` is empty.
    #[error("servers: at least one /radius entry is needed")]
    NoServers,
    /// A server's `secret` is empty.
    #[error("servers[{0}].secret: empty")]
    EmptySecret(usize),
    /// A server's `timeout` is zero.
    #[error("servers[{0}].timeout: must be above 0")]
    ZeroTimeout(usize),
    /// `max_outstanding` is 0 or above 256.
    #[error("max_outstanding: {0} outside 1..=256")]
    MaxOutstanding(usize),
}

impl RadiusConfig {
    /// Check the configuration.
    pub fn validate(&self) -> Result<(), RadiusConfigError> {
        if self.servers.is_empty() {
            return Err(RadiusConfigError::NoServers);
        }
        for (i, s) in self.servers.iter().enumerate() {
            if s.secret.as_bytes().is_empty() {
                return Err(RadiusConfigError::EmptySecret(i));
            }
            if s.timeout.is_zero() {
                return Err(RadiusConfigError::ZeroTimeout(i));
            }
        }
        if !(1..=256).contains(&self.max_outstanding) {
            return Err(RadiusConfigError::MaxOutstanding(self.max_outstanding));
        }
        Ok(())
    }
}

/// A RouterOS `/radius timeout`: `300ms`, `1s`, `1s500ms`, `2m`, or plain seconds (`2`, as
/// RouterOS reads a time without a unit).
pub fn parse_timeout(v: &str) -> Result<Duration, crate::ConfigError> {
    let err = || crate::ConfigError {
        field: "timeout",
        reason: format!("bad time {v:?} (e.g. 300ms, 1s)"),
    };
    if let Ok(secs) = v.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = v;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let n: u64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (Duration::from_millis(n), 2)
        } else if rest.starts_with('s') {
            (Duration::from_secs(n), 1)
        } else if rest.starts_with('m') {
            (Duration::from_secs(n.saturating_mul(60)), 1)
        } else {
            return Err(err());
        };
        total = total.checked_add(unit).ok_or_else(err)?;
        rest = &rest[len..];
    }
    Ok(total)
}

/// A timeout as [`parse_timeout`] reads it (`300ms`).
pub fn format_timeout(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

impl RadiusServer {
    /// A `/radius add` entry from its properties (as an export writes them), over the
    /// RouterOS defaults: `address` (required), `secret`, `authentication-port`,
    /// `accounting-port`, `timeout`, `src-address`, `disabled`, `accounting-backup`,
    /// `called-id`; `comment` is accepted and dropped. `service` is not a property of this
    /// type (one client serves one service): the caller reads it. Returns the entry and the
    /// property names it does not implement; a bad value names its property.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), crate::ConfigError> {
        let bad = |field: &'static str, v: &str| crate::ConfigError {
            field,
            reason: format!("bad value {v:?}"),
        };
        let address = props
            .iter()
            .find(|(k, _)| *k == "address")
            .ok_or(crate::ConfigError {
                field: "address",
                reason: "required".into(),
            })?
            .1;
        let address: IpAddr = address.parse().map_err(|_| bad("address", address))?;
        let mut s = RadiusServer::new(address, b"");
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "address" | "comment" => {}
                "secret" => s.secret = SharedSecret::new(v),
                "authentication-port" => {
                    s.authentication_port = v.parse().map_err(|_| bad("authentication-port", v))?
                }
                "accounting-port" => {
                    s.accounting_port = v.parse().map_err(|_| bad("accounting-port", v))?
                }
                "timeout" => s.timeout = parse_timeout(v)?,
                "src-address" => s.src_address = v.parse().map_err(|_| bad("src-address", v))?,
                "disabled" => s.disabled = crate::props::parse_yes_no(v, "disabled")?,
                "accounting-backup" => {
                    s.accounting_backup = crate::props::parse_yes_no(v, "accounting-backup")?
                }
                "called-id" => s.called_id = (!v.is_empty()).then(|| v.to_string()),
                other => unknown.push(other.to_string()),
            }
        }
        Ok((s, unknown))
    }

    /// The properties [`RadiusServer::from_props`] reads back to this entry (defaults left
    /// out, the secret included: an export carries it).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = RadiusServer::new(self.address, b"");
        let mut p = vec![("address", self.address.to_string())];
        if !self.secret.as_bytes().is_empty() {
            p.push((
                "secret",
                String::from_utf8_lossy(self.secret.as_bytes()).into_owned(),
            ));
        }
        if self.authentication_port != d.authentication_port {
            p.push(("authentication-port", self.authentication_port.to_string()));
        }
        if self.accounting_port != d.accounting_port {
            p.push(("accounting-port", self.accounting_port.to_string()));
        }
        if self.timeout != d.timeout {
            p.push(("timeout", format_timeout(self.timeout)));
        }
        if self.src_address != d.src_address {
            p.push(("src-address", self.src_address.to_string()));
        }
        if self.disabled {
            p.push(("disabled", "yes".into()));
        }
        if self.accounting_backup {
            p.push(("accounting-backup", "yes".into()));
        }
        if let Some(c) = &self.called_id {
            p.push(("called-id", c.clone()));
        }
        p
    }
}
