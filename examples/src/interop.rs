//! Helpers for interop tests against real third-party peers (run as root, in network
//! namespaces the test creates itself).
//!
//! Policy (DEVELOPERS.md): with `CI=true` a peer that cannot start is a failure; elsewhere the
//! test skips loudly (a banner on stderr), never silently passes. Use [`peer_available`] at the top
//! of every interop test:
//!
//! ```no_run
//! # fn check() -> Result<(), String> { Ok(()) }
//! if !examples::interop::peer_available("wireguard-go", check()) {
//!     return; // loud skip already printed (never reached with CI=true: it panics)
//! }
//! ```
//!
//! Network rule: only loopback and namespaces/veth/tap links the test creates; no default route.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `true` when running under CI (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// `true` when the effective user is root.
pub fn is_root() -> bool {
    // SAFETY-free: read /proc instead of calling geteuid through libc.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Decide whether an interop test can run. `check` says whether the peer (and root) is there.
/// Returns `true` to go on. Without the peer: panics under CI, prints a loud SKIP banner elsewhere.
pub fn peer_available(peer: &str, check: Result<(), String>) -> bool {
    let check = if is_root() {
        check
    } else {
        Err("not running as root (namespaces need root)".to_string())
    };
    match check {
        Ok(()) => true,
        Err(why) => {
            if in_ci() {
                panic!("interop peer {peer} unavailable under CI=true: {why}");
            }
            // Straight to the process's stderr, not through `eprintln!`: the test harness
            // captures the macros' output of passing tests, and a skip must be seen.
            use std::io::Write as _;
            let _ = write!(
                std::io::stderr(),
                "\n************************************************************\n\
                 *** SKIPPED interop test: peer {peer} unavailable: {why}\n\
                 *** (with CI=true this is a failure)\n\
                 ************************************************************\n\n"
            );
            false
        }
    }
}

/// `Ok` if `prog` is on PATH (or an absolute path that exists).
pub fn have_program(prog: &str) -> Result<(), String> {
    if Path::new(prog).is_absolute() {
        return if Path::new(prog).exists() {
            Ok(())
        } else {
            Err(format!("{prog} not found"))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        if dir.join(prog).is_file() {
            return Ok(());
        }
    }
    Err(format!("{prog} not on PATH (installed by .ci/run)"))
}

/// `Ok` if every program in `tools` is on PATH, else `Err` naming the missing ones. Feed it to
/// [`peer_available`] (alone or chained with the peer's own check), so a missing tool (`ping`,
/// `ip`, `tcpdump`, ...) is a loud skip, and a failure only with `CI=true`.
pub fn require_tools(tools: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| have_program(t).is_err())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "missing tool(s): {} (the crate's .ci/deps/*.sh installs them)",
            missing.join(", ")
        ))
    }
}

/// Run a command, returning its output; `Err` with stderr when it fails.
pub fn run(cmd: &str, args: &[&str]) -> Result<Output, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{cmd} {:?} failed ({}): {}",
            args,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Run a shell snippet with `bash -c`.
pub fn sh(script: &str) -> Result<Output, String> {
    run("bash", &["-c", script])
}

/// A network namespace that is deleted (with every process in it killed by PID) on drop.
pub struct Netns {
    /// Its name.
    pub name: String,
}

impl Netns {
    /// Create (re-create) a namespace with `lo` up.
    pub fn new(name: &str) -> Result<Netns, String> {
        let _ = kill_netns_pids(name);
        let _ = run("ip", &["netns", "del", name]);
        run("ip", &["netns", "add", name])?;
        run("ip", &["-n", name, "link", "set", "lo", "up"])?;
        Ok(Netns {
            name: name.to_string(),
        })
    }

