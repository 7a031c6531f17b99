//! `tour`: both ends of every implemented protocol, in memory, printed as a ladder, pcaps written.
//!
//! ```text
//! cargo run --release -p examples --bin tour -- [--only gre,ppp] [--loss 0.1] [--seed 7] [--out DIR] [--list]
//! ```

use std::io::Write as _;
use std::process::ExitCode;

/// `println!` that never panics: when stdout is closed early (`tour | head`), the tour keeps
/// going quietly instead of crashing on a broken pipe.
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

use examples::tour::{render_ladder, summary_row, Opts, SCENARIOS};

fn usage() -> &'static str {
    "usage: tour [--only NAME[,NAME..]] [--loss P] [--seed N] [--out DIR] [--list]"
}

fn main() -> ExitCode {
    let mut opts = Opts::default();
    let mut only: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{}", usage()))
        };
        let r: Result<(), String> = (|| {
            match a.as_str() {
                "--only" => only = Some(val("--only")?.split(',').map(str::to_string).collect()),
                "--loss" => {
                    opts.loss = val("--loss")?.parse().map_err(|e| format!("--loss: {e}"))?;
                    if !(0.0..=1.0).contains(&opts.loss) {
                        return Err("--loss must be within 0..=1".into());
                    }
                }
                "--seed" => {
                    opts.seed = val("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?
                }
                "--out" => opts.out_dir = val("--out")?.into(),
                "--list" => {
                    for s in SCENARIOS {
                        out!("{:<10} {}", s.name, s.title);
                    }
                    std::process::exit(0);
                }
                "-h" | "--help" => {
                    out!("{}", usage());
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other}\n{}", usage())),
            }
            Ok(())
        })();
        if let Err(e) = r {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    if let Some(only) = &only {
        for n in only {
            if !SCENARIOS.iter().any(|s| s.name == n) {
                eprintln!("unknown protocol {n}; --list shows them");
                return ExitCode::from(2);
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(&opts.out_dir) {
        eprintln!("cannot create {}: {e}", opts.out_dir.display());
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
                            eprintln!("cannot write {}: {e}", path.display());
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
