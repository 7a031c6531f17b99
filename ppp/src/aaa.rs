//! The RouterOS AAA model as library types: `/ppp profile`, `/ppp secret`, `/ip pool`, and the
//! [`CredentialStore`] trait through which a server session asks for passwords.
//!
//! A server [`crate::Session`] either consults a store synchronously
//! ([`crate::Session::set_credential_store`]) or, when there is none or the store answers
//! [`Lookup::Defer`], emits [`crate::Event::AuthRequested`] and waits for
//! [`crate::Session::auth_verdict`] (a RADIUS client fits there).

use crate::config::Service;
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Per-user attributes that shape the session (from a profile and secret, or from RADIUS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAttributes {
    /// Server-side address of the link.
    pub local_address: Option<Ipv4Addr>,
    /// Address assigned to the peer.
    pub remote_address: Option<Ipv4Addr>,
    /// DNS servers offered to the peer (RFC 1877).
    pub dns: Vec<Ipv4Addr>,
    /// NBNS (WINS) servers offered to the peer (RFC 1877 options 130/132).
    pub nbns: Vec<Ipv4Addr>,
    /// End the session after this long.
    pub session_timeout: Option<Duration>,
    /// End the session after this long without data traffic.
    pub idle_timeout: Option<Duration>,
    /// `/ppp profile` name; a server host fills the server's `default-profile` when none is
    /// given and takes missing values (addresses, DNS, WINS, timeouts) from that profile.
    pub profile: Option<String>,
    /// Accounting interim-update interval (RADIUS Acct-Interim-Interval); `None`: the host's
    /// `/ppp aaa interim-update`.
    pub interim_interval: Option<Duration>,
    /// `use-encryption` of the user's profile; `None`: the session's
    /// [`Config::use_encryption`](crate::Config::use_encryption).
    pub use_encryption: Option<UseEncryption>,
    /// `bridge` of the user's profile: BCP is negotiated and the link joins that bridge;
    /// `None`: the session's [`Config::bridge`](crate::Config::bridge).
    pub bridge: Option<String>,
}

/// `/ppp profile use-encryption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UseEncryption {
    /// `default`: passive: MPPE when the peer asks for it (see
    /// [`Config::use_encryption`](crate::Config::use_encryption)).
    #[default]
    Default,
    /// `no`: never encrypt; CCP is Protocol-Rejected.
    No,
    /// `yes`: negotiate MPPE after an MS-CHAP login; run in clear if the peer refuses.
    Yes,
    /// `required`: negotiate MPPE; end the session when it cannot be had.
    Required,
}

impl UseEncryption {
    /// The RouterOS keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            UseEncryption::Default => "default",
            UseEncryption::No => "no",
            UseEncryption::Yes => "yes",
            UseEncryption::Required => "required",
        }
    }
}

/// A store's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The user exists; the session verifies the proof with this password.
    Found {
        /// Clear-text password (CHAP and MS-CHAP need it).
        password: String,
        /// Attributes for the session.
        attributes: UserAttributes,
    },
    /// No such user: authentication fails.
    NotFound,
    /// Ask the application through [`crate::Event::AuthRequested`].
    Defer,
}

/// The source of credentials for an authenticating server.
pub trait CredentialStore {
    /// Look a user up.
    fn lookup(&mut self, user: &str, service: Service) -> Lookup;

    /// Authentication succeeded: resolve pools and admission (only-one, max-sessions). An `Err`
    /// fails the login with that message (e.g. pool exhausted). Default: accept unchanged.
    fn session_started(
        &mut self,
        user: &str,
        attributes: &mut UserAttributes,
    ) -> Result<(), String> {
        let _ = (user, attributes);
        Ok(())
    }

    /// The session ended: release what `session_started` took. Default: nothing.
    fn session_ended(&mut self, user: &str, attributes: &UserAttributes) {
        let _ = (user, attributes);
    }
}

impl<T: CredentialStore + ?Sized> CredentialStore for Arc<Mutex<T>> {
    fn lookup(&mut self, user: &str, service: Service) -> Lookup {
        let mut g = self.lock().unwrap_or_else(|p| p.into_inner());
        g.lookup(user, service)
    }
    fn session_started(
        &mut self,
        user: &str,
        attributes: &mut UserAttributes,
    ) -> Result<(), String> {
        let mut g = self.lock().unwrap_or_else(|p| p.into_inner());
        g.session_started(user, attributes)
    }
    fn session_ended(&mut self, user: &str, attributes: &UserAttributes) {
        let mut g = self.lock().unwrap_or_else(|p| p.into_inner());
        g.session_ended(user, attributes)
    }
}

