//! Accounting (RFC 2866): the Accounting-Request contents for Start, Interim-Update and
//! Stop, and the interim schedule.
//!
//! ```text
//!  NAS                                         server
//!  Accounting-Request Acct-Status-Type=Start  --->   session is up (after IPCP)
//!                                             <---  Accounting-Response
//!  ... every Acct-Interim-Interval:
//!  Accounting-Request Interim-Update + counters --->
//!                                             <---  Accounting-Response
//!  Accounting-Request Stop + counters + Acct-Terminate-Cause --->
//!                                             <---  Accounting-Response
//! ```
//!
//! Octet counters are 32 bits on the wire; Acct-Input/Output-Gigawords (RFC 2869 s5.1/5.2)
//! carry how many times they wrapped, so a 64-bit counter `n` is sent as `n >> 32`
//! (Gigawords) and `n & 0xffff_ffff` (Octets). "Input" is what the NAS received from the
//! user (RFC 2866 s5.3).

use super::wire::{attr, Attribute};
use crate::event::TerminateReason;
use crate::host::{AccountingKind, AccountingRecord};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// Acct-Status-Type (RFC 2866 s5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcctStatus {
    /// 1
    Start,
    /// 2
    Stop,
    /// 3
    InterimUpdate,
    /// 7
    AccountingOn,
    /// 8
    AccountingOff,
}

impl AcctStatus {
    /// The wire value.
    pub fn to_u32(self) -> u32 {
        match self {
            AcctStatus::Start => 1,
            AcctStatus::Stop => 2,
            AcctStatus::InterimUpdate => 3,
            AcctStatus::AccountingOn => 7,
            AcctStatus::AccountingOff => 8,
        }
    }
}

/// Acct-Terminate-Cause (RFC 2866 s5.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum TerminateCause {
    UserRequest = 1,
    LostCarrier = 2,
    LostService = 3,
    IdleTimeout = 4,
    SessionTimeout = 5,
    AdminReset = 6,
    AdminReboot = 7,
    PortError = 8,
    NasError = 9,
    NasRequest = 10,
    NasReboot = 11,
    PortUnneeded = 12,
    PortPreempted = 13,
    PortSuspended = 14,
    ServiceUnavailable = 15,
    Callback = 16,
    UserError = 17,
    HostRequest = 18,
}

impl TerminateCause {
    /// The cause for why a PPP session ended.
    pub fn from_ppp(r: &TerminateReason) -> Self {
        match r {
            TerminateReason::AdminClose(_) => TerminateCause::AdminReset,
            TerminateReason::PeerRequest(_) => TerminateCause::UserRequest,
            TerminateReason::KeepaliveTimeout | TerminateReason::LowerLayerDown => {
                TerminateCause::LostCarrier
            }
            TerminateReason::SessionTimeout => TerminateCause::SessionTimeout,
            TerminateReason::IdleTimeout => TerminateCause::IdleTimeout,
            TerminateReason::AuthFailed(_)
            | TerminateReason::NoCommonAuth
            | TerminateReason::AuthTimeout
            | TerminateReason::BadAuthenticatorResponse => TerminateCause::UserError,
            TerminateReason::NegotiationFailed(_)
            | TerminateReason::NoNetworkProtocol
            | TerminateReason::LoopbackDetected => TerminateCause::PortError,
            #[allow(unreachable_patterns)]
            _ => TerminateCause::NasError,
        }
    }
}

/// One Accounting-Request's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountingRequest {
    /// Acct-Status-Type.
    pub status: AcctStatus,
    /// Acct-Session-Id (the same in Start, Interim and Stop of one session).
    pub session_id: String,
    /// User-Name.
    pub user: String,
    /// Calling-Station-Id.
    pub calling_station_id: Option<String>,
    /// Framed-IP-Address.
    pub framed_ip_address: Option<Ipv4Addr>,
    /// Octets received from the user (Acct-Input-Octets + Gigawords).
    pub input_octets: u64,
    /// Octets sent to the user (Acct-Output-Octets + Gigawords).
    pub output_octets: u64,
    /// Packets received from the user.
    pub input_packets: u64,
    /// Packets sent to the user.
    pub output_packets: u64,
    /// Acct-Session-Time (whole seconds; Interim and Stop).
    pub session_time: Option<Duration>,
    /// Acct-Terminate-Cause (Stop).
    pub terminate_cause: Option<TerminateCause>,
    /// Class attributes of the Access-Accept, echoed (RFC 2865 s5.25).
    pub class: Vec<Vec<u8>>,
    /// Further attributes.
    pub extra: Vec<Attribute>,
}

