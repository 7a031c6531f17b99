//! The clock instance ([`Clock`]): one or more ports, BMCA, delay mechanisms, servo.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand_core::RngCore;

use crate::bmca::{self, Dataset, Recommendation};
use crate::config::{DelayMechanism, Destination, Resolved};
use crate::datasets::{CurrentDs, DefaultDs, ParentDs, PortDs, TimePropertiesDs};
use crate::error::{DropReason, Error};
use crate::event::Event;
use crate::monitor::{Monitor, PortStatus};
use crate::servo::{MedianFilter, PiServo, ServoAction, ServoState, SyncTrend};
use crate::wire::management::{
    self as mgmt, CurrentDsTlv, DefaultDsTlv, ParentDsTlv, PortDsTlv, TimePropertiesTlv,
};
use crate::wire::{
    action, flags, log_interval, tlv_type, Announce, Body, ClockQuality, FollowUpInfo, Header,
    ManagementBody, Message, MessageType, PortIdentity, Time, TimeInterval, Timestamp,
};

/// Port states [1588-2008 9.2.5], with their portDS enumeration values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortState {
    /// 1.
    Initializing,
    /// 2.
    Faulty,
    /// 3.
    Disabled,
    /// 4.
    Listening,
    /// 5.
    PreMaster,
    /// 6.
    Master,
    /// 7.
    Passive,
    /// 8.
    Uncalibrated,
    /// 9.
    Slave,
}

impl PortState {
    /// portState enumeration value.
    pub fn code(self) -> u8 {
        match self {
            PortState::Initializing => 1,
            PortState::Faulty => 2,
            PortState::Disabled => 3,
            PortState::Listening => 4,
            PortState::PreMaster => 5,
            PortState::Master => 6,
            PortState::Passive => 7,
            PortState::Uncalibrated => 8,
            PortState::Slave => 9,
        }
    }

    /// Lower-case name as RouterOS/ptp4l print it.
    pub fn name(self) -> &'static str {
        match self {
            PortState::Initializing => "initializing",
            PortState::Faulty => "faulty",
            PortState::Disabled => "disabled",
            PortState::Listening => "listening",
            PortState::PreMaster => "pre-master",
            PortState::Master => "master",
            PortState::Passive => "passive",
            PortState::Uncalibrated => "uncalibrated",
            PortState::Slave => "slave",
        }
    }

    fn operational(self) -> bool {
        !matches!(
            self,
            PortState::Initializing | PortState::Faulty | PortState::Disabled
        )
    }

    fn is_slave(self) -> bool {
        matches!(self, PortState::Slave | PortState::Uncalibrated)
    }
}

/// Opaque token returned with an event message; hand it back with the egress timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxToken(pub u64);

/// Metadata of a message written by [`Clock::poll_transmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Port index to send on.
    pub port: usize,
    /// Destination class (primary or peer-delay address).
    pub dest: Destination,
    /// Event message (UDP 319, needs an egress timestamp) or general (UDP 320).
    pub event: bool,
    /// Message type.
    pub message_type: MessageType,
    /// Present for messages whose egress timestamp the clock needs.
    pub token: Option<TxToken>,
    /// Bytes written.
    pub len: usize,
}

/// What happened to an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Processed.
    Accepted,
    /// Dropped (also counted and reported as [`Event::Dropped`]).
    Dropped(DropReason),
}

/// Per-port counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    /// Messages received and accepted.
    pub rx: u64,
    /// Messages dropped.
    pub dropped: u64,
    /// Messages queued for transmission.
    pub tx: u64,
    /// Transmit timestamps reported missing.
    pub tx_timestamp_missing: u64,
}

#[derive(Debug, Clone)]
struct Foreign {
    sender: PortIdentity,
    announce: Announce,
    header: Header,
    /// Receipt times of the most recent Announces (at most FOREIGN_MASTER_THRESHOLD).
    times: [Option<Instant>; 2],
}

#[derive(Debug, Clone, Copy)]
struct SyncRx {
    seq: u16,
    t2: Time,
    corr: Time,
}

#[derive(Debug, Clone, Copy)]
struct FollowUpRx {
    seq: u16,
    t1: Time,
    corr: Time,
}

#[derive(Debug, Clone, Copy)]
struct DelayReqOut {
    seq: u16,
    t3: Option<Time>,
    resp: Option<(Time, Time)>,
}

#[derive(Debug, Clone, Copy)]
struct PdelayOut {
    seq: u16,
    t1: Option<Time>,
    t2: Option<Time>,
    t4: Option<Time>,
    c_resp: Time,
    t3: Option<Time>,
    c_fu: Time,
    one_step: bool,
    responder: Option<PortIdentity>,
}

#[derive(Debug, Clone, Copy)]
enum TxPurpose {
    Sync {
        port: usize,
        seq: u16,
    },
    DelayReq {
        port: usize,
        seq: u16,
    },
    PdelayReq {
        port: usize,
        seq: u16,
    },
    PdelayResp {
        port: usize,
        seq: u16,
        requesting: PortIdentity,
        req_corr: TimeInterval,
    },
}

#[derive(Debug, Clone)]
struct Outgoing {
    port: usize,
    dest: Destination,
    header: Header,
    body: Body,
    tlvs: Vec<u8>,
    token: Option<TxToken>,
}

#[derive(Debug)]
struct Port {
    name: String,
    identity: PortIdentity,
    state: PortState,
    delay: DelayMechanism,
    log_announce: i8,
    log_sync: i8,
    log_delay_req: i8,
    log_pdelay_req: i8,
    receipt_timeout: u8,
    foreign: Vec<Foreign>,
    announce_expired: bool,
    t_announce_receipt: Option<Instant>,
    t_qualification: Option<Instant>,
    t_announce_tx: Option<Instant>,
    t_sync_tx: Option<Instant>,
    t_delay_req: Option<Instant>,
    t_pdelay_req: Option<Instant>,
    /// FAULTY: when the port re-initializes (`fault_reset_interval`).
    t_fault_reset: Option<Instant>,
    seq_announce: u16,
    seq_sync: u16,
    seq_delay_req: u16,
    seq_pdelay: u16,
    sync_rx: Option<SyncRx>,
    fu_rx: Option<FollowUpRx>,
    last_sync: Option<(Time, Time, Time)>,
    delay_req: Option<DelayReqOut>,
    pdelay: Option<PdelayOut>,
    e2e_filter: MedianFilter,
    p2p_filter: MedianFilter,
    mean_path_delay: Option<Time>,
    peer_delay: Option<Time>,
    /// 802.1AS asCapable (always true outside the 802.1as profile).
    as_capable: bool,
    /// Pdelay_Req sent in a row without a complete response.
    lost_responses: u8,
    counters: PortCounters,
}

/// 802.1AS allowedLostResponses default.
const ALLOWED_LOST_RESPONSES: u8 = 3;

const MAX_EVENTS: usize = 1024;
const MAX_OUTGOING: usize = 256;
const MAX_PENDING_TX: usize = 32;
/// FOREIGN_MASTER_TIME_WINDOW in announce intervals [1588-2008 9.3.2.4.4].
const FOREIGN_MASTER_TIME_WINDOW: u32 = 4;
/// Largest |correctionField| accepted: one second.
const MAX_CORRECTION: i128 = 1_000_000_000 << 16;
/// Largest |path delay| accepted: one second.
const MAX_DELAY: i128 = 1_000_000_000 << 16;

/// A PTP ordinary clock (one port) or boundary clock (several ports, at most one slave).
///
/// # Contract (quinn-proto style)
///
/// * Getters: [`Clock::monitor`], [`Clock::port_status`], [`Clock::default_ds`],
///   [`Clock::current_ds`], [`Clock::parent_ds`], [`Clock::time_properties_ds`],
///   [`Clock::port_ds`], [`Clock::port_state`], [`Clock::counters`],
///   [`Clock::foreign_master_count`].
/// * Mutators: [`Clock::set_port_enabled`] (DISABLED), [`Clock::report_port_fault`] /
///   [`Clock::clear_port_fault`] (FAULTY).
/// * Inputs: [`Clock::handle_input`] (received bytes + receive timestamp),
///   [`Clock::handle_tx_timestamp`] / [`Clock::handle_tx_timestamp_missing`] (for the token
///   returned with an event message), [`Clock::handle_timeout`].
/// * Outputs: [`Clock::poll_transmit`] (write the next message into the caller's buffer),
///   [`Clock::poll_event`], [`Clock::poll_timeout`].
///
/// After any input, drain `poll_transmit` and `poll_event` until `None`, then sleep until
/// `poll_timeout`. `now` must not go backwards. PTP time (timestamps) and the monotonic `now`
/// are separate: the state machine never reads a clock, it only compares the timestamps the
/// caller hands in.
pub struct Clock {
    cfg: Resolved,
    default_ds: DefaultDs,
    current_ds: CurrentDs,
    parent_ds: ParentDs,
    time_props: TimePropertiesDs,
    ports: Vec<Port>,
    servo: PiServo,
    rng: Box<dyn RngCore + Send>,
    outgoing: VecDeque<Outgoing>,
    events: VecDeque<Event>,
    pending_tx: VecDeque<(TxToken, TxPurpose)>,
    next_token: u64,
    last_offset: Option<Time>,
    freq_drift_ppb: Option<f64>,
    /// Robust line through recent (t2, t2 - t1 - corrections) Sync samples: drift estimate,
    /// outlier test and the free-running offset estimate.
    trend: SyncTrend,
    outliers_in_row: u8,
    dropped_events: u64,
}

