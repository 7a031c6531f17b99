//! Clock servo: a PI controller shaped after linuxptp's `pi.c` (first-step threshold, frequency
//! clamp, kp/ki scaled by the sync interval), and the moving-median path delay filter.
//!
//! Sign convention: `offset` is slave minus master (offsetFromMaster). The servo's output
//! [`ServoAction`] is already in "apply this to the local clock" form: `Step { by }` means add
//! `by` to the clock (`by = -offset`), `Frequency { ppb }` means run the clock `ppb` parts per
//! billion faster than nominal.

use crate::config::{ServoConfig, Timestamping};

/// A first-correction drift estimate beyond this (0.1 %) means one of the two samples is bad.
pub const MAX_PLAUSIBLE_DRIFT_PPB: f64 = 1_000_000.0;

/// Servo state, like linuxptp's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServoState {
    /// Collecting the first samples.
    Unlocked,
    /// The first correction stepped the clock.
    Jump,
    /// Tracking.
    Locked,
}

/// What the caller must do to its clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServoAction {
    /// Nothing yet.
    None,
    /// Step the clock by `by_ns` nanoseconds (add it), then set the frequency to `ppb`.
    Step {
        /// Amount to add to the clock, in ns (= -offset).
        by_ns: i64,
        /// New frequency adjustment in ppb.
        ppb: f64,
    },
    /// Set the frequency adjustment to `ppb`.
    Frequency {
        /// New frequency adjustment in ppb (positive = run faster).
        ppb: f64,
    },
}

/// PI servo.
#[derive(Debug, Clone)]
pub struct PiServo {
    cfg: ServoConfig,
    kp: f64,
    ki: f64,
    /// Integral term, ppb in linuxptp's sign convention (positive = clock is fast).
    drift: f64,
    count: u8,
    first: Option<(f64, f64)>,
    first_update: bool,
    state: ServoState,
    last_ppb: f64,
}

fn powf(base: f64, exp: f64) -> f64 {
    base.powf(exp)
}

impl PiServo {
    /// New servo for a sync interval of `2^log_sync` seconds.
    pub fn new(cfg: ServoConfig, log_sync: i8) -> Self {
        let mut s = PiServo {
            cfg,
            kp: 0.0,
            ki: 0.0,
            drift: 0.0,
            count: 0,
            first: None,
            first_update: true,
            state: ServoState::Unlocked,
            last_ppb: 0.0,
        };
        s.set_sync_interval(log_sync);
        s
    }

    /// Recompute kp/ki for a sync interval (linuxptp: kp = scale * interval^-0.3 capped by
    /// 0.7/interval; ki = scale * interval^0.4 capped by 0.3/interval).
    pub fn set_sync_interval(&mut self, log_sync: i8) {
        let interval = powf(2.0, f64::from(log_sync.clamp(-10, 10)));
        let (kps, kis) = match self.cfg.timestamping {
            Timestamping::Software => (0.1, 0.001),
            Timestamping::Hardware => (0.7, 0.3),
        };
        self.kp = (kps * powf(interval, -0.3)).min(0.7 / interval);
        self.ki = (kis * powf(interval, 0.4)).min(0.3 / interval);
    }

    /// Proportional and integral constants in use.
    pub fn constants(&self) -> (f64, f64) {
        (self.kp, self.ki)
    }

    /// Current state.
    pub fn state(&self) -> ServoState {
        self.state
    }

    /// Frequency adjustment last requested, ppb (positive = faster).
    pub fn frequency_ppb(&self) -> f64 {
        self.last_ppb
    }

    /// Forget everything (used after the clock was stepped by someone else).
    pub fn reset(&mut self) {
        self.count = 0;
        self.first = None;
        self.state = ServoState::Unlocked;
    }

    /// Feed one sample: `offset_ns` (slave - master) measured at local time `local_s` (seconds,
    /// monotonic). Returns what to do with the clock.
    pub fn sample(&mut self, offset_ns: f64, local_s: f64) -> ServoAction {
        self.sample_with_rate(offset_ns, local_s, None)
    }

