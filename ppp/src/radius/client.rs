//! [`RadiusClient`]: requests to several servers with timeout, retransmission, failover and
//! dead-time; replies matched and checked.

use super::access::{AccessRequest, Reply};
use super::config::{RadiusConfig, RadiusConfigError};
use super::crypto::{self, Signing, VerifyError};
use super::wire::{attr, Attribute, BuildError, Code, Packet, ParseError};
use rand_core::{CryptoRng, RngCore};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to (server address and port).
    pub destination: SocketAddr,
    /// The source address to send from (`src-address`), `None` for any.
    pub source: Option<IpAddr>,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// Names a request in the events about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestHandle(pub u64);

/// What became of a request (or of a server).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RadiusEvent {
    /// Access-Accept, verified.
    Accept {
        /// The request.
        handle: RequestHandle,
        /// The mapped reply.
        reply: Box<Reply>,
    },
    /// Access-Reject, verified (`reply.reply_message` says why, if the server said).
    Reject {
        /// The request.
        handle: RequestHandle,
        /// The mapped reply.
        reply: Box<Reply>,
    },
    /// Access-Challenge, verified: send a new request with `reply.state` (and the peer's
    /// next EAP packet for `reply.eap_message`).
    Challenge {
        /// The request.
        handle: RequestHandle,
        /// The mapped reply.
        reply: Box<Reply>,
    },
    /// Accounting-Response, verified.
    AccountingDone {
        /// The request.
        handle: RequestHandle,
    },
    /// No server answered (every server tried `retransmits + 1` times).
    Timeout {
        /// The request.
        handle: RequestHandle,
    },
    /// A server let a request time out and is skipped until `until`.
    ServerDead {
        /// Index into [`RadiusConfig::servers`].
        server: usize,
        /// End of its dead-time.
        until: Instant,
    },
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// More than 4096 octets.
    Oversized,
    /// An attribute runs past the packet (or has a length below 2).
    TruncatedAttribute,
    /// Not a RADIUS packet otherwise.
    Malformed(ParseError),
    /// Not from a configured server's authentication or accounting port.
    UnknownSource,
    /// No request of this identifier is outstanding at that server.
    UnknownId,
    /// The identifier belongs to a request sent to another server (or to the other port).
    WrongServer,
    /// The code does not answer the request (e.g. an Accounting-Response to an
    /// Access-Request).
    UnexpectedCode,
    /// The Response Authenticator does not match.
    WrongAuthenticator,
    /// The Message-Authenticator does not match, or is missing where required (an
    /// EAP-Message reply, or `require_message_authenticator`).
    BadMessageAuthenticator,
}

/// What became of a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// It answered a request (an event is queued).
    Delivered,
    /// It was dropped.
    Dropped(DropReason),
}

/// A request could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RadiusError {
    /// Every `/radius` entry is `disabled`.
    #[error("every /radius entry is disabled")]
    NoServer,
    /// Every server has `max_outstanding` requests in flight.
    #[error("no identifier free at any server")]
    NoIdAvailable,
    /// The request does not fit a packet.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Client counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests sent (first transmissions, including to a failover server).
    pub sent: u64,
    /// Retransmissions.
    pub retransmitted: u64,
    /// Failovers to another server.
    pub failovers: u64,
    /// Replies delivered.
    pub delivered: u64,
    /// Requests that timed out at every server.
    pub timeouts: u64,
    /// Datagrams dropped.
    pub dropped: u64,
}

#[derive(Debug, Clone)]
enum Body {
    Access(Box<AccessRequest>),
    Accounting(Vec<Attribute>),
}

impl Body {
    fn is_acct(&self) -> bool {
        matches!(self, Body::Accounting(_))
    }
}

#[derive(Debug)]
struct Pending {
    body: Body,
    server: usize,
    id: u8,
    authenticator: [u8; 16],
    bytes: Vec<u8>,
    tries: u32,
    deadline: Instant,
    tried: Vec<usize>,
}

struct ServerState {
    dead_until: Option<Instant>,
    used: Box<[bool; 256]>,
    outstanding: usize,
    next_id: u8,
}

