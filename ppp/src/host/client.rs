//! [`Client`]: one PPP client session with dial, redial, dial-on-demand and the RouterOS
//! monitor status strings.

use super::SharedRng;
use crate::config::{Config, Role};
use crate::error::{ConfigError, Error};
use crate::event::{Event, Status};
use crate::session::{Input, Session};
use crate::settings::ClientSettings;
use crate::UsePeerDns;
use rand_core::{CryptoRng, RngCore};
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Instant;

/// What the client settled on when IPCP opened, with the client menu's routing and DNS
/// settings applied: what the application installs (address, routes, resolver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUp {
    /// Our address.
    pub local: Ipv4Addr,
    /// The server's address.
    pub remote: Ipv4Addr,
    /// Link MTU (min of the server's MRU and `max-mtu`).
    pub mtu: u16,
    /// `add-default-route=yes`: install a default route via the link, with this distance
    /// (`default-route-distance`; `None` = the system default). `None` when `no`.
    pub default_route: Option<Option<u8>>,
    /// `use-peer-dns`: the servers the peer gave (empty with `no`).
    pub dns: Vec<Ipv4Addr>,
    /// `use-peer-dns=exclusively`: use only these servers.
    pub dns_exclusive: bool,
    /// The client's `profile`.
    pub profile: String,
}

/// Something the transport or the application must act on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Connect the transport now (first dial, redial, or demand); then call
    /// [`Client::lower_up`].
    Dial,
    /// Disconnect the transport (the PPP session ended; its last frame was handed to
    /// [`Client::poll_transmit`]).
    HangUp,
    /// The monitor status changed (see [`Client::status`]).
    Status(Status),
    /// IPCP is up: apply this.
    Up(ClientUp),
    /// An event of the PPP session.
    Ppp(Event),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not connected; waiting for the redial timer or (dial-on-demand) for traffic.
    Idle,
    /// Dial requested; the transport is connecting.
    Dialing,
    /// PPP runs over the transport.
    Running,
    /// The PPP session ended: flushing its last frames, then HangUp.
    Ending,
    /// Administratively down ([`Client::hang_up`]): no redial.
    Down,
}

/// A RouterOS-style PPP client (`/interface <x>-client`) for any transport.
///
/// # Contract
/// * **Inputs**: [`Client::lower_up`] when the transport connected (after a
///   [`ClientEvent::Dial`]), [`Client::handle_frame`] for every PPP frame it delivers,
///   [`Client::lower_down`] when it dropped, [`Client::demand`] (dial-on-demand: traffic is
///   waiting), [`Client::dial`] / [`Client::hang_up`] (enable/disable),
///   [`Client::handle_timeout`].
/// * **Outputs**: drain [`Client::poll_transmit`] and [`Client::poll_event`] after every
///   input, then arm a timer for [`Client::poll_timeout`].
/// * Status walks `dialing` -> `verifying password...` -> `connected` -> `disconnected`
///   (S0 L599-604); after a disconnect the client dials again after
///   [`ClientSettings::redial_delay`], or on the next demand with `dial-on-demand`.
pub struct Client {
    settings: ClientSettings,
    config: Config,
    rng: SharedRng,
    session: Option<Session>,
    state: State,
    status: Status,
    redial_at: Option<Instant>,
    events: VecDeque<ClientEvent>,
    dials: u64,
    /// Hang up for good once the current session ended ([`Client::hang_up`]).
    down_after: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state)
            .field("status", &self.status)
            .field("session", &self.session)
            .finish()
    }
}

impl Client {
    /// A client. Without `dial-on-demand` it asks to dial at once ([`ClientEvent::Dial`]).
    pub fn new<R>(settings: ClientSettings, now: Instant, rng: R) -> Result<Self, ConfigError>
    where
        R: RngCore + CryptoRng + Send + 'static,
    {
        let config = settings.to_config()?;
        let mut c = Client {
            settings,
            config,
            rng: SharedRng::new(rng),
            session: None,
            state: State::Idle,
            status: Status::Disconnected,
            redial_at: None,
            events: VecDeque::new(),
            dials: 0,
            down_after: false,
        };
        if !c.settings.dial_on_demand {
            c.start_dial(now);
        }
        Ok(c)
    }

