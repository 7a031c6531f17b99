//! PTP data types of IEEE 1588-2008 section 5.3 and the exact time arithmetic built on them.
//!
//! Every time value on the timestamp path is an integer. [`Time`] is a signed count of
//! 2^-16 nanoseconds held in an `i128`, wide enough for any 48-bit-seconds [`Timestamp`]
//! (about 2^94 units) plus any correction field, so additions, subtractions and halvings are
//! exact (halving rounds toward negative infinity in the last 2^-16 ns bit).

use core::fmt;
use core::ops::{Add, Neg, Sub};

/// Nanoseconds per second.
pub const NS_PER_SEC: u64 = 1_000_000_000;
/// Largest value of the 48-bit `secondsField` of a [`Timestamp`].
pub const MAX_SECONDS: u64 = (1 << 48) - 1;

/// A PTP `Timestamp` [1588-2008 5.3.3]: 48-bit seconds and 32-bit nanoseconds (10 bytes).
///
/// Constructed values always hold `seconds <= MAX_SECONDS` and `nanoseconds < 10^9`; the
/// decoder rejects anything else with [`crate::wire::WireError::InvalidNanoseconds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// `secondsField` (48 bits).
    pub seconds: u64,
    /// `nanosecondsField`, below 10^9.
    pub nanoseconds: u32,
}

impl Timestamp {
    /// Wire length.
    pub const LEN: usize = 10;

    /// Build a timestamp; `None` when a field is out of range.
    pub fn new(seconds: u64, nanoseconds: u32) -> Option<Self> {
        (seconds <= MAX_SECONDS && u64::from(nanoseconds) < NS_PER_SEC).then_some(Self {
            seconds,
            nanoseconds,
        })
    }

    /// Decode 10 bytes; `None` if `nanoseconds >= 10^9`.
    pub fn from_bytes(b: &[u8; 10]) -> Option<Self> {
        let seconds = u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]]);
        let nanoseconds = u32::from_be_bytes([b[6], b[7], b[8], b[9]]);
        Self::new(seconds, nanoseconds)
    }

    /// Encode to 10 bytes.
    pub fn to_bytes(self) -> [u8; 10] {
        let s = self.seconds.to_be_bytes();
        let n = self.nanoseconds.to_be_bytes();
        [s[2], s[3], s[4], s[5], s[6], s[7], n[0], n[1], n[2], n[3]]
    }

    /// This timestamp as an exact [`Time`].
    pub fn to_time(self) -> Time {
        Time::from_nanos(
            i128::from(self.seconds) * i128::from(NS_PER_SEC) + i128::from(self.nanoseconds),
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.seconds, self.nanoseconds)
    }
}

/// A signed time value or difference in units of 2^-16 ns (the `TimeInterval` scale).
///
/// Used for instants on the PTP timescale (nanoseconds since the PTP epoch), for receive and
/// transmit timestamps (which may carry sub-nanosecond hardware precision), and for differences
/// such as offsets and path delays. All operations are exact integer arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(pub i128);

impl Time {
    /// Zero.
    pub const ZERO: Time = Time(0);

    /// From whole nanoseconds.
    pub const fn from_nanos(ns: i128) -> Self {
        Time(ns << 16)
    }

    /// From raw 2^-16 ns units.
    pub const fn from_scaled(units: i128) -> Self {
        Time(units)
    }

    /// Raw 2^-16 ns units.
    pub const fn scaled(self) -> i128 {
        self.0
    }

    /// Whole nanoseconds, rounded toward negative infinity.
    pub const fn nanos_floor(self) -> i128 {
        self.0 >> 16
    }

    /// Nanoseconds rounded to nearest (ties away from zero).
    pub fn nanos_round(self) -> i128 {
        if self.0 >= 0 {
            (self.0 + (1 << 15)) >> 16
        } else {
            -((-self.0 + (1 << 15)) >> 16)
        }
    }

    /// Nanoseconds as a float, for reporting and the servo (never used to compute timestamps).
    pub fn as_nanos_f64(self) -> f64 {
        self.0 as f64 / 65536.0
    }

    /// Exact half, rounding toward negative infinity in the last unit.
    pub const fn half(self) -> Self {
        Time(self.0 >> 1)
    }

    /// Checked addition.
    pub fn checked_add(self, o: Time) -> Option<Time> {
        self.0.checked_add(o.0).map(Time)
    }

    /// Checked subtraction.
    pub fn checked_sub(self, o: Time) -> Option<Time> {
        self.0.checked_sub(o.0).map(Time)
    }

    /// Absolute value (saturating).
    pub fn abs(self) -> Time {
        Time(self.0.saturating_abs())
    }

    /// Convert an instant to a wire [`Timestamp`], truncating the sub-nanosecond part; `None`
    /// when negative or beyond 48-bit seconds.
    pub fn to_timestamp(self) -> Option<Timestamp> {
        let ns = self.nanos_floor();
        if ns < 0 {
            return None;
        }
        let ns = u128::try_from(ns).ok()?;
        let secs = u64::try_from(ns / u128::from(NS_PER_SEC)).ok()?;
        let sub = u32::try_from(ns % u128::from(NS_PER_SEC)).ok()?;
        Timestamp::new(secs, sub)
    }

