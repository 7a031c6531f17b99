//! The project's full-kernel lab VM: a real Linux peer for interop tests of the protocols the
//! host kernel here cannot run (no PPP, L2TP, GRE, IPIP or WireGuard modules on the host).
//!
//! A Debian bookworm 6.1 kernel boots in QEMU (TCG; KVM is not usable here) from an initramfs
//! holding busybox, the kernel modules the lab needs and this host's Debian binaries (`pppd`,
//! `xl2tpd`, `wg`, iproute2, and linuxptp's `ptp4l`/`pmc` when installed). Its `eth0` is wired to a tap in the host network namespace
//! [`NETNS`] (`rp-lab`); nothing else is attached and no namespace has a default route.
//! The shell harness in `examples/interop/lab-vm/` (`build.sh`, `up.sh`, `exec.sh`, `down.sh`,
//! `status.sh`, `guest/init`) does the work; this module drives it and talks to the guest's control
//! agent itself.
//!
//! # Topology and guest services
//!
//! ```text
//!  host netns "rp-lab"                                  guest (QEMU, TCG)
//!  rplabtap0 10.97.40.1/24  <---- tap / virtio-net ---->  eth0 10.97.40.2/24
//!
//!  GRE     gre1     outer 10.97.40.2 <-> 10.97.40.1, inner 10.97.45.2/30 (host side .45.1)
//!  GRETAP  gretap1  key 42, same outer,              inner 10.97.46.2/24 (host side .46.1)
//!  IPIP    ipip1    same outer,                      inner 10.97.48.2/30 (host side .48.1)
//!  IPv6    eth0     fd00:97:40::2/64 (host side fd00:97:40::1, added by the test)
//!  GRE6    ip6gre1  outer fd00:97:40::2 <-> ::1, inner 10.97.49.2/30, fd00:97:49::2/64
//!  IP6TNL  ip6tnl1  mode any (IPv4/IPv6 in IPv6), same outer, 10.97.51.2/30, fd00:97:51::2/64
//!  WG      wg0      udp 10.97.40.2:51820, tunnel 10.97.44.2/24, peer allowed-ips 10.97.44.1/32
//!  L2TP    xl2tpd LNS udp 10.97.40.2:1701, kernel l2tp_ppp + pppd pppol2tp.so,
//!          PPP local 10.97.41.1, pool 10.97.41.10-20, noauth
//!  PPP     pppd on /dev/ttyS2 (115200, `passive`, respawned after every session), local
//!          10.97.47.1, remote 10.97.47.2; host end: unix socket /run/rp-lab/ppp-serial.sock
//!          carrying the raw async-HDLC byte stream (RFC 1662)
//! ```
//!
//! The host kernel has no GRE/IPIP modules: send the outer packets with a raw
//! `IPPROTO_GRE`/`IPPROTO_IPIP` socket (or a TAP + your own IPv4 layer) inside [`NETNS`].
//!
//! PPP secrets in the guest (`/etc/ppp/pap-secrets`, `/etc/ppp/chap-secrets`):
//! `rpuser * rppass *`. Both pppd instances start with `noauth` and `debug`.
//!
//! * Serial pppd reads `/etc/ppp/options.serial` (defaults in `options.serial.default`:
//!   `local passive noauth nocrtscts nodefaultroute noipdefault debug lcp-echo-interval 0
//!   name rplab-serial user rpuser 10.97.47.1:10.97.47.2`). Because of `user rpuser` it can answer
//!   PAP/CHAP/MS-CHAPv2 requests of the host with the secret above. To make pppd the
//!   authenticator, call [`LabVm::set_serial_ppp_options`] with e.g. `auth` + `require-chap`
//!   (or `require-pap`, `require-mschap-v2`). Its log (`debug` lines such as
//!   `rcvd [LCP ConfReq id=0x1 ...]`) is `/var/log/ppp-serial.log` ([`LabVm::serial_ppp_log`]).
//!   Session hygiene: after a Terminate-Request pppd needs ~3 s to exit before it is respawned, and
//!   a client that just disconnects leaves pppd's session state behind. Call
//!   [`LabVm::restart_serial_ppp`] (fast: ~1 s) before each session for a fresh pppd. pppd's
//!   first Configure-Request after a restart is lost while no client is connected to the
//!   socket; it retransmits every 3 s.
//! * L2TP: xl2tpd's config is `/etc/xl2tpd/xl2tpd.conf` (`[lns default]`, `require
//!   authentication = no`, `length bit = yes`, debug on; restart with [`LabVm::restart_l2tp_lns`]),
//!   its log `/var/log/xl2tpd.log`. The per-session pppd reads `/etc/ppp/options.xl2tpd`
//!   (`noauth name rplab-lns nodefaultroute debug lcp-echo-interval 0`) and logs to
//!   `/var/log/ppp-l2tp.log`. Syslog (kernel + daemons) goes to `/var/log/messages`.
//!
//! # WireGuard keys
//!
//! The guest's private key is generated once at build time (`/var/lib/rp-lab/wg-guest.key`, public
//! key from [`LabVm::wg_guest_public_key`]) unless [`LabOptions::wg_guest_private_key`] overrides
//! it. Give the host side's public key in [`LabOptions::wg_host_public_key`] and the guest's `wg0`
//! gets that peer (allowed-ips 10.97.44.1/32) at boot; add [`LabOptions::wg_host_endpoint`] when
//! the guest should initiate. Without a host key `wg0` has no peer; add one later with
//! `lab.exec("wg set wg0 peer ... allowed-ips 10.97.44.1/32")`.
//!
//! # Use in a test
//!
//! ```no_run
//! use examples::interop::peer_available;
//! use examples::lab_vm::{lab_available, LabOptions, LabVm};
//!
//! if !peer_available("lab-vm", lab_available()) {
//!     return; // loud skip (a failure with CI=true)
//! }
//! let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
//! let out = lab.exec("ip -d link show gre1").expect("exec");
//! assert!(out.contains("gre remote 10.97.40.1"));
//! // run your own endpoint inside the namespace, e.g.
//! //   ip netns exec rp-lab <your binary> ...      (lab.netns() == "rp-lab")
//! // or speak PPP on lab.serial_socket(); then check the peer's view:
//! let log = lab.serial_ppp_log();
//! # let _ = log;
//! ```
//!
//! # Lifetime, serialisation, timings
//!
//! [`LabVm::start`] builds the artefacts under `/var/lib/rp-lab` when they are missing or stale
//! (first time: a ~70 MB kernel `.deb` via `apt-get download`, cached, plus 10-20 s of packing),
//! then boots a **fresh** VM and holds, for the life of the [`LabVm`], a process-wide lock and an
//! exclusive `flock` on `/run/rp-lab.lock`, so tests in one binary and in different binaries take
//! turns. Dropping the [`LabVm`] kills QEMU by its PID and deletes the namespace `rp-lab`.
//! Runtime state lives in `/run/rp-lab/`. Booting is TCG emulation (the uncompressed kernel is
//! entered through PVH, which skips the BIOS real-mode path and the kernel's self-decompression),
//! so it depends on how busy the host is. Measured on this 2-core host while six engineers were
//! compiling (load average 12-16): first build 27 s, boot to ready 14-21 s, the whole
//! `interop_lab_vm` test 40-66 s. Prefer one [`LabVm`] per test function over many short ones.
//!
//! Kernel modules for the configured services are loaded at boot; the image also holds `pppoe`,
//! `l2tp_eth`, `l2tp_ip(6)`, `sit`, `tun`, `veth`, `bridge`, `8021q` and `sch_netem`,
//! which the kernel loads on demand (e.g. `ip link add br0 type bridge` in [`LabVm::exec`]).
//!
//! Peers that tests start themselves (nothing runs them at boot): `sstpc` with pppd's
//! `sstp-pppd-plugin.so` (`interop_sstp`), Poptop `pptpd` + `pptpctrl` (`interop_pptp`),
//! rp-pppoe's `pppoe-server`/`pppoe` and pppd's `rp-pppoe.so` (`interop_pppoe`); the host-side
//! ends run in [`NETNS`] through [`LabVm::spawn_host`]. `strace` and `tcpdump` are in the image
//! when the host has them. The address plan of those tests is in the lab-vm README.
//!
//! `examples/interop/lab-vm/probe.py` (stdlib Python) shows each peer answering:
//! `probe.py ppp-serial`, and inside the namespace `probe.py gre` / `probe.py l2tp`.
//!
//! The control channel is a line protocol on a virtio console (`hvc0`, host side
//! `/run/rp-lab/ctl.sock`): the host sends `R <id> <timeout> <base64 script>`, the guest agent runs
//! the script with `sh` in a new session (stdin `/dev/null`, killed after the timeout) and answers
//! with the base64 of its stdout+stderr and the exit code. Long-running programs must be started
//! detached: `(setsid prog ... >/var/log/prog.log 2>&1 &)`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Host-side network namespace the guest's NIC is attached to.
pub const NETNS: &str = "rp-lab";
/// Tap device (in [`NETNS`]) wired to the guest's `eth0`.
pub const TAP: &str = "rplabtap0";
/// Address of the host end ([`TAP`]), prefix /24.
pub const HOST_ADDR: &str = "10.97.40.1";
/// Address of the guest's `eth0`, prefix /24.
pub const GUEST_ADDR: &str = "10.97.40.2";
/// MAC address of the guest's `eth0`.
pub const GUEST_MAC: &str = "52:54:00:97:40:02";
/// Guest `gre1` inner address (/30); the host-side inner address is [`GRE_HOST_INNER`].
pub const GRE_GUEST_INNER: &str = "10.97.45.2";
/// Host-side inner address of the plain GRE tunnel.
pub const GRE_HOST_INNER: &str = "10.97.45.1";
/// Guest `gretap1` inner address (/24); host-side inner address [`GRETAP_HOST_INNER`].
pub const GRETAP_GUEST_INNER: &str = "10.97.46.2";
/// Host-side inner address of the GRETAP tunnel.
pub const GRETAP_HOST_INNER: &str = "10.97.46.1";
/// GRE key of `gretap1`.
pub const GRETAP_KEY: u32 = 42;
/// Guest `ipip1` inner address (/30); host-side inner address [`IPIP_HOST_INNER`].
pub const IPIP_GUEST_INNER: &str = "10.97.48.2";
/// Host-side inner address of the IPIP tunnel.
pub const IPIP_HOST_INNER: &str = "10.97.48.1";
/// IPv6 address of the host end ([`TAP`]), prefix /64 (the test adds it, `nodad`).
pub const HOST_ADDR6: &str = "fd00:97:40::1";
/// IPv6 address of the guest's `eth0`, prefix /64.
pub const GUEST_ADDR6: &str = "fd00:97:40::2";
/// Guest `ip6gre1` (GRE over IPv6, outer [`GUEST_ADDR6`] <-> [`HOST_ADDR6`]) inner IPv4
/// address (/30; host side 10.97.49.1) ...
pub const IP6GRE_GUEST_INNER: &str = "10.97.49.2";
/// ... and inner IPv6 address (/64; host side fd00:97:49::1).
pub const IP6GRE_GUEST_INNER6: &str = "fd00:97:49::2";
/// Guest `ip6tnl1` (ip6tnl mode any: IPv4 and IPv6 over IPv6, same outer) inner IPv4 address
/// (/30; host side 10.97.51.1) ...
pub const IP6TNL_GUEST_INNER: &str = "10.97.51.2";
/// ... and inner IPv6 address (/64; host side fd00:97:51::1).
pub const IP6TNL_GUEST_INNER6: &str = "fd00:97:51::2";
/// UDP port of the guest's kernel WireGuard `wg0`.
pub const WG_PORT: u16 = 51820;
/// Guest `wg0` tunnel address (/24).
pub const WG_GUEST_TUNNEL: &str = "10.97.44.2";
/// The only allowed-ips of the host-side WireGuard peer (as /32).
pub const WG_HOST_TUNNEL: &str = "10.97.44.1";
/// UDP port of the guest's xl2tpd LNS.
pub const L2TP_PORT: u16 = 1701;
/// PPP address of the LNS side of L2TP sessions (the pool is 10.97.41.10-20).
pub const L2TP_PPP_LOCAL: &str = "10.97.41.1";
/// PPP address of the guest's serial pppd.
pub const SERIAL_PPP_LOCAL: &str = "10.97.47.1";
/// PPP address the serial pppd assigns to the host side.
pub const SERIAL_PPP_REMOTE: &str = "10.97.47.2";
/// PAP/CHAP user name in the guest's secrets files.
pub const PPP_USER: &str = "rpuser";
/// PAP/CHAP secret of [`PPP_USER`].
pub const PPP_PASSWORD: &str = "rppass";
/// Runtime state directory (sockets, pidfile, console log).
pub const RUN_DIR: &str = "/run/rp-lab";
/// Cached build artefacts (kernel, initramfs, guest WireGuard key).
pub const ART_DIR: &str = "/var/lib/rp-lab";
/// The lock file whose `flock` a running [`LabVm`] holds.
pub const LOCK_FILE: &str = "/run/rp-lab.lock";

