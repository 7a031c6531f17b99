//! `wg`: a userspace WireGuard endpoint built on the sans-IO `wireguard` crate: one TUN device,
//! one UDP socket, a RouterOS export (`.rsc`) or wg-quick configuration file.
//!
//! ```text
//! wg --help
//! wg --config wg0.conf [--tun wg0] [--pcap out.pcap] [--duration SECS] [--crypto builtin|openssl]
//!    [--udp gso|mmsg|off] [--tun-offload on|off]
//! wg --config examples/rsc/wg.rsc --tun wireguard1
//! ```
//!
//! * A `.rsc` file (RouterOS export syntax) gives `/interface wireguard add` (the first one;
//!   `private-key` generated when absent, as RouterOS does), its `/interface wireguard peers`
//!   and its `/ip address` entries; unknown properties are warned about with their line.
//! * `[Interface] Address` (if present) is assigned to the TUN device and the link is set up with
//!   the RouterOS default MTU (1420, or `MTU =`). `ListenPort` defaults to 13231 (RouterOS).
//! * Peer `Endpoint`s may be host names (resolved once at start).
//! * `--pcap` records every UDP datagram (synthesised IPv4/UDP headers, linktype RAW) so
//!   Wireshark's WireGuard dissector can show the exchange.
//! * Log lines on stdout (`handshake complete peer=0 initiator=true`, `endpoint ...`,
//!   `stats ...`) are what the interop tests read.
//! * Drops are logged so that a flood cannot grow the log without bound: each one at debug
//!   level (`RUST_LOG=debug`: `drop BadMac1 from 198.51.100.7:4000`), and every 5 s one
//!   `drops last 5s: ...` line at info with the per-reason counts (the device's counters).
//!
//! * `--tun-offload on` (the default) opens the TUN device with a virtio-net header and TSO:
//!   the kernel hands over TCP segments of up to 64 KiB, which are cut into MTU-sized packets
//!   here (`examples::tun_offload`), sealed one by one and sent in one UDP GSO call; decrypted
//!   in-order TCP packets of one flow are glued back into one segment per `write`. Where the
//!   kernel refuses, the device is opened plain (logged).
//! * The UDP socket asks for 8 MiB receive and send buffers (`SO_RCVBUFFORCE`, falling back to
//!   `SO_RCVBUF`): with the default ~208 KiB a GSO burst from the peer overflowed it, and each
//!   datagram lost there was an inner TCP retransmission.
//!
//! Linux only (TUN via `/dev/net/tun`); needs CAP_NET_ADMIN.

use clap::Parser;
use examples::sys::ip;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::{debug, error, info};

use wireguard::{Device, DropReason, Event, Output, WgQuick};

/// How often the drop summary is logged.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Summarised drop log (issue 20): every drop at `debug` level, and at most once per interval
/// one `info` summary line from the device's own counters.
struct DropLog {
    window: Instant,
    errors: u64,
    seen: HashMap<DropReason, u64>,
}

impl DropLog {
    fn new(now: Instant) -> Self {
        DropLog {
            window: now,
            errors: 0,
            seen: HashMap::new(),
        }
    }

    /// One drop: a `debug` line (the text is only built when debug is enabled).
    fn note(&mut self, line: impl FnOnce() -> String) {
        debug!("{}", line());
    }

    /// One caller error (not in the device's drop counters): a `debug` line, counted.
    fn error(&mut self, line: impl FnOnce() -> String) {
        self.errors += 1;
        debug!("{}", line());
    }

    /// At most once per interval: the per-reason drop counts since the last summary.
    fn tick(&mut self, now: Instant, dev: &Device) {
        if now.duration_since(self.window) < DROP_LOG_INTERVAL {
            return;
        }
        let mut parts: Vec<String> = Vec::new();
        let mut reasons: Vec<(&DropReason, &u64)> = dev.stats().drops.iter().collect();
        reasons.sort_by_key(|(r, _)| format!("{r:?}"));
        for (r, n) in reasons {
            let before = self.seen.insert(*r, *n).unwrap_or(0);
            if *n > before {
                parts.push(format!("{r:?} {}", n - before));
            }
        }
        if !parts.is_empty() || self.errors > 0 {
            info!(
                "drops last {}s: {} ({} errors; each drop at debug level)",
                DROP_LOG_INTERVAL.as_secs(),
                parts.join(", "),
                self.errors
            );
        }
        self.window = now;
        self.errors = 0;
    }
}

