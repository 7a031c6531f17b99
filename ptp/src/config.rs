//! RouterOS-shaped configuration (`/system ptp`, seed 003 L36-76) with profile auto values.
//!
//! Seed-given values: the profile table of L59-67 (priority1/2, domain, transport,
//! delay-mode). Everything else (message intervals, clock quality, servo constants) is NOT in the
//! seed; the defaults below come from linuxptp v3.1.1 `configs/*.cfg` and `pi.c`, or from the
//! profile standards where noted.

use std::time::Duration;

use crate::wire::{ClockIdentity, ClockQuality};
use crate::Error;

/// `profile` (seed L55).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// `default`: 1588-2008 default delay request-response profile.
    #[default]
    Default,
    /// `802.1as` (gPTP).
    Ieee8021As,
    /// `aes67` (AES67 media profile).
    Aes67,
    /// `g8275.1` (ITU-T telecom profile, full timing support).
    G8275_1,
    /// `smpte` (SMPTE ST 2059-2).
    Smpte,
}

impl Profile {
    /// RouterOS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Ieee8021As => "802.1as",
            Profile::Aes67 => "aes67",
            Profile::G8275_1 => "g8275.1",
            Profile::Smpte => "smpte",
        }
    }

    /// Parse the RouterOS spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "default" => Profile::Default,
            "802.1as" => Profile::Ieee8021As,
            "aes67" => Profile::Aes67,
            "g8275.1" => Profile::G8275_1,
            "smpte" => Profile::Smpte,
            _ => return None,
        })
    }

    /// Auto values of seed L59-67: (priority1, priority2, domain, transport, delay mode).
    /// 802.1as leaves the domain unstated (L59); 802.1AS itself uses domain 0.
    pub fn auto_values(self) -> (u8, u8, u8, Transport, DelayMechanism) {
        match self {
            Profile::Ieee8021As => (
                246,
                248,
                0,
                Transport::L2NonForwardable,
                DelayMechanism::P2p,
            ),
            Profile::Aes67 => (128, 128, 0, Transport::Ipv4, DelayMechanism::E2e),
            Profile::G8275_1 => (
                128,
                128,
                24,
                Transport::L2NonForwardable,
                DelayMechanism::E2e,
            ),
            Profile::Smpte => (128, 128, 127, Transport::Ipv4, DelayMechanism::E2e),
            Profile::Default => (128, 128, 0, Transport::Ipv4, DelayMechanism::E2e),
        }
    }

    /// Message intervals (not in the seed). Sources: linuxptp v3.1.1 `default.cfg`, `gPTP.cfg`,
    /// `G.8275.1.cfg`; SMPTE ST 2059-2 defaults (announce 2^-2 s, sync 2^-3 s); AES67-2018
    /// Annex A media profile defaults (announce 2^1 s, sync 2^-3 s, delay request 2^0 s).
    pub fn intervals(self) -> Intervals {
        let (a, s, d, p) = match self {
            Profile::Default => (1, 0, 0, 0),
            Profile::Ieee8021As => (0, -3, 0, 0),
            Profile::G8275_1 => (-3, -4, -4, -4),
            Profile::Smpte => (-2, -3, -3, 0),
            Profile::Aes67 => (1, -3, 0, 0),
        };
        Intervals {
            log_announce_interval: a,
            log_sync_interval: s,
            log_min_delay_req_interval: d,
            log_min_pdelay_req_interval: p,
            announce_receipt_timeout: 3,
        }
    }

    /// transportSpecific nibble: 1 for 802.1AS, 0 otherwise (linuxptp `gPTP.cfg`).
    pub fn transport_specific(self) -> u8 {
        u8::from(self == Profile::Ieee8021As)
    }
}

/// `transport` (seed L69-76).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP/IPv4 multicast: event port 319, general port 320; 224.0.1.129 and, for peer delay,
    /// 224.0.0.107.
    Ipv4,
    /// Ethertype 0x88F7 to 01-1B-19-00-00-00 (peer delay to 01-80-C2-00-00-0E, Annex F).
    L2Forwardable,
    /// Ethertype 0x88F7, everything to 01-80-C2-00-00-0E.
    L2NonForwardable,
}

/// Which destination class a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Primary (Announce, Sync, Follow_Up, Delay_Req, Delay_Resp, Management, Signaling).
    Primary,
    /// Peer delay (Pdelay_Req, Pdelay_Resp, Pdelay_Resp_Follow_Up).
    PeerDelay,
}