/// Default timeout of [`LabVm::exec`].
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// Folder of the shell harness.
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/interop/lab-vm"))
}

/// Options of one lab VM boot.
#[derive(Clone, Debug, Default)]
pub struct LabOptions {
    /// Base64 public key of the host-side WireGuard peer. When set, the guest's `wg0` gets this
    /// peer with allowed-ips 10.97.44.1/32 at boot.
    pub wg_host_public_key: Option<String>,
    /// Base64 private key for the guest's `wg0` (default: the key generated at build time,
    /// `/var/lib/rp-lab/wg-guest.key`).
    pub wg_guest_private_key: Option<String>,
    /// Endpoint (`ip:port`, e.g. `10.97.40.1:51820`) of the host-side peer, so the guest can send
    /// the first handshake. Without it the guest only answers.
    pub wg_host_endpoint: Option<String>,
    /// Guest memory in MB (default 384).
    pub mem_mb: Option<u32>,
    /// Boot timeout (default 180 s; the first start also builds, which is not counted).
    pub boot_timeout: Option<Duration>,
}

// `true` while a LabVm exists in this process (the process-wide half of the serialisation).
static LAB_BUSY: Mutex<bool> = Mutex::new(false);
static LAB_FREED: Condvar = Condvar::new();
static EXEC_SEQ: AtomicU32 = AtomicU32::new(0);

