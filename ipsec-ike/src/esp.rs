//! ESP (RFC 4303) per-SA processing into caller buffers, without per-packet allocation.
//!
//! ```text
//!  0                   1                   2                   3
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  ---
//! |               Security Parameters Index (SPI)                 |   ^ AAD (GCM) /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   | integrity
//! |                      Sequence Number (low 32 bits)            |   | coverage
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   |
//! |                    IV (8 bytes GCM/CTR, 16 AES-CBC)           |   |  ---
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   |   ^ encrypted
//! ~   Payload: the inner IP packet (tunnel) or transport payload  ~   |   |
//! +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   |   |
//! |               |     Padding 1, 2, 3, ... (0-255 bytes)        |   |   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   |   |
//! |                               |  Pad Length   | Next Header   |   v   v
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  ---
//! |         Integrity Check Value (12-32 bytes; GCM tag 16)       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! * Tunnel mode: the payload is a whole IP packet, next header 4 (IPv4) or 41 (IPv6); a
//!   receiver trims TFC padding after it using the inner IP length (RFC 4303 2.7).
//! * Transport mode: the payload is the original IP payload and next header its protocol;
//!   [`transport_encapsulate_v4`] / [`transport_decapsulate_v4`] rewrite the IPv4 header.
//! * UDP encapsulation (RFC 3948): the ESP packet is the UDP payload on port 4500 unchanged;
//!   [`classify_udp_encap`] tells ESP, IKE (after the 4-byte non-ESP marker) and NAT-keepalive
//!   apart.
//! * ESN (RFC 4303 2.2.1): the high 32 bits are not sent; they are appended to the integrity
//!   input (or put into the GCM AAD: SPI | seq_hi | seq_lo, RFC 4106 5).
//! * IVs are unique per packet: the sequence number encrypted under a per-SA random AES key
//!   (so CBC IVs are unpredictable, and GCM/CTR IVs never repeat under one key).

use std::ops::Range;

use aes::cipher::{BlockEncrypt, KeyInit};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::crypto::{Cipher, Encr, Integ};
use crate::error::CryptoError;
use crate::replay::ReplayWindow;

/// Why an ESP/AH packet was dropped: the classes of the Linux XFRM MIB that RouterOS shows as
/// `/ip ipsec statistics` (seed L1231-1255).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EspDrop {
    /// Too short or otherwise malformed (`in-buffer-errors` / `in-header-errors`).
    Malformed,
    /// No SA for the SPI (`in-no-states`).
    NoState,
    /// Replayed or too old for the window (`in-state-sequence-errors`).
    Replay,
    /// ICV / AEAD tag did not verify (`in-state-protocol-errors`).
    IntegrityFailed,
    /// Padding bytes not 1, 2, 3, ... or pad length too large (`in-state-protocol-errors`).
    BadPadding,
    /// The SA reached its hard lifetime (`in-state-expired`).
    Expired,
    /// A dummy packet (next header 59, RFC 4303 2.6): authenticated, nothing to deliver.
    Dummy,
    /// Inner packet does not match the SA's selectors (`in-template-mismatches`).
    TemplateMismatch,
}

/// Errors of the outbound path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EspError {
    /// The caller's buffer is too small; nothing was written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes offered.
        have: usize,
    },
    /// The 32-bit sequence space is exhausted (no ESN): the SA must be rekeyed
    /// (`out-state-sequence-errors`).
    #[error("sequence number overflow")]
    SequenceOverflow,
    /// The SA reached its hard lifetime (`out-state-expired`).
    #[error("SA expired")]
    Expired,
    /// A crypto error (bad IV length in `seal_with`).
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
}

/// Parameters of one ESP SA (one direction).
#[derive(Clone, Debug)]
pub struct EspParams {
    /// SPI (chosen by the receiver of this SA).
    pub spi: u32,
    /// Encryption.
    pub encr: Encr,
    /// Encryption key (salt/nonce included).
    pub enc_key: Vec<u8>,
    /// Integrity (None for AEAD and for `null` auth with NULL encryption is not allowed).
    pub integ: Option<Integ>,
    /// Integrity key.
    pub integ_key: Vec<u8>,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Anti-replay window (packets).
    pub replay_window: u32,
}

