//! Configuration with RouterOS defaults (`/interface l2tp-client`, `/interface l2tp-server server`,
//! `/interface l2tp-ether`, `/ppp l2tp-secret`) and the protocol knobs of the control channel.
//!
//! Every struct has a `validate()` that names the offending RouterOS property.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::wire::v3::{Cookie, DigestHash, Encap};

/// Reliable-delivery parameters of the control channel (RFC 2661 section 5.8 recommendations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    /// Our Receive Window Size AVP (default 4, RFC 2661 s4.4.3). Also bounds the number of
    /// out-of-order messages held.
    pub receive_window: u16,
    /// First retransmission timeout (1 s).
    pub retransmit_initial: Duration,
    /// Cap of the exponential backoff (8 s, RFC 2661 s5.8 "no less than 8 seconds").
    pub retransmit_cap: Duration,
    /// Retransmissions before the tunnel is given up (5).
    pub max_retransmits: u32,
    /// HELLO after this much silence from the peer (60 s, RFC 2661 s6.5); `None` disables.
    pub hello_interval: Option<Duration>,
    /// How long tunnel state is kept after StopCCN to (re-)acknowledge retransmissions
    /// (31 s: one full retransmission cycle, RFC 2661 s5.7).
    pub stop_linger: Duration,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            receive_window: 4,
            retransmit_initial: Duration::from_secs(1),
            retransmit_cap: Duration::from_secs(8),
            max_retransmits: 5,
            hello_interval: Some(Duration::from_secs(60)),
            stop_linger: Duration::from_secs(31),
        }
    }
}

impl ControlConfig {
    /// Validate.
    pub fn validate(&self) -> Result<()> {
        if self.receive_window == 0 {
            return Err(cfg("receive-window", "must be at least 1"));
        }
        if self.retransmit_initial.is_zero() || self.retransmit_cap < self.retransmit_initial {
            return Err(cfg(
                "retransmit-timeout",
                "initial must be > 0 and not above the cap",
            ));
        }
        Ok(())
    }
}

fn cfg(field: &'static str, reason: &str) -> Error {
    Error::Config {
        field,
        reason: reason.to_string(),
    }
}

/// Parameters of one L2TPv2 tunnel endpoint (LAC or LNS side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelConfig {
    /// Host Name AVP.
    pub host_name: Vec<u8>,
    /// Vendor Name AVP (omitted when empty).
    pub vendor_name: Vec<u8>,
    /// Firmware Revision AVP.
    pub firmware_revision: Option<u16>,
    /// Framing Capabilities (bit 0 synchronous, bit 1 asynchronous).
    pub framing_capabilities: u32,
    /// Bearer Capabilities (bit 0 digital, bit 1 analog); `None` omits the AVP.
    pub bearer_capabilities: Option<u32>,
    /// Tunnel secret for Challenge/Challenge Response and hidden AVPs
    /// (`/ppp l2tp-secret secret=`, Cisco `l2tp tunnel password`). `None`: no tunnel auth.
    pub secret: Option<Vec<u8>>,
    /// Hide the Assigned Session ID and proxy authentication AVPs we send (needs `secret`).
    pub hide_avps: bool,
    /// Control channel parameters.
    pub control: ControlConfig,
    /// Most sessions this tunnel holds (bounds the session table).
    pub max_sessions: usize,
    /// Accept incoming calls (ICRQ/OCRQ) without asking the application
    /// (false: an [`crate::Event::IncomingCall`] waits for `accept_call`/`reject_call`).
    pub auto_accept_calls: bool,
    /// Ask the peer to sequence data messages (Sequencing Required AVP in ICCN/OCCN).
    pub require_sequencing: bool,
    /// Reorder sequenced data (Ns on data messages, RFC 2661 s5.4) per session through a
    /// bounded [`crate::reorder::ReorderBuffer`]; `None` (default) delivers frames as they
    /// arrive and drops stale ones. Not a RouterOS property.
    pub reorder: Option<crate::reorder::ReorderConfig>,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            host_name: b"MikroTik".to_vec(),
            vendor_name: b"rust-l2tp".to_vec(),
            firmware_revision: Some(0x0100),
            framing_capabilities: 3,
            bearer_capabilities: None,
            secret: None,
            hide_avps: false,
            control: ControlConfig::default(),
            max_sessions: 65535,
            auto_accept_calls: true,
            require_sequencing: false,
            reorder: None,
        }
    }
}

impl TunnelConfig {
    /// Validate.
    pub fn validate(&self) -> Result<()> {
        self.control.validate()?;
        if self.host_name.is_empty() {
            return Err(cfg("host-name", "Host Name AVP must not be empty"));
        }
        if self.hide_avps && self.secret.is_none() {
            return Err(cfg("secret", "hidden AVPs need a tunnel secret"));
        }
        if self.max_sessions == 0 {
            return Err(cfg("max-sessions", "must be at least 1"));
        }
        Ok(())
    }
}

/// `l2tp-proto-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProtoVersion {
    /// L2TPv2 over UDP (default).
    #[default]
    L2tpv2,
    /// L2TPv3 over IP protocol 115.
    L2tpv3Ip,
    /// L2TPv3 over UDP.
    L2tpv3Udp,
}

impl ProtoVersion {
    /// L2TPv3 encapsulation, if v3.
    pub fn v3_encap(self) -> Option<Encap> {
        match self {
            ProtoVersion::L2tpv2 => None,
            ProtoVersion::L2tpv3Ip => Some(Encap::Ip),
            ProtoVersion::L2tpv3Udp => Some(Encap::Udp),
        }
    }
}

/// `use-ipsec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UseIpsec {
    /// No IPsec (default).
    #[default]
    No,
    /// Offer IPsec (the app sets up the dynamic peer).
    Yes,
    /// Server only: accept only L2TP that arrived inside IPsec.
    Require,
}

/// `accept-proto-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AcceptProtoVersion {
    /// Both (default).
    #[default]
    All,
    /// L2TPv2 only.
    L2tpv2,
    /// L2TPv3 only.
    L2tpv3,
}

/// `accept-pseudowire-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AcceptPseudowireType {
    /// Both (default).
    #[default]
    All,
    /// Ethernet only.
    Ether,
    /// PPP only.
    Ppp,
}

/// `caller-id-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CallerIdType {
    /// The LAC's IP address (default).
    #[default]
    IpAddress,
    /// The Calling Number AVP.
    Number,
}

