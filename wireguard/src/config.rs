//! RouterOS-shaped configuration (`/interface wireguard` and `/interface wireguard peers`), keys in
//! base64, and the wg-quick INI format RouterOS imports (`wg-import`) and exports (peer
//! `show-client-config`).
//!
//! **Deviation, on purpose:** RouterOS's `wg-import` fails with "Could not parse" when the file
//! starts with a `#` comment (seed L1169). [`WgQuick::parse`] accepts `#` and `;` comments anywhere,
//! including on the first line, because every wg-quick file written by `wg-quick`/`wg showconf`
//! users may carry them.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use base64::Engine as _;
use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::allowed_ips::IpPrefix;
use crate::error::ConfigError;

/// RouterOS default `listen-port`.
pub const DEFAULT_LISTEN_PORT: u16 = 13231;
/// RouterOS default `mtu` (1500 - 40 IPv6 - 8 UDP - 16 header - 16 tag).
pub const DEFAULT_MTU: u16 = 1420;
/// Per-packet overhead over IPv6: 40 + 8 + 32.
pub const OVERHEAD_V6: u16 = 80;
/// Per-packet overhead over IPv4: 20 + 8 + 32.
pub const OVERHEAD_V4: u16 = 60;

/// Largest tunnel MTU for a given link MTU (worst case, IPv6 underlay): `link_mtu - 80`.
pub fn max_tunnel_mtu(link_mtu: u16) -> u16 {
    link_mtu.saturating_sub(OVERHEAD_V6)
}

/// A 32-byte key (private, public or preshared), printed in standard base64 (44 characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub [u8; 32]);

impl Key {
    /// A fresh private key (clamping happens inside X25519).
    pub fn generate(rng: &mut dyn CryptoRngCore) -> Key {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        Key(k)
    }
    /// Public key of this private key: `X25519(clamp(k), 9)`.
    pub fn public_key(&self) -> Key {
        Key(PublicKey::from(&StaticSecret::from(self.0)).to_bytes())
    }
    /// Standard base64.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }
    /// Parse standard base64 of exactly 32 bytes; `field` names the property in errors.
    pub fn from_base64(s: &str, field: &'static str) -> Result<Key, ConfigError> {
        let v = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|e| ConfigError::invalid(field, format!("bad base64: {e}")))?;
        let arr: [u8; 32] = v.try_into().map_err(|v: Vec<u8>| {
            ConfigError::invalid(field, format!("{} bytes, need 32", v.len()))
        })?;
        Ok(Key(arr))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key bytes in debug output (it may be a private key).
        f.write_str("Key(..)")
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl FromStr for Key {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Key, ConfigError> {
        Key::from_base64(s, "key")
    }
}

/// An interface address such as wg-quick's `Address = 192.168.88.3/24` or RouterOS's peer
/// `client-address`: the host address **and** the prefix length of its subnet. Unlike
/// [`IpPrefix`] (a routing prefix, host bits cleared), the host part is kept, so import and
/// export are lossless: `192.168.88.3/24` stays `192.168.88.3/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    addr: IpAddr,
    len: u8,
}

impl InterfaceAddress {
    /// `addr/len`; `len` at most 32 (IPv4) / 128 (IPv6).
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, ConfigError> {
        crate::allowed_ips::check_len(addr, len, "address")?;
        Ok(InterfaceAddress { addr, len })
    }
    /// The host address (host bits kept).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }
    /// Prefix length of the attached subnet.
    pub fn len(&self) -> u8 {
        self.len
    }
    /// `true` for a /0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The attached subnet (host bits cleared), e.g. `192.168.88.0/24`.
    pub fn network(&self) -> IpPrefix {
        // `len` was checked in `new`, so this cannot fail; fall back to the host prefix.
        IpPrefix::new(self.addr, self.len).unwrap_or_else(|_| self.host())
    }
    /// The address as a host prefix (`/32` or `/128`).
    pub fn host(&self) -> IpPrefix {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        match IpPrefix::new(self.addr, max) {
            Ok(p) => p,
            Err(_) => self.network(),
        }
    }
}

impl fmt::Display for InterfaceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for InterfaceAddress {
    type Err = ConfigError;
    /// `addr/len`, or a bare address meaning a host address (`/32`, `/128`).
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let (addr, len) = crate::allowed_ips::parse_addr_len(s, "address")?;
        InterfaceAddress::new(addr, len)
    }
}

