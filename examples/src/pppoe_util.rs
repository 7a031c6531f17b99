//! The PPPoE examples' link layer: an `AF_PACKET` raw socket bound to one interface that
//! reads and writes whole Ethernet frames, and the interface's MAC address.
//!
//! The socket takes every EtherType (`ETH_P_ALL`) so that VLAN-tagged PPPoE (802.1Q/802.1ad
//! around 0x8863/0x8864) reaches the caller too; [`PacketSocket::recv`] skips the frames the
//! host itself sent (`PACKET_OUTGOING`) and everything that is not PPPoE.
//!
//! Limitation: a tag the kernel or NIC strips on receive (VLAN offload) is not put back
//! (`PACKET_AUXDATA` is not read), so for tagged clients run on the VLAN interface or with
//! `ethtool -K IF rxvlan off`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// PPPoE Discovery and Session EtherTypes.
const ETH_P_PPP_DISC: u16 = 0x8863;
const ETH_P_PPP_SES: u16 = 0x8864;

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_str(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// Whether an Ethernet frame carries PPPoE, possibly under 802.1Q/802.1ad tags.
pub fn is_pppoe(frame: &[u8]) -> bool {
    let mut at = 12;
    while let Some(t) = frame.get(at..at + 2) {
        match u16::from_be_bytes([t[0], t[1]]) {
            0x8100 | 0x88a8 | 0x9100 => at += 4,
            ETH_P_PPP_DISC | ETH_P_PPP_SES => return true,
            _ => return false,
        }
    }
    false
}

/// A non-blocking `AF_PACKET`/`SOCK_RAW` socket bound to one interface.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
    /// The interface's MAC address.
    pub mac: [u8; 6],
}

impl PacketSocket {
    /// Open and bind to `ifname` (needs CAP_NET_RAW).
    pub fn open(ifname: &str) -> Result<Self, String> {
        let cname = std::ffi::CString::new(ifname).map_err(|_| "interface name has a NUL")?;
        // SAFETY: if_nametoindex reads a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) } as i32;
        if ifindex == 0 {
            return Err(format!("{ifname}: {}", io::Error::last_os_error()));
        }
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(proto),
            )
        };
        if raw < 0 {
            return Err(format!("socket(AF_PACKET): {}", io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an all-zero sockaddr_ll is valid; the fields are set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex;
        // SAFETY: bind(2) reads a properly sized, initialised sockaddr_ll.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(format!("bind {ifname}: {}", io::Error::last_os_error()));
        }
        // The interface's MAC: a bound packet socket's own address carries it (this works in
        // whichever network namespace the thread is in, unlike /sys/class/net).
        // SAFETY: an all-zero sockaddr_ll is valid; getsockname(2) writes at most `len` bytes.
        let mut own: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `own` and `len` describe a writable sockaddr_ll of that size.
        let rc = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                &mut own as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                &mut len,
            )
        };
        if rc < 0 || own.sll_halen != 6 {
            return Err(format!(
                "{ifname}: no Ethernet address ({})",
                io::Error::last_os_error()
            ));
        }
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&own.sll_addr[..6]);
        Ok(PacketSocket { fd, ifindex, mac })
    }

    /// The next PPPoE frame received on the interface into `buf` (its length), `None` when
    /// nothing is waiting. Skips outgoing and non-PPPoE frames.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            // SAFETY: zeroed sockaddr_ll is valid; recvfrom writes at most `len` bytes to it.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: `buf` is valid for `buf.len()` bytes; `sll`/`len` as above.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    &mut sll as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                    &mut len,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock => Ok(None),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(e),
                };
            }
            let n = n as usize;
            if sll.sll_pkttype == libc::PACKET_OUTGOING || !is_pppoe(&buf[..n]) {
                continue;
            }
            return Ok(Some(n));
        }
    }

    /// Send one complete Ethernet frame (addresses, tags, EtherType, payload; no FCS).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: zeroed sockaddr_ll is valid; the fields are set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex;
        sll.sll_halen = 6;
        if let Some(d) = frame.get(..6) {
            sll.sll_addr[..6].copy_from_slice(d);
        }
        // SAFETY: `frame` is valid for its length; `sll` is a sized, initialised sockaddr_ll.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Wait until a frame is readable or `timeout` passed.
    pub fn wait(&self, timeout: std::time::Duration) {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(1000) as i32;
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, ms) };
    }
}
