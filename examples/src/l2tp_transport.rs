//! L2TPv3 transports for the `l2tp` example binaries: a UDP socket or a raw IPv4 socket for IP
//! protocol 115 (RFC 3931 s4.1.1.1), both non-blocking, both handing out the L2TPv3 part of a
//! datagram and its source address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A raw IPv4 socket for protocol 115. The kernel builds the IP header on send; received
/// packets start with the IPv4 header, which [`RawL2tp::recv`] strips.
pub struct RawL2tp {
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

impl RawL2tp {
    /// A non-blocking raw socket bound to `local`.
    pub fn new(local: Ipv4Addr) -> Result<Self, String> {
        // SAFETY: plain socket(2) call; the descriptor is owned exactly once below.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK,
                libc::c_int::from(l2tp::wire::v3::IP_PROTO_L2TP),
            )
        };
        if fd < 0 {
            return Err(format!(
                "raw socket proto 115: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let sa = sockaddr(local);
        // SAFETY: `sa` is a valid sockaddr_in for the duration of the call.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(format!("bind {local}: {}", std::io::Error::last_os_error()));
        }
        Ok(RawL2tp { fd })
    }

    /// Send one L2TPv3-over-IP packet to `to`.
    pub fn send(&self, pkt: &[u8], to: Ipv4Addr) -> std::io::Result<()> {
        let sa = sockaddr(to);
        // SAFETY: `pkt` and `sa` are valid for the duration of the call; lengths match them.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                pkt.as_ptr() as *const libc::c_void,
                pkt.len(),
                0,
                &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The next packet (IP header stripped) and its source, if one is waiting.
    pub fn recv<'a>(&self, buf: &'a mut [u8]) -> Option<(Ipv4Addr, &'a [u8])> {
        // SAFETY: `buf` is valid for writes of its length for the duration of the call.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        };
        if n <= 0 {
            return None;
        }
        let n = n as usize;
        let ihl = usize::from(buf.first()? & 0x0f) * 4;
        let src = Ipv4Addr::new(*buf.get(12)?, *buf.get(13)?, *buf.get(14)?, *buf.get(15)?);
        if ihl < 20 || n <= ihl {
            return Some((src, &[]));
        }
        Some((src, buf.get(ihl..n)?))
    }
}

/// L2TPv3 over UDP or over IP.
pub enum Transport {
    /// A non-blocking UDP socket.
    Udp(UdpSocket),
    /// A raw IP protocol 115 socket.
    Ip(RawL2tp),
}

impl Transport {
    /// Bind `local` (`port` for UDP; ignored for IP).
    pub fn bind(ip_encap: bool, local: Ipv4Addr, port: u16) -> Result<Self, String> {
        if ip_encap {
            return Ok(Transport::Ip(RawL2tp::new(local)?));
        }
        let s = UdpSocket::bind(SocketAddr::new(IpAddr::V4(local), port))
            .map_err(|e| format!("bind {local}:{port}: {e}"))?;
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        Ok(Transport::Udp(s))
    }

    /// Send to `to` (the port is ignored for IP).
    pub fn send(&self, pkt: &[u8], to: SocketAddr) -> std::io::Result<()> {
        match (self, to.ip()) {
            (Transport::Udp(s), _) => s.send_to(pkt, to).map(|_| ()),
            (Transport::Ip(r), IpAddr::V4(a)) => r.send(pkt, a),
            (Transport::Ip(_), IpAddr::V6(_)) => Err(std::io::Error::other("IPv6 not supported")),
        }
    }

    /// The next datagram and its source (port 0 for IP), if one is waiting.
    pub fn recv<'a>(&self, buf: &'a mut [u8]) -> Option<(SocketAddr, &'a [u8])> {
        match self {
            Transport::Udp(s) => {
                let (n, from) = s.recv_from(buf).ok()?;
                Some((from, buf.get(..n)?))
            }
            Transport::Ip(r) => {
                let (src, p) = r.recv(buf)?;
                Some((SocketAddr::new(IpAddr::V4(src), 0), p))
            }
        }
    }
}
