//! PPTP over real sockets: the raw IPv4 socket for IP protocol 47 (the enhanced GRE data
//! channel, RFC 2637 s4) that `pptp-client`, `pptp-server` and the interop tests share.
//!
//! A raw `AF_INET` socket of protocol 47 receives a copy of every GRE packet the host gets
//! (both GRE versions: demultiplexing by call ID is the `pptp` crate's job), *with* the IPv4
//! header in front; sending takes the GRE packet alone and the kernel adds the IPv4 header.
//! Opening one needs `CAP_NET_RAW`.
//!
//! `unsafe` is confined to the four libc calls the standard library does not offer for raw
//! sockets.

use std::io;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// IP protocol number of GRE.
pub const IPPROTO_GRE: libc::c_int = 47;

/// A non-blocking raw IPv4 socket for IP protocol 47.
#[derive(Debug)]
pub struct GreSocket {
    fd: OwnedFd,
}

fn sockaddr(a: Ipv4Addr) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.octets()),
        },
        sin_zero: [0; 8],
    }
}

impl GreSocket {
    /// Open the socket; with `bind`, only packets to that local address are received and it
    /// is the source address of the packets sent.
    pub fn open(bind: Option<Ipv4Addr>) -> Result<GreSocket, String> {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                IPPROTO_GRE,
            )
        };
        if fd < 0 {
            return Err(format!(
                "raw socket for IP protocol 47 (needs CAP_NET_RAW): {}",
                io::Error::last_os_error()
            ));
        }
        // SAFETY: `fd` is a freshly created descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        if let Some(a) = bind.filter(|a| !a.is_unspecified()) {
            let sa = sockaddr(a);
            // SAFETY: `sa` is a valid sockaddr_in for the whole call and its size is passed.
            let rc = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            };
            if rc < 0 {
                return Err(format!(
                    "bind GRE socket to {a}: {}",
                    io::Error::last_os_error()
                ));
            }
        }
        Ok(GreSocket { fd })
    }

    /// Send one GRE packet (no IP header) to `dst`.
    pub fn send_to(&self, dst: Ipv4Addr, packet: &[u8]) -> io::Result<usize> {
        let sa = sockaddr(dst);
        // SAFETY: `packet` and `sa` are valid for the whole call, their sizes are passed.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Receive one packet into `buf`: the source address and where the GRE packet lies in
    /// `buf` (after the IPv4 header, whose length is taken from its IHL). `Ok(None)` when
    /// nothing is waiting; packets too short for their IPv4 header are skipped.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(Ipv4Addr, Range<usize>)>> {
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes during the call.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock => Ok(None),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(e),
                };
            }
            let n = n as usize;
            if let Some(r) = strip_ipv4(&buf[..n]) {
                return Ok(Some(r));
            }
        }
    }
}

/// The source address and the payload range of an IPv4 packet of protocol 47, or `None`
/// when it is not one (short, not version 4, bad IHL, other protocol).
pub fn strip_ipv4(p: &[u8]) -> Option<(Ipv4Addr, Range<usize>)> {
    let first = *p.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 || p.len() < ihl || p[9] != 47 {
        return None;
    }
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    // the kernel hands the datagram as received; trust the shorter of both lengths
    let end = if total >= ihl {
        total.min(p.len())
    } else {
        p.len()
    };
    Some((src, ihl..end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_ipv4_header() {
        let mut p = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 47, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend_from_slice(&[0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 7]);
        let (src, r) = strip_ipv4(&p).unwrap();
        assert_eq!(src, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(r, 20..28);
        p[9] = 17;
        assert!(strip_ipv4(&p).is_none());
        assert!(strip_ipv4(&[0x45]).is_none());
        assert!(strip_ipv4(&[0x4f; 20]).is_none());
    }
}
