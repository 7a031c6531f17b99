//! `ptp` - a PTP (IEEE 1588-2008) ordinary / boundary clock daemon built on the sans-IO `ptp`
//! crate, with Linux SO_TIMESTAMPING.
//!
//! ```text
//! ptp --help
//! ptp --iface IF [--iface IF2 ...] [--transport ipv4|l2-forwardable|l2-non-forwardable]
//!     [--profile default|802.1as|aes67|g8275.1|smpte] [--delay e2e|p2p] [--domain N]
//!     [--priority1 N] [--priority2 N] [--slave-only] [--free-running | --steer-clock]
//!     [--duration SECS] [--monitor SECS] [--name NAME] [--neighbor-prop-delay-thresh NS]
//! ptp --config FILE.rsc [--name NAME] [--iface IF ...] [options as above]
//! ptp --config examples/rsc/ptp.rsc
//! ```
//!
//! * `--config FILE.rsc`: a RouterOS export (see `examples::rsc_config::ptp`): `/system ptp
//!   add` (the instance named by `--name`, default the first one: `name`, `comment`,
//!   `profile`, `domain`, `delay-mode`, `priority1`, `priority2`, `transport`, `auto` for what
//!   it leaves out) and its `/system ptp port add interface=... ptp=...` entries (the ports).
//!   Options given on the command line override the file (`--iface` its ports). Unknown
//!   properties are warned about with their line.
//!
//! * Timestamps: hardware (SOF_TIMESTAMPING_{TX,RX,RAW}_HARDWARE, SIOCSHWTSTAMP, PHC steered with
//!   clock_adjtime) when `ethtool` reports a PHC and hardware timestamping for every interface;
//!   software timestamps (CLOCK_REALTIME) otherwise (veth).
//! * `--free-running` (the default): measure and report only; the system clock / PHC is never
//!   touched. `--steer-clock` applies the servo's step and frequency adjustments.
//! * Prints one `offset` line per sample and the RouterOS-style monitor every `--monitor`
//!   seconds and at exit.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use ptp::wire::{ClockIdentity, Time};
use ptp::{Clock, Config, DelayMechanism, Destination, Event, PortConfig, Profile, Transport};
use ptp::{ServoConfig, Timestamping};
use tracing::{debug, error, warn};

// Linux UAPI constants (kept local so the example does not depend on a libc version).
const SO_TIMESTAMPING: libc::c_int = 37;
const SOF_TX_HARDWARE: u32 = 1 << 0;
const SOF_TX_SOFTWARE: u32 = 1 << 1;
const SOF_RX_HARDWARE: u32 = 1 << 2;
const SOF_RX_SOFTWARE: u32 = 1 << 3;
const SOF_SOFTWARE: u32 = 1 << 4;
const SOF_RAW_HARDWARE: u32 = 1 << 6;
const SIOCETHTOOL: libc::c_ulong = 0x8946;
const SIOCSHWTSTAMP: libc::c_ulong = 0x89b0;
const ETHTOOL_GET_TS_INFO: u32 = 0x41;
const SOL_PACKET: libc::c_int = 263;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_MR_MULTICAST: u16 = 0;
const PACKET_OUTGOING: u8 = 4;
const ETH_P_1588: u16 = 0x88F7;
const MSG_ERRQUEUE: libc::c_int = 0x2000;
const IP_MULTICAST_IF: libc::c_int = 32;
const IP_MULTICAST_TTL: libc::c_int = 33;
const IP_MULTICAST_LOOP: libc::c_int = 34;
const IP_ADD_MEMBERSHIP: libc::c_int = 35;
const IP_MULTICAST_ALL: libc::c_int = 49;
const SO_BINDTODEVICE: libc::c_int = 25;
const ADJ_FREQUENCY: u32 = 0x0002;

#[derive(Clone)]
struct Args {
    ifaces: Vec<String>,
    /// The ports (one per entry of `ifaces`, same order).
    ports: Vec<PortConfig>,
    comment: String,
    transport: Option<Transport>,
    profile: Profile,
    delay: Option<DelayMechanism>,
    domain: Option<u8>,
    priority1: Option<u8>,
    priority2: Option<u8>,
    slave_only: bool,
    steer: bool,
    duration: Option<f64>,
    monitor: f64,
    name: String,
    verbose: bool,
    neighbor_thresh_ns: Option<u64>,
}

