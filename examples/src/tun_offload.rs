//! TUN segmentation offload in user space: the `virtio_net_hdr` a TUN device opened with
//! `IFF_VNET_HDR` puts in front of every packet, TCP/UDP segmentation of the super-packets the
//! kernel hands over once `TUNSETOFFLOAD` enabled TSO/USO, and the reverse, coalescing in-order
//! TCP segments of one flow into one super-packet written back (receive offload, as GRO does).
//!
//! Why: without offloads every 1,420-byte packet costs the kernel a full trip through its TCP/IP
//! stack and one `read`/`write` on the TUN device. With them the inner TCP hands the TUN one
//! segment of up to 64 KiB (one `read`), the tunnel cuts it into MTU-sized packets itself
//! ([`Segmenter`]), encrypts each and sends them in one UDP GSO call; on the way in the decrypted
//! packets of a flow are glued back into one segment ([`Coalescer`]) and written in one `write`.
//!
//! Everything here is a pure function over byte slices (no system calls), never panics on
//! malformed input (a bad header is an [`OffloadError`]) and does not allocate after
//! construction.
//!
//! The header (Linux `include/uapi/linux/virtio_net.h`, 10 bytes, host byte order for a TUN
//! device unless `TUNSETVNETLE`/`BE` changed it):
//!
//! | offset | field | meaning |
//! |---|---|---|
//! | 0 | `flags` | bit 0 `NEEDS_CSUM`: the L4 checksum is still to be computed; bit 1 `DATA_VALID`: the checksums were verified |
//! | 1 | `gso_type` | 0 none, 1 TCPv4, 3 UDP (UFO, refused here), 4 TCPv6, 5 UDP L4 (USO); bit 7 ECN |
//! | 2 | `hdr_len` | length of the headers (a hint: recomputed here) |
//! | 4 | `gso_size` | payload bytes per segment (the MSS) |
//! | 6 | `csum_start` | offset of the transport header |
//! | 8 | `csum_offset` | offset of the checksum field inside it (16 TCP, 6 UDP) |

/// Length of `struct virtio_net_hdr`.
pub const VNET_HDR_LEN: usize = 10;
/// `flags`: the checksum from `csum_start` to the end is to be computed and stored at
/// `csum_start + csum_offset`.
pub const F_NEEDS_CSUM: u8 = 1;
/// `flags`: the packet's checksums are known to be good (the receiver need not verify them).
pub const F_DATA_VALID: u8 = 2;
/// `gso_type`: a single packet.
pub const GSO_NONE: u8 = 0;
/// `gso_type`: TCP over IPv4, to be cut at `gso_size` payload bytes.
pub const GSO_TCPV4: u8 = 1;
/// `gso_type`: UDP fragmentation offload (IP fragments; not supported).
pub const GSO_UDP: u8 = 3;
/// `gso_type`: TCP over IPv6.
pub const GSO_TCPV6: u8 = 4;
/// `gso_type`: UDP segmentation offload (one UDP datagram per `gso_size` bytes).
pub const GSO_UDP_L4: u8 = 5;
/// `gso_type` bit: the TCP segments carry ECN (CWR only on the first).
pub const GSO_ECN: u8 = 0x80;

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
/// Largest IP packet (IPv4 total length / IPv6 header plus payload length).
const MAX_IP: usize = 65_535;

/// A parsed `virtio_net_hdr`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// [`F_NEEDS_CSUM`], [`F_DATA_VALID`].
    pub flags: u8,
    /// [`GSO_NONE`], [`GSO_TCPV4`], [`GSO_TCPV6`], [`GSO_UDP_L4`], possibly with [`GSO_ECN`].
    pub gso_type: u8,
    /// Length of the headers (informational).
    pub hdr_len: u16,
    /// Payload bytes per segment.
    pub gso_size: u16,
    /// Offset of the transport header from the start of the IP packet.
    pub csum_start: u16,
    /// Offset of the checksum field from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Reads the first [`VNET_HDR_LEN`] bytes of `b` (host byte order); `None` when shorter.
    pub fn parse(b: &[u8]) -> Option<VnetHdr> {
        let b = b.get(..VNET_HDR_LEN)?;
        let u = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u(2),
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
        })
    }

    /// Writes the header into the first [`VNET_HDR_LEN`] bytes of `out` (which must be at
    /// least that long).
    pub fn write(&self, out: &mut [u8]) {
        out[0] = self.flags;
        out[1] = self.gso_type;
        out[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        out[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        out[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        out[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
    }

    /// The header for an ordinary packet whose checksums were already verified (the tunnel's
    /// AEAD authenticated it): no segmentation, `DATA_VALID`.
    pub fn plain() -> VnetHdr {
        VnetHdr {
            flags: F_DATA_VALID,
            ..VnetHdr::default()
        }
    }
}

/// Why a packet read from the TUN device cannot be segmented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffloadError {
    /// Shorter than the virtio header, the IP header or the transport header it announces.
    Truncated,
    /// Not IPv4/IPv6, or the IP version does not match `gso_type`.
    BadIpVersion,
    /// A `gso_type` this code does not handle (UFO, unknown values).
    UnsupportedGsoType,
    /// `csum_start`/`csum_offset` do not point at the transport header's checksum field, or the
    /// IP protocol is not the one `gso_type` implies.
    BadChecksumOffsets,
    /// `gso_size` is zero on a GSO packet.
    BadGsoSize,
    /// A segment would not fit the output buffer given.
    BufferTooSmall,
}

impl std::fmt::Display for OffloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for OffloadError {}

/// The 16-bit one's complement sum of `data` (as 16-bit big-endian words, an odd last byte
/// padded with zero) added to `init`, not yet folded to 16 bits.
fn sum(data: &[u8], init: u64) -> u64 {
    let mut acc = init;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut i = 0;
    while i + 1 < rest.len() {
        acc += u64::from(u16::from_be_bytes([rest[i], rest[i + 1]]));
        i += 2;
    }
    if i < rest.len() {
        acc += u64::from(rest[i]) << 8;
    }
    acc
}

/// Folds a sum to 16 bits (not complemented).
fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The Internet checksum (RFC 1071) of `data`: the complement of the folded sum.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data, 0))
}