fn open_tun(name: &str) -> Result<File, String> {
    examples::sys::open_tun(name, false, true)
}

use examples::tun_offload::{Coalescer, Push, Segmenter, VnetHdr, VNET_HDR_LEN};
use examples::udp_batch::{GroReceiver, GsoSender, SendStats};
use examples::udp_pcap::UdpPcapWriter as PcapWriter;

/// A userspace WireGuard endpoint built on the sans-IO `wireguard` crate: one TUN device, one
/// UDP socket, a wg-quick configuration file (mapped onto RouterOS `/interface wireguard` and
/// `peers`).
///
/// `[Interface] Address` is assigned to the TUN device, the MTU is RouterOS' 1420 (or `MTU =`),
/// `ListenPort` defaults to 13231 (RouterOS). Peer endpoints may be host names (resolved once).
/// Events are printed on stdout (`handshake complete peer=0 initiator=true`, `endpoint ...`,
/// `stats ...`); drops are logged at debug level with a summary every 5 s at info.
/// Linux only; needs CAP_NET_ADMIN.
#[derive(Parser, Debug)]
#[command(name = "wg", version)]
struct Cli {
    /// Configuration file, either a RouterOS export (`.rsc`: `/interface wireguard add`,
    /// `/interface wireguard peers add`, `/ip address add ... interface=` the wireguard
    /// interface; chosen by the `.rsc` extension or a first line starting with `/`) or a
    /// wg-quick file (`[Interface]` PrivateKey, ListenPort, Address, MTU; `[Peer]` PublicKey,
    /// PresharedKey, Endpoint, AllowedIPs, PersistentKeepalive). Required.
    #[arg(long, value_name = "FILE")]
    config: String,
    /// TUN device name (RouterOS interface `name`).
    #[arg(long, default_value = "wg0", value_name = "NAME")]
    tun: String,
    /// Record every UDP datagram (synthesised IPv4/UDP headers, linktype RAW) for Wireshark's
    /// WireGuard dissector. Default: none.
    #[arg(long, value_name = "FILE")]
    pcap: Option<String>,
    /// Exit after this many seconds (default: run until killed).
    #[arg(long, value_name = "SECS")]
    duration: Option<u64>,
    /// Who runs ChaCha20-Poly1305 for transport data: the built-in ring code, or OpenSSL's
    /// libcrypto (the `openssl-aead` provider, through `Device::set_aead_provider`; the count of
    /// its seal/open calls is printed at exit as `CRYPTO openssl calls=N`).
    #[arg(long, value_enum, default_value_t = examples::ovpn_cli::Crypto::Builtin)]
    crypto: examples::ovpn_cli::Crypto,
    /// How datagrams cross the UDP socket: `gso` reads a burst of up to 64 packets from the TUN
    /// device and sends each run of equal-size datagrams to one peer in one `sendmsg` with
    /// UDP_SEGMENT, and receives with `recvmmsg` and UDP_GRO; `mmsg` batches with
    /// `sendmmsg`/`recvmmsg` without offloads; `off` makes one system call per datagram. `gso`
    /// falls back to `mmsg` by itself where the kernel refuses. The counters are printed at exit
    /// (`UDP tx datagrams=.. calls=..`).
    #[arg(long, value_enum, default_value_t = UdpBatching::Gso, value_name = "MODE")]
    udp: UdpBatching,
    /// TUN segmentation offload: `on` opens the TUN device with `IFF_VNET_HDR` and enables
    /// checksum offload, TSO4/TSO6 (and USO where the kernel has it), so one read returns a TCP
    /// segment of up to 64 KiB that is cut into MTU-sized packets here, and received TCP packets
    /// of one flow are coalesced into one write (as GRO does). Falls back to a plain TUN device
    /// by itself where the kernel refuses. `off`: one IP packet per read and write. The counters
    /// are printed at exit (`TUN offload=.. reads=.. segments=.. writes=.. coalesced=..`).
    #[arg(long, value_enum, default_value_t = OnOff::On, value_name = "on|off")]
    tun_offload: OnOff,
}