/// UDP event port.
pub const UDP_EVENT_PORT: u16 = 319;
/// UDP general port.
pub const UDP_GENERAL_PORT: u16 = 320;
/// Ethertype of PTP over IEEE 802.3.
pub const ETHERTYPE_PTP: u16 = 0x88F7;

impl Transport {
    /// RouterOS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Ipv4 => "ipv4",
            Transport::L2Forwardable => "l2-forwardable",
            Transport::L2NonForwardable => "l2-non-forwardable",
        }
    }

    /// Parse the RouterOS spelling (`ipv4`, `l2-forwardable`, `l2-non-forwardable`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ipv4" => Transport::Ipv4,
            "l2-forwardable" => Transport::L2Forwardable,
            "l2-non-forwardable" => Transport::L2NonForwardable,
            _ => return None,
        })
    }

    /// IPv4 multicast group for `dest` (seed L74).
    pub fn ipv4_group(dest: Destination) -> [u8; 4] {
        match dest {
            Destination::Primary => [224, 0, 1, 129],
            Destination::PeerDelay => [224, 0, 0, 107],
        }
    }

    /// Destination MAC for `dest` on an L2 transport (seed L75-76).
    pub fn mac(self, dest: Destination) -> [u8; 6] {
        match (self, dest) {
            (Transport::L2Forwardable, Destination::Primary) => [0x01, 0x1B, 0x19, 0, 0, 0],
            _ => [0x01, 0x80, 0xC2, 0, 0, 0x0E],
        }
    }
}

/// Delay mechanism (`delay-mode`, seed L44-48).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayMechanism {
    /// Delay request-response [1588-2008 11.3].
    E2e,
    /// Peer delay [1588-2008 11.4].
    P2p,
}

impl DelayMechanism {
    /// RouterOS spelling (`delay-mode`).
    pub fn as_str(self) -> &'static str {
        match self {
            DelayMechanism::E2e => "e2e",
            DelayMechanism::P2p => "p2p",
        }
    }

    /// Parse the RouterOS spelling (`e2e`, `p2p`; the manual's item list misspells the
    /// latter `ptp`, seed L48, which is not accepted).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "e2e" => DelayMechanism::E2e,
            "p2p" => DelayMechanism::P2p,
            _ => return None,
        })
    }

    /// portDS.delayMechanism value.
    pub fn code(self) -> u8 {
        match self {
            DelayMechanism::E2e => 1,
            DelayMechanism::P2p => 2,
        }
    }
}

/// Message intervals (log2 seconds) and timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    /// logAnnounceInterval.
    pub log_announce_interval: i8,
    /// logSyncInterval.
    pub log_sync_interval: i8,
    /// logMinDelayReqInterval.
    pub log_min_delay_req_interval: i8,
    /// logMinPdelayReqInterval.
    pub log_min_pdelay_req_interval: i8,
    /// announceReceiptTimeout (in announce intervals).
    pub announce_receipt_timeout: u8,
}

/// Timestamping kind, selects linuxptp's PI constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timestamping {
    /// Software timestamps (SO_TIMESTAMPING software): kp scale 0.1, ki scale 0.001.
    #[default]
    Software,
    /// Hardware timestamps: kp scale 0.7, ki scale 0.3.
    Hardware,
}

/// Servo settings (linuxptp `pi.c` / `default.cfg` defaults; not in the seed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServoConfig {
    /// Timestamping kind (selects kp/ki scales).
    pub timestamping: Timestamping,
    /// `first_step_threshold` in ns (linuxptp 0.00002 s = 20000 ns): the first correction
    /// steps the clock if the offset is larger.
    pub first_step_threshold_ns: f64,
    /// `step_threshold` in ns (0 = never step after the first correction; linuxptp default).
    pub step_threshold_ns: f64,
    /// `max_frequency` in ppb (linuxptp 900000000).
    pub max_frequency_ppb: f64,
    /// `delay_filter_length` (moving median; linuxptp 10).
    pub delay_filter_length: usize,
    /// Once locked, offsets larger than this are dropped as outliers (until three in a row
    /// arrive, which unlocks the servo); 0 disables. Not a linuxptp option: our guard against a
    /// clock step from one bad sample. Default 100 ms.
    pub outlier_threshold_ns: f64,
    /// Robust outlier test on Sync samples: a sample further than this many standard
    /// deviations (from the median absolute deviation of the last `trend_window` samples around
    /// their Theil-Sen line) and further than `outlier_floor_ns` is dropped, until three in a
    /// row arrive (then the history restarts from them). 0 disables. Not a linuxptp option;
    /// default 8.
    pub outlier_mad_factor: f64,
    /// Smallest excursion the robust outlier test may drop, ns (default 1000).
    pub outlier_floor_ns: f64,
    /// Sync samples in the robust line fit (drift estimate, outlier test, free-running offset
    /// estimate), 2..=32, default 16.
    pub trend_window: usize,
    /// Free-running only: report the offset of the robust line through the last
    /// `trend_window` Sync samples at the newest sample (minus the filtered path delay)
    /// instead of the single sample's offset (linuxptp's free-running report). Unbiased under
    /// constant drift, about half the noise. Default true; [`crate::Event::Offset`] carries
    /// both either way. When the clock steers, the servo always gets the single sample (see
    /// the crate docs, "Offset estimation").
    pub fitted_offset: bool,
    /// Free-running (`--free-running`): compute offset and drift, never emit adjustments.
    pub free_running: bool,
}