/// A running lab VM (see the module docs). Dropping it stops QEMU and deletes [`NETNS`].
pub struct LabVm {
    qemu_pid: u32,
    boot_time: Duration,
    exec_lock: Mutex<()>,
    // Holds flock(LOCK_FILE) until its stdin is closed (or this process dies).
    flock_holder: Child,
}

impl std::fmt::Debug for LabVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabVm")
            .field("qemu_pid", &self.qemu_pid)
            .field("boot_time", &self.boot_time)
            .finish()
    }
}

/// `Ok(())` if this host can run the lab: root, QEMU, `/dev/net/tun`, the harness scripts, and
/// either built artefacts or the tools to build them. `Err(reason)` otherwise; feed it to
/// [`crate::interop::peer_available`].
pub fn lab_available() -> Result<(), String> {
    if !crate::interop::is_root() {
        return Err("not running as root".into());
    }
    crate::interop::have_program("qemu-system-x86_64")
        .map_err(|e| format!("{e} (.ci/deps/lab-vm.sh installs qemu-system-x86)"))?;
    if !Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun missing".into());
    }
    for s in [
        "build.sh",
        "up.sh",
        "down.sh",
        "exec.sh",
        "ctl.py",
        "guest/init",
    ] {
        if !scripts_dir().join(s).exists() {
            return Err(format!("harness file {s} missing"));
        }
    }
    if !Path::new("/usr/bin/python3").exists() {
        return Err("/usr/bin/python3 missing (used by up.sh)".into());
    }
    let built = Path::new(ART_DIR).join("vmlinuz").exists()
        && Path::new(ART_DIR).join("initrd.img").exists();
    let tools = [
        "/bin/busybox",
        "/usr/sbin/pppd",
        "/usr/sbin/xl2tpd",
        "/usr/bin/wg",
        "/usr/bin/zstd",
        "/usr/bin/cpio",
    ];
    for t in tools {
        if !Path::new(t).exists() {
            // without the guest binaries even a cached initramfs cannot be refreshed
            return Err(format!("{t} missing (.ci/deps/lab-vm.sh installs it)"));
        }
    }
    if !built {
        crate::interop::have_program("apt-get")?;
    }
    Ok(())
}

