//! The RouterOS PPP settings block: the PPP part that every `/interface <x>-server server` and
//! `/interface <x>-client` menu repeats (L2TP, PPTP, PPPoE, SSTP), as two plain structs.
//!
//! They are the only source of truth for these properties: the transport crates embed them
//! (`l2tp::config::ServerConfig::ppp`, and pppoe/pptp/sstp the same way), the
//! [`host`](crate::host) reads them, and [`ServerSettings::to_config`] /
//! [`ClientSettings::to_config`] turn them into the per-link [`Config`]. Each field names its
//! RouterOS property; each has a test that observes its effect on the wire or in an event
//! (`tests/host.rs`).
//!
//! | property | server | client | where it acts |
//! |---|---|---|---|
//! | `authentication` | yes | | LCP Authentication-Protocol the server proposes |
//! | `allow` | | yes | methods the client accepts (Naks others) |
//! | `default-profile` | yes | | profile of a user whose secret/verdict names none |
//! | `profile` | | yes | reported in [`ClientEvent::Up`](crate::host::ClientEvent::Up) |
//! | `max-mtu` / `max-mru` | yes | yes | LCP MRU requested; MTU cap of the data path |
//! | `mrru` | yes | yes | Multilink (RFC 1990) MRRU; `disabled` or 512..65535 |
//! | `keepalive-timeout` | yes | yes | LCP echo policy of the service |
//! | `max-sessions` | yes | | [`host::Server::open`](crate::host::Server::open) refuses |
//! | `one-session-per-host` | yes | | a new session from the same host ends the old one |
//! | `user` / `password` | | yes | credentials |
//! | `add-default-route`, `default-route-distance` | | yes | [`ClientEvent::Up`](crate::host::ClientEvent::Up) |
//! | `use-peer-dns` (`yes`/`no`/`exclusively`) | | yes | RFC 1877 request; `Up` event |
//! | `dial-on-demand` | | yes | [`host::Client`](crate::host::Client) dials on demand only |
//! | `use-encryption` (of the profile) | | yes | CCP/MPPE after MS-CHAP ([`Config::use_encryption`]); servers take it from the user's `/ppp profile` |
//! | `bridge` (of the profile) | | | BCP (RFC 3518) and bridged Ethernet ([`Config::bridge`]); clients set it on the link's [`Config`]; servers take it from the user's `/ppp profile` ([`UserAttributes::bridge`](crate::UserAttributes::bridge)) |

use crate::aaa::UseEncryption;
use crate::config::{
    AuthMethod, AuthSet, Config, KeepalivePolicy, MppeSettings, Quirks, Service, UsePeerDns,
};
use crate::error::ConfigError;
use crate::fsm::Timers;
use std::time::Duration;

/// The per-service defaults of a menu (`role`: server or client side).
fn menu_config(service: Service, server: bool) -> Config {
    let base = match (service, server) {
        (Service::Pppoe, true) => Config::pppoe_server(),
        (Service::Pptp, true) => Config::pptp_server(),
        (Service::Sstp, true) => Config::sstp_server(),
        (_, true) => Config::l2tp_server(),
        (Service::Pppoe, false) => Config::pppoe_client(),
        (Service::Pptp, false) => Config::pptp_client(),
        (Service::Sstp, false) => Config::sstp_client(),
        (_, false) => Config::l2tp_client(),
    };
    Config { service, ..base }
}

fn err(field: &'static str, reason: &str) -> Result<(), ConfigError> {
    Err(ConfigError {
        field,
        reason: reason.into(),
    })
}

/// Protocol knobs that are not RouterOS properties (each one a [`Config`] field with its own
/// documentation and tests). The defaults are RouterOS behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkOptions {
    /// Run IPCP ([`Config::ipv4`]).
    pub ipv4: bool,
    /// Run IPv6CP ([`Config::ipv6`]).
    pub ipv6: bool,
    /// Restart timer and counters ([`Config::timers`]).
    pub timers: Timers,
    /// Server: authentication attempts ([`Config::auth_attempts`]).
    pub auth_attempts: u32,
    /// Authentication time budget ([`Config::auth_timeout`]).
    pub auth_timeout: Duration,
    /// Server: restart LCP instead of ending on failure ([`Config::restart_lcp_on_failure`]).
    pub restart_lcp_on_failure: bool,
    /// Server: the name in CHAP challenges, the router's identity ([`Config::local_name`]).
    pub local_name: String,
    /// Client: also request NBNS servers ([`Config::request_nbns`]).
    pub request_nbns: bool,
    /// Server: order in which methods of `authentication` are proposed
    /// ([`Config::auth_preference`]; default mschap2, mschap1, chap, pap, eap).
    pub auth_preference: Vec<AuthMethod>,
    /// Interop switches ([`Config::quirks`]).
    pub quirks: Quirks,
    /// MPPE key lengths and mode offered in CCP ([`Config::mppe`]; default all lengths,
    /// stateless, as RouterOS, which has no property for it). Stateful mode is for peers
    /// that ask for it and for tests.
    pub mppe: MppeSettings,
}