    /// [`sample`](Self::sample), with the clock's frequency error measured another way:
    /// `rate` = (ppb, its standard error in ppb), e.g. the slope of the Sync samples' robust
    /// line ([`TrendFit::slope_uncertainty_ppb`]). The first correction needs a frequency
    /// estimate, and an error in it costs the PI servo about `kp / ki` samples to integrate
    /// away (100 with software constants) with an offset of `error / kp` meanwhile:
    ///
    /// - as soon as the rate is known to [`RATE_UNCERTAINTY_PPB`] (1 ppm) it is used: after
    ///   [`TREND_MIN_SAMPLES`] samples on a quiet link, later on a noisy one (the slope, unlike two offsets,
    ///   holds no change of the path delay; before the first correction an E2E delay carries
    ///   the oscillator's drift between Sync and Delay_Req);
    /// - otherwise, as linuxptp's PI servo does, the servo waits until `0.016 / ki` seconds
    ///   (16 s at one Sync per second with software constants; at most 1000 s) separate the
    ///   first sample from the current one, and then uses the given rate however uncertain
    ///   (a robust slope beats a line through two single samples, either of which may be an
    ///   outlier) or, without one, the two-point estimate.
    pub fn sample_with_rate(
        &mut self,
        offset_ns: f64,
        local_s: f64,
        rate: Option<(f64, f64)>,
    ) -> ServoAction {
        let max = self.cfg.max_frequency_ppb;
        match self.count {
            0 => {
                self.first = Some((offset_ns, local_s));
                self.count = 1;
                self.state = ServoState::Unlocked;
                ServoAction::None
            }
            1 => {
                let Some((o0, l0)) = self.first else {
                    self.count = 0;
                    return ServoAction::None;
                };
                if local_s <= l0 {
                    self.count = 0;
                    return ServoAction::None;
                }
                let waited = local_s - l0;
                let est_interval = (0.016 / self.ki.max(1e-12)).min(1000.0);
                let rate = rate.filter(|(r, _)| r.is_finite());
                let waited_enough = waited * (1.0 + FREQ_EST_MARGIN) >= est_interval;
                let est = match rate {
                    Some((r, se)) if se <= RATE_UNCERTAINTY_PPB => r,
                    // linuxptp pi.c: the first two samples must be far enough apart; then the
                    // robust slope (a median over all pairs) is still better than a line
                    // through two single samples, either of which may be an outlier
                    Some((r, _)) if waited_enough => r,
                    None if waited_enough => (offset_ns - o0) / waited,
                    _ => {
                        self.state = ServoState::Unlocked;
                        return ServoAction::None;
                    }
                };
                if est.abs() > MAX_PLAUSIBLE_DRIFT_PPB {
                    // One of the two samples is bad (no oscillator is off by 0.1 %): keep the
                    // newer one as the first sample instead of stepping on garbage.
                    self.first = Some((offset_ns, local_s));
                    return ServoAction::None;
                }
                self.drift = (self.drift + est).clamp(-max, max);
                self.count = 2;
                let step = (self.first_update
                    && self.cfg.first_step_threshold_ns > 0.0
                    && offset_ns.abs() > self.cfg.first_step_threshold_ns)
                    || (self.cfg.step_threshold_ns > 0.0
                        && offset_ns.abs() > self.cfg.step_threshold_ns);
                self.first_update = false;
                self.last_ppb = -self.drift;
                if step {
                    self.state = ServoState::Jump;
                    ServoAction::Step {
                        by_ns: -(offset_ns.round() as i64),
                        ppb: self.last_ppb,
                    }
                } else {
                    self.state = ServoState::Locked;
                    ServoAction::Frequency { ppb: self.last_ppb }
                }
            }
            _ => {
                if self.cfg.step_threshold_ns > 0.0 && offset_ns.abs() > self.cfg.step_threshold_ns
                {
                    self.reset();
                    return ServoAction::None;
                }
                let ki_term = self.ki * offset_ns;
                let mut ppb = self.kp * offset_ns + self.drift + ki_term;
                if ppb < -max {
                    ppb = -max;
                } else if ppb > max {
                    ppb = max;
                } else {
                    self.drift += ki_term;
                }
                self.state = ServoState::Locked;
                self.last_ppb = -ppb;
                ServoAction::Frequency { ppb: self.last_ppb }
            }
        }
    }
}