/// Counters of one SA (RouterOS installed-SA `current-bytes` and the statistics classes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaCounters {
    /// Packets protected or accepted.
    pub packets: u64,
    /// Payload bytes protected or accepted.
    pub bytes: u64,
    /// Replayed packets dropped.
    pub replay_drops: u64,
    /// Integrity failures.
    pub integrity_drops: u64,
    /// Padding failures.
    pub padding_drops: u64,
    /// Malformed packets.
    pub malformed_drops: u64,
}

/// One ESP SA.
pub struct EspSa {
    spi: u32,
    cipher: Cipher,
    integ: Option<(Integ, Zeroizing<Vec<u8>>)>,
    esn: bool,
    seq: u64,
    replay: ReplayWindow,
    iv_gen: aes::Aes128,
    /// Counters.
    pub counters: SaCounters,
    /// Byte limit after which [`EspSa::soft_expired`] says a rekey is due (0 = none).
    pub soft_bytes: u64,
    /// Byte limit after which the SA refuses to work (0 = none).
    pub hard_bytes: u64,
    /// Packets that were TFC-padded (inner packet shorter than the payload).
    pub tfc_trimmed: u64,
}

impl core::fmt::Debug for EspSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "EspSa(spi={:#010x}, {:?}, seq={})",
            self.spi,
            self.cipher.alg(),
            self.seq
        )
    }
}

/// Result of a successful decapsulation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decapsulated {
    /// Next header (4 IPv4, 41 IPv6, or the transport protocol).
    pub next_header: u8,
    /// Where the payload is in the buffer.
    pub payload: Range<usize>,
    /// The full (ESN-inferred) sequence number.
    pub seq: u64,
}

impl EspSa {
    /// An SA; `rng` keys the per-SA IV generator.
    pub fn new(p: &EspParams, rng: &mut dyn CryptoRngCore) -> Result<EspSa, CryptoError> {
        if p.encr.is_aead() == p.integ.is_some() {
            return Err(CryptoError::Unsupported {
                what: "ESP combination (AEAD with integrity, or no integrity)",
                id: 0,
            });
        }
        if let Some(i) = p.integ {
            if p.integ_key.len() != i.key_len() {
                return Err(CryptoError::BadKeyLength(p.integ_key.len()));
            }
        }
        let mut k = [0u8; 16];
        rng.fill_bytes(&mut k);
        Ok(EspSa {
            spi: p.spi,
            cipher: Cipher::new(p.encr, &p.enc_key)?,
            integ: p.integ.map(|i| (i, Zeroizing::new(p.integ_key.clone()))),
            esn: p.esn,
            seq: 0,
            replay: ReplayWindow::new(p.replay_window, p.esn),
            iv_gen: aes::Aes128::new(&k.into()),
            counters: SaCounters::default(),
            soft_bytes: 0,
            hard_bytes: 0,
            tfc_trimmed: 0,
        })
    }

    /// SPI.
    pub fn spi(&self) -> u32 {
        self.spi
    }
    /// Encryption algorithm.
    pub fn encr(&self) -> Encr {
        self.cipher.alg()
    }
    /// Integrity algorithm.
    pub fn integ(&self) -> Option<Integ> {
        self.integ.as_ref().map(|(i, _)| *i)
    }
    /// The encryption key (for the Wireshark `esp_sa` export).
    pub fn enc_key(&self) -> &[u8] {
        self.cipher.key()
    }
    /// The integrity key.
    pub fn integ_key(&self) -> &[u8] {
        self.integ.as_ref().map_or(&[], |(_, k)| &k[..])
    }
    /// Last sequence number sent.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// Replay window.
    pub fn replay(&self) -> &ReplayWindow {
        &self.replay
    }
    /// Whether the soft byte limit has been reached.
    pub fn soft_expired(&self) -> bool {
        self.soft_bytes != 0 && self.counters.bytes >= self.soft_bytes
    }
    /// Whether the hard byte limit has been reached.
    pub fn hard_expired(&self) -> bool {
        self.hard_bytes != 0 && self.counters.bytes >= self.hard_bytes
    }

    fn icv_len(&self) -> usize {
        match &self.integ {
            Some((i, _)) => i.icv_len(),
            None => self.cipher.alg().tag_len(),
        }
    }

