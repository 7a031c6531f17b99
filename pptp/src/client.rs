//! The RouterOS `pptp-client` (`/interface pptp-client`): a PNS that dials one call and runs
//! a PPP client ([`ppp::host::Client`]) over it.
//!
//! ```text
//!   ppp host Client            Client (this)                   network
//!   Dial ─────────────────►   ClientEvent::Connect{to}  ──►   app connects TCP 1723
//!                             handle_connected ──► SCCRQ ───►
//!                             Established ──► OCRQ ─────────►
//!   lower_up ◄──────────────  CallUp (OCRP)                    GRE (IP proto 47) both ways
//!   frames ◄──────────────►   GRE seq/ack, MPPE in PPP
//!   HangUp ───────────────►   Call-Clear-Request ──► ◄── CDN ── StopCCRQ ──► ◄── StopCCRP
//!                             ClientEvent::Disconnect ──►      app closes TCP
//! ```
//!
//! # Contract
//! * **Inputs**: [`Client::handle_connected`] once the TCP connection asked for by
//!   [`ClientEvent::Connect`] is up; [`Client::handle_stream`] with every byte read from it;
//!   [`Client::handle_stream_closed`] when it closes; [`Client::handle_datagram`] with every
//!   GRE packet from the server (the IP payload of protocol 47); [`Client::send_datagram`] /
//!   [`Client::encapsulate`] for IP to send; [`Client::disable`] / [`Client::enable`];
//!   [`Client::handle_timeout`].
//! * **Outputs**: after every input drain [`Client::poll_transmit`] and
//!   [`Client::poll_event`], then arm a timer for [`Client::poll_timeout`]. Write every
//!   pending transmit before acting on [`ClientEvent::Disconnect`] (the last
//!   Stop-Control-Connection-Request/Reply is queued when it is reported).
//! * Randomness: a `CryptoRng` given to [`Client::new`] (PPP challenges, MPPE, call IDs).
//! * Time must not go backwards.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use gre_family::wire::egre::EnhancedGreRepr;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::config::ClientConfig;
use crate::control::Control;
use crate::data::{GreChannel, RxVerdict};
use crate::error::Error;
use crate::event::{CloseReason, ControlEvent, DropReason};
use crate::transport::{encapsulate_into, gre_packet, map_ppp, Channel, ConnId, Input, Transmit};

/// Something the application must act on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Open the TCP connection to `to`, port 1723, then call [`Client::handle_connected`].
    Connect {
        /// `connect-to`.
        to: IpAddr,
    },
    /// Close the TCP connection (the control connection is over).
    Disconnect(CloseReason),
    /// From the control connection (established, call up/down, drops, ...).
    Control(ControlEvent),
    /// From the PPP client (status, up with addresses, PPP events, dial, hang-up).
    Ppp(ppp::host::ClientEvent),
}

#[derive(Debug)]
struct Call {
    call_id: u16,
    gre: Option<GreChannel>,
}

/// The RouterOS `pptp-client` (see the module docs).
pub struct Client {
    config: ClientConfig,
    ppp: ppp::host::Client,
    control: Option<Control>,
    call: Option<Call>,
    events: VecDeque<ClientEvent>,
    out: VecDeque<Transmit>,
    rng: ChaCha20Rng,
    /// We are ending the call on purpose (PPP hung up or disabled).
    hanging_up: bool,
    gre_drops: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("control", &self.control)
            .field("call", &self.call)
            .finish()
    }
}

impl Client {
    /// A client. Unless `disabled` or `dial-on-demand`, it asks to connect at once
    /// ([`ClientEvent::Connect`]).
    pub fn new<R>(config: ClientConfig, now: Instant, mut rng: R) -> Result<Self, Error>
    where
        R: RngCore + CryptoRng + Send + 'static,
    {
        config.validate()?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut ppp = ppp::host::Client::new(config.ppp.clone(), now, rng)?;
        if config.disabled {
            // `disabled=yes`: administratively down until `enable` (no dial, no redial)
            ppp.hang_up(now);
            while ppp.poll_event().is_some() {}
        }
        let mut c = Client {
            config,
            ppp,
            control: None,
            call: None,
            events: VecDeque::new(),
            out: VecDeque::new(),
            rng: ChaCha20Rng::from_seed(seed),
            hanging_up: false,
            gre_drops: 0,
        };
        c.pump(now);
        Ok(c)
    }

    // ----- getters -----

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The PPP client (status, session, MPPE state).
    pub fn ppp(&self) -> &ppp::host::Client {
        &self.ppp
    }

    /// The control connection, while there is one.
    pub fn control(&self) -> Option<&Control> {
        self.control.as_ref()
    }

    /// Our call ID, once a call was placed.
    pub fn call_id(&self) -> Option<u16> {
        self.call.as_ref().map(|c| c.call_id)
    }

