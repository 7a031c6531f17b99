//! Best master clock algorithm [1588-2008 9.3]: data set comparison (figures 27 and 28) and the
//! state decision algorithm (figure 26), as pure functions so they can be table-tested; and
//! the alternate BMCA of ITU-T G.8275.1 6.3 ([`Algorithm::G8275`]: priority1 unused,
//! localPriority, notSlave ports, topology instead of grandmaster identity for
//! clockClass <= 127).

use core::cmp::Ordering;

use crate::wire::{Announce, ClockIdentity, ClockQuality, PortIdentity};

/// The fields of an Announce (or of defaultDS, for D0) that the comparison uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dataset {
    /// grandmasterPriority1.
    pub priority1: u8,
    /// grandmasterIdentity.
    pub identity: ClockIdentity,
    /// grandmasterClockQuality.
    pub quality: ClockQuality,
    /// grandmasterPriority2.
    pub priority2: u8,
    /// stepsRemoved.
    pub steps_removed: u16,
    /// Port that sent the Announce (for D0: the local clock, port 0).
    pub sender: PortIdentity,
    /// Port that received it (for D0: the local clock, port 0).
    pub receiver: PortIdentity,
    /// G.8275.1 localPriority (1..=255, default 128, lower wins): of the receiving port for a
    /// foreign master, defaultDS.localPriority for D0. Ignored by the 1588 comparison.
    pub local_priority: u8,
}

impl Dataset {
    /// Data set of a received Announce.
    pub fn from_announce(a: &Announce, sender: PortIdentity, receiver: PortIdentity) -> Self {
        Dataset {
            priority1: a.grandmaster_priority1,
            identity: a.grandmaster_identity,
            quality: a.grandmaster_clock_quality,
            priority2: a.grandmaster_priority2,
            steps_removed: a.steps_removed,
            sender,
            receiver,
            local_priority: 128,
        }
    }

    /// The same data set with G.8275.1 localPriority `lp`.
    pub fn with_local_priority(self, lp: u8) -> Self {
        Dataset {
            local_priority: lp,
            ..self
        }
    }

    /// D0: the local clock's own defaultDS (stepsRemoved 0, sender = receiver = local port 0).
    pub fn local(
        identity: ClockIdentity,
        priority1: u8,
        quality: ClockQuality,
        priority2: u8,
    ) -> Self {
        let me = PortIdentity {
            clock_identity: identity,
            port_number: 0,
        };
        Dataset {
            priority1,
            identity,
            quality,
            priority2,
            steps_removed: 0,
            sender: me,
            receiver: me,
            local_priority: 128,
        }
    }
}

/// Result of comparing data set A with data set B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// A is better (by grandmaster attributes or by more than one step).
    ABetter,
    /// A is better by topology only.
    ABetterByTopology,
    /// B is better by topology only.
    BBetterByTopology,
    /// B is better.
    BBetter,
    /// Same data set (error-1 / error-2 of figure 28: a message received from itself or a
    /// duplicate).
    Same,
}

impl Comparison {
    /// A is better in either way.
    pub fn a_better(self) -> bool {
        matches!(self, Comparison::ABetter | Comparison::ABetterByTopology)
    }
}

fn ord_to_cmp(o: Ordering) -> Option<Comparison> {
    match o {
        Ordering::Less => Some(Comparison::ABetter),
        Ordering::Greater => Some(Comparison::BBetter),
        Ordering::Equal => None,
    }
}

/// Which best master clock algorithm a clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// IEEE 1588-2008 9.3 (every profile but G.8275.1).
    #[default]
    Ieee1588,
    /// ITU-T G.8275.1 6.3 alternate BMCA (profile `g8275.1`).
    G8275,
}

/// Data set comparison with the given algorithm.
pub fn compare_with(alg: Algorithm, a: &Dataset, b: &Dataset) -> Comparison {
    match alg {
        Algorithm::Ieee1588 => compare(a, b),
        Algorithm::G8275 => compare_g8275(a, b),
    }
}

/// G.8275.1 6.3 data set comparison (lower values win): grandmaster clockClass,
/// clockAccuracy, offsetScaledLogVariance, priority2, then localPriority; priority1 is not
/// used (the profile fixes it at 128). Then, for grandmaster-capable classes (<= 127), the
/// grandmaster identity is NOT compared: equivalent grandmasters are told apart by topology
/// (stepsRemoved and port identities, 1588 figure 28), so a slave follows the nearest one.
/// For classes above 127 the grandmaster identity breaks the tie first, topology only
/// between data sets of the same grandmaster (linuxptp's `telecom_dscmp` agrees).
pub fn compare_g8275(a: &Dataset, b: &Dataset) -> Comparison {
    let ka = (
        a.quality.clock_class,
        a.quality.clock_accuracy,
        a.quality.offset_scaled_log_variance,
        a.priority2,
        a.local_priority,
    );
    let kb = (
        b.quality.clock_class,
        b.quality.clock_accuracy,
        b.quality.offset_scaled_log_variance,
        b.priority2,
        b.local_priority,
    );
    if let Some(c) = ord_to_cmp(ka.cmp(&kb)) {
        return c;
    }
    if a.quality.clock_class <= 127 || a.identity == b.identity {
        return compare_topology(a, b);
    }
    ord_to_cmp(a.identity.cmp(&b.identity)).unwrap_or(Comparison::Same)
}

