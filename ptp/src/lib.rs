//! Sans-IO PTP: IEEE 1588-2008 (PTPv2) ordinary and boundary clocks with the RouterOS feature
//! set (`/system ptp`: two-step, E2E and P2P, UDPv4 and L2 transports, profiles default,
//! 802.1AS, AES67, G.8275.1 and SMPTE).
//!
//! The crate never reads a clock, opens a socket or sleeps. The caller hands in received bytes
//! with their receive timestamps, reports transmit timestamps later through an opaque token
//! (the pattern of statime), calls [`Clock::handle_timeout`] at the deadline from
//! [`Clock::poll_timeout`], and applies the clock adjustments that come out as events.
//!
//! # Message flow
//!
//! ```text
//!   master port                                   slave port
//!   -----------                                   ----------
//!   Announce (every 2^logAnnounceInterval) ---->  BMCA: qualify foreign master (2 Announces in
//!                                                 4 intervals), compare data sets, state decision
//!   Sync (twoStep, egress time t1 measured) --->  ingress time t2
//!   Follow_Up (preciseOriginTimestamp = t1) --->  offset = t2 - t1 - corrections - delay
//!                                          <----  Delay_Req (egress t3, random interval)   [E2E]
//!   Delay_Resp (receiveTimestamp = t4) -------->  delay = ((t2 - t1) + (t4 - t3) - c) / 2
//!
//!   peer delay (P2P, every port, either side):
//!   Pdelay_Req  (egress t1)               ---->  ingress t2
//!                                         <----  Pdelay_Resp (requestReceiptTimestamp = t2),
//!                                                egress t3
//!                                         <----  Pdelay_Resp_Follow_Up (responseOriginTimestamp = t3)
//!   linkDelay = ((t4 - t1) - (t3 - t2) - c) / 2
//! ```
//!
//! # Port states (1588-2008 9.2)
//!
//! ```text
//!  INITIALIZING --> LISTENING --(announce receipt timeout, local clock best: M1/M2)--> MASTER
//!                      |  \--(Erbest on this port is Ebest: S1)--> UNCALIBRATED --(servo)--> SLAVE
//!                      |   \--(other port has Ebest: M3)--> PRE_MASTER --(qualification)--> MASTER
//!                      \--(P1/P2)--> PASSIVE
//!  SLAVE/UNCALIBRATED --(announce receipt timeout: master lost)--> BMCA again (MASTER, or the next
//!                                                                  best master)
//! ```
//!
//! # An annotated exchange (E2E, numbers from the spec's vector)
//!
//! ```text
//!  t1 = 0 ns      master sends Sync seq 5 (twoStep), its egress timestamp comes back via the token
//!                 -> Follow_Up seq 5, preciseOriginTimestamp = 0, correctionField = sub-ns part
//!  t2 = 150 ns    slave receives Sync seq 5 (receive timestamp passed with the bytes)
//!  t3 = 1000 ns   slave's Delay_Req seq 3 leaves (egress timestamp via its token)
//!  t4 = 1150 ns   master receives it -> Delay_Resp seq 3, receiveTimestamp = t4,
//!                 requestingPortIdentity = the slave's port (others ignore it)
//!  meanPathDelay  = ((150 - 0) + (1150 - 1000)) / 2 = 150 ns
//!  offsetFromMaster = t2 - t1 - meanPathDelay = 0 ns
//! ```
//!
//! All of this is integer arithmetic on [`wire::Time`] (2^-16 ns units), exactly as the
//! `correctionField` carries it; floats are used only in the servo and for reporting.
//!
//! # Driving loop
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ptp::{Clock, Config, Event};
//! use ptp::wire::Time;
//!
//! # struct Rng(u64);
//! # impl ptp::rand_core::RngCore for Rng {
//! #     fn next_u32(&mut self) -> u32 { self.next_u64() as u32 }
//! #     fn next_u64(&mut self) -> u64 { self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1); self.0 >> 11 }
//! #     fn fill_bytes(&mut self, d: &mut [u8]) { d.fill(4) }
//! #     fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), ptp::rand_core::Error> { d.fill(4); Ok(()) }
//! # }
//! let start = Instant::now();
//! let mut clock = Clock::new(&Config::default(), Box::new(Rng(7)), start).unwrap();
//! // The caller's PTP clock (CLOCK_REALTIME or a PHC in a real daemon):
//! let ptp_now = |t: Instant| Time::from_nanos(1_700_000_000_000_000_000 + t.duration_since(start).as_nanos() as i128);
//! let mut buf = [0u8; 1500];
//! let mut now = start;
//! for _ in 0..10 {
//!     // 1. Sleep until the next deadline (or until a packet arrives; then call
//!     //    clock.handle_input(now, port, bytes, Some(rx_timestamp))).
//!     now = clock.poll_timeout().unwrap_or(now + Duration::from_secs(1));
//!     clock.handle_timeout(now);
//!     // 2. Send everything queued; event messages carry a token for their egress timestamp.
//!     while let Some(tx) = clock.poll_transmit(now, &mut buf).unwrap() {
//!         // socket.send(&buf[..tx.len]) to tx.dest on port tx.port ...
//!         if let Some(token) = tx.token {
//!             clock.handle_tx_timestamp(now, token, ptp_now(now));
//!             // or clock.handle_tx_timestamp_missing(now, token) if the kernel never delivers it
//!         }
//!     }
//!     // 3. Apply adjustments, log the rest.
//!     while let Some(ev) = clock.poll_event() {
//!         match ev {
//!             Event::StepClock { by } => { /* clock_settime(now + by) */ }
//!             Event::AdjustFrequency { ppb } => { /* clock_adjtime(ADJ_FREQUENCY, ppb) */ }
//!             _ => {}
//!         }
//!     }
//! }
//! // Alone on the network, the clock became grandmaster after announceReceiptTimeout (6 s).
//! assert!(clock.monitor().i_am_gm);
//! println!("{}", clock.monitor());
//! ```
//!
//! `examples/src/bin/ptp.rs` is a complete daemon on this loop (SO_TIMESTAMPING software and
//! hardware timestamps, UDPv4 and L2); [`sim`] runs whole networks of clocks in virtual time.
//!
//! # Modules
//!
//! * [`wire`]: codecs (header, every message, TLVs, management payloads, exact time types).
//! * [`config`]: RouterOS-shaped configuration and profile auto values.
//! * [`bmca`]: data set comparison and state decision as pure functions.
//! * [`clock`]: the state machine ([`Clock`]).
//! * [`servo`]: PI servo (linuxptp constants) and delay filter.
//! * [`datasets`], [`monitor`], [`event`], [`error`], [`sim`].
//!
//! # Standards
//!
//! IEEE 1588-2008 sections 5.3 (data types), 7.5 (identities), 8.2 (data sets), 9.2 (port
//! state machine), 9.3 (BMCA), 9.5 (message intervals), 11.3 (E2E), 11.4 (P2P), 13 (message
//! formats), 14 (TLVs), 15 (management); Annex D (UDP/IPv4) and F (IEEE 802.3). Cross-checked
//! against linuxptp 3.1.1 (captures in `tests/captures/`, interop in
//! `examples/tests/interop_ptp.rs`).
//!
//! # Implemented
//!
//! * Codecs for every 1588-2008 message, byte-exact (reserved fields, minorVersionPTP 0/1,
//!   unknown TLVs kept); typed errors naming the field and offset.
//! * Ordinary and boundary clocks (one instance, N ports, at most one slave port), port state
//!   machine, full BMCA with foreign master qualification and topology rules, data sets,
//!   domain isolation, transportSpecific check.
//! * Two-step master (Sync + Follow_Up; Pdelay_Resp + Pdelay_Resp_Follow_Up); one-step Sync
//!   and one-step Pdelay_Resp from others accepted.
//! * E2E with the randomised Delay_Req interval (injected RNG) and P2P on every port.
//! * Transmit timestamps through tokens, explicit "timestamp missing" input.
//! * PI servo with first-step threshold and frequency clamp (linuxptp defaults for hardware and
//!   software timestamps), moving-median delay filter, outlier guard (one bad sample never
//!   steps the clock), free-running mode that reports offset and drift only.
//! * Profiles default, 802.1AS, AES67, G.8275.1, SMPTE with their RouterOS auto values; message
//!   intervals from linuxptp / the profile standards (marked non-seed in [`config`]).
//! * Management GET of DEFAULT/CURRENT/PARENT/TIME_PROPERTIES/PORT_DATA_SET, PRIORITY1/2 and
//!   DOMAIN (linuxptp `pmc` reads them); MANAGEMENT_ERROR_STATUS for the rest.
//! * RouterOS monitor snapshot and per-port status.
//!
//! # Not implemented
//!
//! * Transparent clocks (RouterOS has none either), unicast negotiation / Signaling TLVs
//!   (Signaling is parsed but not acted on), management SET/COMMAND, alternate master,
//!   acceptable master tables, path trace, security (Annex K).
//! * 802.1AS specifics beyond transportSpecific and the auto values: asCapable,
//!   neighborPropDelayThresh, follow_up_info TLV, neighbor rate ratio.
//! * G.8275.1's alternate BMCA (localPriority, notSlave) and its clockClass handling: the
//!   profile uses the default BMCA with its intervals and domain.
//! * Delay asymmetry correction and ingress/egress latency configuration.
#![forbid(unsafe_code)]

pub mod bmca;
pub mod clock;
pub mod config;
pub mod datasets;
pub mod error;
pub mod event;
pub mod monitor;
pub mod servo;
pub mod sim;
pub mod wire;

pub use clock::{Clock, Disposition, PortCounters, PortState, Transmit, TxToken};
pub use config::{Config, DelayMechanism, Destination, PortConfig, Profile, Transport};
pub use error::{DropReason, Error};
pub use event::Event;
pub use monitor::{Monitor, PortStatus};
/// Re-export of the RNG trait crate the clock takes (`rand_core` 0.6).
pub use rand_core;
