//! A real-UDP driver for the sans-IO RADIUS client and Dynamic Authorization server of
//! [`ppp::radius`]: one socket for Access/Accounting requests ([`RadiusUdp`]), one for the
//! `/radius incoming` port ([`DaeUdp`]), and the glue a PPP server example needs to
//! authenticate and account through RADIUS ([`RadiusAaa`]).
//!
//! ```text
//!  RadiusUdp::poll(now):  client.poll_transmit -> send_to      (requests, retransmissions)
//!                         recv_from (non-blocking) -> client.handle_datagram
//!                         client.poll_timeout <= now -> client.handle_timeout
//!  RadiusUdp::poll_event  -> RadiusEvent (Accept/Reject/Challenge/AccountingDone/Timeout)
//!
//!  DaeUdp::poll(now):     recv_from -> server.handle_datagram; answers -> send_to
//!  DaeUdp::poll_event     -> DaeEvent::Disconnect / Coa; DaeUdp::respond(now, token, outcome)
//! ```
//!
//! Sockets are non-blocking: call `poll` from the program's own loop, and bound its sleep by
//! [`RadiusUdp::poll_timeout`]. [`RadiusUdp::wait_for`] is a blocking convenience for tests and
//! one-shot tools.

use ppp::radius::{
    DaeConfig, DaeEvent, DaeOutcome, DaeServer, HostBridge, RadiusClient, RadiusConfig,
    RadiusEvent, RequestHandle,
};
use rand_core::{RngCore, SeedableRng};
use std::collections::VecDeque;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// [`RadiusClient`] on a UDP socket.
pub struct RadiusUdp {
    client: RadiusClient,
    sock: UdpSocket,
    held: VecDeque<RadiusEvent>,
}

impl RadiusUdp {
    /// A client for `cfg` on an ephemeral port of the first server's `src_address` (any address
    /// when unspecified), with a CSPRNG seeded from the OS.
    pub fn new(cfg: RadiusConfig) -> Result<Self, String> {
        let bind = cfg
            .servers
            .first()
            .map(|s| s.src_address)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let sock = UdpSocket::bind(SocketAddr::new(bind, 0)).map_err(|e| format!("radius: {e}"))?;
        sock.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut os = crate::sys::OsRng::new().map_err(|e| e.to_string())?;
        let mut seed = [0u8; 32];
        os.fill_bytes(&mut seed);
        let rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        let client =
            RadiusClient::new(cfg, Instant::now(), rng).map_err(|e| format!("radius: {e}"))?;
        Ok(RadiusUdp {
            client,
            sock,
            held: VecDeque::new(),
        })
    }

    /// The sans-IO client (to send requests).
    pub fn client(&mut self) -> &mut RadiusClient {
        &mut self.client
    }