/// A PTP (IEEE 1588-2008) ordinary / boundary clock daemon built on the sans-IO `ptp` crate,
/// with Linux SO_TIMESTAMPING (RouterOS `/system ptp`).
///
/// Hardware timestamps (PHC steered with clock_adjtime) when `ethtool` reports a PHC and
/// hardware timestamping for every interface; software timestamps (CLOCK_REALTIME) otherwise
/// (veth). Prints one `offset` line per sample on stdout and the RouterOS-style monitor every
/// --monitor seconds and at exit. Dropped messages are logged at debug level (-v, or
/// RUST_LOG=debug) with a summary at info every 10 s.
#[derive(Parser, Debug)]
#[command(name = "ptp", version)]
struct Cli {
    /// RouterOS export (`.rsc`) with `/system ptp add ...` (the instance named by --name if
    /// given, else the first) and its `/system ptp port add interface=... ptp=...` ports.
    /// Options given on the command line override the file (--iface its ports). Unknown
    /// properties are warned about with their line. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// A port's interface (RouterOS `/system ptp port` `interface`); repeat for a boundary
    /// clock. Required unless --config gives ports.
    #[arg(
        long = "iface",
        short = 'i',
        required_unless_present = "config",
        value_name = "IF"
    )]
    ifaces: Vec<String>,
    /// Transport (RouterOS `transport`, default auto: the profile's, ipv4 for
    /// default/aes67/smpte, l2-non-forwardable for 802.1as/g8275.1).
    #[arg(long, value_enum, ignore_case = true)]
    transport: Option<TransportArg>,
    /// Profile (RouterOS `profile`, default `default`).
    #[arg(long, value_enum, default_value_t = ProfileArg::Default, ignore_case = true)]
    profile: ProfileArg,
    /// Delay mechanism (RouterOS `delay-mode`, default auto: p2p for 802.1as, e2e otherwise).
    #[arg(long, visible_alias = "delay-mode", value_enum, ignore_case = true)]
    delay: Option<DelayArg>,
    /// PTP domain (RouterOS `domain`, default auto: 24 for g8275.1, 127 for smpte, 0
    /// otherwise).
    #[arg(long, value_name = "N")]
    domain: Option<u8>,
    /// priority1 (RouterOS `priority1`, default auto: 246 for 802.1as, 128 otherwise).
    #[arg(long, value_name = "N")]
    priority1: Option<u8>,
    /// priority2 (RouterOS `priority2`, default auto: 248 for 802.1as, 128 otherwise).
    #[arg(long, value_name = "N")]
    priority2: Option<u8>,
    /// Never become master (defaultDS.slaveOnly, linuxptp `-s`; not a RouterOS property).
    #[arg(long, short = 's')]
    slave_only: bool,
    /// Measure and report only: the system clock / PHC is never touched (the default).
    #[arg(long, conflicts_with = "steer_clock")]
    free_running: bool,
    /// Apply the servo's step and frequency adjustments to the clock (default off: free
    /// running).
    #[arg(long)]
    steer_clock: bool,
    /// Exit after this many seconds (default: run until killed).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Print the RouterOS-style monitor every SECS seconds.
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    monitor: f64,
    /// Instance name (RouterOS `name`); with --config, the instance to use (default: the
    /// file's first and its name).
    #[arg(long, default_value = "ptp1")]
    name: String,
    /// Log every dropped message (the same as RUST_LOG=debug; default: a summary at info).
    #[arg(long, short = 'v')]
    verbose: bool,
    /// 802.1AS neighborPropDelayThresh in ns (default 800, linuxptp gPTP.cfg; 802.1as only, not
    /// a RouterOS property).
    #[arg(long = "neighbor-prop-delay-thresh", value_name = "NS")]
    neighbor_thresh_ns: Option<u64>,
}

/// PTP transports.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum TransportArg {
    /// The profile's default.
    Auto,
    /// UDP over IPv4 (ports 319/320).
    #[value(alias = "4")]
    Ipv4,
    /// Ethernet, forwardable multicast 01-1B-19-00-00-00.
    #[value(alias = "l2", alias = "2")]
    L2Forwardable,
    /// Ethernet, non-forwardable multicast 01-80-C2-00-00-0E.
    L2NonForwardable,
}

/// PTP profiles.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum ProfileArg {
    /// IEEE 1588 default (E2E).
    Default,
    /// IEEE 802.1AS (gPTP).
    #[value(name = "802.1as")]
    Ieee8021As,
    /// AES67 media.
    Aes67,
    /// ITU-T G.8275.1 telecom.
    #[value(name = "g8275.1")]
    G8275_1,
    /// SMPTE ST 2059-2.
    Smpte,
}

