//! The Dynamic Authorization server of RFC 5176 (`/radius incoming`): a RADIUS server asks the
//! NAS to end a session (Disconnect-Request) or to change it (CoA-Request).
//!
//! ```text
//!  RADIUS server (DAC)                                 NAS (this side, port 3799)
//!  Disconnect-Request id=7 User-Name, Acct-Session-Id  --->  verify authenticator (MD5 with a
//!                                                            zero authenticator and the
//!                                                            secret), find the session
//!                                              <---  Disconnect-ACK id=7        (ended)
//!                                              <---  Disconnect-NAK id=7 Error-Cause=503
//!                                                    (Session-Context-Not-Found)
//! ```
//!
//! The server verifies and decodes; the embedder finds the session by the identification
//! attributes ([`SessionIdentity`]), ends or changes it, and answers with
//! [`DaeServer::respond`]. A repeated request (same source, identifier and authenticator)
//! gets the same answer again without a second event (RFC 5176 s2.3 duplicate detection).

use super::access::Reply;
use super::client::Transmit;
use super::config::SharedSecret;
use super::crypto::{self, Signing};
use super::wire::{attr, Attribute, Code, Packet};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// Error-Cause values (RFC 5176 s3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ErrorCause {
    ResidualSessionContextRemoved = 201,
    InvalidEapPacket = 202,
    UnsupportedAttribute = 401,
    MissingAttribute = 402,
    NasIdentificationMismatch = 403,
    InvalidRequest = 404,
    UnsupportedService = 405,
    UnsupportedExtension = 406,
    InvalidAttributeValue = 407,
    AdministrativelyProhibited = 501,
    RequestNotRoutable = 502,
    SessionContextNotFound = 503,
    SessionContextNotRemovable = 504,
    OtherProxyProcessingError = 505,
    ResourcesUnavailable = 506,
    RequestInitiated = 507,
    MultipleSessionSelectionUnsupported = 508,
}

/// `/radius incoming`: who may send requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaeConfig {
    /// `accept` (no): process requests at all. With `no` every datagram is dropped.
    pub accept: bool,
    /// `port` (3799): the embedder's listening port (kept for its socket; not used here).
    pub port: u16,
    /// The clients allowed to send requests (RouterOS uses the `/radius` entries' address and
    /// secret): source address and secret.
    pub clients: Vec<(IpAddr, SharedSecret)>,
    /// Require a Message-Authenticator in every request (no RouterOS property; default
    /// `false`: RFC 5176 makes it optional).
    pub require_message_authenticator: bool,
    /// This NAS's NAS-IP-Address (RouterOS: the `src-address` of `/radius`; default `None`):
    /// a request naming another one is answered at once with a NAK, Error-Cause 403
    /// (NAS-Identification-Mismatch, RFC 5176 s3.5), without an event.
    pub nas_ip_address: Option<Ipv4Addr>,
    /// This NAS's NAS-Identifier (RouterOS: `/system identity`; default `None`): checked
    /// like `nas_ip_address`.
    pub nas_identifier: Option<String>,
}

impl Default for DaeConfig {
    fn default() -> Self {
        DaeConfig {
            accept: false,
            port: 3799,
            clients: Vec::new(),
            require_message_authenticator: false,
            nas_ip_address: None,
            nas_identifier: None,
        }
    }
}

/// The attributes that name the session(s) a request is about (RFC 5176 s3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionIdentity {
    /// User-Name.
    pub user_name: Option<String>,
    /// Acct-Session-Id.
    pub acct_session_id: Option<String>,
    /// Framed-IP-Address.
    pub framed_ip_address: Option<Ipv4Addr>,
    /// Calling-Station-Id.
    pub calling_station_id: Option<String>,
    /// NAS-IP-Address.
    pub nas_ip_address: Option<Ipv4Addr>,
    /// NAS-Identifier.
    pub nas_identifier: Option<String>,
}

/// Names a request in [`DaeServer::respond`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DaeToken(u64);

/// A verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaeEvent {
    /// Disconnect-Request: end the session(s), then answer.
    Disconnect {
        /// For [`DaeServer::respond`].
        token: DaeToken,
        /// Which session.
        identity: SessionIdentity,
        /// Every attribute, raw.
        attributes: Vec<Attribute>,
    },
    /// CoA-Request: apply `changes` (Session-Timeout, Idle-Timeout, Framed-Pool, vendor
    /// attributes, ...) to the session(s), then answer.
    Coa {
        /// For [`DaeServer::respond`].
        token: DaeToken,
        /// Which session.
        identity: SessionIdentity,
        /// The new authorization, mapped as an Access-Accept would be.
        changes: Box<Reply>,
    },
}

