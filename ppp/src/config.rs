//! Session configuration with RouterOS defaults.
//!
//! Each field names the RouterOS property it mirrors. The transport crates start from one of
//! the per-service constructors ([`Config::l2tp_client`], [`Config::pppoe_server`], ...) that
//! carry the defaults of that menu (spec section 2), then adjust.

use crate::error::ConfigError;
use crate::fsm::Timers;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Which end of the link this session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Dials out, authenticates itself (`allow` set), takes the address the server assigns.
    Client,
    /// Answers, authenticates the peer (`authentication` set), assigns addresses.
    Server,
}

/// An authentication method as RouterOS names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthMethod {
    /// PAP (RFC 1334), `pap`.
    Pap,
    /// CHAP with MD5 (RFC 1994), `chap`.
    Chap,
    /// MS-CHAPv1 (RFC 2433), `mschap1`.
    MsChap1,
    /// MS-CHAPv2 (RFC 2759), `mschap2`.
    MsChap2,
    /// EAP (RFC 3748) with Identity, MD5-Challenge or EAP-MSCHAPv2 inside.
    Eap,
}

impl AuthMethod {
    /// The RouterOS keyword (`pap`, `chap`, `mschap1`, `mschap2`, `eap`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Pap => "pap",
            AuthMethod::Chap => "chap",
            AuthMethod::MsChap1 => "mschap1",
            AuthMethod::MsChap2 => "mschap2",
            AuthMethod::Eap => "eap",
        }
    }

    /// Parse a RouterOS keyword.
    pub fn from_keyword(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "pap" => AuthMethod::Pap,
            "chap" => AuthMethod::Chap,
            "mschap1" => AuthMethod::MsChap1,
            "mschap2" => AuthMethod::MsChap2,
            "eap" => AuthMethod::Eap,
            _ => return None,
        })
    }

    /// The LCP Authentication-Protocol option value: protocol number and data (CHAP algorithm).
    pub fn lcp_option(self) -> (u16, &'static [u8]) {
        match self {
            AuthMethod::Pap => (crate::wire::protocol::PAP, &[]),
            AuthMethod::Chap => (crate::wire::protocol::CHAP, &[0x05]),
            AuthMethod::MsChap1 => (crate::wire::protocol::CHAP, &[0x80]),
            AuthMethod::MsChap2 => (crate::wire::protocol::CHAP, &[0x81]),
            AuthMethod::Eap => (crate::wire::protocol::EAP, &[]),
        }
    }

    /// The method an LCP Authentication-Protocol option names, if supported.
    pub fn from_lcp_option(protocol: u16, data: &[u8]) -> Option<Self> {
        match (protocol, data) {
            (crate::wire::protocol::PAP, []) => Some(AuthMethod::Pap),
            (crate::wire::protocol::CHAP, [0x05]) => Some(AuthMethod::Chap),
            (crate::wire::protocol::CHAP, [0x80]) => Some(AuthMethod::MsChap1),
            (crate::wire::protocol::CHAP, [0x81]) => Some(AuthMethod::MsChap2),
            (crate::wire::protocol::EAP, []) => Some(AuthMethod::Eap),
            _ => None,
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of authentication methods (RouterOS `allow` / `authentication`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AuthSet(u8);

impl AuthSet {
    /// The empty set.
    pub const NONE: AuthSet = AuthSet(0);
    /// pap, chap, mschap1, mschap2 (RouterOS "all"; PPPoE server and client `allow` default).
    pub const ALL: AuthSet = AuthSet(0b01111);
    /// mschap1, mschap2 (L2TP and PPTP server `authentication` default, S0 L83, L873).
    pub const MSCHAP: AuthSet = AuthSet(0b01100);

    fn bit(m: AuthMethod) -> u8 {
        1 << (m as u8)
    }

    /// A set from a list of methods.
    pub fn of(methods: &[AuthMethod]) -> Self {
        AuthSet(methods.iter().fold(0, |a, &m| a | Self::bit(m)))
    }

    /// Membership.
    pub fn contains(self, m: AuthMethod) -> bool {
        self.0 & Self::bit(m) != 0
    }

    /// Add a method.
    pub fn insert(&mut self, m: AuthMethod) {
        self.0 |= Self::bit(m);
    }

    /// True if empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parse RouterOS syntax: `pap,chap,mschap1,mschap2` (and `eap`).
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        let mut set = AuthSet::NONE;
        for w in s.split(',').filter(|w| !w.trim().is_empty()) {
            let m = AuthMethod::from_keyword(w).ok_or_else(|| ConfigError {
                field: "allow/authentication",
                reason: format!("unknown method `{}`", w.trim()),
            })?;
            set.insert(m);
        }
        Ok(set)
    }
}

impl fmt::Display for AuthSet {
    /// RouterOS print order: `pap,chap,mschap1,mschap2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for m in [
            AuthMethod::Pap,
            AuthMethod::Chap,
            AuthMethod::MsChap1,
            AuthMethod::MsChap2,
            AuthMethod::Eap,
        ] {
            if self.contains(m) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(m.as_str())?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Keepalive policies documented by RouterOS (spec item 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepalivePolicy {
    /// L2TP/PPTP/SSTP: after `keepalive-timeout` with nothing received, five LCP Echo-Requests
    /// one second apart; each unanswered one is a "LCP missed echo reply"
    /// ([`crate::Event::KeepaliveMissed`], one second after it was sent); the link is dropped
    /// when the fifth goes unanswered (timeout + 5 s).
    FiveProbes,
    /// PPPoE server (and old PPTP): after `keepalive-timeout`, one Echo-Request per second; the
    /// link is dropped when nothing arrived for 2 x `keepalive-timeout`.
    TwiceTimeout,
}

/// RouterOS `use-peer-dns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsePeerDns {
    /// `no`: do not request DNS servers.
    No,
    /// `yes`: request RFC 1877 DNS options and report them.
    Yes,
    /// `exclusively`: request them; the application uses only these (policy is the app's).
    Exclusively,
}

/// The service a session runs under (`/ppp secret service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Any service (`any`).
    Any,
    /// L2TP.
    L2tp,
    /// PPTP.
    Pptp,
    /// PPPoE.
    Pppoe,
    /// SSTP.
    Sstp,
    /// OpenVPN.
    Ovpn,
    /// Async serial line (async HDLC framing).
    Serial,
}

impl Service {
    /// RouterOS keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Any => "any",
            Service::L2tp => "l2tp",
            Service::Pptp => "pptp",
            Service::Pppoe => "pppoe",
            Service::Sstp => "sstp",
            Service::Ovpn => "ovpn",
            Service::Serial => "async",
        }
    }
}