impl Default for ServoConfig {
    fn default() -> Self {
        ServoConfig {
            timestamping: Timestamping::Software,
            first_step_threshold_ns: 20_000.0,
            step_threshold_ns: 0.0,
            max_frequency_ppb: 900_000_000.0,
            delay_filter_length: 10,
            outlier_threshold_ns: 100_000_000.0,
            outlier_mad_factor: 8.0,
            outlier_floor_ns: 1000.0,
            trend_window: 16,
            fitted_offset: true,
            free_running: false,
        }
    }
}

/// One PTP port (`/system ptp port`: interface).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// `interface` name, shown as `slave-port` in the monitor.
    pub interface: String,
    /// G.8275.1 portDS.localPriority (1..=255, default 128; lower is preferred): breaks ties
    /// between masters heard on different ports. Used by the g8275.1 profile only; not a
    /// RouterOS property (the seed is silent), linuxptp `G.8275.portDS.localPriority`.
    pub local_priority: u8,
    /// G.8275.1 portDS.notSlave ("master-only"): the port never becomes SLAVE or PASSIVE and
    /// what it hears never becomes the parent. g8275.1 profile only; linuxptp `masterOnly`.
    pub not_slave: bool,
    /// RouterOS `/system ptp port` `disabled` (default no): the port starts in DISABLED
    /// [1588-2008 9.2.5] and takes no part in PTP until `Clock::set_port_enabled`.
    pub disabled: bool,
}

impl PortConfig {
    /// A port on `interface` with the defaults (localPriority 128, may be slave).
    pub fn new(interface: impl Into<String>) -> Self {
        PortConfig {
            interface: interface.into(),
            local_priority: 128,
            not_slave: false,
            disabled: false,
        }
    }
}

/// `/system ptp` instance configuration. `None` means `auto`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `name` (default empty).
    pub name: String,
    /// `comment`.
    pub comment: String,
    /// `profile` (default `default`).
    pub profile: Profile,
    /// `domain` (0..255; auto = per profile).
    pub domain: Option<u8>,
    /// `delay-mode` (auto = per profile).
    pub delay_mode: Option<DelayMechanism>,
    /// `priority1` (auto = per profile).
    pub priority1: Option<u8>,
    /// `priority2` (auto = per profile).
    pub priority2: Option<u8>,
    /// `transport` (auto = per profile).
    pub transport: Option<Transport>,
    /// `port` entries (at least one; more makes a boundary clock).
    pub ports: Vec<PortConfig>,
    /// Local clock identity (RouterOS derives it from the MAC, see
    /// [`ClockIdentity::from_mac`]).
    pub clock_identity: ClockIdentity,
    /// defaultDS.clockQuality (not in the seed; linuxptp 248 / 0xFE / 0xFFFF).
    pub clock_quality: ClockQuality,
    /// defaultDS.slaveOnly (not a RouterOS option; linuxptp `-s`).
    pub slave_only: bool,
    /// 802.1AS neighborPropDelayThresh in ns (auto: 800, linuxptp gPTP.cfg): a port whose
    /// filtered meanLinkDelay exceeds it is not asCapable. 802.1as profile only; not a
    /// RouterOS property.
    pub neighbor_prop_delay_thresh_ns: Option<u64>,
    /// G.8275.1 defaultDS.localPriority (1..=255, default 128): D0's localPriority in the
    /// g8275.1 alternate BMCA. Not a RouterOS property; linuxptp
    /// `G.8275.defaultDS.localPriority`.
    pub local_priority: u8,
    /// Override of the profile's message intervals.
    pub intervals: Option<Intervals>,
    /// timePropertiesDS.timeSource (linuxptp 0xA0 internal oscillator).
    pub time_source: u8,
    /// Foreign master records kept per port (bounded table; 1588-2008 9.3.2.4.3 asks for at
    /// least 5). When it is full, a new sender's Announce displaces the worst entry that is
    /// not yet qualified (or, when all are qualified, the worst) if it is better than that
    /// entry, so a flood of Announces cannot lock a better master out. Default 8.
    pub max_foreign_masters: usize,
    /// How long a FAULTY port waits before it re-initializes (linuxptp `fault_reset_interval`,
    /// default 2^4 s = 16 s); `None`: it stays FAULTY until `Clock::clear_port_fault`. Not a
    /// RouterOS property.
    pub fault_reset_interval: Option<Duration>,
    /// Servo.
    pub servo: ServoConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: String::new(),
            comment: String::new(),
            profile: Profile::Default,
            domain: None,
            delay_mode: None,
            priority1: None,
            priority2: None,
            transport: None,
            ports: vec![PortConfig::new("ether1")],
            clock_identity: ClockIdentity([0x02, 0, 0, 0xFF, 0xFE, 0, 0, 1]),
            clock_quality: ClockQuality::default(),
            slave_only: false,
            neighbor_prop_delay_thresh_ns: None,
            local_priority: 128,
            intervals: None,
            time_source: 0xA0,
            max_foreign_masters: 8,
            fault_reset_interval: Some(Duration::from_secs(16)),
            servo: ServoConfig::default(),
        }
    }
}