    /// Bytes in front of the payload: SPI, sequence number, IV.
    pub fn header_len(&self) -> usize {
        8 + self.cipher.alg().iv_len()
    }

    fn pad_len(&self, payload_len: usize) -> usize {
        // Payload + pad + 2 must be a multiple of the block size and of 4 (RFC 4303 2.4).
        let bs = self.cipher.alg().block_len().max(4);
        let l = payload_len + 2;
        l.div_ceil(bs) * bs - l
    }

    /// Bytes after the payload: padding, pad length, next header, ICV.
    pub fn trailer_len(&self, payload_len: usize) -> usize {
        self.pad_len(payload_len) + 2 + self.icv_len()
    }

    /// Total length of the ESP packet for a payload of `payload_len`.
    pub fn encapsulated_len(&self, payload_len: usize) -> usize {
        self.header_len() + payload_len + self.trailer_len(payload_len)
    }

    fn next_seq(&mut self) -> Result<u64, EspError> {
        if self.hard_expired() {
            return Err(EspError::Expired);
        }
        let limit = if self.esn {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        if self.seq >= limit {
            return Err(EspError::SequenceOverflow);
        }
        self.seq += 1;
        Ok(self.seq)
    }

    fn iv_for(&self, seq: u64, out: &mut [u8]) {
        let mut b = aes::Block::default();
        b[8..].copy_from_slice(&seq.to_be_bytes());
        self.iv_gen.encrypt_block(&mut b);
        let n = out.len();
        out.copy_from_slice(&b[..n]);
    }

    /// Protect `payload` into `out`; returns the ESP packet length. `out` must be
    /// [`encapsulated_len`](Self::encapsulated_len) long; otherwise nothing is written.
    pub fn encapsulate(
        &mut self,
        next_header: u8,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, EspError> {
        let need = self.encapsulated_len(payload.len());
        if out.len() < need {
            return Err(EspError::BufferTooSmall {
                need,
                have: out.len(),
            });
        }
        let h = self.header_len();
        out[h..h + payload.len()].copy_from_slice(payload);
        self.encapsulate_in_place(next_header, out, payload.len())
    }

    /// Protect the payload already at `buf[header_len()..header_len() + payload_len]` in place;
    /// the header is written before it and the trailer after it. Returns the packet length.
    pub fn encapsulate_in_place(
        &mut self,
        next_header: u8,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, EspError> {
        let need = self.encapsulated_len(payload_len);
        if buf.len() < need {
            return Err(EspError::BufferTooSmall {
                need,
                have: buf.len(),
            });
        }
        let seq = self.next_seq()?;
        let ivl = self.cipher.alg().iv_len();
        let mut iv = [0u8; 16];
        self.iv_for(seq, &mut iv[..ivl]);
        let n = self.seal_raw(seq, &iv[..ivl], next_header, buf, payload_len, None)?;
        self.counters.packets += 1;
        self.counters.bytes += payload_len as u64;
        Ok(n)
    }

    /// Protect with an explicit sequence number, IV and padding (known-answer and capture
    /// tests; `padding` excludes the pad-length and next-header bytes). Does not advance the
    /// SA's own counter.
    pub fn seal_with(
        &self,
        seq: u64,
        iv: &[u8],
        next_header: u8,
        payload: &[u8],
        padding: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Result<usize, EspError> {
        let h = self.header_len();
        let padl = padding.map_or(self.pad_len(payload.len()), <[u8]>::len);
        out.clear();
        out.resize(h + payload.len() + padl + 2 + self.icv_len(), 0);
        out[h..h + payload.len()].copy_from_slice(payload);
        self.seal_raw(seq, iv, next_header, out, payload.len(), padding)
    }

    fn seal_raw(
        &self,
        seq: u64,
        iv: &[u8],
        next_header: u8,
        buf: &mut [u8],
        payload_len: usize,
        padding: Option<&[u8]>,
    ) -> Result<usize, EspError> {
        let h = self.header_len();
        if iv.len() != self.cipher.alg().iv_len() {
            return Err(EspError::Crypto(CryptoError::BadLength(iv.len())));
        }
        let padl = padding.map_or(self.pad_len(payload_len), <[u8]>::len);
        let ct_end = h + payload_len + padl + 2;
        let total = ct_end + self.icv_len();
        if buf.len() < total {
            return Err(EspError::BufferTooSmall {
                need: total,
                have: buf.len(),
            });
        }
        buf[0..4].copy_from_slice(&self.spi.to_be_bytes());
        buf[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
        buf[8..h].copy_from_slice(iv);
        let pad_at = h + payload_len;
        match padding {
            Some(p) => buf[pad_at..pad_at + padl].copy_from_slice(p),
            None => {
                for (i, b) in buf[pad_at..pad_at + padl].iter_mut().enumerate() {
                    *b = (i + 1) as u8;
                }
            }
        }
        buf[ct_end - 2] = padl as u8;
        buf[ct_end - 1] = next_header;
        let seq_hi = ((seq >> 32) as u32).to_be_bytes();
        let (head, rest) = buf.split_at_mut(h);
        let (ct, tail) = rest.split_at_mut(ct_end - h);
        let icv = &mut tail[..self.icv_len()];
        match &self.integ {
            Some((integ, key)) => {
                self.cipher.encrypt(iv, &[], ct, &mut [])?;
                if self.esn {
                    integ.compute_into(key, &[head, ct, &seq_hi], icv);
                } else {
                    integ.compute_into(key, &[head, ct], icv);
                }
            }
            None => {
                let (aad, aad_len) = gcm_aad(self.esn, head, seq_hi);
                let aad = &aad[..aad_len];
                self.cipher.encrypt(iv, aad, ct, icv)?;
            }
        }
        Ok(total)
    }

    /// Verify, replay-check and decrypt `packet` (the whole ESP packet, SPI first) in place.
    /// On success the payload is at `packet[result.payload]`. TFC padding after an inner IP
    /// packet is trimmed (tunnel mode).
    pub fn decapsulate_in_place(&mut self, packet: &mut [u8]) -> Result<Decapsulated, EspDrop> {
        let h = self.header_len();
        let icvl = self.icv_len();
        let bs = self.cipher.alg().block_len().max(1);
        if packet.len() < h + 2 + icvl || !(packet.len() - h - icvl).is_multiple_of(bs) {
            self.counters.malformed_drops += 1;
            return Err(EspDrop::Malformed);
        }
        if self.hard_expired() {
            return Err(EspDrop::Expired);
        }
        let seq_lo = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        let seq = self.replay.infer(seq_lo);
        if !self.replay.check(seq) {
            self.counters.replay_drops += 1;
            return Err(EspDrop::Replay);
        }
        let ct_end = packet.len() - icvl;
        let seq_hi = ((seq >> 32) as u32).to_be_bytes();
        let (head, rest) = packet.split_at_mut(h);
        let (ct, icv) = rest.split_at_mut(ct_end - h);
        let iv = &head[8..];
        let ok = match &self.integ {
            Some((integ, key)) => {
                let ok = if self.esn {
                    integ.verify(key, &[head, ct, &seq_hi], icv)
                } else {
                    integ.verify(key, &[head, ct], icv)
                };
                ok && self.cipher.decrypt(iv, &[], ct, &[]).is_ok()
            }
            None => {
                let (aad, aad_len) = gcm_aad(self.esn, head, seq_hi);
                let aad = &aad[..aad_len];
                self.cipher.decrypt(iv, aad, ct, icv).is_ok()
            }
        };
        if !ok {
            self.counters.integrity_drops += 1;
            return Err(EspDrop::IntegrityFailed);
        }
        // Authenticated: now the window may move.
        self.replay.accept(seq);
        let n = ct.len();
        let next_header = ct[n - 1];
        let padl = usize::from(ct[n - 2]);
        if padl + 2 > n {
            self.counters.padding_drops += 1;
            return Err(EspDrop::BadPadding);
        }
        let pay_end = n - 2 - padl;
        // RFC 4303 2.4: the default padding is 1, 2, 3, ...; a receiver checks it.
        if ct[pay_end..n - 2]
            .iter()
            .enumerate()
            .any(|(i, &b)| b != (i + 1) as u8)
        {
            self.counters.padding_drops += 1;
            return Err(EspDrop::BadPadding);
        }
        if next_header == 59 {
            return Err(EspDrop::Dummy);
        }
        let mut len = pay_end;
        // TFC padding (RFC 4303 2.7): in tunnel mode the inner IP length tells.
        let inner_len = match next_header {
            4 if len >= 20 => Some(usize::from(u16::from_be_bytes([ct[2], ct[3]]))),
            41 if len >= 40 => Some(40 + usize::from(u16::from_be_bytes([ct[4], ct[5]]))),
            _ => None,
        };
        if let Some(il) = inner_len {
            if il > len {
                self.counters.malformed_drops += 1;
                return Err(EspDrop::Malformed);
            }
            if il < len {
                self.tfc_trimmed += 1;
                len = il;
            }
        }
        self.counters.packets += 1;
        self.counters.bytes += len as u64;
        Ok(Decapsulated {
            next_header,
            payload: h..h + len,
            seq,
        })
    }
}

/// RFC 4106 5: the AAD is SPI | sequence number, with ESN SPI | seq high | seq low.
fn gcm_aad(esn: bool, head: &[u8], seq_hi: [u8; 4]) -> ([u8; 12], usize) {
    let mut aad = [0u8; 12];
    if esn {
        aad[..4].copy_from_slice(&head[..4]);
        aad[4..8].copy_from_slice(&seq_hi);
        aad[8..].copy_from_slice(&head[4..8]);
        (aad, 12)
    } else {
        aad[..8].copy_from_slice(&head[..8]);
        (aad, 8)
    }
}

/// The SPI of an ESP packet.
pub fn spi_of(packet: &[u8]) -> Option<u32> {
    packet
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// What a UDP datagram on the NAT-T port carries (RFC 3948 2.2, 2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UdpEncap<'a> {
    /// A NAT-keepalive (the single byte 0xFF).
    Keepalive,
    /// An IKE message (after the 4-byte non-ESP marker).
    Ike(&'a [u8]),
    /// An ESP packet (non-zero SPI first).
    Esp(&'a [u8]),
    /// Neither (too short).
    Invalid,
}

/// Classify the payload of a UDP datagram received on port 4500.
pub fn classify_udp_encap(b: &[u8]) -> UdpEncap<'_> {
    if b == [0xff] {
        UdpEncap::Keepalive
    } else if b.len() >= 4 && b[..4] == [0, 0, 0, 0] {
        UdpEncap::Ike(&b[4..])
    } else if b.len() >= 8 {
        UdpEncap::Esp(b)
    } else {
        UdpEncap::Invalid
    }
}

/// The NAT-keepalive payload (RFC 3948 2.3).
pub const NAT_KEEPALIVE: [u8; 1] = [0xff];
/// The non-ESP marker in front of IKE messages on port 4500.
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];

/// Transport mode for IPv4: protect `ip` (a whole IPv4 packet whose addresses equal the SA's)
/// into `out`: the IP header is kept with protocol 50, its length and checksum updated.
pub fn transport_encapsulate_v4(
    sa: &mut EspSa,
    ip: &[u8],
    out: &mut [u8],
) -> Result<usize, EspError> {
    let ihl = usize::from(ip.first().map_or(0, |b| b & 0x0f)) * 4;
    if ihl < 20 || ip.len() < ihl {
        return Err(EspError::BufferTooSmall {
            need: 20,
            have: ip.len(),
        });
    }
    let payload = &ip[ihl..];
    let need = ihl + sa.encapsulated_len(payload.len());
    if out.len() < need {
        return Err(EspError::BufferTooSmall {
            need,
            have: out.len(),
        });
    }
    let proto = ip[9];
    out[..ihl].copy_from_slice(&ip[..ihl]);
    let n = sa.encapsulate(proto, payload, &mut out[ihl..])?;
    let total = ihl + n;
    out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    out[9] = 50;
    ipv4_fix_checksum(&mut out[..ihl]);
    Ok(total)
}

/// Transport mode for IPv4, inbound: `ip` is an IPv4 packet with protocol 50. The inner
/// payload is moved behind the IP header in place; returns the new packet length.
pub fn transport_decapsulate_v4(sa: &mut EspSa, ip: &mut [u8]) -> Result<usize, EspDrop> {
    let ihl = usize::from(ip.first().map_or(0, |b| b & 0x0f)) * 4;
    if ihl < 20 || ip.len() < ihl + 8 || ip[9] != 50 {
        return Err(EspDrop::Malformed);
    }
    let d = sa.decapsulate_in_place(&mut ip[ihl..])?;
    let (s, e) = (ihl + d.payload.start, ihl + d.payload.end);
    ip.copy_within(s..e, ihl);
    let total = ihl + (e - s);
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[9] = d.next_header;
    ipv4_fix_checksum(&mut ip[..ihl]);
    Ok(total)
}

/// Recompute an IPv4 header checksum in place.
pub fn ipv4_fix_checksum(h: &mut [u8]) {
    if h.len() < 20 {
        return;
    }
    h[10] = 0;
    h[11] = 0;
    let mut sum = 0u32;
    for c in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let ck = !(sum as u16);
    h[10..12].copy_from_slice(&ck.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn pair(encr: Encr, integ: Option<Integ>, esn: bool) -> (EspSa, EspSa) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let p = EspParams {
            spi: 0x1234_5678,
            encr,
            enc_key: vec![7; encr.key_len()],
            integ,
            integ_key: vec![9; integ.map_or(0, Integ::key_len)],
            esn,
            replay_window: 64,
        };
        (
            EspSa::new(&p, &mut rng).unwrap(),
            EspSa::new(&p, &mut rng).unwrap(),
        )
    }

    fn ip_packet(len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 1;
        for (i, b) in p[20..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    }

    #[test]
    fn every_algorithm_round_trips_with_and_without_esn() {
        for (e, i) in [
            (Encr::AesGcm(16, 16), None),
            (Encr::AesGcm(32, 16), None),
            (Encr::AesGcm(24, 16), None),
            (Encr::AesGcm(16, 12), None),
            (Encr::AesCbc(16), Some(Integ::HmacSha1_96)),
            (Encr::AesCbc(32), Some(Integ::HmacSha256_128)),
            (Encr::AesCtr(16), Some(Integ::HmacSha512_256)),
            (Encr::TripleDes, Some(Integ::HmacMd5_96)),
            (Encr::Des, Some(Integ::AesXcbc96)),
            (Encr::Null, Some(Integ::HmacSha256_128)),
        ] {
            for esn in [false, true] {
                let (mut tx, mut rx) = pair(e, i, esn);
                for len in [20, 21, 84, 1400] {
                    let pkt = ip_packet(len);
                    let mut buf = vec![0u8; tx.encapsulated_len(len)];
                    let n = tx.encapsulate(4, &pkt, &mut buf).unwrap();
                    assert_eq!(n, buf.len());
                    assert_eq!((n - 8) % 4, 0, "{e:?}: 4-byte alignment");
                    let d = rx.decapsulate_in_place(&mut buf).unwrap();
                    assert_eq!(&buf[d.payload.clone()], &pkt[..], "{e:?} {i:?} esn={esn}");
                    assert_eq!(d.next_header, 4);
                }
            }
        }
    }

    #[test]
    fn drops_are_typed_and_counted() {
        let (mut tx, mut rx) = pair(Encr::AesCbc(16), Some(Integ::HmacSha256_128), false);
        let pkt = ip_packet(60);
        let mut buf = vec![0u8; tx.encapsulated_len(60)];
        tx.encapsulate(4, &pkt, &mut buf).unwrap();
        let orig = buf.clone();
        assert!(rx.decapsulate_in_place(&mut buf).is_ok());
        let mut again = orig.clone();
        assert_eq!(rx.decapsulate_in_place(&mut again), Err(EspDrop::Replay));
        let mut b2 = vec![0u8; tx.encapsulated_len(60)];
        tx.encapsulate(4, &pkt, &mut b2).unwrap();
        let n = b2.len();
        b2[n - 1] ^= 1;
        assert_eq!(
            rx.decapsulate_in_place(&mut b2),
            Err(EspDrop::IntegrityFailed)
        );
        // A forged packet did not move the window: the genuine one still passes.
        b2[n - 1] ^= 1;
        assert!(rx.decapsulate_in_place(&mut b2).is_ok());
        assert_eq!(
            rx.decapsulate_in_place(&mut [0u8; 10]),
            Err(EspDrop::Malformed)
        );
        assert_eq!(rx.counters.replay_drops, 1);
        assert_eq!(rx.counters.integrity_drops, 1);
        assert_eq!(rx.counters.malformed_drops, 1);
        // Buffer too small: nothing written.
        let mut small = vec![0xaau8; 10];
        // The workspace's one shape, `{ need, have }` (issue 21).
        assert!(matches!(
            tx.encapsulate(4, &pkt, &mut small),
            Err(EspError::BufferTooSmall { need, have: 10 }) if need > 10
        ));
        assert!(small.iter().all(|&b| b == 0xaa));
    }

    #[test]
    fn bad_padding_and_tfc_and_dummy() {
        let (tx, mut rx) = pair(Encr::AesGcm(16, 16), None, false);
        let pkt = ip_packet(40);
        let mut out = Vec::new();
        // Non-monotonic padding.
        tx.seal_with(1, &[1; 8], 4, &pkt, Some(&[1, 3]), &mut out)
            .unwrap();
        assert_eq!(rx.decapsulate_in_place(&mut out), Err(EspDrop::BadPadding));
        // TFC padding: 20 extra bytes after the inner packet are trimmed.
        let mut padded = pkt.clone();
        padded.extend_from_slice(&[0u8; 20]);
        tx.seal_with(2, &[2; 8], 4, &padded, None, &mut out)
            .unwrap();
        let d = rx.decapsulate_in_place(&mut out).unwrap();
        assert_eq!(d.payload.len(), 40);
        assert_eq!(rx.tfc_trimmed, 1);
        // Dummy packet.
        tx.seal_with(3, &[3; 8], 59, &[0u8; 16], None, &mut out)
            .unwrap();
        assert_eq!(rx.decapsulate_in_place(&mut out), Err(EspDrop::Dummy));
    }

    #[test]
    fn sequence_overflow_and_byte_lifetimes() {
        let (mut tx, _) = pair(Encr::AesGcm(16, 16), None, false);
        tx.seq = u64::from(u32::MAX) - 1;
        let mut buf = vec![0u8; 200];
        assert!(tx.encapsulate(4, &ip_packet(40), &mut buf).is_ok());
        assert_eq!(
            tx.encapsulate(4, &ip_packet(40), &mut buf),
            Err(EspError::SequenceOverflow)
        );
        let (mut tx, _) = pair(Encr::AesGcm(16, 16), None, false);
        tx.soft_bytes = 100;
        tx.hard_bytes = 150;
        tx.encapsulate(4, &ip_packet(60), &mut buf).unwrap();
        assert!(!tx.soft_expired());
        tx.encapsulate(4, &ip_packet(60), &mut buf).unwrap();
        assert!(tx.soft_expired() && !tx.hard_expired());
        tx.encapsulate(4, &ip_packet(60), &mut buf).unwrap();
        assert!(tx.hard_expired());
        assert_eq!(
            tx.encapsulate(4, &ip_packet(60), &mut buf),
            Err(EspError::Expired)
        );
    }

    #[test]
    fn transport_mode_v4_and_udp_classification() {
        let (mut tx, mut rx) = pair(Encr::AesCbc(16), Some(Integ::HmacSha1_96), false);
        let mut pkt = ip_packet(64);
        pkt[9] = 17;
        ipv4_fix_checksum(&mut pkt[..20]);
        let mut out = vec![0u8; 200];
        let n = transport_encapsulate_v4(&mut tx, &pkt, &mut out).unwrap();
        assert_eq!(out[9], 50);
        let mut got = out[..n].to_vec();
        let m = transport_decapsulate_v4(&mut rx, &mut got).unwrap();
        assert_eq!(&got[..m], &pkt[..]);
        assert_eq!(classify_udp_encap(&[0xff]), UdpEncap::Keepalive);
        assert_eq!(classify_udp_encap(&[0, 0, 0, 0, 1]), UdpEncap::Ike(&[1]));
        assert!(matches!(classify_udp_encap(&out[20..n]), UdpEncap::Esp(_)));
        assert_eq!(classify_udp_encap(&[1, 2]), UdpEncap::Invalid);
    }
}
