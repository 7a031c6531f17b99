//! A pcap file of UDP datagrams written as they happen (synthesised IPv4/UDP headers, linktype
//! RAW), so a killed process leaves a readable file. Used by the real-socket examples' `--pcap`.

use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// Appends one record per datagram.
pub struct UdpPcapWriter {
    file: File,
    start: Instant,
}

impl UdpPcapWriter {
    /// Create `path` and write the global header.
    pub fn new(path: &str) -> Result<Self, String> {
        let mut file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
        let header = netsim::pcap::to_bytes(netsim::pcap::LINKTYPE_RAW, &[]);
        file.write_all(&header).map_err(|e| e.to_string())?;
        Ok(UdpPcapWriter {
            file,
            start: Instant::now(),
        })
    }

    /// Record a datagram `src` -> `dst` (IPv4 only; others are skipped).
    pub fn add(&mut self, now: Instant, src: SocketAddr, dst: SocketAddr, payload: &[u8]) {
        let (IpAddr::V4(s), IpAddr::V4(d)) = (src.ip(), dst.ip()) else {
            return;
        };
        let frame =
            netsim::pcap::udp4_wrap(s.octets(), src.port(), d.octets(), dst.port(), payload);
        let rec = netsim::pcap::to_bytes(
            netsim::pcap::LINKTYPE_RAW,
            &[(now.saturating_duration_since(self.start), frame)],
        );
        let _ = self.file.write_all(&rec[24..]);
    }
}