/// The application's answer to [`crate::Event::AuthRequested`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The user exists with this password: the session verifies the proof itself (and computes
    /// the MS-CHAPv2 authenticator response and key material).
    Password {
        /// Clear-text password.
        password: String,
        /// Attributes for the session.
        attributes: UserAttributes,
    },
    /// Verified elsewhere (RADIUS Access-Accept).
    Accept {
        /// Attributes for the session.
        attributes: UserAttributes,
        /// MS-CHAPv2: the 20-octet authenticator response (RADIUS MS-CHAP2-Success); without
        /// it an MS-CHAPv2 peer will refuse the Success.
        authenticator_response: Option<[u8; 20]>,
        /// MPPE key material (RADIUS MS-MPPE-Send/Recv-Key), if any.
        keys: Option<Box<crate::mschap::MsChapKeys>>,
    },
    /// Refused, with the message sent to the peer.
    Reject {
        /// Message (PAP Nak text, CHAP Failure text).
        message: String,
    },
}

/// An address or a pool name (`remote-address=10.0.0.9` or `remote-address=vpn-pool`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressSpec {
    /// A fixed address.
    Address(Ipv4Addr),
    /// Allocate from the named `/ip pool`.
    Pool(String),
}

/// `/ppp profile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `name`.
    pub name: String,
    /// `local-address`.
    pub local_address: Option<AddressSpec>,
    /// `remote-address`.
    pub remote_address: Option<AddressSpec>,
    /// `dns-server`.
    pub dns: Vec<Ipv4Addr>,
    /// `wins-server` (RFC 1877 NBNS, up to two; default empty).
    pub wins: Vec<Ipv4Addr>,
    /// `session-timeout`.
    pub session_timeout: Option<Duration>,
    /// `idle-timeout`.
    pub idle_timeout: Option<Duration>,
    /// `only-one`: a user may hold one session at a time.
    pub only_one: bool,
    /// `use-encryption` (default `default`): handed to the session as
    /// [`UserAttributes::use_encryption`] (see [`Config::use_encryption`](crate::Config::use_encryption)
    /// for what each value does). RouterOS's `default-encryption` profile says `yes`; this
    /// table's copy keeps `default` (passive) so that existing setups do not change.
    pub use_encryption: UseEncryption,
    /// `bridge` (default none): the bridge the dynamic PPP interface of a session under this
    /// profile joins as a port; when set, BCP is negotiated (RFC 3518, see [`crate::bcp`]).
    /// A host copies it into [`Config::bridge`](crate::Config::bridge) of the sessions that
    /// run under the profile. Bridge port settings (learning, horizon, path cost, priority)
    /// are the application's bridge, not PPP's.
    pub bridge: Option<String>,
}

impl Profile {
    /// A profile with only a name (RouterOS `default`).
    pub fn named(name: &str) -> Self {
        Profile {
            name: name.to_string(),
            local_address: None,
            remote_address: None,
            dns: Vec::new(),
            wins: Vec::new(),
            session_timeout: None,
            idle_timeout: None,
            only_one: false,
            use_encryption: UseEncryption::Default,
            bridge: None,
        }
    }
}

/// `/ppp secret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// `name`.
    pub name: String,
    /// `password`.
    pub password: String,
    /// `service` (`any` matches all).
    pub service: Service,
    /// `profile` (default `default`).
    pub profile: String,
    /// `local-address` (overrides the profile).
    pub local_address: Option<Ipv4Addr>,
    /// `remote-address` (overrides the profile).
    pub remote_address: Option<Ipv4Addr>,
}

impl Secret {
    /// A secret for any service with the `default` profile.
    pub fn new(name: &str, password: &str) -> Self {
        Secret {
            name: name.into(),
            password: password.into(),
            service: Service::Any,
            profile: "default".into(),
            local_address: None,
            remote_address: None,
        }
    }
}

/// Error parsing a pool range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pool range `{0}` (expected a.b.c.d or a.b.c.d-e.f.g.h)")]
pub struct PoolRangeError(pub String);

/// `/ip pool`: ranges such as `10.0.0.2-10.0.0.5`, lowest free address first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpPool {
    /// `name`.
    pub name: String,
    ranges: Vec<(u32, u32)>,
    used: BTreeSet<u32>,
}

