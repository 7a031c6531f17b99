//! Logging setup shared by the example binaries: `tracing` events written to stderr through
//! `tracing-subscriber`, filtered by `RUST_LOG` (default `info`).
//!
//! The protocol crates do not log: they report events and drop
//! counters through their APIs, and these binaries turn those into log lines. Per-packet drops
//! are logged at `debug`; a [`DropSummary`] turns the counters into one `info` line at most
//! every interval, so a flood does not grow the log without bound.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber: `RUST_LOG` selects levels and targets (for example
/// `RUST_LOG=debug` or `RUST_LOG=wg=trace`); when it is unset or invalid, `info` is used.
///
/// Calling it twice is harmless (the second call does nothing).
pub fn init() {
    init_with_default("info");
}

/// [`init`] with another default filter than `info` (for example `debug` for a `--verbose`
/// flag); `RUST_LOG` still wins when it is set and valid.
pub fn init_with_default(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Rate-limited summary of drop counters: [`DropSummary::count`] each drop (which the caller
/// also logs at `debug`), and [`DropSummary::maybe_report`] logs the counts gathered since the
/// last report at `info`, at most once per interval.
#[derive(Debug)]
pub struct DropSummary {
    what: &'static str,
    interval: Duration,
    last: Instant,
    counts: BTreeMap<String, u64>,
    total: u64,
}

impl DropSummary {
    /// A summary labelled `what` (for example `"l2tp-server"`), reported at most once per
    /// `interval`.
    pub fn new(what: &'static str, interval: Duration) -> Self {
        DropSummary {
            what,
            interval,
            last: Instant::now(),
            counts: BTreeMap::new(),
            total: 0,
        }
    }

    /// Counts one drop under `reason` (a short, stable label).
    pub fn count(&mut self, reason: impl Into<String>) {
        *self.counts.entry(reason.into()).or_insert(0) += 1;
        self.total += 1;
    }

    /// Counts one drop under the variant name of `reason`'s `Debug` text (`TooShort { .. }`
    /// counts as `TooShort`), so the summary keeps a handful of stable keys.
    pub fn count_debug(&mut self, reason: &impl std::fmt::Debug) {
        let text = format!("{reason:?}");
        let end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        self.count(&text[..end]);
    }

    /// Drops counted since the summary was created.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Logs the drops counted since the last report at `info`, if any and if `interval` has
    /// passed since then.
    pub fn maybe_report(&mut self) {
        if self.counts.is_empty() || self.last.elapsed() < self.interval {
            return;
        }
        self.report();
    }

    /// Logs the drops counted since the last report now (at `info`), if any.
    pub fn report(&mut self) {
        self.last = Instant::now();
        if self.counts.is_empty() {
            return;
        }
        let list: Vec<String> = self
            .counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        tracing::info!(
            "{}: dropped {} packet(s) in the last {:?}: {} (total {})",
            self.what,
            self.counts.values().sum::<u64>(),
            self.interval,
            list.join(" "),
            self.total
        );
        self.counts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)]
    enum Why {
        TooShort { len: usize },
        BadMac(u8),
        Replay,
    }

    #[test]
    fn counts_by_variant_name() {
        let mut s = DropSummary::new("t", Duration::from_secs(3600));
        s.count_debug(&Why::TooShort { len: 3 });
        s.count_debug(&Why::TooShort { len: 4 });
        s.count_debug(&Why::BadMac(1));
        s.count_debug(&Why::Replay);
        s.count("other");
        assert_eq!(s.total(), 5);
        let keys: Vec<(&str, u64)> = s.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            keys,
            [("BadMac", 1), ("Replay", 1), ("TooShort", 2), ("other", 1)]
        );
        // not due yet: kept; a forced report clears the interval's counts, not the total
        s.maybe_report();
        assert_eq!(s.counts.len(), 4);
        s.report();
        assert!(s.counts.is_empty());
        assert_eq!(s.total(), 5);
    }
}

/// A budget of log lines per interval for messages that strangers can cause (one line per
/// discovery packet, say): [`LineBudget::allow`] says whether to print the next line; past
/// `per_interval` lines in an interval it counts them instead, and
/// [`LineBudget::maybe_report`] logs that count once the interval is over.
#[derive(Debug)]
pub struct LineBudget {
    what: &'static str,
    interval: Duration,
    per_interval: u32,
    start: Instant,
    printed: u32,
    suppressed: u64,
}

impl LineBudget {
    /// At most `per_interval` lines labelled `what` per `interval`.
    pub fn new(what: &'static str, interval: Duration, per_interval: u32) -> Self {
        LineBudget {
            what,
            interval,
            per_interval,
            start: Instant::now(),
            printed: 0,
            suppressed: 0,
        }
    }

    /// Whether the next line may be printed (and counts it either way).
    pub fn allow(&mut self) -> bool {
        self.maybe_report();
        if self.printed < self.per_interval {
            self.printed += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// Starts a new interval once the current one is over, logging at `info` how many lines
    /// it suppressed (if any).
    pub fn maybe_report(&mut self) {
        if self.start.elapsed() < self.interval {
            return;
        }
        if self.suppressed > 0 {
            tracing::info!(
                "{}: {} line(s) not printed in the last {:?} (more than {})",
                self.what,
                self.suppressed,
                self.interval,
                self.per_interval
            );
        }
        self.start = Instant::now();
        self.printed = 0;
        self.suppressed = 0;
    }
}