impl Default for LinkOptions {
    fn default() -> Self {
        let c = Config::default();
        LinkOptions {
            ipv4: c.ipv4,
            ipv6: c.ipv6,
            timers: c.timers,
            auth_attempts: c.auth_attempts,
            auth_timeout: c.auth_timeout,
            restart_lcp_on_failure: c.restart_lcp_on_failure,
            local_name: c.local_name,
            request_nbns: c.request_nbns,
            auth_preference: c.auth_preference,
            quirks: c.quirks,
            mppe: c.mppe,
        }
    }
}

impl LinkOptions {
    fn apply(&self, c: &mut Config) {
        c.ipv4 = self.ipv4;
        c.ipv6 = self.ipv6;
        c.timers = self.timers;
        c.auth_attempts = self.auth_attempts;
        c.auth_timeout = self.auth_timeout;
        c.restart_lcp_on_failure = self.restart_lcp_on_failure;
        c.local_name = self.local_name.clone();
        c.request_nbns = self.request_nbns;
        c.auth_preference = self.auth_preference.clone();
        c.quirks = self.quirks;
        c.mppe = self.mppe;
    }
}

/// The PPP part of `/interface <x>-server server` (L2TP S0 L83-101, PPTP S0 L873-879,
/// PPPoE S0 L629-637, SSTP S0 L973-983).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    /// Which menu this is; selects the framing (PPPoE sends no `FF 03`) and the keepalive rule
    /// (PPPoE: 2 x timeout; the others: five probes). Not a property itself.
    pub service: Service,
    /// `authentication`: methods the server offers (L2TP/PPTP `mschap1,mschap2`; PPPoE and
    /// SSTP all four).
    pub authentication: AuthSet,
    /// `default-profile`: the `/ppp profile` of a user whose secret or external verdict names
    /// none (L2TP/PPTP `default-encryption`, PPPoE/SSTP `default`).
    pub default_profile: String,
    /// `max-mtu`: upper bound of the MTU towards the client.
    pub max_mtu: u16,
    /// `max-mru`: the MRU requested in LCP.
    pub max_mru: u16,
    /// `mrru`: `None` = `disabled` (default), else 512..65535: Multilink (RFC 1990), see
    /// [`Config::mrru`](crate::Config::mrru).
    pub mrru: Option<u16>,
    /// `keepalive-timeout` (L2TP/PPTP 30 s, PPPoE 10 s, SSTP 60 s); zero disables.
    pub keepalive_timeout: Duration,
    /// `max-sessions`: `None` = `unlimited`.
    pub max_sessions: Option<usize>,
    /// `one-session-per-host`: a new session from a host (caller-id) that already has one
    /// closes the old one.
    pub one_session_per_host: bool,
    /// Non-RouterOS protocol knobs.
    pub link: LinkOptions,
}

impl ServerSettings {
    fn menu(service: Service) -> Self {
        let c = menu_config(service, true);
        ServerSettings {
            service,
            authentication: c.authentication,
            default_profile: match service {
                Service::L2tp | Service::Pptp => "default-encryption".into(),
                _ => "default".into(),
            },
            max_mtu: c.max_mtu,
            max_mru: c.max_mru,
            mrru: None,
            keepalive_timeout: c.keepalive_timeout,
            max_sessions: None,
            one_session_per_host: false,
            link: LinkOptions::default(),
        }
    }

    /// `/interface l2tp-server server` defaults.
    pub fn l2tp() -> Self {
        Self::menu(Service::L2tp)
    }
    /// `/interface pptp-server server` defaults.
    pub fn pptp() -> Self {
        Self::menu(Service::Pptp)
    }
    /// `/interface pppoe-server server` defaults.
    pub fn pppoe() -> Self {
        Self::menu(Service::Pppoe)
    }
    /// `/interface sstp-server server` defaults.
    pub fn sstp() -> Self {
        Self::menu(Service::Sstp)
    }

    /// Check every field; the error names the RouterOS property.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.authentication == AuthSet::NONE {
            return err("authentication", "at least one method");
        }
        if self.max_sessions == Some(0) {
            return err("max-sessions", "must be at least 1 or unlimited");
        }
        if self.default_profile.is_empty() {
            return err("default-profile", "must name a profile");
        }
        self.to_config_unchecked().validate()
    }

    fn to_config_unchecked(&self) -> Config {
        let mut c = menu_config(self.service, true);
        c.authentication = self.authentication;
        c.max_mtu = self.max_mtu;
        c.max_mru = self.max_mru;
        c.mrru = self.mrru;
        c.keepalive_timeout = self.keepalive_timeout;
        self.link.apply(&mut c);
        c
    }

    /// The per-session [`Config`] of a server session (validated).
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        self.validate()?;
        Ok(self.to_config_unchecked())
    }
}