    /// Sub-nanosecond remainder (0..65535 units) lost by [`Time::to_timestamp`]; masters put it
    /// into the Follow_Up correctionField.
    pub fn sub_ns_units(self) -> i64 {
        (self.0 & 0xFFFF) as i64
    }

    /// As a wire [`TimeInterval`]; `None` if it does not fit in 64 bits.
    pub fn to_interval(self) -> Option<TimeInterval> {
        i64::try_from(self.0).ok().map(TimeInterval)
    }

    /// Add a wall-clock `core::time::Duration`.
    pub fn add_duration(self, d: core::time::Duration) -> Time {
        self + Time::from_nanos(d.as_nanos() as i128)
    }
}

impl Add for Time {
    type Output = Time;
    /// Saturating addition (inputs from the wire are range-checked before they get here).
    fn add(self, o: Time) -> Time {
        Time(self.0.saturating_add(o.0))
    }
}

impl Sub for Time {
    type Output = Time;
    /// Saturating subtraction.
    fn sub(self, o: Time) -> Time {
        Time(self.0.saturating_sub(o.0))
    }
}

impl Neg for Time {
    type Output = Time;
    fn neg(self) -> Time {
        Time(self.0.saturating_neg())
    }
}

impl From<Timestamp> for Time {
    fn from(t: Timestamp) -> Time {
        t.to_time()
    }
}

impl From<TimeInterval> for Time {
    fn from(t: TimeInterval) -> Time {
        Time(i128::from(t.0))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.nanos_floor();
        let frac = (self.0 & 0xFFFF) as u32;
        if frac == 0 {
            write!(f, "{ns}ns")
        } else {
            write!(f, "{ns}+{frac}/65536ns")
        }
    }
}

/// `TimeInterval` / `correctionField` [1588-2008 5.3.2]: signed nanoseconds times 2^16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimeInterval(pub i64);

impl TimeInterval {
    /// The value 1588 uses for "too big to represent" (0x7FFF_FFFF_FFFF_FFFF).
    pub const TOO_BIG: TimeInterval = TimeInterval(i64::MAX);

    /// From whole nanoseconds (saturating).
    pub fn from_nanos(ns: i64) -> Self {
        TimeInterval(ns.saturating_mul(1 << 16))
    }

    /// Exact value as [`Time`].
    pub fn to_time(self) -> Time {
        Time::from(self)
    }
}

/// `ClockIdentity` [1588-2008 5.3.4, 7.5.2.2]: 8 octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClockIdentity(pub [u8; 8]);

impl ClockIdentity {
    /// EUI-64 from an EUI-48 MAC by inserting FF:FE in the middle [1588-2008 7.5.2.2.2].
    pub fn from_mac(mac: [u8; 6]) -> Self {
        ClockIdentity([mac[0], mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]])
    }
}

impl fmt::Display for ClockIdentity {
    /// RouterOS style `64:D1:54:FF:FE:EB:AD:C7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// `PortIdentity` [1588-2008 5.3.5]: clock identity + port number (10 octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PortIdentity {
    /// `clockIdentity`.
    pub clock_identity: ClockIdentity,
    /// `portNumber` (1-based; 0xFFFF = all ports in management targets).
    pub port_number: u16,
}

impl PortIdentity {
    /// Wire length.
    pub const LEN: usize = 10;
    /// The all-ones wildcard used as management target.
    pub const ALL: PortIdentity = PortIdentity {
        clock_identity: ClockIdentity([0xFF; 8]),
        port_number: 0xFFFF,
    };

    /// Decode.
    pub fn from_bytes(b: &[u8; 10]) -> Self {
        let mut id = [0u8; 8];
        id.copy_from_slice(&b[..8]);
        PortIdentity {
            clock_identity: ClockIdentity(id),
            port_number: u16::from_be_bytes([b[8], b[9]]),
        }
    }

    /// Encode.
    pub fn to_bytes(self) -> [u8; 10] {
        let mut b = [0u8; 10];
        b[..8].copy_from_slice(&self.clock_identity.0);
        b[8..].copy_from_slice(&self.port_number.to_be_bytes());
        b
    }
}

impl fmt::Display for PortIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.clock_identity, self.port_number)
    }
}

/// `ClockQuality` [1588-2008 5.3.7].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockQuality {
    /// `clockClass` (248 = default, slave-capable; 6 = locked to a primary reference).
    pub clock_class: u8,
    /// `clockAccuracy` (0xFE = unknown).
    pub clock_accuracy: u8,
    /// `offsetScaledLogVariance` (0xFFFF = not computed).
    pub offset_scaled_log_variance: u16,
}

impl Default for ClockQuality {
    /// linuxptp defaults: class 248, accuracy 0xFE, variance 0xFFFF.
    fn default() -> Self {
        ClockQuality {
            clock_class: 248,
            clock_accuracy: 0xFE,
            offset_scaled_log_variance: 0xFFFF,
        }
    }
}