/// Data set comparison [1588-2008 9.3.4, figure 27; lower values win].
pub fn compare(a: &Dataset, b: &Dataset) -> Comparison {
    if a.identity != b.identity {
        let ka = (
            a.priority1,
            a.quality.clock_class,
            a.quality.clock_accuracy,
            a.quality.offset_scaled_log_variance,
            a.priority2,
            a.identity,
        );
        let kb = (
            b.priority1,
            b.quality.clock_class,
            b.quality.clock_accuracy,
            b.quality.offset_scaled_log_variance,
            b.priority2,
            b.identity,
        );
        return ord_to_cmp(ka.cmp(&kb)).unwrap_or(Comparison::Same);
    }
    compare_topology(a, b)
}

/// Figure 28: same grandmaster, decide by stepsRemoved and port identities.
fn compare_topology(a: &Dataset, b: &Dataset) -> Comparison {
    let (sa, sb) = (u32::from(a.steps_removed), u32::from(b.steps_removed));
    if sa + 1 < sb {
        return Comparison::ABetter;
    }
    if sb + 1 < sa {
        return Comparison::BBetter;
    }
    match sa.cmp(&sb) {
        Ordering::Less => match b.receiver.cmp(&b.sender) {
            // B's receiver identity below its sender: B came through us... A better.
            Ordering::Less => Comparison::ABetter,
            Ordering::Greater => Comparison::ABetterByTopology,
            Ordering::Equal => Comparison::Same,
        },
        Ordering::Greater => match a.receiver.cmp(&a.sender) {
            Ordering::Less => Comparison::BBetter,
            Ordering::Greater => Comparison::BBetterByTopology,
            Ordering::Equal => Comparison::Same,
        },
        Ordering::Equal => match a.sender.cmp(&b.sender) {
            Ordering::Less => Comparison::ABetterByTopology,
            Ordering::Greater => Comparison::BBetterByTopology,
            Ordering::Equal => match a.receiver.port_number.cmp(&b.receiver.port_number) {
                Ordering::Less => Comparison::ABetterByTopology,
                Ordering::Greater => Comparison::BBetterByTopology,
                Ordering::Equal => Comparison::Same,
            },
        },
    }
}

/// Recommended state of a port [1588-2008 9.3.3, figure 26].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recommendation {
    /// M1: local clock is class 1..127 and better than Erbest.
    M1,
    /// M2: local clock better than Ebest.
    M2,
    /// M3: another port has the best master, and this port's Erbest is not better by topology.
    M3,
    /// P1: local clock is class 1..127 but Erbest is better.
    P1,
    /// P2: Ebest is better than Erbest by topology (loop avoidance).
    P2,
    /// S1: this port received Ebest.
    S1,
    /// Stay LISTENING (no Erbest and the announce receipt timeout has not fired).
    Listening,
}

/// State decision for one port with the given algorithm. With [`Algorithm::G8275`] a port
/// whose `not_slave` is set (G.8275.1 portDS.notSlave, "master-only") never becomes SLAVE or
/// PASSIVE: its Erbest must already be left out of Ebest by the caller, and it is treated as
/// having none (so it leaves LISTENING at the announce receipt timeout, as a master).
/// `not_slave` is ignored by the 1588 algorithm.
pub fn state_decision_with(
    alg: Algorithm,
    d0: &Dataset,
    erbest: Option<&Dataset>,
    ebest: Option<&Dataset>,
    ebest_is_this_port: bool,
    listening_without_master: bool,
    not_slave: bool,
) -> Recommendation {
    let not_slave = not_slave && alg == Algorithm::G8275;
    let erbest = if not_slave { None } else { erbest };
    let ebest_is_this_port = ebest_is_this_port && !not_slave;
    if erbest.is_none() && listening_without_master {
        return Recommendation::Listening;
    }
    let better = |a: &Dataset, b: &Dataset| compare_with(alg, a, b);
    if (1..=127).contains(&d0.quality.clock_class) {
        return match erbest {
            Some(e) if !better(d0, e).a_better() => Recommendation::P1,
            _ => Recommendation::M1,
        };
    }
    let Some(eb) = ebest else {
        return Recommendation::M2;
    };
    if better(d0, eb).a_better() {
        return Recommendation::M2;
    }
    if ebest_is_this_port {
        return Recommendation::S1;
    }
    match erbest {
        Some(er) if better(eb, er) == Comparison::ABetterByTopology => Recommendation::P2,
        _ => Recommendation::M3,
    }
}

/// State decision for one port. `erbest`: best qualified foreign master on this port;
/// `ebest`: best over all ports, with `ebest_is_this_port` telling whether it is this port's.
/// `listening_without_master`: port is LISTENING and its announce receipt timer has not expired.
pub fn state_decision(
    d0: &Dataset,
    erbest: Option<&Dataset>,
    ebest: Option<&Dataset>,
    ebest_is_this_port: bool,
    listening_without_master: bool,
) -> Recommendation {
    state_decision_with(
        Algorithm::Ieee1588,
        d0,
        erbest,
        ebest,
        ebest_is_this_port,
        listening_without_master,
        false,
    )
}