/// `--tun-offload`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OnOff {
    /// Enabled (falls back by itself when the kernel refuses).
    On,
    /// Disabled.
    Off,
}

/// Counters of the TUN side with offload.
#[derive(Debug, Default)]
struct TunStats {
    /// Reads from the TUN device.
    reads: u64,
    /// Packets they were cut into.
    segments: u64,
    /// Writes to the TUN device.
    writes: u64,
    /// Packets those writes carried.
    coalesced: u64,
    /// Reads whose virtio header was refused.
    bad: u64,
}

/// Hands one decrypted packet (at `d[16..16 + len]`; `d[6..16]` is free) to the TUN device
/// with offload: appended to the pending super-packet, or written alone after it (keeping order).
fn deliver_offload(
    co: &mut Coalescer,
    tun: &mut File,
    st: &mut TunStats,
    d: &mut [u8],
    len: usize,
) {
    let mut push = co.try_push(&d[16..16 + len]);
    if push == Push::FlushFirst {
        flush_coalesced(co, tun, st);
        push = co.try_push(&d[16..16 + len]);
    }
    match push {
        Push::Absorbed => st.coalesced += 1,
        Push::FlushFirst | Push::Alone => {
            flush_coalesced(co, tun, st);
            VnetHdr::plain().write(&mut d[16 - VNET_HDR_LEN..16]);
            st.writes += 1;
            st.coalesced += 1;
            let _ = tun.write(&d[16 - VNET_HDR_LEN..16 + len]);
        }
    }
}

/// Writes the pending super-packet, if any.
fn flush_coalesced(co: &mut Coalescer, tun: &mut File, st: &mut TunStats) {
    if let Some(b) = co.finish() {
        st.writes += 1;
        let _ = tun.write(b);
    }
}

/// Sends the sealed datagrams `sealed` (destination, buffer index, length) in `bufs`: per
/// destination run, in one GSO/mmsg batch or one call each (`--udp off`).
fn send_sealed(
    sealed: &[(SocketAddr, usize, usize)],
    bufs: &[Vec<u8>],
    sock: &UdpSocket,
    udp: UdpBatching,
    gso: &mut GsoSender,
    plain_tx: &mut SendStats,
) {
    const MAX: usize = 64;
    let mut k = 0;
    while k < sealed.len() {
        let dst = sealed[k].0;
        let mut j = k;
        while j < sealed.len() && sealed[j].0 == dst && j - k < MAX {
            j += 1;
        }
        if udp == UdpBatching::Off {
            for &(_, i, len) in &sealed[k..j] {
                plain_tx.calls += 1;
                match sock.send_to(&bufs[i][..len], dst) {
                    Ok(_) => plain_tx.datagrams += 1,
                    Err(_) => plain_tx.dropped += 1,
                }
            }
        } else {
            let mut segs: [&[u8]; MAX] = [&[]; MAX];
            for (s, &(_, i, len)) in segs.iter_mut().zip(&sealed[k..j]) {
                *s = &bufs[i][..len];
            }
            gso.send(sock, dst, &segs[..j - k]);
        }
        k = j;
    }
}

/// `--udp`: the UDP plumbing of the data path.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum UdpBatching {
    /// UDP GSO on send and GRO on receive, batched.
    Gso,
    /// sendmmsg/recvmmsg, no offloads.
    Mmsg,
    /// One sendto/recvfrom per datagram.
    Off,
}

fn main() {
    let cli = Cli::parse();
    examples::logging::init();
    if let Err(e) = run(cli) {
        error!("wg: {e}");
        std::process::exit(1);
    }
}

/// A configuration file read either way: the device configs, the TUN addresses, and each
/// peer's endpoint as text (`host:port`; names are resolved once at start).
struct Loaded {
    iface: wireguard::InterfaceConfig,
    peers: Vec<wireguard::PeerConfig>,
    addresses: Vec<wireguard::InterfaceAddress>,
    endpoints: Vec<Option<String>>,
}

