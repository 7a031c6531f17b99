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
//! let start = Instant::now();
//! // Any `rand_core::RngCore + Send` (it only randomises the Delay_Req interval): the OS
//! // generator in a daemon, a seeded one in tests.
//! # let rng = Box::new(netsim::TestRng::new(7));
//! let mut clock = Clock::new(&Config::default(), rng, start).unwrap();
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
//! # Public surface
//!
//! * At the crate root: the state machine [`Clock`] with its inputs and outputs ([`Transmit`],
//!   [`TxToken`], [`Event`], [`Disposition`], [`DropReason`], [`Error`]), the RouterOS-shaped
//!   configuration ([`Config`], [`PortConfig`], [`ServoConfig`], [`Profile`] and the profile auto
//!   values in [`Resolved`]), the data sets ([`DefaultDs`] ...) and the RouterOS monitor
//!   ([`Monitor`], [`PortStatus`]).
//! * Building blocks, public on purpose: [`wire`] (codecs: header, every message, TLVs,
//!   management payloads, exact time types), [`bmca`] (data set comparison and state decision as
//!   pure functions), [`servo`] (PI servo with linuxptp constants, delay filter, robust Sync
//!   trend) and [`sim`] (networks of clocks in virtual time).
//!
//! # Standards
//!
//! IEEE 1588-2008 sections 5.3 (data types), 7.5 (identities), 8.2 (data sets), 9.2 (port
//! state machine), 9.3 (BMCA), 9.5 (message intervals), 11.3 (E2E), 11.4 (P2P), 13 (message
//! formats), 14 (TLVs), 15 (management); Annex D (UDP/IPv4) and F (IEEE 802.3). Cross-checked
//! against linuxptp 3.1.1 (captures in `../shared/captures/ptp/`, read directly by `tests/captures.rs`; interop in
//! `examples/tests/interop_ptp.rs`).
//!
//! # Offset estimation
//!
//! Every Sync gives one sample `y = t2 - t1 - corrections` (the master-to-slave delay plus
//! the offset). The clock keeps the last 16 ([`ServoConfig::trend_window`]) and fits
//! a robust straight line through them ([`servo::SyncTrend`]: Theil-Sen slope, median
//! intercept). The slope is the drift reported in free-running mode; the residuals' median
//! absolute deviation drives an outlier test: a sample more than 8 sigma and 1 us off the
//! line (a Sync whose receive timestamp a busy kernel delayed) is dropped with
//! [`DropReason::OffsetOutlier`] before it reaches the drift estimate, the report or the
//! servo; three in a row restart the history (the master really moved). The path delay goes
//! through a moving median of 10 (linuxptp's `delay_filter_length`), each E2E sample corrected
//! for our clock's rate between Sync and Delay_Req (the line's slope).
//!
//! **What the servo is fed.** When the clock steers ([`ServoConfig::free_running`]
//! off), the PI servo gets the single Sync's offset, `t2 - t1 - corrections - delay`, as
//! linuxptp's does: the servo is itself the filter, and a line fitted through samples taken
//! while the servo changes the clock's frequency would add lag to the loop. The line's slope
//! only replaces the servo's first two-sample frequency estimate (it is free of path-delay
//! changes). [`Event::Offset`]'s `offset` is what the servo used, so it equals `raw_offset`
//! when steering. In free-running mode nothing is steered, and the reported offset is the
//! line's value at the newest Sync minus the filtered delay (unbiased under constant drift,
//! about half the noise of a single sample); [`Event::Offset`] also carries the single-sample
//! offset (`raw_offset`, what linuxptp's free-running `master offset` prints), and
//! `fitted_offset = false` reports single samples.
//!
//! **Measured against linuxptp** (the README's benchmark; one ptp4l master, our slave and a
//! ptp4l slave on direct veths, software timestamps, free-running, same run): like for like,
//! our single-sample offsets against ptp4l's single samples, the RMS ratio was 0.70-1.62 over
//! six runs: parity, as expected from the same kernel timestamps. The fitted offset is a
//! different estimator (a line through 16 Syncs): against ptp4l's single samples it gave
//! 0.31-0.63, which is not a like-for-like comparison. Steering a real clock (the lab VM's),
//! ours and ptp4l lock and hold the clock within the same noise: see the README.
//!
//! # Implemented
//!
//! * Codecs for every 1588-2008 message, byte-exact (reserved fields, minorVersionPTP 0/1,
//!   unknown TLVs kept); typed errors naming the field and offset.
//! * Ordinary and boundary clocks (one instance, N ports, at most one slave port), port state
//!   machine, full BMCA with foreign master qualification and topology rules, data sets,
//!   domain isolation, transportSpecific check.
//! * FAULTY and DISABLED ports: [`Clock::report_port_fault`] / [`Clock::clear_port_fault`]
//!   with linuxptp's `fault_reset_interval`, [`Clock::set_port_enabled`] and the RouterOS port
//!   `disabled` property; such a port sends nothing, drops all input and leaves the BMCA.
//! * A bounded foreign master table per port in which a better Announce displaces the worst
//!   record not yet qualified (1588 9.3.2.4), so an Announce flood of one-off identities cannot
//!   keep a better master out; records leave after FOREIGN_MASTER_TIME_WINDOW.
//! * Two-step master (Sync + Follow_Up; Pdelay_Resp + Pdelay_Resp_Follow_Up); one-step Sync
//!   and one-step Pdelay_Resp from others accepted.
//! * E2E with the randomised Delay_Req interval (injected RNG) and P2P on every port.
//! * Transmit timestamps through tokens, explicit "timestamp missing" input.
//! * PI servo with first-step threshold and frequency clamp (linuxptp defaults for hardware and
//!   software timestamps), moving-median delay filter, robust Sync outlier guard (above) plus
//!   an absolute 100 ms guard (one bad sample never steps the clock), free-running mode that
//!   reports offset and drift only.
//! * Profiles default, 802.1AS, AES67, G.8275.1, SMPTE with their RouterOS auto values; message
//!   intervals from linuxptp / the profile standards (marked non-seed in [`Config`]'s docs).
//! * G.8275.1 alternate BMCA ([`bmca::Algorithm::G8275`], selected by the g8275.1 profile):
//!   priority1 unused, per-port and clock localPriority, topology (stepsRemoved, port
//!   identities) instead of grandmaster identity for clockClass <= 127, notSlave
//!   (master-only) ports; a slave-only clock announces clockClass 255 (1588 8.2.1.3.1.2).
//! * 802.1AS: transportSpecific 1, asCapable per port (peer delay measured and within
//!   neighborPropDelayThresh, default 800 ns; lost after more than 3 unanswered Pdelay_Req),
//!   no Announce/Sync to or from a port that is not asCapable, Follow_Up information TLV
//!   ([`wire::FollowUpInfo`]) on every Follow_Up, peer delay on every port in every
//!   operational state.
//! * Management GET of DEFAULT/CURRENT/PARENT/TIME_PROPERTIES/PORT_DATA_SET, PRIORITY1/2,
//!   DOMAIN and SLAVE_ONLY (linuxptp `pmc` reads them); management SET of PRIORITY1,
//!   PRIORITY2, DOMAIN and SLAVE_ONLY (1588 15.3: the response carries the new value, the
//!   BMCA re-runs, [`Event::ManagementSet`]); MANAGEMENT_ERROR_STATUS NOT_SETABLE /
//!   WRONG_LENGTH / WRONG_VALUE / NOT_SUPPORTED otherwise.
//! * RouterOS monitor snapshot and per-port status.
//!
//! # Not implemented
//!
//! * Transparent clocks (RouterOS has none either), unicast negotiation / Signaling TLVs
//!   (Signaling is parsed but not acted on), management COMMAND and SET of anything but the
//!   four members above, alternate master, acceptable master tables, path trace, security
//!   (Annex K).
//! * 802.1AS beyond the items above: neighborRateRatio and the cumulative rate ratio (we
//!   send and accept the Follow_Up information TLV but always send rate ratio 1 and do not
//!   use a received one), syncReceiptTimeout, path trace TLV, the 802.1AS-specific BMCA
//!   port roles (a port that is not asCapable still runs the 1588 state machine, it only
//!   stops sending and accepting Announce/Sync).
//! * G.8275.1 beyond its BMCA and intervals: clockClass changes for holdover and frequency
//!   traceability, the Announce/Sync receipt timeout rules of the profile.
//! * Delay asymmetry correction and ingress/egress latency configuration.
//! * The hardware timestamping path of the example daemon is written but unexercised: no PHC
//!   on this machine (veth only).
//!
//! ## Feature `tracing`
//! Off by default. With it, every `poll_event` also emits a `tracing` event at debug level
//! (target: the module, `ptp::...`; fields `source`: the state machine, `kind`: the
//! event's variant name; not its fields, which may carry secrets). The crate does no IO of its
//! own either way: a subscriber installed by the application decides where events go. The
//! `Event`s returned by `poll_event` stay the API; the feature is for operators' logs.
#![forbid(unsafe_code)]