/// `/interface wireguard` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// `name`.
    pub name: String,
    /// `comment`.
    pub comment: String,
    /// `disabled` (default no).
    pub disabled: bool,
    /// `listen-port` (default 13231).
    pub listen_port: u16,
    /// `mtu` (default 1420). Plaintext is padded to a multiple of 16 but never beyond this.
    pub mtu: u16,
    /// `private-key`; `None` = generate on creation (RouterOS does this, seed L1088).
    pub private_key: Option<Key>,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig {
            name: String::new(),
            comment: String::new(),
            disabled: false,
            listen_port: DEFAULT_LISTEN_PORT,
            mtu: DEFAULT_MTU,
            private_key: None,
        }
    }
}

impl InterfaceConfig {
    /// Validate (names the failing field).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.mtu != 0 && self.mtu < 68 {
            return Err(ConfigError::invalid("mtu", "below 68"));
        }
        Ok(())
    }
}

/// `/interface wireguard peers` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    /// `name` (RouterOS 7.15+).
    pub name: String,
    /// `comment`.
    pub comment: String,
    /// `disabled` (default no).
    pub disabled: bool,
    /// `interface`.
    pub interface: String,
    /// `public-key` (required).
    pub public_key: Key,
    /// `preshared-key` (optional; unset = 32 zero bytes in the protocol).
    pub preshared_key: Option<Key>,
    /// `endpoint-address`: IP literal or host name (the caller resolves names).
    pub endpoint_address: Option<String>,
    /// `endpoint-port`.
    pub endpoint_port: Option<u16>,
    /// `allowed-address`.
    pub allowed_address: Vec<IpPrefix>,
    /// `persistent-keepalive` in seconds, 0 = off (default 0).
    pub persistent_keepalive: u16,
    /// `responder` (default no): never initiate handshakes to this peer.
    pub responder: bool,
    /// `private-key` of the peer (auto/none): only used for the client-config export.
    pub private_key: Option<Key>,
    /// `client-address` (export only): the client's interface address with its subnet, host
    /// part kept (`192.168.88.3/24`).
    pub client_address: Option<InterfaceAddress>,
    /// `client-dns` (export only).
    pub client_dns: Option<String>,
    /// `client-endpoint` `host:port` (export only).
    pub client_endpoint: Option<String>,
    /// `client-keepalive` (export only, default 0).
    pub client_keepalive: u16,
    /// `client-listen-port` (export only).
    pub client_listen_port: Option<u16>,
}

impl PeerConfig {
    /// A peer with RouterOS defaults and the given public key.
    pub fn new(public_key: Key) -> Self {
        PeerConfig {
            name: String::new(),
            comment: String::new(),
            disabled: false,
            interface: String::new(),
            public_key,
            preshared_key: None,
            endpoint_address: None,
            endpoint_port: None,
            allowed_address: Vec::new(),
            persistent_keepalive: 0,
            responder: false,
            private_key: None,
            client_address: None,
            client_dns: None,
            client_endpoint: None,
            client_keepalive: 0,
            client_listen_port: None,
        }
    }

    /// `endpoint-address:endpoint-port` when the address is an IP literal.
    pub fn endpoint(&self) -> Option<SocketAddr> {
        let ip = self.endpoint_address.as_deref()?.trim();
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        Some(SocketAddr::new(ip.parse().ok()?, self.endpoint_port?))
    }

    /// Validate (names the failing field).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.endpoint_address.is_some() && self.endpoint_port.is_none() {
            return Err(ConfigError::invalid(
                "endpoint-port",
                "required with endpoint-address",
            ));
        }
        Ok(())
    }

    /// The client configuration RouterOS shows for this peer (`show-client-config`), for a
    /// server whose public key is `server_public`. AllowedIPs is always `0.0.0.0/0, ::/0`
    /// (seed L1153). Needs the peer's `private-key`.
    pub fn client_config(&self, server_public: &Key) -> Result<WgQuick, ConfigError> {
        let private_key = self
            .private_key
            .ok_or_else(|| ConfigError::invalid("private-key", "needed for the client config"))?;
        let all = vec![
            IpPrefix::from_str("0.0.0.0/0")?,
            IpPrefix::from_str("::/0")?,
        ];
        Ok(WgQuick {
            interface: WgInterface {
                private_key,
                listen_port: self.client_listen_port,
                address: self.client_address.into_iter().collect(),
                dns: self.client_dns.iter().cloned().collect(),
                mtu: None,
            },
            peers: vec![WgPeer {
                public_key: *server_public,
                preshared_key: self.preshared_key,
                endpoint: self.client_endpoint.clone(),
                allowed_ips: all,
                persistent_keepalive: (self.client_keepalive > 0).then_some(self.client_keepalive),
            }],
        })
    }
}

