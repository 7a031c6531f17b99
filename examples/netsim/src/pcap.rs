//! Minimal classic-libpcap writer (microsecond timestamps) for traces and the `tour`.
//!
//! Format: a 24-byte global header (magic `0xa1b2c3d4`, version 2.4, snaplen, link type), then a
//! 16-byte record header (seconds, microseconds, captured length, original length) before each
//! frame. Written little-endian, which every reader accepts.

use std::time::Duration;

/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// `LINKTYPE_PPP` (frames start with the PPP protocol field, optionally address/control).
pub const LINKTYPE_PPP: u32 = 9;
/// `LINKTYPE_RAW` (frames start with an IPv4 or IPv6 header).
pub const LINKTYPE_RAW: u32 = 101;
/// `LINKTYPE_PPP_HDLC`... kept for serial captures.
pub const LINKTYPE_PPP_HDLC: u32 = 50;

/// Timestamped frames: (time since the capture's epoch, bytes).
pub type Frames = Vec<(Duration, Vec<u8>)>;

/// Serialize `frames` (time, bytes) into a pcap file image.
pub fn to_bytes(linktype: u32, frames: &[(Duration, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + frames.iter().map(|f| 16 + f.1.len()).sum::<usize>());
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&linktype.to_le_bytes());
    for (t, data) in frames {
        out.extend_from_slice(&(t.as_secs() as u32).to_le_bytes());
        out.extend_from_slice(&t.subsec_micros().to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

/// Read a classic pcap file image (either byte order, micro- or nanosecond magic) into
/// `(link type, [(timestamp, frame)])`. Returns `None` on a malformed file.
pub fn parse(bytes: &[u8]) -> Option<(u32, Frames)> {
    let magic = bytes.get(0..4)?;
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => return None,
    };
    let u32_at = |off: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(off..off + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let linktype = u32_at(20)?;
    let mut off = 24;
    let mut frames = Vec::new();
    while off < bytes.len() {
        let secs = u32_at(off)?;
        let frac = u32_at(off + 4)?;
        let incl = u32_at(off + 8)? as usize;
        let data = bytes.get(off + 16..off + 16 + incl)?.to_vec();
        let t = Duration::from_secs(secs as u64)
            + if nanos {
                Duration::from_nanos(frac as u64)
            } else {
                Duration::from_micros(frac as u64)
            };
        frames.push((t, data));
        off += 16 + incl;
    }
    Some((linktype, frames))
}

/// Internet checksum (RFC 1071) over `data`, for synthesised headers.
pub fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += w as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Wrap `payload` in a synthesised IPv4 header (protocol `proto`, TTL 64, correct checksum).
pub fn ipv4_wrap(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut h = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        proto,
        0,
        0,
    ];
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = inet_checksum(&h);
    h[10] = (c >> 8) as u8;
    h[11] = c as u8;
    h.extend_from_slice(payload);
    h
}

/// A complete IPv4 ICMP echo request (`reply == false`) or reply packet from `src` to `dst`,
/// with correct IP and ICMP checksums: what tests and examples push through a tunnel.
pub fn icmp4_echo(
    src: [u8; 4],
    dst: [u8; 4],
    reply: bool,
    id: u16,
    seq: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(8 + payload.len());
    icmp.extend_from_slice(&[if reply { 0 } else { 8 }, 0, 0, 0]);
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(payload);
    let c = inet_checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    ipv4_wrap(src, dst, 1, &icmp)
}

/// Wrap `payload` in synthesised IPv4 + UDP headers (UDP checksum 0, which IPv4 allows).
pub fn udp4_wrap(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut u = Vec::with_capacity(len);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&(len as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    ipv4_wrap(src, dst, 17, &u)
}

/// Wrap `payload` in a synthesised IPv4 + TCP header (a PSH/ACK segment with the given sequence
/// number; checksum left 0, which Wireshark flags but decodes). Enough to show a TCP byte stream.
pub fn tcp4_wrap(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(&[0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    ipv4_wrap(src, dst, 6, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let frames = vec![
            (Duration::from_millis(1500), vec![1, 2, 3]),
            (Duration::from_micros(2_000_001), vec![]),
        ];
        let img = to_bytes(LINKTYPE_RAW, &frames);
        assert_eq!(img.len(), 24 + 16 + 3 + 16);
        assert_eq!(parse(&img), Some((LINKTYPE_RAW, frames)));
        assert_eq!(parse(&img[..30]), None);
    }

    #[test]
    fn ipv4_header_checksum_verifies() {
        let p = udp4_wrap([10, 0, 0, 1], 1701, [10, 0, 0, 2], 1701, b"abc");
        assert_eq!(inet_checksum(&p[..20]), 0);
        assert_eq!(p.len(), 20 + 8 + 3);
        assert_eq!(p[9], 17);
    }

    #[test]
    fn icmp_echo_checksums_verify() {
        let p = icmp4_echo([10, 0, 0, 1], [10, 0, 0, 2], false, 7, 3, b"hello");
        assert_eq!(inet_checksum(&p[..20]), 0);
        assert_eq!(inet_checksum(&p[20..]), 0);
        assert_eq!((p[9], p[20], p.len()), (1, 8, 20 + 8 + 5));
        assert_eq!(&p[24..28], &[0, 7, 0, 3]);
    }
}