// The API is re-exported below; these modules are its implementation.
/// With the `tracing` feature, a `debug` event (field `kind`: the variant's name, `source`:
/// the state machine) for each event a `poll_event` hands out; nothing without it. Only the
/// variant's name is logged, not its fields (they may carry secrets such as a PAP password):
/// the `Event`s stay the API.
macro_rules! trace_event {
    ($src:expr, $e:expr) => {
        #[cfg(feature = "tracing")]
        {
            if let Some(e) = $e {
                if tracing::enabled!(tracing::Level::DEBUG) {
                    let text = format!("{e:?}");
                    let kind = text
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or_default();
                    tracing::debug!(source = $src, kind, "event");
                }
            }
        }
    };
}

mod clock;
mod config;
mod datasets;
mod error;
mod event;
mod monitor;

// Building blocks kept public on purpose: the codecs (conformance testers, fuzzers, other
// PTP implementations), the BMCA's pure comparison and state decision, the servo pieces (PI
// servo, delay filter, robust Sync trend) for callers that run their own clock loop, and the
// virtual-time network simulation that the tests and the tour drive.
pub mod bmca;
pub mod servo;
pub mod sim;
pub mod wire;

pub use clock::{Clock, Disposition, PortCounters, PortState, Transmit, TxToken};
pub use config::{
    Config, DelayMechanism, Destination, Intervals, PortConfig, Profile, Resolved, ServoConfig,
    Timestamping, Transport, ETHERTYPE_PTP, UDP_EVENT_PORT, UDP_GENERAL_PORT,
};
pub use datasets::{CurrentDs, DefaultDs, ParentDs, PortDs, TimePropertiesDs};
pub use error::{DropReason, Error};
pub use event::Event;
pub use monitor::{Monitor, PortStatus};
/// Re-export of the RNG trait crate the clock takes (`rand_core` 0.6).
pub use rand_core;