/// Moving median over the last `len` path delay samples (linuxptp `tsproc` default filter).
#[derive(Debug, Clone)]
pub struct MedianFilter {
    buf: [i128; 64],
    len: usize,
    n: usize,
    next: usize,
}

impl MedianFilter {
    /// New filter of `len` (1..=64) samples.
    pub fn new(len: usize) -> Self {
        MedianFilter {
            buf: [0; 64],
            len: len.clamp(1, 64),
            n: 0,
            next: 0,
        }
    }

    /// Add a sample, return the median (mean of the two middle values for even counts,
    /// rounded toward negative infinity).
    pub fn push(&mut self, v: i128) -> i128 {
        if let Some(slot) = self.buf.get_mut(self.next) {
            *slot = v;
        }
        self.next = (self.next + 1) % self.len;
        self.n = (self.n + 1).min(self.len);
        self.median().unwrap_or(v)
    }

    /// Current median.
    pub fn median(&self) -> Option<i128> {
        if self.n == 0 {
            return None;
        }
        let mut tmp = [0i128; 64];
        let s = tmp.get_mut(..self.n)?;
        s.copy_from_slice(self.buf.get(..self.n)?);
        s.sort_unstable();
        let m = self.n / 2;
        if self.n % 2 == 1 {
            s.get(m).copied()
        } else {
            Some((s.get(m - 1)?.checked_add(*s.get(m)?)?) >> 1)
        }
    }

    /// Clear.
    pub fn reset(&mut self) {
        self.n = 0;
        self.next = 0;
    }
}

/// Largest standard error of an external rate estimate the servo's first correction accepts,
/// ppb ([`PiServo::sample_with_rate`]).
pub const RATE_UNCERTAINTY_PPB: f64 = 1000.0;

/// linuxptp's margin on the frequency estimation interval.
const FREQ_EST_MARGIN: f64 = 0.001;

/// Fewest samples whose scatter [`TrendFit::slope_uncertainty_ppb`] trusts (the outlier test
/// asks for as many).
pub const TREND_MIN_SAMPLES: usize = 8;

/// Largest window [`SyncTrend`] keeps.
pub const MAX_TREND_WINDOW: usize = 32;

/// Scale from a median absolute deviation to a standard deviation (normal distribution).
const MAD_TO_SIGMA: f64 = 1.4826;

/// A robust straight line through recent Sync samples: `y = t2 - t1 - corrections` (the
/// master-to-slave delay plus the offset) over `x = t2`.
///
/// The slope is the local clock's frequency error against the master (Theil-Sen: the median
/// of all pairwise slopes), the intercept the median of the detrended samples. Both are
/// medians, so one sample delayed by a busy kernel moves neither; evaluated at the newest
/// sample, the line is an unbiased offset estimate under constant drift with about half the
/// noise of a single sample (window 16). The residuals' median absolute deviation sizes the
/// outlier test of [`SyncTrend::is_outlier`].
#[derive(Debug, Clone)]
pub struct SyncTrend {
    x: [i128; MAX_TREND_WINDOW],
    y: [i128; MAX_TREND_WINDOW],
    len: usize,
    next: usize,
    window: usize,
}

/// A fitted line from [`SyncTrend::fit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendFit {
    /// Slope, ns per ns (multiply by 1e9 for ppb; positive = the local clock runs fast).
    pub slope: f64,
    /// Median absolute deviation of the samples from the line, ns.
    pub mad_ns: f64,
    /// Samples the line was fitted to.
    pub samples: usize,
    /// Time between the oldest and the newest sample, ns.
    pub span_ns: f64,
    ref_x: i128,
    ref_y: i128,
    intercept_ns: f64,
}