impl ClockQuality {
    /// Decode 4 bytes.
    pub fn from_bytes(b: &[u8; 4]) -> Self {
        ClockQuality {
            clock_class: b[0],
            clock_accuracy: b[1],
            offset_scaled_log_variance: u16::from_be_bytes([b[2], b[3]]),
        }
    }

    /// Encode 4 bytes.
    pub fn to_bytes(self) -> [u8; 4] {
        let v = self.offset_scaled_log_variance.to_be_bytes();
        [self.clock_class, self.clock_accuracy, v[0], v[1]]
    }
}

/// Length of one interval given as log2 seconds (`logMessageInterval`), clamped to
/// 2^-10 .. 2^12 s so that absurd values from a peer cannot produce absurd timers.
pub fn log_interval(log2: i8) -> core::time::Duration {
    let l = log2.clamp(-10, 12);
    if l >= 0 {
        core::time::Duration::from_secs(1u64 << l)
    } else {
        core::time::Duration::from_nanos(NS_PER_SEC >> (-l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_roundtrip_and_48_bit_seconds() {
        let t = Timestamp::new(MAX_SECONDS, 999_999_999).unwrap();
        let b = t.to_bytes();
        assert_eq!(
            b,
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3B, 0x9A, 0xC9, 0xFF]
        );
        assert_eq!(Timestamp::from_bytes(&b), Some(t));
        assert!(Timestamp::new(MAX_SECONDS + 1, 0).is_none());
        assert!(Timestamp::new(0, 1_000_000_000).is_none());
        // Time of the largest timestamp + 1 ns overflows 48-bit seconds on conversion back.
        let next = t.to_time() + Time::from_nanos(1);
        assert_eq!(next.to_timestamp(), None);
        assert_eq!(t.to_time().to_timestamp(), Some(t));
    }

    #[test]
    fn nanosecond_carry_and_borrow() {
        let a = Timestamp::new(10, 999_999_999).unwrap().to_time();
        let b = a + Time::from_nanos(2);
        assert_eq!(b.to_timestamp(), Timestamp::new(11, 1));
        let c = Timestamp::new(11, 0).unwrap().to_time() - Time::from_nanos(1);
        assert_eq!(c.to_timestamp(), Timestamp::new(10, 999_999_999));
        assert_eq!(
            (Timestamp::new(5, 0).unwrap().to_time() - Timestamp::new(6, 1).unwrap().to_time())
                .nanos_floor(),
            -1_000_000_001
        );
    }

    #[test]
    fn negative_and_sub_ns() {
        let t = Time::from_scaled(-1);
        assert_eq!(t.nanos_floor(), -1);
        assert_eq!(t.nanos_round(), 0);
        assert_eq!(Time::from_scaled(-3).half(), Time::from_scaled(-2));
        assert_eq!(Time::from_nanos(-3).half().scaled(), -3 * 32768);
        assert_eq!(Time::from_nanos(-1).to_timestamp(), None);
        let ti = TimeInterval(-0x8000); // -0.5 ns
        assert_eq!(ti.to_time().nanos_round(), -1);
        assert_eq!(TimeInterval::from_nanos(i64::MAX), TimeInterval(i64::MAX));
        assert_eq!(
            format!("{}", Time::from_scaled((5 << 16) + 3)),
            "5+3/65536ns"
        );
        let x = Time::from_nanos(7) + Time::from_scaled(0x8000);
        assert_eq!(x.sub_ns_units(), 0x8000);
        assert_eq!(x.to_timestamp(), Timestamp::new(0, 7));
    }

    #[test]
    fn e2e_vector_from_spec() {
        // t1=0, t2=150, t3=1000, t4=1150 -> delay 150, offset 0.
        let (t1, t2, t3, t4) = (
            Time::from_nanos(0),
            Time::from_nanos(150),
            Time::from_nanos(1000),
            Time::from_nanos(1150),
        );
        let delay = ((t2 - t1) + (t4 - t3)).half();
        assert_eq!(delay, Time::from_nanos(150));
        assert_eq!(t2 - t1 - delay, Time::ZERO);
    }

    #[test]
    fn clock_identity_from_mac_matches_seed() {
        let id = ClockIdentity::from_mac([0x64, 0xD1, 0x54, 0xEB, 0xAD, 0xC7]);
        assert_eq!(id.to_string(), "64:D1:54:FF:FE:EB:AD:C7");
    }

    #[test]
    fn log_intervals() {
        assert_eq!(log_interval(0), core::time::Duration::from_secs(1));
        assert_eq!(log_interval(1), core::time::Duration::from_secs(2));
        assert_eq!(log_interval(-3), core::time::Duration::from_millis(125));
        assert_eq!(log_interval(127), core::time::Duration::from_secs(4096));
        assert_eq!(
            log_interval(-128),
            core::time::Duration::from_nanos(976_562)
        );
    }
}