/// The PPP part of `/interface <x>-client` (L2TP S0 L17-37, PPTP S0 L848-861, PPPoE
/// S0 L568-582, SSTP S0 L945-970).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSettings {
    /// Which menu this is (framing and keepalive rule); not a property itself.
    pub service: Service,
    /// `user`.
    pub user: String,
    /// `password`.
    pub password: String,
    /// `allow`: methods the client accepts (default `mschap2,mschap1,chap,pap`).
    pub allow: AuthSet,
    /// `profile` (L2TP/PPTP `default-encryption`, PPPoE/SSTP `default`): reported in the
    /// client's up event.
    pub profile: String,
    /// `use-encryption` of that profile (`no`, `yes`, `required`, `default`; default
    /// `default` = passive MPPE, see [`Config::use_encryption`]). RouterOS's
    /// `default-encryption` profile says `yes`: set it to get "MPPE128 stateless".
    pub use_encryption: UseEncryption,
    /// `max-mtu` (L2TP/PPTP 1450, PPPoE/SSTP 1460).
    pub max_mtu: u16,
    /// `max-mru` (L2TP/PPTP 1450, PPPoE/SSTP 1460).
    pub max_mru: u16,
    /// `mrru`: `None` = `disabled` (default), else 512..65535: Multilink (RFC 1990), see
    /// [`Config::mrru`](crate::Config::mrru).
    pub mrru: Option<u16>,
    /// `keepalive-timeout` (60 s).
    pub keepalive_timeout: Duration,
    /// `add-default-route` (no).
    pub add_default_route: bool,
    /// `default-route-distance` (L2TP/SSTP empty, PPPoE/PPTP 1); used with
    /// `add-default-route`.
    pub default_route_distance: Option<u8>,
    /// `use-peer-dns` (`no`, `yes`, `exclusively`).
    pub use_peer_dns: UsePeerDns,
    /// `dial-on-demand` (no): dial only when traffic waits
    /// ([`Client::demand`](crate::host::Client::demand)).
    pub dial_on_demand: bool,
    /// Seconds between a disconnect and the next dial (not a RouterOS property; RouterOS
    /// redials after a short pause). Default 10 s.
    pub redial_delay: Duration,
    /// Non-RouterOS protocol knobs.
    pub link: LinkOptions,
}

impl ClientSettings {
    fn menu(service: Service) -> Self {
        let c = menu_config(service, false);
        ClientSettings {
            service,
            user: String::new(),
            password: String::new(),
            allow: c.allow,
            profile: match service {
                Service::L2tp | Service::Pptp => "default-encryption".into(),
                _ => "default".into(),
            },
            use_encryption: UseEncryption::Default,
            max_mtu: c.max_mtu,
            max_mru: c.max_mru,
            mrru: None,
            keepalive_timeout: c.keepalive_timeout,
            add_default_route: false,
            default_route_distance: match service {
                Service::Pppoe | Service::Pptp => Some(1),
                _ => None,
            },
            use_peer_dns: UsePeerDns::No,
            dial_on_demand: false,
            redial_delay: Duration::from_secs(10),
            link: LinkOptions::default(),
        }
    }

    /// `/interface l2tp-client` defaults.
    pub fn l2tp() -> Self {
        Self::menu(Service::L2tp)
    }
    /// `/interface pptp-client` defaults.
    pub fn pptp() -> Self {
        Self::menu(Service::Pptp)
    }
    /// `/interface pppoe-client` defaults.
    pub fn pppoe() -> Self {
        Self::menu(Service::Pppoe)
    }
    /// `/interface sstp-client` defaults.
    pub fn sstp() -> Self {
        Self::menu(Service::Sstp)
    }

    /// Check every field; the error names the RouterOS property.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.allow == AuthSet::NONE {
            return err("allow", "at least one method");
        }
        if self.redial_delay.is_zero() {
            return err("redial-delay", "must be non-zero");
        }
        self.to_config_unchecked().validate()
    }

    fn to_config_unchecked(&self) -> Config {
        let mut c = menu_config(self.service, false);
        c.user = self.user.clone();
        c.password = self.password.clone();
        c.allow = self.allow;
        c.max_mtu = self.max_mtu;
        c.max_mru = self.max_mru;
        c.mrru = self.mrru;
        c.keepalive_timeout = self.keepalive_timeout;
        c.use_peer_dns = self.use_peer_dns;
        c.use_encryption = self.use_encryption;
        self.link.apply(&mut c);
        c
    }

    /// The [`Config`] of the client session (validated).
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        self.validate()?;
        Ok(self.to_config_unchecked())
    }
}