    /// Run a command inside the namespace and wait for it.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Result<Output, String> {
        let mut a = vec!["netns", "exec", &self.name, cmd];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    /// Add the addresses `net.N/len` for every `N` in `hosts` to `dev` (one `ip -batch` run),
    /// e.g. the many source addresses of a flood test.
    pub fn add_addresses(
        &self,
        dev: &str,
        net: &str,
        hosts: std::ops::Range<u8>,
        len: u8,
    ) -> Result<(), String> {
        let batch: String = hosts
            .map(|h| format!("addr add {net}.{h}/{len} dev {dev}\n"))
            .collect();
        let path = std::env::temp_dir().join(format!("{}-addrs.batch", self.name));
        std::fs::write(&path, batch).map_err(|e| format!("{}: {e}", path.display()))?;
        let r = self.exec("ip", &["-batch", &path.to_string_lossy()]);
        let _ = std::fs::remove_file(&path);
        r.map(|_| ())
    }

    /// Start a long-running command inside the namespace (stdout/stderr to `log`).
    pub fn spawn(&self, cmd: &str, args: &[&str], log: &Path) -> Result<Proc, String> {
        let f = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let f2 = f.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name, cmd])
            .args(args)
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .map_err(|e| format!("{cmd}: {e}"))?;
        Ok(Proc {
            child,
            log: log.to_path_buf(),
        })
    }
}

impl Netns {
    /// [`Netns::spawn`] with owned arguments (built up with `format!`).
    pub fn spawn_args(&self, cmd: &str, args: &[String], log: &Path) -> Result<Proc, String> {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        self.spawn(cmd, &a, log)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = kill_netns_pids(&self.name);
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

fn kill_netns_pids(name: &str) -> Result<(), String> {
    let out = run("ip", &["netns", "pids", name])?;
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let _ = run("kill", &["-TERM", pid]);
    }
    Ok(())
}

/// Connect two namespaces with a veth pair and give each end an address (CIDR form).
pub fn veth(
    a: &Netns,
    a_if: &str,
    a_addr: &str,
    b: &Netns,
    b_if: &str,
    b_addr: &str,
) -> Result<(), String> {
    veth_link(a, a_if, b, b_if)?;
    run("ip", &["-n", &a.name, "addr", "add", a_addr, "dev", a_if])?;
    run("ip", &["-n", &b.name, "addr", "add", b_addr, "dev", b_if])?;
    Ok(())
}

/// Connect two namespaces with a veth pair, both ends up and without addresses (layer 2 only,
/// as PPPoE wants).
pub fn veth_link(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<(), String> {
    run(
        "ip",
        &[
            "-n", &a.name, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns",
            &b.name,
        ],
    )?;
    run("ip", &["-n", &a.name, "link", "set", a_if, "up"])?;
    run("ip", &["-n", &b.name, "link", "set", b_if, "up"])?;
    Ok(())
}

/// Run `f` on a thread whose network namespace is `ns` (`/run/netns/<ns>`, as `ip netns`
/// creates it): sockets it opens live in that namespace, and stay there when handed back.
/// Lets a test send from, or listen in, a namespace without a helper program.
pub fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    use std::os::fd::AsRawFd;
    let path = format!("/run/netns/{ns}");
    let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    std::thread::spawn(move || {
        // SAFETY: setns(2) on a valid namespace descriptor affects only this thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
        }
        Ok(f())
    })
    .join()
    .map_err(|_| "thread in the namespace panicked".to_string())?
}

/// Resident set size of process `pid` in KiB (`VmRSS` of `/proc/<pid>/status`; 0 when it is
/// gone): the memory bound of the flood tests.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The two namespaces of a flood test: `server` and `client` joined by a veth (`if_name` on
/// both sides) with `server_ip/24` and `client_ip/24`, and a block of flood source addresses
/// (`sources`, CIDR) made local in the client namespace (a `local` route on `lo`) and routed
/// back from the server namespace through the client, so the server's answers to them return.
pub fn flood_namespaces(
    prefix: &str,
    if_name: &str,
    (server_ip, client_ip): (&str, &str),
    sources: &str,
) -> Result<(Netns, Netns), String> {
    let s = Netns::new(&format!("{prefix}-s"))?;
    let c = Netns::new(&format!("{prefix}-c"))?;
    veth(
        &s,
        if_name,
        &format!("{server_ip}/24"),
        &c,
        if_name,
        &format!("{client_ip}/24"),
    )?;
    c.exec("ip", &["route", "add", "local", sources, "dev", "lo"])?;
    s.exec("ip", &["route", "add", sources, "via", client_ip])?;
    Ok((s, c))
}

