//! Table-driven BMCA tests: data set comparison (1588-2008 figures 27/28) and the state
//! decision algorithm (figure 26), including the topology rules.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_arguments,
    clippy::type_complexity,
    missing_docs
)]

use ptp::bmca::{
    compare, compare_g8275, compare_with, state_decision, state_decision_with, Algorithm,
    Comparison, Dataset, Recommendation,
};
use ptp::wire::{ClockIdentity, ClockQuality, PortIdentity};

fn cid(n: u8) -> ClockIdentity {
    ClockIdentity([0, 0, 0, 0xFF, 0xFE, 0, 0, n])
}

fn pid(n: u8, port: u16) -> PortIdentity {
    PortIdentity {
        clock_identity: cid(n),
        port_number: port,
    }
}

fn ds(
    gm: u8,
    p1: u8,
    class: u8,
    acc: u8,
    var: u16,
    p2: u8,
    steps: u16,
    sender: PortIdentity,
    receiver: PortIdentity,
) -> Dataset {
    Dataset {
        priority1: p1,
        identity: cid(gm),
        quality: ClockQuality {
            clock_class: class,
            clock_accuracy: acc,
            offset_scaled_log_variance: var,
        },
        priority2: p2,
        steps_removed: steps,
        sender,
        receiver,
        local_priority: 128,
    }
}

fn base(gm: u8) -> Dataset {
    ds(gm, 128, 248, 0xFE, 0xFFFF, 128, 0, pid(gm, 1), pid(9, 1))
}

#[test]
fn comparison_table() {
    use Comparison::*;
    let b = base(2);
    let cases: Vec<(&str, Dataset, Dataset, Comparison)> = vec![
        (
            "priority1 lower wins",
            Dataset {
                priority1: 100,
                ..base(3)
            },
            b,
            ABetter,
        ),
        (
            "priority1 higher loses",
            Dataset {
                priority1: 200,
                ..base(1)
            },
            b,
            BBetter,
        ),
        (
            "clockClass",
            Dataset {
                quality: ClockQuality {
                    clock_class: 6,
                    ..b.quality
                },
                ..base(3)
            },
            b,
            ABetter,
        ),
        (
            "clockAccuracy",
            Dataset {
                quality: ClockQuality {
                    clock_accuracy: 0x21,
                    ..b.quality
                },
                ..base(3)
            },
            b,
            ABetter,
        ),
        (
            "variance",
            Dataset {
                quality: ClockQuality {
                    offset_scaled_log_variance: 0x4E5D,
                    ..b.quality
                },
                ..base(3)
            },
            b,
            ABetter,
        ),
        (
            "priority2",
            Dataset {
                priority2: 127,
                ..base(3)
            },
            b,
            ABetter,
        ),
        ("identity tie-break", base(1), b, ABetter),
        ("identity tie-break (b lower)", base(3), b, BBetter),
        (
            "priority1 beats class",
            Dataset {
                priority1: 127,
                quality: ClockQuality {
                    clock_class: 255,
                    ..b.quality
                },
                ..base(3)
            },
            b,
            ABetter,
        ),
        // Same grandmaster: topology.
        (
            "steps differ by 2",
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 3, pid(7, 1), pid(9, 2)),
            ABetter,
        ),
        (
            "steps differ by 2 (b)",
            ds(5, 1, 1, 1, 1, 1, 4, pid(6, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 2, pid(7, 1), pid(9, 2)),
            BBetter,
        ),
        // Steps differ by one: A fewer; B's receiver vs B's sender decides.
        (
            "steps +1, B receiver < sender",
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 2, pid(7, 1), pid(3, 1)),
            ABetter,
        ),
        (
            "steps +1, B receiver > sender",
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 2, pid(7, 1), pid(8, 1)),
            ABetterByTopology,
        ),
        (
            "steps +1, B receiver == sender (error-1)",
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 2, pid(7, 1), pid(7, 1)),
            Same,
        ),
        (
            "steps -1, A receiver < sender",
            ds(5, 1, 1, 1, 1, 1, 2, pid(7, 1), pid(3, 1)),
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            BBetter,
        ),
        (
            "steps -1, A receiver > sender",
            ds(5, 1, 1, 1, 1, 1, 2, pid(7, 1), pid(8, 1)),
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            BBetterByTopology,
        ),
        // Equal steps: sender identity, then receiver port number.
        (
            "equal steps, lower sender",
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 1, pid(7, 1), pid(9, 2)),
            ABetterByTopology,
        ),
        (
            "equal steps, higher sender",
            ds(5, 1, 1, 1, 1, 1, 1, pid(7, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 2)),
            BBetterByTopology,
        ),
        (
            "equal steps, sender port number",
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 2), pid(9, 1)),
            ABetterByTopology,
        ),
        (
            "same sender, receiver port lower",
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 2)),
            ABetterByTopology,
        ),
        (
            "same sender, receiver port higher",
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 3)),
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 2)),
            BBetterByTopology,
        ),
        (
            "identical (error-2)",
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            ds(5, 1, 1, 1, 1, 1, 1, pid(6, 1), pid(9, 1)),
            Same,
        ),
    ];
    for (name, a, b, want) in cases {
        assert_eq!(compare(&a, &b), want, "{name}");
        // Antisymmetry.
        let back = match want {
            ABetter => BBetter,
            BBetter => ABetter,
            ABetterByTopology => BBetterByTopology,
            BBetterByTopology => ABetterByTopology,
            Same => Same,
        };
        assert_eq!(compare(&b, &a), back, "{name} (swapped)");
    }
}