/// Delay mechanisms.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum DelayArg {
    /// End to end (Delay_Req/Delay_Resp).
    E2e,
    /// Peer to peer (Pdelay).
    P2p,
}

fn parse_args() -> Result<Args, String> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let c = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let given = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(clap::parser::ValueSource::CommandLine)
        )
    };
    let mut args = Args {
        ports: c.ifaces.iter().map(PortConfig::new).collect(),
        ifaces: c.ifaces,
        comment: String::new(),
        transport: match c.transport {
            None | Some(TransportArg::Auto) => None,
            Some(TransportArg::Ipv4) => Some(Transport::Ipv4),
            Some(TransportArg::L2Forwardable) => Some(Transport::L2Forwardable),
            Some(TransportArg::L2NonForwardable) => Some(Transport::L2NonForwardable),
        },
        profile: match c.profile {
            ProfileArg::Default => Profile::Default,
            ProfileArg::Ieee8021As => Profile::Ieee8021As,
            ProfileArg::Aes67 => Profile::Aes67,
            ProfileArg::G8275_1 => Profile::G8275_1,
            ProfileArg::Smpte => Profile::Smpte,
        },
        delay: c.delay.map(|d| match d {
            DelayArg::E2e => DelayMechanism::E2e,
            DelayArg::P2p => DelayMechanism::P2p,
        }),
        domain: c.domain,
        priority1: c.priority1,
        priority2: c.priority2,
        slave_only: c.slave_only,
        steer: c.steer_clock && !c.free_running,
        duration: c.duration,
        monitor: c.monitor,
        name: c.name,
        verbose: c.verbose,
        neighbor_thresh_ns: c.neighbor_thresh_ns,
    };
    if let Some(path) = &c.config {
        // The file, then what the command line gave explicitly.
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let name = given("name").then_some(args.name.as_str());
        let r = examples::rsc_config::ptp(&text, name).map_err(|e| format!("{path}: {e}"))?;
        r.notes.log(path);
        let f = r.config;
        if !given("name") {
            args.name = f.name;
        }
        args.comment = f.comment;
        if !given("profile") {
            args.profile = f.profile;
        }
        if !given("transport") {
            args.transport = f.transport;
        }
        args.delay = args.delay.or(f.delay_mode);
        args.domain = args.domain.or(f.domain);
        args.priority1 = args.priority1.or(f.priority1);
        args.priority2 = args.priority2.or(f.priority2);
        if args.ports.is_empty() {
            if f.ports.is_empty() {
                return Err(format!(
                    "{path}: no `/system ptp port add` for the instance, and no --iface"
                ));
            }
            args.ifaces = f.ports.iter().map(|p| p.interface.clone()).collect();
            args.ports = f.ports;
        } else if !f.ports.is_empty() {
            tracing::info!("{path}: --iface given; the file's ports are not used");
        }
    }
    Ok(args)
}

fn last_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn check(rc: libc::c_int, what: &str) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(last_err(what))
    } else {
        Ok(rc)
    }
}

fn setsockopt<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
    what: &str,
) -> io::Result<()> {
    // SAFETY: `val` points to a live T of the given size for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    check(rc, what).map(|_| ())
}

fn ifindex(name: &str) -> io::Result<i32> {
    let c = std::ffi::CString::new(name).map_err(|_| io::Error::other("bad interface name"))?;
    // SAFETY: valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        return Err(last_err(name));
    }
    Ok(i as i32)
}

fn mac_of(name: &str) -> io::Result<[u8; 6]> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{name}/address"))?;
    let mut mac = [0u8; 6];
    for (i, p) in s.trim().split(':').enumerate().take(6) {
        mac[i] = u8::from_str_radix(p, 16).map_err(|_| io::Error::other("bad MAC"))?;
    }
    Ok(mac)
}