fn yes_no(v: &str, field: &'static str) -> Result<bool, ConfigError> {
    match v {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(ConfigError::invalid(
            field,
            format!("expected yes/no, got {v:?}"),
        )),
    }
}

fn num<T: FromStr>(v: &str, field: &'static str) -> Result<T, ConfigError> {
    v.parse()
        .map_err(|_| ConfigError::invalid(field, format!("bad number {v:?}")))
}

impl PeerConfig {
    /// Parse the RouterOS peer listing form used for simple imports (seed L1157-1167):
    /// one `property: value` per line, property names as in `/interface wireguard peers`
    /// (`interface`, `public-key`, `private-key`, `allowed-address`, `client-address`,
    /// `client-endpoint`, ...). Blank lines and `#` comments are ignored; unknown properties are
    /// an error naming them.
    pub fn from_routeros(text: &str) -> Result<PeerConfig, ConfigError> {
        let mut public_key = None;
        let mut p = PeerConfig::new(Key([0; 32]));
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| perr(i + 1, "expected property: value"))?;
            let (k, v) = (k.trim(), v.trim());
            if k == "public-key" {
                public_key = Some(Key::from_base64(v, "public-key")?);
            } else if !p.set_prop(k, v)? {
                return Err(perr(i + 1, format!("unknown property {k}")));
            }
        }
        p.public_key = public_key.ok_or_else(|| ConfigError::invalid("public-key", "missing"))?;
        p.validate()?;
        Ok(p)
    }

    /// The `property: value` form [`from_routeros`](Self::from_routeros) reads (only set fields).
    pub fn to_routeros(&self) -> String {
        let mut s = String::new();
        let mut put = |k: &str, v: String| {
            let _ = writeln!(s, "{k}: {v}");
        };
        if !self.interface.is_empty() {
            put("interface", self.interface.clone());
        }
        if !self.name.is_empty() {
            put("name", self.name.clone());
        }
        put("public-key", self.public_key.to_base64());
        if let Some(k) = self.private_key {
            put("private-key", k.to_base64());
        }
        if let Some(k) = self.preshared_key {
            put("preshared-key", k.to_base64());
        }
        if !self.allowed_address.is_empty() {
            put(
                "allowed-address",
                join(&self.allowed_address).replace(", ", ","),
            );
        }
        if let Some(a) = &self.endpoint_address {
            put("endpoint-address", a.clone());
        }
        if let Some(p) = self.endpoint_port {
            put("endpoint-port", p.to_string());
        }
        if self.persistent_keepalive > 0 {
            put(
                "persistent-keepalive",
                self.persistent_keepalive.to_string(),
            );
        }
        if self.responder {
            put("responder", "yes".into());
        }
        if let Some(a) = self.client_address {
            put("client-address", a.to_string());
        }
        if let Some(d) = &self.client_dns {
            put("client-dns", d.clone());
        }
        if let Some(e) = &self.client_endpoint {
            put("client-endpoint", e.clone());
        }
        if self.client_keepalive > 0 {
            put("client-keepalive", self.client_keepalive.to_string());
        }
        if let Some(p) = self.client_listen_port {
            put("client-listen-port", p.to_string());
        }
        s
    }
}

/// Seconds as RouterOS writes them: `25`, `25s`, `1m30s`, `1h`; `field` names the property.
fn seconds(v: &str, field: &'static str) -> Result<u16, ConfigError> {
    let bad = || ConfigError::invalid(field, format!("bad time {v:?}"));
    if let Ok(n) = v.parse::<u16>() {
        return Ok(n);
    }
    let mut total: u32 = 0;
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
            _ => return Err(bad()),
        };
        let n: u32 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = total.saturating_add(n.saturating_mul(unit));
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    u16::try_from(total).map_err(|_| bad())
}