/// `/interface l2tp-client` (S0 L17-69). The PPP part (`user`, `password`, `allow`,
/// `max-mtu`, `max-mru`, `mrru`, `keepalive-timeout`, `profile`, `add-default-route`,
/// `default-route-distance`, `use-peer-dns`, `dial-on-demand`) is [`ppp::ClientSettings`], read
/// by [`crate::ppp_link::L2tpClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// `connect-to`: server address (IPv4 or IPv6), the app resolves and binds.
    pub connect_to: Option<std::net::IpAddr>,
    /// The PPP settings of the menu (L2TP client defaults: max-mtu/mru 1450,
    /// keepalive-timeout 60 s, allow all four methods, profile `default-encryption`).
    pub ppp: ppp::ClientSettings,
    /// `use-ipsec` (no) - application.
    pub use_ipsec: UseIpsec,
    /// `l2tp-proto-version` (l2tpv2). [`crate::ppp_link::L2tpClient`] speaks L2TPv2; the
    /// L2TPv3 values map to [`ClientConfig::managed_v3`].
    pub proto_version: ProtoVersion,
    /// `l2tpv3-cookie-length` (0).
    pub l2tpv3_cookie_length: usize,
    /// `l2tpv3-digest-hash` (md5).
    pub l2tpv3_digest_hash: DigestHash,
    /// `l2tpv3-circuit-id` (Remote End ID AVP).
    pub l2tpv3_circuit_id: Option<String>,
    /// `disabled` (yes) - application.
    pub disabled: bool,
    /// L2TP protocol parameters of the tunnel (host name, tunnel secret, control channel);
    /// not RouterOS properties.
    pub tunnel: TunnelConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_to: None,
            ppp: ppp::ClientSettings::l2tp(),
            use_ipsec: UseIpsec::No,
            proto_version: ProtoVersion::L2tpv2,
            l2tpv3_cookie_length: 0,
            l2tpv3_digest_hash: DigestHash::Md5,
            l2tpv3_circuit_id: None,
            disabled: true,
            tunnel: TunnelConfig::default(),
        }
    }
}

fn ppp_err(e: ppp::ConfigError) -> Error {
    Error::Config {
        field: e.field,
        reason: e.reason,
    }
}

fn check_cookie_len(field: &'static str, n: usize) -> Result<()> {
    if matches!(n, 0 | 4 | 8) {
        Ok(())
    } else {
        Err(Error::Config {
            field,
            reason: format!("must be 0, 4-bytes or 8-bytes, got {n}"),
        })
    }
}

fn check_mtu(field: &'static str, v: u16) -> Result<()> {
    if (64..=65535).contains(&v) {
        Ok(())
    } else {
        Err(Error::Config {
            field,
            reason: format!("{v} below 64"),
        })
    }
}

impl ClientConfig {
    /// Validate (the PPP part through [`ppp::ClientSettings::validate`]).
    pub fn validate(&self) -> Result<()> {
        self.ppp.validate().map_err(ppp_err)?;
        check_cookie_len("l2tpv3-cookie-length", self.l2tpv3_cookie_length)?;
        if self.use_ipsec == UseIpsec::Require {
            return Err(cfg("use-ipsec", "require is a server-only value"));
        }
        if !self.disabled && self.connect_to.is_none() {
            return Err(cfg("connect-to", "required when the client is enabled"));
        }
        if self.ppp.keepalive_timeout.is_zero() {
            return Err(cfg("keepalive-timeout", "must be at least 1 s"));
        }
        self.tunnel.validate()
    }
}

/// `/interface l2tp-server server` (S0 L83-101). The PPP part (`authentication`,
/// `default-profile`, `max-mtu`, `max-mru`, `mrru`, `keepalive-timeout`, `max-sessions`,
/// `one-session-per-host`) is [`ppp::ServerSettings`]: the PPP host of
/// [`crate::ppp_link::PppLns`] reads it, and [`crate::server::Lns`] applies `max-sessions` and
/// `one-session-per-host` to every call (L2TPv2 and L2TPv3).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// `enabled` (no) - application.
    pub enabled: bool,
    /// The PPP settings of the menu (L2TP server defaults: authentication mschap1,mschap2,
    /// default-profile default-encryption, max-mtu/mru 1450, keepalive-timeout 30 s,
    /// max-sessions unlimited, one-session-per-host no).
    pub ppp: ppp::ServerSettings,
    /// `use-ipsec` (no).
    pub use_ipsec: UseIpsec,
    /// `ipsec-secret` (default none): the pre-shared key of the dynamic IPsec peer RouterOS
    /// creates when `use-ipsec` is not `no`. Application: this crate does not run IPsec.
    pub ipsec_secret: Option<String>,
    /// `accept-proto-version` (all).
    pub accept_proto_version: AcceptProtoVersion,
    /// `accept-pseudowire-type` (all).
    pub accept_pseudowire_type: AcceptPseudowireType,
    /// `caller-id-type` (ip-address).
    pub caller_id_type: CallerIdType,
    /// `l2tpv3-circuit-id`: the Remote End ID the LNS's L2TPv3 connections name for their
    /// sessions (empty: none).
    pub l2tpv3_circuit_id: Option<String>,
    /// `l2tpv3-cookie-length` (0).
    pub l2tpv3_cookie_length: usize,
    /// `l2tpv3-digest-hash` (md5).
    pub l2tpv3_digest_hash: DigestHash,
    /// Upper bound of simultaneous tunnels (library safety bound, not a RouterOS property).
    pub max_tunnels: usize,
    /// Most half-open tunnels (an SCCRQ was answered, the peer's SCCCN has not arrived, so
    /// the source address is unproven) held at once (default 2048), L2TPv2 tunnels and
    /// L2TPv3 control connections together. An SCCRQ (either version) beyond it is
    /// dropped ([`crate::DropReason::HalfOpenFull`]). Flood protection, not a RouterOS
    /// property.
    pub max_half_open: usize,
    /// Most half-open tunnels per source (IPv4 address, IPv6 /64) (default 8), L2TPv2 and
    /// L2TPv3 together. An SCCRQ
    /// beyond it is dropped ([`crate::DropReason::HalfOpenPerSource`]). Not a RouterOS
    /// property.
    pub max_half_open_per_source: usize,
    /// A half-open tunnel or L2TPv3 connection is reclaimed this long after its SCCRQ,
    /// silently (default 8 s,
    /// room for the peer's SCCCN retransmissions at 1, 3 and 7 s). Not a RouterOS property.
    pub half_open_timeout: Duration,
    /// Timer retransmissions of SCCRP (or StopCCN) to a peer that has not proven its address
    /// (default 0); a retransmitted SCCRQ from the peer is still answered with one SCCRP, so
    /// a lost SCCRP is recovered by the peer's own timer. A forged SCCRQ thus makes the server
    /// send `1 + half_open_retransmits` packets. RFC 2661 s5.8 (RFC 3931 s4.2 for L2TPv3)
    /// retransmission ([`TunnelConfig::control`]) applies once the tunnel is up. Not a
    /// RouterOS property.
    pub half_open_retransmits: u32,
    /// SCCRQs (L2TPv2 and L2TPv3) accepted per source (IPv4 address, IPv6 /64)
    /// (default 4 per second, bursts of 8); more are dropped
    /// ([`crate::DropReason::SccrqRateLimited`]). Not a RouterOS property.
    pub sccrq_rate_per_source: RateLimit,
    /// SCCRQs accepted from all sources together (default 200 per second, bursts of 200);
    /// more are dropped ([`crate::DropReason::SccrqGlobalRateLimited`]). With the defaults
    /// the half-open table never fills from admitted SCCRQs (200 + 200 x 8 s < 2048).
    /// Not a RouterOS property.
    pub sccrq_rate_global: RateLimit,
}

