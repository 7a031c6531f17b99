//! [`Client`]: the RouterOS PPPoE client (`/interface pppoe-client`): discovery with
//! retransmission, then PPP on a [`ppp::host::Client`].

use crate::config::ClientConfig;
use crate::error::{DropReason, Error};
use crate::event::{ClientEvent, DownReason, Input, Offer, SessionKey, Transmit};
use crate::wire::{self, tag, Code, Discovery, Frame, Mac, BROADCAST, ETHERTYPE_SESSION};
use ppp::host::SharedRng;
use rand_core::{CryptoRng, RngCore};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
enum Phase {
    /// Waiting for the PPP client to dial (redial timer, dial-on-demand, disabled).
    Idle,
    /// PADI sent, collecting PADOs.
    Discovery {
        attempt: u32,
        timeout: Duration,
        deadline: Instant,
    },
    /// PADR sent to `ac`, waiting for the PADS.
    Request {
        ac: Mac,
        ac_name: String,
        service: String,
        padr: Vec<u8>,
        attempt: u32,
        timeout: Duration,
        deadline: Instant,
    },
    /// PADS received: PPP runs on (ac, id).
    Session { ac: Mac, id: u16 },
}

/// Client counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// PADIs sent.
    pub padi_sent: u64,
    /// PADRs sent.
    pub padr_sent: u64,
    /// PADTs sent.
    pub padt_sent: u64,
    /// Sessions reached (PADS received).
    pub sessions: u64,
    /// Frames dropped.
    pub dropped: u64,
}

/// The PPPoE client.
///
/// # Contract
/// * **Getters**: [`Client::status`], [`Client::session`], [`Client::ppp`],
///   [`Client::stats`].
/// * **Inputs**: [`Client::handle_frame`] for every frame of EtherType 0x8863/0x8864 that
///   reaches the port (any destination: filtering is done here),
///   [`Client::handle_timeout`], [`Client::dial`], [`Client::hang_up`], [`Client::demand`]
///   (dial-on-demand).
/// * **Data path**: [`Client::send_datagram`] writes an IP packet as a complete session
///   frame into a caller buffer (no allocation); received datagrams come back from
///   `handle_frame` as [`Input::Datagram`], decrypted in place.
/// * **Outputs**: after every input drain [`Client::poll_transmit`] and
///   [`Client::poll_event`] until `None`, then arm a timer for [`Client::poll_timeout`].
///   Time must not go backwards.
/// * Randomness: the RNG given to [`Client::new`] draws the Host-Uniq of each dial and is
///   shared with the PPP client (magic numbers, challenges).
///
/// # Discovery timers (RFC 2516 s5/s8)
/// A PADI is sent at once; without a usable PADO it is resent after
/// [`ClientConfig::discovery_timeout`] (1 s), the wait doubling each time up to
/// [`ClientConfig::max_discovery_timeout`] (32 s), forever (RouterOS keeps dialing). A PADR
/// is resent the same way ([`ClientConfig::padr_attempts`] = 3 transmissions), then
/// discovery starts over with a PADI.
pub struct Client {
    config: ClientConfig,
    host: ppp::host::Client,
    rng: SharedRng,
    phase: Phase,
    host_uniq: Vec<u8>,
    out: VecDeque<Transmit>,
    events: VecDeque<ClientEvent>,
    now: Instant,
    stats: ClientStats,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("phase", &self.phase)
            .field("status", &self.host.status())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client; without `dial-on-demand` it starts discovery at once.
    pub fn new<R>(config: ClientConfig, now: Instant, rng: R) -> Result<Self, Error>
    where
        R: RngCore + CryptoRng + Send + 'static,
    {
        config.validate()?;
        let rng = SharedRng::new(rng);
        let host = ppp::host::Client::new(config.ppp.clone(), now, rng.clone())?;
        let mut c = Client {
            config,
            host,
            rng,
            phase: Phase::Idle,
            host_uniq: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            now,
            stats: ClientStats::default(),
        };
        c.pump(now);
        Ok(c)
    }