/// A sans-IO RADIUS client (RFC 2865 access, RFC 2866 accounting).
///
/// # Contract
/// * **Inputs**: [`RadiusClient::send_access_request`] and [`RadiusClient::send_accounting`]
///   start a request and return its handle; [`RadiusClient::handle_datagram`] takes every
///   datagram received on the client's socket with its source; [`RadiusClient::handle_timeout`]
///   is called when [`RadiusClient::poll_timeout`]'s deadline passes.
/// * **Outputs**: after every input, drain [`RadiusClient::poll_transmit`] (datagrams to send)
///   and [`RadiusClient::poll_event`] (results) until `None`, then re-arm the timer from
///   [`RadiusClient::poll_timeout`].
/// * `now` must not go backwards. Randomness (Request Authenticators) comes from the RNG
///   given to [`RadiusClient::new`].
///
/// # Rules it follows
/// * A request goes to the first server that is not dead and has an identifier free. After
///   `timeout` without a valid reply it is sent again, the *same octets* (identifier and
///   authenticator unchanged: a server's duplicate detection depends on it, RFC 5080 s2.2.1);
///   after `retransmits` retransmissions the server is marked dead for `dead_time`
///   ([`RadiusEvent::ServerDead`]) and the request moves to the next untried server with a new
///   identifier and authenticator (and, for PAP, the password hidden again for that server's
///   secret). When no untried server is left: [`RadiusEvent::Timeout`].
/// * A reply is taken only from the server and port the request went to, with an
///   outstanding identifier, an answering code and a correct Response Authenticator (and
///   Message-Authenticator when present); anything else is dropped with a [`DropReason`]
///   and the request keeps waiting.
/// * At most `max_outstanding` (256) requests per server: identifiers are 8 bits.
pub struct RadiusClient {
    config: RadiusConfig,
    rng: Box<dyn RngCore + Send>,
    servers: Vec<ServerState>,
    pending: HashMap<u64, Pending>,
    by_id: HashMap<(usize, u8), u64>,
    timers: BTreeMap<(Instant, u64), ()>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<RadiusEvent>,
    next_handle: u64,
    stats: ClientStats,
}