#[repr(C)]
struct Ifreq {
    name: [u8; 16],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

fn ifreq(name: &str, data: *mut libc::c_void) -> Ifreq {
    let mut n = [0u8; 16];
    for (d, s) in n.iter_mut().zip(name.bytes().take(15)) {
        *d = s;
    }
    Ifreq {
        name: n,
        data,
        _pad: [0; 16],
    }
}

#[repr(C)]
#[derive(Default)]
struct EthtoolTsInfo {
    cmd: u32,
    so_timestamping: u32,
    phc_index: i32,
    tx_types: u32,
    tx_reserved: [u32; 3],
    rx_filters: u32,
    rx_reserved: [u32; 3],
}

/// `ethtool -T`: (hardware timestamping possible, PHC index).
fn ts_info(fd: RawFd, iface: &str) -> (bool, i32) {
    let mut info = EthtoolTsInfo {
        cmd: ETHTOOL_GET_TS_INFO,
        ..Default::default()
    };
    let mut req = ifreq(iface, (&mut info as *mut EthtoolTsInfo).cast());
    // SAFETY: SIOCETHTOOL reads/writes the ethtool_ts_info that req.data points to.
    let rc = unsafe { libc::ioctl(fd, SIOCETHTOOL as _, &mut req as *mut Ifreq) };
    if rc < 0 {
        return (false, -1);
    }
    let need = SOF_TX_HARDWARE | SOF_RX_HARDWARE | SOF_RAW_HARDWARE;
    (
        info.so_timestamping & need == need && info.phc_index >= 0,
        info.phc_index,
    )
}

#[repr(C)]
struct HwtstampConfig {
    flags: i32,
    tx_type: i32,
    rx_filter: i32,
}

fn enable_hw_timestamping(fd: RawFd, iface: &str) -> io::Result<()> {
    // HWTSTAMP_TX_ON = 1, HWTSTAMP_FILTER_PTP_V2_EVENT = 12 (fall back to ALL = 1).
    for filter in [12, 1] {
        let mut cfg = HwtstampConfig {
            flags: 0,
            tx_type: 1,
            rx_filter: filter,
        };
        let mut req = ifreq(iface, (&mut cfg as *mut HwtstampConfig).cast());
        // SAFETY: SIOCSHWTSTAMP reads/writes the hwtstamp_config req.data points to.
        let rc = unsafe { libc::ioctl(fd, SIOCSHWTSTAMP as _, &mut req as *mut Ifreq) };
        if rc == 0 {
            return Ok(());
        }
    }
    Err(last_err("SIOCSHWTSTAMP"))
}

fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; on success we own the returned descriptor.
    let fd = check(
        unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) },
        "socket",
    )?;
    // SAFETY: fd is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn enable_timestamping(fd: RawFd, hw: bool) -> io::Result<()> {
    let flags: u32 = if hw {
        SOF_TX_HARDWARE | SOF_RX_HARDWARE | SOF_RAW_HARDWARE
    } else {
        SOF_TX_SOFTWARE | SOF_RX_SOFTWARE | SOF_SOFTWARE
    };
    setsockopt(
        fd,
        libc::SOL_SOCKET,
        SO_TIMESTAMPING,
        &flags,
        "SO_TIMESTAMPING",
    )
}

fn udp_socket(iface: &str, ifx: i32, port: u16, hw: bool) -> io::Result<OwnedFd> {
    let s = socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    let fd = s.as_raw_fd();
    let one: libc::c_int = 1;
    let zero: libc::c_int = 0;
    setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_REUSEADDR,
        &one,
        "SO_REUSEADDR",
    )?;
    let mut dev = iface.as_bytes().to_vec();
    dev.push(0);
    // SAFETY: dev is a live NUL-terminated buffer.
    check(
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                SO_BINDTODEVICE,
                dev.as_ptr().cast(),
                dev.len() as libc::socklen_t,
            )
        },
        "SO_BINDTODEVICE",
    )?;
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    // SAFETY: addr is a valid sockaddr_in.
    check(
        unsafe {
            libc::bind(
                fd,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            )
        },
        "bind",
    )?;
    for group in [[224, 0, 1, 129], [224, 0, 0, 107]] {
        let m = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from_ne_bytes(group),
            },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: ifx,
        };
        setsockopt(
            fd,
            libc::IPPROTO_IP,
            IP_ADD_MEMBERSHIP,
            &m,
            "IP_ADD_MEMBERSHIP",
        )?;
    }
    let m = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifx,
    };
    setsockopt(fd, libc::IPPROTO_IP, IP_MULTICAST_IF, &m, "IP_MULTICAST_IF")?;
    setsockopt(
        fd,
        libc::IPPROTO_IP,
        IP_MULTICAST_LOOP,
        &zero,
        "IP_MULTICAST_LOOP",
    )?;
    setsockopt(
        fd,
        libc::IPPROTO_IP,
        IP_MULTICAST_ALL,
        &zero,
        "IP_MULTICAST_ALL",
    )?;
    setsockopt(
        fd,
        libc::IPPROTO_IP,
        IP_MULTICAST_TTL,
        &one,
        "IP_MULTICAST_TTL",
    )?;
    if port == 319 {
        enable_timestamping(fd, hw)?;
    }
    Ok(s)
}

