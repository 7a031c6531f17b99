//! Batched UDP for the examples' data paths (Linux): fewer system calls per packet.
//!
//! * [`GsoSender`] sends a run of equal-size datagrams to one destination with a single
//!   `sendmsg` carrying `UDP_SEGMENT` (UDP generic segmentation offload, Linux 4.18): the kernel
//!   walks its UDP/IP stack once for the whole run and splits it late (in the driver, or in
//!   software just before it). A tunnel's full-size packets seal to equal sizes, so a burst read
//!   from a TUN device goes out in one call. Where the kernel refuses GSO the sender falls back to
//!   one `sendmmsg` for the batch, for good.
//! * [`GroReceiver`] turns on `UDP_GRO` (Linux 5.0) and reads with `recvmmsg`: the kernel hands
//!   over up to 64 KiB of back-to-back datagrams of one flow as one buffer plus their segment
//!   size, and several such buffers per call. Without GRO each buffer is one datagram.
//!
//! The protocol crates are untouched by this: each datagram is still one `&mut [u8]` handed to
//! the crate's in-place API. Buffers are allocated once, so the data path does not allocate.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// `UDP_SEGMENT` from `linux/udp.h` (the libc crate exports it only for some C libraries).
const UDP_SEGMENT: libc::c_int = 103;
/// `UDP_GRO` from `linux/udp.h`.
const UDP_GRO: libc::c_int = 104;
/// Most segments the kernel accepts in one GSO send (`UDP_MAX_SEGMENTS`).
const MAX_SEGMENTS: usize = 64;
/// Most payload bytes of one UDP datagram over IPv4 (and so of one GSO send).
const MAX_GSO_BYTES: usize = 65_507;