/// `yes`/`no` as RouterOS exports it.
fn yn(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

impl InterfaceConfig {
    /// Build an `/interface wireguard` entry from an `add`/`set` property list as a `.rsc`
    /// export writes it (`[("listen-port", "13231"), ("name", "wireguard1")]`), starting from
    /// RouterOS defaults.
    ///
    /// Properties: `name`, `comment`, `disabled`, `listen-port`, `mtu`, `private-key`. The
    /// read-only `public-key` (as `print` shows it) is checked against `private-key` when both
    /// are given. A bad value is a [`ConfigError::Invalid`] naming the property; properties this
    /// crate does not implement are returned (in order) so the caller can warn about them.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut c = InterfaceConfig::default();
        let mut unknown = Vec::new();
        let mut public = None;
        for &(k, v) in props {
            match k {
                "name" => c.name = v.to_string(),
                "comment" => c.comment = v.to_string(),
                "disabled" => c.disabled = yes_no(v, "disabled")?,
                "listen-port" => c.listen_port = num(v, "listen-port")?,
                "mtu" => c.mtu = num(v, "mtu")?,
                "private-key" => c.private_key = Some(Key::from_base64(v, "private-key")?),
                "public-key" => public = Some(Key::from_base64(v, "public-key")?),
                other => unknown.push(other.to_string()),
            }
        }
        if let (Some(pubk), Some(prv)) = (public, c.private_key) {
            if prv.public_key() != pubk {
                return Err(ConfigError::invalid(
                    "public-key",
                    "does not belong to private-key",
                ));
            }
        }
        c.validate()?;
        Ok((c, unknown))
    }

    /// The property list [`from_props`](Self::from_props) reads back to `self`: `name` and
    /// every field that differs from the RouterOS default.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = InterfaceConfig::default();
        let mut v = Vec::new();
        if !self.name.is_empty() {
            v.push(("name", self.name.clone()));
        }
        if !self.comment.is_empty() {
            v.push(("comment", self.comment.clone()));
        }
        if self.disabled {
            v.push(("disabled", yn(true)));
        }
        if self.listen_port != d.listen_port {
            v.push(("listen-port", self.listen_port.to_string()));
        }
        if self.mtu != d.mtu {
            v.push(("mtu", self.mtu.to_string()));
        }
        if let Some(k) = self.private_key {
            v.push(("private-key", k.to_base64()));
        }
        v
    }
}