/// A RouterOS export (`.rsc`): by extension, or when the first line that is not blank or a
/// comment starts with `/` (a menu path). Anything else is read as wg-quick.
fn is_rsc(path: &str, text: &str) -> bool {
    path.ends_with(".rsc")
        || text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
            .is_some_and(|l| l.starts_with('/'))
}

fn load(path: &str, text: &str) -> Result<Loaded, String> {
    if is_rsc(path, text) {
        let r = examples::rsc_config::wireguard(text).map_err(|e| format!("{path}: {e}"))?;
        r.notes.log(path);
        let endpoints = r
            .peers
            .iter()
            .map(|p| match (&p.endpoint_address, p.endpoint_port) {
                (Some(a), Some(port)) if a.contains(':') => Some(format!("[{a}]:{port}")),
                (Some(a), Some(port)) => Some(format!("{a}:{port}")),
                _ => None,
            })
            .collect();
        let mut iface = r.interface;
        if iface.private_key.is_none() {
            // RouterOS generates the key when the interface is added (seed L1205-1211).
            let mut rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
            iface.private_key = Some(wireguard::Key::generate(&mut rng));
        }
        return Ok(Loaded {
            iface,
            peers: r.peers,
            addresses: r.addresses,
            endpoints,
        });
    }
    let wq = WgQuick::parse(text).map_err(|e| format!("{path}: {e}"))?;
    let (iface, peers) = wq.to_routeros();
    Ok(Loaded {
        iface,
        peers,
        addresses: wq.interface.address.clone(),
        endpoints: wq.peers.iter().map(|p| p.endpoint.clone()).collect(),
    })
}