impl LabVm {
    /// Build the artefacts if missing (or stale), boot a fresh VM and wait until its services and
    /// control channel are ready. Blocks while another [`LabVm`] exists in this process (mutex) or
    /// in another process (`flock` on [`LOCK_FILE`]). A VM left over by a killed process is
    /// stopped first.
    pub fn start(opts: &LabOptions) -> Result<LabVm, String> {
        {
            let mut busy = LAB_BUSY.lock().unwrap_or_else(|p| p.into_inner());
            while *busy {
                busy = LAB_FREED.wait(busy).unwrap_or_else(|p| p.into_inner());
            }
            *busy = true;
        }
        let mut holder = match take_flock() {
            Ok(h) => h,
            Err(e) => {
                free_process_slot();
                return Err(e);
            }
        };
        match boot(opts) {
            Ok((qemu_pid, boot_time)) => Ok(LabVm {
                qemu_pid,
                boot_time,
                exec_lock: Mutex::new(()),
                flock_holder: holder,
            }),
            Err(e) => {
                let _ = run_script("down.sh", &["--quiet"]);
                release_flock(&mut holder);
                free_process_slot();
                Err(e)
            }
        }
    }

    /// Run a shell snippet in the guest (`sh`, stdin `/dev/null`, 60 s timeout) and return its
    /// stdout+stderr. A non-zero exit code is an `Err` carrying the code and the output.
    pub fn exec(&self, cmd: &str) -> Result<String, String> {
        let (code, out) = self.exec_status(cmd, EXEC_TIMEOUT)?;
        if code == 0 {
            Ok(out)
        } else {
            Err(format!("guest command exited with {code}: {cmd}\n{out}"))
        }
    }