impl PeerConfig {
    /// Set one `/interface wireguard peers` property other than `public-key`; `Ok(false)` when
    /// the property is not one this crate implements.
    fn set_prop(&mut self, k: &str, v: &str) -> Result<bool, ConfigError> {
        let p = self;
        match k {
            "interface" => p.interface = v.to_string(),
            "name" => p.name = v.to_string(),
            "comment" => p.comment = v.to_string(),
            "disabled" => p.disabled = yes_no(v, "disabled")?,
            "private-key" => {
                p.private_key = match v {
                    "" | "none" | "auto" => None,
                    _ => Some(Key::from_base64(v, "private-key")?),
                }
            }
            "preshared-key" => {
                p.preshared_key = match v {
                    "" | "none" => None,
                    _ => Some(Key::from_base64(v, "preshared-key")?),
                }
            }
            "allowed-address" => p.allowed_address = list(v, IpPrefix::from_str)?,
            "endpoint-address" => {
                p.endpoint_address = (!v.is_empty()).then(|| v.to_string());
            }
            "endpoint-port" => p.endpoint_port = Some(num(v, "endpoint-port")?),
            "persistent-keepalive" => {
                p.persistent_keepalive = seconds(v, "persistent-keepalive")?;
            }
            "responder" => p.responder = yes_no(v, "responder")?,
            "client-address" => p.client_address = Some(v.parse()?),
            "client-dns" => p.client_dns = Some(v.to_string()),
            "client-endpoint" => p.client_endpoint = Some(v.to_string()),
            "client-keepalive" => p.client_keepalive = seconds(v, "client-keepalive")?,
            "client-listen-port" => p.client_listen_port = Some(num(v, "client-listen-port")?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Build an `/interface wireguard peers` entry from an `add`/`set` property list as a
    /// `.rsc` export writes it, starting from RouterOS defaults.
    ///
    /// Properties: `public-key` (required), `interface`, `name`, `comment`, `disabled`,
    /// `allowed-address` (comma-separated prefixes), `endpoint-address`, `endpoint-port`,
    /// `preshared-key`, `persistent-keepalive` (`25`, `25s`, `1m`), `responder`,
    /// `private-key`, `client-address`, `client-dns`, `client-endpoint`, `client-keepalive`,
    /// `client-listen-port`. A bad or missing value is a [`ConfigError::Invalid`] naming the
    /// property; properties this crate does not implement are returned (in order) so the caller
    /// can warn about them.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut public_key = None;
        let mut p = PeerConfig::new(Key([0; 32]));
        let mut unknown = Vec::new();
        for &(k, v) in props {
            if k == "public-key" {
                public_key = Some(Key::from_base64(v, "public-key")?);
            } else if !p.set_prop(k, v)? {
                unknown.push(k.to_string());
            }
        }
        p.public_key = public_key.ok_or_else(|| ConfigError::invalid("public-key", "missing"))?;
        p.validate()?;
        Ok((p, unknown))
    }

    /// The property list [`from_props`](Self::from_props) reads back to `self` (fields at
    /// their RouterOS default are left out; `public-key` always present).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if !self.interface.is_empty() {
            v.push(("interface", self.interface.clone()));
        }
        if !self.name.is_empty() {
            v.push(("name", self.name.clone()));
        }
        if !self.comment.is_empty() {
            v.push(("comment", self.comment.clone()));
        }
        if self.disabled {
            v.push(("disabled", yn(true)));
        }
        if !self.allowed_address.is_empty() {
            v.push((
                "allowed-address",
                join(&self.allowed_address).replace(", ", ","),
            ));
        }
        if let Some(a) = &self.endpoint_address {
            v.push(("endpoint-address", a.clone()));
        }
        if let Some(p) = self.endpoint_port {
            v.push(("endpoint-port", p.to_string()));
        }
        v.push(("public-key", self.public_key.to_base64()));
        if let Some(k) = self.preshared_key {
            v.push(("preshared-key", k.to_base64()));
        }
        if let Some(k) = self.private_key {
            v.push(("private-key", k.to_base64()));
        }
        if self.persistent_keepalive > 0 {
            v.push((
                "persistent-keepalive",
                format!("{}s", self.persistent_keepalive),
            ));
        }
        if self.responder {
            v.push(("responder", yn(true)));
        }
        if let Some(a) = self.client_address {
            v.push(("client-address", a.to_string()));
        }
        if let Some(d) = &self.client_dns {
            v.push(("client-dns", d.clone()));
        }
        if let Some(e) = &self.client_endpoint {
            v.push(("client-endpoint", e.clone()));
        }
        if self.client_keepalive > 0 {
            v.push(("client-keepalive", format!("{}s", self.client_keepalive)));
        }
        if let Some(p) = self.client_listen_port {
            v.push(("client-listen-port", p.to_string()));
        }
        v
    }
}

/// `[Interface]` of a wg-quick file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgInterface {
    /// `PrivateKey`.
    pub private_key: Key,
    /// `ListenPort`.
    pub listen_port: Option<u16>,
    /// `Address` (comma separated): interface addresses, host part kept
    /// (`192.168.88.3/24` stays `192.168.88.3/24`).
    pub address: Vec<InterfaceAddress>,
    /// `DNS` (comma separated, kept as text).
    pub dns: Vec<String>,
    /// `MTU`.
    pub mtu: Option<u16>,
}

/// `[Peer]` of a wg-quick file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgPeer {
    /// `PublicKey`.
    pub public_key: Key,
    /// `PresharedKey`.
    pub preshared_key: Option<Key>,
    /// `Endpoint` `host:port` (text; the caller resolves names).
    pub endpoint: Option<String>,
    /// `AllowedIPs`.
    pub allowed_ips: Vec<IpPrefix>,
    /// `PersistentKeepalive`.
    pub persistent_keepalive: Option<u16>,
}

/// A wg-quick configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgQuick {
    /// The `[Interface]` section.
    pub interface: WgInterface,
    /// The `[Peer]` sections.
    pub peers: Vec<WgPeer>,
}

fn perr(line: usize, reason: impl Into<String>) -> ConfigError {
    ConfigError::Parse {
        line,
        reason: reason.into(),
    }
}

fn list<T, F: Fn(&str) -> Result<T, ConfigError>>(v: &str, f: F) -> Result<Vec<T>, ConfigError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(f)
        .collect()
}