impl IpPool {
    /// Parse `ranges` in RouterOS syntax: comma-separated `a.b.c.d-e.f.g.h` or single addresses.
    pub fn new(name: &str, ranges: &str) -> Result<Self, PoolRangeError> {
        let mut r = Vec::new();
        for part in ranges.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || PoolRangeError(part.to_string());
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let a: Ipv4Addr = a.parse().map_err(|_| bad())?;
            let b: Ipv4Addr = b.parse().map_err(|_| bad())?;
            let (a, b) = (u32::from(a), u32::from(b));
            if a > b {
                return Err(bad());
            }
            r.push((a, b));
        }
        if r.is_empty() {
            return Err(PoolRangeError(ranges.to_string()));
        }
        Ok(IpPool {
            name: name.into(),
            ranges: r,
            used: BTreeSet::new(),
        })
    }

    /// The ranges in RouterOS syntax (`10.0.0.2-10.0.0.5,10.0.1.9`), as [`IpPool::new`]
    /// reads them.
    pub fn ranges_text(&self) -> String {
        self.ranges
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    Ipv4Addr::from(a).to_string()
                } else {
                    format!("{}-{}", Ipv4Addr::from(a), Ipv4Addr::from(b))
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Take the lowest free address; `None` when exhausted.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        for &(a, b) in &self.ranges {
            let mut x = a;
            loop {
                if !self.used.contains(&x) {
                    self.used.insert(x);
                    return Some(Ipv4Addr::from(x));
                }
                if x == b {
                    break;
                }
                x += 1;
            }
        }
        None
    }

    /// Return an address to the pool.
    pub fn release(&mut self, addr: Ipv4Addr) -> bool {
        self.used.remove(&u32::from(addr))
    }

    /// Addresses in use.
    pub fn used(&self) -> usize {
        self.used.len()
    }

    /// Total size.
    pub fn size(&self) -> u64 {
        self.ranges.iter().map(|&(a, b)| u64::from(b - a) + 1).sum()
    }
}

/// The in-memory `/ppp profile` + `/ppp secret` + `/ip pool` tables, usable as a
/// [`CredentialStore`] (share it between sessions as `Arc<Mutex<Aaa>>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aaa {
    /// `/ppp profile` (a profile named `default` is present from the start).
    pub profiles: Vec<Profile>,
    /// `/ppp secret`.
    pub secrets: Vec<Secret>,
    /// `/ip pool`.
    pub pools: Vec<IpPool>,
    /// Active sessions per user (only-one).
    active: HashMap<String, u32>,
}

impl Default for Aaa {
    fn default() -> Self {
        Aaa {
            profiles: vec![
                Profile::named("default"),
                Profile::named("default-encryption"),
            ],
            secrets: Vec::new(),
            pools: Vec::new(),
            active: HashMap::new(),
        }
    }
}

impl Aaa {
    /// Empty tables with the `default` and `default-encryption` profiles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Users with an active session (any order).
    pub fn active_users(&self) -> Vec<&str> {
        self.active.keys().map(String::as_str).collect()
    }

    /// Active sessions of `user`.
    pub fn active_sessions(&self, user: &str) -> u32 {
        self.active.get(user).copied().unwrap_or(0)
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    fn resolve(&mut self, spec: &Option<AddressSpec>) -> Result<Option<Ipv4Addr>, String> {
        match spec {
            None => Ok(None),
            Some(AddressSpec::Address(a)) => Ok(Some(*a)),
            Some(AddressSpec::Pool(name)) => {
                let pool = self
                    .pools
                    .iter_mut()
                    .find(|p| &p.name == name)
                    .ok_or_else(|| format!("no such pool {name}"))?;
                pool.allocate()
                    .map(Some)
                    .ok_or_else(|| format!("could not assign address from pool {name}: exhausted"))
            }
        }
    }
}

impl CredentialStore for Aaa {
    fn lookup(&mut self, user: &str, service: Service) -> Lookup {
        let Some(s) = self.secrets.iter().find(|s| {
            s.name == user
                && (s.service == Service::Any || s.service == service || service == Service::Any)
        }) else {
            return Lookup::NotFound;
        };
        let p = self.profile(&s.profile);
        let attributes = UserAttributes {
            local_address: s.local_address,
            remote_address: s.remote_address,
            dns: p.map(|p| p.dns.clone()).unwrap_or_default(),
            nbns: p.map(|p| p.wins.clone()).unwrap_or_default(),
            session_timeout: p.and_then(|p| p.session_timeout),
            idle_timeout: p.and_then(|p| p.idle_timeout),
            profile: Some(s.profile.clone()),
            interim_interval: None,
            use_encryption: None,
            bridge: None,
        };
        Lookup::Found {
            password: s.password.clone(),
            attributes,
        }
    }