fn run(cli: Cli) -> Result<(), String> {
    let cfg_path = &cli.config;
    let text = std::fs::read_to_string(cfg_path).map_err(|e| format!("{cfg_path}: {e}"))?;
    let Loaded {
        iface,
        peers,
        addresses,
        endpoints,
    } = load(cfg_path, &text)?;
    let tun_name = cli.tun.clone();
    let duration = cli.duration.map(Duration::from_secs);

    let now = Instant::now();
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let mut dev = Device::new(&iface, Box::new(rng), now, wall).map_err(|e| e.to_string())?;
    let openssl = if cli.crypto == examples::ovpn_cli::Crypto::Openssl {
        let (p, version) = examples::openssl_backend::provider()?;
        dev.set_aead_provider(Some(std::sync::Arc::new(p.clone())));
        info!("transport data AEAD: OpenSSL {version}");
        Some(p)
    } else {
        None
    };
    for (i, p) in peers.iter().enumerate() {
        let id = dev.add_peer(now, p).map_err(|e| format!("peer {i}: {e}"))?;
        if p.endpoint().is_none() {
            if let Some(ep) = endpoints[i].as_deref() {
                let addr = ep
                    .to_socket_addrs()
                    .map_err(|e| format!("Endpoint {ep}: {e}"))?
                    .next()
                    .ok_or_else(|| format!("Endpoint {ep}: no address"))?;
                dev.set_peer_endpoint(id, addr).map_err(|e| e.to_string())?;
            }
        }
    }
    println!(
        "wg: interface {tun_name} public-key {} listen-port {} peers {}",
        dev.public_key(),
        iface.listen_port,
        dev.peer_count()
    );

    let (mut tun, offload) = match cli.tun_offload {
        OnOff::On => {
            let (f, mode, why) = examples::sys::open_tun_offload(&tun_name, true)?;
            if let Some(why) = why {
                info!("TUN offload refused by the kernel ({why}): plain TUN");
            }
            (f, mode)
        }
        OnOff::Off => (open_tun(&tun_name)?, examples::sys::TunOffload::Off),
    };
    let vnet = offload != examples::sys::TunOffload::Off;
    println!("wg: TUN offload {offload:?}");
    // wg-quick's `Address` (or the `.rsc` file's `/ip address` entries on the interface) keep
    // their host part (`192.168.88.3/24`).
    for a in &addresses {
        ip(&["addr", "add", &a.to_string(), "dev", &tun_name])?;
    }
    ip(&[
        "link",
        "set",
        &tun_name,
        "mtu",
        &iface.mtu.to_string(),
        "up",
    ])?;

    let sock = UdpSocket::bind(("0.0.0.0", iface.listen_port)).map_err(|e| format!("bind: {e}"))?;
    sock.set_nonblocking(true).map_err(|e| e.to_string())?;
    let (rcvbuf, sndbuf) = (
        grow_socket_buffer(&sock, false, SOCKET_BUFFER),
        grow_socket_buffer(&sock, true, SOCKET_BUFFER),
    );
    debug!("UDP socket buffers rcvbuf={rcvbuf} sndbuf={sndbuf}");
    let local = sock.local_addr().map_err(|e| e.to_string())?;
    let mut pcap = match &cli.pcap {
        Some(p) => Some(PcapWriter::new(p)?),
        None => None,
    };

    // Zero-copy data path: TUN packets are read at offset 16 (room for the transport header)
    // and sealed in place, a burst of up to BATCH of them into their own buffers, then sent
    // together (`--udp`); datagrams are opened in place (the packet is at offset 16). The
    // buffers are allocated once.
    const BATCH: usize = 64;
    let stride = 16 + (iface.mtu as usize).max(1500) + 64;
    let mut tun_bufs = vec![vec![0u8; stride]; BATCH];
    let mut sealed: Vec<(SocketAddr, usize, usize)> = Vec::with_capacity(BATCH);
    let mut udp_buf = vec![0u8; 65536];
    let mut gso = match cli.udp {
        UdpBatching::Gso => GsoSender::new(),
        UdpBatching::Mmsg | UdpBatching::Off => GsoSender::without_gso(),
    };
    let mut gro = (cli.udp != UdpBatching::Off)
        .then(|| GroReceiver::new(&sock, 16, cli.udp == UdpBatching::Gso));
    let mut plain_tx = SendStats::default();
    // With offload: one read of up to 64 KiB plus the virtio header, and the coalescer's
    // pending super-packet (both allocated once).
    let mut big = vec![0u8; if vnet { VNET_HDR_LEN + 65_535 } else { 0 }];
    let mut co = Coalescer::new();
    let mut tun_st = TunStats::default();
    let mut last_stats = Instant::now();
    let mut locals: HashMap<SocketAddr, SocketAddr> = HashMap::new();
    let end = duration.map(|d| now + d);
    let mut drops = DropLog::new(now);
    // SIGTERM/SIGINT end the run as --duration does, with the counters printed.
    examples::sys::stop_on_signals();
    loop {
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) || examples::sys::stop_requested() {
            break;
        }
        // Drain outputs.
        while let Some(t) = dev.poll_transmit(now) {
            if let Some(p) = pcap.as_mut() {
                p.add(now, local_for(&mut locals, local, t.dst), t.dst, &t.payload);
            }
            let _ = sock.send_to(&t.payload, t.dst);
        }
        while let Some(e) = dev.poll_event() {
            match e {
                Event::HandshakeComplete { peer, initiator } => {
                    println!("handshake complete peer={} initiator={initiator}", peer.0)
                }
                Event::EndpointChanged { peer, endpoint } => {
                    println!("endpoint peer={} {endpoint}", peer.0)
                }
                Event::HandshakeInitiated { peer, attempt } => {
                    println!("handshake initiation peer={} attempt={attempt}", peer.0)
                }
                other => println!("event {other:?}"),
            }
        }
        drops.tick(now, &dev);
        if now.duration_since(last_stats) >= Duration::from_secs(5) {
            last_stats = now;
            for i in 0..dev.peer_count() {
                if let Some(s) = dev.peer_stats(wireguard::PeerId(i)) {
                    println!(
                        "stats peer={i} rx={} tx={} handshakes={}",
                        s.rx_bytes, s.tx_bytes, s.handshakes
                    );
                }
            }
        }
        let _ = std::io::stdout().flush();
        // Wait for input or the next deadline.
        let deadline = [dev.poll_timeout(), end, Some(now + Duration::from_secs(1))]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
        let ms = deadline
            .saturating_duration_since(now)
            .as_millis()
            .min(1000) as i32;
        let mut fds = [
            libc::pollfd {
                fd: tun.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sock.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of two pollfd structs for the duration of the call.
        let _ = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms.max(1)) };
        let now = Instant::now();
        if dev.poll_timeout().is_some_and(|t| t <= now) {
            dev.handle_timeout(now);
        }
        // UDP side.
        let mut inbound = |src: SocketAddr, d: &mut [u8]| {
            if let Some(p) = pcap.as_mut() {
                p.add(now, src, local_for(&mut locals, local, src), d);
            }
            match dev.handle_datagram_in_place(now, src, d) {
                Ok(Output::Deliver { len, .. }) => {
                    if vnet {
                        deliver_offload(&mut co, &mut tun, &mut tun_st, d, len);
                    } else {
                        let _ = tun.write(&d[16..16 + len]);
                    }
                }
                Ok(Output::Dropped(r)) => drops.note(|| format!("drop {r:?} from {src}")),
                Ok(_) => {}
                Err(e) => drops.error(|| format!("error {e} from {src}")),
            }
        };
        match gro.as_mut() {
            Some(rx) => while rx.recv(&sock, &mut inbound) > 0 {},
            None => {
                while let Ok((n, src)) = sock.recv_from(&mut udp_buf) {
                    inbound(src, &mut udp_buf[..n]);
                }
            }
        }
        flush_coalesced(&mut co, &mut tun, &mut tun_st);
        // TUN side with offload: each read (a super-packet) is cut into the batch buffers,
        // each segment sealed in place; a full batch is sent, and the rest when the TUN is empty.
        if vnet {
            loop {
                sealed.clear();
                let mut used = 0;
                let mut tun_empty = false;
                while used < BATCH {
                    let n = match tun.read(&mut big) {
                        Ok(n) if n > 0 => n,
                        _ => {
                            tun_empty = true;
                            break;
                        }
                    };
                    tun_st.reads += 1;
                    let seg = VnetHdr::parse(&big[..n])
                        .ok_or(examples::tun_offload::OffloadError::Truncated)
                        .and_then(|h| Segmenter::new(&h, &big[VNET_HDR_LEN..n]));
                    let mut seg = match seg {
                        Ok(s) => s,
                        Err(e) => {
                            tun_st.bad += 1;
                            drops.error(|| format!("TUN offload: {e}"));
                            continue;
                        }
                    };
                    loop {
                        if used == BATCH {
                            send_sealed(
                                &sealed,
                                &tun_bufs,
                                &sock,
                                cli.udp,
                                &mut gso,
                                &mut plain_tx,
                            );
                            sealed.clear();
                            used = 0;
                        }
                        let buf = &mut tun_bufs[used];
                        let len = match seg.next_into(&mut buf[16..stride - 32]) {
                            Ok(Some(len)) => len,
                            Ok(None) => break,
                            Err(e) => {
                                drops.error(|| format!("TUN offload: {e}"));
                                break;
                            }
                        };
                        tun_st.segments += 1;
                        match dev.encapsulate_in_place(now, buf, len) {
                            Ok(Output::Transmit { dst, len }) => {
                                if let Some(p) = pcap.as_mut() {
                                    p.add(
                                        now,
                                        local_for(&mut locals, local, dst),
                                        dst,
                                        &buf[..len],
                                    );
                                }
                                sealed.push((dst, used, len));
                                used += 1;
                            }
                            Ok(Output::Dropped(r)) => drops.note(|| format!("drop outbound {r:?}")),
                            Ok(_) => {}
                            Err(e) => drops.error(|| format!("error {e}")),
                        }
                    }
                }
                send_sealed(&sealed, &tun_bufs, &sock, cli.udp, &mut gso, &mut plain_tx);
                if tun_empty {
                    break;
                }
            }
        } else {
            // TUN side: a burst into the batch buffers, sealed in place, then sent per destination.
            loop {
                sealed.clear();
                let mut tun_empty = false;
                for (i, buf) in tun_bufs.iter_mut().enumerate() {
                    let n = match tun.read(&mut buf[16..stride - 32]) {
                        Ok(n) if n > 0 => n,
                        _ => {
                            tun_empty = true;
                            break;
                        }
                    };
                    match dev.encapsulate_in_place(now, buf, n) {
                        Ok(Output::Transmit { dst, len }) => {
                            if let Some(p) = pcap.as_mut() {
                                p.add(now, local_for(&mut locals, local, dst), dst, &buf[..len]);
                            }
                            sealed.push((dst, i, len));
                        }
                        Ok(Output::Dropped(r)) => drops.note(|| format!("drop outbound {r:?}")),
                        Ok(_) => {}
                        Err(e) => drops.error(|| format!("error {e}")),
                    }
                }
                send_sealed(&sealed, &tun_bufs, &sock, cli.udp, &mut gso, &mut plain_tx);
                if tun_empty {
                    break;
                }
            }
        }
    }
    for id in dev.peer_ids() {
        if let Some(s) = dev.peer_stats(id) {
            println!(
                "final peer={} rx={} tx={} handshakes={}",
                id.0, s.rx_bytes, s.tx_bytes, s.handshakes
            );
        }
    }
    if let Some(p) = &openssl {
        println!("CRYPTO openssl calls={}", p.calls());
    }
    let tx = if cli.udp == UdpBatching::Off {
        plain_tx
    } else {
        gso.stats()
    };
    println!(
        "UDP tx datagrams={} calls={} dropped={} gso={}",
        tx.datagrams,
        tx.calls,
        tx.dropped,
        gso.gso() && cli.udp == UdpBatching::Gso
    );
    if vnet {
        println!(
            "TUN offload={offload:?} reads={} segments={} writes={} coalesced={} bad={}",
            tun_st.reads, tun_st.segments, tun_st.writes, tun_st.coalesced, tun_st.bad
        );
    }
    if let Some(rx) = &gro {
        let r = rx.stats();
        println!(
            "UDP rx datagrams={} buffers={} calls={} gro={}",
            r.datagrams,
            r.buffers,
            r.calls,
            rx.gro()
        );
    }
    Ok(())
}