/// Configuration with every `auto` resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Original config.
    pub config: Config,
    /// Effective domain.
    pub domain: u8,
    /// Effective priority1.
    pub priority1: u8,
    /// Effective priority2.
    pub priority2: u8,
    /// Effective transport.
    pub transport: Transport,
    /// Effective delay mechanism.
    pub delay: DelayMechanism,
    /// Effective intervals.
    pub intervals: Intervals,
    /// transportSpecific nibble.
    pub transport_specific: u8,
    /// 802.1AS rules in force (profile `802.1as`): asCapable per port, Follow_Up information
    /// TLV.
    pub gptp: bool,
    /// 802.1AS neighborPropDelayThresh.
    pub neighbor_prop_delay_thresh: crate::wire::Time,
    /// Best master clock algorithm: G.8275.1's alternate BMCA for the g8275.1 profile, 1588's
    /// otherwise.
    pub bmca: crate::bmca::Algorithm,
}

impl Config {
    /// Validate and resolve `auto` values. Errors name the offending field.
    pub fn resolve(&self) -> Result<Resolved, Error> {
        if self.ports.is_empty() {
            return Err(Error::Config {
                field: "port",
                reason: "at least one port is required",
            });
        }
        if self.ports.len() > 255 {
            return Err(Error::Config {
                field: "port",
                reason: "at most 255 ports",
            });
        }
        if self.clock_identity.0 == [0; 8] || self.clock_identity.0 == [0xFF; 8] {
            return Err(Error::Config {
                field: "clock-id",
                reason: "all-zero and all-ones identities are reserved",
            });
        }
        if self.max_foreign_masters == 0 || self.max_foreign_masters > 64 {
            return Err(Error::Config {
                field: "max_foreign_masters",
                reason: "must be 1..=64",
            });
        }
        let (p1, p2, dom, tr, dm) = self.profile.auto_values();
        let intervals = self.intervals.unwrap_or_else(|| self.profile.intervals());
        for (field, v) in [
            ("log-announce-interval", intervals.log_announce_interval),
            ("log-sync-interval", intervals.log_sync_interval),
            (
                "log-min-delay-req-interval",
                intervals.log_min_delay_req_interval,
            ),
            (
                "log-min-pdelay-req-interval",
                intervals.log_min_pdelay_req_interval,
            ),
        ] {
            if !(-7..=7).contains(&v) {
                return Err(Error::Config {
                    field,
                    reason: "log interval must be -7..=7",
                });
            }
        }
        if intervals.announce_receipt_timeout < 2 {
            return Err(Error::Config {
                field: "announce-receipt-timeout",
                reason: "must be at least 2",
            });
        }
        let s = &self.servo;
        if !(s.first_step_threshold_ns >= 0.0
            && s.step_threshold_ns >= 0.0
            && s.max_frequency_ppb > 0.0
            && s.outlier_threshold_ns >= 0.0
            && s.outlier_mad_factor >= 0.0
            && s.outlier_floor_ns >= 0.0)
        {
            return Err(Error::Config {
                field: "servo",
                reason: "thresholds must be non-negative, max frequency positive",
            });
        }
        if s.delay_filter_length == 0 || s.delay_filter_length > 64 {
            return Err(Error::Config {
                field: "delay_filter_length",
                reason: "must be 1..=64",
            });
        }
        if !(2..=crate::servo::MAX_TREND_WINDOW).contains(&s.trend_window) {
            return Err(Error::Config {
                field: "trend_window",
                reason: "must be 2..=32",
            });
        }
        if self.local_priority == 0 {
            return Err(Error::Config {
                field: "local_priority",
                reason: "must be 1..=255",
            });
        }
        if self.ports.iter().any(|p| p.local_priority == 0) {
            return Err(Error::Config {
                field: "port.local_priority",
                reason: "must be 1..=255",
            });
        }
        Ok(Resolved {
            config: self.clone(),
            domain: self.domain.unwrap_or(dom),
            priority1: self.priority1.unwrap_or(p1),
            priority2: self.priority2.unwrap_or(p2),
            transport: self.transport.unwrap_or(tr),
            delay: self.delay_mode.unwrap_or(dm),
            intervals,
            transport_specific: self.profile.transport_specific(),
            gptp: self.profile == Profile::Ieee8021As,
            neighbor_prop_delay_thresh: crate::wire::Time::from_nanos(i128::from(
                self.neighbor_prop_delay_thresh_ns.unwrap_or(800),
            )),
            bmca: match self.profile {
                Profile::G8275_1 => crate::bmca::Algorithm::G8275,
                _ => crate::bmca::Algorithm::Ieee1588,
            },
        })
    }
}

