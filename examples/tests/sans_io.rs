//! The sans-IO check: a protocol crate's non-test code must not read a clock, sleep, spawn
//! threads, open sockets or files, read the OS random source, or use `unsafe`.
//!
//! Scans `<crate>/src/**/*.rs` of every protocol crate; code after a file's first `#[cfg(test)]`
//! is test code and exempt (unit tests may create a base `Instant`). `examples/` and `fuzz/` are
//! exempt: that is where I/O lives.

use std::path::{Path, PathBuf};

const CRATES: &[&str] = &[
    "ppp",
    "l2tp",
    "pptp",
    "pppoe",
    "sstp",
    "ovpn",
    "wireguard",
    "ipsec-ike",
    "gre-family",
    "ptp",
    "zerotier",
];

const FORBIDDEN: &[(&str, &str)] = &[
    ("Instant::now", "reads the clock"),
    ("SystemTime::now", "reads the clock"),
    ("UNIX_EPOCH.elapsed", "reads the clock"),
    ("thread::sleep", "sleeps"),
    ("thread::spawn", "spawns a thread"),
    ("std::thread", "uses threads"),
    ("std::net::UdpSocket", "opens a socket"),
    ("UdpSocket", "opens a socket"),
    ("TcpStream", "opens a socket"),
    ("TcpListener", "opens a socket"),
    ("std::fs", "touches files"),
    ("File::open", "touches files"),
    ("File::create", "touches files"),
    ("std::process", "spawns processes"),
    ("OsRng", "reads the OS random source"),
    ("thread_rng", "reads the OS random source"),
    ("getrandom", "reads the OS random source"),
    ("from_entropy", "reads the OS random source"),
    ("tokio::", "uses an async runtime"),
    ("async fn", "uses async I/O"),
    ("unsafe {", "uses unsafe"),
    ("unsafe fn", "uses unsafe"),
];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Violations in one file's text: (line number, pattern, why).
fn violations(text: &str) -> Vec<(usize, &'static str, &'static str)> {
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.contains("#[cfg(test)]") {
            break;
        }
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        for (pat, why) in FORBIDDEN {
            if line.contains(pat) {
                v.push((i + 1, *pat, *why));
            }
        }
    }
    v
}

#[test]
fn checker_catches_what_it_must() {
    assert_eq!(violations("let t = std::time::Instant::now();").len(), 1);
    assert_eq!(violations("// Instant::now is forbidden").len(), 0);
    assert_eq!(
        violations("fn a() {}\n#[cfg(test)]\nfn b() { Instant::now(); }").len(),
        0
    );
    assert!(!violations("let s = std::net::UdpSocket::bind(x);").is_empty());
    assert!(!violations("let mut r = rand::rngs::OsRng;").is_empty());
}

#[test]
fn protocol_crates_are_sans_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut report = Vec::new();
    let mut scanned = 0;
    for c in CRATES {
        let mut files = Vec::new();
        rs_files(&root.join(c).join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            scanned += 1;
            for (line, pat, why) in violations(&text) {
                report.push(format!("{}:{line}: `{pat}` {why}", f.display()));
            }
        }
    }
    assert!(
        scanned > 0,
        "no protocol crate sources found under {}",
        root.display()
    );
    assert!(
        report.is_empty(),
        "sans-IO contract broken (see ARCHITECTURE.md):\n{}",
        report.join("\n")
    );
}

/// The public enums a caller matches on (events, inputs, drop and down reasons, errors) that
/// lack `#[non_exhaustive]` in one file's text, by name.
fn exhaustive_public_enums(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut v = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.contains("#[cfg(test)]") {
            break;
        }
        let Some(rest) = line.strip_prefix("pub enum ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let matched = name.ends_with("Event")
            || name.ends_with("Error")
            || name.ends_with("Reason")
            || name.contains("Drop")
            || name == "Input";
        if !matched {
            continue;
        }
        // The attributes and doc lines directly above the item.
        let marked = lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with("#[") || l.starts_with("///"))
            .any(|l| l.contains("non_exhaustive"));
        if !marked {
            v.push(name);
        }
    }
    v
}

#[test]
fn stability_checker_catches_what_it_must() {
    assert_eq!(
        exhaustive_public_enums("/// Events.\n#[derive(Debug)]\npub enum Event {\n A,\n}"),
        vec!["Event".to_string()]
    );
    assert!(exhaustive_public_enums(
        "/// Events.\n#[derive(Debug)]\n#[non_exhaustive]\npub enum DropReason {\n A,\n}"
    )
    .is_empty());
    assert!(exhaustive_public_enums("pub enum Mode {\n A,\n}").is_empty());
}

/// ARCHITECTURE.md's semver promise: adding a variant to an event, input, drop/down reason or
/// error enum is not a breaking change, because every one of them is `#[non_exhaustive]`.
#[test]
fn caller_matched_enums_are_non_exhaustive() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut report = Vec::new();
    for c in CRATES {
        let mut files = Vec::new();
        rs_files(&root.join(c).join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for name in exhaustive_public_enums(&text) {
                report.push(format!("{}: `pub enum {name}`", f.display()));
            }
        }
    }
    assert!(
        report.is_empty(),
        "enums without #[non_exhaustive] (ARCHITECTURE.md, semver):\n{}",
        report.join("\n")
    );
}