#[repr(C)]
struct PacketMreq {
    ifindex: libc::c_int,
    ty: u16,
    alen: u16,
    addr: [u8; 8],
}

fn l2_socket(ifx: i32, hw: bool) -> io::Result<OwnedFd> {
    let s = socket(
        libc::AF_PACKET,
        libc::SOCK_RAW,
        i32::from(ETH_P_1588.to_be()),
    )?;
    let fd = s.as_raw_fd();
    // SAFETY: zeroed sockaddr_ll is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_1588.to_be();
    sll.sll_ifindex = ifx;
    // SAFETY: sll is a valid sockaddr_ll.
    check(
        unsafe {
            libc::bind(
                fd,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        },
        "bind packet",
    )?;
    for mac in [[0x01, 0x1B, 0x19, 0, 0, 0], [0x01, 0x80, 0xC2, 0, 0, 0x0E]] {
        let mut addr = [0u8; 8];
        addr[..6].copy_from_slice(&mac);
        let m = PacketMreq {
            ifindex: ifx,
            ty: PACKET_MR_MULTICAST,
            alen: 6,
            addr,
        };
        setsockopt(
            fd,
            SOL_PACKET,
            PACKET_ADD_MEMBERSHIP,
            &m,
            "PACKET_ADD_MEMBERSHIP",
        )?;
    }
    enable_timestamping(fd, hw)?;
    Ok(s)
}

enum PortIo {
    Udp {
        event: OwnedFd,
        general: OwnedFd,
    },
    L2 {
        sock: OwnedFd,
        ifx: i32,
        mac: [u8; 6],
    },
}

/// recvmsg with control data; returns (len, timestamp, packet type for AF_PACKET).
fn recv(
    fd: RawFd,
    buf: &mut [u8],
    flags: libc::c_int,
    hw: bool,
) -> io::Result<(usize, Option<Time>, u8)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut ctrl = [0u64; 64];
    // SAFETY: zeroed sockaddr_ll and msghdr are valid values.
    let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&ctrl);
    // SAFETY: msg points to live buffers of the declared sizes.
    let n = unsafe { libc::recvmsg(fd, &mut msg, flags | libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut ts = None;
    // SAFETY: walking the control buffer the kernel filled, with the libc CMSG helpers.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == SO_TIMESTAMPING {
                let p = libc::CMSG_DATA(c).cast::<libc::timespec>();
                let t = std::ptr::read_unaligned(p.add(if hw { 2 } else { 0 }));
                if t.tv_sec != 0 || t.tv_nsec != 0 {
                    ts = Some(Time::from_nanos(
                        i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec),
                    ));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, ts, from.sll_pkttype))
}

/// Wait up to `max` for the transmit timestamp of `sent` on `fd`'s error queue. The kernel
/// loops back a copy of every timestamped packet (general messages too, on an L2 socket), so
/// entries are matched by content and stale ones are discarded.
fn tx_timestamp(fd: RawFd, hw: bool, max: Duration, sent: &[u8]) -> Option<Time> {
    let end = Instant::now() + max;
    let mut buf = [0u8; 2048];
    loop {
        while let Ok((n, ts, _)) = recv(fd, &mut buf, MSG_ERRQUEUE, hw) {
            let got = &buf[..n.min(buf.len())];
            if ts.is_some() && got.len() >= sent.len() && got.windows(sent.len()).any(|w| w == sent)
            {
                return ts;
            }
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLPRI,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, left.as_millis().max(1) as i32) };
    }
}