/// The embedder's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaeOutcome {
    /// Done: Disconnect-ACK / CoA-ACK.
    Ack,
    /// Refused: Disconnect-NAK / CoA-NAK with this Error-Cause.
    Nak(ErrorCause),
}

/// What became of a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaeInput {
    /// A verified request: a [`DaeEvent`] is queued.
    Delivered,
    /// Answered at once without an event: a retransmission of an answered request (the
    /// same answer again, RFC 5176 s2.3), or a request for another NAS (NAK 403).
    Answered,
    /// Dropped.
    Dropped(DaeDrop),
}

/// Why a datagram was dropped (RFC 5176 s3: silently).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaeDrop {
    /// `accept=no`.
    NotAccepting,
    /// Not from a configured client.
    UnknownClient,
    /// Not a RADIUS packet.
    Malformed,
    /// Not a Disconnect-Request or CoA-Request.
    UnexpectedCode,
    /// The authenticator does not match the secret.
    WrongAuthenticator,
    /// The Message-Authenticator is wrong, or missing while required.
    BadMessageAuthenticator,
    /// A retransmission of a request still being decided.
    InProgress,
}

struct Answered {
    authenticator: [u8; 16],
    answer: Option<Vec<u8>>,
    expires: Instant,
}

struct Held {
    from: SocketAddr,
    code: Code,
    id: u8,
    authenticator: [u8; 16],
    secret: SharedSecret,
    /// Proxy-State attributes, copied into the answer in order (RFC 5176 s3, RFC 2865 s5.33).
    proxy_state: Vec<Attribute>,
}

/// Server side of Dynamic Authorization (RFC 5176).
///
/// Inputs: [`DaeServer::handle_datagram`] for datagrams on the `/radius incoming` port,
/// [`DaeServer::respond`] for the embedder's decision. Outputs: [`DaeServer::poll_event`],
/// [`DaeServer::poll_transmit`]. Answers are remembered for 30 s to re-send on
/// retransmissions ([`DaeServer::handle_timeout`] expires them).
pub struct DaeServer {
    config: DaeConfig,
    next: u64,
    held: HashMap<u64, Held>,
    /// (from, id) -> the request's authenticator, the answer once given, expiry.
    answered: HashMap<(SocketAddr, u8), Answered>,
    events: VecDeque<DaeEvent>,
    transmits: VecDeque<Transmit>,
}

impl std::fmt::Debug for DaeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaeServer")
            .field("held", &self.held.len())
            .finish_non_exhaustive()
    }
}

/// How long an answer is kept for duplicate detection.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(30);

impl DaeServer {
    /// A server for `config`.
    pub fn new(config: DaeConfig, now: Instant) -> Self {
        let _ = now;
        DaeServer {
            config,
            next: 1,
            held: HashMap::new(),
            answered: HashMap::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
        }
    }