    /// Like [`LabVm::exec`] but returns the exit code instead of failing on it (`Err` only when
    /// the control channel fails). The guest kills the snippet after `timeout` (code 137).
    pub fn exec_status(&self, cmd: &str, timeout: Duration) -> Result<(i32, String), String> {
        let _g = self.exec_lock.lock().unwrap_or_else(|p| p.into_inner());
        control_exchange(&Path::new(RUN_DIR).join("ctl.sock"), cmd, timeout)
    }

    /// The host-side network namespace: `"rp-lab"`.
    pub fn netns(&self) -> &str {
        NETNS
    }

    /// Unix socket carrying the guest's `/dev/ttyS2` (async-HDLC PPP to the serial pppd):
    /// `/run/rp-lab/ppp-serial.sock`. One client at a time; pppd restarts after each session.
    pub fn serial_socket(&self) -> PathBuf {
        Path::new(RUN_DIR).join("ppp-serial.sock")
    }

    /// Contents of a guest file (empty if it cannot be read).
    pub fn guest_log(&self, path: &str) -> String {
        self.exec(&format!("cat {}", sh_quote(path)))
            .unwrap_or_default()
    }

    /// Poll a guest file (every 300 ms) until it contains `needle`; returns the file's contents,
    /// or `Err` with the last contents after `max`.
    pub fn wait_guest_log(
        &self,
        path: &str,
        needle: &str,
        max: Duration,
    ) -> Result<String, String> {
        let end = Instant::now() + max;
        loop {
            let text = self.guest_log(path);
            if text.contains(needle) {
                return Ok(text);
            }
            if Instant::now() >= end {
                return Err(format!(
                    "'{needle}' not in guest {path} within {max:?}; it holds:\n{text}"
                ));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// A [`Command`] that runs `program` inside the host-side namespace [`NETNS`]
    /// (`ip netns exec rp-lab program`); add arguments and spawn it as usual.
    pub fn host_command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", NETNS, program]);
        c
    }

    /// Start a long-running host-side program inside [`NETNS`] (stdin `/dev/null`, stdout and
    /// stderr to `log`), e.g. one of the example binaries as the guest's peer. The returned
    /// [`crate::interop::Proc`] gives its log and stops it (SIGTERM) when dropped.
    pub fn spawn_host(
        &self,
        program: &str,
        args: &[&str],
        log: &Path,
    ) -> Result<crate::interop::Proc, String> {
        let f = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let f2 = f.try_clone().map_err(|e| e.to_string())?;
        let child = self
            .host_command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .map_err(|e| format!("{program}: {e}"))?;
        Ok(crate::interop::Proc {
            child,
            log: log.to_path_buf(),
        })
    }

    /// The serial pppd's log (`/var/log/ppp-serial.log`, `debug` level).
    pub fn serial_ppp_log(&self) -> String {
        self.guest_log("/var/log/ppp-serial.log")
    }

    /// Replace the serial pppd's options file (`/etc/ppp/options.serial`) with `options` (pppd
    /// option syntax, one per line) and restart pppd, truncating its log. Device, speed,
    /// `nodetach` and `logfile` are fixed on pppd's command line. Example making pppd the
    /// authenticator: `"local\npassive\nauth\nrequire-chap\nnocrtscts\ndebug\nname rplab-serial\n10.97.47.1:10.97.47.2\n"`.
    pub fn set_serial_ppp_options(&self, options: &str) -> Result<(), String> {
        self.write_file("/etc/ppp/options.serial", options.as_bytes())?;
        self.restart_serial_ppp()
    }

    /// Restore the default serial pppd options and restart it.
    pub fn reset_serial_ppp(&self) -> Result<(), String> {
        self.exec("rplab-ppp-restart --default").map(|_| ())
    }

    /// Restart the serial pppd (re-reading its options file; its log is truncated). Returns once
    /// the new pppd runs.
    pub fn restart_serial_ppp(&self) -> Result<(), String> {
        self.exec("rplab-ppp-restart").map(|_| ())
    }

    /// Restart the L2TP LNS (xl2tpd) after `/etc/xl2tpd/xl2tpd.conf` was changed (e.g. with
    /// [`LabVm::write_file`]); drops its sessions and truncates `/var/log/xl2tpd.log`. Edits of
    /// `/etc/ppp/options.xl2tpd` need no restart (every session starts a new pppd).
    pub fn restart_l2tp_lns(&self) -> Result<(), String> {
        self.exec("rplab-xl2tpd-restart").map(|_| ())
    }

    /// Write a file in the guest (any bytes; created or replaced).
    pub fn write_file(&self, path: &str, contents: &[u8]) -> Result<(), String> {
        let b64 = b64_encode(contents);
        self.exec(&format!(
            "printf '%s' '{b64}' | base64 -d > {}",
            sh_quote(path)
        ))
        .map(|_| ())
    }

    /// Copy a host file into the guest (e.g. an example binary to run there, `mode` 0755) over
    /// the lab link: the host serves it once over HTTP from [`HOST_ADDR`] in [`NETNS`] and the
    /// guest's busybox `wget` fetches it. Megabytes take about a second (the control channel
    /// would take minutes).
    pub fn copy_to_guest(&self, src: &Path, dst: &str, mode: u32) -> Result<(), String> {
        use std::net::TcpListener;
        let bytes = std::fs::read(src).map_err(|e| format!("{}: {e}", src.display()))?;
        let len = bytes.len();
        let listener = crate::interop::in_netns(NETNS, move || {
            TcpListener::bind((HOST_ADDR, 0)).map_err(|e| format!("bind {HOST_ADDR}: {e}"))
        })??;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let server = std::thread::spawn(move || -> Result<(), String> {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut s = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if Instant::now() > deadline {
                            return Err("the guest never fetched the file".into());
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => return Err(e.to_string()),
                }
            };
            s.set_nonblocking(false).map_err(|e| e.to_string())?;
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req);
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\n\r\n"
            );
            s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
            s.write_all(&bytes).map_err(|e| e.to_string())
        });
        let q = sh_quote(dst);
        let r = self.exec_status(
            &format!(
                "wget -q -O {q} http://{HOST_ADDR}:{port}/f && chmod {mode:o} {q} && wc -c < {q}"
            ),
            Duration::from_secs(120),
        );
        let served = server
            .join()
            .map_err(|_| "file server panicked".to_string())?;
        let (code, out) = r?;
        served?;
        if code != 0 || out.trim() != len.to_string() {
            return Err(format!("copy to guest {dst} failed ({code}): {out}"));
        }
        Ok(())
    }

    /// Public key of the guest's `wg0`.
    pub fn wg_guest_public_key(&self) -> Result<String, String> {
        std::fs::read_to_string(Path::new(RUN_DIR).join("wg-guest.pub"))
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("{RUN_DIR}/wg-guest.pub: {e}"))
    }

    /// Guest console output so far (kernel messages and `RPLAB:` lines of the init).
    pub fn console_log(&self) -> String {
        std::fs::read_to_string(Path::new(RUN_DIR).join("console.log")).unwrap_or_default()
    }

    /// PID of the QEMU process.
    pub fn qemu_pid(&self) -> u32 {
        self.qemu_pid
    }

    /// Time from starting QEMU to "ready" (services configured, control channel answering).
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }
}