/// Interoperability switches (each one tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quirks {
    /// Do not request Magic-Number at all (some peers Config-Reject it; the session also stops
    /// requesting it on its own when rejected).
    pub no_magic_number: bool,
    /// Accept an MS-CHAPv2 Success without a valid `S=` authenticator response. Violates
    /// RFC 2759 s5 (the session MUST end); only for broken servers. Default off.
    pub accept_missing_authenticator_response: bool,
}

/// Which MPPE key lengths and mode a session offers and accepts in CCP option 18 (RFC 3078
/// s2). RouterOS has no separate property for these: its `use-encryption=yes` negotiates
/// "MPPE128 stateless", which is the default here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MppeSettings {
    /// Allow 128-bit keys (S bit). Default `true`.
    pub allow_128: bool,
    /// Allow 56-bit keys (M bit). Default `true` (used only when the peer cannot do 128).
    pub allow_56: bool,
    /// Allow 40-bit keys (L bit). Default `true` (used only when the peer cannot do more).
    pub allow_40: bool,
    /// Request stateless mode (H bit: a key change on every packet). Default `true`
    /// (RouterOS prints "MPPE128 stateless"). `false` requests stateful mode, where a lost
    /// packet costs a CCP Reset-Request round trip.
    pub stateless: bool,
}