// ---------------------------------------------------------------- RouterOS property lists

/// `auto` or a value; `None` = auto.
fn auto_or<T>(
    v: &str,
    field: &'static str,
    reason: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, Error> {
    match v.trim() {
        "auto" => Ok(None),
        x => parse(x).map(Some).ok_or(Error::Config { field, reason }),
    }
}

fn write_auto<T>(v: Option<T>, write: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "auto".into(), write)
}

fn yes_no(v: &str, field: &'static str) -> Result<bool, Error> {
    match v.trim() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(Error::Config {
            field,
            reason: "expected yes or no",
        }),
    }
}

impl Config {
    /// The `/system ptp` properties [`apply_props`](Self::apply_props) reads and
    /// [`to_props`](Self::to_props) writes, in that order.
    pub const PROPERTIES: &'static [&'static str] = &[
        "name",
        "comment",
        "profile",
        "domain",
        "delay-mode",
        "priority1",
        "priority2",
        "transport",
    ];

    /// Set the `/system ptp` properties of an `add` or `set` property list (as a `.rsc`
    /// export writes it: `[("name", "ptp1"), ("profile", "802.1as")]`) on `self`; a `set`
    /// changes only what it names.
    ///
    /// Properties ([`PROPERTIES`](Self::PROPERTIES), seed 003 L39-76): `name`, `comment`,
    /// `profile` (`default`, `802.1as`, `aes67`, `g8275.1`, `smpte`), `domain`, `priority1`,
    /// `priority2` (`auto` or 0..255), `delay-mode` (`auto`, `e2e`, `p2p`), `transport`
    /// (`auto`, `ipv4`, `l2-forwardable`, `l2-non-forwardable`). `auto` leaves the value to the
    /// profile ([`Config::resolve`]). A bad value is an [`Error::Config`] naming the property;
    /// the properties this crate does not implement (`disabled`, ...) are returned in order so
    /// the caller can warn about them.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, Error> {
        const PRIORITY: &str = "expected auto or 0..255";
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "name" => self.name = v.to_string(),
                "comment" => self.comment = v.to_string(),
                "profile" => {
                    self.profile = Profile::parse(v.trim()).ok_or(Error::Config {
                        field: "profile",
                        reason: "expected default, 802.1as, aes67, g8275.1 or smpte",
                    })?
                }
                "domain" => self.domain = auto_or(v, "domain", PRIORITY, |x| x.parse().ok())?,
                "delay-mode" => {
                    self.delay_mode = auto_or(
                        v,
                        "delay-mode",
                        "expected auto, e2e or p2p",
                        DelayMechanism::parse,
                    )?
                }
                "priority1" => {
                    self.priority1 = auto_or(v, "priority1", PRIORITY, |x| x.parse().ok())?
                }
                "priority2" => {
                    self.priority2 = auto_or(v, "priority2", PRIORITY, |x| x.parse().ok())?
                }
                "transport" => {
                    self.transport = auto_or(
                        v,
                        "transport",
                        "expected auto, ipv4, l2-forwardable or l2-non-forwardable",
                        Transport::parse,
                    )?
                }
                other => unknown.push(other.to_string()),
            }
        }
        Ok(unknown)
    }

    /// Build a `/system ptp` instance from an `add` property list, starting from the RouterOS
    /// defaults (every `auto`, profile `default`), with **no ports**: RouterOS adds them in
    /// `/system ptp port` ([`PortConfig::from_props`]), and [`Config::resolve`] refuses a
    /// clock without one. The fields that are not RouterOS properties (clock identity, servo,
    /// ...) keep their defaults. Errors and unknown properties as in
    /// [`apply_props`](Self::apply_props).
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), Error> {
        let mut c = Config {
            ports: Vec::new(),
            ..Config::default()
        };
        let unknown = c.apply_props(props)?;
        Ok((c, unknown))
    }

    /// The `/system ptp` property list [`from_props`](Self::from_props) reads back to the
    /// instance's RouterOS properties: those that differ from the defaults (`auto`, profile
    /// `default`), in [`PROPERTIES`](Self::PROPERTIES) order. Ports are written by
    /// [`PortConfig::to_props`].
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let d = Config::default();
        let mut v = Vec::new();
        if self.name != d.name {
            v.push(("name", self.name.clone()));
        }
        if self.comment != d.comment {
            v.push(("comment", self.comment.clone()));
        }
        if self.profile != d.profile {
            v.push(("profile", self.profile.as_str().to_string()));
        }
        if self.domain.is_some() {
            v.push(("domain", write_auto(self.domain, |n| n.to_string())));
        }
        if self.delay_mode.is_some() {
            v.push((
                "delay-mode",
                write_auto(self.delay_mode, |m| m.as_str().into()),
            ));
        }
        if self.priority1.is_some() {
            v.push(("priority1", write_auto(self.priority1, |n| n.to_string())));
        }
        if self.priority2.is_some() {
            v.push(("priority2", write_auto(self.priority2, |n| n.to_string())));
        }
        if self.transport.is_some() {
            v.push((
                "transport",
                write_auto(self.transport, |t| t.as_str().into()),
            ));
        }
        v
    }
}

