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