impl Default for MppeSettings {
    fn default() -> Self {
        MppeSettings {
            allow_128: true,
            allow_56: true,
            allow_40: true,
            stateless: true,
        }
    }
}

/// Configuration of one PPP session.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `user`: the name this side authenticates with (client) or sends in CHAP challenges
    /// (server, as the system identity).
    pub user: String,
    /// `password` (client).
    pub password: String,
    /// Name the authenticator puts in CHAP Challenge packets (RouterOS uses its identity).
    pub local_name: String,
    /// `allow`: methods a client accepts (default mschap2, mschap1, chap, pap).
    pub allow: AuthSet,
    /// `authentication`: methods a server offers. Empty: no authentication.
    pub authentication: AuthSet,
    /// Server preference order when proposing a method (default mschap2 > mschap1 > chap > pap
    /// > eap); methods not in `authentication` are skipped.
    pub auth_preference: Vec<AuthMethod>,
    /// `max-mru`: the largest MRU requested and accepted.
    pub max_mru: u16,
    /// `max-mtu`: upper bound of the MTU used towards the peer (min of this and peer MRU).
    pub max_mtu: u16,
    /// `mrru` (default `disabled` = `None`; 512..65535): Multilink (RFC 1990). When set, LCP
    /// requests MRRU (option 17) with this value plus an Endpoint-Discriminator (19) and
    /// accepts the peer's MRRU (Windows sends 1614); once both MRRUs are agreed, datagrams
    /// larger than the link MTU, up to the peer's MRRU, go out as MP fragments and
    /// [`Session::mtu`](crate::Session::mtu) reports the MRRU. When `None`, a peer's MRRU is
    /// Config-Rejected (the peer then runs without MP).
    pub mrru: Option<u16>,
    /// Ask the peer for the Short-Sequence-Number-Header-Format (LCP option 18, 12-bit MP
    /// sequence numbers) when `mrru` is set. No RouterOS property (RouterOS uses the long
    /// format); default `false`. A peer's request for it is always accepted with MP on.
    pub mp_short_sequence: bool,
    /// The Endpoint-Discriminator address (class 1, locally assigned, RFC 1990 s5.1.3) sent
    /// with `mrru`. Member links of one multilink bundle ([`mp::Bundle`](crate::mp::Bundle))
    /// must all send the same one: give them the same value. No RouterOS property (RouterOS
    /// derives its own); default `None` = four random octets per session.
    pub mp_endpoint_discriminator: Option<[u8; 4]>,
    /// `keepalive-timeout`; zero disables keepalive disconnects.
    pub keepalive_timeout: Duration,
    /// Which RouterOS keepalive rule applies.
    pub keepalive_policy: KeepalivePolicy,
    /// `use-peer-dns` (client).
    pub use_peer_dns: UsePeerDns,
    /// Client: also request RFC 1877 NBNS (WINS) servers, options 130 and 132, and report
    /// them in [`Ipv4Info::nbns`](crate::Ipv4Info::nbns). No RouterOS property (RouterOS
    /// clients do not ask for NBNS); default `false`.
    pub request_nbns: bool,
    /// Run IPCP.
    pub ipv4: bool,
    /// Run IPv6CP (otherwise IPv6CP packets are Protocol-Rejected).
    pub ipv6: bool,
    /// `bridge` of the `/ppp profile` the session runs under (default none). `Some(name)`:
    /// BCP (RFC 3518, see [`crate::bcp`]) is negotiated after authentication next to
    /// IPCP/IPv6CP, [`Event::BridgeUp`](crate::Event::BridgeUp) reports it (with this name,
    /// for the application, which adds the link to that bridge as a port), and Ethernet
    /// frames pass with [`Session::send_ethernet`](crate::Session::send_ethernet) /
    /// [`Input::Bridged`](crate::Input::Bridged). `None`: BCP and bridged frames are
    /// Protocol-Rejected (RFC 1661 s5.7). With a bridge, IPCP and IPv6CP may both be off.
    pub bridge: Option<String>,
    /// ACCM to request (async HDLC links: `Some(0)`); `None`: do not negotiate ACCM and reject
    /// a peer's ACCM option (PPPoE, RFC 2516 s7; other packet transports).
    pub accm: Option<u32>,
    /// Request Protocol-Field-Compression (we are willing to receive compressed protocol fields).
    pub request_pfc: bool,
    /// Request Address-and-Control-Field-Compression.
    pub request_acfc: bool,
    /// Frames sent carry `FF 03` (L2TP, PPTP, SSTP, serial: yes; PPPoE: no). Incoming frames
    /// are accepted either way.
    pub address_control: bool,
    /// Restart timer and Max-Configure/Terminate/Failure (RFC 1661 defaults 3 s, 10, 2, 5).
    pub timers: Timers,
    /// Authentication attempts a server allows (MS-CHAP `R=1` retries); 1 = no retry.
    pub auth_attempts: u32,
    /// Seconds a server waits for the peer to authenticate, and the PAP retransmit budget of a
    /// client (retransmits every `timers.restart`).
    pub auth_timeout: Duration,
    /// On authentication or IPCP failure, a server restarts LCP instead of ending the session
    /// (S0 L554 "the LCP negotiation establishment phase is started again"). Default false.
    pub restart_lcp_on_failure: bool,
    /// The service name the session runs under (`/ppp secret service`).
    pub service: Service,
    /// Server: `local-address` of the profile (used if the verdict gives none).
    pub local_address: Option<Ipv4Addr>,
    /// Server: `remote-address` of the profile (used if the verdict gives none).
    pub remote_address: Option<Ipv4Addr>,
    /// Server: `dns-server` offered through RFC 1877 (up to two).
    pub dns_servers: Vec<Ipv4Addr>,
    /// Server: `wins-server` of the profile, offered as RFC 1877 NBNS options 130/132 (up to
    /// two; default empty = those options are rejected).
    pub nbns_servers: Vec<Ipv4Addr>,
    /// Client: address to request (default 0.0.0.0 = "assign me one").
    pub requested_address: Ipv4Addr,
    /// IPv6CP interface identifier to propose (`None`: random).
    pub interface_id: Option<[u8; 8]>,
    /// `use-encryption` of the `/ppp profile` the session runs under (default `default`):
    /// * `no`: CCP is Protocol-Rejected; the session never encrypts.
    /// * `default`: passive. This side starts no CCP, but when the peer starts CCP after an
    ///   MS-CHAP login, MPPE is negotiated (what a Windows client asks for).
    /// * `yes`: after an MS-CHAP (v1, v2 or EAP-MSCHAPv2) login, CCP is opened and MPPE
    ///   negotiated; if the peer refuses, or the login used PAP/CHAP (no keys), the session
    ///   runs unencrypted.
    /// * `required`: as `yes`, but a refusal or a login without MS-CHAP ends the session
    ///   with [`TerminateReason::EncryptionRequired`](crate::TerminateReason::EncryptionRequired);
    ///   no IP datagram is sent or accepted in clear.
    ///
    /// While CCP is negotiating, datagrams are held back (`encapsulate` returns
    /// [`Error::NotOpen`](crate::Error::NotOpen)) so nothing leaves in clear by accident.
    pub use_encryption: crate::aaa::UseEncryption,
    /// MPPE key lengths and mode (not RouterOS properties; default: all lengths, 128-bit
    /// preferred, stateless).
    pub mppe: MppeSettings,
    /// Interop switches.
    pub quirks: Quirks,
}