impl core::fmt::Debug for Clock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Clock")
            .field("default_ds", &self.default_ds)
            .field("parent_ds", &self.parent_ds)
            .finish_non_exhaustive()
    }
}

/// defaultDS.clockQuality: a slave-only clock has clockClass 255 [1588-2008 table 5], so no
/// BMCA (1588's or G.8275.1's, which ignores priority1) ever prefers it.
fn quality_for(configured: ClockQuality, slave_only: bool) -> ClockQuality {
    if slave_only {
        ClockQuality {
            clock_class: 255,
            ..configured
        }
    } else {
        configured
    }
}

fn random_up_to(rng: &mut dyn RngCore, max: Duration) -> Duration {
    let n = max.as_nanos() as u64;
    if n == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rng.next_u64() % (n + 1))
}

impl Clock {
    /// Create a clock; its ports start in LISTENING at `now`.
    pub fn new(
        config: &crate::Config,
        rng: Box<dyn RngCore + Send>,
        now: Instant,
    ) -> Result<Self, Error> {
        let cfg = config.resolve()?;
        let c = &cfg.config;
        let id = c.clock_identity;
        let default_ds = DefaultDs {
            two_step: true,
            clock_identity: id,
            number_ports: c.ports.len() as u16,
            clock_quality: quality_for(c.clock_quality, c.slave_only),
            priority1: cfg.priority1,
            priority2: cfg.priority2,
            domain: cfg.domain,
            slave_only: c.slave_only,
        };
        let parent_ds = ParentDs {
            parent_port_identity: PortIdentity {
                clock_identity: id,
                port_number: 0,
            },
            grandmaster_identity: id,
            grandmaster_clock_quality: c.clock_quality,
            grandmaster_priority1: cfg.priority1,
            grandmaster_priority2: cfg.priority2,
        };
        let time_props = TimePropertiesDs {
            current_utc_offset: 37,
            flags: 0,
            time_source: c.time_source,
        };
        let iv = cfg.intervals;
        let ports = c
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| Port {
                name: p.interface.clone(),
                identity: PortIdentity {
                    clock_identity: id,
                    port_number: (i + 1) as u16,
                },
                state: PortState::Initializing,
                delay: cfg.delay,
                log_announce: iv.log_announce_interval,
                log_sync: iv.log_sync_interval,
                log_delay_req: iv.log_min_delay_req_interval,
                log_pdelay_req: iv.log_min_pdelay_req_interval,
                receipt_timeout: iv.announce_receipt_timeout,
                foreign: Vec::new(),
                announce_expired: false,
                t_announce_receipt: None,
                t_qualification: None,
                t_announce_tx: None,
                t_sync_tx: None,
                t_delay_req: None,
                t_pdelay_req: None,
                t_fault_reset: None,
                seq_announce: 0,
                seq_sync: 0,
                seq_delay_req: 0,
                seq_pdelay: 0,
                sync_rx: None,
                fu_rx: None,
                last_sync: None,
                delay_req: None,
                pdelay: None,
                e2e_filter: MedianFilter::new(c.servo.delay_filter_length),
                p2p_filter: MedianFilter::new(c.servo.delay_filter_length),
                mean_path_delay: None,
                peer_delay: None,
                as_capable: !cfg.gptp,
                lost_responses: 0,
                counters: PortCounters::default(),
            })
            .collect();
        let servo = PiServo::new(c.servo, iv.log_sync_interval);
        let trend = SyncTrend::new(c.servo.trend_window);
        let mut clock = Clock {
            cfg,
            default_ds,
            current_ds: CurrentDs::default(),
            parent_ds,
            time_props,
            ports,
            servo,
            rng,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            pending_tx: VecDeque::new(),
            next_token: 1,
            last_offset: None,
            freq_drift_ppb: None,
            trend,
            outliers_in_row: 0,
            dropped_events: 0,
        };
        for i in 0..clock.ports.len() {
            let disabled = clock.cfg.config.ports.get(i).is_some_and(|p| p.disabled);
            if disabled {
                clock.set_state(i, PortState::Disabled, now);
            } else {
                clock.start_port(i, now);
            }
        }
        Ok(clock)
    }

    /// INITIALIZING -> LISTENING, peer delay from now on (P2P).
    fn start_port(&mut self, i: usize, now: Instant) {
        self.set_state(i, PortState::Listening, now);
        if let Some(p) = self.ports.get_mut(i) {
            if p.delay == DelayMechanism::P2p {
                p.t_pdelay_req = Some(now);
            }
        }
    }

    /// Take a port out of FAULTY / DISABLED: INITIALIZING, then LISTENING [1588-2008 9.2.5],
    /// and the BMCA decides again.
    fn reinitialize(&mut self, i: usize, now: Instant) {
        self.set_state(i, PortState::Initializing, now);
        self.start_port(i, now);
        self.run_bmca(now);
    }

    // ----- mutators ------------------------------------------------------------------------

    /// DESIGNATED_DISABLED / DESIGNATED_ENABLED [1588-2008 9.2.6]: disabling puts the port in
    /// DISABLED (it sends nothing, every input is dropped as [`DropReason::PortNotOperational`],
    /// its foreign masters and delay state are forgotten) and lets the other ports' BMCA
    /// decide without it; enabling re-initializes it (LISTENING). RouterOS `/system ptp port`
    /// `disabled`. Disabling a FAULTY port makes it DISABLED; enabling an enabled port does
    /// nothing.
    pub fn set_port_enabled(
        &mut self,
        now: Instant,
        port: usize,
        enabled: bool,
    ) -> Result<(), Error> {
        let st = self.port_state(port).ok_or(Error::NoSuchPort(port))?;
        match (enabled, st) {
            (false, PortState::Disabled) => {}
            (false, _) => {
                self.set_state(port, PortState::Disabled, now);
                self.run_bmca(now);
            }
            (true, PortState::Disabled) => self.reinitialize(port, now),
            (true, _) => {}
        }
        Ok(())
    }

    /// FAULT_DETECTED [1588-2008 9.2.6.12]: the caller saw the port fail (a send error, the
    /// link went down, timestamps stopped). The port goes FAULTY: it sends nothing, drops every
    /// input, and the BMCA runs without it; after [`Config::fault_reset_interval`](crate::Config)
    /// (linuxptp's `fault_reset_interval`) or [`clear_port_fault`](Self::clear_port_fault) it
    /// re-initializes. A DISABLED port stays DISABLED.
    pub fn report_port_fault(&mut self, now: Instant, port: usize) -> Result<(), Error> {
        let st = self.port_state(port).ok_or(Error::NoSuchPort(port))?;
        if matches!(st, PortState::Disabled | PortState::Faulty) {
            return Ok(());
        }
        self.set_state(port, PortState::Faulty, now);
        let reset = self.cfg.config.fault_reset_interval;
        if let Some(p) = self.ports.get_mut(port) {
            p.t_fault_reset = reset.map(|d| now + d);
        }
        self.run_bmca(now);
        Ok(())
    }

    /// FAULT_CLEARED: a FAULTY port re-initializes now (LISTENING). No effect in other states.
    pub fn clear_port_fault(&mut self, now: Instant, port: usize) -> Result<(), Error> {
        let st = self.port_state(port).ok_or(Error::NoSuchPort(port))?;
        if st == PortState::Faulty {
            self.reinitialize(port, now);
        }
        Ok(())
    }

    // ----- getters -------------------------------------------------------------------------

    /// Resolved configuration.
    pub fn config(&self) -> &Resolved {
        &self.cfg
    }

    /// defaultDS.
    pub fn default_ds(&self) -> &DefaultDs {
        &self.default_ds
    }

    /// currentDS.
    pub fn current_ds(&self) -> &CurrentDs {
        &self.current_ds
    }

    /// parentDS.
    pub fn parent_ds(&self) -> &ParentDs {
        &self.parent_ds
    }

    /// timePropertiesDS.
    pub fn time_properties_ds(&self) -> &TimePropertiesDs {
        &self.time_props
    }

    /// Number of ports.
    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    /// State of port `i`.
    pub fn port_state(&self, i: usize) -> Option<PortState> {
        self.ports.get(i).map(|p| p.state)
    }

    /// Counters of port `i`.
    pub fn counters(&self, i: usize) -> Option<PortCounters> {
        self.ports.get(i).map(|p| p.counters)
    }

    /// Number of foreign master records port `i` holds (at most
    /// [`Config::max_foreign_masters`](crate::Config)), qualified or not.
    pub fn foreign_master_count(&self, i: usize) -> Option<usize> {
        self.ports.get(i).map(|p| p.foreign.len())
    }

    /// portDS of port `i`.
    pub fn port_ds(&self, i: usize) -> Option<PortDs> {
        let p = self.ports.get(i)?;
        Some(PortDs {
            port_identity: p.identity,
            port_state: p.state,
            log_min_delay_req_interval: p.log_delay_req,
            peer_mean_path_delay: if p.delay == DelayMechanism::P2p {
                p.peer_delay.unwrap_or(Time::ZERO)
            } else {
                Time::ZERO
            },
            log_announce_interval: p.log_announce,
            announce_receipt_timeout: p.receipt_timeout,
            log_sync_interval: p.log_sync,
            delay_mechanism: p.delay,
            log_min_pdelay_req_interval: p.log_pdelay_req,
            version_number: 2,
        })
    }

    /// True when the local clock is the grandmaster.
    pub fn is_grandmaster(&self) -> bool {
        self.parent_ds.grandmaster_identity == self.default_ds.clock_identity
    }

    fn slave_port(&self) -> Option<usize> {
        self.ports.iter().position(|p| p.state.is_slave())
    }

    /// RouterOS `/system ptp monitor` snapshot (seed L128-161).
    pub fn monitor(&self) -> Monitor {
        let sp = self.slave_port();
        let sport = sp.and_then(|i| self.ports.get(i));
        Monitor {
            name: self.cfg.config.name.clone(),
            clock_id: self.default_ds.clock_identity,
            priority1: self.default_ds.priority1,
            priority2: self.default_ds.priority2,
            i_am_gm: self.is_grandmaster(),
            gm_clock_id: self.parent_ds.grandmaster_identity,
            gm_priority1: self.parent_ds.grandmaster_priority1,
            gm_priority2: self.parent_ds.grandmaster_priority2,
            master_clock_id: self.parent_ds.parent_port_identity.clock_identity,
            slave_port: sport.map(|p| p.name.clone()),
            freq_drift_ppb: if sp.is_some() {
                self.freq_drift_ppb.map(|f| f.round() as i64)
            } else {
                None
            },
            offset_ns: if sp.is_some() {
                self.last_offset.map(|o| o.nanos_round() as i64)
            } else {
                None
            },
            hw_offset_ns: None,
            slave_port_delay_ns: sport
                .and_then(|p| match p.delay {
                    DelayMechanism::E2e => p.mean_path_delay,
                    DelayMechanism::P2p => p.peer_delay,
                })
                .map(|d| d.nanos_round() as i64),
        }
    }

    /// `/system ptp status` rows: one per port.
    pub fn port_status(&self) -> Vec<PortStatus> {
        self.ports
            .iter()
            .map(|p| PortStatus {
                interface: p.name.clone(),
                state: p.state,
                delay_ns: match p.delay {
                    DelayMechanism::E2e if p.state.is_slave() => p.mean_path_delay,
                    DelayMechanism::P2p => p.peer_delay,
                    _ => None,
                }
                .map(|d| d.nanos_round() as i64),
            })
            .collect()
    }

    // ----- outputs -------------------------------------------------------------------------

    /// Next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.poll_event_untraced();
        trace_event!("ptp::clock", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Earliest deadline at which [`Clock::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ports
            .iter()
            .flat_map(|p| {
                [
                    p.t_announce_receipt,
                    p.t_qualification,
                    p.t_announce_tx,
                    p.t_sync_tx,
                    p.t_delay_req,
                    p.t_pdelay_req,
                    p.t_fault_reset,
                ]
            })
            .flatten()
            .min()
    }

    /// Write the next queued message into `buf`. On [`Error::BufferTooSmall`] the message stays
    /// queued and `buf` is untouched.
    pub fn poll_transmit(
        &mut self,
        _now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<Transmit>, Error> {
        let Some(o) = self.outgoing.front() else {
            return Ok(None);
        };
        let msg = Message {
            header: o.header,
            body: o.body,
            suffix: &o.tlvs,
        };
        let need = msg.buffer_len();
        if buf.len() < need {
            return Err(Error::BufferTooSmall {
                need,
                have: buf.len(),
            });
        }
        let len = msg.emit(buf)?;
        let t = Transmit {
            port: o.port,
            dest: o.dest,
            event: o.header.message_type.is_event(),
            message_type: o.header.message_type,
            token: o.token,
            len,
        };
        self.outgoing.pop_front();
        Ok(Some(t))
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        self.events.push_back(e);
    }

    fn queue(
        &mut self,
        port: usize,
        dest: Destination,
        header: Header,
        body: Body,
        tlvs: Vec<u8>,
        purpose: Option<TxPurpose>,
    ) {
        let token = purpose.map(|pu| {
            let t = TxToken(self.next_token);
            self.next_token = self.next_token.wrapping_add(1);
            if self.pending_tx.len() >= MAX_PENDING_TX {
                if let Some((_, old)) = self.pending_tx.pop_front() {
                    self.abandon(old);
                }
            }
            self.pending_tx.push_back((t, pu));
            t
        });
        if self.outgoing.len() >= MAX_OUTGOING {
            self.outgoing.pop_front();
        }
        if let Some(p) = self.ports.get_mut(port) {
            p.counters.tx += 1;
        }
        self.outgoing.push_back(Outgoing {
            port,
            dest,
            header,
            body,
            tlvs,
            token,
        });
    }

    fn header(&self, port: usize, mt: MessageType, seq: u16, log: i8) -> Header {
        let src = self.ports.get(port).map(|p| p.identity).unwrap_or_default();
        let mut h = Header::new(mt, self.default_ds.domain, src, seq);
        h.transport_specific = self.cfg.transport_specific;
        h.log_message_interval = log;
        h
    }

    // ----- inputs --------------------------------------------------------------------------

    /// Report the egress timestamp of the message sent with `token`.
    pub fn handle_tx_timestamp(&mut self, now: Instant, token: TxToken, ts: Time) {
        let Some(pos) = self.pending_tx.iter().position(|(t, _)| *t == token) else {
            return;
        };
        let Some((_, purpose)) = self.pending_tx.remove(pos) else {
            return;
        };
        match purpose {
            TxPurpose::Sync { port, seq } => {
                let Some(p) = self.ports.get(port) else {
                    return;
                };
                if p.state != PortState::Master {
                    return;
                }
                let Some(t1) = ts.to_timestamp() else { return };
                let mut h = self.header(port, MessageType::FollowUp, seq, p.log_sync);
                h.correction = TimeInterval(ts.sub_ns_units());
                self.queue(
                    port,
                    Destination::Primary,
                    h,
                    Body::FollowUp {
                        precise_origin_timestamp: t1,
                    },
                    if self.cfg.gptp {
                        // A grandmaster (or a clock steered to its master) has rate ratio 1
                        // and no phase / frequency change to report: all zero.
                        FollowUpInfo::default().to_tlv_bytes().to_vec()
                    } else {
                        Vec::new()
                    },
                    None,
                );
            }
            TxPurpose::DelayReq { port, seq } => {
                if let Some(p) = self.ports.get_mut(port) {
                    if let Some(d) = p.delay_req.as_mut().filter(|d| d.seq == seq) {
                        d.t3 = Some(ts);
                    }
                }
                self.try_e2e_delay(now, port);
            }
            TxPurpose::PdelayReq { port, seq } => {
                if let Some(p) = self.ports.get_mut(port) {
                    if let Some(d) = p.pdelay.as_mut().filter(|d| d.seq == seq) {
                        d.t1 = Some(ts);
                    }
                }
                self.try_p2p_delay(port);
            }
            TxPurpose::PdelayResp {
                port,
                seq,
                requesting,
                req_corr,
            } => {
                let Some(t3) = ts.to_timestamp() else { return };
                let mut h = self.header(port, MessageType::PdelayRespFollowUp, seq, 0x7F);
                h.correction = TimeInterval(req_corr.0.saturating_add(ts.sub_ns_units()));
                self.queue(
                    port,
                    Destination::PeerDelay,
                    h,
                    Body::PdelayRespFollowUp {
                        response_origin_timestamp: t3,
                        requesting_port_identity: requesting,
                    },
                    Vec::new(),
                    None,
                );
            }
        }
    }

    /// Report that the egress timestamp for `token` will never arrive (e.g. the kernel's error
    /// queue timed out). The dependent Follow_Up / delay computation is abandoned.
    pub fn handle_tx_timestamp_missing(&mut self, _now: Instant, token: TxToken) {
        if let Some(pos) = self.pending_tx.iter().position(|(t, _)| *t == token) {
            if let Some((_, purpose)) = self.pending_tx.remove(pos) {
                self.abandon(purpose);
            }
        }
    }

    fn abandon(&mut self, purpose: TxPurpose) {
        let (port, mt) = match purpose {
            TxPurpose::Sync { port, .. } => (port, MessageType::Sync),
            TxPurpose::DelayReq { port, .. } => {
                if let Some(p) = self.ports.get_mut(port) {
                    p.delay_req = None;
                }
                (port, MessageType::DelayReq)
            }
            TxPurpose::PdelayReq { port, .. } => {
                if let Some(p) = self.ports.get_mut(port) {
                    p.pdelay = None;
                }
                (port, MessageType::PdelayReq)
            }
            TxPurpose::PdelayResp { port, .. } => (port, MessageType::PdelayResp),
        };
        if let Some(p) = self.ports.get_mut(port) {
            p.counters.tx_timestamp_missing += 1;
        }
        self.push_event(Event::TxTimestampMissing { port, message: mt });
    }

    fn drop_input(&mut self, port: usize, reason: DropReason) -> Disposition {
        if let Some(p) = self.ports.get_mut(port) {
            p.counters.dropped += 1;
        }
        self.push_event(Event::Dropped { port, reason });
        Disposition::Dropped(reason)
    }

    /// Handle a received PTP message (`bytes` starts at the PTP header: UDP payload or the
    /// Ethernet payload after ethertype 0x88F7) on port `port`. `rx` is the ingress timestamp
    /// on the PTP timescale, required for event messages.
    pub fn handle_input(
        &mut self,
        now: Instant,
        port: usize,
        bytes: &[u8],
        rx: Option<Time>,
    ) -> Result<Disposition, Error> {
        let state = self
            .ports
            .get(port)
            .map(|p| p.state)
            .ok_or(Error::NoSuchPort(port))?;
        let msg = match Message::parse(bytes) {
            Ok(m) => m,
            Err(e) => return Ok(self.drop_input(port, DropReason::Malformed(e))),
        };
        let h = msg.header;
        if h.domain != self.default_ds.domain {
            return Ok(self.drop_input(port, DropReason::WrongDomain { found: h.domain }));
        }
        if h.transport_specific != self.cfg.transport_specific {
            return Ok(self.drop_input(
                port,
                DropReason::WrongTransportSpecific {
                    found: h.transport_specific,
                },
            ));
        }
        if h.source_port_identity.clock_identity == self.default_ds.clock_identity {
            return Ok(self.drop_input(port, DropReason::FromSelf));
        }
        if !state.operational() {
            return Ok(self.drop_input(port, DropReason::PortNotOperational));
        }
        if self.cfg.gptp
            && matches!(
                h.message_type,
                MessageType::Announce | MessageType::Sync | MessageType::FollowUp
            )
            && self.ports.get(port).is_some_and(|p| !p.as_capable)
        {
            return Ok(self.drop_input(port, DropReason::NotAsCapable));
        }
        if i128::from(h.correction.0).abs() > MAX_CORRECTION {
            return Ok(self.drop_input(port, DropReason::AbsurdCorrection));
        }
        if h.message_type.is_event() && rx.is_none() {
            return Ok(self.drop_input(port, DropReason::MissingRxTimestamp));
        }
        let rx = rx.unwrap_or(Time::ZERO);
        let r = match msg.body {
            Body::Announce(a) => self.rx_announce(now, port, &h, &a),
            Body::Sync { origin_timestamp } => self.rx_sync(now, port, &h, origin_timestamp, rx),
            Body::FollowUp {
                precise_origin_timestamp,
            } => self.rx_follow_up(now, port, &h, precise_origin_timestamp),
            Body::DelayReq { .. } => self.rx_delay_req(port, &h, rx),
            Body::DelayResp {
                receive_timestamp,
                requesting_port_identity,
            } => self.rx_delay_resp(now, port, &h, receive_timestamp, requesting_port_identity),
            Body::PdelayReq { .. } => self.rx_pdelay_req(port, &h, rx),
            Body::PdelayResp {
                request_receipt_timestamp,
                requesting_port_identity,
            } => self.rx_pdelay_resp(
                port,
                &h,
                request_receipt_timestamp,
                requesting_port_identity,
                rx,
            ),
            Body::PdelayRespFollowUp {
                response_origin_timestamp,
                requesting_port_identity,
            } => self.rx_pdelay_fu(
                port,
                &h,
                response_origin_timestamp,
                requesting_port_identity,
            ),
            Body::Management(m) => self.rx_management(now, port, &h, &m, &msg),
            Body::Signaling { .. } => Err(DropReason::Unsupported(MessageType::Signaling)),
        };
        Ok(match r {
            Ok(()) => {
                if let Some(p) = self.ports.get_mut(port) {
                    p.counters.rx += 1;
                }
                Disposition::Accepted
            }
            Err(reason) => self.drop_input(port, reason),
        })
    }

    /// Process expired timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Firing a timer can arm another one for `now` (entering MASTER sends Announce and
        // Sync at once); run a few rounds so the caller sees them without an extra wake-up.
        for _ in 0..4 {
            self.fire_timers(now);
            if self.poll_timeout().is_none_or(|t| t > now) {
                break;
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        for i in 0..self.ports.len() {
            let Some(p) = self.ports.get(i) else { continue };
            let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
            let (ar, q, atx, stx, dr, pd, fr) = (
                due(p.t_announce_receipt),
                due(p.t_qualification),
                due(p.t_announce_tx),
                due(p.t_sync_tx),
                due(p.t_delay_req),
                due(p.t_pdelay_req),
                due(p.t_fault_reset),
            );
            if fr {
                if let Some(p) = self.ports.get_mut(i) {
                    p.t_fault_reset = None;
                }
                if self.port_state(i) == Some(PortState::Faulty) {
                    self.reinitialize(i, now);
                }
                continue;
            }
            if ar {
                self.announce_receipt_timeout(now, i);
            }
            if q {
                if let Some(p) = self.ports.get_mut(i) {
                    p.t_qualification = None;
                }
                if self.port_state(i) == Some(PortState::PreMaster) {
                    self.set_state(i, PortState::Master, now);
                }
            }
            if atx {
                self.send_announce(now, i);
            }
            if stx {
                self.send_sync(now, i);
            }
            if dr {
                self.send_delay_req(now, i);
            }
            if pd {
                self.send_pdelay_req(now, i);
            }
        }
    }

    // ----- timers ----------------------------------------------------------------------------

    fn announce_receipt_timeout(&mut self, now: Instant, i: usize) {
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        p.t_announce_receipt = None;
        p.foreign.clear();
        p.announce_expired = true;
        self.run_bmca(now);
        // A slave-only clock (or a port that stays listening) re-arms the timer.
        if let Some(p) = self.ports.get_mut(i) {
            if matches!(
                p.state,
                PortState::Listening
                    | PortState::Passive
                    | PortState::Uncalibrated
                    | PortState::Slave
            ) && p.t_announce_receipt.is_none()
            {
                p.t_announce_receipt =
                    Some(now + log_interval(p.log_announce) * u32::from(p.receipt_timeout));
            }
        }
    }

    fn send_announce(&mut self, now: Instant, i: usize) {
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        if p.state != PortState::Master {
            p.t_announce_tx = None;
            return;
        }
        p.t_announce_tx = Some(now + log_interval(p.log_announce));
        if !p.as_capable {
            // 802.1AS: no Announce / Sync towards a neighbour that is not asCapable.
            return;
        }
        let seq = p.seq_announce;
        p.seq_announce = p.seq_announce.wrapping_add(1);
        let log = p.log_announce;
        let mut h = self.header(i, MessageType::Announce, seq, log);
        h.flags = u16::from(self.time_props.flags);
        let a = Announce {
            origin_timestamp: Timestamp::default(),
            current_utc_offset: self.time_props.current_utc_offset,
            reserved: 0,
            grandmaster_priority1: self.parent_ds.grandmaster_priority1,
            grandmaster_clock_quality: self.parent_ds.grandmaster_clock_quality,
            grandmaster_priority2: self.parent_ds.grandmaster_priority2,
            grandmaster_identity: self.parent_ds.grandmaster_identity,
            steps_removed: self.current_ds.steps_removed,
            time_source: self.time_props.time_source,
        };
        self.queue(
            i,
            Destination::Primary,
            h,
            Body::Announce(a),
            Vec::new(),
            None,
        );
    }

    fn send_sync(&mut self, now: Instant, i: usize) {
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        if p.state != PortState::Master {
            p.t_sync_tx = None;
            return;
        }
        p.t_sync_tx = Some(now + log_interval(p.log_sync));
        if !p.as_capable {
            return;
        }
        let seq = p.seq_sync;
        p.seq_sync = p.seq_sync.wrapping_add(1);
        let log = p.log_sync;
        let mut h = self.header(i, MessageType::Sync, seq, log);
        h.flags = flags::TWO_STEP | u16::from(self.time_props.flags);
        self.queue(
            i,
            Destination::Primary,
            h,
            Body::Sync {
                origin_timestamp: Timestamp::default(),
            },
            Vec::new(),
            Some(TxPurpose::Sync { port: i, seq }),
        );
    }

    fn arm_delay_req(&mut self, now: Instant, i: usize) {
        let Some(p) = self.ports.get(i) else { return };
        if p.delay != DelayMechanism::E2e || !p.state.is_slave() {
            if let Some(p) = self.ports.get_mut(i) {
                p.t_delay_req = None;
            }
            return;
        }
        // 1588-2008 9.5.11.2: uniformly random in [0, 2^(logMinDelayReqInterval+1)].
        let span = log_interval(p.log_delay_req) * 2;
        let d = random_up_to(&mut *self.rng, span);
        if let Some(p) = self.ports.get_mut(i) {
            p.t_delay_req = Some(now + d);
        }
    }

    fn send_delay_req(&mut self, now: Instant, i: usize) {
        self.arm_delay_req(now, i);
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        if p.delay != DelayMechanism::E2e || !p.state.is_slave() {
            return;
        }
        let seq = p.seq_delay_req;
        p.seq_delay_req = p.seq_delay_req.wrapping_add(1);
        p.delay_req = Some(DelayReqOut {
            seq,
            t3: None,
            resp: None,
        });
        let h = self.header(i, MessageType::DelayReq, seq, 0x7F);
        self.queue(
            i,
            Destination::Primary,
            h,
            Body::DelayReq {
                origin_timestamp: Timestamp::default(),
            },
            Vec::new(),
            Some(TxPurpose::DelayReq { port: i, seq }),
        );
    }

    fn send_pdelay_req(&mut self, now: Instant, i: usize) {
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        if p.delay != DelayMechanism::P2p || !p.state.operational() {
            p.t_pdelay_req = None;
            return;
        }
        p.t_pdelay_req = Some(now + log_interval(p.log_pdelay_req));
        if p.pdelay.is_some() {
            p.lost_responses = p.lost_responses.saturating_add(1);
        }
        let lost = p.lost_responses > ALLOWED_LOST_RESPONSES;
        if lost {
            self.set_as_capable(i, false);
        }
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        let seq = p.seq_pdelay;
        p.seq_pdelay = p.seq_pdelay.wrapping_add(1);
        p.pdelay = Some(PdelayOut {
            seq,
            t1: None,
            t2: None,
            t4: None,
            c_resp: Time::ZERO,
            t3: None,
            c_fu: Time::ZERO,
            one_step: false,
            responder: None,
        });
        let h = self.header(i, MessageType::PdelayReq, seq, 0x7F);
        self.queue(
            i,
            Destination::PeerDelay,
            h,
            Body::PdelayReq {
                origin_timestamp: Timestamp::default(),
                reserved: [0; 10],
            },
            Vec::new(),
            Some(TxPurpose::PdelayReq { port: i, seq }),
        );
    }

    // ----- state machine ---------------------------------------------------------------------

    fn set_state(&mut self, i: usize, to: PortState, now: Instant) {
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        let from = p.state;
        if from == to {
            return;
        }
        p.state = to;
        let receipt = log_interval(p.log_announce) * u32::from(p.receipt_timeout);
        p.t_qualification = None;
        p.sync_rx = None;
        p.fu_rx = None;
        p.last_sync = None;
        p.delay_req = None;
        match to {
            PortState::Master => {
                p.t_announce_receipt = None;
                p.t_announce_tx = Some(now);
                p.t_sync_tx = Some(now);
                p.t_delay_req = None;
            }
            PortState::PreMaster => {
                p.t_announce_receipt = None;
                p.t_announce_tx = None;
                p.t_sync_tx = None;
                p.t_delay_req = None;
            }
            PortState::Listening | PortState::Passive => {
                p.t_announce_receipt = Some(now + receipt);
                p.t_announce_tx = None;
                p.t_sync_tx = None;
                p.t_delay_req = None;
            }
            PortState::Uncalibrated | PortState::Slave => {
                if !from.is_slave() {
                    p.t_announce_receipt = Some(now + receipt);
                }
                p.t_announce_tx = None;
                p.t_sync_tx = None;
            }
            PortState::Initializing | PortState::Faulty | PortState::Disabled => {
                p.t_announce_receipt = None;
                p.t_announce_tx = None;
                p.t_sync_tx = None;
                p.t_delay_req = None;
                p.t_pdelay_req = None;
                p.t_fault_reset = None;
                // not operational: nothing heard before counts afterwards
                p.foreign.clear();
                p.announce_expired = false;
                p.pdelay = None;
                p.lost_responses = 0;
                if to != PortState::Initializing {
                    p.e2e_filter.reset();
                    p.p2p_filter.reset();
                    p.mean_path_delay = None;
                    p.peer_delay = None;
                }
            }
        }
        if to.is_slave() && !from.is_slave() {
            self.arm_delay_req(now, i);
        }
        if from.is_slave() && !to.is_slave() {
            self.servo.reset();
            self.last_offset = None;
            self.trend.clear();
        }
        self.push_event(Event::PortStateChanged { port: i, from, to });
    }

    fn prune_foreign(&mut self, now: Instant) {
        for p in &mut self.ports {
            let window = log_interval(p.log_announce) * FOREIGN_MASTER_TIME_WINDOW;
            for f in &mut p.foreign {
                for t in &mut f.times {
                    if t.is_some_and(|t| now.saturating_duration_since(t) > window) {
                        *t = None;
                    }
                }
            }
            p.foreign.retain(|f| f.times.iter().any(Option::is_some));
        }
    }

    /// G.8275.1 portDS.localPriority of port `i` (128 when unset).
    fn port_local_priority(&self, i: usize) -> u8 {
        self.cfg
            .config
            .ports
            .get(i)
            .map(|c| c.local_priority)
            .unwrap_or(128)
    }

    fn erbest(&self, i: usize) -> Option<(Dataset, Announce, Header)> {
        let p = self.ports.get(i)?;
        let mut best: Option<(Dataset, Announce, Header)> = None;
        for f in p
            .foreign
            .iter()
            .filter(|f| f.times.iter().all(Option::is_some))
        {
            let ds = Dataset::from_announce(&f.announce, f.sender, p.identity)
                .with_local_priority(self.port_local_priority(i));
            let better = match &best {
                None => true,
                Some((b, _, _)) => bmca::compare_with(self.cfg.bmca, &ds, b).a_better(),
            };
            if better {
                best = Some((ds, f.announce, f.header));
            }
        }
        best
    }

    fn d0(&self) -> Dataset {
        Dataset::local(
            self.default_ds.clock_identity,
            self.default_ds.priority1,
            self.default_ds.clock_quality,
            self.default_ds.priority2,
        )
        .with_local_priority(self.cfg.config.local_priority)
    }

    /// 802.1AS asCapable: report changes.
    fn set_as_capable(&mut self, i: usize, v: bool) {
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        if !self.cfg.gptp || p.as_capable == v {
            return;
        }
        p.as_capable = v;
        self.push_event(Event::AsCapableChanged {
            port: i,
            as_capable: v,
        });
    }

    /// Whether port `i` is asCapable (802.1AS; always true for the other profiles).
    pub fn as_capable(&self, i: usize) -> Option<bool> {
        self.ports.get(i).map(|p| p.as_capable)
    }

    /// G.8275.1 notSlave: this port's masters are never candidates.
    fn not_slave(&self, i: usize) -> bool {
        self.cfg.bmca == bmca::Algorithm::G8275
            && self.cfg.config.ports.get(i).is_some_and(|p| p.not_slave)
    }

    /// Run the state decision on every port [9.3.3] and apply the results.
    fn run_bmca(&mut self, now: Instant) {
        self.prune_foreign(now);
        let d0 = self.d0();
        let erbests: Vec<Option<(Dataset, Announce, Header)>> = (0..self.ports.len())
            .map(|i| {
                let operational = self.port_state(i).is_some_and(PortState::operational);
                if self.not_slave(i) || !operational {
                    None
                } else {
                    self.erbest(i)
                }
            })
            .collect();
        let alg = self.cfg.bmca;
        let mut ebest: Option<(usize, Dataset)> = None;
        for (i, e) in erbests.iter().enumerate() {
            if let Some((ds, _, _)) = e {
                if ebest
                    .as_ref()
                    .is_none_or(|(_, b)| bmca::compare_with(alg, ds, b).a_better())
                {
                    ebest = Some((i, *ds));
                }
            }
        }
        let mut recs = Vec::with_capacity(self.ports.len());
        for (i, e) in erbests.iter().enumerate() {
            let st = self
                .ports
                .get(i)
                .map(|p| (p.state, p.announce_expired))
                .unwrap_or((PortState::Disabled, false));
            let listening = st.0 == PortState::Listening && !st.1;
            let rec = bmca::state_decision_with(
                alg,
                &d0,
                e.as_ref().map(|x| &x.0),
                ebest.as_ref().map(|x| &x.1),
                ebest.as_ref().is_some_and(|x| x.0 == i),
                listening,
                self.not_slave(i),
            );
            recs.push(rec);
        }
        // Update data sets.
        let old_parent = self.parent_ds.parent_port_identity;
        let old_gm = self.parent_ds.grandmaster_identity;
        if let Some(slave) = recs.iter().position(|r| *r == Recommendation::S1) {
            if let Some(Some((ds, a, h))) = erbests.get(slave) {
                self.current_ds.steps_removed = ds.steps_removed.saturating_add(1);
                self.parent_ds = ParentDs {
                    parent_port_identity: ds.sender,
                    grandmaster_identity: a.grandmaster_identity,
                    grandmaster_clock_quality: a.grandmaster_clock_quality,
                    grandmaster_priority1: a.grandmaster_priority1,
                    grandmaster_priority2: a.grandmaster_priority2,
                };
                self.time_props = TimePropertiesDs {
                    current_utc_offset: a.current_utc_offset,
                    flags: (h.flags & 0x3F) as u8,
                    time_source: a.time_source,
                };
            }
        } else if recs
            .iter()
            .any(|r| matches!(r, Recommendation::M1 | Recommendation::M2))
        {
            self.become_grandmaster();
        }
        if self.parent_ds.parent_port_identity != old_parent
            || self.parent_ds.grandmaster_identity != old_gm
        {
            self.push_event(Event::ParentChanged {
                grandmaster: self.parent_ds.grandmaster_identity,
                parent: self.parent_ds.parent_port_identity,
            });
            // A new parent invalidates the servo state.
            self.servo.reset();
            self.trend.clear();
            for i in 0..self.ports.len() {
                if self.port_state(i) == Some(PortState::Slave) {
                    self.set_state(i, PortState::Uncalibrated, now);
                }
            }
        }
        let slave_only = self.default_ds.slave_only;
        for (i, rec) in recs.into_iter().enumerate() {
            let Some(cur) = self.port_state(i) else {
                continue;
            };
            if !cur.operational() {
                // INITIALIZING, FAULTY and DISABLED ports take no recommendation [9.2.5]
                continue;
            }
            let to = match rec {
                Recommendation::Listening => PortState::Listening,
                Recommendation::M1 | Recommendation::M2 | Recommendation::M3 if slave_only => {
                    PortState::Listening
                }
                Recommendation::M1 | Recommendation::M2 => {
                    if cur == PortState::PreMaster {
                        PortState::PreMaster
                    } else {
                        PortState::Master
                    }
                }
                Recommendation::M3 => match cur {
                    PortState::Master | PortState::PreMaster => cur,
                    _ => PortState::PreMaster,
                },
                Recommendation::P1 | Recommendation::P2 => PortState::Passive,
                Recommendation::S1 => match cur {
                    PortState::Slave | PortState::Uncalibrated => cur,
                    _ => PortState::Uncalibrated,
                },
            };
            if to != cur {
                self.set_state(i, to, now);
                if to == PortState::PreMaster {
                    // Qualification timeout: (stepsRemoved + 1) announce intervals [9.2.6.10].
                    let steps = u32::from(self.current_ds.steps_removed)
                        .saturating_add(1)
                        .min(16);
                    if let Some(p) = self.ports.get_mut(i) {
                        p.t_qualification = Some(now + log_interval(p.log_announce) * steps);
                    }
                }
            }
        }
    }

    fn become_grandmaster(&mut self) {
        self.current_ds = CurrentDs::default();
        self.parent_ds = ParentDs {
            parent_port_identity: PortIdentity {
                clock_identity: self.default_ds.clock_identity,
                port_number: 0,
            },
            grandmaster_identity: self.default_ds.clock_identity,
            grandmaster_clock_quality: self.default_ds.clock_quality,
            grandmaster_priority1: self.default_ds.priority1,
            grandmaster_priority2: self.default_ds.priority2,
        };
        self.time_props = TimePropertiesDs {
            current_utc_offset: 37,
            flags: 0,
            time_source: self.cfg.config.time_source,
        };
    }

    // ----- receive paths ---------------------------------------------------------------------

    fn rx_announce(
        &mut self,
        now: Instant,
        i: usize,
        h: &Header,
        a: &Announce,
    ) -> Result<(), DropReason> {
        if a.steps_removed >= 255 {
            return Err(DropReason::StepsRemovedTooLarge);
        }
        if a.grandmaster_identity == self.default_ds.clock_identity {
            // Our own grandmaster data came back through another clock: a loop [9.5.2.3].
            return Err(DropReason::FromSelf);
        }
        let max = self.cfg.config.max_foreign_masters;
        let parent = self.parent_ds.parent_port_identity;
        let alg = self.cfg.bmca;
        let lp = self.port_local_priority(i);
        // records older than the window first [9.3.2.4.4], so they never block a newcomer
        self.prune_foreign(now);
        let Some(p) = self.ports.get_mut(i) else {
            return Ok(());
        };
        let sender = h.source_port_identity;
        match p.foreign.iter_mut().find(|f| f.sender == sender) {
            Some(f) => {
                f.times = [f.times[1], Some(now)];
                f.announce = *a;
                f.header = *h;
            }
            None => {
                let record = Foreign {
                    sender,
                    announce: *a,
                    header: *h,
                    times: [None, Some(now)],
                };
                if p.foreign.len() < max {
                    p.foreign.push(record);
                } else {
                    // Full (in the spirit of 9.3.2.4: the table must not keep a better master
                    // out): the newcomer displaces the worst record that is not yet qualified
                    // (a flood of one-off identities never qualifies), or the worst of all
                    // when every record is qualified, if it is better than that record. The
                    // parent's record is never displaced.
                    let me = p.identity;
                    let ds = |f: &Foreign| {
                        Dataset::from_announce(&f.announce, f.sender, me).with_local_priority(lp)
                    };
                    let qualified = |f: &Foreign| f.times.iter().all(Option::is_some);
                    let any_unqualified = p
                        .foreign
                        .iter()
                        .any(|f| !qualified(f) && f.sender != parent);
                    let victim = p
                        .foreign
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.sender != parent)
                        .filter(|(_, f)| !any_unqualified || !qualified(f))
                        .reduce(|worst, cand| {
                            if bmca::compare_with(alg, &ds(worst.1), &ds(cand.1)).a_better() {
                                cand
                            } else {
                                worst
                            }
                        })
                        .map(|(k, f)| (k, ds(f)));
                    match victim {
                        Some((k, worst))
                            if bmca::compare_with(alg, &ds(&record), &worst).a_better() =>
                        {
                            if let Some(slot) = p.foreign.get_mut(k) {
                                *slot = record;
                            }
                        }
                        _ => return Err(DropReason::ForeignTableFull),
                    }
                }
            }
        }
        let receipt = log_interval(p.log_announce) * u32::from(p.receipt_timeout);
        match p.state {
            PortState::Slave | PortState::Uncalibrated if sender == parent => {
                p.t_announce_receipt = Some(now + receipt);
            }
            PortState::Listening | PortState::Passive => {
                p.t_announce_receipt = Some(now + receipt);
            }
            _ => {}
        }
        self.run_bmca(now);
        Ok(())
    }

    fn check_parent(&self, i: usize, h: &Header, mt: MessageType) -> Result<(), DropReason> {
        let st = self.port_state(i).unwrap_or(PortState::Disabled);
        if !st.is_slave() {
            return Err(DropReason::UnexpectedInState {
                message: mt,
                state: st,
            });
        }
        if h.source_port_identity != self.parent_ds.parent_port_identity {
            return Err(DropReason::NotFromParent);
        }
        Ok(())
    }

    fn rx_sync(
        &mut self,
        now: Instant,
        i: usize,
        h: &Header,
        origin: Timestamp,
        t2: Time,
    ) -> Result<(), DropReason> {
        self.check_parent(i, h, MessageType::Sync)?;
        let corr = h.correction.to_time();
        let Some(p) = self.ports.get_mut(i) else {
            return Ok(());
        };
        if h.log_message_interval != 0x7F
            && h.log_message_interval != p.log_sync
            && (-7..=7).contains(&h.log_message_interval)
        {
            // Follow the master's sync rate (for servo constants).
            p.log_sync = h.log_message_interval;
            self.servo.set_sync_interval(h.log_message_interval);
        }
        let Some(p) = self.ports.get_mut(i) else {
            return Ok(());
        };
        if h.two_step() {
            p.sync_rx = Some(SyncRx {
                seq: h.sequence_id,
                t2,
                corr,
            });
            if let Some(fu) = p.fu_rx.take() {
                if fu.seq == h.sequence_id {
                    self.sync_complete(now, i, fu.t1, t2, corr + fu.corr);
                }
            }
        } else {
            p.sync_rx = None;
            self.sync_complete(now, i, origin.to_time(), t2, corr);
        }
        Ok(())
    }

    fn rx_follow_up(
        &mut self,
        now: Instant,
        i: usize,
        h: &Header,
        t1: Timestamp,
    ) -> Result<(), DropReason> {
        self.check_parent(i, h, MessageType::FollowUp)?;
        let corr = h.correction.to_time();
        let Some(p) = self.ports.get_mut(i) else {
            return Ok(());
        };
        match p.sync_rx {
            Some(s) if s.seq == h.sequence_id => {
                p.sync_rx = None;
                self.sync_complete(now, i, t1.to_time(), s.t2, s.corr + corr);
                Ok(())
            }
            _ => {
                // Follow_Up overtook its Sync: keep it for one Sync.
                p.fu_rx = Some(FollowUpRx {
                    seq: h.sequence_id,
                    t1: t1.to_time(),
                    corr,
                });
                Ok(())
            }
        }
    }

    fn sync_complete(&mut self, now: Instant, i: usize, t1: Time, t2: Time, corr: Time) {
        let sc = self.cfg.config.servo;
        // y = master-to-slave delay + offset. A busy kernel delays single timestamps by many
        // microseconds; such a sample lies far off the robust line through its neighbours and
        // is dropped before it reaches the drift estimate, the report or the servo (one bad
        // sample never steps or steers the clock).
        let y = t2 - t1 - corr;
        let locked = sc.free_running || self.servo.state() == ServoState::Locked;
        if locked
            && self
                .trend
                .is_outlier(t2.0, y.0, sc.outlier_mad_factor, sc.outlier_floor_ns)
        {
            self.outliers_in_row = self.outliers_in_row.saturating_add(1);
            if self.outliers_in_row < 3 {
                self.drop_input(i, DropReason::OffsetOutlier);
                return;
            }
            // Three in a row: the master really moved. Restart the history from here.
            self.trend.clear();
        }
        self.outliers_in_row = 0;
        self.trend.push(t2.0, y.0);
        let fit = self.trend.fit();
        if sc.free_running {
            if let Some(f) = fit {
                self.freq_drift_ppb = Some(f.slope * 1e9);
            }
        }
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        p.last_sync = Some((t1, t2, corr));
        let delay = match p.delay {
            DelayMechanism::E2e => p.mean_path_delay,
            DelayMechanism::P2p => p.peer_delay,
        };
        let Some(delay) = delay else { return };
        let raw = y - delay;
        let offset = match fit {
            Some(f) if sc.free_running && sc.fitted_offset && f.samples >= 4 => {
                Time(f.at(t2.0)) - delay
            }
            _ => raw,
        };
        self.offset_sample(now, i, offset, raw, delay, t2);
    }

    fn offset_sample(
        &mut self,
        now: Instant,
        i: usize,
        offset: Time,
        raw_offset: Time,
        delay: Time,
        t2: Time,
    ) {
        let off_ns = offset.as_nanos_f64();
        let local_s = t2.as_nanos_f64() / 1e9;
        let sc = self.cfg.config.servo;
        let locked = self.servo.state() != ServoState::Unlocked;
        if locked && sc.outlier_threshold_ns > 0.0 && off_ns.abs() > sc.outlier_threshold_ns {
            self.outliers_in_row = self.outliers_in_row.saturating_add(1);
            if self.outliers_in_row < 3 {
                self.drop_input(i, DropReason::OffsetOutlier);
                return;
            }
            // Persistent: the master really moved. Start over (a step may follow).
            self.servo.reset();
            self.trend.clear();
        }
        self.outliers_in_row = 0;
        self.last_offset = Some(offset);
        self.current_ds.offset_from_master = offset;
        self.current_ds.mean_path_delay = delay;
        let mut stepped = false;
        if sc.free_running {
            // Drift is estimated in sync_complete; nothing is adjusted.
            self.servo_to_slave_state(now, i, 2);
        } else {
            // The first frequency estimate: the Sync samples' slope (delay-free) once it is
            // known to 1 ppm, else after linuxptp's 0.016 / ki seconds the slope of at least
            // TREND_MIN_SAMPLES samples (robust) or the two-point estimate.
            let rate = self
                .trend
                .fit()
                .filter(|f| f.samples >= crate::servo::TREND_MIN_SAMPLES)
                .map(|f| (f.slope * 1e9, f.slope_uncertainty_ppb()));
            match self.servo.sample_with_rate(off_ns, local_s, rate) {
                ServoAction::None => {}
                ServoAction::Step { by_ns, ppb } => {
                    self.push_event(Event::StepClock {
                        by: Time::from_nanos(i128::from(by_ns)),
                    });
                    self.push_event(Event::AdjustFrequency { ppb });
                    self.freq_drift_ppb = Some(-ppb);
                    stepped = true;
                }
                ServoAction::Frequency { ppb } => {
                    self.push_event(Event::AdjustFrequency { ppb });
                    self.freq_drift_ppb = Some(-ppb);
                }
            }
            if self.servo.state() == ServoState::Locked {
                self.servo_to_slave_state(now, i, 0);
            }
        }
        self.push_event(Event::Offset {
            port: i,
            offset,
            raw_offset,
            path_delay: delay,
            freq_drift_ppb: self.freq_drift_ppb.unwrap_or(0.0),
            servo: self.servo.state(),
        });
        if stepped {
            self.trend.clear();
            // Timestamps taken before the step are useless afterwards. The path delay is not
            // (a step moves both ends of the sum): the filtered delay carries on, so the first
            // offsets after the step do not rest on one or two fresh delay samples. (E2E
            // samples before the first frequency correction were corrected for the drift
            // when it was known to 1 ppm; otherwise their error is below the link's noise.)
            for p in &mut self.ports {
                p.sync_rx = None;
                p.fu_rx = None;
                p.last_sync = None;
                p.delay_req = None;
                p.pdelay = None;
            }
        }
    }

    fn servo_to_slave_state(&mut self, now: Instant, i: usize, _n: u8) {
        if self.port_state(i) == Some(PortState::Uncalibrated) {
            self.set_state(i, PortState::Slave, now);
        }
    }

    fn rx_delay_req(&mut self, i: usize, h: &Header, t4: Time) -> Result<(), DropReason> {
        let st = self.port_state(i).unwrap_or(PortState::Disabled);
        if st != PortState::Master {
            return Err(DropReason::UnexpectedInState {
                message: MessageType::DelayReq,
                state: st,
            });
        }
        let Some(ts) = t4.to_timestamp() else {
            return Err(DropReason::MissingRxTimestamp);
        };
        let log = self.ports.get(i).map(|p| p.log_delay_req).unwrap_or(0);
        let mut rh = self.header(i, MessageType::DelayResp, h.sequence_id, log);
        // Carry the request's correction and our sub-ns part so the slave subtracts both.
        rh.correction = TimeInterval(h.correction.0.saturating_sub(t4.sub_ns_units()));
        rh.flags = u16::from(self.time_props.flags);
        self.queue(
            i,
            Destination::Primary,
            rh,
            Body::DelayResp {
                receive_timestamp: ts,
                requesting_port_identity: h.source_port_identity,
            },
            Vec::new(),
            None,
        );
        Ok(())
    }

    fn rx_delay_resp(
        &mut self,
        now: Instant,
        i: usize,
        h: &Header,
        t4: Timestamp,
        req: PortIdentity,
    ) -> Result<(), DropReason> {
        self.check_parent(i, h, MessageType::DelayResp)?;
        let Some(p) = self.ports.get_mut(i) else {
            return Ok(());
        };
        if req != p.identity {
            return Err(DropReason::NoMatchingRequest);
        }
        let Some(d) = p
            .delay_req
            .as_mut()
            .filter(|d| d.seq == h.sequence_id && d.resp.is_none())
        else {
            return Err(DropReason::NoMatchingRequest);
        };
        d.resp = Some((t4.to_time(), h.correction.to_time()));
        if h.log_message_interval != 0x7F && (-7..=7).contains(&h.log_message_interval) {
            p.log_delay_req = h.log_message_interval;
        }
        self.try_e2e_delay(now, i);
        Ok(())
    }

    fn try_e2e_delay(&mut self, _now: Instant, i: usize) {
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        let (Some(d), Some((t1, t2, c_sync))) = (p.delay_req, p.last_sync) else {
            return;
        };
        let (Some(t3), Some((t4, c_resp))) = (d.t3, d.resp) else {
            return;
        };
        p.delay_req = None;
        // [11.3.2] meanPathDelay = ((t2 - t1) + (t4 - t3) - corrections) / 2
        let mut sum = (t2 - t1) + (t4 - t3) - c_sync - c_resp;
        // Our clock runs at its own rate between t2 and t3 (up to 2 s apart): the sum holds
        // -rate * (t3 - t2) on top of the two path delays. Add it back, with the rate the
        // Sync samples show (the slope of their robust line: the free-running drift, or what
        // is left of it while the servo steers), in integer arithmetic (ppb rounded). Before
        // the servo's first correction of an oscillator 40 ppm off this is up to 40 us of
        // delay error, which would otherwise reach the servo's first frequency estimate.
        // Only a rate known to 1 ppm is used (at most ~2 us of correction error): on a noisy
        // link a slope from a few samples is worse than no correction.
        let rate_ppb = self
            .trend
            .fit()
            .filter(|f| f.slope_uncertainty_ppb() <= crate::servo::RATE_UNCERTAINTY_PPB)
            .map(|f| f.slope * 1e9);
        if let Some(ppb) = rate_ppb.filter(|p| p.is_finite()) {
            let ppb = ppb.round() as i128;
            sum = sum + Time((t3 - t2).0.saturating_mul(ppb) / 1_000_000_000);
        }
        let raw = sum.half();
        if raw.0.abs() > MAX_DELAY {
            self.drop_input(i, DropReason::DelayOutOfRange);
            return;
        }
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        let filtered = Time(p.e2e_filter.push(raw.0));
        p.mean_path_delay = Some(filtered);
        self.current_ds.mean_path_delay = filtered;
        self.push_event(Event::PathDelay {
            port: i,
            delay: filtered,
        });
    }

    fn rx_pdelay_req(&mut self, i: usize, h: &Header, t2: Time) -> Result<(), DropReason> {
        let Some(p) = self.ports.get(i) else {
            return Ok(());
        };
        if p.delay != DelayMechanism::P2p {
            return Err(DropReason::UnexpectedInState {
                message: MessageType::PdelayReq,
                state: p.state,
            });
        }
        let Some(ts) = t2.to_timestamp() else {
            return Err(DropReason::MissingRxTimestamp);
        };
        let mut rh = self.header(i, MessageType::PdelayResp, h.sequence_id, 0x7F);
        rh.flags = flags::TWO_STEP;
        rh.correction = TimeInterval(-t2.sub_ns_units());
        let requesting = h.source_port_identity;
        self.queue(
            i,
            Destination::PeerDelay,
            rh,
            Body::PdelayResp {
                request_receipt_timestamp: ts,
                requesting_port_identity: requesting,
            },
            Vec::new(),
            Some(TxPurpose::PdelayResp {
                port: i,
                seq: h.sequence_id,
                requesting,
                req_corr: h.correction,
            }),
        );
        Ok(())
    }

    fn rx_pdelay_resp(
        &mut self,
        i: usize,
        h: &Header,
        t2: Timestamp,
        req: PortIdentity,
        t4: Time,
    ) -> Result<(), DropReason> {
        let Some(p) = self.ports.get_mut(i) else {
            return Ok(());
        };
        if req != p.identity {
            return Err(DropReason::NoMatchingRequest);
        }
        let Some(d) = p
            .pdelay
            .as_mut()
            .filter(|d| d.seq == h.sequence_id && d.t4.is_none())
        else {
            return Err(DropReason::NoMatchingRequest);
        };
        d.t4 = Some(t4);
        d.t2 = Some(t2.to_time());
        d.c_resp = h.correction.to_time();
        d.one_step = !h.two_step();
        d.responder = Some(h.source_port_identity);
        self.try_p2p_delay(i);
        Ok(())
    }

    fn rx_pdelay_fu(
        &mut self,
        i: usize,
        h: &Header,
        t3: Timestamp,
        req: PortIdentity,
    ) -> Result<(), DropReason> {
        let Some(p) = self.ports.get_mut(i) else {
            return Ok(());
        };
        if req != p.identity {
            return Err(DropReason::NoMatchingRequest);
        }
        let Some(d) = p.pdelay.as_mut().filter(|d| {
            d.seq == h.sequence_id && d.responder == Some(h.source_port_identity) && d.t3.is_none()
        }) else {
            return Err(DropReason::NoMatchingRequest);
        };
        d.t3 = Some(t3.to_time());
        d.c_fu = h.correction.to_time();
        self.try_p2p_delay(i);
        Ok(())
    }

    fn try_p2p_delay(&mut self, i: usize) {
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        let Some(d) = p.pdelay else { return };
        let (Some(t1), Some(t4)) = (d.t1, d.t4) else {
            return;
        };
        // [11.4.3] one-step: turnaround is in the correction; two-step: t3 - t2 explicit.
        let raw = if d.one_step {
            (t4 - t1 - d.c_resp).half()
        } else {
            let (Some(t2), Some(t3)) = (d.t2, d.t3) else {
                return;
            };
            ((t4 - t1) - (t3 - t2) - d.c_resp - d.c_fu).half()
        };
        p.pdelay = None;
        if raw.0.abs() > MAX_DELAY {
            self.drop_input(i, DropReason::DelayOutOfRange);
            return;
        }
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        let filtered = Time(p.p2p_filter.push(raw.0));
        p.peer_delay = Some(filtered);
        p.lost_responses = 0;
        if self.cfg.gptp {
            // 802.1AS 11.2.2: asCapable while the measured link delay is within the
            // threshold (and responses keep coming).
            let ok = filtered <= self.cfg.neighbor_prop_delay_thresh;
            self.set_as_capable(i, ok);
        }
        self.push_event(Event::PathDelay {
            port: i,
            delay: filtered,
        });
    }

    // ----- management ------------------------------------------------------------------------

    /// Apply a management SET [1588-2008 15.3.2]; `Err` carries the managementErrorId.
    fn management_set(&mut self, now: Instant, mid: u16, value: &[u8]) -> Result<(), u16> {
        let settable = matches!(
            mid,
            mgmt::id::PRIORITY1 | mgmt::id::PRIORITY2 | mgmt::id::DOMAIN | mgmt::id::SLAVE_ONLY
        );
        if !settable {
            return Err(match mid {
                mgmt::id::DEFAULT_DATA_SET
                | mgmt::id::CURRENT_DATA_SET
                | mgmt::id::PARENT_DATA_SET
                | mgmt::id::TIME_PROPERTIES_DATA_SET
                | mgmt::id::PORT_DATA_SET => mgmt::ERROR_NOT_SETABLE,
                _ => mgmt::ERROR_NOT_SUPPORTED,
            });
        }
        // Each of these is one octet plus one reserved octet [15.5.3.3.x].
        if value.len() != 2 {
            return Err(mgmt::ERROR_WRONG_LENGTH);
        }
        let v = value.first().copied().unwrap_or(0);
        match mid {
            mgmt::id::PRIORITY1 => self.default_ds.priority1 = v,
            mgmt::id::PRIORITY2 => self.default_ds.priority2 = v,
            mgmt::id::DOMAIN => {
                if v != self.default_ds.domain {
                    // Masters heard in the old domain are not candidates in the new one.
                    for p in &mut self.ports {
                        p.foreign.clear();
                    }
                }
                self.default_ds.domain = v;
            }
            _ => {
                if v > 1 {
                    return Err(mgmt::ERROR_WRONG_VALUE);
                }
                self.default_ds.slave_only = v == 1;
                self.default_ds.clock_quality = quality_for(self.cfg.config.clock_quality, v == 1);
            }
        }
        if self.is_grandmaster() {
            self.become_grandmaster();
        }
        self.run_bmca(now);
        self.push_event(Event::ManagementSet {
            management_id: mid,
            value: v,
        });
        Ok(())
    }

    fn rx_management(
        &mut self,
        now: Instant,
        i: usize,
        h: &Header,
        m: &ManagementBody,
        msg: &Message<'_>,
    ) -> Result<(), DropReason> {
        let Some(port) = self.ports.get(i) else {
            return Ok(());
        };
        let t = m.target_port_identity;
        let id_ok =
            t.clock_identity.0 == [0xFF; 8] || t.clock_identity == self.default_ds.clock_identity;
        let port_ok = t.port_number == 0xFFFF
            || t.port_number == 0
            || t.port_number == port.identity.port_number;
        if !id_ok || !port_ok {
            return Err(DropReason::NoMatchingRequest);
        }
        let act = m.action();
        if act != action::GET && act != action::SET {
            return Err(DropReason::Unsupported(MessageType::Management));
        }
        let Some(Ok(tlv)) = msg.tlvs().next() else {
            return Err(DropReason::Unsupported(MessageType::Management));
        };
        if tlv.tlv_type != tlv_type::MANAGEMENT || tlv.value.len() < 2 {
            return Err(DropReason::Unsupported(MessageType::Management));
        }
        let mid = u16::from_be_bytes([tlv.value[0], tlv.value[1]]);
        let mut error = None;
        if act == action::SET {
            if let Err(e) = self.management_set(now, mid, tlv.value.get(2..).unwrap_or(&[])) {
                error = Some(e);
            }
        }
        let data: Option<Vec<u8>> = match mid {
            _ if error.is_some() => None,
            mgmt::id::DEFAULT_DATA_SET => Some(
                DefaultDsTlv {
                    two_step: self.default_ds.two_step,
                    slave_only: self.default_ds.slave_only,
                    number_ports: self.default_ds.number_ports,
                    priority1: self.default_ds.priority1,
                    clock_quality: self.default_ds.clock_quality,
                    priority2: self.default_ds.priority2,
                    clock_identity: self.default_ds.clock_identity,
                    domain: self.default_ds.domain,
                }
                .to_bytes()
                .to_vec(),
            ),
            mgmt::id::CURRENT_DATA_SET => Some(
                CurrentDsTlv {
                    steps_removed: self.current_ds.steps_removed,
                    offset_from_master: self
                        .current_ds
                        .offset_from_master
                        .to_interval()
                        .unwrap_or(TimeInterval::TOO_BIG),
                    mean_path_delay: self
                        .current_ds
                        .mean_path_delay
                        .to_interval()
                        .unwrap_or(TimeInterval::TOO_BIG),
                }
                .to_bytes()
                .to_vec(),
            ),
            mgmt::id::PARENT_DATA_SET => Some(
                ParentDsTlv {
                    parent_port_identity: self.parent_ds.parent_port_identity,
                    gm_priority1: self.parent_ds.grandmaster_priority1,
                    gm_clock_quality: self.parent_ds.grandmaster_clock_quality,
                    gm_priority2: self.parent_ds.grandmaster_priority2,
                    gm_identity: self.parent_ds.grandmaster_identity,
                }
                .to_bytes()
                .to_vec(),
            ),
            mgmt::id::TIME_PROPERTIES_DATA_SET => Some(
                TimePropertiesTlv {
                    current_utc_offset: self.time_props.current_utc_offset,
                    flags: self.time_props.flags,
                    time_source: self.time_props.time_source,
                }
                .to_bytes()
                .to_vec(),
            ),
            mgmt::id::PORT_DATA_SET => self.port_ds(i).map(|d| {
                PortDsTlv {
                    port_identity: d.port_identity,
                    port_state: d.port_state.code(),
                    log_min_delay_req_interval: d.log_min_delay_req_interval,
                    peer_mean_path_delay: d
                        .peer_mean_path_delay
                        .to_interval()
                        .unwrap_or(TimeInterval::TOO_BIG),
                    log_announce_interval: d.log_announce_interval,
                    announce_receipt_timeout: d.announce_receipt_timeout,
                    log_sync_interval: d.log_sync_interval,
                    delay_mechanism: d.delay_mechanism.code(),
                    log_min_pdelay_req_interval: d.log_min_pdelay_req_interval,
                    version_number: d.version_number,
                }
                .to_bytes()
                .to_vec()
            }),
            mgmt::id::PRIORITY1 => Some(vec![self.default_ds.priority1, 0]),
            mgmt::id::PRIORITY2 => Some(vec![self.default_ds.priority2, 0]),
            mgmt::id::DOMAIN => Some(vec![self.default_ds.domain, 0]),
            mgmt::id::SLAVE_ONLY => Some(vec![u8::from(self.default_ds.slave_only), 0]),
            _ => None,
        };
        let mut tlvs = Vec::with_capacity(64);
        match data {
            Some(d) => {
                tlvs.extend_from_slice(&tlv_type::MANAGEMENT.to_be_bytes());
                tlvs.extend_from_slice(&((2 + d.len()) as u16).to_be_bytes());
                tlvs.extend_from_slice(&mid.to_be_bytes());
                tlvs.extend_from_slice(&d);
            }
            None => {
                // MANAGEMENT_ERROR_STATUS: errorId, managementId, reserved(4), empty displayText + pad.
                tlvs.extend_from_slice(&tlv_type::MANAGEMENT_ERROR_STATUS.to_be_bytes());
                tlvs.extend_from_slice(&10u16.to_be_bytes());
                tlvs.extend_from_slice(&error.unwrap_or(mgmt::ERROR_NOT_SUPPORTED).to_be_bytes());
                tlvs.extend_from_slice(&mid.to_be_bytes());
                tlvs.extend_from_slice(&[0; 6]);
            }
        }
        let mut rh = self.header(i, MessageType::Management, h.sequence_id, 0x7F);
        rh.correction = TimeInterval(0);
        // Answer in the request's domain (a SET DOMAIN already switched ours).
        rh.domain = h.domain;
        let hops = m.starting_boundary_hops.saturating_sub(m.boundary_hops);
        let body = ManagementBody {
            target_port_identity: h.source_port_identity,
            starting_boundary_hops: hops,
            boundary_hops: hops,
            action_octet: action::RESPONSE,
            reserved: 0,
        };
        self.queue(
            i,
            Destination::Primary,
            rh,
            Body::Management(body),
            tlvs,
            None,
        );
        Ok(())
    }
}