    fn session_started(
        &mut self,
        user: &str,
        attributes: &mut UserAttributes,
    ) -> Result<(), String> {
        let pname = attributes
            .profile
            .clone()
            .unwrap_or_else(|| "default".into());
        let profile = self.profile(&pname).cloned();
        if let Some(p) = &profile {
            if p.only_one && self.active_sessions(user) > 0 {
                return Err(format!("user {user} already logged in (only-one)"));
            }
            if p.use_encryption != UseEncryption::Default && attributes.use_encryption.is_none() {
                attributes.use_encryption = Some(p.use_encryption);
            }
            if attributes.bridge.is_none() {
                attributes.bridge = p.bridge.clone();
            }
            // Values the secret or the external verdict left open come from the profile.
            if attributes.dns.is_empty() {
                attributes.dns = p.dns.clone();
            }
            if attributes.nbns.is_empty() {
                attributes.nbns = p.wins.clone();
            }
            if attributes.session_timeout.is_none() {
                attributes.session_timeout = p.session_timeout;
            }
            if attributes.idle_timeout.is_none() {
                attributes.idle_timeout = p.idle_timeout;
            }
        }
        attributes.profile = Some(pname);
        let mut taken_local = None;
        if attributes.local_address.is_none() {
            attributes.local_address =
                self.resolve(&profile.as_ref().and_then(|p| p.local_address.clone()))?;
            taken_local = attributes.local_address;
        }
        if attributes.remote_address.is_none() {
            let spec = profile.as_ref().and_then(|p| p.remote_address.clone());
            match self.resolve(&spec) {
                Ok(a) => attributes.remote_address = a,
                Err(e) => {
                    // Give back a local address taken from a pool above.
                    if let (Some(a), Some(AddressSpec::Pool(_))) = (
                        taken_local,
                        profile.as_ref().and_then(|p| p.local_address.as_ref()),
                    ) {
                        for pool in &mut self.pools {
                            if pool.release(a) {
                                break;
                            }
                        }
                        attributes.local_address = None;
                    }
                    return Err(e);
                }
            }
        }
        *self.active.entry(user.to_string()).or_insert(0) += 1;
        Ok(())
    }

    fn session_ended(&mut self, user: &str, attributes: &UserAttributes) {
        if let Some(n) = self.active.get_mut(user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.active.remove(user);
            }
        }
        if let Some(a) = attributes.remote_address {
            for p in &mut self.pools {
                if p.release(a) {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_ranges_and_exhaustion() {
        let mut p = IpPool::new("vpn", "10.0.0.2-10.0.0.5").unwrap();
        assert_eq!(p.size(), 4);
        let got: Vec<_> = (0..4).map(|_| p.allocate().unwrap()).collect();
        assert_eq!(got[0], Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(got[3], Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(p.allocate(), None);
        assert!(p.release(Ipv4Addr::new(10, 0, 0, 3)));
        assert_eq!(p.allocate(), Some(Ipv4Addr::new(10, 0, 0, 3)));
        assert!(IpPool::new("x", "10.0.0.5-10.0.0.2").is_err());
        assert!(IpPool::new("x", "nope").is_err());
    }

    #[test]
    fn aaa_profile_pool_only_one() {
        let mut aaa = Aaa::new();
        aaa.pools
            .push(IpPool::new("vpn", "10.0.0.2-10.0.0.2").unwrap());
        let mut prof = Profile::named("vpn");
        prof.local_address = Some(AddressSpec::Address(Ipv4Addr::new(10, 0, 0, 1)));
        prof.remote_address = Some(AddressSpec::Pool("vpn".into()));
        prof.only_one = true;
        aaa.profiles.push(prof);
        let mut s = Secret::new("alice", "pw");
        s.profile = "vpn".into();
        s.service = Service::L2tp;
        aaa.secrets.push(s);
        aaa.secrets.push(Secret::new("bob", "pw2"));
        assert_eq!(aaa.lookup("alice", Service::Pppoe), Lookup::NotFound);
        let Lookup::Found {
            password,
            mut attributes,
        } = aaa.lookup("alice", Service::L2tp)
        else {
            panic!()
        };
        assert_eq!(password, "pw");
        aaa.session_started("alice", &mut attributes).unwrap();
        assert_eq!(attributes.remote_address, Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(attributes.local_address, Some(Ipv4Addr::new(10, 0, 0, 1)));
        let Lookup::Found {
            attributes: mut a2, ..
        } = aaa.lookup("alice", Service::L2tp)
        else {
            panic!()
        };
        assert!(aaa
            .session_started("alice", &mut a2)
            .unwrap_err()
            .contains("only-one"));
        aaa.session_ended("alice", &attributes);
        let Lookup::Found {
            attributes: mut a3, ..
        } = aaa.lookup("alice", Service::L2tp)
        else {
            panic!()
        };
        aaa.session_started("alice", &mut a3).unwrap();
        // Pool of one is now used: a second profile user would fail cleanly.
        let mut b = UserAttributes {
            profile: Some("vpn".into()),
            ..Default::default()
        };
        assert!(aaa
            .session_started("carol", &mut b)
            .unwrap_err()
            .contains("exhausted"));
    }
}