impl Default for Config {
    /// The L2TP client defaults (max-mtu/mru 1450, keepalive-timeout 60 s, five-probe policy).
    fn default() -> Self {
        Config {
            user: String::new(),
            password: String::new(),
            local_name: "MikroTik".into(),
            allow: AuthSet::ALL,
            authentication: AuthSet::MSCHAP,
            auth_preference: vec![
                AuthMethod::MsChap2,
                AuthMethod::MsChap1,
                AuthMethod::Chap,
                AuthMethod::Pap,
                AuthMethod::Eap,
            ],
            max_mru: 1450,
            max_mtu: 1450,
            mrru: None,
            mp_short_sequence: false,
            mp_endpoint_discriminator: None,
            keepalive_timeout: Duration::from_secs(60),
            keepalive_policy: KeepalivePolicy::FiveProbes,
            use_peer_dns: UsePeerDns::No,
            request_nbns: false,
            ipv4: true,
            ipv6: false,
            bridge: None,
            accm: None,
            request_pfc: false,
            request_acfc: false,
            address_control: true,
            timers: Timers::default(),
            auth_attempts: 1,
            auth_timeout: Duration::from_secs(30),
            restart_lcp_on_failure: false,
            service: Service::Any,
            local_address: None,
            remote_address: None,
            dns_servers: Vec::new(),
            nbns_servers: Vec::new(),
            requested_address: Ipv4Addr::UNSPECIFIED,
            interface_id: None,
            use_encryption: crate::aaa::UseEncryption::Default,
            mppe: MppeSettings::default(),
            quirks: Quirks::default(),
        }
    }
}

