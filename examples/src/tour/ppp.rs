//! Tour scenario for the `ppp` crate.

use super::{Opts, Report};

/// Run the scenario.
pub fn run(_opts: &Opts) -> Result<Report, String> {
    Err("not implemented yet".to_string())
}
