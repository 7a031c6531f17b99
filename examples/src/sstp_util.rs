//! SSTP over real sockets: a TCP + rustls server loop, a TLS key log writer, and a synthetic
//! TCP stream writer for pcaps of the decrypted SSTP (used by `sstp-server`, `sstp-client`,
//! the tour and the interop tests).

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sstp::tls::{Capabilities, RustlsOptions, RustlsTls, Tls, TlsError, UnixClock};
use sstp::{ConnId, Server, ServerConfig, ServerEvent};

/// Wall-clock Unix seconds (examples may read the clock; protocol crates may not).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// NSS key log lines (`CLIENT_RANDOM ...`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET ...`) appended to a
/// file, for `tshark -o tls.keylog_file:FILE`.
pub struct KeyLogFile(Mutex<std::fs::File>);

impl KeyLogFile {
    /// Create (truncate) `path`.
    pub fn create(path: &str) -> Result<Arc<Self>, String> {
        let f = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
        Ok(Arc::new(KeyLogFile(Mutex::new(f))))
    }
}

impl std::fmt::Debug for KeyLogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyLogFile")
    }
}

impl rustls::KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let hexs = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let line = format!("{label} {} {}\n", hexs(client_random), hexs(secret));
        if let Ok(mut f) = self.0.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

fn csum_add(mut sum: u32, data: &[u8]) -> u32 {
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    sum
}

fn csum_fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One synthetic TCP connection as IPv4 frames (LINKTYPE_RAW) with a three-way handshake,
/// exact sequence and acknowledgement numbers and checksums, so Wireshark reassembles the
/// stream without expert warnings. Payloads are cut into segments of at most `mss` bytes.
#[derive(Debug, Clone)]
pub struct TcpSynth {
    client: (Ipv4Addr, u16),
    server: (Ipv4Addr, u16),
    cseq: u32,
    sseq: u32,
    ip_id: u16,
    /// Largest segment payload.
    pub mss: usize,
}

impl TcpSynth {
    /// A connection between `client` and `server`.
    pub fn new(client: (Ipv4Addr, u16), server: (Ipv4Addr, u16)) -> Self {
        TcpSynth {
            client,
            server,
            cseq: 0x1000_0000,
            sseq: 0x2000_0000,
            ip_id: 1,
            mss: 1448,
        }
    }

    fn segment(&mut self, from_client: bool, flags: u8, payload: &[u8]) -> Vec<u8> {
        let ((src, sport), (dst, dport)) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let (seq, ack) = if from_client {
            (self.cseq, self.sseq)
        } else {
            (self.sseq, self.cseq)
        };
        let mut t = Vec::with_capacity(20 + payload.len());
        t.extend_from_slice(&sport.to_be_bytes());
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&(if flags & 0x10 != 0 { ack } else { 0 }).to_be_bytes());
        t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        t.extend_from_slice(payload);
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&src.octets());
        pseudo.extend_from_slice(&dst.octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(t.len() as u16).to_be_bytes());
        let c = csum_fold(csum_add(csum_add(0, &pseudo), &t));
        t[16..18].copy_from_slice(&c.to_be_bytes());
        let mut ip = Vec::with_capacity(20 + t.len());
        ip.extend_from_slice(&[0x45, 0]);
        ip.extend_from_slice(&((20 + t.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&self.ip_id.to_be_bytes());
        self.ip_id = self.ip_id.wrapping_add(1);
        ip.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let c = csum_fold(csum_add(0, &ip));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(&t);
        let adv = payload.len() as u32 + u32::from(flags & 0x03 != 0);
        if from_client {
            self.cseq = self.cseq.wrapping_add(adv);
        } else {
            self.sseq = self.sseq.wrapping_add(adv);
        }
        ip
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) -> Vec<Vec<u8>> {
        vec![
            self.segment(true, 0x02, &[]),
            self.segment(false, 0x12, &[]),
            self.segment(true, 0x10, &[]),
        ]
    }

    /// Data from one side (PSH/ACK segments), followed by the other side's pure ACK.
    pub fn data(&mut self, from_client: bool, payload: &[u8]) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = payload
            .chunks(self.mss.max(1))
            .map(|c| self.segment(from_client, 0x18, c))
            .collect();
        if !v.is_empty() {
            v.push(self.segment(!from_client, 0x10, &[]));
        }
        v
    }

    /// FIN/ACK from one side, the other's FIN/ACK and the last ACK.
    pub fn close(&mut self, from_client: bool) -> Vec<Vec<u8>> {
        vec![
            self.segment(from_client, 0x11, &[]),
            self.segment(!from_client, 0x11, &[]),
            self.segment(from_client, 0x10, &[]),
        ]
    }
}

