//! `tour`: both ends of every implemented protocol, in memory, printed as a ladder, pcaps written.
//!
//! ```text
//! cargo run --release -p examples --bin tour -- [--only gre,ppp] [--loss 0.1] [--seed 7] [--out DIR] [--list]
//! ```

use std::process::ExitCode;

use examples::tour::{render_ladder, Opts, SCENARIOS};

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
                        println!("{:<10} {}", s.name, s.title);
                    }
                    std::process::exit(0);
                }
                "-h" | "--help" => {
                    println!("{}", usage());
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
    println!(
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
        println!("\n=== {} ===", s.title);
        match (s.run)(&opts) {
            Ok(report) => {
                print!("{}", render_ladder(&report));
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
                    println!("  pcap: {}", files.join(", "));
                }
                rows.push((
                    s.name,
                    report.messages.to_string(),
                    report.bytes.to_string(),
                    report
                        .time_to_up
                        .map(|d| format!("{:.3}s", d.as_secs_f64()))
                        .unwrap_or_else(|| "never".into()),
                ));
            }
            Err(e) => {
                println!("  skipped: {e}");
                rows.push((s.name, "-".into(), "-".into(), format!("({e})")));
            }
        }
    }
    println!("\n=== summary ===");
    println!(
        "  {:<10} {:>9} {:>10} {:>12}",
        "protocol", "messages", "bytes", "time to up"
    );
    for (n, m, b, t) in rows {
        println!("  {n:<10} {m:>9} {b:>10} {t:>12}");
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
