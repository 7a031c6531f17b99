//! The whole tour, in process, over a grid of loss rates and seeds (issue #25): no scenario may
//! panic, every scenario yields a summary row, and at loss <= 30 % every protocol comes up.
//! Virtual time makes this fast enough for the normal test run (about a second in release).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use examples::tour::{summary_row, Opts, SCENARIOS};

const LOSSES: [f64; 5] = [0.0, 0.1, 0.3, 0.5, 0.7];
const SEEDS: u64 = 20;

#[test]
fn tour_never_panics_and_comes_up_at_moderate_loss() {
    let mut failures = Vec::new();
    let mut runs = 0;
    for loss in LOSSES {
        for seed in 1..=SEEDS {
            let opts = Opts {
                loss,
                seed,
                out_dir: std::env::temp_dir(),
            };
            for s in SCENARIOS {
                runs += 1;
                let outcome = catch_unwind(AssertUnwindSafe(|| (s.run)(&opts)));
                let result = match outcome {
                    Ok(r) => r,
                    Err(p) => {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures.push(format!("{} loss {loss} seed {seed}: PANIC {msg}", s.name));
                        continue;
                    }
                };
                let row = summary_row(s.name, &result);
                assert_eq!(row.name, s.name);
                if loss <= 0.3 {
                    match &result {
                        Ok(r) if r.time_to_up.is_some() => {}
                        Ok(_) => failures
                            .push(format!("{} loss {loss} seed {seed}: never came up", s.name)),
                        Err(e) => failures.push(format!("{} loss {loss} seed {seed}: {e}", s.name)),
                    }
                }
            }
        }
    }
    assert_eq!(runs, LOSSES.len() * SEEDS as usize * SCENARIOS.len());
    assert!(
        failures.is_empty(),
        "{} of {runs} scenario runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
