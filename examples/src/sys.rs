//! The few OS facilities the example binaries share: a TUN/TAP device, the OS random source and
//! the `ip` command.
//! (Protocol crates never touch either: the examples inject them.)
//!
//! `unsafe` is confined to the `ioctl` and the signal handler the standard library does not
//! offer.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: i16 = 0x0001;
const IFF_TAP: i16 = 0x0002;
const IFF_NO_PI: i16 = 0x1000;
const IFF_VNET_HDR: i16 = 0x4000;
/// `_IOW('T', 208, unsigned int)`
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
/// `TUNSETOFFLOAD` bits (`linux/if_tun.h`).
const TUN_F_CSUM: libc::c_uint = 0x01;
const TUN_F_TSO4: libc::c_uint = 0x02;
const TUN_F_TSO6: libc::c_uint = 0x04;
const TUN_F_USO4: libc::c_uint = 0x20;
const TUN_F_USO6: libc::c_uint = 0x40;

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags member of the union.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: i16,
    _pad: [u8; 22],
}

/// Create (or attach to) the TUN (`tap == false`, IP packets) or TAP (Ethernet frames) device
/// `name`, without the packet-information prefix. `nonblocking` sets `O_NONBLOCK`.
pub fn open_tun(name: &str, tap: bool, nonblocking: bool) -> Result<File, String> {
    open_tun_flags(
        name,
        (if tap { IFF_TAP } else { IFF_TUN }) | IFF_NO_PI,
        nonblocking,
    )
}

/// The offloads a TUN device opened by [`open_tun_offload`] ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunOffload {
    /// No virtio header: plain IP packets, as [`open_tun`].
    Off,
    /// Every read and write carries a `virtio_net_hdr` (see `tun_offload`); reads may be TCP
    /// super-packets (checksum offload, TSO for IPv4 and IPv6).
    Tso,
    /// As `Tso`, and UDP super-packets too (USO, Linux 6.2).
    TsoUso,
}

/// Opens the TUN device `name` (non-blocking as asked) with `IFF_VNET_HDR` and turns on
/// `TUNSETOFFLOAD` with checksum offload, TSO4/TSO6 and, where the kernel accepts them,
/// USO4/USO6. Where the kernel refuses the virtio header or TSO, the device is opened plain
/// instead ([`TunOffload::Off`]) and the reason is returned for the log.
pub fn open_tun_offload(
    name: &str,
    nonblocking: bool,
) -> Result<(File, TunOffload, Option<String>), String> {
    let f = match open_tun_flags(name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, nonblocking) {
        Ok(f) => f,
        Err(e) => {
            return Ok((
                open_tun(name, false, nonblocking)?,
                TunOffload::Off,
                Some(e),
            ))
        }
    };
    let set = |flags: libc::c_uint| {
        // SAFETY: TUNSETOFFLOAD takes its argument by value; no memory is passed.
        unsafe { libc::ioctl(f.as_raw_fd(), TUNSETOFFLOAD as _, flags as libc::c_ulong) }
    };
    let tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if set(tso | TUN_F_USO4 | TUN_F_USO6) == 0 {
        return Ok((f, TunOffload::TsoUso, None));
    }
    if set(tso) == 0 {
        return Ok((f, TunOffload::Tso, None));
    }
    let why = format!("TUNSETOFFLOAD: {}", std::io::Error::last_os_error());
    drop(f);
    Ok((
        open_tun(name, false, nonblocking)?,
        TunOffload::Off,
        Some(why),
    ))
}

fn open_tun_flags(name: &str, flags: i16, nonblocking: bool) -> Result<File, String> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true);
    if nonblocking {
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let f = opts
        .open("/dev/net/tun")
        .map_err(|e| format!("/dev/net/tun: {e}"))?;
    let n = name.as_bytes();
    if n.is_empty() || n.len() > 15 {
        return Err(format!("interface name {name:?} must be 1..=15 bytes"));
    }
    let mut req = IfReq {
        name: [0; 16],
        flags,
        _pad: [0; 22],
    };
    req.name[..n.len()].copy_from_slice(n);
    // SAFETY: TUNSETIFF reads (and writes the name back into) a `struct ifreq`-sized buffer;
    // `req` is a live, properly sized #[repr(C)] value for the whole call.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), TUNSETIFF as _, &mut req as *mut IfReq) };
    if rc < 0 {
        return Err(format!(
            "TUNSETIFF {name}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(f)
}

/// The OS random source (`/dev/urandom`) behind `rand_core` 0.6's traits, for injecting into the
/// protocol crates (which re-export that `rand_core`).
pub struct OsRng(File);

impl OsRng {
    /// Open /dev/urandom.
    pub fn new() -> std::io::Result<Self> {
        Ok(OsRng(File::open("/dev/urandom")?))
    }
}

impl rand_core::RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        if self.0.read_exact(d).is_err() {
            // Unreachable on Linux; never hand out predictable bytes silently.
            std::process::abort();
        }
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(d);
        Ok(())
    }
}

impl rand_core::CryptoRng for OsRng {}

/// Run `ip ARGS...` (iproute2), e.g. to address and raise a TUN device; the error names the
/// command and carries its stderr.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// From now on SIGTERM and SIGINT ask the program to stop ([`stop_requested`]) instead of
/// killing it, so an event loop can end its run as at the end of its time (say goodbye,
/// print its counters). A blocked poll(2) returns early with EINTR.
pub fn stop_on_signals() {
    let handler = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe), and it lives
        // for the whole program.
        unsafe {
            libc::signal(sig, handler);
        }
    }
}