impl TrendFit {
    /// Standard error of the slope, ppb: the residuals' scatter (from their median absolute
    /// deviation) over the samples' time span, `sigma * sqrt(12 / n) / span` as for evenly
    /// spaced samples. Infinite below [`TREND_MIN_SAMPLES`]: the median absolute deviation of
    /// a handful of points can be zero by chance (with three, the middle one often lies on the
    /// line), which would make a noisy slope look exact.
    pub fn slope_uncertainty_ppb(&self) -> f64 {
        if self.samples < TREND_MIN_SAMPLES || self.span_ns <= 0.0 {
            return f64::INFINITY;
        }
        let sigma = MAD_TO_SIGMA * self.mad_ns;
        sigma * (12.0 / self.samples as f64).sqrt() / self.span_ns * 1e9
    }

    /// The line's value at `x` (same units as the samples: 2^-16 ns).
    pub fn at(&self, x: i128) -> i128 {
        let dx_ns = x.saturating_sub(self.ref_x) as f64 / 65536.0;
        let y_ns = self.intercept_ns + self.slope * dx_ns;
        self.ref_y.saturating_add((y_ns * 65536.0).round() as i128)
    }
}

fn median_f64(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v.get(m).copied()
    } else {
        Some((v.get(m - 1)? + v.get(m)?) / 2.0)
    }
}

impl SyncTrend {
    /// New, empty, fitting the last `window` samples (clamped to 2..=[`MAX_TREND_WINDOW`]).
    pub fn new(window: usize) -> Self {
        SyncTrend {
            x: [0; MAX_TREND_WINDOW],
            y: [0; MAX_TREND_WINDOW],
            len: 0,
            next: 0,
            window: window.clamp(2, MAX_TREND_WINDOW),
        }
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No samples held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }

    /// Add a sample (`x`, `y` in 2^-16 ns), replacing the oldest when full.
    pub fn push(&mut self, x: i128, y: i128) {
        if let (Some(a), Some(b)) = (self.x.get_mut(self.next), self.y.get_mut(self.next)) {
            *a = x;
            *b = y;
        }
        self.next = (self.next + 1) % self.window;
        self.len = (self.len + 1).min(self.window);
    }

    fn newest(&self) -> Option<(i128, i128)> {
        let i = (self.next + self.window - 1) % self.window;
        Some((*self.x.get(i)?, *self.y.get(i)?))
    }

    /// Fit the line (needs two samples at different `x`).
    pub fn fit(&self) -> Option<TrendFit> {
        let n = self.len;
        if n < 2 {
            return None;
        }
        let (rx, ry) = self.newest()?;
        let mut xs = [0f64; MAX_TREND_WINDOW];
        let mut ys = [0f64; MAX_TREND_WINDOW];
        for j in 0..n {
            let (x, y) = (*self.x.get(j)?, *self.y.get(j)?);
            *xs.get_mut(j)? = x.saturating_sub(rx) as f64 / 65536.0;
            *ys.get_mut(j)? = y.saturating_sub(ry) as f64 / 65536.0;
        }
        let mut slopes = [0f64; MAX_TREND_WINDOW * (MAX_TREND_WINDOW - 1) / 2];
        let mut k = 0;
        for i in 0..n {
            for j in i + 1..n {
                let dx = xs.get(j)? - xs.get(i)?;
                if dx != 0.0 {
                    *slopes.get_mut(k)? = (ys.get(j)? - ys.get(i)?) / dx;
                    k += 1;
                }
            }
        }
        let slope = median_f64(slopes.get_mut(..k)?)?;
        let mut icpt = [0f64; MAX_TREND_WINDOW];
        for j in 0..n {
            *icpt.get_mut(j)? = ys.get(j)? - slope * xs.get(j)?;
        }
        let intercept_ns = median_f64(icpt.get_mut(..n)?)?;
        let mut dev = [0f64; MAX_TREND_WINDOW];
        for j in 0..n {
            *dev.get_mut(j)? = (ys.get(j)? - intercept_ns - slope * xs.get(j)?).abs();
        }
        let mad_ns = median_f64(dev.get_mut(..n)?)?;
        let (lo, hi) = xs
            .get(..n)?
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        Some(TrendFit {
            slope,
            mad_ns,
            samples: n,
            span_ns: hi - lo,
            ref_x: rx,
            ref_y: ry,
            intercept_ns,
        })
    }