/// Socket buffer size asked for the UDP socket, each way. The default (about 208 KiB) holds
/// only ~140 full datagrams: a burst of GSO sends from the peer overflows it while this single
/// thread writes to the TUN device, and every datagram lost there is an inner TCP segment to
/// retransmit (`UdpRcvbufErrors`).
const SOCKET_BUFFER: usize = 8 << 20;

/// Sets `SO_RCVBUF` (`send == false`) or `SO_SNDBUF` to `bytes`, beyond the `rmem_max`/`wmem_max`
/// limits with the `FORCE` variants where permitted (CAP_NET_ADMIN, which the TUN device needs
/// anyway); returns the size the kernel reports (it doubles the request for its bookkeeping).
fn grow_socket_buffer(sock: &UdpSocket, send: bool, bytes: usize) -> usize {
    let (force, plain) = if send {
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)
    } else {
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF)
    };
    let v = bytes.min(i32::MAX as usize) as libc::c_int;
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    for opt in [force, plain] {
        // SAFETY: setsockopt reads one int from a live local for the stated length.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                &v as *const libc::c_int as *const libc::c_void,
                len,
            )
        };
        if rc == 0 {
            break;
        }
    }
    let mut got: libc::c_int = 0;
    let mut glen = len;
    // SAFETY: getsockopt writes at most `glen` bytes into the live local `got`.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            plain,
            &mut got as *mut libc::c_int as *mut libc::c_void,
            &mut glen,
        )
    };
    if rc == 0 {
        got.max(0) as usize
    } else {
        0
    }
}

/// Our address as seen on the path to `peer` (for the pcap: the socket is bound to 0.0.0.0, so
/// ask the kernel's route lookup with a connected throw-away socket, once per peer address).
fn local_for(
    cache: &mut HashMap<SocketAddr, SocketAddr>,
    bound: SocketAddr,
    peer: SocketAddr,
) -> SocketAddr {
    *cache.entry(peer).or_insert_with(|| {
        UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| {
                s.connect(peer)?;
                s.local_addr()
            })
            .map(|a| SocketAddr::new(a.ip(), bound.port()))
            .unwrap_or(bound)
    })
}