impl std::fmt::Debug for RadiusClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RadiusClient")
            .field("servers", &self.config.servers.len())
            .field("pending", &self.pending.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl RadiusClient {
    /// A client for `config` (validated), with an injected CSPRNG.
    pub fn new<R: RngCore + CryptoRng + Send + 'static>(
        config: RadiusConfig,
        now: Instant,
        rng: R,
    ) -> Result<Self, RadiusConfigError> {
        let _ = now;
        config.validate()?;
        let servers = config
            .servers
            .iter()
            .map(|_| ServerState {
                dead_until: None,
                used: Box::new([false; 256]),
                outstanding: 0,
                next_id: 0,
            })
            .collect();
        Ok(RadiusClient {
            config,
            rng: Box::new(rng),
            servers,
            pending: HashMap::new(),
            by_id: HashMap::new(),
            timers: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_handle: 1,
            stats: ClientStats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RadiusConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// Requests in flight.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// Whether server `i` is in its dead-time at `now`.
    pub fn is_dead(&self, i: usize, now: Instant) -> bool {
        self.servers
            .get(i)
            .and_then(|s| s.dead_until)
            .is_some_and(|t| t > now)
    }

    /// Send an Access-Request.
    pub fn send_access_request(
        &mut self,
        now: Instant,
        request: AccessRequest,
    ) -> Result<RequestHandle, RadiusError> {
        self.start(now, Body::Access(Box::new(request)))
    }

    /// Send an Accounting-Request with these attributes (see
    /// [`AccountingRequest::attributes`](super::AccountingRequest::attributes)).
    pub fn send_accounting(
        &mut self,
        now: Instant,
        attributes: Vec<Attribute>,
    ) -> Result<RequestHandle, RadiusError> {
        self.start(now, Body::Accounting(attributes))
    }

    /// Forget a request (its late reply will be dropped as [`DropReason::UnknownId`]).
    pub fn cancel(&mut self, handle: RequestHandle) {
        if let Some(p) = self.pending.remove(&handle.0) {
            self.release(&p, handle.0);
        }
    }

    fn start(&mut self, now: Instant, body: Body) -> Result<RequestHandle, RadiusError> {
        if self.config.servers.iter().all(|s| s.disabled) {
            return Err(RadiusError::NoServer);
        }
        let server = self
            .pick(now, &[], body.is_acct())
            .ok_or(RadiusError::NoIdAvailable)?;
        let handle = self.next_handle;
        let mut p = Pending {
            body,
            server,
            id: 0,
            authenticator: [0; 16],
            bytes: Vec::new(),
            tries: 0,
            deadline: now,
            tried: Vec::new(),
        };
        self.target(now, &mut p, server)?;
        self.next_handle += 1;
        self.timers.insert((p.deadline, handle), ());
        self.by_id.insert((p.server, p.id), handle);
        self.pending.insert(handle, p);
        Ok(RequestHandle(handle))
    }

    /// The server for a request that has tried `tried`: among the enabled, untried servers
    /// with a free identifier, a live one before a dead one, and (for accounting) a primary
    /// before an `accounting-backup` one; then in configuration order.
    fn pick(&self, now: Instant, tried: &[usize], acct: bool) -> Option<usize> {
        (0..self.servers.len())
            .filter(|&i| {
                !self.config.servers[i].disabled
                    && !tried.contains(&i)
                    && self.servers[i].outstanding < self.config.max_outstanding
            })
            .min_by_key(|&i| {
                let backup = acct && self.config.servers[i].accounting_backup;
                (self.is_dead(i, now), backup, i)
            })
    }

    /// Encode `p` for server `s` with a fresh identifier and authenticator, and send it.
    fn target(&mut self, now: Instant, p: &mut Pending, s: usize) -> Result<(), RadiusError> {
        let st = &self.servers[s];
        let id = (0..=255u8)
            .map(|k| st.next_id.wrapping_add(k))
            .find(|i| !st.used[*i as usize])
            .ok_or(RadiusError::NoIdAvailable)?;
        let srv = &self.config.servers[s];
        let secret = srv.secret.as_bytes();
        let mut nas = Vec::new();
        if let IpAddr::V4(a) = srv.src_address {
            if !a.is_unspecified() {
                nas.push(Attribute::ipv4(attr::NAS_IP_ADDRESS, a));
            }
        }
        if let Some(n) = &self.config.nas_identifier {
            nas.push(Attribute::new(attr::NAS_IDENTIFIER, n.as_bytes()));
        }
        if let (Some(c), Body::Access(req)) = (&srv.called_id, &p.body) {
            if req.called_station_id.is_none() {
                nas.push(Attribute::new(attr::CALLED_STATION_ID, c.as_bytes()));
            }
        }
        let (bytes, authenticator) = match &p.body {
            Body::Access(req) => {
                let mut auth = [0u8; 16];
                self.rng.fill_bytes(&mut auth);
                let mut pkt = Packet::new(Code::AccessRequest, id, auth);
                // Message-Authenticator on every Access-Request (RFC 3579 s3.2 allows it;
                // it is what protects a reply without EAP from forgery, CVE-2024-3596).
                pkt.attributes = req.attributes(secret, &auth, true)?;
                let ma = pkt.attributes.pop();
                pkt.attributes.extend(nas);
                pkt.attributes.extend(ma);
                let mut b = pkt.to_bytes()?;
                crypto::sign(&mut b, Signing::AccessRequest, secret);
                (b, auth)
            }
            Body::Accounting(attrs) => {
                let mut pkt = Packet::new(Code::AccountingRequest, id, [0; 16]);
                pkt.attributes = attrs.clone();
                pkt.attributes.extend(nas);
                let mut b = pkt.to_bytes()?;
                crypto::sign(&mut b, Signing::ComputedRequest, secret);
                let a: [u8; 16] = b[4..20].try_into().unwrap_or([0; 16]);
                (b, a)
            }
        };
        let st = &mut self.servers[s];
        st.used[id as usize] = true;
        st.outstanding += 1;
        st.next_id = id.wrapping_add(1);
        let dest = if p.body.is_acct() {
            srv.acct_addr()
        } else {
            srv.auth_addr()
        };
        let source = (!srv.src_address.is_unspecified()).then_some(srv.src_address);
        p.server = s;
        p.id = id;
        p.authenticator = authenticator;
        p.bytes = bytes;
        p.tries = 1;
        p.deadline = now + srv.timeout;
        p.tried.push(s);
        self.transmits.push_back(Transmit {
            destination: dest,
            source,
            payload: p.bytes.clone(),
        });
        self.stats.sent += 1;
        Ok(())
    }

    fn release(&mut self, p: &Pending, handle: u64) {
        let st = &mut self.servers[p.server];
        if st.used[p.id as usize] {
            st.used[p.id as usize] = false;
            st.outstanding -= 1;
        }
        self.by_id.remove(&(p.server, p.id));
        self.timers.remove(&(p.deadline, handle));
    }

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(t, _)| *t)
    }

    /// Retransmit, fail over or time out every request whose deadline is `<= now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((&(t, h), _)) = self.timers.iter().next() {
            if t > now {
                break;
            }
            self.timers.remove(&(t, h));
            let Some(mut p) = self.pending.remove(&h) else {
                continue;
            };
            if p.tries <= self.config.retransmits {
                p.tries += 1;
                let srv = &self.config.servers[p.server];
                p.deadline = now + srv.timeout;
                let dest = if p.body.is_acct() {
                    srv.acct_addr()
                } else {
                    srv.auth_addr()
                };
                self.transmits.push_back(Transmit {
                    destination: dest,
                    source: (!srv.src_address.is_unspecified()).then_some(srv.src_address),
                    payload: p.bytes.clone(),
                });
                self.stats.retransmitted += 1;
                self.timers.insert((p.deadline, h), ());
                self.pending.insert(h, p);
                continue;
            }
            // This server failed the request: dead-time, then the next server.
            self.release(&p, h);
            let until = now + self.config.dead_time;
            self.servers[p.server].dead_until = Some(until);
            self.events.push_back(RadiusEvent::ServerDead {
                server: p.server,
                until,
            });
            let next = self.pick(now, &p.tried, p.body.is_acct());
            let moved = match next {
                Some(s) => self.target(now, &mut p, s).is_ok(),
                None => false,
            };
            if moved {
                self.stats.failovers += 1;
                self.timers.insert((p.deadline, h), ());
                self.by_id.insert((p.server, p.id), h);
                self.pending.insert(h, p);
            } else {
                self.stats.timeouts += 1;
                self.events.push_back(RadiusEvent::Timeout {
                    handle: RequestHandle(h),
                });
            }
        }
    }

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Input {
        let r = self.datagram(now, from, bytes);
        if let Input::Dropped(_) = r {
            self.stats.dropped += 1;
        } else {
            self.stats.delivered += 1;
        }
        r
    }

    fn datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Input {
        let _ = now;
        let Some((s, acct)) = self.config.servers.iter().enumerate().find_map(|(i, v)| {
            if from == v.auth_addr() {
                Some((i, false))
            } else if from == v.acct_addr() {
                Some((i, true))
            } else {
                None
            }
        }) else {
            return Input::Dropped(DropReason::UnknownSource);
        };
        let pkt = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(ParseError::Oversized { .. }) => return Input::Dropped(DropReason::Oversized),
            Err(ParseError::AttributeTruncated { .. } | ParseError::AttributeLength { .. }) => {
                return Input::Dropped(DropReason::TruncatedAttribute)
            }
            Err(e) => return Input::Dropped(DropReason::Malformed(e)),
        };
        let Some(&h) = self.by_id.get(&(s, pkt.id)) else {
            let elsewhere = self.by_id.keys().any(|&(o, id)| o != s && id == pkt.id);
            return Input::Dropped(if elsewhere {
                DropReason::WrongServer
            } else {
                DropReason::UnknownId
            });
        };
        let Some(p) = self.pending.get(&h) else {
            return Input::Dropped(DropReason::UnknownId);
        };
        if p.body.is_acct() != acct {
            return Input::Dropped(DropReason::WrongServer);
        }
        let code_ok = if acct {
            pkt.code == Code::AccountingResponse
        } else {
            matches!(
                pkt.code,
                Code::AccessAccept | Code::AccessReject | Code::AccessChallenge
            )
        };
        if !code_ok {
            return Input::Dropped(DropReason::UnexpectedCode);
        }
        let secret = self.config.servers[s].secret.clone();
        let secret = secret.as_bytes();
        let len = u16::from_be_bytes([bytes[2], bytes[3]]) as usize;
        let require_ma = !acct
            && (self.config.servers[s].require_message_authenticator
                || pkt.get(attr::EAP_MESSAGE).is_some());
        match crypto::verify(
            &bytes[..len],
            Signing::Response(&p.authenticator),
            secret,
            require_ma,
        ) {
            Ok(()) => {}
            Err(VerifyError::Authenticator) => {
                return Input::Dropped(DropReason::WrongAuthenticator)
            }
            Err(_) => return Input::Dropped(DropReason::BadMessageAuthenticator),
        }
        let Some(p) = self.pending.remove(&h) else {
            return Input::Dropped(DropReason::UnknownId);
        };
        self.release(&p, h);
        self.servers[s].dead_until = None;
        let handle = RequestHandle(h);
        let ev = match pkt.code {
            Code::AccountingResponse => RadiusEvent::AccountingDone { handle },
            code => {
                let reply = Box::new(Reply::from_packet(&pkt, secret, &p.authenticator));
                match code {
                    Code::AccessAccept => RadiusEvent::Accept { handle, reply },
                    Code::AccessReject => RadiusEvent::Reject { handle, reply },
                    _ => RadiusEvent::Challenge { handle, reply },
                }
            }
        };
        self.events.push_back(ev);
        Input::Delivered
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        let _ = now;
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RadiusEvent> {
        let e = self.poll_event_untraced();
        trace_event!("ppp::radius::client", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<RadiusEvent> {
        self.events.pop_front()
    }
}