/// Plaintext seen by a [`TapTls`]: (when, sent by us, bytes).
pub type Tap = Arc<Mutex<Vec<(Instant, bool, Vec<u8>)>>>;

/// A TLS adapter that records the plaintext going through it (for a decrypted pcap).
pub struct TapTls<T> {
    /// The real adapter.
    pub inner: T,
    /// Where the plaintext goes (`None`: record nothing).
    pub tap: Option<Tap>,
    /// A virtual clock for the records (the tour); `None`: the wall clock.
    pub clock: Option<Arc<Mutex<Instant>>>,
}

impl<T> TapTls<T> {
    /// A tap on `inner` recording into `tap` with wall-clock times.
    pub fn new(inner: T, tap: Option<Tap>) -> Self {
        TapTls {
            inner,
            tap,
            clock: None,
        }
    }

    fn now(&self) -> Instant {
        self.clock
            .as_ref()
            .and_then(|c| c.lock().ok().map(|t| *t))
            .unwrap_or_else(Instant::now)
    }
}

impl<T: Tls> Tls for TapTls<T> {
    fn read_tls(&mut self, data: &[u8]) -> Result<usize, TlsError> {
        self.inner.read_tls(data)
    }
    fn write_tls(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        self.inner.write_tls(out)
    }
    fn is_handshaking(&self) -> bool {
        self.inner.is_handshaking()
    }
    fn send_plaintext(&mut self, data: &[u8]) -> Result<(), TlsError> {
        if let Some(t) = &self.tap {
            let now = self.now();
            if let Ok(mut v) = t.lock() {
                v.push((now, true, data.to_vec()));
            }
        }
        self.inner.send_plaintext(data)
    }
    fn recv_plaintext(&mut self, out: &mut Vec<u8>) -> Result<usize, TlsError> {
        let a = out.len();
        let n = self.inner.recv_plaintext(out)?;
        if let (Some(t), true) = (&self.tap, n > 0) {
            let now = self.now();
            if let Ok(mut v) = t.lock() {
                v.push((now, false, out[a..].to_vec()));
            }
        }
        Ok(n)
    }
    fn peer_closed(&self) -> bool {
        self.inner.peer_closed()
    }
    fn send_close_notify(&mut self) {
        self.inner.send_close_notify()
    }
    fn server_certificate(&self) -> Option<&[u8]> {
        self.inner.server_certificate()
    }
    fn protocol_version(&self) -> Option<&'static str> {
        self.inner.protocol_version()
    }
    fn cipher_suite(&self) -> Option<String> {
        self.inner.cipher_suite()
    }
    fn set_unix_time(&mut self, s: u64) {
        self.inner.set_unix_time(s)
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

/// A pcap (LINKTYPE_RAW) of the decrypted SSTP of one connection from a tap: synthetic TCP
/// with the server on port 80, so Wireshark's HTTP dissector sees `SSTP_DUPLEX_POST` and
/// hands the rest of the stream to its SSTP dissector (port 443 would be taken for TLS).
/// `we_are_client`: whose tap it is.
pub fn tap_to_pcap(
    tap: &[(Instant, bool, Vec<u8>)],
    client: (Ipv4Addr, u16),
    server: Ipv4Addr,
    we_are_client: bool,
) -> Vec<u8> {
    let Some(t0) = tap.first().map(|x| x.0) else {
        return netsim::pcap::to_bytes(netsim::pcap::LINKTYPE_RAW, &[]);
    };
    let mut tcp = TcpSynth::new(client, (server, 80));
    let mut frames: Vec<(Duration, Vec<u8>)> = tcp
        .handshake()
        .into_iter()
        .map(|f| (Duration::ZERO, f))
        .collect();
    for (t, sent, bytes) in tap {
        let from_client = *sent == we_are_client;
        for f in tcp.data(from_client, bytes) {
            frames.push((t.duration_since(t0), f));
        }
    }
    let end = tap
        .last()
        .map(|x| x.0.duration_since(t0))
        .unwrap_or_default();
    for f in tcp.close(we_are_client) {
        frames.push((end, f));
    }
    netsim::pcap::to_bytes(netsim::pcap::LINKTYPE_RAW, &frames)
}

/// Write all of `b` to a non-blocking socket (waits on a full send buffer, bounded).
pub fn write_all_nb(s: &mut TcpStream, mut b: &[u8]) -> std::io::Result<()> {
    let start = Instant::now();
    while !b.is_empty() {
        match s.write(b) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => b = &b[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if start.elapsed() > Duration::from_secs(5) {
                    return Err(ErrorKind::TimedOut.into());
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An SSTP server on a TCP listener with rustls: accept, read, timers, write. Call
/// [`ServerLoop::step`] in a loop; it never blocks.
pub struct ServerLoop {
    /// The listener.
    pub listener: TcpListener,
    /// The SSTP server.
    pub server: Server<TapTls<RustlsTls>>,
    /// Record decrypted traffic per connection (for `--pcap`).
    pub taps: Option<HashMap<ConnId, (SocketAddr, Tap)>>,
    streams: HashMap<ConnId, TcpStream>,
    rustls: Arc<rustls::ServerConfig>,
    clock: UnixClock,
    cert: Vec<u8>,
    buf: Vec<u8>,
    pending: HashMap<ConnId, Vec<u8>>,
}

impl ServerLoop {
    /// Bind `addr` and build the server (`opts`: key log).
    pub fn bind(
        addr: SocketAddr,
        config: ServerConfig,
        opts: &RustlsOptions,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<Self, String> {
        let listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let (rustls, clock, cert) =
            RustlsTls::server_config(&config, opts).map_err(|e| e.to_string())?;
        let server =
            Server::new(config, Instant::now(), rng).map_err(|e| format!("config: {e}"))?;
        Ok(ServerLoop {
            listener,
            server,
            taps: None,
            streams: HashMap::new(),
            rustls,
            clock,
            cert,
            buf: vec![0u8; 65536],
            pending: HashMap::new(),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Connections with an open socket.
    pub fn sockets(&self) -> usize {
        self.streams.len()
    }

    /// One pass: accept, read every socket, timers, flush. Returns the server's events and
    /// the plaintext each connection sent and received (for a decrypted pcap): `(conn, from
    /// client, bytes)` is not available from the server, so callers use events and datagrams.
    pub fn step(&mut self) -> Vec<ServerEvent> {
        let now = Instant::now();
        loop {
            match self.listener.accept() {
                Ok((s, peer)) => {
                    let _ = s.set_nonblocking(true);
                    let _ = s.set_nodelay(true);
                    let tls = RustlsTls::from_server_config(
                        self.rustls.clone(),
                        self.clock.clone(),
                        self.cert.clone(),
                    );
                    let tap: Option<Tap> = self.taps.as_ref().map(|_| Arc::default());
                    match tls.map_err(|e| e.to_string()).and_then(|t| {
                        let t = TapTls::new(t, tap.clone());
                        self.server.accept(now, peer, t).map_err(|e| e.to_string())
                    }) {
                        Ok(id) => {
                            self.streams.insert(id, s);
                            if let (Some(m), Some(t)) = (self.taps.as_mut(), tap) {
                                m.insert(id, (peer, t));
                            }
                        }
                        Err(_) => drop(s),
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
        let ids: Vec<ConnId> = self.streams.keys().copied().collect();
        for id in ids {
            // Bytes the server did not take last time come first.
            let mut data = self.pending.remove(&id).unwrap_or_default();
            if let Some(s) = self.streams.get_mut(&id) {
                match s.read(&mut self.buf) {
                    Ok(0) => {
                        self.server.handle_close(now, id);
                        self.streams.remove(&id);
                        continue;
                    }
                    Ok(n) => data.extend_from_slice(&self.buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => {
                        self.server.handle_close(now, id);
                        self.streams.remove(&id);
                        continue;
                    }
                }
            }
            let mut off = 0;
            while off < data.len() {
                match self.server.handle_stream(now, id, &data[off..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => off += n,
                }
                self.flush(now);
            }
            if off < data.len() {
                self.pending.insert(id, data[off..].to_vec());
            }
        }
        if self.server.poll_timeout().is_some_and(|d| d <= now) {
            self.server.handle_timeout(now);
        }
        self.flush(now);
        let mut evs = Vec::new();
        while let Some(e) = self.server.poll_event() {
            if let ServerEvent::Closed { conn, .. } = &e {
                if let Some(s) = self.streams.remove(conn) {
                    let _ = s.shutdown(std::net::Shutdown::Both);
                }
            }
            evs.push(e);
        }
        evs
    }

    /// Write everything the server has for its sockets.
    pub fn flush(&mut self, now: Instant) {
        while let Some(t) = self.server.poll_transmit(now) {
            if let Some(s) = self.streams.get_mut(&t.conn) {
                if write_all_nb(s, &t.bytes).is_err() {
                    self.server.handle_close(now, t.conn);
                }
            }
        }
    }

    /// Send an IP packet to a connection (data path).
    pub fn send_ip(&mut self, conn: ConnId, protocol: u16, packet: &[u8]) -> Result<(), String> {
        let now = Instant::now();
        let mut out = Vec::new();
        self.server
            .send_datagram(now, conn, protocol, packet, &mut out)
            .map_err(|e| e.to_string())?;
        if let Some(s) = self.streams.get_mut(&conn) {
            write_all_nb(s, &out).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The ICMP echo reply to an echo request addressed to `me`; `None` if `p` is not one.
pub fn echo_reply(p: &[u8], me: Ipv4Addr) -> Option<Vec<u8>> {
    let ihl = usize::from(p.first()? & 0x0f) * 4;
    if p.len() < ihl + 8 || p[0] >> 4 != 4 || p[9] != 1 || p[ihl] != 8 || p[16..20] != me.octets() {
        return None;
    }
    let src = [p[12], p[13], p[14], p[15]];
    let id = u16::from_be_bytes([p[ihl + 4], p[ihl + 5]]);
    let seq = u16::from_be_bytes([p[ihl + 6], p[ihl + 7]]);
    Some(netsim::pcap::icmp4_echo(
        me.octets(),
        src,
        true,
        id,
        seq,
        &p[ihl + 8..],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_tcp_numbers_and_checksums() {
        let mut t = TcpSynth::new(([10, 0, 0, 1].into(), 40000), ([10, 0, 0, 2].into(), 80));
        let hs = t.handshake();
        assert_eq!(hs.len(), 3);
        let d = t.data(true, &[7u8; 3000]);
        assert_eq!(d.len(), 4); // 1448 + 1448 + 104, then an ACK
                                // Every IPv4 header and TCP checksum verifies.
        for f in hs.iter().chain(&d) {
            assert_eq!(netsim::pcap::inet_checksum(&f[..20]), 0);
            let mut pseudo = f[12..20].to_vec();
            pseudo.extend_from_slice(&[0, 6]);
            pseudo.extend_from_slice(&((f.len() - 20) as u16).to_be_bytes());
            assert_eq!(csum_fold(csum_add(csum_add(0, &pseudo), &f[20..])), 0);
        }
        // The ACK acknowledges all 3000 bytes after the SYN.
        let ack = u32::from_be_bytes(d[3][28..32].try_into().unwrap());
        assert_eq!(ack, 0x1000_0000 + 1 + 3000);
    }
}