impl Drop for LabVm {
    fn drop(&mut self) {
        kill_pid(self.qemu_pid);
        let _ = run_script("down.sh", &["--quiet"]);
        for f in ["wg-host.pub", "wg-guest.key", "wg-endpoint"] {
            let _ = std::fs::remove_file(Path::new(RUN_DIR).join(f));
        }
        release_flock(&mut self.flock_holder);
        free_process_slot();
    }
}

fn free_process_slot() {
    *LAB_BUSY.lock().unwrap_or_else(|p| p.into_inner()) = false;
    LAB_FREED.notify_one();
}

fn run_script(name: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(scripts_dir().join(name))
        .args(args)
        .env("RPLAB_LOCK_HELD", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{name}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{name} failed ({}):\n{text}", out.status))
    }
}

/// `flock -x LOCK_FILE` held by a child that lives until its stdin closes.
fn take_flock() -> Result<Child, String> {
    let _ = std::fs::create_dir_all(RUN_DIR);
    let mut child = Command::new("flock")
        .args([
            "-x",
            "-w",
            "1800",
            LOCK_FILE,
            "sh",
            "-c",
            "echo locked; exec cat >/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("flock: {e}"))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    if line.trim() == "locked" {
        Ok(child)
    } else {
        release_flock(&mut child);
        Err(format!("could not lock {LOCK_FILE}"))
    }
}

fn release_flock(child: &mut Child) {
    drop(child.stdin.take());
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn kill_pid(pid: u32) {
    let p = pid.to_string();
    let alive = || Path::new(&format!("/proc/{p}")).exists() && !is_zombie(pid);
    if !alive() {
        return;
    }
    let _ = Command::new("kill").args(["-TERM", &p]).output();
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        if !alive() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill").args(["-KILL", &p]).output();
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .map(|r| r.trim_start().starts_with('Z'))
                == Some(true)
        })
        .unwrap_or(true)
}