fn send_udp(fd: RawFd, dest: Destination, port: u16, bytes: &[u8]) -> io::Result<()> {
    let g = Transport::ipv4_group(dest);
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(g),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: bytes and addr are valid for the call.
    let rc = unsafe {
        libc::sendto(
            fd,
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    if rc < 0 {
        return Err(last_err("sendto"));
    }
    Ok(())
}

fn send_l2(fd: RawFd, ifx: i32, src: [u8; 6], dst: [u8; 6], bytes: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(14 + bytes.len());
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&ETH_P_1588.to_be_bytes());
    frame.extend_from_slice(bytes);
    // SAFETY: zeroed sockaddr_ll is valid.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_1588.to_be();
    sll.sll_ifindex = ifx;
    sll.sll_halen = 6;
    sll.sll_addr[..6].copy_from_slice(&dst);
    // SAFETY: frame and sll are valid for the call.
    let rc = unsafe {
        libc::sendto(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc < 0 {
        return Err(last_err("sendto packet"));
    }
    Ok(())
}

/// The clock the timestamps are taken on: CLOCK_REALTIME (software) or a PHC.
struct TimeSource {
    clockid: libc::clockid_t,
    _phc: Option<std::fs::File>,
    /// The clock's frequency adjustment when we started, ppb: the servo's frequency is
    /// relative to the rate it measured, which already includes it (as linuxptp reads the
    /// adjustment at start and builds on it).
    base_ppb: f64,
}

impl TimeSource {
    fn now(&self) -> Time {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid timespec out-pointer.
        unsafe { libc::clock_gettime(self.clockid, &mut ts) };
        Time::from_nanos(i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec))
    }

    fn step(&self, by: Time) -> io::Result<()> {
        let t = self.now() + by;
        let ns = t.nanos_floor();
        let ts = libc::timespec {
            tv_sec: (ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        };
        // SAFETY: valid timespec.
        check(
            unsafe { libc::clock_settime(self.clockid, &ts) },
            "clock_settime",
        )
        .map(|_| ())
    }

    /// The current frequency adjustment, ppb.
    fn frequency(clockid: libc::clockid_t) -> io::Result<f64> {
        // SAFETY: zeroed timex is valid; modes 0 only reads.
        let mut tx: libc::timex = unsafe { std::mem::zeroed() };
        // SAFETY: valid timex.
        check(
            unsafe { libc::clock_adjtime(clockid, &mut tx) },
            "clock_adjtime",
        )?;
        Ok(tx.freq as f64 / 65.536)
    }

    fn set_frequency(&self, ppb: f64) -> io::Result<()> {
        // SAFETY: zeroed timex is valid.
        let mut tx: libc::timex = unsafe { std::mem::zeroed() };
        tx.modes = ADJ_FREQUENCY;
        // timex.freq is ppm with a 16-bit fraction; the servo's value is on top of the
        // adjustment the clock had when we started.
        tx.freq = ((self.base_ppb + ppb) * 65.536).round() as libc::c_long;
        // SAFETY: valid timex.
        check(
            unsafe { libc::clock_adjtime(self.clockid, &mut tx) },
            "clock_adjtime",
        )
        .map(|_| ())
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            examples::logging::init();
            error!("ptp: {e}");
            std::process::exit(1);
        }
    };
    if args.verbose {
        examples::logging::init_with_default("debug");
    } else {
        examples::logging::init();
    }
    if let Err(e) = run(&args) {
        error!("ptp: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> io::Result<()> {
    // Hardware timestamping only if every interface has it and they share one PHC.
    let probe = socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    let infos: Vec<(bool, i32)> = args
        .ifaces
        .iter()
        .map(|i| ts_info(probe.as_raw_fd(), i))
        .collect();
    let hw = infos.iter().all(|(h, _)| *h) && infos.windows(2).all(|w| w[0].1 == w[1].1);
    let source = if hw {
        let phc = infos.first().map(|i| i.1).unwrap_or(-1);
        for i in &args.ifaces {
            enable_hw_timestamping(probe.as_raw_fd(), i)?;
        }
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(args.steer)
            .open(format!("/dev/ptp{phc}"))?;
        let clockid = ((!f.as_raw_fd()) << 3) | 3;
        TimeSource {
            clockid,
            _phc: Some(f),
            base_ppb: 0.0,
        }
    } else {
        TimeSource {
            clockid: libc::CLOCK_REALTIME,
            _phc: None,
            base_ppb: 0.0,
        }
    };
    let mut source = source;
    if args.steer {
        source.base_ppb = TimeSource::frequency(source.clockid)?;
        println!(
            "ptp: clock frequency adjustment at start {:.0} ppb",
            source.base_ppb
        );
    }
    println!(
        "ptp: timestamping {} on {:?}",
        if hw {
            "hardware (PHC)"
        } else {
            "software (CLOCK_REALTIME)"
        },
        args.ifaces
    );

    let first_mac = mac_of(&args.ifaces[0])?;
    let cfg = Config {
        name: args.name.clone(),
        comment: args.comment.clone(),
        profile: args.profile,
        domain: args.domain,
        delay_mode: args.delay,
        priority1: args.priority1,
        priority2: args.priority2,
        transport: args.transport,
        ports: args.ports.clone(),
        clock_identity: ClockIdentity::from_mac(first_mac),
        slave_only: args.slave_only,
        neighbor_prop_delay_thresh_ns: args.neighbor_thresh_ns,
        servo: ServoConfig {
            timestamping: if hw {
                Timestamping::Hardware
            } else {
                Timestamping::Software
            },
            free_running: !args.steer,
            ..ServoConfig::default()
        },
        ..Config::default()
    };
    let resolved = cfg.resolve().map_err(|e| io::Error::other(e.to_string()))?;
    let transport = resolved.transport;
    let mut ports = Vec::new();
    for i in &args.ifaces {
        let ifx = ifindex(i)?;
        ports.push(match transport {
            Transport::Ipv4 => PortIo::Udp {
                event: udp_socket(i, ifx, 319, hw)?,
                general: udp_socket(i, ifx, 320, hw)?,
            },
            _ => PortIo::L2 {
                sock: l2_socket(ifx, hw)?,
                ifx,
                mac: mac_of(i)?,
            },
        });
    }
    // The OS random source (only the Delay_Req interval is random).
    let rng = examples::sys::OsRng::new()?;
    let mut clock = Clock::new(&cfg, Box::new(rng), Instant::now())
        .map_err(|e| io::Error::other(e.to_string()))?;
    println!(
        "ptp: clock-id {} profile {} transport {} delay-mode {:?} domain {} priority1 {} priority2 {} ({})",
        cfg.clock_identity,
        args.profile.as_str(),
        transport.as_str(),
        resolved.delay,
        resolved.domain,
        resolved.priority1,
        resolved.priority2,
        if args.steer { "steering the clock" } else { "free-running" }
    );

    let start = Instant::now();
    let mut next_monitor = start + Duration::from_secs_f64(args.monitor);
    let mut drops = examples::logging::DropSummary::new("ptp", Duration::from_secs(10));
    let mut buf = [0u8; 2048];
    let mut out = [0u8; 1500];
    loop {
        let now = Instant::now();
        if args
            .duration
            .is_some_and(|d| now.duration_since(start).as_secs_f64() >= d)
        {
            break;
        }
        // Poll set: every socket of every port.
        let mut fds: Vec<(libc::pollfd, usize, bool)> = Vec::new();
        for (pi, p) in ports.iter().enumerate() {
            match p {
                PortIo::Udp { event, general } => {
                    fds.push((
                        libc::pollfd {
                            fd: event.as_raw_fd(),
                            events: libc::POLLIN,
                            revents: 0,
                        },
                        pi,
                        true,
                    ));
                    fds.push((
                        libc::pollfd {
                            fd: general.as_raw_fd(),
                            events: libc::POLLIN,
                            revents: 0,
                        },
                        pi,
                        false,
                    ));
                }
                PortIo::L2 { sock, .. } => fds.push((
                    libc::pollfd {
                        fd: sock.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    },
                    pi,
                    true,
                )),
            }
        }
        let deadline = [clock.poll_timeout(), Some(next_monitor)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::from_secs(1));
        let wait = deadline
            .saturating_duration_since(now)
            .min(Duration::from_millis(500));
        let mut pfds: Vec<libc::pollfd> = fds.iter().map(|f| f.0).collect();
        // SAFETY: pfds is a valid array of pollfd.
        let rc = unsafe {
            libc::poll(
                pfds.as_mut_ptr(),
                pfds.len() as libc::nfds_t,
                (wait.as_micros() as i32 + 999) / 1000,
            )
        };
        if rc < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(last_err("poll"));
        }
        for (k, pf) in pfds.iter().enumerate() {
            if pf.revents & libc::POLLIN == 0 {
                continue;
            }
            let (_, port, _) = fds[k];
            while let Ok((n, ts, pkttype)) = recv(pf.fd, &mut buf, 0, hw) {
                let payload = match ports[port] {
                    PortIo::Udp { .. } => &buf[..n],
                    PortIo::L2 { .. } => {
                        if pkttype == PACKET_OUTGOING || n < 14 {
                            continue;
                        }
                        &buf[14..n]
                    }
                };
                let _ = clock.handle_input(Instant::now(), port, payload, ts);
            }
        }
        let now = Instant::now();
        if clock.poll_timeout().is_some_and(|t| t <= now) {
            clock.handle_timeout(now);
        }
        // Transmit.
        while let Ok(Some(tx)) = clock.poll_transmit(now, &mut out) {
            let bytes = &out[..tx.len];
            let (fd, res) = match &ports[tx.port] {
                PortIo::Udp { event, general } => {
                    let (fd, port) = if tx.event {
                        (event.as_raw_fd(), 319)
                    } else {
                        (general.as_raw_fd(), 320)
                    };
                    (fd, send_udp(fd, tx.dest, port, bytes))
                }
                PortIo::L2 { sock, ifx, mac } => (
                    sock.as_raw_fd(),
                    send_l2(sock.as_raw_fd(), *ifx, *mac, transport.mac(tx.dest), bytes),
                ),
            };
            if let Err(e) = res {
                warn!("ptp: send {:?}: {e}", tx.message_type);
                if !matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) {
                    // FAULT_DETECTED: the port goes FAULTY and re-initializes after
                    // fault_reset_interval (16 s), as linuxptp does
                    let _ = clock.report_port_fault(now, tx.port);
                }
            }
            if let Some(token) = tx.token {
                match tx_timestamp(fd, hw, Duration::from_millis(20), bytes) {
                    Some(ts) => clock.handle_tx_timestamp(Instant::now(), token, ts),
                    None => clock.handle_tx_timestamp_missing(Instant::now(), token),
                }
            }
        }
        while let Some(ev) = clock.poll_event() {
            match ev {
                Event::PortStateChanged { port, from, to } => println!(
                    "ptp: port {} ({}): {} -> {}",
                    port + 1,
                    args.ifaces[port],
                    from.name(),
                    to.name()
                ),
                Event::ParentChanged {
                    grandmaster,
                    parent,
                } => println!("ptp: grandmaster {grandmaster} parent {parent}"),
                Event::Offset {
                    port,
                    offset,
                    raw_offset,
                    path_delay,
                    freq_drift_ppb,
                    servo,
                } => {
                    println!(
                        "ptp: port {} offset {} ns raw {} ns delay {} ns freq-drift {:.0} ppb servo {:?} at {:.3} s",
                        port + 1,
                        offset.nanos_round(),
                        raw_offset.nanos_round(),
                        path_delay.nanos_round(),
                        freq_drift_ppb,
                        servo,
                        start.elapsed().as_secs_f64()
                    )
                }
                Event::StepClock { by } if args.steer => {
                    println!("ptp: step clock by {} ns", by.nanos_round());
                    if let Err(e) = source.step(by) {
                        warn!("ptp: {e}");
                    }
                }
                Event::AdjustFrequency { ppb } if args.steer => {
                    if let Err(e) = source.set_frequency(ppb) {
                        warn!("ptp: {e}");
                    }
                }
                Event::TxTimestampMissing { port, message } => warn!(
                    "ptp: port {}: transmit timestamp missing for {}",
                    port + 1,
                    message.name()
                ),
                Event::AsCapableChanged { port, as_capable } => println!(
                    "ptp: port {} ({}): asCapable {}",
                    port + 1,
                    args.ifaces[port],
                    as_capable
                ),
                Event::ManagementSet {
                    management_id,
                    value,
                } => println!("ptp: management SET 0x{management_id:04x} = {value}"),
                Event::Dropped { port, reason } => {
                    debug!("ptp: port {}: dropped: {reason}", port + 1);
                    drops.count_debug(&reason);
                }
                Event::PathDelay { .. }
                | Event::StepClock { .. }
                | Event::AdjustFrequency { .. } => {}
                other => println!("ptp: {other:?}"),
            }
        }
        drops.maybe_report();
        if Instant::now() >= next_monitor {
            next_monitor += Duration::from_secs_f64(args.monitor);
            print_monitor(&clock, &source, hw);
        }
    }
    drops.report();
    print_monitor(&clock, &source, hw);
    Ok(())
}

fn print_monitor(clock: &Clock, source: &TimeSource, hw: bool) {
    let mut m = clock.monitor();
    if hw {
        let sys = TimeSource {
            clockid: libc::CLOCK_REALTIME,
            _phc: None,
            base_ppb: 0.0,
        };
        m.hw_offset_ns = Some((source.now() - sys.now()).nanos_round() as i64);
    }
    println!("--- /system ptp monitor ---\n{m}--- /system ptp status ---");
    for p in clock.port_status() {
        match p.delay_ns {
            Some(d) => println!("{} {} delay {} ns", p.interface, p.state.name(), d),
            None => println!("{} {}", p.interface, p.state.name()),
        }
    }
    std::io::Write::flush(&mut std::io::stdout()).ok();
}