    /// The GRE channel of the call, once it is up.
    pub fn gre(&self) -> Option<&GreChannel> {
        self.call.as_ref().and_then(|c| c.gre.as_ref())
    }

    /// GRE packets dropped before reaching a call (wrong peer, call ID, malformed).
    pub fn gre_drops(&self) -> u64 {
        self.gre_drops
    }

    fn peer(&self) -> IpAddr {
        self.config
            .connect_to
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    // ----- outputs -----

    /// Next bytes to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.flush(now);
        self.out.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        let e = self.poll_event_untraced();
        trace_event!("pptp::client", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.ppp.poll_timeout(),
            self.control.as_ref().and_then(Control::poll_timeout),
            self.gre().and_then(GreChannel::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- inputs -----

    /// The TCP connection to the server is up: send SCCRQ.
    pub fn handle_connected(&mut self, now: Instant) {
        self.control = Some(Control::new_pns(self.config.control.clone(), now));
        self.pump(now);
    }

    /// Bytes from the TCP connection; returns how many were consumed (all).
    pub fn handle_stream(&mut self, now: Instant, bytes: &[u8]) -> usize {
        let n = match self.control.as_mut() {
            Some(c) => c.handle_stream(now, bytes),
            None => bytes.len(),
        };
        self.pump(now);
        n
    }

    /// The TCP connection closed (or failed to connect).
    pub fn handle_stream_closed(&mut self, now: Instant) {
        match self.control.as_mut() {
            Some(c) => c.handle_transport_closed(now),
            None => self.ppp.lower_down(now),
        }
        self.pump(now);
    }

    /// A GRE packet (IP protocol 47 payload) from `from`. MPPE packets are decrypted in
    /// place, so the returned datagram borrows `packet`.
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        from: IpAddr,
        packet: &'a mut [u8],
    ) -> Input<'a> {
        let r = self.datagram(now, from, packet);
        if let Input::Dropped(_) = r {
            self.gre_drops += 1;
        }
        self.pump(now);
        r
    }

    fn datagram<'a>(&mut self, now: Instant, from: IpAddr, packet: &'a mut [u8]) -> Input<'a> {
        if from != self.peer() {
            return Input::Dropped(DropReason::WrongPeer);
        }
        let Ok((h, range)) = EnhancedGreRepr::parse(packet) else {
            return Input::Dropped(DropReason::MalformedGre);
        };
        let Some(call) = self.call.as_mut().filter(|c| c.call_id == h.call_id) else {
            return Input::Dropped(DropReason::UnknownCall);
        };
        let Some(gre) = call.gre.as_mut() else {
            return Input::Dropped(DropReason::CallNotUp);
        };
        match gre.handle_header(now, &h) {
            RxVerdict::Drop(r) => Input::Dropped(r),
            RxVerdict::AckOnly => Input::Control,
            RxVerdict::Accept if range.is_empty() => Input::Control,
            RxVerdict::Accept => match packet.get_mut(range) {
                Some(frame) => map_ppp(self.ppp.handle_frame_mut(now, frame)),
                None => Input::Dropped(DropReason::MalformedGre),
            },
        }
    }

    /// Write an IP datagram as a GRE packet (enhanced GRE header + PPP frame, MPPE-encrypted
    /// when up) into `out`, for the GRE socket towards [`ClientConfig::connect_to`]. No
    /// allocation. Errors when the call is not up, `out` is too small, or the peer's window
    /// is full ([`Error::WindowFull`], counted).
    pub fn encapsulate(
        &mut self,
        now: Instant,
        protocol: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let ppp = &mut self.ppp;
        let gre = self
            .call
            .as_mut()
            .and_then(|c| c.gre.as_mut())
            .ok_or(Error::NotEstablished)?;
        encapsulate_into(now, gre, out, |room| {
            ppp.encapsulate(now, protocol, payload, room)
                .map_err(Error::from)
        })
    }

    /// Like [`Client::encapsulate`], queued as a [`Transmit`].
    pub fn send_datagram(
        &mut self,
        now: Instant,
        protocol: u16,
        payload: &[u8],
    ) -> Result<(), Error> {
        let mut buf = vec![0u8; payload.len() + 64];
        let n = self.encapsulate(now, protocol, payload, &mut buf)?;
        buf.truncate(n);
        self.out.push_back(Transmit {
            conn: ConnId(0),
            peer: self.peer(),
            channel: Channel::Gre,
            payload: buf,
        });
        Ok(())
    }

    /// `disabled=yes`: end the session (LCP Terminate, Call-Clear-Request, StopCCRQ) and do
    /// not redial.
    pub fn disable(&mut self, now: Instant) {
        self.ppp.hang_up(now);
        self.pump(now);
    }

    /// `disabled=no`: dial.
    pub fn enable(&mut self, now: Instant) {
        self.ppp.dial(now);
        self.pump(now);
    }

    /// Timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(c) = self.control.as_mut() {
            c.handle_timeout(now);
        }
        self.ppp.handle_timeout(now);
        self.pump(now);
    }

    // ----- internals -----

    /// Move frames, bytes and acks into `out`.
    fn flush(&mut self, now: Instant) {
        let peer = self.peer();
        while let Some(frame) = self.ppp.poll_transmit(now) {
            let Some(gre) = self.call.as_mut().and_then(|c| c.gre.as_mut()) else {
                continue;
            };
            let Ok(len) = u16::try_from(frame.len()) else {
                continue;
            };
            if let Some(h) = gre.next_header(now, len) {
                self.out.push_back(Transmit {
                    conn: ConnId(0),
                    peer,
                    channel: Channel::Gre,
                    payload: gre_packet(&h, &frame),
                });
            }
        }
        if let Some(gre) = self.call.as_mut().and_then(|c| c.gre.as_mut()) {
            if let Some(h) = gre.poll_ack(now) {
                self.out.push_back(Transmit {
                    conn: ConnId(0),
                    peer,
                    channel: Channel::Gre,
                    payload: gre_packet(&h, &[]),
                });
            }
        }
        if let Some(b) = self.control.as_mut().and_then(|c| c.poll_transmit(now)) {
            self.out.push_back(Transmit {
                conn: ConnId(0),
                peer,
                channel: Channel::Control,
                payload: b,
            });
        }
    }

    fn pump(&mut self, now: Instant) {
        for _ in 0..16 {
            let mut progress = false;
            while let Some(e) = self.ppp.poll_event() {
                progress = true;
                match e {
                    ppp::host::ClientEvent::Dial if self.control.is_none() => {
                        self.hanging_up = false;
                        self.events
                            .push_back(ClientEvent::Connect { to: self.peer() });
                    }
                    ppp::host::ClientEvent::HangUp => {
                        // flush the PPP session's last frames (LCP Terminate) first
                        self.flush(now);
                        self.hanging_up = true;
                        self.end_call(now);
                    }
                    _ => {}
                }
                self.events.push_back(ClientEvent::Ppp(e));
            }
            let mut cev = Vec::new();
            if let Some(c) = self.control.as_mut() {
                while let Some(e) = c.poll_event() {
                    cev.push(e);
                }
            }
            for e in cev {
                progress = true;
                self.on_control(now, &e);
                self.events.push_back(ClientEvent::Control(e));
            }
            if !progress {
                break;
            }
        }
        self.flush(now);
    }

    fn end_call(&mut self, now: Instant) {
        let Some(ctl) = self.control.as_mut() else {
            return;
        };
        match self.call.as_ref() {
            Some(c) if ctl.call(c.call_id).is_some() => {
                let _ = ctl.clear_call(now, c.call_id);
            }
            _ => ctl.close(now),
        }
    }

    fn on_control(&mut self, now: Instant, e: &ControlEvent) {
        match *e {
            ControlEvent::Established { .. } => {
                let call_id = loop {
                    let id = (self.rng.next_u32() & 0xffff) as u16;
                    if id != 0 {
                        break id;
                    }
                };
                if let Some(c) = self.control.as_mut() {
                    if c.open_call(now, call_id).is_ok() {
                        self.call = Some(Call { call_id, gre: None });
                    }
                }
            }
            ControlEvent::IncomingCallRequested { peer_call_id, .. } => {
                // a VPN client places its one call; it takes none (RFC 2637 s2.10)
                if let Some(c) = self.control.as_mut() {
                    c.reject_incoming_call(peer_call_id);
                }
            }
            ControlEvent::CallUp {
                call_id,
                peer_call_id,
                peer_window,
            } => {
                if let Some(c) = self.call.as_mut().filter(|c| c.call_id == call_id) {
                    let cc = &self.config.control;
                    c.gre = Some(GreChannel::new(
                        now,
                        peer_call_id,
                        peer_window,
                        cc.ack_delay,
                        cc.window_timeout,
                    ));
                    if self.ppp.lower_up(now).is_err() {
                        self.end_call(now);
                    }
                }
            }
            ControlEvent::CallDown { .. } => {
                let was_up = self.call.take().is_some_and(|c| c.gre.is_some());
                if !self.hanging_up && was_up {
                    self.ppp.lower_down(now);
                }
                // one call per client connection: the control connection goes too
                self.hanging_up = true;
                if let Some(c) = self.control.as_mut() {
                    c.close(now);
                }
            }
            ControlEvent::Closed(reason) => {
                // the control connection's last bytes (StopCCRP/StopCCRQ) go out first
                self.flush(now);
                self.control = None;
                self.call = None;
                if !self.hanging_up {
                    // the session (or the dial, if PPP never ran) failed: PPP ends, a redial
                    // follows after the host's redial delay
                    self.ppp.lower_down(now);
                }
                self.hanging_up = false;
                self.events.push_back(ClientEvent::Disconnect(reason));
            }
            _ => {}
        }
    }
}