fn to_storage(a: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    let len = match a {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn from_storage(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match ss.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin = unsafe { &*(ss as *const _ as *const libc::sockaddr_in) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6 = unsafe { &*(ss as *const _ as *const libc::sockaddr_in6) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Room for one control message carrying an `int` or a `u16` (CMSG_SPACE of 4 bytes, rounded up).
const CMSG_ROOM: usize = 32;

/// Counters of a [`GsoSender`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendStats {
    /// Datagrams handed to the kernel.
    pub datagrams: u64,
    /// System calls made for them.
    pub calls: u64,
    /// Datagrams the kernel refused (a full socket buffer: dropped, as a router drops).
    pub dropped: u64,
    /// The OS error number of the last refusal.
    pub last_error: Option<i32>,
}

/// Sends batches of datagrams, runs of equal size to one destination in one GSO `sendmsg`.
#[derive(Debug)]
pub struct GsoSender {
    gso: bool,
    /// Smallest segment size the kernel refused with EMSGSIZE (a datagram larger than the
    /// path MTU: GSO does not fragment, so such datagrams go out one by one, fragmented).
    too_big: usize,
    stats: SendStats,
}

impl Default for GsoSender {
    fn default() -> Self {
        Self::new()
    }
}

impl GsoSender {
    /// A sender that tries GSO first (it falls back by itself when the kernel refuses it).
    pub fn new() -> Self {
        GsoSender {
            gso: true,
            too_big: usize::MAX,
            stats: SendStats::default(),
        }
    }

    /// A sender that never uses GSO (one `sendmmsg` per batch).
    pub fn without_gso() -> Self {
        GsoSender {
            gso: false,
            too_big: usize::MAX,
            stats: SendStats::default(),
        }
    }

    /// Whether GSO is (still) in use.
    pub fn gso(&self) -> bool {
        self.gso
    }

    /// The counters so far.
    pub fn stats(&self) -> SendStats {
        self.stats
    }

    /// Sends every datagram of `segs` to `dst`, in order. Consecutive datagrams of one size go
    /// out as one GSO send (a last, shorter one may close the run, as GSO allows).
    pub fn send(&mut self, sock: &UdpSocket, dst: SocketAddr, segs: &[&[u8]]) {
        let mut i = 0;
        while i < segs.len() {
            if !self.gso {
                self.send_mmsg(sock, dst, &segs[i..]);
                return;
            }
            let size = segs[i].len();
            let mut j = i + 1;
            let mut total = size;
            while j < segs.len()
                && j - i < MAX_SEGMENTS
                && segs[j].len() <= size
                && total + segs[j].len() <= MAX_GSO_BYTES
                && size > 0
            {
                total += segs[j].len();
                j += 1;
                if segs[j - 1].len() < size {
                    break; // a shorter datagram ends the run
                }
            }
            if j - i == 1 || size >= self.too_big {
                self.send_mmsg(sock, dst, &segs[i..j]);
            } else {
                match self.send_gso(sock, dst, &segs[i..j], size) {
                    GsoResult::Sent => {}
                    GsoResult::TooBig => {
                        // Larger than the path MTU: the kernel fragments only datagrams sent
                        // one by one.
                        self.too_big = self.too_big.min(size);
                        self.send_mmsg(sock, dst, &segs[i..j]);
                    }
                    GsoResult::Unsupported => {
                        // GSO refused: from now on, batches go out with sendmmsg.
                        self.gso = false;
                        self.send_mmsg(sock, dst, &segs[i..j]);
                    }
                }
            }
            i = j;
        }
    }

    /// One `sendmsg` with `UDP_SEGMENT = size`.
    fn send_gso(
        &mut self,
        sock: &UdpSocket,
        dst: SocketAddr,
        segs: &[&[u8]],
        size: usize,
    ) -> GsoResult {
        let (mut ss, sslen) = to_storage(dst);
        let mut iov: [libc::iovec; MAX_SEGMENTS] = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_SEGMENTS];
        for (v, s) in iov.iter_mut().zip(segs) {
            v.iov_base = s.as_ptr() as *mut libc::c_void;
            v.iov_len = s.len();
        }
        let mut control = [0u64; CMSG_ROOM / 8];
        // SAFETY: msghdr is plain old data; all-zero is a valid value.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = &mut ss as *mut _ as *mut libc::c_void;
        msg.msg_namelen = sslen;
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = segs.len() as _;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        // SAFETY: CMSG_SPACE only computes a size.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as _;
        // SAFETY: msg_control points at `control`, which is CMSG_ROOM bytes and 8-aligned, and
        // msg_controllen covers one header with a u16 payload, so the first header and its data
        // are inside `control`.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_UDP;
            (*c).cmsg_type = UDP_SEGMENT;
            (*c).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut u16, size as u16);
        }
        // SAFETY: every pointer in `msg` refers to live buffers of the stated lengths.
        let r = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_DONTWAIT) };
        self.stats.calls += 1;
        if r >= 0 {
            self.stats.datagrams += segs.len() as u64;
            return GsoResult::Sent;
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::EMSGSIZE) => GsoResult::TooBig,
            // Not supported here (old kernel, or a device path without it).
            Some(libc::EIO)
            | Some(libc::EINVAL)
            | Some(libc::ENOPROTOOPT)
            | Some(libc::EOPNOTSUPP) => GsoResult::Unsupported,
            e => {
                self.stats.dropped += segs.len() as u64;
                self.stats.last_error = e;
                GsoResult::Sent
            }
        }
    }

    /// `sendmmsg` of every datagram (one message each), repeated until all were offered.
    fn send_mmsg(&mut self, sock: &UdpSocket, dst: SocketAddr, segs: &[&[u8]]) {
        let (mut ss, sslen) = to_storage(dst);
        let mut done = 0;
        while done < segs.len() {
            let n = (segs.len() - done).min(MAX_SEGMENTS);
            let mut iov: [libc::iovec; MAX_SEGMENTS] = [libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }; MAX_SEGMENTS];
            // SAFETY: mmsghdr is plain old data; all-zero is a valid value.
            let mut msgs: [libc::mmsghdr; MAX_SEGMENTS] = unsafe { zeroed() };
            for k in 0..n {
                let s = segs[done + k];
                iov[k].iov_base = s.as_ptr() as *mut libc::c_void;
                iov[k].iov_len = s.len();
                let h = &mut msgs[k].msg_hdr;
                h.msg_name = &mut ss as *mut _ as *mut libc::c_void;
                h.msg_namelen = sslen;
                h.msg_iov = &mut iov[k];
                h.msg_iovlen = 1;
            }
            // SAFETY: the first n messages point at live buffers of the stated lengths.
            let r = unsafe {
                libc::sendmmsg(
                    sock.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    n as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            self.stats.calls += 1;
            if r <= 0 {
                // A full socket buffer (or a transient error): drop the rest of this batch.
                self.stats.last_error = io::Error::last_os_error().raw_os_error();
                self.stats.dropped += n as u64;
                done += n;
            } else {
                self.stats.datagrams += r as u64;
                done += r as usize;
            }
        }
    }
}