    /// Is the sample (`x`, `y`) an outlier against the line through the held samples: more
    /// than `factor` standard deviations (estimated from the median absolute deviation) and
    /// more than `floor_ns` away? Needs at least 8 held samples; `factor` 0 disables.
    pub fn is_outlier(&self, x: i128, y: i128, factor: f64, floor_ns: f64) -> bool {
        if factor <= 0.0 || self.len < TREND_MIN_SAMPLES {
            return false;
        }
        let Some(fit) = self.fit() else {
            return false;
        };
        let r_ns = y.saturating_sub(fit.at(x)) as f64 / 65536.0;
        r_ns.abs() > (factor * MAD_TO_SIGMA * fit.mad_ns).max(floor_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linuxptp_constants() {
        let s = PiServo::new(ServoConfig::default(), 0);
        assert_eq!(s.constants(), (0.1, 0.001));
        let h = PiServo::new(
            ServoConfig {
                timestamping: Timestamping::Hardware,
                ..ServoConfig::default()
            },
            0,
        );
        assert_eq!(h.constants(), (0.7, 0.3));
        let h3 = PiServo::new(
            ServoConfig {
                timestamping: Timestamping::Hardware,
                ..ServoConfig::default()
            },
            -3,
        );
        let (kp, ki) = h3.constants();
        assert!((kp - 0.7 * 8f64.powf(0.3)).abs() < 1e-12);
        assert!((ki - 0.3 * 0.125f64.powf(0.4)).abs() < 1e-12);
    }

    fn hw() -> ServoConfig {
        ServoConfig {
            timestamping: Timestamping::Hardware,
            ..ServoConfig::default()
        }
    }

    #[test]
    fn first_step_then_frequency() {
        // hardware constants: the frequency estimate may come 0.016 / 0.3 s after the first
        // sample, so the second one (1 s later) gives it
        let mut s = PiServo::new(hw(), 0);
        assert_eq!(s.sample(1_000_000.0, 0.0), ServoAction::None);
        // offset grew by 100 ns in 1 s: clock is 100 ppb fast -> slow it down by 100 ppb.
        match s.sample(1_000_100.0, 1.0) {
            ServoAction::Step { by_ns, ppb } => {
                assert_eq!(by_ns, -1_000_100);
                assert!((ppb + 100.0).abs() < 1e-9);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.state(), ServoState::Jump);
        // Below threshold afterwards: never steps again (step_threshold 0).
        for i in 0..5 {
            assert!(matches!(
                s.sample(50_000_000.0, 2.0 + f64::from(i)),
                ServoAction::Frequency { .. }
            ));
        }
    }

    #[test]
    fn small_first_offset_does_not_step_and_clamps() {
        let mut s = PiServo::new(
            ServoConfig {
                max_frequency_ppb: 1000.0,
                ..hw()
            },
            0,
        );
        s.sample(10.0, 0.0);
        assert!(matches!(s.sample(12.0, 1.0), ServoAction::Frequency { .. }));
        assert_eq!(s.state(), ServoState::Locked);
        assert_eq!(s.sample(1e9, 2.0), ServoAction::Frequency { ppb: -1000.0 });
    }

    #[test]
    fn absurd_first_sample_is_replaced_not_stepped_on() {
        let mut s = PiServo::new(hw(), 0);
        assert_eq!(s.sample(10e9, 0.0), ServoAction::None); // 10 s off: bogus
        assert_eq!(s.sample(500.0, 1.0), ServoAction::None); // implies 10^10 ppb: restart
        match s.sample(520.0, 2.0) {
            ServoAction::Frequency { ppb } => assert!((ppb + 20.0).abs() < 1e-9),
            other => panic!("{other:?}"),
        }
    }

    /// Software constants (ki 0.001 at one Sync per second): without a trustworthy rate the
    /// first estimate waits 16 s as in linuxptp; a rate known to 1 ppm is used at once.
    #[test]
    fn first_estimate_waits_for_the_rate_or_the_estimation_interval() {
        let mut s = PiServo::new(ServoConfig::default(), 0);
        assert_eq!(s.sample(1_000_000.0, 0.0), ServoAction::None);
        for t in 1..16 {
            let r = s.sample_with_rate(1_000_000.0 + 100.0 * f64::from(t), f64::from(t), None);
            assert_eq!(r, ServoAction::None, "waiting at {t} s");
            // a rate too uncertain to use changes nothing
            let r = s.sample_with_rate(1_000_000.0, f64::from(t), Some((100.0, 5000.0)));
            assert_eq!(r, ServoAction::None);
        }
        // 16 s after the first sample: the two-point estimate (100 ppb) ...
        let mut two = s.clone();
        match two.sample(1_001_600.0, 16.0) {
            ServoAction::Step { ppb, .. } => assert!((ppb + 100.0).abs() < 1e-6, "{ppb}"),
            other => panic!("{other:?}"),
        }
        // ... or, when a rate is given, that rate however uncertain
        match s.sample_with_rate(1_001_600.0, 16.0, Some((80.0, 5000.0))) {
            ServoAction::Step { ppb, .. } => assert!((ppb + 80.0).abs() < 1e-6, "{ppb}"),
            other => panic!("{other:?}"),
        }
        // with a rate known to 1 ppm the second sample already corrects
        let mut s = PiServo::new(ServoConfig::default(), 0);
        s.sample(1_000_000.0, 0.0);
        match s.sample_with_rate(1_000_100.0, 1.0, Some((250.0, 40.0))) {
            ServoAction::Step { ppb, .. } => assert!((ppb + 250.0).abs() < 1e-9, "{ppb}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn median() {
        let mut f = MedianFilter::new(3);
        assert_eq!(f.push(10), 10);
        assert_eq!(f.push(20), 15);
        assert_eq!(f.push(1000), 20);
        assert_eq!(f.push(30), 30); // window 20,1000,30
        assert_eq!(f.push(-5), 30); // 1000,30,-5
    }

    fn ns(v: f64) -> i128 {
        (v * 65536.0) as i128
    }

    #[test]
    fn trend_recovers_drift_and_ignores_one_spike() {
        let mut t = SyncTrend::new(16);
        assert!(t.fit().is_none());
        // 2500 ns delay, clock 40 ppm fast (40 us per second), +-300 ns alternating noise, one
        // 19.5 us spike.
        for k in 0..16 {
            let x = ns(1e9 * f64::from(k));
            let noise = if k % 2 == 0 { 300.0 } else { -300.0 };
            let spike = if k == 9 { 19_500.0 } else { 0.0 };
            t.push(x, ns(2500.0 + 40_000.0 * f64::from(k) + noise + spike));
        }
        let fit = t.fit().unwrap();
        assert!(
            (fit.slope * 1e9 - 40_000.0).abs() < 1.0,
            "{}",
            fit.slope * 1e9
        );
        // At the newest sample (k = 15): truth 2500 + 600000.
        let at = fit.at(ns(15e9)) as f64 / 65536.0;
        assert!((at - 602_500.0).abs() <= 300.0, "{at}");
        assert!((fit.mad_ns - 300.0).abs() < 1.0, "{}", fit.mad_ns);
        // A 19.5 us excursion at k = 16 is an outlier, a 1 us one is not.
        let x16 = ns(16e9);
        assert!(t.is_outlier(x16, ns(2500.0 + 640_000.0 + 19_500.0), 8.0, 1000.0));
        assert!(!t.is_outlier(x16, ns(2500.0 + 640_000.0 + 1_000.0), 8.0, 1000.0));
        // Disabled by factor 0, and needs 8 samples.
        assert!(!t.is_outlier(x16, ns(1e9), 0.0, 1000.0));
        let mut short = SyncTrend::new(16);
        short.push(0, 0);
        assert!(!short.is_outlier(ns(1e9), ns(1e9), 8.0, 1000.0));
    }

    #[test]
    fn trend_window_wraps() {
        let mut t = SyncTrend::new(4);
        for k in 0..10 {
            t.push(ns(f64::from(k) * 1e9), ns(f64::from(k) * 100.0));
        }
        assert_eq!(t.len(), 4);
        let fit = t.fit().unwrap();
        assert!((fit.slope * 1e9 - 100.0).abs() < 1e-6);
        assert_eq!(fit.at(ns(9e9)), ns(900.0));
        t.clear();
        assert!(t.is_empty());
    }
}