fn write_opt(name: &str, value: &Option<String>) -> Result<(), String> {
    let path = Path::new(RUN_DIR).join(name);
    match value {
        Some(v) => {
            let v = v.trim();
            if v.is_empty() || v.chars().any(|c| c.is_whitespace()) {
                return Err(format!("LabOptions: bad value for {name}: {v:?}"));
            }
            std::fs::write(&path, format!("{v}\n")).map_err(|e| format!("{}: {e}", path.display()))
        }
        None => {
            let _ = std::fs::remove_file(&path);
            Ok(())
        }
    }
}

fn boot(opts: &LabOptions) -> Result<(u32, Duration), String> {
    // a stale VM (killed test process) or one started by hand with up.sh is stopped first
    run_script("down.sh", &["--quiet"])?;
    std::fs::create_dir_all(RUN_DIR).map_err(|e| format!("{RUN_DIR}: {e}"))?;
    write_opt("wg-host.pub", &opts.wg_host_public_key)?;
    write_opt("wg-guest.key", &opts.wg_guest_private_key)?;
    write_opt("wg-endpoint", &opts.wg_host_endpoint)?;
    // build first (may take minutes on the very first run), then time the boot alone
    run_script("build.sh", &[])?;
    let mut cmd = Command::new(scripts_dir().join("up.sh"));
    cmd.stdin(Stdio::null()).env("RPLAB_LOCK_HELD", "1");
    if let Some(m) = opts.mem_mb {
        cmd.env("RPLAB_MEM", m.to_string());
    }
    if let Some(t) = opts.boot_timeout {
        cmd.env("RPLAB_BOOT_TIMEOUT", t.as_secs().max(1).to_string());
    }
    let t0 = Instant::now();
    let out = cmd.output().map_err(|e| format!("up.sh: {e}"))?;
    let boot_time = t0.elapsed();
    if !out.status.success() {
        return Err(format!(
            "lab VM did not come up ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let pid = std::fs::read_to_string(Path::new(RUN_DIR).join("qemu.pid"))
        .map_err(|e| format!("qemu.pid: {e}"))?
        .trim()
        .parse::<u32>()
        .map_err(|e| format!("qemu.pid: {e}"))?;
    Ok((pid, boot_time))
}

/// One request/response on the guest control agent (see `guest/rplab-agent`).
fn control_exchange(sock: &Path, cmd: &str, timeout: Duration) -> Result<(i32, String), String> {
    let mut s = UnixStream::connect(sock).map_err(|e| format!("{}: {e}", sock.display()))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    let id = format!(
        "{}x{}",
        std::process::id(),
        EXEC_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let secs = timeout.as_secs().max(1);
    let req = format!("\nR {id} {secs} {}\n", b64_encode(cmd.as_bytes()));
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let begin = format!("@@RPLAB {id} BEGIN");
    let end_tag = format!("@@RPLAB {id} END ");
    let deadline = Instant::now() + timeout + Duration::from_secs(10);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 65536];
    while Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) => return Err("lab VM control channel closed".into()),
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                // a bare newline wakes a stalled virtio console; the agent ignores it
                s.write_all(b"\n").map_err(|e| e.to_string())?;
            }
            // a signal arrived during the read (CI saw EINTR here once): read again
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("lab VM control channel: {e}")),
        }
        if let Some(r) = parse_response(&buf, &begin, &end_tag) {
            return r;
        }
    }
    Err(format!(
        "lab VM: no answer to `{cmd}` within {:?}",
        timeout + Duration::from_secs(10)
    ))
}