impl Config {
    /// `/interface l2tp-client` defaults (S0 L18-37).
    pub fn l2tp_client() -> Self {
        Config {
            service: Service::L2tp,
            ..Config::default()
        }
    }

    /// `/interface l2tp-server server` defaults: authentication mschap1,mschap2, keepalive 30 s,
    /// mtu/mru 1450 (S0 L83-88).
    pub fn l2tp_server() -> Self {
        Config {
            service: Service::L2tp,
            authentication: AuthSet::MSCHAP,
            keepalive_timeout: Duration::from_secs(30),
            ..Config::default()
        }
    }

    /// `/interface pptp-client` defaults (S0 L848-861).
    pub fn pptp_client() -> Self {
        Config {
            service: Service::Pptp,
            ..Config::default()
        }
    }

    /// `/interface pptp-server server` defaults (S0 L873-879).
    pub fn pptp_server() -> Self {
        Config {
            service: Service::Pptp,
            authentication: AuthSet::MSCHAP,
            keepalive_timeout: Duration::from_secs(30),
            ..Config::default()
        }
    }

    /// `/interface pppoe-client` defaults: mtu/mru 1460, keepalive 60 s, no FF03 (S0 L568-582).
    pub fn pppoe_client() -> Self {
        Config {
            service: Service::Pppoe,
            max_mru: 1460,
            max_mtu: 1460,
            address_control: false,
            ..Config::default()
        }
    }

    /// `/interface pppoe-server` defaults: all four methods, keepalive 10 s with the
    /// 2 x timeout rule, mtu/mru 1480, no FF03 (S0 L629-634).
    pub fn pppoe_server() -> Self {
        Config {
            service: Service::Pppoe,
            authentication: AuthSet::ALL,
            keepalive_timeout: Duration::from_secs(10),
            keepalive_policy: KeepalivePolicy::TwiceTimeout,
            max_mru: 1480,
            max_mtu: 1480,
            address_control: false,
            ..Config::default()
        }
    }

    /// `/interface sstp-client` defaults (mtu/mru 1460, keepalive 60 s, all methods).
    pub fn sstp_client() -> Self {
        Config {
            service: Service::Sstp,
            max_mru: 1460,
            max_mtu: 1460,
            ..Config::default()
        }
    }

    /// `/interface sstp-server server` defaults (authentication "all", keepalive 60 s).
    pub fn sstp_server() -> Self {
        Config {
            service: Service::Sstp,
            authentication: AuthSet::ALL,
            max_mru: 1460,
            max_mtu: 1460,
            ..Config::default()
        }
    }

    /// PPP over an async serial line or pty (RFC 1662 framing): requests ACCM 0, MRU 1500.
    pub fn serial() -> Self {
        Config {
            service: Service::Serial,
            max_mru: 1500,
            max_mtu: 1500,
            accm: Some(0),
            ..Config::default()
        }
    }