/// One connection of a TCP flood ([`tcp_flood`]): what it sends once connected and how it
/// answers the server.
pub trait FloodConn {
    /// Close the connection as soon as it is connected (connect-and-drop churn).
    fn churn(&self) -> bool {
        false
    }
    /// The bytes written once the connection is up (nothing: an idle, silent connection).
    fn connected(&mut self) -> Vec<u8>;
    /// Bytes the server sent; returns what to write back.
    fn received(&mut self, _data: &[u8]) -> Vec<u8> {
        Vec::new()
    }
}

/// What a [`tcp_flood`] did.
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpFloodStats {
    /// Connections started (non-blocking connects that did not fail at once).
    pub connects: u64,
    /// Connects that failed at once.
    pub connect_errors: u64,
    /// Held connections the server closed (EOF or reset).
    pub closed_by_server: u64,
}

/// A TCP connection flood against `target` for `secs` seconds: every 10 ms, `per_tick` new
/// non-blocking connects from `sources` source addresses counted up from `first_source` (round
/// robin; they must be local, see [`flood_namespaces`]), each driven by the [`FloodConn`] that
/// `new_conn(i)` makes for the i-th connect. At most `held` connections stay open (the oldest
/// dropped first). `tick(i)` runs once per round, after the connects (extra traffic such as a
/// datagram spray).
pub fn tcp_flood<C: FloodConn>(
    secs: u64,
    target: std::net::SocketAddrV4,
    (first_source, sources): (std::net::Ipv4Addr, u32),
    (per_tick, held): (usize, usize),
    mut new_conn: impl FnMut(usize) -> C,
    mut tick: impl FnMut(usize),
) -> TcpFloodStats {
    use std::io::{Read, Write};
    struct Held<C> {
        st: std::net::TcpStream,
        conn: C,
        wrote: bool,
    }
    let mut stats = TcpFloodStats::default();
    let mut open: std::collections::VecDeque<Held<C>> = std::collections::VecDeque::new();
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i = 0usize;
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        for _ in 0..per_tick {
            let src = std::net::Ipv4Addr::from(u32::from(first_source) + (i as u32 % sources));
            let conn = new_conn(i);
            i += 1;
            match crate::sys::tcp_connect_from(src, target) {
                Ok(st) => {
                    stats.connects += 1;
                    open.push_back(Held {
                        st,
                        conn,
                        wrote: false,
                    });
                }
                Err(_) => stats.connect_errors += 1,
            }
        }
        tick(i);
        while open.len() > held {
            open.pop_front();
        }
        open.retain_mut(|h| {
            let connected = h.st.peer_addr().is_ok();
            if h.conn.churn() {
                // Connected yet? Then close (by dropping it).
                return !connected;
            }
            if !connected {
                return true;
            }
            if !h.wrote {
                let first = h.conn.connected();
                h.wrote = first.is_empty() || h.st.write(&first).is_ok();
            }
            match h.st.read(&mut buf) {
                Ok(0) => {
                    stats.closed_by_server += 1;
                    false
                }
                Ok(n) => {
                    let reply = h.conn.received(&buf[..n]);
                    if !reply.is_empty() {
                        let _ = h.st.write(&reply);
                    }
                    true
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotConnected => true,
                Err(_) => {
                    stats.closed_by_server += 1;
                    false
                }
            }
        });
        std::thread::sleep(Duration::from_millis(10));
    }
    stats
}