#[test]
fn seed_lower_priority1_wins() {
    // Seed L133-145: a slave with priority1 246 (802.1as auto) follows a GM advertising 100.
    let me = Dataset::local(
        ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAD, 0xC7]),
        246,
        ClockQuality::default(),
        248,
    );
    let gm_id = ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAE, 0xC3]);
    let gm = Dataset {
        priority1: 100,
        identity: gm_id,
        quality: ClockQuality::default(),
        priority2: 248,
        steps_removed: 0,
        sender: PortIdentity {
            clock_identity: gm_id,
            port_number: 1,
        },
        receiver: PortIdentity {
            clock_identity: me.identity,
            port_number: 1,
        },
        local_priority: 128,
    };
    assert_eq!(compare(&gm, &me), Comparison::ABetter);
    assert_eq!(
        state_decision(&me, Some(&gm), Some(&gm), true, false),
        Recommendation::S1
    );
}

#[test]
fn state_decision_table() {
    use Recommendation::*;
    let d0 = Dataset::local(cid(50), 128, ClockQuality::default(), 128);
    let d0_class6 = Dataset::local(
        cid(50),
        128,
        ClockQuality {
            clock_class: 6,
            ..ClockQuality::default()
        },
        128,
    );
    let better = |gm: u8, port: u16| Dataset {
        priority1: 10,
        ..ds(gm, 10, 248, 0xFE, 0xFFFF, 128, 0, pid(gm, 1), pid(50, port))
    };
    let worse = |gm: u8, port: u16| Dataset {
        priority1: 200,
        ..ds(
            gm,
            200,
            248,
            0xFE,
            0xFFFF,
            128,
            0,
            pid(gm, 1),
            pid(50, port),
        )
    };
    let e1 = better(1, 1);
    let e2 = better(2, 2);
    let w = worse(3, 1);
    // Same GM heard on port 2 via a different sender with equal steps (loop): topology.
    let e1_via_port2 = Dataset {
        sender: pid(7, 1),
        receiver: pid(50, 2),
        ..e1
    };
    let cases: Vec<(
        &str,
        Dataset,
        Option<Dataset>,
        Option<Dataset>,
        bool,
        bool,
        Recommendation,
    )> = vec![
        (
            "no master heard, still listening",
            d0,
            None,
            None,
            false,
            true,
            Listening,
        ),
        (
            "no master heard, timeout expired",
            d0,
            None,
            None,
            false,
            false,
            M2,
        ),
        (
            "class 6 GM beats worse Erbest",
            d0_class6,
            Some(w),
            Some(w),
            true,
            false,
            M1,
        ),
        (
            "class 6 GM with better Erbest",
            d0_class6,
            Some(e1),
            Some(e1),
            true,
            false,
            P1,
        ),
        (
            "class 6 GM, nothing heard",
            d0_class6,
            None,
            None,
            false,
            false,
            M1,
        ),
        (
            "D0 better than Ebest",
            d0,
            Some(w),
            Some(w),
            true,
            false,
            M2,
        ),
        (
            "Ebest on this port",
            d0,
            Some(e1),
            Some(e1),
            true,
            false,
            S1,
        ),
        (
            "Ebest elsewhere, nothing here",
            d0,
            None,
            Some(e1),
            false,
            false,
            M3,
        ),
        (
            "Ebest elsewhere, worse here",
            d0,
            Some(w),
            Some(e1),
            false,
            false,
            M3,
        ),
        (
            "Ebest elsewhere, other better GM here",
            d0,
            Some(e2),
            Some(e1),
            false,
            false,
            M3,
        ),
        (
            "Ebest better by topology than Erbest",
            d0,
            Some(e1_via_port2),
            Some(e1),
            false,
            false,
            P2,
        ),
    ];
    for (name, d0, er, eb, this, listening, want) in cases {
        assert_eq!(
            state_decision(&d0, er.as_ref(), eb.as_ref(), this, listening),
            want,
            "{name}"
        );
    }
}

fn class(d: Dataset, c: u8) -> Dataset {
    Dataset {
        quality: ClockQuality {
            clock_class: c,
            ..d.quality
        },
        ..d
    }
}

