//! The member's side of one network, sans-IO: when to ask the controller for a config, what to
//! ask, and the network status that follows from the answers.
//!
//! ```text
//!  new(now) ──► REQUESTING_CONFIGURATION ── poll_request() ─► NETWORK_CONFIG_REQUEST to nwid>>24
//!      chunks (OK / NETWORK_CONFIG) ─► handle_config_chunk ─► all chunks, signatures, COM ok ─► OK
//!      ERROR code 7 ─► ACCESS_DENIED        ERROR code 3 ─► NOT_FOUND
//!      ERROR code 9 ─► AUTHENTICATION_REQUIRED
//!  every `refresh` (60 s, ZeroTierOne's ZT_NETWORK_AUTOCONF_DELAY) another request goes out,
//!  carrying the revision and timestamp of the config we hold; a refused member keeps asking.
//!  Until the first answer arrives the request is repeated every `retry` (5 s).
//! ```
//! Leaving is dropping the `Membership`. The embedder sends the requests through the VL1
//! [`Node`](crate::Node) (verb NETWORK_CONFIG_REQUEST to the controller's address) and feeds
//! back what arrives from the controller.

use std::time::{Duration, Instant};

use super::controller::{ConfigAssembler, ConfigError};
use super::dictionary::Dictionary;
use super::netconf::{NetworkConfig, CONFIG_VERSION};
use crate::wire::verbs::{ErrorCode, NetworkConfigChunk, NetworkConfigRequest};
use crate::wire::PROTO_VERSION;
use crate::{Identity, NetworkId};

/// ZeroTierOne's network status codes (`ZT_VirtualNetworkStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkStatus {
    /// 0: waiting for the controller.
    RequestingConfiguration,
    /// 1: configured.
    Ok,
    /// 2: the controller refused (private network, not authorized).
    AccessDenied,
    /// 3: the controller does not run this network.
    NotFound,
    /// 4: the local port (TAP) failed; set by the embedder.
    PortError,
    /// 5: the controller needs a newer client.
    ClientTooOld,
    /// 6: SSO authentication required.
    AuthenticationRequired,
}

impl NetworkStatus {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            NetworkStatus::RequestingConfiguration => 0,
            NetworkStatus::Ok => 1,
            NetworkStatus::AccessDenied => 2,
            NetworkStatus::NotFound => 3,
            NetworkStatus::PortError => 4,
            NetworkStatus::ClientTooOld => 5,
            NetworkStatus::AuthenticationRequired => 6,
        }
    }
}

/// Config refresh interval (ZeroTierOne: 60 s).
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(60);
/// Repeat interval of an unanswered first request (ours: 5 s).
pub const DEFAULT_RETRY: Duration = Duration::from_secs(5);

/// Membership of one network.
pub struct Membership {
    nwid: NetworkId,
    assembler: ConfigAssembler,
    config: Option<NetworkConfig>,
    status: NetworkStatus,
    next_request: Instant,
    request_pending: bool,
    last_request: Option<Instant>,
    /// Interval between config requests.
    pub refresh: Duration,
    /// While a request is unanswered (status still REQUESTING_CONFIGURATION), it is repeated
    /// after this instead of waiting for the refresh (a lost request or answer, or a request
    /// sent before any path existed).
    pub retry: Duration,
}

impl Membership {
    /// Join `nwid` as `me`, trusting `controller` (the identity at `nwid >> 24`, learned by
    /// WHOIS); the first request is due at `now`.
    pub fn new(controller: Identity, me: Identity, nwid: NetworkId, now: Instant) -> Self {
        Membership {
            nwid,
            assembler: ConfigAssembler::new(controller, me, nwid),
            config: None,
            status: NetworkStatus::RequestingConfiguration,
            next_request: now,
            request_pending: false,
            last_request: None,
            refresh: DEFAULT_REFRESH,
            retry: DEFAULT_RETRY,
        }
    }

    /// Network.
    pub fn network_id(&self) -> NetworkId {
        self.nwid
    }

    /// Current status.
    pub fn status(&self) -> NetworkStatus {
        self.status
    }

    /// The config in force, if any.
    pub fn config(&self) -> Option<&NetworkConfig> {
        self.config.as_ref()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.due())
    }

    fn due(&self) -> Instant {
        match (self.status, self.last_request) {
            (NetworkStatus::RequestingConfiguration, Some(t)) => {
                (t + self.retry).min(self.next_request)
            }
            _ => self.next_request,
        }
    }

    /// Time passes: a request falls due every [`refresh`](Self::refresh), and every
    /// [`retry`](Self::retry) while the first answer is missing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now >= self.due() {
            self.request_pending = true;
            self.last_request = Some(now);
            self.next_request = now + self.refresh;
        }
    }

    /// The request to send to the controller, once per due time.
    pub fn poll_request(&mut self) -> Option<NetworkConfigRequest> {
        if !std::mem::take(&mut self.request_pending) {
            return None;
        }
        Some(NetworkConfigRequest {
            network_id: self.nwid,
            metadata: request_metadata().to_bytes(),
            have: Some(
                self.config
                    .as_ref()
                    .map_or((0, 0), |c| (c.revision, c.timestamp)),
            ),
            trailing: Vec::new(),
        })
    }

    /// A config chunk from the controller (OK(NETWORK_CONFIG_REQUEST) or NETWORK_CONFIG).
    /// `Ok(true)` when it completed a new config, now in force (status OK).
    pub fn handle_config_chunk(&mut self, chunk: &NetworkConfigChunk) -> Result<bool, ConfigError> {
        match self.assembler.handle_chunk(chunk)? {
            Some(c) => {
                // An older config (replayed) does not replace a newer one.
                if self
                    .config
                    .as_ref()
                    .is_some_and(|old| (c.revision, c.timestamp) < (old.revision, old.timestamp))
                {
                    return Ok(false);
                }
                self.config = Some(c);
                self.status = NetworkStatus::Ok;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// An ERROR from the controller in reply to our request (other codes are ignored).
    pub fn handle_error(&mut self, code: ErrorCode) {
        self.status = match code {
            ErrorCode::NetworkAccessDenied => NetworkStatus::AccessDenied,
            ErrorCode::ObjNotFound => NetworkStatus::NotFound,
            ErrorCode::NetworkAuthenticationRequired => NetworkStatus::AuthenticationRequired,
            ErrorCode::BadProtocolVersion => NetworkStatus::ClientTooOld,
            _ => return,
        };
        // A refused member has no config in force (its COM would expire anyway).
        self.config = None;
    }

    /// The embedder could not bring up the port (TAP).
    pub fn set_port_error(&mut self) {
        self.status = NetworkStatus::PortError;
    }
}

/// The metadata dictionary of a config request: the same keys ZeroTierOne 1.14 sends (config
/// version 7, protocol version, client version 1.14.1, rule/capability/tag capacities).
pub fn request_metadata() -> Dictionary {
    let mut d = Dictionary::new();
    for (k, v) in [
        ("v", CONFIG_VERSION),
        ("vend", 1),
        ("pv", u64::from(PROTO_VERSION)),
        ("majv", 1),
        ("minv", 14),
        ("revv", 1),
        ("mr", 1024),
        ("mc", 128),
        ("mcr", 64),
        ("mt", 128),
        ("f", 0),
        ("revr", 1),
    ] {
        // Constant keys: cannot fail.
        let _ = d.push_u64(k, v);
    }
    d
}
