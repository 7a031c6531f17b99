//! The few OS facilities the example binaries share: a TUN/TAP device, the OS random source and
//! the `ip` command.
//! (Protocol crates never touch either: the examples inject them.)
//!
//! `unsafe` is confined to the one `ioctl` the standard library does not offer.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: i16 = 0x0001;
const IFF_TAP: i16 = 0x0002;
const IFF_NO_PI: i16 = 0x1000;

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
        flags: (if tap { IFF_TAP } else { IFF_TUN }) | IFF_NO_PI,
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