/// The pseudo-header sum of an IP packet `ip` (addresses, protocol `proto` and transport length
/// `l4_len`), not folded. `ip` must hold the full fixed IP header.
fn pseudo_sum(ip: &[u8], proto: u8, l4_len: usize) -> u64 {
    let base = u64::from(proto) + l4_len as u64;
    if ip[0] >> 4 == 4 {
        sum(&ip[12..20], base)
    } else {
        sum(&ip[8..40], base)
    }
}

/// Computes the transport checksum of the IP packet `pkt` whose transport header starts at
/// `l4` (protocol `proto`), with the pseudo-header, and stores it. UDP's zero becomes 0xffff.
fn fill_l4_checksum(pkt: &mut [u8], l4: usize, proto: u8) {
    let off = if proto == PROTO_TCP { 16 } else { 6 };
    pkt[l4 + off] = 0;
    pkt[l4 + off + 1] = 0;
    let ps = pseudo_sum(pkt, proto, pkt.len() - l4);
    let mut c = !fold(sum(&pkt[l4..], ps));
    if proto == PROTO_UDP && c == 0 {
        c = 0xffff;
    }
    pkt[l4 + off..l4 + off + 2].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes an IPv4 header's checksum (`pkt` starts with the header, `ihl` bytes long).
fn fill_ipv4_checksum(pkt: &mut [u8], ihl: usize) {
    pkt[10] = 0;
    pkt[11] = 0;
    let c = checksum(&pkt[..ihl]);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Cuts one packet read from an `IFF_VNET_HDR` TUN device into ordinary IP packets, one at a
/// time into buffers the caller owns (so nothing is allocated, and the caller chooses where each
/// segment lands: in WireGuard's case right after the room for the transport header).
///
/// * `GSO_NONE`: one packet, its checksum completed if `NEEDS_CSUM`.
/// * `GSO_TCPV4`/`GSO_TCPV6`: `ceil(payload / gso_size)` TCP segments, each with the headers
///   copied, the IPv4 total length, identification (+1 per segment) and header checksum or the
///   IPv6 payload length set, the sequence number advanced, FIN and PSH only on the last segment,
///   CWR only on the first, and the TCP checksum computed over the pseudo-header.
/// * `GSO_UDP_L4`: one UDP datagram per `gso_size` payload bytes, lengths and checksums set.
#[derive(Debug)]
pub struct Segmenter<'a> {
    pkt: &'a [u8],
    /// Offset of the transport header.
    l4: usize,
    /// Length of IP plus transport headers.
    hdr_len: usize,
    /// Payload bytes per segment (the whole payload for `GSO_NONE`).
    seg: usize,
    /// `Some(protocol)` when segmenting or completing a checksum; `None`: copy as is.
    proto: Option<u8>,
    /// `GSO_NONE`: the checksum field offset from `l4`, when `NEEDS_CSUM`.
    csum_only: Option<usize>,
    next: usize,
    count: usize,
}

impl<'a> Segmenter<'a> {
    /// Validates `hdr` against the IP packet `pkt` (the bytes after the virtio header).
    pub fn new(hdr: &VnetHdr, pkt: &'a [u8]) -> Result<Segmenter<'a>, OffloadError> {
        if pkt.len() > MAX_IP {
            return Err(OffloadError::Truncated);
        }
        let version = pkt.first().ok_or(OffloadError::Truncated)? >> 4;
        let ip_min = match version {
            4 => 20,
            6 => 40,
            _ => return Err(OffloadError::BadIpVersion),
        };
        if pkt.len() < ip_min {
            return Err(OffloadError::Truncated);
        }
        let gso_type = hdr.gso_type & !GSO_ECN;
        if gso_type == GSO_NONE {
            let csum_only = if hdr.flags & F_NEEDS_CSUM != 0 {
                let start = usize::from(hdr.csum_start);
                let field = start + usize::from(hdr.csum_offset);
                if start < ip_min || field + 2 > pkt.len() {
                    return Err(OffloadError::BadChecksumOffsets);
                }
                Some(usize::from(hdr.csum_offset))
            } else {
                None
            };
            return Ok(Segmenter {
                pkt,
                l4: usize::from(hdr.csum_start),
                hdr_len: 0,
                seg: pkt.len(),
                proto: None,
                csum_only,
                next: 0,
                count: 1,
            });
        }
        let (want_version, proto) = match gso_type {
            GSO_TCPV4 => (Some(4), PROTO_TCP),
            GSO_TCPV6 => (Some(6), PROTO_TCP),
            GSO_UDP_L4 => (None, PROTO_UDP),
            _ => return Err(OffloadError::UnsupportedGsoType),
        };
        if want_version.is_some_and(|v| v != version) {
            return Err(OffloadError::BadIpVersion);
        }
        let l4 = usize::from(hdr.csum_start);
        let (ip_hlen, ip_proto) = if version == 4 {
            (usize::from(pkt[0] & 0x0f) * 4, pkt[9])
        } else {
            (40, pkt[6])
        };
        let want_off = if proto == PROTO_TCP { 16 } else { 6 };
        if ip_hlen < ip_min
            || l4 != ip_hlen
            || ip_proto != proto
            || usize::from(hdr.csum_offset) != want_off
        {
            return Err(OffloadError::BadChecksumOffsets);
        }
        if version == 4 && u16::from_be_bytes([pkt[6], pkt[7]]) & 0x3fff != 0 {
            // an IP fragment (MF or an offset) cannot be a GSO packet
            return Err(OffloadError::BadChecksumOffsets);
        }
        let l4_hlen = if proto == PROTO_TCP {
            let doff = usize::from(*pkt.get(l4 + 12).ok_or(OffloadError::Truncated)? >> 4) * 4;
            if doff < 20 {
                return Err(OffloadError::Truncated);
            }
            doff
        } else {
            8
        };
        let hdr_len = l4 + l4_hlen;
        if pkt.len() < hdr_len {
            return Err(OffloadError::Truncated);
        }
        if hdr.gso_size == 0 {
            return Err(OffloadError::BadGsoSize);
        }
        let seg = usize::from(hdr.gso_size);
        let payload = pkt.len() - hdr_len;
        let count = payload.div_ceil(seg).max(1);
        Ok(Segmenter {
            pkt,
            l4,
            hdr_len,
            seg,
            proto: Some(proto),
            csum_only: None,
            next: 0,
            count,
        })
    }

    /// How many segments the packet makes in all.
    pub fn count(&self) -> usize {
        self.count
    }

    /// How many segments are still to come.
    pub fn remaining(&self) -> usize {
        self.count - self.next
    }

    /// The length of the next segment, `None` when all were produced.
    pub fn next_len(&self) -> Option<usize> {
        if self.next >= self.count {
            return None;
        }
        let Some(_) = self.proto else {
            return Some(self.pkt.len());
        };
        let payload = self.pkt.len() - self.hdr_len;
        let start = self.next * self.seg;
        Some(self.hdr_len + (payload - start).min(self.seg))
    }

    /// Writes the next segment into the start of `out` and returns its length; `Ok(None)` when
    /// all segments were produced. `out` too small is [`OffloadError::BufferTooSmall`] (the
    /// segment is not consumed).
    pub fn next_into(&mut self, out: &mut [u8]) -> Result<Option<usize>, OffloadError> {
        let Some(len) = self.next_len() else {
            return Ok(None);
        };
        if out.len() < len {
            return Err(OffloadError::BufferTooSmall);
        }
        let k = self.next;
        self.next += 1;
        let out = &mut out[..len];
        let Some(proto) = self.proto else {
            out.copy_from_slice(self.pkt);
            if let Some(off) = self.csum_only {
                // CHECKSUM_PARTIAL: the field holds the pseudo-header sum; add the rest.
                let l4 = self.l4;
                let c = !fold(sum(&out[l4..], 0));
                // UDP sends a computed zero as 0xffff (zero means "no checksum"); the protocol
                // is the IPv4 protocol or an IPv6 next header without extension headers.
                let proto = if out[0] >> 4 == 4 { out[9] } else { out[6] };
                let c = if c == 0 && proto == PROTO_UDP && off == 6 {
                    0xffff
                } else {
                    c
                };
                out[l4 + off..l4 + off + 2].copy_from_slice(&c.to_be_bytes());
            }
            return Ok(Some(len));
        };
        let h = self.hdr_len;
        let start = h + k * self.seg;
        out[..h].copy_from_slice(&self.pkt[..h]);
        out[h..].copy_from_slice(&self.pkt[start..start + (len - h)]);
        let l4 = self.l4;
        if out[0] >> 4 == 4 {
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            let id = u16::from_be_bytes([out[4], out[5]]).wrapping_add(k as u16);
            out[4..6].copy_from_slice(&id.to_be_bytes());
            fill_ipv4_checksum(out, l4);
        } else {
            out[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
        }
        if proto == PROTO_TCP {
            let seq = u32::from_be_bytes([out[l4 + 4], out[l4 + 5], out[l4 + 6], out[l4 + 7]])
                .wrapping_add((k * self.seg) as u32);
            out[l4 + 4..l4 + 8].copy_from_slice(&seq.to_be_bytes());
            let mut flags = out[l4 + 13];
            if k + 1 < self.count {
                flags &= !(0x01 | 0x08); // FIN, PSH: last segment only
            }
            if k > 0 {
                flags &= !0x80; // CWR: first segment only
            }
            out[l4 + 13] = flags;
        } else {
            out[l4 + 4..l4 + 6].copy_from_slice(&((len - l4) as u16).to_be_bytes());
        }
        fill_l4_checksum(out, l4, proto);
        Ok(Some(len))
    }
}

/// What [`Coalescer::try_push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Appended (or started a new super-packet); nothing to write yet.
    Absorbed,
    /// Not appendable to the pending super-packet: write [`Coalescer::finish`] first, then push
    /// the packet again.
    FlushFirst,
    /// Never coalescable (not TCP, IP options, a fragment, SYN/RST/URG...): write it alone
    /// (after finishing any pending super-packet, to keep order).
    Alone,
}

/// Receive offload: glues consecutive in-order TCP segments of one flow (same addresses, ports,
/// ACK, window and options, each full-sized except the last, no flags but ACK and a final PSH)
/// into one super-packet with a `virtio_net_hdr` (`GSO_TCPV4`/`GSO_TCPV6`, `NEEDS_CSUM`), which
/// the kernel takes in one `write` and passes up its stack once. One pending super-packet at a
/// time, in a buffer allocated once.
#[derive(Debug)]
pub struct Coalescer {
    /// The virtio header followed by the pending packet.
    buf: Vec<u8>,
    /// Bytes of the pending IP packet (0: none).
    len: usize,
    /// Segments in it.
    count: usize,
    /// IP header length and IP plus TCP header length of the pending packet.
    l4: usize,
    hdr_len: usize,
    /// Payload size of the first segment (the MSS).
    gso_size: usize,
    /// Sequence number the next segment must carry.
    next_seq: u32,
    /// The pending packet cannot grow any more (a short segment or PSH closed it).
    closed: bool,
}

impl Default for Coalescer {
    fn default() -> Self {
        Self::new()
    }
}

/// A TCP segment's coalescing key facts: (IP header length, TCP header length, payload length).
fn tcp_shape(pkt: &[u8]) -> Option<(usize, usize, usize)> {
    let v = pkt.first()? >> 4;
    let (l4, total) = match v {
        4 => {
            if pkt.len() < 20 || pkt[0] & 0x0f != 5 || pkt[9] != PROTO_TCP {
                return None;
            }
            // no fragments (MF or an offset)
            if u16::from_be_bytes([pkt[6], pkt[7]]) & 0x3fff != 0 {
                return None;
            }
            (20, usize::from(u16::from_be_bytes([pkt[2], pkt[3]])))
        }
        6 => {
            if pkt.len() < 40 || pkt[6] != PROTO_TCP {
                return None;
            }
            (40, 40 + usize::from(u16::from_be_bytes([pkt[4], pkt[5]])))
        }
        _ => return None,
    };
    if total != pkt.len() || pkt.len() < l4 + 20 {
        return None;
    }
    let th = usize::from(pkt[l4 + 12] >> 4) * 4;
    if th < 20 || pkt.len() < l4 + th {
        return None;
    }
    // only ACK, optionally PSH (SYN, FIN, RST, URG, ECE, CWR: alone)
    if pkt[l4 + 13] & !0x08 != 0x10 {
        return None;
    }
    let payload = pkt.len() - l4 - th;
    if payload == 0 {
        return None;
    }
    Some((l4, th, payload))
}

impl Coalescer {
    /// A coalescer with its 64 KiB buffer.
    pub fn new() -> Self {
        Coalescer {
            buf: vec![0; VNET_HDR_LEN + MAX_IP],
            len: 0,
            count: 0,
            l4: 0,
            hdr_len: 0,
            gso_size: 0,
            next_seq: 0,
            closed: false,
        }
    }

    /// Whether a super-packet is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Offers the IP packet `pkt` (checksums already trusted: the tunnel authenticated it).
    pub fn try_push(&mut self, pkt: &[u8]) -> Push {
        let Some((l4, th, payload)) = tcp_shape(pkt) else {
            return Push::Alone;
        };
        let seq = u32::from_be_bytes([pkt[l4 + 4], pkt[l4 + 5], pkt[l4 + 6], pkt[l4 + 7]]);
        let psh = pkt[l4 + 13] & 0x08 != 0;
        if self.len == 0 {
            self.buf[VNET_HDR_LEN..VNET_HDR_LEN + pkt.len()].copy_from_slice(pkt);
            self.len = pkt.len();
            self.count = 1;
            self.l4 = l4;
            self.hdr_len = l4 + th;
            self.gso_size = payload;
            self.next_seq = seq.wrapping_add(payload as u32);
            self.closed = psh;
            return Push::Absorbed;
        }
        let cur = &self.buf[VNET_HDR_LEN..VNET_HDR_LEN + self.len];
        let same_flow = l4 == self.l4
            && l4 + th == self.hdr_len
            && !self.closed
            && seq == self.next_seq
            && payload <= self.gso_size
            && self.len + payload <= MAX_IP
            && same_headers(cur, pkt, l4, self.hdr_len);
        if !same_flow {
            return Push::FlushFirst;
        }
        let at = VNET_HDR_LEN + self.len;
        self.buf[at..at + payload].copy_from_slice(&pkt[self.hdr_len..]);
        self.len += payload;
        self.count += 1;
        self.next_seq = seq.wrapping_add(payload as u32);
        if psh {
            self.buf[VNET_HDR_LEN + l4 + 13] |= 0x08;
        }
        self.closed = psh || payload < self.gso_size;
        Push::Absorbed
    }

    /// Completes the pending super-packet and returns it with its virtio header in front, ready
    /// for one `write`; `None` when nothing is pending. A single segment goes out as it came
    /// (`GSO_NONE`, `DATA_VALID`); several get the IP length (and IPv4 header checksum) of the
    /// whole, `GSO_TCPV4`/`V6` with the first segment's payload size, and `NEEDS_CSUM` with the
    /// pseudo-header sum in the TCP checksum field, as the kernel expects of a partial checksum.
    pub fn finish(&mut self) -> Option<&[u8]> {
        if self.len == 0 {
            return None;
        }
        let len = self.len;
        self.len = 0;
        let l4 = self.l4;
        let (hdr, pkt) = self.buf.split_at_mut(VNET_HDR_LEN);
        let pkt = &mut pkt[..len];
        if self.count == 1 {
            VnetHdr::plain().write(hdr);
            return Some(&self.buf[..VNET_HDR_LEN + len]);
        }
        let v4 = pkt[0] >> 4 == 4;
        if v4 {
            pkt[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            fill_ipv4_checksum(pkt, l4);
        } else {
            pkt[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
        }
        let ps = fold(pseudo_sum(pkt, PROTO_TCP, len - l4));
        pkt[l4 + 16..l4 + 18].copy_from_slice(&ps.to_be_bytes());
        VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: if v4 { GSO_TCPV4 } else { GSO_TCPV6 },
            hdr_len: self.hdr_len as u16,
            gso_size: self.gso_size as u16,
            csum_start: l4 as u16,
            csum_offset: 16,
        }
        .write(hdr);
        Some(&self.buf[..VNET_HDR_LEN + len])
    }
}

/// Whether two TCP segments' headers agree where they must for coalescing: IP version/TOS/
/// TTL/addresses (IPv6: traffic class, flow label, hop limit, addresses), ports, ACK number,
/// flags except PSH, window, urgent pointer and options.
fn same_headers(a: &[u8], b: &[u8], l4: usize, hdr_len: usize) -> bool {
    let ip_ok = if l4 == 20 {
        a[0..2] == b[0..2] && a[8..10] == b[8..10] && a[12..20] == b[12..20]
    } else {
        a[0..4] == b[0..4] && a[7..40] == b[7..40]
    };
    ip_ok
        && a[l4..l4 + 4] == b[l4..l4 + 4]
        && a[l4 + 8..l4 + 13] == b[l4 + 8..l4 + 13]
        && (a[l4 + 13] | 0x08) == (b[l4 + 13] | 0x08)
        && a[l4 + 14..l4 + 16] == b[l4 + 14..l4 + 16]
        && a[l4 + 18..hdr_len] == b[l4 + 18..hdr_len]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A TCP packet (IPv4 or IPv6) with `payload`, seq `seq`, flags `flags`, a 12-byte option
    /// block (timestamps), checksums computed.
    fn tcp_packet(v6: bool, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let l4 = if v6 { 40 } else { 20 };
        let th = 32;
        let len = l4 + th + payload.len();
        let mut p = vec![0u8; len];
        if v6 {
            p[0] = 0x60;
            p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
            p[6] = PROTO_TCP;
            p[7] = 64;
            p[8..24].copy_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            p[24..40].copy_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        } else {
            p[0] = 0x45;
            p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
            p[6] = 0x40; // DF
            p[8] = 64;
            p[9] = PROTO_TCP;
            p[12..16].copy_from_slice(&[10, 96, 1, 2]);
            p[16..20].copy_from_slice(&[10, 96, 1, 1]);
            fill_ipv4_checksum(&mut p, 20);
        }
        p[l4..l4 + 2].copy_from_slice(&40000u16.to_be_bytes());
        p[l4 + 2..l4 + 4].copy_from_slice(&5201u16.to_be_bytes());
        p[l4 + 4..l4 + 8].copy_from_slice(&seq.to_be_bytes());
        p[l4 + 8..l4 + 12].copy_from_slice(&777u32.to_be_bytes());
        p[l4 + 12] = ((th / 4) as u8) << 4;
        p[l4 + 13] = flags;
        p[l4 + 14..l4 + 16].copy_from_slice(&512u16.to_be_bytes());
        p[l4 + 20..l4 + 32].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7]);
        p[l4 + th..].copy_from_slice(payload);
        fill_l4_checksum(&mut p, l4, PROTO_TCP);
        p
    }

    fn l4_ok(p: &[u8], l4: usize, proto: u8) -> bool {
        fold(sum(&p[l4..], pseudo_sum(p, proto, p.len() - l4))) == 0xffff
    }

    /// The kernel's TSO packet: one big TCP packet with the pseudo-header sum in the checksum
    /// field (CHECKSUM_PARTIAL) and the header naming gso_size.
    fn tso(v6: bool, flags: u8, payload: &[u8], mss: u16) -> (VnetHdr, Vec<u8>) {
        let mut p = tcp_packet(v6, 1000, flags, payload);
        let l4 = if v6 { 40 } else { 20 };
        let ps = fold(pseudo_sum(&p, PROTO_TCP, p.len() - l4));
        p[l4 + 16..l4 + 18].copy_from_slice(&ps.to_be_bytes());
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: if v6 { GSO_TCPV6 } else { GSO_TCPV4 },
            hdr_len: (l4 + 32) as u16,
            gso_size: mss,
            csum_start: l4 as u16,
            csum_offset: 16,
        };
        (h, p)
    }

    fn segment_all(h: &VnetHdr, p: &[u8]) -> Vec<Vec<u8>> {
        let mut s = Segmenter::new(h, p).unwrap();
        let mut out = Vec::new();
        let mut buf = vec![0u8; 70_000];
        while let Some(n) = s.next_into(&mut buf).unwrap() {
            out.push(buf[..n].to_vec());
        }
        assert_eq!(out.len(), s.count());
        out
    }

    #[test]
    fn header_round_trip() {
        let h = VnetHdr {
            flags: 1,
            gso_type: 4,
            hdr_len: 72,
            gso_size: 1368,
            csum_start: 40,
            csum_offset: 16,
        };
        let mut b = [0u8; 10];
        h.write(&mut b);
        assert_eq!(VnetHdr::parse(&b), Some(h));
        assert_eq!(VnetHdr::parse(&b[..9]), None);
    }

    #[test]
    fn checksum_rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2
        assert_eq!(
            fold(sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0)),
            0xddf2
        );
        assert_eq!(checksum(&[0x00, 0x01, 0xf2]), !0xf201u16);
    }

    #[test]
    fn tso_segments_verify_and_reassemble() {
        for v6 in [false, true] {
            let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
            // PSH|ACK|FIN|CWR on the super-packet
            let (h, p) = tso(v6, 0x80 | 0x10 | 0x08 | 0x01, &payload, 1368);
            let segs = segment_all(&h, &p);
            assert_eq!(segs.len(), 10_000usize.div_ceil(1368));
            let l4 = if v6 { 40 } else { 20 };
            let mut joined = Vec::new();
            for (k, s) in segs.iter().enumerate() {
                assert!(s.len() <= l4 + 32 + 1368);
                if v6 {
                    assert_eq!(usize::from(u16::from_be_bytes([s[4], s[5]])), s.len() - 40);
                } else {
                    assert_eq!(usize::from(u16::from_be_bytes([s[2], s[3]])), s.len());
                    assert_eq!(u16::from_be_bytes([s[4], s[5]]), 0x1234 + k as u16);
                    assert_eq!(checksum(&s[..20]), 0, "IPv4 header checksum");
                }
                assert!(l4_ok(s, l4, PROTO_TCP), "TCP checksum of segment {k}");
                let seq = u32::from_be_bytes([s[l4 + 4], s[l4 + 5], s[l4 + 6], s[l4 + 7]]);
                assert_eq!(seq, 1000 + (k * 1368) as u32);
                let last = k + 1 == segs.len();
                let f = s[l4 + 13];
                assert_eq!(f & 0x10, 0x10);
                assert_eq!(f & 0x09 != 0, last, "FIN/PSH only on the last");
                assert_eq!(f & 0x09 == 0x09, last);
                assert_eq!(f & 0x80 != 0, k == 0, "CWR only on the first");
                assert_eq!(&s[l4 + 20..l4 + 32], &p[l4 + 20..l4 + 32], "options kept");
                joined.extend_from_slice(&s[l4 + 32..]);
            }
            assert_eq!(joined, payload);
        }
    }

    #[test]
    fn uso_segments_verify() {
        let payload: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let mut p = vec![0u8; 28 + payload.len()];
        p[0] = 0x45;
        p[8] = 64;
        p[9] = PROTO_UDP;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        p[20..22].copy_from_slice(&5000u16.to_be_bytes());
        p[22..24].copy_from_slice(&5001u16.to_be_bytes());
        p[28..].copy_from_slice(&payload);
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_UDP_L4,
            hdr_len: 28,
            gso_size: 1000,
            csum_start: 20,
            csum_offset: 6,
        };
        let segs = segment_all(&h, &p);
        assert_eq!(segs.len(), 3);
        let mut joined = Vec::new();
        for s in &segs {
            assert_eq!(s.len(), 1028);
            assert_eq!(u16::from_be_bytes([s[24], s[25]]), 1008);
            assert_eq!(checksum(&s[..20]), 0);
            assert!(l4_ok(s, 20, PROTO_UDP));
            joined.extend_from_slice(&s[28..]);
        }
        assert_eq!(joined, payload);
    }

    #[test]
    fn plain_packet_checksum_completed() {
        let mut p = tcp_packet(false, 5, 0x18, b"hello world");
        let ps = fold(pseudo_sum(&p, PROTO_TCP, p.len() - 20));
        p[36..38].copy_from_slice(&ps.to_be_bytes());
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 20,
            csum_offset: 16,
            ..VnetHdr::default()
        };
        let segs = segment_all(&h, &p);
        assert_eq!(segs.len(), 1);
        assert!(l4_ok(&segs[0], 20, PROTO_TCP));
        // no NEEDS_CSUM: copied untouched
        let q = tcp_packet(true, 5, 0x18, b"x");
        assert_eq!(segment_all(&VnetHdr::default(), &q), vec![q.clone()]);
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let (h, p) = tso(false, 0x10, &[7u8; 5000], 1368);
        let bad = |f: &dyn Fn(&mut VnetHdr)| {
            let mut h2 = h;
            f(&mut h2);
            Segmenter::new(&h2, &p).unwrap_err()
        };
        assert_eq!(bad(&|h| h.gso_size = 0), OffloadError::BadGsoSize);
        assert_eq!(bad(&|h| h.gso_type = GSO_TCPV6), OffloadError::BadIpVersion);
        assert_eq!(
            bad(&|h| h.gso_type = GSO_UDP),
            OffloadError::UnsupportedGsoType
        );
        assert_eq!(bad(&|h| h.gso_type = 9), OffloadError::UnsupportedGsoType);
        assert_eq!(
            bad(&|h| h.csum_start = 24),
            OffloadError::BadChecksumOffsets
        );
        assert_eq!(
            bad(&|h| h.csum_offset = 6),
            OffloadError::BadChecksumOffsets
        );
        assert_eq!(
            bad(&|h| h.gso_type = GSO_UDP_L4),
            OffloadError::BadChecksumOffsets
        );
        assert_eq!(
            Segmenter::new(&h, &p[..30]).unwrap_err(),
            OffloadError::Truncated
        );
        assert_eq!(
            Segmenter::new(&h, &[]).unwrap_err(),
            OffloadError::Truncated
        );
        assert_eq!(
            Segmenter::new(&VnetHdr::default(), &[0x50; 40]).unwrap_err(),
            OffloadError::BadIpVersion
        );
        let csum_past_end = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 20,
            csum_offset: 60_000,
            ..VnetHdr::default()
        };
        assert_eq!(
            Segmenter::new(&csum_past_end, &p).unwrap_err(),
            OffloadError::BadChecksumOffsets
        );
        let mut s = Segmenter::new(&h, &p).unwrap();
        assert_eq!(
            s.next_into(&mut [0u8; 100]),
            Err(OffloadError::BufferTooSmall)
        );
        assert_eq!(s.remaining(), s.count());
    }

    #[test]
    fn coalesce_round_trip() {
        for v6 in [false, true] {
            let payload: Vec<u8> = (0..20_000u32).map(|i| (i * 13 % 256) as u8).collect();
            let (h, p) = tso(v6, 0x18, &payload, 1368);
            let segs = segment_all(&h, &p);
            let mut c = Coalescer::new();
            for s in &segs {
                assert_eq!(c.try_push(s), Push::Absorbed);
            }
            let out = c.finish().unwrap().to_vec();
            assert!(c.is_empty());
            let h2 = VnetHdr::parse(&out).unwrap();
            assert_eq!(h2.gso_type, h.gso_type);
            assert_eq!(h2.gso_size, 1368);
            assert_eq!(h2.flags, F_NEEDS_CSUM);
            // The coalesced packet equals the original super-packet, and segments back to the
            // same segments.
            let body = &out[VNET_HDR_LEN..];
            assert_eq!(body.len(), p.len());
            let l4 = if v6 { 40 } else { 20 };
            assert_eq!(&body[l4 + 32..], &payload[..]);
            assert_eq!(segment_all(&h2, body), segs);
        }
    }

    #[test]
    fn coalesce_stops_at_gaps_and_other_flows() {
        let a = tcp_packet(false, 100, 0x10, &[1; 1000]);
        let b = tcp_packet(false, 1100, 0x10, &[2; 1000]);
        let gap = tcp_packet(false, 3100, 0x10, &[3; 1000]);
        let syn = tcp_packet(false, 0, 0x02, &[1]);
        let pure_ack = tcp_packet(false, 100, 0x10, &[]);
        let mut c = Coalescer::new();
        assert_eq!(c.try_push(&syn), Push::Alone);
        assert_eq!(c.try_push(&pure_ack), Push::Alone);
        assert_eq!(c.try_push(&a), Push::Absorbed);
        assert_eq!(c.try_push(&b), Push::Absorbed);
        assert_eq!(c.try_push(&gap), Push::FlushFirst);
        let v6 = tcp_packet(true, 2100, 0x10, &[2; 1000]);
        assert_eq!(c.try_push(&v6), Push::FlushFirst);
        let out = c.finish().unwrap();
        assert_eq!(out.len(), VNET_HDR_LEN + 20 + 32 + 2000);
        // a single segment goes out as it came, with DATA_VALID
        assert_eq!(c.try_push(&gap), Push::Absorbed);
        let out = c.finish().unwrap();
        assert_eq!(VnetHdr::parse(out), Some(VnetHdr::plain()));
        assert_eq!(&out[VNET_HDR_LEN..], &gap[..]);
        assert_eq!(c.finish(), None);
        // a short segment closes the packet
        let short = tcp_packet(false, 100, 0x10, &[1; 500]);
        let after = tcp_packet(false, 600, 0x10, &[1; 500]);
        assert_eq!(c.try_push(&short), Push::Absorbed);
        let bigger = tcp_packet(false, 600, 0x10, &[1; 900]);
        assert_eq!(c.try_push(&bigger), Push::FlushFirst);
        assert_eq!(c.try_push(&after), Push::Absorbed);
        let after2 = tcp_packet(false, 1100, 0x10, &[1; 100]);
        assert_eq!(c.try_push(&after2), Push::Absorbed);
        let after3 = tcp_packet(false, 1200, 0x10, &[1; 100]);
        assert_eq!(
            c.try_push(&after3),
            Push::FlushFirst,
            "closed by a short one"
        );
    }

    proptest! {
        #[test]
        fn segment_never_panics(hdr in proptest::collection::vec(any::<u8>(), 10),
                                pkt in proptest::collection::vec(any::<u8>(), 0..3000),
                                out_len in 0usize..3000) {
            let h = VnetHdr::parse(&hdr).unwrap();
            if let Ok(mut s) = Segmenter::new(&h, &pkt) {
                let mut out = vec![0u8; out_len];
                let mut n = 0;
                while let Ok(Some(_)) = s.next_into(&mut out) {
                    n += 1;
                    prop_assert!(n <= s.count());
                }
            }
        }

        #[test]
        fn coalescer_never_panics(pkts in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..200), 0..8)) {
            let mut c = Coalescer::new();
            for p in &pkts {
                if c.try_push(p) == Push::FlushFirst {
                    c.finish();
                    c.try_push(p);
                }
            }
            c.finish();
        }

        #[test]
        fn segments_reassemble(len in 1usize..10_000, mss in 100u16..3000, v6 in any::<bool>()) {
            let payload: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let (h, p) = tso(v6, 0x18, &payload, mss);
            let segs = segment_all(&h, &p);
            let l4 = if v6 { 40 } else { 20 };
            let mut joined = Vec::new();
            for s in &segs {
                prop_assert!(l4_ok(s, l4, PROTO_TCP));
                joined.extend_from_slice(&s[l4 + 32..]);
            }
            prop_assert_eq!(joined, payload);
        }
    }
}