    // ----- getters -----

    /// The RouterOS monitor status (`dialing`, `verifying password...`, `connected`,
    /// `disconnected`).
    pub fn status(&self) -> Status {
        self.status
    }
    /// The settings.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }
    /// The PPP session of the current connection.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }
    /// Dials so far (first dial included).
    pub fn dials(&self) -> u64 {
        self.dials
    }
    /// True while PPP runs and IPCP is open.
    pub fn is_up(&self) -> bool {
        self.status == Status::Connected
    }

    // ----- outputs -----

    /// Next PPP frame for the transport.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let f = self.session.as_mut().and_then(|s| s.poll_transmit(now));
        if f.is_none() && self.state == State::Ending {
            self.finish_hang_up(now);
        }
        f
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        let e = self.poll_event_untraced();
        trace_event!("ppp::host::client", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Earliest deadline (PPP timers, or the redial timer).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Running => self.session.as_ref().and_then(Session::poll_timeout),
            State::Idle => self.redial_at,
            _ => None,
        }
    }

    // ----- inputs -----

    /// Enable: dial now (no-op while dialing or connected).
    pub fn dial(&mut self, now: Instant) {
        self.down_after = false;
        if matches!(self.state, State::Idle | State::Down) {
            self.start_dial(now);
        }
    }

    /// Dial-on-demand: outbound traffic is waiting. Dials when idle.
    pub fn demand(&mut self, now: Instant) {
        if self.state == State::Idle {
            self.start_dial(now);
        }
    }

    /// Disable: end the session (LCP Terminate, then [`ClientEvent::HangUp`]) and do not
    /// redial until [`Client::dial`].
    pub fn hang_up(&mut self, now: Instant) {
        self.redial_at = None;
        match (self.state, self.session.as_mut()) {
            (State::Running, Some(s)) if !s.is_ended() => {
                self.down_after = true;
                s.close(now, "disabled");
                self.pump();
            }
            (State::Running | State::Ending, _) => self.down_after = true,
            (State::Dialing, _) => {
                self.state = State::Down;
                self.events.push_back(ClientEvent::HangUp);
                self.set_status(Status::Disconnected);
            }
            (State::Idle | State::Down, _) => self.state = State::Down,
        }
    }

    /// The transport connected: start PPP (LCP).
    pub fn lower_up(&mut self, now: Instant) -> Result<(), Error> {
        let mut s = Session::new(self.config.clone(), Role::Client, now, self.rng.clone())?;
        s.open(now);
        self.session = Some(s);
        self.state = State::Running;
        self.pump();
        Ok(())
    }

    /// The transport dropped: the session ends now; a redial follows.
    pub fn lower_down(&mut self, now: Instant) {
        if let Some(s) = self.session.as_mut() {
            s.lower_down(now);
            while s.poll_transmit(now).is_some() {}
        }
        if self.state == State::Dialing {
            // the dial failed
            self.state = State::Ending;
        }
        self.pump();
        if self.state == State::Ending {
            self.finish_hang_up(now);
        }
    }

    /// One PPP frame from the transport.
    pub fn handle_frame<'a>(&mut self, now: Instant, frame: &'a [u8]) -> Result<Input<'a>, Error> {
        let Some(s) = self
            .session
            .as_mut()
            .filter(|_| self.state == State::Running)
        else {
            return Ok(Input::Dropped);
        };
        let r = s.handle_frame(now, frame);
        self.pump();
        r
    }

    /// Multilink: the next further packet the last MP fragment completed
    /// ([`Session::poll_reassembled`]); the datagram is in [`Session::reassembled`].
    pub fn poll_reassembled(&mut self, now: Instant) -> Option<u16> {
        self.session.as_mut()?.poll_reassembled(now)
    }

    /// Like [`Client::handle_frame`], decrypting an MPPE packet in place
    /// ([`Session::handle_frame_mut`]).
    pub fn handle_frame_mut<'a>(
        &mut self,
        now: Instant,
        frame: &'a mut [u8],
    ) -> Result<Input<'a>, Error> {
        let Some(s) = self
            .session
            .as_mut()
            .filter(|_| self.state == State::Running)
        else {
            return Ok(Input::Dropped);
        };
        let r = s.handle_frame_mut(now, frame);
        self.pump();
        r
    }

    /// Write a datagram as a PPP frame into `out` (see [`Session::encapsulate`]).
    pub fn encapsulate(
        &mut self,
        now: Instant,
        protocol: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        match self.session.as_mut() {
            Some(s) if self.state == State::Running => s.encapsulate(now, protocol, payload, out),
            _ => Err(Error::NotOpen(protocol)),
        }
    }

    /// Multilink: `payload` as one plain frame or, above the link MTU, as MP fragments;
    /// `emit` gets each frame ([`Session::encapsulate_fragments`]). Returns the number of
    /// frames.
    pub fn encapsulate_fragments(
        &mut self,
        now: Instant,
        protocol: u16,
        payload: &[u8],
        emit: impl FnMut(&[u8]),
    ) -> Result<usize, Error> {
        match self.session.as_mut() {
            Some(s) if self.state == State::Running => {
                s.encapsulate_fragments(now, protocol, payload, emit)
            }
            _ => Err(Error::NotOpen(protocol)),
        }
    }

    /// Timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Running => {
                if let Some(s) = self.session.as_mut() {
                    if s.poll_timeout().is_some_and(|d| d <= now) {
                        s.handle_timeout(now);
                    }
                }
                self.pump();
            }
            State::Idle if self.redial_at.is_some_and(|d| d <= now) => {
                self.redial_at = None;
                self.start_dial(now);
            }
            _ => {}
        }
    }

    // ----- internals -----

    fn start_dial(&mut self, now: Instant) {
        let _ = now;
        self.state = State::Dialing;
        self.redial_at = None;
        self.dials += 1;
        self.set_status(Status::Dialing);
        self.events.push_back(ClientEvent::Dial);
    }

    fn set_status(&mut self, s: Status) {
        if self.status != s {
            self.status = s;
            self.events.push_back(ClientEvent::Status(s));
        }
    }

    fn pump(&mut self) {
        let mut evs = Vec::new();
        if let Some(s) = self.session.as_mut() {
            while let Some(e) = s.poll_event() {
                evs.push(e);
            }
        }
        for e in evs {
            match &e {
                Event::Status(Status::Terminated) => {}
                Event::Status(st) => self.set_status(*st),
                Event::NetworkUp(info) => {
                    let up = ClientUp {
                        local: info.local,
                        remote: info.remote,
                        mtu: self.session.as_ref().map_or(0, Session::mtu),
                        default_route: self
                            .settings
                            .add_default_route
                            .then_some(self.settings.default_route_distance),
                        dns: if self.settings.use_peer_dns == UsePeerDns::No {
                            Vec::new()
                        } else {
                            info.dns.clone()
                        },
                        dns_exclusive: self.settings.use_peer_dns == UsePeerDns::Exclusively,
                        profile: self.settings.profile.clone(),
                    };
                    self.events.push_back(ClientEvent::Ppp(e.clone()));
                    self.events.push_back(ClientEvent::Up(up));
                    continue;
                }
                Event::Terminated { .. } if self.state == State::Running => {
                    self.state = State::Ending;
                }
                _ => {}
            }
            self.events.push_back(ClientEvent::Ppp(e));
        }
    }

    /// The session's last frame is out: tell the transport to hang up and plan the redial.
    fn finish_hang_up(&mut self, now: Instant) {
        self.session = None;
        self.events.push_back(ClientEvent::HangUp);
        self.set_status(Status::Disconnected);
        if self.down_after {
            self.state = State::Down;
            self.down_after = false;
            return;
        }
        self.state = State::Idle;
        if !self.settings.dial_on_demand {
            self.redial_at = Some(now + self.settings.redial_delay);
        }
    }
}