impl PortConfig {
    /// The `/system ptp port` properties [`to_props`](Self::to_props) writes (`ptp`, the
    /// instance the port belongs to, is read by the caller, see
    /// [`from_props`](Self::from_props)).
    pub const PROPERTIES: &'static [&'static str] = &["interface", "disabled"];

    /// Set the `/system ptp port` properties of a property list on `self`: `interface`,
    /// `disabled` (`yes`/`no`). `ptp` (the instance's name, seed 003 L97-99) is accepted and
    /// left to the caller, which assigns the port to that instance. A bad value is an
    /// [`Error::Config`] naming the property; other properties are returned in order.
    pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, Error> {
        let mut unknown = Vec::new();
        for &(k, v) in props {
            match k {
                "interface" => self.interface = v.to_string(),
                "disabled" => self.disabled = yes_no(v, "disabled")?,
                "ptp" => {}
                other => unknown.push(other.to_string()),
            }
        }
        Ok(unknown)
    }

    /// Build a `/system ptp port` entry from an `add` property list (`interface` required),
    /// with the defaults of [`PortConfig::new`] for the rest.
    pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), Error> {
        let mut p = PortConfig::new("");
        let unknown = p.apply_props(props)?;
        if p.interface.is_empty() {
            return Err(Error::Config {
                field: "interface",
                reason: "required",
            });
        }
        Ok((p, unknown))
    }

    /// The property list [`from_props`](Self::from_props) reads back to `self`: `interface`,
    /// and `disabled` when set (without `ptp`, which the caller adds).
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("interface", self.interface.clone())];
        if self.disabled {
            v.push(("disabled", "yes".into()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_auto_values_match_seed() {
        let cases = [
            (
                Profile::Ieee8021As,
                246,
                248,
                0,
                Transport::L2NonForwardable,
                DelayMechanism::P2p,
                1,
            ),
            (
                Profile::Aes67,
                128,
                128,
                0,
                Transport::Ipv4,
                DelayMechanism::E2e,
                0,
            ),
            (
                Profile::G8275_1,
                128,
                128,
                24,
                Transport::L2NonForwardable,
                DelayMechanism::E2e,
                0,
            ),
            (
                Profile::Smpte,
                128,
                128,
                127,
                Transport::Ipv4,
                DelayMechanism::E2e,
                0,
            ),
            (
                Profile::Default,
                128,
                128,
                0,
                Transport::Ipv4,
                DelayMechanism::E2e,
                0,
            ),
        ];
        for (p, p1, p2, d, t, m, ts) in cases {
            let r = Config {
                profile: p,
                ..Config::default()
            }
            .resolve()
            .unwrap();
            assert_eq!(
                (
                    r.priority1,
                    r.priority2,
                    r.domain,
                    r.transport,
                    r.delay,
                    r.transport_specific
                ),
                (p1, p2, d, t, m, ts),
                "{p:?}"
            );
            assert_eq!(Profile::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn explicit_values_override_auto() {
        let r = Config {
            profile: Profile::Ieee8021As,
            domain: Some(7),
            priority1: Some(1),
            delay_mode: Some(DelayMechanism::E2e),
            transport: Some(Transport::Ipv4),
            ..Config::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            (r.domain, r.priority1, r.priority2, r.delay, r.transport),
            (7, 1, 248, DelayMechanism::E2e, Transport::Ipv4)
        );
    }

    #[test]
    fn validation_names_field() {
        let e = Config {
            ports: vec![],
            ..Config::default()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("port"));
        let e = Config {
            clock_identity: ClockIdentity([0; 8]),
            ..Config::default()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("clock-id"));
        let mut i = Profile::Default.intervals();
        i.log_sync_interval = 9;
        let e = Config {
            intervals: Some(i),
            ..Config::default()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("log-sync-interval"));
    }

    #[test]
    fn destinations() {
        assert_eq!(
            Transport::ipv4_group(Destination::Primary),
            [224, 0, 1, 129]
        );
        assert_eq!(
            Transport::ipv4_group(Destination::PeerDelay),
            [224, 0, 0, 107]
        );
        assert_eq!(
            Transport::L2Forwardable.mac(Destination::Primary),
            [1, 0x1B, 0x19, 0, 0, 0]
        );
        assert_eq!(
            Transport::L2Forwardable.mac(Destination::PeerDelay),
            [1, 0x80, 0xC2, 0, 0, 0x0E]
        );
        assert_eq!(
            Transport::L2NonForwardable.mac(Destination::Primary),
            [1, 0x80, 0xC2, 0, 0, 0x0E]
        );
    }

    #[test]
    fn seed_l84_add_and_l91_print() {
        // 003_4cdeb930f9fee41a.txt L84: `/system ptp add name=ptp1 profile=802.1as`
        let (c, unknown) = Config::from_props(&[("name", "ptp1"), ("profile", "802.1as")]).unwrap();
        assert!(unknown.is_empty());
        assert_eq!(c.name, "ptp1");
        assert_eq!(c.profile, Profile::Ieee8021As);
        assert!(c.ports.is_empty());
        assert_eq!(
            c.to_props(),
            [
                ("name", "ptp1".to_string()),
                ("profile", "802.1as".to_string())
            ]
        );
        // L91: the `print` line, every property `auto`
        let (p, unknown) = Config::from_props(&[
            ("name", "ptp1"),
            ("priority1", "auto"),
            ("priority2", "auto"),
            ("delay-mode", "auto"),
            ("transport", "auto"),
            ("profile", "802.1as"),
            ("domain", "auto"),
        ])
        .unwrap();
        assert!(unknown.is_empty());
        assert_eq!(p, c);
        // L97-99: the ports
        let mut c = c;
        for i in ["sfp28-1", "sfp28-2", "sfp28-12"] {
            let (port, unknown) =
                PortConfig::from_props(&[("interface", i), ("ptp", "ptp1")]).unwrap();
            assert!(unknown.is_empty());
            c.ports.push(port);
        }
        let r = c.resolve().unwrap();
        // L59: the 802.1as auto values
        assert_eq!(
            (r.priority1, r.priority2, r.transport, r.delay),
            (246, 248, Transport::L2NonForwardable, DelayMechanism::P2p)
        );
        assert_eq!(r.config.ports.len(), 3);
    }

    #[test]
    fn every_property_is_observed_and_checked() {
        let resolved = |p: &[(&str, &str)]| {
            let (mut c, unknown) = Config::from_props(p).unwrap();
            assert!(unknown.is_empty());
            c.ports.push(PortConfig::new("ether1"));
            let back: Vec<(String, String)> = c
                .to_props()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            for (k, v) in p {
                assert!(
                    back.contains(&(k.to_string(), v.to_string())),
                    "{k}={v}: {back:?}"
                );
            }
            c.resolve().unwrap()
        };
        let r = resolved(&[("name", "x"), ("comment", "a b")]);
        assert_eq!(
            (r.config.name.as_str(), r.config.comment.as_str()),
            ("x", "a b")
        );
        assert_eq!(resolved(&[("profile", "smpte")]).domain, 127);
        assert_eq!(
            resolved(&[("profile", "g8275.1")]).bmca,
            crate::bmca::Algorithm::G8275
        );
        assert_eq!(resolved(&[("domain", "5")]).domain, 5);
        assert_eq!(
            resolved(&[("delay-mode", "p2p")]).delay,
            DelayMechanism::P2p
        );
        assert_eq!(resolved(&[("priority1", "1")]).priority1, 1);
        assert_eq!(resolved(&[("priority2", "2")]).priority2, 2);
        assert_eq!(
            resolved(&[("transport", "l2-forwardable")]).transport,
            Transport::L2Forwardable
        );
        assert_eq!(
            resolved(&[("transport", "ipv4"), ("profile", "802.1as")]).transport,
            Transport::Ipv4
        );
        // a set changes only what it names; `auto` restores the profile's value
        let (mut c, _) = Config::from_props(&[("domain", "5"), ("priority1", "1")]).unwrap();
        c.apply_props(&[("domain", "auto")]).unwrap();
        assert_eq!((c.domain, c.priority1), (None, Some(1)));
        // unknown properties are returned in order
        let (_, unknown) =
            Config::from_props(&[("disabled", "no"), ("name", "a"), ("foo", "1")]).unwrap();
        assert_eq!(unknown, ["disabled", "foo"]);
        // bad values name the property
        for (k, v) in [
            ("profile", "g8275.2"),
            ("domain", "256"),
            ("delay-mode", "ptp"),
            ("priority1", "-1"),
            ("priority2", "x"),
            ("transport", "udp"),
        ] {
            match Config::from_props(&[(k, v)]) {
                Err(Error::Config { field, .. }) => assert_eq!(field, k),
                other => panic!("{k}={v}: {other:?}"),
            }
        }
        // ports: interface required, disabled observed, bad disabled named
        let (p, _) = PortConfig::from_props(&[("interface", "e1"), ("disabled", "yes")]).unwrap();
        assert!(p.disabled);
        assert_eq!(
            PortConfig::from_props(
                &p.to_props()
                    .iter()
                    .map(|(k, v)| (*k, v.as_str()))
                    .collect::<Vec<_>>()
            )
            .unwrap()
            .0,
            p
        );
        assert!(matches!(
            PortConfig::from_props(&[("ptp", "ptp1")]),
            Err(Error::Config {
                field: "interface",
                ..
            })
        ));
        assert!(matches!(
            PortConfig::from_props(&[("interface", "e1"), ("disabled", "maybe")]),
            Err(Error::Config {
                field: "disabled",
                ..
            })
        ));
    }

    proptest::proptest! {
        #[test]
        fn props_round_trip(
            name in "[a-z0-9]{0,8}", comment in "[ -~]{0,16}", profile in 0usize..5,
            domain in proptest::option::of(proptest::prelude::any::<u8>()),
            delay in proptest::option::of(proptest::prelude::any::<bool>()),
            p1 in proptest::option::of(proptest::prelude::any::<u8>()),
            p2 in proptest::option::of(proptest::prelude::any::<u8>()),
            transport in proptest::option::of(0usize..3),
        ) {
            let c = Config {
                name, comment,
                profile: [Profile::Default, Profile::Ieee8021As, Profile::Aes67, Profile::G8275_1, Profile::Smpte][profile],
                domain,
                delay_mode: delay.map(|p| if p { DelayMechanism::P2p } else { DelayMechanism::E2e }),
                priority1: p1, priority2: p2,
                transport: transport.map(|t| [Transport::Ipv4, Transport::L2Forwardable, Transport::L2NonForwardable][t]),
                ports: Vec::new(),
                ..Config::default()
            };
            let props = c.to_props();
            let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (back, unknown) = Config::from_props(&refs).unwrap();
            proptest::prop_assert!(unknown.is_empty());
            proptest::prop_assert_eq!(back, c);
        }
    }
}