/// The keepalive rule each service uses (spec item 11); part of [`Config`].
pub fn keepalive_policy(service: Service) -> KeepalivePolicy {
    match service {
        Service::Pppoe => KeepalivePolicy::TwiceTimeout,
        _ => KeepalivePolicy::FiveProbes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menus_carry_routeros_defaults() {
        let s = ServerSettings::l2tp();
        assert_eq!(s.authentication, AuthSet::MSCHAP);
        assert_eq!(s.default_profile, "default-encryption");
        assert_eq!((s.max_mtu, s.max_mru, s.mrru), (1450, 1450, None));
        assert_eq!(s.keepalive_timeout, Duration::from_secs(30));
        assert_eq!((s.max_sessions, s.one_session_per_host), (None, false));
        let p = ServerSettings::pppoe();
        assert_eq!(p.authentication, AuthSet::ALL);
        assert_eq!(p.default_profile, "default");
        assert_eq!(p.keepalive_timeout, Duration::from_secs(10));
        let pc = p.to_config().unwrap();
        assert_eq!(pc.keepalive_policy, KeepalivePolicy::TwiceTimeout);
        assert!(!pc.address_control);
        assert_eq!(keepalive_policy(Service::Pppoe), pc.keepalive_policy);
        let c = ClientSettings::l2tp();
        assert_eq!(c.allow, AuthSet::ALL);
        assert_eq!(c.profile, "default-encryption");
        assert_eq!((c.max_mtu, c.max_mru), (1450, 1450));
        assert_eq!(c.keepalive_timeout, Duration::from_secs(60));
        assert_eq!(c.default_route_distance, None);
        assert_eq!(ClientSettings::pppoe().default_route_distance, Some(1));
        assert_eq!(ClientSettings::pppoe().max_mtu, 1460);
        assert_eq!(ClientSettings::sstp().profile, "default");
    }

    #[test]
    fn validation_names_the_property() {
        let ok = ServerSettings {
            mrru: Some(1614),
            ..ServerSettings::l2tp()
        };
        assert_eq!(ok.to_config().unwrap().mrru, Some(1614));
        let bad = ServerSettings {
            mrru: Some(511),
            ..ServerSettings::l2tp()
        };
        assert_eq!(bad.validate().unwrap_err().field, "mrru");
        let bad = ServerSettings {
            max_sessions: Some(0),
            ..ServerSettings::l2tp()
        };
        assert_eq!(bad.validate().unwrap_err().field, "max-sessions");
        let bad = ServerSettings {
            authentication: AuthSet::NONE,
            ..ServerSettings::l2tp()
        };
        assert_eq!(bad.validate().unwrap_err().field, "authentication");
        let bad = ServerSettings {
            max_mru: 10,
            ..ServerSettings::l2tp()
        };
        assert_eq!(bad.validate().unwrap_err().field, "max-mru");
        let req = ClientSettings {
            use_encryption: UseEncryption::Required,
            ..ClientSettings::l2tp()
        };
        assert_eq!(
            req.to_config().unwrap().use_encryption,
            UseEncryption::Required
        );
        let ok = ClientSettings {
            mrru: Some(1600),
            ..ClientSettings::l2tp()
        };
        assert_eq!(ok.to_config().unwrap().mrru, Some(1600));
        let bad = ClientSettings {
            mrru: Some(100),
            ..ClientSettings::l2tp()
        };
        assert_eq!(bad.validate().unwrap_err().field, "mrru");
        let bad = ClientSettings {
            allow: AuthSet::NONE,
            ..ClientSettings::l2tp()
        };
        assert_eq!(bad.validate().unwrap_err().field, "allow");
        let ok = ClientSettings {
            allow: AuthSet::of(&[AuthMethod::Pap]),
            use_encryption: UseEncryption::No,
            ..ClientSettings::pppoe()
        };
        assert_eq!(ok.to_config().unwrap().allow, ok.allow);
    }

    #[test]
    fn link_mppe_reaches_the_session_config() {
        // Default: RouterOS's "MPPE128 stateless" offer.
        assert_eq!(
            ClientSettings::l2tp().to_config().unwrap().mppe,
            MppeSettings::default()
        );
        let stateful = MppeSettings {
            stateless: false,
            ..MppeSettings::default()
        };
        let mut c = ClientSettings::l2tp();
        c.link.mppe = stateful;
        assert_eq!(c.to_config().unwrap().mppe, stateful);
        let mut s = ServerSettings::l2tp();
        s.link.mppe = stateful;
        assert_eq!(s.to_config().unwrap().mppe, stateful);
    }
}