/// A token-bucket rate: `per_second` sustained, `burst` at once (both at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained messages per second.
    pub per_second: u32,
    /// Messages accepted at once after a quiet period.
    pub burst: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            enabled: false,
            ppp: ppp::ServerSettings::l2tp(),
            use_ipsec: UseIpsec::No,
            ipsec_secret: None,
            accept_proto_version: AcceptProtoVersion::All,
            accept_pseudowire_type: AcceptPseudowireType::All,
            caller_id_type: CallerIdType::IpAddress,
            l2tpv3_circuit_id: None,
            l2tpv3_cookie_length: 0,
            l2tpv3_digest_hash: DigestHash::Md5,
            max_tunnels: 65535,
            max_half_open: 2048,
            max_half_open_per_source: 8,
            half_open_timeout: Duration::from_secs(8),
            half_open_retransmits: 0,
            sccrq_rate_per_source: RateLimit {
                per_second: 4,
                burst: 8,
            },
            sccrq_rate_global: RateLimit {
                per_second: 200,
                burst: 200,
            },
        }
    }
}

impl ServerConfig {
    /// Validate (the PPP part through [`ppp::ServerSettings::validate`]).
    pub fn validate(&self) -> Result<()> {
        self.ppp.validate().map_err(ppp_err)?;
        check_cookie_len("l2tpv3-cookie-length", self.l2tpv3_cookie_length)?;
        if self.max_tunnels == 0 || self.max_tunnels > 65535 {
            return Err(cfg("max-tunnels", "must be 1..=65535"));
        }
        if self.max_half_open == 0 || self.max_half_open_per_source == 0 {
            return Err(cfg(
                "max-half-open",
                "total and per-source limits must be at least 1",
            ));
        }
        if self.half_open_timeout.is_zero() {
            return Err(cfg("half-open-timeout", "must be above 0"));
        }
        for r in [self.sccrq_rate_per_source, self.sccrq_rate_global] {
            if r.per_second == 0 || r.burst == 0 {
                return Err(cfg("sccrq-rate", "per_second and burst must be at least 1"));
            }
        }
        Ok(())
    }
}

fn keyword<T: Copy>(v: &str, field: &'static str, table: &[(&'static str, T)]) -> Result<T> {
    table
        .iter()
        .find(|(k, _)| *k == v)
        .map(|(_, t)| *t)
        .ok_or_else(|| Error::Config {
            field,
            reason: format!(
                "{v:?}: expected one of {}",
                table.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ),
        })
}