impl AccountingRequest {
    /// A request with no counters.
    pub fn new(status: AcctStatus, session_id: impl Into<String>, user: impl Into<String>) -> Self {
        AccountingRequest {
            status,
            session_id: session_id.into(),
            user: user.into(),
            calling_station_id: None,
            framed_ip_address: None,
            input_octets: 0,
            output_octets: 0,
            input_packets: 0,
            output_packets: 0,
            session_time: None,
            terminate_cause: None,
            class: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The request for a PPP host's accounting record
    /// ([`crate::host::ServerEvent::Accounting`]); `class` from the session's Access-Accept.
    pub fn from_record(kind: AccountingKind, r: &AccountingRecord, class: &[Vec<u8>]) -> Self {
        let status = match kind {
            AccountingKind::Start => AcctStatus::Start,
            AccountingKind::Interim => AcctStatus::InterimUpdate,
            AccountingKind::Stop => AcctStatus::Stop,
        };
        let mut a = AccountingRequest::new(status, format!("{:08X}", r.session_id), &r.user);
        a.calling_station_id = (!r.caller_id.is_empty()).then(|| r.caller_id.clone());
        a.framed_ip_address = r.framed_address;
        if status != AcctStatus::Start {
            a.input_octets = r.counters.rx_bytes;
            a.output_octets = r.counters.tx_bytes;
            a.input_packets = r.counters.rx_packets;
            a.output_packets = r.counters.tx_packets;
            a.session_time = Some(r.uptime);
        }
        a.terminate_cause = r.reason.as_ref().map(TerminateCause::from_ppp);
        a.class = class.to_vec();
        a
    }

    /// The attributes, in the order they are sent.
    pub fn attributes(&self) -> Vec<Attribute> {
        let mut a = vec![
            Attribute::u32(attr::ACCT_STATUS_TYPE, self.status.to_u32()),
            Attribute::new(attr::ACCT_SESSION_ID, self.session_id.as_bytes()),
            Attribute::new(attr::USER_NAME, self.user.as_bytes()),
        ];
        if let Some(c) = &self.calling_station_id {
            a.push(Attribute::new(attr::CALLING_STATION_ID, c.as_bytes()));
        }
        if let Some(ip) = self.framed_ip_address {
            a.push(Attribute::ipv4(attr::FRAMED_IP_ADDRESS, ip));
        }
        if self.status != AcctStatus::Start {
            let lo = |v: u64| (v & 0xffff_ffff) as u32;
            let hi = |v: u64| (v >> 32).min(u32::MAX as u64) as u32;
            a.push(Attribute::u32(
                attr::ACCT_INPUT_OCTETS,
                lo(self.input_octets),
            ));
            a.push(Attribute::u32(
                attr::ACCT_OUTPUT_OCTETS,
                lo(self.output_octets),
            ));
            a.push(Attribute::u32(
                attr::ACCT_INPUT_GIGAWORDS,
                hi(self.input_octets),
            ));
            a.push(Attribute::u32(
                attr::ACCT_OUTPUT_GIGAWORDS,
                hi(self.output_octets),
            ));
            let sat = |v: u64| v.min(u32::MAX as u64) as u32;
            a.push(Attribute::u32(
                attr::ACCT_INPUT_PACKETS,
                sat(self.input_packets),
            ));
            a.push(Attribute::u32(
                attr::ACCT_OUTPUT_PACKETS,
                sat(self.output_packets),
            ));
        }
        if let Some(t) = self.session_time {
            a.push(Attribute::u32(
                attr::ACCT_SESSION_TIME,
                t.as_secs().min(u32::MAX as u64) as u32,
            ));
        }
        if let Some(c) = self.terminate_cause {
            a.push(Attribute::u32(attr::ACCT_TERMINATE_CAUSE, c as u32));
        }
        for c in &self.class {
            a.push(Attribute::new(attr::CLASS, c.clone()));
        }
        a.extend(self.extra.iter().cloned());
        a
    }
}

/// When the next Interim-Update is due: every `interval` from the session's start, without
/// drift (a late wake-up does not shift later updates, and updates missed by a long sleep
/// collapse into one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterimSchedule {
    interval: Option<Duration>,
    next: Option<Instant>,
}

impl InterimSchedule {
    /// RFC 2869 s5.16: an interval below 60 s SHOULD NOT be used; the reply's value is
    /// raised to this floor.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

    /// A schedule starting at `start` (Accounting-Start sent) with the Access-Accept's
    /// Acct-Interim-Interval, else `default` (RouterOS `/ppp aaa interim-update`, 0 = none).
    pub fn new(start: Instant, from_reply: Option<Duration>, default: Duration) -> Self {
        let interval = match from_reply {
            Some(d) if !d.is_zero() => Some(d.max(Self::MIN_INTERVAL)),
            Some(_) => None,
            None => (!default.is_zero()).then_some(default),
        };
        InterimSchedule {
            interval,
            next: interval.map(|i| start + i),
        }
    }

    /// The interval in use.
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// When the next update is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }

    /// `true` when an Interim-Update is due at `now` (then the next one is scheduled).
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        let (Some(i), Some(mut next)) = (self.interval, self.next) else {
            return false;
        };
        if now < next {
            return false;
        }
        while next <= now {
            next += i;
        }
        self.next = Some(next);
        true
    }
}