fn parse_response(buf: &[u8], begin: &str, end_tag: &str) -> Option<Result<(i32, String), String>> {
    let text = String::from_utf8_lossy(buf);
    let b = text.find(begin)?;
    let body_start = b + begin.len();
    let e = body_start + text.get(body_start..)?.find(end_tag)?;
    let after = text.get(e + end_tag.len()..)?;
    let nl = after.find('\n')?;
    let code = after.get(..nl)?.trim().parse::<i32>().unwrap_or(255);
    let body: String = text
        .get(body_start..e)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Some(match b64_decode(&body) {
        Some(out) => Ok((code, String::from_utf8_lossy(&out).into_owned())),
        None => Err("lab VM: undecodable answer from the guest agent".into()),
    })
}

/// Single-quote a string for `sh`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
            c.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(B64.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for ch in s.bytes() {
        if ch == b'=' {
            break;
        }
        let v = B64.iter().position(|&x| x == ch)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64_encode(raw.as_bytes()), enc);
            assert_eq!(b64_decode(enc).unwrap(), raw.as_bytes());
        }
        let all: Vec<u8> = (0..=255u8).collect();
        assert_eq!(b64_decode(&b64_encode(&all)).unwrap(), all);
        assert!(b64_decode("Zm9v*").is_none());
    }

    #[test]
    fn response_parsing() {
        let buf = b"junk\n@@RPLAB 7x1 BEGIN\naGVs\nbG8K\n@@RPLAB 7x1 END 3\n";
        let r = parse_response(buf, "@@RPLAB 7x1 BEGIN", "@@RPLAB 7x1 END ").unwrap();
        assert_eq!(r.unwrap(), (3, "hello\n".to_string()));
        // incomplete: no newline after the code yet
        let part = b"@@RPLAB 7x1 BEGIN\naGVs\n@@RPLAB 7x1 END 3";
        assert!(parse_response(part, "@@RPLAB 7x1 BEGIN", "@@RPLAB 7x1 END ").is_none());
        // another request's frame is ignored
        let other = b"@@RPLAB 9x9 BEGIN\naGVs\n@@RPLAB 9x9 END 0\n";
        assert!(parse_response(other, "@@RPLAB 7x1 BEGIN", "@@RPLAB 7x1 END ").is_none());
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }
}