    /// A datagram arrived on the DAE port.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> DaeInput {
        match self.datagram(now, from, bytes) {
            Ok(i) => i,
            Err(d) => DaeInput::Dropped(d),
        }
    }

    fn datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        bytes: &[u8],
    ) -> Result<DaeInput, DaeDrop> {
        if !self.config.accept {
            return Err(DaeDrop::NotAccepting);
        }
        let Some(secret) = self
            .config
            .clients
            .iter()
            .find(|(a, _)| *a == from.ip())
            .map(|(_, s)| s.clone())
        else {
            return Err(DaeDrop::UnknownClient);
        };
        let pkt = Packet::parse(bytes).map_err(|_| DaeDrop::Malformed)?;
        if !matches!(pkt.code, Code::DisconnectRequest | Code::CoaRequest) {
            return Err(DaeDrop::UnexpectedCode);
        }
        let len = u16::from_be_bytes([bytes[2], bytes[3]]) as usize;
        crypto::verify(
            &bytes[..len],
            Signing::ComputedRequest,
            secret.as_bytes(),
            self.config.require_message_authenticator,
        )
        .map_err(|e| match e {
            crypto::VerifyError::Authenticator => DaeDrop::WrongAuthenticator,
            _ => DaeDrop::BadMessageAuthenticator,
        })?;
        if let Some(a) = self.answered.get(&(from, pkt.id)) {
            if a.authenticator == pkt.authenticator && a.expires > now {
                return match &a.answer {
                    Some(a) => {
                        self.transmits.push_back(Transmit {
                            destination: from,
                            source: None,
                            payload: a.clone(),
                        });
                        Ok(DaeInput::Answered)
                    }
                    None => Err(DaeDrop::InProgress),
                };
            }
        }
        self.answered.insert(
            (from, pkt.id),
            Answered {
                authenticator: pkt.authenticator,
                answer: None,
                expires: now + DUPLICATE_WINDOW,
            },
        );
        let identity = SessionIdentity {
            user_name: pkt.user_name(),
            acct_session_id: pkt.get_text(attr::ACCT_SESSION_ID),
            framed_ip_address: pkt.framed_ip_address(),
            calling_station_id: pkt.get_text(attr::CALLING_STATION_ID),
            nas_ip_address: pkt.get_ipv4(attr::NAS_IP_ADDRESS),
            nas_identifier: pkt.get_text(attr::NAS_IDENTIFIER),
        };
        let token = DaeToken(self.next);
        self.next += 1;
        self.held.insert(
            token.0,
            Held {
                from,
                code: pkt.code,
                id: pkt.id,
                authenticator: pkt.authenticator,
                secret: secret.clone(),
                proxy_state: pkt.all(attr::PROXY_STATE).cloned().collect(),
            },
        );
        let ip_mismatch = matches!(
            (self.config.nas_ip_address, identity.nas_ip_address),
            (Some(ours), Some(theirs)) if ours != theirs
        );
        let id_mismatch = matches!(
            (&self.config.nas_identifier, &identity.nas_identifier),
            (Some(ours), Some(theirs)) if ours != theirs
        );
        if ip_mismatch || id_mismatch {
            self.respond(
                now,
                token,
                DaeOutcome::Nak(ErrorCause::NasIdentificationMismatch),
            );
            return Ok(DaeInput::Answered);
        }
        self.events
            .push_back(if pkt.code == Code::DisconnectRequest {
                DaeEvent::Disconnect {
                    token,
                    identity,
                    attributes: pkt.attributes,
                }
            } else {
                DaeEvent::Coa {
                    token,
                    identity,
                    changes: Box::new(Reply::from_packet(
                        &pkt,
                        secret.as_bytes(),
                        &pkt.authenticator,
                    )),
                }
            });
        Ok(DaeInput::Delivered)
    }

    /// Answer a request. Unknown tokens are ignored (`false`).
    pub fn respond(&mut self, now: Instant, token: DaeToken, outcome: DaeOutcome) -> bool {
        let Some(h) = self.held.remove(&token.0) else {
            return false;
        };
        let code = match (h.code, outcome) {
            (Code::DisconnectRequest, DaeOutcome::Ack) => Code::DisconnectAck,
            (Code::DisconnectRequest, DaeOutcome::Nak(_)) => Code::DisconnectNak,
            (_, DaeOutcome::Ack) => Code::CoaAck,
            (_, DaeOutcome::Nak(_)) => Code::CoaNak,
        };
        let mut p = Packet::new(code, h.id, h.authenticator);
        if let DaeOutcome::Nak(c) = outcome {
            p.push(Attribute::u32(attr::ERROR_CAUSE, c as u32));
        }
        p.attributes.extend(h.proxy_state);
        let Ok(mut b) = p.to_bytes() else {
            return false;
        };
        crypto::sign(
            &mut b,
            Signing::Response(&h.authenticator),
            h.secret.as_bytes(),
        );
        self.answered.insert(
            (h.from, h.id),
            Answered {
                authenticator: h.authenticator,
                answer: Some(b.clone()),
                expires: now + DUPLICATE_WINDOW,
            },
        );
        self.transmits.push_back(Transmit {
            destination: h.from,
            source: None,
            payload: b,
        });
        true
    }

    /// Forget remembered answers older than [`DUPLICATE_WINDOW`].
    pub fn handle_timeout(&mut self, now: Instant) {
        self.answered.retain(|_, a| a.expires > now);
    }

    /// When [`DaeServer::handle_timeout`] has something to expire.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.answered.values().map(|a| a.expires).min()
    }

    /// The next verified request.
    pub fn poll_event(&mut self) -> Option<DaeEvent> {
        let e = self.poll_event_untraced();
        trace_event!("ppp::radius::dae", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<DaeEvent> {
        self.events.pop_front()
    }

    /// The next answer to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        let _ = now;
        self.transmits.pop_front()
    }
}

impl DaeConfig {
    /// `/radius incoming set accept=yes port=3799`: `accept` and `port` onto this
    /// configuration (the clients come from the `/radius` entries); returns the property
    /// names it does not implement.
    pub fn apply_props(
        &mut self,
        props: &[(&str, &str)],
    ) -> Result<Vec<String>, crate::ConfigError> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "accept" => self.accept = crate::props::parse_yes_no(v, "accept")?,
                "port" => {
                    self.port = v.parse().map_err(|_| crate::ConfigError {
                        field: "port",
                        reason: format!("bad port {v:?}"),
                    })?
                }
                other => unknown.push(other.to_string()),
            }
        }
        Ok(unknown)
    }

    /// The properties [`DaeConfig::apply_props`] reads back (defaults left out).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if self.accept {
            p.push(("accept", "yes".to_string()));
        }
        if self.port != 3799 {
            p.push(("port", self.port.to_string()));
        }
        p
    }
}