/// ITU-T G.8275.1 6.3 alternate BMCA data set comparison.
#[test]
fn g8275_comparison_table() {
    use Comparison::*;
    let b = class(base(2), 6);
    let cases: Vec<(&str, Dataset, Dataset, Comparison)> = vec![
        (
            "priority1 is not used",
            Dataset {
                priority1: 1,
                ..class(base(3), 6)
            },
            b,
            BBetterByTopology,
        ),
        (
            "clockClass first",
            class(base(3), 6),
            class(base(1), 7),
            ABetter,
        ),
        (
            "clockAccuracy",
            Dataset {
                quality: ClockQuality {
                    clock_accuracy: 0x21,
                    ..b.quality
                },
                ..class(base(3), 6)
            },
            b,
            ABetter,
        ),
        (
            "offsetScaledLogVariance",
            Dataset {
                quality: ClockQuality {
                    offset_scaled_log_variance: 0x4E5D,
                    ..b.quality
                },
                ..class(base(3), 6)
            },
            b,
            ABetter,
        ),
        (
            "priority2",
            Dataset {
                priority2: 127,
                ..class(base(3), 6)
            },
            b,
            ABetter,
        ),
        (
            "localPriority before identity",
            class(base(3), 6).with_local_priority(100),
            b,
            ABetter,
        ),
        (
            "localPriority higher loses",
            class(base(1), 6).with_local_priority(200),
            b,
            BBetter,
        ),
        (
            "class <= 127: no identity tie-break, port identities decide",
            Dataset {
                sender: pid(9, 1),
                ..class(base(1), 6)
            },
            Dataset {
                sender: pid(2, 1),
                ..b
            },
            BBetterByTopology,
        ),
        (
            "class <= 127: fewer steps beat a lower identity",
            Dataset {
                steps_removed: 5,
                ..class(base(1), 6)
            },
            Dataset {
                steps_removed: 1,
                ..b
            },
            BBetter,
        ),
        (
            "class > 127: identity before stepsRemoved",
            Dataset {
                steps_removed: 3,
                ..class(base(1), 165)
            },
            Dataset {
                steps_removed: 0,
                ..class(base(2), 165)
            },
            ABetter,
        ),
        (
            "class > 127, same grandmaster: topology",
            Dataset {
                steps_removed: 0,
                ..class(base(2), 165)
            },
            Dataset {
                steps_removed: 2,
                ..class(base(2), 165)
            },
            ABetter,
        ),
        (
            "same grandmaster: 1588 topology (two steps fewer)",
            Dataset {
                steps_removed: 1,
                ..b
            },
            Dataset {
                steps_removed: 3,
                ..b
            },
            ABetter,
        ),
        ("same data set", b, b, Same),
    ];
    for (name, a, bb, want) in cases {
        assert_eq!(compare_g8275(&a, &bb), want, "{name}");
        assert_eq!(
            compare_with(Algorithm::G8275, &a, &bb),
            want,
            "{name} (compare_with)"
        );
    }
    // The 1588 comparison on the first case: priority1 decides there.
    let a = Dataset {
        priority1: 1,
        ..class(base(3), 6)
    };
    assert_eq!(compare_with(Algorithm::Ieee1588, &a, &b), ABetter);
}

/// G.8275.1 state decision: localPriority picks the port, notSlave ports never become SLAVE.
#[test]
fn g8275_state_decision_table() {
    use Recommendation::*;
    let d0 = class(
        Dataset::local(cid(50), 128, ClockQuality::default(), 128),
        248,
    );
    // The same grandmaster heard on two ports; port 2 has the better localPriority.
    let on = |port: u16, lp: u8| {
        class(
            ds(
                1,
                128,
                248,
                0xFE,
                0xFFFF,
                128,
                0,
                pid(1, port),
                pid(50, port),
            ),
            6,
        )
        .with_local_priority(lp)
    };
    let (e1, e2) = (on(1, 128), on(2, 10));
    let alg = Algorithm::G8275;
    assert_eq!(compare_with(alg, &e2, &e1), Comparison::ABetter);
    // Ebest = e2 (port 2).
    let cases = [
        ("port with Ebest", Some(e2), true, false, S1),
        ("other port, same gm", Some(e1), false, false, M3),
        ("notSlave port holding Ebest", Some(e2), true, true, M3),
        ("notSlave port, nothing heard", None, false, true, M3),
    ];
    for (name, erbest, is_this, not_slave, want) in cases {
        let got = state_decision_with(
            alg,
            &d0,
            erbest.as_ref(),
            Some(&e2),
            is_this,
            false,
            not_slave,
        );
        assert_eq!(got, want, "{name}");
    }
    // notSlave is a G.8275.1 attribute: the 1588 algorithm ignores it.
    assert_eq!(
        state_decision_with(
            Algorithm::Ieee1588,
            &d0,
            Some(&e2),
            Some(&e2),
            true,
            false,
            true
        ),
        S1
    );
    // Still LISTENING until the announce receipt timeout.
    assert_eq!(
        state_decision_with(alg, &d0, None, None, false, true, true),
        Listening
    );
    assert_eq!(
        state_decision_with(alg, &d0, None, None, false, false, true),
        M2
    );
}