impl WgQuick {
    /// Parse a wg-quick file. Keys are case-insensitive; `#`/`;` comments and blank lines are
    /// ignored anywhere (also before `[Interface]`, unlike RouterOS). Unknown keys
    /// (`PostUp`, `Table`, `SaveConfig` ...) are ignored since they drive wg-quick, not WireGuard.
    pub fn parse(text: &str) -> Result<WgQuick, ConfigError> {
        enum Sec {
            None,
            Iface,
            Peer,
        }
        let mut sec = Sec::None;
        let mut private_key = None;
        let mut listen_port = None;
        let mut address = Vec::new();
        let mut dns = Vec::new();
        let mut mtu = None;
        let mut peers: Vec<(usize, Option<Key>, WgPeer)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let ln = i + 1;
            let line = raw.split(['#', ';']).next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with('[') {
                match line.to_ascii_lowercase().as_str() {
                    "[interface]" => sec = Sec::Iface,
                    "[peer]" => {
                        sec = Sec::Peer;
                        peers.push((
                            ln,
                            None,
                            WgPeer {
                                public_key: Key([0; 32]),
                                preshared_key: None,
                                endpoint: None,
                                allowed_ips: Vec::new(),
                                persistent_keepalive: None,
                            },
                        ));
                    }
                    other => return Err(perr(ln, format!("unknown section {other}"))),
                }
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| perr(ln, "expected key = value"))?;
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim();
            let wrap = |e: ConfigError| perr(ln, e.to_string());
            match sec {
                Sec::None => return Err(perr(ln, "key outside a section")),
                Sec::Iface => match k.as_str() {
                    "privatekey" => {
                        private_key = Some(Key::from_base64(v, "PrivateKey").map_err(wrap)?)
                    }
                    "listenport" => {
                        listen_port = Some(v.parse().map_err(|_| perr(ln, "bad ListenPort"))?)
                    }
                    "address" => address.extend(list(v, InterfaceAddress::from_str).map_err(wrap)?),
                    "dns" => dns.extend(list(v, |s| Ok(s.to_string()))?),
                    "mtu" => mtu = Some(v.parse().map_err(|_| perr(ln, "bad MTU"))?),
                    _ => {}
                },
                Sec::Peer => {
                    let Some((_, pk, p)) = peers.last_mut() else {
                        return Err(perr(ln, "no [Peer]"));
                    };
                    match k.as_str() {
                        "publickey" => *pk = Some(Key::from_base64(v, "PublicKey").map_err(wrap)?),
                        "presharedkey" => {
                            p.preshared_key =
                                Some(Key::from_base64(v, "PresharedKey").map_err(wrap)?)
                        }
                        "endpoint" => p.endpoint = Some(v.to_string()),
                        "allowedips" => p
                            .allowed_ips
                            .extend(list(v, IpPrefix::from_str).map_err(wrap)?),
                        "persistentkeepalive" => {
                            p.persistent_keepalive = if v.eq_ignore_ascii_case("off") {
                                None
                            } else {
                                Some(v.parse().map_err(|_| perr(ln, "bad PersistentKeepalive"))?)
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        let private_key = private_key.ok_or_else(|| perr(0, "[Interface] PrivateKey missing"))?;
        let peers = peers
            .into_iter()
            .map(|(ln, pk, mut p)| {
                p.public_key = pk.ok_or_else(|| perr(ln, "[Peer] PublicKey missing"))?;
                Ok(p)
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        Ok(WgQuick {
            interface: WgInterface {
                private_key,
                listen_port,
                address,
                dns,
                mtu,
            },
            peers,
        })
    }

    /// RouterOS interface + peer configs from this file (defaults where the file says nothing).
    pub fn to_routeros(&self) -> (InterfaceConfig, Vec<PeerConfig>) {
        let iface = InterfaceConfig {
            listen_port: self.interface.listen_port.unwrap_or(DEFAULT_LISTEN_PORT),
            mtu: self.interface.mtu.unwrap_or(DEFAULT_MTU),
            private_key: Some(self.interface.private_key),
            ..Default::default()
        };
        let peers = self
            .peers
            .iter()
            .map(|p| {
                let mut c = PeerConfig::new(p.public_key);
                c.preshared_key = p.preshared_key;
                c.allowed_address = p.allowed_ips.clone();
                c.persistent_keepalive = p.persistent_keepalive.unwrap_or(0);
                if let Some(ep) = &p.endpoint {
                    if let Some((h, port)) = ep.rsplit_once(':') {
                        c.endpoint_address =
                            Some(h.trim_start_matches('[').trim_end_matches(']').to_string());
                        c.endpoint_port = port.parse().ok();
                    }
                }
                c
            })
            .collect();
        (iface, peers)
    }
}

fn join<T: fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for WgQuick {
    /// wg-quick text, starting with `[Interface]` (no leading comment, so RouterOS imports it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        let i = &self.interface;
        let _ = writeln!(s, "[Interface]");
        let _ = writeln!(s, "PrivateKey = {}", i.private_key);
        if let Some(p) = i.listen_port {
            let _ = writeln!(s, "ListenPort = {p}");
        }
        if !i.address.is_empty() {
            let _ = writeln!(s, "Address = {}", join(&i.address));
        }
        if !i.dns.is_empty() {
            let _ = writeln!(s, "DNS = {}", i.dns.join(", "));
        }
        if let Some(m) = i.mtu {
            let _ = writeln!(s, "MTU = {m}");
        }
        for p in &self.peers {
            let _ = writeln!(s, "\n[Peer]");
            let _ = writeln!(s, "PublicKey = {}", p.public_key);
            if let Some(k) = p.preshared_key {
                let _ = writeln!(s, "PresharedKey = {k}");
            }
            if let Some(e) = &p.endpoint {
                let _ = writeln!(s, "Endpoint = {e}");
            }
            if !p.allowed_ips.is_empty() {
                let _ = writeln!(s, "AllowedIPs = {}", join(&p.allowed_ips));
            }
            if let Some(k) = p.persistent_keepalive {
                let _ = writeln!(s, "PersistentKeepalive = {k}");
            }
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_key_pairs() {
        for (private, public) in [
            (
                "yKt9NJ4e5qlaSgh48WnPCDCEkDmq+VsBTt/DDEBWfEo=",
                "u7gYAg5tkioJDcm3hyS7pm79eADKPs/ZUGON6/fF3iI=",
            ),
            (
                "KMwxqe/iXAU8Jn9dd1o5pPdHep2blGxNWm9I944/I24=",
                "v/oIzPyFm1FPHrqhytZgsKjU7mUToQHLrW+Tb5e601M=",
            ),
            (
                "cBPD6JNvbEQr73gJ7NmwepSrSPK3np381AWGvBk/QkU=",
                "VmGMh+cwPdb8//NOhuf1i1VIThypkMQrKAO9Y55ghG8=",
            ),
        ] {
            let k: Key = private.parse().unwrap();
            assert_eq!(k.public_key().to_base64(), public);
            assert_eq!(k.to_base64(), private);
        }
        assert!(Key::from_base64("AAAA", "public-key").is_err());
    }

    #[test]
    fn defaults() {
        let c = InterfaceConfig::default();
        assert_eq!(c.listen_port, 13231);
        assert_eq!(c.mtu, 1420);
        assert_eq!(max_tunnel_mtu(1500), 1420);
        let p = PeerConfig::new(Key([1; 32]));
        assert_eq!(p.persistent_keepalive, 0);
        assert!(!p.responder);
    }

    const SEED_IMPORT: &str = "
[Interface]
Address =192.168.88.3/24
ListenPort = 13533
PrivateKey = UBLqJEFZZf9wszZSUF2BPWa9dsMX99RbEcxlNfxWffk=
[Peer]
PublicKey = EoF7HlFu3fbOnuYbyGqLMJkPZgQk9n3WwONZuJZ6qWc=
Endpoint = 199.168.100.10:51820
AllowedIPs = 0.0.0.0/0
PersistentKeepalive = 25";

    #[test]
    fn wg_quick_seed_example_and_roundtrip() {
        let w = WgQuick::parse(SEED_IMPORT).unwrap();
        assert_eq!(w.interface.listen_port, Some(13533));
        // An interface address keeps its host part (it is not a routing prefix).
        assert_eq!(w.interface.address[0].to_string(), "192.168.88.3/24");
        assert_eq!(
            w.interface.address[0].network().to_string(),
            "192.168.88.0/24"
        );
        assert_eq!(w.interface.address[0].host().to_string(), "192.168.88.3/32");
        assert_eq!(w.peers.len(), 1);
        assert_eq!(w.peers[0].persistent_keepalive, Some(25));
        let (iface, peers) = w.to_routeros();
        assert_eq!(iface.listen_port, 13533);
        assert_eq!(
            peers[0].endpoint().unwrap().to_string(),
            "199.168.100.10:51820"
        );
        // A leading '#' comment is accepted (RouterOS would reject it, seed L1169).
        let with_comment = format!("# exported by some tool\n{SEED_IMPORT}");
        assert_eq!(WgQuick::parse(&with_comment).unwrap(), w);
        // Export and re-import.
        let text = w.to_string();
        assert!(text.starts_with("[Interface]"));
        assert!(text.contains("Address = 192.168.88.3/24\n"), "{text}");
        assert_eq!(WgQuick::parse(&text).unwrap(), w);
        // Several addresses, IPv6 and a bare (host) address, in order.
        let multi = SEED_IMPORT.replace(
            "Address =192.168.88.3/24",
            "Address = 10.1.2.3/16, fd00::5/64, 10.9.9.9",
        );
        let m = WgQuick::parse(&multi).unwrap();
        let shown: Vec<String> = m.interface.address.iter().map(|a| a.to_string()).collect();
        assert_eq!(shown, ["10.1.2.3/16", "fd00::5/64", "10.9.9.9/32"]);
        assert_eq!(WgQuick::parse(&m.to_string()).unwrap(), m);
        assert!(WgQuick::parse(&SEED_IMPORT.replace("/24", "/33")).is_err());
        assert!(WgQuick::parse("[Interface]\nListenPort = 1\n").is_err());
        assert!(matches!(
            WgQuick::parse("[Interface]\nPrivateKey = nope\n"),
            Err(ConfigError::Parse { line: 2, .. })
        ));
    }

    #[test]
    fn routeros_peer_form_seed_example() {
        // Seed L1161-1167, verbatim.
        let text =
            "interface: wireguard1\npublic-key: v/oIzPyFm1FPHrqhytZgsKjU7mUToQHLrW+Tb5e601M=\n\
                    private-key: KMwxqe/iXAU8Jn9dd1o5pPdHep2blGxNWm9I944/I24=\n\
                    allowed-address: 192.168.88.3/24\nclient-address: 192.168.88.3/32\n\
                    client-endpoint: example.com:13231\n";
        let p = PeerConfig::from_routeros(text).unwrap();
        assert_eq!(p.interface, "wireguard1");
        // The example's key pair is consistent (the private key belongs to the public key).
        assert_eq!(p.private_key.unwrap().public_key(), p.public_key);
        assert_eq!(p.allowed_address[0].to_string(), "192.168.88.0/24");
        assert_eq!(p.client_endpoint.as_deref(), Some("example.com:13231"));
        assert_eq!(PeerConfig::from_routeros(&p.to_routeros()).unwrap(), p);
        assert!(matches!(
            PeerConfig::from_routeros("public-key: x\n"),
            Err(ConfigError::Invalid {
                field: "public-key",
                ..
            })
        ));
        assert!(matches!(
            PeerConfig::from_routeros("bogus: 1\n"),
            Err(ConfigError::Parse { line: 1, .. })
        ));
        // And its client config (show-client-config).
        let server: Key = "u7gYAg5tkioJDcm3hyS7pm79eADKPs/ZUGON6/fF3iI="
            .parse()
            .unwrap();
        let c = p.client_config(&server).unwrap().to_string();
        assert!(c.starts_with("[Interface]\nPrivateKey = KMwxqe"), "{c}");
        assert!(c.contains("Address = 192.168.88.3/32"));
        // A client-address with a subnet keeps its host part through export and re-import.
        let mut p2 = p.clone();
        p2.client_address = Some("192.168.88.3/24".parse().unwrap());
        let c2 = p2.client_config(&server).unwrap();
        assert!(c2.to_string().contains("Address = 192.168.88.3/24\n"));
        assert_eq!(
            PeerConfig::from_routeros(&p2.to_routeros())
                .unwrap()
                .client_address,
            p2.client_address
        );
    }

    #[test]
    fn client_export_allowed_ips_fixed() {
        let mut p = PeerConfig::new(Key([2; 32]));
        p.private_key = Some(
            "KMwxqe/iXAU8Jn9dd1o5pPdHep2blGxNWm9I944/I24="
                .parse()
                .unwrap(),
        );
        p.client_address = Some("192.168.88.3/32".parse().unwrap());
        p.client_endpoint = Some("example.com:13231".into());
        let server: Key = "u7gYAg5tkioJDcm3hyS7pm79eADKPs/ZUGON6/fF3iI="
            .parse()
            .unwrap();
        let w = p.client_config(&server).unwrap();
        let text = w.to_string();
        assert!(text.contains("AllowedIPs = 0.0.0.0/0, ::/0"), "{text}");
        assert!(text.contains("Endpoint = example.com:13231"));
        assert_eq!(WgQuick::parse(&text).unwrap(), w);
    }
}