    /// Check every field; the error names the RouterOS property.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_string(),
            })
        };
        if !(64..=65535).contains(&self.max_mru) {
            return err("max-mru", "must be 64..65535");
        }
        if self.service == Service::Pppoe && (self.max_mru > 1492 || self.max_mtu > 1492) {
            return err(
                "max-mru/max-mtu",
                "PPPoE allows at most 1492 without RFC 4638",
            );
        }
        if self.max_mtu < 64 {
            return err("max-mtu", "must be at least 64");
        }
        if let Some(m) = self.mrru {
            if !(512..=65535).contains(&m) {
                return err("mrru", "must be disabled or 512..65535");
            }
        }
        if self.timers.restart.is_zero() {
            return err("restart-timer", "must be non-zero");
        }
        if self.timers.max_configure == 0 || self.timers.max_terminate == 0 {
            return err("max-configure/max-terminate", "must be at least 1");
        }
        if self.auth_attempts == 0 {
            return err("auth-attempts", "must be at least 1");
        }
        if self.dns_servers.len() > 2 {
            return err("dns-server", "at most two servers");
        }
        if self.nbns_servers.len() > 2 {
            return err("wins-server", "at most two servers");
        }
        if self.user.len() > 255 || self.password.len() > 255 {
            return err("user/password", "at most 255 octets");
        }
        let m = &self.mppe;
        if self.use_encryption != crate::aaa::UseEncryption::No
            && !(m.allow_128 || m.allow_56 || m.allow_40)
        {
            return err(
                "mppe",
                "at least one MPPE key length when use-encryption is not no",
            );
        }
        if !self.ipv4 && !self.ipv6 && self.bridge.is_none() {
            return err("ipv4/ipv6", "at least one network protocol must be enabled");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authset_print_and_parse() {
        assert_eq!(AuthSet::ALL.to_string(), "pap,chap,mschap1,mschap2");
        assert_eq!(AuthSet::MSCHAP.to_string(), "mschap1,mschap2");
        assert_eq!(
            AuthSet::parse("mschap2, pap").unwrap(),
            AuthSet::of(&[AuthMethod::Pap, AuthMethod::MsChap2])
        );
        assert_eq!(
            AuthSet::parse("foo").unwrap_err().field,
            "allow/authentication"
        );
    }

    #[test]
    fn defaults_and_validation() {
        let s = Config::pppoe_server();
        assert_eq!((s.max_mru, s.keepalive_timeout.as_secs()), (1480, 10));
        assert_eq!(s.keepalive_policy, KeepalivePolicy::TwiceTimeout);
        assert_eq!(Config::l2tp_server().authentication, AuthSet::MSCHAP);
        assert!(Config::default().validate().is_ok());
        let bad = Config {
            mrru: Some(100),
            ..Config::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "mrru");
        let bad = Config {
            max_mru: 10,
            ..Config::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "max-mru");
        let pppoe = Config {
            max_mru: 1500,
            ..Config::pppoe_client()
        };
        assert_eq!(pppoe.validate().unwrap_err().field, "max-mru/max-mtu");
        let wins = Config {
            nbns_servers: vec![Ipv4Addr::LOCALHOST; 3],
            ..Config::l2tp_server()
        };
        assert_eq!(wins.validate().unwrap_err().field, "wins-server");
        assert!(!Config::default().request_nbns && Config::default().nbns_servers.is_empty());
        // use-encryption other than `no` needs at least one MPPE key length.
        let none = MppeSettings {
            allow_128: false,
            allow_56: false,
            allow_40: false,
            stateless: true,
        };
        let bad = Config {
            mppe: none,
            ..Config::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "mppe");
        let ok = Config {
            mppe: none,
            use_encryption: crate::aaa::UseEncryption::No,
            ..Config::default()
        };
        assert!(ok.validate().is_ok());
        assert_eq!(
            Config::default().use_encryption,
            crate::aaa::UseEncryption::Default
        );
        assert_eq!(Config::default().mppe, MppeSettings::default());
    }
}
