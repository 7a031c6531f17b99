//! `tour`: both ends of every implemented protocol, in memory, printed as a ladder, pcaps written.
//!
//! ```text
//! cargo run --release -p examples --bin tour -- [--only gre,ppp] [--loss 0.1] [--seed 7] [--out DIR] [--list]
//! cargo run -p examples --bin tour -- --help
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing::error;

/// `println!` that never panics: when stdout is closed early (`tour | head`), the tour keeps
/// going quietly instead of crashing on a broken pipe.
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

use examples::tour::{render_ladder, summary_row, Opts, SCENARIOS};

/// Both ends of every implemented protocol, in memory over a simulated link: each exchange is
/// printed as a ladder, a summary table closes the run, and every scenario's frames are
/// written as pcaps (readable by Wireshark/tshark).
///
/// No root, sockets or peers needed. Exit status 1 when a pcap cannot be written.
#[derive(Parser, Debug)]
#[command(name = "tour", version)]
struct Args {
    /// Run only these scenarios (comma-separated names, see --list). Default: all.
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME..]")]
    only: Option<Vec<String>>,
    /// Loss probability of the simulated link, each direction, within 0..=1.
    #[arg(long, default_value_t = 0.0, value_parser = parse_loss, value_name = "P")]
    loss: f64,
    /// Seed of the link impairments and of every injected random source.
    #[arg(long, default_value_t = 1, value_name = "N")]
    seed: u64,
    /// Folder the pcaps are written to (created if missing).
    #[arg(long, default_value = "tour-out", value_name = "DIR")]
    out: PathBuf,
    /// List the scenarios (name and title) and exit (default: run them).
    #[arg(long)]
    list: bool,
}

fn parse_loss(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err("must be within 0..=1".into())
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    examples::logging::init();
    if args.list {
        for s in SCENARIOS {
            out!("{:<10} {}", s.name, s.title);
        }
        return ExitCode::SUCCESS;
    }
    let opts = Opts {
        loss: args.loss,
        seed: args.seed,
        out_dir: args.out,
    };
    let only = args.only;
    if let Some(only) = &only {
        for n in only {
            if !SCENARIOS.iter().any(|s| s.name == n) {
                let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                error!(
                    "unknown protocol {n} for --only; possible values: {}",
                    names.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(&opts.out_dir) {
        error!("cannot create {}: {e}", opts.out_dir.display());
        return ExitCode::from(1);
    }
    out!(
        "tour: every implemented protocol, both ends in memory over a simulated link (loss {:.0}%, seed {}), pcaps in {}",
        opts.loss * 100.0,
        opts.seed,
        opts.out_dir.display()
    );
    let mut rows = Vec::new();
    let mut failed = false;
    for s in SCENARIOS {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == s.name))
        {
            continue;
        }
        out!("\n=== {} ===", s.title);
        let result = (s.run)(&opts);
        match &result {
            Ok(report) => {
                let _ = write!(std::io::stdout().lock(), "{}", render_ladder(report));
                let mut files = Vec::new();
                for p in &report.pcaps {
                    let path = opts.out_dir.join(&p.file);
                    let img = netsim::pcap::to_bytes(p.linktype, &p.frames);
                    match std::fs::write(&path, img) {
                        Ok(()) => files.push(path.display().to_string()),
                        Err(e) => {
                            error!("cannot write {}: {e}", path.display());
                            failed = true;
                        }
                    }
                }
                if !files.is_empty() {
                    out!("  pcap: {}", files.join(", "));
                }
            }
            Err(e) => out!("  stopped: {e}"),
        }
        rows.push(summary_row(s.name, &result));
    }
    out!("\n=== summary ===");
    out!(
        "  {:<10} {:>9} {:>10} {:>12}",
        "protocol",
        "messages",
        "bytes",
        "time to up"
    );
    for r in rows {
        out!(
            "  {:<10} {:>9} {:>10} {:>12}",
            r.name,
            r.messages,
            r.bytes,
            r.time_to_up
        );
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