fn name_of<T: PartialEq>(t: T, table: &[(&'static str, T)]) -> &'static str {
    table.iter().find(|(_, x)| *x == t).map_or("", |(k, _)| k)
}

const USE_IPSEC: &[(&str, UseIpsec)] = &[
    ("no", UseIpsec::No),
    ("yes", UseIpsec::Yes),
    ("required", UseIpsec::Require),
];
const ACCEPT_PROTO: &[(&str, AcceptProtoVersion)] = &[
    ("all", AcceptProtoVersion::All),
    ("l2tpv2", AcceptProtoVersion::L2tpv2),
    ("l2tpv3", AcceptProtoVersion::L2tpv3),
];
const ACCEPT_PW: &[(&str, AcceptPseudowireType)] = &[
    ("all", AcceptPseudowireType::All),
    ("ether", AcceptPseudowireType::Ether),
    ("ppp", AcceptPseudowireType::Ppp),
];
const CALLER_ID: &[(&str, CallerIdType)] = &[
    ("ip-address", CallerIdType::IpAddress),
    ("number", CallerIdType::Number),
];
const DIGEST: &[(&str, DigestHash)] = &[
    ("none", DigestHash::None),
    ("md5", DigestHash::Md5),
    ("sha1", DigestHash::Sha1),
];

const PROTO_VERSION: &[(&str, ProtoVersion)] = &[
    ("l2tpv2", ProtoVersion::L2tpv2),
    ("l2tpv3-ip", ProtoVersion::L2tpv3Ip),
    ("l2tpv3-udp", ProtoVersion::L2tpv3Udp),
];
const CLIENT_USE_IPSEC: &[(&str, UseIpsec)] = &[("no", UseIpsec::No), ("yes", UseIpsec::Yes)];
const PEER_DNS: &[(&str, ppp::UsePeerDns)] = &[
    ("no", ppp::UsePeerDns::No),
    ("yes", ppp::UsePeerDns::Yes),
    ("exclusively", ppp::UsePeerDns::Exclusively),
];

impl ClientConfig {
    /// Apply `/interface l2tp-client add` (or `set`) properties in order: `connect-to` (an
    /// IPv4 or IPv6 address), `disabled`, `use-ipsec` (`no`/`yes`), `l2tp-proto-version`
    /// (`l2tpv2`/`l2tpv3-ip`/`l2tpv3-udp`), `l2tpv3-cookie-length`, `l2tpv3-digest-hash`,
    /// `l2tpv3-circuit-id`, and the PPP ones of [`ppp::ClientSettings`]: `user`, `password`,
    /// `profile`, `allow`, `max-mtu`, `max-mru`, `mrru`, `keepalive-timeout`,
    /// `add-default-route`, `default-route-distance`, `use-peer-dns`, `dial-on-demand`. A bad
    /// value is an [`Error::Config`] naming the property; the names of properties not
    /// implemented here are returned in order (among them `name` and `ipsec-secret`, which
    /// belong to the program: the interface name and the IPsec layer).
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>> {
        let mut unknown = Vec::new();
        let yes_no = |v: &str, f: &'static str| ppp::props::parse_yes_no(v, f).map_err(ppp_err);
        let number = |v: &str, f: &'static str| {
            v.parse::<u16>()
                .map_err(|_| cfg(f, &format!("{v:?}: expected a number")))
        };
        for &(k, v) in props {
            match k {
                "connect-to" => {
                    self.connect_to = Some(v.parse().map_err(|_| {
                        cfg("connect-to", &format!("{v:?}: expected an IP address"))
                    })?)
                }
                "disabled" => self.disabled = yes_no(v, "disabled")?,
                "use-ipsec" => self.use_ipsec = keyword(v, "use-ipsec", CLIENT_USE_IPSEC)?,
                "l2tp-proto-version" => {
                    self.proto_version = keyword(v, "l2tp-proto-version", PROTO_VERSION)?
                }
                "l2tpv3-cookie-length" => {
                    let n = v.strip_suffix("-bytes").unwrap_or(v);
                    self.l2tpv3_cookie_length = n.parse().map_err(|_| {
                        cfg(
                            "l2tpv3-cookie-length",
                            &format!("{v:?}: expected 0, 4-bytes or 8-bytes"),
                        )
                    })?;
                }
                "l2tpv3-digest-hash" => {
                    self.l2tpv3_digest_hash = keyword(v, "l2tpv3-digest-hash", DIGEST)?
                }
                "l2tpv3-circuit-id" => {
                    self.l2tpv3_circuit_id = (!v.is_empty()).then(|| v.to_string())
                }
                "user" => self.ppp.user = v.to_string(),
                "password" => self.ppp.password = v.to_string(),
                "profile" => self.ppp.profile = v.to_string(),
                "allow" => {
                    self.ppp.allow = ppp::AuthSet::parse(v)
                        .map_err(|e| cfg("allow", &format!("{v:?}: {}", e.reason)))?
                }
                "max-mtu" => self.ppp.max_mtu = number(v, "max-mtu")?,
                "max-mru" => self.ppp.max_mru = number(v, "max-mru")?,
                "mrru" => {
                    self.ppp.mrru = match v {
                        "disabled" => None,
                        _ => Some(number(v, "mrru")?),
                    }
                }
                "keepalive-timeout" => {
                    self.ppp.keepalive_timeout =
                        ppp::props::parse_time(v, "keepalive-timeout").map_err(ppp_err)?
                }
                "add-default-route" => self.ppp.add_default_route = yes_no(v, "add-default-route")?,
                "default-route-distance" => {
                    self.ppp.default_route_distance = match v {
                        "" => None,
                        _ => Some(v.parse().map_err(|_| {
                            cfg("default-route-distance", &format!("{v:?}: expected 0..255"))
                        })?),
                    }
                }
                "use-peer-dns" => self.ppp.use_peer_dns = keyword(v, "use-peer-dns", PEER_DNS)?,
                "dial-on-demand" => self.ppp.dial_on_demand = yes_no(v, "dial-on-demand")?,
                _ => unknown.push(k.to_string()),
            }
        }
        Ok(unknown)
    }

    /// The configuration of an `/interface l2tp-client add ...` line (RouterOS defaults,
    /// then [`apply_props`](Self::apply_props)), validated.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>)> {
        let mut c = ClientConfig::default();
        let unknown = c.apply_props(props)?;
        c.validate()?;
        Ok((c, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`: `connect-to`,
    /// `user`, `password` when set, and the others that differ from the RouterOS defaults
    /// (the tunnel knobs of [`TunnelConfig`] are not RouterOS properties and are not
    /// written).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ClientConfig::default();
        let mut v = Vec::new();
        if let Some(a) = self.connect_to {
            v.push(("connect-to", a.to_string()));
        }
        if !self.ppp.user.is_empty() {
            v.push(("user", self.ppp.user.clone()));
        }
        if !self.ppp.password.is_empty() {
            v.push(("password", self.ppp.password.clone()));
        }
        if self.ppp.profile != d.ppp.profile {
            v.push(("profile", self.ppp.profile.clone()));
        }
        if self.ppp.allow != d.ppp.allow {
            v.push(("allow", self.ppp.allow.to_string()));
        }
        if self.ppp.max_mtu != d.ppp.max_mtu {
            v.push(("max-mtu", self.ppp.max_mtu.to_string()));
        }
        if self.ppp.max_mru != d.ppp.max_mru {
            v.push(("max-mru", self.ppp.max_mru.to_string()));
        }
        if self.ppp.mrru != d.ppp.mrru {
            v.push((
                "mrru",
                self.ppp.mrru.map_or("disabled".into(), |m| m.to_string()),
            ));
        }
        if self.ppp.keepalive_timeout != d.ppp.keepalive_timeout {
            v.push((
                "keepalive-timeout",
                ppp::props::format_time(self.ppp.keepalive_timeout),
            ));
        }
        if self.ppp.add_default_route != d.ppp.add_default_route {
            v.push((
                "add-default-route",
                ppp::props::yes_no(self.ppp.add_default_route).into(),
            ));
        }
        if self.ppp.default_route_distance != d.ppp.default_route_distance {
            v.push((
                "default-route-distance",
                self.ppp
                    .default_route_distance
                    .map_or(String::new(), |x| x.to_string()),
            ));
        }
        if self.ppp.use_peer_dns != d.ppp.use_peer_dns {
            v.push((
                "use-peer-dns",
                name_of(self.ppp.use_peer_dns, PEER_DNS).into(),
            ));
        }
        if self.ppp.dial_on_demand != d.ppp.dial_on_demand {
            v.push((
                "dial-on-demand",
                ppp::props::yes_no(self.ppp.dial_on_demand).into(),
            ));
        }
        if self.use_ipsec != d.use_ipsec {
            v.push((
                "use-ipsec",
                name_of(self.use_ipsec, CLIENT_USE_IPSEC).into(),
            ));
        }
        if self.proto_version != d.proto_version {
            v.push((
                "l2tp-proto-version",
                name_of(self.proto_version, PROTO_VERSION).into(),
            ));
        }
        if self.l2tpv3_cookie_length != d.l2tpv3_cookie_length {
            v.push((
                "l2tpv3-cookie-length",
                format!("{}-bytes", self.l2tpv3_cookie_length),
            ));
        }
        if self.l2tpv3_digest_hash != d.l2tpv3_digest_hash {
            v.push((
                "l2tpv3-digest-hash",
                name_of(self.l2tpv3_digest_hash, DIGEST).into(),
            ));
        }
        if let Some(c) = &self.l2tpv3_circuit_id {
            v.push(("l2tpv3-circuit-id", c.clone()));
        }
        if self.disabled != d.disabled {
            v.push(("disabled", ppp::props::yes_no(self.disabled).into()));
        }
        v
    }
}

impl ServerConfig {
    /// Apply `/interface l2tp-server server set` properties in order: `enabled`, `use-ipsec`
    /// (`no`/`yes`/`required`), `ipsec-secret`, `accept-proto-version`
    /// (`all`/`l2tpv2`/`l2tpv3`), `accept-pseudowire-type` (`all`/`ether`/`ppp`),
    /// `caller-id-type` (`ip-address`/`number`), `l2tpv3-circuit-id`, `l2tpv3-cookie-length`
    /// (`0`, `4-bytes`, `8-bytes`), `l2tpv3-digest-hash` (`none`/`md5`/`sha1`), and the PPP
    /// ones through [`ppp::ServerSettings::set_prop`] (`authentication`, `default-profile`,
    /// `max-mtu`, `max-mru`, `mrru`, `keepalive-timeout`, `max-sessions`,
    /// `one-session-per-host`). A bad value is an [`Error::Config`] naming the property; the
    /// names of properties not implemented (`allow-fast-path`, ...) are returned in order.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "enabled" => {
                    self.enabled = ppp::props::parse_yes_no(v, "enabled").map_err(ppp_err)?
                }
                "use-ipsec" => self.use_ipsec = keyword(v, "use-ipsec", USE_IPSEC)?,
                "ipsec-secret" => self.ipsec_secret = (!v.is_empty()).then(|| v.to_string()),
                "accept-proto-version" => {
                    self.accept_proto_version = keyword(v, "accept-proto-version", ACCEPT_PROTO)?
                }
                "accept-pseudowire-type" => {
                    self.accept_pseudowire_type = keyword(v, "accept-pseudowire-type", ACCEPT_PW)?
                }
                "caller-id-type" => self.caller_id_type = keyword(v, "caller-id-type", CALLER_ID)?,
                "l2tpv3-circuit-id" => {
                    self.l2tpv3_circuit_id = (!v.is_empty()).then(|| v.to_string())
                }
                "l2tpv3-cookie-length" => {
                    let n = v.strip_suffix("-bytes").unwrap_or(v);
                    self.l2tpv3_cookie_length = n.parse().map_err(|_| Error::Config {
                        field: "l2tpv3-cookie-length",
                        reason: format!("{v:?}: expected 0, 4-bytes or 8-bytes"),
                    })?;
                }
                "l2tpv3-digest-hash" => {
                    self.l2tpv3_digest_hash = keyword(v, "l2tpv3-digest-hash", DIGEST)?
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

    /// The configuration of `/interface l2tp-server server set ...` lines (RouterOS defaults,
    /// then [`apply_props`](Self::apply_props)), validated.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>)> {
        let mut c = ServerConfig::default();
        let unknown = c.apply_props(props)?;
        c.validate()?;
        Ok((c, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`: those that
    /// differ from the RouterOS defaults (the library-only bounds such as `max_tunnels` and
    /// [`ppp::ServerSettings::link`] are not RouterOS properties and are not written).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = ServerConfig::default();
        let mut v = Vec::new();
        if self.enabled != d.enabled {
            v.push(("enabled", ppp::props::yes_no(self.enabled).to_string()));
        }
        v.extend(self.ppp.to_props(&d.ppp));
        if self.use_ipsec != d.use_ipsec {
            v.push(("use-ipsec", name_of(self.use_ipsec, USE_IPSEC).into()));
        }
        if let Some(s) = &self.ipsec_secret {
            v.push(("ipsec-secret", s.clone()));
        }
        if self.accept_proto_version != d.accept_proto_version {
            v.push((
                "accept-proto-version",
                name_of(self.accept_proto_version, ACCEPT_PROTO).into(),
            ));
        }
        if self.accept_pseudowire_type != d.accept_pseudowire_type {
            v.push((
                "accept-pseudowire-type",
                name_of(self.accept_pseudowire_type, ACCEPT_PW).into(),
            ));
        }
        if self.caller_id_type != d.caller_id_type {
            v.push((
                "caller-id-type",
                name_of(self.caller_id_type, CALLER_ID).into(),
            ));
        }
        if let Some(c) = &self.l2tpv3_circuit_id {
            v.push(("l2tpv3-circuit-id", c.clone()));
        }
        if self.l2tpv3_cookie_length != d.l2tpv3_cookie_length {
            v.push((
                "l2tpv3-cookie-length",
                format!("{}-bytes", self.l2tpv3_cookie_length),
            ));
        }
        if self.l2tpv3_digest_hash != d.l2tpv3_digest_hash {
            v.push((
                "l2tpv3-digest-hash",
                name_of(self.l2tpv3_digest_hash, DIGEST).into(),
            ));
        }
        v
    }
}

/// `/interface l2tp-ether` (S0 L119-161).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtherConfig {
    /// `connect-to`.
    pub connect_to: Option<std::net::IpAddr>,
    /// `mtu` (1420).
    pub mtu: u16,
    /// `mac-address` (auto = `None`; see [`crate::ether::auto_mac`]).
    pub mac_address: Option<[u8; 6]>,
    /// `unmanaged-mode` (no).
    pub unmanaged_mode: bool,
    /// `local-tunnel-id` (unmanaged mode).
    pub local_tunnel_id: Option<u32>,
    /// `local-session-id` (unmanaged mode).
    pub local_session_id: Option<u32>,
    /// `remote-tunnel-id` (unmanaged mode).
    pub remote_tunnel_id: Option<u32>,
    /// `remote-session-id` (unmanaged mode).
    pub remote_session_id: Option<u32>,
    /// `send-cookie` (8 or 16 hex characters).
    pub send_cookie: Option<String>,
    /// `peer-cookie` (8 or 16 hex characters).
    pub peer_cookie: Option<String>,
    /// `l2tp-proto-version` (l2tpv3-udp).
    pub l2tp_proto_version: ProtoVersion,
    /// `cookie-length` (0).
    pub cookie_length: usize,
    /// `digest-hash` (md5).
    pub digest_hash: DigestHash,
    /// `use-l2-specific-sublayer` (no).
    pub use_l2_specific_sublayer: bool,
    /// `circuit-id`.
    pub circuit_id: Option<String>,
    /// `disabled` (yes).
    pub disabled: bool,
}

impl Default for EtherConfig {
    fn default() -> Self {
        EtherConfig {
            connect_to: None,
            mtu: 1420,
            mac_address: None,
            unmanaged_mode: false,
            local_tunnel_id: None,
            local_session_id: None,
            remote_tunnel_id: None,
            remote_session_id: None,
            send_cookie: None,
            peer_cookie: None,
            l2tp_proto_version: ProtoVersion::L2tpv3Udp,
            cookie_length: 0,
            digest_hash: DigestHash::Md5,
            use_l2_specific_sublayer: false,
            circuit_id: None,
            disabled: true,
        }
    }
}

impl EtherConfig {
    /// Apply `/interface l2tp-ether add` (or `set`) properties in order: `connect-to` (an IP
    /// address), `mtu`, `mac-address` (`auto` or `XX:XX:XX:XX:XX:XX`), `unmanaged-mode`,
    /// `local-tunnel-id`, `local-session-id`, `remote-tunnel-id`, `remote-session-id`,
    /// `send-cookie`, `peer-cookie` (hex; empty = none), `l2tp-proto-version`
    /// (`l2tpv3-ip`/`l2tpv3-udp`), `cookie-length` (`0`, `4-bytes`, `8-bytes`), `digest-hash`
    /// (`none`/`md5`/`sha1`), `use-l2-specific-sublayer`, `circuit-id`, `disabled`. A bad
    /// value is an [`Error::Config`] naming the property and its allowed values; the names
    /// of properties not implemented here (`name`, `comment`, ...) are returned in order.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>> {
        let mut unknown = Vec::new();
        let yes_no = |v: &str, f: &'static str| ppp::props::parse_yes_no(v, f).map_err(ppp_err);
        let id = |v: &str, f: &'static str| -> Result<Option<u32>> {
            match v {
                "" => Ok(None),
                _ => v
                    .parse()
                    .map(Some)
                    .map_err(|_| cfg(f, &format!("{v:?}: expected 0..4294967295"))),
            }
        };
        let text = |v: &str| (!v.is_empty()).then(|| v.to_string());
        for &(k, v) in props {
            match k {
                "connect-to" => {
                    self.connect_to = match v {
                        "" => None,
                        _ => Some(v.parse().map_err(|_| {
                            cfg("connect-to", &format!("{v:?}: expected an IP address"))
                        })?),
                    }
                }
                "mtu" => {
                    self.mtu = v
                        .parse()
                        .map_err(|_| cfg("mtu", &format!("{v:?}: expected a number")))?
                }
                "mac-address" => {
                    self.mac_address = match v {
                        "auto" | "" => None,
                        _ => {
                            let parts: Vec<&str> = v.split([':', '-']).collect();
                            let mut mac = [0u8; 6];
                            if parts.len() != 6 {
                                return Err(cfg(
                                    "mac-address",
                                    &format!("{v:?}: expected auto or XX:XX:XX:XX:XX:XX"),
                                ));
                            }
                            for (m, p) in mac.iter_mut().zip(&parts) {
                                *m = u8::from_str_radix(p, 16).map_err(|_| {
                                    cfg(
                                        "mac-address",
                                        &format!("{v:?}: expected auto or XX:XX:XX:XX:XX:XX"),
                                    )
                                })?;
                            }
                            Some(mac)
                        }
                    }
                }
                "unmanaged-mode" => self.unmanaged_mode = yes_no(v, "unmanaged-mode")?,
                "local-tunnel-id" => self.local_tunnel_id = id(v, "local-tunnel-id")?,
                "local-session-id" => self.local_session_id = id(v, "local-session-id")?,
                "remote-tunnel-id" => self.remote_tunnel_id = id(v, "remote-tunnel-id")?,
                "remote-session-id" => self.remote_session_id = id(v, "remote-session-id")?,
                "send-cookie" => self.send_cookie = text(v),
                "peer-cookie" => self.peer_cookie = text(v),
                "l2tp-proto-version" => {
                    self.l2tp_proto_version = keyword(v, "l2tp-proto-version", &PROTO_VERSION[1..])?
                }
                "cookie-length" => {
                    let n = v.strip_suffix("-bytes").unwrap_or(v);
                    self.cookie_length = n.parse().map_err(|_| {
                        cfg(
                            "cookie-length",
                            &format!("{v:?}: expected 0, 4-bytes or 8-bytes"),
                        )
                    })?;
                }
                "digest-hash" => self.digest_hash = keyword(v, "digest-hash", DIGEST)?,
                "use-l2-specific-sublayer" => {
                    self.use_l2_specific_sublayer = yes_no(v, "use-l2-specific-sublayer")?
                }
                "circuit-id" => self.circuit_id = text(v),
                "disabled" => self.disabled = yes_no(v, "disabled")?,
                _ => unknown.push(k.to_string()),
            }
        }
        Ok(unknown)
    }

    /// The configuration of an `/interface l2tp-ether add ...` line (RouterOS defaults, then
    /// [`apply_props`](Self::apply_props)), validated.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>)> {
        let mut c = EtherConfig::default();
        let unknown = c.apply_props(props)?;
        c.validate()?;
        Ok((c, unknown))
    }

    /// The properties [`from_props`](Self::from_props) reads back to `self`: those that
    /// differ from the RouterOS defaults.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = EtherConfig::default();
        let mut v = Vec::new();
        if let Some(a) = self.connect_to {
            v.push(("connect-to", a.to_string()));
        }
        if self.mtu != d.mtu {
            v.push(("mtu", self.mtu.to_string()));
        }
        if let Some(m) = self.mac_address {
            let hex: Vec<String> = m.iter().map(|b| format!("{b:02X}")).collect();
            v.push(("mac-address", hex.join(":")));
        }
        if self.unmanaged_mode {
            v.push(("unmanaged-mode", "yes".into()));
        }
        for (k, x) in [
            ("local-tunnel-id", self.local_tunnel_id),
            ("local-session-id", self.local_session_id),
            ("remote-tunnel-id", self.remote_tunnel_id),
            ("remote-session-id", self.remote_session_id),
        ] {
            if let Some(x) = x {
                v.push((k, x.to_string()));
            }
        }
        for (k, x) in [
            ("send-cookie", &self.send_cookie),
            ("peer-cookie", &self.peer_cookie),
            ("circuit-id", &self.circuit_id),
        ] {
            if let Some(x) = x {
                v.push((k, x.clone()));
            }
        }
        if self.l2tp_proto_version != d.l2tp_proto_version {
            v.push((
                "l2tp-proto-version",
                name_of(self.l2tp_proto_version, PROTO_VERSION).into(),
            ));
        }
        if self.cookie_length != d.cookie_length {
            v.push(("cookie-length", format!("{}-bytes", self.cookie_length)));
        }
        if self.digest_hash != d.digest_hash {
            v.push(("digest-hash", name_of(self.digest_hash, DIGEST).into()));
        }
        if self.use_l2_specific_sublayer {
            v.push(("use-l2-specific-sublayer", "yes".into()));
        }
        if self.disabled != d.disabled {
            v.push(("disabled", ppp::props::yes_no(self.disabled).into()));
        }
        v
    }
}