/// Whether SIGTERM or SIGINT arrived since [`stop_on_signals`].
pub fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::Relaxed)
}

/// A non-blocking TCP connection from the local address `src` (port chosen by the kernel)
/// to `dst`; the connect is under way when this returns (poll for writability). The
/// standard library cannot bind before connecting; flood tests need many source addresses.
pub fn tcp_connect_from(
    src: std::net::Ipv4Addr,
    dst: std::net::SocketAddrV4,
) -> std::io::Result<std::net::TcpStream> {
    use std::os::fd::FromRawFd;
    let sin = |a: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(a).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket(2); the descriptor is owned by the TcpStream made below (or
    // closed here on error).
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh socket we own; TcpStream closes it on drop.
    let stream = unsafe { std::net::TcpStream::from_raw_fd(fd) };
    let local = sin(src, 0);
    // SAFETY: `local` is a valid sockaddr_in of `len` bytes for the call.
    if unsafe { libc::bind(fd, &local as *const _ as *const libc::sockaddr, len) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let remote = sin(*dst.ip(), dst.port());
    // SAFETY: as above.
    if unsafe { libc::connect(fd, &remote as *const _ as *const libc::sockaddr, len) } < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    Ok(stream)
}

/// The PPP protocol for an IP packet read from a TUN device, by its IP version nibble: IPv4
/// as 0x0021, IPv6 as 0x0057 only while IPv6CP is open (`ipv6_open`); `None` means drop (and
/// count) the packet. Every example that bridges a TUN to PPP uses this.
pub fn ppp_protocol_for_tun(packet: &[u8], ipv6_open: bool) -> Option<u16> {
    match packet.first()? >> 4 {
        4 => Some(0x0021),
        6 if ipv6_open => Some(0x0057),
        _ => None,
    }
}

/// Put the terminal on `fd` into raw mode (`cfmakeraw`: no echo, no line editing, no
/// character translation, 8 bits) when `fd` is a terminal; a pipe or socket is left alone.
/// A PPP program handed a pty (as `pptpd -e` does) must do this before speaking async HDLC,
/// as pppd does. Returns whether `fd` was a terminal.
pub fn make_raw_if_tty(fd: std::os::fd::RawFd) -> Result<bool, String> {
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(fd) } != 1 {
        return Ok(false);
    }
    // SAFETY: `t` is a plain C struct filled by tcgetattr before use; the calls get a valid
    // pointer to it for their whole duration.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) != 0 {
            return Err(format!("tcgetattr: {}", std::io::Error::last_os_error()));
        }
        libc::cfmakeraw(&mut t);
        if libc::tcsetattr(fd, libc::TCSANOW, &t) != 0 {
            return Err(format!("tcsetattr: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::ppp_protocol_for_tun;

    #[test]
    fn tun_packets_dispatch_on_the_version_nibble() {
        let v4 = [0x45, 0, 0, 20];
        // an ICMPv6 router solicitation, as the kernel sends when a TUN comes up
        let v6 = [0x60, 0, 0, 0, 0, 8, 58, 255];
        assert_eq!(ppp_protocol_for_tun(&v4, false), Some(0x0021));
        assert_eq!(ppp_protocol_for_tun(&v4, true), Some(0x0021));
        assert_eq!(ppp_protocol_for_tun(&v6, false), None);
        assert_eq!(ppp_protocol_for_tun(&v6, true), Some(0x0057));
        assert_eq!(ppp_protocol_for_tun(&[0x10, 0], true), None);
        assert_eq!(ppp_protocol_for_tun(&[], true), None);
    }
}
