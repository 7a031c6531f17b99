//! [`Scanner`]: `/interface pppoe-client scan` (S0 L609-615): broadcast PADIs and list every
//! AC that answers (service, MAC address, AC name) without ever sending a PADR.

use crate::client::lossy;
use crate::error::DropReason;
use crate::event::{Input, Offer, Transmit};
use crate::wire::{tag, Code, Discovery, Frame, Mac, VlanStack, BROADCAST};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A discovery-only probe. It sends a blank-service PADI now and again every `interval`, and
/// collects one [`Offer`] per responding AC (by MAC and AC-Name; a later PADO from the same AC
/// replaces the services it listed).
///
/// # Contract
/// Inputs [`Scanner::handle_frame`], [`Scanner::handle_timeout`]; outputs
/// [`Scanner::poll_transmit`], [`Scanner::poll_timeout`]; results [`Scanner::offers`].
#[derive(Debug)]
pub struct Scanner {
    mac: Mac,
    vlans: VlanStack,
    interval: Duration,
    next: Instant,
    out: VecDeque<Transmit>,
    offers: Vec<Offer>,
    max_offers: usize,
}

impl Scanner {
    /// A scanner on the port with MAC `mac` (with `vlans`), repeating its PADI every
    /// `interval`; at most 256 ACs are kept.
    pub fn new(mac: Mac, vlans: VlanStack, interval: Duration, now: Instant) -> Self {
        let mut s = Scanner {
            mac,
            vlans,
            interval,
            next: now,
            out: VecDeque::new(),
            offers: Vec::new(),
            max_offers: 256,
        };
        s.handle_timeout(now);
        s
    }

    /// The ACs seen so far.
    pub fn offers(&self) -> &[Offer] {
        &self.offers
    }

    /// Next frame (a PADI).
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// When the next PADI is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next)
    }

    /// Send the next PADI when due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next {
            return;
        }
        let padi = Discovery::new(Code::PADI, 0).with(tag::SERVICE_NAME, Vec::new());
        if let Ok(frame) = padi.emit(BROADCAST, self.mac, &self.vlans) {
            self.out.push_back(Transmit {
                dst: BROADCAST,
                frame,
            });
        }
        self.next = now + self.interval;
    }

    /// A received frame: PADOs addressed to us are recorded.
    pub fn handle_frame<'a>(&mut self, _now: Instant, frame: &'a [u8]) -> Input<'a> {
        let f = match Frame::parse(frame) {
            Ok(f) => f,
            Err(e) => return Input::Dropped(DropReason::Malformed(e)),
        };
        if f.dst != self.mac || f.code != Code::PADO {
            return Input::Dropped(DropReason::NotForUs);
        }
        let d = match Discovery::from_frame(&f) {
            Ok(d) => d,
            Err(e) => return Input::Dropped(DropReason::Malformed(e)),
        };
        let offer = Offer {
            ac_mac: f.src,
            ac_name: lossy(d.ac_name().unwrap_or_default()),
            services: d.service_names().map(lossy).collect(),
        };
        let known = self
            .offers
            .iter()
            .position(|o| o.ac_mac == offer.ac_mac && o.ac_name == offer.ac_name);
        match known {
            Some(i) => self.offers[i] = offer,
            None if self.offers.len() < self.max_offers => self.offers.push(offer),
            None => return Input::Dropped(DropReason::Full),
        }
        Input::Discovery
    }
}