impl EtherConfig {
    /// Validate.
    pub fn validate(&self) -> Result<()> {
        check_mtu("mtu", self.mtu)?;
        check_cookie_len("cookie-length", self.cookie_length)?;
        if self.l2tp_proto_version == ProtoVersion::L2tpv2 {
            return Err(cfg(
                "l2tp-proto-version",
                "l2tp-ether needs l2tpv3-ip or l2tpv3-udp",
            ));
        }
        if let Some(c) = &self.send_cookie {
            Cookie::from_hex(c, "send-cookie")?;
        }
        if let Some(c) = &self.peer_cookie {
            Cookie::from_hex(c, "peer-cookie")?;
        }
        if self.unmanaged_mode {
            for (name, v) in [
                ("local-session-id", self.local_session_id),
                ("remote-session-id", self.remote_session_id),
            ] {
                match v {
                    None => return Err(cfg(name, "an integer required in unmanaged mode")),
                    Some(0) => return Err(cfg(name, "0 is reserved (marks control messages)")),
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

impl EtherConfig {
    /// The managed L2TPv3 configuration of this `l2tp-ether` interface (an Ethernet
    /// pseudowire): `l2tp-proto-version` -> encapsulation, `cookie-length`, `digest-hash`,
    /// `use-l2-specific-sublayer`, `circuit-id` -> Remote End ID. `secret` is the tunnel
    /// secret (`/ppp l2tp-secret`). Refused in `unmanaged-mode` (use
    /// [`crate::ether::StaticEther`]).
    pub fn managed_v3(&self, secret: Option<Vec<u8>>) -> Result<crate::v3::V3Config> {
        self.validate()?;
        if self.unmanaged_mode {
            return Err(cfg(
                "unmanaged-mode",
                "a managed L2TPv3 connection needs unmanaged-mode=no",
            ));
        }
        let encap = self
            .l2tp_proto_version
            .v3_encap()
            .ok_or_else(|| cfg("l2tp-proto-version", "l2tpv3-ip or l2tpv3-udp"))?;
        Ok(crate::v3::V3Config {
            encap,
            secret,
            digest: self.digest_hash,
            pw_type: crate::v3::PW_ETHERNET,
            cookie_len: u8::try_from(self.cookie_length).unwrap_or(0),
            l2_sublayer: self.use_l2_specific_sublayer,
            remote_end_id: self
                .circuit_id
                .as_ref()
                .map(|c| c.as_bytes().to_vec())
                .unwrap_or_default(),
            ..crate::v3::V3Config::default()
        })
    }
}

impl ClientConfig {
    /// The managed L2TPv3 configuration of this `l2tp-client` when `l2tp-proto-version` is
    /// `l2tpv3-ip` or `l2tpv3-udp` (a PPP pseudowire): `l2tpv3-cookie-length`,
    /// `l2tpv3-digest-hash`, `l2tpv3-circuit-id` -> Remote End ID; `secret` is the tunnel
    /// secret. An error for `l2tpv2`.
    pub fn managed_v3(&self, secret: Option<Vec<u8>>) -> Result<crate::v3::V3Config> {
        check_cookie_len("l2tpv3-cookie-length", self.l2tpv3_cookie_length)?;
        let encap = self.proto_version.v3_encap().ok_or_else(|| {
            cfg(
                "l2tp-proto-version",
                "l2tpv3-ip or l2tpv3-udp for an L2TPv3 pseudowire",
            )
        })?;
        Ok(crate::v3::V3Config {
            encap,
            secret,
            digest: self.l2tpv3_digest_hash,
            pw_type: crate::v3::PW_PPP,
            cookie_len: u8::try_from(self.l2tpv3_cookie_length).unwrap_or(0),
            remote_end_id: self
                .l2tpv3_circuit_id
                .as_ref()
                .map(|c| c.as_bytes().to_vec())
                .unwrap_or_default(),
            ..crate::v3::V3Config::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routeros_ether_and_client_map_to_managed_v3() {
        let e = EtherConfig {
            l2tp_proto_version: ProtoVersion::L2tpv3Ip,
            cookie_length: 8,
            digest_hash: DigestHash::Sha1,
            use_l2_specific_sublayer: true,
            circuit_id: Some("pw-7".into()),
            ..EtherConfig::default()
        };
        let v = e.managed_v3(Some(b"k".to_vec())).unwrap();
        assert_eq!(v.encap, Encap::Ip);
        assert_eq!(
            (v.cookie_len, v.digest, v.l2_sublayer, v.pw_type),
            (8, DigestHash::Sha1, true, crate::v3::PW_ETHERNET)
        );
        assert_eq!(v.remote_end_id, b"pw-7");
        assert_eq!(v.secret.as_deref(), Some(&b"k"[..]));
        // defaults: l2tpv3-udp, no cookie, md5, no sublayer, no circuit id
        let d = EtherConfig::default().managed_v3(None).unwrap();
        assert_eq!(
            (d.encap, d.cookie_len, d.digest, d.l2_sublayer),
            (Encap::Udp, 0, DigestHash::Md5, false)
        );
        assert!(d.remote_end_id.is_empty());
        let un = EtherConfig {
            unmanaged_mode: true,
            local_session_id: Some(1),
            remote_session_id: Some(2),
            ..EtherConfig::default()
        };
        assert!(matches!(
            un.managed_v3(None),
            Err(Error::Config {
                field: "unmanaged-mode",
                ..
            })
        ));
        let c = ClientConfig {
            proto_version: ProtoVersion::L2tpv3Udp,
            l2tpv3_cookie_length: 4,
            l2tpv3_circuit_id: Some("c1".into()),
            ..ClientConfig::default()
        };
        let v = c.managed_v3(None).unwrap();
        assert_eq!(
            (v.encap, v.cookie_len, v.pw_type),
            (Encap::Udp, 4, crate::v3::PW_PPP)
        );
        assert_eq!(v.remote_end_id, b"c1");
        assert!(matches!(
            ClientConfig::default().managed_v3(None),
            Err(Error::Config {
                field: "l2tp-proto-version",
                ..
            })
        ));
    }

    #[test]
    fn routeros_defaults() {
        let c = ClientConfig::default();
        assert_eq!(
            (c.ppp.max_mtu, c.ppp.max_mru, c.ppp.mrru),
            (1450, 1450, None)
        );
        assert_eq!(c.ppp.keepalive_timeout, Duration::from_secs(60));
        assert_eq!(c.use_ipsec, UseIpsec::No);
        assert_eq!(c.proto_version, ProtoVersion::L2tpv2);
        assert_eq!(c.l2tpv3_digest_hash, DigestHash::Md5);
        assert_eq!(c.ppp.allow, ppp::AuthSet::ALL);
        assert_eq!(c.ppp.allow.to_string(), "pap,chap,mschap1,mschap2");
        let s = ServerConfig::default();
        assert_eq!(s.ppp.keepalive_timeout, Duration::from_secs(30));
        assert_eq!(s.ppp.max_sessions, None);
        assert_eq!(s.caller_id_type, CallerIdType::IpAddress);
        assert!(!s.ppp.one_session_per_host);
        assert_eq!((s.ppp.max_mtu, s.ppp.max_mru), (1450, 1450));
        assert_eq!(s.ppp.authentication, ppp::AuthSet::MSCHAP);
        assert_eq!(s.ppp.default_profile, "default-encryption");
        let e = EtherConfig::default();
        assert_eq!(e.mtu, 1420);
        assert_eq!(e.l2tp_proto_version, ProtoVersion::L2tpv3Udp);
        assert_eq!(e.cookie_length, 0);
        assert!(!e.use_l2_specific_sublayer);
        c.validate().unwrap();
        s.validate().unwrap();
        e.validate().unwrap();
        TunnelConfig::default().validate().unwrap();
    }

    #[test]
    fn flood_protection_defaults_and_validation() {
        let s = ServerConfig::default();
        assert_eq!(
            (
                s.max_half_open,
                s.max_half_open_per_source,
                s.half_open_retransmits
            ),
            (2048, 8, 0)
        );
        assert_eq!(s.half_open_timeout, Duration::from_secs(8));
        assert_eq!(
            (
                s.sccrq_rate_per_source.per_second,
                s.sccrq_rate_per_source.burst
            ),
            (4, 8)
        );
        assert_eq!(
            (s.sccrq_rate_global.per_second, s.sccrq_rate_global.burst),
            (200, 200)
        );
        // admitted SCCRQs alone never fill the half-open table with the defaults
        let most = u64::from(s.sccrq_rate_global.burst)
            + u64::from(s.sccrq_rate_global.per_second) * s.half_open_timeout.as_secs();
        assert!(most < s.max_half_open as u64);
        let bad = [
            (
                ServerConfig {
                    max_half_open: 0,
                    ..Default::default()
                },
                "max-half-open",
            ),
            (
                ServerConfig {
                    max_half_open_per_source: 0,
                    ..Default::default()
                },
                "max-half-open",
            ),
            (
                ServerConfig {
                    half_open_timeout: Duration::ZERO,
                    ..Default::default()
                },
                "half-open-timeout",
            ),
            (
                ServerConfig {
                    sccrq_rate_global: RateLimit {
                        per_second: 0,
                        burst: 1,
                    },
                    ..Default::default()
                },
                "sccrq-rate",
            ),
            (
                ServerConfig {
                    sccrq_rate_per_source: RateLimit {
                        per_second: 1,
                        burst: 0,
                    },
                    ..Default::default()
                },
                "sccrq-rate",
            ),
        ];
        for (c, field) in bad {
            assert!(
                matches!(c.validate(), Err(Error::Config { field: f, .. }) if f == field),
                "{field}"
            );
        }
    }

    #[test]
    fn validation_names_field() {
        let e = EtherConfig {
            send_cookie: Some("abc".into()),
            ..Default::default()
        };
        assert!(matches!(
            e.validate(),
            Err(Error::Config {
                field: "send-cookie",
                ..
            })
        ));
        let e = EtherConfig {
            unmanaged_mode: true,
            local_session_id: Some(1),
            ..Default::default()
        };
        assert!(matches!(
            e.validate(),
            Err(Error::Config {
                field: "remote-session-id",
                ..
            })
        ));
        let c = ClientConfig {
            l2tpv3_cookie_length: 3,
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "l2tpv3-cookie-length",
                ..
            })
        ));
        let c = ClientConfig {
            disabled: false,
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::Config {
                field: "connect-to",
                ..
            })
        ));
        let s = ServerConfig {
            ppp: ppp::ServerSettings {
                max_sessions: Some(0),
                ..ppp::ServerSettings::l2tp()
            },
            ..Default::default()
        };
        assert!(matches!(
            s.validate(),
            Err(Error::Config {
                field: "max-sessions",
                ..
            })
        ));
        let t = TunnelConfig {
            hide_avps: true,
            ..Default::default()
        };
        assert!(matches!(
            t.validate(),
            Err(Error::Config {
                field: "secret",
                ..
            })
        ));
    }

    #[test]
    fn client_props_round_trip_and_name_the_property() {
        // Seed 000 L17-69 style: `add connect-to=... user= password= profile= use-ipsec=
        // ipsec-secret= disabled=no`.
        let (c, unknown) = ClientConfig::from_props(&[
            ("name", "l2tp-out1"),
            ("connect-to", "192.168.62.2"),
            ("user", "MT-User"),
            ("password", "StrongPass"),
            ("profile", "default-encryption"),
            ("use-ipsec", "yes"),
            ("ipsec-secret", "mySecret"),
            ("disabled", "no"),
        ])
        .unwrap();
        assert_eq!(c.connect_to, Some("192.168.62.2".parse().unwrap()));
        assert_eq!(
            (c.ppp.user.as_str(), c.ppp.password.as_str()),
            ("MT-User", "StrongPass")
        );
        assert_eq!(c.use_ipsec, UseIpsec::Yes);
        assert!(!c.disabled);
        assert_eq!(unknown, ["name", "ipsec-secret"]);
        let mut c2 = c.clone();
        c2.apply_props(&[
            ("allow", "mschap2"),
            ("max-mtu", "1400"),
            ("keepalive-timeout", "30s"),
            ("add-default-route", "yes"),
            ("default-route-distance", "5"),
            ("use-peer-dns", "exclusively"),
            ("dial-on-demand", "yes"),
            ("l2tp-proto-version", "l2tpv3-udp"),
            ("l2tpv3-digest-hash", "sha1"),
            ("l2tpv3-cookie-length", "4-bytes"),
        ])
        .unwrap();
        let props = c2.to_props();
        let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(ClientConfig::from_props(&refs).unwrap().0, c2);
        for (k, v) in [
            ("connect-to", "vpn.example"),
            ("use-ipsec", "required"),
            ("allow", "telnet"),
            ("max-mtu", "big"),
            ("use-peer-dns", "maybe"),
            ("disabled", "perhaps"),
            ("l2tp-proto-version", "l2tpv4"),
        ] {
            match ClientConfig::from_props(&[("connect-to", "10.0.0.1"), (k, v)]).unwrap_err() {
                Error::Config { field, .. } => assert_eq!(field, k),
                e => panic!("{e:?}"),
            }
        }
    }
}