/// Starts the server of a flood test in `ns` (`bin` with `args`, output to `log`), waits for
/// `ready` in its output (its `LISTENING` line, say), and returns it with its resident memory before the flood (KiB) and a
/// running [`RssSampler`] of it.
pub fn start_flood_target(
    ns: &Netns,
    bin: &str,
    args: &[&str],
    log: &Path,
    ready: &str,
) -> Result<(Proc, u64, RssSampler), String> {
    let srv = ns.spawn(bin, args, log)?;
    srv.wait_log(ready, Duration::from_secs(10))?;
    let pid = srv.child.id();
    std::thread::sleep(Duration::from_millis(300));
    let baseline = rss_kib(pid);
    Ok((srv, baseline, RssSampler::start(pid)))
}

/// Samples a process's resident memory every 50 ms on a thread until [`RssSampler::stop`],
/// which returns the peak (KiB): the memory bound of the flood tests.
pub struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl RssSampler {
    /// Start sampling `pid`.
    pub fn start(pid: u32) -> RssSampler {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = rss_kib(pid).max(peak);
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        });
        RssSampler { stop, thread }
    }

    /// Stop and return the peak RSS seen (KiB).
    pub fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

/// The last `n` lines of `s` (for failure messages).
pub fn tail_lines(s: &str, n: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(n)..].join("\n")
}

/// A child process killed (by its PID) and reaped on drop.
pub struct Proc {
    /// The child.
    pub child: Child,
    /// Where its output goes.
    pub log: PathBuf,
}

impl Proc {
    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the process exits (polling every 50 ms), at most `max`; returns its log.
    pub fn wait_exit(mut self, max: Duration) -> String {
        let end = Instant::now() + max;
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.log_text()
    }

    /// Ask the process to stop (SIGTERM; the workspace's example binaries then end their
    /// run as at the end of their time and print their counters) and [`Proc::wait_exit`].
    pub fn stop(self, max: Duration) -> String {
        let _ = run("kill", &["-TERM", &self.child.id().to_string()]);
        self.wait_exit(max)
    }

    /// Wait until the log contains `needle` (polling every 50 ms), at most `max`.
    pub fn wait_log(&self, needle: &str, max: Duration) -> Result<(), String> {
        let end = Instant::now() + max;
        while Instant::now() < end {
            if self.log_text().contains(needle) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "'{needle}' not seen in {} within {max:?}; log:\n{}",
            self.log.display(),
            self.log_text()
        ))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = run("kill", &["-TERM", &self.child.id().to_string()]);
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch folder for logs and configs of one interop test, under the target directory.
///
/// Cargo gives `CARGO_TARGET_TMPDIR` to the test's compilation, not to its run, so it is
/// found from the test binary's place (`<target>/<profile>/deps/<test>` -> `<target>/tmp`):
/// runs from different target directories (worktrees) never share a scratch folder.
pub fn scratch_dir(test: &str) -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe.parent()?;
        (deps.file_name()? == "deps").then(|| Some(deps.parent()?.parent()?.join("tmp")))?
    });
    let base = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .or(from_exe)
        .unwrap_or_else(std::env::temp_dir);
    let d = base.join("interop").join(test);
    let _ = std::fs::create_dir_all(&d);
    d
}

/// A throw-away PKI made with the openssl CLI in `dir`: `ca.crt`/`ca.key` (CN
/// `<prefix>-ca`), and `server` and `client` certificates and keys signed by it (CN
/// `<prefix>-server` / `<prefix>-client`, EKU serverAuth / clientAuth), all EC P-256, valid
/// for ten years from now.
pub fn tls_test_pki(dir: &Path, prefix: &str) -> Result<(), String> {
    let d = dir.to_str().ok_or("scratch path is not UTF-8")?;
    let script = format!(
        r#"set -e; cd {d}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN={prefix}-ca -keyout ca.key -out ca.crt 2>/dev/null
for n in server client; do
  eku=$([ $n = server ] && echo serverAuth || echo clientAuth)
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN={prefix}-$n -keyout $n.key -out $n.csr 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' $eku >$n.ext
  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile $n.ext -out $n.crt 2>/dev/null
done"#
    );
    sh(&script).map(|_| ())
}