    /// The socket's address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.sock.local_addr().ok()
    }

    /// Send what is queued, take every datagram that arrived, fire due timers, send again.
    pub fn poll(&mut self, now: Instant) {
        self.flush(now);
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = self.sock.recv_from(&mut buf) {
            let r = self.client.handle_datagram(now, from, &buf[..n]);
            if let ppp::radius::Input::Dropped(why) = r {
                tracing::debug!("radius: dropped a datagram from {from}: {why:?}");
            }
        }
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        self.flush(now);
    }

    fn flush(&mut self, now: Instant) {
        while let Some(t) = self.client.poll_transmit(now) {
            if let Err(e) = self.sock.send_to(&t.payload, t.destination) {
                tracing::warn!("radius: send to {}: {e}", t.destination);
            }
        }
    }

    /// The client's next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.client.poll_timeout()
    }

    /// The next event (events held back by [`RadiusUdp::wait_for`] first).
    pub fn poll_event(&mut self) -> Option<RadiusEvent> {
        self.held.pop_front().or_else(|| self.client.poll_event())
    }

    /// Block until request `h` is answered or timed out (at most `max`); events for other
    /// requests are kept for [`RadiusUdp::poll_event`].
    pub fn wait_for(&mut self, h: RequestHandle, max: Duration) -> Result<RadiusEvent, String> {
        let end = Instant::now() + max;
        loop {
            let now = Instant::now();
            self.poll(now);
            while let Some(ev) = self.client.poll_event() {
                let mine = match &ev {
                    RadiusEvent::Accept { handle, .. }
                    | RadiusEvent::Reject { handle, .. }
                    | RadiusEvent::Challenge { handle, .. }
                    | RadiusEvent::AccountingDone { handle }
                    | RadiusEvent::Timeout { handle } => *handle == h,
                    _ => false,
                };
                if mine {
                    return Ok(ev);
                }
                self.held.push_back(ev);
            }
            if now >= end {
                return Err(format!("radius: no answer to {h:?} within {max:?}"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// [`DaeServer`] (RFC 5176 Disconnect/CoA, RouterOS `/radius incoming`) on a UDP socket.
pub struct DaeUdp {
    server: DaeServer,
    sock: UdpSocket,
}

impl DaeUdp {
    /// Listen on `bind` (RouterOS `/radius incoming port`, 3799).
    pub fn new(cfg: DaeConfig, bind: SocketAddr) -> Result<Self, String> {
        let sock = UdpSocket::bind(bind).map_err(|e| format!("radius incoming {bind}: {e}"))?;
        sock.set_nonblocking(true).map_err(|e| e.to_string())?;
        Ok(DaeUdp {
            server: DaeServer::new(cfg, Instant::now()),
            sock,
        })
    }

    /// The listening address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.sock.local_addr().ok()
    }

    /// Take every datagram that arrived, send the answers, expire old ones.
    pub fn poll(&mut self, now: Instant) {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = self.sock.recv_from(&mut buf) {
            let r = self.server.handle_datagram(now, from, &buf[..n]);
            if let ppp::radius::DaeInput::Dropped(why) = r {
                tracing::debug!("radius incoming: dropped a datagram from {from}: {why:?}");
            }
        }
        if self.server.poll_timeout().is_some_and(|t| t <= now) {
            self.server.handle_timeout(now);
        }
        self.flush(now);
    }

    fn flush(&mut self, now: Instant) {
        while let Some(t) = self.server.poll_transmit(now) {
            let _ = self.sock.send_to(&t.payload, t.destination);
        }
    }

    /// The next verified request.
    pub fn poll_event(&mut self) -> Option<DaeEvent> {
        self.server.poll_event()
    }

    /// Answer a request (and send the answer).
    pub fn respond(&mut self, now: Instant, token: ppp::radius::DaeToken, outcome: DaeOutcome) {
        self.server.respond(now, token, outcome);
        self.flush(now);
    }
}

/// What a PPP server example needs to use RADIUS (`/radius` + `/ppp aaa use-radius=yes`):
/// the UDP client, the [`HostBridge`] between the PPP host's events and RADIUS, and the
/// optional `/radius incoming` listener.
pub struct RadiusAaa<K> {
    /// The client and its socket.
    pub udp: RadiusUdp,
    /// Pending logins and per-session Class.
    pub bridge: HostBridge<K>,
    /// `/radius incoming` (Disconnect-Request, CoA-Request), when enabled.
    pub dae: Option<DaeUdp>,
}

impl<K: Clone + Eq + Hash> RadiusAaa<K> {
    /// A client for `cfg`; accounting records go to RADIUS when `accounting`.
    pub fn new(cfg: RadiusConfig, accounting: bool, dae: Option<DaeUdp>) -> Result<Self, String> {
        let mut bridge = HostBridge::new();
        bridge.set_accounting(accounting);
        Ok(RadiusAaa {
            udp: RadiusUdp::new(cfg)?,
            bridge,
            dae,
        })
    }

    /// Feed a PPP host event (AuthRequest -> Access-Request, Accounting -> Accounting-Request).
    pub fn handle_server_event(&mut self, now: Instant, ev: &ppp::host::ServerEvent<K>) {
        if let Err(e) = self.bridge.handle_server_event(now, ev, self.udp.client()) {
            tracing::warn!("radius: {e}");
        }
        self.udp.poll(now);
    }

    /// Drive the sockets; returns the verdicts to hand to the host (`auth_verdict(key, id,
    /// verdict)`) and the Disconnect/CoA requests to act on.
    pub fn poll(&mut self, now: Instant) -> (Vec<(K, u64, ppp::Verdict)>, Vec<DaeEvent>) {
        self.udp.poll(now);
        let mut verdicts = Vec::new();
        while let Some(ev) = self.udp.poll_event() {
            match self.bridge.verdict_for(ev) {
                Ok(v) => verdicts.push(v),
                Err(RadiusEvent::ServerDead { server, .. }) => {
                    tracing::warn!("radius: server {server} is not responding")
                }
                Err(RadiusEvent::Timeout { .. }) => {
                    tracing::warn!("radius: accounting request timed out")
                }
                Err(_) => {}
            }
        }
        let mut dae = Vec::new();
        if let Some(d) = self.dae.as_mut() {
            d.poll(now);
            while let Some(e) = d.poll_event() {
                dae.push(e);
            }
        }
        (verdicts, dae)
    }

    /// The next deadline of the client.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.udp.poll_timeout()
    }
}

/// The sessions of `host` a Disconnect-Request or CoA-Request names: every identification
/// attribute it carries (Acct-Session-Id as the host's accounting id in 8 hex digits,
/// User-Name, Framed-IP-Address) must match; a request with none of them names nothing.
pub fn sessions_named<K: Clone + Eq + Hash>(
    host: &ppp::host::Server<K>,
    identity: &ppp::radius::dae::SessionIdentity,
) -> Vec<K> {
    host.keys()
        .filter(|k| {
            let by_id = identity.acct_session_id.as_ref().map(|want| {
                host.accounting_id(k)
                    .is_some_and(|id| &format!("{id:08X}") == want)
            });
            let by_user = identity
                .user_name
                .as_ref()
                .map(|u| host.session(k).is_some_and(|p| p.user() == u));
            let by_ip = identity.framed_ip_address.map(|a| {
                host.session(k)
                    .and_then(|p| p.ipv4())
                    .is_some_and(|i| i.remote == a)
            });
            let given: Vec<bool> = [by_id, by_user, by_ip].into_iter().flatten().collect();
            !given.is_empty() && given.iter().all(|b| *b)
        })
        .cloned()
        .collect()
}

impl<K: Clone + Eq + Hash + std::fmt::Debug> RadiusAaa<K> {
    /// For transports that expose their PPP host (`host_mut()`): hand RADIUS verdicts to it,
    /// end the sessions a Disconnect-Request names (`host.close`, then Disconnect-ACK; NAK
    /// Session-Context-Not-Found when none matches), refuse CoA-Request (NAK
    /// Unsupported-Service: not applied by the examples). Prints `RADIUS ACCEPT|REJECT key`
    /// and `RADIUS DISCONNECT key`.
    pub fn drive_host(&mut self, now: Instant, host: &mut ppp::host::Server<K>) {
        let (verdicts, dae) = self.poll(now);
        for (key, id, v) in verdicts {
            println!("RADIUS {} {key:?}", verdict_word(&v));
            if let Err(e) = host.auth_verdict(now, &key, id, v) {
                tracing::debug!("radius verdict for {key:?}: {e}");
            }
        }
        for e in dae {
            let (token, identity, disconnect) = match e {
                DaeEvent::Disconnect {
                    token, identity, ..
                } => (token, identity, true),
                DaeEvent::Coa {
                    token, identity, ..
                } => (token, identity, false),
                _ => continue,
            };
            let keys = sessions_named(host, &identity);
            let outcome = if !disconnect {
                DaeOutcome::Nak(ppp::radius::ErrorCause::UnsupportedService)
            } else if keys.is_empty() {
                println!("RADIUS DISCONNECT no session for {identity:?}");
                DaeOutcome::Nak(ppp::radius::ErrorCause::SessionContextNotFound)
            } else {
                for k in keys {
                    println!("RADIUS DISCONNECT {k:?}");
                    let _ = host.close(now, &k, "RADIUS Disconnect-Request");
                }
                DaeOutcome::Ack
            };
            if let Some(d) = self.dae.as_mut() {
                d.respond(now, token, outcome);
            }
        }
    }
}

/// `ACCEPT framed-ip=A`, `ACCEPT` or `REJECT`: what a server example prints for a verdict.
pub fn verdict_word(v: &ppp::Verdict) -> String {
    match v {
        ppp::Verdict::Accept { attributes, .. } => match attributes.remote_address {
            Some(a) => format!("ACCEPT framed-ip={a}"),
            None => "ACCEPT".to_string(),
        },
        _ => "REJECT".to_string(),
    }
}

/// Build the [`RadiusAaa`] of a PPP server example from resolved settings
/// ([`crate::ppp_cli::RadiusArgs::resolve`]); the `/radius incoming` listener binds `bind`.
/// Prints `RADIUS servers accounting=.. interim-update=..` and `RADIUS INCOMING addr`.
pub fn from_settings<K: Clone + Eq + Hash>(
    r: &crate::rsc_config::RadiusRsc,
    bind: IpAddr,
) -> Result<RadiusAaa<K>, String> {
    let dae = match r.dae_config() {
        Some(d) => {
            let at = SocketAddr::new(bind, d.port);
            let u = DaeUdp::new(d, at)?;
            println!("RADIUS INCOMING {}", u.local_addr().unwrap_or(at));
            Some(u)
        }
        None => None,
    };
    let cfg = r.client_config().ok_or("RADIUS: no server")?;
    let servers: Vec<String> = cfg
        .servers
        .iter()
        .map(|s| s.auth_addr().to_string())
        .collect();
    println!(
        "RADIUS {} accounting={} interim-update={}s",
        servers.join(","),
        ppp::props::yes_no(r.aaa.accounting),
        r.aaa.interim_update.as_secs()
    );
    RadiusAaa::new(cfg, r.aaa.accounting, dae)
}

/// `auth-method=eap-radius` for `ipsec-ike` (RouterOS `/ip ipsec identity auth-method=
/// eap-radius`): an [`ipsec_ike::eap::EapBackend`] that passes the peer's EAP messages to a
/// RADIUS server (RFC 3579: EAP-Message with Message-Authenticator, State echoed) and returns
/// the server's requests, then the MSK from the Access-Accept's MS-MPPE-Recv-Key followed by
/// MS-MPPE-Send-Key (RFC 3579 s3.2 / RFC 5247: the first and second half of the MSK).
///
/// The hook is synchronous, so each step blocks on one RADIUS round trip (with the client's
/// retransmissions and failover) for at most `timeout`: fine for an example and a test, not
/// for a gateway serving many peers at once.
pub struct RadiusEapBackend {
    udp: RadiusUdp,
    sessions: std::collections::HashMap<u64, (String, Option<Vec<u8>>)>,
    timeout: Duration,
}

impl RadiusEapBackend {
    /// A backend asking the servers of `cfg`, waiting at most `timeout` per step.
    pub fn new(cfg: RadiusConfig, timeout: Duration) -> Result<Self, String> {
        Ok(RadiusEapBackend {
            udp: RadiusUdp::new(cfg)?,
            sessions: std::collections::HashMap::new(),
            timeout,
        })
    }

    fn ask(&mut self, session: u64, message: &[u8]) -> ipsec_ike::eap::EapStep {
        use ipsec_ike::eap::EapStep;
        let failure = |id: u8| vec![ipsec_ike::eap::FAILURE, id, 0, 4];
        let id = message.get(1).copied().unwrap_or(0);
        let Some((user, state)) = self.sessions.get(&session).cloned() else {
            return EapStep::Failure(failure(id));
        };
        let mut req = ppp::radius::AccessRequest::new(
            user,
            ppp::radius::Credentials::Eap {
                message: message.to_vec(),
            },
        );
        req.state = state;
        req.nas_port_type = Some(5); // Virtual (RFC 2865 s5.41)
        let sent = self.udp.client().send_access_request(Instant::now(), req);
        let ev = match sent {
            Ok(h) => self.udp.wait_for(h, self.timeout),
            Err(e) => Err(e.to_string()),
        };
        match ev {
            Ok(RadiusEvent::Challenge { reply, .. }) => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.1 = reply.state.clone();
                }
                match reply.eap_message.clone() {
                    Some(m) => EapStep::Continue(m),
                    None => {
                        self.sessions.remove(&session);
                        EapStep::Failure(failure(id))
                    }
                }
            }
            Ok(RadiusEvent::Accept { reply, .. }) => {
                self.sessions.remove(&session);
                let mut msk = Vec::new();
                if let (Some(r), Some(s)) = (&reply.mppe_recv_key, &reply.mppe_send_key) {
                    msk.extend_from_slice(r);
                    msk.extend_from_slice(s);
                }
                EapStep::Success {
                    message: reply
                        .eap_message
                        .clone()
                        .unwrap_or_else(|| vec![ipsec_ike::eap::SUCCESS, id, 0, 4]),
                    msk,
                }
            }
            Ok(RadiusEvent::Reject { reply, .. }) => {
                self.sessions.remove(&session);
                EapStep::Failure(reply.eap_message.clone().unwrap_or_else(|| failure(id)))
            }
            Ok(_) | Err(_) => {
                self.sessions.remove(&session);
                EapStep::Failure(failure(id))
            }
        }
    }
}

impl ipsec_ike::eap::EapBackend for RadiusEapBackend {
    fn start(&mut self, session: u64, identity: &[u8]) -> ipsec_ike::eap::EapStep {
        let user = String::from_utf8_lossy(identity).into_owned();
        self.sessions.insert(session, (user, None));
        // RFC 3579 s2.1: the NAS starts with the peer's identity as an EAP-Response/Identity.
        let first = ipsec_ike::eap::EapPacket {
            code: ipsec_ike::eap::RESPONSE,
            id: 0,
            typ: Some(ipsec_ike::eap::TYPE_IDENTITY),
            data: identity.to_vec(),
        }
        .to_bytes();
        self.ask(session, &first)
    }

    fn step(&mut self, session: u64, message: &[u8]) -> ipsec_ike::eap::EapStep {
        self.ask(session, message)
    }
}