    // ----- getters -----

    /// The RouterOS monitor `status` (`dialing`, `verifying password...`, `connected`,
    /// `disconnected`), from the PPP client.
    pub fn status(&self) -> ppp::Status {
        self.host.status()
    }
    /// The session (AC MAC, SESSION_ID) once a PADS arrived.
    pub fn session(&self) -> Option<SessionKey> {
        match self.phase {
            Phase::Session { ac, id } => Some((ac, id)),
            _ => None,
        }
    }
    /// The PPP client.
    pub fn ppp(&self) -> &ppp::host::Client {
        &self.host
    }
    /// Counters.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }
    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    // ----- outputs -----

    /// Next frame to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        loop {
            if let Some(t) = self.out.pop_front() {
                return Some(t);
            }
            if let Phase::Session { ac, id } = self.phase {
                if let Some(ppp) = self.host.poll_transmit(now) {
                    match self.session_frame(ac, id, &ppp) {
                        Some(t) => return Some(t),
                        None => continue,
                    }
                }
            }
            self.pump(now);
            if self.out.is_empty() {
                return None;
            }
        }
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        let e = self.poll_event_untraced();
        trace_event!("pppoe::client", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ClientEvent> {
        if self.events.is_empty() {
            let now = self.now;
            self.pump(now);
        }
        self.events.pop_front()
    }

    /// Earliest deadline (discovery retransmission, or the PPP client's timers).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let d = match &self.phase {
            Phase::Discovery { deadline, .. } | Phase::Request { deadline, .. } => Some(*deadline),
            _ => None,
        };
        [d, self.host.poll_timeout()].into_iter().flatten().min()
    }

    // ----- inputs -----

    /// Enable and dial now.
    pub fn dial(&mut self, now: Instant) {
        self.now = now;
        self.host.dial(now);
        self.pump(now);
    }

    /// Dial-on-demand: traffic is waiting.
    pub fn demand(&mut self, now: Instant) {
        self.now = now;
        self.host.demand(now);
        self.pump(now);
    }

    /// Disable: end the session (LCP Terminate, then PADT) and do not redial until
    /// [`Client::dial`].
    pub fn hang_up(&mut self, now: Instant) {
        self.now = now;
        self.host.hang_up(now);
        self.pump(now);
    }

    /// Timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        match &mut self.phase {
            Phase::Discovery {
                attempt,
                timeout,
                deadline,
            } if *deadline <= now => {
                // attempt 0: a refused PADS parked discovery; start over at the first timeout.
                let next = if *attempt == 0 {
                    self.config.discovery_timeout
                } else {
                    (*timeout * 2).min(self.config.max_discovery_timeout)
                };
                let a = *attempt + 1;
                self.send_padi(now, a, next);
            }
            Phase::Request {
                padr,
                attempt,
                timeout,
                deadline,
                ..
            } if *deadline <= now => {
                if *attempt >= self.config.padr_attempts {
                    let t = self.config.discovery_timeout;
                    self.send_padi(now, 1, t);
                } else {
                    *attempt += 1;
                    *timeout = (*timeout * 2).min(self.config.max_discovery_timeout);
                    *deadline = now + *timeout;
                    let (a, t) = (*attempt, *timeout);
                    let frame = padr.clone();
                    self.out.push_back(Transmit {
                        dst: frame_dst(&frame),
                        frame,
                    });
                    self.stats.padr_sent += 1;
                    self.events.push_back(ClientEvent::PadrSent {
                        attempt: a,
                        timeout: t,
                    });
                }
            }
            _ => {}
        }
        if self.host.poll_timeout().is_some_and(|d| d <= now) {
            self.host.handle_timeout(now);
        }
        self.pump(now);
    }

    /// One received Ethernet frame (PPPoE EtherTypes; anything else is dropped). Takes the
    /// frame mutably so that MPPE decrypts in place.
    pub fn handle_frame<'a>(&mut self, now: Instant, frame: &'a mut [u8]) -> Input<'a> {
        self.now = now;
        let f = match Frame::parse(frame) {
            Ok(f) => f,
            Err(e) => return self.drop(DropReason::Malformed(e)),
        };
        if f.dst != self.config.mac {
            return self.drop(DropReason::NotForUs);
        }
        if f.ethertype == ETHERTYPE_SESSION {
            let Phase::Session { ac, id } = self.phase else {
                return self.drop(DropReason::UnknownSession);
            };
            if f.src != ac || f.session_id != id {
                return self.drop(DropReason::UnknownSession);
            }
            let start = f.header_len();
            let end = start + f.payload.len();
            let r = match frame.get_mut(start..end) {
                Some(p) => self.host.handle_frame_mut(now, p),
                None => return self.drop(DropReason::UnknownSession),
            };
            let out = match r {
                Ok(ppp::Input::Datagram { protocol, payload }) => Input::Datagram {
                    session: (ac, id),
                    protocol,
                    payload,
                },
                Ok(ppp::Input::Dropped) | Ok(ppp::Input::MppeDropped(_)) | Err(_) => {
                    self.stats.dropped += 1;
                    Input::Dropped(DropReason::Ppp)
                }
                Ok(_) => Input::Control,
            };
            self.pump(now);
            return out;
        }
        let d = match Discovery::from_frame(&f) {
            Ok(d) => d,
            Err(e) => return self.drop(DropReason::Malformed(e)),
        };
        let r = match d.code() {
            Code::PADO => self.on_pado(now, f.src, &d),
            Code::PADS => self.on_pads(now, f.src, &d),
            Code::PADT => self.on_padt(now, f.src, &d),
            c => Err(DropReason::UnexpectedCode(c.0)),
        };
        self.pump(now);
        match r {
            Ok(()) => Input::Discovery,
            Err(e) => self.drop(e),
        }
    }

    /// Write an IP datagram (`protocol` 0x0021 IPv4, 0x0057 IPv6) as a complete session
    /// frame into `out`; returns its length. No allocation. Fails when the session or the
    /// network protocol is not open, or `out` is too small.
    pub fn send_datagram(
        &mut self,
        now: Instant,
        protocol: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let Phase::Session { ac, id } = self.phase else {
            return Err(Error::NoSession);
        };
        let hl = wire::header_len(&self.config.vlans);
        let body = out
            .get_mut(hl..)
            .ok_or(wire::WireError::BufferTooSmall { need: hl, have: 0 })?;
        let n = self.host.encapsulate(now, protocol, payload, body)?;
        wire::emit_header(
            out,
            ac,
            self.config.mac,
            &self.config.vlans,
            ETHERTYPE_SESSION,
            Code::SESSION,
            id,
            n,
        )?;
        Ok(hl + n)
    }

    // ----- internals -----

    fn drop<'a>(&mut self, r: DropReason) -> Input<'a> {
        self.stats.dropped += 1;
        Input::Dropped(r)
    }

    fn session_frame(&mut self, ac: Mac, id: u16, ppp: &[u8]) -> Option<Transmit> {
        let hl = wire::header_len(&self.config.vlans);
        let mut frame = vec![0u8; hl + ppp.len()];
        wire::emit_header(
            &mut frame,
            ac,
            self.config.mac,
            &self.config.vlans,
            ETHERTYPE_SESSION,
            Code::SESSION,
            id,
            ppp.len(),
        )
        .ok()?;
        frame[hl..].copy_from_slice(ppp);
        Some(Transmit { dst: ac, frame })
    }

    fn discovery_frame(&self, dst: Mac, d: &Discovery) -> Option<Transmit> {
        d.emit(dst, self.config.mac, &self.config.vlans)
            .ok()
            .map(|frame| Transmit { dst, frame })
    }

    fn send_padi(&mut self, now: Instant, attempt: u32, timeout: Duration) {
        if attempt == 1 && self.config.host_uniq {
            let mut u = vec![0u8; 8];
            self.rng.fill_bytes(&mut u);
            self.host_uniq = u;
        }
        let mut d = Discovery::new(Code::PADI, 0)
            .with(tag::SERVICE_NAME, self.config.service_name.as_bytes());
        if self.config.host_uniq {
            d = d.with(tag::HOST_UNIQ, self.host_uniq.clone());
        }
        if let Some(p) = self.config.ppp_max_payload {
            d = d.with(tag::PPP_MAX_PAYLOAD, p.to_be_bytes());
        }
        if let Some(t) = self.discovery_frame(BROADCAST, &d) {
            self.out.push_back(t);
        }
        self.stats.padi_sent += 1;
        self.phase = Phase::Discovery {
            attempt,
            timeout,
            deadline: now + timeout,
        };
        self.events
            .push_back(ClientEvent::PadiSent { attempt, timeout });
    }

    fn check_uniq(&self, d: &Discovery) -> Result<(), DropReason> {
        if self.config.host_uniq && d.host_uniq() != Some(self.host_uniq.as_slice()) {
            return Err(DropReason::HostUniqMismatch);
        }
        Ok(())
    }

    fn on_pado(&mut self, now: Instant, src: Mac, d: &Discovery) -> Result<(), DropReason> {
        if !matches!(self.phase, Phase::Discovery { .. }) {
            return Err(DropReason::UnexpectedCode(Code::PADO.0));
        }
        if src[0] & 1 == 1 {
            return Err(DropReason::NotForUs);
        }
        self.check_uniq(d)?;
        let offer = Offer {
            ac_mac: src,
            ac_name: lossy(d.ac_name().unwrap_or_default()),
            services: d.service_names().map(lossy).collect(),
        };
        if let Some((t, text)) = d.error() {
            self.events.push_back(ClientEvent::DiscoveryError {
                code: Code::PADO,
                tag_type: t,
                text: lossy(text),
            });
            self.events.push_back(ClientEvent::Offer {
                offer,
                taken: false,
            });
            return Err(DropReason::ErrorTag(t));
        }
        let want = &self.config.service_name;
        let service = if want.is_empty() {
            offer.services.first().cloned()
        } else {
            offer.services.iter().find(|s| *s == want).cloned()
        };
        let ac_ok = self.config.ac_name.is_empty() || self.config.ac_name == offer.ac_name;
        let (Some(service), true) = (service, ac_ok) else {
            let r = if ac_ok {
                DropReason::ServiceNotOffered
            } else {
                DropReason::AcNameMismatch
            };
            self.events.push_back(ClientEvent::Offer {
                offer,
                taken: false,
            });
            return Err(r);
        };
        let mut padr = Discovery::new(Code::PADR, 0).with(tag::SERVICE_NAME, service.as_bytes());
        if self.config.host_uniq {
            padr = padr.with(tag::HOST_UNIQ, self.host_uniq.clone());
        }
        if let Some(c) = d.ac_cookie() {
            padr = padr.with(tag::AC_COOKIE, c);
        }
        if let Some(r) = d.relay_session_id() {
            padr = padr.with(tag::RELAY_SESSION_ID, r);
        }
        if let Some(p) = self.config.ppp_max_payload {
            padr = padr.with(tag::PPP_MAX_PAYLOAD, p.to_be_bytes());
        }
        let Some(t) = self.discovery_frame(src, &padr) else {
            return Err(DropReason::Malformed(wire::WireError::TooLong("PADR")));
        };
        let timeout = self.config.discovery_timeout;
        self.phase = Phase::Request {
            ac: src,
            ac_name: offer.ac_name.clone(),
            service,
            padr: t.frame.clone(),
            attempt: 1,
            timeout,
            deadline: now + timeout,
        };
        self.out.push_back(t);
        self.stats.padr_sent += 1;
        self.events
            .push_back(ClientEvent::Offer { offer, taken: true });
        self.events.push_back(ClientEvent::PadrSent {
            attempt: 1,
            timeout,
        });
        Ok(())
    }

    fn on_pads(&mut self, now: Instant, src: Mac, d: &Discovery) -> Result<(), DropReason> {
        let Phase::Request {
            ac,
            ac_name,
            service,
            ..
        } = &self.phase
        else {
            return Err(DropReason::UnexpectedCode(Code::PADS.0));
        };
        if src != *ac {
            return Err(DropReason::NotForUs);
        }
        self.check_uniq(d)?;
        if let Some((t, text)) = d.error() {
            self.events.push_back(ClientEvent::DiscoveryError {
                code: Code::PADS,
                tag_type: t,
                text: lossy(text),
            });
            // The AC refused: start over (after the current timeout, so a refusing AC is
            // not hammered).
            let timeout = self.config.discovery_timeout;
            self.phase = Phase::Discovery {
                attempt: 0,
                timeout,
                deadline: now + timeout,
            };
            return Err(DropReason::ErrorTag(t));
        }
        if d.session_id == 0 {
            return Err(DropReason::UnknownSession);
        }
        let (ac, ac_name, service) = (*ac, ac_name.clone(), service.clone());
        let id = d.session_id;
        self.phase = Phase::Session { ac, id };
        self.stats.sessions += 1;
        self.events.push_back(ClientEvent::SessionUp {
            session: (ac, id),
            ac_name,
            service,
            ppp_max_payload: self.config.ppp_max_payload.and(d.ppp_max_payload()),
        });
        if self.host.lower_up(now).is_err() {
            self.end_session(now, DownReason::PppEnded, true);
        }
        Ok(())
    }

    fn on_padt(&mut self, now: Instant, src: Mac, d: &Discovery) -> Result<(), DropReason> {
        match self.phase {
            Phase::Session { ac, id } if ac == src && id == d.session_id => {
                let text = d.first(tag::GENERIC_ERROR).map(lossy).unwrap_or_default();
                self.end_session(now, DownReason::PeerPadt(text), false);
                Ok(())
            }
            _ => Err(DropReason::UnknownSession),
        }
    }

    /// The session is over: PADT (unless the AC sent one), event, PPP told.
    fn end_session(&mut self, now: Instant, reason: DownReason, send_padt: bool) {
        let Phase::Session { ac, id } = self.phase else {
            return;
        };
        self.phase = Phase::Idle;
        if send_padt {
            self.queue_padt(ac, id);
        }
        self.events.push_back(ClientEvent::SessionDown {
            session: (ac, id),
            reason,
        });
        self.host.lower_down(now);
    }

    fn queue_padt(&mut self, ac: Mac, id: u16) {
        let d = Discovery::new(Code::PADT, id);
        if let Some(t) = self.discovery_frame(ac, &d) {
            self.out.push_back(t);
            self.stats.padt_sent += 1;
        }
    }

    /// Act on the PPP client's events: Dial starts discovery, HangUp ends the session with a
    /// PADT; the rest goes to the application.
    fn pump(&mut self, now: Instant) {
        while let Some(e) = self.host.poll_event() {
            match e {
                ppp::host::ClientEvent::Dial => {
                    let t = self.config.discovery_timeout;
                    self.send_padi(now, 1, t);
                }
                ppp::host::ClientEvent::HangUp => match self.phase {
                    Phase::Session { ac, id } => {
                        self.phase = Phase::Idle;
                        self.queue_padt(ac, id);
                        self.events.push_back(ClientEvent::SessionDown {
                            session: (ac, id),
                            reason: DownReason::PppEnded,
                        });
                    }
                    _ => self.phase = Phase::Idle,
                },
                other => self.events.push_back(ClientEvent::Ppp(other)),
            }
        }
    }
}

fn frame_dst(f: &[u8]) -> Mac {
    let mut m = [0u8; 6];
    if let Some(d) = f.get(..6) {
        m.copy_from_slice(d);
    }
    m
}

pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