enum GsoResult {
    /// Sent, or dropped for a full socket buffer (counted).
    Sent,
    /// EMSGSIZE: a segment is larger than the path MTU allows.
    TooBig,
    /// The kernel does not do UDP GSO here.
    Unsupported,
}

/// Counters of a [`GroReceiver`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecvStats {
    /// Datagrams delivered to the callback.
    pub datagrams: u64,
    /// Buffers the kernel filled (with GRO one buffer holds several datagrams).
    pub buffers: u64,
    /// `recvmmsg` calls that returned data.
    pub calls: u64,
}

/// Reads datagrams with `recvmmsg`, with UDP GRO when the kernel offers it.
pub struct GroReceiver {
    bufs: Vec<Vec<u8>>,
    names: Vec<libc::sockaddr_storage>,
    controls: Vec<[u64; CMSG_ROOM / 8]>,
    gro: bool,
    stats: RecvStats,
}

impl GroReceiver {
    /// A receiver of `batch` buffers of 64 KiB for `sock`; `gro` asks for UDP GRO (it is used
    /// only if `setsockopt` accepts it).
    pub fn new(sock: &UdpSocket, batch: usize, gro: bool) -> Self {
        let batch = batch.clamp(1, 64);
        let on: libc::c_int = 1;
        // SAFETY: setsockopt reads an int from a live local for its stated size.
        let gro = gro
            && unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_UDP,
                    UDP_GRO,
                    &on as *const _ as *const libc::c_void,
                    size_of::<libc::c_int>() as libc::socklen_t,
                )
            } == 0;
        GroReceiver {
            bufs: vec![vec![0u8; 65_536]; batch],
            // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
            names: vec![unsafe { zeroed() }; batch],
            controls: vec![[0u64; CMSG_ROOM / 8]; batch],
            gro,
            stats: RecvStats::default(),
        }
    }

    /// Whether the kernel coalesces datagrams for us.
    pub fn gro(&self) -> bool {
        self.gro
    }

    /// The counters so far.
    pub fn stats(&self) -> RecvStats {
        self.stats
    }

    /// One non-blocking `recvmmsg`; `each(source, datagram)` is called for every datagram
    /// received, in order, with the datagram writable in place. Returns how many datagrams were
    /// delivered (0 when nothing was waiting).
    pub fn recv(&mut self, sock: &UdpSocket, mut each: impl FnMut(SocketAddr, &mut [u8])) -> usize {
        let n = self.bufs.len();
        // SAFETY: mmsghdr is plain old data; all-zero is a valid value.
        let mut msgs: [libc::mmsghdr; 64] = unsafe { zeroed() };
        let mut iovs: [libc::iovec; 64] = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; 64];
        for k in 0..n {
            iovs[k].iov_base = self.bufs[k].as_mut_ptr() as *mut libc::c_void;
            iovs[k].iov_len = self.bufs[k].len();
            let h = &mut msgs[k].msg_hdr;
            h.msg_name = &mut self.names[k] as *mut _ as *mut libc::c_void;
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut iovs[k];
            h.msg_iovlen = 1;
            h.msg_control = self.controls[k].as_mut_ptr() as *mut libc::c_void;
            h.msg_controllen = CMSG_ROOM as _;
        }
        // SAFETY: the first n messages point at live buffers of the stated lengths.
        let r = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                msgs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r <= 0 {
            return 0;
        }
        self.stats.calls += 1;
        let mut delivered = 0;
        for (k, m) in msgs.iter().enumerate().take(r as usize) {
            let len = m.msg_len as usize;
            let Some(src) = from_storage(&self.names[k]) else {
                continue;
            };
            let mut seg = len;
            // SAFETY: msg_control/msg_controllen were set by the kernel within `controls[k]`;
            // CMSG_FIRSTHDR/NXTHDR stay inside that range and the data read is an int.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(&m.msg_hdr);
                while !c.is_null() {
                    if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == UDP_GRO {
                        let v = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::c_int);
                        if v > 0 {
                            seg = v as usize;
                        }
                    }
                    c = libc::CMSG_NXTHDR(&m.msg_hdr, c);
                }
            }
            self.stats.buffers += 1;
            let buf = &mut self.bufs[k][..len];
            for d in buf.chunks_mut(seg.max(1)) {
                each(src, d);
                delivered += 1;
            }
        }
        self.stats.datagrams += delivered as u64;
        delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    fn drain(rx: &mut GroReceiver, b: &UdpSocket, want: usize) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut got = Vec::new();
        for _ in 0..200 {
            rx.recv(b, |s, d| got.push((s, d.to_vec())));
            if got.len() >= want {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        got
    }

    /// 40 equal datagrams and a short last one: one GSO call (where the kernel supports it),
    /// received intact and in order through GRO or not, each with the sender's address.
    #[test]
    fn gso_run_arrives_as_separate_datagrams_in_order() {
        for (gso, gro) in [(true, true), (true, false), (false, true), (false, false)] {
            let (a, b) = pair();
            let mut tx = if gso {
                GsoSender::new()
            } else {
                GsoSender::without_gso()
            };
            let mut rx = GroReceiver::new(&b, 8, gro);
            let data: Vec<Vec<u8>> = (0..41u8)
                .map(|i| vec![i; if i == 40 { 100 } else { 1200 }])
                .collect();
            let segs: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
            tx.send(&a, b.local_addr().unwrap(), &segs);
            let st = tx.stats();
            assert_eq!(st.datagrams, 41, "gso={gso}: {st:?}");
            if tx.gso() {
                assert_eq!(st.calls, 1, "one GSO sendmsg for the run");
            }
            let got = drain(&mut rx, &b, 41);
            assert_eq!(got.len(), 41, "gso={gso} gro={gro}");
            for (i, (src, d)) in got.iter().enumerate() {
                assert_eq!(*src, a.local_addr().unwrap());
                assert_eq!(d, &data[i], "datagram {i} (gso={gso} gro={gro})");
            }
            assert_eq!(rx.stats().datagrams, 41);
        }
    }

    /// Mixed sizes: each change of size starts a new run; order and content are kept.
    #[test]
    fn mixed_sizes_keep_order() {
        let (a, b) = pair();
        let mut tx = GsoSender::new();
        let mut rx = GroReceiver::new(&b, 16, true);
        let sizes = [500usize, 500, 500, 1300, 1300, 20, 700, 700, 700, 700, 64];
        let data: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|k| (k as u8) ^ (i as u8)).collect())
            .collect();
        let segs: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
        tx.send(&a, b.local_addr().unwrap(), &segs);
        let got = drain(&mut rx, &b, sizes.len());
        let got: Vec<Vec<u8>> = got.into_iter().map(|(_, d)| d).collect();
        assert_eq!(got, data);
        if tx.gso() {
            assert!(tx.stats().calls < sizes.len() as u64, "{:?}", tx.stats());
        }
    }

    /// Address conversion both ways, IPv4 and IPv6 (with scope id).
    #[test]
    fn sockaddr_round_trip() {
        for a in [
            "192.0.2.7:51820".parse::<SocketAddr>().unwrap(),
            "[2001:db8::9]:500".parse().unwrap(),
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 7, 0, 3)),
        ] {
            let (ss, _) = to_storage(a);
            assert_eq!(from_storage(&ss), Some(a));
        }
    }
}
